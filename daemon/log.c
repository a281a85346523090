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
#define LOG_REPEAT_MS	1000	/* log_limited: one line per second */

static struct {
	int	 level;
	int	 fd;		/* -1 with syslog */
	int	 use_syslog;
	char	*path;		/* log file, for reopen */
	const char *jail_path;	/* chrooted: where path is, from inside */
	int	 jailed;
	int	 created;	/* pfsd created the file (may chown it) */
	char	 ident[64];
	int	 facility;
	/* the handler's write_to_log_hook and fatal_hook (hooks.c) */
	int	(*sink)(int, const char *);
	void	(*fatal)(const char *);
	int	 in_hook;	/* a hook that logs is not called again */
} lg = { .level = PFSD_LOG_NOTICE, .fd = STDERR_FILENO, .ident = "pfsd",
    .facility = LOG_DAEMON };

static const char *const level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

/* In the order of the syslog_facility option's choices (conf.c). */
static const int facilities[] = {
	LOG_AUTH, LOG_AUTHPRIV, LOG_CRON, LOG_DAEMON, LOG_FTP, LOG_KERN,
	LOG_LPR, LOG_MAIL, LOG_NEWS, LOG_SYSLOG, LOG_USER, LOG_UUCP,
	LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4,
	LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7
};

/* Before the configuration is read: stderr, this ident and level. */
void
log_init(const char *ident, int level)
{
	if (ident != NULL)
		strncpy(lg.ident, ident, sizeof(lg.ident) - 1);
	lg.level = level;
}

void
log_set_hooks(int (*sink)(int, const char *), void (*fatal_fn)(const char *))
{
	lg.sink = sink;
	lg.fatal = fatal_fn;
}

/* The handler's write_to_log_hook: 0 when it has written the line. */
static int
log_to_hook(int level, const char *msg)
{
	int	rc;

	if (lg.sink == NULL || lg.in_hook)
		return -1;
	lg.in_hook = 1;
	rc = lg.sink(level, msg);
	lg.in_hook = 0;
	return rc;
}

static void
log_fatal_hook(const char *msg)
{
	if (lg.fatal == NULL || lg.in_hook)
		return;
	lg.in_hook = 1;
	lg.fatal(msg);
	lg.in_hook = 0;
}

/*
 * Open the log file NAME (PATH, for messages) to append.  Not through a
 * symbolic link, and only a regular file with a single link: whoever can
 * write the directory could otherwise make pfsd, root at startup, append
 * to (and chown to the daemon's user) a file such as /etc/passwd, hang on
 * a FIFO (O_NONBLOCK: opening one never waits for a reader), or hand a
 * device such as /dev/null or a terminal to the daemon's user.  *created
 * says whether this open made the file.
 */
int
log_open_file(const char *name, const char *path, int *created, char *err,
    size_t errlen)
{
	struct stat	st;
	int		fd, flags = O_WRONLY | O_APPEND | O_CLOEXEC |
			    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

	*created = 1;
	if ((fd = open(name, flags | O_CREAT | O_EXCL, 0640)) == -1 &&
	    errno == EEXIST) {
		*created = 0;
		fd = open(name, flags);
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s: cannot open log file: %s", path,
		    errno == ELOOP ? "it is a symbolic link" :
		    errno == ENXIO ? "it is not a regular file" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot open log file: it is not a "
		    "regular file; refusing to write to it", path);
		close(fd);
		return -1;
	}
	if (st.st_nlink > 1) {
		snprintf(err, errlen, "%s: cannot open log file: it has %lu "
		    "hard links; refusing to write to it", path,
		    (unsigned long)st.st_nlink);
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	return fd;
}

/* Is dest syslog rather than a file? */
static int
is_syslog(const char *dest)
{
	return strcmp(dest, "syslog") == 0 || strcmp(dest, "Sys::Syslog") == 0;
}

/*
 * -t and startup: a log_file that exists must be a regular file (see
 * log_open_file); the error names where the key was set.
 */
static void
check_log_path(struct conf *c, enum opt_id id)
{
	const struct conf_value	*v;
	const char		*path = conf_str(c, id);
	struct stat		 st;

	if (path == NULL || *path == '\0' || is_syslog(path) ||
	    lstat(path, &st) == -1 || S_ISREG(st.st_mode))
		return;
	v = conf_value_at(c, id, conf_count(c, id) - 1);
	conf_error(c, v != NULL ? v->file : NULL, v != NULL ? v->line : 0,
	    conf_options[id].name, "%s is %s; pfsd writes its log only to a "
	    "regular file (or syslog%s)", path,
	    S_ISLNK(st.st_mode) ? "a symbolic link" :
	    S_ISFIFO(st.st_mode) ? "a FIFO" :
	    S_ISDIR(st.st_mode) ? "a directory" :
	    S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" :
	    "not a regular file", id == OPT_LOG_FILE ?
	    "; without log_file, to standard error" : "");
}

void
log_check_conf(struct conf *c)
{
	check_log_path(c, OPT_LOG_FILE);
	check_log_path(c, OPT_ACCESS_LOG);
}

