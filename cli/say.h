/*
 * say.h — what the command line, -n and a start say before the service's
 * log takes over: in the log's form under log_format json or journal (at
 * its priority), otherwise "ringvpn: [warning: ]..." on stderr, with what
 * it quotes from a file, a flag or a link name shown with control
 * characters as '?' (a terminal escape in a path reached the terminal).
 */
#ifndef RV_CLI_SAY_H
#define RV_CLI_SAY_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/compiler.h"

void rv_cli_say_err(const char *msg);
void rv_cli_say_errf(const char *fmt, ...) RV_PRINTF(1, 2);
void rv_cli_say_warnf(const char *fmt, ...) RV_PRINTF(1, 2);

/* rv_cli_shown copies |s| into |buf| with every control character (the
 * line's end and a tab too) as '?', for a message that echoes it: one
 * message, one line. Returns |buf|. */
const char *rv_cli_shown(const char *s, char *buf, size_t len);

/* rv_cli_unknown_letter says that short option |letter| (getopt's optopt)
 * is unknown, of command |cmd| (NULL: the service's command line). */
void rv_cli_unknown_letter(const char *cmd, int letter);

/* rv_cli_cut_short: was the long option getopt_long has just returned
 * (|name|, of its table; |optind| and |optarg| getopt's) written as a prefix of its
 * name, "--wat" for --watch? Then what was written after "--", its length
 * in |*out_len|; else NULL. A prefix that names one option today may name
 * two tomorrow, and a script that used it would break (or change meaning)
 * on an upgrade: every command asks for whole names. */
const char *rv_cli_cut_short(char *const *argv, int optind, const char *optarg, const char *name,
			     int *out_len);

/* rv_cli_value_looks_like_option: did getopt just take a word of its own
 * that begins with "--" as an option's value (`--tun --bogus`)? Such a
 * value is a missing one; the =-form still gives it. */
bool rv_cli_value_looks_like_option(char *const *argv, int optind, const char *optarg);

/* rv_cli_long_given_value judges getopt's '?' (optopt |letter|) for the
 * word |arg| it stopped at: 1 when it is an option of |opts| that takes no
 * value, named whole and given one (`--help=1`, whose optopt is its letter
 * and was said as "-h"); 2 when such a word names it cut short or not at
 * all (`--js=1`, `--=`); 0 when the word is no long option given a value
 * under |letter| (the '?' is a later cluster's letter: `--json -jh`). */
int rv_cli_long_given_value(const struct option *opts, const char *arg, int letter);

/* rv_cli_stderr_shown makes stderr show control characters as '?' (not
 * the line's end or a tab), for the commands that echo their arguments
 * and are not the service (whose log has its own forms). */
void rv_cli_stderr_shown(void);

#endif /* RV_CLI_SAY_H */
