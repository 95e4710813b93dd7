#!/bin/sh
# mirage-rec record --display :N on a headless X server (Xvfb): starts its
# own mirage-x11, records, stops it; the played-back mirror's final picture
# equals what mirage-x11 published.  Skipped (77) without Xvfb, X clients
# or a built mirage-x11.
. "$(dirname "$0")/lib.sh"

X11="$(dirname "$REC")/../../drivers/x11/mirage-x11"
for tool in Xvfb xsetroot; do
	command -v $tool >/dev/null || { echo "$tool missing: skipped"; exit 77; }
done
[ -x "$X11" ] || { echo "mirage-x11 not built: skipped"; exit 77; }

Xvfb -displayfd 5 -screen 0 480x320x24 -nolisten tcp 5>"$TMP/display" 2>"$TMP/xvfb.err" &
PIDS="$PIDS $!"
wait_for "[ -s '$TMP/display' ]" 10 || fail "Xvfb did not start: $(cat "$TMP/xvfb.err")"
D=":$(cat "$TMP/display")"
export DISPLAY="$D"

"$REC" record --display "$D" -o "$TMP/x.mrec" --fps 30 -q 2>"$TMP/rec.err" &
RPID=$!
PIDS="$PIDS $RPID"
wait_for "[ \$(file_size '$TMP/x.mrec' 2>/dev/null || echo 0) -gt 128 ]" 15 || fail "no first frame: $(cat "$TMP/rec.err")"
MIRROR="rec-x11-$RPID"
[ -S "$MIRAGE_DIR/$MIRROR.sock" ] || fail "mirage-x11's mirror $MIRROR is not there"

for c in red '#336699' green '#102030'; do
	xsetroot -solid "$c"
	sleep 0.2
done
command -v xdotool >/dev/null && xdotool mousemove 120 80 && sleep 0.2
sleep 0.5
"$SNAP" snap "$MIRROR" "$TMP/final.ppm" "$TMP/final.raw" || fail "snapshot of $MIRROR"
kill -INT $RPID
wait $RPID || fail "recorder exit status $?: $(cat "$TMP/rec.err")"
wait_for "[ ! -S '$MIRAGE_DIR/$MIRROR.sock' ]" 5 || fail "mirage-x11 was not stopped"
[ "$(json "$TMP/x.mrec" complete)" = true ] || fail "recording not complete"

"$REC" play "$TMP/x.mrec" --name xplay --speed 5 2>"$TMP/play.err" &
PPID_=$!
PIDS="$PIDS $PPID_"
"$SNAP" wait-end xplay 30 || fail "playback did not end: $(cat "$TMP/play.err")"
"$SNAP" snap xplay "$TMP/played.ppm" "$TMP/played.raw" || fail "snapshot of the played mirror"
cmp "$TMP/played.raw" "$TMP/final.raw" || fail "played final picture differs from mirage-x11's"
echo "x11 OK"
