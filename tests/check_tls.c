/*
 * check_tls.c - proto ssl against clients nobody here wrote: openssl
 * s_client (TLS 1.2 and 1.3, client certificates, resumption on another
 * child), curl, Python's ssl module; a TLS and a plain port in one pool;
 * handshakes that fail or stall; every bad SSL_* setting at -t.
 *
 * The certificates (ECDSA P-256: a CA, the server, a second name for
 * SNI, a client, one not yet valid and one expired) and the tlsinfo handler of pfsd-plugin(3) are
 * made once per run, by the openssl command and cc, in a directory of
 * tests/run.
 */
#define _GNU_SOURCE		/* asprintf */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TLS_OUT		16384
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

Suite	*tls_suite(void);

static char	certdir[512];

/* The certificates, as a shell script run in certdir. */
static const char gen_certs[] =
    "set -e\n"
    "ec() { openssl genpkey -algorithm EC -pkeyopt "
    "ec_paramgen_curve:P-256 -out \"$1\"; }\n"
    "ec ca.key; ec srv.key; ec cli.key; ec other.key\n"
    "openssl req -x509 -new -key ca.key -out ca.pem -days 2 "
    "-subj /CN=pfsd-test-ca\n"
    "openssl req -new -key srv.key -subj /CN=localhost -out srv.csr\n"
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > srv.ext\n"
    "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
    "-CAcreateserial -days 2 -extfile srv.ext -out srv.pem\n"
    /* the renewed certificate: same key, new serial */
    "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
    "-CAcreateserial -days 3 -extfile srv.ext -out renewed.pem\n"
    "openssl req -new -key cli.key -subj /CN=alice/O=pfsd-test "
    "-out cli.csr\n"
    "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key "
    "-CAcreateserial -days 2 -out cli.pem\n"
    /* a second name for SNI, and its renewal */
    "openssl req -new -key other.key -subj /CN=other.test -out sni.csr\n"
    "printf 'subjectAltName=DNS:other.test,DNS:*.other.test\\n' > sni.ext\n"
    "openssl x509 -req -in sni.csr -CA ca.pem -CAkey ca.key "
    "-CAcreateserial -days 2 -extfile sni.ext -out sni.pem\n"
    "openssl x509 -req -in sni.csr -CA ca.pem -CAkey ca.key "
    "-CAcreateserial -days 3 -extfile sni.ext -out sni-renewed.pem\n"
    /* dates in the past and the future need openssl ca */
    "mkdir db; : > db/index.txt; echo 01 > db/serial\n"
    "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index.txt\\n"
    "new_certs_dir=db\\nserial=db/serial\\ndefault_md=sha256\\npolicy=p\\n"
    "unique_subject=no\\n[p]\\ncommonName=supplied\\n' > ca.cnf\n"
    "ca() { openssl ca -config ca.cnf -batch -notext -cert ca.pem "
    "-keyfile ca.key -in srv.csr -startdate $1 -enddate $2 -out $3; }\n"
    "ca 20990101000000Z 20991231000000Z future.pem\n"
    "ca 20200101000000Z 20200102000000Z expired.pem\n"
    "echo 'not a certificate' > junk.pem\n";

/* Run cmd with sh in certdir, stdout and stderr into out: wait status. */
static int
sh(const char *cmd, char *out, size_t len)
{
	char	*full;
	size_t	 off = 0, n;
	FILE	*p;

	ck_assert_int_ne(asprintf(&full, "cd '%s' && (%s) 2>&1", certdir,
	    cmd), -1);
	ck_assert_ptr_nonnull(p = popen(full, "r"));
	while (off + 1 < len && (n = fread(out + off, 1, len - off - 1,
	    p)) > 0)
		off += n;
	out[off] = '\0';
	free(full);
	return pclose(p);
}

/* The tlsinfo example of pfsd-plugin.3, as its reader would copy it. */
static void
extract_example(const char *path)
{
	char		*page = h_read_file(SRCDIR "/man/pfsd-plugin.3");
	const char	*p, *end;
	FILE		*f;

	ck_assert_ptr_nonnull(page);
	ck_assert_ptr_nonnull(p = strstr(page, "begin example tlsinfo.c"));
	ck_assert_ptr_nonnull(p = strstr(p, "\n.Bd -literal"));
	p = strchr(p + 1, '\n') + 1;
	ck_assert_ptr_nonnull(end = strstr(p, "\n.Ed\n"));
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (; p <= end; p++) {
		if (*p == '\\' && p[1] == 'e') {
			fputc('\\', f);
			p++;
		} else if (*p == '\\' && p[1] == '&')
			p++;
		else
			fputc(*p, f);
	}
	fclose(f);
	free(page);
}

