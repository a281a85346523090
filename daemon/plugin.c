/*
 * plugin.c - loading a handler: find its .so (plugin_path), dlopen it,
 * check its PFSD_PLUGIN() descriptor against the ABI this pfsd speaks,
 * and look every hook up once, so that the engine pays one NULL test for
 * a hook the handler does not define.
 */
#include "internal.h"

#include <sys/mman.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Every hook of pfsd-plugin(3), in the order of the members of
 * struct plugin.
 * One list gives both the names (exported for the docs test) and the
 * offsets plugin_load fills, so the two cannot drift apart.
 */
#define PLUGIN_HOOKS(X)				\
	X(process_request, 0)			\
	X(post_configure_hook, 0)		\
	X(post_bind_hook, 0)			\
	X(pre_loop_hook, 0)			\
	X(run_n_children_hook, 0)		\
	X(child_init_hook, 0)			\
	X(post_accept_hook, 0)			\
	X(allow_deny_hook, 0)			\
	X(request_denied_hook, 0)		\
	X(post_process_request_hook, 0)		\
	X(post_client_connection_hook, 0)	\
	X(child_finish_hook, 0)			\
	X(run_dequeue, 0)			\
	X(idle_loop_hook, 0)			\
	X(pre_server_close_hook, 0)		\
	X(configure_hook, 1)			\
	X(pre_fork_hook, 1)			\
	X(register_child, 1)			\
	X(delete_child_hook, 1)			\
	X(other_child_died_hook, 1)		\
	X(restart_open_hook, 1)			\
	X(restart_close_hook, 1)		\
	X(fatal_hook, 1)			\
	X(write_to_log_hook, 1)

#define PLUGIN_HOOK_NAME(h, m)		#h,
#define PLUGIN_HOOK_OFFSET(h, m)	offsetof(struct plugin, h),
#define PLUGIN_HOOK_MINOR(h, m)		m,

const char *const plugin_hook_names[] = { PLUGIN_HOOKS(PLUGIN_HOOK_NAME) };
const size_t plugin_nhooks = nitems(plugin_hook_names);

/*
 * The ABI minor each hook came with: a handler built for an older minor
 * may have a function of that name that is not the hook (it was no hook
 * when it was written), so it is not looked up.
 */
const unsigned int plugin_hook_minors[] = { PLUGIN_HOOKS(PLUGIN_HOOK_MINOR) };

static const size_t plugin_hook_offsets[] = {
	PLUGIN_HOOKS(PLUGIN_HOOK_OFFSET)
};

/* A hook added to struct plugin but not to PLUGIN_HOOKS breaks the build. */
_Static_assert(sizeof(struct plugin) - offsetof(struct plugin,
    process_request) == nitems(plugin_hook_names) * sizeof(void (*)(void)),
    "PLUGIN_HOOKS must list every hook member of struct plugin");

/* Where the handler's file is: plugin_dir/NAME.so, or a path as given. */
static int
plugin_build_path(const struct conf *c, const char *h, char *buf, size_t len)
{
	const char	*dir, *sep, *ext;
	size_t		 n;
	int		 r;

	if (strchr(h, '/') != NULL)
		r = snprintf(buf, len, "%s", h);
	else {
		dir = conf_str(c, OPT_PLUGIN_DIR);
		if (dir == NULL || *dir == '\0')
			dir = paths_plugin_dir();
		n = strlen(dir);
		sep = n > 0 && dir[n - 1] == '/' ? "" : "/";
		/* "handler echo.so" means what the user obviously meant */
		n = strlen(h);
		ext = n > 3 && strcmp(h + n - 3, ".so") == 0 ? "" : ".so";
		r = snprintf(buf, len, "%s%s%s%s", dir, sep, h, ext);
	}
	if (r < 0 || (size_t)r >= len)
		return -1;
	return 0;
}

/*
 * The file the handler option names, made absolute when it exists so that
 * a later chdir("/") does not lose it.  -1 if unset or it does not fit.
 */
int
plugin_path(const struct conf *c, char *buf, size_t len)
{
	const char	*h;
	char		 abs[PATH_MAX];

	h = conf_str(c, OPT_HANDLER);
	if (h == NULL || *h == '\0')
		return -1;
	if (plugin_build_path(c, h, buf, len) == -1)
		return -1;
	/* a missing file keeps its name as given: dlopen will say why */
	if (realpath(buf, abs) != NULL) {
		if (strlen(abs) >= len)
			return -1;
		strcpy(buf, abs);
	}
	return 0;
}

