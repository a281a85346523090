/*
 * check_proxy.c - the PROXY protocol: the header parser on its own, then
 * the real pfsd behind hand-made headers, HAProxy and nginx's stream
 * module, where the handler must see the client, never the balancer.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include "harness.h"

Suite	*proxy_suite(void);

#define READY_MS	10000
#define BOTH		(PROXY_V1 | PROXY_V2)

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header: PROXY (cmd 1) or LOCAL (0), TCP over IPv4, tlv extra bytes. */
static size_t
v2_header(unsigned char *b, int cmd, const char *src, int sport,
    const char *dst, int dport, size_t tlv)
{
	size_t	body = 12 + tlv;

	memcpy(b, v2sig, 12);
	b[12] = (unsigned char)(0x20 | cmd);
	b[13] = 0x11;
	b[14] = (unsigned char)(body >> 8);
	b[15] = (unsigned char)body;
	inet_pton(AF_INET, src, b + 16);
	inet_pton(AF_INET, dst, b + 20);
	b[24] = (unsigned char)(sport >> 8);
	b[25] = (unsigned char)sport;
	b[26] = (unsigned char)(dport >> 8);
	b[27] = (unsigned char)dport;
	memset(b + 28, 0, tlv);
	if (tlv >= 3) {			/* one TLV: type 0x04 (NOOP) */
		b[28] = 0x04;
		b[29] = (unsigned char)((tlv - 3) >> 8);
		b[30] = (unsigned char)(tlv - 3);
	}
	return 16 + body;
}

static void
addr_of(const struct sockaddr_storage *ss, char *buf, size_t len, int *port)
{
	addr_format((const struct sockaddr *)ss, buf, len, port);
}

/* --- the parser ---------------------------------------------------------- */

static const struct {
	const char	*in;
	int		 mode;
	int		 ret;		/* -2: the whole line, CRLF included */
	const char	*src;		/* "ADDR:PORT", "local", or NULL */
} v1_cases[] = {
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 5555 80\r\nGET /", BOTH, -2,
	    "192.0.2.1:5555" },
	{ "PROXY TCP6 2001:db8::1 2001:db8::2 65535 443\r\n", PROXY_V1, -2,
	    "2001:db8::1:65535" },
	{ "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", BOTH, -2, "0.0.0.0:0" },
	{ "PROXY UNKNOWN\r\n", BOTH, -2, "local" },
	{ "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", BOTH, -2, "local" },
	/* a start of a header: all of it is header, more is needed */
	{ "", BOTH, 0, NULL },
	{ "P", BOTH, 0, NULL },
	{ "PROXY", BOTH, 0, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 5555 80", BOTH, 0, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 5555 80\r", BOTH, 0, NULL },
	/* not a header, or a broken one */
	{ "GET / HTTP/1.1\r\n", BOTH, -1, NULL },
	{ "proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 5555 80\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 5555 80\rX", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 65536 80\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 055 80\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 -1 80\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1  198.51.100.2 1 80\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n", BOTH, -1, NULL },
	{ "PROXY TCP6 192.0.2.1 2001:db8::1 1 2\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.256 198.51.100.2 1 2\r\n", BOTH, -1, NULL },
	{ "PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\033\r\n", BOTH, -1, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 2\r\n", PROXY_V2, -1, NULL },
};

START_TEST(test_v1)
{
	struct proxy_hdr	 h;
	const char		*in = v1_cases[_i].in, *why, *crlf;
	char			 buf[128];
	int			 r, port, want = v1_cases[_i].ret;

	if (want == -2) {
		ck_assert_ptr_nonnull(crlf = strstr(in, "\r\n"));
		want = (int)(crlf - in) + 2;
	}
	r = proxy_parse((const unsigned char *)in, strlen(in),
	    v1_cases[_i].mode, &h, &why);
	ck_assert_msg(r == want, "\"%s\": %d, not %d (%s)", in, r, want,
	    why != NULL ? why : "-");
	ck_assert(r != -1 || (why != NULL && *why != '\0'));
	if (v1_cases[_i].src == NULL)
		return;
	ck_assert_int_eq(h.version, 1);
	if (strcmp(v1_cases[_i].src, "local") == 0) {
		ck_assert_int_eq(h.local, 1);
		return;
	}
	ck_assert_int_eq(h.local, 0);
	addr_of(&h.src, buf, sizeof(buf), &port);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ":%d", port);
	ck_assert_str_eq(buf, v1_cases[_i].src);
}
END_TEST

