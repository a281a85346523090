/*
 * access.c - allow/deny (POSIX extended regexes, anchored) and
 * cidr_allow/cidr_deny, checked for every connection.
 *
 * An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; it is
 * matched as plain IPv4 everywhere.  For the same reason an IPv6 CIDR
 * inside ::ffff:0:0/96 (e.g. ::ffff:10.0.0.0/104) is kept as the IPv4
 * CIDR it describes (10.0.0.0/8), so that both spellings match the same
 * peers; broader IPv6 CIDRs (::/0) match real IPv6 peers only.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AC_RE_EXTRA_MAX	1024	/* elements a regex's repetitions may add */
#define AC_RE_DEPTH_MAX	32	/* groups in groups */

struct acl_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* host bits cleared */
	int		bits;
};

/* The rules of one kind, allow or deny. */
struct acl_rules {
	regex_t		*re;
	size_t		 nre;
	struct acl_cidr	*net;
	size_t		 nnet;
};

struct access {
	struct acl_rules	allow;
	struct acl_rules	deny;
	int			reverse;	/* reverse_lookups */
};

/* A peer, ready to compare: IPv4 as 4 bytes, mapped IPv6 made IPv4. */
struct acl_peer {
	int		family;		/* 0 when unknown */
	unsigned char	addr[16];
};

static const unsigned char ac_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Keep the first bits of addr, clear the rest. */
static void
ac_mask(unsigned char *addr, size_t len, int bits)
{
	size_t	i;

	for (i = 0; i < len; i++, bits -= 8) {
		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
}

/* An IPv6 CIDR inside ::ffff:0:0/96 becomes the IPv4 CIDR it covers. */
static void
ac_unmap(struct acl_cidr *n)
{
	if (n->family != AF_INET6 || n->bits < 96 ||
	    memcmp(n->addr, ac_mapped, sizeof(ac_mapped)) != 0)
		return;
	memmove(n->addr, n->addr + 12, 4);
	memset(n->addr + 4, 0, 12);
	n->family = AF_INET;
	n->bits -= 96;
}

/* "a.b.c.d/n", "x::/n", or a bare address; NULL, or what is wrong. */
static const char *
ac_parse_cidr(const char *s, struct acl_cidr *n)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(s, '/');
	size_t		 len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	long		 bits;
	int		 max;

	memset(n, 0, sizeof(*n));
	if (len >= sizeof(host))
		return "not an IP address";
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, host, n->addr) == 1)
		n->family = AF_INET6;
	else
		return "not an IP address";
	max = n->family == AF_INET ? 32 : 128;
	n->bits = max;
	if (slash != NULL) {
		if (slash[1] == '\0' || strspn(slash + 1, "0123456789") !=
		    strlen(slash + 1))
			return "bad prefix length";
		errno = 0;
		bits = strtol(slash + 1, NULL, 10);
		if (errno == ERANGE || bits > max)
			return "prefix length out of range";
		n->bits = (int)bits;
	}
	ac_mask(n->addr, max / 8, n->bits);
	ac_unmap(n);
	return NULL;
}

static int
ac_cidrs(struct conf *c, enum opt_id id, struct acl_rules *r)
{
	const struct conf_value	*cv;
	const char		*why;
	size_t			 i, n = conf_count(c, id);

	if (n == 0)
		return 0;
	if ((r->net = calloc(n, sizeof(*r->net))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		cv = conf_value_at(c, id, i);
		if ((why = ac_parse_cidr(cv->str, &r->net[r->nnet])) != NULL)
			conf_error(c, cv->file, cv->line, conf_options[id].name,
			    "\"%s\": %s", cv->str, why);
		else
			r->nnet++;
	}
	return 0;
}

/* Past a bracket expression ("[]a-z[:digit:]]"); s is at its '['. */
static const char *
ac_skip_bracket(const char *s)
{
	s++;
	if (*s == '^')
		s++;
	if (*s == ']')
		s++;		/* a leading ']' is a member */
	for (; *s != '\0' && *s != ']'; s++) {
		if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
			const char *end = strchr(s + 2, ']');

			if (end == NULL)
				return s + strlen(s);
			s = end;	/* "[:digit:]" ends at its ":]" */
		}
	}
	return s;
}

/*
 * A ')' that closes nothing: glibc takes it as a literal, but inside the
 * "^(...)$" wrapping it would close our '(' and drop the anchors.
 */
static int
ac_stray_paren(const char *s)
{
	int	depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '[' && *(s = ac_skip_bracket(s)) == '\0')
			break;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && depth-- == 0)
			return 1;
	}
	return 0;
}

/*
 * The copies glibc's regcomp makes of an element repeated by the
 * operator at s ("x+" is "xx*": two; "x{2,5}" five; "x*", "x?" one), and
 * *end just past the operator; 0 when s is no repetition.
 */
