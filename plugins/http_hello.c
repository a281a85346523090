/*
 * http_hello.c - a minimal HTTP/1.0 and HTTP/1.1 server that answers every
 * request with "Hello, world!"; pfsd's benchmark handler (wrk, ab, curl).
 *
 * It reads and writes the socket itself (pfsd_request_fd) instead of using
 * stdio: requests are parsed in place in one input buffer, and the answers
 * to pipelined requests are gathered in one output buffer and sent with a
 * single write(2) before the next read.  stdio would add a copy each way
 * and a flush per response, for nothing on a protocol that is not read
 * line by line.
 *
 * Keep-alive: an HTTP/1.1 connection stays open unless the client sends
 * "Connection: close"; HTTP/1.0 closes unless it sends "Connection:
 * keep-alive".  In a prefork server an idle client holds a whole child, so
 * a connection that sends nothing for http_timeout seconds (an option of
 * this handler, default 5, 0 for never) is closed.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <pfsd.h>

#define HTTP_INSIZE	8192	/* also the largest request head accepted */
#define HTTP_OUTSIZE	16384

#define HTTP_BODY	"Hello, world!\n"
#define HTTP_400	"HTTP/1.1 400 Bad Request\r\n"			\
			"Content-Type: text/plain\r\n"			\
			"Content-Length: 12\r\n"			\
			"Connection: close\r\n\r\n"			\
			"Bad Request\n"

struct http_conn {
	int	 fd;
	size_t	 inlen;
	size_t	 outlen;
	char	 in[HTTP_INSIZE];
	char	 out[HTTP_OUTSIZE];
};

struct http_req {
	int	 head;		/* HEAD: headers only */
	int	 minor;		/* HTTP/1.minor */
	int	 keepalive;
	int	 unframed;	/* a body we cannot find the end of */
	size_t	 bodylen;	/* Content-Length to skip */
};

static const struct pfsd_option_def http_options[] = {
	{ "http_timeout", PFSD_OPT_NUMBER, "5", 0, 86400, NULL,
	    "seconds an idle connection is kept, 0 for ever" },
	{ NULL, PFSD_OPT_STRING, NULL, 0, 0, NULL, NULL }
};

PFSD_PLUGIN_OPTIONS("http_hello", http_options);

static long	http_timeout = 5;

/* Read once, in the parent; pfsd has checked the value. */
int
post_configure_hook(struct pfsd_server *srv)
{
	http_timeout = strtol(pfsd_option(srv, "http_timeout"), NULL, 10);
	return 0;
}

