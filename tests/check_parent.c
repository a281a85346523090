/*
 * check_parent.c - the parent's lifecycle (parent.c): it spawns the pool
 * and keeps it full, recycles children after max_requests (replacement
 * first, a few at a time, with jitter), reaps and replaces crashed ones,
 * backs off when children die at start or fork fails, runs the dequeue,
 * grows and shrinks on TTIN/TTOU, stops gracefully on QUIT and at once on
 * TERM, survives a storm of signals, and takes its children with it when
 * it dies.  The real pfsd binary, real sockets, real processes.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"

#define NOGROUP		65534
#define DAY_MS		86400000L

static int	port;
static char	portarg[64];

START_TEST(test_child_count)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=3", NULL };
	char			 buf[64];

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
	    sizeof(buf)), 6);
	ck_assert_str_eq(buf, "hello\n");
	ck_assert_int_eq(h_children(p.pid, NULL, 0), 3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_max_requests_recycles)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", "--max_requests=2",
				    NULL };
	long			 a, b, c;

	port = h_serve(&p, TPLUGIN("hooks"), av);
	a = h_serving_pid(port);
	b = h_serving_pid(port);
	c = h_serving_pid(port);	/* the first child served 2: a new one */
	ck_assert_int_eq(a, b);
	ck_assert_int_ne(b, c);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* When a child starts its last request, its replacement is forked at
 * once: during that request the pool has max_servers + 1 children. */
START_TEST(test_replacement_before_last_request_ends)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=" TPLUGIN("sleepy"),
				    "--max_servers=1", "--max_requests=1",
				    NULL };
	char			 buf[64];
	int			 fd;

	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_eq(write(fd, "1500\n", 5), 5);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 1000), 0);
	ck_assert_int_eq(h_talk_fd(fd, NULL, buf, sizeof(buf), 5000), 11);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Recycling takes at most a few children away at once: with 20
 * children all on their last request (max_requests 1), only
 * max(2, max_servers / 10) retire now, the rest serve once more. */
START_TEST(test_recycling_cap)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=" TPLUGIN("sleepy"),
				    "--max_servers=20", "--max_requests=1",
				    NULL };
	char			 buf[64];
	int			 fds[10], i, n, peak = 0;
	long long		 end;

	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 20, 10000), 0);
	for (i = 0; i < 10; i++) {
		fds[i] = h_connect_tcp("127.0.0.1", port);
		ck_assert_int_eq(write(fds[i], "1000\n", 5), 5);
	}
	for (end = h_now_ms() + 900; h_now_ms() < end; usleep(5000))
		if ((n = h_children(p.pid, NULL, 0)) > peak)
			peak = n;
	ck_assert_msg(peak == 22, "peak of %d children (cap 2)", peak);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(h_talk_fd(fds[i], NULL, buf, sizeof(buf),
		    5000), 11);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Runs of the same pid in a sequence of "info" answers. */
static int
run_lengths(int requests, int *runs, int max)
{
	long	 pid, last = -1;
	int	 i, n = -1;

	for (i = 0; i < requests; i++) {
		pid = h_serving_pid(port);
		if (pid != last && n + 1 < max)
			runs[++n] = 0;
		runs[n]++;
		last = pid;
	}
	return n + 1;
}

