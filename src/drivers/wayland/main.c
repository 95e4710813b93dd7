/* SPDX-License-Identifier: MIT */
/*
 * mirage-wayland [--display wayland-N] [--output NAME] [--name NAME]
 *                [--backend auto|wlroots] [--set KEY=VALUE ...] [--wait]
 *
 * Publishes a mirage pipe for one output of a running Wayland compositor.
 * One thread, one poll(): the compositor connection, the control socket and
 * a signalfd.  A still screen means no frame from the compositor and no
 * wake-up here.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "mirage-wayland.h"
#include "signals.h"

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

struct options {
	const char *display;
	const char *output;
	const char *name;
	const char *backend;
	struct mirage_settings settings;
	bool wait;
	int max_fps;          /* --max-fps, 0: as fast as the compositor gives */
};

enum run_result { RUN_SIGNAL, RUN_LOST, RUN_FAILED };

/* The backend --backend names; auto is wlroots until another exists. */
static struct wayland_backend *backend_create(const char *name)
{
	if (!strcmp(name, "auto") || !strcmp(name, "wlroots"))
		return wayland_wlroots_create();
	return NULL;
}

static enum run_result serve(struct wayland_mirror *m, int sigfd)
{
	struct wayland_backend *b = m->backend;
	struct pollfd fds[3];
	int ret;

	for (;;) {
		int timeout = b->impl->timeout ? b->impl->timeout(b) : -1;

		ret = b->impl->flush(b);
		if (ret < 0)
			return ret == -EPIPE ? RUN_LOST : RUN_FAILED;
		fds[0] = (struct pollfd){ .fd = b->impl->fd(b), .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = mirage_driver_fd(m->drv), .events = POLLIN };
		fds[2] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		if (poll(fds, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			wayland_log(MIRAGE_LOG_ERROR, "poll: %s", strerror(errno));
			return RUN_FAILED;
		}
		if (fds[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) > 0)
				wayland_log(MIRAGE_LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
			return RUN_SIGNAL;
		}
		if (fds[1].revents & POLLIN) {
			ret = mirage_driver_dispatch(m->drv);
			if (ret < 0) {
				wayland_log(MIRAGE_LOG_ERROR, "control socket failed: %s", strerror(-ret));
				return RUN_FAILED;
			}
		}
		if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			ret = b->impl->dispatch(b);
			if (ret < 0)
				return ret == -EPIPE ? RUN_LOST : RUN_FAILED;
		}
	}
}

/* One life of the mirror: open the compositor, create the pipe, serve. */
static enum run_result run_once(struct wayland_mirror *m, const struct options *o, int sigfd)
{
	struct mirage_driver_config cfg;
	char name[MIRAGE_NAME_MAX + MIRAGE_MONITOR_NAME_MAX];
	enum run_result rr = RUN_FAILED;
	int ret;

	mirage_driver_config_init(&cfg);
	cfg.width = m->backend->width;
	cfg.height = m->backend->height;
	cfg.native_bpp = 32;
	cfg.settings = o->settings;
	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		snprintf(name, sizeof(name), "wl-%s", m->backend->output_name);
	cfg.name = name;

	m->setting_up = true;
	m->pending_attach = false;
	ret = mirage_driver_create(&m->drv, &cfg, &m->impl);
	m->setting_up = false;
	if (ret < 0) {
		wayland_log(MIRAGE_LOG_ERROR, "cannot create mirror \"%s\": %s", name, mirage_last_error());
		return RUN_FAILED;
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
	if (rr == RUN_LOST)
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mirage-wayland [--display wayland-N] [--output NAME] [--name NAME]\n"
		"                      [--backend auto|wlroots] [--set KEY=VALUE ...] [--max-fps N]\n"
		"                      [--wait] [--verbose]\n"
		"Publishes a mirage pipe for one output of a running Wayland compositor\n"
		"(default $WAYLAND_DISPLAY, its first output), named wl-OUTPUT, until interrupted.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "display", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'b' },
		{ "set", required_argument, NULL, 's' },
		{ "wait", no_argument, NULL, 'w' },
		{ "max-fps", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .backend = "auto" };
	struct wayland_mirror m;
	int c, sigfd, status = 1;

	wayland_mirror_init(&m);
	mirage_settings_init(&o.settings);
	while ((c = getopt_long(argc, argv, "d:o:n:b:s:wf:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.display = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'b':
			if (strcmp(optarg, "auto") && strcmp(optarg, "wlroots")) {
				fprintf(stderr, "mirage-wayland: --backend %s: not a backend (auto, wlroots)\n", optarg);
				return 2;
			}
			o.backend = optarg;
			break;
		case 's':
			if (mirage_settings_parse(&o.settings, optarg) < 0) {
				fprintf(stderr, "mirage-wayland: --set %s: %s\n", optarg, mirage_last_error());
				return 2;
			}
			break;
		case 'w':
			o.wait = true;
			break;
		case 'f': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v < 1 || v > 1000) {
				fprintf(stderr, "mirage-wayland: --max-fps %s: expected 1 to 1000\n", optarg);
				return 2;
			}
			o.max_fps = (int)v;
			break;
		}
		case 'v':
			wayland_verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	sigfd = driver_stop_signalfd();
	if (sigfd < 0) {
		fprintf(stderr, "mirage-wayland: signalfd: %s\n", strerror(-sigfd));
		return 1;
	}

	for (unsigned failures = 0;;) {
		enum run_result rr;
		int ret;

		m.backend = backend_create(o.backend);
		if (!m.backend) {
			wayland_log(MIRAGE_LOG_ERROR, "out of memory");
			break;
		}
		m.backend->display = o.display;
		m.backend->output = o.output;
		m.backend->overlay_cursor = o.settings.pointer_enabled;
		m.backend->min_interval_ms = o.max_fps ? 1000 / o.max_fps : 0;
		m.backend->frame_fn = wayland_mirror_frame;
		m.backend->frame_data = &m;
		/* While waiting, say once that the compositor is not there. */
		m.backend->quiet = o.wait && failures > 0;
		ret = m.backend->impl->open(m.backend);
		if (ret < 0) {
			m.backend->impl->destroy(m.backend);
			m.backend = NULL;
			/* Without the protocol there is nothing to wait for. */
			if (!o.wait || ret == -ENOTSUP) {
				status = 1;
				break;
			}
			if (failures++ == 0)
				wayland_log(MIRAGE_LOG_INFO, "--wait: waiting for the compositor and its output");
			struct pollfd pf = { .fd = sigfd, .events = POLLIN };
			if (poll(&pf, 1, 500) > 0) {
				status = 0;
				break;
			}
			continue;
		}
		failures = 0;
		m.backend->quiet = false;
		rr = run_once(&m, &o, sigfd);
		m.backend->impl->destroy(m.backend);
		m.backend = NULL;
		if (rr == RUN_SIGNAL) {
			status = 0;
			break;
		}
		if (rr == RUN_FAILED && !o.wait) {
			status = 1;
			break;
		}
		if (!o.wait) {
			status = 1;
			break;
		}
	}
	close(sigfd);
	return status;
}
