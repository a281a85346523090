/*
 * check_leaks.c - nothing grows over a long life: a soak (many
 * connections, children recycled, TTIN/TTOU/HUP; descriptors, memory and
 * children back where they were) whose short version runs here and whose
 * long one is `make soak`, and the parent's whole life under valgrind
 * (`make valgrind`).  The real pfsd binary, real sockets, real processes.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <sched.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int	port;

/* One echo round trip on a new connection. */
static void
echo_ok(const char *line)
{
	h_talk_ok(port, line, line);
}

/* --- soak ------------------------------------------------------------- */

#define SOAK_SHORT	10000	/* connections in make check */
#define SOAK_SERVERS	4
#define RSS_SLACK_KIB	256	/* across re-exec: the image moves */
#define RSS_SAME_KIB	32	/* within a generation */

static long
soak_count(void)
{
	const char	*v = getenv("PFSD_SOAK_COUNT");
	long		 n = v != NULL ? strtol(v, NULL, 10) : 0;

	return n >= 1000 ? n : SOAK_SHORT;
}

static long
rss_kib(pid_t pid)
{
	char	path[64], *st, *v;
	long	kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	ck_assert_ptr_nonnull(st = h_read_file(path));
	if ((v = strstr(st, "\nVmRSS:")) != NULL)
		kib = strtol(v + 7, NULL, 10);
	free(st);
	ck_assert_int_gt(kib, 0);
	return kib;
}

/* count connections, 8 at a time from 16 source addresses (100k closes
 * leave no port free on one) */
static pid_t
loadgen_start(long count, const char *out)
{
	char			 n[24];
	const char *const	 args[] = { "-c", "8", "-n", n, "-T", "10000",
				    "-s", "16", "-q", NULL };

	snprintf(n, sizeof(n), "%ld", count);
	return h_loadgen(port, out, args);
}

/* Every one of the count connections answered. */
static void
loadgen_check(pid_t pid, long count, const char *out)
{
	char	want[64];

	snprintf(want, sizeof(want), "completed=%ld errors=0 ", count);
	h_loadgen_check(pid, out, want);
}

/* Still running?  (Not reaped here: loadgen_check wants its status.) */
static int
loadgen_running(pid_t pid)
{
	siginfo_t	si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid == 0;
}

/* Signal the parent, then wait for it to say so (count-th time). */
static void
signal_seen(struct hproc *p, int sig, const char *said, int count)
{
	kill(p->pid, sig);
	ck_assert_msg(h_wait_log_count(p, said, count, 20000) == 0,
	    "\"%s\" not logged %d times", said, count);
}

/* The pool back at rest: SOAK_SERVERS children, no zombie. */
static void
settle(struct hproc *p)
{
	int	i;

	for (i = 0; i < 1000; i++) {
		if (h_children(p->pid, NULL, 0) == SOAK_SERVERS &&
		    h_zombies(p->pid) == 0)
			break;
		poll(NULL, 0, 10);
	}
	ck_assert_int_eq(h_children(p->pid, NULL, 0), SOAK_SERVERS);
	ck_assert_int_eq(h_zombies(p->pid), 0);
	echo_ok("settled\n");	/* and READY=1's socket is closed by now */
}

/*
 * One phase of the soak: count connections while TTIN/TTOU (and HUP when
 * hup) go round, at least once, then until the load ends, a bounded
 * number of times.  *gen counts generations.
 */
static int
soak_phase(struct hproc *p, long count, int hup, unsigned int *gen,
    int *rounds)
{
	const char	*out = h_path("loadgen.out");
	char		 said[64];
	pid_t		 lg = loadgen_start(count, out);
	int		 n = 0;

	do {
		++*rounds;
		signal_seen(p, SIGTTIN, "TTIN: max_servers is now 5", *rounds);
		signal_seen(p, SIGTTOU, "TTOU: max_servers is now 4", *rounds);
		if (hup) {
			snprintf(said, sizeof(said), "serving (generation %u,",
			    ++*gen);
			signal_seen(p, SIGHUP, said, 1);
		}
	} while (++n < 50 + count / 4000 && loadgen_running(lg));
	loadgen_check(lg, count, out);
	return n;
}

