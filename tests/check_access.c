/*
 * check_access.c - access.c: CIDR matching, the allow/deny decision
 * (regexes anchored, IPv4-mapped peers as IPv4, UNIX always in),
 * and the messages for broken rules.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

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
	/* anchoring: alternation stays inside the anchors */
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "10.0.0.2",
	    NULL, 1 },
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "10.0.0.22",
	    NULL, 0 },
	{ "10\\.0\\.0\\.1|10\\.0\\.0\\.2", NULL, NULL, NULL, "110.0.0.1",
	    NULL, 0 },
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

static char *
regex_error(const char *re)
{
	static char	buf[256];
	regex_t		r;
	int		rc;

	rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
	ck_assert_int_ne(rc, 0);
	regerror(rc, &r, buf, sizeof(buf));
	return buf;
}

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
	char			 want[512];
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
		NULL, NULL,
		"t.conf:3: allow: \"a)\": unmatched \")\" (write \"\\)\" for a "
		    "literal one)",
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
	snprintf(want, sizeof(want), "t.conf:1: allow: \"(\": %s",
	    regex_error("("));
	ck_assert_msg(has_error(c, want), "%s", want);
	snprintf(want, sizeof(want), "t.conf:2: deny: \"*a\": %s",
	    regex_error("*a"));
	ck_assert_msg(has_error(c, want), "%s", want);
	for (i = 2; i < nitems(out); i++)
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

/* "a)" would be read by glibc as a literal ')': "\)" is the way to say it. */
START_TEST(test_escaped_paren)
{
	struct sockaddr_storage	 ss;
	struct conf		*c;
	struct access		*a;

	c = rules_conf(NULL, "a\\)|[)]b|[[:digit:])]+", NULL, NULL);
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
 * Regexes glibc's regcomp would expand into gigabytes (fuzz_access found
 * "1.*++++...": 14 GB for 14 '+') are refused before regcomp sees them;
 * the cases either side of the limit are cheap to compile either way.
 */
static const struct {
	const char	*re;
	int		 refused;
} complexity[] = {
	{ "a{1,1025}", 0 },
	{ "a{1,1026}", 1 },
	{ "a{,1026}", 1 },
	{ "a{1024,}", 0 },
	{ "a{1026,}", 1 },
	{ "x{99999999999999999999999}", 1 },
	{ "1.*++++++++", 0 },
	{ "1.*+++++++++", 1 },
	{ "((a{1,100}){1,10})", 0 },
	{ "((a{1,100}){1,11})", 1 },
	{ "a{2}{3}{4}{5}", 0 },
	{ "a{2}{3}{4}{5}{6}", 1 },
	{ "((a{1,2000}", 1 },		/* unclosed: refused as too big */
	{ "[{]{1,2000}", 1 },
	{ "\\.{1,2000}", 1 },
	{ "a\\{1,2000}", 0 },		/* an escaped brace repeats nothing */
	{ "[a-z0-9-]{1,63}(\\.[a-z0-9-]{1,63}){0,10}", 0 },
	{ "([0-9]{1,3}\\.){3}[0-9]{1,3}", 0 },
	{ "((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))",
	    0 },
	{ "(((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))",
	    1 },
};

START_TEST(test_too_complex)
{
	struct conf	*c;
	struct access	*a;
	char		 want[512];

	c = rules_conf(complexity[_i].re, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(a = access_configure(c));
	if (!complexity[_i].refused) {
		ck_assert_msg(c->nerrors == 0, "%s: %s", complexity[_i].re,
		    c->nerrors > 0 ? c->errors[0] : "");
		ck_assert(!access_empty(a));
	} else {
		snprintf(want, sizeof(want), "t.conf:1: allow: \"%s\": too "
		    "complex (nested or large repetitions would make regcomp "
		    "use too much memory)", complexity[_i].re);
		ck_assert_uint_eq(c->nerrors, 1);
		ck_assert_str_eq(c->errors[0], want);
		ck_assert(access_empty(a));
	}
	access_free(a);
	conf_free(c);
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
	tcase_add_loop_test(tc, test_too_complex, 0, (int)nitems(complexity));
	suite_add_tcase(s, tc);
	return s;
}
