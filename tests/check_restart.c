/*
 * check_restart.c - the reload (HUP) never takes the service down: what
 * fails in the new image rolls back to the running generation (same pid,
 * same sockets, under load with no connection refused, reset or failed);
 * the status socket is handed over, not recreated; the re-exec runs the
 * binary pfsd was started as; a stop is not held up by the check; a
 * running request never sees the reload or a graceful stop.  And HUP
 * while serving: 20 of them under load, a broken configuration, new
 * handler code (a new max_servers, a file overwritten in place), after
 * pfsd left its directory, and the old generation's children.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char	sock[512];	/* the status socket */
#define LOAD_SECS	"0.6"

static int	port;

static void	assert_out(const char *, const char *);

/* Start on a configuration file; sock is the status socket's path. */
static void
start_conf(struct hproc *p, const char *body)
{
	snprintf(sock, sizeof(sock), "%s", h_path("st.sock"));
	port = h_serve_conf(p, body);
}

/* The load generator, in the background for secs seconds. */
static pid_t
load_start(const char *secs)
{
	const char *const	args[] = { "-c", "4", "-s", "16", "-d", secs,
				    "-T", "10000", NULL };

	return h_loadgen(port, h_path("loadgen.out"), args);
}

/* Wait for the load generator: every connection answered. */
static void
load_check(pid_t lg)
{
	h_loadgen_check(lg, h_path("loadgen.out"),
	    " errors=0 refused=0 reset=0 ");
}

/* Still the same process, serving. */
static void
assert_serving(struct hproc *p)
{
	char	buf[64];

	ck_assert_int_eq(kill(p->pid, 0), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "still\n", buf,
	    sizeof(buf)), 6);
	ck_assert_str_eq(buf, "still\n");
}

/* A configuration a HUP must not take, and what the log says of it. */
struct bad_reload {
	char	conf[700];
	char	want[200];	/* in the log */
	int	refused;	/* by the check; else rolled back */
};

/*
 * HUPs with configurations that cannot start, one after the other under
 * one load: either the check refuses each (refused) or the new image
 * fails after the exec and rolls back to generation 0, same pid.  The
 * log, pfsd status and sd_notify STATUS say so; no connection fails;
 * then a good HUP works.
 */
static void
reload_fails(const char *good, struct bad_reload *bad, int n)
{
	struct hproc	 p;
	char		 out[4096];
	const char	*st[] = { "status", "--status_socket", sock, NULL };
	const char	*fate;
	pid_t		 lg;
	int		 i;

	start_conf(&p, good);
	lg = load_start(n > 1 ? "1" : LOAD_SECS);
	usleep(100000);
	for (i = 0; i < n; i++) {
		fate = bad[i].refused ? "HUP refused: the new configuration "
		    "did not pass the check" : "; generation 0 kept";
		h_write_conf(port, bad[i].conf);
		kill(p.pid, SIGHUP);
		ck_assert_msg(h_wait_log(&p, bad[i].want, H_READY_MS) == 0,
		    "no \"%s\" in\n%s", bad[i].want,
		    h_read_file(h_path("pfsd.log")));
		ck_assert_int_eq(h_wait_notify(&p, fate, H_READY_MS), 0);
		ck_assert_msg(h_run(st, out, sizeof(out)) == 0, "status: %s",
		    out);
		ck_assert_msg(strstr(out, "generation 0 ") != NULL &&
		    strstr(out, fate) != NULL, "pfsd status: %s", out);
	}
	load_check(lg);
	assert_serving(&p);
	ck_assert_int_eq(h_log_has(&p, "serving (generation 1,"), 0);
	h_write_conf(port, good);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", H_READY_MS),
	    0);
	assert_serving(&p);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}

#define STATUS_SOCK	"status_socket %s\n"

/* Hooks only the new image runs fail: rolled back each time. */
START_TEST(test_rollback_hooks)
{
	struct bad_reload	bad[2];
	char			good[600];

	snprintf(good, sizeof(good), "handler " TPLUGIN("hooks") "\n"
	    "max_servers 3\n" STATUS_SOCK, h_path("st.sock"));
	snprintf(bad[0].conf, sizeof(bad[0].conf), "%sfail_hook "
	    "pre_loop_hook\n", good);
	snprintf(bad[0].want, sizeof(bad[0].want), "HUP: generation 1 "
	    "failed at pre_loop_hook: ");
	snprintf(bad[1].conf, sizeof(bad[1].conf), "%sfail_hook "
	    "post_bind_hook\n", good);
	snprintf(bad[1].want, sizeof(bad[1].want), "HUP: generation 1 "
	    "failed at post_bind_hook: ");
	bad[0].refused = bad[1].refused = 0;
	reload_fails(good, bad, 2);
}
END_TEST

/*
 * A new port someone else holds (the check names the holder) and a user
 * that does not exist: the check refuses both; the service keeps its
 * port and its pid.
 */
