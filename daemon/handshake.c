/*
 * handshake.c - TCP handshakes at a graceful stop.  Between the moment
 * the parent empties a listener's accept queue and the moment it shuts
 * the listener, a client whose handshake completes would land in the
 * queue and be reset by the shutdown.  So the parent first has the kernel
 * drop new SYNs (handshake_hold: such a client sends its SYN again a
 * second later and is then refused, or served by the next pfsd on a
 * socket that outlives this one) and then waits for the handshakes
 * already under way (handshakes_pending asks the kernel how many there
 * are) to reach the queue, where it takes them.  docs/DESIGN.md has the
 * whole stop.
 */
#include "internal.h"

#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/*
 * on: attach a classic BPF program to the TCP listener fd that drops
 * every packet with SYN set and ACK clear -- a new connection -- and
 * keeps the rest (the last ACK of a handshake under way, data of one
 * already in the queue).  At a socket filter, offset 0 is the TCP header.
 * Off: take it away again.
 */
int
handshake_hold(int fd, int on)
{
	struct sock_filter	syn[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),	/* the flags */
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),	/* SYN|ACK */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),		/* SYN: drop */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff)	/* keep */
	};
	struct sock_fprog	prog = { nitems(syn), syn };
	int			unused = 0;	/* the kernel wants an int */

	if (on)
		return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		    sizeof(prog));
	return setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused,
	    sizeof(unused));
}

/* Is port (network order) one of the TCP listeners'? */
static int
hs_ours(const struct listener *ls, size_t n, unsigned short port)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ls[i].fd >= 0 && ls[i].proto == PFSD_PROTO_TCP &&
		    ls[i].family != AF_UNIX && htons(ls[i].port) == port)
			return 1;
	return 0;
}

/*
 * Count the answer to one SOCK_DIAG dump of family's TCP sockets in
 * SYN_RECV on our ports.  -1 if the kernel would not say.
 */
static int
hs_dump(int nl, int family, const struct listener *ls, size_t n)
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	r;
	}			 req;
	char			 buf[8192]
				    __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr		*h;
	struct inet_diag_msg	*m;
	ssize_t			 len;
	int			 count = 0;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = (unsigned char)family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = 1U << TCP_SYN_RECV;
	if (send(nl, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -1;
	for (;;) {
		if ((len = recv(nl, buf, sizeof(buf), 0)) <= 0) {
			if (len == -1 && errno == EINTR)
				continue;
			return -1;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		    h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			m = NLMSG_DATA(h);
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*m)) &&
			    m->idiag_state == TCP_SYN_RECV &&
			    hs_ours(ls, n, m->id.idiag_sport))
				count++;
		}
	}
}

/*
 * How many handshakes are under way on the TCP listeners of ls (over
 * IPv4 and IPv6: a dual-stack socket's IPv4 clients are IPv4 requests).
 * A listener of another process on the same port is counted too: that
 * only makes the caller wait a little longer.  -1 if it cannot be known.
 */
int
handshakes_pending(const struct listener *ls, size_t n)
{
	int	nl, v4, v6;

	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	v4 = hs_dump(nl, AF_INET, ls, n);
	v6 = v4 < 0 ? -1 : hs_dump(nl, AF_INET6, ls, n);
	close(nl);
	return v4 < 0 || v6 < 0 ? -1 : v4 + v6;
}
