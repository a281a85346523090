/*
 * main.c - pfsd's startup order: configuration (all of it checked before
 * anything is touched), then logging, background, sockets, privileges,
 * and the parent loop.
 */
#include "internal.h"

#include <sys/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct pfsd_server server;
static const char *step = "configuration";	/* what startup is doing */

/* The parent's signals, blocked from the first instruction until its
 * handlers are in place: none arriving during startup or a restart is
 * lost (they stay pending, across execve too). */
static void
block_signals(void)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTTIN);
	sigaddset(&set, SIGTTOU);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/*
 * Started with descriptor 0, 1 or 2 closed (some supervisors and cron
 * do that): put /dev/null there before anything else is opened, or the
 * first socket or log file pfsd opens would land on it and be taken for
 * stdin, stdout or stderr -- a client's connection dup2'ed over the
 * listening socket, log lines written to a client.
 */
static void
open_std_fds(void)
{
	int	fd;

	for (fd = 0; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* the lowest free descriptor: fd itself */
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			_exit(EXIT_UNAVAILABLE);
	}
}

static void
print_messages(char **msgs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "%s\n", msgs[i]);
}

static int
refused(struct pfsd_server *srv, const char *hook)
{
	const char	*file = conf_str(srv->conf, OPT_CONF_FILE);

	fprintf(stderr, "%s: handler: %s of %s refused the configuration\n",
	    file != NULL ? file : "command line", hook, srv->plugin.path);
	return -1;
}

/* Everything -t checks: the handler, sockets, access rules, TLS files. */
static int
configure(struct pfsd_server *srv, enum cmd_action action)
{
	struct conf	*c = srv->conf;

	/* even after other errors: its options are checked with the rest */
	if (conf_str(c, OPT_HANDLER) != NULL)
		plugin_configure(c, &srv->plugin);
	conf_check_unknown(c);
	listen_configure(c, &srv->ls, &srv->nls);
	log_check_conf(c);
	chroot_check_conf(srv);
	if ((srv->acl = access_configure(c)) == NULL ||
	    (srv->proxy_allow = cidr_set_configure(c, OPT_PROXY_ALLOW)) ==
	    NULL)
		fatal("access_configure");
	metrics_http_configure(srv);
	compat_check(c);
	tls_configure(srv);
	/* blocked like the parent's own until parent_signals handles them */
	if (sigpass_configure(c, &srv->sigpass) == 0)
		sigprocmask(SIG_BLOCK, &srv->sigpass, NULL);
	if (action == CMD_CHECK && c->nerrors == 0)
		check_world(srv);
	print_messages(c->warnings, c->nwarnings);
	if (c->nerrors > 0) {
		print_messages(c->errors, c->nerrors);
		return -1;
	}
	/* before the hooks: pfsd_set_option("max_servers") may change it */
	srv->max_servers = conf_num(c, OPT_MAX_SERVERS);
	hooks_install(srv);
	if (srv->plugin.configure_hook != NULL &&
	    srv->plugin.configure_hook(srv) != 0)
		return refused(srv, "configure_hook");
	if (srv->plugin.post_configure_hook != NULL &&
	    srv->plugin.post_configure_hook(srv) != 0)
		return refused(srv, "post_configure_hook");
	return 0;
}

/* --help, and with -c FILE (or --handler) the handler's options too. */
static void
usage(struct pfsd_server *srv)
{
	struct conf	*c = srv->conf;

	conf_usage(stdout);
	if (conf_str(c, OPT_HANDLER) == NULL)
		return;
	fflush(stdout);
	if (plugin_configure(c, &srv->plugin) == -1) {
		print_messages(c->errors, c->nerrors);
		return;
	}
	conf_usage_handler(stdout, c, srv->plugin.name);
}

/*
 * Undo what startup did so far, then exit with code; an image started by
 * a HUP rolls back to the running generation instead (restart.c).
 */
__attribute__((noreturn)) static void
startup_fail(struct pfsd_server *srv, int code, const char *fmt, ...)
{
	char	msg[ERRBUF_SIZE];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (srv->reexec) {
		restart_rollback(srv, step, msg);	/* returns if it cannot */
		code = EXIT_UNAVAILABLE;
	}
	if (srv->plugin.fatal_hook != NULL)
		srv->plugin.fatal_hook(srv, msg);
	if (log_fd() != -1)
		fprintf(stderr, "pfsd: %s\n", msg);
	log_msg(PFSD_LOG_ERR, "%s", msg);
	status_close(srv);
	metrics_http_close();
	listen_close_all(srv->ls, srv->nls, 1);
	ser_cleanup(&srv->ser);
	if (srv->pidfile_written || srv->reexec)
		pidfile_remove(conf_str(srv->conf, OPT_PID_FILE));
	exit(code);
}

