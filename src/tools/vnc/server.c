/* SPDX-License-Identifier: MIT */
/*
 * The mirror followed into an RFB screen.
 *
 * Only change records say what to send.  Per pacing interval the main thread
 * drains the ring and replays it on its framebuffer copy:
 *
 *  - drawing records add their rect to `dirty` (what must be re-read from
 *    the surface);
 *  - SCREEN_SCREEN is composed into the interval's one copy (`pend`, see
 *    compose_copy: what a chain of copies moved by their summed offset)
 *    and moves the part of `dirty` that lay in its source along with it;
 *    whatever else a copy wrote joins `dirty`.  The framebuffer's pixels
 *    move once, at the flush, and the copy goes to the viewers as one
 *    CopyRect: an x11perf -scroll500 burst of a thousand copies costs one
 *    move, not a thousand.
 *
 * The surface runs ahead of the records we have read (the producer renders
 * first, publishes later), so a copy can move pixels that were already
 * newer than the copy.  After the move the copy destinations are compared
 * with the surface and what differs joins `dirty`: the result is exact, and
 * the comparison costs only the copied area.  Then `dirty` is read from the
 * surface, the blocks that changed are marked modified (read_dirty), and
 * each viewer that asked for an update is sent it (serve).
 *
 * Threads.  libvncserver runs in its non-threaded mode: one network thread
 * accepts viewers and reads their messages.  An update is encoded straight
 * from the framebuffer, so it is written under s->lock, which every replay
 * holds: by the main thread after a flush, or by the network thread when a
 * viewer's request comes after its update was ready.  That way no encode
 * overlaps a change of the framebuffer, and copies and modified regions
 * reach each viewer in the order they happened.  Only an update the
 * viewer's socket takes whole is written under the lock, so a viewer that
 * stopped reading never makes the mirror or the other viewers wait; a larger
 * one (a first picture too big for the socket; every update of a TLS or
 * WebSocket viewer, whose socket cannot be measured) goes to a sender
 * thread of the viewer's own, which writes without the lock.  The main
 * thread may then change pixels that sender is encoding: while a viewer's
 * sender runs, it gets no CopyRect, and whatever each replay wrote is marked
 * modified for it, which repairs anything it read half-written.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include <mirage/client.h>

#include "door.h"
#include "message.h"
#include "replay.h"
#include "throttle.h"
#include "vnc.h"

#define RECS_MAX 1024u
#define VIEWERS_MAX 64 /* at once; more are refused */

struct vnc_server {
	const struct vnc_options *opt;
	struct vnc_input *input;
	struct mirage_client *mc;
	rfbScreenInfoPtr screen;
	char *passwords[2];
	struct vnc_throttle *auth_fails; /* wrong passwords per address */

	/* Main thread only. */
	struct vnc_frame fr;  /* the framebuffer served and the surface (replay.h) */
	uint8_t *old_fb;      /* the previous framebuffer: viewer threads may still read it */
	uint32_t generation;
	uint32_t cursor_serial;
	bool cursor_known;
	bool manager;
	struct vnc_replay rp;     /* the interval's regions (replay.h) */
	struct mirage_record recs[RECS_MAX];
	uint64_t flushes;

	/*
	 * The replay lock.  Held by the main thread over a replay (drain and
	 * flush: the framebuffer and the viewers' regions change) and by the
	 * network thread while it serves a viewer or lets one go; every
	 * encode made under it sees the framebuffer still.  The network
	 * thread is the only one that adds and frees viewers, in
	 * libvncserver's list (which only it walks: libvncserver frees a
	 * viewer it fails to set up at once) and in `viewers` (which the
	 * others walk, under lock).  Lock order: lock, then cl->sendMutex,
	 * then screen->cursorMutex, then cl->updateMutex.
	 */
	pthread_mutex_t lock;
	struct viewer **viewers;
	int n_viewers, cap_viewers;
	bool marked;                /* viewers have news: a copy, pixels, cursor */
	pthread_t net;              /* the network thread */
	bool net_started;
	int wake_fd;                /* eventfd: wakes the network thread */
	atomic_bool net_stop;
	pthread_mutex_t cut_lock;   /* cut text from the X thread, to send */
	char *cut_utf8, *cut_latin1;
	int cut_len, cut_latin1_len;
	pixman_region32_t touched;  /* framebuffer pixels this replay wrote */
	bool unwatched;             /* no viewer: records are read, pixels not */

	/* Network thread only. */
	struct vnc_doors doors;     /* connections not yet handed over */
	int stand_in;               /* during admit(): the stand-in socket's
				     * other end, else -1 */
	int stand_in_for;           /* ... and the connection it stands in
				     * for, until on_greet takes it (-1) */
	char stand_in_host[64];
};

/* Per viewer (cl->clientData).  Fields below are under s->lock. */
struct viewer {
	struct vnc_server *s;
	rfbClientPtr cl;
	pthread_t thread;     /* the sender, started on the first update that
			       * the socket cannot take whole */
	bool has_thread;
	bool sending;         /* the sender owns the viewer's writes */
	bool stop;
	int rcvlowat;         /* its SO_RCVLOWAT: 1, REQUEST_LOWAT (its request
			       * waits for us) or a partial message's size */
	bool partial;         /* SO_RCVLOWAT waits for the end of a message */
	pthread_cond_t cond;  /* sending or stop was set */
	pthread_mutex_t read_lock; /* held while reading the viewer's messages */
	int64_t since;        /* handed to libvncserver at (ms; network thread) */
	bool out_wait;        /* an update waits for room in its socket
			       * (serve_drawn); the network thread polls it */
	int64_t out_since;    /* ... since (ms) */
};

static int64_t now_ms(void);

/* ------------------------------------------------------------------ */
/* Copies to the viewers                                               */
/* ------------------------------------------------------------------ */

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
 * held): libvncserver's rfbScheduleCopyRegion for one viewer, without its
 * wake-up of threads we do not run.  A viewer keeps one pending copy: one of another
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

/*
 * The interval's composed copy, minus what is dirty anyway: moved once in
 * the framebuffer and handed to the viewers (before the pixels, which may
 * then take parts of it back: mark_modified).
 */
static void schedule_copy(struct vnc_server *s)
{
	sraRegionPtr sra;

	if (!s->rp.has_pend)
		return;
	pixman_region32_subtract(&s->rp.pend, &s->rp.pend, &s->rp.dirty);
	if (pixman_region32_not_empty(&s->rp.pend)) {
		/* cursorMutex: as in flush(). */
		pthread_mutex_lock(&s->screen->cursorMutex);
		vnc_replay_move(&s->fr, &s->rp.pend, s->rp.pdx, s->rp.pdy);
		pthread_mutex_unlock(&s->screen->cursorMutex);
		pixman_region32_union(&s->touched, &s->touched, &s->rp.pend);
		sra = to_sra(&s->rp.pend);
		for (int i = 0; i < s->n_viewers; i++) {
			rfbClientPtr cl = s->viewers[i]->cl;

			pthread_mutex_lock(&cl->updateMutex);
			copy_for(s, cl, sra, s->rp.pdx, s->rp.pdy);
			pthread_mutex_unlock(&cl->updateMutex);
		}
		sraRgnDestroy(sra);
		s->marked = true;
	}
	pixman_region32_clear(&s->rp.pend);
	s->rp.has_pend = false;
}

