#!/bin/bash
# bench/run.sh - pfsd against its peers on this machine, in one run.
#
# Run by `make bench` (which builds daemon/pfsd, the handlers, bench/loadgen
# and bench/floor first).  Prints one table of medians and writes it to
# bench/out/latest.txt.  See bench/README.md for what each figure means.
#
# Environment: BENCH_SECS (seconds per load run, 2), BENCH_RUNS (runs per
# figure, 3), BENCH_CHILDREN (children per server, 8), BENCH_PORT (first
# loopback port, 21300), BENCH_NO_INSTALL=1 (never apt-get), BENCH_PFSD
# (the pfsd to measure, daemon/pfsd).
set -u
export LC_ALL=C

cd "$(dirname "$0")/.." || exit 1

LOADGEN=bench/loadgen
FLOOR=bench/floor
PFSD=${BENCH_PFSD:-daemon/pfsd}
NSECHO=bench/netserver_echo.pl
SECS=${BENCH_SECS:-2}
RUNS=${BENCH_RUNS:-3}
CHILDREN=${BENCH_CHILDREN:-8}
PORT=${BENCH_PORT:-21300}
LEVELS="1 32 256"
SOURCES=64		# client addresses, so that TIME_WAIT never limits
HUPS=20
T0=$SECONDS
OUT=bench/out

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pfsd-bench.XXXXXX") || exit 1
SERVERS=()		# every server started, by pid
SRV_PID=		# the one started last
POLICY_GUARD=		# a policy-rc.d this script put in place
declare -A CPS P99 ERRS	# "$row,$clients" -> median conns/s, p99; "$row"
declare -A CPU		# "$row" -> median server CPU us per connection at 32
declare -A FIG		# other figures by name
NOTES=()

# --- processes ------------------------------------------------------------

say() { printf 'bench: %3d s: %s\n' $((SECONDS - T0)) "$*" >&2; }

alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# launch NAME CMD...: start a server in the background, in a process group
# of its own (setsid: the shell's background child is no group leader, so
# it keeps its pid), logging to $TMP.
launch() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$TMP/$name.log" 2>&1 &
	SRV_PID=$!
	SERVERS+=("$SRV_PID")
}

# stop PID: TERM, wait up to 10 s, then KILL what is left of its group.
stop() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		alive "$pid" || break
		sleep 0.02
	done
	pgrep -g "$pid" >/dev/null 2>&1 && kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget "$pid"
	return 0
}

forget() {
	local keep=() p
	for p in "${SERVERS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	SERVERS=("${keep[@]}")
}

