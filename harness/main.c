/*
 * main.c - the command line: run, list, check, matrix, report, merge, diff,
 * help, version; shell, record and load (and merge of load reports) are
 * dispatched to their modules.
 *
 * Owns option parsing, exit codes, where the bundled suite is looked for,
 * and the order of a run (load every scenario, select, probe, run, write
 * reports). Everything else is delegated (selection rules: select.c).
 *
 * Exit codes: 0 all passed (skips allowed), 1 a scenario failed, 2 usage or
 * scenario-file error, 3 target unreachable (or a scenario could not run),
 * 4 nothing failed but a scenario was inconclusive (it tested nothing),
 * 130/143 interrupted by SIGINT/SIGTERM (reports are still written).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "credentials.h"
#include "baseline.h"
#include "conn.h"
#include "diff.h"
#include "load.h"
#include "smtp_limits.h"
#include "matrix.h"
#include "report.h"
#include "report_live.h"
#include "record.h"
#include "result.h"
#include "rules.h"
#include "run_options.h"
#include "sasl.h"
#include "scenario.h"
#include "select.h"
#include "session.h"
#include "shell.h"
#include "tls.h"
#include "util.h"
#include "vars.h"

#ifndef SMTPCONFORM_VERSION
#define SMTPCONFORM_VERSION "0.0.0"
#endif

enum exit_code {
	EXIT_PASS = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_INCONCLUSIVE = 4, /* nothing failed, something tested nothing */
};

#define DEFAULT_SCENARIOS "scenarios"
/* Where `make install` puts the bundled suite: $(PREFIX)/share/smtpconform. */
#ifndef SMTPCONFORM_DATADIR
#define SMTPCONFORM_DATADIR "/usr/local/share/smtpconform"
#endif

static const char usage_head[] =
    "usage: smtpconform COMMAND [options] [args]\n"
    "\n"
    "SMTP conformance test harness: replays scenarios against an SMTP server and\n"
    "checks every reply against RFC 5321 reply syntax, the allowed-code matrix\n"
    "and the scenario's expectations.\n"
    "\n"
    "commands:\n"
    "  run [options] [FILE|DIR...]   run scenarios (default: the bundled scenarios/)\n"
    "  list [filters] [FILE|DIR...]  print the catalogue: id, level, ref, tags, title\n"
    "                                (--format text|json|ids|tags; filters as for run)\n"
    "  check FILE|DIR...             lint scenario files without connecting\n"
    "  matrix [--profile P]          print the allowed-code matrix\n"
    "  rules [--markdown]            print the rule table (docs/rules.md)\n"
    "  report --from RUN.json --report FMT[:PATH]...\n"
    "                                render a saved JSON report in other formats; several\n"
    "                                --from [NAME=]RUN.json: the runs side by side (html, md)\n"
    "  merge A.json B.json... [--report FMT[:PATH]...]\n"
    "                                join the JSON reports of --shard runs (default: json\n"
    "                                on stdout); load reports are added up\n"
    "  diff OLD.json NEW.json [--md] what started failing, got fixed, changed verdict or\n"
    "                                reply code; exit 1 when something regressed\n"
    "  shell -t TARGET [options]     an interactive session, every reply judged;\n"
    "                                .save writes it as a scenario (docs/shell.md)\n"
    "  record --listen HOST:PORT -t TARGET -o FILE.smtp|DIR/\n"
    "                                a recording proxy: judges the replies a client gets,\n"
    "                                writes each session as a scenario (docs/shell.md)\n"
    "  load -t TARGET (-n N | --duration S) [-c N] SCENARIO...\n"
    "                                load test: the scenarios as many sessions, every\n"
    "                                reply judged; latency percentiles (docs/load.md)\n"
    "  help                          this text\n"
    "  version                       print the version\n"
    "\n"
    "run options:\n";

static const char usage_tail[] =
    "\n"
    "environment: SMTPCONFORM_SCENARIOS (the bundled suite), SMTPCONFORM_PASSWORD,\n"
    "CI_NODE_INDEX, CI_NODE_TOTAL, JOB_COMPLETION_INDEX, JOB_COMPLETIONS (--shard auto),\n"
    "NO_COLOR (no colour in the text report, unless --color always).\n"
    "\n"
    "exit codes: 0 all passed (skips allowed), 1 a scenario failed, 2 usage or\n"
    "scenario-file error, 3 target unreachable or a scenario could not run,\n"
    "4 nothing failed but a scenario was inconclusive (a setup step or a\n"
    "precondition did not hold: nothing was tested), 130/143 interrupted (partial reports are "
    "written and say so).\n"
    "\n"
    "Documentation: README.md, docs/scenario-format.md, docs/rules.md.\n";

