/* SPDX-License-Identifier: MIT */
/*
 * The mirror followed into an RFB screen.
 *
 * Only change records say what to send.  Per pacing interval the main thread
 * drains the ring and replays it on its framebuffer copy:
 *
 *  - drawing records add their rect to `dirty` (what must be re-read from
 *    the surface);
 *  - SCREEN_SCREEN moves the framebuffer's own pixels (in record order, so
 *    chained and overlapping copies come out right), is scheduled as a
 *    CopyRect, and moves the part of `dirty` that lay in its source along
 *    with it.
 *
 * The surface runs ahead of the records we have read (the producer renders
 * first, publishes later), so a copy can move pixels that were already
 * newer than the copy.  Before each flush the copy destinations are compared
 * with the surface and what differs joins `dirty`: the result is exact, and
 * the comparison costs only the copied area.  Then `dirty` is read from the
 * surface and marked modified.  A viewer that asked for an update and whose
 * socket takes it whole is sent it at once from this thread (send_now);
 * the others' updates are encoded by libvncserver's per-viewer output
 * threads, with whatever each viewer asked for.
 *
 * Threads.  libvncserver's output thread of a viewer takes a snapshot of the
 * viewer's regions (modifiedRegion, copyRegion) and then encodes pixels
 * straight from the framebuffer, holding only cl->sendMutex: nothing stops
 * the main thread from moving pixels underneath.  A viewer could then get
 * pixels that a copy had already moved and apply the same CopyRect on top
 * of them (a scroll applied twice), or a copy after pixels that came later:
 * a difference nothing repairs, since our framebuffer is right.  So each
 * replay (drain + flush) runs with every viewer's sendMutex held (see
 * lock_viewers): no encode overlaps a change of the framebuffer, and copies
 * and modified regions reach each viewer in the order they happened.  A
 * viewer that holds its sendMutex too long (one that stopped reading is
 * stuck in a write for up to 5 s) is not waited for: it gets no CopyRect
 * for that replay, and whatever the replay wrote is marked modified for it
 * afterwards, which repairs anything it read half-written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include <mirage/client.h>

#include "vnc.h"

#define RECS_MAX 1024u

struct vnc_server {
	const struct vnc_options *opt;
	struct vnc_input *input;
	struct mirage_client *mc;
	rfbScreenInfoPtr screen;
	char *passwords[2];

	/* Main thread only. */
	uint8_t *fb;          /* what the viewers are served */
	uint8_t *old_fb;      /* the previous one: viewer threads may still read it */
	int w, h;             /* served size */
	int ox, oy;           /* its origin in the surface (--monitor) */
	uint32_t src_bpp;     /* the surface's bits per pixel */
	int fb_bytes;         /* 2 or 4 */
	uint32_t generation;
	uint32_t cursor_serial;
	bool cursor_known;
	bool manager;
	pixman_region32_t dirty;  /* framebuffer coordinates */
	pixman_region32_t copied; /* copy destinations since the last flush */
	pixman_region32_t unsure;   /* framebuffer pixels that may be ahead of the
				     * records they were read at (PROTOCOL.md 5.5) */
	pixman_region32_t pend;   /* the interval's composed copy: destination */
	int pdx, pdy;             /* ... and its offset */
	bool has_pend;
	struct mirage_record recs[RECS_MAX];
	uint64_t flushes, copies;
	uint64_t copied_px, checked_px; /* copy destinations, and those compared */

	/*
	 * Replay locking (lock_viewers).  The main thread holds join_lock for
	 * the whole replay; on_new_client (the listener thread) takes it too,
	 * so a viewer that connects meanwhile starts its threads only after.
	 * Lock order: join_lock, then cl->sendMutex of each viewer, then
	 * screen->cursorMutex, then cl->updateMutex (libvncserver's order too).
	 * The arrays below are main thread only.
	 */
	pthread_mutex_t join_lock;
	rfbClientPtr *held;         /* sendMutex held, a reference taken */
	bool *served;               /* per held viewer: its output thread has
				     * nothing to do (send_now) */
	rfbClientPtr *busy;         /* sendMutex not had, a reference taken */
	int n_held, n_busy, cap;
	bool overflow;              /* some viewers are in neither array */
	bool marked;                /* held viewers have news: a copy or pixels */
	pixman_region32_t touched;  /* framebuffer pixels this replay wrote */
};

/* ------------------------------------------------------------------ */
/* Pixels                                                              */
/* ------------------------------------------------------------------ */

static const uint8_t *src_line(const struct vnc_server *s, int y)
{
	const struct mirage_surface_header *sh = mirage_client_surface(s->mc);

	return mirage_client_pixels(s->mc) + (size_t)(y + s->oy) * sh->stride;
}

static uint8_t *fb_line(const struct vnc_server *s, int y)
{
	return s->fb + (size_t)y * s->w * s->fb_bytes;
}

/* Reads one box of the surface into the framebuffer. */
static void copy_box(struct vnc_server *s, const pixman_box32_t *b)
{
	for (int y = b->y1; y < b->y2; y++) {
		const uint8_t *src = src_line(s, y);
		uint8_t *dst = fb_line(s, y) + (size_t)b->x1 * s->fb_bytes;

		if (s->src_bpp == 24) {
			/* Packed B,G,R to xRGB: libvncserver has no 24 bpp format. */
			uint32_t *d = (uint32_t *)dst;
			for (int x = b->x1; x < b->x2; x++) {
				const uint8_t *p = src + (size_t)(x + s->ox) * 3;
				*d++ = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
			}
		} else {
			memcpy(dst, src + (size_t)(b->x1 + s->ox) * s->fb_bytes,
			       (size_t)(b->x2 - b->x1) * s->fb_bytes);
		}
	}
}

static bool row_equal(const struct vnc_server *s, const pixman_box32_t *b, int y)
{
	const uint8_t *src = src_line(s, y);
	const uint8_t *dst = fb_line(s, y) + (size_t)b->x1 * s->fb_bytes;

	if (s->src_bpp == 24) {
		const uint32_t *d = (const uint32_t *)dst;
		for (int x = b->x1; x < b->x2; x++) {
			const uint8_t *p = src + (size_t)(x + s->ox) * 3;
			if (*d++ != ((uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]))
				return false;
		}
		return true;
	}
	return memcmp(dst, src + (size_t)(b->x1 + s->ox) * s->fb_bytes,
		      (size_t)(b->x2 - b->x1) * s->fb_bytes) == 0;
}

/*
 * Adds to dirty the rows of each copied box that differ from the surface.
 * A replayed copy is exact when its source was, so `copied` holds only
 * what copies moved out of `unsure`: pixels read while the producer may
 * have been ahead of its records, which a copy recorded before the drawing
 * that put them there must not carry along.  The surface may also be
 * further along than the copy: a difference is sent as pixels either way.
 */
