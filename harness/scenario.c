/*
 * scenario.c - scenario files: the line parser, @include, lint and discovery.
 *
 * Owns reading .smtp files into struct scenario (headers, steps, the files
 * they came from), @include lookup through _lib/ directories, the lint rules
 * that catch scenarios which cannot mean what they say, and the walk of
 * directory arguments. Does not connect, expand variables (vars.c does, when
 * asked through scenario_check_vars) or judge replies. Format reference:
 * docs/scenario-format.md.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "command.h"
#include "sasl.h"
#include "smtp_limits.h"
#include "scenario.h"
#include "util.h"
#include "vars.h"

/* Headers a scenario may start with, in the order the docs list them. */
enum header {
	HDR_ID,
	HDR_TITLE,
	HDR_REF,
	HDR_LEVEL,
	HDR_TAGS,
	HDR_REQUIRES,
	HDR_TIMEOUT,
	HDR_WHEN,
	HDR_COUNT,
};
static const char *const header_names[HDR_COUNT] = {
	"id", "title", "ref", "level", "tags", "requires", "timeout", "when",
};

/*
 * The largest "timeout:" keeps seconds * 1000 in an int32 so the session can
 * compute milliseconds without overflow.
 */
#define TIMEOUT_HEADER_MAX_S (INT32_MAX / 1000)

/* A file on the include chain, or a directory on a walk, to detect cycles. */
struct file_identity {
	dev_t dev;
	ino_t ino;
};

/* Parser state for the whole scenario (all files). */
struct parser {
	struct scenario *s;
	char *err;                 /* caller's message buffer */
	size_t errlen;
	size_t steps_cap;
	int seen_step;             /* a step or @include was read: no more headers */
	int header_line[HDR_COUNT];/* line of each header seen, 0 if not yet */
	struct file_identity chain[SCENARIO_INCLUDE_DEPTH + 1];
	const char *chain_path[SCENARIO_INCLUDE_DEPTH + 1];
	int chain_line[SCENARIO_INCLUDE_DEPTH + 1]; /* line of the @include in the file before */
	size_t chain_len;          /* files being read: the scenario, then includes */
	size_t includes;           /* @include lines followed so far (fan-out bound) */
	size_t bytes;              /* bytes of every file read so far, includes expanded */
};

/* Parser state for one file. */
struct source {
	const char *path;   /* owned by scenario.files */
	int included;       /* 0 for the scenario file itself */
	int line;           /* current line, 1-based */
	long data_step;     /* index of the D: block open in this file, -1 if none */
	int gap_line;       /* blank or comment line after that block's last D:, or 0 */
	int gap_is_comment;
};

