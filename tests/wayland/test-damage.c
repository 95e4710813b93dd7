/* SPDX-License-Identifier: MIT */
/* Unit tests of mirage-wayland's damage in y-inverted frames (damage.c). */
#include <stdlib.h>
#include <time.h>

#include "assert.h"
#include "damage.h"

static unsigned seed;

static void check_box(pixman_region32_t *r, int i, int32_t x1, int32_t y1, int32_t x2, int32_t y2)
{
	int n;
	const pixman_box32_t *b = pixman_region32_rectangles(r, &n);

	CHECK(i < n);
	CHECK_EQ(b[i].x1, x1);
	CHECK_EQ(b[i].y1, y1);
	CHECK_EQ(b[i].x2, x2);
	CHECK_EQ(b[i].y2, y2);
}

/* The bottom rows of the buffer are the top rows of the screen, and back. */
static void test_flip_rows(void)
{
	pixman_region32_t r;

	pixman_region32_init_rect(&r, 10, 0, 20, 5);   /* buffer rows 0..4 */
	damage_flip_y(&r, &r, 100);
	CHECK_EQ(pixman_region32_n_rects(&r), 1);
	check_box(&r, 0, 10, 95, 30, 100);             /* screen rows 95..99 */
	pixman_region32_reset(&r, &(pixman_box32_t){ 0, 40, 7, 41 });
	damage_flip_y(&r, &r, 100);
	check_box(&r, 0, 0, 59, 7, 60);                /* row 40 <-> row 99 - 40 */
	pixman_region32_fini(&r);
}

/* Several boxes keep their columns; rows outside the frame are dropped. */
static void test_flip_clips(void)
{
	pixman_region32_t r, out;

	pixman_region32_init(&out);
	pixman_region32_init_rect(&r, 0, 0, 4, 2);
	pixman_region32_union_rect(&r, &r, 50, 8, 10, 10);  /* rows 8..17: 2 past a 10-row frame */
	damage_flip_y(&out, &r, 10);
	CHECK_EQ(pixman_region32_n_rects(&out), 2);
	check_box(&out, 0, 50, 0, 60, 2);
	check_box(&out, 1, 0, 8, 4, 10);
	pixman_region32_clear(&r);
	damage_flip_y(&out, &r, 10);
	CHECK(!pixman_region32_not_empty(&out));
	pixman_region32_fini(&r);
	pixman_region32_fini(&out);
}

/* Seeded: flipping twice gives back any region inside the frame. */
static void test_flip_twice(void)
{
	for (int round = 0; round < 200; round++) {
		int32_t h = 1 + rand_r(&seed) % 300;
		pixman_region32_t r, f;

		pixman_region32_init(&r);
		pixman_region32_init(&f);
		for (int i = rand_r(&seed) % 8; i > 0; i--) {
			int32_t y = rand_r(&seed) % h, x = rand_r(&seed) % 500;
			pixman_region32_union_rect(&r, &r, x, y, 1 + (unsigned)(rand_r(&seed) % 40),
						   1 + (unsigned)(rand_r(&seed) % (h - y)));
		}
		damage_flip_y(&f, &r, h);
		CHECK_EQ(pixman_region32_n_rects(&f) > 0, pixman_region32_n_rects(&r) > 0);
		damage_flip_y(&f, &f, h);
		CHECK(pixman_region32_equal(&f, &r));
		pixman_region32_fini(&r);
		pixman_region32_fini(&f);
	}
}

/* A frame in the normal orientation keeps its damage; an inverted one gets both readings. */
static void test_for_frame(void)
{
	pixman_region32_t r;

	pixman_region32_init_rect(&r, 5, 10, 20, 4);
	damage_for_frame(&r, false, 100);
	CHECK_EQ(pixman_region32_n_rects(&r), 1);
	check_box(&r, 0, 5, 10, 25, 14);
	damage_for_frame(&r, true, 100);
	CHECK_EQ(pixman_region32_n_rects(&r), 2);
	check_box(&r, 0, 5, 10, 25, 14);
	check_box(&r, 1, 5, 86, 25, 90);
	pixman_region32_fini(&r);
}

int main(void)
{
	const char *s = getenv("MIRAGE_TEST_SEED");

	seed = s ? (unsigned)strtoul(s, NULL, 0) : (unsigned)time(NULL);
	fprintf(stderr, "seed %u (MIRAGE_TEST_SEED to repeat)\n", seed);
	RUN(test_flip_rows);
	RUN(test_flip_clips);
	RUN(test_flip_twice);
	RUN(test_for_frame);
	return 0;
}
