/* SPDX-License-Identifier: MIT */
/*
 * Classifying operations.  The damage layer (registered on the screen
 * pixmap, module.c) tells us every pixel any operation changes; these
 * wrappers only say *what kind* of operation is running while it reports:
 * text (TEXTOUT), solid fills (SOLIDFILL), and screen-to-screen copies,
 * whose destination region and source offset they log themselves so the
 * surface can replay the copy.
 *
 * Our wrappers are installed after the damage layer's, so they run first
 * and the damage layer reports from inside the call we wrap.  While the
 * mirror is detached each wrapper makes one check (ms->active) and calls
 * down.
 */
#include "mirage-xorg.h"

#include <stdlib.h>

#include <cursorstr.h>
#include <dixevents.h>
#include <dixfont.h>
#include <dixfontstr.h>
#include <mipict.h>
#include <inputstr.h>
#include <mipointrst.h>

struct gc_priv {
	const GCFuncs *funcs;
	const GCOps *ops;
	bool sprite;            /* the software cursor's own (cursor.c) */
};

static struct gc_priv *gc_priv(GCPtr gc)
{
	return dixLookupPrivate(&gc->devPrivates, &mx_gc_key);
}

bool mx_drawable_on_screen(DrawablePtr d)
{
	ScreenPtr screen = d->pScreen;
	PixmapPtr spix = screen->GetScreenPixmap(screen);

	if (d->type == DRAWABLE_WINDOW)
		return screen->GetWindowPixmap((WindowPtr)d) == spix &&
		       ((WindowPtr)d)->viewable;
	return (PixmapPtr)d == spix;
}

/* ------------------------------------------------------------------ */
/* GC funcs                                                            */
/* ------------------------------------------------------------------ */

static const GCOps mx_gc_ops;
static const GCFuncs mx_gc_funcs;

#define FUNC_PROLOGUE(gc) \
	struct gc_priv *gp_ = gc_priv(gc); \
	(gc)->funcs = gp_->funcs; \
	if (gp_->ops) \
		(gc)->ops = gp_->ops

#define FUNC_EPILOGUE(gc) \
	gp_->funcs = (gc)->funcs; \
	(gc)->funcs = &mx_gc_funcs; \
	if (gp_->ops) { \
		gp_->ops = (gc)->ops; \
		(gc)->ops = &mx_gc_ops; \
	}

static void validate_gc(GCPtr gc, unsigned long changes, DrawablePtr d)
{
	FUNC_PROLOGUE(gc);
	gc->funcs->ValidateGC(gc, changes, d);
	/* Only drawing that can reach the screen needs classifying. */
	if (d->type == DRAWABLE_WINDOW || (PixmapPtr)d == d->pScreen->GetScreenPixmap(d->pScreen))
		gp_->ops = gc->ops;
	else
		gp_->ops = NULL;
	FUNC_EPILOGUE(gc);
}

static void change_gc(GCPtr gc, unsigned long mask)
{
	FUNC_PROLOGUE(gc);
	gc->funcs->ChangeGC(gc, mask);
	FUNC_EPILOGUE(gc);
}

static void copy_gc(GCPtr src, unsigned long mask, GCPtr dst)
{
	FUNC_PROLOGUE(dst);
	dst->funcs->CopyGC(src, mask, dst);
	FUNC_EPILOGUE(dst);
}

static void destroy_gc(GCPtr gc)
{
	FUNC_PROLOGUE(gc);
	gc->funcs->DestroyGC(gc);
	FUNC_EPILOGUE(gc);
}

static void change_clip(GCPtr gc, int type, void *value, int nrects)
{
	FUNC_PROLOGUE(gc);
	gc->funcs->ChangeClip(gc, type, value, nrects);
	FUNC_EPILOGUE(gc);
}

static void destroy_clip(GCPtr gc)
{
	FUNC_PROLOGUE(gc);
	gc->funcs->DestroyClip(gc);
	FUNC_EPILOGUE(gc);
}

static void copy_clip(GCPtr dst, GCPtr src)
{
	FUNC_PROLOGUE(dst);
	dst->funcs->CopyClip(dst, src);
	FUNC_EPILOGUE(dst);
}

static const GCFuncs mx_gc_funcs = {
	validate_gc, change_gc, copy_gc, destroy_gc, change_clip, destroy_clip, copy_clip,
};

