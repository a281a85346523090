/*
 * parent.c - the parent: keeps max_servers children, acts on signals.
 *
 * Signal handlers only write the signal number into a self-pipe; the loop
 * sleeps in poll() on it (and on the status socket) with a timeout that is
 * infinite unless a timer is due: an idle pfsd does not wake up.  What
 * it does per event (a reap, a signal, a wake-up) costs the same for 8
 * children as for 4096: the records and their counts are pool.c's; the
 * few walks of every child left here say why they must be.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		10000
#define EARLY_DEATH_MS		1000	/* died this soon, serving nothing */
#define TERM_GRACE_MS		1000	/* fast stop: then SIGKILL */
#define TOKEN_AUDIT_MS		50	/* after a token-holder's death */

static struct pfsd_server *psrv;

static void	on_hup(struct pfsd_server *, int);
static void	begin_stop(struct pfsd_server *, int);
static void	on_ttin_ttou(struct pfsd_server *, int);
static void	on_usr1(struct pfsd_server *, int);

/*
 * The signals the parent acts on, and what it does (docs/DESIGN.md has
 * the table with the children's side).  No action: CHLD is reaped by the
 * loop, USR2 read from the scoreboard (pool_note_last).
 */
static const struct {
	int		 sig;
	const char	*name;
	void		(*act)(struct pfsd_server *, int);
	int		 stopping;	/* acted on during a stop too */
} parent_sigs[] = {
	{ SIGHUP, "HUP", on_hup, 0 },
	{ SIGINT, "INT", begin_stop, 1 },
	{ SIGTERM, "TERM", begin_stop, 1 },
	{ SIGQUIT, "QUIT", begin_stop, 1 },
	{ SIGTTIN, "TTIN", on_ttin_ttou, 0 },
	{ SIGTTOU, "TTOU", on_ttin_ttou, 0 },
	{ SIGUSR1, "USR1", on_usr1, 1 },
	{ SIGUSR2, "USR2", NULL, 1 },
	{ SIGCHLD, "CHLD", NULL, 1 },
};

/*
 * A child (or a process a hook started) may have exited since the last
 * reap.  waitpid() looks at every child the kernel knows, so the loop
 * calls it only then, not on every wake-up (standby.c's looks come every
 * few ms under load).  Set first, so that an image started by a HUP
 * reaps what exited across the execve().
 */
static volatile sig_atomic_t	chld_seen = 1;

static void
on_signal(int sig)
{
	unsigned char	b = (unsigned char)sig;
	int		saved = errno;

	if (sig == SIGCHLD)
		chld_seen = 1;
	(void)!write(psrv->sigpipe[1], &b, 1);
	errno = saved;
}

