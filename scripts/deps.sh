#!/bin/sh
# The one place that names the Debian packages mirage needs.  Installs the
# missing ones (apt-get), or with --list just prints them.
set -eu

PACKAGES="
  build-essential clang meson ninja-build pkg-config python3
  libclang-rt-14-dev
  libpixman-1-dev libpng-dev zlib1g-dev
  xserver-xorg-dev xserver-xorg-core xserver-xorg-video-dummy xvfb
  libx11-dev libxext-dev libxdamage-dev libxfixes-dev libxrandr-dev libxrender-dev libxtst-dev
  libxcb1-dev libxcb-damage0-dev libxcb-shm0-dev libxcb-xfixes0-dev
  libxcb-randr0-dev libxcb-xtest0-dev
  libzstd-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libvncserver-dev libgnutls28-dev novnc openssl dbus-daemon
  x11-apps x11-utils x11-xserver-utils xterm xdotool twm xclip xsel netpbm
  iproute2 procps time ffmpeg chromium xcompmgr libxcb-xinput-dev xfwm4 mesa-utils
  tigervnc-viewer tigervnc-scraping-server tigervnc-standalone-server x11vnc
  sway foot grim libwayland-dev libwayland-bin wayland-protocols
  librust-wayland-protocols-dev libxkbcommon-dev wayvnc wl-clipboard
  mutter pipewire wireplumber libpipewire-0.3-dev libsystemd-dev gtk-3-examples zenity gnome-remote-desktop
"

if [ "${1:-}" = "--list" ]; then
	for p in $PACKAGES; do echo "$p"; done
	exit 0
fi

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: missing packages:$missing (run this script as root)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
