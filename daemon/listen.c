/*
 * listen.c - the listening sockets: turning the port/host/proto/ipv
 * settings (each port entry read by listen_parse.c) into listeners,
 * resolving their hosts, binding them.  listen_inherit.c hands them over
 * to the next process (HUP re-exec) or takes them from systemd.
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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* socket(2) as this file calls it; tests replace it to fake "no IPv6". */
int	(*listen_socket_fn)(int, int, int) = socket;

/* Listeners being built by listen_configure. */
struct lc_vec {
	struct listener	*ls;
	size_t		 n, cap;
};

/* The i-th value of a default list; the last one repeats (Net::Server). */
static const char *
lc_default(const struct conf *c, enum opt_id id, size_t i)
{
	size_t	n = conf_count(c, id);

	if (n == 0)
		return NULL;
	return conf_at(c, id, i < n ? i : n - 1);
}

/* "HOST:PORT/PROTO" ("[v6]:PORT/PROTO", "*:PORT/PROTO") or "PATH/unix". */
char *
listen_name(const char *host, int family, int port, int proto)
{
	char	*s;
	int	 rc;

	if (proto == PFSD_PROTO_UNIX)
		rc = asprintf(&s, "%s/unix", host);
	else if (family == AF_INET6 && strcmp(host, "*") != 0)
		rc = asprintf(&s, "[%s]:%d/%s", host, port, listen_proto_name(proto));
	else
		rc = asprintf(&s, "%s:%d/%s", host, port, listen_proto_name(proto));
	return rc == -1 ? NULL : s;
}

static int
lc_push(struct lc_vec *v, struct listener *l)
{
	struct listener	*nls;
	size_t		 i, cap;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->ls[i].name, l->name) == 0) {
			free(l->host);		/* a duplicate binds once */
			free(l->name);
			free(l->file);
			return 0;
		}
	if (v->n == v->cap) {
		cap = v->cap == 0 ? 4 : v->cap * 2;
		if ((nls = reallocarray(v->ls, cap, sizeof(*nls))) == NULL)
			return -1;
		v->ls = nls;
		v->cap = cap;
	}
	v->ls[v->n++] = *l;
	return 0;
}

/* Add a listener for this address (copied); 0 or -1 (out of memory). */
static int
lc_add(struct lc_vec *v, const struct listen_spec *sp, const char *host,
    const struct sockaddr *sa, socklen_t salen, const struct conf_value *cv)
{
	struct listener	l;

	memset(&l, 0, sizeof(l));
	l.fd = -1;
	l.proto = sp->proto;
	l.tls = sp->tls;
	l.family = sa->sa_family;
	l.port = sp->proto == PFSD_PROTO_UNIX ? 0 : atoi(sp->port);
	memcpy(&l.addr, sa, salen);
	l.addrlen = salen;
	l.line = cv->line;
	if (l.family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr;
		/* Dual stack only for the any-address without ipv 6. */
		l.v6only = !IN6_IS_ADDR_V4MAPPED(a) &&
		    !(IN6_IS_ADDR_UNSPECIFIED(a) && sp->ipv != 6);
	}
	l.host = strdup(host);
	l.name = listen_name(host, l.family, l.port, l.tls ? PROTO_SSL :
	    l.proto);
	l.file = cv->file != NULL ? strdup(cv->file) : NULL;
	if (l.host == NULL || l.name == NULL ||
	    (cv->file != NULL && l.file == NULL) || lc_push(v, &l) == -1) {
		free(l.host);
		free(l.name);
		free(l.file);
		return -1;
	}
	return 0;
}

static int
lc_unix(struct lc_vec *v, const struct listen_spec *sp,
    const struct conf_value *cv)
{
	struct sockaddr_un	sun;
	size_t			len = strlen(sp->host);

	if (len >= sizeof(sun.sun_path))	/* listen_parse refused it */
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sp->host, len);
	return lc_add(v, sp, sp->host, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1), cv);
}

