/*
 * sleepy.c - test handler: reads one line holding a number N, sleeps N
 * milliseconds, answers "slept N".  A request that takes as long as a test
 * wants, for graceful stop, HUP and timeout tests.
 *
 * Option term_file PATH: the child survives SIGTERM, and writes into PATH
 * when it came (CLOCK_MONOTONIC, in ms): a handler that ignores the
 * watchdog's SIGTERM, for measuring the grace before its SIGKILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pfsd.h>

PFSD_PLUGIN("sleepy");

static char	term_file[4096];

/* Async-signal-safe: the time as decimal digits, one write. */
static void
on_term(int sig)
{
	struct timespec	ts;
	char		buf[32];
	long long	ms;
	int		fd, i = sizeof(buf);

	(void)sig;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	buf[--i] = '\n';
	do
		buf[--i] = (char)('0' + ms % 10);
	while ((ms /= 10) > 0);
	if ((fd = open(term_file, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1) {
		(void)!write(fd, buf + i, sizeof(buf) - (size_t)i);
		close(fd);
	}
}

int
child_init_hook(struct pfsd_server *srv)
{
	struct sigaction	 sa;
	const char		*path = pfsd_option(srv, "term_file");

	if (path == NULL || strlen(path) >= sizeof(term_file))
		return 0;
	strcpy(term_file, path);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGTERM, &sa, NULL);
}

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
