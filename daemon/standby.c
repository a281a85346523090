/*
 * standby.c - serialize none: only as many idle children wait on the
 * sockets as the load needs; the others stand by.
 *
 * With EPOLLEXCLUSIVE the kernel wakes one idle child per connection.
 * When the pool is larger than the load (2048 children, 32 clients),
 * there is always an idle child, so every connection costs a sleep and
 * a wakeup, and a woken child that waits for a CPU lets the next
 * connection wake another: 44 us of CPU per connection where a pool
 * just big enough, whose children find the next client already queued
 * when they finish, spends 30 (bench/RESULTS.md).
 *
 * So a child that finds nothing queued waits on the sockets only when
 * no other child does; else it stands by, in a futex wait on the
 * board's seq.  One idle child waiting is enough while the others come
 * back quickly: a connection that arrives while it serves waits in the
 * queue for the first child to finish.  When they do not come back (slow
 * requests), the parent wakes standby children: while the pool is busy
 * it looks at the listen queues every standby_ms, and a connection that
 * was queued at one look and is not taken by the next wakes a child for
 * it (on a UNIX or UDP socket, which cannot say how many wait: something
 * queued at both looks).  A connection therefore waits about one to two
 * standby_ms for the first child woken, while the parent's loop runs.
 * It does not while a HUP's new image starts (from the execve() until
 * its loop runs): then no child stands by (the board's away).
 *
 * The parent looks only while the pool is busy: the child that leaves
 * the sockets last while others stand by rings (SIGUSR2, as a child on
 * its last request does), and the parent stops looking once it has seen
 * a child waiting and nothing queued for QUIET_LOOKS looks in a row.  An
 * idle pfsd does not wake up.
 *
 * The counts are shared by every generation (the board is in the
 * scoreboard, handed across a HUP).  They err on the safe side: a child
 * killed while counted as waiting is taken off by the parent when it
 * reaps it (slot->waiting); one killed while standing by stays counted,
 * which only makes the parent wake a child that is not there.  A count
 * of waiting children that stayed too high would let every idle child
 * stand by with nobody on the sockets, and keep the parent from
 * bringing one back; queued clients would still wake children (that
 * check looks at the queues, not at the counts), but each one late.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define QUIET_LOOKS	50	/* then the parent stops looking */

/* Is standby on: serialize none, standby_ms > 0, a board to count on. */
int
standby_on(const struct pfsd_server *srv)
{
	return ser_wakes_one(&srv->ser) && srv->sb.board != NULL &&
	    conf_num(srv->conf, OPT_STANDBY_MS) > 0;
}

/*
 * A child waits on the board's seq with its own bit (its slot's, modulo
 * 32): the parent wakes any of them (all bits), a child's signal handler
 * wakes the waits of its bit, its own among them, whichever thread the
 * signal was delivered to.
 */
static unsigned int
own_bit(const struct pfsd_server *srv)
{
	return 1U << (srv->slot % 32);
}

/* 1 when ms (-1: no limit) passed first */
static int
futex_wait(volatile unsigned int *word, unsigned int val, unsigned int bit,
    int ms)
{
	struct timespec	ts;

	if (ms >= 0) {		/* FUTEX_WAIT_BITSET: an absolute time */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	/*
	 * A timed wait is not restarted after a signal handler (SIGUSR1's,
	 * a passed-on signal's): wait on to the same time.  A signal that
	 * ends the wait changed *word (standby_interrupt): EAGAIN.
	 */
	while (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val,
	    ms >= 0 ? &ts : NULL, NULL, bit) == -1)
		if (errno != EINTR)
			return errno == ETIMEDOUT;
	return 0;
}

static void
futex_wake(volatile unsigned int *word, int n, unsigned int bits)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE_BITSET, n, NULL, NULL,
	    bits);
}

/*
 * Child, idle, before it waits on the sockets: 1 with *which set when a
 * client is queued on that listener (pfds, polled); 0 to wait on the
 * sockets (no other child does, or the parent woke this one); -1 when
 * *stop was set.
 */
