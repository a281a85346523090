/*
 * check_docs.c - the documentation and the files around it agree with the
 * code: every key of conf_options[] has its entry in pfsd.conf(5), every
 * hook and function of pfsd.h its .Fn line in pfsd-plugin(3), the pages
 * lint clean, the example handler of pfsd-plugin(3) builds with the
 * pkg-config file and serves, conf/pfsd.conf and conf/pfsd.yaml say the
 * same, and the systemd units and the logrotate rules are well-formed.
 */
#include "internal.h"

#include <sys/wait.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define DOCS_OUT	65536
#define DOCS_API_MAX	64
#define DOCS_NAME_MAX	64
#define DOCS_CONF	SRCDIR "/conf/pfsd.conf"
#define DOCS_YAML	SRCDIR "/conf/pfsd.yaml"

Suite	*docs_suite(void);

static const char *const docs_pages[] = {
	"man/pfsd.8", "man/pfsd.conf.5", "man/pfsd-plugin.3"
};

/* The file REL of the source tree, whole; fails the test if unreadable. */
static char *
docs_read(const char *rel)
{
	char	 path[1024];
	char	*text;

	snprintf(path, sizeof path, "%s/%s", SRCDIR, rel);
	text = h_read_file(path);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

/* Is there a line "MACRO NAME" (then a blank or the end of the line)? */
static int
docs_has_line(const char *text, const char *macro, const char *name)
{
	char		 want[256];
	const char	*p;
	size_t		 len;

	len = (size_t)snprintf(want, sizeof want, "\n%s %s", macro, name);
	for (p = strstr(text, want); p != NULL; p = strstr(p + 1, want)) {
		if (strchr(" \t\n", p[len]) != NULL)	/* '\0' too */
			return 1;
	}
	return 0;
}

/* How many times S occurs in TEXT. */
static int
docs_count(const char *text, const char *s)
{
	int	n = 0;

	for (text = strstr(text, s); text != NULL; text = strstr(text + 1, s))
		n++;
	return n;
}

/* Run CMD with sh, stdout and stderr into OUT; the wait status. */
static int
docs_sh(const char *cmd, char *out, size_t len)
{
	char	 full[4096];
	size_t	 off = 0, n;
	FILE	*p;

	snprintf(full, sizeof full, "(%s) 2>&1", cmd);
	if ((p = popen(full, "r")) == NULL)
		return -1;
	while (off + 1 < len && (n = fread(out + off, 1, len - off - 1, p)) > 0)
		off += n;
	out[off] = '\0';
	return pclose(p);
}

static int
docs_have(const char *command)
{
	char	cmd[256], out[256];

	snprintf(cmd, sizeof cmd, "command -v %s", command);
	return docs_sh(cmd, out, sizeof out) == 0;
}

/* pfsd with ARGV; its exit code, or fails the test if it did not exit. */
static int
docs_pfsd(const char *const *argv, char *out, size_t len)
{
	int	status = h_run(argv, out, len);

	ck_assert_msg(WIFEXITED(status), "pfsd did not exit: status %d\n"
	    "%.2000s", status, out);
	return WEXITSTATUS(status);
}

/* (1) Every key of the option table is an ".It Cm KEY" of pfsd.conf.5. */
START_TEST(conf_key_documented)
{
	char	*page = docs_read("man/pfsd.conf.5");

	ck_assert_msg(docs_has_line(page, ".It Cm", conf_options[_i].name),
	    "man/pfsd.conf.5 has no \".It Cm %s\" entry",
	    conf_options[_i].name);
	free(page);
}
END_TEST

/* And no ".It Cm" of pfsd.conf.5 names a key that does not exist. */
START_TEST(conf_entries_are_keys)
{
	char		*page = docs_read("man/pfsd.conf.5");
	char		 name[DOCS_NAME_MAX];
	const char	*p;
	int		 n = 0;

	for (p = strstr(page, "\n.It Cm "); p != NULL;
	    p = strstr(p + 1, "\n.It Cm ")) {
		ck_assert_int_eq(sscanf(p + 8, "%63[A-Za-z0-9_-]", name), 1);
		ck_assert_msg(conf_find(name) != -1, "man/pfsd.conf.5 "
		    "documents \"%s\", not a key of conf_options[]", name);
		n++;
	}
	ck_assert_int_eq(n, OPT__COUNT);
	free(page);
}
END_TEST

/* (2) Every hook of plugin_hook_names[] is a ".Fn HOOK" of pfsd-plugin.3. */
START_TEST(hook_documented)
{
	char	*page = docs_read("man/pfsd-plugin.3");

	ck_assert_msg(docs_has_line(page, ".Fn", plugin_hook_names[_i]),
	    "man/pfsd-plugin.3 has no \".Fn %s\" line", plugin_hook_names[_i]);
	free(page);
}
END_TEST

/* The names NAME of pfsd.h written "pfsd_NAME(": its functions. */
static size_t
docs_api(char names[][DOCS_NAME_MAX], size_t max)
{
	char		*h = docs_read("daemon/pfsd.h");
	const char	*p;
	size_t		 n = 0, len, i;

	for (p = strstr(h, "pfsd_"); p != NULL; p = strstr(p + len, "pfsd_")) {
		len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		if (p[len] != '(' || (p > h && (isalnum((unsigned char)p[-1]) ||
		    p[-1] == '_')) || len >= DOCS_NAME_MAX)
			continue;
		for (i = 0; i < n && strncmp(names[i], p, len) != 0; i++)
			;
		if (i == n && n < max)
			snprintf(names[n++], DOCS_NAME_MAX, "%.*s", (int)len,
			    p);
	}
	free(h);
	return n;
}

START_TEST(api_documented)
{
	char	 names[DOCS_API_MAX][DOCS_NAME_MAX];
	char	*page = docs_read("man/pfsd-plugin.3");
	size_t	 i, n = docs_api(names, DOCS_API_MAX);

	/* pfsd_log .. pfsd_peer_sockaddr: 16 in ABI 1.0; never fewer */
	ck_assert_msg(n >= 16, "found only %zu functions in pfsd.h", n);
	for (i = 0; i < n; i++)
		ck_assert_msg(docs_has_line(page, ".Fn", names[i]),
		    "man/pfsd-plugin.3 has no \".Fn %s\" line", names[i]);
	free(page);
}
END_TEST

/* And every ".Fn pfsd_..." of the page is a function of pfsd.h. */
START_TEST(api_entries_exist)
{
	char		 names[DOCS_API_MAX][DOCS_NAME_MAX];
	char		 name[DOCS_NAME_MAX];
	char		*page = docs_read("man/pfsd-plugin.3");
	const char	*p;
	size_t		 i, n = docs_api(names, DOCS_API_MAX);

	for (p = strstr(page, "\n.Fn pfsd_"); p != NULL;
	    p = strstr(p + 1, "\n.Fn pfsd_")) {
		ck_assert_int_eq(sscanf(p + 5, "%63[a-z_]", name), 1);
		for (i = 0; i < n && strcmp(names[i], name) != 0; i++)
			;
		ck_assert_msg(i < n, "man/pfsd-plugin.3 documents %s(), which "
		    "pfsd.h does not declare", name);
	}
	free(page);
}
END_TEST

/* Drop the overstrike of -T ascii: "X\bX" is a bold X. */
static void
docs_unbold(char *s)
{
	char	*w = s;

	for (; *s != '\0'; s++) {
		if (s[1] == '\b' && s[2] != '\0')
			s++;
		else
			*w++ = *s;
	}
	*w = '\0';
}

/* (3) mandoc finds nothing to warn about, and renders each page. */
START_TEST(page_lints_clean)
{
	char	cmd[1024], out[DOCS_OUT];
	int	status;

	ck_assert_msg(docs_have("mandoc"), "mandoc is not installed "
	    "(make deps installs it)");
	snprintf(cmd, sizeof cmd, "mandoc -T lint -W warning '%s/%s'", SRCDIR,
	    docs_pages[_i]);
	status = docs_sh(cmd, out, sizeof out);
	ck_assert_msg(status == 0 && out[0] == '\0', "%s:\n%.2000s", cmd,
	    out);
	snprintf(cmd, sizeof cmd, "mandoc -T ascii '%s/%s'", SRCDIR,
	    docs_pages[_i]);
	ck_assert_int_eq(docs_sh(cmd, out, sizeof out), 0);
	docs_unbold(out);
	ck_assert_msg(strstr(out, "\nDESCRIPTION\n") != NULL &&
	    strstr(out, "\nSEE ALSO\n") != NULL, "%s renders as:\n%.2000s",
	    docs_pages[_i], out);
}
END_TEST

/* (4) Both example configurations pass -t, without a warning. */
START_TEST(conf_examples_check)
{
	static const char *const files[] = { DOCS_CONF, DOCS_YAML };
	const char	*argv[] = { "-t", "-c", files[_i], NULL };
	char		 out[DOCS_OUT];

	ck_assert_int_eq(docs_pfsd(argv, out, sizeof out), 0);
	ck_assert_str_eq(out, "pfsd: configuration ok\n");
}
END_TEST

/* ... and -T of both is the same, and is what `make run` promises. */
START_TEST(conf_examples_same)
{
	const char	*conf[] = { "-T", "-c", DOCS_CONF, NULL };
	const char	*yaml[] = { "-T", "-c", DOCS_YAML, NULL };
	static char	 a[DOCS_OUT], b[DOCS_OUT];

	ck_assert_int_eq(docs_pfsd(conf, a, sizeof a), 0);
	ck_assert_int_eq(docs_pfsd(yaml, b, sizeof b), 0);
	ck_assert_str_eq(a, b);
	ck_assert_msg(strncmp(a, "handler echo\n", 13) == 0, "%s", a);
	ck_assert_int_eq(docs_count(a, "\nmax_servers 5\n"), 1);
	ck_assert_int_eq(docs_count(a, "\nlog_level 3\n"), 1);
	ck_assert_int_eq(docs_count(a, "\nport "), 1);
	ck_assert_int_eq(docs_count(a, "\nport 127.0.0.1:20203/tcp\n"), 1);
}
END_TEST

/* The key a "#key value" line of pfsd.conf shows, in NAME; 0 if none. */
static int
docs_commented_key(const char *line, char *name, size_t len)
{
	size_t	n;

	if (line[0] != '#')
		return 0;
	n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
	if (n == 0 || n >= len || (line[1 + n] != ' ' && line[1 + n] != '\t'))
		return 0;
	snprintf(name, len, "%.*s", (int)n, line + 1);
	return conf_find(name) != -1;
}

/* Only -t's look at this machine failed: directories the examples name
 * (/run/pfsd, /var/log/pfsd) that do not exist here.  Warnings are not
 * failures (chroot with a log file outside it is one). */
static int
docs_only_missing_dirs(char *out)
{
	char	*line, *save;
	int	 n = 0;

	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, ": warning: ") != NULL)
			continue;
		if (strstr(line, ": No such file or directory (create it "
		    "first)") == NULL)
			return 0;
		n++;
	}
	return n > 0;
}

