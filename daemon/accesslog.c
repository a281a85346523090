/*
 * accesslog.c - access_log: one line per request, at its end.
 *
 * The parent opens the file (or syslog) before privileges are dropped,
 * with the log file's rules (a regular file, no link, no FIFO); children
 * inherit the descriptor and each writes its own lines with one write(2)
 * on an O_APPEND descriptor, so lines never interleave and no lock is
 * taken.  The line is formatted on the stack: no allocation.  USR1
 * reopens it, in the parent and in every child.  A child that dies in a
 * request writes nothing; the parent writes that request's line
 * (crashed, timeout) from the scoreboard when it reaps the child.
 *
 * Text layout (stable; '-' where a value is unknown):
 *   TIME PEER PEER_PORT LOCAL LOCAL_PORT HANDLER DURATION_US IN OUT OUTCOME
 * JSON: one object per line with the same fields.
 */
#include "internal.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define AL_LINE_MAX	1024

/* The kernel's TCP states after a FIN came in (<linux/tcp.h> has the
 * structure with the byte counters, <netinet/tcp.h> these names). */
#define AL_CLOSE	7	/* after a reset */
#define AL_CLOSE_WAIT	8
#define AL_LAST_ACK	9
#define AL_CLOSING	11

static struct {
	int	 fd;		/* -1: off or syslog */
	int	 use_syslog;
	int	 json;
	int	 created;	/* pfsd made the file: it may chown it */
	char	*path;
} al = { .fd = -1 };

/* Open access_log if configured; 0, or -1 with err. */
int
accesslog_open(const struct conf *c, char *err, size_t errlen)
{
	const char	*dest = conf_str(c, OPT_ACCESS_LOG);

	al.json = conf_num(c, OPT_ACCESS_LOG_FORMAT) == 1;
	if (dest == NULL || *dest == '\0' || strcmp(dest, "off") == 0)
		return 0;
	if (strcmp(dest, "syslog") == 0) {
		al.use_syslog = 1;
		return 0;
	}
	if ((al.fd = log_open_file(dest, dest, &al.created, err, errlen)) ==
	    -1)
		return -1;
	if ((al.path = strdup(dest)) == NULL) {
		snprintf(err, errlen, "access_log: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
accesslog_on(void)
{
	return al.fd != -1 || al.use_syslog;
}

/* Privilege drop: the file pfsd created goes to the service user. */
void
accesslog_chown(uid_t uid, gid_t gid)
{
	if (al.fd != -1 && al.created && fchown(al.fd, uid, gid) == -1)
		log_warn("chown of the access log");
}

/* USR1: the file was moved (logrotate); open it again. */
void
accesslog_reopen(void)
{
	char	err[ERRBUF_SIZE];
	int	fd, created;

	if (al.path == NULL)
		return;
	if ((fd = log_open_file(al.path, al.path, &created, err,
	    sizeof(err))) == -1) {
		log_msg(PFSD_LOG_ERR, "%s; still writing the access log to the "
		    "old file", err);
		return;
	}
	dup2(fd, al.fd);	/* same number: children's copies stay valid */
	close(fd);
}

/* JSON string contents: quotes, backslashes and controls escaped. */
static void
json_escape(char *dst, size_t len, const char *src)
{
	size_t		o = 0;
	unsigned char	c;

	for (; (c = (unsigned char)*src) != '\0' && o + 7 < len; src++) {
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(dst + o, len - o, "\\u%04x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

/* An address for the line: escaped for the log, and for JSON too. */
static void
field(char *dst, size_t len, const char *raw)
{
	char	esc[256];

	log_escape(esc, sizeof(esc), raw, strlen(raw));
	if (al.json)
		json_escape(dst, len, esc);
	else
		snprintf(dst, len, "%s", *esc != '\0' ? esc : "-");
}

static void
emit(const char *line, size_t n)
{
	/* a full disk loses access lines, never a request: no retry */
	if (al.use_syslog)
		syslog(LOG_INFO, "%.*s", (int)n - 1, line);
	else
		(void)!write(al.fd, line, n);
}

/* Format one line from its parts and write it. */
static void
accesslog_line(const char *peer, int pport, const char *local, int lport,
    const char *handler, long long us, long long in, long long out,
    const char *outcome)
{
	static time_t	sec_shown = -1;	/* the second formatted last */
	static char	sec_text[32];
	struct timespec	ts;
	struct tm	tm;
	char		line[AL_LINE_MAX], when[64], p[300], l[300], h[200];
	char		bin[24], bout[24];
	int		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec_shown) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(sec_text, sizeof(sec_text), "%Y-%m-%dT%H:%M:%S", &tm);
		sec_shown = ts.tv_sec;
	}
	snprintf(when, sizeof(when), "%s.%03ldZ", sec_text,
	    ts.tv_nsec / 1000000);
	field(p, sizeof(p), peer);
	field(l, sizeof(l), local);
	field(h, sizeof(h), handler);
	snprintf(bin, sizeof(bin), in < 0 ? (al.json ? "null" : "-") : "%lld",
	    in);
	snprintf(bout, sizeof(bout), out < 0 ? (al.json ? "null" : "-") :
	    "%lld", out);
	if (al.json)
		n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"peer\":"
		    "\"%s\",\"peer_port\":%d,\"local\":\"%s\",\"local_port\":"
		    "%d,\"handler\":\"%s\",\"duration_us\":%lld,\"bytes_in\":"
		    "%s,\"bytes_out\":%s,\"outcome\":\"%s\"}\n", when, p, pport,
		    l, lport, h, us, bin, bout, outcome);
	else
		n = snprintf(line, sizeof(line), "%s %s %d %s %d %s %lld %s %s "
		    "%s\n", when, p, pport, l, lport, h, us, bin, bout,
		    outcome);
	if (n > 0 && (size_t)n < sizeof(line))
		emit(line, (size_t)n);
}

/* Bytes the connection carried, from the kernel's TCP counters; 1 when
 * the client reset it. */
static int
tcp_bytes(int fd, long long *in, long long *out)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	*in = *out = -1;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_sent) +
	    sizeof(ti.tcpi_bytes_sent))
		return 0;
	/* the client's FIN took a sequence number too: not a byte */
	*in = (long long)ti.tcpi_bytes_received -
	    (ti.tcpi_state == AL_CLOSE_WAIT || ti.tcpi_state == AL_CLOSING ||
	    ti.tcpi_state == AL_LAST_ACK);
	*out = (long long)ti.tcpi_bytes_sent;
	return ti.tcpi_state == AL_CLOSE;
}

