/* SPDX-License-Identifier: MIT */
/*
 * The change refinery.  DAMAGE over-reports (a window repaint that draws the
 * same pixels, a text area redrawn after a copy), so every damaged pixel is
 * compared with the surface before it is published; and an X client cannot
 * see CopyArea, so copies are recovered from the pixels: window moves (from
 * ConfigureNotify) and vertical scrolls (from row hashes).  A copy is only
 * published after every one of its pixels has been compared.
 *
 * `next` holds the fresh pixels of this pass (valid only where the pass
 * grabbed), `surface` what consumers see; both in the surface format.
 */
#include <stdlib.h>
#include <string.h>

#include "refine.h"
#include "shared.h"

static uint32_t expand(uint32_t pixel, uint32_t mask)
{
	uint32_t shift = 0, bits = 0, v;

	if (!mask)
		return 0;
	while (!(mask >> shift & 1))
		shift++;
	while (shift + bits < 32 && (mask >> (shift + bits) & 1))
		bits++;
	v = (pixel & mask) >> shift;
	if (bits >= 8)
		return v >> (bits - 8);
	/* Replicate the top bits, as 565 to 888 conversions usually do. */
	return (v << (8 - bits) | v >> (2 * bits > 8 ? 2 * bits - 8 : 0)) & 0xff;
}

uint32_t refine_pixel_get(const uint8_t *p, uint32_t bpp)
{
	uint32_t v;

	switch (bpp) {
	case 32:
		memcpy(&v, p, 4);
		return v & 0xffffff;
	case 24:
		return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	default: {
		uint16_t s;
		memcpy(&s, p, 2);
		return expand(s, 0xf800) << 16 | expand(s, 0x07e0) << 8 | expand(s, 0x001f);
	}
	}
}

void refine_pixel_put(uint8_t *p, uint32_t bpp, uint32_t rgb)
{
	switch (bpp) {
	case 32:
		rgb &= 0xffffff;
		memcpy(p, &rgb, 4);
		break;
	case 24:
		p[0] = (uint8_t)rgb;
		p[1] = (uint8_t)(rgb >> 8);
		p[2] = (uint8_t)(rgb >> 16);
		break;
	default: {
		uint16_t s = (uint16_t)((rgb >> 8 & 0xf800) | (rgb >> 5 & 0x07e0) | (rgb >> 3 & 0x001f));
		memcpy(p, &s, 2);
		break;
	}
	}
}

void refine_convert_row(uint8_t *dst, uint32_t dst_bpp, const uint8_t *src, uint32_t src_bpp,
		     const uint32_t masks[3], uint32_t count)
{
	bool std32 = masks[0] == 0xff0000 && masks[1] == 0xff00 && masks[2] == 0xff;
	bool std16 = masks[0] == 0xf800 && masks[1] == 0x07e0 && masks[2] == 0x001f;
	uint32_t sb = src_bpp / 8, db = dst_bpp / 8;

	if (src_bpp == 32 && dst_bpp == 32 && std32) {
		/* The common case: only the padding bytes need clearing, two pixels a word. */
		uint32_t i = 0;
		for (; i + 2 <= count; i += 2) {
			uint64_t v;
			memcpy(&v, src + 4 * i, 8);
			v &= 0x00ffffff00ffffffull;
			memcpy(dst + 4 * i, &v, 8);
		}
		if (i < count) {
			uint32_t v;
			memcpy(&v, src + 4 * i, 4);
			v &= 0xffffff;
			memcpy(dst + 4 * i, &v, 4);
		}
		return;
	}
	if (src_bpp == dst_bpp && src_bpp == 16 && std16) {
		memcpy(dst, src, (size_t)count * 2);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *s = src + (size_t)i * sb;
		uint32_t pix = 0, rgb;

		if (sb == 4)
			memcpy(&pix, s, 4);
		else if (sb == 3)
			pix = (uint32_t)s[2] << 16 | (uint32_t)s[1] << 8 | s[0];
		else {
			uint16_t v;
			memcpy(&v, s, 2);
			pix = v;
		}
		rgb = expand(pix, masks[0]) << 16 | expand(pix, masks[1]) << 8 | expand(pix, masks[2]);
		refine_pixel_put(dst + (size_t)i * db, dst_bpp, rgb);
	}
}

