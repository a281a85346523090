/*
 * check_conf.c - the option table, the key/value lexer, the store
 * (precedence, lists, unknown keys), every error message of the key/value
 * front end, -T output and --help.
 */
#include "internal.h"
#include "conf_helpers.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#define T_FILE	"t.conf"

Suite	*conf_suite(void);

static struct conf *
kv(const char *text)
{
	struct conf	*c = conf_new();

	conf_parse_kv(c, T_FILE, text);
	return c;
}

/* A file in /tmp holding TEXT; the name ends in SUFFIX. */
static char *
tmp_file(const char *suffix, const char *text, size_t len)
{
	char	*path;
	int	 fd;

	ck_assert_int_ne(asprintf(&path, "/tmp/pfsd-conf-XXXXXX%s", suffix),
	    -1);
	ck_assert_int_ne(fd = mkstemps(path, (int)strlen(suffix)), -1);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* --- the option table ---------------------------------------------------- */

START_TEST(table_entries_complete)
{
	const struct option_def	*o;
	const char		*name;
	struct conf		*c = conf_new();
	size_t			 i;

	for (i = 0; i < OPT__COUNT; i++) {
		o = &conf_options[i];
		ck_assert_msg(o->name != NULL, "option %zu has no name", i);
		/* lowercase, but for Net::Server's SSL_ prefix */
		name = o->name + (strncmp(o->name, "SSL_", 4) == 0 ? 4 : 0);
		ck_assert_msg(name[strspn(name,
		    "abcdefghijklmnopqrstuvwxyz_")] == '\0',
		    "%s: not a lowercase key", o->name);
		ck_assert_msg(o->help != NULL && *o->help != '\0',
		    "%s: no help", o->name);
		ck_assert_int_eq(conf_find(o->name), (int)i);
		ck_assert_msg(o->type != OPT_T_ENUM || o->choices != NULL,
		    "%s: enum without choices", o->name);
		ck_assert_msg(o->type != OPT_T_INT || o->min <= o->max,
		    "%s: min > max", o->name);
		/* Every built-in default passes its own validation. */
		if (o->def != NULL)
			ck_assert_int_eq(conf_set(c, o->name, o->def,
			    CONF_FILE, T_FILE, 1), 0);
	}
	ck_assert_uint_eq(c->nerrors, 0);
	conf_free(c);
}
END_TEST

static const struct {
	enum opt_id	 id;
	const char	*str;		/* NULL: unset */
	long		 num;
} defaults[] = {
	{ OPT_CONF_FILE, NULL, 0 },
	{ OPT_HANDLER, NULL, 0 },
	{ OPT_PORT, "20203", 20203 },
	{ OPT_HOST, "*", 0 },
	{ OPT_PROTO, "tcp", 0 },
	{ OPT_IPV, "*", 2 },
	{ OPT_LISTEN, "4096", SOMAXCONN },
	{ OPT_MAX_SERVERS, "50", 50 },
	{ OPT_MAX_REQUESTS, "1000", 1000 },
	{ OPT_MAX_REQUESTS_JITTER, "0", 0 },
	{ OPT_CHECK_FOR_DEAD, "30", 30 },
	{ OPT_MAX_DEQUEUE, NULL, 0 },
	{ OPT_CHECK_FOR_DEQUEUE, NULL, 0 },
	{ OPT_SERIALIZE, NULL, 0 },
	{ OPT_LOCK_FILE, NULL, 0 },
	{ OPT_STANDBY_MS, "2", 2 },
	{ OPT_GRACEFUL_TIMEOUT, "30", 30 },
	{ OPT_REQUEST_TIMEOUT, "0", 0 },
	{ OPT_HUP_CHECK_TIMEOUT, "30", 30 },
	{ OPT_USER, NULL, 0 },
	{ OPT_GROUP, NULL, 0 },
	{ OPT_CHROOT, NULL, 0 },
	{ OPT_PID_FILE, NULL, 0 },
	{ OPT_BACKGROUND, "0", 0 },
	{ OPT_SETSID, "0", 0 },
	{ OPT_LOG_FILE, NULL, 0 },
	{ OPT_LOG_LEVEL, "2", 2 },
	{ OPT_SYSLOG_IDENT, "pfsd", 0 },
	{ OPT_SYSLOG_FACILITY, "daemon", 3 },
	{ OPT_ALLOW, NULL, 0 },
	{ OPT_DENY, NULL, 0 },
	{ OPT_CIDR_ALLOW, NULL, 0 },
	{ OPT_CIDR_DENY, NULL, 0 },
	{ OPT_REVERSE_LOOKUPS, "0", 0 },
	{ OPT_DOUBLE_REVERSE_LOOKUPS, "0", 0 },
	{ OPT_NO_CLIENT_STDOUT, "0", 0 },
	{ OPT_STATUS_SOCKET, NULL, 0 },
	{ OPT_PROXY_PROTOCOL, "off", 0 },
	{ OPT_PROXY_ALLOW, "loopback", 0 },
	{ OPT_PROXY_TIMEOUT, "5", 5 },
	{ OPT_UDP_RECV_LEN, "65536", 65536 },
	{ OPT_UDP_RECV_FLAGS, "0", 0 },
	{ OPT_SIG_PASSTHROUGH, NULL, 0 },
	{ OPT_PROCESS_TITLES, "1", 1 },
	{ OPT_SCHED_POLICY, "batch", 0 },
	{ OPT_ACCESS_LOG, NULL, 0 },
	{ OPT_ACCESS_LOG_FORMAT, "text", 0 },
	{ OPT_METRICS_LISTEN, NULL, 0 },
	{ OPT_METRICS_ALLOW, "loopback", 0 },
	{ OPT_SSL_CERT_FILE, NULL, 0 },
	{ OPT_SSL_KEY_FILE, NULL, 0 },
	{ OPT_SSL_CA_FILE, NULL, 0 },
	{ OPT_SSL_CA_PATH, NULL, 0 },
	{ OPT_SSL_VERIFY_MODE, "none", 0 },
	{ OPT_SSL_CIPHER_LIST, NULL, 0 },
	{ OPT_SSL_VERSION, "TLSv1.2", 0 },
	{ OPT_SSL_HANDSHAKE_TIMEOUT, "10", 10 },
	{ OPT_SSL_TICKET_LIFETIME, "3600", 3600 },
	{ OPT_SSL_KTLS, "auto", 0 },
};

START_TEST(table_defaults)
{
	struct conf	*c = conf_new();
	enum opt_id	 id = defaults[_i].id;

	if (defaults[_i].str == NULL) {
		ck_assert_ptr_null(conf_str(c, id));
		ck_assert_uint_eq(conf_count(c, id), 0);
	} else {
		ck_assert_str_eq(conf_str(c, id), defaults[_i].str);
		ck_assert_uint_eq(conf_count(c, id), 1);
		ck_assert_str_eq(conf_at(c, id, 0), defaults[_i].str);
	}
	ck_assert_int_eq(conf_num(c, id), defaults[_i].num);
	ck_assert_int_eq(conf_isset(c, id), 0);
	conf_free(c);
}
END_TEST

START_TEST(table_defaults_cover_all)
{
	/* plugin_dir is the one default that is not in the table above. */
	ck_assert_uint_eq(nitems(defaults), OPT__COUNT - 1);
}
END_TEST

START_TEST(table_plugin_dir_default)
{
	struct conf	*c = conf_new();

	ck_assert_str_eq(conf_str(c, OPT_PLUGIN_DIR), paths_plugin_dir());
	ck_assert_int_eq(conf_isset(c, OPT_PLUGIN_DIR), 0);
	conf_free(c);
}
END_TEST

static const struct {
	const char	*key, *value;
	int		 ok;
} bounds[] = {
	{ "max_servers", "0", 0 },
	{ "max_servers", "1", 1 },
	{ "max_servers", "4096", 1 },
	{ "max_servers", "4097", 0 },
	{ "max_requests", "0", 0 },
	{ "max_requests", "1", 1 },
	{ "max_requests_jitter", "-1", 0 },
	{ "max_requests_jitter", "0", 1 },
	{ "check_for_dead", "0", 0 },
	{ "check_for_dead", "1", 1 },
	{ "graceful_timeout", "-1", 0 },
	{ "graceful_timeout", "0", 1 },
	{ "request_timeout", "-1", 0 },
	{ "request_timeout", "0", 1 },
	{ "log_level", "-1", 0 },
	{ "log_level", "0", 1 },
	{ "log_level", "4", 1 },
	{ "log_level", "5", 0 },
	{ "listen", "0", 0 },
	{ "listen", "1", 1 },
	{ "max_dequeue", "64", 1 },
	{ "max_dequeue", "65", 0 },
	{ "check_for_dequeue", "0", 0 },
	{ "serialize", "flock", 1 },
	{ "serialize", "semaphore", 1 },
	{ "serialize", "pipe", 1 },
	{ "serialize", "none", 1 },
	{ "serialize", "fifo", 0 },
	{ "proto", "unix", 1 },
	{ "ipv", "4", 1 },
	{ "ipv", "6", 1 },
	{ "ipv", "46", 0 },
	{ "syslog_facility", "local7", 1 },
	{ "syslog_facility", "local8", 0 },
};

START_TEST(table_bounds)
{
	struct conf	*c = conf_new();
	int		 rc;

	rc = conf_set(c, bounds[_i].key, bounds[_i].value, CONF_FILE, T_FILE,
	    1);
	ck_assert_msg(rc == (bounds[_i].ok ? 0 : -1), "%s %s: %d",
	    bounds[_i].key, bounds[_i].value, rc);
	ck_assert_uint_eq(c->nerrors, bounds[_i].ok ? 0 : 1);
	conf_free(c);
}
END_TEST

START_TEST(table_find)
{
	ck_assert_int_eq(conf_find("max_servers"), OPT_MAX_SERVERS);
	ck_assert_int_eq(conf_find("max-servers"), OPT_MAX_SERVERS);
	ck_assert_int_eq(conf_find("max_requests_jitter"),
	    OPT_MAX_REQUESTS_JITTER);
	ck_assert_int_eq(conf_find("MAX_SERVERS"), -1);
	ck_assert_int_eq(conf_find("max"), -1);
	ck_assert_int_eq(conf_find("max_servers_"), -1);
	ck_assert_int_eq(conf_find(""), -1);
}
END_TEST

/* --- the key/value lexer ------------------------------------------------- */

static const struct {
	const char	*text;
	enum opt_id	 id;
	const char	*want;
} lex[] = {
	{ "user nobody", OPT_USER, "nobody" },
	{ "user=nobody", OPT_USER, "nobody" },
	{ "user = nobody", OPT_USER, "nobody" },
	{ "user: nobody", OPT_USER, "nobody" },
	{ "user : nobody", OPT_USER, "nobody" },
	{ "user\tnobody", OPT_USER, "nobody" },
	{ "user:\tnobody", OPT_USER, "nobody" },
	{ "  \tuser   nobody \t ", OPT_USER, "nobody" },
	{ "user nobody\r", OPT_USER, "nobody" },
	{ "user nobody \r", OPT_USER, "nobody" },
	{ "user nobody # who we become", OPT_USER, "nobody" },
	{ "user nobody#no blank needed", OPT_USER, "nobody" },
	{ "user \"nobody\"", OPT_USER, "\"nobody\"" },
	{ "user :nobody", OPT_USER, ":nobody" },
	{ "syslog_ident a b\t c", OPT_SYSLOG_IDENT, "a b\t c" },
	{ "allow ^10\\.0\\.0\\.\\#1$", OPT_ALLOW, "^10\\.0\\.0\\.#1$" },
	{ "allow a\\#b # c", OPT_ALLOW, "a#b" },
	{ "host ::1", OPT_HOST, "::1" },
	{ "host=::1", OPT_HOST, "::1" },
	{ "host = ::1", OPT_HOST, "::1" },
	{ "host: ::1", OPT_HOST, "::1" },
	{ "host\t::1", OPT_HOST, "::1" },
	{ "cidr_allow ::ffff:10.0.0.0/104", OPT_CIDR_ALLOW,
	    "::ffff:10.0.0.0/104" },
	{ "port localhost:8080/udp", OPT_PORT, "localhost:8080/udp" },
	{ "port [::1]:8080", OPT_PORT, "[::1]:8080" },
	{ "port localhost 20201 ipv4 tcp", OPT_PORT,
	    "localhost 20201 ipv4 tcp" },
	{ "port: /tmp/s|unix", OPT_PORT, "/tmp/s|unix" },
	{ "log_file = =odd", OPT_LOG_FILE, "=odd" },
	{ "background", OPT_BACKGROUND, "1" },
	{ "background # alone", OPT_BACKGROUND, "1" },
	{ "background\r", OPT_BACKGROUND, "1" },
	{ "background=", OPT_BACKGROUND, "1" },
	{ "background yes", OPT_BACKGROUND, "1" },
	{ "background Off", OPT_BACKGROUND, "0" },
	{ "background true", OPT_BACKGROUND, "1" },
	{ "max-servers 7", OPT_MAX_SERVERS, "7" },
	{ "--max_servers 7", OPT_MAX_SERVERS, "7" },
	{ "max_servers +7", OPT_MAX_SERVERS, "7" },
	{ "max_servers 007", OPT_MAX_SERVERS, "7" },
	{ "serialize FLOCK", OPT_SERIALIZE, "flock" },
	{ "proto UDP", OPT_PROTO, "udp" },
	{ "ipv 6", OPT_IPV, "6" },
	{ "\xef\xbb\xbfuser nobody", OPT_USER, "nobody" },
};

START_TEST(lex_forms)
{
	struct conf	*c = kv(lex[_i].text);

	ck_assert_msg(c->nerrors == 0, "\"%s\": %s", lex[_i].text,
	    c->nerrors > 0 ? c->errors[0] : "");
	ck_assert_uint_eq(c->nwarnings, 0);
	ck_assert_uint_eq(conf_count(c, lex[_i].id), 1);
	ck_assert_str_eq(conf_str(c, lex[_i].id), lex[_i].want);
	ck_assert_int_eq(conf_isset(c, lex[_i].id), 1);
	conf_free(c);
}
END_TEST

START_TEST(lex_lines)
{
	struct conf		*c;
	const struct conf_value	*v;

	c = kv("# a comment\n\n   \t\n  # indented comment\r\n"
	    "max_servers 3\r\nuser x\r\n\tgroup a\n\ngroup b");
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 3);
	ck_assert_str_eq(conf_str(c, OPT_USER), "x");
	ck_assert_uint_eq(conf_count(c, OPT_GROUP), 2);
	ck_assert_str_eq(conf_at(c, OPT_GROUP, 0), "a");
	ck_assert_str_eq(conf_at(c, OPT_GROUP, 1), "b");
	ck_assert_ptr_null(conf_at(c, OPT_GROUP, 2));
	v = conf_value_at(c, OPT_MAX_SERVERS, 0);
	ck_assert_str_eq(v->file, T_FILE);
	ck_assert_int_eq(v->line, 5);
	ck_assert_int_eq(conf_value_at(c, OPT_GROUP, 1)->line, 9);
	ck_assert_ptr_null(conf_value_at(c, OPT_GROUP, 2));
	conf_free(c);
}
END_TEST

