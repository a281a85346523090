/*
 * check_faults.c - integration tests of pfsd under faults: descriptors
 * running out, clients that reset in the middle of a reply or never send,
 * a log that cannot be written, garbage handed over in PFSD_LISTEN_FDS.
 * Then a soak (many connections, children recycled, TTIN/TTOU/HUP) whose
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

/*
 * A client that connects and sends nothing holds a child until
 * request_timeout ends it: SIGTERM after ~1 s, logged with the peer; the
 * pool serves others meanwhile and replaces the child.
 */
START_TEST(test_request_timeout_silent_client)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=2",
				    "--request_timeout=1", NULL };
	struct sockaddr_in	 me;
	socklen_t		 len = sizeof(me);
	char			 want[128], buf[64], *log, *at;
	long long		 t0, took;
	long			 victim;
	int			 fd;

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	t0 = h_now_ms();
	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", port), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	echo_ok("the other child serves\n");
	echo_ok("and again\n");
	ck_assert_int_eq(h_log_count(&p, "request_timeout"), 0);
	snprintf(want, sizeof(want), "error: request_timeout: child ");
	ck_assert_int_eq(h_wait_log(&p, want, 5000), 0);
	ck_assert_int_eq(h_talk_fd(fd, NULL, buf, sizeof(buf), 5000), 0);
	took = h_now_ms() - t0;
	ck_assert_msg(took >= 1000 && took < 4000, "ended after %lld ms",
	    took);
	log = h_read_file(p.log);
	at = strstr(log, want);
	ck_assert_int_eq(sscanf(at + strlen(want), "%ld", &victim), 1);
	snprintf(want, sizeof(want), "has served 127.0.0.1 port %d for ",
	    ntohs(me.sin_port));
	ck_assert_ptr_nonnull(strstr(at, want));
	ck_assert_ptr_nonnull(strstr(at, " ms (handler echo); stopping it"));
	free(log);
	/* SIGTERM: the client is shut down, the handler returns, the
	 * child runs child_finish_hook and exits */
	for (took = 0; took < 500 && h_alive((pid_t)victim); took++)
		usleep(10000);
	ck_assert(!h_alive((pid_t)victim));
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	echo_ok("after\n");
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

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

/*
 * A file system with no room left: a small tmpfs, filled, mounted in a
 * mount namespace of this test process alone (pfsd inherits it; it
 * vanishes with them).  Returns the directory.
 */
static const char *
full_disk(void)
{
	char	*dir = h_path("full"), fill[600], block[4096];
	int	 fd;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", dir, "tmpfs", 0, "size=64k"), 0);
	snprintf(fill, sizeof(fill), "%s/filler", dir);
	ck_assert_int_ne(fd = open(fill, O_WRONLY | O_CREAT, 0600), -1);
	memset(block, 'x', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
	return dir;
}

/*
 * Every write to the log fails (ENOSPC): pfsd starts, serves, grows,
 * replaces a dead child, restarts on HUP and stops as usual.
 */
START_TEST(test_log_on_full_disk)
{
	struct hproc		 p;
	char			 larg[700];
	const char *const	 av[] = { "--max_servers=2", "--log_level=4",
				    larg, NULL };
	const char		*dir = full_disk();
	struct stat		 st;
	pid_t			 kids[3];

	snprintf(larg, sizeof(larg), "--log_file=%s/pfsd.log", dir);
	port = h_serve(&p, "echo", av);
	echo_ok("one\n");
	echo_ok("two\n");
	kill(p.pid, SIGTTIN);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, kids, 3), 3);
	kill(kids[1], SIGKILL);
	/* a dying child may take a connection arriving in that instant
	 * (the kernel checks the queue before the signal): let it die */
	while (h_alive(kids[1]))
		usleep(1000);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	echo_ok("three\n");
	kill(p.pid, SIGHUP);		/* the new generation says READY=1 */
	ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
	echo_ok("four\n");
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(stat(larg + strlen("--log_file="), &st), 0);
	ck_assert_int_eq(st.st_size, 0);	/* every write failed */
	umount2(dir, MNT_DETACH);
}
END_TEST

