/* SPDX-License-Identifier: MIT */
/*
 * The life of a client-side driver (mirage-x11, mirage-wayland) around its
 * display server: the stop signals as a descriptor, open → serve → close,
 * and under --wait the same again whenever the server or its output comes
 * back.  The drivers keep their own poll loops; these are the parts of
 * them that are the same.
 */
#ifndef MIRAGE_DRIVERS_RUNNER_H
#define MIRAGE_DRIVERS_RUNNER_H

#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>

#include <mirage/driver.h>

/* How one life of a mirror ended. */
enum driver_life {
	DRIVER_STOPPED, /* a stop signal: exit 0 */
	DRIVER_LOST,    /* the server or the output went away: --wait waits for it */
	DRIVER_FAILED,  /* anything else: exit 1 */
};

/* The options every driver takes, filled by driver_main(). */
struct driver_options {
	const char *display;             /* --display */
	const char *name;                /* --name */
	struct mirage_settings settings; /* --set KEY=VALUE ..., over the defaults */
	bool wait;                       /* --wait */
	bool verbose;                    /* --verbose */
};

/* A driver, as driver_main() runs it; every callback gets its data. */
struct driver_runner {
	const char *prog;    /* "mirage-x11": the prefix of its messages */
	const char *waiting; /* what --wait says, once, that it waits for */

	/* The driver's own options: a table ending in a NULL entry (or NULL),
	 * their getopt letters, and what takes them: 0, or the exit status
	 * to leave with (2 after saying what is wrong). */
	const struct option *options;
	const char *letters;
	int (*option)(void *data, int c, const char *arg);
	void (*usage)(FILE *f);

	/*
	 * Connects to the display server.  quiet: a --wait retry, whose
	 * errors were said the first time.  0, -ENOTSUP when waiting cannot
	 * help (the server lacks what the driver needs), other -errno.
	 * close() runs after a failed open too.
	 */
	int (*open)(void *data, bool quiet);
	/* One life on an open connection: create the mirror, serve it. */
	enum driver_life (*run)(void *data, int sigfd);
	void (*close)(void *data);
};

/*
 * A driver's main(): parses argv (the common options into o, the driver's
 * through r->option, --help and usage errors through r->usage), takes the
 * stop signals (SIGINT, SIGTERM, SIGHUP; SIGPIPE ignored), then opens,
 * runs and closes, again every 500 ms under --wait while the server is
 * away.  Returns the process's exit status: 0 after a stop signal or
 * --help, 2 on a usage error, 1 otherwise.
 */
int driver_main(const struct driver_runner *r, struct driver_options *o, void *data, int argc, char **argv);

/*
 * What a serve loop does after poll() with `sig` the signalfd's entry and
 * `ctl` the control socket's: a stop signal is said and returns 1; the
 * control socket's requests are served (0); a failed control socket is
 * said and returns -errno.
 */
int driver_runner_events(const char *prog, struct mirage_driver *drv, const struct pollfd *sig,
			 const struct pollfd *ctl);

#endif