/* Tells the viewers the cursor moved or changed (sent with the next flush).
 * Under s->lock. */
static void cursor_news(struct vnc_server *s, bool moved, bool shape)
{
	for (int i = 0; i < s->n_viewers; i++) {
		rfbClientPtr cl = s->viewers[i]->cl;

		pthread_mutex_lock(&cl->updateMutex);
		if (moved && cl->enableCursorPosUpdates)
			cl->cursorWasMoved = TRUE;
		if (shape)
			cl->cursorWasChanged = TRUE;
		pthread_mutex_unlock(&cl->updateMutex);
	}
	s->marked = true;
}

/* Marks cursor c's area modified for cl, c's hotspot at (x, y). */
static void cursor_box_modified(rfbClientPtr cl, const rfbCursor *c, int x, int y)
{
	int x1 = x - c->xhot, y1 = y - c->yhot;
	int x2 = x1 + c->width, y2 = y1 + c->height;

	if (!sraClipRect2(&x1, &y1, &x2, &y2, 0, 0, cl->screen->width, cl->screen->height))
		return;
	sraRegionPtr r = sraRgnCreateRect(x1, y1, x2, y2);
	pthread_mutex_lock(&cl->updateMutex);
	sraRgnOr(cl->modifiedRegion, r);
	pthread_mutex_unlock(&cl->updateMutex);
	sraRgnDestroy(r);
}

/* Marks where the cursor is drawn into cl's picture modified. */
static void cursor_area_modified(rfbClientPtr cl, const rfbCursor *c)
{
	cursor_box_modified(cl, c, cl->cursorX, cl->cursorY);
}

/*
 * rfbSetCursor() over our viewer list (libvncserver's is the network
 * thread's): viewers that get the cursor drawn in have the old and the
 * new one's area redrawn.  Under s->lock once the network thread runs.
 */
