/*
 * check.c - what `pfsd -t` (and so the check a HUP runs first) verifies
 * beyond the text: that the start will find the world it needs.  The
 * user and groups resolve, the chroot exists, the directories where pfsd
 * makes its files exist and can be written by whoever makes them, socket
 * paths fit, and the ports not already held by the running pfsd can be
 * bound.  Each failure is a "FILE:LINE: key: problem (hint)" error.
 *
 * Who makes what: at a start, pfsd is still the user it was started as
 * when it writes the pid file, binds the sockets and opens the log; the
 * lock file of "serialize flock" is made again by every new generation
 * after a HUP, as `user`.  A HUP check runs as the running pfsd's user
 * already, and what that pfsd holds (ports, status socket) is handed
 * over, not made again (restart_held()).
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CK_SUN_PATH_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)

/* The user pfsd runs as after the start. */
struct ck_user {
	uid_t	uid;
	gid_t	gids[64];
	int	ngids;
	int	known;		/* user or group set and resolved */
};

/* Report against the line that set id (its last value). */
static void PFSD_PRINTF(3, 4)
ck_error(struct conf *c, enum opt_id id, const char *fmt, ...)
{
	const struct conf_value	*v;
	char			 msg[ERRBUF_SIZE];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v = conf_value_at(c, id, conf_count(c, id) - 1);
	conf_error(c, v != NULL && v->file != NULL ? v->file :
	    CONF_CMDLINE_FILE, v != NULL ? v->line : 0,
	    conf_options[id].name, "%s", msg);
}

static void
ck_group(struct conf *c, struct ck_user *u)
{
	struct group	*gr;
	char		 one[256], *tok, *save;
	size_t		 i;

	for (i = 0; conf_isset(c, OPT_GROUP) && i < conf_count(c, OPT_GROUP);
	    i++) {
		snprintf(one, sizeof(one), "%s", conf_at(c, OPT_GROUP, i));
		for (tok = strtok_r(one, " ,", &save); tok != NULL;
		    tok = strtok_r(NULL, " ,", &save)) {
			if ((gr = getgrnam(tok)) == NULL &&
			    !all_digits(tok, strlen(tok))) {
				ck_error(c, OPT_GROUP, "no such group \"%s\" "
				    "(see getent group)", tok);
				continue;
			}
			if (u->ngids < (int)nitems(u->gids))
				u->gids[u->ngids++] = gr != NULL ?
				    gr->gr_gid : (gid_t)strtoul(tok, NULL, 10);
		}
	}
}

/* user and group resolve; u says who pfsd will be. */
static void
ck_user(struct conf *c, struct ck_user *u)
{
	const char	*name = conf_str(c, OPT_USER);
	struct passwd	*pw = NULL;
	int		 n;

	u->uid = geteuid();
	u->ngids = 0;
	ck_group(c, u);
	u->known = name != NULL || conf_isset(c, OPT_GROUP);
	if (name == NULL) {
		if (u->ngids == 0)
			u->gids[u->ngids++] = getegid();
		return;
	}
	if ((pw = getpwnam(name)) == NULL &&
	    all_digits(name, strlen(name)))
		pw = getpwuid((uid_t)strtoul(name, NULL, 10));
	if (pw == NULL && !all_digits(name, strlen(name))) {
		ck_error(c, OPT_USER, "no such user \"%s\" (see getent "
		    "passwd; create the user or fix the name)", name);
		u->known = 0;
		return;
	}
	if (pw == NULL) {
		u->uid = (uid_t)strtoul(name, NULL, 10);
		if (!conf_isset(c, OPT_GROUP))
			ck_error(c, OPT_USER, "uid %s has no passwd entry, so "
			    "no group to run as: set \"group\" too", name);
		return;
	}
	u->uid = pw->pw_uid;
	if (u->ngids == 0) {
		n = (int)nitems(u->gids);
		if (getgrouplist(pw->pw_name, pw->pw_gid, u->gids, &n) == -1)
			n = (int)nitems(u->gids);
		u->ngids = n;
	}
}

