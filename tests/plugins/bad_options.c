/*
 * bad_options.c - test handler: declarations pfsd must refuse, each with
 * a message naming the option and what is wrong with it.
 */
#include <pfsd.h>

static const char *const none[] = { NULL };

static const struct pfsd_option_def opts[] = {
	{ "user", PFSD_OPT_STRING, NULL, 0, 0, NULL, "pfsd's own key" },
	{ "b_enum", PFSD_OPT_ENUM, NULL, 0, 0, none, "no choices" },
	{ "b_num", PFSD_OPT_NUMBER, "9", 1, 5, NULL, "default out of range" },
	{ "b_range", PFSD_OPT_NUMBER, NULL, 5, 1, NULL, "min > max" },
	{ "b twice", PFSD_OPT_STRING, NULL, 0, 0, NULL, "a blank" },
	{ "b_ok", PFSD_OPT_STRING, NULL, 0, 0, NULL, "fine" },
	{ "b_ok", PFSD_OPT_STRING, NULL, 0, 0, NULL, "declared twice" },
	{ NULL, PFSD_OPT_STRING, NULL, 0, 0, NULL, NULL }
};

PFSD_PLUGIN_OPTIONS("bad_options", opts);

int
process_request(struct pfsd_request *req)
{
	(void)req;
	return 0;
}
