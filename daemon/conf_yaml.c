/*
 * conf_yaml.c - the YAML front end of the configuration: a mapping of
 * keys to a scalar or a sequence of scalars, read with libyaml's event
 * parser and handed to conf_set() line by line, like the key/value format,
 * so that both formats mean the same.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/*
 * Limits checked before libyaml sees the text: a configuration is a
 * mapping of keys to values or lists (depth 2), a few kilobytes.  Deep
 * flow nesting ("[[[[...") costs libyaml time quadratic in the depth
 * (80 KB of brackets: seconds), so it is refused first.
 */
#define CY_SIZE_MAX	(4 * 1024 * 1024)
#define CY_DEPTH_MAX	32

struct cy {
	struct conf	*c;
	const char	*file;
	const char	*text;
	size_t		 len;
	yaml_parser_t	 parser;
	yaml_event_t	 ev;		/* the current event */
	int		 stop_line;	/* of the syntax error, 0 if none */
};

static int
cy_line(const struct cy *y)
{
	return (int)y->ev.start_mark.line + 1;
}

/* The line of a byte offset (the reader reports offsets, not marks). */
static int
cy_offset_line(const struct cy *y, size_t off)
{
	size_t	i;
	int	line = 1;

	for (i = 0; i < off && i < y->len; i++) {
		if (y->text[i] == '\n')
			line++;
	}
	return line;
}

/* What to do about a libyaml problem, when it is one people make. */
static const char *
cy_hint(const char *problem, int ch)
{
	if (strstr(problem, "tab") != NULL || ch == '\t')
		return "YAML indents with spaces, never tabs";
	if (strstr(problem, "mapping values are not allowed") != NULL ||
	    strstr(problem, "did not find expected key") != NULL ||
	    strstr(problem, "expected <block end>") != NULL)
		return "check the indentation: every key starts in column 1, "
		    "list items are indented under their key";
	if (strstr(problem, "end of stream") != NULL)
		return "a quote or bracket is not closed";
	if (strstr(problem, "UTF-8") != NULL)
		return "the file must be UTF-8 text";
	return NULL;
}

/* The line of the current syntax error. */
static int
cy_syntax_line(const struct cy *y)
{
	if (y->parser.error == YAML_READER_ERROR)
		return cy_offset_line(y, y->parser.problem_offset);
	return (int)y->parser.problem_mark.line + 1;
}

static void
cy_syntax(struct cy *y)
{
	const yaml_parser_t	*p = &y->parser;
	const char		*problem, *hint;
	char			 where[64] = "";
	size_t			 i;
	int			 line, col;

	if (p->error == YAML_MEMORY_ERROR)
		fatal("%s: libyaml: out of memory", __func__);
	problem = p->problem != NULL ? p->problem : "cannot parse";
	if (p->error == YAML_READER_ERROR) {
		line = cy_offset_line(y, p->problem_offset);
		for (i = p->problem_offset; i > 0 && i <= y->len &&
		    y->text[i - 1] != '\n'; i--)
			;
		col = (int)(p->problem_offset - i) + 1;
	} else {
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
	}
	/* "while parsing a flow sequence" helps most with where it began. */
	if (p->context != NULL)
		snprintf(where, sizeof where, " (%s started at line %d)",
		    p->context, (int)p->context_mark.line + 1);
	hint = cy_hint(problem, p->error != YAML_READER_ERROR &&
	    p->problem_mark.index < y->len ? y->text[p->problem_mark.index] :
	    0);
	conf_error(y->c, y->file, line, "yaml", "column %d: %s%s%s%s", col,
	    problem, where, hint != NULL ? "; " : "", hint != NULL ? hint : "");
}

/*
 * Move to the next event; -1 (reported) on a syntax error.  libyaml keeps
 * answering "no event" after an error or the end, so callers stop there.
 */
static int
cy_next(struct cy *y)
{
	yaml_event_delete(&y->ev);
	if (yaml_parser_parse(&y->parser, &y->ev))
		return 0;
	cy_syntax(y);
	return -1;
}

