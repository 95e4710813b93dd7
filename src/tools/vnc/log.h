/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's messages (one line each on stderr, "mirage-vnc: ...") and
 * the flag that stops it, set by the signal handler in main.c and read by
 * every loop.  A leaf: every file of mirage-vnc may include it.
 */
#ifndef MIRAGE_VNC_LOG_H
#define MIRAGE_VNC_LOG_H

#include <signal.h>

#define VNC_PROG "mirage-vnc"

extern volatile sig_atomic_t vnc_quit;
extern int vnc_verbose; /* -v: vnc_debug speaks; -vv: libvncserver too */

void vnc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vnc_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MIRAGE_VNC_LOG_H */