static int fail(struct parser *p, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, const char *path, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", path, line, msg);
	return -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int str_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (to_upper(*a) != to_upper(*b))
			return 0;
	return *a == *b;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Trims spaces and tabs at both ends, in place; returns the new start. */
static char *trim(char *s)
{
	while (is_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void list_push(char ***list, size_t *n, char *item)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = item;
}

static void list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static char *path_join(const char *dir, const char *name)
{
	if (strcmp(dir, ".") == 0)
		return xstrdup(name);
	if (ends_with(dir, "/"))
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

/* The directory part of a path as given: "a/b.smtp" -> "a", "b.smtp" -> ".". */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int is_regular_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * "{name}" syntax in a C: or D: line, as vars_expand reads it: "{{" is a
 * literal "{", a name is [A-Za-z0-9_.-]+. Whether the name is defined is
 * scenario_check_vars' business.
 */
static int braces_check(const char *text, char *msg, size_t msglen)
{
	for (const char *c = strchr(text, '{'); c; c = strchr(c, '{')) {
		if (c[1] == '{') {
			c += 2;
			continue;
		}
		const char *close = strchr(c + 1, '}');
		if (!close) {
			snprintf(msg, msglen, "unterminated { (write {{ for a literal {)");
			return -1;
		}
		if (close == c + 1) {
			snprintf(msg, msglen, "empty variable name {} (write {{ for a literal {)");
			return -1;
		}
		for (const char *n = c + 1; n < close; n++) {
			if (!is_alpha(*n) && !is_digit(*n) && *n != '_' && *n != '.' && *n != '-') {
				snprintf(msg, msglen,
				         "invalid variable name {%.*s} (use letters, digits, '_', '.', '-'; "
				         "write {{ for a literal {)",
				         (int)(close - c - 1), c + 1);
				return -1;
			}
		}
		c = close + 1;
	}
	return 0;
}

/* ---- steps ---- */

static struct step *step_push(struct parser *p, const struct step *st)
{
	struct scenario *s = p->s;
	if (s->nsteps == p->steps_cap) {
		p->steps_cap = p->steps_cap ? 2 * p->steps_cap : 16;
		s->steps = xrealloc(s->steps, p->steps_cap * sizeof(*s->steps));
	}
	s->steps[s->nsteps] = *st;
	return &s->steps[s->nsteps++];
}

/* ---- regular expressions (PCRE2) ---- */

int expect_regex_compile(struct expect *e, const char *src, char *msg, size_t msglen)
{
	int code;
	PCRE2_SIZE offset;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
	                               PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, &code, &offset, NULL);
	if (!re) {
		PCRE2_UCHAR why[256];
		pcre2_get_error_message(code, why, sizeof(why));
		snprintf(msg, msglen, "bad regex /%s/: %s at offset %zu", src, (const char *)why,
		         (size_t)offset);
		return -1;
	}
	e->regex = re;
	e->regex_src = xstrdup(src);
	return 0;
}

/* One match context for the process: the limits never change. */
static pcre2_match_context *regex_limits(void)
{
	static pcre2_match_context *ctx;
	if (!ctx) {
		ctx = pcre2_match_context_create(NULL);
		if (!ctx)
			BUG("pcre2_match_context_create failed");
		pcre2_set_match_limit(ctx, REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(ctx, REGEX_DEPTH_LIMIT);
		pcre2_set_heap_limit(ctx, REGEX_HEAP_LIMIT_KIB);
	}
	return ctx;
}

int expect_regex_match(const struct expect *e, const char *text, size_t len, char *msg,
                       size_t msglen)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->regex, NULL);
	if (!md)
		BUG("pcre2_match_data_create_from_pattern failed");
	int rc = pcre2_match(e->regex, (PCRE2_SPTR)text, len, 0, 0, md, regex_limits());
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	PCRE2_UCHAR why[256];
	pcre2_get_error_message(rc, why, sizeof(why));
	snprintf(msg, msglen, "regex /%s/ gave up on this reply: %s (limits: %d steps, depth %d, "
	                      "%d KiB; simplify the regex, e.g. without backreferences)",
	         e->regex_src, (const char *)why, REGEX_MATCH_LIMIT, REGEX_DEPTH_LIMIT,
	         REGEX_HEAP_LIMIT_KIB);
	return -1;
}

void expect_regex_free(struct expect *e)
{
	pcre2_code_free(e->regex);
	free(e->regex_src);
	e->regex = NULL;
	e->regex_src = NULL;
}

static void expect_free(struct expect *e)
{
	expect_regex_free(e);
	free(e->source);
	memset(e, 0, sizeof(*e));
}

static void step_free(struct step *st)
{
	free(st->text);
	list_free(st->data_lines, st->ndata);
	expect_free(&st->expect);
}

/*
 * Parses an expectation (already trimmed, not "close" alone):
 *   codes [ "~" "/" regex "/" ]     codes = "*" / alt *("|" alt)
 *   alt = code / "close"            code = %x32-35 2(DIGIT / "x")
 * Returns 0, or -1 with a message (no path) in msg.
 */
static int expect_parse(const char *text, struct expect *e, char *msg, size_t msglen)
{
	const char *c = text;
	memset(e, 0, sizeof(*e));
	if (*c == '*') {
		e->any = 1;
		c++;
	} else {
		for (;;) {
			while (is_space(*c))
				c++;
			const char *tok = c;
			while (*c && !is_space(*c) && *c != '|' && *c != '~')
				c++;
			size_t len = (size_t)(c - tok);
			if (len == 5 && strncasecmp(tok, "close", 5) == 0) {
				e->close_ok = 1;
				while (is_space(*c))
					c++;
				if (*c != '|')
					break;
				c++;
				continue;
			}
			/* "503!": this answer is acceptable and ends the scenario. */
			int ends = len == 4 && tok[3] == '!';
			if (ends)
				len = 3;
			int ok = len == 3 && tok[0] >= '2' && tok[0] <= '5';
			for (size_t i = 1; ok && i < 3; i++)
				ok = is_digit(tok[i]) || tok[i] == 'x' || tok[i] == 'X';
			if (!ok) {
				snprintf(msg, msglen,
				         "bad reply code \"%.*s\" in expectation \"%s\" (expected a code "
				         "such as 250, 25x or 2xx, 503! to end the scenario there, alternatives "
				         "joined by |, *, or close)",
				         (int)len, tok, text);
				return -1;
			}
			if (e->nalts == EXPECT_ALTS_MAX) {
				snprintf(msg, msglen, "more than %d alternatives in expectation \"%s\"",
				         EXPECT_ALTS_MAX, text);
				return -1;
			}
			for (size_t i = 0; i < 3; i++)
				e->alts[e->nalts][i] = tok[i] == 'X' ? 'x' : tok[i];
			e->alts[e->nalts][3] = '\0';
			e->alt_ends[e->nalts] = (char)ends;
			e->nalts++;
			while (is_space(*c))
				c++;
			if (*c != '|')
				break;
			c++;
		}
	}
	if (!e->any && e->nalts == 0) {
		snprintf(msg, msglen, "expectation \"%s\" has no reply code; to expect only a close, "
		         "write S: close", text);
		return -1;
	}
	while (is_space(*c))
		c++;
	if (*c == '\0')
		return 0;
	if (*c != '~') {
		snprintf(msg, msglen, "unexpected \"%s\" in expectation \"%s\" (expected ~ /regex/)", c,
		         text);
		return -1;
	}
	c++;
	while (is_space(*c))
		c++;
	const char *last = strrchr(c, '/');
	if (*c != '/' || last == c) {
		snprintf(msg, msglen, "expected /regex/ after ~ in expectation \"%s\"", text);
		return -1;
	}
	if (last[1] != '\0') {
		snprintf(msg, msglen, "unexpected \"%s\" after the regex in expectation \"%s\"", last + 1,
		         text);
		return -1;
	}
	if (last == c + 1) {
		snprintf(msg, msglen, "empty regex in expectation \"%s\"", text);
		return -1;
	}
	char *src = xstrndup(c + 1, (size_t)(last - c - 1));
	int rc = expect_regex_compile(e, src, msg, msglen);
	free(src);
	return rc;
}

/* Index of the first alternative that code matches, or -1 ('*' aside). */
static int matching_alt(const struct expect *e, int code)
{
	if (code < 0 || code > 999)
		return -1;
	char digits[4];
	snprintf(digits, sizeof(digits), "%03d", code);
	for (size_t a = 0; a < e->nalts; a++) {
		size_t i = 0;
		while (i < 3 && (e->alts[a][i] == 'x' || e->alts[a][i] == digits[i]))
			i++;
		if (i == 3)
			return (int)a;
	}
	return -1;
}

int expect_code_ends(const struct expect *e, int code)
{
	if (e->any)
		return 0;
	int a = matching_alt(e, code);
	return a >= 0 && e->alt_ends[a]; /* the first alternative that matches decides */
}

int expect_code_matches(const struct expect *e, int code)
{
	return e->any || matching_alt(e, code) >= 0;
}

/* ---- line kinds ---- */

/* Ends the D: block open in this file, if any. */
static void data_close(struct source *src)
{
	src->data_step = -1;
	src->gap_line = 0;
}

static int line_header(struct parser *p, struct source *src, const char *key, char *value)
{
	struct scenario *s = p->s;
	int h;
	for (h = 0; h < HDR_COUNT; h++)
		if (str_ieq(key, header_names[h]))
			break;
	if (h == HDR_COUNT)
		return fail(p, src->path, src->line,
		            "unknown header \"%s\" (known: id, title, ref, level, tags, requires, "
		            "timeout)",
		            key);
	if (src->included)
		return fail(p, src->path, src->line,
		            "header \"%s\" in a file included from %s:%d (headers belong to the "
		            "scenario; is a scenario named like the library file it includes?)",
		            header_names[h], p->chain_path[p->chain_len - 2],
		            p->chain_line[p->chain_len - 1]);
	if (p->seen_step)
		return fail(p, src->path, src->line,
		            "header \"%s\" after the first step (headers come before any C:, S:, D:, "
		            "R: or @include line)",
		            header_names[h]);
	if (p->header_line[h])
		return fail(p, src->path, src->line, "duplicate header \"%s\" (first on line %d)",
		            header_names[h], p->header_line[h]);
	value = trim(value);
	if (*value == '\0')
		return fail(p, src->path, src->line, "header \"%s\" needs a value", header_names[h]);
	p->header_line[h] = src->line;

	switch (h) {
	case HDR_ID:
		for (const char *c = value; *c; c++)
			if (!is_alpha(*c) && !is_digit(*c) && *c != '.' && *c != '_' && *c != '-')
				return fail(p, src->path, src->line,
				            "id \"%s\": use letters, digits, '.', '_' and '-'", value);
		free(s->id);
		s->id = xstrdup(value);
		break;
	case HDR_TITLE:
		free(s->title);
		s->title = xstrdup(value);
		break;
	case HDR_REF:
		free(s->ref);
		s->ref = xstrdup(value);
		break;
	case HDR_LEVEL:
		if (!str_ieq(value, "MUST") && !str_ieq(value, "SHOULD") && !str_ieq(value, "MAY"))
			return fail(p, src->path, src->line,
			            "level \"%s\": expected MUST, SHOULD or MAY", value);
		free(s->level);
		s->level = xstrdup(value);
		for (char *c = s->level; *c; c++)
			*c = to_upper(*c);
		break;
	case HDR_TAGS:
	case HDR_REQUIRES: {
		char **list = NULL;
		size_t n = 0;
		char *save = NULL;
		for (char *tok = strtok_r(value, ", \t", &save); tok;
		     tok = strtok_r(NULL, ", \t", &save)) {
			if (h == HDR_REQUIRES) {
				/* KEYWORD, or KEYWORD=PARAM (a parameter on its line). */
				int ok = is_alpha(*tok) || is_digit(*tok);
				int seen_eq = 0;
				for (char *c = tok; *c; c++) {
					if (*c == '=' && !seen_eq && c > tok && c[1]) {
						seen_eq = 1;
						continue;
					}
					ok = ok && (is_alpha(*c) || is_digit(*c) || *c == '-' ||
					            (seen_eq && *c > 32 && *c < 127 && *c != '='));
					*c = to_upper(*c);
				}
				if (!ok) {
					list_free(list, n);
					return fail(p, src->path, src->line,
					            "requires: \"%s\" is not an EHLO keyword or KEYWORD=PARAM (letters, digits "
					            "and '-', e.g. PIPELINING, 8BITMIME)",
					            tok);
				}
			}
			list_push(&list, &n, xstrdup(tok));
		}
		if (n == 0)
			return fail(p, src->path, src->line, "header \"%s\" lists nothing",
			            header_names[h]);
		if (h == HDR_TAGS) {
			s->tags = list;
			s->ntags = n;
		} else {
			s->requires = list;
			s->nrequires = n;
		}
		break;
	}
	case HDR_WHEN: {
		/* when: NAME - run only if the variable NAME is set (a fact about
		 * the server's configuration that EHLO does not show). */
		char *name = value;
		while (is_space(*name))
			name++;
		size_t n = strlen(name);
		while (n && is_space(name[n - 1]))
			name[--n] = '\0';
		int ok = n > 0;
		for (size_t i = 0; ok && i < n; i++)
			ok = is_alpha(name[i]) || is_digit(name[i]) || name[i] == '_' || name[i] == '.' ||
			     name[i] == '-';
		if (!ok)
			return fail(p, src->path, src->line,
			            "when: \"%s\" is not a variable name (letters, digits, _ . -)", value);
		free(s->when);
		s->when = xstrdup(name);
		break;
	}
	case HDR_TIMEOUT: {
		long secs = 0;
		const char *c = value;
		for (; is_digit(*c) && secs <= TIMEOUT_HEADER_MAX_S; c++)
			secs = secs * 10 + (*c - '0');
		if (*c != '\0' || secs <= 0 || secs > TIMEOUT_HEADER_MAX_S)
			return fail(p, src->path, src->line,
			            "timeout \"%s\": expected a whole number of seconds, 1 to %d", value,
			            TIMEOUT_HEADER_MAX_S);
		s->timeout_s = (int)secs;
		break;
	}
	default:
		BUG("header index out of range");
	}
	return 0;
}

static int line_command(struct parser *p, struct source *src, const char *text)
{
	char msg[512];
	if (braces_check(text, msg, sizeof(msg)) < 0)
		return fail(p, src->path, src->line, "%s", msg);
	struct step st = {.kind = STEP_CMD, .file = src->path, .line = src->line};
	st.text = xstrdup(text);
	st.text_len = strlen(text);
	step_push(p, &st);
	return 0;
}

static int line_raw(struct parser *p, struct source *src, char *value)
{
	char *v = trim(value);
	size_t len = strlen(v), i = 1;
	if (len == 0 || v[0] != '"')
		return fail(p, src->path, src->line,
		            "R: expects one double-quoted string, e.g. R: \"NOOP\\r\\n\"");
	while (i < len && v[i] != '"')
		i += v[i] == '\\' ? 2 : 1;
	if (i >= len)
		return fail(p, src->path, src->line, "R: string has no closing \"");
	if (i != len - 1)
		return fail(p, src->path, src->line, "R: unexpected \"%s\" after the closing \"",
		            v + i + 1);
	struct buf bytes = {0};
	char why[256] = "";
	if (text_unescape(&bytes, v + 1, i - 1, why, sizeof(why)) < 0) {
		buf_free(&bytes);
		return fail(p, src->path, src->line, "R: %s", why[0] ? why : "bad escape in raw bytes");
	}
	if (bytes.len == 0) {
		buf_free(&bytes);
		return fail(p, src->path, src->line, "R: \"\" sends nothing");
	}
	struct step st = {.kind = STEP_RAW, .file = src->path, .line = src->line};
	st.text_len = bytes.len;
	st.text = buf_steal(&bytes);
	step_push(p, &st);
	return 0;
}

static int line_data(struct parser *p, struct source *src, const char *text)
{
	char msg[512];
	if (braces_check(text, msg, sizeof(msg)) < 0)
		return fail(p, src->path, src->line, "%s", msg);
	if (src->data_step >= 0 && src->gap_line)
		return fail(p, src->path, src->gap_line,
		            "%s inside a D: block (every content line is a D: line; an empty one is "
		            "written \"D:\")",
		            src->gap_is_comment ? "comment" : "blank line");
	if (src->data_step < 0) {
		struct step st = {.kind = STEP_DATA, .file = src->path, .line = src->line};
		step_push(p, &st);
		src->data_step = (long)p->s->nsteps - 1;
	}
	struct step *st = &p->s->steps[src->data_step];
	list_push(&st->data_lines, &st->ndata, xstrdup(text));
	return 0;
}

/* A: MECH [noir] [wrong] [cancel] */
static int line_auth(struct parser *p, struct source *src, char *value)
{
	struct step st = {.kind = STEP_AUTH, .file = src->path, .line = src->line};
	char *save = NULL;
	char *mech = strtok_r(value, " \t", &save);
	if (!mech || sasl_mech_parse(mech) < 0)
		return fail(p, src->path, src->line,
		            "A: needs a mechanism: PLAIN, LOGIN, CRAM-MD5 or SCRAM-SHA-256, got \"%s\"",
		            mech ? mech : "");
	for (char *opt = strtok_r(NULL, " \t", &save); opt; opt = strtok_r(NULL, " \t", &save)) {
		if (strcmp(opt, "noir") == 0)
			st.auth_noir = 1;
		else if (strcmp(opt, "wrong") == 0)
			st.auth_wrong = 1;
		else if (strcmp(opt, "cancel") == 0)
			st.auth_cancel = 1;
		else
			return fail(p, src->path, src->line,
			            "A: unknown option \"%s\" (noir, wrong, cancel)", opt);
	}
	st.text = xstrdup(sasl_mech_name((enum sasl_mech)sasl_mech_parse(mech)));
	st.text_len = strlen(st.text);
	step_push(p, &st);
	return 0;
}

static int line_expect(struct parser *p, struct source *src, char *value)
{
	char *v = trim(value);
	struct step st = {.kind = STEP_EXPECT, .file = src->path, .line = src->line};
	if (*v == '\0')
		return fail(p, src->path, src->line,
		            "S: needs an expectation: a code (250), a class (2xx), alternatives "
		            "(250|251), *, or close");
	if (str_ieq(v, "close")) {
		st.kind = STEP_CLOSE;
	} else {
		char msg[1024];
		if (expect_parse(v, &st.expect, msg, sizeof(msg)) < 0)
			return fail(p, src->path, src->line, "%s", msg);
	}
	st.expect.source = xstrdup(v);
	step_push(p, &st);
	return 0;
}

static int load_file(struct parser *p, const char *path, const char *from, int from_line,
                     const char *name);

/* The bundled suite's directory (scenario_set_library), or NULL. */
static char *library_dir;

void scenario_set_library(const char *dir)
{
	free(library_dir);
	library_dir = dir ? xstrdup(dir) : NULL;
}

/* _lib/NAME of the bundled suite, the last place @include looks; or NULL. */
static char *include_find_bundled(const char *name)
{
	if (!library_dir)
		return NULL;
	char *lib = path_join(library_dir, "_lib");
	char *candidate = path_join(lib, name);
	free(lib);
	if (is_regular_file(candidate))
		return candidate;
	free(candidate);
	return NULL;
}

/*
 * @include NAME: NAME beside the including file, then _lib/NAME in that
 * directory and in each parent up to the filesystem root, then in the bundled
 * suite's _lib/. Returns the path found (malloc'd) or NULL.
 */
static char *include_find(const char *from, const char *name)
{
	if (name[0] == '/')
		return is_regular_file(name) ? xstrdup(name) : NULL;
	char *dir = path_dir(from);
	char *found = path_join(dir, name);
	if (is_regular_file(found))
		goto out;
	free(found);
	found = NULL;
	for (;;) {
		char *lib = path_join(dir, "_lib");
		char *candidate = path_join(lib, name);
		free(lib);
		if (is_regular_file(candidate)) {
			found = candidate;
			goto out;
		}
		free(candidate);
		if (strcmp(dir, "/") == 0)
			break;
		const char *last = path_base(dir);
		char *parent;
		if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || *last == '\0') {
			/* No parent in the path as given: continue from the real path. */
			char *real = realpath(dir, NULL);
			if (!real)
				break;
			parent = path_dir(real);
			free(real);
		} else if (strchr(dir, '/')) {
			parent = path_dir(dir);
		} else {
			parent = xstrdup(".");
		}
		free(dir);
		dir = parent;
	}
out:
	free(dir);
	return found ? found : include_find_bundled(name);
}

