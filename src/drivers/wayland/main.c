/* SPDX-License-Identifier: MIT */
/*
 * mirage-wayland [--display wayland-N] [--output NAME] [--name NAME]
 *                [--backend auto|gnome|wlroots] [--set KEY=VALUE ...] [--wait]
 *
 * Publishes a mirage pipe for one output of a running Wayland compositor.
 * One thread, one poll(): the compositor connection, the control socket and
 * a signalfd.  A still screen means no frame from the compositor and no
 * wake-up here.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage-wayland.h"
#include "runner.h"

bool wayland_verbose;

void wayland_log(enum mirage_log_level level, const char *fmt, ...)
{
	static const char *const what[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if (level >= MIRAGE_LOG_DEBUG && !wayland_verbose)
		return;
	fprintf(stderr, "mirage-wayland: %s", what[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct wayland_main {
	struct wayland_mirror m;
	struct driver_options o;    /* the common options */
	const char *output;          /* --output, NULL: the first */
	const char *backend;         /* --backend */
	int max_fps;                 /* --max-fps, 0: as fast as the compositor gives */
	int virtual_w, virtual_h;    /* --virtual WxH (GNOME), 0: a monitor of mutter's */
};

#ifdef MIRAGE_WAYLAND_GNOME
#define BACKENDS "auto, gnome, wlroots"
#else
#define BACKENDS "auto, wlroots"
#endif

/* The backend --backend names; auto: gnome when mutter's ScreenCast is on
 * the session bus, else wlroots. */
static struct wayland_backend *backend_create(const char *name, bool virtual_monitor)
{
#ifdef MIRAGE_WAYLAND_GNOME
	/* Only mutter makes virtual monitors: --virtual means gnome. */
	if (!strcmp(name, "gnome") || (!strcmp(name, "auto") && (virtual_monitor || wayland_gnome_present())))
		return wayland_gnome_create();
#else
	(void)virtual_monitor;
#endif
	return wayland_wlroots_create();
}

/*
 * A backend's error as the end of a life: the compositor gone (-EPIPE) or
 * the output removed (-ENODEV, said by the backend) is what --wait waits
 * out.
 */
static enum driver_life life_of(struct wayland_mirror *m, int err)
{
	m->compositor_gone = err == -EPIPE;
	return err == -EPIPE || err == -ENODEV ? DRIVER_LOST : DRIVER_FAILED;
}

static enum driver_life serve(struct wayland_mirror *m, int sigfd)
{
	struct wayland_backend *b = m->backend;
	struct pollfd fds[3];
	int ret;

	for (;;) {
		int timeout = b->impl->timeout ? b->impl->timeout(b) : -1;

		ret = b->impl->flush(b);
		if (ret < 0)
			return life_of(m, ret);
		fds[0] = (struct pollfd){ .fd = b->impl->fd(b), .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = mirage_driver_fd(m->drv), .events = POLLIN };
		fds[2] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		if (poll(fds, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			wayland_log(MIRAGE_LOG_ERROR, "poll: %s", strerror(errno));
			return DRIVER_FAILED;
		}
		ret = driver_runner_events("mirage-wayland", m->drv, &fds[2], &fds[1]);
		if (ret != 0)
			return ret > 0 ? DRIVER_STOPPED : DRIVER_FAILED;
		if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			ret = b->impl->dispatch(b);
			if (ret < 0)
				return life_of(m, ret);
		}
	}
}

/* One life of the mirror: open the compositor, create the pipe, serve. */
static enum driver_life run_once(struct wayland_main *x, int sigfd)
{
	struct wayland_mirror *m = &x->m;
	struct mirage_driver_config cfg;
	char name[MIRAGE_NAME_MAX + MIRAGE_MONITOR_NAME_MAX];
	enum driver_life rr = DRIVER_FAILED;
	int ret;

	mirage_driver_config_init(&cfg);
	cfg.width = m->backend->width;
	cfg.height = m->backend->height;
	cfg.native_bpp = 32;
	cfg.settings = x->o.settings;
	if (x->o.name)
		snprintf(name, sizeof(name), "%s", x->o.name);
	else
		snprintf(name, sizeof(name), "%s-%s",
			 m->backend->impl->mirror_prefix ? m->backend->impl->mirror_prefix : "wl",
			 m->backend->output_name);
	cfg.name = name;

