/*
 * check_compat.c - integration tests of what a Net::Server configuration
 * and handler mean to pfsd: Perl regexes in allow/deny served for real,
 * their errors at -t, the Net::Server settings pfsd refuses with a
 * message that says what to use instead, and the Net::Server hooks,
 * called in order with their arguments across start, requests,
 * TTIN/TTOU, a crash, HUP, QUIT and TERM (tests/plugins/hooks.c logs
 * every call).
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"


Suite	*compat_suite(void);

static int	port;

/* pfsd on 127.0.0.1 with the echo handler and BODY added to its conf. */
static void
start_conf(struct hproc *p, const char *body)
{
	char	conf[1024];

	snprintf(conf, sizeof(conf), "handler echo\nmax_servers 1\n"
	    "log_level 3\n%s", body);
	port = h_serve_conf(p, conf);
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
		ck_assert_int_eq(h_wait_log(&p, "127.0.0.1 port", 5000) == 0 &&
		    h_wait_log(&p, ": denied", 5000) == 0, 1);
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
	{ "syslog_logsock udp\n", "syslog_logsock: Sys::Syslog's choice of "
	  "socket; pfsd logs through syslog(3)" },
	{ "syslog_logopt pid,cons\n", "syslog_logopt: Sys::Syslog's openlog "
	  "options" },
	{ "tied_stdin_callback foo\n", "tied_stdin_callback: a Perl callback" },
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
	{ "udp_recv_flags 2\n", "udp_recv_flags: 2 includes MSG_PEEK (2), "
	  "which leaves each datagram queued" },
	{ "sig_passthrough USR2,KILL\n", "sig_passthrough: \"KILL\" cannot be "
	  "caught" },
	{ "sig_passthrough TERM\n", "sig_passthrough: \"TERM\" stops pfsd, "
	  "which then stops the children itself" },
	{ "sig_passthrough SIGFOO\n", "sig_passthrough: \"SIGFOO\": not a "
	  "signal" },
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
	    "unix_type SOCK_STREAM\nport /tmp/ns.sock|SOCK_STREAM|unix\n"
	    "sig_passthrough USR2, SIGWINCH,28\nudp_recv_len 4096\n"
	    "udp_recv_flags 32\n", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "unknown key") == NULL, "%s", out);
}
END_TEST

/* ---------------------------------------------------------------- */

/* pfsd with the hooks handler on 127.0.0.1, hook_log, and BODY. */
static void
start_hooks(struct hproc *p, const char *body)
{
	char	line[600];

	snprintf(line, sizeof(line), "handler %s\nhook_log %s\n%s",
	    TPLUGIN("hooks"), h_path("hooks.log"), body);
	start_conf(p, line);
}

/* Wait for a line of the hook log that contains every one of the words
 * (NULL-ended) in order; the line, malloc'd, or NULL after ms. */
static char *
hook_line(int ms, const char *first, ...)
{
	const char	*w[8];
	char		*log, *line, *save, *pos, *found = NULL;
	va_list		 ap;
	size_t		 n = 0, i;

	va_start(ap, first);
	for (w[n++] = first; n < 8 && (w[n] = va_arg(ap, const char *)) !=
	    NULL; n++)
		;
	va_end(ap);
	for (; ms > 0 && found == NULL; ms -= 10) {
		if ((log = h_read_file(h_path("hooks.log"))) == NULL) {
			usleep(10000);
			continue;
		}
		for (line = strtok_r(log, "\n", &save); line != NULL &&
		    found == NULL; line = strtok_r(NULL, "\n", &save)) {
			for (i = 0, pos = line; i < n && pos != NULL; i++)
				if ((pos = strstr(pos, w[i])) != NULL)
					pos += strlen(w[i]);
			if (pos != NULL)
				found = strdup(line);
		}
		free(log);
		if (found == NULL)
			usleep(10000);
	}
	return found;
}

/* Count the lines that start with "HOOK PID ". */
static int
hook_count(const char *hook, long pid)
{
	char	*log, *line, *save, want[96];
	int	 n = 0;

	snprintf(want, sizeof(want), "%s %ld ", hook, pid);
	if ((log = h_read_file(h_path("hooks.log"))) == NULL)
		return 0;
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		n += strncmp(line, want, strlen(want)) == 0;
	free(log);
	return n;
}

