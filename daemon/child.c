/*
 * child.c - a child of the pool: accept (serialized), serve, repeat.
 *
 * The hot path is: [lock] accept4 [unlock] dup2 dup2 close, the handler,
 * fflush, dup2 dup2.  No allocation, no extra syscall when no hook, rule or
 * log level asks for one.
 *
 * Stopping without dropping a connection: the parent (or the kernel, when
 * the parent dies: PR_SET_PDEATHSIG) sends SIGHUP.  The handler only sets
 * a flag and, when the child is idle, puts /dev/null over the descriptors
 * it may be blocked on, so that the restarted accept/poll/read fails at
 * once.  A connection accepted in the same instant is still served before
 * exit.  While a request is served, SIGHUP, SIGQUIT and SIGUSR1 are
 * blocked: SA_RESTART does not restart sleep(), poll(), select() or a read
 * with SO_RCVTIMEO, and a reload must be invisible to a running request.
 */
#include "internal.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#define DGRAM_MAX		65536

static struct {
	struct pfsd_server	*srv;
	sigset_t		 lifecycle;	/* blocked while serving */
	struct slot		*slot;
	volatile sig_atomic_t	 retire;
	volatile sig_atomic_t	 idle;
	volatile sig_atomic_t	 reopen;
	volatile int		 req_fd;	/* the client, while served */
	volatile int		 net_fd;	/* and its TLS socket */
	int			 null_fd;
	struct pollfd		*pfds;		/* lock modes: the listeners */
	char			*dgram;
	int			 proxy_mode;	/* PROXY_V1|PROXY_V2, or 0 */
} ch = { .null_fd = -1, .req_fd = -1, .net_fd = -1 };

/* Async-signal-safe: make every wait of an idle child return at once. */
static void
wake_up(void)
{
	ser_interrupt(&ch.srv->ser, ch.srv->ls, ch.srv->nls, ch.null_fd);
	standby_interrupt(ch.srv);
}

/* HUP/QUIT: told to go (the slot says so, unless a request runs). */
static void
on_retire(int sig)
{
	int	saved = errno;

	ch.retire = 1;
	if (ch.slot != NULL && ch.slot->state != SLOT_BUSY)
		ch.slot->state = SLOT_RETIRING;
	if (ch.idle)
		wake_up();
	errno = saved;
}


/*
 * TERM/INT: a fast stop that still runs child_finish_hook, as
 * Net::Server's does.  An idle child is woken as by HUP; a busy one has
 * its client shut down, so that the handler's reads and writes fail and
 * it returns.  A second signal (or the parent's SIGKILL a second later,
 * for a handler that does not return) ends the child at once.
 */
static void
on_term(int sig)
{
	struct sigaction	sa;
	int			saved = errno;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ch.retire = 1;
	if (ch.idle)
		wake_up();
	else if (ch.req_fd != -1) {
		shutdown(ch.req_fd, SHUT_RDWR);
		if (ch.net_fd != -1)	/* a handler in pfsd_read over TLS */
			shutdown(ch.net_fd, SHUT_RDWR);
	}
	errno = saved;
}

static void
on_reopen(int sig)
{
	ch.reopen = 1;
}

static void
set_signal(int sig, void (*fn)(int))
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* Signal state of a child: the parent's handlers undone, then unblocked. */
static void
child_signals(struct pfsd_server *srv)
{
	sigset_t	all;

	set_signal(SIGHUP, on_retire);
	set_signal(SIGQUIT, on_retire);
	set_signal(SIGUSR1, on_reopen);
	/* a dequeue child has no client to cut short: TERM ends it */
	set_signal(SIGTERM, srv->dequeue ? SIG_DFL : on_term);
	set_signal(SIGINT, srv->dequeue ? SIG_DFL : on_term);
	set_signal(SIGCHLD, SIG_DFL);
	set_signal(SIGPIPE, SIG_IGN);
	set_signal(SIGTTIN, SIG_IGN);
	set_signal(SIGTTOU, SIG_IGN);
	set_signal(SIGUSR2, SIG_IGN);
	sigpass_child(&srv->sigpass);
	sigemptyset(&ch.lifecycle);
	sigaddset(&ch.lifecycle, SIGHUP);
	sigaddset(&ch.lifecycle, SIGQUIT);
	sigaddset(&ch.lifecycle, SIGUSR1);
#if defined(HAVE_SYS_PRCTL_H) && HAVE_DECL_PR_SET_PDEATHSIG
	prctl(PR_SET_PDEATHSIG, SIGHUP);
#endif
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (getppid() != srv->ppid)	/* died before prctl took effect */
		ch.retire = 1;
}

