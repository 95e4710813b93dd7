# Shared by mirage-rec's integration tests (sourced).  Arguments of every
# test: MIRAGE_REC REC_SYNTH REC_SNAP.  Sets up a private MIRAGE_DIR and a
# work dir, and a trap that kills only the processes started here.
set -eu

REC=$1
SYNTH=$2
SNAP=$3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mirage-rec-test.XXXXXX")
export MIRAGE_DIR="$TMP/run"
mkdir -m 700 "$MIRAGE_DIR"
PIDS=""

cleanup() {
	status=$?
	exec 3>&- 4<&- 2>/dev/null || true
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	if [ $status -ne 0 ] && [ -n "${KEEP:-}" ]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Starts rec-synth NAME W H [BPP] fed from fd 3, answering on fd 4.
start_synth() {
	mkfifo "$TMP/cmd" "$TMP/ack"
	"$SYNTH" "$@" <"$TMP/cmd" >"$TMP/ack" &
	SYNTH_PID=$!
	PIDS="$PIDS $SYNTH_PID"
	exec 3>"$TMP/cmd" 4<"$TMP/ack"
	wait_for "[ -S '$MIRAGE_DIR/$1.sock' ]" 10 || fail "rec-synth $1 did not start"
}

# Sends one command to rec-synth and waits for its answer.
send() {
	echo "$*" >&3
	read -r answer <&4 || fail "rec-synth died on: $*"
	[ "$answer" = ok ] || fail "rec-synth: $answer"
}

# wait_for CONDITION SECONDS: polls a shell condition every 0.05 s.
wait_for() {
	i=0
	n=$(($2 * 20))
	while [ $i -lt $n ]; do
		if eval "$1"; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# json FILE KEY: one scalar field of mirage-rec info --json.
json() {
	"$REC" info --json "$1" 2>/dev/null | python3 -c "import json,sys; v=json.load(sys.stdin)['$2']; print(str(v).lower() if isinstance(v,bool) else v)"
}

file_size() {
	stat -c %s "$1"
}