/* Install the handlers, then let the signals blocked since main() in. */
static int
parent_signals(struct pfsd_server *srv)
{
	struct sigaction	sa;
	sigset_t		none;
	size_t			i;

	psrv = srv;
	if (pipe2(srv->sigpipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_signal;
	for (i = 0; i < nitems(parent_sigs); i++)
		sigaction(parent_sigs[i].sig, &sa, NULL);
	for (i = 1; i < 65; i++)	/* sig_passthrough */
		if (sigismember(&srv->sigpass, (int)i) == 1)
			sigaction((int)i, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

static const char *
sig_name(int sig)
{
	size_t	i;

	for (i = 0; i < nitems(parent_sigs); i++)
		if (parent_sigs[i].sig == sig)
			return parent_sigs[i].name;
	return "?";
}

/* Close in a new child what belongs to the parent alone. */
static void
close_parent_fds(struct pfsd_server *srv)
{
	close(srv->sigpipe[0]);
	close(srv->sigpipe[1]);
	if (srv->status_fd != -1)
		close(srv->status_fd);
	metrics_http_forget();
	history_forget();
	if (srv->ready_fd != -1)
		close(srv->ready_fd);
	if (srv->plugin.fd != -1)
		close(srv->plugin.fd);
	if (srv->sb.fd != -1)
		close(srv->sb.fd);
}

/* Fork one child of kind; -1 when the fork failed (logged). */
static int
spawn(struct pfsd_server *srv, int kind)
{
	sigset_t	all, old;
	pid_t		pid;
	int		slot;

	if ((slot = scoreboard_alloc(&srv->sb)) == -1) {
		log_warnx("scoreboard full: not starting more children");
		return -1;
	}
	if (srv->plugin.pre_fork_hook != NULL)
		srv->plugin.pre_fork_hook(srv, kind == CHILD_DEQUEUE ?
		    "dequeue" : "worker");
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	srv->ppid = getpid();
	if ((pid = fork()) == 0) {
		close_parent_fds(srv);
		if (kind == CHILD_DEQUEUE)
			dequeue_main(srv, slot);
		if (srv->drain != NULL)
			drain_main(srv, slot);
		child_main(srv, slot);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		log_warn("fork");
		scoreboard_release(&srv->sb, slot);
		return -1;
	}
	pool_forked(srv, pid, slot, kind);
	if (srv->plugin.register_child != NULL)
		srv->plugin.register_child(srv, pid, kind == CHILD_DEQUEUE ?
		    "dequeue" : "worker");
	return 0;
}

/* Delay the next start; deaths of one round double the delay once. */
static void
backoff(struct pfsd_server *srv)
{
	if (now_ms() < srv->next_spawn_ms)
		return;
	if (srv->backoff_ms == 0)
		srv->backoff_ms = BACKOFF_MIN_MS;
	else if ((srv->backoff_ms *= 2) > BACKOFF_MAX_MS)
		srv->backoff_ms = BACKOFF_MAX_MS;
	srv->next_spawn_ms = now_ms() + srv->backoff_ms;
}

/* Start workers until max_servers are running (backoff permitting). */
static void
fill_pool(struct pfsd_server *srv)
{
	size_t	have = pool_count(CHILD_WORKER, 1);
	int	n, i;

	if (srv->stopping || have >= (size_t)srv->max_servers ||
	    now_ms() < srv->next_spawn_ms)
		return;
	n = (int)((size_t)srv->max_servers - have);
	if (srv->plugin.run_n_children_hook != NULL &&
	    srv->plugin.run_n_children_hook(srv, n) != 0) {
		log_msg(PFSD_LOG_ERR, "run_n_children_hook failed; "
		    "not starting %d children now", n);
		backoff(srv);
		return;
	}
	log_debug("starting %d children", n);
	for (i = 0; i < n; i++)
		if (spawn(srv, CHILD_WORKER) == -1) {
			backoff(srv);
			log_warnx("next start in %lld ms", srv->backoff_ms);
			return;
		}
}

/*
 * TTOU: pick the child least likely to be busy.  A walk, but it stops at
 * the first child waiting for a client, which in a pool being shrunk is
 * near the start.  With standby (standby.c) that is a child standing by
 * (idle), not the one on the sockets (accepting).
 */
static struct pool_entry *
pick_idle(struct pfsd_server *srv)
{
	static const int	 lock[] = { SLOT_ACCEPTING, SLOT_IDLE,
				     SLOT_STARTING, SLOT_BUSY };
	static const int	 sb[] = { SLOT_IDLE, SLOT_ACCEPTING,
				     SLOT_STARTING, SLOT_BUSY };
	const int		*pref = standby_on(srv) ? sb : lock;
	struct pool_entry	*e, *best = NULL;
	size_t			 it = 0, j, rank = nitems(lock);
	int			 st;

	while (rank > 0 && (e = pool_next(&it)) != NULL) {
		if (pool_kind(e) != CHILD_WORKER || pool_signalled(e))
			continue;
		st = pool_slot(e)->state;
		for (j = 0; j < rank; j++)
			if (st == pref[j]) {
				best = e;
				rank = j;
			}
	}
	return best;
}

static void
shrink_pool(struct pfsd_server *srv)
{
	struct pool_entry	*e;

	while (pool_count(CHILD_WORKER, 1) > (size_t)srv->max_servers &&
	    (e = pick_idle(srv)) != NULL)
		pool_retire(e);
}

/*
 * What a child that died was doing, for its log line: the request it
 * was serving (peer, age), the handler and the generation.
 */
static void
exit_context(struct pfsd_server *srv, const struct slot *s, char *buf,
    size_t len)
{
	char	peer[128];
	int	port, n = 0;

	if (s->state == SLOT_BUSY && s->req_start_ms > 0) {
		scoreboard_peer(s, peer, sizeof(peer), &port);
		n = snprintf(buf, len, "serving %s port %d for %lld ms, ", peer,
		    port, now_ms() - s->req_start_ms);
	}
	snprintf(buf + (n > 0 ? n : 0), len - (n > 0 ? (size_t)n : 0),
	    "handler %s, generation %u", srv->plugin.name, s->generation);
}

static void
log_exit(struct pfsd_server *srv, pid_t pid, const struct slot *s,
    int status)
{
	char	ctx[256];

	if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
		exit_context(srv, s, ctx, sizeof(ctx));
	if (WIFSIGNALED(status))
		log_msg(PFSD_LOG_ERR, "child %ld killed by signal %d (%s) "
		    "after %lu requests (%s)", (long)pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)), s->served, ctx);
	else if (WEXITSTATUS(status) != 0)
		log_msg(PFSD_LOG_ERR, "child %ld exited with status %d "
		    "after %lu requests (%s)", (long)pid,
		    WEXITSTATUS(status), s->served, ctx);
	else
		log_debug("child %ld exited after %lu requests",
		    (long)pid, s->served);
}

/* Did the child kill itself?  (SIGKILL/SIGTERM come from outside.) */
static int
crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
	    sig == SIGILL || sig == SIGFPE || sig == SIGSYS;
}

/*
 * Did the child fail to start?  It exits CHILD_EXIT_INIT when its
 * child_init_hook (or a resource of its own) failed, before it ever
 * waited for a client: its slot still says STARTING.
 */
static int
init_failed(const struct slot *s, int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == CHILD_EXIT_INIT &&
	    s->state == SLOT_STARTING;
}

/*
 * A worker ended: account for it, back off when it died young.  One that
 * failed to start backs off however long its child_init_hook took (a
 * database that times out after 5 s must not be asked again by every
 * child every 5 s); pfsd does not stop, unlike gunicorn: the children
 * that did start go on serving, and once the cause is gone (the delay
 * is at most BACKOFF_MAX_MS) the pool fills again by itself.
 */
static void
worker_gone(struct pfsd_server *srv, struct pool_entry *c, int status)
{
	struct slot	*s = pool_slot(c);
	unsigned long	 served = s->served;
	int		 failed, init;

	failed = WIFSIGNALED(status) ? crash_signal(WTERMSIG(status)) :
	    WEXITSTATUS(status) != 0;
	init = !srv->stopping && init_failed(s, status);
	if (!srv->stopping && !init)
		log_exit(srv, pool_pid(c), s, status);
	if (s->token != 0)	/* see serialize.c: look again shortly */
		srv->token_audit_ms = now_ms() + TOKEN_AUDIT_MS;
	switch (metrics_exit_reason(c, status)) {
	case EXIT_CRASHED:
		accesslog_died(srv, s, "crashed");
		break;
	case EXIT_TIMEOUT:
		accesslog_died(srv, s, "timeout");
		break;
	case EXIT_KILLED:
		accesslog_died(srv, s, "killed");
		break;
	default:
		break;
	}
	metrics_child_gone(srv, c, status);
	if (srv->stopping)
		return;
	if (init) {
		backoff(srv);
		log_msg(PFSD_LOG_ERR, "child %ld failed to start (handler %s, "
		    "generation %u); next start in %lld ms", (long)pool_pid(c),
		    srv->plugin.name, s->generation, srv->backoff_ms);
	} else if (failed && served == 0 && !pool_signalled(c) &&
	    now_ms() - pool_started_ms(c) < EARLY_DEATH_MS) {
		backoff(srv);
		log_warnx("children die at start; next start in %lld ms",
		    srv->backoff_ms);
	} else if (served > 0)
		srv->backoff_ms = 0;
}

/* Per child reaped: O(1) (pool_find, pool_remove). */
static void
reap(struct pfsd_server *srv)
{
	struct pool_entry *c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == srv->checker) {
			restart_checked(srv, status);
			continue;
		}
		if ((c = pool_find(pid)) == NULL) {
			hooks_child_gone(srv, pid, status, 0);
			continue;
		}
		hooks_child_gone(srv, pid, status, 1);
		if (pool_kind(c) == CHILD_WORKER)
			worker_gone(srv, c, status);
		else if (pool_kind(c) == CHILD_OLD)	/* counted across HUP */
			metrics_child_gone(srv, c, status);
		pool_remove(c);
	}
}

