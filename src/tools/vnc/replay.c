/* SPDX-License-Identifier: MIT */
/*
 * The replay of change records onto the served framebuffer (replay.h).
 *
 * The surface runs ahead of the records we have read (the producer renders
 * first, publishes later), so a copy can move pixels that were already
 * newer than the copy.  After the move the copy destinations are compared
 * with the surface and what differs joins `dirty`: the result is exact, and
 * the comparison costs only the copied area.
 */
#include <string.h>

#include "replay.h"
#include "shared.h"

void vnc_replay_init(struct vnc_replay *r)
{
	memset(r, 0, sizeof(*r));
	pixman_region32_init(&r->dirty);
	pixman_region32_init(&r->copied);
	pixman_region32_init(&r->unsure);
	pixman_region32_init(&r->pend);
}

void vnc_replay_fini(struct vnc_replay *r)
{
	pixman_region32_fini(&r->dirty);
	pixman_region32_fini(&r->copied);
	pixman_region32_fini(&r->unsure);
	pixman_region32_fini(&r->pend);
}

static const uint8_t *src_line(const struct vnc_frame *f, int y)
{
	return f->src + (size_t)(y + f->oy) * f->src_stride;
}

static uint8_t *fb_line(const struct vnc_frame *f, int y)
{
	return f->fb + (size_t)y * f->w * f->fb_bytes;
}

/* Reads row y of box b from the surface into the framebuffer. */
static void copy_row(const struct vnc_frame *f, const pixman_box32_t *b, int y)
{
	const uint8_t *src = src_line(f, y);
	uint8_t *dst = fb_line(f, y) + (size_t)b->x1 * f->fb_bytes;

	if (f->src_bpp == 24) {
		/* Packed B,G,R to xRGB: libvncserver has no 24 bpp format. */
		uint32_t *d = (uint32_t *)dst;
		for (int x = b->x1; x < b->x2; x++) {
			const uint8_t *p = src + (size_t)(x + f->ox) * 3;
			*d++ = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
		}
	} else {
		memcpy(dst, src + (size_t)(b->x1 + f->ox) * f->fb_bytes,
		       (size_t)(b->x2 - b->x1) * f->fb_bytes);
	}
}

static bool row_equal(const struct vnc_frame *f, const pixman_box32_t *b, int y)
{
	const uint8_t *src = src_line(f, y);
	const uint8_t *dst = fb_line(f, y) + (size_t)b->x1 * f->fb_bytes;

	if (f->src_bpp == 24) {
		const uint32_t *d = (const uint32_t *)dst;
		for (int x = b->x1; x < b->x2; x++) {
			const uint8_t *p = src + (size_t)(x + f->ox) * 3;
			if (*d++ != ((uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]))
				return false;
		}
		return true;
	}
	return memcmp(dst, src + (size_t)(b->x1 + f->ox) * f->fb_bytes,
		      (size_t)(b->x2 - b->x1) * f->fb_bytes) == 0;
}

/*
 * Reads `dirty` from the surface into the framebuffer and adds to `changed`
 * each block of the framebuffer's 64x64 grid (clipped to dirty) where a
 * pixel differed.  Programs redraw more than they change (xterm repaints
 * whole lines; a scroll redraws text a copy already put in place): what
 * comes out the same needs no encoding and no bytes, and comparing a row
 * costs about what copying it did.  TigerVNC's servers compare the same
 * way.  The framebuffer is what every viewer has or is about to get (the
 * interval's copy included, schedule_copy), so a block that compares equal
 * needs nothing.
 */
#define BLOCK 64

/* Where block column c starts, clamped to box b's columns. */
static int block_x(const pixman_box32_t *b, int c)
{
	int x = c * BLOCK;

	return x < b->x1 ? b->x1 : x > b->x2 ? b->x2 : x;
}

/*
 * read_dirty() for the rows [y1, y2) of box b, within one row of blocks.
 * A block found changed is sent whole, so the rest of its rows are copied
 * without comparing them, and once every block is, whole rows are.
 */
