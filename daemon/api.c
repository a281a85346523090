/*
 * api.c - the functions pfsd.h promises to handlers.  Addresses are
 * formatted on first use only, so a handler that never asks costs nothing.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pfsd_log is log_msg under the name pfsd.h gives it (log.c). */

const char *
pfsd_option(const struct pfsd_server *srv, const char *key)
{
	const struct conf_item	*it;

	if (srv == NULL || (it = conf_lookup(srv->conf, key)) == NULL)
		return NULL;
	if (it->n == 0) {
		int	id = conf_find(key);

		return id >= 0 ? conf_str(srv->conf, id) : NULL;
	}
	return it->v[it->n - 1].str;
}

size_t
pfsd_option_count(const struct pfsd_server *srv, const char *key)
{
	const struct conf_item	*it;
	int			 id;

	if (srv == NULL)
		return 0;
	if ((id = conf_find(key)) >= 0)
		return conf_count(srv->conf, id);
	it = conf_lookup(srv->conf, key);
	return it == NULL ? 0 : it->n;
}

const char *
pfsd_option_at(const struct pfsd_server *srv, const char *key, size_t i)
{
	const struct conf_item	*it;
	int			 id;

	if (srv == NULL)
		return NULL;
	if ((id = conf_find(key)) >= 0)
		return i < conf_count(srv->conf, id) ?
		    conf_at(srv->conf, id, i) : NULL;
	it = conf_lookup(srv->conf, key);
	return it == NULL || i >= it->n ? NULL : it->v[i].str;
}

void
pfsd_done(struct pfsd_server *srv)
{
	if (srv != NULL)
		srv->done = 1;
}

unsigned int
pfsd_generation(const struct pfsd_server *srv)
{
	return srv == NULL ? 0 : srv->generation;
}

unsigned long
pfsd_requests(const struct pfsd_server *srv)
{
	return srv == NULL ? 0 : srv->served;
}

struct pfsd_server *
pfsd_request_server(const struct pfsd_request *req)
{
	return req->srv;
}

int
pfsd_request_fd(const struct pfsd_request *req)
{
	return req->fd;
}

/* The TCP connection: under TLS, req->fd is the relay's socketpair. */
static int
req_socket(const struct pfsd_request *req)
{
	return req->tls != NULL ? req->net_fd : req->fd;
}

/*
 * pfsd_read, pfsd_write, pfsd_shutdown: read(2), write(2) and
 * shutdown(SHUT_WR) of the connection, the same on plain and TLS ports.
 * Over TLS they run OpenSSL in the handler's own thread (tls.c), so the
 * bytes do not pass through the relay.  The limit is the socket's
 * SO_RCVTIMEO or SO_SNDTIMEO, set only when it changes: one system call
 * per read or write.  0 ms would mean "none" to the kernel, so it is 1.
 */
static int
io_limit(struct pfsd_request *req, int opt, int *cur, int ms)
{
	struct timeval	tv;

	ms = ms < 0 ? 0 : ms == 0 ? 1 : ms;
	if (ms == *cur)
		return 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (setsockopt(req_socket(req), SOL_SOCKET, opt, &tv,
	    sizeof(tv)) == -1)
		return -1;
	*cur = ms;
	return 0;
}

static int
io_stream(const struct pfsd_request *req)
{
	if (req->l->proto != PFSD_PROTO_UDP)
		return 1;
	errno = EOPNOTSUPP;	/* the datagram: pfsd_request_data() */
	return 0;
}

ssize_t
pfsd_read(struct pfsd_request *req, void *buf, size_t len, int timeout_ms)
{
	if (!io_stream(req) ||
	    io_limit(req, SO_RCVTIMEO, &req->rcv_ms, timeout_ms) == -1)
		return -1;
	return req->tls != NULL ? tls_read(req, buf, len) :
	    read(req->fd, buf, len);
}

ssize_t
pfsd_write(struct pfsd_request *req, const void *buf, size_t len,
    int timeout_ms)
{
	if (!io_stream(req) ||
	    io_limit(req, SO_SNDTIMEO, &req->snd_ms, timeout_ms) == -1)
		return -1;
	return req->tls != NULL ? tls_write(req, buf, len) :
	    write(req->fd, buf, len);
}

