/*
 * fuzz_inherit.c - libFuzzer target: taking over listening sockets from
 * the environment (listen_inherit: PFSD_LISTEN_FDS, LISTEN_FDS and
 * LISTEN_PID).
 *
 * The input is up to three lines (a NUL ends a line too): the value of
 * PFSD_LISTEN_FDS, of LISTEN_FDS, of LISTEN_PID; a line the input does not
 * reach leaves its variable unset.  Before use, "$T", "$U", "$6" and "$S"
 * are replaced by the port of the harness's TCP, UDP and IPv6 listeners
 * and the path of its UNIX socket, and "$$" by our pid: those change from
 * run to run and the fuzzer could not guess them.  The configured
 * listeners (all fd -1, not bound) are 127.0.0.1:0/tcp, 127.0.0.1:0/udp,
 * [::1]:0/tcp and the UNIX socket; port 0 takes whatever port a socket
 * has.
 *
 * Safety.  listen_inherit() closes a descriptor named in a variable when
 * it is a listening (or bound datagram) socket that the configuration
 * does not have; a descriptor that is not open or not such a socket is
 * only warned about.  So the harness:
 *  - owns descriptors 3 to 9, where systemd would put sockets: the ones
 *    above, a second descriptor of the TCP listener (so that "not
 *    configured, closed" happens), an unbound socket and /dev/null.  It
 *    refuses to start unless 3-9 are free; make fuzz closes them for it;
 *  - before each run, works out every descriptor the variables can make
 *    listen_inherit look at (each PFSD_LISTEN_FDS entry's number, parsed
 *    as listen.c parses it, and 3 to 3+LISTEN_FDS-1 when LISTEN_PID is
 *    our pid) and skips the input if any of them is open and not its
 *    own: the fuzzer's descriptors (stdio, corpus files, pipes) are never
 *    touched, whatever the input;
 *  - after each run, makes all its descriptors again if listen.c closed
 *    one, so that every run starts from the same state.
 * LISTEN_FDS above FUZZ_SYSTEMD_MAX is skipped as well: listen.c would
 * walk up to _SC_OPEN_MAX descriptors (systemd, which sets it, is
 * trusted), which is only slow.  FUZZ_LOG=1 shows listen.c's messages.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_FD_BASE		3	/* where systemd puts its sockets */
#define FUZZ_SYSTEMD_MAX	64

enum { FD_TCP, FD_UDP, FD_UNIX, FD_TCP6, FD_TCP_DUP, FD_UNBOUND, FD_NULL,
    FD__COUNT };

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	sockpath[64];	/* of the UNIX listener, now */

static void
die(const char *what)
{
	perror(what);
	abort();
}

/* Put fd at FUZZ_FD_BASE + slot. */
static void
place(int fd, int slot)
{
	if (fd == -1)
		die("fuzz_inherit: socket");
	if (fd == FUZZ_FD_BASE + slot)
		return;
	if (dup2(fd, FUZZ_FD_BASE + slot) == -1)
		die("fuzz_inherit: dup2");
	close(fd);
}

