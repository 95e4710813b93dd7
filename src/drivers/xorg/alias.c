/* SPDX-License-Identifier: MIT */
/*
 * Cap.DfbBackingMode 2: the surface *is* the screen's framebuffer.
 *
 * When the screen pixmap lives in CPU memory with the surface's format and
 * stride, we copy its content into the surface and point the pixmap's
 * storage at the surface pixels: the X server then renders straight into
 * the shared surface, and a batch only publishes records (no pixel is read
 * or moved: the server already did it).  Otherwise mode 2 falls back to
 * copying (mode 3) and says why in the log and in `miragectl status`.
 *
 * The one rule: the screen pixmap must never point at a surface that is
 * about to be unmapped.  The surface of a pipe goes away on a resize
 * (mirage_driver_resize unmaps the old pipe before returning), after a
 * settings change that made a new pipe (after impl->settings_changed
 * returns) and when the mirror is destroyed.  So the server's own storage
 * (pixels copied back) is restored:
 *  - in impl->settings_changed and impl->detach (module.c);
 *  - before mirage_driver_resize and mirage_driver_destroy (module.c);
 *  - whenever anyone else calls ModifyPixmapHeader on the aliased screen
 *    pixmap (a RandR resize: the driver changes the size, often passing the
 *    current pointer, i.e. ours, back in): we restore first and hand the
 *    driver its own storage, so a larger screen can never spill past the
 *    surface;
 *  - at CloseScreen (through mirror_stop).
 * The block handler aliases again once the new pipe is in place.
 */
#include "mirage-xorg.h"

#include <string.h>

/* Why the screen cannot render into the surface now, or NULL. */
static const char *refusal(struct mx_screen *ms, PixmapPtr pix,
			   const struct mirage_surface_header *h, const uint8_t *pixels)
{
	if (mirage_driver_settings(ms->drv)->pointer_enabled)
		return "Pointer.Enabled=1 draws the cursor into the surface, which would "
		       "draw it into the screen";
	if (ms->cur.sw)
		return "the server draws a software cursor into the screen, which would "
		       "draw it into the surface";
	if (!mx_fb_pixels(pix))
		return mx_read_getimage ?
		       "the screen pixmap is not in CPU memory (Option \"ScreenRead\" \"getimage\")" :
		       "the screen pixmap is not in CPU memory";
	if (!pixels || !h || h->bpp == 0)
		return "the mirror has no surface";
	if (h->bpp != pix->drawable.bitsPerPixel ||
	    !((h->bpp == 32 && ms->screen_format == PIXMAN_x8r8g8b8) ||
	      (h->bpp == 16 && ms->screen_format == PIXMAN_r5g6b5)))
		return "the surface format differs from the screen's (Screen.ForcedBpp or "
		       "the visual)";
	if ((int64_t)h->stride != pix->devKind)
		return "the surface stride differs from the framebuffer's";
	if (h->width != pix->drawable.width || h->height != pix->drawable.height)
		return "the surface size differs from the screen's";
	return NULL;
}

/* Points the pixmap's storage at ptr/stride, keeping everything else. */
static void set_storage(struct mx_screen *ms, PixmapPtr pix, void *ptr, int stride)
{
	ScreenPtr screen = ms->screen;
	Bool ok;

	ms->in_modify = true;
	ok = screen->ModifyPixmapHeader(pix, pix->drawable.width, pix->drawable.height,
					pix->drawable.depth, pix->drawable.bitsPerPixel,
					stride, ptr);
	ms->in_modify = false;
	if (!ok || pix->devPrivate.ptr != ptr || pix->devKind != stride) {
		/* A layer below refused: set the fields ourselves, so the
		 * pixmap certainly points where we need it to. */
		pix->devPrivate.ptr = ptr;
		pix->devKind = stride;
		pix->drawable.serialNumber = NEXT_SERIAL_NUMBER;
	}
}