/* Per-child resources: /dev/null, lock, UDP buffers, poll set. */
static int
child_resources(struct pfsd_server *srv, char *err, size_t errlen)
{
	size_t	i, udp = 0;

	ch.null_fd = srv->devnull;	/* opened before any chroot */
	if (ser_child_init(&srv->ser, srv->ls, srv->nls, err, errlen) == -1)
		return -1;
	for (i = 0; i < srv->nls; i++)
		udp += srv->ls[i].proto == PFSD_PROTO_UDP;
	if (udp > 0 && ((srv->memfd_in = memfd_create("pfsd-in",
	    MFD_CLOEXEC)) == -1 || (srv->memfd_out = memfd_create("pfsd-out",
	    MFD_CLOEXEC)) == -1 ||
	    (ch.dgram = malloc(DGRAM_MAX)) == NULL)) {
		snprintf(err, errlen, "datagram buffers: %s", strerror(errno));
		return -1;
	}
	if ((!ser_wakes_one(&srv->ser) || standby_on(srv)) &&
	    (ch.pfds = calloc(srv->nls, sizeof(*ch.pfds))) == NULL) {
		snprintf(err, errlen, "calloc: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < srv->nls && ch.pfds != NULL; i++) {
		ch.pfds[i].fd = srv->ls[i].fd;
		ch.pfds[i].events = POLLIN;
	}
	return 0;
}

static unsigned long
child_max_requests(const struct pfsd_server *srv)
{
	unsigned long	max = (unsigned long)conf_num(srv->conf,
			    OPT_MAX_REQUESTS);
	long		jitter = conf_num(srv->conf, OPT_MAX_REQUESTS_JITTER);

	if (jitter > 0) {
		srandom((unsigned int)getpid() ^ (unsigned int)now_ms());
		max += (unsigned long)(random() % (jitter + 1));
	}
	return max;
}

/* proxy_protocol: off, on (either version), v1, v2. */
static int
child_proxy_mode(const struct pfsd_server *srv)
{
	static const int	modes[] = { 0, PROXY_V1 | PROXY_V2, PROXY_V1,
				    PROXY_V2 };
	long			i = conf_num(srv->conf, OPT_PROXY_PROTOCOL);

	return i >= 0 && i < (long)nitems(modes) ? modes[i] : 0;
}

/*
 * sched_policy batch: a child woken by a client does not preempt the
 * process running on that CPU (often another child, or the client
 * itself) but runs when it yields, so a busy pool switches far less
 * (docs/DESIGN.md, "CPU scheduling").  Only the normal policy is
 * changed: a real-time or idle policy set by the operator (chrt,
 * systemd's CPUSchedulingPolicy=) is theirs.
 */
static void
child_sched(const struct pfsd_server *srv)
{
	struct sched_param	sp;

	if (conf_num(srv->conf, OPT_SCHED_POLICY) != 0 ||
	    sched_getscheduler(0) != SCHED_OTHER)
		return;
	memset(&sp, 0, sizeof(sp));
	if (sched_setscheduler(0, SCHED_BATCH, &sp) == -1)
		log_msg(PFSD_LOG_INFO, "sched_policy batch: %s; the child "
		    "keeps the normal policy", strerror(errno));
}

static void
child_setup(struct pfsd_server *srv, int slot)
{
	char	err[ERRBUF_SIZE];

	ch.srv = srv;
	ch.slot = &srv->sb.slots[slot];
	srv->is_child = 1;
	srv->slot = slot;
	srv->served = 0;
	srv->memfd_in = srv->memfd_out = -1;
	child_signals(srv);
	child_sched(srv);
	if (child_resources(srv, err, sizeof(err)) == -1) {
		log_msg(PFSD_LOG_ERR, "child: %s", err);
		_exit(CHILD_EXIT_INIT);
	}
	srv->max_requests = child_max_requests(srv);
	ch.proxy_mode = child_proxy_mode(srv);
	setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
	proctitle_child(srv);
}

static void
accept_failed(int err)
{
	static long long	last;
	static struct log_limit	lim;	/* a broken socket fails in a loop */

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		if (now_ms() - last > 1000) {
			last = now_ms();
			log_msg(PFSD_LOG_ERR, "accept: %s; retrying",
			    strerror(err));
		}
		poll(NULL, 0, 50);	/* let descriptors free up */
	} else if (err == EINVAL)
		ch.retire = 1;	/* shut by a graceful stop: no more clients */
	else if (!ch.retire && err != EINTR && err != EAGAIN &&
	    err != ECONNABORTED && err != EPROTO)
		log_limited(&lim, err, PFSD_LOG_ERR, "accept: %s",
		    strerror(err));
}

