#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage (mirage-wayland --backend gnome + mirage-vnc --mirror gnome-Meta-0)
# against a full-frame PipeWire-to-VNC server on the same headless mutter
# (tests/gnome/lib.sh: run as root, mutter --headless --virtual-monitor
# 1280x800 runs as a throwaway user with its own session bus, pipewire and
# wireplumber), on the same scripted workloads, one libvncclient viewer
# (tests/vnc/vnc-check) each.  Input goes through one gn-input
# (tests/gnome/gn-input: a RemoteDesktop session of its own) fed from a FIFO.
#
#   typing   a GTK text view (zenity --text-info --editable, maximized by
#            mutter) clicked into, then $CHARS digits (default 200) typed,
#            one every 15 ms
#   scroll   the same text view holding seq 1 $SEQ (default 20000),
#            scrolled $SCROLLS wheel steps down (default 150), 20 ms apart
#   move     a 640x400 text view (centered by mutter) dragged by its title
#            bar: press, $STEPS motion steps of (+4, +2) (default 60),
#            20 ms apart, release
#   idle     $IDLE_S seconds (default 60) of a still screen, a viewer on
#
# Each run gets a new window (the old one closed) before its viewer
# connects.  The peer: gnome-remote-desktop's VNC server where it runs
# (it does not in Debian's 43: built without its VNC backend, `grdctl vnc`
# does not exist, and the daemon with the VNC settings on listens on
# nothing; the script says so when it finds it so), else gn-fullvnc
# (bench/wayland/gn-fullvnc.c): a plain full-frame PipeWire-to-VNC path
# shaped like gnome-remote-desktop's VNC backend: each frame copied whole
# and marked modified whole, updates sent at once, at most $FPS frames a
# second asked of mutter.  Mutter draws the cursor into the frames for both
# servers (mirage: Pointer.Enabled=1, gn-fullvnc --cursor embedded): every
# update a viewer gets is pixels, so that a pointer-only update cannot end
# a latency probe early.
#
# The servers never run at once (each is a ScreenCast consumer of the
# same monitor): repetition r ($REPEAT, default 3) starts each server in
# turn (the order rotated by r), runs typing, scroll and move with a new
# viewer each, and stops it.  Then, per server, the latency probes and the
# idle period.  Per workload and server: CPU seconds of mutter + capture +
# server (mirage: mutter + mirage-wayland + mirage-vnc; fullvnc: mutter +
# gn-fullvnc) from the workload's start to half a second after its end,
# the median of the repetitions and their range, and that CPU split; the
# bytes and updates the viewer received (medians); the median latency of
# 15 probes from a draw (a key typed, a wheel step, a drag motion of the
# held title bar) to the viewer's next complete update.  pipewire's and
# wireplumber's CPU over the whole run is printed apart (not per workload).
#
# The viewer asks for "$ENCODINGS" (default "tight zrle copyrect raw",
# lossless) at compression level $COMPRESS (default 3); both servers and
# mirage-wayland are capped at $FPS updates a second (default 30, the cap
# gnome-remote-desktop asks mutter for).
#
#   flock /tmp/mirage-x.lock sh bench/wayland/bench-gnome.sh BUILD_DIR
# Environment: REPEAT, IDLE_S, CHARS, SEQ, SCROLLS, STEPS, FPS, COMPRESS,
# ENCODINGS, SERVERS (default "mirage fullvnc"), PORT (first RFB port
# tried, default 5980; free ones are picked).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:?usage: bench-gnome.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SCROLLS=${SCROLLS:-150}
BENCH=bench-gnome COMP=mutter PEER=fullvnc
. "$HERE/lib.sh"
bench_args REPEAT IDLE_S CHARS SEQ SCROLLS STEPS FPS COMPRESS
export MIRAGE_WAYLAND="$BUILD/src/drivers/wayland/mirage-wayland"
export MIRAGECTL="$BUILD/src/tools/miragectl"
export GN_FRAME="$BUILD/tests/gnome/gn-frame"
export GN_INPUT="$BUILD/tests/gnome/gn-input"
MIRAGE_VNC="$BUILD/src/tools/vnc/mirage-vnc"
VNC_CHECK="$BUILD/tests/vnc/vnc-check"
FULLVNC="$BUILD/bench/wayland/gn-fullvnc"
for f in "$MIRAGE_WAYLAND" "$MIRAGECTL" "$GN_FRAME" "$GN_INPUT" "$MIRAGE_VNC" "$VNC_CHECK" "$FULLVNC"; do
	[ -x "$f" ] || { echo "bench-gnome: $f not built" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench-gnome: run it as root (mutter runs as a user it creates)" >&2; exit 1; }

# The tests' lib.sh starts the session and mutter and gives as_user, bg,
# child_of, $T, $U, PIDS, MUTTER_PID, $MIRROR and its cleanup (everything
# of the user, $T); bench/wayland/lib.sh's stops the servers before it.
GN_NEEDS="zenity ss awk pgrep"
set +e
MIRAGE_TESTS="$SRC/tests" . "$SRC/tests/gnome/lib.sh"
set -e
B="$T/bench"
bench_start
user_bin FULLVNC_BIN "$FULLVNC"
runuser -u "$U" -- test -x "$MIRAGE_VNC" ||
	{ echo "bench-gnome: $U cannot run $MIRAGE_VNC (put the build where others can read it)" >&2; exit 1; }
account mutter "$MUTTER_PID"

# gnome-remote-desktop's VNC server, where it is installed: is there one?
# (43 keeps headless credentials in ~/.local/share/gnome-remote-desktop/
# credentials.ini when there is no TPM, not in the keyring.)
GRD_NOTE="gnome-remote-desktop is not installed"
if [ -x /usr/libexec/gnome-remote-desktop-daemon ]; then
	if GRD_NOTE=$(as_user grdctl --headless vnc enable 2>&1); then
		GRD_NOTE="grdctl has VNC commands: gnome-remote-desktop may serve VNC here (not driven by this bench yet)"
	else
		GRD_NOTE="\`grdctl --headless vnc enable\` fails (\"$(echo "$GRD_NOTE" | head -1)\": no VNC commands)"
		as_user gsettings set org.gnome.desktop.remote-desktop.vnc enable true 2> /dev/null || true
		next_port
		as_user /usr/libexec/gnome-remote-desktop-daemon --headless --vnc-port "$PORT" \
			> "$T/grd.log" 2>&1 &
		GRD=$!
		sleep 3
		if port_free "$PORT"; then
			GRD_NOTE="$GRD_NOTE and gnome-remote-desktop-daemon --headless --vnc-port $PORT with vnc enable=true listens on nothing (built without VNC)"
		else
			GRD_NOTE="$GRD_NOTE, yet its daemon listens on $PORT"
		fi
		kill "$GRD" 2> /dev/null || true
		for p in $(pgrep -u "$U" -x gnome-remote-de); do kill "$p"; done
	fi
fi
echo "$(date +%T) peer: gn-fullvnc; $GRD_NOTE" >&2

# Mutter centres each new window (each run has its own, alone).
printf '[org/gnome/mutter]\ncenter-new-windows=true\n' >> "$T/home/.config/glib-2.0/settings/keyfile"

# One gn-input for the whole bench, its commands from the FIFO $B/in
# (held open here on fd 3); $B/in-sync waits until it did all sent.
mkfifo -m 600 "$B/in"
as_user "$INPUT_BIN" Meta-0 < "$B/in" > "$B/in.out" 2> "$T/gn-input.log" &
PIDS="$PIDS $!"
exec 3> "$B/in"
cat > "$B/in-sync" <<EOF
#!/bin/sh
n=\$((\$(grep -c ok "$B/in.out") + 1))
echo sync > "$B/in"
for _ in \$(seq 6000); do
	[ "\$(grep -c ok "$B/in.out")" -ge "\$n" ] && exit 0
	sleep 0.01
done
echo "bench-gnome: gn-input did not answer" >&2
exit 1
EOF
# $B/win KIND: closes the window of the last run (a held button released)
# and opens the one of KIND (big: maximized, with the long file; move:
# 640x400), back once it shows.
seq 1 "$SEQ" > "$B/long.txt"
cat > "$B/win" <<EOF
#!/bin/sh
if [ -f "$B/pressed" ]; then echo 'release 272' > "$B/in"; rm -f "$B/pressed"; fi
for p in \$(pgrep -u "$U" -x zenity); do kill \$p; done
for _ in \$(seq 50); do pgrep -u "$U" -x zenity > /dev/null || break; sleep 0.05; done
case \$1 in
big) size="--width=1200 --height=740 --editable" ;;
move) size="--width=640 --height=400" ;;
esac
runuser -u "$U" -- env HOME="$T/home" XDG_RUNTIME_DIR="$T/xdg" DBUS_SESSION_BUS_ADDRESS="$BUS" \
	WAYLAND_DISPLAY=wayland-mt GDK_BACKEND=wayland GSETTINGS_BACKEND=keyfile NO_AT_BRIDGE=1 \
	zenity --text-info --title=gnbench --filename="$B/long.txt" \$size > /dev/null 2>&1 &
