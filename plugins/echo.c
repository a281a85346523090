/*
 * echo.c - the smallest useful pfsd handler, and a template for a line
 * protocol: every line the client sends comes back unchanged, until the
 * client closes the connection or sends the line "quit".
 *
 * It talks to the client through stdin and stdout, which pfsd attaches to
 * the connection, so the same code serves TCP, UNIX sockets and UDP (for
 * UDP, stdin reads the datagram and what is written to stdout goes back to
 * the peer as one reply datagram).
 *
 *	cc -shared -fPIC -o echo.so echo.c	(pfsd.h installed)
 *	pfsd --handler=./echo.so --port=20203
 */
#include <stdio.h>
#include <string.h>

#include <pfsd.h>

PFSD_PLUGIN("echo");

/*
 * Read up to size bytes from fp, stopping after a newline; 0 at the end.
 * A fixed buffer bounds the memory a client without newlines can make us
 * use (a longer line comes back in pieces), and unlike fgets() a NUL byte
 * in the data is echoed too.
 */
static size_t
echo_read(char *buf, size_t size, FILE *fp)
{
	size_t	n = 0;
	int	ch;

	while (n < size && (ch = getc(fp)) != EOF) {
		buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	return n;
}

/* Is buf, a whole line, the word "quit" (CRLF from telnet accepted)? */
static int
echo_is_quit(const char *buf, size_t n)
{
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	return n == 4 && memcmp(buf, "quit", 4) == 0;
}

int
process_request(struct pfsd_request *req)
{
	char	buf[4096];
	size_t	n;
	int	bol = 1;	/* buf starts a line (not the rest of a long one) */

	(void)req;
	while ((n = echo_read(buf, sizeof buf, stdin)) > 0) {
		if (bol && echo_is_quit(buf, n))
			break;
		/* flush each line: an interactive client waits for its reply */
		if (fwrite(buf, 1, n, stdout) != n || fflush(stdout) == EOF)
			break;		/* the client has gone */
		bol = buf[n - 1] == '\n';
	}
	return 0;
}
