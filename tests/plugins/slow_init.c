/*
 * slow_init.c - test handler whose child_init_hook takes init_ms
 * milliseconds (option, default 0) and then fails while the file named by
 * the option fail_file exists: a handler whose dependency (a database, a
 * license server) is down and whose connection attempt times out.  Each
 * child_init_hook appends "init PID" to the file named by init_log.
 * With the option init_crash, it abort()s instead of failing: a handler
 * that crashes at start.  process_request answers "ok".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pfsd.h>

PFSD_PLUGIN("slow_init");

int
child_init_hook(struct pfsd_server *srv)
{
	const char	*ms = pfsd_option(srv, "init_ms");
	const char	*fail = pfsd_option(srv, "fail_file");
	const char	*log = pfsd_option(srv, "init_log");
	struct timespec	 ts;
	char		 line[64];
	long		 n = ms != NULL ? atol(ms) : 0;
	int		 fd, len;

	if (log != NULL && (fd = open(log, O_WRONLY | O_CREAT | O_APPEND,
	    0644)) != -1) {
		len = snprintf(line, sizeof(line), "init %ld\n",
		    (long)getpid());
		(void)!write(fd, line, (size_t)len);
		close(fd);
	}
	ts.tv_sec = n / 1000;
	ts.tv_nsec = n % 1000 * 1000000;
	nanosleep(&ts, NULL);
	if (fail == NULL || access(fail, F_OK) != 0)
		return 0;
	if (pfsd_option(srv, "init_crash") != NULL)
		abort();
	return 1;
}

int
process_request(struct pfsd_request *req)
{
	(void)req;
	printf("ok\n");
	return 0;
}
