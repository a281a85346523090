#!/usr/bin/env bash
# bench/observe.sh - what watching pfsd costs: the access log, on or off.
#
#   bench/observe.sh [SECONDS] [RUNS]     (make bench runs it)
#
# Side by side in one run, interleaved, medians of RUNS (3) runs of
# SECONDS (3) each, 32 clients, connection per request, echo handler, 8
# children: access_log off, text to a file, json to a file.  Prints
# conns/s, p99 and the ratio to "off" (target: >= 0.95).
set -u
cd "$(dirname "$0")/.."

SECS=${1:-3}
RUNS=${2:-3}
PFSD=daemon/pfsd
LOADGEN=bench/loadgen
TMP=$(mktemp -d /tmp/pfsd-bench-observe.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pfsd_on() {	# PORT [EXTRA...]
	local port=$1
	shift
	setsid "$PFSD" --handler=echo --port="127.0.0.1:$port" \
	    --max_servers=8 --max_requests=100000 "$@" \
	    >"$TMP/pfsd.$port.log" 2>&1 </dev/null &
	PIDS+=($!)
	for ((i = 0; i < 40; i++)); do
		"$LOADGEN" -p "$port" -w 250 -q >/dev/null 2>&1 && return 0
	done
	echo "bench/observe.sh: pfsd $* does not answer" >&2
	exit 1
}

P=( "$(free_port)" "$(free_port)" "$(free_port)" )
pfsd_on "${P[0]}"
pfsd_on "${P[1]}" --access_log="$TMP/access.txt"
pfsd_on "${P[2]}" --access_log="$TMP/access.json" --access_log_format=json

NAMES=("access_log off" "access_log text" "access_log json")
declare -A CPS P99
for ((r = 0; r < RUNS; r++)); do
	for i in 0 1 2; do
		out=$("$LOADGEN" -p "${P[$i]}" -c 32 -s 32 -d "$SECS" -q | tail -1)
		CPS[$i]+="$(sed -n 's/.*conns_per_s=\([0-9.]*\).*/\1/p' <<<"$out") "
		P99[$i]+="$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$out") "
	done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1}
    END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(median "${CPS[0]}")
printf '%-16s %12s %10s %10s\n' "" "conns/s" "p99 (us)" "ratio"
for i in 0 1 2; do
	c=$(median "${CPS[$i]}")
	printf '%-16s %12.0f %10.0f %9.2fx\n' "${NAMES[$i]}" "$c" \
	    "$(median "${P99[$i]}")" "$(awk -v a="$c" -v b="$base" \
	    'BEGIN { print a / b }')"
done
echo "(medians of $RUNS runs of $SECS s; $(wc -l <"$TMP/access.txt")" \
    "text lines written)"