START_TEST(test_max_requests_jitter)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=" TPLUGIN("hooks"),
				    "--max_servers=1", "--max_requests=3",
				    "--max_requests_jitter=4", NULL };
	int			 runs[64], n, i;

	int			 lengths = 0;

	port = h_serve(&p, NULL, av);
	n = run_lengths(100, runs, 64);
	ck_assert_int_ge(n, 10);
	for (i = 0; i < n - 1; i++) {	/* the last run may be cut short */
		ck_assert_msg(runs[i] >= 3 && runs[i] <= 7,
		    "a child served %d requests", runs[i]);
		lengths |= 1 << runs[i];
	}
	/* the bounds hold without jitter too: the children must differ
	 * (all of 9 or more runs drawing the same is (1/5)^8 unlikely) */
	ck_assert_msg(__builtin_popcount(lengths) >= 2, "every child served "
	    "the same number of requests: no jitter");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_crashing_handler_pool_survives)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=2", NULL };
	char			 buf[256];
	int			 i;

	port = h_serve(&p, TPLUGIN("hooks"), av);
	for (i = 0; i < 5; i++) {
		h_talk("127.0.0.1", port, "crash\n", buf, sizeof(buf));
		ck_assert_int_eq(h_talk("127.0.0.1", port, "ok\n", buf,
		    sizeof(buf)), 3);
		ck_assert_str_eq(buf, "ok\n");
	}
	ck_assert_int_eq(h_wait_log(&p, "killed by signal 6", 5000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * Watch the hooks log until it has n child_init_hook lines (children
 * started); t[i] is when child i started, by its own clock (time_init:
 * " ms=T"), so the test's own delays do not shift it.  0, or -1 after
 * ms_max.
 */
static int
spawns(const char *log, long long *t, int have, int n, int ms_max)
{
	long long	 end = h_now_ms() + ms_max;
	char		*s, *l, *m;
	int		 c;

	while (h_now_ms() < end) {
		s = h_read_file(log);
		for (c = 0, l = s; l != NULL &&
		    (l = strstr(l, "child_init_hook ")) != NULL; l++, c++)
			if (c >= have && c < n && (m = strstr(l, " ms=")) !=
			    NULL && m < strchr(l, '\n'))
				t[c] = strtoll(m + 4, NULL, 10);
		free(s);
		if (c > have)
			have = c < n ? c : n;
		if (have >= n)
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * Children that die at start are restarted after a delay that doubles:
 * 100, 200, 400, 800 ms, measured between the starts.  A child that then
 * served a request resets it: after that, the next failing start waits
 * 100 ms again, not twice the last delay.
 */
START_TEST(test_failing_init_backs_off)
{
	struct hproc	 p;
	char		 hookarg[600], failarg[600];
	const char	*av[] = { "--max_servers=1", "--max_requests=1",
			    hookarg, failarg, "--time_init=1", NULL };
	const char	*fail = h_path("failing"), *log = h_path("hooks.log");
	long long	 t[16], gap;
	pid_t		 kid;
	char		 buf[64];
	int		 i;

	snprintf(hookarg, sizeof(hookarg), "--hook_log=%s", log);
	snprintf(failarg, sizeof(failarg), "--fail_init_file=%s", fail);
	h_write("failing", "\n");
	port = h_serve(&p, TPLUGIN("hooks"), av);
	ck_assert_int_eq(spawns(log, t, 0, 4, 5000), 0);
	unlink(fail);		/* the next start (the 5th) is healthy */
	for (i = 1; i < 4; i++) {
		gap = t[i] - t[i - 1];
		/* each start is at least the delay after the one before:
		 * the children's own clock (1 ms of rounding) */
		ck_assert_msg(gap >= (100 << (i - 1)) - 1 &&
		    gap < (100 << (i - 1)) + 1000, "start %d came %lld ms "
		    "after the one before; want %d", i, gap, 100 << (i - 1));
	}
	ck_assert_int_eq(spawns(log, t, 4, 5, 5000), 0);
	ck_assert_int_ge(t[4] - t[3], 800 - 1);
	/* it serves its one request; its replacement starts, healthy */
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(spawns(log, t, 5, 6, 5000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, &kid, 1), 1);
	/* failing again, from a kill that is not a crash: the delay
	 * starts over at 100 ms (without the reset: 1600) */
	h_write("failing", "\n");
	kill(kid, SIGKILL);
	ck_assert_int_eq(spawns(log, t, 6, 8, 5000), 0);
	gap = t[7] - t[6];
	ck_assert_msg(gap >= 100 - 1 && gap < 700, "after healthy service, "
	    "a failing start waited %lld ms for the next; want 100", gap);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* The real uid of pid, or -1. */
static long
proc_uid(pid_t pid)
{
	char	path[64], *st, *u;
	long	uid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((st = h_read_file(path)) == NULL)
		return -1;
	if ((u = strstr(st, "\nUid:")) != NULL)
		uid = strtol(u + 5, NULL, 10);
	free(st);
	return uid;
}

/* A uid no account and no process has: RLIMIT_NPROC counts only ours. */
static uid_t
unused_uid(void)
{
	DIR		*d;
	struct dirent	*e;
	uid_t		 uid;
	int		 busy;

	for (uid = 50000 + (uid_t)(getpid() % 10000);; uid++) {
		if (getpwuid(uid) != NULL)
			continue;
		ck_assert_ptr_nonnull(d = opendir("/proc"));
		busy = 0;
		while ((e = readdir(d)) != NULL && !busy)
			busy = atol(e->d_name) > 0 &&
			    proc_uid((pid_t)atol(e->d_name)) == (long)uid;
		closedir(d);
		if (!busy)
			return uid;
	}
}

/* A process of uid that only waits: it counts against RLIMIT_NPROC. */
static pid_t
hog(uid_t uid)
{
	pid_t	pid, parent = getpid();
	int	i;

	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) == -1 ||
		    setresgid(NOGROUP, NOGROUP, NOGROUP) == -1 ||
		    setresuid(uid, uid, uid) == -1)
			_exit(1);
		/* the uid change cleared any death signal: set it now */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	ck_assert_int_gt(pid, 0);
	for (i = 0; i < 500 && proc_uid(pid) != (long)uid; i++)
		poll(NULL, 0, 10);
	ck_assert_int_eq(proc_uid(pid), (long)uid);
	return pid;
}

/*
 * pfsd under --user loses the PR_SET_PDEATHSIG the harness gave it (the
 * kernel clears it when the uid changes).  A guard process kills it when
 * this test process dies, a failed assertion included.
 */
static pid_t	guard_pid;

static void
guard(pid_t victim)
{
	sigset_t	set;
	pid_t		pid, parent = getpid();
	int		sig, fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if ((pid = fork()) == 0) {
		sigprocmask(SIG_BLOCK, &set, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		for (fd = 3; fd < 1024; fd++)
			close(fd);	/* hold no socket of the test open */
		if (getppid() == parent)
			sigwait(&set, &sig);
		kill(victim, SIGKILL);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	guard_pid = pid;
}

/* The victim is gone: the guard must not kill its pid, reused. */
static void
unguard(void)
{
	kill(guard_pid, SIGKILL);
	waitpid(guard_pid, NULL, 0);
}

/* Milliseconds since midnight of the log lines holding s, in order. */
static int
log_times(struct hproc *p, const char *s, long *ms, int max)
{
	char	*log = h_read_file(p->log), *line, *save;
	int	 n = 0, h, m, sec, milli;

	for (line = strtok_r(log, "\n", &save); line != NULL && n < max;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, s) != NULL && sscanf(line,
		    "%*d-%*d-%*d %d:%d:%d.%d", &h, &m, &sec, &milli) == 4)
			ms[n++] = ((h * 60L + m) * 60 + sec) * 1000 + milli;
	free(log);
	return n;
}

/*
 * fork fails (RLIMIT_NPROC: the uid pfsd runs as already has as many
 * processes as allowed, two of them ours): the parent serves with the
 * child it has, logs each failure, retries after 100, 200, 400, 800 ms
 * and fills the pool once processes can be made again.  pfsd must run as
 * a user for this: root's forks ignore RLIMIT_NPROC.
 */
START_TEST(test_fork_failure_backoff)
{
	struct hproc	 p;
	struct hopts	 o;
	char		 user[32], group[32];
	const char	*av[] = { "--max_servers=3", user, group, NULL };
	const char	*eagain = "warning: fork: Resource temporarily "
			    "unavailable";
	long		 t[8], gap;
	pid_t		 h1, h2;
	uid_t		 uid = unused_uid();
	int		 i, n;

	snprintf(user, sizeof(user), "--user=%ld", (long)uid);
	snprintf(group, sizeof(group), "--group=%d", NOGROUP);
	h1 = hog(uid);
	h2 = hog(uid);
	memset(&o, 0, sizeof(o));
	o.rlimit_set = 1;
	o.rlimit = RLIMIT_NPROC;
	o.soft = o.hard = 4;	/* hogs 2 + parent 1: room for one child */
	o.forked = guard;
	port = h_serve_opts(&p, "echo", av, &o);
	ck_assert_int_eq(h_wait_log_count(&p, eagain, 4, 10000), 0);
	ck_assert_int_eq(h_children(p.pid, NULL, 0), 1);
	h_talk_ok(port, "served by the one child\n",
	    "served by the one child\n");
	n = log_times(&p, eagain, t, 8);
	for (i = 1; i < 4 && i < n; i++) {
		gap = (t[i] - t[i - 1] + DAY_MS) % DAY_MS;
		ck_assert_msg(gap >= (100L << (i - 1)) - 2, "retry %d came %ld "
		    "ms after the one before; want %ld", i, gap,
		    100L << (i - 1));
	}
	kill(h1, SIGKILL);
	kill(h2, SIGKILL);
	waitpid(h1, NULL, 0);
	waitpid(h2, NULL, 0);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 15000), 0);
	h_talk_ok(port, "full again\n", "full again\n");
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	unguard();
}
END_TEST

/*
 * A child whose child_init_hook fails after a long wait (a dependency
 * that is down and times out, 1.1 s here) is restarted after a growing
 * delay all the same, not at once: the parent says so and how long it
 * waits.  pfsd goes on running; once the dependency is back, the pool
 * fills and serves.
 */
START_TEST(test_slow_failing_init_backs_off)
{
	struct hproc	 p;
	char		 logarg[600], failarg[600], buf[64];
	const char	*log = h_path("init.log"), *fail = h_path("down");
	const char *const av[] = { "--max_servers=2", "--init_ms=1100",
			    logarg, failarg, NULL };
	long long	 end;

	snprintf(logarg, sizeof(logarg), "--init_log=%s", log);
	snprintf(failarg, sizeof(failarg), "--fail_file=%s", fail);
	h_write("down", "\n");
	port = h_serve(&p, TPLUGIN("slow_init"), av);
	ck_assert_msg(h_wait_log(&p, "failed to start (handler slow_init, "
	    "generation ", 10000) == 0 &&
	    h_wait_log(&p, "; next start in 100 ms", 1000) == 0,
	    "no backoff for a child that failed to start; log:\n%s",
	    h_read_file(p.log));
	ck_assert_int_eq(h_wait_log(&p, "; next start in 200 ms", 10000), 0);
	ck_assert(!h_log_has(&p, "exited with status 3"));
	ck_assert_int_eq(h_alive(p.pid), 1);
	unlink(fail);
	/* the next starts succeed (the delay is 400 ms at most by now) */
	for (end = h_now_ms() + 15000; h_now_ms() < end &&
	    h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)) != 3;)
		usleep(100000);
	ck_assert_str_eq(buf, "ok\n");
	ck_assert_int_eq(h_wait_children(p.pid, 2, 10000), 0);
	/* failed twice, then started */
	ck_assert_int_ge(h_file_count(log, "init "), 3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A handler that crashes at start (SIGABRT in child_init_hook, not the
 * exit status of a refusal) is not respawned in a tight loop either: the
 * deaths within a second of the start, serving no one, back off.
 */
START_TEST(test_crash_at_start_backs_off)
{
	struct hproc	 p;
	char		 failarg[600];
	const char *const av[] = { "--max_servers=1", "--init_crash=1",
			    failarg, NULL };

	snprintf(failarg, sizeof(failarg), "--fail_file=%s", h_path("down"));
	h_write("down", "\n");
	port = h_serve(&p, TPLUGIN("slow_init"), av);
	ck_assert_msg(h_wait_log(&p, "children die at start; next start in "
	    "200 ms", 10000) == 0, "no backoff for children crashing at "
	    "start; log:\n%s", h_read_file(p.log));
	ck_assert(!h_log_has(&p, "failed to start"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_dequeue_runs)
{
	struct hproc	 p;
	char		 hl[600], *log;
	const char	*av[] = { "--max_servers=1", "--max_dequeue=1",
			    "--check_for_dequeue=1", hl, NULL };
	int		 i;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	for (i = 0, log = NULL; i < 300; i++) {
		free(log);
		log = h_read_file(h_path("hooks.log"));
		if (log != NULL && strstr(log, "run_dequeue") != NULL)
			break;
		usleep(10000);
	}
	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(strstr(log, "run_dequeue"));
	free(log);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_ttin_ttou)
{
	struct hproc	p;

	port = h_serve_conf(&p, "handler echo\nmax_servers 2\n");
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	kill(p.pid, SIGTTIN);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	kill(p.pid, SIGTTOU);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	kill(p.pid, SIGTTOU);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_wait_log(&p, "max_servers is now 1", 5000), 0);
	kill(p.pid, SIGTTOU);		/* never below 1 */
	ck_assert_int_eq(h_wait_log(&p,
	    "TTOU: max_servers stays 1 (the minimum)",
	    5000), 0);
	ck_assert_int_eq(h_children(p.pid, NULL, 0), 1);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_ttou_spares_busy_child)
{
	struct hproc	p;
	char		buf[64];
	int		fd;

	port = h_serve_conf(&p, "handler " TPLUGIN("sleepy") "\nmax_servers 2\n"
	    "log_level 3\n");
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "1500\n", 5), 5);
	ck_assert_int_eq(h_wait_log(&p, "connection from", 5000), 0);
	kill(p.pid, SIGTTOU);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 1000), 0);
	ck_assert_int_eq(h_talk_fd(fd, NULL, buf, sizeof(buf), 5000), 11);
	ck_assert_str_eq(buf, "slept 1500\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_quit_finishes_request)
{
	struct hproc	 p;
	char		 buf[64], body[700];
	const char	*pidfile = h_path("pfsd.pid");
	int		 fd, status;

	snprintf(body, sizeof(body), "handler %s\nmax_servers 2\nlog_level 3\n"
	    "pid_file %s\n", TPLUGIN("sleepy"), pidfile);
	port = h_serve_conf(&p, body);
	ck_assert_int_eq(access(pidfile, F_OK), 0);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_eq(write(fd, "1000\n", 5), 5);
	ck_assert_int_eq(h_wait_log(&p, "connection from", 5000), 0);
	kill(p.pid, SIGQUIT);
	ck_assert_int_eq(h_talk_fd(fd, NULL, buf, sizeof(buf), 5000), 11);
	ck_assert_str_eq(buf, "slept 1000\n");
	status = h_wait_exit(&p, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
	ck_assert_int_eq(h_log_has(&p, "graceful stop"), 1);
}
END_TEST

START_TEST(test_quit_graceful_timeout_kills)
{
	struct hproc	p;
	char		buf[64];
	int		fd, status;

	port = h_serve_conf(&p, "handler " TPLUGIN("sleepy") "\nmax_servers 1\n"
	    "graceful_timeout 1\nlog_level 3\n");
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_eq(write(fd, "30000\n", 6), 6);
	ck_assert_int_eq(h_wait_log(&p, "connection from", 5000), 0);
	kill(p.pid, SIGQUIT);
	status = h_wait_exit(&p, 5000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(h_log_has(&p, "graceful_timeout: killing child"), 1);
	h_talk_fd(fd, NULL, buf, sizeof(buf), 1000);
}
END_TEST

START_TEST(test_term_leaves_nothing)
{
	struct hproc	p;
	pid_t		kids[8];
	int		n, i, status;

	port = h_serve_conf(&p, "handler echo\nmax_servers 5\n");
	ck_assert_int_eq(h_wait_children(p.pid, 5, 5000), 0);
	n = h_children(p.pid, kids, 8);
	status = h_stop(&p, SIGTERM, 1500);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < n; i++)
		ck_assert_msg(!h_alive(kids[i]), "child %d outlived TERM",
		    (int)kids[i]);
}
END_TEST

START_TEST(test_parent_killed_children_follow)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=4", NULL };
	pid_t			 kids[8];
	int			 n, i, alive = 1, tries;

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	n = h_children(p.pid, kids, 8);
	ck_assert_int_eq(n, 4);
	kill(p.pid, SIGKILL);
	waitpid(p.pid, NULL, 0);
	p.pid = -1;
	for (tries = 0; tries < 100 && alive; tries++) {
		for (alive = 0, i = 0; i < n; i++)
			alive += h_alive(kids[i]);
		if (alive)
			usleep(10000);
	}
	ck_assert_msg(alive == 0, "%d children outlived the parent by 1s",
	    alive);
}
END_TEST

/*
 * For the failure message (seen 1 run in 10 under ASan, unexplained):
 * the parent's state and system call, each child's title and state.
 */
static void
storm_children(pid_t parent)
{
	pid_t	kids[16];
	char	title[256], state[256], call[256];
	int	i, n;

	fprintf(stderr, "parent %ld: stat %.120s; wchan %s; syscall %s\n",
	    (long)parent, h_proc_text(parent, "stat", state, sizeof(state)),
	    h_proc_text(parent, "wchan", title, sizeof(title)),
	    h_proc_text(parent, "syscall", call, sizeof(call)));
	n = h_children(parent, kids, 16);
	for (i = 0; i < n && i < 16; i++) {
		h_proc_text(kids[i], "cmdline", title, sizeof(title));
		h_proc_text(kids[i], "stat", state, sizeof(state));
		fprintf(stderr, "child %ld: %s; stat %.120s\n", (long)kids[i],
		    title, state);
	}
}

START_TEST(test_signal_storm)
{
	static const int	 sigs[] = { SIGTTIN, SIGTTOU, SIGUSR1, SIGTTIN,
				     SIGHUP, SIGTTOU, SIGTTIN };
	struct hproc		 p;
	char			 buf[64];
	int			 i, fds;

	port = h_serve_conf(&p, "handler echo\nmax_servers 3\n");
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	/* after a round trip: READY=1 may arrive before the parent closed
	 * the socket it sent it on */
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	fds = h_fd_count(p.pid);
	for (i = 0; i < 60; i++) {
		kill(p.pid, sigs[i % 7]);
		usleep(5000);
	}
	kill(p.pid, SIGHUP);	/* the conf's max_servers applies again */
	/* HUPs in flight merge, so the last generation's number is not
	 * known: wait for the state every path must end in. */
	for (i = 0; i < 2000; i++) {
		if (h_children(p.pid, NULL, 0) == 3 && h_zombies(p.pid) == 0 &&
		    h_fd_count(p.pid) == fds && h_log_has(&p, "generation 1,"))
			break;
		usleep(10000);
	}
	if (h_children(p.pid, NULL, 0) != 3)
		storm_children(p.pid);
	ck_assert_msg(h_children(p.pid, NULL, 0) == 3, "%d children; log:\n%s",
	    h_children(p.pid, NULL, 0), h_file_tail(h_path("pfsd.log")));
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_fd_count(p.pid), fds);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * graceful_timeout 0 means no limit: idle children leave at once and run
 * child_finish_hook (they used to be killed, each with a line), and a
 * busy one finishes its request.
 */
START_TEST(test_graceful_timeout_zero_idle)
{
	char		 hl[600], *hooks;
	const char	*av[] = { "--max_servers=2", "--graceful_timeout=0",
			    hl, NULL };
	struct hproc	 p;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 5000), 0);
	ck_assert_msg(!h_log_has(&p, "killing child"), "%s",
	    h_file_tail(p.log));
	hooks = h_read_file(h_path("hooks.log"));
	ck_assert_int_eq(h_count(hooks, "child_finish_hook "), 2);
	free(hooks);
}
END_TEST

