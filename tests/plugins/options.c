/*
 * options.c - test handler: declares one option of every kind, and
 * answers each client with the values pfsd hands it (pfsd_option), one
 * "key=value" line each, list items joined by ','.
 */
#include <stdio.h>

#include <pfsd.h>

static const char *const colours[] = { "red", "green", "blue", NULL };

static const struct pfsd_option_def opts[] = {
	{ "o_text", PFSD_OPT_STRING, "plain", 0, 0, NULL, "some text" },
	{ "o_num", PFSD_OPT_NUMBER, "7", -5, 50, NULL, "a number" },
	{ "o_any", PFSD_OPT_NUMBER, NULL, 0, 0, NULL, "any number" },
	{ "o_bool", PFSD_OPT_BOOLEAN, "no", 0, 0, NULL, "a switch" },
	{ "o_list", PFSD_OPT_LIST, NULL, 0, 0, NULL, "several words" },
	{ "o_colour", PFSD_OPT_ENUM, "red", 0, 0, colours, "a colour" },
	{ "o_path", PFSD_OPT_PATH, NULL, 0, 0, NULL, "a file" },
	{ NULL, PFSD_OPT_STRING, NULL, 0, 0, NULL, NULL }
};

PFSD_PLUGIN_OPTIONS("options", opts);

int
process_request(struct pfsd_request *req)
{
	const struct pfsd_server	*srv = pfsd_request_server(req);
	const char			*v;
	size_t				 i, n;

	for (i = 0; opts[i].name != NULL; i++) {
		if (opts[i].kind == PFSD_OPT_LIST) {
			printf("%s=", opts[i].name);
			n = pfsd_option_count(srv, opts[i].name);
			for (size_t k = 0; k < n; k++)
				printf("%s%s", k > 0 ? "," : "",
				    pfsd_option_at(srv, opts[i].name, k));
			printf("\n");
			continue;
		}
		v = pfsd_option(srv, opts[i].name);
		printf("%s=%s\n", opts[i].name, v != NULL ? v : "(unset)");
	}
	return 0;
}
