/*
 * check_yaml.c - the YAML front end: values, lists, flags, every error
 * message with its line, the choice of format by file name, and that the
 * same configuration in both formats gives the same -T output.
 */
#include "internal.h"
#include "conf_helpers.h"

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define T_FILE	"t.yaml"

Suite	*yaml_suite(void);

static struct conf *
yaml(const char *text)
{
	struct conf	*c = conf_new();

	conf_parse_yaml(c, T_FILE, text, strlen(text));
	return c;
}

static char *
tmp_file(const char *suffix, const char *text)
{
	char	*path;
	int	 fd;

	ck_assert_int_ne(asprintf(&path, "/tmp/pfsd-yaml-XXXXXX%s", suffix),
	    -1);
	ck_assert_int_ne(fd = mkstemps(path, (int)strlen(suffix)), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)),
	    (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(values)
{
	struct conf		*c;
	const struct conf_item	*item;

	c = yaml("# a comment\n"
	    "handler: echo\n"
	    "max_servers: 8\n"
	    "port:\n"
	    "  - 80\n"
	    "  - \"localhost:81\"\n"
	    "host: ::1\n"
	    "cidr_allow: ::ffff:10.0.0.0/104\n"
	    "allow: [ '^10\\.', \"^a#b$\" ]\n"
	    "serialize: FLOCK\n"
	    "greeting: hello there\n");
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_str_eq(conf_str(c, OPT_HANDLER), "echo");
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 8);
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 2);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 0), "80");
	ck_assert_str_eq(conf_at(c, OPT_PORT, 1), "localhost:81");
	ck_assert_int_eq(conf_value_at(c, OPT_PORT, 1)->line, 6);
	ck_assert_str_eq(conf_value_at(c, OPT_PORT, 1)->file, T_FILE);
	ck_assert_str_eq(conf_str(c, OPT_HOST), "::1");
	ck_assert_str_eq(conf_str(c, OPT_CIDR_ALLOW), "::ffff:10.0.0.0/104");
	ck_assert_uint_eq(conf_count(c, OPT_ALLOW), 2);
	ck_assert_str_eq(conf_at(c, OPT_ALLOW, 0), "^10\\.");
	ck_assert_str_eq(conf_at(c, OPT_ALLOW, 1), "^a#b$");
	ck_assert_str_eq(conf_str(c, OPT_SERIALIZE), "flock");
	ck_assert_ptr_nonnull(item = conf_lookup(c, "greeting"));
	ck_assert_str_eq(item->v[0].str, "hello there");
	ck_assert_int_eq(item->v[0].line, 11);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*text;
	long		 want;
} flags[] = {
	{ "background: true\n", 1 },
	{ "background: false\n", 0 },
	{ "background: yes\n", 1 },
	{ "background: no\n", 0 },
	{ "background: on\n", 1 },
	{ "background: Off\n", 0 },
	{ "background: True\n", 1 },
	{ "background: 1\n", 1 },
	{ "background: 0\n", 0 },
};

START_TEST(flag_words)
{
	struct conf	*c = yaml(flags[_i].text);

	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_int_eq(conf_isset(c, OPT_BACKGROUND), 1);
	ck_assert_int_eq(conf_num(c, OPT_BACKGROUND), flags[_i].want);
	conf_free(c);
}
END_TEST

START_TEST(list_key_scalar)
{
	struct conf	*c = yaml("port: 8080\ngroup: [a]\n");

	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 1);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 0), "8080");
	ck_assert_uint_eq(conf_count(c, OPT_GROUP), 1);
	conf_free(c);
}
END_TEST

START_TEST(empty_documents)
{
	static const char *const texts[] = {
		"", "\n", "# only a comment\n", "---\n", "---\n...\n"
	};
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < nitems(texts); i++) {
		c = yaml(texts[i]);
		ck_assert_msg(c->nerrors == 0, "\"%s\": %s", texts[i],
		    c->nerrors > 0 ? c->errors[0] : "");
		ck_assert_int_eq(conf_isset(c, OPT_PORT), 0);
		conf_free(c);
	}
}
END_TEST

