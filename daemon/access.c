/*
 * access.c - allow/deny (Perl regexes, matched by PCRE2 as Net::Server
 * matches them: /^PATTERN$/) and cidr_allow/cidr_deny, checked for every
 * connection.
 *
 * An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; it is
 * matched as plain IPv4 everywhere.  For the same reason an IPv6 CIDR
 * inside ::ffff:0:0/96 (e.g. ::ffff:10.0.0.0/104) is kept as the IPv4
 * CIDR it describes (10.0.0.0/8), so that both spellings match the same
 * peers; broader IPv6 CIDRs (::/0) match real IPv6 peers only.
 */
#include "internal.h"

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AC_RE_LEN_MAX		4096	/* bytes of one pattern */
#define AC_RE_NEST_MAX		64	/* groups in groups */
#define AC_MATCH_LIMIT		100000	/* steps of one match */
#define AC_DEPTH_LIMIT		1000	/* backtracking depth */
#define AC_HEAP_LIMIT_KB	1024	/* backtracking memory */

struct acl_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* host bits cleared */
	int		bits;
};

struct acl_re {
	pcre2_code		*code;
	pcre2_match_data	*md;	/* made once: no allocation per match */
	char			*text;	/* as written, for the log */
};

/* The rules of one kind, allow or deny. */
struct acl_rules {
	struct acl_re	*re;
	size_t		 nre;
	struct acl_cidr	*net;
	size_t		 nnet;
};

struct access {
	struct acl_rules	allow;
	struct acl_rules	deny;
	int			reverse;	/* reverse_lookups */
	pcre2_match_context	*mc;
};

/* A peer, ready to compare: IPv4 as 4 bytes, mapped IPv6 made IPv4. */
struct acl_peer {
	int		family;		/* 0 when unknown */
	unsigned char	addr[16];
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
	if (n->family != AF_INET6 || n->bits < 96 || !addr_unmap(n->addr))
		return;
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
		if (!all_digits(slash + 1, strlen(slash + 1)))
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

	if (n > 0 && (r->net = calloc(n, sizeof(*r->net))) == NULL)
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

/*
 * Where a '|' stands outside every group, Net::Server's "^PATTERN$"
 * anchors only the first alternative's start and the last one's end:
 * "10\.0\.0\.1|10\.0\.0\.2" also allows 10.0.0.15.  Worth a warning.
 * Skips escapes, \Q...\E and character classes; a guess is enough here
 * (PCRE2 has already accepted the pattern).
 */
static int
ac_toplevel_bar(const char *s)
{
	int	depth = 0;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] == 'Q') {
			if ((s = strstr(s + 2, "\\E")) == NULL)
				return 0;
			s++;
		} else if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '[') {
			s += 1 + (s[1] == '^');
			if (*s == ']')
				s++;	/* a leading ']' is a member */
			for (; *s != '\0' && *s != ']'; s++)
				if (*s == '\\' && s[1] != '\0')
					s++;
			if (*s == '\0')
				return 0;
		} else if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (*s == '|' && depth == 0)
			return 1;
	}
	return 0;
}

/* A PCRE2 error message with the offset it happened at. */
static void
ac_pcre2_error(int code, size_t off, char *err, size_t errlen)
{
	PCRE2_UCHAR	msg[256];

	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		snprintf((char *)msg, sizeof(msg), "error %d", code);
	snprintf(err, errlen, "at offset %zu: %s", off, (char *)msg);
}

/*
 * Compile one Perl regex the way Net::Server uses it: /^PATTERN$/, the
 * text put between the anchors without a group around it.  0, 1 with
 * err (a bad pattern), -1 out of memory.  The user's text is compiled
 * alone first so that an error's offset is in the text the user wrote.
 */
static int
ac_compile(struct acl_re *re, const char *s, char *err, size_t errlen)
{
	pcre2_compile_context	*cc;
	pcre2_code		*code;
	char			*anchored;
	size_t			 off;
	int			 rc;

	if ((cc = pcre2_compile_context_create(NULL)) == NULL)
		return -1;
	pcre2_set_max_pattern_length(cc, AC_RE_LEN_MAX);
	pcre2_set_parens_nest_limit(cc, AC_RE_NEST_MAX);
	code = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, &rc,
	    &off, cc);
	if (code == NULL) {
		pcre2_compile_context_free(cc);
		if (rc == PCRE2_ERROR_NOMEMORY)
			return -1;
		ac_pcre2_error(rc, off, err, errlen);
		return 1;
	}
	pcre2_code_free(code);
	if (asprintf(&anchored, "^%s$", s) == -1) {
		pcre2_compile_context_free(cc);
		return -1;
	}
	re->code = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED,
	    0, &rc, &off, cc);
	free(anchored);
	pcre2_compile_context_free(cc);
	if (re->code == NULL) {
		if (rc == PCRE2_ERROR_NOMEMORY)
			return -1;
		/* "a\" alone is an error; "^a\$" is not: no way here */
		ac_pcre2_error(rc, off > 0 ? off - 1 : 0, err, errlen);
		return 1;
	}
	/* JIT where the platform has it; the interpreter otherwise. */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	if ((re->md = pcre2_match_data_create_from_pattern(re->code,
	    NULL)) == NULL) {
		pcre2_code_free(re->code);
		re->code = NULL;
		return -1;
	}
	return 0;
}

/*
 * The limits every match runs under: a pathological pattern ("(a+)+$")
 * against a 255-byte host name stops at AC_MATCH_LIMIT steps instead of
 * running for minutes in a child.
 */