/*
 * Every key but conf_file is in conf/pfsd.conf, set or as a commented
 * example, and the examples, uncommented all together, pass -t (but for
 * the directories they name that this machine lacks).
 */
START_TEST(conf_commented_examples)
{
	char		*text = docs_read("conf/pfsd.conf"), *line, *save;
	char		 name[DOCS_NAME_MAX], out[DOCS_OUT], *path;
	const char	*argv[] = { "-t", "-c", NULL,
			    "--plugin_dir=" SRCDIR "/plugins", NULL };
	int		 seen[OPT__COUNT] = { 0 }, id;
	FILE		*f;
	size_t		 i;

	path = h_path("all.conf");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (docs_commented_key(line, name, sizeof name))
			line++;
		else if (sscanf(line, "%63[a-zA-Z_]", name) != 1)
			continue;
		if ((id = conf_find(name)) != -1)
			seen[id] = 1;
		fprintf(f, "%s\n", line);
	}
	fclose(f);
	for (i = 0; i < OPT__COUNT; i++)
		ck_assert_msg(seen[i] || i == OPT_CONF_FILE, "conf/pfsd.conf "
		    "shows no example of %s", conf_options[i].name);
	argv[2] = path;
	id = docs_pfsd(argv, out, sizeof out);
	ck_assert_msg(id == 0 || (id == 78 && docs_only_missing_dirs(out)),
	    "the examples of conf/pfsd.conf, uncommented:\n%.2000s", out);
	free(text);
}
END_TEST

