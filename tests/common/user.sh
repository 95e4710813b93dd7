# SPDX-License-Identifier: MIT
# Sourced by the tests that run a compositor as a throwaway user they
# create (a Wayland socket belongs to its compositor's user): tests/wayland
# and tests/gnome.  Set before sourcing:
#   USER_PREFIX    the user is PREFIX<pid>, its directory /tmp/mirage-PREFIX-test.*
#   USER_NEEDS     the programs the test needs (a missing one skips)
#   USER_CLEANUP   optional: a command cleanup runs before it kills the user's processes
# Gives:
#   U T PIDS       the user; its directory $T with run/ xdg/ home/ it owns; add
#                  the PIDs you start to PIDS: cleanup kills them on any exit,
#                  then every process of the user, then removes T and the user
#   skip fail pass
#   user_bin VAR PATH  VAR=PATH when the user can run it, else a copy under
#                  $T/tree in the build tree's layout (RUNPATH $ORIGIN/../../lib,
#                  libmirage beside it); MIRAGECTL names the build tree
#   free_port FROM TO  the first TCP port in FROM..TO nothing listens on (ss)
#   wait_ready FILE PID WHAT  until PID has written its --ready-file FILE
#   start_mirror ARGS  mirage-wayland ($WL_BIN) ARGS as the user (as_user, the
#                  lib's), its log in $T/wayland.log, runuser's PID in WL_PID,
#                  once miragectl ($CTL_BIN) lists $MIRROR
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to create a user"
for p in useradd userdel runuser pkill $USER_NEEDS; do
	command -v "$p" > /dev/null || skip "$p not installed"
done

U="$USER_PREFIX$$"
T=""
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -n "$T" ] && [ -n "${USER_CLEANUP:-}" ] && $USER_CLEANUP
	# Whatever else runs as the throwaway user (runuser may outlive a
	# killed test and keep its child; D-Bus activation starts helpers):
	# the user is this test's alone.
	id "$U" > /dev/null 2>&1 && pkill -KILL -u "$U" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $T"; elif [ -n "$T" ]; then rm -rf "$T"; fi
	id "$U" > /dev/null 2>&1 && userdel "$U" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "FAIL: $*"
	for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
	exit 1
}
pass() { echo "ok: $*"; }

useradd -M -d /nonexistent -s /usr/sbin/nologin "$U" 2>/dev/null || skip "cannot create a user"
T=$(mktemp -d "/tmp/mirage-$USER_PREFIX-test.XXXXXX")
chmod 755 "$T"
mkdir -m 700 "$T/run" "$T/xdg" "$T/home"
chown "$U:" "$T/run" "$T/xdg" "$T/home"

user_bin() {
	if runuser -u "$U" -- test -x "$2"; then
		eval "$1=\$2"
		return 0
	fi
	_root=$(cd "$(dirname "$MIRAGECTL")/../.." && pwd)
	_rel=${2#"$_root"/}
	mkdir -p "$T/tree/$(dirname "$_rel")" "$T/tree/src/lib"
	cp "$2" "$T/tree/$_rel"
	for f in "$_root"/src/lib/libmirage.so*; do
		[ -d "$f" ] || cp -P "$f" "$T/tree/src/lib/"
	done
	eval "$1=\$T/tree/\$_rel"
}

start_mirror() {
	as_user "$WL_BIN" "$@" > "$T/wayland.log" 2>&1 &
	WL_PID=$!
	PIDS="$PIDS $WL_PID"
	for _ in $(seq 300); do
		as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q "^$MIRROR " && return 0
		kill -0 "$WL_PID" 2>/dev/null || fail "mirage-wayland exited"
		sleep 0.1
	done
	fail "mirage-wayland never listed $MIRROR"
}

free_port() {
	for p in $(seq "$1" "$2"); do
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}
# wait_ready FILE PID WHAT: until FILE (a --ready-file) is written, 30 s
# at most, while PID runs; fails naming WHAT otherwise.
wait_ready() {
	for _ in $(seq 300); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || fail "$3 exited"
		sleep 0.1
	done
	fail "$3 did not start serving"
}
