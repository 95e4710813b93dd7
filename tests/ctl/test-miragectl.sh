#!/bin/bash
# SPDX-License-Identifier: MIT
# Integration test: the real miragectl against mirage-testsrc mirrors in a
# private MIRAGE_DIR.  Usage: test-miragectl.sh MIRAGECTL MIRAGE-TESTSRC
#
# Every check runs even after one failed; the exit status is 1 if any
# failed.  Only processes started here are killed, and the temp dir is
# removed, on every way out.
set -u

CTL=$1
SRC=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/miragectl-test.XXXXXX") || exit 1
export MIRAGE_DIR=$tmp/run
mkdir -m 700 "$MIRAGE_DIR"
unset XDG_RUNTIME_DIR

declare -a pids=()
declare -A src_pid=() src_fd=() src_replies=()
failures=0
checks=0

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# Runs a command; records its stdout, stderr and status in $out, $err, $rc.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# expect_rc WANT DESCRIPTION: checks the last run's status.
expect_rc() {
	checks=$((checks + 1))
	if [ "$rc" -ne "$1" ]; then
		fail "$2: exit status $rc, expected $1 (stderr: $err)"
		return 1
	fi
	return 0
}

# expect_line REGEX DESCRIPTION: the last run's stdout has a matching line.
expect_line() {
	checks=$((checks + 1))
	if ! grep -Eq -- "$1" "$tmp/out"; then
		fail "$2: no line matching /$1/ in:"$'\n'"$out"
		return 1
	fi
	return 0
}

# expect_err REGEX DESCRIPTION: stderr is one line and matches.
expect_err() {
	checks=$((checks + 1))
	if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -Eq -- "$1" "$tmp/err"; then
		fail "$2: stderr is not one line matching /$1/: $err"
		return 1
	fi
	return 0
}

# wait_until SECONDS COMMAND...: polls the command until it succeeds.
wait_until() {
	local limit=$(($1 * 50))
	shift
	while ! "$@" 2>/dev/null; do
		limit=$((limit - 1))
		[ "$limit" -gt 0 ] || return 1
		sleep 0.02
	done
	return 0
}

# start_src NAME ARGS...: starts a testsrc fed through a fifo.
start_src() {
	local name=$1 fd
	shift
	mkfifo "$tmp/$name.in"
	"$SRC" "$@" "$name" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	src_pid[$name]=$!
	pids+=("$!")
	exec {fd}>"$tmp/$name.in"
	src_fd[$name]=$fd
	src_replies[$name]=0
	if ! wait_until 10 grep -q '^ready' "$tmp/$name.out"; then
		fail "testsrc $name did not start: $(cat "$tmp/$name.err")"
		exit 1
	fi
}

replies_reach() {
	[ "$(grep -cE '^(ok|error)' "$1")" -ge "$2" ]
}

# send NAME COMMAND...: runs a testsrc command and waits for its reply.
send() {
	local name=$1
	shift
	echo "$*" >&"${src_fd[$name]}"
	src_replies[$name]=$((src_replies[$name] + 1))
	if ! wait_until 10 replies_reach "$tmp/$name.out" "${src_replies[$name]}"; then
		fail "testsrc $name: no reply to '$*'"
		return 1
	fi
	if ! grep -E '^(ok|error)' "$tmp/$name.out" | tail -n 1 | grep -q '^ok'; then
		fail "testsrc $name: '$*' failed: $(tail -n 1 "$tmp/$name.out")"
		return 1
	fi
	return 0
}

stop_src() {
	local name=$1
	send "$name" quit
	wait "${src_pid[$name]}"
	eval "exec ${src_fd[$name]}>&-"
}

status_has() {
	"$CTL" status "$1" 2>/dev/null | grep -Eq -- "$2"
}

file_has() {
	grep -Eq -- "$2" "$1"
}

# ---------------------------------------------------------------- usage ---

