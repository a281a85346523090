/*
 * proxy.c - the PROXY protocol header a load balancer (HAProxy, nginx's
 * stream module, a cloud balancer) puts before the client's bytes, so
 * that pfsd sees the real client instead of the balancer.
 *
 * Version 1 is one text line, "PROXY TCP4 SRC DST SPORT DPORT\r\n", at
 * most 107 bytes; version 2 is a 16-byte binary head (12-byte signature,
 * version/command, family/protocol, length) followed by the addresses and
 * optional TLVs, which are skipped.  proxy_parse() judges bytes already
 * read and is pure (fuzzed on its own); proxy_read() takes the header off
 * a connection without reading one byte past it, so the handler's stdin
 * starts exactly where the client's data does.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#define PROXY_V1_MAX	107	/* the whole line, CRLF included */
#define PROXY_V2_HEAD	16

static const unsigned char proxy_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char proxy_v1_prefix[] = "PROXY ";

/* Could buf[0..len) still become a header of a version in mode? */
static int
proxy_prefix_of(const unsigned char *buf, size_t len, const void *sig,
    size_t siglen)
{
	return memcmp(buf, sig, len < siglen ? len : siglen) == 0;
}

/* One decimal port, 0-65535, no sign, no leading zero but "0" itself. */
static int
proxy_v1_port(const char *s, size_t len, unsigned short *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* Split "a b c d" into exactly n words separated by single spaces. */
static int
proxy_v1_words(const char *s, size_t len, const char **w, size_t *wl,
    size_t n)
{
	size_t	i, k = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (k == n || i == start)
			return -1;
		w[k] = s + start;
		wl[k++] = i - start;
		start = i + 1;
	}
	return k == n ? 0 : -1;
}

/* An address of FAMILY (4 or 16 bytes) and a port, both in network
 * byte order, as a socket address. */
static void
proxy_sockaddr(struct sockaddr_storage *ss, socklen_t *sslen, int family,
    const void *addr, const void *port)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		memcpy(&s4->sin_addr, addr, 4);
		memcpy(&s4->sin_port, port, 2);
		*sslen = sizeof(*s4);
	} else {
		memcpy(&s6->sin6_addr, addr, 16);
		memcpy(&s6->sin6_port, port, 2);
		*sslen = sizeof(*s6);
	}
}