/* The whole --help: the run options come from the option table. */
static void print_usage(FILE *out)
{
	fputs(usage_head, out);
	run_options_usage(out, 0);
	fputs(usage_tail, out);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("smtpconform: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'smtpconform help'.\n", stderr);
	exit(EXIT_USAGE);
}

static void check_profile(const char *profile)
{
	if (matrix_profile_known(profile))
		return;
	struct buf b = { 0 };
	for (const char *const *p = matrix_profiles(); *p; p++)
		buf_printf(&b, "%s%s", b.len ? ", " : "", *p);
	usage_error("unknown profile '%s' (known: %s)", profile, b.data ? b.data : "none");
}

/* ------------------------------------------------ the bundled scenarios */

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory holding the running binary (malloc'd), or NULL. */
static char *exe_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	return xstrdup(exe);
}

/*
 * The bundled suite, first found of: --scenarios-dir DIR, $SMTPCONFORM_SCENARIOS,
 * the source tree the binary was built in (BIN/../scenarios beside
 * BIN/../harness), the install relative to the binary
 * (BIN/../share/smtpconform/scenarios), the install path built in
 * (SMTPCONFORM_DATADIR/scenarios). Returns its real path (malloc'd), or NULL
 * with err saying what was looked at. A named directory that does not exist is
 * an error, not a reason to look further.
 */
static char *bundled_scenarios(const char *dir_opt, char *err, size_t errlen)
{
	const char *named = dir_opt ? dir_opt : getenv("SMTPCONFORM_SCENARIOS");
	if (named && *named) {
		if (!is_dir(named)) {
			snprintf(err, errlen, "%s %s: not a directory",
			         dir_opt ? "--scenarios-dir" : "SMTPCONFORM_SCENARIOS", named);
			return NULL;
		}
		return realpath(named, NULL);
	}
	char *bin = exe_dir();
	char *candidates[3] = { NULL, NULL, NULL };
	if (bin) {
		char *harness = xasprintf("%s/../harness", bin);
		if (is_dir(harness))
			candidates[0] = xasprintf("%s/../" DEFAULT_SCENARIOS, bin);
		free(harness);
		candidates[1] = xasprintf("%s/../share/smtpconform/scenarios", bin);
	}
	candidates[2] = xstrdup(SMTPCONFORM_DATADIR "/scenarios");
	char *found = NULL;
	for (size_t i = 0; i < 3 && !found; i++)
		if (candidates[i] && is_dir(candidates[i]))
			found = realpath(candidates[i], NULL);
	for (size_t i = 0; i < 3; i++)
		free(candidates[i]);
	free(bin);
	if (!found)
		snprintf(
		    err, errlen,
		    "no bundled scenarios found (looked at --scenarios-dir, SMTPCONFORM_SCENARIOS, "
		    "the source tree and " SMTPCONFORM_DATADIR "/scenarios); name FILE or DIR");
	return found;
}

/*
 * Sets up the bundled suite for a command: @include falls back to its _lib/,
 * and *default_out is it when no FILE|DIR is given (a usage error if it is
 * not found then). Returns the suite's real path (malloc'd) or NULL.
 */
static char *setup_bundled(const char *dir_opt, int need_default)
{
	char err[PATH_MAX + 256];
	char *dir = bundled_scenarios(dir_opt, err, sizeof(err));
	if (!dir && (need_default || dir_opt))
		usage_error("%s", err);
	scenario_set_library(dir);
	return dir;
}

/* Reports show files of the bundled suite as "scenarios/..." wherever it lives. */
static void show_bundled_paths(struct scenario **scs, size_t n, const char *bundled)
{
	if (!bundled)
		return;
	const char *slash = strrchr(bundled, '/');
	const char *shown = slash && slash[1] ? slash + 1 : bundled;
	for (size_t i = 0; i < n; i++)
		scenario_rebase_paths(scs[i], bundled, shown);
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "var", required_argument, NULL, 'V' },
		{ "scenarios-dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir_opt = NULL;
	struct vars vars;
	vars_init_defaults(&vars);
	int c;
	char err[512];
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			if (vars_set_arg(&vars, optarg, err, sizeof(err)) < 0)
				usage_error("--var %s: %s", optarg, err);
			break;
		case 'D': dir_opt = optarg; break;
		case 'h':
			fputs(
			    "usage: smtpconform check [--var NAME=VALUE] [--scenarios-dir DIR] "
			    "FILE|DIR...\n"
			    "Lints scenario files without connecting; errors are path:line: "
			    "message.\n"
			    "@include falls back to the bundled suite's _lib/ (--scenarios-dir).\n",
			    stdout);
			exit(EXIT_PASS);
		default: usage_error("check: unknown option");
		}
	}
	if (optind >= argc)
		usage_error("check needs FILE or DIR arguments");
	free(setup_bundled(dir_opt, 0));
	struct scenario **scs;
	size_t n;
	int rc = scenario_load_all(argv + optind, (size_t)(argc - optind), &vars, &scs, &n);
	vars_free(&vars);
	scenario_set_library(NULL);
	if (rc < 0)
		return EXIT_USAGE;
	printf("%zu scenario%s OK\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		scenario_free(scs[i]);
	free(scs);
	return EXIT_PASS;
}

