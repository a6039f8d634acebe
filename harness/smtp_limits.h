/*
 * smtp_limits.h - every limit smtpconform enforces, in one place.
 *
 * Owns the numbers: reply line and reply size caps, buffer maxima, the
 * RFC 5321 section 4.5.3.2 timeouts and scenario-file bounds. Code elsewhere
 * names these constants and never repeats a literal.
 */
#ifndef SMTPCONFORM_LIMITS_H
#define SMTPCONFORM_LIMITS_H

/* RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF. */
#define REPLY_LINE_MAX 512
/* Past this many octets without LF the reader gives up on the reply:
 * the line is reported as syntax.line-too-long and the reply is abandoned. */
#define REPLY_LINE_HARD_MAX 4096
/* Lines of one multiline reply kept in the result model (text of the rest is
 * dropped, but they are still counted and checked). */
#define REPLY_LINES_KEEP 64
/* A reply with more lines than this is abandoned (syntax.too-many-lines). */
#define REPLY_LINES_MAX 1000
/* Bytes of one reply line's text kept for reports (the rest is cut). */
#define REPLY_TEXT_KEEP 1024

/* Bytes of an unfinished or unexpected reply quoted in a message (timeout,
 * close, unsolicited data); the cut never splits a secret (redact_cut). */
#define REPLY_PARTIAL_SHOWN 200

/* Secrets (util.c redaction): every piece of this many characters of a
 * secret's forms is masked wherever it appears, and how many forms (the
 * password's clear, escaped, hex, base64 forms, the SASL blobs) are held. */
#define REDACT_PIECE_MIN 6
#define REDACT_FORMS_MAX 32

/* Per-connection input buffer: must hold at least one hard-max line. */
#define SESSION_INBUF_SIZE (4 * REPLY_LINE_HARD_MAX)

/* Bytes of what one step sent that its record keeps (transcript line,
 * "sent" field; a D: step's content in all): the rest is counted, not kept
 * ("... [98,234,112 bytes not kept]"). docs/memory.md. */
#define SENT_BYTES_KEEP 4096

/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF. */
#define COMMAND_LINE_MAX 512

/* RFC 5321 4.5.3.2 client timeouts, in seconds. */
#define TIMEOUT_GREETING_S 300   /* 4.5.3.2.1 initial 220 message */
#define TIMEOUT_MAIL_S 300       /* 4.5.3.2.2 MAIL command */
#define TIMEOUT_RCPT_S 300       /* 4.5.3.2.3 RCPT command */
#define TIMEOUT_DATA_INIT_S 120  /* 4.5.3.2.4 DATA initiation */
#define TIMEOUT_DATA_BLOCK_S 180 /* 4.5.3.2.5 data block */
#define TIMEOUT_DATA_END_S 600   /* 4.5.3.2.6 DATA termination */
#define TIMEOUT_OTHER_S 300      /* commands the RFC gives no figure for */
/* Connecting (TCP handshake) when no --timeout is given. */
#define TIMEOUT_CONNECT_S 30
/* Default --scenario-timeout: the whole scenario's budget. It covers a
 * normal scenario even at the RFC per-reply figures above (greeting, EHLO,
 * MAIL, RCPT, DATA, end of data, QUIT: 37 min at worst) and bounds what no
 * sequence of replies can extend. */
#define SCENARIO_TIMEOUT_DEFAULT_S 3600
/* Default --probe-timeout: the capability probe's deadline for connecting
 * and for each reply, the greeting first. A live server greets within
 * seconds; a silent one must not hold the run for 4.5.3.2.1's 5 minutes
 * and then as long again per scenario. */
#define PROBE_TIMEOUT_DEFAULT_S 10
/* Octets of a command an inconclusive verdict's reason quotes. */
#define INCONCLUSIVE_COMMAND_SHOWN 120
/* How long to wait for the server to close after "S: close" or at teardown. */
#define TIMEOUT_CLOSE_S 10

/* After a STARTTLS handshake that discarded commands pipelined behind
 * STARTTLS: how long to wait for replies a vulnerable server sends to them
 * (CVE-2011-0411 class), in milliseconds. */
