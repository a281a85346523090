/*
 * serialize.c - how idle children wait for a client: none (the default),
 * flock, semaphore or pipe.
 *
 * Every listener is non-blocking, in every mode: O_NONBLOCK is a flag of
 * the open file, shared by every process that holds the socket (both
 * generations during a HUP), so no child may ever count on accept()
 * blocking.  A child waits for readiness, accepts without blocking, and
 * goes back to waiting when another process took the connection.
 *
 * none: each child has its own epoll set holding every listener with
 * EPOLLEXCLUSIVE, so the kernel wakes one idle child per connection (a
 * busy child's set has no waiter and is passed over), whatever the
 * number of sockets and children.  No lock, nothing shared to repair when
 * a child dies.  bench/RESULTS.md has the measurements behind the choice.
 *
 * flock, semaphore, pipe: only the holder of the lock polls the
 * listeners.  Whatever instant a child dies at, the pool goes on: the
 * kernel drops a dead child's record lock, SEM_UNDO gives back a dead
 * child's semaphore, and the parent writes a new pipe token when the
 * token died with a child.  A child killed while it waits may have taken
 * the token in that very instant (read() completes before the kill takes
 * effect), so the parent audits instead of guessing: shortly after such
 * a death, an empty pipe with no child marked as holder means the token
 * is lost.
 *
 * flock locks one descriptor the parent opened and every child inherits:
 * an anonymous file (memfd) unless lock_file is set.  The lock is a
 * record lock (F_SETLKW), owned by the process rather than by the open
 * file, so the children need no path to reopen: deleting lock_file, or a
 * /tmp cleaner, cannot stop the pool, and nothing is ever left in /tmp.
 */
#include "internal.h"

#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef EPOLLEXCLUSIVE
#define EPOLLEXCLUSIVE	(1U << 28)
#endif

/* Every descriptor unset, before ser_setup. */
void
ser_init(struct serializer *ser)
{
	memset(ser, 0, sizeof(*ser));
	ser->lock_fd = ser->semid = ser->ep_fd = ser->lock_dummy = -1;
	ser->pipe_r = ser->pipe_w = -1;
}

/* none: the kernel wakes one child per connection; no lock to hold. */
int
ser_wakes_one(const struct serializer *ser)
{
	return ser->mode == SER_NONE;
}

/*
 * Async-signal-safe, in a child told to go: make its wait return at once.
 * epoll_wait() and poll() are never restarted after a handler, but the
 * signal may come just before the child enters them: then the epoll set
 * (none) or the polled listeners (the lock modes) are null_fd already.
 * The lock waits are restarted (SA_RESTART) and fail on the stand-ins.
 */
void
ser_interrupt(struct serializer *ser, struct listener *ls, size_t nls,
    int null_fd)
{
	size_t	i;

	if (ser->ep_fd != -1)
		dup2(null_fd, ser->ep_fd);
	else
		for (i = 0; i < nls; i++)
			dup2(null_fd, ls[i].fd);
	if (ser->lock_fd != -1 && ser->lock_dummy != -1)
		dup2(ser->lock_dummy, ser->lock_fd);
	if (ser->pipe_r != -1)
		dup2(null_fd, ser->pipe_r);
}

/* Before privileges are dropped: the lock file and semaphore go to uid. */
void
ser_chown(struct serializer *ser, uid_t uid, gid_t gid)
{
	struct semid_ds	ds;

	/* lchown: a symbolic link swapped in meanwhile is not followed */
	if (ser->lock_path != NULL && lchown(ser->lock_path, uid, gid) == -1)
		log_warn("chown %s", ser->lock_path);
	if (ser->semid != -1 && semctl(ser->semid, 0, IPC_STAT, &ds) == 0) {
		ds.sem_perm.uid = uid;
		ds.sem_perm.gid = gid;
		if (semctl(ser->semid, 0, IPC_SET, &ds) == -1)
			log_warn("semaphore owner");
	}
}

/* The mode's name (enum ser_mode is in the order of the option's). */
const char *
ser_name(const struct serializer *ser)
{
	return conf_options[OPT_SERIALIZE].choices[ser->mode];
}

