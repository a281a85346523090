/*
 * unresolved.c - test handler: calls a function nothing defines, so that
 * dlopen(RTLD_NOW) fails and pfsd names the missing symbol at startup
 * rather than crashing a child at the first request.
 */
#include <pfsd.h>

PFSD_PLUGIN("unresolved");

int	pfsd_no_such_function(void);

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return pfsd_no_such_function();
}
