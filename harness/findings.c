/*
 * findings.c - grouping violations into distinct findings (see findings.h).
 *
 * Every violation becomes an occurrence with a key; occurrences are sorted
 * by key (first appearance breaking ties) and each run of equal keys is one
 * finding. The key never merges different rules, commands or reply codes;
 * the normalized text folds what differs between two sightings of one
 * habit (addresses, host names, queue ids, numbers).
 */
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "smtp_limits.h"

/* Bytes of normalized text a key keeps (two sightings of one habit agree
 * well before this). */
#define FINDINGS_KEY_TEXT_MAX 400

struct occurrence {
	char *key;
	size_t order; /* position in the run: scenario, step, violation */
	size_t scenario;
	const struct step_result *step;
	const struct violation *violation;
};

static int has_text(const char *s)
{
	return s && *s;
}

static int is_scenario_rule(const struct violation *v)
{
	const struct rule *r = rule_by_id(v->rule);

	return r ? r->level == LEVEL_SCENARIO : 0;
}

const char *findings_level(const struct scenario_result *sr, const struct violation *v)
{
	const struct rule *r = rule_by_id(v->rule);

	if (r && r->level != LEVEL_SCENARIO)
		return rule_level_name(r->level);
	return has_text(sr->level) ? sr->level : "-";
}

const char *findings_ref(const struct scenario_result *sr, const struct violation *v)
{
	const struct rule *r = rule_by_id(v->rule);

	if (is_scenario_rule(v) || (has_text(v->ref) && strcmp(v->ref, "scenario") == 0))
		return has_text(sr->ref) ? sr->ref : "-";
	if (has_text(v->ref))
		return v->ref;
	return r ? r->ref : "-";
}

const char *findings_sentence(const struct violation *v)
{
	const struct rule *r = rule_by_id(v->rule);

	return r ? r->sentence : NULL;
}