int
standby_enter(struct pfsd_server *srv, struct pollfd *pfds, int *which,
    volatile sig_atomic_t *stop)
{
	struct standby_board	*b = srv->sb.board;
	unsigned int		 seq;
	int			 n;

	if (!standby_on(srv) ||
	    __atomic_load_n(&b->waiting, __ATOMIC_SEQ_CST) <= 0 ||
	    __atomic_load_n(&b->away, __ATOMIC_SEQ_CST))
		return 0;
	if ((n = ser_poll(pfds, srv->nls, 0, which)) != 0)
		return n;
	/* standby_interrupt() changes seq: read it before looking at *stop */
	seq = __atomic_load_n(&b->seq, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&b->standby, 1, __ATOMIC_SEQ_CST);
	/* the waiting child may have taken a client since: then wait */
	if (!*stop && __atomic_load_n(&b->waiting, __ATOMIC_SEQ_CST) > 0) {
		ser_detach(&srv->ser, srv->ls, srv->nls);
		if (futex_wait(&b->seq, seq, own_bit(srv),
		    srv->trim_due ? CHILD_TRIM_MS : -1)) {
			child_trim(srv);
			futex_wait(&b->seq, seq, own_bit(srv), -1);
		}
		/*
		 * A retiring child's set is /dev/null by now: nothing to do.
		 * Else a child whose set lacks a listener must not wait as
		 * if it watched them all: it goes, and is replaced.
		 */
		if (ser_attach(&srv->ser, srv->ls, srv->nls) == -1 && !*stop) {
			log_warn("standby: epoll_ctl; the child exits");
			*stop = 1;
		}
	}
	__atomic_sub_fetch(&b->standby, 1, __ATOMIC_SEQ_CST);
	return *stop ? -1 : 0;
}

/* Child: about to wait on the sockets (epoll_wait, no time limit). */
void
standby_wait_begin(struct pfsd_server *srv, struct slot *s)
{
	if (!standby_on(srv))
		return;
	s->waiting = 1;
	__atomic_add_fetch(&srv->sb.board->waiting, 1, __ATOMIC_SEQ_CST);
}

/*
 * Child: back from the sockets.  The last child to leave while others
 * stand by asks the parent to watch the queues, unless it does already.
 */
void
standby_wait_end(struct pfsd_server *srv, struct slot *s)
{
	struct standby_board	*b = srv->sb.board;

	if (!s->waiting)
		return;
	if (__atomic_sub_fetch(&b->waiting, 1, __ATOMIC_SEQ_CST) <= 0 &&
	    __atomic_load_n(&b->standby, __ATOMIC_SEQ_CST) > 0 &&
	    __atomic_load_n(&b->watch, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_exchange_n(&b->watch, 1, __ATOMIC_SEQ_CST) == 0)
		kill(srv->ppid, SIGUSR2);
	s->waiting = 0;
}

/* Child: it took a connection (or a datagram). */
void
standby_taken(struct pfsd_server *srv)
{
	if (srv->sb.board != NULL)
		__atomic_add_fetch(&srv->sb.board->taken, 1, __ATOMIC_RELAXED);
}

/*
 * Async-signal-safe, in a child told to go: a standby wait returns.  The
 * futex word changed, so a wait begun after this fails at once, and one
 * under way is restarted after the handler and fails too, or, when
 * another thread of the child took the signal, is woken by its bit (with
 * the few other children that share it: they find nothing changed for
 * them, and wait on the sockets or stand by again).
 */
void
standby_interrupt(struct pfsd_server *srv)
{
	if (srv->sb.board == NULL)
		return;
	__atomic_add_fetch(&srv->sb.board->seq, 1, __ATOMIC_SEQ_CST);
	futex_wake(&srv->sb.board->seq, INT_MAX, own_bit(srv));
}

/*
 * Parent: connections queued on the TCP listeners (TCP_INFO: tcpi_unacked
 * is a listener's accept queue length); *other: whether a UNIX or UDP
 * socket, which cannot say how many, has something.
 */
static long
queued(const struct pfsd_server *srv, int *other)
{
	struct tcp_info	ti;
	struct pollfd	pfd;
	socklen_t	len;
	size_t		i;
	long		n = 0;

	*other = 0;
	for (i = 0; i < srv->nls; i++) {
		len = sizeof(ti);
		if (srv->ls[i].proto == PFSD_PROTO_TCP &&
		    getsockopt(srv->ls[i].fd, IPPROTO_TCP, TCP_INFO, &ti,
		    &len) == 0 && len >= offsetof(struct tcp_info,
		    tcpi_unacked) + sizeof(ti.tcpi_unacked)) {
			n += ti.tcpi_unacked;
			continue;
		}
		pfd.fd = srv->ls[i].fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN))
			*other = 1;
	}
	return n;
}

