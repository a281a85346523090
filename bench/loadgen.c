/*
 * loadgen - closed-loop load generator for line-echo servers.
 *
 *   loadgen [-u PATH | -h HOST -p PORT] -c CONCURRENCY (-d SECONDS | -n COUNT)
 *           [-k REQS_PER_CONN] [-m MESSAGE] [-T TIMEOUT_MS] [-t THREADS]
 *           [-s SOURCES] [-w WAIT_MS] [-P] [-q]
 *
 * CONCURRENCY connections are always in flight: each connects, sends one
 * line, reads it back, checks it is the same, and closes (or does -k lines
 * on one connection first); then the slot starts over at once.  The slots
 * are spread over -t epoll loops (default: one per CPU, at most one per
 * slot), so that the client costs the same small amount of CPU per request
 * whatever the server, and can use every core like the server does.
 *
 * -P starts every connection with a PROXY protocol v1 header, as a load
 * balancer would (the server must take it off: proxy_protocol).
 *
 * -s spreads the connections over SOURCES client addresses 127.0.0.1 ..
 * 127.0.0.SOURCES.  With one address, a run of tens of thousands of
 * connections a second fills the 28k ephemeral ports with TIME_WAIT sockets
 * (the client closes first) and connect() itself becomes the bottleneck:
 * every server then looks alike.
 *
 * The last line on stdout is machine-readable:
 *   completed=N errors=E refused=R reset=S mismatch=M conns_per_s=X
 *   p50_us=.. p99_us=.. max_us=.. short=.. timeout=.. other=..
 *   reqs_per_s=.. elapsed_s=..
 * Exit status: 0 when errors == 0 and completed > 0, 1 otherwise, 2 for a
 * usage error.  With -w, the run stops at the first answered request, the
 * errors before it are not failures and ready_ms= tells how long it took.
 *
 * Targets are restricted to loopback addresses and UNIX sockets: this is a
 * benchmark for a server on the same machine.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LG_MSG_MAX	4096
#define LG_CONC_MAX	16384
#define LG_THREADS_MAX	64
#define LG_PAUSE_NS	1000000ULL	/* after an error, before retrying */
#define LG_EVENTS	64
#define LG_SOURCES_MAX	254

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

/* Latency histogram: exact below 128 us, then 128 buckets per power of 2. */
#define H_SUB_BITS	7
#define H_SUB		(1U << H_SUB_BITS)
#define H_MAX_BITS	40
#define H_BUCKETS	((H_MAX_BITS - H_SUB_BITS + 1) * H_SUB)

enum lg_kind {
	LG_REFUSED,
	LG_RESET,
	LG_MISMATCH,
	LG_SHORT,
	LG_TIMEOUT,
	LG_OTHER,
	LG_NKINDS
};

static const char *lg_kind_names[LG_NKINDS] = {
	"refused", "reset", "mismatch", "short", "timeout", "other"
};

enum lg_state {
	LG_IDLE,		/* no connection: start one */
	LG_CONNECTING,
	LG_SENDING,
	LG_READING,
	LG_BACKLOG,		/* connect said EAGAIN: retry at wake */
	LG_PAUSED,		/* after an error, until wake */
	LG_FINISHED		/* no more work for this slot */
};

enum lg_step {
	LG_STEP_AGAIN,		/* state changed: keep driving */
	LG_STEP_BLOCK		/* wait for the next event or tick */
};

struct lg_opts {
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	const char		*target;
	long			 conc;
	double			 duration;	/* seconds; 0: none */
	long			 count;		/* connections; 0: none */
	long			 per_conn;
	char			 msg[LG_MSG_MAX + 2];
	size_t			 msglen;
	long			 timeout_ms;
	long			 threads;
	long			 wait_ms;	/* -w; 0: off */
	long			 sources;	/* client addresses (-s) */
	int			 quiet;
	int			 proxy;		/* -P */
	char			 first[LG_MSG_MAX + 128];	/* header+msg */
	size_t			 firstlen;
};

struct lg_worker;