START_TEST(several_documents)
{
	struct conf	*c = yaml("handler: a\n---\nmax_servers: 3\n");

	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_str_eq(conf_str(c, OPT_HANDLER), "a");
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 3);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*text;
	const char	*want;
} errs[] = {
	{ "handler: echo\nmax_servers: abc\n",
	    "t.yaml:2: max_servers: \"abc\" is not a number" },
	{ "handler: echo\n\nlog_level: 7\n",
	    "t.yaml:3: log_level: \"7\" is out of range (0..4)" },
	{ "serialize: fifo\n",
	    "t.yaml:1: serialize: \"fifo\" is not one of flock, semaphore, "
	    "pipe, none" },
	{ "background: maybe\n",
	    "t.yaml:1: background: \"maybe\" is not a flag (use 1/0, yes/no, "
	    "true/false or on/off)" },
	{ "handler:\n",
	    "t.yaml:1: handler: needs a value" },
	{ "handler: ~\n",
	    "t.yaml:1: handler: needs a value" },
	{ "background: null\n",
	    "t.yaml:1: background: needs a value" },
	{ "user: \"\"\n",
	    "t.yaml:1: user: needs a value" },
	{ "port:\n  - 80\n  -\n",
	    "t.yaml:3: port: needs a value" },
	{ "user: |\n  two\n  lines\n",
	    "t.yaml:1: user: contains a control character" },
	{ "max_servers:\n  - 1\n  - 2\n",
	    "t.yaml:2: max_servers: takes one value, not a list" },
	{ "handler: [echo]\n",
	    "t.yaml:1: handler: takes one value, not a list" },
	{ "port:\n  a: 1\n",
	    "t.yaml:2: port: takes a value or a list, not a mapping" },
	{ "port:\n  - [1, 2]\n",
	    "t.yaml:2: port: list items must be plain values" },
	{ "port:\n  - {a: 1}\n",
	    "t.yaml:2: port: list items must be plain values" },
	{ "- a\n- b\n",
	    "t.yaml:1: yaml: the top level must be a mapping of keys to "
	    "values" },
	{ "just text\n",
	    "t.yaml:1: yaml: the top level must be a mapping of keys to "
	    "values" },
	{ "? [a, b]\n: c\n",
	    "t.yaml:1: yaml: a key must be a plain word" },
	{ "foo bar: 1\n",
	    "t.yaml:1: \"foo bar\": not a valid key name" },
	{ "handler: echo\nport: [80, 81\nmax_servers: 3\n",
	    "t.yaml:3: yaml: column 12: did not find expected ',' or ']' "
	    "(while parsing a flow sequence started at line 2)" },
	{ "handler: echo\n  bad: indent\n",
	    "t.yaml:2: yaml: column 6: mapping values are not allowed in this "
	    "context; check the indentation: every key starts in column 1, "
	    "list items are indented under their key" },
	{ "max_servers: 1\n\tport: 2\n",
	    "t.yaml:2: yaml: column 1: found a tab character that violates "
	    "indentation (while scanning a plain scalar started at line 1); "
	    "YAML indents with spaces, never tabs" },
	{ "user: \"unterminated\n",
	    "t.yaml:2: yaml: column 1: found unexpected end of stream (while "
	    "scanning a quoted scalar started at line 1); a quote or bracket "
	    "is not closed" },
	{ "user: a\nhandler: \xff\n",
	    "t.yaml:2: yaml: column 10: invalid leading UTF-8 octet; the file "
	    "must be UTF-8 text" },
	/* the first syntax error alone, not what libyaml set before it */
	{ "handler: echo\nport: 8080\n max_servers: 3\n",
	    "t.yaml:3: yaml: column 13: mapping values are not allowed in "
	    "this context; check the indentation: every key starts in column "
	    "1, list items are indented under their key" },
	{ "max_servers: 3\nhandler: echo\n\tport: 2\n",
	    "t.yaml:3: yaml: column 1: found a tab character that violates "
	    "indentation (while scanning a plain scalar started at line 2); "
	    "YAML indents with spaces, never tabs" },
};

START_TEST(error_messages)
{
	struct conf		*c = yaml(errs[_i].text);
	const char *const	 want[] = { errs[_i].want, NULL };

	assert_msgs(c->errors, c->nerrors, want);
	conf_free(c);
}
END_TEST

