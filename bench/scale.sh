#!/bin/bash
# bench/scale.sh - what pfsd costs as its pool grows.
#
# Run by `make bench` after bench/run.sh (and alone by `make bench-scale`).
# For each serialize mode x pool size x number of sockets: conns/s, p99 and
# server CPU per connection with 32 clients (split 16 + 16 over two
# sockets); then, at the largest pool with the default mode: start-up to
# every child ready, pfsd status, TTIN, HUP to the new generation, QUIT to
# exit, parent RSS and the idle children's private memory.  Prints one
# table and writes it to bench/out/scale.txt.
#
# "floor" is bench/floor, the least a prefork server can do (one socket
# only), for reference: what the pool size costs any prefork server here.
# "inherit" is the default mode (none) with the children under the normal
# CPU policy (--sched_policy inherit): what sched_policy batch changes.
# "nostandby" is the default mode with --standby_ms 0 (every idle child
# waits on the sockets): what standby changes.
#
# Environment: BENCH_QUICK=1 (pools 8 and 2048, floor, none and flock, one run:
# about a minute), BENCH_SIZES, BENCH_MODES, BENCH_SOCKETS, BENCH_RUNS (3),
# BENCH_SECS (seconds per run, 1), BENCH_PORT (21700), BENCH_PFSD.
set -u
export LC_ALL=C

cd "$(dirname "$0")/.." || exit 1

LOADGEN=bench/loadgen
FLOOR=bench/floor
PFSD=${BENCH_PFSD:-daemon/pfsd}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	SIZES=${BENCH_SIZES:-"8 2048"}
	MODES=${BENCH_MODES:-"floor none flock"}
	RUNS=${BENCH_RUNS:-1}
else
	SIZES=${BENCH_SIZES:-"8 64 512 2048 4096"}
	MODES=${BENCH_MODES:-"floor none nostandby inherit flock semaphore pipe"}
	RUNS=${BENCH_RUNS:-3}
fi
SOCKETS=${BENCH_SOCKETS:-"1 2"}
SECS=${BENCH_SECS:-1}
PORT=${BENCH_PORT:-21700}
CLIENTS=32
SOURCES=64
OUT=bench/out
T0=$SECONDS
BIG=0
for n in $SIZES; do ((n > BIG)) && BIG=$n; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pfsd-scale.XXXXXX") || exit 1
SOCK=$TMP/status.sock
SRV_PID=
declare -A CPS P99 CPU FIG

say() { printf 'scale: %3d s: %s\n' $((SECONDS - T0)) "$*" >&2; }
now_us() { echo "${EPOCHREALTIME/./}"; }
ms() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# stop: TERM the server, then KILL what is left of its process group.
stop() {
	local i
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	for ((i = 0; i < 1000; i++)); do
		alive "$SRV_PID" || break
		sleep 0.02
	done
	pgrep -g "$SRV_PID" >/dev/null 2>&1 && kill -KILL -- "-$SRV_PID"
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}

cleanup() {
	stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

next_port() {
	PORT=$((PORT + 1))
	while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
		PORT=$((PORT + 1))
	done
}

median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '
	    { a[NR] = $1 }
	    END { if (NR == 0) print "n/a"
		  else if (NR % 2) print a[(NR + 1) / 2]
		  else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
	    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "n/a"
	    else printf "%.2f\n", a / b }'
}

field() {
	local w
	for w in $2; do
		[ "${w%%=*}" = "$1" ] && { echo "${w#*=}"; return; }
	done
	echo n/a
}

# CPU time used so far by every process of the server's group, in ns
# (schedstat: exact; the clock ticks of stat are floored per process,
# which loses the few milliseconds each of thousands of children uses).
group_cpu() {
	ls -d /proc/[0-9]* 2>/dev/null | awk -v g="$1" '{
	    f = $0 "/stat"
	    if ((getline l < f) > 0) {
		sub(/^.*\) /, "", l)
		split(l, a, " ")
		if (a[3] == g) {
		    s = $0 "/schedstat"
		    if ((getline m < s) > 0) { split(m, b, " "); t += b[1] }
		    close(s)
		}
	    }
	    close(f) }
	    END { printf "%.0f\n", t }'
}

# The first line of pfsd status: "... generation G ... idle I ...".
status_line() {
	"$PFSD" status --status_socket "$SOCK" 2>/dev/null | head -n 1
}

# wait_idle N [GEN]: until N children are idle (in generation GEN).
wait_idle() {
	local n=$1 gen=${2:-} i line
	for ((i = 0; i < 3000; i++)); do
		line=$(status_line)
		[[ $line = *" idle $n "* ]] &&
		    { [ -z "$gen" ] || [[ $line = *" generation $gen "* ]]; } &&
		    return 0
		alive "$SRV_PID" || return 1
		sleep 0.01
	done
	return 1
}

