/*
 * check_options.c - options a handler declares (pfsd.h ABI 1.1), checked
 * by the real pfsd: -t reports every problem at once with FILE:LINE and
 * exits 78, -T prints the effective values, --help -c FILE lists them, a
 * running child gets the checked values, a typo of one of pfsd's own keys
 * is an error on the command line and in the file, and a handler built
 * against the 1.0 header still runs, its keys warned about.
 */
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EXIT_CONFIG	78

/* Every problem at once: bad values, typos of the handler's and pfsd's keys. */
START_TEST(test_check_all_at_once)
{
	char		 out[8192], want[1024];
	const char	*conf, *av[] = { "-t", "-c", NULL, NULL };

	conf = h_write("greet.conf", "handler greet\n"
	    "port 127.0.0.1:%d\n"
	    "greet_repeat 200\n"
	    "greting hi\n"
	    "usr nobody\n"
	    "max_servers 0\n"
	    "shout loud\n", h_free_port());
	av[2] = conf;
	h_run_exit(av, EXIT_CONFIG, out, sizeof out);
	snprintf(want, sizeof want,
	    "%s:6: max_servers: \"0\" is out of range (1..4096)\n"
	    "%s:3: greet_repeat: \"200\" is out of range (1..100)\n"
	    "%s:4: greting: unknown key (did you mean \"greeting\"?)\n"
	    "%s:5: usr: unknown key (did you mean \"user\"?)\n"
	    "%s:7: shout: unknown key (not one of pfsd's, nor declared by the "
	    "handler: see --help)\n", conf, conf, conf, conf, conf);
	ck_assert_str_eq(out, want);
}
END_TEST

/* The same rules for --key=value; a handler declaring nothing warns. */
START_TEST(test_cmdline_rules)
{
	char		 out[8192];
	const char	*typo[] = { "-t", "--handler=echo", "--maxservers", "3",
			    NULL };
	const char	*bad[] = { "-t", "--handler=greet", "--greet_repeat=0",
			    "--greet-ing=x", NULL };
	const char	*old[] = { "-t", "--handler=" TPLUGIN("abi_1_0"),
			    "--greeting=hi", NULL };

	h_run_exit(typo, EXIT_CONFIG, out, sizeof out);
	ck_assert_str_eq(out, "command line: maxservers: unknown key (did you "
	    "mean \"max_servers\"?)\n");
	h_run_exit(bad, EXIT_CONFIG, out, sizeof out);
	ck_assert_str_eq(out, "command line: greet_repeat: \"0\" is out of "
	    "range (1..100)\n"
	    "command line: greet-ing: unknown key (did you mean "
	    "\"greeting\"?)\n");
	h_run_exit(old, 0, out, sizeof out);
	ck_assert_str_eq(out, "command line: warning: greeting: unknown key "
	    "(kept for the handler, which declares no options)\n"
	    "pfsd: configuration ok\n");
}
END_TEST

/* -T: every declared option with its effective, canonical value. */
START_TEST(test_print_effective)
{
	char		 out[8192], want[1024];
	const char	*conf, *av[] = { "-T", "-c", NULL, "--o_num=+12",
			    NULL };

	conf = h_write("o.conf", "handler %s\nport 127.0.0.1:1\n"
	    "o_bool yes\no_list a\no_list b\no_colour BLUE\no_path rel/f\n"
	    "o_any -99999\n", TPLUGIN("options"));
	av[2] = conf;
	h_run_exit(av, 0, out, sizeof out);
	snprintf(want, sizeof want, "o_text plain\no_num 12\no_any -99999\n"
	    "o_bool 1\no_list a\no_list b\no_colour blue\no_path rel/f\n");
	h_has(out, want);
	ck_assert_ptr_null(strstr(out, "warning"));
}
END_TEST

/* --help -c FILE: pfsd's keys, then the handler's. */
START_TEST(test_help_lists)
{
	char		 out[16384];
	const char	*conf, *av[] = { "--help", "-c", NULL, NULL };
	const char	*plain[] = { "--help", "--handler=echo", NULL };

	conf = h_write("h.conf", "handler %s\n", TPLUGIN("options"));
	av[2] = conf;
	h_run_exit(av, 0, out, sizeof out);
	h_has(out, "  --max_servers=N");
	h_has(out, "\nOptions of the handler options:\n"
	    "  --o_text=TEXT           some text [default: plain]\n"
	    "  --o_num=N               a number; -5..50 [default: 7]\n");
	h_has(out, "  --o_colour=WORD         a colour; one of red, green, blue "
	    "[default: red]\n");
	h_has(out, "  --o_list=TEXT           several words; may be repeated\n");
	h_run_exit(plain, 0, out, sizeof out);
	h_has(out, "\nThe handler echo declares no options.\n");
}
END_TEST