/* The hooks process pid called, in order, as "hook hook ...". */
static char *
hooks_of(long pid)
{
	static char	 out[4096];
	char		*log, *line, *save, name[64];
	long		 lp, lpp;

	out[0] = '\0';
	if ((log = h_read_file(h_path("hooks.log"))) == NULL)
		return out;
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %ld %ld", name, &lp, &lpp) == 3 &&
		    lp == pid && strcmp(name, "idle_loop_hook") != 0) {
			strncat(out, name, sizeof(out) - strlen(out) - 2);
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		}
	}
	free(log);
	return out;
}

/* The pid named "child=PID" in a hook line. */
static long
child_of(const char *line)
{
	const char	*s;

	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(s = strstr(line, "child="));
	return strtol(s + 6, NULL, 10);
}

/* Does s contain the words in this order? */
static int
in_order(const char *s, const char *const *words)
{
	for (; *words != NULL; words++) {
		if ((s = strstr(s, *words)) == NULL)
			return 0;
		s += strlen(*words);
	}
	return 1;
}

#define HOOK_MS		10000

/*
 * One server's life: start, a request, TTIN/TTOU, a crash, HUP, QUIT,
 * each hook in the process and order Net::Server calls it, with its
 * arguments.
 */
START_TEST(test_hooks_lifecycle)
{
	struct hproc	 p;
	char		*l, pp[32], buf[64], *seq;
	long		 a, b, gone, left;
	int		 fd;
	static const char *const start_order[] = {
		"configure_hook", "post_configure_hook", "post_bind_hook",
		"pre_loop_hook", "run_n_children_hook", "pre_fork_hook",
		"register_child", NULL
	};
	static const char *const request_order[] = {
		"child_init_hook", "post_accept_hook", "allow_deny_hook",
		"process_request", "post_process_request_hook",
		"post_client_connection_hook", NULL
	};
	static const char *const hup_order[] = {
		"pre_server_close_hook", "restart_close_hook",
		"configure_hook", "post_configure_hook", "restart_open_hook",
		"post_bind_hook", "pre_loop_hook", "run_n_children_hook",
		"pre_fork_hook", "register_child", NULL
	};
	static const char *const quit_order[] = {
		"pre_server_close_hook", "delete_child_hook", NULL
	};

	start_hooks(&p, "max_servers 1\nspawn_other 1\n");
	snprintf(pp, sizeof(pp), " %ld ", (long)p.pid);

	/* start: the parent's hooks; the child it registered */
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "register_child", pp,
	    "child=", " worker", NULL));
	a = child_of(l);
	free(l);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "pre_fork_hook", pp,
	    "worker", NULL));
	free(l);
	ck_assert_msg(in_order(hooks_of(p.pid), start_order), "%s",
	    hooks_of(p.pid));
	/* a process the handler forked itself: not one of the pool */
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "other_child_died_hook",
	    pp, "exit=7", NULL));
	free(l);

	/* a request: the child's hooks, allowed=1 */
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
	    sizeof(buf)), 6);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS,
	    "post_client_connection_hook", NULL));
	free(l);
	ck_assert_msg(in_order(hooks_of(a), request_order), "%s",
	    hooks_of(a));
	snprintf(buf, sizeof(buf), "post_process_request_hook %ld ", a);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, buf, "allowed=1",
	    NULL));
	free(l);
	snprintf(buf, sizeof(buf), "child_init_hook %ld ", a);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, buf, " worker", NULL));
	free(l);

	/* TTIN: one more child registered; TTOU: one ends, finish hook */
	kill(p.pid, SIGTTIN);
	ck_assert_int_eq(h_wait_children(p.pid, 2, HOOK_MS), 0);
	for (fd = 0; fd < 1000 && hook_count("register_child", p.pid) < 2;
	    fd++)
		usleep(10000);
	ck_assert_int_eq(hook_count("register_child", p.pid), 2);
	kill(p.pid, SIGTTOU);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "delete_child_hook", pp,
	    "child=", "exit=0", NULL));
	gone = child_of(l);
	free(l);
	ck_assert_int_eq(hook_count("child_finish_hook", gone), 1);

	/* a crash: the parent sees the signal; a replacement is registered */
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "crash\n", 6), 6);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "delete_child_hook", pp,
	    "signal=6", NULL));
	left = child_of(l);
	free(l);
	close(fd);
	ck_assert_int_ne(left, gone);
	for (fd = 0; fd < 1000 && hook_count("register_child", p.pid) < 3;
	    fd++)
		usleep(10000);
	ck_assert_int_eq(hook_count("register_child", p.pid), 3);

	/* HUP: close hooks before the re-exec, open hook after (same pid) */
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", HOOK_MS), 0);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "restart_open_hook", pp,
	    NULL));
	free(l);
	seq = strstr(hooks_of(p.pid), "pre_server_close_hook");
	ck_assert_ptr_nonnull(seq);
	ck_assert_msg(in_order(seq, hup_order), "%s", seq);
	ck_assert_int_eq(hook_count("pre_server_close_hook", p.pid), 1);

	/* QUIT: pre_server_close_hook while the children still run */
	b = p.pid;
	ck_assert_int_eq(h_stop(&p, SIGQUIT, HOOK_MS), 0);
	ck_assert_int_eq(hook_count("pre_server_close_hook", b), 2);
	seq = strstr(hooks_of(b), "restart_open_hook");
	ck_assert_ptr_nonnull(seq);
	ck_assert_msg(in_order(seq, quit_order), "%s", seq);
}
END_TEST