/* A signal for every child: a walk, as it must be. */
static void
signal_all(int sig)
{
	struct pool_entry	*e;
	size_t			 it = 0;

	while ((e = pool_next(&it)) != NULL)
		kill(pool_pid(e), sig);
}

/*
 * Graceful stop, first step: no new connection (see handshake.c).  0 if
 * every TCP listener is held.  Some kernels refuse socket filters to a
 * process without CAP_NET_ADMIN (pfsd after "user"): then the queues are
 * emptied and shut at once, and a client in that instant may be reset.
 *
 * A UNIX stream listener pfsd made is shut here: from now on connect()
 * is refused, while what is queued stays for drain_queues.  Closing it
 * in the parent would not do: a busy child's copy keeps it listening,
 * and clients queued behind that request would be dropped when the
 * child lets go.  An idle child sees the shut listener and leaves
 * (child.c).  A socket systemd passed is left listening: its queue
 * waits for the next start.
 */
static int
hold_new(struct pfsd_server *srv)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd >= 0 && srv->ls[i].made &&
		    srv->ls[i].proto == PFSD_PROTO_UNIX)
			(void)shutdown(srv->ls[i].fd, SHUT_RD);
		if (srv->ls[i].fd >= 0 &&
		    srv->ls[i].proto == PFSD_PROTO_TCP &&
		    handshake_hold(srv->ls[i].fd, 1) == -1) {
			if (rc == 0)
				log_info("graceful stop: new connections "
				    "cannot be held back on port %s "
				    "(SO_ATTACH_FILTER: %s)", srv->ls[i].name,
				    strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/* Take what l's accept queue holds now into srv->drain. */
static void
drain_queue(struct pfsd_server *srv, size_t i, size_t *cap)
{
	struct drained	*d;
	int		 fd;

	for (;;) {
		if (srv->ndrain == *cap) {
			if ((d = reallocarray(srv->drain, *cap ? *cap * 2 : 16,
			    sizeof(*d))) == NULL)
				return;
			srv->drain = d;
			*cap = *cap ? *cap * 2 : 16;
		}
		d = &srv->drain[srv->ndrain];
		memset(d, 0, sizeof(*d));
		d->len = sizeof(d->peer);
		fd = accept4(srv->ls[i].fd, (struct sockaddr *)&d->peer,
		    &d->len, SOCK_CLOEXEC);
		if (fd == -1 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd == -1)
			return;	/* EAGAIN: empty (or out of fds) */
		d->fd = fd;
		d->l = (int)i;
		srv->ndrain++;
	}
}

/*
 * Graceful stop: take every connection in the accept queue of a stream
 * listener (the descriptions are made non-blocking: the children share
 * them, and all are told to go), so that the listeners can be shut at
 * once -- new clients are refused from then on -- and the queued ones
 * served, not reset.  Handshakes under way when hold_new ran reach the
 * queue within a round trip: they are waited for and taken too, for up
 * to DRAIN_LATE_MS (a SYN-ACK unanswered that long is sent again: that
 * client is far away or gone).  Where the kernel will not say whether
 * any are under way, DRAIN_GUESS_MS covers a local network.
 */
#define DRAIN_LATE_MS	1000
#define DRAIN_GUESS_MS	10

static void
drain_queues(struct pfsd_server *srv, int held)
{
	struct pollfd	 pfd[64];
	size_t		 i, n, at[64], cap = 0;
	long long	 start = now_ms();
	int		 fl, pending;

	for (i = n = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd < 0 || srv->ls[i].proto == PFSD_PROTO_UDP ||
		    (fl = fcntl(srv->ls[i].fd, F_GETFL)) == -1 ||
		    fcntl(srv->ls[i].fd, F_SETFL, fl | O_NONBLOCK) == -1)
			continue;
		drain_queue(srv, i, &cap);
		if (srv->ls[i].proto == PFSD_PROTO_TCP && n < nitems(pfd)) {
			pfd[n].fd = srv->ls[i].fd;
			pfd[n].events = POLLIN;
			at[n++] = i;
		}
	}
	while (held && n > 0 &&
	    (pending = handshakes_pending(srv->ls, srv->nls)) != 0) {
		if (now_ms() - start >= (pending > 0 ? DRAIN_LATE_MS :
		    DRAIN_GUESS_MS))
			break;
		if (poll(pfd, n, 1) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].revents & POLLIN)
					drain_queue(srv, at[i], &cap);
	}
	for (i = 0; i < n; i++)
		drain_queue(srv, at[i], &cap);
}

