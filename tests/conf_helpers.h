/*
 * conf_helpers.h - what the configuration suites (conf, yaml, cmdline)
 * share: the -T output of a conf, and exact message lists.
 */
#ifndef PFSD_CONF_HELPERS_H
#define PFSD_CONF_HELPERS_H

#include <stddef.h>

struct conf;

char	*printed(const struct conf *);
void	 assert_msgs(char **, size_t, const char *const *);

#endif
