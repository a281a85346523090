/*
 * fuzz_yaml.c - libFuzzer target: the YAML configuration front end.
 *
 * The input is a .yaml file's bytes, handed to conf_parse_yaml() as they
 * are (not NUL-terminated, so that a read past the end is caught), into a
 * fresh conf; conf_print() then walks whatever was stored.  The return
 * value must agree with the error list, and every error must name the
 * file.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FILE	"fuzz.yaml"

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
	return 0;
}
