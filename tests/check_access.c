/*
 * check_access.c - access.c: CIDR matching, the allow/deny decision
 * (Perl regexes anchored as Net::Server anchors them, IPv4-mapped peers
 * as IPv4, UNIX always in), the same decisions taken by Net::Server
 * itself, and the messages for broken rules.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "harness.h"

Suite	*access_suite(void);

/* A peer: "unix", an IPv6 text (mapped ones too) or an IPv4 one. */
static const struct sockaddr *
peer(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(addr, "unix") == 0)
		ss->ss_family = AF_UNIX;
	else if (strchr(addr, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	} else {
		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	}
	return (struct sockaddr *)ss;
}

/* A conf with up to one value for each rule key (NULL: none). */
static struct conf *
rules_conf(const char *allow, const char *deny, const char *cidr_allow,
    const char *cidr_deny)
{
	struct conf	*c = conf_new();

	if (allow != NULL)
		ck_assert_int_eq(conf_set(c, "allow", allow, CONF_FILE,
		    "t.conf", 1), 0);
	if (deny != NULL)
		ck_assert_int_eq(conf_set(c, "deny", deny, CONF_FILE,
		    "t.conf", 2), 0);
	if (cidr_allow != NULL)
		ck_assert_int_eq(conf_set(c, "cidr_allow", cidr_allow,
		    CONF_FILE, "t.conf", 3), 0);
	if (cidr_deny != NULL)
		ck_assert_int_eq(conf_set(c, "cidr_deny", cidr_deny,
		    CONF_FILE, "t.conf", 4), 0);
	return c;
}

/* ------------------------------------------------------------------ */

static const struct {
	const char	*cidr;
	const char	*peer;
	int		 match;
} cidr_cases[] = {
	{ "10.0.0.0/8", "10.1.2.3", 1 },
	{ "10.0.0.0/8", "11.0.0.1", 0 },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 },		/* mapped peer */
	{ "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
	{ "::ffff:10.0.0.0/104", "10.1.2.3", 1 },	/* mapped CIDR */
	{ "::ffff:10.0.0.0/104", "::ffff:10.200.0.1", 1 },
	{ "::ffff:10.0.0.0/104", "::ffff:11.0.0.1", 0 },
	{ "::ffff:0:0/96", "8.8.8.8", 1 },
	{ "0.0.0.0/0", "1.2.3.4", 1 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "::/0", "2001:db8::1", 1 },
	{ "::/0", "1.2.3.4", 0 },
	{ "::/0", "::ffff:1.2.3.4", 0 },		/* that is IPv4 */
	{ "192.168.1.7/32", "192.168.1.7", 1 },
	{ "192.168.1.7/32", "192.168.1.8", 0 },
	{ "192.168.1.7", "192.168.1.7", 1 },		/* bare: /32 */
	{ "192.168.1.7", "192.168.1.6", 0 },
	{ "2001:db8::1/128", "2001:db8::1", 1 },
	{ "2001:db8::1/128", "2001:db8::2", 0 },
	{ "2001:db8::1", "2001:db8::1", 1 },		/* bare: /128 */
	{ "2001:db8::1", "2001:db8::3", 0 },
	{ "10.0.2.0/23", "10.0.2.0", 1 },
	{ "10.0.2.0/23", "10.0.3.255", 1 },
	{ "10.0.2.0/23", "10.0.4.0", 0 },
	{ "10.0.2.0/23", "10.0.1.255", 0 },
	{ "10.0.3.9/23", "10.0.2.1", 1 },		/* host bits ignored */
	{ "1.2.3.4/31", "1.2.3.5", 1 },
	{ "1.2.3.4/31", "1.2.3.6", 0 },
	{ "172.16.0.0/12", "172.31.255.255", 1 },
	{ "172.16.0.0/12", "172.32.0.0", 0 },
	{ "2001:db8::/127", "2001:db8::1", 1 },
	{ "2001:db8::/127", "2001:db8::2", 0 },
	{ "2001:db8::/31", "2001:db9:ffff::1", 1 },
	{ "2001:db8::/31", "2001:dba::1", 0 },
	{ "fe80::/10", "febf::1", 1 },
	{ "fe80::/10", "fec0::1", 0 },
};

