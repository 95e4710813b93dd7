/* SPDX-License-Identifier: MIT */
/*
 * copy_within (src/common): random overlapping rectangles in every
 * direction and pixel size give what a copy through a second buffer gives.
 */
#include <stdlib.h>
#include <string.h>

#include "shared.h"
#include "harness.h"

#define W 37
#define H 29

static void reference(uint8_t *pixels, size_t stride, unsigned bytes, int32_t x, int32_t y,
		      int32_t w, int32_t h, int32_t sx, int32_t sy)
{
	uint8_t *tmp = malloc((size_t)w * h * bytes);

	CHECK(tmp != NULL);
	for (int32_t r = 0; r < h; r++)
		memcpy(tmp + (size_t)r * w * bytes,
		       pixels + (size_t)(sy + r) * stride + (size_t)sx * bytes, (size_t)w * bytes);
	for (int32_t r = 0; r < h; r++)
		memcpy(pixels + (size_t)(y + r) * stride + (size_t)x * bytes,
		       tmp + (size_t)r * w * bytes, (size_t)w * bytes);
	free(tmp);
}

static void test_random(void)
{
	static const unsigned sizes[] = { 1, 2, 3, 4 };
	uint64_t rng = th_seed("copy_within");

	for (int round = 0; round < 4000; round++) {
		unsigned bytes = sizes[round % ARRAY_LEN(sizes)];
		size_t stride = (size_t)W * bytes + th_rand_range(&rng, 5);
		uint8_t *a = malloc(stride * H), *b = malloc(stride * H);
		int32_t w = 1 + (int32_t)th_rand_range(&rng, W), h = 1 + (int32_t)th_rand_range(&rng, H);
		int32_t x = (int32_t)th_rand_range(&rng, (uint32_t)(W - w + 1));
		int32_t y = (int32_t)th_rand_range(&rng, (uint32_t)(H - h + 1));
		int32_t sx = (int32_t)th_rand_range(&rng, (uint32_t)(W - w + 1));
		int32_t sy = (int32_t)th_rand_range(&rng, (uint32_t)(H - h + 1));

		CHECK(a != NULL && b != NULL);
		for (size_t i = 0; i < stride * H; i++)
			a[i] = (uint8_t)th_rand(&rng);
		memcpy(b, a, stride * H);
		copy_within(a, stride, bytes, x, y, w, h, sx, sy);
		reference(b, stride, bytes, x, y, w, h, sx, sy);
		CHECK(memcmp(a, b, stride * H) == 0);
		free(a);
		free(b);
	}
}

static void test_empty(void)
{
	uint8_t px[16] = { 1, 2, 3, 4 }, was[16];

	memcpy(was, px, sizeof(px));
	copy_within(px, 4, 4, 0, 0, 0, 1, 1, 0);
	copy_within(px, 4, 4, 0, 0, 1, 0, 0, 1);
	CHECK(memcmp(px, was, sizeof(px)) == 0);
}

int main(void)
{
	th_init("copy", 60);
	RUN(test_random);
	RUN(test_empty);
	return 0;
}
