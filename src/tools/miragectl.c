/* SPDX-License-Identifier: MIT */
/*
 * miragectl: list, inspect, watch, snapshot and manage mirage mirrors.
 *
 * Every command is a function taking its own argv (argv[0] is the command
 * name) and returning the process exit status: 0 success, 1 failure, 2
 * usage error.  A failure prints exactly one line on stderr,
 * "miragectl: <command>: <what failed>: <why>", the why coming from
 * mirage_last_error() when libmirage failed.  docs/miragectl.md is the
 * manual; keep the help texts below in step with it.
 *
 * This file holds main, the command table, the messages and the option
 * parsing (ctl.h); the commands live by family in ctl-info.c (list,
 * status, version), ctl-watch.c (watch, snapshot, shape) and ctl-manage.c
 * (attach, detach, settings).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>

#include "ctl.h"

#ifndef MIRAGECTL_VERSION
#define MIRAGECTL_VERSION "unknown"
#endif

/* The command being run, for messages. */
static const char *cmd_name = NULL;

volatile sig_atomic_t ctl_stop_signal;

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static void vmessage(const char *fmt, va_list ap)
{
	fputs("miragectl: ", stderr);
	if (cmd_name)
		fprintf(stderr, "%s: ", cmd_name);
	vfprintf(stderr, fmt, ap);
}

/* Prints the one failure line and returns EXIT_FAIL. */
__attribute__((format(printf, 1, 2)))
int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* A warning: same shape as a failure, but the command goes on. */
__attribute__((format(printf, 1, 2)))
void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("miragectl: ", stderr);
	if (cmd_name)
		fprintf(stderr, "%s: ", cmd_name);
	fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints the one usage-error line (pointing at --help) and returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'miragectl %s%s--help')\n", cmd_name ? cmd_name : "",
		cmd_name ? " " : "");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* Command table                                                       */
/* ------------------------------------------------------------------ */

static void print_command_help(const struct command *cmd)
{
	printf("Usage: miragectl %s%s%s\n\n%s\n%s", cmd->name, cmd->synopsis[0] ? " " : "",
	       cmd->synopsis, cmd->summary, cmd->help);
}

int ctl_parse_options(const struct command *cmd, int argc, char **argv,
			 const char *shortopts, const struct option *opts,
			 int (*handle)(int opt, const char *arg, void *data), void *data,
			 int min, int max, int *first)
{
	char optstring[32];
	int opt, n;

	/* ':' first: a missing argument is reported as ':', not '?'. */
	snprintf(optstring, sizeof(optstring), ":h%s", shortopts);
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		int ret;

		switch (opt) {
		case 'h':
			print_command_help(cmd);
			return EXIT_OK;
		case ':':
			return ctl_usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return ctl_usage_error("unknown option '-%c'", optopt);
			return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			ret = handle ? handle(opt, optarg, data) : EXIT_USAGE;
			if (ret != EXIT_OK)
				return ret;
		}
	}
	n = argc - optind;
	if (n < min)
		return ctl_usage_error("missing operand; usage: miragectl %s %s", cmd->name,
				   cmd->synopsis);
	if (max >= 0 && n > max)
		return ctl_usage_error("unexpected argument '%s'", argv[optind + max]);
	*first = optind;
	return -1;
}

int ctl_set_flag(int opt, const char *arg, void *data)
{
	(void)opt;
	(void)arg;
	*(bool *)data = true;
	return EXIT_OK;
}

const struct option ctl_help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

int ctl_connect(const char *name, struct mirage_client **out)
{
	if (mirage_client_connect(out, name) < 0) {
		*out = NULL;
		return ctl_fail("connect %s: %s", name, mirage_last_error());
	}
	return EXIT_OK;
}

const char *ctl_version_str(uint32_t v, char buf[static 16])
{
	return mirage_version_format(v, buf, 16);
}

/* Parses a decimal unsigned number that must fit 32 bits and be >= min. */
bool ctl_parse_u32(const char *s, uint32_t min, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX || v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Parses seconds (decimals allowed), > 0 and at most a day. */
bool ctl_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
		return false;
	*out = v;
	return true;
}

int64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_stop_signal(int sig)
{
	ctl_stop_signal = sig;
}

/*
 * Lets SIGINT, SIGTERM and SIGHUP set ctl_stop_signal instead of killing us.
 * No SA_RESTART: a blocking wait returns early and the loop sees the flag.
 */
