/*
 * floor - the least a prefork line-echo server can do, as a reference.
 *
 *   floor -p PORT -n CHILDREN
 *   floor -u PATH -n CHILDREN
 *
 * Binds 127.0.0.1:PORT (or the UNIX socket PATH), forks CHILDREN children
 * that each loop: accept (blocking, all on the one socket, no lock) → echo
 * what is read until the client closes → close.  Nothing else: no logging, no access
 * control, no scoreboard, no replacement of children.  What pfsd costs more
 * than this is the price of its features.
 *
 * The parent waits; on SIGTERM or SIGINT it kills its children and exits 0.
 * Children die with the parent (PR_SET_PDEATHSIG), and the parent dies with
 * whoever started it, so a killed benchmark leaves no orphans.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FL_CHILDREN_MAX	4096
#define FL_LINE_MAX	8192

static volatile sig_atomic_t	fl_stop;

static void
usage(void)
{
	fprintf(stderr, "usage: floor (-p PORT | -u PATH) -n CHILDREN\n");
	exit(2);
}

static long
fl_number(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "floor: %s: \"%s\" is not an integer from %ld "
		    "to %ld\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

static void
fl_fatal(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
fl_listen_inet(long port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fl_fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		fl_fatal("setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fl_fatal("bind 127.0.0.1");
	return fd;
}

static int
fl_listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "floor: -u: path too long\n");
		exit(2);
	}
	strcpy(sun.sun_path, path);
	/* Replace a stale socket, never another kind of file. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fl_fatal("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fl_fatal(path);
	return fd;
}

/*
 * Echo what the client sends until it closes, then close: the same work
 * as pfsd's echo handler and the Net::Server echo (a line in, the line
 * out, EOF), with nothing around it.
 */
static void
fl_serve(int fd)
{
	char	buf[FL_LINE_MAX];
	size_t	off;
	ssize_t	n, w;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			w = write(fd, buf + off, (size_t)n - off);
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w <= 0)
				goto out;
		}
	}
out:
	close(fd);
}

static void
fl_child(int lfd, pid_t parent)
{
	int	fd;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		fl_serve(fd);
	}
}

static void
fl_on_signal(int sig)
{
	(void)sig;
	fl_stop = 1;
}

static void
fl_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Wait until a stop signal or until every child is gone; then reap all. */
static void
fl_wait(const pid_t *pids, long children)
{
	long	left = children, i;

	while (!fl_stop && left > 0) {
		if (wait(NULL) > 0)
			left--;
		else if (errno == ECHILD)
			break;
	}
	for (i = 0; i < children; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

int
main(int argc, char **argv)
{
	const char	*path = NULL;
	long		 port = -1, children = -1, i;
	int		 ch, lfd;
	pid_t		 self, *pids;

	while ((ch = getopt(argc, argv, "n:p:u:")) != -1) {
		switch (ch) {
		case 'n':
			children = fl_number("-n", optarg, 1, FL_CHILDREN_MAX);
			break;
		case 'p':
			port = fl_number("-p", optarg, 1, 65535);
			break;
		case 'u':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || children == -1 || (port == -1) == (path == NULL))
		usage();
	self = getpid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fl_fatal("prctl");
	fl_signals();
	lfd = path != NULL ? fl_listen_unix(path) : fl_listen_inet(port);
	if (listen(lfd, SOMAXCONN) == -1)
		fl_fatal("listen");
	if ((pids = calloc((size_t)children, sizeof(*pids))) == NULL)
		fl_fatal("calloc");
	for (i = 0; i < children; i++) {
		if ((pids[i] = fork()) == -1)
			fl_fatal("fork");
		if (pids[i] == 0)
			fl_child(lfd, self);
	}
	fl_wait(pids, children);
	free(pids);
	if (path != NULL)
		unlink(path);
	return 0;
}