/* A CIDR alone in cidr_allow: matching peers in, the others out. */
START_TEST(test_cidr)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;

	c = rules_conf(NULL, NULL, cidr_cases[_i].cidr, NULL);
	ck_assert_ptr_nonnull(a = access_configure(c));
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_msg(access_check(a, peer(cidr_cases[_i].peer, &ss),
	    cidr_cases[_i].peer, NULL) == cidr_cases[_i].match,
	    "%s against %s", cidr_cases[_i].peer, cidr_cases[_i].cidr);
	access_free(a);
	conf_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */

static const struct {
	const char	*allow, *deny, *cidr_allow, *cidr_deny;
	const char	*peer;		/* also the address text passed */
	const char	*host;
	int		 allowed;
} decisions[] = {
	/* no rules */
	{ NULL, NULL, NULL, NULL, "1.2.3.4", NULL, 1 },
	/* only deny: the rest is allowed (Net::Server denied everyone) */
	{ NULL, "127\\.0\\.0\\.1", NULL, NULL, "127.0.0.1", NULL, 0 },
	{ NULL, "127\\.0\\.0\\.1", NULL, NULL, "127.0.0.10", NULL, 1 },
	{ NULL, "127\\.0\\.0\\.1", NULL, NULL, "1.2.3.4", "x127.0.0.1", 1 },
	{ NULL, "127\\.0\\.0\\.1", NULL, NULL, "10.0.0.1", NULL, 1 },
	{ NULL, NULL, NULL, "10.0.0.0/8", "10.9.9.9", NULL, 0 },
	{ NULL, NULL, NULL, "10.0.0.0/8", "11.9.9.9", NULL, 1 },
	/* only allow: the rest is denied */
	{ "127\\.0\\.0\\.1", NULL, NULL, NULL, "127.0.0.1", NULL, 1 },
	{ "127\\.0\\.0\\.1", NULL, NULL, NULL, "127.0.0.10", NULL, 0 },
	{ "127\\.0\\.0\\.1", NULL, NULL, NULL, "10.0.0.1", NULL, 0 },
	{ NULL, NULL, "10.0.0.0/8", NULL, "10.0.0.1", NULL, 1 },
	{ NULL, NULL, "10.0.0.0/8", NULL, "11.0.0.1", NULL, 0 },
	/* both: deny first */
	{ "10\\..*", "10\\.0\\.0\\.1", NULL, NULL, "10.0.0.1", NULL, 0 },
	{ "10\\..*", "10\\.0\\.0\\.1", NULL, NULL, "10.0.0.2", NULL, 1 },
	{ "10\\..*", "10\\.0\\.0\\.1", NULL, NULL, "11.0.0.1", NULL, 0 },
	{ NULL, NULL, "10.0.0.0/8", "10.0.0.0/24", "10.0.0.5", NULL, 0 },
	{ NULL, NULL, "10.0.0.0/8", "10.0.0.0/24", "10.1.0.5", NULL, 1 },
	{ NULL, NULL, "10.0.0.0/8", "10.0.0.0/24", "1.1.1.1", NULL, 0 },
	{ "10\\.0\\.0\\.5", NULL, NULL, "10.0.0.0/24", "10.0.0.5", NULL, 0 },
	{ NULL, "10\\.1\\..*", "10.0.0.0/8", NULL, "10.1.0.1", NULL, 0 },
	/* anchoring is Net::Server's /^PATTERN$/: no group around it */
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "10.0.0.2",
	    NULL, 1 },
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "10.0.0.22",
	    NULL, 0 },
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "110.0.0.1",
	    NULL, 0 },
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "10.0.0.15",
	    NULL, 1 },
	{ "(?:10\\.0\\.0\\.1|10\\.0\\.0\\.2)", NULL, NULL, NULL, "10.0.0.15",
	    NULL, 0 },
	{ "127\\.0\\.0\\.1", NULL, NULL, NULL, "1.2.3.4", "127.0.0.1x", 0 },
	{ "127\\.0\\.0\\.1", NULL, NULL, NULL, "1.2.3.4", "x127.0.0.1", 0 },
	/* Perl's syntax means what it means in Perl */
	{ "127\\.0\\.0\\.\\d+", NULL, NULL, NULL, "127.0.0.1", NULL, 1 },
	{ "127\\.0\\.0\\.\\d+", NULL, NULL, NULL, "1.2.3.4", "127.0.0.d",
	    0 },
	{ "\\d{1,3}(?:\\.\\d{1,3}){3}", NULL, NULL, NULL, "10.20.30.40", NULL,
	    1 },
	{ "[\\w.-]+\\.example\\.com", NULL, NULL, NULL, "1.2.3.4",
	    "a-b.c.example.com", 1 },
	{ "\\S+\\s?", NULL, NULL, NULL, "1.2.3.4", NULL, 1 },
	{ "(?i).*\\.EXAMPLE\\.com", NULL, NULL, NULL, "1.2.3.4",
	    "www.example.COM", 1 },
	{ ".*\\.EXAMPLE\\.com", NULL, NULL, NULL, "1.2.3.4",
	    "www.example.com", 0 },
	{ "(?!10\\.0\\.)\\d+\\..*", NULL, NULL, NULL, "10.0.0.1", NULL, 0 },
	{ "(?!10\\.0\\.)\\d+\\..*", NULL, NULL, NULL, "10.1.0.1", NULL, 1 },
	{ ".*(?<!\\.evil)\\.net", NULL, NULL, NULL, "1.2.3.4", "a.good.net",
	    1 },
	{ ".*(?<!\\.evil)\\.net", NULL, NULL, NULL, "1.2.3.4", "a.evil.net",
	    0 },
	{ NULL, "192\\.168\\.\\d+\\.\\d+", "192.168.0.0/16", NULL,
	    "192.168.3.4", NULL, 0 },
	{ "^127\\.0\\.0\\.1$", NULL, NULL, NULL, "127.0.0.1", NULL, 1 },
	{ "::1", NULL, NULL, NULL, "::1", NULL, 1 },
	{ "::1", NULL, NULL, NULL, "::10", NULL, 0 },
	/* host names, when the caller has one */
	{ ".*\\.example\\.com", NULL, NULL, NULL, "1.2.3.4",
	    "www.example.com", 1 },
	{ ".*\\.example\\.com", NULL, NULL, NULL, "1.2.3.4", NULL, 0 },
	{ ".*\\.example\\.com", NULL, NULL, NULL, "1.2.3.4",
	    "www.example.com.evil.net", 0 },
	{ NULL, "bad\\.example\\.com", NULL, NULL, "1.2.3.4",
	    "bad.example.com", 0 },
	{ NULL, "bad\\.example\\.com", NULL, NULL, "1.2.3.4",
	    "notbad.example.com", 1 },
	/* UNIX peers are always allowed */
	{ "10\\..*", NULL, NULL, NULL, "unix", NULL, 1 },
	{ NULL, ".*", NULL, "0.0.0.0/0", "unix", NULL, 1 },
	/* IPv4 on a dual-stack socket is plain IPv4, text and CIDR */
	{ NULL, "127\\.0\\.0\\.1", NULL, NULL, "::ffff:127.0.0.1", NULL, 0 },
	{ "10\\..*", NULL, NULL, NULL, "::ffff:10.1.1.1", NULL, 1 },
	{ "10\\..*", NULL, NULL, NULL, "::FFFF:10.1.1.1", NULL, 1 },
	{ "::ffff:10\\..*", NULL, NULL, NULL, "::ffff:10.1.1.1", NULL, 0 },
	{ NULL, NULL, NULL, "10.0.0.0/8", "::ffff:10.2.3.4", NULL, 0 },
};