struct lg_conn {
	struct lg_worker	*w;
	int			 fd;
	enum lg_state		 state;
	long			 lines;		/* done on this connection */
	size_t			 off;		/* bytes sent or read so far */
	uint64_t		 t_req;		/* start of this request, ns */
	uint64_t		 deadline;	/* this operation fails after */
	uint64_t		 wake;		/* end of a pause or retry */
	char			 buf[LG_MSG_MAX + 3];
};

struct lg_worker {
	pthread_t		 thread;
	int			 ep;
	struct lg_conn		*conns;
	long			 nconns;
	long			 active;	/* slots not LG_FINISHED */
	uint64_t		 completed;	/* requests */
	uint64_t		 conns_done;	/* whole connections */
	uint64_t		 errors[LG_NKINDS];
	uint64_t		 max_ns;
	uint64_t		*hist;
	unsigned long		 next_source;
	int			 waiting;	/* a slot is paused */
};

static struct lg_opts		 lg_o;
static uint64_t			 lg_start_ns;
static uint64_t			 lg_end_ns;	/* UINT64_MAX: no duration */
static atomic_long		 lg_issued;	/* connections started (-n) */
static atomic_int		 lg_stop;
static _Atomic uint64_t		 lg_first_ok;	/* -w: first answer, ns */
static atomic_int		 lg_said[LG_NKINDS];
static volatile sig_atomic_t	 lg_signalled;

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen [-u PATH | -h HOST -p PORT] "
	    "-c CONCURRENCY (-d SECONDS | -n COUNT)\n"
	    "               [-k REQS_PER_CONN] [-m MESSAGE] [-T TIMEOUT_MS] "
	    "[-t THREADS]\n"
	    "               [-s SOURCES] [-w WAIT_MS] [-P] [-q]\n");
	exit(2);
}

static void
die_usage(const char *opt, const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", opt, what);
	exit(2);
}

static uint64_t
lg_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* --- histogram ----------------------------------------------------------- */

static unsigned
hist_index(uint64_t v)
{
	unsigned	e, shift;

	if (v >= (1ULL << H_MAX_BITS))
		v = (1ULL << H_MAX_BITS) - 1;
	if (v < H_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	shift = e - H_SUB_BITS;
	return (shift + 1) * H_SUB + (unsigned)((v >> shift) - H_SUB);
}

/* The middle of a bucket, as the value reported for it. */
static uint64_t
hist_value(unsigned idx)
{
	unsigned	shift;
	uint64_t	low;

	if (idx < H_SUB)
		return idx;
	shift = idx / H_SUB - 1;
	low = (uint64_t)(H_SUB + idx % H_SUB) << shift;
	return low + ((1ULL << shift) - 1) / 2;
}

/* The smallest value at or below which a fraction q of the samples lie. */
static uint64_t
hist_quantile(const uint64_t *h, uint64_t total, double q, uint64_t max)
{
	uint64_t	want, seen = 0, v;
	unsigned	i;

	if (total == 0)
		return 0;
	want = (uint64_t)(q * (double)total + 0.999999);
	if (want == 0)
		want = 1;
	for (i = 0; i < H_BUCKETS; i++) {
		seen += h[i];
		if (seen >= want)
			break;
	}
	v = hist_value(i < H_BUCKETS ? i : H_BUCKETS - 1);
	return v > max ? max : v;
}

/* --- one connection ------------------------------------------------------ */

static enum lg_kind
lg_classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
	case ENOENT:		/* UNIX socket not there (yet) */
		return LG_REFUSED;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return LG_RESET;
	case ETIMEDOUT:
		return LG_TIMEOUT;
	default:
		return LG_OTHER;
	}
}

/* Count an error, tell the first of each kind, pause the slot. */
static enum lg_step
lg_fail(struct lg_conn *c, enum lg_kind kind, const char *what, int err)
{
	if (!lg_o.quiet && lg_o.wait_ms == 0 &&
	    atomic_exchange(&lg_said[kind], 1) == 0)
		fprintf(stderr, "loadgen: first %s error: %s%s%s\n",
		    lg_kind_names[kind], what, err ? ": " : "",
		    err ? strerror(err) : "");
	c->w->errors[kind]++;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = LG_PAUSED;
	c->wake = lg_now() + LG_PAUSE_NS;
	c->w->waiting = 1;
	return LG_STEP_BLOCK;
}

