/*
 * fuzz_kv.c - libFuzzer target: the key/value configuration lexer.
 *
 * The input is a configuration file's text: conf_parse_kv() into a fresh
 * conf, then conf_print() of what it kept, then conf_free().  Like
 * conf_load_file(), which refuses a file holding a NUL byte, the text ends
 * at the first NUL.  Besides the sanitizers, three properties abort():
 * the return value agrees with the error list; no stored value of a known
 * key holds a control character other than a tab; and -T output reads
 * back (conf_print promises that): parsing what conf_print wrote gives no
 * error and the same values for every key it prints.
 */
#include "internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FILE	"fuzz.conf"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_kv", PFSD_LOG_ERR);
	return 0;
}

static void
check_values(const struct conf *c)
{
	const char	*s;
	size_t		 i, k;

	for (i = 0; i < OPT__COUNT; i++)
		for (k = 0; k < conf_count(c, (enum opt_id)i); k++)
			for (s = conf_at(c, (enum opt_id)i, k); *s != '\0'; s++)
				if (iscntrl((unsigned char)*s) && *s != '\t')
					abort();
}

static void
same_item(const struct conf_item *a, const struct conf_item *b)
{
	size_t	k;

	if (a->n != b->n)
		abort();
	for (k = 0; k < a->n; k++)
		if (strcmp(a->v[k].str, b->v[k].str) != 0)
			abort();
}

/* What conf_print wrote for c, read back, means what c means. */
static void
check_round_trip(const struct conf *c)
{
	struct conf	*back;
	char		*buf = NULL;
	size_t		 len = 0, i;
	FILE		*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		abort();
	conf_print(c, fp);
	fclose(fp);
	back = conf_new();
	if (conf_parse_kv(back, "printed", buf) != 0)
		abort();
	for (i = 0; i < OPT__COUNT; i++)
		if (i != OPT_PORT && i != OPT_CONF_FILE)
			same_item(&c->opt[i], &back->opt[i]);
	if (back->nextra != c->nextra)
		abort();
	for (i = 0; i < c->nextra; i++) {
		if (strcmp(c->extra[i].key, back->extra[i].key) != 0)
			abort();
		same_item(&c->extra[i].item, &back->extra[i].item);
	}
	conf_free(back);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		*text;
	size_t		 i;
	int		 rc;

	if ((text = strndup((const char *)data, size)) == NULL)
		abort();
	c = conf_new();
	rc = conf_parse_kv(c, FUZZ_FILE, text);
	if ((rc == 0) != (c->nerrors == 0))
		abort();
	for (i = 0; i < c->nerrors; i++)
		if (strncmp(c->errors[i], FUZZ_FILE ":", 10) != 0)
			abort();
	check_values(c);
	check_round_trip(c);
	conf_free(c);
	free(text);
	return 0;
}
