/*
 * main.c - the command line: run, check, matrix, help, version.
 *
 * Owns option parsing, exit codes and the order of a run (load every
 * scenario, probe, run, write reports). Everything else is delegated.
 *
 * Exit codes: 0 all passed (skips allowed), 1 a scenario failed, 2 usage or
 * scenario-file error, 3 target unreachable (or a scenario could not run),
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "baseline.h"
#include "conn.h"
#include "diff.h"
#include "smtp_limits.h"
#include "matrix.h"
#include "report.h"
#include "result.h"
#include "scenario.h"
#include "session.h"
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
};

#define DEFAULT_PROFILE "rfc5321"
#define DEFAULT_TARGET "localhost:25"
#define DEFAULT_SCENARIOS "scenarios"

static const char usage_text[] =
    "usage: smtpconform COMMAND [options] [args]\n"
    "\n"
    "SMTP conformance test harness: replays scenarios against an SMTP server and\n"
    "checks every reply against RFC 5321 reply syntax, the allowed-code matrix\n"
    "and the scenario's expectations.\n"
    "\n"
    "commands:\n"
    "  run [options] [FILE|DIR...]   run scenarios (default: the bundled scenarios/)\n"
    "  check FILE|DIR...             lint scenario files without connecting\n"
    "  matrix [--profile P]          print the allowed-code matrix\n"
    "  report --from RUN.json --report FMT[:PATH]...\n"
    "                                render a saved JSON report in other formats\n"
    "  merge A.json B.json... [--report FMT[:PATH]...]\n"
    "                                join the JSON reports of --shard runs (default: json\n"
    "                                on stdout)\n"
    "  diff OLD.json NEW.json [--md] what started failing, got fixed, changed verdict or\n"
    "                                reply code; exit 1 when something regressed\n"
    "  help                          this text\n"
    "  version                       print the version\n"
    "\n"
    "run options:\n"
    "  -c, --config FILE        a target profile (targets/*.conf): key = value lines\n"
    "                           for target, profile, timeout, jobs, strict, report and\n"
    "                           var.NAME; options on the command line win\n"
    "  -t, --target TARGET      HOST[:PORT] (default " DEFAULT_TARGET "), [IPv6]:PORT,\n"
    "                           unix:/path/to/socket, or exec:COMMAND (a program\n"
    "                           speaking SMTP on stdin/stdout, e.g. exec:'sendmail -bs')\n"
    "      --var NAME=VALUE     set a scenario variable (repeatable); defaults:\n"
    "                           domain=localhost client=smtpconform.example\n"
    "                           sender=conform@smtpconform.example rcpt=postmaster@{domain}\n"
    "                           foreign_domain=example.net relay_rcpt=relay-test@{foreign_domain}\n"
    "      --profile P          matrix profile: rfc5321 (default) or rfc821\n"
    "      --timeout SECONDS    deadline for each whole reply (default: RFC 5321\n"
    "                           4.5.3.2: 5 min greeting/MAIL/RCPT, 2 min DATA, 10 min\n"
    "                           end of data)\n"
    "      --strict             warnings (non-standard but common replies) fail\n"
    "  -j, --jobs N             run N scenarios at once (default 1, max 256)\n"
    "      --baseline FILE      known deviations: a waiver file (docs/baselines.md) or a\n"
    "                           previous JSON report; they are reported as waived, and\n"
    "                           only new failures fail the run\n"
    "      --shard K/N          run only the K-th of N stable parts of the scenarios\n"
    "                           (for CI fan-out; join the JSON reports with merge)\n"
    "      --report FMT[:PATH]  text (default, stdout), json, junit, tap, html or md;\n"
    "                           repeatable; files are written atomically\n"
    "      --tls MODE           none (default; STARTTLS is a scenario step) or implicit\n"
    "                           (TLS from the first byte, RFC 8314, e.g. port 465)\n"
    "      --tls-verify on|off  verify the server certificate and name (default on;\n"
    "                           off for self-signed lab servers: the reports say so)\n"
    "      --ca-file FILE       CA bundle (PEM) to verify against (default: system's)\n"
    "      --tls-min-version V  TLSv1, TLSv1.1, TLSv1.2 (default) or TLSv1.3\n"
    "      --sni NAME           server name to send and verify (default: the target's\n"
    "                           host when it is a name)\n"
    "      --auth-user USER     run the AUTH scenarios (A: steps) as USER; the password\n"
    "                           comes from SMTPCONFORM_PASSWORD, never the command line\n"
    "      --auth-password-env NAME   take the password from $NAME instead\n"
    "      --auth-password-file PATH  or from the first line of PATH\n"
    "  -v, --verbose            print each scenario's transcript on stderr (-vv: states)\n"
    "  -q, --quiet              no progress line\n"
    "\n"
    "exit codes: 0 all passed (skips allowed), 1 a scenario failed, 2 usage or\n"
    "scenario-file error, 3 target unreachable or a scenario could not run,\n"
    "130/143 interrupted (partial reports are written and say so).\n"
    "\n"
    "Documentation: README.md, docs/scenario-format.md, docs/rules.md.\n";

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

static int parse_int(const char *arg, const char *opt, int lo, int hi)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || !*arg || *end || v < lo || v > hi)
		usage_error("%s %s: expected a whole number from %d to %d", opt, arg, lo, hi);
	return (int)v;
}

static void check_profile(const char *profile)
{
	if (matrix_profile_known(profile))
		return;
	struct buf b = {0};
	for (const char *const *p = matrix_profiles(); *p; p++)
		buf_printf(&b, "%s%s", b.len ? ", " : "", *p);
	usage_error("unknown profile '%s' (known: %s)", profile, b.data ? b.data : "none");
}

/* Loads every scenario named by args; prints every error. -1 on any error. */
static int load_scenarios(char *const *args, size_t nargs, const struct vars *vars,
                          struct scenario ***out, size_t *n_out)
{
	char err[1024];
	struct scenario_list list;
	if (scenario_collect(args, nargs, &list, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (list.n == 0) {
		fprintf(stderr, "smtpconform: no scenario files (*.smtp) found\n");
		scenario_list_free(&list);
		return -1;
	}
	struct scenario **scs = xcalloc(list.n, sizeof(*scs));
	size_t n = 0;
	int bad = 0;
	for (size_t i = 0; i < list.n; i++) {
		struct scenario *sc = NULL;
		if (scenario_load(list.paths[i], list.roots[i], &sc, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
			continue;
		}
		if (vars && scenario_check_vars(sc, vars, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
			scenario_free(sc);
			continue;
		}
		scs[n++] = sc;
	}
	/* Two files with one id would make reports ambiguous. */
	for (size_t i = 0; i < n && !bad; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(scs[i]->id, scs[j]->id) == 0) {
				fprintf(stderr, "%s: id '%s' is also used by %s\n", scs[j]->path, scs[j]->id,
				        scs[i]->path);
				bad = 1;
			}
	scenario_list_free(&list);
	if (bad) {
		for (size_t i = 0; i < n; i++)
			scenario_free(scs[i]);
		free(scs);
		return -1;
	}
	*out = scs;
	*n_out = n;
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"var", required_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
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
		case 'h':
			fputs("usage: smtpconform check [--var NAME=VALUE] FILE|DIR...\n"
			      "Lints scenario files without connecting; errors are path:line: message.\n",
			      stdout);
			exit(EXIT_PASS);
		default:
			usage_error("check: unknown option");
		}
	}
	if (optind >= argc)
		usage_error("check needs FILE or DIR arguments");
	struct scenario **scs;
	size_t n;
	int rc = load_scenarios(argv + optind, (size_t)(argc - optind), &vars, &scs, &n);
	vars_free(&vars);
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
	    {"profile", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *profile = DEFAULT_PROFILE;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			profile = optarg;
			break;
		case 'h':
			fputs("usage: smtpconform matrix [--profile rfc5321|rfc821]\n", stdout);
			exit(EXIT_PASS);
		default:
			usage_error("matrix: unknown option");
		}
	}
	if (optind < argc)
		usage_error("matrix takes no arguments");
	check_profile(profile);
	matrix_print(stdout, profile);
	return EXIT_PASS;
}

static char *iso8601_now(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char s[32];
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(s);
}

/* Where the bundled scenarios are when no FILE|DIR is given. */
static const char *default_scenarios(void)
{
	struct stat st;
	if (stat(DEFAULT_SCENARIOS, &st) == 0 && S_ISDIR(st.st_mode))
		return DEFAULT_SCENARIOS;
	static char path[PATH_MAX + 32];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			snprintf(path, sizeof(path), "%s/../scenarios", exe);
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				return path;
		}
	}
	usage_error("no FILE or DIR given and no scenarios/ directory here; "
	            "run from the smtpconform tree or name the scenarios");
}