START_TEST(lex_empty)
{
	struct conf	*c = kv("");

	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_int_eq(conf_isset(c, OPT_USER), 0);
	conf_free(c);
	c = kv("\n\n# nothing\n");
	ck_assert_uint_eq(c->nerrors, 0);
	conf_free(c);
}
END_TEST

/* --- error messages ------------------------------------------------------ */

#define LONGKEY "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
	const char	*text;
	const char	*want;
} errs[] = {
	{ "max_servers abc",
	    "t.conf:1: max_servers: \"abc\" is not a number" },
	{ "max_servers 12abc",
	    "t.conf:1: max_servers: \"12abc\" is not a number" },
	{ "max_servers 0x10",
	    "t.conf:1: max_servers: \"0x10\" is not a number" },
	{ "max_servers 1.5",
	    "t.conf:1: max_servers: \"1.5\" is not a number" },
	{ "max_servers -",
	    "t.conf:1: max_servers: \"-\" is not a number" },
	{ "max_servers",
	    "t.conf:1: max_servers: needs a value" },
	{ "max_servers =  ",
	    "t.conf:1: max_servers: needs a value" },
	{ "user # just a comment",
	    "t.conf:1: user: needs a value" },
	{ "max_servers 0",
	    "t.conf:1: max_servers: \"0\" is out of range (1..4096)" },
	{ "max_servers 4097",
	    "t.conf:1: max_servers: \"4097\" is out of range (1..4096)" },
	{ "max_servers 99999999999999999999999",
	    "t.conf:1: max_servers: \"99999999999999999999999\" is out of "
	    "range (1..4096)" },
	{ "log_level 5",
	    "t.conf:1: log_level: \"5\" is out of range (0..4)" },
	{ "graceful_timeout -1",
	    "t.conf:1: graceful_timeout: \"-1\" is out of range (0 or more)" },
	{ "listen 0",
	    "t.conf:1: listen: \"0\" is out of range (1 or more)" },
	{ "listen 3000000000",
	    "t.conf:1: listen: \"3000000000\" is out of range "
	    "(at most 2147483647)" },
	{ "max_requests 99999999999999999999999",
	    "t.conf:1: max_requests: \"99999999999999999999999\" is out of "
	    "range (at most 9223372036854775807)" },
	{ "max_requests -99999999999999999999999",
	    "t.conf:1: max_requests: \"-99999999999999999999999\" is out of "
	    "range (1 or more)" },
	{ "serialize fifo",
	    "t.conf:1: serialize: \"fifo\" is not one of flock, semaphore, "
	    "pipe, none" },
	{ "proto sctp",
	    "t.conf:1: proto: \"sctp\" is not one of tcp, udp, unix, ssl" },
	{ "ipv 5",
	    "t.conf:1: ipv: \"5\" is not one of 4, 6, *" },
	{ "background maybe",
	    "t.conf:1: background: \"maybe\" is not a flag (use 1/0, yes/no, "
	    "true/false or on/off)" },
	{ "user a\x01" "b",
	    "t.conf:1: user: contains a control character" },
	{ "max.servers 5",
	    "t.conf:1: not a \"key value\" line: \"max.servers 5\"" },
	{ "max_servers:5",
	    "t.conf:1: not a \"key value\" line: \"max_servers:5\"" },
	{ "host::1",
	    "t.conf:1: not a \"key value\" line: \"host::1\"" },
	{ "= 5",
	    "t.conf:1: not a \"key value\" line: \"= 5\"" },
	{ "-x 5",
	    "t.conf:1: not a \"key value\" line: \"-x 5\"" },
	{ "\\# not a comment",
	    "t.conf:1: not a \"key value\" line: \"# not a comment\"" },
	{ LONGKEY LONGKEY ".x",
	    "t.conf:1: not a \"key value\" line: \"" LONGKEY
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
};

START_TEST(error_messages)
{
	struct conf		*c = kv(errs[_i].text);
	const char *const	 want[] = { errs[_i].want, NULL };

	assert_msgs(c->errors, c->nerrors, want);
	ck_assert_uint_eq(c->nwarnings, 0);
	conf_free(c);
}
END_TEST

START_TEST(error_format)
{
	struct conf		*c = conf_new();
	const char *const	 errors[] = {
		"f.conf:3: port: \"x\": bad",
		"f.conf: handler: required",
		"f.conf: cannot read: gone",
		"command line: -c: needs a file name",
		"default: port: \"20203\": in use",
		NULL
	};
	const char *const	 warnings[] = { "f.conf:7: warning: foo: odd 42",
		NULL };

	conf_error(c, "f.conf", 3, "port", "\"%s\": bad", "x");
	conf_error(c, "f.conf", 0, "handler", "required");
	conf_error(c, "f.conf", 0, NULL, "cannot read: %s", "gone");
	conf_error(c, "command line", 0, "-c", "needs a file name");
	conf_error(c, conf_value_at(c, OPT_PORT, 0)->file,
	    conf_value_at(c, OPT_PORT, 0)->line, "port", "\"%s\": in use",
	    conf_str(c, OPT_PORT));
	conf_warn(c, "f.conf", 7, "foo", "odd %d", 42);
	assert_msgs(c->errors, c->nerrors, errors);
	assert_msgs(c->warnings, c->nwarnings, warnings);
	conf_free(c);
}
END_TEST

START_TEST(error_all_reported)
{
	struct conf		*c;
	const char *const	 want[] = {
		"t.conf:1: max_servers: \"abc\" is not a number",
		"t.conf:3: serialize: \"x\" is not one of flock, semaphore, "
		    "pipe, none",
		"t.conf:5: log_level: \"9\" is out of range (0..4)",
		NULL
	};

	c = kv("max_servers abc\nuser ok\nserialize x\n\nlog_level 9\n");
	assert_msgs(c->errors, c->nerrors, want);
	/* The good line between them still counts. */
	ck_assert_str_eq(conf_str(c, OPT_USER), "ok");
	conf_free(c);
}
END_TEST

START_TEST(error_keeps_previous_value)
{
	struct conf	*c = kv("max_servers 7\nmax_servers abc\n");

	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 7);
	conf_free(c);
}
END_TEST