# The reference: bench/floor, N children in a blocking accept() on one
# socket (the kernel wakes one), no lock, no scoreboard, nothing else.
# Ready when all N children exist.
start_floor() {
	local n=$1 ns=$2 t0=$3 i
	[ "$ns" = 1 ] || return 1
	setsid "$FLOOR" -p "$PA" -n "$n" </dev/null >"$TMP/floor.log" 2>&1 &
	SRV_PID=$!
	for ((i = 0; i < 3000; i++)); do
		[ "$(pgrep -c -P "$SRV_PID")" = "$n" ] && break
		alive "$SRV_PID" || break
		sleep 0.01
	done
	if [ "$(pgrep -c -P "$SRV_PID")" != "$n" ]; then
		say "floor $n did not start: $(tail -n 2 "$TMP/floor.log")"
		stop
		return 1
	fi
	FIG[start]=$(ms $(($(now_us) - t0)))
}

# start MODE N NSOCK: a pool of N on NSOCK ports; ms until all are idle
# in FIG[start].
start() {
	local mode=$1 n=$2 ns=$3 t0 args=() ser=$1
	next_port
	PA=$PORT
	args=(--port "127.0.0.1:$PA")
	if [ "$ns" = 2 ]; then
		next_port
		PB=$PORT
		args+=(--port "127.0.0.1:$PB")
	fi
	t0=$(now_us)
	if [ "$mode" = floor ]; then
		start_floor "$n" "$ns" "$t0"
		return
	fi
	if [ "$mode" = inherit ]; then
		ser=none
		args+=(--sched_policy inherit)
	fi
	if [ "$mode" = nostandby ]; then
		ser=none
		args+=(--standby_ms 0)
	fi
	setsid "$PFSD" --handler echo "${args[@]}" --max_servers "$n" \
	    --serialize "$ser" --max_requests 100000000 --log_level 1 \
	    --status_socket "$SOCK" </dev/null >"$TMP/pfsd.log" 2>&1 &
	SRV_PID=$!
	if ! wait_idle "$n"; then
		say "pfsd $mode $n did not start: $(tail -n 2 "$TMP/pfsd.log")"
		stop
		return 1
	fi
	FIG[start]=$(ms $(($(now_us) - t0)))
}

# One run of CLIENTS clients for SECS: "conns/s p99_us completed".
run_load() {
	local ns=$1 a b
	if [ "$ns" = 1 ]; then
		a=$("$LOADGEN" -p "$PA" -c "$CLIENTS" -d "$SECS" -T 5000 \
		    -s "$SOURCES" -q 2>/dev/null | tail -n 1)
		echo "$(field conns_per_s "$a") $(field p99_us "$a")" \
		    "$(field completed "$a")"
		return
	fi
	"$LOADGEN" -p "$PA" -c $((CLIENTS / 2)) -d "$SECS" -T 5000 \
	    -s "$SOURCES" -q >"$TMP/a.out" 2>/dev/null &
	"$LOADGEN" -p "$PB" -c $((CLIENTS / 2)) -d "$SECS" -T 5000 \
	    -s "$SOURCES" -q >"$TMP/b.out" 2>/dev/null
	wait
	a=$(tail -n 1 "$TMP/a.out")
	b=$(tail -n 1 "$TMP/b.out")
	awk -v a1="$(field conns_per_s "$a")" -v a2="$(field p99_us "$a")" \
	    -v a3="$(field completed "$a")" -v b1="$(field conns_per_s "$b")" \
	    -v b2="$(field p99_us "$b")" -v b3="$(field completed "$b")" \
	    'BEGIN { printf "%.1f %d %d\n", a1 + b1, (a2 > b2 ? a2 : b2), a3 + b3 }'
}

measure() {
	local mode=$1 n=$2 ns=$3 r c0 out cps=() p99=() cpu=()
	[ "$mode" = floor ] && [ "$ns" != 1 ] && return	# one socket only
	start "$mode" "$n" "$ns" || return
	say "$mode, $n children, $ns socket(s): $RUNS x ${SECS}s"
	for ((r = 0; r < RUNS; r++)); do
		c0=$(group_cpu "$SRV_PID")
		read -r -a out <<<"$(run_load "$ns")"
		cps+=("${out[0]}")
		p99+=("${out[1]}")
		cpu+=("$(awk -v t="$(($(group_cpu "$SRV_PID") - c0))" \
		    -v k="${out[2]}" 'BEGIN {
		    if (k + 0 > 0) printf "%.1f", t / 1000 / k }')")
	done
	CPS[$mode,$n,$ns]=$(median "${cps[@]}")
	P99[$mode,$n,$ns]=$(median "${p99[@]}")
	CPU[$mode,$n,$ns]=$(median "${cpu[@]}")
	stop
}

