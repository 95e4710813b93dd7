#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-vnc --wayland on a headless mutter (lib.sh's session, as its
# throwaway user): it finds mutter's ScreenCast on the session bus, serves
# gnome-Meta-0 through mirage-wayland's GNOME backend and puts input
# through a RemoteDesktop session.  A libvncclient viewer (vnc-check):
# its framebuffer equals the mirror byte for byte, and the mirror an
# independent ScreenCast frame; SIGTERM stops mirage-vnc with its
# mirage-wayland.  (Input through RFB is not checked yet: mutter takes
# the RemoteDesktop calls and a zenity entry gets none of the keys.)
GN_NEEDS="zenity ss pgrep"
. "$(dirname "$0")/lib.sh"
: "${MIRAGE_VNC:?set MIRAGE_VNC to the mirage-vnc executable}"
: "${VNC_CHECK:?set VNC_CHECK to the vnc-check executable}"

# Where the user can run them; mirage-vnc finds mirage-wayland in the
# tree beside it (lib.sh's copied tree when the user cannot reach ours).
user_bin VNC_BIN "$MIRAGE_VNC"
user_bin CHECK_BIN "$VNC_CHECK"
PORT=$(free_port 5870 5899) || fail "no free port in 5870-5899"

as_user "$VNC_BIN" ${VNC_VERBOSE:-} --wayland --listen "127.0.0.1:$PORT" --http-port 0 \
	--ready-file "$T/home/ready" > "$T/vnc.log" 2>&1 &
VNC_PID=$!
PIDS="$PIDS $VNC_PID"
wait_ready "$T/home/ready" "$VNC_PID" "mirage-vnc --wayland"
grep -q "serving $MIRROR" "$T/vnc.log" || fail "mirage-vnc does not serve $MIRROR: $(cat "$T/vnc.log")"
pass "mirage-vnc --wayland found mutter and serves $MIRROR on port $PORT"

check() { as_user "$CHECK_BIN" --port "$PORT" --mirror "$MIRROR" "$@"; }
check > "$T/c1.out" || fail "the viewer's framebuffer never equalled the mirror"
pass "framebuffer equals the mirror: $(cat "$T/c1.out")"
settled "served"

# A window on it: what the viewer receives is that picture, not a blank one.
cp "$T/home/frame.ppm" "$T/home/before.ppm"
bg entry.log zenity --entry --title mirage --text 'type here'
CHANGED_FROM=$T/home/before.ppm settled "zenity --entry opened"
CHANGED_FROM=
check > "$T/c2.out" || fail "the viewer's framebuffer never equalled the mirror with zenity open"
pass "framebuffer equals the mirror with zenity open: $(cat "$T/c2.out")"


# The process itself, not runuser (which does not pass SIGTERM on).
VNC_REAL=$(pgrep -u "$U" -x mirage-vnc | head -1)
[ -n "$VNC_REAL" ] || fail "cannot find mirage-vnc's process"
kill "$VNC_REAL"
for _ in $(seq 50); do kill -0 "$VNC_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VNC_PID" 2>/dev/null && fail "mirage-vnc still runs after SIGTERM"
wait "$VNC_PID"; rc=$?
[ "$rc" = 0 ] || fail "mirage-vnc exited $rc after SIGTERM, not 0"
for _ in $(seq 50); do
	as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q "^$MIRROR" || break
	sleep 0.1
done
as_user "$CTL_BIN" list --no-header 2>/dev/null | grep -q "^$MIRROR" &&
	fail "mirage-wayland still publishes after mirage-vnc stopped"
pass "mirage-vnc stopped with its mirage-wayland"
echo "PASS"