static void set_cursor(struct vnc_server *s, rfbCursorPtr c)
{
	rfbCursorPtr old;

	pthread_mutex_lock(&s->screen->cursorMutex);
	old = s->screen->cursor;
	for (int i = 0; i < s->n_viewers; i++) {
		rfbClientPtr cl = s->viewers[i]->cl;

		if (cl->enableCursorShapeUpdates)
			continue;
		if (old)
			cursor_area_modified(cl, old);
		cursor_area_modified(cl, c);
	}
	s->screen->cursor = c;
	pthread_mutex_unlock(&s->screen->cursorMutex);
	if (old && old->cleanup)
		rfbFreeCursor(old);
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

/* Builds an RFB cursor from the mirror's shape (premultiplied ARGB).
 * Under s->lock once the network thread runs. */
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
	c->richSource = calloc(n, (size_t)s->fr.fb_bytes);
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
		if (s->fr.fb_bytes == 4) {
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
	set_cursor(s, c);
	cursor_news(s, false, true);
}

static void update_cursor_position(struct vnc_server *s, int x, int y)
{
	x -= s->fr.ox;
	y -= s->fr.oy;
	/* The viewer that moved the pointer already has it there (libvncserver's
	 * pointer handler set cursorX/Y): an equal position is not news. */
	if (x == s->screen->cursorX && y == s->screen->cursorY)
		return;
	pthread_mutex_lock(&s->screen->cursorMutex);
	s->screen->cursorX = x;
	s->screen->cursorY = y;
	pthread_mutex_unlock(&s->screen->cursorMutex);
	cursor_news(s, true, false);
}

/* After lost records: the shape if it changed, and where it is now. */
static void refresh_cursor(struct vnc_server *s)
{
	struct mirage_cursor cur;

	if (mirage_client_cursor(s->mc, &cur, NULL, 0) < 0)
		return;
	if (!s->cursor_known || cur.serial != s->cursor_serial)
		update_cursor_shape(s);
	if (cur.visible)
		update_cursor_position(s, cur.x, cur.y);
}

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

static void set_format(struct vnc_server *s)
{
	rfbPixelFormat *f = &s->screen->serverFormat;

	f->trueColour = TRUE;
	f->bigEndian = FALSE;
	if (s->fr.fb_bytes == 4) {
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
	s->fr.src_bpp = sh->bpp;
	s->fr.fb_bytes = sh->bpp == 16 ? 2 : 4;
	s->fr.ox = s->fr.oy = 0;
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
		s->fr.ox = r->left;
		s->fr.oy = r->top;
		*w = r->right - r->left;
		*h = r->bottom - r->top;
	}
	return 0;
}

/*
 * rfbNewFramebuffer() over our viewer list (libvncserver's is the network
 * thread's): a new size and format, everything modified, and a
 * DesktopSize to the viewers that support it.  Each viewer's sendMutex
 * keeps its sender's encode out meanwhile.
 */
static void new_framebuffer(struct vnc_server *s, uint8_t *fb, int w, int h)
{
	rfbScreenInfoPtr sc = s->screen;
	rfbPixelFormat old = sc->serverFormat;

	for (int i = 0; i < s->n_viewers; i++)
		pthread_mutex_lock(&s->viewers[i]->cl->sendMutex);
	pthread_mutex_lock(&sc->cursorMutex);
	sc->width = w;
	sc->height = h;
	sc->bitsPerPixel = sc->depth = 8 * s->fr.fb_bytes;
	sc->paddedWidthInBytes = w * s->fr.fb_bytes;
	sc->frameBuffer = (char *)fb;
	set_format(s);
	if (sc->cursorX >= w)
		sc->cursorX = w - 1;
	if (sc->cursorY >= h)
		sc->cursorY = h - 1;
	for (int i = 0; i < s->n_viewers; i++) {
		rfbClientPtr cl = s->viewers[i]->cl;

		if (memcmp(&old, &sc->serverFormat, sizeof(old)) != 0)
			sc->setTranslateFunction(cl);
		pthread_mutex_lock(&cl->updateMutex);
		sraRgnDestroy(cl->modifiedRegion);
		cl->modifiedRegion = sraRgnCreateRect(0, 0, w, h);
		sraRgnMakeEmpty(cl->copyRegion);
		cl->copyDX = cl->copyDY = 0;
		if (cl->useNewFBSize)
			cl->newFBSizePending = TRUE;
		pthread_mutex_unlock(&cl->updateMutex);
		pthread_mutex_unlock(&cl->sendMutex);
	}
	pthread_mutex_unlock(&sc->cursorMutex);
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
	if (s->fr.fb && w == s->fr.w && h == s->fr.h &&
	    s->screen->serverFormat.bitsPerPixel == s->fr.fb_bytes * 8) {
		pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0, (unsigned)w, (unsigned)h);
		return 0;
	}
	fb = calloc((size_t)w * h, (size_t)s->fr.fb_bytes);
	if (!fb) {
		vnc_log("framebuffer of %dx%d: out of memory", w, h);
		return -ENOMEM;
	}
	if (!s->screen) {
		int argc = 1;
		char *argv[] = { (char *)VNC_PROG, NULL };

		s->screen = rfbGetScreen(&argc, argv, w, h, 8, 3, s->fr.fb_bytes);
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
		s->old_fb = s->fr.fb;
		new_framebuffer(s, fb, w, h);
	}
	s->fr.fb = fb;
	s->fr.w = w;
	s->fr.h = h;
	set_format(s);
	pixman_region32_fini(&s->rp.dirty);
	pixman_region32_init_rect(&s->rp.dirty, 0, 0, (unsigned)w, (unsigned)h);
	pixman_region32_clear(&s->rp.copied);
	pixman_region32_init_rect(&s->rp.unsure, 0, 0, (unsigned)w, (unsigned)h);
	vnc_debug("serving %dx%d (surface %u bpp, origin %d,%d)", w, h, s->fr.src_bpp, s->fr.ox, s->fr.oy);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Viewers: serving, sender threads, the network thread                */
/* ------------------------------------------------------------------ */

static void wake_net(struct vnc_server *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vnc_debug("waking the network thread: %s", strerror(errno));
}

/*
 * Marks region modified for every viewer (after the copy scheduled for this
 * replay, so it is sent after it).  libvncserver would drop the modified
 * part inside a pending copy's destination, as if the copy came last; our
 * changes come after the copies, so that part is taken out of the copy.  A
 * viewer whose sender is writing may have encoded from pixels this replay
 * was changing: it gets everything the replay wrote as pixels, its pending
 * copy included.  Under s->lock.
 */
static void mark_modified(struct vnc_server *s, sraRegionPtr region)
{
	sraRegionPtr touched = NULL;

	for (int i = 0; i < s->n_viewers; i++) {
		struct viewer *v = s->viewers[i];
		rfbClientPtr cl = v->cl;

		pthread_mutex_lock(&cl->updateMutex);
		sraRgnSubtract(cl->copyRegion, region);
		sraRgnOr(cl->modifiedRegion, region);
		if (v->sending) {
			if (!touched)
				touched = to_sra(&s->touched);
			sraRgnOr(cl->modifiedRegion, cl->copyRegion);
			sraRgnMakeEmpty(cl->copyRegion);
			sraRgnOr(cl->modifiedRegion, touched);
		}
		pthread_mutex_unlock(&cl->updateMutex);
	}
	if (touched)
		sraRgnDestroy(touched);
}

/* Whether some viewer's sender is writing.  Under s->lock. */
static bool any_sending(const struct vnc_server *s)
{
	for (int i = 0; i < s->n_viewers; i++) {
		if (s->viewers[i]->sending)
			return true;
	}
	return false;
}

/* Bytes of raw pixels in r: what an update of r costs at most, about. */
static size_t raw_bytes(int fb_bytes, sraRegionPtr r)
{
	sraRectangleIterator *it = sraRgnGetIterator(r);
	sraRect rect;
	size_t n = 0;

	while (it && sraRgnIteratorNext(it, &rect))
		n += (size_t)(rect.x2 - rect.x1) * (rect.y2 - rect.y1) * fb_bytes + 16;
	sraRgnReleaseIterator(it);
	return n;
}

/* A WebSocket or TLS viewer's bytes go through framing and buffers of
 * libvncserver's own: its socket says little about its messages. */
static bool plain_tcp(rfbClientPtr cl)
{
	return !cl->sslctx && !cl->wsctx && cl->sock != RFB_INVALID_SOCKET;
}

/* Bytes a plain TCP viewer's socket takes now without waiting; 0 when it
 * cannot be measured. */
static size_t room(rfbClientPtr cl)
{
	int queued = 0, sndbuf = 0;
	socklen_t len = sizeof(sndbuf);

	if (ioctl(cl->sock, SIOCOUTQ, &queued) < 0 || queued < 0 ||
	    getsockopt(cl->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0 || sndbuf < 0)
		return 0;
	/* The kernel reports twice the payload it takes (bookkeeping). */
	return (size_t)queued < (size_t)sndbuf / 2 ? (size_t)sndbuf / 2 - (size_t)queued : 0;
}

/*
 * True when bytes more can be written to the viewer's socket without
 * waiting: a plain TCP connection whose send queue has that much room to
 * spare.
 */
#define SMALL_UPDATE 2048
static bool has_room(rfbClientPtr cl, size_t bytes)
{
	int queued = 0;

	if (!plain_tcp(cl) || ioctl(cl->sock, SIOCOUTQ, &queued) < 0)
		return false;
	/* No send buffer is smaller than SOCK_MIN_SNDBUF (4.6 KB): an empty
	 * queue takes a small update whatever the size now. */
	if (queued == 0 && bytes <= SMALL_UPDATE)
		return true;
	return bytes < room(cl);
}

/*
 * Writes cl's pending update (region: its modified region); may block.
 * Corked when it may not fit libvncserver's buffer (raw: its estimate):
 * then libvncserver writes it in pieces, and one segment instead of several
 * costs both ends less.  An update that fits goes in one write anyway.
 */
static void send_update(rfbClientPtr cl, sraRegionPtr region, size_t raw)
{
	bool cork = plain_tcp(cl) && raw > UPDATE_BUF_SIZE;

	pthread_mutex_lock(&cl->sendMutex);
	if (cork)
		setsockopt(cl->sock, IPPROTO_TCP, TCP_CORK, &(int){ 1 }, sizeof(int));
	rfbSendFramebufferUpdate(cl, region);
	if (cork && cl->sock != RFB_INVALID_SOCKET)
		setsockopt(cl->sock, IPPROTO_TCP, TCP_CORK, &(int){ 0 }, sizeof(int));
	pthread_mutex_unlock(&cl->sendMutex);
}

/* The viewer's modified region when it asked for an update and one is due
 * (NULL otherwise). */
static sraRegionPtr update_due(rfbClientPtr cl)
{
	sraRegionPtr r = NULL;

	if (cl->sock == RFB_INVALID_SOCKET)
		return NULL;
	pthread_mutex_lock(&cl->updateMutex);
	if (cl->state == RFB_NORMAL && !cl->onHold && !sraRgnEmpty(cl->requestedRegion) &&
	    FB_UPDATE_PENDING(cl))
		r = sraRgnCreateRgn(cl->modifiedRegion);
	pthread_mutex_unlock(&cl->updateMutex);
	return r;
}

static void *sender_main(void *data);

/* Whether an update waits for the viewer's request, or a request for its
 * update. */
static bool update_or_request_waits(rfbClientPtr cl)
{
	bool waits;

	pthread_mutex_lock(&cl->updateMutex);
	waits = !sraRgnEmpty(cl->requestedRegion) || FB_UPDATE_PENDING(cl);
	pthread_mutex_unlock(&cl->updateMutex);
	return waits;
}

/*
 * Whole messages only.  libvncserver reads a viewer's message to its end,
 * waiting seconds for the rest (rfbMaxClientWait; 5 s seen here), and the
 * network thread reads every viewer: one that sent half a message would hold up
 * the input of all of them.  So before it reads a plain TCP viewer, the
 * network thread peeks at what came, and when a message is not all there
 * (vnc_message_size, message.c) it raises SO_RCVLOWAT to the message's
 * size (or to its header's, when the header says how long the rest is)
 * and reads nobody's message yet: the socket turns readable once the rest
 * is there, or the viewer hangs up, and then the rest never comes: the
 * viewer is read as it is, and libvncserver closes it at the end of its
 * stream.  A message of a type we do not know, or longer than
 * VNC_PARTIAL_MAX (a long cut text), is read as libvncserver reads it.
 */

/*
 * Requests without a wake-up.  A viewer answers each update with its next
 * FramebufferUpdateRequest (10 bytes), and waking the network thread only
 * to read it costs as much CPU as the rest of a small update.  So after an
 * update, the socket's SO_RCVLOWAT is raised above the size of a request:
 * a lone request does not make the socket readable, and the next flush
 * reads it (take_requests) just before it is needed.  Input comes at once
 * all the same: a key or pointer event after the request makes the socket
 * readable, and the network thread, once woken, lowers it again to read
 * everything.  Plain TCP viewers only: a WebSocket or TLS viewer's bytes
 * are framed.
 */
#define REQUEST_LOWAT (sz_rfbFramebufferUpdateRequestMsg + 1)

/* Sets the viewer's SO_RCVLOWAT; whether it took val (the kernel caps it
 * at half the receive buffer).  Under s->lock. */
static bool set_rcvlowat(struct viewer *v, int val)
{
	rfbClientPtr cl = v->cl;
	int got = 0;
	socklen_t len = sizeof(got);

	if (v->rcvlowat == val)
		return true;
	if (!plain_tcp(cl) || setsockopt(cl->sock, SOL_SOCKET, SO_RCVLOWAT, &val, sizeof(val)) < 0)
		return false;
	/* The kernel caps it at half the receive buffer, never below 1 KB. */
	if (val <= REQUEST_LOWAT)
		got = val;
	else if (getsockopt(cl->sock, SOL_SOCKET, SO_RCVLOWAT, &got, &len) < 0)
		got = 1;
	v->rcvlowat = got;
	return got == val;
}

/* Raises or lowers the viewer's SO_RCVLOWAT for its requests, unless it
 * waits for the end of a message (the network thread's).  Under s->lock. */
static void set_lowat(struct viewer *v, bool raise)
{
	if (!v->partial)
		set_rcvlowat(v, raise ? REQUEST_LOWAT : 1);
}

/*
 * Reads the requests (and key events) that wait below the viewer's
 * SO_RCVLOWAT, whole messages only; anything else is left to the network
 * thread, woken by lowering SO_RCVLOWAT.  Under s->lock.
 */
static void take_requests(struct viewer *v)
{
	rfbClientPtr cl = v->cl;
	unsigned char buf[64];
	ssize_t got;

	if (v->rcvlowat != REQUEST_LOWAT || v->partial ||
	    pthread_mutex_trylock(&v->read_lock) != 0)
		return; /* nothing waits, or the network thread reads it now */
	got = recv(cl->sock, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	for (ssize_t at = 0; at < got && cl->sock != RFB_INVALID_SOCKET;) {
		ssize_t need = 0;

		if (buf[at] == rfbFramebufferUpdateRequest || buf[at] == rfbKeyEvent)
			need = (ssize_t)vnc_message_size(cl->state, buf + at, (size_t)(got - at));
		if (need == 0 || got - at < need) {
			set_lowat(v, false);
			break;
		}
		rfbProcessClientMessage(cl);
		at += need;
		if (at == (ssize_t)sizeof(buf))
			set_lowat(v, false); /* there may be more */
	}
	pthread_mutex_unlock(&v->read_lock);
}

/* Whether libvncserver draws the cursor into the framebuffer for cl's
 * updates (a viewer without cursor shape updates). */
static bool draws_cursor(const struct vnc_server *s, rfbClientPtr cl)
{
	return !cl->enableCursorShapeUpdates && s->screen->cursor;
}

/*
 * The top rows of region r whose raw pixels take at most three quarters of
 * space bytes (an encoding may come out larger than its estimate), or NULL
 * when not one row does.
 */
static sraRegionPtr fit_band(const struct vnc_server *s, sraRegionPtr r, size_t space)
{
	sraRectangleIterator *it = sraRgnGetIterator(r);
	int x1 = INT32_MAX, y1 = INT32_MAX, x2 = INT32_MIN;
	size_t rects = 0, row, budget = space / 4 * 3;
	sraRegionPtr band;
	sraRect rect;

	while (it && sraRgnIteratorNext(it, &rect)) {
		x1 = rect.x1 < x1 ? rect.x1 : x1;
		y1 = rect.y1 < y1 ? rect.y1 : y1;
		x2 = rect.x2 > x2 ? rect.x2 : x2;
		rects++;
	}
	sraRgnReleaseIterator(it);
	row = (size_t)(x2 - x1) * (size_t)s->fr.fb_bytes;
	if (rects == 0 || row == 0 || budget <= 16 * rects + row)
		return NULL;
	band = sraRgnCreateRect(x1, y1, x2, y1 + (int)((budget - 16 * rects) / row));
	sraRgnAnd(band, r);
	return band;
}

/*
 * A viewer that gets the cursor drawn in.  libvncserver draws it into the
 * framebuffer every viewer is encoded from, sends, and only then takes it
 * out again: a write that waited in between (a viewer that stopped
 * reading) would leave it in every other viewer's picture, and the pixels
 * the main thread read meanwhile under it would be put back stale.  So
 * such a viewer is sent only what its socket takes at once, here, under
 * s->lock, as nobody changes the framebuffer: a band of the update when
 * the whole does not fit (the rest goes at its next request), and nothing
 * while its socket is full: the network thread waits for room (out_wait)
 * and drops the viewer after maxClientWait.  A sender thread of another
 * viewer may encode meanwhile: it gets the cursor's area again.  Plain TCP
 * viewers only (the others' sockets cannot be measured).
 */
static void serve_drawn(struct vnc_server *s, struct viewer *v, sraRegionPtr r, size_t raw)
{
	rfbClientPtr cl = v->cl;
	sraRegionPtr band = NULL;

	if (!has_room(cl, raw)) {
		band = fit_band(s, r, room(cl));
		if (!band || sraRgnEmpty(band)) {
			if (band)
				sraRgnDestroy(band);
			if (!v->out_wait) {
				v->out_wait = true;
				v->out_since = now_ms();
				wake_net(s); /* to poll it for room */
			}
			return;
		}
		r = band;
		raw = raw_bytes(s->fr.fb_bytes, band);
	}
	v->out_wait = false;
	set_lowat(v, true);
	send_update(cl, r, raw);
	for (int i = 0; i < s->n_viewers; i++) {
		if (s->viewers[i] != v && s->viewers[i]->sending)
			cursor_box_modified(s->viewers[i]->cl, s->screen->cursor, cl->cursorX,
					    cl->cursorY);
	}
	if (update_or_request_waits(cl))
		set_lowat(v, false);
	if (band)
		sraRgnDestroy(band);
}

/*
 * Sends the viewer its update if it asked for one and one is due: from this
 * thread when the socket takes the whole of it at once (under s->lock, so
 * nothing changes the framebuffer meanwhile), else from the viewer's sender
 * thread, so that a viewer that stopped reading never makes anyone else
 * wait.  Under s->lock.
 */
static void serve(struct vnc_server *s, struct viewer *v)
{
	sraRegionPtr r;
	size_t raw;

	if (v->sending || v->stop)
		return;
	take_requests(v);
	if (!(r = update_due(v->cl))) {
		v->out_wait = false; /* nothing waits for room */
		/* The next message must wake the network thread. */
		if (v->rcvlowat == REQUEST_LOWAT && update_or_request_waits(v->cl))
			set_lowat(v, false);
		return;
	}
	raw = raw_bytes(s->fr.fb_bytes, r);
	if (draws_cursor(s, v->cl) && plain_tcp(v->cl)) {
		serve_drawn(s, v, r, raw);
	} else if (has_room(v->cl, raw)) {
		/* Raised before the update goes: the viewer's request for
		 * the next one comes back sooner than a system call. */
		set_lowat(v, true);
		send_update(v->cl, r, raw);
		/* More may be due already (a DesktopSize goes alone): then
		 * its request must wake us. */
		if (update_or_request_waits(v->cl))
			set_lowat(v, false);
	} else {
		set_lowat(v, false);
		if (!v->has_thread) {
			int ret = pthread_create(&v->thread, NULL, sender_main, v);

			if (ret != 0) {
				vnc_log("viewer %s: no sender thread (%s): dropped",
					v->cl->host ? v->cl->host : "?", strerror(ret));
				rfbCloseClient(v->cl);
				wake_net(s);
				sraRgnDestroy(r);
				return;
			}
			v->has_thread = true;
		}
		v->sending = true;
		pthread_cond_signal(&v->cond);
	}
	sraRgnDestroy(r);
}

/*
 * A viewer's sender thread: writes the updates its socket could not take at
 * once, without s->lock.  The main thread may change the framebuffer
 * meanwhile; mark_modified sends such a viewer again whatever the replays
 * wrote, which repairs anything encoded half-written.
 */
static void *sender_main(void *data)
{
	struct viewer *v = data;
	struct vnc_server *s = v->s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!v->sending && !v->stop)
			pthread_cond_wait(&v->cond, &s->lock);
		if (v->stop)
			break;
		sraRegionPtr r = update_due(v->cl);

		pthread_mutex_unlock(&s->lock);
		if (r) {
			send_update(v->cl, r, 0);
			sraRgnDestroy(r);
		}
		pthread_mutex_lock(&s->lock);
		v->sending = false;
		/* A request read meanwhile may be due at once; the network
		 * thread reads the viewer again (or lets it go) either way. */
		serve(s, v);
		wake_net(s);
	}
	v->sending = false;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Sends the update to each viewer that asked for one.  Under s->lock. */
static void serve_all(struct vnc_server *s)
{
	for (int i = 0; i < s->n_viewers; i++)
		serve(s, s->viewers[i]);
}

/*
 * Stops a viewer's sender, closes the viewer (if it is not yet) and frees
 * it: from the network thread, or at the end once that thread is gone.
 */
static void let_go(struct vnc_server *s, struct viewer *v)
{
	rfbClientPtr cl = v->cl;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->n_viewers; i++) {
		if (s->viewers[i] == v) {
			s->viewers[i] = s->viewers[--s->n_viewers];
			break;
		}
	}
	v->stop = true;
	/* A write under way ends at once. */
	if (v->sending && cl->sock != RFB_INVALID_SOCKET)
		shutdown(cl->sock, SHUT_RDWR);
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&s->lock);
	if (v->has_thread)
		pthread_join(v->thread, NULL);
	vnc_debug("viewer %s gone", cl->host ? cl->host : "?");
	if (cl->sock != RFB_INVALID_SOCKET)
		rfbCloseClient(cl);
	rfbClientConnectionGone(cl);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->read_lock);
	free(v);
}

