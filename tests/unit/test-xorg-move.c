/* SPDX-License-Identifier: MIT */
/*
 * The Xorg module's replay of a copy on the surface
 * (src/drivers/xorg/move.c), without an X server: random regions (banded
 * as the server's are) moved by random offsets in every direction, partly
 * off the surface, each compared with a reference that reads every
 * source pixel from a copy taken before the move (seeded).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "move.h"

#define W 61
#define H 47

static uint32_t px(const uint8_t *p, uint32_t stride, uint32_t bpp, int32_t x, int32_t y)
{
	const uint8_t *q = p + (size_t)y * stride + (size_t)x * (bpp / 8);
	uint32_t v = 0;

	memcpy(&v, q, bpp / 8);
	return v;
}

/* Fills the surface with values unique to each pixel (within bpp). */
static void fill(uint8_t *p, uint32_t stride, uint32_t bpp, uint64_t *rng)
{
	uint32_t salt = (uint32_t)th_rand(rng);

	for (int32_t y = 0; y < H; y++)
		for (int32_t x = 0; x < W; x++) {
			uint32_t v = (uint32_t)(y * W + x) ^ salt;

			memcpy(p + (size_t)y * stride + (size_t)x * (bpp / 8), &v, bpp / 8);
		}
}

static void test_random(void)
{
	static const uint32_t bpps[] = { 16, 24, 32 };
	uint64_t rng = th_seed("xorg-move");

	for (int iter = 0; iter < 3000; iter++) {
		uint32_t bpp = bpps[th_rand_range(&rng, 3)];
		uint32_t stride = W * (bpp / 8) + 4 * th_rand_range(&rng, 3);
		uint8_t *surf = calloc(H, stride), *before = malloc((size_t)H * stride);
		struct mx_move_surface s = { surf, stride, bpp, W, H };
		pixman_region16_t region;
		int32_t dx = (int32_t)th_rand_range(&rng, 41) - 20, dy = (int32_t)th_rand_range(&rng, 41) - 20;
		int nrects = 1 + (int)th_rand_range(&rng, 6);
		const pixman_box16_t *boxes;
		int n;

		CHECK(surf && before);
		fill(surf, stride, bpp, &rng);
		memcpy(before, surf, (size_t)H * stride);
		/* A destination that may stick out of the surface on any side,
		 * made of overlapping rectangles so the region has several
		 * boxes in a band, as a window with another on top does. */
		pixman_region_init(&region);
		for (int k = 0; k < nrects; k++) {
			int x = (int)th_rand_range(&rng, W + 10) - 5, y = (int)th_rand_range(&rng, H + 10) - 5;
			int w = 1 + (int)th_rand_range(&rng, W / 2), h = 1 + (int)th_rand_range(&rng, H / 2);

			pixman_region_union_rect(&region, &region, x, y, (unsigned)w, (unsigned)h);
		}
		boxes = pixman_region_rectangles(&region, &n);
		(void)mx_move_boxes(&s, boxes, (uint32_t)n, dx, dy);

		for (int32_t y = 0; y < H; y++)
			for (int32_t x = 0; x < W; x++) {
				int32_t sx = x - dx, sy = y - dy;
				bool in = pixman_region_contains_point(&region, x, y, NULL) &&
					  sx >= 0 && sy >= 0 && sx < W && sy < H;
				uint32_t want = in ? px(before, stride, bpp, sx, sy) : px(before, stride, bpp, x, y);

				if (px(surf, stride, bpp, x, y) != want) {
					fprintf(stderr, "iteration %d (bpp %u, %d boxes, dx %d dy %d): pixel %d,%d\n",
						iter, bpp, n, dx, dy, x, y);
					CHECK(px(surf, stride, bpp, x, y) == want);
				}
			}
		pixman_region_fini(&region);
		free(surf);
		free(before);
	}
}

int main(void)
{
	th_init("xorg-move", 60);
	RUN(test_random);
	return 0;
}
