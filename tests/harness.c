/*
 * harness.c - integration test helpers; see harness.h.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

static char	dir[256];
static pid_t	dir_owner;
static pid_t	runner_pid;	/* Check's, which forks the tests */

long long
h_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
remove_dir(void)
{
	if (dir[0] != '\0' && dir_owner == getpid())
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove the per-test directories (tests/run/t*) a run leaves: those of
 * tests that died before their atexit() could. */
static void
remove_test_dirs(void)
{
	char		 path[512];
	DIR		*d;
	struct dirent	*e;

	if ((d = opendir(SRCDIR "/tests/run")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != 't' || strchr(e->d_name, '.') == NULL)
			continue;
		snprintf(path, sizeof(path), SRCDIR "/tests/run/%s", e->d_name);
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

/*
 * What each test and the pfsd it starts write to stderr goes to files in
 * the test's directory (stderr, and pfsd.stderr of h_start), so that a
 * green run prints only Check's progress.  A test that passes removes its
 * directory at exit; Check ends a failing one with _exit (or a signal),
 * so after a run with failures the directories left are those of the
 * tests that did not pass: h_global_cleanup keeps them in
 * tests/run/failed/ and prints the last lines of their files.  PFSD_TEST_STDERR=show leaves
 * stderr alone (make soak shows its figures).
 */
#define FAILED_DIR	SRCDIR "/tests/run/failed"
#define TAIL_LINES	20

static int	in_test;
static int	saved_stderr = -1;

/* At the test process's exit, after its own handlers: what is written
 * after (LeakSanitizer's report, under SANITIZE=1) goes to the real
 * stderr, not to a file about to be removed. */
static void
restore_stderr(void)
{
	if (saved_stderr != -1)
		dup2(saved_stderr, STDERR_FILENO);
}

static int
stderr_shown(void)
{
	const char	*show = getenv("PFSD_TEST_STDERR");

	return show != NULL && strcmp(show, "show") == 0;
}

/* The last TAIL_LINES lines of the file at path, on stdout. */
static void
print_tail(const char *path, const char *name)
{
	char	*text = h_read_file(path), *p;
	size_t	 len;
	int	 n = 0;

	if (text == NULL || (len = strlen(text)) == 0) {
		free(text);
		return;
	}
	for (p = text + len - 1; p > text; p--)
		if (*p == '\n' && p + 1 < text + len - 1 &&
		    ++n == TAIL_LINES) {
			p++;
			break;
		}
	printf("---- %s%s:\n%s%s", name, n == TAIL_LINES ?
	    ", last lines" : "", p, text[len - 1] == '\n' ? "" : "\n");
	free(text);
}

static size_t	tail_skip;
static int	tail_any;	/* a log file with something in it */

static int
is_log_name(const char *name)
{
	const char	*dot = strstr(name, ".log");

	return strstr(name, "stderr") != NULL ||
	    (dot != NULL && (dot[4] == '\0' || dot[4] == '.'));
}

static int
any_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_F && S_ISREG(st->st_mode) && st->st_size > 0 &&
	    is_log_name(path + f->base))
		tail_any = 1;
	return 0;
}

/* Files that are logs: *stderr*, *.log, *.log.N (rotated). */
static int
tail_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_F && S_ISREG(st->st_mode) &&
	    is_log_name(path + f->base))
		print_tail(path, path + tail_skip);
	return 0;
}

/*
 * Check forks a process for each test: in it (and not in what it forks
 * in turn), stderr goes to the test's own file.
 */
static void
test_child(void)
{
	int	 fd;

	if (in_test || getppid() != runner_pid)
		return;
	in_test = 1;
	if ((fd = open(h_path("stderr"), O_WRONLY | O_CREAT | O_APPEND,
	    0644)) == -1)
		return;
	fflush(stderr);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	dup2(fd, STDERR_FILENO);
	close(fd);
	atexit(restore_stderr);	/* runs before remove_dir, registered first */
}

static int
by_pid(const struct dirent **a, const struct dirent **b)
{
	long	pa = atol((*a)->d_name + 1), pb = atol((*b)->d_name + 1);

	return pa < pb ? -1 : pa > pb;
}

static int
is_test_dir(const struct dirent *e)
{
	return e->d_name[0] == 't' && strchr(e->d_name, '.') != NULL;
}

