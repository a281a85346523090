/*
 * history.c - what the parent remembers beyond the present moment: the
 * reloads (how many ok, refused, rolled back, and the last few with their
 * reason), its counters' totals, and requests and errors per second over
 * the last minutes (the status page's chart).
 *
 * All of it lives in one memfd mapping that crosses the HUP re-exec as
 * the scoreboard does (restart.c names the descriptor in the
 * environment), so a reload is not a counter reset for Prometheus and the
 * chart and the history go on.  A new image whose layout differs (an
 * upgrade) starts afresh rather than misread it.
 *
 * Sampling costs no timer of its own while the pool is idle: the parent
 * samples when its loop runs, at most once a second, and asks to wake up
 * at the next second only while the last sample saw requests or errors.
 * Counts found after a sleep are spread over the seconds slept.
 */
#include "internal.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HISTORY_MAGIC	"pfsdhis1"

struct history_state {
	char		 magic[8];
	size_t		 size;		/* of this struct */
	unsigned long	 reloads[RELOAD__COUNT];
	unsigned long	 nevents;	/* ever recorded; next in */
	struct reload_event ev[HISTORY_RELOADS];	/* [nevents % N] */
	struct metrics	 totals;	/* the parent's, at the exec */
	unsigned long	 served;	/* its total_served then */
	int		 sampling;	/* sec and the sums are set */
	int		 active;	/* the last sample saw some */
	long long	 sec;		/* last second sampled */
	unsigned long	 requests;	/* the sums then */
	unsigned long	 errors;
	struct history_second s[HISTORY_SECONDS];	/* [sec % N] */
};

static void	 sample(const struct pfsd_server *);

static struct history_state	 fallback;	/* without a memfd */
static struct history_state	*h = &fallback;
static int			 hfd = -1;

static int
layout_ok(const struct history_state *st)
{
	return memcmp(st->magic, HISTORY_MAGIC, sizeof(st->magic)) == 0 &&
	    st->size == sizeof(*st);
}