static void
setup_certs(void)
{
	char	out[TLS_OUT], cmd[1024];

	snprintf(certdir, sizeof(certdir), SRCDIR "/tests/run/tls.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(certdir));
	ck_assert_msg(sh(gen_certs, out, sizeof(out)) == 0, "%s", out);
	snprintf(cmd, sizeof(cmd), "%s/tlsinfo.c", certdir);
	extract_example(cmd);
	snprintf(cmd, sizeof(cmd), "${CC:-cc} -shared -fPIC -Wall -Werror "
	    "-I'%s/daemon' -o tlsinfo.so tlsinfo.c", SRCDIR);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
}

static void
teardown_certs(void)
{
	char	cmd[600], out[256];

	if (certdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
	if (system(cmd) != 0)
		fprintf(stderr, "%s: %s\n", cmd, out);
}

/* --- a running pfsd ------------------------------------------------------ */

struct srv {
	struct hproc	p;
	int		tls_port, plain_port;
};

static char *
cert(const char *name)
{
	static char	bufs[8][600];
	static int	i;
	char		*b = bufs[i++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", certdir, name);
	return b;
}

/* Does extra give this option (--KEY=)? */
static int
given(const char *const *extra, const char *opt)
{
	for (; extra != NULL && *extra != NULL; extra++)
		if (strncmp(*extra, opt, strlen(opt)) == 0)
			return 1;
	return 0;
}

/*
 * pfsd with a TLS port and a plain one, extra arguments after; srv.pem
 * and srv.key unless extra names a certificate or a key of its own
 * (several SSL_cert_file are several certificates, not a replacement).
 * h_serve_opts starts it on the TLS port (proto ssl) and waits for it.
 */
static void
start_opts(struct srv *s, const char *handler, const char *const *extra,
    const struct hopts *o, int ready_ms)
{
	const char	*av[40];
	char		 a[3][700];
	struct hopts	 so;
	size_t		 n = 0;

	if (o != NULL)
		so = *o;
	else
		memset(&so, 0, sizeof(so));
	s->tls_port = h_free_port();
	do
		s->plain_port = h_free_port();
	while (s->plain_port == s->tls_port);
	so.proto = "ssl";
	so.port = s->tls_port;
	so.ready_ms = ready_ms;
	snprintf(a[0], sizeof(a[0]), "--port=127.0.0.1:%d", s->plain_port);
	snprintf(a[1], sizeof(a[1]), "--SSL_cert_file=%s", cert("srv.pem"));
	snprintf(a[2], sizeof(a[2]), "--SSL_key_file=%s", cert("srv.key"));
	av[n++] = handler;
	av[n++] = a[0];
	if (!given(extra, "--SSL_cert_file="))
		av[n++] = a[1];
	if (!given(extra, "--SSL_key_file="))
		av[n++] = a[2];
	av[n++] = "--log_level=3";
	while (extra != NULL && *extra != NULL && n < 38)
		av[n++] = *extra++;
	av[n] = NULL;
	h_serve_opts(&s->p, NULL, av, &so);
}

static void
start(struct srv *s, const char *handler, const char *const *extra)
{
	start_opts(s, handler, extra, NULL, 10000);
}

static void
stop(struct srv *s)
{
	ck_assert_int_ne(h_stop(&s->p, SIGTERM, 10000), -1);
}

#define TLSINFO		"--handler=%s/tlsinfo.so"

static const char *
tlsinfo(void)
{
	static char	buf[700];

	snprintf(buf, sizeof(buf), TLSINFO, certdir);
	return buf;
}

/* openssl s_client to the TLS port with opts; its output in out. */
static int
s_client(struct srv *s, const char *opts, const char *input, char *out,
    size_t len)
{
	char	cmd[2048];

	snprintf(cmd, sizeof(cmd), "printf '%s' | timeout 10 openssl s_client "
	    "-connect 127.0.0.1:%d -servername localhost -CAfile ca.pem "
	    "-verify_return_error -ign_eof %s", input, s->tls_port, opts);
	return sh(cmd, out, len);
}

/* --- serving ------------------------------------------------------------- */

/* TLS 1.2 and 1.3 on one port, plain text on the other, one pool. */
START_TEST(test_versions_and_plain_port)
{
	static const char *const v[][2] = {
		{ "-tls1_2", "TLSv1.2 ECDHE-ECDSA-" },
		{ "-tls1_3", "TLSv1.3 TLS_" },
	};
	const char *const	 extra[] = { "--max_servers=2", NULL };
	struct srv		 s;
	char			 out[TLS_OUT], want[128], buf[256];
	size_t			 i;

	start(&s, tlsinfo(), extra);
	for (i = 0; i < NITEMS(v); i++) {
		ck_assert_msg(s_client(&s, v[i][0], "", out, sizeof(out)) == 0,
		    "%s", out);
		ck_assert_msg(strstr(out, v[i][1]) != NULL, "%s:\n%s",
		    v[i][0], out);
		snprintf(want, sizeof(want), "port=%d sni=localhost "
		    "subject=-\n", s.tls_port);
		ck_assert_msg(strstr(out, want) != NULL, "no \"%s\" in\n%s",
		    want, out);
	}
	ck_assert_int_gt(h_talk("127.0.0.1", s.plain_port, "", buf,
	    sizeof(buf)), 0);
	snprintf(want, sizeof(want), "plain port=%d\n", s.plain_port);
	ck_assert_str_eq(buf, want);
	stop(&s);
}
END_TEST

/*
 * The relay both ways with Python's ssl module: 300 KB echoed in lines
 * (more than the socket buffers, so the relay must not block one way
 * while the other fills), then "quit": the end is a close_notify, not a
 * bare FIN (a ragged EOF raises SSLEOFError here).
 */
static const char py_echo[] =
    "python3 - %d <<'EOF'\n"
    "import socket, ssl, sys\n"
    "ctx = ssl.create_default_context(cafile='ca.pem')\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "t = ctx.wrap_socket(s, server_hostname='localhost',\n"
    "                    suppress_ragged_eofs=False)\n"
    "data = b''.join(b'%%05d' %% i + b'x' * 94 + b'\\n' for i in range(3000))\n"
    "t.sendall(data + b'quit\\n')\n"
    "got = b''\n"
    "while True:\n"
    "    d = t.recv(65536)\n"
    "    if not d:\n"
    "        break\n"
    "    got += d\n"
    "print(t.version(), len(got), got == data)\n"
    "EOF\n";

START_TEST(test_relay_python)
{
	const char *const	 extra[] = { "--max_servers=1", NULL };
	struct srv		 s;
	char			 cmd[2048], out[TLS_OUT];

	start(&s, "--handler=echo", extra);
	snprintf(cmd, sizeof(cmd), py_echo, s.tls_port);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_str_eq(out, "TLSv1.3 300000 True\n");
	/* and the same child serves plain text next */
	ck_assert_int_eq(h_talk("127.0.0.1", s.plain_port, "hi\nquit\n", cmd,
	    sizeof(cmd)), 3);
	ck_assert_str_eq(cmd, "hi\n");
	stop(&s);
}
END_TEST

/* How many mappings pid has (lines of /proc/PID/maps), or -1. */
static int
mappings(pid_t pid)
{
	char	path[64], *text;
	int	n;

	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	if ((text = h_read_file(path)) == NULL)
		return -1;
	n = h_count(text, "\n");
	free(text);
	return n;
}

/*
 * An idle child ends its relay thread (tls_trim, a second after the
 * request) and starts another for the next TLS client: three rounds of
 * the Python echo through the one child, which each time goes back to
 * one thread and to as many mappings as after the first round (the
 * thread's stack is unmapped), and never crashes.  Kernel TLS off: with
 * it, no relay would run.
 */
START_TEST(test_relay_ends_when_idle)
{
	const char *const	 extra[] = { "--max_servers=1",
	    "--ssl_ktls=off", NULL };
	struct srv		 s;
	char			 cmd[2048], out[TLS_OUT];
	pid_t			 kid, again;
	long long		 deadline;
	int			 round, n, maps = -1;

	start(&s, "--handler=echo", extra);
	ck_assert_int_eq(h_children(s.p.pid, &kid, 1), 1);
	for (round = 0; round < 3; round++) {
		snprintf(cmd, sizeof(cmd), py_echo, s.tls_port);
		ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
		ck_assert_str_eq(out, "TLSv1.3 300000 True\n");
		deadline = h_now_ms() + 10000;
		while ((n = h_proc_count(kid, "task")) != 1 &&
		    h_now_ms() < deadline)
			usleep(50 * 1000);
		ck_assert_msg(n == 1, "round %d: child %ld has %d threads",
		    round, (long)kid, n);
		if (maps == -1)
			maps = mappings(kid);
		ck_assert_int_eq(mappings(kid), maps);
	}
	ck_assert_int_eq(h_children(s.p.pid, &again, 1), 1);
	ck_assert_int_eq(again, kid);
	ck_assert_msg(!h_log_has(&s.p, "killed by signal"), "%s",
	    h_log_tail(&s.p));
	stop(&s);
}
END_TEST

static const char py_bad_request[] =
    "timeout 10 python3 - %d <<'EOF'\n"
    "import socket, ssl, sys\n"
    "ctx = ssl.create_default_context(cafile='ca.pem')\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "t = ctx.wrap_socket(s, server_hostname='localhost',\n"
    "                    suppress_ragged_eofs=False)\n"
    "t.sendall(b'GET / HTTP/1.1\\r\\n\\r\\n')\n"
    "got = b''\n"
    "while True:\n"
    "    d = t.recv(4096)\n"
    "    if not d:\n"
    "        break\n"
    "    got += d\n"
    "sys.stdout.write(got.decode())\n"
    "EOF\n";

/*
 * curl over TLS to http_hello (pfsd_read/pfsd_write): two requests on one
 * kept-alive connection; a bad one answered 400 and closed cleanly.
 */
START_TEST(test_curl_http_hello)
{
	struct srv	s;
	char		cmd[1024], out[TLS_OUT];

	start(&s, "--handler=http_hello", NULL);
	snprintf(cmd, sizeof(cmd), "timeout 10 curl -sS -v --cacert ca.pem "
	    "--resolve localhost:%d:127.0.0.1 https://localhost:%d/ "
	    "https://localhost:%d/again 2>&1", s.tls_port, s.tls_port,
	    s.tls_port);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "SSL connection using TLSv1.3") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "Hello, world!\n") != NULL &&
	    strstr(strstr(out, "Hello, world!\n") + 1, "Hello, world!\n") !=
	    NULL, "not two answers:\n%s", out);
	ck_assert_msg(strstr(out, "Re-using existing connection") != NULL,
	    "%s", out);
	/*
	 * A bad request: 400, then http_hello's pfsd_shutdown.  Python reads
	 * to the end, which must be a close_notify (a ragged EOF raises;
	 * curl closes on Content-Length without waiting for it).
	 */
	snprintf(cmd, sizeof(cmd), py_bad_request, s.tls_port);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0,
	    "%s", out);
	stop(&s);
}
END_TEST

/*
 * pfsd_read/pfsd_write/pfsd_shutdown (tests/plugins/direct.c) on the TLS
 * and the plain port alike, with Python's ssl module: "DIR\n" and its
 * "ok\n" go through stdin and stdout (the relay), then 300 KB are echoed
 * by the handler's own calls.  More than the relay's socketpair holds
 * was already decrypted when the handler switched, so what pfsd_read
 * returns first is what the relay had moved.  Then an idle client: the
 * time limit ends the read ("timeout").  Each ends with the handler's
 * shutdown seen as a clean end (a close_notify over TLS: a ragged EOF
 * raises here) and the client's end seen by the handler.
 */
static const char py_direct[] =
    "python3 - %d %s %s <<'EOF'\n"
    "import socket, ssl, sys\n"
    "port, tls, mode = int(sys.argv[1]), sys.argv[2] == 'tls', sys.argv[3]\n"
    "s = socket.create_connection(('127.0.0.1', port))\n"
    "if tls:\n"
    "    ctx = ssl.create_default_context(cafile='ca.pem')\n"
    "    s = ctx.wrap_socket(s, server_hostname='localhost',\n"
    "                        suppress_ragged_eofs=False)\n"
    "data = b''\n"
    "if mode == 'bulk':\n"
    "    data = b''.join(b'%%05d' %% i + b'x' * 94 + b'\\n'\n"
    "                    for i in range(3000)) + b'quit\\n'\n"
    "s.sendall(b'DIR\\n' + data)\n"
    "got = b''\n"
    "while True:\n"
    "    d = s.recv(65536)\n"
    "    if not d:\n"
    "        break\n"
    "    got += d\n"
    "want = b'ok\\n' + (data or b'timeout\\n')\n"
    "print(mode, 'ok' if got == want else\n"
    "      'got %%d bytes, want %%d: %%r' %% (len(got), len(want), got[:60]))\n"
    "s.close()\n"
    "EOF\n";

/*
 * Whether the relay still holds part of a record when the handler
 * switches depends on where the records fell when the socketpair filled
 * (about 2 runs in 3 it does): the TLS bulk case runs 5 times, so that a
 * pfsd that loses that part fails here.
 */
#define DIRECT_BULK_RUNS	5

/* One client of py_direct: tls or the plain port, mode bulk or idle. */
static void
direct_case(struct srv *s, int tls, const char *mode)
{
	char	cmd[2048], out[TLS_OUT], want[32];

	snprintf(cmd, sizeof(cmd), py_direct, tls ? s->tls_port :
	    s->plain_port, tls ? "tls" : "plain", mode);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	snprintf(want, sizeof(want), "%s ok\n", mode);
	ck_assert_msg(strcmp(out, want) == 0, "%s %s: %s", tls ? "TLS" :
	    "plain", mode, out);
}

static void
direct_cases(struct srv *s, int plain_too, int ms)
{
	int	i, r, n = 0;

	for (i = 0; i < (plain_too ? 2 : 1); i++) {
		for (r = 0; r < (i == 0 ? DIRECT_BULK_RUNS : 1); r++, n++)
			direct_case(s, i == 0, "bulk");
		direct_case(s, i == 0, "idle");
		n++;
	}
	ck_assert_msg(h_wait_log_count(&s->p, "direct: input ended with EOF",
	    n, ms) == 0, "the handler did not see each client's end:\n%s",
	    h_log_tail(&s->p));
}

START_TEST(test_direct_io)
{
	const char *const	 extra[] = { "--max_servers=1", NULL };
	struct srv		 s;

	start(&s, "--handler=" TPLUGIN("direct"), extra);
	direct_cases(&s, 1, 5000);
	stop(&s);
}
END_TEST

/*
 * request_timeout (and so a fast stop) ends a handler blocked in
 * pfsd_read over TLS: SIGTERM shuts the TCP socket too, not only the
 * relay's socketpair, so http_hello's read returns and the child ends by
 * itself instead of by the watchdog's SIGKILL a second later.
 */
static const char py_idle[] =
    "timeout 10 python3 - %d <<'EOF'\n"
    "import socket, ssl, sys\n"
    "ctx = ssl.create_default_context(cafile='ca.pem')\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "t = ctx.wrap_socket(s, server_hostname='localhost')\n"
    "try:\n"
    "    print('read', len(t.recv(100)))\n"
    "except OSError as e:\n"
    "    print('read', e)\n"
    "EOF\n";

START_TEST(test_direct_io_term)
{
	const char *const	 extra[] = { "--max_servers=1",
				    "--request_timeout=1", NULL };
	struct srv		 s;
	char			 cmd[1024], out[TLS_OUT];
	pid_t			 kid;
	long long		 t0;

	start(&s, "--handler=http_hello", extra);
	ck_assert_int_eq(h_wait_children(s.p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_children(s.p.pid, &kid, 1), 1);
	snprintf(cmd, sizeof(cmd), py_idle, s.tls_port);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_int_eq(h_wait_log(&s.p, "request_timeout: child", 3000), 0);
	t0 = h_now_ms();
	while (h_alive(kid) && h_now_ms() - t0 < 5000)
		usleep(2000);
	ck_assert_msg(!h_alive(kid), "child %ld still there",
	    (long)kid);
	ck_assert_msg(!h_log_has(&s.p, "ignored SIGTERM"), "the handler "
	    "went on reading after SIGTERM:\n%s", h_log_tail(&s.p));
	stop(&s);
}
END_TEST

/*
 * A client that does not read: pfsd_write's limit passes.  Over TLS a
 * record is then half sent, so the connection is over: the next write
 * and pfsd_shutdown fail with EPIPE (not OpenSSL's "bad write retry", and
 * not a close_notify that never goes out).  On the plain port the socket
 * goes on as write(2) does.  The client holds still until the handler
 * logged, then closes.
 */
static const char py_big[] =
    "cd '%s' && exec timeout 20 python3 -c '"
    "import socket, ssl, sys\n"
    "s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))\n"
    "if sys.argv[2] == \"tls\":\n"
    "    s = ssl.create_default_context(cafile=\"ca.pem\").wrap_socket(s,\n"
    "        server_hostname=\"localhost\")\n"
    "s.sendall(b\"BIG\\n\")\n"
    "sys.stdin.readline()\n"
    "' %d %s";

START_TEST(test_direct_io_write_timeout)
{
	const char *const	 extra[] = { "--max_servers=1", NULL };
	static const char *const want[] = {
		"direct: write: Resource temporarily unavailable; then write: "
		"Broken pipe; shutdown: Broken pipe",
		"direct: write: Resource temporarily unavailable; then write: "
		"Resource temporarily unavailable; shutdown: ok",
	};
	struct srv		 s;
	char			 cmd[2048];
	FILE			*py;
	int			 i, rc;

	start(&s, "--handler=" TPLUGIN("direct"), extra);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), py_big, certdir, i == 0 ?
		    s.tls_port : s.plain_port, i == 0 ? "tls" : "plain");
		ck_assert_ptr_nonnull(py = popen(cmd, "w"));
		rc = h_wait_log_count(&s.p, "direct: write: ", i + 1, 10000);
		fputs("\n", py);
		pclose(py);
		ck_assert_msg(rc == 0 && h_log_has(&s.p, want[i]), "%s: want "
		    "\"%s\" in\n%s", i == 0 ? "TLS" : "plain", want[i],
		    h_log_tail(&s.p));
	}
	stop(&s);
}
END_TEST