/* Where the AUTH password comes from: never the command line itself. */
struct auth_args {
	const char *user;
	const char *env;  /* environment variable holding the password */
	const char *file; /* or a file whose first line is the password */
};

/* The password, or NULL with a message; registered for redaction. */
static char *load_password(const struct auth_args *a, char *err, size_t errlen)
{
	char *pw = NULL;
	if (a->file) {
		struct buf b = {0};
		if (file_read_all(a->file, 4096, &b) < 0) {
			snprintf(err, errlen, "--auth-password-file %s: %s", a->file, strerror(errno));
			buf_free(&b);
			return NULL;
		}
		pw = buf_steal(&b);
		pw[strcspn(pw, "\r\n")] = 0;
	} else {
		const char *v = getenv(a->env);
		if (!v) {
			snprintf(err, errlen,
			         "--auth-user needs a password: set %s (or use --auth-password-env NAME or "
			         "--auth-password-file PATH)",
			         a->env);
			return NULL;
		}
		pw = xstrdup(v);
	}
	if (!*pw) {
		snprintf(err, errlen, "the AUTH password is empty");
		free(pw);
		return NULL;
	}
	redact_register(pw, strlen(pw));
	return pw;
}

/* The value of -c/--config, looked up before the other options so that
 * the command line can override the file. */
