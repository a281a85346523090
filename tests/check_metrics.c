/*
 * check_metrics.c - `pfsd status --metrics`: the Prometheus text format,
 * checked by Prometheus's own promtool, and counts that match what the
 * test did to the running daemon (served, denied, a crash, durations).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
	char		 portarg[64], sockarg[600], *m;
	const char	*sock = h_path("status.sock");
	const char	*av[] = { "--handler", TPLUGIN("hooks"), portarg,
			    sockarg, "--max_servers=2", "--cidr_deny=127.0.0.2",
			    NULL };
	int		 port = h_free_port();

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

	h_served_denied_crash(port, 3);
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

/*
 * A HUP is no counter reset: what the children of generation 0 counted
 * (including those that finish after the exec), the exits and the
 * reloads by result go on in the new image and in a rollback image.
 */
START_TEST(test_counts_across_hup)
{
	struct hproc	 p;
	char		 buf[4096], conf[600], *m;
	const char	*sock = h_path("status.sock");
	const char	*av[] = { "-c", conf, NULL };
	const char	*st[] = { "status", conf, NULL };
	int		 port = h_free_port(), i;

#define HUP_CONF(extra) h_write("pfsd.conf", "handler %s\nmax_servers 2\n" \
	    "port 127.0.0.1:%d\nstatus_socket %s\n%s", TPLUGIN("hooks"), \
	    port, sock, extra)
	snprintf(conf, sizeof(conf), "%s", HUP_CONF(""));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
		    sizeof(buf)), 6);
	ck_assert_int_le(h_talk("127.0.0.1", port, "crash\n", buf,
	    sizeof(buf)), 0);
	ck_assert(h_wait_log(&p, "killed by signal", 5000) == 0);

	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);	/* ok */
	ck_assert_msg(h_wait_log(&p, "serving (generation 1,", READY_MS) == 0,
	    "%s", h_read_file(p.log));
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
		    sizeof(buf)), 6);
	HUP_CONF("max_servers many\n");		/* refused by the check */
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert(h_wait_log(&p, "the new configuration was refused", READY_MS)
	    == 0);
	HUP_CONF("fail_hook pre_loop_hook\n");	/* the new image fails */
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert_msg(h_wait_log(&p, "; generation 1 kept", READY_MS) == 0,
	    "%s", h_read_file(p.log));
	/* generation 0's children have gone (retired) */
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);

	m = scrape(sock);
	ck_assert(series(m, "pfsd_generation") == 1);
	ck_assert(series(m, "pfsd_requests_total{outcome=\"served\"}") == 5);
	ck_assert(series(m, "pfsd_connections_accepted_total") == 6);
	ck_assert(series(m, "pfsd_request_duration_seconds_count") == 5);
	ck_assert(series(m, "pfsd_child_exits_total{reason=\"crashed\"}") ==
	    1);
	ck_assert(series(m, "pfsd_child_exits_total{reason=\"exited\"}") >=
	    2);
	ck_assert(series(m, "pfsd_reloads_total{result=\"ok\"}") == 1);
	ck_assert(series(m, "pfsd_reloads_total{result=\"refused\"}") == 1);
	ck_assert(series(m, "pfsd_reloads_total{result=\"rolled_back\"}") ==
	    1);
	/* pfsd status: the connections served since the start, too */
	snprintf(conf, sizeof(conf), "--status_socket=%s", sock);
	ck_assert_int_eq(h_run(st, buf, sizeof(buf)), 0);
	ck_assert_msg(strstr(buf, " served 6\n") != NULL, "%s", buf);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
