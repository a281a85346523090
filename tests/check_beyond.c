/*
 * check_beyond.c - what pfsd has beyond Net::Server: the request_timeout
 * watchdog, the status socket and `pfsd status`, sd_notify messages,
 * systemd socket activation, max_requests_jitter and the replacement
 * started before a recycled child's last request ends.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int	port;

START_TEST(test_request_timeout)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=" TPLUGIN("sleepy"),
				    "--max_servers=2", "--request_timeout=1",
				    NULL };
	char			 buf[64];
	long long		 t0, took;
	int			 fd;

	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	fd = h_connect_tcp("127.0.0.1", port);
	t0 = h_now_ms();
	ck_assert_int_eq(write(fd, "20000\n", 6), 6);
	/* the other child serves meanwhile */
	ck_assert_int_eq(h_talk("127.0.0.1", port, "10\n", buf, sizeof(buf)),
	    9);
	ck_assert_int_le(h_talk_fd(fd, NULL, buf, sizeof(buf), 10000), 0);
	took = h_now_ms() - t0;
	ck_assert_msg(took >= 900 && took < 1600, "ended after %lld ms", took);
	ck_assert_int_eq(h_wait_log(&p, "request_timeout: child", 1000), 0);
	ck_assert_int_eq(h_wait_log(&p, "(handler sleepy); stopping it", 10),
	    0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* A client that connects and sends nothing is covered too. */
START_TEST(test_request_timeout_silent_client)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=echo", "--max_servers=1",
				    "--request_timeout=1", NULL };
	char			 buf[64];
	int			 fd;

	pid_t			 kid;
	long long		 t0, took;

	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, &kid, 1), 1);
	fd = h_connect_tcp("127.0.0.1", port);
	t0 = h_now_ms();
	ck_assert_int_ge(fd, 0);
	/* the child serving the silent client is the one that goes */
	while (h_alive(kid) && h_now_ms() - t0 < 5000)
		usleep(2000);
	took = h_now_ms() - t0;
	ck_assert_msg(took >= 900 && took < 4000, "the child serving a silent "
	    "client ended after %lld ms (request_timeout 1 s)", took);
	ck_assert_int_eq(h_wait_log(&p, "request_timeout: child", 3000), 0);
	close(fd);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "after\n", buf,
	    sizeof(buf)), 6);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * The watchdog's grace: a handler that survives SIGTERM gets SIGKILL one
 * second (WATCHDOG_GRACE_MS) later, not at the next tick.  Measured: the
 * handler notes when SIGTERM came, the test when the child was gone.
 */
