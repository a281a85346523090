/*
 * listen_inherit.c - listening sockets handed from one process to the
 * next: ENV_LISTEN_FDS from a HUP re-exec, LISTEN_FDS from systemd socket
 * activation.  A handed-over descriptor is taken only when it really is
 * the socket a configured listener names; the rest are closed, so nothing
 * is ever bound twice.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What an inherited descriptor really is. */
struct li_sock {
	int			 type;		/* SOCK_STREAM, SOCK_DGRAM */
	int			 v6only;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

/* One entry of ENV_LISTEN_FDS. */
struct li_entry {
	int	 fd;
	int	 own;		/* "u": pfsd bound it (a UNIX file: ours) */
	char	*name;
};

/*
 * ENV_LISTEN_FDS, what a process hands its open listeners over with:
 *
 *	ENTRY *( ";" ENTRY )		ENTRY = FD [ "u" ] "=" NAME
 *
 * FD in decimal; "u" when pfsd bound the socket (not systemd: it does not
 * outlive pfsd, and a UNIX socket file is ours to remove at exit);
 * NAME the listener's name with '%', ';' and bytes outside 0x21-0x7e as
 * %XX (a path may hold any byte; names hold ':' and '=', hence ';' and
 * the first '=').  E.g. "3=*:80/tcp;4u=/run/pfsd.sock/unix".
 */
char *
listen_env(const struct listener *ls, size_t n)
{
	size_t		 i, len = 1;
	char		*s, *p;
	const char	*q;

	for (i = 0; i < n; i++)
		if (ls[i].fd >= 0)
			len += 16 + 3 * strlen(ls[i].name);
	if ((s = p = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (ls[i].fd < 0)
			continue;
		p += sprintf(p, "%s%d%s=", p == s ? "" : ";", ls[i].fd,
		    ls[i].made ? "u" : "");
		for (q = ls[i].name; *q != '\0'; q++) {
			unsigned char c = (unsigned char)*q;

			if (c <= 0x20 || c >= 0x7f || c == '%' || c == ';')
				p += sprintf(p, "%%%02X", c);
			else
				*p++ = (char)c;
		}
	}
	*p = '\0';
	return s;
}

/* Handed-over sockets the configuration lacks, kept for a rollback. */
static struct li_entry	*li_kept;
static size_t		 li_nkept;

static int
li_keep(const struct li_entry *e)
{
	struct li_entry	*k;

	if ((k = reallocarray(li_kept, li_nkept + 1, sizeof(*k))) == NULL)
		return -1;
	li_kept = k;
	k[li_nkept].fd = e->fd;
	k[li_nkept].own = e->own;
	if ((k[li_nkept].name = strdup(e->name)) == NULL)
		return -1;
	li_nkept++;
	return 0;
}

static int
li_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Undo the %XX of a name, in place; -1 on a broken escape. */
static int
li_unescape(char *s)
{
	char	*d = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*d++ = *s;
			continue;
		}
		if ((hi = li_hex((unsigned char)s[1])) == -1 ||
		    (lo = li_hex((unsigned char)s[2])) == -1)
			return -1;
		*d++ = (char)(hi * 16 + lo);
		s += 2;
	}
	*d = '\0';
	return 0;
}

/* One "FD[u]=NAME" (modified in place); 0, or -1 if it is not that. */
static int
li_parse_entry(char *s, struct li_entry *e)
{
	char	*end;
	long	 fd;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno != 0 || fd > INT_MAX)
		return -1;
	e->fd = (int)fd;
	e->own = *end == 'u';
	if (e->own)
		end++;
	if (*end != '=' || end[1] == '\0')
		return -1;
	e->name = end + 1;
	return li_unescape(e->name);
}