START_TEST(alias_refused)
{
	struct conf		*c = yaml("greeting: &x hi\nuser: *x\n"
	    "port: [*x]\n");
	const char *const	 errors[] = {
		"t.yaml:2: user: aliases are not supported",
		"t.yaml:3: port: aliases are not supported",
		NULL
	};

	assert_msgs(c->errors, c->nerrors, errors);
	ck_assert_ptr_null(conf_str(c, OPT_USER));
	conf_free(c);
}
END_TEST

START_TEST(unknown_key_warning)
{
	struct conf		*c;
	const struct conf_item	*item;
	const char *const	 errors[] = {
		"t.yaml:2: max_server: unknown key (did you mean "
		    "\"max_servers\"?)",
		NULL
	};
	const char *const	 warnings[] = {
		"t.yaml:4: warning: words: unknown key (kept for the handler, "
		    "which declares no options)",
		NULL
	};

	c = yaml("handler: echo\nmax_server: 3\nwords:\n  - a\n  - b\n");
	ck_assert_uint_eq(c->nerrors, 0);
	conf_check_unknown(c);
	assert_msgs(c->errors, c->nerrors, errors);
	assert_msgs(c->warnings, c->nwarnings, warnings);
	ck_assert_ptr_nonnull(item = conf_lookup(c, "words"));
	ck_assert_uint_eq(item->n, 2);
	ck_assert_str_eq(item->v[1].str, "b");
	conf_free(c);
}
END_TEST

START_TEST(all_errors_reported)
{
	struct conf		*c;
	const char *const	 want[] = {
		"t.yaml:1: max_servers: \"abc\" is not a number",
		"t.yaml:3: proto: \"sctp\" is not one of tcp, udp, unix, ssl",
		"t.yaml:5: log_level: \"-1\" is out of range (0..4)",
		NULL
	};

	c = yaml("max_servers: abc\nuser: ok\nproto: [tcp, sctp]\n\n"
	    "log_level: -1\n");
	assert_msgs(c->errors, c->nerrors, want);
	ck_assert_str_eq(conf_str(c, OPT_USER), "ok");
	conf_free(c);
}
END_TEST

START_TEST(errors_before_syntax_error_kept)
{
	struct conf		*c;
	const char *const	 want[] = {
		"t.yaml:1: max_servers: \"abc\" is not a number",
		"t.yaml:3: yaml: column 1: did not find expected ',' or ']' "
		    "(while parsing a flow sequence started at line 2)",
		NULL
	};

	c = yaml("max_servers: abc\nport: [1\n");
	assert_msgs(c->errors, c->nerrors, want);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*suffix;
	int		 is_yaml;
} suffixes[] = {
	{ ".yaml", 1 },
	{ ".yml", 1 },
	{ ".YAML", 1 },
	{ ".conf", 0 },
	{ "", 0 },
};

/* The file name chooses the format: this text is only valid YAML. */
START_TEST(format_by_name)
{
	struct conf	*c = conf_new();
	char		*path, *want;

	path = tmp_file(suffixes[_i].suffix, "port:\n  - 80\n  - 81\n");
	if (suffixes[_i].is_yaml) {
		ck_assert_int_eq(conf_load_file(c, path), 0);
		ck_assert_uint_eq(conf_count(c, OPT_PORT), 2);
		ck_assert_str_eq(conf_value_at(c, OPT_PORT, 1)->file, path);
		ck_assert_int_eq(conf_value_at(c, OPT_PORT, 1)->line, 3);
	} else {
		ck_assert_int_eq(conf_load_file(c, path), -1);
		ck_assert_uint_eq(c->nerrors, 3);
		ck_assert_int_ne(asprintf(&want, "%s:1: port: needs a value",
		    path), -1);
		ck_assert_str_eq(c->errors[0], want);
		free(want);
	}
	unlink(path);
	free(path);
	conf_free(c);
}
END_TEST