/* Cut text the X thread left for the viewers (network thread). */
static void send_cut_text(struct vnc_server *s)
{
	char *utf8, *latin1;
	int len, latin1_len;

	pthread_mutex_lock(&s->cut_lock);
	utf8 = s->cut_utf8;
	latin1 = s->cut_latin1;
	len = s->cut_len;
	latin1_len = s->cut_latin1_len;
	s->cut_utf8 = s->cut_latin1 = NULL;
	pthread_mutex_unlock(&s->cut_lock);
	if (!utf8)
		return;
	/* Blocks at most maxClientWait for a viewer that stopped reading. */
	rfbSendServerCutTextUTF8(s->screen, utf8, len, latin1, latin1_len);
	free(utf8);
	free(latin1);
}

/*
 * Accepts a connection as libvncserver's own listener thread does (not
 * with rfbProcessNewConnection(), which counts the open descriptors with
 * one fcntl() per possible descriptor: 25 ms per viewer under a large
 * RLIMIT_NOFILE), into the door (door.h): libvncserver gets it once its
 * first bytes are there.
 */
static void accept_viewer(struct vnc_server *s, int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		vnc_log("accepting a viewer: %s", strerror(errno));
		/* Out of descriptors: the connection stays pending and the
		 * listening socket readable; do not spin on it. */
		usleep(100 * 1000);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	vnc_doors_add(&s->doors, fd, now_ms());
}

