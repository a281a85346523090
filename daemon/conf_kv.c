/*
 * conf_kv.c - the key/value configuration format ("key value", "key =
 * value" or "key: value" per line, '#' comments) and reading a
 * configuration file, key/value or YAML by its name.  Every setting goes
 * through conf_set() (conf.c).
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONF_SHOW_MAX	80	/* bytes of a bad line quoted back */

static char *
conf_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Cut the comment off: '#' starts one, "\#" is a literal '#'. */
static void
conf_kv_uncomment(char *s)
{
	char	*w = s;

	for (; *s != '\0' && *s != '#'; s++) {
		if (s[0] == '\\' && s[1] == '#')
			s++;
		*w++ = *s;
	}
	*w = '\0';
}

/*
 * A separator after the key: '=', or ':' followed by a blank.  A ':' that
 * is followed by anything else belongs to the value (host ::1).
 */
int
conf_kv_sep(const char *s)
{
	return *s == '=' || (*s == ':' && (s[1] == '\0' || isblank(
	    (unsigned char)s[1])));
}

/* Split at P, just after the key; *value is NULL for a key alone. */
static int
conf_kv_split(char *p, char **value)
{
	char	*v = p;

	*value = NULL;
	if (*v == '\0')
		return 0;
	if (!isblank((unsigned char)*v) && !conf_kv_sep(v))
		return -1;
	v += strspn(v, " \t");
	if (conf_kv_sep(v))
		v++;
	*p = '\0';
	v = conf_trim(v);
	if (*v != '\0')
		*value = v;
	return 0;
}

static void
conf_kv_line(struct conf *c, const char *file, int lineno, char *line)
{
	char	*key, *end, *value;

	conf_kv_uncomment(line);
	key = conf_trim(line);
	if (*key == '\0')
		return;
	/* Net::Server takes "--key value" in a file too. */
	if (strncmp(key, "--", 2) == 0 && key[2] != '-')
		key += 2;
	end = key + conf_key_span(key);
	if (end == key || conf_kv_split(end, &value) == -1) {
		conf_error(c, file, lineno, NULL, "not a \"key value\" line: "
		    "\"%.*s%s\"", CONF_SHOW_MAX, key,
		    strlen(key) > CONF_SHOW_MAX ? "..." : "");
		return;
	}
	conf_set(c, key, value, CONF_FILE, file, lineno);
}

/* Parse TEXT in the key/value format; -1 if it added errors. */
int
conf_parse_kv(struct conf *c, const char *file, const char *text)
{
	const char	*p = text, *nl;
	char		*line;
	size_t		 len, before = c->nerrors;
	int		 lineno = 0;

	if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* a UTF-8 byte order mark */
	while (*p != '\0') {
		lineno++;
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if ((line = strndup(p, len)) == NULL)
			fatal("%s: strndup", __func__);
		conf_kv_line(c, file, lineno, line);
		free(line);
		p += len + (nl != NULL);
	}
	return c->nerrors == before ? 0 : -1;
}

/* The whole of PATH, NUL-terminated; NULL with errno set on failure. */
static char *
conf_read(const char *path, size_t *lenp)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	do {
		if (cap - len < 2) {
			cap = cap == 0 ? 4096 : cap * 2;
			buf = conf_reallocarray(buf, cap, 1);
		}
		if ((n = read(fd, buf + len, cap - len - 1)) > 0)
			len += (size_t)n;
	} while (n > 0 || (n == -1 && errno == EINTR));
	saved = errno;
	close(fd);
	if (n == -1) {
		free(buf);
		errno = saved;
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int
conf_is_yaml(const char *path)
{
	const char	*dot = strrchr(path, '.');

	return dot != NULL && (strcasecmp(dot, ".yaml") == 0 ||
	    strcasecmp(dot, ".yml") == 0);
}

/* Read PATH, YAML for .yaml/.yml, key/value otherwise; -1 on errors. */
int
conf_load_file(struct conf *c, const char *path)
{
	char	*text;
	size_t	 len, before = c->nerrors;

	if ((text = conf_read(path, &len)) == NULL) {
		conf_error(c, path, 0, NULL, "cannot read: %s",
		    strerror(errno));
		c->unparsed = 1;
		return -1;
	}
	if (conf_is_yaml(path)) {
		if (conf_parse_yaml(c, path, text, len) == -2)
			c->unparsed = 1;
	} else if (memchr(text, '\0', len) != NULL) {
		conf_error(c, path, 0, NULL, "contains a NUL byte, "
		    "not a configuration file");
		c->unparsed = 1;
	} else
		conf_parse_kv(c, path, text);
	free(text);
	return c->nerrors == before ? 0 : -1;
}
