/*
 * listen_parse.c - Net::Server's port syntax: one port entry ("8080",
 * "[::1]:443/ssl", "/run/x.sock|unix", "80/tcp/ipv6"...) and the host,
 * proto and ipv defaults into a struct listen_spec.  listen.c resolves
 * and binds what it describes.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LP_SEP		":/|, \t"	/* between the parts of a port */
#define LP_HOSTSEP	":|, \t"	/* between host and port */
#define LP_BLANKSEP	"|, \t"
#define LP_HOSTCHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789.-_:%"

#define IPV_4		1		/* family bits while parsing */
#define IPV_6		2
#define IPV_ANY		(IPV_4 | IPV_6)

#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path))


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

/*
 * The proto option's choices are the protocols, indexed by enum
 * pfsd_proto, then PROTO_SSL: "tcp", "udp", "unix", "ssl".
 */
const char *
listen_proto_name(int proto)
{
	return conf_options[OPT_PROTO].choices[proto];
}

/* The protocol word W names (case-insensitive), or -1. */
static int
lp_proto(const char *w)
{
	const char *const	*protos = conf_options[OPT_PROTO].choices;
	size_t			 i;

	for (i = 0; protos[i] != NULL; i++)
		if (strcasecmp(w, protos[i]) == 0)
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

int
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
		se = getservbyname(port, listen_proto_name(out->proto));
		if (se == NULL)
			return lp_fail(st, "unknown service \"%s\" for %s",
			    port, listen_proto_name(out->proto));
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
		    listen_proto_name(st->proto));
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
