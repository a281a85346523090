/*
 * listen.c - the listening sockets: Net::Server's port syntax, turning the
 * port/host/proto/ipv settings into listeners, binding them, and handing
 * them over to the next process (HUP re-exec) or taking them from systemd.
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

#define LP_SEP		":/|, \t"	/* between the parts of a port */
#define LP_HOSTSEP	":|, \t"	/* between host and port */
#define LP_BLANKSEP	"|, \t"
#define LP_HOSTCHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789.-_:%"

#define IPV_4		1		/* family bits while parsing */
#define IPV_6		2
#define IPV_ANY		(IPV_4 | IPV_6)

#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path))

/* socket(2) as this file calls it; tests replace it to fake "no IPv6". */
int	(*listen_socket_fn)(int, int, int) = socket;

/* Indexed by enum pfsd_proto, then PROTO_SSL. */
static const char *const lp_protos[] = { "tcp", "udp", "unix", "ssl" };

/* One port entry being parsed: a copy cut from the end as parts are read. */
struct lp_state {
	char		 buf[512];	/* cut as parts are taken */
	char		 spec[512];	/* as written, for messages */
	size_t		 speclen;	/* its whole length */
	int		 proto;		/* -1 until named */
	int		 ipv;		/* IPV_* bits, 0 until named */
	char		*err;
	size_t		 errlen;
};

/* Listeners being built by listen_configure. */
struct lc_vec {
	struct listener	*ls;
	size_t		 n, cap;
};

#define LP_QUOTE_MAX	300	/* characters of a port entry quoted back */

static int	lp_fail(struct lp_state *, const char *, ...)
		    PFSD_PRINTF(2, 3);

static int
lp_fail(struct lp_state *st, const char *fmt, ...)
{
	char	msg[ERRBUF_SIZE];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a long entry is quoted in part: the reason must fit the buffer */
	if (st->speclen > LP_QUOTE_MAX)
		snprintf(st->err, st->errlen, "\"%.*s...\" (%zu characters): "
		    "%s", LP_QUOTE_MAX - 3, st->spec, st->speclen, msg);
	else
		snprintf(st->err, st->errlen, "\"%s\": %s", st->spec, msg);
	return -1;
}

static int
lp_proto(const char *w)
{
	size_t	i;

	for (i = 0; i < nitems(lp_protos); i++)
		if (strcasecmp(w, lp_protos[i]) == 0)
			return (int)i;
	return -1;
}

/* "4", "6", "*", "46": IPV_* bits, or -1. */
static int
lp_ipv_bits(const char *s)
{
	int	bits = 0;

	for (; *s != '\0'; s++) {
		if (*s == '4')
			bits |= IPV_4;
		else if (*s == '6')
			bits |= IPV_6;
		else if (*s == '*')
			bits |= IPV_ANY;
		else
			return -1;
	}
	return bits == 0 ? -1 : bits;
}

/* "ipv4", "IPv6", "ipv*" (stacked "ipv46" too): bits; 0 other word; -1. */
static int
lp_ipv(const char *w)
{
	if (strncasecmp(w, "ipv", 3) != 0)
		return 0;
	return lp_ipv_bits(w + 3);
}

/*
 * A trailing word that names neither a protocol nor a family: after a
 * '/' or right after a numeric port it can only be a protocol, so it is
 * an error; anywhere else it is the port (a service name).  0 or -1.
 */
static int
lp_other_word(struct lp_state *st, size_t tok, size_t sep)
{
	const char	*b = st->buf;
	size_t		 k;

	if (b[0] == '/' || !isalpha((unsigned char)b[tok]))
		return 0;
	for (k = sep; k > 0 && strchr(LP_SEP, b[k - 1]) == NULL; k--)
		;
	if (memchr(b + sep, '/', tok - sep) != NULL ||
	    all_digits(b + k, sep - k))
		return lp_fail(st, "unknown protocol \"%s\"", b + tok);
	return 0;
}

/* Take one protocol or family word off the end: 1 taken, 0 none, -1. */
static int
lp_strip_one(struct lp_state *st)
{
	char	*b = st->buf;
	size_t	 tok, sep;
	int	 p, v;

	for (tok = strlen(b); tok > 0 && !strchr(LP_SEP, b[tok - 1]); tok--)
		;
	for (sep = tok; sep > 0 && strchr(LP_SEP, b[sep - 1]); sep--)
		;
	if (tok == 0 || sep == 0)
		return 0;
	/* Net::Server's UNIXDGRAM ("PATH|unixdgram", "PATH|sock_dgram") */
	if (strcasecmp(b + tok, "unixdgram") == 0 ||
	    strcasecmp(b + tok, "sock_dgram") == 0)
		return lp_fail(st, "UNIX datagram sockets are not supported: "
		    "use a stream UNIX socket (PATH/unix) or a UDP port "
		    "(HOST:PORT/udp)");
	if (strcasecmp(b + tok, "sock_stream") == 0 && b[0] == '/') {
		b[sep] = '\0';	/* Net::Server's legacy "PATH|sock_stream" */
		return 1;
	}
	if ((p = lp_proto(b + tok)) != -1) {
		if (st->proto != -1 && b[0] == '/')
			return 0;	/* "/run/udp/unix": part of the path */
		if (st->proto != -1)
			return lp_fail(st, "protocol given twice");
		st->proto = p;
	} else if (b[0] != '/' && (v = lp_ipv(b + tok)) != 0) {
		if (v == -1)
			return lp_fail(st, "unknown address family \"%s\"",
			    b + tok);
		st->ipv |= v;
	} else
		return lp_other_word(st, tok, sep);
	b[sep] = '\0';
	return 1;
}

