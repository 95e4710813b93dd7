# SPDX-License-Identifier: MIT
# Helpers for integration tests that need a real, headless Xorg (dummy video
# driver) with the mirage module from the build tree.  Source it, then:
#
#   xorg_env_init                  private temp dir ($XENV_DIR), trap cleanup
#   xorg_env_start MODDIR [OPT...] write xorg.conf with Option "K" "V" items
#                                  (OPT is K=V; XENV_SCREEN_READ=V adds
#                                  ScreenRead=V) in SubSection "mirage", start
#                                  Xorg on a display it picks (-displayfd), wait
#                                  for it; sets DISPLAY, XENV_DISPLAY (the
#                                  number), XORG_PID, MIRAGE_DIR, XORG_LOG
#   xorg_env_stop                  stop that server (also done by the trap)
#   xorg_env_spawn CMD...          start a background client, remembered
#                                  for cleanup; its PID in $XENV_LAST_PID
#   xorg_env_kill PID              kill one PID we started
#
# Only PIDs started here are ever killed.  Needs root (Xorg with -config).

XENV_PIDS=""
XENV_DIR=""
XORG_PID=""

xorg_env_cleanup() {
	for p in $XENV_PIDS; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$XORG_PID" ]; then
		kill "$XORG_PID" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$XORG_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$XORG_PID" 2>/dev/null
	fi
	if [ -n "$XENV_DIR" ] && [ -d "$XENV_DIR" ]; then
		if [ -n "${XENV_KEEP:-}" ]; then
			echo "xorg-env: kept $XENV_DIR" >&2
		else
			rm -rf "$XENV_DIR"
		fi
	fi
}

xorg_env_init() {
	XENV_DIR=$(mktemp -d /tmp/mirage-xorg-test.XXXXXX) || exit 1
	trap 'xorg_env_cleanup' EXIT
	trap 'exit 1' INT TERM HUP
}

# xorg_env_conf FILE [K=V...] [-- depth]
xorg_env_conf() {
	file=$1; shift
	depth=${XENV_DEPTH:-24}
	{
		cat <<CONF
Section "ServerFlags"
	Option "AutoAddDevices" "false"
	Option "AutoEnableDevices" "false"
	Option "AllowMouseOpenFail" "true"
	Option "DontVTSwitch" "true"
EndSection
Section "Device"
	Identifier "dummy"
	Driver "dummy"
	VideoRam 256000
EndSection
Section "Monitor"
	Identifier "monitor"
	HorizSync 5.0 - 1000.0
	VertRefresh 5.0 - 200.0
	Modeline "1024x768" 63.50 1024 1072 1176 1328 768 771 775 798 -hsync +vsync
	Modeline "800x600" 38.25 800 832 912 1024 600 603 607 624 -hsync +vsync
	Modeline "640x480" 23.75 640 664 720 800 480 483 487 500 -hsync +vsync
EndSection
CONF
		# XENV_SCREENS=N: N dummy devices and X screens (:D.0 ... :D.N-1)
		nscr=${XENV_SCREENS:-1}
		for i in $(seq 0 $((nscr - 1))); do
			id=""; [ "$nscr" -gt 1 ] && id=$i
			cat <<CONF
Section "Screen"
	Identifier "screen$id"
	Device "dummy$id"
	Monitor "monitor"
	DefaultDepth $depth
	SubSection "Display"
		Depth $depth
		Virtual 1280 1024
		Modes "1024x768" "800x600" "640x480"
	EndSubSection
EndSection
CONF
			[ "$nscr" -gt 1 ] && cat <<CONF
Section "Device"
	Identifier "dummy$id"
	Driver "dummy"
	VideoRam 256000
EndSection
CONF
		done
		printf 'Section "ServerLayout"\n\tIdentifier "layout"\n'
		if [ "$nscr" -gt 1 ]; then
			for i in $(seq 0 $((nscr - 1))); do
				printf '\tScreen %d "screen%d"\n' "$i" "$i"
			done
		else
			printf '\tScreen "screen"\n'
		fi
		printf 'EndSection\n'
		# XENV_NO_MODULE=1: the same server without mirage (benchmarks)
		if [ -z "${XENV_NO_MODULE:-}" ]; then
			printf 'Section "Module"\n\tLoad "mirage"\n\tSubSection "mirage"\n'
			# XENV_SCREEN_READ=getimage: the module reads the screen
			# as it does on a GPU (the -getimage tests)
			for kv in ${XENV_SCREEN_READ:+"ScreenRead=$XENV_SCREEN_READ"} "$@"; do
				printf '\t\tOption "%s" "%s"\n' "${kv%%=*}" "${kv#*=}"
			done
			printf '\tEndSubSection\nEndSection\n'
		fi
	} > "$file"
}

xorg_env_start() {
	moddir=$1; shift
	[ -n "$XENV_DIR" ] || xorg_env_init
	MIRAGE_DIR="$XENV_DIR/run"
	mkdir -p "$MIRAGE_DIR" && chmod 700 "$MIRAGE_DIR"
	export MIRAGE_DIR
	XORG_CONF="$XENV_DIR/xorg.conf"
	XORG_LOG="$XENV_DIR/Xorg.log"
	xorg_env_conf "$XORG_CONF" "$@"
	# Xorg picks a free display itself and writes its number to fd 3
	# once it is ready: no race with another server for a number.
	rm -f "$XENV_DIR/display"
	MIRAGE_DIR="$MIRAGE_DIR" Xorg -displayfd 3 -config "$XORG_CONF" \
		-modulepath "$moddir,/usr/lib/xorg/modules" -noreset -nolisten tcp \
		-logfile "$XORG_LOG" -logverbose 3 -novtswitch -sharevts \
		3>"$XENV_DIR/display" >"$XENV_DIR/Xorg.out" 2>&1 &
	XORG_PID=$!
	XENV_DISPLAY=""
	for _ in $(seq 1 100); do
		if ! kill -0 "$XORG_PID" 2>/dev/null; then
			echo "xorg-env: Xorg exited; log:" >&2
			tail -n 30 "$XORG_LOG" "$XENV_DIR/Xorg.out" >&2 2>/dev/null
			XORG_PID=""
			return 1
		fi
		XENV_DISPLAY=$(cat "$XENV_DIR/display" 2>/dev/null)
		if [ -n "$XENV_DISPLAY" ]; then
			DISPLAY=":$XENV_DISPLAY"
			export DISPLAY
			xdpyinfo >/dev/null 2>&1 && return 0
		fi
		sleep 0.1
	done
	echo "xorg-env: Xorg did not answer" >&2
	return 1
}

xorg_env_stop() {
	[ -n "$XORG_PID" ] || return 0
	kill "$XORG_PID" 2>/dev/null
	wait "$XORG_PID" 2>/dev/null
	XORG_PID=""
}

xorg_env_spawn() {
	"$@" &
	XENV_LAST_PID=$!
	XENV_PIDS="$XENV_PIDS $XENV_LAST_PID"
}

xorg_env_kill() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# Fails the test when the server logged a mirage error or died.
xorg_env_alive() {
	kill -0 "$XORG_PID" 2>/dev/null && xdpyinfo >/dev/null 2>&1
}