static long
ac_repeats(const char *s, const char **end)
{
	long	 m = 0, n;
	char	*p = (char *)s + 1;

	*end = s + 1;
	if (*s == '*' || *s == '?')
		return 1;
	if (*s == '+')
		return 2;
	if (*s != '{' || (!isdigit((unsigned char)*p) && *p != ','))
		return 0;
	if (isdigit((unsigned char)*p))
		m = strtol(p, &p, 10);
	n = m;
	if (*p == ',')		/* "{m,}" is m copies and a star: n -1 */
		n = isdigit((unsigned char)*++p) ? strtol(p, &p, 10) : -1;
	if (*p != '}')
		return 0;
	*end = p + 1;
	n = n == -1 ? (m < INT_MAX ? m + 1 : m) : n;
	return n < 1 ? 1 : n > INT_MAX ? INT_MAX : n;
}

/*
 * Would regcomp blow up on s?  It copies repeated elements, so nested
 * and stacked repetitions multiply ("((a+)+)+..." doubles each time),
 * and its memory grows with the square of the copies: "a{1,10000}" takes
 * 800 MB, "1.*++++++++++++++" 14 GB.  Counted here: elements added by
 * repetition beyond the pattern's own, at most AC_RE_EXTRA_MAX (a few
 * MB), and groups nested at most AC_RE_DEPTH_MAX deep.
 */
static int
ac_too_complex(const char *s)
{
	long		 sum[AC_RE_DEPTH_MAX + 1], last[AC_RE_DEPTH_MAX + 1];
	long		 f, own = 0, cap = (long)strlen(s) + AC_RE_EXTRA_MAX;
	const char	*end;
	int		 d = 0;

	sum[0] = last[0] = 0;
	for (; *s != '\0'; s++, own++) {
		if (*s == '(') {
			if (++d > AC_RE_DEPTH_MAX)
				return 1;
			sum[d] = last[d] = 0;
			continue;
		}
		if (*s == ')' && d > 0) {
			last[d - 1] = sum[d] + 1;
			d--;
			sum[d] += last[d];
		} else if (*s == '|')
			last[d] = 0;
		else if ((f = ac_repeats(s, &end)) > 0) {
			sum[d] -= last[d];
			last[d] = last[d] > 0 && f > (cap - 1) / last[d] ?
			    cap + 1 : last[d] * f + 1;
			sum[d] += last[d];
			s = end - 1;
		} else {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '[' && *(s = ac_skip_bracket(s)) == '\0')
				s--;	/* unclosed: end the loop at the NUL */
			sum[d] += last[d] = 1;
		}
		if (sum[d] > cap)
			return 1;
	}
	for (; d > 0; d--)	/* unclosed groups: regcomp copies them too */
		sum[d - 1] += sum[d];
	return sum[0] - own > AC_RE_EXTRA_MAX;
}

/*
 * Compile one regex anchored at both ends: 0, 1 with err (a bad regex),
 * -1 out of memory.  The user's text is compiled alone first so that its
 * errors are its own, not those of the wrapping.
 */
static int
ac_regcomp(regex_t *re, const char *s, char *err, size_t errlen)
{
	char	*anchored;
	int	 rc;

	if (ac_too_complex(s)) {
		snprintf(err, errlen, "too complex (nested or large "
		    "repetitions would make regcomp use too much memory)");
		return 1;
	}
	if ((rc = regcomp(re, s, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, re, err, errlen);
		return 1;
	}
	regfree(re);
	if (ac_stray_paren(s)) {
		snprintf(err, errlen, "unmatched \")\" (write \"\\)\" for a "
		    "literal one)");
		return 1;
	}
	if (asprintf(&anchored, "^(%s)$", s) == -1)
		return -1;
	if ((rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB)) != 0)
		regerror(rc, re, err, errlen);
	free(anchored);
	return rc == 0 ? 0 : 1;
}

