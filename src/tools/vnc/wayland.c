/* SPDX-License-Identifier: MIT */
/*
 * --wayland: mirage-wayland started for a running compositor.  Its mirror
 * is named after the output it mirrors (wl-OUTPUT), so the output's name
 * is asked of the compositor first: the first output, which is also the
 * one the Wayland input backend's pointer is on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-client.h>

#include "vnc.h"
#include "wlout.h"

static void global_add(void *data, struct wl_registry *r, uint32_t id, const char *iface,
		       uint32_t version)
{
	struct wlout *out = data;

	if (!strcmp(iface, wl_output_interface.name) && !out->wl)
		wlout_bind(out, r, id, version);
}

static void global_remove(void *data, struct wl_registry *r, uint32_t id) {}

static const struct wl_registry_listener registry_listener = {
	.global = global_add,
	.global_remove = global_remove,
};

/* The name of the compositor's first output into name; 0 or -errno (logged). */
static int first_output(const char *display, char *name, size_t size)
{
	struct wlout n = { 0 };
	struct wl_display *dpy = wl_display_connect(display);
	int ret = 0;

	if (!dpy) {
		vnc_log("cannot connect to Wayland display \"%s\": %s", display, strerror(errno));
		return -ECONNREFUSED;
	}
	struct wl_registry *r = wl_display_get_registry(dpy);
	wl_registry_add_listener(r, &registry_listener, &n);
	/* The globals, then the output's events. */
	if (wl_display_roundtrip(dpy) < 0 || wl_display_roundtrip(dpy) < 0) {
		vnc_log("the Wayland display \"%s\" closed the connection", display);
		ret = -EPIPE;
	} else if (!n.name[0]) {
		vnc_log("the Wayland display \"%s\" has no output with a name (wl_output 4)", display);
		ret = -ENODEV;
	} else {
		snprintf(name, size, "%s", n.name);
	}
	wlout_release(&n);
	wl_display_disconnect(dpy);
	return ret;
}

int vnc_wayland_start(struct vnc_driver **out, const char *display, int max_fps,
		      const char **mirror)
{
	char output[WLOUT_NAME_MAX], name[WLOUT_NAME_MAX + 3], fps[16];
	int ret;

	ret = first_output(display, output, sizeof(output));
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "wl-%s", output);
	snprintf(fps, sizeof(fps), "%d", max_fps);
	const char *args[] = { "--display", display, "--output", output, "--name", name,
			       "--max-fps", fps, NULL };
	ret = vnc_driver_start(out, "drivers/wayland", "mirage-wayland", args, name, display);
	if (ret < 0)
		return ret;
	*mirror = vnc_driver_mirror(*out);
	return 0;
}
