/*
 * harness.h - helpers for integration tests: start the real pfsd binary on
 * loopback, wait for it to be ready (sd_notify READY=1 on a private
 * NOTIFY_SOCKET), talk to it over real sockets, look at its processes in
 * /proc, and stop it.  Every pfsd started here dies with the test process
 * (PR_SET_PDEATHSIG), so a failing test leaves nothing behind.
 */
#ifndef PFSD_HARNESS_H
#define PFSD_HARNESS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef UNCONST		/* as in daemon/internal.h: argv for execv(3) */
#define UNCONST(p)	((void *)(uintptr_t)(const void *)(p))
/*
 * Take away every descriptor pid could open next: its RLIMIT_NOFILE goes
 * down to the lowest free number (what it has stays open); the old limit
 * goes to *old, for h_nofile_back.
 */
struct rlimit;
void	 h_exhaust_fds(pid_t, struct rlimit *old);
void	 h_nofile_back(pid_t, const struct rlimit *old);

#endif

#ifndef SRCDIR
#define SRCDIR "."
/*
 * Take away every descriptor pid could open next: its RLIMIT_NOFILE goes
 * down to the lowest free number (what it has stays open); the old limit
 * goes to *old, for h_nofile_back.
 */
struct rlimit;
void	 h_exhaust_fds(pid_t, struct rlimit *old);
void	 h_nofile_back(pid_t, const struct rlimit *old);

#endif
#define PFSD_BIN	SRCDIR "/daemon/pfsd"
#define PLUGIN(n)	SRCDIR "/plugins/" n ".so"
#define TPLUGIN(n)	SRCDIR "/tests/plugins/" n ".so"

struct hproc {
	pid_t	pid;
	int	notify_fd;		/* our end of NOTIFY_SOCKET */
	char	dir[256];		/* private directory of this test */
	char	log[320];		/* stderr; h_serve_conf: log_file */
	int	port;			/* h_serve*: the TCP port */
};

void	 h_global_init(void);
/* After the run: with failures, keep and show the files of the tests that
 * did not pass (see harness.c). */
void	 h_global_cleanup(int failed);

