/*
 * uses_internal.c - test handler: calls conf_str(), a function pfsd has
 * but does not export (it is not in pfsd.h, so not in daemon/pfsd.sym).
 * Loading must fail: handlers reach pfsd only through its public API.
 */
#include <pfsd.h>

PFSD_PLUGIN("uses_internal");

const char	*conf_str(const void *, int);

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return conf_str((const void *)0, 0) != (const char *)0;
}