cleanup() {
	local pid
	for pid in "${SERVERS[@]}"; do
		[ -n "$pid" ] && stop "$pid"
	done
	[ -n "$POLICY_GUARD" ] && rm -f "$POLICY_GUARD"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The next free loopback port (nothing answering on it) into PORT.
next_port() {
	PORT=$((PORT + 1))
	while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
		PORT=$((PORT + 1))
	done
}

now_us() { echo "${EPOCHREALTIME/./}"; }
ms() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# wait_echo PORT [LIMIT_MS]: until the server started last echoes a line;
# fails early if it died.
wait_echo() {
	local port=$1 limit=${2:-15000} t0
	t0=$(now_us)
	while (($(now_us) - t0 < limit * 1000)); do
		"$LOADGEN" -p "$port" -w 250 -q >/dev/null 2>&1 && return 0
		alive "$SRV_PID" || return 1
	done
	return 1
}

# wait_port PORT: until something accepts on it (for the HTTP servers).
wait_port() {
	local i
	for ((i = 0; i < 750; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		alive "$SRV_PID" || return 1
		sleep 0.02
	done
	return 1
}

# unavailable NAME WHY: note (once) why a peer is n/a.
unavailable() {
	local n
	for n in "${NOTES[@]}"; do
		[ "$n" = "$1: n/a: $2" ] && return 1
	done
	NOTES+=("$1: n/a: $2")
	say "$1: n/a: $2"
	return 1
}

# failed NAME WHY: the server started last is n/a: note it, stop it.
failed() {
	local log="$TMP/$1.log" last=
	[ -s "$log" ] && last=$(tail -n 2 "$log" | tr '\n' ' ')
	stop "$SRV_PID"
	SRV_PID=
	unavailable "$1" "$2${last:+ (log: $last)}"
}

# --- peers ----------------------------------------------------------------

# Install the peers when root and missing; never fail the bench for them.
install_peers() {
	local want=() have=() p
	[ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 0
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 0
	perl -MNet::Server::PreForkSimple -e1 2>/dev/null ||
	    want+=(libnet-server-perl)
	command -v tcpserver >/dev/null || want+=(ucspi-tcp)
	command -v wrk >/dev/null || want+=(wrk)
	command -v nginx >/dev/null || want+=(nginx-light nginx)
	((${#want[@]})) || return 0
	say "installing peers: ${want[*]}"
	apt-get update -qq >/dev/null 2>&1
	for p in "${want[@]}"; do
		[[ $p = nginx && " ${have[*]} " = *" nginx-light "* ]] && continue
		apt-cache policy "$p" 2>/dev/null |
		    grep -q 'Candidate: [0-9]' && have+=("$p")
	done
	((${#have[@]})) || return 0
	# Install without starting the packaged daemons (nginx on port 80).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		POLICY_GUARD=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$POLICY_GUARD"
		chmod 755 "$POLICY_GUARD"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${have[@]}" >"$TMP/apt.log" 2>&1 ||
	    say "apt-get install ${have[*]} failed; missing peers are n/a"
	[ -n "$POLICY_GUARD" ] && rm -f "$POLICY_GUARD"
	POLICY_GUARD=
}

# The tree's pfsd finds its handlers in plugins/; another finds its own.
have_pfsd() {
	[ -x "$PFSD" ] || return 1
	[ "$PFSD" != daemon/pfsd ] || [ -f "plugins/${1:-echo}.so" ]
}
have_ns() { perl -MNet::Server::PreForkSimple -e1 2>/dev/null; }

# Each start_* starts one server on $PORT and waits until it answers.
start_floor() {
	launch floor "$FLOOR" -p "$PORT" -n "$CHILDREN"
	wait_echo "$PORT" || failed floor "did not answer"
}

# start_pfsd MODE [ARG...]
start_pfsd() {
	local mode=$1
	shift
	have_pfsd || { unavailable pfsd "$PFSD or plugins/echo.so not built";
	    return 1; }
	launch "pfsd-$mode" "$PFSD" --handler echo --port "127.0.0.1:$PORT" \
	    --max_servers "$CHILDREN" --serialize "$mode" \
	    --max_requests 100000 --log_level 1 "$@"
	wait_echo "$PORT" || failed "pfsd-$mode" "did not answer"
}

# start_ns SERIALIZE [ARG...]
start_ns() {
	local mode=$1
	shift
	have_ns || { unavailable Net::Server "not installed \
(libnet-server-perl)"; return 1; }
	launch "netserver-$mode" perl "$NSECHO" --port "127.0.0.1:$PORT" \
	    --max_servers "$CHILDREN" --serialize "$mode" \
	    --max_requests 100000 --log_level 1 "$@"
	wait_echo "$PORT" || failed "netserver-$mode" "did not answer"
}

# Fork per connection, at most $CHILDREN at once, the same echo (cat).
start_tcpserver() {
	command -v tcpserver >/dev/null || { unavailable tcpserver \
	    "not installed (ucspi-tcp)"; return 1; }
	launch tcpserver tcpserver -q -c "$CHILDREN" -b 4096 -H -R -l 0 \
	    127.0.0.1 "$PORT" cat
	wait_echo "$PORT" || failed tcpserver "did not answer"
}

# --- numbers --------------------------------------------------------------

# field KEY LINE: the value of KEY=value in loadgen's last line.
field() {
	local w
	for w in $2; do
		[ "${w%%=*}" = "$1" ] && { echo "${w#*=}"; return; }
	done
	echo n/a
}

median() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '
	    { a[NR] = $1 }
	    END { if (NR == 0) print "n/a"
		  else if (NR % 2) print a[(NR + 1) / 2]
		  else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ratio A B [FORMAT]
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
	    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "n/a"
	    else printf "%.2f\n", a / b }'
}

# --- figure: conns/s at 1, 32, 256 clients, p99 ---------------------------

loadgen_failed() {
	NOTES+=("$1, $2 clients: loadgen gave no result: \
$(tr '\n' ' ' <"$TMP/loadgen.err")")
	errs=$((errs + 1))
}

# group_cpu PGID: CPU ticks used by a server so far: every process of its
# process group, and the children its leader reaped (tcpserver's).
group_cpu() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" '
	    { pid = $1; sub(/^.*\) /, "")
	      if ($3 == g) t += $12 + $13
	      if (pid == g) t += $14 + $15 }
	    END { print t + 0 }'
}

# throughput ROW START...: medians over $RUNS runs at each level.
throughput() {
	local row=$1 r c line cps p99 errs=0 t0 all_cpu="" hz
	declare -A all_cps all_p99
	hz=$(getconf CLK_TCK)
	shift
	next_port
	if ! "$@"; then
		ERRS[$row]=n/a
		return
	fi
	say "$row: $RUNS x ($LEVELS clients) x ${SECS}s on port $PORT"
	for ((r = 1; r <= RUNS; r++)); do
		for c in $LEVELS; do
			t0=$(group_cpu "$SRV_PID")
			line=$("$LOADGEN" -p "$PORT" -c "$c" -d "$SECS" -T 5000 \
			    -s "$SOURCES" -q 2>"$TMP/loadgen.err" | tail -n 1)
			[ "$c" = 32 ] && all_cpu+=" $(awk -v t="$(( \
			    $(group_cpu "$SRV_PID") - t0))" -v hz="$hz" \
			    -v n="$(field completed "$line")" 'BEGIN {
			    if (n + 0 > 0) printf "%.1f", t * 1e6 / hz / n }')"
			cps=$(field conns_per_s "$line")
			p99=$(field p99_us "$line")
			[ "$cps" = n/a ] && loadgen_failed "$row" "$c"
			all_cps[$c]+=" $cps"
			all_p99[$c]+=" $p99"
			errs=$((errs + $(field errors "$line" | tr -dc 0-9) + 0))
		done
	done
	stop "$SRV_PID"
	for c in $LEVELS; do
		# shellcheck disable=SC2086
		CPS[$row,$c]=$(median ${all_cps[$c]})
		# shellcheck disable=SC2086
		P99[$row,$c]=$(median ${all_p99[$c]})
	done
	ERRS[$row]=$errs
	# shellcheck disable=SC2086
	CPU[$row]=$(median $all_cpu)
}

ROWS=("floor" "pfsd none" "pfsd flock" "pfsd semaphore" "pfsd pipe"
    "pfsd none+wd+st" "Net::Server flock" "Net::Server none" "tcpserver")

fig_throughput() {
	throughput "floor" start_floor
	throughput "pfsd none" start_pfsd none
	throughput "pfsd flock" start_pfsd flock
	throughput "pfsd semaphore" start_pfsd semaphore
	throughput "pfsd pipe" start_pfsd pipe
	# the watchdog (request_timeout) and the status socket switched on
	throughput "pfsd none+wd+st" start_pfsd none --request_timeout 30 \
	    --status_socket "$TMP/status.sock"
	throughput "Net::Server flock" start_ns flock
	throughput "Net::Server none" start_ns none
	throughput "tcpserver" start_tcpserver
}

# --- figure: status query latency under load ------------------------------

fig_status() {
	local sock=$TMP/status.sock lg t0 i all=""
	next_port
	start_pfsd none --request_timeout 30 --status_socket "$sock" || return
	say "status: pfsd status x 51 under 32-client load"
	"$LOADGEN" -p "$PORT" -c 32 -d $((SECS + 3)) -T 5000 -s "$SOURCES" \
	    -q >/dev/null 2>&1 &
	lg=$!
	for ((i = 0; i < 51; i++)); do	# odd: the median is one of them
		t0=$(now_us)
		"$PFSD" status --status_socket "$sock" >/dev/null 2>&1 || break
		all+=" $(($(now_us) - t0))"
	done
	wait "$lg"
	stop "$SRV_PID"
	# shellcheck disable=SC2086
	[ -n "$all" ] && FIG[status]=$(ms "$(median $all)")
}

# --- figure: idle memory and parent wakeups -------------------------------

# Private_Clean + Private_Dirty of a process, in KiB.
private_kib() {
	awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
	    "/proc/$1/smaps_rollup" 2>/dev/null
}

# child_kib PID: the median private memory of PID's children.
child_kib() {
	local kid all=()
	for kid in $(pgrep -P "$1"); do
		all+=("$(private_kib "$kid")")
	done
	median "${all[@]}"
}

ctxt() {
	awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s }' \
	    "/proc/$1/status" 2>/dev/null
}

# One idle window for every peer at once: memory, then parent wakeups.
fig_idle() {
	local name pids=() names=() before=() i
	for name in floor "pfsd" "Net::Server"; do
		next_port
		case $name in
		floor) start_floor || continue ;;
		pfsd) start_pfsd none || continue ;;
		*) start_ns flock || continue ;;
		esac
		# Serve a little first: an idle child is one that has worked.
		"$LOADGEN" -p "$PORT" -c "$CHILDREN" -n 400 -q >/dev/null 2>&1
		pids+=("$SRV_PID")
		names+=("$name")
	done
	say "idle: memory and 5 s of parent wakeups (${names[*]})"
	sleep 1
	for i in "${!pids[@]}"; do
		FIG[mem,${names[$i]}]=$(child_kib "${pids[$i]}")
		before[i]=$(ctxt "${pids[$i]}")
	done
	sleep 5
	for i in "${!pids[@]}"; do
		FIG[wake,${names[$i]}]=$(awk -v a="${before[$i]}" \
		    -v b="$(ctxt "${pids[$i]}")" 'BEGIN { printf "%.1f", (b - a) / 5 }')
		stop "${pids[$i]}"
	done
}

# --- figure: start to first served ----------------------------------------

# first_served NAME START...: ms from exec to the first echoed line.
first_served() {
	local name=$1 t0 t1
	shift
	next_port
	t0=$(now_us)
	if "$@"; then
		t1=$(now_us)
		FIG[start,$name]=$(ms $((t1 - t0)))
		stop "$SRV_PID"
	fi
}

fig_start() {
	local n
	say "start to first served, max_servers 50 and 1000"
	for n in 50 1000; do
		CHILDREN=$n first_served "pfsd,$n" start_pfsd none
		CHILDREN=$n first_served "ns,$n" start_ns flock
	done
}

# --- figure: TTIN and HUP to a new child serving --------------------------

# hold FDVAR: a connection whose line is echoed, so that one child is busy.
hold() {
	local fd line
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf 'hold\n' >&"$fd"
	read -r -t 5 -u "$fd" line
	printf -v "$1" %s "$fd"
	[ "$line" = hold ]
}

# With every child busy, only a new one can answer the probe.
fig_signals() {
	local a='' b='' t0 pid
	next_port
	CHILDREN=1 start_pfsd none || return
	pid=$SRV_PID
	say "TTIN and HUP to a new child serving"
	if hold a; then
		t0=$(now_us)
		kill -TTIN "$pid"
		"$LOADGEN" -p "$PORT" -w 10000 -q >/dev/null 2>&1 &&
		    FIG[ttin]=$(ms $(($(now_us) - t0)))
	fi
	if [ -n "${FIG[ttin]:-}" ] && hold b; then
		t0=$(now_us)
		kill -HUP "$pid"
		"$LOADGEN" -p "$PORT" -w 10000 -q >/dev/null 2>&1 &&
		    FIG[hup]=$(ms $(($(now_us) - t0)))
	fi
	[ -n "$a" ] && exec {a}>&-
	[ -n "$b" ] && exec {b}>&-
	stop "$pid"
}

# --- figure: 20 HUPs under load -------------------------------------------

# new_generation PID OLD: every child of PID is new (none in OLD).
new_generation() {
	local kids k
	kids=$(pgrep -P "$1")
	[ -n "$kids" ] || return 1
	for k in $kids; do
		[[ " $2 " = *" $k "* ]] && return 1
	done
	return 0
}

fig_hups() {
	local pid lg old t0 i waits=() line
	next_port
	start_pfsd none || return
	pid=$SRV_PID
	say "$HUPS HUPs under load (32 clients)"
	"$LOADGEN" -p "$PORT" -c 32 -d 120 -T 5000 -s "$SOURCES" -q \
	    >"$TMP/hup.out" 2>&1 &
	lg=$!
	sleep 0.5
	for ((i = 0; i < HUPS; i++)); do
		alive "$pid" || break
		old=" $(pgrep -P "$pid" | tr '\n' ' ')"
		t0=$(now_us)
		kill -HUP "$pid"
		# Up to 3 s for every old child to be gone.
		while (($(now_us) - t0 < 3000000)); do
			new_generation "$pid" "$old" && break
			alive "$pid" || break
			sleep 0.01
		done
		new_generation "$pid" "$old" &&
		    waits+=("$(ms $(($(now_us) - t0)))")
		sleep 0.25
	done
	kill -TERM "$lg" 2>/dev/null
	wait "$lg"
	line=$(tail -n 1 "$TMP/hup.out")
	FIG[hup_done]=$(field completed "$line")
	FIG[hup_errs]=$(field errors "$line")
	FIG[hup_kinds]="refused $(field refused "$line"), reset $(field reset \
"$line"), short $(field short "$line"), mismatch $(field mismatch "$line"), \
timeout $(field timeout "$line")"
	FIG[hup_gens]="${#waits[@]}/$HUPS"
	FIG[hup_wait]=$(median "${waits[@]}")
	if ! alive "$pid"; then
		FIG[hup_errs]="${FIG[hup_errs]}, pfsd died"
		unavailable "HUP under load" "pfsd died after $i HUPs"
	fi
	stop "$pid"
}

# --- figure: HTTP with wrk ------------------------------------------------

nginx_conf() {
	local d=$TMP/nginx
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	server {
		listen 127.0.0.1:$PORT;
		location / {
			default_type text/plain;
			return 200 "Hello, world!\n";
		}
	}
}
EOF
}

start_nginx() {
	command -v nginx >/dev/null || { unavailable nginx "not installed";
	    return 1; }
	nginx_conf
	launch nginx nginx -e "$TMP/nginx/error.log" -p "$TMP/nginx" \
	    -c "$TMP/nginx/nginx.conf"
	wait_port "$PORT" || failed nginx "did not listen"
}

start_pfsd_http() {
	have_pfsd http_hello || { unavailable "pfsd http_hello" \
	    "$PFSD or plugins/http_hello.so not built"; return 1; }
	launch pfsd-http "$PFSD" --handler http_hello \
	    --port "127.0.0.1:$PORT" --max_servers "$CHILDREN" \
	    --max_requests 100000 --log_level 1
	wait_port "$PORT" || failed pfsd-http "did not listen"
}

# http NAME START...: median wrk requests/s over $RUNS runs.
http() {
	local name=$1 r out all=() errs=
	shift
	command -v wrk >/dev/null || { unavailable wrk "not installed";
	    FIG[wrk,$name]=n/a; return; }
	next_port
	"$@" || { FIG[wrk,$name]=n/a; return; }
	say "wrk $name: $RUNS x 3 s"
	for ((r = 1; r <= RUNS; r++)); do
		out=$(wrk -t2 -c32 -d3s "http://127.0.0.1:$PORT/" 2>&1)
		all+=("$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")")
		errs=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' ' |
		    tr '\n' ';')
	done
	stop "$SRV_PID"
	FIG[wrk,$name]="$(fmt0 "$(median "${all[@]}")") req/s${errs:+ ($errs)}"
}