/* TERM: children end through child_finish_hook, a busy one included. */
START_TEST(test_hooks_term)
{
	struct hproc	 p;
	char		*l, pp[32], buf[64];
	long		 busy, parent;
	int		 fd;

	start_hooks(&p, "max_servers 2\n");
	parent = p.pid;
	snprintf(pp, sizeof(pp), " %ld ", parent);
	ck_assert_int_eq(h_wait_children(p.pid, 2, HOOK_MS), 0);
	fd = h_connect_tcp("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	/* the child answers, then waits in fgets for the next line */
	ck_assert_int_eq(write(fd, "hi\n", 3), 3);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 3);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "process_request",
	    NULL));
	busy = strtol(l + strlen("process_request "), NULL, 10);
	free(l);
	ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
	close(fd);
	ck_assert_int_eq(hook_count("child_finish_hook", busy), 1);
	ck_assert_int_eq(hook_count("post_client_connection_hook", busy), 1);
	ck_assert_ptr_nonnull(l = hook_line(0 + 10, "delete_child_hook", pp,
	    "exit=0", NULL));
	free(l);
	ck_assert_int_eq(hook_count("delete_child_hook", parent), 2);
	ck_assert_int_eq(hook_count("child_finish_hook", parent), 0);
	ck_assert_msg(in_order(hooks_of(parent), (const char *const[]){
	    "pre_server_close_hook", "delete_child_hook", "delete_child_hook",
	    NULL }), "%s", hooks_of(parent));
}
END_TEST

/* Dequeue children: child_init_hook and child_finish_hook around it. */
START_TEST(test_hooks_dequeue)
{
	struct hproc	 p;
	char		*l, pp[32], want[64];
	long		 d;

	start_hooks(&p, "max_servers 1\nmax_dequeue 1\ncheck_for_dequeue 1\n");
	snprintf(pp, sizeof(pp), " %ld ", (long)p.pid);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "register_child", pp,
	    " dequeue", NULL));
	d = child_of(l);
	free(l);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "pre_fork_hook", pp,
	    "dequeue", NULL));
	free(l);
	snprintf(want, sizeof(want), "delete_child_hook %ld ", (long)p.pid);
	snprintf(pp, sizeof(pp), "child=%ld exit=0", d);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, want, pp, NULL));
	free(l);
	ck_assert_str_eq(hooks_of(d), "child_init_hook run_dequeue "
	    "child_finish_hook ");
	snprintf(want, sizeof(want), "child_finish_hook %ld ", d);
	ck_assert_ptr_nonnull(l = hook_line(10, want, " dequeue", NULL));
	free(l);
	ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
}
END_TEST

/* pfsd_set_option: max_servers from the parent grows the pool; from a
 * child it is refused (EPERM). */