void ctl_catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ------------------------------------------------------------------ */
/* help and main                                                       */
/* ------------------------------------------------------------------ */

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "list", "[--no-header]", "List the mirrors and their state.",
	  "\nOne line per mirror socket found in $MIRAGE_DIR (or $XDG_RUNTIME_DIR/mirage)\n"
	  "and /tmp/mirage-$UID: name, driver, geometry, bits per pixel, whether it\n"
	  "is attached, and how many consumers have its pipe mapped (not counting\n"
	  "miragectl itself).\n\n"
	  "Options:\n"
	  "  -H, --no-header   leave out the column titles\n"
	  "  -h, --help        show this help\n\n"
	  "A mirror that does not answer is reported on stderr; the exit status is\n"
	  "then 1, after the others are listed.\n",
	  cmd_list },
	{ "status", "NAME", "Show everything about one mirror.",
	  "\nPrints its state (INFO), the surface format, the change ring's counter,\n"
	  "capacity and generation, the cursor, the monitor layout, the settings in\n"
	  "force and the driver's key=value statistics, one \"key: value\" a line.\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_status },
	{ "version", "NAME", "Show the protocol versions of miragectl and a mirror.",
	  "\nPrints the protocol version miragectl speaks and the oldest mirror it\n"
	  "accepts, the mirror's version and the oldest client it accepts, all as\n"
	  "a.b.c.d, and whether they are compatible (exit status 1 if not).\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_version },
	{ "watch", "[--count N] [--timeout S] NAME", "Print change records as they arrive.",
	  "\nOne line per record: its number, type and fields, e.g.\n"
	  "  12 BLIT rect=0,0,640,480\n"
	  "  13 SCREEN_SCREEN rect=10,10,110,60 src=0,0\n"
	  "Lines starting with '#' describe the pipe being watched; \"- LOST\" means\n"
	  "records were missed.  After an ASSERT_OFF watch maps the mirror's new\n"
	  "pipe and goes on.  Stops on SIGINT or SIGTERM (exit status 0).\n\n"
	  "Options:\n"
	  "  -n, --count N     stop after N records\n"
	  "  -t, --timeout S   stop after S seconds (with --count: a failure)\n"
	  "  -h, --help        show this help\n",
	  cmd_watch },
	{ "snapshot", "NAME FILE", "Save the visible surface as an image.",
	  "\nWrites a binary PPM (P6), or a PNG when FILE ends in .png, of the visible\n"
	  "area converted to 8-bit RGB.  FILE \"-\" writes the PPM to standard output.\n"
	  "16 bpp RGB 565 channels are widened by repeating their top bits:\n"
	  "5 bits v -> v<<3|v>>2, 6 bits v -> v<<2|v>>4.  Fails for a mirror\n"
	  "without a surface (Cap.DfbBackingMode=0).\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_snapshot },
	{ "shape", "NAME FILE", "Save the cursor shape as an image.",
	  "\nWrites the cursor as PAM (P7, TUPLTYPE RGB_ALPHA) or, when FILE ends in\n"
	  ".png, as an RGBA PNG; colours are un-premultiplied:\n"
	  "c' = min(255, (c*255 + a/2) / a), 0 where a = 0.  FILE \"-\" writes the\n"
	  "PAM to standard output.\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_shape },
	{ "attach", "[--persist] NAME", "Take the manager role and attach the mirror.",
	  "\nAttaches the mirror and holds the manager role until SIGINT, SIGTERM or\n"
	  "SIGHUP, then detaches it.  If miragectl dies instead, the mirror detaches\n"
	  "when its connection closes (unless Cap.Bootup=2).\n\n"
	  "Options:\n"
	  "  -p, --persist   attach, leave it attached, release the role and exit\n"
	  "  -h, --help      show this help\n",
	  cmd_attach },
	{ "detach", "NAME", "Detach the mirror.",
	  "\nDetaches the mirror and releases the manager role.  Refused while another\n"
	  "client holds the role, and when Cap.Bootup=2.\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_detach },
	{ "settings", "NAME [KEY=VALUE...]", "Show or change the mirror's settings.",
	  "\nWithout KEY=VALUE items prints the settings in force, \"Key=value\" a line.\n"
	  "With items, changes them all or none: a key or value the mirror rejects\n"
	  "fails (exit status 1) and nothing changes.  Keys (case-insensitive):\n"
	  "  Pointer.Enabled 0|1, Screen.ForcedBpp 0|16|24|32,\n"
	  "  Cap.DfbBackingMode 0|2|3, Order.BltCopyBits.Enabled 0|1,\n"
	  "  Cap.Bootup 0|1|2, Order.SolidFill.Enabled 0|1\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_settings },
	{ "help", "[COMMAND]", "Show the help of miragectl or of one command.", "", cmd_help },
};

const struct command *ctl_find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void print_main_help(FILE *f)
{
	fprintf(f, "Usage: miragectl [--help] [--version] COMMAND [ARGS...]\n\n"
		"Inspect and control mirage display mirrors.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].synopsis);
		fprintf(f, "  %-36s %s\n", left, commands[i].summary);
	}
	fprintf(f, "\nNAME is a mirror name, looked up in $MIRAGE_DIR (else\n"
		"$XDG_RUNTIME_DIR/mirage) and /tmp/mirage-$UID, or a socket path.\n"
		"'miragectl COMMAND --help' shows a command's options.\n\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return ctl_usage_error("unexpected argument '%s'", argv[2]);
	cmd = ctl_find_command(argv[1]);
	if (!cmd)
		return ctl_usage_error("unknown command '%s'", argv[1]);
	print_command_help(cmd);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	char v[16];

	if (argc < 2) {
		fprintf(stderr, "miragectl: missing command (see 'miragectl --help')\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("miragectl %s (protocol %s)\n", MIRAGECTL_VERSION,
		       ctl_version_str(MIRAGE_PROTO_VERSION, v));
		return EXIT_OK;
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "miragectl: unknown option '%s' (see 'miragectl --help')\n",
			argv[1]);
		return EXIT_USAGE;
	}
	cmd = ctl_find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "miragectl: unknown command '%s' (see 'miragectl --help')\n",
			argv[1]);
		return EXIT_USAGE;
	}
	cmd_name = cmd->name;
	return cmd->run(argc - 1, argv + 1);
}

