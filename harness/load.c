/*
 * load.c - `smtpconform load`: its command line, and a scheduler that runs
 * the given scenarios round-robin as sessions (session.c, the same state
 * machine and judgement as `run`) on one event loop, -c at once, for -n
 * sessions or --duration seconds, optionally at --rate and after a --ramp.
 *
 * Each session's result is folded into struct load_stats when it ends and
 * then freed: a passing session leaves nothing behind, a failing one its
 * transcript only while its rule has fewer than LOAD_EXAMPLES_PER_RULE
 * examples. Memory does not grow with the number of sessions. Reports are
 * load_report.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "credentials.h"
#include "load.h"
#include "matrix.h"
#include "report.h"
#include "scenario.h"
#include "session_internal.h"
#include "tls.h"

#ifndef SMTPCONFORM_VERSION
#define SMTPCONFORM_VERSION "0.0.0"
#endif

/* How often the scheduler looks again when --rate, --ramp or --duration
 * hold starts back, and how often the progress line is redrawn. */
#define LOAD_TICK_MS 5
#define LOAD_PROGRESS_MS 250

static const char load_usage[] =
    "usage: smtpconform load -t TARGET [-c CONCURRENCY] (-n SESSIONS | --duration SECONDS)\n"
    "                        [--rate SESSIONS/S] [--ramp SECONDS] [options] SCENARIO...\n"
    "\n"
    "Runs the scenarios round-robin as sessions against TARGET, every reply judged\n"
    "as `run` judges it, and reports throughput, per-command latency percentiles,\n"
    "findings by rule (with example transcripts) and connection errors. Only for\n"
    "servers you own or are allowed to load-test (docs/load.md).\n"
    "\n"
    "  -t, --target TARGET     HOST[:PORT], [v6]:PORT, unix:/path\n"
    "  -c, --concurrency N     sessions at once (default 1, at most 10000)\n"
    "  -n, --sessions N        sessions to run in all\n"
    "      --duration SECONDS  start sessions for this long (instead of -n)\n"
    "      --rate N            start at most N sessions per second\n"
    "      --ramp SECONDS      grow concurrency (and --rate) from 1 over this time\n"
    "      --report FMT[:PATH] text, md or json (default: text on stdout); repeatable\n"
    "      --profile P         matrix profile (default rfc5321)\n"
    "      --strict            warnings fail\n"
    "      --timeout SECONDS   every reply's timeout (default: RFC 5321 4.5.3.2)\n"
    "      --scenario-timeout SECONDS  one session's whole budget (default 3600)\n"
    "      --var NAME=VALUE    scenario variable (repeatable)\n"
    "      --tls none|implicit, --tls-verify on|off, --ca-file PEM, --sni NAME,\n"
    "      --tls-min-version V TLS as for run (STARTTLS when a scenario sends it)\n"
    "      --auth-user USER, --auth-password-env VAR, --auth-password-file FILE\n"
    "  -q, --quiet             no progress line\n"
    "  -h, --help              this text\n"
    "\n"
    "exit codes: 0 no finding failed, 1 a finding failed, 2 usage or scenario-file\n"
    "error, 3 target unreachable or sessions could not run, 130/143 interrupted.\n";

struct load_options {
	const char *target_arg;
	int concurrency;
	uint64_t sessions;   /* -n; 0: --duration */
	int64_t duration_us; /* --duration; 0: -n */
	double rate;         /* sessions/s; 0: as fast as they end */
	int64_t ramp_us;
	int quiet;
	int progress; /* the live progress line (a terminal, not -q) */
	const char *tls_mode;
	struct tls_options tls;
	struct auth_args auth;
	struct vars vars;
	struct report_spec *specs;
	size_t nspecs;
	struct engine_options engine;
};

