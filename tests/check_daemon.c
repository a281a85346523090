/*
 * check_daemon.c - running as a daemon: background readiness, sd_notify,
 * the pid file, privileges, chroot, logging (file, syslog, levels, USR1
 * reopening), exit codes.  Also started the way a careless operator or
 * an attacker would: descriptors 0-2 closed, a FIFO or a device at
 * log_file, uids without a passwd entry, long group lists, a UNIX client
 * whose socket name holds a newline.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static pid_t	daemon_pid;

/* A backgrounded pfsd is not our child: never leave it behind. */
static void
kill_daemon(void)
{
	if (daemon_pid > 0)
		kill(daemon_pid, SIGTERM);
}

static pid_t
read_pid(const char *path)
{
	char	*s = h_read_file(path);
	pid_t	 pid = s != NULL ? (pid_t)atol(s) : -1;

	free(s);
	return pid;
}

static int
wait_gone(pid_t pid, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return 0;
		usleep(10000);
	}
	return -1;
}

START_TEST(test_background_returns_when_serving)
{
	char		 out[4096], portarg[64], pidarg[600], logarg[600], buf[64];
	const char	*av[] = { "--handler=echo", portarg, "--background",
			    pidarg, logarg, "--max_servers=2", NULL };
	int		 port = h_free_port(), status;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(pidarg, sizeof(pidarg), "--pid_file=%s", h_path("pfsd.pid"));
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	atexit(kill_daemon);
	status = h_run(av, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	/* no retry loop: the command returned, so it serves now */
	ck_assert_int_eq(h_talk("127.0.0.1", port, "up\n", buf, sizeof(buf)),
	    3);
	daemon_pid = read_pid(h_path("pfsd.pid"));
	ck_assert_int_gt(daemon_pid, 1);
	kill(daemon_pid, SIGTERM);
	ck_assert_int_eq(wait_gone(daemon_pid, 5000), 0);
	ck_assert_int_eq(access(h_path("pfsd.pid"), F_OK), -1);
}
END_TEST

START_TEST(test_background_reports_failure)
{
	char		 out[4096], portarg[64];
	const char	*av[] = { "--handler=echo", portarg, "--background",
			    NULL };
	int		 port = h_free_port(), status;

	/* the port is taken: the daemon cannot bind, the caller says so */
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	{
		struct hproc		 p;
		const char *const	 av2[] = { "--handler=echo", portarg,
					    NULL };

		ck_assert_int_eq(h_start(&p, av2), 0);
		ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
		status = h_run(av, out, sizeof(out));
		h_stop(&p, SIGTERM, 5000);
	}
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 69);
	ck_assert_msg(strstr(out, "Address already in use") != NULL, "%s", out);
}
END_TEST