/* argv[0] searched in PATH as execvp(3) would; NULL if not there. */
static char *
search_path(const char *name)
{
	const char	*path = getenv("PATH"), *p, *end;
	char		*full;

	for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (asprintf(&full, "%.*s/%s", (int)(end - p), p, name) == -1)
			return NULL;
		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

/*
 * The executable a HUP re-executes: the path pfsd was started as, made
 * absolute, not where it resolves to (/proc/self/exe): an upgrade that
 * switches a symbolic link to a new binary must run the new one.
 */
static char *
own_path(const char *argv0, const char *cwd)
{
	char	*s;

	if (restart_exe() != NULL)
		return strdup(restart_exe());
	if (argv0[0] == '/')
		return strdup(argv0);
	if (strchr(argv0, '/') != NULL) {
		if (strncmp(argv0, "./", 2) == 0)
			argv0 += 2;
		return asprintf(&s, "%s/%s", cwd, argv0) == -1 ? NULL : s;
	}
	if ((s = search_path(argv0)) != NULL && s[0] != '/') {
		free(s);	/* a relative PATH entry */
		s = NULL;
	}
	return s != NULL ? s : realpath("/proc/self/exe", NULL);
}

static void
remember_origin(struct pfsd_server *srv, char **argv)
{
	srv->argv = argv;
	srv->cwd = getcwd(NULL, 0);
	if (srv->cwd == NULL)
		fatal("cannot find the directory I was started in");
	srv->exe = own_path(argv[0], srv->cwd);
	if (srv->exe == NULL)
		fatal("cannot find my own executable");
}

static void
start_logging(struct pfsd_server *srv)
{
	struct conf		*c = srv->conf;
	const struct conf_value	*v;
	char			 err[ERRBUF_SIZE];

	step = "log_file";
	if (log_open(conf_str(c, OPT_LOG_FILE), conf_str(c, OPT_SYSLOG_IDENT),
	    (int)conf_num(c, OPT_SYSLOG_FACILITY),
	    (int)conf_num(c, OPT_LOG_LEVEL), err, sizeof(err)) == -1) {
		if (srv->reexec)	/* rolls back */
			startup_fail(srv, EXIT_UNAVAILABLE, "%s", err);
		v = conf_value_at(c, OPT_LOG_FILE, conf_isset(c, OPT_LOG_FILE) ?
		    conf_count(c, OPT_LOG_FILE) - 1 : 0);
		if (v != NULL && v->line > 0)
			fprintf(stderr, "%s:%d: log_file: %s\n", v->file,
			    v->line, err);
		else
			fprintf(stderr, "%s: log_file: %s\n", v != NULL &&
			    v->file != NULL ? v->file : "pfsd", err);
		exit(EXIT_UNAVAILABLE);
	}
	step = "access_log";
	if (accesslog_open(c, err, sizeof(err)) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "access_log: %s", err);
}

static void
hook_or_fail(struct pfsd_server *srv, int (*hook)(struct pfsd_server *),
    const char *name)
{
	step = name;
	if (hook != NULL && hook(srv) != 0)
		startup_fail(srv, 1, "%s of %s returned non-zero", name,
		    srv->plugin.path);
}

/* Bind (or inherit) the sockets, serializer, status socket, pid file. */
static void
acquire_resources(struct pfsd_server *srv)
{
	const char	*pidfile = conf_str(srv->conf, OPT_PID_FILE);
	char		 err[ERRBUF_SIZE];

	if (srv->reexec && srv->plugin.restart_open_hook != NULL)
		srv->plugin.restart_open_hook(srv);	/* after a HUP */
	step = "bind";
	if (listen_inherit_env(srv->ls, srv->nls, restart_listen_fds(), err,
	    sizeof(err)) == -1 ||
	    listen_bind_all(srv->ls, srv->nls, err, sizeof(err)) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "%s", err);
	hook_or_fail(srv, srv->plugin.post_bind_hook, "post_bind_hook");
	step = "serialize";
	if (ser_setup(&srv->ser, srv->conf, srv->nls, err, sizeof(err)) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "%s", err);
	step = "status_socket";
	if (status_open(srv, restart_status_fd(), err, sizeof(err)) == -1 ||
	    metrics_http_open(srv, restart_metrics_fd(), err, sizeof(err)) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "%s", err);
	step = "pid_file";
	if (pidfile != NULL && !srv->reexec) {
		if (pidfile_write(pidfile, err, sizeof(err)) == -1)
			startup_fail(srv, EXIT_UNAVAILABLE, "%s", err);
		srv->pidfile_written = 1;
	}
	step = "scoreboard";
	if (scoreboard_init(&srv->sb, SCOREBOARD_SLOTS,
	    restart_scoreboard_fd()) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "scoreboard: %s",
		    strerror(errno));
}

/*
 * user/group.  The kernel clears the parent-death signal when the
 * credentials change; one pfsd was started with (by a supervisor, or the
 * tests' harness) is set again, so that pfsd still goes with its parent.
 */
static void
drop_privileges(struct pfsd_server *srv)
{
	char	err[ERRBUF_SIZE];
	int	sig = 0;

	if (prctl(PR_GET_PDEATHSIG, &sig) == -1)
		sig = 0;
	if (privs_drop(srv, err, sizeof(err)) == -1)
		startup_fail(srv, 1, "%s", err);
	if (sig != 0 && prctl(PR_SET_PDEATHSIG, sig) == 0 && getppid() == 1)
		raise(sig);	/* the parent went meanwhile */
}

static int
run(struct pfsd_server *srv)
{
	const char	*pidfile = conf_str(srv->conf, OPT_PID_FILE);
	char		 err[ERRBUF_SIZE];

	conf_absolute_paths(srv->conf, srv->cwd);
	start_logging(srv);
	if (pidfile != NULL && !srv->reexec &&
	    pidfile_check(pidfile, err, sizeof(err)) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "%s", err);
	if (!srv->reexec && (conf_num(srv->conf, OPT_BACKGROUND) ||
	    conf_num(srv->conf, OPT_SETSID)) &&
	    daemon_background(srv, err, sizeof(err)) == -1)
		startup_fail(srv, 1, "%s", err);
	acquire_resources(srv);
	notify_open();
	step = "/dev/null";
	if ((srv->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		startup_fail(srv, EXIT_UNAVAILABLE, "/dev/null: %s",
		    strerror(errno));
	step = "user";
	drop_privileges(srv);
	if (geteuid() == 0 && conf_str(srv->conf, OPT_USER) == NULL)
		log_msg(PFSD_LOG_WARNING, "running as root without \"user\": "
		    "the handler serves every client as root");
	hook_or_fail(srv, srv->plugin.pre_loop_hook, "pre_loop_hook");
	if (srv->ready_fd != -1 && conf_str(srv->conf, OPT_CHROOT) == NULL &&
	    chdir("/") == -1)
		log_warn("chdir /");
	daemon_detach(srv);
	return parent_main(srv);
}

static void
server_init(struct pfsd_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->ready_fd = srv->status_fd = srv->checker_out = -1;
	srv->plugin.fd = srv->sb.fd = -1;
	srv->janitor_fd = -1;
	srv->sigpipe[0] = srv->sigpipe[1] = -1;
	ser_init(&srv->ser);
}

int
main(int argc, char **argv)
{
	struct pfsd_server	*srv = &server;
	struct cmdline		 cl;
	enum cmd_action		 action;
	int			 rc, format;

	block_signals();
	argv = proctitle_init(argc, argv);	/* before any getenv */
	open_std_fds();
	server_init(srv);
	restart_init(srv);
	log_init("pfsd", PFSD_LOG_NOTICE);
	if ((srv->conf = conf_new()) == NULL)
		fatal("conf_new");
	rc = conf_load(srv->conf, argc, argv, &cl);
	action = cl.action;
	format = cl.format;
	conf_cmdline_free(&cl);		/* its settings are in the conf now */
	switch (action) {
	case CMD_HELP:
		usage(srv);
		return 0;
	case CMD_VERSION:
		printf("pfsd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION,
		    PFSD_ABI_MAJOR, PFSD_ABI_MINOR);
		return 0;
	case CMD_STATUS:
		status_default_conf(srv->conf);
		return status_client(srv->conf, format);
	default:
		break;
	}
	if (action == CMD_RUN)
		remember_origin(srv, argv);
	else if (action == CMD_CHECK)	/* a HUP's check can take a while */
		proctitle_set("pfsd: checking configuration");
	if (configure(srv, action) == -1 || rc == -1) {
		if (action == CMD_RUN && srv->reexec)
			startup_fail(srv, EXIT_CONFIG, "%s", srv->conf->nerrors >
			    0 ? srv->conf->errors[0] : "the handler refused "
			    "the configuration");
		return EXIT_CONFIG;
	}
	if (action == CMD_CHECK) {
		printf("pfsd: configuration ok\n");
		return 0;
	}
	if (action == CMD_PRINT) {
		conf_print(srv->conf, stdout);
		listen_print(srv->ls, srv->nls, stdout);
		return 0;
	}
	return run(srv);
}
