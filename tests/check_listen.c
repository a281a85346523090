/*
 * check_listen.c - listen.c: the port syntax, listeners made from the
 * port/host/proto/ipv settings, real sockets bound on loopback (TCP, UDP,
 * IPv6, UNIX), and listeners handed over to the next process.
 */
#include "internal.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <linux/filter.h>

#include "harness.h"

Suite	*listen_suite(void);

/* ------------------------------------------------------------------ */
/* The port syntax. */

struct parse_case {
	const char	*spec;
	const char	*defhost, *defproto, *defipv;
	const char	*host;		/* expected */
	const char	*port;
	int		 proto;
	int		 ipv;
	const char	*err;		/* expected error, NULL to parse */
};

#define TCP	PFSD_PROTO_TCP
#define UDP	PFSD_PROTO_UDP
#define UNX	PFSD_PROTO_UNIX
#define OK(s, h, p, pr, v)	{ s, NULL, NULL, NULL, h, p, pr, v, NULL }
#define OKD(s, dh, dp, dv, h, p, pr, v)	{ s, dh, dp, dv, h, p, pr, v, NULL }
#define BAD(s, e)		{ s, NULL, NULL, NULL, NULL, NULL, 0, 0, e }
#define BADD(s, dh, dp, dv, e)	{ s, dh, dp, dv, NULL, NULL, 0, 0, e }

static const struct parse_case parse_cases[] = {
	/* pfsd.conf(5) PORTS and Net::Server's documented forms */
	OK("8080", "*", "8080", TCP, 0),
	OK("localhost:8080", "localhost", "8080", TCP, 0),
	OK("localhost:8080/udp", "localhost", "8080", UDP, 0),
	OK("[::1]:8080", "::1", "8080", TCP, 0),
	OK("*:8080", "*", "8080", TCP, 0),
	OK("localhost|8080|tcp", "localhost", "8080", TCP, 0),
	OK("localhost:http", "localhost", "80", TCP, 0),
	OK("localhost:domain/udp", "localhost", "53", UDP, 0),
	OK("127.0.0.1:ntp|udp", "127.0.0.1", "123", UDP, 0),
	OK("/tmp/pfsd.sock/unix", "/tmp/pfsd.sock", "", UNX, 0),
	OK("/tmp/pfsd.sock|unix", "/tmp/pfsd.sock", "", UNX, 0),
	OK("/tmp/pfsd.sock|UNIX", "/tmp/pfsd.sock", "", UNX, 0),
	OK("/tmp/pfsd.sock", "/tmp/pfsd.sock", "", UNX, 0),
	OK("/run/udp/unix", "/run/udp", "", UNX, 0),
	OK("localhost,20202,tcp,IPv4", "localhost", "20202", TCP, 4),
	OK("localhost 20201 ipv4 tcp", "localhost", "20201", TCP, 4),
	OK("localhost : 8080 , udp", "localhost", "8080", UDP, 0),
	OK("localhost:8080:udp", "localhost", "8080", UDP, 0),
	OK("[::1]|8080|udp", "::1", "8080", UDP, 0),
	OK("8080/UDP", "*", "8080", UDP, 0),
	OK("8080|ipv6", "*", "8080", TCP, 6),
	OK("8080|ipv4|ipv6", "*", "8080", TCP, 0),
	OK("127.0.0.1:0", "127.0.0.1", "0", TCP, 0),
	OK("65535", "*", "65535", TCP, 0),
	OK("08080", "*", "8080", TCP, 0),
	OK("  8080  ", "*", "8080", TCP, 0),
	OK("[]:80", "*", "80", TCP, 0),
	/* unbracketed IPv6: only when the part before the last ':' is one */
	OK("::1:8080", "::1", "8080", TCP, 0),
	OK("fe80::1%lo:80", "fe80::1%lo", "80", TCP, 0),
	OK("fe80:::80", "fe80::", "80", TCP, 0),
	/* the defaults: host, proto, ipv settings */
	OKD("8080", "127.0.0.1", "udp", "4", "127.0.0.1", "8080", UDP, 4),
	OKD("8080", "[::1]", NULL, "6", "::1", "8080", TCP, 6),
	OKD("8080", NULL, "TCP", "*", "*", "8080", TCP, 0),
	OKD("8080/tcp", NULL, "udp", NULL, "*", "8080", TCP, 0),
	OKD("8080|IPv*", NULL, NULL, "4", "*", "8080", TCP, 0),
	OKD(":8080", "10.0.0.1", NULL, NULL, "10.0.0.1", "8080", TCP, 0),
	OKD("/tmp/s", NULL, "udp", NULL, "/tmp/s", "", UNX, 0),
	OKD("ntp", NULL, "udp", NULL, "*", "123", UDP, 0),

	BAD("", "empty port"),
	BAD("   ", "empty port"),
	BAD("99999", "\"99999\": port out of range (0-65535)"),
	BAD("65536", "\"65536\": port out of range (0-65535)"),
	BAD("[::1:80", "\"[::1:80\": unclosed bracket"),
	BAD("host:abc", "\"host:abc\": unknown service \"abc\" for tcp"),
	BAD("localhost:ntp", "\"localhost:ntp\": unknown service \"ntp\" "
	    "for tcp"),
	BAD("host:8080/sctp", "\"host:8080/sctp\": unknown protocol \"sctp\""),
	BAD("host|8080|sctp", "\"host|8080|sctp\": unknown protocol \"sctp\""),
	BAD("8080 foo", "\"8080 foo\": unknown protocol \"foo\""),
	BAD("8080/ipv5", "\"8080/ipv5\": unknown address family \"ipv5\""),
	BAD("localhost:80/tcp/udp", "\"localhost:80/tcp/udp\": protocol "
	    "given twice"),
	BAD("/tmp/x/tcp", "\"/tmp/x/tcp\": a path is a UNIX socket, not tcp"),
	BAD("8080/unix", "\"8080/unix\": a UNIX socket needs an absolute "
	    "path"),
	BAD("::8080", "\"::8080\": ambiguous IPv6 address; write "
	    "[ADDRESS]:PORT"),
	BAD("::1", "\"::1\": ambiguous IPv6 address; write [ADDRESS]:PORT"),
	BAD("[::1]", "\"[::1]\": missing port"),
	BAD("[::1]x80", "\"[::1]x80\": expected \":PORT\" after \"]\""),
	BAD("[::1]:80:90", "\"[::1]:80:90\": bad port \"80:90\""),
	BAD("a b:80", "\"a b:80\": bad host \"a b\""),
	BAD("host:", "\"host:\": missing port"),
	BAD("host:-1", "\"host:-1\": bad port \"-1\""),
	BAD("host:80x", "\"host:80x\": bad port \"80x\""),
	BAD("8080/", "\"8080/\": bad port \"8080/\""),
	BADD("host:8080", NULL, "sctp", NULL, "\"host:8080\": unknown "
	    "protocol \"sctp\" in proto"),
	BADD("8080", NULL, "unix", NULL, "\"8080\": a UNIX socket needs an "
	    "absolute path"),
	BADD("8080", NULL, NULL, "5", "\"8080\": bad ipv \"5\" (4, 6 or *)"),
	BADD("8080", "a b", NULL, NULL, "\"8080\": bad host \"a b\""),
};