static int
proxy_v1_addr(int family, const char *s, size_t len, unsigned short port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	char		text[INET6_ADDRSTRLEN];
	unsigned char	addr[16];
	uint16_t	nport = htons(port);

	if (len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(family, text, addr) != 1)
		return -1;
	proxy_sockaddr(ss, sslen, family, addr, &nport);
	return 0;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT" or "PROXY UNKNOWN ...". */
static int
proxy_v1_line(const char *s, size_t len, struct proxy_hdr *h,
    const char **why)
{
	const char	*w[5];
	size_t		 wl[5];
	unsigned short	 sport, dport;
	int		 family;

	s += sizeof(proxy_v1_prefix) - 1;
	len -= sizeof(proxy_v1_prefix) - 1;
	h->version = 1;
	if (len >= 7 && memcmp(s, "UNKNOWN", 7) == 0 &&
	    (len == 7 || s[7] == ' ')) {
		h->local = 1;	/* the balancer's own connection */
		return 0;
	}
	if (len < 5 || (memcmp(s, "TCP4 ", 5) != 0 &&
	    memcmp(s, "TCP6 ", 5) != 0)) {
		*why = "v1: unknown protocol (TCP4, TCP6 or UNKNOWN)";
		return -1;
	}
	family = s[3] == '4' ? AF_INET : AF_INET6;
	if (proxy_v1_words(s + 5, len - 5, w, wl, 4) == -1) {
		*why = "v1: not SRC DST SPORT DPORT";
		return -1;
	}
	if (proxy_v1_port(w[2], wl[2], &sport) == -1 ||
	    proxy_v1_port(w[3], wl[3], &dport) == -1) {
		*why = "v1: bad port";
		return -1;
	}
	if (proxy_v1_addr(family, w[0], wl[0], sport, &h->src,
	    &h->srclen) == -1 || proxy_v1_addr(family, w[1], wl[1], dport,
	    &h->dst, &h->dstlen) == -1) {
		*why = family == AF_INET ? "v1: bad IPv4 address" :
		    "v1: bad IPv6 address";
		return -1;
	}
	return 0;
}

static int
proxy_v1(const unsigned char *buf, size_t len, struct proxy_hdr *h,
    const char **why)
{
	const unsigned char	*cr, *lf;
	size_t			 look = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	size_t			 i;

	cr = memchr(buf, '\r', look);
	lf = memchr(buf, '\n', look);
	if (lf != NULL && (cr == NULL || lf < cr)) {
		*why = "v1: LF without CR";
		return -1;
	}
	if (cr == NULL || (size_t)(cr - buf) + 1 >= look) {
		if (look == PROXY_V1_MAX) {
			*why = "v1: no CRLF within 107 bytes";
			return -1;
		}
		return 0;
	}
	if (cr[1] != '\n') {
		*why = "v1: CR not followed by LF";
		return -1;
	}
	for (i = 0; buf + i < cr; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e) {
			*why = "v1: control or non-ASCII byte";
			return -1;
		}
	if (proxy_v1_line((const char *)buf, (size_t)(cr - buf), h,
	    why) == -1)
		return -1;
	return (int)(cr - buf) + 2;
}

static int
proxy_v2(const unsigned char *buf, size_t len, struct proxy_hdr *h,
    const char **why)
{
	const unsigned char	*a = buf + PROXY_V2_HEAD;
	size_t			 body, total;
	int			 cmd, fam;

	if (len < PROXY_V2_HEAD)
		return 0;
	if ((buf[12] >> 4) != 2) {
		*why = "v2: unknown version";
		return -1;
	}
	cmd = buf[12] & 0x0f;
	fam = buf[13] >> 4;
	if (cmd > 1 || fam > 3 || (buf[13] & 0x0f) > 2) {
		*why = "v2: unknown command, family or protocol";
		return -1;
	}
	body = (size_t)buf[14] << 8 | buf[15];
	total = PROXY_V2_HEAD + body;
	if (total > PROXY_HDR_MAX) {
		*why = "v2: header longer than pfsd reads";
		return -1;
	}
	if (len < total)
		return 0;
	h->version = 2;
	if (cmd == 0 || fam == 0 || fam == 3) {
		h->local = 1;	/* LOCAL, or addresses pfsd does not use */
		return (int)total;
	}
	if ((fam == 1 && body < 12) || (fam == 2 && body < 36)) {
		*why = "v2: addresses longer than the header";
		return -1;
	}
	if (fam == 1) {
		proxy_sockaddr(&h->src, &h->srclen, AF_INET, a, a + 8);
		proxy_sockaddr(&h->dst, &h->dstlen, AF_INET, a + 4, a + 10);
	} else {
		proxy_sockaddr(&h->src, &h->srclen, AF_INET6, a, a + 32);
		proxy_sockaddr(&h->dst, &h->dstlen, AF_INET6, a + 16, a + 34);
	}
	return (int)total;		/* TLVs after the addresses: skipped */
}

/*
 * Judge the first len bytes of a connection: the header's length when
 * they hold a whole header (h filled), 0 when they are a header's start
 * (every one of them belongs to the header), -1 with why when they are
 * no header of a version mode allows (PROXY_V1, PROXY_V2 or both).
 */
int
proxy_parse(const unsigned char *buf, size_t len, int mode,
    struct proxy_hdr *h, const char **why)
{
	size_t	v1len = sizeof(proxy_v1_prefix) - 1;

	memset(h, 0, sizeof(*h));
	*why = NULL;
	if (len == 0)
		return 0;
	if ((mode & PROXY_V2) && proxy_prefix_of(buf, len, proxy_sig,
	    sizeof(proxy_sig))) {
		if (len < sizeof(proxy_sig))
			return 0;
		return proxy_v2(buf, len, h, why);
	}
	if ((mode & PROXY_V1) && proxy_prefix_of(buf, len, proxy_v1_prefix,
	    v1len)) {
		if (len < v1len)
			return 0;
		return proxy_v1(buf, len, h, why);
	}
	*why = mode == PROXY_V1 ? "no PROXY v1 header" :
	    mode == PROXY_V2 ? "no PROXY v2 header" : "no PROXY header";
	return -1;
}

/* Wait until fd is readable or the deadline passes; 0, or -1 timed out. */
static int
proxy_wait(int fd, long long deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	long long	left;
	int		n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -1;
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -1;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * Take the header off fd within timeout_ms.  Bytes are peeked, and only
 * those the parser says belong to the header are consumed, so nothing
 * of the client's own data is lost.  0, or -1 with err.
 */
int
proxy_read(int fd, int mode, int timeout_ms, struct proxy_hdr *h,
    char *err, size_t errlen)
{
	unsigned char	 buf[PROXY_HDR_MAX];
	const char	*why;
	long long	 deadline = now_ms() + timeout_ms;
	size_t		 have = 0;
	ssize_t		 n;
	int		 r;

	for (;;) {
		n = recv(fd, buf + have, sizeof(buf) - have,
		    MSG_PEEK | MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (proxy_wait(fd, deadline) == -1) {
				snprintf(err, errlen, "no PROXY header within "
				    "%d ms", timeout_ms);
				return -1;
			}
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "%s before the PROXY header "
			    "ended", n == 0 ? "end of connection" :
			    strerror(errno));
			return -1;
		}
		r = proxy_parse(buf, have + (size_t)n, mode, h, &why);
		if (r < 0) {
			snprintf(err, errlen, "bad PROXY header: %s", why);
			return -1;
		}
		/* consume what belongs to the header: all of it, or up to r */
		n = r > 0 ? (ssize_t)((size_t)r - have) : n;
		if (recv(fd, buf + have, (size_t)n, MSG_WAITALL) != n) {
			snprintf(err, errlen, "reading the PROXY header: %s",
			    strerror(errno));
			return -1;
		}
		have += (size_t)n;
		if (r > 0)
			return 0;
		if (have == sizeof(buf)) {
			snprintf(err, errlen, "bad PROXY header: longer than "
			    "%zu bytes", sizeof(buf));
			return -1;
		}
	}
}
