/*
 * waiter.c - test handler: a request that waits in one system call, not
 * retried, and says how long it really waited; for the tests that a
 * reload or a graceful stop never cuts a running request short.  One
 * line from the client:
 *
 *	sleep S		sleep(S)
 *	poll MS		poll() on nothing with a timeout of MS
 *	read MS		a blocking read of the client with SO_RCVTIMEO MS
 *			(the client sends nothing more)
 *
 * Answer: "WHAT done=0|1 elapsed=MS", done=1 when the call ran its full
 * time (sleep returned 0, poll 0, read EAGAIN), not cut short by EINTR.
 *
 * Option: waiter_configure_ms MS makes post_configure_hook take that long
 * (a slow check for the HUP tests).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pfsd.h>

PFSD_PLUGIN("waiter");

static long long
waiter_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
post_configure_hook(struct pfsd_server *srv)
{
	const char	*v = pfsd_option(srv, "waiter_configure_ms");

	if (v != NULL)
		poll(NULL, 0, atoi(v));
	return 0;
}

static int
waiter_read(struct pfsd_request *req, long ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };
	char		c;
	int		fd = pfsd_request_fd(req);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		return 0;
	return read(fd, &c, 1) == -1 && (errno == EAGAIN ||
	    errno == EWOULDBLOCK);
}

int
process_request(struct pfsd_request *req)
{
	char		 line[64], what[16];
	long		 n;
	long long	 start;
	int		 done = 0;

	/* one read(2) of the line: stdin's buffer must not eat the socket */
	if ((n = read(pfsd_request_fd(req), line, sizeof(line) - 1)) <= 0)
		return 0;
	line[n] = '\0';
	if (sscanf(line, "%15s %ld", what, &n) != 2) {
		printf("usage: sleep S | poll MS | read MS\n");
		return 1;
	}
	start = waiter_now_ms();
	if (strcmp(what, "sleep") == 0)
		done = sleep((unsigned int)n) == 0;
	else if (strcmp(what, "poll") == 0)
		done = poll(NULL, 0, (int)n) == 0;
	else if (strcmp(what, "read") == 0)
		done = waiter_read(req, n);
	printf("%s done=%d elapsed=%lld\n", what, done,
	    waiter_now_ms() - start);
	fflush(stdout);
	return 0;
}
