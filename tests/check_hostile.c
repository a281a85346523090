/*
 * check_hostile.c - integration tests of pfsd started, configured and
 * used the way a careless operator or an attacker would: descriptors 0-2
 * closed at start, a FIFO or a device where the log goes, a UNIX client
 * whose own socket name holds a newline, a handler that closes its
 * stdio, uids without a passwd entry, long group lists, hostile YAML.
 * The real pfsd binary, real sockets, real processes; as root where the
 * fault needs it (CI runs as root).
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>

#include "harness.h"
#include "internal.h"

static int	port;
static char	portarg[64];

static int
count(const char *text, const char *s)
{
	const char	*at;
	int		 n = 0;

	for (at = text; at != NULL && (at = strstr(at, s)) != NULL; at++)
		n++;
	return n;
}

/* Every byte of the file is printable ASCII or a line's newline. */
static void
assert_printable(const char *path)
{
	char		*text = h_read_file(path);
	const char	*c;

	ck_assert_ptr_nonnull(text);
	for (c = text; *c != '\0'; c++)
		ck_assert_msg(*c == '\n' || (*c >= 0x20 && *c < 0x7f),
		    "byte 0x%02x at offset %ld of %s:\n%s",
		    (unsigned char)*c, (long)(c - text), path, text);
	free(text);
}

/*
 * Item: started with descriptors 0 and 1 closed, as some supervisors do.
 * The listening socket must not land on 0 (replaced by the client, then
 * by /dev/null): every request of a one-child pool is served and no
 * accept() error is logged.
 */
START_TEST(test_std_fds_closed)
{
	static const char *const wrap[] = { "/bin/sh", "-c",
				    "exec \"$@\" <&- >&-", "sh", NULL };
	const struct hopts	 o = { .wrap = wrap };
	const char *const	 av[] = { "--max_servers=1", NULL };
	struct hproc		 p;
	int			 i;

	port = h_serve_opts(&p, PLUGIN("echo"), av, &o);
	for (i = 0; i < 5; i++)
		h_talk_ok(port, "again\n", "again\n");
	ck_assert_msg(!h_log_has(&p, "accept:"), "%s", h_file_tail(p.log));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * The same with 0, 1 and 2 closed and a log file: its descriptor must not
 * be 0, where a request's stdin goes -- log lines would reach a client.
 */
START_TEST(test_std_fds_closed_log_file)
{
	static const char *const wrap[] = { "/bin/sh", "-c",
				    "exec \"$@\" <&- >&- 2>&-", "sh", NULL };
	const struct hopts	 o = { .wrap = wrap };
	char			 larg[600];
	const char *const	 av[] = { "--max_servers=1", "--log_level=4",
				    larg, NULL };
	struct hproc		 p;
	int			 i;

	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("pfsd.log"));
	port = h_serve_opts(&p, PLUGIN("echo"), av, &o);
	for (i = 0; i < 3; i++)
		h_talk_ok(port, "only this\n", "only this\n");
	ck_assert_int_ge(h_file_count(h_path("pfsd.log"), "connection from"),
	    1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST


/* A configuration file: its path. */
static char *
conf_file(const char *name, const char *text)
{
	return h_write(name, "%s", text);
}

/*
 * A FIFO at log_file (the service user can plant one in the log's
 * directory): refused at once, naming where log_file was set, both by -t
 * and at startup -- never a start that hangs in open().
 */
START_TEST(test_log_file_fifo_refused)
{
	char		 conf[1200], carg[600], out[4096], want[1200];
	const char	*t_av[] = { "-t", "-c", carg, NULL };
	const char	*av[] = { "-c", carg, NULL };
	struct hproc	 p;
	int		 status;

	ck_assert_int_eq(mkfifo(h_path("fifo.log"), 0644), 0);
	snprintf(conf, sizeof(conf), "handler %s\nport 127.0.0.1:%d\n"
	    "log_file %s\n", PLUGIN("echo"), h_free_port(),
	    h_path("fifo.log"));
	snprintf(carg, sizeof(carg), "%s", conf_file("x.conf", conf));
	snprintf(want, sizeof(want), "%s:3: log_file: %s is a FIFO", carg,
	    h_path("fifo.log"));
	h_run_exit(t_av, 78, out, sizeof(out));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);

	ck_assert_int_eq(h_start(&p, av), 0);
	status = h_wait_exit(&p, 5000);
	if (status == -1)
		h_stop(&p, SIGKILL, 1000);
	ck_assert_msg(status != -1, "pfsd hangs on a FIFO log_file");
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 78);
	ck_assert_msg(h_log_has(&p, want), "%s", h_file_tail(p.log));
}
END_TEST

