/*
 * http_hello.c - a minimal HTTP/1.0 and HTTP/1.1 server that answers every
 * request with "Hello, world!"; pfsd's benchmark handler (wrk, ab, curl).
 *
 * It reads and writes the connection with pfsd_read and pfsd_write instead
 * of stdio: requests are parsed in place in one input buffer, and the
 * answers to pipelined requests are gathered in one output buffer and sent
 * with a single write before the next read.  stdio would add a copy each
 * way and a flush per response, for nothing on a protocol that is not read
 * line by line; and on a TLS port pfsd_read and pfsd_write run OpenSSL in
 * this thread, where stdio would go through pfsd's relay.
 *
 * Keep-alive: an HTTP/1.1 connection stays open unless the client sends
 * "Connection: close"; HTTP/1.0 closes unless it sends "Connection:
 * keep-alive".  In a prefork server an idle client holds a whole child, so
 * a connection that sends nothing for http_timeout seconds (an option of
 * this handler, default 5, 0 for never) is closed.
 *
 * RFC 9110/9112 where a client can tell: an HTTP/1.1 request needs exactly
 * one Host (400 otherwise), Content-Length values must agree (400), a
 * chunked body is read to its end so that a request pipelined after it is
 * served, a version other than 1.x is answered 505, and an HTTP/0.9
 * request line ("GET /") gets the body alone, as 0.9 expects, at once.
 * Every answer carries Date.  An error answer is sent, then the write
 * side shut down and what the client still sends read and dropped for a
 * moment, so that closing with unread input does not reset the connection
 * and destroy the answer before the client reads it.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <pfsd.h>

#define HTTP_INSIZE	8192	/* also the largest request head accepted */
#define HTTP_OUTSIZE	16384

#define HTTP_DRAIN_MS	2000	/* lingering close: how long to read */
#define HTTP_DRAIN_MAX	(1024 * 1024)	/* and how much at most */

#define HTTP_BODY	"Hello, world!\n"
#define HTTP_ERRFIELDS	"Content-Type: text/plain\r\n"			\
			"Connection: close\r\n"
#define HTTP_400	"HTTP/1.1 400 Bad Request\r\n"
#define HTTP_400_BODY	"Content-Length: 12\r\n\r\nBad Request\n"
#define HTTP_505	"HTTP/1.1 505 HTTP Version Not Supported\r\n"
#define HTTP_505_BODY	"Content-Length: 27\r\n\r\n"			\
			"HTTP Version Not Supported\n"

enum http_status {
	HTTP_OK,
	HTTP_BAD,		/* 400, then close */
	HTTP_VERSION,		/* 505, then close */
	HTTP_SIMPLE		/* an HTTP/0.9 request: the body alone */
};

struct http_conn {
	struct pfsd_request *req;
	int	 ms;		/* http_timeout per read or write; -1: none */
	size_t	 inlen;
	size_t	 outlen;
	char	 in[HTTP_INSIZE];
	char	 out[HTTP_OUTSIZE];
};

struct http_req {
	int	 head;		/* HEAD: headers only */
	int	 minor;		/* HTTP/1.minor */
	int	 keepalive;
	int	 hosts;		/* Host fields seen */
	int	 chunked;	/* Transfer-Encoding ends in chunked */
	int	 coded;		/* Transfer-Encoding seen at all */
	int	 has_length;	/* Content-Length seen */
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
		n = pfsd_write(c->req, c->out + off, c->outlen - off, c->ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->outlen = 0;	/* the client is gone: drop the rest */
			return -1;
		}
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
		n = pfsd_read(c->req, c->in + c->inlen,
		    sizeof c->in - c->inlen, c->ms);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;	/* EAGAIN here is http_timeout expiring */
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

/* One Content-Length number: digits only, as RFC 9110 8.6 says. */
static int
http_length_number(const char *v, size_t n, size_t *len)
{
	char	num[24], *end;

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
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

/*
 * A Content-Length field: a number, or a list of the same number ("5, 5",
 * RFC 9110 8.6); a second field must say the same too.  -1 otherwise.
 */
static int
http_content_length(const char *v, size_t n, struct http_req *r)
{
	const char	*comma;
	size_t		 len, k;

	do {
		comma = memchr(v, ',', n);
		k = comma != NULL ? (size_t)(comma - v) : n;
		if (http_length_number(v, k, &len) == -1 ||
		    (r->has_length && len != r->bodylen))
			return -1;
		r->bodylen = len;
		r->has_length = 1;
		v += k + (comma != NULL);
		n -= k + (comma != NULL);
	} while (comma != NULL);
	return 0;
}

/* The last coding of a Transfer-Encoding list: chunked or not? */
static int
http_ends_chunked(const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n >= 7 && strncasecmp(v + n - 7, "chunked", 7) == 0 &&
	    (n == 7 || v[n - 8] == ',' || v[n - 8] == ' ' || v[n - 8] == '\t');
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
	} else if (name == 4 && strncasecmp(line, "Host", 4) == 0)
		r->hosts++;
	else if (name == 14 && strncasecmp(line, "Content-Length", 14) == 0)
		return http_content_length(v, vlen, r);
	else if (name == 17 && strncasecmp(line, "Transfer-Encoding", 17) ==
	    0) {
		/* several fields are one list: only the last one counts */
		r->coded = 1;
		r->chunked = http_ends_chunked(v, vlen);
	}
	return 0;
}

/* METHOD is a token: RFC 9110 5.6.2, as methods are written. */
static int
http_method(const char *s, size_t n)
{
	size_t	i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' ||
		    s[i] == '_'))
			return -1;
	return 0;
}

