#!/bin/sh
# Foreign, empty, truncated and bit-flipped files get one clear line naming
# the offset and exit status 1; usage errors exit with 2.
. "$(dirname "$0")/lib.sh"

# expect STATUS PATTERN COMMAND...: runs the command, checks its exit status
# and that stderr is one "mirage-rec: " line matching PATTERN.
expect() {
	want=$1
	pat=$2
	shift 2
	set +e
	"$@" >/dev/null 2>"$TMP/err"
	got=$?
	set -e
	[ $got = "$want" ] || fail "$*: exit $got, expected $want: $(cat "$TMP/err")"
	[ "$(wc -l <"$TMP/err")" = 1 ] || fail "$*: not one line: $(cat "$TMP/err")"
	grep -q "^mirage-rec: .*$pat" "$TMP/err" || fail "$*: message \"$(cat "$TMP/err")\" lacks \"$pat\""
}

start_synth orig 200 120
"$REC" record --mirror orig -o "$TMP/r.mrec" --fps 100 -q &
RPID=$!
PIDS="$PIDS $RPID"
wait_for "[ \$(file_size '$TMP/r.mrec' 2>/dev/null || echo 0) -gt 128 ]" 10 || fail "no first frame"
i=0
while [ $i -lt 20 ]; do
	send noise $((i * 5)) $((i * 3)) 30 20 $i
	sleep 0.02
	i=$((i + 1))
done
kill -TERM $RPID
wait $RPID || fail "recorder exit status $?"
PIDS="$SYNTH_PID"
[ "$(json "$TMP/r.mrec" complete)" = true ] || fail "SIGTERM did not finish the file"
size=$(file_size "$TMP/r.mrec")

printf 'P6\n1 1\n255\nabc' >"$TMP/foreign"
: >"$TMP/empty"
head -c 50 "$TMP/r.mrec" >"$TMP/header"
head -c $((size / 2)) "$TMP/r.mrec" >"$TMP/half"
python3 - "$TMP/r.mrec" "$TMP/flip" "$TMP/flip-hdr" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
# Walk the frames (docs/RECORDING.md) and flip a bit inside frame 3's payload.
off = 128
for i in range(3):
    off += 40 + int.from_bytes(d[off + 24:off + 28], "little")
f = bytearray(d); f[off + 41] ^= 0x10; open(sys.argv[2], "wb").write(f)
f = bytearray(d); f[128 + 9] ^= 0x01; open(sys.argv[3], "wb").write(f)
PY

for cmd in info "play --exit-at-end" "export -o $TMP/out.mkv"; do
	expect 1 "offset 0: not a mirage recording" "$REC" $cmd "$TMP/foreign"
	expect 1 "offset 0: not a mirage recording" "$REC" $cmd "$TMP/empty"
	expect 1 "offset 50: file header truncated" "$REC" $cmd "$TMP/header"
	expect 1 "offset [0-9]*: frame [0-9]* is truncated" "$REC" $cmd "$TMP/half"
	expect 1 "offset [0-9]*: frame 3: payload checksum mismatch" "$REC" $cmd "$TMP/flip"
	expect 1 "offset 164: frame 0: header checksum mismatch" "$REC" $cmd "$TMP/flip-hdr"
	expect 1 "No such file" "$REC" $cmd "$TMP/missing"
done
# --salvage goes as far as the last good frame.
"$REC" play --exit-at-end --salvage --speed 50 --name salv "$TMP/flip" 2>"$TMP/err" || fail "play --salvage: $(cat "$TMP/err")"
"$REC" export --salvage -q -o "$TMP/salv" --codec ppm --fps 5 "$TMP/flip" 2>/dev/null || fail "export --salvage"
expect 1 "no good frame\|frame 0" "$REC" play --exit-at-end --salvage "$TMP/flip-hdr"

# Usage errors.
expect 2 "unknown command" "$REC" frobnicate
expect 2 "no output file" "$REC" record --mirror orig
expect 2 "exactly one of" "$REC" record -o "$TMP/x.mrec"
expect 2 "--duration" "$REC" record --mirror orig -o "$TMP/x.mrec" --duration abc
expect 2 "no recording given" "$REC" play
expect 2 "unknown option" "$REC" info --bogus "$TMP/r.mrec"
expect 2 "--fps" "$REC" export "$TMP/r.mrec" -o "$TMP/x.mkv" --fps 0
expect 1 "nosuchmirror" "$REC" record --mirror nosuchmirror -o "$TMP/x.mrec"
"$REC" >/dev/null 2>&1 && fail "no arguments succeeded"
[ $? = 2 ] || fail "no arguments: wrong status"
"$REC" info "$TMP/r.mrec" >/dev/null || fail "info on a good file"
echo "badfiles OK"