static pcre2_match_context *
ac_match_context(void)
{
	pcre2_match_context	*mc;

	if ((mc = pcre2_match_context_create(NULL)) == NULL)
		return NULL;
	pcre2_set_match_limit(mc, AC_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, AC_DEPTH_LIMIT);
	pcre2_set_heap_limit(mc, AC_HEAP_LIMIT_KB);
	return mc;
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
		rc = ac_compile(&r->re[r->nre], cv->str, err, sizeof(err));
		if (rc == -1)
			return -1;
		if (rc == 1) {
			conf_error(c, cv->file, cv->line, conf_options[id].name,
			    "\"%s\": %s", cv->str, err);
			continue;
		}
		if ((r->re[r->nre++].text = strdup(cv->str)) == NULL)
			return -1;
		if (ac_toplevel_bar(cv->str))
			conf_warn(c, cv->file, cv->line, conf_options[id].name,
			    "\"%s\": '|' outside a group: as in Net::Server, "
			    "only the first alternative must start the text and "
			    "only the last must end it; write \"(?:%s)\" to "
			    "anchor every alternative", cv->str, cv->str);
	}
	return 0;
}

/* reverse_lookups: 0 off, 1 on, 2 double (or double_reverse_lookups). */
int
reverse_mode(const struct conf *c)
{
	static const int	modes[] = { 0, 1, 2, 0, 1, 0, 1, 0, 1, 2 };
	long			i = conf_num(c, OPT_REVERSE_LOOKUPS);

	if (conf_num(c, OPT_DOUBLE_REVERSE_LOOKUPS))
		return 2;
	return i >= 0 && i < (long)nitems(modes) ? modes[i] : 0;
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
	a->reverse = reverse_mode(c) != 0;
	if ((a->mc = ac_match_context()) == NULL ||
	    ac_regexes(c, OPT_ALLOW, &a->allow) == -1 ||
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

	for (i = 0; i < r->nre; i++) {
		pcre2_match_data_free(r->re[i].md);
		pcre2_code_free(r->re[i].code);
		free(r->re[i].text);
	}
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
	pcre2_match_context_free(a->mc);
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
	if (p->family == AF_INET6 && addr_unmap(p->addr))
		p->family = AF_INET;
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

/*
 * Does re match s?  A match that hits a limit is logged and counts as a
 * match of a deny rule and no match of an allow rule: the peer stays
 * out either way.
 */
static int
ac_re_match(const struct access *a, const struct acl_re *re, const char *s,
    int deny)
{
	char	shown[128];
	int	rc;

	rc = pcre2_match(re->code, (PCRE2_SPTR)s, strlen(s), 0, 0, re->md,
	    a->mc);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	log_escape(shown, sizeof(shown), s, strlen(s));	/* a PTR name */
	log_msg(PFSD_LOG_WARNING, "%s \"%s\" against \"%s\": %s; peer kept "
	    "out", deny ? "deny" : "allow", re->text, shown,
	    rc == PCRE2_ERROR_MATCHLIMIT ? "match limit reached" :
	    rc == PCRE2_ERROR_DEPTHLIMIT ? "depth limit reached" :
	    rc == PCRE2_ERROR_HEAPLIMIT ? "memory limit reached" :
	    "match failed");
	return deny;
}

/* Does any rule of r match the peer (address, or host name if known)? */
static int
ac_match(const struct access *a, const struct acl_rules *r,
    const struct acl_peer *p, const char *addr, const char *host, int deny)
{
	size_t	i;

	for (i = 0; i < r->nre; i++) {
		if (host != NULL && *host != '\0' &&
		    ac_re_match(a, &r->re[i], host, deny))
			return 1;
		if (addr != NULL && ac_re_match(a, &r->re[i], addr, deny))
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
	if (ac_match(a, &a->deny, &p, addr, host, 1))
		return 0;
	if (ac_match(a, &a->allow, &p, addr, host, 0))
		return 1;
	return a->allow.nre == 0 && a->allow.nnet == 0;
}

/*
 * A list of networks on its own (proxy_allow): the CIDR half of a rule
 * set, with "loopback" for 127.0.0.0/8 and ::1.  Problems go to
 * conf_error; NULL only when out of memory.
 */
struct cidr_set {
	struct acl_rules	r;
};

struct cidr_set *
cidr_set_configure(struct conf *c, enum opt_id id)
{
	static const char *const loopback[] = { "127.0.0.0/8", "::1" };
	struct cidr_set	*s;
	struct acl_cidr	*net;
	size_t		 i, j, n = conf_count(c, id);

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->r.net = calloc(2 * n + 1, sizeof(*net))) == NULL) {
		free(s);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const struct conf_value	*cv = conf_value_at(c, id, i);
		const char		*why;

		if (strcasecmp(cv->str, "loopback") == 0) {
			for (j = 0; j < nitems(loopback); j++)
				ac_parse_cidr(loopback[j],
				    &s->r.net[s->r.nnet++]);
		} else if ((why = ac_parse_cidr(cv->str,
		    &s->r.net[s->r.nnet])) != NULL)
			conf_error(c, cv->file, cv->line,
			    conf_options[id].name, "\"%s\": %s (a CIDR such "
			    "as 10.0.0.0/8, or loopback)", cv->str, why);
		else
			s->r.nnet++;
	}
	return s;
}

/* Is the peer in the set?  UNIX-socket peers always are. */
int
cidr_set_match(const struct cidr_set *s, const struct sockaddr *sa)
{
	struct acl_peer	p;

	if (sa->sa_family == AF_UNIX)
		return 1;
	ac_peer(sa, NULL, &p);
	return ac_match(NULL, &s->r, &p, NULL, NULL, 0);
}

void
cidr_set_free(struct cidr_set *s)
{
	if (s == NULL)
		return;
	ac_rules_free(&s->r);
	free(s);
}
