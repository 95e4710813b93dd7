#!/bin/sh
# mirage-vnc --tls-cert/--tls-key: WebSocket over TLS (wss) on the RFB port
# carries RFB (a stdlib Python viewer: TLS verified against the test's
# self-signed certificate, WebSocket upgrade, RFB handshake, a Raw picture
# equal to the surface); the noVNC page over HTTPS with the same
# certificate; plain RFB and plain ws still served (libvncserver picks by
# the first bytes); noVNC in Chromium over https/wss; the warning for an
# unencrypted non-loopback listen; usage and file errors.
. "$(dirname "$0")/lib.sh"

command -v openssl > /dev/null || { echo "SKIP: no openssl (Debian openssl)"; exit 77; }
MIRAGECTL=${MIRAGECTL:-${BUILD_ROOT:+$BUILD_ROOT/src/tools/miragectl}}
MIRAGECTL=${MIRAGECTL:-$(dirname "$MIRAGE_VNC")/../miragectl}
[ -x "$MIRAGECTL" ] || fail "no miragectl (set MIRAGECTL)"
HERE=$(cd "$(dirname "$0")" && pwd)
WS_CHECK="python3 $HERE/ws-check.py"

PORT=$(free_port 5990)
HTTP=$((PORT - 100))
cert() { # cert NAME: a self-signed certificate for 127.0.0.1 and its key
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -days 1 \
		-keyout "$TMP/$1.key" -out "$TMP/$1.pem" > "$TMP/openssl.out" 2>&1 ||
		fail "openssl: $(cat "$TMP/openssl.out")"
}
cert a
cert b
start_fake fake-tls 320 240
fake "fill 0 0 320 240 203040"
fake "noise 20 20 120 90 5"
fake "fill 180 40 100 150 e0e0e0"
fake_sync
SNAP="$MIRAGECTL snapshot fake-tls {}"

# Usage and file errors, before anything is served.
run() { set +e; "$MIRAGE_VNC" --mirror fake-tls --listen "127.0.0.1:$PORT" "$@" > "$TMP/out" 2>&1; st=$?; set -e; }
run --tls-cert "$TMP/a.pem"
[ "$st" -eq 2 ] || fail "only --tls-cert: exit $st"
grep -q -- "--tls-key" "$TMP/out" || fail "only --tls-cert: $(cat "$TMP/out")"
run --tls-key "$TMP/a.key"
[ "$st" -eq 2 ] || fail "only --tls-key: exit $st"
pass "only one of --tls-cert/--tls-key: exit 2 ($(cat "$TMP/out"))"
run --tls-cert "$TMP/a.pem" --tls-key "$TMP/missing.key"
[ "$st" -eq 1 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] && grep -q "missing.key" "$TMP/out" ||
	fail "missing key: exit $st: $(cat "$TMP/out")"
pass "missing key file: exit 1, one line ($(cat "$TMP/out"))"
run --tls-cert "$TMP/missing.pem" --tls-key "$TMP/a.key"
[ "$st" -eq 1 ] && grep -q "missing.pem" "$TMP/out" || fail "missing cert: exit $st: $(cat "$TMP/out")"
pass "missing certificate file: exit 1"
run --tls-cert "$TMP/a.pem" --tls-key "$TMP/b.key"
[ "$st" -eq 1 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] || fail "mismatched key: exit $st: $(cat "$TMP/out")"
pass "a key that is not the certificate's: exit 1 ($(cat "$TMP/out"))"
echo "not a certificate" > "$TMP/junk.pem"
run --tls-cert "$TMP/junk.pem" --tls-key "$TMP/a.key"
[ "$st" -eq 1 ] && [ "$(wc -l < "$TMP/out")" -eq 1 ] || fail "junk certificate: exit $st: $(cat "$TMP/out")"
pass "not a certificate: exit 1"

start_vnc --mirror fake-tls --listen "127.0.0.1:$PORT" --tls-cert "$TMP/a.pem" --tls-key "$TMP/a.key"
URL=$(sed -n 's/^mirage-vnc: browser: //p' "$TMP/vnc.log")
[ "$URL" = "https://127.0.0.1:$HTTP/vnc.html?autoconnect=1&host=127.0.0.1&port=$PORT&path=&encrypt=1" ] ||
	fail "printed URL is \"$URL\""
pass "prints $URL"
grep -q "unencrypted" "$TMP/vnc.log" && fail "warns on the loopback: $(cat "$TMP/vnc.log")"

# wss: TLS (certificate verified), WebSocket, RFB, an exact picture.
$WS_CHECK --port "$PORT" --tls --cafile "$TMP/a.pem" --snapshot "$SNAP" > "$TMP/w1.out" ||
	fail "wss: $(cat "$TMP/w1.out")"
pass "wss: $(cat "$TMP/w1.out")"
# ... the check can fail: another CA, and a surface that differs.
$WS_CHECK --port "$PORT" --tls --cafile "$TMP/b.pem" > "$TMP/w2.out" &&
	fail "wss verified against the wrong certificate"