static int
lp_is_ipv6(const char *host)
{
	struct in6_addr	a;
	char		buf[INET6_ADDRSTRLEN + 1];
	size_t		len = strcspn(host, "%");	/* fe80::1%eth0 */

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/*
 * An IPv6 address without brackets is accepted only when the text before
 * the last ':' is a whole IPv6 address: "::1:8080" is ::1 port 8080, as in
 * Net::Server.  "::8080" or "::1" could be read two ways and is refused.
 */
static int
lp_host(struct lp_state *st, const char *host, struct listen_spec *out)
{
	size_t	len = strlen(host);

	if (len >= sizeof(out->host))
		return lp_fail(st, "host name too long");
	if (strcmp(host, "*") != 0 &&
	    (*host == '\0' || host[strspn(host, LP_HOSTCHARS)] != '\0'))
		return lp_fail(st, "bad host \"%s\"", host);
	if (strchr(host, ':') != NULL && !lp_is_ipv6(host))
		return lp_fail(st, "ambiguous IPv6 address; write [ADDRESS]:PORT");
	memcpy(out->host, host, len + 1);
	return 0;
}

static int
lp_port(struct lp_state *st, const char *port, struct listen_spec *out)
{
	struct servent	*se;
	char		*end;
	long		 v;

	if (*port == '\0')
		return lp_fail(st, "missing port");
	if (isdigit((unsigned char)*port) || *port == '-' || *port == '+') {
		errno = 0;
		v = strtol(port, &end, 10);
		if (*end != '\0' || !isdigit((unsigned char)*port))
			return lp_fail(st, "bad port \"%s\"", port);
		if (errno == ERANGE || v > 65535)
			return lp_fail(st, "port out of range (0-65535)");
	} else {
		se = getservbyname(port, lp_protos[out->proto]);
		if (se == NULL)
			return lp_fail(st, "unknown service \"%s\" for %s",
			    port, lp_protos[out->proto]);
		v = ntohs((uint16_t)se->s_port);
	}
	snprintf(out->port, sizeof(out->port), "%ld", v);
	return 0;
}

/* "[host]:port": the host inside the brackets, the port after them. */
static int
lp_bracket(struct lp_state *st, char **host, char **port)
{
	char	*close, *rest;

	if ((close = strchr(st->buf, ']')) == NULL)
		return lp_fail(st, "unclosed bracket");
	*close = '\0';
	*host = st->buf[1] == '\0' ? "*" : st->buf + 1;
	rest = close + 1;
	if (*rest != '\0' && strchr(LP_HOSTSEP, *rest) == NULL)
		return lp_fail(st, "expected \":PORT\" after \"]\"");
	*port = rest + strspn(rest, LP_HOSTSEP);
	if (**port != '\0' && (*port)[strcspn(*port, LP_SEP)] != '\0')
		return lp_fail(st, "bad port \"%s\"", *port);
	return 0;
}

/* "host:port", "host|port", "host port"...: host is NULL when not given. */
static void
lp_split(struct lp_state *st, char **host, char **port)
{
	char	*b = st->buf;
	size_t	 k;

	for (k = strlen(b); k > 0 && !strchr(LP_HOSTSEP, b[k - 1]); k--)
		;
	*port = b + k;
	*host = NULL;
	if (k == 0)
		return;
	/* Drop the separators, but one ':' only: "fe80:::80" is fe80:: */
	while (k > 0 && strchr(LP_BLANKSEP, b[k - 1]) != NULL)
		k--;
	if (k > 0 && b[k - 1] == ':')
		k--;
	while (k > 0 && strchr(LP_BLANKSEP, b[k - 1]) != NULL)
		k--;
	b[k] = '\0';
	if (k > 0)
		*host = b;
}

static int
lp_inet(struct lp_state *st, const char *defhost, struct listen_spec *out)
{
	char	*host = NULL, *port = NULL;

	if (out->proto == PFSD_PROTO_UNIX)
		return lp_fail(st, "a UNIX socket needs an absolute path");
	if (st->buf[0] == '[') {
		if (lp_bracket(st, &host, &port) == -1)
			return -1;
	} else
		lp_split(st, &host, &port);
	if (lp_host(st, host != NULL ? host : defhost, out) == -1)
		return -1;
	return lp_port(st, port, out);
}

static int
lp_unix(struct lp_state *st, struct listen_spec *out)
{
	size_t	len = strlen(st->buf);

	if (st->proto != -1 && st->proto != PFSD_PROTO_UNIX)
		return lp_fail(st, "a path is a UNIX socket, not %s",
		    lp_protos[st->proto]);
	if (len >= SUN_PATH_MAX || len >= sizeof(out->host))
		return lp_fail(st, "path too long (%zu bytes at most)",
		    SUN_PATH_MAX - 1);
	memcpy(out->host, st->buf, len + 1);
	out->proto = PFSD_PROTO_UNIX;
	out->tls = 0;
	out->ipv = 0;
	return 0;
}

/* The host, proto and ipv settings that apply when the port names none. */
static int
lp_defaults(struct lp_state *st, const char **defhost, const char *defproto,
    const char *defipv, char *hostbuf, size_t hostlen)
{
	int	 p = PFSD_PROTO_TCP, v = IPV_ANY;
	size_t	 len;

	if (defproto != NULL && *defproto != '\0' &&
	    (p = lp_proto(defproto)) == -1)
		return lp_fail(st, "unknown protocol \"%s\" in proto", defproto);
	if (defipv != NULL && *defipv != '\0' &&
	    (v = lp_ipv(defipv)) <= 0 && (v = lp_ipv_bits(defipv)) == -1)
		return lp_fail(st, "bad ipv \"%s\" (4, 6 or *)", defipv);
	if (*defhost == NULL || **defhost == '\0')
		*defhost = "*";
	len = strlen(*defhost);
	if (**defhost == '[' && len >= 2 && (*defhost)[len - 1] == ']') {
		snprintf(hostbuf, hostlen, "%.*s", (int)(len - 2), *defhost + 1);
		*defhost = *hostbuf == '\0' ? "*" : hostbuf;
	}
	if (st->proto == -1)
		st->proto = p;
	if (st->ipv == 0)
		st->ipv = v;
	return 0;
}

/*
 * Parse one port entry (the forms of pfsd.conf(5)) with the host, proto
 * and ipv defaults that apply to it.  0, or -1 with err ("ENTRY": problem).  Where
 * Net::Server guesses, pfsd decides: a path is always a UNIX socket and
 * must be absolute; a word after '/' or after a numeric port is a
 * protocol, so a typo is an error rather than a service lookup; ":8080"
 * takes the default host; unbracketed IPv6 as said at lp_host.
 */
int
listen_parse(const char *spec, const char *defhost, const char *defproto,
    const char *defipv, struct listen_spec *out, char *err, size_t errlen)
{
	struct lp_state	 st;
	char		 hostbuf[sizeof(out->host)];
	size_t		 len;
	int		 rc, named;

	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.proto = -1;
	st.err = err;
	st.errlen = errlen;
	if (spec == NULL)
		spec = "";
	spec += strspn(spec, " \t");
	for (len = strlen(spec); len > 0 && strchr(" \t\r\n",
	    spec[len - 1]) != NULL; len--)
		;
	snprintf(st.spec, sizeof(st.spec), "%.*s", (int)len, spec);
	st.speclen = len;
	if (len == 0) {
		snprintf(err, errlen, "empty port");
		return -1;
	}
	if (len >= sizeof(st.buf))
		return lp_fail(&st, "too long (at most %zu characters)",
		    sizeof(st.buf) - 1);
	memcpy(st.buf, spec, len);
	while ((rc = lp_strip_one(&st)) == 1)
		;
	named = st.proto;
	if (rc == -1 || lp_defaults(&st, &defhost, defproto, defipv, hostbuf,
	    sizeof(hostbuf)) == -1)
		return -1;
	out->proto = st.proto;
	if (out->proto == PROTO_SSL) {	/* TLS over TCP */
		out->proto = PFSD_PROTO_TCP;
		out->tls = 1;
	}
	out->ipv = st.ipv == IPV_4 ? 4 : st.ipv == IPV_6 ? 6 : 0;
	if (st.buf[0] == '/') {
		st.proto = named;
		return lp_unix(&st, out);
	}
	return lp_inet(&st, defhost, out);
}

/* -------------------------------------------------------------------- */

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
		rc = asprintf(&s, "[%s]:%d/%s", host, port, lp_protos[proto]);
	else
		rc = asprintf(&s, "%s:%d/%s", host, port, lp_protos[proto]);
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
	log_msg(PFSD_LOG_NOTICE, "%s: removed a stale socket", l->host);
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
	if (l->family == AF_UNIX)
		l->unlink_path = 1;
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

/* Close the sockets; with unlink, remove the UNIX socket files we own. */
void
listen_close_all(struct listener *ls, size_t n, int unlink_files)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (ls[i].fd >= 0)
			close(ls[i].fd);
		ls[i].fd = -1;
		if (unlink_files && ls[i].unlink_path) {
			/* chrooted: the janitor removes those outside */
			if (paths_here(ls[i].host) != NULL &&
			    unlink(paths_here(ls[i].host)) == -1 &&
			    errno != ENOENT)
				log_warn("%s: cannot remove the socket file",
				    ls[i].host);
			ls[i].unlink_path = 0;
		}
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

