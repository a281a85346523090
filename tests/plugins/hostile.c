/*
 * hostile.c - test handler doing what careless or hostile handler code
 * does to its child, for the daemon and engine suites.  Reads one line:
 *	unlisten	put /dev/null over every listening socket of this
 *			child (its accept() then fails, again and again)
 *	fclose stdout	answer "bye", then fclose(stdout)
 *	fclose stdin	answer "bye", then fclose(stdin)
 *	log TEXT	pfsd_log(TEXT as a %s argument), answer "logged"
 *	deep N [MS]	write N KiB of stack (up to 1024), sleep MS ms (0),
 *			answer "deep PID"
 *	anything else	echoed back
 * A UDP request (with or without no_client_stdout) is answered with
 * sendto(): "data=" and the bytes pfsd_request_data() gives.
 */
#include <sys/socket.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pfsd.h>

PFSD_PLUGIN("hostile");

static void
unlisten(void)
{
	socklen_t	len;
	int		fd, on, null = open("/dev/null", O_RDWR);

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(on);
		if (fd != null && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
		    &on, &len) == 0 && on)
			dup2(null, fd);
	}
	close(null);
}

/* A frame of kib KiB, every byte written: the stack a deep handler uses. */
__attribute__((noinline)) static int
deep(size_t kib)
{
	volatile char	frame[1024 * 1024];
	size_t		i;

	for (i = 0; i < kib * 1024 && i < sizeof(frame); i++)
		frame[sizeof(frame) - 1 - i] = (char)i;
	return frame[sizeof(frame) - 1];
}

static int
datagram(struct pfsd_request *req)
{
	const struct sockaddr	*sa;
	const void		*data;
	socklen_t		 salen;
	size_t			 len;
	char			 reply[1024];
	int			 n;

	data = pfsd_request_data(req, &len);
	sa = pfsd_peer_sockaddr(req, &salen);
	n = snprintf(reply, sizeof(reply), "data=%.*s", (int)len,
	    data != NULL ? (const char *)data : "(null)");
	sendto(pfsd_request_fd(req), reply, (size_t)n, 0, sa, salen);
	return 0;
}

int
process_request(struct pfsd_request *req)
{
	char	line[1024], *end;

	if (pfsd_request_proto(req) == PFSD_PROTO_UDP)
		return datagram(req);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	if (strcmp(line, "unlisten\n") == 0) {
		unlisten();
		printf("ok\n");
	} else if (strcmp(line, "fclose stdout\n") == 0) {
		printf("bye\n");
		fclose(stdout);
	} else if (strcmp(line, "fclose stdin\n") == 0) {
		printf("bye\n");
		fflush(stdout);
		fclose(stdin);
	} else if (strncmp(line, "log ", 4) == 0) {
		line[strcspn(line, "\n")] = '\0';
		pfsd_log(PFSD_LOG_NOTICE, "hostile: %s", line + 4);
		printf("logged\n");
	} else if (strncmp(line, "deep ", 5) == 0) {
		deep(strtoul(line + 5, &end, 10));
		usleep((useconds_t)strtoul(end, NULL, 10) * 1000);
		printf("deep %ld\n", (long)getpid());
	} else
		printf("%s", line);
	return 0;
}