static void verify_copies(struct vnc_server *s)
{
	int n;
	pixman_box32_t *b;

	pixman_region32_subtract(&s->copied, &s->copied, &s->dirty);
	b = pixman_region32_rectangles(&s->copied, &n);
	for (int i = 0; i < n; i++) {
		int first = -1, last = -1;

		s->checked_px += (uint64_t)(b[i].x2 - b[i].x1) * (uint64_t)(b[i].y2 - b[i].y1);
		for (int y = b[i].y1; y < b[i].y2; y++) {
			if (row_equal(s, &b[i], y))
				continue;
			if (first < 0)
				first = y;
			last = y;
		}
		if (first >= 0)
			pixman_region32_union_rect(&s->dirty, &s->dirty, b[i].x1, first,
						   (unsigned)(b[i].x2 - b[i].x1),
						   (unsigned)(last + 1 - first));
	}
	pixman_region32_clear(&s->copied);
}

static int64_t area(pixman_region32_t *r)
{
	int n;
	int64_t a = 0;
	pixman_box32_t *b = pixman_region32_rectangles(r, &n);

	for (int i = 0; i < n; i++)
		a += (int64_t)(b[i].x2 - b[i].x1) * (b[i].y2 - b[i].y1);
	return a;
}

static sraRegionPtr to_sra(pixman_region32_t *r)
{
	sraRegionPtr out = sraRgnCreate();
	int n;
	pixman_box32_t *b = pixman_region32_rectangles(r, &n);

	for (int i = 0; i < n; i++) {
		sraRegionPtr one = sraRgnCreateRect(b[i].x1, b[i].y1, b[i].x2, b[i].y2);
		sraRgnOr(out, one);
		sraRgnDestroy(one);
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

static void add_dirty(struct vnc_server *s, const struct mirage_rect *r)
{
	int x1 = r->left - s->ox, y1 = r->top - s->oy;
	int x2 = r->right - s->ox, y2 = r->bottom - s->oy;

	if (x1 < 0)
		x1 = 0;
	if (y1 < 0)
		y1 = 0;
	if (x2 > s->w)
		x2 = s->w;
	if (y2 > s->h)
		y2 = s->h;
	if (x1 < x2 && y1 < y2)
		pixman_region32_union_rect(&s->dirty, &s->dirty, x1, y1,
					   (unsigned)(x2 - x1), (unsigned)(y2 - y1));
}

/* Moves framebuffer pixels for rect [x1,x2)x[y1,y2) from (x1-dx, y1-dy). */
static void move_pixels(struct vnc_server *s, int x1, int y1, int x2, int y2, int dx, int dy)
{
	size_t len = (size_t)(x2 - x1) * s->fb_bytes;

	/* Rows in the order that reads each source row before it is overwritten. */
	if (dy > 0) {
		for (int y = y2 - 1; y >= y1; y--)
			memmove(fb_line(s, y) + (size_t)x1 * s->fb_bytes,
				fb_line(s, y - dy) + (size_t)(x1 - dx) * s->fb_bytes, len);
	} else {
		for (int y = y1; y < y2; y++)
			memmove(fb_line(s, y) + (size_t)x1 * s->fb_bytes,
				fb_line(s, y - dy) + (size_t)(x1 - dx) * s->fb_bytes, len);
	}
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
static void compose_copy(struct vnc_server *s, int x1, int y1, int x2, int y2, int dx, int dy)
{
	pixman_region32_t v, chained;

	pixman_region32_init_rect(&v, x1, y1, (unsigned)(x2 - x1), (unsigned)(y2 - y1));
	if (!s->has_pend) {
		pixman_region32_copy(&s->pend, &v);
		s->pdx = dx;
		s->pdy = dy;
		s->has_pend = true;
		goto out;
	}
	pixman_region32_init(&chained);
	pixman_region32_copy(&chained, &s->pend);
	pixman_region32_translate(&chained, dx, dy);
	pixman_region32_intersect(&chained, &chained, &v);
	if (pixman_region32_not_empty(&chained)) {
		/* dirty += (v - chained) + (pend - v); pend = chained */
		pixman_region32_t rest;
		pixman_region32_init(&rest);
		pixman_region32_subtract(&rest, &v, &chained);
		pixman_region32_union(&s->dirty, &s->dirty, &rest);
		pixman_region32_subtract(&rest, &s->pend, &v);
		pixman_region32_union(&s->dirty, &s->dirty, &rest);
		pixman_region32_fini(&rest);
		pixman_region32_copy(&s->pend, &chained);
		s->pdx += dx;
		s->pdy += dy;
	} else if (pixman_region32_n_rects(&s->pend) > 0 &&
		   area(&s->pend) >= (int64_t)(x2 - x1) * (y2 - y1)) {
		/* Unrelated and smaller: the new copy goes as pixels. */
		pixman_region32_subtract(&s->pend, &s->pend, &v);
		pixman_region32_union(&s->dirty, &s->dirty, &v);
	} else {
		pixman_region32_union(&s->dirty, &s->dirty, &s->pend);
		pixman_region32_copy(&s->pend, &v);
		s->pdx = dx;
		s->pdy = dy;
	}
	pixman_region32_fini(&chained);
	if (s->pdx == 0 && s->pdy == 0) {
		/* Back where they started: the viewers already have these. */
		pixman_region32_clear(&s->pend);
		s->has_pend = false;
	}
out:
	pixman_region32_fini(&v);
}

/* cl's index in held (then busy, numbered on) of this replay, or -1. */
static int viewer_index(const struct vnc_server *s, rfbClientPtr cl)
{
	for (int i = 0; i < s->n_held + s->n_busy; i++) {
		if (cl == (i < s->n_held ? s->held[i] : s->busy[i - s->n_held]))
			return i;
	}
	return -1;
}

/* Marks the part of box (x, y, w, h) in cl's pending copy modified
 * (updateMutex held). */
static void modified_box(rfbClientPtr cl, int x, int y, int w, int h)
{
	sraRegionPtr r = sraRgnCreateRect(x, y, x + w, y + h);

	sraRgnAnd(r, cl->copyRegion);
	sraRgnOr(cl->modifiedRegion, r);
	sraRgnDestroy(r);
}

/*
 * Adds the copy dst (offset dx, dy) to what cl is to be sent (updateMutex
 * held): libvncserver's rfbScheduleCopyRegion for one viewer, which also
 * wakes every viewer's output thread; held viewers are served by send_now
 * instead, and a wake-up would only make their thread run into the
 * sendMutex we hold.  A viewer keeps one pending copy: one of another
 * offset goes as pixels; so does what the new copy reads from the pending
 * one's destination, and pixels still to be sent that the copy moves (the
 * viewer has them only once they are sent).  A cursor drawn into the
 * viewer's picture (no cursor shape updates) must not be moved with it.
 */
static void copy_for(struct vnc_server *s, rfbClientPtr cl, sraRegionPtr dst, int dx, int dy)
{
	sraRegionPtr r;

	if (!cl->useCopyRect) {
		sraRgnOr(cl->modifiedRegion, dst);
		return;
	}
	if (!sraRgnEmpty(cl->copyRegion)) {
		if (cl->copyDX != dx || cl->copyDY != dy) {
			sraRgnOr(cl->modifiedRegion, cl->copyRegion);
			sraRgnMakeEmpty(cl->copyRegion);
		} else {
			r = sraRgnCreateRgn(dst);
			sraRgnOffset(r, -dx, -dy);
			sraRgnAnd(r, cl->copyRegion);
			sraRgnOr(cl->modifiedRegion, r);
			sraRgnDestroy(r);
		}
	}
	sraRgnOr(cl->copyRegion, dst);
	cl->copyDX = dx;
	cl->copyDY = dy;
	r = sraRgnCreateRgn(cl->modifiedRegion);
	sraRgnOffset(r, dx, dy);
	sraRgnAnd(r, cl->copyRegion);
	sraRgnOr(cl->modifiedRegion, r);
	sraRgnDestroy(r);
	if (!cl->enableCursorShapeUpdates && s->screen->cursor) {
		const rfbCursor *c = s->screen->cursor;
		int x = cl->cursorX - c->xhot, y = cl->cursorY - c->yhot;

		modified_box(cl, x, y, c->width, c->height);
		modified_box(cl, x + dx, y + dy, c->width, c->height);
	}
}

/* Hands the interval's composed copy to the viewers (before the pixels). */
static void schedule_copy(struct vnc_server *s)
{
	rfbClientIteratorPtr it;
	rfbClientPtr cl;
	sraRegionPtr sra;

	if (!s->has_pend)
		return;
	pixman_region32_subtract(&s->pend, &s->pend, &s->dirty);
	if (pixman_region32_not_empty(&s->pend)) {
		sra = to_sra(&s->pend);
		it = rfbGetClientIterator(s->screen);
		while ((cl = rfbClientIteratorNext(it))) {
			int i = viewer_index(s, cl);
			bool held = i >= 0 && i < s->n_held;

			pthread_mutex_lock(&cl->updateMutex);
			copy_for(s, cl, sra, s->pdx, s->pdy);
			if (!held)
				pthread_cond_signal(&cl->updateCond);
			pthread_mutex_unlock(&cl->updateMutex);
		}
		rfbReleaseClientIterator(it);
		sraRgnDestroy(sra);
		s->marked = true;
	}
	pixman_region32_clear(&s->pend);
	s->has_pend = false;
}

static void apply_copy(struct vnc_server *s, const struct mirage_record *rec)
{
	int dx = rec->rect.left - rec->point.x, dy = rec->rect.top - rec->point.y;
	/* Destination in framebuffer coordinates, clipped to the framebuffer and
	 * to where its source lies inside the framebuffer too. */
	int x1 = rec->rect.left - s->ox, y1 = rec->rect.top - s->oy;
	int x2 = rec->rect.right - s->ox, y2 = rec->rect.bottom - s->oy;
	int cx1 = x1 > dx ? x1 : dx, cy1 = y1 > dy ? y1 : dy;
	int cx2 = x2 < s->w + dx ? x2 : s->w + dx, cy2 = y2 < s->h + dy ? y2 : s->h + dy;
	pixman_region32_t moved;

	if (cx1 < 0)
		cx1 = 0;
	if (cy1 < 0)
		cy1 = 0;
	if (cx2 > s->w)
		cx2 = s->w;
	if (cy2 > s->h)
		cy2 = s->h;
	if (dx == 0 && dy == 0)
		return;
	if (cx1 >= cx2 || cy1 >= cy2) {
		add_dirty(s, &rec->rect);
		return;
	}

	/* cursorMutex: as in flush(). */
	pthread_mutex_lock(&s->screen->cursorMutex);
	move_pixels(s, cx1, cy1, cx2, cy2, dx, dy);
	pthread_mutex_unlock(&s->screen->cursorMutex);

	/* dirty := (dirty - dst) + ((dirty & src) moved to dst), and whatever
	 * of the destination had no source inside the framebuffer. */
	pixman_region32_init_rect(&moved, cx1 - dx, cy1 - dy, (unsigned)(cx2 - cx1),
				  (unsigned)(cy2 - cy1));
	pixman_region32_intersect(&moved, &moved, &s->dirty);
	pixman_region32_translate(&moved, dx, dy);
	add_dirty(s, &rec->rect);
	{
		pixman_region32_t dst, doubt;

		pixman_region32_init_rect(&dst, cx1, cy1, (unsigned)(cx2 - cx1), (unsigned)(cy2 - cy1));
		pixman_region32_subtract(&s->dirty, &s->dirty, &dst);
		pixman_region32_union(&s->touched, &s->touched, &dst);
		s->copied_px += (uint64_t)(cx2 - cx1) * (uint64_t)(cy2 - cy1);
		/* unsure := (unsure - dst) + ((unsure & src) moved to dst):
		 * the moved part is what to check against the surface. */
		pixman_region32_init_rect(&doubt, cx1 - dx, cy1 - dy, (unsigned)(cx2 - cx1),
					  (unsigned)(cy2 - cy1));
		pixman_region32_intersect(&doubt, &doubt, &s->unsure);
		pixman_region32_translate(&doubt, dx, dy);
		pixman_region32_subtract(&s->unsure, &s->unsure, &dst);
		pixman_region32_union(&s->unsure, &s->unsure, &doubt);
		pixman_region32_union(&s->copied, &s->copied, &doubt);
		pixman_region32_fini(&doubt);
		pixman_region32_fini(&dst);
	}
	pixman_region32_union(&s->dirty, &s->dirty, &moved);
	pixman_region32_fini(&moved);

	compose_copy(s, cx1, cy1, cx2, cy2, dx, dy);
	s->copies++;
}

/* Wakes each viewer's output thread (libvncserver waits on updateCond). */
static void wake_viewers(struct vnc_server *s, bool moved, bool shape)
{
	rfbClientIteratorPtr it = rfbGetClientIterator(s->screen);
	rfbClientPtr cl;

	while ((cl = rfbClientIteratorNext(it))) {
		pthread_mutex_lock(&cl->updateMutex);
		if (moved && cl->enableCursorPosUpdates)
			cl->cursorWasMoved = TRUE;
		if (shape)
			cl->cursorWasChanged = TRUE;
		pthread_cond_signal(&cl->updateCond);
		pthread_mutex_unlock(&cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
}

/*
 * Cursor pixels at least this opaque are shown by the viewers' cursor
 * encodings, which carry a 1-bit mask; fainter ones (a theme's soft shadow)
 * are transparent there.
 */
#define CURSOR_OPAQUE 0x80u

/*
 * Crops a cursor image to the pixels the viewers show (and the hotspot):
 * the shape is sent to every viewer at each change, and X cursor themes
 * pad theirs and add a faint shadow (a 24x24 arrow is mostly transparent).
 */
static void crop_cursor(struct mirage_cursor *cur, uint32_t *argb)
{
	int w = (int)cur->width, h = (int)cur->height;
	int x1 = w, y1 = h, x2 = -1, y2 = -1;

	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			if ((argb[(size_t)y * w + x] >> 24) < CURSOR_OPAQUE)
				continue;
			if (x < x1)
				x1 = x;
			if (x > x2)
				x2 = x;
			if (y < y1)
				y1 = y;
			if (y > y2)
				y2 = y;
		}
	}
	if (x2 < 0) {
		cur->width = cur->height = 0; /* nothing visible */
		return;
	}
	/* Keep the hotspot inside (it may be outside the visible part). */
	if (cur->hot_x >= 0 && cur->hot_x < w) {
		if (cur->hot_x < x1)
			x1 = cur->hot_x;
		if (cur->hot_x > x2)
			x2 = cur->hot_x;
	}
	if (cur->hot_y >= 0 && cur->hot_y < h) {
		if (cur->hot_y < y1)
			y1 = cur->hot_y;
		if (cur->hot_y > y2)
			y2 = cur->hot_y;
	}
	if (x1 == 0 && y1 == 0 && x2 == w - 1 && y2 == h - 1)
		return;
	/* In place: each row moves to a lower (or the same) address. */
	for (int y = y1; y <= y2; y++)
		memmove(argb + (size_t)(y - y1) * (x2 + 1 - x1), argb + (size_t)y * w + x1,
			(size_t)(x2 + 1 - x1) * sizeof(*argb));
	cur->width = (uint32_t)(x2 + 1 - x1);
	cur->height = (uint32_t)(y2 + 1 - y1);
	cur->hot_x -= x1;
	cur->hot_y -= y1;
}

/* 1-bit mask of an ARGB image, MSB first, rows padded to bytes (RFB's). */
static unsigned char *cursor_mask(int w, int h, const uint32_t *argb)
{
	int stride = (w + 7) / 8;
	unsigned char *m = calloc((size_t)stride, (size_t)h);

	if (!m)
		return NULL;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			if ((argb[(size_t)y * w + x] >> 24) >= CURSOR_OPAQUE)
				m[(size_t)y * stride + x / 8] |= (unsigned char)(0x80 >> (x & 7));
	return m;
}

/* Builds an RFB cursor from the mirror's shape (premultiplied ARGB). */
static void update_cursor_shape(struct vnc_server *s)
{
	static uint32_t argb[MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX];
	struct mirage_cursor cur;
	rfbCursorPtr c;
	size_t n;

	if (mirage_client_cursor(s->mc, &cur, argb, MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX) < 0)
		return;
	s->cursor_serial = cur.serial;
	s->cursor_known = true;
	if (cur.visible && cur.width > 0 && cur.height > 0)
		crop_cursor(&cur, argb);
	if (cur.width == 0 || cur.height == 0 || !cur.visible) {
		/* An invisible cursor: one transparent pixel. */
		cur.width = cur.height = 1;
		cur.hot_x = cur.hot_y = 0;
		argb[0] = 0;
	}
	n = (size_t)cur.width * cur.height;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->width = (unsigned short)cur.width;
	c->height = (unsigned short)cur.height;
	c->xhot = (unsigned short)(cur.hot_x < 0 ? 0 : cur.hot_x);
	c->yhot = (unsigned short)(cur.hot_y < 0 ? 0 : cur.hot_y);
	c->richSource = calloc(n, (size_t)s->fb_bytes);
	c->alphaSource = malloc(n);
	/* A plain threshold: libvncserver's own mask dithers the shadow into
	 * scattered opaque dots. */
	c->mask = cursor_mask(c->width, c->height, argb);
	if (!c->richSource || !c->alphaSource || !c->mask) {
		free(c->mask);
		free(c->richSource);
		free(c->alphaSource);
		free(c);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t p = argb[i];
		c->alphaSource[i] = (uint8_t)(p >> 24);
		if (s->fb_bytes == 4) {
			memcpy(c->richSource + i * 4, &(uint32_t){ p & 0xffffffu }, 4);
		} else {
			uint16_t v = (uint16_t)(((p >> 19) & 0x1f) << 11 | ((p >> 10) & 0x3f) << 5 |
						((p >> 3) & 0x1f));
			memcpy(c->richSource + i * 2, &v, 2);
		}
	}
	c->alphaPreMultiplied = TRUE;
	rfbMakeXCursorFromRichCursor(s->screen, c);
	c->cleanup = c->cleanupSource = c->cleanupMask = c->cleanupRichSource = TRUE;
	rfbSetCursor(s->screen, c);
	wake_viewers(s, false, true);
}

static void update_cursor_position(struct vnc_server *s, int x, int y)
{
	x -= s->ox;
	y -= s->oy;
	/* The viewer that moved the pointer already has it there (libvncserver's
	 * pointer handler set cursorX/Y): an equal position is not news. */
	if (x == s->screen->cursorX && y == s->screen->cursorY)
		return;
	pthread_mutex_lock(&s->screen->cursorMutex);
	s->screen->cursorX = x;
	s->screen->cursorY = y;
	pthread_mutex_unlock(&s->screen->cursorMutex);
	wake_viewers(s, true, false);
}

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

static void set_format(struct vnc_server *s)
{
	rfbPixelFormat *f = &s->screen->serverFormat;

	f->trueColour = TRUE;
	f->bigEndian = FALSE;
	if (s->fb_bytes == 4) {
		f->bitsPerPixel = 32;
		f->depth = 24;
		f->redMax = f->greenMax = f->blueMax = 255;
		f->redShift = 16;
		f->greenShift = 8;
		f->blueShift = 0;
	} else {
		f->bitsPerPixel = 16;
		f->depth = 16;
		f->redMax = 31;
		f->greenMax = 63;
		f->blueMax = 31;
		f->redShift = 11;
		f->greenShift = 5;
		f->blueShift = 0;
	}
}

/* Works out what to serve from the surface header: all of it or a monitor. */
static int pick_geometry(struct vnc_server *s, int *w, int *h)
{
	const struct mirage_surface_header *sh = mirage_client_surface(s->mc);
	struct mirage_monitor mon[MIRAGE_MONITORS_MAX];

	if (sh->bpp == 0 || !mirage_client_pixels(s->mc)) {
		vnc_log("mirror has no surface (Cap.DfbBackingMode=0): nothing to serve");
		return -ENODATA;
	}
	if (sh->bpp != 16 && sh->bpp != 24 && sh->bpp != 32) {
		vnc_log("mirror surface has %u bpp: not supported", sh->bpp);
		return -ENOTSUP;
	}
	s->src_bpp = sh->bpp;
	s->fb_bytes = sh->bpp == 16 ? 2 : 4;
	s->ox = s->oy = 0;
	*w = sh->width;
	*h = sh->height;
	if (s->opt->monitor >= 0) {
		int n = mirage_client_monitors(s->mc, mon);

		if (s->opt->monitor >= n) {
			vnc_log("--monitor %d: the mirror has %d monitor%s", s->opt->monitor, n,
				n == 1 ? "" : "s");
			return -ENOENT;
		}
		const struct mirage_rect *r = &mon[s->opt->monitor].rect;
		if (r->right <= r->left || r->bottom <= r->top) {
			vnc_log("--monitor %d: empty rectangle", s->opt->monitor);
			return -ENOENT;
		}
		s->ox = r->left;
		s->oy = r->top;
		*w = r->right - r->left;
		*h = r->bottom - r->top;
	}
	return 0;
}

/* (Re)allocates the framebuffer for the current pipe and refreshes it all. */
static int setup_framebuffer(struct vnc_server *s)
{
	int w, h, ret;
	uint8_t *fb;

	ret = pick_geometry(s, &w, &h);
	if (ret < 0)
		return ret;
	s->generation = mirage_client_surface(s->mc)->generation;
	if (s->fb && w == s->w && h == s->h &&
	    s->screen->serverFormat.bitsPerPixel == s->fb_bytes * 8) {
		pixman_region32_union_rect(&s->dirty, &s->dirty, 0, 0, (unsigned)w, (unsigned)h);
		return 0;
	}
	fb = calloc((size_t)w * h, (size_t)s->fb_bytes);
	if (!fb) {
		vnc_log("framebuffer of %dx%d: out of memory", w, h);
		return -ENOMEM;
	}
	if (!s->screen) {
		int argc = 1;
		char *argv[] = { (char *)VNC_PROG, NULL };

		s->screen = rfbGetScreen(&argc, argv, w, h, 8, 3, s->fb_bytes);
		if (!s->screen) {
			free(fb);
			vnc_log("rfbGetScreen failed");
			return -ENOMEM;
		}
		s->screen->frameBuffer = (char *)fb;
	} else {
		/* Viewer threads may be encoding from the old buffer right now:
		 * keep it one generation longer. */
		free(s->old_fb);
		s->old_fb = s->fb;
		rfbNewFramebuffer(s->screen, (char *)fb, w, h, 8, 3, s->fb_bytes);
	}
	s->fb = fb;
	s->w = w;
	s->h = h;
	set_format(s);
	pixman_region32_fini(&s->dirty);
	pixman_region32_init_rect(&s->dirty, 0, 0, (unsigned)w, (unsigned)h);
	pixman_region32_clear(&s->copied);
	pixman_region32_fini(&s->unsure);
	pixman_region32_init_rect(&s->unsure, 0, 0, (unsigned)w, (unsigned)h);
	vnc_debug("serving %dx%d (surface %u bpp, origin %d,%d)", w, h, s->src_bpp, s->ox, s->oy);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Viewer callbacks (viewer input threads)                             */
/* ------------------------------------------------------------------ */

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (!s->opt->view_only && s->input)
		vnc_input_key(s->input, down, (uint32_t)keysym);
}

static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (s->opt->view_only)
		return;
	if (s->input)
		vnc_input_pointer(s->input, mask, x + s->ox, y + s->oy);
	/* Keeps libvncserver's cursor position (drawn-in cursors, other
	 * viewers' position updates) in step. */
	rfbDefaultPtrAddEvent(mask, x, y, cl);
}

static void on_cut_text(char *str, int len, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	/* RFB cut text is ISO 8859-1; X wants UTF-8. */
	char *utf8;
	size_t n = 0;

	if (s->opt->view_only || !s->input || len < 0)
		return;
	utf8 = malloc((size_t)len * 2 + 1);
	if (!utf8)
		return;
	for (int i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		if (c < 0x80) {
			utf8[n++] = (char)c;
		} else {
			utf8[n++] = (char)(0xc0 | c >> 6);
			utf8[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	utf8[n] = '\0';
	vnc_input_set_clipboard(s->input, utf8, n);
	free(utf8);
}

static void on_cut_text_utf8(char *str, int len, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (!s->opt->view_only && s->input && len >= 0)
		vnc_input_set_clipboard(s->input, str, (size_t)len);
}

static int on_set_desktop_size(int width, int height, int nscreens,
			       struct rfbExtDesktopScreen *screens, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (s->opt->view_only || !s->input || s->opt->monitor >= 0)
		return rfbExtDesktopSize_ResizeProhibited;
	if (vnc_input_resize(s->input, width, height) < 0)
		return rfbExtDesktopSize_ResizeProhibited;
	/* The new size reaches the viewers through ASSERT_OFF and a new pipe. */
	return rfbExtDesktopSize_Success;
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	vnc_debug("viewer %s connected", cl->host ? cl->host : "?");
	/* Its threads start when this returns: not during a replay. */
	pthread_mutex_lock(&s->join_lock);
	pthread_mutex_unlock(&s->join_lock);
	if (s->opt->view_only)
		cl->viewOnly = TRUE;
	/* ws/wss: libvncserver's own close is unsafe (see close.c). */
	vnc_close_guard(cl);
	return RFB_CLIENT_ACCEPT;
}

static void log_quiet(const char *fmt, ...)
{
	(void)fmt;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static int read_password(struct vnc_server *s, const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		int err = errno;
		vnc_log("--password-file %s: %s", path, strerror(err));
		return -err;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0) {
		vnc_log("--password-file %s: empty password", path);
		return -EINVAL;
	}
	/* VNC authentication uses the first 8 characters only. */
	if (n > 8)
		vnc_log("--password-file %s: only the first 8 characters count (VNC authentication)", path);
	s->passwords[0] = strdup(buf);
	s->passwords[1] = NULL;
	explicit_bzero(buf, sizeof(buf));
	return s->passwords[0] ? 0 : -ENOMEM;
}

static int take_manager_role(struct vnc_server *s)
{
	int ret;

	if (s->opt->no_attach)
		return 0;
	ret = mirage_client_attach(s->mc, 0);
	if (ret == -EBUSY) {
		/* Someone else manages the mirror: serve whatever it mirrors. */
		vnc_log("%s; serving without it", mirage_last_error());
		return 0;
	}
	if (ret < 0) {
		vnc_log("attach: %s", mirage_last_error());
		return ret;
	}
	s->manager = true;
	return 0;
}

int vnc_server_create(struct vnc_server **out, const struct vnc_options *opt,
		      struct vnc_input *input)
{
	struct vnc_server *s;
	bool loopback;
	struct in_addr addr;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opt = opt;
	s->input = input;
	/* libvncserver logs every connection to stderr; only with -vv. */
	if (opt->verbose < 2) {
		rfbLog = log_quiet;
		rfbErr = log_quiet;
	}
	pixman_region32_init(&s->dirty);
	pixman_region32_init(&s->copied);
	pixman_region32_init(&s->pend);
	pixman_region32_init(&s->touched);
	pixman_region32_init(&s->unsure);
	pthread_mutex_init(&s->join_lock, NULL);

	if (inet_pton(AF_INET, opt->listen_addr, &addr) != 1) {
		vnc_log("--listen %s: not an IPv4 address", opt->listen_addr);
		ret = -EINVAL;
		goto fail;
	}
	loopback = (ntohl(addr.s_addr) >> 24) == 127;
	if (opt->password_file) {
		ret = read_password(s, opt->password_file);
		if (ret < 0)
			goto fail;
	} else if (!loopback && !opt->insecure) {
		vnc_log("refusing to listen on %s without a password (--password-file, or --insecure)",
			opt->listen_addr);
		ret = -EPERM;
		goto fail;
	}

	ret = mirage_client_connect(&s->mc, opt->mirror);
	if (ret < 0) {
		vnc_log("%s", mirage_last_error());
		goto fail;
	}
	ret = take_manager_role(s);
	if (ret < 0)
		goto fail;
	if (opt->set && mirage_client_settings_set(s->mc, opt->set) < 0) {
		vnc_log("--set: %s", mirage_last_error());
		ret = -EINVAL;
		goto fail;
	}
	if (opt->set) {
		/* A setting may have made a new pipe (ForcedBpp, backing mode). */
		ret = mirage_client_reconnect(s->mc);
		if (ret < 0) {
			vnc_log("%s", mirage_last_error());
			goto fail;
		}
	}
	ret = setup_framebuffer(s);
	if (ret < 0)
		goto fail;


	s->screen->screenData = s;
	s->screen->desktopName = opt->mirror;
	s->screen->port = opt->port;
	s->screen->ipv6port = opt->port;
	s->screen->autoPort = FALSE;
	s->screen->listenInterface = addr.s_addr;
	/* IPv6 only on the loopback, and only when IPv4 is on the loopback too. */
	s->screen->listen6Interface = loopback ? "::1" : "::ffff:0.0.0.1";
	s->screen->alwaysShared = TRUE;
	s->screen->deferUpdateTime = 0; /* our own pacing already coalesced */
	s->screen->handleEventsEagerly = TRUE;
	s->screen->ignoreSIGPIPE = TRUE;
	s->screen->kbdAddEvent = on_key;
	s->screen->ptrAddEvent = on_pointer;
	s->screen->setXCutText = on_cut_text;
	s->screen->setXCutTextUTF8 = on_cut_text_utf8;
	s->screen->setDesktopSizeHook = on_set_desktop_size;
	s->screen->newClientHook = on_new_client;
	s->screen->cursor = NULL;
	if (s->passwords[0]) {
		s->screen->authPasswdData = s->passwords;
		s->screen->passwordCheck = rfbCheckPasswordByList;
	}
	/* libvncserver's own HTTP server is never serviced by its threaded
	 * event loop: http.c serves noVNC instead.  WebSockets (noVNC) are
	 * accepted on the RFB port itself. */
	s->screen->httpDir = NULL;
	s->screen->httpPort = 0;
	s->screen->http6Port = 0;
	/*
	 * With a certificate, a connection that opens with a TLS ClientHello
	 * is WebSocket over TLS (wss); plain RFB and ws stay available, as
	 * libvncserver decides per connection from its first bytes.
	 */
	if (s->opt->tls_cert) {
		s->screen->sslcertfile = (char *)s->opt->tls_cert;
		s->screen->sslkeyfile = (char *)s->opt->tls_key;
	}
	/* A viewer that stops reading is dropped after this long. */
	s->screen->maxClientWait = 5000;

	rfbInitServer(s->screen);
	if (s->screen->listenSock == RFB_INVALID_SOCKET) {
		vnc_log("cannot listen on %s:%d: %s", opt->listen_addr, opt->port, strerror(errno));
		ret = -EADDRINUSE;
		goto fail;
	}
	update_cursor_shape(s);
	/* One thread per viewer: a stalled viewer blocks only its own. */
	rfbRunEventLoop(s->screen, -1, TRUE);
	*out = s;
	return 0;
fail:
	vnc_server_destroy(s);
	return ret;
}

/* A viewer that was busy at the last replay is not waited for again until
 * it was found free once (cl->clientData, main thread only). */
#define VIEWER_SLOW ((void *)1)

static int grow_viewers(struct vnc_server *s)
{
	int cap = s->cap ? s->cap * 2 : 16;
	rfbClientPtr *held = realloc(s->held, (size_t)cap * sizeof(*held));

	if (!held)
		return -ENOMEM;
	s->held = held;
	rfbClientPtr *busy = realloc(s->busy, (size_t)cap * sizeof(*busy));
	if (!busy)
		return -ENOMEM;
	s->busy = busy;
	bool *served = realloc(s->served, (size_t)cap * sizeof(*served));
	if (!served)
		return -ENOMEM;
	s->served = served;
	s->cap = cap;
	return 0;
}

/*
 * Starts a replay: takes join_lock and every viewer's sendMutex, so no
 * output thread encodes while the framebuffer changes (see the top of this
 * file).  A viewer that does not give its sendMutex up within 50 ms (or at
 * once, when it was slow last time) is put in busy instead; each viewer
 * keeps a reference so it cannot be freed before unlock_viewers.
 */
static void lock_viewers(struct vnc_server *s)
{
	rfbClientIteratorPtr it;
	rfbClientPtr cl;

	pthread_mutex_lock(&s->join_lock);
	s->n_held = s->n_busy = 0;
	s->overflow = false;
	it = rfbGetClientIterator(s->screen);
	while ((cl = rfbClientIteratorNext(it))) {
		struct timespec until;
		int ret;

		if (s->n_held + s->n_busy >= s->cap && grow_viewers(s) < 0) {
			/* Out of memory: mark_modified treats the viewers
			 * left out as busy. */
			vnc_log("viewer list: out of memory");
			s->overflow = true;
			break;
		}
		rfbIncrClientRef(cl);
		if (cl->clientData == VIEWER_SLOW) {
			ret = pthread_mutex_trylock(&cl->sendMutex);
		} else {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 50 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			ret = pthread_mutex_timedlock(&cl->sendMutex, &until);
		}
		if (ret == 0) {
			cl->clientData = NULL;
			s->served[s->n_held] = false;
			s->held[s->n_held++] = cl;
		} else {
			cl->clientData = VIEWER_SLOW;
			s->busy[s->n_busy++] = cl;
		}
	}
	rfbReleaseClientIterator(it);
}

static void unlock_viewers(struct vnc_server *s)
{
	for (int i = 0; i < s->n_held; i++) {
		rfbClientPtr cl = s->held[i];

		pthread_mutex_unlock(&cl->sendMutex);
		/* Woken only now, and outside updateMutex: woken in
		 * mark_modified, the output thread would run at once into
		 * the mutexes we hold and sleep again.  No wake-up is lost:
		 * mark_modified changed its regions under updateMutex, so it
		 * either saw them or was already waiting. */
		if (s->marked && !s->served[i])
			pthread_cond_signal(&cl->updateCond);
		rfbDecrClientRef(cl);
	}
	s->marked = false;
	for (int i = 0; i < s->n_busy; i++)
		rfbDecrClientRef(s->busy[i]);
	s->n_held = s->n_busy = 0;
	pthread_mutex_unlock(&s->join_lock);
}

/*
 * Marks region modified for every viewer (after the copy scheduled for this
 * replay, so it is sent after it).  libvncserver would drop the modified
 * part inside a pending copy's destination, as if the copy came last; our
 * changes come after the copies, so that part is taken out of the copy.  A
 * busy viewer may have encoded from pixels this replay was writing: it gets
 * everything the replay wrote as pixels, its pending copy included.
 *
 * Viewers that joined during the replay are in neither list; they start
 * with everything modified, which libvncserver's rfbScheduleCopyRegion
 * turns their copy into too.
 */
static void mark_modified(struct vnc_server *s, sraRegionPtr region)
{
	sraRegionPtr touched = NULL;
	rfbClientIteratorPtr it = NULL;
	rfbClientPtr cl;

	if (s->n_busy > 0 || s->overflow)
		touched = to_sra(&s->touched);
	if (s->overflow)
		it = rfbGetClientIterator(s->screen);
	for (int i = 0;; i++) {
		bool busy = i >= s->n_held;

		if (i < s->n_held + s->n_busy) {
			cl = busy ? s->busy[i - s->n_held] : s->held[i];
		} else if (!it || !(cl = rfbClientIteratorNext(it))) {
			break;
		} else if (viewer_index(s, cl) >= 0) {
			continue;
		}

		pthread_mutex_lock(&cl->updateMutex);
		sraRgnSubtract(cl->copyRegion, region);
		sraRgnOr(cl->modifiedRegion, region);
		if (busy) {
			sraRgnOr(cl->modifiedRegion, cl->copyRegion);
			sraRgnMakeEmpty(cl->copyRegion);
			sraRgnOr(cl->modifiedRegion, touched);
		}
		/* The held ones are woken by unlock_viewers. */
		if (busy || i >= s->n_held + s->n_busy)
			pthread_cond_signal(&cl->updateCond);
		pthread_mutex_unlock(&cl->updateMutex);
	}
	if (it)
		rfbReleaseClientIterator(it);
	if (touched)
		sraRgnDestroy(touched);
}

/* Bytes of raw pixels in r: what an update of r costs at most, about. */
static size_t raw_bytes(const struct vnc_server *s, sraRegionPtr r)
{
	sraRectangleIterator *it = sraRgnGetIterator(r);
	sraRect rect;
	size_t n = 0;

	while (it && sraRgnIteratorNext(it, &rect))
		n += (size_t)(rect.x2 - rect.x1) * (rect.y2 - rect.y1) * s->fb_bytes + 16;
	sraRgnReleaseIterator(it);
	return n;
}

/*
 * True when bytes more can be written to the viewer's socket without
 * waiting: a plain TCP connection (a WebSocket or TLS one writes through
 * buffers of its own) whose send queue has that much room to spare.
 */
static bool has_room(rfbClientPtr cl, size_t bytes)
{
	int queued = 0, sndbuf = 0;
	socklen_t len = sizeof(sndbuf);

	if (cl->sslctx || cl->wsctx || cl->sock == RFB_INVALID_SOCKET)
		return false;
	if (ioctl(cl->sock, SIOCOUTQ, &queued) < 0 ||
	    getsockopt(cl->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0)
		return false;
	/* The kernel reports twice the payload it takes (bookkeeping). */
	return queued >= 0 && (size_t)queued + bytes < (size_t)sndbuf / 2;
}

/*
 * Sends the update to each held viewer that asked for one, from this
 * thread and under the sendMutex it already holds, instead of waking the
 * viewer's output thread to do the same: one thread hand-over less per
 * update.  Only when the socket takes the whole update at once, so a
 * viewer that stopped reading can never make this thread wait; the others
 * are left to their output threads (unlock_viewers wakes them).
 */
static void send_now(struct vnc_server *s)
{
	for (int i = 0; i < s->n_held; i++) {
		rfbClientPtr cl = s->held[i];
		sraRegionPtr r = NULL;
		bool asked;

		pthread_mutex_lock(&cl->updateMutex);
		asked = cl->state == RFB_NORMAL && !cl->onHold &&
			!sraRgnEmpty(cl->requestedRegion);
		if (asked)
			r = sraRgnCreateRgn(cl->modifiedRegion);
		pthread_mutex_unlock(&cl->updateMutex);
		if (!asked) {
			/* Its request, when it comes, wakes the output thread. */
			s->served[i] = cl->state == RFB_NORMAL && !cl->onHold;
			continue;
		}
		if (r && has_room(cl, raw_bytes(s, r))) {
			/* Corked: libvncserver writes the update's header
			 * (and, with Tight, each rectangle's) on its own; one
			 * segment instead of several costs both ends less. */
			setsockopt(cl->sock, IPPROTO_TCP, TCP_CORK, &(int){ 1 }, sizeof(int));
			rfbSendFramebufferUpdate(cl, r);
			setsockopt(cl->sock, IPPROTO_TCP, TCP_CORK, &(int){ 0 }, sizeof(int));
			s->served[i] = true;
		}
		if (r)
			sraRgnDestroy(r);
	}
}

/*
 * Reads dirty from the surface, marks it for the viewers.  Between
 * lock_viewers and unlock_viewers.
 */
static void flush(struct vnc_server *s)
{
	int n;
	pixman_box32_t *b;
	sraRegionPtr sra;

	verify_copies(s);
	schedule_copy(s);
	b = pixman_region32_rectangles(&s->dirty, &n);
	/* cursorMutex: a busy viewer without cursor shape updates may be
	 * drawing the cursor into the framebuffer (rfbShowCursor). */
	pthread_mutex_lock(&s->screen->cursorMutex);
	int64_t token = mirage_client_pixels_begin(s->mc);
	for (int i = 0; i < n; i++)
		copy_box(s, &b[i]);
	if (mirage_client_pixels_exact(s->mc, token))
		pixman_region32_subtract(&s->unsure, &s->unsure, &s->dirty);
	else
		pixman_region32_union(&s->unsure, &s->unsure, &s->dirty);
	pthread_mutex_unlock(&s->screen->cursorMutex);
	pixman_region32_union(&s->touched, &s->touched, &s->dirty);
	if (pixman_region32_not_empty(&s->dirty) ||
	    ((s->n_busy > 0 || s->overflow) && pixman_region32_not_empty(&s->touched))) {
		sra = to_sra(&s->dirty);
		mark_modified(s, sra);
		s->marked = true;
		sraRgnDestroy(sra);
		s->flushes++;
	}
	if (s->marked)
		send_now(s);
	pixman_region32_clear(&s->dirty);
	pixman_region32_clear(&s->touched);
}

/* flush() outside a replay. */
static void flush_locked(struct vnc_server *s)
{
	lock_viewers(s);
	flush(s);
	unlock_viewers(s);
}

/* After ASSERT_OFF or a lost producer: map the current pipe again. */
static int follow_new_pipe(struct vnc_server *s)
{
	int ret = -ENOTCONN;

	/* A producer that restarts (a new Xorg generation) needs a moment. */
	for (int i = 0; i < 50 && !vnc_quit; i++) {
		ret = mirage_client_reconnect(s->mc);
		if (ret >= 0)
			break;
		usleep(100 * 1000);
	}
	if (ret < 0) {
		/* Told to quit before a try: nothing new to report. */
		if (!vnc_quit)
			vnc_log("reconnect: %s", mirage_last_error());
		return ret;
	}
	if (s->manager || !s->opt->no_attach) {
		struct mirage_info_out info;
		if (mirage_client_info(s->mc, &info, NULL, 0) >= 0 && !info.attached) {
			s->manager = false;
			ret = take_manager_role(s);
			if (ret < 0)
				return ret;
		}
	}
	ret = setup_framebuffer(s);
	if (ret < 0)
		return ret;
	update_cursor_shape(s);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drains the ring; returns 1 when the pipe was retired, else 0 or -errno. */
static int drain(struct vnc_server *s)
{
	for (;;) {
		uint32_t count = 0;
		int ret = mirage_client_poll(s->mc, s->recs, RECS_MAX, &count);

		if (ret < 0) {
			vnc_log("poll: %s", mirage_last_error());
			return ret;
		}
		if (ret == MIRAGE_POLL_LOST) {
			vnc_debug("lost track of the ring: full refresh");
			pixman_region32_union_rect(&s->dirty, &s->dirty, 0, 0, (unsigned)s->w,
						   (unsigned)s->h);
			continue;
		}
		for (uint32_t i = 0; i < count; i++) {
			const struct mirage_record *r = &s->recs[i];

			switch (r->type) {
			case MIRAGE_REC_SCREEN_SCREEN:
				apply_copy(s, r);
				break;
			case MIRAGE_REC_BLIT:
			case MIRAGE_REC_SOLIDFILL:
			case MIRAGE_REC_TEXTOUT:
				add_dirty(s, &r->rect);
				break;
			case MIRAGE_REC_PTR_SHAPE:
				update_cursor_shape(s);
				break;
			case MIRAGE_REC_PTR_ENGAGE:
				update_cursor_position(s, r->point.x, r->point.y);
				break;
			case MIRAGE_REC_ASSERT_ON:
				/* (Re)started mirroring: the surface may be anything. */
				pixman_region32_union_rect(&s->dirty, &s->dirty, 0, 0,
							   (unsigned)s->w, (unsigned)s->h);
				break;
			default:
				break;
			}
		}
		if (ret == MIRAGE_POLL_OFF)
			return 1;
		if (count < RECS_MAX)
			return 0;
	}
}

/* Sleeps until now_ms() reaches deadline (if it has not). */
static void sleep_until(int64_t deadline)
{
	int64_t t = now_ms();

	if (t < deadline)
		usleep((useconds_t)(deadline - t) * 1000);
}

/* Whether the producer published records we have not read. */
static bool records_waiting(const struct vnc_server *s)
{
	const struct mirage_ring_header *ring = mirage_client_ring(s->mc);

	return ring && __atomic_load_n(&ring->counter, __ATOMIC_ACQUIRE) !=
			       mirage_client_position(s->mc);
}

int vnc_server_run(struct vnc_server *s, int (*tick)(void *data), void *data)
{
	const int interval = 1000 / (s->opt->max_fps > 0 ? s->opt->max_fps : 60);
	int64_t next = 0;
	int ret = 0;
	bool busy = false; /* the last flush's records came before its interval ended */

	flush_locked(s);
	while (!vnc_quit) {
		int w;
		bool idle;

		if (tick) {
			ret = tick(data);
			if (ret < 0)
				break;
		}
		/* Pacing: at most one flush per interval.  While records
		 * keep coming (busy), the rest of the interval is slept out
		 * before the ring is looked at: the producer wakes only a
		 * consumer that waits, so records that land meanwhile cost
		 * neither side a wake-up, and the next flush takes them
		 * all.  After a quiet spell the wait comes first, and the
		 * rest of the interval is slept only if records came before
		 * its end: a keystroke now and then costs one wake-up, not
		 * two (the sleep's and the record's). */
		if (busy)
			sleep_until(next);
		idle = !records_waiting(s);
		/* Records, the producer's end or a signal (a stop, a
		 * child's end: the handler calls vnc_server_wake, so one
		 * that lands before the futex wait is not missed) wake
		 * this; nothing else does. */
		w = mirage_client_wait(s->mc, -1);
		if (w == -ENOTCONN || w == -ESTALE) {
			/* -ENOTCONN: the producer went away (it may come back);
			 * -ESTALE: the pipe was retired and its records taken
			 * (we mapped it just as it was retired): as after
			 * ASSERT_OFF.  Waiting again would return at once. */
			if (w == -ENOTCONN)
				vnc_log("%s", mirage_last_error());
			else
				vnc_debug("%s", mirage_last_error());
			pixman_region32_clear(&s->copied);
			pixman_region32_clear(&s->pend);
			s->has_pend = false;
			ret = follow_new_pipe(s);
			if (ret < 0)
				break;
			flush_locked(s);
			continue;
		}
		if (w < 0) {
			vnc_log("wait: %s", mirage_last_error());
			ret = w;
			break;
		}
		if (w == 0)
			continue;
		busy = !idle || now_ms() < next;
		sleep_until(next);
		/* One replay: drain moves pixels, flush writes and marks them. */
		lock_viewers(s);
		ret = drain(s);
		if (ret < 0) {
			unlock_viewers(s);
			break;
		}
		if (ret == 1) {
			pixman_region32_clear(&s->copied);
			pixman_region32_clear(&s->pend);
			pixman_region32_clear(&s->touched);
			s->has_pend = false;
			/* rfbNewFramebuffer takes every sendMutex itself. */
			unlock_viewers(s);
			ret = follow_new_pipe(s);
			if (ret < 0)
				break;
			lock_viewers(s);
		}
		flush(s);
		unlock_viewers(s);
		next = now_ms() + interval;
		ret = 0;
	}
	return ret;
}

void vnc_server_wake(struct vnc_server *s)
{
	mirage_client_wake(s->mc);
}

void vnc_server_cut_text(struct vnc_server *s, const char *text, size_t len)
{
	/* Latin-1 for viewers without the extended clipboard. */
	char *latin1 = malloc(len + 1);
	size_t n = 0;

	if (!latin1)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x80) {
			latin1[n++] = (char)c;
		} else if ((c & 0xe0) == 0xc0 && i + 1 < len) {
			unsigned v = (c & 0x1fu) << 6 | ((unsigned char)text[i + 1] & 0x3fu);
			latin1[n++] = v < 0x100 ? (char)v : '?';
			i++;
		} else if (c >= 0xc0) {
			latin1[n++] = '?';
		}
	}
	latin1[n] = '\0';
	rfbSendServerCutTextUTF8(s->screen, (char *)text, (int)len, latin1, (int)n);
	free(latin1);
}

void vnc_server_origin(const struct vnc_server *s, int *x, int *y)
{
	*x = s->ox;
	*y = s->oy;
}

void vnc_server_destroy(struct vnc_server *s)
{
	if (!s)
		return;
	if (s->screen) {
		rfbShutdownServer(s->screen, TRUE);
		s->screen->frameBuffer = NULL;
		rfbScreenCleanup(s->screen);
	}
	if (s->mc) {
		/* Closing the connection gives the manager role back (and
		 * detaches, unless Cap.Bootup=2). */
		if (s->manager && mirage_client_detach(s->mc) < 0)
			vnc_debug("detach: %s", mirage_last_error());
		mirage_client_destroy(s->mc);
	}
	vnc_debug("%llu flushes, %llu copies (%llu pixels, %llu checked against the surface)",
		  (unsigned long long)s->flushes, (unsigned long long)s->copies,
		  (unsigned long long)s->copied_px, (unsigned long long)s->checked_px);
	pixman_region32_fini(&s->dirty);
	pixman_region32_fini(&s->copied);
	pixman_region32_fini(&s->pend);
	pixman_region32_fini(&s->touched);
	pixman_region32_fini(&s->unsure);
	pthread_mutex_destroy(&s->join_lock);
	free(s->held);
	free(s->busy);
	free(s->served);
	free(s->fb);
	free(s->old_fb);
	if (s->passwords[0]) {
		explicit_bzero(s->passwords[0], strlen(s->passwords[0]));
		free(s->passwords[0]);
	}
	free(s);
}
