/*
 * check_main.c - runs every suite of the pfsd test binary, then says how
 * many suites and checks ran and which checks were skipped.
 *
 * A new suite is one more X(name) in SUITES.  Every suite named there
 * must exist: the declarations are strong, so a missing name_suite() is
 * a link error, never a suite silently left out.  CK_RUN_SUITE=name runs
 * one of them (Check reads it itself); a name that is not in SUITES, or a
 * run of no check at all, fails instead of passing with nothing tested.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>

#include "harness.h"

#define SUITES(X) \
	X(conf) X(yaml) X(cmdline) X(listen) X(access) X(plugin) \
	X(engine) X(parent) X(watchdog) X(status) X(serialize) \
	X(daemon) X(restart) X(docs) X(leaks) X(install) X(compat) \
	X(proxy) X(options) X(metrics) X(http) X(tls) \
	X(messages) X(statuspage) X(pool)

#define DECLARE(n) Suite *n##_suite(void);
SUITES(DECLARE)

#define NAME(n) #n,
static const char *const suite_names[] = { SUITES(NAME) };
#define NSUITES	(sizeof(suite_names) / sizeof(suite_names[0]))

/* How many suites CK_RUN_SUITE selects: all, one, or none (unknown). */
static size_t
suites_selected(void)
{
	const char	*want = getenv("CK_RUN_SUITE");
	size_t		 i;

	if (want == NULL || *want == '\0')
		return NSUITES;
	for (i = 0; i < NSUITES; i++)
		if (strcmp(want, suite_names[i]) == 0)
			return 1;
	fprintf(stderr, "check_pfsd: CK_RUN_SUITE=%s: no such suite\n", want);
	return 0;
}

int
main(void)
{
	SRunner	*sr;
	size_t	 nsuites;
	int	 failed, run, skipped;

	if ((nsuites = suites_selected()) == 0)
		return EXIT_FAILURE;
	h_global_init();
	sr = srunner_create(NULL);
#define ADD(n) srunner_add_suite(sr, n##_suite());
	SUITES(ADD)
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	skipped = h_skips_report(stdout);
	printf("check_pfsd: %zu suite%s, %d checks run, %d failed, "
	    "%d skipped\n", nsuites, nsuites == 1 ? "" : "s", run, failed,
	    skipped);
	h_global_cleanup(failed);
	if (run == 0) {
		printf("check_pfsd: no check ran (CK_RUN_CASE?)\n");
		return EXIT_FAILURE;
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