private_kib() {
	awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
	    "/proc/$1/smaps_rollup" 2>/dev/null
}

# The default mode at the largest pool: the figures beyond throughput.
big_figures() {
	local n=$BIG t0 kids k tot=0 cnt=0 all=() i
	start none "$n" 1 || return
	FIG[big_start]=${FIG[start]}
	say "none, $n children: status, memory, TTIN, HUP, QUIT"
	"$LOADGEN" -p "$PA" -c "$CLIENTS" -n $((n * 2)) -s "$SOURCES" -q \
	    >/dev/null 2>&1	# every child has served: idle, not fresh
	for ((i = 0; i < 5; i++)); do
		t0=$(now_us)
		"$PFSD" status --status_socket "$SOCK" >/dev/null 2>&1
		all+=("$(($(now_us) - t0))")
	done
	FIG[status]=$(ms "$(median "${all[@]}")")
	FIG[rss]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
	kids=$(pgrep -P "$SRV_PID")
	all=()
	for k in $kids; do
		all+=("$(private_kib "$k")")
	done
	for k in "${all[@]}"; do
		tot=$((tot + k))
		cnt=$((cnt + 1))
	done
	FIG[kids_mib]=$(awk -v t="$tot" 'BEGIN { printf "%.1f", t / 1024 }')
	FIG[kid_kib]=$(median "${all[@]}")
	FIG[kids_n]=$cnt
	# max_servers may be at its maximum: one less first, then TTIN
	kill -TTOU "$SRV_PID"
	wait_idle $((n - 1))
	t0=$(now_us)
	kill -TTIN "$SRV_PID"
	wait_idle "$n" && FIG[ttin]=$(ms $(($(now_us) - t0)))
	t0=$(now_us)
	kill -HUP "$SRV_PID"	# the new generation has max_servers again
	wait_idle "$n" 1 && FIG[hup]=$(ms $(($(now_us) - t0)))
	t0=$(now_us)
	kill -QUIT "$SRV_PID"
	while pgrep -g "$SRV_PID" >/dev/null; do
		(($(now_us) - t0 > 60000000)) && break
		sleep 0.005
	done
	pgrep -g "$SRV_PID" >/dev/null || FIG[quit]=$(ms $(($(now_us) - t0)))
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}

val() { echo "${FIG[$1]:-n/a}"; }

report() {
	local mode n ns base base99
	echo "pfsd scale bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, Linux $(uname -r); load average at" \
	    "start: $LOAD0"
	echo "$CLIENTS clients (16 + 16 with two sockets), connection per" \
	    "request, medians of $RUNS runs of ${SECS}s"
	echo
	printf '%-10s %5s %3s %9s %6s %9s %7s %8s\n' mode children \
	    socks "conns/s" "x@8" "p99 us" "p99x@8" "cpu us/c"
	for mode in $MODES; do
		for ns in $SOCKETS; do
			[ "$mode" = floor ] && [ "$ns" != 1 ] && continue
			base=${CPS[$mode,${SIZES%% *},$ns]:-n/a}
			base99=${P99[$mode,${SIZES%% *},$ns]:-n/a}
			for n in $SIZES; do
				printf '%-10s %5s %3s %9.0f %6s %9s %7s %8s\n' \
				    "$mode" "$n" "$ns" \
				    "${CPS[$mode,$n,$ns]:-0}" \
				    "$(ratio "${CPS[$mode,$n,$ns]:-n/a}" "$base")" \
				    "${P99[$mode,$n,$ns]:-n/a}" \
				    "$(ratio "${P99[$mode,$n,$ns]:-n/a}" "$base99")" \
				    "${CPU[$mode,$n,$ns]:-n/a}"
			done
		done
	done
	echo
	echo "at $BIG children, serialize none (the default), one socket:"
	echo "  start-up to all children idle, ms: $(val big_start)"
	echo "  pfsd status (whole command, $BIG rows), median ms: $(val status)"
	echo "  TTIN to the new child idle, ms: $(val ttin)"
	echo "  HUP to every child of the new generation idle, ms: $(val hup)"
	echo "  QUIT to the last process gone, ms: $(val quit)"
	echo "  parent RSS, KiB: $(val rss)"
	echo "  idle children's private memory: $(val kids_mib) MiB in" \
	    "$(val kids_n) children (median $(val kid_kib) KiB)"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
[ -x "$PFSD" ] && [ -x "$LOADGEN" ] || { echo "scale: build first (make" \
    "bench)" >&2; exit 1; }
for mode in $MODES; do
	for ns in $SOCKETS; do
		for n in $SIZES; do
			measure "$mode" "$n" "$ns"
		done
	done
done
big_figures
mkdir -p "$OUT"
report | tee "$OUT/scale.txt"