run "$CTL"
expect_rc 2 "no command" && expect_err '^miragectl: missing command' "no command"
run "$CTL" bogus
expect_rc 2 "unknown command" && expect_err "unknown command 'bogus'" "unknown command"
run "$CTL" --bogus
expect_rc 2 "unknown global option"
run "$CTL" status
expect_rc 2 "status without a name" && expect_err '^miragectl: status: missing operand' "status without a name"
run "$CTL" snapshot t0
expect_rc 2 "snapshot without a file"
run "$CTL" list extra
expect_rc 2 "list with an argument"
run "$CTL" watch t0 --count x
expect_rc 2 "watch --count x" && expect_err '^miragectl: watch: --count' "watch --count x"
run "$CTL" watch t0 --timeout
expect_rc 2 "watch --timeout without a value"
run "$CTL" attach --bogus t0
expect_rc 2 "attach --bogus" && expect_err "unknown option '--bogus'" "attach --bogus"
run "$CTL" --help
expect_rc 0 "--help" && expect_line '^Usage: miragectl' "--help"
run "$CTL" --version
expect_rc 0 "--version" && expect_line '^miragectl .*protocol 1\.' "--version"
for cmd in list status version watch snapshot shape attach detach settings; do
	run "$CTL" "$cmd" --help
	expect_rc 0 "$cmd --help" && expect_line "^Usage: miragectl $cmd" "$cmd --help"
done
run "$CTL" help watch
expect_rc 0 "help watch" && expect_line '^Usage: miragectl watch' "help watch"

# ------------------------------------------------------- missing mirror ---

for cmd in status version detach; do
	run "$CTL" "$cmd" nope
	expect_rc 1 "$cmd of a missing mirror" &&
		expect_err "^miragectl: $cmd: connect nope: .*nope" "$cmd of a missing mirror"
done
run "$CTL" snapshot nope "$tmp/x.ppm"
expect_rc 1 "snapshot of a missing mirror" &&
	expect_err '^miragectl: snapshot: connect nope: ' "snapshot of a missing mirror"
[ ! -e "$tmp/x.ppm" ] || fail "a failed snapshot left a file"
run "$CTL" list
expect_rc 0 "list without mirrors" && expect_line '^NAME +DRIVER' "list header"

# ------------------------------------------------ list, status, version ---

start_src t0 --size 64x48 --bpp 32 --capacity 64

run "$CTL" list
expect_rc 0 "list" && expect_line '^t0 +testsrc +64x48 +32 +no +0$' "list row"
run "$CTL" list --no-header
expect_rc 0 "list --no-header" && [ "$out" = "$(echo "$out" | grep '^t0 ')" ] ||
	fail "list --no-header printed more than the row: $out"

run "$CTL" status t0
expect_rc 0 "status"
expect_line '^name: +t0$' "status name"
expect_line '^driver: +testsrc$' "status driver"
expect_line "^pid: +${src_pid[t0]}\$" "status pid"
expect_line '^protocol: +1\.1\.0\.0$' "status protocol"
expect_line '^attached: +no$' "status attached"
expect_line '^manager: +none$' "status manager"
expect_line '^consumers: +0$' "status consumers"
expect_line '^geometry: +64x48$' "status geometry"
expect_line '^bpp: +32$' "status bpp"
expect_line '^stride: +256$' "status stride"
expect_line '^ring: +counter 0, capacity 64, generation 1' "status ring"
expect_line '^  Cap\.DfbBackingMode=3$' "status settings"
expect_line '^  steps=0$' "status stats"

run "$CTL" version t0
expect_rc 0 "version"
expect_line '^client protocol: +1\.1\.0\.0$' "version client"
expect_line '^client minimum: +1\.0\.0\.0' "version client minimum"
expect_line '^mirror protocol: +1\.1\.0\.0$' "version mirror"
expect_line '^mirror minimum: +1\.0\.0\.0' "version mirror minimum"
expect_line '^compatible: +yes$' "version compatible"
run "$CTL" version "$MIRAGE_DIR/t0.sock"
expect_rc 0 "version by socket path"

# ------------------------------------------------------------- settings ---

run "$CTL" settings t0
expect_rc 0 "settings get" && expect_line '^Order\.SolidFill\.Enabled=0$' "settings get"
[ "$(wc -l <"$tmp/out")" -eq 6 ] || fail "settings get: expected 6 lines: $out"
run "$CTL" settings t0 Order.SolidFill.Enabled=1 pointer.enabled=1
expect_rc 0 "settings set"
run "$CTL" settings t0
expect_line '^Order\.SolidFill\.Enabled=1$' "settings set took effect" &&
	expect_line '^Pointer\.Enabled=1$' "settings set took effect (case-insensitive key)"
