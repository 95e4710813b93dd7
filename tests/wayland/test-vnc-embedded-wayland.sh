#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-vnc --embedded --wayland run as root with --user of a throwaway
# user (lib.sh, which starts no sway here): without --user it refuses
# with exit 2 and one line naming --user and root, as it does a --user
# that is root or nobody; --help shows both options.  With --user, a
# libvncclient viewer (vnc-check) sees the mirror of the private sway at
# the --geometry asked for, text typed through RFB reaches the session's
# foot, SIGTERM stops mirage-vnc with status 0 and leaves no process of
# the user or of its directory, and no directory; a sway that exits
# (swaymsg exit) ends mirage-vnc with status 0 and the same cleanup.
WL_NEEDS="ss pgrep"
WL_NO_SWAY=1
. "$(dirname "$0")/lib.sh"
: "${MIRAGE_VNC:?set MIRAGE_VNC to the mirage-vnc executable}"
: "${VNC_CHECK:?set VNC_CHECK to the vnc-check executable}"

# mirage-vnc runs as root but starts mirage-wayland (next to it in the
# tree) as the user: lib.sh's copied tree when the user cannot reach ours.
VNC_BIN=$MIRAGE_VNC
if [ "$WL_BIN" != "$MIRAGE_WAYLAND" ]; then
	mkdir -p "$T/tree/src/tools/vnc"
	cp "$MIRAGE_VNC" "$T/tree/src/tools/vnc/"
	VNC_BIN="$T/tree/src/tools/vnc/mirage-vnc"
fi

PORT=$(free_port 5940 5969) || fail "no free port in 5940-5969"

# Root without --user: sway would refuse root; mirage-vnc says so first.
"$VNC_BIN" --embedded --wayland --listen "127.0.0.1:$PORT" > "$T/nouser.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "as root without --user: exit $rc, not 2"
grep -q -- '--user' "$T/nouser.log" && grep -q 'root' "$T/nouser.log" ||
	fail "as root without --user: no message naming --user and root ($(cat "$T/nouser.log"))"
[ "$(wc -l < "$T/nouser.log")" = 1 ] || fail "as root without --user: not one line"
pass "as root without --user: exit 2, \"$(cat "$T/nouser.log")\""

# usage_error WHAT WORD ARGS...: mirage-vnc ARGS exits 2 with one line
# that contains WORD.
usage_error() {
	what=$1 word=$2
	shift 2
	"$VNC_BIN" "$@" > "$T/usage.log" 2>&1
	rc=$?
	[ "$rc" = 2 ] || fail "$what: exit $rc, not 2"
	[ "$(wc -l < "$T/usage.log")" = 1 ] && grep -q -- "$word" "$T/usage.log" ||
		fail "$what: not one line naming $word ($(cat "$T/usage.log"))"
	pass "$what: exit 2, \"$(cat "$T/usage.log")\""
}
usage_error "--user of no such user" "no such user" --embedded --wayland --user "nouser$$"
usage_error "--user root" "root" --embedded --wayland --user root
usage_error "--user without --embedded --wayland" "--user" --embedded --user "$U"
"$VNC_BIN" --help | grep -q -- '--embedded \[--wayland | --gnome \[--user USER\]\]' ||
	fail "--help does not show --embedded --wayland --user"
"$VNC_BIN" --help | grep -q -- '^  --user USER ' || fail "--help does not explain --user"
pass "--help shows --embedded --wayland and --user"

# The session: a foot whose cat writes what it is typed, and a straggler
# that outlives everything else: no Wayland client, in a session and
# process group of its own, deaf to SIGHUP, SIGINT and SIGTERM.  Only
# mirage-vnc's sweep of its children (SIGKILL after SIGTERM) ends it.
cat > "$T/session.sh" <<EOF
#!/bin/sh
setsid -f sh -c 'trap "" HUP INT TERM; exec sleep 600' < /dev/null > /dev/null 2>&1
exec foot sh -c "exec cat > '$T/home/typed.txt'"
EOF

