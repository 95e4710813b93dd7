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

static void out_geometry(void *data, struct wl_output *o, int32_t x, int32_t y, int32_t pw,
			 int32_t ph, int32_t subpixel, const char *make, const char *model,
			 int32_t transform)
{
}

static void out_mode(void *data, struct wl_output *o, uint32_t flags, int32_t w, int32_t h,
		     int32_t refresh)
{
	struct vnc_wl_output *out = data;

	if (flags & WL_OUTPUT_MODE_CURRENT) {
		out->width = w;
		out->height = h;
	}
}

static void out_done(void *data, struct wl_output *o) {}
static void out_scale(void *data, struct wl_output *o, int32_t f) {}

static void out_name(void *data, struct wl_output *o, const char *name)
{
	struct vnc_wl_output *out = data;

	snprintf(out->name, sizeof(out->name), "%s", name);
}

static void out_description(void *data, struct wl_output *o, const char *d) {}

static const struct wl_output_listener output_listener = {
	.geometry = out_geometry,
	.mode = out_mode,
	.done = out_done,
	.scale = out_scale,
	.name = out_name,
	.description = out_description,
};

void vnc_wl_output_bind(struct vnc_wl_output *out, struct wl_registry *r, uint32_t id,
			uint32_t version)
{
	/* The name event is version 4's. */
	out->wl = wl_registry_bind(r, id, &wl_output_interface, version < 4 ? version : 4);
	wl_output_add_listener(out->wl, &output_listener, out);
}

static void global_add(void *data, struct wl_registry *r, uint32_t id, const char *iface,
		       uint32_t version)
{
	struct vnc_wl_output *out = data;

	if (!strcmp(iface, wl_output_interface.name) && !out->wl)
		vnc_wl_output_bind(out, r, id, version);
}

static void global_remove(void *data, struct wl_registry *r, uint32_t id) {}

static const struct wl_registry_listener registry_listener = {
	.global = global_add,
	.global_remove = global_remove,
};

/* The name of the compositor's first output into name; 0 or -errno (logged). */
static int first_output(const char *display, char *name, size_t size)
{
	struct vnc_wl_output n = { 0 };
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
	wl_display_disconnect(dpy);
	return ret;
}

int vnc_wayland_start(struct vnc_driver **out, const char *display, int max_fps,
		      const char **mirror)
{
	char output[48], name[64], fps[16];
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