START_TEST(test_decision)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;

	c = rules_conf(decisions[_i].allow, decisions[_i].deny,
	    decisions[_i].cidr_allow, decisions[_i].cidr_deny);
	ck_assert_ptr_nonnull(a = access_configure(c));
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_int_eq(access_check(a, peer(decisions[_i].peer, &ss),
	    decisions[_i].peer, decisions[_i].host), decisions[_i].allowed);
	access_free(a);
	conf_free(c);
}
END_TEST

/* The caller may give no text (formatted here) or no sockaddr (parsed). */
START_TEST(test_partial_peer)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;

	c = rules_conf(NULL, "127\\.0\\.0\\.1", NULL, "10.0.0.0/8");
	a = access_configure(c);
	ck_assert_int_eq(access_check(a, peer("127.0.0.1", &ss), NULL, NULL),
	    0);
	ck_assert_int_eq(access_check(a, peer("::ffff:127.0.0.1", &ss), NULL,
	    NULL), 0);
	ck_assert_int_eq(access_check(a, peer("127.0.0.2", &ss), NULL, NULL),
	    1);
	ck_assert_int_eq(access_check(a, NULL, "10.1.1.1", NULL), 0);
	ck_assert_int_eq(access_check(a, NULL, "::ffff:10.1.1.1", NULL), 0);
	ck_assert_int_eq(access_check(a, NULL, "11.1.1.1", NULL), 1);
	access_free(a);
	conf_free(c);
}
END_TEST