START_TEST(test_set_option)
{
	struct hproc	 p;
	char		*l, pp[32];

	start_hooks(&p, "max_servers 1\nset_max_servers 3\n");
	snprintf(pp, sizeof(pp), " %ld ", (long)p.pid);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "pre_loop_hook", pp,
	    "set=0", NULL));
	free(l);
	ck_assert_int_eq(h_wait_children(p.pid, 3, HOOK_MS), 0);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, "child_init_hook",
	    "worker set=EPERM", NULL));
	free(l);
	ck_assert_int_eq(h_wait_log(&p, "max_servers is now 3 (set by the "
	    "handler)", HOOK_MS), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
}
END_TEST

/* write_to_log_hook takes pfsd's log lines; fatal_hook hears a fatal
 * startup error before pfsd exits. */
START_TEST(test_log_and_fatal_hooks)
{
	struct hproc		 p;
	char			*log, conf[512], out[4096], *l;
	const char		*av[] = { "-c", conf, NULL };
	int			 fd, held, status;

	snprintf(conf, sizeof(conf), "log_hook %s\n", h_path("sink.log"));
	start_hooks(&p, conf);
	ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
	ck_assert_ptr_nonnull(log = h_read_file(h_path("sink.log")));
	ck_assert_ptr_nonnull(strstr(log, "\n2 pfsd ") != NULL ||
	    strncmp(log, "2 pfsd ", 7) == 0 ? log : NULL);
	ck_assert_ptr_nonnull(strstr(log, " serving (generation 0, pid "));
	free(log);
	log = h_read_file(h_path("pfsd.log"));
	ck_assert_msg(log == NULL || strstr(log, "serving") == NULL, "%s",
	    log);
	free(log);

	/* a port already taken: fatal at startup */
	fd = h_listen_tcp(&held);
	snprintf(conf, sizeof(conf), "%s", h_write("fatal.conf",
	    "handler %s\nhook_log %s\nport 127.0.0.1:%d\n", TPLUGIN("hooks"),
	    h_path("hooks.log"), held));
	status = h_run(av, out, sizeof(out));
	close(fd);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 69);
	ck_assert_ptr_nonnull(l = hook_line(10, "fatal_hook", "cannot bind",
	    NULL));
	free(l);
}
END_TEST

/* sig_passthrough: a signal to the parent reaches every child. */
START_TEST(test_sig_passthrough)
{
	struct hproc	p;
	char		body[128], *l;
	pid_t		kids[4];

	snprintf(body, sizeof(body), "max_servers 2\nsig_passthrough "
	    "SIGWINCH\ncatch_signal %d\n", SIGWINCH);
	start_hooks(&p, body);
	ck_assert_int_eq(h_wait_children(p.pid, 2, HOOK_MS), 0);
	ck_assert_int_eq(h_children(p.pid, kids, 4), 2);
	/* both children have installed the handler */
	while (hook_count("child_init_hook", kids[0]) +
	    hook_count("child_init_hook", kids[1]) < 2)
		usleep(10000);
	kill(p.pid, SIGWINCH);
	snprintf(body, sizeof(body), "got_signal %ld ", (long)kids[0]);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, body, NULL));
	free(l);
	snprintf(body, sizeof(body), "got_signal %ld ", (long)kids[1]);
	ck_assert_ptr_nonnull(l = hook_line(HOOK_MS, body, NULL));
	free(l);
	ck_assert_int_eq(hook_count("got_signal", p.pid), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
}
END_TEST

/* udp_recv_len: a longer datagram is cut to it, as by Net::Server. */
START_TEST(test_udp_recv_len)
{
	struct hproc	p;
	char		conf[512], buf[64];
	const char	*av[] = { "-c", conf, NULL };
	static const char *const flags[] = { "0", "32" };	/* MSG_TRUNC */
	size_t		i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		port = h_free_port();
		snprintf(conf, sizeof(conf), "%s", h_write("udp.conf",
		    "handler echo\nport 127.0.0.1:%d/udp\nmax_servers 1\n"
		    "udp_recv_len 5\nudp_recv_flags %s\n", port, flags[i]));
		ck_assert_int_eq(h_start(&p, av), 0);
		ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
		ck_assert_int_eq(h_talk_udp("127.0.0.1", port, "hello world\n",
		    buf, sizeof(buf), 5000), 5);
		ck_assert_str_eq(buf, "hello");
		ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
	}
}
END_TEST

/* ---------------------------------------------------------------- */