START_TEST(test_parse)
{
	const struct parse_case	*pc = &parse_cases[_i];
	struct listen_spec	 sp;
	char			 err[ERRBUF_SIZE] = "";
	int			 rc;

	rc = listen_parse(pc->spec, pc->defhost, pc->defproto, pc->defipv,
	    &sp, err, sizeof(err));
	if (pc->err != NULL) {
		ck_assert_msg(rc == -1, "\"%s\" parsed", pc->spec);
		ck_assert_str_eq(err, pc->err);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\": %s", pc->spec, err);
	ck_assert_str_eq(sp.host, pc->host);
	ck_assert_str_eq(sp.port, pc->port);
	ck_assert_int_eq(sp.proto, pc->proto);
	ck_assert_int_eq(sp.ipv, pc->ipv);
}
END_TEST

START_TEST(test_parse_long_path)
{
	struct listen_spec	sp;
	char			path[200], err[ERRBUF_SIZE], want[400];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[120] = '\0';
	snprintf(want, sizeof(want), "\"%s\": path too long (107 bytes at "
	    "most)", path);
	ck_assert_int_eq(listen_parse(path, NULL, NULL, NULL, &sp, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	path[107] = '\0';	/* the longest that fits sun_path */
	ck_assert_int_eq(listen_parse(path, NULL, NULL, NULL, &sp, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(sp.host, path);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Helpers: a conf from key/value pairs, a private directory, the log. */

static char	tbase[64];		/* this run's, made by the runner */
static char	tdir[128];		/* this test's, inside tbase */

static void	log_to_file(void);

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/*
 * The runner (not a test's process, which a failed check ends at once)
 * makes the base directory and removes it with whatever is left in it.
 */
static void
setup_base(void)
{
	snprintf(tbase, sizeof(tbase), "/tmp/pfsd-listen-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tbase));
}

static void
teardown_base(void)
{
	nftw(tbase, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* A private directory per test; the log goes to its file "log". */
static void
setup_dir(void)
{
	snprintf(tdir, sizeof(tdir), "%s/tXXXXXX", tbase);
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	log_to_file();
}

static void
teardown_dir(void)
{
	nftw(tdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *
tpath(const char *name)
{
	static char	buf[4][PATH_MAX];
	static int	i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tdir, name);
	return buf[i];
}

/* key, value, key, value, ..., NULL: one line each of "t.conf". */
static struct conf *
mkconf(const char *key, ...)
{
	struct conf	*c = conf_new();
	const char	*value;
	va_list		 ap;
	int		 line = 1;

	va_start(ap, key);
	for (; key != NULL; key = va_arg(ap, const char *)) {
		value = va_arg(ap, const char *);
		ck_assert_int_eq(conf_set(c, key, value, CONF_FILE, "t.conf",
		    line++), 0);
	}
	va_end(ap);
	return c;
}

/* Listeners for this conf, which must be valid. */
static struct listener *
configure(struct conf *c, size_t *n)
{
	struct listener	*ls;

	ck_assert_msg(listen_configure(c, &ls, n) == 0, "%s",
	    c->nerrors > 0 ? c->errors[0] : "?");
	ck_assert_uint_eq(c->nerrors, 0);
	return ls;
}

/* Bind the listeners of a one-key conf "port SPEC"... */
static struct listener *
bound(size_t *n, const char *port, ...)
{
	struct conf	*c = conf_new();
	struct listener	*ls;
	char		 err[ERRBUF_SIZE] = "";
	va_list		 ap;
	int		 line = 1;

	va_start(ap, port);
	for (; port != NULL; port = va_arg(ap, const char *))
		ck_assert_int_eq(conf_set(c, "port", port, CONF_FILE,
		    "t.conf", line++), 0);
	va_end(ap);
	ls = configure(c, n);
	conf_free(c);
	ck_assert_msg(listen_bind_all(ls, *n, err, sizeof(err)) == 0, "%s",
	    err);
	return ls;
}

static char *
read_file(const char *path)
{
	static char	buf[8192];
	ssize_t		n;
	int		fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void
log_to_file(void)
{
	char	err[ERRBUF_SIZE];

	ck_assert_int_eq(log_open(tpath("log"), "t", -1, PFSD_LOG_DEBUG,
	    err, sizeof(err)), 0);
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* ------------------------------------------------------------------ */
/* listen_configure */

START_TEST(test_configure_default)
{
	struct conf	*c = conf_new();
	struct listener	*ls;
	size_t		 n;

	ls = configure(c, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ls[0].name, "*:20203/tcp");
	ck_assert_str_eq(ls[0].host, "*");
	ck_assert_int_eq(ls[0].fd, -1);
	ck_assert_int_eq(ls[0].port, 20203);
	ck_assert_int_eq(ls[0].backlog, SOMAXCONN);
	/* dual stack where there is IPv6, IPv4 otherwise */
	ck_assert(ls[0].family == AF_INET6 ? ls[0].v6only == 0 :
	    ls[0].family == AF_INET);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

/* The i-th port takes the i-th host/proto/ipv; the last one repeats. */
START_TEST(test_configure_defaults_repeat)
{
	struct conf	*c;
	struct listener	*ls;
	size_t		 n;

	c = mkconf("port", "1000", "port", "1001", "port", "1002",
	    "port", "[::1]:1003/tcp", "host", "127.0.0.1", "host", "::1",
	    "proto", "udp", "listen", "7", NULL);
	ls = configure(c, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(ls[0].name, "127.0.0.1:1000/udp");
	ck_assert_str_eq(ls[1].name, "[::1]:1001/udp");
	ck_assert_str_eq(ls[2].name, "[::1]:1002/udp");
	ck_assert_str_eq(ls[3].name, "[::1]:1003/tcp");
	ck_assert_int_eq(ls[0].family, AF_INET);
	ck_assert_int_eq(ls[1].family, AF_INET6);
	ck_assert_int_eq(ls[1].v6only, 1);
	ck_assert_int_eq(ls[0].proto, PFSD_PROTO_UDP);
	ck_assert_int_eq(ls[3].proto, PFSD_PROTO_TCP);
	ck_assert_str_eq(ls[2].file, "t.conf");
	ck_assert_int_eq(ls[2].line, 3);
	ck_assert_int_eq(ls[3].backlog, 7);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

START_TEST(test_configure_ipv_repeat)
{
	struct conf	*c;
	struct listener	*ls;
	size_t		 n;

	c = mkconf("port", "2000", "port", "2001", "port", "2002",
	    "ipv", "4", "ipv", "6", NULL);
	ls = configure(c, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ls[0].name, "0.0.0.0:2000/tcp");
	ck_assert_int_eq(ls[0].family, AF_INET);
	ck_assert_str_eq(ls[1].name, "[::]:2001/tcp");
	ck_assert_int_eq(ls[1].family, AF_INET6);
	ck_assert_int_eq(ls[1].v6only, 1);
	ck_assert_str_eq(ls[2].name, "[::]:2002/tcp");
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

START_TEST(test_configure_duplicates)
{
	struct conf	*c;
	struct listener	*ls;
	size_t		 n;

	c = mkconf("port", "127.0.0.1:5000", "port", "127.0.0.1|5000|tcp",
	    "port", "localhost:5000", "port", "127.0.0.1:5000/udp",
	    "port", "/tmp/x.sock", "port", "/tmp/x.sock|unix", "ipv", "4",
	    NULL);
	ls = configure(c, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ls[0].name, "127.0.0.1:5000/tcp");
	ck_assert_int_eq(ls[0].line, 1);
	ck_assert_str_eq(ls[1].name, "127.0.0.1:5000/udp");
	ck_assert_str_eq(ls[2].name, "/tmp/x.sock/unix");
	ck_assert_int_eq(ls[2].family, AF_UNIX);
	ck_assert_int_eq(ls[2].port, 0);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

START_TEST(test_configure_wildcards)
{
	struct conf	*c;
	struct listener	*ls;
	size_t		 n;

	c = mkconf("port", "*:6000", "port", "[::]:6001", "port",
	    "0.0.0.0:6002/udp", NULL);
	ls = configure(c, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ls[0].name, "*:6000/tcp");
	ck_assert_str_eq(ls[1].name, "[::]:6001/tcp");
	ck_assert_int_eq(ls[1].family, AF_INET6);
	ck_assert_int_eq(ls[1].v6only, 0);	/* :: with ipv *: dual */
	ck_assert_str_eq(ls[2].name, "0.0.0.0:6002/udp");
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

static int
socket_without_ipv6(int domain, int type, int protocol)
{
	if (domain == AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return socket(domain, type, protocol);
}

/* "*" on a host without IPv6 is 0.0.0.0, still named "*", and binds. */
START_TEST(test_configure_no_ipv6)
{
	struct listener	*ls;
	size_t		 n;

	listen_socket_fn = socket_without_ipv6;
	ls = bound(&n, "*:0", NULL);
	listen_socket_fn = socket;
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ls[0].family, AF_INET);
	ck_assert_str_eq(ls[0].host, "*");
	ck_assert_int_gt(ls[0].port, 0);
	ck_assert_int_eq(((struct sockaddr_in *)&ls[0].addr)->sin_addr.s_addr,
	    htonl(INADDR_ANY));
	ck_assert_int_ge(ls[0].fd, 0);
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

/* Every bad entry reported, as FILE:LINE: port: ..., and nothing made. */
START_TEST(test_configure_errors)
{
	struct conf	*c;
	struct listener	*ls = (void *)1;
	size_t		 n = 9;
	const char	*want = "t.conf:6: port: \"nosuch.invalid:80\": "
	    "cannot resolve \"nosuch.invalid\": ";

	c = mkconf("port", "99999", "port", "127.0.0.1:80", "port",
	    "[::1]:80", "port", "127.0.0.1:81/ipv6", "port", "host:abc",
	    "port", "nosuch.invalid:80", "ipv", "*", "ipv", "4", NULL);
	ck_assert_int_eq(listen_configure(c, &ls, &n), -1);
	ck_assert_ptr_null(ls);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(c->nerrors, 5);
	ck_assert_str_eq(c->errors[0], "t.conf:1: port: \"99999\": port out "
	    "of range (0-65535)");
	ck_assert_str_eq(c->errors[1], "t.conf:3: port: \"[::1]:80\": ::1 is "
	    "an IPv6 address but ipv is 4");
	ck_assert_str_eq(c->errors[2], "t.conf:4: port: \"127.0.0.1:81/ipv6\": "
	    "127.0.0.1 is an IPv4 address but ipv is 6");
	ck_assert_str_eq(c->errors[3], "t.conf:5: port: \"host:abc\": "
	    "unknown service \"abc\" for tcp");
	ck_assert_msg(strncmp(c->errors[4], want, strlen(want)) == 0, "%s",
	    c->errors[4]);
	conf_free(c);
}
END_TEST

START_TEST(test_print)
{
	struct conf	*c;
	struct listener	*ls;
	size_t		 n, len;
	char		*out;
	FILE		*fp;

	c = mkconf("port", "127.0.0.1:1000/udp", "port", "[::1]:0",
	    "port", "/tmp/p.sock/unix", "port", "7000", NULL);
	ls = configure(c, &n);
	ck_assert_ptr_nonnull(fp = open_memstream(&out, &len));
	listen_print(ls, n, fp);
	fclose(fp);
	ck_assert_str_eq(out, "port 127.0.0.1:1000/udp\nport [::1]:0/tcp\n"
	    "port /tmp/p.sock/unix\nport *:7000/tcp\n");
	free(out);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Binding */

static int
connect_to(int family, const char *addr, int port, int type)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	int			 fd;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		sin->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
	} else {
		sin6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
	}
	ck_assert_int_ge(fd = socket(family, type | SOCK_CLOEXEC, 0), 0);
	if (connect(fd, (struct sockaddr *)&ss, family == AF_INET ?
	    sizeof(*sin) : sizeof(*sin6)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A client reaches the listener: connect, then accept on its fd. */
static void
assert_accepts(const struct listener *l, int family, const char *addr)
{
	int	c, s;

	c = l->family == AF_UNIX ? h_connect_unix(l->host) :
	    connect_to(family, addr, l->port, SOCK_STREAM);
	ck_assert_msg(c >= 0, "connect to %s via %s: %s", l->name, addr,
	    strerror(errno));
	ck_assert_int_ge(s = accept(l->fd, NULL, NULL), 0);
	ck_assert_int_eq(write(c, "x", 1), 1);
	close(c);
	close(s);
}

/* A datagram sent to the listener is read from its fd. */
static void
assert_receives(const struct listener *l, int family, const char *addr)
{
	struct sockaddr_storage	from;
	socklen_t		fromlen = sizeof(from);
	char			buf[16];
	int			c;

	ck_assert_int_ge(c = connect_to(family, addr, l->port, SOCK_DGRAM), 0);
	ck_assert_int_eq(send(c, "ping", 4, 0), 4);
	ck_assert_int_eq(recvfrom(l->fd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &fromlen), 4);
	ck_assert(memcmp(buf, "ping", 4) == 0);
	close(c);
}

START_TEST(test_bind_tcp4)
{
	struct listener	*ls;
	size_t		 n;
	char		 want[64];

	ls = bound(&n, "127.0.0.1:0", NULL);
	ck_assert_int_gt(ls[0].port, 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d/tcp", ls[0].port);
	ck_assert_str_eq(ls[0].name, want);
	ck_assert_int_eq(fcntl(ls[0].fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(ls[0].inherited, 0);
	assert_accepts(&ls[0], AF_INET, "127.0.0.1");
	snprintf(want, sizeof(want), "port 127.0.0.1:0/tcp: bound to "
	    "127.0.0.1:%d/tcp", ls[0].port);
	ck_assert_msg(strstr(read_file(tpath("log")), want) != NULL, "%s",
	    read_file(tpath("log")));
	listen_close_all(ls, n, 1);
	ck_assert_int_eq(ls[0].fd, -1);
	listen_free(ls, n);
}
END_TEST

START_TEST(test_bind_udp4)
{
	struct listener	*ls;
	size_t		 n;

	ls = bound(&n, "127.0.0.1:0/udp", NULL);
	ck_assert_int_gt(ls[0].port, 0);
	assert_receives(&ls[0], AF_INET, "127.0.0.1");
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

START_TEST(test_bind_ipv6)
{
	struct listener	*ls;
	size_t		 n;

	ls = bound(&n, "[::1]:0", "[::1]:0/udp", NULL);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ls[0].family, AF_INET6);
	assert_accepts(&ls[0], AF_INET6, "::1");
	assert_receives(&ls[1], AF_INET6, "::1");
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

/* "*" takes IPv4 and IPv6 clients on one socket; ipv 6 only IPv6. */
START_TEST(test_bind_dual_stack)
{
	struct listener	*ls;
	size_t		 n;
	int		 fd;

	ls = bound(&n, "*:0", "*:0/ipv6", NULL);
	ck_assert_uint_eq(n, 2);
	if (ls[0].family != AF_INET6) {
		listen_close_all(ls, n, 1);
		listen_free(ls, n);
		H_SKIP("no IPv6 on this host");
	}
	assert_accepts(&ls[0], AF_INET, "127.0.0.1");
	assert_accepts(&ls[0], AF_INET6, "::1");
	assert_accepts(&ls[1], AF_INET6, "::1");
	fd = connect_to(AF_INET, "127.0.0.1", ls[1].port, SOCK_STREAM);
	ck_assert_msg(fd == -1, "IPv4 reached an IPV6_V6ONLY socket");
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

START_TEST(test_bind_unix)
{
	struct listener	*ls;
	struct stat	 st;
	size_t		 n;

	ls = bound(&n, tpath("s.sock"), NULL);
	ck_assert_int_eq(ls[0].family, AF_UNIX);
	ck_assert_int_eq(ls[0].unlink_path, 1);
	ck_assert_int_eq(stat(tpath("s.sock"), &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	assert_accepts(&ls[0], AF_UNIX, NULL);
	listen_close_all(ls, n, 0);	/* a child: the file stays */
	ck_assert_int_eq(stat(tpath("s.sock"), &st), 0);
	listen_free(ls, n);

	ls = bound(&n, tpath("s.sock"), NULL);	/* stale now: replaced */
	assert_accepts(&ls[0], AF_UNIX, NULL);
	listen_close_all(ls, n, 1);
	ck_assert_int_eq(stat(tpath("s.sock"), &st), -1);
	listen_free(ls, n);
}
END_TEST

/* A socket file left by a dead server is replaced, and that is logged. */
START_TEST(test_bind_unix_stale)
{
	struct sockaddr_un	 sun;
	struct listener		*ls;
	size_t			 n;
	char			 want[PATH_MAX];
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", tpath("s.sock"));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ls = bound(&n, tpath("s.sock"), NULL);
	assert_accepts(&ls[0], AF_UNIX, NULL);
	snprintf(want, sizeof(want), "%s: removed a socket no one accepts on",
	    tpath("s.sock"));
	ck_assert(strstr(read_file(tpath("log")), want) != NULL);
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

/* A live server's socket, or a file that is not a socket, is kept. */
START_TEST(test_bind_unix_refused)
{
	struct listener	*ls, *ls2;
	struct conf	*c;
	size_t		 n, n2;
	char		 err[ERRBUF_SIZE], want[PATH_MAX + 64];
	struct stat	 st;
	int		 fd;

	ls = bound(&n, tpath("s.sock"), NULL);
	c = mkconf("port", tpath("s.sock"), "port", tpath("f"), NULL);
	ls2 = configure(c, &n2);
	ck_assert_int_eq(listen_bind_all(ls2, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: in use by a running server",
	    tpath("s.sock"));
	ck_assert_str_eq(err, want);
	assert_accepts(&ls[0], AF_UNIX, NULL);	/* still serving */

	ck_assert_int_ge(fd = open(tpath("f"), O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	ck_assert_int_eq(listen_bind_all(ls2 + 1, 1, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: exists and is not a socket",
	    tpath("f"));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(stat(tpath("f"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	listen_free(ls2, n2);
	conf_free(c);
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

/* EADDRINUSE names the socket; what was bound before is closed again. */
START_TEST(test_bind_in_use)
{
	struct listener	*busy, *ls;
	struct conf	*c;
	size_t		 nbusy, n;
	char		 err[ERRBUF_SIZE], port[32], want[128];
	struct stat	 st;

	busy = bound(&nbusy, "127.0.0.1:0", NULL);
	snprintf(port, sizeof(port), "127.0.0.1:%d", busy[0].port);
	c = mkconf("port", "127.0.0.1:0", "port", tpath("a.sock"),
	    "port", port, NULL);
	ls = configure(c, &n);
	ck_assert_int_eq(listen_bind_all(ls, n, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot bind 127.0.0.1:%d/tcp: %s",
	    busy[0].port, strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(ls[0].fd, -1);
	ck_assert_int_eq(ls[1].fd, -1);
	ck_assert_int_eq(ls[2].fd, -1);
	ck_assert_int_eq(stat(tpath("a.sock"), &st), -1);
	listen_free(ls, n);
	conf_free(c);
	listen_close_all(busy, nbusy, 1);
	listen_free(busy, nbusy);
}
END_TEST

START_TEST(test_bind_udp_in_use)
{
	struct listener	*busy, *ls;
	struct conf	*c;
	size_t		 nbusy, n;
	char		 err[ERRBUF_SIZE], port[32], want[128];

	busy = bound(&nbusy, "127.0.0.1:0/udp", NULL);
	snprintf(port, sizeof(port), "127.0.0.1:%d/udp", busy[0].port);
	c = mkconf("port", port, NULL);
	ls = configure(c, &n);
	ck_assert_int_eq(listen_bind_all(ls, n, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot bind 127.0.0.1:%d/udp: %s",
	    busy[0].port, strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	listen_free(ls, n);
	conf_free(c);
	listen_close_all(busy, nbusy, 1);
	listen_free(busy, nbusy);
}
END_TEST

START_TEST(test_chown)
{
	struct listener	*ls;
	struct stat	 st;
	size_t		 n;
	uid_t		 uid = 1;
	gid_t		 gid = 1;

	/* chown to the caller itself would hold whatever listen_chown did */
	if (geteuid() != 0)
		H_SKIP("giving a file to another user needs root");
	ls = bound(&n, tpath("s.sock"), "127.0.0.1:0", NULL);
	ck_assert_int_eq(stat(tpath("s.sock"), &st), 0);
	ck_assert(st.st_uid != uid && st.st_gid != gid);
	ck_assert_int_eq(listen_chown(ls, n, uid, gid), 0);
	ck_assert_int_eq(stat(tpath("s.sock"), &st), 0);
	ck_assert_int_eq(st.st_uid, uid);
	ck_assert_int_eq(st.st_gid, gid);
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

/* The socket file swapped for a symbolic link: the link is chowned, not
 * the file it points to (lchown). */
START_TEST(test_chown_no_follow)
{
	struct listener	*ls;
	struct stat	 st;
	size_t		 n;
	uid_t		 uid = 1;
	gid_t		 gid = 1;
	FILE		*fp;

	if (geteuid() != 0)
		H_SKIP("giving a file to another user needs root");
	ls = bound(&n, tpath("s.sock"), NULL);
	ck_assert_ptr_nonnull(fp = fopen(tpath("target"), "w"));
	fclose(fp);
	ck_assert_int_eq(unlink(tpath("s.sock")), 0);
	ck_assert_int_eq(symlink(tpath("target"), tpath("s.sock")), 0);
	ck_assert_int_eq(listen_chown(ls, n, uid, gid), 0);
	ck_assert_int_eq(stat(tpath("target"), &st), 0);
	ck_assert_int_eq(st.st_uid, geteuid());
	ck_assert_int_eq(lstat(tpath("s.sock"), &st), 0);
	ck_assert_int_eq(st.st_uid, uid);
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Inheritance */

START_TEST(test_env_format)
{
	struct listener	*ls;
	size_t		 n;
	char		*env, want[PATH_MAX + 128];

	ls = bound(&n, "127.0.0.1:0", tpath("a;b c%.sock"), NULL);
	ck_assert_ptr_nonnull(env = listen_env(ls, n));
	/* both bound here: "u" (a systemd socket has none, see parent) */
	snprintf(want, sizeof(want), "%du=127.0.0.1:%d/tcp;%du=%s/a%%3Bb%%20c"
	    "%%25.sock/unix", ls[0].fd, ls[0].port, ls[1].fd, tdir);
	ck_assert_str_eq(env, want);
	free(env);
	listen_close_all(ls, n, 1);
	ck_assert_ptr_nonnull(env = listen_env(ls, n));
	ck_assert_str_eq(env, "");
	free(env);
	listen_free(ls, n);
}
END_TEST

/* Bind, hand over, take back: same descriptors, nothing bound again. */
START_TEST(test_inherit_round_trip)
{
	struct listener	*ls, *ls2;
	struct conf	*c;
	size_t		 n, n2, i;
	char		*env, err[ERRBUF_SIZE] = "";
	struct stat	 st;

	c = mkconf("port", "127.0.0.1:0", "port", "[::1]:0/udp", "port",
	    tpath("s;1.sock"), "port", "*:0", NULL);
	ls = configure(c, &n);
	ck_assert_int_eq(listen_bind_all(ls, n, err, sizeof(err)), 0);
	env = listen_env(ls, n);
	ck_assert_int_eq(setenv(ENV_LISTEN_FDS, env, 1), 0);
	for (i = 0; i < n; i++)		/* as the re-exec leaves them */
		fcntl(ls[i].fd, F_SETFD, 0);

	ls2 = configure(c, &n2);
	ck_assert_uint_eq(n2, n);
	ck_assert_msg(listen_inherit(ls2, n2, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_ptr_null(getenv(ENV_LISTEN_FDS));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(ls2[i].fd, ls[i].fd);
		ck_assert_int_eq(ls2[i].inherited, 1);
		ck_assert_int_eq(ls2[i].port, ls[i].port);
		ck_assert_str_eq(ls2[i].name, ls[i].name);
		ck_assert_int_eq(fcntl(ls2[i].fd, F_GETFD) & FD_CLOEXEC,
		    FD_CLOEXEC);
	}
	ck_assert_int_eq(ls2[2].unlink_path, 1);
	ck_assert_int_eq(listen_bind_all(ls2, n2, err, sizeof(err)), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(ls2[i].fd, ls[i].fd);
	ck_assert_int_eq(stat(tpath("s;1.sock"), &st), 0);
	assert_accepts(&ls2[0], AF_INET, "127.0.0.1");
	assert_receives(&ls2[1], AF_INET6, "::1");
	assert_accepts(&ls2[2], AF_UNIX, NULL);
	listen_close_all(ls2, n2, 1);
	ck_assert_int_eq(stat(tpath("s;1.sock"), &st), -1);
	listen_free(ls2, n2);
	listen_free(ls, n);
	conf_free(c);
	free(env);
}
END_TEST

/* A handed-over socket the new configuration lacks is closed. */
START_TEST(test_inherit_unconfigured)
{
	struct listener	*ls, *ls2;
	struct conf	*c;
	size_t		 n, n2;
	char		*env, err[ERRBUF_SIZE], port[32];

	ls = bound(&n, "127.0.0.1:0", "127.0.0.1:0/udp", NULL);
	env = listen_env(ls, n);
	setenv(ENV_LISTEN_FDS, env, 1);
	snprintf(port, sizeof(port), "127.0.0.1:%d", ls[0].port);
	c = mkconf("port", port, NULL);
	ls2 = configure(c, &n2);
	ck_assert_int_eq(listen_inherit(ls2, n2, err, sizeof(err)), 0);
	ck_assert_int_eq(ls2[0].fd, ls[0].fd);
	ck_assert(!is_open(ls[1].fd));
	listen_close_all(ls2, n2, 1);
	listen_free(ls2, n2);
	listen_free(ls, n);
	conf_free(c);
	free(env);
}
END_TEST

static const struct {
	const char	*value;
	const char	*err;
} garbage[] = {
	{ "abc", "PFSD_LISTEN_FDS: bad entry \"abc\" (expected FD=NAME)" },
	{ "5", "PFSD_LISTEN_FDS: bad entry \"5\" (expected FD=NAME)" },
	{ "5=", "PFSD_LISTEN_FDS: bad entry \"5=\" (expected FD=NAME)" },
	{ "-5=*:80/tcp", "PFSD_LISTEN_FDS: bad entry \"-5=*:80/tcp\" "
	    "(expected FD=NAME)" },
	{ "5x=*:80/tcp", "PFSD_LISTEN_FDS: bad entry \"5x=*:80/tcp\" "
	    "(expected FD=NAME)" },
	{ "99999999999=*:80/tcp", "PFSD_LISTEN_FDS: bad entry "
	    "\"99999999999=*:80/tcp\" (expected FD=NAME)" },
	{ "3=/a%zz/unix", "PFSD_LISTEN_FDS: bad entry \"3=/a%zz/unix\" "
	    "(expected FD=NAME)" },
	{ "3=*:80/tcp;junk", "PFSD_LISTEN_FDS: bad entry \"junk\" "
	    "(expected FD=NAME)" },
};

/* A variable not in the format at all is refused, and cleared. */
START_TEST(test_inherit_garbage)
{
	struct listener	*ls;
	struct conf	*c = mkconf("port", "127.0.0.1:0", NULL);
	size_t		 n;
	char		 err[ERRBUF_SIZE] = "";

	ls = configure(c, &n);
	setenv(ENV_LISTEN_FDS, garbage[_i].value, 1);
	ck_assert_int_eq(listen_inherit(ls, n, err, sizeof(err)), -1);
	ck_assert_str_eq(err, garbage[_i].err);
	ck_assert_ptr_null(getenv(ENV_LISTEN_FDS));
	ck_assert_int_eq(ls[0].fd, -1);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

/*
 * Single bad entries are warnings and left alone: an fd that is not
 * open, not a socket, not the socket its name says, listed twice.
 */
START_TEST(test_inherit_bad_entries)
{
	struct listener	*ls, *other, *ls2;
	struct conf	*c;
	size_t		 n, nother, n2;
	char		 env[512], err[ERRBUF_SIZE], port[32], *log;
	char		 want[256];
	int		 p[2];

	ls = bound(&n, "127.0.0.1:0", NULL);
	other = bound(&nother, "127.0.0.1:0", NULL);
	ck_assert_int_eq(pipe(p), 0);
	snprintf(env, sizeof(env), "900=127.0.0.1:1/tcp;%d=127.0.0.1:2/tcp;"
	    "%d=%s;%d=%s;%d=%s", p[0], other[0].fd, ls[0].name, ls[0].fd,
	    ls[0].name, ls[0].fd, ls[0].name);
	setenv(ENV_LISTEN_FDS, env, 1);
	snprintf(port, sizeof(port), "127.0.0.1:%d", ls[0].port);
	c = mkconf("port", port, "port", "127.0.0.1:0", NULL);
	ls2 = configure(c, &n2);
	ck_assert_int_eq(listen_inherit(ls2, n2, err, sizeof(err)), 0);
	ck_assert_int_eq(ls2[0].fd, ls[0].fd);	/* the good entry */
	ck_assert_int_eq(ls2[1].fd, -1);	/* "other" was not taken */
	ck_assert(is_open(p[0]));
	ck_assert(is_open(other[0].fd));
	log = read_file(tpath("log"));
	ck_assert(strstr(log, "PFSD_LISTEN_FDS: fd 900 (127.0.0.1:1/tcp): "
	    "not open; ignored") != NULL);
	snprintf(want, sizeof(want), "PFSD_LISTEN_FDS: fd %d (127.0.0.1:2/"
	    "tcp): not a socket; ignored", p[0]);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	snprintf(want, sizeof(want), "PFSD_LISTEN_FDS: fd %d (%s): not that "
	    "socket; ignored", other[0].fd, ls[0].name);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	snprintf(want, sizeof(want), "PFSD_LISTEN_FDS: fd %d (%s): listed "
	    "twice; ignored", ls[0].fd, ls[0].name);
	ck_assert_msg(strstr(log, want) != NULL, "%s", log);
	listen_close_all(ls2, n2, 1);
	listen_close_all(other, nother, 1);
	listen_free(ls2, n2);
	listen_free(other, nother);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

/*
 * The address an entry's name gives is never bound twice: a descriptor
 * refused as "not that socket" while the real one still holds the port
 * makes the bind fail, it does not make a second socket.
 */
START_TEST(test_inherit_never_twice)
{
	struct listener	*ls, *ls2;
	struct conf	*c;
	size_t		 n, n2;
	char		 env[256], err[ERRBUF_SIZE], port[32], want[128];
	int		 udp;

	ls = bound(&n, "127.0.0.1:0", "127.0.0.1:0/udp", NULL);
	udp = ls[1].fd;
	snprintf(env, sizeof(env), "%d=%s", udp, ls[0].name);
	setenv(ENV_LISTEN_FDS, env, 1);
	snprintf(port, sizeof(port), "127.0.0.1:%d", ls[0].port);
	c = mkconf("port", port, NULL);
	ls2 = configure(c, &n2);
	ck_assert_int_eq(listen_inherit(ls2, n2, err, sizeof(err)), 0);
	ck_assert_int_eq(ls2[0].fd, -1);
	ck_assert(is_open(udp));
	ck_assert_int_eq(listen_bind_all(ls2, n2, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "cannot bind %s: %s", ls[0].name,
	    strerror(EADDRINUSE));
	ck_assert_str_eq(err, want);
	listen_free(ls2, n2);
	listen_close_all(ls, n, 1);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

/*
 * systemd: fds 3.. for LISTEN_PID.  Done in a child of the test, which
 * may put its sockets at 3 and 4 whatever Check keeps there; it reports
 * the first failed step as its exit status.
 */
static int
systemd_child(void)
{
	struct listener	*ls, *mk;
	struct conf	*c;
	size_t		 n, nmk;
	char		 err[ERRBUF_SIZE], port[32], pid[32];

	mk = bound(&nmk, "127.0.0.1:0", "127.0.0.1:0/udp", NULL);
	snprintf(port, sizeof(port), "127.0.0.1:%d", mk[0].port);
	c = mkconf("port", port, NULL);
	/* No ck_assert from here: Check's own descriptor may be 3 or 4. */
	if (dup2(mk[0].fd, 3) != 3 || dup2(mk[1].fd, 4) != 4)
		return 1;
	close(mk[0].fd);
	close(mk[1].fd);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "a:b", 1);
	if (listen_configure(c, &ls, &n) != 0 || n != 1)
		return 2;
	if (listen_inherit(ls, n, err, sizeof(err)) != 0)
		return 3;
	if (ls[0].fd != 3 || !ls[0].inherited || ls[0].unlink_path)
		return 4;
	if (is_open(4) || !(fcntl(3, F_GETFD) & FD_CLOEXEC))
		return 5;
	if (getenv("LISTEN_FDS") != NULL || getenv("LISTEN_PID") != NULL ||
	    getenv("LISTEN_FDNAMES") != NULL)
		return 6;
	return 0;
}

START_TEST(test_inherit_systemd)
{
	pid_t	pid;
	int	status;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(systemd_child());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "systemd child: wait status %#x (exit: the step that failed)",
	    status);
}
END_TEST

/* LISTEN_FDS for another pid is not ours; garbage in it is an error. */
START_TEST(test_inherit_systemd_other)
{
	struct listener	*ls;
	struct conf	*c = mkconf("port", "127.0.0.1:0", NULL);
	size_t		 n;
	char		 err[ERRBUF_SIZE], pid[32], want[128];

	ls = configure(c, &n);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(listen_inherit(ls, n, err, sizeof(err)), 0);
	ck_assert_int_eq(ls[0].fd, -1);
	ck_assert_ptr_null(getenv("LISTEN_FDS"));

	setenv("LISTEN_PID", "12x", 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(listen_inherit(ls, n, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "LISTEN_PID=12x LISTEN_FDS=1: not a pid and a "
	    "number of descriptors");
	ck_assert_ptr_null(getenv("LISTEN_PID"));

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2147483647", 1);
	ck_assert_int_eq(listen_inherit(ls, n, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "LISTEN_PID=%s LISTEN_FDS=2147483647: "
	    "not a pid and a number of descriptors", pid);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(ls[0].fd, -1);
	listen_free(ls, n);
	conf_free(c);
}
END_TEST

/* systemd socket activation: pfsd serves on the socket it was handed
 * (fd 3, LISTEN_FDS=1, LISTEN_PID=its pid) and binds nothing itself. */
START_TEST(test_socket_activation)
{
	struct stat		 st;
	char			 arg[64], link[64], want[64], got[64], buf[64];
	pid_t			 pid;
	ssize_t			 n;
	int			 fd, status, port;

	fd = h_listen_tcp(&port);
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

static int	srv_port;

/* One echo round trip on a new connection. */
static void
echo_ok(const char *line)
{
	h_talk_ok(srv_port, line, line);
}

/*
 * Garbage in the variables that hand sockets over: PFSD_LISTEN_FDS (from
 * a HUP's re-exec) and systemd's LISTEN_FDS/LISTEN_PID.  Each error as
 * logged, after "error: ".
 */
#define BAD_ENTRY(e)	"PFSD_LISTEN_FDS: bad entry \"" e "\" (expected FD=NAME)"
#define NOT_SYSTEMD(p, f) \
	"LISTEN_PID=" p " LISTEN_FDS=" f ": not a pid and a number of " \
	"descriptors"
static const struct {
	const char	*env[2];	/* NAME=VALUE */
	const char	*error;
} fds_garbage[] = {
	{ { "PFSD_LISTEN_FDS=fds_garbage" }, BAD_ENTRY("fds_garbage") },
	{ { "PFSD_LISTEN_FDS=3" }, BAD_ENTRY("3") },
	{ { "PFSD_LISTEN_FDS=3=" }, BAD_ENTRY("3=") },
	{ { "PFSD_LISTEN_FDS==127.0.0.1:1/tcp" }, BAD_ENTRY("=127.0.0.1:1/tcp") },
	{ { "PFSD_LISTEN_FDS=-3=127.0.0.1:1/tcp" },
	    BAD_ENTRY("-3=127.0.0.1:1/tcp") },
	{ { "PFSD_LISTEN_FDS=3u" }, BAD_ENTRY("3u") },
	{ { "PFSD_LISTEN_FDS=3x=a" }, BAD_ENTRY("3x=a") },
	{ { "PFSD_LISTEN_FDS=3=%zz" }, BAD_ENTRY("3=%zz") },
	{ { "PFSD_LISTEN_FDS=3=%4" }, BAD_ENTRY("3=%4") },
	{ { "PFSD_LISTEN_FDS=99999999999=a" }, BAD_ENTRY("99999999999=a") },
	{ { "PFSD_LISTEN_FDS=3=a;4=b;junk" }, BAD_ENTRY("junk") },
	{ { "LISTEN_PID=abc", "LISTEN_FDS=1" }, NOT_SYSTEMD("abc", "1") },
	{ { "LISTEN_PID=1", "LISTEN_FDS=-1" }, NOT_SYSTEMD("1", "-1") },
	{ { "LISTEN_PID=1", "LISTEN_FDS=1x" }, NOT_SYSTEMD("1", "1x") },
	{ { "LISTEN_PID=1", "LISTEN_FDS=99999999999" },
	    NOT_SYSTEMD("1", "99999999999") },
};

/* Start pfsd on srv_port (already chosen) with env (NAME=VALUE) set. */
static void
start_inheriting(struct hproc *p, const char *const *env, size_t nenv,
    const char *const *extra)
{
	const char	*av[16];
	char		 name[64], portarg[64];
	size_t		 n = 0, i;

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", srv_port);
	av[n++] = portarg;
	while (extra != NULL && *extra != NULL && n < 15)
		av[n++] = *extra++;
	av[n] = NULL;
	for (i = 0; i < nenv && env[i] != NULL; i++)
		ck_assert_int_eq(putenv(UNCONST(env[i])), 0);
	ck_assert_int_eq(h_start(p, av), 0);
	for (i = 0; i < nenv && env[i] != NULL; i++) {
		snprintf(name, sizeof(name), "%.*s",
		    (int)strcspn(env[i], "="), env[i]);
		unsetenv(name);
	}
}

/*
 * Refused clearly and at once (exit 69, EX_UNAVAILABLE), before binding:
 * the hooks handler logs post_bind_hook after the bind, and it never ran.
 */
START_TEST(test_listen_fds_garbage)
{
	struct hproc	 p;
	char		 hl[600], want[256], *hooks;
	const char	*av[] = { "--handler=" TPLUGIN("hooks"),
			    "--max_servers=1", hl, NULL };
	int		 status;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	srv_port = h_free_port();
	start_inheriting(&p, fds_garbage[_i].env, 2, av);
	status = h_wait_exit(&p, 10000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 69,
	    "status %#x; log:\n%s", status, h_log_tail(&p));
	snprintf(want, sizeof(want), "error: %s", fds_garbage[_i].error);
	ck_assert_msg(h_log_has(&p, want), "no '%s' in:\n%s", want,
	    h_log_tail(&p));
	ck_assert_ptr_nonnull(hooks = h_read_file(h_path("hooks.log")));
	ck_assert_ptr_nonnull(strstr(hooks, "post_configure_hook"));
	ck_assert_ptr_null(strstr(hooks, "post_bind_hook"));
	free(hooks);
	ck_assert_int_eq(h_connect_tcp("127.0.0.1", srv_port), -1);
	close(p.notify_fd);
}
END_TEST

/* A listening socket on 127.0.0.1:lport, at descriptor at. */
static void
listener_at(int lport, int at)
{
	struct sockaddr_in	sin;
	int			fd, on = 1;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)lport);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(dup2(fd, at), at);
	close(fd);
}

/*
 * Entries that look right but name no usable socket (a file, a closed
 * descriptor, a socket on another srv_port): each a warning; pfsd binds the
 * srv_port itself, once.
 */
START_TEST(test_listen_fds_not_sockets)
{
	struct hproc	 p;
	char		 env[256], want[256];
	const char	*envs[] = { env };
	const char	*av[] = { "--handler=echo", "--max_servers=1", NULL };
	int		 other = h_free_port(), fd, i;
	static const struct {
		int		 fd;
		const char	*why;
	} bad[] = {
		{ 50, "not a socket" }, { 77, "not open" },
		{ 51, "not that socket" },
	};

	srv_port = h_free_port();
	ck_assert_int_ge(fd = open("/dev/null", O_RDONLY), 0);
	ck_assert_int_eq(dup2(fd, 50), 50);
	close(fd);
	close(77);
	listener_at(other, 51);
	snprintf(env, sizeof(env), "PFSD_LISTEN_FDS=50=127.0.0.1:%d/tcp;"
	    "77=127.0.0.1:%d/tcp;51=127.0.0.1:%d/tcp", srv_port, srv_port, srv_port);
	start_inheriting(&p, envs, 1, av);
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "not ready:\n%s",
	    h_log_tail(&p));
	for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
		snprintf(want, sizeof(want), "warning: PFSD_LISTEN_FDS: fd %d "
		    "(127.0.0.1:%d/tcp): %s; ignored", bad[i].fd, srv_port,
		    bad[i].why);
		ck_assert_msg(h_log_has(&p, want), "no '%s' in:\n%s", want,
		    h_log_tail(&p));
	}
	echo_ok("bound\n");
	ck_assert_int_eq(h_listeners_on(srv_port), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(h_listeners_on(srv_port), 0);
	close(50);
	close(51);
}
END_TEST

/*
 * A good entry is taken over, not bound again (pfsd would fail with
 * EADDRINUSE, or make a second listener); the same descriptor listed
 * twice is a warning.
 */
START_TEST(test_listen_fds_inherited_once)
{
	struct hproc	 p;
	char		 env[256], want[256];
	const char	*envs[] = { env };
	const char	*av[] = { "--handler=echo", "--max_servers=1",
			    "--log_level=3", NULL };

	srv_port = h_free_port();
	listener_at(srv_port, 52);
	snprintf(env, sizeof(env), "PFSD_LISTEN_FDS=52=127.0.0.1:%d/tcp;"
	    "52=127.0.0.1:%d/tcp", srv_port, srv_port);
	start_inheriting(&p, envs, 1, av);
	close(52);		/* pfsd has its own */
	ck_assert_msg(h_wait_ready(&p, H_READY_MS) == 0, "not ready:\n%s",
	    h_log_tail(&p));
	snprintf(want, sizeof(want), "port 127.0.0.1:%d/tcp: inherited fd 52",
	    srv_port);
	ck_assert(h_log_has(&p, want));
	snprintf(want, sizeof(want), "warning: PFSD_LISTEN_FDS: fd 52 "
	    "(127.0.0.1:%d/tcp): listed twice; ignored", srv_port);
	ck_assert(h_log_has(&p, want));
	echo_ok("inherited\n");
	ck_assert_int_eq(h_listeners_on(srv_port), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* A port entry of 600 characters: the reason is not cut off. */
START_TEST(test_long_port_error_whole)
{
	char		 parg[1024], out[4096];
	const char	*av[] = { "-t", "--handler=echo", parg, NULL };
	int		 n;

	n = snprintf(parg, sizeof(parg), "--port=127.0.0.1:");
	memset(parg + n, '9', 600);
	parg[n + 600] = '\0';
	h_assert_refused(h_run(av, out, sizeof(out)), out, "...\" (610 "
	    "characters): too long (at most 511 characters)\n");
	parg[n + 400] = '\0';
	h_assert_refused(h_run(av, out, sizeof(out)), out, "...\" (410 "
	    "characters): port out of range");
}
END_TEST

/*
 * handshakes_pending counts the handshakes under way on pfsd's TCP
 * listeners: a listener whose filter drops the client's last ACK keeps
 * the connection in SYN_RECV, where the kernel's socket diagnostics see
 * it -- on that port, and not on another.
 */
START_TEST(test_handshakes_pending_counts_syn_recv)
{
	struct sock_filter	 ack[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x10, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),		/* a bare ACK: drop */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff)
	};
	struct sock_fprog	 prog = { nitems(ack), ack };
	struct sockaddr_in	 sin;
	struct listener		 l[2];
	socklen_t		 len = sizeof(sin);
	long long		 end;
	int			 c, n = 0;

	memset(l, 0, sizeof(l));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l[0].fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l[0].fd, (struct sockaddr *)&sin, len), 0);
	ck_assert_int_eq(listen(l[0].fd, 8), 0);
	ck_assert_int_eq(getsockname(l[0].fd, (struct sockaddr *)&sin, &len),
	    0);
	l[0].proto = PFSD_PROTO_TCP;
	l[0].family = AF_INET;
	l[0].port = ntohs(sin.sin_port);
	l[1] = l[0];
	l[1].port = h_free_port();
	ck_assert_int_eq(handshakes_pending(l, 1), 0);
	ck_assert_int_eq(setsockopt(l[0].fd, SOL_SOCKET, SO_ATTACH_FILTER,
	    &prog, sizeof(prog)), 0);
	ck_assert_int_ge(c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
	    0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, len), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	/* the client's ACK is sent from softirq context: soon, not now */
	for (end = h_now_ms() + 2000; h_now_ms() < end; poll(NULL, 0, 5))
		if ((n = handshakes_pending(l, 1)) != 0)
			break;
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(handshakes_pending(&l[1], 1), 0);
	ck_assert_int_eq(handshake_hold(l[0].fd, 0), 0);
	close(c);
	close(l[0].fd);
}
END_TEST

Suite *
listen_suite(void)
{
	Suite	*s = suite_create("listen");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse, 0, (int)nitems(parse_cases));
	tcase_add_test(tc, test_parse_long_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("configure");
	tcase_add_test(tc, test_configure_default);
	tcase_add_test(tc, test_configure_defaults_repeat);
	tcase_add_test(tc, test_configure_ipv_repeat);
	tcase_add_test(tc, test_configure_duplicates);
	tcase_add_test(tc, test_configure_wildcards);
	tcase_add_test(tc, test_configure_errors);
	tcase_add_test(tc, test_print);
	suite_add_tcase(s, tc);

	tc = tcase_create("bind");
	tcase_add_unchecked_fixture(tc, setup_base, teardown_base);
	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, test_bind_tcp4);
	tcase_add_test(tc, test_configure_no_ipv6);
	tcase_add_test(tc, test_bind_udp4);
	tcase_add_test(tc, test_bind_ipv6);
	tcase_add_test(tc, test_bind_dual_stack);
	tcase_add_test(tc, test_bind_unix);
	tcase_add_test(tc, test_bind_unix_stale);
	tcase_add_test(tc, test_bind_unix_refused);
	tcase_add_test(tc, test_bind_in_use);
	tcase_add_test(tc, test_bind_udp_in_use);
	tcase_add_test(tc, test_chown);
	tcase_add_test(tc, test_chown_no_follow);
	tcase_add_test(tc, test_handshakes_pending_counts_syn_recv);
	suite_add_tcase(s, tc);

	tc = tcase_create("inherit");
	tcase_add_unchecked_fixture(tc, setup_base, teardown_base);
	tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, test_env_format);
	tcase_add_test(tc, test_inherit_round_trip);
	tcase_add_test(tc, test_inherit_unconfigured);
	tcase_add_loop_test(tc, test_inherit_garbage, 0, (int)nitems(garbage));
	tcase_add_test(tc, test_inherit_bad_entries);
	tcase_add_test(tc, test_inherit_never_twice);
	tcase_add_test(tc, test_inherit_systemd);
	tcase_add_test(tc, test_inherit_systemd_other);
	suite_add_tcase(s, tc);

	tc = tcase_create("activation");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_long_port_error_whole);
	tcase_add_loop_test(tc, test_listen_fds_garbage, 0,
	    (int)(sizeof(fds_garbage) / sizeof(fds_garbage[0])));
	tcase_add_test(tc, test_listen_fds_not_sockets);
	tcase_add_test(tc, test_listen_fds_inherited_once);
	suite_add_tcase(s, tc);
	return s;
}
