/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's replay (src/tools/vnc/replay.c) alone: a random producer
 * draws and copies on a surface and publishes the records, sometimes
 * running ahead of what the replay has read; after every flush the
 * framebuffer's pixels that changed lie in what the replay reports (the
 * moved copy or the changed blocks), and once the records have caught up
 * the framebuffer equals the surface.  Seeded (MIRAGE_TEST_SEED repeats a
 * run).
 */
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "unit/harness.h"

#define W 150
#define H 110
#define OPS_MAX 64

struct world {
	uint8_t surf[H * W * 4];
	uint8_t fb[H * W * 4];
	unsigned bytes;               /* surface bytes a pixel: 2, 3, 4 */
	struct vnc_frame f;
	struct vnc_replay r;
	struct mirage_record recs[OPS_MAX];
	int nrecs;
};

static void fill(struct world *w, int x, int y, int cw, int ch, uint64_t *rng)
{
	uint8_t c[4];

	for (unsigned i = 0; i < 4; i++)
		c[i] = (uint8_t)th_rand(rng);
	for (int yy = y; yy < y + ch; yy++)
		for (int xx = x; xx < x + cw; xx++)
			memcpy(w->surf + ((size_t)yy * W + (size_t)xx) * w->bytes, c, w->bytes);
}

static void random_rect(uint64_t *rng, int *x, int *y, int *cw, int *ch)
{
	*cw = 1 + (int)th_rand_range(rng, W / 2);
	*ch = 1 + (int)th_rand_range(rng, H / 2);
	*x = (int)th_rand_range(rng, (uint32_t)(W - *cw + 1));
	*y = (int)th_rand_range(rng, (uint32_t)(H - *ch + 1));
}

/* One operation on the surface and its record. */
static void produce(struct world *w, uint64_t *rng)
{
	struct mirage_record *rec = &w->recs[w->nrecs++];
	int x, y, cw, ch;

	memset(rec, 0, sizeof(*rec));
	random_rect(rng, &x, &y, &cw, &ch);
	rec->rect = (struct mirage_rect){ x, y, x + cw, y + ch };
	if (th_rand_range(rng, 3) == 0) {
		rec->type = MIRAGE_REC_SOLIDFILL;
		fill(w, x, y, cw, ch, rng);
		return;
	}
	/* A scroll or a move: small offsets chain, as a terminal's do. */
	int sx = x + (int)th_rand_range(rng, 9) - 4, sy = y + (int)th_rand_range(rng, 17) - 8;

	if (sx < 0 || sy < 0 || sx + cw > W || sy + ch > H) {
		sx = x;
		sy = y;
	}
	rec->type = MIRAGE_REC_SCREEN_SCREEN;
	rec->point = (struct mirage_point){ sx, sy };
	uint8_t *tmp = malloc((size_t)cw * ch * w->bytes);
	CHECK(tmp != NULL);
	for (int r = 0; r < ch; r++)
		memcpy(tmp + (size_t)r * cw * w->bytes,
		       w->surf + ((size_t)(sy + r) * W + (size_t)sx) * w->bytes, (size_t)cw * w->bytes);
	for (int r = 0; r < ch; r++)
		memcpy(w->surf + ((size_t)(y + r) * W + (size_t)x) * w->bytes,
		       tmp + (size_t)r * cw * w->bytes, (size_t)cw * w->bytes);
	free(tmp);
}