/* "cannot load PATH: why", without the file name dlerror() repeats. */
static void
plugin_dlerror(const char *path, const char *opened, char *err,
    size_t errlen)
{
	const char	*msg;
	size_t		 n;

	if ((msg = dlerror()) == NULL)
		msg = "unknown dynamic loader error";
	n = strlen(opened);
	if (strncmp(msg, opened, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
		msg += n + 2;
	snprintf(err, errlen, "cannot load %s: %s", path, msg);
}

/*
 * Load a private copy of the .so (a memfd), not the file itself: the
 * user may `cp new.so plugins/` over it while children run it, and a
 * file rewritten in place under a mapping kills them with SIGBUS.  The
 * copy stays open: a HUP hands it to the new image, which rolls back to
 * it if its own handler fails.  Returns the fd of the copy (name in
 * buf), or -1 to dlopen the file.
 */
static int	plugin_instead = -1;

/* A HUP's rollback: load the handler copy saved in fd, not the file. */
void
plugin_load_instead(int fd)
{
	plugin_instead = fd;
}

static int
plugin_snapshot(const char *path, char *buf, size_t len)
{
	char	data[65536];
	ssize_t	n;
	int	in, out;

	if (plugin_instead != -1)
		in = dup(plugin_instead);
	else
		in = open(path, O_RDONLY | O_CLOEXEC);
	if (in == -1 || lseek(in, 0, SEEK_SET) == -1) {
		if (in != -1)
			close(in);
		return -1;
	}
	if ((out = memfd_create("pfsd-handler", MFD_CLOEXEC)) == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, data, sizeof(data))) > 0)
		if (write(out, data, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (n < 0) {
		close(out);
		return -1;
	}
	snprintf(buf, len, "/proc/self/fd/%d", out);
	return out;
}

/* Major must match; a newer minor may call functions we do not have. */
static int
plugin_check_abi(const struct pfsd_plugin *d, const char *path, char *err,
    size_t errlen)
{
	const unsigned int	 major = PFSD_ABI_MAJOR, minor = PFSD_ABI_MINOR;

	if (d->abi_major != major) {
		snprintf(err, errlen, "%s: built for pfsd ABI %u.%u, this pfsd "
		    "speaks %u.%u: rebuild it against this pfsd.h", path,
		    d->abi_major, d->abi_minor, major, minor);
		return -1;
	}
	if (d->abi_minor > minor) {
		snprintf(err, errlen, "%s: built for pfsd ABI %u.%u, newer "
		    "than this pfsd's %u.%u: upgrade pfsd or rebuild", path,
		    d->abi_major, d->abi_minor, major, minor);
		return -1;
	}
	return 0;
}

/* Fill every hook member; a hook the handler lacks stays NULL. */
static void
plugin_find_hooks(struct plugin *p, unsigned int minor)
{
	void	*sym;
	size_t	 i;

	for (i = 0; i < plugin_nhooks; i++) {
		if (plugin_hook_minors[i] > minor)
			continue;
		sym = dlsym(p->handle, plugin_hook_names[i]);
		/* POSIX: a data pointer from dlsym converts to a function's */
		memcpy((char *)p + plugin_hook_offsets[i], &sym, sizeof sym);
	}
}

/* PFSD_OPT_* in the order of enum pfsd_option_kind. */
static const struct {
	enum opt_type	type;
	int		list;
} plugin_kinds[] = {
	[PFSD_OPT_STRING] = { OPT_T_STR, 0 },
	[PFSD_OPT_NUMBER] = { OPT_T_INT, 0 },
	[PFSD_OPT_BOOLEAN] = { OPT_T_FLAG, 0 },
	[PFSD_OPT_LIST] = { OPT_T_STR, 1 },
	[PFSD_OPT_ENUM] = { OPT_T_ENUM, 0 },
	[PFSD_OPT_PATH] = { OPT_T_PATH, 0 },
};

/*
 * The options the descriptor declares, in pfsd's own option_def form.  A
 * 1.0 descriptor ends before its options member: never read it there.
 */
static int
plugin_options(struct plugin *p, const struct pfsd_plugin *d,
    const char *path, char *err, size_t errlen)
{
	const struct pfsd_option_def	*po;
	struct option_def		*o;
	size_t				 i, n;

	if (d->abi_minor < 1 || d->options == NULL)
		return 0;
	p->declares = 1;
	for (n = 0; d->options[n].name != NULL; n++)
		;
	if (n == 0)
		return 0;
	if ((p->opts = calloc(n, sizeof *p->opts)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		po = &d->options[i];
		o = &p->opts[i];
		if ((unsigned int)po->kind >= nitems(plugin_kinds)) {
			snprintf(err, errlen, "%s: option \"%s\": unknown kind "
			    "%d", path, po->name, (int)po->kind);
			return -1;
		}
		o->name = po->name;
		o->type = plugin_kinds[po->kind].type;
		o->list = plugin_kinds[po->kind].list;
		o->def = po->def;
		o->min = po->min;
		o->max = po->max;
		if (o->type == OPT_T_INT && o->min == 0 && o->max == 0) {
			o->min = LONG_MIN;
			o->max = LONG_MAX;
		}
		o->choices = po->choices;
		o->help = po->help != NULL ? po->help : "";
	}
	p->nopts = n;
	return 0;
}

/* Check the descriptor and the hooks of the opened p->handle. */
static int
plugin_check(struct plugin *p, const char *path, char *err, size_t errlen)
{
	const struct pfsd_plugin	*d;
	const char			*base;

	d = dlsym(p->handle, PFSD_PLUGIN_SYMBOL);
	if (d == NULL) {
		snprintf(err, errlen, "%s: not a pfsd handler: no PFSD_PLUGIN()"
		    " descriptor (symbol %s)", path, PFSD_PLUGIN_SYMBOL);
		return -1;
	}
	if (plugin_check_abi(d, path, err, errlen) == -1 ||
	    plugin_options(p, d, path, err, errlen) == -1)
		return -1;
	plugin_find_hooks(p, d->abi_minor);
	if (p->process_request == NULL) {
		snprintf(err, errlen, "%s: no process_request function (if "
		    "it defines one, it is not exported: mark it PFSD_EXPORT, "
		    "or build without -fvisibility=hidden)", path);
		return -1;
	}
	if ((p->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	base = strrchr(p->path, '/');
	p->name = d->name != NULL && *d->name != '\0' ? d->name :
	    base != NULL ? base + 1 : p->path;
	p->abi_major = d->abi_major;
	p->abi_minor = d->abi_minor;
	return 0;
}

/*
 * Load the handler at path (which should contain a '/', or dlopen searches
 * the library path) into p; on failure p is left empty and err says why.
 */
int
plugin_load(struct plugin *p, const char *path, char *err, size_t errlen)
{
	char	copy[64];
	int	fd;

	memset(p, 0, sizeof *p);
	p->fd = -1;
	if ((fd = plugin_snapshot(path, copy, sizeof(copy))) == -1)
		snprintf(copy, sizeof(copy), "%.63s", path);
	/* RTLD_NOW: an unresolved symbol is an error now, not a crash later */
	p->handle = dlopen(fd == -1 ? path : copy, RTLD_NOW | RTLD_LOCAL);
	if (p->handle == NULL) {
		plugin_dlerror(path, fd == -1 ? path : copy, err, errlen);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (plugin_check(p, path, err, errlen) == -1) {
		if (fd != -1)
			close(fd);
		plugin_unload(p);
		return -1;
	}
	p->fd = fd;
	return 0;
}

/* Close the handler and forget it; harmless on an empty p. */
void
plugin_unload(struct plugin *p)
{
	if (p->handle != NULL)
		dlclose(p->handle);
	if (p->fd > 0)
		close(p->fd);
	free(p->path);
	free(p->opts);
	memset(p, 0, sizeof *p);
	p->fd = -1;
}

/*
 * Configuration phase: load the handler the configuration names, or record
 * "FILE:LINE: handler: problem" against the line that set it.  An unset
 * handler is conf_load's error ("required"), not reported twice here.
 */
int
plugin_configure(struct conf *c, struct plugin *p)
{
	const struct conf_value	*v;
	char			 path[PATH_MAX], err[PATH_MAX + ERRBUF_SIZE];

	v = conf_value_at(c, OPT_HANDLER, 0);
	if (v == NULL || v->str == NULL || *v->str == '\0')
		return -1;	/* conf_set refuses an empty value */
	if (plugin_path(c, path, sizeof path) == -1) {
		conf_error(c, v->file, v->line, "handler", "%s: path too long",
		    v->str);
		return -1;
	}
	if (plugin_load(p, path, err, sizeof err) == -1) {
		conf_error(c, v->file, v->line, "handler", "%s", err);
		return -1;
	}
	if (p->declares)
		return conf_declare(c, p->opts, p->nopts, v, p->path);
	return 0;
}
