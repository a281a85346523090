/*
 * check_signals.c - integration tests of the signals an operator sends
 * to a serving pool: HUP (under load, broken conf, new code, new
 * max_servers, after leaving its directory), USR1, and a storm of them.
 * TTIN/TTOU, QUIT and TERM are the parent's lifecycle: check_parent.c.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int	port;

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
		ck_assert_msg(wait_generation(p.log, (unsigned int)i, 10000) == 0,
		    "generation %d never served", i);
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

START_TEST(test_usr1_reopens_log)
{
	struct hproc	 p;
	char		 buf[64], *log, old[512];

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
	ck_assert_msg(h_children(p.pid, NULL, 0) == 3, "%d children; log:\n%s",
	    h_children(p.pid, NULL, 0), h_read_file(h_path("pfsd.log")));
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_fd_count(p.pid), fds);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
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

Suite	*signals_suite(void);

Suite *
signals_suite(void)
{
	Suite	*s = suite_create("signals");
	TCase	*tc = tcase_create("signals");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_hup_under_load_drops_nothing);
	tcase_add_test(tc, test_hup_broken_conf_keeps_serving);
	tcase_add_test(tc, test_hup_new_code_and_max_servers);
	tcase_add_test(tc, test_cp_over_running_handler);
	tcase_add_test(tc, test_usr1_reopens_log);
	tcase_add_test(tc, test_signal_storm);
	tcase_add_test(tc, test_hup_relative_paths_background);
	tcase_add_test(tc, test_old_children_only_own);
	suite_add_tcase(s, tc);
	return s;
}