/* A fake DNS: every address's PTR is ptr_name; names resolve to fwd. */
static const char	*ptr_name;
static const char	*fwd[3];

static int
fake_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	if (ptr_name == NULL)
		return EAI_NONAME;
	snprintf(host, hostlen, "%s", ptr_name);
	return 0;
}

/* The addresses of fwd[], as the real getaddrinfo makes them. */
static int
fake_getaddrinfo(const char *name, const char *serv,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo	 h, *r, **tail = res;
	size_t		 i;

	*res = NULL;
	memset(&h, 0, sizeof(h));
	h.ai_flags = AI_NUMERICHOST;
	h.ai_socktype = SOCK_STREAM;
	for (i = 0; i < nitems(fwd) && fwd[i] != NULL; i++) {
		ck_assert_int_eq(getaddrinfo(fwd[i], NULL, &h, &r), 0);
		*tail = r;
		while (r->ai_next != NULL)
			r = r->ai_next;
		tail = &r->ai_next;
	}
	return *res != NULL ? 0 : EAI_NONAME;
}

/* pfsd_peer_host for a peer at addr, with reverse_lookups = mode. */
static const char *
peer_host(struct pfsd_server *srv, struct pfsd_request *req,
    const char *addr, const char *mode)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&req->peer;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&req->peer;

	memset(srv, 0, sizeof(*srv));
	memset(req, 0, sizeof(*req));
	srv->conf = conf_new();
	ck_assert_int_eq(conf_set(srv->conf, "reverse_lookups", mode,
	    CONF_FILE, "t.conf", 1), 0);
	req->srv = srv;
	if (strchr(addr, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr),
		    1);
		req->peerlen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		req->peerlen = sizeof(*sin);
	}
	return pfsd_peer_host(req);
}

/*
 * reverse_lookups double (Net::Server's double_reverse_lookups): the PTR
 * name counts only when it resolves back to the peer.
 */
START_TEST(test_double_reverse)
{
	struct pfsd_server	 srv;
	struct pfsd_request	 req;
	struct access		*a;
	const char		*h;

	api_getnameinfo_fn = fake_getnameinfo;
	api_getaddrinfo_fn = fake_getaddrinfo;
	ptr_name = "mail.example.com";

	/* confirmed: among the name's addresses */
	fwd[0] = "198.51.100.7";
	fwd[1] = "192.0.2.1";
	h = peer_host(&srv, &req, "192.0.2.1", "double");
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h, "mail.example.com");
	conf_free(srv.conf);
	/* an IPv4 peer on a dual-stack socket is confirmed the same */
	h = peer_host(&srv, &req, "::ffff:192.0.2.1", "2");
	ck_assert_ptr_nonnull(h);
	conf_free(srv.conf);

	/* a PTR that lies: the name does not point back */
	fwd[1] = NULL;
	ck_assert_ptr_null(peer_host(&srv, &req, "192.0.2.1", "double"));
	/* and the host rules do not see it */
	ck_assert_int_eq(conf_set(srv.conf, "allow", ".*\\.example\\.com",
	    CONF_FILE, "t.conf", 2), 0);
	ck_assert_ptr_nonnull(a = access_configure(srv.conf));
	ck_assert_int_eq(access_check(a, (struct sockaddr *)&req.peer,
	    "192.0.2.1", pfsd_peer_host(&req)), 0);
	access_free(a);
	conf_free(srv.conf);
	/* reverse_lookups 1 takes the PTR name as it is */
	h = peer_host(&srv, &req, "192.0.2.1", "yes");
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h, "mail.example.com");
	conf_free(srv.conf);
	/* double_reverse_lookups 1 is reverse_lookups double */
	h = peer_host(&srv, &req, "192.0.2.1", "1");
	ck_assert_ptr_nonnull(h);
	conf_free(srv.conf);
	memset(&srv, 0, sizeof(srv));
	srv.conf = conf_new();
	ck_assert_int_eq(conf_set(srv.conf, "double_reverse_lookups", "1",
	    CONF_FILE, "t.conf", 1), 0);
	req.srv = &srv;
	req.have_host = 0;
	ck_assert_ptr_null(pfsd_peer_host(&req));
	conf_free(srv.conf);
	/* no PTR at all */
	ptr_name = NULL;
	ck_assert_ptr_null(peer_host(&srv, &req, "192.0.2.1", "double"));
	conf_free(srv.conf);

	api_getnameinfo_fn = getnameinfo;
	api_getaddrinfo_fn = getaddrinfo;
}
END_TEST