/*
 * A UNIX listener the parent shut at a graceful stop stays readable (the
 * kernel reports the shutdown), yet has nothing to accept; a lost race
 * looks the same to accept(), so ask.  Only on that rare path.
 */
static int
listener_shut(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLRDHUP);
}

/* Take one connection (or datagram) from listener l into req. */
static int
child_take(struct pfsd_server *srv, struct listener *l,
    struct pfsd_request *req)
{
	size_t	len;
	ssize_t	n;

	req->l = l;
	req->peerlen = sizeof(req->peer);
	if (l->proto == PFSD_PROTO_UDP) {
		/* udp_recv_len and udp_recv_flags, as Net::Server's recv() */
		len = (size_t)conf_num(srv->conf, OPT_UDP_RECV_LEN);
		n = recvfrom(l->fd, ch.dgram, len,
		    (int)conf_num(srv->conf, OPT_UDP_RECV_FLAGS) | MSG_DONTWAIT,
		    (struct sockaddr *)&req->peer, &req->peerlen);
		req->fd = n < 0 ? -1 : l->fd;
		req->dgram = ch.dgram;		/* pfsd_request_data() */
		/* MSG_TRUNC returns the datagram's whole length */
		req->dgram_len = n < 0 ? 0 : (size_t)n > len ? len : (size_t)n;
	} else {
		/* an unnamed UNIX peer gets only its family written */
		((struct sockaddr_un *)&req->peer)->sun_path[0] = '\0';
		req->fd = accept4(l->fd, (struct sockaddr *)&req->peer,
		    &req->peerlen, SOCK_CLOEXEC);
	}
	if (req->fd == -1) {
		if (errno == EAGAIN && l->proto == PFSD_PROTO_UNIX &&
		    listener_shut(l->fd))
			ch.retire = 1;	/* shut by a graceful stop */
		else
			accept_failed(errno);
		return -1;
	}
	standby_taken(srv);
	if (req->peer.ss_family == AF_UNSPEC || req->peerlen == 0)
		req->peer.ss_family = (sa_family_t)l->family;
	/* a UNIX peer's path may fill sun_path without a NUL */
	if (req->peerlen < sizeof(req->peer))
		((char *)&req->peer)[req->peerlen] = '\0';
	return 0;
}

/*
 * none: the kernel may have chosen this child for a connection in the
 * instant it was told to go; take what is queued rather than leave it
 * until the next connection wakes another child.
 */
static int
child_take_last(struct pfsd_server *srv, struct pfsd_request *req)
{
	size_t	i;

	if (!ser_wakes_one(&srv->ser))
		return -1;
	for (i = 0; i < srv->nls; i++)
		if (child_take(srv, &srv->ls[i], req) == 0)
			return 0;
	return -1;
}