/*
 * The directories tests/run/tPID.XXXXXX left at the end of a run with
 * failures: those of the tests that did not pass, kept and shown in the
 * order they ran, which is that of Check's list of failures (a test
 * expected to die by a signal leaves one too); removed when no log file
 * in it has anything to show (a helper process's, or a silent test's).
 */
static void
report_left_dirs(void)
{
	struct dirent	**e;
	char		 path[512], kept[512];
	int		 i, n;

	if ((n = scandir(SRCDIR "/tests/run", &e, is_test_dir, by_pid)) < 0)
		return;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), SRCDIR "/tests/run/%s",
		    e[i]->d_name);
		tail_any = 0;
		nftw(path, any_entry, 16, FTW_PHYS);
		if (!tail_any) {	/* a helper's, or nothing to show */
			nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			free(e[i]);
			continue;
		}
		mkdir(FAILED_DIR, 0755);
		snprintf(kept, sizeof(kept), FAILED_DIR "/%s", e[i]->d_name);
		if (rename(path, kept) == -1)
			snprintf(kept, sizeof(kept), "%s", path);
		printf("\n==== test process %ld did not pass: its files are "
		    "kept in %s\n", atol(e[i]->d_name + 1), kept);
		tail_skip = strlen(kept) + 1;
		nftw(kept, tail_entry, 16, FTW_PHYS);
		free(e[i]);
	}
	free(e);
	fflush(stdout);
}

/*
 * Check sends a failure message to the runner through a file and, when
 * the message is over its limit (4096 bytes by default), calls exit(2)
 * in the test process instead: the failure then shows only as "(after
 * this point) Early exit with return value 2" at the failing line, its
 * text lost, and the test's files too (exit runs remove_dir).  Check
 * cuts a message it formats at BUFSIZ, so this limit lets all through.
 */
#define CHECK_MSG_MAX	(4 * BUFSIZ)

void
h_global_init(void)
{
	char	run[32];

	check_set_max_msg_size(CHECK_MSG_MAX);
	signal(SIGPIPE, SIG_IGN);
	mkdir(SRCDIR "/tests/run", 0755);
	snprintf(run, sizeof(run), "%ld", (long)getpid());
	setenv("PFSD_TEST_RUN", run, 1);	/* names the skip list */
	remove_test_dirs();
	nftw(FAILED_DIR, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	runner_pid = getpid();
	if (!stderr_shown())
		pthread_atfork(NULL, NULL, test_child);
}

void
h_global_cleanup(int failed)
{
	if (failed > 0 && runner_pid == getpid() && !stderr_shown())
		report_left_dirs();
	else
		remove_test_dirs();
}

/*
 * Each test runs in its own forked process: the directory is per pid.
 * A process a test forks (a helper that starts a pfsd, then _exits) uses
 * its test's directory: one of its own would never be removed, and
 * would be shown after a run with failures as that of a test that did
 * not pass.
 */
const char *
h_dir(void)
{
	if (dir_owner != getpid() && (dir[0] == '\0' ||
	    dir_owner == runner_pid)) {
		snprintf(dir, sizeof(dir), SRCDIR "/tests/run/t%ld.XXXXXX",
		    (long)getpid());
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof(dir), "/tmp/pfsd-test.XXXXXX");
			if (mkdtemp(dir) == NULL)
				abort();
		}
		chmod(dir, 0755);
		dir_owner = getpid();
		atexit(remove_dir);
	}
	return dir;
}