/* One load run: the loop, the slots and what is measured. */
struct load_run {
	struct event_base *base;
	const struct load_options *o;
	struct scenario **scenarios;
	size_t nscenarios;
	struct session *slots;           /* -c of them, reused */
	struct scenario_result *results; /* one per slot, emptied at each end */
	struct reply **replies;          /* one per slot, allocated at its first use */
	int64_t *slot_started_us;
	size_t *free_slots; /* stack of free slot indices */
	size_t nfree;
	uint64_t started, done, running;
	int64_t t0_us;
	int stopping; /* --duration is over: start nothing more */
	int signal;
	struct event *ev_start, *ev_tick, *ev_progress;
	int tick_armed;
	int enhanced_codes; /* the probe saw ENHANCEDSTATUSCODES */
	struct load_stats *stats;
};

static void usage_error(const char *what, const char *arg) __attribute__((noreturn));
static void usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "smtpconform load: %s%s%s\nTry 'smtpconform load --help'.\n", what,
	        arg ? " " : "", arg ? arg : "");
	exit(2);
}

/* A positive number (seconds, count or rate) or a usage error. */
static double parse_positive(const char *opt, const char *arg, double max)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > max) {
		char what[96];
		snprintf(what, sizeof(what), "%s: expected a number above 0 and at most %.0f, got",
		         opt, max);
		usage_error(what, arg);
	}
	return v;
}

/* ------------------------------------------------------ aggregation */

/* "ECONNREFUSED" for errno values a load run meets; "errno N" else. */
static const char *errno_name(int e, char *buf, size_t len)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case EPIPE: return "EPIPE";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ECONNABORTED: return "ECONNABORTED";
	case ENOBUFS: return "ENOBUFS";
	case EAGAIN: return "EAGAIN";
	}
	snprintf(buf, len, "errno %d", e);
	return buf;
}

/* The errno whose strerror() text the reason quotes ("cannot connect to
 * X: Connection refused"), the longest that matches, or 0. */
static int errno_in(const char *reason)
{
	int best = 0;
	size_t best_len = 0;
	for (int e = 1; reason && e < 256; e++) {
		const char *text = strerror(e);
		size_t len = strlen(text);
		if (len > best_len && strncmp(text, "Unknown error", 13) != 0 &&
		    strstr(reason, text)) {
			best = e;
			best_len = len;
		}
	}
	return best;
}

/* One reply was judged: its latency goes into its command's histogram. */
static void on_judged(struct session *s, const struct step_result *st)
{
	struct load_run *lr = s->owner;
	hist_record(load_command_hist(lr->stats, st->command), clock_us() - s->group_sent_us);
}

/* Folds one ended session into the figures. */
static void fold_result(struct load_run *lr, struct session *s, const struct scenario_result *r)
{
	struct load_stats *st = lr->stats;
	st->sessions++;
	if (r->verdict == VERDICT_ERROR) {
		char buf[32];
		int e = errno_in(r->reason);
		const char *name = e          ? errno_name(e, buf, sizeof(buf))
		                   : s->no_fd ? "EMFILE"
		                   : r->reason && strstr(r->reason, "timed out") ? "ETIMEDOUT"
		                                                                 : "other";
		st->error++;
		load_count_error(st, name, r->reason ? r->reason : "");
		return;
	}
	if (r->verdict == VERDICT_FAIL)
		st->fail++;
	else
		st->pass++;
	/* Each rule counts once per session in "sessions"; the example keeps
	 * the first violation of that rule in the session. */
	const char *seen[32];
	size_t nseen = 0;
	int warned = 0;
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct step_result *sr = &r->steps[i];
		if (command_is(sr->command, CMD_DATA_END) && sr->code >= 200 && sr->code < 300)
			st->messages++;
		for (size_t k = 0; k < sr->nviolations; k++) {
			const struct violation *v = &sr->violations[k];
			struct load_finding *f = load_finding_of(st, v->rule, v->severity, v->ref);
			f->count++;
			if (v->severity == SEV_WARN)
				warned = 1;
			size_t j = 0;
			while (j < nseen && strcmp(seen[j], f->rule) != 0)
				j++;
			if (j < nseen)
				continue;
			if (nseen < sizeof(seen) / sizeof(seen[0]))
				seen[nseen++] = f->rule;
			f->sessions++;
			if (f->nexamples < LOAD_EXAMPLES_PER_RULE) {
				struct load_example *ex = &f->examples[f->nexamples++];
				ex->scenario = xstrdup(r->id);
				ex->message = xstrdup(v->message);
				ex->transcript = xstrdup(r->transcript ? r->transcript : "");
			}
		}
	}
	if (warned && r->verdict != VERDICT_FAIL)
		st->warn++;
}

