/*
 * statuspage.c - the status page for people, as Apache's mod_status:
 * `GET /` on metrics_listen answers one HTML page with the pool at a
 * glance -- the children as a grid coloured by state, what each busy
 * child serves and since when, requests and errors per second over the
 * last minutes (an inline SVG drawn from history.c's samples), and the
 * reloads.
 *
 * The page is self-contained and static: no script, no external style,
 * font or image (metrics_http.c sends a Content-Security-Policy that
 * forbids them), so it works with JavaScript off; a <meta> refresh
 * reloads it.  It is rendered into memory by the parent in one go, and
 * its size is bounded by construction: one cell per child (at most
 * SCOREBOARD_SLOTS), at most PAGE_BUSY_ROWS rows of busy children,
 * HISTORY_SECONDS chart points, HISTORY_RELOADS reloads.  Everything that
 * comes from outside (peers, handler names, reasons, the host name) is
 * HTML-escaped.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE_REFRESH_S	5
#define PAGE_BUSY_ROWS	200	/* busy children listed, at most */

/* The chart's geometry, in SVG user units. */
#define CHART_W		720
#define CHART_H		200
#define CHART_L		48	/* room for the y labels */
#define CHART_R		12
#define CHART_T		12
#define CHART_B		26	/* room for the x labels */

static const char *const result_text[RELOAD__COUNT] = {
	[RELOAD_OK] = "ok",
	[RELOAD_REFUSED] = "refused",
	[RELOAD_ROLLED_BACK] = "rolled back"
};

/* Text as HTML: markup characters as entities, controls as '?'. */
static void
html(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s,
			    f);
			break;
		}
	}
}

static void
html_time(FILE *f, long long t)
{
	time_t		tt = (time_t)t;
	struct tm	tm;
	char		buf[64];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, sizeof(buf), "%lld", t);
	fputs(buf, f);
}

static void
html_duration(FILE *f, long long s)
{
	if (s >= 86400)
		fprintf(f, "%lldd %02lldh %02lldm", s / 86400, s % 86400 / 3600,
		    s % 3600 / 60);
	else if (s >= 3600)
		fprintf(f, "%lldh %02lldm %02llds", s / 3600, s % 3600 / 60,
		    s % 60);
	else if (s >= 60)
		fprintf(f, "%lldm %02llds", s / 60, s % 60);
	else
		fprintf(f, "%llds", s);
}

static const char style[] =
	"body{font:14px/1.4 sans-serif;margin:1em 2em;color:#222;"
	"background:#fff}\n"
	"h1{font-size:1.4em;margin-bottom:.2em}"
	"h2{font-size:1.1em;margin:1.4em 0 .4em}\n"
	"p.summary{margin:.2em 0}\n"
	".grid{display:flex;flex-wrap:wrap;gap:3px;max-width:62em}\n"
	".c{display:inline-block;width:16px;height:16px;border-radius:3px;"
	"vertical-align:middle}\n"
	".starting{background:#9ecae1}.idle{background:#a1d99b}"
	".accepting{background:#31a354}.busy{background:#fd8d3c}"
	".retiring{background:#bdbdbd}.dequeue{background:#9e9ac8}"
	".free{background:#eee}\n"
	".old{outline:2px dashed #444;outline-offset:-2px}\n"
	"ul.legend{list-style:none;padding:0;margin:.6em 0}"
	"ul.legend li{display:inline-block;margin-right:1.2em}\n"
	"table{border-collapse:collapse}"
	"th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd;"
	"white-space:nowrap}td.n{text-align:right}"
	"td.why{white-space:normal}\n"
	"td.ok{color:#1b7837}td.refused{color:#b35806}"
	"td.rolled_back{color:#c51b7d}\n"
	"svg text{font:11px sans-serif;fill:#444}"
	".axis{stroke:#999;stroke-width:1}.gridline{stroke:#eee;stroke-width:1}"
	".req{fill:none;stroke:#3182bd;stroke-width:1.5}"
	".err{fill:none;stroke:#de2d26;stroke-width:1.5}"
	".kreq{color:#3182bd}.kerr{color:#de2d26}\n";

static void
write_head(const struct pfsd_server *srv, FILE *f)
{
	char	host[256];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"%d\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n"
	    "<title>pfsd on ", PAGE_REFRESH_S);
	html(f, host);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n"
	    "<h1>pfsd on ", style);
	html(f, host);
	fputs("</h1>\n", f);
}