static void read_band(const struct vnc_frame *f, const pixman_box32_t *b, int y1, int y2,
		      pixman_region32_t *changed)
{
	bool hit[MIRAGE_MAX_DIMENSION / BLOCK + 1] = { false };
	int c0 = b->x1 / BLOCK, nc = (b->x2 - 1) / BLOCK - c0 + 1, hits = 0;
	pixman_box32_t row = { b->x1, y1, b->x2, y2 };

	for (int y = y1; y < y2; y++) {
		if (hits == nc) {
			copy_row(f, &row, y);
			continue;
		}
		/* Most rows are the same whole, or differ: one comparison first. */
		if (row_equal(f, &row, y))
			continue;
		for (int c = 0; c < nc; c++) {
			pixman_box32_t t = { block_x(b, c0 + c), y, block_x(b, c0 + c + 1), y + 1 };

			if (!hit[c]) {
				if (row_equal(f, &t, y))
					continue;
				hit[c] = true;
				hits++;
			}
			copy_row(f, &t, y);
		}
	}
	/* Runs of blocks alike, hit or not. */
	for (int c = 0, e; c < nc; c = e + 1) {
		int x1 = block_x(b, c0 + c), x2;

		for (e = c; e + 1 < nc && hit[e + 1] == hit[c]; e++)
			;
		x2 = block_x(b, c0 + e + 1);
		if (hit[c])
			pixman_region32_union_rect(changed, changed, x1, y1, (unsigned)(x2 - x1),
						   (unsigned)(y2 - y1));
	}
}

void vnc_replay_read_dirty(struct vnc_replay *r, const struct vnc_frame *f,
			   pixman_region32_t *changed)
{
	int n;
	pixman_box32_t *b = pixman_region32_rectangles(&r->dirty, &n);

	for (int i = 0; i < n; i++) {
		for (int y1 = b[i].y1, y2; y1 < b[i].y2; y1 = y2) {
			y2 = (y1 / BLOCK + 1) * BLOCK;
			if (y2 > b[i].y2)
				y2 = b[i].y2;
			read_band(f, &b[i], y1, y2, changed);
		}
	}
}

/*
 * Adds to dirty the rows of each copied box that differ from the surface.
 * A replayed copy is exact when its source was, so `copied` holds only
 * what copies moved out of `unsure`: pixels read while the producer may
 * have been ahead of its records, which a copy recorded before the drawing
 * that put them there must not carry along.  The surface may also be
 * further along than the copy: a difference is sent as pixels either way.
 */
void vnc_replay_verify(struct vnc_replay *r, const struct vnc_frame *f)
{
	int n;
	pixman_box32_t *b;

	pixman_region32_subtract(&r->copied, &r->copied, &r->dirty);
	b = pixman_region32_rectangles(&r->copied, &n);
	for (int i = 0; i < n; i++) {
		int first = -1, last = -1;

		r->checked_px += (uint64_t)(b[i].x2 - b[i].x1) * (uint64_t)(b[i].y2 - b[i].y1);
		for (int y = b[i].y1; y < b[i].y2; y++) {
			if (row_equal(f, &b[i], y))
				continue;
			if (first < 0)
				first = y;
			last = y;
		}
		if (first >= 0)
			pixman_region32_union_rect(&r->dirty, &r->dirty, b[i].x1, first,
						   (unsigned)(b[i].x2 - b[i].x1),
						   (unsigned)(last + 1 - first));
	}
	pixman_region32_clear(&r->copied);
}

int64_t vnc_region_area(pixman_region32_t *r)
{
	int n;
	int64_t a = 0;
	pixman_box32_t *b = pixman_region32_rectangles(r, &n);

	for (int i = 0; i < n; i++)
		a += (int64_t)(b[i].x2 - b[i].x1) * (b[i].y2 - b[i].y1);
	return a;
}


/* Clips [x1, x2) x [y1, y2) to the framebuffer; false when nothing is left. */
static bool clip(const struct vnc_frame *f, int *x1, int *y1, int *x2, int *y2)
{
	if (*x1 < 0)
		*x1 = 0;
	if (*y1 < 0)
		*y1 = 0;
	if (*x2 > f->w)
		*x2 = f->w;
	if (*y2 > f->h)
		*y2 = f->h;
	return *x1 < *x2 && *y1 < *y2;
}

