/* SPDX-License-Identifier: MIT */
/*
 * mirage-x11 [--display :N] [--name NAME] [--set KEY=VALUE ...] [--wait] [--capacity N]
 *
 * Publishes a mirage pipe for a running X display, as an ordinary client.
 * One thread, one poll(): the X connection, the control socket and a
 * signalfd.  Nothing runs while nothing changes on the screen.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage-x11.h"
#include "shared.h"
#include "runner.h"

static struct x11_mirror *from_impl(struct mirage_driver_impl *impl)
{
	return container_of(impl, struct x11_mirror, impl);
}

void x11_log(struct x11_mirror *m, enum mirage_log_level level, const char *fmt, ...)
{
	static const char *const what[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if ((level >= MIRAGE_LOG_DEBUG && !m->verbose) || (m->quiet && level == MIRAGE_LOG_ERROR))
		return;
	fprintf(stderr, "mirage-x11: %s", what[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */
/* The driver callbacks                                                */
/* ------------------------------------------------------------------ */

static int on_attach(struct mirage_driver_impl *impl)
{
	struct x11_mirror *m = from_impl(impl);

	/*
	 * With Cap.Bootup >= 1 this runs inside mirage_driver_create(), before
	 * the frame buffers for the surface exist: finish the attach once they do.
	 */
	if (m->setting_up) {
		m->pending_attach = true;
		return 0;
	}
	return x11_display_start(m);
}

static void on_detach(struct mirage_driver_impl *impl)
{
	x11_display_stop(from_impl(impl));
}

static void on_settings(struct mirage_driver_impl *impl, const struct mirage_settings *old)
{
	struct x11_mirror *m = from_impl(impl);
	const struct mirage_settings *now = mirage_driver_settings(m->drv);

	if (now->forced_bpp != old->forced_bpp || now->backing_mode != old->backing_mode) {
		if (x11_display_surface_changed(m) == 0 && mirage_driver_attached(m->drv))
			(void)x11_display_start(m);
	} else if (now->pointer_enabled != old->pointer_enabled) {
		x11_display_pointer_setting(m, old->pointer_enabled);
	}
}

static size_t on_info(struct mirage_driver_impl *impl, char *buf, size_t size)
{
	return x11_display_info(from_impl(impl), buf, size);
}

static void on_log(struct mirage_driver_impl *impl, enum mirage_log_level level, const char *message)
{
	struct x11_mirror *m = from_impl(impl);

	if (level <= MIRAGE_LOG_WARNING || m->verbose)
		x11_log(m, level, "%s", message);
}

/* ------------------------------------------------------------------ */
/* Main loop                                                           */
/* ------------------------------------------------------------------ */

struct x11_main {
	struct x11_mirror m;
	struct driver_options o;    /* the common options */
	uint32_t capacity;           /* --capacity: ring slots; 0: the library's default */
};

static enum driver_life serve(struct x11_mirror *m, int sigfd)
{
	struct pollfd fds[3];

	for (;;) {
		xcb_generic_event_t *ev;
		int ret, delay;

		while ((ev = xcb_poll_for_event(m->conn))) {
			x11_display_event(m, ev);
			free(ev);
		}
		if (xcb_connection_has_error(m->conn))
			return DRIVER_LOST;
		delay = x11_display_delay(m);
		if (delay == 0) {
			ret = x11_display_flush(m);
			if (ret < 0) {
				x11_log(m, MIRAGE_LOG_ERROR, "stopping: %s", strerror(-ret));
				return DRIVER_FAILED;
			}
		}
		xcb_flush(m->conn);
		/* Replies we waited for may have brought events along. */
		if ((ev = xcb_poll_for_queued_event(m->conn))) {
			x11_display_event(m, ev);
			free(ev);
			continue;
		}
		if (xcb_connection_has_error(m->conn))
			return DRIVER_LOST;

		fds[0] = (struct pollfd){ .fd = xcb_get_file_descriptor(m->conn), .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = mirage_driver_fd(m->drv), .events = POLLIN };
		fds[2] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		/* A timeout only while damage waits for the next pass: idle means no wake-ups. */
		if (poll(fds, 3, delay > 0 ? delay : -1) < 0) {
			if (errno == EINTR)
				continue;
			x11_log(m, MIRAGE_LOG_ERROR, "poll: %s", strerror(errno));
			return DRIVER_FAILED;
		}
		ret = driver_runner_events("mirage-x11", m->drv, &fds[2], &fds[1]);
		if (ret != 0)
			return ret > 0 ? DRIVER_STOPPED : DRIVER_FAILED;
		if (fds[0].revents & (POLLERR | POLLHUP))
			(void)xcb_poll_for_event(m->conn); /* notices the hang-up */
	}
}