/*
 * Idle for CHILD_TRIM_MS since its last request (standby_enter and
 * child_wait wait that long first): give back what the request left
 * behind -- the TLS relay thread, the deep part of the stack, the free
 * pages of the heap -- so an idle child costs about what a fresh one
 * does.  Once per idle spell: a busy child never pays for it.  Only the
 * lock modes' waits for the lock itself (fcntl, semop, a pipe's read)
 * go without.
 */
void
child_trim(struct pfsd_server *srv)
{
	tls_trim();
	malloc_trim(0);
	stack_trim();		/* last: what the others wrote goes too */
	srv->trim_due = 0;
}

/* Serialize, wait for a client, unserialize.  0 with req filled. */
static int
child_wait(struct pfsd_server *srv, struct pfsd_request *req)
{
	int	i, rc;

	ch.slot->state = SLOT_IDLE;
	ch.idle = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (ch.retire || ser_acquire(&srv->ser, &ch.slot->token) == -1) {
		ch.idle = 0;
		if (errno == EIDRM || errno == EINVAL || errno == EBADF)
			ch.retire = 1;	/* the generation's lock is gone */
		return -1;
	}
	/* none: stand by while another idle child waits on the sockets */
	rc = standby_enter(srv, ch.pfds, &i, &ch.retire);
	ch.slot->state = SLOT_ACCEPTING;
	if (rc == 1)
		rc = 0;		/* a client was queued */
	else if (rc == 0) {
		standby_wait_begin(srv, ch.slot);
		rc = ser_wait(&srv->ser, ch.pfds, srv->nls,
		    srv->trim_due ? CHILD_TRIM_MS : -1, &i);
		if (rc == 1) {
			child_trim(srv);
			rc = ser_wait(&srv->ser, ch.pfds, srv->nls, -1, &i);
		}
		standby_wait_end(srv, ch.slot);
	}
	if (rc == 0)
		rc = child_take(srv, &srv->ls[i], req);
	else if (ch.retire)
		rc = child_take_last(srv, req);
	ch.idle = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ser_release(&srv->ser, &ch.slot->token);
	return rc;
}

static void
attach_dgram(struct pfsd_server *srv, struct pfsd_request *req)
{
	if (ftruncate(srv->memfd_in, 0) == -1 ||
	    pwrite(srv->memfd_in, ch.dgram, req->dgram_len, 0) !=
	    (ssize_t)req->dgram_len || ftruncate(srv->memfd_out, 0) == -1)
		log_warn("datagram stdio");
	lseek(srv->memfd_in, 0, SEEK_SET);
	lseek(srv->memfd_out, 0, SEEK_SET);
	dup2(srv->memfd_in, STDIN_FILENO);
	dup2(srv->memfd_out, STDOUT_FILENO);
}

/* stdin/stdout become the client (or the datagram and its reply). */
static void
attach_stdio(struct pfsd_server *srv, struct pfsd_request *req)
{
	if (conf_num(srv->conf, OPT_NO_CLIENT_STDOUT))
		return;
	if (req->l->proto == PFSD_PROTO_UDP) {
		attach_dgram(srv, req);
		return;
	}
	dup2(req->fd, STDIN_FILENO);
	dup2(req->fd, STDOUT_FILENO);
}

/* The peer, escaped for a log line (a UNIX peer names itself). */
static const char *
log_peer(struct pfsd_request *req, char *buf, size_t len)
{
	log_escape(buf, len, pfsd_peer_addr(req), strlen(pfsd_peer_addr(req)));
	return buf;
}

static void
send_reply(struct pfsd_server *srv, struct pfsd_request *req)
{
	char	peer[128];
	ssize_t	n;

	n = pread(srv->memfd_out, ch.dgram, DGRAM_MAX - 29, 0);
	if (n > 0 && sendto(req->fd, ch.dgram, (size_t)n, 0,
	    (struct sockaddr *)&req->peer, req->peerlen) == -1)
		log_info("reply to %s: %s", log_peer(req, peer, sizeof(peer)),
		    strerror(errno));
}

/*
 * Flush what the handler wrote (unless the client was denied: it gets
 * nothing, a denied datagram no reply) and forget what it did not read.
 */