/* Over TLS the alert may wait for room: the write limit, or a second. */
#define IO_SHUTDOWN_MS	1000

int
pfsd_shutdown(struct pfsd_request *req)
{
	if (!io_stream(req))
		return -1;
	if (req->tls == NULL)
		return shutdown(req->fd, SHUT_WR);
	if (req->snd_ms <= 0 && io_limit(req, SO_SNDTIMEO, &req->snd_ms,
	    IO_SHUTDOWN_MS) == -1)
		return -1;
	return tls_shutdown(req);
}

enum pfsd_proto
pfsd_request_proto(const struct pfsd_request *req)
{
	return (enum pfsd_proto)req->l->proto;
}

static void
need_peer(const struct pfsd_request *creq)
{
	struct pfsd_request	*req = UNCONST(creq);

	if (req->have_addr)
		return;
	addr_format((struct sockaddr *)&req->peer, req->peer_addr,
	    sizeof(req->peer_addr), &req->peer_port);
	req->have_addr = 1;
}

const char *
pfsd_peer_addr(const struct pfsd_request *req)
{
	need_peer(req);
	return req->peer_addr;
}

int
pfsd_peer_port(const struct pfsd_request *req)
{
	need_peer(req);
	return req->peer_port;
}

int	(*api_getnameinfo_fn)(const struct sockaddr *, socklen_t, char *,
	    socklen_t, char *, socklen_t, int) = getnameinfo;
int	(*api_getaddrinfo_fn)(const char *, const char *,
	    const struct addrinfo *, struct addrinfo **) = getaddrinfo;

/* The address of sa as bytes (IPv4-mapped IPv6 as IPv4); its length. */
static size_t
api_ip(const struct sockaddr *sa, unsigned char *out)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(out, &sin->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	memcpy(out, &sin6->sin6_addr, 16);
	return addr_unmap(out) ? 4 : 16;
}

/*
 * Forward-confirmed: does name resolve to the peer's address?  (Net::
 * Server's double_reverse_lookup.)  Whoever controls the PTR record of
 * an address can name it anything; only the owner of the name's zone
 * can make the name point back.
 */
