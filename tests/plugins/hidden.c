/*
 * hidden.c - test handler: what -fvisibility=hidden makes of a handler.
 * The pragma has the effect of the flag on this file: process_request is
 * defined but not exported, so pfsd cannot find it and must say how to
 * fix that.  The descriptor stays visible (PFSD_EXPORT).
 */
#pragma GCC visibility push(hidden)

#include <pfsd.h>

PFSD_PLUGIN("hidden");

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}

#pragma GCC visibility pop