/* One configuration, written in both formats. */
static const char kv_text[] =
	"# the same server, key/value\n"
	"handler echo\n"
	"plugin_dir = /opt/pfsd/plugins\n"
	"port 8080\n"
	"port localhost:8081/udp\n"
	"port /tmp/pfsd.sock|unix\n"
	"host ::1\n"
	"ipv: 6\n"
	"max_servers 8\n"
	"max_requests=500\n"
	"serialize semaphore\n"
	"background\n"
	"setsid no\n"
	"log_file syslog\n"
	"log_level 4\n"
	"user nobody\n"
	"group nogroup\n"
	"group daemon\n"
	"allow ^10\\.\n"
	"allow ^a\\#b$\n"
	"cidr_allow ::ffff:10.0.0.0/104\n"
	"cidr_deny 192.168.0.0/16\n"
	"greeting hello there   # the handler's own key\n";

static const char yaml_text[] =
	"# the same server, YAML\n"
	"handler: echo\n"
	"plugin_dir: /opt/pfsd/plugins\n"
	"port:\n"
	"  - 8080\n"
	"  - localhost:8081/udp\n"
	"  - /tmp/pfsd.sock|unix\n"
	"host: ::1\n"
	"ipv: 6\n"
	"max_servers: 8\n"
	"max_requests: 500\n"
	"serialize: semaphore\n"
	"background: true\n"
	"setsid: false\n"
	"log_file: syslog\n"
	"log_level: 4\n"
	"user: nobody\n"
	"group: [nogroup, daemon]\n"
	"allow:\n"
	"  - ^10\\.\n"
	"  - \"^a#b$\"\n"
	"cidr_allow: ::ffff:10.0.0.0/104\n"
	"cidr_deny: [192.168.0.0/16]\n"
	"greeting: hello there   # the handler's own key\n";

START_TEST(same_as_kv)
{
	struct conf	*ck, *cy;
	char		*pk, *py;

	ck = conf_new();
	ck_assert_int_eq(conf_parse_kv(ck, "t.conf", kv_text), 0);
	cy = conf_new();
	ck_assert_int_eq(conf_parse_yaml(cy, T_FILE, yaml_text,
	    strlen(yaml_text)), 0);
	pk = printed(ck);
	py = printed(cy);
	ck_assert_str_eq(py, pk);
	/* And it is what was written, not two equal blanks. */
	ck_assert_ptr_nonnull(strstr(pk, "\nallow ^a\\#b$\n"));
	ck_assert_ptr_nonnull(strstr(pk, "\nbackground 1\nsetsid 0\n"));
	ck_assert_ptr_nonnull(strstr(pk, "\ngreeting hello there\n"));
	ck_assert_uint_eq(conf_count(ck, OPT_PORT), 3);
	ck_assert_uint_eq(conf_count(cy, OPT_PORT), 3);
	ck_assert_str_eq(conf_at(cy, OPT_PORT, 2), conf_at(ck, OPT_PORT, 2));
	free(pk);
	free(py);
	conf_free(ck);
	conf_free(cy);
}
END_TEST

/* pfsd -t on a file written from len bytes of text; its output. */
static int
check_file(const char *name, const char *text, size_t len, char *out,
    size_t outlen)
{
	const char	*av[] = { "-t", "-c", NULL, NULL };
	char		*path = h_path(name);
	FILE		*f;

	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	av[2] = path;
	return h_run(av, out, outlen);
}

/*
 * YAML "\0" in a value or a key: the C string would end there ("...\0/udp"
 * silently became a TCP port).  Refused, like control characters in the
 * key/value format.
 */
START_TEST(test_yaml_nul_refused)
{
	static const char	 val[] = "handler: echo\n"
				    "port: \"127.0.0.1:20999\\0/udp\"\n";
	static const char	 key[] = "handler: echo\n\"port\\0x\": 1\n";
	char			 out[4096], want[700];

	snprintf(want, sizeof(want), "%s:2: port: contains a control "
	    "character", h_path("nul.yaml"));
	h_assert_refused(check_file("nul.yaml", val, sizeof(val) - 1, out,
	    sizeof(out)), out, want);
	snprintf(want, sizeof(want), "%s:2: yaml: a key contains a control "
	    "character", h_path("key.yaml"));
	h_assert_refused(check_file("key.yaml", key, sizeof(key) - 1, out,
	    sizeof(out)), out, want);
}
END_TEST