/* Can this host make IPv6 sockets at all (not booted with ipv6.disable)? */
static int
lc_have_ipv6(void)
{
	int	fd;

	fd = listen_socket_fn(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return errno != EAFNOSUPPORT && errno != EPROTONOSUPPORT;
	close(fd);
	return 1;
}

/* "*": one dual-stack [::] socket (0.0.0.0 without IPv6), or per ipv. */
static int
lc_wildcard(struct lc_vec *v, const struct listen_spec *sp,
    const struct conf_value *cv)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	int			port = atoi(sp->port);

	if (sp->ipv == 4 || (sp->ipv == 0 && !lc_have_ipv6())) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		return lc_add(v, sp, sp->ipv == 4 ? "0.0.0.0" : "*",
		    (struct sockaddr *)&sin, sizeof(sin), cv);
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	sin6.sin6_addr = in6addr_any;
	return lc_add(v, sp, sp->ipv == 6 ? "::" : "*",
	    (struct sockaddr *)&sin6, sizeof(sin6), cv);
}

/* A numeric address of the other family than ipv asks for: an error. */
static int
lc_family_check(const struct listen_spec *sp, char *err, size_t errlen)
{
	struct in_addr	a4;

	if (sp->ipv == 6 && inet_pton(AF_INET, sp->host, &a4) == 1)
		snprintf(err, errlen, "%s is an IPv4 address but ipv is 6",
		    sp->host);
	else if (sp->ipv == 4 && lp_is_ipv6(sp->host))
		snprintf(err, errlen, "%s is an IPv6 address but ipv is 4",
		    sp->host);
	else
		return 0;
	return -1;
}

/* A host name or address: one listener per address it resolves to. */
static int
lc_resolve(struct lc_vec *v, const struct listen_spec *sp,
    const struct conf_value *cv, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[NI_MAXHOST];
	int		 rc;

	if (lc_family_check(sp, err, errlen) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = sp->ipv == 4 ? AF_INET : sp->ipv == 6 ? AF_INET6 :
	    AF_UNSPEC;
	hints.ai_socktype = sp->proto == PFSD_PROTO_UDP ? SOCK_DGRAM :
	    SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(sp->host, sp->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", sp->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res, rc = 0; ai != NULL && rc == 0; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		if ((rc = lc_add(v, sp, host, ai->ai_addr, ai->ai_addrlen,
		    cv)) == -1)
			snprintf(err, errlen, "%s", strerror(ENOMEM));
	}
	freeaddrinfo(res);
	return rc;
}

/* One port entry: parse it with its defaults, add its listeners. */
static int
lc_entry(struct conf *c, size_t i, struct lc_vec *v, int backlog)
{
	const struct conf_value	*cv = conf_value_at(c, OPT_PORT, i);
	struct listen_spec	 sp;
	char			 err[ERRBUF_SIZE], msg[ERRBUF_SIZE];
	size_t			 first = v->n, j;
	int			 rc;

	if (listen_parse(cv->str, lc_default(c, OPT_HOST, i),
	    lc_default(c, OPT_PROTO, i), lc_default(c, OPT_IPV, i), &sp,
	    err, sizeof(err)) == -1) {
		conf_error(c, cv->file, cv->line, "port", "%s", err);
		return -1;
	}
	if (sp.proto == PFSD_PROTO_UNIX)
		rc = lc_unix(v, &sp, cv);
	else if (strcmp(sp.host, "*") == 0)
		rc = lc_wildcard(v, &sp, cv);
	else
		rc = lc_resolve(v, &sp, cv, msg, sizeof(msg));
	if (rc == -1) {
		if (sp.proto == PFSD_PROTO_UNIX || strcmp(sp.host, "*") == 0)
			snprintf(msg, sizeof(msg), "%s", strerror(ENOMEM));
		conf_error(c, cv->file, cv->line, "port", "\"%s\": %s",
		    cv->str, msg);
		return -1;
	}
	for (j = first; j < v->n; j++)
		v->ls[j].backlog = backlog;
	return 0;
}