void vnc_replay_add_dirty(struct vnc_replay *r, const struct vnc_frame *f,
			  const struct mirage_rect *rect)
{
	int x1 = rect->left - f->ox, y1 = rect->top - f->oy;
	int x2 = rect->right - f->ox, y2 = rect->bottom - f->oy;

	if (clip(f, &x1, &y1, &x2, &y2))
		pixman_region32_union_rect(&r->dirty, &r->dirty, x1, y1,
					   (unsigned)(x2 - x1), (unsigned)(y2 - y1));
}

/* Moves framebuffer pixels for box b from (b->x1 - dx, b->y1 - dy). */
static void move_box(const struct vnc_frame *f, const pixman_box32_t *b, int dx, int dy)
{
	copy_within(f->fb, (size_t)f->w * (size_t)f->fb_bytes, (unsigned)f->fb_bytes, b->x1, b->y1,
		    b->x2 - b->x1, b->y2 - b->y1, b->x1 - dx, b->y1 - dy);
}

/*
 * Moves the pixels of region r from r - (dx, dy), every source pixel read
 * before it is overwritten.  A region's boxes come in bands, top to bottom
 * and left to right in each: as in the X server's own region copy, the
 * bands go against dy (a box's source lies in its own or an earlier band)
 * and the boxes of a band against dx (their rows are the same).
 */
void vnc_replay_move(const struct vnc_frame *f, pixman_region32_t *region, int dx, int dy)
{
	int n;
	pixman_box32_t *b = pixman_region32_rectangles(region, &n);

	for (int i = 0; i < n;) {
		int bi = dy > 0 ? n - 1 - i : i; /* a box of the next band */
		int first = bi, last = bi;

		while (first > 0 && b[first - 1].y1 == b[bi].y1)
			first--;
		while (last + 1 < n && b[last + 1].y1 == b[bi].y1)
			last++;
		for (int j = 0; j <= last - first; j++)
			move_box(f, &b[dx > 0 ? last - j : first + j], dx, dy);
		i += last - first + 1;
	}
}

bool vnc_replay_take_copy(struct vnc_replay *r, const struct vnc_frame *f, pixman_region32_t *moved,
			  int *dx, int *dy)
{
	bool any = false;

	if (r->has_pend) {
		pixman_region32_subtract(&r->pend, &r->pend, &r->dirty);
		any = pixman_region32_not_empty(&r->pend);
		if (any)
			vnc_replay_move(f, &r->pend, r->pdx, r->pdy);
		pixman_region32_copy(moved, &r->pend);
		*dx = r->pdx;
		*dy = r->pdy;
	}
	pixman_region32_clear(&r->pend);
	r->has_pend = false;
	return any;
}

/*
 * Folds one copy into the interval's pending CopyRect.  libvncserver holds
 * one offset per viewer and turns a second copy of another offset, or one
 * whose source overlaps the pending destination, into pixels: a scroll of
 * three steps in one interval would be sent whole.  So consecutive copies
 * are composed here: where the new copy's source lies in the pending
 * destination, the pixels moved by both offsets together; what moved by
 * only one of them is sent as pixels (it is usually a thin strip).
 */