#define STARTTLS_INJECTION_GRACE_MS 300

/* After a failed step ends a scenario: how long to wait for the server to
 * close, so a close without 421 is reported (RFC 5321 3.8), in ms. */
#define CLOSE_LINGER_MS 300

/* Default --settle-ms: after the reply to an end of data (DATA, BDAT) or to
 * a command line holding a bare CR or LF, how long to wait for more replies
 * or a close (SMTP smuggling, bare line ends) before the next command, and
 * its largest value. */
#define SETTLE_MS_DEFAULT 300
#define SETTLE_MS_MAX 60000
/* Bytes of those extra replies a finding quotes. */
#define SMUGGLE_SHOWN_MAX 300

/* Scenario files. */
#define SCENARIO_LINE_MAX 8192      /* one line of a .smtp file */
#define SCENARIO_INCLUDE_DEPTH 8    /* nested @include */
#define SCENARIO_FILE_MAX (1 << 20) /* bytes of one scenario file */
#define SCENARIO_VARS_MAX 128       /* --var definitions */
/* One scenario with its @includes expanded (each inclusion counts, so a
 * fan-out of includes including includes stays small and fails at once). */
#define SCENARIO_INCLUDES_MAX 256                     /* @include lines followed */
#define SCENARIO_STEPS_MAX 10000                      /* steps */
#define SCENARIO_EXPANDED_MAX (4 * SCENARIO_FILE_MAX) /* bytes of all files read */
/* One {var} expansion (a C: or D: line, a value): its bytes and how many
 * variable references it may follow, so nested values cannot multiply. */
#define VARS_EXPANDED_MAX 65536
#define VARS_REFS_MAX 4096

/* "S: ... ~ /regex/" (PCRE2): the most one match of a reply's text may
 * cost, so a pathological pattern (nested repeats, backreferences) gives up
 * in milliseconds instead of holding the event loop: backtracking steps,
 * nesting depth, and heap for backtracking frames (KiB). */
#define REGEX_MATCH_LIMIT 1000000
#define REGEX_DEPTH_LIMIT 10000
#define REGEX_HEAP_LIMIT_KIB 32768

/* Bytes of one JSON report or waiver file read back (report --from, merge,
 * diff, --baseline): one limit for all of them, with room for big runs (the
 * bundled suite's JSON report is about 1 MB). */
#define REPORT_FILE_MAX (256u << 20)

/* Concurrency: -j upper bound. */
#define JOBS_MAX 256
/* Descriptors kept free for everything but sessions (stdio, the event loop,
 * its signal pipe, report files, a forked exec: target's pair): -j is capped
 * to RLIMIT_NOFILE minus this, one descriptor per session. */
#define FD_RESERVE 16
/* Out of descriptors (EMFILE/ENFILE) with no session running to free one:
 * retry the start every FD_RETRY_MS, at most FD_RETRY_MAX times, then the
 * scenario is an error. */
#define FD_RETRY_MS 100
#define FD_RETRY_MAX 100

/* exec: targets: after closing its socket, the program's process group gets
 * SIGTERM, and SIGKILL if it has not ended within this many milliseconds. */
#define EXEC_TERM_GRACE_MS 200

/* `load` (docs/load.md): -c upper bound (sessions at once); how many
 * failures of each rule keep their transcript (the others are counted);
 * distinct commands timed apart (more are timed as "OTHER"); findings
 * with distinct rule ids kept (more are counted as "other"). */
#define LOAD_CONCURRENCY_MAX 10000
#define LOAD_EXAMPLES_PER_RULE 3
#define LOAD_COMMANDS_MAX 24
#define LOAD_RULES_MAX 256
/* Latency histograms (hist.h): 2^HIST_SUB_BITS linear sub-buckets (values
 * kept to within 1/128), values up to 2^HIST_MAX_BITS microseconds (19 h). */
#define HIST_SUB_BITS 8
#define HIST_MAX_BITS 36

/* --shard K/N upper bound for N (CI fan-out). */
#define SHARD_MAX 1000

#endif
