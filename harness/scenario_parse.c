/*
 * scenario_parse.c - reading .smtp files into struct scenario: the line
 * parser, the header table and its rules, @include expansion with its
 * bounds and cycle check, and scenario_load / scenario_free.
 *
 * Owns every "path:line: message" about a file's syntax, and the header
 * table (every message that lists headers is built from it). Does not find
 * files (scenario_files.c), parse expectations (expect.c), lint
 * (scenario_lint.c), connect, or expand variables (vars.c does, when asked
 * through scenario_check_vars). Format reference: docs/scenario-format.md.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sasl.h"
#include "smtp_limits.h"
#include "scenario.h"
#include "scenario_internal.h"
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
static const char *const header_names[HDR_COUNT + 1] = {
	"id", "title", "ref", "level", "tags", "requires", "timeout", "when", NULL,
};

const char *const *scenario_header_names(void)
{
	return header_names;
}

/*
 * The largest "timeout:" keeps seconds * 1000 in an int32 so the session can
 * compute milliseconds without overflow.
 */
#define TIMEOUT_HEADER_MAX_S (INT32_MAX / 1000)

/* Parser state for the whole scenario (all files). */
struct parser {
	struct scenario *s;
	char *err; /* caller's message buffer */
	size_t errlen;
	size_t steps_cap;
	int seen_step;              /* a step or @include was read: no more headers */
	int header_line[HDR_COUNT]; /* line of each header seen, 0 if not yet */
	struct file_identity chain[SCENARIO_INCLUDE_DEPTH + 1];
	const char *chain_path[SCENARIO_INCLUDE_DEPTH + 1];
	int chain_line[SCENARIO_INCLUDE_DEPTH + 1]; /* line of the @include in the file before */
	size_t chain_len; /* files being read: the scenario, then includes */
	size_t includes;  /* @include lines followed so far (fan-out bound) */
	size_t bytes;     /* bytes of every file read so far, includes expanded */
	int own_step;     /* the scenario file itself gave a step: later
	                              @include lines are no longer its opening */
	int test_line;    /* line of the @test marker, 0 if none */
};

/* Parser state for one file. */
struct source {
	const char *path; /* owned by scenario.files */
	int included;     /* 0 for the scenario file itself */
	int line;         /* current line, 1-based */
	long data_step;   /* index of the D: block open in this file, -1 if none */
	int gap_line;     /* blank or comment line after that block's last D:, or 0 */
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
				         "invalid variable name {%.*s} (use letters, digits, '_', "
				         "'.', '-'; "
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
	/* Setup: what the opening @include lines bring (the greeting, EHLO,
	 * an envelope); @test marks the rest later. */
	s->steps[s->nsteps].setup = p->chain_len > 1 && !p->own_step;
	if (st->text && strstr(st->text, "{rcpt}"))
		s->steps[s->nsteps].uses_rcpt = 1;
	if (st->text && strstr(st->text, "{sender}"))
		s->steps[s->nsteps].uses_sender = 1;
	if (st->text && (strstr(st->text, "{relay_rcpt}") || strstr(st->text, "{foreign_domain}")))
		s->steps[s->nsteps].uses_relay = 1;
	return &s->steps[s->nsteps++];
}

static void step_free(struct step *st)
{
	free(st->text);
	list_free(st->data_lines, st->ndata);
	expect_free(&st->expect);
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
	if (h == HDR_COUNT) {
		struct buf known = { 0 };
		for (h = 0; h < HDR_COUNT; h++)
			buf_printf(&known, "%s%s", h ? ", " : "", header_names[h]);
		fail(p, src->path, src->line, "unknown header \"%s\" (known: %s)", key, known.data);
		buf_free(&known);
		return -1;
	}
	if (src->included)
		return fail(p, src->path, src->line,
		            "header \"%s\" in a file included from %s:%d (headers belong to the "
		            "scenario; is a scenario named like the library file it includes?)",
		            header_names[h], p->chain_path[p->chain_len - 2],
		            p->chain_line[p->chain_len - 1]);
	if (p->seen_step)
		return fail(
		    p, src->path, src->line,
		    "header \"%s\" after the first step (headers come before any C:, S:, D:, "
		    "R: or @include line)",
		    header_names[h]);
	if (p->header_line[h])
		return fail(p, src->path, src->line, "duplicate header \"%s\" (first on line %d)",
		            header_names[h], p->header_line[h]);
	value = trim(value);
	if (*value == '\0')
		return fail(p, src->path, src->line, "header \"%s\" needs a value",
		            header_names[h]);
	p->header_line[h] = src->line;

	switch (h) {
	case HDR_ID:
		for (const char *c = value; *c; c++)
			if (!is_alpha(*c) && !is_digit(*c) && *c != '.' && *c != '_' && *c != '-')
				return fail(p, src->path, src->line,
				            "id \"%s\": use letters, digits, '.', '_' and '-'",
				            value);
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
					            "requires: \"%s\" is not an EHLO keyword or "
					            "KEYWORD=PARAM (letters, digits "
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
			ok = is_alpha(name[i]) || is_digit(name[i]) || name[i] == '_' ||
			     name[i] == '.' || name[i] == '-';
		if (!ok)
			return fail(p, src->path, src->line,
			            "when: \"%s\" is not a variable name (letters, digits, _ . -)",
			            value);
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
			            "timeout \"%s\": expected a whole number of seconds, 1 to %d",
			            value, TIMEOUT_HEADER_MAX_S);
		s->timeout_s = (int)secs;
		break;
	}
	default: BUG("header index out of range");
	}
	return 0;
}