grep -q CERTIFICATE_VERIFY_FAILED "$TMP/w2.out" || fail "wrong CA: $(cat "$TMP/w2.out")"
$WS_CHECK --port "$PORT" --tls --cafile "$TMP/a.pem" \
	--snapshot "$SNAP && printf '\\377' | dd of={} bs=1 seek=20 conv=notrunc 2>/dev/null" \
	> "$TMP/w3.out" && fail "ws-check passed on a differing surface"
grep -q "differing_pixels=1\$" "$TMP/w3.out" || fail "ws-check: $(cat "$TMP/w3.out")"
pass "the checks can fail: $(cat "$TMP/w2.out"); $(cat "$TMP/w3.out")"

# Still served beside wss (libvncserver tells them apart by the first
# bytes): plain RFB for native viewers, and plain ws.
"$VNC_CHECK" --port "$PORT" --mirror fake-tls > "$TMP/c1.out" || fail "plain RFB with TLS on"
pass "plain RFB still served: $(cat "$TMP/c1.out")"
$WS_CHECK --port "$PORT" --snapshot "$SNAP" > "$TMP/w4.out" || fail "plain ws: $(cat "$TMP/w4.out")"
pass "plain ws still served: $(cat "$TMP/w4.out")"

# The page over HTTPS with the same certificate; plain HTTP is not answered.
python3 - "$HTTP" "$PORT" "$TMP/a.pem" <<'EOS' || fail "HTTPS server"
import http.client, socket, ssl, sys
port, rfb, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
def get(path):
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type", ""), r.getheader("Location", ""), body
s, t, _, body = get("/vnc.html")
if s != 200 or not t.startswith("text/html") or body != open("/usr/share/novnc/vnc.html", "rb").read():
    sys.exit("/vnc.html: %d %s %d bytes" % (s, t, len(body)))
s, t, _, body = get("/core/rfb.js")
if s != 200 or not t.startswith("text/javascript") or body != open("/usr/share/novnc/core/rfb.js", "rb").read():
    sys.exit("/core/rfb.js: %d %s %d bytes" % (s, t, len(body)))
s, _, loc, _ = get("/")
if s != 302 or "port=" + rfb not in loc or "encrypt=1" not in loc:
    sys.exit("/: %d %s" % (s, loc))
if get("/no-such-file")[0] != 404:
    sys.exit("no 404")
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"GET /vnc.html HTTP/1.0\r\n\r\n")
try:
    reply = c.recv(100)
except OSError:
    reply = b""
if reply.startswith(b"HTTP/"):
    sys.exit("plain HTTP answered on the HTTPS port")
EOS
pass "noVNC over HTTPS (same certificate), / asks for encrypt=1, plain HTTP not answered"

# noVNC in Chromium over https and wss (--ignore-certificate-errors: the
# test's certificate is its own).
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ] && [ -f /usr/share/novnc/vnc.html ]; then
	# noVNC asks for Tight with JPEG: flat content only, to be exact.
	fake "fill 20 20 120 90 ff8000"
	fake "fill 30 30 60 10 000000"
	fake_sync
	timeout 60 python3 "$HERE/browser-check.py" --url "$URL" --snapshot "$SNAP" --timeout 20 \
		--chromium-arg=--ignore-certificate-errors > "$TMP/b1.out" 2> "$TMP/b1.log" ||
		{ cat "$TMP/b1.out" "$TMP/b1.log" >&2; fail "noVNC over wss"; }
	grep -q "connected=1" "$TMP/b1.out" || fail "noVNC did not report connected"
	pass "noVNC in Chromium over https + wss: $(tr '\n' ';' < "$TMP/b1.out")"
else
	echo "skip: noVNC in Chromium (no chromium or novnc)"
fi
stop_vnc

# A non-loopback address: warned about without TLS, not with it.
printf 'secret1\n' > "$TMP/pw"
chmod 600 "$TMP/pw"
start_vnc --mirror fake-tls --listen "0.0.0.0:$PORT" --http-port 0 --password-file "$TMP/pw"
grep -q "warning: 0.0.0.0 .*unencrypted" "$TMP/vnc.log" || fail "no warning: $(cat "$TMP/vnc.log")"
pass "warns without TLS: $(grep warning "$TMP/vnc.log")"
stop_vnc
start_vnc -vv --mirror fake-tls --listen "0.0.0.0:$PORT" --http-port 0 --password-file "$TMP/pw" \
	--tls-cert "$TMP/a.pem" --tls-key "$TMP/a.key"
grep -q "unencrypted" "$TMP/vnc.log" && fail "warns with TLS: $(cat "$TMP/vnc.log")"
# (-vv above and VNC_CHECK_DEBUG: both sides of the session in the log, should it fail.)
VNC_CHECK_DEBUG=1 "$VNC_CHECK" --port "$PORT" --mirror fake-tls --password secret1 \
	> /dev/null 2> "$TMP/check.log" ||
	{ cat "$TMP/vnc.log" "$TMP/check.log" >&2; fail "password with TLS on"; }
pass "non-loopback with a password and TLS: served, no warning"
stop_vnc
