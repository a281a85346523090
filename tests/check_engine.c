/*
 * check_engine.c - a request's way through a child (child.c): the hooks
 * in order (a child's, and the parent's own), input a handler leaves
 * unread, UDP, and pfsd_done() ending a child.  The real pfsd binary on
 * loopback, real sockets, real processes; the parent's lifecycle is
 * check_parent.c's.
 */
#define _GNU_SOURCE	/* SCHED_BATCH, SCHED_IDLE */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int	 port;

/* Lines of the hook log of process pid, in order, as "hook hook ...". */
static char *
hooks_of(const char *log, long pid, char *out, size_t len)
{
	char	*copy = strdup(log), *line, *save, name[64];
	long	 lp, lpp;

	out[0] = '\0';
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %ld %ld", name, &lp, &lpp) == 3 &&
		    lp == pid && strcmp(name, "idle_loop_hook") != 0) {
			strncat(out, name, len - strlen(out) - 2);
			strncat(out, " ", len - strlen(out) - 1);
		}
	}
	free(copy);
	return out;
}

START_TEST(test_hook_order)
{
	struct hproc	 p;
	char		 hl[600], buf[1024], *log;
	const char	*av[] = { "--max_servers=1", "--max_requests=1", hl,
			    NULL };
	long		 child;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	child = h_serving_pid(port);
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 10000), 0);
	ck_assert_ptr_nonnull(log = h_read_file(h_path("hooks.log")));
	ck_assert_str_eq(hooks_of(log, child, buf, sizeof(buf)),
	    "child_init_hook post_accept_hook allow_deny_hook "
	    "process_request post_process_request_hook "
	    "post_client_connection_hook child_finish_hook ");
	ck_assert_ptr_nonnull(strstr(log, "post_configure_hook"));
	ck_assert_ptr_nonnull(strstr(log, "pre_server_close_hook"));
	free(log);
}
END_TEST

START_TEST(test_parent_hooks_in_parent)
{
	struct hproc	 p;
	char		 hl[600], buf[1024], *log;
	const char	*av[] = { "--max_servers=2", hl, NULL };
	pid_t		 parent;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	parent = p.pid;
	ck_assert_int_eq(h_wait_children(parent, 2, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 10000), 0);
	ck_assert_ptr_nonnull(log = h_read_file(h_path("hooks.log")));
	ck_assert_str_eq(hooks_of(log, parent, buf, sizeof(buf)),
	    "configure_hook post_configure_hook post_bind_hook pre_loop_hook "
	    "run_n_children_hook pre_fork_hook register_child pre_fork_hook "
	    "register_child pre_server_close_hook delete_child_hook "
	    "delete_child_hook ");
	ck_assert_ptr_nonnull(strstr(log, "idle_loop_hook"));
	free(log);
}
END_TEST

