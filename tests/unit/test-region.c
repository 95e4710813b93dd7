/* SPDX-License-Identifier: MIT */
/*
 * Regions and pixels: what a record adds to a region, and copy_region
 * copying exactly the region's pixels (clipped), nothing else, at 16, 24
 * and 32 bpp with a destination stride unlike the surface's.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"

static struct th_server srv;

static void start(const char *name, int32_t w, int32_t h, uint32_t bpp, int32_t backing)
{
	struct mirage_driver_config cfg;

	th_config(&cfg, name, w, h);
	cfg.native_bpp = bpp;
	cfg.settings.bootup = 1;
	cfg.settings.backing_mode = backing;
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
}

static void test_region_add(void)
{
	struct mirage_client *c = NULL;
	pixman_region32_t reg;
	struct mirage_record rec;
	pixman_box32_t ext;

	start("regadd", 100, 80, 32, 3);
	CHECK_EQ(mirage_client_connect(&c, "regadd"), 0);
	pixman_region32_init(&reg);
	memset(&rec, 0, sizeof(rec));

	rec.type = MIRAGE_REC_BLIT;
	rec.rect = (struct mirage_rect){ 10, 10, 20, 30 };
	CHECK(mirage_client_region_add(c, &reg, &rec));
	rec.type = MIRAGE_REC_SCREEN_SCREEN;
	rec.rect = (struct mirage_rect){ 90, 70, 150, 150 }; /* clipped to 100x80 */
	CHECK(mirage_client_region_add(c, &reg, &rec));
	CHECK_EQ(pixman_region32_n_rects(&reg), 2);
	ext = *pixman_region32_extents(&reg);
	CHECK_EQ(ext.x1, 10);
	CHECK_EQ(ext.y1, 10);
	CHECK_EQ(ext.x2, 100);
	CHECK_EQ(ext.y2, 80);

	/* Cursor and status records change no pixels. */
	{
		static const uint32_t none[] = {
			MIRAGE_REC_PTR_SHAPE, MIRAGE_REC_PTR_ENGAGE, MIRAGE_REC_PTR_AVERT,
			MIRAGE_REC_ASSERT_ON, MIRAGE_REC_ASSERT_OFF,
		};

		for (size_t i = 0; i < ARRAY_LEN(none); i++) {
			rec.type = none[i];
			rec.rect = (struct mirage_rect){ 0, 0, 50, 50 };
			CHECK(!mirage_client_region_add(c, &reg, &rec));
		}
	}
	/* Outside and empty rects add nothing. */
	rec.type = MIRAGE_REC_BLIT;
	rec.rect = (struct mirage_rect){ 200, 200, 300, 300 };
	CHECK(!mirage_client_region_add(c, &reg, &rec));
	rec.rect = (struct mirage_rect){ 5, 5, 5, 50 };
	CHECK(!mirage_client_region_add(c, &reg, &rec));
	rec.rect = (struct mirage_rect){ 50, 50, 40, 40 };
	CHECK(!mirage_client_region_add(c, &reg, &rec));
	CHECK_EQ(pixman_region32_n_rects(&reg), 2);

	mirage_client_region_full(c, &reg);
	ext = *pixman_region32_extents(&reg);
	CHECK_EQ(pixman_region32_n_rects(&reg), 1);
	CHECK(ext.x1 == 0 && ext.y1 == 0 && ext.x2 == 100 && ext.y2 == 80);

	pixman_region32_fini(&reg);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

/* Fills the surface (visible and shadow lines) with a position-derived pattern. */
static void fill(uint8_t *px, uint32_t stride, uint32_t lines)
{
	for (uint32_t y = 0; y < lines; y++)
		for (uint32_t x = 0; x < stride; x++)
			px[(size_t)y * stride + x] = (uint8_t)(x * 31 + y * 17 + (x >> 8));
}