START_TEST(test_empty_and_hostname)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;

	ck_assert_int_eq(access_empty(NULL), 1);
	ck_assert_int_eq(access_check(NULL, peer("1.2.3.4", &ss), "1.2.3.4",
	    NULL), 1);

	c = rules_conf(NULL, NULL, NULL, NULL);
	conf_set(c, "reverse_lookups", "1", CONF_FILE, "t.conf", 9);
	a = access_configure(c);
	ck_assert_int_eq(access_empty(a), 1);
	ck_assert_int_eq(access_wants_hostname(a), 0);
	access_free(a);
	conf_free(c);

	c = rules_conf(NULL, NULL, "10.0.0.0/8", NULL);
	conf_set(c, "reverse_lookups", "1", CONF_FILE, "t.conf", 9);
	a = access_configure(c);
	ck_assert_int_eq(access_empty(a), 0);
	ck_assert_int_eq(access_wants_hostname(a), 0);	/* CIDR only */
	access_free(a);
	conf_free(c);

	c = rules_conf(NULL, "x", NULL, NULL);
	a = access_configure(c);
	ck_assert_int_eq(access_empty(a), 0);
	ck_assert_int_eq(access_wants_hostname(a), 0);	/* not asked */
	access_free(a);
	conf_set(c, "reverse_lookups", "1", CONF_FILE, "t.conf", 9);
	a = access_configure(c);
	ck_assert_int_eq(access_wants_hostname(a), 1);
	access_free(a);
	conf_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Is msg among the errors (they come grouped by key, not by line)? */
static int
has_error(const struct conf *c, const char *msg)
{
	size_t	i;

	for (i = 0; i < c->nerrors; i++)
		if (strcmp(c->errors[i], msg) == 0)
			return 1;
	return 0;
}