static const char *find_config_arg(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
		else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2])
			path = argv[i] + 2;
	}
	return path;
}

/* The strings a target profile sets live for the whole run, whether or not
 * the command line overrides them later: they are owned here and freed at
 * exit (before, an overridden -t or any profile= was lost memory). */
static char **config_strings;
static size_t nconfig_strings;

static void free_config_strings(void)
{
	for (size_t i = 0; i < nconfig_strings; i++)
		free(config_strings[i]);
	free(config_strings);
	config_strings = NULL;
	nconfig_strings = 0;
}

static char *config_string(const char *value)
{
	if (nconfig_strings == 0)
		atexit(free_config_strings);
	config_strings = xrealloc(config_strings, (nconfig_strings + 1) * sizeof(*config_strings));
	return config_strings[nconfig_strings++] = xstrdup(value);
}

/* Settings of a target profile; the command line parsed later wins. */
static void apply_config(const char *path, const char **target_arg, struct engine_options *o,
                         struct vars *vars, struct report_spec **specs, size_t *nspecs,
                         struct tls_options *tls, const char **tls_mode, struct auth_args *auth)
{
	struct config cfg;
	char err[1024];
	if (config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		exit(EXIT_USAGE);
	}
	for (size_t i = 0; i < cfg.n; i++) {
		const struct config_entry *e = &cfg.entries[i];
		char where[PATH_MAX + 32];
		snprintf(where, sizeof(where), "%s:%d", path, e->line);
		if (strcmp(e->key, "target") == 0) {
			*target_arg = config_string(e->value);
		} else if (strcmp(e->key, "profile") == 0) {
			o->profile = config_string(e->value);
		} else if (strcmp(e->key, "timeout") == 0) {
			o->timeout_s = parse_int(e->value, where, 1, 24 * 3600);
		} else if (strcmp(e->key, "jobs") == 0) {
			o->jobs = parse_int(e->value, where, 1, JOBS_MAX);
		} else if (strcmp(e->key, "strict") == 0) {
			o->strict = parse_int(e->value, where, 0, 1);
		} else if (strcmp(e->key, "report") == 0) {
			*specs = xrealloc(*specs, (*nspecs + 1) * sizeof(**specs));
			if (report_parse_spec(e->value, &(*specs)[*nspecs], err, sizeof(err)) < 0)
				usage_error("%s: report %s: %s", where, e->value, err);
			(*nspecs)++;
		} else if (strncmp(e->key, "var.", 4) == 0) {
			vars_set(vars, e->key + 4, e->value);
		} else if (strcmp(e->key, "tls") == 0) {
			if (strcmp(e->value, "none") != 0 && strcmp(e->value, "implicit") != 0)
				usage_error("%s: tls %s: expected none or implicit", where, e->value);
			*tls_mode = config_string(e->value);
		} else if (strcmp(e->key, "tls-verify") == 0) {
			if (strcmp(e->value, "on") != 0 && strcmp(e->value, "off") != 0)
				usage_error("%s: tls-verify %s: expected on or off", where, e->value);
			tls->verify = strcmp(e->value, "on") == 0;
		} else if (strcmp(e->key, "ca-file") == 0) {
			tls->ca_file = config_string(e->value);
		} else if (strcmp(e->key, "tls-min-version") == 0) {
			if (!tls_version_known(e->value))
				usage_error("%s: tls-min-version %s: expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3",
				            where, e->value);
			tls->min_version = config_string(e->value);
		} else if (strcmp(e->key, "sni") == 0) {
			tls->sni = config_string(e->value);
		} else if (strcmp(e->key, "auth-user") == 0) {
			auth->user = config_string(e->value);
		} else if (strcmp(e->key, "auth-password-env") == 0) {
			auth->env = config_string(e->value);
			auth->file = NULL;
		} else if (strcmp(e->key, "auth-password-file") == 0) {
			auth->file = config_string(e->value);
			auth->env = NULL;
		}
	}
	config_free(&cfg);
}

