/* SPDX-License-Identifier: MIT */
/*
 * The Xorg module: `Load "mirage"` in Section "Module".
 *
 * Setup runs once, when the loader loads us: it reads the module's own
 * SubSection "mirage" options and registers an extension whose init runs in
 * every server generation after the screens exist.  That init wraps each
 * screen (hooks.c); the mirror itself (a struct mirage_driver: pipe and
 * control socket) is created at the screen's first block handler, when the
 * screen pixmap certainly exists.  Everything runs on the server's thread:
 * the control socket is served through SetNotifyFd, the batch is flushed
 * from the screen's BlockHandler.
 */
#include "mirage-xorg.h"
#include "shared.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xf86Module.h>
#include <xf86Opt.h>
#include <xf86Parser.h> /* xf86getBoolValue: xorg.conf's boolean words */
#include <extension.h>
#include <opaque.h>


DevPrivateKeyRec mx_screen_key;
DevPrivateKeyRec mx_gc_key;
DevPrivateKeyRec mx_picture_key;

/* From the SubSection, kept for every server generation. */
static struct mirage_settings conf_settings;
static char conf_name[MIRAGE_NAME_MAX];
static bool conf_loaded;

static void damage_unregister(struct mx_screen *ms);

void mx_screen_fail(struct mx_screen *ms, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	LogMessage(X_ERROR, "mirage: %s: %s; mirroring stopped\n",
		   ms->name[0] ? ms->name : "screen", msg);
	ms->stats.errors++;
	ms->failed = true;
	ms->active = false;
	/* Stop logging damage now; the driver is destroyed from the block
	 * handler, never from inside one of its own callbacks. */
	damage_unregister(ms);
	mx_batch_reset(&ms->batch);
}

/* ------------------------------------------------------------------ */
/* libmirage callbacks                                                 */
/* ------------------------------------------------------------------ */

static void sync_state(struct mx_screen *ms);

static int impl_attach(struct mirage_driver_impl *impl)
{
	struct mx_screen *ms = container_of(impl, struct mx_screen, impl);

	if (ms->failed)
		return -EIO;
	/* The refresh itself happens at the next block handler; during
	 * mirage_driver_create() ms->drv is not set yet. */
	ms->need_full = true;
	return 0;
}

static void impl_detach(struct mirage_driver_impl *impl)
{
	struct mx_screen *ms = container_of(impl, struct mx_screen, impl);

	/* Mode 2: no longer mirroring, so the server gets its own storage
	 * back now (the pipe may go away without another callback). */
	mx_alias_stop(ms);
	if (ms->drv)
		sync_state(ms);
}

static void impl_settings_changed(struct mirage_driver_impl *impl,
				  const struct mirage_settings *old)
{
	struct mx_screen *ms = container_of(impl, struct mx_screen, impl);
	const struct mirage_settings *s = mirage_driver_settings(ms->drv);

	/* Mode 2: the previous surface is still mapped, but only until we
	 * return; copy the screen back into the server's own storage now.
	 * The block handler aliases the new surface if the new settings
	 * allow it. */
	if (s->forced_bpp != old->forced_bpp || s->backing_mode != old->backing_mode ||
	    s->pointer_enabled != old->pointer_enabled)
		mx_alias_stop(ms);

	/* A new pipe (bpp, backing mode) or a cursor mode switch: the whole
	 * surface and the cursor state start over. */
	if (s->forced_bpp != old->forced_bpp || s->backing_mode != old->backing_mode ||
	    s->pointer_enabled != old->pointer_enabled) {
		ms->need_full = true;
		ms->cur.drawn = false;
		ms->cur.known = false;
		ms->cur.shape_dirty = true;
		if (s->pointer_enabled && !old->pointer_enabled)
			mirage_driver_set_cursor_position(ms->drv, ms->cur.x, ms->cur.y, false);
	}
	LogMessage(X_INFO, "mirage: %s: settings changed (ForcedBpp %d, DfbBackingMode %d, "
		   "Pointer.Enabled %d)\n", ms->name, s->forced_bpp, s->backing_mode,
		   s->pointer_enabled);
}

