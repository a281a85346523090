/*
 * hooks.c - test handler defining every hook, for the engine's integration
 * tests.  Each hook appends one line "HOOKNAME PID PPID" to the file named
 * by the option hook_log (nothing when unset): opened with O_APPEND and
 * written with one write(2), so lines of concurrent children never mix.
 *
 * Options (all read with pfsd_option):
 *	hook_log FILE	where the hook lines go
 *	deny_all	allow_deny_hook denies every connection
 *	fail_init	child_init_hook fails (returns 1)
 *	fail_init_file PATH  child_init_hook fails while PATH exists
 *	denied_reply	request_denied_hook prints "denied" to stdout (which
 *			pfsd must not send to the denied client)
 *	fail_hook NAME	(list) the named hooks return 1; not for
 *			allow_deny_hook, where 0 is the refusal
 *
 * process_request echoes lines like the echo handler, except these:
 *	crash		abort(): a child dying in the middle of a request
 *	done		answer "done", call pfsd_done(), end the connection
 *	info		answer one line "peer=ADDR:PORT local=ADDR:PORT
 *			proto=N pid=PID ppid=PPID generation=G requests=R"
 *	quit		end the connection
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Append "HOOK PID PPID" to hook_log; return what the hook returns. */
static int
hooks_log(const struct pfsd_server *srv, const char *hook)
{
	const char	*path;
	char		 line[128];
	int		 fd, n;

	if ((path = pfsd_option(srv, "hook_log")) != NULL) {
		n = snprintf(line, sizeof line, "%s %ld %ld\n", hook,
		    (long)getpid(), (long)getppid());
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
		if (fd != -1) {
			if (write(fd, line, (size_t)n) != n)
				perror(path);
			close(fd);
		}
	}
	return hooks_fails(srv, hook);
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

HOOKS_SRV(post_configure_hook)
HOOKS_SRV(post_bind_hook)
HOOKS_SRV(pre_loop_hook)
HOOKS_SRV(child_finish_hook)
HOOKS_SRV(run_dequeue)
HOOKS_SRV(idle_loop_hook)
HOOKS_SRV(pre_server_close_hook)
HOOKS_REQ(post_accept_hook)
HOOKS_REQ(post_process_request_hook)
HOOKS_REQ(post_client_connection_hook)

int
run_n_children_hook(struct pfsd_server *srv, int n)
{
	(void)n;
	return hooks_log(srv, "run_n_children_hook");
}

int
child_init_hook(struct pfsd_server *srv)
{
	const char	*path = pfsd_option(srv, "fail_init_file");
	int		 r, fail;

	/* decided before the line is written: a test that sees the line
	 * may change the file without changing this child's fate */
	fail = hooks_opt(srv, "fail_init") ||
	    (path != NULL && access(path, F_OK) == 0);
	r = hooks_log(srv, "child_init_hook");
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
		else
			fputs(line, stdout);
		if (fflush(stdout) == EOF)
			break;
	}
	return r;
}
