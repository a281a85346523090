/*
 * fuzz_proxy.c - libFuzzer target: the PROXY protocol header parser
 * (proxy_parse), which reads bytes straight from the network.
 *
 * The first input byte picks the versions allowed (v1, v2, both); the
 * rest is what a balancer (or an attacker) sent.  Properties that abort():
 * a header's length never exceeds the bytes given nor PROXY_HDR_MAX; a
 * v1 header ends in CRLF within 107 bytes; "more needed" (0) is never
 * said of a buffer a header would not fit; every prefix of a complete
 * header is "more needed", not an error; a refusal has a reason; a
 * header's addresses are IPv4 or IPv6 unless it names no client.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_addr(const struct sockaddr_storage *ss, socklen_t len)
{
	if (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in))
		return;
	if (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6))
		return;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h;
	const char		*why;
	int			 mode, r;
	size_t			 i;

	if (size < 1)
		return 0;
	mode = data[0] % 3 + 1;		/* PROXY_V1, PROXY_V2 or both */
	data++;
	size--;
	r = proxy_parse(data, size, mode, &h, &why);
	if (r < 0) {
		if (why == NULL || *why == '\0')
			abort();
		return 0;
	}
	if (r == 0) {
		if (size >= PROXY_HDR_MAX)
			abort();
		return 0;
	}
	if ((size_t)r > size || r > PROXY_HDR_MAX)
		abort();
	if (h.version == 1 && (r > 107 || data[r - 2] != '\r' ||
	    data[r - 1] != '\n' || !(mode & PROXY_V1)))
		abort();
	if (h.version == 2 && (r < 16 || !(mode & PROXY_V2)))
		abort();
	if (h.version != 1 && h.version != 2)
		abort();
	if (!h.local) {
		check_addr(&h.src, h.srclen);
		check_addr(&h.dst, h.dstlen);
	}
	for (i = 0; i < (size_t)r; i++)
		if (proxy_parse(data, i, mode, &h, &why) != 0)
			abort();
	return 0;
}