#undef HUP_CONF
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
	    "max_servers 1, serialize none, sched_policy batch); sockets "
	    "127.0.0.1:%d/tcp "
	    "(PROXY), %s/unix (PROXY); handler hooks (ABI 1.", (long)p.pid,
	    port, sock);
	ck_assert_msg(h_log_has(&p, want), "no \"%s\" in:\n%s", want,
	    h_read_file(p.log));
	ck_assert(h_log_has(&p, "hooks.so); user -, group -, chroot -\n"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static void
start_metrics(struct hproc *p, int port, int mport)
{
	char			 marg[64];
	const char *const	 av[] = { marg, "--max_servers=2", NULL };
	const struct hopts	 o = { .port = port };

	snprintf(marg, sizeof(marg), "--metrics_listen=127.0.0.1:%d", mport);
	h_serve_opts(p, TPLUGIN("hooks"), av, &o);
}

/* The inode of the socket listening on 127.0.0.1:port, or 0. */
static unsigned long
listening_inode(int port)
{
	char		 line[512], want[32];
	unsigned long	 inode = 0, ino;
	FILE		*f;

	snprintf(want, sizeof(want), "0100007F:%04X", port);
	ck_assert_ptr_nonnull(f = fopen("/proc/net/tcp", "r"));
	while (inode == 0 && fgets(line, sizeof(line), f) != NULL) {
		char	local[64], st[8];

		if (sscanf(line, "%*s %63s %*s %7s %*s %*s %*s %*s %*s %lu",
		    local, st, &ino) == 3 && strcmp(local, want) == 0 &&
		    strcmp(st, "0A") == 0)
			inode = ino;
	}
	fclose(f);
	return inode;
}

/*
 * A HUP hands the metrics_listen socket over like the ports: the same
 * socket listens in the new image and in a rollback image (no new bind
 * another process could have made fail); moved elsewhere by the new
 * configuration, the old port closes and the new one answers.
 */
START_TEST(test_metrics_socket_across_hup)
{
	struct hproc	 p;
	char		 conf[600], out[8192];
	const char	*av[] = { "-c", conf, NULL };
	int		 port = h_free_port(), m1 = h_free_port(), m2;
	unsigned long	 inode;

#define M_CONF(m, extra) h_write("pfsd.conf", "handler %s\nmax_servers 2\n" \
	    "port 127.0.0.1:%d\nmetrics_listen 127.0.0.1:%d\n%s", \
	    TPLUGIN("hooks"), port, m, extra)
	snprintf(conf, sizeof(conf), "%s", M_CONF(m1, ""));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	ck_assert_uint_ne(inode = listening_inode(m1), 0);

	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert_msg(h_wait_log(&p, "serving (generation 1,", READY_MS) == 0,
	    "%s", h_read_file(p.log));
	ck_assert_uint_eq(listening_inode(m1), inode);

	M_CONF(m1, "fail_hook pre_loop_hook\n");	/* rolled back */
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert_msg(h_wait_log(&p, "; generation 1 kept", READY_MS) == 0,
	    "%s", h_read_file(p.log));
	ck_assert_uint_eq(listening_inode(m1), inode);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -sS -m 10 "
	    "http://127.0.0.1:%d/metrics", m1), 0);
	ck_assert(series(out, "pfsd_reloads_total{result=\"rolled_back\"}") ==
	    1);

	m2 = h_free_port();
	M_CONF(m2, "");
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert_msg(h_wait_log(&p, "serving (generation 2,", READY_MS) == 0,
	    "%s", h_read_file(p.log));
	ck_assert_uint_eq(listening_inode(m1), 0);
	ck_assert_int_eq(h_connect_tcp("127.0.0.1", m1), -1);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -sS -m 10 "
	    "http://127.0.0.1:%d/metrics", m2), 0);
	ck_assert(series(out, "pfsd_generation") == 2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
#undef M_CONF
}
END_TEST

/*
 * metrics_listen: the parent answers GET /metrics over HTTP (curl sees
 * the exposition, promtool accepts it); / is the status page (HTML);
 * other paths get 404, other methods 405.
 */
