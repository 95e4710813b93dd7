# Shared by the mirage-vnc test scripts (sourced).  Every process a test
# starts is recorded in PIDS and killed by the EXIT trap, even on failure.
set -eu

: "${MIRAGE_VNC:?}" "${FAKE_MIRROR:?}" "${VNC_CHECK:?}"
PIDS=""
TMP=$(mktemp -d /tmp/mirage-vnc-test.XXXXXX)
export MIRAGE_DIR="$TMP/run"
mkdir -m 700 "$MIRAGE_DIR"

cleanup() {
	status=$?
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	# A test's own cleanup (e.g. a user it created), after its processes.
	if [ -n "${CLEANUP_HOOK:-}" ]; then $CLEANUP_HOOK || true; fi
	if [ "$status" -ne 0 ]; then
		for f in "$TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f"; tail -n 20 "$f"
		done
	fi
	rm -rf "$TMP"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# free_port [FIRST]: a free TCP port in FIRST-5999 (default 5980), its HTTP
# companion port - 100 free too.
free_port() {
	for p in $(seq "${1:-5980}" 5999); do
		if ! ss -Hltn "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$((p - 100))" | grep -q .; then
			echo "$p"; return 0
		fi
	done
	fail "no free port in ${1:-5980}-5999"
}

# start_xvfb WxHxDEPTH: Xvfb on a display it picks itself (-displayfd: no
# race with another server for a number), $DISPLAY once it is ready; its
# PID in XVFB, its number in D.
start_xvfb() {
	Xvfb -displayfd 3 -screen 0 "$1" -nolisten tcp 3> "$TMP/xvfb.display" \
		> "$TMP/xvfb.log" 2>&1 &
	XVFB=$!
	PIDS="$PIDS $XVFB"
	D=""
	for _ in $(seq 200); do
		D=$(cat "$TMP/xvfb.display" 2> /dev/null)
		[ -n "$D" ] && break
		kill -0 "$XVFB" 2> /dev/null || fail "Xvfb exited: $(tail -n 3 "$TMP/xvfb.log")"
		sleep 0.05
	done
	[ -n "$D" ] || fail "Xvfb is not ready after 10 s"
	export DISPLAY=":$D"
}

# start_twm: twm on $DISPLAY, set up as mirage-vnc --embedded sets it up.
# Its default fonts (Helvetica) are in no package we need and without them
# it exits at once; "fixed" is built into every X server.
start_twm() {
	command -v twm > /dev/null || return 0
	printf '%s\n' 'TitleFont "fixed"' 'ResizeFont "fixed"' 'MenuFont "fixed"' \
		'IconFont "fixed"' 'IconManagerFont "fixed"' RandomPlacement \
		'UsePPosition "on"' NoGrabServer DecorateTransients OpaqueMove > "$TMP/twmrc"
	twm -f "$TMP/twmrc" > /dev/null 2>&1 &
	PIDS="$PIDS $!"
}

# start_fake NAME W H [BPP]: a synthetic mirror driven through fd 7.
start_fake() {
	mkfifo "$TMP/fake.in"
	"$FAKE_MIRROR" "$@" < "$TMP/fake.in" > "$TMP/fake.out" 2> "$TMP/fake.log" &
	PIDS="$PIDS $!"
	exec 7> "$TMP/fake.in"
	for _ in $(seq 400); do
		grep -q ready "$TMP/fake.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "fake-mirror did not start"
}

# fake CMD...: one command to the synthetic mirror.
fake() { echo "$*" >&7; }

# fake_sync: returns once the synthetic mirror has carried out every command
# written to it so far (commands are handled in order), 20 s at most.
FAKE_SYNC=0
fake_sync() {
	FAKE_SYNC=$((FAKE_SYNC + 1))
	fake "sync $FAKE_SYNC"
	for _ in $(seq 400); do
		grep -qx "sync $FAKE_SYNC" "$TMP/fake.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "fake-mirror did not answer sync $FAKE_SYNC"
}

# start_vnc ARGS...: mirage-vnc in the background, waits until it serves.
start_vnc() {
	rm -f "$TMP/vnc.ready"
	"$MIRAGE_VNC" --ready-file "$TMP/vnc.ready" "$@" > "$TMP/vnc.log" 2>&1 &
	VNC_PID=$!
	PIDS="$PIDS $VNC_PID"
	for _ in $(seq 300); do
		[ -s "$TMP/vnc.ready" ] && return 0
		kill -0 "$VNC_PID" 2>/dev/null || { cat "$TMP/vnc.log" >&2; fail "mirage-vnc exited"; }
		sleep 0.05
	done
	cat "$TMP/vnc.log" >&2
	fail "mirage-vnc did not start serving"
}

stop_vnc() {
	kill "$VNC_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$VNC_PID" 2>/dev/null || { wait "$VNC_PID" 2>/dev/null || true; return 0; }
		sleep 0.05
	done
	fail "mirage-vnc did not stop on SIGTERM"
}

# stop_vnc_at_once WHAT: SIGTERM to mirage-vnc, which must be gone within a
# second; says how long it took.
stop_vnc_at_once() {
	t0=$(date +%s%N)
	kill "$VNC_PID"
	for _ in $(seq 100); do
		kill -0 "$VNC_PID" 2>/dev/null || break
		sleep 0.01
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	kill -0 "$VNC_PID" 2>/dev/null && fail "mirage-vnc still runs ${ms} ms after SIGTERM ($1)"
	[ "$ms" -lt 1000 ] || fail "mirage-vnc took $ms ms to stop on SIGTERM ($1)"
	pass "mirage-vnc stopped $ms ms after SIGTERM $1"
}