/* The surface pixel as the framebuffer holds it (24 bpp as xRGB). */
static uint32_t served(const struct world *w, int x, int y)
{
	const uint8_t *p = w->surf + ((size_t)y * W + (size_t)x) * w->bytes;

	if (w->bytes == 3)
		return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	if (w->bytes == 2)
		return (uint32_t)p[0] | (uint32_t)p[1] << 8;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t fb_px(const struct world *w, int x, int y)
{
	const uint8_t *p = w->fb + ((size_t)y * W + (size_t)x) * (unsigned)w->f.fb_bytes;

	if (w->f.fb_bytes == 2)
		return (uint32_t)p[0] | (uint32_t)p[1] << 8;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * What server.c's flush does with the replay: the composed copy moved
 * once, the copies compared, dirty read; `exact` as
 * mirage_client_pixels_exact says whether the surface matched the records.
 */
static void flush(struct world *w, bool exact)
{
	static uint8_t before[H * W * 4];
	pixman_region32_t changed, reported;

	memcpy(before, w->fb, sizeof(before));
	pixman_region32_init(&changed);
	pixman_region32_init(&reported);
	int dx, dy;

	(void)vnc_replay_take_copy(&w->r, &w->f, &reported, &dx, &dy);
	vnc_replay_verify(&w->r, &w->f);
	vnc_replay_read_dirty(&w->r, &w->f, &changed);
	if (exact)
		pixman_region32_subtract(&w->r.unsure, &w->r.unsure, &w->r.dirty);
	else
		pixman_region32_union(&w->r.unsure, &w->r.unsure, &w->r.dirty);
	pixman_region32_clear(&w->r.dirty);
	pixman_region32_union(&reported, &reported, &changed);
	/* Every pixel the flush changed was told to the viewers. */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			size_t o = ((size_t)y * W + (size_t)x) * (unsigned)w->f.fb_bytes;

			if (memcmp(before + o, w->fb + o, (size_t)w->f.fb_bytes) != 0)
				CHECK(pixman_region32_contains_point(&reported, x, y, NULL));
		}
	pixman_region32_fini(&changed);
	pixman_region32_fini(&reported);
}

static void check_equal(const struct world *w)
{
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			CHECK_EQ(fb_px(w, x, y), served(w, x, y));
}

static void run(unsigned bytes, uint64_t *rng, int rounds)
{
	static struct world w;

	memset(&w, 0, sizeof(w));
	w.bytes = bytes;
	for (size_t i = 0; i < sizeof(w.surf); i++)
		w.surf[i] = (uint8_t)th_rand(rng);
	w.f = (struct vnc_frame){ .fb = w.fb, .w = W, .h = H, .fb_bytes = bytes == 2 ? 2 : 4,
				  .src = w.surf, .src_stride = (size_t)W * bytes,
				  .src_bpp = bytes * 8 };
	vnc_replay_init(&w.r);
	/* A new framebuffer: all of it dirty and unsure (server.c). */
	pixman_region32_union_rect(&w.r.dirty, &w.r.dirty, 0, 0, W, H);
	pixman_region32_union_rect(&w.r.unsure, &w.r.unsure, 0, 0, W, H);
	flush(&w, true);
	check_equal(&w);
	for (int round = 0; round < rounds; round++) {
		int n = 1 + (int)th_rand_range(rng, OPS_MAX), read;

		w.nrecs = 0;
		for (int i = 0; i < n; i++)
			produce(&w, rng);
		/* The producer ahead: only part of the records read, then the rest. */
		read = th_rand_range(rng, 2) ? n : (int)th_rand_range(rng, (uint32_t)n);
		for (int i = 0; i < read; i++) {
			if (w.recs[i].type == MIRAGE_REC_SCREEN_SCREEN)
				vnc_replay_copy(&w.r, &w.f, &w.recs[i]);
			else
				vnc_replay_add_dirty(&w.r, &w.f, &w.recs[i].rect);
		}
		flush(&w, read == n);
		if (read < n) {
			for (int i = read; i < n; i++) {
				if (w.recs[i].type == MIRAGE_REC_SCREEN_SCREEN)
					vnc_replay_copy(&w.r, &w.f, &w.recs[i]);
				else
					vnc_replay_add_dirty(&w.r, &w.f, &w.recs[i].rect);
			}
			flush(&w, true);
		}
		check_equal(&w);
	}
	vnc_replay_fini(&w.r);
}

static void test_random(void)
{
	uint64_t rng = th_seed("replay");

	run(4, &rng, 300);
	run(3, &rng, 150);
	run(2, &rng, 150);
}

/* Three steps of one scroll in an interval are one copy of their sum. */
static void test_chain(void)
{
	static uint8_t fb[H * W * 4];
	struct vnc_frame f = { .fb = fb, .w = W, .h = H, .fb_bytes = 4 };
	struct vnc_replay r;

	vnc_replay_init(&r);
	for (int i = 0; i < 3; i++) {
		struct mirage_record rec = { .type = MIRAGE_REC_SCREEN_SCREEN,
					     .rect = { 0, 0, W, H - 10 },
					     .point = { 0, 10 } };
		vnc_replay_copy(&r, &f, &rec);
	}
	CHECK(r.has_pend);
	CHECK_EQ(r.pdx, 0);
	CHECK_EQ(r.pdy, -30);
	CHECK_EQ(vnc_region_area(&r.pend), (int64_t)W * (H - 30));
	/* What only some of the steps moved goes as pixels. */
	CHECK_EQ(vnc_region_area(&r.dirty), (int64_t)W * 20);
	CHECK_EQ(r.copies, 3);
	vnc_replay_fini(&r);
}

int main(void)
{
	th_init("replay", 100);
	RUN(test_chain);
	RUN(test_random);
	return 0;
}
