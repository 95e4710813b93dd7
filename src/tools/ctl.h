/* SPDX-License-Identifier: MIT */
/*
 * What miragectl's command files share: the command table's entry, the
 * one-line messages, option parsing and small parsers (miragectl.c), and
 * the commands themselves (ctl-info.c, ctl-watch.c, ctl-manage.c).
 *
 * Every command takes its own argv (argv[0] is the command name) and
 * returns the exit status: EXIT_OK, EXIT_FAIL after exactly one ctl_fail()
 * line, EXIT_USAGE after one ctl_usage_error() line.
 */
#ifndef MIRAGE_CTL_H
#define MIRAGE_CTL_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <mirage/client.h>

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct command {
	const char *name;
	const char *synopsis; /* arguments after the name */
	const char *summary;
	const char *help;     /* description and options, for `COMMAND --help` */
	int (*run)(int argc, char **argv);
};

/* Set by SIGINT/SIGTERM/SIGHUP in the commands that run until stopped. */
extern volatile sig_atomic_t ctl_stop_signal;

/* {"help", 0, 0, 'h'} alone, for commands without options of their own. */
extern const struct option ctl_help_only[];

/* "miragectl: <command>: <message>" on stderr; returns EXIT_FAIL. */
__attribute__((format(printf, 1, 2))) int ctl_fail(const char *fmt, ...);
/* The same shape with "warning: " before the message; the command goes on. */
__attribute__((format(printf, 1, 2))) void ctl_warn(const char *fmt, ...);
/* The usage-error line, pointing at --help; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int ctl_usage_error(const char *fmt, ...);

/* The table entry of a command by name, or NULL. */
const struct command *ctl_find_command(const char *name);

/*
 * Parses a command's options.  opts must include {"help", 0, 0, 'h'}; the
 * other options are handed to handle() which returns 0 or an exit status.
 * Afterwards argv[*first .. argc) are the operands, which must number
 * between min and max (max < 0: any).  Returns -1 to go on, or an exit
 * status (0 after --help).
 */
int ctl_parse_options(const struct command *cmd, int argc, char **argv,
		      const char *shortopts, const struct option *opts,
		      int (*handle)(int opt, const char *arg, void *data), void *data,
		      int min, int max, int *first);

/*
 * The option handler of a command whose one option is a flag: sets
 * *(bool *)data.  (ctl_parse_options hands on only the options in the
 * command's table, so whatever arrives here is that flag.)
 */
int ctl_set_flag(int opt, const char *arg, void *data);

/* mirage_client_connect(), with the failure line printed: EXIT_OK or EXIT_FAIL. */
int ctl_connect(const char *name, struct mirage_client **out);
/* v as a.b.c.d in buf. */
const char *ctl_version_str(uint32_t v, char buf[static 16]);
/* A decimal unsigned number that fits 32 bits and is >= min. */
bool ctl_parse_u32(const char *s, uint32_t min, uint32_t *out);
/* Seconds (decimals allowed), > 0 and at most a day. */
bool ctl_parse_seconds(const char *s, double *out);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t ctl_now_ms(void);
/*
 * Lets SIGINT, SIGTERM and SIGHUP set ctl_stop_signal instead of killing
 * us.  No SA_RESTART: a blocking wait returns early and the loop sees the flag.
 */
void ctl_catch_stop_signals(void);

/* ctl-info.c */
int cmd_list(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_version(int argc, char **argv);
/* ctl-watch.c */
int cmd_watch(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_shape(int argc, char **argv);
/* ctl-manage.c */
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_settings(int argc, char **argv);

#endif /* MIRAGE_CTL_H */