static struct history_state *
map_fd(int fd)
{
	struct stat	 sb;
	void		*p;

	if (fstat(fd, &sb) == -1 || sb.st_size != (off_t)sizeof(*h))
		return NULL;
	p = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * The parent's start (restart_commit): take over what the previous image
 * kept in fd (its totals become ours), or begin a new history.  Without
 * a memfd the history stays in this image's memory.
 */
void
history_open(struct pfsd_server *srv, int fd)
{
	struct history_state	*st;

	if (fd != -1 && (st = map_fd(fd)) != NULL) {
		if (layout_ok(st)) {
			h = st;
			hfd = fd;
			srv->metrics = h->totals;
			srv->total_served = h->served;
			return;
		}
		munmap(st, sizeof(*st));	/* another version's */
	}
	if (fd != -1)
		close(fd);
	if ((fd = memfd_create("pfsd-history", MFD_CLOEXEC)) == -1 ||
	    ftruncate(fd, sizeof(*h)) == -1 || (st = map_fd(fd)) == NULL) {
		log_warn("history: kept in memory only (a HUP forgets it)");
		if (fd != -1)
			close(fd);
		st = &fallback;
		fd = -1;
	}
	memset(st, 0, sizeof(*st));
	memcpy(st->magic, HISTORY_MAGIC, sizeof(st->magic));
	st->size = sizeof(*st);
	h = st;
	hfd = fd;
	sample(srv);		/* from zero: the first requests count */
}

/* The descriptor that goes across the exec, or -1. */
int
history_fd(void)
{
	return hfd;
}

/* Just before the exec: the totals go along. */
void
history_save(const struct pfsd_server *srv)
{
	h->totals = srv->metrics;
	h->served = srv->total_served;
}

/* A child keeps none of it. */
void
history_forget(void)
{
	if (hfd != -1) {
		munmap(h, sizeof(*h));
		close(hfd);
	}
	h = &fallback;
	hfd = -1;
}

/* A reload ended with result; generation serves now. */
void
history_reload(int result, unsigned int generation, const char *reason)
{
	struct reload_event	*e = &h->ev[h->nevents % HISTORY_RELOADS];

	if (result < 0 || result >= RELOAD__COUNT)
		return;
	h->reloads[result]++;
	h->nevents++;
	memset(e, 0, sizeof(*e));
	e->time = (long long)time(NULL);
	e->generation = generation;
	e->result = result;
	snprintf(e->reason, sizeof(e->reason), "%s", reason != NULL ?
	    reason : "");
}

/* A result's name: the metric's label, the status page's class. */
const char *
history_result_name(int result)
{
	static const char *const names[RELOAD__COUNT] = {
		[RELOAD_OK] = "ok",
		[RELOAD_REFUSED] = "refused",
		[RELOAD_ROLLED_BACK] = "rolled_back"
	};

	return result >= 0 && result < RELOAD__COUNT ? names[result] :
	    "unknown";
}

unsigned long
history_reloads(int result)
{
	return result >= 0 && result < RELOAD__COUNT ? h->reloads[result] : 0;
}

/* The i-th most recent reload (0: the last), or NULL. */
const struct reload_event *
history_event(size_t i)
{
	if (i >= HISTORY_RELOADS || i >= h->nevents)
		return NULL;
	return &h->ev[(h->nevents - 1 - i) % HISTORY_RELOADS];
}

/* count over the seconds after h->sec up to sec, spread evenly. */
static void
spread(long long sec, unsigned long dreq, unsigned long derr)
{
	long long	 gap = sec - h->sec, t;
	struct history_second *s;

	for (t = gap > HISTORY_SECONDS ? sec - HISTORY_SECONDS + 1 :
	    h->sec + 1; t <= sec; t++) {
		s = &h->s[t % HISTORY_SECONDS];
		/* the remainders go to the last seconds */
		s->requests = (unsigned int)(dreq / (unsigned long)gap +
		    (sec - t < (long long)(dreq % (unsigned long)gap)));
		s->errors = (unsigned int)(derr / (unsigned long)gap +
		    (sec - t < (long long)(derr % (unsigned long)gap)));
	}
}

/* Sample the counters: into the seconds since the last sample, or into
 * the current one again (a reader wants the present). */
static void
sample(const struct pfsd_server *srv)
{
	struct metrics		 m;
	struct history_second	*cur;
	unsigned long		 req, err;
	long long		 sec = now_ms() / 1000;

	metrics_totals(srv, &m);
	req = metrics_ended(&m);
	err = metrics_errors(&m);
	if (!h->sampling || req < h->requests || err < h->errors ||
	    sec < h->sec) {
		/* the first sample, or counts from elsewhere: a baseline */
		memset(h->s, 0, sizeof(h->s));
		h->active = 0;
	} else if (sec == h->sec) {
		cur = &h->s[sec % HISTORY_SECONDS];
		cur->requests += (unsigned int)(req - h->requests);
		cur->errors += (unsigned int)(err - h->errors);
		h->active |= req != h->requests || err != h->errors;
	} else {
		spread(sec, req - h->requests, err - h->errors);
		h->active = req != h->requests || err != h->errors;
	}
	h->sampling = 1;
	h->sec = sec;
	h->requests = req;
	h->errors = err;
}

/* In the parent's loop: sample, at most once a second. */
void
history_tick(const struct pfsd_server *srv)
{
	if (!h->sampling || now_ms() / 1000 > h->sec)
		sample(srv);
}

/* When the loop must run for the next sample; -1: not while idle. */
long long
history_due(void)
{
	return h->sampling && h->active ? (h->sec + 1) * 1000 : -1;
}

/*
 * The last n seconds up to now, oldest first, into out (sampling first,
 * so that a reader sees the present).  How many there are.
 */
size_t
history_seconds(const struct pfsd_server *srv, struct history_second *out,
    size_t n)
{
	size_t		i;
	long long	sec;

	sample(srv);
	if (n > HISTORY_SECONDS)
		n = HISTORY_SECONDS;
	for (i = 0; i < n; i++) {
		sec = h->sec - (long long)(n - 1 - i);
		out[i] = sec >= 0 ? h->s[sec % HISTORY_SECONDS] :
		    (struct history_second){ 0, 0 };
	}
	return n;
}
