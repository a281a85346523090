/*
 * fuzz_access.c - libFuzzer target: allow/deny/cidr_allow/cidr_deny.
 *
 * Each input line is one rule: its first byte picks the key ('a' allow,
 * 'd' deny, 'A' cidr_allow, 'D' cidr_deny; any other byte its two low
 * bits), the rest is the value given to conf_set() as a file line would.
 * access_configure() compiles the rules (broken ones become conf errors),
 * then access_check() judges a few fixed peers.  Properties that abort():
 * a UNIX peer is always allowed; an empty rule set allows everyone; an
 * IPv4 peer is judged the same whether it arrives as a sockaddr_in, as
 * ::ffff:a.b.c.d on a dual-stack socket, or only as text.
 *
 * The regexes are PCRE2's, compiled under a length and nesting limit and
 * matched under match, depth and heap limits, so no rule can make the
 * target (or a child) spin: every line is tried as it comes.
 */
#include "internal.h"

#include <sys/un.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const enum opt_id keys[] = {
	OPT_ALLOW, OPT_DENY, OPT_CIDR_ALLOW, OPT_CIDR_DENY
};

/* IPv4 peers, each judged three ways; IPv6 peers, two ways. */
static const char *const peers4[] = {
	"10.1.2.3", "127.0.0.1", "192.168.1.200", "0.0.0.0",
	"255.255.255.255"
};
static const char *const peers6[] = {
	"2001:db8::1", "::1", "fe80::1", "::", "ffff::ffff"
};
static const char *const hosts[] = { NULL, "host.example.com" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_access", PFSD_LOG_ERR);
	return 0;
}

static enum opt_id
line_key(unsigned char c)
{
	switch (c) {
	case 'a':
		return OPT_ALLOW;
	case 'd':
		return OPT_DENY;
	case 'A':
		return OPT_CIDR_ALLOW;
	case 'D':
		return OPT_CIDR_DENY;
	default:
		return keys[c & 3];
	}
}

static void
add_rules(struct conf *c, const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *nl, *end = data + size;
	char		*value;
	size_t		 len;
	int		 line = 0;

	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len == 0)
			continue;
		if ((value = strndup((const char *)p + 1, len - 1)) == NULL)
			abort();
		conf_set(c, conf_options[line_key(*p)].name,
		    *value != '\0' ? value : NULL, CONF_FILE, "fuzz.conf",
		    line);
		free(value);
	}
}

static int
check4(const struct access *a, const char *text, const char *host)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	char			mapped[64];
	int			r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, text, &sin.sin_addr) != 1)
		abort();
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr.s6_addr[10] = sin6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&sin6.sin6_addr.s6_addr[12], &sin.sin_addr, 4);
	snprintf(mapped, sizeof(mapped), "::ffff:%s", text);
	r = access_check(a, (struct sockaddr *)&sin, text, host);
	if (access_check(a, (struct sockaddr *)&sin6, text, host) != r ||
	    access_check(a, (struct sockaddr *)&sin6, mapped, host) != r ||
	    access_check(a, NULL, text, host) != r ||
	    access_check(a, NULL, mapped, host) != r ||
	    access_check(a, (struct sockaddr *)&sin, NULL, host) != r)
		abort();
	return r;
}

static int
check6(const struct access *a, const char *text, const char *host)
{
	struct sockaddr_in6	sin6;
	int			r;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, text, &sin6.sin6_addr) != 1)
		abort();
	r = access_check(a, (struct sockaddr *)&sin6, text, host);
	if (access_check(a, NULL, text, host) != r)
		abort();
	return r;
}

static void
check_peers(const struct access *a)
{
	struct sockaddr_un	sun;
	size_t			i, h;
	int			r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (access_check(a, (struct sockaddr *)&sun, "unix", NULL) != 1)
		abort();
	for (h = 0; h < nitems(hosts); h++) {
		for (i = 0; i < nitems(peers4); i++) {
			r = check4(a, peers4[i], hosts[h]);
			if (access_empty(a) && r != 1)
				abort();
		}
		for (i = 0; i < nitems(peers6); i++) {
			r = check6(a, peers6[i], hosts[h]);
			if (access_empty(a) && r != 1)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	struct access	*a;

	c = conf_new();
	add_rules(c, data, size);
	if ((a = access_configure(c)) == NULL)
		abort();
	check_peers(a);
	(void)access_wants_hostname(a);
	access_free(a);
	conf_free(c);
	return 0;
}
