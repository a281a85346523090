/*
 * failing_configure.c - test handler: loads fine, but its
 * post_configure_hook rejects the configuration, so pfsd must stop at
 * startup (and `pfsd -t` fail) naming the hook.
 */
#include <pfsd.h>

PFSD_PLUGIN("failing_configure");

int
post_configure_hook(struct pfsd_server *srv)
{
	(void)srv;
	pfsd_log(PFSD_LOG_ERR, "failing_configure: refusing on purpose");
	return 1;
}

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}