static int cmd_matrix(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *profile = MATRIX_DEFAULT_PROFILE;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': profile = optarg; break;
		case 'h':
			fputs("usage: smtpconform matrix [--profile rfc5321|rfc821]\n", stdout);
			exit(EXIT_PASS);
		default: usage_error("matrix: unknown option");
		}
	}
	if (optind < argc)
		usage_error("matrix takes no arguments");
	check_profile(profile);
	matrix_print(stdout, profile);
	return EXIT_PASS;
}

/* The rule table as Markdown: docs/rules.md is this output (make rules-doc). */
static int cmd_rules(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs("usage: smtpconform rules [--markdown]\n", stdout);
			return EXIT_PASS;
		}
		if (strcmp(argv[i], "--markdown") != 0)
			usage_error("rules: unknown argument '%s'", argv[i]);
	}
	rules_print_markdown(stdout);
	return EXIT_PASS;
}

/* ------------------------------------------- selection (list and run) */

/* How messages name a command-line option: "-j", "--tls". */
static const char *cli_label(const struct run_option *row, char *buf, size_t len)
{
	if (row->short_name)
		snprintf(buf, len, "-%c", row->short_name);
	else
		snprintf(buf, len, "--%s", row->name);
	return buf;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option *longopts;
	char shortopts[32];
	run_options_getopt(RUN_OPT_SELECTS, extra, sizeof(extra) / sizeof(extra[0]), &longopts,
	                   shortopts, sizeof(shortopts) - 1);
	strcat(shortopts, "h");
	struct run_options ro; /* only the filter and --scenarios-dir */
	run_options_init(&ro);
	enum catalogue_format format = CATALOGUE_TEXT;
	char err[1024], label[64];
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct run_option *row = NULL;
		switch (c) {
		case 'f':
			if (select_catalogue_format(optarg, &format) < 0)
				usage_error("--format %s: expected text, json, ids or tags",
				            optarg);
			break;
		case 'h':
			fputs(
			    "usage: smtpconform list [options] [FILE|DIR...]\n"
			    "Prints the catalogue (id, level, ref, tags, title) of the scenarios\n"
			    "(default: the bundled suite) that pass the filters.\n"
			    "\n",
			    stdout);
			run_options_usage(stdout, RUN_OPT_SELECTS);
			fputs("      --format F           text (default: a table), json, ids (one "
			      "a line)\n"
			      "                           or tags (every tag once)\n",
			      stdout);
			exit(EXIT_PASS);
		default:
			row = run_option_of_val(c);
			if (!row || !(row->flags & RUN_OPT_SELECTS))
				usage_error("list: unknown option");
			if (run_option_apply(&ro, row, optarg, cli_label(row, label, sizeof(label)),
			                     RUN_OPT_FROM_ARGV, err, sizeof(err)) < 0)
				usage_error("%s", err);
		}
	}
	free(longopts);
	char *bundled = setup_bundled(ro.dir_opt, optind >= argc);
	char *default_arg[] = { bundled, NULL };
	char *const *args = optind < argc ? argv + optind : default_arg;
	size_t nargs = optind < argc ? (size_t)(argc - optind) : 1;
	struct scenario **scs;
	size_t n;
	int rc = scenario_load_all(args, nargs, NULL, &scs, &n);
	if (rc == 0) {
		show_bundled_paths(scs, n, bundled);
		n = select_apply(&ro.filter, scs, n);
		select_print_catalogue(stdout, scs, n, format);
		for (size_t i = 0; i < n; i++)
			scenario_free(scs[i]);
		free(scs);
	}
	run_options_free(&ro);
	scenario_set_library(NULL);
	free(bundled);
	return rc < 0 ? EXIT_USAGE : EXIT_PASS;
}

/* ------------------------------------------------------------------ run */

