/*
 * check_engine.c - integration tests of the prefork engine: the real pfsd
 * binary on loopback, real sockets, real processes.
 */
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int	 port;

/* The pid of the child that serves the next connection (hooks "info"). */
static long
serving_pid(void)
{
	char	buf[512], *s;

	ck_assert_int_gt(h_talk("127.0.0.1", port, "info\n", buf,
	    sizeof(buf)), 0);
	ck_assert_ptr_nonnull(s = strstr(buf, " pid="));
	return strtol(s + 5, NULL, 10);
}

START_TEST(test_child_count)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=3", NULL };
	char			 buf[64];

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
	    sizeof(buf)), 6);
	ck_assert_str_eq(buf, "hello\n");
	ck_assert_int_eq(h_children(p.pid, NULL, 0), 3);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_max_requests_recycles)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", "--max_requests=2",
				    NULL };
	long			 a, b, c;

	port = h_serve(&p, TPLUGIN("hooks"), av);
	a = serving_pid();
	b = serving_pid();
	c = serving_pid();	/* the first child served 2: a new one */
	ck_assert_int_eq(a, b);
	ck_assert_int_ne(b, c);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* Lines of the hook log of process pid, in order, as "hook hook ...". */
static char *
hooks_of(const char *log, long pid, char *out, size_t len)
{
	char	*copy = strdup(log), *line, *save, name[64];
	long	 lp, lpp;

	out[0] = '\0';
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %ld %ld", name, &lp, &lpp) == 3 &&
		    lp == pid && strcmp(name, "idle_loop_hook") != 0) {
			strncat(out, name, len - strlen(out) - 2);
			strncat(out, " ", len - strlen(out) - 1);
		}
	}
	free(copy);
	return out;
}

START_TEST(test_hook_order)
{
	struct hproc	 p;
	char		 hl[600], buf[1024], *log;
	const char	*av[] = { "--max_servers=1", "--max_requests=1", hl,
			    NULL };
	long		 child;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	child = serving_pid();
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 10000), 0);
	ck_assert_ptr_nonnull(log = h_read_file(h_path("hooks.log")));
	ck_assert_str_eq(hooks_of(log, child, buf, sizeof(buf)),
	    "child_init_hook post_accept_hook allow_deny_hook "
	    "process_request post_process_request_hook "
	    "post_client_connection_hook child_finish_hook ");
	ck_assert_ptr_nonnull(strstr(log, "post_configure_hook"));
	ck_assert_ptr_nonnull(strstr(log, "pre_server_close_hook"));
	free(log);
}
END_TEST

START_TEST(test_parent_hooks_in_parent)
{
	struct hproc	 p;
	char		 hl[600], buf[1024], *log;
	const char	*av[] = { "--max_servers=2", hl, NULL };
	pid_t		 parent;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	parent = p.pid;
	ck_assert_int_eq(h_wait_children(parent, 2, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGQUIT, 10000), 0);
	ck_assert_ptr_nonnull(log = h_read_file(h_path("hooks.log")));
	ck_assert_str_eq(hooks_of(log, parent, buf, sizeof(buf)),
	    "configure_hook post_configure_hook post_bind_hook pre_loop_hook "
	    "run_n_children_hook pre_fork_hook register_child pre_fork_hook "
	    "register_child pre_server_close_hook delete_child_hook "
	    "delete_child_hook ");
	ck_assert_ptr_nonnull(strstr(log, "idle_loop_hook"));
	free(log);
}
END_TEST