char *
h_path(const char *name)
{
	static char	bufs[8][512];
	static int	i;
	char		*b = bufs[i++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", h_dir(), name);
	return b;
}

char *
h_write(const char *name, const char *fmt, ...)
{
	char	*path = h_path(name);
	va_list	 ap;
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return path;
}

/* A port nobody listens on now (the kernel's choice, then released). */
int
h_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		port = -1;
	else
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

int
h_listen_tcp(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * The n-th pfsd a test starts gets its own notify socket and log, so a
 * test can run several (a fleet behind a balancer); the first keeps the
 * plain names.
 */
static const char *
instance_name(char *buf, size_t len, const char *base, const char *ext,
    int n)
{
	if (n == 0)
		snprintf(buf, len, "%s.%s", base, ext);
	else
		snprintf(buf, len, "%s.%d.%s", base, n, ext);
	return buf;
}

static int
notify_socket(struct hproc *p, int n)
{
	struct sockaddr_un	sun;
	char			 name[64];
	char			*path = h_path(instance_name(name, sizeof(name),
				    "notify", "sock", n));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	p->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->notify_fd == -1 ||
	    bind(p->notify_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return -1;
	chmod(path, 0777);	/* as systemd's: pfsd may run as nobody */
	return 0;
}

int
h_start(struct hproc *p, const char *const *argv)
{
	return h_start_opts(p, argv, NULL);
}

/* In the new process, before exec: the resource limit asked for. */
static void
apply_rlimit(const struct hopts *o)
{
	struct rlimit	rl;

	if (o == NULL || !o->rlimit_set)
		return;
	rl.rlim_cur = o->soft < 0 ? RLIM_INFINITY : (rlim_t)o->soft;
	rl.rlim_max = o->hard < 0 ? RLIM_INFINITY : (rlim_t)o->hard;
	if (setrlimit(o->rlimit, &rl) == -1) {
		perror("h_start_opts: setrlimit");
		_exit(126);
	}
}

int
h_start_opts(struct hproc *p, const char *const *argv, const struct hopts *o)
{
	static pid_t	 counted;
	static int	 started;
	const char	*av[64];
	char		 notify[512], name[64];
	size_t		 n = 0;
	int		 fd;

	if (counted != getpid()) {	/* each test is its own process */
		counted = getpid();
		started = 0;
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", h_dir());
	snprintf(p->log, sizeof(p->log), "%s/%s", p->dir,
	    instance_name(name, sizeof(name), "pfsd", "stderr", started));
	if (notify_socket(p, started) == -1)
		return -1;
	while (o != NULL && o->wrap != NULL && o->wrap[n] != NULL && n < 32) {
		av[n] = o->wrap[n];
		n++;
	}
	av[n++] = PFSD_BIN;
	while (argv != NULL && *argv != NULL && n < 63)
		av[n++] = *argv++;
	av[n] = NULL;
	snprintf(notify, sizeof(notify), "%s", h_path(instance_name(name,
	    sizeof(name), "notify", "sock", started++)));
	if ((p->pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NOTIFY_SOCKET", notify, 1);
		fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		apply_rlimit(o);
		execvp(av[0], UNCONST(av));
		_exit(127);
	}
	return p->pid > 0 ? 0 : -1;
}

int
h_serve(struct hproc *p, const char *handler, const char *const *extra)
{
	return h_serve_opts(p, handler, extra, NULL);
}

int
h_serve_opts(struct hproc *p, const char *handler, const char *const *extra,
    const struct hopts *o)
{
	const char	*av[64];
	char		 portarg[64];
	size_t		 n = 0;
	int		 port = o != NULL && o->port > 0 ? o->port :
			    h_free_port();

	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d%s%s", port,
	    o != NULL && o->proto != NULL ? "/" : "",
	    o != NULL && o->proto != NULL ? o->proto : "");
	if (handler != NULL) {
		av[n++] = "--handler";
		av[n++] = handler;
	}
	av[n++] = portarg;
	while (extra != NULL && *extra != NULL && n < 63)
		av[n++] = *extra++;
	av[n] = NULL;
	ck_assert_int_eq(h_start_opts(p, av, o), 0);
	p->port = port;
	if (o != NULL && o->forked != NULL)
		o->forked(p->pid);
	ck_assert_msg(h_wait_ready(p, o != NULL && o->ready_ms > 0 ?
	    o->ready_ms : H_READY_MS) == 0, "pfsd not ready; log:\n%s",
	    h_log_tail(p));
	return port;
}

void
h_write_conf(int port, const char *body)
{
	char	tmp[600];

	snprintf(tmp, sizeof(tmp), "%s", h_write("pfsd.conf.new",
	    "port 127.0.0.1:%d\nlog_file %s\n%s", port, h_path("pfsd.log"),
	    body));
	ck_assert_int_eq(rename(tmp, h_path("pfsd.conf")), 0);
}

int
h_serve_conf(struct hproc *p, const char *body)
{
	char		 conf[512];
	const char	*av[] = { "-c", conf, NULL };
	int		 port = h_free_port();

	h_write_conf(port, body);
	snprintf(conf, sizeof(conf), "%s", h_path("pfsd.conf"));
	ck_assert_int_eq(h_start(p, av), 0);
	p->port = port;
	snprintf(p->log, sizeof(p->log), "%s", h_path("pfsd.log"));
	ck_assert_msg(h_wait_ready(p, H_READY_MS) == 0, "not ready:\n%s",
	    h_log_tail(p));
	return port;
}

int
h_wait_notify(struct hproc *p, const char *word, int ms)
{
	long long	end = h_now_ms() + ms;
	struct pollfd	pfd = { p->notify_fd, POLLIN, 0 };
	char		buf[512];
	ssize_t		n;

	while (h_now_ms() < end) {
		if (poll(&pfd, 1, 50) == 1 &&
		    (n = recv(p->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			if (strstr(buf, word) != NULL)
				return 0;
		}
		if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->pid = -1;
			return -1;
		}
	}
	return -1;
}

int
h_wait_ready(struct hproc *p, int ms)
{
	return h_wait_notify(p, "READY=1", ms);
}

int
h_wait_exit(struct hproc *p, int ms)
{
	long long	end = h_now_ms() + ms;
	int		status;

	while (h_now_ms() < end) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = -1;
			return status;
		}
		poll(NULL, 0, 10);
	}
	return -1;
}

int
h_stop(struct hproc *p, int sig, int ms)
{
	int	status;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	if ((status = h_wait_exit(p, ms)) == -1) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
	}
	if (p->notify_fd > 0)
		close(p->notify_fd);
	p->notify_fd = -1;
	return status;
}

/* Parse /proc/PID/stat: state and ppid. */
static int
proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char	path[64], buf[512], *p;
	int	fd;
	ssize_t	n;
	long	pp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%c %ld", state, &pp) != 2)
		return -1;
	*ppid = (pid_t)pp;
	return 0;
}

static int
scan_children(pid_t parent, pid_t *out, int max, int zombies)
{
	DIR		*d;
	struct dirent	*e;
	char		 st;
	pid_t		 pid, pp;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if ((pid = (pid_t)atol(e->d_name)) <= 0 ||
		    proc_stat(pid, &st, &pp) == -1 || pp != parent)
			continue;
		if ((st == 'Z') != zombies)
			continue;
		if (out != NULL && n < max)
			out[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}

int
h_children(pid_t parent, pid_t *out, int max)
{
	return scan_children(parent, out, max, 0);
}

int
h_zombies(pid_t parent)
{
	return scan_children(parent, NULL, 0, 1);
}

/* Zombies come and go as children exit; a parent that reaps has none
 * left within ms. */
int
h_wait_no_zombies(pid_t parent, int ms)
{
	long long	end = h_now_ms() + ms;

	while (h_zombies(parent) != 0) {
		if (h_now_ms() >= end)
			return -1;
		poll(NULL, 0, 10);
	}
	return 0;
}

int
h_wait_children(pid_t parent, int n, int ms)
{
	long long	end = h_now_ms() + ms;

	while (h_now_ms() < end) {
		if (h_children(parent, NULL, 0) == n)
			return 0;
		poll(NULL, 0, 10);
	}
	return -1;
}

/* /proc/PID/cmdline (up to its first NUL) or comm, into buf. */
const char *
h_proc_text(pid_t pid, const char *what, char *buf, size_t len)
{
	char	 path[64];
	FILE	*f;
	size_t	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* How many children of parent have a title starting with prefix. */
static int
titled(pid_t parent, const char *prefix, pid_t *one)
{
	pid_t	kids[64];
	char	buf[256];
	int	i, n, k = 0;

	n = h_children(parent, kids, 64);
	for (i = 0; i < n && i < 64; i++)
		if (strncmp(h_proc_text(kids[i], "cmdline", buf, sizeof(buf)),
		    prefix, strlen(prefix)) == 0) {
			*one = kids[i];
			k++;
		}
	return k;
}

pid_t
h_child_titled(pid_t parent, const char *prefix, int ms)
{
	long long	end = h_now_ms() + ms;
	pid_t		one = 0;

	while (titled(parent, prefix, &one) == 0 && h_now_ms() < end)
		poll(NULL, 0, 10);
	return one;
}

int
h_wait_titled(pid_t parent, const char *prefix, int n, int ms)
{
	long long	end = h_now_ms() + ms;
	pid_t		one;

	while (titled(parent, prefix, &one) != n) {
		if (h_now_ms() >= end)
			return -1;
		poll(NULL, 0, 10);
	}
	return 0;
}

/* A configuration refused: exit 78 (EX_CONFIG), saying want. */
void
h_assert_refused(int status, const char *out, const char *want)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78,
	    "accepted:\n%s", out);
	ck_assert_msg(strstr(out, want) != NULL, "no \"%s\" in:\n%s", want,
	    out);
}

int
h_alive(pid_t pid)
{
	char	st;
	pid_t	pp;

	return proc_stat(pid, &st, &pp) == 0 && st != 'Z';
}

int
h_fd_count(pid_t pid)
{
	return h_proc_count(pid, "fd");
}

/* How many entries /proc/PID/WHAT has (fd: descriptors, task: threads). */
int
h_proc_count(pid_t pid, const char *what)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Read to the end: a /proc file says it is empty to stat and fseek. */
char *
h_read_file(const char *path)
{
	FILE	*f;
	char	*buf = NULL, *more;
	size_t	 len = 0, size = 0, n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	do {
		if (size - len < 4096) {
			size = size * 2 + 8192;
			if ((more = realloc(buf, size)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = more;
		}
		len += n = fread(buf + len, 1, size - len - 1, f);
	} while (n > 0);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

int
h_count(const char *text, const char *s)
{
	const char	*at;
	int		 n = 0;

	for (at = text; at != NULL && (at = strstr(at, s)) != NULL; at++)
		n++;
	return n;
}

int
h_file_count(const char *path, const char *s)
{
	char	*text = h_read_file(path);
	int	 n = h_count(text, s);

	free(text);
	return n;
}

/* Listening TCP sockets on port in this network namespace. */
int
h_listeners_on(int port)
{
	static const char *const tables[] = { "/proc/net/tcp",
					     "/proc/net/tcp6" };
	char		 line[512];
	unsigned int	 lp, st;
	size_t		 i;
	FILE		*f;
	int		 n = 0;

	for (i = 0; i < 2; i++) {
		if ((f = fopen(tables[i], "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x "
			    "%x", &lp, &st) == 2 && (int)lp == port &&
			    st == 0x0A)
				n++;
		fclose(f);
	}
	return n;
}

const char *
h_file_tail(const char *path)
{
	static char	 tail[3000];
	char		*text = h_read_file(path);
	size_t		 len = text != NULL ? strlen(text) : 0;

	snprintf(tail, sizeof(tail), "%s", text == NULL ? "" :
	    text + (len >= sizeof(tail) ? len - sizeof(tail) + 1 : 0));
	free(text);
	return tail;
}

const char *
h_log_tail(struct hproc *p)
{
	return h_file_tail(p->log);
}

int
h_log_count(struct hproc *p, const char *s)
{
	return h_file_count(p->log, s);
}

int
h_wait_log_count(struct hproc *p, const char *s, int n, int ms)
{
	long long	end = h_now_ms() + ms;

	while (h_log_count(p, s) < n) {
		if (h_now_ms() >= end)
			return -1;
		poll(NULL, 0, 10);
	}
	return 0;
}

int
h_file_has(const char *path, const char *s)
{
	char	*text = h_read_file(path);
	int	 found = text != NULL && strstr(text, s) != NULL;

	free(text);
	return found;
}

int
h_wait_file(const char *path, const char *s, int ms)
{
	long long	end = h_now_ms() + ms;

	while (h_now_ms() < end) {
		if (h_file_has(path, s))
			return 0;
		poll(NULL, 0, 10);
	}
	return -1;
}

int
h_log_has(struct hproc *p, const char *s)
{
	return h_file_has(p->log, s);
}

int
h_wait_log(struct hproc *p, const char *s, int ms)
{
	return h_wait_file(p->log, s, ms);
}

int
h_connect_tcp(const char *host, int port)
{
	struct sockaddr_in6	sin6;
	struct sockaddr_in	sin;
	int			fd;

	if (strchr(host, ':') != NULL) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((unsigned short)port);
		inet_pton(AF_INET6, host, &sin6.sin6_addr);
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0)
			return fd;
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		inet_pton(AF_INET, host, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
	}
	close(fd);
	return -1;
}

/* A TCP connection to 127.0.0.1:port from another loopback address. */
int
h_connect_from(const char *src, int port)
{
	struct sockaddr_in	a;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (inet_pton(AF_INET, src, &a.sin_addr) == 1 &&
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		a.sin_port = htons((unsigned short)port);
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
	}
	close(fd);
	return -1;
}

int
h_connect_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	close(fd);
	return -1;
}

/* Send, half-close, read until EOF (or ms of silence). */
ssize_t
h_talk_fd(int fd, const char *send, char *buf, size_t len, int ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		off = 0;
	ssize_t		n;

	if (fd == -1)
		return -1;
	if (send != NULL && *send != '\0' &&
	    write(fd, send, strlen(send)) != (ssize_t)strlen(send)) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while (off + 1 < len && poll(&pfd, 1, ms) == 1) {
		if ((n = read(fd, buf + off, len - off - 1)) <= 0) {
			if (n < 0 && off == 0)
				off = (size_t)-1;
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	if (off == (size_t)-1)
		return -1;
	buf[off] = '\0';
	return (ssize_t)off;
}

ssize_t
h_talk(const char *host, int port, const char *send, char *buf, size_t len)
{
	return h_talk_fd(h_connect_tcp(host, port), send, buf, len, 5000);
}

void
h_talk_ok(int port, const char *send, const char *want)
{
	char	buf[512];

	ck_assert_int_eq(h_talk("127.0.0.1", port, send, buf, sizeof(buf)),
	    (int)strlen(want));
	ck_assert_str_eq(buf, want);
}

ssize_t
h_talk_unix(const char *path, const char *send, char *buf, size_t len)
{
	return h_talk_fd(h_connect_unix(path), send, buf, len, 5000);
}

ssize_t
h_talk_udp(const char *host, int port, const char *send, char *buf,
    size_t len, int ms)
{
	struct sockaddr_in	sin;
	struct pollfd		pfd;
	ssize_t			n = -1;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (sendto(fd, send, strlen(send), 0, (struct sockaddr *)&sin,
	    sizeof(sin)) >= 0 && poll(&pfd, 1, ms) == 1 &&
	    (n = recv(fd, buf, len - 1, 0)) >= 0)
		buf[n] = '\0';
	close(fd);
	return n;
}

pid_t
h_loadgen(int port, const char *out, const char *const *args)
{
	const char	*av[32];
	char		 portstr[16];
	pid_t		 pid, parent = getpid();
	size_t		 n = 0;
	int		 fd;

	snprintf(portstr, sizeof(portstr), "%d", port);
	av[n++] = "loadgen";
	av[n++] = "-h";
	av[n++] = "127.0.0.1";
	av[n++] = "-p";
	av[n++] = portstr;
	while (args != NULL && *args != NULL && n < 31)
		av[n++] = *args++;
	av[n] = NULL;
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);	/* the test died before the prctl */
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(SRCDIR "/bench/loadgen", UNCONST(av));
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

void
h_loadgen_check(pid_t pid, const char *out, const char *want)
{
	char	*text;
	int	 status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	text = h_read_file(out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    text != NULL && strstr(text, want) != NULL,
	    "load generator: status %#x, want \"%s\":\n%s", status, want,
	    text);
	free(text);
}

void
h_served_denied_crash(int port, int served)
{
	char	buf[256];
	int	i;

	for (i = 0; i < served; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
		    sizeof(buf)), 6);
	ck_assert_int_le(h_talk_fd(h_connect_from("127.0.0.2", port),
	    "hello\n", buf, sizeof(buf), 5000), 0);
	ck_assert_int_le(h_talk("127.0.0.1", port, "crash\n", buf,
	    sizeof(buf)), 0);
}

long
h_serving_pid(int port)
{
	char	buf[512], *s;

	ck_assert_int_gt(h_talk("127.0.0.1", port, "info\n", buf,
	    sizeof(buf)), 0);
	ck_assert_ptr_nonnull(s = strstr(buf, " pid="));
	return strtol(s + 5, NULL, 10);
}

int
h_run(const char *const *argv, char *out, size_t len)
{
	const char	*av[64];
	char		 scratch[4096];
	int		 p[2], status;
	size_t		 n = 0, off = 0;
	ssize_t		 r;
	pid_t		 pid;

	av[n++] = PFSD_BIN;
	while (argv != NULL && *argv != NULL && n < 63)
		av[n++] = *argv++;
	av[n] = NULL;
	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);	/* or a daemon it starts holds the pipe */
		execv(PFSD_BIN, UNCONST(av));
		_exit(127);
	}
	close(p[1]);
	while (off + 1 < len && (r = read(p[0], out + off, len - off - 1)) > 0)
		off += (size_t)r;
	out[off] = '\0';
	while (read(p[0], scratch, sizeof(scratch)) > 0)
		;	/* more than fits: drain, or the child would block */
	close(p[0]);
	waitpid(pid, &status, 0);
	return status;
}

void
h_run_exit(const char *const *argv, int code, char *out, size_t len)
{
	int	status = h_run(argv, out, len);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == code,
	    "exit %d, not %d:\n%s", WIFEXITED(status) ? WEXITSTATUS(status) :
	    -1, code, out);
}

void
h_has(const char *out, const char *want)
{
	/* Check's messages are short: the tail of the output says most */
	ck_assert_msg(strstr(out, want) != NULL, "no \"%s\" in:\n...%s",
	    want, strlen(out) > 1500 ? out + strlen(out) - 1500 : out);
}

void
h_assert_untouched(const char *path, const char *text)
{
	struct stat	 st;
	char		*s = h_read_file(path);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, text);
	free(s);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_uid, geteuid());
}

