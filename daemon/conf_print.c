/*
 * conf_print.c - the configuration as text: -T (the effective
 * configuration, which reads back to the same), what a HUP saves for a
 * rollback, --help from the option table, and "did you mean" for a key
 * nobody knows.
 */
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CONF_NEAR	2	/* edit distance still worth a suggestion */
#define CONF_HELP_COL	26	/* --help: where the explanation starts */
#define CONF_WIDTH	79	/* --help: where lines are wrapped */

/* Edit distance, case-insensitive, '-' as '_'; B is a table name. */
static int
conf_distance(const char *a, const char *b)
{
	int	row[CONF_NAME_MAX + 1], diag, up, best;
	size_t	i, j, lb = strlen(b);

	for (j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (i = 1; a[i - 1] != '\0'; i++) {
		diag = row[0];
		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (tolower(conf_keych(a[i - 1])) != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * The name in DEFS closest to KEY if closer than *bestd (then lowered to
 * its distance), else NULL.
 */
static const char *
conf_suggest_in(const char *key, const struct option_def *defs, size_t n,
    int *bestd)
{
	const char	*best = NULL;
	size_t		 i;
	int		 d;

	for (i = 0; i < n; i++) {
		d = conf_distance(key, defs[i].name);
		if (d < *bestd) {
			*bestd = d;
			best = defs[i].name;
		}
	}
	return best;
}

/*
 * The known key closest to KEY, if close enough to be a typo: one edit
 * in a short key, two in a longer one ("shout" is not "host").  *builtin
 * says whether it is pfsd's own key or the handler's.
 */
const char *
conf_suggest(const struct conf *c, const char *key, int *builtin)
{
	const char	*best, *h;
	size_t		 len = strlen(key);
	int		 bestd;

	*builtin = 0;
	if (len > CONF_NAME_MAX)
		return NULL;
	bestd = (int)len / 3;
	if (bestd < 1)
		bestd = 1;
	if (bestd > CONF_NEAR)
		bestd = CONF_NEAR;
	bestd++;		/* the first distance that is too far */
	if ((best = conf_suggest_in(key, conf_options, OPT__COUNT, &bestd)))
		*builtin = 1;
	if ((h = conf_suggest_in(key, c->hopts, c->nhopts, &bestd)) != NULL) {
		best = h;
		*builtin = 0;
	}
	return best;
}

/*
 * One "key value" line that reads back: '#' escaped, and a value that
 * starts like a separator ("= x", ": x") put after an explicit '='.
 */
static void
conf_print_value(FILE *fp, const char *key, const struct conf_value *v)
{
	const char	*s;

	fprintf(fp, "%s %s", key, conf_kv_sep(v->str) ? "= " : "");
	for (s = v->str; *s != '\0'; s++) {
		if (*s == '#')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('\n', fp);
}

/*
 * -T: every key with a value, in table order, then the handler's options
 * in the order it declares them, then keys nobody declares.  The
 * listen module prints the resolved port lines; conf_file is not a
 * setting of the server.
 */
void
conf_print(const struct conf *c, FILE *fp)
{
	const struct conf_item	*item;
	size_t			 i, k;

	for (i = 0; i < OPT__COUNT; i++) {
		if (i == OPT_PORT || i == OPT_CONF_FILE)
			continue;
		item = &c->opt[i];
		for (k = 0; k < item->n; k++)
			conf_print_value(fp, conf_options[i].name,
			    &item->v[k]);
	}
	for (i = 0; i < c->nhopts; i++) {
		if ((item = conf_extra_find(c, c->hopts[i].name)) == NULL)
			continue;
		for (k = 0; k < item->n; k++)
			conf_print_value(fp, c->hopts[i].name, &item->v[k]);
	}
	for (i = 0; i < c->nextra; i++) {
		if (conf_hopt_find(c, c->extra[i].key) != NULL)
			continue;
		item = &c->extra[i].item;
		for (k = 0; k < item->n; k++)
			conf_print_value(fp, c->extra[i].key, &item->v[k]);
	}
}

/*
 * What a HUP saves for a rollback: every setting not left at its
 * default, ports included, as text conf_load_file reads back.
 */
void
conf_save(const struct conf *c, FILE *fp)
{
	const struct conf_item	*item;
	size_t			 i, k;

	for (i = 0; i < OPT__COUNT; i++) {
		item = &c->opt[i];
		if (i == OPT_CONF_FILE || item->level == CONF_DEFAULT)
			continue;
		for (k = 0; k < item->n; k++)
			conf_print_value(fp, conf_options[i].name,
			    &item->v[k]);
	}
	for (i = 0; i < c->nextra; i++) {
		item = &c->extra[i].item;
		for (k = 0; k < item->n; k++)
			conf_print_value(fp, c->extra[i].key, &item->v[k]);
	}
}

static const char *
conf_type_word(enum opt_type type)
{
	switch (type) {
	case OPT_T_PATH:
		return "=PATH";
	case OPT_T_INT:
		return "=N";
	case OPT_T_FLAG:
		return "";
	case OPT_T_ENUM:
		return "=WORD";
	default:
		return "=TEXT";
	}
}

/* Append to the string in BUF. */
static void PFSD_PRINTF(3, 4)
conf_cat(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	size_t	len = strlen(buf);

	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* TEXT from column COL on (the cursor is there), wrapped by words. */
static void
conf_wrap(FILE *fp, const char *text, int col)
{
	const char	*word = text + strspn(text, " ");
	int		 x = col, len;

	while (*word != '\0') {
		len = (int)strcspn(word, " ");
		if (x > col && x + 1 + len > CONF_WIDTH) {
			fprintf(fp, "\n%*s", col, "");
			x = col;
		} else if (x > col) {
			fputc(' ', fp);
			x++;
		}
		x += fprintf(fp, "%.*s", len, word);
		word += len + strspn(word + len, " ");
	}
	fputc('\n', fp);
}

static void
conf_usage_key(FILE *fp, const struct option_def *o, const char *def)
{
	char	desc[1024];
	size_t	i;
	int	n;

	snprintf(desc, sizeof desc, "%s", o->help);
	if (o->type == OPT_T_INT && o->max >= INT_MAX)
		conf_cat(desc, sizeof desc, "; %ld or more", o->min);
	else if (o->type == OPT_T_INT)
		conf_cat(desc, sizeof desc, "; %ld..%ld", o->min, o->max);
	for (i = 0; o->type == OPT_T_ENUM && o->choices[i] != NULL; i++)
		conf_cat(desc, sizeof desc, "%s%s", i == 0 ? "; one of " :
		    ", ", o->choices[i]);
	if (o->list)
		conf_cat(desc, sizeof desc, "; may be repeated");
	if (def != NULL)
		conf_cat(desc, sizeof desc, " [default: %s]", def);
	n = fprintf(fp, "  --%s%s", o->name, conf_type_word(o->type));
	if (n >= CONF_HELP_COL)
		fprintf(fp, "\n%*s", CONF_HELP_COL, "");
	else
		fprintf(fp, "%*s", CONF_HELP_COL - n, "");
	conf_wrap(fp, desc, CONF_HELP_COL);
}

/* --help, from the table. */
void
conf_usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: pfsd [-htTV] [-c FILE] [--KEY=VALUE ...]\n"
	    "       pfsd status [--json] [-c FILE] [--KEY=VALUE ...]\n"
	    "\n"
	    "  -c FILE                 read FILE (same as --conf_file=FILE)\n"
	    "  -t                      check the configuration, exit 0 or 78\n"
	    "  -T                      print the effective configuration\n"
	    "  -h, --help              print this help\n"
	    "  -V, --version           print the version\n"
	    "  status                  report on the running pfsd "
	    "(--json: as JSON)\n"
	    "\n"
	    "Every key below may be given here as --KEY=VALUE, --KEY VALUE "
	    "or --FLAG,\nor in the file as \"KEY VALUE\":\n");
	for (i = 0; i < OPT__COUNT; i++)
		conf_usage_key(fp, &conf_options[i], conf_default(i));
}

/* --help -c FILE: the options the handler NAME declares. */
void
conf_usage_handler(FILE *fp, const struct conf *c, const char *name)
{
	size_t	i;

	if (!c->hdeclares) {
		fprintf(fp, "\nThe handler %s declares no options.\n", name);
		return;
	}
	fprintf(fp, "\nOptions of the handler %s:\n", name);
	for (i = 0; i < c->nhopts; i++)
		conf_usage_key(fp, &c->hopts[i], c->hopts[i].def);
	if (c->nhopts == 0)
		fprintf(fp, "  (none)\n");
}
