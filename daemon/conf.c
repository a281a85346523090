/*
 * conf.c - the configuration: the option table (the one place a key is
 * described: type, default, bounds, help), the store every front end
 * writes into (conf_set), its validators and accessors.  The front ends
 * are conf_kv.c (key/value files), conf_yaml.c (YAML) and conf_cmdline.c
 * (the command line); they all call conf_set(), so all three mean the
 * same.  conf_print.c prints it back (-T, --help) and suggests keys.
 *
 * Defaults are stored as values at CONF_DEFAULT when the conf is made; a
 * value set at a higher level (file, then command line) drops the lower
 * level's values first, which is all precedence is.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONF_XSTR(x)	CONF_STR(x)
#define CONF_STR(x)	#x

#define CONF_KEYCHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789_-"

/* In the order of enum ser_mode: serialize.c takes the index. */
static const char *const conf_serialize_choices[] = {
	"flock", "semaphore", "pipe", "none", NULL
};
/* A flag, or Net::Server's "double" (2): forward-confirmed names. */
static const char *const conf_reverse_choices[] = {
	"0", "1", "double", "no", "yes", "off", "on", "false", "true", "2",
	NULL
};
/* Indexed by enum pfsd_proto, then PROTO_SSL (listen_proto_name). */
static const char *const conf_proto_choices[] = {
	"tcp", "udp", "unix", "ssl", NULL
};
/* Names, and the numbers IO::Socket::SSL takes (3: peer + fail if none). */
static const char *const conf_verify_choices[] = {
	"none", "peer", "require", "0", "1", "3", NULL
};
static const char *const conf_ktls_choices[] = { "auto", "off", NULL };
static const char *const conf_tls_version_choices[] = {
	"TLSv1.2", "TLSv1.3", NULL
};
/* child_sched() in child.c switches to SCHED_BATCH at index 0. */
static const char *const conf_sched_choices[] = { "batch", "inherit", NULL };
static const char *const conf_ipv_choices[] = { "4", "6", "*", NULL };
static const char *const conf_format_choices[] = { "text", "json", NULL };
static const char *const conf_proxy_choices[] = {
	"off", "on", "v1", "v2", NULL
};
/* In the order of log.c's facilities[]: log_open takes the index. */
static const char *const conf_facility_choices[] = {
	"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail",
	"news", "syslog", "user", "uucp", "local0", "local1", "local2",
	"local3", "local4", "local5", "local6", "local7", NULL
};