/* The whole variable; a single broken entry refuses all of it. */
static int
li_parse_env(char *s, struct li_entry **ep, size_t *np, char *err,
    size_t errlen)
{
	struct li_entry	*e;
	char		*tok, *last, copy[64];
	size_t		 n = 1, i = 0;

	for (tok = s; *tok != '\0'; tok++)
		n += *tok == ';';
	if ((e = calloc(n, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "%s: %s", ENV_LISTEN_FDS,
		    strerror(ENOMEM));
		return -1;
	}
	for (tok = strtok_r(s, ";", &last); tok != NULL;
	    tok = strtok_r(NULL, ";", &last)) {
		snprintf(copy, sizeof(copy), "%s", tok);
		if (li_parse_entry(tok, &e[i]) == -1) {
			snprintf(err, errlen, "%s: bad entry \"%s\" (expected "
			    "FD=NAME)", ENV_LISTEN_FDS, copy);
			free(e);
			return -1;
		}
		i++;
	}
	*ep = e;
	*np = i;
	return 0;
}

static int
li_sockopt(int fd, int level, int opt)
{
	int		v = 0;
	socklen_t	len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len) == -1)
		return -1;
	return v;
}

/* What fd is: a listening stream or a bound datagram socket; or why not. */
static const char *
li_sockinfo(int fd, struct li_sock *si)
{
	struct stat	st;

	memset(si, 0, sizeof(*si));
	si->len = sizeof(si->ss);
	if (fcntl(fd, F_GETFD) == -1)
		return "not open";
	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return "not a socket";
	si->type = li_sockopt(fd, SOL_SOCKET, SO_TYPE);
	if (getsockname(fd, (struct sockaddr *)&si->ss, &si->len) == -1)
		return "getsockname failed";
	if (si->ss.ss_family != AF_INET && si->ss.ss_family != AF_INET6 &&
	    si->ss.ss_family != AF_UNIX)
		return "not an IP or UNIX socket";
	if (si->type != SOCK_STREAM && si->type != SOCK_DGRAM)
		return "neither a stream nor a datagram socket";
	if (si->type == SOCK_STREAM &&
	    li_sockopt(fd, SOL_SOCKET, SO_ACCEPTCONN) != 1)
		return "not listening";
	if (si->ss.ss_family == AF_INET6)
		si->v6only = li_sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 1;
	return NULL;
}

static int
li_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* Is si the socket l would bind (any port if l asks for port 0)? */
static int
li_match(const struct listener *l, const struct li_sock *si, int anyport)
{
	const struct sockaddr_in	*a4 = (const void *)&l->addr;
	const struct sockaddr_in	*b4 = (const void *)&si->ss;
	const struct sockaddr_in6	*a6 = (const void *)&l->addr;
	const struct sockaddr_in6	*b6 = (const void *)&si->ss;

	if (l->fd >= 0 || l->family != si->ss.ss_family ||
	    (si->type == SOCK_DGRAM) != (l->proto == PFSD_PROTO_UDP))
		return 0;
	if (l->family == AF_UNIX)
		return strcmp(((const struct sockaddr_un *)
		    (const void *)&si->ss)->sun_path, l->host) == 0;
	if (anyport ? l->port != 0 : l->port != li_port(&si->ss))
		return 0;
	if (l->family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr) &&
	    (!IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) ||
	    l->v6only == si->v6only);
}

/* The configured listener si is, preferring a fixed port over port 0. */
static struct listener *
li_find(struct listener *ls, size_t n, const struct li_sock *si)
{
	size_t	i;
	int	anyport;

	for (anyport = 0; anyport < 2; anyport++)
		for (i = 0; i < n; i++)
			if (li_match(&ls[i], si, anyport))
				return &ls[i];
	return NULL;
}

static int
li_is_any(const struct li_sock *si)
{
	const struct sockaddr_in	*s4 = (const void *)&si->ss;
	const struct sockaddr_in6	*s6 = (const void *)&si->ss;

	if (si->ss.ss_family == AF_INET)
		return s4->sin_addr.s_addr == htonl(INADDR_ANY);
	return si->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
}

