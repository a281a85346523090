/*
 * greet.c - a template for a handler with its own options and hooks.
 *
 *	handler		greet
 *	greeting	Good morning	# this handler's option, default "Hello"
 *	greet_repeat	2		# optional: lines per client, 1 to 100
 *
 * pfsd warns that it does not know greeting and greet_repeat, and keeps
 * them for the handler: post_configure_hook checks them once, in the
 * parent, so that a bad value stops pfsd at startup (and `pfsd -t` says
 * why) instead of failing in every child.  Each child counts its clients
 * from child_init_hook and logs the total from child_finish_hook.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pfsd.h>

PFSD_PLUGIN("greet");

/* Set in the parent before the fork, so every child inherits them. */
static char		 greeting[128] = "Hello";
static long		 repeat = 1;

/* This child's count: starts in child_init_hook, after the fork. */
static unsigned long	 served;

int
post_configure_hook(struct pfsd_server *srv)
{
	const char	*s;
	char		*end;

	if ((s = pfsd_option(srv, "greeting")) != NULL) {
		if (*s == '\0' || strlen(s) >= sizeof greeting) {
			pfsd_log(PFSD_LOG_ERR, "greet: greeting: must be 1 to "
			    "%zu characters", sizeof greeting - 1);
			return 1;
		}
		strcpy(greeting, s);	/* ours: no reliance on pfsd's copy */
	}
	if ((s = pfsd_option(srv, "greet_repeat")) == NULL)
		return 0;
	errno = 0;
	repeat = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || repeat < 1 ||
	    repeat > 100) {
		pfsd_log(PFSD_LOG_ERR, "greet: greet_repeat: \"%s\" is not a "
		    "number from 1 to 100", s);
		return 1;
	}
	return 0;
}

int
child_init_hook(struct pfsd_server *srv)
{
	(void)srv;
	served = 0;
	pfsd_log(PFSD_LOG_INFO, "greet: child %ld ready to say \"%s\"",
	    (long)getpid(), greeting);
	return 0;
}

int
process_request(struct pfsd_request *req)
{
	const char	*peer;
	long		 i;

	served++;
	if ((peer = pfsd_peer_addr(req)) == NULL || *peer == '\0')
		peer = "stranger";	/* a UNIX socket has no address */
	for (i = 0; i < repeat; i++)
		printf("%s, %s! (request %lu of this child)\n", greeting, peer,
		    served);
	return 0;
}

int
child_finish_hook(struct pfsd_server *srv)
{
	(void)srv;
	pfsd_log(PFSD_LOG_INFO, "greet: child %ld served %lu request%s",
	    (long)getpid(), served, served == 1 ? "" : "s");
	return 0;
}
