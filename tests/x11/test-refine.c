/* SPDX-License-Identifier: MIT */
/* Unit tests of the refinery: tiles, scroll and 2-D move detection. */
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

/* A scene: a background with a window of `win`'s pixels drawn at (x, y), clipped. */
static void draw(struct refine_image *dst, const struct refine_image *bg, const struct refine_image *win,
		 int32_t x, int32_t y)
{
	uint32_t b = dst->bpp / 8;

	memcpy(dst->data, bg->data, (size_t)dst->stride * H);
	for (int32_t r = 0; r < win->height; r++) {
		int32_t x1 = x < 0 ? 0 : x, x2 = x + win->width > W ? W : x + win->width;

		if (y + r < 0 || y + r >= H || x1 >= x2)
			continue;
		memcpy(dst->data + (size_t)(y + r) * dst->stride + (size_t)x1 * b,
		       win->data + (size_t)r * win->stride + (size_t)(x1 - x) * b, (size_t)(x2 - x1) * b);
	}
}

static int32_t rnd(int32_t lo, int32_t hi)
{
	return lo + (int32_t)((unsigned)rand_r(&seed) % (unsigned)(hi - lo + 1));
}

static void fill_flat(struct refine_image *im, uint32_t rgb)
{
	for (int y = 0; y < im->height; y++)
		for (int x = 0; x < im->width; x++)
			refine_pixel_put(im->data + (size_t)y * im->stride + (size_t)x * (im->bpp / 8), im->bpp, rgb);
}

/* The pixels of a in box equal those of b in box moved by (dx, dy). */
static bool same_moved(const struct refine_image *a, const struct refine_image *b, pixman_box32_t box,
		       int32_t dx, int32_t dy)
{
	uint32_t n = a->bpp / 8;

	for (int32_t y = box.y1; y < box.y2; y++)
		if (memcmp(a->data + (size_t)y * a->stride + (size_t)box.x1 * n,
			   b->data + (size_t)(y + dy) * b->stride + (size_t)(box.x1 + dx) * n,
			   (size_t)(box.x2 - box.x1) * n))
			return false;
	return true;
}

/*
 * A window of random pixels moved by a random (mx, my), diagonal and
 * negative too, over a random or a flat background, partly off the surface
 * at times, the damage box at times cut short of it: a copy found is
 * exact (its pixels are next's, its source the old surface's) and inside
 * the box; after the copy and the tiles the box equals next and the rest
 * is untouched.  Where the window's part that both frames show fills most
 * of the box, the move must be found, by the right offset, covering it.
 */
static void test_moves(void)
{
	int found = 0, expected = 0;

	for (int trial = 0; trial < 200; trial++) {
		uint32_t bpp = (uint32_t[]){ 16, 24, 32 }[trial % 3];
		bool flat = trial % 2, cut = trial % 5 == 4;
		struct refine_image s = image(bpp), n = image(bpp), old = image(bpp), bg = image(bpp);
		struct refine_image win = image(bpp);
		struct refine_stats st = { 0 };
		struct seen seen = { 0 };
		int32_t ww = rnd(72, 150), wh = rnd(48, 110), mx, my, x0, y0, x1, y1;
		pixman_box32_t box, both;
		pixman_region32_t damage, changed, outside;
		int copies;

		win.width = ww;
		win.height = wh;
		fill_random(&win);
		if (flat)
			fill_flat(&bg, (uint32_t)rand_r(&seed) & 0xffffff);
		else
			fill_random(&bg);
		do {
			mx = rnd(-24, 24);
			my = rnd(-24, 24);
		} while (mx == 0 || my == 0);
		x0 = rnd(-30, W - ww + 30);
		y0 = rnd(-20, H - wh + 20);
		x1 = x0 + mx;
		y1 = y0 + my;
		draw(&s, &bg, &win, x0, y0);
		draw(&n, &bg, &win, x1, y1);
		memcpy(old.data, s.data, (size_t)s.stride * H);

		/* The damage: what either frame's window covers, on the surface. */
		box = (pixman_box32_t){ x0 < x1 ? x0 : x1, y0 < y1 ? y0 : y1,
					(x0 > x1 ? x0 : x1) + ww, (y0 > y1 ? y0 : y1) + wh };
		if (box.x1 < 0) box.x1 = 0;
		if (box.y1 < 0) box.y1 = 0;
		if (box.x2 > W) box.x2 = W;
		if (box.y2 > H) box.y2 = H;
		if (cut)
			box.x2 -= (box.x2 - box.x1) / 4;
		/* The moved window inside the box, where the old surface shows its source. */
		both = (pixman_box32_t){ x1, y1, x1 + ww, y1 + wh };
		if (both.x1 < mx) both.x1 = mx;
		if (both.y1 < my) both.y1 = my;
		if (both.x2 > W + mx) both.x2 = W + mx;
		if (both.y2 > H + my) both.y2 = H + my;
		if (both.x1 < box.x1) both.x1 = box.x1;
		if (both.y1 < box.y1) both.y1 = box.y1;
		if (both.x2 > box.x2) both.x2 = box.x2;
		if (both.y2 > box.y2) both.y2 = box.y2;

		pixman_region32_init_rect(&damage, box.x1, box.y1, (unsigned)(box.x2 - box.x1),
					  (unsigned)(box.y2 - box.y1));
		pixman_region32_init(&changed);
		copies = refine_moves(&s, &n, &damage, &box, 1, &st, on_copy, &seen);
		CHECK_EQ(copies, seen.n);
		CHECK(copies <= 1);
		if (copies) {
			int32_t dx = seen.sx - seen.dst.x1, dy = seen.sy - seen.dst.y1;

			/* exact: next's pixels, taken from where the old surface held them */
			CHECK(seen.dst.x1 >= box.x1 && seen.dst.x2 <= box.x2);
			CHECK(seen.dst.y1 >= box.y1 && seen.dst.y2 <= box.y2);
			CHECK(same_moved(&n, &old, seen.dst, dx, dy));
			CHECK(same_moved(&s, &n, seen.dst, 0, 0));
		}
		if (both.x2 - both.x1 >= 72 && (both.y2 - both.y1) * 2 >= box.y2 - box.y1) {
			expected++;
			if (copies && seen.sx - seen.dst.x1 == -mx && seen.sy - seen.dst.y1 == -my &&
			    seen.dst.x1 <= both.x1 && seen.dst.x2 >= both.x2 && seen.dst.y1 <= both.y1 &&
			    seen.dst.y2 >= both.y2)
				found++;
			else
				fprintf(stderr, "trial %d: bpp %u %s%s window %dx%d at %d,%d moved %d,%d: %s\n",
					trial, bpp, flat ? "flat" : "random", cut ? " cut" : "", ww, wh, x0, y0,
					mx, my, copies ? "copy short of the window" : "not found");
		}
		refine_tiles(&s, &n, &damage, 16, &changed, &st);
		CHECK(same_moved(&s, &n, box, 0, 0));
		/* outside the box nothing was touched */
		pixman_region32_init_rect(&outside, 0, 0, W, H);
		pixman_region32_subtract(&outside, &outside, &damage);
		for (int i = 0, nb; i < (pixman_region32_rectangles(&outside, &nb), nb); i++)
			CHECK(same_moved(&s, &old, pixman_region32_rectangles(&outside, NULL)[i], 0, 0));
		pixman_region32_fini(&outside);
		pixman_region32_fini(&damage);
		pixman_region32_fini(&changed);
		free(s.data);
		free(n.data);
		free(old.data);
		free(bg.data);
		free(win.data);
	}
	fprintf(stderr, "moves: %d of %d found whole\n", found, expected);
	CHECK(expected >= 50);
	CHECK_EQ(found, expected);
}