/*
 * Graceful stop: a busy child keeps its copy of the listening sockets
 * (HUP waits for the end of its request), and a socket stays open while
 * any process holds it.  shutdown(SHUT_RD) takes a TCP listener out of
 * the LISTEN state for every holder at once: new clients are refused.
 * The parent keeps its copy, to listen() again before it exits
 * (resume_tcp) if it outlives pfsd: a socket systemd holds must listen for
 * the next start.  Other listeners are closed in the parent now; busy
 * children let go of them when their request ends.  hold_new's filter
 * goes as soon as the socket no longer listens: if pfsd were killed
 * now, the socket systemd keeps must not drop what the next pfsd is sent.
 */
static void
pause_tcp(struct pfsd_server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd < 0)
			continue;
		if (srv->ls[i].proto == PFSD_PROTO_TCP &&
		    shutdown(srv->ls[i].fd, SHUT_RD) == 0) {
			(void)handshake_hold(srv->ls[i].fd, 0);
			continue;
		}
		close(srv->ls[i].fd);
		srv->ls[i].fd = -1;
	}
}

static void
resume_tcp(struct pfsd_server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].fd >= 0 && srv->ls[i].proto == PFSD_PROTO_TCP &&
		    !srv->ls[i].made)
			(void)listen(srv->ls[i].fd, srv->ls[i].backlog);
}