static inline uint8_t *at(const struct refine_image *im, int32_t x, int32_t y)
{
	return im->data + (size_t)y * im->stride + (size_t)x * (im->bpp / 8);
}

bool refine_copy(struct refine_image *surface, const struct refine_image *next,
		     const pixman_region32_t *valid, pixman_box32_t dst, int32_t dx, int32_t dy,
		     int32_t min_rows, struct refine_stats *st, refine_copy_fn fn, void *data)
{
	int32_t x1 = dst.x1, y1 = dst.y1, x2 = dst.x2, y2 = dst.y2;
	int32_t best_a = 0, best_b = 0, run_a = -1;
	size_t bytes;
	bool changes = false;

	if (dx == 0 && dy == 0)
		return false;
	/* Both the destination and the source must lie on the surface. */
	if (x1 < 0) x1 = 0;
	if (y1 < 0) y1 = 0;
	if (x2 > surface->width) x2 = surface->width;
	if (y2 > surface->height) y2 = surface->height;
	if (x1 + dx < 0) x1 = -dx;
	if (y1 + dy < 0) y1 = -dy;
	if (x2 + dx > surface->width) x2 = surface->width - dx;
	if (y2 + dy > surface->height) y2 = surface->height - dy;
	if (x1 >= x2 || y2 - y1 < min_rows)
		return false;
	st->copy_candidates++;
	bytes = (size_t)(x2 - x1) * (surface->bpp / 8);

	for (int32_t y = y1; y <= y2; y++) {
		bool ok = false;

		if (y < y2) {
			pixman_box32_t row = { x1, y, x2, y + 1 };
			ok = pixman_region32_contains_rectangle((pixman_region32_t *)valid, &row) ==
				     PIXMAN_REGION_IN &&
			     memcmp(at(next, x1, y), at(surface, x1 + dx, y + dy), bytes) == 0;
		}
		if (ok && run_a < 0)
			run_a = y;
		if (!ok && run_a >= 0) {
			if (y - run_a > best_b - best_a) {
				best_a = run_a;
				best_b = y;
			}
			run_a = -1;
		}
	}
	if (best_b - best_a < min_rows) {
		st->copy_rejected++;
		return false;
	}
	for (int32_t y = best_a; y < best_b && !changes; y++)
		changes = memcmp(at(next, x1, y), at(surface, x1, y), bytes) != 0;
	if (!changes)
		return false;

	/* Overlap-safe: copy_within walks the rows away from the overlap. */
	copy_within(surface->data, surface->stride, surface->bpp / 8, x1, best_a, x2 - x1,
		    best_b - best_a, x1 + dx, best_a + dy);
	st->copies++;
	st->copied_pixels += (uint64_t)(x2 - x1) * (uint64_t)(best_b - best_a);
	if (fn) {
		pixman_box32_t box = { x1, best_a, x2, best_b };
		fn(data, &box, x1 + dx, best_a + dy);
	}
	return true;
}

/*
 * A row's hash over every byte, in four independent lanes so that the
 * multiplications overlap instead of waiting on each other: scroll
 * detection hashes two whole areas per pass, and sampling fewer bytes
 * would make rows of similar text ("line 12", "line 13") collide.
 */
static uint64_t row_hash(const uint8_t *p, size_t n)
{
	uint64_t h[4] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull,
			  0xc2b2ae3d27d4eb4full };
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		for (int k = 0; k < 4; k++) {
			uint64_t v;
			memcpy(&v, p + i + 8 * k, 8);
			h[k] = (h[k] ^ v) * 0x100000001b3ull;
			h[k] ^= h[k] >> 29;
		}
	}
	for (; i < n; i++)
		h[0] = (h[0] ^ p[i]) * 0x100000001b3ull;
	return (h[0] ^ h[1] * 0x9e3779b97f4a7c15ull) ^ (h[2] * 0xc2b2ae3d27d4eb4full ^ h[3]);
}

/* Open addressing: old row hash -> row, or -2 when several rows share it. */
struct slot {
	uint64_t hash;
	int32_t row; /* -1 empty */
};