run "$CTL" settings t0 Order.SolidFill.Enabled=0 Pointer.Enabled=0
expect_rc 0 "settings set back"
run "$CTL" settings t0 Screen.ForcedBpp=15
expect_rc 1 "settings: bad value" && expect_err '^miragectl: settings: t0: .*Screen\.ForcedBpp.*15' "settings: bad value"
run "$CTL" settings t0 Foo.Bar=1
expect_rc 1 "settings: unknown key" && expect_err 'Foo\.Bar' "settings: unknown key"
run "$CTL" settings t0 Pointer.Enabled=1 Screen.ForcedBpp=15
expect_rc 1 "settings: one bad item"
run "$CTL" settings t0
expect_line '^Pointer\.Enabled=0$' "settings: all or nothing"
run "$CTL" settings t0 Pointer.Enabled
expect_rc 2 "settings: item without =" && expect_err 'not KEY=VALUE' "settings: item without ="
run "$CTL" settings t0 =1
expect_rc 2 "settings: item without a key"
run "$CTL" settings t0 "Pointer.Enabled=1 Cap.Bootup=1"
expect_rc 2 "settings: two items in one argument"

# ------------------------------------------------------- attach, detach ---

run "$CTL" attach --persist t0
expect_rc 0 "attach --persist"
run "$CTL" status t0
expect_line '^attached: +yes$' "attached after attach --persist" &&
	expect_line '^manager: +none$' "attach --persist releases the role"
run "$CTL" detach t0
expect_rc 0 "detach"
run "$CTL" status t0
expect_line '^attached: +no$' "detached after detach"

# Held by a background miragectl, released by SIGTERM and by SIGKILL.
for how in TERM KILL; do
	# A fresh file: the old one's line must not be taken for this one's.
	rm -f "$tmp/attach.out"
	"$CTL" attach t0 >"$tmp/attach.out" 2>"$tmp/attach.err" &
	apid=$!
	pids+=("$apid")
	wait_until 10 file_has "$tmp/attach.out" '^attached t0' ||
		fail "attach ($how): no 'attached' line: $(cat "$tmp/attach.err")"
	run "$CTL" status t0
	expect_line '^attached: +yes$' "attached while held ($how)" &&
		expect_line "^manager: +pid $apid\$" "manager pid while held ($how)"
	run "$CTL" attach --persist t0
	expect_rc 1 "second attach while held ($how)"
	run "$CTL" detach t0
	expect_rc 1 "detach by another client while held ($how)"
	kill "-$how" "$apid"
	wait "$apid" 2>/dev/null
	arc=$?
	if [ "$how" = TERM ] && [ "$arc" -ne 0 ]; then
		fail "attach: exit status $arc after SIGTERM: $(cat "$tmp/attach.err")"
	fi
	wait_until 10 status_has t0 '^attached: +no$' ||
		fail "still attached after the holder got SIG$how"
	wait_until 10 status_has t0 '^manager: +none$' ||
		fail "manager role still held after the holder got SIG$how"
done

# ---------------------------------------------------------------- watch ---

run "$CTL" attach --persist t0
expect_rc 0 "attach --persist before watching"

"$CTL" watch --count 7 --timeout 20 t0 >"$tmp/watch1.out" 2>"$tmp/watch1.err" &
wpid=$!
pids+=("$wpid")
wait_until 10 file_has "$tmp/watch1.out" '^# watching t0' || fail "watch printed no header"
run "$CTL" status t0
expect_line '^consumers: +1$' "status counts the watching consumer"

start=$(sed -n 's/^# watching t0: .* from record \([0-9]*\)$/\1/p' "$tmp/watch1.out")
send t0 step
send t0 step
send t0 copy 0 0 16 12 20 10
send t0 resize 80 60
send t0 step
wait "$wpid"
wrc=$?
[ "$wrc" -eq 0 ] || fail "watch: exit status $wrc: $(cat "$tmp/watch1.err")"
grep -v '^#' "$tmp/watch1.out" >"$tmp/watch.records"
cat >"$tmp/watch.want" <<EOF
$((start)) BLIT rect=0,0,8,6
$((start + 1)) BLIT rect=7,5,15,11
$((start + 2)) SCREEN_SCREEN rect=20,10,36,22 src=0,0
$((start + 3)) ASSERT_OFF
0 ASSERT_ON
1 BLIT rect=0,0,80,60
2 BLIT rect=14,10,22,16
EOF
cmp -s "$tmp/watch.records" "$tmp/watch.want" ||
	fail "watch records differ:"$'\n'"$(diff "$tmp/watch.want" "$tmp/watch.records")"