static int
ac_regexes(struct conf *c, enum opt_id id, struct acl_rules *r)
{
	const struct conf_value	*cv;
	char			 err[ERRBUF_SIZE];
	size_t			 i, n = conf_count(c, id);
	int			 rc;

	if (n == 0)
		return 0;
	if ((r->re = calloc(n, sizeof(*r->re))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		cv = conf_value_at(c, id, i);
		rc = ac_regcomp(&r->re[r->nre], cv->str, err, sizeof(err));
		if (rc == -1)
			return -1;
		if (rc == 0)
			r->nre++;
		else
			conf_error(c, cv->file, cv->line, conf_options[id].name,
			    "\"%s\": %s", cv->str, err);
	}
	return 0;
}

/*
 * Compile allow, deny, cidr_allow and cidr_deny.  A broken rule is a
 * conf_error ("FILE:LINE: key: ...") and left out.  NULL only when out of
 * memory; no rules at all give an empty set.
 */
struct access *
access_configure(struct conf *c)
{
	struct access	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->reverse = conf_num(c, OPT_REVERSE_LOOKUPS) != 0;
	if (ac_regexes(c, OPT_ALLOW, &a->allow) == -1 ||
	    ac_regexes(c, OPT_DENY, &a->deny) == -1 ||
	    ac_cidrs(c, OPT_CIDR_ALLOW, &a->allow) == -1 ||
	    ac_cidrs(c, OPT_CIDR_DENY, &a->deny) == -1) {
		access_free(a);
		return NULL;
	}
	return a;
}

static void
ac_rules_free(struct acl_rules *r)
{
	size_t	i;

	for (i = 0; i < r->nre; i++)
		regfree(&r->re[i]);
	free(r->re);
	free(r->net);
}

void
access_free(struct access *a)
{
	if (a == NULL)
		return;
	ac_rules_free(&a->allow);
	ac_rules_free(&a->deny);
	free(a);
}

/* No rule at all: the engine skips access_check. */
int
access_empty(const struct access *a)
{
	return a == NULL || (a->allow.nre == 0 && a->allow.nnet == 0 &&
	    a->deny.nre == 0 && a->deny.nnet == 0);
}

/* Peer host names are worth a reverse lookup only for regex rules. */
int
access_wants_hostname(const struct access *a)
{
	return a != NULL && a->reverse && (a->allow.nre > 0 ||
	    a->deny.nre > 0);
}

/* "::ffff:10.1.2.3" is matched as "10.1.2.3". */
static const char *
ac_strip_mapped(const char *s)
{
	struct in_addr	a;

	if (s != NULL && strncasecmp(s, "::ffff:", 7) == 0 &&
	    strchr(s + 7, ':') == NULL && inet_pton(AF_INET, s + 7, &a) == 1)
		return s + 7;
	return s;
}

/* The peer's address as bytes, from the sockaddr or else the text. */
static void
ac_peer(const struct sockaddr *sa, const char *text, struct acl_peer *p)
{
	const struct sockaddr_in	*s4 = (const void *)sa;
	const struct sockaddr_in6	*s6 = (const void *)sa;

	memset(p, 0, sizeof(*p));
	if (sa != NULL && sa->sa_family == AF_INET) {
		p->family = AF_INET;
		memcpy(p->addr, &s4->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		p->family = AF_INET6;
		memcpy(p->addr, &s6->sin6_addr, 16);
	} else if (text != NULL && inet_pton(AF_INET, text, p->addr) == 1)
		p->family = AF_INET;
	else if (text != NULL && inet_pton(AF_INET6, text, p->addr) == 1)
		p->family = AF_INET6;
	if (p->family == AF_INET6 &&
	    memcmp(p->addr, ac_mapped, sizeof(ac_mapped)) == 0) {
		memmove(p->addr, p->addr + 12, 4);
		memset(p->addr + 4, 0, 12);
		p->family = AF_INET;
	}
}

static int
ac_cidr_match(const struct acl_cidr *n, const struct acl_peer *p)
{
	size_t	full = (size_t)n->bits / 8;
	int	rest = n->bits % 8;

	if (n->family != p->family || memcmp(n->addr, p->addr, full) != 0)
		return 0;
	return rest == 0 || ((n->addr[full] ^ p->addr[full]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

/* Does any rule of r match the peer (address, or host name if known)? */
static int
ac_match(const struct acl_rules *r, const struct acl_peer *p,
    const char *addr, const char *host)
{
	size_t	i;

	for (i = 0; i < r->nre; i++) {
		if (addr != NULL && regexec(&r->re[i], addr, 0, NULL, 0) == 0)
			return 1;
		if (host != NULL && *host != '\0' &&
		    regexec(&r->re[i], host, 0, NULL, 0) == 0)
			return 1;
	}
	for (i = 0; i < r->nnet; i++)
		if (ac_cidr_match(&r->net[i], p))
			return 1;
	return 0;
}

/*
 * 1 to allow the peer, 0 to deny: UNIX sockets and an empty
 * set allow; a deny rule denies; then an allow rule allows; with allow
 * rules nothing else passes, with only deny rules everything else does.
 * Called per connection: no allocation here.
 */
int
access_check(const struct access *a, const struct sockaddr *sa,
    const char *addr, const char *host)
{
	struct acl_peer	p;
	char		buf[INET6_ADDRSTRLEN];

	if (sa != NULL && sa->sa_family == AF_UNIX)
		return 1;
	if (access_empty(a))
		return 1;
	addr = ac_strip_mapped(addr);
	ac_peer(sa, addr, &p);
	if (addr == NULL && p.family != 0 &&
	    inet_ntop(p.family, p.addr, buf, sizeof(buf)) != NULL)
		addr = buf;
	if (ac_match(&a->deny, &p, addr, host))
		return 0;
	if (ac_match(&a->allow, &p, addr, host))
		return 1;
	return a->allow.nre == 0 && a->allow.nnet == 0;
}
