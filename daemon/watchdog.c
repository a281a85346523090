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

/* When the parent must look again; -1 when request_timeout is off. */
long long
watchdog_due(struct pfsd_server *srv)
{
	long long	t = timeout_ms(srv), tick;

	if (t <= 0)
		return -1;
	tick = t / 4 < WATCHDOG_TICK_MS ? t / 4 : WATCHDOG_TICK_MS;
	return now_ms() + (tick > 10 ? tick : 10);
}

static void
expire(struct pfsd_server *srv, struct child *c, struct slot *s,
    long long now)
{
	char	peer[128];
	int	port;

	if (c->killed_ms == 0) {
		scoreboard_peer(s, peer, sizeof(peer), &port);
		log_msg(PFSD_LOG_ERR, "request_timeout: child %ld has served "
		    "%s port %d for %lld ms (handler %s); stopping it",
		    (long)c->pid, peer, port, now - s->req_start_ms,
		    srv->plugin.name);
		c->killed_ms = now;
		c->signalled = 1;
		kill(c->pid, SIGTERM);
	} else if (now - c->killed_ms > WATCHDOG_GRACE_MS) {
		log_msg(PFSD_LOG_ERR, "request_timeout: child %ld ignored "
		    "SIGTERM; killing it", (long)c->pid);
		kill(c->pid, SIGKILL);
		c->killed_ms = now;
	}
}

/* End the requests that ran out of time. */
void
watchdog(struct pfsd_server *srv)
{
	long long	 t = timeout_ms(srv), now, start;
	struct child	*c;
	size_t		 i;

	if (t <= 0)
		return;
	now = now_ms();
	for (i = 0; i < srv->nchildren; i++) {
		c = &srv->children[i];
		if (c->kind == CHILD_DEQUEUE || c->slot < 0)
			continue;
		start = srv->sb.slots[c->slot].req_start_ms;
		if (start > 0 && now - start > t)
			expire(srv, c, &srv->sb.slots[c->slot], now);
	}
}