/*
 * Decoys: the surface holds a window's pixels but with every seventh row
 * different, so that row segments match everywhere but no eight rows in a
 * row do.  Alone, the decoy is a candidate that fails verification and is
 * never applied (the surface is untouched); beside the true old window,
 * the true move is the one applied.
 */
static void test_decoy(void)
{
	struct refine_image s = image(32), n = image(32), old = image(32), win = image(32);
	struct refine_stats st = { 0 };
	struct seen seen = { 0 };
	pixman_box32_t box = { 0, 0, W, H };
	pixman_region32_t damage;

	win.width = 96;
	win.height = 64;
	fill_random(&win);
	fill_random(&s);
	memcpy(n.data, s.data, (size_t)s.stride * H);
	draw(&n, &n, &win, 60, 90);
	draw(&s, &s, &win, 0, 0);
	for (int r = 0; r < 64; r += 7)
		memset(s.data + (size_t)r * s.stride, 0x5a, 96 * 4);
	memcpy(old.data, s.data, (size_t)s.stride * H);
	pixman_region32_init_rect(&damage, 0, 0, W, H);
	CHECK_EQ(refine_moves(&s, &n, &damage, &box, 1, &st, on_copy, &seen), 0);
	CHECK_EQ(seen.n, 0);
	CHECK(st.copy_candidates >= 1);
	CHECK_EQ(st.copy_rejected, st.copy_candidates);
	CHECK(same_moved(&s, &old, box, 0, 0));

	/* The true old window beside the decoy: the move by (-40, +88) is the one applied. */
	draw(&s, &s, &win, 100, 2);
	memcpy(old.data, s.data, (size_t)s.stride * H);
	CHECK_EQ(refine_moves(&s, &n, &damage, &box, 1, &st, on_copy, &seen), 1);
	CHECK_EQ(seen.sx - seen.dst.x1, 40);
	CHECK_EQ(seen.sy - seen.dst.y1, -88);
	CHECK(seen.dst.x1 <= 60 && seen.dst.x2 >= 156 && seen.dst.y1 <= 90 && seen.dst.y2 >= 154);
	CHECK(same_moved(&n, &old, seen.dst, 40, -88));
	pixman_region32_fini(&damage);
	free(s.data);
	free(n.data);
	free(old.data);
	free(win.data);
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
	RUN(test_moves);
	RUN(test_decoy);
	test_scroll(32, 13);
	test_scroll(32, -7);
	test_scroll(16, 1);
	test_scroll(24, 40);
	fprintf(stderr, "ok\n");
	return 0;
}