START_TEST(test_refused_port_and_user)
{
	struct bad_reload	bad[2];
	char			good[600];
	int			fd, held;

	fd = h_listen_tcp(&held);
	snprintf(good, sizeof(good), "handler echo\nmax_servers 3\n"
	    STATUS_SOCK, h_path("st.sock"));
	snprintf(bad[0].conf, sizeof(bad[0].conf), "%sport 127.0.0.1:%d\n",
	    good, held);
	snprintf(bad[0].want, sizeof(bad[0].want), "127.0.0.1:%d/tcp: "
	    "address already in use, held by pid %ld (check_pfsd)",
	    held, (long)getpid());
	snprintf(bad[1].conf, sizeof(bad[1].conf), "%suser "
	    "no_such_user_h14\n", good);
	snprintf(bad[1].want, sizeof(bad[1].want), "user: no such user "
	    "\"no_such_user_h14\"");
	bad[0].refused = bad[1].refused = 1;
	reload_fails(good, bad, 2);
	close(fd);
}
END_TEST

/* Running as nobody, the new log file is in a directory nobody cannot
 * write: refused. */
START_TEST(test_refused_log_dir)
{
	struct bad_reload	bad;
	char			good[600];

	ck_assert_int_eq(mkdir(h_path("rootonly"), 0755), 0);
	snprintf(good, sizeof(good), "handler echo\nmax_servers 3\n"
	    "user nobody\n" STATUS_SOCK, h_path("st.sock"));
	snprintf(bad.conf, sizeof(bad.conf), "%slog_file %s/pfsd.log\n",
	    good, h_path("rootonly"));
	snprintf(bad.want, sizeof(bad.want), "rootonly is not writable by "
	    "pfsd");
	bad.refused = 1;
	reload_fails(good, &bad, 1);
}
END_TEST

/*
 * The deployment systemd gives: user nobody, status_socket in a
 * root-owned 0755 directory.  Two HUPs with the configuration unchanged:
 * the status socket is handed over (nobody could not remove it), pfsd
 * serves and answers status after each.
 */