grep -q '^# generation 2, 80x60, 32 bpp' "$tmp/watch1.out" ||
	fail "watch did not report the new pipe: $(cat "$tmp/watch1.out")"

# Order.BltCopyBits.Enabled=0: copies come as BLIT.
run "$CTL" settings t0 Order.BltCopyBits.Enabled=0
expect_rc 0 "disable BltCopyBits"
"$CTL" watch --count 1 --timeout 20 t0 >"$tmp/watch2.out" 2>"$tmp/watch2.err" &
wpid=$!
pids+=("$wpid")
wait_until 10 file_has "$tmp/watch2.out" '^# watching' || fail "watch printed no header"
send t0 copy 0 0 4 4 40 40
wait "$wpid" || fail "watch (copy as BLIT) failed: $(cat "$tmp/watch2.err")"
grep -Eq '^[0-9]+ BLIT rect=40,40,44,44$' "$tmp/watch2.out" ||
	fail "copy without BltCopyBits: $(cat "$tmp/watch2.out")"
run "$CTL" settings t0 Order.BltCopyBits.Enabled=1
expect_rc 0 "enable BltCopyBits"

# Cursor records (Pointer.Enabled=0: the cursor is kept out of the surface).
"$CTL" watch --count 3 --timeout 20 t0 >"$tmp/watch3.out" 2>"$tmp/watch3.err" &
wpid=$!
pids+=("$wpid")
wait_until 10 file_has "$tmp/watch3.out" '^# watching' || fail "watch printed no header"
send t0 cursor shape 24 20 5 6
send t0 cursor move 30 31
send t0 cursor hide
wait "$wpid" || fail "watch (cursor) failed: $(cat "$tmp/watch3.err")"
grep -v '^#' "$tmp/watch3.out" | cut -d' ' -f2- >"$tmp/watch.records"
printf 'PTR_SHAPE hot=5,6\nPTR_ENGAGE pos=30,31\nPTR_AVERT\n' >"$tmp/watch.want"
cmp -s "$tmp/watch.records" "$tmp/watch.want" ||
	fail "watch cursor records differ:"$'\n'"$(diff "$tmp/watch.want" "$tmp/watch.records")"

# A consumer stopped while more than capacity/2 records pass loses track.
"$CTL" watch --timeout 30 t0 >"$tmp/watch4.out" 2>"$tmp/watch4.err" &
wpid=$!
pids+=("$wpid")
wait_until 10 file_has "$tmp/watch4.out" '^# watching' || fail "watch printed no header"
kill -STOP "$wpid"
send t0 burst 40
kill -CONT "$wpid"
wait_until 10 file_has "$tmp/watch4.out" '^- LOST resume=' || fail "watch showed no LOST"
send t0 step
wait_until 10 file_has "$tmp/watch4.out" 'BLIT' || fail "watch stopped after LOST"
kill -TERM "$wpid"
wait "$wpid"
wrc=$?
[ "$wrc" -eq 0 ] || fail "watch: exit status $wrc after SIGTERM"
# Nothing from the burst is shown: LOST, then the step after it.
resume=$(sed -n 's/^- LOST resume=\([0-9]*\)$/\1/p' "$tmp/watch4.out")
sed -n '2p' "$tmp/watch4.out" | grep -q '^- LOST resume=' &&
	sed -n '3p' "$tmp/watch4.out" | grep -Eq "^$resume BLIT rect=" ||
	fail "watch around LOST:"$'\n'"$(cat "$tmp/watch4.out")"

# --timeout with --count that is not reached is a failure.
run "$CTL" watch --count 1 --timeout 0.3 t0
expect_rc 1 "watch timing out" && expect_err '^miragectl: watch: timed out' "watch timing out"

# ------------------------------------------------------------- snapshot ---

have_png=0
"$CTL" snapshot t0 "$tmp/probe.png" 2>"$tmp/png.err" && have_png=1
if [ "$have_png" = 0 ]; then
	grep -q 'PNG output is not available' "$tmp/png.err" ||
		fail "snapshot .png failed without saying PNG is unavailable: $(cat "$tmp/png.err")"
fi

