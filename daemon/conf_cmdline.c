/*
 * conf_cmdline.c - the command line, the third front end of the
 * configuration: -c -t -T -h -V, "status", and every key as --key=value,
 * --key value or --flag.  Its settings go through conf_set() like a
 * file's, at CONF_CMDLINE, so they win over the file's.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void
conf_cl_add(struct cmdline *cl, const char *key, size_t keylen,
    const char *value)
{
	cl->keys = conf_reallocarray(cl->keys, cl->n + 1, sizeof *cl->keys);
	cl->values = conf_reallocarray(cl->values, cl->n + 1,
	    sizeof *cl->values);
	if ((cl->keys[cl->n] = strndup(key, keylen)) == NULL)
		fatal("%s: strndup", __func__);
	cl->values[cl->n] = value != NULL ? conf_strdup(value) : NULL;
	cl->n++;
}

/* --key=value, --key value, --flag; returns the last argv index used. */
static int
conf_cl_long(struct conf *c, int argc, char **argv, int i,
    struct cmdline *cl)
{
	const char	*arg = argv[i] + 2, *eq;
	int		 id;

	if (strcmp(arg, "help") == 0)
		cl->action = CMD_HELP;
	else if (strcmp(arg, "version") == 0)
		cl->action = CMD_VERSION;
	else if (strcmp(arg, "json") == 0)
		cl->format = STATUS_JSON;
	else if (strcmp(arg, "metrics") == 0)
		cl->format = STATUS_METRICS;
	else if (strcmp(arg, "watch") == 0)
		cl->format = STATUS_WATCH;
	else if (*arg == '\0')
		conf_error(c, CONF_CMDLINE_FILE, 0, NULL, "\"--\": unexpected "
		    "argument");
	else if ((eq = strchr(arg, '=')) != NULL)
		conf_cl_add(cl, arg, (size_t)(eq - arg), eq + 1);
	else {
		/* A flag never takes the next word: --background status. */
		id = conf_find(arg);
		if ((id == -1 || conf_options[id].type != OPT_T_FLAG) &&
		    i + 1 < argc && argv[i + 1][0] != '-')
			conf_cl_add(cl, arg, strlen(arg), argv[++i]);
		else
			conf_cl_add(cl, arg, strlen(arg), NULL);
	}
	return i;
}

/* -t -T -h -V -c FILE, also bundled (-tc FILE, -cFILE). */
static int
conf_cl_short(struct conf *c, int argc, char **argv, int i,
    struct cmdline *cl)
{
	static const char		 letters[] = "tThV";
	static const enum cmd_action	 actions[] = {
		CMD_CHECK, CMD_PRINT, CMD_HELP, CMD_VERSION
	};
	const char			*s, *l;

	for (s = argv[i] + 1; *s != '\0'; s++) {
		if ((l = strchr(letters, *s)) != NULL) {
			cl->action = actions[l - letters];
			continue;
		}
		switch (*s) {
		case 'c':
			if (s[1] != '\0')
				conf_cl_add(cl, "conf_file", 9, s + 1);
			else if (i + 1 < argc)
				conf_cl_add(cl, "conf_file", 9, argv[++i]);
			else
				conf_error(c, CONF_CMDLINE_FILE, 0, "-c",
				    "needs a file name");
			return i;
		default:
			conf_error(c, CONF_CMDLINE_FILE, 0, NULL,
			    "-%c: unknown option (see --help)", *s);
			return i;
		}
	}
	return i;
}

/*
 * A word that belongs to nothing.  After a flag it was meant as its
 * value ("--background no"): say that flags take none, and how to unset.
 */
static void
conf_cl_unexpected(struct conf *c, char **argv, int i)
{
	const char	*prev = i > 1 ? argv[i - 1] : "";
	int		 id = -1;

	if (strncmp(prev, "--", 2) == 0 && strchr(prev, '=') == NULL)
		id = conf_find(prev + 2);
	if (id != -1 && conf_options[id].type == OPT_T_FLAG)
		conf_error(c, CONF_CMDLINE_FILE, 0, NULL, "\"%s\": unexpected "
		    "argument (%s is a flag and takes no value: write %s=%s, "
		    "or %s alone to set it)", argv[i], prev, prev, argv[i],
		    prev);
	else
		conf_error(c, CONF_CMDLINE_FILE, 0, NULL,
		    "\"%s\": unexpected argument", argv[i]);
}

/* Split argv into an action and settings (in order) for conf_load. */
int
conf_cmdline_parse(struct conf *c, int argc, char **argv, struct cmdline *cl)
{
	size_t	before = c->nerrors;
	int	i, words = 0;

	memset(cl, 0, sizeof *cl);
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0)
			i = conf_cl_long(c, argc, argv, i, cl);
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			i = conf_cl_short(c, argc, argv, i, cl);
		else if (words++ == 0 && strcmp(argv[i], "status") == 0)
			cl->action = CMD_STATUS;
		else
			conf_cl_unexpected(c, argv, i);
	}
	if (cl->format != STATUS_TEXT && cl->action != CMD_STATUS)
		conf_error(c, CONF_CMDLINE_FILE, 0, cl->format == STATUS_JSON ?
		    "--json" : cl->format == STATUS_METRICS ? "--metrics" :
		    "--watch", "only with \"status\"");
	return c->nerrors == before ? 0 : -1;
}

void
conf_cmdline_free(struct cmdline *cl)
{
	conf_strings_free(cl->keys, cl->n);
	conf_strings_free(cl->values, cl->n);
	memset(cl, 0, sizeof *cl);
}

static const char *conf_instead;

/* A HUP's rollback: read path, the saved configuration, not the file. */
void
conf_load_instead(const char *path)
{
	conf_instead = path;
}

/*
 * The command line, then the file it names, then the command line's
 * settings over the file's; 0 if nothing at all was wrong.  --version
 * needs no configuration; status and --help need no handler.
 */
int
conf_load(struct conf *c, int argc, char **argv, struct cmdline *cl)
{
	const char	*file = NULL;
	size_t		 i;

	conf_cmdline_parse(c, argc, argv, cl);
	if (cl->action == CMD_VERSION)
		return c->nerrors == 0 ? 0 : -1;
	for (i = 0; i < cl->n; i++) {
		if (conf_find(cl->keys[i]) == OPT_CONF_FILE &&
		    cl->values[i] != NULL && *cl->values[i] != '\0')
			file = cl->values[i];
	}
	if (conf_instead != NULL)
		file = conf_instead;
	if (file != NULL)
		conf_load_file(c, file);
	for (i = 0; i < cl->n; i++)
		conf_set(c, cl->keys[i], cl->values[i], CONF_CMDLINE,
		    CONF_CMDLINE_FILE, 0);
	/* --help -c FILE lists the handler's options, if FILE names one */
	/* a file that could not be parsed has said why; "required" would
	 * only follow from that */
	if (cl->action != CMD_STATUS && cl->action != CMD_HELP &&
	    !c->unparsed && conf_str(c, OPT_HANDLER) == NULL) {
		if (file != NULL)
			conf_error(c, file, 0, "handler",
			    "required, e.g. \"handler echo\"");
		else
			conf_error(c, CONF_CMDLINE_FILE, 0, "handler",
			    "required, e.g. \"--handler echo\"");
	}
	return c->nerrors == 0 ? 0 : -1;
}
