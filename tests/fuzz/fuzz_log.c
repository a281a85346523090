/*
 * fuzz_log.c - libFuzzer target: what pfsd does to text before it goes
 * into a log line.
 *
 * log_escape() (for peer-controlled text: a UNIX client's socket name)
 * must give printable ASCII only, NUL-terminated within the buffer it is
 * given, whatever that buffer's size; with room enough, its output must
 * decode back to exactly the input (nothing lost, nothing ambiguous).
 * Then the input goes whole through log_msg() to a log file: what is
 * written must be one line of printable ASCII and its newline.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	path[] = "/tmp/pfsd-fuzz-log.XXXXXX";
static int	rfd = -1;

static void
remove_log(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	err[ERRBUF_SIZE];
	int	fd;

	if ((fd = mkstemp(path)) == -1)
		abort();
	close(fd);
	atexit(remove_log);
	log_init("fuzz_log", PFSD_LOG_DEBUG);
	if (log_open(path, NULL, -1, PFSD_LOG_DEBUG, err, sizeof(err)) == -1)
		abort();
	if ((rfd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	return 0;
}

static int
printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

static int
hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* Decode log_escape's output; the decoded length, or abort. */
static size_t
unescape(const char *s, unsigned char *out)
{
	size_t	n = 0;

	while (*s != '\0') {
		if (*s != '\\') {
			out[n++] = (unsigned char)*s++;
			continue;
		}
		if (s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else if (s[1] == 'x' && hex(s[2]) >= 0 && hex(s[3]) >= 0) {
			out[n++] = (unsigned char)(hex(s[2]) * 16 + hex(s[3]));
			s += 4;
		} else
			abort();	/* a backslash not escaped */
	}
	return n;
}

static void
check_escape(const uint8_t *data, size_t size)
{
	size_t		 room = size > 0 ? data[0] : 0, full = 4 * size + 8, n, i;
	char		*dst = malloc(full);
	unsigned char	*back = malloc(size + 1);

	if (dst == NULL || back == NULL)
		abort();
	/* a buffer of data[0] bytes, then one large enough */
	n = log_escape(dst, room, (const char *)data, size);
	if (room == 0 ? n != 0 : n >= room || n != strlen(dst))
		abort();
	for (i = 0; i < n; i++)
		if (!printable((unsigned char)dst[i]))
			abort();
	n = log_escape(dst, full, (const char *)data, size);
	if (n != strlen(dst) || unescape(dst, back) != size ||
	    memcmp(back, data, size) != 0)
		abort();
	free(dst);
	free(back);
}

static void
check_line(const uint8_t *data, size_t size)
{
	char	buf[8192];
	ssize_t	n, i;

	if (ftruncate(log_fd(), 0) == -1)
		abort();
	log_msg(PFSD_LOG_ERR, "x %.*s", (int)size, (const char *)data);
	if ((n = pread(rfd, buf, sizeof(buf), 0)) <= 0 || buf[n - 1] != '\n')
		abort();
	for (i = 0; i < n - 1; i++)
		if (!printable((unsigned char)buf[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_escape(data, size);
	check_line(data, size);
	return 0;
}
