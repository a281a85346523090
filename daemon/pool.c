/*
 * pool.c - the parent's records of its children (struct pool_entry,
 * private to this file) and what the parent writes in the scoreboard.
 *
 * scoreboard.c stays a separate layer under this one: it is the shared
 * memory itself (the map, its hand-over across a HUP, the child's own
 * calls), linked into the children and the fuzz targets, while this file
 * is the parent's bookkeeping.  Everything the parent writes in a slot
 * goes through here, so docs/DESIGN.md's "who writes what" has one place
 * to check on the parent's side.
 *
 * Every operation an event needs is O(1): a pid finds its entry through
 * an open-addressing hash (pid -> index), entries are kept dense (the
 * last one moves into a hole), and the counts by kind -- all, and the
 * ones that will go on serving -- change when an entry is added, removed,
 * told to go, or seen on its last request.  Only a walk (pool_next) is
 * O(children), for what must look at each child: status, metrics, a
 * stop, the periodic checks.
 */
#include "internal.h"

#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pool_entry {
	pid_t		 pid;
	int		 slot;		/* in the scoreboard, or -1 */
	int		 kind;		/* CHILD_* */
	int		 signalled;	/* told to go (HUP, TERM, KILL) */
	int		 last;		/* seen on its last request */
	long long	 started_ms;
	long long	 killed_ms;	/* TERM/KILL sent at (watchdog, HUP) */
	long long	 retired_ms;	/* HUP sent at */
};

static struct {
	struct scoreboard	*sb;
	struct pool_entry	*e;		/* dense: e[0] .. e[n - 1] */
	size_t			 n, cap;
	unsigned int		*hash;		/* index + 1; 0: empty */
	unsigned int		 hbits;		/* 1 << hbits buckets */
	size_t			 count[CHILD__KINDS];
	size_t			 going[CHILD__KINDS];	/* signalled or last */
} pool;

void
pool_init(struct scoreboard *sb)
{
	pool.sb = sb;
}

/* Will this child go on serving?  (Not told to go, not on its last.) */
static int
going(const struct pool_entry *e)
{
	return e->signalled || e->last;
}

static size_t
h_home(pid_t pid)
{
	return ((uint32_t)pid * 2654435769u) >> (32 - pool.hbits);
}

/* The bucket holding pid, or the empty one where it would go. */
static size_t
h_bucket(pid_t pid)
{
	size_t	mask = ((size_t)1 << pool.hbits) - 1, i = h_home(pid);

	while (pool.hash[i] != 0 && pool.e[pool.hash[i] - 1].pid != pid)
		i = (i + 1) & mask;
	return i;
}

/* At most half full, so that a probe ends after a step or two. */
static void
h_grow(void)
{
	unsigned int	*h, bits = pool.hbits ? pool.hbits + 1 : 8;
	size_t		 i;

	if ((h = calloc((size_t)1 << bits, sizeof(*h))) == NULL)
		fatal("%s: calloc", __func__);
	free(pool.hash);
	pool.hash = h;
	pool.hbits = bits;
	for (i = 0; i < pool.n; i++)
		pool.hash[h_bucket(pool.e[i].pid)] = (unsigned int)i + 1;
}

/* Empty bucket i, moving back the entries that probed past it. */
static void
h_delete(size_t i)
{
	size_t	mask = ((size_t)1 << pool.hbits) - 1, j = i, k;

	pool.hash[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (pool.hash[j] == 0)
			return;
		k = h_home(pool.e[pool.hash[j] - 1].pid);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;	/* its home is after the hole */
		pool.hash[i] = pool.hash[j];
		pool.hash[j] = 0;
		i = j;
	}
}

struct pool_entry *
pool_find(pid_t pid)
{
	unsigned int	x;

	if (pool.n == 0 || pid <= 0)
		return NULL;
	x = pool.hash[h_bucket(pid)];
	return x != 0 ? &pool.e[x - 1] : NULL;
}