START_TEST(test_request_timeout_grace)
{
	struct hproc		 p;
	char			 termarg[600], *s;
	const char *const	 av[] = { "--handler=" TPLUGIN("sleepy"),
				    "--max_servers=1", "--request_timeout=1",
				    termarg, NULL };
	pid_t			 kid;
	long long		 t0, term, gone;
	int			 fd;

	snprintf(termarg, sizeof(termarg), "--term_file=%s", h_path("term"));
	port = h_serve(&p, NULL, av);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, &kid, 1), 1);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_eq(write(fd, "20000\n", 6), 6);
	t0 = h_now_ms();
	while (h_alive(kid) && h_now_ms() - t0 < 10000)
		usleep(2000);
	gone = h_now_ms();
	ck_assert_msg(!h_alive(kid), "the child outlived SIGTERM for 10 s");
	ck_assert_ptr_nonnull(s = h_read_file(h_path("term")));
	term = atoll(s);
	free(s);
	ck_assert_msg(term - t0 >= 900 && term - t0 < 4000, "SIGTERM after "
	    "%lld ms (request_timeout 1 s)", term - t0);
	/*
	 * The child notes SIGTERM when its handler runs, which a loaded
	 * machine delays; so the grace is seen shorter than it is.  Without
	 * a grace the kill comes within a watchdog tick (250 ms here).
	 */
	ck_assert_msg(gone - term >= 600 && gone - term < 4000, "SIGKILL "
	    "%lld ms after SIGTERM (grace 1 s)", gone - term);
	ck_assert_int_eq(h_wait_log(&p, "ignored SIGTERM; killing it", 2000),
	    0);
	close(fd);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

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
	int		 i, status;

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	port = h_serve(&p, NULL, av);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf,
		    sizeof(buf)), 2);
	status = h_run(st, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(strstr(out, " served 7\n") != NULL, "%s", out);
	status = h_run(js, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
	status = h_run(js, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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

/* status_socket naming a file that is not a socket: refused, file kept;
 * the socket pfsd makes is 0600 whatever the umask. */
START_TEST(test_status_socket_file_refused)
{
	struct hproc	 p;
	char		 portarg[64], sock[600], out[4096], want[700], *s;
	const char	*av[] = { "--handler=echo", portarg, sock, NULL };
	struct stat	 st;
	mode_t		 mask;
	int		 status;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	h_write("not-a-socket", "keep me\n");
	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("not-a-socket"));
	status = h_run(av, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 69);
	snprintf(want, sizeof(want), "status_socket %s: exists and is not a "
	    "socket", h_path("not-a-socket"));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	s = h_read_file(h_path("not-a-socket"));
	ck_assert_str_eq(s, "keep me\n");
	free(s);

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

START_TEST(test_status_without_socket)
{
	char		 out[1024];
	const char	*av[] = { "status", NULL };
	int		 status;

	unsetenv("PFSD_CONF");
	status = h_run(av, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 78);
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

START_TEST(test_notify_lifecycle)
{
	struct hproc		 p;
	const char *const	 av[] = { "--handler=echo", NULL };

	port = h_serve(&p, NULL, av);
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

/* systemd socket activation: pfsd serves on the socket it was handed
 * (fd 3, LISTEN_FDS=1, LISTEN_PID=its pid) and binds nothing itself. */
START_TEST(test_socket_activation)
{
	struct sockaddr_in	 sin;
	struct stat		 st;
	char			 arg[64], link[64], want[64], got[64], buf[64];
	socklen_t		 len = sizeof(sin);
	pid_t			 pid;
	ssize_t			 n;
	int			 fd, status;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	port = ntohs(sin.sin_port);
	snprintf(arg, sizeof(arg), "--port=127.0.0.1:%d", port);
	if ((pid = fork()) == 0) {
		char	lp[32];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 3);
		snprintf(lp, sizeof(lp), "%d", (int)getpid());
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", lp, 1);
		execl(PFSD_BIN, "pfsd", "--handler=echo", arg, "--log_level=1",
		    (char *)NULL);
		_exit(127);
	}
	fstat(fd, &st);
	snprintf(want, sizeof(want), "socket:[%lu]", (unsigned long)st.st_ino);
	/* served through the inherited socket (our copy is never accepted
	 * on: only pfsd's children can answer) */
	ck_assert_int_eq(h_talk_fd(h_connect_tcp("127.0.0.1", port), "sa\n",
	    buf, sizeof(buf), 5000), 3);
	snprintf(link, sizeof(link), "/proc/%d/fd/3", (int)pid);
	n = readlink(link, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got, want);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}
END_TEST

/* Runs of the same pid in a sequence of "info" answers. */
static int
run_lengths(int requests, int *runs, int max)
{
	char	 buf[512], *s;
	long	 pid, last = -1;
	int	 i, n = -1;

	for (i = 0; i < requests; i++) {
		ck_assert_int_gt(h_talk("127.0.0.1", port, "info\n", buf,
		    sizeof(buf)), 0);
		ck_assert_ptr_nonnull(s = strstr(buf, " pid="));
		pid = strtol(s + 5, NULL, 10);
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

Suite	*beyond_suite(void);

Suite *
beyond_suite(void)
{
	Suite	*s = suite_create("beyond");
	TCase	*tc = tcase_create("beyond");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_timeout);
	tcase_add_test(tc, test_request_timeout_silent_client);
	tcase_add_test(tc, test_request_timeout_grace);
	tcase_add_test(tc, test_status_served_count);
	tcase_add_test(tc, test_status_text_and_json);
	tcase_add_test(tc, test_status_without_socket);
	tcase_add_test(tc, test_status_default_conf_and_json);
	tcase_add_test(tc, test_status_socket_file_refused);
	tcase_add_test(tc, test_status_unix_peer);
	tcase_add_test(tc, test_notify_lifecycle);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_max_requests_jitter);
	tcase_add_test(tc, test_replacement_before_last_request_ends);
	tcase_add_test(tc, test_recycling_cap);
	suite_add_tcase(s, tc);
	return s;
}