START_TEST(test_graceful_timeout_zero_busy)
{
	const char	*av[] = { "--max_servers=1", "--graceful_timeout=0",
			    "--log_level=3", NULL };
	char		 buf[64];
	struct hproc	 p;
	int		 fd;

	port = h_serve(&p, TPLUGIN("sleepy"), av);
	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", port), 0);
	ck_assert_int_eq(write(fd, "1500\n", 5), 5);
	ck_assert_int_eq(h_wait_log(&p, "connection from", 5000), 0);
	kill(p.pid, SIGQUIT);
	ck_assert_int_eq(h_talk_fd(fd, "", buf, sizeof(buf), 5000), 11);
	ck_assert_str_eq(buf, "slept 1500\n");
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 5000), 0);
	ck_assert_msg(!h_log_has(&p, "killing child"), "%s",
	    h_file_tail(p.log));
}
END_TEST

/*
 * A graceful stop while the only child is busy and two clients wait in
 * the accept queue: new clients are refused at once (while the request
 * still runs), the running request finishes, and the queued clients are
 * served -- not reset when the last listener closes.  On a TCP port and
 * on a UNIX socket (there the busy child's copy of the listener would
 * keep queueing clients it never serves: they must be refused too).
 */
static int
gs_connect(int on_unix)
{
	return on_unix ? h_connect_unix(h_path("gs.sock")) :
	    h_connect_tcp("127.0.0.1", port);
}