static struct pool_entry *
pool_add(pid_t pid, int slot, int kind)
{
	struct pool_entry	*e;
	size_t			 cap;

	if ((e = pool_find(pid)) != NULL)
		return e;
	if (pool.n == pool.cap) {
		cap = pool.cap ? pool.cap * 2 : 64;
		if ((e = reallocarray(pool.e, cap, sizeof(*e))) == NULL)
			fatal("%s: reallocarray", __func__);
		pool.e = e;
		pool.cap = cap;
	}
	if ((pool.n + 1) * 2 > ((size_t)1 << pool.hbits))
		h_grow();
	e = &pool.e[pool.n];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->slot = slot;
	e->kind = kind;
	e->started_ms = now_ms();
	pool.hash[h_bucket(pid)] = (unsigned int)++pool.n;
	pool.count[kind]++;
	return e;
}

/*
 * A child was just forked into slot (taken by scoreboard_alloc, which
 * wrote STARTING): the parent writes who is in it.  The child writes
 * the rest of its slot itself.
 */
void
pool_forked(struct pfsd_server *srv, pid_t pid, int slot, int kind)
{
	struct slot	*s = &pool.sb->slots[slot];

	s->pid = pid;
	s->generation = srv->generation;
	snprintf(s->handler, sizeof(s->handler), "%s", srv->plugin.name);
	pool_add(pid, slot, kind);
}

/* Old children that ended since the exec: what they counted stays. */
struct ended {
	pid_t	pid;
	int	status;
};

static void
adopt_ended(struct pfsd_server *srv, struct ended *gone, size_t n)
{
	struct pool_entry	*e;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if ((e = pool_find(gone[i].pid)) == NULL)
			continue;
		metrics_child_gone(srv, e, gone[i].status);
		pool_remove(e);
	}
}

/*
 * After a HUP: take the previous image's children (pids, "1,2,3") into
 * our care, find their slots, and free the slots of the ones that are
 * gone or not ours -- one pass over the scoreboard, however many.
 */
void
pool_adopt(struct pfsd_server *srv, const char *pids)
{
	struct slot	*s;
	struct pool_entry *e;
	struct ended	*gone = NULL, *g;
	char		*end;
	long		 pid;
	size_t		 i, ngone = 0, cap = 0;
	int		 st;

	while (pids != NULL && *pids != '\0') {
		pid = strtol(pids, &end, 10);
		if (end == pids || pid <= 0)
			break;
		/* only our own children: a stale or forged variable must
		 * not make us signal other processes */
		switch (waitpid((pid_t)pid, &st, WNOHANG)) {
		case -1:
			break;
		case 0:
			pool_add((pid_t)pid, -1, CHILD_OLD);
			break;
		default:	/* ended since the exec: counted below */
			if (ngone == cap) {
				cap = cap ? cap * 2 : 16;
				if ((g = reallocarray(gone, cap,
				    sizeof(*g))) == NULL)
					fatal("%s: reallocarray", __func__);
				gone = g;
			}
			gone[ngone].pid = (pid_t)pid;
			gone[ngone++].status = st;
			pool_add((pid_t)pid, -1, CHILD_OLD);
			break;
		}
		pids = *end == ',' ? end + 1 : end;
	}
	for (i = 0; i < pool.sb->nslots; i++) {
		s = &pool.sb->slots[i];
		if (s->state == SLOT_FREE && s->pid == 0)
			continue;
		if (s->state != SLOT_FREE && (e = pool_find(s->pid)) != NULL &&
		    e->slot == -1) {
			e->slot = (int)i;
			continue;
		}
		scoreboard_release(pool.sb, (int)i);
	}
	adopt_ended(srv, gone, ngone);
	free(gone);
}

