/*
 * fuzz_port.c - libFuzzer target: the port syntax (listen_parse).
 *
 * The input is split at NUL bytes or newlines into up to four parts: the
 * port entry, then the host, proto and ipv defaults that apply to it; a
 * part the input does not reach is NULL, as when the setting is absent.
 * On success the result must be well formed (a NUL-terminated non-empty
 * host, a known protocol, ipv 0/4/6, a UNIX socket an absolute path with
 * no port, an IP one a decimal port 0-65535); on failure the error must
 * be non-empty.  Anything else abort()s.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_PARTS	4

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_port", PFSD_LOG_ERR);
	return 0;
}

static void
check_port(const char *port)
{
	char	*end;
	long	 v;

	if (*port == '\0')
		abort();
	v = strtol(port, &end, 10);
	if (*end != '\0' || v < 0 || v > 65535)
		abort();
}

static void
check_spec(const struct listen_spec *sp)
{
	if (memchr(sp->host, '\0', sizeof(sp->host)) == NULL ||
	    memchr(sp->port, '\0', sizeof(sp->port)) == NULL ||
	    sp->host[0] == '\0')
		abort();
	if (sp->ipv != 0 && sp->ipv != 4 && sp->ipv != 6)
		abort();
	switch (sp->proto) {
	case PFSD_PROTO_UNIX:
		if (sp->host[0] != '/' || sp->port[0] != '\0' || sp->ipv != 0)
			abort();
		break;
	case PFSD_PROTO_TCP:
	case PFSD_PROTO_UDP:
		check_port(sp->port);
		break;
	default:
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listen_spec	 sp;
	const char		*part[FUZZ_PARTS] = { NULL };
	char			*buf, *p, err[ERRBUF_SIZE];
	size_t			 n = 0;

	/* One extra NUL so that the last part ends, whatever the input. */
	if ((buf = calloc(1, size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	for (p = buf; n < FUZZ_PARTS && p <= buf + size; n++) {
		part[n] = p;
		p += strcspn(p, "\n");
		*p++ = '\0';
	}
	err[0] = '\0';
	if (listen_parse(part[0], part[1], part[2], part[3], &sp, err,
	    sizeof(err)) == 0)
		check_spec(&sp);
	else if (err[0] == '\0')
		abort();
	free(buf);
	return 0;
}
