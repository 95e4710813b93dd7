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
for t in xdpyinfo xterm xdotool x11perf xrandr; do
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

# root_ppm FILE: the root window as a PPM from GetImage (x11-check
# root-ppm), what an X client sees; xwd -root differs from it where windows
# of a 32-bit visual are on screen.  False without x11-check.
root_ppm() { [ -x "${X11_CHECK:-}" ] && "$X11_CHECK" root-ppm "$DISPLAY" "$1"; }

# snapcheck NAME TAG: miragectl snapshot == GetImage of the root, byte for byte.
snapcheck() {
	[ -x "$CTL" ] || { echo "     (no miragectl: snapshot comparison skipped)"; return 0; }
	[ -x "${X11_CHECK:-}" ] || { echo "     (no x11-check: snapshot comparison skipped)"; return 0; }
	"$XCHECK" compare "$1" >/dev/null 2>&1 # settle
	"$CTL" snapshot "$1" "$XENV_DIR/snap.ppm" 2>/dev/null
	root_ppm "$XENV_DIR/root.ppm"
	if cmp -s "$XENV_DIR/snap.ppm" "$XENV_DIR/root.ppm"; then
		ok "$2: miragectl snapshot == GetImage of the root (PPM, byte for byte)"
	else
		bad "$2: miragectl snapshot differs from GetImage of the root"
		cmp "$XENV_DIR/snap.ppm" "$XENV_DIR/root.ppm" 2>&1 | head -n 2 | sed 's/^/     /'
	fi
}

# The module's read path: XENV_SCREEN_READ=getimage (xorg-env.sh) makes it
# read the screen through GetImage only, as on a GPU whose screen pixmap is
# not in CPU memory.
GETIMAGE_WHY='the screen pixmap is not in CPU memory (Option "ScreenRead" "getimage")'
getimage() { [ "${XENV_SCREEN_READ:-}" = getimage ]; }

# screen_read_check NAME TAG: the module reads the screen the way
# XENV_SCREEN_READ asks, and says so (status fb_access, the server log).
screen_read_check() {
	[ -x "$CTL" ] || return 0
	fa=$(status_value "$1" fb_access)
	if getimage; then
		[ "$fa" = getimage ] && ok "$2: fb_access=getimage" ||
			bad "$2: fb_access=$fa, expected getimage (Option \"ScreenRead\" \"getimage\")"
		grep -q 'mirage: Option "ScreenRead" "getimage": the screen is read through GetImage' \
			"$XORG_LOG" && ok "$2: the log says the screen is read through GetImage" ||
			bad "$2: no ScreenRead getimage line in the server log"
	else
		case $fa in
		direct | alias) ok "$2: fb_access=$fa" ;;
		*) bad "$2: fb_access=$fa, expected direct or alias (the dummy driver)" ;;
		esac
	fi
}

# alias_check NAME TAG: Cap.DfbBackingMode 2 in force with nothing else
# against it: the surface is the screen's framebuffer, or, reading through
# GetImage, the alias is refused, logged with why, and the surface copied.
alias_check() {
	[ -x "$CTL" ] || return 0
	b=$(status_value "$1" backing)
	why=$(status_value "$1" backing_fallback)
	if getimage; then
		[ "$b" = copy ] && [ "$why" = "$GETIMAGE_WHY" ] &&
			ok "$2: mode 2 refused as on a GPU: backing=copy, backing_fallback=$why" ||
			bad "$2: backing=$b, backing_fallback=$why; expected copy, $GETIMAGE_WHY"
		grep -qF "(WW) mirage: $1: Cap.DfbBackingMode 2: $GETIMAGE_WHY; copying instead (mode 3)" \
			"$XORG_LOG" && ok "$2: the log says why the alias was refused" ||
			bad "$2: no refusal of the alias in the server log"
	else
		[ "$b" = alias ] && ok "$2: backing=alias" || bad "$2: backing=$b (why: $why), expected alias"
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
