/* SPDX-License-Identifier: MIT */
/*
 * One batch: what the requests between two block handlers did to the
 * screen, in order, and how it reaches the surface.
 *
 * While requests run we only log: damage boxes with their record type, and
 * copies (destination boxes plus the offset).  At the block handler:
 *
 *  1. With Pointer.Enabled=1, take the cursor out of the surface if the
 *     batch touches it (restore the save-under from the shadow lines).
 *  2. Replay the log in order.  A copy moves surface pixels; damage only
 *     grows the region D to read.  Damage logged earlier that a copy moves
 *     is moved with it (added to D at the destination, published as BLIT
 *     after the copy).  Invariant: outside D the surface equals what the
 *     screen held at that point of the batch; so at the end reading D from
 *     the screen makes the surface equal to the screen.
 *  3. Read D from the screen (the pixmap's memory when it is in CPU
 *     memory, else the screen's GetImage), converting with pixman.
 *  4. Draw the cursor back (save-under first), then post the records and
 *     publish them: pixels before records, always.
 */
#include "mirage-xorg.h"
#include "compose.h"
#include "fold.h"
#include "move.h"
#include "shared.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <servermd.h>

#define OPS_START 64u
#define BOXES_START 1024u

void mx_batch_init(struct mx_batch *b)
{
	memset(b, 0, sizeof(*b));
	RegionNull(&b->overflow);
}

void mx_batch_finish(struct mx_batch *b)
{
	free(b->ops);
	free(b->boxes);
	RegionUninit(&b->overflow);
	b->ops = NULL;
	b->boxes = NULL;
}

void mx_batch_reset(struct mx_batch *b)
{
	b->nops = 0;
	b->nboxes = 0;
	b->any = false;
	b->overflowed = false;
	RegionEmpty(&b->overflow);
}

static inline void extend(struct mx_batch *b, const BoxRec *e)
{
	if (!b->any) {
		b->extents = *e;
		b->any = true;
		return;
	}
	if (e->x1 < b->extents.x1) b->extents.x1 = e->x1;
	if (e->y1 < b->extents.y1) b->extents.y1 = e->y1;
	if (e->x2 > b->extents.x2) b->extents.x2 = e->x2;
	if (e->y2 > b->extents.y2) b->extents.y2 = e->y2;
}

/* Past the limit (or out of memory): the rest of the batch is one region. */
static void overflow(struct mx_batch *b, RegionPtr region)
{
	if (!b->overflowed) {
		b->overflowed = true;
	}
	RegionUnion(&b->overflow, &b->overflow, region);
}

static bool reserve(struct mx_batch *b, uint32_t nboxes)
{
	if (b->overflowed || b->nboxes + nboxes > b->max_boxes)
		return false;
	if (b->nops == b->ops_cap) {
		uint32_t cap = b->ops_cap ? b->ops_cap * 2 : OPS_START;
		struct mx_op *ops = realloc(b->ops, cap * sizeof(*ops));

		if (!ops)
			return false;
		b->ops = ops;
		b->ops_cap = cap;
	}
	if (b->nboxes + nboxes > b->boxes_cap) {
		uint32_t cap = b->boxes_cap ? b->boxes_cap : BOXES_START;
		BoxRec *boxes;

		while (cap < b->nboxes + nboxes)
			cap *= 2;
		boxes = realloc(b->boxes, cap * sizeof(*boxes));
		if (!boxes)
			return false;
		b->boxes = boxes;
		b->boxes_cap = cap;
	}
	return true;
}

static void log_op(struct mx_screen *ms, uint32_t kind, uint32_t type, uint32_t color,
		   int dx, int dy, RegionPtr region)
{
	struct mx_batch *b = &ms->batch;
	uint32_t n = RegionNumRects(region);
	struct mx_op *op;

	if (n == 0)
		return;
	ms->stats.ops++;
	extend(b, RegionExtents(region));
	if (kind == MX_OP_COPY) {
		BoxRec src = *RegionExtents(region);

		src.x1 -= dx; src.x2 -= dx;
		src.y1 -= dy; src.y2 -= dy;
		extend(b, &src);
	}
	if (!reserve(b, n)) {
		overflow(b, region);
		return;
	}
	op = &b->ops[b->nops++];
	op->kind = kind;
	op->type = type;
	op->color = color;
	op->dx = dx;
	op->dy = dy;
	op->first = b->nboxes;
	op->count = n;
	if (n == 1)
		b->boxes[b->nboxes] = *RegionExtents(region);
	else
		memcpy(&b->boxes[b->nboxes], RegionRects(region), n * sizeof(BoxRec));
	b->nboxes += n;
}

