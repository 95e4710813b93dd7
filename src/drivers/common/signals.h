/* SPDX-License-Identifier: MIT */
/*
 * The signals that stop a client-side driver (SIGINT, SIGTERM, SIGHUP),
 * taken as a file descriptor its poll loop watches; SIGPIPE ignored.
 */
#ifndef MIRAGE_DRIVERS_SIGNALS_H
#define MIRAGE_DRIVERS_SIGNALS_H

/*
 * Blocks the stop signals and returns a non-blocking, close-on-exec
 * signalfd for them (the caller owns it), or -errno.
 */
__attribute__((warn_unused_result)) int driver_stop_signalfd(void);

#endif
