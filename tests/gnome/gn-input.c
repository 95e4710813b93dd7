/* SPDX-License-Identifier: MIT */
/*
 * gn-input: input into a mutter session through a RemoteDesktop session of
 * its own, for the GNOME tests and benchmarks (what xdotool is on X).
 *
 *   gn-input [CONNECTOR] < COMMANDS
 *
 * Reads one command a line until end of input, each done when read:
 *   motion X Y       pointer to (X, Y) in the monitor's pixels
 *   button N         press and release evdev button N (272 left, 273 right)
 *   press N | release N
 *   key KEYSYM       press and release an X keysym (hex 0xff0d or decimal)
 *   type TEXT        each byte of TEXT (Latin-1 keysyms = the byte)
 *   scroll STEPS     vertical wheel steps (positive: down)
 *   sleep MS
 *   sync             waits until mutter has handled everything sent
 * and prints "ok" after each sync (a test reads it to know where it is).
 * A bad line or a refused call is one line on stderr and exit 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "screencast.h"

#define RD_SESSION "org.gnome.Mutter.RemoteDesktop.Session"

static struct screencast sc;

static void fail(const char *what, int err)
{
	fprintf(stderr, "gn-input: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* A call that waits for mutter's answer: the next one is ordered after it. */
static void call(const char *method, const char *types, ...)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = sd_bus_call_methodv(sc.bus, sc.mutter, sc.remote, RD_SESSION, method, &err, NULL, types, ap);
	va_end(ap);
	if (ret < 0) {
		fprintf(stderr, "gn-input: %s: %s\n", method, err.message ? err.message : strerror(-ret));
		exit(1);
	}
	sd_bus_error_free(&err);
}

static void key(uint32_t keysym)
{
	call("NotifyKeyboardKeysym", "ub", keysym, 1);
	call("NotifyKeyboardKeysym", "ub", keysym, 0);
}

static void log_line(enum mirage_log_level level, const char *text)
{
	if (level <= MIRAGE_LOG_WARNING)
		fprintf(stderr, "gn-input: %s\n", text);
}

int main(int argc, char **argv)
{
	struct screencast_request req = {
		.connector = argc > 1 ? argv[1] : NULL,
		.cursor = SCREENCAST_CURSOR_HIDDEN,
		.remote_desktop = true,
	};
	char line[4096];
	int ret;

	sc.log = log_line;
	if ((ret = screencast_open(&sc, &req)) < 0)
		fail("cannot open a remote desktop session", ret);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		char word[16], *rest;
		double x, y;
		long n;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%15s", word) != 1)
			continue;
		rest = line + strlen(word) + (line[strlen(word)] ? 1 : 0);
		if (!strcmp(word, "motion") && sscanf(rest, "%lf %lf", &x, &y) == 2) {
			call("NotifyPointerMotionAbsolute", "sdd", sc.stream, x, y);
		} else if (!strcmp(word, "button") && sscanf(rest, "%li", &n) == 1) {
			call("NotifyPointerButton", "ib", (int32_t)n, 1);
			call("NotifyPointerButton", "ib", (int32_t)n, 0);
		} else if ((!strcmp(word, "press") || !strcmp(word, "release")) && sscanf(rest, "%li", &n) == 1) {
			call("NotifyPointerButton", "ib", (int32_t)n, word[0] == 'p');
		} else if (!strcmp(word, "key") && sscanf(rest, "%li", &n) == 1) {
			key((uint32_t)n);
		} else if (!strcmp(word, "type")) {
			for (const unsigned char *c = (const unsigned char *)rest; *c; c++)
				key(*c == '\t' ? 0xff09 : *c);
		} else if (!strcmp(word, "scroll") && sscanf(rest, "%li", &n) == 1) {
			call("NotifyPointerAxisDiscrete", "ui", 0u, (int32_t)n);
		} else if (!strcmp(word, "sleep") && sscanf(rest, "%li", &n) == 1) {
			struct timespec ts = { n / 1000, (n % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		} else if (!strcmp(word, "sync")) {
			/* Every call above waited for its answer. */
			printf("ok\n");
		} else {
			fprintf(stderr, "gn-input: not a command: \"%s\"\n", line);
			screencast_close(&sc);
			return 1;
		}
		if (screencast_dispatch(&sc) < 0)
			fail("mutter went away", EPIPE);
	}
	screencast_close(&sc);
	return 0;
}