void mx_batch_damage(struct mx_screen *ms, RegionPtr region)
{
	uint32_t type = ms->ctx.type, color = ms->ctx.color;
	RegionRec cut;

	if (!ms->ctx.exact && !ms->ctx.copied) {
		log_op(ms, MX_OP_DAMAGE, type, color, 0, 0, region);
		return;
	}
	RegionNull(&cut);
	/* The damage layer reported a bounding box: keep what the op can
	 * really touch. */
	if (ms->ctx.exact)
		RegionIntersect(&cut, region, ms->ctx.exact);
	else
		RegionCopy(&cut, region);
	if (ms->ctx.copied) {
		/* What the copy in progress covers is published as the copy. */
		RegionSubtract(&cut, &cut, ms->ctx.copied);
		type = MIRAGE_REC_BLIT;
		color = 0;
	}
	log_op(ms, MX_OP_DAMAGE, type, color, 0, 0, &cut);
	RegionUninit(&cut);
}

void mx_batch_copy(struct mx_screen *ms, RegionPtr dst, int dx, int dy)
{
	if (dx == 0 && dy == 0)
		return;
	log_op(ms, MX_OP_COPY, MIRAGE_REC_SCREEN_SCREEN, 0, dx, dy, dst);
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

static bool rec_reserve(struct mx_screen *ms, uint32_t n)
{
	if (ms->nrecs + n > ms->recs_cap) {
		uint32_t cap = ms->recs_cap ? ms->recs_cap : 1024;
		struct mirage_record *r;

		while (cap < ms->nrecs + n)
			cap *= 2;
		r = realloc(ms->recs, cap * sizeof(*r));
		if (!r)
			return false;
		ms->recs = r;
		ms->recs_cap = cap;
	}
	return true;
}

static void rec_add(struct mx_screen *ms, uint32_t type, const BoxRec *b,
		    int32_t sx, int32_t sy, uint32_t color)
{
	struct mirage_record *r;

	if (!rec_reserve(ms, 1)) {
		ms->stats.errors++;
		return;
	}
	r = &ms->recs[ms->nrecs++];
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->rect.left = b->x1;
	r->rect.top = b->y1;
	r->rect.right = b->x2;
	r->rect.bottom = b->y2;
	r->point.x = sx;
	r->point.y = sy;
	r->color = color;
	/* the new record, and each it grew, may fold into the one before */
	while (ms->nrecs > 1 && mx_rec_fold(&ms->recs[ms->nrecs - 2], r)) {
		ms->nrecs--;
		r = &ms->recs[ms->nrecs - 1];
		ms->stats.rec_folded++;
	}
}

/* ------------------------------------------------------------------ */
/* Pixels                                                              */
/* ------------------------------------------------------------------ */

static pixman_format_code_t surface_format(uint32_t bpp)
{
	switch (bpp) {
	case 32: return PIXMAN_x8r8g8b8;
	case 24: return PIXMAN_r8g8b8;
	case 16: return PIXMAN_r5g6b5;
	default: return 0;
	}
}

struct surf {
	uint8_t *pixels;
	uint32_t stride, bpp;
	int32_t width, height;  /* visible */
	uint32_t shadow_lines;
	pixman_image_t *img;    /* visible lines */
};

static bool surf_get(struct mx_screen *ms, struct surf *s)
{
	const struct mirage_surface_header *h = mirage_driver_surface(ms->drv);

	memset(s, 0, sizeof(*s));
	s->pixels = mirage_driver_pixels(ms->drv);
	if (!s->pixels || !h || !surface_format(h->bpp))
		return false;
	s->stride = h->stride;
	s->bpp = h->bpp;
	s->width = h->width;
	s->height = h->height;
	s->shadow_lines = h->shadow_lines;
	return true;
}

static pixman_image_t *surf_image(struct mx_screen *ms, struct surf *s)
{
	if (!s->img)
		s->img = pixman_image_create_bits(surface_format(s->bpp), s->width, s->height,
						  (uint32_t *)s->pixels, (int)s->stride);
	return s->img;
}

/* b clipped to [0,w) x [0,h); false when nothing is left. */
static bool clip_box(const BoxRec *b, int32_t w, int32_t h, BoxRec *out)
{
	out->x1 = (short)max(b->x1, 0);
	out->y1 = (short)max(b->y1, 0);
	out->x2 = (short)min(b->x2, w);
	out->y2 = (short)min(b->y2, h);
	return out->x1 < out->x2 && out->y1 < out->y2;
}

/*
 * Reads boxes of the screen through the root window's GetImage, as the
 * GetImage request does: SourceValidate first, which is where a software
 * cursor (misprite) is taken out of the framebuffer; the screen's GetImage
 * alone reads the cursor with the rest, and the surface would keep its
 * image (a ghost) after it moved on.  The cursor's own drawing is ignored
 * (hooks.c); misprite puts it back at the next block handler.
 */
static bool read_getimage(struct mx_screen *ms, struct surf *s, const BoxRec *b, int n)
{
	ScreenPtr screen = ms->screen;
	WindowPtr root = screen->root;
	pixman_image_t *dimg = surf_image(ms, s), *simg;
	bool ok = dimg != NULL;

	if (!root)
		return false;
	mx_sprite_enter();
	for (int i = 0; i < n && ok; i++) {
		BoxRec c;
		int x1, y1, w, h, stride;
		uint8_t *buf;

		if (!clip_box(&b[i], min(s->width, root->drawable.width),
			      min(s->height, root->drawable.height), &c))
			continue;
		x1 = c.x1;
		y1 = c.y1;
		w = c.x2 - c.x1;
		h = c.y2 - c.y1;
		stride = PixmapBytePad(w, root->drawable.depth);
		buf = malloc((size_t)stride * h);
		if (!buf) {
			ok = false;
			break;
		}
		if (screen->SourceValidate)
			screen->SourceValidate(&root->drawable, x1, y1, w, h, IncludeInferiors);
		screen->GetImage(&root->drawable, x1, y1, w, h, ZPixmap, ~0UL, (char *)buf);
		simg = pixman_image_create_bits(ms->screen_format, w, h, (uint32_t *)buf, stride);
		if (simg)
			pixman_image_composite32(PIXMAN_OP_SRC, simg, NULL, dimg, 0, 0, 0, 0,
						 x1, y1, w, h);
		else
			ok = false;
		if (simg)
			pixman_image_unref(simg);
		free(buf);
		ms->stats.bytes_copied += (uint64_t)w * h * (s->bpp / 8);
	}
	mx_sprite_leave();
	return ok;
}

bool mx_read_getimage;

void *mx_fb_pixels(PixmapPtr pix)
{
	/* A pixmap in GPU memory (glamor) has no CPU pointer; the option
	 * makes every pixmap look like one. */
	return mx_read_getimage ? NULL : pix->devPrivate.ptr;
}

/* Reads the screen's pixels in region into the surface. */
static bool surface_read(struct mx_screen *ms, struct surf *s, RegionPtr region)
{
	ScreenPtr screen = ms->screen;
	PixmapPtr pix = screen->GetScreenPixmap(screen);
	pixman_format_code_t dfmt = surface_format(s->bpp);
	int n = RegionNumRects(region);
	const BoxRec *b = RegionRects(region);
	pixman_image_t *dimg = NULL, *simg = NULL;
	bool ok = true;
	uint8_t *fb;
	BoxRec cb;

	if (!pix || n == 0)
		return true;
	fb = mx_fb_pixels(pix);
	if (!fb) {
		/* The screen pixmap is not in CPU memory (glamor...). */
		return read_getimage(ms, s, b, n);
	}

	/* Direct framebuffer access: the screen pixmap is CPU memory. */
	uint32_t spx = pix->drawable.bitsPerPixel / 8;

	for (int i = 0; i < n; i++) {
		BoxRec c;

		if (!clip_box(&b[i], min(s->width, pix->drawable.width),
			      min(s->height, pix->drawable.height), &c))
			continue;
		int32_t x1 = c.x1, y1 = c.y1, x2 = c.x2, y2 = c.y2;

		if (dfmt == ms->screen_format) {
			size_t len = (size_t)(x2 - x1) * spx;

			for (int32_t y = y1; y < y2; y++)
				memcpy(s->pixels + (size_t)y * s->stride + (size_t)x1 * spx,
				       fb + (size_t)y * pix->devKind + (size_t)x1 * spx,
				       len);
		} else {
			if (!simg)
				simg = pixman_image_create_bits(ms->screen_format,
								pix->drawable.width,
								pix->drawable.height,
								(uint32_t *)fb, pix->devKind);
			dimg = surf_image(ms, s);
			if (!simg || !dimg) {
				ok = false;
				break;
			}
			pixman_image_composite32(PIXMAN_OP_SRC, simg, NULL, dimg, x1, y1, 0, 0,
						 x1, y1, x2 - x1, y2 - y1);
		}
		ms->stats.bytes_copied += (uint64_t)(x2 - x1) * (y2 - y1) * (s->bpp / 8);
	}
	if (simg)
		pixman_image_unref(simg);

	/* A software cursor may be drawn in what we just read: read the part
	 * around it again, without it. */
	if (ok && ms->cur.sw && mx_sprite_box(ms, &cb) &&
	    RegionContainsRect(region, &cb) != rgnOUT) {
		RegionRec under;

		RegionInit(&under, &cb, 1);
		RegionIntersect(&under, &under, region);
		ok = read_getimage(ms, s, RegionRects(&under), RegionNumRects(&under));
		RegionUninit(&under);
		ms->cur.wake = true;
	}
	return ok;
}

/* Surface colour of a screen pixel, for SOLIDFILL. */
static uint32_t fill_color(struct mx_screen *ms, uint32_t bpp, uint32_t pixel)
{
	uint32_t r, g, b;

	if (ms->screen_format == PIXMAN_r5g6b5) {
		r = (pixel >> 11 & 0x1f) * 255 / 31;
		g = (pixel >> 5 & 0x3f) * 255 / 63;
		b = (pixel & 0x1f) * 255 / 31;
	} else if (ms->screen_format == PIXMAN_x8b8g8r8) {
		r = pixel & 0xff;
		g = pixel >> 8 & 0xff;
		b = pixel >> 16 & 0xff;
	} else {
		r = pixel >> 16 & 0xff;
		g = pixel >> 8 & 0xff;
		b = pixel & 0xff;
	}
	if (bpp == 16)
		return (r >> 3) << 11 | (g >> 2) << 5 | (b >> 3);
	return r << 16 | g << 8 | b;
}

/* The surface as the cursor composition sees it (src/common/compose.h). */
static struct compose_surface compose_of(const struct surf *s)
{
	return (struct compose_surface){ .pixels = s->pixels, .stride = s->stride, .bpp = s->bpp,
					 .width = s->width, .height = s->height };
}

static bool box_overlap(const BoxRec *a, const BoxRec *b)
{
	return a->x1 < b->x2 && b->x1 < a->x2 && a->y1 < b->y2 && b->y1 < a->y2;
}

/* ------------------------------------------------------------------ */
/* Flush                                                               */
/* ------------------------------------------------------------------ */

static void count(struct mx_stats *st, uint32_t type, uint32_t n)
{
	switch (type) {
	case MIRAGE_REC_BLIT: st->rec_blit += n; break;
	case MIRAGE_REC_TEXTOUT: st->rec_text += n; break;
	case MIRAGE_REC_SCREEN_SCREEN: st->rec_copy += n; break;
	case MIRAGE_REC_SOLIDFILL: st->rec_fill += n; break;
	default: break;
	}
}

int mx_batch_flush(struct mx_screen *ms)
{
	struct mx_batch *b = &ms->batch;
	const struct mirage_settings *set = mirage_driver_settings(ms->drv);
	struct surf s;
	bool have = surf_get(ms, &s);
	struct compose_surface cs = compose_of(&s);
	/* Mode 2: the server renders into the surface itself; only records. */
	bool pixels = have && !ms->aliased;
	bool pointer = set->pointer_enabled && have;
	bool full = ms->need_full;
	int32_t old_x = ms->cur.x, old_y = ms->cur.y;
	bool old_vis = ms->cur.visible;
	uint32_t old_serial = ms->cur.serial;
	uint32_t budget = b->max_boxes;
	bool want_d = pixels || pointer;
	uint32_t last_copy = 0;
	RegionRec d;
	BoxRec cb;

	ms->in_flush = true;
	ms->nrecs = 0;
	mx_cursor_update(ms, set);
	bool cursor_changed = old_x != ms->cur.x || old_y != ms->cur.y ||
			      old_vis != ms->cur.visible || old_serial != ms->cur.serial;

	if (!b->any && !b->overflowed && !full &&
	    !(pointer && (cursor_changed || (!ms->cur.drawn && ms->cur.visible)))) {
		mirage_driver_publish(ms->drv);
		ms->in_flush = false;
		return 0;
	}
	RegionNull(&d);
	ms->stats.batches++;
	/* Mode 3 and the drawn cursor: the pixels change before the
	 * records that describe them are published. */
	if (pixels || pointer)
		mirage_driver_pixels_ahead(ms->drv);

	/* 1. cursor out of the surface when the batch may touch it */
	if (pointer && ms->cur.drawn && !full &&
	    (cursor_changed || (b->any && box_overlap(&b->extents, &ms->cur.drawn_box)))) {
		mx_cursor_remove(ms, &cs, &cb);
		rec_add(ms, MIRAGE_REC_BLIT, &cb, 0, 0, 0);
	}

	if (full) {
		BoxRec all = { 0, 0, (short)ms->width, (short)ms->height };

		RegionReset(&d, &all);
		mx_batch_reset(b);
		ms->cur.drawn = false;
		ms->need_full = false;
		ms->stats.full_refreshes++;
		rec_add(ms, MIRAGE_REC_BLIT, &all, 0, 0, 0);
		ms->stats.rec_blit++;
	}

	/* 2. replay the log */
	for (uint32_t i = 0; i < b->nops; i++)
		if (b->ops[i].kind == MX_OP_COPY)
			last_copy = i;
	for (uint32_t i = 0; i < b->nops; i++) {
		struct mx_op *op = &b->ops[i];
		const BoxRec *boxes = &b->boxes[op->first];
		RegionRec r;

		if (op->kind == MX_OP_DAMAGE) {
			for (uint32_t k = 0; k < op->count; k++) {
				const BoxRec *x = &boxes[k];

				ms->stats.damaged_area += (uint64_t)(x->x2 - x->x1) * (x->y2 - x->y1);
			}
			if (op->count > budget) {
				/* past the limit: published with the overflow */
				RegionInitBoxes(&r, (BoxPtr)boxes, (int)op->count);
				RegionUnion(&d, &d, &r);
				overflow(b, &r);
				budget = 0;
				RegionUninit(&r);
				continue;
			}
			/* D grows only where something reads it: a later copy,
			 * the read of step 3, the cursor of step 4. */
			if (want_d || i < last_copy) {
				RegionInitBoxes(&r, (BoxPtr)boxes, (int)op->count);
				RegionUnion(&d, &d, &r);
				RegionUninit(&r);
			}
			budget -= op->count;
			uint32_t color = op->type == MIRAGE_REC_SOLIDFILL ?
					 fill_color(ms, have ? s.bpp : 32, op->color) : 0;

			for (uint32_t k = 0; k < op->count; k++)
				rec_add(ms, op->type, &boxes[k], 0, 0, color);
			count(&ms->stats, op->type, op->count);
			continue;
		}

		/* a copy: move the surface, then whatever damage moved with it */
		RegionRec moved;

		RegionInitBoxes(&r, (BoxPtr)boxes, (int)op->count);
		RegionNull(&moved);
		if (RegionNotEmpty(&d)) {
			RegionTranslate(&r, -op->dx, -op->dy);
			RegionIntersect(&moved, &d, &r);
			RegionTranslate(&moved, op->dx, op->dy);
			RegionTranslate(&r, op->dx, op->dy);
			RegionIntersect(&moved, &moved, &r);
		}
		if (op->count + (uint32_t)RegionNumRects(&moved) > budget) {
			/* past the limit: the copy is read back as damage */
			RegionUnion(&d, &d, &r);
			overflow(b, &r);
			budget = 0;
			RegionUninit(&moved);
			RegionUninit(&r);
			continue;
		}
		budget -= op->count + (uint32_t)RegionNumRects(&moved);
		if (pixels) {
			struct mx_move_surface mv = { s.pixels, s.stride, s.bpp, s.width, s.height };

			ms->stats.bytes_moved += mx_move_boxes(&mv, boxes, op->count, op->dx, op->dy);
		}
		for (uint32_t k = 0; k < op->count; k++) {
			const BoxRec *x = &boxes[k];

			rec_add(ms, set->blt_copybits ? MIRAGE_REC_SCREEN_SCREEN : MIRAGE_REC_BLIT,
				x, x->x1 - op->dx, x->y1 - op->dy, 0);
		}
		count(&ms->stats, set->blt_copybits ? MIRAGE_REC_SCREEN_SCREEN : MIRAGE_REC_BLIT,
		      op->count);
		for (int k = 0; k < RegionNumRects(&moved); k++) {
			rec_add(ms, MIRAGE_REC_BLIT, &RegionRects(&moved)[k], 0, 0, 0);
			ms->stats.rec_blit++;
		}
		RegionUnion(&d, &d, &moved);
		RegionUninit(&moved);
		RegionUninit(&r);
	}

	/* the part of the batch past the limit: exact boxes if they fit,
	 * else its bounding box, counted */
	if (b->overflowed) {
		int n = RegionNumRects(&b->overflow);

		ms->stats.overflow_batches++;
		RegionUnion(&d, &d, &b->overflow);
		if ((uint32_t)n <= budget + 256) {
			for (int k = 0; k < n; k++)
				rec_add(ms, MIRAGE_REC_BLIT, &RegionRects(&b->overflow)[k], 0, 0, 0);
			ms->stats.rec_blit += (uint64_t)n;
		} else {
			rec_add(ms, MIRAGE_REC_BLIT, RegionExtents(&b->overflow), 0, 0, 0);
			ms->stats.rec_blit++;
			ms->stats.collapsed_batches++;
			/* consumers re-read the bounding box: make the surface
			 * right in all of it */
			BoxRec e = *RegionExtents(&b->overflow);
			RegionRec er;

			RegionInit(&er, &e, 1);
			RegionUnion(&d, &d, &er);
			RegionUninit(&er);
		}
	}

	/* 3. the screen's pixels */
	if (pixels && !surface_read(ms, &s, &d)) {
		RegionUninit(&d);
		if (s.img)
			pixman_image_unref(s.img);
		mx_batch_reset(b);
		ms->in_flush = false;
		return -ENOMEM;
	}

	/* 4. cursor back in, records out */
	if (pointer && ms->cur.drawn && mx_cursor_box(ms, &cs, &cb) &&
	    RegionContainsRect(&d, &cb) != rgnOUT)
		ms->cur.drawn = false; /* the damage read over the drawn cursor: draw it again */
	if (pointer && !ms->cur.drawn && mx_cursor_draw(ms, &cs, s.shadow_lines, &cb))
		rec_add(ms, MIRAGE_REC_BLIT, &cb, 0, 0, 0);
	if (s.img)
		pixman_image_unref(s.img);
	RegionUninit(&d);

	for (uint32_t i = 0; i < ms->nrecs; i++)
		mirage_driver_post(ms->drv, &ms->recs[i]);
	ms->stats.records += ms->nrecs;
	mirage_driver_publish(ms->drv);
	mx_batch_reset(b);
	ms->in_flush = false;
	return 0;
}