/*
 * Hands a connection from the door to libvncserver.  A quiet one (a plain
 * RFB viewer, waiting for the server to speak) would still cost
 * rfbNewClient()'s WebSocket sniff its 100 ms of waiting, with this thread,
 * and bytes that came meanwhile would make it spin.  So libvncserver is
 * given a stand-in: one end of a socket pair whose first bytes, "RFB ",
 * end the sniff at once; libvncserver writes its ProtocolVersion there, and
 * on_greet, before anything else looks at the viewer, forwards it to the
 * connection and puts the connection in the stand-in's place (same
 * descriptor number, so libvncserver never knows).
 */
static enum rfbNewClientAction on_new_client(rfbClientPtr cl);

static void admit(struct vnc_server *s, int fd, enum vnc_door kind, const char *host)
{
	int pair[2];

	if (kind != VNC_DOOR_QUIET) {
		/* Its first bytes are there: the sniff does not wait. */
		rfbNewClient(s->screen, fd);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		vnc_log("viewer %s refused: socketpair: %s", host, strerror(errno));
		close(fd);
		return;
	}
	if (write(pair[1], "RFB ", 4) != 4) {
		vnc_log("viewer %s refused: stand-in socket: %s", host, strerror(errno));
		close(pair[0]);
		close(pair[1]);
		close(fd);
		return;
	}
	s->stand_in = pair[1];
	s->stand_in_for = fd;
	snprintf(s->stand_in_host, sizeof(s->stand_in_host), "%s", host);
	/* Failing, libvncserver closes pair[0] (or the connection, once it
	 * took the stand-in's place) itself. */
	rfbNewClient(s->screen, pair[0]);
	if (s->stand_in_for >= 0)
		close(s->stand_in_for); /* refused before on_greet */
	close(pair[1]);
	s->stand_in = s->stand_in_for = -1;
}

/*
 * The stand-in's end (admit): forwards the ProtocolVersion libvncserver
 * wrote and puts the connection in the stand-in's place.  0 or -errno.
 */
