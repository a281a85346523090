/*
 * no_process_request.c - test handler: a valid descriptor and a hook, but
 * not the one required function; pfsd must refuse it.
 */
#include <pfsd.h>

PFSD_PLUGIN("no_process_request");

int
child_init_hook(struct pfsd_server *srv)
{
	(void)srv;
	return 0;
}