static int cmd_run(int argc, char **argv)
{
	enum {
		OPT_VAR = 256, OPT_PROFILE, OPT_TIMEOUT, OPT_STRICT, OPT_REPORT, OPT_TLS,
		OPT_TLS_VERIFY, OPT_CA_FILE, OPT_TLS_MIN, OPT_SNI, OPT_AUTH_USER, OPT_AUTH_ENV,
		OPT_AUTH_FILE, OPT_SHARD, OPT_BASELINE,
	};
	static const struct option longopts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"config", required_argument, NULL, 'c'},
	    {"var", required_argument, NULL, OPT_VAR},
	    {"profile", required_argument, NULL, OPT_PROFILE},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"jobs", required_argument, NULL, 'j'},
	    {"report", required_argument, NULL, OPT_REPORT},
	    {"tls", required_argument, NULL, OPT_TLS},
	    {"tls-verify", required_argument, NULL, OPT_TLS_VERIFY},
	    {"ca-file", required_argument, NULL, OPT_CA_FILE},
	    {"tls-min-version", required_argument, NULL, OPT_TLS_MIN},
	    {"sni", required_argument, NULL, OPT_SNI},
	    {"auth-user", required_argument, NULL, OPT_AUTH_USER},
	    {"shard", required_argument, NULL, OPT_SHARD},
	    {"baseline", required_argument, NULL, OPT_BASELINE},
	    {"auth-password-env", required_argument, NULL, OPT_AUTH_ENV},
	    {"auth-password-file", required_argument, NULL, OPT_AUTH_FILE},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *target_arg = DEFAULT_TARGET;
	struct engine_options o;
	memset(&o, 0, sizeof(o));
	o.profile = DEFAULT_PROFILE;
	o.jobs = 1;
	int quiet = 0;
	struct vars vars;
	vars_init_defaults(&vars);
	struct report_spec *specs = NULL;
	size_t nspecs = 0;
	char err[1024];
	struct tls_options tls = {.verify = 1, .min_version = "TLSv1.2"};
	const char *tls_mode = "none";
	struct auth_args auth = {.env = "SMTPCONFORM_PASSWORD"};
	int shard_k = 0, shard_n = 0;
	const char *baseline_path = NULL;
	const char *config_path = find_config_arg(argc, argv);
	if (config_path)
		apply_config(config_path, &target_arg, &o, &vars, &specs, &nspecs, &tls, &tls_mode, &auth);
	size_t config_specs = nspecs;
	int c;
	while ((c = getopt_long(argc, argv, "t:c:j:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			target_arg = optarg;
			break;
		case 'c':
			break; /* applied above */
		case OPT_VAR:
			if (vars_set_arg(&vars, optarg, err, sizeof(err)) < 0)
				usage_error("--var %s: %s", optarg, err);
			break;
		case OPT_PROFILE:
			o.profile = optarg;
			break;
		case OPT_TIMEOUT:
			o.timeout_s = parse_int(optarg, "--timeout", 1, 24 * 3600);
			break;
		case OPT_STRICT:
			o.strict = 1;
			break;
		case 'j':
			o.jobs = parse_int(optarg, "-j", 1, JOBS_MAX);
			break;
		case OPT_REPORT:
			/* --report replaces the profile's reports. */
			if (config_specs > 0) {
				for (size_t k = 0; k < config_specs; k++)
					report_spec_free(&specs[k]);
				memmove(specs, specs + config_specs, (nspecs - config_specs) * sizeof(*specs));
				nspecs -= config_specs;
				config_specs = 0;
			}
			specs = xrealloc(specs, (nspecs + 1) * sizeof(*specs));
			if (report_parse_spec(optarg, &specs[nspecs], err, sizeof(err)) < 0)
				usage_error("--report %s: %s", optarg, err);
			nspecs++;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "none") != 0 && strcmp(optarg, "implicit") != 0)
				usage_error("--tls %s: expected none or implicit (STARTTLS is a scenario step)",
				            optarg);
			tls_mode = optarg;
			break;
		case OPT_TLS_VERIFY:
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
				usage_error("--tls-verify %s: expected on or off", optarg);
			tls.verify = strcmp(optarg, "on") == 0;
			break;
		case OPT_CA_FILE:
			tls.ca_file = optarg;
			break;
		case OPT_TLS_MIN:
			if (!tls_version_known(optarg))
				usage_error("--tls-min-version %s: expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3",
				            optarg);
			tls.min_version = optarg;
			break;
		case OPT_SNI:
			tls.sni = optarg;
			break;
		case OPT_AUTH_USER:
			auth.user = optarg;
			break;
		case OPT_BASELINE:
			baseline_path = optarg;
			break;
		case OPT_SHARD: {
			char *slash = strchr(optarg, '/');
			if (!slash)
				usage_error("--shard %s: expected K/N, e.g. 2/4", optarg);
			*slash = 0;
			shard_n = parse_int(slash + 1, "--shard N", 1, 1000);
			shard_k = parse_int(optarg, "--shard K", 1, shard_n);
			break;
		}
		case OPT_AUTH_ENV:
			auth.env = optarg;
			auth.file = NULL;
			break;
		case OPT_AUTH_FILE:
			auth.file = optarg;
			auth.env = NULL;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_PASS);
		default:
			usage_error("run: unknown option");
		}
	}
	check_profile(o.profile);
	if (nspecs == 0) {
		specs = xcalloc(1, sizeof(*specs));
		report_parse_spec("text", &specs[0], err, sizeof(err));
		nspecs = 1;
	}
	struct target target;
	if (target_parse(target_arg, &target, err, sizeof(err)) < 0)
		usage_error("%s", err);
	/* SNI and name verification default to the target's name (not an IP). */
	if (!tls.sni && target.kind == TARGET_TCP && strspn(target.host, "0123456789.") != strlen(target.host) &&
	    !strchr(target.host, ':'))
		tls.sni = target.host;
	if (tls_setup(&tls, err, sizeof(err)) < 0)
		usage_error("TLS: %s", err);
	char *auth_password = NULL;
	if (auth.user) {
		auth_password = load_password(&auth, err, sizeof(err));
		if (!auth_password)
			usage_error("%s", err);
		o.auth_user = auth.user;
		o.auth_password = auth_password;
	}
	o.tls_ready = 1;
	o.tls_implicit = strcmp(tls_mode, "implicit") == 0;

	char *default_arg[] = {(char *)default_scenarios(), NULL};
	char *const *args = optind < argc ? argv + optind : default_arg;
	size_t nargs = optind < argc ? (size_t)(argc - optind) : 1;
	struct scenario **scs;
	size_t n;
	if (load_scenarios(args, nargs, &vars, &scs, &n) < 0) {
		for (size_t i = 0; i < nspecs; i++)
			report_spec_free(&specs[i]);
		free(specs);
		target_free(&target);
		vars_free(&vars);
		tls_teardown();
		return EXIT_USAGE;
	}

	struct baseline baseline;
	memset(&baseline, 0, sizeof(baseline));
	if (baseline_path && baseline_load(baseline_path, &baseline, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform: %s\n", err);
		for (size_t i = 0; i < n; i++)
			scenario_free(scs[i]);
		free(scs);
		for (size_t i = 0; i < nspecs; i++)
			report_spec_free(&specs[i]);
		free(specs);
		target_free(&target);
		vars_free(&vars);
		tls_teardown();
		return EXIT_USAGE;
	}
	if (shard_n > 1) {
		size_t kept = 0;
		for (size_t i = 0; i < n; i++) {
			if (shard_of(scs[i]->id, (unsigned)shard_n) == (unsigned)(shard_k - 1))
				scs[kept++] = scs[i];
			else
				scenario_free(scs[i]);
		}
		n = kept;
	}
	o.target = &target;
	o.vars = &vars;
	o.progress = !quiet && isatty(STDERR_FILENO);

	struct run_result run;
	memset(&run, 0, sizeof(run));
	run.tool_name = xstrdup("smtpconform");
	run.tool_version = xstrdup(SMTPCONFORM_VERSION);
	run.target = xstrdup(target.display);
	run.profile = xstrdup(o.profile);
	run.started = iso8601_now();
	run.strict = o.strict;
	run.tls_mode = o.tls_implicit ? xstrdup("implicit") : NULL;
	run.tls_verify = tls.verify;
	run.scenarios = xcalloc(n, sizeof(*run.scenarios));
	run.nscenarios = n;
	int64_t t0 = clock_ms();

	int code = EXIT_PASS;
	int sig = 0;
	struct probe probe;
	memset(&probe, 0, sizeof(probe));
	if (target_resolve(&target, err, sizeof(err)) < 0) {
		probe.error = xstrdup(err);
	} else {
		engine_probe(&o, &probe);
	}
	if (probe.error) {
		fprintf(stderr, "smtpconform: %s\n", probe.error);
		for (size_t i = 0; i < n; i++) {
			struct scenario_result *r = &run.scenarios[i];
			r->id = xstrdup(scs[i]->id);
			r->file = xstrdup(scs[i]->path);
			r->title = xstrdup(scs[i]->title ? scs[i]->title : "");
			r->ref = xstrdup(scs[i]->ref ? scs[i]->ref : "");
			r->level = xstrdup(scs[i]->level ? scs[i]->level : "");
			r->tags = xcalloc(1, sizeof(char *));
			r->verdict = VERDICT_ERROR;
			r->reason = xasprintf("target unreachable: %s", probe.error);
			r->transcript = xstrdup("");
		}
		code = EXIT_UNREACHABLE;
	} else {
		run.greeting = probe.greeting ? xstrdup(probe.greeting) : NULL;
		run.nehlo_keywords = probe.nkeywords;
		run.ehlo_keywords = xcalloc(probe.nkeywords ? probe.nkeywords : 1, sizeof(char *));
		for (size_t i = 0; i < probe.nkeywords; i++)
			run.ehlo_keywords[i] = xstrdup(probe.keywords[i]);
		run.tls_probed = probe.tls_probed;
		if (probe.tls_probed) {
			run.nehlo_keywords_tls = probe.nkeywords_tls;
			run.ehlo_keywords_tls = xcalloc(probe.nkeywords_tls ? probe.nkeywords_tls : 1,
			                                sizeof(char *));
			for (size_t i = 0; i < probe.nkeywords_tls; i++)
				run.ehlo_keywords_tls[i] = xstrdup(probe.keywords_tls[i]);
		}
		sig = engine_run(&o, scs, n, &probe, run.scenarios);
	}
	run.duration_ms = clock_ms() - t0;
	run.interrupted = sig != 0;
	run_summarize(&run);
	if (baseline_path) {
		char today[16];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		baseline_apply(&baseline, &run, today);
	}
	baseline_free(&baseline);
	if (code == EXIT_PASS) {
		if (sig)
			code = 128 + sig;
		else if (run.summary.fail)
			code = EXIT_FAIL;
		else if (run.summary.error)
			code = EXIT_UNREACHABLE;
	}
	for (size_t i = 0; i < nspecs; i++) {
		if (report_write(&run, &specs[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "smtpconform: cannot write report: %s\n", err);
			if (code == EXIT_PASS)
				code = EXIT_USAGE;
		}
	}
	if (sig)
		fprintf(stderr, "smtpconform: run interrupted by signal %d: reports are partial\n", sig);

	for (size_t i = 0; i < nspecs; i++)
		report_spec_free(&specs[i]);
	free(specs);
	probe_free(&probe);
	run_result_free(&run);
	for (size_t i = 0; i < n; i++)
		scenario_free(scs[i]);
	free(scs);
	target_free(&target);
	vars_free(&vars);
	tls_teardown();
	if (auth_password) {
		memset(auth_password, 0, strlen(auth_password));
		free(auth_password);
	}
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

static int cmd_report(int argc, char **argv)
{
	char **inputs = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs, nspecs;
	struct report_spec *specs = parse_report_args(argc, argv, 1, inputs, &ninputs, "--from", &nspecs);
	if (ninputs != 1)
		usage_error("report needs exactly one --from RUN.json");
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
	run_result_free(&run);
	return code;
}

static int cmd_merge(int argc, char **argv)
{
	char **inputs = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t ninputs, nspecs;
	struct report_spec *specs = parse_report_args(argc, argv, 1, inputs, &ninputs, NULL, &nspecs);
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
	if (code == EXIT_PASS)
		code = write_reports(&merged, specs, nspecs);
	else {
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
			fputs("usage: smtpconform diff OLD.json NEW.json [--md]\n"
			      "exit 0: nothing regressed, 1: something started failing, 2: bad input\n",
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
	struct buf out = {0};
	int regressed = diff_runs(&a, &b, markdown, &out);
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
	run_result_free(&a);
	run_result_free(&b);
	return regressed ? EXIT_FAIL : EXIT_PASS;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage_text, stdout);
		return EXIT_PASS;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
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
	if (strcmp(cmd, "matrix") == 0)
		return cmd_matrix(argc, argv);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(cmd, "merge") == 0)
		return cmd_merge(argc, argv);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc, argv);
	usage_error("unknown command '%s' (commands: run, check, matrix, report, merge, diff, help, "
	            "version)",
	            cmd);
}
