/*
 * watchdog.c - request_timeout: a child whose request runs longer than
 * request_timeout seconds (a hung handler, or a client that connects and
 * sends nothing) gets SIGTERM, then SIGKILL after a grace period, and is
 * replaced.  Children stamp the start of each request in their scoreboard
 * slot; the parent only reads the stamps.
 */
#include "internal.h"

#include <sys/un.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#define WATCHDOG_TICK_MS	250	/* resolution of the check */
#define WATCHDOG_GRACE_MS	1000	/* SIGTERM to SIGKILL */

static long long
timeout_ms(struct pfsd_server *srv)
{
	return conf_num(srv->conf, OPT_REQUEST_TIMEOUT) * 1000;
}

static long long	next_ms;	/* the next walk */

static long long
tick_ms(long long t)
{
	long long	tick = t / 4 < WATCHDOG_TICK_MS ? t / 4 : WATCHDOG_TICK_MS;

	return tick > 10 ? tick : 10;
}

/* When the parent must look again; -1 when request_timeout is off. */
long long
watchdog_due(struct pfsd_server *srv)
{
	long long	t = timeout_ms(srv);

	if (t <= 0)
		return -1;
	return next_ms > 0 ? next_ms : now_ms() + tick_ms(t);
}

static void
expire(struct pfsd_server *srv, struct pool_entry *c, struct slot *s,
    long long now)
{
	char		peer[128];
	int		port;
	long long	killed = pool_killed_ms(c);

	if (killed == 0) {
		scoreboard_peer(s, peer, sizeof(peer), &port);
		log_msg(PFSD_LOG_ERR, "request_timeout: child %ld has served "
		    "%s port %d for %lld ms (handler %s); stopping it",
		    (long)pool_pid(c), peer, port, now - s->req_start_ms,
		    srv->plugin.name);
		pool_kill(c, SIGTERM);
	} else if (now - killed > WATCHDOG_GRACE_MS) {
		log_msg(PFSD_LOG_ERR, "request_timeout: child %ld ignored "
		    "SIGTERM; killing it", (long)pool_pid(c));
		pool_kill(c, SIGKILL);
	}
}

/*
 * End the requests that ran out of time: a walk of the children, once a
 * tick (not on every event the parent wakes up for).
 */
void
watchdog(struct pfsd_server *srv)
{
	long long	 t = timeout_ms(srv), now, start;
	struct pool_entry *c;
	struct slot	*s;
	size_t		 it = 0;

	if (t <= 0 || (now = now_ms()) < next_ms)
		return;
	next_ms = now + tick_ms(t);
	while ((c = pool_next(&it)) != NULL) {
		if (pool_kind(c) == CHILD_DEQUEUE || (s = pool_slot(c)) == NULL)
			continue;
		start = s->req_start_ms;
		if (start > 0 && now - start > t)
			expire(srv, c, s, now);
	}
}
