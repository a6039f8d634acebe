/*
 * shell.h - `smtpconform shell`: an interactive SMTP session in which every
 * reply is judged (docs/shell.md).
 *
 * Owns the shell's command line, its line editor (libedit: history,
 * Ctrl-R, completion), the meta-commands (.starttls, .auth, .raw, .data,
 * .state, .save, .help, .quit) and Ctrl-C during a wait. Judgement is
 * live.h (check.h underneath), saving is recording.h.
 */
#ifndef SMTPCONFORM_SHELL_H
#define SMTPCONFORM_SHELL_H

/* argv[0] is "shell". Returns the process exit code (0, 2 usage, 3 unreachable). */
int shell_main(int argc, char **argv);

#endif
