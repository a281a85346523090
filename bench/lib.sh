# bench/lib.sh - what bench/proxy.sh and bench/observe.sh share: their
# servers, a free port, an echo readiness wait, medians.  Sourced; the
# caller sets PFSD, LOADGEN and NAME, and gets TMP and PIDS.
TMP=$(mktemp -d "/tmp/pfsd-bench-$NAME.XXXXXX")
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

# wait_echo PORT [-P]: until PORT answers an echo; fail after 10 s
wait_echo() {
	local i
	for ((i = 0; i < 40; i++)); do
		"$LOADGEN" -p "$1" ${2:+"$2"} -w 250 -q >/dev/null 2>&1 &&
		    return 0
	done
	echo "bench/$NAME.sh: nothing answers on port $1" >&2
	exit 1
}

# pfsd_on PORT [KEY=VALUE...]: the echo handler, 8 children, in the
# background (its pid in PIDS)
pfsd_on() {
	local port=$1
	shift
	setsid "$PFSD" --handler=echo --port="127.0.0.1:$port" \
	    --max_servers=8 --max_requests=100000 "$@" \
	    >"$TMP/pfsd.$port.log" 2>&1 </dev/null &
	PIDS+=($!)
}

median() {
	tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 }
	    END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