/*
 * Many connections through a pool of 4 with max_requests 100 (a child
 * recycled every 100 connections), with TTIN/TTOU/HUP going round: every
 * connection answered; then no zombie, 4 children, and the parent has the
 * descriptors and (nearly) the memory it had.
 *
 * "The memory it had": a HUP re-executes the parent, which starts over
 * from a fresh image; so the baseline is taken in generation 1, after a
 * first HUP and a warm-up load, and compared twice: after phase 1, a
 * whole generation of load and TTIN/TTOU (a leak in the parent's loop
 * would show here: within 32 KiB, where RSS does not move at all when
 * nothing leaks), and after phase 2, load with HUPs, in the last
 * generation (what is carried across re-exec, the environment and the
 * inherited descriptors, must not grow: within 256 KiB, as a fresh image
 * lands on other pages, +-200 KiB seen).
 *
 * PFSD_SOAK_COUNT sets the number of connections (make soak: 100000).
 */
START_TEST(test_soak)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=4",
				    "--max_requests=100", NULL };
	long			 count = soak_count(), rss0, rss1, rss2;
	long long		 t0 = h_now_ms();
	unsigned int		 gen = 0;
	int			 fds0, fds1, fds2, rounds = 0, hups;

	port = h_serve(&p, "echo", av);
	signal_seen(&p, SIGHUP, "serving (generation 1,", 1);
	gen = 1;
	loadgen_check(loadgen_start(2000, h_path("warm.out")), 2000,
	    h_path("warm.out"));
	settle(&p);
	fds0 = h_fd_count(p.pid);
	rss0 = rss_kib(p.pid);
	soak_phase(&p, count / 2, 0, &gen, &rounds);
	settle(&p);
	fds1 = h_fd_count(p.pid);
	rss1 = rss_kib(p.pid);
	hups = soak_phase(&p, count - count / 2, 1, &gen, &rounds);
	settle(&p);
	fds2 = h_fd_count(p.pid);
	rss2 = rss_kib(p.pid);
	fprintf(stderr, "soak: %ld connections (max_requests 100: ~%ld child "
	    "recycles), %d TTIN/TTOU rounds, %d HUPs, in %.1f s; parent fds "
	    "%d/%d/%d, VmRSS %ld/%ld/%ld KiB (generation 1 after warm-up/"
	    "after phase 1/generation %u after phase 2)\n", count,
	    count / 100, rounds, hups, (h_now_ms() - t0) / 1000.0, fds0, fds1,
	    fds2, rss0, rss1, rss2, gen);
	ck_assert_int_eq(fds1, fds0);
	ck_assert_int_eq(fds2, fds0);
	ck_assert_msg(rss1 - rss0 <= RSS_SAME_KIB, "parent RSS grew from "
	    "%ld to %ld KiB in one generation", rss0, rss1);
	ck_assert_msg(rss2 - rss0 <= RSS_SLACK_KIB, "parent RSS grew from "
	    "%ld to %ld KiB over %u generations", rss0, rss2, gen);
	ck_assert_int_eq(h_listeners_on(port), 1);	/* never bound twice */
	ck_assert_int_eq(h_stop(&p, SIGTERM, 10000), 0);
}
END_TEST

/* --- valgrind --------------------------------------------------------- */

#ifndef __SANITIZE_ADDRESS__	/* valgrind cannot run an ASan pfsd */

/* The log from the report of the first stack valgrind printed. */
static const char *
vg_first_error(struct hproc *p)
{
	static char	 buf[2000];
	char		*log = h_read_file(p->log), *at, *from;

	if (log == NULL || (at = strstr(log, "   at 0x")) == NULL) {
		free(log);
		return h_log_tail(p);
	}
	for (from = at; from > log && from[-1] != '\n'; from--)
		;		/* the start of the "at" line */
	for (from--; from > log && from[-1] != '\n'; from--)
		;		/* the line before: what the error is */
	snprintf(buf, sizeof(buf), "%s", from > log ? from : log);
	free(log);
	return buf;
}