/* The counters as miragectl status shows them (key=value lines). */
static size_t stats_format(const struct mx_screen *ms, char *buf, size_t size)
{
	const struct mx_stats *st = &ms->stats;
	PixmapPtr pix = ms->screen->GetScreenPixmap(ms->screen);
	int n;

	n = snprintf(buf, size,
		     "screen=%d\n"
		     "fb_access=%s\n"
		     "backing=%s\n"
		     "backing_fallback=%s\n"
		     "alias_starts=%llu\n"
		     "alias_stops=%llu\n"
		     "batches=%llu\n"
		     "ops=%llu\n"
		     "records=%llu\n"
		     "records_blit=%llu\n"
		     "records_textout=%llu\n"
		     "records_screen_screen=%llu\n"
		     "records_solidfill=%llu\n"
		     "records_cursor=%llu\n"
		     "records_folded=%llu\n"
		     "bytes_copied=%llu\n"
		     "bytes_moved=%llu\n"
		     "damaged_pixels=%llu\n"
		     "batch_record_limit=%u\n"
		     "overflow_batches=%llu\n"
		     "collapsed_batches=%llu\n"
		     "full_refreshes=%llu\n"
		     "early_flushes=%llu\n"
		     "software_cursor=%d\n"
		     "sprite_damage_ignored=%llu\n"
		     "resizes=%llu\n"
		     "errors=%llu\n",
		     ms->screen->myNum,
		     ms->aliased ? "alias" : pix && mx_fb_pixels(pix) ? "direct" : "getimage",
		     mx_alias_state(ms),
		     ms->alias_refused ? ms->alias_refused : "none",
		     (unsigned long long)st->alias_starts, (unsigned long long)st->alias_stops,
		     (unsigned long long)st->batches, (unsigned long long)st->ops,
		     (unsigned long long)st->records, (unsigned long long)st->rec_blit,
		     (unsigned long long)st->rec_text, (unsigned long long)st->rec_copy,
		     (unsigned long long)st->rec_fill, (unsigned long long)st->rec_cursor,
		     (unsigned long long)st->rec_folded,
		     (unsigned long long)st->bytes_copied, (unsigned long long)st->bytes_moved,
		     (unsigned long long)st->damaged_area, ms->batch.max_boxes,
		     (unsigned long long)st->overflow_batches,
		     (unsigned long long)st->collapsed_batches,
		     (unsigned long long)st->full_refreshes,
		     (unsigned long long)st->early_flushes, ms->cur.sw,
		     (unsigned long long)st->sprite_ignored, (unsigned long long)st->resizes,
		     (unsigned long long)st->errors);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

static size_t impl_info(struct mirage_driver_impl *impl, char *buf, size_t size)
{
	struct mx_screen *ms = container_of(impl, struct mx_screen, impl);

	return stats_format(ms, buf, size);
}

static void impl_log(struct mirage_driver_impl *impl, enum mirage_log_level level,
		     const char *message)
{
	struct mx_screen *ms = container_of(impl, struct mx_screen, impl);
	MessageType type = X_INFO;
	int verb = 1;

	switch (level) {
	case MIRAGE_LOG_ERROR: type = X_ERROR; break;
	case MIRAGE_LOG_WARNING: type = X_WARNING; break;
	case MIRAGE_LOG_INFO: type = X_INFO; break;
	case MIRAGE_LOG_DEBUG: type = X_DEBUG; verb = 3; break;
	}
	LogMessageVerb(type, verb, "mirage: %s: %s\n", ms->name, message);
}

/* ------------------------------------------------------------------ */
/* Mirror life cycle                                                   */
/* ------------------------------------------------------------------ */

/*
 * The damage layer also unions every report into the damage's own region,
 * which nothing here reads: left to grow, that union costs more with every
 * operation (about a tenth of the server's time on text output).  Each
 * report empties it.
 */
static void damage_report(DamagePtr damage, RegionPtr region, void *closure)
{
	struct mx_screen *ms = closure;

	DamageEmpty(damage);
	if (!ms->active)
		return;
	/* A software cursor drawn or taken out (hooks.c): not content. */
	if (mx_in_sprite()) {
		if (!ms->in_flush)
			ms->cur.sw = true;
		ms->stats.sprite_ignored++;
		return;
	}
	mx_batch_damage(ms, region);
}

/*
 * The second damage reports before an operation renders.  In backing mode
 * 2 the screen draws straight into the surface, ahead of the records the
 * first one's report (after the operation) leads to: consumers are told so
 * (PROTOCOL.md 5.5) until the block handler has published everything.
 * Only the first operation after that matters, so the damage is registered
 * (armed) when the block handler has published everything and unregisters
 * itself at its first report: the operations after it cost the damage
 * layer one damage, not two.  (Unregistering from inside the report is
 * safe: the damage layer has already taken the next one off the list.)
 */
static void ahead_fire(struct mx_screen *ms)
{
	if (ms->aliased && ms->drv)
		mirage_driver_pixels_ahead(ms->drv);
	DamageUnregister(ms->ahead);
	ms->ahead_armed = false;
}

static void ahead_report(DamagePtr damage, RegionPtr region, void *closure)
{
	DamageEmpty(damage);
	ahead_fire(closure);
}

static void ahead_arm(struct mx_screen *ms)
{
	if (ms->ahead && !ms->ahead_armed && ms->aliased && ms->damage_pixmap) {
		DamageRegister(&ms->damage_pixmap->drawable, ms->ahead);
		ms->ahead_armed = true;
	}
}

static void damage_destroy(DamagePtr damage, void *closure)
{
	struct mx_screen *ms = closure;

	if (ms->ahead == damage) {
		ms->ahead = NULL;
		ms->ahead_armed = false;
		ms->need_full = true;
		return;
	}

	/* The damage layer frees damage with the pixmap it watched (a
	 * replaced screen pixmap); forget it, the block handler makes a new
	 * one and refreshes everything. */
	if (ms->damage == damage) {
		/* The aliased screen pixmap itself is going away: nothing
		 * to give back. */
		if (ms->aliased && ms->alias_pixmap == ms->damage_pixmap)
			mx_alias_forget(ms);
		ms->damage = NULL;
		ms->damage_pixmap = NULL;
		ms->need_full = true;
	}
}

/* The screen's pixel format in pixman terms, or 0 when unsupported. */
static pixman_format_code_t screen_format(ScreenPtr screen, PixmapPtr pix, uint32_t *native_bpp)
{
	VisualPtr vis = NULL;

	for (int i = 0; i < screen->numVisuals; i++) {
		if (screen->visuals[i].vid == screen->rootVisual) {
			vis = &screen->visuals[i];
			break;
		}
	}
	if (!vis || (vis->class != TrueColor && vis->class != DirectColor))
		return 0;
	if (pix->drawable.bitsPerPixel == 32 && pix->drawable.depth == 24) {
		*native_bpp = 32;
		if (vis->redMask == 0xff0000 && vis->greenMask == 0xff00 && vis->blueMask == 0xff)
			return PIXMAN_x8r8g8b8;
		if (vis->redMask == 0xff && vis->greenMask == 0xff00 && vis->blueMask == 0xff0000)
			return PIXMAN_x8b8g8r8;
		return 0;
	}
	if (pix->drawable.bitsPerPixel == 16 && pix->drawable.depth == 16 &&
	    vis->redMask == 0xf800 && vis->greenMask == 0x07e0 && vis->blueMask == 0x001f) {
		*native_bpp = 16;
		return PIXMAN_r5g6b5;
	}
	return 0;
}

static void control_ready(int fd, int ready, void *data)
{
	struct mx_screen *ms = data;
	int ret;

	if (!ms->drv || ms->failed)
		return;
	ret = mirage_driver_dispatch(ms->drv);
	if (ret < 0) {
		RemoveNotifyFd(fd);
		ms->notify_fd = false;
		mx_screen_fail(ms, "control socket failed: %s", strerror(-ret));
		return;
	}
	/* Attach and detach requests change what we log. */
	sync_state(ms);
}

static bool damage_watch(struct mx_screen *ms)
{
	PixmapPtr pix = ms->screen->GetScreenPixmap(ms->screen);

	if (!pix)
		return false;
	if (!ms->damage) {
		ms->damage = DamageCreate(damage_report, damage_destroy,
					  DamageReportRawRegion, TRUE, ms->screen, ms);
		if (!ms->damage) {
			mx_screen_fail(ms, "DamageCreate failed (out of memory)");
			return false;
		}
		/* Report after the operation rendered: whatever we logged
		 * is already on the screen, so a batch may be flushed at any
		 * point between operations (flush_callback). */
		DamageSetReportAfterOp(ms->damage, TRUE);
	}
	if (!ms->ahead) {
		ms->ahead = DamageCreate(ahead_report, damage_destroy, DamageReportRawRegion, TRUE,
					 ms->screen, ms);
		if (!ms->ahead) {
			mx_screen_fail(ms, "DamageCreate failed (out of memory)");
			return false;
		}
		/* (Registered by ahead_arm().) */
	}
	if (ms->damage_pixmap != pix) {
		damage_unregister(ms);
		DamageRegister(&pix->drawable, ms->damage);
		ms->damage_pixmap = pix;
	}
	return true;
}

static void damage_unregister(struct mx_screen *ms)
{
	if (!ms->damage_pixmap)
		return;
	/* What is drawn from now on is not reported. */
	if (ms->drv)
		mirage_driver_pixels_ahead(ms->drv);
	if (ms->damage)
		DamageUnregister(ms->damage);
	if (ms->ahead && ms->ahead_armed)
		DamageUnregister(ms->ahead);
	ms->ahead_armed = false;
	ms->damage_pixmap = NULL;
}

/*
 * Terminal text (hooks.c) logs its own region, so the damage layer need
 * not work out one for us: our damage is off the screen pixmap for the
 * call.  With no other listener there, the damage layer's wrapper then
 * only looks for one and calls down: no box, clips or report.  Others
 * registered on the screen still get theirs.  In backing mode 2 the
 * operation draws into the surface at once, so the first one after a
 * publish says so, as ahead_report would have.
 */
bool mx_damage_suspend(struct mx_screen *ms)
{
	if (!ms->damage_pixmap) /* set only while ms->damage is on it */
		return false;
	if (ms->ahead_armed)
		ahead_fire(ms);
	DamageUnregister(ms->damage);
	return true;
}

void mx_damage_resume(struct mx_screen *ms)
{
	if (ms->damage_pixmap)
		DamageRegister(&ms->damage_pixmap->drawable, ms->damage);
}

static void damage_unwatch(struct mx_screen *ms)
{
	damage_unregister(ms);
}

/* Makes what we log follow mirage_driver_attached(). */
static void sync_state(struct mx_screen *ms)
{
	bool attached = ms->drv && !ms->failed && mirage_driver_attached(ms->drv);

	if (attached && !ms->active) {
		if (!damage_watch(ms))
			return;
		ms->active = true;
		ms->need_full = true;
		ms->cur.drawn = false;
		ms->cur.known = false;
		ms->cur.shape_dirty = true;
		ms->mon.known = false;
	} else if (!attached && ms->active) {
		mx_alias_stop(ms);
		ms->active = false;
		damage_unwatch(ms);
		mx_batch_reset(&ms->batch);
		ms->cur.drawn = false;
	}
}

/* Records the screen's geometry; false when the format is unsupported. */
static bool read_geometry(struct mx_screen *ms)
{
	PixmapPtr pix = ms->screen->GetScreenPixmap(ms->screen);
	uint32_t bpp = 0;
	pixman_format_code_t fmt;

	if (!pix)
		return false;
	fmt = screen_format(ms->screen, pix, &bpp);
	if (!fmt) {
		mx_screen_fail(ms, "unsupported visual (depth %d, %d bpp): "
				   "only depth 24/32 bpp and depth 16 RGB 565 are mirrored",
				   pix->drawable.depth, pix->drawable.bitsPerPixel);
		return false;
	}
	ms->screen_format = fmt;
	ms->native_bpp = bpp;
	ms->width = pix->drawable.width;
	ms->height = pix->drawable.height;
	ms->pixmap = pix;
	ms->pixmap_ptr = pix->devPrivate.ptr;
	ms->pixmap_stride = pix->devKind;
	return true;
}

static void mirror_start(struct mx_screen *ms)
{
	struct mirage_driver_config cfg;
	int ret;

	mx_monitors_start(ms);
	if (!read_geometry(ms))
		return;
	mirage_driver_config_init(&cfg);
	cfg.name = ms->name;
	cfg.width = ms->width;
	cfg.height = ms->height;
	cfg.native_bpp = ms->native_bpp;
	cfg.capacity = MIRAGE_RING_DEFAULT_CAPACITY;
	cfg.settings = conf_settings;
	ms->batch.max_boxes = cfg.capacity / 2 - 256;

	ret = mirage_driver_create(&ms->drv, &cfg, &ms->impl);
	if (ret < 0) {
		ms->drv = NULL;
		mx_screen_fail(ms, "cannot create the mirror: %s", mirage_last_error());
		return;
	}
	if (!SetNotifyFd(mirage_driver_fd(ms->drv), control_ready, X_NOTIFY_READ, ms)) {
		mx_screen_fail(ms, "SetNotifyFd on the control socket failed");
		return;
	}
	ms->notify_fd = true;
	LogMessage(X_INFO, "mirage: %s: mirroring %dx%d at %u bpp, control socket %s%s\n",
		   ms->name, ms->width, ms->height, ms->native_bpp,
		   mirage_driver_socket_path(ms->drv),
		   mirage_driver_attached(ms->drv) ? " (attached)" : "");
	sync_state(ms);
}

static void mirror_stop(struct mx_screen *ms)
{
	/* before the pipe goes: the screen must not point at it */
	mx_alias_stop(ms);
	damage_unwatch(ms);
	if (ms->damage) {
		DamagePtr d = ms->damage;

		ms->damage = NULL;
		DamageDestroy(d);
	}
	if (ms->ahead) {
		DamagePtr d = ms->ahead;

		ms->ahead = NULL;
		DamageDestroy(d);
	}
	if (ms->drv) {
		if (ms->notify_fd)
			RemoveNotifyFd(mirage_driver_fd(ms->drv));
		ms->notify_fd = false;
		mirage_driver_destroy(ms->drv);
		ms->drv = NULL;
	}
	ms->active = false;
}

/* A new size or format: a new pipe; consumers reconnect. */
static void check_geometry(struct mx_screen *ms)
{
	PixmapPtr pix = ms->screen->GetScreenPixmap(ms->screen);
	void *ptr;
	int stride, ret;

	if (!pix)
		return;
	ptr = pix->devPrivate.ptr;
	stride = pix->devKind;
	if (ms->aliased && pix == ms->alias_pixmap && ptr == ms->alias_ptr) {
		/* mode 2: the server's storage is the one we put aside */
		ptr = ms->own_ptr;
		stride = ms->own_stride;
	}
	if (pix == ms->pixmap && pix->drawable.width == ms->width &&
	    pix->drawable.height == ms->height && ptr == ms->pixmap_ptr &&
	    stride == ms->pixmap_stride)
		return;
	/* Something changed: the server's own storage back first (the old
	 * pipe goes away in mirage_driver_resize). */
	mx_alias_stop(ms);
	if (pix->drawable.width == ms->width && pix->drawable.height == ms->height &&
	    ms->pixmap) {
		/* Same size, new storage: only our pointers change. */
		uint32_t old_bpp = ms->native_bpp;

		if (!read_geometry(ms))
			return;
		if (old_bpp == ms->native_bpp) {
			ms->need_full = true;
			if (ms->active)
				damage_watch(ms);
			return;
		}
	} else if (!read_geometry(ms)) {
		return;
	}
	mx_batch_reset(&ms->batch);
	ms->cur.drawn = false;
	ret = mirage_driver_resize(ms->drv, ms->width, ms->height, ms->native_bpp);
	ms->stats.resizes++;
	if (ret < 0) {
		mx_screen_fail(ms, "resize to %dx%d failed: %s", ms->width, ms->height,
				   mirage_last_error());
		return;
	}
	LogMessage(X_INFO, "mirage: %s: resized to %dx%d\n", ms->name, ms->width, ms->height);
	ms->need_full = true;
	ms->mon.known = false;
	ms->cur.known = false;
	ms->cur.shape_dirty = true;
	if (ms->active)
		damage_watch(ms);
}

/* A batch that cannot reach the surface would leave it wrong for good:
 * stop mirroring rather than publish records of pixels it lacks. */
static void flush(struct mx_screen *ms)
{
	int ret = mx_batch_flush(ms);

	if (ret < 0)
		mx_screen_fail(ms, "reading the screen into the surface failed (%s)",
				   ret == -ENOMEM ? "out of memory" : strerror(-ret));
}

static void mirror_block(struct mx_screen *ms)
{
	if (ms->failed) {
		if (ms->drv || ms->damage)
			mirror_stop(ms);
		return;
	}
	if (!ms->drv) {
		mirror_start(ms);
		if (!ms->drv || ms->failed)
			return;
	}
	sync_state(ms);
	if (!ms->active)
		return;
	check_geometry(ms);
	if (!ms->active)
		return;
	mx_alias_update(ms);
	mx_monitors_update(ms);
	flush(ms);
	/* No operation is under way here: once the batch is out, the
	 * records describe every pixel of the surface. */
	if (!ms->failed && ms->active && !ms->need_full && !ms->batch.any &&
	    !ms->batch.overflowed) {
		mirage_driver_pixels_synced(ms->drv);
		ahead_arm(ms);
	}
}

static void block_handler(ScreenPtr screen, void *timeout)
{
	struct mx_screen *ms = mx_screen_get(screen);

	screen->BlockHandler = ms->BlockHandler;
	screen->BlockHandler(screen, timeout);
	ms->BlockHandler = screen->BlockHandler;
	screen->BlockHandler = block_handler;

	mirror_block(ms);
	if (ms->cur.wake) {
		/* Reading took a software cursor out: at once around the
		 * loop, where misprite puts it back. */
		ms->cur.wake = false;
		AdjustWaitForDelay(timeout, 0);
	}
}

/*
 * The server is about to send something to a client: a reply (XSync's
 * GetInputFocus), an event, an error.  WriteToClient writes to the socket
 * at once when the client's output buffer is empty, i.e. *before* the
 * block handler runs, so a client could learn that its drawing is done
 * before the records for it are visible, and a consumer polling at that
 * moment waits for the server to get the CPU back.  Publishing the batch
 * here closes that window.  Only drawing is handled early: anything that
 * changes the geometry, the alias or the attachment waits for the block
 * handler, and so does a batch caught in the middle of a copy.
 */
static void flush_callback(CallbackListPtr *list, void *data, void *call)
{
	struct mx_screen *ms = data;
	struct mx_batch *b = &ms->batch;
	PixmapPtr pix;

	if (!ms->active || ms->failed || !ms->drv || ms->in_copy || ms->in_flush ||
	    (!b->any && !b->overflowed) || ms->need_full)
		return;
	pix = ms->screen->GetScreenPixmap(ms->screen);
	if (!pix || pix != ms->pixmap || pix->drawable.width != ms->width ||
	    pix->drawable.height != ms->height)
		return;
	if (ms->aliased ? pix->devPrivate.ptr != ms->alias_ptr :
			  (pix->devPrivate.ptr != ms->pixmap_ptr ||
			   pix->devKind != ms->pixmap_stride))
		return;
	ms->stats.early_flushes++;
	flush(ms);
}

/* ------------------------------------------------------------------ */
/* Screens                                                             */
/* ------------------------------------------------------------------ */

static Bool close_screen(ScreenPtr screen)
{
	struct mx_screen *ms = mx_screen_get(screen);
	Bool ret;

	mirror_stop(ms);
	if (ms->flush_cb)
		DeleteCallback(&FlushCallback, flush_callback, ms);
	mx_monitors_finish(ms);
	mx_hooks_finish(ms);
	screen->BlockHandler = ms->BlockHandler;
	screen->CloseScreen = ms->CloseScreen;
	mx_batch_finish(&ms->batch);
	free(ms->recs);
	free(ms->cur.argb);
	dixSetPrivate(&screen->devPrivates, &mx_screen_key, NULL);
	free(ms);
	ret = screen->CloseScreen(screen);
	return ret;
}

static void screen_init(ScreenPtr screen)
{
	struct mx_screen *ms = calloc(1, sizeof(*ms));

	if (!ms) {
		LogMessage(X_ERROR, "mirage: screen %d: out of memory; not mirrored\n",
			   screen->myNum);
		return;
	}
	ms->screen = screen;
	ms->impl.name = "xorg";
	ms->impl.attach = impl_attach;
	ms->impl.detach = impl_detach;
	ms->impl.settings_changed = impl_settings_changed;
	ms->impl.info = impl_info;
	ms->impl.log = impl_log;
	ms->ctx.type = MIRAGE_REC_BLIT;
	mx_batch_init(&ms->batch);
	ms->batch.max_boxes = MIRAGE_RING_DEFAULT_CAPACITY / 2 - 256;
	ms->cur.argb = calloc((size_t)MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX, sizeof(uint32_t));
	if (!ms->cur.argb) {
		LogMessage(X_ERROR, "mirage: screen %d: out of memory; not mirrored\n",
			   screen->myNum);
		free(ms);
		return;
	}

	if (conf_name[0])
		snprintf(ms->name, sizeof(ms->name), "%s", conf_name);
	else
		snprintf(ms->name, sizeof(ms->name), "xorg-%s", display ? display : "0");
	if (screenInfo.numScreens > 1) {
		size_t len = strlen(ms->name);

		snprintf(ms->name + len, sizeof(ms->name) - len, ".%d", screen->myNum);
	}

	dixSetPrivate(&screen->devPrivates, &mx_screen_key, ms);
	if (!DamageSetup(screen) || !mx_hooks_init(ms)) {
		LogMessage(X_ERROR, "mirage: %s: cannot hook the screen; not mirrored\n", ms->name);
		dixSetPrivate(&screen->devPrivates, &mx_screen_key, NULL);
		mx_batch_finish(&ms->batch);
		free(ms->cur.argb);
		free(ms);
		return;
	}
	ms->CloseScreen = screen->CloseScreen;
	screen->CloseScreen = close_screen;
	ms->BlockHandler = screen->BlockHandler;
	screen->BlockHandler = block_handler;
	ms->flush_cb = AddCallback(&FlushCallback, flush_callback, ms);
	if (!ms->flush_cb)
		LogMessage(X_WARNING, "mirage: %s: no FlushCallback (out of memory): records "
			   "are published at the block handler only\n", ms->name);
	mx_monitors_init(ms);
}

static void mx_extension_init(void)
{
	if (!dixRegisterPrivateKey(&mx_screen_key, PRIVATE_SCREEN, 0) ||
	    !dixRegisterPrivateKey(&mx_gc_key, PRIVATE_GC, sizeof(void *) * 4) ||
	    !dixRegisterPrivateKey(&mx_picture_key, PRIVATE_PICTURE, sizeof(bool))) {
		LogMessage(X_ERROR, "mirage: cannot register private keys; not mirroring\n");
		return;
	}
	for (int i = 0; i < screenInfo.numScreens; i++)
		screen_init(screenInfo.screens[i]);
}

static const ExtensionModule mx_ext[] = {
	{ mx_extension_init, "MIRAGE", NULL },
};

/* ------------------------------------------------------------------ */
/* Module entry                                                        */
/* ------------------------------------------------------------------ */

static void read_options(XF86OptionPtr opts)
{
	if (!conf_loaded)
		mirage_settings_init(&conf_settings);
	for (XF86OptionPtr o = opts; o; o = xf86NextOption(o)) {
		const char *key = xf86OptionName(o);
		const char *value = xf86OptionValue(o);

		if (!key)
			continue;
		if (!value)
			value = "";
		if (strcasecmp(key, "Name") == 0) {
			if (strlen(value) < 1 || strlen(value) > MIRAGE_NAME_MAX - 8 ||
			    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789._-") != strlen(value))
				LogMessage(X_ERROR, "mirage: Option \"Name\" \"%s\": use 1 to %u "
					   "characters of [A-Za-z0-9._-]; using the default\n",
					   value, MIRAGE_NAME_MAX - 8);
			else
				snprintf(conf_name, sizeof(conf_name), "%s", value);
		} else if (strcasecmp(key, "ScreenCursor") == 0) {
			Bool on;
			if (!xf86getBoolValue(&on, value)) {
				LogMessage(X_ERROR, "mirage: Option \"ScreenCursor\" \"%s\": not a "
					   "boolean (on, off); using on\n", value);
			} else {
				mx_screen_cursor = on;
				LogMessage(X_CONFIG, "mirage: Option \"ScreenCursor\" \"%s\"\n", value);
			}
		} else if (strcasecmp(key, "ScreenRead") == 0) {
			/* Only forces the decision that a GPU driver's pixmap
			 * makes (mx_fb_pixels): the code that runs is the
			 * same, so the tests cover it on the dummy driver. */
			if (strcasecmp(value, "direct") != 0 && strcasecmp(value, "getimage") != 0) {
				LogMessage(X_ERROR, "mirage: Option \"ScreenRead\" \"%s\": not "
					   "direct or getimage; using direct\n", value);
			} else {
				mx_read_getimage = strcasecmp(value, "getimage") == 0;
				LogMessage(X_CONFIG, "mirage: Option \"ScreenRead\" \"%s\"%s\n", value,
					   mx_read_getimage ? ": the screen is read through "
					   "GetImage only, as on a GPU" : "");
			}
		} else if (mirage_settings_set(&conf_settings, key, value) < 0) {
			LogMessage(X_ERROR, "mirage: Option \"%s\" \"%s\" ignored: %s\n",
				   key, value, mirage_last_error());
		} else {
			LogMessage(X_CONFIG, "mirage: Option \"%s\" \"%s\"\n", key, value);
		}
		xf86MarkOptionUsed(o);
	}
}

static void *mx_setup(void *module, void *opts, int *errmaj, int *errmin)
{
	/* `Load "mirage"` and `SubSection "mirage"` are two loads of the same
	 * module; only the second carries the options.  Both succeed, each
	 * adds its options, and the extension is registered once. */
	read_options(opts);
	if (!conf_loaded) {
		conf_loaded = true;
		LoadExtensionList(mx_ext, 1, FALSE);
	}
	return (void *)1;
}

static XF86ModuleVersionInfo mx_version = {
	"mirage",
	"mirage project",
	MODINFOSTRING1,
	MODINFOSTRING2,
	XORG_VERSION_CURRENT,
	0, 1, 0,
	ABI_CLASS_EXTENSION,
	ABI_EXTENSION_VERSION,
	MOD_CLASS_EXTENSION,
	{ 0, 0, 0, 0 }
};

_X_EXPORT XF86ModuleData mirageModuleData = { &mx_version, mx_setup, NULL };
