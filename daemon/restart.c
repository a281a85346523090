/*
 * restart.c - HUP: reload in place, same pid, without dropping a
 * connection, and without ever taking the service down.  The whole
 * sequence lives here (docs/DESIGN.md and pfsd(8) RELOAD draw it):
 *
 * 1. begin: a separate process runs "pfsd -t" with the original command
 *    line, for at most hup_check_timeout seconds; if the new configuration or handler is
 *    broken, log why and go on serving.
 * 2. exec: the listening sockets, the status socket and metrics_listen's
 *    stay open across execve() (their descriptors are named in the
 *    environment), so the
 *    kernel keeps queuing connections; the children of the old generation
 *    are named too and go on serving until the new generation runs.  The
 *    running generation's effective configuration and its private copy
 *    of the handler go across as memfds: what a rollback needs; so does
 *    history.c's, so that counters and the reload history go on.
 * 3. adopt: the new image takes the old children into its care and
 *    retires them once it serves (commit).
 * 4. rollback: if the new image cannot start (bind, user, files, handler,
 *    a hook), it does not exit: it re-executes itself once more with the
 *    saved configuration and handler, the inherited sockets and the old
 *    children, as the same generation.  Only a failure of that rollback
 *    image stops pfsd.
 *
 * Every variable and descriptor handed across execve() is read and
 * cleared in restart_init(), and set in set_env(): nowhere else.
 * Signals are blocked across execve() and stay pending, so none is lost.
 */
#include "internal.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_OUTPUT_MAX	4096

/* Environment passed from a parent to the image it execs into. */
#define ENV_OLD_CHILDREN	"PFSD_OLD_CHILDREN"
#define ENV_GENERATION		"PFSD_GENERATION"
#define ENV_SAVED		"PFSD_SAVED"	/* GEN:CONF_FD:HANDLER_FD */
#define ENV_ROLLBACK		"PFSD_ROLLBACK"	/* why: a rollback image */
#define ENV_STATUS_FD		"PFSD_STATUS_FD"
#define ENV_METRICS_FD		"PFSD_METRICS_FD"
#define ENV_EXE			"PFSD_EXE"
#define ENV_CHECK_HELD		"PFSD_CHECK_HELD"	/* for the -t check */
#define ENV_SCOREBOARD_FD	"PFSD_SCOREBOARD_FD"
#define ENV_HISTORY_FD		"PFSD_HISTORY_FD"	/* history.c's memfd */

#define OLD_KILL_MS		1000	/* old child: SIGTERM to SIGKILL */

/* What this image received from the previous one. */
static struct {
	char		*listen_fds;	/* ENV_LISTEN_FDS as received */
	char		*old_children;	/* ENV_OLD_CHILDREN as received */
	char		*rollback;	/* set: we are a rollback; why */
	char		*exe;
	char		*held;		/* the check: what pfsd holds */
	unsigned int	 saved_gen;	/* generation of the saved state */
	int		 conf_fd;	/* its configuration (a memfd) */
	int		 handler_fd;	/* its handler's private copy */
	int		 status_fd;	/* its status socket */
	int		 metrics_fd;	/* its metrics_listen socket */
	int		 sb_fd;		/* its scoreboard */
	int		 history_fd;	/* its counters and history */
	char		 conf_path[32];	/* /proc/self/fd/N of conf_fd */
} rs = { .conf_fd = -1, .handler_fd = -1, .status_fd = -1, .metrics_fd = -1, .sb_fd = -1,
    .history_fd = -1 };

static char *
take_env(const char *name)
{
	const char	*v = getenv(name);
	char		*s = v != NULL && *v != '\0' ? strdup(v) : NULL;

	unsetenv(name);
	return s;
}

