/*
 * check_plugin.c - handler loading (daemon/plugin.c), the public header,
 * the exported API, and the behaviour of the shipped and test handlers
 * when their hooks are called directly.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "conf_helpers.h"

Suite	*plugin_suite(void);

#define ABI_MAJOR	((unsigned int)PFSD_ABI_MAJOR)
#define EXPECT_SIZE	(PATH_MAX + ERRBUF_SIZE)	/* an expected message */
#define ABI_MINOR	((unsigned int)PFSD_ABI_MINOR)

/* The hooks as this test knows them, independently of plugin.c's list. */
enum hook_kind {
	HK_SRV, HK_REQ, HK_NCHILD,
	HK_KIND,	/* (srv, const char *kind) */
	HK_CHILD,	/* (srv, pid_t, const char *kind) */
	HK_STATUS,	/* (srv, pid_t, int status) */
	HK_MSG,		/* (srv, const char *msg) */
	HK_LOG		/* (srv, int level, const char *msg) */
};

static const struct {
	const char	*name;
	size_t		 off;
	enum hook_kind	 kind;
} hooks[] = {
#define H(n, k)	{ #n, offsetof(struct plugin, n), k }
	H(process_request, HK_REQ),
	H(post_configure_hook, HK_SRV),
	H(post_bind_hook, HK_SRV),
	H(pre_loop_hook, HK_SRV),
	H(run_n_children_hook, HK_NCHILD),
	H(child_init_hook, HK_SRV),
	H(post_accept_hook, HK_REQ),
	H(allow_deny_hook, HK_REQ),
	H(request_denied_hook, HK_REQ),
	H(post_process_request_hook, HK_REQ),
	H(post_client_connection_hook, HK_REQ),
	H(child_finish_hook, HK_SRV),
	H(run_dequeue, HK_SRV),
	H(idle_loop_hook, HK_SRV),
	H(pre_server_close_hook, HK_SRV),
	H(configure_hook, HK_SRV),
	H(pre_fork_hook, HK_KIND),
	H(register_child, HK_CHILD),
	H(delete_child_hook, HK_STATUS),
	H(other_child_died_hook, HK_STATUS),
	H(restart_open_hook, HK_SRV),
	H(restart_close_hook, HK_SRV),
	H(fatal_hook, HK_MSG),
	H(write_to_log_hook, HK_LOG),
#undef H
};

/* The hook member of p at offset off, as a plain pointer. */
static void *
hook_ptr(const struct plugin *p, size_t off)
{
	void	*f;

	memcpy(&f, (const char *)p + off, sizeof f);
	return f;
}

/* Call hook i of p (not process_request) with srv/req; its result. */
static int
hook_call(const struct plugin *p, size_t i, struct pfsd_server *srv,
    struct pfsd_request *req)
{
	int	(*fs)(struct pfsd_server *);
	int	(*fr)(struct pfsd_request *);
	int	(*fn)(struct pfsd_server *, int);
	int	(*fk)(struct pfsd_server *, const char *);
	int	(*fc)(struct pfsd_server *, pid_t, const char *);
	int	(*fst)(struct pfsd_server *, pid_t, int);
	int	(*fl)(struct pfsd_server *, int, const char *);
	void	*f = hook_ptr(p, hooks[i].off);

	switch (hooks[i].kind) {
	case HK_KIND:
		memcpy(&fk, &f, sizeof f);
		return fk(srv, "worker");
	case HK_MSG:
		memcpy(&fk, &f, sizeof f);
		return fk(srv, "a message");
	case HK_CHILD:
		memcpy(&fc, &f, sizeof f);
		return fc(srv, 12345, "worker");
	case HK_STATUS:
		memcpy(&fst, &f, sizeof f);
		return fst(srv, 12345, 0);
	case HK_LOG:
		memcpy(&fl, &f, sizeof f);
		return fl(srv, PFSD_LOG_NOTICE, "a message");
	case HK_SRV:
		memcpy(&fs, &f, sizeof f);
		return fs(srv);
	case HK_REQ:
		memcpy(&fr, &f, sizeof f);
		return fr(req);
	default:
		memcpy(&fn, &f, sizeof f);
		return fn(srv, 4);
	}
}

static void
load_ok(struct plugin *p, const char *path)
{
	char	err[ERRBUF_SIZE] = "";

	ck_assert_msg(plugin_load(p, path, err, sizeof err) == 0,
	    "plugin_load %s: %s", path, err);
}

/* A conf with key=value pairs set from file "t.conf" at line 1, 2, ... */
static struct conf *
tconf(const char *key, ...)
{
	struct conf	*c = conf_new();
	va_list		 ap;
	const char	*k, *v;
	int		 line = 1;

	va_start(ap, key);
	for (k = key; k != NULL; k = va_arg(ap, const char *)) {
		v = va_arg(ap, const char *);
		ck_assert_int_eq(conf_set(c, k, v, CONF_FILE, "t.conf",
		    line++), 0);
	}
	va_end(ap);
	return c;
}

static char *
real(const char *path)
{
	static char	buf[PATH_MAX];

	ck_assert_msg(realpath(path, buf) != NULL, "realpath %s", path);
	return buf;
}

/* --- refusals ----------------------------------------------------------- */

static const struct {
	const char	*name;		/* tests/plugins/NAME.so */
	const char	*before;	/* expected: before PATH after */
	const char	*after;
} refusals[] = {
	{ "no_descriptor", "", ": not a pfsd handler: no PFSD_PLUGIN() "
	    "descriptor (symbol pfsd_plugin)" },
	{ "no_process_request", "", ": no process_request function (if it "
	    "defines one, it is not exported: mark it PFSD_EXPORT, or build "
	    "without -fvisibility=hidden)" },
	{ "hidden", "", ": no process_request function (if it defines one, "
	    "it is not exported: mark it PFSD_EXPORT, or build without "
	    "-fvisibility=hidden)" },
	{ "unresolved", "cannot load ", ": undefined symbol: "
	    "pfsd_no_such_function" },
	/* pfsd exports its API (pfsd.sym), not its internals */
	{ "uses_internal", "cannot load ", ": undefined symbol: conf_str" },
	{ "nonexistent", "cannot load ", ": cannot open shared object file: "
	    "No such file or directory" },
};

static void
refused(const char *path, const char *expect)
{
	struct plugin	p;
	char		err[ERRBUF_SIZE] = "";

	memset(&p, 0xa5, sizeof p);
	ck_assert_int_eq(plugin_load(&p, path, err, sizeof err), -1);
	ck_assert_str_eq(err, expect);
	/* nothing kept: no handle, no path, no hook */
	ck_assert_ptr_null(p.handle);
	ck_assert_ptr_null(p.path);
	ck_assert_ptr_null(p.process_request);
	plugin_unload(&p);
}

