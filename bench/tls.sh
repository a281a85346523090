#!/usr/bin/env bash
# bench/tls.sh - TLS: pfsd against nginx and Net::Server, one run, one
# certificate (ECDSA P-256), the same machine.
#
#   bench/tls.sh [SECONDS] [RUNS]       (make bench runs it after run.sh)
#
# Interleaved, medians of RUNS (3) runs of SECONDS (3) each, 32 clients:
#   new          bench/tlsload: a full TLS 1.3 handshake per connection,
#                "GET /", read to the end, close
#   resumed      the same, resuming the thread's last session (tickets)
#   keep-alive   wrk over TLS, 2 threads, 32 connections (pfsd, nginx);
#                "pfsd-stdio" is tests/plugins/http_stdio.so, which uses
#                stdin/stdout, so its bytes pass through pfsd's relay
#                (http_hello uses pfsd_read/pfsd_write: no relay)
# Servers: pfsd (http_hello, port /ssl, 8 children; 32 for keep-alive, one
# per connection), nginx-light (return 200, 2 workers),
# Net::Server::PreFork proto ssl (8 children).  Server
# CPU per connection is the servers' utime+stime (children included) over
# the run divided by its connections: the client shares the two CPUs, so
# that, not the rate, is the fair comparison of the handshake's cost.
set -u
cd "$(dirname "$0")/.."

SECS=${1:-3}
RUNS=${2:-3}
TMP=$(mktemp -d /tmp/pfsd-bench-tls.XXXXXX)
PIDS=()
TCK=$(getconf CLK_TCK)

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench/tls.sh: nothing listens on $1" >&2
	exit 1
}

# CPU ticks of a server: itself, its reaped children, its live children.
cpu() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{
		pid = $1
		sub(/^[0-9]+ \(.*\) /, "")
		if ($2 == p) t += $12 + $13
		if (pid == p) t += $12 + $13 + $14 + $15
	} END { print t + 0 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$TMP/key.pem" 2>/dev/null
openssl req -x509 -new -key "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj /CN=localhost 2>/dev/null

P_PFSD=$(free_port); P_NGINX=$(free_port); P_NS=$(free_port)
setsid daemon/pfsd --handler=http_hello --port="127.0.0.1:$P_PFSD/ssl" \
    --SSL_cert_file="$TMP/cert.pem" --SSL_key_file="$TMP/key.pem" \
    --max_servers=8 --max_requests=1000000 --log_level=1 \
    >"$TMP/pfsd.log" 2>&1 &
PIDS+=($!); PID_PFSD=$!
# keep-alive: prefork serves one connection per child, so as many
# children as wrk keeps connections
P_PFSD32=$(free_port)
setsid daemon/pfsd --handler=http_hello --port="127.0.0.1:$P_PFSD32/ssl" \
    --SSL_cert_file="$TMP/cert.pem" --SSL_key_file="$TMP/key.pem" \
    --max_servers=32 --max_requests=1000000 --log_level=1 \
    >"$TMP/pfsd32.log" 2>&1 &
PIDS+=($!)
P_STDIO=$(free_port)
setsid daemon/pfsd --handler="$PWD/tests/plugins/http_stdio.so" \
    --port="127.0.0.1:$P_STDIO/ssl" \
    --SSL_cert_file="$TMP/cert.pem" --SSL_key_file="$TMP/key.pem" \
    --max_servers=32 --max_requests=1000000 --log_level=1 \
    >"$TMP/pfsd-stdio.log" 2>&1 &
PIDS+=($!)
cat >"$TMP/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$P_NGINX ssl;
		ssl_certificate $TMP/cert.pem;
		ssl_certificate_key $TMP/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		keepalive_requests 1000000;
		location / { return 200 "Hello, world!\n"; }
	}
}
NGX
setsid nginx -c "$TMP/nginx.conf" -e "$TMP/nginx.err" >/dev/null 2>&1 &
PIDS+=($!); PID_NGINX=$!
setsid perl bench/netserver_tls.pl "$P_NS" "$TMP/cert.pem" "$TMP/key.pem" 8 \
    >"$TMP/ns.log" 2>&1 &
PIDS+=($!); PID_NS=$!
wait_port "$P_PFSD"; wait_port "$P_PFSD32"; wait_port "$P_STDIO"
wait_port "$P_NGINX"
wait_port "$P_NS"
sleep 1		# Net::Server forks its children after it listens

declare -A RATE CPUC
measure() {	# NAME PID PORT MODE(-r or "")
	local t0 t1 out n
	t0=$(cpu "$2")
	out=$(bench/tlsload $4 -p "$3" -c 32 -t "$SECS")
	t1=$(cpu "$2")
	n=$(sed -n 's/.*conns=\([0-9]*\).*/\1/p' <<<"$out")
	case $out in *errors=0*) ;; *) echo "bench/tls.sh: $1 $4: $out" >&2;; esac
	RATE[$1$4]+="$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out") "
	CPUC[$1$4]+="$(( (t1 - t0) * 1000000 / TCK / (n > 0 ? n : 1) )) "
}
declare -A WRK
keepalive() {	# NAME PORT
	WRK[$1]+="$(wrk -t2 -c32 -d"${SECS}s" "https://127.0.0.1:$2/" |
	    sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p') "
}

for r in $(seq "$RUNS"); do
	for mode in "" -r; do
		measure pfsd "$PID_PFSD" "$P_PFSD" "$mode"
		measure nginx "$PID_NGINX" "$P_NGINX" "$mode"
		measure netserver "$PID_NS" "$P_NS" "$mode"
	done
	keepalive pfsd "$P_PFSD32"
	keepalive pfsd-stdio "$P_STDIO"
	keepalive nginx "$P_NGINX"
done

# Private memory of the idle pfsd children that have served TLS (the
# 8-child pool, idle since the handshake runs): median and largest.
MEMS=()
for c in $(pgrep -P "$PID_PFSD"); do
	MEMS+=("$(awk '/^Private_(Clean|Dirty):/ { k += $2 } END { print k }' \
	    "/proc/$c/smaps_rollup" 2>/dev/null)")
done
MEM=$(printf '%s\n' "${MEMS[@]}" | grep . | median)
MEM_MAX=$(printf '%s\n' "${MEMS[@]}" | grep . | sort -n | tail -n 1)

med() { tr ' ' '\n' | grep . | median; }
printf '\nTLS (%s runs of %s s, 32 clients; medians)\n' "$RUNS" "$SECS"
printf '%-10s %12s %14s %12s %14s %14s\n' server "new hs/s" "CPU us/new" \
    "resumed/s" "CPU us/resumed" "keep-alive r/s"
m() { [ -n "${1:-}" ] && med <<<"$1" || echo -; }
for s in pfsd pfsd-stdio nginx netserver; do
	printf '%-10s %12s %14s %12s %14s %14s\n' "$s" \
	    "$(m "${RATE[$s]:-}")" "$(m "${CPUC[$s]:-}")" \
	    "$(m "${RATE[$s-r]:-}")" "$(m "${CPUC[$s-r]:-}")" \
	    "$(m "${WRK[$s]:-}")"
done
printf 'idle pfsd children after TLS: median %s KiB private, largest %s\n' \
    "${MEM:-?}" "${MEM_MAX:-?}"
