/*
 * matrix.c - looks up the allowed-code matrix and prints it for people.
 *
 * Owns a read-only index over matrix_rows[], built once on first use: the
 * profiles in TSV order, each with its commands sorted by name, each command
 * with its rows sorted by code. A lookup is a short profile scan and two
 * binary searches; it allocates nothing. Does not own the rows (generated
 * from the TSV files in fixtures/matrix/ by fixtures/gen_matrix.py) nor any
 * verdict (check.c decides what a missing row means).
 */
#include "matrix.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "util.h"

/* A command name, NUL included, is at most this long (gen_matrix.py checks). */
#define MATRIX_VERB_MAX 32
/* Codes the index can hold; the TSV allows 200..559. */
#define MATRIX_CODE_LO 200
#define MATRIX_CODE_HI 599
#define MATRIX_NCODES (MATRIX_CODE_HI - MATRIX_CODE_LO + 1)
/* Width of the codes column in matrix_print(). */
#define MATRIX_PRINT_CODES_WIDTH 40

static const char STAR[] = "*";

struct matrix_command {
	const char *name;  /* upper-case, as in the TSV */
	size_t first_row;  /* index in matrix_rows[] of its first row: ref and print order */
	size_t begin, end; /* its rows: matrix_index.order[begin..end), sorted by code */
	int star_applies;  /* 0 for CONNECT and DATA-END, which are not commands */
};

struct matrix_profile {
	const char *name;
	size_t begin, end;                    /* its commands: matrix_index.commands[begin..end) */
	const struct matrix_command *star;    /* its "*" rows, or NULL */
	const struct matrix_command *unknown; /* its UNKNOWN rows, or NULL */
};

static struct {
	struct matrix_profile *profiles;
	size_t nprofiles;
	struct matrix_command *commands; /* grouped by profile, sorted by name in a group */
	size_t ncommands;
	size_t *order;      /* row indices grouped by command, sorted by code in a group */
	const char **names; /* profile names, NULL-terminated */
} matrix_index;

static pthread_once_t matrix_once = PTHREAD_ONCE_INIT;

