/*
 * check_status.c - the status socket and `pfsd status` (status.c): the
 * header's counts, the text and JSON tables of the children, the socket
 * made 0600 and never over a file, the configuration `pfsd status`
 * reads without -c, and a UNIX client's chosen name kept out of it.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int	port;

/* The header's served count: requests of the running children and of
 * those that already exited (max_requests 2), each counted once. */
START_TEST(test_status_served_count)
{
	struct hproc	 p;
	char		 sock[600], out[8192], buf[64];
	const char	*av[] = { "--handler=echo", "--max_servers=2",
			    "--max_requests=2", sock, NULL };
	const char	*st[] = { "status", sock, NULL };
	const char	*js[] = { "status", "--json", sock, NULL };
	int		 i;

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	port = h_serve(&p, NULL, av);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf,
		    sizeof(buf)), 2);
	h_run_exit(st, 0, out, sizeof(out));
	ck_assert_msg(strstr(out, " served 7\n") != NULL, "%s", out);
	h_run_exit(js, 0, out, sizeof(out));
	ck_assert_msg(strstr(out, "\"served\": 7,") != NULL, "%s", out);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(h_wait_log(&p, "stopped (7 requests served)", 10), 0);
}
END_TEST

START_TEST(test_status_text_and_json)
{
	struct hproc	 p;
	char		 sock[600], out[8192], *s;
	const char	*av[] = { "--handler=" TPLUGIN("sleepy"), "--max_servers=3",
			    sock, NULL };
	const char	*st[] = { "status", sock, NULL };
	const char	*js[] = { "status", "--json", sock, NULL };
	int		 fd, status, n;

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_eq(write(fd, "3000\n", 5), 5);
	/* until the child shows busy and the other two have left
	 * "starting" (a loaded machine is slow to run them) */
	for (n = 0; n < 500; n++) {
		status = h_run(st, out, sizeof(out));
		if (strstr(out, "busy 1 idle 2") != NULL)
			break;
		usleep(10000);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	    out);
	ck_assert_msg(strstr(out, "max_servers 3 children 3 busy 1 idle 2")
	    != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "PID      STATE"));
	ck_assert_ptr_nonnull(strstr(out, " 127.0.0.1:"));
	h_run_exit(js, 0, out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "\"max_servers\": 3"));
	ck_assert_ptr_nonnull(s = strstr(out, "\"slots\": ["));
	for (n = 0; (s = strstr(s + 1, "\"pid\": ")) != NULL; n++)
		;
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(out, "\"state\": \"busy\""));
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(access(h_path("status.sock"), F_OK), -1);
}
END_TEST

START_TEST(test_status_without_socket)
{
	char		 out[1024];
	const char	*av[] = { "status", NULL };

	unsetenv("PFSD_CONF");
	h_run_exit(av, 78, out, sizeof(out));
	ck_assert_str_eq(out, "pfsd status: status_socket is not set in the "
	    "configuration (give -c FILE, set PFSD_CONF, or "
	    "--status_socket=PATH)\n");
}
END_TEST

/*
 * Without -c, `pfsd status` reads $PFSD_CONF (else the installed
 * configuration).  The JSON says the version, both uptimes, and null
 * where the text shows "-" (no request: no age, no peer).
 */