/* The local address: the listener's own unless it is a wildcard (then
 * the kernel says which address the client reached). */
static void
local_of(struct pfsd_request *req, char *buf, size_t len, int *port)
{
	const struct sockaddr_in	*s4 = (const void *)&req->l->addr;
	const struct sockaddr_in6	*s6 = (const void *)&req->l->addr;

	if ((req->l->family == AF_INET &&
	    s4->sin_addr.s_addr != htonl(INADDR_ANY)) ||
	    (req->l->family == AF_INET6 &&
	    !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))) {
		addr_format((const struct sockaddr *)&req->l->addr, buf, len,
		    port);
		return;
	}
	snprintf(buf, len, "%s", pfsd_local_addr(req));
	*port = pfsd_local_port(req);
}

/*
 * Child: the request on req ended (before its socket is closed), allowed
 * or not, the handler having returned rc.  Its outcome: denied, reset
 * (by the client), status=N (the handler's non-zero return), or ok.
 */
void
accesslog_request(struct pfsd_request *req, long long us, int allowed,
    int rc)
{
	long long	in = -1, out = -1;
	char		outcome[32], local[64];
	int		reset = 0, lport;

	if (req->l->proto == PFSD_PROTO_UDP)
		in = (long long)req->dgram_len;
	else if (req->l->family != AF_UNIX)
		reset = tcp_bytes(req->fd, &in, &out);
	if (!allowed)
		snprintf(outcome, sizeof(outcome), "denied");
	else if (reset)
		snprintf(outcome, sizeof(outcome), "reset");
	else if (rc != 0)
		snprintf(outcome, sizeof(outcome), "status=%d", rc);
	else
		snprintf(outcome, sizeof(outcome), "ok");
	local_of(req, local, sizeof(local), &lport);
	accesslog_line(pfsd_peer_addr(req), pfsd_peer_port(req), local, lport,
	    req->srv->plugin.name, us, in, out, outcome);
}

/* Parent: a child died in the middle of the request its slot shows. */
void
accesslog_died(const struct pfsd_server *srv, const struct slot *s,
    const char *outcome)
{
	char	peer[128];
	int	port;

	if (!accesslog_on() || s->state != SLOT_BUSY || s->req_start_ms <= 0)
		return;
	scoreboard_peer(s, peer, sizeof(peer), &port);
	accesslog_line(peer, port, "-", 0, srv->plugin.name,
	    (now_ms() - s->req_start_ms) * 1000, -1, -1, outcome);
}