/* The value of the first "KEY=" line of a unit file, or NULL. */
static char *
docs_unit_value(const char *unit, const char *key, char *buf, size_t len)
{
	const char	*p;
	size_t		 kl = strlen(key);

	for (p = unit; p != NULL; p = strchr(p, '\n') != NULL ?
	    strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(p + kl + 1,
			    "\n"), p + kl + 1);
			return buf;
		}
	}
	return NULL;
}

/* (5) The units have what systemd and pfsd need, checked by reading. */
START_TEST(systemd_units_keys)
{
	char		*svc = docs_read("conf/pfsd.service");
	char		*sock = docs_read("conf/pfsd.socket");
	const char	*argv[] = { "-T", "-c", DOCS_CONF, NULL };
	char		 v[512], want[600], out[DOCS_OUT];
	size_t		 n;

	ck_assert_ptr_nonnull(strstr(svc, "\n[Unit]\n"));
	ck_assert_ptr_nonnull(strstr(svc, "\n[Service]\n"));
	ck_assert_ptr_nonnull(strstr(svc, "\n[Install]\n"));
	ck_assert_ptr_nonnull(docs_unit_value(svc, "ExecStart", v, sizeof v));
	n = strcspn(v, " ");
	ck_assert_msg(v[0] == '/' && n >= 5 && strncmp(v + n - 5, "/pfsd",
	    5) == 0, "ExecStart=%s: not an absolute path to pfsd", v);
	ck_assert_msg(strstr(v, " -c /") != NULL, "ExecStart=%s: no -c", v);
	/* notify-reload is written by make install on systemd >= 253 only */
	ck_assert_str_eq(docs_unit_value(svc, "Type", v, sizeof v), "notify");
	ck_assert_ptr_nonnull(docs_unit_value(svc, "ExecReload", v, sizeof v));
	ck_assert_str_eq(v, "/bin/kill -HUP $MAINPID");
	ck_assert_str_eq(docs_unit_value(svc, "KillSignal", v, sizeof v),
	    "SIGQUIT");
	ck_assert_ptr_nonnull(docs_unit_value(svc, "TimeoutStopSec", v,
	    sizeof v));
	ck_assert_int_gt(atoi(v),
	    atoi(conf_options[OPT_GRACEFUL_TIMEOUT].def));

	ck_assert_ptr_nonnull(strstr(sock, "\n[Socket]\n"));
	ck_assert_ptr_nonnull(strstr(sock, "\n[Install]\n"));
	/* pfsd closes a passed socket that is not one of its ports */
	ck_assert_ptr_nonnull(docs_unit_value(sock, "ListenStream", v,
	    sizeof v));
	ck_assert_int_eq(docs_pfsd(argv, out, sizeof out), 0);
	snprintf(want, sizeof want, "\nport %s/tcp\n", v);
	ck_assert_msg(strstr(out, want) != NULL, "ListenStream=%s is not a "
	    "port of conf/pfsd.conf:\n%.2000s", v, out);
	free(svc);
	free(sock);
}
END_TEST