/* The line under the title: who, since when, how much. */
static void
write_summary(const struct pfsd_server *srv, FILE *f, size_t busy)
{
	struct metrics	m;

	metrics_totals(srv, &m);
	fprintf(f, "<p class=\"summary\" id=\"summary\">pfsd %s, pid %ld, "
	    "generation %u serving for ", PACKAGE_VERSION, (long)getpid(),
	    srv->generation);
	html_duration(f, (now_ms() - srv->start_ms) / 1000);
	fputs(", handler ", f);
	html(f, srv->plugin.name != NULL ? srv->plugin.name : "?");
	fprintf(f, ". max_servers %ld, %zu children, %zu busy. %lu requests "
	    "ended, %lu errors.%s</p>\n", srv->max_servers, pool_size(),
	    busy, metrics_ended(&m), metrics_errors(&m), srv->stopping ?
	    " <strong>Stopping.</strong>" : "");
	fputs("<p class=\"summary\">Page made ", f);
	html_time(f, (long long)time(NULL));
	fprintf(f, "; it refreshes itself every %d seconds.</p>\n",
	    PAGE_REFRESH_S);
}

static int
child_state(const struct pool_entry *c)
{
	int	st;

	if (pool_slot(c) == NULL)
		return SLOT_FREE;
	st = pool_slot(c)->state;
	return st >= 0 && st < SLOT__COUNT ? st : SLOT_FREE;
}

/* One cell per child, coloured by state; the old generation outlined. */
static void
write_grid(const struct pfsd_server *srv, FILE *f)
{
	size_t			 count[SLOT__COUNT], old = 0, i;
	size_t			 it = 0;
	const struct pool_entry	*c;
	int			 st;

	memset(count, 0, sizeof(count));
	fprintf(f, "<h2>Children</h2>\n<div class=\"grid\" id=\"children\">");
	while ((c = pool_next(&it)) != NULL) {
		st = child_state(c);
		count[st]++;
		old += pool_kind(c) == CHILD_OLD;
		fprintf(f, "<span class=\"c %s%s\" title=\"pid %ld: %s%s\">"
		    "</span>", slot_state_name(st), pool_kind(c) == CHILD_OLD ?
		    " old" : "", (long)pool_pid(c), slot_state_name(st),
		    pool_kind(c) == CHILD_OLD ? ", previous generation" : "");
	}
	fputs("</div>\n<ul class=\"legend\" id=\"legend\">", f);
	for (i = 1; i < SLOT__COUNT; i++)
		fprintf(f, "<li><span class=\"c %s\"></span> %s: %zu</li>",
		    slot_state_name((int)i), slot_state_name((int)i), count[i]);
	fprintf(f, "<li><span class=\"c idle old\"></span> previous "
	    "generation: %zu</li></ul>\n", old);
}

/* The busy children: whom they serve, for how long. */
static void
write_busy(const struct pfsd_server *srv, FILE *f, size_t busy)
{
	const struct slot	*s;
	const struct pool_entry	*c;
	char			 peer[128];
	size_t			 it = 0, rows = 0;
	int			 port;
	long long		 now = now_ms();

	fputs("<h2>Requests being served</h2>\n", f);
	if (busy == 0) {
		fputs("<p id=\"busy\">No child is serving a request.</p>\n",
		    f);
		return;
	}
	fputs("<table id=\"busy\">\n<tr><th>pid</th><th>generation</th>"
	    "<th>peer</th><th>port</th><th>for</th><th>served</th>"
	    "<th>handler</th></tr>\n", f);
	while (rows < PAGE_BUSY_ROWS && (c = pool_next(&it)) != NULL) {
		if (child_state(c) != SLOT_BUSY)
			continue;
		s = pool_slot(c);
		scoreboard_peer(s, peer, sizeof(peer), &port);
		fprintf(f, "<tr><td class=\"n\">%ld</td><td class=\"n\">%u"
		    "</td><td>", (long)pool_pid(c), s->generation);
		html(f, peer);
		fprintf(f, "</td><td class=\"n\">%d</td><td class=\"n\">%lld "
		    "ms</td><td class=\"n\">%lu</td><td>", port,
		    s->req_start_ms > 0 ? now - s->req_start_ms : 0LL,
		    s->served);
		html(f, s->handler);
		fputs("</td></tr>\n", f);
		rows++;
	}
	fputs("</table>\n", f);
	if (busy > rows)
		fprintf(f, "<p>And %zu more.</p>\n", busy - rows);
}

/* 1, 2 or 5 times a power of ten, at least v. */
static unsigned long
nice_max(unsigned long v)
{
	unsigned long	p = 1;

	for (;;) {
		if (v <= p)
			return p;
		if (v <= 2 * p)
			return 2 * p;
		if (v <= 5 * p)
			return 5 * p;
		p *= 10;
	}
}

static void
polyline(FILE *f, const struct history_second *s, size_t n, int errors,
    unsigned long top)
{
	const double	w = CHART_W - CHART_L - CHART_R;
	const double	h = CHART_H - CHART_T - CHART_B;
	size_t		i;
	unsigned int	v;

	fprintf(f, "<polyline class=\"%s\" points=\"", errors ? "err" : "req");
	for (i = 0; i < n; i++) {
		v = errors ? s[i].errors : s[i].requests;
		fprintf(f, "%s%.1f,%.1f", i ? " " : "",
		    CHART_L + w * (double)i / (double)(n - 1),
		    CHART_T + h - h * (double)v / (double)top);
	}
	fputs("\"/>\n", f);
}

