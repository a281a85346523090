/*
 * status.c - live status: the parent answers on status_socket (a UNIX
 * socket it owns) with the scoreboard as a table or as JSON; `pfsd status`
 * is the client.  Reading the scoreboard takes no lock and the children
 * never wait for it, so a status query does not slow serving.
 */
#include "internal.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATUS_TIMEOUT_MS	1000
#define STATUS_PAUSE_MS		1000	/* out of descriptors: wait */
#define SUN_PATH_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)

static int
unix_addr(const char *path, struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "status_socket %s: path too long", path);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* The path a listening UNIX socket is bound to, or "" (buf). */
static const char *
bound_path(int fd, char *buf, size_t len)
{
	struct sockaddr_un	sun;
	socklen_t		slen = sizeof(sun);

	memset(&sun, 0, sizeof(sun));
	buf[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&sun, &slen) == 0 &&
	    sun.sun_family == AF_UNIX)
		snprintf(buf, len, "%.*s", (int)sizeof(sun.sun_path),
		    sun.sun_path);
	return buf;
}

/*
 * Bind status_socket (if configured), mode 0600 from the start: made
 * under umask 0177, not chmod()ed after, which would leave a moment
 * when others may connect and would follow a symbolic link swapped in.
 * After a HUP the previous image's socket (inherited, -1 if none) is
 * taken as it is when it is the configured one: nothing to unlink or
 * bind again, which the unprivileged user could not do in a root-owned
 * directory.  An old socket file is ours to replace; any other file is
 * an error.
 */
int
status_open(struct pfsd_server *srv, int inherited, char *err, size_t errlen)
{
	const char		*path = conf_str(srv->conf, OPT_STATUS_SOCKET);
	char			 have[SUN_PATH_MAX + 1];
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 mask;
	int			 fd, rc;

	srv->status_fd = -1;
	srv->status_inherited = 0;
	if (path == NULL)
		return 0;
	if (unix_addr(path, &sun, err, errlen) == -1)
		return -1;
	if (inherited != -1 && strcmp(bound_path(inherited, have,
	    sizeof(have)), path) == 0) {
		srv->status_fd = inherited;
		srv->status_inherited = 1;
		return 0;
	}
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "status_socket %s: exists and is not a "
		    "socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		goto fail;
	if (unlink(path) == -1 && errno != ENOENT)	/* ours: see above */
		log_warn("status_socket %s: cannot remove the old socket",
		    path);
	mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (rc == -1 || listen(fd, 16) == -1) {
		close(fd);
		goto fail;
	}
	srv->status_fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "status_socket %s: %s", path, strerror(errno));
	return -1;
}

static void
remove_socket(const char *path)
{
	if (path[0] != '\0' && unlink(path) == -1 && errno != ENOENT)
		log_warn("status_socket %s: cannot remove", path);
}

void
status_close(struct pfsd_server *srv)
{
	const char	*path = conf_str(srv->conf, OPT_STATUS_SOCKET);

	if (srv->status_fd == -1)
		return;
	close(srv->status_fd);
	srv->status_fd = -1;
	srv->status_inherited = 0;
	if (paths_here(path) != NULL)		/* chroot */
		remove_socket(paths_here(path));
}

/* A handed-over status socket the new configuration does not use. */
void
status_drop(int fd)
{
	char	path[SUN_PATH_MAX + 1];

	bound_path(fd, path, sizeof(path));
	close(fd);
	remove_socket(path);
}

static void
slot_peer(const struct slot *s, char *buf, size_t len)
{
	char	addr[64];
	int	port;

	if (s->state != SLOT_BUSY || s->peer.sin6_family == 0) {
		snprintf(buf, len, "-");
		return;
	}
	/*
	 * A UNIX client's path is its own choice (quotes, escapes) and the
	 * slot keeps only its first bytes, unterminated: not shown.
	 */
	if (s->peer.sin6_family == AF_UNIX) {
		snprintf(buf, len, "unix");
		return;
	}
	addr_format((const struct sockaddr *)&s->peer, addr, sizeof(addr),
	    &port);
	snprintf(buf, len, s->peer.sin6_family == AF_INET6 ? "[%s]:%d" :
	    "%s:%d", addr, port);
}

/* A JSON string's content: quotes, backslashes and controls escaped. */
static void
json_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

