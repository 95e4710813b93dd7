#!/bin/sh
# `make run`: a private headless Xorg with the mirage module, served by
# mirage-vnc; open the printed URL in a browser (noVNC) or point a VNC
# viewer at the printed address.  Ctrl-C stops everything.
#   scripts/run-vnc.sh [BUILD_DIR] [mirage-vnc options ...]
set -eu

BUILD=${1:-build}
[ $# -gt 0 ] && shift
VNC="$BUILD/src/tools/vnc/mirage-vnc"
if [ ! -x "$VNC" ]; then
	echo "run-vnc: $VNC not built (needs libvncserver-dev: make deps)" >&2
	exit 1
fi

# The first free RFB port from 5900 whose HTTP port (- 100) is free too.
port=""
for p in $(seq 5900 5920); do
	if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q . &&
	   ! ss -Hltn "sport = :$((p - 100))" 2>/dev/null | grep -q .; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "run-vnc: no free port in 5900-5920" >&2; exit 1; }

echo "run-vnc: starting a mirrored display; open this in a browser:"
echo "  http://127.0.0.1:$((port - 100))/vnc.html?autoconnect=1&host=127.0.0.1&port=$port&path="
echo "run-vnc: or a VNC viewer on 127.0.0.1::$port.  Ctrl-C to stop."
exec "$VNC" --embedded --listen "127.0.0.1:$port" "$@"