START_TEST(error_missing_file)
{
	struct conf		*c = conf_new();
	const char *const	 want[] = {
		"/nonexistent/pfsd.conf: cannot read: No such file or "
		    "directory",
		"/tmp: cannot read: Is a directory",
		NULL
	};

	ck_assert_int_eq(conf_load_file(c, "/nonexistent/pfsd.conf"), -1);
	ck_assert_int_eq(conf_load_file(c, "/tmp"), -1);
	assert_msgs(c->errors, c->nerrors, want);
	conf_free(c);
}
END_TEST

START_TEST(error_nul_byte)
{
	struct conf	*c = conf_new();
	char		*path, *want;

	path = tmp_file(".conf", "user a\0b\n", 9);
	ck_assert_int_eq(conf_load_file(c, path), -1);
	ck_assert_int_ne(asprintf(&want, "%s: contains a NUL byte, not a "
	    "configuration file", path), -1);
	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_str_eq(c->errors[0], want);
	unlink(path);
	free(path);
	free(want);
	conf_free(c);
}
END_TEST

START_TEST(load_file_kv)
{
	struct conf	*c = conf_new();
	char		*path;
	const char	*text = "max_servers 9\nport 80\nport 81\n";

	path = tmp_file(".conf", text, strlen(text));
	ck_assert_int_eq(conf_load_file(c, path), 0);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 9);
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 2);
	ck_assert_str_eq(conf_value_at(c, OPT_PORT, 1)->file, path);
	ck_assert_int_eq(conf_value_at(c, OPT_PORT, 1)->line, 3);
	unlink(path);
	free(path);
	conf_free(c);
}
END_TEST

