/*
 * paths.c - compiled twice: once with the build tree's plugins/ (for
 * daemon/pfsd, run from the checkout) and once with the installed
 * $libdir/pfsd/plugins (for the binary make install copies).  Also where
 * a file's path leads once pfsd is chrooted.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#ifndef PFSD_PLUGIN_DIR
#error "PFSD_PLUGIN_DIR must be defined by the Makefile"
#endif
#ifndef PFSD_CONF_DEFAULT
#error "PFSD_CONF_DEFAULT must be defined by the Makefile"
#endif

const char *
paths_plugin_dir(void)
{
	return PFSD_PLUGIN_DIR;
}

/* The configuration `pfsd status` reads when given none: $PFSD_CONF, or
 * where make install puts it. */
const char *
paths_conf_default(void)
{
	const char	*env = getenv("PFSD_CONF");

	return env != NULL && *env != '\0' ? env : PFSD_CONF_DEFAULT;
}

/*
 * PATH (absolute) as seen from inside a chroot to ROOT: the part after
 * ROOT, or NULL when PATH is not a plain path under ROOT ("." and ".."
 * components are refused: inside the jail they would lead elsewhere).
 * Nothing is kept open across the chroot for the files pfsd reopens or
 * removes there: a directory descriptor from outside would let code in
 * the jail out of it.
 */
const char *
paths_in_jail(const char *root, const char *path)
{
	size_t		 n = strlen(root);
	const char	*p, *rest;

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1 && root[0] == '/')
		rest = path;
	else if (strncmp(path, root, n) == 0 && path[n] == '/')
		rest = path + n;
	else
		return NULL;
	for (p = rest; *p != '\0'; p += strcspn(p, "/")) {
		p += strspn(p, "/");
		if ((p[0] == '.' && (p[1] == '/' || p[1] == '\0')) ||
		    (p[0] == '.' && p[1] == '.' && (p[2] == '/' ||
		    p[2] == '\0')))
			return NULL;
	}
	return rest[0] == '/' && rest[1] != '\0' ? rest : NULL;
}

static const char	*jail_root;	/* set once chrooted */

void
paths_set_jail(const char *root)
{
	jail_root = root;
}

/*
 * Where PATH, named before the chroot, is now: itself if not jailed,
 * NULL if out of reach (outside the jail).
 */
const char *
paths_here(const char *path)
{
	if (jail_root == NULL || path == NULL)
		return path;
	return paths_in_jail(jail_root, path);
}
