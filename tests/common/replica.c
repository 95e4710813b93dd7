/* SPDX-License-Identifier: MIT */
/* A replica of the screen built from change records: see replica.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replica.h"
#include "shared.h"

double replica_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void replica_init(struct replica *r, struct mirage_client *c)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	pixman_region32_init(&r->dirty);
}

void replica_finish(struct replica *r)
{
	free(r->pix);
	r->pix = NULL;
	pixman_region32_fini(&r->dirty);
}

int replica_setup(struct replica *r)
{
	const struct mirage_surface_header *s = mirage_client_surface(r->c);

	free(r->pix);
	r->w = s->width;
	r->h = s->height;
	r->bpp = s->bpp;
	r->stride = s->stride;
	r->pix = calloc((size_t)r->stride * (size_t)r->h, 1);
	if (!r->pix)
		return -ENOMEM;
	mirage_client_region_full(r->c, &r->dirty);
	return 0;
}

static void apply_copy(struct replica *r, const struct mirage_record *rec)
{
	int32_t x1 = rec->rect.left, y1 = rec->rect.top, w = rec->rect.right - x1, h = rec->rect.bottom - y1;
	int32_t sx = rec->point.x, sy = rec->point.y;
	pixman_region32_t moved;

	if (sx < 0 || sy < 0 || sx + w > r->w || sy + h > r->h || x1 < 0 || y1 < 0 || x1 + w > r->w ||
	    y1 + h > r->h || w <= 0 || h <= 0) {
		fprintf(stderr, "replica: SCREEN_SCREEN (%d,%d) from (%d,%d) %dx%d outside the surface\n", x1,
			y1, sx, sy, w, h);
		exit(1);
	}
	copy_within(r->pix, r->stride, r->bpp / 8, x1, y1, w, h, sx, sy);
	/* Areas not yet read from the surface travel with the copy. */
	pixman_region32_init(&moved);
	pixman_region32_intersect_rect(&moved, &r->dirty, sx, sy, (unsigned)w, (unsigned)h);
	pixman_region32_translate(&moved, x1 - sx, y1 - sy);
	pixman_region32_union(&r->dirty, &r->dirty, &moved);
	pixman_region32_fini(&moved);
	r->copies++;
}

/* After ASSERT_OFF: the mirror's next pipe, from its first record on. */
static bool remap(struct replica *r)
{
	if (mirage_client_reconnect(r->c) < 0) {
		if (!r->survive_gone) {
			fprintf(stderr, "replica: reconnect: %s\n", mirage_last_error());
			exit(1);
		}
		r->gone = true;
		return false;
	}
	r->gone = false;
	if (replica_setup(r) < 0)
		exit(1);
	if (r->on_pipe)
		r->on_pipe(r);
	/* So that the new pipe's ASSERT_ON and full refresh are seen too. */
	(void)mirage_client_rewind(r->c, mirage_client_ring(r->c)->capacity / 2);
	return true;
}

int replica_follow(struct replica *r)
{
	struct mirage_record recs[256];
	uint32_t n;
	int seen = 0;

	if (r->gone && !remap(r))
		return 0;
	for (;;) {
		int ret = mirage_client_poll(r->c, recs, 256, &n);

		if (ret < 0) {
			fprintf(stderr, "replica: poll: %s\n", strerror(-ret));
			exit(1);
		}
		if (ret == MIRAGE_POLL_LOST) {
			r->lost++;
			mirage_client_region_full(r->c, &r->dirty);
			seen++;
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			if (r->on_record)
				r->on_record(r, &recs[i]);
			if (recs[i].type == MIRAGE_REC_SCREEN_SCREEN)
				apply_copy(r, &recs[i]);
			else if (mirage_client_region_add(r->c, &r->dirty, &recs[i]))
				r->blits++;
		}
		seen += (int)n;
		r->records += n;
		if (ret == MIRAGE_POLL_OFF) {
			if (!remap(r))
				return seen;
			continue;
		}
		if (n < 256)
			break;
	}
	if (pixman_region32_not_empty(&r->dirty)) {
		if (mirage_client_copy_region(r->c, &r->dirty, r->pix, r->stride) < 0) {
			fprintf(stderr, "replica: copy_region failed\n");
			exit(1);
		}
		pixman_region32_clear(&r->dirty);
	}
	return seen;
}

int replica_follow_for(struct replica *r, int ms)
{
	double end = replica_now() + ms / 1000.0;
	int seen = 0;

	while (replica_now() < end) {
		if (r->gone) {
			struct timespec pause = { 0, 20 * 1000 * 1000 };
			nanosleep(&pause, NULL);
		} else {
			int w = mirage_client_wait(r->c, 20);
			if (w < 0 && w != -ETIMEDOUT && w != -ESTALE && !mirage_client_connected(r->c) &&
			    !r->survive_gone) {
				fprintf(stderr, "replica: the mirror went away\n");
				exit(1);
			}
		}
		seen += replica_follow(r);
	}
	return seen;
}

uint32_t replica_pixel(const uint8_t *p, uint32_t bpp)
{
	uint32_t v = 0;

	if (bpp == 32) {
		memcpy(&v, p, 4);
		return v & 0xffffff;
	}
	if (bpp == 16) {
		uint16_t s;
		memcpy(&s, p, 2);
		return s;
	}
	return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int replica_write_ppm(const struct replica *r, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	fprintf(f, "P6\n%d %d\n255\n", r->w, r->h);
	for (int32_t y = 0; y < r->h; y++)
		for (int32_t x = 0; x < r->w; x++) {
			uint32_t v = replica_pixel(r->pix + (size_t)y * r->stride + (size_t)x * (r->bpp / 8), r->bpp);
			uint8_t rgb[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
			fwrite(rgb, 1, 3, f);
		}
	return fclose(f) == 0 ? 0 : -errno;
}