/*
 * Turn the port settings into listeners (not bound yet).  Every problem
 * goes to conf_error as "FILE:LINE: port: ..."; 0, or -1 with none made.
 */
int
listen_configure(struct conf *c, struct listener **lsp, size_t *np)
{
	struct lc_vec	v;
	size_t		i, n = conf_count(c, OPT_PORT);
	long		backlog = conf_num(c, OPT_LISTEN);
	int		rc = 0;

	memset(&v, 0, sizeof(v));
	if (backlog <= 0 || backlog > INT_MAX)
		backlog = SOMAXCONN;
	for (i = 0; i < n; i++)
		if (lc_entry(c, i, &v, (int)backlog) == -1)
			rc = -1;
	if (rc == -1) {
		listen_free(v.ls, v.n);
		v.ls = NULL;
		v.n = 0;
	}
	*lsp = v.ls;
	*np = v.n;
	return rc;
}

/* -T: one "port NAME" line per socket. */
void
listen_print(const struct listener *ls, size_t n, FILE *fp)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fprintf(fp, "port %s\n", ls[i].name);
}

/* -------------------------------------------------------------------- */

static int
lb_fail(const struct listener *l, const char *what, char *err,
    size_t errlen)
{
	/* the usual cause of EACCES, and what to do about it */
	if (errno == EACCES && l->proto != PFSD_PROTO_UNIX && l->port > 0 &&
	    l->port < 1024)
		snprintf(err, errlen, "%s %s: %s (ports below 1024 need root "
		    "or CAP_NET_BIND_SERVICE: start pfsd as root, with \"user\" "
		    "to drop privileges after binding, or use a port from "
		    "1024)", what, l->name, strerror(errno));
	else
		snprintf(err, errlen, "%s %s: %s", what, l->name,
		    strerror(errno));
	return -1;
}

/*
 * Make room for a UNIX socket: a file left by a dead server (connect is
 * refused) is removed; a live server or a non-socket is an error.
 */
static int
lb_unix_clear(const struct listener *l, char *err, size_t errlen)
{
	struct stat	st;
	int		fd, rc, saved;

	if (lstat(l->host, &st) == -1)
		return errno == ENOENT ? 0 : lb_fail(l, "cannot bind", err,
		    errlen);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket",
		    l->host);
		return -1;
	}
	fd = listen_socket_fn(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd == -1)
		return lb_fail(l, "cannot create socket for", err, errlen);
	rc = connect(fd, (const struct sockaddr *)&l->addr, l->addrlen);
	saved = errno;
	close(fd);
	if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS) {
		snprintf(err, errlen, "%s: in use by a running server",
		    l->host);
		return -1;
	}
	errno = saved;
	if (saved != ECONNREFUSED || (unlink(l->host) == -1 &&
	    errno != ENOENT))
		return lb_fail(l, "cannot bind", err, errlen);
	log_msg(PFSD_LOG_NOTICE, "%s: removed a socket no one accepts on "
	    "(stale, or a server's in a graceful stop)", l->host);
	return 0;
}

/* After binding port 0: learn the port the kernel chose. */
static int
lb_learn_port(struct listener *l, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			*name;
	int			 port;

	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == -1)
		return lb_fail(l, "getsockname", err, errlen);
	port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if ((name = listen_name(l->host, l->family, port, l->tls ? PROTO_SSL :
	    l->proto)) == NULL)
		return lb_fail(l, "cannot bind", err, errlen);
	log_msg(PFSD_LOG_NOTICE, "port %s: bound to %s", l->name, name);
	free(l->name);
	l->name = name;
	l->port = port;
	memcpy(&l->addr, &ss, len);
	l->addrlen = len;
	return 0;
}