/*
 * "METHOD TARGET HTTP/x.y": HTTP_OK for 1.y, HTTP_VERSION for another
 * well-formed version, HTTP_SIMPLE for "GET TARGET" (HTTP/0.9), HTTP_BAD
 * for anything else.
 */
static enum http_status
http_request_line(const char *line, size_t n, struct http_req *r)
{
	const char	*sp1, *sp2, *v;

	if ((sp1 = memchr(line, ' ', n)) == NULL ||
	    http_method(line, (size_t)(sp1 - line)) == -1)
		return HTTP_BAD;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(line + n - sp1 - 1));
	if (sp2 == NULL)
		return sp1 - line == 3 && memcmp(line, "GET", 3) == 0 &&
		    sp1 + 1 < line + n ? HTTP_SIMPLE : HTTP_BAD;
	if (sp2 == sp1 + 1)
		return HTTP_BAD;
	v = sp2 + 1;
	if (line + n - v != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' ||
	    v[7] > '9')
		return HTTP_BAD;
	if (v[5] != '1')
		return HTTP_VERSION;
	r->minor = v[7] - '0';
	r->keepalive = r->minor >= 1;
	r->head = sp1 - line == 4 && memcmp(line, "HEAD", 4) == 0;
	return HTTP_OK;
}

