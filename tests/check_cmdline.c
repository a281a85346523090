/*
 * check_cmdline.c - the command line: every form of option, the actions,
 * every error, and conf_load's precedence (command line > file >
 * default; a list replaced whole) and required handler.
 */
#include "internal.h"
#include "conf_helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#define MAXARGS	16

Suite	*cmdline_suite(void);

/* argv for ARGS (NULL-ended), with "pfsd" in front. */
static int
make_argv(const char *const *args, char **argv)
{
	int	argc = 0;

	argv[argc++] = UNCONST("pfsd");
	while (*args != NULL && argc < MAXARGS - 1)
		argv[argc++] = UNCONST(*args++);
	argv[argc] = NULL;
	return argc;
}

static int
parse(struct conf *c, struct cmdline *cl, const char *const *args)
{
	char	*argv[MAXARGS];
	int	 argc = make_argv(args, argv);

	return conf_cmdline_parse(c, argc, argv, cl);
}

static int
load(struct conf *c, struct cmdline *cl, const char *const *args)
{
	char	*argv[MAXARGS];
	int	 argc = make_argv(args, argv);

	return conf_load(c, argc, argv, cl);
}

static char *
tmp_conf(const char *text)
{
	char	*path;
	int	 fd;

	ck_assert_ptr_nonnull(path = strdup("/tmp/pfsd-cmdline-XXXXXX.conf"));
	ck_assert_int_ne(fd = mkstemps(path, 5), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)),
	    (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
assert_setting(const struct cmdline *cl, size_t i, const char *key,
    const char *value)
{
	ck_assert_uint_gt(cl->n, i);
	ck_assert_str_eq(cl->keys[i], key);
	if (value == NULL)
		ck_assert_ptr_null(cl->values[i]);
	else
		ck_assert_str_eq(cl->values[i], value);
}

START_TEST(settings_in_order)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 args[] = {
		"--max_servers=8", "--user", "nobody", "--background",
		"--port", "80", "--port=81", "--max-requests", "5",
		"--log_file=a=b", "--host=", "--greeting", NULL
	};

	ck_assert_int_eq(parse(c, &cl, args), 0);
	ck_assert_int_eq(cl.action, CMD_RUN);
	ck_assert_uint_eq(cl.n, 9);
	assert_setting(&cl, 0, "max_servers", "8");
	assert_setting(&cl, 1, "user", "nobody");
	assert_setting(&cl, 2, "background", NULL);
	assert_setting(&cl, 3, "port", "80");
	assert_setting(&cl, 4, "port", "81");
	assert_setting(&cl, 5, "max-requests", "5");
	assert_setting(&cl, 6, "log_file", "a=b");
	assert_setting(&cl, 7, "host", "");
	assert_setting(&cl, 8, "greeting", NULL);
	conf_cmdline_free(&cl);
	ck_assert_uint_eq(cl.n, 0);
	conf_free(c);
}
END_TEST

/* A key followed by an option gets no value: the option is kept. */
START_TEST(value_or_not)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 args[] = { "--mine", "--json", "status",
	    NULL };

	ck_assert_int_eq(parse(c, &cl, args), 0);
	ck_assert_int_eq(cl.action, CMD_STATUS);
	ck_assert_int_eq(cl.format, STATUS_JSON);
	ck_assert_uint_eq(cl.n, 1);
	assert_setting(&cl, 0, "mine", NULL);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

START_TEST(flag_then_word)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 args[] = {
		"--setsid", "status", "--user", "-t", NULL
	};

	/* "status" is the action, not setsid's value; user gets none. */
	ck_assert_int_eq(parse(c, &cl, args), 0);
	ck_assert_uint_eq(cl.n, 2);
	assert_setting(&cl, 0, "setsid", NULL);
	assert_setting(&cl, 1, "user", NULL);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*args[4];
	enum cmd_action	 action;
	int		 json;
	const char	*conf_file;
} actions[] = {
	{ { NULL }, CMD_RUN, 0, NULL },
	{ { "-t" }, CMD_CHECK, 0, NULL },
	{ { "-T" }, CMD_PRINT, 0, NULL },
	{ { "-h" }, CMD_HELP, 0, NULL },
	{ { "--help" }, CMD_HELP, 0, NULL },
	{ { "-V" }, CMD_VERSION, 0, NULL },
	{ { "--version" }, CMD_VERSION, 0, NULL },
	{ { "status" }, CMD_STATUS, 0, NULL },
	{ { "status", "--json" }, CMD_STATUS, 1, NULL },
	{ { "--json", "status" }, CMD_STATUS, 1, NULL },
	{ { "-c", "x.conf", "status" }, CMD_STATUS, 0, "x.conf" },
	{ { "-c", "x.conf" }, CMD_RUN, 0, "x.conf" },
	{ { "-cx.conf" }, CMD_RUN, 0, "x.conf" },
	{ { "--conf_file=x.conf" }, CMD_RUN, 0, "x.conf" },
	{ { "--conf-file", "x.conf" }, CMD_RUN, 0, "x.conf" },
	{ { "-tc", "x.conf" }, CMD_CHECK, 0, "x.conf" },
	{ { "-Tcx.conf" }, CMD_PRINT, 0, "x.conf" },
	{ { "-c", "-t" }, CMD_RUN, 0, "-t" },
};