# start_vnc: mirage-vnc --embedded --wayland as root for the user, with
# that session; VNC_PID, MDIR (its MIRAGE_DIR) and RUNDIR (its private
# directory) from its log.
start_vnc() {
	rm -f "$T/ready"
	"$VNC_BIN" --embedded --wayland --user "$U" --geometry 1024x768 \
		--listen "127.0.0.1:$PORT" --http-port 0 --ready-file "$T/ready" \
		-- sh "$T/session.sh" > "$T/vnc.log" 2>&1 &
	VNC_PID=$!
	PIDS="$PIDS $VNC_PID"
	wait_ready "$T/ready" "$VNC_PID" "mirage-vnc --embedded --wayland"
	MDIR=$(sed -n 's/.* MIRAGE_DIR=\([^ ]*\).*/\1/p' "$T/vnc.log" | head -1)
	[ -n "$MDIR" ] || fail "mirage-vnc did not say where its MIRAGE_DIR is"
	RUNDIR=$(dirname "$MDIR")
	grep -q 'serving wl-HEADLESS-1' "$T/vnc.log" || fail "mirage-vnc does not serve wl-HEADLESS-1"
}
start_vnc
pass "serving wl-HEADLESS-1 on port $PORT, MIRAGE_DIR $MDIR"
[ "$(stat -c %U "$MDIR")" = "$U" ] || fail "$MDIR is not the user's"
pgrep -u "$U" -x sway > /dev/null || fail "sway does not run as $U"
pgrep -u "$U" -x mirage-wayland > /dev/null || fail "mirage-wayland does not run as $U"
pgrep -u "$U" -x sleep > /dev/null || fail "the session's straggler does not run"
pass "sway, mirage-wayland and the session run as $U"

check() { MIRAGE_DIR=$MDIR "$VNC_CHECK" --port "$PORT" --mirror wl-HEADLESS-1 "$@"; }

check --expect-size 1024x768 > "$T/c1.out" ||
	fail "the viewer's framebuffer never equalled the mirror at 1024x768"
pass "framebuffer equals the mirror at 1024x768: $(cat "$T/c1.out")"

check --type 'Hello, sway!
' > "$T/c2.out" || fail "typing"
printf 'Hello, sway!\n' > "$T/want.txt"
for _ in $(seq 50); do cmp -s "$T/want.txt" "$T/home/typed.txt" && break; sleep 0.1; done
cmp -s "$T/want.txt" "$T/home/typed.txt" ||
	fail "foot got \"$(cat "$T/home/typed.txt" 2>/dev/null)\", not \"Hello, sway!\""
pass "typed \"Hello, sway!\" reached the session's foot"

# stopped WHY: mirage-vnc has exited 0, nothing of the user's is left,
# its directory is gone.
stopped() {
	for _ in $(seq 50); do kill -0 "$VNC_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$VNC_PID" 2>/dev/null && fail "mirage-vnc still runs after $1"
	wait "$VNC_PID"; rc=$?
	[ "$rc" = 0 ] || fail "mirage-vnc exited $rc after $1, not 0"
	for _ in $(seq 20); do pgrep -u "$U" > /dev/null || break; sleep 0.1; done
	left=$(pgrep -a -u "$U")
	[ -z "$left" ] || fail "processes of $U left after $1: $left"
	# Nor of anyone's that names its directory (sway -c, sh session.sh).
	left=$(pgrep -a -f "$RUNDIR")
	[ -z "$left" ] || fail "processes of $RUNDIR left after $1: $left"
	[ -e "$RUNDIR" ] && fail "$RUNDIR is left after $1"
	pass "$1: mirage-vnc exited 0, no process of $U and no $RUNDIR left"
}
kill "$VNC_PID"
stopped "SIGTERM"

start_vnc
SWAYSOCK=$(ls "$RUNDIR/xdg" | grep -E '^sway-ipc' | head -1)
[ -n "$SWAYSOCK" ] || fail "no sway IPC socket in $RUNDIR/xdg"
# Its status says nothing: sway exits before it replies, and swaymsg
# then fails.  What matters is that everything stopped after it.
runuser -u "$U" -- swaymsg -s "$RUNDIR/xdg/$SWAYSOCK" exit > /dev/null 2>&1
stopped "swaymsg exit"
echo "PASS"
