#!/bin/sh
# mirage-vnc --embedded as an ordinary user: a throwaway user (created here,
# removed at the end) starts it with its own HOME, XDG_RUNTIME_DIR and
# MIRAGE_DIR.  Xorg runs as that user, the viewer gets the exact picture,
# keys typed through RFB reach the xterm, a window drag arrives as CopyRect,
# and nothing of the user's is left running after mirage-vnc stops.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to create a user"; exit 77; }
for p in useradd userdel runuser xterm xdotool; do
	command -v "$p" > /dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
MOD=${MIRAGE_XORG_MODULE_PATH:-${BUILD_ROOT:-}/src/drivers/xorg}
[ -f "$MOD/mirage.so" ] || { echo "SKIP: no Xorg module in $MOD"; exit 77; }

U="mvnc$$"
UD=""
user_cleanup() {
	if [ -n "$UD" ]; then
		# Only what this test started as the user: the recorded PID
		# (its children die with it, PR_SET_PDEATHSIG).
		[ -s "$UD/pid" ] && kill "$(cat "$UD/pid")" 2>/dev/null
		sleep 0.3
		rm -rf "$UD"
	fi
	id "$U" > /dev/null 2>&1 && userdel "$U"
}
CLEANUP_HOOK=user_cleanup

useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" || fail "useradd $U"
UD=$(mktemp -d /tmp/mirage-vnc-user.XXXXXX)
chmod 755 "$UD"
mkdir -m 700 "$UD/home" "$UD/run"
chown "$U:" "$UD/home" "$UD/run"

# The binaries, in place when the user can reach them, otherwise copied
# with the build tree's layout (RUNPATH $ORIGIN/../../lib, the module in
# ../../drivers/xorg).
VNC_BIN=$MIRAGE_VNC
if ! runuser -u "$U" -- sh -c "test -x '$MIRAGE_VNC' && test -r '$MOD/mirage.so'" || \
   [ -n "${USER_TEST_COPY:-}" ]; then
	mkdir -p "$UD/tree/src/tools/vnc" "$UD/tree/src/lib" "$UD/tree/src/drivers/xorg"
	cp "$MIRAGE_VNC" "$UD/tree/src/tools/vnc/"
	for f in "$(dirname "$MIRAGE_VNC")"/../../lib/libmirage.so*; do
		[ -d "$f" ] || cp -P "$f" "$UD/tree/src/lib/"
	done
	cp "$MOD/mirage.so" "$UD/tree/src/drivers/xorg/"
	VNC_BIN="$UD/tree/src/tools/vnc/mirage-vnc"
	MOD="$UD/tree/src/drivers/xorg"
	pass "binaries copied to $UD/tree"
fi

PORT=$(free_port)
runuser -u "$U" -- env HOME="$UD/home" XDG_RUNTIME_DIR="$UD/home" MIRAGE_DIR="$UD/run" \
	MIRAGE_XORG_MODULE_PATH="$MOD" \
	sh -c 'echo $$ > "$0/home/pid"; exec "$@"' "$UD" \
	"$VNC_BIN" --embedded --geometry 800x600 --listen "127.0.0.1:$PORT" --http-port 0 \
	--ready-file "$UD/home/ready" -v > "$TMP/vnc.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 300); do
	[ -s "$UD/home/ready" ] && break
	grep -q "^mirage-vnc: .*\(failed\|did not\|cannot\|refus\)" "$TMP/vnc.log" && break
	sleep 0.05
done
[ -s "$UD/home/ready" ] || { cat "$TMP/vnc.log" >&2; fail "mirage-vnc --embedded did not start as $U"; }
cp "$UD/home/pid" "$UD/pid"
VPID=$(cat "$UD/pid")
NAME=$(sed -n 's/^mirage-vnc: serving \([^ ]*\) on .*/\1/p' "$TMP/vnc.log")
export DISPLAY=$(sed -n 's/^mirage-vnc: input into \(.*\)/\1/p' "$TMP/vnc.log")
[ -n "$NAME" ] && [ -n "$DISPLAY" ] || fail "no mirror name or display in the log"
if command -v dbus-daemon > /dev/null; then
	grep -q "^mirage-vnc: Xorg's message bus: unix:path=" "$TMP/vnc.log" ||
		{ cat "$TMP/vnc.log" >&2; fail "no message bus for Xorg as $U"; }
	pass "Xorg's message bus runs as $U too"
fi

# Xorg is mirage-vnc's child and runs as the user.
XUID=$(ps -o uid=,comm= --ppid "$VPID" | awk '$2 == "Xorg" { print $1 }')
[ "$XUID" = "$(id -u "$U")" ] || fail "Xorg runs as uid \"$XUID\", not as $U"
pass "Xorg on $DISPLAY runs as $U"

export MIRAGE_DIR="$UD/run"
CHECK="$VNC_CHECK --port $PORT --mirror $NAME --timeout 20"
$CHECK --expect-size 800x600 > "$TMP/u1.out" || fail "initial picture"
pass "initial picture: $(cat "$TMP/u1.out")"

for _ in $(seq 100); do
	xdotool search --class xterm > /dev/null 2>&1 && break
	sleep 0.1
done
WIN=$(xdotool search --class xterm | head -n 1)
[ -n "$WIN" ] || fail "no xterm on $DISPLAY"
xdotool windowmove --sync "$WIN" 40 40 2>/dev/null || true

# Keys through RFB: the xterm (a shell of the user's) creates a file.
$CHECK --click 120,150 --type "touch $UD/home/typed
" -- sh -c "for i in \$(seq 200); do [ -e '$UD/home/typed' ] && exit 0; sleep 0.1; done; exit 1" \
	> "$TMP/u2.out" || fail "typing into the user's xterm"
[ "$(stat -c %u "$UD/home/typed")" = "$(id -u "$U")" ] || fail "the typed file does not belong to $U"
pass "typed into the xterm: $(cat "$TMP/u2.out")"

$CHECK --min-copyrects 5 -- sh -c "
	for i in \$(seq 20); do xdotool windowmove $WIN \$((40 + i * 8)) \$((40 + i * 5)); sleep 0.03; done" \
	> "$TMP/u3.out" || fail "window drag"
pass "window drag: $(cat "$TMP/u3.out")"

# Everything of the user's stops with mirage-vnc.
kill "$VPID"
for _ in $(seq 200); do
	[ -z "$(ps -o pid= -u "$U")" ] && break
	sleep 0.1
done
left=$(ps -o pid=,comm= -u "$U" | tr '\n' ' ')
[ -z "$left" ] || fail "still running as $U 20 s after mirage-vnc stopped: $left"
pass "Xorg and the session stopped with mirage-vnc"
