/*
 * proctitle.c - what `ps` shows: "pfsd: parent gen 3 8/8 children
 * /etc/pfsd/pfsd.conf", "pfsd: child gen 3 busy 203.0.113.7:5555", ...
 *
 * Linux shows a process's command line from the memory its argv strings
 * were in, so the title is written there, as nginx and PostgreSQL do.
 * The environment's strings follow argv's in that memory: they are
 * copied to the heap first (and environ pointed at the copies), and the
 * command line itself is copied too, for the HUP re-exec, so the whole
 * area is free for the title.  proctitle_init() must run before anything
 * keeps a pointer into argv or the environment.  Setting a title is a
 * memcpy, no system call; the kernel's short name (comm) is set once per
 * role with PR_SET_NAME.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

extern char	**environ;

static struct {
	char	**argv;		/* the copy of the command line */
	char	**env;		/* the environment's copies, all of them:
				 * unsetenv() drops them from environ */
	char	**environ0;	/* the array environ first pointed to:
				 * setenv() may replace it */
	char	*start;		/* argv[0]'s memory */
	size_t	 len;		/* up to the end of the last string */
	size_t	 shown;		/* bytes of the current title */
} pt;

static char *
xstrdup(const char *s)
{
	char	*d = strdup(s);

	if (d == NULL)
		fatal("proctitle: strdup");
	return d;
}

/*
 * Take over the argv and environment area; returns a copy of argv (on
 * the heap, NULL-ended) for whoever needs the command line later.
 */
char **
proctitle_init(int argc, char **argv)
{
	char	**copy, **env, *end;
	size_t	  i, n = 0;

	if ((copy = calloc((size_t)argc + 1, sizeof(*copy))) == NULL)
		fatal("proctitle: calloc");
	for (i = 0; i < (size_t)argc; i++)
		copy[i] = xstrdup(argv[i]);
	pt.argv = copy;		/* kept for the life of the process */
	if (argc == 0 || argv[0] == NULL)
		return copy;
	/* the area: argv's strings, then the environment's, if they follow */
	end = argv[0];
	for (i = 0; i < (size_t)argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (i = 0; environ[i] != NULL; i++, n++)
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL ||
	    (pt.env = calloc(n + 1, sizeof(*pt.env))) == NULL)
		fatal("proctitle: calloc");
	for (i = 0; i < n; i++)
		env[i] = pt.env[i] = xstrdup(environ[i]);
	environ = pt.environ0 = env;
	pt.start = argv[0];
	pt.len = (size_t)(end - argv[0]);
	pt.shown = pt.len;
	return copy;
}

/* The title, cut to the area; the rest of the old one cleared. */
void
proctitle_set(const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (pt.start == NULL || pt.len < 2)
		return;
	va_start(ap, fmt);
	n = vsnprintf(pt.start, pt.len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= pt.len)
		n = (int)pt.len - 1;
	if ((size_t)n < pt.shown)
		memset(pt.start + n, '\0', pt.shown - (size_t)n);
	pt.shown = (size_t)n;
}

/*
 * A child's two titles, made cheap for the request path: the idle one is
 * formatted once, the busy one is the prefix plus the peer.
 */
static struct {
	char	idle[64];
	char	busy[40];	/* "pfsd: child gen N busy " */
	size_t	busylen;
	int	on;
} ct;

void
proctitle_child(const struct pfsd_server *srv)
{
	ct.on = conf_num(srv->conf, OPT_PROCESS_TITLES) != 0;
	if (!ct.on)
		return;
	proctitle_name("pfsd child");
	snprintf(ct.idle, sizeof(ct.idle), "pfsd: child gen %u idle",
	    srv->generation);
	ct.busylen = (size_t)snprintf(ct.busy, sizeof(ct.busy),
	    "pfsd: child gen %u busy ", srv->generation);
	proctitle_set("%s", ct.idle);
}

void
proctitle_busy(const char *peer, int port)
{
	if (ct.on)
		proctitle_set("%s%s:%d", ct.busy, peer, port);
}

void
proctitle_idle(void)
{
	if (ct.on)
		proctitle_set("%s", ct.idle);
}

/* The kernel's name for the process (15 bytes), once per role. */
void
proctitle_name(const char *name)
{
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_NAME)
	prctl(PR_SET_NAME, name, 0, 0, 0);
#else
	(void)name;
#endif
}