START_TEST(test_refusal)
{
	char	path[PATH_MAX], expect[EXPECT_SIZE];

	snprintf(path, sizeof path, SRCDIR "/tests/plugins/%s.so",
	    refusals[_i].name);
	snprintf(expect, sizeof expect, "%s%s%s", refusals[_i].before, path,
	    refusals[_i].after);
	refused(path, expect);
}
END_TEST

START_TEST(test_wrong_major)
{
	char	expect[EXPECT_SIZE];

	snprintf(expect, sizeof expect, "%s: built for pfsd ABI %u.%u, this "
	    "pfsd speaks %u.%u: rebuild it against this pfsd.h",
	    TPLUGIN("wrong_major"), ABI_MAJOR + 1, ABI_MINOR, ABI_MAJOR,
	    ABI_MINOR);
	refused(TPLUGIN("wrong_major"), expect);
}
END_TEST

START_TEST(test_newer_minor)
{
	char	expect[EXPECT_SIZE];

	snprintf(expect, sizeof expect, "%s: built for pfsd ABI %u.%u, newer "
	    "than this pfsd's %u.%u: upgrade pfsd or rebuild",
	    TPLUGIN("newer_minor"), ABI_MAJOR, ABI_MINOR + 1, ABI_MAJOR,
	    ABI_MINOR);
	refused(TPLUGIN("newer_minor"), expect);
}
END_TEST

/* Files that are not shared objects at all: dlerror's words, once. */
START_TEST(test_not_elf)
{
	char	path[PATH_MAX], expect[EXPECT_SIZE];

	snprintf(path, sizeof path, "%s", h_write("text.so", "%0100d\n", 0));
	snprintf(expect, sizeof expect, "cannot load %s: invalid ELF header",
	    path);
	refused(path, expect);
	snprintf(path, sizeof path, "%s", h_path("dir.so"));
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(expect, sizeof expect, "cannot load %s: cannot read file "
	    "data: Is a directory", path);
	refused(path, expect);
}
END_TEST

/* --- hooks -------------------------------------------------------------- */

START_TEST(test_hook_names)
{
	size_t	i, k;

	ck_assert_uint_eq(plugin_nhooks, nitems(hooks));
	for (i = 0; i < plugin_nhooks; i++) {
		for (k = 0; k < nitems(hooks); k++)
			if (strcmp(plugin_hook_names[i], hooks[k].name) == 0)
				break;
		ck_assert_msg(k < nitems(hooks), "unknown hook name %s",
		    plugin_hook_names[i]);
		for (k = 0; k < i; k++)
			ck_assert_str_ne(plugin_hook_names[i],
			    plugin_hook_names[k]);
	}
}
END_TEST

/* hooks.so defines every hook: each lands in its own member. */
START_TEST(test_hooks_all_found)
{
	struct plugin	p;
	size_t		i;
	void		*f;

	load_ok(&p, TPLUGIN("hooks"));
	ck_assert_str_eq(p.name, "hooks");
	ck_assert_str_eq(p.path, TPLUGIN("hooks"));
	ck_assert_uint_eq(p.abi_major, ABI_MAJOR);
	ck_assert_uint_eq(p.abi_minor, ABI_MINOR);
	for (i = 0; i < nitems(hooks); i++) {
		f = hook_ptr(&p, hooks[i].off);
		ck_assert_msg(f != NULL, "%s not found", hooks[i].name);
		ck_assert_msg(f == dlsym(p.handle, hooks[i].name),
		    "%s is in another hook's member", hooks[i].name);
		/* RTLD_LOCAL: a handler's names stay out of the global scope */
		ck_assert_ptr_null(dlsym(RTLD_DEFAULT, hooks[i].name));
	}
	plugin_unload(&p);
	ck_assert_ptr_null(p.handle);
	ck_assert_ptr_null(p.path);
}
END_TEST

/* Which hooks each shipped handler defines; the others must be NULL. */
static const struct {
	const char	*name;
	const char	*hooks;
} shipped[] = {
	{ "echo", "process_request" },
	{ "daytime", "process_request post_configure_hook" },
	{ "http_hello", "process_request post_configure_hook" },
	{ "greet", "process_request post_configure_hook child_init_hook "
	    "child_finish_hook" },
};

START_TEST(test_shipped)
{
	struct plugin	p;
	char		path[PATH_MAX], found[512] = "";
	size_t		i;

	snprintf(path, sizeof path, SRCDIR "/plugins/%s.so",
	    shipped[_i].name);
	load_ok(&p, path);
	ck_assert_str_eq(p.name, shipped[_i].name);
	for (i = 0; i < nitems(hooks); i++) {
		if (hook_ptr(&p, hooks[i].off) == NULL)
			continue;
		if (*found != '\0')
			strcat(found, " ");
		strcat(found, hooks[i].name);
	}
	ck_assert_str_eq(found, shipped[_i].hooks);
	plugin_unload(&p);
}
END_TEST

/* Test handlers the engine tests use must load. */
START_TEST(test_test_handlers_load)
{
	static const char *const names[] = {
		"hooks", "sleepy", "echo_v2", "failing_configure"
	};
	struct plugin	p;
	char		path[PATH_MAX];

	snprintf(path, sizeof path, SRCDIR "/tests/plugins/%s.so",
	    names[_i]);
	load_ok(&p, path);
	ck_assert_str_eq(p.name, names[_i]);
	plugin_unload(&p);
}
END_TEST

/* --- plugin_path -------------------------------------------------------- */

static const struct {
	const char	*handler;
	const char	*dir;		/* plugin_dir, NULL: the default */
	const char	*expect;	/* NULL: realpath(resolve) */
	const char	*resolve;
} paths[] = {
	{ "echo", SRCDIR "/plugins", NULL, PLUGIN("echo") },
	{ "echo.so", SRCDIR "/plugins", NULL, PLUGIN("echo") },
	{ "echo", SRCDIR "/plugins/", NULL, PLUGIN("echo") },
	{ "echo", NULL, NULL, PLUGIN("echo") },
	{ SRCDIR "/tests/../plugins/echo.so", "/nonexistent", NULL,
	    PLUGIN("echo") },
	{ "nosuch", "/nonexistent", "/nonexistent/nosuch.so", NULL },
	{ "nosuch", "/nonexistent/", "/nonexistent/nosuch.so", NULL },
	{ "/nonexistent/x.so", "/elsewhere", "/nonexistent/x.so", NULL },
	{ "/nonexistent/x", "/elsewhere", "/nonexistent/x", NULL },
	{ "sub/x.so", "/elsewhere", "sub/x.so", NULL },
};