START_TEST(test_graceful_stop_refuses_and_serves_queue)
{
	char		 uarg[PATH_MAX];
	const char	*av[] = { "--max_servers=1", "--log_level=3", uarg,
			    NULL };
	char		 buf[64];
	struct hproc	 p;
	struct pollfd	 pfd;
	long long	 end;
	int		 busy, q1, q2, probe = 0, refused = 0;

	snprintf(uarg, sizeof(uarg), "--port=%s/unix", h_path("gs.sock"));
	port = h_serve(&p, TPLUGIN("sleepy"), av);
	ck_assert_int_ge(busy = gs_connect(_i), 0);
	ck_assert_int_eq(write(busy, "1500\n", 5), 5);
	ck_assert_int_eq(h_wait_log(&p, "connection from", 5000), 0);
	ck_assert_int_ge(q1 = gs_connect(_i), 0);
	ck_assert_int_ge(q2 = gs_connect(_i), 0);
	ck_assert_int_eq(write(q1, "10\n", 3), 3);
	ck_assert_int_eq(write(q2, "20\n", 3), 3);
	kill(p.pid, SIGQUIT);
	ck_assert_int_eq(h_wait_log(&p, "QUIT: graceful stop", 5000), 0);
	/* refused while the busy request runs (it has not answered) */
	end = h_now_ms() + 1000;
	while (!refused && h_now_ms() < end) {
		if ((probe = gs_connect(_i)) == -1) {
			ck_assert_msg(errno == ECONNREFUSED, "connect: %s",
			    strerror(errno));
			refused = 1;
		} else {
			close(probe);
			poll(NULL, 0, 5);
		}
	}
	pfd.fd = busy;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_msg(refused, "new connections still accepted during the "
	    "graceful stop");
	ck_assert_int_eq(h_talk_fd(q1, "", buf, sizeof(buf), 5000), 9);
	ck_assert_str_eq(buf, "slept 10\n");
	ck_assert_int_eq(h_talk_fd(q2, "", buf, sizeof(buf), 5000), 9);
	ck_assert_str_eq(buf, "slept 20\n");
	ck_assert_int_eq(h_talk_fd(busy, "", buf, sizeof(buf), 5000), 11);
	ck_assert_str_eq(buf, "slept 1500\n");
	ck_assert_int_eq(h_wait_exit(&p, 5000), 0);
	/* 2, or 3 if a probe got in before the listener was held */
	ck_assert(h_log_has(&p, "graceful stop: serving 2 queued connections")
	    || h_log_has(&p, "graceful stop: serving 3 queued connections"));
}
END_TEST