const struct option_def conf_options[OPT__COUNT] = {
	[OPT_CONF_FILE] = { .name = "conf_file", .type = OPT_T_PATH,
	    .help = "configuration file to read (also -c FILE)" },
	[OPT_HANDLER] = { .name = "handler", .type = OPT_T_PATH,
	    .help = "handler .so, or a bare name found in plugin_dir "
	    "(required)" },
	/* Its default is paths_plugin_dir(), not a constant: conf_default. */
	[OPT_PLUGIN_DIR] = { .name = "plugin_dir", .type = OPT_T_PATH,
	    .help = "where bare handler names are found" },
	[OPT_PORT] = { .name = "port", .type = OPT_T_STR, .list = 1,
	    .def = "20203",
	    .help = "socket to bind: [HOST:]PORT[/PROTO] or PATH/unix" },
	[OPT_HOST] = { .name = "host", .type = OPT_T_STR, .list = 1,
	    .def = "*", .help = "host for ports that name none" },
	[OPT_PROTO] = { .name = "proto", .type = OPT_T_ENUM, .list = 1,
	    .def = "tcp", .choices = conf_proto_choices,
	    .help = "protocol for ports that name none" },
	[OPT_IPV] = { .name = "ipv", .type = OPT_T_ENUM, .list = 1,
	    .def = "*", .choices = conf_ipv_choices,
	    .help = "address family: 4, 6 or * (both)" },
	[OPT_LISTEN] = { .name = "listen", .type = OPT_T_INT,
	    .def = CONF_XSTR(SOMAXCONN), .min = 1, .max = INT_MAX,
	    .help = "listen backlog" },
	[OPT_MAX_SERVERS] = { .name = "max_servers", .type = OPT_T_INT,
	    .def = "50", .min = 1, .max = 4096,
	    .help = "children kept running" },
	[OPT_MAX_REQUESTS] = { .name = "max_requests", .type = OPT_T_INT,
	    .def = "1000", .min = 1, .max = LONG_MAX,
	    .help = "connections a child serves before it is replaced" },
	/* random() gives at most INT_MAX: more would be silently capped
	 * (and jitter + 1 overflow a long). */
	[OPT_MAX_REQUESTS_JITTER] = { .name = "max_requests_jitter",
	    .type = OPT_T_INT, .def = "0", .min = 0, .max = INT_MAX,
	    .help = "up to this many extra requests, random per child" },
	[OPT_CHECK_FOR_DEAD] = { .name = "check_for_dead", .type = OPT_T_INT,
	    .def = "30", .min = 1, .max = INT_MAX,
	    .help = "seconds between checks for dead children" },
	/* The scoreboard keeps SCOREBOARD_SLOTS - 4096 slots for these. */
	[OPT_MAX_DEQUEUE] = { .name = "max_dequeue", .type = OPT_T_INT,
	    .min = 0, .max = SCOREBOARD_SLOTS - 4096,
	    .help = "dequeue children to keep running" },
	[OPT_CHECK_FOR_DEQUEUE] = { .name = "check_for_dequeue",
	    .type = OPT_T_INT, .min = 1, .max = INT_MAX,
	    .help = "seconds between runs of run_dequeue" },
	/* No default: serialize.c reads "unset" as none, for any number of
	 * sockets (a wake-one epoll wait needs no lock). */
	[OPT_SERIALIZE] = { .name = "serialize", .type = OPT_T_ENUM,
	    .choices = conf_serialize_choices,
	    .help = "how idle children wait for a client (default: none, "
	    "a wake-one wait, with any number of sockets)" },
	[OPT_LOCK_FILE] = { .name = "lock_file", .type = OPT_T_PATH,
	    .help = "lock file for flock (default: a private temp file)" },
	[OPT_STANDBY_MS] = { .name = "standby_ms", .type = OPT_T_INT,
	    .def = "2", .min = 0, .max = 1000,
	    .help = "serialize none: idle children the load does not need "
	    "stand by, woken when a connection waits this many ms "
	    "(0: all wait on the sockets)" },
	[OPT_GRACEFUL_TIMEOUT] = { .name = "graceful_timeout",
	    .type = OPT_T_INT, .def = "30", .min = 0, .max = INT_MAX,
	    .help = "seconds busy children may take to finish after a graceful "
	    "stop (QUIT) or a reload (HUP), 0 for no limit" },
	[OPT_REQUEST_TIMEOUT] = { .name = "request_timeout",
	    .type = OPT_T_INT, .def = "0", .min = 0, .max = INT_MAX,
	    .help = "seconds a request may take, 0 for no limit" },
	[OPT_HUP_CHECK_TIMEOUT] = { .name = "hup_check_timeout",
	    .type = OPT_T_INT, .def = "30", .min = 1, .max = 3600,
	    .help = "seconds the check of a HUP may take; then it is "
	    "refused" },
	[OPT_USER] = { .name = "user", .type = OPT_T_STR,
	    .help = "user to run as after binding" },
	[OPT_GROUP] = { .name = "group", .type = OPT_T_STR, .list = 1,
	    .help = "group(s) to run as after binding" },
	[OPT_CHROOT] = { .name = "chroot", .type = OPT_T_PATH,
	    .help = "directory to chroot to after binding" },
	[OPT_PID_FILE] = { .name = "pid_file", .type = OPT_T_PATH,
	    .help = "file to write the pid to" },
	[OPT_BACKGROUND] = { .name = "background", .type = OPT_T_FLAG,
	    .def = "0", .help = "detach from the terminal" },
	[OPT_SETSID] = { .name = "setsid", .type = OPT_T_FLAG,
	    .def = "0", .help = "background, in a new session" },
	[OPT_LOG_FILE] = { .name = "log_file", .type = OPT_T_PATH,
	    .help = "log file, or syslog (default: stderr)" },
	[OPT_LOG_LEVEL] = { .name = "log_level", .type = OPT_T_INT,
	    .def = "2", .min = 0, .max = 4,
	    .help = "0 error, 1 warning, 2 notice, 3 info, 4 debug" },
	[OPT_SYSLOG_IDENT] = { .name = "syslog_ident", .type = OPT_T_STR,
	    .def = "pfsd", .help = "syslog identity" },
	[OPT_SYSLOG_FACILITY] = { .name = "syslog_facility",
	    .type = OPT_T_ENUM, .def = "daemon",
	    .choices = conf_facility_choices, .help = "syslog facility" },
	[OPT_ALLOW] = { .name = "allow", .type = OPT_T_STR, .list = 1,
	    .help = "regex of peers to allow" },
	[OPT_DENY] = { .name = "deny", .type = OPT_T_STR, .list = 1,
	    .help = "regex of peers to deny" },
	[OPT_CIDR_ALLOW] = { .name = "cidr_allow", .type = OPT_T_STR,
	    .list = 1, .help = "network (CIDR) of peers to allow" },
	[OPT_CIDR_DENY] = { .name = "cidr_deny", .type = OPT_T_STR,
	    .list = 1, .help = "network (CIDR) of peers to deny" },
	[OPT_REVERSE_LOOKUPS] = { .name = "reverse_lookups",
	    .type = OPT_T_ENUM, .def = "0", .choices = conf_reverse_choices,
	    .help = "resolve peer host names (double: only names that "
	    "resolve back to the peer)" },
	[OPT_DOUBLE_REVERSE_LOOKUPS] = { .name = "double_reverse_lookups",
	    .type = OPT_T_FLAG, .def = "0",
	    .help = "same as reverse_lookups double" },
	[OPT_NO_CLIENT_STDOUT] = { .name = "no_client_stdout",
	    .type = OPT_T_FLAG, .def = "0",
	    .help = "do not attach stdin/stdout to the client" },
	[OPT_STATUS_SOCKET] = { .name = "status_socket", .type = OPT_T_PATH,
	    .help = "UNIX socket answering \"pfsd status\"" },
	[OPT_PROXY_PROTOCOL] = { .name = "proxy_protocol", .type = OPT_T_ENUM,
	    .def = "off", .choices = conf_proxy_choices,
	    .help = "PROXY header from a balancer: off, on (v1 or v2), "
	    "v1, v2" },
	[OPT_PROXY_ALLOW] = { .name = "proxy_allow", .type = OPT_T_STR,
	    .list = 1, .def = "loopback",
	    .help = "balancers (CIDR, or loopback) trusted to send it" },
	[OPT_PROXY_TIMEOUT] = { .name = "proxy_timeout", .type = OPT_T_INT,
	    .def = "5", .min = 1, .max = 3600,
	    .help = "seconds a balancer has to send the PROXY header" },
	[OPT_UDP_RECV_LEN] = { .name = "udp_recv_len", .type = OPT_T_INT,
	    .def = "65536", .min = 1, .max = 65536,
	    .help = "bytes of a datagram read (the rest is dropped)" },
	[OPT_UDP_RECV_FLAGS] = { .name = "udp_recv_flags", .type = OPT_T_INT,
	    .def = "0", .min = 0, .max = INT_MAX,
	    .help = "flags given to recvfrom(2) for a datagram" },
	[OPT_SIG_PASSTHROUGH] = { .name = "sig_passthrough", .type = OPT_T_STR,
	    .list = 1,
	    .help = "signals the parent passes on to the children "
	    "(names or numbers, comma-separated)" },
	[OPT_PROCESS_TITLES] = { .name = "process_titles",
	    .type = OPT_T_FLAG, .def = "1",
	    .help = "show each process's role and state in ps" },
	[OPT_SCHED_POLICY] = { .name = "sched_policy", .type = OPT_T_ENUM,
	    .def = "batch", .choices = conf_sched_choices,
	    .help = "children under the normal CPU policy run as SCHED_BATCH "
	    "(batch) or keep the one pfsd started with (inherit)" },
	[OPT_ACCESS_LOG] = { .name = "access_log", .type = OPT_T_PATH,
	    .help = "one line per request: a file, syslog, or off (default)" },
	[OPT_ACCESS_LOG_FORMAT] = { .name = "access_log_format",
	    .type = OPT_T_ENUM, .def = "text", .choices = conf_format_choices,
	    .help = "access log lines: text or json" },
	[OPT_METRICS_LISTEN] = { .name = "metrics_listen", .type = OPT_T_STR,
	    .help = "HOST:PORT where the parent answers GET /metrics" },
	[OPT_METRICS_ALLOW] = { .name = "metrics_allow", .type = OPT_T_STR,
	    .list = 1, .def = "loopback",
	    .help = "who may read metrics_listen (CIDR, or loopback)" },
	[OPT_SSL_CERT_FILE] = { .name = "SSL_cert_file", .type = OPT_T_PATH,
	    .list = 1, .help = "ssl ports: certificate chain (PEM); several: "
	    "chosen by the client's server name, the first by default" },
	[OPT_SSL_KEY_FILE] = { .name = "SSL_key_file", .type = OPT_T_PATH,
	    .list = 1, .help = "ssl ports: private key (PEM), read before "
	    "the user changes; one per SSL_cert_file, in order" },
	[OPT_SSL_CA_FILE] = { .name = "SSL_ca_file", .type = OPT_T_PATH,
	    .help = "CA certificates for client certificates (PEM)" },
	[OPT_SSL_CA_PATH] = { .name = "SSL_ca_path", .type = OPT_T_PATH,
	    .help = "directory of hashed CA certificates" },
	[OPT_SSL_VERIFY_MODE] = { .name = "SSL_verify_mode",
	    .type = OPT_T_ENUM, .def = "none", .choices = conf_verify_choices,
	    .help = "client certificates: none, peer (checked if sent), "
	    "require" },
	[OPT_SSL_CIPHER_LIST] = { .name = "SSL_cipher_list", .type = OPT_T_STR,
	    .help = "TLS 1.2 ciphers, OpenSSL syntax (default: safe list)" },
	[OPT_SSL_VERSION] = { .name = "SSL_version", .type = OPT_T_ENUM,
	    .def = "TLSv1.2", .choices = conf_tls_version_choices,
	    .help = "lowest TLS version: TLSv1.2 or TLSv1.3" },
	[OPT_SSL_HANDSHAKE_TIMEOUT] = { .name = "ssl_handshake_timeout",
	    .type = OPT_T_INT, .def = "10", .min = 1, .max = 3600,
	    .help = "seconds a client has to finish the TLS handshake" },
	[OPT_SSL_TICKET_LIFETIME] = { .name = "ssl_ticket_lifetime",
	    .type = OPT_T_INT, .def = "3600", .min = 1, .max = 86400,
	    .help = "seconds a session ticket key encrypts (then it only "
	    "decrypts, as long again)" },
	[OPT_SSL_KTLS] = { .name = "ssl_ktls", .type = OPT_T_ENUM,
	    .def = "auto", .choices = conf_ktls_choices,
	    .help = "kernel TLS where the kernel offers it: auto or off" },
};

