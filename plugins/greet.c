/*
 * greet.c - a template for a handler with its own options and hooks.
 *
 *	handler		greet
 *	greeting	Good morning	# this handler's option, default "Hello"
 *	greet_repeat	2		# optional: lines per client, 1 to 100
 *
 * The handler declares its options (greet_options below): pfsd checks
 * their values like its own keys, so a bad one stops pfsd at startup with
 * FILE:LINE (and `pfsd -t` says why) instead of failing in every child;
 * `pfsd --help -c FILE` lists them and `pfsd -T` shows their values.
 * post_configure_hook reads them once, in the parent.  Each child counts
 * its clients from child_init_hook and logs the total from
 * child_finish_hook.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pfsd.h>

static const struct pfsd_option_def greet_options[] = {
	{ "greeting", PFSD_OPT_STRING, "Hello", 0, 0, NULL,
	    "what to say to each client" },
	{ "greet_repeat", PFSD_OPT_NUMBER, "1", 1, 100, NULL,
	    "lines per client" },
	{ NULL, PFSD_OPT_STRING, NULL, 0, 0, NULL, NULL }
};

PFSD_PLUGIN_OPTIONS("greet", greet_options);

/* Set in the parent before the fork, so every child inherits them. */
static const char	*greeting;	/* pfsd's copy lives as long as we do */
static long		 repeat;

/* This child's count: starts in child_init_hook, after the fork. */
static unsigned long	 served;

/* The values are pfsd's checked ones: a default, or what was set. */
int
post_configure_hook(struct pfsd_server *srv)
{
	greeting = pfsd_option(srv, "greeting");
	repeat = strtol(pfsd_option(srv, "greet_repeat"), NULL, 10);
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