static int
inet_listener(int family, int type)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	int			fd, on = 1;

	if ((fd = socket(family, type, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if ((family == AF_INET ? bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) : bind(fd, (struct sockaddr *)&sin6,
	    sizeof(sin6))) == -1 || (type == SOCK_STREAM &&
	    listen(fd, 1) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A UNIX listener at a new path in a new directory, both removed at once:
 * a bound socket keeps its name without its file, and libFuzzer ends
 * without running atexit handlers, so nothing is left in /tmp.
 */
static int
unix_listener(void)
{
	struct sockaddr_un	sun;
	char			dir[] = "/tmp/pfsd-fuzz-XXXXXX";
	int			fd, rc;

	if (mkdtemp(dir) == NULL)
		die("fuzz_inherit: mkdtemp");
	snprintf(sockpath, sizeof(sockpath), "%s/s", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	unlink(sockpath);
	rmdir(dir);
	if (rc == -1 || listen(fd, 1) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/*
 * Make the owned descriptors, all of them again if listen.c closed one,
 * so that every run starts from the same state.
 */
static void
make_fds(void)
{
	int	i, fd6, all = 1;

	for (i = 0; i < FD__COUNT; i++)
		all = all && is_open(FUZZ_FD_BASE + i);
	if (all)
		return;
	for (i = 0; i < FD__COUNT; i++)
		close(FUZZ_FD_BASE + i);
	place(inet_listener(AF_INET, SOCK_STREAM), FD_TCP);
	place(inet_listener(AF_INET, SOCK_DGRAM), FD_UDP);
	place(unix_listener(), FD_UNIX);
	/* Without IPv6 the slot holds /dev/null: "not a socket". */
	if ((fd6 = inet_listener(AF_INET6, SOCK_STREAM)) == -1)
		fd6 = open("/dev/null", O_RDONLY);
	place(fd6, FD_TCP6);
	place(dup(FUZZ_FD_BASE + FD_TCP), FD_TCP_DUP);
	place(socket(AF_INET, SOCK_STREAM, 0), FD_UNBOUND);
	place(open("/dev/null", O_RDONLY), FD_NULL);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	i;

	/* FUZZ_LOG=1 shows what listen.c makes of each input. */
	log_init("fuzz_inherit", getenv("FUZZ_LOG") != NULL ?
	    PFSD_LOG_DEBUG : PFSD_LOG_ERR);
	for (i = 0; i < FD__COUNT; i++)
		if (is_open(FUZZ_FD_BASE + i)) {
			fprintf(stderr, "fuzz_inherit: fd %d is in use; run "
			    "me with descriptors %d-%d closed\n",
			    FUZZ_FD_BASE + i, FUZZ_FD_BASE,
			    FUZZ_FD_BASE + FD__COUNT - 1);
			abort();
		}
	make_fds();
	return 0;
}

static int
owned(long fd)
{
	return fd >= FUZZ_FD_BASE && fd < FUZZ_FD_BASE + FD__COUNT;
}

static int
local_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* What "$X" stands for, or NULL for a literal '$'. */
static const char *
expansion(char x, char *buf, size_t len)
{
	switch (x) {
	case 'T':
		snprintf(buf, len, "%d", local_port(FUZZ_FD_BASE + FD_TCP));
		return buf;
	case 'U':
		snprintf(buf, len, "%d", local_port(FUZZ_FD_BASE + FD_UDP));
		return buf;
	case '6':
		snprintf(buf, len, "%d", local_port(FUZZ_FD_BASE + FD_TCP6));
		return buf;
	case 'S':
		return sockpath;
	case '$':
		snprintf(buf, len, "%ld", (long)getpid());
		return buf;
	default:
		return NULL;
	}
}

/* The line s with its "$X" replaced, malloc'd. */
static char *
expand(const char *s)
{
	char		*out, *o, num[32];
	const char	*x;

	if ((o = out = malloc(strlen(s) * sizeof(sockpath) + 1)) == NULL)
		abort();
	for (; *s != '\0'; s++) {
		if (*s == '$' && (x = expansion(s[1], num, sizeof(num))) !=
		    NULL) {
			o = stpcpy(o, x);
			s++;
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* listen.c's number: digits, in range, nothing after; -1 otherwise. */
static long
number(const char *s)
{
	char	*end;
	long	 v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || v > INT_MAX ? -1 : v;
}

/* Does any PFSD_LISTEN_FDS entry name a descriptor that is not ours? */
static int
env_unsafe(const char *v)
{
	const char	*p;
	long		 fd;

	for (p = v; p != NULL && *p != '\0'; p = strchr(p, ';'),
	    p = p != NULL ? p + 1 : NULL) {
		if (!isdigit((unsigned char)*p))
			continue;
		errno = 0;
		fd = strtol(p, NULL, 10);
		if (errno == 0 && fd <= INT_MAX && !owned(fd) &&
		    is_open((int)fd))
			return 1;
	}
	return 0;
}

/* Would LISTEN_FDS make listen.c walk a descriptor that is not ours? */
static int
systemd_unsafe(const char *fds, const char *pid)
{
	long	n = number(fds), p = number(pid), fd;

	if (n < 0 || p < 0 || (pid_t)p != getpid())
		return 0;
	if (n > FUZZ_SYSTEMD_MAX)
		return 1;
	for (fd = 3; fd < 3 + n; fd++)
		if (!owned(fd) && is_open((int)fd))
			return 1;
	return 0;
}

/* The configured listeners, none bound (fd -1). */
static struct conf *
configured(struct listener **ls, size_t *n)
{
	struct conf	*c = conf_new();
	char		 unixport[128];

	snprintf(unixport, sizeof(unixport), "%s/unix", sockpath);
	conf_set(c, "port", "127.0.0.1:0/tcp", CONF_FILE, "fuzz", 1);
	conf_set(c, "port", "127.0.0.1:0/udp", CONF_FILE, "fuzz", 2);
	conf_set(c, "port", "[::1]:0/tcp", CONF_FILE, "fuzz", 3);
	conf_set(c, "port", unixport, CONF_FILE, "fuzz", 4);
	if (listen_configure(c, ls, n) == -1)
		abort();
	return c;
}

/* What listen_inherit must leave: adopted fds ours, once each. */
static void
check_result(const struct listener *ls, size_t n, int rc, const char *err)
{
	size_t	i, j;

	if (rc == -1 && err[0] == '\0')
		abort();
	if (getenv(ENV_LISTEN_FDS) != NULL || getenv("LISTEN_FDS") != NULL ||
	    getenv("LISTEN_PID") != NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (ls[i].fd == -1)
			continue;
		if (!owned(ls[i].fd) || !ls[i].inherited || !is_open(ls[i].fd))
			abort();
		for (j = 0; j < i; j++)
			if (ls[j].fd == ls[i].fd)
				abort();
	}
}

static void
set_or_unset(const char *name, const char *value)
{
	if (value == NULL)
		unsetenv(name);
	else if (setenv(name, value, 1) == -1)
		abort();
}

/* Split into lines, expand them, check they are safe; 0 to run. */
static int
prepare(const uint8_t *data, size_t size, char *line[3])
{
	char	*buf, *p;
	size_t	 i, len;

	if ((buf = calloc(1, size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	for (i = 0, p = buf; i < 3; i++) {
		line[i] = NULL;
		if (p > buf + size)
			continue;
		len = strcspn(p, "\n");
		p[len] = '\0';
		line[i] = expand(p);
		p += len + 1;
	}
	free(buf);
	return env_unsafe(line[0]) || systemd_unsafe(line[1], line[2]) ?
	    -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listener	*ls;
	struct conf	*c;
	char		*line[3], err[ERRBUF_SIZE] = "";
	size_t		 n, i;
	int		 rc;

	if (prepare(data, size, line) == 0) {
		set_or_unset(ENV_LISTEN_FDS, line[0]);
		set_or_unset("LISTEN_FDS", line[1]);
		set_or_unset("LISTEN_PID", line[2]);
		c = configured(&ls, &n);
		rc = listen_inherit(ls, n, err, sizeof(err));
		check_result(ls, n, rc, err);
		listen_free(ls, n);	/* the descriptors stay ours */
		conf_free(c);
		make_fds();
	}
	for (i = 0; i < 3; i++)
		free(line[i]);
	return 0;
}
