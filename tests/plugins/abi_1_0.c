/*
 * abi_1_0.c - test handler: built the way pfsd.h 1.0 wrote a plugin, its
 * descriptor three members long (no options pointer).  pfsd must load it
 * without reading past the descriptor (ASan's redzone around this global
 * catches a read of a member 1.0 did not have) and treat it as declaring
 * no options.  The struct is spelled out because that is what a plugin
 * compiled against the 1.0 header contains.
 */
#include <stdio.h>

#include <pfsd.h>

struct pfsd_plugin_1_0 {
	unsigned int	 abi_major;
	unsigned int	 abi_minor;
	const char	*name;
};

PFSD_EXPORT const struct pfsd_plugin_1_0 pfsd_plugin = { 1, 0, "abi_1_0" };

int
process_request(struct pfsd_request *req)
{
	const char	*g = pfsd_option(pfsd_request_server(req), "greeting");

	printf("%s\n", g != NULL ? g : "(none)");
	return 0;
}