/* Requests and errors per second, the last HISTORY_SECONDS. */
static void
write_chart(const struct pfsd_server *srv, FILE *f)
{
	static struct history_second	 s[HISTORY_SECONDS];
	unsigned long			 peak = 0, top, req = 0, err = 0;
	size_t				 n, i;
	int				 y, x, min;

	n = history_seconds(srv, s, HISTORY_SECONDS);
	for (i = 0; i < n; i++) {
		if (s[i].requests > peak)
			peak = s[i].requests;
		if (s[i].errors > peak)
			peak = s[i].errors;
		if (i + 60 >= n) {
			req += s[i].requests;
			err += s[i].errors;
		}
	}
	top = nice_max(peak > 0 ? peak : 1);
	fprintf(f, "<h2>Requests and errors per second, last %d minutes</h2>\n"
	    "<svg id=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
	    " role=\"img\" aria-labelledby=\"chart-title\">\n"
	    "<title id=\"chart-title\">Requests (blue) and errors (red) per "
	    "second over the last %d minutes; peak %lu/s</title>\n",
	    HISTORY_SECONDS / 60, CHART_W, CHART_H, CHART_W, CHART_H,
	    HISTORY_SECONDS / 60, peak);
	for (i = 0; i <= 4; i++) {
		y = CHART_T + (CHART_H - CHART_T - CHART_B) * (int)i / 4;
		fprintf(f, "<line class=\"gridline\" x1=\"%d\" y1=\"%d\" "
		    "x2=\"%d\" y2=\"%d\"/><text x=\"%d\" y=\"%d\" "
		    "text-anchor=\"end\">%g</text>\n", CHART_L, y,
		    CHART_W - CHART_R, y, CHART_L - 6, y + 4,
		    (double)top * (double)(4 - i) / 4);
	}
	for (min = 0; min <= HISTORY_SECONDS / 60; min++) {
		x = CHART_L + (CHART_W - CHART_L - CHART_R) * min /
		    (HISTORY_SECONDS / 60);
		if (min == HISTORY_SECONDS / 60)
			fprintf(f, "<text x=\"%d\" y=\"%d\" "
			    "text-anchor=\"end\">now</text>\n", x,
			    CHART_H - 8);
		else
			fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\""
			    "middle\">-%d min</text>\n", x, CHART_H - 8,
			    HISTORY_SECONDS / 60 - min);
	}
	fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/>\n", CHART_L, CHART_H - CHART_B, CHART_W - CHART_R,
	    CHART_H - CHART_B);
	polyline(f, s, n, 0, top);
	polyline(f, s, n, 1, top);
	fprintf(f, "</svg>\n<p id=\"rates\">Last minute: %lu requests "
	    "(%.1f/s), %lu errors. Peak: %lu/s. "
	    "<span class=\"kreq\">&#9632;</span> requests, "
	    "<span class=\"kerr\">&#9632;</span> errors (denied "
	    "requests, children that crashed, timed out or were killed)."
	    "</p>\n", req, (double)req / 60, err, peak);
}

/* The reloads: how many of each, and the last ones with their reason. */
static void
write_reloads(FILE *f)
{
	const struct reload_event	*e;
	size_t				 i;

	fprintf(f, "<h2>Reloads</h2>\n<p id=\"reload-counts\">Since pfsd "
	    "started: %lu ok, %lu refused, %lu rolled back.</p>\n",
	    history_reloads(RELOAD_OK), history_reloads(RELOAD_REFUSED),
	    history_reloads(RELOAD_ROLLED_BACK));
	if (history_event(0) == NULL) {
		fputs("<p id=\"reloads\">No reload since pfsd started.</p>\n",
		    f);
		return;
	}
	fputs("<table id=\"reloads\">\n<tr><th>time</th><th>generation</th>"
	    "<th>result</th><th>reason</th></tr>\n", f);
	for (i = 0; (e = history_event(i)) != NULL; i++) {
		if (e->result < 0 || e->result >= RELOAD__COUNT)
			continue;
		fputs("<tr><td>", f);
		html_time(f, e->time);
		fprintf(f, "</td><td class=\"n\">%u</td><td class=\"%s\">%s"
		    "</td><td class=\"why\">", e->generation,
		    history_result_name(e->result), result_text[e->result]);
		html(f, e->reason[0] != '\0' ? e->reason : "-");
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* The whole page, into f. */
void
statuspage_render(const struct pfsd_server *srv, FILE *f)
{
	const struct pool_entry	*c;
	size_t			 busy = 0, it = 0;

	while ((c = pool_next(&it)) != NULL)
		busy += child_state(c) == SLOT_BUSY;
	write_head(srv, f);
	write_summary(srv, f, busy);
	write_grid(srv, f);
	write_busy(srv, f, busy);
	write_chart(srv, f);
	write_reloads(f);
	fputs("<p><a href=\"/metrics\">/metrics</a> (Prometheus)</p>\n"
	    "</body>\n</html>\n", f);
}