START_TEST(action_forms)
{
	struct conf	*c = conf_new();
	struct cmdline	 cl;

	ck_assert_int_eq(parse(c, &cl, actions[_i].args), 0);
	ck_assert_int_eq(cl.action, actions[_i].action);
	ck_assert_int_eq(cl.format, actions[_i].json ? STATUS_JSON :
	    STATUS_TEXT);
	if (actions[_i].conf_file == NULL)
		ck_assert_uint_eq(cl.n, 0);
	else {
		ck_assert_uint_eq(cl.n, 1);
		ck_assert_int_eq(conf_find(cl.keys[0]), OPT_CONF_FILE);
		ck_assert_str_eq(cl.values[0], actions[_i].conf_file);
	}
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*args[4];
	const char	*want;
} parse_errs[] = {
	{ { "-x" }, "command line: -x: unknown option (see --help)" },
	{ { "-tx" }, "command line: -x: unknown option (see --help)" },
	{ { "-c" }, "command line: -c: needs a file name" },
	{ { "foo" }, "command line: \"foo\": unexpected argument" },
	{ { "status", "status" },
	    "command line: \"status\": unexpected argument" },
	{ { "--" }, "command line: \"--\": unexpected argument" },
	{ { "--json" }, "command line: --json: only with \"status\"" },
};

START_TEST(parse_errors)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 want[] = { parse_errs[_i].want, NULL };

	ck_assert_int_eq(parse(c, &cl, parse_errs[_i].args), -1);
	assert_msgs(c->errors, c->nerrors, want);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*args[4];
	const char	*want;
} load_errs[] = {
	{ { "--max_servers=abc" },
	    "command line: max_servers: \"abc\" is not a number" },
	{ { "--max_servers", "0" },
	    "command line: max_servers: \"0\" is out of range (1..4096)" },
	{ { "--max_servers" },
	    "command line: max_servers: needs a value" },
	{ { "--max_servers", "--user=x" },
	    "command line: max_servers: needs a value" },
	{ { "--host=" },
	    "command line: host: needs a value" },
	{ { "--serialize=fifo" },
	    "command line: serialize: \"fifo\" is not one of flock, "
	    "semaphore, pipe, none" },
	{ { "--background=maybe" },
	    "command line: background: \"maybe\" is not a flag (use 1/0, "
	    "yes/no, true/false or on/off)" },
	{ { "--max.servers=1" },
	    "command line: \"max.servers\": not a valid key name" },
	{ { "--=1" },
	    "command line: \"\": not a valid key name" },
	{ { "--conf_file" },
	    "command line: conf_file: needs a value" },
};

START_TEST(load_errors)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char		*args[6];
	const char *const	 want[] = { load_errs[_i].want, NULL };
	size_t			 i;

	args[0] = "--handler=echo";
	for (i = 0; load_errs[_i].args[i] != NULL; i++)
		args[i + 1] = load_errs[_i].args[i];
	args[i + 1] = NULL;
	ck_assert_int_eq(load(c, &cl, args), -1);
	assert_msgs(c->errors, c->nerrors, want);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

START_TEST(unknown_key_warning)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 args[] = {
		"--handler", "echo", "--max-server=3", "--greeting", "hi",
		NULL
	};
	const char *const	 errors[] = {
		"command line: max-server: unknown key (did you mean "
		    "\"max_servers\"?)",
		NULL
	};
	const char *const	 warnings[] = {
		"command line: warning: greeting: unknown key (kept for the "
		    "handler, which declares no options)",
		NULL
	};

	ck_assert_int_eq(load(c, &cl, args), 0);
	conf_check_unknown(c);
	assert_msgs(c->errors, c->nerrors, errors);
	assert_msgs(c->warnings, c->nwarnings, warnings);
	ck_assert_str_eq(conf_lookup(c, "greeting")->v[0].str, "hi");
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

