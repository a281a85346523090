/*
 * no_descriptor.c - test handler: a process_request but no PFSD_PLUGIN(),
 * as a .so built without pfsd.h in mind would be; pfsd must refuse it.
 */
#include <pfsd.h>

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}