/*
 * A UNIX socket refuses connections during a graceful stop, so a new pfsd
 * started on the same path meanwhile takes it over (a quick switch to a
 * new version).  The stopping pfsd must then leave the path alone at
 * exit: it names the new server's socket now.
 */
START_TEST(test_graceful_stop_leaves_a_taken_unix_path)
{
	char		 uarg[PATH_MAX];
	const char	*av[] = { "--max_servers=1", "--log_level=3", uarg,
			    NULL };
	char		 buf[64];
	struct hproc	 a, b;
	int		 busy;

	snprintf(uarg, sizeof(uarg), "--port=%s/unix", h_path("gs.sock"));
	h_serve(&a, TPLUGIN("sleepy"), av);
	ck_assert_int_ge(busy = h_connect_unix(h_path("gs.sock")), 0);
	ck_assert_int_eq(write(busy, "1000\n", 5), 5);
	ck_assert_int_eq(h_wait_log(&a, "connection from", 5000), 0);
	kill(a.pid, SIGQUIT);
	ck_assert_int_eq(h_wait_log(&a, "QUIT: graceful stop", 5000), 0);
	h_serve(&b, "echo", av);	/* fails the test if it cannot start */
	ck_assert(h_log_has(&b, "removed a socket no one accepts on"));
	ck_assert_int_eq(h_talk_fd(busy, "", buf, sizeof(buf), 5000), 11);
	ck_assert_str_eq(buf, "slept 1000\n");
	ck_assert_int_eq(h_wait_exit(&a, 5000), 0);
	ck_assert_msg(h_log_has(&a, "left in place: no longer this pfsd's"),
	    "%s", h_log_tail(&a));
	ck_assert_int_eq(h_talk_unix(h_path("gs.sock"), "hi\n", buf,
	    sizeof(buf)), 3);
	ck_assert_str_eq(buf, "hi\n");
	ck_assert_int_eq(h_stop(&b, SIGTERM, 5000), 0);
	ck_assert_int_eq(access(h_path("gs.sock"), F_OK), -1);
}
END_TEST

