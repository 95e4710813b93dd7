/* SPDX-License-Identifier: MIT */
/*
 * The cursor: its shape from the mirror's cursor records, cropped and
 * masked for libvncserver, its position, and what the viewers that get it
 * drawn into their picture must repaint (server.h).
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

#include "server.h"

/* Tells the viewers the cursor moved or changed (sent with the next flush).
 * Under s->lock. */
void vnc_cursor_news(struct vnc_server *s, bool moved, bool shape)
{
	for (int i = 0; i < s->vw.n; i++) {
		rfbClientPtr cl = s->vw.list[i]->cl;

		pthread_mutex_lock(&cl->updateMutex);
		if (moved && cl->enableCursorPosUpdates)
			cl->cursorWasMoved = TRUE;
		if (shape)
			cl->cursorWasChanged = TRUE;
		pthread_mutex_unlock(&cl->updateMutex);
	}
	s->vw.marked = true;
}

/* Marks cursor c's area modified for cl, c's hotspot at (x, y). */
void vnc_cursor_box_modified(rfbClientPtr cl, const rfbCursor *c, int x, int y)
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
	vnc_cursor_box_modified(cl, c, cl->cursorX, cl->cursorY);
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
	for (int i = 0; i < s->vw.n; i++) {
		rfbClientPtr cl = s->vw.list[i]->cl;

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
void vnc_cursor_update_shape(struct vnc_server *s)
{
	static uint32_t argb[MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX];
	struct mirage_cursor cur;
	rfbCursorPtr c;
	size_t n;

	if (mirage_client_cursor(s->mc, &cur, argb, MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX) < 0)
		return;
	s->cur.serial = cur.serial;
	s->cur.known = true;
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
	vnc_cursor_news(s, false, true);
}

void vnc_cursor_update_position(struct vnc_server *s, int x, int y)
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
	vnc_cursor_news(s, true, false);
}

/* After lost records: the shape if it changed, and where it is now. */
void vnc_cursor_refresh(struct vnc_server *s)
{
	struct mirage_cursor cur;

	if (mirage_client_cursor(s->mc, &cur, NULL, 0) < 0)
		return;
	if (!s->cur.known || cur.serial != s->cur.serial)
		vnc_cursor_update_shape(s);
	if (cur.visible)
		vnc_cursor_update_position(s, cur.x, cur.y);
}

