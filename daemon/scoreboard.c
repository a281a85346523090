/*
 * scoreboard.c - one slot per child in anonymous shared memory.  A child
 * writes only its own slot, with plain stores (no locks on the hot path);
 * the parent writes a slot only when it hands it out and when it frees
 * it (through pool.c, docs/DESIGN.md has the table), and reads them to
 * pick an idle child for TTOU, to find a lost pipe token, to time
 * requests (request_timeout) and to answer status.
 *
 * The slots live in a memfd, which a HUP hands to the new image: the
 * children of the old generation keep their slots, so request_timeout
 * and status still see them.  A tail after the slots says which layout
 * they have; a new binary with another layout starts a fresh map.
 */
#include "internal.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SB_MAGIC	0x70667362u	/* "pfsb" */

struct sb_tail {
	int		retiring;	/* children on their last request */
	struct standby_board board;
	unsigned int	magic;
	unsigned int	slot_size;
	unsigned int	nslots;
	/* a bit per slot, set by a child that began its last request,
	 * cleared by the parent when it counts it out */
	unsigned long	last[];
};

/* The slots, then the shared counters, then the bit map of last requests. */
static size_t
map_size(size_t n)
{
	return n * sizeof(struct slot) + sizeof(struct sb_tail) +
	    (n + LAST_BITS - 1) / LAST_BITS * sizeof(unsigned long);
}

/* Is the inherited fd a scoreboard of this layout? */
static int
sb_usable(int fd, size_t n)
{
	struct sb_tail	tail;
	struct stat	st;

	return fd != -1 && fstat(fd, &st) == 0 &&
	    (size_t)st.st_size == map_size(n) &&
	    pread(fd, &tail, sizeof(tail), (off_t)(n * sizeof(struct slot))) ==
	    (ssize_t)sizeof(tail) && tail.magic == SB_MAGIC &&
	    tail.slot_size == sizeof(struct slot) && tail.nslots == n;
}

/*
 * Map n slots shared with every child forked later: the previous image's
 * (inherited, from a HUP) when it has this layout, else n zeroed ones.
 */
int
scoreboard_init(struct scoreboard *sb, size_t n, int inherited)
{
	struct sb_tail	*tail;
	void		*p;
	int		 fd = inherited;

	if (!sb_usable(fd, n)) {
		if (inherited != -1)
			close(inherited);
		if ((fd = memfd_create("pfsd-scoreboard", MFD_CLOEXEC)) == -1)
			return -1;
		if (ftruncate(fd, (off_t)map_size(n)) == -1) {
			close(fd);
			return -1;
		}
	}
	p = mmap(NULL, map_size(n), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	sb->fd = fd;
	sb->slots = p;
	sb->nslots = n;
	tail = (struct sb_tail *)(void *)&sb->slots[n];
	tail->magic = SB_MAGIC;
	tail->slot_size = sizeof(struct slot);
	tail->nslots = (unsigned int)n;
	sb->retiring = &tail->retiring;
	sb->board = &tail->board;
	sb->last = tail->last;
	return 0;
}

/* Parent: take a free slot for a child about to be forked; -1 if full. */
int
scoreboard_alloc(struct scoreboard *sb)
{
	size_t	i, k;

	/* from after the last slot taken: filling a pool is O(n), not n^2 */
	for (k = 0; k < sb->nslots; k++) {
		i = (sb->next + k) % sb->nslots;
		if (sb->slots[i].state == SLOT_FREE && sb->slots[i].pid == 0) {
			memset(&sb->slots[i], 0, sizeof(sb->slots[i]));
			sb->slots[i].state = SLOT_STARTING;
			sb->next = i + 1;
			return (int)i;
		}
	}
	errno = ENOSPC;
	return -1;
}

/* Parent: the child of slot i was reaped. */
void
scoreboard_release(struct scoreboard *sb, int i)
{
	if (i < 0 || (size_t)i >= sb->nslots)
		return;
	if (sb->slots[i].last)
		__atomic_sub_fetch(sb->retiring, 1, __ATOMIC_RELAXED);
	if (sb->slots[i].waiting) {	/* killed while counted: standby.c */
		__atomic_sub_fetch(&sb->board->waiting, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sb->board->watch, 1, __ATOMIC_SEQ_CST);
	}
	memset(&sb->slots[i], 0, sizeof(sb->slots[i]));
}

/*
 * Child: may it retire now?  At most cap children are on their last
 * request at once, so that recycling never takes many children away
 * in the same moment; the others serve one more request and ask again.
 * One that may sets its bit in last[] for the parent (scoreboard_next_last)
 * before it sends SIGUSR2.
 */
int
scoreboard_may_retire(struct scoreboard *sb, int slot, int cap)
{
	if (__atomic_add_fetch(sb->retiring, 1, __ATOMIC_RELAXED) > cap) {
		__atomic_sub_fetch(sb->retiring, 1, __ATOMIC_RELAXED);
		return 0;
	}
	sb->slots[slot].last = 1;
	__atomic_fetch_or(&sb->last[slot / LAST_BITS],
	    1UL << (slot % LAST_BITS), __ATOMIC_RELEASE);
	return 1;
}

/*
 * Parent: the slots of word w of the bit map (LAST_BITS slots from
 * w * LAST_BITS) whose child began its last request since the last call;
 * a word at a time (65 words for 4160 slots), so that a SIGUSR2 costs no
 * walk of the children.  The bits are hints: a slot may have been freed
 * and handed out again since, the caller checks its flag.
 */
unsigned long
scoreboard_take_last(struct scoreboard *sb, size_t w)
{
	if (w >= (sb->nslots + LAST_BITS - 1) / LAST_BITS || sb->last[w] == 0)
		return 0;
	return __atomic_exchange_n(&sb->last[w], 0, __ATOMIC_ACQUIRE);
}

/*
 * The peer a slot records, escaped for the log: a UNIX client names its
 * own socket (any bytes, newlines included), and the slot keeps only the
 * first bytes of that name, without a terminating NUL.
 */
void
scoreboard_peer(const struct slot *s, char *buf, size_t len, int *port)
{
	const struct sockaddr_un	*sun = (const void *)&s->peer;
	size_t				 max = sizeof(s->peer) -
					    offsetof(struct sockaddr_un, sun_path);
	char				 raw[64];

	*port = 0;
	if (sun->sun_family == AF_UNIX) {
		if (sun->sun_path[0] == '\0')
			snprintf(buf, len, "unix");
		else
			log_escape(buf, len, sun->sun_path,
			    strnlen(sun->sun_path, max));
		return;
	}
	addr_format((const struct sockaddr *)&s->peer, raw, sizeof(raw), port);
	log_escape(buf, len, raw, strlen(raw));
}

/* A state's name, as status, metrics and the status page show it. */
const char *
slot_state_name(int state)
{
	static const char *const names[SLOT__COUNT] = {
		[SLOT_FREE] = "free",
		[SLOT_STARTING] = "starting",
		[SLOT_IDLE] = "idle",
		[SLOT_ACCEPTING] = "accepting",
		[SLOT_BUSY] = "busy",
		[SLOT_RETIRING] = "retiring",
		[SLOT_DEQUEUE] = "dequeue"
	};

	return state >= 0 && state < SLOT__COUNT ? names[state] : "unknown";
}