/* Could u (not root) write into the directory st describes? */
static int
ck_mode_allows(const struct stat *st, const struct ck_user *u)
{
	int	i;

	if (u->uid == 0)
		return 1;
	if (st->st_uid == u->uid)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) ==
		    (S_IWUSR | S_IXUSR);
	for (i = 0; i < u->ngids; i++)
		if (st->st_gid == u->gids[i])
			return (st->st_mode & (S_IWGRP | S_IXGRP)) ==
			    (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/*
 * The directory of path exists and whoever makes the file there can
 * write it: u when set (after the drop), else this process as it is.
 */
static void
ck_dir(struct conf *c, enum opt_id id, const char *path,
    const struct ck_user *u, const char *who)
{
	char		 dir[PATH_MAX], *slash;
	struct stat	 st;

	if (path == NULL || *path == '\0')
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == -1) {
		ck_error(c, id, "%s: directory %s: %s (create it first)", path,
		    dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		ck_error(c, id, "%s: %s is not a directory", path, dir);
		return;
	}
	if (u != NULL ? !ck_mode_allows(&st, u) :
	    access(dir, W_OK | X_OK) == -1)
		ck_error(c, id, "%s: directory %s is not writable by %s "
		    "(chown or chmod it, or choose another place)", path, dir,
		    who);
}

static void
ck_chroot(struct conf *c)
{
	const char	*dir = conf_str(c, OPT_CHROOT);
	struct stat	 st;

	if (dir == NULL)
		return;
	if (stat(dir, &st) == -1)
		ck_error(c, OPT_CHROOT, "%s: %s (create it first)", dir,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		ck_error(c, OPT_CHROOT, "%s: not a directory", dir);
}

static void
ck_files(struct conf *c, const struct ck_user *u)
{
	const char	*log = conf_str(c, OPT_LOG_FILE);
	const char	*st = conf_str(c, OPT_STATUS_SOCKET);
	char		 who[64];

	snprintf(who, sizeof(who), "uid %ld", (long)u->uid);
	if (!restart_held(NULL))	/* a HUP keeps the pid file */
		ck_dir(c, OPT_PID_FILE, conf_str(c, OPT_PID_FILE), NULL,
		    "pfsd at its start");
	if (log != NULL && strcmp(log, "syslog") != 0 &&
	    strcmp(log, "Sys::Syslog") != 0 && access(log, F_OK) == -1)
		ck_dir(c, OPT_LOG_FILE, log, NULL, "pfsd at its start");
	if (st != NULL && strlen(st) >= CK_SUN_PATH_MAX)
		ck_error(c, OPT_STATUS_SOCKET, "%s: path too long (%zu bytes "
		    "at most)", st, CK_SUN_PATH_MAX - 1);
	else if (st != NULL && !restart_held(st))
		ck_dir(c, OPT_STATUS_SOCKET, st, NULL, "pfsd at its start");
	if (conf_str(c, OPT_SERIALIZE) != NULL &&
	    conf_num(c, OPT_SERIALIZE) == SER_FLOCK &&
	    conf_str(c, OPT_LOCK_FILE) != NULL)
		ck_dir(c, OPT_LOCK_FILE, conf_str(c, OPT_LOCK_FILE),
		    u->known ? u : NULL, u->known ? who : "pfsd");
}

/* Who listens on port (from /proc/net), as "pid P (COMM)"; 0 if found. */
static int
ck_inode(const char *table, int port, int stream, unsigned long *inode)
{
	char	 path[64], line[512];
	FILE	*f;
	unsigned int lport, st;
	int	 found = 0;

	snprintf(path, sizeof(path), "/proc/net/%s", table);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x "
		    "%*x:%*x %*x:%*x %*x %*d %*d %lu", &lport, &st, inode) != 3)
			continue;
		found = (int)lport == port && (!stream || st == 0x0A) &&
		    *inode != 0;
	}
	fclose(f);
	return found;
}