/* One life of the mirror: open the display, create the pipe, serve. */
static enum driver_life run_once(struct x11_main *x, int sigfd)
{
	struct x11_mirror *m = &x->m;
	struct mirage_driver_config cfg;
	char name[MIRAGE_NAME_MAX];
	enum driver_life rr = DRIVER_FAILED;
	int ret;

	mirage_driver_config_init(&cfg);
	cfg.width = m->width;
	cfg.height = m->height;
	cfg.native_bpp = m->xbpp;
	cfg.capacity = x->capacity;
	cfg.settings = x->o.settings;
	if (x->o.name)
		snprintf(name, sizeof(name), "%s", x->o.name);
	else
		snprintf(name, sizeof(name), "x11-%d", m->display_number);
	cfg.name = name;

	m->setting_up = true;
	m->pending_attach = false;
	ret = mirage_driver_create(&m->drv, &cfg, &m->impl);
	if (ret < 0) {
		m->setting_up = false;
		x11_log(m, MIRAGE_LOG_ERROR, "cannot create mirror \"%s\": %s", name, mirage_last_error());
		return DRIVER_FAILED;
	}
	ret = x11_display_surface_changed(m);
	m->setting_up = false;
	if (ret < 0)
		goto cleanup;
	x11_display_monitors(m);
	if (m->pending_attach)
		(void)x11_display_start(m);
	x11_log(m, MIRAGE_LOG_INFO, "mirroring %s (%dx%d, %u bpp) as \"%s\" at %s%s",
		m->display_name ? m->display_name : "", m->width, m->height, m->xbpp, name,
		mirage_driver_socket_path(m->drv), mirage_driver_attached(m->drv) ? "" : " (detached)");
	rr = serve(m, sigfd);
	if (rr == DRIVER_LOST)
		x11_log(m, MIRAGE_LOG_ERROR, "lost the connection to X display \"%s\": the server went away; "
			"mirror \"%s\" stopped", m->display_name ? m->display_name : "", name);
cleanup:
	x11_display_stop(m);
	mirage_driver_destroy(m->drv);
	m->drv = NULL;
	return rr;
}

static int life_open(void *data, bool quiet)
{
	struct x11_main *x = data;
	int ret;

	x->m.display_name = x->o.display;
	x->m.verbose = x->o.verbose;
	x->m.quiet = quiet;
	ret = x11_display_open(&x->m);
	if (ret == 0)
		x->m.quiet = false;
	return ret;
}

static enum driver_life life_run(void *data, int sigfd)
{
	struct x11_main *x = data;

	return run_once(x, sigfd);
}

static void life_close(void *data)
{
	x11_display_close(&((struct x11_main *)data)->m);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mirage-x11 [--display :N] [--name NAME] [--set KEY=VALUE ...] [--wait]\n"
		"                  [--capacity N] [--no-shm] [--no-xvfb-shmem] [--verbose]\n"
		"Publishes a mirage pipe for a running X display (default $DISPLAY),\n"
		"named x11-N for display :N, until interrupted.\n");
}

static int take_option(void *data, int c, const char *arg)
{
	struct x11_main *x = data;
	char *end;
	unsigned long v;

	switch (c) {
	case 'c':
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || v < MIRAGE_RING_MIN_CAPACITY || v > MIRAGE_RING_MAX_CAPACITY) {
			fprintf(stderr, "mirage-x11: --capacity %s: not a number of ring slots in %u..%u\n", arg,
				MIRAGE_RING_MIN_CAPACITY, MIRAGE_RING_MAX_CAPACITY);
			return 2;
		}
		x->capacity = (uint32_t)v;
		return 0;
	case 'S':
		x->m.no_shm = true;
		return 0;
	case 'X':
		x->m.no_xvfb = true;
		return 0;
	}
	return 2;
}

static const struct option options[] = {
	{ "capacity", required_argument, NULL, 'c' },
	{ "no-shm", no_argument, NULL, 'S' },
	{ "no-xvfb-shmem", no_argument, NULL, 'X' },
	{ NULL, 0, NULL, 0 },
};

static const struct driver_runner runner = {
	.prog = "mirage-x11",
	.waiting = "the X display to appear",
	.options = options,
	.letters = "c:",
	.option = take_option,
	.usage = usage,
	.open = life_open,
	.run = life_run,
	.close = life_close,
};

int main(int argc, char **argv)
{
	static struct x11_main x; /* large; one a process */
	x.m.impl = (struct mirage_driver_impl){
		.name = "x11",
		.attach = on_attach,
		.detach = on_detach,
		.settings_changed = on_settings,
		.info = on_info,
		.log = on_log,
	};
	x.m.xvfb_shmid = -1;
	return driver_main(&runner, &x.o, &x, argc, argv);
}