/* Children to serve what drain_queues took: up to max_servers. */
static void
drain_spawn(struct pfsd_server *srv)
{
	size_t	i, n = srv->ndrain;

	if (n > (size_t)srv->max_servers)
		n = (size_t)srv->max_servers;
	if (srv->ndrain > 0)
		log_msg(PFSD_LOG_NOTICE, "graceful stop: serving %zu queued "
		    "connection%s", srv->ndrain, srv->ndrain == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		srv->drain_index = i;
		srv->drain_step = n;
		if (spawn(srv, CHILD_WORKER) == -1)
			break;
	}
	if (i < n)
		log_warnx("graceful stop: not every queued connection will be "
		    "served (a child could not be started)");
	for (i = 0; i < srv->ndrain; i++)
		close(srv->drain[i].fd);
	free(srv->drain);
	srv->drain = NULL;
	srv->ndrain = 0;
}

/* QUIT (graceful) or INT/TERM (fast): begin the stop. */
static void
begin_stop(struct pfsd_server *srv, int sig)
{
	struct pool_entry	*e;
	size_t	it = 0;
	int	held;
	long	grace = conf_num(srv->conf, OPT_GRACEFUL_TIMEOUT);

	if (srv->stopping == SIGTERM || srv->stopping == sig)
		return;
	srv->stopping = sig == SIGQUIT ? SIGQUIT : SIGTERM;
	log_msg(PFSD_LOG_NOTICE, "%s: %s stop", sig_name(sig),
	    sig == SIGQUIT ? "graceful" : "fast");
	hooks_server_close(srv);	/* the children still run */
	notify_send("STOPPING=1");
	restart_cancel(srv, sig_name(sig));
	if (srv->stopping == SIGQUIT) {
		held = hold_new(srv) == 0;
		drain_queues(srv, held);
		if (!held)
			pause_tcp(srv);		/* the sooner the better */
		/* 0: no limit -- busy children finish, however long */
		srv->stop_deadline_ms = grace > 0 ? now_ms() + grace * 1000 :
		    -1;
		while ((e = pool_next(&it)) != NULL)
			pool_retire(e);
		if (held)
			pause_tcp(srv);
		drain_spawn(srv);
	} else {
		listen_close_all(srv->ls, srv->nls, 0);
		srv->stop_deadline_ms = now_ms() + TERM_GRACE_MS;
		signal_all(SIGTERM);
	}
}