/* An anonymous file to lock: nothing to find in, or clean from, /tmp. */
static int
anon_lock_file(void)
{
	const char	*tmp;
	char		 buf[4096];
	int		 fd;

	if ((fd = memfd_create("pfsd-lock", MFD_CLOEXEC)) != -1)
		return fd;
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/')
		tmp = "/tmp";
#ifdef O_TMPFILE
	if ((fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
#endif
	snprintf(buf, sizeof(buf), "%s/pfsd.lock.XXXXXX", tmp);
	if ((fd = mkostemp(buf, O_CLOEXEC)) != -1)
		unlink(buf);
	return fd;
}

static int
setup_flock(struct serializer *ser, const char *path, char *err,
    size_t errlen)
{
	struct stat	 st;
	int		 fd;

	if (path == NULL) {
		if ((ser->lock_fd = anon_lock_file()) == -1) {
			snprintf(err, errlen, "serialize flock: cannot make "
			    "an anonymous lock file: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "lock_file: cannot create %s: %s",
		    path, strerror(errno));
		return -1;
	}
	/* It is chowned to the daemon's user: never another file's inode. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, errlen, "lock_file: %s is not a regular file "
		    "with a single link; refusing to use it", path);
		close(fd);
		return -1;
	}
	ser->lock_fd = fd;	/* children lock this very descriptor */
	if ((ser->lock_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "strdup: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
setup_semaphore(struct serializer *ser, char *err, size_t errlen)
{
	ser->semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (ser->semid == -1 || semctl(ser->semid, 0, SETVAL, 1) == -1) {
		snprintf(err, errlen, "serialize semaphore: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
setup_pipe(struct serializer *ser, char *err, size_t errlen)
{
	int	p[2];

	if (pipe2(p, O_CLOEXEC) == -1 || write(p[1], "t", 1) != 1) {
		snprintf(err, errlen, "serialize pipe: %s", strerror(errno));
		return -1;
	}
	ser->pipe_r = p[0];
	ser->pipe_w = p[1];
	return 0;
}

/* Parent: make the resources of the configured mode for nls sockets. */
int
ser_setup(struct serializer *ser, const struct conf *c, size_t nls,
    char *err, size_t errlen)
{
	memset(ser, 0, sizeof(*ser));
	ser->lock_fd = ser->semid = ser->pipe_r = ser->pipe_w = -1;
	ser->ep_fd = -1;
	ser->owner = getpid();
	/* unset: none, wake-one for any number of sockets */
	ser->mode = conf_str(c, OPT_SERIALIZE) == NULL ? SER_NONE :
	    (enum ser_mode)conf_num(c, OPT_SERIALIZE);
	switch (ser->mode) {
	case SER_FLOCK:
		return setup_flock(ser, conf_str(c, OPT_LOCK_FILE), err,
		    errlen);
	case SER_SEMAPHORE:
		return setup_semaphore(ser, err, errlen);
	case SER_PIPE:
		return setup_pipe(ser, err, errlen);
	default:
		return 0;
	}
}

static int
set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return (fl & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* none: listener i into the child's epoll set, the kernel to wake one. */
static int
ep_add(struct serializer *ser, const struct listener *ls, size_t i)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.u32 = (uint32_t)i;
	return epoll_ctl(ser->ep_fd, EPOLL_CTL_ADD, ls[i].fd, &ev);
}

/*
 * Child: make every listener non-blocking (idempotent: the flag is the
 * open file's) and, for none, its own epoll set of them.
 */
int
ser_child_init(struct serializer *ser, const struct listener *ls,
    size_t nls, char *err, size_t errlen)
{
	size_t	i;
	int	p[2];

	for (i = 0; i < nls; i++)
		if (set_nonblock(ls[i].fd) == -1) {
			snprintf(err, errlen, "%s: O_NONBLOCK: %s",
			    ls[i].name, strerror(errno));
			return -1;
		}
	if (ser->mode == SER_FLOCK) {	/* see ser_interrupt() */
		if (pipe2(p, O_CLOEXEC) == -1) {
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			return -1;
		}
		close(p[0]);
		ser->lock_dummy = p[1];
	}
	if (ser->mode != SER_NONE)
		return 0;
	if ((ser->ep_fd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < nls; i++)
		if (ep_add(ser, ls, i) == -1) {
			snprintf(err, errlen, "epoll_ctl %s: %s", ls[i].name,
			    strerror(errno));
			return -1;
		}
	return 0;
}

/*
 * none, a child that stands by (standby.c): off the listeners' wait
 * queues, and back on.  The kernel looks for a child to wake from the
 * head of a listener's queue, calling each child's epoll set on the way
 * until one has a waiter: two thousand children standing by there would
 * cost a walk of them per connection.  Back on, a child is at the tail.
 */
void
ser_detach(struct serializer *ser, const struct listener *ls, size_t nls)
{
	size_t	i;

	for (i = 0; i < nls; i++)
		epoll_ctl(ser->ep_fd, EPOLL_CTL_DEL, ls[i].fd, NULL);
}

int
ser_attach(struct serializer *ser, const struct listener *ls, size_t nls)
{
	size_t	i;

	for (i = 0; i < nls; i++)
		if (ep_add(ser, ls, i) == -1 && errno != EEXIST)
			return -1;
	return 0;
}

/*
 * Child: wait up to ms (-1: no limit) until listener *which may have a
 * client; 0, 1 when ms passed without one, or -1 when a signal (or a
 * retirement) interrupted the wait.  For the lock modes the caller holds
 * the lock; pfds are the listeners, polled.
 */
int
ser_wait(struct serializer *ser, struct pollfd *pfds, size_t nls, int ms,
    int *which)
{
	struct epoll_event	ev;
	int			n;

	if (ser->mode == SER_NONE) {
		/* one event: the kernel hands the rest to other children */
		if ((n = epoll_wait(ser->ep_fd, &ev, 1, ms)) != 1)
			return n == 0 ? 1 : -1;
		*which = (int)ev.data.u32;
		return 0;
	}
	n = ser_poll(pfds, nls, ms, which);
	return n == 1 ? 0 : n == 0 ? 1 : -1;
}

/*
 * Child: poll the listeners pfds for up to ms (-1: no limit).  1 with
 * *which one that has a client, in turn among those that do (fairness);
 * 0 if none has; -1 on an error or a signal.  poll() asks each socket,
 * where an epoll set of EPOLLEXCLUSIVE entries knows only of the clients
 * the kernel woke its child for.
 */
int
ser_poll(struct pollfd *pfds, size_t nls, int ms, int *which)
{
	static size_t	next;
	size_t		i, k;
	int		n;

	if ((n = poll(pfds, nls, ms)) <= 0)
		return n == 0 ? 0 : -1;
	for (k = 0; k < nls; k++) {
		i = (next + k) % nls;
		if (pfds[i].revents != 0) {
			next = i + 1;
			*which = (int)i;
			return 1;
		}
	}
	return 0;
}

/*
 * Child: wait for the right to accept.  0 when granted; -1 when a signal
 * interrupted the wait or the lock is gone (the caller checks whether it
 * was told to retire).  *token marks a held pipe token in the scoreboard.
 */
int
ser_acquire(struct serializer *ser, volatile int *token)
{
	struct sembuf	op = { 0, -1, SEM_UNDO };
	struct flock	fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char		c;

	switch (ser->mode) {
	case SER_FLOCK:
		return fcntl(ser->lock_fd, F_SETLKW, &fl);
	case SER_SEMAPHORE:
		return semop(ser->semid, &op, 1);
	case SER_PIPE:
		*token = TOKEN_WAITING;
		if (read(ser->pipe_r, &c, 1) != 1) {
			*token = 0;
			return -1;
		}
		*token = TOKEN_HELD;
		return 0;
	default:
		return 0;
	}
}

void
ser_release(struct serializer *ser, volatile int *token)
{
	struct sembuf	op = { 0, 1, SEM_UNDO };
	struct flock	fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	switch (ser->mode) {
	case SER_FLOCK:
		fcntl(ser->lock_fd, F_SETLK, &fl);
		break;
	case SER_SEMAPHORE:
		semop(ser->semid, &op, 1);
		break;
	case SER_PIPE:
		if (write(ser->pipe_w, "t", 1) == 1)
			*token = 0;
		break;
	default:
		break;
	}
}

/*
 * Parent: is the token lost?  Called a moment after a child that held
 * or awaited it died; held is whether a live child is marked holder.
 */
void
ser_audit_token(struct serializer *ser, int held)
{
	int	avail = 0;

	if (ser->mode != SER_PIPE || held ||
	    ioctl(ser->pipe_r, FIONREAD, &avail) == -1 || avail > 0)
		return;
	if (write(ser->pipe_w, "t", 1) != 1)
		log_warn("serialize pipe: cannot replace the token");
	else
		log_msg(PFSD_LOG_NOTICE, "serialize pipe: replaced the "
		    "token lost with a dead child");
}

/* Parent at exit: remove what ser_setup made (only in the process that
 * made it, never in a child).  A lock_file is the user's: it stays. */
void
ser_cleanup(struct serializer *ser)
{
	if (ser->owner != getpid())
		return;
	if (ser->lock_fd != -1)
		close(ser->lock_fd);
	if (ser->semid != -1)
		semctl(ser->semid, 0, IPC_RMID);
	if (ser->pipe_r != -1)
		close(ser->pipe_r);
	if (ser->pipe_w != -1)
		close(ser->pipe_w);
	free(ser->lock_path);
	ser->lock_path = NULL;
	ser->lock_fd = ser->semid = ser->pipe_r = ser->pipe_w = -1;
}