static int32_t lookup(const struct slot *t, uint32_t mask, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		if (t[i].row == -1)
			return -1;
		if (t[i].hash == h)
			return t[i].row;
	}
}

static void insert(struct slot *t, uint32_t mask, uint64_t h, int32_t row)
{
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		if (t[i].row == -1) {
			t[i].hash = h;
			t[i].row = row;
			return;
		}
		if (t[i].hash == h) {
			t[i].row = -2; /* not unique: says nothing about an offset */
			return;
		}
	}
}

/* Minimum size of a rectangle worth looking for a scroll in. */
#define SCROLL_MIN_W 32
#define SCROLL_MIN_H 24
#define SCROLL_MIN_ROWS 8

static int scroll_rect(struct refine_image *surface, const struct refine_image *next,
		       const pixman_region32_t *damage, const pixman_box32_t *r,
		       struct refine_stats *st, refine_copy_fn fn, void *data)
{
	int32_t h = r->y2 - r->y1, best = 0, best_votes = 0, changed = 0;
	size_t bytes = (size_t)(r->x2 - r->x1) * (surface->bpp / 8);
	uint32_t size = 16, mask;
	uint64_t *oldh = NULL, *newh = NULL;
	struct slot *table = NULL;
	int32_t *votes = NULL;
	int ret = 0;

	while (size < 2u * (uint32_t)h)
		size <<= 1;
	mask = size - 1;
	oldh = malloc(sizeof(*oldh) * (size_t)h);
	newh = malloc(sizeof(*newh) * (size_t)h);
	table = malloc(sizeof(*table) * size);
	votes = calloc((size_t)(2 * h + 1), sizeof(*votes));
	if (!oldh || !newh || !table || !votes)
		goto cleanup;
	for (uint32_t i = 0; i < size; i++)
		table[i].row = -1;

	for (int32_t i = 0; i < h; i++) {
		oldh[i] = row_hash(at(surface, r->x1, r->y1 + i), bytes);
		newh[i] = row_hash(at(next, r->x1, r->y1 + i), bytes);
		insert(table, mask, oldh[i], i);
	}
	for (int32_t i = 0; i < h; i++) {
		int32_t j;

		if (newh[i] == oldh[i])
			continue;
		changed++;
		j = lookup(table, mask, newh[i]);
		if (j >= 0 && j != i)
			votes[j - i + h]++;
	}
	for (int32_t d = 0; d <= 2 * h; d++) {
		if (votes[d] > best_votes) {
			best_votes = votes[d];
			best = d - h;
		}
	}
	/* A few coincidental matches do not make a scroll. */
	if (best_votes >= 4 && best_votes * 8 >= changed)
		ret = refine_copy(surface, next, damage, *r, 0, best, SCROLL_MIN_ROWS, st, fn,
				      data);
cleanup:
	free(oldh);
	free(newh);
	free(table);
	free(votes);
	return ret;
}

/*
 * An area clipped to the surface, when it is at least min_w x min_h and
 * all of it is fresh in next (inside `valid`); else false.
 */
static bool usable_area(const struct refine_image *surface, const pixman_region32_t *valid,
			pixman_box32_t *b, int32_t min_w, int32_t min_h)
{
	if (b->x1 < 0) b->x1 = 0;
	if (b->y1 < 0) b->y1 = 0;
	if (b->x2 > surface->width) b->x2 = surface->width;
	if (b->y2 > surface->height) b->y2 = surface->height;
	if (b->x2 - b->x1 < min_w || b->y2 - b->y1 < min_h)
		return false;
	return pixman_region32_contains_rectangle((pixman_region32_t *)valid, b) == PIXMAN_REGION_IN;
}

int refine_scrolls(struct refine_image *surface, const struct refine_image *next,
		       const pixman_region32_t *valid, const pixman_box32_t *areas, int n,
		       struct refine_stats *st, refine_copy_fn fn, void *data)
{
	int copies = 0;

	for (int i = 0; i < n; i++) {
		pixman_box32_t b = areas[i];

		if (usable_area(surface, valid, &b, SCROLL_MIN_W, SCROLL_MIN_H))
			copies += scroll_rect(surface, next, valid, &b, st, fn, data);
	}
	return copies;
}

