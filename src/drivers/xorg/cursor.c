/* SPDX-License-Identifier: MIT */
/*
 * The cursor (mirage-xorg.h: struct mx_cursor): the server's cursor shape
 * converted to premultiplied ARGB, the core pointer polled at each batch,
 * and with Pointer.Enabled=1 the cursor composed into the surface over a
 * save-under in the shadow lines (src/common/compose.c).  The records the
 * composition needs are the caller's (batch.c): these functions only say
 * which box changed.
 */
#include "mirage-xorg.h"
#include "compose.h"

#include <string.h>

#include <cursorstr.h>
#include <dixevents.h>
#include <inputstr.h>
#include <mipointer.h>
#include <mipointrst.h>
#include <servermd.h>

bool mx_cursor_set_shape(struct mx_screen *ms, const struct mirage_settings *set,
			 CursorPtr cursor)
{
	CursorBitsPtr bits = cursor->bits;
	uint32_t w = bits->width, h = bits->height;
	int ret;

	if (w > MIRAGE_CURSOR_MAX)
		w = MIRAGE_CURSOR_MAX;
	if (h > MIRAGE_CURSOR_MAX)
		h = MIRAGE_CURSOR_MAX;
	if (bits->argb) {
		for (uint32_t y = 0; y < h; y++)
			memcpy(ms->cur.argb + y * w, bits->argb + (size_t)y * bits->width,
			       w * sizeof(uint32_t));
	} else {
		/* A core cursor: two bitmaps and two colours, server bit order. */
		uint32_t fg = 0xff000000u | (uint32_t)(cursor->foreRed >> 8) << 16 |
			      (uint32_t)(cursor->foreGreen >> 8) << 8 | (cursor->foreBlue >> 8);
		uint32_t bg = 0xff000000u | (uint32_t)(cursor->backRed >> 8) << 16 |
			      (uint32_t)(cursor->backGreen >> 8) << 8 | (cursor->backBlue >> 8);
		int pad = BitmapBytePad(bits->width);

		for (uint32_t y = 0; y < h; y++) {
			const uint8_t *src = bits->source + (size_t)y * pad;
			const uint8_t *msk = bits->mask + (size_t)y * pad;

			for (uint32_t x = 0; x < w; x++) {
#if BITMAP_BIT_ORDER == LSBFirst
				int bit = 1 << (x & 7);
#else
				int bit = 0x80 >> (x & 7);
#endif
				uint32_t p = 0;

				if (msk[x >> 3] & bit)
					p = (src[x >> 3] & bit) ? fg : bg;
				ms->cur.argb[y * w + x] = p;
			}
		}
	}
	ms->cur.w = w;
	ms->cur.h = h;
	ms->cur.hot_x = bits->xhot;
	ms->cur.hot_y = bits->yhot;
	ms->cur.serial = cursor->serialNumber;
	ms->cur.shape_dirty = false;
	if (!set->pointer_enabled) {
		ret = mirage_driver_set_cursor_shape(ms->drv, w, h, ms->cur.hot_x, ms->cur.hot_y,
						     ms->cur.argb);
		if (ret < 0) {
			LogMessage(X_WARNING, "mirage: %s: cursor shape not published: %s\n",
				   ms->name, mirage_last_error());
			return false;
		}
	}
	return true;
}

/* Where the core pointer is, if on this screen. */
static bool cursor_where(struct mx_screen *ms, int32_t *x, int32_t *y)
{
	DeviceIntPtr dev = inputInfo.pointer;
	int px = 0, py = 0;

	if (!dev || miPointerGetScreen(dev) != ms->screen)
		return false;
	miPointerGetPosition(dev, &px, &py);
	*x = px;
	*y = py;
	return true;
}

void mx_cursor_update(struct mx_screen *ms, const struct mirage_settings *set)
{
	CursorPtr cur = inputInfo.pointer ? GetSpriteCursor(inputInfo.pointer) : NULL;
	int32_t x = 0, y = 0;
	bool on = cursor_where(ms, &x, &y);
	bool visible = on && cur && !ms->cur.hidden;

	if (cur && (ms->cur.shape_dirty || cur->serialNumber != ms->cur.serial))
		mx_cursor_set_shape(ms, set, cur);
	if (!set->pointer_enabled) {
		if (!ms->cur.known || x != ms->cur.x || y != ms->cur.y ||
		    visible != ms->cur.visible) {
			mirage_driver_set_cursor_position(ms->drv, x, y, visible);
			ms->stats.rec_cursor++;
		}
	}
	ms->cur.x = x;
	ms->cur.y = y;
	ms->cur.visible = visible;
	ms->cur.known = true;
}