fig_http() {
	http pfsd start_pfsd_http
	http nginx start_nginx
}

# --- the report -----------------------------------------------------------

machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf '%s, %s CPUs, %s GiB, Linux %s\n' "${cpu:-unknown CPU}" \
	    "$(nproc)" "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' \
	    /proc/meminfo)" "$(uname -r)"
}

table() {
	local row c floor32 ns32
	floor32=${CPS[floor,32]:-n/a}
	ns32=${CPS[Net::Server flock,32]:-n/a}
	printf '%-18s %9s %9s %9s %10s %7s %7s %6s %9s\n' "peer / mode" \
	    "c=1/s" "c=32/s" "c=256/s" "p99@32 us" "xfloor" "xN::S" "errors" \
	    "cpu us/c"
	for row in "${ROWS[@]}"; do
		printf '%-18s' "$row"
		for c in $LEVELS; do
			printf ' %9s' "$(fmt0 "${CPS[$row,$c]:-n/a}")"
		done
		printf ' %10s %7s %7s %6s %9s\n' \
		    "$(fmt0 "${P99[$row,32]:-n/a}")" \
		    "$(ratio "${CPS[$row,32]:-n/a}" "$floor32")" \
		    "$(ratio "${CPS[$row,32]:-n/a}" "$ns32")" "${ERRS[$row]:-n/a}" \
		    "${CPU[$row]:-n/a}"
	done
}