static int line_include(struct parser *p, struct source *src, char *rest)
{
	char *name = trim(rest);
	if (*name == '\0')
		return fail(p, src->path, src->line, "@include needs a file name");
	if (++p->includes > SCENARIO_INCLUDES_MAX)
		return fail(p, src->path, src->line,
		            "cannot include %s: more than %d @include lines in one scenario, counting "
		            "those of included files each time they are included",
		            name, SCENARIO_INCLUDES_MAX);
	char *found = include_find(src->path, name);
	if (!found) {
		char *dir = path_dir(src->path);
		fail(p, src->path, src->line,
		     "cannot include %s: not found in %s/ nor in _lib/ there or in any directory "
		     "above%s%s%s",
		     name, dir, library_dir ? " nor in " : "", library_dir ? library_dir : "",
		     library_dir ? "/_lib/" : "");
		free(dir);
		return -1;
	}
	int rc = load_file(p, found, src->path, src->line, name);
	free(found);
	return rc;
}

/* One line, NUL-terminated, without its line end. */
static int parse_line(struct parser *p, struct source *src, char *line)
{
	const char *c = line;
	while (is_space(*c))
		c++;
	if (*c == '\0' || *c == '#') {
		if (src->data_step >= 0 && !src->gap_line) {
			src->gap_line = src->line;
			src->gap_is_comment = *c == '#';
		}
		return 0;
	}
	if (line[0] == 'D' && line[1] == ':') {
		p->seen_step = 1;
		return line_data(p, src, line + 2 + (line[2] == ' '));
	}
	data_close(src);
	if (strncmp(line, "@include", 8) == 0 && (line[8] == '\0' || is_space(line[8]))) {
		p->seen_step = 1;
		return line_include(p, src, line + 8);
	}
	size_t k = 0;
	if (is_alpha(line[0])) {
		k = 1;
		while (is_alpha(line[k]) || is_digit(line[k]) || line[k] == '_' || line[k] == '-')
			k++;
	}
	if (k == 0 || line[k] != ':')
		return fail(p, src->path, src->line,
		            "unknown line; expected C:, S:, D:, R:, A:, @include or a header (key: value)");
	char *value = line + k + 1;
	if (k == 1 && (line[0] == 'C' || line[0] == 'S' || line[0] == 'R' || line[0] == 'A')) {
		p->seen_step = 1;
		if (*value == ' ')
			value++;
		if (line[0] == 'C')
			return line_command(p, src, value);
		if (line[0] == 'R')
			return line_raw(p, src, value);
		if (line[0] == 'A')
			return line_auth(p, src, value);
		return line_expect(p, src, value);
	}
	if (k == 1)
		return fail(p, src->path, src->line,
		            "unknown line; expected C:, S:, D:, R:, A:, @include or a header (key: value)");
	line[k] = '\0';
	return line_header(p, src, line, value);
}