/*
 * systemd-analyze verify says nothing about a unit it accepts, and exits 0;
 * a key it cannot parse ("Failed to parse service type, ignoring") is
 * only a message, so any output fails.
 */
static void
docs_verify_unit(const char *unit)
{
	char	cmd[2048], out[DOCS_OUT];
	int	status;

	ck_assert_msg(docs_have("systemd-analyze"), "systemd-analyze is not "
	    "installed (make deps installs systemd)");
	/* The installed path does not exist here: point at the build. */
	snprintf(cmd, sizeof cmd, "sed 's#^ExecStart=[^ ]*#ExecStart=%s#' "
	    "'%s' > '%s' && cp '%s/conf/pfsd.socket' '%s' "
	    "&& systemd-analyze verify --man=no '%s' '%s'", PFSD_BIN,
	    unit, h_path("pfsd.service"), SRCDIR, h_path("pfsd.socket"),
	    h_path("pfsd.service"), h_path("pfsd.socket"));
	status = docs_sh(cmd, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    out[0] == '\0', "systemd-analyze verify %s:\n%.2000s", unit, out);
}

/* ... and this systemd accepts the unit as shipped and as installed. */
START_TEST(systemd_units_verify)
{
	docs_verify_unit(SRCDIR "/conf/pfsd.service");
	docs_verify_unit(SRCDIR
	    "/tests/run/stage/usr/lib/systemd/system/pfsd.service");
}
END_TEST