START_TEST(test_status_socket_nobody)
{
	struct hproc	 p;
	struct stat	 st1, st2;
	char		 body[600], out[4096];
	const char	*st[] = { "status", "--status_socket", sock, NULL };
	pid_t		 lg;
	int		 i;

	snprintf(body, sizeof(body), "handler echo\nmax_servers 2\n"
	    "user nobody\n" STATUS_SOCK, h_path("st.sock"));
	start_conf(&p, body);
	ck_assert_int_eq(lstat(h_path("st.sock"), &st1), 0);
	lg = load_start(LOAD_SECS);
	for (i = 1; i <= 2; i++) {
		usleep(100000);
		kill(p.pid, SIGHUP);
		snprintf(body, sizeof(body), "serving (generation %d,", i);
		ck_assert_msg(h_wait_log(&p, body, H_READY_MS) == 0, "%s",
		    h_read_file(h_path("pfsd.log")));
		ck_assert_msg(h_run(st, out, sizeof(out)) == 0, "status: %s", out);
		snprintf(body, sizeof(body), "generation %d ", i);
		ck_assert_msg(strstr(out, body) != NULL, "%s", out);
	}
	load_check(lg);
	assert_serving(&p);
	ck_assert_int_eq(lstat(h_path("st.sock"), &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);	/* the same socket */
	ck_assert_int_eq(h_log_has(&p, "cannot remove"), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	/* at the stop nobody cannot remove it: said, with the reason */
	snprintf(body, sizeof(body), "status_socket %s: cannot remove: "
	    "Permission denied", h_path("st.sock"));
	ck_assert_int_eq(h_log_has(&p, body), 1);
}
END_TEST

static void
copy_file(const char *from, const char *to)
{
	char	tmp[600], *data;
	FILE	*in, *out;
	size_t	n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	ck_assert_ptr_nonnull(in = fopen(from, "rb"));
	ck_assert_ptr_nonnull(out = fopen(tmp, "wb"));
	data = malloc(1 << 16);
	while ((n = fread(data, 1, 1 << 16, in)) > 0)
		ck_assert_uint_eq(fwrite(data, 1, n, out), n);
	free(data);
	fclose(in);
	fclose(out);
	ck_assert_int_eq(rename(tmp, to), 0);	/* as cp to a new file + mv */
}

static void
copy_binary(const char *to)
{
	copy_file(PFSD_BIN, to);
	ck_assert_int_eq(chmod(to, 0755), 0);
}

static void
exe_is(pid_t pid, const char *want)
{
	char	path[64], buf[600];
	ssize_t	n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	ck_assert_int_gt(n = readlink(path, buf, sizeof(buf) - 1), 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

/*
 * An upgrade: pfsd started as DIR/pfsd, a symbolic link to pfsd-1; the
 * link switched to pfsd-2 and HUP: pfsd-2 runs.  The link removed, or
 * the directory pfsd was started in: the HUP is refused with the reason,
 * and pfsd serves on.
 */
START_TEST(test_symlink_new_binary)
{
	struct hproc	 p;
	char		 link[512], one[512], two[512], tmp[512];
	char		 conf[512], start[512], want[700];
	pid_t		 pid;

	snprintf(link, sizeof(link), "%s", h_path("pfsd"));
	snprintf(one, sizeof(one), "%s", h_path("pfsd-1"));
	snprintf(two, sizeof(two), "%s", h_path("pfsd-2"));
	snprintf(tmp, sizeof(tmp), "%s", h_path("pfsd.tmp"));
	copy_binary(one);
	copy_binary(two);
	ck_assert_int_eq(symlink("pfsd-1", link), 0);
	snprintf(start, sizeof(start), "%s", h_path("start"));
	ck_assert_int_eq(mkdir(start, 0755), 0);
	port = h_free_port();
	h_write_conf(port, "handler " PLUGIN("echo") "\nmax_servers 2\n");
	snprintf(conf, sizeof(conf), "%s", h_path("pfsd.conf"));
	memset(&p, 0, sizeof(p));
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir(start) == -1)
			_exit(126);
		execl(link, link, "-c", conf, (char *)NULL);
		_exit(127);
	}
	p.pid = pid;
	snprintf(p.log, sizeof(p.log), "%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 0,", H_READY_MS),
	    0);
	exe_is(pid, one);
	ck_assert_int_eq(symlink("pfsd-2", tmp), 0);
	ck_assert_int_eq(rename(tmp, link), 0);
	kill(pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", H_READY_MS),
	    0);
	exe_is(pid, two);
	assert_serving(&p);
	ck_assert_int_eq(unlink(link), 0);
	kill(pid, SIGHUP);
	snprintf(want, sizeof(want), "HUP: executable %s: No such file or "
	    "directory; HUP refused", link);
	ck_assert_int_eq(h_wait_log(&p, want, H_READY_MS), 0);
	assert_serving(&p);
	ck_assert_int_eq(symlink("pfsd-2", link), 0);
	ck_assert_int_eq(rmdir(start), 0);
	kill(pid, SIGHUP);
	snprintf(want, sizeof(want), "HUP: start directory %s: No such file "
	    "or directory; HUP refused", start);
	ck_assert_int_eq(h_wait_log(&p, want, H_READY_MS), 0);
	assert_serving(&p);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* TERM while a slow post_configure_hook holds the check: pfsd stops at
 * once, the checker with it. */
START_TEST(test_term_during_check)
{
	struct hproc	p;
	long long	t;
	struct timespec	ts;
	int		status;

	start_conf(&p, "handler " TPLUGIN("waiter") "\nmax_servers 2\n");
	h_write_conf(port, "handler " TPLUGIN("waiter") "\nmax_servers 2\n"
	    "waiter_configure_ms 20000\n");
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "HUP: checking the new configuration",
	    H_READY_MS), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	kill(p.pid, SIGTERM);
	status = h_wait_exit(&p, 5000);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "pfsd did not stop during the check");
	ck_assert_int_lt(ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t, 4000);
	ck_assert_int_eq(h_log_has(&p, "HUP: TERM: configuration check"), 1);
	h_stop(&p, SIGKILL, 1000);
}
END_TEST

/* A check slower than hup_check_timeout: killed, the HUP refused, the
 * running generation serves on. */
START_TEST(test_check_time_limit)
{
	struct hproc	p;
	char		out[4096];
	const char	*st[] = { "status", "--status_socket", sock, NULL };
	char		body[600];

	snprintf(body, sizeof(body), "handler " TPLUGIN("waiter") "\n"
	    "max_servers 2\nhup_check_timeout 1\n" STATUS_SOCK,
	    h_path("st.sock"));
	start_conf(&p, body);
	snprintf(body + strlen(body), sizeof(body) - strlen(body),
	    "waiter_configure_ms 20000\n");
	h_write_conf(port, body);
	kill(p.pid, SIGHUP);
	ck_assert_msg(h_wait_log(&p,
	    "HUP: the configuration check took more than "
	    "hup_check_timeout (1 s); HUP refused, still serving generation 0",
	    3000) == 0, "%s", h_read_file(h_path("pfsd.log")));
	ck_assert_int_eq(h_wait_log(&p, "HUP: time limit: configuration check",
	    10),
	    0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 3000), 0);	/* reaped */
	ck_assert_int_eq(h_run(st, out, sizeof(out)), 0);
	assert_out(out, "last reload: HUP refused: the check took more than "
	    "1 s");
	ck_assert_int_gt(h_talk("127.0.0.1", port, "poll 1\n", out,
	    sizeof(out)), 0);
	assert_out(out, "poll done=1 ");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Start one waiter request; the connection. */
static int
wait_request(const char *what)
{
	int	fd;

	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", port), 0);
	ck_assert_int_eq(write(fd, what, strlen(what)),
	    (ssize_t)strlen(what));
	return fd;
}