/* A private directory for this test process; files are made in it. */
const char *h_dir(void);
char	*h_path(const char *name);		/* static buffer rotation */
char	*h_write(const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 h_free_port(void);
/* A TCP socket listening on 127.0.0.1 at a port the kernel chose (*port). */
int	 h_listen_tcp(int *port);

/* Start pfsd with argv (NULL-ended, without argv[0]); NULL on failure. */
int	 h_start(struct hproc *, const char *const *argv);

/* How h_start_opts starts pfsd; NULL or a zeroed struct is h_start. */
struct hopts {
	const char *const *wrap;	/* command run before PFSD_BIN (valgrind) */
	int	 rlimit_set;		/* set RLIMIT_ rlimit in pfsd first: */
	int	 rlimit;
	long	 soft, hard;		/* -1: unlimited */
	int	 ready_ms;		/* h_serve*: how long; 0: H_READY_MS */
	const char *proto;		/* h_serve*: "udp"; NULL: TCP */
	int	 port;			/* h_serve*: this port; 0: a free one */
	void	(*forked)(pid_t);	/* h_serve*: run once pfsd is forked */
};
int	 h_start_opts(struct hproc *, const char *const *argv,
	    const struct hopts *);

/*
 * Start pfsd on a free loopback TCP port (p->port, also returned; or
 * hopts.port) with
 * --handler handler (none when NULL) and the extra arguments, and wait
 * for READY=1.  A failure fails the test, showing the end of pfsd's log.
 */
#define H_READY_MS	10000
int	 h_serve(struct hproc *, const char *handler,
	    const char *const *extra);
int	 h_serve_opts(struct hproc *, const char *handler,
	    const char *const *extra, const struct hopts *);
/*
 * The same from a configuration file, h_path("pfsd.conf"): the port,
 * log_file pfsd.log (p->log from then on), then body.  h_write_conf
 * writes that file (by rename: a reader sees the old file or the new).
 */
int	 h_serve_conf(struct hproc *, const char *body);
void	 h_write_conf(int port, const char *body);

/* Wait for READY=1 (or another notify word), ms; 0 ok, -1 timeout/exit. */
int	 h_wait_notify(struct hproc *, const char *word, int ms);
int	 h_wait_ready(struct hproc *, int ms);
/* Stop with sig, wait up to ms; returns the wait status or -1. */
int	 h_stop(struct hproc *, int sig, int ms);
/* Wait for the process to exit by itself; wait status or -1. */
int	 h_wait_exit(struct hproc *, int ms);

/* Children of pid (from /proc); returns count, fills up to max. */
int	 h_children(pid_t, pid_t *, int max);
int	 h_wait_children(pid_t, int n, int ms);
/* /proc/PID/cmdline (to its first NUL) or "comm", into buf */
const char *h_proc_text(pid_t, const char *what, char *buf, size_t len);
/* a child whose process title starts with prefix, within ms; or 0 */
pid_t	 h_child_titled(pid_t parent, const char *prefix, int ms);
/* until exactly n children have such a title: 0, or -1 after ms */
int	 h_wait_titled(pid_t parent, const char *prefix, int n, int ms);
int	 h_alive(pid_t);
int	 h_zombies(pid_t parent);
int	 h_wait_no_zombies(pid_t parent, int ms);
int	 h_fd_count(pid_t);
int	 h_proc_count(pid_t, const char *what);	/* /proc/PID/WHAT entries */

/* The log (stderr) of pfsd: does it contain s?  wait up to ms for it. */
int	 h_log_has(struct hproc *, const char *s);
int	 h_wait_log(struct hproc *, const char *s, int ms);
/* How many times s is in the log; wait up to ms for it to be n. */
int	 h_log_count(struct hproc *, const char *s);
int	 h_wait_log_count(struct hproc *, const char *s, int n, int ms);
/* The end of the log (a few KB, static), for a failure message. */
const char *h_log_tail(struct hproc *);
char	*h_read_file(const char *path);		/* malloc'd, NUL-ended */
int	 h_file_has(const char *path, const char *s);
int	 h_wait_file(const char *path, const char *s, int ms);
int	 h_file_count(const char *path, const char *s);	/* occurrences */
int	 h_count(const char *text, const char *s);	/* occurrences */
int	 h_listeners_on(int port);	/* TCP sockets listening there */
const char *h_file_tail(const char *path);	/* as h_log_tail */

/* CLOCK_MONOTONIC, ms: durations a test measures. */
long long h_now_ms(void);

/* Client side.  Each returns bytes read into buf (NUL-ended) or -1. */
int	 h_connect_tcp(const char *host, int port);
int	 h_connect_unix(const char *path);
int	 h_connect_from(const char *src, int port);	/* to 127.0.0.1 */
ssize_t	 h_talk_fd(int fd, const char *send, char *buf, size_t len, int ms);
ssize_t	 h_talk(const char *host, int port, const char *send, char *buf,
	    size_t len);
/* One round trip to 127.0.0.1:port: the answer must be exactly want. */
void	 h_talk_ok(int port, const char *send, const char *want);
ssize_t	 h_talk_unix(const char *path, const char *send, char *buf,
	    size_t len);
ssize_t	 h_talk_udp(const char *host, int port, const char *send, char *buf,
	    size_t len, int ms);

/*
 * bench/loadgen against 127.0.0.1:port in the background with args
 * (NULL-ended: -c, -d or -n...), its output in the file out; it dies with
 * the test.  h_loadgen_check waits for it and fails the test unless it
 * exited 0 with want in its output.  (SIGTERM ends a run early: it
 * reports what it did.)
 */
pid_t	 h_loadgen(int port, const char *out, const char *const *args);
void	 h_loadgen_check(pid_t, const char *out, const char *want);

/*
 * To the hooks test handler on port, run with cidr_deny 127.0.0.2: served
 * requests ("hello"), then one client denied (from 127.0.0.2: nothing
 * comes back, an end or a reset) and one request whose child crashes.
 */
void	 h_served_denied_crash(int port, int served);

/* The pid of the child that serves the next connection to port: the
 * hooks test handler answers "info" with " pid=N". */
long	 h_serving_pid(int port);

/* Run pfsd to completion (e.g. -t, -T); output (stdout+stderr) in out. */
int	 h_run(const char *const *argv, char *out, size_t len);
/* The same, failing the test unless pfsd exits with code. */
void	 h_run_exit(const char *const *argv, int code, char *out, size_t len);
/* Fail the test unless out contains want (the message shows out's end). */
void	 h_has(const char *out, const char *want);
/* status of a pfsd that refused its configuration (78), saying want */
void	 h_assert_refused(int status, const char *out, const char *want);
/* Fail the test unless the file still holds text and is still ours: what
 * pfsd refused to use must be left as it was. */
void	 h_assert_untouched(const char *path, const char *text);

/* A shell command line (printf-style); its standard output in out (the
 * rest read and dropped); its exit code, -1 if it was killed. */
int	 h_sh(char *out, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * A check that cannot run here (no /dev/log, no IPv6...) says so: H_SKIP
 * records it and returns, and the run's summary lists it as SKIP rather
 * than counting it silently among the passes.
 */
void	 h_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	 h_skips_report(FILE *);		/* prints them; how many */
#define H_SKIP(...)	do { h_skip(__VA_ARGS__); return; } while (0)

/*
 * Take away every descriptor pid could open next: its RLIMIT_NOFILE goes
 * down to the lowest free number (what it has stays open); the old limit
 * goes to *old, for h_nofile_back.
 */
struct rlimit;
void	 h_exhaust_fds(pid_t, struct rlimit *old);
void	 h_nofile_back(pid_t, const struct rlimit *old);

#endif
