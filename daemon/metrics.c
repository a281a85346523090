/*
 * metrics.c - what the pool has done, in the Prometheus text exposition
 * format (`pfsd status --metrics`).
 *
 * Counting costs the serving path no lock and no syscall: each child
 * counts in its own scoreboard slot (metrics_request, after a request),
 * and the parent folds a slot into its own totals when it reaps the
 * child (metrics_child_gone).  A reading is the parent's totals plus the
 * live slots.  The parent's totals cross the HUP re-exec (history.c
 * keeps them), and the children of the previous generation are folded in
 * when they end like any other: a reload is no counter reset.
 */
#include "internal.h"

#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Upper bounds of the duration buckets, in microseconds (+Inf last). */
static const unsigned long long metrics_bounds_us[METRICS_BUCKETS - 1] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
	2500000, 5000000, 10000000
};

static const char *const exit_names[EXIT__COUNT] = {
	[EXIT_NORMAL] = "exited",
	[EXIT_FAILED] = "failed",
	[EXIT_CRASHED] = "crashed",
	[EXIT_TIMEOUT] = "timeout",
	[EXIT_KILLED] = "killed"
};

/* Child: one request ended, allowed or denied, after us microseconds. */
void
metrics_request(struct slot *s, int allowed, unsigned long long us)
{
	size_t	i;

	for (i = 0; i < METRICS_BUCKETS - 1 && us > metrics_bounds_us[i]; i++)
		continue;
	s->hist[i]++;
	s->dur_us += us;
	if (!allowed)
		s->denied++;
}

static void
fold(struct metrics *m, const struct slot *s)
{
	size_t	i;

	m->served += s->served;
	m->denied += s->denied;
	m->dur_us += s->dur_us;
	for (i = 0; i < METRICS_BUCKETS; i++)
		m->hist[i] += s->hist[i];
}

/* Parent: why a child ended, for pfsd_child_exits_total. */
enum exit_reason
metrics_exit_reason(const struct pool_entry *c, int status)
{
	int	sig;

	if (pool_killed_ms(c) != 0)
		return EXIT_TIMEOUT;	/* request_timeout, graceful_timeout */
	if (!WIFSIGNALED(status))
		return WEXITSTATUS(status) == 0 ? EXIT_NORMAL : EXIT_FAILED;
	sig = WTERMSIG(status);
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
	    sig == SIGILL || sig == SIGFPE || sig == SIGSYS ? EXIT_CRASHED :
	    EXIT_KILLED;
}

/* Parent: a worker was reaped; keep what its slot counted. */
void
metrics_child_gone(struct pfsd_server *srv, const struct pool_entry *c,
    int status)
{
	if (pool_slot(c) != NULL) {
		fold(&srv->metrics, pool_slot(c));
		srv->total_served += pool_slot(c)->served;
	}
	srv->metrics.exits[metrics_exit_reason(c, status)]++;
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
write_children(FILE *f)
{
	size_t		 count[2][SLOT__COUNT];
	const char	*gen[2] = { "current", "old" };
	struct pool_entry *c;
	size_t		 it = 0, g, st;

	memset(count, 0, sizeof(count));
	while ((c = pool_next(&it)) != NULL) {
		if (pool_slot(c) == NULL || pool_kind(c) == CHILD_DEQUEUE)
			continue;
		st = (size_t)pool_slot(c)->state;
		if (st < SLOT__COUNT)
			count[pool_kind(c) == CHILD_OLD][st]++;
	}
	head(f, "pfsd_children", "gauge", "Children of the pool by state "
	    "and generation (old: from before the last HUP).");
	for (g = 0; g < 2; g++)
		for (st = 1; st < SLOT__COUNT - 1; st++)
			fprintf(f, "pfsd_children{state=\"%s\",generation="
			    "\"%s\"} %zu\n", slot_state_name((int)st), gen[g],
			    count[g][st]);
}

static void
write_histogram(FILE *f, const struct metrics *m)
{
	unsigned long	cum = 0;
	size_t		i;

	head(f, "pfsd_request_duration_seconds", "histogram", "Time from "
	    "accepting a connection to its end.");
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += m->hist[i];
		if (i < METRICS_BUCKETS - 1)
			fprintf(f, "pfsd_request_duration_seconds_bucket{le=\""
			    "%g\"} %lu\n", (double)metrics_bounds_us[i] / 1e6,
			    cum);
		else
			fprintf(f, "pfsd_request_duration_seconds_bucket{le=\""
			    "+Inf\"} %lu\n", cum);
	}
	fprintf(f, "pfsd_request_duration_seconds_sum %.6f\n"
	    "pfsd_request_duration_seconds_count %lu\n",
	    (double)m->dur_us / 1e6, cum);
}