static void
detach_stdio(struct pfsd_server *srv, struct pfsd_request *req, int send)
{
	if (!send)
		__fpurge(stdout);
	fflush(stdout);
	__fpurge(stdout);
	__fpurge(stdin);
	clearerr(stdout);
	clearerr(stdin);
	if (conf_num(srv->conf, OPT_NO_CLIENT_STDOUT))
		return;
	if (req->l->proto == PFSD_PROTO_UDP && send)
		send_reply(srv, req);
	dup2(ch.null_fd, STDIN_FILENO);
	dup2(ch.null_fd, STDOUT_FILENO);
}

/*
 * A handler that fclose()d stdin or stdout has ruined the stream for
 * every later request of this child (glibc cannot reopen it on the same
 * descriptor): the child leaves after this request and a fresh one
 * takes its place.
 */
static void
stdio_check(struct pfsd_server *srv)
{
	if (fileno(stdin) >= 0 && fileno(stdout) >= 0)
		return;
	log_msg(PFSD_LOG_WARNING, "handler %s closed its standard %s; child "
	    "%ld leaves after this request", srv->plugin.name,
	    fileno(stdin) < 0 ? "input" : "output", (long)getpid());
	ch.retire = 1;
}

/*
 * A denied client gets nothing, whatever request_denied_hook prints:
 * stdout is line-buffered, so purging it afterwards would be too late.
 */
static void
discard_output(struct pfsd_server *srv, struct pfsd_request *req)
{
	__fpurge(stdout);
	if (!conf_num(srv->conf, OPT_NO_CLIENT_STDOUT) &&
	    req->l->proto != PFSD_PROTO_UDP)
		dup2(ch.null_fd, STDOUT_FILENO);
}

static int
request_allowed(struct pfsd_server *srv, struct pfsd_request *req)
{
	struct plugin	*p = &srv->plugin;
	const char	*host = NULL;

	if (req->peer.ss_family != AF_UNIX && !access_empty(srv->acl)) {
		if (access_wants_hostname(srv->acl))
			host = pfsd_peer_host(req);
		if (!access_check(srv->acl, (struct sockaddr *)&req->peer,
		    pfsd_peer_addr(req), host))
			return 0;
	}
	return p->allow_deny_hook == NULL || p->allow_deny_hook(req) != 0;
}

static void
log_connection(struct pfsd_request *req, int allowed)
{
	char	peer[128];

	log_msg(PFSD_LOG_INFO, "%s %s port %d on %s%s",
	    req->l->proto == PFSD_PROTO_UDP ? "datagram from" :
	    "connection from", log_peer(req, peer, sizeof(peer)),
	    pfsd_peer_port(req), req->l->name,
	    allowed ? "" : ": denied");
}

/*
 * Behind a balancer: take its PROXY header off the connection, and make
 * the client it names the peer from here on.  0 to serve; -1 when the
 * connection was refused and closed (one log line naming the peer).
 */
static int
child_proxy(struct pfsd_server *srv, struct pfsd_request *req)
{
	struct proxy_hdr	h;
	char			err[ERRBUF_SIZE], peer[128];

	if (!cidr_set_match(srv->proxy_allow, (struct sockaddr *)&req->peer))
		snprintf(err, sizeof(err), "not a balancer in proxy_allow");
	else if (proxy_read(req->fd, ch.proxy_mode, (int)conf_num(srv->conf,
	    OPT_PROXY_TIMEOUT) * 1000, &h, err, sizeof(err)) == 0) {
		memcpy(&req->proxy, &req->peer, sizeof(req->proxy));
		req->proxylen = req->peerlen;
		if (!h.local) {
			memcpy(&req->peer, &h.src, sizeof(req->peer));
			req->peerlen = h.srclen;
		}
		return 0;
	}
	log_escape(peer, sizeof(peer), pfsd_peer_addr(req),
	    strlen(pfsd_peer_addr(req)));
	log_msg(PFSD_LOG_NOTICE, "connection from %s port %d on %s closed: "
	    "%s", peer, pfsd_peer_port(req), req->l->name, err);
	close(req->fd);
	return -1;
}