/*
 * 2-D copies: a window moved by (dx, dy), found from the pixels alone.
 *
 * Why this design.  The offset can be anything, so one image must be
 * searched at every x; searching it at every row too would cost more than
 * the tile compare a copy saves.  So the surface is searched on one row in
 * MOVE_STEP of the area only (a rolling hash of MOVE_SEG pixels at every x
 * of those rows), and next gives a few anchors -- segments of MOVE_SEG
 * pixels with some texture that changed -- on rows of every residue modulo
 * MOVE_STEP: whatever dy is, the anchors of one residue land on searched
 * rows.  Each side then reads about 1/MOVE_STEP of the area once.  An
 * anchor found at a few places votes for each (weighted by 1/places); one
 * found at more than MOVE_PLACES (an edge, a repeated pattern) says nothing
 * and is left out.  The columns a copy may span come from the voting
 * anchors' rows (how far left and right the match runs); its rows, and
 * every pixel of it, are then verified by refine_copy: the hashes only
 * choose what to verify, so a collision or a decoy costs a failed memcmp,
 * never a wrong copy.  No allocation: everything is bounded and on the stack.
 */
#define MOVE_SEG 32          /* pixels in a segment */
#define MOVE_STEP 16         /* the surface is searched on one row in MOVE_STEP */
#define MOVE_ROWS 4          /* rows of next looked at for anchors, per residue */
#define MOVE_PER_ROW 3       /* anchors taken from one row */
#define MOVE_ANCHORS (MOVE_STEP * MOVE_ROWS * MOVE_PER_ROW)
#define MOVE_PLACES 8        /* an anchor found at more places is left out */
#define MOVE_TRIES 2         /* offsets verified, best voted first */
#define MOVE_MIN_W (2 * MOVE_SEG)
#define MOVE_MIN_H 24
#define MOVE_MIN_ROWS 8
#define MOVE_HASH_B 0x9e3779b97f4a7c15ull
#define MOVE_TABLE 512       /* power of two, over 2 * MOVE_ANCHORS */
#define MOVE_VOTES 2048      /* power of two, over MOVE_ANCHORS * MOVE_PLACES */
_Static_assert(MOVE_TABLE > 2 * MOVE_ANCHORS, "the anchor table must stay sparse");
_Static_assert(MOVE_VOTES > MOVE_ANCHORS * MOVE_PLACES, "every vote must find a slot");

struct anchor {
	int32_t x, y;            /* the segment's first pixel in next */
	uint64_t hash;
	int places;              /* where the surface holds it (may exceed MOVE_PLACES) */
	int32_t dx[MOVE_PLACES], dy[MOVE_PLACES];
};

struct moves {
	struct refine_image *surface;
	const struct refine_image *next;
	pixman_box32_t box;
	uint32_t bytes;          /* bytes a pixel */
	uint64_t b_seg;          /* MOVE_HASH_B ^ MOVE_SEG: what leaves the rolling hash */
	struct anchor anchors[MOVE_ANCHORS];
	int nanchors;
	int16_t table[MOVE_TABLE]; /* anchor hash -> index into anchors, -1 empty */
};

struct vote {
	int16_t dx, dy;          /* offsets past 32767 pixels are not voted for */
	uint32_t weight;         /* 0: empty slot */
};

static inline uint32_t pixel_value(const uint8_t *p, uint32_t bytes)
{
	uint32_t v = 0;

	if (bytes == 3)
		return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	memcpy(&v, p, bytes);
	return v;
}

static inline uint32_t table_slot(uint64_t h)
{
	return (uint32_t)(h >> 40) & (MOVE_TABLE - 1);
}

static uint64_t segment_hash(const uint8_t *p, uint32_t bytes)
{
	uint64_t h = 0;

	for (int i = 0; i < MOVE_SEG; i++)
		h = h * MOVE_HASH_B + pixel_value(p + (size_t)i * bytes, bytes);
	return h;
}

/* Worth an anchor: not flat (three changes of colour at least) and changed. */
static bool distinctive(const struct moves *mv, int32_t x, int32_t y)
{
	const uint8_t *p = at(mv->next, x, y);
	size_t seg = (size_t)MOVE_SEG * mv->bytes;
	int changes = 0;

	if (memcmp(p, p + mv->bytes, seg - mv->bytes) == 0)
		return false;
	for (size_t i = mv->bytes; i < seg && changes < 3; i += mv->bytes)
		changes += memcmp(p + i - mv->bytes, p + i, mv->bytes) != 0;
	return changes >= 3 && memcmp(p, at(mv->surface, x, y), seg) != 0;
}