/* SSL_verify_mode require, then peer: subject only when verified. */
START_TEST(test_client_certificates)
{
	const char		*req[] = { "--SSL_verify_mode=require",
				    NULL, NULL };
	struct srv		 s;
	char			 ca[700], out[TLS_OUT];

	snprintf(ca, sizeof(ca), "--SSL_ca_file=%s", cert("ca.pem"));
	req[1] = ca;
	start(&s, tlsinfo(), req);
	s_client(&s, "-cert cli.pem -key cli.key", "", out, sizeof(out));
	ck_assert_msg(strstr(out, "subject=/CN=alice/O=pfsd-test\n") != NULL,
	    "%s", out);
	s_client(&s, "", "", out, sizeof(out));
	ck_assert_msg(strstr(out, " sni=") == NULL, "%s", out);
	ck_assert_int_eq(h_wait_log(&s.p, "TLS handshake with 127.0.0.1 port",
	    5000), 0);
	stop(&s);

	req[0] = "--SSL_verify_mode=peer";
	start(&s, tlsinfo(), req);
	s_client(&s, "", "", out, sizeof(out));
	ck_assert_msg(strstr(out, "subject=-\n") != NULL, "%s", out);
	s_client(&s, "-cert cli.pem -key cli.key", "", out, sizeof(out));
	ck_assert_msg(strstr(out, "subject=/CN=alice/O=pfsd-test\n") != NULL,
	    "%s", out);
	stop(&s);
}
END_TEST

