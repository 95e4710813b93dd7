/* SPDX-License-Identifier: MIT */
/*
 * Composing a cursor into a surface over a save-under, the way display
 * drivers kept what a software cursor covered in offscreen memory: the box
 * under the cursor is saved into a caller buffer, the cursor blended in,
 * and later the box restored from that buffer.  The one copy of this
 * algorithm: the Xorg module (src/drivers/xorg/cursor.c) and the refinery
 * of mirage-x11 and mirage-wayland (src/drivers/common/cursor.c) use it.
 *
 * Pure functions on caller memory: no allocation, no global state.
 */
#ifndef MIRAGE_COMPOSE_H
#define MIRAGE_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A surface: line 0 at pixels, `stride` bytes a line, bpp 16, 24 or 32
 * (r5g6b5, r8g8b8, x8r8g8b8 in memory order). */
struct compose_surface {
	uint8_t *pixels;
	size_t stride;
	uint32_t bpp;
	int32_t width, height;
};

/* A cursor image, premultiplied ARGB32, its top-left corner at (x, y). */
struct compose_cursor {
	const uint32_t *argb;
	uint32_t width, height;
	int32_t x, y;
};

/* A half-open box on the surface: [x1, x2) x [y1, y2). */
struct compose_box {
	int32_t x1, y1, x2, y2;
};

/*
 * The part of the surface the cursor covers, clipped to the surface;
 * false when nothing of it is on the surface.
 */
bool compose_clip(const struct compose_cursor *cur, const struct compose_surface *s,
		  struct compose_box *out);

/* Bytes the save-under of box b takes: its rows packed one after another. */
size_t compose_save_size(const struct compose_surface *s, const struct compose_box *b);

/*
 * Saves box b (from compose_clip) into `save` (compose_save_size bytes)
 * and blends the cursor over it: premultiplied "over", each channel
 * rounded, out = src + dst * (255 - alpha) / 255.
 */
void compose_draw(const struct compose_surface *s, const struct compose_cursor *cur,
		  const struct compose_box *b, uint8_t *save);

/* Puts back what compose_draw saved: the surface is as it was, byte for byte. */
void compose_restore(const struct compose_surface *s, const struct compose_box *b,
		     const uint8_t *save);

/* One pixel of the blend: ARGB32 premultiplied over 0x00RRGGBB. */
uint32_t compose_over(uint32_t argb, uint32_t rgb);

#endif /* MIRAGE_COMPOSE_H */