/* ------------------------------------------------------------------ */
/* GC ops                                                              */
/* ------------------------------------------------------------------ */

/*
 * Unwrap, run the op with ms->ctx set to `type`, rewrap.  The previous
 * context is restored so nested ops (PolyText calling PolyGlyphBlt) keep
 * the outer classification.
 */
#define OP_PROLOGUE(gc, d, type_) \
	struct gc_priv *gp_ = gc_priv(gc); \
	struct mx_screen *ms_ = mx_screen_get((d)->pScreen); \
	struct mx_ctx saved_ = ms_->ctx; \
	bool sprite_ = mx_sprite_mark(&gp_->sprite); \
	(gc)->funcs = gp_->funcs; \
	(gc)->ops = gp_->ops; \
	if (ms_->active) \
		ms_->ctx.type = (type_)

#define OP_EPILOGUE(gc) \
	if (sprite_) \
		mx_sprite_leave(); \
	ms_->ctx = saved_; \
	gp_->funcs = (gc)->funcs; \
	gp_->ops = (gc)->ops; \
	(gc)->funcs = &mx_gc_funcs; \
	(gc)->ops = &mx_gc_ops

#define OP_VOID(name, type_, params, args) \
	static void op_##name params \
	{ \
		OP_PROLOGUE(gc, d, type_); \
		gc->ops->name args; \
		OP_EPILOGUE(gc); \
	}

OP_VOID(FillSpans, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int n, DDXPointPtr pt, int *w, int sorted),
	(d, gc, n, pt, w, sorted))
OP_VOID(SetSpans, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, char *src, DDXPointPtr pt, int *w, int n, int sorted),
	(d, gc, src, pt, w, n, sorted))
OP_VOID(PutImage, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int depth, int x, int y, int w, int h, int pad, int format,
	 char *bits),
	(d, gc, depth, x, y, w, h, pad, format, bits))
OP_VOID(PolyPoint, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int mode, int n, DDXPointPtr pt), (d, gc, mode, n, pt))
OP_VOID(Polylines, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int mode, int n, DDXPointPtr pt), (d, gc, mode, n, pt))
OP_VOID(PolySegment, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int n, xSegment *s), (d, gc, n, s))
OP_VOID(PolyRectangle, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int n, xRectangle *r), (d, gc, n, r))
OP_VOID(PolyArc, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int n, xArc *a), (d, gc, n, a))
OP_VOID(FillPolygon, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int shape, int mode, int n, DDXPointPtr pt),
	(d, gc, shape, mode, n, pt))
OP_VOID(PolyFillArc, MIRAGE_REC_BLIT,
	(DrawablePtr d, GCPtr gc, int n, xArc *a), (d, gc, n, a))

/*
 * What ImageText of n characters of a font whose characters all have the
 * same metrics can paint, in screen coordinates: the background from the
 * origin over their widths at the font's ascent and descent, and their ink
 * (the protocol's definition), clipped by the composite clip.  Characters
 * the font lacks are drawn as nothing: the box may be wider than what
 * changed, never narrower.
 */
static void text_region(DrawablePtr d, GCPtr gc, int x, int y, int n, RegionPtr out)
{
	FontPtr font = gc->font;
	RegionPtr clip = gc->pCompositeClip;
	const xCharInfo *m = &font->info.maxbounds;
	int last = (n - 1) * m->characterWidth, width = n * m->characterWidth;
	BoxRec box;

	RegionNull(out);
	if (n <= 0)
		return;
	x += d->x;
	y += d->y;
	box.x1 = mx_clamp16(x + min(min(0, width), min(m->leftSideBearing, last + m->leftSideBearing)));
	box.x2 = mx_clamp16(x + max(max(0, width), max(m->rightSideBearing, last + m->rightSideBearing)));
	box.y1 = mx_clamp16(y - max(FONTASCENT(font), m->ascent));
	box.y2 = mx_clamp16(y + max(FONTDESCENT(font), m->descent));
	if (clip && !clip->data) {
		/* one rectangle (the usual unobscured window): no pixman */
		box.x1 = max(box.x1, clip->extents.x1);
		box.y1 = max(box.y1, clip->extents.y1);
		box.x2 = min(box.x2, clip->extents.x2);
		box.y2 = min(box.y2, clip->extents.y2);
		clip = NULL;
	}
	if (box.x1 >= box.x2 || box.y1 >= box.y2)
		return;
	RegionInit(out, &box, 1);
	if (clip)
		RegionIntersect(out, out, clip);
}

