/*
 * metrics_http.c - metrics_listen: the parent answers `GET /metrics`
 * (Prometheus) and `GET /` (the status page, statuspage.c) itself, in
 * its poll loop.
 *
 * Nothing here may stall the parent: the listener and every connection
 * are non-blocking, a connection is at most METRICS_REQ_MAX bytes of
 * request and METRICS_TIMEOUT_MS of life, at most METRICS_CONNS are open
 * at once (more wait in the listen queue), and the answer is rendered
 * into memory once and written as the socket takes it.  Peers outside
 * metrics_allow are closed without a byte.
 */
#include "internal.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_CONNS		8
#define METRICS_REQ_MAX		2048
#define METRICS_TIMEOUT_MS	1000
#define METRICS_ANSWER_MAX	(1024 * 1024)	/* the page is far smaller */

struct mconn {
	int		 fd;		/* -1: free */
	long long	 deadline;
	char		 req[METRICS_REQ_MAX];
	size_t		 reqlen;
	char		*out;		/* the whole answer, once rendered */
	size_t		 outlen, outoff;
};

static struct {
	int		 fd;		/* the listener, or -1 */
	struct mconn	 c[METRICS_CONNS];
	struct cidr_set	*allow;
} mh = { .fd = -1 };

/* metrics_listen as a port entry: HOST:PORT over TCP, nothing else. */
static int
mh_spec(const char *s, struct listen_spec *ls, char *err, size_t errlen)
{
	if (listen_parse(s, NULL, "tcp", NULL, ls, err, errlen) == -1)
		return -1;
	if (ls->proto != PFSD_PROTO_TCP) {
		snprintf(err, errlen, "\"%s\": HOST:PORT over TCP only", s);
		return -1;
	}
	return 0;
}

/* -t: metrics_listen and metrics_allow; problems go to conf_error. */
void
metrics_http_configure(struct pfsd_server *srv)
{
	const struct conf_value	*cv;
	struct listen_spec	 ls;
	char			 err[ERRBUF_SIZE];

	if ((srv->metrics_allow = cidr_set_configure(srv->conf,
	    OPT_METRICS_ALLOW)) == NULL)
		fatal("metrics_allow");
	if (conf_count(srv->conf, OPT_METRICS_LISTEN) == 0)
		return;
	cv = conf_value_at(srv->conf, OPT_METRICS_LISTEN,
	    conf_count(srv->conf, OPT_METRICS_LISTEN) - 1);
	if (mh_spec(cv->str, &ls, err, sizeof(err)) == -1)
		conf_error(srv->conf, cv->file, cv->line, "metrics_listen",
		    "%s", err);
}

static int
mh_bind(const struct addrinfo *ai)
{
	int	fd, on = 1;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, METRICS_CONNS) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Is fd a socket bound to ai's address? */
