/*
 * util.c - small helpers several modules need the same way: the monotonic
 * clock, socket addresses as text, IPv4-mapped IPv6 addresses, digits,
 * the stack's unused pages.
 */
#include "internal.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Below stack_zap()'s frame: its call of madvise(), never given back. */
#define STACK_TRIM_MARGIN	256
#define STACK_TRIM_STEP		(64 * 1024)	/* mincore's first stride */
#define STACK_TRIM_MAX		(256 * 1024 * 1024)	/* never deeper */

long long
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long
now_ms(void)
{
	return now_us() / 1000;
}

/*
 * An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d, and
 * pfsd shows and matches it as a.b.c.d.  If the 16 bytes at addr are such
 * an address, move the IPv4 address to the front, clear the rest and
 * return 1; else leave them alone and return 0.
 */
int
addr_unmap(unsigned char *addr)
{
	static const unsigned char	mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	if (memcmp(addr, mapped, sizeof(mapped)) != 0)
		return 0;
	memmove(addr, addr + 12, 4);
	memset(addr + 4, 0, 12);
	return 1;
}

/*
 * Format a socket address as text (IPv4-mapped IPv6 as plain IPv4, UNIX
 * as its path or "unix") and give its port through *port.
 */
void
addr_format(const struct sockaddr *sa, char *buf, size_t len, int *port)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	const struct sockaddr_un	*sun = (const void *)sa;
	unsigned char			 a[16];

	*port = 0;
	buf[0] = '\0';
	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		*port = ntohs(sin->sin_port);
		break;
	case AF_INET6:
		memcpy(a, &sin6->sin6_addr, sizeof(a));
		inet_ntop(addr_unmap(a) ? AF_INET : AF_INET6, a, buf, len);
		*port = ntohs(sin6->sin6_port);
		break;
	case AF_UNIX:
		snprintf(buf, len, "%s", sun->sun_path[0] != '\0' ?
		    sun->sun_path : "unix");
		break;
	default:
		snprintf(buf, len, "unknown");
	}
}

/* Are the len bytes at s all decimal digits (and at least one)? */
int
all_digits(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return len > 0;
}

/*
 * The pages from low up to this frame, less the margin: a function of
 * its own, with no locals to place, so that its frame is the lowest
 * live one in any build (sanitizers give stack_trim's a size of theirs).
 */
__attribute__((noinline)) static void
stack_zap(uintptr_t low, uintptr_t pg)
{
	uintptr_t	top;

	top = ((uintptr_t)__builtin_frame_address(0) - STACK_TRIM_MARGIN) &
	    ~(pg - 1);
	if (top > low)
		(void)madvise((void *)low, top - low, MADV_DONTNEED);
}

/*
 * Give back the pages of the main thread's stack below this frame: a
 * request that went deep (an OpenSSL handshake writes some 12 KiB of
 * stack) leaves them private to the process, and they hold nothing once
 * it has returned.  Touched again, they come back zeroed.  How deep the
 * stack's mapping goes, mincore() tells (ENOMEM where nothing is
 * mapped): no /proc needed (a chroot has none), and nothing below the
 * mapping is ever touched -- the kernel keeps other mappings a guard gap
 * away from a stack.  Not for threads: a thread's guard page is a
 * mapping, and another's stack may lie below it.  Nothing may call this
 * with a live frame below its own; it is for a process about to idle.
 */
__attribute__((noinline)) void
stack_trim(void)
{
	unsigned char	vec[STACK_TRIM_STEP / 4096];
	uintptr_t	pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t	low, step;
	size_t		seen = 0;

	low = (uintptr_t)__builtin_frame_address(0) & ~(pg - 1);
	for (step = STACK_TRIM_STEP; step >= pg; step /= 2)
		while (low > step && seen + step <= STACK_TRIM_MAX &&
		    mincore((void *)(low - step), step, vec) == 0) {
			low -= step;
			seen += step;
		}
	stack_zap(low, pg);
}
