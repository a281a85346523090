/*
 * daemonize.c - running as a daemon: background with a readiness pipe,
 * letting go of the caller's terminal, chroot (and the janitor that
 * cleans up outside it), dropping privileges.  The pid file is
 * pidfile.c's, sd_notify notify.c's.
 */
#include "internal.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/ipc.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * background/setsid: fork; the caller's process waits until the daemon
 * says it serves (one byte on a pipe) and exits 0, or, when the daemon
 * dies first, exits with the daemon's status.  Returns in the daemon.
 */
int
daemon_background(struct pfsd_server *srv, char *err, size_t errlen)
{
	int	p[2], status;
	pid_t	pid;
	char	c;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(err, errlen, "background: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
		_exit(1);
	}
	close(p[0]);
	srv->ready_fd = p[1];
	if (conf_num(srv->conf, OPT_SETSID) && setsid() == -1) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Background, before the first child is forked: let go of the caller's
 * terminal or pipe (stderr too, unless the log goes there), so that
 * nothing holds it open once the caller returns.
 */
void
daemon_detach(struct pfsd_server *srv)
{
	int	fd;

	if (srv->ready_fd == -1 || (fd = open("/dev/null", O_RDWR)) == -1)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (conf_str(srv->conf, OPT_LOG_FILE) != NULL)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* The daemon serves: release the waiting caller. */
void
daemon_ready(struct pfsd_server *srv)
{
	if (srv->ready_fd == -1)
		return;
	(void)!write(srv->ready_fd, "R", 1);
	close(srv->ready_fd);
	srv->ready_fd = -1;
}

/*
 * The user's uid and, from its passwd entry, its group; a number with no
 * entry gives no group (*gid is left alone, *has_gid 0).
 */
static int
lookup_user(const char *name, uid_t *uid, gid_t *gid, int *has_gid,
    char *err, size_t errlen)
{
	struct passwd	*pw;

	*has_gid = 0;
	if ((pw = getpwnam(name)) == NULL && all_digits(name, strlen(name)))
		pw = getpwuid((uid_t)strtoul(name, NULL, 10));
	if (pw == NULL && all_digits(name, strlen(name))) {
		*uid = (uid_t)strtoul(name, NULL, 10);
		return 0;
	}
	if (pw == NULL) {
		snprintf(err, errlen, "user: no such user \"%s\"", name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	*has_gid = 1;
	return 0;
}

static int
lookup_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group	*gr;

	if ((gr = getgrnam(name)) != NULL)
		*gid = gr->gr_gid;
	else if (all_digits(name, strlen(name)))
		*gid = (gid_t)strtoul(name, NULL, 10);
	else {
		snprintf(err, errlen, "group: no such group \"%s\"", name);
		return -1;
	}
	return 0;
}

#define GROUP_SEP	" ,"

/* How many group names the `group` values hold ("group a b c"). */
static size_t
count_groups(const struct conf *c)
{
	const char	*s;
	size_t		 i, n = 0;

	for (i = 0; conf_isset(c, OPT_GROUP) && i < conf_count(c, OPT_GROUP);
	    i++)
		for (s = conf_at(c, OPT_GROUP, i); *s != '\0'; ) {
			s += strspn(s, GROUP_SEP);
			if (*s != '\0')
				n++;
			s += strcspn(s, GROUP_SEP);
		}
	return n;
}

/*
 * The groups: every `group` value, each possibly naming several; the
 * first is the primary.  As many as setgroups(2) takes (NGROUPS_MAX, in
 * the kernel's count): more is refused, never cut short.  *gids is
 * malloc'ed (room for one more), *ngids says how many.
 */
static int
resolve_groups(const struct conf *c, gid_t **gids, size_t *ngids,
    char *err, size_t errlen)
{
	size_t	 i, n = 0, want = count_groups(c);
	long	 max = sysconf(_SC_NGROUPS_MAX);
	char	*one, *tok, *save;

	if (max > 0 && want > (size_t)max) {
		snprintf(err, errlen, "group: %zu groups named; this system "
		    "allows at most %ld", want, max);
		return -1;
	}
	if ((*gids = calloc(want + 1, sizeof(**gids))) == NULL) {
		snprintf(err, errlen, "group: %s", strerror(errno));
		return -1;
	}
	for (i = 0; want > 0 && i < conf_count(c, OPT_GROUP); i++) {
		if ((one = strdup(conf_at(c, OPT_GROUP, i))) == NULL) {
			snprintf(err, errlen, "group: %s", strerror(errno));
			return -1;
		}
		for (tok = strtok_r(one, GROUP_SEP, &save); tok != NULL &&
		    n < want; tok = strtok_r(NULL, GROUP_SEP, &save))
			if (lookup_group(tok, &(*gids)[n++], err, errlen) ==
			    -1) {
				free(one);
				return -1;
			}
		free(one);
	}
	*ngids = n;
	return 0;
}

/* Give what we created to the user we become, so it still works after. */
static void
chown_own_files(struct pfsd_server *srv, uid_t uid, gid_t gid)
{
	if (listen_chown(srv->ls, srv->nls, uid, gid) == -1)
		log_warn("chown of UNIX sockets");
	ser_chown(&srv->ser, uid, gid);
	/* Only a regular file pfsd created: never a device, FIFO or a file
	 * someone else made (see log.c). */
	if (log_created() && fchown(log_fd(), uid, gid) == -1)
		log_warn("chown of the log file");
	accesslog_chown(uid, gid);
}

static int
verify_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid || (uid != 0 && setuid(0) == 0)) {
		snprintf(err, errlen, "user: the switch to uid %ld gid %ld did "
		    "not happen; refusing to run", (long)uid, (long)gid);
		return -1;
	}
	return 0;
}

static int
do_chroot(const char *dir, char *err, size_t errlen)
{
	if (chroot(dir) == -1 || chdir("/") == -1) {
		snprintf(err, errlen, "chroot %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The gid to run as, and the groups.  A uid without a passwd entry has
 * no group of its own: "group" must name one.  Group 0 is kept after a
 * drop only when "group" names it.
 */
static int
choose_groups(struct pfsd_server *srv, const char *user, uid_t uid,
    int has_gid, gid_t *gid, gid_t **gids, size_t *ngids, char *err,
    size_t errlen)
{
	int	 named = conf_isset(srv->conf, OPT_GROUP);

	if (resolve_groups(srv->conf, gids, ngids, err, errlen) == -1)
		return -1;
	if (*ngids > 0) {
		*gid = (*gids)[0];
		return 0;
	}
	if (user != NULL && !has_gid && !named) {
		snprintf(err, errlen, "user: %s has no passwd entry, so no "
		    "group of its own; name one with \"group\"", user);
		return -1;
	}
	if (user != NULL && uid != 0 && *gid == 0 && !named) {
		snprintf(err, errlen, "user: the group of %s is 0 (root); "
		    "name the group to run as with \"group\" (\"group root\" "
		    "if that is meant)", user);
		return -1;
	}
	(*gids)[(*ngids)++] = *gid;
	return 0;
}

static void	janitor_start(struct pfsd_server *);

/* After binding: chroot, then groups, gid and uid, verified. */
int
privs_drop(struct pfsd_server *srv, char *err, size_t errlen)
{
	const char	*user = conf_str(srv->conf, OPT_USER);
	gid_t		*gids = NULL;
	size_t		 ngids = 0;
	uid_t		 uid = getuid();
	gid_t		 gid = getgid();
	int		 has_gid = 1, rc = -1;

	if (user != NULL && lookup_user(user, &uid, &gid, &has_gid, err,
	    errlen) == -1)
		return -1;
	if (choose_groups(srv, user, uid, has_gid, &gid, &gids, &ngids, err,
	    errlen) == -1)
		goto out;
	if (user != NULL || conf_isset(srv->conf, OPT_GROUP))
		chown_own_files(srv, user != NULL ? uid : (uid_t)-1, gid);
	if (conf_str(srv->conf, OPT_CHROOT) != NULL)
		janitor_start(srv);
	if (conf_str(srv->conf, OPT_CHROOT) != NULL &&
	    do_chroot(conf_str(srv->conf, OPT_CHROOT), err, errlen) == -1)
		goto out;
	if (conf_str(srv->conf, OPT_CHROOT) != NULL) {
		paths_set_jail(conf_str(srv->conf, OPT_CHROOT));
		log_jailed(conf_str(srv->conf, OPT_CHROOT));
	}
	if (user == NULL && !conf_isset(srv->conf, OPT_GROUP)) {
		rc = 0;
		goto out;
	}
	if ((geteuid() == 0 && setgroups(ngids, gids) == -1) ||
	    setresgid(gid, gid, gid) == -1 ||
	    (user != NULL && setresuid(uid, uid, uid) == -1)) {
		snprintf(err, errlen, "cannot become %s%s%s: %s%s",
		    user != NULL ? user : "", user != NULL ? " / " : "",
		    conf_isset(srv->conf, OPT_GROUP) ?
		    conf_at(srv->conf, OPT_GROUP, 0) : "its group",
		    strerror(errno), errno == EPERM && geteuid() != 0 ?
		    " (only root can change user and group: start pfsd as "
		    "root, or leave \"user\" and \"group\" unset to run as "
		    "yourself)" : "");
		goto out;
	}
	rc = verify_drop(user != NULL ? uid : getuid(), gid, err, errlen);
out:
	free(gids);
	return rc;
}

/*
 * -t and startup, with chroot: a log_file outside the jail cannot be
 * reopened on SIGUSR1 from inside (nothing is kept open across the
 * chroot that would lead out of it): said as a warning.
 */
void
chroot_check_conf(struct pfsd_server *srv)
{
	struct conf		*c = srv->conf;
	const struct conf_value	*v;
	const char		*root = conf_str(c, OPT_CHROOT), *log;
	char			*abs = NULL, *cwd;

	log = conf_str(c, OPT_LOG_FILE);
	if (root == NULL || log == NULL || *log == '\0' ||
	    strcmp(log, "syslog") == 0 || strcmp(log, "Sys::Syslog") == 0)
		return;
	if (*log != '/' && (cwd = getcwd(NULL, 0)) != NULL) {
		if (asprintf(&abs, "%s/%s", cwd, log) == -1)
			abs = NULL;
		free(cwd);
	}
	if (paths_in_jail(root, abs != NULL ? abs : log) == NULL &&
	    (v = conf_value_at(c, OPT_LOG_FILE,
	    conf_count(c, OPT_LOG_FILE) - 1)) != NULL)
		conf_warn(c, v->file, v->line, "log_file", "%s is not under "
		    "chroot %s, so SIGUSR1 cannot reopen it from inside: "
		    "rotate it with copytruncate, put it in the chroot (a "
		    "plain path, no . or ..) or use syslog", log, root);
	free(abs);
}

/*
 * With chroot, the files pfsd removes at exit (pid file, UNIX sockets,
 * status socket) are usually outside the jail, where the unprivileged
 * parent cannot reach them.  A janitor, forked before the chroot, stays
 * outside holding nothing but the read end of a pipe whose write end
 * every pfsd process holds; when the last one is gone (stop, crash or
 * kill -9) it removes them: the pid file only if it still holds the
 * parent's pid, a socket only if it still is the one pfsd bound (another
 * server may have taken the path over).  The list is fixed before the
 * chroot: the processes in the jail cannot change it.
 */
struct janitor_sock {
	char	*path;
	dev_t	 dev;		/* the file bound (0, 0: any socket) */
	ino_t	 ino;
};

struct janitor {
	struct janitor_sock	*socks;
	size_t			 n;
	pid_t			 parent;
	const char		*pidfile;
};

static void
janitor_add(struct janitor *j, const char *path, dev_t dev, ino_t ino)
{
	struct janitor_sock	*s;

	if (path == NULL || (s = reallocarray(j->socks, j->n + 1,
	    sizeof(*s))) == NULL)
		return;
	j->socks = s;
	s = &j->socks[j->n];
	s->dev = dev;
	s->ino = ino;
	if ((s->path = strdup(path)) != NULL)
		j->n++;
}

__attribute__((noreturn)) static void
janitor_run(struct janitor *j, int fd)
{
	char		buf[32];
	ssize_t		n;
	size_t		i;
	long		pid;

	while ((n = read(fd, buf, sizeof(buf))) != 0)
		if (n == -1 && errno != EINTR)
			break;
	for (i = 0; i < j->n; i++)
		if (listen_file_is(j->socks[i].path, j->socks[i].dev,
		    j->socks[i].ino))
			(void)unlink(j->socks[i].path);
	if (j->pidfile != NULL && pidfile_read(j->pidfile, &pid) == 0 &&
	    pid == (long)j->parent)
		(void)unlink(j->pidfile);
	_exit(0);
}

static void
janitor_start(struct pfsd_server *srv)
{
	struct janitor	 j;
	size_t		 i;
	pid_t		 pid;
	int		 p[2], fd;

	memset(&j, 0, sizeof(j));
	j.parent = getpid();
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].family == AF_UNIX && srv->ls[i].unlink_path)
			janitor_add(&j, srv->ls[i].host, srv->ls[i].file_dev,
			    srv->ls[i].file_ino);
	if (srv->status_fd != -1)
		janitor_add(&j, conf_str(srv->conf, OPT_STATUS_SOCKET), 0, 0);
	if (srv->pidfile_written)
		j.pidfile = conf_str(srv->conf, OPT_PID_FILE);
	if ((j.n == 0 && j.pidfile == NULL) || pipe2(p, O_CLOEXEC) == -1)
		goto out;
	if ((pid = fork()) == 0) {
		/* the janitor is not a child of the pool's parent */
		if (fork() != 0)
			_exit(0);
		setsid();
		if ((fd = dup2(p[0], 3)) != 3)
			_exit(1);
		close(0);
		close(1);
		close(2);
		closefrom(4);		/* sockets, log: none kept open */
		janitor_run(&j, fd);
	}
	close(p[0]);
	if (pid == -1) {
		log_warn("chroot: cleanup process");
		close(p[1]);
		goto out;
	}
	waitpid(pid, NULL, 0);
	/* inherited by every child: the janitor waits for them all */
	srv->janitor_fd = p[1];
out:
	for (i = 0; i < j.n; i++)
		free(j.socks[i].path);
	free(j.socks);
}