static int
lg_more_work(void)
{
	if (atomic_load(&lg_stop))
		return 0;
	if (lg_o.count > 0 && atomic_fetch_add(&lg_issued, 1) >= lg_o.count)
		return 0;
	return 1;
}

/* Bind to the next client address of -s; the port is chosen at connect. */
static int
lg_bind_source(struct lg_conn *c)
{
	struct sockaddr_in	src;
	int			one = 1;
	unsigned long		n;

	n = c->w->next_source++ % (unsigned long)lg_o.sources;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)n);
	if (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one)) == -1)
		return -1;
	return bind(c->fd, (struct sockaddr *)&src, sizeof(src));
}

/* Open the connection of a slot and start connecting. */
static enum lg_step
lg_open(struct lg_conn *c)
{
	struct epoll_event	ev;
	int			r;

	c->off = 0;
	c->fd = socket(lg_o.addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1)
		return lg_fail(c, LG_OTHER, "socket", errno);
	if (lg_o.sources > 1 && lg_bind_source(c) == -1)
		return lg_fail(c, LG_OTHER, "bind", errno);
	r = connect(c->fd, (struct sockaddr *)&lg_o.addr, lg_o.addrlen);
	if (r == -1 && errno == EAGAIN) {
		/* A UNIX listener's backlog is full: retry until -T. */
		close(c->fd);
		c->fd = -1;
		c->state = LG_BACKLOG;
		c->wake = lg_now() + LG_PAUSE_NS;
		c->w->waiting = 1;
		return LG_STEP_BLOCK;
	}
	if (r == -1 && errno != EINPROGRESS)
		return lg_fail(c, lg_classify(errno), "connect", errno);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = c;
	if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		return lg_fail(c, LG_OTHER, "epoll_ctl", errno);
	c->state = r == 0 ? LG_SENDING : LG_CONNECTING;
	return r == 0 ? LG_STEP_AGAIN : LG_STEP_BLOCK;
}

/* Start the next connection of a slot, or finish the slot. */
static enum lg_step
lg_start(struct lg_conn *c)
{
	if (!lg_more_work()) {
		c->state = LG_FINISHED;
		c->w->active--;
		return LG_STEP_BLOCK;
	}
	c->t_req = lg_now();
	c->deadline = c->t_req + (uint64_t)lg_o.timeout_ms * 1000000ULL;
	c->lines = 0;
	return lg_open(c);
}

static enum lg_step
lg_connected(struct lg_conn *c, uint32_t events)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
		return LG_STEP_BLOCK;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0)
		return lg_fail(c, lg_classify(err), "connect", err);
	c->state = LG_SENDING;
	c->deadline = lg_now() + (uint64_t)lg_o.timeout_ms * 1000000ULL;
	return LG_STEP_AGAIN;
}

static enum lg_step
lg_send(struct lg_conn *c)
{
	const char	*b = lg_o.msg;
	size_t		 len = lg_o.msglen;
	ssize_t		 n;

	if (lg_o.proxy && c->lines == 0) {	/* the header goes first */
		b = lg_o.first;
		len = lg_o.firstlen;
	}
	n = send(c->fd, b + c->off, len - c->off, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return LG_STEP_BLOCK;
		return lg_fail(c, lg_classify(errno), "send", errno);
	}
	c->off += (size_t)n;
	if (c->off < len)
		return LG_STEP_AGAIN;
	c->off = 0;
	c->state = LG_READING;
	c->deadline = lg_now() + (uint64_t)lg_o.timeout_ms * 1000000ULL;
	return LG_STEP_AGAIN;
}