START_TEST(test_http)
{
	struct hproc	 p;
	static char	 out[16384];
	char		*headers;
	int		 port = h_free_port(), mport = h_free_port();

	start_metrics(&p, port, mport);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -sS -D %s "
	    "http://127.0.0.1:%d/metrics | promtool check metrics 2>&1",
	    h_path("headers"), mport), 0);
	headers = h_read_file(h_path("headers"));
	ck_assert_ptr_nonnull(strstr(headers,
	    "Content-Type: text/plain; version=0.0.4"));
	free(headers);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -sS "
	    "http://127.0.0.1:%d/metrics", mport), 0);
	ck_assert(series(out, "pfsd_max_servers") == 2);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -s -o /dev/null -w "
	    "'%%{http_code} ' http://127.0.0.1:%d/nothing; curl -s -o "
	    "/dev/null -w '%%{http_code}' -X POST http://127.0.0.1:%d/metrics",
	    mport, mport), 0);
	ck_assert_str_eq(out, "404 405");
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -s -o /dev/null -w "
	    "'%%{http_code} %%{content_type}' http://127.0.0.1:%d/", mport), 0);
	ck_assert_str_eq(out, "200 text/html; charset=utf-8");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * Clients that connect and say nothing, or ask for the status page or
 * the metrics and never read the answer (with a receive buffer as small
 * as the kernel allows), never stall the parent: with more of them than
 * it serves at once, it still grows the pool on TTIN and answers a
 * scrape and the page once they time out.
 */
START_TEST(test_http_silent_clients)
{
	struct hproc	 p;
	static char	 out[65536];
	int		 port = h_free_port(), mport = h_free_port();
	int		 fd[9], i, small = 1;

	start_metrics(&p, port, mport);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	for (i = 0; i < 9; i++) {
		ck_assert_int_ge(fd[i] = h_connect_tcp("127.0.0.1", mport), 0);
		if (i < 3)
			continue;	/* silent */
		ck_assert_int_eq(setsockopt(fd[i], SOL_SOCKET, SO_RCVBUF,
		    &small, sizeof(small)), 0);
		ck_assert_int_gt(write(fd[i], i % 2 ? "GET / HTTP/1.0\r\n\r\n" :
		    "GET /metrics HTTP/1.0\r\n\r\n", i % 2 ? 18 : 25), 0);
	}
	ck_assert_int_eq(kill(p.pid, SIGTTIN), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", out, sizeof(out)),
	    2);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -sS -m 10 "
	    "http://127.0.0.1:%d/metrics", mport), 0);
	ck_assert(series(out, "pfsd_max_servers") == 3);
	ck_assert_int_eq(h_sh(out, sizeof(out), "curl -sS -m 10 "
	    "http://127.0.0.1:%d/", mport), 0);
	ck_assert_msg(strstr(out, "max_servers 3, 3 children") != NULL &&
	    strstr(out, "</html>") != NULL, "%.2000s", out);
	for (i = 0; i < 9; i++)
		close(fd[i]);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A real Prometheus scrapes metrics_listen: its HTTP API then has pfsd's
 * series with the value pfsd reports.
 */