static int
ck_pid_of_inode(unsigned long inode, char *who, size_t len)
{
	char		 path[300], link[64], want[64], comm[32] = "?";
	DIR		*proc, *fds;
	struct dirent	*p, *e;
	FILE		*f;
	int		 found = 0;
	ssize_t		 n;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((proc = opendir("/proc")) == NULL)
		return 0;
	while (!found && (p = readdir(proc)) != NULL) {
		if (!all_digits(p->d_name, strlen(p->d_name)))
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/fd", p->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		while (!found && (e = readdir(fds)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%.20s/fd/%.200s",
			    p->d_name, e->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			found = n > 0 && (link[n] = '\0',
			    strcmp(link, want) == 0);
		}
		closedir(fds);
		if (!found)
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/comm", p->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), f) != NULL)
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		snprintf(who, len, "pid %.20s (%s)", p->d_name, comm);
	}
	closedir(proc);
	return found;
}

/* ", held by pid P (COMM)" when it can be found, else "". */
static void
ck_holder(const struct listener *l, char *who, size_t len)
{
	const char	*tables[2];
	unsigned long	 inode = 0;
	char		 pid[128];
	int		 stream = l->proto != PFSD_PROTO_UDP, i;

	who[0] = '\0';
	tables[0] = stream ? "tcp" : "udp";
	tables[1] = stream ? "tcp6" : "udp6";
	for (i = 0; i < 2; i++)
		if (ck_inode(tables[i], l->port, stream, &inode) &&
		    ck_pid_of_inode(inode, pid, sizeof(pid))) {
			snprintf(who, len, ", held by %s", pid);
			return;
		}
}

/* Bind l as the start would, and let go. */
static int
ck_try_bind(const struct listener *l)
{
	int	fd, on = 1, rc;

	if ((fd = socket(l->family, (l->proto == PFSD_PROTO_UDP ?
	    SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &l->v6only,
		    sizeof(l->v6only));
	rc = bind(fd, (const struct sockaddr *)&l->addr, l->addrlen);
	if (rc == 0 && l->proto != PFSD_PROTO_UDP)
		rc = listen(fd, 1);
	if (rc == -1) {
		rc = errno;
		close(fd);
		errno = rc;
		return -1;
	}
	close(fd);
	return 0;
}

/* The ports not handed over by the running pfsd can be bound. */
static void
ck_ports(struct conf *c, const struct listener *ls, size_t n)
{
	const struct listener	*l;
	char			 who[160];
	size_t			 i;

	for (i = 0; i < n; i++) {
		l = &ls[i];
		if (restart_held(l->name))
			continue;
		if (l->family == AF_UNIX) {
			ck_dir(c, OPT_PORT, l->host, NULL, "pfsd at its start");
			continue;
		}
		if (l->port == 0 || ck_try_bind(l) == 0)
			continue;
		if (errno == EADDRINUSE) {
			ck_holder(l, who, sizeof(who));
			if (strstr(who, " (pfsd)") != NULL)
				continue;	/* a running pfsd hands it over */
			conf_error(c, l->file, l->line, "port", "%s: address "
			    "already in use%s (stop it or choose another "
			    "port)", l->name, who);
		} else if (errno == EACCES && l->port < 1024)
			conf_error(c, l->file, l->line, "port", "%s: a "
			    "privileged port, and pfsd runs as uid %ld here "
			    "(bind it at a start as root, or grant "
			    "CAP_NET_BIND_SERVICE)", l->name, (long)geteuid());
		else
			conf_error(c, l->file, l->line, "port", "%s: cannot "
			    "bind: %s", l->name, strerror(errno));
	}
}

/* -t: the world checks, added to the configuration's errors. */
void
check_world(struct pfsd_server *srv)
{
	struct conf	*c = srv->conf;
	struct ck_user	 u;

	memset(&u, 0, sizeof(u));
	ck_user(c, &u);
	ck_chroot(c);
	ck_files(c, &u);
	ck_ports(c, srv->ls, srv->nls);
}