/* Adds the segment at (x, y) of next; false when an equal one is in already. */
static bool add_anchor(struct moves *mv, int32_t x, int32_t y)
{
	uint64_t h = segment_hash(at(mv->next, x, y), mv->bytes);
	uint32_t i = table_slot(h);
	struct anchor *a;

	for (; mv->table[i] >= 0; i = (i + 1) & (MOVE_TABLE - 1))
		if (mv->anchors[mv->table[i]].hash == h)
			return false;
	a = &mv->anchors[mv->nanchors];
	memset(a, 0, sizeof(*a));
	a->x = x;
	a->y = y;
	a->hash = h;
	mv->table[i] = (int16_t)mv->nanchors++;
	return true;
}

/*
 * Anchors on MOVE_ROWS rows of each residue, spread evenly over the area,
 * MOVE_PER_ROW on each row: a row's quota is its own, so that segments in
 * the area a window left (changed too) cannot use up the others'.  A row's
 * segments lie on a grid; they are tried alternately from either half of
 * the row, from a column that changes from row to row.
 */
static void find_anchors(struct moves *mv)
{
	int32_t w = mv->box.x2 - mv->box.x1, h = mv->box.y2 - mv->box.y1;
	int32_t cols = w / MOVE_SEG, half = (cols + 1) / 2;

	for (int32_t r = 0; r < MOVE_STEP && r < h; r++) {
		int32_t rows = (h - 1 - r) / MOVE_STEP + 1;

		for (int k = 0; k < MOVE_ROWS && k < rows; k++) {
			/* Evenly spread: any band of rows over 1/MOVE_ROWS of the area holds one. */
			int32_t j = rows <= MOVE_ROWS ? k : (2 * k + 1) * rows / (2 * MOVE_ROWS);
			int32_t y = mv->box.y1 + r + MOVE_STEP * j, in_row = 0, start = r * 5 + k * 7;

			for (int32_t i = 0; i < 2 * half && in_row < MOVE_PER_ROW; i++) {
				int32_t c = (i % 2) * half + (start + i / 2) % half, x = mv->box.x1 + c * MOVE_SEG;

				if (c < cols && distinctive(mv, x, y) && add_anchor(mv, x, y))
					in_row++;
			}
		}
	}
}

/* A segment of the surface whose hash an anchor has: where it lies, if equal. */
static void place(struct moves *mv, struct anchor *a, int32_t sx, int32_t sy)
{
	if (memcmp(at(mv->next, a->x, a->y), at(mv->surface, sx, sy), (size_t)MOVE_SEG * mv->bytes) != 0)
		return;
	if (a->places < MOVE_PLACES) {
		a->dx[a->places] = sx - a->x;
		a->dy[a->places] = sy - a->y;
	}
	a->places++;
}

/* One searched row of the surface: every segment's hash looked up among the anchors'. */
static void search_row(struct moves *mv, int32_t sy)
{
	const uint8_t *row = at(mv->surface, 0, sy);
	uint32_t bytes = mv->bytes;
	uint64_t h = 0;

	for (int32_t x = mv->box.x1; x < mv->box.x2; x++) {
		int32_t start = x - MOVE_SEG + 1;
		uint32_t i;

		h = h * MOVE_HASH_B + pixel_value(row + (size_t)x * bytes, bytes);
		if (start <= mv->box.x1) {
			if (start < mv->box.x1)
				continue;
		} else {
			h -= mv->b_seg * pixel_value(row + (size_t)(start - 1) * bytes, bytes);
		}
		for (i = table_slot(h); mv->table[i] >= 0; i = (i + 1) & (MOVE_TABLE - 1)) {
			struct anchor *a = &mv->anchors[mv->table[i]];

			if (a->hash == h) {
				place(mv, a, start, sy);
				break;
			}
		}
	}
}