static void copy_region_bpp(uint32_t bpp, uint64_t *rng)
{
	const int32_t w = 301, h = 203;
	struct mirage_client *c = NULL;
	const struct mirage_surface_header *s;
	const uint8_t *src;
	uint8_t *dst;
	uint32_t bytes = bpp / 8, dst_stride;
	pixman_region32_t reg;
	char name[16];

	snprintf(name, sizeof(name), "copy%u", bpp);
	start(name, w, h, bpp, 3);
	th_server_lock(&srv);
	fill(mirage_driver_pixels(srv.drv), mirage_driver_surface(srv.drv)->stride,
	     (uint32_t)h + mirage_driver_surface(srv.drv)->shadow_lines);
	th_server_unlock(&srv);

	CHECK_EQ(mirage_client_connect(&c, name), 0);
	s = mirage_client_surface(c);
	src = mirage_client_pixels(c);
	CHECK_EQ(s->bpp, bpp);
	dst_stride = s->stride + 52; /* unlike the source's */
	dst = malloc((size_t)dst_stride * (size_t)h);
	CHECK(dst != NULL);

	for (int round = 0; round < 40; round++) {
		unsigned n = 1 + th_rand_range(rng, 12);
		int64_t want = 0, got;
		pixman_box32_t *boxes;
		int nboxes;

		pixman_region32_init(&reg);
		for (unsigned i = 0; i < n; i++) {
			/* Some rects stick out of the surface: the copy clips them. */
			int32_t x = (int32_t)th_rand_range(rng, (uint32_t)w + 40) - 20;
			int32_t y = (int32_t)th_rand_range(rng, (uint32_t)h + 40) - 20;

			pixman_region32_union_rect(&reg, &reg, x, y, 1 + th_rand_range(rng, 120),
						   1 + th_rand_range(rng, 90));
		}
		if (round == 0)
			mirage_client_region_full(c, &reg);
		memset(dst, 0xa5, (size_t)dst_stride * (size_t)h);
		got = mirage_client_copy_region(c, &reg, dst, dst_stride);

		/* Every pixel inside (and on the surface) equals the source; every byte outside is untouched. */
		pixman_region32_intersect_rect(&reg, &reg, 0, 0, (unsigned)w, (unsigned)h);
		boxes = pixman_region32_rectangles(&reg, &nboxes);
		for (int i = 0; i < nboxes; i++)
			want += (int64_t)(boxes[i].x2 - boxes[i].x1) * (boxes[i].y2 - boxes[i].y1) * bytes;
		CHECK_EQ(got, want);
		for (int32_t y = 0; y < h; y++) {
			const uint8_t *srow = src + (size_t)y * s->stride;
			const uint8_t *drow = dst + (size_t)y * dst_stride;

			for (uint32_t b = 0; b < dst_stride; b++) {
				int32_t x = (int32_t)(b / bytes);
				bool in = b < (uint32_t)w * bytes &&
					  pixman_region32_contains_point(&reg, x, y, NULL);

				if (in && drow[b] != srow[b]) {
					fprintf(stderr, "%u bpp: byte %u of line %d not copied\n", bpp, b, y);
					CHECK(!"pixel not copied");
				}
				if (!in && drow[b] != 0xa5) {
					fprintf(stderr, "%u bpp: byte %u of line %d written outside the region\n",
						bpp, b, y);
					CHECK(!"byte outside the region written");
				}
			}
		}
		pixman_region32_fini(&reg);
	}
	/* An empty region copies nothing. */
	pixman_region32_init(&reg);
	CHECK_EQ(mirage_client_copy_region(c, &reg, dst, dst_stride), 0);
	pixman_region32_fini(&reg);

	free(dst);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void test_copy_region(void)
{
	uint64_t seed = th_seed("copy_region"), rng = seed;

	copy_region_bpp(32, &rng);
	copy_region_bpp(24, &rng);
	copy_region_bpp(16, &rng);
}

static void test_copy_no_surface(void)
{
	struct mirage_client *c = NULL;
	pixman_region32_t reg;
	uint8_t dst[64];

	start("nosurf", 16, 4, 32, 0);
	CHECK_EQ(mirage_client_connect(&c, "nosurf"), 0);
	CHECK(mirage_client_pixels(c) == NULL);
	CHECK_EQ(mirage_client_surface(c)->bpp, 0);
	CHECK_EQ(mirage_client_surface(c)->width, 16);
	pixman_region32_init_rect(&reg, 0, 0, 4, 4);
	CHECK_EQ(mirage_client_copy_region(c, &reg, dst, 64), -ENODATA);
	pixman_region32_fini(&reg);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

int main(void)
{
	th_init("region", 100);
	RUN(test_region_add);
	RUN(test_copy_region);
	RUN(test_copy_no_surface);
	return 0;
}