static void compose_copy(struct vnc_replay *r, int x1, int y1, int x2, int y2, int dx, int dy)
{
	pixman_region32_t v, chained;

	pixman_region32_init_rect(&v, x1, y1, (unsigned)(x2 - x1), (unsigned)(y2 - y1));
	if (!r->has_pend) {
		pixman_region32_copy(&r->pend, &v);
		r->pdx = dx;
		r->pdy = dy;
		r->has_pend = true;
		goto out;
	}
	pixman_region32_init(&chained);
	pixman_region32_copy(&chained, &r->pend);
	pixman_region32_translate(&chained, dx, dy);
	pixman_region32_intersect(&chained, &chained, &v);
	if (pixman_region32_not_empty(&chained)) {
		/* dirty += (v - chained) + (pend - v); pend = chained */
		pixman_region32_t rest;
		pixman_region32_init(&rest);
		pixman_region32_subtract(&rest, &v, &chained);
		pixman_region32_union(&r->dirty, &r->dirty, &rest);
		pixman_region32_subtract(&rest, &r->pend, &v);
		pixman_region32_union(&r->dirty, &r->dirty, &rest);
		pixman_region32_fini(&rest);
		pixman_region32_copy(&r->pend, &chained);
		r->pdx += dx;
		r->pdy += dy;
	} else if (pixman_region32_n_rects(&r->pend) > 0 &&
		   vnc_region_area(&r->pend) >= (int64_t)(x2 - x1) * (y2 - y1)) {
		/* Unrelated and smaller: the new copy goes as pixels. */
		pixman_region32_subtract(&r->pend, &r->pend, &v);
		pixman_region32_union(&r->dirty, &r->dirty, &v);
	} else {
		pixman_region32_union(&r->dirty, &r->dirty, &r->pend);
		pixman_region32_copy(&r->pend, &v);
		r->pdx = dx;
		r->pdy = dy;
	}
	pixman_region32_fini(&chained);
	if (r->pdx == 0 && r->pdy == 0) {
		/* Back where they started: the viewers already have these. */
		pixman_region32_clear(&r->pend);
		r->has_pend = false;
	}
out:
	pixman_region32_fini(&v);
}

void vnc_replay_copy(struct vnc_replay *r, const struct vnc_frame *f,
		     const struct mirage_record *rec)
{
	int dx = rec->rect.left - rec->point.x, dy = rec->rect.top - rec->point.y;
	/* Destination in framebuffer coordinates, clipped to the framebuffer and
	 * to where its source lies inside the framebuffer too. */
	int x1 = rec->rect.left - f->ox, y1 = rec->rect.top - f->oy;
	int x2 = rec->rect.right - f->ox, y2 = rec->rect.bottom - f->oy;
	int cx1 = x1 > dx ? x1 : dx, cy1 = y1 > dy ? y1 : dy;
	int cx2 = x2 < f->w + dx ? x2 : f->w + dx, cy2 = y2 < f->h + dy ? y2 : f->h + dy;
	pixman_region32_t moved;

	if (dx == 0 && dy == 0)
		return;
	if (!clip(f, &cx1, &cy1, &cx2, &cy2)) {
		vnc_replay_add_dirty(r, f, &rec->rect);
		return;
	}

	/* dirty := (dirty - dst) + ((dirty & src) moved to dst), and whatever
	 * of the destination had no source inside the framebuffer. */
	pixman_region32_init_rect(&moved, cx1 - dx, cy1 - dy, (unsigned)(cx2 - cx1),
				  (unsigned)(cy2 - cy1));
	pixman_region32_intersect(&moved, &moved, &r->dirty);
	pixman_region32_translate(&moved, dx, dy);
	vnc_replay_add_dirty(r, f, &rec->rect);
	{
		pixman_region32_t dst, doubt;

		pixman_region32_init_rect(&dst, cx1, cy1, (unsigned)(cx2 - cx1), (unsigned)(cy2 - cy1));
		pixman_region32_subtract(&r->dirty, &r->dirty, &dst);
		r->copied_px += (uint64_t)(cx2 - cx1) * (uint64_t)(cy2 - cy1);
		/* unsure := (unsure - dst) + ((unsure & src) moved to dst):
		 * the moved part is what to check against the surface. */
		pixman_region32_init_rect(&doubt, cx1 - dx, cy1 - dy, (unsigned)(cx2 - cx1),
					  (unsigned)(cy2 - cy1));
		pixman_region32_intersect(&doubt, &doubt, &r->unsure);
		pixman_region32_translate(&doubt, dx, dy);
		pixman_region32_subtract(&r->unsure, &r->unsure, &dst);
		pixman_region32_union(&r->unsure, &r->unsure, &doubt);
		pixman_region32_union(&r->copied, &r->copied, &doubt);
		pixman_region32_fini(&doubt);
		pixman_region32_fini(&dst);
	}
	pixman_region32_union(&r->dirty, &r->dirty, &moved);
	pixman_region32_fini(&moved);

	compose_copy(r, cx1, cy1, cx2, cy2, dx, dy);
	r->copies++;
}