/*
 * Switch to the configured destination: "syslog" (or Sys::Syslog), a
 * path, or NULL for stderr.  facility is the index of a syslog_facility
 * choice, or -1 for daemon.  0, or -1 with err.
 */
int
log_open(const char *dest, const char *ident, int facility, int level,
    char *err, size_t errlen)
{
	int	fd, fac = LOG_DAEMON;

	if (ident != NULL)
		snprintf(lg.ident, sizeof(lg.ident), "%s", ident);
	if (facility >= 0 && (size_t)facility < nitems(facilities))
		fac = facilities[facility];
	lg.level = level;
	if (dest == NULL || *dest == '\0')
		return 0;
	if (is_syslog(dest)) {
		openlog(lg.ident, LOG_PID | LOG_NDELAY, fac);
		lg.use_syslog = 1;
		lg.facility = fac;
		lg.fd = -1;
		return 0;
	}
	if ((fd = log_open_file(dest, dest, &lg.created, err, errlen)) == -1)
		return -1;
	free(lg.path);
	if ((lg.path = strdup(dest)) == NULL) {
		close(fd);
		snprintf(err, errlen, "strdup: %s", strerror(ENOMEM));
		return -1;
	}
	lg.jail_path = NULL;
	lg.fd = fd;
	return 0;
}

/* USR1: open the log file again (it was moved by logrotate); -1 when
 * it cannot be (logged; the old file goes on). */
int
log_reopen(void)
{
	char	err[ERRBUF_SIZE];
	int	fd, created;

	if (lg.path == NULL)
		return 0;
	if (lg.jailed && lg.jail_path == NULL) {
		log_msg(PFSD_LOG_ERR, "%s: cannot reopen the log file from "
		    "inside the chroot; still writing to the old file",
		    lg.path);
		return -1;
	}
	/* chrooted: the same file, by its path inside the jail */
	if ((fd = log_open_file(lg.jail_path != NULL ? lg.jail_path : lg.path,
	    lg.path, &created, err, sizeof(err))) == -1) {
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

/* After chroot to root: reopen the log by its path inside the jail (-t
 * refused a log_file outside it). */
void
log_jailed(const char *root)
{
	lg.jailed = 1;
	if (lg.path != NULL)
		lg.jail_path = paths_in_jail(root, lg.path);
}

/* Did pfsd create the log file it writes (then it may chown it)? */
int
log_created(void)
{
	return lg.fd != STDERR_FILENO && lg.fd != -1 && lg.created;
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

/*
 * The message with control characters (newline, carriage return, escape
 * sequences...) and bytes from 0x7f up written as \xNN: whatever reached
 * a message -- a client's text in a handler's pfsd_log(), a path -- a
 * line stays one line of printable ASCII.  (A backslash is left alone:
 * log_escape, for peer-controlled text, escapes it too.)
 */
static void
copy_printable(char *dst, size_t dstlen, const char *src)
{
	size_t		o = 0;
	unsigned char	c;

	for (; *src != '\0' && o + 5 < dstlen; src++) {
		c = (unsigned char)*src;
		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
}

static void
write_line(int level, const char *raw)
{
	char		 line[LOG_LINE_MAX + 128], msg[LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n;

	copy_printable(msg, sizeof(msg), raw);
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
	if (log_to_hook(level, msg) != 0)
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

/* Handlers log through pfsd_log (pfsd.h): the same function. */
void	pfsd_log(int, const char *, ...) __attribute__((alias("log_msg")));

static long long
log_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A message that may repeat very fast (an accept() failing in a loop):
 * written the first time, then at most once a second with the number of
 * repeats not written since.  key tells messages apart.  1 if written.
 */
int
log_limited(struct log_limit *lim, int key, int level, const char *fmt, ...)
{
	char		msg[LOG_LINE_MAX];
	long long	now = log_now_ms();
	va_list		ap;
	int		saved = errno;

	if (key == lim->key && lim->last_ms != 0 &&
	    now - lim->last_ms < LOG_REPEAT_MS) {
		lim->repeats++;
		return 0;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key == lim->key && lim->repeats > 0)
		log_msg(level, "%s (%lu more times)", msg, lim->repeats + 1);
	else
		log_msg(level, "%s", msg);
	lim->key = key;
	lim->last_ms = now;
	lim->repeats = 0;
	errno = saved;
	return 1;
}

/* The message, then ": strerror(err)". */
static void
log_errno_text(char *msg, size_t len, int err, const char *fmt, va_list ap)
{
	vsnprintf(msg, len, fmt, ap);
	snprintf(msg + strlen(msg), len - strlen(msg), ": %s", strerror(err));
}

/* A warning with ": strerror(errno)" appended; errno is kept. */
void
log_warn(const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_errno_text(msg, sizeof(msg), saved, fmt, ap);
	va_end(ap);
	log_msg(PFSD_LOG_WARNING, "%s", msg);
	errno = saved;
}

/* Log an error with strerror(errno) and exit 1. */
void
fatal(const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	log_errno_text(msg, sizeof(msg), errno, fmt, ap);
	va_end(ap);
	fatalx("%s", msg);
}

void
fatalx(const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fatal_hook(msg);
	log_msg(PFSD_LOG_ERR, "%s", msg);
	exit(1);
}
