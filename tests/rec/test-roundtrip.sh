#!/bin/sh
# Records a scripted workload from a synthetic mirror (drawing, typing,
# scrolling, cursor shapes and moves, a resize and back), then checks:
#   - every forced key frame equals the original's snapshot at that moment;
#   - the played-back mirror's final picture (and cursor) equals the
#     original's, byte for byte;
#   - a lossless (FFV1) export has the expected frame count and size, and
#     its last frame decodes to the final snapshot's pixels;
#   - an H.264 export and a PNG folder are produced.
. "$(dirname "$0")/lib.sh"

W=320
H=200
start_synth orig $W $H
"$SNAP" snap orig "$TMP/key-0.ppm" || fail "snapshot"
send shape 16 16 2 3 7
send cursor 40 50

"$REC" record --mirror orig -o "$TMP/r.mrec" --fps 50 --keyframe 0 -q 2>"$TMP/rec.err" &
RPID=$!
PIDS="$PIDS $RPID"
wait_for "[ \$(file_size '$TMP/r.mrec' 2>/dev/null || echo 0) -gt 128 ]" 10 || fail "no first frame"

keys() { json "$TMP/r.mrec" keyframes; }

# force_key N: snapshot the (idle) original, ask for a key frame, remember
# which key frame it is.
force_key() {
	sleep 0.15
	"$SNAP" snap orig "$TMP/key-$1.ppm" || fail "snapshot $1"
	before=$(keys)
	kill -USR1 $RPID
	wait_for "[ \$(keys) -gt $before ]" 10 || fail "key frame $1 not written"
	echo "$before" >"$TMP/key-$1.index"
}

# Typing, drawing and scrolling.
i=0
while [ $i -lt 12 ]; do
	send text $((8 + i * 8)) 20 1 $((100 + i))
	send cursor $((60 + i * 3)) $((70 + i))
	i=$((i + 1))
	sleep 0.01
done
send fill 10 100 120 40 3366cc
send noise 200 120 60 50 42
force_key 1
send scroll 16 77
send scroll 8 78
send shape 24 20 1 1 9
send text 8 180 20 500
force_key 2
send resize 400 240
sleep 0.3
send noise 0 0 100 100 5
force_key 3
send resize $W $H
sleep 0.3
force_key 4
# After the last key frame only deltas lead to the final state.
send scroll 4 90
send fill 0 0 50 50 ff0000
send text 100 60 10 900
send cursor 5 6
send noise 290 170 30 30 31337
sleep 0.3
"$SNAP" snap orig "$TMP/final.ppm" "$TMP/final.raw" || fail "final snapshot"
"$SNAP" cursor orig >"$TMP/final.cursor"
kill -INT $RPID
wait $RPID || fail "recorder exited with $?: $(cat "$TMP/rec.err")"
PIDS=""
grep -q "warning" "$TMP/rec.err" && fail "recorder warned: $(cat "$TMP/rec.err")"

[ "$(json "$TMP/r.mrec" complete)" = true ] || fail "recording not complete"
[ "$(json "$TMP/r.mrec" geometry_changes)" = 2 ] || fail "geometry changes: $(json "$TMP/r.mrec" geometry_changes)"
[ "$(json "$TMP/r.mrec" copy_chunks)" -ge 1 ] || fail "scroll not recorded as a copy"
"$REC" info "$TMP/r.mrec" >/dev/null || fail "info"

# Key frames against the original's snapshots.
"$REC" export "$TMP/r.mrec" -o "$TMP/keys" --codec ppm --keyframes --no-cursor -q || fail "export --keyframes"
cmp "$TMP/keys/keyframe-000000.ppm" "$TMP/key-0.ppm" || fail "key frame 0 differs"
for k in 1 2 3 4; do
	idx=$(printf %06d "$(cat "$TMP/key-$k.index")")
	cmp "$TMP/keys/keyframe-$idx.ppm" "$TMP/key-$k.ppm" || fail "forced key frame $k (#$idx) differs"
done

# Playback as a mirror.
"$REC" play "$TMP/r.mrec" --name played --speed 4 2>"$TMP/play.err" &
PPID_=$!
PIDS="$PIDS $PPID_"
"$SNAP" wait-end played 30 || fail "playback did not end: $(cat "$TMP/play.err")"
"$SNAP" snap played "$TMP/played.ppm" "$TMP/played.raw" || fail "snapshot of the played mirror"
cmp "$TMP/played.raw" "$TMP/final.raw" || fail "played final picture differs (raw)"
cmp "$TMP/played.ppm" "$TMP/final.ppm" || fail "played final picture differs (ppm)"
"$SNAP" cursor played >"$TMP/played.cursor"
cmp "$TMP/played.cursor" "$TMP/final.cursor" || fail "cursor differs: $(cat "$TMP/played.cursor") vs $(cat "$TMP/final.cursor")"
# The mirror keeps showing the last frame until interrupted.
kill -INT $PPID_
wait $PPID_ || fail "play exited with $?"
PIDS="$SYNTH_PID"

# Lossless export: frame count, size, last frame.
if command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null; then
	FPS=10
	"$REC" export "$TMP/r.mrec" -o "$TMP/r.mkv" --codec ffv1 --fps $FPS --no-cursor -q || fail "export ffv1"
	dur=$(json "$TMP/r.mrec" duration_ns)
	want=$(( (dur * FPS + 999999999) / 1000000000 + 1 ))
	got=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$TMP/r.mkv")
	[ "$got" = "$W,$H,$want" ] || fail "ffv1 export: width,height,frames = $got, expected $W,$H,$want"
	ffmpeg -v error -i "$TMP/r.mkv" -f rawvideo -pix_fmt rgb24 - | tail -c $((W * H * 3)) >"$TMP/last.rgb"
	tail -c $((W * H * 3)) "$TMP/final.ppm" >"$TMP/final.rgb"
	cmp "$TMP/last.rgb" "$TMP/final.rgb" || fail "last FFV1 frame differs from the final snapshot"

	"$REC" export "$TMP/r.mrec" -o "$TMP/r.mp4" --fps 15 -q || fail "export h264"
	got=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=codec_name,nb_read_frames -of csv=p=0 "$TMP/r.mp4")
	want=$(( (dur * 15 + 999999999) / 1000000000 + 1 ))
	[ "$got" = "h264,$want" ] || fail "h264 export: $got, expected h264,$want"
else
	echo "ffmpeg/ffprobe missing: video checks skipped" >&2
fi
"$REC" export "$TMP/r.mrec" -o "$TMP/png/" --fps 2 -q || fail "export png"
[ -f "$TMP/png/frame-000000.png" ] || fail "no PNG frames"
# Every frame, across the two geometry changes (the encoder is reopened).
dur=$(json "$TMP/r.mrec" duration_ns)
want=$(( (dur * 2 + 999999999) / 1000000000 + 1 ))
n=$(ls "$TMP/png" | wc -l)
[ "$n" -eq "$want" ] || fail "PNG export: $n frames ($(ls "$TMP/png" | tr '\n' ' ')), expected $want"
echo "roundtrip OK"
