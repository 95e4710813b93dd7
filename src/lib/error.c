/* SPDX-License-Identifier: MIT */
/* The per-thread message behind mirage_last_error(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "private.h"

static _Thread_local char last_error[512];

MIRAGE_EXPORT const char *mirage_last_error(void)
{
	return last_error[0] ? last_error : "no error";
}

int mirage_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : (err < 0 ? err : -EIO);
}
