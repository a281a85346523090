/*
 * check_install.c - the installed pfsd, as a user meets it: `make check`
 * stages `make install DESTDIR=tests/run/stage PREFIX=/usr` first; here
 * a handler is built out of the tree with `pkg-config --cflags pfsd`
 * against the staged header, and the staged binary serves with it.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define STAGE		SRCDIR "/tests/run/stage"
#define STAGED_PFSD	STAGE "/usr/sbin/pfsd"

static const char handler_src[] =
    "#include <stdio.h>\n"
    "#include <pfsd.h>\n"
    "PFSD_PLUGIN(\"outside\");\n"
    "int process_request(struct pfsd_request *req)\n"
    "{\n"
    "\tchar line[256];\n"
    "\tif (fgets(line, sizeof(line), stdin) != NULL)\n"
    "\t\tprintf(\"outside %s on %d\", line, pfsd_local_port(req));\n"
    "\treturn 0;\n"
    "}\n";

START_TEST(test_staged_files)
{
	static const char *const files[] = {
		"/usr/sbin/pfsd", "/usr/include/pfsd.h",
		"/usr/lib/pkgconfig/pfsd.pc", "/usr/lib/pfsd/plugins/echo.so",
		"/usr/share/man/man8/pfsd.8", "/usr/share/man/man5/pfsd.conf.5",
		"/usr/share/man/man3/pfsd-plugin.3", "/etc/pfsd/pfsd.conf",
		"/etc/pfsd/pfsd.yaml", "/usr/lib/systemd/system/pfsd.service",
		"/usr/lib/systemd/system/pfsd.socket",
	};
	char	path[512];
	size_t	i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", STAGE, files[i]);
		ck_assert_msg(access(path, R_OK) == 0, "not installed: %s",
		    files[i]);
	}
}
END_TEST

START_TEST(test_out_of_tree_handler)
{
	char		 cmd[2048], out[4096], so[512], portarg[64], buf[128];
	char		 want[128];
	const char	*src;
	struct hproc	 p;
	int		 port = h_free_port(), status;

	src = h_write("outside.c", "%s", handler_src);
	snprintf(so, sizeof(so), "%s", h_path("outside.so"));
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s cc -shared -fPIC -Wall -Wextra -Werror "
	    "-Wno-unused-parameter $(PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s pkg-config --cflags pfsd) -o %s %s 2>&1",
	    STAGE, STAGE, STAGE, STAGE, so, src);
	ck_assert_msg(h_sh(out, sizeof(out), "%s", cmd) == 0, "%s\n%s", cmd, out);
	/* the installed binary looks for bare names in $libdir/pfsd/plugins */
	snprintf(cmd, sizeof(cmd), "%s -T --handler=%s", STAGED_PFSD, so);
	h_sh(out, sizeof(out), "%s", cmd);
	ck_assert_msg(strstr(out, "plugin_dir /usr/lib/pfsd/plugins\n") !=
	    NULL, "%s", out);
	/* and serves the handler built outside the tree */
	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	if ((p.pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(STAGED_PFSD, "pfsd", "--handler", so, "--port", portarg,
		    "--max_servers=1", (char *)NULL);
		_exit(127);
	}
	status = -1;
	for (int i = 0; i < 500 && status != 0; i++) {
		status = h_talk("127.0.0.1", port, "hi\n", buf, sizeof(buf)) > 0
		    ? 0 : -1;
		if (status != 0)
			usleep(10000);
	}
	kill(p.pid, SIGTERM);
	waitpid(p.pid, NULL, 0);
	snprintf(want, sizeof(want), "outside hi\n on %d", port);
	ck_assert_str_eq(buf, want);
}
END_TEST

/* make install-conf into DESTDIR=dir, PREFIX=/usr; its exit status. */
static int
install_conf(const char *dir, const char *systemd_version, char *out,
    size_t len)
{
	char	cmd[1024];

	snprintf(cmd, sizeof(cmd), "make -s --no-print-directory -C %s "
	    "install-conf DESTDIR=%s PREFIX=/usr SYSTEMD_VERSION=%s 2>&1",
	    SRCDIR, dir, systemd_version);
	return h_sh(out, len, "%s", cmd);
}