/* How many children may be on their last request at the same time. */
static int
retire_cap(const struct pfsd_server *srv)
{
	return srv->max_servers / 10 > 2 ? (int)(srv->max_servers / 10) : 2;
}

/* The request flow for one client (pfsd-plugin(3) lists the order). */
static void
child_request(struct pfsd_server *srv, struct pfsd_request *req,
    long long t0)
{
	struct plugin	*p = &srv->plugin;
	long long	 us;
	int		 allowed, rc = 0;

	req->have_addr = req->have_host = req->have_local = 0;
	req->proxylen = 0;
	req->rcv_ms = req->snd_ms = -1;
	if (ch.proxy_mode != 0 && req->l->proto != PFSD_PROTO_UDP &&
	    child_proxy(srv, req) == -1)
		return;
	memcpy(&ch.slot->peer, &req->peer, sizeof(ch.slot->peer));
	proctitle_busy(pfsd_peer_addr(req), pfsd_peer_port(req));
	if (req->l->tls && tls_accept(srv, req) == -1) {
		close(req->fd);		/* logged; costs only this client */
		return;
	}
	ch.slot->served = ++srv->served;
	if (srv->served == srv->max_requests) {
		/* the replacement starts while this last request is served */
		if (scoreboard_may_retire(&srv->sb, srv->slot, retire_cap(srv)))
			kill(srv->ppid, SIGUSR2);
		else
			srv->max_requests++;	/* too many at once: later */
	}
	if (req->l->proto != PFSD_PROTO_UDP) {
		ch.net_fd = req->tls != NULL ? req->net_fd : -1;
		ch.req_fd = req->fd;
	}
	attach_stdio(srv, req);
	if (p->post_accept_hook != NULL)
		p->post_accept_hook(req);
	req->allowed = allowed = request_allowed(srv, req);
	if (log_level() >= PFSD_LOG_INFO)
		log_connection(req, allowed);
	if (!allowed)
		discard_output(srv, req);
	if (allowed)
		rc = p->process_request(req);
	else if (p->request_denied_hook != NULL)
		p->request_denied_hook(req);
	if (p->post_process_request_hook != NULL)
		p->post_process_request_hook(req);
	detach_stdio(srv, req, allowed);
	us = now_us() - t0;
	metrics_request(ch.slot, allowed, (unsigned long long)us);
	if (accesslog_on())
		accesslog_request(req, us, allowed, rc);
	stdio_check(srv);
	if (req->l->proto != PFSD_PROTO_UDP) {
		ch.req_fd = ch.net_fd = -1;
		close(req->fd);
		req->fd = -1;	/* for post_client_connection_hook */
	}
	if (req->tls != NULL)
		tls_end(req);	/* the relay finishes, close_notify */
	if (p->post_client_connection_hook != NULL)
		p->post_client_connection_hook(req);
}

/*
 * One client, from accept to close.  HUP, QUIT and USR1 stay blocked the
 * whole time, whichever way the request ends, so a reload never cuts a
 * handler short; what came meanwhile acts when it is done.
 */
static void
child_serve(struct pfsd_server *srv, struct pfsd_request *req)
{
	long long	t0;

	sigprocmask(SIG_BLOCK, &ch.lifecycle, NULL);
	if (ch.reopen) {	/* USR1 came while we waited */
		ch.reopen = 0;
		log_reopen();
		accesslog_reopen();
	}
	ch.slot->state = SLOT_BUSY;
	t0 = now_us();
	ch.slot->req_start_ms = t0 / 1000;
	child_request(srv, req, t0);
	srv->trim_due = 1;
	proctitle_idle();
	ch.slot->req_start_ms = 0;
	sigprocmask(SIG_UNBLOCK, &ch.lifecycle, NULL);	/* what came, acts */
}

__attribute__((noreturn)) static void
child_exit(struct pfsd_server *srv, int code)
{
	ch.slot->state = SLOT_RETIRING;
	if (srv->plugin.child_finish_hook != NULL)
		srv->plugin.child_finish_hook(srv);
	log_debug("child %ld leaving after %lu requests", (long)getpid(),
	    srv->served);
	fflush(stdout);
	_exit(code);
}