static void vote(struct vote *votes, int32_t dx, int32_t dy, uint32_t weight)
{
	uint32_t i = ((uint32_t)dx * 2654435761u ^ (uint32_t)dy * 40503u) & (MOVE_VOTES - 1);

	if (dx < INT16_MIN || dx > INT16_MAX || dy < INT16_MIN || dy > INT16_MAX)
		return;
	for (; votes[i].weight; i = (i + 1) & (MOVE_VOTES - 1))
		if (votes[i].dx == dx && votes[i].dy == dy)
			break;
	votes[i].dx = (int16_t)dx;
	votes[i].dy = (int16_t)dy;
	votes[i].weight += weight;
}

static inline bool same_pixel(const struct moves *mv, int32_t x, int32_t y, int32_t dx, int32_t dy)
{
	return memcmp(at(mv->next, x, y), at(mv->surface, x + dx, y + dy), mv->bytes) == 0;
}

/*
 * The columns a copy by (dx, dy) may span: on the row of each anchor that
 * found it there, how far the match runs left and right of the segment
 * (inside the area, the source on the surface); the columns common to all.
 */
static bool move_columns(const struct moves *mv, int32_t dx, int32_t dy, int32_t *x1, int32_t *x2)
{
	int32_t lo = mv->box.x1, hi = mv->box.x2;

	if (lo + dx < 0)
		lo = -dx;
	if (hi + dx > mv->surface->width)
		hi = mv->surface->width - dx;
	*x1 = lo;
	*x2 = hi;
	for (int i = 0; i < mv->nanchors; i++) {
		const struct anchor *a = &mv->anchors[i];
		bool voted = false;
		int32_t l, r;

		for (int p = 0; p < a->places && p < MOVE_PLACES; p++)
			voted |= a->places <= MOVE_PLACES && a->dx[p] == dx && a->dy[p] == dy;
		if (!voted)
			continue;
		for (l = a->x; l > lo && same_pixel(mv, l - 1, a->y, dx, dy); l--)
			;
		for (r = a->x + MOVE_SEG; r < hi && same_pixel(mv, r, a->y, dx, dy); r++)
			;
		if (l > *x1)
			*x1 = l;
		if (r < *x2)
			*x2 = r;
	}
	return *x2 - *x1 >= MOVE_SEG;
}

static int move_rect(struct refine_image *surface, const struct refine_image *next,
		     const pixman_region32_t *valid, const pixman_box32_t *box,
		     struct refine_stats *st, refine_copy_fn fn, void *data)
{
	struct moves *mv;
	struct vote *votes;
	int ret = 0;

	/* Some 20 KiB: more than a caller's stack should have to hold. */
	mv = malloc(sizeof(*mv));
	votes = calloc(MOVE_VOTES, sizeof(*votes));
	if (!mv || !votes)
		goto cleanup;
	mv->surface = surface;
	mv->next = next;
	mv->box = *box;
	mv->bytes = surface->bpp / 8;
	mv->nanchors = 0;
	mv->b_seg = 1;
	for (int i = 0; i < MOVE_SEG; i++)
		mv->b_seg *= MOVE_HASH_B;
	memset(mv->table, 0xff, sizeof(mv->table));

	find_anchors(mv);
	if (!mv->nanchors)
		goto cleanup;
	for (int32_t y = box->y1; y < box->y2; y += MOVE_STEP)
		search_row(mv, y);
	for (int i = 0; i < mv->nanchors; i++) {
		const struct anchor *a = &mv->anchors[i];

		/* 840 is divisible by every count of places up to MOVE_PLACES. */
		for (int p = 0; a->places <= MOVE_PLACES && p < a->places; p++)
			vote(votes, a->dx[p], a->dy[p], 840 / (uint32_t)a->places);
	}
	for (int t = 0; t < MOVE_TRIES && !ret; t++) {
		struct vote *best = NULL;
		int32_t x1, x2;

		for (int i = 0; i < MOVE_VOTES; i++)
			if (votes[i].weight && (!best || votes[i].weight > best->weight))
				best = &votes[i];
		if (!best)
			break;
		if (move_columns(mv, best->dx, best->dy, &x1, &x2))
			ret = refine_copy(surface, next, valid, (pixman_box32_t){ x1, box->y1, x2, box->y2 },
					      best->dx, best->dy, MOVE_MIN_ROWS, st, fn, data);
		best->weight = 0;
	}
cleanup:
	free(mv);
	free(votes);
	return ret;
}

