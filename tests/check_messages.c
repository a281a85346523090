/*
 * check_messages.c - messages that say how to fix what is wrong, checked
 * word for word from the real pfsd: a broken YAML file (one error, its
 * column and a hint, nothing that follows from it), a port below 1024 or
 * another user without root (run as nobody with setpriv), a handler built
 * with -fvisibility=hidden, a value after a flag, and "pfsd status"
 * refused by the status socket's permissions; and --help and the man
 * pages agree on what graceful_timeout covers.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EXIT_UNAVAILABLE	69
#define EXIT_CONFIG		78
#define AS_NOBODY	"setpriv --reuid=nobody --regid=nogroup --clear-groups -- "

/* YAML: the first syntax error, with column and hint, and nothing else. */
static const struct {
	const char	*text;
	const char	*want;	/* after "FILE:" */
} yamls[] = {
	{ "handler: echo\n\tport: 2\n",
	    "2: yaml: column 1: found a tab character that violates "
	    "indentation (while scanning a plain scalar started at line 1); "
	    "YAML indents with spaces, never tabs\n" },
	{ "\tport: 2\nhandler: echo\n",
	    "1: yaml: column 1: found character that cannot start any token "
	    "(while scanning for the next token started at line 1); YAML "
	    "indents with spaces, never tabs\n" },
	{ "handler: echo\nport: 8080\n max_servers: 3\n",
	    "3: yaml: column 13: mapping values are not allowed in this "
	    "context; check the indentation: every key starts in column 1, "
	    "list items are indented under their key\n" },
};

START_TEST(test_yaml_no_cascade)
{
	char		 out[4096], want[1024];
	const char	*conf, *av[] = { "-t", "-c", NULL, NULL };

	conf = h_write("broken.yaml", "%s", yamls[_i].text);
	av[2] = conf;
	h_run_exit(av, EXIT_CONFIG, out, sizeof out);
	snprintf(want, sizeof want, "%s:%s", conf, yamls[_i].want);
	ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_low_port_not_root)
{
	char	cmd[1024], out[4096];

	snprintf(cmd, sizeof cmd, AS_NOBODY "%s --handler=echo "
	    "--port=127.0.0.1:1000 2>&1", PFSD_BIN);
	ck_assert_int_eq(h_sh(out, sizeof out, "%s", cmd), EXIT_UNAVAILABLE);
	h_has(out, "error: cannot bind 127.0.0.1:1000/tcp: Permission denied "
	    "(ports below 1024 need root or CAP_NET_BIND_SERVICE: start pfsd "
	    "as root, with \"user\" to drop privileges after binding, or use "
	    "a port from 1024)\n");
}
END_TEST

START_TEST(test_become_not_root)
{
	char	cmd[1024], out[4096];

	snprintf(cmd, sizeof cmd, AS_NOBODY "%s --handler=echo "
	    "--port=127.0.0.1:%d --user=root 2>&1", PFSD_BIN, h_free_port());
	ck_assert_int_eq(h_sh(out, sizeof out, "%s", cmd), 1);
	h_has(out, "cannot become root / its group: Operation not permitted "
	    "(only root can change user and group: start pfsd as root, or "
	    "leave \"user\" and \"group\" unset to run as yourself)\n");
}
END_TEST

START_TEST(test_hidden_handler)
{
	char		 out[4096], so[4096], want[8192];
	const char	*av[] = { "-t", "--handler=" TPLUGIN("hidden"), NULL };

	h_run_exit(av, EXIT_CONFIG, out, sizeof out);
	ck_assert_ptr_nonnull(realpath(TPLUGIN("hidden"), so));
	snprintf(want, sizeof want, "command line: handler: %s: no "
	    "process_request function (if it defines one, it is not exported: "
	    "mark it PFSD_EXPORT, or build without -fvisibility=hidden)\n", so);
	ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_flag_value)
{
	char		 out[4096];
	const char	*av[] = { "-t", "--handler=echo", "--background", "no",
			    NULL };
	const char	*other[] = { "-t", "--handler=echo", "stray", NULL };

	h_run_exit(av, EXIT_CONFIG, out, sizeof out);
	ck_assert_str_eq(out, "command line: \"no\": unexpected argument "
	    "(--background is a flag and takes no value: write "
	    "--background=no, or --background alone to set it)\n");
	h_run_exit(other, EXIT_CONFIG, out, sizeof out);
	ck_assert_str_eq(out, "command line: \"stray\": unexpected "
	    "argument\n");
}
END_TEST