for _ in \$(seq 100); do pgrep -u "$U" -x zenity > /dev/null && break; sleep 0.05; done
sleep 1.5
EOF
chmod 755 "$B/in-sync" "$B/win"
chmod 644 "$B/long.txt"
export PATH="$B:$PATH"
echo 'sleep 0' > "$B/in"
in-sync || fail "gn-input does not answer: $(cat "$T/gn-input.log")"

# start_server SERVER: starts it on a free port; stop_server stops it.
start_server() {
	SRV=$1
	next_port
	case $1 in
	mirage)
		as_user "$WL_BIN" --backend gnome --max-fps "$FPS" --set Pointer.Enabled=1 \
			> "$B/mirage-wayland.log" 2>&1 &
		SRV_PIDS="$!"
		for _ in $(seq 100); do
			as_user "$CTL_BIN" list --no-header 2> /dev/null | grep -q "^$MIRROR " && break
			sleep 0.1
		done
		as_user "$MIRAGE_VNC" --mirror "$MIRROR" --listen "127.0.0.1:$PORT" \
			--http-port 0 --max-fps "$FPS" > "$B/mirage-vnc.log" 2>&1 &
		SRV_PIDS="$SRV_PIDS $!"
		wait_port
		account mvnc "$(user_pid mirage-vnc)"
		account mwl "$(user_pid mirage-wayland)"
		REAL_PIDS="$(user_pid mirage-vnc) $(user_pid mirage-wayland)"
		;;
	fullvnc)
		as_user "$FULLVNC_BIN" --listen "127.0.0.1:$PORT" --max-fps "$FPS" --cursor embedded Meta-0 \
			> "$B/fullvnc.log" 2>&1 &
		SRV_PIDS="$!"
		wait_port
		account fullvnc "$(user_pid gn-fullvnc)"
		REAL_PIDS=$(user_pid gn-fullvnc)
		;;
	esac
	SRV_PIDS="$REAL_PIDS $SRV_PIDS"
	sleep 0.5
}

