#!/bin/sh
# Runs a libFuzzer target briefly for `meson test --suite fuzz`: new inputs go
# to a scratch directory in the build tree, never into the committed seeds.
#   run-fuzz.sh TARGET SEED_CORPUS SCRATCH [libFuzzer options...]
set -eu
target=$1 seeds=$2 scratch=$3
shift 3
rm -rf "$scratch"
mkdir -p "$scratch/new"
# The target's MIRAGE_DIR goes under the scratch directory: libFuzzer may end
# without running atexit handlers, so clean up here.
status=0
TMPDIR=$scratch "$target" "$@" "$scratch/new" "$seeds" || status=$?
rm -rf "$scratch"/mirage-fuzz-*
exit $status
