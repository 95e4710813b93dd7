/* SPDX-License-Identifier: MIT */
/* The compositor's damage hint in frames whose rows run bottom-up (damage.c). */
#ifndef MIRAGE_WAYLAND_DAMAGE_H
#define MIRAGE_WAYLAND_DAMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

/*
 * dst = src mirrored top to bottom in a frame of `height` rows, clipped to
 * it: a row y counted from the bottom is row height - 1 - y from the top.
 * dst may be src.
 */
void damage_flip_y(pixman_region32_t *dst, const pixman_region32_t *src, int32_t height);

/*
 * Makes a frame's damage (in the compositor's coordinates) cover what it
 * names in the surface's top-down rows: unchanged unless y_invert, else
 * the union of it and its flip (see damage.c for why both).
 */
void damage_for_frame(pixman_region32_t *damage, bool y_invert, int32_t height);

#endif /* MIRAGE_WAYLAND_DAMAGE_H */