/* Send what the output buffer holds; -1 when the client has gone. */
static int
http_flush(struct http_conn *c)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < c->outlen) {
		n = write(c->fd, c->out + off, c->outlen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	c->outlen = 0;
	return 0;
}

static int
http_put(struct http_conn *c, const char *s, size_t len)
{
	if (c->outlen + len > sizeof c->out && http_flush(c) == -1)
		return -1;
	memcpy(c->out + c->outlen, s, len);
	c->outlen += len;
	return 0;
}

/* Read more of the request; 0 at end of input, on error or timeout. */
static ssize_t
http_fill(struct http_conn *c)
{
	ssize_t	n;

	do
		n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;	/* EAGAIN here is SO_RCVTIMEO expiring */
	c->inlen += (size_t)n;
	return n;
}

/* Drop the first n bytes of input (a request that has been answered). */
static void
http_consume(struct http_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

/* Length of the request head (through its blank line), or 0 if partial. */
static size_t
http_head_len(struct http_conn *c)
{
	size_t	i, skip = 0;

	/* RFC 9112 2.2: ignore empty lines before a request line */
	while (skip < c->inlen && (c->in[skip] == '\r' || c->in[skip] == '\n'))
		skip++;
	http_consume(c, skip);
	for (i = 1; i < c->inlen; i++) {
		if (c->in[i] != '\n')
			continue;
		if (c->in[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && c->in[i - 1] == '\r' && c->in[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* Does the comma-separated list s (of length n) contain token tok? */
static int
http_has_token(const char *s, size_t n, const char *tok)
{
	size_t	i = 0, j, len = strlen(tok);

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		for (j = i; j < n && s[j] != ',' && s[j] != ' ' &&
		    s[j] != '\t'; j++)
			;
		if (j - i == len && strncasecmp(s + i, tok, len) == 0)
			return 1;
		i = j;
	}
	return 0;
}

/* A Content-Length value: digits only, as RFC 9110 8.6 says. */
static int
http_content_length(const char *v, size_t n, size_t *len)
{
	char	num[24], *end;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof num || *v < '0' || *v > '9')
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	errno = 0;
	*len = strtoull(num, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Take one "Name: value" line into r; -1 if it is not a header. */
static int
http_header(const char *line, size_t n, struct http_req *r)
{
	const char	*colon, *v;
	size_t		 name, vlen;

	if ((colon = memchr(line, ':', n)) == NULL || colon == line)
		return -1;
	name = (size_t)(colon - line);
	if (memchr(line, ' ', name) != NULL || memchr(line, '\t', name) != NULL)
		return -1;	/* RFC 9112 5.1: no blank before the colon */
	for (v = colon + 1; v < line + n && (*v == ' ' || *v == '\t'); v++)
		;
	vlen = (size_t)(line + n - v);
	if (name == 10 && strncasecmp(line, "Connection", 10) == 0) {
		if (http_has_token(v, vlen, "close"))
			r->keepalive = 0;
		else if (http_has_token(v, vlen, "keep-alive"))
			r->keepalive = 1;
	} else if (name == 14 && strncasecmp(line, "Content-Length", 14) == 0)
		return http_content_length(v, vlen, &r->bodylen);
	else if (name == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)
		r->unframed = 1;
	return 0;
}

/* Check "METHOD TARGET HTTP/1.x"; -1 for anything else. */
static int
http_request_line(const char *line, size_t n, struct http_req *r)
{
	const char	*sp1, *sp2;
	size_t		 i;

	if ((sp1 = memchr(line, ' ', n)) == NULL || sp1 == line)
		return -1;
	for (i = 0; line + i < sp1; i++)
		if (!((line[i] >= 'A' && line[i] <= 'Z') || line[i] == '-' ||
		    line[i] == '_'))
			return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(line + n - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return -1;
	if (line + n - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    sp2[8] < '0' || sp2[8] > '9')
		return -1;
	r->minor = sp2[8] - '0';
	r->keepalive = r->minor >= 1;
	r->head = sp1 - line == 4 && memcmp(line, "HEAD", 4) == 0;
	return 0;
}

/* Parse the request head of length len at buf into r; -1 if malformed. */
static int
http_parse(const char *buf, size_t len, struct http_req *r)
{
	const char	*line = buf, *nl;
	size_t		 n;
	int		 first = 1;

	memset(r, 0, sizeof *r);
	while ((nl = memchr(line, '\n', (size_t)(buf + len - line))) != NULL) {
		n = (size_t)(nl - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the blank line ending the head */
		if (first ? http_request_line(line, n, r) :
		    http_header(line, n, r))
			return -1;
		first = 0;
		line = nl + 1;
	}
	return first ? -1 : 0;
}

/* "Date: ...\r\n", formatted once a second: HTTP/1.1 wants it. */
static const char *
http_date(size_t *len)
{
	static char	 date[64];
	static size_t	 datelen;
	static time_t	 last;
	time_t		 now;
	struct tm	 tm;

	now = time(NULL);
	if (now != last || datelen == 0) {
		gmtime_r(&now, &tm);
		datelen = strftime(date, sizeof date,
		    "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		last = now;
	}
	*len = datelen;
	return date;
}

/* Queue the answer to r. */
static int
http_respond(struct http_conn *c, const struct http_req *r)
{
	static const char	 status[] = "HTTP/1.1 200 OK\r\n";
	static const char	 fields[] = "Content-Type: text/plain\r\n"
				    "Content-Length: 14\r\n";
	const char		*conn, *date;
	size_t			 datelen;

	if (!r->keepalive)
		conn = "Connection: close\r\n\r\n";
	else if (r->minor == 0)
		conn = "Connection: keep-alive\r\n\r\n";
	else
		conn = "\r\n";
	date = http_date(&datelen);
	if (http_put(c, status, sizeof status - 1) == -1 ||
	    http_put(c, date, datelen) == -1 ||
	    http_put(c, fields, sizeof fields - 1) == -1 ||
	    http_put(c, conn, strlen(conn)) == -1)
		return -1;
	if (r->head)
		return 0;
	return http_put(c, HTTP_BODY, sizeof HTTP_BODY - 1);
}

/* Discard a request body of n bytes, buffered or still to come. */
static int
http_skip_body(struct http_conn *c, size_t n)
{
	size_t	k;

	for (;;) {
		k = n < c->inlen ? n : c->inlen;
		http_consume(c, k);
		if ((n -= k) == 0)
			return 0;
		if (http_flush(c) == -1 || http_fill(c) == 0)
			return -1;
	}
}

/*
 * Wait at most http_timeout seconds for each read or write: a client that
 * neither sends nor reads must not hold the child for ever.
 */
static void
http_set_timeout(int fd)
{
	struct timeval	tv;

	if (http_timeout == 0)
		return;
	tv.tv_sec = http_timeout;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Serve requests until the client closes or asks to, or errs. */
static void
http_serve(struct http_conn *c)
{
	struct http_req	r;
	size_t		hlen;

	for (;;) {
		if ((hlen = http_head_len(c)) == 0) {
			if (c->inlen == sizeof c->in) {
				http_put(c, HTTP_400, sizeof HTTP_400 - 1);
				return;		/* head too large */
			}
			if (http_flush(c) == -1 || http_fill(c) == 0)
				return;
			continue;
		}
		if (http_parse(c->in, hlen, &r) == -1) {
			http_put(c, HTTP_400, sizeof HTTP_400 - 1);
			return;
		}
		if (r.unframed)
			r.keepalive = 0;
		if (http_respond(c, &r) == -1 || !r.keepalive)
			return;
		http_consume(c, hlen);
		if (http_skip_body(c, r.bodylen) == -1)
			return;
	}
}

int
process_request(struct pfsd_request *req)
{
	static struct http_conn	c;	/* one client per child at a time */

	if (pfsd_request_proto(req) == PFSD_PROTO_UDP) {
		/* the fd would be the shared listening socket */
		pfsd_log(PFSD_LOG_WARNING, "http_hello: HTTP needs a stream "
		    "socket, not UDP");
		return 0;
	}
	c.fd = pfsd_request_fd(req);
	c.inlen = c.outlen = 0;
	http_set_timeout(c.fd);
	http_serve(&c);
	(void)http_flush(&c);
	return 0;
}