void *
conf_reallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n, size)) == NULL)
		fatal("%s: reallocarray", __func__);
	return p;
}

char *
conf_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("%s: strdup", __func__);
	return p;
}

/* '-' and '_' are the same in a key: --max-servers is max_servers. */
int
conf_keych(int ch)
{
	return ch == '-' ? '_' : ch;
}

static int
conf_key_eq(const char *a, const char *b)
{
	while (*a != '\0' && conf_keych(*a) == conf_keych(*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* The index of option NAME ('-' taken for '_'), or -1. */
int
conf_find(const char *name)
{
	size_t	i;

	for (i = 0; i < OPT__COUNT; i++) {
		if (conf_key_eq(name, conf_options[i].name))
			return (int)i;
	}
	return -1;
}

const char *
conf_default(enum opt_id id)
{
	if (id == OPT_PLUGIN_DIR)
		return paths_plugin_dir();
	return conf_options[id].def;
}

/*
 * Append "FILE[:LINE]: [LABEL][KEY: ]message" to a list of messages.  FILE
 * is NULL for a built-in default (conf_value_at gives those too).
 */
static void
conf_vadd(char ***list, size_t *n, const char *file, int line,
    const char *label, const char *key, const char *fmt, va_list ap)
{
	char	*msg, *full, where[32] = "";

	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s: vasprintf", __func__);
	if (line > 0)
		snprintf(where, sizeof where, ":%d", line);
	if (asprintf(&full, "%s%s: %s%s%s%s", file != NULL ? file :
	    "default", where, label, key != NULL ? key : "",
	    key != NULL ? ": " : "", msg) == -1)
		fatal("%s: asprintf", __func__);
	free(msg);
	*list = conf_reallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = full;
}

void
conf_error(struct conf *c, const char *file, int line, const char *key,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conf_vadd(&c->errors, &c->nerrors, file, line, "", key, fmt, ap);
	va_end(ap);
}

void
conf_warn(struct conf *c, const char *file, int line, const char *key,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conf_vadd(&c->warnings, &c->nwarnings, file, line, "warning: ", key,
	    fmt, ap);
	va_end(ap);
}

static void
conf_item_clear(struct conf_item *item)
{
	size_t	i;

	for (i = 0; i < item->n; i++) {
		free(item->v[i].str);
		free(item->v[i].file);
	}
	free(item->v);
	item->v = NULL;
	item->n = 0;
}

/*
 * Store one value at LEVEL: a higher level first drops what a lower one
 * set, a lower one is ignored; a list appends, a scalar replaces.
 */
static void
conf_store(struct conf_item *item, int list, const char *str, long num,
    enum conf_level level, const char *file, int line)
{
	struct conf_value	*v;

	if (level < item->level)
		return;
	if (level > item->level || !list)
		conf_item_clear(item);
	item->level = level;
	item->v = conf_reallocarray(item->v, item->n + 1, sizeof *item->v);
	v = &item->v[item->n++];
	v->str = conf_strdup(str);
	v->num = num;
	v->file = file != NULL ? conf_strdup(file) : NULL;
	v->line = line;
}

struct conf *
conf_new(void)
{
	struct conf	*c;
	const char	*def;
	size_t		 i, k;

	if ((c = calloc(1, sizeof *c)) == NULL)
		fatal("%s: calloc", __func__);
	for (i = 0; i < OPT__COUNT; i++) {
		if ((def = conf_default(i)) == NULL)
			continue;
		conf_store(&c->opt[i], 0, def, strtol(def, NULL, 10),
		    CONF_DEFAULT, NULL, 0);
		/* Enum defaults carry their index, as set values do. */
		for (k = 0; conf_options[i].choices != NULL &&
		    conf_options[i].choices[k] != NULL; k++) {
			if (strcmp(conf_options[i].choices[k], def) == 0)
				c->opt[i].v[0].num = (long)k;
		}
	}
	return c;
}

void
conf_strings_free(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void
conf_free(struct conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < OPT__COUNT; i++)
		conf_item_clear(&c->opt[i]);
	for (i = 0; i < c->nextra; i++) {
		free(c->extra[i].key);
		free(c->extra[i].given);
		conf_item_clear(&c->extra[i].item);
	}
	free(c->extra);
	conf_strings_free(c->errors, c->nerrors);
	conf_strings_free(c->warnings, c->nwarnings);
	free(c->hopts);
	free(c);
}

static void
conf_range_error(const struct option_def *o, const char *s, int high,
    char *err, size_t errlen)
{
	if (o->max < INT_MAX)
		snprintf(err, errlen, "\"%s\" is out of range (%ld..%ld)", s,
		    o->min, o->max);
	else if (high)
		snprintf(err, errlen, "\"%s\" is out of range (at most %ld)", s,
		    o->max);
	else
		snprintf(err, errlen, "\"%s\" is out of range (%ld or more)", s,
		    o->min);
}

/* Decimal only: 010 is ten, 0x10 an error, as a user reading it expects. */
static int
conf_check_int(const struct option_def *o, const char *s, long *num,
    char *err, size_t errlen)
{
	const char	*digits = s + (*s == '-' || *s == '+');
	char		*end = NULL;
	int		 range;

	if (isdigit((unsigned char)*digits)) {
		errno = 0;
		*num = strtol(s, &end, 10);
	}
	if (end == NULL || *end != '\0') {
		snprintf(err, errlen, "\"%s\" is not a number", s);
		return -1;
	}
	range = errno == ERANGE;
	if (range || *num < o->min || *num > o->max) {
		conf_range_error(o, s, range ? *num > 0 : *num > o->max, err,
		    errlen);
		return -1;
	}
	return 0;
}

static int
conf_check_flag(const char *s, long *num, char *err, size_t errlen)
{
	static const char *const words[] = {
		"0", "1", "no", "yes", "false", "true", "off", "on"
	};
	size_t	i;

	for (i = 0; i < nitems(words); i++) {
		if (strcasecmp(s, words[i]) == 0) {
			*num = (long)(i % 2);
			return 0;
		}
	}
	snprintf(err, errlen, "\"%s\" is not a flag (use 1/0, yes/no, "
	    "true/false or on/off)", s);
	return -1;
}

/* The choice S names (case-insensitive) in *canon, its index in *num. */
static int
conf_check_enum(const struct option_def *o, const char *s, long *num,
    const char **canon, char *err, size_t errlen)
{
	size_t	i, len;
	int	n;

	for (i = 0; o->choices[i] != NULL; i++) {
		if (strcasecmp(s, o->choices[i]) == 0) {
			*num = (long)i;
			*canon = o->choices[i];
			return 0;
		}
	}
	n = snprintf(err, errlen, "\"%s\" is not one of ", s);
	for (i = 0; o->choices[i] != NULL && n >= 0 && (size_t)n < errlen;
	    i++) {
		len = (size_t)n;
		n += snprintf(err + len, errlen - len, "%s%s", i > 0 ? ", " :
		    "", o->choices[i]);
	}
	return -1;
}

/* Validate VALUE for option O; the text to keep goes in *canon. */
static int
conf_check(const struct option_def *o, const char *value, long *num,
    const char **canon, char *err, size_t errlen)
{
	const char		*s;

	*num = 0;
	*canon = value;
	if (value == NULL && o->type == OPT_T_FLAG)
		value = *canon = "1";
	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "needs a value");
		return -1;
	}
	for (s = value; *s != '\0'; s++) {
		if (iscntrl((unsigned char)*s) && *s != '\t') {
			snprintf(err, errlen, "contains a control character");
			return -1;
		}
	}
	switch (o->type) {
	case OPT_T_INT:
		return conf_check_int(o, value, num, err, errlen);
	case OPT_T_FLAG:
		return conf_check_flag(value, num, err, errlen);
	case OPT_T_ENUM:
		return conf_check_enum(o, value, num, canon, err, errlen);
	default:
		return 0;
	}
}

struct conf_item *
conf_extra_find(const struct conf *c, const char *key)
{
	size_t	i;

	for (i = 0; i < c->nextra; i++) {
		if (conf_key_eq(key, c->extra[i].key))
			return &c->extra[i].item;
	}
	return NULL;
}

/* A key starts with a letter, digit or '_' and goes on with '-' too. */
size_t
conf_key_span(const char *s)
{
	if (!isalnum((unsigned char)*s) && *s != '_')
		return 0;
	return strspn(s, CONF_KEYCHARS);
}

static int
conf_valid_key(const char *key)
{
	size_t	len = conf_key_span(key);

	return len > 0 && key[len] == '\0';
}

/*
 * A key pfsd does not know: keep it for the handler.  Whether that is an
 * error is known once the handler is loaded: conf_check_unknown.
 */
static int
conf_set_extra(struct conf *c, const char *key, const char *value,
    enum conf_level level, const char *file, int line)
{
	struct conf_item	*item;
	struct conf_extra	*e;
	char			*p;

	if ((item = conf_extra_find(c, key)) == NULL) {
		c->extra = conf_reallocarray(c->extra, c->nextra + 1,
		    sizeof *c->extra);
		e = &c->extra[c->nextra++];
		memset(e, 0, sizeof *e);
		e->key = conf_strdup(key);
		e->given = conf_strdup(key);
		for (p = e->key; *p != '\0'; p++)
			*p = (char)conf_keych(*p);
		item = &e->item;
	}
	conf_store(item, 1, value != NULL ? value : "1", 0, level, file,
	    line);
	return 0;
}

const struct option_def *
conf_hopt_find(const struct conf *c, const char *key)
{
	size_t	i;

	for (i = 0; i < c->nhopts; i++) {
		if (conf_key_eq(key, c->hopts[i].name))
			return &c->hopts[i];
	}
	return NULL;
}

/* One declared option: a name of its own, a kind that works, a default
 * that passes its own check. */
static int
conf_declare_one(struct conf *c, const struct option_def *o,
    const struct conf_value *at, const char *who)
{
	const char	*canon, *problem = NULL;
	char		 err[ERRBUF_SIZE];
	long		 num;

	if (o->name == NULL || !conf_valid_key(o->name) ||
	    strlen(o->name) > CONF_NAME_MAX)
		problem = "is not a valid key name";
	else if (conf_find(o->name) != -1)
		problem = "is one of pfsd's own keys";
	else if (conf_hopt_find(c, o->name) != NULL)
		problem = "is declared twice";
	else if (o->type == OPT_T_ENUM && (o->choices == NULL ||
	    o->choices[0] == NULL))
		problem = "is an enum without choices";
	else if (o->type == OPT_T_INT && o->min > o->max)
		problem = "has min greater than max";
	else if (o->def != NULL && conf_check(o, o->def, &num, &canon, err,
	    sizeof err) == -1)
		problem = "has a default that fails its own check";
	if (problem == NULL)
		return 0;
	conf_error(c, at->file, at->line, "handler", "%s declares option "
	    "\"%s\", which %s", who, o->name != NULL ? o->name : "(null)",
	    problem);
	return -1;
}

/*
 * The handler declares its options (N may be 0): check the declarations
 * against the handler line AT, and from now on an unknown key is an error.
 */
int
conf_declare(struct conf *c, const struct option_def *defs, size_t n,
    const struct conf_value *at, const char *who)
{
	size_t	i;
	int	rc = 0;

	c->hdeclares = 1;
	c->hopts = conf_reallocarray(NULL, n + 1, sizeof *c->hopts);
	c->nhopts = 0;
	for (i = 0; i < n; i++) {
		if (conf_declare_one(c, &defs[i], at, who) == -1)
			rc = -1;
		else
			c->hopts[c->nhopts++] = defs[i];
	}
	return rc;
}

/* Check every value of a declared option; a scalar keeps the last one. */
static void
conf_check_declared(struct conf *c, const struct option_def *o,
    struct conf_item *item)
{
	struct conf_value	*v;
	const char		*canon;
	char			 err[ERRBUF_SIZE], numbuf[32];
	long			 num;
	size_t			 k;

	if (!o->list && item->n > 1) {
		free(item->v[0].str);
		free(item->v[0].file);
		memmove(&item->v[0], &item->v[item->n - 1], sizeof item->v[0]);
		for (k = 1; k < item->n - 1; k++) {
			free(item->v[k].str);
			free(item->v[k].file);
		}
		item->n = 1;
	}
	for (k = 0; k < item->n; k++) {
		v = &item->v[k];
		if (conf_check(o, v->str, &num, &canon, err, sizeof err) ==
		    -1) {
			conf_error(c, v->file, v->line, o->name, "%s", err);
			continue;
		}
		if (o->type == OPT_T_INT || o->type == OPT_T_FLAG) {
			snprintf(numbuf, sizeof numbuf, "%ld", num);
			canon = numbuf;
		}
		if (canon != v->str) {
			free(v->str);
			v->str = conf_strdup(canon);
		}
		v->num = num;
	}
}

/* KEY, known to neither pfsd nor the handler, first set at V. */
static void
conf_report_unknown(struct conf *c, const char *key,
    const struct conf_value *v)
{
	const char	*near;
	int		 builtin;

	near = conf_suggest(c, key, &builtin);
	if (near != NULL && (builtin || c->hdeclares))
		conf_error(c, v->file, v->line, key, "unknown key (did you "
		    "mean \"%s\"?)", near);
	else if (c->hdeclares)
		conf_error(c, v->file, v->line, key, "unknown key (not one "
		    "of pfsd's, nor declared by the handler: see --help)");
	else
		conf_warn(c, v->file, v->line, key, "unknown key (kept for "
		    "the handler, which declares no options)");
}

/*
 * After the handler is loaded (or failed to): check the values of the
 * options it declares, give the unset ones their defaults, and report the
 * keys nobody knows.  A typo of one of pfsd's own keys ("usr") is always
 * an error: a warning would let "usr nobody" run the server as root.
 */
void
conf_check_unknown(struct conf *c)
{
	const struct option_def	*o;
	struct conf_item	*item;
	size_t			 i, n = c->nextra;

	for (i = 0; i < n; i++) {
		item = &c->extra[i].item;
		if ((o = conf_hopt_find(c, c->extra[i].key)) != NULL)
			conf_check_declared(c, o, item);
		else if (item->n > 0)
			conf_report_unknown(c, c->extra[i].given, &item->v[0]);
	}
	for (i = 0; i < c->nhopts; i++) {
		o = &c->hopts[i];
		if (o->def != NULL && conf_extra_find(c, o->name) == NULL) {
			conf_set_extra(c, o->name, o->def, CONF_DEFAULT, NULL,
			    0);
			item = &c->extra[c->nextra - 1].item;
			conf_check_declared(c, o, item);
		}
	}
}

/* Validate and store KEY=VALUE (NULL: key given alone) from FILE:LINE. */
int
conf_set(struct conf *c, const char *key, const char *value,
    enum conf_level level, const char *file, int line)
{
	const struct option_def	*o;
	const char		*canon;
	char			 err[ERRBUF_SIZE], numbuf[32];
	long			 num;
	int			 id;

	if (!conf_valid_key(key)) {
		conf_error(c, file, line, NULL, "\"%s\": not a valid key name",
		    key);
		return -1;
	}
	if ((id = conf_find(key)) == -1)
		return conf_set_extra(c, key, value, level, file, line);
	o = &conf_options[id];
	if (conf_check(o, value, &num, &canon, err, sizeof err) == -1) {
		conf_error(c, file, line, o->name, "%s", err);
		return -1;
	}
	/* "yes" and "+7" are kept as "1" and "7": one spelling per value. */
	if (o->type == OPT_T_INT || o->type == OPT_T_FLAG) {
		snprintf(numbuf, sizeof numbuf, "%ld", num);
		canon = numbuf;
	}
	conf_store(&c->opt[id], o->list, canon, num, level, file, line);
	return 0;
}

/* The last value (a scalar's only one), or NULL when unset. */
const char *
conf_str(const struct conf *c, enum opt_id id)
{
	const struct conf_item	*item = &c->opt[id];

	return item->n > 0 ? item->v[item->n - 1].str : NULL;
}

/* The last value as a number (enum: index of the choice); 0 if unset. */
long
conf_num(const struct conf *c, enum opt_id id)
{
	const struct conf_item	*item = &c->opt[id];

	return item->n > 0 ? item->v[item->n - 1].num : 0;
}

/* Set by the file or the command line, not just defaulted. */
int
conf_isset(const struct conf *c, enum opt_id id)
{
	return c->opt[id].level > CONF_DEFAULT && c->opt[id].n > 0;
}

size_t
conf_count(const struct conf *c, enum opt_id id)
{
	return c->opt[id].n;
}

const char *
conf_at(const struct conf *c, enum opt_id id, size_t i)
{
	return i < c->opt[id].n ? c->opt[id].v[i].str : NULL;
}

const struct conf_value *
conf_value_at(const struct conf *c, enum opt_id id, size_t i)
{
	return i < c->opt[id].n ? &c->opt[id].v[i] : NULL;
}

/* logfile: 1 keeps "syslog" as it is (log_file), 2 "off" too (access_log). */
static void
conf_absolute_item(struct conf_item *item, const char *cwd, int logfile)
{
	struct conf_value	*v;
	char			*abs;
	size_t			 k;

	for (k = 0; k < item->n; k++) {
		v = &item->v[k];
		if (v->str[0] == '/' || (logfile &&
		    (strcmp(v->str, "syslog") == 0 ||
		    strcmp(v->str, "Sys::Syslog") == 0)) ||
		    (logfile == 2 && strcmp(v->str, "off") == 0))
			continue;
		if (asprintf(&abs, "%s/%s", cwd, v->str) == -1)
			fatal("%s: asprintf", __func__);
		free(v->str);
		v->str = abs;
	}
}

/*
 * Relative paths are relative to the directory pfsd was started in: make
 * them absolute before pfsd may leave it (background, HUP re-exec).
 * "syslog" as log_file is not a path.  The handler's path options too.
 */
void
conf_absolute_paths(struct conf *c, const char *cwd)
{
	const struct option_def	*o;
	size_t			 i;

	for (i = 0; i < OPT__COUNT; i++) {
		if (conf_options[i].type == OPT_T_PATH)
			conf_absolute_item(&c->opt[i], cwd, i == OPT_LOG_FILE ?
			    1 : i == OPT_ACCESS_LOG ? 2 : 0);
	}
	for (i = 0; i < c->nextra; i++) {
		if ((o = conf_hopt_find(c, c->extra[i].key)) != NULL &&
		    o->type == OPT_T_PATH)
			conf_absolute_item(&c->extra[i].item, cwd, 0);
	}
}

/* Any key's values, known or not ('-' taken for '_'); NULL if neither. */
const struct conf_item *
conf_lookup(const struct conf *c, const char *key)
{
	int	id;

	if ((id = conf_find(key)) != -1)
		return &c->opt[id];
	return conf_extra_find(c, key);
}