/* --- unknown keys -------------------------------------------------------- */

/*
 * With a handler that declares nothing: a near miss of one of pfsd's own
 * keys is an error ("usr nobody" must not run the server as root), any
 * other unknown key a warning, kept for the handler.
 */
#define KEPT	"unknown key (kept for the handler, which declares no options)"
static const struct {
	const char	*text;
	const char	*want;
	int		 error;
} unknown[] = {
	{ "max_server 5",
	    "t.conf:1: max_server: unknown key (did you mean "
	    "\"max_servers\"?)", 1 },
	{ "maxservers 5",
	    "t.conf:1: maxservers: unknown key (did you mean "
	    "\"max_servers\"?)", 1 },
	{ "Max_Servers 5",
	    "t.conf:1: Max_Servers: unknown key (did you mean "
	    "\"max_servers\"?)", 1 },
	{ "serialise flock",
	    "t.conf:1: serialise: unknown key (did you mean \"serialize\"?)",
	    1 },
	{ "usr nobody",
	    "t.conf:1: usr: unknown key (did you mean \"user\"?)", 1 },
	{ "loglevel 3",
	    "t.conf:1: loglevel: unknown key (did you mean \"log_level\"?)",
	    1 },
	{ "pidfile /run/p",
	    "t.conf:1: pidfile: unknown key (did you mean \"pid_file\"?)", 1 },
	{ "shout", "t.conf:1: warning: shout: " KEPT, 0 },
	{ "greeting hello", "t.conf:1: warning: greeting: " KEPT, 0 },
	{ "xy 1", "t.conf:1: warning: xy: " KEPT, 0 },
};