fmt0() {
	[[ $1 =~ ^[0-9.]+$ ]] && printf '%.0f' "$1" || printf '%s' "$1"
}

val() { echo "${FIG[$1]:-n/a}"; }

figures() {
	echo
	echo "idle child private memory, KiB (Private_Clean+Private_Dirty," \
	    "median child): pfsd $(val mem,pfsd)," \
	    "Net::Server $(val mem,Net::Server), floor $(val mem,floor)"
	echo "parent wakeups/s while idle (context switches over 5 s):" \
	    "pfsd $(val wake,pfsd), Net::Server $(val wake,Net::Server)," \
	    "floor $(val wake,floor)"
	echo "start to first served, ms: max_servers 50: pfsd" \
	    "$(val start,pfsd,50), Net::Server $(val start,ns,50);" \
	    "max_servers 1000: pfsd $(val start,pfsd,1000)," \
	    "Net::Server $(val start,ns,1000)"
	echo "pfsd status under 32-client load (whole command, exec" \
	    "included), median ms: $(val status)"
	echo "TTIN to new child serving, ms: $(val ttin)"
	echo "HUP to new generation serving, ms: $(val hup)"
	echo "$HUPS HUPs ~250 ms apart under load (32 clients): completed" \
	    "$(val hup_done), errors $(val hup_errs) ($(val hup_kinds));" \
	    "new generation seen after $(val hup_gens) HUPs, median" \
	    "$(val hup_wait) ms"
	echo "wrk -t2 -c32 -d3s, fixed \"Hello, world!\": pfsd http_hello" \
	    "$(val wrk,pfsd); nginx $(val wrk,nginx)"
}