int refine_moves(struct refine_image *surface, const struct refine_image *next,
		     const pixman_region32_t *valid, const pixman_box32_t *areas, int n,
		     struct refine_stats *st, refine_copy_fn fn, void *data)
{
	int copies = 0;

	for (int i = 0; i < n; i++) {
		pixman_box32_t b = areas[i];

		if (usable_area(surface, valid, &b, MOVE_MIN_W, MOVE_MIN_H))
			copies += move_rect(surface, next, valid, &b, st, fn, data);
	}
	return copies;
}

/*
 * Whole rows first: one memcmp over a box's row finds most rows equal; only
 * a row that differs is looked at tile by tile.
 */
void refine_tiles(struct refine_image *surface, const struct refine_image *next,
		      const pixman_region32_t *damage, int32_t tile, pixman_region32_t *changed,
		      struct refine_stats *st)
{
	int n;
	const pixman_box32_t *boxes = pixman_region32_rectangles((pixman_region32_t *)damage, &n);
	uint32_t bpp = surface->bpp / 8;
	int32_t *first = NULL, *last = NULL;
	int32_t cap = 0;

	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &boxes[i];
		int32_t c0 = b->x1 / tile, ncols = (b->x2 - 1) / tile - c0 + 1;
		size_t row_bytes = (size_t)(b->x2 - b->x1) * bpp;

		if (b->x1 >= b->x2 || b->y1 >= b->y2)
			continue;
		st->compared_pixels += (uint64_t)(b->x2 - b->x1) * (uint64_t)(b->y2 - b->y1);
		if (ncols > cap) {
			int32_t *f = realloc(first, sizeof(*f) * (size_t)ncols);
			int32_t *l = f ? realloc(last, sizeof(*l) * (size_t)ncols) : NULL;
			if (f)
				first = f;
			if (!l) {
				/* Out of memory: publish the box as it is. */
				for (int32_t y = b->y1; y < b->y2; y++)
					memcpy(at(surface, b->x1, y), at(next, b->x1, y), row_bytes);
				pixman_region32_union_rect(changed, changed, b->x1, b->y1,
							   (unsigned)(b->x2 - b->x1), (unsigned)(b->y2 - b->y1));
				continue;
			}
			last = l;
			cap = ncols;
		}
		/* Tiles on a fixed grid, so neighbouring rectangles share them. */
		for (int32_t ty = b->y1; ty < b->y2; ty = (ty / tile + 1) * tile) {
			int32_t ty2 = (ty / tile + 1) * tile;
			bool any = false;

			if (ty2 > b->y2)
				ty2 = b->y2;
			for (int32_t y = ty; y < ty2; y++) {
				if (memcmp(at(next, b->x1, y), at(surface, b->x1, y), row_bytes) == 0)
					continue;
				if (!any) {
					for (int32_t c = 0; c < ncols; c++)
						first[c] = -1;
					any = true;
				}
				for (int32_t c = 0; c < ncols; c++) {
					int32_t tx = (c0 + c) * tile, tx2 = tx + tile;
					size_t bytes;

					if (tx < b->x1)
						tx = b->x1;
					if (tx2 > b->x2)
						tx2 = b->x2;
					bytes = (size_t)(tx2 - tx) * bpp;
					if (memcmp(at(next, tx, y), at(surface, tx, y), bytes) == 0)
						continue;
					memcpy(at(surface, tx, y), at(next, tx, y), bytes);
					if (first[c] < 0)
						first[c] = y;
					last[c] = y;
				}
			}
			for (int32_t c = 0; any && c < ncols; c++) {
				int32_t tx = (c0 + c) * tile, tx2 = tx + tile;

				if (first[c] < 0)
					continue;
				if (tx < b->x1)
					tx = b->x1;
				if (tx2 > b->x2)
					tx2 = b->x2;
				pixman_region32_union_rect(changed, changed, tx, first[c], (unsigned)(tx2 - tx),
							   (unsigned)(last[c] + 1 - first[c]));
			}
		}
	}
	free(first);
	free(last);
}