/* One line, without shutting our side down (the server reads it). */
static void
read_answer(int fd, char *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		off = 0;
	ssize_t		n;

	while (off + 1 < len && memchr(buf, '\n', off) == NULL &&
	    poll(&pfd, 1, 5000) == 1 &&
	    (n = read(fd, buf + off, len - off - 1)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	close(fd);
	ck_assert_msg(memchr(buf, '\n', off) != NULL, "no answer: %s", buf);
}

/* The three requests ran their full second, not cut short. */
static void
requests_whole(int *fds)
{
	static const char *const want[] = { "sleep done=1 ", "poll done=1 ",
	    "read done=1 " };
	char	buf[128];
	int	i;

	for (i = 0; i < 3; i++) {
		read_answer(fds[i], buf, sizeof(buf));
		ck_assert_msg(strncmp(buf, want[i], strlen(want[i])) == 0 &&
		    atoi(strstr(buf, "elapsed=") + 8) >= 990,
		    "request cut short: %s", buf);
	}
}

static void
start_requests(struct hproc *p, int *fds)
{
	char	out[4096];
	const char	*st[] = { "status", "--status_socket", sock, NULL };
	int	i, busy = 0;

	fds[0] = wait_request("sleep 1\n");
	fds[1] = wait_request("poll 1000\n");
	fds[2] = wait_request("read 1000\n");
	for (i = 0; i < 200 && busy < 3; i++) {
		usleep(5000);
		ck_assert_msg(h_run(st, out, sizeof(out)) == 0, "status: %s", out);
		busy = atoi(strstr(out, " busy ") + 6);
	}
	ck_assert_int_eq(busy, 3);
}

/* HUP, then QUIT, while a sleep(), a poll() and a read() run. */
START_TEST(test_requests_not_interrupted)
{
	struct hproc	p;
	char		body[600];
	int		fds[3];

	snprintf(body, sizeof(body), "handler " TPLUGIN("waiter") "\n"
	    "max_servers 4\n" STATUS_SOCK, h_path("st.sock"));
	start_conf(&p, body);
	start_requests(&p, fds);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", H_READY_MS),
	    0);
	requests_whole(fds);
	start_requests(&p, fds);
	kill(p.pid, SIGQUIT);
	requests_whole(fds);
	ck_assert_int_eq(h_wait_exit(&p, 5000), 0);
	h_stop(&p, SIGKILL, 1000);
}
END_TEST

/* The pid of the busy child as pfsd status --json shows it, or 0. */
static long
busy_child(unsigned int gen)
{
	const char	*js[] = { "status", "--json", "--status_socket", sock,
			    NULL };
	char		 out[8192], want[64], *s;
	int		 i;

	snprintf(want, sizeof(want), "\"generation\": %u, \"state\": "
	    "\"busy\"", gen);
	for (i = 0; i < 500; i++) {
		if (h_run(js, out, sizeof(out)) == 0 &&
		    (s = strstr(out, want)) != NULL) {
			while (s > out && strncmp(s, "{\"pid\": ", 8) != 0)
				s--;
			return atol(s + 8);
		}
		usleep(10000);
	}
	return 0;
}

/*
 * After a HUP an old child keeps its scoreboard slot: pfsd status lists
 * it with its generation, and graceful_timeout bounds it (SIGTERM,
 * logged with its peer, handler and request age).
 */
START_TEST(test_old_generation_bounded)
{
	struct hproc	p;
	char		body[600], want[160], buf[64];
	long		old;
	int		fd, i;

	snprintf(body, sizeof(body), "handler " TPLUGIN("waiter") "\n"
	    "max_servers 2\ngraceful_timeout 1\n" STATUS_SOCK,
	    h_path("st.sock"));
	start_conf(&p, body);
	fd = wait_request("read 5000\n");
	ck_assert_int_gt(old = busy_child(0), 0);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", H_READY_MS),
	    0);
	ck_assert_int_eq(busy_child(0), old);	/* listed, generation 0 */
	snprintf(want, sizeof(want), "graceful_timeout: old child %ld still "
	    "serving 127.0.0.1 port ", old);
	ck_assert_msg(h_wait_log(&p, want, 3000) == 0, "%s",
	    h_read_file(h_path("pfsd.log")));
	ck_assert_int_eq(h_wait_log(&p,
	    "(handler waiter, generation 0) after the "
	    "HUP; SIGTERM", 10), 0);
	ck_assert_int_eq(h_talk_fd(fd, NULL, buf, sizeof(buf), 3000), 0);
	for (i = 0; i < 300 && kill((pid_t)old, 0) == 0; i++)
		usleep(10000);	/* SIGTERM ends it, or SIGKILL a second on */
	ck_assert_int_eq(kill((pid_t)old, 0), -1);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 3000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* request_timeout still covers a request in flight at the HUP. */
START_TEST(test_old_child_request_timeout)
{
	struct hproc	p;
	char		body[600], want[160];
	long		old;
	int		fd;

	snprintf(body, sizeof(body), "handler " TPLUGIN("sleepy") "\n"
	    "max_servers 2\nrequest_timeout 1\n" STATUS_SOCK,
	    h_path("st.sock"));
	start_conf(&p, body);
	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", port), 0);
	ck_assert_int_eq(write(fd, "1", 1), 1);	/* and nothing more */
	ck_assert_int_gt(old = busy_child(0), 0);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", H_READY_MS),
	    0);
	snprintf(want, sizeof(want), "request_timeout: child %ld has served",
	    old);
	ck_assert_msg(h_wait_log(&p, want, 3000) == 0, "%s",
	    h_read_file(h_path("pfsd.log")));
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static void
wait_log_count(struct hproc *p, const char *s, int n)
{
	ck_assert_msg(h_wait_log_count(p, s, n, 10000) == 0,
	    "\"%s\" not logged %d times:\n%s", s, n, h_log_tail(p));
}

static long
proc_kib(pid_t pid, const char *field)
{
	char	path[64], st[4096], *v;
	long	kib = -1;
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, st, sizeof(st) - 1);	/* one read: a proc file */
	close(fd);
	st[n > 0 ? n : 0] = '\0';
	if ((v = strstr(st, field)) != NULL)
		kib = strtol(v + strlen(field), NULL, 10);
	return kib;
}