static int command_cmp(const void *a, const void *b)
{
	const struct matrix_command *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int row_code_cmp(const void *a, const void *b)
{
	int x = matrix_rows[*(const size_t *)a].code, y = matrix_rows[*(const size_t *)b].code;
	return (x > y) - (x < y);
}

static size_t profile_index_of(const char *name)
{
	for (size_t i = 0; i < matrix_index.nprofiles; i++)
		if (strcmp(matrix_index.profiles[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

static void matrix_build(void)
{
	size_t n = matrix_rows_len;
	matrix_index.profiles = xcalloc(n, sizeof(*matrix_index.profiles));
	matrix_index.commands = xcalloc(n, sizeof(*matrix_index.commands));
	matrix_index.order = xcalloc(n, sizeof(*matrix_index.order));
	matrix_index.names = xcalloc(n + 1, sizeof(*matrix_index.names));

	/* Profiles in TSV order. */
	for (size_t i = 0; i < n; i++) {
		if (profile_index_of(matrix_rows[i].profile) != SIZE_MAX)
			continue;
		size_t p = matrix_index.nprofiles++;
		matrix_index.profiles[p].name = matrix_rows[i].profile;
		matrix_index.names[p] = matrix_rows[i].profile;
	}

	/* Each profile's commands, then sorted by name. */
	for (size_t p = 0; p < matrix_index.nprofiles; p++) {
		struct matrix_profile *prof = &matrix_index.profiles[p];
		prof->begin = matrix_index.ncommands;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(matrix_rows[i].profile, prof->name) != 0)
				continue;
			int seen = 0;
			for (size_t c = prof->begin; c < matrix_index.ncommands && !seen; c++)
				seen = strcmp(matrix_index.commands[c].name,
				              matrix_rows[i].command) == 0;
			if (seen)
				continue;
			struct matrix_command *cmd =
			    &matrix_index.commands[matrix_index.ncommands++];
			cmd->name = matrix_rows[i].command;
			cmd->first_row = i;
			cmd->star_applies = !command_is(cmd->name, CMD_CONNECT) &&
			                    !command_is(cmd->name, CMD_DATA_END);
		}
		prof->end = matrix_index.ncommands;
		qsort(matrix_index.commands + prof->begin, prof->end - prof->begin,
		      sizeof(*matrix_index.commands), command_cmp);
	}

	/* Each command's rows, sorted by code. */
	size_t used = 0;
	for (size_t p = 0; p < matrix_index.nprofiles; p++) {
		struct matrix_profile *prof = &matrix_index.profiles[p];
		for (size_t c = prof->begin; c < prof->end; c++) {
			struct matrix_command *cmd = &matrix_index.commands[c];
			cmd->begin = used;
			for (size_t i = 0; i < n; i++)
				if (strcmp(matrix_rows[i].profile, prof->name) == 0 &&
				    strcmp(matrix_rows[i].command, cmd->name) == 0)
					matrix_index.order[used++] = i;
			cmd->end = used;
			qsort(matrix_index.order + cmd->begin, cmd->end - cmd->begin,
			      sizeof(*matrix_index.order), row_code_cmp);
			if (strcmp(cmd->name, STAR) == 0)
				prof->star = cmd;
			else if (strcmp(cmd->name, command_get(CMD_UNKNOWN)->matrix_row) == 0)
				prof->unknown = cmd;
		}
	}
}

static void matrix_ready(void)
{
	pthread_once(&matrix_once, matrix_build);
}

static const struct matrix_profile *find_profile(const char *profile)
{
	if (!profile)
		return NULL;
	matrix_ready();
	size_t p = profile_index_of(profile);
	return p == SIZE_MAX ? NULL : &matrix_index.profiles[p];
}

/* The command's own rows, matched case-insensitively; NULL if it has none. */
static const struct matrix_command *find_command(const struct matrix_profile *prof,
                                                 const char *command)
{
	char upper[MATRIX_VERB_MAX];
	size_t len = 0;
	if (!command)
		return NULL;
	for (; command[len]; len++) {
		if (len + 1 >= sizeof(upper))
			return NULL; /* longer than any name in the matrix */
		unsigned char ch = (unsigned char)command[len];
		upper[len] = (char)(ch >= 'a' && ch <= 'z' ? ch - ('a' - 'A') : ch);
	}
	upper[len] = '\0';
	size_t lo = prof->begin, hi = prof->end;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(upper, matrix_index.commands[mid].name);
		if (cmp == 0)
			return &matrix_index.commands[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The command's own rows, or the profile's UNKNOWN rows for a verb it does not define. */
static const struct matrix_command *resolve_command(const struct matrix_profile *prof,
                                                    const char *command)
{
	const struct matrix_command *cmd = find_command(prof, command);
	return cmd ? cmd : prof->unknown;
}

static const struct matrix_row *find_code(const struct matrix_command *cmd, int code)
{
	if (!cmd)
		return NULL;
	size_t lo = cmd->begin, hi = cmd->end;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct matrix_row *row = &matrix_rows[matrix_index.order[mid]];
		if (row->code == code)
			return row;
		if (code < row->code)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int matrix_profile_known(const char *profile)
{
	return find_profile(profile) != NULL;
}

const char *const *matrix_profiles(void)
{
	matrix_ready();
	return matrix_index.names;
}

int matrix_command_known(const char *profile, const char *command)
{
	const struct matrix_profile *prof = find_profile(profile);
	return prof && find_command(prof, command) != NULL;
}

const struct matrix_row *matrix_lookup(const char *profile, const char *command, int code)
{
	const struct matrix_profile *prof = find_profile(profile);
	if (!prof)
		return NULL;
	const struct matrix_command *cmd = resolve_command(prof, command);
	const struct matrix_row *row = find_code(cmd, code);
	if (!row && (!cmd || cmd->star_applies))
		row = find_code(prof->star, code);
	return row;
}

/* Marks the codes of cmd's rows in allowed[]. */
static void mark_codes(const struct matrix_command *cmd, unsigned char *allowed)
{
	if (!cmd)
		return;
	for (size_t i = cmd->begin; i < cmd->end; i++) {
		int code = matrix_rows[matrix_index.order[i]].code;
		if (code >= MATRIX_CODE_LO && code <= MATRIX_CODE_HI)
			allowed[code - MATRIX_CODE_LO] = 1;
	}
}

void matrix_allowed_set(const char *profile, const char *command, char *out, size_t outlen)
{
	if (!out || outlen == 0)
		return;
	out[0] = '\0';
	const struct matrix_profile *prof = find_profile(profile);
	if (!prof)
		return;
	unsigned char allowed[MATRIX_NCODES] = { 0 };
	const struct matrix_command *cmd = resolve_command(prof, command);
	mark_codes(cmd, allowed);
	if (!cmd || cmd->star_applies)
		mark_codes(prof->star, allowed);
	size_t len = 0;
	for (int i = 0; i < MATRIX_NCODES; i++) {
		if (!allowed[i])
			continue;
		char item[8];
		int n = snprintf(item, sizeof(item), "%s%d", len ? ", " : "", MATRIX_CODE_LO + i);
		if (n < 0 || (size_t)n >= outlen - len)
			break; /* only whole codes; the rest does not fit */
		memcpy(out + len, item, (size_t)n + 1);
		len += (size_t)n;
	}
}

const char *matrix_command_ref(const char *profile, const char *command)
{
	const struct matrix_profile *prof = find_profile(profile);
	if (!prof)
		return "";
	const struct matrix_command *cmd = resolve_command(prof, command);
	if (!cmd)
		cmd = prof->star;
	return cmd ? matrix_rows[cmd->first_row].ref : "";
}

static const char *command_title(const char *name)
{
	if (strcmp(name, STAR) == 0)
		return "any command (*): every verb and UNKNOWN, not CONNECT or DATA-END";
	if (command_is(name, CMD_CONNECT))
		return "CONNECT: the greeting";
	if (command_is(name, CMD_DATA_END))
		return "DATA-END: the reply after <CRLF>.<CRLF>";
	if (strcmp(name, command_get(CMD_UNKNOWN)->matrix_row) == 0)
		return "UNKNOWN: a verb this profile does not define";
	return name;
}

static int same_command(const struct matrix_row *r, const struct matrix_command *cmd)
{
	const struct matrix_row *first = &matrix_rows[cmd->first_row];
	return strcmp(r->command, first->command) == 0 && strcmp(r->profile, first->profile) == 0;
}

/* Prints cmd's codes of one class and ref on one line, ascending, "~" after warn codes. */
static void print_group(FILE *out, const struct matrix_command *cmd, char cls, const char *ref)
{
	int width = fprintf(out, "  %c ", cls);
	for (size_t j = cmd->begin; j < cmd->end; j++) {
		const struct matrix_row *r = &matrix_rows[matrix_index.order[j]];
		if (r->reply_class == cls && strcmp(r->ref, ref) == 0)
			width +=
			    fprintf(out, " %d%s", r->code, r->severity == MATRIX_WARN ? "~" : "");
	}
	fprintf(out, "%*s%s\n",
	        width < MATRIX_PRINT_CODES_WIDTH ? MATRIX_PRINT_CODES_WIDTH - width : 2, "", ref);
}

/* A block per command: per class, one line per ref in TSV order; then the warn notes. */
static void print_command(FILE *out, const struct matrix_command *cmd)
{
	static const char classes[] = "SIFE";
	fprintf(out, "%s\n", command_title(cmd->name));
	for (const char *cls = classes; *cls; cls++) {
		for (size_t i = cmd->first_row; i < matrix_rows_len; i++) {
			const struct matrix_row *lead = &matrix_rows[i];
			if (lead->reply_class != *cls || !same_command(lead, cmd))
				continue;
			int printed = 0; /* a group is printed at its first row */
			for (size_t j = cmd->first_row; j < i && !printed; j++)
				printed = matrix_rows[j].reply_class == *cls &&
				          strcmp(matrix_rows[j].ref, lead->ref) == 0 &&
				          same_command(&matrix_rows[j], cmd);
			if (!printed)
				print_group(out, cmd, *cls, lead->ref);
		}
	}
	for (size_t i = cmd->begin; i < cmd->end; i++) {
		const struct matrix_row *r = &matrix_rows[matrix_index.order[i]];
		if (r->severity == MATRIX_WARN)
			fprintf(out, "     %d~ %s\n", r->code,
			        r->note && *r->note ? r->note : r->ref);
	}
}

void matrix_print(FILE *out, const char *profile)
{
	const struct matrix_profile *prof = find_profile(profile);
	if (!prof) {
		fprintf(out, "no matrix rows for profile '%s'\n", profile ? profile : "(null)");
		return;
	}
	fprintf(out,
	        "Allowed reply codes, profile %s\n"
	        "Classes: S success, I intermediate, F failure, E error. A code marked ~ is\n"
	        "allowed but non-standard (severity warn); any code not listed is an error.\n",
	        prof->name);
	if (prof->star) {
		fputc('\n', out);
		print_command(out, prof->star);
	}
	/* The other commands in TSV order: each at its first row. */
	for (size_t i = 0; i < matrix_rows_len; i++) {
		for (size_t c = prof->begin; c < prof->end; c++) {
			const struct matrix_command *cmd = &matrix_index.commands[c];
			if (cmd->first_row == i && cmd != prof->star) {
				fputc('\n', out);
				print_command(out, cmd);
			}
		}
	}
}
