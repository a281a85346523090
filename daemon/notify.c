/*
 * notify.c - sd_notify(3) for systemd (Type=notify): READY=1 and a
 * STATUS= line, without libsystemd.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int notify_fd = -1;

/*
 * sd_notify(3) without libsystemd: a datagram socket connected to
 * $NOTIFY_SOCKET once at startup, while the path is still reachable and
 * writable (before chroot and the switch of user).
 */
void
notify_open(void)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;

	if (notify_fd != -1 || path == NULL || (*path != '/' &&
	    *path != '@') || strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (*path == '@')	/* abstract namespace */
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (connect(notify_fd, (struct sockaddr *)&sun, len) == -1) {
		log_warn("NOTIFY_SOCKET %s", path);
		close(notify_fd);
		notify_fd = -1;
	}
}

void
notify_send(const char *msg)
{
	if (notify_fd != -1)	/* never wait for a reader that does not read */
		(void)!send(notify_fd, msg, strlen(msg), MSG_NOSIGNAL |
		    MSG_DONTWAIT);
}

/* READY=1 (when ready) and a STATUS= line with the pool's state. */
void
notify_status(struct pfsd_server *srv, int ready)
{
	char	msg[160 + sizeof(srv->reload_status)];

	snprintf(msg, sizeof(msg), "%sSTATUS=generation %u, %zu children, "
	    "max_servers %ld%s%s", ready ? "READY=1\n" : "", srv->generation,
	    pool_count(CHILD_WORKER, 1), srv->max_servers,
	    srv->reload_status[0] != '\0' ? "; " : "", srv->reload_status);
	notify_send(msg);
}
