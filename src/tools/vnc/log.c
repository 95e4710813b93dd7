/* SPDX-License-Identifier: MIT */
/* mirage-vnc's messages and its stop flag (log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

volatile sig_atomic_t vnc_quit;
int vnc_verbose;

static void say(const char *fmt, va_list ap)
{
	char buf[1024];

	/* One write a line, so that threads' lines do not interleave. */
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s: %s\n", VNC_PROG, buf);
}

void vnc_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

void vnc_debug(const char *fmt, ...)
{
	va_list ap;

	if (!vnc_verbose)
		return;
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}
