/*
 * conf_helpers.c - see conf_helpers.h.
 */
#include <check.h>
#include <stdio.h>

#include "internal.h"
#include "conf_helpers.h"

/* What conf_print writes, malloc'd. */
char *
printed(const struct conf *c)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	conf_print(c, fp);
	fclose(fp);
	return buf;
}

/* The messages are exactly WANT (NULL-ended), in order. */
void
assert_msgs(char **got, size_t n, const char *const *want)
{
	size_t	i;

	for (i = 0; want[i] != NULL; i++) {
		ck_assert_msg(i < n, "missing message \"%s\"", want[i]);
		ck_assert_str_eq(got[i], want[i]);
	}
	ck_assert_msg(n == i, "%zu messages, expected %zu; extra: %s", n, i,
	    n > i ? got[i] : "");
}
