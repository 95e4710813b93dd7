# SPDX-License-Identifier: MIT
# Sourced by the GNOME backend's tests: a real headless mutter run as a
# throwaway user the test creates, in a session of its own: a private
# dbus-daemon, pipewire and wireplumber first, then
# `mutter --headless --wayland --no-x11 --virtual-monitor 1280x800`.  Its
# XDG_RUNTIME_DIR and MIRAGE_DIR lie under $T; everything it started is
# killed and removed on exit, even when a step fails.  Gives:
#   as_user CMD...   runs CMD as that user in the session (D-Bus, Wayland set)
#   WL_BIN CTL_BIN   mirage-wayland and miragectl where the user can run them
#   FRAME_BIN        gn-frame (an independent ScreenCast reader) likewise
#   INPUT_BIN        gn-input (input through RemoteDesktop), when GN_INPUT is set
#   PIDS             add the PIDs you start; cleanup kills them
#   MUTTER_PID       mutter's own PID
#   same_pixels A B, screen_frame FILE, settled WHAT, start_mirror ARGS,
#   mirror_pid, fail, pass, skip
# Set GN_NEEDS to more programs the test needs before sourcing.
set -u
: "${MIRAGE_WAYLAND:?set MIRAGE_WAYLAND to the mirage-wayland executable}"
: "${MIRAGECTL:?set MIRAGECTL to the miragectl executable}"
: "${GN_FRAME:?set GN_FRAME to the gn-frame executable}"
GN_NEEDS=${GN_NEEDS:-}

USER_PREFIX=mgn USER_NEEDS="mutter pipewire wireplumber dbus-daemon dbus-send cmp $GN_NEEDS"
. "${MIRAGE_TESTS:-$(dirname "$0")/..}/common/user.sh"

# The binaries where the user can run them.
user_bin WL_BIN "$MIRAGE_WAYLAND"
user_bin CTL_BIN "$MIRAGECTL"
user_bin FRAME_BIN "$GN_FRAME"
[ -n "${GN_INPUT:-}" ] && user_bin INPUT_BIN "$GN_INPUT"

BUS="unix:path=$T/xdg/bus"
# as_user CMD...: runs CMD as the user in the test's session.
as_user() {
	runuser -u "$U" -- env -u DISPLAY HOME="$T/home" XDG_RUNTIME_DIR="$T/xdg" MIRAGE_DIR="$T/run" \
		DBUS_SESSION_BUS_ADDRESS="$BUS" WAYLAND_DISPLAY=wayland-mt XDG_SESSION_TYPE=wayland \
		GSETTINGS_BACKEND=keyfile NO_AT_BRIDGE=1 "$@"
}
# No animations and no blinking text cursor (mutter's and GTK's settings):
# a screen that settles, for comparisons of whole frames.
mkdir -p "$T/home/.config/glib-2.0/settings"
printf '[org/gnome/desktop/interface]\nenable-animations=false\ncursor-blink=false\n' \
	> "$T/home/.config/glib-2.0/settings/keyfile"
chown -R "$U:" "$T/home/.config"

# on_bus NAME: NAME has an owner on the session bus.
on_bus() {
	as_user dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}

# bg LOG CMD...: CMD as the user in the background, runuser's PID in BG
# (the command's own: child_of $BG).
bg() {
	log=$1
	shift
	as_user "$@" > "$T/$log" 2>&1 &
	BG=$!
	PIDS="$PIDS $BG"
}

# child_of PID: the PID of PID's child (the command runuser started).
child_of() {
	for _ in $(seq 50); do
		c=$(pgrep -P "$1" | head -1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	fail "no child of $1"
}

bg dbus.log dbus-daemon --session --nofork --nopidfile --address="$BUS"
for _ in $(seq 100); do [ -S "$T/xdg/bus" ] && break; sleep 0.05; done
[ -S "$T/xdg/bus" ] || fail "the session bus did not start"
bg pipewire.log pipewire
for _ in $(seq 100); do [ -S "$T/xdg/pipewire-0" ] && break; sleep 0.05; done
[ -S "$T/xdg/pipewire-0" ] || fail "pipewire did not start"
bg wireplumber.log wireplumber

# start_mutter [WxH]: a headless mutter with one virtual monitor (1280x800),
# its Wayland socket as wayland-mt; returns once ScreenCast is on the bus.
start_mutter() {
	bg mutter.log mutter --headless --wayland --no-x11 --wayland-display wayland-mt \
		--virtual-monitor "${1:-1280x800}"
	MUTTER_PID=$(child_of "$BG")
	for _ in $(seq 300); do
		on_bus org.gnome.Mutter.ScreenCast && [ -S "$T/xdg/wayland-mt" ] && return 0
		kill -0 "$MUTTER_PID" 2>/dev/null || fail "mutter exited"
		sleep 0.1
	done
	fail "mutter never offered org.gnome.Mutter.ScreenCast"
}
start_mutter
on_bus org.gnome.Mutter.RemoteDesktop || fail "mutter offers no org.gnome.Mutter.RemoteDesktop"
pass "headless mutter up with ScreenCast and RemoteDesktop"

# same_pixels A B: two PPM files hold the same picture.  Every writer here
# (miragectl, gn-frame, the replica) writes the one header "P6\nW H\n255\n".
same_pixels() { cmp -s "$1" "$2"; }

# screen_frame FILE: one full frame of the monitor (Meta-0, the virtual
# one), from a ScreenCast session of gn-frame's own, as PPM.
CONNECTOR=Meta-0
screen_frame() {
	as_user "$FRAME_BIN" "$CONNECTOR" "$1" 2>> "$T/frame.log"
}

# settled WHAT: polls until two ScreenCast frames in a row are the same and
# the mirror's snapshot equals them byte for byte, 60 s at most.  The
# frame is left in $T/home/frame.ppm.  With CHANGED_FROM set to a file,
# the screen must also differ from that (the workload has shown).
settled() {
	for _ in $(seq 120); do
		screen_frame "$T/home/frame.ppm" &&
		{ [ -z "${CHANGED_FROM:-}" ] || ! same_pixels "$CHANGED_FROM" "$T/home/frame.ppm"; } &&
		as_user "$CTL_BIN" snapshot "$MIRROR" "$T/home/snap.ppm" > /dev/null 2>&1 &&
		screen_frame "$T/home/frame2.ppm" &&
		same_pixels "$T/home/frame.ppm" "$T/home/frame2.ppm" &&
		same_pixels "$T/home/frame.ppm" "$T/home/snap.ppm" &&
			{ pass "$1: snapshot equals an independent ScreenCast frame"; return 0; }
		sleep 0.5
	done
	cp "$T/home/frame.ppm" "$T/home/snap.ppm" "$T/" 2>/dev/null
	fail "$1: the snapshot never equalled an independent ScreenCast frame"
}

# The mirror start_mirror (tests/common/user.sh) waits for.
MIRROR=gnome-$CONNECTOR

# mirror_pid: mirage-wayland's own PID (WL_PID is runuser's), from the mirror's status.
mirror_pid() {
	as_user "$CTL_BIN" status "$MIRROR" | sed -n 's/^pid: *//p'
}