static int
lb_options(struct listener *l, char *err, size_t errlen)
{
	int	on = 1, v6only = l->v6only;

	/* Not for UDP: two daemons would share the port without an error. */
	if (l->proto != PFSD_PROTO_UDP && l->family != AF_UNIX &&
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		return lb_fail(l, "SO_REUSEADDR on", err, errlen);
	if (l->family == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1)
		return lb_fail(l, "IPV6_V6ONLY on", err, errlen);
	return 0;
}

static int
lb_one(struct listener *l, char *err, size_t errlen)
{
	int	type = l->proto == PFSD_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;

	if (l->family == AF_UNIX && lb_unix_clear(l, err, errlen) == -1)
		return -1;
	if ((l->fd = listen_socket_fn(l->family, type | SOCK_CLOEXEC, 0)) == -1)
		return lb_fail(l, "cannot create socket for", err, errlen);
	if (lb_options(l, err, errlen) == -1)
		return -1;
	if (bind(l->fd, (struct sockaddr *)&l->addr, l->addrlen) == -1)
		return lb_fail(l, "cannot bind", err, errlen);
	l->made = 1;
	if (l->family == AF_UNIX) {
		l->unlink_path = 1;
		listen_note_file(l);
	}
	if (type == SOCK_STREAM && listen(l->fd, l->backlog > 0 ?
	    l->backlog : SOMAXCONN) == -1)
		return lb_fail(l, "cannot listen on", err, errlen);
	if (l->port == 0 && l->family != AF_UNIX)
		return lb_learn_port(l, err, errlen);
	return 0;
}

/*
 * Bind every listener that was not inherited.  0, or -1 with err naming
 * the socket, everything this call opened closed again.
 */
int
listen_bind_all(struct listener *ls, size_t n, char *err, size_t errlen)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		if (ls[i].fd >= 0)
			continue;
		if (lb_one(&ls[i], err, errlen) == 0)
			continue;
		for (j = 0; j <= i; j++)
			if (!ls[j].inherited)
				listen_close_all(&ls[j], 1, 1);
		return -1;
	}
	return 0;
}

/* Give the UNIX socket files we made to the user the daemon runs as. */
int
listen_chown(struct listener *ls, size_t n, uid_t uid, gid_t gid)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < n; i++) {
		if (ls[i].family != AF_UNIX || !ls[i].unlink_path)
			continue;
		/* lchown: a symbolic link swapped in is not followed */
		if (lchown(ls[i].host, uid, gid) == -1) {
			log_msg(PFSD_LOG_ERR, "cannot chown %s: %s",
			    ls[i].host, strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/*
 * Remember which file a UNIX listener is bound to.  Another server may
 * take the path over while this one finishes a graceful stop (the shut
 * socket refuses connections, so it looks stale): at exit pfsd removes
 * the path only if it still names this file.
 */
void
listen_note_file(struct listener *l)
{
	struct stat	 st;
	const char	*path = paths_here(l->host);

	l->file_dev = 0;
	l->file_ino = 0;
	if (path != NULL && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		l->file_dev = st.st_dev;
		l->file_ino = st.st_ino;
	}
}

/* Is path a socket, and the file (dev, ino) if that is known? */
int
listen_file_is(const char *path, dev_t dev, ino_t ino)
{
	struct stat	st;

	if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	return (dev == 0 && ino == 0) ||
	    (st.st_dev == dev && st.st_ino == ino);
}

/* Close the sockets; with unlink, remove the UNIX socket files we own. */
void
listen_close_all(struct listener *ls, size_t n, int unlink_files)
{
	const char	*path;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (ls[i].fd >= 0)
			close(ls[i].fd);
		ls[i].fd = -1;
		if (!unlink_files || !ls[i].unlink_path)
			continue;
		ls[i].unlink_path = 0;
		/* chrooted: the janitor removes those outside */
		if ((path = paths_here(ls[i].host)) == NULL)
			continue;
		if (!listen_file_is(path, ls[i].file_dev, ls[i].file_ino))
			log_info("%s: left in place: no longer this pfsd's "
			    "socket", ls[i].host);
		else if (unlink(path) == -1 && errno != ENOENT)
			log_warn("%s: cannot remove the socket file",
			    ls[i].host);
	}
}

void
listen_free(struct listener *ls, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(ls[i].host);
		free(ls[i].name);
		free(ls[i].file);
	}
	free(ls);
}