/* The real resolver: 127.0.0.1 is localhost both ways (/etc/hosts). */
START_TEST(test_double_reverse_served)
{
	struct hproc	p;

	start_conf(&p, "reverse_lookups double\nallow localhost\n");
	ck_assert_int_eq(served(), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, HOOK_MS), 0);
}
END_TEST

/* ABI 1.1 hooks are not looked up in a handler built for 1.0. */
START_TEST(test_old_minor_hooks)
{
	struct plugin	p;
	char		err[ERRBUF_SIZE] = "";

	ck_assert_msg(plugin_load(&p, TPLUGIN("old_minor"), err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(p.abi_minor, 0);
	ck_assert_ptr_nonnull(p.process_request);
	ck_assert_ptr_null(p.register_child);
	ck_assert_ptr_null(p.write_to_log_hook);
	plugin_unload(&p);
	ck_assert_int_eq(plugin_load(&p, TPLUGIN("hooks"), err, sizeof(err)),
	    0);
	ck_assert_ptr_nonnull(p.register_child);
	ck_assert_ptr_nonnull(p.write_to_log_hook);
	plugin_unload(&p);
}
END_TEST

/* ---------------------------------------------------------------- */

struct ctable {
	char	ns[128][64];	/* Net::Server name */
	char	pf[128][64];	/* pfsd name, "" for none */
	size_t	n;
};

/* The rows ".It Li NAME No \\(-> Li PFSD" (or "\\(em") of pfsd(8)'s
 * COMPATIBILITY TABLE. */
static void
ctable_read(struct ctable *t)
{
	char	*man, *line, *save, ns[64], pf[64];
	int	 in = 0;

	memset(t, 0, sizeof(*t));
	ck_assert_ptr_nonnull(man = h_read_file(SRCDIR "/man/pfsd.8"));
	for (line = strtok_r(man, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ".Sh ", 4) == 0)
			in = strcmp(line, ".Sh COMPATIBILITY TABLE") == 0;
		if (!in || strncmp(line, ".It Li ", 7) != 0)
			continue;
		if (sscanf(line, ".It Li %63s No \\(-> Li %63s", ns, pf) == 2)
			;
		else if (sscanf(line, ".It Li %63s No \\(-> \\(em", ns) == 1 &&
		    strstr(line, "\\(em") != NULL)
			pf[0] = '\0';
		else
			ck_abort_msg("pfsd(8): not a table row: %s", line);
		ck_assert_uint_lt(t->n, nitems(t->ns));
		snprintf(t->ns[t->n], sizeof(t->ns[0]), "%s", ns);
		snprintf(t->pf[t->n], sizeof(t->pf[0]), "%s", pf);
		t->n++;
	}
	free(man);
	ck_assert_uint_gt(t->n, 60);
}

static int
ctable_has(const struct ctable *t, const char *ns)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->ns[i], ns) == 0)
			return 1;
	return 0;
}

/* Is name a key of pfsd, a hook, or a function of pfsd.h? */
static int
pfsd_has(const char *name, const char *header)
{
	const char	*p;
	char		 call[160];
	size_t		 i;

	if (conf_find(name) >= 0)
		return 1;
	for (i = 0; i < plugin_nhooks; i++)
		if (strcmp(plugin_hook_names[i], name) == 0)
			return 1;
	/* declared: NAME( after a blank, a tab or a '*' */
	snprintf(call, sizeof(call), "%s(", name);
	for (p = header; (p = strstr(p, call)) != NULL; p++)
		if (p > header && strchr(" \t*", p[-1]) != NULL)
			return 1;
	return 0;
}