static struct compose_cursor cursor_of(const struct mx_screen *ms)
{
	return (struct compose_cursor){ .argb = ms->cur.argb, .width = ms->cur.w,
					.height = ms->cur.h, .x = ms->cur.x - ms->cur.hot_x,
					.y = ms->cur.y - ms->cur.hot_y };
}

static BoxRec box_of(const struct compose_box *cb)
{
	return (BoxRec){ .x1 = (short)cb->x1, .y1 = (short)cb->y1, .x2 = (short)cb->x2,
			 .y2 = (short)cb->y2 };
}

bool mx_cursor_box(const struct mx_screen *ms, const struct compose_surface *s, BoxRec *b)
{
	struct compose_cursor cc = cursor_of(ms);
	struct compose_box cb;

	if (!ms->cur.visible || !compose_clip(&cc, s, &cb))
		return false;
	*b = box_of(&cb);
	return true;
}

/* The save-under: the box's rows packed one after another at the start of
 * the shadow lines. */
static uint8_t *shadow_of(const struct compose_surface *s)
{
	return s->pixels + (size_t)s->height * s->stride;
}

bool mx_cursor_remove(struct mx_screen *ms, const struct compose_surface *s, BoxRec *changed)
{
	const BoxRec *d = &ms->cur.drawn_box;
	struct compose_box cb = { d->x1, d->y1, d->x2, d->y2 };

	if (!ms->cur.drawn)
		return false;
	compose_restore(s, &cb, shadow_of(s));
	mirage_driver_set_shadow_status(ms->drv, MIRAGE_SHADOW_EXISTS);
	*changed = *d;
	ms->stats.rec_cursor++;
	ms->cur.drawn = false;
	return true;
}

bool mx_cursor_draw(struct mx_screen *ms, const struct compose_surface *s,
		    uint32_t shadow_lines, BoxRec *changed)
{
	struct compose_cursor cc = cursor_of(ms);
	struct compose_box cb;

	/* A save-under that does not fit the shadow lines: no cursor drawn
	 * rather than a surface that cannot be put back. */
	if (!ms->cur.visible || !ms->cur.argb || !compose_clip(&cc, s, &cb) ||
	    compose_save_size(s, &cb) > (size_t)shadow_lines * s->stride)
		return false;
	compose_draw(s, &cc, &cb, shadow_of(s));
	mirage_driver_set_shadow_status(ms->drv, MIRAGE_SHADOW_EXISTS | MIRAGE_SHADOW_IN_USE);
	ms->cur.drawn = true;
	ms->cur.drawn_box = box_of(&cb);
	*changed = ms->cur.drawn_box;
	ms->stats.rec_cursor++;
	return true;
}

/* ------------------------------------------------------------------ */
/* The software cursor                                                 */
/* ------------------------------------------------------------------ */

/*
 * A driver without a hardware cursor for a shape (the dummy driver has
 * none for ARGB cursors) leaves the cursor to misprite, which draws it into
 * the framebuffer and takes it out again (restoring what was under it)
 * before any drawing over it and inside GetImage.  None of that changes
 * what the screen shows (GetImage never sees the cursor), so damage
 * reported while the sprite draws is ignored, and batch.c reads the pixels
 * around the cursor through the root window's GetImage, which takes it out
 * first.
 *
 * misprite draws from the pointer's sprite functions (wrapped below) and
 * from a block handler it puts on top of the chain whenever the cursor
 * was taken out, with GCs and a Picture of its own: those are recognised
 * as created or used while a sprite function runs, and marked.  The depth
 * is per thread: the input thread moves hardware cursors while the main
 * thread renders.
 */
static _Thread_local int sprite_depth;

bool mx_in_sprite(void)
{
	return sprite_depth > 0;
}

void mx_sprite_enter(void)
{
	sprite_depth++;
}

void mx_sprite_leave(void)
{
	sprite_depth--;
}

