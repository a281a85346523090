#!/usr/bin/env bash
# bench/proxy.sh - what the PROXY protocol costs, and a fleet behind HAProxy.
#
#   bench/proxy.sh [SECONDS] [RUNS]     (make bench runs it after run.sh)
#
# Side by side in one run, interleaved, medians of RUNS (3) runs of SECONDS
# (3) each, 32 clients, connection per request, echo handler, 8 children:
#   direct        loadgen -> pfsd
#   direct+PROXY  loadgen -P (a v1 header first) -> pfsd proxy_protocol on
#   haproxy->1    loadgen -> HAProxy (send-proxy-v2) -> one pfsd
#   haproxy->2    loadgen -> HAProxy -> two pfsd (roundrobin)
# Prints conns/s, p99 and the ratios.  On a 2-core machine HAProxy, the
# load generator and the pfsd children share the same two CPUs, so the
# fleet rows measure the balancer's cost, not the fleet's capacity.
set -u
cd "$(dirname "$0")/.."

SECS=${1:-3}
RUNS=${2:-3}
PFSD=daemon/pfsd
LOADGEN=bench/loadgen
NAME=proxy
. bench/lib.sh

command -v haproxy >/dev/null || { echo "bench/proxy.sh: haproxy is not" \
    "installed (make deps)"; exit 1; }

P_PLAIN=$(free_port); pfsd_on "$P_PLAIN"
P_PROXY=$(free_port); pfsd_on "$P_PROXY" --proxy_protocol=on
P_B1=$(free_port); pfsd_on "$P_B1" --proxy_protocol=v2
P_B2=$(free_port); pfsd_on "$P_B2" --proxy_protocol=v2
F1=$(free_port)
F2=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend one
  bind 127.0.0.1:$F1
  default_backend one
frontend two
  bind 127.0.0.1:$F2
  default_backend two
backend one
  server a 127.0.0.1:$P_B1 send-proxy-v2
backend two
  balance roundrobin
  server a 127.0.0.1:$P_B1 send-proxy-v2
  server b 127.0.0.1:$P_B2 send-proxy-v2
EOF
setsid haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 </dev/null &
PIDS+=($!)
wait_echo "$P_PLAIN"
wait_echo "$P_PROXY" -P
wait_echo "$F1"
wait_echo "$F2"

NAMES=(direct direct+PROXY haproxy-\>1 haproxy-\>2)
declare -A CPS P99
run() {		# INDEX PORT [-P]
	local out
	out=$("$LOADGEN" -p "$2" ${3:-} -c 32 -s 32 -d "$SECS" -q | tail -1)
	CPS[$1]+="$(sed -n 's/.*conns_per_s=\([0-9.]*\).*/\1/p' <<<"$out") "
	P99[$1]+="$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$out") "
	grep -q ' errors=0 ' <<<"$out" || echo "bench/proxy.sh: ${NAMES[$1]}:" \
	    "errors: $out" >&2
}

for ((r = 0; r < RUNS; r++)); do
	run 0 "$P_PLAIN"
	run 1 "$P_PROXY" -P
	run 2 "$F1"
	run 3 "$F2"
done

base=$(median "${CPS[0]}")
one=$(median "${CPS[2]}")
printf '%-14s %12s %10s %10s\n' "" "conns/s" "p99 (us)" "ratio"
for i in 0 1 2 3; do
	c=$(median "${CPS[$i]}")
	ref=$base
	((i == 3)) && ref=$one
	printf '%-14s %12.0f %10.0f %9.2fx\n' "${NAMES[$i]}" "$c" \
	    "$(median "${P99[$i]}")" "$(awk -v a="$c" -v b="$ref" \
	    'BEGIN { print a / b }')"
done
echo "(ratios: direct+PROXY and haproxy->1 to direct; haproxy->2 to" \
    "haproxy->1; medians of $RUNS runs of $SECS s)"