/* The contents of the file that descriptor of pid named path has. */
static char *
read_deleted(pid_t pid, const char *path)
{
	char		 link[320], target[700], want[700];
	DIR		*d;
	struct dirent	*e;
	ssize_t		 n;

	snprintf(want, sizeof(want), "%s (deleted)", path);
	snprintf(link, sizeof(link), "/proc/%ld/fd", (long)pid);
	ck_assert_ptr_nonnull(d = opendir(link));
	while ((e = readdir(d)) != NULL) {
		snprintf(link, sizeof(link), "/proc/%ld/fd/%s", (long)pid,
		    e->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want) == 0)
			break;
	}
	closedir(d);
	ck_assert_msg(e != NULL, "no descriptor of %ld on %s", (long)pid,
	    want);
	return h_read_file(link);
}

/*
 * The log's directory vanishes, then USR1 (logrotate): the reopen fails,
 * that is logged to the old file, which stays in use; serving goes on.
 * When the directory is back, USR1 opens a new file there.
 */
START_TEST(test_log_dir_vanished)
{
	struct hproc	 p;
	char		 dir[512], log[600], larg[640], want[700], *old;
	const char	*av[] = { "--max_servers=2", "--log_level=3", larg,
			    NULL };
	int		 i;

	snprintf(dir, sizeof(dir), "%s", h_path("logs"));
	snprintf(log, sizeof(log), "%s/pfsd.log", dir);
	snprintf(larg, sizeof(larg), "--log_file=%s", log);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	port = h_serve(&p, "echo", av);
	echo_ok("before\n");
	ck_assert_int_eq(unlink(log), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	kill(p.pid, SIGUSR1);
	snprintf(want, sizeof(want), "error: %s: cannot open log file: No "
	    "such file or directory; still writing to the old file", log);
	for (i = 0, old = NULL; i < 500; i++, free(old)) {
		old = read_deleted(p.pid, log);
		if (old != NULL && strstr(old, want) != NULL)
			break;
		poll(NULL, 0, 10);
	}
	ck_assert_msg(i < 500, "no \"%s\" in the old log", want);
	echo_ok("during\n");
	free(old);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	kill(p.pid, SIGUSR1);
	for (i = 0; i < 500 &&
	    h_file_count(log, "USR1: log file reopened") == 0; i++)
		poll(NULL, 0, 10);
	ck_assert_int_eq(h_file_count(log, "USR1: log file reopened"), 1);
	echo_ok("after\n");
	for (i = 0; i < 500 && h_file_count(log, "connection from") == 0; i++)
		poll(NULL, 0, 10);
	ck_assert_int_eq(h_file_count(log, "connection from"), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * After a USR1 whose reopen failed, the log must not also say it was
 * reopened (it used to say so whatever log_reopen() did).
 */
START_TEST(test_usr1_failure_not_called_success)
{
	struct hproc	 p;
	char		 dir[512], log[600], larg[640], *old;
	const char	*av[] = { "--max_servers=1", larg, NULL };
	int		 i;

	snprintf(dir, sizeof(dir), "%s", h_path("logs"));
	snprintf(log, sizeof(log), "%s/pfsd.log", dir);
	snprintf(larg, sizeof(larg), "--log_file=%s", log);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(unlink(log), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	/*
	 * USR1's failure first; TTIN only once that is logged.  Sent
	 * together, both can be pending at once: Linux then sets up a
	 * handler frame for each before returning to pfsd, and the handler
	 * set up last (TTIN's, the higher number) runs first, so TTIN's line
	 * could come before USR1's and prove nothing.  Sent after, TTIN is
	 * handled after USR1's whole handling, so its line comes after any
	 * "reopened" line a failed reopen could wrongly log.
	 */
	kill(p.pid, SIGUSR1);
	for (i = 0, old = NULL; i < 500; i++, free(old)) {
		old = read_deleted(p.pid, log);
		if (old != NULL && strstr(old, "still writing to the old file")
		    != NULL)
			break;
		poll(NULL, 0, 10);
	}
	ck_assert_msg(i < 500, "no USR1 failure logged:\n%s", old);
	ck_assert_ptr_nonnull(strstr(old, "cannot open log file"));
	free(old);
	kill(p.pid, SIGTTIN);
	for (i = 0, old = NULL; i < 500; i++, free(old)) {
		old = read_deleted(p.pid, log);
		if (old != NULL &&
		    strstr(old, "TTIN: max_servers is now 2") != NULL)
			break;
		poll(NULL, 0, 10);
	}
	ck_assert_int_lt(i, 500);
	ck_assert_msg(strstr(old, "USR1: log file reopened") == NULL,
	    "a failed reopen logged as done:\n%s", old);
	free(old);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * Garbage in the variables that hand sockets over: PFSD_LISTEN_FDS (from
 * a HUP's re-exec) and systemd's LISTEN_FDS/LISTEN_PID.  Each error as
 * logged, after "error: ".
 */
#define BAD_ENTRY(e)	"PFSD_LISTEN_FDS: bad entry \"" e "\" (expected FD=NAME)"
#define NOT_SYSTEMD(p, f) \
	"LISTEN_PID=" p " LISTEN_FDS=" f ": not a pid and a number of " \
	"descriptors"
static const struct {
	const char	*env[2];	/* NAME=VALUE */
	const char	*error;
} garbage[] = {
	{ { "PFSD_LISTEN_FDS=garbage" }, BAD_ENTRY("garbage") },
	{ { "PFSD_LISTEN_FDS=3" }, BAD_ENTRY("3") },
	{ { "PFSD_LISTEN_FDS=3=" }, BAD_ENTRY("3=") },
	{ { "PFSD_LISTEN_FDS==127.0.0.1:1/tcp" }, BAD_ENTRY("=127.0.0.1:1/tcp") },
	{ { "PFSD_LISTEN_FDS=-3=127.0.0.1:1/tcp" },
	    BAD_ENTRY("-3=127.0.0.1:1/tcp") },
	{ { "PFSD_LISTEN_FDS=3u" }, BAD_ENTRY("3u") },
	{ { "PFSD_LISTEN_FDS=3x=a" }, BAD_ENTRY("3x=a") },
	{ { "PFSD_LISTEN_FDS=3=%zz" }, BAD_ENTRY("3=%zz") },
	{ { "PFSD_LISTEN_FDS=3=%4" }, BAD_ENTRY("3=%4") },
	{ { "PFSD_LISTEN_FDS=99999999999=a" }, BAD_ENTRY("99999999999=a") },
	{ { "PFSD_LISTEN_FDS=3=a;4=b;junk" }, BAD_ENTRY("junk") },
	{ { "LISTEN_PID=abc", "LISTEN_FDS=1" }, NOT_SYSTEMD("abc", "1") },
	{ { "LISTEN_PID=1", "LISTEN_FDS=-1" }, NOT_SYSTEMD("1", "-1") },
	{ { "LISTEN_PID=1", "LISTEN_FDS=1x" }, NOT_SYSTEMD("1", "1x") },
	{ { "LISTEN_PID=1", "LISTEN_FDS=99999999999" },
	    NOT_SYSTEMD("1", "99999999999") },
};

/* Start pfsd on port (already chosen) with env (NAME=VALUE) set. */
static void
start_inheriting(struct hproc *p, const char *const *env, size_t nenv,
    const char *const *extra)
{
	const char	*av[16];
	char		 name[64], portarg[64];
	size_t		 n = 0, i;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	av[n++] = portarg;
	while (extra != NULL && *extra != NULL && n < 15)
		av[n++] = *extra++;
	av[n] = NULL;
	for (i = 0; i < nenv && env[i] != NULL; i++)
		ck_assert_int_eq(putenv(UNCONST(env[i])), 0);
	ck_assert_int_eq(h_start(p, av), 0);
	for (i = 0; i < nenv && env[i] != NULL; i++) {
		snprintf(name, sizeof(name), "%.*s",
		    (int)strcspn(env[i], "="), env[i]);
		unsetenv(name);
	}
}

/*
 * Refused clearly and at once (exit 69, EX_UNAVAILABLE), before binding:
 * the hooks handler logs post_bind_hook after the bind, and it never ran.
 */
START_TEST(test_listen_fds_garbage)
{
	struct hproc	 p;
	char		 hl[600], want[256], *hooks;
	const char	*av[] = { "--handler=" TPLUGIN("hooks"),
			    "--max_servers=1", hl, NULL };
	int		 status;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_free_port();
	start_inheriting(&p, garbage[_i].env, 2, av);
	status = h_wait_exit(&p, 10000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 69,
	    "status %#x; log:\n%s", status, h_log_tail(&p));
	snprintf(want, sizeof(want), "error: %s", garbage[_i].error);
	ck_assert_msg(h_log_has(&p, want), "no '%s' in:\n%s", want,
	    h_log_tail(&p));
	ck_assert_ptr_nonnull(hooks = h_read_file(h_path("hooks.log")));
	ck_assert_ptr_nonnull(strstr(hooks, "post_configure_hook"));
	ck_assert_ptr_null(strstr(hooks, "post_bind_hook"));
	free(hooks);
	ck_assert_int_eq(h_connect_tcp("127.0.0.1", port), -1);
	close(p.notify_fd);
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

/* A listening socket on 127.0.0.1:lport, at descriptor at. */
static void
listener_at(int lport, int at)
{
	struct sockaddr_in	sin;
	int			fd, on = 1;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)lport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(dup2(fd, at), at);
	close(fd);
}

/*
 * Entries that look right but name no usable socket (a file, a closed
 * descriptor, a socket on another port): each a warning; pfsd binds the
 * port itself, once.
 */
START_TEST(test_listen_fds_not_sockets)
{
	struct hproc	 p;
	char		 env[256], want[256];
	const char	*envs[] = { env };
	const char	*av[] = { "--handler=echo", "--max_servers=1", NULL };
	int		 other = h_free_port(), fd, i;
	static const struct {
		int		 fd;
		const char	*why;
	} bad[] = {
		{ 50, "not a socket" }, { 77, "not open" },
		{ 51, "not that socket" },
	};

	port = h_free_port();
	ck_assert_int_ge(fd = open("/dev/null", O_RDONLY), 0);
	ck_assert_int_eq(dup2(fd, 50), 50);
	close(fd);
	close(77);
	listener_at(other, 51);
	snprintf(env, sizeof(env), "PFSD_LISTEN_FDS=50=127.0.0.1:%d/tcp;"
	    "77=127.0.0.1:%d/tcp;51=127.0.0.1:%d/tcp", port, port, port);
	start_inheriting(&p, envs, 1, av);
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "not ready:\n%s",
	    h_log_tail(&p));
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		snprintf(want, sizeof(want), "warning: PFSD_LISTEN_FDS: fd %d "
		    "(127.0.0.1:%d/tcp): %s; ignored", bad[i].fd, port,
		    bad[i].why);
		ck_assert_msg(h_log_has(&p, want), "no '%s' in:\n%s", want,
		    h_log_tail(&p));
	}
	echo_ok("bound\n");
	ck_assert_int_eq(listeners_on(port), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(listeners_on(port), 0);
	close(50);
	close(51);
}
END_TEST

/*
 * A good entry is taken over, not bound again (pfsd would fail with
 * EADDRINUSE, or make a second listener); the same descriptor listed
 * twice is a warning.
 */
START_TEST(test_listen_fds_inherited_once)
{
	struct hproc	 p;
	char		 env[256], want[256];
	const char	*envs[] = { env };
	const char	*av[] = { "--handler=echo", "--max_servers=1",
			    "--log_level=3", NULL };

	port = h_free_port();
	listener_at(port, 52);
	snprintf(env, sizeof(env), "PFSD_LISTEN_FDS=52=127.0.0.1:%d/tcp;"
	    "52=127.0.0.1:%d/tcp", port, port);
	start_inheriting(&p, envs, 1, av);
	close(52);		/* pfsd has its own */
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "not ready:\n%s",
	    h_log_tail(&p));
	snprintf(want, sizeof(want), "port 127.0.0.1:%d/tcp: inherited fd 52",
	    port);
	ck_assert(h_log_has(&p, want));
	snprintf(want, sizeof(want), "warning: PFSD_LISTEN_FDS: fd 52 "
	    "(127.0.0.1:%d/tcp): listed twice; ignored", port);
	ck_assert(h_log_has(&p, want));
	echo_ok("inherited\n");
	ck_assert_int_eq(listeners_on(port), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

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
	tcase_add_test(tc, test_request_timeout_silent_client);
	tcase_add_loop_test(tc, test_client_reset_mid_reply, 0,
	    (int)(sizeof(resets) / sizeof(resets[0])));
	tcase_add_test(tc, test_log_on_full_disk);
	tcase_add_test(tc, test_log_dir_vanished);
	tcase_add_loop_test(tc, test_listen_fds_garbage, 0,
	    (int)(sizeof(garbage) / sizeof(garbage[0])));
	tcase_add_test(tc, test_listen_fds_not_sockets);
	tcase_add_test(tc, test_listen_fds_inherited_once);
	tcase_add_test(tc, test_emfile_status_no_spin);
	tcase_add_test(tc, test_usr1_failure_not_called_success);
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
