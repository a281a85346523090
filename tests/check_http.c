/*
 * check_http.c - plugins/http_hello.c served by the real pfsd, against
 * RFC 9110/9112, seen by three clients: raw sockets (exact bytes, timing
 * against http_timeout, resets), curl, and Python's http.client
 * (tests/http_rfc.py).  The unit tests of check_plugin.c cover the
 * parser case by case; these show that real clients get what the RFCs
 * say.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct hproc	srv;
static int		port;

/* http_timeout 30: an answer that waits for it is seen as one. */
static void
start(void)
{
	const char *const	av[] = { "--max_servers=2", "--http_timeout=30",
				    NULL };

	port = h_serve(&srv, "http_hello", av);
}

static void
stop(void)
{
	h_stop(&srv, SIGTERM, 5000);
}

static long
ms_since(const struct timespec *a)
{
	struct timespec	b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) /
	    1000000;
}

/*
 * Send len bytes of req without closing our side, read until the server
 * closes (10 s at most).  The bytes read, "<reset>" appended on ECONNRESET;
 * *ms: how long the answer took.
 */
static char *
raw(const char *req, size_t len, long *ms)
{
	struct timespec	 t0;
	struct pollfd	 pfd;
	char		*buf;
	size_t		 off = 0, cap = 65536;
	ssize_t		 n;
	int		 fd;

	ck_assert_int_ne(fd = h_connect_tcp("127.0.0.1", port), -1);
	ck_assert_ptr_nonnull(buf = malloc(cap));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(write(fd, req, len), (ssize_t)len);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (off + 16 < cap && poll(&pfd, 1, 10000) == 1) {
		if ((n = read(fd, buf + off, cap - off - 16)) <= 0) {
			if (n == -1 && errno == ECONNRESET)
				off += (size_t)sprintf(buf + off, "<reset>");
			break;
		}
		off += (size_t)n;
	}
	*ms = ms_since(&t0);
	buf[off] = '\0';
	close(fd);
	return buf;
}

static void
starts(const char *s, const char *prefix)
{
	ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0,
	    "\"%.300s\" does not start with \"%s\"", s, prefix);
}

static void
has(const char *s, const char *what)
{
	ck_assert_msg(strstr(s, what) != NULL, "no \"%s\" in \"%.300s\"", what,
	    s);
}

static const struct {
	const char	*req;
	const char	*status;
} cases[] = {
	{ "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\nDate: " },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nab", "HTTP/1.1 400 Bad Request\r\nDate: " },
	{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
	    "HTTP/1.1 505 HTTP Version Not Supported\r\nDate: " },
	{ "GET /\r\n", "Hello, world!\n" },
};

/* Each answered at once, and the connection closed: no 30 s wait. */
START_TEST(test_raw_errors)
{
	char	*out;
	long	 ms;

	start();
	out = raw(cases[_i].req, strlen(cases[_i].req), &ms);
	stop();
	starts(out, cases[_i].status);
	ck_assert_ptr_null(strstr(out, "<reset>"));
	ck_assert_msg(ms < 10000, "answer took %ld ms", ms);
	free(out);
}
END_TEST

/* A head over 8 KiB: the 400 arrives whole, then the close, no reset. */
START_TEST(test_raw_huge_head)
{
	char	*req, *out;
	size_t	 n = 100000;
	long	 ms;

	ck_assert_ptr_nonnull(req = malloc(n));
	memcpy(req, "GET / HTTP/1.1\r\nHost: x\r\nX: ", 28);
	memset(req + 28, 'a', n - 28);
	start();
	out = raw(req, n, &ms);
	stop();
	starts(out, "HTTP/1.1 400 Bad Request\r\nDate: ");
	ck_assert_msg(strlen(out) > 12 &&
	    strcmp(out + strlen(out) - 12, "Bad Request\n") == 0,
	    "\"%.300s\": not the whole answer", out);
	free(req);
	free(out);
}
END_TEST

/* A chunked body, then a pipelined request: both answered, in order. */
START_TEST(test_raw_chunked_pipelined)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char	*out, *second;
	long	 ms;

	start();
	out = raw(req, sizeof req - 1, &ms);
	stop();
	starts(out, "HTTP/1.1 200 OK\r\n");
	ck_assert_ptr_nonnull(second = strstr(out + 1, "HTTP/1.1 200 OK\r\n"));
	has(second, "Connection: close\r\n");
	free(out);
}
END_TEST

START_TEST(test_curl)
{
	char	cmd[1024], out[4096];

	start();
	/* Host: removed: 400, with Date */
	snprintf(cmd, sizeof cmd, "curl -s -i -H 'Host:' "
	    "http://127.0.0.1:%d/ 2>&1", port);
	h_sh(out, sizeof out, "%s", cmd);
	starts(out, "HTTP/1.1 400 Bad Request\r\nDate: ");
	/* a chunked upload, then the next URL on the same connection */
	snprintf(cmd, sizeof cmd, "printf abc | curl -s -o /dev/null "
	    "-w '%%{http_code} %%{num_connects}\\n' -H 'Transfer-Encoding: "
	    "chunked' --data-binary @- http://127.0.0.1:%d/ --next -o "
	    "/dev/null -w '%%{http_code} %%{num_connects}\\n' "
	    "http://127.0.0.1:%d/ 2>&1", port, port);
	h_sh(out, sizeof out, "%s", cmd);
	ck_assert_str_eq(out, "200 1\n200 0\n");
	/* conflicting lengths */
	snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' "
	    "-H 'Content-Length: 2' -H 'Content-Length: 3' --data-binary ab "
	    "http://127.0.0.1:%d/ 2>&1", port);
	h_sh(out, sizeof out, "%s", cmd);
	ck_assert_str_eq(out, "400");
	stop();
}
END_TEST

START_TEST(test_python)
{
	char	cmd[1024], out[4096];
	int	status;

	start();
	snprintf(cmd, sizeof cmd, "python3 %s/tests/http_rfc.py %d 2>&1",
	    SRCDIR, port);
	status = h_sh(out, sizeof out, "%s", cmd);
	stop();
	ck_assert_msg(status == 0, "%s", out);
	has(out, "ok huge head no reset\n");
}
END_TEST

Suite	*http_suite(void);

Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("rfc");

	tcase_add_loop_test(tc, test_raw_errors, 0,
	    sizeof cases / sizeof cases[0]);
	tcase_add_test(tc, test_raw_huge_head);
	tcase_add_test(tc, test_raw_chunked_pipelined);
	tcase_add_test(tc, test_curl);
	tcase_add_test(tc, test_python);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