/* A request answered in full: count it, go on with the connection or end it. */
static enum lg_step
lg_answered(struct lg_conn *c)
{
	struct lg_worker	*w = c->w;
	uint64_t		 now = lg_now(), ns = now - c->t_req;

	w->completed++;
	w->hist[hist_index(ns / 1000)]++;
	if (ns > w->max_ns)
		w->max_ns = ns;
	if (lg_o.wait_ms > 0 && atomic_exchange(&lg_stop, 1) == 0)
		atomic_store(&lg_first_ok, now);
	if (++c->lines < lg_o.per_conn && !atomic_load(&lg_stop)) {
		c->t_req = now;
		c->off = 0;
		c->state = LG_SENDING;
		c->deadline = now + (uint64_t)lg_o.timeout_ms * 1000000ULL;
		return LG_STEP_AGAIN;
	}
	close(c->fd);
	c->fd = -1;
	w->conns_done++;
	c->state = LG_IDLE;
	return LG_STEP_AGAIN;
}

static enum lg_step
lg_recv(struct lg_conn *c)
{
	ssize_t	n;

	n = read(c->fd, c->buf + c->off, lg_o.msglen + 1 - c->off);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return LG_STEP_BLOCK;
		return lg_fail(c, lg_classify(errno), "read", errno);
	}
	if (n == 0)
		return lg_fail(c, LG_SHORT, "connection closed before the "
		    "whole line came back", 0);
	if (c->off + (size_t)n > lg_o.msglen ||
	    memcmp(c->buf + c->off, lg_o.msg + c->off, (size_t)n) != 0)
		return lg_fail(c, LG_MISMATCH, "the answer differs from "
		    "the line sent", 0);
	c->off += (size_t)n;
	if (c->off < lg_o.msglen)
		return LG_STEP_AGAIN;
	return lg_answered(c);
}

/* Run a slot's state machine as far as it goes without blocking. */
static void
lg_drive(struct lg_conn *c, uint32_t events)
{
	enum lg_step	step = LG_STEP_AGAIN;

	while (step == LG_STEP_AGAIN) {
		switch (c->state) {
		case LG_IDLE:
			step = lg_start(c);
			events = 0;
			break;
		case LG_CONNECTING:
			step = lg_connected(c, events);
			break;
		case LG_SENDING:
			step = lg_send(c);
			break;
		case LG_READING:
			step = lg_recv(c);
			break;
		default:
			return;
		}
	}
}

/* --- the worker loops ---------------------------------------------------- */

/* Fail operations past their deadline, restart paused slots. */
static int
lg_tick(struct lg_worker *w, uint64_t now)
{
	struct lg_conn	*c;
	long		 i;
	int		 waiting = 0;

	for (i = 0; i < w->nconns; i++) {
		c = &w->conns[i];
		switch (c->state) {
		case LG_FINISHED:
		case LG_IDLE:
			break;
		case LG_PAUSED:
			waiting = 1;
			if (now < c->wake)
				break;
			c->state = LG_IDLE;
			lg_drive(c, 0);
			break;
		case LG_BACKLOG:
			waiting = 1;
			if (now >= c->deadline)
				lg_fail(c, LG_TIMEOUT, "connect: backlog full "
				    "for -T", 0);
			else if (now >= c->wake && lg_open(c) == LG_STEP_AGAIN)
				lg_drive(c, 0);
			break;
		default:
			if (now >= c->deadline)
				lg_fail(c, LG_TIMEOUT, "no answer within -T", 0);
		}
	}
	return waiting;
}

static int
lg_worker_done(struct lg_worker *w, uint64_t now)
{
	if (lg_signalled || now >= lg_end_ns)
		atomic_store(&lg_stop, 1);
	if (atomic_load(&lg_stop))
		return 1;
	return w->active == 0;
}

static void *
lg_worker_main(void *arg)
{
	struct lg_worker	*w = arg;
	struct epoll_event	 evs[LG_EVENTS];
	uint64_t		 now, next_tick = 0;
	int			 n, i;
	long			 j;

	for (j = 0; j < w->nconns; j++)
		lg_drive(&w->conns[j], 0);
	for (;;) {
		n = epoll_wait(w->ep, evs, LG_EVENTS, w->waiting ? 1 : 10);
		for (i = 0; i < n; i++)
			lg_drive(evs[i].data.ptr, evs[i].events);
		now = lg_now();
		if (lg_worker_done(w, now))
			break;
		if (now >= next_tick || w->waiting) {
			w->waiting = 0;
			w->waiting |= lg_tick(w, now);
			next_tick = now + 1000000ULL;
		}
	}
	for (j = 0; j < w->nconns; j++)
		if (w->conns[j].fd != -1)
			close(w->conns[j].fd);
	return NULL;
}