/*
 * HUPs alternating a failing and a good configuration under load: every
 * connection answered, and the parent's descriptors and memory flat
 * across the rollbacks (make soak: 100 of them; make check: 5).
 */
START_TEST(test_soak_rollbacks)
{
	struct hproc	 p;
	char		 good[600], bad[700], said[64];
	const char	*soak = getenv("PFSD_SOAK_COUNT");
	int		 n = soak != NULL ? 100 : 5, i, fds0, fds1, status;
	long		 rss0, rss1;
	pid_t		 lg;

	snprintf(good, sizeof(good), "handler " TPLUGIN("hooks") "\n"
	    "max_servers 4\n" STATUS_SOCK, h_path("st.sock"));
	snprintf(bad, sizeof(bad), "%sfail_hook pre_loop_hook\n", good);
	start_conf(&p, good);
	kill(p.pid, SIGHUP);	/* the baseline is a re-executed image */
	wait_log_count(&p, "serving (generation 1,", 1);
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	fds0 = h_fd_count(p.pid);
	rss0 = proc_kib(p.pid, "\nVmRSS:");
	lg = load_start("600");
	for (i = 1; i <= n; i++) {
		h_write_conf(port, bad);
		kill(p.pid, SIGHUP);
		wait_log_count(&p, " kept", i);
		h_write_conf(port, good);
		kill(p.pid, SIGHUP);
		snprintf(said, sizeof(said), "serving (generation %d,", i + 1);
		wait_log_count(&p, said, 1);
	}
	kill(lg, SIGTERM);
	load_check(lg);
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	fds1 = h_fd_count(p.pid);
	rss1 = proc_kib(p.pid, "\nVmRSS:");
	fprintf(stderr, "soak: %d rollbacks and %d good HUPs under load; "
	    "parent fds %d/%d, VmRSS %ld/%ld KiB\n", n, n, fds0, fds1, rss0,
	    rss1);
	ck_assert_int_eq(fds1, fds0);
	ck_assert_int_gt(rss0, 0);
	ck_assert_int_lt(labs(rss1 - rss0), 256);
	status = h_stop(&p, SIGTERM, 5000);
	ck_assert_int_eq(status, 0);
}
END_TEST

/*
 * Started with a parent-death signal (as the harness starts it), pfsd
 * keeps it across the switch to user nobody, which clears it: a test
 * that fails half-way leaves no daemon behind.
 */
START_TEST(test_gone_with_its_parent_as_nobody)
{
	char	portarg[64];
	pid_t	helper, pid = 0;
	int	fds[2], i, status;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	ck_assert_int_eq(pipe(fds), 0);
	if ((helper = fork()) == 0) {
		struct hproc	 hp;
		const char	*av[] = { "--handler=echo", portarg,
				    "--user=nobody", NULL };

		if (h_start(&hp, av) == 0 && h_wait_ready(&hp, H_READY_MS) == 0)
			(void)!write(fds[1], &hp.pid, sizeof(hp.pid));
		_exit(0);	/* without stopping it */
	}
	ck_assert_int_gt(helper, 0);
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &pid, sizeof(pid)), sizeof(pid));
	ck_assert_int_eq(waitpid(helper, &status, 0), helper);
	/* the helper's files are in this test's directory, removed with it */
	ck_assert(h_file_has(h_path("pfsd.stderr"), "serving"));
	for (i = 0; i < 300 && kill(pid, 0) == 0; i++)
		usleep(10000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
	ck_assert_msg(i < 300, "pfsd %ld outlived its parent", (long)pid);
}
END_TEST