START_TEST(test_prometheus_scrape)
{
	struct hproc	 p;
	static char	 out[16384];
	const char	*cfg, *log = h_path("prometheus.log");
	int		 port = h_free_port(), mport = h_free_port();
	int		 wport = h_free_port(), i, found = 0;
	pid_t		 pp;

	start_metrics(&p, port, mport);
	cfg = h_write("prometheus.yml", "global:\n  scrape_interval: 1s\n"
	    "scrape_configs:\n  - job_name: pfsd\n    static_configs:\n"
	    "      - targets: ['127.0.0.1:%d']\n", mport);
	if ((pp = fork()) == 0) {
		int	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char	a1[600], a2[600], a3[64];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(a1, sizeof(a1), "--config.file=%s", cfg);
		snprintf(a2, sizeof(a2), "--storage.tsdb.path=%s",
		    h_path("tsdb"));
		snprintf(a3, sizeof(a3), "--web.listen-address=127.0.0.1:%d",
		    wport);
		execlp("prometheus", "prometheus", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pp, 0);
	for (i = 0; i < 300 && !found; i++) {
		if (h_sh(out, sizeof(out), "curl -s 'http://127.0.0.1:%d/api/v1/"
		    "query?query=pfsd_max_servers'", wport) == 0 &&
		    strstr(out, "\"job\":\"pfsd\"") != NULL)
			found = 1;
		else
			poll(NULL, 0, 50);
	}
	kill(pp, SIGTERM);
	waitpid(pp, NULL, 0);
	ck_assert_msg(found, "no pfsd series in Prometheus; last answer:\n"
	    "%s\nits log:\n%.2000s", out, h_read_file(log));
	ck_assert_msg(strstr(out, "\"2\"]") != NULL, "%s", out);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* --- the access log ------------------------------------------------------ */

static void
start_logged(struct hproc *p, int port, const char *format)
{
	char			 logarg[600], fmtarg[64];
	const char *const	 av[] = { logarg, fmtarg, "--max_servers=2",
				    "--cidr_deny=127.0.0.2", NULL };
	const struct hopts	 o = { .port = port };

	snprintf(logarg, sizeof(logarg), "--access_log=%s",
	    h_path("access.log"));
	snprintf(fmtarg, sizeof(fmtarg), "--access_log_format=%s", format);
	h_serve_opts(p, TPLUGIN("hooks"), av, &o);
}

/* Wait until the file at path has n lines; its text. */
static char *
wait_lines(const char *path, int n)
{
	char	*text = NULL, *s;
	int	 i, k;

	for (i = 0; i < 500; i++) {
		free(text);
		text = h_read_file(path);
		for (k = 0, s = text; s != NULL && (s = strchr(s, '\n')) !=
		    NULL; s++)
			k++;
		if (k >= n)
			return text;
		poll(NULL, 0, 10);
	}
	ck_abort_msg("%s has fewer than %d lines:\n%s", path, n,
	    text != NULL ? text : "(none)");
	return NULL;
}

/*
 * One text line per request, at its end, with the documented fields:
 * served (bytes both ways), denied, and a crash the parent reports.
 */
START_TEST(test_access_log_text)
{
	struct hproc	 p;
	char		 when[64], peer[64], local[64], handler[64];
	char		 in[16], out[16], outcome[32], *text, *line, *save;
	long		 pport, lport, us;
	int		 port = h_free_port(), n = 0;

	start_logged(&p, port, "text");
	h_served_denied_crash(port, 1);
	text = wait_lines(h_path("access.log"), 3);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++) {
		ck_assert_msg(sscanf(line, "%63s %63s %ld %63s %ld %63s %ld "
		    "%15s %15s %31s", when, peer, &pport, local, &lport, handler,
		    &us, in, out, outcome) == 10, "not 10 fields: %s", line);
		ck_assert_msg(strlen(when) == 24 && when[10] == 'T' &&
		    when[23] == 'Z', "time: %s", line);
		ck_assert_str_eq(handler, "hooks");
		ck_assert_int_ge(us, 0);
		if (n == 0) {
			ck_assert_str_eq(peer, "127.0.0.1");
			ck_assert_str_eq(local, "127.0.0.1");
			ck_assert_int_eq(lport, port);
			ck_assert_str_eq(in, "6");
			ck_assert_str_eq(out, "6");
			ck_assert_str_eq(outcome, "ok");
		} else if (n == 1) {
			ck_assert_str_eq(peer, "127.0.0.2");
			ck_assert_str_eq(outcome, "denied");
		} else {
			ck_assert_str_eq(peer, "127.0.0.1");
			ck_assert_str_eq(outcome, "crashed");
		}
	}
	ck_assert_int_eq(n, 3);
	free(text);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* JSON: every line one object, read back by Python's json module. */
START_TEST(test_access_log_json)
{
	struct hproc	 p;
	char		 buf[512];
	int		 port = h_free_port();

	start_logged(&p, port, "json");
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
	    sizeof(buf)), 6);
	ck_assert_int_le(h_talk_fd(h_connect_from("127.0.0.2", port),
	    "hello\n", buf, sizeof(buf), 5000), 0);
	free(wait_lines(h_path("access.log"), 2));
	ck_assert_int_eq(h_sh(buf, sizeof(buf), "python3 -c 'import json,sys\n"
	    "r=[json.loads(l) for l in open(sys.argv[1])]\n"
	    "print(len(r), r[0][\"outcome\"], r[0][\"bytes_in\"], "
	    "r[0][\"bytes_out\"], r[0][\"local_port\"] == %d, "
	    "r[1][\"peer\"], r[1][\"outcome\"], "
	    "sorted(r[0].keys()))' %s", port, h_path("access.log")), 0);
	ck_assert_str_eq(buf, "2 ok 6 6 True 127.0.0.2 denied ['bytes_in', "
	    "'bytes_out', 'duration_us', 'handler', 'local', 'local_port', "
	    "'outcome', 'peer', 'peer_port', 'time']\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* USR1 (logrotate): lines go to the new file, in every child. */
START_TEST(test_access_log_reopen)
{
	struct hproc	 p;
	char		 buf[64], *text;
	int		 port = h_free_port(), i;

	start_logged(&p, port, "text");
	ck_assert_int_eq(h_talk("127.0.0.1", port, "a\n", buf, sizeof(buf)),
	    2);
	free(wait_lines(h_path("access.log"), 1));
	ck_assert_int_eq(rename(h_path("access.log"), h_path("access.log.1")),
	    0);
	ck_assert_int_eq(kill(p.pid, SIGUSR1), 0);
	ck_assert(h_wait_log(&p, "USR1: log file reopened", 5000) == 0);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "b\n", buf,
		    sizeof(buf)), 2);
	free(wait_lines(h_path("access.log"), 4));
	text = h_read_file(h_path("access.log.1"));
	ck_assert_msg(strchr(text, '\n') == text + strlen(text) - 1,
	    "the old file got more lines:\n%s", text);
	free(text);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* A FIFO or a device is refused before anything starts, like log_file. */
START_TEST(test_access_log_not_regular)
{
	char		 out[1024], arg[600];
	const char	*av[] = { "--handler=echo", arg, "-t", NULL };
	int		 st;

	ck_assert_int_eq(mkfifo(h_path("fifo"), 0600), 0);
	snprintf(arg, sizeof(arg), "--access_log=%s", h_path("fifo"));
	st = h_run(av, out, sizeof(out));
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 78);
	ck_assert_msg(strstr(out, "access_log: ") != NULL &&
	    strstr(out, "is a FIFO") != NULL, "%s", out);
}
END_TEST