/* The child was reaped (or vanished): its slot is free again. */
void
pool_remove(struct pool_entry *e)
{
	size_t	x = (size_t)(e - pool.e);

	pool.count[e->kind]--;
	if (going(e))
		pool.going[e->kind]--;
	if (e->slot >= 0)
		scoreboard_release(pool.sb, e->slot);
	h_delete(h_bucket(e->pid));
	if (x != --pool.n) {
		pool.e[x] = pool.e[pool.n];
		pool.hash[h_bucket(pool.e[x].pid)] = (unsigned int)x + 1;
	}
}

/*
 * Walk the children: it = 0, then as returned.  Removing the entry just
 * returned is allowed (the last one takes its place and is visited next).
 */
struct pool_entry *
pool_next(size_t *it)
{
	return *it < pool.n ? &pool.e[(*it)++] : NULL;
}

/* Step back over an entry pool_remove() replaced, during a walk. */
static void
pool_removed_at(size_t *it)
{
	(*it)--;
}

size_t
pool_size(void)
{
	return pool.n;
}

/* Children of a kind; active: only those that will go on serving. */
size_t
pool_count(int kind, int active)
{
	return pool.count[kind] - (active ? pool.going[kind] : 0);
}

static void
set_going(struct pool_entry *e)
{
	if (!going(e))
		pool.going[e->kind]++;
}

/*
 * Children that began their last request (scoreboard_may_retire) set
 * their bit; count them out, so that fill_pool() starts their
 * replacements now.  The slot's own flag and pid guard against a slot
 * freed and handed out again since the bit was set.
 */
void
pool_note_last(void)
{
	struct pool_entry	*e;
	struct slot		*s;
	unsigned long		 bits;
	size_t			 w, i;

	for (w = 0; w * LAST_BITS < pool.sb->nslots; w++) {
		for (bits = scoreboard_take_last(pool.sb, w); bits != 0;
		    bits &= bits - 1) {
			i = w * LAST_BITS + (size_t)__builtin_ctzl(bits);
			s = &pool.sb->slots[i];
			if (!s->last || (e = pool_find(s->pid)) == NULL ||
			    e->slot != (int)i)
				continue;
			set_going(e);
			e->last = 1;
		}
	}
}

/* Tell one child to finish its request (if any) and exit. */
void
pool_retire(struct pool_entry *e)
{
	if (e->signalled)
		return;
	set_going(e);
	e->signalled = 1;
	e->retired_ms = now_ms();
	kill(e->pid, SIGHUP);
}

/* End one child now (request_timeout, graceful_timeout): TERM or KILL. */
void
pool_kill(struct pool_entry *e, int sig)
{
	set_going(e);
	e->signalled = 1;
	e->killed_ms = now_ms();
	kill(e->pid, sig);
}

/*
 * Children that vanished without a SIGCHLD (check_for_dead): a walk, but
 * every check_for_dead seconds, not per event.
 */
void
pool_check_dead(struct pfsd_server *srv)
{
	struct pool_entry	*e;
	size_t			 it = 0;

	while ((e = pool_next(&it)) != NULL) {
		if (kill(e->pid, 0) == -1 && errno == ESRCH) {
			log_warnx("child %ld is gone", (long)e->pid);
			hooks_child_gone(srv, e->pid, -1, 1);
			pool_remove(e);
			pool_removed_at(&it);
		}
	}
}

pid_t
pool_pid(const struct pool_entry *e)
{
	return e->pid;
}

int
pool_kind(const struct pool_entry *e)
{
	return e->kind;
}

int
pool_signalled(const struct pool_entry *e)
{
	return e->signalled;
}

/* Its scoreboard slot (the child writes it), or NULL. */
struct slot *
pool_slot(const struct pool_entry *e)
{
	return e->slot >= 0 ? &pool.sb->slots[e->slot] : NULL;
}

long long
pool_started_ms(const struct pool_entry *e)
{
	return e->started_ms;
}

long long
pool_killed_ms(const struct pool_entry *e)
{
	return e->killed_ms;
}

long long
pool_retired_ms(const struct pool_entry *e)
{
	return e->retired_ms;
}