/* An inherited descriptor, or -1 if the text is not one that is open. */
static int
env_fd(const char *s)
{
	char	*end;
	long	 fd;

	if (s == NULL)
		return -1;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (end == s || errno != 0 || fd < 3 || fd > INT_MAX ||
	    fcntl((int)fd, F_GETFD) == -1)
		return -1;
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

static void
parse_saved(const char *s)
{
	unsigned int	gen;
	int		cfd, hfd;

	if (s == NULL || sscanf(s, "%u:%d:%d", &gen, &cfd, &hfd) != 3)
		return;
	rs.saved_gen = gen;
	snprintf(rs.conf_path, sizeof(rs.conf_path), "%d", cfd);
	rs.conf_fd = env_fd(rs.conf_path);
	snprintf(rs.conf_path, sizeof(rs.conf_path), "%d", hfd);
	rs.handler_fd = env_fd(rs.conf_path);
	snprintf(rs.conf_path, sizeof(rs.conf_path), "/proc/self/fd/%d",
	    rs.conf_fd);
}

/*
 * First thing in main(): take what the previous image handed over, and
 * clear it from the environment (the children and the -t check must not
 * see it).  A rollback image loads the saved configuration and handler.
 */
void
restart_init(struct pfsd_server *srv)
{
	char	*gen, *saved, *status, *sb, *hist, *metrics;

	rs.listen_fds = take_env(ENV_LISTEN_FDS);
	rs.old_children = take_env(ENV_OLD_CHILDREN);
	rs.rollback = take_env(ENV_ROLLBACK);
	rs.exe = take_env(ENV_EXE);
	rs.held = take_env(ENV_CHECK_HELD);
	gen = take_env(ENV_GENERATION);
	saved = take_env(ENV_SAVED);
	status = take_env(ENV_STATUS_FD);
	metrics = take_env(ENV_METRICS_FD);
	sb = take_env(ENV_SCOREBOARD_FD);
	hist = take_env(ENV_HISTORY_FD);
	if (gen != NULL) {
		srv->generation = (unsigned int)strtoul(gen, NULL, 10);
		srv->reexec = 1;
	}
	parse_saved(saved);
	rs.status_fd = env_fd(status);
	rs.metrics_fd = env_fd(metrics);
	free(metrics);
	rs.sb_fd = env_fd(sb);
	rs.history_fd = env_fd(hist);
	free(sb);
	free(hist);
	free(gen);
	free(saved);
	free(status);
	if (rs.rollback != NULL && (rs.conf_fd == -1 || rs.handler_fd == -1)) {
		free(rs.rollback);	/* nothing to roll back to */
		rs.rollback = NULL;
	}
	if (rs.rollback != NULL) {
		conf_load_instead(rs.conf_path);
		plugin_load_instead(rs.handler_fd);
	}
}

/* The executable of the previous image, when there was one. */
const char *
restart_exe(void)
{
	return rs.exe;
}

/* ENV_LISTEN_FDS as the previous image handed it over, or NULL. */
const char *
restart_listen_fds(void)
{
	return rs.listen_fds;
}

/*
 * In the check a HUP runs: does the running pfsd hold name (a listener's
 * name or the status socket's path), so that it is handed over, not made
 * again?  With NULL: is this such a check at all?
 */
int
restart_held(const char *name)
{
	const char	*p;
	size_t		 len;

	if (rs.held == NULL || name == NULL)
		return rs.held != NULL;
	len = strlen(name);
	for (p = rs.held; (p = strstr(p, name)) != NULL; p += len)
		if ((p == rs.held || p[-1] == '\n') &&
		    (p[len] == '\n' || p[len] == '\0'))
			return 1;
	return 0;
}

/* What the running pfsd holds, one per line, for the check. */
static char *
held_list(struct pfsd_server *srv)
{
	const char	*st = conf_str(srv->conf, OPT_STATUS_SOCKET);
	char		*s;
	size_t		 i, len = 2;
	FILE		*f;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	fprintf(f, "-\n");	/* never empty: an empty variable is unset */
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].fd != -1)
			fprintf(f, "%s\n", srv->ls[i].name);
	if (st != NULL && srv->status_fd != -1)
		fprintf(f, "%s\n", st);
	if (fclose(f) == EOF)
		return NULL;
	return s;
}

/* The scoreboard the previous image handed over, or -1. */
int
restart_scoreboard_fd(void)
{
	return rs.sb_fd;
}

/* The metrics_listen socket the previous image handed over, or -1. */
int
restart_metrics_fd(void)
{
	return rs.metrics_fd;
}

/* The status socket the previous image handed over, or -1. */
int
restart_status_fd(void)
{
	return rs.status_fd;
}