static void
wake(struct standby_board *b, long n)
{
	int	k = __atomic_load_n(&b->standby, __ATOMIC_SEQ_CST);

	if (k <= 0)
		return;
	if (n > k)
		n = k;
	__atomic_add_fetch(&b->seq, 1, __ATOMIC_SEQ_CST);
	futex_wake(&b->seq, (int)n, FUTEX_BITSET_MATCH_ANY);
	log_debug("standby: woke %ld of %d children", n, k);
}

/*
 * Parent, before a HUP's execve(): until the new image runs its loop
 * (configuration, handler, hooks, binding: seconds, maybe) nobody would
 * wake a standing-by child, so none stands by meanwhile.
 */
void
standby_release(struct pfsd_server *srv)
{
	struct standby_board	*b = srv->sb.board;

	if (b == NULL)
		return;
	__atomic_store_n(&b->away, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&b->seq, 1, __ATOMIC_SEQ_CST);
	futex_wake(&b->seq, INT_MAX, FUTEX_BITSET_MATCH_ANY);
}

/* Parent, when its loop runs (again): children may stand by. */
void
standby_resume(struct pfsd_server *srv)
{
	if (srv->sb.board != NULL)
		__atomic_store_n(&srv->sb.board->away, 0, __ATOMIC_SEQ_CST);
}

/* Parent: when the next look is due, or -1. */
long long
standby_due(const struct pfsd_server *srv)
{
	return srv->standby.on && !srv->stopping ? srv->standby.next_ms : -1;
}

/*
 * Parent, every turn of its loop: start watching when a child rang, look
 * when it is time, stop when the pool is quiet.
 */
void
standby_tick(struct pfsd_server *srv)
{
	struct standby_watch	*w = &srv->standby;
	struct standby_board	*b = srv->sb.board;
	long long		 now;
	unsigned long		 taken, moved;
	long			 q, need;
	int			 nobody, other;

	if (!standby_on(srv) || srv->stopping)
		return;
	now = now_ms();
	if (!w->on) {
		if (__atomic_load_n(&b->watch, __ATOMIC_SEQ_CST) == 0)
			return;
		w->on = 1;
		w->quiet = w->unwatched = 0;
		w->burst = 0;
		w->queued = queued(srv, &w->other);
		w->taken = __atomic_load_n(&b->taken, __ATOMIC_RELAXED);
		w->next_ms = now + conf_num(srv->conf, OPT_STANDBY_MS);
		return;
	}
	if (now < w->next_ms)
		return;
	w->next_ms = now + conf_num(srv->conf, OPT_STANDBY_MS);
	q = queued(srv, &other);
	taken = __atomic_load_n(&b->taken, __ATOMIC_RELAXED);
	moved = taken - w->taken;
	nobody = __atomic_load_n(&b->waiting, __ATOMIC_SEQ_CST) <= 0;
	/*
	 * Clients queued on a TCP socket a look ago and still there; or a
	 * UNIX or UDP socket with something at both looks (how many, and
	 * whether the same, it cannot say).
	 */
	need = w->queued > 0 && q > 0 && moved < (unsigned long)w->queued ?
	    w->queued - (long)moved : 0;
	if (w->other && other && need == 0)
		need = LONG_MAX;
	if (need > 0) {
		/*
		 * Wake children for them: one at first, twice as many at
		 * each look that finds clients left again.  Busy children
		 * that are slow only because the CPUs are (a burst of quick
		 * requests) then do not bring in children that would not
		 * help.
		 */
		w->burst = w->burst <= 0 ? 1 : w->burst < INT_MAX / 2 ?
		    w->burst * 2 : w->burst;
		wake(b, w->burst < need ? w->burst : need);
	} else {
		w->burst = 0;
		if (q == 0 && !other && nobody && ++w->unwatched >= 2) {
			/* nobody on the sockets (they retired): one back */
			wake(b, 1);
			w->unwatched = 0;
		}
	}
	if (!nobody)
		w->unwatched = 0;
	w->quiet = q == 0 && !other && !nobody ? w->quiet + 1 : 0;
	w->queued = q;
	w->other = other;
	w->taken = taken;
	if (w->quiet < QUIET_LOOKS)
		return;
	/* quiet: stop, unless the last waiting child left meanwhile */
	__atomic_store_n(&b->watch, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&b->waiting, __ATOMIC_SEQ_CST) <= 0)
		__atomic_store_n(&b->watch, 1, __ATOMIC_SEQ_CST);
	else
		w->on = 0;
}