static void image_text_down(DrawablePtr d, GCPtr gc, int x, int y, int n, unsigned char *s,
			    bool wide)
{
	if (wide)
		gc->ops->ImageText16(d, gc, x, y, n, (unsigned short *)s);
	else
		gc->ops->ImageText8(d, gc, x, y, n, (char *)s);
}

/*
 * Text is most of what a terminal draws, and the damage layer's part of
 * each string (its box, two clips, a region per listener, the report
 * after it) costs more than the rest of our work on it together.  So for
 * the usual terminal font, one whose characters all have the same metrics,
 * the region is ours (text_region) and our damage is off the screen while
 * the string is drawn (mx_damage_suspend): the damage layer's wrapper
 * then only checks that nobody else listens.
 *
 * Otherwise ImageText is ImageGlyphBlt of the string's glyphs: fb's
 * ImageText8/16 are mi's, which look the glyphs up and call ImageGlyphBlt.
 * The damage layer's ImageText wrapper looks them up a second time (and
 * allocates for it) to compute the region, which its ImageGlyphBlt
 * wrapper gets from the glyphs it is given.  So while the screen renders
 * with fb into the surface (backing mode 2, `aliased`), the lookup is done
 * here once and the call goes down as ImageGlyphBlt, damage included: the
 * same pixels and the same region.
 */
static void image_text(DrawablePtr d, GCPtr gc, int x, int y, int n, unsigned char *s,
		       bool wide)
{
	FontPtr font = gc->font;
	FontEncoding enc = FONTLASTROW(font) == 0 ? (wide ? Linear16Bit : Linear8Bit) :
						    (wide ? TwoD16Bit : TwoD8Bit);
	CharInfoPtr glyphs[255]; /* the protocol's count is one byte */
	unsigned long got = 0;

	OP_PROLOGUE(gc, d, MIRAGE_REC_TEXTOUT);
	if (ms_->active && !sprite_ && FONTCONSTMETRICS(font) && mx_drawable_on_screen(d) &&
	    mx_damage_suspend(ms_)) {
		RegionRec r;

		image_text_down(d, gc, x, y, n, s, wide);
		mx_damage_resume(ms_);
		text_region(d, gc, x, y, n, &r);
		mx_batch_damage(ms_, &r);
		RegionUninit(&r);
	} else if (!ms_->active || !ms_->aliased) {
		image_text_down(d, gc, x, y, n, s, wide);
	} else if (n > 0 && n <= 255) {
		GetGlyphs(font, (unsigned long)n, s, enc, &got, glyphs);
		if (got)
			gc->ops->ImageGlyphBlt(d, gc, x, y, (unsigned)got, glyphs,
					       FONTGLYPHS(font));
	}
	OP_EPILOGUE(gc);
}

static void op_ImageText8(DrawablePtr d, GCPtr gc, int x, int y, int n, char *s)
{
	image_text(d, gc, x, y, n, (unsigned char *)s, false);
}

static void op_ImageText16(DrawablePtr d, GCPtr gc, int x, int y, int n, unsigned short *s)
{
	image_text(d, gc, x, y, n, (unsigned char *)s, true);
}

OP_VOID(ImageGlyphBlt, MIRAGE_REC_TEXTOUT,
	(DrawablePtr d, GCPtr gc, int x, int y, unsigned int n, CharInfoPtr *ci, void *base),
	(d, gc, x, y, n, ci, base))
OP_VOID(PolyGlyphBlt, MIRAGE_REC_TEXTOUT,
	(DrawablePtr d, GCPtr gc, int x, int y, unsigned int n, CharInfoPtr *ci, void *base),
	(d, gc, x, y, n, ci, base))

static void op_PushPixels(GCPtr gc, PixmapPtr bitmap, DrawablePtr d, int w, int h, int x, int y)
{
	OP_PROLOGUE(gc, d, MIRAGE_REC_BLIT);
	gc->ops->PushPixels(gc, bitmap, d, w, h, x, y);
	OP_EPILOGUE(gc);
}

static int op_PolyText8(DrawablePtr d, GCPtr gc, int x, int y, int n, char *s)
{
	int ret;

	OP_PROLOGUE(gc, d, MIRAGE_REC_TEXTOUT);
	ret = gc->ops->PolyText8(d, gc, x, y, n, s);
	OP_EPILOGUE(gc);
	return ret;
}