bool mx_sprite_box(struct mx_screen *ms, BoxRec *box)
{
	DeviceIntPtr dev = inputInfo.pointer;
	CursorPtr cur = dev ? GetSpriteCursor(dev) : NULL;
	int x = 0, y = 0;
	const int pad = 8; /* misprite saves a margin around the cursor */

	if (!cur || miPointerGetScreen(dev) != ms->screen)
		return false;
	miPointerGetPosition(dev, &x, &y);
	x -= cur->bits->xhot;
	y -= cur->bits->yhot;
	box->x1 = mx_clamp16(x - pad);
	box->y1 = mx_clamp16(y - pad);
	box->x2 = mx_clamp16(x + (int)cur->bits->width + pad);
	box->y2 = mx_clamp16(y + (int)cur->bits->height + pad);
	return true;
}

bool mx_sprite_mark(bool *mark)
{
	if (sprite_depth > 0)
		*mark = true;
	if (*mark)
		sprite_depth++;
	return *mark;
}

/* ------------------------------------------------------------------ */
/* Sprite functions                                                    */
/* ------------------------------------------------------------------ */

/* What we wrapped, per screen; kept past CloseScreen in case someone
 * wrapped after us and our functions stay in the chain. */
static miPointerSpriteFuncPtr sprite_below[MAXSCREENS];

static miPointerSpriteFuncPtr sprite_funcs(ScreenPtr screen)
{
	return sprite_below[screen->myNum];
}

static Bool sprite_realize(DeviceIntPtr dev, ScreenPtr screen, CursorPtr cursor)
{
	return sprite_funcs(screen)->RealizeCursor(dev, screen, cursor);
}

static Bool sprite_unrealize(DeviceIntPtr dev, ScreenPtr screen, CursorPtr cursor)
{
	return sprite_funcs(screen)->UnrealizeCursor(dev, screen, cursor);
}

bool mx_screen_cursor = true;

static void sprite_set(DeviceIntPtr dev, ScreenPtr screen, CursorPtr cursor, int x, int y)
{
	/* ScreenCursor off: the layers below (a hardware cursor, misprite)
	 * are only ever told to show none.  The pointer's cursor itself is
	 * the dix sprite's, which the records follow (batch.c). */
	if (!mx_screen_cursor)
		cursor = NULL;
	sprite_depth++;
	sprite_funcs(screen)->SetCursor(dev, screen, cursor, x, y);
	sprite_depth--;
}

static void sprite_move(DeviceIntPtr dev, ScreenPtr screen, int x, int y)
{
	sprite_depth++;
	sprite_funcs(screen)->MoveCursor(dev, screen, x, y);
	sprite_depth--;
}

static Bool sprite_init(DeviceIntPtr dev, ScreenPtr screen)
{
	Bool ret;

	sprite_depth++;
	ret = sprite_funcs(screen)->DeviceCursorInitialize(dev, screen);
	sprite_depth--;
	return ret;
}

static void sprite_cleanup(DeviceIntPtr dev, ScreenPtr screen)
{
	sprite_depth++;
	sprite_funcs(screen)->DeviceCursorCleanup(dev, screen);
	sprite_depth--;
}

static const miPointerSpriteFuncRec sprite_wrapper = {
	.RealizeCursor = sprite_realize,
	.UnrealizeCursor = sprite_unrealize,
	.SetCursor = sprite_set,
	.MoveCursor = sprite_move,
	.DeviceCursorInitialize = sprite_init,
	.DeviceCursorCleanup = sprite_cleanup,
};

void mx_sprite_wrap(struct mx_screen *ms)
{
	miPointerScreenPtr mp = dixLookupPrivate(&ms->screen->devPrivates, miPointerScreenKey);

	if (!mp || !mp->spriteFuncs || mp->spriteFuncs == &sprite_wrapper ||
	    ms->screen->myNum < 0 || ms->screen->myNum >= MAXSCREENS)
		return;
	sprite_below[ms->screen->myNum] = mp->spriteFuncs;
	mp->spriteFuncs = (miPointerSpriteFuncPtr)&sprite_wrapper;
}

void mx_sprite_unwrap(struct mx_screen *ms)
{
	miPointerScreenPtr mp = dixLookupPrivate(&ms->screen->devPrivates, miPointerScreenKey);

	/* Only if nobody wrapped after us; else ours stays and calls down. */
	if (mp && mp->spriteFuncs == &sprite_wrapper)
		mp->spriteFuncs = sprite_below[ms->screen->myNum];
}