/*
 * Clients that connect while a graceful stop begins are served or
 * refused, never reset: each of STORM_CLIENTS processes connects, sends
 * a line and reads the echo in a loop, and tells the test of every
 * answer through a pipe; QUIT lands in the middle of that.  A
 * connection the kernel completed after the parent emptied the accept
 * queue would be reset when the listener shuts (a client of a fleet sees
 * an error).  Three rounds, since the window is narrow.
 */
#define STORM_CLIENTS	6

enum storm_outcome { STORM_SERVED, STORM_REFUSED, STORM_RESET, STORM_EMPTY,
    STORM_OTHER };

/* One connection: what became of it. */
static enum storm_outcome
storm_one(void)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			 buf[16];
	size_t			 got = 0;
	ssize_t			 r;
	socklen_t		 len = sizeof(int);
	int			 fd, err = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return STORM_OTHER;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (errno != EINPROGRESS || poll(&pfd, 1, 5000) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = ETIMEDOUT;
	}
	if (err == 0 && write(fd, "x\n", 2) != 2)
		err = errno;
	if (err == 0)
		(void)shutdown(fd, SHUT_WR);
	while (err == 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) != 1) {
			err = ETIMEDOUT;
			break;
		}
		if ((r = read(fd, buf + got, sizeof(buf) - got)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				err = errno;
			continue;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (err == ECONNREFUSED)
		return STORM_REFUSED;
	if (err == ECONNRESET)
		return STORM_RESET;
	if (err == 0 && got == 0)
		return STORM_EMPTY;
	if (err == 0 && got == 2 && memcmp(buf, "x\n", 2) == 0)
		return STORM_SERVED;
	return STORM_OTHER;
}

/* A client process: connections until three refusals in a row. */
static void
storm_client(int out)
{
	long long		 end = h_now_ms() + 20000;
	int			 refusals = 0;
	char			 c;

	while (refusals < 3 && h_now_ms() < end) {
		c = (char)('0' + storm_one());
		refusals = c == '0' + STORM_REFUSED ? refusals + 1 : 0;
		if (write(out, &c, 1) != 1)
			break;
	}
	_exit(0);
}

START_TEST(test_graceful_stop_never_resets)
{
	const char	*av[] = { "--max_servers=4", NULL };
	struct hproc	 p;
	pid_t		 kids[STORM_CLIENTS];
	unsigned long	 n[STORM_OTHER + 1];
	char		 c;
	int		 round, i, pfd[2], status;

	for (round = 0; round < 3; round++) {
		memset(n, 0, sizeof(n));
		port = h_serve(&p, "echo", av);
		ck_assert_int_eq(pipe(pfd), 0);
		for (i = 0; i < STORM_CLIENTS; i++) {
			ck_assert_int_ne(kids[i] = fork(), -1);
			if (kids[i] == 0) {
				close(pfd[0]);
				storm_client(pfd[1]);
			}
		}
		close(pfd[1]);
		/* QUIT once the storm runs: 200 answers in */
		while (n[STORM_SERVED] < 200 && read(pfd[0], &c, 1) == 1)
			n[c - '0']++;
		kill(p.pid, SIGQUIT);
		while (read(pfd[0], &c, 1) == 1)
			n[c - '0']++;
		close(pfd[0]);
		for (i = 0; i < STORM_CLIENTS; i++)
			ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert_int_eq(h_wait_exit(&p, 10000), 0);
		ck_assert_msg(n[STORM_RESET] + n[STORM_EMPTY] +
		    n[STORM_OTHER] == 0, "round %d: %lu served, %lu refused, "
		    "%lu reset, %lu closed unanswered, %lu other", round,
		    n[STORM_SERVED], n[STORM_REFUSED], n[STORM_RESET],
		    n[STORM_EMPTY], n[STORM_OTHER]);
		ck_assert_uint_ge(n[STORM_REFUSED], STORM_CLIENTS * 3);
	}
}
END_TEST

/*
 * A listening socket that outlives pfsd (systemd's, handed over with
 * LISTEN_FDS; here the test keeps its own copy): after a graceful stop
 * it listens again, so clients queue for the next start instead of being
 * refused.  A SYN filter a killed pfsd left on it is taken off.
 */
START_TEST(test_graceful_stop_resumes_outliving_socket)
{
	static const char *const wrap[] = { "/bin/sh", "-c",
				    "fd=$1; shift; eval \"exec 3<&$fd\"; "
				    "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"",
				    "sh", NULL, NULL };
	const char		*w[6];
	const struct hopts	 o = { .wrap = w };
	struct sockaddr_in	 sin;
	const char *const	 av[] = { "--handler", PLUGIN("echo"), portarg,
				    "--max_servers=1", "--log_level=3", NULL };
	char			 fdarg[16];
	struct hproc		 p;
	int			 ls, c;

	memcpy(w, wrap, sizeof(wrap));
	port = h_free_port();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(ls = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_le(ls, 9);	/* sh names descriptors 0-9 */
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(ls, 16), 0);
	/* as a pfsd killed in its graceful stop leaves it: SYNs dropped */
	ck_assert_int_eq(handshake_hold(ls, 1), 0);
	snprintf(fdarg, sizeof(fdarg), "%d", ls);
	w[4] = fdarg;
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	ck_assert_int_eq(h_start_opts(&p, av, &o), 0);
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "%s",
	    h_file_tail(p.log));
	ck_assert_msg(h_log_has(&p, "inherited fd 3"), "not inherited:\n%s",
	    h_file_tail(p.log));
	h_talk_ok(port, "before\n", "before\n");
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 5000), 0);
	/* our copy listens: the handshake completes, into the queue */
	ck_assert_msg((c = h_connect_tcp("127.0.0.1", port)) >= 0,
	    "the socket no longer listens after the stop");
	close(c);
	close(ls);
}
END_TEST