/* ------------------------------------------------------------ normalizing */

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_word(char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_' || c == '@' ||
	       c == '+' || c == '%' || c == '\\' || (unsigned char)c >= 0x80;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* d.d.d with a first digit 2, 4 or 5 and at most three digits a part. */
static int is_status_code(const char *w, size_t n)
{
	size_t i = 0, parts = 0;

	if (n < 5 || (w[0] != '2' && w[0] != '4' && w[0] != '5'))
		return 0;
	while (i < n) {
		size_t digits = 0;

		while (i < n && is_digit(w[i]) && digits < 4)
			i++, digits++;
		if (digits == 0 || digits > 3)
			return 0;
		parts++;
		if (i < n && w[i] != '.')
			return 0;
		if (i < n)
			i++;
	}
	return parts == 3 && w[n - 1] != '.';
}

/* label.label(.label)*, with a letter somewhere: a host name. */
static int is_hostname(const char *w, size_t n)
{
	int dot = 0, letter = 0;

	if (n < 3 || w[0] == '.' || w[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '.') {
			if (w[i + 1] == '.')
				return 0;
			dot = 1;
		} else if (is_alpha(w[i])) {
			letter = 1;
		} else if (!is_digit(w[i]) && w[i] != '-') {
			return 0;
		}
	}
	return dot && letter;
}

static void put_word(struct buf *out, const char *w, size_t n, int first)
{
	size_t letters = 0, digits = 0;

	if (memchr(w, '@', n)) {
		buf_puts(out, "addr");
		return;
	}
	if (first && is_status_code(w, n)) {
		buf_append(out, w, n);
		return;
	}
	if (is_hostname(w, n)) {
		buf_puts(out, "host");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (is_digit(w[i]))
			digits++;
		else if (is_alpha(w[i]))
			letters++;
	}
	if (digits > 0 && letters > 0 && n >= 6) {
		buf_puts(out, "id");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (is_digit(w[i])) {
			buf_puts(out, "n");
			while (i + 1 < n && (is_digit(w[i + 1]) ||
			                     (w[i + 1] == '.' && i + 2 < n && is_digit(w[i + 2]))))
				i++;
			continue;
		}
		char c = lower(w[i]);
		buf_append(out, &c, 1);
	}
}

void findings_normalize(const char *text, struct buf *out)
{
	const char *p = text;
	int space = 0, first = 1;
	size_t start = out->len;

	if (!p)
		return;
	while (*p && out->len - start < FINDINGS_KEY_TEXT_MAX) {
		const char *close;

		if (*p == ' ' || *p == '\t') {
			space = 1;
			p++;
			continue;
		}
		if (space && out->len > start)
			buf_puts(out, " ");
		space = 0;
		if ((*p == '<' && (close = strchr(p, '>')) != NULL) ||
		    (*p == '[' && (close = strchr(p, ']')) != NULL)) {
			buf_puts(out, *p == '<' ? "<addr>" : "[addr]");
			p = close + 1;
			first = 0;
			continue;
		}
		if (is_word(*p)) {
			const char *w = p;
			size_t n;

			while (*p && is_word(*p))
				p++;
			n = (size_t)(p - w);
			/* Sentence punctuation is not part of the word. */
			while (n > 0 && (w[n - 1] == '.' || w[n - 1] == '-'))
				n--;
			put_word(out, w, n, first);
			if (n < (size_t)(p - w))
				buf_append(out, w + n, (size_t)(p - w) - n);
			first = 0;
			continue;
		}
		buf_append(out, p, 1);
		p++;
	}
}

/* ------------------------------------------------------------ grouping */

/*
 * The reply lines without their codes, " | " between them; for the key
 * also without their enhanced status codes, which an EHLO session carries
 * and a HELO session does not (one habit, seen in both).
 */
static void reply_text(const struct step_result *st, int for_key, struct buf *out)
{
	for (size_t i = 0; i < st->nlines; i++) {
		const char *l = st->lines[i];

		if (!l)
			continue;
		if (i > 0)
			buf_puts(out, " | ");
		if (is_digit(l[0]) && is_digit(l[1]) && is_digit(l[2]) &&
		    (l[3] == ' ' || l[3] == '-' || l[3] == '\0'))
			l += l[3] ? 4 : 3;
		if (for_key) {
			size_t n = strcspn(l, " ");

			if (is_status_code(l, n))
				l += n;
		}
		buf_puts(out, l);
	}
}

/* The part of a violation's message that tells causes apart. A model row's
 * message names the state ("VRFY got 500 before EHLO/HELO: <row>"), a
 * smuggling finding the byte sequence ("... at \\n.\\n (not ...): ... to the
 * end of data: <exploitable or not>"): one cause in two states, or one
 * lax end-of-data parser met by five sequences, is one finding (the
 * scenarios list names each sequence). */
static int is_model_row(const struct rule *r)
{
	return r && strcmp(r->message, RULE_MSG_MODEL) == 0;
}

static const char *key_words(const struct violation *v)
{
	const struct rule *r = rule_by_id(v->rule);
	const char *marker = NULL, *at;
	if (is_model_row(r))
		marker = ": ";
	else if (r && r->rule == RULE_SMUGGLING_EARLY_END)
		marker = " end of data: ";
	if (marker && (at = strstr(v->message, marker)) != NULL)
		return at + strlen(marker);
	return v->message;
}

static char *occurrence_key(const struct step_result *st, const struct violation *v)
{
	struct buf key = { 0 }, text = { 0 };

	/* \x1f separates the parts; normalized text never holds it (escaped). */
	buf_printf(&key, "%s\x1f%s\x1f%d\x1f", v->rule ? v->rule : "",
	           st->command ? st->command : "", st->has_reply ? st->code : -1);
	if (is_scenario_rule(v) || !rule_by_id(v->rule))
		buf_printf(&key, "%s\x1f", st->expect ? st->expect : "");
	findings_normalize(key_words(v), &key);
	buf_puts(&key, "\x1f");
	if (st->has_reply) {
		reply_text(st, 1, &text);
		findings_normalize(text.data ? text.data : "", &key);
	}
	buf_free(&text);
	return buf_steal(&key);
}

static int cmp_occurrence(const void *a, const void *b)
{
	const struct occurrence *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

int findings_level_rank(const char *level)
{
	if (strcmp(level, "MUST") == 0)
		return 0;
	if (strcmp(level, "SHOULD") == 0)
		return 1;
	if (strcmp(level, "MAY") == 0)
		return 2;
	return 3;
}

/* The violation failed its scenario. */
static int occurrence_fails(const struct run_result *run, const struct step_result *st,
                            const struct violation *v)
{
	return st->verdict == VERDICT_FAIL && (v->severity == SEV_ERROR || run->strict);
}

/* The scenario's id names the command ("core.noop.basic" for NOOP). */
static int id_names_command(const struct scenario_result *sr, const char *command)
{
	char word[32];
	size_t n = 0;

	if (!has_text(sr->id) || !has_text(command))
		return 0;
	for (; command[n] && n + 1 < sizeof(word); n++)
		word[n] = lower(command[n]);
	word[n] = '\0';
	return strstr(sr->id, word) != NULL;
}

/* How good an occurrence is as the example (lower is better): failing
 * first, then by level, then a scenario about the command. */
static int occurrence_rank(const struct run_result *run, const struct occurrence *o)
{
	const struct scenario_result *sr = &run->scenarios[o->scenario];
	int fails = occurrence_fails(run, o->step, o->violation) && !sr->waived;

	return (fails ? 0 : 16) + findings_level_rank(findings_level(sr, o->violation)) * 2 +
	       !id_names_command(sr, o->step->command);
}

/* A finding with its first appearance, for the report order. */
struct ranked {
	struct finding f;
	size_t first;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int lx = findings_level_rank(x->f.level), ly = findings_level_rank(y->f.level);

	if (x->f.failing != y->f.failing)
		return y->f.failing - x->f.failing;
	if (lx != ly)
		return lx - ly;
	if (x->f.nscenarios != y->f.nscenarios)
		return x->f.nscenarios > y->f.nscenarios ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

static void finish_finding(const struct run_result *run, struct finding *f)
{
	const struct scenario_result *sr = &run->scenarios[f->example];
	const struct rule *r = rule_by_id(f->rule);
	struct buf text = { 0 };
	struct hint_query q;

	f->level = findings_level(sr, f->violation);
	f->ref = findings_ref(sr, f->violation);
	f->sentence = findings_sentence(f->violation);
	f->sentence_ref = r && r->sentence ? (r->source ? r->source : r->ref) : NULL;
	f->title = (!r || r->level == LEVEL_SCENARIO) && has_text(sr->title) ? sr->title : NULL;
	reply_text(f->step, 0, &text);
	buf_puts(&text, " | ");
	buf_puts(&text, f->violation->message ? f->violation->message : "");
	q.rule = f->rule;
	q.scenario = sr->id;
	q.command = f->command;
	q.code = f->code;
	q.reply = text.data;
	q.greeting = run->greeting;
	f->hint = hint_find(&q);
	buf_free(&text);
}

/* 1 when v is the scenario's expect.code and another violation of the same
 * step, at least as severe, judges that same reply code against the RFCs:
 * the matrix, or a protocol-model row (the model's size.within-limit-refused
 * beside "expected 250, got 552"). One cause, one finding; the scenario's
 * details still list both. Rules about other parts of the reply (syntax,
 * enhanced codes) are other causes. */
static int expect_code_explained(const struct step_result *st, const struct violation *v)
{
	if (strcmp(v->rule, rule_get(RULE_EXPECT_CODE)->id) != 0)
		return 0;
	for (size_t j = 0; j < st->nviolations; j++) {
		const struct violation *o = &st->violations[j];
		const struct rule *r = rule_by_id(o->rule);
		int judges_code = (r && r->category == RULE_CAT_MATRIX) || is_model_row(r);
		if (o != v && judges_code && o->severity <= v->severity)
			return 1;
	}
	return 0;
}

void findings_build(const struct run_result *run, struct findings *out)
{
	struct occurrence *occ = NULL;
	struct ranked *ranked = NULL;
	size_t nocc = 0, cap = 0, nranked = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < run->nscenarios; i++) {
		const struct scenario_result *sr = &run->scenarios[i];

		for (size_t k = 0; k < sr->nsteps; k++) {
			const struct step_result *st = &sr->steps[k];

			for (size_t j = 0; j < st->nviolations; j++) {
				/* An inconclusive setup step's unmet expectation is the
				 * scenario's reason, not a finding about the server; so
				 * is the silence after a 421 (the step without a reply
				 * that scenario_judge marks inconclusive too). */
				const struct rule *rr = rule_by_id(st->violations[j].rule);
				if (st->verdict == VERDICT_INCONCLUSIVE &&
				    (!st->has_reply || (rr && rr->category == RULE_CAT_EXPECT)))
					continue;
				if (expect_code_explained(st, &st->violations[j]))
					continue;
				if (nocc == cap) {
					cap = cap ? cap * 2 : 16;
					occ = xrealloc(occ, cap * sizeof(*occ));
				}
				occ[nocc].key = occurrence_key(st, &st->violations[j]);
				occ[nocc].order = nocc;
				occ[nocc].scenario = i;
				occ[nocc].step = st;
				occ[nocc].violation = &st->violations[j];
				nocc++;
			}
		}
	}
	if (nocc == 0)
		return;
	qsort(occ, nocc, sizeof(*occ), cmp_occurrence);
	ranked = xcalloc(nocc, sizeof(*ranked));
	for (size_t i = 0; i < nocc;) {
		struct ranked *rk = &ranked[nranked++];
		struct finding *f = &rk->f;
		size_t end = i, nfail_waived = 0, ex;

		while (end < nocc && strcmp(occ[end].key, occ[i].key) == 0)
			end++;
		/* The first appearance is occ[i]: the sort keeps run order in a key.
		 * The example is the first at the strongest level (expect.* take
		 * theirs from the scenario, so one key may span levels). */
		rk->first = occ[i].order;
		ex = i;
		for (size_t j = i + 1; j < end; j++)
			if (occurrence_rank(run, &occ[j]) < occurrence_rank(run, &occ[ex]))
				ex = j;
		f->rule = occ[ex].violation->rule ? occ[ex].violation->rule : "?";
		f->command = occ[ex].step->command ? occ[ex].step->command : "";
		f->code = occ[ex].step->has_reply ? occ[ex].step->code : -1;
		f->severity = occ[ex].violation->severity;
		f->example = occ[ex].scenario;
		f->step = occ[ex].step;
		f->violation = occ[ex].violation;
		f->scenarios = xcalloc(end - i, sizeof(*f->scenarios));
		for (size_t j = i; j < end; j++) {
			const struct scenario_result *sr = &run->scenarios[occ[j].scenario];

			if (occurrence_fails(run, occ[j].step, occ[j].violation)) {
				if (sr->waived)
					nfail_waived++;
				else
					f->failing = 1;
			}
			if (occ[j].violation->severity < f->severity)
				f->severity = occ[j].violation->severity; /* error < warn < note */
			/* Scenario indexes arrive ascending within a key. */
			if (f->nscenarios == 0 ||
			    f->scenarios[f->nscenarios - 1] != occ[j].scenario)
				f->scenarios[f->nscenarios++] = occ[j].scenario;
		}
		f->waived = !f->failing && nfail_waived > 0;
		finish_finding(run, f);
		i = end;
	}
	qsort(ranked, nranked, sizeof(*ranked), cmp_ranked);
	out->list = xcalloc(nranked, sizeof(*out->list));
	for (size_t i = 0; i < nranked; i++) {
		out->list[i] = ranked[i].f;
		if (out->list[i].failing)
			out->nfailing++;
	}
	out->n = nranked;
	for (size_t i = 0; i < nocc; i++)
		free(occ[i].key);
	free(occ);
	free(ranked);
}

void findings_free(struct findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->list[i].scenarios);
	free(f->list);
	memset(f, 0, sizeof(*f));
}

int findings_has_scenario(const struct finding *f, size_t sc)
{
	size_t lo = 0, hi = f->nscenarios;

	/* f->scenarios is ascending. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->scenarios[mid] == sc)
			return 1;
		if (f->scenarios[mid] < sc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const char *findings_label(const struct finding *f)
{
	if (f->failing)
		return "FAIL";
	if (f->waived)
		return "WAIVED";
	return f->severity == SEV_NOTE ? "NOTE" : "WARN";
}
