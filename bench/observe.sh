#!/usr/bin/env bash
# bench/observe.sh - what watching pfsd costs: the access log and the
# process titles, on or off.
#
#   bench/observe.sh [SECONDS] [RUNS]     (make bench runs it)
#
# Side by side in one run, interleaved, medians of RUNS (3) runs of
# SECONDS (3) each, 32 clients, connection per request, echo handler, 8
# children: access_log off, text to a file, json to a file, and
# process_titles off.  Prints conns/s, p99 and the ratio to the first row
# (default: titles on, no access log).  Targets: access log >= 0.95, the
# first row >= 0.97 x titles off.
set -u
cd "$(dirname "$0")/.."

SECS=${1:-3}
RUNS=${2:-3}
PFSD=daemon/pfsd
LOADGEN=bench/loadgen
NAME=observe
. bench/lib.sh

P=( "$(free_port)" "$(free_port)" "$(free_port)" "$(free_port)" )
pfsd_on "${P[0]}"
pfsd_on "${P[1]}" --access_log="$TMP/access.txt"
pfsd_on "${P[2]}" --access_log="$TMP/access.json" --access_log_format=json
pfsd_on "${P[3]}" --process_titles=0
for p in "${P[@]}"; do wait_echo "$p"; done

NAMES=("default" "access_log text" "access_log json" "titles off")
declare -A CPS P99
for ((r = 0; r < RUNS; r++)); do
	for i in 0 1 2 3; do
		out=$("$LOADGEN" -p "${P[$i]}" -c 32 -s 32 -d "$SECS" -q | tail -1)
		CPS[$i]+="$(sed -n 's/.*conns_per_s=\([0-9.]*\).*/\1/p' <<<"$out") "
		P99[$i]+="$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$out") "
	done
done
base=$(median "${CPS[0]}")
printf '%-16s %12s %10s %10s\n' "" "conns/s" "p99 (us)" "ratio"
for i in 0 1 2 3; do
	c=$(median "${CPS[$i]}")
	printf '%-16s %12.0f %10.0f %9.2fx\n' "${NAMES[$i]}" "$c" \
	    "$(median "${P99[$i]}")" "$(awk -v a="$c" -v b="$base" \
	    'BEGIN { print a / b }')"
done
echo "(medians of $RUNS runs of $SECS s; $(wc -l <"$TMP/access.txt")" \
    "text lines written)"
