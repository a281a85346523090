/*
 * pidfile.c - the pid file: refuse to start while it names a live pfsd,
 * write it without following links, remove it only while it is ours.
 */
#include "internal.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
proc_is_pfsd(pid_t pid)
{
	char	path[64], comm[64] = "";
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;	/* cannot tell: assume it is */
	if (fgets(comm, sizeof(comm), f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "pfsd", 4) == 0;
}

/*
 * The pid in the file PATH (0 if it holds none) in *pid: not through a
 * symbolic link, and a FIFO does not block.  -1 with errno if it cannot
 * be opened.  The janitor (daemonize.c) reads it too.
 */
int
pidfile_read(const char *path, long *pid)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	*pid = strtol(buf, NULL, 10);
	return 0;
}

/*
 * Refuse to start while the pid file names a live pfsd; a stale or
 * empty one is fine (it will be replaced).
 */
int
pidfile_check(const char *path, char *err, size_t errlen)
{
	long	pid;

	if (pidfile_read(path, &pid) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "pid_file %s: %s", path, errno == ELOOP ?
		    "is a symbolic link; refusing to follow it" :
		    strerror(errno));
		return -1;
	}
	if (pid <= 0 || pid == (long)getpid())
		return 0;
	if ((kill((pid_t)pid, 0) == 0 || errno == EPERM) &&
	    proc_is_pfsd((pid_t)pid)) {
		snprintf(err, errlen, "pid_file %s: pfsd is already running "
		    "as pid %ld", path, pid);
		return -1;
	}
	return 0;
}

/*
 * Write our pid.  Not through a symbolic link, and truncate only a
 * regular file with no other hard link (O_NONBLOCK: a FIFO planted there
 * does not hang the start), so that whoever can write the directory
 * cannot make pfsd, root at this point, overwrite another file.
 */
int
pidfile_write(const char *path, char *err, size_t errlen)
{
	struct stat	st;
	char		buf[32];
	int		fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "pid_file %s: %s", path, errno == ELOOP ?
		    "is a symbolic link; refusing to follow it" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1) {
		snprintf(err, errlen, "pid_file %s: not a regular file with "
		    "a single link; refusing to write to it", path);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n) {
		snprintf(err, errlen, "pid_file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	fchmod(fd, 0644);
	close(fd);
	return 0;
}

/* Remove the pid file if it is still ours. */
void
pidfile_remove(const char *path)
{
	const char	*here = paths_here(path);	/* chrooted? */
	char		 err[ERRBUF_SIZE];
	long		 pid;

	if (here == NULL)		/* outside the jail: the janitor's */
		return;
	if (pidfile_read(here, &pid) == -1 || pid != (long)getpid())
		return;
	if (unlink(here) == -1) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		log_warnx("pid_file %s: cannot remove: %s", path, err);
	}
}
