# SPDX-License-Identifier: MIT
# Shared by mirage-x11's integration tests: private MIRAGE_DIR, X servers on
# display numbers they pick themselves, started and killed by PID only.

: "${MIRAGE_X11:?set MIRAGE_X11 to the mirage-x11 executable}"
: "${X11_CHECK:?set X11_CHECK to the x11-check executable}"

T=$(mktemp -d /tmp/mirage-x11-test.XXXXXX)
export MIRAGE_DIR="$T/run"
mkdir -m 700 "$MIRAGE_DIR"
PIDS=""
DPYS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	# Lock files of servers of ours that died by SIGKILL.
	for d in $DPYS; do
		l="/tmp/.X$d-lock"
		[ -e "$l" ] && ! kill -0 "$(tr -d ' ' <"$l")" 2>/dev/null && rm -f "$l" "/tmp/.X11-unix/X$d"
	done
	if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

wait_display() {
	for _ in $(seq 100); do
		xdpyinfo -display ":$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_server xvfb|xvfb-shmem|xorg  -> sets DPY and SERVER_PID
# The server picks a free display itself (-displayfd) and says which once
# it is ready: no race with another server for a number.  With
# REUSE_DPY=N, restarts display :N (whose server we killed).
start_server() {
	rm -f "$T/display"
	if [ -n "${REUSE_DPY:-}" ]; then
		DPY=$REUSE_DPY
		rm -f "/tmp/.X$DPY-lock" "/tmp/.X11-unix/X$DPY"
		at=":$DPY"
	else
		DPY=""
		at="-displayfd 3"
	fi
	case "$1" in
	xvfb|xvfb-shmem)
		command -v Xvfb >/dev/null || skip "Xvfb not installed"
		extra=""
		[ "$1" = xvfb-shmem ] && extra="-shmem"
		# shellcheck disable=SC2086 # $at is one or two words
		Xvfb $at -screen 0 1024x768x24 -nolisten tcp -noreset $extra 3>"$T/display" \
			>"$T/server.log" 2>&1 &
		;;
	xorg)
		command -v Xorg >/dev/null || skip "Xorg not installed"
		[ -e /usr/lib/xorg/modules/drivers/dummy_drv.so ] || skip "xserver-xorg-video-dummy not installed"
		[ "$(id -u)" = 0 ] || skip "Xorg with the dummy driver needs root here"
		cat >"$T/xorg.conf" <<-EOF
		Section "ServerFlags"
		    Option "AutoAddDevices" "false"
		    Option "AutoAddGPU" "false"
		EndSection
		Section "Device"
		    Identifier "dummy"
		    Driver "dummy"
		    VideoRam 65536
		EndSection
		Section "Monitor"
		    Identifier "monitor"
		    HorizSync 5.0-1000.0
		    VertRefresh 5.0-200.0
		    Modeline "1024x768" 63.50 1024 1072 1176 1328 768 771 775 798 -hsync +vsync
		    Modeline "800x600" 38.25 800 832 912 1024 600 603 607 624 -hsync +vsync
		EndSection
		Section "Screen"
		    Identifier "screen"
		    Device "dummy"
		    Monitor "monitor"
		    DefaultDepth 24
		    SubSection "Display"
		        Depth 24
		        Modes "1024x768" "800x600"
		        Virtual 1024 768
		    EndSubSection
		EndSection
		EOF
		# shellcheck disable=SC2086 # $at is one or two words
		Xorg $at -config "$T/xorg.conf" -noreset -logfile "$T/xorg.log" -nolisten tcp \
			3>"$T/display" >"$T/server.log" 2>&1 &
		;;
	esac
	SERVER_PID=$!
	PIDS="$PIDS $SERVER_PID"
	for _ in $(seq 100); do
		[ -n "$DPY" ] || DPY=$(cat "$T/display" 2>/dev/null)
		[ -n "$DPY" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || fail "the X server exited at start"
		sleep 0.1
	done
	[ -n "$DPY" ] || fail "the X server did not start"
	DPYS="$DPYS $DPY"
	wait_display "$DPY" || fail "X server :$DPY did not start"
	kill -0 "$SERVER_PID" 2>/dev/null || fail "X server :$DPY exited at start"
	export DISPLAY=":$DPY"
}

start_mirror() {
	"$MIRAGE_X11" --display ":$DPY" "$@" >"$T/mirage-x11.log" 2>&1 &
	MIRROR_PID=$!
	PIDS="$PIDS $MIRROR_PID"
	for _ in $(seq 50); do
		[ -S "$MIRAGE_DIR/x11-$DPY.sock" ] && return 0
		kill -0 "$MIRROR_PID" 2>/dev/null || fail "mirage-x11 exited at start"
		sleep 0.1
	done
	fail "mirage-x11 did not create its socket"
}

# An xterm that runs whatever is written to $T/fifo.
start_xterm() {
	mkfifo "$T/fifo"
	xterm -T mirtest -geometry 80x24+40+40 -e sh -c "while :; do eval \"\$(cat $T/fifo)\"; done" \
		>"$T/xterm.log" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 50); do
		WID=$(xdotool search --name mirtest 2>/dev/null | head -1)
		[ -n "$WID" ] && return 0
		sleep 0.1
	done
	fail "xterm did not map"
}
