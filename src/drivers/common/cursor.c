/* SPDX-License-Identifier: MIT */
/*
 * Pointer.Enabled=1: the cursor composed into the surface.  What it covers
 * is kept in the shadow lines (a save-under, as display drivers kept it in
 * offscreen memory), so the refinery can put the screen's own pixels back
 * before it compares and draws the cursor again afterwards.  The
 * composition itself is src/common/compose.c, shared with the Xorg module.
 */
#include "compose.h"
#include "refine.h"

static struct compose_surface surface_of(const struct refine_image *s)
{
	return (struct compose_surface){ .pixels = s->data, .stride = s->stride, .bpp = s->bpp,
					 .width = s->width, .height = s->height };
}

static void add_dirty(pixman_region32_t *dirty, const pixman_box32_t *b)
{
	pixman_region32_union_rect(dirty, dirty, b->x1, b->y1, (unsigned)(b->x2 - b->x1),
				   (unsigned)(b->y2 - b->y1));
}

void refine_cursor_undraw(struct refine_cursor *cur, struct refine_image *surface, uint8_t *shadow,
		       pixman_region32_t *dirty)
{
	struct compose_surface s = surface_of(surface);
	const pixman_box32_t *d = &cur->drawn_box;
	struct compose_box b = { d->x1, d->y1, d->x2, d->y2 };

	if (!cur->drawn)
		return;
	compose_restore(&s, &b, shadow);
	add_dirty(dirty, d);
	cur->drawn = false;
}

void refine_cursor_draw(struct refine_cursor *cur, struct refine_image *surface, uint8_t *shadow,
		     pixman_region32_t *dirty)
{
	struct compose_surface s = surface_of(surface);
	struct compose_cursor c = { .argb = cur->argb, .width = cur->width, .height = cur->height,
				    .x = cur->x - cur->hot_x, .y = cur->y - cur->hot_y };
	struct compose_box b;

	if (cur->drawn || !cur->visible || !cur->argb || !compose_clip(&c, &s, &b))
		return;
	compose_draw(&s, &c, &b, shadow);
	cur->drawn = true;
	cur->drawn_box = (pixman_box32_t){ b.x1, b.y1, b.x2, b.y2 };
	add_dirty(dirty, &cur->drawn_box);
}
