/* SPDX-License-Identifier: MIT */
/* Unit tests of mirage-x11's refinery: tiles, scroll and move detection. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assert.h"
#include "mirage-x11.h"

#define W 200
#define H 160

static unsigned seed;

static struct refine_image image(uint32_t bpp)
{
	struct refine_image im = { .bpp = bpp, .width = W, .height = H };

	im.stride = (W * (bpp / 8) + 3) & ~3u;
	im.data = calloc((size_t)im.stride * H, 1);
	CHECK(im.data);
	return im;
}

static void fill_random(struct refine_image *im)
{
	for (size_t i = 0; i < (size_t)im->stride * H; i++)
		im->data[i] = (uint8_t)rand_r(&seed);
	if (im->bpp == 32)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				im->data[(size_t)y * im->stride + (size_t)x * 4 + 3] = 0;
}

static bool same(const struct refine_image *a, const struct refine_image *b)
{
	for (int y = 0; y < H; y++)
		if (memcmp(a->data + (size_t)y * a->stride, b->data + (size_t)y * b->stride, (size_t)W * (a->bpp / 8)))
			return false;
	return true;
}

struct seen {
	int n;
	pixman_box32_t dst;
	int32_t sx, sy;
};

static void on_copy(void *data, const pixman_box32_t *dst, int32_t sx, int32_t sy)
{
	struct seen *s = data;

	s->n++;
	s->dst = *dst;
	s->sx = sx;
	s->sy = sy;
}

/* A scroll by dy inside a box: found, verified, and the result exact. */
static void test_scroll(uint32_t bpp, int dy)
{
	struct refine_image s = image(bpp), n = image(bpp);
	struct refine_stats st = { 0 };
	struct seen seen = { 0 };
	pixman_region32_t damage, changed;
	size_t bytes = (size_t)(W - 20) * (bpp / 8);

	fill_random(&s);
	memcpy(n.data, s.data, (size_t)s.stride * H);
	/* rows 10..150 of columns 10..190 scroll by dy; the uncovered rows are new */
	for (int y = 10; y < 150; y++) {
		int from = y + dy;
		uint8_t *d = n.data + (size_t)y * n.stride + 10 * (bpp / 8);
		if (from >= 10 && from < 150)
			memcpy(d, s.data + (size_t)from * s.stride + 10 * (bpp / 8), bytes);
		else
			for (size_t i = 0; i < bytes; i++)
				d[i] = (uint8_t)rand_r(&seed) & (bpp == 32 && i % 4 == 3 ? 0 : 0xff);
	}
	pixman_region32_init_rect(&damage, 10, 10, W - 20, 140);
	pixman_region32_init(&changed);
	CHECK_EQ(refine_scrolls(&s, &n, &damage, pixman_region32_rectangles(&damage, NULL), 1, &st, on_copy, &seen), 1);
	CHECK_EQ(seen.sy - seen.dst.y1, dy);
	CHECK_EQ(seen.sx, seen.dst.x1);
	refine_tiles(&s, &n, &damage, 32, &changed, &st);
	CHECK(same(&s, &n));
	/* only the newly exposed rows needed a BLIT */
	CHECK(pixman_region32_extents(&changed)->y2 - pixman_region32_extents(&changed)->y1 <= abs(dy) + 32);
	pixman_region32_fini(&damage);
	pixman_region32_fini(&changed);
	free(s.data);
	free(n.data);
}

/* A candidate whose pixels do not match is never applied. */
static void test_false_copy(void)
{
	struct refine_image s = image(32), n = image(32);
	struct refine_stats st = { 0 };
	struct seen seen = { 0 };
	pixman_region32_t valid;
	pixman_box32_t dst = { 50, 50, 100, 100 };

	fill_random(&s);
	fill_random(&n);
	pixman_region32_init_rect(&valid, 0, 0, W, H);
	CHECK(!refine_copy(&s, &n, &valid, dst, 10, 0, 4, &st, on_copy, &seen));
	CHECK_EQ(seen.n, 0);
	CHECK_EQ(st.copy_rejected, 1);
	/* a window moved right by 10: its old pixels are at dst - 10 */
	for (int y = 50; y < 100; y++)
		memcpy(n.data + (size_t)y * n.stride + 50 * 4, s.data + (size_t)y * s.stride + 40 * 4, 50 * 4);
	CHECK(refine_copy(&s, &n, &valid, dst, -10, 0, 4, &st, on_copy, &seen));
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(seen.sx, 40);
	CHECK_EQ(seen.sy, 50);
	for (int y = 50; y < 100; y++)
		CHECK(memcmp(n.data + (size_t)y * n.stride + 200, s.data + (size_t)y * s.stride + 200, 200) == 0);
	/* rows outside `valid` (not grabbed) are never trusted */
	pixman_region32_fini(&valid);
	pixman_region32_init_rect(&valid, 0, 0, W, 60);
	fill_random(&s);
	CHECK(!refine_copy(&s, &n, &valid, dst, -10, 0, 20, &st, on_copy, &seen));
	pixman_region32_fini(&valid);
	free(s.data);
	free(n.data);
}

static void test_tiles(void)
{
	struct refine_image s = image(16), n = image(16);
	struct refine_stats st = { 0 };
	pixman_region32_t damage, changed;

	fill_random(&s);
	memcpy(n.data, s.data, (size_t)s.stride * H);
	n.data[(size_t)70 * n.stride + 2 * 70] ^= 0xff; /* pixel (70, 70) */
	pixman_region32_init_rect(&damage, 0, 0, W, H);
	pixman_region32_init(&changed);
	refine_tiles(&s, &n, &damage, 32, &changed, &st);
	CHECK(same(&s, &n));
	CHECK_EQ(pixman_region32_n_rects(&changed), 1);
	CHECK_EQ(pixman_region32_extents(&changed)->x1, 64);
	CHECK_EQ(pixman_region32_extents(&changed)->y1, 70);
	CHECK_EQ(pixman_region32_extents(&changed)->y2, 71);
	CHECK_EQ(st.compared_pixels, W * H);
	pixman_region32_fini(&damage);
	pixman_region32_fini(&changed);
	free(s.data);
	free(n.data);
}

static void test_convert(void)
{
	const uint32_t m565[3] = { 0xf800, 0x07e0, 0x001f }, m888[3] = { 0xff0000, 0xff00, 0xff };
	uint16_t src = 0xffff;
	uint32_t out, in = 0xff123456;
	uint8_t b24[3];

	refine_convert_row((uint8_t *)&out, 32, (const uint8_t *)&src, 16, m565, 1);
	CHECK_EQ(out, 0xffffff);
	refine_convert_row((uint8_t *)&out, 32, (const uint8_t *)&in, 32, m888, 1);
	CHECK_EQ(out, 0x123456);
	refine_convert_row(b24, 24, (const uint8_t *)&in, 32, m888, 1);
	CHECK(b24[0] == 0x56 && b24[1] == 0x34 && b24[2] == 0x12);
	CHECK_EQ(refine_pixel_get(b24, 24), 0x123456);
}

int main(void)
{
	seed = getenv("SEED") ? (unsigned)atoi(getenv("SEED")) : (unsigned)time(NULL);
	fprintf(stderr, "seed %u\n", seed);
	RUN(test_convert);
	RUN(test_tiles);
	RUN(test_false_copy);
	test_scroll(32, 13);
	test_scroll(32, -7);
	test_scroll(16, 1);
	test_scroll(24, 40);
	fprintf(stderr, "ok\n");
	return 0;
}
