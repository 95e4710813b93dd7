/* SPDX-License-Identifier: MIT */
/*
 * A compositor's wl_output as Wayland clients of mirage follow it: its
 * name (wl_output version 4) and its current mode, kept up to date by the
 * output's events.  mirage-wayland's wlroots backend and mirage-vnc's
 * Wayland input both bind outputs through it.
 */
#ifndef MIRAGE_WLOUT_H
#define MIRAGE_WLOUT_H

#include <stdint.h>

struct wl_output;
struct wl_registry;

#define WLOUT_NAME_MAX 64

struct wlout {
	struct wl_output *wl;
	char name[WLOUT_NAME_MAX]; /* "" until the compositor says (version 4) */
	int32_t width, height; /* the current mode, 0 until it comes */
};

/*
 * Binds the registry's global `id` (a wl_output offering `version`) at
 * version 4 at most and follows its events into `out`, which must stay
 * where it is while bound.
 */
void wlout_bind(struct wlout *out, struct wl_registry *r, uint32_t id, uint32_t version);

/* Destroys the binding, if any. */
void wlout_release(struct wlout *out);

#endif