static int op_PolyText16(DrawablePtr d, GCPtr gc, int x, int y, int n, unsigned short *s)
{
	int ret;

	OP_PROLOGUE(gc, d, MIRAGE_REC_TEXTOUT);
	ret = gc->ops->PolyText16(d, gc, x, y, n, s);
	OP_EPILOGUE(gc);
	return ret;
}

/*
 * The damage layer reports the bounding box of all the rectangles of one
 * PolyFillRect: a window border (four strips, painted at every focus
 * change) becomes the whole window.  ctx.exact is their union, which the
 * report is intersected with (batch.c).
 */
static void op_PolyFillRect(DrawablePtr d, GCPtr gc, int n, xRectangle *r)
{
	RegionPtr exact = NULL;

	OP_PROLOGUE(gc, d, MIRAGE_REC_BLIT);
	if (ms_->active && n > 1 && n <= 256 && mx_drawable_on_screen(d)) {
		exact = RegionFromRects(n, r, CT_UNSORTED);
		if (exact) {
			if (d->type == DRAWABLE_WINDOW)
				RegionTranslate(exact, d->x, d->y);
			ms_->ctx.exact = exact;
		}
	}
	/* A solid fill is SOLIDFILL only when the result is the colour
	 * itself: GXcopy, all planes. */
	if (ms_->active && ms_->drv && mirage_driver_settings(ms_->drv)->solidfill &&
	    gc->fillStyle == FillSolid && gc->alu == GXcopy &&
	    (gc->planemask & ((1UL << gc->depth) - 1)) == ((1UL << gc->depth) - 1)) {
		ms_->ctx.type = MIRAGE_REC_SOLIDFILL;
		ms_->ctx.color = (uint32_t)gc->fgPixel;
	}
	gc->ops->PolyFillRect(d, gc, n, r);
	OP_EPILOGUE(gc);
	if (exact)
		RegionDestroy(exact);
}

/*
 * The region CopyArea really copies on the screen, in screen coordinates:
 * the source rectangle clipped the way mi/fb clip a source (a window's
 * clip list, or what is not clipped by children with IncludeInferiors; a
 * pixmap's bounds), moved to the destination and clipped by the GC's
 * composite clip.  Returns NULL when it is not a screen-to-screen copy.
 */
static RegionPtr copy_region(DrawablePtr src, DrawablePtr dst, GCPtr gc, int sx, int sy,
			     int w, int h, int dx, int dy)
{
	BoxRec box;
	RegionPtr rgn;

	if (w <= 0 || h <= 0 || !mx_drawable_on_screen(src) ||
	    !mx_drawable_on_screen(dst) || src->pScreen != dst->pScreen ||
	    gc->alu != GXcopy ||
	    (gc->planemask & ((1UL << gc->depth) - 1)) != ((1UL << gc->depth) - 1))
		return NULL;
	box.x1 = (short)(sx + src->x);
	box.y1 = (short)(sy + src->y);
	box.x2 = (short)(box.x1 + w);
	box.y2 = (short)(box.y1 + h);
	rgn = RegionCreate(&box, 1);
	if (!rgn)
		return NULL;
	if (src->type == DRAWABLE_WINDOW) {
		WindowPtr win = (WindowPtr)src;

		if (gc->subWindowMode == IncludeInferiors) {
			if (!win->parent) {
				BoxRec b = { src->x, src->y, src->x + src->width,
					     src->y + src->height };
				RegionRec bounds;

				RegionInit(&bounds, &b, 1);
				RegionIntersect(rgn, rgn, &bounds);
				RegionUninit(&bounds);
			} else {
				RegionPtr nc = NotClippedByChildren(win);

				if (!nc) {
					RegionDestroy(rgn);
					return NULL;
				}
				RegionIntersect(rgn, rgn, nc);
				RegionDestroy(nc);
			}
		} else {
			RegionIntersect(rgn, rgn, &win->clipList);
		}
	} else {
		BoxRec b = { 0, 0, src->width, src->height };
		RegionRec bounds;

		RegionInit(&bounds, &b, 1);
		RegionIntersect(rgn, rgn, &bounds);
		RegionUninit(&bounds);
	}
	RegionTranslate(rgn, dx + dst->x - box.x1, dy + dst->y - box.y1);
	if (gc->pCompositeClip) {
		if (dst->type == DRAWABLE_WINDOW) {
			RegionIntersect(rgn, rgn, gc->pCompositeClip);
		} else {
			/* A pixmap's composite clip is in its own coordinates,
			 * which for the screen pixmap are the screen's. */
			RegionIntersect(rgn, rgn, gc->pCompositeClip);
		}
	}
	return rgn;
}

