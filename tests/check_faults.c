/*
 * check_faults.c - integration tests of pfsd under faults: descriptors
 * running out.  Then a soak (many connections, children recycled, TTIN/TTOU/HUP) whose
 * short version runs here and whose long one is `make soak`, and the
 * parent's whole life under valgrind (`make valgrind`).  The real pfsd
 * binary, real sockets, real processes.  (fork failing: check_parent.c.)
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

/* Connect, send a whole request (line, EOF); read the answer later. */
static int
send_line(const char *line)
{
	int	fd = h_connect_tcp("127.0.0.1", port);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	return fd;
}

static int
readable(int fd, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, ms) == 1;
}

static pid_t
only_child(pid_t parent)
{
	pid_t	kid;

	ck_assert_int_eq(h_wait_children(parent, 1, 5000), 0);
	ck_assert_int_eq(h_children(parent, &kid, 1), 1);
	return kid;
}

/* The lowest descriptor number free in process pid: what it gets next. */
static int
lowest_free_fd(pid_t pid)
{
	char		 path[64], used[1024];
	DIR		*d;
	struct dirent	*e;
	long		 fd;
	int		 i;

	memset(used, 0, sizeof(used));
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((e = readdir(d)) != NULL)
		if ((fd = strtol(e->d_name, NULL, 10)) >= 0 && fd < 1024 &&
		    e->d_name[0] != '.')
			used[fd] = 1;
	closedir(d);
	for (i = 0; i < 1024 && used[i]; i++)
		;
	return i;
}

/*
 * Take away every descriptor pid could open next: its RLIMIT_NOFILE goes
 * down to the lowest free number (what it has stays open).  The old
 * limit goes to *old, for set_nofile_back.
 */
static void
exhaust_fds(pid_t pid, struct rlimit *old)
{
	struct rlimit	rl;

	ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, NULL, old), 0);
	rl.rlim_cur = (rlim_t)lowest_free_fd(pid);
	rl.rlim_max = old->rlim_max;
	ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, &rl, NULL), 0);
}

static void
set_nofile_back(pid_t pid, const struct rlimit *old)
{
	ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, old, NULL), 0);
}

/*
 * A child out of descriptors: accept fails with EMFILE, the child says so
 * at most once a second and retries; the connection waits in the queue
 * and is served once descriptors are back, by the same child.  (A limit
 * set before exec cannot do this: a prefork child holds one connection at
 * a time, so it either always or never has a descriptor to accept into.
 * Lowering the limit of the running child is the same fault as a handler
 * that leaked every free descriptor.)
 */
START_TEST(test_emfile_child_accept)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", NULL };
	const char		*emfile = "error: accept: Too many open "
				    "files; retrying";
	struct rlimit		 old;
	char			 buf[64];
	pid_t			 kid, now;
	int			 a, b, n;

	port = h_serve(&p, "echo", av);
	kid = only_child(p.pid);
	echo_ok("warm\n");
	exhaust_fds(kid, &old);
	/* an accept already waiting holds its descriptor: a may be served */
	a = send_line("a\n");
	ck_assert_int_eq(h_wait_log(&p, emfile, 5000), 0);
	b = send_line("b\n");
	ck_assert_msg(!readable(b, 300), "served with no descriptor left");
	n = h_log_count(&p, emfile);
	poll(NULL, 0, 2100);	/* measuring a rate: 40 retries in 2.1 s */
	n = h_log_count(&p, emfile) - n;
	ck_assert_msg(n >= 1 && n <= 3, "%d EMFILE lines in 2.1 s; want 1 a "
	    "second", n);
	ck_assert(h_alive(kid));
	set_nofile_back(kid, &old);
	ck_assert_int_eq(h_talk_fd(a, NULL, buf, sizeof(buf), 5000), 2);
	ck_assert_str_eq(buf, "a\n");
	ck_assert_int_eq(h_talk_fd(b, NULL, buf, sizeof(buf), 5000), 2);
	ck_assert_str_eq(buf, "b\n");
	echo_ok("c\n");
	now = only_child(p.pid);
	ck_assert_int_eq(now, kid);
	ck_assert_int_eq(h_log_count(&p, "killed by signal"), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

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
	exhaust_fds(p.pid, &old);
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
	set_nofile_back(p.pid, &old);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", 10000), 0);
	echo_ok("new\n");
	ck_assert_int_eq(h_fd_count(p.pid), fds);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* utime + stime of pid, in clock ticks. */
static long
cpu_ticks(pid_t pid)
{
	char		 path[64], *stat, *s;
	unsigned long	 ut = 0, st = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	ck_assert_ptr_nonnull(stat = h_read_file(path));
	ck_assert_ptr_nonnull(s = strrchr(stat, ')'));
	ck_assert_int_eq(sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &ut, &st), 2);
	free(stat);
	return (long)(ut + st);
}

/*
 * The parent out of descriptors with a status client waiting: it must
 * not spin on the status socket it cannot accept from, and answers once
 * descriptors are back (it used to poll the still-readable socket again
 * at once: ~80% of a CPU until a descriptor freed up).
 */
START_TEST(test_emfile_status_no_spin)
{
	struct hproc	 p;
	char		 sarg[600], buf[4096];
	const char	*av[] = { "--max_servers=1", sarg, NULL };
	struct rlimit	 old;
	long		 t0, spent;
	int		 fd;

	snprintf(sarg, sizeof(sarg), "--status_socket=%s",
	    h_path("status.sock"));
	port = h_serve(&p, "echo", av);
	echo_ok("warm\n");
	exhaust_fds(p.pid, &old);
	ck_assert_int_ge(fd = h_connect_unix(h_path("status.sock")), 0);
	ck_assert_int_eq(write(fd, "text\n", 5), 5);
	t0 = cpu_ticks(p.pid);
	poll(NULL, 0, 1000);	/* measuring CPU use over a second */
	spent = cpu_ticks(p.pid) - t0;
	ck_assert_msg(spent * 10 < sysconf(_SC_CLK_TCK), "the parent used "
	    "%ld%% of a CPU while out of descriptors", spent * 100 /
	    sysconf(_SC_CLK_TCK));
	set_nofile_back(p.pid, &old);
	ck_assert_int_gt(h_talk_fd(fd, NULL, buf, sizeof(buf), 5000), 0);
	ck_assert_ptr_nonnull(strstr(buf, "max_servers 1"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST





/* Listening TCP sockets on port in this network namespace. */
static int
listeners_on(int lport)
{
	static const char *const tables[] = { "/proc/net/tcp",
					     "/proc/net/tcp6" };
	char		 line[512];
	unsigned int	 lp, st;
	size_t		 i;
	FILE		*f;
	int		 n = 0;

	for (i = 0; i < 2; i++) {
		if ((f = fopen(tables[i], "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x "
			    "%x", &lp, &st) == 2 && (int)lp == lport &&
			    st == 0x0A)
				n++;
		fclose(f);
	}
	return n;
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
	ck_assert_int_eq(listeners_on(port), 1);	/* never bound twice */
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
	    "more:\n%s", total, procs, h_log_tail(p));
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

Suite	*faults_suite(void);

Suite *
faults_suite(void)
{
	Suite	*s = suite_create("faults");
	TCase	*tc = tcase_create("faults"), *soak, *vg;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_emfile_child_accept);
	tcase_add_test(tc, test_emfile_parent);
	tcase_add_test(tc, test_emfile_status_no_spin);
	suite_add_tcase(s, tc);
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