/* The pids of the children the log says served "connection from". */
static int
served_by(struct srv *s, pid_t *pids, int max)
{
	char	*log = h_read_file(s->p.log), *p;
	int	 n = 0;

	ck_assert_ptr_nonnull(log);
	for (p = strstr(log, "]: info: connection from"); p != NULL && n < max;
	    p = strstr(p + 1, "]: info: connection from")) {
		while (p > log && p[-1] != '[')
			p--;
		pids[n++] = (pid_t)atoi(p);
		p = strchr(p, ']');
	}
	free(log);
	return n;
}

/*
 * A session made with one child resumes on another: max_requests 1, so
 * every connection is a new child, forked from the parent that made the
 * ticket keys.  TLS 1.3 and 1.2.
 */
START_TEST(test_resumption_across_children)
{
	const char *const	 extra[] = { "--max_servers=1",
				    "--max_requests=1", NULL };
	static const char *const v[] = { "-tls1_3", "-tls1_2" };
	struct srv		 s;
	char			 opts[128], out[TLS_OUT];
	pid_t			 pids[8];
	size_t			 i;

	start(&s, tlsinfo(), extra);
	for (i = 0; i < NITEMS(v); i++) {
		snprintf(opts, sizeof(opts), "%s -sess_out sess%zu", v[i], i);
		ck_assert_msg(s_client(&s, opts, "", out, sizeof(out)) == 0,
		    "%s", out);
		ck_assert_msg(strstr(out, "\nNew, TLSv1.") != NULL, "%s", out);
		snprintf(opts, sizeof(opts), "%s -sess_in sess%zu", v[i], i);
		ck_assert_msg(s_client(&s, opts, "", out, sizeof(out)) == 0,
		    "%s", out);
		ck_assert_msg(strstr(out, "\nReused, TLSv1.") != NULL,
		    "%s: not resumed:\n%s", v[i], out);
	}
	ck_assert_int_eq(h_wait_log(&s.p, "info: connection from", 1000), 0);
	ck_assert_int_eq(served_by(&s, pids, 8), 4);
	ck_assert_int_ne(pids[0], pids[1]);
	ck_assert_int_ne(pids[2], pids[3]);
	stop(&s);
}
END_TEST

/*
 * A HUP whose new image fails (pre_loop_hook) rolls back: a session made
 * before it resumes after it, so the rollback image kept the ticket keys.
 */
