/*
 * check_pool.c - the parent's records of its children (daemon/pool.c):
 * finding, counting and walking them as the pool grows and shrinks.
 * (What the parent does when a child cannot start: check_parent.c.)
 */
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <check.h>

#include "../daemon/internal.h"
#include "harness.h"

#define NPIDS	4000	/* in the scoreboard's SCOREBOARD_SLOTS */

static struct scoreboard	sb;
static struct pfsd_server	srv;

/* A scoreboard and a pool of its own (each test is a process of its own). */
static void
pool_setup(void)
{
	memset(&srv, 0, sizeof(srv));
	srv.plugin.name = "test";
	ck_assert_int_eq(scoreboard_init(&sb, SCOREBOARD_SLOTS, -1), 0);
	pool_init(&sb);
}

/* Made-up pids, never signalled: add, find, remove and count need none. */
static pid_t
fake_pid(int i)
{
	return (pid_t)(4000000 + i * 7919 % 100003);
}

/* Is every entry walked exactly once, and found by its pid? */
static void
walk_matches(const char *live)
{
	struct pool_entry	*e;
	size_t			 it = 0, n = 0, seen[CHILD__KINDS] = { 0 };
	int			 i;
	char			*walked = calloc(NPIDS, 1);

	ck_assert_ptr_nonnull(walked);
	while ((e = pool_next(&it)) != NULL) {
		for (i = 0; i < NPIDS && fake_pid(i) != pool_pid(e); i++)
			;
		ck_assert_int_lt(i, NPIDS);
		ck_assert_msg(live[i] && !walked[i], "pid %ld walked wrongly",
		    (long)pool_pid(e));
		walked[i] = 1;
		seen[pool_kind(e)]++;
		n++;
	}
	for (i = 0; i < NPIDS; i++) {
		ck_assert_int_eq(walked[i], live[i]);
		ck_assert_int_eq(pool_find(fake_pid(i)) != NULL, live[i]);
	}
	ck_assert_uint_eq(n, pool_size());
	for (i = 0; i < CHILD__KINDS; i++)
		ck_assert_uint_eq(seen[i], pool_count(i, 0));
	free(walked);
}

/*
 * Thousands of children, removed in a scrambled order and added again:
 * each is found by its pid (the hash's deletions keep the others
 * reachable), walked once, and counted by kind.
 */
START_TEST(test_pool_find_remove_many)
{
	char	live[NPIDS];
	int	i, k;

	pool_setup();
	for (i = 0; i < NPIDS; i++) {
		pool_forked(&srv, fake_pid(i), scoreboard_alloc(&sb),
		    i % 10 == 0 ? CHILD_DEQUEUE : CHILD_WORKER);
		live[i] = 1;
	}
	ck_assert_uint_eq(pool_size(), NPIDS);
	ck_assert_uint_eq(pool_count(CHILD_DEQUEUE, 0), NPIDS / 10);
	walk_matches(live);
	for (k = 0; k < 3 * NPIDS; k++) {	/* remove about 95% */
		i = (int)((unsigned)k * 2654435761u % NPIDS);
		if (live[i]) {
			pool_remove(pool_find(fake_pid(i)));
			live[i] = 0;
		}
	}
	walk_matches(live);
	for (i = 0; i < NPIDS; i += 3)
		if (!live[i]) {
			pool_forked(&srv, fake_pid(i), scoreboard_alloc(&sb),
			    CHILD_WORKER);
			live[i] = 1;
		}
	walk_matches(live);
	/* the slot was written for the parent: pid, handler, generation */
	ck_assert_int_eq(pool_slot(pool_find(fake_pid(3)))->pid, fake_pid(3));
	ck_assert_str_eq(pool_slot(pool_find(fake_pid(3)))->handler, "test");
}
END_TEST

/*
 * A child on its last request (it set its flag in the scoreboard) is no
 * longer counted as going on: its replacement may start.  The count goes
 * back when it is removed; a stale flag of a freed slot counts no one.
 */
START_TEST(test_pool_counts_last_requests)
{
	int	a, b;

	pool_setup();
	pool_forked(&srv, fake_pid(1), a = scoreboard_alloc(&sb),
	    CHILD_WORKER);
	pool_forked(&srv, fake_pid(2), b = scoreboard_alloc(&sb),
	    CHILD_WORKER);
	pool_forked(&srv, fake_pid(3), scoreboard_alloc(&sb), CHILD_WORKER);
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 1), 3);
	ck_assert_int_eq(scoreboard_may_retire(&sb, a, 2), 1);
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 1), 3);	/* not yet */
	pool_note_last();
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 1), 2);
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 0), 3);
	pool_note_last();	/* counted once */
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 1), 2);
	pool_remove(pool_find(fake_pid(1)));
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 1), 2);
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 0), 2);
	/* b's child sets its bit and is reaped before the parent looks;
	 * a new child takes the slot: it is not on its last request */
	ck_assert_int_eq(scoreboard_may_retire(&sb, b, 2), 1);
	pool_remove(pool_find(fake_pid(2)));
	sb.next = (size_t)b;
	ck_assert_int_eq(scoreboard_alloc(&sb), b);
	pool_forked(&srv, fake_pid(4), b, CHILD_WORKER);
	pool_note_last();
	ck_assert_uint_eq(pool_count(CHILD_WORKER, 1), 2);
}
END_TEST

Suite	*pool_suite(void);

Suite *
pool_suite(void)
{
	Suite	*s = suite_create("pool");
	TCase	*tc = tcase_create("pool");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pool_find_remove_many);
	tcase_add_test(tc, test_pool_counts_last_requests);
	suite_add_tcase(s, tc);
	return s;
}