static void
on_ttin_ttou(struct pfsd_server *srv, int sig)
{
	long	max = conf_options[OPT_MAX_SERVERS].max;

	if ((sig == SIGTTIN && srv->max_servers == max) ||
	    (sig == SIGTTOU && srv->max_servers == 1)) {
		log_msg(PFSD_LOG_NOTICE, "%s: max_servers stays %ld (the %s)",
		    sig_name(sig), srv->max_servers, sig == SIGTTIN ?
		    "maximum" : "minimum");
		return;
	}
	srv->max_servers += sig == SIGTTIN ? 1 : -1;
	log_msg(PFSD_LOG_NOTICE, "%s: max_servers is now %ld", sig_name(sig),
	    srv->max_servers);
	if (sig == SIGTTOU)
		shrink_pool(srv);
}

static void
on_hup(struct pfsd_server *srv, int sig)
{
	restart_begin(srv);
}

static void
on_usr1(struct pfsd_server *srv, int sig)
{
	signal_all(SIGUSR1);	/* before the log says so */
	accesslog_reopen();
	if (log_reopen() == 0)
		log_msg(PFSD_LOG_NOTICE, "USR1: log file reopened");
}

static void
handle_signal(struct pfsd_server *srv, int sig)
{
	size_t	i;

	if (sigismember(&srv->sigpass, sig) == 1) {
		log_debug("sig_passthrough: signal %d to the children", sig);
		signal_all(sig);
	}
	for (i = 0; i < nitems(parent_sigs); i++)
		if (parent_sigs[i].sig == sig && parent_sigs[i].act != NULL &&
		    (!srv->stopping || parent_sigs[i].stopping))
			parent_sigs[i].act(srv, sig);
}