/* Every broken rule reported as FILE:LINE: key: "value": problem. */
START_TEST(test_errors)
{
	struct sockaddr_storage	 ss;
	struct conf		*c = conf_new();
	struct access		*a;
	size_t			 i;
	static const char *const in[][2] = {
		{ "allow", "(" },
		{ "deny", "*a" },
		{ "allow", "a)" },
		{ "cidr_allow", "10.0.0.0/33" },
		{ "cidr_deny", "10.0.0/8" },
		{ "cidr_allow", "::/129" },
		{ "cidr_allow", "10.0.0.0/" },
		{ "cidr_allow", "10.0.0.0/x" },
		{ "cidr_deny", "10.0.0.0/-1" },
		{ "cidr_deny", "1.2.3.4/0033" },
		{ "cidr_deny", "example.com/8" },
		{ "allow", "10\\.0\\.0\\.1" },		/* a good one */
		{ "cidr_allow", "10.0.0.0/008" },	/* a good one */
	};
	const char *const out[] = {
		"t.conf:1: allow: \"(\": at offset 1: missing closing "
		    "parenthesis",
		"t.conf:2: deny: \"*a\": at offset 0: quantifier does not "
		    "follow a repeatable item",
		"t.conf:3: allow: \"a)\": at offset 1: unmatched closing "
		    "parenthesis",
		"t.conf:4: cidr_allow: \"10.0.0.0/33\": prefix length out of "
		    "range",
		"t.conf:5: cidr_deny: \"10.0.0/8\": not an IP address",
		"t.conf:6: cidr_allow: \"::/129\": prefix length out of range",
		"t.conf:7: cidr_allow: \"10.0.0.0/\": bad prefix length",
		"t.conf:8: cidr_allow: \"10.0.0.0/x\": bad prefix length",
		"t.conf:9: cidr_deny: \"10.0.0.0/-1\": bad prefix length",
		"t.conf:10: cidr_deny: \"1.2.3.4/0033\": prefix length out of "
		    "range",
		"t.conf:11: cidr_deny: \"example.com/8\": not an IP address",
	};

	for (i = 0; i < nitems(in); i++)
		ck_assert_int_eq(conf_set(c, in[i][0], in[i][1], CONF_FILE,
		    "t.conf", (int)i + 1), 0);
	ck_assert_ptr_nonnull(a = access_configure(c));
	ck_assert_uint_eq(c->nerrors, nitems(out));
	for (i = 0; i < nitems(out); i++)
		ck_assert_msg(has_error(c, out[i]), "%s", out[i]);
	/* the good rules were kept, the broken ones left out */
	ck_assert_int_eq(access_check(a, peer("10.0.0.1", &ss), "10.0.0.1",
	    NULL), 1);
	ck_assert_int_eq(access_check(a, peer("10.9.0.1", &ss), "10.9.0.1",
	    NULL), 1);
	ck_assert_int_eq(access_check(a, peer("11.0.0.1", &ss), "11.0.0.1",
	    NULL), 0);
	access_free(a);
	conf_free(c);
}
END_TEST

/* Escaped and bracketed parentheses are literal ones. */
START_TEST(test_escaped_paren)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;

	c = rules_conf(NULL, "(?:a\\)|[)]b|[[:digit:])]+)", NULL, NULL);
	ck_assert_ptr_nonnull(a = access_configure(c));
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "a)", NULL), 0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), ")b", NULL), 0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "1)2", NULL),
	    0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "xa)", NULL),
	    1);
	access_free(a);
	conf_free(c);
}
END_TEST

/*
 * A pattern that backtracks exponentially ("(a+)+" against a long run of
 * a's that ends otherwise) stops at PCRE2's match limit: the peer is kept out whether the
 * rule allows or denies, and the child goes on.
 */
START_TEST(test_match_limit)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;
	char			 host[64];

	memset(host, 'a', sizeof(host) - 2);
	host[sizeof(host) - 2] = '!';
	host[sizeof(host) - 1] = '\0';
	c = rules_conf("(a+)+", NULL, NULL, NULL);
	conf_set(c, "reverse_lookups", "1", CONF_FILE, "t.conf", 9);
	ck_assert_ptr_nonnull(a = access_configure(c));
	ck_assert_uint_eq(c->nerrors, 0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "1.2.3.4",
	    host), 0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "1.2.3.4",
	    "aaa"), 1);
	access_free(a);
	conf_free(c);

	c = rules_conf(NULL, "(a+)+", NULL, NULL);
	ck_assert_ptr_nonnull(a = access_configure(c));
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "1.2.3.4",
	    host), 0);
	ck_assert_int_eq(access_check(a, peer("1.2.3.4", &ss), "1.2.3.4",
	    "x"), 1);
	access_free(a);
	conf_free(c);
}
END_TEST

