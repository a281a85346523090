/*
 * fuzz_yaml.c - libFuzzer target: the YAML configuration front end.
 *
 * The input is a .yaml file's bytes, handed to conf_parse_yaml() as they
 * are (not NUL-terminated, so that a read past the end is caught), into a
 * fresh conf; conf_print() then walks whatever was stored.  The return
 * value must agree with the error list, and every error must name the
 * file.
 *
 * The limits conf_parse_yaml() sets before libyaml sees the text are in
 * force here as in pfsd (libFuzzer's -timeout catches a regression that
 * makes deep input slow again).  Inputs are short, so an input starting
 * with '[' is also parsed behind DEEP brackets, well past the depth
 * limit: that must be refused, as such, whatever follows.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FILE	"fuzz.yaml"
#define DEEP		100000

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static FILE	*devnull;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_yaml", PFSD_LOG_ERR);
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	return 0;
}

static void
deep(const uint8_t *data, size_t size)
{
	struct conf	*c = conf_new();
	char		*text;
	size_t		 i, len = 3 + DEEP + size;
	int		 found = 0;

	if ((text = malloc(len)) == NULL)
		abort();
	memcpy(text, "k: ", 3);
	memset(text + 3, '[', DEEP);
	memcpy(text + 3 + DEEP, data, size);
	if (conf_parse_yaml(c, FUZZ_FILE, text, len) == 0)
		abort();
	for (i = 0; i < c->nerrors; i++)
		found |= strstr(c->errors[i], "nested deeper than") != NULL;
	if (!found)
		abort();
	conf_free(c);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	size_t		 i;
	int		 rc;

	c = conf_new();
	rc = conf_parse_yaml(c, FUZZ_FILE, (const char *)data, size);
	if ((rc == 0) != (c->nerrors == 0))
		abort();
	for (i = 0; i < c->nerrors; i++)
		if (strncmp(c->errors[i], FUZZ_FILE ":", 10) != 0)
			abort();
	conf_print(c, devnull);
	conf_free(c);
	if (size > 0 && data[0] == '[')
		deep(data, size);
	return 0;
}