static const char file_text[] =
	"handler echo\n"
	"max_servers 10\n"
	"port 80\n"
	"port 81\n"
	"host 127.0.0.1\n"
	"log_level 3\n"
	"allow ^a$\n";

START_TEST(precedence)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	char			*path = tmp_conf(file_text);
	const char *const	 args[] = {
		"--max_servers=8", "-c", path, "--port", "90", "--allow=^b$",
		"--allow", "^c$", "--background", NULL
	};

	ck_assert_int_eq(load(c, &cl, args), 0);
	/* Command line over file, wherever it stands. */
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 8);
	ck_assert_str_eq(conf_value_at(c, OPT_MAX_SERVERS, 0)->file,
	    "command line");
	/* A list given on the command line replaces the file's. */
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 1);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 0), "90");
	ck_assert_uint_eq(conf_count(c, OPT_ALLOW), 2);
	ck_assert_str_eq(conf_at(c, OPT_ALLOW, 0), "^b$");
	ck_assert_str_eq(conf_at(c, OPT_ALLOW, 1), "^c$");
	/* File over default. */
	ck_assert_str_eq(conf_str(c, OPT_HOST), "127.0.0.1");
	ck_assert_str_eq(conf_value_at(c, OPT_HOST, 0)->file, path);
	ck_assert_int_eq(conf_value_at(c, OPT_HOST, 0)->line, 5);
	ck_assert_int_eq(conf_num(c, OPT_LOG_LEVEL), 3);
	ck_assert_int_eq(conf_num(c, OPT_BACKGROUND), 1);
	/* Default where neither says anything. */
	ck_assert_int_eq(conf_num(c, OPT_MAX_REQUESTS), 1000);
	ck_assert_int_eq(conf_isset(c, OPT_MAX_REQUESTS), 0);
	ck_assert_str_eq(conf_str(c, OPT_CONF_FILE), path);
	ck_assert_uint_eq(c->nerrors, 0);
	conf_cmdline_free(&cl);
	unlink(path);
	free(path);
	conf_free(c);
}
END_TEST

START_TEST(last_conf_file_wins)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	char			*path = tmp_conf(file_text);
	const char *const	 args[] = {
		"-c", "/nonexistent/a.conf", "--conf_file", path, NULL
	};

	ck_assert_int_eq(load(c, &cl, args), 0);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 10);
	conf_cmdline_free(&cl);
	unlink(path);
	free(path);
	conf_free(c);
}
END_TEST

START_TEST(handler_required)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	char			*path = tmp_conf("max_servers 2\n"), *want;
	const char *const	 args[] = { "-c", path, NULL };

	ck_assert_int_eq(load(c, &cl, args), -1);
	ck_assert_int_ne(asprintf(&want, "%s: handler: required, e.g. "
	    "\"handler echo\"", path), -1);
	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_str_eq(c->errors[0], want);
	free(want);
	conf_cmdline_free(&cl);
	conf_free(c);

	/* The command line can supply what the file lacks. */
	c = conf_new();
	{
		const char *const args2[] = {
			"-c", path, "--handler=echo", NULL
		};

		ck_assert_int_eq(load(c, &cl, args2), 0);
	}
	conf_cmdline_free(&cl);
	conf_free(c);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(handler_required_no_file)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 args[] = { "--max_servers=2", NULL };
	const char *const	 want[] = {
		"command line: handler: required, e.g. \"--handler echo\"",
		NULL
	};

	ck_assert_int_eq(load(c, &cl, args), -1);
	assert_msgs(c->errors, c->nerrors, want);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

