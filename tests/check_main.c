/*
 * check_main.c - runs every suite of the pfsd test binary.  Suites are
 * declared weak so that the binary links while a suite is being written;
 * CK_RUN_SUITE=name runs one of them (Check reads it itself).
 */
#include <stdlib.h>
#include <check.h>

#include "harness.h"

#define SUITES(X) \
	X(conf) X(yaml) X(cmdline) X(listen) X(access) X(plugin) \
	X(engine) X(serialize) X(signals) X(daemon) \
	X(docs) X(faults) X(beyond) X(install) X(compat) X(hostile)

#define DECLARE(n) Suite *n##_suite(void) __attribute__((weak));
SUITES(DECLARE)

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	h_global_init();
	sr = srunner_create(NULL);
#define ADD(n) if (n##_suite != NULL) srunner_add_suite(sr, n##_suite());
	SUITES(ADD)
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	h_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