/* (6) logrotate signals pfsd with USR1, at the paths pfsd.conf shows. */
START_TEST(logrotate_rules)
{
	char	*rot = docs_read("conf/pfsd.logrotate");
	char	*conf = docs_read("conf/pfsd.conf");

	ck_assert_ptr_nonnull(strstr(rot, "kill -USR1"));
	ck_assert_ptr_nonnull(strstr(rot, "\n\tpostrotate\n"));
	ck_assert_ptr_nonnull(strstr(rot, "\n\tendscript\n"));
	ck_assert_ptr_nonnull(strstr(rot, "\n/var/log/pfsd/pfsd.log {\n"));
	ck_assert_ptr_nonnull(strstr(conf, "/var/log/pfsd/pfsd.log"));
	ck_assert_ptr_nonnull(strstr(rot, "/run/pfsd/pfsd.pid"));
	ck_assert_ptr_nonnull(strstr(conf, "/run/pfsd/pfsd.pid"));
	free(rot);
	free(conf);
}
END_TEST

/*
 * The example handler of pfsd-plugin.3, as a reader would copy it: the
 * literal block after the "begin example" comment, with the mdoc escapes
 * \e and \& undone.  Written to PATH.
 */
static void
docs_extract_example(const char *path)
{
	char		*page = docs_read("man/pfsd-plugin.3");
	const char	*p, *end;
	FILE		*f;

	p = strstr(page, "\n.\\\" begin example");
	ck_assert_msg(p != NULL, "no example marker in pfsd-plugin.3");
	ck_assert_ptr_nonnull(p = strstr(p, "\n.Bd -literal"));
	p = strchr(p + 1, '\n') + 1;
	ck_assert_ptr_nonnull(end = strstr(p, "\n.Ed\n"));
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (; p <= end; p++) {
		if (*p != '\\') {
			fputc(*p, f);
			continue;
		}
		ck_assert_msg(p[1] == 'e' || p[1] == '&', "pfsd-plugin.3: "
		    "escape \\%c in the example", p[1]);
		if (*++p == 'e')
			fputc('\\', f);
	}
	fclose(f);
	free(page);
}

/* pfsd.pc from pfsd.pc.in as `make install` writes it, for this tree. */
static void
docs_write_pc(void)
{
	char	cmd[2048], out[DOCS_OUT];

	snprintf(cmd, sizeof cmd, "sed -e 's#@PREFIX@#%s#' "
	    "-e 's#@INCLUDEDIR@#%s/daemon#' -e 's#@PLUGINDIR@#%s/plugins#' "
	    "-e 's#@VERSION@#%s#' '%s/conf/pfsd.pc.in' > '%s' && "
	    "! grep -n @ '%s' && pkg-config --validate '%s'", SRCDIR, SRCDIR,
	    SRCDIR, PACKAGE_VERSION, SRCDIR, h_path("pfsd.pc"),
	    h_path("pfsd.pc"), h_path("pfsd.pc"));
	ck_assert_msg(docs_sh(cmd, out, sizeof out) == 0, "%s\n%.2000s", cmd,
	    out);
}

/* Drop the blanks at the ends of lines (pkg-config leaves one). */
static void
docs_untrail(char *s)
{
	char	*w = s, *r;

	for (r = s; *r != '\0'; r++) {
		if (*r == ' ' && r[strspn(r, " ")] == '\n')
			continue;
		*w++ = *r;
	}
	*w = '\0';
}

/* The pkg-config file gives what the pages say it gives. */
START_TEST(pkg_config_file)
{
	char	cmd[1024], out[DOCS_OUT];

	docs_write_pc();
	snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH='%s' pkg-config --cflags "
	    "pfsd && PKG_CONFIG_PATH='%s' pkg-config --variable=plugindir "
	    "pfsd && PKG_CONFIG_PATH='%s' pkg-config --modversion pfsd",
	    h_dir(), h_dir(), h_dir());
	ck_assert_int_eq(docs_sh(cmd, out, sizeof out), 0);
	docs_untrail(out);
	snprintf(cmd, sizeof cmd, "-I%s/daemon\n%s/plugins\n%s\n", SRCDIR,
	    SRCDIR, PACKAGE_VERSION);
	ck_assert_str_eq(out, cmd);
}
END_TEST