START_TEST(test_unread_input_does_not_leak)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", NULL };
	char			 buf[256];

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "one\nquit\nleft over\n",
	    buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "one\n");
	ck_assert_int_eq(h_talk("127.0.0.1", port, "two\n", buf,
	    sizeof(buf)), 4);
	ck_assert_str_eq(buf, "two\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_udp_echo)
{
	struct hproc		 p;
	char			 buf[256];
	const char *const	 av[] = { "--max_servers=2", NULL };
	const struct hopts	 udp = { .proto = "udp" };

	port = h_serve_opts(&p, "echo", av, &udp);
	ck_assert_int_eq(h_talk_udp("127.0.0.1", port, "ping\n", buf,
	    sizeof(buf), 5000), 5);
	ck_assert_str_eq(buf, "ping\n");
	ck_assert_int_eq(h_talk_udp("127.0.0.1", port, "a\nb\n", buf,
	    sizeof(buf), 5000), 4);
	ck_assert_str_eq(buf, "a\nb\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST


START_TEST(test_pfsd_done_ends_child)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", NULL };
	char			 buf[64];
	long			 a, b;

	port = h_serve(&p, TPLUGIN("hooks"), av);
	a = h_serving_pid(port);
	ck_assert_int_gt(h_talk("127.0.0.1", port, "done\n", buf,
	    sizeof(buf)), 0);
	b = h_serving_pid(port);
	ck_assert_int_ne(a, b);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * UDP with no_client_stdout: the datagram is read by pfsd before the
 * handler runs; pfsd_request_data() gives it (and without
 * no_client_stdout too).  A stream request has none.
 */
START_TEST(test_udp_request_data)
{
	const char		*nocs[] = { "--no_client_stdout=1", NULL };
	char			 buf[256];
	const char		*av[] = { _i ? nocs[0] : NULL, NULL };
	const struct hopts	 udp = { .proto = "udp" };
	struct hproc		 p;

	port = h_serve_opts(&p, TPLUGIN("hostile"), av, &udp);
	ck_assert_int_eq(h_talk_udp("127.0.0.1", port, "hello", buf,
	    sizeof(buf), 5000), 10);
	ck_assert_str_eq(buf, "data=hello");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A child whose listening socket is broken (the handler put /dev/null
 * over it) fails accept() in a loop: one line, then one line a second
 * with the count, not a line per failure.
 */
START_TEST(test_accept_errors_rate_limited)
{
	const char *const	 av[] = { "--max_servers=1", NULL };
	const char		*err = "accept: Socket operation on non-socket";
	struct hproc		 p;
	int			 fd;

	port = h_serve(&p, TPLUGIN("hostile"), av);
	h_talk_ok(port, "unlisten\n", "ok\n");
	/* the child waits on the real socket (epoll): a client wakes it */
	ck_assert_int_ne(fd = h_connect_tcp("127.0.0.1", port), -1);
	ck_assert_int_eq(h_wait_log(&p, err, 5000), 0);
	ck_assert_int_eq(h_wait_log(&p, "more times)", 5000), 0);
	ck_assert_msg(h_file_count(p.log, err) <= 3, "%d lines:\n%s",
	    h_file_count(p.log, err), h_file_tail(p.log));
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A handler that fclose()s stdout or stdin: the next clients of the pool
 * (one child) are served all the same, and the log says what happened.
 */
static const struct {
	const char	*cmd, *log;
} fcloses[] = {
	{ "fclose stdout\n", "closed its standard output" },
	{ "fclose stdin\n", "closed its standard input" },
};

START_TEST(test_handler_fclose_stdio)
{
	const char *const	 av[] = { "--max_servers=1", NULL };
	struct hproc		 p;
	int			 i;

	port = h_serve(&p, TPLUGIN("hostile"), av);
	h_talk_ok(port, fcloses[_i].cmd, "bye\n");
	for (i = 0; i < 3; i++)
		h_talk_ok(port, "still here\n", "still here\n");
	ck_assert_msg(h_log_has(&p, fcloses[_i].log), "%s", h_file_tail(p.log));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Private KiB of pid's main stack ([stack] in /proc/PID/smaps), or -1. */
static long
stack_private_kib(pid_t pid)
{
	char	path[64], *text, *s, *v;
	long	kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/smaps", (long)pid);
	if ((text = h_read_file(path)) == NULL)
		return -1;
	if ((s = strstr(text, "[stack]\n")) != NULL &&
	    (v = strstr(s, "\nPrivate_Dirty:")) != NULL)
		kib = strtol(v + strlen("\nPrivate_Dirty:"), NULL, 10);
	free(text);
	return kib;
}

/*
 * A request that went 512 KiB deep leaves as much stack written in its
 * child.  Idle for a second, the child gives it back (child_trim), and
 * serves deep requests on as before.  0: two children; the request
 * lasts 300 ms, so the parent puts the other child on the sockets
 * meanwhile and the one that served stands by (a futex wait); 1: the
 * only child, back on the sockets (epoll_wait); 2: standby off; 3: in
 * a chroot with no /proc (root only).
 */
static const struct {
	const char	*opts[3];
	const char	*req;
	int		 jail;
} trims[] = {
	{ { "--max_servers=2", NULL }, "deep 512 300\n", 0 },
	{ { "--max_servers=1", NULL }, "deep 512\n", 0 },
	{ { "--max_servers=2", "--standby_ms=0", NULL }, "deep 512\n", 0 },
	{ { "--max_servers=1", NULL }, "deep 512\n", 1 },
};

START_TEST(test_idle_child_trims_stack)
{
	struct hproc	 p;
	char		 buf[64], root[512], rootarg[600];
	const char	*av[4] = { trims[_i].opts[0], trims[_i].opts[1] };
	long		 pid, kib;
	long long	 deadline;
	int		 round;

	if (trims[_i].jail) {
		ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
		snprintf(root, sizeof(root), "%s", h_path("trimjail"));
		ck_assert_int_eq(mkdir(root, 0755), 0);
		snprintf(rootarg, sizeof(rootarg), "--chroot=%s", root);
		av[1] = rootarg;
		/* LeakSanitizer (SANITIZE=1 builds) needs /proc */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	}
	port = h_serve(&p, TPLUGIN("hostile"), av);
	for (round = 0; round < 3; round++) {
		ck_assert_int_gt(h_talk("127.0.0.1", port, trims[_i].req, buf,
		    sizeof(buf)), 0);
		ck_assert_int_eq(sscanf(buf, "deep %ld", &pid), 1);
		deadline = h_now_ms() + 10000;
		while ((kib = stack_private_kib(pid)) >= 64 &&
		    h_now_ms() < deadline)
			usleep(50 * 1000);
		ck_assert_msg(kib >= 0 && kib < 64,
		    "round %d: idle child %ld keeps %ld KiB of stack", round,
		    pid, kib);
	}
	ck_assert_msg(!h_log_has(&p, "killed by signal"), "%s", h_log_tail(&p));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static pid_t
only_child(pid_t parent)
{
	pid_t	kid;

	ck_assert_int_eq(h_wait_children(parent, 1, 5000), 0);
	ck_assert_int_eq(h_children(parent, &kid, 1), 1);
	return kid;
}

/*
 * Is pid inside a system call that writes (to its client)?  From
 * /proc/PID/syscall: the call's number, or "running" in user space.
 */
static int
blocked_writing(pid_t pid, char *what, size_t len)
{
	char	path[64], *text;
	long	nr = -1;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((text = h_read_file(path)) == NULL)
		return 0;
	snprintf(what, len, "%.*s", (int)strcspn(text, " \n"), text);
	if (isdigit((unsigned char)text[0]))
		nr = strtol(text, NULL, 10);
	free(text);
	return nr == SYS_write || nr == SYS_writev || nr == SYS_sendto ||
	    nr == SYS_sendmsg;
}

/* A connection that reads slowly: a small receive window. */
static int
connect_small_window(void)
{
	struct sockaddr_in	sin;
	int			fd, sz = 4096;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/*
 * Send copies of unit and read nothing, until the child serving us is
 * blocked writing replies: in the middle of a reply.  The stream stays
 * whole units.
 */
static void
fill_until_blocked(int fd, pid_t kid, const char *unit)
{
	static char	 buf[65536];
	size_t		 ulen = strlen(unit), len = 0, off = 0;
	long long	 end = h_now_ms() + 20000;
	struct pollfd	 pfd = { fd, POLLOUT, 0 };
	char		 where[128];
	ssize_t		 n;

	while (len + ulen <= sizeof(buf)) {
		memcpy(buf + len, unit, ulen);
		len += ulen;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		if (blocked_writing(kid, where, sizeof(where)))
			return;
		ck_assert_msg(h_now_ms() < end, "child never blocked writing "
		    "(in system call %s)", where);
		if ((n = send(fd, buf + off, len - off, MSG_NOSIGNAL)) > 0)
			off = (off + (size_t)n) % len;
		else {
			ck_assert_int_eq(errno, EAGAIN);
			poll(&pfd, 1, 10);
		}
	}
}

/*
 * A client resets the connection (SO_LINGER 0) while the child is
 * blocked writing a large reply: the write fails (SIGPIPE is ignored),
 * the same child serves the next client, and the log does not fill with
 * errors.  Table: a line protocol and pipelined HTTP.
 */
static const struct {
	const char	*handler;
	const char	*unit;		/* sent over and over */
	const char	*probe;		/* then a normal request */
	const char	*expect;	/* in its answer */
} resets[] = {
	{ "echo", "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij"
	    "klmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n",
	    "ping\n", "ping\n" },
	{ "http_hello", "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET / HTTP/1.0\r\n\r\n", "Hello, world!" },
};

START_TEST(test_client_reset_mid_reply)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", "--log_level=4",
				    NULL };
	struct linger		 lg = { 1, 0 };
	char			 buf[1024];
	pid_t			 kid;
	int			 fd, lines;

	port = h_serve(&p, resets[_i].handler, av);
	kid = only_child(p.pid);
	fd = connect_small_window();
	fill_until_blocked(fd, kid, resets[_i].unit);
	lines = h_log_count(&p, "\n");
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(fd);			/* RST */
	ck_assert_int_gt(h_talk("127.0.0.1", port, resets[_i].probe, buf,
	    sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, resets[_i].expect));
	ck_assert_int_eq(only_child(p.pid), kid);
	ck_assert_int_eq(h_log_count(&p, "killed by signal"), 0);
	/* at most: the probe's "connection from" and a line of the reset */
	ck_assert_int_le(h_log_count(&p, "\n") - lines, 2);
	ck_assert_int_eq(h_log_count(&p, "error:"), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

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
	h_exhaust_fds(kid, &old);
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
	h_nofile_back(kid, &old);
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
 * sched_policy: by default the children run as SCHED_BATCH, the parent
 * keeps the normal policy, and a child forked after a request (TTIN)
 * too; "inherit" leaves the children as pfsd was started; a policy the
 * operator chose with chrt (round-robin) is never replaced.
 */
static const struct {
	const char	*arg;		/* --sched_policy=..., or NULL */
	int		 chrt;		/* started under chrt -r 1 */
	int		 parent, child;
	const char	*said;		/* in the startup line */
} scheds[] = {
	{ NULL, 0, SCHED_OTHER, SCHED_BATCH, "sched_policy batch); " },
	{ "--sched_policy=inherit", 0, SCHED_OTHER, SCHED_OTHER,
	    "sched_policy inherit); " },
	{ "--sched_policy=batch", 1, SCHED_RR, SCHED_RR,
	    "sched_policy batch (the operator's policy kept)); " },
};

START_TEST(test_sched_policy)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=2", scheds[_i].arg,
				    NULL };
	const char *const	 chrt[] = { "chrt", "-r", "1", NULL };
	struct sched_param	 sp = { .sched_priority = 1 };
	struct hopts		 o;
	pid_t			 kids[8];
	int			 i, n, pol;

	/* the children inherit the test's policy: it must be the normal one */
	ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
	memset(&o, 0, sizeof(o));
	if (scheds[_i].chrt) {
		/* may this process use a real-time policy?  Try on itself. */
		if (sched_setscheduler(0, SCHED_RR, &sp) == -1) {
			h_skip("test_sched_policy: chrt -r needs "
			    "CAP_SYS_NICE (%s); the operator's policy is "
			    "not tested", strerror(errno));
			return;
		}
		sp.sched_priority = 0;
		ck_assert_int_eq(sched_setscheduler(0, SCHED_OTHER, &sp), 0);
		o.wrap = chrt;
	}
	port = h_serve_opts(&p, "echo", av, &o);
	h_talk_ok(port, "ping\n", "ping\n");
	kill(p.pid, SIGTTIN);
	/* idle: past its set-up, where the policy is chosen */
	ck_assert_int_eq(h_wait_titled(p.pid, "pfsd: child gen 0 idle", 3,
	    10000), 0);
	ck_assert_int_eq(sched_getscheduler(p.pid), scheds[_i].parent);
	n = h_children(p.pid, kids, 8);
	ck_assert_int_eq(n, 3);
	for (i = 0; i < n; i++) {
		pol = sched_getscheduler(kids[i]);
		ck_assert_msg(pol == scheds[_i].child, "child %ld: policy %d, "
		    "want %d", (long)kids[i], pol, scheds[_i].child);
	}
	ck_assert_msg(!h_log_has(&p, "sched_policy batch:"), "%s",
	    h_log_tail(&p));
	/* the startup line says which policy the children have */
	ck_assert_msg(h_log_has(&p, scheds[_i].said), "no \"%s\":\n%s",
	    scheds[_i].said, h_log_tail(&p));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

Suite	*engine_suite(void);

Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*tc = tcase_create("engine");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hook_order);
	tcase_add_test(tc, test_parent_hooks_in_parent);
	tcase_add_test(tc, test_unread_input_does_not_leak);
	tcase_add_test(tc, test_udp_echo);
	tcase_add_test(tc, test_pfsd_done_ends_child);
	tcase_add_loop_test(tc, test_udp_request_data, 0, 2);
	tcase_add_test(tc, test_accept_errors_rate_limited);
	tcase_add_loop_test(tc, test_idle_child_trims_stack, 0,
	    (int)(sizeof(trims) / sizeof(trims[0])));
	tcase_add_loop_test(tc, test_handler_fclose_stdio, 0,
	    (int)(sizeof(fcloses) / sizeof(fcloses[0])));
	tcase_add_loop_test(tc, test_client_reset_mid_reply, 0,
	    (int)(sizeof(resets) / sizeof(resets[0])));
	tcase_add_test(tc, test_emfile_child_accept);
	tcase_add_loop_test(tc, test_sched_policy, 0,
	    (int)(sizeof(scheds) / sizeof(scheds[0])));
	suite_add_tcase(s, tc);
	return s;
}