# snap_check LABEL: a snapshot equals testsrc's own reference, in PPM, via
# stdout and (when built in and netpbm is there) in PNG.
snap_check() {
	send t0 ref "$tmp/ref.ppm" || return
	run "$CTL" snapshot t0 "$tmp/snap.ppm"
	expect_rc 0 "snapshot ($1)" || return
	cmp -s "$tmp/ref.ppm" "$tmp/snap.ppm" || fail "snapshot ($1) differs from the reference"
	"$CTL" snapshot t0 - 2>/dev/null | cmp -s "$tmp/ref.ppm" - ||
		fail "snapshot ($1) to stdout differs from the reference"
	if [ "$have_png" = 1 ] && command -v pngtopnm >/dev/null; then
		run "$CTL" snapshot t0 "$tmp/snap.png"
		expect_rc 0 "snapshot PNG ($1)"
		pngtopnm "$tmp/snap.png" 2>/dev/null | cmp -s "$tmp/ref.ppm" - ||
			fail "snapshot PNG ($1) differs from the reference"
	fi
}

send t0 step
send t0 copy 3 2 30 20 41 33
snap_check "32 bpp"
run "$CTL" settings t0 Screen.ForcedBpp=16
expect_rc 0 "force 16 bpp"
send t0 step
snap_check "forced 16 bpp"
run "$CTL" settings t0 Screen.ForcedBpp=24
expect_rc 0 "force 24 bpp"
snap_check "forced 24 bpp"
run "$CTL" settings t0 Screen.ForcedBpp=0
expect_rc 0 "native bpp"
# Odd widths make the stride padded at 24 and 16 bpp.
send t0 resize 51 37 24
send t0 step
run "$CTL" status t0
expect_line '^stride: +156$' "stride at 51x37x24"
snap_check "native 24 bpp, padded"
send t0 resize 51 37 16
send t0 copy 0 0 10 10 5 5
snap_check "native 16 bpp, padded"

# A detached mirror still snapshots (with a warning).
run "$CTL" detach t0
run "$CTL" snapshot t0 "$tmp/snap.ppm"
expect_rc 0 "snapshot while detached" && expect_err 'warning: t0 is detached' "snapshot while detached"
run "$CTL" attach --persist t0

run "$CTL" settings t0 Cap.DfbBackingMode=0
expect_rc 0 "backing mode 0"
rm -f "$tmp/snap.ppm"
run "$CTL" snapshot t0 "$tmp/snap.ppm"
expect_rc 1 "snapshot in backing mode 0" &&
	expect_err '^miragectl: snapshot: t0 has no surface \(Cap\.DfbBackingMode=0' "snapshot in backing mode 0"
[ ! -e "$tmp/snap.ppm" ] || fail "a failed snapshot left a file"
run "$CTL" settings t0 Cap.DfbBackingMode=3
expect_rc 0 "backing mode 3"
snap_check "after backing mode 0"

run "$CTL" snapshot t0 "$tmp/no/such/dir/x.ppm"
expect_rc 1 "snapshot to a bad path" && expect_err '^miragectl: snapshot: write ' "snapshot to a bad path"

# ---------------------------------------------------------------- shape ---

start_src t1 --size 32x32
run "$CTL" shape t1 "$tmp/shape.pam"
expect_rc 1 "shape without a cursor" && expect_err 'has no cursor shape' "shape without a cursor"
stop_src t1

send t0 cursor shape 24 20 5 6
send t0 shaperef "$tmp/shape-ref.pam"
run "$CTL" shape t0 "$tmp/shape.pam"
expect_rc 0 "shape"
cmp -s "$tmp/shape-ref.pam" "$tmp/shape.pam" || fail "shape differs from the reference"
if [ "$have_png" = 1 ] && command -v pngtopam >/dev/null; then
	run "$CTL" shape t0 "$tmp/shape.png"
	expect_rc 0 "shape PNG"
	pngtopam -alphapam "$tmp/shape.png" 2>/dev/null | cmp -s "$tmp/shape-ref.pam" - ||
		fail "shape PNG differs from the reference"
fi
run "$CTL" status t0
expect_line '^cursor: +hidden at 30,31, shape 24x20, hotspot 5,6' "status cursor"

# ------------------------------------------- the producer going away ---