/* Every pfsd name the table gives exists; the README has the same rows. */
START_TEST(test_table_names_exist)
{
	struct ctable	 t;
	char		*header, *readme, row[300];
	size_t		 i;

	ctable_read(&t);
	ck_assert_ptr_nonnull(header = h_read_file(SRCDIR "/daemon/pfsd.h"));
	ck_assert_ptr_nonnull(readme = h_read_file(SRCDIR "/README.md"));
	for (i = 0; i < t.n; i++) {
		ck_assert_msg(t.pf[i][0] == '\0' || pfsd_has(t.pf[i], header),
		    "pfsd(8) maps %s to %s, which pfsd does not have",
		    t.ns[i], t.pf[i]);
		if (t.pf[i][0] != '\0')
			snprintf(row, sizeof(row), "| `%s` | `%s` |", t.ns[i],
			    t.pf[i]);
		else
			snprintf(row, sizeof(row), "| `%s` | \u2014 |", t.ns[i]);
		ck_assert_msg(strstr(readme, row) != NULL, "README.md lacks "
		    "the row %s", row);
	}
	free(header);
	free(readme);
}
END_TEST

/*
 * Every option and hook Net::Server itself declares (asked of the
 * installed Net::Server::PreForkSimple, with its UDP, UNIX and syslog
 * options) is in the table, and so nothing can be left out silently.
 */
START_TEST(test_table_covers_net_server)
{
	static const char perl[] = "perl -MNet::Server::PreForkSimple "
	    "-MNet::Server::Proto::UDP -MNet::Server::Log::Sys::Syslog -e '"
	    "my %n = map { $_ => 1 } keys %{ Net::Server::PreForkSimple->new"
	    "->options }; $n{$_} = 1 for grep { /_hook$/ } (keys %Net::Server::,"
	    " keys %Net::Server::PreForkSimple::); $n{$_} = 1 for qw(udp_recv_len"
	    " udp_recv_flags udp_broadcast unix_type syslog_logsock syslog_ident"
	    " syslog_logopt syslog_facility process_request register_child"
	    " dequeue); print \"$_\\n\" for sort keys %n' 2>&1";
	struct ctable	 t;
	char		 name[128];
	FILE		*fp;
	size_t		 n = 0;

	ctable_read(&t);
	ck_assert_ptr_nonnull(fp = popen(perl, "r"));
	while (fgets(name, sizeof(name), fp) != NULL) {
		name[strcspn(name, "\n")] = '\0';
		ck_assert_msg(ctable_has(&t, name), "Net::Server has %s; the "
		    "table in pfsd(8) does not", name);
		n++;
	}
	ck_assert_int_eq(pclose(fp), 0);
	ck_assert_uint_gt(n, 55);
}
END_TEST

/* ---------------------------------------------------------------- */

/*
 * Configurations written the ways Net::Server's documentation describes
 * (ports, several ports with host/proto/ipv defaults, Perl-regex and CIDR
 * rules, user and group, pool and log settings, syslog), each read by
 * pfsd -t and -T and by Net::Server::PreForkSimple itself
 * (tests/net_server_conf.pl prints what it makes of the file the way -T
 * prints).  Every line of Net::Server's must be in pfsd's -T, except the
 * few the table in pfsd(8) calls differences, listed with each case.
 */
static const struct {
	const char	*body;		/* @DIR@: the test's directory */
	const char	*differs;	/* a Net::Server line pfsd lacks, or NULL */
	const char	*instead;	/* ... and pfsd's line for it */
} ns_forms[] = {
	{ "port 20203\nport 127.0.0.1:20204\nport 127.0.0.1:20205/udp\n"
	  "port 127.0.0.1:20206/tcp\nport @DIR@/a.sock|unix\n"
	  "port @DIR@/b.sock|SOCK_STREAM|unix\nhost 127.0.0.1\n",
	  /* Net::Server takes its own legacy form's word for the path */
	  "port SOCK_STREAM/unix", "port @DIR@/b.sock/unix" },
	{ "port 20210\nport 20211\nhost *\nipv 4\nproto udp\n", NULL, NULL },
	{ "allow 127\\.0\\.0\\.\\d+\nallow (?i)^host\\d*\\.example\\.com$\n"
	  "deny 10\\.0\\.0\\.(?:1|2)\ncidr_allow 192.168.0.0/16\n"
	  "cidr_deny 192.168.1.0/24\nreverse_lookups 1\n"
	  "port 127.0.0.1:20220\n", NULL, NULL },
	{ "user nobody\ngroup nogroup\nlog_file @DIR@/ns.log\nlog_level 4\n"
	  "max_servers 12\nmax_requests 500\ncheck_for_dead 15\n"
	  "max_dequeue 2\ncheck_for_dequeue 60\nserialize flock\n"
	  "lock_file /tmp/pfsd-ns-test.lock\nbackground 0\nsetsid 0\n"
	  "pid_file @DIR@/ns.pid\nlisten 128\nno_client_stdout 0\n"
	  "port 127.0.0.1:20230\n", NULL, NULL },
	{ "log_file Sys::Syslog\nsyslog_ident myserver\n"
	  "syslog_facility local3\nport 127.0.0.1:20240\n", NULL, NULL },
};