/* Build the example with the documented command line; the .so's path. */
static const char *
docs_build_example(void)
{
	const char	*cc = getenv("CC") != NULL ? getenv("CC") : "cc";
	char		 cmd[2048], out[DOCS_OUT];

	docs_write_pc();
	docs_extract_example(h_path("upper.c"));
	snprintf(cmd, sizeof cmd, "cd '%s' && %s -Wall -Wextra -Werror "
	    "-shared -fPIC $(PKG_CONFIG_PATH=. pkg-config --cflags pfsd) "
	    "-o upper.so upper.c", h_dir(), cc);
	ck_assert_msg(docs_sh(cmd, out, sizeof out) == 0, "%s\n%.2000s", cmd,
	    out);
	return h_path("upper.so");
}

/* The example handler serves, uses its option, and ends on "bye". */
START_TEST(example_handler_serves)
{
	char		 handler[600], port[64], buf[256];
	const char	*argv[] = { handler, port, "--max_servers=1",
			    "--upper_prefix=> ", NULL };
	struct hproc	 p;
	pid_t		 first, second;
	int		 n = h_free_port();

	snprintf(handler, sizeof handler, "--handler=%s",
	    docs_build_example());
	snprintf(port, sizeof port, "--port=127.0.0.1:%d", n);
	ck_assert_int_eq(h_start(&p, argv), 0);
	ck_assert_int_eq(h_wait_ready(&p, 5000), 0);
	ck_assert_int_ge(h_talk("127.0.0.1", n, "hello\nWorld 2\n", buf,
	    sizeof buf), 0);
	ck_assert_str_eq(buf, "> HELLO\n> WORLD 2\n");
	ck_assert_int_eq(h_children(p.pid, &first, 1), 1);
	/* "bye": pfsd_done(); the one child is replaced by another */
	ck_assert_int_ge(h_talk("127.0.0.1", n, "a\nbye\nb\n", buf,
	    sizeof buf), 0);
	ck_assert_str_eq(buf, "> A\n");
	ck_assert_int_ge(h_talk("127.0.0.1", n, "again\n", buf, sizeof buf),
	    0);
	ck_assert_str_eq(buf, "> AGAIN\n");
	ck_assert_int_eq(h_children(p.pid, &second, 1), 1);
	ck_assert_int_ne(first, second);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Its post_configure_hook refuses a bad option, as the page says. */
START_TEST(example_handler_refuses)
{
	char		 handler[600], out[DOCS_OUT];
	const char	*argv[] = { "-t", handler,
			    "--upper_prefix=12345678901234567", NULL };

	snprintf(handler, sizeof handler, "--handler=%s",
	    docs_build_example());
	ck_assert_int_eq(docs_pfsd(argv, out, sizeof out), EXIT_CONFIG);
	ck_assert_ptr_nonnull(strstr(out,
	    "error: upper_prefix: at most 16 characters\n"));
	ck_assert_ptr_nonnull(strstr(out, "command line: handler: "
	    "post_configure_hook of "));
	ck_assert_ptr_nonnull(strstr(out, "upper.so refused the "
	    "configuration\n"));
}
END_TEST

Suite *
docs_suite(void)
{
	Suite	*s = suite_create("docs");
	TCase	*tc = tcase_create("pages");

	tcase_add_loop_test(tc, conf_key_documented, 0, OPT__COUNT);
	tcase_add_test(tc, conf_entries_are_keys);
	tcase_add_loop_test(tc, hook_documented, 0, (int)plugin_nhooks);
	tcase_add_test(tc, api_documented);
	tcase_add_test(tc, api_entries_exist);
	tcase_add_loop_test(tc, page_lints_clean, 0, nitems(docs_pages));
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, conf_examples_check, 0, 2);
	tcase_add_test(tc, conf_examples_same);
	tcase_add_test(tc, conf_commented_examples);
	tcase_add_test(tc, systemd_units_keys);
	tcase_add_test(tc, systemd_units_verify);
	tcase_add_test(tc, logrotate_rules);
	tcase_add_test(tc, pkg_config_file);
	tcase_add_test(tc, example_handler_serves);
	tcase_add_test(tc, example_handler_refuses);
	suite_add_tcase(s, tc);
	return s;
}
