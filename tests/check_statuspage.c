/*
 * check_statuspage.c - the status page on metrics_listen (`GET /`), seen
 * by a real browser: Debian's headless Chromium loads it, with and
 * without JavaScript, dumps its DOM (the children grid, a busy child's
 * peer, the chart, the reloads with an escaped reason) and takes a
 * screenshot, kept with the test's files when the test fails.  Also: the
 * page is self-contained, and an idle parent is not woken to sample.
 *
 * Chromium runs as root here (hence --no-sandbox) with a throwaway
 * profile in the test's directory, in a process group of its own under
 * timeout(1): the group is killed after each run, and timeout kills it
 * even if this test process is killed first.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <dirent.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

Suite	*statuspage_suite(void);

#define READY_MS	10000
#define BROWSER_S	"20"	/* timeout(1)'s bound on a Chromium run */
#define BROWSER_MS	25000

static int	port, mport;

/* pfsd.conf's body: the hooks handler, 3 children, metrics_listen. */
static const char *
conf_body(const char *extra)
{
	static char	body[600];

	snprintf(body, sizeof(body), "handler %s\nmax_servers 3\n"
	    "metrics_listen 127.0.0.1:%d\ncidr_deny 127.0.0.2\n%s",
	    TPLUGIN("hooks"), mport, extra);
	return body;
}

static void
write_conf(const char *extra)
{
	h_write_conf(port, conf_body(extra));
}

static void
start(struct hproc *p)
{
	mport = h_free_port();
	port = h_serve_conf(p, conf_body(""));
	ck_assert_int_eq(h_wait_children(p->pid, 3, 5000), 0);
}

/* Processes whose command line mentions s (our Chromium's profile). */
static int
processes_with(const char *s)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[300], buf[8192];
	ssize_t		 n, i;
	int		 fd, count = 0;

	ck_assert_ptr_nonnull(d = opendir("/proc"));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		if (strstr(buf, s) != NULL)
			count++;
	}
	closedir(d);
	return count;
}

/* One Chromium run. */
struct run {
	pid_t	pid;
	int	status;
	char	profile[600];
};

/*
 * Start Chromium headless on url (NULL: the status page) with the given
 * options, JavaScript off in its profile if nojs, its stdout (the DOM
 * with --dump-dom) into out_name, in a process group of its own.
 */
static void
browser_start(struct run *r, int i, const char *out_name,
    const char *url_or_null, int nojs, const char *opt1, const char *opt2)
{
	char	url[700], profile[700], outpath[600], errpath[600];
	char	name[64];
	int	fd;

	snprintf(url, sizeof(url), "%s", url_or_null);
	if (url_or_null == NULL)
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/", mport);
	snprintf(name, sizeof(name), "chromium-profile.%d", i);
	snprintf(r->profile, sizeof(r->profile), "%s", h_path(name));
	snprintf(profile, sizeof(profile), "--user-data-dir=%s", r->profile);
	if (nojs) {	/* the profile's setting, as a user would set it */
		ck_assert_int_eq(mkdir(r->profile, 0700), 0);
		snprintf(name, sizeof(name), "chromium-profile.%d/Default", i);
		ck_assert_int_eq(mkdir(h_path(name), 0700), 0);
		snprintf(name, sizeof(name), "chromium-profile.%d/Default/"
		    "Preferences", i);
		h_write(name, "{\"profile\": {\"default_content_setting_"
		    "values\": {\"javascript\": 2}}}\n");
	}
	snprintf(outpath, sizeof(outpath), "%s", h_path(out_name));
	snprintf(errpath, sizeof(errpath), "%s", h_path("chromium.stderr"));
	if ((r->pid = fork()) == 0) {	/* no h_path() here: another pid */
		setpgid(0, 0);
		fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, STDERR_FILENO);
		execlp("timeout", "timeout", "-s", "KILL", BROWSER_S,
		    "chromium", "--headless", "--no-sandbox", "--disable-gpu",
		    "--no-first-run", "--disable-extensions", "--mute-audio",
		    "--disable-background-networking", "--disable-sync",
		    "--disable-component-update", "--disable-dev-shm-usage",
		    profile, opt1, opt2 != NULL ? opt2 : url,
		    opt2 != NULL ? url : NULL, (char *)NULL);
		_exit(127);
	}
	r->status = -1;
	if (r->pid > 0)
		setpgid(r->pid, r->pid);	/* either of us may run first */
}

/*
 * Wait for the n runs (BROWSER_MS at most), then kill each one's process
 * group whatever happened: nothing of Chromium is left when this returns.
 * Each run must have exited 0.
 */