/* Is si the socket called name?  An any-address may be called "*". */
static int
li_name_is(const struct li_sock *si, const char *name)
{
	char	host[NI_MAXHOST], *want;
	int	rc, proto = si->type == SOCK_DGRAM ? PFSD_PROTO_UDP :
		    PFSD_PROTO_TCP;

	if (si->ss.ss_family == AF_UNIX)
		want = listen_name(((const struct sockaddr_un *)(const void *)
		    &si->ss)->sun_path, AF_UNIX, 0, PFSD_PROTO_UNIX);
	else {
		if (getnameinfo((const struct sockaddr *)&si->ss, si->len,
		    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			return 0;
		if (li_is_any(si) && strncmp(name, "*:", 2) == 0)
			snprintf(host, sizeof(host), "*");
		want = listen_name(host, si->ss.ss_family, li_port(&si->ss),
		    proto);
	}
	rc = want != NULL && strcmp(want, name) == 0;
	free(want);
	if (!rc && proto == PFSD_PROTO_TCP && si->ss.ss_family != AF_UNIX) {
		/* the same socket under its ssl name */
		want = listen_name(host, si->ss.ss_family, li_port(&si->ss),
		    PROTO_SSL);
		rc = want != NULL && strcmp(want, name) == 0;
		free(want);
	}
	return rc;
}

/* l takes fd; a port-0 listener learns the port it really has. */
static void
li_adopt(struct listener *l, int fd, const struct li_sock *si, int own)
{
	char	*name;

	l->fd = fd;
	l->inherited = 1;
	l->made = own;
	l->unlink_path = l->family == AF_UNIX && own;
	if (l->unlink_path)
		listen_note_file(l);
	/* a pfsd killed in a graceful stop may have left its SYN filter on
	 * a socket that outlives it (see handshake.c): take it off */
	if (l->proto == PFSD_PROTO_TCP && l->family != AF_UNIX)
		(void)handshake_hold(fd, 0);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (l->family != AF_UNIX && l->port == 0) {
		l->port = li_port(&si->ss);
		memcpy(&l->addr, &si->ss, si->len);
		l->addrlen = si->len;
		if ((name = listen_name(l->host, l->family, l->port,
		    l->tls ? PROTO_SSL : l->proto)) != NULL) {
			free(l->name);
			l->name = name;
		}
	}
	log_msg(PFSD_LOG_INFO, "port %s: inherited fd %d", l->name, fd);
}

static int
li_taken(const struct listener *ls, size_t n, int fd)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ls[i].fd == fd)
			return 1;
	return 0;
}

/*
 * One entry of ENV_LISTEN_FDS.  A bad one (fd not open, not a socket, not
 * what its name says) is a warning and left alone; a good one that the
 * configuration no longer has is closed, or with keep left open for
 * listen_close_unused (a HUP's new image may yet roll back to it).
 */
static void
li_env_entry(struct listener *ls, size_t n, const struct li_entry *e,
    int keep)
{
	struct li_sock	 si;
	struct listener	*l;
	const char	*why;

	if (li_taken(ls, n, e->fd))
		why = "listed twice";
	else if ((why = li_sockinfo(e->fd, &si)) == NULL &&
	    !li_name_is(&si, e->name))
		why = "not that socket";
	if (why != NULL) {
		log_msg(PFSD_LOG_WARNING, "%s: fd %d (%s): %s; ignored",
		    ENV_LISTEN_FDS, e->fd, e->name, why);
		return;
	}
	if ((l = li_find(ls, n, &si)) != NULL) {
		li_adopt(l, e->fd, &si, e->own);
		return;
	}
	if (keep && li_keep(e) == 0)
		return;
	log_msg(PFSD_LOG_NOTICE, "port %s: no longer configured, closed",
	    e->name);
	close(e->fd);
}

