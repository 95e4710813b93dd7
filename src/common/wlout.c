/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include <wayland-client.h>

#include "wlout.h"

static void out_geometry(void *data, struct wl_output *o, int32_t x, int32_t y, int32_t pw, int32_t ph,
			 int32_t subpixel, const char *make, const char *model, int32_t transform)
{
	(void)data; (void)o; (void)x; (void)y; (void)pw; (void)ph; (void)subpixel; (void)make;
	(void)model; (void)transform;
}

static void out_mode(void *data, struct wl_output *o, uint32_t flags, int32_t w, int32_t h, int32_t refresh)
{
	struct wlout *out = data;

	(void)o; (void)refresh;
	if (flags & WL_OUTPUT_MODE_CURRENT) {
		out->width = w;
		out->height = h;
	}
}

static void out_done(void *data, struct wl_output *o)
{
	(void)data; (void)o;
}

static void out_scale(void *data, struct wl_output *o, int32_t factor)
{
	(void)data; (void)o; (void)factor;
}

static void out_name(void *data, struct wl_output *o, const char *name)
{
	struct wlout *out = data;

	(void)o;
	snprintf(out->name, sizeof(out->name), "%s", name);
}

static void out_description(void *data, struct wl_output *o, const char *description)
{
	(void)data; (void)o; (void)description;
}

static const struct wl_output_listener listener = {
	.geometry = out_geometry,
	.mode = out_mode,
	.done = out_done,
	.scale = out_scale,
	.name = out_name,
	.description = out_description,
};

void wlout_bind(struct wlout *out, struct wl_registry *r, uint32_t id, uint32_t version)
{
	/* The name event is version 4's; nothing later is needed. */
	out->wl = wl_registry_bind(r, id, &wl_output_interface, version < 4 ? version : 4);
	wl_output_add_listener(out->wl, &listener, out);
}

void wlout_release(struct wlout *out)
{
	if (out->wl)
		wl_output_destroy(out->wl);
	out->wl = NULL;
}