static int parse_text(struct parser *p, struct source *src, char *text, size_t len)
{
	size_t pos = 0;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* a UTF-8 byte order mark */
	while (pos < len) {
		char *start = text + pos;
		char *lf = memchr(start, '\n', len - pos);
		size_t n = lf ? (size_t)(lf - start) : len - pos;
		pos += n + (lf ? 1 : 0);
		src->line++;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > SCENARIO_LINE_MAX)
			return fail(p, src->path, src->line, "line longer than %d bytes",
			            SCENARIO_LINE_MAX);
		if (memchr(start, '\0', n))
			return fail(p, src->path, src->line, "NUL byte in line");
		start[n] = '\0';
		if (parse_line(p, src, start) < 0)
			return -1;
		if (p->s->nsteps > SCENARIO_STEPS_MAX)
			return fail(p, src->path, src->line,
			            "more than %d steps in one scenario, includes expanded",
			            SCENARIO_STEPS_MAX);
	}
	return 0;
}

/* The path's entry in scenario.files, added if new. */
static const char *files_intern(struct scenario *s, const char *path)
{
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i], path) == 0)
			return s->files[i];
	list_push(&s->files, &s->nfiles, xstrdup(path));
	return s->files[s->nfiles - 1];
}

/*
 * Reads path and parses it into p->s. from is NULL for the scenario file,
 * or the including file, line and the name as written for an @include.
 */