/* Longer than 107 bytes without CRLF is refused, not waited for. */
START_TEST(test_v1_too_long)
{
	struct proxy_hdr	 h;
	const char		*why;
	char			 in[200];

	memset(in, 'x', sizeof(in));
	memcpy(in, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(proxy_parse((unsigned char *)in, 106, BOTH, &h, &why),
	    0);
	ck_assert_int_eq(proxy_parse((unsigned char *)in, 107, BOTH, &h, &why),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "107"));
	memcpy(in + 105, "\r\n", 2);	/* exactly 107: still a header */
	ck_assert_int_eq(proxy_parse((unsigned char *)in, 150, BOTH, &h, &why),
	    107);
}
END_TEST

START_TEST(test_v2)
{
	struct proxy_hdr	 h;
	unsigned char		 b[PROXY_HDR_MAX + 64];
	const char		*why;
	char			 addr[64];
	size_t			 n, i;
	int			 port;

	/* PROXY, IPv4, with a TLV that must be skipped */
	n = v2_header(b, 1, "203.0.113.7", 4242, "127.0.0.1", 80, 9);
	ck_assert_int_eq(n, 16 + 12 + 9);
	memcpy(b + n, "data", 4);
	ck_assert_int_eq(proxy_parse(b, n + 4, BOTH, &h, &why), (int)n);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.local, 0);
	addr_of(&h.src, addr, sizeof(addr), &port);
	ck_assert_str_eq(addr, "203.0.113.7");
	ck_assert_int_eq(port, 4242);
	addr_of(&h.dst, addr, sizeof(addr), &port);
	ck_assert_str_eq(addr, "127.0.0.1");
	ck_assert_int_eq(port, 80);
	/* every shorter prefix is "more needed", never a verdict */
	for (i = 0; i < n; i++)
		ck_assert_msg(proxy_parse(b, i, BOTH, &h, &why) == 0,
		    "prefix of %zu bytes", i);
	/* v2 only, v1 only */
	ck_assert_int_eq(proxy_parse(b, n, PROXY_V2, &h, &why), (int)n);
	ck_assert_int_eq(proxy_parse(b, n, PROXY_V1, &h, &why), -1);
	/* LOCAL: the balancer's own connection (health check) */
	n = v2_header(b, 0, "0.0.0.0", 0, "0.0.0.0", 0, 0);
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), (int)n);
	ck_assert_int_eq(h.local, 1);
	/* UNSPEC family with no addresses */
	b[13] = 0x00;
	b[14] = b[15] = 0;
	ck_assert_int_eq(proxy_parse(b, 16, BOTH, &h, &why), 16);
	ck_assert_int_eq(h.local, 1);
	/* IPv6 */
	memcpy(b, v2sig, 12);
	b[12] = 0x21;
	b[13] = 0x21;
	b[14] = 0;
	b[15] = 36;
	memset(b + 16, 0, 36);
	inet_pton(AF_INET6, "2001:db8::7", b + 16);
	b[48] = 0x30;
	b[49] = 0x39;
	ck_assert_int_eq(proxy_parse(b, 52, BOTH, &h, &why), 52);
	addr_of(&h.src, addr, sizeof(addr), &port);
	ck_assert_str_eq(addr, "2001:db8::7");
	ck_assert_int_eq(port, 12345);
}
END_TEST

START_TEST(test_v2_bad)
{
	struct proxy_hdr	 h;
	unsigned char		 b[64];
	const char		*why;
	size_t			 n;

	n = v2_header(b, 1, "192.0.2.1", 1, "192.0.2.2", 2, 0);
	b[12] = 0x11;				/* version 1 in binary */
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), -1);
	b[12] = 0x22;				/* command 2 */
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), -1);
	b[12] = 0x21;
	b[13] = 0x41;				/* family 4 */
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), -1);
	b[13] = 0x13;				/* protocol 3 */
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), -1);
	b[13] = 0x11;
	b[14] = 0;
	b[15] = 8;				/* IPv4 needs 12 bytes */
	ck_assert_int_eq(proxy_parse(b, 24, BOTH, &h, &why), -1);
	b[14] = 0xff;
	b[15] = 0xff;				/* beyond the buffer */
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "longer"));
	b[5] = 'X';				/* not the signature */
	ck_assert_int_eq(proxy_parse(b, n, BOTH, &h, &why), -1);
}
END_TEST

