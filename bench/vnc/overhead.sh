#!/bin/bash
# SPDX-License-Identifier: MIT
#
# What serving costs on top of drawing, for mirage and for TigerVNC's Xvnc.
#
#   bash bench/vnc/overhead.sh [BUILD] [typing|scroll|drag|x11perf]
#
# Runs threads.sh's workload ROUNDS times (default 8) on four setups, in
# turn within each round: a plain Xorg with the dummy driver (no module, no
# viewer), mirage-vnc --embedded with one viewer, Xvnc with no viewer, and
# Xvnc with one viewer.  Prints each setup's median CPU (all threads of the
# server's processes) and the two overheads: mirage's (--embedded with a
# viewer over the plain Xorg) and Xvnc's (with a viewer over without).
# The X server's own drawing is the same code in both (fb, pixman); these
# tell what each adds to it.  SEQ, REPS, X11PERF and ENCODINGS are passed
# on to threads.sh.
set -u
BUILD=${1:-build}
WORK=${2:-scroll}
ROUNDS=${ROUNDS:-8}
HERE=$(dirname "$0")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for r in $(seq "$ROUNDS"); do
	for setup in "xorg 0" "embedded 1" "xvnc 0" "xvnc 1"; do
		# shellcheck disable=SC2086 # "server viewer"
		set -- $setup
		ms=$(VIEWER=$2 bash "$HERE/threads.sh" "$BUILD" "$1" "$WORK" 2>&1 |
			sed -n 's/^total \([0-9.]*\) ms$/\1/p')
		[ -n "$ms" ] || { echo "overhead: $1 (viewer $2) failed in round $r" >&2; exit 1; }
		echo "$ms" >> "$TMP/$1.$2"
	done
done

median() {
	sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
X=$(median "$TMP/xorg.0")
E=$(median "$TMP/embedded.1")
V0=$(median "$TMP/xvnc.0")
V1=$(median "$TMP/xvnc.1")
echo "$WORK, $ROUNDS rounds: median CPU ms, then every run"
for f in xorg.0 embedded.1 xvnc.0 xvnc.1; do
	printf '  %-11s %8.1f   %s\n' "$f" "$(median "$TMP/$f")" "$(tr '\n' ' ' < "$TMP/$f")"
done
awk -v x="$X" -v e="$E" -v v0="$V0" -v v1="$V1" 'BEGIN {
	printf "mirage: embedded with a viewer - plain Xorg = %.1f ms (%.0f%% of the plain Xorg)\n", e - x, 100 * (e - x) / x
	printf "Xvnc:   with a viewer - without            = %.1f ms (%.0f%% of Xvnc without)\n", v1 - v0, 100 * (v1 - v0) / v0
	printf "the X servers alone: Xvnc without a viewer / plain Xorg = %.2f\n", v0 / x
	printf "embedded / Xvnc, both with a viewer = %.2f\n", e / v1
}'