/*
 * max_requests_jitter near LONG_MAX overflowed (children died at start
 * under UBSan): bounded by the option table, and the bound works.
 */
START_TEST(test_jitter_bounded)
{
	const char	*av[] = { "-t", "--handler=echo",
			    "--max_requests_jitter=9223372036854775807", NULL };
	const char	*ok[] = { "--max_servers=1", "--max_requests=1",
			    "--max_requests_jitter=2147483647", NULL };
	char		 out[4096];
	struct hproc	 p;

	h_assert_refused(h_run(av, out, sizeof(out)), out,
	    "command line: max_requests_jitter: \"9223372036854775807\" is "
	    "out of range (at most 2147483647)");
	port = h_serve(&p, PLUGIN("echo"), ok);
	h_talk_ok(port, "one\n", "one\n");
	h_talk_ok(port, "two\n", "two\n");
	ck_assert_msg(!h_log_has(&p, "exited with"), "%s", h_file_tail(p.log));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* One echo round trip on a new connection. */
static void
echo_ok(const char *line)
{
	h_talk_ok(port, line, line);
}

/*
 * The parent out of descriptors: a HUP cannot start its check (logged),
 * the generation goes on serving, a dead child is still replaced (fork
 * needs no descriptor, the new child frees the parent's own); with
 * descriptors back, HUP restarts and the parent has as many as before.
 */
START_TEST(test_emfile_parent)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=2", NULL };
	struct rlimit		 old;
	pid_t			 kids[2];
	int			 fds;

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	echo_ok("warm\n");
	fds = h_fd_count(p.pid);
	h_exhaust_fds(p.pid, &old);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "warning: HUP: cannot check the "
	    "configuration: Too many open files", 5000), 0);
	echo_ok("still\n");
	ck_assert_int_eq(h_children(p.pid, kids, 2), 2);
	kill(kids[0], SIGKILL);
	ck_assert_int_eq(h_wait_log(&p, "killed by signal 9", 5000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	echo_ok("replaced\n");
	ck_assert_int_eq(h_log_count(&p, "generation 1"), 0);
	h_nofile_back(p.pid, &old);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", 10000), 0);
	echo_ok("new\n");
	ck_assert_int_eq(h_fd_count(p.pid), fds);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

Suite	*parent_suite(void);

Suite *
parent_suite(void)
{
	Suite	*s = suite_create("parent");
	TCase	*tc = tcase_create("parent");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_child_count);
	tcase_add_test(tc, test_max_requests_recycles);
	tcase_add_test(tc, test_replacement_before_last_request_ends);
	tcase_add_test(tc, test_recycling_cap);
	tcase_add_test(tc, test_max_requests_jitter);
	tcase_add_test(tc, test_crashing_handler_pool_survives);
	tcase_add_test(tc, test_failing_init_backs_off);
	tcase_add_test(tc, test_fork_failure_backoff);
	tcase_add_test(tc, test_slow_failing_init_backs_off);
	tcase_add_test(tc, test_crash_at_start_backs_off);
	tcase_add_test(tc, test_dequeue_runs);
	tcase_add_test(tc, test_ttin_ttou);
	tcase_add_test(tc, test_ttou_spares_busy_child);
	tcase_add_test(tc, test_quit_finishes_request);
	tcase_add_test(tc, test_quit_graceful_timeout_kills);
	tcase_add_test(tc, test_term_leaves_nothing);
	tcase_add_test(tc, test_signal_storm);
	tcase_add_test(tc, test_parent_killed_children_follow);
	tcase_add_test(tc, test_graceful_timeout_zero_idle);
	tcase_add_test(tc, test_graceful_timeout_zero_busy);
	tcase_add_loop_test(tc, test_graceful_stop_refuses_and_serves_queue, 0,
	    2);
	tcase_add_test(tc, test_graceful_stop_leaves_a_taken_unix_path);
	tcase_add_test(tc, test_graceful_stop_never_resets);
	tcase_add_test(tc, test_graceful_stop_resumes_outliving_socket);
	tcase_add_test(tc, test_jitter_bounded);
	tcase_add_test(tc, test_emfile_parent);
	suite_add_tcase(s, tc);
	return s;
}