	m->setting_up = true;
	m->pending_attach = false;
	ret = mirage_driver_create(&m->drv, &cfg, &m->impl);
	m->setting_up = false;
	if (ret < 0) {
		wayland_log(MIRAGE_LOG_ERROR, "cannot create mirror \"%s\": %s", name, mirage_last_error());
		return DRIVER_FAILED;
	}
	if (wayland_mirror_surface_changed(m) < 0)
		goto cleanup;
	wayland_mirror_monitors(m);
	if (m->pending_attach && wayland_mirror_start(m) < 0) {
		wayland_log(MIRAGE_LOG_ERROR, "cannot start capturing output %s", m->backend->output_name);
		goto cleanup;
	}
	wayland_log(MIRAGE_LOG_INFO, "mirroring output %s (%dx%d) with %s as \"%s\" at %s%s",
		    m->backend->output_name, m->backend->width, m->backend->height, m->backend->impl->name,
		    name, mirage_driver_socket_path(m->drv), mirage_driver_attached(m->drv) ? "" : " (detached)");
	rr = serve(m, sigfd);
	if (rr == DRIVER_LOST && m->compositor_gone)
		wayland_log(MIRAGE_LOG_ERROR, "lost the connection to the Wayland compositor: it went away; "
			    "mirror \"%s\" stopped", name);
cleanup:
	wayland_mirror_stop(m);
	mirage_driver_destroy(m->drv);
	m->drv = NULL;
	free(m->next.data);
	memset(&m->next, 0, sizeof(m->next));
	return rr;
}

static int life_open(void *data, bool quiet)
{
	struct wayland_main *x = data;
	struct wayland_backend *b = backend_create(x->backend, x->virtual_w > 0);

	wayland_verbose = x->o.verbose;
	x->m.backend = b;
	if (!b) {
		wayland_log(MIRAGE_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	b->display = x->o.display;
	b->output = x->output;
	b->virtual_w = x->virtual_w;
	b->virtual_h = x->virtual_h;
	b->overlay_cursor = x->o.settings.pointer_enabled;
	b->min_interval_ms = x->max_fps ? 1000 / x->max_fps : 0;
	b->frame_fn = wayland_mirror_frame;
	b->frame_data = &x->m;
	b->cursor_fn = wayland_mirror_cursor;
	b->quiet = quiet;
	return b->impl->open(b);
}

static enum driver_life life_run(void *data, int sigfd)
{
	struct wayland_main *x = data;

	x->m.backend->quiet = false;
	return run_once(x, sigfd);
}

static void life_close(void *data)
{
	struct wayland_main *x = data;

	if (x->m.backend)
		x->m.backend->impl->destroy(x->m.backend);
	x->m.backend = NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mirage-wayland [--display wayland-N] [--output NAME] [--name NAME]\n"
		"                      [--backend " BACKENDS "] [--set KEY=VALUE ...] [--max-fps N]\n"
		"                      [--wait] [--verbose]"
#ifdef MIRAGE_WAYLAND_GNOME
		" [--virtual WxH]"
#endif
		"\n"
		"Publishes a mirage pipe for one output of a running Wayland compositor\n"
		"(default $WAYLAND_DISPLAY, its first output), named wl-OUTPUT (gnome-CONNECTOR\n"
		"for mutter), until interrupted.\n"
#ifdef MIRAGE_WAYLAND_GNOME
		"  --virtual WxH   (mutter) a new monitor of that size, for the mirror alone,\n"
		"                  named gnome-Virtual\n"
#endif
		);
}

static int take_option(void *data, int c, const char *arg)
{
	struct wayland_main *x = data;
	char *end;
	long v;

	switch (c) {
	case 'o':
		x->output = arg;
		return 0;
	case 'b':
		if (strcmp(arg, "auto") && strcmp(arg, "wlroots")
#ifdef MIRAGE_WAYLAND_GNOME
		    && strcmp(arg, "gnome")
#endif
		) {
			fprintf(stderr, "mirage-wayland: --backend %s: not a backend (" BACKENDS ")\n", arg);
			return 2;
		}
		x->backend = arg;
		return 0;
	case 'f':
		v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v < 1 || v > 1000) {
			fprintf(stderr, "mirage-wayland: --max-fps %s: expected 1 to 1000\n", arg);
			return 2;
		}
		x->max_fps = (int)v;
		return 0;
#ifdef MIRAGE_WAYLAND_GNOME
	case 'V': {
		int w, h, n = 0;

		if (sscanf(arg, "%dx%d%n", &w, &h, &n) != 2 || arg[n] || w < 1 || h < 1 || w > 16384 || h > 16384) {
			fprintf(stderr, "mirage-wayland: --virtual %s: expected WIDTHxHEIGHT, 1 to 16384 each\n",
				arg);
			return 2;
		}
		x->virtual_w = w, x->virtual_h = h;
		return 0;
	}
#endif
	}
	return 2;
}

static const struct option options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "backend", required_argument, NULL, 'b' },
	{ "max-fps", required_argument, NULL, 'f' },
#ifdef MIRAGE_WAYLAND_GNOME
	{ "virtual", required_argument, NULL, 'V' },
#endif
	{ NULL, 0, NULL, 0 },
};

static const struct driver_runner runner = {
	.prog = "mirage-wayland",
	.waiting = "the compositor and its output",
	.options = options,
	.letters = "o:b:f:V:",
	.option = take_option,
	.usage = usage,
	.open = life_open,
	.run = life_run,
	.close = life_close,
};

int main(int argc, char **argv)
{
	static struct wayland_main x = { .backend = "auto" };
	wayland_mirror_init(&x.m);
	return driver_main(&runner, &x.o, &x, argc, argv);
}
