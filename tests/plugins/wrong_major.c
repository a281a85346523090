/*
 * wrong_major.c - test handler: its descriptor claims the next major ABI
 * (written by hand, as a future pfsd.h would), so pfsd must refuse it.
 */
#include <pfsd.h>

PFSD_EXPORT const struct pfsd_plugin pfsd_plugin = {
	PFSD_ABI_MAJOR + 1, PFSD_ABI_MINOR, "wrong_major", NULL
};

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}