/* Declarations pfsd refuses, each named. */
START_TEST(test_bad_declarations)
{
	char		 out[8192], want[8192];
	const char	*conf, *av[] = { "-t", "-c", NULL, NULL };
	char		 so[1024];

	snprintf(so, sizeof so, "%s", TPLUGIN("bad_options"));
	conf = h_write("b.conf", "port 127.0.0.1:1\nhandler %s\n", so);
	av[2] = conf;
	h_run_exit(av, EXIT_CONFIG, out, sizeof out);
	/* the path pfsd names is the real one */
	ck_assert_ptr_nonnull(realpath(TPLUGIN("bad_options"), so));
	snprintf(want, sizeof want,
	    "%s:2: handler: %s declares option \"user\", which is one of "
	    "pfsd's own keys\n"
	    "%s:2: handler: %s declares option \"b_enum\", which is an enum "
	    "without choices\n"
	    "%s:2: handler: %s declares option \"b_num\", which has a default "
	    "that fails its own check\n"
	    "%s:2: handler: %s declares option \"b_range\", which has min "
	    "greater than max\n"
	    "%s:2: handler: %s declares option \"b twice\", which is not a "
	    "valid key name\n"
	    "%s:2: handler: %s declares option \"b_ok\", which is declared "
	    "twice\n", conf, so, conf, so, conf, so, conf, so, conf, so, conf,
	    so);
	ck_assert_str_eq(out, want);
}
END_TEST

/* A running child gets the checked values; a 1.0 handler still serves. */
START_TEST(test_served_values)
{
	struct hproc	 p;
	char		 buf[1024], portarg[64];
	const char	*greet[] = { "--handler=greet", portarg,
			    "--max_servers=1", "--greeting=Good day",
			    "--greet_repeat=02", NULL };
	const char	*old[] = { "--handler=" TPLUGIN("abi_1_0"), portarg,
			    "--max_servers=1", "--greeting=hi there", NULL };
	const char	*opts[] = { "--handler=" TPLUGIN("options"), portarg,
			    "--max_servers=1", "--o_path=rel/f", "--o_list=x",
			    "--o_list=y", "--o_bool=on", NULL };
	char		 want[2048], cwd[1024];
	int		 port = h_free_port();

	snprintf(portarg, sizeof portarg, "--port=127.0.0.1:%d", port);
	ck_assert_int_eq(h_start(&p, greet), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "not ready");
	ck_assert_int_gt(h_talk("127.0.0.1", port, "", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "Good day, 127.0.0.1! (request 1 of this "
	    "child)\nGood day, 127.0.0.1! (request 1 of this child)\n");
	ck_assert_int_eq(h_log_has(&p, "unknown key"), 0);
	h_stop(&p, SIGTERM, 5000);

	ck_assert_int_eq(h_start(&p, old), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "not ready");
	ck_assert_int_gt(h_talk("127.0.0.1", port, "", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "hi there\n");
	ck_assert(h_log_has(&p, "command line: warning: greeting: unknown "
	    "key (kept for the handler, which declares no options)"));
	h_stop(&p, SIGTERM, 5000);

	/* defaults, canonical values, and a path made absolute */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	snprintf(want, sizeof want, "o_text=plain\no_num=7\no_any=(unset)\n"
	    "o_bool=1\no_list=x,y\no_colour=red\no_path=%s/rel/f\n", cwd);
	ck_assert_int_eq(h_start(&p, opts), 0);
	ck_assert_msg(h_wait_ready(&p, 10000) == 0, "not ready");
	ck_assert_int_gt(h_talk("127.0.0.1", port, "", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, want);
	h_stop(&p, SIGTERM, 5000);
}
END_TEST

Suite	*options_suite(void);

Suite *
options_suite(void)
{
	Suite	*s = suite_create("options");
	TCase	*tc = tcase_create("declared");

	tcase_add_test(tc, test_check_all_at_once);
	tcase_add_test(tc, test_cmdline_rules);
	tcase_add_test(tc, test_print_effective);
	tcase_add_test(tc, test_help_lists);
	tcase_add_test(tc, test_bad_declarations);
	tcase_add_test(tc, test_served_values);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