START_TEST(test_unread_input_does_not_leak)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", NULL };
	char			 buf[256];

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_talk("127.0.0.1", port, "one\nquit\nleft over\n",
	    buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "one\n");
	ck_assert_int_eq(h_talk("127.0.0.1", port, "two\n", buf,
	    sizeof(buf)), 4);
	ck_assert_str_eq(buf, "two\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_udp_echo)
{
	struct hproc	 p;
	char		 arg[64], buf[256];
	const char	*av[] = { "--handler=echo", arg, "--max_servers=2",
			    NULL };

	port = h_free_port();
	snprintf(arg, sizeof(arg), "--port=127.0.0.1:%d/udp", port);
	ck_assert_int_eq(h_start(&p, av), 0);
	ck_assert_int_eq(h_wait_ready(&p, H_READY_MS), 0);
	ck_assert_int_eq(h_talk_udp("127.0.0.1", port, "ping\n", buf,
	    sizeof(buf), 5000), 5);
	ck_assert_str_eq(buf, "ping\n");
	ck_assert_int_eq(h_talk_udp("127.0.0.1", port, "a\nb\n", buf,
	    sizeof(buf), 5000), 4);
	ck_assert_str_eq(buf, "a\nb\n");
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_parent_killed_children_follow)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=4", NULL };
	pid_t			 kids[8];
	int			 n, i, alive = 1, tries;

	port = h_serve(&p, "echo", av);
	ck_assert_int_eq(h_wait_children(p.pid, 4, 5000), 0);
	n = h_children(p.pid, kids, 8);
	ck_assert_int_eq(n, 4);
	kill(p.pid, SIGKILL);
	waitpid(p.pid, NULL, 0);
	p.pid = -1;
	for (tries = 0; tries < 100 && alive; tries++) {
		for (alive = 0, i = 0; i < n; i++)
			alive += h_alive(kids[i]);
		if (alive)
			usleep(10000);
	}
	ck_assert_msg(alive == 0, "%d children outlived the parent by 1s",
	    alive);
}
END_TEST

START_TEST(test_crashing_handler_pool_survives)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=2", NULL };
	char			 buf[256];
	int			 i;

	port = h_serve(&p, TPLUGIN("hooks"), av);
	for (i = 0; i < 5; i++) {
		h_talk("127.0.0.1", port, "crash\n", buf, sizeof(buf));
		ck_assert_int_eq(h_talk("127.0.0.1", port, "ok\n", buf,
		    sizeof(buf)), 3);
		ck_assert_str_eq(buf, "ok\n");
	}
	ck_assert_int_eq(h_wait_log(&p, "killed by signal 6", 5000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 2, 5000), 0);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/*
 * Watch the hooks log until it has n child_init_hook lines (children
 * started); t[i] is when child i started, by its own clock (time_init:
 * " ms=T"), so the test's own delays do not shift it.  0, or -1 after
 * ms_max.
 */
