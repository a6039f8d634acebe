/*
 * run_options.c - the option table of `smtpconform run` and the one function
 * that checks and applies a value, for argv and target profiles alike.
 *
 * Owns the rows (spelling, argument, profile key, help text), the checks of
 * every value and their messages, and the --help lines generated from the
 * rows. Does not read argv or exit (main.c does), nor parse the profile's
 * syntax (config.c). See run_options.h.
 */
#include "run_options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "matrix.h"
#include "report_live.h"
#include "smtp_limits.h"
#include "util.h"

#ifndef SMTPCONFORM_DATADIR
#define SMTPCONFORM_DATADIR "/usr/local/share/smtpconform"
#endif

/* Column where the help text starts in --help. */
#define USAGE_HELP_COLUMN 27
/* Largest --timeout: a day. */
#define TIMEOUT_OPTION_MAX_S (24 * 3600)

/* clang-format off */
const struct run_option run_options[] = {
	{RUN_OPT_CONFIG, "config", 'c', "FILE", 0,
	 "a target profile (targets/*.conf): key = value lines\n"
	 "for target, profile, timeout, jobs, strict, report and\n"
	 "var.NAME; options on the command line win"},
	{RUN_OPT_TARGET, "target", 't', "TARGET", RUN_OPT_IN_PROFILE,
	 "HOST[:PORT] (default " RUN_DEFAULT_TARGET "), [IPv6]:PORT,\n"
	 "unix:/path/to/socket, or exec:COMMAND (a program\n"
	 "speaking SMTP on stdin/stdout, e.g. exec:'sendmail -bs')"},
	{RUN_OPT_VAR, "var", 0, "NAME=VALUE", RUN_OPT_IN_PROFILE,
	 "set a scenario variable (repeatable); defaults:\n"
	 "domain=localhost client=smtpconform.example\n"
	 "sender=conform@smtpconform.example rcpt=postmaster@{domain}\n"
	 "foreign_domain=example.net relay_rcpt=relay-test@{foreign_domain}"},
	{RUN_OPT_PROFILE, "profile", 0, "P", RUN_OPT_IN_PROFILE,
	 "matrix profile: rfc5321 (default) or rfc821"},
	{RUN_OPT_TIMEOUT, "timeout", 0, "SECONDS", RUN_OPT_IN_PROFILE,
	 "deadline for each whole reply (default: RFC 5321\n"
	 "4.5.3.2: 5 min greeting/MAIL/RCPT, 2 min DATA, 10 min\n"
	 "end of data)"},
	{RUN_OPT_SCENARIO_TIMEOUT, "scenario-timeout", 0, "SECONDS", RUN_OPT_IN_PROFILE,
	 "the whole scenario's time budget, which no\n"
	 "reply can extend (default 3600)"},
	{RUN_OPT_SETTLE_MS, "settle-ms", 0, "MS", RUN_OPT_IN_PROFILE,
	 "after an end of data or a line with a bare CR/LF,\n"
	 "wait MS for extra replies (smuggling; default 300, 0: off)"},
	{RUN_OPT_PROBE_TIMEOUT, "probe-timeout", 0, "SECONDS", RUN_OPT_IN_PROFILE,
	 "the capability probe's deadline to connect and for\n"
	 "each reply, the greeting first (default 10); a target\n"
	 "that does not greet in time ends the run (exit 3)"},
	{RUN_OPT_STRICT, "strict", 0, NULL, RUN_OPT_IN_PROFILE,
	 "warnings fail (SHOULD-level findings, non-standard\n"
	 "but common replies)"},
	{RUN_OPT_JOBS, "jobs", 'j', "N", RUN_OPT_IN_PROFILE,
	 "run N scenarios at once (default 1, max 256; capped\n"
	 "to the descriptor limit, with a notice)"},
	{RUN_OPT_BASELINE, "baseline", 0, "FILE", 0,
	 "known deviations: a waiver file (docs/baselines.md) or a\n"
	 "previous JSON report; they are reported as waived, and\n"
	 "only new failures fail the run"},
	{RUN_OPT_SHARD, "shard", 0, "K/N", 0,
	 "run only the K-th of N stable parts of the scenarios\n"
	 "(for CI fan-out; join the JSON reports with merge);\n"
	 "auto: K and N from the CI (CI_NODE_INDEX/CI_NODE_TOTAL,\n"
	 "JOB_COMPLETION_INDEX/JOB_COMPLETIONS), 1/1 outside CI"},
	{RUN_OPT_RERUN_FAILED, "rerun-failed", 0, "RUN.json", 0,
	 "run only the scenarios that failed (or errored) there"},
	{RUN_OPT_TAG, "tag", 0, "T", RUN_OPT_SELECTS,
	 "only scenarios tagged T (repeatable: any of them)"},
	{RUN_OPT_LEVEL, "level", 0, "L", RUN_OPT_SELECTS,
	 "only MUST, SHOULD or MAY scenarios (repeatable)"},
	{RUN_OPT_ID, "id", 0, "GLOB", RUN_OPT_SELECTS,
	 "only ids matching the shell glob, e.g. 'smuggling.*'"},
	{RUN_OPT_RFC, "rfc", 0, "R", RUN_OPT_SELECTS,
	 "only scenarios whose ref cites RFC R, e.g. 5321"},
	{RUN_OPT_REQUIRES, "requires", 0, "KW", RUN_OPT_SELECTS,
	 "only scenarios requiring EHLO keyword KW (AUTH matches\n"
	 "AUTH=PLAIN); different filters must all match"},
	{RUN_OPT_SCENARIOS_DIR, "scenarios-dir", 0, "DIR", RUN_OPT_SELECTS,
	 "the bundled suite (default: $SMTPCONFORM_SCENARIOS, the\n"
	 "source tree, " SMTPCONFORM_DATADIR "/scenarios)"},
	{RUN_OPT_REPORT, "report", 0, "FMT[:PATH]", RUN_OPT_IN_PROFILE,
	 "add a report: json, junit, tap, html or md (PATH, or\n"
	 "stdout); repeatable; files are written atomically.\n"
	 "The text report is always printed on stdout as the run\n"
	 "goes, unless -q, text:PATH (it goes there instead) or\n"
	 "another report on stdout"},
	{RUN_OPT_TLS, "tls", 0, "MODE", RUN_OPT_IN_PROFILE,
	 "none (default; STARTTLS is a scenario step) or implicit\n"
	 "(TLS from the first byte, RFC 8314, e.g. port 465)"},
	{RUN_OPT_TLS_VERIFY, "tls-verify", 0, "on|off|require", RUN_OPT_IN_PROFILE,
	 "verify the server certificate and name: on (default:\n"
	 "one untrusted-certificate note in every report's header,\n"
	 "the STARTTLS scenarios still run), require (it fails\n"
	 "them) or off (lab servers: the reports say so)"},
	{RUN_OPT_CA_FILE, "ca-file", 0, "FILE", RUN_OPT_IN_PROFILE,
	 "CA bundle (PEM) to verify against (default: system's)"},
	{RUN_OPT_TLS_MIN_VERSION, "tls-min-version", 0, "V", RUN_OPT_IN_PROFILE,
	 "TLSv1, TLSv1.1, TLSv1.2 (default) or TLSv1.3"},
	{RUN_OPT_SNI, "sni", 0, "NAME", RUN_OPT_IN_PROFILE,
	 "server name to send and verify (default: the target's\n"
	 "host when it is a name)"},
	{RUN_OPT_AUTH_USER, "auth-user", 0, "USER", RUN_OPT_IN_PROFILE,
	 "run the AUTH scenarios (A: steps) as USER; the password\n"
	 "comes from SMTPCONFORM_PASSWORD, never the command line"},
	{RUN_OPT_AUTH_PASSWORD_ENV, "auth-password-env", 0, "NAME", RUN_OPT_IN_PROFILE,
	 "take the password from $NAME instead"},
	{RUN_OPT_AUTH_PASSWORD_FILE, "auth-password-file", 0, "PATH", RUN_OPT_IN_PROFILE,
	 "or from the first line of PATH"},
	{RUN_OPT_VERBOSE, "verbose", 'v', NULL, 0,
	 "print each scenario's transcript on stderr (-vv: states)"},
	{RUN_OPT_QUIET, "quiet", 'q', NULL, 0,
	 "print nothing on stdout (no text report; files named\n"
	 "by --report are still written) and no progress line"},
	{RUN_OPT_COLOR, "color", 0, "WHEN", 0,
	 "colour the text report: auto (default: when stdout is\n"
	 "a terminal and NO_COLOR is not set), always or never"},
	{RUN_OPT_HELP, "help", 'h', NULL, 0, NULL},
	{0, NULL, 0, NULL, 0, NULL},
};
/* clang-format on */