static char **
check_argv(struct pfsd_server *srv)
{
	char	**av;
	size_t	  n = 0;

	while (srv->argv[n] != NULL)
		n++;
	if ((av = calloc(n + 2, sizeof(*av))) == NULL)
		return NULL;
	memcpy(av, srv->argv, n * sizeof(*av));
	av[n] = "-t";
	return av;
}

/* A HUP refused: say why in pfsd status, sd_notify and the history. */
static void
set_reload_status(struct pfsd_server *srv, const char *fmt, ...)
{
	const char	*why = srv->reload_status;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(srv->reload_status, sizeof(srv->reload_status), fmt, ap);
	va_end(ap);
	notify_status(srv, 0);
	if (strncmp(why, "HUP refused: ", 13) == 0)
		why += 13;
	history_reload(RELOAD_REFUSED, srv->generation, why);
}

/*
 * Are the executable and the start directory (where relative paths of
 * the command line lead) still there to re-exec?  If not, say which.
 */
static int
origin_usable(struct pfsd_server *srv)
{
	const char	*what;
	int		 err;

	if (access(srv->exe, X_OK) == 0) {
		if (access(srv->cwd, X_OK) == 0)
			return 1;
		what = "start directory";
	} else
		what = "executable";
	err = errno;
	log_msg(PFSD_LOG_ERR, "HUP: %s %s: %s; HUP refused, still serving "
	    "generation %u", what, *what == 's' ? srv->cwd : srv->exe,
	    strerror(err), srv->generation);
	set_reload_status(srv, "HUP refused: %s %s: %s", what,
	    *what == 's' ? srv->cwd : srv->exe, strerror(err));
	return 0;
}

