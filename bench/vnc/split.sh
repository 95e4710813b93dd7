#!/bin/bash
# SPDX-License-Identifier: MIT
#
# How much of a VNC server's CPU is the X server's own drawing, and how much
# is the VNC side: the same workload (threads.sh's, which are bench-vnc.sh's)
# on five set-ups, repeated and interleaved as bench-vnc.sh does:
#
#   xorg        a plain Xorg (dummy driver, the screen --embedded sets up,
#               no mirage module), no viewer: the drawing alone
#   embedded-0  mirage-vnc --embedded, no viewer: + the module, records read
#   embedded    mirage-vnc --embedded with one viewer
#   xvnc-0      TigerVNC's Xvnc, no viewer: + its hooks
#   xvnc        Xvnc with one viewer
#
# Per workload: the median and mean CPU (ms, Xorg + mirage-vnc or Xvnc, all
# threads) of each set-up over REPEAT runs (default 6), and each one's mean
# over the plain Xorg's.  Both X servers draw with the same fb code, so
# "xvnc - xorg" and "embedded - xorg" are what each VNC design costs on top
# of the drawing.  Run as root (the plain Xorg needs -config with a path).
#
#   bash bench/vnc/split.sh BUILD_DIR [WORKLOAD ...]   (default: typing scroll)
set -u
BUILD=$(cd "${1:?usage: split.sh BUILD_DIR [WORKLOAD ...]}" && pwd) || exit 2
shift
WORKS=${*:-typing scroll}
REPEAT=${REPEAT:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SETUPS="xorg embedded-0 embedded xvnc-0 xvnc"

for work in $WORKS; do
	for r in $(seq "$REPEAT"); do
		# rotate the order: each set-up goes first as often as the others
		# shellcheck disable=SC2086 # the list splits on purpose
		set -- $SETUPS
		for _ in $(seq $(((r - 1) % 5))); do
			set -- "$@" "$1"
			shift
		done
		for setup in "$@"; do
			server=${setup%-0}
			viewer=1
			[ "$server" != "$setup" ] && viewer=0
			t=$(VIEWER=$viewer bash "$HERE/threads.sh" "$BUILD" "$server" "$work" 2>&1 |
				sed -n 's/^total \([0-9.]*\) ms$/\1/p')
			if [ -z "$t" ]; then
				echo "split: $setup $work failed" >&2
				exit 1
			fi
			echo "$t" >> "$OUT/$work.$setup"
		done
	done
done

printf '%-8s %-11s %9s %9s %9s\n' workload setup median_ms mean_ms "-xorg_ms"
for work in $WORKS; do
	base=$(awk '{s += $1} END {print s / NR}' "$OUT/$work.xorg")
	for setup in $SETUPS; do
		sort -n "$OUT/$work.$setup" | awk -v w="$work" -v s="$setup" -v b="$base" '
			{ v[NR] = $1; t += $1 }
			END { printf "%-8s %-11s %9.1f %9.1f %9.1f\n", w, s, v[int((NR + 1) / 2)], t / NR, t / NR - b }'
	done
done