/* getopt_long's val for a row without a short letter (or for every row). */
#define RUN_OPT_VAL_BASE 256

void run_options_init(struct run_options *ro)
{
	memset(ro, 0, sizeof(*ro));
	ro->target_arg = RUN_DEFAULT_TARGET;
	ro->engine.profile = MATRIX_DEFAULT_PROFILE;
	ro->engine.jobs = 1;
	ro->engine.scenario_timeout_s = SCENARIO_TIMEOUT_DEFAULT_S;
	ro->engine.settle_ms = SETTLE_MS_DEFAULT;
	ro->engine.probe_timeout_s = PROBE_TIMEOUT_DEFAULT_S;
	vars_init_defaults(&ro->vars);
	ro->tls.verify = TLS_VERIFY_ON;
	ro->tls.min_version = "TLSv1.2";
	ro->tls_mode = "none";
	ro->auth.env = "SMTPCONFORM_PASSWORD";
	ro->color = "auto";
}

void run_options_free(struct run_options *ro)
{
	for (size_t i = 0; i < ro->nspecs; i++)
		report_spec_free(&ro->specs[i]);
	free(ro->specs);
	vars_free(&ro->vars);
	select_free(&ro->filter);
	config_free(&ro->profile);
	memset(ro, 0, sizeof(*ro));
}