static void
write_child(FILE *f, pid_t pid, const struct slot *s, long long now,
    int json, int first)
{
	char		peer[96], agebuf[24];
	long long	age = s->req_start_ms > 0 ? now - s->req_start_ms : -1;

	slot_peer(s, peer, sizeof(peer));
	snprintf(agebuf, sizeof(agebuf), age < 0 ? (json ? "null" : "-") :
	    "%lld", age);
	if (json) {
		fprintf(f, "%s\n    {\"pid\": %ld, \"generation\": %u, "
		    "\"state\": \"%s\", \"served\": %lu, "
		    "\"request_age_ms\": %s, \"peer\": ",
		    first ? "" : ",", (long)pid, s->generation,
		    slot_state_name(s->state), s->served, agebuf);
		if (strcmp(peer, "-") == 0)
			fprintf(f, "null}");
		else {
			fputc('"', f);
			json_text(f, peer);
			fprintf(f, "\"}");
		}
	} else
		fprintf(f, "%-8ld %-10s %8lu %3u %16s %s\n", (long)pid,
		    slot_state_name(s->state), s->served, s->generation, agebuf,
		    peer);
}

/* Busy and idle workers, and what every child served so far. */
static void
count_states(size_t *busy, size_t *idle, unsigned long *served)
{
	struct pool_entry	*e;
	struct slot		*s;
	size_t			 it = 0;
	int			 st;

	*busy = *idle = 0;
	while ((e = pool_next(&it)) != NULL) {
		if ((s = pool_slot(e)) == NULL)
			continue;
		*served += s->served;
		if (pool_kind(e) != CHILD_WORKER)
			continue;
		st = s->state;
		*busy += st == SLOT_BUSY;
		*idle += st == SLOT_IDLE || st == SLOT_ACCEPTING;
	}
}


/*
 * Seconds since this process started: the same pid across every HUP
 * (the generation's own uptime restarts at each).  -1 if unknown.
 */
