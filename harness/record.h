/*
 * record.h - `smtpconform record`: a recording proxy between any SMTP
 * client and a target server (docs/shell.md).
 *
 * Owns: listening, relaying both directions byte for byte, following the
 * client's commands (pipelining, DATA, BDAT, AUTH) to know what each
 * server reply answers, judging every reply on the way (live.h), refusing
 * STARTTLS, and writing each session as a scenario (recording.h) and all of
 * them as a JSON report (report.h). Does not change a byte it relays,
 * except that it answers STARTTLS itself.
 */
#ifndef SMTPCONFORM_RECORD_H
#define SMTPCONFORM_RECORD_H

/* argv[0] is "record". Returns the exit code: 0 every reply passed,
 * 1 a reply failed, 2 usage, 3 target unreachable. */
int record_main(int argc, char **argv);

#endif