start_src t2 --size 16x16 --set Cap.Bootup=1
run "$CTL" status t2
expect_line '^attached: +yes$' "Cap.Bootup=1 starts attached"
"$CTL" watch t2 >"$tmp/watch5.out" 2>"$tmp/watch5.err" &
wpid=$!
pids+=("$wpid")
wait_until 10 file_has "$tmp/watch5.out" '^# watching' || fail "watch printed no header"
stop_src t2
wait "$wpid"
wrc=$?
[ "$wrc" -eq 1 ] || fail "watch of a mirror that quit: exit status $wrc, expected 1"
grep -Eq '^[0-9]+ ASSERT_OFF$' "$tmp/watch5.out" || fail "watch did not show the final ASSERT_OFF"
[ "$(wc -l <"$tmp/watch5.err")" -eq 1 ] && grep -q '^miragectl: watch: reconnect t2: ' "$tmp/watch5.err" ||
	fail "watch of a mirror that quit: stderr: $(cat "$tmp/watch5.err")"
run "$CTL" status t2
expect_rc 1 "status of a mirror that quit"

# ------------------------------------------- a crowded control socket ---

# More idle connections than the mirror's 64: status still gets in, and
# neither a mapped consumer (watch) nor the manager (attach) is the one
# closed to make room.  The producer logs the eviction.
if command -v python3 >/dev/null; then
	run "$CTL" detach t0
	"$CTL" attach t0 >"$tmp/mgr.out" 2>"$tmp/mgr.err" &
	mpid=$!
	pids+=("$mpid")
	wait_until 10 file_has "$tmp/mgr.out" '^attached t0' ||
		fail "crowd: the manager did not attach: $(cat "$tmp/mgr.err")"
	"$CTL" watch --timeout 60 t0 >"$tmp/watch6.out" 2>"$tmp/watch6.err" &
	wpid=$!
	pids+=("$wpid")
	wait_until 10 file_has "$tmp/watch6.out" '^# watching' || fail "crowd: watch printed no header"
	mkfifo "$tmp/crowd.in"
	python3 -c '
import socket, sys
held = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    held.append(s)
print("holding", len(held), flush=True)
sys.stdin.read()
' "$MIRAGE_DIR/t0.sock" 70 <"$tmp/crowd.in" >"$tmp/crowd.out" 2>&1 &
	pids+=("$!")
	exec {crowd_fd}>"$tmp/crowd.in"
	wait_until 10 file_has "$tmp/crowd.out" '^holding 70$' ||
		fail "crowd: the idle connections were not made: $(cat "$tmp/crowd.out")"

	run "$CTL" status t0
	expect_rc 0 "status past 64 idle connections" &&
		expect_line "^manager: +pid $mpid\$" "crowd: the manager kept its role" &&
		expect_line '^consumers: +2$' "crowd: watch and attach kept their mappings"
	run "$CTL" attach --persist t0
	expect_rc 1 "crowd: attach while the manager holds the role" &&
		expect_err 'manager role held' "crowd: attach while the manager holds the role"
	send t0 step
	wait_until 10 file_has "$tmp/watch6.out" 'BLIT' || fail "crowd: the consumer saw no record"
	file_has "$tmp/t0.err" 'connections in use: closed an idle one of pid' ||
		fail "crowd: the producer did not log the eviction: $(cat "$tmp/t0.err")"

	eval "exec $crowd_fd>&-"
	kill -TERM "$wpid" "$mpid"
	wait "$wpid" "$mpid" 2>/dev/null
	wait_until 10 status_has t0 '^manager: +none$' || fail "crowd: the role outlived the manager"
else
	echo "SKIP: a crowded control socket (no python3)"
fi

# ------------------------------------------------- another user's mirror ---

# An ordinary user pointed at root's mirror (0700 directory, 0600 socket)
# is told the mirror belongs to another user, with the path, not that
# there is no such mirror.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups env MIRAGE_DIR="$MIRAGE_DIR" "$@"
}
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && as_nobody test -x "$CTL"; then
	for cmd in status version; do
		run as_nobody "$CTL" "$cmd" t0
		expect_rc 1 "$cmd of another user's mirror" &&
			expect_err "belongs to another user.*$MIRAGE_DIR/t0\.sock|$MIRAGE_DIR/t0\.sock.*belongs to another user" \
				"$cmd of another user's mirror"
	done
else
	echo "SKIP: another user's mirror (needs root, setpriv and a miragectl uid 65534 can run)"
fi

stop_src t0

echo "$checks checks, $failures failures"
[ "$failures" -eq 0 ]