/* pfsd -t on conf: the exit status; its output in out. */
static int
check_conf(const char *body, char *out, size_t len)
{
	char		 conf[512];
	const char	*av[] = { "-t", "-c", conf, NULL };

	snprintf(conf, sizeof(conf), "%s", h_write("t.conf", "%s", body));
	return h_run(av, out, len);
}

static void
assert_out(const char *out, const char *want)
{
	ck_assert_msg(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want,
	    out);
}

/* -t checks the world the start needs, every problem at once. */
START_TEST(test_check_world)
{
	char			body[2048], want[256], out[4096], longp[200];
	int			fd, held, status;

	fd = h_listen_tcp(&held);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	snprintf(body, sizeof(body), "handler echo\n"
	    "port 127.0.0.1:%d\n"
	    "user no_such_user_h14\n"
	    "group no_such_group_h14\n"
	    "chroot %s/no_such_dir\n"
	    "pid_file %s/no_such_dir/pfsd.pid\n"
	    "status_socket /tmp/%s\n", held, h_dir(), h_dir(),
	    longp);
	status = check_conf(body, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78, "%s",
	    out);
	assert_out(out, "t.conf:3: user: no such user \"no_such_user_h14\"");
	assert_out(out, "t.conf:4: group: no such group "
	    "\"no_such_group_h14\"");
	assert_out(out, "t.conf:5: chroot: ");
	assert_out(out, "no_such_dir: No such file or directory");
	assert_out(out, "t.conf:6: pid_file: ");
	assert_out(out, "t.conf:7: status_socket: ");
	assert_out(out, "path too long");
	snprintf(want, sizeof(want), "t.conf:2: port: 127.0.0.1:%d/tcp: "
	    "address already in use, held by pid %ld (check_pfsd)",
	    held, (long)getpid());
	assert_out(out, want);
	close(fd);
	/* and fixed, it passes */
	snprintf(body, sizeof(body), "handler echo\nport 127.0.0.1:%d\n"
	    "user nobody\npid_file %s/pfsd.pid\n", held,
	    h_dir());
	ck_assert_msg(check_conf(body, out, sizeof(out)) == 0, "%s", out);
}
END_TEST

/* -t by hand while pfsd runs: its own ports are not "in use". */
START_TEST(test_check_while_running)
{
	struct hproc	 p;
	char		 out[4096], conf[512];
	const char	*av[] = { "-t", "-c", conf, NULL };

	start_conf(&p, "handler echo\nmax_servers 2\n");
	snprintf(conf, sizeof(conf), "%s", h_path("pfsd.conf"));
	ck_assert_msg(h_run(av, out, sizeof(out)) == 0, "%s", out);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* A uid with no passwd entry has no group to run as: set one. */
START_TEST(test_check_numeric_uid)
{
	char	out[4096];
	int	status;

	status = check_conf("handler echo\nuser 4242\n", out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78, "%s",
	    out);
	assert_out(out, "t.conf:2: user: uid 4242 has no passwd entry");
	ck_assert_msg(check_conf("handler echo\nuser 4242\ngroup 4242\n",
	    out, sizeof(out)) == 0, "%s", out);
}
END_TEST

/* The lock file is made again by every new generation, as the user. */
START_TEST(test_check_lock_dir)
{
	char	body[1024], out[4096];
	int	status;

	ck_assert_int_eq(mkdir(h_path("rootonly"), 0755), 0);
	snprintf(body, sizeof(body), "handler echo\nuser nobody\n"
	    "serialize flock\nlock_file %s/pfsd.lock\n", h_path("rootonly"));
	status = check_conf(body, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78, "%s",
	    out);
	assert_out(out, "t.conf:4: lock_file: ");
	assert_out(out, "rootonly is not writable by uid 65534");
}
END_TEST

/* Running as nobody, a new port below 1024: the check says why. */
START_TEST(test_check_privileged_port)
{
	struct hproc	p;
	char		body[600], want[200];
	int		low;

	for (low = 1000; low > 900; low--) {	/* a free one */
		struct sockaddr_in	sin;
		int			fd = socket(AF_INET, SOCK_STREAM, 0);

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)low);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			break;
		}
		close(fd);
	}
	snprintf(body, sizeof(body), "handler echo\nmax_servers 2\n"
	    "user nobody\n");
	start_conf(&p, body);
	snprintf(body, sizeof(body), "handler echo\nmax_servers 2\n"
	    "user nobody\nport 127.0.0.1:%d\n", low);
	h_write_conf(port, body);
	kill(p.pid, SIGHUP);
	snprintf(want, sizeof(want), "127.0.0.1:%d/tcp: a privileged port, "
	    "and pfsd runs as uid 65534 here", low);
	ck_assert_msg(h_wait_log(&p, want, H_READY_MS) == 0, "%s",
	    h_read_file(h_path("pfsd.log")));
	assert_serving(&p);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* HUP while serving: under load, a broken conf, new code, after leaving
 * its directory, and the old generation's children. */