/* Everything a run holds. run_free() releases it whatever phase the run
 * stopped at (each field is empty until its phase fills it). */
struct run {
	struct run_options opt;
	struct target target;
	char *auth_password; /* wiped before it is freed */
	struct scenario **scs;
	size_t n;
	struct baseline baseline;
	struct probe probe;
	struct run_result result;
	struct report_live live; /* the text report on stdout as the run goes */
	int sig;                 /* the signal that interrupted the run, or 0 */
};

/* The password, or NULL with a message; registered for redaction. */
static char *load_password(const struct auth_args *a, char *err, size_t errlen)
{
	return credentials_load_password(a, err, errlen);
}

/* The value of -c/--config, looked up before the other options so that
 * the command line can override the file. */
static const char *find_config_arg(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2])
			path = argv[i] + 2;
	}
	return path;
}

/*
 * The scenarios of a run: args (or the bundled suite), the selection
 * filters and --rerun-failed RUN.json applied. Prints every error; -1 on one
 * (exit 2), or when filters that were given select nothing. Nothing failed in
 * RUN.json is not an error: the run has no scenarios.
 */
static int load_selected(char *const *args, size_t nargs, const char *dir_opt,
                         const struct vars *vars, struct select_filter *filter,
                         const char *rerun_json, struct scenario ***out, size_t *n_out)
{
	char err[1024];
	if (rerun_json && select_load_failed(filter, rerun_json, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: --rerun-failed: %s\n", err);
		return -1;
	}
	char *bundled = setup_bundled(dir_opt, nargs == 0);
	char *default_arg[] = { bundled, NULL };
	int rc = scenario_load_all(nargs ? args : default_arg, nargs ? nargs : 1, vars, out, n_out);
	if (rc == 0) {
		show_bundled_paths(*out, *n_out, bundled);
		size_t loaded = *n_out;
		*n_out = select_apply(filter, *out, *n_out);
		if (*n_out == 0 && loaded > 0 && !(rerun_json && filter->nonly == 0)) {
			fprintf(stderr, "smtpconform: no scenario matches the selection (see "
			                "'smtpconform list' with the same filters)\n");
			free(*out);
			rc = -1;
		} else if (rerun_json && filter->nonly == 0) {
			fprintf(stderr, "smtpconform: nothing failed in %s: no scenario to rerun\n",
			        rerun_json);
		}
	}
	free(bundled);
	return rc;
}

/* Phase 1: the target profile, then the command line over it (the option
 * table, run_options.c). Exits on a usage error. */
static void run_parse_options(struct run *r, int argc, char **argv)
{
	char err[PATH_MAX + 1024], label[64];
	run_options_init(&r->opt);
	const char *config_path = find_config_arg(argc, argv);
	if (config_path && run_options_load_profile(&r->opt, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		exit(EXIT_USAGE);
	}
	struct option *longopts;
	char shortopts[32];
	run_options_getopt(0, NULL, 0, &longopts, shortopts, sizeof(shortopts));
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct run_option *row = run_option_of_val(c);
		if (!row)
			usage_error("run: unknown option");
		if (row->id == RUN_OPT_HELP) {
			print_usage(stdout);
			exit(EXIT_PASS);
		}
		if (run_option_apply(&r->opt, row, optarg, cli_label(row, label, sizeof(label)),
		                     RUN_OPT_FROM_ARGV, err, sizeof(err)) < 0)
			usage_error("%s", err);
	}
	free(longopts);
	check_profile(r->opt.engine.profile);
	if (report_check_specs(r->opt.specs, r->opt.nspecs, err, sizeof(err)) < 0)
		usage_error("%s", err);
}

/*
 * Where the text report goes, as pytest's --junitxml leaves its terminal
 * report alone: on stdout as the run goes, unless -q, a text:PATH report
 * (the whole report goes there instead) or another report on stdout (which
 * it would corrupt). `--report text` without a path asks for the streamed
 * one, even with -q. The progress line is on stderr when that is a terminal
 * (and -v does not write transcripts there).
 */
static void run_choose_text(struct run *r)
{
	struct run_options *o = &r->opt;
	int text_stdout = 0, text_file = 0, other_stdout = 0;
	size_t kept = 0;

	for (size_t i = 0; i < o->nspecs; i++) {
		struct report_spec *spec = &o->specs[i];

		if (spec->format == REPORT_TEXT && !spec->path) {
			text_stdout = 1;
			report_spec_free(spec);
			continue;
		}
		if (spec->format == REPORT_TEXT)
			text_file = 1;
		else if (!spec->path)
			other_stdout = 1;
		o->specs[kept++] = *spec;
	}
	o->nspecs = kept;
	o->profile_specs = 0;
	int stream = text_stdout || (!o->quiet && !text_file && !other_stdout);
	int color = stream && report_live_color(o->color, STDOUT_FILENO) > 0;
	/* -v writes transcripts on stderr: no progress line to tear them. */
	report_live_init(&r->live, stream ? stdout : NULL, color,
	                 !o->quiet && !o->engine.verbose && isatty(STDERR_FILENO));
	o->engine.on_result = report_live_scenario;
	o->engine.on_result_arg = &r->live;
}

/* Phase 2: the target, TLS and the AUTH credentials. Exits on a usage error. */
static void run_prepare(struct run *r)
{
	char err[1024];
	struct run_options *o = &r->opt;
	if (target_parse(o->target_arg, &r->target, err, sizeof(err)) < 0)
		usage_error("%s", err);
	/* SNI and name verification default to the target's name (not an IP). */
	const char *host = r->target.host;
	if (!o->tls.sni && r->target.kind == TARGET_TCP &&
	    strspn(host, "0123456789.") != strlen(host) && !strchr(host, ':'))
		o->tls.sni = host;
	if (tls_setup(&o->tls, err, sizeof(err)) < 0)
		usage_error("TLS: %s", err);
	if (o->auth.user) {
		r->auth_password = load_password(&o->auth, err, sizeof(err));
		if (!r->auth_password)
			usage_error("%s", err);
		o->engine.auth_user = o->auth.user;
		o->engine.auth_password = r->auth_password;
	}
	o->engine.tls_ready = 1;
	o->engine.tls_implicit = strcmp(o->tls_mode, "implicit") == 0;
	o->engine.target = &r->target;
	o->engine.vars = &o->vars;
	run_choose_text(r);
	char notice[256];
	o->engine.jobs = engine_cap_jobs(o->engine.jobs, notice, sizeof(notice));
	if (notice[0])
		fprintf(stderr, "smtpconform: %s\n", notice);
}

/* Phase 3: the scenarios, selected and sharded, and the baseline. -1 after
 * printing why (exit 2). */
static int run_load(struct run *r, char *const *args, size_t nargs)
{
	char err[1024];
	struct run_options *o = &r->opt;
	if (load_selected(args, nargs, o->dir_opt, &o->vars, &o->filter, o->rerun_json, &r->scs,
	                  &r->n) < 0) {
		r->scs = NULL;
		r->n = 0;
		return -1;
	}
	if (o->baseline_path &&
	    baseline_load(o->baseline_path, &r->baseline, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		return -1;
	}
	if (o->shard_n > 1) {
		size_t kept = 0;
		for (size_t i = 0; i < r->n; i++) {
			if (shard_of(r->scs[i]->id, (unsigned)o->shard_n) ==
			    (unsigned)(o->shard_k - 1))
				r->scs[kept++] = r->scs[i];
			else
				scenario_free(r->scs[i]);
		}
		r->n = kept;
	}
	return 0;
}

/* The run_result header: what ran against what. */
static void run_start_result(struct run *r)
{
	struct run_result *run = &r->result;
	run->tool_name = xstrdup("smtpconform");
	run->tool_version = xstrdup(SMTPCONFORM_VERSION);
	run->target = xstrdup(r->target.display);
	run->profile = xstrdup(r->opt.engine.profile);
	run->started = clock_iso8601_utc();
	run->strict = r->opt.engine.strict;
	run->tls_mode = r->opt.engine.tls_implicit ? xstrdup("implicit") : NULL;
	run->tls_verify = r->opt.tls.verify;
	run->scenarios = xcalloc(r->n, sizeof(*run->scenarios));
	run->nscenarios = r->n;
}

static char **strv_copy(char *const *v, size_t n)
{
	char **copy = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		copy[i] = xstrdup(v[i]);
	return copy;
}

/* What the capability probe learnt goes into the reports. */
static void run_record_probe(struct run *r)
{
	struct run_result *run = &r->result;
	const struct probe *p = &r->probe;
	run->greeting = p->greeting ? xstrdup(p->greeting) : NULL;
	run->nehlo_keywords = p->nkeywords;
	run->ehlo_keywords = strv_copy(p->keywords, p->nkeywords);
	run->npreconditions = p->npreconditions;
	run->preconditions =
	    p->npreconditions ? strv_copy(p->preconditions, p->npreconditions) : NULL;
	run->tls_probed = p->tls_probed;
	if (p->tls_probed) {
		run->nehlo_keywords_tls = p->nkeywords_tls;
		run->ehlo_keywords_tls = strv_copy(p->keywords_tls, p->nkeywords_tls);
	}
}

/* Phase 4: probe, then run every scenario (or record each as unreachable).
 * EXIT_UNREACHABLE when the probe could not connect, else EXIT_PASS. */
static int run_scenarios(struct run *r)
{
	char err[1024];
	int code = EXIT_PASS;
	int64_t t0 = clock_ms();
	run_start_result(r);
	if (engine_interrupted()) {
		/* Interrupted while loading: engine_run() marks every scenario. */
	} else if (target_resolve(&r->target, err, sizeof(err)) < 0) {
		r->probe.error = xstrdup(err);
	} else {
		engine_probe(&r->opt.engine, &r->probe);
		probe_set_vars(&r->probe, &r->opt.vars);
	}
	if (r->probe.error && !engine_interrupted()) {
		fprintf(stderr, "smtpconform: %s\n", r->probe.error);
		for (size_t i = 0; i < r->n; i++) {
			struct scenario_result *sr = &r->result.scenarios[i];
			scenario_result_init(sr, r->scs[i]);
			sr->verdict = VERDICT_ERROR;
			sr->reason = xasprintf("not run: %s", r->probe.error);
			sr->transcript = xstrdup("");
		}
		code = EXIT_UNREACHABLE;
	} else {
		run_record_probe(r);
		report_live_head(&r->live, &r->result);
		r->sig = engine_run(&r->opt.engine, r->scs, r->n, &r->probe, r->result.scenarios);
	}
	if (!r->sig)
		r->sig = engine_interrupted();
	r->result.duration_ms = clock_ms() - t0;
	r->result.interrupted = r->sig != 0;
	run_summarize(&r->result);
	return code;
}

/* Phase 5: waivers of --baseline, dated today (UTC). */
static void run_apply_baseline(struct run *r)
{
	if (!r->opt.baseline_path)
		return;
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	baseline_apply(&r->baseline, &r->result, today);
}

/* Phase 6: the exit code of a run that got this far (see the file header). */
static int run_exit_code(const struct run *r, int code)
{
	if (code != EXIT_PASS)
		return code;
	if (r->sig)
		return 128 + r->sig;
	if (r->result.summary.fail)
		return EXIT_FAIL;
	if (r->result.summary.error)
		return EXIT_UNREACHABLE;
	if (r->result.summary.inconclusive)
		return EXIT_INCONCLUSIVE;
	return EXIT_PASS;
}

/* Phase 7: every report, even of an interrupted run. A signal now only
 * sets a flag: each report is written whole. One that came while they were
 * written makes them say so: the files are written again (standard output
 * is not). */
static int run_write_reports(struct run *r, int code)
{
	char err[1024];
	if (report_live_end(&r->live, &r->result) < 0) {
		fprintf(stderr, "smtpconform: cannot write report: standard output: %s\n",
		        strerror(errno));
		if (code == EXIT_PASS)
			code = EXIT_USAGE;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->opt.nspecs; i++) {
			if (pass == 1 && !r->opt.specs[i].path)
				continue;
			if (report_write(&r->result, &r->opt.specs[i], err, sizeof(err)) < 0) {
				fprintf(stderr, "smtpconform: cannot write report: %s\n", err);
				if (code == EXIT_PASS)
					code = EXIT_USAGE;
			}
		}
		if (r->sig || !engine_interrupted())
			break;
		r->sig = engine_interrupted();
		r->result.interrupted = 1;
		code = 128 + r->sig;
	}
	if (r->sig)
		fprintf(stderr, "smtpconform: run interrupted by signal %d: reports are partial\n",
		        r->sig);
	return code;
}

static void run_free(struct run *r)
{
	probe_free(&r->probe);
	run_result_free(&r->result);
	baseline_free(&r->baseline);
	for (size_t i = 0; i < r->n; i++)
		scenario_free(r->scs[i]);
	free(r->scs);
	target_free(&r->target);
	tls_teardown();
	scenario_set_library(NULL);
	if (r->auth_password) {
		memset(r->auth_password, 0, strlen(r->auth_password));
		free(r->auth_password);
	}
	run_options_free(&r->opt);
}

static int cmd_run(int argc, char **argv)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	int code = EXIT_USAGE;
	engine_signals_install();
	run_parse_options(&r, argc, argv);
	run_prepare(&r);
	if (run_load(&r, argv + optind, (size_t)(argc - optind)) < 0)
		goto out;
	code = run_scenarios(&r);
	run_apply_baseline(&r);
	code = run_exit_code(&r, code);
	code = run_write_reports(&r, code);
out:
	run_free(&r);
	return code;
}