/* --- options ------------------------------------------------------------- */

static long
lg_number(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "loadgen: %s: \"%s\" is not an integer from "
		    "%ld to %ld\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

/* Only loopback: the benchmark talks to a server on this machine. */
static void
lg_set_inet(const char *host, long port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&lg_o.addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&lg_o.addr;

	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	memset(&lg_o.addr, 0, sizeof(lg_o.addr));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			die_usage("-h", "only loopback addresses (127.0.0.0/8, "
			    "::1) are allowed");
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		lg_o.addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			die_usage("-h", "only loopback addresses (127.0.0.0/8, "
			    "::1) are allowed");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		lg_o.addrlen = sizeof(*sin6);
	} else
		die_usage("-h", "not a numeric loopback address or localhost");
}

static void
lg_set_unix(const char *path)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&lg_o.addr;

	if (strlen(path) >= sizeof(sun->sun_path))
		die_usage("-u", "path too long for a UNIX socket");
	memset(&lg_o.addr, 0, sizeof(lg_o.addr));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	lg_o.addrlen = sizeof(*sun);
}

static void
lg_set_message(const char *m)
{
	size_t	len = strlen(m);

	if (len > 0 && m[len - 1] == '\n')
		len--;
	if (len > LG_MSG_MAX)
		die_usage("-m", "message longer than 4096 bytes");
	if (memchr(m, '\n', len) != NULL)
		die_usage("-m", "the message must be one line");
	memcpy(lg_o.msg, m, len);
	lg_o.msg[len] = '\n';
	lg_o.msglen = len + 1;
}

static void
lg_defaults(void)
{
	long	cpus = sysconf(_SC_NPROCESSORS_ONLN);

	lg_o.per_conn = 1;
	lg_o.sources = 1;
	lg_o.timeout_ms = 5000;
	lg_o.threads = cpus > 0 ? cpus : 1;
	lg_set_message("hello");
}

static void
lg_check(const char *host, long port, const char *path, int have_t)
{
	static char	target[PATH_MAX + 64];

	if (path != NULL && (host != NULL || port != -1))
		die_usage("-u", "give either -u or -h/-p, not both");
	if (path == NULL && port == -1)
		die_usage("-p", "a port (or -u PATH) is required");
	if (lg_o.wait_ms > 0)
		lg_o.conc = 1;
	if (lg_o.conc == 0)
		die_usage("-c", "the concurrency is required");
	if (lg_o.duration == 0 && lg_o.count == 0 && lg_o.wait_ms == 0)
		die_usage("-d", "a duration (-d) or a count (-n) is required");
	if (lg_o.wait_ms > 0)
		lg_o.duration = (double)lg_o.wait_ms / 1000.0;
	if (lg_o.wait_ms > 0 && lg_o.timeout_ms > lg_o.wait_ms)
		lg_o.timeout_ms = lg_o.wait_ms;
	if (!have_t && lg_o.threads > lg_o.conc)
		lg_o.threads = lg_o.conc;
	if (lg_o.threads > lg_o.conc)
		die_usage("-t", "more threads than clients");
	if (path != NULL)
		lg_set_unix(path);
	else
		lg_set_inet(host != NULL ? host : "127.0.0.1", port);
	if (lg_o.sources > 1 && lg_o.addr.ss_family != AF_INET)
		die_usage("-s", "several client addresses need an IPv4 target");
	if (path != NULL)
		snprintf(target, sizeof(target), "%s", path);
	else
		snprintf(target, sizeof(target), "%s:%ld",
		    host != NULL ? host : "127.0.0.1", port);
	lg_o.target = target;
}

static double
lg_seconds(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
		die_usage("-d", "not a number of seconds in (0, 86400]");
	return v;
}

