/*
 * hooks.c - test handler defining every hook, for the engine's integration
 * tests.  Each hook appends one line "HOOKNAME PID PPID [ARGS]" to the file
 * named by the option hook_log (nothing when unset): opened with O_APPEND
 * and written with one write(2), so lines of concurrent children never
 * mix.  ARGS are the hook's arguments and what it can ask pfsd:
 *	pre_fork_hook KIND, register_child child=PID KIND,
 *	delete_child_hook/other_child_died_hook child=PID exit=N|signal=N|gone,
 *	child_init_hook/child_finish_hook KIND (pfsd_child_kind, or
 *	"parent" when called outside a child),
 *	post_process_request_hook allowed=0|1 (pfsd_request_allowed),
 *	fatal_hook MESSAGE.
 *
 * Options (all read with pfsd_option):
 *	hook_log FILE	where the hook lines go
 *	log_hook FILE	write_to_log_hook writes "LEVEL MESSAGE" lines there
 *			and returns 0 (pfsd writes nothing); unset, it
 *			returns 1 and pfsd logs as usual
 *	deny_all	allow_deny_hook denies every connection
 *	fail_init	child_init_hook fails (returns 1)
 *	fail_init_file PATH  child_init_hook fails while PATH exists
 *	denied_reply	request_denied_hook prints "denied" to stdout (which
 *			pfsd must not send to the denied client)
 *	fail_hook NAME	(list) the named hooks return 1; not for
 *			allow_deny_hook, where 0 is the refusal
 *	set_max_servers N  pre_loop_hook and child_init_hook call
 *			pfsd_set_option("max_servers", N) and log
 *			"set=0" or "set=ERRNO"
 *	spawn_other	pre_loop_hook forks a process that exits 7 at once
 *			(for other_child_died_hook)
 *	catch_signal N	child_init_hook installs a handler for signal N
 *			that logs "got_signal PID PPID N" (sig_passthrough)
 *	time_init	child_init_hook adds " ms=T": CLOCK_MONOTONIC in ms,
 *			read by the child itself (timing tests)
 *
 * process_request echoes lines like the echo handler, except these:
 *	crash		abort(): a child dying in the middle of a request
 *	done		answer "done", call pfsd_done(), end the connection
 *	info		answer one line "peer=ADDR:PORT local=ADDR:PORT
 *			proto=N pid=PID ppid=PPID generation=G requests=R"
 *	quit		end the connection
 *	burst		log 2000 long lines with pfsd_log as fast as it can,
 *			answer "burst done" (lines of children at once)
 */
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pfsd.h>

PFSD_PLUGIN("hooks");

/* Is the option key set to something other than "0"? */
static int
hooks_opt(const struct pfsd_server *srv, const char *key)
{
	const char	*v;

	v = pfsd_option(srv, key);
	return v != NULL && strcmp(v, "0") != 0;
}

/* Is hook listed in fail_hook? */
static int
hooks_fails(const struct pfsd_server *srv, const char *hook)
{
	const char	*v;
	size_t		 i, n;

	n = pfsd_option_count(srv, "fail_hook");
	for (i = 0; i < n; i++)
		if ((v = pfsd_option_at(srv, "fail_hook", i)) != NULL &&
		    strcmp(v, hook) == 0)
			return 1;
	return 0;
}

/* Append LINE to the file the option KEY names, in one write(2). */
static void
hooks_append(const struct pfsd_server *srv, const char *key,
    const char *line, int n)
{
	const char	*path;
	int		 fd;

	if ((path = pfsd_option(srv, key)) != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
		if (fd != -1) {
			if (write(fd, line, (size_t)n) != n)
				perror(path);
			close(fd);
		}
	}
}

/* "HOOK PID PPID[ ARGS]" to hook_log; return what the hook returns. */
static int PFSD_PRINTF(3, 4)
hooks_logf(const struct pfsd_server *srv, const char *hook,
    const char *fmt, ...)
{
	char	line[512], args[400] = "";
	va_list	ap;
	int	n;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(args, sizeof args, fmt, ap);
		va_end(ap);
	}
	n = snprintf(line, sizeof line, "%s %ld %ld%s%s\n", hook,
	    (long)getpid(), (long)getppid(), args[0] != '\0' &&
	    args[0] != ' ' ? " " : "", args);
	if (n > (int)sizeof line - 1)
		n = (int)sizeof line - 1;
	hooks_append(srv, "hook_log", line, n);
	return hooks_fails(srv, hook);
}

