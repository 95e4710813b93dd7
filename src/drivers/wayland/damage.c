/* SPDX-License-Identifier: MIT */
/*
 * The compositor's damage in a y-inverted frame.  Pure: no Wayland, so
 * tests/wayland/test-damage.c tests it alone.
 */
#include "damage.h"

void damage_flip_y(pixman_region32_t *dst, const pixman_region32_t *src, int32_t height)
{
	pixman_region32_t out;
	const pixman_box32_t *b;
	int n;

	pixman_region32_init(&out);
	b = pixman_region32_rectangles((pixman_region32_t *)src, &n);
	for (int i = 0; i < n; i++) {
		/* Rows [y1, y2) counted from the bottom are [h - y2, h - y1) from the top. */
		pixman_box32_t f = { b[i].x1, height - b[i].y2, b[i].x2, height - b[i].y1 };

		if (f.y1 < 0)
			f.y1 = 0;
		if (f.y2 > height)
			f.y2 = height;
		if (f.y1 < f.y2 && f.x1 < f.x2)
			pixman_region32_union_rect(&out, &out, f.x1, f.y1, (unsigned)(f.x2 - f.x1),
						   (unsigned)(f.y2 - f.y1));
	}
	pixman_region32_copy(dst, &out);
	pixman_region32_fini(&out);
}

void damage_for_frame(pixman_region32_t *damage, bool y_invert, int32_t height)
{
	pixman_region32_t flipped;

	if (!y_invert)
		return;
	/*
	 * The protocol does not say whose rows the damage counts.  Taken in the
	 * buffer's rows (as the pixels, bottom-up) it must be flipped; taken in
	 * the output's (wlroots accumulates the output's own damage) it must
	 * not.  Comparing both costs at most twice the hint, where comparing
	 * everything cost the whole frame, and the refinery publishes only
	 * what differs either way.
	 */
	pixman_region32_init(&flipped);
	damage_flip_y(&flipped, damage, height);
	pixman_region32_union(damage, damage, &flipped);
	pixman_region32_fini(&flipped);
}
