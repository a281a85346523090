/*
 * hooks.c - the handler hooks that pfsd's modules reach through one call:
 * logging and fatal errors (log.c knows nothing of handlers), the close
 * hooks (run once per process, whichever way it ends), and the end of a
 * child as the parent sees it.
 */
#include "internal.h"

static struct pfsd_server *hsrv;

static int
hooks_log_line(int level, const char *msg)
{
	return hsrv->plugin.write_to_log_hook(hsrv, level, msg);
}

static void
hooks_fatal(const char *msg)
{
	hsrv->plugin.fatal_hook(hsrv, msg);
}

/* Route log lines and fatal errors to the handler, if it asks for them. */
void
hooks_install(struct pfsd_server *srv)
{
	hsrv = srv;
	log_set_hooks(srv->plugin.write_to_log_hook != NULL ?
	    hooks_log_line : NULL, srv->plugin.fatal_hook != NULL ?
	    hooks_fatal : NULL);
}

/*
 * pre_server_close_hook, once: when a stop begins (the children still
 * run, as in Net::Server) or before a HUP re-exec.
 */
void
hooks_server_close(struct pfsd_server *srv)
{
	if (srv->closing)
		return;
	srv->closing = 1;
	if (srv->plugin.pre_server_close_hook != NULL)
		srv->plugin.pre_server_close_hook(srv);
}

/* Just before a HUP re-exec: Net::Server's server_close, then exec. */
void
hooks_restart_close(struct pfsd_server *srv)
{
	hooks_server_close(srv);
	if (srv->plugin.restart_close_hook != NULL)
		srv->plugin.restart_close_hook(srv);
}

/*
 * A process the parent reaped: one of its children (delete_child_hook;
 * status -1 when check_for_dead found it gone) or another one
 * (other_child_died_hook).
 */
void
hooks_child_gone(struct pfsd_server *srv, pid_t pid, int status, int ours)
{
	if (ours && srv->plugin.delete_child_hook != NULL)
		srv->plugin.delete_child_hook(srv, pid, status);
	else if (!ours && srv->plugin.other_child_died_hook != NULL)
		srv->plugin.other_child_died_hook(srv, pid, status);
}