/* An edited pfsd.conf is kept; the new example goes next to it. */
START_TEST(test_edited_conf_kept)
{
	char	 out[4096], path[512], want[1200];
	char	*conf, *shipped = h_read_file(SRCDIR "/conf/pfsd.conf");
	char	*yaml;

	ck_assert_int_eq(install_conf(h_path("dest"), "252", out,
	    sizeof(out)), 0);
	snprintf(path, sizeof(path), "%s/etc/pfsd/pfsd.conf", h_path("dest"));
	conf = h_read_file(path);
	ck_assert_str_eq(conf, shipped);
	free(conf);
	ck_assert_ptr_nonnull(h_write("dest/etc/pfsd/pfsd.conf",
	    "handler echo\nport 127.0.0.1:1\n"));
	ck_assert_ptr_nonnull(h_write("dest/etc/pfsd/pfsd.yaml",
	    "handler: echo\n"));

	ck_assert_int_eq(install_conf(h_path("dest"), "252", out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s exists and differs: installing "
	    "conf/pfsd.conf as %s.new", path, path);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	conf = h_read_file(path);
	ck_assert_str_eq(conf, "handler echo\nport 127.0.0.1:1\n");
	free(conf);
	strcat(path, ".new");
	conf = h_read_file(path);
	ck_assert_str_eq(conf, shipped);
	free(conf);
	yaml = h_read_file(h_path("dest/etc/pfsd/pfsd.yaml"));
	ck_assert_str_eq(yaml, "handler: echo\n");
	free(yaml);
	ck_assert_int_eq(access(h_path("dest/etc/pfsd/pfsd.yaml.new"), R_OK),
	    0);
	free(shipped);
}
END_TEST

/* The unit make install writes suits the systemd it is installed for. */
START_TEST(test_unit_for_systemd)
{
	char	 out[4096];
	char	*unit;

	ck_assert_int_eq(install_conf(h_path("old"), "252", out,
	    sizeof(out)), 0);
	unit = h_read_file(h_path("old/usr/lib/systemd/system/pfsd.service"));
	ck_assert_ptr_nonnull(unit);
	ck_assert_ptr_nonnull(strstr(unit, "\nType=notify\n"));
	ck_assert_ptr_nonnull(strstr(unit,
	    "\nExecReload=/bin/kill -HUP $MAINPID\n"));
	ck_assert_ptr_nonnull(strstr(unit,
	    "\nExecStart=/usr/sbin/pfsd -c /etc/pfsd/pfsd.conf\n"));
	free(unit);

	ck_assert_int_eq(install_conf(h_path("new"), "253", out,
	    sizeof(out)), 0);
	unit = h_read_file(h_path("new/usr/lib/systemd/system/pfsd.service"));
	ck_assert_ptr_nonnull(unit);
	ck_assert_ptr_nonnull(strstr(unit, "\nType=notify-reload\n"));
	ck_assert_ptr_null(strstr(unit, "\nExecReload="));
	ck_assert_ptr_nonnull(strstr(unit,
	    "\nExecStart=/usr/sbin/pfsd -c /etc/pfsd/pfsd.conf\n"));
	free(unit);
	ck_assert_int_eq(access(h_path("new/usr/lib/systemd/system/"
	    "pfsd.socket"), R_OK), 0);
}
END_TEST

Suite	*install_suite(void);

Suite *
install_suite(void)
{
	Suite	*s = suite_create("install");
	TCase	*tc = tcase_create("install");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_staged_files);
	tcase_add_test(tc, test_out_of_tree_handler);
	tcase_add_test(tc, test_edited_conf_kept);
	tcase_add_test(tc, test_unit_for_systemd);
	suite_add_tcase(s, tc);
	return s;
}