/* HUP: start checking the new configuration in a separate process. */
void
restart_begin(struct pfsd_server *srv)
{
	char	**av, *held;
	pid_t	  pid;
	int	  fd;

	if (srv->checker > 0) {
		srv->hup_pending = 1;
		return;
	}
	if (conf_str(srv->conf, OPT_CHROOT) != NULL) {
		log_msg(PFSD_LOG_ERR, "HUP: pfsd runs chrooted in %s and cannot "
		    "re-execute itself there; stop and start it to reload",
		    conf_str(srv->conf, OPT_CHROOT));
		set_reload_status(srv, "HUP refused: chrooted in %s",
		    conf_str(srv->conf, OPT_CHROOT));
		return;
	}
	if (!origin_usable(srv))
		return;
	log_msg(PFSD_LOG_NOTICE, "HUP: checking the new configuration");
	av = NULL;
	if ((fd = memfd_create("pfsd-check", MFD_CLOEXEC)) == -1 ||
	    (av = check_argv(srv)) == NULL || (held = held_list(srv)) == NULL) {
		log_warn("HUP: cannot check the configuration");
		set_reload_status(srv, "HUP refused: cannot check the "
		    "configuration: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		free(av);
		return;
	}
	if ((pid = fork()) == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		setenv(ENV_CHECK_HELD, held, 1);
		if (chdir(srv->cwd) == -1)
			_exit(126);
		execv(srv->exe, av);
		_exit(127);
	}
	free(av);
	free(held);
	if (pid == -1) {
		log_warn("HUP: fork");
		set_reload_status(srv, "HUP refused: fork: %s",
		    strerror(errno));
		close(fd);
		return;
	}
	srv->checker = pid;
	srv->checker_out = fd;
	srv->checker_deadline_ms = now_ms() +
	    conf_num(srv->conf, OPT_HUP_CHECK_TIMEOUT) * 1000;
}

/* Stop (or time limit): kill the check at once; it is reaped as usual. */
void
restart_cancel(struct pfsd_server *srv, const char *why)
{
	if (srv->checker <= 0 || srv->checker_killed)
		return;
	log_msg(PFSD_LOG_NOTICE, "HUP: %s: configuration check (pid %ld) "
	    "killed", why, (long)srv->checker);
	kill(srv->checker, SIGKILL);
	srv->checker_killed = 1;
	srv->hup_pending = 0;
}

/* The new generation serves: the old children finish and go. */
void
restart_retire_old(struct pfsd_server *srv)
{
	struct pool_entry	*c;
	size_t			 it = 0;

	if (pool_count(CHILD_OLD, 0) == 0)
		return;
	while ((c = pool_next(&it)) != NULL)
		if (pool_kind(c) == CHILD_OLD)
			pool_retire(c);
}

/* When an old child is due for SIGTERM or SIGKILL; -1 if none is. */
static long long
old_due(struct pfsd_server *srv, const struct pool_entry *c)
{
	long long	grace = conf_num(srv->conf, OPT_GRACEFUL_TIMEOUT) * 1000;

	if (pool_kind(c) != CHILD_OLD || pool_retired_ms(c) == 0)
		return -1;
	if (pool_killed_ms(c) == 0)	/* graceful_timeout 0: no limit */
		return grace > 0 ? pool_retired_ms(c) + grace : -1;
	return pool_killed_ms(c) + OLD_KILL_MS;
}

/*
 * When the check must be over or an old child is due; -1 if never.  A
 * walk of the children only while old ones are left after a HUP (at
 * most graceful_timeout), not on every event.
 */
long long
restart_due(struct pfsd_server *srv)
{
	long long	due = srv->checker > 0 && !srv->checker_killed ?
			    srv->checker_deadline_ms : -1, d;
	struct pool_entry *c;
	size_t		it = 0;

	if (pool_count(CHILD_OLD, 0) == 0)
		return due;
	while ((c = pool_next(&it)) != NULL)
		if ((d = old_due(srv, c)) >= 0 && (due < 0 || d < due))
			due = d;
	return due;
}

/* "PEER port N for T ms (handler H, generation G)" of an old child. */
static void
old_describe(const struct pool_entry *c, char *buf, size_t len)
{
	const struct slot	*s;
	char			 peer[64] = "?";
	int			 port = 0;

	if ((s = pool_slot(c)) == NULL) {
		snprintf(buf, len, "(no scoreboard slot)");
		return;
	}
	if (s->req_start_ms == 0) {
		snprintf(buf, len, "between requests (handler %.31s, "
		    "generation %u)", s->handler, s->generation);
		return;
	}
	if (s->peer.sin6_family == AF_UNIX)
		snprintf(peer, sizeof(peer), "a UNIX client");
	else if (s->peer.sin6_family != 0)
		addr_format((const struct sockaddr *)&s->peer, peer,
		    sizeof(peer), &port);
	snprintf(buf, len, "serving %s port %d for %lld ms (handler %.31s, "
	    "generation %u)", peer, port, now_ms() - s->req_start_ms,
	    s->handler, s->generation);
}

/* graceful_timeout bounds the old generation: SIGTERM, then SIGKILL. */
static void
old_bound(struct pfsd_server *srv)
{
	struct pool_entry *c;
	char		 what[256];
	long long	 d;
	size_t		 it = 0;

	if (pool_count(CHILD_OLD, 0) == 0)
		return;
	while ((c = pool_next(&it)) != NULL) {
		if ((d = old_due(srv, c)) < 0 || now_ms() < d)
			continue;
		old_describe(c, what, sizeof(what));
		log_msg(PFSD_LOG_WARNING, "graceful_timeout: old child %ld "
		    "still %s after the HUP; %s", (long)pool_pid(c), what,
		    pool_killed_ms(c) == 0 ? "SIGTERM" : "SIGKILL");
		pool_kill(c, pool_killed_ms(c) == 0 ? SIGTERM : SIGKILL);
	}
}

/* The check ran out of time: refuse the HUP.  Old children past
 * graceful_timeout: stop them. */
void
restart_timer(struct pfsd_server *srv)
{
	old_bound(srv);
	if (srv->checker <= 0 || srv->checker_killed ||
	    now_ms() < srv->checker_deadline_ms)
		return;
	log_msg(PFSD_LOG_ERR, "HUP: the configuration check took more than "
	    "hup_check_timeout (%ld s); HUP refused, still serving generation "
	    "%u", conf_num(srv->conf, OPT_HUP_CHECK_TIMEOUT), srv->generation);
	restart_cancel(srv, "time limit");
	set_reload_status(srv, "HUP refused: the check took more than %ld s",
	    conf_num(srv->conf, OPT_HUP_CHECK_TIMEOUT));
}

/* Log what the check printed, one line at a time; the first in first. */
static void
log_check_output(struct pfsd_server *srv, char *first, size_t len)
{
	char	buf[CHECK_OUTPUT_MAX], *line, *save;
	ssize_t	n;

	n = pread(srv->checker_out, buf, sizeof(buf) - 1, 0);
	close(srv->checker_out);
	srv->checker_out = -1;
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (*first == '\0')
			snprintf(first, len, ": %s", line);
		log_msg(PFSD_LOG_ERR, "HUP: %s", line);
	}
}

