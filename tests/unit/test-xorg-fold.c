/* SPDX-License-Identifier: MIT */
/*
 * The Xorg module's record fold (src/drivers/xorg/fold.c), without an X
 * server: two records fold exactly when one record says both (same type
 * and colour, no source point, a union that is a rectangle), checked
 * against a pixel-by-pixel reference on random rectangles (seeded).
 */
#include <string.h>

#include "fold.h"
#include "harness.h"

#define G 12

static struct mirage_record rec(uint32_t type, int32_t l, int32_t t, int32_t r, int32_t b)
{
	struct mirage_record x;

	memset(&x, 0, sizeof(x));
	x.type = type;
	x.rect.left = l;
	x.rect.top = t;
	x.rect.right = r;
	x.rect.bottom = b;
	return x;
}

static void test_known(void)
{
	struct mirage_record a = rec(MIRAGE_REC_BLIT, 0, 0, 10, 2);
	struct mirage_record b = rec(MIRAGE_REC_BLIT, 0, 2, 10, 4);

	/* a terminal's next line folds */
	CHECK(mx_rec_fold(&a, &b));
	CHECK(a.rect.left == 0 && a.rect.top == 0 && a.rect.right == 10 && a.rect.bottom == 4);
	/* inside: folds, a unchanged */
	b = rec(MIRAGE_REC_BLIT, 2, 1, 5, 3);
	CHECK(mx_rec_fold(&a, &b));
	CHECK(a.rect.right == 10 && a.rect.bottom == 4);
	/* an L shape does not */
	b = rec(MIRAGE_REC_BLIT, 10, 3, 12, 6);
	CHECK(!mx_rec_fold(&a, &b));
	/* other type, other colour, a source point: never */
	b = rec(MIRAGE_REC_SOLIDFILL, 0, 4, 10, 6);
	CHECK(!mx_rec_fold(&a, &b));
	b = rec(MIRAGE_REC_BLIT, 0, 4, 10, 6);
	b.color = 1;
	CHECK(!mx_rec_fold(&a, &b));
	b.color = 0;
	b.point.x = 3;
	CHECK(!mx_rec_fold(&a, &b));
	a = rec(MIRAGE_REC_SCREEN_SCREEN, 0, 0, 10, 2);
	b = rec(MIRAGE_REC_SCREEN_SCREEN, 0, 2, 10, 4);
	CHECK(!mx_rec_fold(&a, &b));
}

static void paint(bool px[G][G], const struct mirage_rect *r)
{
	for (int32_t y = r->top; y < r->bottom; y++)
		for (int32_t x = r->left; x < r->right; x++)
			px[y][x] = true;
}

static struct mirage_record random_rec(uint64_t *rng)
{
	int32_t l = (int32_t)th_rand_range(rng, G), t = (int32_t)th_rand_range(rng, G);
	int32_t r = l + 1 + (int32_t)th_rand_range(rng, (uint32_t)(G - l));
	int32_t b = t + 1 + (int32_t)th_rand_range(rng, (uint32_t)(G - t));

	return rec(MIRAGE_REC_BLIT, l, t, r, b);
}

static void test_random(void)
{
	uint64_t rng = th_seed("xorg-fold");

	for (int round = 0; round < 20000; round++) {
		struct mirage_record a = random_rec(&rng), b = random_rec(&rng), was = a;
		bool want[G][G] = { { false } }, got[G][G] = { { false } }, rect = true;
		struct mirage_rect u = { a.rect.left < b.rect.left ? a.rect.left : b.rect.left,
					 a.rect.top < b.rect.top ? a.rect.top : b.rect.top,
					 a.rect.right > b.rect.right ? a.rect.right : b.rect.right,
					 a.rect.bottom > b.rect.bottom ? a.rect.bottom : b.rect.bottom };

		paint(want, &a.rect);
		paint(want, &b.rect);
		for (int32_t y = u.top; y < u.bottom; y++)
			for (int32_t x = u.left; x < u.right; x++)
				rect = rect && want[y][x];
		CHECK_EQ(mx_rec_fold(&a, &b), rect);
		if (rect) {
			/* the folded record covers exactly both */
			paint(got, &a.rect);
			CHECK(memcmp(got, want, sizeof(got)) == 0);
		} else {
			CHECK(memcmp(&a, &was, sizeof(a)) == 0);
		}
	}
}

int main(void)
{
	th_init("xorg-fold", 60);
	RUN(test_known);
	RUN(test_random);
	return 0;
}