static long long
process_uptime(void)
{
	char		 buf[1024], *p;
	double		 up;
	unsigned long long start;
	FILE		*f;
	int		 i;

	if ((f = fopen("/proc/uptime", "r")) == NULL)
		return -1;
	i = fscanf(f, "%lf", &up);
	fclose(f);
	if (i != 1 || (f = fopen("/proc/self/stat", "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* after the command name, which may hold spaces: field 22 */
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return -1;
	for (i = 2; i < 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, "%llu", &start) != 1)
		return -1;
	return (long long)(up - (double)start / (double)sysconf(_SC_CLK_TCK));
}

/* Text that goes to a terminal: controls shown as '?'. */
static void
plain_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/*
 * The reloads since pfsd started (history.c keeps them across HUPs):
 * how many of each result, and the last one.
 */
static void
write_reloads(FILE *f, int json)
{
	const struct reload_event	*e = history_event(0);
	char				 when[32];
	time_t				 t;
	struct tm			 tm;

	if (e != NULL && (e->result < 0 || e->result >= RELOAD__COUNT))
		e = NULL;
	if (json) {
		fprintf(f, "\"reloads\": {\"ok\": %lu, \"refused\": %lu, "
		    "\"rolled_back\": %lu, \"last\": ",
		    history_reloads(RELOAD_OK), history_reloads(RELOAD_REFUSED),
		    history_reloads(RELOAD_ROLLED_BACK));
		if (e == NULL) {
			fprintf(f, "null},\n  ");
			return;
		}
		fprintf(f, "{\"generation\": %u, \"time\": %lld, "
		    "\"result\": \"%s\", \"reason\": ", e->generation,
		    e->time, history_result_name(e->result));
		if (e->reason[0] == '\0')
			fprintf(f, "null}},\n  ");
		else {
			fputc('"', f);
			json_text(f, e->reason);
			fprintf(f, "\"}},\n  ");
		}
		return;
	}
	fprintf(f, "reloads ok %lu refused %lu rolled_back %lu",
	    history_reloads(RELOAD_OK), history_reloads(RELOAD_REFUSED),
	    history_reloads(RELOAD_ROLLED_BACK));
	if (e != NULL) {
		t = (time_t)e->time;
		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when),
		    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(when, sizeof(when), "%lld", e->time);
		fprintf(f, "; last %s generation %u at %s%s",
		    history_result_name(e->result), e->generation, when,
		    e->reason[0] != '\0' ? ": " : "");
		plain_text(f, e->reason);
	}
	fputc('\n', f);
}

static void
write_header(struct pfsd_server *srv, FILE *f, long long now, int json)
{
	size_t		busy, idle;
	unsigned long	served = srv->total_served;

	count_states(&busy, &idle, &served);
	if (json) {
		fprintf(f, "{\n  \"version\": \"%s\", \"pid\": %ld, "
		    "\"generation\": %u, \"uptime_s\": %lld, "
		    "\"generation_uptime_s\": %lld, \"max_servers\": %ld, "
		    "\"children\": %zu, \"busy\": %zu, \"idle\": %zu, "
		    "\"served\": %lu, \"last_reload\": \"", PACKAGE_VERSION,
		    (long)getpid(), srv->generation, process_uptime(),
		    (now - srv->start_ms) / 1000, srv->max_servers,
		    pool_size(), busy, idle, served);
		json_text(f, srv->reload_status);
		fprintf(f, "\",\n  ");
		write_reloads(f, 1);
		fprintf(f, "\"slots\": [");
		return;
	}
	fprintf(f, "pfsd %s pid %ld generation %u up %llds (generation %llds) "
	    "max_servers %ld children %zu busy %zu idle %zu served %lu\n",
	    PACKAGE_VERSION, (long)getpid(), srv->generation,
	    process_uptime(), (now - srv->start_ms) / 1000, srv->max_servers,
	    pool_size(), busy, idle, served);
	write_reloads(f, 0);
	if (srv->reload_status[0] != '\0')
		fprintf(f, "last reload: %s\n", srv->reload_status);
	fprintf(f, "%-8s %-10s %8s %3s %16s %s\n", "PID", "STATE", "SERVED",
	    "GEN", "REQUEST_AGE_MS", "PEER");
}

static char *
status_render(struct pfsd_server *srv, enum status_format format,
    size_t *len)
{
	FILE		*f;
	char		*buf = NULL;
	long long	 now = now_ms();
	struct pool_entry *e;
	struct slot	*s;
	size_t		 it = 0;
	int		 first = 1, json = format == STATUS_JSON;

	if ((f = open_memstream(&buf, len)) == NULL)
		return NULL;
	if (format == STATUS_METRICS) {
		metrics_render(srv, f);
		fclose(f);
		return buf;
	}
	write_header(srv, f, now, json);
	while ((e = pool_next(&it)) != NULL) {
		if ((s = pool_slot(e)) == NULL)
			continue;
		write_child(f, pool_pid(e), s, now, json, first);
		first = 0;
	}
	if (json)
		fprintf(f, "\n  ]\n}\n");
	fclose(f);
	return buf;
}

static void
set_timeouts(int fd)
{
	struct timeval	tv = { 0, STATUS_TIMEOUT_MS * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static const char *const status_requests[] = {
	[STATUS_TEXT] = "text\n", [STATUS_JSON] = "json\n",
	[STATUS_METRICS] = "metrics\n", [STATUS_WATCH] = "text\n"
};

/* What a status client asked for ("text" for anything unknown). */
static enum status_format
status_asked(const char *req)
{
	size_t	i;

	for (i = 0; i < nitems(status_requests); i++)
		if (strncmp(req, status_requests[i],
		    strlen(status_requests[i]) - 1) == 0)
			return (enum status_format)i;
	return STATUS_TEXT;
}

/* One status client: read "json", "metrics" or "text", answer, close. */
void
status_serve(struct pfsd_server *srv)
{
	char	req[32] = "", *out;
	size_t	len = 0, off = 0;
	ssize_t	n;
	int	fd;

	if ((fd = accept4(srv->status_fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* the client stays queued: look again in a while,
			 * not in a tight loop */
			log_warn("status_socket: accept");
			srv->status_pause_ms = now_ms() + STATUS_PAUSE_MS;
		}
		return;
	}
	set_timeouts(fd);
	n = recv(fd, req, sizeof(req) - 1, 0);
	req[n > 0 ? n : 0] = '\0';
	if ((out = status_render(srv, status_asked(req), &len))
	    != NULL) {
		while (off < len && (n = send(fd, out + off, len - off,
		    MSG_NOSIGNAL)) > 0)
			off += (size_t)n;
		free(out);
	}
	close(fd);
}

/*
 * `pfsd status` given neither -c nor status_socket reads the default
 * configuration ($PFSD_CONF, or the installed one) when there is one.
 */
void
status_default_conf(struct conf *c)
{
	const char	*path = paths_conf_default();

	if (conf_isset(c, OPT_CONF_FILE) || conf_isset(c, OPT_STATUS_SOCKET) ||
	    access(path, R_OK) != 0)
		return;
	conf_load_file(c, path);
}

/*
 * Ask the running parent at path for format; the answer (NUL-ended) in
 * *out.  0, or the exit code of the command with the reason printed.
 */
static int
status_query(const char *path, enum status_format format, char **out)
{
	struct sockaddr_un	 sun;
	char			 buf[4096], err[ERRBUF_SIZE];
	const char		*req = status_requests[format];
	size_t			 len = 0;
	ssize_t			 n;
	FILE			*f;
	int			 fd;

	*out = NULL;
	if (unix_addr(path, &sun, err, sizeof(err)) == -1 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "pfsd status: %s\n", err);
		return 1;
	}
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		/* EACCES: it runs, but the socket is not ours to use */
		if (errno == EACCES)
			fprintf(stderr, "pfsd status: %s: %s (the status socket "
			    "or its directory does not let this user in: run "
			    "as root or as the user pfsd runs as)\n", path,
			    strerror(errno));
		else
			fprintf(stderr, "pfsd status: %s: %s (is pfsd "
			    "running?)\n", path, strerror(errno));
		close(fd);
		return EXIT_UNAVAILABLE;
	}
	if ((f = open_memstream(out, &len)) == NULL) {
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, f);
	fclose(f);
	close(fd);
	return 0;
}

static volatile sig_atomic_t	watch_quit;

static void
watch_on_signal(int sig)
{
	watch_quit = 1;
}

/* "served N" of the text header; -1 if not there. */
static long long
watch_served(const char *text)
{
	const char	*s = strstr(text, " served ");

	return s != NULL ? strtoll(s + 8, NULL, 10) : -1;
}

/*
 * `pfsd status --watch`: the table again every second, with requests per
 * second, until q (or Ctrl-C, TERM).  Plain terminal output: clear, home,
 * print.
 */
static int
status_watch(const char *path)
{
	struct termios		 saved, raw;
	struct sigaction	 sa;
	struct pollfd		 pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	sigset_t		 set;
	long long		 served, last = -1, t, last_t = 0;
	char			*text, c;
	int			 tty = isatty(STDIN_FILENO), rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_on_signal;	/* no SA_RESTART: poll ends */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else
		tty = 0;
	while (!watch_quit) {
		if ((rc = status_query(path, STATUS_TEXT, &text)) != 0)
			break;
		t = now_ms();
		served = watch_served(text);
		printf("\033[H\033[J");
		if (last >= 0 && served >= last && t > last_t)
			printf("%.1f requests/s   ", (double)(served - last) *
			    1000.0 / (double)(t - last_t));
		else
			printf("-- requests/s   ");
		printf("(refreshed every second; q quits)\n%s", text);
		fflush(stdout);
		free(text);
		last = served;
		last_t = t;
		if (poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN) &&
		    (read(STDIN_FILENO, &c, 1) <= 0 || c == 'q' || c == 'Q'))
			break;
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	printf("\n");
	return rc;
}

/* `pfsd status`: ask the running parent; the exit code of the command. */
int
status_client(struct conf *c, enum status_format format)
{
	const char	*path = conf_str(c, OPT_STATUS_SOCKET);
	char		*out;
	int		 rc;

	if (path == NULL) {
		fprintf(stderr, "pfsd status: status_socket is not set in "
		    "%s (give -c FILE, set PFSD_CONF, or --status_socket=PATH)\n",
		    conf_str(c, OPT_CONF_FILE) != NULL ?
		    conf_str(c, OPT_CONF_FILE) : "the configuration");
		return EXIT_CONFIG;
	}
	if (format == STATUS_WATCH)
		return status_watch(path);
	if ((rc = status_query(path, format, &out)) == 0) {
		fputs(out, stdout);
		free(out);
	}
	return rc;
}