/* --- pfsd status --watch, in a real terminal (tmux) ----------------------- */

/* Wait until the pane of tmux session (on its own server, named the
 * same) shows s; its text in out. */
static int
pane_has(const char *session, const char *s, char *out, size_t len, int ms)
{
	int	t;

	for (t = 0; t < ms; t += 50) {
		if (h_sh(out, len, "tmux -L %s capture-pane -p -t %s 2>&1",
		    session, session) == 0 && strstr(out, s) != NULL)
			return 0;
		poll(NULL, 0, 50);
	}
	return -1;
}

/*
 * The live view: the table refreshed with requests/s, q ends it (and the
 * terminal is given back: tmux's session ends with the command).
 */
START_TEST(test_status_watch)
{
	struct hproc	 p;
	static char	 out[8192];
	char		 sock[600], session[64], buf[64], portarg[64];
	const char	*av[] = { "--handler=echo", "--max_servers=2", sock,
			    portarg, NULL };
	int		 port = h_free_port(), i;

	snprintf(sock, sizeof(sock), "--status_socket=%s",
	    h_path("status.sock"));
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	snprintf(session, sizeof(session), "pfsdwatch%ld", (long)getpid());
	ck_assert_int_eq(h_sh(out, sizeof(out), "tmux -L %s new-session -d -s %s "
	    "-x 120 -y 30 '%s status --watch %s'", session, session, PFSD_BIN,
	    sock), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf,
		    sizeof(buf)), 2);
	ck_assert_msg(pane_has(session, "requests/s   (refreshed every second; "
	    "q quits)", out, sizeof(out), 5000) == 0, "pane:\n%s", out);
	ck_assert_msg(pane_has(session, " served 5\n", out, sizeof(out),
	    5000) == 0, "pane:\n%s", out);
	ck_assert(strstr(out, "PID") != NULL && strstr(out, "STATE") != NULL);
	h_sh(out, sizeof(out), "tmux -L %s send-keys -t %s q", session,
	    session);
	for (i = 0; i < 100; i++) {
		if (h_sh(out, sizeof(out), "tmux -L %s has-session -t %s 2>&1",
		    session, session) != 0)
			break;
		poll(NULL, 0, 50);
	}
	h_sh(out, sizeof(out), "tmux -L %s kill-server 2>/dev/null", session);
	ck_assert_msg(i < 100, "q did not end pfsd status --watch");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* --- process titles ------------------------------------------------------ */