static int line_command(struct parser *p, struct source *src, const char *text)
{
	char msg[512];
	if (braces_check(text, msg, sizeof(msg)) < 0)
		return fail(p, src->path, src->line, "%s", msg);
	struct step st = { .kind = STEP_CMD, .file = src->path, .line = src->line };
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
	struct buf bytes = { 0 };
	char why[256] = "";
	if (text_unescape(&bytes, v + 1, i - 1, why, sizeof(why)) < 0) {
		buf_free(&bytes);
		return fail(p, src->path, src->line, "R: %s",
		            why[0] ? why : "bad escape in raw bytes");
	}
	if (bytes.len == 0) {
		buf_free(&bytes);
		return fail(p, src->path, src->line, "R: \"\" sends nothing");
	}
	struct step st = { .kind = STEP_RAW, .file = src->path, .line = src->line };
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
		return fail(
		    p, src->path, src->gap_line,
		    "%s inside a D: block (every content line is a D: line; an empty one is "
		    "written \"D:\")",
		    src->gap_is_comment ? "comment" : "blank line");
	if (src->data_step < 0) {
		struct step st = { .kind = STEP_DATA, .file = src->path, .line = src->line };
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
	struct step st = { .kind = STEP_AUTH, .file = src->path, .line = src->line };
	char *save = NULL;
	char *mech = strtok_r(value, " \t", &save);
	if (!mech || sasl_mech_parse(mech) < 0)
		return fail(
		    p, src->path, src->line,
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
	struct step st = { .kind = STEP_EXPECT, .file = src->path, .line = src->line };
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

static int line_include(struct parser *p, struct source *src, char *rest)
{
	char *name = trim(rest);
	if (*name == '\0')
		return fail(p, src->path, src->line, "@include needs a file name");
	if (++p->includes > SCENARIO_INCLUDES_MAX)
		return fail(
		    p, src->path, src->line,
		    "cannot include %s: more than %d @include lines in one scenario, counting "
		    "those of included files each time they are included",
		    name, SCENARIO_INCLUDES_MAX);
	char msg[PATH_MAX * 3];
	char *found = scenario_include_find(src->path, name, msg, sizeof(msg));
	if (!found)
		return fail(p, src->path, src->line, "%s", msg);
	int rc = load_file(p, found, src->path, src->line, name);
	free(found);
	return rc;
}

/* "@test": every step above is setup, the test begins here. Once, in the
 * scenario file itself, after at least one step. */
static int line_test(struct parser *p, struct source *src)
{
	if (src->included)
		return fail(p, src->path, src->line,
		            "@test belongs in the scenario file, not in an included file");
	if (p->test_line)
		return fail(p, src->path, src->line, "a second @test (the first is on line %d)",
		            p->test_line);
	if (p->s->nsteps == 0)
		return fail(p, src->path, src->line, "@test before any step: nothing to set up");
	p->test_line = src->line;
	p->seen_step = 1;
	p->own_step = 1;
	for (size_t i = 0; i < p->s->nsteps; i++)
		p->s->steps[i].setup = 1;
	return 0;
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
		if (!src->included)
			p->own_step = 1;
		return line_data(p, src, line + 2 + (line[2] == ' '));
	}
	data_close(src);
	if (strncmp(line, "@include", 8) == 0 && (line[8] == '\0' || is_space(line[8]))) {
		p->seen_step = 1;
		return line_include(p, src, line + 8);
	}
	if (strncmp(line, "@test", 5) == 0 && *trim(line + 5) == '\0')
		return line_test(p, src);
	size_t k = 0;
	if (is_alpha(line[0])) {
		k = 1;
		while (is_alpha(line[k]) || is_digit(line[k]) || line[k] == '_' || line[k] == '-')
			k++;
	}
	if (k == 0 || line[k] != ':')
		return fail(p, src->path, src->line,
		            "unknown line; expected C:, S:, D:, R:, A:, @include, @test or a "
		            "header (key: value)");
	char *value = line + k + 1;
	if (k == 1 && (line[0] == 'C' || line[0] == 'S' || line[0] == 'R' || line[0] == 'A')) {
		p->seen_step = 1;
		if (!src->included)
			p->own_step = 1;
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
		            "unknown line; expected C:, S:, D:, R:, A:, @include, @test or a "
		            "header (key: value)");
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
	struct buf text = { 0 };
	int rc = -1;

	int not_file = stat(path, &st) < 0;
	if (not_file || S_ISDIR(st.st_mode)) {
		const char *why = not_file ? strerror(errno) : "is a directory";
		if (from)
			return fail(p, from, from_line, "cannot include %s: %s: %s", name, path,
			            why);
		snprintf(p->err, p->errlen, "%s: %s", path, why);
		return -1;
	}
	for (size_t i = 0; i < p->chain_len; i++) {
		if (p->chain[i].dev == st.st_dev && p->chain[i].ino == st.st_ino) {
			struct buf cycle = { 0 };
			for (size_t j = i; j < p->chain_len; j++)
				buf_printf(&cycle, "%s -> ", p->chain_path[j]);
			buf_puts(&cycle, path);
			fail(p, from, from_line, "cannot include %s: include cycle: %s", name,
			     cycle.data);
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

int scenario_load(const char *path, const char *root, struct scenario **out, char *err,
                  size_t errlen)
{
	struct scenario *s = xcalloc(1, sizeof(*s));
	struct parser p = { .s = s, .err = err, .errlen = errlen };
	*out = NULL;
	s->path = xstrdup(path);
	if (errlen)
		err[0] = '\0';
	if (load_file(&p, path, NULL, 0, NULL) < 0 || scenario_lint(s, err, errlen) < 0) {
		scenario_free(s);
		text_sanitize(err, errlen); /* file text and names reach a terminal */
		return -1;
	}
	if (!s->id)
		s->id = scenario_id_from_path(path, root);
	if (!s->title)
		s->title = xstrdup("");
	if (!s->ref)
		s->ref = xstrdup("");
	if (!s->level)
		s->level = xstrdup("");
	/* Only setup and nothing after it (a scenario that is its @include):
	 * those steps are what it tests. */
	size_t own = 0;
	for (size_t i = 0; i < s->nsteps; i++)
		own += !s->steps[i].setup;
	for (size_t i = 0; own == 0 && i < s->nsteps; i++)
		s->steps[i].setup = 0;
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

int scenario_check_vars(const struct scenario *s, const struct vars *given, char *err,
                        size_t errlen)
{
	struct buf scratch = { 0 };
	char msg[512];
	int rc = 0;
	/* The scenario runs only when its when: variable is set (by --var or
	 * by the probe, as size_max): it counts as defined here. */
	struct vars with_when = { 0 };
	const struct vars *v = given;
	if (s->when && !vars_get(given, s->when)) {
		for (size_t i = 0; i < given->n; i++)
			vars_set(&with_when, given->names[i], given->values[i]);
		vars_set(&with_when, s->when, "0");
		v = &with_when;
	}
	for (size_t i = 0; i < s->nsteps && rc == 0; i++) {
		const struct step *st = &s->steps[i];
		if (st->kind == STEP_CMD) {
			buf_reset(&scratch);
			if (vars_expand(v, st->text, st->text_len, &scratch, msg, sizeof(msg)) <
			    0) {
				snprintf(err, errlen, "%s:%d: %s", st->file, st->line, msg);
				rc = -1;
			}
		}
		for (size_t k = 0; st->kind == STEP_DATA && k < st->ndata && rc == 0; k++) {
			buf_reset(&scratch);
			if (vars_expand(v, st->data_lines[k], strlen(st->data_lines[k]), &scratch,
			                msg, sizeof(msg)) < 0) {
				/* D: blocks have no blank or comment lines inside: line + k is exact. */
				snprintf(err, errlen, "%s:%d: %s", st->file, st->line + (int)k,
				         msg);
				rc = -1;
			}
		}
	}
	buf_free(&scratch);
	vars_free(&with_when);
	if (rc < 0)
		text_sanitize(err, errlen);
	return rc;
}