static int load_file(struct parser *p, const char *path, const char *from, int from_line,
                     const char *name)
{
	struct stat st;
	struct buf text = {0};
	int rc = -1;

	int not_file = stat(path, &st) < 0;
	if (not_file || S_ISDIR(st.st_mode)) {
		const char *why = not_file ? strerror(errno) : "is a directory";
		if (from)
			return fail(p, from, from_line, "cannot include %s: %s: %s", name, path, why);
		snprintf(p->err, p->errlen, "%s: %s", path, why);
		return -1;
	}
	for (size_t i = 0; i < p->chain_len; i++) {
		if (p->chain[i].dev == st.st_dev && p->chain[i].ino == st.st_ino) {
			struct buf cycle = {0};
			for (size_t j = i; j < p->chain_len; j++)
				buf_printf(&cycle, "%s -> ", p->chain_path[j]);
			buf_puts(&cycle, path);
			fail(p, from, from_line, "cannot include %s: include cycle: %s", name, cycle.data);
			buf_free(&cycle);
			return -1;
		}
	}
	if (p->chain_len > SCENARIO_INCLUDE_DEPTH)
		return fail(p, from, from_line, "cannot include %s: includes nest deeper than %d",
		            name, SCENARIO_INCLUDE_DEPTH);
	if (file_read_all(path, SCENARIO_FILE_MAX, &text) < 0) {
		char why[256];
		if (errno == EFBIG)
			snprintf(why, sizeof(why), "file larger than %d bytes", SCENARIO_FILE_MAX);
		else
			snprintf(why, sizeof(why), "%s", strerror(errno));
		if (from)
			fail(p, from, from_line, "cannot include %s: %s: %s", name, path, why);
		else
			snprintf(p->err, p->errlen, "%s: %s", path, why);
		goto out;
	}
	p->bytes += text.len;
	if (from && p->bytes > SCENARIO_EXPANDED_MAX) {
		fail(p, from, from_line,
		     "cannot include %s: the scenario with its includes expanded is larger than %d "
		     "bytes",
		     name, SCENARIO_EXPANDED_MAX);
		goto out;
	}

	struct source src = {
		.path = files_intern(p->s, path),
		.included = from != NULL,
		.data_step = -1,
	};
	p->chain[p->chain_len].dev = st.st_dev;
	p->chain[p->chain_len].ino = st.st_ino;
	p->chain_path[p->chain_len] = src.path;
	p->chain_line[p->chain_len] = from_line;
	p->chain_len++;
	rc = parse_text(p, &src, text.data ? text.data : "", text.len);
	p->chain_len--;
	if (rc == 0 && !from && p->s->nsteps == 0)
		rc = fail(p, path, src.line > 0 ? src.line : 1,
		          "no steps (a scenario needs at least one C:, R:, D: or S: line)");
out:
	buf_free(&text);
	return rc;
}