START_TEST(test_pidfile_refuses_second_instance)
{
	struct hproc	 p;
	char		 out[4096], portarg[64], pidarg[600], msg[128];
	const char	*av[] = { "--handler=echo", portarg, pidarg, NULL };

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	snprintf(pidarg, sizeof(pidarg), "--pid_file=%s", h_path("pfsd.pid"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(read_pid(h_path("pfsd.pid")), p.pid);
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	h_run_exit(av, 69, out, sizeof(out));
	snprintf(msg, sizeof(msg), "pfsd is already running as pid %d",
	    (int)p.pid);
	ck_assert_msg(strstr(out, msg) != NULL, "%s", out);
	ck_assert_int_eq(read_pid(h_path("pfsd.pid")), p.pid);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_pidfile_stale_replaced_and_symlink_refused)
{
	struct hproc	 p;
	char		 out[4096], portarg[64], pidarg[600], *log;
	const char	*av[] = { "--handler=echo", portarg, pidarg, NULL };
	int		 status;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	snprintf(pidarg, sizeof(pidarg), "--pid_file=%s", h_path("pfsd.pid"));
	h_write("pfsd.pid", "%d\n", 4194303);	/* above pid_max: dead */
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(read_pid(h_path("pfsd.pid")), p.pid);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);

	h_write("target", "keep me\n");
	ck_assert_int_eq(symlink(h_path("target"), h_path("link.pid")), 0);
	snprintf(pidarg, sizeof(pidarg), "--pid_file=%s", h_path("link.pid"));
	status = h_run(av, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	ck_assert_msg(strstr(out, "is a symbolic link; refusing to follow it")
	    != NULL, "%s", out);
	log = h_read_file(h_path("target"));
	ck_assert_str_eq(log, "keep me\n");
	free(log);
}
END_TEST

/*
 * A pid file with another hard link (or a FIFO) is refused untouched:
 * pfsd, root there, must not overwrite whatever the link points to.
 */
START_TEST(test_pidfile_hardlink_and_fifo_refused)
{
	char		 out[4096], portarg[64], pidarg[600];
	const char	*av[] = { "--handler=echo", portarg, pidarg, NULL };

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	h_write("victim", "keep me\n");
	ck_assert_int_eq(link(h_path("victim"), h_path("link.pid")), 0);
	snprintf(pidarg, sizeof(pidarg), "--pid_file=%s", h_path("link.pid"));
	h_run_exit(av, 69, out, sizeof(out));
	ck_assert_msg(strstr(out, "link.pid: not a regular file with a single "
	    "link; refusing to write to it") != NULL, "%s", out);
	h_assert_untouched(h_path("victim"), "keep me\n");

	ck_assert_int_eq(mkfifo(h_path("fifo.pid"), 0600), 0);
	snprintf(pidarg, sizeof(pidarg), "--pid_file=%s", h_path("fifo.pid"));
	h_run_exit(av, 69, out, sizeof(out));
	ck_assert_msg(strstr(out, "fifo.pid: No such device or address") !=
	    NULL, "%s", out);
}
END_TEST

/* The same for the log file, which pfsd would also chown to its user. */
START_TEST(test_log_file_hardlink_refused)
{
	char		 out[4096], portarg[64], logarg[600], want[700];
	const char	*av[] = { "--handler=echo", portarg, logarg,
			    "--user=nobody", NULL };

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	h_write("victim", "keep me\n");
	ck_assert_int_eq(link(h_path("victim"), h_path("pfsd.log")), 0);
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	h_run_exit(av, 69, out, sizeof(out));
	snprintf(want, sizeof(want), "command line: log_file: %s: cannot open "
	    "log file: it has "
	    "2 hard links; refusing to write to it\n", h_path("pfsd.log"));
	ck_assert_str_eq(out, want);
	h_assert_untouched(h_path("victim"), "keep me\n");
}
END_TEST

/*
 * Root without a user: a warning says the handler serves as root; none
 * once a user is named, even root's own.
 */
START_TEST(test_root_without_user_warns)
{
	struct hproc	 p;
	char		 portarg[64], userarg[64];
	const char	*av[] = { "--handler=echo", portarg, NULL, NULL };
	const char	*want = "warning: running as root without \"user\": "
			    "the handler serves every client as root";

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_log_has(&p, want), geteuid() == 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);

	snprintf(userarg, sizeof(userarg), "--user=%ld", (long)geteuid());
	av[2] = userarg;
	unlink(p.log);		/* h_start appends */
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_log_has(&p, want), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static long
status_field(pid_t pid, const char *field)
{
	char	path[64], line[256];
	FILE	*f;
	long	 v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

START_TEST(test_user_nobody)
{
	struct hproc	 p;
	char		 portarg[64], logarg[600], buf[64];
	const char	*av[] = { "--handler=echo", portarg, logarg,
			    "--user=nobody", "--group=nogroup",
			    "--max_servers=2", NULL };
	pid_t		 kids[4];
	struct stat	 st;
	int		 port = h_free_port();

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, kids, 4), 2);
	ck_assert_int_eq(status_field(kids[0], "Uid:"), 65534);
	ck_assert_int_eq(status_field(kids[0], "Gid:"), 65534);
	ck_assert_int_eq(status_field(p.pid, "Uid:"), 65534);
	ck_assert_int_eq(status_field(p.pid, "Gid:"), 65534);
	ck_assert_int_eq(stat(h_path("pfsd.log"), &st), 0);
	ck_assert_int_eq(st.st_uid, 65534);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hi\n", buf, sizeof(buf)),
	    3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Every number of a /proc/PID/status line ("Uid:", "Groups:"); count. */
static int
status_ids(pid_t pid, const char *field, long *ids, int max)
{
	char	 path[64], line[1024], *p, *end;
	FILE	*f;
	int	 n = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (n == -1 && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, strlen(field)) != 0)
			continue;
		for (n = 0, p = line + strlen(field); n < max; n++) {
			ids[n] = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
	}
	fclose(f);
	return n;
}

/* Real, effective, saved and filesystem ids all equal want. */
static void
assert_ids(pid_t pid, const char *field, long want)
{
	long	ids[8];
	int	i;

	ck_assert_msg(status_ids(pid, field, ids, 8) == 4, "pid %d: no %s",
	    (int)pid, field);
	for (i = 0; i < 4; i++)
		ck_assert_msg(ids[i] == want, "pid %d: %s field %d is %ld, "
		    "not %ld", (int)pid, field, i + 1, ids[i], want);
}

/* "group nogroup daemon": gid nogroup everywhere (real, effective, saved,
 * filesystem), supplementary groups exactly nogroup and daemon, root's
 * gone; uid nobody everywhere; in the parent and in every child. */
START_TEST(test_user_group_list)
{
	struct hproc	 p;
	char		 portarg[64], buf[64], *conf;
	const char	*av[] = { "-c", NULL, portarg, NULL };
	pid_t		 pids[5];
	long		 groups[16];
	int		 port = h_free_port(), i, n, g;

	if (geteuid() != 0)
		H_SKIP("switching user needs root");
	conf = h_write("pfsd.conf", "handler echo\nuser nobody\n"
	    "group nogroup daemon\nmax_servers 3\n");
	av[1] = conf;
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "%s", h_read_file(p.log));
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	pids[0] = p.pid;
	ck_assert_int_eq(h_children(p.pid, pids + 1, 4), 3);
	for (i = 0; i < 4; i++) {
		assert_ids(pids[i], "Uid:", 65534);
		assert_ids(pids[i], "Gid:", 65534);
		n = status_ids(pids[i], "Groups:", groups, 16);
		ck_assert_msg(n == 2, "pid %d: %d supplementary groups, not 2",
		    (int)pids[i], n);
		for (g = 0; g < n; g++)
			ck_assert_msg(groups[g] == 1 || groups[g] == 65534,
			    "pid %d: supplementary group %ld", (int)pids[i],
			    groups[g]);
		ck_assert(groups[0] != groups[1]);
	}
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hi\n", buf, sizeof(buf)),
	    3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Run cmd with sh; its output (stdout+stderr) in out; the exit status. */
static int
sh_out(const char *cmd, char *out, size_t len)
{
	char	 full[4096];
	size_t	 n;
	FILE	*f;
	int	 status;

	snprintf(full, sizeof(full), "(%s) 2>&1", cmd);
	if ((f = popen(full, "r")) == NULL)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A warning or an error anywhere in the file at path? */
static void
assert_log_clean(const char *path)
{
	char	*log = h_read_file(path);

	ck_assert_msg(log != NULL, "%s: missing", path);
	ck_assert_msg(strstr(log, ": warning: ") == NULL &&
	    strstr(log, ": error: ") == NULL && strstr(log, ": crit: ") ==
	    NULL, "%s:\n%s", path, log);
	free(log);
}

/* One connection; its log line appears in the file at path. */
static void
serve_logged(int port, const char *path)
{
	char	buf[64], want[128];

	ck_assert_int_eq(h_talk("127.0.0.1", port, "hi\n", buf, sizeof(buf)),
	    3);
	snprintf(want, sizeof(want), "on 127.0.0.1:%d/tcp", port);
	ck_assert_msg(h_wait_file(path, want, 5000) == 0,
	    "no connection line in %s", path);
}

/*
 * The deployment layout of conf/pfsd.service, conf/pfsd.logrotate and
 * conf/pfsd.conf, end to end, as root: the shipped files, their paths
 * moved into this test's directory.  /run/pfsd as the unit leaves it
 * (ExecStartPre), /var/log/pfsd root's; conf/pfsd.conf with its commented
 * user, group, pid_file, log_file and status_socket set.  Start, serve,
 * HUP three times, ask the status socket, rotate twice with the shipped
 * logrotate rules (which send USR1), serve into each new file, QUIT:
 * nothing left in /run/pfsd, no process left, no warning anywhere.
 */
START_TEST(test_deployment_layout)
{
	struct hproc	 p;
	char		 cmd[8192], out[4096], conf[600], run[600], logd[600];
	char		 log[700], rot[700];
	const char	*av[] = { "-c", conf, NULL };
	pid_t		 kids[16];
	struct stat	 st;
	int		 port = h_free_port(), nkids, i;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(run, sizeof(run), "%s", h_path("run/pfsd"));
	snprintf(logd, sizeof(logd), "%s", h_path("log/pfsd"));
	snprintf(conf, sizeof(conf), "%s", h_path("pfsd.conf"));
	snprintf(log, sizeof(log), "%s/pfsd.log", logd);
	snprintf(rot, sizeof(rot), "%s", h_path("pfsd.logrotate"));
	/* systemd makes RuntimeDirectory and LogsDirectory root's, 0755 */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' '%s' && "
	    "sed -n 's/^ExecStartPre=//p' '%s/conf/pfsd.service' | "
	    "sed 's#/run/pfsd#%s#g' | sh -ex", run, logd, SRCDIR, run);
	ck_assert_msg(sh_out(cmd, out, sizeof(out)) == 0, "%s\n%s", cmd, out);
	snprintf(cmd, sizeof(cmd), "sed -e 's/^#\\(user\\|group\\|pid_file\\|"
	    "log_file\\|status_socket\\)\\([[:space:]]\\)/\\1\\2/' "
	    "-e 's#/run/pfsd#%s#g' "
	    "-e 's#/var/log/pfsd#%s#g' -e 's#^port[[:space:]].*#port "
	    "127.0.0.1:%d#' '%s/conf/pfsd.conf' > '%s' && "
	    "sed -e 's#/run/pfsd#%s#g' -e 's#/var/log/pfsd#%s#g' "
	    "'%s/conf/pfsd.logrotate' > '%s' && "
	    "grep -q '^user[[:space:]]*nobody$' '%s' && "
	    "grep -q '^log_file[[:space:]]' '%s' && "
	    "grep -q '^pid_file[[:space:]]' '%s' && "
	    "grep -q '^status_socket[[:space:]]' '%s'", run, logd, port,
	    SRCDIR, conf, run, logd, SRCDIR, rot, conf, conf, conf, conf);
	ck_assert_msg(sh_out(cmd, out, sizeof(out)) == 0, "%s\n%s", cmd, out);

	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(status_field(p.pid, "Uid:"), 65534);
	serve_logged(port, log);
	for (i = 0; i < 3; i++) {
		kill(p.pid, SIGHUP);
		ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
		ck_assert_int_eq(h_talk("127.0.0.1", port, "hi\n", out,
		    sizeof(out)), 3);
	}
	/* the status socket made before the drop still answers */
	snprintf(cmd, sizeof(cmd), "%s status -c '%s'", PFSD_BIN, conf);
	ck_assert_msg(sh_out(cmd, out, sizeof(out)) == 0, "%s\n%s", cmd, out);
	ck_assert_msg(strstr(out, " generation 3 ") != NULL, "%s", out);
	for (i = 0; i < 2; i++) {
		/* logrotate's state file is this test's; -f: rotate now */
		snprintf(cmd, sizeof(cmd), "logrotate -f -s '%s' '%s'",
		    h_path("logrotate.state"), rot);
		ck_assert_msg(sh_out(cmd, out, sizeof(out)) == 0, "%s\n%s",
		    cmd, out);
		ck_assert_int_eq(stat(log, &st), 0);
		ck_assert_int_eq(st.st_uid, 65534);
		ck_assert_int_eq(st.st_mode & 0777, 0640);
		/* the parent says so once it has passed USR1 on to the
		 * children, in the new file */
		ck_assert_msg(h_wait_file(log, "USR1: log file reopened",
		    10000) == 0, "no USR1 line in the new %s", log);
		serve_logged(port, log);
	}
	/* the first rotated file, compressed at the second rotation, and
	 * the second, not yet: nothing wrote them after their USR1 */
	snprintf(cmd, sizeof(cmd), "zcat '%s.2.gz' | grep -c 'USR1: log file "
	    "reopened' ; grep -c 'USR1: log file reopened' '%s.1'", log, log);
	ck_assert_int_eq(sh_out(cmd, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "0\n1\n");

	nkids = h_children(p.pid, kids, 16);
	ck_assert_int_gt(nkids, 0);
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 10000), 0);
	for (i = 0; i < nkids; i++)
		ck_assert_int_eq(wait_gone(kids[i], 5000), 0);
	snprintf(cmd, sizeof(cmd), "ls -A '%s'", run);
	ck_assert_int_eq(sh_out(cmd, out, sizeof(out)), 0);
	ck_assert_msg(out[0] == '\0', "left in %s: %s", run, out);
	assert_log_clean(log);
	snprintf(cmd, sizeof(cmd), "%s.1", log);
	assert_log_clean(cmd);
	assert_log_clean(p.log);
	ck_assert_int_eq(h_log_has(&p, "pfsd"), 0);
}
END_TEST

