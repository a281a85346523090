/*
 * newer_minor.c - test handler: built for a newer minor ABI than this pfsd
 * speaks, so it may call functions pfsd lacks; pfsd must refuse it.
 */
#include <pfsd.h>

PFSD_EXPORT const struct pfsd_plugin pfsd_plugin = {
	PFSD_ABI_MAJOR, PFSD_ABI_MINOR + 1, "newer_minor", NULL
};

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}