static int
api_confirmed(const struct pfsd_request *req, const char *name)
{
	struct addrinfo	 hints, *res, *ai;
	unsigned char	 peer[16], addr[16];
	size_t		 plen, alen;
	int		 ok = 0;

	if ((plen = api_ip((const struct sockaddr *)&req->peer, peer)) == 0)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (api_getaddrinfo_fn(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !ok; ai = ai->ai_next) {
		alen = api_ip(ai->ai_addr, addr);
		ok = alen == plen && memcmp(addr, peer, plen) == 0;
	}
	freeaddrinfo(res);
	return ok;
}

/*
 * The peer's host name when reverse_lookups is set, else NULL; with
 * reverse_lookups double, only a name that resolves back to the peer.
 */
const char *
pfsd_peer_host(const struct pfsd_request *creq)
{
	struct pfsd_request	*req = UNCONST(creq);
	int			 mode = reverse_mode(req->srv->conf);

	if (mode == 0 || req->peer.ss_family == AF_UNIX)
		return NULL;
	if (!req->have_host) {
		req->have_host = 1;
		if (api_getnameinfo_fn((struct sockaddr *)&req->peer,
		    req->peerlen, req->peer_host, sizeof(req->peer_host), NULL,
		    0, NI_NAMEREQD) != 0)
			req->peer_host[0] = '\0';
		else if (mode == 2 && !api_confirmed(req, req->peer_host)) {
			log_debug("%s does not resolve back to the peer: "
			    "not confirmed", req->peer_host);
			req->peer_host[0] = '\0';
		}
	}
	return req->peer_host[0] != '\0' ? req->peer_host : NULL;
}

static void
need_local(const struct pfsd_request *creq)
{
	struct pfsd_request	*req = UNCONST(creq);
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (req->have_local)
		return;
	req->have_local = 1;
	if (req->l->proto == PFSD_PROTO_UDP ||
	    getsockname(req_socket(req), (struct sockaddr *)&ss,
	    &len) == -1) {
		memcpy(&ss, &req->l->addr, sizeof(ss));
	}
	addr_format((struct sockaddr *)&ss, req->local_addr,
	    sizeof(req->local_addr), &req->local_port);
}

const char *
pfsd_local_addr(const struct pfsd_request *req)
{
	need_local(req);
	return req->local_addr;
}

int
pfsd_local_port(const struct pfsd_request *req)
{
	need_local(req);
	return req->local_port;
}

const struct sockaddr *
pfsd_peer_sockaddr(const struct pfsd_request *req, socklen_t *len)
{
	if (len != NULL)
		*len = req->peerlen;
	return (const struct sockaddr *)&req->peer;
}

/*
 * The datagram of a UDP request: stdin reads a copy of it, but with
 * no_client_stdout the handler has no other way to see what recvfrom()
 * already took from the socket.
 */
const void *
pfsd_request_data(const struct pfsd_request *req, size_t *len)
{
	int	udp = req->l != NULL && req->l->proto == PFSD_PROTO_UDP;

	if (len != NULL)
		*len = udp ? req->dgram_len : 0;
	return udp ? req->dgram : NULL;
}

/* The balancer that sent a PROXY header for this connection, else NULL. */
const char *
pfsd_proxy_addr(const struct pfsd_request *creq)
{
	struct pfsd_request	*req = UNCONST(creq);
	int			 port;

	if (req->proxylen == 0)
		return NULL;
	addr_format((struct sockaddr *)&req->proxy, req->proxy_addr,
	    sizeof(req->proxy_addr), &port);
	return req->proxy_addr;
}

int
pfsd_request_allowed(const struct pfsd_request *req)
{
	return req != NULL && req->allowed;
}

const char *
pfsd_child_kind(const struct pfsd_server *srv)
{
	if (srv == NULL || !srv->is_child)
		return NULL;
	return srv->dequeue ? "dequeue" : "worker";
}

/* VALUE as a number of option ID, within its bounds; -1 otherwise. */
static int
api_number(enum opt_id id, const char *value, long *n)
{
	char	*end;

	if (value == NULL || *value < '0' || *value > '9')
		return -1;
	errno = 0;
	*n = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || *n < conf_options[id].min ||
	    *n > conf_options[id].max)
		return -1;
	return 0;
}

/*
 * Net::Server's set_property, for the keys where a change from a hook is
 * safe (pfsd.h says which and what they do).
 */
int
pfsd_set_option(struct pfsd_server *srv, const char *key, const char *value)
{
	long	n;
	int	id = key != NULL ? conf_find(key) : -1;

	if (srv == NULL || (id != OPT_MAX_SERVERS && id != OPT_MAX_REQUESTS &&
	    id != OPT_LOG_LEVEL) || api_number(id, value, &n) == -1) {
		errno = EINVAL;
		return -1;
	}
	switch (id) {
	case OPT_MAX_SERVERS:
		if (srv->is_child) {
			errno = EPERM;
			return -1;
		}
		srv->max_servers = n;
		log_msg(PFSD_LOG_NOTICE, "max_servers is now %ld (set by the "
		    "handler)", n);
		break;
	case OPT_MAX_REQUESTS:
		if (srv->is_child)
			srv->max_requests = (unsigned long)n;
		else
			conf_set(srv->conf, "max_requests", value,
			    CONF_CMDLINE, "handler", 0);
		break;
	default:
		log_init(NULL, (int)n);
		break;
	}
	return 0;
}

/* TLS: NULL on plain connections (pfsd_request.tls is NULL). */
const char *
pfsd_tls_version(const struct pfsd_request *req)
{
	return req->tls != NULL ? tls_name(req->tls, TLS_NAME_VERSION) : NULL;
}

const char *
pfsd_tls_cipher(const struct pfsd_request *req)
{
	return req->tls != NULL ? tls_name(req->tls, TLS_NAME_CIPHER) : NULL;
}

const char *
pfsd_tls_sni(const struct pfsd_request *req)
{
	return req->tls != NULL ? tls_name(req->tls, TLS_NAME_SNI) : NULL;
}

const char *
pfsd_tls_peer_subject(const struct pfsd_request *req)
{
	return req->tls != NULL ? tls_name(req->tls, TLS_NAME_SUBJECT) : NULL;
}
