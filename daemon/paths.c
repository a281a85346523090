/*
 * paths.c - compiled twice: once with the build tree's plugins/ (for
 * daemon/pfsd, run from the checkout) and once with the installed
 * $libdir/pfsd/plugins (for the binary make install copies).
 */
#include "internal.h"

#ifndef PFSD_PLUGIN_DIR
#error "PFSD_PLUGIN_DIR must be defined by the Makefile"
#endif

const char *
paths_plugin_dir(void)
{
	return PFSD_PLUGIN_DIR;
}