START_TEST(test_resumption_across_rollback)
{
	char			 conf[600], out[TLS_OUT];
	const char *const	 extra[] = { "-c", conf, "--max_servers=2",
				    NULL };
	struct srv		 s;

	snprintf(conf, sizeof(conf), "%s", h_write("fail.conf", "# ok\n"));
	start(&s, "--handler=" TPLUGIN("hooks"), extra);
	ck_assert_msg(s_client(&s, "-tls1_3 -sess_out rb.sess", "quit\n",
	    out, sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\nNew, TLSv1.") != NULL, "%s", out);
	h_write("fail.conf", "fail_hook pre_loop_hook\n");
	kill(s.p.pid, SIGHUP);
	ck_assert_msg(h_wait_log(&s.p, "; generation 0 kept", 10000) == 0,
	    "%s", h_read_file(s.p.log));
	ck_assert_msg(s_client(&s, "-tls1_3 -sess_in rb.sess", "quit\n", out,
	    sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\nReused, TLSv1.") != NULL,
	    "not resumed after the rollback:\n%.2000s", out);
	stop(&s);
}
END_TEST

/*
 * A plain-text client on the TLS port, and one that stops in the middle
 * of its ClientHello: each logged at info with the peer, the second after
 * ssl_handshake_timeout; the one child serves on, unchanged.
 */
START_TEST(test_bad_clients_cost_no_child)
{
	const char *const	 extra[] = { "--max_servers=1",
				    "--ssl_handshake_timeout=1", NULL };
	struct srv		 s;
	char			 out[TLS_OUT], buf[256];
	pid_t			 before, after;
	int			 fd;

	start(&s, tlsinfo(), extra);
	ck_assert_int_eq(h_wait_children(s.p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_children(s.p.pid, &before, 1), 1);
	/* an alert or a reset, never an answer in plain text */
	buf[0] = '\0';
	h_talk("127.0.0.1", s.tls_port, "GET / HTTP/1.0\r\n\r\n", buf,
	    sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "plain"));
	ck_assert_int_eq(h_wait_log(&s.p, " on 127.0.0.1:", 5000), 0);
	ck_assert_int_eq(h_wait_log(&s.p, "failed: http request", 5000), 0);

	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", s.tls_port), 0);
	ck_assert_int_eq(write(fd, "\x16\x03\x01\x02", 4), 4);
	ck_assert_int_eq(h_wait_log(&s.p, "failed: handshake timed out",
	    5000), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);	/* closed */
	close(fd);

	ck_assert_int_eq(s_client(&s, "", "", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "sni=localhost"));
	ck_assert_int_eq(h_children(s.p.pid, &after, 1), 1);
	ck_assert_int_eq(before, after);
	stop(&s);
}
END_TEST

/* A key only root may read, served by children running as nobody. */
START_TEST(test_root_only_key_user_nobody)
{
	char			 key[700], out[TLS_OUT], path[64];
	const char *const	 extra[] = { "--user=nobody", key, NULL };
	struct srv		 s;
	pid_t			 child;

	if (geteuid() != 0) {
		fprintf(stderr, "tls: root_only_key skipped: not root\n");
		return;
	}
	snprintf(key, sizeof(key), "--SSL_key_file=%s", cert("root.key"));
	ck_assert_int_eq(sh("install -m 600 srv.key root.key", out,
	    sizeof(out)), 0);
	start(&s, tlsinfo(), extra);
	ck_assert_msg(s_client(&s, "", "", out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "sni=localhost"));
	ck_assert_int_ge(h_children(s.p.pid, &child, 1), 1);
	snprintf(path, sizeof(path), "grep ^Uid: /proc/%ld/status",
	    (long)child);
	ck_assert_int_eq(sh(path, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "Uid:\t65534\t65534\t65534\t65534\n");
	stop(&s);
}
END_TEST

/* The name of the ticket key a saved session's ticket was made with. */
static void
ticket_key(const char *sess, char *name, size_t len)
{
	char	 cmd[256], out[TLS_OUT];
	char	*p;

	snprintf(cmd, sizeof(cmd), "openssl sess_id -in %s -noout -text",
	    sess);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(p = strstr(out, "TLS session ticket:\n"));
	ck_assert_ptr_nonnull(p = strstr(p, "0000 - "));
	snprintf(name, len, "%.47s", p + 7);	/* 16 bytes in hex */
}

/*
 * ssl_ticket_lifetime 1: a second later the keys have rotated, so the
 * next ticket is made with another key; it resumes, on another child.
 */
START_TEST(test_ticket_keys_rotate)
{
	const char *const	 extra[] = { "--ssl_ticket_lifetime=1",
				    "--max_requests=1", NULL };
	struct srv		 s;
	char			 out[TLS_OUT], a[64], b[64];

	start(&s, tlsinfo(), extra);
	ck_assert_msg(s_client(&s, "-sess_out a", "", out, sizeof(out)) == 0,
	    "%s", out);
	ticket_key("a", a, sizeof(a));
	usleep(1100 * 1000);	/* the key's age is what is tested */
	ck_assert_msg(s_client(&s, "-sess_out b", "", out, sizeof(out)) == 0,
	    "%s", out);
	ticket_key("b", b, sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert_msg(s_client(&s, "-sess_in b", "", out, sizeof(out)) == 0,
	    "%s", out);
	ck_assert_msg(strstr(out, "\nReused, TLSv1.3") != NULL, "%s", out);
	stop(&s);
}
END_TEST

/*
 * HUP with a renewed certificate while Python's ssl module keeps four
 * threads of TLS connections going: every connection succeeds, the ones
 * after the reload see the new certificate.  Then a broken certificate:
 * the HUP check refuses it and TLS goes on with the renewed one.
 */
static const char py_reload[] =
    "python3 - %d %ld <<'EOF'\n"
    "import os, shutil, signal, socket, ssl, sys, threading, time\n"
    "port, pid = int(sys.argv[1]), int(sys.argv[2])\n"
    "ctx = ssl.create_default_context(cafile='ca.pem')\n"
    "new = open('renewed.pem').read()\n"
    "ok, bad, serials, stop = [0], [], set(), [False]\n"
    "lock = threading.Lock()\n"
    "def one():\n"
    "    with socket.create_connection(('127.0.0.1', port), 10) as s:\n"
    "        with ctx.wrap_socket(s, server_hostname='localhost') as t:\n"
    "            t.sendall(b'ping\\nquit\\n')\n"
    "            got = b''\n"
    "            while True:\n"
    "                d = t.recv(100)\n"
    "                if not d:\n"
    "                    break\n"
    "                got += d\n"
    "            assert got == b'ping\\n', got\n"
    "            return t.getpeercert()['serialNumber']\n"
    "def load():\n"
    "    while not stop[0]:\n"
    "        try:\n"
    "            sn = one()\n"
    "            with lock:\n"
    "                ok[0] += 1\n"
    "                serials.add(sn)\n"
    "        except Exception as e:\n"
    "            with lock:\n"
    "                bad.append(repr(e))\n"
    "ts = [threading.Thread(target=load) for i in range(4)]\n"
    "[t.start() for t in ts]\n"
    "time.sleep(0.5)\n"
    "first = set(serials)\n"
    "shutil.copy('renewed.pem', 'live.pem.new')\n"
    "os.replace('live.pem.new', 'live.pem')\n"
    "os.kill(pid, signal.SIGHUP)\n"
    "end = time.time() + 15\n"
    "while time.time() < end and len(serials) < 2:\n"
    "    time.sleep(0.05)\n"
    "time.sleep(0.3)\n"
    "stop[0] = True\n"
    "[t.join() for t in ts]\n"
    "print('ok', ok[0] > 20, 'failed', len(bad), 'serials', len(first),\n"
    "      len(serials), bad[:3])\n"
    "EOF\n";

START_TEST(test_hup_renewed_certificate_under_load)
{
	char			 cert_arg[700], out[TLS_OUT], cmd[4096];
	const char *const	 extra[] = { cert_arg, "--max_servers=4", NULL };
	struct srv		 s;

	ck_assert_int_eq(sh("cp srv.pem live.pem", out, sizeof(out)), 0);
	snprintf(cert_arg, sizeof(cert_arg), "--SSL_cert_file=%s",
	    cert("live.pem"));
	start(&s, "--handler=echo", extra);
	ck_assert_msg(s_client(&s, "-sess_out before", "quit\\n", out,
	    sizeof(out)) == 0, "%s", out);
	snprintf(cmd, sizeof(cmd), py_reload, s.tls_port, (long)s.p.pid);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strcmp(out, "ok True failed 0 serials 1 2 []\n") == 0,
	    "%s\n%s", out, h_read_file(s.p.log));
	ck_assert_int_eq(h_wait_log(&s.p, "serving (generation 1,", 5000), 0);
	/* the ticket keys came across the HUP */
	ck_assert_msg(s_client(&s, "-sess_in before", "quit\\n", out,
	    sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\nReused, TLSv1.3") != NULL, "%s", out);

	ck_assert_int_eq(sh("cp junk.pem live.pem", out, sizeof(out)), 0);
	kill(s.p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&s.p, "live.pem: no PEM certificate",
	    10000), 0);
	ck_assert_int_eq(h_wait_log(&s.p, "still serving", 10000), 0);
	ck_assert_msg(s_client(&s, "", "ping\\nquit\\n", out, sizeof(out)) ==
	    0, "%s", out);
	ck_assert_msg(strstr(out, "\nping\n") != NULL, "%s", out);
	stop(&s);
}
END_TEST

/*
 * The certificate the TLS port shows, with these s_client options (the
 * server name), checked against the CA: "subject=... serial=...".
 */
static void
shown_cert(struct srv *s, const char *opts, char *out, size_t len)
{
	char	cmd[1024];

	snprintf(cmd, sizeof(cmd), "timeout 10 openssl s_client -connect "
	    "127.0.0.1:%d -CAfile ca.pem -verify_return_error %s </dev/null "
	    "2>/dev/null | openssl x509 -noout -subject -serial | "
	    "paste -sd ' '", s->tls_port, opts);
	ck_assert_msg(sh(cmd, out, len) == 0, "%s: %s", opts, out);
}

/*
 * Two SSL_cert_file/SSL_key_file pairs: the client's server name picks
 * the certificate that names it (a wildcard too), an unknown name or
 * none gets the first; curl checks each name against its certificate.
 * HUP reloads the second certificate like the first.
 */
START_TEST(test_sni_certificates)
{
	static const struct {
		const char	*opts;
		const char	*subject;
	} want[] = {
		{ "-servername other.test -verify_hostname other.test",
		    "subject=CN = other.test serial=" },
		{ "-servername www.other.test -verify_hostname www.other.test",
		    "subject=CN = other.test serial=" },
		{ "-servername localhost -verify_hostname localhost",
		    "subject=CN = localhost serial=" },
		{ "-servername unknown.example", "subject=CN = localhost "
		    "serial=" },
		{ "-noservername", "subject=CN = localhost serial=" },
	};
	char			 c1[700], k1[700], c2[700], k2[700];
	char			 out[TLS_OUT], cmd[2048], before[256], after[256];
	const char *const	 extra[] = { c1, k1, c2, k2, "--max_servers=2",
				    NULL };
	struct srv		 s;
	size_t			 i;

	ck_assert_int_eq(sh("cp sni.pem sni-live.pem", out, sizeof(out)), 0);
	snprintf(c1, sizeof(c1), "--SSL_cert_file=%s", cert("srv.pem"));
	snprintf(k1, sizeof(k1), "--SSL_key_file=%s", cert("srv.key"));
	snprintf(c2, sizeof(c2), "--SSL_cert_file=%s", cert("sni-live.pem"));
	snprintf(k2, sizeof(k2), "--SSL_key_file=%s", cert("other.key"));
	start(&s, "--handler=http_hello", extra);
	for (i = 0; i < NITEMS(want); i++) {
		shown_cert(&s, want[i].opts, out, sizeof(out));
		ck_assert_msg(strncmp(out, want[i].subject,
		    strlen(want[i].subject)) == 0, "%s: %s", want[i].opts,
		    out);
	}
	snprintf(cmd, sizeof(cmd), "for h in localhost www.other.test; do "
	    "timeout 10 curl -sS --cacert ca.pem --resolve $h:%d:127.0.0.1 "
	    "https://$h:%d/ || exit 1; done", s.tls_port, s.tls_port);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_str_eq(out, "Hello, world!\nHello, world!\n");

	shown_cert(&s, "-servername other.test", before, sizeof(before));
	ck_assert_int_eq(sh("cp sni-renewed.pem sni-live.pem", out,
	    sizeof(out)), 0);
	kill(s.p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&s.p, "serving (generation 1,", 10000),
	    0);
	shown_cert(&s, "-servername other.test", after, sizeof(after));
	ck_assert_msg(strncmp(after, "subject=CN = other.test serial=",
	    31) == 0 && strcmp(before, after) != 0, "before HUP: %s\n"
	    "after: %s", before, after);
	stop(&s);
}
END_TEST

/* Does the kernel take TCP_ULP "tls" on a connected socket (as OpenSSL
 * would set it; the module loads on demand)? */
static int
kernel_tls(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			l, c, ok = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ge(c = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, len), 0);
	ok = setsockopt(c, IPPROTO_TCP, TCP_ULP, "tls", 3) == 0;
	close(c);
	close(l);
	return ok;
}

/*
 * ssl_ktls auto on a kernel with the "tls" ULP: a TLS 1.2 AES-GCM client
 * gets the socket itself (no relay), logged at debug; with ssl_ktls off
 * the relay carries the same request.
 */
START_TEST(test_ktls)
{
	const char *const	 on[] = { "--log_level=4", NULL };
	const char *const	 off[] = { "--log_level=4", "--ssl_ktls=off",
				    NULL };
	struct srv		 s;
	char			 out[TLS_OUT];

	if (!kernel_tls())
		H_SKIP("the kernel offers no TCP_ULP \"tls\" (kernel TLS); "
		    "the relay serves every TLS connection here");
	start(&s, tlsinfo(), on);
	ck_assert_msg(s_client(&s, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-"
	    "SHA256", "", out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "TLSv1.2 ECDHE-ECDSA-AES128-GCM"));
	ck_assert_int_eq(h_wait_log(&s.p, "kernel TLS for 127.0.0.1", 5000),
	    0);
	stop(&s);
	start(&s, tlsinfo(), off);
	ck_assert_msg(s_client(&s, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-"
	    "SHA256", "", out, sizeof(out)) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "TLSv1.2 ECDHE-ECDSA-AES128-GCM"));
	ck_assert(!h_log_has(&s.p, "kernel TLS for"));
	stop(&s);
}
END_TEST

/* --- valgrind ------------------------------------------------------------ */

#ifndef __SANITIZE_ADDRESS__	/* valgrind cannot run an ASan pfsd */

#define VG_MS		60000	/* what takes ms takes seconds under it */

/* valgrind's report goes to pfsd's stderr, the log; definite leaks only. */
static const char *const vg_wrap[] = {
	"valgrind", "--leak-check=full", "--show-leak-kinds=definite",
	"--errors-for-leak-kinds=definite", "--error-exitcode=99",
	"--num-callers=30", NULL
};

/* QUIT, then no valgrind error in the parent or the child. */
static void
vg_quit(struct srv *s)
{
	char	*log, *at;
	int	 status;

	kill(s->p.pid, SIGQUIT);
	status = h_wait_exit(&s->p, VG_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "exit status %#x (99: valgrind found errors):\n%s", status,
	    h_log_tail(&s->p));
	ck_assert_ptr_nonnull(log = h_read_file(s->p.log));
	at = strstr(log, "   at 0x");
	ck_assert_msg(h_file_count(s->p.log, "ERROR SUMMARY: ") >= 2 &&
	    h_file_count(s->p.log, "ERROR SUMMARY: ") ==
	    h_file_count(s->p.log, "ERROR SUMMARY: 0 errors") && at == NULL,
	    "valgrind found errors:\n%.1500s", at != NULL && at - log > 300 ?
	    at - 300 : log);
	free(log);
}

/*
 * make valgrind (too slow for make check): the parent and its child,
 * relay thread included, under memcheck: 300 KB echoed both ways, the
 * second certificate chosen by name, a session resumed, a client gone
 * in the middle; then QUIT.  No error and no definite leak in either.
 */
START_TEST(test_valgrind_relay)
{
	char			 c1[700], k1[700], c2[700], k2[700];
	char			 out[TLS_OUT], cmd[2048];
	const char *const	 extra[] = { c1, k1, c2, k2, "--max_servers=1",
				    NULL };
	struct hopts		 o;
	struct srv		 s;

	ck_assert_msg(system("valgrind --version >/dev/null 2>&1") == 0,
	    "valgrind is not installed (make deps installs it)");
	snprintf(c1, sizeof(c1), "--SSL_cert_file=%s", cert("srv.pem"));
	snprintf(k1, sizeof(k1), "--SSL_key_file=%s", cert("srv.key"));
	snprintf(c2, sizeof(c2), "--SSL_cert_file=%s", cert("sni.pem"));
	snprintf(k2, sizeof(k2), "--SSL_key_file=%s", cert("other.key"));
	memset(&o, 0, sizeof(o));
	o.wrap = vg_wrap;
	start_opts(&s, "--handler=echo", extra, &o, VG_MS);
	snprintf(cmd, sizeof(cmd), py_echo, s.tls_port);
	ck_assert_msg(sh(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_str_eq(out, "TLSv1.3 300000 True\n");
	shown_cert(&s, "-servername www.other.test -verify_hostname "
	    "www.other.test", out, sizeof(out));
	ck_assert_msg(strncmp(out, "subject=CN = other.test", 23) == 0, "%s",
	    out);
	ck_assert_msg(s_client(&s, "-sess_out vg.sess", "quit\\n", out,
	    sizeof(out)) == 0, "%s", out);
	ck_assert_msg(s_client(&s, "-sess_in vg.sess", "quit\\n", out,
	    sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "\nReused, TLSv1.3") != NULL, "%s", out);
	snprintf(cmd, sizeof(cmd), "head -c 100000 /dev/zero | timeout 20 "
	    "openssl s_client -connect 127.0.0.1:%d -quiet -no_ign_eof "
	    ">/dev/null 2>&1; "
	    "exit 0", s.tls_port);
	ck_assert_int_eq(sh(cmd, out, sizeof(out)), 0);
	vg_quit(&s);
}
END_TEST

/*
 * make valgrind: the handler's own TLS calls (test_direct_io's cases on
 * the TLS port) under memcheck, parent and child; then QUIT.
 */
START_TEST(test_valgrind_direct)
{
	const char *const	 extra[] = { "--max_servers=1", NULL };
	struct hopts		 o;
	struct srv		 s;

	ck_assert_msg(system("valgrind --version >/dev/null 2>&1") == 0,
	    "valgrind is not installed (make deps installs it)");
	memset(&o, 0, sizeof(o));
	o.wrap = vg_wrap;
	start_opts(&s, "--handler=" TPLUGIN("direct"), extra, &o, VG_MS);
	direct_cases(&s, 0, VG_MS);
	vg_quit(&s);
}
END_TEST

#endif /* !__SANITIZE_ADDRESS__ */

/* --- bad input ----------------------------------------------------------- */

/* pfsd -t with this configuration after "handler" and the ssl port. */
static int
check_conf(const char *body, char *out, size_t len)
{
	const char	*av[] = { "-t", "-c", NULL,
			    "--plugin_dir=" SRCDIR "/plugins", NULL };
	int		 status;

	av[2] = h_write("t.conf", "handler echo\nport 127.0.0.1:1/ssl\n%s",
	    body);
	status = h_run(av, out, len);
	ck_assert_msg(WIFEXITED(status), "%s", out);
	return WEXITSTATUS(status);
}

/* tmpl with $D the certificates' directory, $T the path of t.conf. */
static void
subst(const char *tmpl, char *out, size_t len)
{
	size_t		 off = 0;
	const char	*r;

	for (; *tmpl != '\0' && off + 1 < len; tmpl++) {
		r = NULL;
		if (tmpl[0] == '$' && tmpl[1] == 'D')
			r = certdir;
		else if (tmpl[0] == '$' && tmpl[1] == 'T')
			r = h_path("t.conf");
		if (r == NULL) {
			out[off++] = *tmpl;
			continue;
		}
		off += (size_t)snprintf(out + off, len - off, "%s", r);
		if (off >= len)
			off = len - 1;
		tmpl++;
	}
	out[off] = '\0';
}

#define PAIR	"SSL_cert_file $D/srv.pem\nSSL_key_file $D/srv.key\n"

/* Each bad setting: exit 78 and "t.conf:LINE: key: problem". */
START_TEST(test_bad_settings)
{
	static const struct {
		const char	*conf;
		const char	*want;
	} bad[] = {
		{ "", "$T:2: port: 127.0.0.1:1/ssl needs SSL_cert_file" },
		{ "SSL_cert_file $D/none.pem\n", "$T:3: SSL_cert_file: cannot "
		    "read $D/none.pem: No such file or directory" },
		{ "SSL_cert_file $D/junk.pem\n", "$T:3: SSL_cert_file: "
		    "$D/junk.pem: no PEM certificate (" },
		{ "SSL_cert_file $D/srv.pem\nSSL_key_file $D/junk.pem\n",
		    "$T:4: SSL_key_file: $D/junk.pem: no usable PEM private "
		    "key" },
		{ "SSL_cert_file $D/srv.pem\nSSL_key_file $D/other.key\n",
		    "$T:4: SSL_key_file: the key in $D/other.key does not "
		    "match the certificate in $D/srv.pem" },
		{ "SSL_cert_file $D/future.pem\nSSL_key_file $D/srv.key\n",
		    "$T:3: SSL_cert_file: the certificate in $D/future.pem is "
		    "not valid before 2099-01-01 00:00:00 UTC" },
		{ PAIR "SSL_cipher_list NULL-SHA:EXP-RC4-MD5\n",
		    "$T:5: SSL_cipher_list: \"NULL-SHA:EXP-RC4-MD5\" names no "
		    "usable cipher" },
		{ PAIR "SSL_verify_mode require\n",
		    "$T:5: SSL_verify_mode: require needs SSL_ca_file or "
		    "SSL_ca_path" },
		{ PAIR "SSL_verify_mode peer\nSSL_ca_file $D/none.pem\n",
		    "$T:6: SSL_ca_file: cannot read $D/none.pem: No such file" },
		{ PAIR "SSL_verify_mode 1\nSSL_ca_file $D/junk.pem\n",
		    "$T:6: SSL_ca_file: no CA certificate in $D/junk.pem" },
		{ "SSL_version SSLv3\n", "$T:3: SSL_version: \"SSLv3\" is not "
		    "one of TLSv1.2, TLSv1.3" },
		{ PAIR "SSL_cert_file $D/sni.pem\n", "$T:4: SSL_key_file: 1 "
		    "SSL_key_file for 2 SSL_cert_file: give one key per "
		    "certificate, in the same order" },
		{ PAIR "SSL_cert_file $D/sni.pem\nSSL_key_file $D/srv.key\n",
		    "$T:6: SSL_key_file: the key in $D/srv.key does not match "
		    "the certificate in $D/sni.pem" },
		{ PAIR "SSL_cert_file $D/none.pem\nSSL_key_file $D/other.key\n",
		    "$T:5: SSL_cert_file: cannot read $D/none.pem" },
	};
	char	body[2048], want[2048], out[TLS_OUT];
	size_t	i;

	for (i = 0; i < NITEMS(bad); i++) {
		subst(bad[i].conf, body, sizeof(body));
		ck_assert_msg(check_conf(body, out, sizeof(out)) == 78,
		    "not refused:\n%s%s", body, out);
		subst(bad[i].want, want, sizeof(want));
		ck_assert_msg(strstr(out, want) != NULL, "%swant: %s\ngot: %s",
		    body, want, out);
	}
}
END_TEST

/* An expired certificate: a warning with the date, and it starts. */
START_TEST(test_expired_certificate_warns)
{
	char	body[2048], want[2048], out[TLS_OUT];

	subst("SSL_cert_file $D/expired.pem\nSSL_key_file $D/srv.key\n", body,
	    sizeof(body));
	ck_assert_msg(check_conf(body, out, sizeof(out)) == 0, "%s", out);
	subst("$T:3: warning: SSL_cert_file: the certificate in "
	    "$D/expired.pem expired on 2020-01-02 00:00:00 UTC", want,
	    sizeof(want));
	ck_assert_msg(strstr(out, want) != NULL, "want: %s\ngot: %s", want,
	    out);
}
END_TEST

Suite *
tls_suite(void)
{
	Suite	*s = suite_create("tls");
	TCase	*tc = tcase_create("tls"), *vg;

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_certs, teardown_certs);
	tcase_add_test(tc, test_versions_and_plain_port);
	tcase_add_test(tc, test_relay_python);
	tcase_add_test(tc, test_relay_ends_when_idle);
	tcase_add_test(tc, test_curl_http_hello);
	tcase_add_test(tc, test_direct_io);
	tcase_add_test(tc, test_direct_io_term);
	tcase_add_test(tc, test_direct_io_write_timeout);
	tcase_add_test(tc, test_client_certificates);
	tcase_add_test(tc, test_resumption_across_children);
	tcase_add_test(tc, test_resumption_across_rollback);
	tcase_add_test(tc, test_bad_clients_cost_no_child);
	tcase_add_test(tc, test_root_only_key_user_nobody);
	tcase_add_test(tc, test_hup_renewed_certificate_under_load);
	tcase_add_test(tc, test_ticket_keys_rotate);
	tcase_add_test(tc, test_sni_certificates);
	tcase_add_test(tc, test_ktls);
	tcase_add_test(tc, test_bad_settings);
	tcase_add_test(tc, test_expired_certificate_warns);
	suite_add_tcase(s, tc);
#ifndef __SANITIZE_ADDRESS__
	/* make valgrind only: CK_RUN_SUITE=tls CK_RUN_CASE=valgrind */
	if (getenv("CK_RUN_CASE") != NULL &&
	    strcmp(getenv("CK_RUN_CASE"), "valgrind") == 0) {
		vg = tcase_create("valgrind");
		tcase_set_timeout(vg, 240);
		tcase_add_unchecked_fixture(vg, setup_certs, teardown_certs);
		tcase_add_test(vg, test_valgrind_relay);
		tcase_add_test(vg, test_valgrind_direct);
		suite_add_tcase(s, vg);
	}
#else
	(void)vg;
#endif
	return s;
}