static void
drain_signals(struct pfsd_server *srv)
{
	unsigned char	buf[64];
	ssize_t		n, i;

	while ((n = read(srv->sigpipe[0], buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			handle_signal(srv, buf[i]);
}

/* Kill children still running past the stop deadline. */
static void
stop_deadline(struct pfsd_server *srv)
{
	struct pool_entry	*e;
	size_t			 it = 0;

	if (!srv->stopping || srv->stop_deadline_ms < 0 ||
	    now_ms() < srv->stop_deadline_ms)
		return;
	while ((e = pool_next(&it)) != NULL) {
		if (srv->stopping == SIGQUIT)
			log_warnx("graceful_timeout: killing child %ld",
			    (long)pool_pid(e));
		kill(pool_pid(e), SIGKILL);
	}
	srv->stop_deadline_ms = now_ms() + TERM_GRACE_MS;
}

/*
 * Pipe serialization: put a token back if it died with a child.  A walk,
 * but only once after a token holder's death (pipe mode only).
 */
static void
audit_token(struct pfsd_server *srv)
{
	struct pool_entry	*e;
	struct slot		*s;
	size_t			 it = 0;
	int			 held = 0;

	if (srv->token_audit_ms == 0 || now_ms() < srv->token_audit_ms)
		return;
	srv->token_audit_ms = 0;
	while ((e = pool_next(&it)) != NULL)
		if ((s = pool_slot(e)) != NULL &&
		    pool_kind(e) != CHILD_OLD &&	/* its own pipe */
		    s->token == TOKEN_HELD)
			held = 1;
	ser_audit_token(&srv->ser, held);
}

/* Children that vanished without SIGCHLD: every check_for_dead s. */
static void
check_dead(struct pfsd_server *srv)
{
	long long	period = conf_num(srv->conf, OPT_CHECK_FOR_DEAD) * 1000;

	if (now_ms() - srv->last_dead_check_ms < period)
		return;
	srv->last_dead_check_ms = now_ms();
	chld_seen = 1;	/* a SIGCHLD lost (a hook's own handler): reap */
	pool_check_dead(srv);
}

static void
run_dequeue_children(struct pfsd_server *srv)
{
	long	max = conf_num(srv->conf, OPT_MAX_DEQUEUE);
	long	period = conf_num(srv->conf, OPT_CHECK_FOR_DEQUEUE);
	size_t	have;

	if (srv->stopping || max <= 0 || period <= 0 ||
	    now_ms() - srv->last_dequeue_ms < period * 1000)
		return;
	srv->last_dequeue_ms = now_ms();
	for (have = pool_count(CHILD_DEQUEUE, 0); have < (size_t)max;
	    have++)
		if (spawn(srv, CHILD_DEQUEUE) == -1)
			break;
}

static long long
min_due(long long a, long long b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

/* How long poll() may sleep: -1 (forever) unless a timer is due. */
static int
parent_timeout(struct pfsd_server *srv)
{
	long long	now = now_ms(), due = -1;
	long		q;

	due = min_due(due, srv->last_dead_check_ms +
	    conf_num(srv->conf, OPT_CHECK_FOR_DEAD) * 1000);
	if (conf_num(srv->conf, OPT_MAX_DEQUEUE) > 0 &&
	    (q = conf_num(srv->conf, OPT_CHECK_FOR_DEQUEUE)) > 0)
		due = min_due(due, srv->last_dequeue_ms + q * 1000);
	if (pool_count(CHILD_WORKER, 1) < (size_t)srv->max_servers &&
	    !srv->stopping)
		due = min_due(due, srv->next_spawn_ms);
	if (srv->stopping)
		due = min_due(due, srv->stop_deadline_ms);
	due = min_due(due, watchdog_due(srv));
	due = min_due(due, restart_due(srv));
	due = min_due(due, metrics_http_due());
	due = min_due(due, history_due());
	if (srv->status_pause_ms > now)
		due = min_due(due, srv->status_pause_ms);
	if (srv->token_audit_ms > 0)
		due = min_due(due, srv->token_audit_ms);
	due = min_due(due, standby_due(srv));
	if (due < 0)
		return -1;
	return due <= now ? 0 : (int)(due - now);
}

static void
parent_wait(struct pfsd_server *srv)
{
	struct pollfd	pfd[2 + 16];
	nfds_t		n = 1, m;
	int		st = 0;

	pfd[0].fd = srv->sigpipe[0];
	pfd[0].events = POLLIN;
	if (srv->status_fd != -1 && now_ms() >= srv->status_pause_ms) {
		pfd[1].fd = srv->status_fd;
		pfd[1].events = POLLIN;
		n = st = 2;
	}
	m = metrics_http_pollfds(pfd + n, nitems(pfd) - n);
	if (poll(pfd, n + m, parent_timeout(srv)) < 0)
		return;
	if (st == 2 && pfd[1].revents != 0)
		status_serve(srv);
	metrics_http_events(srv, pfd + n, m);
}

static void
parent_cleanup(struct pfsd_server *srv)
{
	hooks_server_close(srv);	/* ran at the stop, unless ... */
	status_close(srv);
	metrics_http_close();
	resume_tcp(srv);
	listen_close_all(srv->ls, srv->nls, 1);
	ser_cleanup(&srv->ser);
	if (conf_str(srv->conf, OPT_PID_FILE) != NULL)
		pidfile_remove(conf_str(srv->conf, OPT_PID_FILE));
	log_msg(PFSD_LOG_NOTICE, "stopped (%lu requests served)",
	    srv->total_served);
}

/*
 * "pfsd: parent gen 3 8/8 children /etc/pfsd/pfsd.conf", rewritten only
 * when what it shows changed.
 */
static void
parent_title(struct pfsd_server *srv)
{
	static size_t	 n_shown = (size_t)-1;
	static long	 max_shown = -1;
	static int	 stop_shown = -1;
	const char	*conf = conf_str(srv->conf, OPT_CONF_FILE);
	size_t		 n;

	if (!conf_num(srv->conf, OPT_PROCESS_TITLES))
		return;
	n = pool_count(CHILD_WORKER, 1);
	if (n == n_shown && srv->max_servers == max_shown &&
	    srv->stopping == stop_shown)
		return;
	if (n_shown == (size_t)-1)
		proctitle_name("pfsd");
	n_shown = n;
	max_shown = srv->max_servers;
	stop_shown = srv->stopping;
	proctitle_set("pfsd: parent gen %u %zu/%ld children%s%s%s",
	    srv->generation, n, srv->max_servers, srv->stopping ?
	    " stopping" : "", conf != NULL ? " " : "",
	    conf != NULL ? conf : "");
}

/*
 * What an operator wants to see once at the start: the sockets (with
 * PROXY when a balancer's header is expected), the handler and whom it
 * runs as.  Cut, not split, if a very long list does not fit.
 */
static void
started_summary(const struct pfsd_server *srv, char *buf, size_t len)
{
	const struct conf	*c = srv->conf;
	size_t			 i, off = 0;
	int			 proxy = conf_num(c, OPT_PROXY_PROTOCOL) != 0;

#define SUMMARY(...) do {						\
	int n_ = snprintf(buf + off, len - off, __VA_ARGS__);		\
	off += n_ > 0 ? (size_t)n_ : 0;					\
	if (off >= len)							\
		return;							\
} while (0)
	buf[0] = '\0';
	SUMMARY("sockets");
	for (i = 0; i < srv->nls; i++)
		SUMMARY("%s %s%s", i == 0 ? "" : ",", srv->ls[i].name,
		    proxy && srv->ls[i].proto != PFSD_PROTO_UDP ? " (PROXY)" :
		    "");
	SUMMARY("; handler %s (ABI %u.%u, %s); user %s, group %s, chroot %s",
	    srv->plugin.name, srv->plugin.abi_major, srv->plugin.abi_minor,
	    srv->plugin.path, conf_str(c, OPT_USER) != NULL ?
	    conf_str(c, OPT_USER) : "-", conf_str(c, OPT_GROUP) != NULL ?
	    conf_str(c, OPT_GROUP) : "-", conf_str(c, OPT_CHROOT) != NULL ?
	    conf_str(c, OPT_CHROOT) : "-");
#undef SUMMARY
}

static void
parent_started(struct pfsd_server *srv)
{
	char		 summary[1024];
	/* children switch only from the normal policy (child_sched) */
	const char	*kept = conf_num(srv->conf, OPT_SCHED_POLICY) == 0 &&
			    sched_getscheduler(0) != SCHED_OTHER ?
			    " (the operator's policy kept)" : "";

	parent_title(srv);	/* what ps shows, before anyone is told */
	started_summary(srv, summary, sizeof(summary));
	log_msg(PFSD_LOG_NOTICE, "pfsd %s serving (generation %u, pid %ld, "
	    "max_servers %ld, serialize %s, sched_policy %s%s); %s",
	    PACKAGE_VERSION, srv->generation, (long)getpid(),
	    srv->max_servers, ser_name(&srv->ser),
	    conf_str(srv->conf, OPT_SCHED_POLICY), kept, summary);
	restart_retire_old(srv);
	daemon_ready(srv);
	notify_status(srv, 1);
}


/* The parent's life after startup: returns the exit code. */
int
parent_main(struct pfsd_server *srv)
{
	pool_init(&srv->sb);
	if (parent_signals(srv) == -1)
		fatal("signals");
	srv->start_ms = srv->last_dead_check_ms = srv->last_dequeue_ms =
	    now_ms();
	restart_commit(srv);
	standby_resume(srv);	/* this loop wakes standing-by children */
	fill_pool(srv);
	parent_started(srv);
	while (!srv->stopping || pool_size() > 0 || srv->checker > 0) {
		parent_title(srv);
		parent_wait(srv);
		drain_signals(srv);
		pool_note_last();	/* before a reap frees slots */
		if (chld_seen) {
			chld_seen = 0;
			reap(srv);
		}
		fill_pool(srv);
		run_dequeue_children(srv);
		check_dead(srv);
		audit_token(srv);
		standby_tick(srv);
		watchdog(srv);
		restart_timer(srv);
		stop_deadline(srv);
		history_tick(srv);
		if (srv->plugin.idle_loop_hook != NULL)
			srv->plugin.idle_loop_hook(srv);
		if (!srv->stopping)	/* pfsd_set_option("max_servers") */
			shrink_pool(srv);
	}
	parent_cleanup(srv);
	return 0;
}