START_TEST(test_plugin_path)
{
	struct conf	*c;
	char		 buf[PATH_MAX], expect[PATH_MAX];

	if (paths[_i].dir != NULL)
		c = tconf("handler", paths[_i].handler,
		    "plugin_dir", paths[_i].dir, NULL);
	else
		c = tconf("handler", paths[_i].handler, NULL);
	snprintf(expect, sizeof expect, "%s", paths[_i].expect != NULL ?
	    paths[_i].expect : real(paths[_i].resolve));
	ck_assert_int_eq(plugin_path(c, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, expect);
	conf_free(c);
}
END_TEST

/* A relative path is made absolute, so a chdir("/") later keeps it. */
START_TEST(test_plugin_path_relative)
{
	struct conf	*c;
	char		 buf[PATH_MAX];

	ck_assert_int_eq(chdir(SRCDIR "/tests"), 0);
	c = tconf("handler", "../plugins/echo.so", NULL);
	ck_assert_int_eq(plugin_path(c, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, real(PLUGIN("echo")));
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(access(buf, R_OK), 0);
	conf_free(c);
}
END_TEST

START_TEST(test_plugin_path_fails)
{
	struct conf	*c;
	char		 buf[PATH_MAX];
	size_t		 len;

	c = tconf(NULL);
	ck_assert_int_eq(plugin_path(c, buf, sizeof buf), -1);
	conf_free(c);
	c = tconf("handler", "echo", "plugin_dir", "/p", NULL);
	ck_assert_int_eq(plugin_path(c, buf, 10), -1);	/* "/p/echo.so" */
	ck_assert_int_eq(plugin_path(c, buf, 11), 0);
	ck_assert_str_eq(buf, "/p/echo.so");
	conf_free(c);
	/* the name given fits, the absolute one it becomes does not */
	ck_assert_int_eq(chdir(SRCDIR), 0);
	c = tconf("handler", "plugins/echo.so", NULL);
	len = strlen("plugins/echo.so") + 1;
	ck_assert_int_eq(plugin_path(c, buf, len), -1);
	conf_free(c);
}
END_TEST

/* --- plugin_configure --------------------------------------------------- */

START_TEST(test_configure_ok)
{
	struct conf	*c;
	struct plugin	 p;

	c = tconf("plugin_dir", SRCDIR "/tests/plugins", "handler", "hooks",
	    NULL);
	ck_assert_int_eq(plugin_configure(c, &p), 0);
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_str_eq(p.name, "hooks");
	ck_assert_str_eq(p.path, real(TPLUGIN("hooks")));
	ck_assert_ptr_nonnull(p.process_request);
	plugin_unload(&p);
	conf_free(c);
}
END_TEST

/* Each failure is one error, FILE:LINE: handler: ..., at the handler line. */
START_TEST(test_configure_errors)
{
	struct conf	*c;
	struct plugin	 p;
	char		 expect[EXPECT_SIZE];

	c = tconf("log_level", "3", "handler", "/nonexistent/x.so", NULL);
	ck_assert_int_eq(plugin_configure(c, &p), -1);
	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_str_eq(c->errors[0], "t.conf:2: handler: cannot load "
	    "/nonexistent/x.so: cannot open shared object file: No such file "
	    "or directory");
	ck_assert_ptr_null(p.handle);
	conf_free(c);

	c = tconf("plugin_dir", SRCDIR "/tests/plugins", "port", "1",
	    "handler", "no_descriptor", NULL);
	ck_assert_int_eq(plugin_configure(c, &p), -1);
	snprintf(expect, sizeof expect, "t.conf:3: handler: %s: not a pfsd "
	    "handler: no PFSD_PLUGIN() descriptor (symbol pfsd_plugin)",
	    real(TPLUGIN("no_descriptor")));
	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_str_eq(c->errors[0], expect);
	conf_free(c);
}
END_TEST

START_TEST(test_configure_cmdline)
{
	struct conf	*c;
	struct plugin	 p;
	char		 expect[EXPECT_SIZE];

	c = tconf("handler", "echo", NULL);
	ck_assert_int_eq(conf_set(c, "handler", TPLUGIN("wrong_major"),
	    CONF_CMDLINE, "command line", 0), 0);
	ck_assert_int_eq(plugin_configure(c, &p), -1);
	snprintf(expect, sizeof expect, "command line: handler: %s: built "
	    "for pfsd ABI %u.%u, this pfsd speaks %u.%u: rebuild it against "
	    "this pfsd.h", real(TPLUGIN("wrong_major")), ABI_MAJOR + 1,
	    ABI_MINOR, ABI_MAJOR, ABI_MINOR);
	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_str_eq(c->errors[0], expect);
	conf_free(c);
}
END_TEST

START_TEST(test_configure_long_and_unset)
{
	struct conf	*c;
	struct plugin	 p;
	char		 name[PATH_MAX + 10], expect[sizeof name + 64];

	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	c = tconf("handler", name, NULL);
	ck_assert_int_eq(plugin_configure(c, &p), -1);
	snprintf(expect, sizeof expect, "t.conf:1: handler: %s: path too "
	    "long", name);
	ck_assert_uint_eq(c->nerrors, 1);
	ck_assert_str_eq(c->errors[0], expect);
	conf_free(c);
	/* no handler: conf_load says "required", plugin_configure is quiet */
	c = tconf(NULL);
	ck_assert_int_eq(plugin_configure(c, &p), -1);
	ck_assert_uint_eq(c->nerrors, 0);
	conf_free(c);
}
END_TEST

/* --- the exported API --------------------------------------------------- */

/* Text of file, comments removed. */
static char *
read_uncommented(const char *path)
{
	char	*s, *a, *b;

	ck_assert_ptr_nonnull(s = h_read_file(path));
	while ((a = strstr(s, "/*")) != NULL) {
		ck_assert_ptr_nonnull(b = strstr(a + 2, "*/"));
		memmove(a, b + 2, strlen(b + 2) + 1);
	}
	return s;
}

/* Is name, as "name;", a line of the dynamic list sym? */
static int
sym_has(const char *sym, const char *name)
{
	char	entry[256];

	snprintf(entry, sizeof entry, "\t%s;\n", name);
	return strstr(sym, entry) != NULL;
}

/*
 * Every function pfsd.h declares (pfsd_*, not hooks) is in pfsd.sym and
 * exported by this binary, linked like pfsd; pfsd.sym lists nothing else.
 */
START_TEST(test_exports)
{
	char	*h, *sym, *s, name[128];
	size_t	 n, nfuncs = 0, nsyms = 0;

	h = read_uncommented(SRCDIR "/daemon/pfsd.h");
	sym = h_read_file(SRCDIR "/daemon/pfsd.sym");
	ck_assert_ptr_nonnull(sym);
	for (s = h; (s = strstr(s, "pfsd_")) != NULL; s += n) {
		n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
		if (s[strspn(s + n, " \t") + n] != '(' || n >= sizeof name)
			continue;
		memcpy(name, s, n);
		name[n] = '\0';
		ck_assert_msg(sym_has(sym, name), "%s missing in pfsd.sym", name);
		ck_assert_msg(dlsym(RTLD_DEFAULT, name) != NULL,
		    "%s not exported", name);
		nfuncs++;
	}
	for (s = sym; (s = strchr(s, ';')) != NULL; s++)
		nsyms++;
	ck_assert_uint_gt(nfuncs, 10);
	ck_assert_uint_eq(nsyms - 1, nfuncs);	/* the closing "};" */
	/*
	 * What a handler binds to is pfsd's own definition.  (Naming
	 * pfsd_option here also makes the linker take api.o out of
	 * libpfsd.a, which nothing else in this test binary would do.)
	 */
	ck_assert_ptr_eq(dlsym(RTLD_DEFAULT, "pfsd_option"),
	    (void *)pfsd_option);
	ck_assert_ptr_null(dlsym(RTLD_DEFAULT, "conf_str"));
	free(h);
	free(sym);
}
END_TEST

/* Compile src with the C compiler and flags; its exit status. */
static int
compile(const char *src, const char *flags)
{
	char	cmd[2048];
	const char *cc = getenv("CC");

	snprintf(cmd, sizeof cmd, "%s %s -fsyntax-only -I'" SRCDIR
	    "/daemon' '%s' >'%s' 2>&1", cc != NULL && *cc != '\0' ? cc : "cc",
	    flags, h_write("t.c", "%s", src), h_path("cc.out"));
	return system(cmd);
}

#define C99_FLAGS	"-std=c99 -pedantic -Wall -Wextra -Werror " \
			"-Wstrict-prototypes -Wmissing-prototypes -Wshadow"

static const char c99_plugin[] =
	"#include <stdio.h>\n"
	"#include <pfsd.h>\n"
	"PFSD_PLUGIN(\"c99\");\n"
	"int post_configure_hook(struct pfsd_server *srv)\n"
	"{ return pfsd_option(srv, \"x\") == NULL; }\n"
	"int run_n_children_hook(struct pfsd_server *srv, int n)\n"
	"{ pfsd_log(PFSD_LOG_INFO, \"%d children\", n); return srv == 0; }\n"
	"int process_request(struct pfsd_request *req)\n"
	"{ printf(\"%s\\n\", pfsd_peer_addr(req)); return 0; }\n";

/* pfsd.h is plain C99; its prototypes and format checks catch mistakes. */
START_TEST(test_header_c99)
{
	char	src[2048];
	int	st;

	st = compile(c99_plugin, C99_FLAGS);
	ck_assert_msg(st == 0, "C99 compile failed:\n%s",
	    h_read_file(h_path("cc.out")));
	/* a hook with the wrong prototype does not compile */
	snprintf(src, sizeof src, "%sint post_bind_hook(struct pfsd_request "
	    "*r) { return r == 0; }\n", c99_plugin);
	ck_assert_int_ne(compile(src, C99_FLAGS), 0);
	/* nor does a pfsd_log format that does not match its arguments */
	snprintf(src, sizeof src, "%sint idle_loop_hook(struct pfsd_server "
	    "*s) { pfsd_log(0, \"%%d\", \"x\"); return s == 0; }\n",
	    c99_plugin);
	ck_assert_int_ne(compile(src, C99_FLAGS), 0);
}
END_TEST

/* --- calling handlers: a server and a request as the engine makes them -- */

struct tenv {
	struct pfsd_server	srv;
	struct pfsd_request	req;
	struct listener		l;
};

static void
tenv_init(struct tenv *t, struct conf *c, int proto)
{
	struct sockaddr_in	*sin;

	memset(t, 0, sizeof *t);
	t->srv.conf = c;
	t->srv.is_child = 1;
	t->l.proto = proto;
	t->l.fd = -1;
	sin = (struct sockaddr_in *)&t->l.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(20203);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->l.addrlen = sizeof *sin;
	t->req.srv = &t->srv;
	t->req.l = &t->l;
	t->req.fd = -1;
	sin = (struct sockaddr_in *)&t->req.peer;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5555);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->req.peerlen = sizeof *sin;
}

/*
 * What configure() does once the handler is loaded: take its declared
 * options, check the values in c, give the unset ones their defaults.
 * The number of errors that added is in *nerr (NULL: must be none).
 */
static struct conf *
declared(const struct plugin *p, struct conf *c, size_t *nerr)
{
	struct conf_value	at;

	memset(&at, 0, sizeof at);
	at.file = (char *)"t.conf";
	at.line = 99;
	if (p->declares)
		conf_declare(c, p->opts, p->nopts, &at, p->path);
	conf_check_unknown(c);
	if (nerr != NULL)
		*nerr = c->nerrors;
	else
		ck_assert_msg(c->nerrors == 0, "%s", c->errors[0]);
	return c;
}

/* Undo tenv_init and the plugin: a leak-checked build must see no leak. */
static void
tenv_free(struct tenv *t, struct plugin *p)
{
	conf_free(t->srv.conf);
	t->srv.conf = NULL;
	if (p != NULL)
		plugin_unload(p);
}

/* The whole of file path, NUL-ended, its length in *len (malloc'd). */
static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	int		 fd;

	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(buf = malloc((size_t)st.st_size + 1));
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

/*
 * Run process_request with stdin reading in and stdout going to a file,
 * as pfsd attaches them to a client; the output (malloc'd), its length in
 * *outlen if not NULL.
 */
static char *
run_stdio(const struct plugin *p, struct pfsd_request *req, const char *in,
    size_t inlen, int *ret, size_t *outlen)
{
	int	fd, save0, save1;
	char	*out = h_path("out");
	size_t	 len;

	ck_assert_int_ne(fd = open(h_path("in"), O_RDWR | O_CREAT | O_TRUNC,
	    0600), -1);
	ck_assert_int_eq(write(fd, in, inlen), (ssize_t)inlen);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	fflush(stdout);
	save0 = dup(0);
	save1 = dup(1);
	dup2(fd, 0);
	close(fd);
	ck_assert_int_ne(fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	dup2(fd, 1);
	close(fd);
	/* forget what stdin buffered from the last file, as pfsd does */
	__fpurge(stdin);
	clearerr(stdin);
	*ret = p->process_request(req);
	fflush(stdout);
	dup2(save0, 0);
	dup2(save1, 1);
	close(save0);
	close(save1);
	out = slurp(out, &len);
	if (outlen != NULL)
		*outlen = len;
	return out;
}

static const struct {
	const char	*in;
	size_t		 len;	/* of both; 0: strlen */
	const char	*out;
} echoes[] = {
	{ "hello\nworld\r\n", 0, "hello\nworld\r\n" },
	{ "one\nquit\ntwo\n", 0, "one\n" },
	{ "quit\r\nnot this\n", 0, "" },
	{ "no newline at the end", 0, "no newline at the end" },
	{ "a\0b\nc\n", 6, "a\0b\nc\n" },	/* len: in and out */
	{ "xquit\nquitx\n", 0, "xquit\nquitx\n" },
	{ "", 0, "" },
};

START_TEST(test_echo)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*out;
	size_t		 len, outlen, want;
	int		 r;

	load_ok(&p, PLUGIN("echo"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	len = echoes[_i].len != 0 ? echoes[_i].len : strlen(echoes[_i].in);
	want = echoes[_i].len != 0 ? echoes[_i].len : strlen(echoes[_i].out);
	out = run_stdio(&p, &t.req, echoes[_i].in, len, &r, &outlen);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(outlen, want);
	ck_assert_msg(memcmp(out, echoes[_i].out, want) == 0, "got \"%s\"",
	    out);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

/* Lines longer than echo's buffer come back whole; "quit" inside is data. */
START_TEST(test_echo_long_line)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*in, *out;
	size_t		 n = 4096 * 3;
	int		 r;

	load_ok(&p, PLUGIN("echo"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	in = malloc(n + 64);
	memset(in, 'x', 4096);
	strcpy(in + 4096, "quit\n");		/* a line's tail, not "quit" */
	memset(in + 4101, 'y', n - 4101);
	strcpy(in + n, "\nlast\n");
	out = run_stdio(&p, &t.req, in, strlen(in), &r, NULL);
	ck_assert_str_eq(out, in);
	free(in);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

START_TEST(test_echo_v2)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*out;
	int		 r;

	load_ok(&p, TPLUGIN("echo_v2"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	out = run_stdio(&p, &t.req, "a\nb\nquit\nc\n", 10, &r, NULL);
	ck_assert_str_eq(out, "v2 a\nv2 b\n");
	free(out);
	tenv_free(&t, &p);
}
END_TEST

START_TEST(test_sleepy)
{
	struct plugin	 p;
	struct tenv	 t;
	struct timespec	 a, b;
	char		*out;
	long		 ms;
	int		 r;

	load_ok(&p, TPLUGIN("sleepy"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	clock_gettime(CLOCK_MONOTONIC, &a);
	out = run_stdio(&p, &t.req, "150\n", 4, &r, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_str_eq(out, "slept 150\n");
	ck_assert_int_ge(ms, 150);
	free(out);
	out = run_stdio(&p, &t.req, "soon\n", 5, &r, NULL);
	ck_assert_str_eq(out, "not a number of milliseconds\n");
	ck_assert_int_eq(r, 1);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

START_TEST(test_daytime)
{
	struct plugin	 p;
	struct tenv	 t;
	struct tm	 tm;
	char		*out, *end;
	time_t		 then;
	int		 r;

	load_ok(&p, PLUGIN("daytime"));
	tenv_init(&t, conf_new(), PFSD_PROTO_UDP);
	ck_assert_int_eq(p.post_configure_hook(&t.srv), 0);
	out = run_stdio(&p, &t.req, "any datagram", 12, &r, NULL);
	ck_assert_int_eq(r, 0);
	ck_assert_msg(strlen(out) > 2 && strcmp(out + strlen(out) - 2,
	    "\r\n") == 0 && strchr(out, '\n') == out + strlen(out) - 1,
	    "not one CRLF line: \"%s\"", out);
	memset(&tm, 0, sizeof tm);
	end = strptime(out, "%a %b %e %H:%M:%S %Y ", &tm);
	ck_assert_msg(end != NULL, "unreadable date \"%s\"", out);
	tm.tm_isdst = -1;
	then = mktime(&tm);
	ck_assert_int_le(labs((long)(time(NULL) - then)), 5);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

START_TEST(test_greet)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*out;
	int		 r;

	load_ok(&p, PLUGIN("greet"));
	tenv_init(&t, declared(&p, tconf("greeting", "Good day",
	    "greet_repeat", "2", NULL), NULL), PFSD_PROTO_TCP);
	ck_assert_int_eq(p.post_configure_hook(&t.srv), 0);
	ck_assert_int_eq(p.child_init_hook(&t.srv), 0);
	out = run_stdio(&p, &t.req, "", 0, &r, NULL);
	ck_assert_str_eq(out, "Good day, 127.0.0.1! (request 1 of this child)\n"
	    "Good day, 127.0.0.1! (request 1 of this child)\n");
	free(out);
	out = run_stdio(&p, &t.req, "", 0, &r, NULL);
	ck_assert_str_eq(out, "Good day, 127.0.0.1! (request 2 of this child)\n"
	    "Good day, 127.0.0.1! (request 2 of this child)\n");
	free(out);
	ck_assert_int_eq(p.child_finish_hook(&t.srv), 0);
	tenv_free(&t, &p);
}
END_TEST

START_TEST(test_greet_default)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*out;
	int		 r;

	load_ok(&p, PLUGIN("greet"));
	tenv_init(&t, declared(&p, conf_new(), NULL), PFSD_PROTO_TCP);
	ck_assert_int_eq(p.post_configure_hook(&t.srv), 0);
	ck_assert_int_eq(p.child_init_hook(&t.srv), 0);
	out = run_stdio(&p, &t.req, "", 0, &r, NULL);
	ck_assert_str_eq(out, "Hello, 127.0.0.1! (request 1 of this child)\n");
	free(out);
	tenv_free(&t, &p);
}
END_TEST

/* Bad values of greet's declared options: pfsd's own FILE:LINE errors. */
static const char *const greet_bad[][3] = {
	{ "greet_repeat", "x", "t.conf:1: greet_repeat: \"x\" is not a number" },
	{ "greet_repeat", "2x",
	    "t.conf:1: greet_repeat: \"2x\" is not a number" },
	{ "greet_repeat", "0",
	    "t.conf:1: greet_repeat: \"0\" is out of range (1..100)" },
	{ "greet_repeat", "101",
	    "t.conf:1: greet_repeat: \"101\" is out of range (1..100)" },
	{ "greet_repeat", "99999999999999999999",
	    "t.conf:1: greet_repeat: \"99999999999999999999\" is out of "
	    "range (1..100)" },
	{ "greting", "hi",
	    "t.conf:1: greting: unknown key (did you mean \"greeting\"?)" },
	{ "shout", "1", "t.conf:1: shout: unknown key (not one of pfsd's, nor "
	    "declared by the handler: see --help)" },
	{ "usr", "nobody",
	    "t.conf:1: usr: unknown key (did you mean \"user\"?)" },
};

START_TEST(test_greet_bad)
{
	struct plugin		 p;
	struct conf		*c;
	size_t			 nerr;
	const char *const	 want[] = { greet_bad[_i][2], NULL };

	load_ok(&p, PLUGIN("greet"));
	c = declared(&p, tconf(greet_bad[_i][0], greet_bad[_i][1], NULL),
	    &nerr);
	assert_msgs(c->errors, c->nerrors, want);
	ck_assert_uint_eq(c->nwarnings, 0);
	conf_free(c);
	plugin_unload(&p);
}
END_TEST

/* A handler built against pfsd.h 1.0 still loads, declaring nothing. */
START_TEST(test_abi_1_0)
{
	struct plugin		 p;
	struct conf		*c;
	const char *const	 warn[] = { "t.conf:1: warning: greeting: "
	    "unknown key (kept for the handler, which declares no options)",
	    NULL };
	const char *const	 err[] = {
	    "t.conf:2: usr: unknown key (did you mean \"user\"?)", NULL };

	load_ok(&p, SRCDIR "/tests/plugins/abi_1_0.so");
	ck_assert_str_eq(p.name, "abi_1_0");
	ck_assert_uint_eq(p.abi_minor, 0);
	ck_assert_int_eq(p.declares, 0);
	ck_assert_ptr_null(p.opts);
	c = declared(&p, tconf("greeting", "hi", "usr", "nobody", NULL),
	    &(size_t){ 0 });
	assert_msgs(c->warnings, c->nwarnings, warn);
	assert_msgs(c->errors, c->nerrors, err);
	conf_free(c);
	plugin_unload(&p);
}
END_TEST

/* --- http_hello ---------------------------------------------------------- */

#define OK_HEAD	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" \
		"Content-Length: 14\r\n"
#define BODY	"Hello, world!\n"
#define OK	OK_HEAD "\r\n" BODY
#define OK_CL	OK_HEAD "Connection: close\r\n\r\n" BODY
#define OK_KA	OK_HEAD "Connection: keep-alive\r\n\r\n" BODY
#define BAD	"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n" \
		"Connection: close\r\nContent-Length: 12\r\n\r\nBad Request\n"
#define V505	"HTTP/1.1 505 HTTP Version Not Supported\r\n" \
		"Content-Type: text/plain\r\nConnection: close\r\n" \
		"Content-Length: 27\r\n\r\nHTTP Version Not Supported\n"
#define GET11	"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
#define GET10	"GET / HTTP/1.0\r\n\r\n"
#define POST11	"POST / HTTP/1.1\r\nHost: x\r\n"
#define CHUNKED	"Transfer-Encoding: chunked\r\n"

static const struct {
	const char	*in;
	const char	*out;	/* without the Date lines */
} https[] = {
	{ GET11, OK },
	{ GET11 GET11 GET11, OK OK OK },
	{ GET10 GET10, OK_CL },
	{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n" GET10,
	    OK_KA OK_CL },
	{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" GET11,
	    OK_CL },
	{ "GET / HTTP/1.1\r\nHost: x\r\nconnection: TE, close\r\n\r\n"
	    GET11, OK_CL },
	{ "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" GET11, OK_HEAD "\r\n" OK },
	{ POST11 "Content-Length: 5\r\n\r\nabcde" GET11, OK OK },
	{ POST11 "Content-Length: 50\r\n\r\nabcde", OK },
	/* RFC 9112 3.2: HTTP/1.1 needs exactly one Host; 1.0 none */
	{ "GET / HTTP/1.1\r\n\r\n", BAD },
	{ "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", BAD },
	{ "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", BAD },
	/* RFC 9110 8.6: Content-Length values must agree */
	{ POST11 "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", BAD },
	{ POST11 "Content-Length: 1, 2\r\n\r\nab", BAD },
	{ POST11 "Content-Length: 2\r\nContent-Length: 2\r\n\r\nab" GET11,
	    OK OK },
	{ POST11 "Content-Length: 2, 2\r\n\r\nab" GET11, OK OK },
	{ POST11 "Content-Length: ,\r\n\r\n", BAD },
	/* RFC 9112 7.1: a chunked body is read to its end */
	{ POST11 CHUNKED "\r\n0\r\n\r\n" GET11, OK OK },
	{ POST11 CHUNKED "\r\n5;ext=1\r\nabcde\r\nA\r\n0123456789\r\n"
	    "0\r\nTrailer: x\r\n\r\n" GET11, OK OK },
	{ POST11 "Transfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n"
	    "0\r\n\r\n" GET11, OK OK },
	{ POST11 CHUNKED "\r\nzz\r\n" GET11, OK },
	{ POST11 CHUNKED "\r\n2\r\nabc\r\n0\r\n\r\n" GET11, OK },
	/* RFC 9112 6.1: chunked must be last; with Content-Length, close */
	{ POST11 "Transfer-Encoding: chunked, gzip\r\n\r\n", BAD },
	{ POST11 CHUNKED "Content-Length: 3\r\n\r\n0\r\n\r\n" GET11,
	    OK_CL },
	{ "GET / HTTP/1.1\n\nGET / HTTP/1.1\nHost: x\n\n", BAD },
	{ "GET / HTTP/1.1\nHost: x\n\nGET / HTTP/1.1\nHost: x\n\n", OK OK },
	{ "\r\n\r\n" GET11, OK },
	{ "HELLO\r\n\r\n", BAD },
	/* RFC 9112 2.3: another major version is 505, not 400 */
	{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", V505 },
	{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", V505 },
	{ "GET / HTTP/1.10\r\n\r\n", BAD },
	{ "GET / HTTP/1\r\n\r\n", BAD },
	/* HTTP/0.9: the body alone */
	{ "GET /\r\n", BODY },
	{ "GET /\r\n\r\n", BODY },
	{ "POST /\r\n\r\n", BAD },
	{ "get / HTTP/1.1\r\n\r\n", BAD },
	{ "GET  HTTP/1.1\r\n\r\n", BAD },
	{ GET11 "GET / HTTP/1.1\r\nNo colon here\r\n\r\n" GET11, OK BAD },
	{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", BAD },
	{ POST11 "Content-Length: -1\r\n\r\n", BAD },
	{ POST11 "Content-Length: 1x\r\n\r\n", BAD },
	{ "GET / HTTP/1.1\r\n", "" },
	{ "", "" },
};

/* Remove every "Date: ...\r\n" line from s; how many there were. */
static int
strip_dates(char *s)
{
	char	*d, *e;
	int	 n = 0;

	while ((d = strstr(s, "\r\nDate: ")) != NULL) {
		ck_assert_ptr_nonnull(e = strstr(d + 2, "\r\n"));
		ck_assert_int_eq(e - d, 2 + 35);	/* RFC 9110 IMF-fixdate */
		ck_assert_int_eq(strncmp(e - 4, " GMT", 4), 0);
		memmove(d, e, strlen(e) + 1);
		n++;
	}
	return n;
}

/* Serve in (then EOF) over a socketpair; what the client read. */
static char *
http_run(const struct plugin *p, struct tenv *t, const char *in, size_t len,
    int eof)
{
	int	sv[2];
	char	*out;
	size_t	n = 0, cap = 65536;
	ssize_t	k;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], in, len), (ssize_t)len);
	if (eof)
		shutdown(sv[1], SHUT_WR);
	t->req.fd = sv[0];
	ck_assert_int_eq(p->process_request(&t->req), 0);
	close(sv[0]);	/* as pfsd does after the request */
	out = malloc(cap);
	while ((k = read(sv[1], out + n, cap - n - 1)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(sv[1]);
	return out;
}

START_TEST(test_http)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*out;

	load_ok(&p, PLUGIN("http_hello"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	out = http_run(&p, &t, https[_i].in, strlen(https[_i].in), 1);
	/* every answer but a bare HTTP/0.9 body has a Date */
	ck_assert_int_eq(strip_dates(out), h_count(https[_i].out, "HTTP/1.1 "));
	ck_assert_str_eq(out, https[_i].out);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

/* A request head larger than the buffer is refused, not overflowed. */
START_TEST(test_http_huge)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*in, *out;
	size_t		 n = 20000;

	load_ok(&p, PLUGIN("http_hello"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	in = malloc(n + 1);
	memcpy(in, "GET / HTTP/1.1\r\nX: ", 19);
	memset(in + 19, 'a', n - 19);
	in[n] = '\0';
	out = http_run(&p, &t, in, n, 1);
	ck_assert_int_eq(strip_dates(out), 1);
	ck_assert_str_eq(out, BAD);
	free(in);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

/* An idle keep-alive client is let go after http_timeout seconds. */
START_TEST(test_http_timeout)
{
	struct plugin	 p;
	struct tenv	 t;
	struct timespec	 a, b;
	char		*out;
	long		 ms;

	load_ok(&p, PLUGIN("http_hello"));
	tenv_init(&t, declared(&p, tconf("http_timeout", "1", NULL), NULL),
	    PFSD_PROTO_TCP);
	ck_assert_int_eq(p.post_configure_hook(&t.srv), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	out = http_run(&p, &t, GET11, strlen(GET11), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	strip_dates(out);
	ck_assert_str_eq(out, OK);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 900);
	ck_assert_int_le(ms, 3000);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

/* http_timeout is declared: pfsd checks it, the hook reads it. */
START_TEST(test_http_options)
{
	static const char *const bad[][2] = {
		{ "x", "t.conf:1: http_timeout: \"x\" is not a number" },
		{ "-1", "t.conf:1: http_timeout: \"-1\" is out of range "
		    "(0..86400)" },
		{ "86401", "t.conf:1: http_timeout: \"86401\" is out of range "
		    "(0..86400)" },
		{ "5s", "t.conf:1: http_timeout: \"5s\" is not a number" },
	};
	struct plugin	 p;
	struct tenv	 t;
	struct conf	*c;
	size_t		 i, nerr;

	load_ok(&p, PLUGIN("http_hello"));
	for (i = 0; i < nitems(bad); i++) {
		const char *const want[] = { bad[i][1], NULL };

		c = declared(&p, tconf("http_timeout", bad[i][0], NULL), &nerr);
		assert_msgs(c->errors, c->nerrors, want);
		conf_free(c);
	}
	/* unset: the declared default, 5 */
	tenv_init(&t, declared(&p, conf_new(), NULL), PFSD_PROTO_TCP);
	ck_assert_str_eq(pfsd_option(&t.srv, "http_timeout"), "5");
	ck_assert_int_eq(p.post_configure_hook(&t.srv), 0);
	tenv_free(&t, NULL);
	tenv_init(&t, declared(&p, tconf("http_timeout", "+0", NULL), NULL),
	    PFSD_PROTO_TCP);
	ck_assert_str_eq(pfsd_option(&t.srv, "http_timeout"), "0");
	ck_assert_int_eq(p.post_configure_hook(&t.srv), 0);
	tenv_free(&t, NULL);
	/* UDP: no stream to read, nothing done */
	tenv_init(&t, declared(&p, conf_new(), NULL), PFSD_PROTO_UDP);
	t.req.fd = -1;
	ck_assert_int_eq(p.process_request(&t.req), 0);
	tenv_free(&t, &p);
}
END_TEST

/* --- hooks.so ------------------------------------------------------------ */

/* Call every hook of hooks.so in order; the log must say so, line by line. */
START_TEST(test_hooks_log)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*log, *out, line[128];
	const char	*s;
	size_t		 i;
	int		 r;

	load_ok(&p, TPLUGIN("hooks"));
	tenv_init(&t, tconf("hook_log", h_path("hooks.log"), NULL),
	    PFSD_PROTO_TCP);
	for (i = 1; i < nitems(hooks); i++)
		ck_assert_int_eq(hook_call(&p, i, &t.srv, &t.req),
		    strcmp(hooks[i].name, "allow_deny_hook") == 0 ||
		    strcmp(hooks[i].name, "write_to_log_hook") == 0);
	out = run_stdio(&p, &t.req, "x\n", 2, &r, NULL);
	ck_assert_str_eq(out, "x\n");
	free(out);
	log = h_read_file(h_path("hooks.log"));
	ck_assert_ptr_nonnull(log);
	s = log;
	/* "NAME PID PPID", then the hook's arguments, if any */
	for (i = 1; i <= nitems(hooks); i++) {
		if (strcmp(hooks[i % nitems(hooks)].name,
		    "write_to_log_hook") == 0)
			continue;	/* it writes to log_hook, unset here */
		snprintf(line, sizeof line, "%s %ld %ld",
		    hooks[i % nitems(hooks)].name, (long)getpid(),
		    (long)getppid());
		ck_assert_msg(strncmp(s, line, strlen(line)) == 0 &&
		    (s[strlen(line)] == '\n' || s[strlen(line)] == ' '),
		    "expected %s at: %s", line, s);
		s = strchr(s, '\n') + 1;
	}
	ck_assert_str_eq(s, "");
	free(log);
	tenv_free(&t, &p);
}
END_TEST

START_TEST(test_hooks_options)
{
	struct plugin	 p;
	struct tenv	 t;
	size_t		 i;

	load_ok(&p, TPLUGIN("hooks"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	ck_assert_int_eq(p.child_init_hook(&t.srv), 0);
	ck_assert_int_eq(p.allow_deny_hook(&t.req), 1);
	tenv_free(&t, NULL);
	tenv_init(&t, tconf("fail_init", "1", "deny_all", "1", NULL),
	    PFSD_PROTO_TCP);
	ck_assert_int_eq(p.child_init_hook(&t.srv), 1);
	ck_assert_int_eq(p.allow_deny_hook(&t.req), 0);
	tenv_free(&t, NULL);
	tenv_init(&t, tconf("fail_init", "0", "deny_all", "0", NULL),
	    PFSD_PROTO_TCP);
	ck_assert_int_eq(p.child_init_hook(&t.srv), 0);
	ck_assert_int_eq(p.allow_deny_hook(&t.req), 1);
	/* fail_hook: exactly the hooks named fail */
	tenv_free(&t, NULL);
	tenv_init(&t, tconf("fail_hook", "post_bind_hook", "fail_hook",
	    "post_accept_hook", NULL), PFSD_PROTO_TCP);
	for (i = 1; i < nitems(hooks); i++) {
		if (strcmp(hooks[i].name, "allow_deny_hook") == 0 ||
		    strcmp(hooks[i].name, "write_to_log_hook") == 0)
			continue;
		ck_assert_int_eq(hook_call(&p, i, &t.srv, &t.req),
		    strcmp(hooks[i].name, "post_bind_hook") == 0 ||
		    strcmp(hooks[i].name, "post_accept_hook") == 0);
	}
	tenv_free(&t, &p);
}
END_TEST

/* What the API says of a peer and of options, without a daemon: an IPv4
 * client of a dual-stack socket is plain IPv4; a repeated key's value is
 * its last one, every one in order through pfsd_option_at. */
START_TEST(test_api_peer_and_repeated_option)
{
	struct tenv		 t;
	struct sockaddr_in6	*sin6;

	tenv_init(&t, tconf("allow", "a", "allow", "b", NULL),
	    PFSD_PROTO_TCP);
	ck_assert_str_eq(pfsd_option(&t.srv, "allow"), "b");
	ck_assert_uint_eq(pfsd_option_count(&t.srv, "allow"), 2);
	ck_assert_str_eq(pfsd_option_at(&t.srv, "allow", 0), "a");
	ck_assert_str_eq(pfsd_option_at(&t.srv, "allow", 1), "b");
	ck_assert_ptr_null(pfsd_option_at(&t.srv, "allow", 2));
	sin6 = (struct sockaddr_in6 *)&t.req.peer;
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(6543);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.9",
	    &sin6->sin6_addr), 1);
	t.req.peerlen = sizeof(*sin6);
	ck_assert_str_eq(pfsd_peer_addr(&t.req), "127.0.0.9");
	ck_assert_int_eq(pfsd_peer_port(&t.req), 6543);
	t.req.have_addr = 0;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::9", &sin6->sin6_addr),
	    1);
	ck_assert_str_eq(pfsd_peer_addr(&t.req), "2001:db8::9");
	tenv_free(&t, NULL);
}
END_TEST

START_TEST(test_hooks_requests)
{
	struct plugin	 p;
	struct tenv	 t;
	char		*out, expect[256];
	int		 r;

	load_ok(&p, TPLUGIN("hooks"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	t.srv.generation = 3;
	t.srv.served = 7;
	out = run_stdio(&p, &t.req, "a\r\ninfo\ndone\nb\n", 15, &r, NULL);
	snprintf(expect, sizeof expect, "a\r\npeer=127.0.0.1:5555 "
	    "local=127.0.0.1:20203 proto=0 pid=%ld ppid=%ld generation=3 "
	    "requests=7\ndone\n", (long)getpid(), (long)getppid());
	ck_assert_str_eq(out, expect);
	ck_assert_int_eq(t.srv.done, 1);
	free(out);
	tenv_free(&t, &p);
}
END_TEST

/* "crash" aborts the child (stdio on a pipe: abort() skips all cleanup). */
START_TEST(test_hooks_crash)
{
	struct plugin	 p;
	struct tenv	 t;
	int		 fds[2];

	load_ok(&p, TPLUGIN("hooks"));
	tenv_init(&t, conf_new(), PFSD_PROTO_TCP);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "x\ncrash\n", 8), 8);
	close(fds[1]);
	dup2(fds[0], 0);
	ck_assert_int_ne(dup2(open("/dev/null", O_WRONLY), 1), -1);
	__fpurge(stdin);
	p.process_request(&t.req);
	ck_abort_msg("crash did not crash");
}
END_TEST

Suite *
plugin_suite(void)
{
	Suite	*s = suite_create("plugin");
	TCase	*tc;

	tc = tcase_create("load");
	tcase_add_loop_test(tc, test_refusal, 0, nitems(refusals));
	tcase_add_test(tc, test_wrong_major);
	tcase_add_test(tc, test_newer_minor);
	tcase_add_test(tc, test_abi_1_0);
	tcase_add_test(tc, test_not_elf);
	tcase_add_test(tc, test_hook_names);
	tcase_add_test(tc, test_hooks_all_found);
	tcase_add_loop_test(tc, test_shipped, 0, nitems(shipped));
	tcase_add_loop_test(tc, test_test_handlers_load, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("path");
	tcase_add_loop_test(tc, test_plugin_path, 0, nitems(paths));
	tcase_add_test(tc, test_plugin_path_relative);
	tcase_add_test(tc, test_plugin_path_fails);
	tcase_add_test(tc, test_configure_ok);
	tcase_add_test(tc, test_configure_errors);
	tcase_add_test(tc, test_configure_cmdline);
	tcase_add_test(tc, test_configure_long_and_unset);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, test_exports);
	tcase_add_test(tc, test_header_c99);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("handlers");
	tcase_add_loop_test(tc, test_echo, 0, nitems(echoes));
	tcase_add_test(tc, test_echo_long_line);
	tcase_add_test(tc, test_echo_v2);
	tcase_add_test(tc, test_sleepy);
	tcase_add_test(tc, test_daytime);
	tcase_add_test(tc, test_greet);
	tcase_add_test(tc, test_greet_default);
	tcase_add_loop_test(tc, test_greet_bad, 0, nitems(greet_bad));
	tcase_add_loop_test(tc, test_http, 0, nitems(https));
	tcase_add_test(tc, test_http_huge);
	tcase_add_test(tc, test_http_timeout);
	tcase_add_test(tc, test_http_options);
	tcase_add_test(tc, test_hooks_log);
	tcase_add_test(tc, test_hooks_options);
	tcase_add_test(tc, test_hooks_requests);
	tcase_add_test(tc, test_api_peer_and_repeated_option);
	tcase_add_test_raise_signal(tc, test_hooks_crash, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}