/* Skip the node that starts at the current event. */
static int
cy_skip(struct cy *y)
{
	int	depth = 0;

	do {
		switch (y->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CY_DEPTH_MAX) {
				conf_error(y->c, y->file, cy_line(y), "yaml",
				    "nested deeper than %d levels",
				    CY_DEPTH_MAX);
				return -1;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			break;
		default:
			return -1;
		}
		if (depth > 0 && cy_next(y) == -1)
			return -1;
	} while (depth > 0);
	return 0;
}

/* "key:", "key: ~" and "key: null" say nothing, which is not a value. */
static int
cy_is_null(const yaml_event_t *ev)
{
	const char	*s = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/*
 * A NUL inside a scalar ("\0" in double quotes): the C string would end
 * there and the rest be lost silently.  Refused like any control
 * character in the key/value format.
 */
static int
cy_has_nul(const yaml_event_t *ev)
{
	return memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) !=
	    NULL;
}

static void
cy_scalar(struct cy *y, const char *key)
{
	/* a value that reaches the broken line is libyaml's guess, not the
	 * user's ("port: 8080" above " max_servers: 3" reads "8080
	 * max_servers"): the syntax error says what is wrong there */
	if (y->stop_line > 0 && (int)y->ev.end_mark.line + 1 >= y->stop_line)
		return;
	if (cy_has_nul(&y->ev))
		conf_error(y->c, y->file, cy_line(y), key,
		    "contains a control character");
	else if (cy_is_null(&y->ev))
		conf_error(y->c, y->file, cy_line(y), key, "needs a value");
	else
		conf_set(y->c, key, (const char *)y->ev.data.scalar.value,
		    CONF_FILE, y->file, cy_line(y));
}

/* The items of a list key, the current event being its start. */
static int
cy_sequence(struct cy *y, const char *key)
{
	for (;;) {
		if (cy_next(y) == -1)
			return -1;
		switch (y->ev.type) {
		case YAML_SEQUENCE_END_EVENT:
			return 0;
		case YAML_SCALAR_EVENT:
			cy_scalar(y, key);
			break;
		case YAML_ALIAS_EVENT:
			conf_error(y->c, y->file, cy_line(y), key,
			    "aliases are not supported");
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			conf_error(y->c, y->file, cy_line(y), key,
			    "list items must be plain values");
			if (cy_skip(y) == -1)
				return -1;
			break;
		default:
			return -1;
		}
	}
}

/* The value of KEY, starting at the current event. */
static int
cy_value(struct cy *y, const char *key)
{
	int	id;

	switch (y->ev.type) {
	case YAML_SCALAR_EVENT:
		cy_scalar(y, key);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		id = conf_find(key);
		if (id == -1 || conf_options[id].list)
			return cy_sequence(y, key);
		conf_error(y->c, y->file, cy_line(y), key,
		    "takes one value, not a list");
		return cy_skip(y);
	case YAML_MAPPING_START_EVENT:
		conf_error(y->c, y->file, cy_line(y), key,
		    "takes a value or a list, not a mapping");
		return cy_skip(y);
	case YAML_ALIAS_EVENT:
		conf_error(y->c, y->file, cy_line(y), key,
		    "aliases are not supported");
		return 0;
	default:
		return -1;
	}
}

/* The pairs of the top-level mapping, up to its end. */
static int
cy_mapping(struct cy *y)
{
	char	*key;
	int	 rc;

	for (;;) {
		if (cy_next(y) == -1)
			return -1;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (y->ev.type != YAML_SCALAR_EVENT) {
			conf_error(y->c, y->file, cy_line(y), "yaml",
			    "a key must be a plain word");
			if (cy_skip(y) == -1 || cy_next(y) == -1 ||
			    cy_skip(y) == -1)
				return -1;
			continue;
		}
		if (cy_has_nul(&y->ev)) {
			conf_error(y->c, y->file, cy_line(y), "yaml",
			    "a key contains a control character");
			if (cy_next(y) == -1 || cy_skip(y) == -1)
				return -1;
			continue;
		}
		if ((key = strdup((const char *)y->ev.data.scalar.value)) ==
		    NULL)
			fatal("%s: strdup", __func__);
		rc = cy_next(y) == -1 ? -1 : cy_value(y, key);
		free(key);
		if (rc == -1)
			return -1;
	}
}