START_TEST(test_status_default_conf_and_json)
{
	struct hproc	 p;
	char		 sock[600], out[8192];
	const char	*av[] = { "--handler=echo", "--max_servers=1", sock,
			    NULL };
	const char	*js[] = { "status", "--json", NULL };
	const char	*st[] = { "status", NULL };
	const char	*conf;
	int		 status;

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	conf = h_write("status.conf", "handler echo\nstatus_socket %s\n",
	    h_path("status.sock"));
	setenv("PFSD_CONF", conf, 1);
	status = h_run(js, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	    out);
	ck_assert_msg(strstr(out, "\"version\": \"" PACKAGE_VERSION "\"") !=
	    NULL && strstr(out, "\"generation_uptime_s\": ") != NULL &&
	    strstr(out, "\"uptime_s\": ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\"request_age_ms\": null, \"peer\": "
	    "null}") != NULL, "%s", out);
	ck_assert(strstr(out, "\"uptime_s\": -1") == NULL);
	status = h_run(st, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	    out);
	ck_assert_msg(strstr(out, " (generation ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "                - -\n") != NULL, "%s", out);
	unsetenv("PFSD_CONF");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* status_socket naming a file that is not a socket: refused, file kept;
 * the socket pfsd makes is 0600 whatever the umask. */
START_TEST(test_status_socket_file_refused)
{
	struct hproc	 p;
	char		 portarg[64], sock[600], out[4096], want[700];
	const char	*av[] = { "--handler=echo", portarg, sock, NULL };
	struct stat	 st;
	mode_t		 mask;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	h_write("not-a-socket", "keep me\n");
	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("not-a-socket"));
	h_run_exit(av, 69, out, sizeof(out));
	snprintf(want, sizeof(want), "status_socket %s: exists and is not a "
	    "socket", h_path("not-a-socket"));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	h_assert_untouched(h_path("not-a-socket"), "keep me\n");

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	av[1] = sock;
	av[2] = NULL;
	mask = umask(0);
	port = h_serve(&p, NULL, av);
	umask(mask);
	ck_assert_int_eq(lstat(h_path("status.sock"), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A UNIX client chooses its own path (quotes, newlines, escapes) and the
 * scoreboard keeps only its first bytes: status shows "unix" for it.
 */
START_TEST(test_status_unix_peer)
{
	struct hproc		 p;
	struct sockaddr_un	 sun;
	char			 sock[600], unixport[600], out[8192];
	const char		*av[] = { "--handler=" TPLUGIN("sleepy"),
				    "--max_servers=1", sock, unixport, NULL };
	const char		*js[] = { "status", "--json", sock, NULL };
	int			 fd, n;

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	snprintf(unixport, sizeof(unixport), "--port=%s/unix",
	    h_path("srv.sock"));
	port = h_serve(&p, NULL, av);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    h_path("client \"quoted\"\n\033[1m.sock"));
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    h_path("srv.sock"));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(write(fd, "3000\n", 5), 5);
	for (n = 0; n < 500; n++) {	/* until the child shows busy */
		h_run(js, out, sizeof(out));
		if (strstr(out, "\"busy\": 1,") != NULL)
			break;
		usleep(10000);
	}
	ck_assert_msg(strstr(out, "\"state\": \"busy\", \"served\": 1, ")
	    != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\"peer\": \"unix\"}") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "client") == NULL, "%s", out);
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * The reloads in `pfsd status`: how many ok, refused and rolled back
 * (history.c keeps them across the re-exec), and the last one with its
 * generation, time, result and reason; in the text and in the JSON,
 * read back by Python's json module.
 */
START_TEST(test_status_reload_counts)
{
	struct hproc	 p;
	char		 conf[600], out[8192];
	const char	*sock = h_path("status.sock");
	const char	*av[] = { "-c", conf, NULL };
	const char	*st[] = { "status", "-c", conf, NULL };
	const char	*js[] = { "status", "--json", "-c", conf, NULL };
	const char	*json;
	long long	 t0 = (long long)time(NULL);
	int		 hport = h_free_port();

#define RELOAD_CONF(extra) h_write("pfsd.conf", "handler echo\n" \
	    "max_servers 1\nport 127.0.0.1:%d\nstatus_socket %s\n%s", \
	    hport, sock, extra)
	snprintf(conf, sizeof(conf), "%s", RELOAD_CONF(""));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "%s",
	    h_read_file(p.log));
	h_run_exit(st, 0, out, sizeof(out));
	ck_assert_msg(strstr(out, "\nreloads ok 0 refused 0 rolled_back 0\n")
	    != NULL, "%s", out);
	h_run_exit(js, 0, out, sizeof(out));
	ck_assert_msg(strstr(out, "\"reloads\": {\"ok\": 0, \"refused\": 0, "
	    "\"rolled_back\": 0, \"last\": null},") != NULL, "%s", out);

	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);	/* ok */
	ck_assert_msg(h_wait_log(&p, "serving (generation 1,", H_READY_MS) ==
	    0, "%s", h_read_file(p.log));
	h_run_exit(st, 0, out, sizeof(out));
	ck_assert_msg(strstr(out, "\nreloads ok 1 refused 0 rolled_back 0; "
	    "last ok generation 1 at ") != NULL, "%s", out);
	RELOAD_CONF("max_servers many\n");		/* refused */
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert(h_wait_log(&p, "the new configuration was refused",
	    H_READY_MS) == 0);

	h_run_exit(st, 0, out, sizeof(out));
	ck_assert_msg(strstr(out, "\nreloads ok 1 refused 1 rolled_back 0; "
	    "last refused generation 1 at ") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "pfsd.conf:5: max_servers: ") != NULL, "%s",
	    out);
	h_run_exit(js, 0, out, sizeof(out));
	json = h_write("status.json", "%s", out);
	ck_assert_int_eq(h_sh(out, sizeof(out), "python3 -c 'import json,sys\n"
	    "r=json.load(open(sys.argv[1]))[\"reloads\"]\n"
	    "l=r[\"last\"]\n"
	    "print(r[\"ok\"], r[\"refused\"], r[\"rolled_back\"], "
	    "l[\"generation\"], l[\"result\"], "
	    "%lld <= l[\"time\"] <= %lld, \"max_servers\" in l[\"reason\"])' "
	    "%s", t0, (long long)time(NULL), json), 0);
	ck_assert_str_eq(out, "1 1 0 1 refused True True\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
#undef RELOAD_CONF
}
END_TEST

/* One echo round trip on a new connection. */
static void
echo_ok(const char *line)
{
	h_talk_ok(port, line, line);
}


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
	h_exhaust_fds(p.pid, &old);
	ck_assert_int_ge(fd = h_connect_unix(h_path("status.sock")), 0);
	ck_assert_int_eq(write(fd, "text\n", 5), 5);
	t0 = cpu_ticks(p.pid);
	poll(NULL, 0, 1000);	/* measuring CPU use over a second */
	spent = cpu_ticks(p.pid) - t0;
	ck_assert_msg(spent * 10 < sysconf(_SC_CLK_TCK), "the parent used "
	    "%ld%% of a CPU while out of descriptors", spent * 100 /
	    sysconf(_SC_CLK_TCK));
	h_nofile_back(p.pid, &old);
	ck_assert_int_gt(h_talk_fd(fd, NULL, buf, sizeof(buf), 5000), 0);
	ck_assert_ptr_nonnull(strstr(buf, "max_servers 1"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

Suite	*status_suite(void);

Suite *
status_suite(void)
{
	Suite	*s = suite_create("status");
	TCase	*tc = tcase_create("status");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_status_served_count);
	tcase_add_test(tc, test_status_text_and_json);
	tcase_add_test(tc, test_status_without_socket);
	tcase_add_test(tc, test_status_default_conf_and_json);
	tcase_add_test(tc, test_status_socket_file_refused);
	tcase_add_test(tc, test_status_unix_peer);
	tcase_add_test(tc, test_status_reload_counts);
	tcase_add_test(tc, test_emfile_status_no_spin);
	suite_add_tcase(s, tc);
	return s;
}