const struct run_option *run_option_named(const char *name)
{
	for (const struct run_option *r = run_options; r->name; r++)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

const struct run_option *run_option_of_val(int val)
{
	for (const struct run_option *r = run_options; r->name; r++)
		if (val == RUN_OPT_VAL_BASE + (int)(r - run_options) ||
		    (r->short_name && val == r->short_name))
			return r;
	return NULL;
}

static int parse_int(const char *value, const char *label, int lo, int hi, int *out, char *err,
                     size_t errlen)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || !*value || *end || v < lo || v > hi) {
		snprintf(err, errlen, "%s %s: expected a whole number from %d to %d", label, value,
		         lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* --shard K/N or auto. */
static int apply_shard(struct run_options *ro, const char *value, const char *label, char *err,
                       size_t errlen)
{
	if (strcmp(value, "auto") == 0)
		return select_shard_from_env(&ro->shard_k, &ro->shard_n, err, errlen);
	const char *slash = strchr(value, '/');
	if (!slash) {
		snprintf(err, errlen, "%s %s: expected K/N, e.g. 2/4", label, value);
		return -1;
	}
	char n_label[PATH_MAX + 64], k_label[PATH_MAX + 64];
	snprintf(n_label, sizeof(n_label), "%s N", label);
	snprintf(k_label, sizeof(k_label), "%s K", label);
	if (parse_int(slash + 1, n_label, 1, SHARD_MAX, &ro->shard_n, err, errlen) < 0)
		return -1;
	char *k = xstrndup(value, (size_t)(slash - value));
	int rc = parse_int(k, k_label, 1, ro->shard_n, &ro->shard_k, err, errlen);
	free(k);
	return rc;
}

/* --report: the command line's replace the profile's. */
static int apply_report(struct run_options *ro, const char *value, const char *label,
                        enum run_option_source src, char *err, size_t errlen)
{
	if (src == RUN_OPT_FROM_ARGV && ro->profile_specs > 0) {
		for (size_t k = 0; k < ro->profile_specs; k++)
			report_spec_free(&ro->specs[k]);
		memmove(ro->specs, ro->specs + ro->profile_specs,
		        (ro->nspecs - ro->profile_specs) * sizeof(*ro->specs));
		ro->nspecs -= ro->profile_specs;
		ro->profile_specs = 0;
	}
	char why[512];
	ro->specs = xrealloc(ro->specs, (ro->nspecs + 1) * sizeof(*ro->specs));
	if (report_parse_spec(value, &ro->specs[ro->nspecs], why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s %s: %s", label, value, why);
		return -1;
	}
	ro->nspecs++;
	if (src == RUN_OPT_FROM_PROFILE)
		ro->profile_specs++;
	return 0;
}

/* The selection options: recorded in ro->filter (select.h). */
static int apply_select(struct run_options *ro, const struct run_option *row, const char *value,
                        const char *label, char *err, size_t errlen)
{
	enum select_key key;
	switch (row->id) {
	case RUN_OPT_TAG: key = SELECT_TAG; break;
	case RUN_OPT_LEVEL:
		if (strcasecmp(value, "MUST") != 0 && strcasecmp(value, "SHOULD") != 0 &&
		    strcasecmp(value, "MAY") != 0) {
			snprintf(err, errlen, "%s %s: expected MUST, SHOULD or MAY", label, value);
			return -1;
		}
		key = SELECT_LEVEL;
		break;
	case RUN_OPT_ID: key = SELECT_ID; break;
	case RUN_OPT_RFC:
		if (strspn(value + (strncasecmp(value, "rfc", 3) == 0 ? 3 : 0), " -0123456789") ==
		    0) {
			snprintf(err, errlen, "%s %s: expected an RFC number, e.g. 5321", label,
			         value);
			return -1;
		}
		key = SELECT_RFC;
		break;
	case RUN_OPT_REQUIRES: key = SELECT_REQUIRES; break;
	default: BUG("not a selection option");
	}
	select_add(&ro->filter, key, value);
	return 0;
}

/* The TLS options: one check each. */
static int apply_tls(struct run_options *ro, const struct run_option *row, const char *value,
                     const char *label, char *err, size_t errlen)
{
	switch (row->id) {
	case RUN_OPT_TLS:
		if (strcmp(value, "none") != 0 && strcmp(value, "implicit") != 0) {
			snprintf(err, errlen,
			         "%s %s: expected none or implicit (STARTTLS is a scenario step)",
			         label, value);
			return -1;
		}
		ro->tls_mode = value;
		return 0;
	case RUN_OPT_TLS_VERIFY:
		if (strcmp(value, "on") == 0)
			ro->tls.verify = TLS_VERIFY_ON;
		else if (strcmp(value, "off") == 0)
			ro->tls.verify = TLS_VERIFY_OFF;
		else if (strcmp(value, "require") == 0)
			ro->tls.verify = TLS_VERIFY_REQUIRE;
		else {
			snprintf(err, errlen, "%s %s: expected on, off or require", label, value);
			return -1;
		}
		return 0;
	case RUN_OPT_TLS_MIN_VERSION:
		if (!tls_version_known(value)) {
			snprintf(err, errlen, "%s %s: expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3",
			         label, value);
			return -1;
		}
		ro->tls.min_version = value;
		return 0;
	case RUN_OPT_CA_FILE: ro->tls.ca_file = value; return 0;
	case RUN_OPT_SNI: ro->tls.sni = value; return 0;
	default: BUG("not a TLS option");
	}
}

int run_option_apply(struct run_options *ro, const struct run_option *row, const char *value,
                     const char *label, enum run_option_source src, char *err, size_t errlen)
{
	char why[512];
	switch (row->id) {
	case RUN_OPT_CONFIG:
	case RUN_OPT_HELP: return 0;
	case RUN_OPT_TARGET: ro->target_arg = value; return 0;
	case RUN_OPT_VAR:
		if (vars_set_arg(&ro->vars, value, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s %s: %s", label, value, why);
			return -1;
		}
		return 0;
	case RUN_OPT_PROFILE: ro->engine.profile = value; return 0;
	case RUN_OPT_TIMEOUT:
		return parse_int(value, label, 1, TIMEOUT_OPTION_MAX_S, &ro->engine.timeout_s, err,
		                 errlen);
	case RUN_OPT_SCENARIO_TIMEOUT:
		return parse_int(value, label, 1, TIMEOUT_OPTION_MAX_S,
		                 &ro->engine.scenario_timeout_s, err, errlen);
	case RUN_OPT_SETTLE_MS:
		return parse_int(value, label, 0, SETTLE_MS_MAX, &ro->engine.settle_ms, err,
		                 errlen);
	case RUN_OPT_PROBE_TIMEOUT:
		return parse_int(value, label, 1, TIMEOUT_OPTION_MAX_S, &ro->engine.probe_timeout_s,
		                 err, errlen);
	case RUN_OPT_STRICT:
		/* A flag on the command line; 0 or 1 in a profile. */
		if (src == RUN_OPT_FROM_ARGV) {
			ro->engine.strict = 1;
			return 0;
		}
		return parse_int(value, label, 0, 1, &ro->engine.strict, err, errlen);
	case RUN_OPT_JOBS:
		return parse_int(value, label, 1, JOBS_MAX, &ro->engine.jobs, err, errlen);
	case RUN_OPT_BASELINE: ro->baseline_path = value; return 0;
	case RUN_OPT_SHARD: return apply_shard(ro, value, label, err, errlen);
	case RUN_OPT_RERUN_FAILED: ro->rerun_json = value; return 0;
	case RUN_OPT_TAG:
	case RUN_OPT_LEVEL:
	case RUN_OPT_ID:
	case RUN_OPT_RFC:
	case RUN_OPT_REQUIRES: return apply_select(ro, row, value, label, err, errlen);
	case RUN_OPT_SCENARIOS_DIR: ro->dir_opt = value; return 0;
	case RUN_OPT_REPORT: return apply_report(ro, value, label, src, err, errlen);
	case RUN_OPT_TLS:
	case RUN_OPT_TLS_VERIFY:
	case RUN_OPT_CA_FILE:
	case RUN_OPT_TLS_MIN_VERSION:
	case RUN_OPT_SNI: return apply_tls(ro, row, value, label, err, errlen);
	case RUN_OPT_AUTH_USER: ro->auth.user = value; return 0;
	case RUN_OPT_AUTH_PASSWORD_ENV:
		ro->auth.env = value;
		ro->auth.file = NULL;
		return 0;
	case RUN_OPT_AUTH_PASSWORD_FILE:
		ro->auth.file = value;
		ro->auth.env = NULL;
		return 0;
	case RUN_OPT_VERBOSE: ro->engine.verbose++; return 0;
	case RUN_OPT_QUIET: ro->quiet = 1; return 0;
	case RUN_OPT_COLOR:
		if (report_live_color(value, -1) < 0) {
			snprintf(err, errlen, "%s %s: expected auto, always or never", label,
			         value);
			return -1;
		}
		ro->color = value;
		return 0;
	}
	BUG("unknown option row");
}

const char *const *run_options_profile_keys(void)
{
	static const char *keys[sizeof(run_options) / sizeof(run_options[0])];
	size_t n = 0;
	for (const struct run_option *r = run_options; r->name; r++)
		if ((r->flags & RUN_OPT_IN_PROFILE) && r->id != RUN_OPT_VAR)
			keys[n++] = r->name;
	keys[n++] = "var.NAME"; /* --var NAME=VALUE is "var.NAME = VALUE" there */
	keys[n] = NULL;
	return keys;
}

int run_options_load_profile(struct run_options *ro, const char *path, char *err, size_t errlen)
{
	config_free(&ro->profile);
	if (config_load(path, run_options_profile_keys(), &ro->profile, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < ro->profile.n; i++) {
		const struct config_entry *e = &ro->profile.entries[i];
		if (strncmp(e->key, "var.", 4) == 0) {
			vars_set(&ro->vars, e->key + 4, e->value);
			continue;
		}
		const struct run_option *row = run_option_named(e->key);
		if (!row)
			BUG("config_load let an unknown key through");
		char label[PATH_MAX + 64];
		snprintf(label, sizeof(label), "%s:%d: %s", path, e->line, e->key);
		if (run_option_apply(ro, row, e->value, label, RUN_OPT_FROM_PROFILE, err, errlen) <
		    0)
			return -1;
	}
	return 0;
}

void run_options_getopt(unsigned need, const struct option *extra, size_t nextra,
                        struct option **longopts_out, char *shortopts, size_t shortlen)
{
	size_t nrows = sizeof(run_options) / sizeof(run_options[0]);
	struct option *lo = xcalloc(nrows + nextra + 1, sizeof(*lo));
	size_t n = 0, s = 0;
	for (const struct run_option *r = run_options; r->name; r++) {
		if ((r->flags & need) != need)
			continue;
		lo[n].name = r->name;
		lo[n].has_arg = r->arg ? required_argument : no_argument;
		lo[n].val = RUN_OPT_VAL_BASE + (int)(r - run_options);
		n++;
		if (r->short_name && s + 3 < shortlen) {
			shortopts[s++] = r->short_name;
			if (r->arg)
				shortopts[s++] = ':';
		}
	}
	for (size_t i = 0; i < nextra; i++)
		lo[n++] = extra[i];
	*longopts_out = lo;
	shortopts[s] = '\0';
}

void run_options_usage(FILE *out, unsigned need)
{
	for (const struct run_option *r = run_options; r->name; r++) {
		if ((r->flags & need) != need || !r->help)
			continue;
		char head[96];
		char shortname[8] = "    ";
		if (r->short_name)
			snprintf(shortname, sizeof(shortname), "-%c, ", r->short_name);
		int len = snprintf(head, sizeof(head), "  %s--%s%s%s", shortname, r->name,
		                   r->arg ? " " : "", r->arg ? r->arg : "");
		fprintf(out, "%s%*s", head,
		        len + 2 > USAGE_HELP_COLUMN ? 2 : USAGE_HELP_COLUMN - len, "");
		for (const char *h = r->help; *h; h++) {
			fputc(*h, out);
			if (*h == '\n')
				fprintf(out, "%*s", USAGE_HELP_COLUMN, "");
		}
		fputc('\n', out);
	}
}