static void
set_inheritable(int fd, int on)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, on ? 0 : FD_CLOEXEC);
}

/* The listeners this image holds go across execve() (or not). */
static void
listeners_inheritable(struct pfsd_server *srv, int on)
{
	size_t	i;

	for (i = 0; i < srv->nls; i++)
		set_inheritable(srv->ls[i].fd, on);
}

static char *
children_list(void)
{
	struct pool_entry	*c;
	char			*buf, *p;
	size_t			 it = 0;

	if ((buf = malloc(pool_size() * 12 + 1)) == NULL)
		return NULL;
	*(p = buf) = '\0';
	while ((c = pool_next(&it)) != NULL)
		p += sprintf(p, "%s%ld", p != buf ? "," : "",
		    (long)pool_pid(c));
	return buf;
}

static int
setenv_num(const char *name, long n)
{
	char	buf[24];

	snprintf(buf, sizeof(buf), "%ld", n);
	return setenv(name, buf, 1);
}

static void
unset_env(void)
{
	unsetenv(ENV_LISTEN_FDS);
	unsetenv(ENV_OLD_CHILDREN);
	unsetenv(ENV_GENERATION);
	unsetenv(ENV_SAVED);
	unsetenv(ENV_ROLLBACK);
	unsetenv(ENV_STATUS_FD);
	unsetenv(ENV_METRICS_FD);
	unsetenv(ENV_EXE);
	unsetenv(ENV_CHECK_HELD);
	unsetenv(ENV_SCOREBOARD_FD);
	unsetenv(ENV_HISTORY_FD);
}

/* What the next image receives; why (non-NULL) makes it a rollback. */
static int
set_env(struct pfsd_server *srv, const char *fds, const char *children,
    unsigned int gen, unsigned int saved_gen, int conf_fd, int handler_fd,
    const char *why)
{
	char	saved[64];
	int	rc;

	snprintf(saved, sizeof(saved), "%u:%d:%d", saved_gen, conf_fd,
	    handler_fd);
	rc = setenv(ENV_LISTEN_FDS, fds != NULL ? fds : "", 1) |
	    setenv(ENV_OLD_CHILDREN, children != NULL ? children : "", 1) |
	    setenv_num(ENV_GENERATION, gen) | setenv(ENV_EXE, srv->exe, 1);
	if (conf_fd != -1 && handler_fd != -1)
		rc |= setenv(ENV_SAVED, saved, 1);
	if (srv->status_fd != -1)
		rc |= setenv_num(ENV_STATUS_FD, srv->status_fd);
	if (metrics_http_fd() != -1 || rs.metrics_fd != -1)
		rc |= setenv_num(ENV_METRICS_FD, why == NULL ?
		    metrics_http_fd() : rs.metrics_fd);
	if (srv->sb.fd != -1 || rs.sb_fd != -1)
		rc |= setenv_num(ENV_SCOREBOARD_FD, srv->sb.fd != -1 ?
		    srv->sb.fd : rs.sb_fd);
	if (history_fd() != -1 || rs.history_fd != -1)
		rc |= setenv_num(ENV_HISTORY_FD, history_fd() != -1 ?
		    history_fd() : rs.history_fd);
	if (why != NULL)
		rc |= setenv(ENV_ROLLBACK, why, 1);
	if (rc != 0)
		unset_env();
	return rc;
}

/* The running configuration, as text conf_load_file reads back. */
static int
save_conf(struct pfsd_server *srv)
{
	FILE	*f;
	int	 fd, dfd;

	if ((fd = memfd_create("pfsd-conf", MFD_CLOEXEC)) == -1)
		return -1;
	if ((dfd = dup(fd)) == -1 || (f = fdopen(dfd, "w")) == NULL) {
		if (dfd != -1)
			close(dfd);
		close(fd);
		return -1;
	}
	conf_save(srv->conf, f);
	if (fclose(f) == EOF) {
		close(fd);
		return -1;
	}
	return fd;
}

