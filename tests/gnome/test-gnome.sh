#!/bin/sh
# SPDX-License-Identifier: MIT
# mirage-wayland on a headless mutter: --backend auto finds mutter's
# ScreenCast on the session bus and publishes gnome-Meta-0.  After each
# workload settles (the bare monitor; gtk3-icon-browser opened; gtk3-demo
# opened over it; that window closed) the mirror's snapshot
# equals an independent ScreenCast frame (gn-frame) byte for byte, and so
# does a replica built only from the change records (wl-check): every
# pixel that changed lies in a record.  A still screen costs the mirror no
# CPU for IDLE_SECONDS (30).  Mutter killed: mirage-wayland exits 1 with a
# one-line message and the consumer sees ASSERT_OFF; a new mirage-wayland
# --backend gnome without mutter exits 1 naming the cause.
# (gtk3-widget-factory never settles: a progress bar of it pulses.)
GN_NEEDS="gtk3-icon-browser gtk3-demo"
. "$(dirname "$0")/lib.sh"
CHECK_MIRROR=$MIRROR CHECK_REF=$T/home/frame.ppm
. "$(dirname "$0")/../wayland/check.sh"

start_mirror --set Cap.Bootup=2
grep -q 'with gnome as "gnome-Meta-0"' "$T/wayland.log" ||
	fail "--backend auto did not pick the gnome backend: $(cat "$T/wayland.log")"
pass "--backend auto picked gnome for mutter"
check_start
replica_settled "bare monitor"

# changed: the workload that follows must show in the next settled.
changed() { cp "$T/home/frame.ppm" "$T/home/before.ppm"; CHANGED_FROM=$T/home/before.ppm; }

changed
bg browser.log gtk3-icon-browser
replica_settled "gtk3-icon-browser opened"
check_cmd stats
echo "$REPLY" | grep -q ' blits=[1-9]' || fail "the window opened without a BLIT record ($REPLY)"

check_cmd reset
changed
bg demo.log gtk3-demo
DEMO=$(child_of "$BG")
replica_settled "gtk3-demo opened over it"
changed
kill "$DEMO"
replica_settled "gtk3-demo closed"
check_cmd stats
pass "records since gtk3-demo opened: $REPLY"
CHANGED_FROM=

# A still screen: no frame from mutter, no work here.
pid=$(mirror_pid)
[ -n "$pid" ] || fail "no PID in the mirror's status"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
t0=$(ticks "$pid")
sleep "${IDLE_SECONDS:-30}"
t1=$(ticks "$pid")
echo "idle: mirage-wayland used $((t1 - t0)) clock ticks in ${IDLE_SECONDS:-30} s"
[ $((t1 - t0)) -le 1 ] || fail "mirage-wayland used $((t1 - t0)) ticks of CPU on a still screen"
pass "a still screen cost mirage-wayland $((t1 - t0)) ticks in ${IDLE_SECONDS:-30} s"

off0=$(grep -c '^event ASSERT_OFF$' "$T/check.out")
kill "$MUTTER_PID"
for _ in $(seq 100); do kill -0 "$WL_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$WL_PID" 2>/dev/null && fail "mirage-wayland still runs after mutter went"
wait "$WL_PID"; rc=$?
[ "$rc" = 1 ] || fail "mirage-wayland exited $rc, not 1, when mutter went"
[ "$(grep -c 'error' "$T/wayland.log")" = 1 ] || fail "not one error line when mutter went: $(cat "$T/wayland.log")"
for _ in $(seq 50); do [ "$(grep -c '^event ASSERT_OFF$' "$T/check.out")" -gt "$off0" ] && break; sleep 0.1; done
[ "$(grep -c '^event ASSERT_OFF$' "$T/check.out")" -gt "$off0" ] || { cat "$T/check.out"; fail "mutter killed: the consumer saw no ASSERT_OFF"; }
pass "mutter killed: mirage-wayland exited 1 ($(grep error "$T/wayland.log")) and the consumer saw ASSERT_OFF"

as_user "$WL_BIN" --backend gnome > "$T/nomutter.log" 2>&1; rc=$?
[ "$rc" = 1 ] || fail "--backend gnome without mutter exited $rc, not 1"
[ "$(wc -l < "$T/nomutter.log")" = 1 ] && grep -q 'org.gnome.Mutter.ScreenCast' "$T/nomutter.log" ||
	fail "--backend gnome without mutter: not one line naming ScreenCast: $(cat "$T/nomutter.log")"
pass "without mutter: $(cat "$T/nomutter.log")"
echo "PASS"