# target LABEL VALUE OP LIMIT: one line, ok or MISS (reported, not asserted)
target() {
	local verdict
	verdict=$(awk -v v="$2" -v op="$3" -v l="$4" 'BEGIN {
	    if (v == "n/a") { print "n/a"; exit }
	    if (v !~ /^[0-9.]+$/) { print "MISS"; exit }
	    ok = (op == ">=") ? v + 0 >= l + 0 : v + 0 <= l + 0
	    print ok ? "ok" : "MISS" }')
	printf '  %-56s %8s  %s\n' "$1 ($3 $4)" "$2" "$verdict"
}

targets() {
	local p=${CPS[pfsd none,32]:-n/a}
	printf '\ntargets (reported, not asserted; pfsd default serialize '
	printf '"none", 32 clients):\n'
	target "pfsd conns/s / floor" \
	    "$(ratio "$p" "${CPS[floor,32]:-n/a}")" ">=" 0.95
	target "pfsd conns/s / Net::Server (flock, its default)" \
	    "$(ratio "$p" "${CPS[Net::Server flock,32]:-n/a}")" ">=" 2.5
	# the client shares the 2 CPUs: server CPU per connection shows
	# what each server costs, whatever loadgen takes
	target "Net::Server CPU per conn / pfsd CPU per conn" \
	    "$(ratio "${CPU[Net::Server flock]:-n/a}" \
	    "${CPU[pfsd none]:-n/a}")" ">=" 2.5
	target "failures across $HUPS HUPs under load" \
	    "$(val hup_errs)" "<=" 0
	target "idle child private memory, KiB" "$(val mem,pfsd)" "<=" 128
	target "parent wakeups/s while idle" "$(val wake,pfsd)" "<=" 0
}