/*
 * Rules for scenarios that cannot mean what they say:
 *  - "S: close" is the last step;
 *  - a D: block follows a "C: DATA" (or an R: line, whose bytes may hold it),
 *    with only S: lines between;
 *  - the last step is not a C:, R: or D: whose reply nothing checks.
 */
static int lint(struct parser *p)
{
	const struct scenario *s = p->s;
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind == STEP_CLOSE && i + 1 < s->nsteps)
			return fail(p, st->file, st->line,
			            "\"S: close\" must be the last step (the server has closed the "
			            "connection; the next step is at %s:%d)",
			            s->steps[i + 1].file, s->steps[i + 1].line);
		if (st->kind == STEP_DATA) {
			size_t j = i;
			while (j > 0 && s->steps[j - 1].kind == STEP_EXPECT)
				j--;
			const struct step *sent = j > 0 ? &s->steps[j - 1] : NULL;
			if (!sent || !(sent->kind == STEP_RAW ||
			               (sent->kind == STEP_CMD &&
			                command_from_line(sent->text, strlen(sent->text)) == CMD_DATA)))
				return fail(p, st->file, st->line,
				            "D: block without a \"C: DATA\" before it (message content "
				            "follows DATA and its 354 reply)");
		}
	}
	const struct step *last = &s->steps[s->nsteps - 1];
	if (last->kind == STEP_CMD || last->kind == STEP_RAW || last->kind == STEP_DATA ||
	    last->kind == STEP_AUTH)
		return fail(p, last->file, last->line,
		            "the scenario ends with a %s line whose reply nothing checks (add S: "
		            "<code>, S: * or S: close)",
		            last->kind == STEP_CMD   ? "C:"
		            : last->kind == STEP_RAW ? "R:"
		            : last->kind == STEP_AUTH ? "A:"
		                                      : "D:");
	return 0;
}