/* pfsd_child_kind, or "parent". */
static const char *
hooks_kind(const struct pfsd_server *srv)
{
	const char	*k = pfsd_child_kind(srv);

	return k != NULL ? k : "parent";
}

static int
hooks_log(const struct pfsd_server *srv, const char *hook)
{
	return hooks_logf(srv, hook, NULL);
}

#define HOOKS_SRV(h)							\
int									\
h(struct pfsd_server *srv)						\
{									\
	return hooks_log(srv, #h);					\
}
#define HOOKS_REQ(h)							\
int									\
h(struct pfsd_request *req)						\
{									\
	return hooks_log(pfsd_request_server(req), #h);			\
}

HOOKS_SRV(configure_hook)
HOOKS_SRV(post_configure_hook)
HOOKS_SRV(post_bind_hook)
HOOKS_SRV(run_dequeue)
HOOKS_SRV(idle_loop_hook)
HOOKS_SRV(pre_server_close_hook)
HOOKS_SRV(restart_open_hook)
HOOKS_SRV(restart_close_hook)
HOOKS_REQ(post_accept_hook)
HOOKS_REQ(post_client_connection_hook)

/* "set=0", or "set=EPERM"-like, after pfsd_set_option(max_servers). */
static const char *
hooks_set(struct pfsd_server *srv)
{
	const char	*n = pfsd_option(srv, "set_max_servers");

	if (n == NULL)
		return "";
	if (pfsd_set_option(srv, "max_servers", n) == 0)
		return " set=0";
	return errno == EPERM ? " set=EPERM" : errno == EINVAL ?
	    " set=EINVAL" : " set=?";
}

int
pre_loop_hook(struct pfsd_server *srv)
{
	pid_t	pid;

	if (hooks_opt(srv, "spawn_other") && (pid = fork()) == 0)
		_exit(7);
	return hooks_logf(srv, "pre_loop_hook", "%s", hooks_set(srv));
}

int
child_finish_hook(struct pfsd_server *srv)
{
	return hooks_logf(srv, "child_finish_hook", "%s", hooks_kind(srv));
}

int
post_process_request_hook(struct pfsd_request *req)
{
	return hooks_logf(pfsd_request_server(req),
	    "post_process_request_hook", "allowed=%d",
	    pfsd_request_allowed(req));
}

int
pre_fork_hook(struct pfsd_server *srv, const char *kind)
{
	return hooks_logf(srv, "pre_fork_hook", "%s", kind);
}

int
register_child(struct pfsd_server *srv, pid_t pid, const char *kind)
{
	return hooks_logf(srv, "register_child", "child=%ld %s", (long)pid,
	    kind);
}

/* "exit=N", "signal=N" or "gone" (status -1). */
static const char *
hooks_status(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "gone");
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal=%d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit=%d", WEXITSTATUS(status));
	return buf;
}

int
delete_child_hook(struct pfsd_server *srv, pid_t pid, int status)
{
	char	buf[32];

	return hooks_logf(srv, "delete_child_hook", "child=%ld %s",
	    (long)pid, hooks_status(status, buf, sizeof buf));
}

int
other_child_died_hook(struct pfsd_server *srv, pid_t pid, int status)
{
	char	buf[32];

	return hooks_logf(srv, "other_child_died_hook", "child=%ld %s",
	    (long)pid, hooks_status(status, buf, sizeof buf));
}

int
fatal_hook(struct pfsd_server *srv, const char *msg)
{
	return hooks_logf(srv, "fatal_hook", "%s", msg);
}

int
write_to_log_hook(struct pfsd_server *srv, int level, const char *msg)
{
	char	line[2200];
	int	n;

	if (pfsd_option(srv, "log_hook") == NULL)
		return 1;
	n = snprintf(line, sizeof line, "%d %s\n", level, msg);
	if (n > (int)sizeof line - 1)
		n = (int)sizeof line - 1;
	hooks_append(srv, "log_hook", line, n);
	return 0;
}

int
run_n_children_hook(struct pfsd_server *srv, int n)
{
	(void)n;
	return hooks_log(srv, "run_n_children_hook");
}

static int	 hooks_sig_fd = -1;
static char	 hooks_sig_line[96];
static int	 hooks_sig_len;

static void
hooks_on_signal(int sig)
{
	(void)sig;
	(void)!write(hooks_sig_fd, hooks_sig_line, (size_t)hooks_sig_len);
}

/* catch_signal N: the line is made now, the handler only writes it. */
static void
hooks_catch(struct pfsd_server *srv)
{
	const char		*n = pfsd_option(srv, "catch_signal");
	const char		*path = pfsd_option(srv, "hook_log");
	struct sigaction	 sa;

	if (n == NULL || path == NULL)
		return;
	hooks_sig_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644);
	hooks_sig_len = snprintf(hooks_sig_line, sizeof hooks_sig_line,
	    "got_signal %ld %ld %s\n", (long)getpid(), (long)getppid(), n);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = hooks_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(atoi(n), &sa, NULL);
}

