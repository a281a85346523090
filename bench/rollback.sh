#!/bin/bash
# bench/rollback.sh - what a reload that fails costs: N HUPs (default 20,
# ~250 ms apart) whose new image fails after the exec (pre_loop_hook of
# the test handler hooks returns non-zero) and rolls back, under a load
# of 32 clients.  Prints the load generator's errors across them and the
# time from each HUP to the rollback being complete, both read from
# pfsd's own log timestamps ("HUP: checking" to "generation N kept").
# Run from the top of the tree after make check (make bench-rollback).
set -eu
cd "$(dirname "$0")/.."

N=${N:-20}
PORT=${PORT:-20241}
SOURCES=64
tmp=$(mktemp -d /tmp/pfsd-rollback.XXXXXX)
pid='' lg=''
cleanup() {
	[ -n "$lg" ] && kill "$lg" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

good="port 127.0.0.1:$PORT
handler $PWD/tests/plugins/hooks.so
max_servers 8
log_file $tmp/pfsd.log"
printf '%s\n' "$good" >"$tmp/pfsd.conf"
daemon/pfsd -c "$tmp/pfsd.conf" 2>"$tmp/stderr" &
pid=$!
for ((i = 0; i < 500; i++)); do
	grep -q 'serving (generation 0' "$tmp/pfsd.log" 2>/dev/null && break
	sleep 0.01
done
bench/loadgen -p "$PORT" -c 32 -d 120 -T 5000 -s "$SOURCES" -q \
    >"$tmp/lg.out" 2>&1 &
lg=$!
sleep 0.5
printf '%s\nfail_hook pre_loop_hook\n' "$good" >"$tmp/pfsd.conf"
for ((i = 1; i <= N; i++)); do
	kill -HUP "$pid"
	for ((t = 0; t < 500; t++)); do
		[ "$(grep -c 'generation 0 kept' "$tmp/pfsd.log")" -ge "$i" ] &&
		    break
		sleep 0.01
	done
	sleep 0.25
done
kill -TERM "$lg"
wait "$lg" || true
lg=''
kept=$(grep -c 'generation 0 kept' "$tmp/pfsd.log")
# ms from each "HUP: checking" to the "kept" line after it
ms=$(awk '
	function t(s,   a) { split(s, a, /[:.]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
	/HUP: checking the new configuration/ { start = t($2) }
	/generation 0 kept/ && start { print t($2) - start; start = 0 }
' "$tmp/pfsd.log" | sort -n)
median=$(printf '%s\n' $ms | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
max=$(printf '%s\n' $ms | tail -n 1)
line=$(tail -n 1 "$tmp/lg.out")
echo "$N failing HUPs ~250 ms apart under load (32 clients, 8 children):"
echo "  rolled back: $kept/$N, pfsd pid $pid $(kill -0 "$pid" 2>/dev/null && echo alive || echo GONE)"
echo "  HUP to rollback complete, ms: median $median, max $max"
echo "  loadgen: $line"
