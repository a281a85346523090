/*
 * sleepy.c - test handler: reads one line holding a number N, sleeps N
 * milliseconds, answers "slept N".  A request that takes as long as a test
 * wants, for graceful stop, HUP and timeout tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <pfsd.h>

PFSD_PLUGIN("sleepy");

int
process_request(struct pfsd_request *req)
{
	char		 line[64], *end;
	long		 ms;
	struct timespec	 ts;

	(void)req;
	if (fgets(line, sizeof line, stdin) == NULL)
		return 0;
	ms = strtol(line, &end, 10);
	if (end == line || ms < 0 || (*end != '\n' && *end != '\r' &&
	    *end != '\0')) {
		printf("not a number of milliseconds\n");
		return 1;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	/* sleep the whole time even if a signal comes: a busy child's work */
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	printf("slept %ld\n", ms);
	fflush(stdout);
	return 0;
}
