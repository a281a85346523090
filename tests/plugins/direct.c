/*
 * direct.c - pfsd_read, pfsd_write and pfsd_shutdown after the stdio a
 * request began with, for check_tls.c.
 *
 * The client sends "DIR\n", read here from stdin (on a TLS port: through
 * the relay) and answered "ok\n" on stdout; the child then waits until
 * the client's next bytes have reached stdin too, so that pfsd_read must
 * return them before anything else.  From then on everything is echoed
 * with pfsd_read/pfsd_write until the input ends with "quit\n", or
 * "timeout\n" is sent when nothing came for half a second.  Then
 * pfsd_shutdown, and the client's bytes are read until its end, which is
 * logged: "direct: input ended with EOF".
 *
 * "BIG\n" instead: 16 KB writes with a 200 ms limit until one fails (the
 * client does not read), then a short write and pfsd_shutdown; how each
 * ended is logged ("direct: write: ...").  Any other first line: the
 * connection is closed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pfsd.h>

#define DIRECT_MS	500
#define DIRECT_MAX	(1024 * 1024)

PFSD_PLUGIN("direct");

static const char *
how(ssize_t n)
{
	return n >= 0 ? "ok" : strerror(errno);
}

/* A client that does not read: what each call says once the limit hit. */
static void
big(struct pfsd_request *req)
{
	static char	chunk[16384];
	char		first[64], then[64];

	memset(chunk, 'b', sizeof(chunk));
	while (pfsd_write(req, chunk, sizeof(chunk), 200) > 0)
		;
	snprintf(first, sizeof(first), "%s", how(-1));
	snprintf(then, sizeof(then), "%s", how(pfsd_write(req, "END\n", 4,
	    200)));
	pfsd_log(PFSD_LOG_NOTICE, "direct: write: %s; then write: %s; "
	    "shutdown: %s", first, then, how(pfsd_shutdown(req)));
}

static int
send_all(struct pfsd_request *req, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = pfsd_write(req, p, len, -1)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
process_request(struct pfsd_request *req)
{
	static char	all[DIRECT_MAX];
	struct pollfd	pfd = { STDIN_FILENO, POLLIN, 0 };
	size_t		got = 0;
	ssize_t		n;

	while (got < 4 && (n = read(STDIN_FILENO, all + got, 4 - got)) > 0)
		got += (size_t)n;
	if (got == 4 && memcmp(all, "BIG\n", 4) == 0) {
		big(req);
		return 0;
	}
	if (got < 4 || memcmp(all, "DIR\n", 4) != 0 ||
	    write(STDOUT_FILENO, "ok\n", 3) != 3)
		return 0;
	(void)poll(&pfd, 1, DIRECT_MS);
	for (got = 0; got < DIRECT_MAX; got += (size_t)n) {
		n = pfsd_read(req, all + got, DIRECT_MAX - got, DIRECT_MS);
		if (n == -1 && errno == EAGAIN) {
			(void)send_all(req, "timeout\n", 8);
			break;
		}
		if (n <= 0 || send_all(req, all + got, (size_t)n) == -1)
			break;
		if (got + (size_t)n >= 5 &&
		    memcmp(all + got + n - 5, "quit\n", 5) == 0)
			break;
	}
	if (pfsd_shutdown(req) == -1) {
		pfsd_log(PFSD_LOG_NOTICE, "direct: shutdown: %s",
		    strerror(errno));
		return 0;
	}
	while ((n = pfsd_read(req, all, sizeof(all), 4 * DIRECT_MS)) > 0 ||
	    (n == -1 && errno == EINTR))
		;
	pfsd_log(PFSD_LOG_NOTICE, "direct: input ended with %s",
	    n == 0 ? "EOF" : strerror(errno));
	return 0;
}