START_TEST(test_unknown_user_refused)
{
	char		 out[4096], portarg[64];
	const char	*av[] = { "--handler=echo", portarg,
			    "--user=no-such-user-here", NULL };
	int		 status;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	status = h_run(av, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	ck_assert_msg(strstr(out, "no such user \"no-such-user-here\"") !=
	    NULL, "%s", out);
}
END_TEST

START_TEST(test_chroot)
{
	struct hproc	 p;
	char		 portarg[64], rootarg[600], buf[64];
	const char	*av[] = { "--handler=echo", portarg, rootarg,
			    "--max_servers=1", NULL };
	char		 root[512], link[64], target[512];
	pid_t		 kid;
	ssize_t		 n;
	int		 port = h_free_port();

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(root, sizeof(root), "%s", h_path("jail"));
	ck_assert_int_eq(mkdir(root, 0755), 0);
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(rootarg, sizeof(rootarg), "--chroot=%s", root);
	/* LeakSanitizer (SANITIZE=1 builds) needs /proc, absent in the jail */
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "jailed\n", buf,
	    sizeof(buf)), 7);
	ck_assert_int_eq(h_children(p.pid, &kid, 1), 1);
	snprintf(link, sizeof(link), "/proc/%d/root", (int)kid);
	n = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, root);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_log_file_format_and_levels)
{
	struct hproc	 p;
	char		 portarg[64], logarg[600], buf[64], *log;
	const char	*av[] = { "--handler=" TPLUGIN("hooks"), portarg, logarg,
			    "--log_level=0", "--max_servers=1", NULL };
	int		 port = h_free_port();

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	h_talk("127.0.0.1", port, "crash\n", buf, sizeof(buf));
	ck_assert_int_eq(h_talk("127.0.0.1", port, "ok\n", buf, sizeof(buf)),
	    3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	log = h_read_file(h_path("pfsd.log"));
	/* level 0 still logs errors (Net::Server logs nothing at all) */
	ck_assert_ptr_nonnull(strstr(log, ": error: child "));
	ck_assert_ptr_null(strstr(log, ": notice: "));
	ck_assert_ptr_null(strstr(log, "connection from"));
	ck_assert_int_eq(log[4], '-');	/* YYYY-MM-DD HH:MM:SS.mmm */
	ck_assert_ptr_nonnull(strstr(log, " pfsd["));
	free(log);
}
END_TEST

START_TEST(test_log_level_info_logs_connections)
{
	struct hproc	 p;
	char		 portarg[64], logarg[600], buf[64], *log, want[128];
	const char	*av[] = { "--handler=echo", portarg, logarg,
			    "--log_level=3", NULL };
	int		 port = h_free_port();

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	log = h_read_file(h_path("pfsd.log"));
	snprintf(want, sizeof(want), "info: connection from 127.0.0.1 port ");
	ck_assert_ptr_nonnull(strstr(log, want));
	snprintf(want, sizeof(want), "on 127.0.0.1:%d/tcp", port);
	ck_assert_ptr_nonnull(strstr(log, want));
	ck_assert_ptr_null(strstr(log, ": debug: "));
	free(log);
}
END_TEST

/*
 * A UNIX client names itself: its socket path is client data.  Bound to
 * a path with a newline, a carriage return, an escape sequence, a
 * backslash, DEL and bytes that are not UTF-8, it must still make exactly
 * one log line, with each of those escaped, and no raw control byte.
 */
START_TEST(test_log_escapes_unix_peer)
{
	static const char	 name[] = "c\nFORGED: root ok\r\x1b[1m\\x41"
				    "\x7f\xff\xc3(";
	static const char	 esc[] = "c\\x0aFORGED: root ok\\x0d\\x1b[1m"
				    "\\\\x41\\x7f\\xff\\xc3(";
	struct hproc		 p;
	struct sockaddr_un	 sun;
	char			 portarg[600], logarg[600], buf[64], *log, *l;
	char			 want[700], cdir[] = "/tmp/pfsd-t.XXXXXX";
	const char		*av[] = { "--handler=echo", portarg, logarg,
				    "--log_level=3", NULL };
	size_t			 i;
	int			 fd, lines = 0;

	snprintf(portarg, sizeof(portarg), "--port=%s/unix", h_path("s"));
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "%s", h_read_file(p.log));
	/* a short directory: pfsd keeps the first 63 bytes of a peer path */
	ck_assert_ptr_nonnull(mkdtemp(cdir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", cdir, name);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	unlink(sun.sun_path);	/* the socket keeps its name */
	rmdir(cdir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h_path("s"));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(h_talk_fd(fd, "x\n", buf, sizeof(buf), 5000), 2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	log = h_read_file(h_path("pfsd.log"));
	for (i = 0; log[i] != '\0'; i++)
		ck_assert_msg(log[i] == '\n' || ((unsigned char)log[i] >= 0x20 &&
		    (unsigned char)log[i] < 0x7f), "raw byte 0x%02x in the "
		    "log:\n%s", (unsigned char)log[i], log);
	for (l = log; (l = strstr(l, "FORGED")) != NULL; l++)
		lines++;
	ck_assert_msg(lines == 1, "the client's name is in %d places:\n%s",
	    lines, log);
	snprintf(want, sizeof(want), ": info: connection from %s/%s port 0 "
	    "on %s/unix\n", cdir, esc, h_path("s"));
	ck_assert_msg(strstr(log, want) != NULL, "no line\n%s\nin the log:\n"
	    "%s", want, log);
	free(log);
}
END_TEST

/*
 * The request_timeout line names the peer from the scoreboard, where a
 * UNIX client's path is kept cut short (26 bytes): escaped too, the
 * backslash included (as "\\x41": not taken for an escaped "A").
 */
START_TEST(test_log_escapes_timeout_peer)
{
	struct hproc		 p;
	struct sockaddr_un	 sun;
	char			 portarg[600], want[700];
	char			 cdir[] = "/tmp/pfsd-t.XXXXXX";
	const char		*av[] = { "--handler=echo", portarg,
				    "--request_timeout=1", NULL };
	int			 fd;

	snprintf(portarg, sizeof(portarg), "--port=%s/unix", h_path("s"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "%s", h_read_file(p.log));
	ck_assert_ptr_nonnull(mkdtemp(cdir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/\\x41\x7f\xff", cdir);
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	unlink(sun.sun_path);
	rmdir(cdir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h_path("s"));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(want, sizeof(want), "has served %s/\\\\x41\\x7f\\xff port 0 "
	    "for ", cdir);
	ck_assert_int_eq(h_wait_log(&p, "request_timeout: child", 5000), 0);
	ck_assert_msg(h_log_has(&p, want), "no \"%s\" in:\n%s", want,
	    h_read_file(p.log));
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * Children logging at once into one log file: every line whole, none
 * lost, none mixed with another.  Four children each log 2000 long lines
 * as fast as they can (the hooks handler's "burst"), at the same time.
 */
START_TEST(test_log_lines_concurrent)
{
	struct hproc	 p;
	char		 portarg[64], logarg[600], buf[64], *log, *l, *nl, *b;
	const char	*av[] = { "--handler=" TPLUGIN("hooks"), portarg,
			    logarg, "--max_servers=4", NULL };
	pid_t		 clients[4];
	size_t		 len;
	int		 port = h_free_port(), i, st, lines = 0;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	for (i = 0; i < 4; i++) {
		if ((clients[i] = fork()) == 0) {
			int	fd = h_connect_tcp("127.0.0.1", port);

			/* all four connected before any sends: four
			 * children log at once */
			usleep(100000);
			_exit(h_talk_fd(fd, "burst\n", buf, sizeof(buf),
			    20000) == 11 ? 0 : 1);
		}
		ck_assert_int_gt(clients[i], 0);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(clients[i], &st, 0), clients[i]);
		ck_assert_int_eq(st, 0);
	}
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_ptr_nonnull(log = h_read_file(h_path("pfsd.log")));
	for (l = log; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
		*nl = '\0';
		/* "YYYY-MM-DD HH:MM:SS.mmm pfsd[PID]: LEVEL: message" */
		ck_assert_msg(strlen(l) > 24 && l[4] == '-' && l[10] == ' ' &&
		    l[19] == '.' && strncmp(l + 23, " pfsd[", 6) == 0 &&
		    strstr(l, "]: ") != NULL, "a broken log line: \"%.300s\"",
		    l);
		if ((b = strstr(l, ": notice: burst ")) == NULL)
			continue;
		/* " x...x." ends it: 200 x and a dot, nothing else */
		len = strlen(b);
		ck_assert_msg(len > 202 && b[len - 1] == '.' &&
		    strspn(b + len - 201, "x") == 200 && b[len - 202] == ' ' &&
		    strchr(b + 1, ':') == b + 8, "a mixed log line: \"%.300s\"",
		    l);
		lines++;
	}
	ck_assert_str_eq(l, "");
	ck_assert_int_eq(lines, 4 * 2000);
	free(log);
}
END_TEST

/* syslog: pfsd's lines reach /dev/log (a socket this test binds when the
 * machine has no syslog daemon; otherwise the check is not possible). */
START_TEST(test_syslog)
{
	struct hproc		 p;
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			 portarg[64], buf[1024];
	const char		*av[] = { "--handler=echo", portarg,
				    "--log_file=Sys::Syslog",
				    "--syslog_ident=pfsdtest",
				    "--syslog_facility=local3", NULL };
	int			 fd, found = 0;

	if (access("/dev/log", F_OK) == 0)
		H_SKIP("/dev/log exists (a syslog daemon runs): its lines "
		    "cannot be read here");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/dev/log");
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	if (h_start(&p, av) == 0 && h_wait_ready(&p, 10000) == 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (!found && poll(&pfd, 1, 3000) == 1) {
			ssize_t	n = recv(fd, buf, sizeof(buf) - 1, 0);

			buf[n > 0 ? n : 0] = '\0';
			/* local3.notice = 19 * 8 + 5 */
			found = strncmp(buf, "<157>", 5) == 0 &&
			    strstr(buf, "pfsdtest[") != NULL &&
			    strstr(buf, "serving") != NULL;
		}
	}
	h_stop(&p, SIGTERM, 5000);
	close(fd);
	unlink("/dev/log");
	ck_assert_msg(found, "no syslog line from pfsd");
}
END_TEST

START_TEST(test_exit_codes)
{
	char		 out[4096];
	const char	*bad[] = { "--handler=echo", "--max_servers=x", NULL };
	const char	*nohandler[] = { "--handler=/nonexistent.so", NULL };
	const char	*ok[] = { "--handler=echo", "-t", NULL };

	h_run_exit(bad, 78, out, sizeof(out));
	h_run_exit(nohandler, 78, out, sizeof(out));
	ck_assert_msg(strstr(out, "command line: handler: cannot load "
	    "/nonexistent.so") != NULL, "%s", out);
	h_run_exit(ok, 0, out, sizeof(out));
	ck_assert_str_eq(out, "pfsd: configuration ok\n");
}
END_TEST

START_TEST(test_notify_lifecycle)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=echo", NULL };

	h_serve(&p, NULL, av);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_notify(&p, "RELOADING=1\nMONOTONIC_USEC=",
	    10000), 0);
	ck_assert_int_eq(h_wait_notify(&p, "READY=1\nSTATUS=generation 1",
	    10000), 0);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(h_wait_notify(&p, "STOPPING=1", 10000), 0);
	ck_assert_int_eq(h_wait_exit(&p, 5000), 0);
}
END_TEST

START_TEST(test_usr1_reopens_log)
{
	struct hproc	 p;
	char		 buf[64], *log, old[512];
	int		 port;

	port = h_serve_conf(&p, "handler echo\nmax_servers 2\nlog_level 3\n");
	snprintf(old, sizeof(old), "%s", h_path("pfsd.log.1"));
	ck_assert_int_eq(rename(h_path("pfsd.log"), old), 0);
	kill(p.pid, SIGUSR1);
	ck_assert_int_eq(h_wait_log(&p, "log file reopened", 5000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(h_wait_log(&p, "connection from", 5000), 0);
	log = h_read_file(old);
	ck_assert_msg(strstr(log, "connection from") == NULL,
	    "old log written after USR1:\n%s", log);
	free(log);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static int	srv_port;
static char	srv_portarg[64];

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

	srv_port = h_serve_opts(&p, PLUGIN("echo"), av, &o);
	for (i = 0; i < 5; i++)
		h_talk_ok(srv_port, "again\n", "again\n");
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
	srv_port = h_serve_opts(&p, PLUGIN("echo"), av, &o);
	for (i = 0; i < 3; i++)
		h_talk_ok(srv_port, "only this\n", "only this\n");
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
	srv_port = h_serve(&p, PLUGIN("echo"), av);
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
	h_talk_ok(srv_port, "served\n", "served\n");
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
	const char	*av[] = { "--handler=echo", srv_portarg, larg,
			    "--user=nobody", NULL };
	struct stat	 st;
	struct hproc	 p;
	int		 status;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	ck_assert_int_eq(mknod(h_path("null"), S_IFCHR | 0666,
	    makedev(1, 3)), 0);
	snprintf(srv_portarg, sizeof(srv_portarg), "--port=127.0.0.1:%d",
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
	srv_port = h_serve(&p, PLUGIN("echo"), av);
	ck_assert_int_eq(stat(h_path("theirs.log"), &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);

	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("ours.log"));
	unlink(p.log);
	srv_port = h_serve(&p, PLUGIN("echo"), av);
	ck_assert_int_eq(stat(h_path("ours.log"), &st), 0);
	ck_assert_int_eq(st.st_uid, 65534);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
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
	struct hproc		 p;
	long long		 end;
	int			 fd;

	snprintf(sarg, sizeof(sarg), "--port=%s/unix", h_path("s.sock"));
	snprintf(larg, sizeof(larg), "--log_file=%s", h_path("pfsd.log"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
	/* a relative name, short enough to be kept whole by the scoreboard */
	fd = evil_unix_client(evil, h_path("s.sock"));
	end = h_now_ms() + 10000;
	while (h_file_count(h_path("pfsd.log"), "request_timeout: child") ==
	    0 && h_now_ms() < end)
		poll(NULL, 0, 20);
	close(fd);
	log = h_read_file(h_path("pfsd.log"));
	ck_assert_msg(h_count(log, "\nFAKE") == 0, "forged:\n%s", log);
	ck_assert_msg(h_count(log, "connection from x\\x0aFAKE: root ok") == 1,
	    "%s", log);
	ck_assert_msg(h_count(log, "has served x\\x0aFAKE: root ok") == 1,
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
	srv_port = h_serve(&p, TPLUGIN("hostile"), av);
	h_talk_ok(srv_port, "log a\rFAKE\x1b[2J\x7f\n", "logged\n");
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
	const char	*av[] = { "--handler=" PLUGIN("echo"), srv_portarg,
			    "--user=4242", "--max_servers=1", NULL, NULL };
	char		 buf[256];
	struct hproc	 p;
	pid_t		 kid;
	int		 status;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	ck_assert_msg(getpwuid(4242) == NULL, "uid 4242 exists here");
	srv_port = h_free_port();
	snprintf(srv_portarg, sizeof(srv_portarg), "--port=127.0.0.1:%d", srv_port);
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
	h_talk_ok(srv_port, "hi\n", "hi\n");
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
	srv_port = h_serve(&p, PLUGIN("echo"), av);
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
wait_unlinked(const char *path, int ms)
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
	ck_assert_int_eq(wait_unlinked(h_path("pfsd.pid"), 5000), 0);
	ck_assert_int_eq(wait_unlinked(sock, 5000), 0);
	ck_assert_int_eq(wait_unlinked(h_path("status.sock"), 5000), 0);
}
END_TEST

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
	ck_assert_msg(h_count(log, "killed by signal") == 1, "%s", log);
	ck_assert_msg(h_count(log, "\nFAKE") == 0, "forged:\n%s", log);
	ck_assert_msg(h_count(log, "serving y\\x0aFAKE: crash ok") == 1, "%s",
	    log);
	free(log);
	unlink(evil);
}
END_TEST

/* One echo round trip on a new connection. */
static void
echo_ok(const char *line)
{
	h_talk_ok(srv_port, line, line);
}

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
	srv_port = h_serve(&p, "echo", av);
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
	srv_port = h_serve(&p, "echo", av);
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
	srv_port = h_serve(&p, "echo", av);
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

Suite	*daemon_suite(void);

Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc = tcase_create("daemon");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_background_returns_when_serving);
	tcase_add_test(tc, test_background_reports_failure);
	tcase_add_test(tc, test_pidfile_refuses_second_instance);
	tcase_add_test(tc, test_pidfile_stale_replaced_and_symlink_refused);
	tcase_add_test(tc, test_pidfile_hardlink_and_fifo_refused);
	tcase_add_test(tc, test_log_file_hardlink_refused);
	tcase_add_test(tc, test_root_without_user_warns);
	tcase_add_test(tc, test_user_nobody);
	tcase_add_test(tc, test_user_group_list);
	tcase_add_test(tc, test_deployment_layout);
	tcase_add_test(tc, test_unknown_user_refused);
	tcase_add_test(tc, test_chroot);
	tcase_add_test(tc, test_log_file_format_and_levels);
	tcase_add_test(tc, test_log_level_info_logs_connections);
	tcase_add_test(tc, test_log_escapes_unix_peer);
	tcase_add_test(tc, test_log_escapes_timeout_peer);
	tcase_add_test(tc, test_log_lines_concurrent);
	tcase_add_test(tc, test_syslog);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_notify_lifecycle);
	tcase_add_test(tc, test_usr1_reopens_log);
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
	tcase_add_test(tc, test_log_on_full_disk);
	tcase_add_test(tc, test_log_dir_vanished);
	tcase_add_test(tc, test_usr1_failure_not_called_success);
	suite_add_tcase(s, tc);
	return s;
}