static int
wait_generation(const char *log, unsigned int gen, int ms)
{
	char	s[64];

	snprintf(s, sizeof(s), "serving (generation %u,", gen);
	return h_wait_file(log, s, ms);
}

START_TEST(test_hup_under_load_drops_nothing)
{
	struct hproc		 p;
	const char *const	 args[] = { "-c", "8", "-d", "60", "-T", "10000",
				    NULL };
	const char		*out = h_path("loadgen.out");
	pid_t			 lg;
	int			 i;

	port = h_serve_conf(&p, "handler echo\nmax_servers 4\n"
	    "max_requests 500\n");
	lg = h_loadgen(port, out, args);
	for (i = 1; i <= 20; i++) {
		usleep(150000);
		kill(p.pid, SIGHUP);
		ck_assert_msg(wait_generation(p.log, (unsigned int)i,
		    10000) == 0, "generation %d never served", i);
	}
	/* the last generation serves under the load too; then the load,
	 * still running, is ended and says what it saw across 20 HUPs */
	usleep(150000);
	ck_assert_int_eq(waitpid(lg, NULL, WNOHANG), 0);
	kill(lg, SIGTERM);
	h_loadgen_check(lg, out, " errors=0 ");
	ck_assert_msg(!h_file_has(out, "completed=0 "), "no load:\n%s",
	    h_file_tail(out));
	ck_assert_int_eq(h_wait_children(p.pid, 4, 10000), 0);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_hup_broken_conf_keeps_serving)
{
	struct hproc	p;
	char		buf[64];
	pid_t		before[4], after[4];

	port = h_serve_conf(&p, "handler echo\nmax_servers 2\n");
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, before, 4), 2);
	h_write_conf(port, "handler echo\nmax_servers lots\n");
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "still serving with the current one",
	    10000), 0);
	ck_assert_int_eq(h_wait_log(&p, "max_servers: \"lots\"", 10), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "ok\n", buf, sizeof(buf)),
	    3);
	ck_assert_int_eq(h_children(p.pid, after, 4), 2);
	ck_assert(memcmp(before, after, sizeof(pid_t) * 2) == 0 ||
	    (before[0] == after[1] && before[1] == after[0]));
	ck_assert_int_eq(h_log_has(&p, "generation 1"), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* As cp(1) does it: the same file truncated and rewritten in place. */
static void
overwrite_file(const char *from, const char *to)
{
	char	*data;
	FILE	*in, *out;
	size_t	 n;

	ck_assert_ptr_nonnull(in = fopen(from, "rb"));
	ck_assert_ptr_nonnull(out = fopen(to, "r+b"));
	ck_assert_int_eq(ftruncate(fileno(out), 0), 0);
	data = malloc(1 << 16);
	while ((n = fread(data, 1, 1 << 16, in)) > 0)
		ck_assert_uint_eq(fwrite(data, 1, n, out), n);
	free(data);
	fclose(in);
	fclose(out);
}

START_TEST(test_hup_new_code_and_max_servers)
{
	struct hproc	 p;
	char		 buf[64], body[700];
	const char	*so = h_path("handler.so");

	copy_file(PLUGIN("echo"), so);
	snprintf(body, sizeof(body), "handler %s\nmax_servers 2\n", so);
	port = h_serve_conf(&p, body);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hi\n", buf, sizeof(buf)),
	    3);
	ck_assert_str_eq(buf, "hi\n");
	copy_file(TPLUGIN("echo_v2"), so);
	snprintf(body, sizeof(body), "handler %s\nmax_servers 4\n", so);
	h_write_conf(port, body);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(wait_generation(p.log, 1, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 4, 10000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hi\n", buf, sizeof(buf)),
	    6);
	ck_assert_str_eq(buf, "v2 hi\n");
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * The README's workflow: `cp myhandler.so plugins/ && kill -HUP`.  cp
 * rewrites the .so in place while the children run the old code; they
 * must not notice (pfsd maps a private copy), and the HUP brings the new
 * code in.
 */
START_TEST(test_cp_over_running_handler)
{
	struct hproc	 p;
	char		 buf[64], body[700];
	const char	*so = h_path("inplace.so");
	int		 i;

	copy_file(PLUGIN("echo"), so);
	snprintf(body, sizeof(body), "handler %s\nmax_servers 2\n", so);
	port = h_serve_conf(&p, body);
	overwrite_file(TPLUGIN("echo_v2"), so);
	for (i = 0; i < 20; i++) {	/* the old code still serves */
		ck_assert_int_eq(h_talk("127.0.0.1", port, "old\n", buf,
		    sizeof(buf)), 4);
		ck_assert_str_eq(buf, "old\n");
	}
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(wait_generation(p.log, 1, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 10000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "new\n", buf, sizeof(buf)),
	    7);
	ck_assert_str_eq(buf, "v2 new\n");
	ck_assert_int_eq(h_log_has(&p, "killed by signal"), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static pid_t	bg_pid;

/* A backgrounded pfsd is not our child: never leave it behind. */
static void
kill_bg(void)
{
	if (bg_pid > 0)
		kill(bg_pid, SIGTERM);
}

/*
 * HUP after pfsd left its directory: started as ./daemon/pfsd with a
 * relative conf, in the background (chdir /), the re-exec still finds
 * the binary, the conf, the handler and the log.
 */
START_TEST(test_hup_relative_paths_background)
{
	char		 rel[512], conf[600], log[600], buf[64], *s;
	pid_t		 pid, daemon_pid;
	ssize_t		 n;
	int		 status, i;

	port = h_free_port();
	h_write("pfsd.conf", "port 127.0.0.1:%d\nhandler echo\nbackground\n"
	    "max_servers 2\nlog_file %s/pfsd.log\npid_file %s/pfsd.pid\n",
	    port, h_dir() + strlen(SRCDIR) + 1, h_dir() + strlen(SRCDIR) + 1);
	snprintf(rel, sizeof(rel), "%s/pfsd.conf", h_dir() + strlen(SRCDIR) + 1);
	if ((pid = fork()) == 0) {
		if (chdir(SRCDIR) == -1)
			_exit(126);
		execl("./daemon/pfsd", "./daemon/pfsd", "-c", rel, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = h_read_file(h_path("pfsd.pid"));
	ck_assert_ptr_nonnull(s);
	bg_pid = daemon_pid = (pid_t)atol(s);
	atexit(kill_bg);
	free(s);
	/* it did leave: the daemon's directory is / */
	snprintf(conf, sizeof(conf), "/proc/%d/cwd", (int)daemon_pid);
	n = readlink(conf, log, sizeof(log) - 1);
	ck_assert_int_eq(n, 1);
	log[n] = '\0';
	ck_assert_str_eq(log, "/");
	kill(daemon_pid, SIGHUP);
	ck_assert_int_eq(wait_generation(h_path("pfsd.log"), 1, 10000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "rel\n", buf, sizeof(buf)),
	    4);
	kill(daemon_pid, SIGTERM);
	for (i = 0; i < 500 && h_alive(daemon_pid); i++)
		usleep(10000);
	ck_assert_msg(!h_alive(daemon_pid), "the daemon is still running 5 s "
	    "after SIGTERM");
	ck_assert_int_eq(access(h_path("pfsd.pid"), F_OK), -1);
}
END_TEST

/* PFSD_OLD_CHILDREN naming a process that is not pfsd's child (stale
 * or forged): pfsd must not signal it. */
START_TEST(test_old_children_only_own)
{
	struct hproc	p;
	char		env[32];
	pid_t		victim;
	int		status;

	if ((victim = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();	/* SIGHUP would end it */
	}
	snprintf(env, sizeof(env), "%d", (int)victim);
	setenv("PFSD_OLD_CHILDREN", env, 1);
	port = h_serve_conf(&p, "handler echo\nmax_servers 1\n");
	unsetenv("PFSD_OLD_CHILDREN");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(waitpid(victim, &status, WNOHANG), 0);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
}
END_TEST

Suite	*restart_suite(void);

Suite *
restart_suite(void)
{
	Suite	*s = suite_create("restart");
	TCase	*tc = tcase_create("restart");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rollback_hooks);
	tcase_add_test(tc, test_refused_port_and_user);
	tcase_add_test(tc, test_refused_log_dir);
	tcase_add_test(tc, test_status_socket_nobody);
	tcase_add_test(tc, test_symlink_new_binary);
	tcase_add_test(tc, test_term_during_check);
	tcase_add_test(tc, test_check_time_limit);
	tcase_add_test(tc, test_requests_not_interrupted);
	tcase_add_test(tc, test_old_generation_bounded);
	tcase_add_test(tc, test_old_child_request_timeout);
	tcase_add_test(tc, test_gone_with_its_parent_as_nobody);
	tcase_add_test(tc, test_check_world);
	tcase_add_test(tc, test_check_while_running);
	tcase_add_test(tc, test_check_numeric_uid);
	tcase_add_test(tc, test_check_lock_dir);
	tcase_add_test(tc, test_check_privileged_port);
	tcase_add_test(tc, test_hup_under_load_drops_nothing);
	tcase_add_test(tc, test_hup_broken_conf_keeps_serving);
	tcase_add_test(tc, test_hup_new_code_and_max_servers);
	tcase_add_test(tc, test_cp_over_running_handler);
	tcase_add_test(tc, test_hup_relative_paths_background);
	tcase_add_test(tc, test_old_children_only_own);
	suite_add_tcase(s, tc);
	tc = tcase_create("soak");	/* make soak runs it at full size */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_soak_rollbacks);
	suite_add_tcase(s, tc);
	return s;
}