/* The process's peak resident memory in KiB (Linux VmHWM), 0 if unknown.
 * Not getrusage(): its ru_maxrss keeps the peak of the process that forked
 * this one before exec. */
static uint64_t peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	char line[256];
	unsigned long long kib = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ------------------------------------------------------ the scheduler */

static void schedule(struct load_run *lr);

static void on_session_done(struct session *s)
{
	struct load_run *lr = s->owner;
	size_t slot = (size_t)(s - lr->slots);
	struct scenario_result *r = &lr->results[slot];
	/* A session the signal cut short has no verdict to count. */
	if (!(lr->signal && r->verdict == VERDICT_ERROR)) {
		hist_record(lr->stats->session_hist, clock_us() - lr->slot_started_us[slot]);
		fold_result(lr, s, r);
	}
	scenario_result_free(r);
	memset(r, 0, sizeof(*r));
	s->base = NULL;
	lr->free_slots[lr->nfree++] = slot;
	lr->running--;
	lr->done++;
	if (!lr->signal)
		event_active(lr->ev_start, EV_TIMEOUT, 0);
	if (lr->running == 0 &&
	    (lr->signal || lr->stopping || (lr->o->sessions && lr->started >= lr->o->sessions)))
		event_base_loopbreak(lr->base);
}

/* Sessions the schedule allows at elapsed microseconds: the concurrency
 * (ramped) and the sessions started so far (--rate, ramped too). */
static uint64_t allowed_running(const struct load_run *lr, int64_t elapsed)
{
	const struct load_options *o = lr->o;
	if (o->ramp_us && elapsed < o->ramp_us) {
		uint64_t c =
		    (uint64_t)((double)o->concurrency * (double)elapsed / (double)o->ramp_us);
		return c ? c : 1;
	}
	return (uint64_t)o->concurrency;
}

static uint64_t allowed_started(const struct load_run *lr, int64_t elapsed)
{
	const struct load_options *o = lr->o;
	if (o->rate <= 0)
		return UINT64_MAX;
	double t = (double)elapsed / 1e6, ramp = (double)o->ramp_us / 1e6;
	double n = ramp > 0 && t < ramp ? o->rate * t * t / (2 * ramp) : o->rate * (t - ramp / 2);
	return (uint64_t)n + 1;
}

static void start_one(struct load_run *lr)
{
	size_t slot = lr->free_slots[--lr->nfree];
	struct session *s = &lr->slots[slot];
	const struct scenario *sc = lr->scenarios[lr->started % lr->nscenarios];
	struct scenario_result *r = &lr->results[slot];
	scenario_result_init(r, sc);
	session_clear(s);
	if (!lr->replies[slot])
		lr->replies[slot] = xmalloc(sizeof(*lr->replies[slot]));
	s->reply_spare = lr->replies[slot];
	s->base = lr->base;
	s->opts = &lr->o->engine;
	s->scenario = sc;
	s->result = r;
	s->owner = lr;
	s->on_done = on_session_done;
	s->on_judged = on_judged;
	model_init(&s->model, vars_get(&lr->o->vars, "domain"), lr->enhanced_codes);
	lr->started++;
	lr->running++;
	if (lr->running > lr->stats->peak_concurrency)
		lr->stats->peak_concurrency = lr->running;
	lr->slot_started_us[slot] = clock_us();
	session_start(s);
}