/* pfsd runs, but its status socket is not this user's to use. */
START_TEST(test_status_permission)
{
	struct hproc	 p;
	char		 sockarg[600], portarg[64], cmd[2048], out[4096];
	char		 dir[512];
	const char	*av[] = { "--handler=echo", portarg, sockarg,
			    "--max_servers=1", NULL };

	snprintf(dir, sizeof dir, "%s", h_path("private"));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(sockarg, sizeof sockarg, "--status_socket=%s/st.sock", dir);
	snprintf(portarg, sizeof portarg, "--port=127.0.0.1:%d",
	    h_free_port());
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "not ready");
	snprintf(cmd, sizeof cmd, "%s status %s 2>&1", PFSD_BIN, sockarg);
	ck_assert_int_eq(h_sh(out, sizeof out, "%s", cmd), 0);	/* root may */
	snprintf(cmd, sizeof cmd, AS_NOBODY "%s status %s 2>&1", PFSD_BIN,
	    sockarg);
	ck_assert_int_eq(h_sh(out, sizeof out, "%s", cmd), EXIT_UNAVAILABLE);
	h_stop(&p, SIGTERM, 5000);
	h_has(out, "pfsd status: ");
	h_has(out, "/private/st.sock: Permission denied (the status socket or "
	    "its directory does not let this user in: run as root or as the "
	    "user pfsd runs as)\n");
	/* not running: the question stays */
	ck_assert_int_eq(h_sh(out, sizeof out, "%s", cmd + strlen(AS_NOBODY)),
	    EXIT_UNAVAILABLE);
	h_has(out, "(is pfsd running?)\n");
}
END_TEST

/* Every run of blanks and newlines made one space: --help wraps. */
static void
squeeze(char *s)
{
	char	*w = s, *s0 = s;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n') {
			if (w == s0 || w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = *s;
	}
	*w = '\0';
}

/*
 * The paragraph of a man page from the line holding START up to the next
 * ".It" or ".Sh" line (malloc'd).
 */
static char *
paragraph(const char *page, const char *start)
{
	char	*text, *p, *end, *out;
	size_t	 n;

	ck_assert_ptr_nonnull(text = h_read_file(page));
	ck_assert_msg((p = strstr(text, start)) != NULL, "%s: no %s", page,
	    start);
	for (end = strchr(p, '\n'); end != NULL &&
	    strncmp(end, "\n.Sh", 4) != 0 && strncmp(end, "\n.It", 4) != 0;
	    end = strchr(end + 1, '\n'))
		;
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	ck_assert_ptr_nonnull(out = strndup(p, n));
	free(text);
	return out;
}

/* --help, pfsd.conf(5) and pfsd(8) say graceful_timeout covers both. */
START_TEST(test_graceful_timeout_agrees)
{
	char		 out[16384], *p;
	const char	*av[] = { "--help", NULL };

	h_run_exit(av, 0, out, sizeof out);
	ck_assert_ptr_nonnull(p = strstr(out, "--graceful_timeout"));
	p[300] = '\0';
	squeeze(p);
	h_has(p, "finish after a graceful stop (QUIT) or a reload (HUP), 0 for "
	    "no limit");
	p = paragraph(SRCDIR "/man/pfsd.conf.5", ".It Cm graceful_timeout");
	h_has(p, "SIGQUIT");
	h_has(p, "SIGHUP");
	h_has(p, "0 means no limit");
	free(p);
	p = paragraph(SRCDIR "/man/pfsd.8", "Only then are the old children");
	h_has(p, ".Cm graceful_timeout");
	h_has(p, "SIGQUIT");
	free(p);
}
END_TEST

Suite	*messages_suite(void);

Suite *
messages_suite(void)
{
	Suite	*s = suite_create("messages");
	TCase	*tc = tcase_create("hints");

	tcase_add_loop_test(tc, test_yaml_no_cascade, 0,
	    sizeof yamls / sizeof yamls[0]);
	tcase_add_test(tc, test_low_port_not_root);
	tcase_add_test(tc, test_become_not_root);
	tcase_add_test(tc, test_hidden_handler);
	tcase_add_test(tc, test_flag_value);
	tcase_add_test(tc, test_status_permission);
	tcase_add_test(tc, test_graceful_timeout_agrees);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