int
h_sh(char *out, size_t len, const char *fmt, ...)
{
	char	*cmd, scratch[4096];
	size_t	 off = 0, n;
	va_list	 ap;
	FILE	*f;
	int	 status;

	va_start(ap, fmt);
	status = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	ck_assert_int_ne(status, -1);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	while (off + 1 < len && (n = fread(out + off, 1, len - off - 1, f)) > 0)
		off += n;
	out[off] = '\0';
	while (fread(scratch, 1, sizeof(scratch), f) > 0)
		;	/* more than fits: drain, or the command would block */
	status = pclose(f);
	free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The run's skip list: one file, appended to by every test process. */
static const char *
skips_path(void)
{
	static char	path[512];

	if (path[0] == '\0')
		snprintf(path, sizeof(path), SRCDIR "/tests/run/skips.%s",
		    getenv("PFSD_TEST_RUN") != NULL ? getenv("PFSD_TEST_RUN") :
		    "0");
	return path;
}

void
h_skip(const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;
	int	n, fd;

	n = snprintf(line, sizeof(line), "SKIP %s: ", tcase_name());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if ((fd = open(skips_path(), O_WRONLY | O_CREAT | O_APPEND, 0644))
	    != -1) {
		(void)!write(fd, line, strlen(line));
		close(fd);
	}
	printf("%s", line);
}

int
h_skips_report(FILE *out)
{
	char	*s = h_read_file(skips_path()), *p;
	int	 n = 0;

	for (p = s; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		n++;
	if (s != NULL)
		fputs(s, out);
	free(s);
	unlink(skips_path());
	return n;
}

/* The lowest descriptor number free in process pid: what it gets next. */
static int
lowest_free_fd(pid_t pid)
{
	char		 path[64], used[1024];
	DIR		*d;
	struct dirent	*e;
	long		 fd;
	int		 i;

	memset(used, 0, sizeof(used));
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((e = readdir(d)) != NULL)
		if ((fd = strtol(e->d_name, NULL, 10)) >= 0 && fd < 1024 &&
		    e->d_name[0] != '.')
			used[fd] = 1;
	closedir(d);
	for (i = 0; i < 1024 && used[i]; i++)
		;
	return i;
}

/*
 * Take away every descriptor pid could open next: its RLIMIT_NOFILE goes
 * down to the lowest free number (what it has stays open).  The old
 * limit goes to *old, for h_nofile_back.
 */
void
h_exhaust_fds(pid_t pid, struct rlimit *old)
{
	struct rlimit	rl;

	ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, NULL, old), 0);
	rl.rlim_cur = (rlim_t)lowest_free_fd(pid);
	rl.rlim_max = old->rlim_max;
	ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, &rl, NULL), 0);
}

void
h_nofile_back(pid_t pid, const struct rlimit *old)
{
	ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, old, NULL), 0);
}