/* Parse the request head of length len at buf into r. */
static enum http_status
http_parse(const char *buf, size_t len, struct http_req *r)
{
	const char		*line = buf, *nl;
	size_t			 n;
	enum http_status	 st = HTTP_BAD;
	int			 first = 1;

	memset(r, 0, sizeof *r);
	while ((nl = memchr(line, '\n', (size_t)(buf + len - line))) != NULL) {
		n = (size_t)(nl - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the blank line ending the head */
		if (first) {
			if ((st = http_request_line(line, n, r)) != HTTP_OK)
				return st;
		} else if (http_header(line, n, r) == -1)
			return HTTP_BAD;
		first = 0;
		line = nl + 1;
	}
	if (first)
		return HTTP_BAD;
	/* RFC 9112 3.2: exactly one Host in 1.1, at most one in 1.0 */
	if (r->hosts > 1 || (r->minor >= 1 && r->hosts == 0))
		return HTTP_BAD;
	/* RFC 9112 6.1: a coding pfsd cannot undo leaves no framing */
	if (r->coded && !r->chunked)
		return HTTP_BAD;
	/* RFC 9112 6.1: chunked wins over Content-Length, then close */
	if (r->coded && (r->has_length || r->minor == 0))
		r->keepalive = 0;
	return HTTP_OK;
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

/* An error answer: status line, Date, fields, body; then close. */
static void
http_error(struct http_conn *c, enum http_status st)
{
	const char	*status = st == HTTP_VERSION ? HTTP_505 : HTTP_400;
	const char	*rest = st == HTTP_VERSION ? HTTP_505_BODY :
			    HTTP_400_BODY;
	const char	*date;
	size_t		 datelen;

	date = http_date(&datelen);
	(void)(http_put(c, status, strlen(status)) == -1 ||
	    http_put(c, date, datelen) == -1 ||
	    http_put(c, HTTP_ERRFIELDS, sizeof HTTP_ERRFIELDS - 1) == -1 ||
	    http_put(c, rest, strlen(rest)) == -1);
}

/*
 * Close without a reset: send what is queued, shut the write side down
 * (the client sees the end of the answer), then read and drop what the
 * client still sends, until it closes or for HTTP_DRAIN_MS at most.
 * Closing a socket with unread input makes the kernel send RST, which
 * can destroy the answer before the client has read it.
 */
static void
http_linger(struct http_conn *c)
{
	struct timespec	 start, now;
	size_t		 total = 0;
	ssize_t		 n;
	long		 left;

	if (http_flush(c) == -1 || pfsd_shutdown(c->req) == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (total < HTTP_DRAIN_MAX) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = HTTP_DRAIN_MS - ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		n = pfsd_read(c->req, c->in, sizeof c->in, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/* One line of input (a chunk size, a trailer); its length with the LF. */
static size_t
http_line(struct http_conn *c)
{
	char	*nl;

	for (;;) {
		if ((nl = memchr(c->in, '\n', c->inlen)) != NULL)
			return (size_t)(nl - c->in) + 1;
		if (c->inlen == sizeof c->in || http_flush(c) == -1 ||
		    http_fill(c) == 0)
			return 0;
	}
}

/* A chunk-size line: hex digits, then maybe ";extension"; -1 if not. */
static int
http_chunk_size(const char *s, size_t n, size_t *size)
{
	size_t	i, d;

	*size = 0;
	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = (size_t)(s[i] - '0');
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			d = (size_t)((s[i] | 0x20) - 'a' + 10);
		else
			break;
		if (*size > (SIZE_MAX >> 4))
			return -1;
		*size = *size << 4 | d;
	}
	if (i == 0)
		return -1;
	return i == n || s[i] == ';' || s[i] == ' ' || s[i] == '\t' ||
	    s[i] == '\r' ? 0 : -1;
}

static int http_skip_body(struct http_conn *, size_t);

/*
 * Discard a chunked body (RFC 9112 7.1): chunks, the last (size 0), the
 * trailer fields and the blank line; -1 if it is not one, or the client
 * has gone.  What follows is the next request.
 */
static int
http_skip_chunked(struct http_conn *c)
{
	size_t	n, size;
	int	blank;

	for (;;) {
		if ((n = http_line(c)) == 0 ||
		    http_chunk_size(c->in, n - 1, &size) == -1)
			return -1;
		http_consume(c, n);
		if (size == 0)
			break;
		if (http_skip_body(c, size) == -1 || (n = http_line(c)) == 0 ||
		    n > 2 || (n == 2 && c->in[0] != '\r'))
			return -1;	/* data not followed by CRLF */
		http_consume(c, n);
	}
	for (;;) {			/* trailers, up to the blank line */
		if ((n = http_line(c)) == 0)
			return -1;
		blank = n == 1 || (n == 2 && c->in[0] == '\r');
		http_consume(c, n);
		if (blank)
			return 0;
	}
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
 * No complete head yet: is the first line complete and an HTTP/0.9
 * request ("GET /"), which has no head to wait for?
 */
static int
http_simple(const struct http_conn *c)
{
	const char	*nl;
	struct http_req	 r;
	size_t		 n;

	if ((nl = memchr(c->in, '\n', c->inlen)) == NULL)
		return 0;
	n = (size_t)(nl - c->in);
	if (n > 0 && c->in[n - 1] == '\r')
		n--;
	return http_request_line(c->in, n, &r) == HTTP_SIMPLE;
}

/* Serve requests until the client closes or asks to, or errs. */
static void
http_serve(struct http_conn *c)
{
	struct http_req		r;
	enum http_status	st;
	size_t			hlen;

	for (;;) {
		if ((hlen = http_head_len(c)) == 0) {
			if (http_simple(c)) {
				(void)http_put(c, HTTP_BODY,
				    sizeof HTTP_BODY - 1);
				http_linger(c);
				return;
			}
			if (c->inlen == sizeof c->in) {
				http_error(c, HTTP_BAD);  /* head too large */
				http_linger(c);
				return;
			}
			if (http_flush(c) == -1 || http_fill(c) == 0)
				return;
			continue;
		}
		if ((st = http_parse(c->in, hlen, &r)) != HTTP_OK) {
			if (st == HTTP_SIMPLE)
				(void)http_put(c, HTTP_BODY,
				    sizeof HTTP_BODY - 1);
			else
				http_error(c, st);
			http_linger(c);
			return;
		}
		if (http_respond(c, &r) == -1)
			return;
		http_consume(c, hlen);
		if (!r.keepalive) {
			if (c->inlen > 0 || r.chunked || r.bodylen > 0)
				http_linger(c);	/* input left unread */
			return;
		}
		if (r.chunked ? http_skip_chunked(c) == -1 :
		    http_skip_body(c, r.bodylen) == -1)
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
	c.req = req;
	/* a client that neither sends nor reads must not hold the child */
	c.ms = http_timeout > 0 ? (int)http_timeout * 1000 : -1;
	c.inlen = c.outlen = 0;
	http_serve(&c);
	(void)http_flush(&c);
	return 0;
}