/* Every document of the stream: a mapping, or empty. */
static void
cy_stream(struct cy *y)
{
	for (;;) {
		if (cy_next(y) == -1)
			return;
		switch (y->ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_MAPPING_START_EVENT:
			if (cy_mapping(y) == -1)
				return;
			break;
		case YAML_SCALAR_EVENT:
			if (cy_is_null(&y->ev))
				break;		/* "---" and nothing else */
			/* FALLTHROUGH */
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			conf_error(y->c, y->file, cy_line(y), "yaml",
			    "the top level must be a mapping of keys to values");
			if (cy_skip(y) == -1)
				return;
			break;
		default:
			return;
		}
	}
}

static int
cy_quote_may_open(char prev)
{
	return prev == '\n' || prev == ' ' || prev == '\t' || prev == '[' ||
	    prev == '{' || prev == ',' || prev == ':' || prev == '-';
}

/*
 * Size and flow depth, before libyaml: brackets are counted outside
 * quoted scalars and comments.  The count can only err on the side of
 * more depth (a plain scalar's brackets count too); libyaml's events are
 * checked again in cy_skip.  -1 (reported) when over a limit.
 */
static int
cy_prescan(struct conf *c, const char *file, const char *text, size_t len)
{
	size_t	i;
	int	depth = 0, line = 1, comment = 0;
	char	quote = 0, prev = '\n', ch;

	if (len > CY_SIZE_MAX) {
		conf_error(c, file, 0, "yaml", "%zu bytes; a configuration "
		    "may have at most %d", len, CY_SIZE_MAX);
		return -1;
	}
	for (i = 0; i < len; prev = ch, i++) {
		if ((ch = text[i]) == '\n') {
			line++;
			comment = 0;
		} else if (comment)
			continue;
		else if (quote != 0) {
			if (quote == '"' && ch == '\\' && i + 1 < len &&
			    text[i + 1] != '\n')
				i++;
			else if (ch == quote && quote == '\'' && i + 1 < len &&
			    text[i + 1] == '\'')
				i++;		/* '' in single quotes */
			else if (ch == quote)
				quote = 0;
		} else if (ch == '#' && (prev == ' ' || prev == '\t' ||
		    prev == '\n'))
			comment = 1;
		else if ((ch == '"' || ch == '\'') && cy_quote_may_open(prev))
			quote = ch;
		else if ((ch == '[' || ch == '{') && ++depth > CY_DEPTH_MAX) {
			conf_error(c, file, line, "yaml", "nested deeper than "
			    "%d levels", CY_DEPTH_MAX);
			return -1;
		} else if ((ch == ']' || ch == '}') && depth > 0)
			depth--;
	}
	return 0;
}

/*
 * The whole stream, events only, before anything is set: where the first
 * syntax error is, so that the values libyaml produces on its way there
 * from the broken lines are not taken (see cy_scalar).
 */
static int
cy_check_syntax(struct cy *y)
{
	int	rc = 0, end = 0;

	if (!yaml_parser_initialize(&y->parser))
		fatal("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&y->parser,
	    (const unsigned char *)y->text, y->len);
	while (!end) {
		if (!yaml_parser_parse(&y->parser, &y->ev)) {
			y->stop_line = cy_syntax_line(y);
			rc = -1;
			break;
		}
		end = y->ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&y->ev);
	}
	yaml_parser_delete(&y->parser);
	memset(&y->parser, 0, sizeof y->parser);
	memset(&y->ev, 0, sizeof y->ev);
	return rc;
}

/*
 * Parse TEXT (LEN bytes) as YAML into c; -1 if it added errors, -2 if it
 * could not be parsed to its end (the values before the error are set).
 */
int
conf_parse_yaml(struct conf *c, const char *file, const char *text,
    size_t len)
{
	struct cy	y;
	size_t		before = c->nerrors;

	if (cy_prescan(c, file, text, len) == -1)
		return -2;
	memset(&y, 0, sizeof y);
	y.c = c;
	y.file = file;
	y.text = text;
	y.len = len;
	(void)cy_check_syntax(&y);
	if (!yaml_parser_initialize(&y.parser))
		fatal("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text,
	    len);
	cy_stream(&y);
	yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.parser);
	if (y.stop_line > 0)
		return -2;
	return c->nerrors == before ? 0 : -1;
}