START_TEST(unknown_key_warning)
{
	struct conf		*c = kv(unknown[_i].text);
	const char *const	 want[] = { unknown[_i].want, NULL };
	const char *const	 none[] = { NULL };

	/* nothing is said before the handler is known */
	ck_assert_uint_eq(c->nerrors + c->nwarnings, 0);
	conf_check_unknown(c);
	assert_msgs(c->warnings, c->nwarnings, unknown[_i].error ? none : want);
	assert_msgs(c->errors, c->nerrors, unknown[_i].error ? want : none);
	conf_free(c);
}
END_TEST

START_TEST(unknown_key_readable)
{
	struct conf		*c;
	const struct conf_item	*item;
	const char *const	 want[] = {
		"t.conf:1: warning: greeting: " KEPT,
		"t.conf:2: warning: my-list: " KEPT,
		"t.conf:4: warning: shout: " KEPT,
		NULL
	};

	c = kv("greeting hello there\nmy-list a\nmy_list b\nshout\n");
	conf_check_unknown(c);
	ck_assert_uint_eq(c->nerrors, 0);
	/* One warning per key, not per value. */
	assert_msgs(c->warnings, c->nwarnings, want);
	ck_assert_ptr_nonnull(item = conf_lookup(c, "greeting"));
	ck_assert_uint_eq(item->n, 1);
	ck_assert_str_eq(item->v[0].str, "hello there");
	ck_assert_int_eq(item->v[0].line, 1);
	/* '-' and '_' are one key; every value is kept, in order. */
	ck_assert_ptr_nonnull(item = conf_lookup(c, "my_list"));
	ck_assert_ptr_eq(conf_lookup(c, "my-list"), item);
	ck_assert_uint_eq(item->n, 2);
	ck_assert_str_eq(item->v[0].str, "a");
	ck_assert_str_eq(item->v[1].str, "b");
	ck_assert_str_eq(conf_lookup(c, "shout")->v[0].str, "1");
	ck_assert_ptr_null(conf_lookup(c, "nonesuch"));
	/* Known keys are found too, defaults included. */
	ck_assert_ptr_eq(conf_lookup(c, "max_servers"),
	    &c->opt[OPT_MAX_SERVERS]);
	conf_free(c);
}
END_TEST

