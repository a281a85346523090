/*
 * serialize.c - accept serialization: flock, semaphore, pipe or none.
 *
 * Whatever instant a child dies at, the pool goes on: the kernel drops a
 * dead child's flock, SEM_UNDO gives back a dead child's semaphore, and
 * the parent writes a new pipe token when the token died with a child.
 * A child killed while it waits may have taken the token in that very
 * instant (read() completes before the kill takes effect), so the
 * parent audits instead of guessing: shortly after such a death, an
 * empty pipe with no child marked as holder means the token is lost.
 */
#include "internal.h"

#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const ser_names[] = {
	"none", "flock", "semaphore", "pipe"
};

const char *
ser_name(enum ser_mode m)
{
	return ser_names[m];
}

static int
mode_from(const char *s, size_t nls)
{
	size_t	i;

	if (s == NULL)		/* none with one socket */
		return nls > 1 ? SER_FLOCK : SER_NONE;
	for (i = 0; i < nitems(ser_names); i++)
		if (strcasecmp(s, ser_names[i]) == 0)
			return (int)i;
	return -1;
}

static int
setup_flock(struct serializer *ser, const char *path, char *err,
    size_t errlen)
{
	const char	*tmp;
	char		 buf[4096];
	struct stat	 st;
	int		 fd;

	if (path != NULL) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		ser->lock_unlink = 0;
	} else {
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/')
			tmp = "/tmp";
		snprintf(buf, sizeof(buf), "%s/pfsd.lock.XXXXXX", tmp);
		fd = mkostemp(buf, O_CLOEXEC);	/* 0600, never followed */
		path = buf;
		ser->lock_unlink = 1;
	}
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
	close(fd);	/* each child opens its own: flock is per open */
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
	int	mode;

	memset(ser, 0, sizeof(*ser));
	ser->lock_fd = ser->semid = ser->pipe_r = ser->pipe_w = -1;
	ser->owner = getpid();
	if ((mode = mode_from(conf_str(c, OPT_SERIALIZE), nls)) == -1) {
		snprintf(err, errlen, "serialize: unknown mode");
		return -1;
	}
	ser->mode = (enum ser_mode)mode;
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

/* Child: open the lock file for itself (a shared open shares the lock). */
int
ser_child_init(struct serializer *ser, char *err, size_t errlen)
{
	if (ser->mode != SER_FLOCK)
		return 0;
	ser->lock_fd = open(ser->lock_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (ser->lock_fd == -1) {
		snprintf(err, errlen, "cannot open lock file %s: %s",
		    ser->lock_path, strerror(errno));
		return -1;
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
	char		c;

	switch (ser->mode) {
	case SER_FLOCK:
		return flock(ser->lock_fd, LOCK_EX);
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

	switch (ser->mode) {
	case SER_FLOCK:
		flock(ser->lock_fd, LOCK_UN);
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
 * made it, never in a child). */
void
ser_cleanup(struct serializer *ser)
{
	if (ser->owner != getpid())
		return;
	if (ser->lock_path != NULL && ser->lock_unlink &&
	    unlink(ser->lock_path) == -1 && errno != ENOENT)
		log_warn("lock_file %s: cannot remove", ser->lock_path);
	if (ser->semid != -1)
		semctl(ser->semid, 0, IPC_RMID);
	if (ser->pipe_r != -1)
		close(ser->pipe_r);
	if (ser->pipe_w != -1)
		close(ser->pipe_w);
	free(ser->lock_path);
	ser->lock_path = NULL;
	ser->semid = ser->pipe_r = ser->pipe_w = -1;
}
