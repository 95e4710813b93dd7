/* SPDX-License-Identifier: MIT */
/*
 * Pointer.Enabled=1: the cursor composed into the surface.  What it covers
 * is kept in the shadow lines (a save-under, as display drivers kept it in
 * offscreen memory), so the refinery can put the screen's own pixels back
 * before it compares and draws the cursor again afterwards.
 */
#include <string.h>

#include "refine.h"

static bool cursor_box(const struct refine_cursor *cur, const struct refine_image *s, pixman_box32_t *b)
{
	b->x1 = cur->x - cur->hot_x;
	b->y1 = cur->y - cur->hot_y;
	b->x2 = b->x1 + (int32_t)cur->width;
	b->y2 = b->y1 + (int32_t)cur->height;
	if (b->x1 < 0) b->x1 = 0;
	if (b->y1 < 0) b->y1 = 0;
	if (b->x2 > s->width) b->x2 = s->width;
	if (b->y2 > s->height) b->y2 = s->height;
	return b->x1 < b->x2 && b->y1 < b->y2;
}

void refine_cursor_undraw(struct refine_cursor *cur, struct refine_image *surface, uint8_t *shadow,
		       pixman_region32_t *dirty)
{
	const pixman_box32_t *b = &cur->drawn_box;
	uint32_t bpp = surface->bpp / 8;
	size_t bytes = (size_t)(b->x2 - b->x1) * bpp;

	if (!cur->drawn)
		return;
	for (int32_t y = b->y1; y < b->y2; y++)
		memcpy(surface->data + (size_t)y * surface->stride + (size_t)b->x1 * bpp,
		       shadow + (size_t)(y - b->y1) * bytes, bytes);
	pixman_region32_union_rect(dirty, dirty, b->x1, b->y1, (unsigned)(b->x2 - b->x1),
				   (unsigned)(b->y2 - b->y1));
	cur->drawn = false;
}

void refine_cursor_draw(struct refine_cursor *cur, struct refine_image *surface, uint8_t *shadow,
		     pixman_region32_t *dirty)
{
	pixman_box32_t b;
	uint32_t bpp = surface->bpp / 8;
	size_t bytes;

	if (cur->drawn || !cur->visible || !cur->argb || !cursor_box(cur, surface, &b))
		return;
	bytes = (size_t)(b.x2 - b.x1) * bpp;
	for (int32_t y = b.y1; y < b.y2; y++) {
		uint8_t *row = surface->data + (size_t)y * surface->stride + (size_t)b.x1 * bpp;
		const uint32_t *src = cur->argb + (size_t)(y - (cur->y - cur->hot_y)) * cur->width +
				      (b.x1 - (cur->x - cur->hot_x));

		memcpy(shadow + (size_t)(y - b.y1) * bytes, row, bytes);
		for (int32_t x = 0; x < b.x2 - b.x1; x++) {
			uint32_t s = src[x], a = s >> 24, d, out = 0;

			if (a == 0 && (s & 0xffffff) == 0)
				continue;
			d = refine_pixel_get(row + (size_t)x * bpp, surface->bpp);
			/* Premultiplied "over": out = src + dst * (1 - alpha). */
			for (int sh = 0; sh <= 16; sh += 8) {
				uint32_t c = (s >> sh & 0xff) + ((d >> sh & 0xff) * (255 - a) + 127) / 255;
				out |= (c > 255 ? 255 : c) << sh;
			}
			refine_pixel_put(row + (size_t)x * bpp, surface->bpp, out);
		}
	}
	cur->drawn = true;
	cur->drawn_box = b;
	pixman_region32_union_rect(dirty, dirty, b.x1, b.y1, (unsigned)(b.x2 - b.x1),
				   (unsigned)(b.y2 - b.y1));
}
