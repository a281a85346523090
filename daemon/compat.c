/*
 * compat.c - Net::Server settings pfsd does not take as they are.  Each
 * is a configuration error that says what to write instead: a key pfsd
 * would otherwise keep as "unknown" (and ignore), or a value it would
 * otherwise read as something else (log_file Log::Log4perl was a file
 * of that name in the working directory).
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMPAT_LOGGING	"use \"log_file PATH\", \"log_file syslog\" (with " \
			"syslog_ident and syslog_facility), or no log_file " \
			"for stderr"

#define COMPAT_NO_UNIXDGRAM \
			"UNIX datagram sockets (Net::Server's UNIXDGRAM) are " \
			"not supported: use a stream UNIX socket (PATH/unix) " \
			"or a UDP port (HOST:PORT/udp)"

/* Keys of Net::Server that pfsd refuses, whatever their value. */
static const struct {
	const char	*key;
	int		 prefix;	/* every key that starts so */
	const char	*why;
} compat_keys[] = {
	{ "log4perl_", 1, "a Log::Log4perl setting of Net::Server; pfsd "
	    "does not use Log::Log4perl: " COMPAT_LOGGING },
	{ "log_function", 0, "Net::Server's Perl logging callback; pfsd "
	    "has none: " COMPAT_LOGGING " (or a write_to_log_hook in the "
	    "handler)" },
	{ "syslog_logsock", 0, "Sys::Syslog's choice of socket; pfsd "
	    "logs through syslog(3) to the local /dev/log: have the local "
	    "syslog daemon forward to a remote one" },
	{ "syslog_logopt", 0, "Sys::Syslog's openlog options; pfsd opens "
	    "syslog with the pid in each line and at once (pid,ndelay)" },
	{ "tie_client_stdout", 0, "standard input and output are the "
	    "client's socket itself: nothing to tie" },
	{ "tied_stdout_callback", 0, "a Perl callback; write to standard "
	    "output, or to pfsd_request_fd()" },
	{ "tied_stdin_callback", 0, "a Perl callback; read standard "
	    "input, or pfsd_request_fd()" },
};

/*
 * "unknown key" was said of KEY when it was read; the error says more,
 * so the warning goes.
 */
static void
compat_unwarn(struct conf *c, const char *key)
{
	char	needle[128];
	size_t	i, k = 0;

	snprintf(needle, sizeof(needle), ": %s: unknown key", key);
	for (i = 0; i < c->nwarnings; i++) {
		if (strstr(c->warnings[i], needle) != NULL)
			free(c->warnings[i]);
		else
			c->warnings[k++] = c->warnings[i];
	}
	c->nwarnings = k;
}

static void
compat_refuse_item(struct conf *c, const char *key,
    const struct conf_item *item, const char *why)
{
	size_t	i;

	for (i = 0; i < item->n; i++)
		conf_error(c, item->v[i].file, item->v[i].line, key, "%s", why);
	compat_unwarn(c, key);
}

static void
compat_check_keys(struct conf *c)
{
	const struct conf_extra	*e;
	size_t			 i, k, n;

	for (i = 0; i < c->nextra; i++) {
		e = &c->extra[i];
		for (k = 0; k < nitems(compat_keys); k++) {
			n = strlen(compat_keys[k].key);
			if (compat_keys[k].prefix ?
			    strncmp(e->key, compat_keys[k].key, n) == 0 :
			    strcmp(e->key, compat_keys[k].key) == 0) {
				compat_refuse_item(c, e->key, &e->item,
				    compat_keys[k].why);
				break;
			}
		}
	}
}

/* "Sys::Syslog", "Log::Log4perl": a Perl module name with a "::". */
static int
compat_perl_module(const char *s)
{
	if (strstr(s, "::") == NULL)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalpha((unsigned char)*s))
			return 0;
		s += strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (*s == '\0')
			return 1;
		if (strncmp(s, "::", 2) != 0)
			return 0;
		s++;
	}
	return 0;
}

/*
 * A log_file that names a Net::Server logging module: Sys::Syslog is
 * syslog to pfsd too; any other module is refused (Net::Server would
 * load Net::Server::Log::NAME, or fail to start).
 */
static void
compat_check_log_file(struct conf *c)
{
	const struct conf_value	*v;
	size_t			 i;

	for (i = 0; i < conf_count(c, OPT_LOG_FILE); i++) {
		v = conf_value_at(c, OPT_LOG_FILE, i);
		if (v->file == NULL || !compat_perl_module(v->str) ||
		    strcmp(v->str, "Sys::Syslog") == 0)
			continue;
		if (strcmp(v->str, "Log::Log4perl") == 0)
			conf_error(c, v->file, v->line, "log_file",
			    "Log::Log4perl is a Perl logger Net::Server loads; "
			    "pfsd cannot: " COMPAT_LOGGING);
		else
			conf_error(c, v->file, v->line, "log_file",
			    "\"%s\" names a Net::Server logging module; pfsd "
			    "has none: " COMPAT_LOGGING, v->str);
	}
}

/*
 * unix_type: SOCK_STREAM is what pfsd's UNIX sockets are (accepted, no
 * warning); SOCK_DGRAM (Net::Server's UNIXDGRAM) is refused.
 */
static void
compat_check_unix_type(struct conf *c)
{
	const struct conf_item	*item = conf_lookup(c, "unix_type");
	const struct conf_value	*v;
	size_t			 i;

	if (item == NULL)
		return;
	for (i = 0; i < item->n; i++) {
		v = &item->v[i];
		if (strcasecmp(v->str, "sock_stream") == 0)
			continue;
		if (strcasecmp(v->str, "sock_dgram") == 0)
			conf_error(c, v->file, v->line, "unix_type", "%s",
			    COMPAT_NO_UNIXDGRAM);
		else
			conf_error(c, v->file, v->line, "unix_type", "\"%s\" "
			    "is not SOCK_STREAM or SOCK_DGRAM", v->str);
	}
	compat_unwarn(c, "unix_type");
}

/* MSG_PEEK leaves the datagram queued: every child would read it again. */
static void
compat_check_udp_flags(struct conf *c)
{
	const struct conf_value	*v = conf_value_at(c, OPT_UDP_RECV_FLAGS, 0);

	if (v != NULL && (v->num & MSG_PEEK))
		conf_error(c, v->file, v->line, "udp_recv_flags", "%ld "
		    "includes MSG_PEEK (%d), which leaves each datagram "
		    "queued for the children to read again and again",
		    v->num, MSG_PEEK);
}

/* Record an error for every Net::Server setting pfsd refuses. */
void
compat_check(struct conf *c)
{
	compat_check_udp_flags(c);
	compat_check_log_file(c);
	compat_check_keys(c);
	compat_check_unix_type(c);
}
