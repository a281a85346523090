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

/* The last is none without standby (every idle child on the sockets). */
static const char *const modes[] = { "none", "flock", "semaphore", "pipe",
				    "none" };
#define NMODES	5

/* --standby_ms for mode i. */
static const char *
standby_arg(int i)
{
	return i == 4 ? "--standby_ms=0" : "--standby_ms=2";
}

/* count connections to port, conc at a time: all of them answered. */
static void
loadgen(int port, const char *conc, const char *count)
{
	const char *const	args[] = { "-c", conc, "-n", count, "-T",
				    "10000", NULL };
	char			want[64];

	snprintf(want, sizeof(want), "completed=%s errors=0 ", count);
	h_loadgen_check(h_loadgen(port, h_path("loadgen.out"), args),
	    h_path("loadgen.out"), want);
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
	pid_t	kids[64];
	long	was[64], now;
	int	i, same = 0, in_accept = -1, tries;

	for (tries = 0; tries < 1000 && same < 20; tries++) {
		usleep(2000);
		if (h_children(parent, kids, 64) != n) {
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

/* The system call an idle child waits for a client in: epoll_wait for
 * none, poll for the holder of a lock (the listeners are non-blocking). */
static long
wait_nr(int mode)
{
	return mode == 0 || mode == 4 ? SYS_epoll_wait : SYS_poll;
}

/*
 * The pool of n idle children of mode i has the right number waiting
 * for a client: one lock holder in a lock mode, all of them in none
 * without standby; with standby at least one and at most max (1 once a
 * client came and went; 2 when two started at the same instant), the
 * others standing by in a futex wait.
 */
static void
assert_waiting(pid_t pid, int n, int i, int max)
{
	int	on = children_in(pid, n, wait_nr(i)), by;

	if (i != 0) {
		ck_assert_msg(on == (i == 4 ? n : 1), "serialize %s: %d of %d "
		    "children waiting for a client", modes[i], on, n);
		return;
	}
	by = children_in(pid, n, SYS_futex);
	ck_assert_msg(on >= 1 && on <= max && on + by == n,
	    "serialize none, standby: %d of %d children on the sockets, %d "
	    "standing by", on, n, by);
}

static void
start_mode(struct hproc *p, int *port, int i, const char *extra)
{
	char		 ser[64];
	const char	*av[] = { ser, "--max_servers=4", "--log_level=1",
			    standby_arg(i), extra, NULL };

	snprintf(ser, sizeof(ser), "--serialize=%s", modes[i]);
	*port = h_serve(p, "echo", av);
	ck_assert_int_eq(h_wait_children(p->pid, 4, 5000), 0);
}

START_TEST(test_mode_under_load)
{
	struct hproc	p;
	int		port;

	start_mode(&p, &port, _i, "--max_requests=200");
	loadgen(port, "16", "4000");
	/* after the lock changed hands 4000 times, it still excludes */
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	/* standby: the parent may have woken several under the load */
	assert_waiting(p.pid, 4, _i, 4);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * A graceful stop of an idle pool is prompt in every mode: the children
 * waiting for the lock (restarted after the signal) that get it once the
 * holder leaves must not then wait for a client that never comes.
 */
START_TEST(test_mode_quit_prompt)
{
	struct hproc	p;
	char		buf[64];
	int		port, status;

	start_mode(&p, &port, _i, "--graceful_timeout=20");
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	kill(p.pid, SIGQUIT);
	status = h_wait_exit(&p, 3000);
	ck_assert_msg(status != -1, "serialize %s: QUIT of an idle pool took "
	    "more than 3 s; log:\n%s", modes[_i], h_read_file(p.log));
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(h_log_has(&p, "killing child"), 0);
}
END_TEST

/*
 * What serialization is for: of the idle children, exactly one polls the
 * listeners (the others wait for the lock, the semaphore or the token);
 * with none, one waits in epoll_wait, where the kernel wakes one child
 * per connection, and the others stand by (all wait in epoll_wait with
 * standby_ms 0).  Checked at rest and after each of a few clients, so
 * that the lock is also seen to pass on.
 */
START_TEST(test_mode_excludes)
{
	struct hproc	p;
	char		buf[64];
	int		port, i;

	start_mode(&p, &port, _i, NULL);
	for (i = 0; i < 4; i++) {
		assert_waiting(p.pid, 4, _i, i == 0 ? 2 : 1);
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

	start_mode(&p, &port, _i, NULL);
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

/* SIGKILL the child of parent in system call nr, once it is dead: its pid. */
static pid_t
kill_child_in(pid_t parent, long nr)
{
	pid_t	kids[64], victim = -1;
	int	i, n = h_children(parent, kids, 64);

	for (i = 0; i < n; i++)
		if (blocked_in(kids[i]) == nr)
			victim = kids[i];
	ck_assert_int_ne(victim, -1);
	kill(victim, SIGKILL);
	while (h_alive(victim))
		usleep(1000);
	return victim;
}

/*
 * The child holding the lock (flock, semaphore) or the pipe's token is
 * killed while it waits for a client, three times: the pool serves on.
 * The kernel gives a lock back, SEM_UNDO the semaphore, and the parent
 * puts a token lost with its holder back into the pipe (audit_token).
 * The holder is found by its system call: it polls the listeners, the
 * others wait for the lock.  (test_mode_survives_sigkill kills every
 * child, but the holder may be a replacement it does not know of.)
 */
START_TEST(test_lock_holder_killed)
{
	struct hproc	p;
	char		buf[64];
	pid_t		holder;
	int		port, round, mode = _i + 1;

	start_mode(&p, &port, mode, NULL);
	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(children_in(p.pid, 4, SYS_poll), 1);
		holder = kill_child_in(p.pid, SYS_poll);
		ck_assert_msg(h_talk("127.0.0.1", port, "x\n", buf,
		    sizeof(buf)) == 2, "serialize %s stalled after SIGKILL of "
		    "the holder %d; log:\n%s", modes[mode], (int)holder,
		    h_read_file(p.log));
		ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	}
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* The default is none (wake-one epoll) with standby for any number of
 * sockets: one idle child waits in epoll_wait on both (two if two started
 * in the same instant), the others stand by. */
START_TEST(test_default_mode)
{
	struct hproc	 p;
	char		 a1[64], a2[64];
	const char	*av[] = { "--handler=echo", "--max_servers=3", a1, a2,
			    NULL };
	int		 i;

	snprintf(a1, sizeof(a1), "--port=127.0.0.1:%d", h_free_port());
	snprintf(a2, sizeof(a2), "--port=127.0.0.1:%d", h_free_port());
	for (i = 0; i < 2; i++) {
		if (i == 1)
			av[3] = NULL;
		ck_assert_int_eq(h_start(&p, av), 0);
		ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
		ck_assert_int_eq(h_wait_log(&p, "serialize none", 5000), 0);
		ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
		assert_waiting(p.pid, 3, 0, 2);
		ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	}
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

/* A lock_file is made 0600 and kept; without one, nothing is made in
 * TMPDIR. */
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
	char		 out[4096], la[640], port[64], want[700];
	const char	*av[] = { "--handler=echo", port, "--serialize=flock",
			    la, "--user=nobody", NULL };

	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", h_free_port());
	h_write("victim", "keep me\n");
	ck_assert_int_eq(link(h_path("victim"), h_path("the.lock")), 0);
	snprintf(la, sizeof(la), "--lock_file=%s", h_path("the.lock"));
	h_run_exit(av, 69, out, sizeof(out));
	snprintf(want, sizeof(want), "lock_file: %s is not a regular file "
	    "with a single link; refusing to use it", h_path("the.lock"));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	h_assert_untouched(h_path("victim"), "keep me\n");
}
END_TEST

/*
 * Two sockets, two children: while one child serves a client of port A,
 * the other serves port B at once.  (Blocking listeners let the loser of
 * the wake-up race on A block in accept(A), deaf to B.)
 */
START_TEST(test_two_sockets_never_stall)
{
	struct hproc	 p;
	char		 a1[64], a2[64], ser[64], buf[64];
	const char	*av[] = { "--handler=echo", a1, a2, ser,
			    "--max_servers=2", "--log_level=1", standby_arg(_i),
			    NULL };
	int		 pa = h_free_port(), pb = h_free_port(), rep, fd;

	snprintf(a1, sizeof(a1), "--port=127.0.0.1:%d", pa);
	snprintf(a2, sizeof(a2), "--port=127.0.0.1:%d", pb);
	snprintf(ser, sizeof(ser), "--serialize=%s", modes[_i]);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	for (rep = 0; rep < 10; rep++) {
		/* a child busy on A: it has echoed, it waits for more */
		ck_assert_int_ne(fd = h_connect_tcp("127.0.0.1", pa), -1);
		ck_assert_int_eq(write(fd, "a\n", 2), 2);
		ck_assert_int_eq(read(fd, buf, sizeof(buf)), 2);
		ck_assert_msg(h_talk_fd(h_connect_tcp("127.0.0.1", pb), "b\n",
		    buf, sizeof(buf), 2000) == 2, "serialize %s: port B "
		    "unanswered while a child is busy on A (try %d)",
		    modes[_i], rep + 1);
		close(fd);
	}
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * The n clients fd[] (requests sent) are all answered within ms of now,
 * each with want (exact), or a line that starts with it: -1; else the
 * first one that is not, its answer (possibly empty) left in buf.
 * Closes them all.
 */
static int
answered_by(int *fd, int n, const char *want, int exact, int ms, char *buf,
    size_t len)
{
	long long	end = h_now_ms() + ms;
	int		i, k, left;

	for (i = 0; i < n; i++) {
		left = (int)(end - h_now_ms());
		if (h_talk_fd(fd[i], NULL, buf, len, left > 0 ? left : 0) < 0)
			buf[0] = '\0';
		if (exact ? strcmp(buf, want) != 0 :
		    strncmp(buf, want, strlen(want)) != 0) {
			for (k = i + 1; k < n; k++)
				close(fd[k]);
			return i;
		}
	}
	return -1;
}

/*
 * standby: a burst of slow requests is served at once, not one after
 * another by the one child waiting on the socket.  24 clients whose
 * requests take 400 ms each: all answered within 4 s (one child would
 * take 9.6 s), so the parent woke standby children for them; then the
 * pool is back to one child on the socket.  Twice: the second burst
 * finds the children standing by again.  On a TCP port (the parent
 * reads the accept queue's length), then on a UNIX socket (it can only
 * see that something is queued).
 */
START_TEST(test_standby_slow_burst)
{
	struct hproc	 p;
	char		 portarg[600], path[512], buf[64];
	const char	*av[] = { "--handler=" TPLUGIN("sleepy"), portarg,
			    "--max_servers=32", "--log_level=1", NULL };
	int		 fd[24], port = h_free_port(), i, round;

	snprintf(path, sizeof(path), "%s", h_path("burst.sock"));
	if (_i == 0)
		snprintf(portarg, sizeof(portarg), "--port=127.0.0.1:%d", port);
	else
		snprintf(portarg, sizeof(portarg), "--port=%s/unix", path);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 32, 5000), 0);
	for (round = 0; round < 2; round++) {
		/* a UNIX socket cannot say how many wait: the parent may
		 * have woken more than the burst needed, and they stay on
		 * the sockets until they serve */
		assert_waiting(p.pid, 32, 0, round == 0 || _i == 0 ? 2 : 32);
		for (i = 0; i < 24; i++) {
			fd[i] = _i == 0 ? h_connect_tcp("127.0.0.1", port) :
			    h_connect_unix(path);
			ck_assert_int_ne(fd[i], -1);
			ck_assert_int_eq(write(fd[i], "400\n", 4), 4);
		}
		i = answered_by(fd, 24, "slept 400\n", 1, 4000, buf,
		    sizeof(buf));
		ck_assert_msg(i == -1, "%s, burst %d: client %d unanswered "
		    "4 s after 24 requests of 400 ms to 32 children (%s); "
		    "log:\n%s", _i == 0 ? "TCP" : "UNIX", round + 1, i + 1,
		    buf, h_read_file(p.log));
	}
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * standby: the one child on the sockets is killed.  It cannot take
 * itself off the count of children waiting there; the parent does, when
 * it reaps it.  Else its replacement would stand by too, leaving nobody
 * on the sockets once the parent stopped looking.
 */
START_TEST(test_standby_waiter_killed)
{
	struct hproc	p;
	char		buf[64];
	int		port, round;

	start_mode(&p, &port, 0, NULL);
	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf,
		    sizeof(buf)), 2);
		assert_waiting(p.pid, 4, 0, 1);
		kill_child_in(p.pid, SYS_epoll_wait);
		ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
		assert_waiting(p.pid, 4, 0, 2);
	}
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * standby across a HUP: from its execve() until the new image runs its
 * loop (here a post_configure_hook of 3 s), no parent wakes standing-by
 * children, so none may stand by: four requests of 800 ms sent then are
 * all answered within 2 s, by the old generation's children at once, not
 * one after another by the one child that was on the sockets.
 */
START_TEST(test_standby_hup_gap)
{
	struct hproc	 p;
	char		 buf[128];
	int		 fd[4], port, i;

	port = h_serve_conf(&p, "handler " TPLUGIN("waiter") "\n"
	    "max_servers 6\nlog_level 2\n");
	ck_assert_int_eq(h_wait_children(p.pid, 6, 5000), 0);
	assert_waiting(p.pid, 6, 0, 2);
	h_write_conf(port, "handler " TPLUGIN("waiter") "\nmax_servers 6\n"
	    "log_level 2\nwaiter_configure_ms 3000\n");
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "restarting in place", 10000), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_ne(fd[i] = h_connect_tcp("127.0.0.1", port), -1);
		ck_assert_int_eq(write(fd[i], "poll 800\n", 9), 9);
	}
	i = answered_by(fd, 4, "poll done=1 ", 0, 2000, buf, sizeof(buf));
	ck_assert_msg(i == -1, "request %d of 4 sent during the HUP's exec "
	    "unanswered after 2 s (%s); log:\n%s", i + 1, buf,
	    h_read_file(p.log));
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", 15000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* The inode of the socket listening on 127.0.0.1:port; 0 if none. */
static unsigned long
listener_inode(int port)
{
	char		 line[512];
	unsigned int	 lport, st;
	unsigned long	 ino = 0, i;
	FILE		*f;

	if ((f = fopen("/proc/net/tcp", "r")) == NULL)
		return 0;
	while (ino == 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %*u: 0100007F:%X %*X:%*X %X %*X:%*X "
		    "%*X:%*X %*X %*u %*u %lu", &lport, &st, &i) == 3 &&
		    (int)lport == port && st == 0x0A)
			ino = i;
	fclose(f);
	return ino;
}

/* The file status flags of pid's descriptor on socket inode ino; -1 if
 * it holds none. */
static long
socket_flags(pid_t pid, unsigned long ino)
{
	char		 path[320], link[64], want[64], *end;
	struct dirent	*de;
	DIR		*d;
	long		 flags = -1;
	ssize_t		 n;
	FILE		*f;

	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (flags == -1 && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, want) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid,
		    de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(link, sizeof(link), f) != NULL)
			if (strncmp(link, "flags:", 6) == 0)
				flags = strtol(link + 6, &end, 8);
		fclose(f);
	}
	closedir(d);
	return flags;
}