/* --report options shared by report and merge; default json on stdout. */
static struct report_spec *parse_report_args(int argc, char **argv, int first, char **inputs,
                                             size_t *ninputs, const char *from_opt,
                                             size_t *nspecs_out)
{
	struct report_spec *specs = NULL;
	size_t nspecs = 0;
	char err[512];
	*ninputs = 0;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strcmp(a, "--report") == 0 && i + 1 < argc)
			val = argv[++i];
		else if (strncmp(a, "--report=", 9) == 0)
			val = a + 9;
		if (val) {
			specs = xrealloc(specs, (nspecs + 1) * sizeof(*specs));
			if (report_parse_spec(val, &specs[nspecs], err, sizeof(err)) < 0)
				usage_error("--report %s: %s", val, err);
			nspecs++;
			continue;
		}
		if (from_opt && strcmp(a, from_opt) == 0 && i + 1 < argc) {
			inputs[(*ninputs)++] = argv[++i];
			continue;
		}
		if (a[0] == '-' && a[1])
			usage_error("unknown option %s", a);
		if (from_opt)
			usage_error("unexpected argument %s (use %s FILE)", a, from_opt);
		inputs[(*ninputs)++] = argv[i];
	}
	if (nspecs == 0) {
		specs = xcalloc(1, sizeof(*specs));
		report_parse_spec("json", &specs[0], err, sizeof(err));
		nspecs = 1;
	}
	if (report_check_specs(specs, nspecs, err, sizeof(err)) < 0)
		usage_error("%s", err);
	*nspecs_out = nspecs;
	return specs;
}

