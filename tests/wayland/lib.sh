# SPDX-License-Identifier: MIT
# Sourced by the mirage-wayland tests: a real headless sway (pixman
# renderer) run as a throwaway user the test creates (a Wayland socket
# belongs to its compositor's user), with its own XDG_RUNTIME_DIR and
# MIRAGE_DIR under $T, killed and removed on exit.  Gives:
#   as_user CMD...  runs CMD as that user in the session (WAYLAND_DISPLAY set)
#   swaymsg_u ARGS  swaymsg to the test's sway
#   WL_BIN CTL_BIN  mirage-wayland and miragectl where the user can run them
#   PIDS            add the PIDs you start; cleanup kills them
#   same_pixels A B, settled WHAT (snapshot == grim), fail, pass, skip
#   free_port FROM TO  the first TCP port in FROM..TO nothing listens on
#   wait_ready FILE PID WHAT  until PID has written its --ready-file FILE
# Set WL_NEEDS to more programs the test needs before sourcing, and
# WL_NO_SWAY=1 for no sway of lib.sh's.
set -u
: "${MIRAGE_WAYLAND:?set MIRAGE_WAYLAND to the mirage-wayland executable}"
: "${MIRAGECTL:?set MIRAGECTL to the miragectl executable}"
WL_NEEDS=${WL_NEEDS:-}

kill_sway() { [ -s "$T/home/sway.pid" ] && kill -9 "$(cat "$T/home/sway.pid")" 2>/dev/null; }
USER_PREFIX=mwl USER_NEEDS="sway swaymsg foot grim python3 $WL_NEEDS" USER_CLEANUP=kill_sway
. "${MIRAGE_TESTS:-$(dirname "$0")/..}/common/user.sh"

# The binaries where the user can run them.
user_bin WL_BIN "$MIRAGE_WAYLAND"
user_bin CTL_BIN "$MIRAGECTL"

cat > "$T/sway.conf" <<EOF
output HEADLESS-1 resolution 1280x800
xwayland disable
default_border none
EOF

# as_user CMD...: runs CMD as the user in the test's session.
as_user() {
	runuser -u "$U" -- env HOME="$T/home" XDG_RUNTIME_DIR="$T/xdg" MIRAGE_DIR="$T/run" \
		WAYLAND_DISPLAY=wayland-mt "$@"
}

# start_sway: sway in the test's session; its socket as wayland-mt, its
# IPC socket as SOCK.  Again after it was killed: the same runtime
# directory and socket name.
start_sway() {
	rm -f "$T/xdg/wayland-mt"
	runuser -u "$U" -- env HOME="$T/home" XDG_RUNTIME_DIR="$T/xdg" WLR_BACKENDS=headless \
		WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 \
		sh -c 'echo $$ > "$0/home/sway.pid"; exec sway -c "$0/sway.conf" --unsupported-gpu' "$T" \
		> "$T/sway.log" 2>&1 &
	PIDS="$PIDS $!"
	# sway names its socket wayland-N; give the test's one a fixed alias.
	for _ in $(seq 300); do
		s=$(ls "$T/xdg" 2>/dev/null | grep -E '^wayland-[0-9]+$' | head -1)
		[ -n "$s" ] && [ -S "$T/xdg/$s" ] && break
		sleep 0.1
	done
	[ -n "${s:-}" ] || fail "sway did not start"
	ln -s "$s" "$T/xdg/wayland-mt"
	SOCK=$(ls "$T/xdg" | grep -E '^sway-ipc' | head -1)
	for _ in $(seq 300); do
		as_user swaymsg -s "$T/xdg/$SOCK" -t get_outputs > /dev/null 2>&1 && break
		SOCK=$(ls "$T/xdg" | grep -E '^sway-ipc' | head -1)
		sleep 0.1
	done
}
swaymsg_u() { as_user swaymsg -s "$T/xdg/$SOCK" "$@" > /dev/null; }
# WL_NO_SWAY=1: the test starts its compositor itself.
if [ -z "${WL_NO_SWAY:-}" ]; then
	start_sway
	swaymsg_u -t get_outputs || fail "sway's IPC does not answer"
	pass "sway up on $s"
fi

# same_pixels A B: two PPM files hold the same picture (headers may differ in spacing).
same_pixels() {
	python3 - "$1" "$2" <<'PY'
import sys
def load(p):
    d = open(p, 'rb').read()
    f, i = [], 0
    while len(f) < 4:
        while d[i:i+1].isspace(): i += 1
        if d[i:i+1] == b'#':
            while d[i:i+1] != b'\n': i += 1
            continue
        j = i
        while not d[j:j+1].isspace(): j += 1
        f.append(d[i:j]); i = j
    return f[1:3], d[i+1:]
a, b = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if a == b else 1)
PY
}

# settled WHAT: polls until grim's screenshot stops changing and the
# mirror's snapshot equals it byte for byte (pixels), 60 s at most.
settled() {
	for _ in $(seq 120); do
		as_user grim -t ppm "$T/home/grim.ppm" 2>/dev/null &&
		as_user "$CTL_BIN" snapshot wl-HEADLESS-1 "$T/home/snap.ppm" > /dev/null 2>&1 &&
		as_user grim -t ppm "$T/home/grim2.ppm" 2>/dev/null &&
		same_pixels "$T/home/grim.ppm" "$T/home/grim2.ppm" && same_pixels "$T/home/grim.ppm" "$T/home/snap.ppm" &&
			{ pass "$1: snapshot equals grim"; return 0; }
		sleep 0.5
	done
	fail "$1: the snapshot never equalled grim's screenshot"
}


# The mirror start_mirror (tests/common/user.sh) waits for.
MIRROR=wl-HEADLESS-1
