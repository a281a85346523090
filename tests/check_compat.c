/*
 * check_compat.c - integration tests of what a Net::Server configuration
 * means to pfsd: Perl regexes in allow/deny served for real, their
 * errors at -t, and the Net::Server settings pfsd refuses with a message
 * that says what to use instead.
 */
#include <sys/wait.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define READY_MS	10000

Suite	*compat_suite(void);

static int	port;

/* pfsd on 127.0.0.1 with the echo handler and BODY added to its conf. */
static void
start_conf(struct hproc *p, const char *body)
{
	char		conf[512];
	const char	*av[] = { "-c", conf, NULL };

	port = h_free_port();
	snprintf(conf, sizeof(conf), "%s", h_write("pfsd.conf",
	    "handler echo\nport 127.0.0.1:%d\nmax_servers 1\nlog_level 3\n"
	    "log_file %s\n%s", port, h_path("pfsd.log"), body));
	ck_assert_int_eq(h_start(p, av), 0);
	ck_assert_msg(h_wait_ready(p, READY_MS) == 0, "not ready:\n%s",
	    h_read_file(h_path("pfsd.log")));
}

static int
wait_log(const char *s, int ms)
{
	char	*log;
	int	 found;

	for (; ms > 0; ms -= 10) {
		log = h_read_file(h_path("pfsd.log"));
		found = log != NULL && strstr(log, s) != NULL;
		free(log);
		if (found)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * Is the loopback client served (echoed) or turned away (nothing, or a
 * reset: pfsd closes a denied connection with "hello" unread)?
 */
static int
served(void)
{
	char	buf[64];
	ssize_t	n;

	n = h_talk("127.0.0.1", port, "hello\n", buf, sizeof(buf));
	if (n <= 0)
		return 0;
	ck_assert_str_eq(buf, "hello\n");
	return 1;
}

/* \d is a digit, as in Perl: glibc's ERE took it for a literal 'd'. */
START_TEST(test_allow_perl_digit)
{
	struct hproc	p;

	start_conf(&p, "allow 127\\.0\\.0\\.\\d+\n");
	ck_assert_int_eq(served(), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

static const struct {
	const char	*rules;
	int		 served;
} deny_cases[] = {
	{ "allow 10\\.\\d+\\.\\d+\\.\\d+\n", 0 },	/* not this peer */
	{ "deny 127(?:\\.\\d{1,3}){3}\n", 0 },
	{ "deny (?!127\\.)\\d+\\..*\n", 1 },		/* lookahead */
	{ "allow \\d+\\.\\d+\\.\\d+\\.\\d+\n"
	  "deny 127\\.0\\.0\\.1\n", 0 },			/* deny first */
	{ "allow (?i)LOCALHOST|127\\.0\\.0\\.1\n", 1 },
	{ "allow 127\\.0\\.0\\.1|10\\.0\\.0\\.1\n", 1 },	/* ^a or b$ */
	{ "allow 127\\.0\\.0\\.|10\\.0\\.0\\.1\n", 1 },	/* as Net::Server */
	{ "allow (?:127\\.0\\.0\\.|10\\.0\\.0\\.1)\n", 0 },
};

START_TEST(test_allow_deny_served)
{
	struct hproc	p;

	start_conf(&p, deny_cases[_i].rules);
	ck_assert_msg(served() == deny_cases[_i].served, "%s",
	    deny_cases[_i].rules);
	if (!deny_cases[_i].served)
		ck_assert_int_eq(wait_log("127.0.0.1 port", 5000) == 0 &&
		    wait_log(": denied", 5000) == 0, 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Run pfsd -t on a conf with BODY; its exit code, output in out. */
static int
check_conf(const char *body, char *out, size_t len)
{
	char		conf[512];
	const char	*av[] = { "-t", "-c", conf, NULL };
	int		status;

	snprintf(conf, sizeof(conf), "%s", h_write("t.conf",
	    "handler echo\nport 127.0.0.1:1\n%s", body));
	status = h_run(av, out, len);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* A broken pattern is refused at -t with its line, key and offset. */
START_TEST(test_pattern_error)
{
	char	out[4096], want[1024];

	ck_assert_int_eq(check_conf("allow 127\\.(\\d+\n", out, sizeof(out)),
	    78);
	snprintf(want, sizeof(want), "%s:3: allow: \"127\\.(\\d+\": at "
	    "offset 9: missing closing parenthesis", h_path("t.conf"));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);

	ck_assert_int_eq(check_conf("deny x(?<=a+)\n", out, sizeof(out)), 78);
	ck_assert_msg(strstr(out, ":3: deny: \"x(?<=a+)\": at offset ") !=
	    NULL && strstr(out, "lookbehind") != NULL, "%s", out);

	ck_assert_int_eq(check_conf("allow a|b\n", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out,
	    ":3: warning: allow: \"a|b\": '|' outside a group")
	    != NULL, "%s", out);
}
END_TEST

/*
 * Net::Server settings pfsd does not take: refused at -t, on their line,
 * saying what to use instead, and not also called "unknown".
 */
static const struct {
	const char	*body;		/* line 3 of the conf */
	const char	*want;		/* after "FILE:3: " */
} refusals[] = {
	{ "log_file Log::Log4perl\n", "log_file: Log::Log4perl is a Perl "
	  "logger Net::Server loads; pfsd cannot: use \"log_file PATH\", "
	  "\"log_file syslog\"" },
	{ "log4perl_conf /etc/log4perl.conf\n", "log4perl_conf: a "
	  "Log::Log4perl setting of Net::Server; pfsd does not use "
	  "Log::Log4perl: use \"log_file PATH\"" },
	{ "log4perl_poll 10\n", "log4perl_poll: a Log::Log4perl setting" },
	{ "log_file My::Own::Logger\n", "log_file: \"My::Own::Logger\" names "
	  "a Net::Server logging module; pfsd has none" },
	{ "log_function mylog\n", "log_function: Net::Server's Perl logging "
	  "callback; pfsd has none" },
	{ "port /tmp/ns.sock|unixdgram\n", "port: \"/tmp/ns.sock|unixdgram\": "
	  "UNIX datagram sockets are not supported: use a stream UNIX socket "
	  "(PATH/unix) or a UDP port (HOST:PORT/udp)" },
	{ "port /tmp/ns.sock|SOCK_DGRAM|unix\n", "port: "
	  "\"/tmp/ns.sock|SOCK_DGRAM|unix\": UNIX datagram sockets are not "
	  "supported" },
	{ "unix_type SOCK_DGRAM\n", "unix_type: UNIX datagram sockets "
	  "(Net::Server's UNIXDGRAM) are not supported" },
	{ "unix_type datagram\n", "unix_type: \"datagram\" is not "
	  "SOCK_STREAM or SOCK_DGRAM" },
};

START_TEST(test_refused)
{
	char	out[4096], want[1024];

	ck_assert_int_eq(check_conf(refusals[_i].body, out, sizeof(out)), 78);
	snprintf(want, sizeof(want), "%s:3: %s", h_path("t.conf"),
	    refusals[_i].want);
	ck_assert_msg(strstr(out, want) != NULL, "want %s in:\n%s", want, out);
	ck_assert_msg(strstr(out, "unknown key") == NULL, "%s", out);
}
END_TEST

/* The Net::Server forms pfsd takes as they are. */
START_TEST(test_accepted)
{
	char	out[4096];

	ck_assert_int_eq(check_conf("log_file Sys::Syslog\n"
	    "unix_type SOCK_STREAM\nport /tmp/ns.sock|SOCK_STREAM|unix\n", out,
	    sizeof(out)), 0);
	ck_assert_msg(strstr(out, "unknown key") == NULL, "%s", out);
}
END_TEST

Suite *
compat_suite(void)
{
	Suite	*s = suite_create("compat");
	TCase	*tc;

	tc = tcase_create("access");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_allow_perl_digit);
	tcase_add_loop_test(tc, test_allow_deny_served, 0,
	    (int)(sizeof(deny_cases) / sizeof(deny_cases[0])));
	tcase_add_test(tc, test_pattern_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_loop_test(tc, test_refused, 0,
	    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_accepted);
	suite_add_tcase(s, tc);
	return s;
}
