/*
 * check_serialize.c - each accept serialization mode under concurrent
 * load (the real load generator), and each surviving SIGKILL of children
 * at any moment, the one holding the lock included.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const modes[] = { "none", "flock", "semaphore", "pipe" };

/* Run bench/loadgen against port; its exit status (0: no error). */
static int
loadgen(int port, const char *conc, const char *count, char *out,
    size_t len)
{
	char		 portstr[16];
	int		 p[2], status;
	ssize_t		 n;
	size_t		 off = 0;
	pid_t		 pid;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execl(SRCDIR "/bench/loadgen", "loadgen", "-h", "127.0.0.1",
		    "-p", portstr, "-c", conc, "-n", count, "-T", "10000",
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (off + 1 < len && (n = read(p[0], out + off, len - off - 1)) > 0)
		off += (size_t)n;
	out[off] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The system call pid is blocked in (/proc/PID/syscall), or -1 when it
 * runs or cannot be read. */
static long
blocked_in(pid_t pid)
{
	char	path[64], buf[256];
	ssize_t	n;
	long	nr;
	int	fd;

	snprintf(path, sizeof(path), "/proc/%ld/syscall", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%ld ", &nr) != 1)
		return -1;	/* "running" */
	return nr;
}

/*
 * Wait until the n children of the pool all sit in a system call and
 * none has moved for a while, then count those in system call nr (e.g.
 * accept4: serialization lets exactly one in, none lets them all).  -1
 * if they never settle.
 */
static int
children_in(pid_t parent, int n, long nr)
{
	pid_t	kids[16];
	long	was[16], now;
	int	i, same = 0, in_accept = -1, tries;

	for (tries = 0; tries < 1000 && same < 20; tries++) {
		usleep(2000);
		if (h_children(parent, kids, 16) != n) {
			same = 0;
			continue;
		}
		in_accept = 0;
		for (i = 0; i < n; i++) {
			if ((now = blocked_in(kids[i])) == -1 ||
			    (same > 0 && now != was[i]))
				break;
			was[i] = now;
			in_accept += now == nr;
		}
		same = i == n ? same + 1 : 0;
	}
	return same >= 20 ? in_accept : -1;
}

static void
start_mode(struct hproc *p, int *port, const char *mode, const char *extra)
{
	char		 portarg[64], ser[64];
	const char	*av[] = { "--handler=echo", portarg, ser,
			    "--max_servers=4", "--log_level=1", extra, NULL };

	*port = h_free_port();
	snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", *port);
	snprintf(ser, sizeof(ser), "--serialize=%s", mode);
	ck_assert_int_eq(h_start(p, av), 0);
	ck_assert_msg(h_wait_ready(p, 10000) == 0, "not ready:\n%s",
	    h_read_file(p->log));
	ck_assert_int_eq(h_wait_children(p->pid, 4, 5000), 0);
}

START_TEST(test_mode_under_load)
{
	struct hproc	p;
	char		out[2048];
	int		port;

	start_mode(&p, &port, modes[_i], "--max_requests=200");
	ck_assert_msg(loadgen(port, "16", "4000", out, sizeof(out)) == 0,
	    "serialize %s: %s", modes[_i], out);
	ck_assert_ptr_nonnull(strstr(out, "completed=4000"));
	/* after the lock changed hands 4000 times, it still excludes */
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	ck_assert_int_eq(children_in(p.pid, 4, SYS_accept4), _i == 0 ? 4 : 1);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * What serialization is for: of the idle children, exactly one waits in
 * accept4 (the others wait for the lock, the semaphore or the token);
 * without it, all of them.  Checked at rest and after each of a few
 * clients, so that the lock is also seen to pass on.
 */
START_TEST(test_mode_excludes)
{
	struct hproc	p;
	char		buf[64];
	int		port, i;

	start_mode(&p, &port, modes[_i], NULL);
	for (i = 0; i < 4; i++) {
		ck_assert_msg(children_in(p.pid, 4, SYS_accept4) == (_i == 0 ? 4 : 1),
		    "serialize %s: %d children in accept4", modes[_i],
		    children_in(p.pid, 4, SYS_accept4));
		ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf,
		    sizeof(buf)), 2);
	}
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Kill every child, one after another, each while idle (one of them is
 * in accept holding the lock): the pool must go on serving each time. */
START_TEST(test_mode_survives_sigkill)
{
	struct hproc	p;
	char		buf[64];
	pid_t		kids[8];
	int		port, round, i, n;

	start_mode(&p, &port, modes[_i], NULL);
	for (round = 0; round < 3; round++) {
		n = h_children(p.pid, kids, 8);
		for (i = 0; i < n; i++) {
			/* a connection arriving in the very instant of the
			 * SIGKILL may be taken by the dying child (the kernel
			 * checks the queue before the signal): wait for the
			 * death, then the pool must serve */
			kill(kids[i], SIGKILL);
			while (h_alive(kids[i]))
				usleep(1000);
			ck_assert_msg(h_talk("127.0.0.1", port, "x\n", buf,
			    sizeof(buf)) == 2, "serialize %s stalled after "
			    "SIGKILL of child %d; log:\n%s", modes[_i],
			    (int)kids[i], h_read_file(p.log));
		}
		ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	}
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* The default: none with one socket; flock with several. */
START_TEST(test_default_mode)
{
	struct hproc	 p;
	char		 a1[64], a2[64];
	const char	*av[] = { "--handler=echo", "--max_servers=3", a1, a2,
			    NULL };

	snprintf(a1, sizeof(a1), "--port=127.0.0.1:%d", h_free_port());
	snprintf(a2, sizeof(a2), "--port=127.0.0.1:%d", h_free_port());
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_log(&p, "serialize flock", 5000), 0);
	/* the lock's holder polls both sockets, the others wait in flock */
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	ck_assert_int_eq(children_in(p.pid, 3, SYS_flock), 2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	av[3] = NULL;
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_log(&p, "serialize none", 5000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	ck_assert_int_eq(children_in(p.pid, 3, SYS_accept4), 3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Entries of dir, each asserted to have mode (unless 0). */
static int
dir_check(const char *dir, mode_t mode)
{
	char		 path[1024];
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert_msg(mode == 0 || (S_ISREG(st.st_mode) &&
		    (st.st_mode & 07777) == mode && st.st_uid == geteuid()),
		    "%s: mode %o", path, (unsigned)st.st_mode);
		n++;
	}
	closedir(d);
	return n;
}

/* The temporary lock file is private and gone after the stop. */
START_TEST(test_lock_file_private_and_removed)
{
	struct hproc	 p;
	char		 lock[600], la[640], port[64];
	const char	*av[] = { "--handler=echo", port, "--serialize=flock",
			    la, NULL };
	struct stat	 st;

	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", h_free_port());
	snprintf(lock, sizeof(lock), "%s", h_path("the.lock"));
	snprintf(la, sizeof(la), "--lock_file=%s", lock);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(stat(lock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	/* a lock_file the user named is the user's: it stays */
	ck_assert_int_eq(stat(lock, &st), 0);

	/* without lock_file: whatever pfsd makes in TMPDIR is private
	 * while it runs, and nothing of it is left after the stop */
	ck_assert_int_eq(mkdir(h_path("tmp"), 0700), 0);
	setenv("TMPDIR", h_path("tmp"), 1);
	av[3] = NULL;
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_le(dir_check(h_path("tmp"), 0600), 1);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_msg(dir_check(h_path("tmp"), 0) == 0, "pfsd left a file in "
	    "TMPDIR");
}
END_TEST

/* A lock_file with another hard link is refused, untouched: pfsd would
 * chown it to the user it runs as. */
START_TEST(test_lock_file_hardlink_refused)
{
	char		 out[4096], la[640], port[64], want[700], *s;
	const char	*av[] = { "--handler=echo", port, "--serialize=flock",
			    la, "--user=nobody", NULL };
	struct stat	 st;
	int		 status;

	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", h_free_port());
	h_write("victim", "keep me\n");
	ck_assert_int_eq(link(h_path("victim"), h_path("the.lock")), 0);
	snprintf(la, sizeof(la), "--lock_file=%s", h_path("the.lock"));
	status = h_run(av, out, sizeof(out));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 69);
	snprintf(want, sizeof(want), "lock_file: %s is not a regular file "
	    "with a single link; refusing to use it", h_path("the.lock"));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	s = h_read_file(h_path("victim"));
	ck_assert_str_eq(s, "keep me\n");
	free(s);
	ck_assert_int_eq(stat(h_path("victim"), &st), 0);
	ck_assert_int_eq(st.st_uid, geteuid());
}
END_TEST

Suite	*serialize_suite(void);

Suite *
serialize_suite(void)
{
	Suite	*s = suite_create("serialize");
	TCase	*tc = tcase_create("serialize");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_mode_under_load, 0, 4);
	tcase_add_loop_test(tc, test_mode_excludes, 0, 4);
	tcase_add_loop_test(tc, test_mode_survives_sigkill, 0, 4);
	tcase_add_test(tc, test_default_mode);
	tcase_add_test(tc, test_lock_file_private_and_removed);
	tcase_add_test(tc, test_lock_file_hardlink_refused);
	suite_add_tcase(s, tc);
	return s;
}
