/* SPDX-License-Identifier: MIT */
/*
 * compose (src/common): a cursor drawn then restored gives the surface back
 * byte for byte at bpp 16, 24 and 32 wherever it lies, clipped at every
 * edge; the blend gives known results; nothing outside the clipped box is
 * touched.
 */
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "harness.h"

#define W 41
#define H 23

static void test_known_blend(void)
{
	/* opaque replaces, transparent-black keeps, 50% white over black
	 * and premultiplied 50% red over blue */
	CHECK_EQ(compose_over(0xff123456u, 0xabcdefu), 0x123456u);
	CHECK_EQ(compose_over(0x00000000u, 0xabcdefu), 0xabcdefu);
	CHECK_EQ(compose_over(0x80808080u, 0x000000u), 0x808080u);
	/* blue 0xff * 127 / 255 = 127.0 -> 127; red 0x80 + 0 */
	CHECK_EQ(compose_over(0x80800000u, 0x0000ffu), 0x80007fu);
	/* an additive (alpha 0, colour) pixel saturates */
	CHECK_EQ(compose_over(0x00808080u, 0xc0c0c0u), 0xffffffu);
}

static void test_known_surface(void)
{
	/* one 2x1 cursor at 16 bpp: the pixel under the opaque half becomes
	 * pure green (0x07e0), the transparent half stays */
	uint16_t px[4] = { 0x1234, 0x5678, 0x9abc, 0xdef0 };
	uint32_t argb[2] = { 0xff00ff00u, 0 };
	uint8_t save[4];
	struct compose_surface s = { (uint8_t *)px, sizeof(px), 16, 4, 1 };
	struct compose_cursor c = { argb, 2, 1, 1, 0 };
	struct compose_box b;

	CHECK(compose_clip(&c, &s, &b));
	CHECK_EQ(b.x1, 1);
	CHECK_EQ(b.x2, 3);
	CHECK_EQ(compose_save_size(&s, &b), 4u);
	compose_draw(&s, &c, &b, save);
	CHECK_EQ(px[0], 0x1234);
	CHECK_EQ(px[1], 0x07e0);
	CHECK_EQ(px[2], 0x9abc);
	CHECK_EQ(px[3], 0xdef0);
	compose_restore(&s, &b, save);
	CHECK_EQ(px[1], 0x5678);
}

static void test_clip_edges(void)
{
	struct compose_surface s = { NULL, W * 4, 32, W, H };
	struct compose_cursor c = { NULL, 8, 6, -3, -2 };
	struct compose_box b;

	CHECK(compose_clip(&c, &s, &b));
	CHECK(b.x1 == 0 && b.y1 == 0 && b.x2 == 5 && b.y2 == 4);
	c.x = W - 2;
	c.y = H - 1;
	CHECK(compose_clip(&c, &s, &b));
	CHECK(b.x1 == W - 2 && b.y1 == H - 1 && b.x2 == W && b.y2 == H);
	c.x = W;
	CHECK(!compose_clip(&c, &s, &b));
	c.x = -8;
	c.y = 0;
	CHECK(!compose_clip(&c, &s, &b));
	c.x = 0;
	c.y = -6;
	CHECK(!compose_clip(&c, &s, &b));
	c.y = H;
	CHECK(!compose_clip(&c, &s, &b));
}

/* Random cursors anywhere, partly off every edge, over random pixels. */
static void test_round_trip(void)
{
	static const uint32_t bpps[] = { 16, 24, 32 };
	uint64_t rng = th_seed("compose");

	for (int round = 0; round < 3000; round++) {
		uint32_t bpp = bpps[round % ARRAY_LEN(bpps)];
		size_t stride = (size_t)W * (bpp / 8) + th_rand_range(&rng, 7);
		uint32_t cw = 1 + th_rand_range(&rng, 20), ch = 1 + th_rand_range(&rng, 20);
		uint8_t *px = malloc(stride * H), *was = malloc(stride * H);
		uint32_t *argb = malloc(cw * ch * sizeof(*argb));
		uint8_t *save = malloc((size_t)cw * ch * 4);
		struct compose_surface s = { px, stride, bpp, W, H };
		struct compose_cursor c = { argb, cw, ch,
					    (int32_t)th_rand_range(&rng, W + 2 * cw) - (int32_t)cw,
					    (int32_t)th_rand_range(&rng, H + 2 * ch) - (int32_t)ch };
		struct compose_box b;

		CHECK(px && was && argb && save);
		for (size_t i = 0; i < stride * H; i++)
			px[i] = (uint8_t)th_rand(&rng);
		for (uint32_t i = 0; i < cw * ch; i++) {
			/* premultiplied: no channel above alpha, some fully clear */
			uint32_t a = th_rand_range(&rng, 3) == 0 ? 0 : th_rand_range(&rng, 256);
			uint32_t v = a << 24;

			for (int sh = 0; sh <= 16; sh += 8)
				v |= th_rand_range(&rng, a + 1) << sh;
			argb[i] = v;
		}
		memcpy(was, px, stride * H);
		if (compose_clip(&c, &s, &b)) {
			CHECK(b.x1 >= 0 && b.y1 >= 0 && b.x2 <= W && b.y2 <= H);
			CHECK(compose_save_size(&s, &b) <= (size_t)cw * ch * 4);
			compose_draw(&s, &c, &b, save);
			/* outside the box nothing changed */
			for (int32_t y = 0; y < H; y++)
				for (size_t x = 0; x < stride; x++) {
					size_t o = (size_t)y * stride + x;
					bool in = y >= b.y1 && y < b.y2 &&
						  x >= (size_t)b.x1 * (bpp / 8) &&
						  x < (size_t)b.x2 * (bpp / 8);

					if (!in)
						CHECK(px[o] == was[o]);
				}
			compose_restore(&s, &b, save);
		}
		CHECK(memcmp(px, was, stride * H) == 0);
		free(px);
		free(was);
		free(argb);
		free(save);
	}
}

int main(void)
{
	th_init("compose", 60);
	RUN(test_known_blend);
	RUN(test_known_surface);
	RUN(test_clip_edges);
	RUN(test_round_trip);
	return 0;
}
