/*
 * http_stdio.c - "Hello, world!" to every HTTP/1.1 request of a kept-alive
 * connection, read from stdin and written to stdout: a handler as
 * Net::Server's are written.  bench/tls.sh measures it beside http_hello,
 * which uses pfsd_read/pfsd_write: over TLS this one goes through pfsd's
 * relay.  GET without a body only; a benchmark's handler, not a server.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <pfsd.h>

#define ANSWER	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"	\
		"Content-Length: 14\r\n\r\nHello, world!\n"

PFSD_PLUGIN("http_stdio");

int
process_request(struct pfsd_request *req)
{
	char	line[8192];
	int	lines, done = 0;

	while (!done) {
		lines = 0;
		while (fgets(line, sizeof(line), stdin) != NULL) {
			lines++;
			if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0)
				break;
			if (strncasecmp(line, "Connection: close", 17) == 0)
				done = 1;
		}
		if (lines == 0 || feof(stdin))
			break;
		/* one write: stdout is line-buffered, fwrite flushes once */
		if (fwrite(ANSWER, sizeof(ANSWER) - 1, 1, stdout) != 1 ||
		    fflush(stdout) != 0)
			break;
	}
	return 0;
}