static int write_reports(const struct run_result *run, struct report_spec *specs, size_t nspecs)
{
	char err[512];
	int code = EXIT_PASS;
	for (size_t i = 0; i < nspecs; i++) {
		if (report_write(run, &specs[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform: cannot write report: %s\n", err);
			code = EXIT_USAGE;
		}
		report_spec_free(&specs[i]);
	}
	free(specs);
	return code;
}

/* "NAME=PATH" names the column NAME; a bare PATH is named by its file name
 * without ".json". Returns the path; *label_out is allocated. */
static const char *compare_input(const char *arg, char **label_out)
{
	const char *eq = strchr(arg, '=');
	if (eq && eq != arg && !memchr(arg, '/', (size_t)(eq - arg))) {
		*label_out = xstrndup(arg, (size_t)(eq - arg));
		return eq + 1;
	}
	const char *base = strrchr(arg, '/');
	base = base ? base + 1 : arg;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	*label_out = xstrndup(base, n);
	return arg;
}

/* report --from A --from B...: the runs side by side (html, md). Exit 0
 * when every table was written: a comparison has no verdict of its own. */
static int cmd_report_compare(char **inputs, size_t n, struct report_spec *specs, size_t nspecs)
{
	struct run_result *runs = xcalloc(n, sizeof(*runs));
	char **labels = xcalloc(n, sizeof(char *));
	char err[1024];
	int code = EXIT_PASS;
	size_t loaded = 0;

	for (size_t i = 0; i < nspecs && code == EXIT_PASS; i++)
		if (specs[i].format != REPORT_HTML && specs[i].format != REPORT_MD) {
			fprintf(stderr, "smtpconform: report: with several --from, --report takes "
			                "html or md (the runs side by side)\n");
			code = EXIT_USAGE;
		}
	for (; loaded < n && code == EXIT_PASS; loaded++) {
		const char *path = compare_input(inputs[loaded], &labels[loaded]);
		if (report_load_json(path, &runs[loaded], err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform: %s\n", err);
			code = EXIT_USAGE;
			free(labels[loaded]);
			labels[loaded] = NULL;
			break;
		}
	}
	for (size_t i = 0; i < nspecs; i++) {
		if (code == EXIT_PASS && report_write_compare(runs, (const char *const *)labels, n,
		                                              &specs[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform: cannot write report: %s\n", err);
			code = EXIT_USAGE;
		}
		report_spec_free(&specs[i]);
	}
	for (size_t i = 0; i < loaded; i++)
		run_result_free(&runs[i]);
	for (size_t i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
	free(runs);
	free(specs);
	free(inputs);
	return code;
}

static int cmd_report(int argc, char **argv)
{
	char **inputs = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs, nspecs;
	struct report_spec *specs =
	    parse_report_args(argc, argv, 1, inputs, &ninputs, "--from", &nspecs);
	if (ninputs == 0)
		usage_error("report needs --from RUN.json (several --from: the runs side by side)");
	if (ninputs > 1)
		return cmd_report_compare(inputs, ninputs, specs, nspecs);
	struct run_result run;
	char err[1024];
	if (report_load_json(inputs[0], &run, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		free(inputs);
		for (size_t i = 0; i < nspecs; i++)
			report_spec_free(&specs[i]);
		free(specs);
		return EXIT_USAGE;
	}
	free(inputs);
	int code = write_reports(&run, specs, nspecs);
	if (code == EXIT_PASS)
		code = report_exit_code(&run); /* the saved run's verdict */
	run_result_free(&run);
	return code;
}

static int cmd_merge(int argc, char **argv)
{
	char **inputs = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs, nspecs;
	struct report_spec *specs =
	    parse_report_args(argc, argv, 1, inputs, &ninputs, NULL, &nspecs);
	if (ninputs < 1)
		usage_error("merge needs the JSON reports of the shards");
	struct run_result *runs = xcalloc(ninputs, sizeof(*runs));
	char err[1024];
	int code = EXIT_PASS;
	size_t loaded = 0;
	for (; loaded < ninputs; loaded++)
		if (report_load_json(inputs[loaded], &runs[loaded], err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform: %s\n", err);
			code = EXIT_USAGE;
			break;
		}
	struct run_result merged;
	memset(&merged, 0, sizeof(merged));
	if (code == EXIT_PASS && merge_runs(runs, ninputs, &merged, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: merge: %s\n", err);
		code = EXIT_USAGE;
	}
	if (code == EXIT_PASS) {
		code = write_reports(&merged, specs, nspecs);
		if (code == EXIT_PASS)
			code = report_exit_code(&merged); /* the joined run's verdict */
	} else {
		for (size_t i = 0; i < nspecs; i++)
			report_spec_free(&specs[i]);
		free(specs);
	}
	for (size_t i = 0; i < ninputs; i++)
		run_result_free(&runs[i]);
	run_result_free(&merged);
	free(runs);
	free(inputs);
	return code;
}

static int cmd_diff(int argc, char **argv)
{
	int markdown = 0;
	const char *files[2];
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--md") == 0 || strcmp(argv[i], "--markdown") == 0)
			markdown = 1;
		else if (strcmp(argv[i], "--help") == 0) {
			fputs(
			    "usage: smtpconform diff OLD.json NEW.json [--md]\n"
			    "exit 0: nothing regressed, 1: something started failing, 4: nothing\n"
			    "regressed but a scenario is no longer tested (now inconclusive), 2: "
			    "bad "
			    "input\n",
			    stdout);
			return EXIT_PASS;
		} else if (argv[i][0] == '-')
			usage_error("diff: unknown option %s", argv[i]);
		else if (nfiles < 2)
			files[nfiles++] = argv[i];
		else
			usage_error("diff takes two JSON reports: OLD.json NEW.json");
	}
	if (nfiles != 2)
		usage_error("diff takes two JSON reports: OLD.json NEW.json");
	struct run_result a, b;
	char err[1024];
	if (report_load_json(files[0], &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		return EXIT_USAGE;
	}
	if (report_load_json(files[1], &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		run_result_free(&a);
		return EXIT_USAGE;
	}
	struct buf out = { 0 };
	int status = diff_runs(&a, &b, markdown, &out);
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	run_result_free(&a);
	run_result_free(&b);
	return status == 1 ? EXIT_FAIL : status == 4 ? EXIT_INCONCLUSIVE : EXIT_PASS;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		print_usage(stdout);
		return EXIT_PASS;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
	    strcmp(cmd, "-V") == 0) {
		printf("smtpconform %s\n", SMTPCONFORM_VERSION);
		return EXIT_PASS;
	}
	/* Subcommands parse their own options: argv[1] becomes argv[0]. */
	argc--;
	argv++;
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(argc, argv);
	if (strcmp(cmd, "matrix") == 0)
		return cmd_matrix(argc, argv);
	if (strcmp(cmd, "rules") == 0)
		return cmd_rules(argc, argv);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(cmd, "merge") == 0)
		return load_merge_wanted(argc, argv) ? load_merge_main(argc, argv)
		                                     : cmd_merge(argc, argv);
	if (strcmp(cmd, "load") == 0)
		return load_main(argc, argv);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc, argv);
	if (strcmp(cmd, "shell") == 0)
		return shell_main(argc, argv);
	if (strcmp(cmd, "record") == 0)
		return record_main(argc, argv);
	usage_error("unknown command '%s' (commands: run, list, check, matrix, rules, report, "
	            "merge, diff, shell, "
	            "record, load, help, version)",
	            cmd);
}