static bool start(struct mx_screen *ms)
{
	PixmapPtr pix = ms->screen->GetScreenPixmap(ms->screen);
	const struct mirage_surface_header *h = mirage_driver_surface(ms->drv);
	uint8_t *pixels = mirage_driver_pixels(ms->drv);
	const char *why;

	if (!pix)
		return false;
	why = refusal(ms, pix, h, pixels);
	if (why) {
		if (why != ms->alias_refused)
			LogMessage(X_WARNING, "mirage: %s: Cap.DfbBackingMode 2: %s; copying "
				   "instead (mode 3)\n", ms->name, why);
		ms->alias_refused = why;
		mirage_driver_set_backing_in_force(ms->drv, 3);
		return false;
	}
	/* The current picture first, then the switch: the screen never
	 * shows anything but its own content.  The full refresh that
	 * describes it goes out with the next batch. */
	mirage_driver_pixels_ahead(ms->drv);
	memcpy(pixels, pix->devPrivate.ptr, (size_t)h->stride * h->height);
	ms->own_ptr = pix->devPrivate.ptr;
	ms->own_stride = pix->devKind;
	ms->alias_pixmap = pix;
	ms->alias_ptr = pixels;
	ms->alias_stride = (int)h->stride;
	ms->alias_height = h->height;
	set_storage(ms, pix, pixels, (int)h->stride);
	ms->aliased = true;
	ms->alias_refused = NULL;
	ms->stats.alias_starts++;
	mirage_driver_set_backing_in_force(ms->drv, 2);
	ms->need_full = true;
	LogMessage(X_INFO, "mirage: %s: Cap.DfbBackingMode 2: the screen renders straight "
		   "into the surface\n", ms->name);
	return true;
}

void mx_alias_stop(struct mx_screen *ms)
{
	PixmapPtr pix = ms->alias_pixmap;

	if (!ms->aliased)
		return;
	if (pix->devPrivate.ptr == ms->alias_ptr) {
		/* The surface holds the screen: copy it back into the
		 * server's storage (which had this geometry when we took
		 * over), then give the storage back. */
		if (ms->own_stride == ms->alias_stride)
			memcpy(ms->own_ptr, ms->alias_ptr,
			       (size_t)ms->alias_stride * ms->alias_height);
		set_storage(ms, pix, ms->own_ptr, ms->own_stride);
	}
	/* Else the storage was replaced behind our back: nothing of ours is
	 * referenced any more, and own_ptr may be gone; leave it alone. */
	mx_alias_forget(ms);
}

void mx_alias_update(struct mx_screen *ms)
{
	PixmapPtr pix = ms->screen->GetScreenPixmap(ms->screen);
	bool want = ms->active && ms->drv && !ms->failed &&
		    mirage_driver_settings(ms->drv)->backing_mode == 2;

	if (ms->aliased) {
		/* Still the same pixmap, pointer and geometry? */
		if (!want || pix != ms->alias_pixmap || pix->devPrivate.ptr != ms->alias_ptr ||
		    pix->devKind != ms->alias_stride || pix->drawable.height != ms->alias_height ||
		    refusal(ms, pix, mirage_driver_surface(ms->drv), mirage_driver_pixels(ms->drv)))
			mx_alias_stop(ms);
		else
			return;
	}
	if (!want) {
		ms->alias_refused = NULL;
		return;
	}
	start(ms);
}

Bool mx_alias_modify_pixmap_header(PixmapPtr pix, int width, int height, int depth,
				       int bpp, int stride, void *data)
{
	ScreenPtr screen = pix->drawable.pScreen;
	struct mx_screen *ms = mx_screen_get(screen);
	Bool ret;

	if (ms->aliased && !ms->in_modify && pix == ms->alias_pixmap) {
		if (data && data != ms->alias_ptr) {
			/* New storage from the pixmap's owner: the alias ends;
			 * what the pixmap shows is the caller's business. */
			mx_alias_forget(ms);
		} else {
			/* A new size or stride on our surface (a RandR resize
			 * passes the current pointer back): the server's own
			 * storage first, then the change applies to it. */
			void *own = ms->own_ptr;

			mx_alias_stop(ms);
			if (data)
				data = own;
		}
	}
	screen->ModifyPixmapHeader = ms->ModifyPixmapHeader;
	ret = screen->ModifyPixmapHeader(pix, width, height, depth, bpp, stride, data);
	ms->ModifyPixmapHeader = screen->ModifyPixmapHeader;
	screen->ModifyPixmapHeader = mx_alias_modify_pixmap_header;
	return ret;
}

void mx_alias_forget(struct mx_screen *ms)
{
	if (!ms->aliased)
		return;
	ms->aliased = false;
	ms->need_full = true;
	ms->stats.alias_stops++;
	if (ms->drv)
		mirage_driver_set_backing_in_force(ms->drv, 3);
	ms->alias_pixmap = NULL;
	ms->alias_ptr = NULL;
	ms->own_ptr = NULL;
}

const char *mx_alias_state(const struct mx_screen *ms)
{
	if (!ms->drv)
		return "none";
	if (mirage_driver_settings(ms->drv)->backing_mode == 0)
		return "none";
	return ms->aliased ? "alias" : "copy";
}