/* Every child holds both listeners non-blocking. */
static void
assert_nonblocking(pid_t parent, const int *ports, const char *mode,
    const char *when)
{
	pid_t	 kids[16];
	long	 fl;
	int	 n, i, j;

	n = h_children(parent, kids, 16);
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++)
		for (j = 0; j < 2; j++) {
			fl = socket_flags(kids[i], listener_inode(ports[j]));
			if (fl == -1 && !h_alive(kids[i]))
				continue;	/* an old child gone */
			ck_assert_msg(fl != -1 && (fl & O_NONBLOCK),
			    "serialize %s, %s: child %d holds port %d with "
			    "flags %lo", mode, when, (int)kids[i],
			    ports[j], fl);
		}
}

/*
 * O_NONBLOCK belongs to the open socket, shared by every child of both
 * generations: in every mode, every child (new, and old ones still there
 * after a HUP) holds the listeners non-blocking, so none can sleep in
 * accept() on one socket while a client waits on another.
 */
START_TEST(test_listeners_nonblocking)
{
	struct hproc	 p;
	char		 a1[64], a2[64], ser[64], buf[64];
	const char	*av[] = { "--handler=echo", a1, a2, ser,
			    "--max_servers=2", standby_arg(_i), NULL };
	int		 ports[2] = { h_free_port(), h_free_port() }, fd;

	snprintf(a1, sizeof(a1), "--port=127.0.0.1:%d", ports[0]);
	snprintf(a2, sizeof(a2), "--port=127.0.0.1:%d", ports[1]);
	snprintf(ser, sizeof(ser), "--serialize=%s", modes[_i]);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	/* served on both: the pool is past its start-up */
	ck_assert_int_eq(h_talk("127.0.0.1", ports[0], "a\n", buf,
	    sizeof(buf)), 2);
	ck_assert_int_eq(h_talk("127.0.0.1", ports[1], "b\n", buf,
	    sizeof(buf)), 2);
	assert_nonblocking(p.pid, ports, modes[_i], "started");
	/* a busy old child overlaps the new generation */
	ck_assert_int_ne(fd = h_connect_tcp("127.0.0.1", ports[0]), -1);
	ck_assert_int_eq(write(fd, "a\n", 2), 2);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 2);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", 10000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	assert_nonblocking(p.pid, ports, modes[_i], "after HUP");
	ck_assert_int_eq(h_talk("127.0.0.1", ports[1], "b\n", buf,
	    sizeof(buf)), 2);
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Entries of dir whose name starts with prefix. */
static int
count_prefixed(const char *dir, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* flock without lock_file leaves nothing in TMPDIR: not while serving,
 * not after a stop, not after kill -9 of the parent. */
START_TEST(test_flock_leaves_no_file)
{
	struct hproc	 p;
	char		 tmp[600], port[64], buf[64];
	const char	*av[] = { "--handler=echo", port, "--serialize=flock",
			    "--max_servers=2", NULL };
	int		 pn = h_free_port(), round;

	snprintf(tmp, sizeof(tmp), "%s", h_path("tmp"));
	ck_assert_int_eq(mkdir(tmp, 0777), 0);
	setenv("TMPDIR", tmp, 1);
	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", pn);
	for (round = 0; round < 2; round++) {
		ck_assert_int_eq(h_start(&p, av), 0);
		ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
		ck_assert_int_eq(h_talk("127.0.0.1", pn, "x\n", buf,
		    sizeof(buf)), 2);
		ck_assert_int_eq(count_prefixed(tmp, ""), 2);	/* . .. */
		if (round == 0)
			ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
		else
			ck_assert_int_eq(h_stop(&p, SIGKILL, 5000), SIGKILL);
		ck_assert_int_eq(count_prefixed(tmp, ""), 2);
	}
}
END_TEST

/*
 * Deleting lock_file under a running pool (a /tmp cleaner) stops
 * nothing: children recycled after every request keep being replaced and
 * keep serving.
 */
START_TEST(test_lock_file_deleted)
{
	struct hproc	 p;
	char		 la[640], port[64], buf[64], *log;
	const char	*av[] = { "--handler=echo", port, "--serialize=flock",
			    la, "--max_servers=2", "--max_requests=1", NULL };
	int		 pn = h_free_port(), i;

	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", pn);
	snprintf(la, sizeof(la), "--lock_file=%s", h_path("the.lock"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	ck_assert_int_eq(unlink(h_path("the.lock")), 0);
	for (i = 0; i < 10; i++)
		ck_assert_msg(h_talk("127.0.0.1", pn, "x\n", buf,
		    sizeof(buf)) == 2, "request %d after the lock file was "
		    "deleted; log:\n%s", i + 1, h_read_file(p.log));
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	log = h_read_file(p.log);
	ck_assert_ptr_null(strstr(log, "exited with status"));
	free(log);
}
END_TEST

/* Under chroot, flock still works and leaves nothing in TMPDIR. */
START_TEST(test_flock_chroot)
{
	struct hproc	 p;
	char		 tmp[600], root[600], rootarg[640], port[64], buf[64];
	const char	*av[] = { "--handler=echo", port, "--serialize=flock",
			    rootarg, "--max_servers=2", "--max_requests=1",
			    NULL };
	int		 pn = h_free_port(), i;

	ck_assert_msg(geteuid() == 0, "this test runs as root (CI does)");
	snprintf(tmp, sizeof(tmp), "%s", h_path("tmp"));
	snprintf(root, sizeof(root), "%s", h_path("jail"));
	ck_assert_int_eq(mkdir(tmp, 0777), 0);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	setenv("TMPDIR", tmp, 1);
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);	/* no /proc there */
	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", pn);
	snprintf(rootarg, sizeof(rootarg), "--chroot=%s", root);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 10000), 0);
	for (i = 0; i < 6; i++)	/* children replaced inside the jail */
		ck_assert_msg(h_talk("127.0.0.1", pn, "x\n", buf,
		    sizeof(buf)) == 2, "request %d; log:\n%s", i + 1,
		    h_read_file(p.log));
	ck_assert_int_eq(count_prefixed(tmp, ""), 2);
	ck_assert_int_eq(count_prefixed(root, ""), 2);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
	ck_assert_int_eq(count_prefixed(tmp, ""), 2);
	ck_assert_int_eq(count_prefixed(root, ""), 2);
}
END_TEST