/* Starts what the schedule allows now; arms the tick when something is
 * held back by time (--rate, --ramp) or --duration has to be watched. */
static void schedule(struct load_run *lr)
{
	const struct load_options *o = lr->o;
	int64_t elapsed = clock_us() - lr->t0_us;
	if (o->duration_us && elapsed >= o->duration_us)
		lr->stopping = 1;
	int held = 0;
	while (!lr->signal && !lr->stopping && (!o->sessions || lr->started < o->sessions)) {
		if (lr->running >= (uint64_t)o->concurrency)
			break;
		if (lr->running >= allowed_running(lr, elapsed) ||
		    lr->started >= allowed_started(lr, elapsed)) {
			held = 1;
			break;
		}
		start_one(lr);
	}
	if ((held || o->duration_us) && !lr->stopping && !lr->signal && !lr->tick_armed) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = LOAD_TICK_MS * 1000 };
		evtimer_add(lr->ev_tick, &tv);
		lr->tick_armed = 1;
	}
	if (lr->running == 0 &&
	    (lr->signal || lr->stopping || (o->sessions && lr->started >= o->sessions)))
		event_base_loopbreak(lr->base);
}

static void on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	schedule(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct load_run *lr = arg;
	lr->tick_armed = 0;
	schedule(lr);
}

static void progress_line(struct load_run *lr)
{
	double secs = (double)(clock_us() - lr->t0_us) / 1e6;
	const struct load_stats *st = lr->stats;
	char total[32] = "";
	if (lr->o->sessions)
		snprintf(total, sizeof(total), "/%llu", (unsigned long long)lr->o->sessions);
	fprintf(stderr, "\r\033[K%llu%s sessions  %.0f/s  %llu failed  %llu errors  p99 %.2f ms",
	        (unsigned long long)lr->done, total, secs > 0 ? (double)lr->done / secs : 0.0,
	        (unsigned long long)st->fail, (unsigned long long)st->error,
	        (double)hist_percentile(st->session_hist, 99) / 1000.0);
	fflush(stderr);
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	progress_line(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct load_run *lr = arg;
	if (!lr->signal)
		lr->signal = (int)sig;
	for (size_t k = 0; k < (size_t)lr->o->concurrency; k++)
		if (lr->slots[k].base && lr->slots[k].state != SESSION_DONE)
			session_abort(&lr->slots[k], "load run interrupted while this session ran");
	event_base_loopbreak(lr->base);
}

/* Runs the sessions; returns 0 or the signal that cut the run short. */
static int load_run_sessions(const struct load_options *o, struct scenario **scs, size_t n,
                             int enhanced_codes, struct load_stats *stats)
{
	struct load_run lr;
	memset(&lr, 0, sizeof(lr));
	lr.o = o;
	lr.scenarios = scs;
	lr.nscenarios = n;
	lr.stats = stats;
	lr.enhanced_codes = enhanced_codes;
	size_t c = (size_t)o->concurrency;
	lr.slots = xcalloc(c, sizeof(*lr.slots));
	lr.results = xcalloc(c, sizeof(*lr.results));
	lr.slot_started_us = xcalloc(c, sizeof(*lr.slot_started_us));
	lr.replies = xcalloc(c, sizeof(*lr.replies));
	lr.free_slots = xcalloc(c, sizeof(*lr.free_slots));
	for (size_t i = 0; i < c; i++)
		lr.free_slots[i] = c - 1 - i;
	lr.nfree = c;
	lr.base = event_base_new();
	if (!lr.base)
		BUG("event_base_new failed");
	lr.ev_start = event_new(lr.base, -1, 0, on_start, &lr);
	lr.ev_tick = evtimer_new(lr.base, on_tick, &lr);
	lr.ev_progress = event_new(lr.base, -1, EV_PERSIST, on_progress, &lr);
	struct event *sigint = evsignal_new(lr.base, SIGINT, on_signal, &lr);
	struct event *sigterm = evsignal_new(lr.base, SIGTERM, on_signal, &lr);
	if (!lr.ev_start || !lr.ev_tick || !lr.ev_progress || !sigint || !sigterm)
		BUG("event_new failed");
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	if (o->progress) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = LOAD_PROGRESS_MS * 1000 };
		event_add(lr.ev_progress, &tv);
	}
	lr.signal = engine_interrupted();
	lr.t0_us = clock_us();
	schedule(&lr);
	if (lr.running > 0 || lr.tick_armed)
		event_base_dispatch(lr.base);
	stats->duration_ms = (clock_us() - lr.t0_us) / 1000;
	stats->peak_rss_kib = peak_rss_kib();
	double secs = (double)(clock_us() - lr.t0_us) / 1e6;
	if (secs > 0) {
		stats->sessions_per_s = (double)stats->sessions / secs;
		stats->messages_per_s = (double)stats->messages / secs;
	}
	if (o->progress) {
		progress_line(&lr);
		fputs("\n", stderr);
	}
	event_free(sigint);
	event_free(sigterm);
	event_free(lr.ev_start);
	event_free(lr.ev_tick);
	event_free(lr.ev_progress);
	event_base_free(lr.base);
	free(lr.slots);
	free(lr.results);
	free(lr.slot_started_us);
	for (size_t i = 0; i < c; i++)
		free(lr.replies[i]);
	free(lr.replies);
	free(lr.free_slots);
	return lr.signal;
}

