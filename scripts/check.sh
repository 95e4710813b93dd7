#!/bin/sh
# Runs every test in the normal build, then the unit tests and the fuzz
# targets again under AddressSanitizer + UBSan (clang), and ends with one
# line "N passed, N failed".
set -u
BUILD=${1:-build}
ASAN=${BUILD}-asan
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

werror=""
[ "${CI:-}" = "true" ] && werror="-Dwerror=true"

status=0
meson test -C "$BUILD" --no-rebuild --print-errorlogs --num-processes 2 || status=1

if [ ! -f "$ASAN/build.ninja" ]; then
	CC=clang meson setup "$ASAN" $werror -Db_sanitize=address,undefined \
		-Db_lundef=false -Dfuzz=true -Dxorg=disabled >/dev/null || status=1
fi
if ninja -C "$ASAN" >/dev/null; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$ASAN" --no-rebuild --print-errorlogs --suite unit --suite fuzz \
		|| status=1
else
	echo "check: the sanitizer build failed" >&2
	status=1
fi

python3 - "$BUILD" "$ASAN" <<'PY'
import json, sys, os
passed = failed = skipped = 0
for b in sys.argv[1:]:
    path = os.path.join(b, "meson-logs", "testlog.json")
    if not os.path.exists(path):
        failed += 1
        continue
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || status=1
exit $status