/* "scenarios/core/noop.smtp" under "scenarios" -> "core.noop". */
static char *id_from_path(const char *path, const char *root)
{
	const char *rel = NULL;
	char *real_root = NULL, *real_path = NULL;
	if (root) {
		size_t n = strlen(root);
		while (n > 1 && root[n - 1] == '/')
			n--;
		if (strncmp(path, root, n) == 0 && path[n] == '/')
			rel = path + n + 1;
		if (!rel) {
			real_root = realpath(root, NULL);
			real_path = realpath(path, NULL);
			n = real_root ? strlen(real_root) : 0;
			if (real_root && real_path && strncmp(real_path, real_root, n) == 0 &&
			    real_path[n] == '/')
				rel = real_path + n + 1;
		}
	}
	if (!rel)
		rel = path_base(path);

	struct buf id = {0};
	char *copy = xstrdup(rel);
	if (ends_with(copy, ".smtp") && strlen(copy) > strlen(".smtp"))
		copy[strlen(copy) - strlen(".smtp")] = '\0';
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (id.len)
			buf_puts(&id, ".");
		buf_puts(&id, part);
	}
	free(copy);
	free(real_root);
	free(real_path);
	if (id.len == 0)
		buf_puts(&id, path_base(path));
	return buf_steal(&id);
}

int scenario_load(const char *path, const char *root, struct scenario **out, char *err,
                  size_t errlen)
{
	struct scenario *s = xcalloc(1, sizeof(*s));
	struct parser p = {.s = s, .err = err, .errlen = errlen};
	*out = NULL;
	s->path = xstrdup(path);
	if (errlen)
		err[0] = '\0';
	if (load_file(&p, path, NULL, 0, NULL) < 0 || lint(&p) < 0) {
		scenario_free(s);
		text_sanitize(err, errlen); /* file text and names reach a terminal */
		return -1;
	}
	if (!s->id)
		s->id = id_from_path(path, root);
	if (!s->title)
		s->title = xstrdup("");
	if (!s->ref)
		s->ref = xstrdup("");
	if (!s->level)
		s->level = xstrdup("");
	/* Every scenario stays loaded for the run: no spare step capacity
	 * (docs/memory.md). */
	if (s->nsteps)
		s->steps = xrealloc(s->steps, s->nsteps * sizeof(*s->steps));
	*out = s;
	return 0;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsteps; i++)
		step_free(&s->steps[i]);
	free(s->steps);
	list_free(s->tags, s->ntags);
	list_free(s->requires, s->nrequires);
	list_free(s->files, s->nfiles);
	free(s->when);
	free(s->path);
	free(s->id);
	free(s->title);
	free(s->ref);
	free(s->level);
	free(s);
}