static int take_stand_in(struct vnc_server *s, rfbClientPtr cl)
{
	char pv[sz_rfbProtocolVersionMsg];
	int fd = s->stand_in_for;
	char *host;

	if (recv(s->stand_in, pv, sizeof(pv), MSG_DONTWAIT) != (ssize_t)sizeof(pv))
		return -EPROTO;
	/* A new connection's send queue is empty: 12 bytes always fit. */
	if (send(fd, pv, sizeof(pv), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(pv))
		return errno ? -errno : -EIO;
	host = strdup(s->stand_in_host);
	if (!host)
		return -ENOMEM;
	if (dup3(fd, cl->sock, O_CLOEXEC) < 0) {
		free(host);
		return -errno;
	}
	close(fd);
	s->stand_in_for = -1;
	free(cl->host);
	cl->host = host;
	return 0;
}

/* newClientHook: libvncserver has a new viewer (network thread). */
static enum rfbNewClientAction on_greet(rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	enum rfbNewClientAction ret;

	if (s->stand_in >= 0 && s->stand_in_for >= 0) {
		int err = take_stand_in(s, cl);

		if (err < 0) {
			vnc_log("viewer %s refused: %s", s->stand_in_host, strerror(-err));
			return RFB_CLIENT_REFUSE;
		}
	}
	ret = on_new_client(cl);
	if (ret == RFB_CLIENT_ACCEPT) {
		struct viewer *v = cl->clientData;

		v->since = now_ms(); /* the handshake's clock (expire) */
	}
	return ret;
}

/*
 * Whether the network thread may read the viewer poll() found readable:
 * -1 when a read would wait (the main thread read it meanwhile:
 * take_requests), the bytes to wait for when its next message is not all
 * there, else 0 (read it; an end of stream too: the read reports it).
 * hung: the viewer hung up, so what is there is all that comes: read it
 * (libvncserver then finds the end of stream and closes the viewer).  One
 * peek tells the common case: requests and input events are smaller than
 * the buffer.
 */
static int read_state(rfbClientPtr cl, bool hung)
{
	unsigned char b[16];
	ssize_t got;
	size_t need;
	int avail;

	if (!plain_tcp(cl))
		return 0;
	got = recv(cl->sock, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
	if (got == 0 || hung)
		return 0;
	need = vnc_message_size(cl->state, b, (size_t)got);
	if (need <= (size_t)got || need > VNC_PARTIAL_MAX ||
	    ioctl(cl->sock, FIONREAD, &avail) < 0 || (size_t)avail >= need)
		return 0;
	return (int)need;
}

/*
 * A viewer still in the RFB handshake after this long is dropped, and no
 * more than HANDSHAKING_MAX are in it at once (one more drops the one that
 * began first): a person types a password in a minute, and connections
 * that only hold a viewer slot do not lock anyone out.
 */
#define HANDSHAKE_MS 60000

/*
 * How often the network thread looks whether a viewer's socket has room
 * again for an update that waits (serve_drawn).  Not POLLOUT: the kernel
 * says writable once a third of the queue drained, has_room() wants half
 * the buffer free, and in between poll() would return at once, again and
 * again.
 */
#define OUT_RETRY_MS 20
#define HANDSHAKING_MAX 16

/* Polls and slots: the wake-up, two listeners, the door, the viewers. */
#define NET_FDS (3 + VNC_DOORS_MAX + VIEWERS_MAX)

/*
 * Closes the viewers that overstayed: in the handshake (HANDSHAKE_MS, or
 * the oldest beyond HANDSHAKING_MAX) or waiting for room in their socket
 * longer than maxClientWait (serve_drawn).  Sets *timeout to the ms until
 * the next one's time is up (or leaves it).  Under s->lock.
 */
static void expire(struct vnc_server *s, int64_t now, int *timeout)
{
	struct viewer *oldest = NULL;
	int handshaking = 0;

	for (int i = 0; i < s->n_viewers; i++) {
		struct viewer *v = s->viewers[i];
		rfbClientPtr cl = v->cl;
		int64_t until = -1;

		if (cl->sock == RFB_INVALID_SOCKET)
			continue;
		if (cl->state != RFB_NORMAL) {
			handshaking++;
			if (!oldest || v->since < oldest->since)
				oldest = v;
			if (now >= v->since + HANDSHAKE_MS) {
				vnc_log("viewer %s dropped: no handshake within %d s",
					cl->host ? cl->host : "?", HANDSHAKE_MS / 1000);
				rfbCloseClient(cl);
				continue;
			}
			until = v->since + HANDSHAKE_MS;
		} else if (v->out_wait) {
			if (now >= v->out_since + s->screen->maxClientWait) {
				vnc_log("viewer %s dropped: it has not read its updates for %d s",
					cl->host ? cl->host : "?", s->screen->maxClientWait / 1000);
				rfbCloseClient(cl);
				continue;
			}
			/* Looked at again soon: see OUT_RETRY_MS. */
			until = v->out_since + s->screen->maxClientWait;
			if (until > now + OUT_RETRY_MS)
				until = now + OUT_RETRY_MS;
		}
		if (until >= 0 && (*timeout < 0 || until - now < *timeout))
			*timeout = (int)(until - now);
	}
	if (handshaking > HANDSHAKING_MAX && oldest) {
		vnc_log("viewer %s dropped: %d viewers in the handshake already",
			oldest->cl->host ? oldest->cl->host : "?", HANDSHAKING_MAX);
		rfbCloseClient(oldest->cl);
	}
}

/*
 * The network thread: takes connections in at the door and hands them to
 * libvncserver, reads what viewers send (libvncserver's non-threaded mode,
 * one message per viewer per round), serves a viewer whose request comes
 * after its update was ready (or whose socket has room again), and lets
 * closed viewers go.  A viewer whose sender is writing is not read (only
 * its hang-up is watched): libvncserver must not close it from two threads.
 */
static void *net_main(void *data)
{
	struct vnc_server *s = data;
	struct pollfd fds[NET_FDS];
	struct viewer *who[NET_FDS];

	while (!atomic_load(&s->net_stop)) {
		struct viewer *gone[VIEWERS_MAX];
		rfbClientPtr cl;
		int n = 0, n_gone = 0, first_door, first_viewer, fd, timeout;
		int64_t now = now_ms();
		enum vnc_door kind;
		char host[64];

		fds[n++] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = s->screen->listenSock, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = s->screen->listen6Sock, .events = POLLIN };
		first_door = n;
		n += vnc_doors_fill(&s->doors, fds + n);
		first_viewer = n;
		timeout = vnc_doors_timeout(&s->doors, now);
		pthread_mutex_lock(&s->lock);
		expire(s, now, &timeout);
		for (int i = 0; i < s->n_viewers; i++) {
			struct viewer *v = s->viewers[i];

			cl = v->cl;
			if (cl->sock == RFB_INVALID_SOCKET) {
				gone[n_gone++] = v;
				continue;
			}
			who[n] = v;
			fds[n++] = (struct pollfd){
				.fd = cl->sock,
				.events = v->sending ? POLLRDHUP : POLLIN | POLLRDHUP,
			};
		}
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < n_gone; i++)
			let_go(s, gone[i]);
		if (n_gone > 0)
			continue;

		if (poll(fds, (nfds_t)n, timeout) < 0) {
			if (errno != EINTR)
				vnc_log("network thread: poll: %s", strerror(errno));
			continue;
		}
		if (fds[0].revents) {
			uint64_t count;

			if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				vnc_debug("network thread: %s", strerror(errno));
			send_cut_text(s);
		}
		now = now_ms();
		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < s->n_viewers; i++) {
			if (s->viewers[i]->out_wait)
				serve(s, s->viewers[i]);
		}
		pthread_mutex_unlock(&s->lock);
		while ((fd = vnc_doors_next(&s->doors, fds + first_door, first_viewer - first_door,
					    now, &kind, host, sizeof(host))) >= 0)
			admit(s, fd, kind, host);
		for (int i = 1; i <= 2; i++) {
			if (fds[i].revents & POLLIN)
				accept_viewer(s, fds[i].fd);
		}
		for (int i = first_viewer; i < n; i++) {
			struct viewer *v;
			int wait;
			bool hung;

			if (!fds[i].revents)
				continue;
			v = who[i];
			cl = v->cl;
			hung = fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR);
			if (!(fds[i].events & POLLIN)) {
				/* Hung up while its sender writes: make the
				 * write fail, the sender closes it. */
				if (hung)
					shutdown(fds[i].fd, SHUT_RDWR);
				continue;
			}
			if (!(fds[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
				continue;
			pthread_mutex_lock(&v->read_lock);
			wait = read_state(cl, hung);
			if (wait > 0) {
				pthread_mutex_lock(&s->lock);
				v->partial = set_rcvlowat(v, wait);
				pthread_mutex_unlock(&s->lock);
				if (v->partial) {
					pthread_mutex_unlock(&v->read_lock);
					continue;
				}
			}
			while (wait >= 0 && cl->sock != RFB_INVALID_SOCKET) {
				rfbProcessClientMessage(cl);
				if (!webSocketsHasDataInBuffer(cl))
					break;
			}
			pthread_mutex_unlock(&v->read_lock);
			if (cl->sock != RFB_INVALID_SOCKET) {
				pthread_mutex_lock(&s->lock);
				/* Whatever else waits wakes us at once. */
				v->partial = false;
				set_lowat(v, false);
				serve(s, v);
				pthread_mutex_unlock(&s->lock);
			}
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Viewer callbacks (the network thread)                               */
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
		vnc_input_pointer(s->input, mask, x + s->fr.ox, y + s->fr.oy);
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

/*
 * VNC authentication, each failure logged and counted per address.  An
 * address blocked meanwhile (by another of its connections, let in
 * before the block) is refused whatever it sent, so that parallel
 * connections do not multiply its tries.
 */
static rfbBool check_password(rfbClientPtr cl, const char *response, int len)
{
	struct vnc_server *s = cl->screen->screenData;
	const char *host = cl->host ? cl->host : "?";

	if (vnc_throttle_refuse(s->auth_fails, host))
		return FALSE;
	if (!rfbCheckPasswordByList(cl, response, len)) {
		vnc_throttle_fail(s->auth_fails, host, "wrong password");
		return FALSE;
	}
	vnc_throttle_clear(s->auth_fails, host);
	return TRUE;
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	struct viewer *v;
	int ret;

	/* A blocked address gets no challenge to answer. */
	if (s->auth_fails && vnc_throttle_refuse(s->auth_fails, cl->host ? cl->host : "?"))
		return RFB_CLIENT_REFUSE;
	v = calloc(1, sizeof(*v));
	ret = v ? vnc_close_guard(cl) : -ENOMEM;
	if (ret < 0) {
		vnc_log("viewer %s refused: %s", cl->host ? cl->host : "?", strerror(-ret));
		free(v);
		return RFB_CLIENT_REFUSE;
	}
	if (s->n_viewers >= VIEWERS_MAX) {
		vnc_log("viewer %s refused: %d viewers already", cl->host ? cl->host : "?",
			VIEWERS_MAX);
		free(v);
		return RFB_CLIENT_REFUSE;
	}
	if (s->n_viewers == s->cap_viewers) {
		int cap = s->cap_viewers ? 2 * s->cap_viewers : 8;
		struct viewer **list;

		/* Under the lock: realloc frees the array the main thread walks. */
		pthread_mutex_lock(&s->lock);
		list = realloc(s->viewers, (size_t)cap * sizeof(*list));
		if (list) {
			s->viewers = list;
			s->cap_viewers = cap;
		}
		pthread_mutex_unlock(&s->lock);
		if (!list) {
			vnc_log("viewer %s refused: out of memory", cl->host ? cl->host : "?");
			free(v);
			return RFB_CLIENT_REFUSE;
		}
	}
	vnc_debug("viewer %s connected", cl->host ? cl->host : "?");
	v->s = s;
	v->cl = cl;
	v->rcvlowat = 1;
	pthread_cond_init(&v->cond, NULL);
	pthread_mutex_init(&v->read_lock, NULL);
	cl->clientData = v;
	pthread_mutex_lock(&s->lock);
	s->viewers[s->n_viewers++] = v;
	if (s->unwatched)
		vnc_server_wake(s); /* the framebuffer is behind: read it again */
	pthread_mutex_unlock(&s->lock);
	if (s->opt->view_only)
		cl->viewOnly = TRUE;
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
	s->wake_fd = -1;
	s->stand_in = s->stand_in_for = -1;
	/* libvncserver logs every connection to stderr; only with -vv. */
	if (opt->verbose < 2) {
		rfbLog = log_quiet;
		rfbErr = log_quiet;
	}
	vnc_replay_init(&s->rp);
	pixman_region32_init(&s->touched);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->cut_lock, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		ret = -errno;
		vnc_log("eventfd: %s", strerror(errno));
		goto fail;
	}

	if (inet_pton(AF_INET, opt->listen_addr, &addr) != 1) {
		vnc_log("--listen %s: not an IPv4 address", opt->listen_addr);
		ret = -EINVAL;
		goto fail;
	}
	loopback = (ntohl(addr.s_addr) >> 24) == 127;
	if (opt->password_file) {
		struct vnc_throttle_params tp;

		ret = read_password(s, opt->password_file);
		if (ret == 0)
			ret = vnc_throttle_params_from_env(&tp);
		if (ret == 0)
			ret = vnc_throttle_create(&s->auth_fails, &tp, "viewer");
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
	s->screen->newClientHook = on_greet;
	s->screen->cursor = NULL;
	if (s->passwords[0]) {
		s->screen->authPasswdData = s->passwords;
		s->screen->passwordCheck = check_password;
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
	ret = pthread_create(&s->net, NULL, net_main, s);
	if (ret != 0) {
		vnc_log("network thread: %s", strerror(ret));
		ret = -ret;
		goto fail;
	}
	s->net_started = true;
	*out = s;
	return 0;
fail:
	vnc_server_destroy(s);
	return ret;
}

/*
 * Reads dirty from the surface, marks it for the viewers and sends the
 * viewers that asked for one their update.  Under s->lock.
 */
static void flush(struct vnc_server *s)
{
	const struct mirage_surface_header *sh = mirage_client_surface(s->mc);
	pixman_region32_t changed;
	sraRegionPtr sra;

	s->fr.src = mirage_client_pixels(s->mc);
	s->fr.src_stride = sh ? sh->stride : 0;
	schedule_copy(s);
	vnc_replay_verify(&s->rp, &s->fr);
	/* cursorMutex: a sender of a viewer without cursor shape updates
	 * may be drawing the cursor into the framebuffer (rfbShowCursor). */
	pthread_mutex_lock(&s->screen->cursorMutex);
	int64_t token = mirage_client_pixels_begin(s->mc);
	pixman_region32_init(&changed);
	vnc_replay_read_dirty(&s->rp, &s->fr, &changed);
	if (mirage_client_pixels_exact(s->mc, token))
		pixman_region32_subtract(&s->rp.unsure, &s->rp.unsure, &s->rp.dirty);
	else
		pixman_region32_union(&s->rp.unsure, &s->rp.unsure, &s->rp.dirty);
	pthread_mutex_unlock(&s->screen->cursorMutex);
	pixman_region32_union(&s->touched, &s->touched, &changed);
	if (pixman_region32_not_empty(&changed) ||
	    (pixman_region32_not_empty(&s->touched) && any_sending(s))) {
		sra = to_sra(&changed);
		mark_modified(s, sra);
		s->marked = true;
		sraRgnDestroy(sra);
		s->flushes++;
	}
	pixman_region32_fini(&changed);
	if (s->marked)
		serve_all(s);
	s->marked = false;
	pixman_region32_clear(&s->rp.dirty);
	pixman_region32_clear(&s->touched);
}

/* Forgets the replay under way: its copy and what it read or wrote. */
static void drop_replay(struct vnc_server *s)
{
	pixman_region32_clear(&s->rp.copied);
	pixman_region32_clear(&s->rp.pend);
	pixman_region32_clear(&s->touched);
	s->rp.has_pend = false;
}

/*
 * With no viewer nobody needs the pixels: the records are still read (the
 * cursor, the end of the pipe), but nothing is copied, compared or moved.
 * The first viewer's replay then reads the whole surface: only what differs
 * from the framebuffer is marked, and that viewer's first picture, if it was
 * sent before, gets the difference as its next update.
 */
static void watch_or_not(struct vnc_server *s)
{
	bool unwatched = s->n_viewers == 0;

	if (unwatched == s->unwatched)
		return;
	s->unwatched = unwatched;
	drop_replay(s);
	if (unwatched)
		pixman_region32_clear(&s->rp.dirty);
	else
		pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0, (unsigned)s->fr.w,
					   (unsigned)s->fr.h);
}

/* Whether a viewer came while there was none (on_new_client wakes us). */
static bool viewer_came(struct vnc_server *s)
{
	bool came;

	pthread_mutex_lock(&s->lock);
	came = s->unwatched && s->n_viewers > 0;
	pthread_mutex_unlock(&s->lock);
	return came;
}

/* flush() outside a replay. */
static void flush_locked(struct vnc_server *s)
{
	pthread_mutex_lock(&s->lock);
	flush(s);
	pthread_mutex_unlock(&s->lock);
}

/* After ASSERT_OFF or a lost producer: map the current pipe again.  tick
 * (the caller's) is asked between tries: a producer that is our own child
 * and has ended (the embedded Xorg) is not waited for. */
static int follow_new_pipe(struct vnc_server *s, int (*tick)(void *data), void *data)
{
	int ret = -ENOTCONN;

	/* A producer that restarts (a new Xorg generation) needs a moment. */
	for (int i = 0; i < 50 && !vnc_quit; i++) {
		if (tick && (ret = tick(data)) < 0)
			return ret;
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
	pthread_mutex_lock(&s->lock);
	ret = setup_framebuffer(s);
	if (ret == 0)
		update_cursor_shape(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
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
			pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0, (unsigned)s->fr.w,
						   (unsigned)s->fr.h);
			refresh_cursor(s);
			continue;
		}
		for (uint32_t i = 0; i < count; i++) {
			const struct mirage_record *r = &s->recs[i];

			switch (r->type) {
			case MIRAGE_REC_SCREEN_SCREEN:
				if (!s->unwatched)
					vnc_replay_copy(&s->rp, &s->fr, r);
				break;
			case MIRAGE_REC_BLIT:
			case MIRAGE_REC_SOLIDFILL:
			case MIRAGE_REC_TEXTOUT:
				if (!s->unwatched)
					vnc_replay_add_dirty(&s->rp, &s->fr, &r->rect);
				break;
			case MIRAGE_REC_PTR_SHAPE:
				update_cursor_shape(s);
				break;
			case MIRAGE_REC_PTR_ENGAGE:
				update_cursor_position(s, r->point.x, r->point.y);
				break;
			case MIRAGE_REC_ASSERT_ON:
				/* (Re)started mirroring: the surface may be anything. */
				pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0,
							   (unsigned)s->fr.w, (unsigned)s->fr.h);
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
			drop_replay(s);
			ret = follow_new_pipe(s, tick, data);
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
		if (w == 0 && !viewer_came(s))
			continue;
		busy = !idle || now_ms() < next;
		sleep_until(next);
		/* One replay: drain reads the records, flush moves and
		 * writes the pixels and marks them. */
		pthread_mutex_lock(&s->lock);
		watch_or_not(s);
		ret = drain(s);
		if (ret < 0) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		if (ret == 1) {
			drop_replay(s);
			/* Not held over the reconnection's retries: the
			 * viewers' input goes on meanwhile. */
			pthread_mutex_unlock(&s->lock);
			ret = follow_new_pipe(s, tick, data);
			if (ret < 0)
				break;
			pthread_mutex_lock(&s->lock);
		}
		if (!s->unwatched)
			flush(s);
		pthread_mutex_unlock(&s->lock);
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
	char *latin1 = malloc(len + 1), *utf8;
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
	utf8 = malloc(len + 1);
	if (!utf8) {
		free(latin1);
		return;
	}
	memcpy(utf8, text, len);
	utf8[len] = '\0';
	/* Sent by the network thread: only it may walk the viewers without
	 * s->lock, and a viewer that stopped reading must not hold this
	 * thread.  Text not sent yet is replaced. */
	pthread_mutex_lock(&s->cut_lock);
	free(s->cut_utf8);
	free(s->cut_latin1);
	s->cut_utf8 = utf8;
	s->cut_latin1 = latin1;
	s->cut_len = (int)len;
	s->cut_latin1_len = (int)n;
	pthread_mutex_unlock(&s->cut_lock);
	wake_net(s);
}

void vnc_server_origin(const struct vnc_server *s, int *x, int *y)
{
	*x = s->fr.ox;
	*y = s->fr.oy;
}

void vnc_server_destroy(struct vnc_server *s)
{
	if (!s)
		return;
	if (s->net_started) {
		atomic_store(&s->net_stop, true);
		wake_net(s);
		pthread_join(s->net, NULL);
	}
	vnc_doors_finish(&s->doors);
	if (s->screen) {
		while (s->n_viewers > 0)
			let_go(s, s->viewers[0]);
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
		  (unsigned long long)s->flushes, (unsigned long long)s->rp.copies,
		  (unsigned long long)s->rp.copied_px, (unsigned long long)s->rp.checked_px);
	vnc_replay_fini(&s->rp);
	pixman_region32_fini(&s->touched);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->cut_lock);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->cut_utf8);
	free(s->cut_latin1);
	free(s->viewers);
	free(s->fr.fb);
	free(s->old_fb);
	if (s->passwords[0]) {
		explicit_bzero(s->passwords[0], strlen(s->passwords[0]));
		free(s->passwords[0]);
	}
	vnc_throttle_destroy(s->auth_fails);
	free(s);
}