#define VG_MS		60000	/* what takes ms takes seconds under it */

/*
 * The parent under valgrind; --trace-children=yes follows the HUP's
 * re-exec (and the `pfsd -t` check it runs first), and fork()ed children
 * stay under it too.  Everything it says goes to pfsd's stderr, the
 * log.  Only definite leaks count, and only they are shown, so a stack
 * trace in the log ("   at 0x") is an error of some process.
 */
static const char *const vg_wrap[] = {
	"valgrind", "--leak-check=full", "--show-leak-kinds=definite",
	"--errors-for-leak-kinds=definite", "--error-exitcode=99",
	"--trace-children=yes", "--num-callers=30", NULL
};

/* Wait for good in the log; -1 at once if bad comes first. */
static int
wait_either(struct hproc *p, const char *good, const char *bad, int ms)
{
	long long	end = h_now_ms() + ms;

	while (h_now_ms() < end && !h_log_has(p, bad)) {
		if (h_log_has(p, good))
			return 0;
		poll(NULL, 0, 10);
	}
	return -1;
}

/* start, serve, [HUP, serve,] TTIN, TTOU, QUIT: exit 0; the pid. */
static pid_t
vg_lifecycle(struct hproc *p, int hup)
{
	const char *const	 av[] = { "--max_servers=2", NULL };
	struct hopts		 o;
	pid_t			 pid;
	int			 status;

	ck_assert_msg(system("valgrind --version >/dev/null 2>&1") == 0,
	    "valgrind is not installed (make deps installs it)");
	memset(&o, 0, sizeof(o));
	o.wrap = vg_wrap;
	o.ready_ms = VG_MS;
	port = h_serve_opts(p, "echo", av, &o);
	pid = p->pid;
	echo_ok("under valgrind\n");
	if (hup) {
		kill(p->pid, SIGHUP);
		ck_assert_msg(wait_either(p, "serving (generation 1,",
		    "HUP: the new configuration was refused", VG_MS) == 0,
		    "no restart (a leak in `pfsd -t` makes it exit 99):\n%s",
		    vg_first_error(p));
		echo_ok("generation 1\n");
	}
	kill(p->pid, SIGTTIN);
	ck_assert_int_eq(h_wait_children(p->pid, 3, VG_MS), 0);
	echo_ok("three\n");
	kill(p->pid, SIGTTOU);
	ck_assert_int_eq(h_wait_log(p, "TTOU: max_servers is now 2", VG_MS),
	    0);
	ck_assert_int_eq(h_wait_children(p->pid, 2, VG_MS), 0);
	kill(p->pid, SIGQUIT);
	status = h_wait_exit(p, VG_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "exit status %#x (99: valgrind found errors):\n%s", status,
	    vg_first_error(p));
	return pid;
}

/*
 * Which processes valgrind followed (its "==PID==" prefixes) and which
 * of them printed no summary -- a process that was SIGKILLed or is
 * still running -- with pfsd's own lines about killing, for the failure
 * message.
 */