/* ps shows each process's role and state: parent, idle, busy (with the
 * peer), the HUP check; process_titles 0 leaves the command line be. */
START_TEST(test_titles)
{
	struct hproc		 p;
	struct sockaddr_in	 me;
	socklen_t		 len = sizeof(me);
	char			 portarg[64], buf[256], want[128];
	const char		*conf;
	const char		*av[] = { "-c", NULL, portarg, NULL };
	int			 port = h_free_port(), fd;
	pid_t			 kid;

	conf = h_write("t.conf", "handler %s\nmax_servers 2\n",
	    TPLUGIN("waiter"));
	av[1] = conf;
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	snprintf(want, sizeof(want), "pfsd: parent gen 0 2/2 children %s",
	    conf);
	ck_assert_str_eq(h_proc_text(p.pid, "cmdline", buf, sizeof(buf)),
	    want);
	ck_assert_str_eq(h_proc_text(p.pid, "comm", buf, sizeof(buf)), "pfsd");
	ck_assert(h_child_titled(p.pid, "pfsd: child gen 0 idle", 5000) != 0);
	/* a client that has not finished its request: that child is busy */
	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", port), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	snprintf(want, sizeof(want), "pfsd: child gen 0 busy 127.0.0.1:%d",
	    ntohs(me.sin_port));
	ck_assert_msg((kid = h_child_titled(p.pid, want, 5000)) != 0,
	    "no child titled \"%s\"", want);
	ck_assert_str_eq(h_proc_text(kid, "comm", buf, sizeof(buf)),
	    "pfsd child");
	close(fd);
	ck_assert(h_child_titled(p.pid, "pfsd: child gen 0 idle", 5000) != 0);
	/* a HUP whose check is slow: the checker says what it does */
	h_write("t.conf", "handler %s\nmax_servers 2\n"
	    "waiter_configure_ms 3000\n", TPLUGIN("waiter"));
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert(h_child_titled(p.pid, "pfsd: checking configuration", 2500)
	    != 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_titles_off)
{
	struct hproc	 p;
	char		 portarg[64], buf[256];
	const char	*av[] = { "--handler=echo", portarg, "--max_servers=1",
			    "--process_titles=0", NULL };

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d",
	    h_free_port());
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	ck_assert_str_eq(h_proc_text(p.pid, "cmdline", buf, sizeof(buf)),
	    PFSD_BIN);
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
	TCase	*tc;

	tc = tcase_create("status");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_counts_across_hup);
	tcase_add_test(tc, test_only_with_status);
	tcase_add_test(tc, test_startup_summary);
	suite_add_tcase(s, tc);

	tc = tcase_create("http");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_metrics_socket_across_hup);
	tcase_add_test(tc, test_http_silent_clients);
	suite_add_tcase(s, tc);

	tc = tcase_create("access_log");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_access_log_text);
	tcase_add_test(tc, test_access_log_json);
	tcase_add_test(tc, test_access_log_reopen);
	tcase_add_test(tc, test_access_log_not_regular);
	suite_add_tcase(s, tc);

	tc = tcase_create("watch");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_status_watch);
	suite_add_tcase(s, tc);

	tc = tcase_create("titles");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_titles);
	tcase_add_test(tc, test_titles_off);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_prometheus_scrape);
	suite_add_tcase(s, tc);
	return s;
}