/* File errors, command-line errors and the missing handler, all at once. */
START_TEST(all_errors_reported)
{
	struct conf	*c = conf_new();
	struct cmdline	 cl;
	char		*path, *w[3];
	const char	*args[7], *want[7];
	size_t		 i;

	path = tmp_conf("max_servers abc\nuser ok\nbad.key 1\n");
	args[0] = "-c";
	args[1] = path;
	args[2] = "--log_level=9";
	args[3] = "-x";
	args[4] = "--proto";
	args[5] = "sctp";
	args[6] = NULL;
	ck_assert_int_eq(load(c, &cl, args), -1);
	ck_assert_int_ne(asprintf(&w[0], "%s:1: max_servers: \"abc\" is not "
	    "a number", path), -1);
	ck_assert_int_ne(asprintf(&w[1], "%s:3: not a \"key value\" line: "
	    "\"bad.key 1\"", path), -1);
	ck_assert_int_ne(asprintf(&w[2], "%s: handler: required, e.g. "
	    "\"handler echo\"", path), -1);
	want[0] = "command line: -x: unknown option (see --help)";
	want[1] = w[0];
	want[2] = w[1];
	want[3] = "command line: log_level: \"9\" is out of range (0..4)";
	want[4] = "command line: proto: \"sctp\" is not one of tcp, udp, "
	    "unix, ssl";
	want[5] = w[2];
	want[6] = NULL;
	assert_msgs(c->errors, c->nerrors, want);
	for (i = 0; i < nitems(w); i++)
		free(w[i]);
	conf_cmdline_free(&cl);
	unlink(path);
	free(path);
	conf_free(c);
}
END_TEST

START_TEST(missing_file)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	const char *const	 args[] = {
		"-c", "/nonexistent/pfsd.conf", "--handler=echo", NULL
	};
	const char *const	 want[] = {
		"/nonexistent/pfsd.conf: cannot read: No such file or "
		    "directory",
		NULL
	};

	ck_assert_int_eq(load(c, &cl, args), -1);
	assert_msgs(c->errors, c->nerrors, want);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

/*
 * --version reads nothing and needs nothing; --help needs no handler but
 * reads the file -c names (to list the handler's options).
 */
START_TEST(help_needs_nothing)
{
	static const char *const version[] = {
		"--version", "-c", "/nonexistent/pfsd.conf", NULL
	};
	static const char *const help[] = { "-h", NULL };
	static const char *const helpc[] = {
		"-h", "-c", "/nonexistent/pfsd.conf", NULL
	};
	const char *const	 want[] = {
		"/nonexistent/pfsd.conf: cannot read: No such file or directory",
		NULL
	};
	struct conf	*c;
	struct cmdline	 cl;

	c = conf_new();
	ck_assert_int_eq(load(c, &cl, version), 0);
	ck_assert_uint_eq(c->nerrors, 0);
	conf_cmdline_free(&cl);
	conf_free(c);
	c = conf_new();
	ck_assert_int_eq(load(c, &cl, help), 0);
	ck_assert_int_eq(cl.action, CMD_HELP);
	conf_cmdline_free(&cl);
	conf_free(c);
	c = conf_new();
	ck_assert_int_eq(load(c, &cl, helpc), -1);
	ck_assert_int_eq(cl.action, CMD_HELP);
	assert_msgs(c->errors, c->nerrors, want);
	conf_cmdline_free(&cl);
	conf_free(c);
}
END_TEST

/* status talks to a running pfsd: its conf need not name a handler. */
START_TEST(status_needs_no_handler)
{
	struct conf		*c = conf_new();
	struct cmdline		 cl;
	char			*path = tmp_conf("status_socket /tmp/s\n");
	const char *const	 args[] = { "status", "-c", path, "--json",
	    NULL };

	ck_assert_int_eq(load(c, &cl, args), 0);
	ck_assert_int_eq(cl.action, CMD_STATUS);
	ck_assert_int_eq(cl.format, STATUS_JSON);
	ck_assert_str_eq(conf_str(c, OPT_STATUS_SOCKET), "/tmp/s");
	conf_cmdline_free(&cl);
	unlink(path);
	free(path);
	conf_free(c);
}
END_TEST

Suite *
cmdline_suite(void)
{
	Suite	*s = suite_create("cmdline");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, settings_in_order);
	tcase_add_test(tc, value_or_not);
	tcase_add_test(tc, flag_then_word);
	tcase_add_loop_test(tc, action_forms, 0, nitems(actions));
	tcase_add_loop_test(tc, parse_errors, 0, nitems(parse_errs));
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_loop_test(tc, load_errors, 0, nitems(load_errs));
	tcase_add_test(tc, unknown_key_warning);
	tcase_add_test(tc, precedence);
	tcase_add_test(tc, last_conf_file_wins);
	tcase_add_test(tc, handler_required);
	tcase_add_test(tc, handler_required_no_file);
	tcase_add_test(tc, all_errors_reported);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, help_needs_nothing);
	tcase_add_test(tc, status_needs_no_handler);
	suite_add_tcase(s, tc);
	return s;
}