/* Run a child of the pool in slot; never returns. */
void
child_main(struct pfsd_server *srv, int slot)
{
	struct pfsd_request	req;

	memset(&req, 0, sizeof(req));
	req.srv = srv;
	child_setup(srv, slot);
	if (srv->plugin.child_init_hook != NULL &&
	    srv->plugin.child_init_hook(srv) != 0) {
		log_msg(PFSD_LOG_ERR, "child_init_hook failed in child %ld",
		    (long)getpid());
		_exit(CHILD_EXIT_INIT);
	}
	while (!ch.retire && !srv->done && srv->served < srv->max_requests) {
		if (child_wait(srv, &req) == 0)
			child_serve(srv, &req);
	}
	child_exit(srv, 0);
}

/*
 * A dequeue child: run_dequeue once, between child_init_hook and
 * child_finish_hook as in Net::Server (pfsd_child_kind() tells the hooks
 * which kind of child runs them), then exit.
 */
void
dequeue_main(struct pfsd_server *srv, int slot)
{
	ch.srv = srv;
	ch.slot = &srv->sb.slots[slot];
	srv->is_child = 1;
	srv->dequeue = 1;
	ch.slot->state = SLOT_DEQUEUE;
	if (conf_num(srv->conf, OPT_PROCESS_TITLES)) {
		proctitle_name("pfsd dequeue");
		proctitle_set("pfsd: dequeue gen %u", srv->generation);
	}
	child_signals(srv);
	child_sched(srv);
	if (srv->plugin.child_init_hook != NULL &&
	    srv->plugin.child_init_hook(srv) != 0) {
		log_msg(PFSD_LOG_ERR, "child_init_hook failed in dequeue "
		    "child %ld", (long)getpid());
		_exit(CHILD_EXIT_INIT);
	}
	if (srv->plugin.run_dequeue != NULL)
		srv->plugin.run_dequeue(srv);
	if (srv->plugin.child_finish_hook != NULL)
		srv->plugin.child_finish_hook(srv);
	fflush(stdout);
	_exit(0);
}

/*
 * A graceful stop's drain child: serve the share (drain_index, every
 * drain_step-th) of the connections the parent took from the accept
 * queues before closing them (see parent.c), then exit.  It accepts
 * nothing itself.
 */
void
drain_main(struct pfsd_server *srv, int slot)
{
	struct pfsd_request	 req;
	struct drained		*d;
	size_t			 i;

	memset(&req, 0, sizeof(req));
	req.srv = srv;
	ch.srv = srv;
	ch.slot = &srv->sb.slots[slot];
	ch.null_fd = srv->devnull;
	srv->is_child = 1;
	srv->slot = slot;
	srv->served = 0;
	srv->memfd_in = srv->memfd_out = -1;
	srv->max_requests = (unsigned long)-1;
	child_signals(srv);
	child_sched(srv);
	ch.proxy_mode = child_proxy_mode(srv);
	setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
	for (i = 0; i < srv->ndrain; i++)	/* the others' are not ours */
		if (i % srv->drain_step != srv->drain_index)
			close(srv->drain[i].fd);
	if (srv->plugin.child_init_hook != NULL &&
	    srv->plugin.child_init_hook(srv) != 0)
		_exit(CHILD_EXIT_INIT);
	for (i = srv->drain_index; i < srv->ndrain && !srv->done;
	    i += srv->drain_step) {
		d = &srv->drain[i];
		req.l = &srv->ls[d->l];
		req.fd = d->fd;
		req.peerlen = d->len;
		memcpy(&req.peer, &d->peer, sizeof(req.peer));
		if (req.peer.ss_family == AF_UNSPEC || req.peerlen == 0)
			req.peer.ss_family = (sa_family_t)req.l->family;
		if (req.peerlen < sizeof(req.peer))
			((char *)&req.peer)[req.peerlen] = '\0';
		child_serve(srv, &req);
	}
	child_exit(srv, 0);
}