/* execve() failed: stay this generation, with a fresh serializer. */
static void
exec_failed(struct pfsd_server *srv, sigset_t *old, int conf_fd)
{
	char			 err[ERRBUF_SIZE];
	struct pool_entry	*c;
	size_t			 it = 0;

	log_warn("HUP: cannot re-exec %s", srv->exe);
	set_reload_status(srv, "HUP refused: cannot re-exec %s: %s",
	    srv->exe, strerror(errno));
	unset_env();
	close(conf_fd);
	listeners_inheritable(srv, 0);
	set_inheritable(srv->status_fd, 0);
	set_inheritable(metrics_http_fd(), 0);
	set_inheritable(srv->plugin.fd, 0);
	set_inheritable(srv->sb.fd, 0);
	set_inheritable(history_fd(), 0);
	tls_exec(srv, 0);
	if (ser_setup(&srv->ser, srv->conf, srv->nls, err, sizeof(err)) == -1)
		fatalx("HUP: %s", err);
	standby_resume(srv);
	while ((c = pool_next(&it)) != NULL)
		pool_retire(c);
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void
restart_exec(struct pfsd_server *srv)
{
	sigset_t	 all, old;
	char		 msg[96], *fds, *children;
	int		 conf_fd, rc = -1;

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    now_ms() * 1000);
	notify_send(msg);
	log_msg(PFSD_LOG_NOTICE, "HUP: restarting in place (generation %u)",
	    srv->generation + 1);
	fds = listen_env(srv->ls, srv->nls);
	children = children_list();
	if ((conf_fd = save_conf(srv)) != -1 && fds != NULL &&
	    children != NULL)
		rc = set_env(srv, fds, children, srv->generation + 1,
		    srv->generation, conf_fd, srv->plugin.fd, NULL);
	free(fds);
	free(children);
	if (rc == -1) {
		log_warn("HUP: cannot hand over to the new generation");
		set_reload_status(srv, "HUP refused: cannot hand over to the "
		    "new generation");
		if (conf_fd != -1)
			close(conf_fd);
		return;
	}
	hooks_restart_close(srv);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	listeners_inheritable(srv, 1);
	set_inheritable(srv->status_fd, 1);
	set_inheritable(metrics_http_fd(), 1);
	set_inheritable(conf_fd, 1);
	set_inheritable(srv->plugin.fd, 1);
	set_inheritable(srv->sb.fd, 1);
	history_save(srv);		/* counters go on: no reset */
	set_inheritable(history_fd(), 1);
	tls_exec(srv, 1);		/* sessions resume across the HUP */
	ser_cleanup(&srv->ser);		/* the new generation makes its own */
	standby_release(srv);		/* nobody to wake them until it runs */
	if (chdir(srv->cwd) == 0)
		execv(srv->exe, srv->argv);
	exec_failed(srv, &old, conf_fd);
}

/* The check process ended: re-exec if it passed. */
void
restart_checked(struct pfsd_server *srv, int status)
{
	char	first[200] = "";
	int	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int	killed = srv->checker_killed;

	srv->checker = 0;
	srv->checker_killed = 0;
	if (!ok && !killed)
		log_check_output(srv, first, sizeof(first));
	else {
		close(srv->checker_out);
		srv->checker_out = -1;
	}
	if (srv->stopping || killed)
		return;
	if (!ok) {
		log_msg(PFSD_LOG_ERR, "HUP: the new configuration was "
		    "refused; still serving with the current one");
		set_reload_status(srv, "HUP refused: the new configuration "
		    "did not pass the check%s", first);
	} else if (!srv->hup_pending && origin_usable(srv))
		restart_exec(srv);
	if (srv->hup_pending) {
		srv->hup_pending = 0;
		restart_begin(srv);
	}
}

/* Can a failure of this image still be rolled back? */
int
restart_can_roll_back(struct pfsd_server *srv)
{
	return srv->reexec && rs.rollback == NULL && rs.conf_fd != -1 &&
	    rs.handler_fd != -1 && srv->exe != NULL;
}

