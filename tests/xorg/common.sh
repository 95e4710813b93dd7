# SPDX-License-Identifier: MIT
# Shared prelude of the Xorg integration tests: finds the tools, skips
# (exit 77) when the machine cannot run a headless Xorg, counts failures.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/xorg-env.sh"

MODDIR=${MIRAGE_XORG_MODULE_DIR:?}
XCHECK=${MIRAGE_XCHECK:?}
CTL=${MIRAGE_CTL:-}
FAILS=0

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to start Xorg with -config"
command -v Xorg >/dev/null || skip "no Xorg"
[ -e /usr/lib/xorg/modules/drivers/dummy_drv.so ] || skip "no dummy video driver"
for t in xdpyinfo xterm xdotool x11perf xwd xwdtopnm xrandr; do
	command -v $t >/dev/null || skip "no $t"
done

ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }

# check DESCRIPTION CMD... : runs CMD, reports.
check() {
	desc=$1; shift
	if out=$("$@" 2>&1); then
		ok "$desc: $(echo "$out" | tail -n 1)"
	else
		bad "$desc"
		echo "$out" | sed 's/^/     /'
	fi
}

# status_value NAME KEY: KEY's value in `miragectl status NAME`.
status_value() { "$CTL" status "$1" | awk -F= -v k="$2" '$1 ~ "^ *"k"$" {print $2}'; }

# snapcheck NAME TAG: miragectl snapshot == xwd -root | xwdtopnm, byte for byte.
snapcheck() {
	[ -x "$CTL" ] || { echo "     (no miragectl: snapshot comparison skipped)"; return 0; }
	"$XCHECK" compare "$1" >/dev/null 2>&1 # settle
	"$CTL" snapshot "$1" "$XENV_DIR/snap.ppm" 2>/dev/null
	xwd -root -silent | xwdtopnm 2>/dev/null > "$XENV_DIR/xwd.ppm"
	if cmp -s "$XENV_DIR/snap.ppm" "$XENV_DIR/xwd.ppm"; then
		ok "$2: miragectl snapshot == xwd -root (PPM, byte for byte)"
	else
		bad "$2: miragectl snapshot differs from xwd -root"
		cmp "$XENV_DIR/snap.ppm" "$XENV_DIR/xwd.ppm" 2>&1 | head -n 2 | sed 's/^/     /'
	fi
}

server_alive() {
	if xorg_env_alive; then
		ok "$1: X server up, xdpyinfo answers"
	else
		bad "$1: X server not answering"
	fi
}

no_errors() {
	if grep -q "(EE) mirage" "$XORG_LOG"; then
		bad "mirage logged errors"
		grep "(EE) mirage" "$XORG_LOG" | head -n 5 | sed 's/^/     /'
	else
		ok "no (EE) mirage in the server log"
	fi
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed; server log tail:"
		tail -n 15 "$XORG_LOG" | sed 's/^/     /'
		exit 1
	fi
	exit 0
}