/* A '|' outside a group is anchored as Net::Server anchors it: warned. */
START_TEST(test_bar_warning)
{
	struct conf	*c;
	struct access	*a;
	size_t		 i;
	static const struct {
		const char	*re;
		int		 warned;
	} cases[] = {
		{ "a|b", 1 },
		{ "(?:a|b)", 0 },
		{ "[|]", 0 },
		{ "a\\|b", 0 },
		{ "\\Qa|b\\E", 0 },
		{ "(a)|(b)", 1 },
		{ "[]|]x", 0 },
	};

	for (i = 0; i < nitems(cases); i++) {
		c = rules_conf(cases[i].re, NULL, NULL, NULL);
		ck_assert_ptr_nonnull(a = access_configure(c));
		ck_assert_msg(c->nerrors == 0, "%s", cases[i].re);
		ck_assert_msg(c->nwarnings == (size_t)cases[i].warned, "%s",
		    cases[i].re);
		if (cases[i].warned)
			ck_assert_ptr_nonnull(strstr(c->warnings[0],
			    ": '|' outside a group: as in Net::Server"));
		access_free(a);
		conf_free(c);
	}
}
END_TEST

/*
 * The decisions above with a rule Net::Server reads the same way, taken
 * by Net::Server's own allow_deny (libnet-server-perl): the two must
 * agree.  Left out: UNIX peers (no address), upper-case "::FFFF:" (Perl
 * sockets never write it), and deny rules without allow rules (pfsd lets
 * the rest in where Net::Server keeps everyone out: documented).
 */
/* A field of a row for the Perl below: the text, or "" for none. */
static const char *
field(const char *s)
{
	return s != NULL ? s : "";
}