static RegionPtr op_CopyArea(DrawablePtr src, DrawablePtr d, GCPtr gc, int sx, int sy,
			     int w, int h, int dx, int dy)
{
	RegionPtr ret, copied = NULL;

	OP_PROLOGUE(gc, d, MIRAGE_REC_BLIT);
	if (ms_->active) {
		copied = copy_region(src, d, gc, sx, sy, w, h, dx, dy);
		if (copied) {
			int ox = (dx + d->x) - (sx + src->x);
			int oy = (dy + d->y) - (sy + src->y);

			mx_batch_copy(ms_, copied, ox, oy);
			ms_->ctx.copied = copied;
			ms_->in_copy++;
		}
	}
	ret = gc->ops->CopyArea(src, d, gc, sx, sy, w, h, dx, dy);
	if (copied) {
		ms_->in_copy--;
		RegionDestroy(copied);
	}
	OP_EPILOGUE(gc);
	return ret;
}

static RegionPtr op_CopyPlane(DrawablePtr src, DrawablePtr d, GCPtr gc, int sx, int sy,
			      int w, int h, int dx, int dy, unsigned long plane)
{
	RegionPtr ret;

	OP_PROLOGUE(gc, d, MIRAGE_REC_BLIT);
	ret = gc->ops->CopyPlane(src, d, gc, sx, sy, w, h, dx, dy, plane);
	OP_EPILOGUE(gc);
	return ret;
}

static const GCOps mx_gc_ops = {
	op_FillSpans, op_SetSpans, op_PutImage, op_CopyArea, op_CopyPlane, op_PolyPoint,
	op_Polylines, op_PolySegment, op_PolyRectangle, op_PolyArc, op_FillPolygon,
	op_PolyFillRect, op_PolyFillArc, op_PolyText8, op_PolyText16, op_ImageText8,
	op_ImageText16, op_ImageGlyphBlt, op_PolyGlyphBlt, op_PushPixels,
};

/* ------------------------------------------------------------------ */
/* Screen procs                                                        */
/* ------------------------------------------------------------------ */

static Bool create_gc(GCPtr gc)
{
	struct mx_screen *ms = mx_screen_get(gc->pScreen);
	struct gc_priv *gp = gc_priv(gc);
	Bool ret;

	gc->pScreen->CreateGC = ms->CreateGC;
	ret = gc->pScreen->CreateGC(gc);
	ms->CreateGC = gc->pScreen->CreateGC;
	gc->pScreen->CreateGC = create_gc;
	if (ret) {
		gp->funcs = gc->funcs;
		gp->ops = NULL;
		gp->sprite = mx_in_sprite();
		gc->funcs = &mx_gc_funcs;
	}
	return ret;
}

static void copy_window(WindowPtr win, DDXPointRec old, RegionPtr src)
{
	ScreenPtr screen = win->drawable.pScreen;
	struct mx_screen *ms = mx_screen_get(screen);
	struct mx_ctx saved = ms->ctx;
	RegionPtr copied = NULL;

	if (ms->active && screen->GetWindowPixmap(win) == screen->GetScreenPixmap(screen)) {
		int dx = win->drawable.x - old.x, dy = win->drawable.y - old.y;

		/* What fb copies: the old region moved, inside the border clip. */
		copied = RegionCreate(NULL, 1);
		if (copied) {
			RegionCopy(copied, src);
			RegionTranslate(copied, dx, dy);
			RegionIntersect(copied, copied, &win->borderClip);
			mx_batch_copy(ms, copied, dx, dy);
			ms->ctx.copied = copied;
			ms->ctx.type = MIRAGE_REC_BLIT;
			ms->in_copy++;
		}
	}
	screen->CopyWindow = ms->CopyWindow;
	screen->CopyWindow(win, old, src);
	ms->CopyWindow = screen->CopyWindow;
	screen->CopyWindow = copy_window;
	ms->ctx = saved;
	if (copied) {
		ms->in_copy--;
		RegionDestroy(copied);
	}
}