/* in with every "@DIR@" replaced by the test's directory. */
static void
with_dir(char *out, size_t len, const char *in)
{
	const char	*at;
	size_t		 o = 0;

	while ((at = strstr(in, "@DIR@")) != NULL && o < len) {
		o += (size_t)snprintf(out + o, len - o, "%.*s%s",
		    (int)(at - in), in, h_dir());
		in = at + 5;
	}
	if (o < len)
		snprintf(out + o, len - o, "%s", in);
}

/* Is line (without its newline) one of the lines of text? */
static int
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

START_TEST(test_same_as_net_server_conf)
{
	char		 conf[512], pf[16384], ns[8192], cmd[1200], line[512];
	char		 body[1024], differs[512], instead[512];
	const char	*t[] = { "-t", "-c", conf, "--handler=echo", NULL };
	const char	*T[] = { "-T", "-c", conf, "--handler=echo", NULL };
	FILE		*fp;
	size_t		 off = 0, lines = 0;
	int		 status;

	with_dir(body, sizeof(body), ns_forms[_i].body);
	snprintf(conf, sizeof(conf), "%s", h_write("ns.conf", "%s", body));
	status = h_run(t, pf, sizeof(pf));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "pfsd -t:\n%s", pf);
	status = h_run(T, pf, sizeof(pf));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	snprintf(cmd, sizeof(cmd), "perl '%s/tests/net_server_conf.pl' "
	    "'%s' 2>&1", SRCDIR, conf);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	while (off + 1 < sizeof(ns) && fgets(ns + off, (int)(sizeof(ns) -
	    off), fp) != NULL)
		off += strlen(ns + off);
	ck_assert_int_eq(pclose(fp), 0);

	differs[0] = instead[0] = '\0';
	if (ns_forms[_i].differs != NULL) {
		with_dir(differs, sizeof(differs), ns_forms[_i].differs);
		with_dir(instead, sizeof(instead), ns_forms[_i].instead);
		ck_assert_msg(has_line(ns, differs), "Net::Server no longer "
		    "says %s:\n%s", differs, ns);
		ck_assert_msg(has_line(pf, instead), "%s", pf);
	}
	for (off = 0; ns[off] != '\0'; off += strcspn(ns + off, "\n") + 1) {
		snprintf(line, sizeof(line), "%.*s",
		    (int)strcspn(ns + off, "\n"), ns + off);
		if (strcmp(line, differs) == 0)
			continue;
		ck_assert_msg(has_line(pf, line), "Net::Server reads \"%s\"; "
		    "pfsd -T has not:\n%s", line, pf);
		lines++;
		if (ns[off + strlen(line)] == '\0')
			break;
	}
	ck_assert_uint_ge(lines, 2);
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

	tc = tcase_create("table");
	tcase_add_test(tc, test_table_names_exist);
	tcase_add_test(tc, test_table_covers_net_server);
	tcase_add_loop_test(tc, test_same_as_net_server_conf, 0,
	    (int)nitems(ns_forms));
	suite_add_tcase(s, tc);

	tc = tcase_create("hooks");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hooks_lifecycle);
	tcase_add_test(tc, test_hooks_term);
	tcase_add_test(tc, test_hooks_dequeue);
	tcase_add_test(tc, test_set_option);
	tcase_add_test(tc, test_log_and_fatal_hooks);
	tcase_add_test(tc, test_old_minor_hooks);
	tcase_add_test(tc, test_sig_passthrough);
	tcase_add_test(tc, test_double_reverse);
	tcase_add_test(tc, test_double_reverse_served);
	tcase_add_test(tc, test_udp_recv_len);
	suite_add_tcase(s, tc);
	return s;
}