static int
li_env(struct listener *ls, size_t n, const char *val, int keep, char *err,
    size_t errlen)
{
	struct li_entry	*e;
	size_t		 i, ne;
	char		*s;

	if ((s = strdup(val)) == NULL) {
		snprintf(err, errlen, "%s: %s", ENV_LISTEN_FDS,
		    strerror(ENOMEM));
		return -1;
	}
	if (li_parse_env(s, &e, &ne, err, errlen) == -1) {
		free(s);
		return -1;
	}
	for (i = 0; i < ne; i++)
		li_env_entry(ls, n, &e[i], keep);
	free(e);
	free(s);
	return 0;
}

static int
li_number(const char *s, long *v)
{
	char	*end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || *v > INT_MAX ? -1 : 0;
}

/* systemd socket activation: LISTEN_FDS sockets from fd 3, for our pid. */
static int
li_systemd(struct listener *ls, size_t n, char *err, size_t errlen)
{
	const char	*fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	struct li_sock	 si;
	struct listener	*l;
	const char	*why;
	long		 nfds, p;
	int		 fd;

	if (fds == NULL || pid == NULL)
		return 0;
	if (li_number(pid, &p) == -1 || li_number(fds, &nfds) == -1 ||
	    nfds > sysconf(_SC_OPEN_MAX)) {
		snprintf(err, errlen, "LISTEN_PID=%s LISTEN_FDS=%s: not "
		    "a pid and a number of descriptors", pid, fds);
		return -1;
	}
	if ((pid_t)p != getpid())
		return 0;	/* meant for another process */
	for (fd = 3; fd < 3 + nfds; fd++) {
		if (li_taken(ls, n, fd))
			continue;
		if ((why = li_sockinfo(fd, &si)) != NULL)
			log_msg(PFSD_LOG_WARNING, "LISTEN_FDS: fd %d: %s; "
			    "ignored", fd, why);
		else if ((l = li_find(ls, n, &si)) != NULL)
			li_adopt(l, fd, &si, 0);
		else {
			log_msg(PFSD_LOG_NOTICE, "LISTEN_FDS: fd %d is not "
			    "configured, closed", fd);
			close(fd);
		}
	}
	return 0;
}

/*
 * Take the listeners handed over by the previous process (env, the value
 * of ENV_LISTEN_FDS, or NULL) or by systemd (LISTEN_FDS/LISTEN_PID)
 * before listen_bind_all, so that they are never bound twice.  Handed-over
 * sockets the configuration lacks stay open until listen_close_unused.
 * Clears systemd's variables.  0, or -1 with err when a variable is not
 * in its format at all.
 */
int
listen_inherit_env(struct listener *ls, size_t n, const char *env, char *err,
    size_t errlen)
{
	int	rc = 0;

	if (env != NULL && *env != '\0')
		rc = li_env(ls, n, env, 1, err, errlen);
	if (rc == 0)
		rc = li_systemd(ls, n, err, errlen);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

/* The same, reading (and clearing) ENV_LISTEN_FDS; the unused closed. */
int
listen_inherit(struct listener *ls, size_t n, char *err, size_t errlen)
{
	const char	*v = getenv(ENV_LISTEN_FDS);
	int		 rc = 0;

	if (v != NULL && *v != '\0')
		rc = li_env(ls, n, v, 0, err, errlen);
	if (rc == 0)
		rc = li_systemd(ls, n, err, errlen);
	unsetenv(ENV_LISTEN_FDS);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

/* The new generation serves: close the handed-over sockets it lacks. */
void
listen_close_unused(void)
{
	size_t	i;

	for (i = 0; i < li_nkept; i++) {
		log_msg(PFSD_LOG_NOTICE, "port %s: no longer configured, "
		    "closed", li_kept[i].name);
		close(li_kept[i].fd);
		free(li_kept[i].name);
	}
	free(li_kept);
	li_kept = NULL;
	li_nkept = 0;
}