report() {
	printf 'pfsd bench, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'machine: %s\n' "$(machine)"
	printf 'command: %s (BENCH_SECS=%s BENCH_RUNS=%s BENCH_CHILDREN=%s)\n' \
	    "$COMMAND" "$SECS" "$RUNS" "$CHILDREN"
	printf 'loadgen and the servers share the CPUs; loadgen -s %s\n' \
	    "$SOURCES"
	printf 'conns/s: connection per request, one line echoed, closed loop; '
	printf 'medians of %s runs of %s s; %s children each\n\n' "$RUNS" \
	    "$SECS" "$CHILDREN"
	table
	figures
	targets
	if ((${#NOTES[@]})); then
		printf '\nnotes:\n'
		printf '  %s\n' "${NOTES[@]}"
	fi
}

FIGURES="idle throughput status start signals hups http"

# main [FIGURE...]: all figures, or only those named.
main() {
	local f
	for f in "$LOADGEN" "$FLOOR"; do
		[ -x "$f" ] || { echo "bench: $f not built (make bench)" >&2;
		    exit 1; }
	done
	for f in "$@"; do
		[[ " $FIGURES " = *" $f "* ]] || { echo "usage: bench/run.sh \
[$FIGURES]" >&2; exit 2; }
	done
	COMMAND="bench/run.sh${*:+ $*}"
	[ -n "${MAKELEVEL:-}" ] && [ $# -eq 0 ] && COMMAND="make bench"
	install_peers
	# shellcheck disable=SC2086
	(($#)) || set -- $FIGURES
	for f in "$@"; do
		"fig_$f"
	done
	mkdir -p "$OUT"
	report >"$OUT/latest.txt"
	printf '\n'
	cat "$OUT/latest.txt"
	say "done; table in $OUT/latest.txt"
}

main "$@"
