#!/bin/sh
# mirage-vnc's browser viewer: noVNC served over HTTP by mirage-vnc (right
# MIME types, loopback only, nothing outside its directory), and noVNC in
# headless Chromium, opened at the URL mirage-vnc prints, connected by
# WebSocket to the RFB port: its canvas equals the surface, also after
# copies and drawing.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium not installed"; exit 77; }
[ -f /usr/share/novnc/vnc.html ] || { echo "SKIP: novnc not installed"; exit 77; }
MIRAGECTL=${MIRAGECTL:-${BUILD_ROOT:+$BUILD_ROOT/src/tools/miragectl}}
MIRAGECTL=${MIRAGECTL:-$(dirname "$MIRAGE_VNC")/../miragectl}
[ -x "$MIRAGECTL" ] || fail "no miragectl (set MIRAGECTL)"
HERE=$(cd "$(dirname "$0")" && pwd)

PORT=$(free_port)
HTTP=$((PORT - 100))
start_fake fake-web 640 480
# Desktop-like content: noVNC always asks for JPEG (quality 6), which the
# Tight encoder uses for many-coloured rectangles only; flat colours and
# text-like areas go lossless, and only then can the canvas be exact.
fake "fill 0 0 640 480 203040"
fake "fill 40 40 300 200 e0e0e0"
fake "fill 40 40 300 18 3050a0"
fake "fill 60 80 120 10 000000"
fake "fill 60 100 200 10 000000"
start_vnc --mirror fake-web --listen "127.0.0.1:$PORT"

URL=$(sed -n 's/^mirage-vnc: browser: //p' "$TMP/vnc.log")
[ "$URL" = "http://127.0.0.1:$HTTP/vnc.html?autoconnect=1&host=127.0.0.1&port=$PORT&path=" ] ||
	fail "printed URL is \"$URL\""
pass "prints $URL"

# HTTP: types, errors, the redirect of "/", loopback only.
python3 - "$HTTP" "$PORT" <<'EOS' || fail "HTTP server"
import http.client, sys
port, rfb = int(sys.argv[1]), sys.argv[2]
def get(path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.putrequest(method, path, skip_accept_encoding=True)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type", ""), r.getheader("Location", ""), body
want = {
    "/vnc.html": (200, "text/html"),
    "/core/rfb.js": (200, "text/javascript"),
    "/app/styles/base.css": (200, "text/css"),
    "/app/images/connect.svg": (200, "image/svg+xml"),
    "/app/images/icons/novnc-32x32.png": (200, "image/png"),
    "/app/locale/de.json": (200, "application/json"),
    "/vnc.html?x=1#y": (200, "text/html"),
    "/no-such-file": (404, None),
    "/core": (404, None),
    "/../../etc/passwd": (400, None),
    "/%2e%2e/%2e%2e/etc/passwd": (400, None),
    "/core/%00": (400, None),
}
for path, (st, ct) in want.items():
    s, t, _, _ = get(path)
    if s != st or (ct and not t.startswith(ct)):
        sys.exit("%s: %d %s, expected %d %s" % (path, s, t, st, ct))
s, _, loc, _ = get("/")
if s != 302 or "port=" + rfb not in loc:
    sys.exit("/: %d %s" % (s, loc))
s, _, _, body = get("/vnc.html", "HEAD")
if s != 200 or body:
    sys.exit("HEAD: %d, %d bytes" % (s, len(body)))
s, _, _, _ = get("/vnc.html", "POST")
if s != 405:
    sys.exit("POST: %d" % s)
body = get("/vnc.html")[3]
if body != open("/usr/share/novnc/vnc.html", "rb").read():
    sys.exit("vnc.html differs from the file")
EOS
ss -Hltn "sport = :$HTTP" | grep -q "127.0.0.1:$HTTP" || fail "HTTP port not listening on 127.0.0.1"
ss -Hltn "sport = :$HTTP" | grep -v -q '127.0.0.1' && fail "HTTP port listens beyond the loopback"
pass "HTTP: MIME types, 404, no traversal, / redirects, HEAD, 405, loopback only"

# noVNC in Chromium at the printed URL; then a window-like drag (copies
# and the uncovered strips) and a text-like scroll (copies and new lines).
cat > "$TMP/drag.sh" <<EOS
exec 7> "$TMP/fake.in"
x=40; y=40
for i in \$(seq 25); do
	echo "copy \$x \$y 300 200 6 4" >&7
	echo "fill \$x \$y 6 204 203040" >&7
	echo "fill \$x \$y 306 4 203040" >&7
	x=\$((x + 6)); y=\$((y + 4))
	sleep 0.02
done
EOS
cat > "$TMP/scroll.sh" <<EOS
exec 7> "$TMP/fake.in"
for i in \$(seq 30); do
	echo "copy 200 150 300 250 0 -10" >&7
	echo "fill 200 390 300 10 ffffff" >&7
	echo "fill 210 392 \$((i * 9)) 6 000000" >&7
	sleep 0.01
done
EOS
SNAP="$MIRAGECTL snapshot fake-web {}"
timeout 80 python3 "$HERE/browser-check.py" --url "$URL" --snapshot "$SNAP" --timeout 20 \
	--workload "sh $TMP/drag.sh" --workload "sh $TMP/scroll.sh" > "$TMP/b1.out" 2> "$TMP/b1.log" ||
	{ cat "$TMP/b1.out" "$TMP/b1.log" >&2; fail "noVNC canvas"; }
pass "noVNC in Chromium: $(tr '\n' ';' < "$TMP/b1.out")"
grep -q "connected=1" "$TMP/b1.out" || fail "noVNC did not report connected"

# The checker can fail: a canvas compared with a surface that differs.
fake "fill 0 0 20 20 ff0000"
if timeout 40 python3 "$HERE/browser-check.py" --url "$URL" --timeout 3 \
	--snapshot "$SNAP && printf '\\377' | dd of={} bs=1 seek=20 conv=notrunc 2>/dev/null" \
	> "$TMP/b2.out" 2>&1; then
	fail "browser-check passed on a differing surface"
fi
grep -q "differing_pixels=1\$" "$TMP/b2.out" || fail "browser-check: $(cat "$TMP/b2.out")"
pass "a differing pixel is caught: $(head -n 1 "$TMP/b2.out")"
stop_vnc