static Bool display_cursor(DeviceIntPtr dev, ScreenPtr screen, CursorPtr cursor)
{
	struct mx_screen *ms = mx_screen_get(screen);
	Bool ret;

	screen->DisplayCursor = ms->DisplayCursor;
	ret = screen->DisplayCursor(dev, screen, cursor);
	ms->DisplayCursor = screen->DisplayCursor;
	screen->DisplayCursor = display_cursor;
	/* Only the core pointer's sprite is mirrored. */
	if (IsMaster(dev) && dev->type == MASTER_POINTER) {
		ms->cur.hidden = cursor == NULL;
		if (!cursor || cursor->serialNumber != ms->cur.serial)
			ms->cur.shape_dirty = true;
		if (cursor && cursor->serialNumber != ms->cur.serial && ms->active && ms->drv) {
			const struct mirage_settings *set = mirage_driver_settings(ms->drv);

			if (!set->pointer_enabled)
				mx_cursor_set_shape(ms, set, cursor);
		}
	}
	return ret;
}

static void glyphs(CARD8 op, PicturePtr src, PicturePtr dst, PictFormatPtr mask,
		   INT16 xs, INT16 ys, int nlist, GlyphListPtr list, GlyphPtr *glyph)
{
	ScreenPtr screen = dst->pDrawable ? dst->pDrawable->pScreen : src->pDrawable->pScreen;
	PictureScreenPtr ps = GetPictureScreen(screen);
	struct mx_screen *ms = mx_screen_get(screen);
	struct mx_ctx saved = ms->ctx;

	if (ms->active)
		ms->ctx.type = MIRAGE_REC_TEXTOUT;
	ps->Glyphs = ms->Glyphs;
	ps->Glyphs(op, src, dst, mask, xs, ys, nlist, list, glyph);
	ms->Glyphs = ps->Glyphs;
	ps->Glyphs = glyphs;
	ms->ctx = saved;
}

/*
 * Render's Composite: misprite composites an ARGB cursor onto a Picture of
 * its own, marked like its GCs.
 */
static void composite(CARD8 op, PicturePtr src, PicturePtr mask, PicturePtr dst, INT16 xs,
		      INT16 ys, INT16 xm, INT16 ym, INT16 xd, INT16 yd, CARD16 w, CARD16 h)
{
	ScreenPtr screen = dst->pDrawable->pScreen;
	PictureScreenPtr ps = GetPictureScreen(screen);
	struct mx_screen *ms = mx_screen_get(screen);
	bool sprite = mx_sprite_mark(dixLookupPrivate(&dst->devPrivates, &mx_picture_key));

	ps->Composite = ms->Composite;
	ps->Composite(op, src, mask, dst, xs, ys, xm, ym, xd, yd, w, h);
	ms->Composite = ps->Composite;
	ps->Composite = composite;
	if (sprite)
		mx_sprite_leave();
}

bool mx_hooks_init(struct mx_screen *ms)
{
	ScreenPtr screen = ms->screen;
	PictureScreenPtr ps = GetPictureScreenIfSet(screen);

	ms->CreateGC = screen->CreateGC;
	screen->CreateGC = create_gc;
	ms->CopyWindow = screen->CopyWindow;
	screen->CopyWindow = copy_window;
	ms->DisplayCursor = screen->DisplayCursor;
	screen->DisplayCursor = display_cursor;
	ms->ModifyPixmapHeader = screen->ModifyPixmapHeader;
	screen->ModifyPixmapHeader = mx_alias_modify_pixmap_header;
	if (ps) {
		ms->Glyphs = ps->Glyphs;
		ps->Glyphs = glyphs;
		ms->Composite = ps->Composite;
		ps->Composite = composite;
	}
	mx_sprite_wrap(ms);
	return true;
}

void mx_hooks_finish(struct mx_screen *ms)
{
	ScreenPtr screen = ms->screen;
	PictureScreenPtr ps = GetPictureScreenIfSet(screen);

	screen->CreateGC = ms->CreateGC;
	screen->CopyWindow = ms->CopyWindow;
	screen->DisplayCursor = ms->DisplayCursor;
	screen->ModifyPixmapHeader = ms->ModifyPixmapHeader;
	if (ps && ms->Glyphs)
		ps->Glyphs = ms->Glyphs;
	if (ps && ms->Composite)
		ps->Composite = ms->Composite;
	mx_sprite_unwrap(ms);
}