static int
spawns(const char *log, long long *t, int have, int n, int ms_max)
{
	long long	 end = h_now_ms() + ms_max;
	char		*s, *l, *m;
	int		 c;

	while (h_now_ms() < end) {
		s = h_read_file(log);
		for (c = 0, l = s; l != NULL &&
		    (l = strstr(l, "child_init_hook ")) != NULL; l++, c++)
			if (c >= have && c < n && (m = strstr(l, " ms=")) !=
			    NULL && m < strchr(l, '\n'))
				t[c] = strtoll(m + 4, NULL, 10);
		free(s);
		if (c > have)
			have = c < n ? c : n;
		if (have >= n)
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * Children that die at start are restarted after a delay that doubles:
 * 100, 200, 400, 800 ms, measured between the starts.  A child that then
 * served a request resets it: after that, the next failing start waits
 * 100 ms again, not twice the last delay.
 */
START_TEST(test_failing_init_backs_off)
{
	struct hproc	 p;
	char		 hookarg[600], failarg[600];
	const char	*av[] = { "--max_servers=1", "--max_requests=1",
			    hookarg, failarg, "--time_init=1", NULL };
	const char	*fail = h_path("failing"), *log = h_path("hooks.log");
	long long	 t[16], gap;
	pid_t		 kid;
	char		 buf[64];
	int		 i;

	snprintf(hookarg, sizeof(hookarg), "--hook_log=%s", log);
	snprintf(failarg, sizeof(failarg), "--fail_init_file=%s", fail);
	h_write("failing", "\n");
	port = h_serve(&p, TPLUGIN("hooks"), av);
	ck_assert_int_eq(spawns(log, t, 0, 4, 5000), 0);
	unlink(fail);		/* the next start (the 5th) is healthy */
	for (i = 1; i < 4; i++) {
		gap = t[i] - t[i - 1];
		/* each start is at least the delay after the one before:
		 * the children's own clock (1 ms of rounding) */
		ck_assert_msg(gap >= (100 << (i - 1)) - 1 &&
		    gap < (100 << (i - 1)) + 1000, "start %d came %lld ms "
		    "after the one before; want %d", i, gap, 100 << (i - 1));
	}
	ck_assert_int_eq(spawns(log, t, 4, 5, 5000), 0);
	ck_assert_int_ge(t[4] - t[3], 800 - 1);
	/* it serves its one request; its replacement starts, healthy */
	ck_assert_int_eq(h_talk("127.0.0.1", port, "x\n", buf, sizeof(buf)),
	    2);
	ck_assert_int_eq(spawns(log, t, 5, 6, 5000), 0);
	ck_assert_int_eq(h_wait_children(p.pid, 1, 5000), 0);
	ck_assert_int_eq(h_wait_no_zombies(p.pid, 5000), 0);
	ck_assert_int_eq(h_children(p.pid, &kid, 1), 1);
	/* failing again, from a kill that is not a crash: the delay
	 * starts over at 100 ms (without the reset: 1600) */
	h_write("failing", "\n");
	kill(kid, SIGKILL);
	ck_assert_int_eq(spawns(log, t, 6, 8, 5000), 0);
	gap = t[7] - t[6];
	ck_assert_msg(gap >= 100 - 1 && gap < 700, "after healthy service, "
	    "a failing start waited %lld ms for the next; want 100", gap);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_dequeue_runs)
{
	struct hproc	 p;
	char		 hl[600], *log;
	const char	*av[] = { "--max_servers=1", "--max_dequeue=1",
			    "--check_for_dequeue=1", hl, NULL };
	int		 i;

	snprintf(hl, sizeof(hl), "--hook_log=%s", h_path("hooks.log"));
	port = h_serve(&p, TPLUGIN("hooks"), av);
	for (i = 0, log = NULL; i < 300; i++) {
		free(log);
		log = h_read_file(h_path("hooks.log"));
		if (log != NULL && strstr(log, "run_dequeue") != NULL)
			break;
		usleep(10000);
	}
	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(strstr(log, "run_dequeue"));
	free(log);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_pfsd_done_ends_child)
{
	struct hproc		 p;
	const char *const	 av[] = { "--max_servers=1", NULL };
	char			 buf[64];
	long			 a, b;

	port = h_serve(&p, TPLUGIN("hooks"), av);
	a = serving_pid();
	ck_assert_int_gt(h_talk("127.0.0.1", port, "done\n", buf,
	    sizeof(buf)), 0);
	b = serving_pid();
	ck_assert_int_ne(a, b);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

Suite	*engine_suite(void);

Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*tc = tcase_create("engine");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_child_count);
	tcase_add_test(tc, test_max_requests_recycles);
	tcase_add_test(tc, test_hook_order);
	tcase_add_test(tc, test_parent_hooks_in_parent);
	tcase_add_test(tc, test_unread_input_does_not_leak);
	tcase_add_test(tc, test_udp_echo);
	tcase_add_test(tc, test_parent_killed_children_follow);
	tcase_add_test(tc, test_crashing_handler_pool_survives);
	tcase_add_test(tc, test_failing_init_backs_off);
	tcase_add_test(tc, test_dequeue_runs);
	tcase_add_test(tc, test_pfsd_done_ends_child);
	suite_add_tcase(s, tc);
	return s;
}