START_TEST(bad_key_name)
{
	struct conf	*c = conf_new();

	ck_assert_int_eq(conf_set(c, "foo bar", "1", CONF_FILE, "t.yaml", 4),
	    -1);
	ck_assert_int_eq(conf_set(c, "", "1", CONF_CMDLINE, "command line",
	    0), -1);
	ck_assert_uint_eq(c->nerrors, 2);
	ck_assert_str_eq(c->errors[0],
	    "t.yaml:4: \"foo bar\": not a valid key name");
	ck_assert_str_eq(c->errors[1],
	    "command line: \"\": not a valid key name");
	ck_assert_uint_eq(c->nextra, 0);
	conf_free(c);
}
END_TEST

/* --- precedence ---------------------------------------------------------- */

START_TEST(store_scalar_precedence)
{
	struct conf	*c = conf_new();

	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 50);
	conf_set(c, "max_servers", "10", CONF_FILE, "f", 1);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 10);
	ck_assert_int_eq(conf_isset(c, OPT_MAX_SERVERS), 1);
	conf_set(c, "max_servers", "11", CONF_FILE, "f", 2);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 11);
	ck_assert_uint_eq(conf_count(c, OPT_MAX_SERVERS), 1);
	conf_set(c, "max_servers", "8", CONF_CMDLINE, "command line", 0);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 8);
	/* A file read after the command line does not override it. */
	conf_set(c, "max_servers", "12", CONF_FILE, "f", 3);
	ck_assert_int_eq(conf_num(c, OPT_MAX_SERVERS), 8);
	ck_assert_str_eq(conf_value_at(c, OPT_MAX_SERVERS, 0)->file,
	    "command line");
	ck_assert_int_eq(conf_value_at(c, OPT_MAX_SERVERS, 0)->line, 0);
	ck_assert_uint_eq(c->nerrors, 0);
	conf_free(c);
}
END_TEST

START_TEST(store_list_precedence)
{
	struct conf	*c = conf_new();

	ck_assert_uint_eq(conf_count(c, OPT_PORT), 1);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 0), "20203");
	conf_set(c, "port", "80", CONF_FILE, "f", 1);
	conf_set(c, "port", "81", CONF_FILE, "f", 2);
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 2);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 0), "80");
	ck_assert_str_eq(conf_at(c, OPT_PORT, 1), "81");
	ck_assert_str_eq(conf_str(c, OPT_PORT), "81");
	conf_set(c, "port", "90", CONF_CMDLINE, "command line", 0);
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 1);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 0), "90");
	conf_set(c, "port", "91", CONF_CMDLINE, "command line", 0);
	ck_assert_uint_eq(conf_count(c, OPT_PORT), 2);
	ck_assert_str_eq(conf_at(c, OPT_PORT, 1), "91");
	conf_free(c);
}
END_TEST

