#!/bin/sh
# A recorder killed with SIGKILL while the screen changes leaves a file that
# plays up to its last complete frame; a frame cut in half (a kill in the
# middle of a write) is reported with its offset and skipped with --salvage.
. "$(dirname "$0")/lib.sh"

start_synth orig 256 160
"$REC" record --mirror orig -o "$TMP/k.mrec" --fps 100 -q &
RPID=$!
PIDS="$PIDS $RPID"
wait_for "[ \$(file_size '$TMP/k.mrec' 2>/dev/null || echo 0) -gt 128 ]" 10 || fail "no first frame"
i=0
while [ $i -lt 60 ]; do
	send noise $((i % 200)) $((i % 120)) 40 30 $i
	send text 0 140 $((i % 30 + 1)) $i
	[ $i = 40 ] && kill -KILL $RPID
	i=$((i + 1))
	sleep 0.01
done
wait $RPID 2>/dev/null && fail "the recorder survived SIGKILL"
PIDS="$SYNTH_PID"

frames=$(json "$TMP/k.mrec" frames)
[ "$frames" -ge 3 ] || fail "only $frames frames survived"
[ "$(json "$TMP/k.mrec" complete)" = false ] || fail "a killed recording claims to be complete"
# Frames are written whole: the file ends on a frame boundary and plays as is.
"$REC" play "$TMP/k.mrec" --name killed --speed 20 --exit-at-end 2>"$TMP/play.err" || fail "play: $(cat "$TMP/play.err")"
grep -q "not finished" "$TMP/play.err" || fail "no warning about the unfinished file"
"$REC" export "$TMP/k.mrec" -o "$TMP/all" --codec ppm --keyframes -q 2>/dev/null || fail "export"

# The same file cut inside its last frame.
size=$(file_size "$TMP/k.mrec")
head -c $((size - 7)) "$TMP/k.mrec" >"$TMP/cut.mrec"
"$REC" play "$TMP/cut.mrec" --name cut --exit-at-end 2>"$TMP/cut.err" && fail "a cut file played without --salvage"
[ $? = 1 ] || fail "wrong exit status for a cut file"
grep -q "^mirage-rec: play: .*offset [0-9]*: frame [0-9]* is truncated" "$TMP/cut.err" || fail "message: $(cat "$TMP/cut.err")"
[ "$(wc -l <"$TMP/cut.err")" = 1 ] || fail "more than one line: $(cat "$TMP/cut.err")"
"$REC" play "$TMP/cut.mrec" --name cut --speed 20 --exit-at-end --salvage 2>/dev/null || fail "play --salvage"
"$REC" export "$TMP/cut.mrec" -o "$TMP/cut" --codec ppm --fps 1 --salvage -q 2>/dev/null || fail "export --salvage"
"$REC" export "$TMP/k.mrec" -o "$TMP/whole" --codec ppm --fps 1 -q 2>/dev/null || fail "export"
# The salvaged export ends with the frame before the cut one.
last_cut=$(ls "$TMP/cut" | tail -1)
[ -n "$last_cut" ] || fail "no salvaged frames"
echo "crash OK ($frames frames survived)"