static void
browser_wait(struct run *r, size_t n)
{
	char		cmd[700];
	long long	waited;
	size_t		i, left = n;

	for (waited = 0; waited < BROWSER_MS && left > 0; waited += 20) {
		for (i = 0; i < n; i++)
			if (r[i].pid > 0 && r[i].status == -1 &&
			    waitpid(r[i].pid, &r[i].status, WNOHANG) ==
			    r[i].pid)
				left--;
		if (left > 0)
			poll(NULL, 0, 20);
	}
	for (i = 0; i < n; i++) {
		if (r[i].pid <= 0)
			continue;
		kill(-r[i].pid, SIGKILL);	/* what it left, or all */
		if (r[i].status == -1)
			waitpid(r[i].pid, &r[i].status, 0);
	}
	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r[i].profile);
		ck_assert_int_eq(system(cmd), 0);
	}
	ck_assert_msg(processes_with(h_path("chromium-profile")) == 0,
	    "a Chromium process outlived its group");
	ck_assert_msg(left == 0, "Chromium took more than %d ms", BROWSER_MS);
	for (i = 0; i < n; i++)
		ck_assert_msg(r[i].pid > 0 && WIFEXITED(r[i].status) &&
		    WEXITSTATUS(r[i].status) == 0, "Chromium run %zu: status "
		    "%d", i, r[i].status);
}

/* The last 1000 bytes of what Chromium said (Check's messages are short). */
static const char *
browser_said(void)
{
	char	*text = h_read_file(h_path("chromium.stderr"));
	size_t	 len = text != NULL ? strlen(text) : 0;

	return text == NULL ? "(nothing)" : len > 1000 ? text + len - 1000 :
	    text;
}

/* How many times s occurs in text between from and the next until. */
static int
count_in(const char *text, const char *from, const char *until,
    const char *s)
{
	const char	*p = strstr(text, from), *end;
	int		 n = 0;

	ck_assert_msg(p != NULL, "no %s in the page:\n%.1500s", from, text);
	ck_assert_ptr_nonnull(end = strstr(p, until));
	while ((p = strstr(p, s)) != NULL && p < end) {
		n++;
		p += strlen(s);
	}
	return n;
}

static void
assert_has(const char *dom, const char *s)
{
	const char	*body = strstr(dom, "<body");

	ck_assert_msg(strstr(dom, s) != NULL, "no \"%s\" in the DOM:\n%.1500s",
	    s, body != NULL ? body : dom);
}

/* What the page must show, as the browser built it. */
static void
check_dom(const char *name, int busy_port)
{
	char	*dom = h_read_file(h_path(name)), want[160];

	ck_assert_msg(dom != NULL && strstr(dom, "</html>") != NULL,
	    "%s: no DOM; Chromium said:\n%s", name, browser_said());
	/* the grid: one cell per child, the three of generation 1 */
	ck_assert_int_eq(count_in(dom, "id=\"children\"", "</div>",
	    "class=\"c "), 3);
	ck_assert_int_eq(count_in(dom, "id=\"children\"", "</div>",
	    " old\""), 0);
	assert_has(dom, "busy: 1</li>");
	/* the busy child: its peer and for how long */
	snprintf(want, sizeof(want), "<td>127.0.0.1</td><td class=\"n\">%d"
	    "</td><td class=\"n\">", busy_port);
	assert_has(dom, want);
	/* the chart, with the requests that were made */
	assert_has(dom, "<svg id=\"chart\"");
	assert_has(dom, "<polyline class=\"req\" points=\"");
	assert_has(dom, "<polyline class=\"err\" points=\"");
	assert_has(dom, "Last minute: 6 requests");
	assert_has(dom, "2 errors");
	/* the reloads: the refusal (its reason escaped) above the ok */
	assert_has(dom, "Since pfsd started: 1 ok, 1 refused, 0 rolled back.");
	assert_has(dom, "<td class=\"n\">1</td><td class=\"refused\">refused"
	    "</td><td class=\"why\">the new configuration did not pass the "
	    "check: ");
	assert_has(dom, "&lt;b&gt;bold&lt;/b&gt;");
	ck_assert_msg(strstr(dom, "<b>bold</b>") == NULL, "unescaped");
	ck_assert_msg(strstr(dom, "<td class=\"refused\">") <
	    strstr(dom, "<td class=\"ok\">ok</td>"), "newest first");
	free(dom);
}