START_TEST(store_bad_value_drops_nothing)
{
	struct conf	*c = conf_new();

	conf_set(c, "proto", "udp", CONF_FILE, "f", 1);
	ck_assert_int_eq(conf_set(c, "proto", "sctp", CONF_CMDLINE,
	    "command line", 0), -1);
	ck_assert_uint_eq(conf_count(c, OPT_PROTO), 1);
	ck_assert_str_eq(conf_str(c, OPT_PROTO), "udp");
	ck_assert_int_eq(conf_num(c, OPT_PROTO), 1);
	ck_assert_str_eq(c->errors[0], "command line: proto: \"sctp\" is not "
	    "one of tcp, udp, unix, ssl");
	conf_free(c);
}
END_TEST

START_TEST(store_enum_and_flag_numbers)
{
	struct conf	*c = kv("serialize Pipe\nbackground on\nsetsid NO\n");

	ck_assert_str_eq(conf_str(c, OPT_SERIALIZE), "pipe");
	ck_assert_int_eq(conf_num(c, OPT_SERIALIZE), 2);
	ck_assert_int_eq(conf_num(c, OPT_BACKGROUND), 1);
	ck_assert_int_eq(conf_num(c, OPT_SETSID), 0);
	ck_assert_str_eq(conf_str(c, OPT_SETSID), "0");
	conf_free(c);
}
END_TEST

/* --- -T and --help ------------------------------------------------------- */

START_TEST(print_effective)
{
	struct conf	*c;
	char		*out, *want;

	c = kv("handler echo\nport 80\nconf_file x.conf\nallow ^a\\#b$\n"
	    "allow ^c$\nbackground yes\nmax_servers 007\nserialize FLOCK\n"
	    "greeting hi there\nmy-list a\nmy_list b\n");
	ck_assert_uint_eq(c->nerrors, 0);
	out = printed(c);
	ck_assert_int_ne(asprintf(&want,
	    "handler echo\n"
	    "plugin_dir %s\n"
	    "host *\n"
	    "proto tcp\n"
	    "ipv *\n"
	    "listen %d\n"
	    "max_servers 7\n"
	    "max_requests 1000\n"
	    "max_requests_jitter 0\n"
	    "check_for_dead 30\n"
	    "serialize flock\n"
	    "standby_ms 2\n"
	    "graceful_timeout 30\n"
	    "request_timeout 0\n"
	    "hup_check_timeout 30\n"
	    "background 1\n"
	    "setsid 0\n"
	    "log_level 2\n"
	    "syslog_ident pfsd\n"
	    "syslog_facility daemon\n"
	    "allow ^a\\#b$\n"
	    "allow ^c$\n"
	    "reverse_lookups 0\n"
	    "double_reverse_lookups 0\n"
	    "no_client_stdout 0\n"
	    "proxy_protocol off\n"
	    "proxy_allow loopback\n"
	    "proxy_timeout 5\n"
	    "udp_recv_len 65536\n"
	    "udp_recv_flags 0\n"
	    "process_titles 1\n"
	    "sched_policy batch\n"
	    "access_log_format text\n"
	    "metrics_allow loopback\n"
	    "SSL_verify_mode none\n"
	    "SSL_version TLSv1.2\n"
	    "ssl_handshake_timeout 10\n"
	    "ssl_ticket_lifetime 3600\n"
	    "ssl_ktls auto\n"
	    "greeting hi there\n"
	    "my_list a\n"
	    "my_list b\n", paths_plugin_dir(), SOMAXCONN), -1);
	ck_assert_str_eq(out, want);
	free(out);
	free(want);
	conf_free(c);
}
END_TEST

START_TEST(print_reads_back)
{
	struct conf	*c, *c2;
	char		*out, *out2;

	c = kv("handler /x/h.so\nallow ^a\\#b$\nhost ::1\nhost 10.0.0.1\n"
	    "log_file /var/log/pfsd.log\nuser nobody\ngroup a\ngroup b\n"
	    "serialize semaphore\nsetsid on\nfoo-bar 1:2\n");
	out = printed(c);
	c2 = kv(out);
	ck_assert_uint_eq(c2->nerrors, 0);
	out2 = printed(c2);
	ck_assert_str_eq(out2, out);
	free(out);
	free(out2);
	conf_free(c);
	conf_free(c2);
}
END_TEST

/*
 * A value that starts like a separator ("= x", ": x", ":") is printed
 * after an explicit '=': "user = = x" reads back as "= x", where
 * "user = x" would read back as "x" (found by tests/fuzz/fuzz_kv).
 */
