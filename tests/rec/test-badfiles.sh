#!/bin/sh
# Foreign, empty, truncated and bit-flipped files get one clear line naming
# the offset and exit status 1; usage errors exit with 2.  info, play and
# export share one validator: on files whose checksums are good but whose
# contents are not (made by rec-synth --bad and --reseal) and on randomly
# bit-flipped recordings they give the same verdict and the same message,
# and play --exit-at-end ends.
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

# verdict NAME FILE [WHAT]: runs info, play --exit-at-end and export on FILE and
# checks that they agree: the same exit status and, after the
# "mirage-rec: COMMAND: " prefix and play's/export's --salvage hint, the
# same message (failures name NAME and WHAT).  Leaves the status in $verdict_status, the message in
# $TMP/msg.
verdict() {
	vfile=$2
	vname="$1${3:+ ($3)}"
	set +e
	"$REC" info "$vfile" >/dev/null 2>"$TMP/v-info"
	s_info=$?
	timeout 20 "$REC" play --exit-at-end --speed 100 --name "v-$1" "$vfile" 2>"$TMP/v-play"
	s_play=$?
	rm -rf "$TMP/v-out"
	"$REC" export -q -o "$TMP/v-out" --codec ppm --fps 5 "$vfile" 2>"$TMP/v-export"
	s_export=$?
	set -e
	[ $s_play != 124 ] || fail "$vname: play --exit-at-end did not end within 20 s"
	[ $s_info = $s_play ] && [ $s_info = $s_export ] ||
		fail "$vname: exit status info $s_info, play $s_play, export $s_export: $(cat "$TMP/v-info" "$TMP/v-play" "$TMP/v-export")"
	for c in info play export; do
		[ "$(wc -l <"$TMP/v-$c")" -le 1 ] || fail "$vname: $c: more than one line: $(cat "$TMP/v-$c")"
		sed -e "s/^mirage-rec: $c: //" -e 's/ (--salvage uses the [0-9]* good frames before it)$//' \
			"$TMP/v-$c" >"$TMP/m-$c"
	done
	cmp -s "$TMP/m-info" "$TMP/m-play" && cmp -s "$TMP/m-info" "$TMP/m-export" ||
		fail "$vname: the messages differ: $(cat "$TMP/v-info" "$TMP/v-play" "$TMP/v-export")"
	verdict_status=$s_info
	cp "$TMP/m-info" "$TMP/msg"
}

# Well-sealed files with broken contents: frame 2 of five is the bad one.
"$SYNTH" --bad good "$TMP/good.mrec" || fail "rec-synth --bad good"
verdict good "$TMP/good.mrec"
[ $verdict_status = 0 ] || fail "good: exit $verdict_status: $(cat "$TMP/msg")"
for c in \
	"geometry-0x0:chunk 0 (geometry) at payload byte 0: geometry 0x0 is out of range" \
	"width-16385:chunk 0 (geometry) at payload byte 0: geometry 16385x48 is out of range" \
	"chunk-length:chunk 0 (pixels) at payload byte 0: length 4294967295 overruns the payload" \
	"pixels-outside:chunk 0 (pixels) at payload byte 0: rect 8x8+60+0 is outside the 64x48 surface" \
	"timestamp-max:timestamp 18446744073709551615 ns is past the limit" \
	"timestamp-far:timestamp 4611686018427387904 ns is past the limit" \
	"timestamp-backwards:timestamp goes backwards (5000000 ns after 10000000 ns)"; do
	cls=${c%%:*}
	pat=${c#*:}
	"$SYNTH" --bad "$cls" "$TMP/$cls.mrec" || fail "rec-synth --bad $cls"
	verdict "$cls" "$TMP/$cls.mrec"
	[ $verdict_status = 1 ] || fail "$cls: exit $verdict_status, expected 1"
	grep -qF "$TMP/$cls.mrec: offset " "$TMP/msg" || fail "$cls: no file offset: $(cat "$TMP/msg")"
	grep -qF ": frame 2: $pat" "$TMP/msg" || fail "$cls: message \"$(cat "$TMP/msg")\" lacks \"frame 2: $pat\""
	# Salvage plays (and ends) and exports the two frames before it.
	timeout 20 "$REC" play --exit-at-end --salvage --speed 100 --name "s-$cls" "$TMP/$cls.mrec" 2>/dev/null ||
		fail "$cls: play --salvage: exit $?"
	"$REC" export --salvage -q -o "$TMP/s-$cls" --codec ppm --keyframes "$TMP/$cls.mrec" 2>/dev/null ||
		fail "$cls: export --salvage"
done

# Random damage to a real recording, seeded (SEED=N repeats a run): raw bit
# flips (caught by the checksums) and flips inside payloads sealed again
# (caught, or not, by the checks behind them).  The three always agree.
SEED=${SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "bit-flip seed $SEED"
python3 - "$TMP/r.mrec" "$TMP/raw" "$SEED" <<'PY'
import random, sys
d = open(sys.argv[1], "rb").read()
rng = random.Random(int(sys.argv[3]))
for i in range(6):
    f = bytearray(d)
    bit = rng.randrange(len(f) * 8)
    f[bit // 8] ^= 1 << (bit % 8)
    open("%s-%d.mrec" % (sys.argv[2], i), "wb").write(f)
PY
refused=0
i=0
while [ $i -lt 6 ]; do
	verdict "raw-$i" "$TMP/raw-$i.mrec"
	i=$((i + 1))
done
i=0
while [ $i -lt 16 ]; do
	what=$("$SYNTH" --reseal $((SEED * 16 + i)) "$TMP/r.mrec" "$TMP/sealed-$i.mrec") ||
		fail "rec-synth --reseal"
	verdict "sealed-$i" "$TMP/sealed-$i.mrec" "$what"
	[ $verdict_status = 0 ] || refused=$((refused + 1))
	i=$((i + 1))
done
echo "bit flips: 6 raw, 16 sealed again ($refused of them refused): info, play and export agree"

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
