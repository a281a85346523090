/*
 * check_metrics.c - `pfsd status --metrics`: the Prometheus text format,
 * checked by Prometheus's own promtool, and counts that match what the
 * test did to the running daemon (served, denied, a crash, durations).
 */
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

Suite	*metrics_suite(void);

#define READY_MS	10000

/* The value of the series that starts with name (labels included). */
static double
series(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 len = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p += len;
	}
	ck_abort_msg("no series %s in:\n%.3000s", name, text);
	return -1;
}

/* `pfsd status --metrics`, its output checked by promtool. */
static char *
scrape(const char *sock)
{
	static char	 out[16384];
	char		 arg[600], cmd[1200];
	const char	*av[] = { "status", "--metrics", arg, NULL };
	const char	*file = h_path("metrics.txt");
	FILE		*f;
	int		 rc;

	snprintf(arg, sizeof(arg), "--status_socket=%s", sock);
	ck_assert_int_eq(h_run(av, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs(out, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s 2>&1",
	    file, h_path("promtool.out"));
	rc = system(cmd);
	ck_assert_msg(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "promtool check metrics failed (%d):\n%s\non:\n%.2000s", rc,
	    h_read_file(h_path("promtool.out")), out);
	return out;
}

START_TEST(test_counts)
{
	struct hproc	 p;
	char		 portarg[64], sockarg[600], buf[256], *m;
	const char	*sock = h_path("status.sock");
	const char	*av[] = { "--handler", TPLUGIN("hooks"), portarg,
			    sockarg, "--max_servers=2", "--cidr_deny=127.0.0.2",
			    NULL };
	int		 port = h_free_port(), i;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(sockarg, sizeof(sockarg), "--status_socket=%s", sock);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);

	m = scrape(sock);
	ck_assert(series(m, "pfsd_requests_total{outcome=\"served\"}") == 0);
	ck_assert(series(m, "pfsd_max_servers") == 2);
	ck_assert(series(m, "pfsd_generation") == 0);
	ck_assert(strstr(m, "pfsd_build_info{version=\"") != NULL);

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
		    sizeof(buf)), 6);
	ck_assert_int_eq(h_talk_fd(h_connect_from("127.0.0.2", port),
	    "hello\n", buf, sizeof(buf), 5000), 0);
	ck_assert_int_le(h_talk("127.0.0.1", port, "crash\n", buf,
	    sizeof(buf)), 0);
	ck_assert(h_wait_log(&p, "killed by signal", 5000) == 0);
	/* the crash line says what the child was doing */
	ck_assert_msg(h_log_has(&p, "requests (serving 127.0.0.1 port ") &&
	    h_log_has(&p, " ms, handler hooks, generation 0)"), "%s",
	    h_read_file(p.log));
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);

	m = scrape(sock);
	ck_assert(series(m, "pfsd_requests_total{outcome=\"served\"}") == 3);
	ck_assert(series(m, "pfsd_requests_total{outcome=\"denied\"}") == 1);
	ck_assert(series(m, "pfsd_connections_accepted_total") == 5);
	ck_assert(series(m, "pfsd_child_exits_total{reason=\"crashed\"}") ==
	    1);
	ck_assert(series(m, "pfsd_child_exits_total{reason=\"timeout\"}") ==
	    0);
	ck_assert(series(m, "pfsd_request_duration_seconds_count") == 4);
	ck_assert(series(m,
	    "pfsd_request_duration_seconds_bucket{le=\"+Inf\"}") == 4);
	ck_assert(series(m, "pfsd_request_duration_seconds_sum") > 0);
	ck_assert(series(m, "pfsd_children{state=\"accepting\","
	    "generation=\"current\"}") + series(m, "pfsd_children{state="
	    "\"idle\",generation=\"current\"}") + series(m, "pfsd_children{"
	    "state=\"starting\",generation=\"current\"}") == 2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* The line that says the pool is up also says what it serves, how. */
START_TEST(test_startup_summary)
{
	struct hproc	 p;
	char		 portarg[64], sockarg[600], want[1200];
	const char	*sock = h_path("pfsd.sock");
	const char	*av[] = { "--handler", TPLUGIN("hooks"), portarg,
			    sockarg, "--max_servers=1", "--proxy_protocol=on",
			    NULL };
	int		 port = h_free_port();

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	snprintf(sockarg, sizeof(sockarg), "--port=%s/unix", sock);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	snprintf(want, sizeof(want), "serving (generation 0, pid %ld, "
	    "max_servers 1, serialize flock); sockets 127.0.0.1:%d/tcp "
	    "(PROXY), %s/unix (PROXY); handler hooks (ABI 1.", (long)p.pid,
	    port, sock);
	ck_assert_msg(h_log_has(&p, want), "no \"%s\" in:\n%s", want,
	    h_read_file(p.log));
	ck_assert(h_log_has(&p, "hooks.so); user -, group -, chroot -\n"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* --metrics is for `pfsd status` only, like --json. */
START_TEST(test_only_with_status)
{
	char		 out[1024];
	const char	*av[] = { "--handler=echo", "--metrics", "-t", NULL };
	int		 st = h_run(av, out, sizeof(out));

	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 78);
	ck_assert_msg(strstr(out, "--metrics: only with \"status\"") != NULL,
	    "%s", out);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("metrics");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_only_with_status);
	tcase_add_test(tc, test_startup_summary);
	suite_add_tcase(s, tc);
	return s;
}