/*
 * A reading: the parent's totals plus what the live children counted (a
 * walk of the children: per scrape, and once a second for the history).
 */
void
metrics_totals(const struct pfsd_server *srv, struct metrics *m)
{
	struct pool_entry	*c;
	size_t			 it = 0;

	*m = srv->metrics;
	while ((c = pool_next(&it)) != NULL)
		if (pool_slot(c) != NULL && pool_kind(c) != CHILD_DEQUEUE)
			fold(m, pool_slot(c));
}

/* Requests that ended, served or denied. */
unsigned long
metrics_ended(const struct metrics *m)
{
	unsigned long	ended = 0;
	size_t		i;

	for (i = 0; i < METRICS_BUCKETS; i++)
		ended += m->hist[i];
	return ended;
}

/* What went wrong: requests denied, children that ended badly. */
unsigned long
metrics_errors(const struct metrics *m)
{
	return m->denied + m->exits[EXIT_FAILED] + m->exits[EXIT_CRASHED] +
	    m->exits[EXIT_TIMEOUT] + m->exits[EXIT_KILLED];
}

/* The whole exposition, as `pfsd status --metrics` prints it. */
void
metrics_render(const struct pfsd_server *srv, FILE *f)
{
	struct metrics	m;
	unsigned long	ended;
	size_t		i;
	long long	now = now_ms();

	metrics_totals(srv, &m);
	head(f, "pfsd_build_info", "gauge", "pfsd's version and plugin ABI.");
	fprintf(f, "pfsd_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n",
	    PACKAGE_VERSION, PFSD_ABI_MAJOR, PFSD_ABI_MINOR);
	head(f, "pfsd_generation", "gauge", "HUPs since pfsd started.");
	fprintf(f, "pfsd_generation %u\n", srv->generation);
	head(f, "pfsd_uptime_seconds", "gauge", "Seconds since this "
	    "generation started.");
	fprintf(f, "pfsd_uptime_seconds %.3f\n",
	    (double)(now - srv->start_ms) / 1000);
	head(f, "pfsd_max_servers", "gauge", "Children the pool keeps.");
	fprintf(f, "pfsd_max_servers %ld\n", srv->max_servers);
	write_children(f);
	ended = metrics_ended(&m);
	head(f, "pfsd_connections_accepted_total", "counter", "Connections "
	    "and datagrams the children took.");
	fprintf(f, "pfsd_connections_accepted_total %lu\n", m.served);
	head(f, "pfsd_requests_total", "counter", "Requests that ended, by "
	    "outcome: served by the handler, or denied by the access rules "
	    "(a request whose child died is in pfsd_child_exits_total).");
	fprintf(f, "pfsd_requests_total{outcome=\"served\"} %lu\n"
	    "pfsd_requests_total{outcome=\"denied\"} %lu\n",
	    ended - (m.denied < ended ? m.denied : ended), m.denied);
	head(f, "pfsd_child_exits_total", "counter", "Children that ended, by "
	    "reason (timeout: stopped by pfsd for taking too long, a request "
	    "past request_timeout or an old-generation child past "
	    "graceful_timeout after a HUP).");
	for (i = 0; i < EXIT__COUNT; i++)
		fprintf(f, "pfsd_child_exits_total{reason=\"%s\"} %lu\n",
		    exit_names[i], m.exits[i]);
	head(f, "pfsd_reloads_total", "counter", "HUPs by result: ok (the "
	    "new generation serves), refused (before the exec: the check "
	    "failed), rolled_back (the new image failed to start).");
	for (i = 0; i < RELOAD__COUNT; i++)
		fprintf(f, "pfsd_reloads_total{result=\"%s\"} %lu\n",
		    history_result_name((int)i), history_reloads((int)i));
	write_histogram(f, &m);
}