START_TEST(print_reads_back_separators)
{
	static const char *const lines[] = {
		"\nuser = = nobody\n", "\ngroup = : a\n", "\ngroup = :\n",
		"\nsyslog_ident = =\n", "\nfoo_bar = = 1\n"
	};
	struct conf	*c[2];
	char		*out;
	size_t		 i;

	c[0] = kv("user == nobody\ngroup =: a\ngroup = :\n"
	    "syslog_ident = =\nfoo-bar == 1\n");
	out = printed(c[0]);
	for (i = 0; i < nitems(lines); i++)
		ck_assert_msg(strstr(out, lines[i]) != NULL, "no \"%s\" in:\n%s",
		    lines[i], out);
	c[1] = kv(out);
	for (i = 0; i < nitems(c); i++) {
		ck_assert_uint_eq(c[i]->nerrors, 0);
		ck_assert_str_eq(conf_str(c[i], OPT_USER), "= nobody");
		ck_assert_uint_eq(conf_count(c[i], OPT_GROUP), 2);
		ck_assert_str_eq(conf_at(c[i], OPT_GROUP, 0), ": a");
		ck_assert_str_eq(conf_at(c[i], OPT_GROUP, 1), ":");
		ck_assert_str_eq(conf_str(c[i], OPT_SYSLOG_IDENT), "=");
		ck_assert_str_eq(conf_lookup(c[i], "foo_bar")->v[0].str, "= 1");
	}
	free(out);
	conf_free(c[0]);
	conf_free(c[1]);
}
END_TEST

START_TEST(usage_lists_every_key)
{
	char	*buf = NULL, *line, want[64];
	size_t	 len = 0, i;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	conf_usage(fp);
	fclose(fp);
	for (i = 0; i < OPT__COUNT; i++) {
		snprintf(want, sizeof want, "\n  --%s", conf_options[i].name);
		ck_assert_msg((line = strstr(buf, want)) != NULL,
		    "--help lacks %s", conf_options[i].name);
		line += strlen(want);
		/* a long flag's help starts on the next line */
		ck_assert_msg(*line == '=' || *line == ' ' || *line == '\n',
		    "%s: \"%.20s\"", conf_options[i].name, line);
	}
	ck_assert_ptr_nonnull(strstr(buf, "usage: pfsd"));
	ck_assert_ptr_nonnull(strstr(buf, "\n  -c FILE "));
	ck_assert_ptr_nonnull(strstr(buf, "\n  -t "));
	ck_assert_ptr_nonnull(strstr(buf, "\n  -T "));
	ck_assert_ptr_nonnull(strstr(buf, "\n  -h, --help "));
	ck_assert_ptr_nonnull(strstr(buf, "\n  -V, --version "));
	ck_assert_ptr_nonnull(strstr(buf, "\n  status "));
	ck_assert_ptr_nonnull(strstr(buf, "\n  --max_servers=N         "
	    "children kept running; 1..4096 [default: 50]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n  --background            "
	    "detach from the terminal [default: 0]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n  --port=TEXT             socket "
	    "to bind: [HOST:]PORT[/PROTO] or PATH/unix; may\n"
	    "                          be repeated [default: 20203]\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\n  --serialize=WORD        how idle "
	    "children wait for a client (default: none, a\n"
	    "                          wake-one wait, with any number of "
	    "sockets); one of\n"
	    "                          flock, semaphore, pipe, none\n"));
	/* Wrapped to fit a terminal. */
	for (line = buf; *line != '\0'; line += len + 1) {
		len = strcspn(line, "\n");
		ck_assert_msg(len <= 79, "long line: %.*s", (int)len, line);
		if (line[len] == '\0')
			break;
	}
	free(buf);
}
END_TEST

Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("table");
	tcase_add_test(tc, table_entries_complete);
	tcase_add_loop_test(tc, table_defaults, 0, nitems(defaults));
	tcase_add_test(tc, table_defaults_cover_all);
	tcase_add_test(tc, table_plugin_dir_default);
	tcase_add_loop_test(tc, table_bounds, 0, nitems(bounds));
	tcase_add_test(tc, table_find);
	suite_add_tcase(s, tc);

	tc = tcase_create("lexer");
	tcase_add_loop_test(tc, lex_forms, 0, nitems(lex));
	tcase_add_test(tc, lex_lines);
	tcase_add_test(tc, lex_empty);
	tcase_add_test(tc, load_file_kv);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, error_messages, 0, nitems(errs));
	tcase_add_test(tc, error_format);
	tcase_add_test(tc, error_all_reported);
	tcase_add_test(tc, error_keeps_previous_value);
	tcase_add_test(tc, error_missing_file);
	tcase_add_test(tc, error_nul_byte);
	tcase_add_loop_test(tc, unknown_key_warning, 0, nitems(unknown));
	tcase_add_test(tc, unknown_key_readable);
	tcase_add_test(tc, bad_key_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_test(tc, store_scalar_precedence);
	tcase_add_test(tc, store_list_precedence);
	tcase_add_test(tc, store_bad_value_drops_nothing);
	tcase_add_test(tc, store_enum_and_flag_numbers);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_test(tc, print_effective);
	tcase_add_test(tc, print_reads_back);
	tcase_add_test(tc, print_reads_back_separators);
	tcase_add_test(tc, usage_lists_every_key);
	suite_add_tcase(s, tc);
	return s;
}