int scenario_check_vars(const struct scenario *s, const struct vars *v, char *err, size_t errlen)
{
	struct buf scratch = {0};
	char msg[512];
	int rc = 0;
	for (size_t i = 0; i < s->nsteps && rc == 0; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind == STEP_CMD) {
			buf_reset(&scratch);
			if (vars_expand(v, st->text, st->text_len, &scratch, msg, sizeof(msg)) < 0) {
				snprintf(err, errlen, "%s:%d: %s", st->file, st->line, msg);
				rc = -1;
			}
		}
		for (size_t k = 0; st->kind == STEP_DATA && k < st->ndata && rc == 0; k++) {
			buf_reset(&scratch);
			if (vars_expand(v, st->data_lines[k], strlen(st->data_lines[k]), &scratch, msg,
			                sizeof(msg)) < 0) {
				/* D: blocks have no blank or comment lines inside: line + k is exact. */
				snprintf(err, errlen, "%s:%d: %s", st->file, st->line + (int)k, msg);
				rc = -1;
			}
		}
	}
	buf_free(&scratch);
	if (rc < 0)
		text_sanitize(err, errlen);
	return rc;
}

/* ---- discovery ---- */

struct walk {
	struct scenario_list *list;
	const char *root;
	struct file_identity *dirs; /* directories on the current path */
	size_t ndirs;
	char *err;
	size_t errlen;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_add(struct scenario_list *l, const char *path, const char *root)
{
	l->paths = xrealloc(l->paths, (l->n + 1) * sizeof(*l->paths));
	l->roots = xrealloc(l->roots, (l->n + 1) * sizeof(*l->roots));
	l->paths[l->n] = xstrdup(path);
	l->roots[l->n] = root ? xstrdup(root) : NULL;
	l->n++;
}

static int walk_dir(struct walk *w, const char *dir, const struct stat *dir_st)
{
	for (size_t i = 0; i < w->ndirs; i++)
		if (w->dirs[i].dev == dir_st->st_dev && w->dirs[i].ino == dir_st->st_ino)
			return 0; /* a symbolic link back up: already being walked */
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *de = readdir(d); de; de = readdir(d))
		if (de->d_name[0] != '_' && de->d_name[0] != '.')
			list_push(&names, &n, xstrdup(de->d_name));
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	int rc = 0;
	w->dirs = xrealloc(w->dirs, (w->ndirs + 1) * sizeof(*w->dirs));
	w->dirs[w->ndirs].dev = dir_st->st_dev;
	w->dirs[w->ndirs].ino = dir_st->st_ino;
	w->ndirs++;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *path = path_join(dir, names[i]);
		struct stat st;
		if (stat(path, &st) < 0) {
			if (ends_with(names[i], ".smtp")) {
				snprintf(w->err, w->errlen, "%s: %s", path, strerror(errno));
				rc = -1;
			}
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, path, &st);
		} else if (S_ISREG(st.st_mode) && ends_with(names[i], ".smtp")) {
			list_add(w->list, path, w->root);
		}
		free(path);
	}
	w->ndirs--;
	list_free(names, n);
	return rc;
}

int scenario_collect(char *const *args, size_t nargs, struct scenario_list *out, char *err,
                     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < nargs; i++) {
		struct stat st;
		if (stat(args[i], &st) < 0) {
			snprintf(err, errlen, "%s: %s", args[i], strerror(errno));
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			struct walk w = {.list = out, .root = args[i], .err = err, .errlen = errlen};
			int rc = walk_dir(&w, args[i], &st);
			free(w.dirs);
			if (rc < 0)
				goto fail;
		} else if (S_ISREG(st.st_mode)) {
			list_add(out, args[i], NULL);
		} else {
			snprintf(err, errlen, "%s: not a file or directory", args[i]);
			goto fail;
		}
	}
	return 0;
fail:
	scenario_list_free(out);
	text_sanitize(err, errlen);
	return -1;
}

void scenario_list_free(struct scenario_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->paths[i]);
		free(l->roots[i]);
	}
	free(l->paths);
	free(l->roots);
	memset(l, 0, sizeof(*l));
}

/* from + "/" + rest -> to + "/" + rest, or NULL when path is not under from. */
static char *rebased(const char *path, const char *from, const char *to)
{
	size_t n = strlen(from);
	if (strncmp(path, from, n) != 0 || path[n] != '/')
		return NULL;
	return xasprintf("%s%s", to, path + n);
}

void scenario_rebase_paths(struct scenario *s, const char *from, const char *to)
{
	char *p = rebased(s->path, from, to);
	if (p) {
		free(s->path);
		s->path = p;
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		char *f = rebased(s->files[i], from, to);
		if (!f)
			continue;
		for (size_t k = 0; k < s->nsteps; k++)
			if (s->steps[k].file == s->files[i])
				s->steps[k].file = f;
		free(s->files[i]);
		s->files[i] = f;
	}
}