static const char *
vg_unsummarised(const char *log)
{
	static char	 buf[1024];
	char		 want[64], *end;
	const char	*at, *line, *next;
	long		 pids[64], pid;
	size_t		 n = 0, i, len = 0;
	int		 used;

	for (at = log; (at = strstr(at, "==")) != NULL &&
	    n < sizeof(pids) / sizeof(pids[0]); at += 2) {
		if (at[2] < '1' || at[2] > '9' ||
		    (pid = strtol(at + 2, &end, 10)) <= 0 ||
		    strncmp(end, "==", 2) != 0)
			continue;
		for (i = 0; i < n && pids[i] != pid; i++)
			;
		if (i == n)
			pids[n++] = pid;
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "==%ld== ERROR SUMMARY", pids[i]);
		if (strstr(log, want) != NULL)
			continue;
		used = snprintf(buf + len, sizeof(buf) - len, "%s%ld",
		    len == 0 ? "no summary from pid " : ", ", pids[i]);
		if (used < 0 || (size_t)used >= sizeof(buf) - len)
			return buf;
		len += used;
	}
	for (line = log; *line != '\0'; line = next) {
		i = strcspn(line, "\n");
		next = line + i + (line[i] != '\0');
		if (memmem(line, i, "kill", 4) == NULL &&
		    memmem(line, i, "SIGKILL", 7) == NULL)
			continue;
		used = snprintf(buf + len, sizeof(buf) - len, "\n%.*s",
		    (int)i, line);
		if (used < 0 || (size_t)used >= sizeof(buf) - len)
			break;
		len += used;
	}
	return buf;
}

/*
 * No error in any process: the parent's summary (its last image's) and
 * every other says 0, and no stack trace anywhere.  procs: how many
 * processes must have reported.
 */
static void
vg_clean(struct hproc *p, pid_t parent, int procs)
{
	char	*log = h_read_file(p->log), want[64];
	int	 total = h_file_count(p->log, "ERROR SUMMARY: "),
		 clean = h_file_count(p->log, "ERROR SUMMARY: 0 errors");

	ck_assert_ptr_nonnull(log);
	snprintf(want, sizeof(want), "==%ld== ERROR SUMMARY: 0 errors",
	    (long)parent);
	ck_assert_msg(strstr(log, want) != NULL, "no \"%s\":\n%s", want,
	    h_log_tail(p));
	ck_assert_msg(total >= procs, "%d valgrind summaries, want %d or "
	    "more; %s\n%s", total, procs, vg_unsummarised(log),
	    h_log_tail(p));
	ck_assert_msg(clean == total && strstr(log, "   at 0x") == NULL,
	    "valgrind found errors:\n%s", vg_first_error(p));
	free(log);
}

/* Generation 0 from start to QUIT, its leaks checked at exit. */
START_TEST(test_valgrind_lifecycle)
{
	struct hproc	p;
	pid_t		parent = vg_lifecycle(&p, 0);

	/* the parent and 3 children: 2, then TTIN's (TTOU retires one) */
	vg_clean(&p, parent, 4);
}
END_TEST

/*
 * With a HUP: generation 0 until its execve (errors show when they
 * happen; the leak check is at exit), the `pfsd -t` check (its output is
 * logged only if it fails, and a leak makes it fail: exit 99), then
 * generation 1 to QUIT, its leaks checked.
 */
START_TEST(test_valgrind_lifecycle_hup)
{
	struct hproc	p;
	pid_t		parent = vg_lifecycle(&p, 1);

	/* generation 0's 2 children; generation 1's parent and 3 children */
	vg_clean(&p, parent, 6);
}
END_TEST

#endif /* !__SANITIZE_ADDRESS__ */

Suite	*leaks_suite(void);

Suite *
leaks_suite(void)
{
	Suite	*s = suite_create("leaks");
	TCase	*soak, *vg;

	/* make soak: CK_RUN_CASE=soak PFSD_SOAK_COUNT=100000 */
	soak = tcase_create("soak");
	tcase_set_timeout(soak, 60 + (double)soak_count() / 250);
	tcase_add_test(soak, test_soak);
	suite_add_tcase(s, soak);
#ifndef __SANITIZE_ADDRESS__
	/* make valgrind: CK_RUN_CASE=valgrind */
	vg = tcase_create("valgrind");
	tcase_set_timeout(vg, 240);
	tcase_add_test(vg, test_valgrind_lifecycle);
	tcase_add_test(vg, test_valgrind_lifecycle_hup);
	suite_add_tcase(s, vg);
#else
	(void)vg;
#endif
	return s;
}