static void
lg_options(int argc, char **argv)
{
	const char	*host = NULL, *path = NULL;
	long		 port = -1;
	int		 ch, have_t = 0;

	lg_defaults();
	while ((ch = getopt(argc, argv, "c:d:h:k:m:n:p:Pqs:T:t:u:w:")) != -1) {
		switch (ch) {
		case 'c':
			lg_o.conc = lg_number("-c", optarg, 1, LG_CONC_MAX);
			break;
		case 'd':
			lg_o.duration = lg_seconds(optarg);
			break;
		case 'h':
			host = optarg;
			break;
		case 'k':
			lg_o.per_conn = lg_number("-k", optarg, 1, LONG_MAX);
			break;
		case 'm':
			lg_set_message(optarg);
			break;
		case 'n':
			lg_o.count = lg_number("-n", optarg, 1, LONG_MAX);
			break;
		case 'p':
			port = lg_number("-p", optarg, 1, 65535);
			break;
		case 'P':
			lg_o.proxy = 1;
			break;
		case 'q':
			lg_o.quiet = 1;
			break;
		case 's':
			lg_o.sources = lg_number("-s", optarg, 1,
			    LG_SOURCES_MAX);
			break;
		case 'T':
			lg_o.timeout_ms = lg_number("-T", optarg, 1, 3600000);
			break;
		case 't':
			lg_o.threads = lg_number("-t", optarg, 1,
			    LG_THREADS_MAX);
			have_t = 1;
			break;
		case 'u':
			path = optarg;
			break;
		case 'w':
			lg_o.wait_ms = lg_number("-w", optarg, 1, 3600000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	lg_check(host, port, path, have_t);
	lg_o.firstlen = (size_t)snprintf(lg_o.first, sizeof(lg_o.first),
	    "PROXY TCP4 192.0.2.1 127.0.0.1 4242 80\r\n%.*s",
	    (int)lg_o.msglen, lg_o.msg);
}

/* --- running and reporting ----------------------------------------------- */

static void
lg_on_signal(int sig)
{
	(void)sig;
	lg_signalled = 1;
}

static void
lg_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lg_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Enough descriptors for every slot, if the hard limit allows. */
static void
lg_rlimit(void)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)lg_o.conc + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void *
lg_calloc(size_t n, size_t size)
{
	void	*p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	return p;
}

static void
lg_worker_init(struct lg_worker *w, long first, long n,
    struct lg_conn *conns)
{
	long	i;

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep == -1) {
		perror("loadgen: epoll_create1");
		exit(1);
	}
	w->conns = conns + first;
	w->nconns = n;
	w->active = n;
	w->hist = lg_calloc(H_BUCKETS, sizeof(*w->hist));
	for (i = 0; i < n; i++) {
		w->conns[i].w = w;
		w->conns[i].fd = -1;
		w->conns[i].state = LG_IDLE;
	}
}

/* Start the workers with the signals blocked: only main takes them. */
static void
lg_run(struct lg_worker *ws, long nw)
{
	struct lg_conn	*conns = lg_calloc((size_t)lg_o.conc, sizeof(*conns));
	sigset_t	 all, old;
	long		 i, first = 0, n;
	int		 r;

	for (i = 0; i < nw; i++) {
		n = lg_o.conc / nw + (i < lg_o.conc % nw);
		lg_worker_init(&ws[i], first, n, conns);
		ws[i].next_source = (unsigned long)first;
		first += n;
	}
	sigemptyset(&all);
	sigaddset(&all, SIGINT);
	sigaddset(&all, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	lg_start_ns = lg_now();
	lg_end_ns = lg_o.duration > 0 ? lg_start_ns +
	    (uint64_t)(lg_o.duration * 1e9) : UINT64_MAX;
	for (i = 0; i < nw; i++) {
		r = pthread_create(&ws[i].thread, NULL, lg_worker_main, &ws[i]);
		if (r != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(r));
			exit(1);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < nw; i++)
		pthread_join(ws[i].thread, NULL);
}

struct lg_total {
	uint64_t	completed, conns, errors, max_ns;
	uint64_t	kinds[LG_NKINDS];
	uint64_t	hist[H_BUCKETS];
	double		elapsed;
};

static void
lg_sum(struct lg_worker *ws, long nw, struct lg_total *t)
{
	long		i;
	unsigned	b, k;

	for (i = 0; i < nw; i++) {
		t->completed += ws[i].completed;
		t->conns += ws[i].conns_done;
		if (ws[i].max_ns > t->max_ns)
			t->max_ns = ws[i].max_ns;
		for (k = 0; k < LG_NKINDS; k++)
			t->kinds[k] += ws[i].errors[k];
		for (b = 0; b < H_BUCKETS; b++)
			t->hist[b] += ws[i].hist[b];
	}
	for (k = 0; k < LG_NKINDS; k++)
		t->errors += t->kinds[k];
	t->elapsed = (double)(lg_now() - lg_start_ns) / 1e9;
	if (lg_o.duration > 0 && t->elapsed > lg_o.duration)
		t->elapsed = lg_o.duration;	/* the measured window */
	if (lg_o.wait_ms > 0 && t->completed > 0)
		t->elapsed = (double)(atomic_load(&lg_first_ok) -
		    lg_start_ns) / 1e9;
}

static void
lg_report(const struct lg_total *t)
{
	uint64_t	max_us = t->max_ns / 1000;
	uint64_t	p50 = hist_quantile(t->hist, t->completed, 0.50, max_us);
	uint64_t	p99 = hist_quantile(t->hist, t->completed, 0.99, max_us);
	double		el = t->elapsed > 0 ? t->elapsed : 1e-9;

	if (!lg_o.quiet)
		fprintf(stderr, "loadgen: %s, %ld clients, %.2f s: %llu "
		    "completed, %llu errors, %.0f conns/s, p50 %llu us, "
		    "p99 %llu us, max %llu us\n", lg_o.target, lg_o.conc, el,
		    (unsigned long long)t->completed,
		    (unsigned long long)t->errors, (double)t->conns / el,
		    (unsigned long long)p50, (unsigned long long)p99,
		    (unsigned long long)max_us);
	printf("completed=%llu errors=%llu refused=%llu reset=%llu "
	    "mismatch=%llu conns_per_s=%.1f p50_us=%llu p99_us=%llu "
	    "max_us=%llu short=%llu timeout=%llu other=%llu reqs_per_s=%.1f "
	    "elapsed_s=%.3f", (unsigned long long)t->completed,
	    (unsigned long long)t->errors,
	    (unsigned long long)t->kinds[LG_REFUSED],
	    (unsigned long long)t->kinds[LG_RESET],
	    (unsigned long long)t->kinds[LG_MISMATCH], (double)t->conns / el,
	    (unsigned long long)p50, (unsigned long long)p99,
	    (unsigned long long)max_us, (unsigned long long)t->kinds[LG_SHORT],
	    (unsigned long long)t->kinds[LG_TIMEOUT],
	    (unsigned long long)t->kinds[LG_OTHER],
	    (double)t->completed / el, t->elapsed);
	if (lg_o.wait_ms > 0)
		printf(" ready_ms=%.1f", t->completed > 0 ?
		    t->elapsed * 1000.0 : -1.0);
	printf("\n");
}

static void
lg_free(struct lg_worker *ws, long nw)
{
	long	i;

	free(ws[0].conns);	/* the first worker's slots start the array */
	for (i = 0; i < nw; i++) {
		close(ws[i].ep);
		free(ws[i].hist);
	}
	free(ws);
}

int
main(int argc, char **argv)
{
	struct lg_worker	*ws;
	struct lg_total		*t;
	int			 status;

	lg_options(argc, argv);
	lg_signals();
	lg_rlimit();
	ws = lg_calloc((size_t)lg_o.threads, sizeof(*ws));
	t = lg_calloc(1, sizeof(*t));
	lg_run(ws, lg_o.threads);
	lg_sum(ws, lg_o.threads, t);
	lg_report(t);
	if (lg_o.wait_ms > 0)
		status = t->completed > 0 ? 0 : 1;
	else
		status = t->errors == 0 && t->completed > 0 ? 0 : 1;
	lg_free(ws, lg_o.threads);
	free(t);
	return status;
}