/* Is the file a PNG of some substance? */
static void
check_png(const char *name)
{
	char	 buf[8];
	FILE	*f = fopen(h_path(name), "r");
	long	 size;

	ck_assert_msg(f != NULL, "no screenshot; Chromium said:\n%s",
	    browser_said());
	ck_assert_int_eq(fread(buf, 1, 8, f), 8);
	ck_assert(memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	ck_assert_int_gt(size, 5000);
}

/* The page as curl would get it: raw, with its headers; into page. */
static void
get_page(char *page, size_t len)
{
	ck_assert_int_gt(h_talk("127.0.0.1", mport, "GET / HTTP/1.0\r\n\r\n",
	    page, len), 0);
	ck_assert_msg(strncmp(page, "HTTP/1.0 200 OK\r\n", 17) == 0, "%.300s",
	    page);
}

/*
 * The pool after requests (one denied, one crash), a HUP, a refused HUP
 * whose reason has markup in it, and a client being served: Chromium
 * shows it all, the same with JavaScript off; a screenshot is taken.
 */
START_TEST(test_page_in_chromium)
{
	static char		 page[256 * 1024];
	struct hproc		 p;
	struct sockaddr_in	 me;
	socklen_t		 len = sizeof(me);
	struct run		 run[4];
	char			 shot[700], url[700], *raw;
	int			 i, fd;

	start(&p);
	h_served_denied_crash(port, 5);
	ck_assert(h_wait_log(&p, "killed by signal", 5000) == 0);

	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert(h_wait_log(&p, "serving (generation 1,", READY_MS) == 0);
	write_conf("max_servers <b>bold</b>\n");
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert(h_wait_log(&p, "the new configuration was refused",
	    READY_MS) == 0);
	/* generation 0's children have gone */
	ck_assert_int_eq(h_wait_children(p.pid, 3, 5000), 0);
	/* a client that has not sent its line yet: a busy child */
	ck_assert_int_ge(fd = h_connect_tcp("127.0.0.1", port), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	for (i = 0; i < 500; i++) {
		get_page(page, sizeof(page));
		if (strstr(page, "busy: 1</li>") != NULL)
			break;
		poll(NULL, 0, 10);
	}
	/* self-contained: nothing to fetch, nothing to run */
	ck_assert(strstr(page, "\r\nContent-Type: text/html; charset=utf-8"
	    "\r\n") != NULL);
	ck_assert(strstr(page, "\r\nContent-Security-Policy: default-src "
	    "'none'; style-src 'unsafe-inline'\r\n") != NULL);
	ck_assert(strstr(page, "<meta http-equiv=\"refresh\"") != NULL);
	ck_assert(strstr(page, "<script") == NULL &&
	    strstr(page, "src=") == NULL && strstr(page, "url(") == NULL &&
	    strstr(page, "@import") == NULL && strstr(page, "://") == NULL);

	/* four at once, for time: the page as a screenshot, its DOM with
	 * and without JavaScript, and proof that the latter ran none */
	snprintf(shot, sizeof(shot), "--screenshot=%s", h_path("page.png"));
	browser_start(&run[0], 0, "screenshot.out", NULL, 0, shot,
	    "--window-size=1000,1000");
	browser_start(&run[1], 1, "dom.html", NULL, 0, "--dump-dom", NULL);
	browser_start(&run[2], 2, "dom-nojs.html", NULL, 1, "--dump-dom",
	    NULL);
	snprintf(url, sizeof(url), "file://%s", h_write("js.html", "<p "
	    "id=\"x\">static</p><script>document.getElementById(\"x\")."
	    "textContent = \"script ran\"</script>\n"));
	browser_start(&run[3], 3, "js-nojs.html", url, 1, "--dump-dom", NULL);
	browser_wait(run, 4);
	check_png("page.png");
	check_dom("dom.html", ntohs(me.sin_port));
	check_dom("dom-nojs.html", ntohs(me.sin_port));
	raw = h_read_file(h_path("js-nojs.html"));
	ck_assert_msg(strstr(raw, "<p id=\"x\">static</p>") != NULL,
	    "JavaScript ran: %.500s", raw);
	free(raw);
	close(fd);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

/* The parent's voluntary context switches so far: its wake-ups. */
static long
wakeups(pid_t pid)
{
	char	 path[64], text[4096], *p;
	long	 n = -1;
	size_t	 len;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	if ((p = strstr(text, "\nvoluntary_ctxt_switches:")) != NULL)
		n = strtol(p + 25, NULL, 10);
	return n;
}

/*
 * The chart's sampling wakes the parent once a second only while
 * requests come in: once they stop, the parent sleeps through whole
 * seconds again (nothing else is due: check_for_dead is a minute).
 */
START_TEST(test_idle_parent_sleeps)
{
	static char	 page[65536];
	struct hproc	 p;
	char		 buf[64];
	long		 before, after;
	int		 i, quiet = 0;

	start(&p);
	write_conf("check_for_dead 60\n");
	ck_assert_int_eq(kill(p.pid, SIGHUP), 0);
	ck_assert(h_wait_log(&p, "serving (generation 1,", READY_MS) == 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(h_talk("127.0.0.1", port, "hello\n", buf,
		    sizeof(buf)), 6);
	get_page(page, sizeof(page));	/* it sees them: sampling is on */
	ck_assert(strstr(page, "Last minute: 3 requests") != NULL);
	for (i = 0; i < 4 && !quiet; i++) {
		before = wakeups(p.pid);
		poll(NULL, 0, 1300);
		after = wakeups(p.pid);
		ck_assert(before >= 0 && after >= before);
		quiet = after == before;
	}
	ck_assert_msg(quiet, "the idle parent still wakes up: %ld times in "
	    "1.3 s", after - before);
	ck_assert_int_eq(h_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

Suite *
statuspage_suite(void)
{
	Suite	*s = suite_create("statuspage");
	TCase	*tc;

	tc = tcase_create("chromium");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_page_in_chromium);
	suite_add_tcase(s, tc);

	tc = tcase_create("sampling");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_idle_parent_sleeps);
	suite_add_tcase(s, tc);
	return s;
}
