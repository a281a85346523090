/*
 * restart.c - HUP: restart in place, same pid, without dropping a
 * connection.
 *
 * 1. A separate process runs "pfsd -t" with the original command line; if
 *    the new configuration or handler is broken, log why and go on serving.
 * 2. Otherwise re-exec: the listening sockets stay open across execve()
 *    (described in PFSD_LISTEN_FDS), so the kernel keeps queuing
 *    connections; the children of the old generation are named in
 *    PFSD_OLD_CHILDREN and go on serving until the new generation runs,
 *    then finish their request and exit; the new parent reaps them.
 * Signals are blocked across execve() and stay pending, so none is lost.
 */
#include "internal.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_OUTPUT_MAX	4096

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

/* HUP: start checking the new configuration in a separate process. */
void
restart_begin(struct pfsd_server *srv)
{
	char	**av;
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
		return;
	}
	log_msg(PFSD_LOG_NOTICE, "HUP: checking the new configuration");
	if ((fd = memfd_create("pfsd-check", MFD_CLOEXEC)) == -1 ||
	    (av = check_argv(srv)) == NULL) {
		log_warn("HUP: cannot check the configuration");
		if (fd != -1)
			close(fd);
		return;
	}
	if ((pid = fork()) == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (chdir(srv->cwd) == -1)
			_exit(126);
		execv(srv->exe, av);
		_exit(127);
	}
	free(av);
	if (pid == -1) {
		log_warn("HUP: fork");
		close(fd);
		return;
	}
	srv->checker = pid;
	srv->checker_out = fd;
}

/* Log what the check printed, one line at a time. */
static void
log_check_output(struct pfsd_server *srv)
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
	    line = strtok_r(NULL, "\n", &save))
		log_msg(PFSD_LOG_ERR, "HUP: %s", line);
}

static void
set_cloexec(struct listener *ls, size_t n, int on)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ls[i].fd != -1)
			fcntl(ls[i].fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

static int
set_children_env(struct pfsd_server *srv)
{
	char	*buf, *p;
	size_t	 i;
	int	 rc;

	if ((buf = malloc(srv->nchildren * 12 + 1)) == NULL)
		return -1;
	*(p = buf) = '\0';
	for (i = 0; i < srv->nchildren; i++)
		p += sprintf(p, "%s%ld", i ? "," : "",
		    (long)srv->children[i].pid);
	rc = setenv(ENV_OLD_CHILDREN, buf, 1);
	free(buf);
	return rc;
}

static int
set_env(struct pfsd_server *srv)
{
	char	*fds, gen[16];
	int	 rc;

	if ((fds = listen_env(srv->ls, srv->nls)) == NULL)
		return -1;
	snprintf(gen, sizeof(gen), "%u", srv->generation + 1);
	rc = setenv(ENV_LISTEN_FDS, fds, 1) | setenv(ENV_GENERATION, gen, 1) |
	    setenv(ENV_REEXEC, "1", 1) | set_children_env(srv);
	free(fds);
	return rc;
}

static void
unset_env(void)
{
	unsetenv(ENV_LISTEN_FDS);
	unsetenv(ENV_GENERATION);
	unsetenv(ENV_REEXEC);
	unsetenv(ENV_OLD_CHILDREN);
}

/* execve() failed: stay this generation, with a fresh serializer. */
static void
restart_failed(struct pfsd_server *srv, sigset_t *old)
{
	char	err[ERRBUF_SIZE];
	size_t	i;

	log_warn("HUP: cannot re-exec %s", srv->exe);
	unset_env();
	set_cloexec(srv->ls, srv->nls, 1);
	if (ser_setup(&srv->ser, srv->conf, srv->nls, err, sizeof(err)) == -1)
		fatalx("HUP: %s", err);
	if (status_open(srv, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	for (i = 0; i < srv->nchildren; i++)
		parent_retire(srv, &srv->children[i]);
	sigprocmask(SIG_SETMASK, old, NULL);
}

static void
restart_exec(struct pfsd_server *srv)
{
	sigset_t	all, old;
	char		msg[96];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    now_ms() * 1000);
	notify_send(msg);
	log_msg(PFSD_LOG_NOTICE, "HUP: restarting in place (generation %u)",
	    srv->generation + 1);
	if (set_env(srv) == -1) {
		log_warn("HUP: environment");
		unset_env();
		return;
	}
	hooks_restart_close(srv);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	set_cloexec(srv->ls, srv->nls, 0);
	ser_cleanup(&srv->ser);		/* the new generation makes its own */
	status_close(srv);
	if (chdir(srv->cwd) == 0)
		execv(srv->exe, srv->argv);
	restart_failed(srv, &old);
}

/* The check process ended: re-exec if it passed. */
void
restart_checked(struct pfsd_server *srv, int status)
{
	int	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	srv->checker = 0;
	if (!ok)
		log_check_output(srv);
	else {
		close(srv->checker_out);
		srv->checker_out = -1;
	}
	if (srv->stopping)
		return;
	if (!ok)
		log_msg(PFSD_LOG_ERR, "HUP: the new configuration was "
		    "refused; still serving with the current one");
	else if (!srv->hup_pending)
		restart_exec(srv);
	if (srv->hup_pending) {
		srv->hup_pending = 0;
		restart_begin(srv);
	}
}

/* New generation: take the children of the old one into our care. */
void
restart_adopt(struct pfsd_server *srv)
{
	const char	*env = getenv(ENV_OLD_CHILDREN);
	char		*end;
	long		 pid;

	while (env != NULL && *env != '\0') {
		pid = strtol(env, &end, 10);
		if (end == env || pid <= 0)
			break;
		/* only our own children: a stale or forged variable must
		 * not make us signal other processes */
		if (waitpid((pid_t)pid, NULL, WNOHANG) == 0)
			parent_add_child(srv, (pid_t)pid, -1, CHILD_OLD);
		env = *end == ',' ? end + 1 : end;
	}
	unset_env();
}