int
child_init_hook(struct pfsd_server *srv)
{
	const char	*path = pfsd_option(srv, "fail_init_file");
	struct timespec	 ts;
	char		 when[40] = "";
	int		 r, fail;

	/* decided before the line is written: a test that sees the line
	 * may change the file without changing this child's fate */
	fail = hooks_opt(srv, "fail_init") ||
	    (path != NULL && access(path, F_OK) == 0);
	hooks_catch(srv);
	if (hooks_opt(srv, "time_init")) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(when, sizeof(when), " ms=%lld",
		    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	}
	r = hooks_logf(srv, "child_init_hook", "%s%s%s", hooks_kind(srv),
	    hooks_set(srv), when);
	return fail ? 1 : r;
}

int
request_denied_hook(struct pfsd_request *req)
{
	struct pfsd_server	*srv = pfsd_request_server(req);

	if (hooks_opt(srv, "denied_reply"))
		printf("denied\n");
	return hooks_log(srv, "request_denied_hook");
}

int
allow_deny_hook(struct pfsd_request *req)
{
	struct pfsd_server	*srv = pfsd_request_server(req);

	(void)hooks_log(srv, "allow_deny_hook");
	return !hooks_opt(srv, "deny_all");
}

/* Answer "info": what pfsd tells a handler about this request. */
static void
hooks_info(struct pfsd_request *req)
{
	const struct pfsd_server	*srv = pfsd_request_server(req);
	const char			*peer, *local;

	peer = pfsd_peer_addr(req);
	local = pfsd_local_addr(req);
	printf("peer=%s:%d local=%s:%d proto=%d pid=%ld ppid=%ld "
	    "generation=%u requests=%lu\n", peer != NULL ? peer : "",
	    pfsd_peer_port(req), local != NULL ? local : "",
	    pfsd_local_port(req), (int)pfsd_request_proto(req),
	    (long)getpid(), (long)getppid(), pfsd_generation(srv),
	    pfsd_requests(srv));
}

/* Many long log lines at once: one write each, or they would mix. */
static void
hooks_burst(void)
{
	char	pad[201];
	int	i;

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (i = 0; i < 2000; i++)
		pfsd_log(PFSD_LOG_NOTICE, "burst %ld %d %s.", (long)getpid(), i,
		    pad);
	printf("burst done\n");
}

/* Is line (with its line end) the word w? */
static int
hooks_is(const char *line, const char *w)
{
	size_t	n = strcspn(line, "\r\n");

	return n == strlen(w) && strncmp(line, w, n) == 0;
}

int
process_request(struct pfsd_request *req)
{
	char	line[4096];
	int	r;

	r = hooks_log(pfsd_request_server(req), "process_request");
	while (fgets(line, sizeof line, stdin) != NULL) {
		if (hooks_is(line, "crash"))
			abort();
		if (hooks_is(line, "quit"))
			break;
		if (hooks_is(line, "done")) {
			printf("done\n");
			pfsd_done(pfsd_request_server(req));
			break;
		}
		if (hooks_is(line, "info"))
			hooks_info(req);
		else if (hooks_is(line, "burst"))
			hooks_burst();
		else
			fputs(line, stdout);
		if (fflush(stdout) == EOF)
			break;
	}
	return r;
}