/* Wait up to ms until none of the n processes is alive; 0, or -1. */
static int
wait_gone(const pid_t *pids, int n, int ms)
{
	int	i = 0;

	for (; ms > 0; ms -= 10) {
		while (i < n && !h_alive(pids[i]))
			i++;
		if (i == n)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * A big pool starts, serves, takes a HUP and stops, leaving nothing: no
 * process, no zombie, no file.  PFSD_BIG_POOL sets the size (make check:
 * 1024; make check-big: 4096).
 */
START_TEST(test_big_pool)
{
	struct hproc	 p;
	char		 tmp[600], port[64], servers[64], st[640];
	const char	*env = getenv("PFSD_BIG_POOL");
	const char	*av[] = { "--handler=echo", port, servers, st, NULL };
	int		 n = env != NULL ? atoi(env) : 1024, pn = h_free_port();
	pid_t		*kids;
	int		 nk;

	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(kids = calloc((size_t)n * 2, sizeof(*kids)));
	snprintf(tmp, sizeof(tmp), "%s", h_path("tmp"));
	ck_assert_int_eq(mkdir(tmp, 0777), 0);
	setenv("TMPDIR", tmp, 1);
	snprintf(port, sizeof(port), "--port=127.0.0.1:%d", pn);
	snprintf(servers, sizeof(servers), "--max_servers=%d", n);
	snprintf(st, sizeof(st), "--status_socket=%s", h_path("st.sock"));
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, 60000), 0);
	ck_assert_msg(h_wait_children(p.pid, n, 60000) == 0, "%d children "
	    "never ran; %d do", n, h_children(p.pid, NULL, 0));
	loadgen(pn, "16", "256");
	nk = h_children(p.pid, kids, n);
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(h_wait_log(&p, "serving (generation 1,", 60000), 0);
	/* every old child gone, the new generation complete */
	ck_assert_msg(wait_gone(kids, nk, 60000) == 0, "old children left "
	    "after HUP");
	ck_assert_msg(h_wait_children(p.pid, n, 60000) == 0, "after HUP: "
	    "%d children of %d", h_children(p.pid, NULL, 0), n);
	loadgen(pn, "16", "256");
	nk += h_children(p.pid, kids + nk, n);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 60000), 0);
	ck_assert_msg(wait_gone(kids, nk, 10000) == 0, "children left after "
	    "the stop");
	ck_assert_int_eq(count_prefixed(tmp, ""), 2);
	ck_assert_int_eq(count_prefixed(h_dir(), "st.sock"), 0);
	free(kids);
}
END_TEST