/* ------------------------------------------------------ the command */

static void parse_options(struct load_options *o, int argc, char **argv)
{
	enum {
		OPT_DURATION = 256,
		OPT_RATE,
		OPT_RAMP,
		OPT_REPORT,
		OPT_PROFILE,
		OPT_STRICT,
		OPT_TIMEOUT,
		OPT_SC_TIMEOUT,
		OPT_VAR,
		OPT_TLS,
		OPT_TLS_VERIFY,
		OPT_CA_FILE,
		OPT_TLS_MIN,
		OPT_SNI,
		OPT_AUTH_USER,
		OPT_AUTH_ENV,
		OPT_AUTH_FILE,
	};
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "ramp", required_argument, NULL, OPT_RAMP },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "scenario-timeout", required_argument, NULL, OPT_SC_TIMEOUT },
		{ "var", required_argument, NULL, OPT_VAR },
		{ "tls", required_argument, NULL, OPT_TLS },
		{ "tls-verify", required_argument, NULL, OPT_TLS_VERIFY },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "tls-min-version", required_argument, NULL, OPT_TLS_MIN },
		{ "sni", required_argument, NULL, OPT_SNI },
		{ "auth-user", required_argument, NULL, OPT_AUTH_USER },
		{ "auth-password-env", required_argument, NULL, OPT_AUTH_ENV },
		{ "auth-password-file", required_argument, NULL, OPT_AUTH_FILE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	o->concurrency = 1;
	o->tls_mode = "none";
	o->tls.verify = 1;
	o->tls.min_version = "TLSv1.2";
	o->auth.env = "SMTPCONFORM_PASSWORD";
	o->engine.profile = "rfc5321";
	o->engine.scenario_timeout_s = SCENARIO_TIMEOUT_DEFAULT_S;
	o->engine.reset_after_quit = 1;
	o->engine.go_on_after_findings = 1;
	vars_init_defaults(&o->vars);
	int c;
	while ((c = getopt_long(argc, argv, "t:c:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->target_arg = optarg; break;
		case 'c':
			o->concurrency = (int)parse_positive("-c", optarg, LOAD_CONCURRENCY_MAX);
			break;
		case 'n': o->sessions = (uint64_t)parse_positive("-n", optarg, 1e12); break;
		case OPT_DURATION:
			o->duration_us = (int64_t)(parse_positive("--duration", optarg, 1e7) * 1e6);
			break;
		case OPT_RATE: o->rate = parse_positive("--rate", optarg, 1e7); break;
		case OPT_RAMP:
			o->ramp_us = (int64_t)(parse_positive("--ramp", optarg, 1e7) * 1e6);
			break;
		case OPT_REPORT:
			o->specs = xrealloc(o->specs, (o->nspecs + 1) * sizeof(*o->specs));
			if (report_parse_spec(optarg, &o->specs[o->nspecs], err, sizeof(err)) < 0)
				usage_error("--report:", err);
			o->nspecs++;
			if (o->specs[o->nspecs - 1].format != REPORT_TEXT &&
			    o->specs[o->nspecs - 1].format != REPORT_JSON &&
			    o->specs[o->nspecs - 1].format != REPORT_MD)
				usage_error("--report: load writes text, md or json, not", optarg);
			break;
		case OPT_PROFILE:
			if (!matrix_profile_known(optarg))
				usage_error("unknown profile", optarg);
			o->engine.profile = optarg;
			break;
		case OPT_STRICT: o->engine.strict = 1; break;
		case OPT_TIMEOUT:
			o->engine.timeout_s = (int)parse_positive("--timeout", optarg, 86400);
			break;
		case OPT_SC_TIMEOUT:
			o->engine.scenario_timeout_s =
			    (int)parse_positive("--scenario-timeout", optarg, 864000);
			break;
		case OPT_VAR:
			if (vars_set_arg(&o->vars, optarg, err, sizeof(err)) < 0)
				usage_error("--var:", err);
			break;
		case OPT_TLS:
			if (strcmp(optarg, "none") != 0 && strcmp(optarg, "implicit") != 0)
				usage_error("--tls: expected none or implicit, got", optarg);
			o->tls_mode = optarg;
			break;
		case OPT_TLS_VERIFY:
			if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
				usage_error("--tls-verify: expected on or off, got", optarg);
			o->tls.verify = strcmp(optarg, "on") == 0;
			break;
		case OPT_CA_FILE: o->tls.ca_file = optarg; break;
		case OPT_TLS_MIN:
			if (!tls_version_known(optarg))
				usage_error("--tls-min-version: unknown version", optarg);
			o->tls.min_version = optarg;
			break;
		case OPT_SNI: o->tls.sni = optarg; break;
		case OPT_AUTH_USER: o->auth.user = optarg; break;
		case OPT_AUTH_ENV:
			o->auth.env = optarg;
			o->auth.file = NULL;
			break;
		case OPT_AUTH_FILE:
			o->auth.file = optarg;
			o->auth.env = NULL;
			break;
		case 'q': o->quiet = 1; break;
		case 'h': fputs(load_usage, stdout); exit(0);
		default: usage_error("unknown option", NULL);
		}
	}
	if (!o->target_arg)
		usage_error("-t TARGET is required", NULL);
	if (!o->sessions == !o->duration_us)
		usage_error("give either -n SESSIONS or --duration SECONDS", NULL);
	if (optind >= argc)
		usage_error("no SCENARIO given (files or directories of .smtp files)", NULL);
	if (o->nspecs == 0) {
		o->specs = xcalloc(1, sizeof(*o->specs));
		report_parse_spec("text", &o->specs[0], err, sizeof(err));
		o->nspecs = 1;
	}
	if (report_check_specs(o->specs, o->nspecs, err, sizeof(err)) < 0)
		usage_error(err, NULL);
}

int load_main(int argc, char **argv)
{
	struct load_options o;
	memset(&o, 0, sizeof(o));
	char err[1024];
	int code = 2;
	struct target target;
	memset(&target, 0, sizeof(target));
	struct scenario **scs = NULL;
	size_t n = 0;
	char *password = NULL;
	struct probe probe;
	memset(&probe, 0, sizeof(probe));
	struct load_stats stats;
	load_stats_init(&stats);
	engine_signals_install();
	parse_options(&o, argc, argv);
	if (target_parse(o.target_arg, &target, err, sizeof(err)) < 0)
		usage_error(err, NULL);
	if (!o.tls.sni && target.kind == TARGET_TCP &&
	    strspn(target.host, "0123456789.") != strlen(target.host) && !strchr(target.host, ':'))
		o.tls.sni = target.host;
	if (tls_setup(&o.tls, err, sizeof(err)) < 0)
		usage_error("TLS:", err);
	if (o.auth.user) {
		password = credentials_load_password(&o.auth, err, sizeof(err));
		if (!password)
			usage_error(err, NULL);
		o.engine.auth_user = o.auth.user;
		o.engine.auth_password = password;
	}
	o.engine.target = &target;
	o.engine.vars = &o.vars;
	o.engine.tls_ready = 1;
	o.engine.tls_implicit = strcmp(o.tls_mode, "implicit") == 0;
	o.engine.jobs = o.concurrency;
	char notice[256];
	o.concurrency = engine_cap_jobs(o.concurrency, notice, sizeof(notice));
	if (notice[0]) /* "-j N capped to M: ..." names run's option; load's is -c */
		fprintf(stderr, "smtpconform load: -c%s\n",
		        strncmp(notice, "-j", 2) == 0 ? notice + 2 : notice);
	o.engine.jobs = o.concurrency;
	if (scenario_load_all(argv + optind, (size_t)(argc - optind), &o.vars, &scs, &n) < 0)
		goto out;
	code = 3;
	if (target_resolve(&target, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpconform load: %s\n", err);
		goto out;
	}
	/* One probe, as run: the EHLO keywords decide what can run. */
	engine_probe(&o.engine, &probe);
	if (probe.error) {
		fprintf(stderr, "smtpconform load: %s\n", probe.error);
		goto out;
	}
	probe_set_vars(&probe, &o.vars);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		char *why = engine_skip_reason(&o.engine, &probe, scs[i]);
		if (why) {
			fprintf(stderr, "smtpconform load: %s is left out: %s\n", scs[i]->id, why);
			free(why);
			scenario_free(scs[i]);
			continue;
		}
		scs[kept++] = scs[i];
	}
	n = kept;
	if (n == 0) {
		fprintf(stderr, "smtpconform load: no scenario can run against this server\n");
		goto out;
	}
	stats.tool_version = xstrdup(SMTPCONFORM_VERSION);
	stats.target = xstrdup(target.display);
	stats.profile = xstrdup(o.engine.profile);
	stats.started = clock_iso8601_utc();
	stats.concurrency = o.concurrency;
	stats.strict = o.engine.strict;
	stats.runs = 1;
	stats.scenarios = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		stats.scenarios[stats.nscenarios++] = xstrdup(scs[i]->id);
	o.progress = !o.quiet && isatty(STDERR_FILENO);
	int sig =
	    load_run_sessions(&o, scs, n, probe_has_keyword(&probe, "ENHANCEDSTATUSCODES"), &stats);
	if (!sig)
		sig = engine_interrupted();
	stats.interrupted = sig != 0;
	code = load_exit_code(&stats);
	for (size_t i = 0; i < o.nspecs; i++)
		if (load_report_write(&stats, &o.specs[i]) < 0 && code == 0)
			code = 2;
	if (sig) {
		fprintf(stderr,
		        "smtpconform load: interrupted by signal %d: the figures are partial\n",
		        sig);
		code = 128 + sig;
	}
out:
	load_stats_free(&stats);
	probe_free(&probe);
	for (size_t i = 0; i < n; i++)
		scenario_free(scs[i]);
	free(scs);
	target_free(&target);
	tls_teardown();
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	for (size_t i = 0; i < o.nspecs; i++)
		report_spec_free(&o.specs[i]);
	free(o.specs);
	vars_free(&o.vars);
	return code;
}