START_TEST(test_same_as_net_server)
{
	/* one perl for every row: a tab-separated line each, "" for none */
	static const char perl[] = "perl -MNet::Server -ne '"
	    "chomp; my @f = split /\\t/, $_, -1; "
	    "sub l { length $_[0] ? [$_[0]] : [] } "
	    "my $s = bless { server => { allow => l($f[0]), deny => l($f[1]), "
	    "cidr_allow => l($f[2]), cidr_deny => l($f[3]), "
	    "peeraddr => $f[4], peerhost => length $f[5] ? $f[5] : undef, "
	    "reverse_lookups => 1 } }, \"Net::Server\"; "
	    "print $s->allow_deny(undef) ? 1 : 0, \"\\n\"' ";
	char	 cmd[1024], *rows;
	size_t	 i, len = 0, compared = 0;
	FILE	*fp;
	int	 got;
	size_t	 which[nitems(decisions)];

	rows = calloc(nitems(decisions), 512);
	ck_assert_ptr_nonnull(rows);
	for (i = 0; i < nitems(decisions); i++) {
		if (strcmp(decisions[i].peer, "unix") == 0 ||
		    strstr(decisions[i].peer, "FFFF") != NULL ||
		    (decisions[i].allow == NULL &&
		    decisions[i].cidr_allow == NULL))
			continue;
		len += (size_t)snprintf(rows + len, nitems(decisions) * 512 -
		    len, "%s\t%s\t%s\t%s\t%s\t%s\n", field(decisions[i].allow),
		    field(decisions[i].deny), field(decisions[i].cidr_allow),
		    field(decisions[i].cidr_deny), decisions[i].peer,
		    field(decisions[i].host));
		which[compared++] = i;
	}
	snprintf(cmd, sizeof(cmd), "%s'%s'", perl, h_write("rows.tsv", "%s",
	    rows));
	free(rows);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	for (i = 0; i < compared; i++) {
		got = fgetc(fp);
		ck_assert_msg(got == '0' || got == '1', "row %zu: perl said "
		    "%c", which[i], got);
		ck_assert_int_eq(fgetc(fp), '\n');
		ck_assert_msg(got - '0' == decisions[which[i]].allowed,
		    "Net::Server and pfsd differ on row %zu: %s", which[i],
		    decisions[which[i]].peer);
	}
	ck_assert_int_eq(fgetc(fp), EOF);
	ck_assert_int_eq(pclose(fp), 0);
	ck_assert_uint_gt(compared, 25);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The rules in the running daemon */

/* Talk to 127.0.0.1:port from the address src (any 127/8 address is
 * this host's): send a line, read until the end (a reset, when pfsd
 * closes on the unread line, ends it too); the bytes that came back. */
static ssize_t
talk_from(const char *src, int port, char *buf, size_t len)
{
	struct sockaddr_in	sin;
	size_t			off = 0;
	ssize_t			n;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(write(fd, "hello\n", 6), 6);
	shutdown(fd, SHUT_WR);
	while (off + 1 < len && (n = read(fd, buf + off, len - off - 1)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	close(fd);
	return (ssize_t)off;
}

static int
count_lines(const char *text, const char *prefix)
{
	const char	*l;
	int		 n = 0;

	for (l = text; l != NULL && *l != '\0'; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		n += strncmp(l, prefix, strlen(prefix)) == 0;
	}
	return n;
}

static const struct {
	const char	*src;
	int		 served;
	const char	*why;
} clients[] = {
	{ "127.0.0.1", 1, "matches allow" },
	{ "127.0.0.2", 0, "matches allow and deny: deny wins" },
	{ "127.0.0.3", 0, "matches no allow rule" },
	{ "127.0.0.12", 0, "allow regexes are anchored at both ends" },
	{ "127.0.17.1", 1, "inside cidr_allow 127.0.16.0/20" },
	{ "127.0.32.1", 0, "outside cidr_allow 127.0.16.0/20" },
	{ "127.0.20.5", 0, "inside cidr_deny 127.0.20.0/24" },
};

/*
 * allow, deny, cidr_allow and cidr_deny in the running daemon: an allowed
 * client is served; a denied one gets not one byte (though the handler's
 * request_denied_hook writes to stdout), and that hook runs once per
 * denied client, process_request never.
 */
START_TEST(test_rules_in_daemon)
{
	struct hproc	 p;
	char		 buf[64], *conf, *hooks;
	const char	*av[] = { "-c", NULL, NULL };
	ssize_t		 n;
	size_t		 i;
	int		 port = h_free_port(), served = 0;

	conf = h_write("pfsd.conf", "handler %s\nport 127.0.0.1:%d\n"
	    "max_servers 2\nhook_log %s\ndenied_reply 1\n"
	    "allow 127\\.0\\.0\\.[12]\ndeny 127\\.0\\.0\\.2\n"
	    "cidr_allow 127.0.16.0/20\ncidr_deny 127.0.20.0/24\n",
	    TPLUGIN("hooks"), port, h_path("hooks.log"));
	av[1] = conf;
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "%s", h_read_file(p.log));
	for (i = 0; i < nitems(clients); i++) {
		n = talk_from(clients[i].src, port, buf, sizeof(buf));
		if (clients[i].served)
			ck_assert_msg(n == 6 && strcmp(buf, "hello\n") == 0,
			    "%s (%s) not served: %zd bytes", clients[i].src,
			    clients[i].why, n);
		else
			ck_assert_msg(n == 0, "%s (%s) got %zd bytes: %s",
			    clients[i].src, clients[i].why, n, buf);
		served += clients[i].served;
	}
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	hooks = h_read_file(h_path("hooks.log"));
	ck_assert_int_eq(count_lines(hooks, "request_denied_hook "),
	    (int)nitems(clients) - served);
	ck_assert_int_eq(count_lines(hooks, "process_request "), served);
	free(hooks);
}
END_TEST

Suite *
access_suite(void)
{
	Suite	*s = suite_create("access");
	TCase	*tc;

	tc = tcase_create("cidr");
	tcase_add_loop_test(tc, test_cidr, 0, (int)nitems(cidr_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("decision");
	tcase_add_loop_test(tc, test_decision, 0, (int)nitems(decisions));
	tcase_add_test(tc, test_partial_peer);
	tcase_add_test(tc, test_empty_and_hostname);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_escaped_paren);
	tcase_add_test(tc, test_match_limit);
	tcase_add_test(tc, test_bar_warning);
	suite_add_tcase(s, tc);

	tc = tcase_create("net_server");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_same_as_net_server);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_rules_in_daemon);
	suite_add_tcase(s, tc);
	return s;
}