Suite	*serialize_suite(void);

Suite *
serialize_suite(void)
{
	Suite	*s = suite_create("serialize");
	TCase	*tc = tcase_create("serialize");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_mode_under_load, 0, NMODES);
	tcase_add_loop_test(tc, test_mode_excludes, 0, NMODES);
	tcase_add_loop_test(tc, test_mode_quit_prompt, 0, NMODES);
	tcase_add_loop_test(tc, test_mode_survives_sigkill, 0, NMODES);
	tcase_add_loop_test(tc, test_lock_holder_killed, 0, 3);	/* lock modes */
	tcase_add_test(tc, test_default_mode);
	tcase_add_test(tc, test_lock_file_private_and_removed);
	tcase_add_test(tc, test_lock_file_hardlink_refused);
	tcase_add_loop_test(tc, test_two_sockets_never_stall, 0, NMODES);
	tcase_add_loop_test(tc, test_listeners_nonblocking, 0, NMODES);
	tcase_add_test(tc, test_flock_leaves_no_file);
	tcase_add_test(tc, test_lock_file_deleted);
	tcase_add_test(tc, test_flock_chroot);
	tcase_add_loop_test(tc, test_standby_slow_burst, 0, 2);
	tcase_add_test(tc, test_standby_waiter_killed);
	tcase_add_test(tc, test_standby_hup_gap);
	tcase_add_test(tc, test_big_pool);
	suite_add_tcase(s, tc);
	return s;
}