/*
 * USR1 with a FIFO planted where the log was (logrotate moved the file):
 * the parent neither hangs nor writes to it; it says so in the old file
 * and goes on (TTIN answered after USR1).
 */
START_TEST(test_log_reopen_fifo_refused)
{
	char		 larg[600], old[600];
	const char	*av[] = { "--max_servers=1", larg, NULL };
	struct hproc	 p;
	long long	 end;

	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("pfsd.log"));
	snprintf(old, sizeof(old), "%s", h_path("pfsd.log.1"));
	port = h_serve(&p, PLUGIN("echo"), av);
	ck_assert_int_eq(rename(h_path("pfsd.log"), old), 0);
	ck_assert_int_eq(mkfifo(h_path("pfsd.log"), 0644), 0);
	kill(p.pid, SIGUSR1);
	kill(p.pid, SIGTTIN);
	end = h_now_ms() + 5000;
	while ((h_file_count(old, "TTIN: max_servers is now 2") == 0 ||
	    h_file_count(old, "still writing to the old file") == 0) &&
	    h_now_ms() < end)
		poll(NULL, 0, 10);
	ck_assert_msg(h_file_count(old, "TTIN: max_servers is now 2") == 1,
	    "the parent hangs on USR1 with a FIFO at log_file:\n%s",
	    h_file_tail(old));
	ck_assert_msg(h_file_count(old, "not a regular file; still writing "
	    "to the old file") == 1, "%s", h_file_tail(old));
	h_talk_ok(port, "served\n", "served\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * log_file naming a device node, with user: refused, and the node is
 * never given to the user (a /dev/null or /dev/pts/N given to nobody is
 * a host-wide hole).  A node of our own stands for /dev/null.
 */
START_TEST(test_log_file_device_not_chowned)
{
	char		 larg[600];
	const char	*av[] = { "--handler=echo", portarg, larg,
			    "--user=nobody", NULL };
	struct stat	 st;
	struct hproc	 p;
	int		 status;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	ck_assert_int_eq(mknod(h_path("null"), S_IFCHR | 0666,
	    makedev(1, 3)), 0);
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("null"));
	ck_assert_int_eq(h_start(&p, av), 0);
	if ((status = h_wait_exit(&p, 5000)) == -1)
		h_stop(&p, SIGKILL, 1000);
	ck_assert_int_eq(stat(h_path("null"), &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_gid, 0);
	ck_assert(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 78);
	ck_assert_msg(h_log_has(&p, "command line: log_file: ") &&
	    h_log_has(&p, "is a device"), "%s", h_file_tail(p.log));
}
END_TEST

/*
 * A log file that exists already keeps its owner (pfsd did not make it);
 * one pfsd creates is given to the user, who must reopen it on USR1.
 */
START_TEST(test_log_file_chowned_only_if_created)
{
	char		 larg[600];
	const char	*av[] = { "--user=nobody", larg, NULL };
	struct stat	 st;
	struct hproc	 p;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("theirs.log"));
	h_write("theirs.log", "%s", "");
	port = h_serve(&p, PLUGIN("echo"), av);
	ck_assert_int_eq(stat(h_path("theirs.log"), &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);

	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("ours.log"));
	unlink(p.log);
	port = h_serve(&p, PLUGIN("echo"), av);
	ck_assert_int_eq(stat(h_path("ours.log"), &st), 0);
	ck_assert_int_eq(st.st_uid, 65534);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A UNIX client binds its own socket to a name holding a newline and a
 * fake log line, connects and stays silent.  Neither the connection line
 * (log_level 3) nor request_timeout's line may forge a line.
 */
START_TEST(test_unix_peer_cannot_forge_log)
{
	char			 sarg[600], larg[600], *log;
	const char		*av[] = { "--handler=" PLUGIN("echo"), sarg,
				    larg, "--log_level=3",
				    "--request_timeout=1", NULL };
	const char		*evil = "x\nFAKE: root ok";
	struct sockaddr_un	 sun;
	struct hproc		 p;
	long long		 end;
	int			 fd;

	snprintf(sarg, sizeof(sarg), "--port=%s/unix", h_path("s.sock"));
	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
	/* a relative name, short enough to be kept whole by the scoreboard */
	ck_assert_int_eq(chdir(h_dir()), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", evil);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h_path("s.sock"));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	end = h_now_ms() + 10000;
	while (h_file_count(h_path("pfsd.log"), "request_timeout: child") ==
	    0 && h_now_ms() < end)
		poll(NULL, 0, 20);
	close(fd);
	log = h_read_file(h_path("pfsd.log"));
	ck_assert_msg(count(log, "\nFAKE") == 0, "forged:\n%s", log);
	ck_assert_msg(count(log, "connection from x\\x0aFAKE: root ok") == 1,
	    "%s", log);
	ck_assert_msg(count(log, "has served x\\x0aFAKE: root ok") == 1,
	    "%s", log);
	free(log);
	unlink(evil);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A handler logging what a client sent (pfsd_log with the client's text
 * as an argument): carriage returns and terminal escapes come out as
 * \xNN, the log stays one printable line per message.
 */
START_TEST(test_handler_log_escaped)
{
	char		 larg[600];
	const char	*av[] = { larg, NULL };
	struct hproc	 p;

	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("pfsd.log"));
	port = h_serve(&p, TPLUGIN("hostile"), av);
	h_talk_ok(port, "log a\rFAKE\x1b[2J\x7f\n", "logged\n");
	ck_assert_int_eq(h_file_count(h_path("pfsd.log"),
	    "hostile: a\\x0dFAKE\\x1b[2J\\x7f"), 1);
	assert_printable(h_path("pfsd.log"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST


/* The value of a /proc/PID/status field ("Groups:"), trimmed. */
static char *
proc_status(pid_t pid, const char *field, char *buf, size_t len)
{
	static char	 text[16384];
	char		 path[64], *at, *end;
	size_t		 n;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	buf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)	/* size 0 to stat(2) */
		return buf;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	if ((at = strstr(text, field)) != NULL) {
		at += strlen(field);
		at += strspn(at, " \t");
		end = at + strcspn(at, "\n");
		while (end > at && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		snprintf(buf, len, "%.*s", (int)(end - at), at);
	}
	return buf;
}

/* The first child of a started pfsd. */
static pid_t
first_child(struct hproc *p)
{
	pid_t	kid;

	ck_assert_int_eq(h_wait_children(p->pid, 1, 5000), 0);
	ck_assert_int_ge(h_children(p->pid, &kid, 1), 1);
	return kid;
}

/* Start pfsd expecting it to fail at startup; its wait status. */
static int
start_fails(struct hproc *p, const char *const *av)
{
	int	status;

	ck_assert_int_eq(h_start(p, av), 0);
	if ((status = h_wait_exit(p, 5000)) == -1)
		h_stop(p, SIGKILL, 1000);
	ck_assert_msg(status != -1, "pfsd started:\n%s", h_file_tail(p->log));
	return status;
}

/*
 * user 4242, a uid with no passwd entry: without group it has no group
 * of its own, and root's group 0 must not stay -- refused.  With group
 * 4242 it runs as 4242/4242 with no other group.
 */
START_TEST(test_uid_without_passwd)
{
	const char	*av[] = { "--handler=" PLUGIN("echo"), portarg,
			    "--user=4242", "--max_servers=1", NULL, NULL };
	char		 buf[256];
	struct hproc	 p;
	pid_t		 kid;
	int		 status;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	ck_assert_msg(getpwuid(4242) == NULL, "uid 4242 exists here");
	port = h_free_port();
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	status = start_fails(&p, av);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	ck_assert_msg(h_log_has(&p, "user: 4242 has no passwd entry, so no "
	    "group of its own; name one with \"group\""), "%s",
	    h_file_tail(p.log));

	av[4] = "--group=4242";
	unlink(p.log);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
	kid = first_child(&p);
	ck_assert_str_eq(proc_status(kid, "Uid:", buf, sizeof(buf)),
	    "4242\t4242\t4242\t4242");
	ck_assert_str_eq(proc_status(kid, "Gid:", buf, sizeof(buf)),
	    "4242\t4242\t4242\t4242");
	ck_assert_str_eq(proc_status(kid, "Groups:", buf, sizeof(buf)), "4242");
	h_talk_ok(port, "hi\n", "hi\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A group list longer than 255 bytes and 64 groups: every group is
 * taken (it used to be cut, and the stub looked up as a group).
 */
START_TEST(test_long_group_list)
{
	char		 garg[1024], want[1024], buf[1024];
	const char	*av[] = { "--user=nobody", "--max_servers=1", garg,
			    NULL };
	struct hproc	 p;
	size_t		 o = 0, w = 0;
	int		 g;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	o = (size_t)snprintf(garg, sizeof(garg), "--group=");
	for (g = 10000; g <= 10060; g++) {
		o += (size_t)snprintf(garg + o, sizeof(garg) - o, "%s%d",
		    g > 10000 ? " " : "", g);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%d",
		    g > 10000 ? " " : "", g);
	}
	ck_assert_int_gt((int)strlen(garg), 300);
	port = h_serve(&p, PLUGIN("echo"), av);
	ck_assert_str_eq(proc_status(first_child(&p), "Gid:", buf,
	    sizeof(buf)), "10000\t10000\t10000\t10000");
	ck_assert_str_eq(proc_status(first_child(&p), "Groups:", buf,
	    sizeof(buf)), want);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* More groups than the system allows: refused, saying so. */
START_TEST(test_too_many_groups)
{
	char		 carg[600], want[128];
	const char	*av[] = { "-c", carg, NULL };
	long		 max = sysconf(_SC_NGROUPS_MAX), g;
	struct hproc	 p;
	FILE		*f;
	int		 status;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(carg, sizeof(carg), "%s", h_path("groups.conf"));
	ck_assert_ptr_nonnull(f = fopen(carg, "w"));
	fprintf(f, "handler %s\nport 127.0.0.1:%d\nuser nobody\ngroup",
	    PLUGIN("echo"), h_free_port());
	for (g = 0; g <= max; g++)
		fprintf(f, " %ld", 100000 + g);
	fprintf(f, "\n");
	fclose(f);
	status = start_fails(&p, av);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	snprintf(want, sizeof(want), "group: %ld groups named; this system "
	    "allows at most %ld", max + 1, max);
	ck_assert_msg(h_log_has(&p, want), "%s", h_file_tail(p.log));
}
END_TEST





/*
 * chroot with a UNIX socket, pid file, status socket and log file inside
 * the jail: USR1 reopens the log there (its path used to be looked up
 * inside the jail as if it were outside), and a stop removes the files
 * (they used to stay behind).
 */
START_TEST(test_chroot_cleanup_and_reopen)
{
	char		 jail[512], a[5][700], sock[600], log[600], buf[64];
	const char	*av[] = { "--handler=echo", "--max_servers=1", a[0], a[1],
			    a[2], a[3], a[4], NULL };
	struct hproc	 p;
	struct stat	 st;
	long long	 end;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(jail, sizeof(jail), "%s", h_path("jail"));
	ck_assert_int_eq(mkdir(jail, 0755), 0);
	ck_assert_int_eq(mkdir(h_path("jail/run"), 0755), 0);
	ck_assert_int_eq(mkdir(h_path("jail/log"), 0755), 0);
	snprintf(sock, sizeof(sock), "%s/run/s.sock", jail);
	snprintf(log, sizeof(log), "%s/log/pfsd.log", jail);
	snprintf(a[0], sizeof(a[0]), "--chroot=%s", jail);
	snprintf(a[1], sizeof(a[1]), "--port=%s/unix", sock);
	snprintf(a[2], sizeof(a[2]), "--pid_file=%s/run/pfsd.pid", jail);
	snprintf(a[3], sizeof(a[3]), "--status_socket=%s/run/status.sock",
	    jail);
	snprintf(a[4], sizeof(a[4]), "--log_file=%s", log);
	/* LeakSanitizer (SANITIZE=1 builds) needs /proc, absent in the jail */
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "%s",
	    h_file_tail(log));
	ck_assert_int_eq(h_talk_unix(sock, "jailed\n", buf, sizeof(buf)), 7);
	ck_assert_int_eq(rename(log, h_path("jail/log/pfsd.log.1")), 0);
	kill(p.pid, SIGUSR1);
	end = h_now_ms() + 5000;
	while (h_file_count(log, "USR1: log file reopened") == 0 &&
	    h_now_ms() < end)
		poll(NULL, 0, 10);
	ck_assert_msg(h_file_count(log, "USR1: log file reopened") == 1, "%s",
	    h_file_tail(h_path("jail/log/pfsd.log.1")));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(stat(h_path("jail/run/pfsd.pid"), &st), -1);
	ck_assert_int_eq(stat(sock, &st), -1);
	ck_assert_int_eq(stat(h_path("jail/run/status.sock"), &st), -1);
	ck_assert_int_eq(h_file_count(log, "stopped"), 1);
}
END_TEST

/* Wait up to ms for path to be gone; 0 when it is. */
static int
wait_gone(const char *path, int ms)
{
	long long	end = h_now_ms() + ms;
	struct stat	st;

	while (lstat(path, &st) == 0 && h_now_ms() < end)
		poll(NULL, 0, 10);
	return lstat(path, &st) == 0 ? -1 : 0;
}

/*
 * chroot with the pid file, a UNIX socket and the status socket outside
 * the jail (as usual: /run/pfsd): removed at the stop all the same (by
 * the janitor left outside); the log outside the jail cannot be reopened
 * on USR1, which -t says and USR1 logs, the old file staying in use.
 */
START_TEST(test_chroot_files_outside)
{
	char		 jail[512], a[5][700], sock[600], log[600], out[4096];
	char		 buf[64];
	const char	*av[] = { "--handler=echo", "--max_servers=1", a[0], a[1],
			    a[2], a[3], a[4], NULL };
	const char	*t_av[] = { "-t", "--handler=echo", a[0], a[4], NULL };
	struct hproc	 p;
	long long	 end;
	int		 status;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(jail, sizeof(jail), "%s", h_path("jail"));
	ck_assert_int_eq(mkdir(jail, 0755), 0);
	snprintf(sock, sizeof(sock), "%s", h_path("s.sock"));
	snprintf(log, sizeof(log), "%s", h_path("pfsd.log"));
	snprintf(a[0], sizeof(a[0]), "--chroot=%s", jail);
	snprintf(a[1], sizeof(a[1]), "--port=%s/unix", sock);
	snprintf(a[2], sizeof(a[2]), "--pid_file=%s", h_path("pfsd.pid"));
	snprintf(a[3], sizeof(a[3]), "--status_socket=%s",
	    h_path("status.sock"));
	snprintf(a[4], sizeof(a[4]), "--log_file=%s", log);
	status = h_run(t_av, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	ck_assert_msg(strstr(out, "log_file: ") != NULL && strstr(out,
	    "is not under chroot") != NULL && strstr(out, "SIGUSR1 cannot "
	    "reopen it") != NULL, "%s", out);

	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "%s",
	    h_file_tail(log));
	ck_assert_int_eq(h_talk_unix(sock, "jailed\n", buf, sizeof(buf)), 7);
	kill(p.pid, SIGUSR1);
	end = h_now_ms() + 5000;
	while (h_file_count(log, "cannot reopen the log file from inside the "
	    "chroot; still writing to the old file") == 0 && h_now_ms() < end)
		poll(NULL, 0, 10);
	ck_assert_msg(h_file_count(log,
	    "cannot reopen the log file from inside "
	    "the chroot") == 1, "%s", h_file_tail(log));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(wait_gone(h_path("pfsd.pid"), 5000), 0);
	ck_assert_int_eq(wait_gone(sock, 5000), 0);
	ck_assert_int_eq(wait_gone(h_path("status.sock"), 5000), 0);
}
END_TEST



/* A UNIX client whose own socket is named evil (relative, in h_dir()),
 * connected to path; the descriptor. */
static int
evil_unix_client(const char *evil, const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	ck_assert_int_eq(chdir(h_dir()), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", evil);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/*
 * The line saying a child crashed names the peer it was serving: a UNIX
 * client's own socket name, escaped like everywhere else.
 */
START_TEST(test_crash_line_escaped)
{
	char		 sarg[600], larg[600], buf[64], *log;
	const char	*av[] = { "--handler=" TPLUGIN("hooks"), sarg, larg,
			    NULL };
	const char	*evil = "y\nFAKE: crash ok";
	struct hproc	 p;
	long long	 end;
	int		 fd;

	snprintf(sarg, sizeof(sarg), "--port=%s/unix", h_path("c.sock"));
	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
	fd = evil_unix_client(evil, h_path("c.sock"));
	ck_assert_int_eq(h_talk_fd(fd, "crash\n", buf, sizeof(buf), 5000), 0);
	end = h_now_ms() + 5000;
	while (h_file_count(h_path("pfsd.log"), "killed by signal") == 0 &&
	    h_now_ms() < end)
		poll(NULL, 0, 10);
	h_stop(&p, SIGTERM, 5000);
	log = h_read_file(h_path("pfsd.log"));
	ck_assert_msg(count(log, "killed by signal") == 1, "%s", log);
	ck_assert_msg(count(log, "\nFAKE") == 0, "forged:\n%s", log);
	ck_assert_msg(count(log, "serving y\\x0aFAKE: crash ok") == 1, "%s",
	    log);
	free(log);
	unlink(evil);
}
END_TEST


Suite	*hostile_suite(void);

Suite *
hostile_suite(void)
{
	Suite	*s = suite_create("hostile");
	TCase	*tc = tcase_create("hostile");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_std_fds_closed);
	tcase_add_test(tc, test_std_fds_closed_log_file);
	tcase_add_test(tc, test_log_file_fifo_refused);
	tcase_add_test(tc, test_log_reopen_fifo_refused);
	tcase_add_test(tc, test_log_file_device_not_chowned);
	tcase_add_test(tc, test_log_file_chowned_only_if_created);
	tcase_add_test(tc, test_unix_peer_cannot_forge_log);
	tcase_add_test(tc, test_handler_log_escaped);
	tcase_add_test(tc, test_uid_without_passwd);
	tcase_add_test(tc, test_long_group_list);
	tcase_add_test(tc, test_too_many_groups);
	tcase_add_test(tc, test_chroot_cleanup_and_reopen);
	tcase_add_test(tc, test_chroot_files_outside);
	tcase_add_test(tc, test_crash_line_escaped);
	suite_add_tcase(s, tc);
	return s;
}
