/* SPDX-License-Identifier: MIT */
/* One copy replayed on the surface (move.h): pure, unit-tested. */
#include "move.h"
#include "shared.h"

uint64_t mx_move_boxes(const struct mx_move_surface *s, const pixman_box16_t *boxes, uint32_t n,
		       int32_t dx, int32_t dy)
{
	uint32_t px = s->bpp / 8, done = 0;
	uint64_t moved = 0;
	int32_t i, step;

	/*
	 * Moving down, a band's source lies above it: walk the bands bottom to
	 * top (and top to bottom moving up).  Inside a band, moving right,
	 * right to left.  copy_within() handles the overlap inside one box.
	 */
	if (dy > 0 || (dy == 0 && dx > 0)) {
		i = (int32_t)n - 1;
		step = -1;
	} else {
		i = 0;
		step = 1;
	}
	while (done < n) {
		int32_t band_y = boxes[i].y1, first = i, last = i;

		while (first - 1 >= 0 && boxes[first - 1].y1 == band_y)
			first--;
		while (last + 1 < (int32_t)n && boxes[last + 1].y1 == band_y)
			last++;
		for (int32_t k = 0; k <= last - first; k++) {
			const pixman_box16_t *b = &boxes[dx > 0 ? last - k : first + k];
			int32_t x1 = b->x1, y1 = b->y1, x2 = b->x2, y2 = b->y2;
			int32_t sx1 = x1 - dx, sy1 = y1 - dy;

			/* Destination and source clipped to the surface. */
			if (x1 < 0) { sx1 -= x1; x1 = 0; }
			if (y1 < 0) { sy1 -= y1; y1 = 0; }
			if (sx1 < 0) { x1 -= sx1; sx1 = 0; }
			if (sy1 < 0) { y1 -= sy1; sy1 = 0; }
			if (x2 > s->width) x2 = s->width;
			if (y2 > s->height) y2 = s->height;
			if (x2 - x1 > s->width - sx1) x2 = x1 + s->width - sx1;
			if (y2 - y1 > s->height - sy1) y2 = y1 + s->height - sy1;
			if (x2 <= x1 || y2 <= y1)
				continue;
			copy_within(s->pixels, s->stride, px, x1, y1, x2 - x1, y2 - y1, sx1, sy1);
			moved += (uint64_t)(x2 - x1) * px * (uint64_t)(y2 - y1);
		}
		done += (uint32_t)(last - first + 1);
		i = step > 0 ? last + 1 : first - 1;
	}
	return moved;
}