/*
 * Deep YAML: 80 KB of flow brackets (libyaml took seconds), then deep
 * block nesting: a clear error naming the line.
 */
START_TEST(test_yaml_depth_refused)
{
	char	*text, out[4096], want[700];
	size_t	 n = 40000, o;

	ck_assert_ptr_nonnull(text = malloc(2 * n + 64));
	o = (size_t)sprintf(text, "handler: echo\nport: ");
	memset(text + o, '[', n);
	memset(text + o + n, ']', n);
	o += 2 * n;
	text[o++] = '\n';
	snprintf(want, sizeof(want), "%s:2: yaml: nested deeper than 32 "
	    "levels", h_path("deep.yaml"));
	h_assert_refused(check_file("deep.yaml", text, o, out, sizeof(out)),
	    out, want);

	o = (size_t)sprintf(text, "handler: echo\nport:\n");
	for (n = 0; n < 2000; n++)
		o += (size_t)sprintf(text + o, "- ");
	o += (size_t)sprintf(text + o, "x\n");
	snprintf(want, sizeof(want), "%s:3: yaml: nested deeper than 32 "
	    "levels", h_path("block.yaml"));
	h_assert_refused(check_file("block.yaml", text, o, out, sizeof(out)),
	    out, want);
	free(text);
}
END_TEST

/* Brackets in quoted values and comments are not nesting. */
START_TEST(test_yaml_brackets_in_strings_ok)
{
	char	text[1024], out[4096], b[41];
	int	status;

	memset(b, '[', 40);
	b[40] = '\0';
	snprintf(text, sizeof(text), "handler: %s\nport: 127.0.0.1:%d\n"
	    "# %s\nsyslog_ident: \"%s\"\nlog_level: '%s''x' # %s\n",
	    PLUGIN("echo"), h_free_port(), b, b, b, b);
	status = check_file("ok.yaml", text, strlen(text), out, sizeof(out));
	/* log_level is refused for what it is, not for depth */
	ck_assert_msg(strstr(out, "nested") == NULL, "%s", out);
	ck_assert_msg(strstr(out, "log_level:") != NULL, "%s", out);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 78);
	snprintf(text, sizeof(text), "handler: %s\nport: 127.0.0.1:%d\n"
	    "# %s\nsyslog_ident: \"%s\"\n", PLUGIN("echo"), h_free_port(),
	    b, b);
	status = check_file("ok.yaml", text, strlen(text), out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s",
	    out);
}
END_TEST

/* A YAML file larger than any configuration: refused before parsing. */
START_TEST(test_yaml_size_refused)
{
	size_t	 n = 4 * 1024 * 1024 + 1;
	char	*text, out[4096], want[700];

	ck_assert_ptr_nonnull(text = malloc(n));
	memset(text, '#', n);
	text[n - 1] = '\n';
	snprintf(want, sizeof(want), "%s: yaml: %zu bytes; a configuration "
	    "may have at most %d", h_path("big.yaml"), n, 4 * 1024 * 1024);
	h_assert_refused(check_file("big.yaml", text, n, out, sizeof(out)),
	    out, want);
	free(text);
}
END_TEST

Suite *
yaml_suite(void)
{
	Suite	*s = suite_create("yaml");
	TCase	*tc;

	tc = tcase_create("values");
	tcase_add_test(tc, values);
	tcase_add_loop_test(tc, flag_words, 0, nitems(flags));
	tcase_add_test(tc, list_key_scalar);
	tcase_add_test(tc, empty_documents);
	tcase_add_test(tc, several_documents);
	tcase_add_loop_test(tc, format_by_name, 0, nitems(suffixes));
	tcase_add_test(tc, same_as_kv);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, error_messages, 0, nitems(errs));
	tcase_add_test(tc, alias_refused);
	tcase_add_test(tc, unknown_key_warning);
	tcase_add_test(tc, all_errors_reported);
	tcase_add_test(tc, errors_before_syntax_error_kept);
	tcase_add_test(tc, test_yaml_nul_refused);
	tcase_add_test(tc, test_yaml_depth_refused);
	tcase_add_test(tc, test_yaml_brackets_in_strings_ok);
	tcase_add_test(tc, test_yaml_size_refused);
	suite_add_tcase(s, tc);
	return s;
}