# The workloads, prepared (a new window) before the viewer connects; each
# is a script file so that vnc-check's sh -c can run it.  The move
# window's title bar: centred 640 wide, its bar 37 px high from y = 181.
MX=420 MY=199
echo "win big; echo 'motion 640 400' > $B/in; echo 'button 272' > $B/in; in-sync; sleep 0.3" > "$B/prep-typing"
awk -v n="$CHARS" 'BEGIN { for (i = 0; i < n; i++) printf "type %d\nsleep 15\n", i % 10 }' > "$B/typing.in"
echo "cat $B/typing.in > $B/in; in-sync" > "$B/work-typing"
echo "echo 'type y' > $B/in" > "$B/probe-typing"
echo "win big; echo 'motion 640 400' > $B/in; in-sync; sleep 0.3" > "$B/prep-scroll"
awk -v n="$SCROLLS" 'BEGIN { for (i = 0; i < n; i++) printf "scroll 1\nsleep 20\n" }' > "$B/scroll.in"
echo "cat $B/scroll.in > $B/in; in-sync" > "$B/work-scroll"
echo "echo 'scroll 1' > $B/in" > "$B/probe-scroll"
echo "win move; echo 'motion $MX $MY' > $B/in; in-sync; sleep 0.3" > "$B/prep-move"
awk -v n="$STEPS" -v x="$MX" -v y="$MY" 'BEGIN { print "press 272"
	for (i = 1; i <= n; i++) printf "motion %d %d\nsleep 20\n", x + 4 * i, y + 2 * i
	print "release 272" }' > "$B/move.in"
echo "cat $B/move.in > $B/in; in-sync" > "$B/work-move"
# The probes drag the held title bar 10 px right each ($B/mx: where the
# pointer is); the drag begins (past GTK's threshold) in probe-prep-move.
cat > "$B/probe-prep-move" <<EOF
printf 'press 272\nmotion $((MX + 10)) $MY\nsleep 100\n' > $B/in; touch $B/pressed
echo $((MX + 10)) > $B/mx; in-sync; sleep 0.3
EOF
cat > "$B/probe-move" <<EOF
x=\$((\$(cat $B/mx) + 10)); echo \$x > $B/mx; echo "motion \$x $MY" > $B/in
EOF
cp "$B/prep-scroll" "$B/prep-idle"
echo "sleep $IDLE_S" > "$B/work-idle"

# pipewire's and wireplumber's CPU (clock ticks) over all runs.
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$(pgrep -u "$U" -x "$1" | head -1)/stat" 2> /dev/null || echo 0; }
pw0=$(ticks pipewire) wp0=$(ticks wireplumber)

WORKLOADS="typing scroll move"
run_workloads
pw1=$(ticks pipewire) wp1=$(ticks wireplumber)

echo
echo "headless mutter 1280x800, zenity text views, input through gn-input;"
echo "peer fullvnc: gn-fullvnc, a full-frame PipeWire-to-VNC server, for $GRD_NOTE;"
echo "viewer: vnc-check, encodings \"$ENCODINGS\", compress $COMPRESS, no JPEG; cursor drawn in by mutter;"
echo "both servers at most $FPS fps; REPEAT=$REPEAT IDLE_S=$IDLE_S CHARS=$CHARS SEQ=$SEQ SCROLLS=$SCROLLS STEPS=$STEPS;" \
	"CPU: $($CAN_CG && echo "cpuacct cgroups (ns)" || echo "/proc ticks")"
echo "over all runs pipewire used $(((pw1 - pw0) * 1000 / HZ)) ms of CPU, wireplumber $(((wp1 - wp0) * 1000 / HZ)) ms"
report "targets: bytes <= 0.5, cpu <= 0.7, idle CPU 0 for mirage"