static int
mh_bound_to(int fd, const struct addrinfo *ai)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const struct sockaddr_in *a4 = (const void *)ai->ai_addr, *b4;
	const struct sockaddr_in6 *a6 = (const void *)ai->ai_addr, *b6;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != ai->ai_family)
		return 0;
	b4 = (const void *)&ss;
	b6 = (const void *)&ss;
	if (ai->ai_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return ai->ai_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/*
 * Bind metrics_listen if configured (before privileges are dropped).
 * inherited: the socket the image before a HUP listened on, or -1; it is
 * taken over when it is bound where metrics_listen now says, so that a
 * reload never has to bind the port again (another process could have
 * taken it meanwhile, and the reload would fail).  Otherwise restart.c
 * closes it once the new image serves.
 */
int
metrics_http_open(struct pfsd_server *srv, int inherited, char *err,
    size_t errlen)
{
	const char		*spec = conf_str(srv->conf, OPT_METRICS_LISTEN);
	struct addrinfo		 hints, *res, *ai;
	struct listen_spec	 ls;
	size_t			 i;
	int			 rc, saved = 0;

	for (i = 0; i < METRICS_CONNS; i++)
		mh.c[i].fd = -1;
	mh.allow = srv->metrics_allow;
	if (spec == NULL)
		return 0;
	if (mh_spec(spec, &ls, err, errlen) == -1)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	hints.ai_family = ls.ipv == 4 ? AF_INET : ls.ipv == 6 ? AF_INET6 :
	    AF_UNSPEC;
	if ((rc = getaddrinfo(strcmp(ls.host, "*") == 0 ? NULL : ls.host,
	    ls.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "metrics_listen %s: %s", spec,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; inherited != -1 && ai != NULL; ai = ai->ai_next)
		if (mh_bound_to(inherited, ai)) {
			mh.fd = inherited;
			(void)fcntl(mh.fd, F_SETFD, FD_CLOEXEC);
			break;
		}
	for (ai = res; ai != NULL && mh.fd == -1; ai = ai->ai_next)
		if ((mh.fd = mh_bind(ai)) == -1)
			saved = errno;
	freeaddrinfo(res);
	if (mh.fd == -1) {
		snprintf(err, errlen, "metrics_listen %s: %s", spec,
		    strerror(saved));
		return -1;
	}
	return 0;
}

static void
mconn_close(struct mconn *c)
{
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void
metrics_http_close(void)
{
	size_t	i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (mh.c[i].fd != -1)
			mconn_close(&mh.c[i]);
	if (mh.fd != -1)
		close(mh.fd);
	mh.fd = -1;
}

/* The listening socket, for a HUP to hand over; -1 if none. */
int
metrics_http_fd(void)
{
	return mh.fd;
}

/* A child keeps none of it. */
void
metrics_http_forget(void)
{
	size_t	i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (mh.c[i].fd != -1)
			close(mh.c[i].fd);
	if (mh.fd != -1)
		close(mh.fd);
}

static struct mconn *
mconn_free_slot(void)
{
	size_t	i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (mh.c[i].fd == -1)
			return &mh.c[i];
	return NULL;
}

static void
accept_one(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct mconn		*c;
	int			 fd;

	if ((c = mconn_free_slot()) == NULL)
		return;		/* stays queued until a slot frees */
	fd = accept4(mh.fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (!cidr_set_match(mh.allow, (struct sockaddr *)&ss)) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->deadline = now_ms() + METRICS_TIMEOUT_MS;
}

/* The page's own rules: nothing but itself, never cached. */
#define PAGE_HEADERS	"Content-Security-Policy: default-src 'none'; " \
			"style-src 'unsafe-inline'\r\n" \
			"Cache-Control: no-store\r\n" \
			"X-Content-Type-Options: nosniff\r\n"

/* The answer to a request line; c->out holds the whole response. */
static void
respond(struct pfsd_server *srv, struct mconn *c)
{
	const char	*status = "200 OK", *type = "text/plain; version=0.0.4";
	const char	*extra = "", *target;
	char		*body = NULL;
	size_t		 blen = 0, tlen;
	int		 head = strncmp(c->req, "HEAD ", 5) == 0;
	FILE		*f;

	if ((f = open_memstream(&body, &blen)) == NULL)
		return;
	target = c->req + (head ? 5 : 4);
	tlen = strcspn(target, " ?\r\n");
	if (strncmp(c->req, "GET ", 4) != 0 && !head) {
		status = "405 Method Not Allowed";
		fprintf(f, "only GET\n");
	} else if (tlen == 8 && strncmp(target, "/metrics", 8) == 0)
		metrics_render(srv, f);
	else if (tlen == 1 && target[0] == '/') {
		type = "text/html; charset=utf-8";
		extra = PAGE_HEADERS;
		statuspage_render(srv, f);
	} else {
		status = "404 Not Found";
		fprintf(f, "pfsd serves /metrics and its status page / here\n");
	}
	if (fclose(f) != 0 || blen > METRICS_ANSWER_MAX) {
		free(body);	/* cannot happen: see statuspage.c */
		return;
	}
	if (asprintf(&c->out, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%.*s", status,
	    type, blen, extra, head ? 0 : (int)blen, body) == -1)
		c->out = NULL;
	else
		c->outlen = strlen(c->out);
	free(body);
}

static void
on_readable(struct pfsd_server *srv, struct mconn *c)
{
	ssize_t	n;

	n = recv(c->fd, c->req + c->reqlen, sizeof(c->req) - 1 - c->reqlen,
	    0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mconn_close(c);
		return;
	}
	c->reqlen += (size_t)n;
	c->req[c->reqlen] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL ||
	    strstr(c->req, "\n\n") != NULL) {
		respond(srv, c);
		if (c->out == NULL)
			mconn_close(c);
	} else if (c->reqlen == sizeof(c->req) - 1)
		mconn_close(c);		/* too long for a scrape */
}

static void
on_writable(struct mconn *c)
{
	ssize_t	n;

	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (c->outoff += (size_t)n) == c->outlen)
		mconn_close(c);
}

/* Add what metrics_listen waits on to pfd (room for max); how many. */
size_t
metrics_http_pollfds(struct pollfd *pfd, size_t max)
{
	size_t	i, n = 0;

	if (mh.fd == -1 || max == 0)
		return 0;
	if (mconn_free_slot() != NULL) {
		pfd[n].fd = mh.fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < METRICS_CONNS && n < max; i++) {
		if (mh.c[i].fd == -1)
			continue;
		pfd[n].fd = mh.c[i].fd;
		pfd[n++].events = mh.c[i].out != NULL ? POLLOUT : POLLIN;
	}
	return n;
}

/* When the next connection times out; -1 when none is open. */
long long
metrics_http_due(void)
{
	long long	due = -1;
	size_t		i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (mh.c[i].fd != -1 && (due < 0 || mh.c[i].deadline < due))
			due = mh.c[i].deadline;
	return due;
}

static struct mconn *
mconn_of(int fd)
{
	size_t	i;

	for (i = 0; i < METRICS_CONNS; i++)
		if (mh.c[i].fd == fd)
			return &mh.c[i];
	return NULL;
}

/* Act on what poll() said about the descriptors metrics_http_pollfds
 * added, then close what ran out of time. */
void
metrics_http_events(struct pfsd_server *srv, const struct pollfd *pfd,
    size_t n)
{
	struct mconn	*c;
	long long	 now;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == mh.fd)
			accept_one();
		else if ((c = mconn_of(pfd[i].fd)) != NULL) {
			if (c->out != NULL)
				on_writable(c);
			else
				on_readable(srv, c);
		}
	}
	now = now_ms();
	for (i = 0; i < METRICS_CONNS; i++)
		if (mh.c[i].fd != -1 && now >= mh.c[i].deadline)
			mconn_close(&mh.c[i]);
}
