/*
 * log.c - logging to stderr, a file or syslog.
 *
 * Every line is formatted into one buffer and written with one write() on
 * an O_APPEND descriptor, so lines from many children never interleave.
 * Errors (level 0) are always written, whatever log_level says.
 */
#include "internal.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#define LOG_LINE_MAX	2048

static struct {
	int	 level;
	int	 fd;		/* -1 with syslog */
	int	 use_syslog;
	char	*path;		/* log file, for reopen */
	char	 ident[64];
	int	 facility;
} lg = { PFSD_LOG_NOTICE, STDERR_FILENO, 0, NULL, "pfsd", LOG_DAEMON };

static const char *const level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

static const struct {
	const char	*name;
	int		 value;
} facilities[] = {
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
	{ "cron", LOG_CRON }, { "daemon", LOG_DAEMON },
	{ "ftp", LOG_FTP }, { "kern", LOG_KERN }, { "lpr", LOG_LPR },
	{ "mail", LOG_MAIL }, { "news", LOG_NEWS }, { "syslog", LOG_SYSLOG },
	{ "user", LOG_USER }, { "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* Before the configuration is read: stderr, this ident and level. */
void
log_init(const char *ident, int level)
{
	if (ident != NULL)
		strncpy(lg.ident, ident, sizeof(lg.ident) - 1);
	lg.level = level;
}

/* The syslog facility called name, or -1. */
int
log_facility(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(facilities); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].value;
	return -1;
}

/*
 * Open the log file to append.  Not through a symbolic link, and not a
 * file with another hard link: whoever can write the directory could
 * otherwise make pfsd, root at startup, append to (and chown to the
 * daemon's user) a file such as /etc/passwd.
 */
static int
open_file(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (fd == -1) {
		snprintf(err, errlen, "%s: cannot open log file: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) {
		snprintf(err, errlen, "%s: cannot open log file: it has %lu "
		    "hard links; refusing to write to it", path,
		    (unsigned long)st.st_nlink);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Switch to the configured destination: "syslog" (or Sys::Syslog), a
 * path, or NULL for stderr.  0, or -1 with err.
 */
int
log_open(const char *dest, const char *ident, const char *facility,
    int level, char *err, size_t errlen)
{
	int	fd, fac = LOG_DAEMON;

	if (ident != NULL)
		snprintf(lg.ident, sizeof(lg.ident), "%s", ident);
	if (facility != NULL && (fac = log_facility(facility)) == -1) {
		snprintf(err, errlen, "syslog_facility: unknown facility "
		    "\"%s\"", facility);
		return -1;
	}
	lg.level = level;
	if (dest == NULL || *dest == '\0')
		return 0;
	if (strcmp(dest, "syslog") == 0 || strcmp(dest, "Sys::Syslog") == 0) {
		openlog(lg.ident, LOG_PID | LOG_NDELAY, fac);
		lg.use_syslog = 1;
		lg.facility = fac;
		lg.fd = -1;
		return 0;
	}
	if ((fd = open_file(dest, err, errlen)) == -1)
		return -1;
	free(lg.path);
	if ((lg.path = strdup(dest)) == NULL) {
		close(fd);
		snprintf(err, errlen, "strdup: %s", strerror(ENOMEM));
		return -1;
	}
	lg.fd = fd;
	return 0;
}

/* USR1: open the log file again (it was moved by logrotate); -1 when
 * it cannot be (logged; the old file goes on). */
int
log_reopen(void)
{
	char	err[ERRBUF_SIZE];
	int	fd;

	if (lg.path == NULL)
		return 0;
	if ((fd = open_file(lg.path, err, sizeof(err))) == -1) {
		log_msg(PFSD_LOG_ERR, "%s; still writing to the old file",
		    err);
		return -1;
	}
	if (lg.fd != STDERR_FILENO)
		close(lg.fd);
	lg.fd = fd;
	return 0;
}

int
log_level(void)
{
	return lg.level;
}

/* The descriptor children must keep open (-1 with syslog or stderr). */
int
log_fd(void)
{
	return lg.fd == STDERR_FILENO ? -1 : lg.fd;
}

/*
 * Copy src (len bytes) into dst with control characters, backslash and
 * non-ASCII bytes escaped, so client-controlled text cannot forge log
 * lines.  Returns the length written (dst is always NUL-ended).
 */
size_t
log_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t		 o = 0, i;
	unsigned char	 c;

	if (dstlen == 0)
		return 0;
	for (i = 0; i < len && o + 5 < dstlen; i++) {
		c = (unsigned char)src[i];
		if (c == '\\')
			o += (size_t)snprintf(dst + o, dstlen - o, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}

static void
write_line(int level, const char *msg)
{
	char		 line[LOG_LINE_MAX + 128];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n;

	if (lg.use_syslog) {
		syslog(level == PFSD_LOG_ERR ? LOG_ERR :
		    level == PFSD_LOG_WARNING ? LOG_WARNING :
		    level == PFSD_LOG_NOTICE ? LOG_NOTICE :
		    level == PFSD_LOG_INFO ? LOG_INFO : LOG_DEBUG, "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%ld]: %s: %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, lg.ident,
	    (long)getpid(), level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* A full or vanished disk must not stop serving: drop the line. */
	(void)!write(lg.fd, line, (size_t)n);
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX];
	int	saved = errno;

	if (level < PFSD_LOG_ERR)
		level = PFSD_LOG_ERR;
	if (level > PFSD_LOG_DEBUG)
		level = PFSD_LOG_DEBUG;
	if (level > lg.level && level != PFSD_LOG_ERR)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	write_line(level, msg);
	errno = saved;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* A warning with ": strerror(errno)" appended; errno is kept. */
void
log_warn(const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(PFSD_LOG_WARNING, "%s: %s", msg, strerror(saved));
	errno = saved;
}

/* Log an error with strerror(errno) and exit 1. */
void
fatal(const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(PFSD_LOG_ERR, "%s: %s", msg, strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(PFSD_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