/* Put back what this image made that generation N does not have. */
static void
undo_image(struct pfsd_server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd == -1)
			continue;
		if (srv->ls[i].inherited)
			set_inheritable(srv->ls[i].fd, 1);
		else
			listen_close_all(&srv->ls[i], 1, 1);
	}
	ser_cleanup(&srv->ser);
	if (!srv->status_inherited) {	/* a new path: generation N's back */
		status_close(srv);
		srv->status_fd = rs.status_fd;
	}
	set_inheritable(srv->status_fd, 1);
	set_inheritable(rs.metrics_fd, 1);	/* a new one closes at exec */
	set_inheritable(rs.conf_fd, 1);
	set_inheritable(rs.handler_fd, 1);
	set_inheritable(srv->sb.fd != -1 ? srv->sb.fd : rs.sb_fd, 1);
	set_inheritable(rs.history_fd, 1);
	tls_exec(srv, 1);	/* the ticket keys too, if taken already */
}

/*
 * This image (generation N+1) failed at step: re-execute as generation N
 * with what it saved.  Returns only when that is impossible (logged);
 * the caller then stops.
 */
void
restart_rollback(struct pfsd_server *srv, const char *step,
    const char *reason)
{
	char		why[ERRBUF_SIZE + 128];
	sigset_t	all;

	if (rs.rollback != NULL) {
		log_msg(PFSD_LOG_ERR, "HUP: the rollback to generation %u "
		    "failed at %s: %s; stopping", srv->generation, step,
		    reason);
		return;
	}
	if (!restart_can_roll_back(srv))
		return;
	snprintf(why, sizeof(why), "generation %u failed at %s: %s",
	    srv->generation, step, reason);
	log_msg(PFSD_LOG_ERR, "HUP: %s; rolling back to generation %u",
	    why, rs.saved_gen);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	standby_release(srv);
	undo_image(srv);
	if (srv->cwd != NULL && chdir(srv->cwd) == -1)
		log_warn("HUP: rollback: chdir %s", srv->cwd);
	if (set_env(srv, rs.listen_fds, rs.old_children, rs.saved_gen,
	    rs.saved_gen, rs.conf_fd, rs.handler_fd, why) == 0)
		execv(srv->exe, srv->argv);
	log_msg(PFSD_LOG_ERR, "HUP: cannot re-exec %s for the rollback: "
	    "%s; stopping", srv->exe, strerror(errno));
}

/*
 * The new image serves: what the previous one handed over is ours now.
 * The old children are taken into our care (retired by parent_started),
 * sockets the configuration no longer has are closed, a rollback says so.
 */
void
restart_commit(struct pfsd_server *srv)
{
	history_open(srv, rs.history_fd);	/* the totals, before a reap */
	rs.history_fd = -1;
	pool_adopt(srv, rs.old_children);
	listen_close_unused();
	if (rs.status_fd != -1 && rs.status_fd != srv->status_fd)
		status_drop(rs.status_fd);
	if (rs.metrics_fd != -1 && rs.metrics_fd != metrics_http_fd())
		close(rs.metrics_fd);	/* metrics_listen moved or went */
	rs.metrics_fd = -1;
	if (rs.conf_fd != -1)
		close(rs.conf_fd);
	if (rs.handler_fd != -1)
		close(rs.handler_fd);
	rs.status_fd = rs.conf_fd = rs.handler_fd = -1;
	free(rs.listen_fds);
	free(rs.old_children);
	rs.listen_fds = rs.old_children = NULL;
	if (rs.rollback != NULL) {
		history_reload(RELOAD_ROLLED_BACK, srv->generation,
		    rs.rollback);
		log_msg(PFSD_LOG_ERR, "HUP: %s; generation %u kept",
		    rs.rollback, srv->generation);
		snprintf(srv->reload_status, sizeof(srv->reload_status),
		    "HUP: %s; generation %u kept", rs.rollback,
		    srv->generation);
		free(rs.rollback);
		rs.rollback = NULL;
	} else if (srv->reexec)
		history_reload(RELOAD_OK, srv->generation, "");
}