/* --- pfsd behind hand-made headers ---------------------------------------- */

static int	port;

static void
start(struct hproc *p, const char *const *extra)
{
	const char	*av[32] = { "--max_servers=1", "--log_level=3" };
	size_t		 n = 2;

	while (extra != NULL && *extra != NULL && n < 31)
		av[n++] = *extra++;
	port = h_serve(p, TPLUGIN("peer"), av);
}

/* Send len bytes (in pieces of at most split bytes), then "quit". */
static ssize_t
talk_raw(int fd, const void *data, size_t len, size_t split, char *buf,
    size_t buflen)
{
	const char	*d = data;
	size_t		 off, k;

	ck_assert_int_ge(fd, 0);
	for (off = 0; off < len; off += k) {
		k = len - off < split ? len - off : split;
		ck_assert_int_eq(write(fd, d + off, k), (ssize_t)k);
		if (off + k < len)
			poll(NULL, 0, 30);	/* a slow balancer */
	}
	return h_talk_fd(fd, "", buf, buflen, 5000);
}

START_TEST(test_v1_served)
{
	struct hproc		 p;
	const char *const	 av[] = { "--proxy_protocol=v1", NULL };
	const char		*hdr = "PROXY TCP4 192.0.2.1 127.0.0.1 5555 80\r\n"
				    "hello\nquit\n";
	char			 buf[512];

	start(&p, av);
	ck_assert_int_gt(talk_raw(h_connect_tcp("127.0.0.1", port), hdr,
	    strlen(hdr), 4096, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "peer=192.0.2.1 port=5555 proxy=127.0.0.1\n"
	    "hello\n");
	/* the log line names the client too */
	ck_assert(h_wait_log(&p, "connection from 192.0.2.1 port 5555",
	    5000) == 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* v2 arriving a few bytes at a time; "on" takes either version. */
START_TEST(test_v2_slow_pieces)
{
	struct hproc		 p;
	const char *const	 av[] = { "--proxy_protocol=on", NULL };
	unsigned char		 b[128];
	char			 buf[512];
	size_t			 n;

	start(&p, av);
	n = v2_header(b, 1, "203.0.113.9", 6000, "127.0.0.1", 80, 5);
	memcpy(b + n, "abc\nquit\n", 9);
	ck_assert_int_gt(talk_raw(h_connect_tcp("127.0.0.1", port), b, n + 9,
	    7, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "peer=203.0.113.9 port=6000 proxy=127.0.0.1\n"
	    "abc\n");
	/* and v1 on the same port */
	ck_assert_int_gt(talk_raw(h_connect_tcp("127.0.0.1", port),
	    "PROXY TCP6 2001:db8::5 ::1 7 8\r\nquit\n", 37, 4096, buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "peer=2001:db8::5 port=7 proxy=127.0.0.1\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* HAProxy in front of a UNIX socket: the client comes from the header. */
START_TEST(test_unix_port)
{
	struct hproc	 p;
	char		 sockarg[600], buf[512];
	const char	*path = h_path("pfsd.sock");
	const char	*av[] = { "--handler", TPLUGIN("peer"), sockarg,
			    "--proxy_protocol=v1", NULL };

	snprintf(sockarg, sizeof(sockarg), "--port=%s/unix", path);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, READY_MS), 0);
	ck_assert_int_gt(talk_raw(h_connect_unix(path),
	    "PROXY TCP4 192.0.2.44 10.0.0.1 1234 80\r\nquit\n", 46, 4096, buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "peer=192.0.2.44 port=1234 proxy=unix\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * Bad input never costs a child and never lets a client choose its
 * address: each connection is closed with nothing sent and one log line
 * naming the peer, and the same single child serves the next client.
 */
static const struct {
	const char	*send;
	const char	*logged;
} bad_headers[] = {
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "no PROXY header" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "bad port" },
	{ "PROXY TCP4 1.2.3.4\r\n", "not SRC DST SPORT DPORT" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "end of connection" },
};

START_TEST(test_bad_header_closed)
{
	struct hproc		 p;
	const char *const	 av[] = { "--proxy_protocol=on", NULL };
	pid_t			 before[4], after[4];
	char			 buf[512];
	int			 fd;
	size_t			 i;

	start(&p, av);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, before, 4), 1);
	for (i = 0; i < nitems(bad_headers); i++) {
		fd = h_connect_tcp("127.0.0.1", port);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, bad_headers[i].send,
		    strlen(bad_headers[i].send)), strlen(bad_headers[i].send));
		if (strstr(bad_headers[i].logged, "end of") != NULL)
			shutdown(fd, SHUT_WR);
		ck_assert_int_le(h_talk_fd(fd, "", buf, sizeof(buf), 5000), 0);
		ck_assert_msg(h_wait_log(&p, bad_headers[i].logged, 5000) == 0,
		    "no \"%s\" in:\n%s", bad_headers[i].logged,
		    h_read_file(p.log));
	}
	ck_assert(h_log_has(&p, "connection from 127.0.0.1 port"));
	ck_assert(!h_log_has(&p, "peer="));
	ck_assert_int_gt(talk_raw(h_connect_tcp("127.0.0.1", port),
	    "PROXY TCP4 192.0.2.3 5.6.7.8 9 10\r\nquit\n", 41, 4096, buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "peer=192.0.2.3 port=9 proxy=127.0.0.1\n");
	ck_assert_int_eq(h_children(p.pid, after, 4), 1);
	ck_assert_int_eq(after[0], before[0]);
	/* one more refused, then a graceful stop: the child, idle again,
	 * must still hear QUIT at once (graceful_timeout is 30 s) */
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_eq(write(fd, "NOT A HEADER\r\n", 14), 14);
	ck_assert_int_le(h_talk_fd(fd, "", buf, sizeof(buf), 5000), 0);
	ck_assert_msg(h_stop(&p, SIGQUIT, 3000) == 0, "QUIT not acted on; "
	    "log:\n%s", h_read_file(p.log));
}
END_TEST

/* A balancer that never sends its header is dropped at proxy_timeout. */
START_TEST(test_header_timeout)
{
	struct hproc		 p;
	const char *const	 av[] = { "--proxy_protocol=v2",
				    "--proxy_timeout=1", NULL };
	char			 buf[64];
	int			 fd;

	start(&p, av);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	/* say nothing, keep the connection open: pfsd closes it */
	ck_assert_int_eq(poll(&(struct pollfd){ fd, POLLIN, 0 }, 1, 5000), 1);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	ck_assert(h_wait_log(&p, "no PROXY header within 1000 ms", 5000) ==
	    0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Only balancers in proxy_allow may name a client; others are refused. */
START_TEST(test_not_allowed)
{
	struct hproc		 p;
	const char *const	 av[] = { "--proxy_protocol=v1",
				    "--proxy_allow=10.0.0.0/8", NULL };
	char			 buf[256];

	start(&p, av);
	ck_assert_int_le(talk_raw(h_connect_tcp("127.0.0.1", port),
	    "PROXY TCP4 192.0.2.1 5.6.7.8 1 2\r\nquit\n", 39, 4096, buf,
	    sizeof(buf)), 0);
	ck_assert(h_wait_log(&p, "connection from 127.0.0.1 port", 5000) ==
	    0);
	ck_assert(h_wait_log(&p, "not a balancer in proxy_allow", 5000) == 0);
	ck_assert(!h_log_has(&p, "192.0.2.1"));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Access rules judge the client the header names, not the balancer. */
START_TEST(test_access_rules_see_client)
{
	struct hproc		 p;
	const char *const	 av[] = { "--proxy_protocol=v1",
				    "--cidr_deny=192.0.2.0/24", NULL };
	char			 buf[256];

	start(&p, av);
	ck_assert_int_le(talk_raw(h_connect_tcp("127.0.0.1", port),
	    "PROXY TCP4 192.0.2.1 5.6.7.8 1 2\r\nquit\n", 39, 4096, buf,
	    sizeof(buf)), 0);
	ck_assert(h_wait_log(&p, "connection from 192.0.2.1 port 1 on", 5000)
	    == 0);
	ck_assert(h_log_has(&p, ": denied"));
	ck_assert_int_gt(talk_raw(h_connect_tcp("127.0.0.1", port),
	    "PROXY TCP4 198.51.100.1 5.6.7.8 1 2\r\nquit\n", 42, 4096, buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "peer=198.51.100.1 port=1 proxy=127.0.0.1\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_config_errors)
{
	char		 out[2048];
	const char	*conf = h_write("bad.conf", "handler echo\n"
			    "proxy_protocol v3\nproxy_allow 10.0.0.0/33\n"
			    "proxy_allow loopback\nproxy_timeout 0\n");
	const char	*av[] = { "-t", "-c", conf, NULL };

	ck_assert_int_eq(WEXITSTATUS(h_run(av, out, sizeof(out))), 78);
	ck_assert_msg(strstr(out, "bad.conf:2: proxy_protocol:") != NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "bad.conf:3: proxy_allow: \"10.0.0.0/33\": "
	    "prefix length out of range") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "bad.conf:5: proxy_timeout:") != NULL, "%s",
	    out);
	ck_assert(strstr(out, "bad.conf:4") == NULL);
}
END_TEST

/* --- real balancers -------------------------------------------------------- */

/* Run a program in the foreground of its own; it dies with this test. */
static pid_t
spawn(const char *const *av, const char *log)
{
	pid_t	pid;
	int	fd;

	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(av[0], UNCONST(av));
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

static void
reap(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* One request through the balancer: does the handler see src? */
static int
request_via(int front, const char *src)
{
	char	buf[512], want[128];
	int	fd = h_connect_from(src, front);

	if (fd == -1)
		return -1;
	snprintf(want, sizeof(want), "peer=%s port=", src);
	if (h_talk_fd(fd, "ping\nquit\n", buf, sizeof(buf), 5000) <= 0 ||
	    strncmp(buf, want, strlen(want)) != 0 ||
	    strstr(buf, "\nping\n") == NULL)
		return -1;
	return 0;
}

/* The last lines of a log, for a failure message (Check's are short). */
static const char *
tail(const char *path)
{
	char	*text = h_read_file(path);
	size_t	 len;

	if (text == NULL)
		return "(no log)";
	len = strlen(text);
	return len > 1500 ? text + len - 1500 : text;
}

/* Wait until the balancer answers a request that reaches a handler. */
static void
wait_balancer(int front, const char *log)
{
	int	i;

	for (i = 0; i < 500; i++) {
		if (request_via(front, "127.0.0.9") == 0)
			return;
		poll(NULL, 0, 20);
	}
	ck_abort_msg("balancer not serving; its log ends:\n%s", tail(log));
}

/*
 * Load: a process that sends requests through the balancer until told
 * to stop (its pipe closes), then writes "OK FAILED" to the result pipe.
 */
struct load {
	pid_t	pid;
	int	stop;
	int	result;
	int	progress;	/* a byte per request answered */
};

static void
load_start(struct load *l, int front)
{
	int		 s[2], r[2], g[2];
	unsigned long	 ok = 0, failed = 0;
	char		 line[64];
	struct pollfd	 pfd;
	long long	 end;

	ck_assert_int_eq(pipe2(s, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(r, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(g, O_CLOEXEC | O_NONBLOCK), 0);
	if ((l->pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(s[1]);
		close(r[0]);
		close(g[0]);
		pfd.fd = s[0];
		pfd.events = POLLIN;
		end = now_ms() + 60000;	/* bounded, whatever happens */
		while (poll(&pfd, 1, 0) == 0 && now_ms() < end) {
			if (request_via(front, "127.0.0.9") == 0) {
				ok++;
				(void)!write(g[1], "+", 1);	/* full: fine */
			} else
				failed++;
		}
		snprintf(line, sizeof(line), "%lu %lu\n", ok, failed);
		(void)!write(r[1], line, strlen(line));
		_exit(0);
	}
	close(s[0]);
	close(r[1]);
	close(g[1]);
	l->stop = s[1];
	l->result = r[0];
	l->progress = g[0];
}

/* Wait until the load has had at least one more request answered: each
 * step of the test then happens under load, however slow the machine. */
static void
load_progress(struct load *l)
{
	struct pollfd	pfd = { .fd = l->progress, .events = POLLIN };
	char		buf[4096];

	while (read(l->progress, buf, sizeof(buf)) > 0)
		continue;	/* what came before this step */
	ck_assert_msg(poll(&pfd, 1, 20000) == 1, "the load made no progress");
	while (read(l->progress, buf, sizeof(buf)) > 0)
		continue;
}

static void
load_stop(struct load *l, unsigned long *ok, unsigned long *failed)
{
	char	line[64] = "";
	ssize_t	n;

	close(l->stop);
	close(l->progress);
	n = read(l->result, line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	waitpid(l->pid, NULL, 0);
	close(l->result);
	ck_assert_int_eq(sscanf(line, "%lu %lu", ok, failed), 2);
}

static void
start_backend(struct hproc *p, int bport, const char *mode,
    const char *logname)
{
	char			 logarg[600], modearg[64];
	const char *const	 av[] = { "--max_servers=4", modearg,
				    "--graceful_timeout=5", logarg,
				    "--log_level=3", NULL };
	const struct hopts	 o = { .port = bport };

	snprintf(modearg, sizeof(modearg), "--proxy_protocol=%s", mode);
	snprintf(logarg, sizeof(logarg), "--log_file=%s", h_path(logname));
	h_serve_opts(p, TPLUGIN("peer"), av, &o);
}

/* One command on HAProxy's admin socket; it answers an empty line. */
static void
haproxy_cmd(const char *sock, const char *cmd)
{
	char	buf[256], line[128];
	ssize_t	n;

	snprintf(line, sizeof(line), "%s\n", cmd);
	n = h_talk_unix(sock, line, buf, sizeof(buf));
	ck_assert_msg(n >= 0 && strspn(buf, "\n") == (size_t)n,
	    "haproxy \"%s\": %s", cmd, n >= 0 ? buf : "no answer");
}

/*
 * The fleet the man page describes: HAProxy with two pfsd backends
 * (send-proxy-v2, health checks).  Under load through HAProxy, each
 * backend is reloaded in turn, then one is drained with QUIT and started
 * again: no request fails, and every handler sees the client's own
 * address (127.0.0.9), not HAProxy's.
 */
START_TEST(test_haproxy_fleet)
{
	struct hproc	 a, b;
	struct load	 load;
	unsigned long	 ok, failed;
	int		 pa = h_free_port(), pb = h_free_port();
	int		 front = h_free_port();
	const char	*cfg, *hlog = h_path("haproxy.log");
	char		 admin[512];
	pid_t		 hp;

	if (access("/usr/sbin/haproxy", X_OK) != 0)
		ck_abort_msg("haproxy is not installed (make deps)");
	/* a copy: h_path's buffers are reused */
	snprintf(admin, sizeof(admin), "%s", h_path("haproxy.sock"));
	start_backend(&a, pa, "v2", "a.log");
	start_backend(&b, pb, "v2", "b.log");
	cfg = h_write("haproxy.cfg",
	    "global\n  maxconn 512\n  stats socket %s level admin\n"
	    "defaults\n  mode tcp\n  timeout connect 2s\n"
	    "  timeout client 10s\n  timeout server 10s\n"
	    "  retries 5\n  option redispatch 1\n"
	    "frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n"
	    "backend be\n  balance roundrobin\n"
	    "  default-server send-proxy-v2 check check-send-proxy "
	    "inter 100ms fall 1 rise 1\n"
	    "  server a 127.0.0.1:%d\n  server b 127.0.0.1:%d\n",
	    admin, front, pa, pb);
	hp = spawn((const char *const[]){ "haproxy", "-f", cfg, "-db", NULL },
	    hlog);
	wait_balancer(front, hlog);

	load_start(&load, front);
	load_progress(&load);
	ck_assert_int_eq(kill(a.pid, SIGHUP), 0);
	ck_assert_int_eq(h_wait_ready(&a, READY_MS), 0);
	load_progress(&load);
	ck_assert_int_eq(kill(b.pid, SIGHUP), 0);
	ck_assert_int_eq(h_wait_ready(&b, READY_MS), 0);
	load_progress(&load);
	/*
	 * Take a out as an operator does (pfsd(8) DEPLOYMENT): drain it at
	 * the balancer, QUIT it, start it again, put it back.  A connection
	 * the balancer sends in the very instant of the QUIT can be reset
	 * (see the note on graceful stops), which is why the balancer is
	 * told first.
	 */
	haproxy_cmd(admin, "set server be/a state drain");
	ck_assert_int_eq(h_stop(&a, SIGQUIT, 10000), 0);
	load_progress(&load);
	start_backend(&a, pa, "v2", "a2.log");
	haproxy_cmd(admin, "set server be/a state ready");
	ck_assert(h_wait_file(h_path("a2.log"), "connection from 127.0.0.9",
	    10000) == 0);
	load_progress(&load);
	load_stop(&load, &ok, &failed);
	reap(hp);
	ck_assert_msg(failed == 0, "%lu of %lu requests failed; haproxy:\n%s",
	    failed, ok + failed, tail(hlog));
	ck_assert_uint_ge(ok, 5);	/* one per step at least */
	ck_assert_int_eq(h_stop(&a, SIGTERM, 5000), 0);
	ck_assert_int_eq(h_stop(&b, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A TLS port behind HAProxy: the PROXY header comes first, in the clear,
 * then the handshake; the handler sees plaintext and the client's own
 * address.
 */
START_TEST(test_haproxy_tls_backend)
{
	struct hproc	 p;
	char		 portarg[64], certarg[600], keyarg[600], cmd[1200];
	const char	*cfg, *hlog = h_path("haproxy.log");
	const char	*av[] = { "--handler", TPLUGIN("peer"), portarg,
			    certarg, keyarg, "--proxy_protocol=v2", NULL };
	int		 back = h_free_port(), front = h_free_port(), rc;
	pid_t		 hp;

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 1 "
	    "-subj /CN=localhost >/dev/null 2>&1", h_path("key.pem"),
	    h_path("cert.pem"));
	rc = system(cmd);
	ck_assert_msg(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "openssl could not make a certificate");
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d/ssl", back);
	snprintf(certarg, sizeof(certarg), "--SSL_cert_file=%s",
	    h_path("cert.pem"));
	snprintf(keyarg, sizeof(keyarg), "--SSL_key_file=%s",
	    h_path("key.pem"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, READY_MS) == 0, "%s",
	    h_read_file(p.log));
	cfg = h_write("haproxy.cfg", "defaults\n  mode tcp\n"
	    "  timeout connect 2s\n  timeout client 10s\n"
	    "  timeout server 10s\n"
	    "frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n"
	    "backend be\n  server a 127.0.0.1:%d send-proxy-v2 ssl "
	    "verify none\n", front, back);
	hp = spawn((const char *const[]){ "haproxy", "-f", cfg, "-db", NULL },
	    hlog);
	wait_balancer(front, hlog);
	ck_assert_int_eq(request_via(front, "127.0.0.9"), 0);
	reap(hp);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* nginx's stream module as the balancer (proxy_protocol on). */
START_TEST(test_nginx_stream)
{
	struct hproc	 p;
	const char	*cfg, *nlog = h_path("nginx.log");
	int		 front = h_free_port();
	pid_t		 np;

	if (access("/usr/sbin/nginx", X_OK) != 0 ||
	    access("/usr/lib/nginx/modules/ngx_stream_module.so", R_OK) != 0)
		ck_abort_msg("nginx or its stream module is not installed "
		    "(make deps)");
	int		 back = h_free_port();

	start_backend(&p, back, "on", "p.log");
	cfg = h_write("nginx.conf",
	    "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
	    "daemon off;\nmaster_process off;\npid %s;\n"
	    "error_log %s info;\nevents { worker_connections 64; }\n"
	    "stream {\n  server {\n    listen 127.0.0.1:%d;\n"
	    "    proxy_pass 127.0.0.1:%d;\n    proxy_protocol on;\n"
	    "    proxy_half_close on;\n  }\n}\n",
	    h_path("nginx.pid"), nlog, front, back);
	np = spawn((const char *const[]){ "nginx", "-c", cfg, "-e", nlog,
	    NULL }, nlog);
	wait_balancer(front, nlog);
	ck_assert_int_eq(request_via(front, "127.0.0.9"), 0);
	reap(np);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

Suite *
proxy_suite(void)
{
	Suite	*s = suite_create("proxy");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_v1, 0, (int)nitems(v1_cases));
	tcase_add_test(tc, test_v1_too_long);
	tcase_add_test(tc, test_v2);
	tcase_add_test(tc, test_v2_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("serve");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_v1_served);
	tcase_add_test(tc, test_v2_slow_pieces);
	tcase_add_test(tc, test_unix_port);
	tcase_add_test(tc, test_bad_header_closed);
	tcase_add_test(tc, test_header_timeout);
	tcase_add_test(tc, test_not_allowed);
	tcase_add_test(tc, test_access_rules_see_client);
	tcase_add_test(tc, test_config_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("balancers");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_haproxy_fleet);
	tcase_add_test(tc, test_nginx_stream);
	tcase_add_test(tc, test_haproxy_tls_backend);
	suite_add_tcase(s, tc);
	return s;
}
