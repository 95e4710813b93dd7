/* SPDX-License-Identifier: MIT */
/*
 * The Xorg mirror module's private declarations.  Which file owns what:
 *
 *   module.c    module entry, options, per-screen life cycle (screen init,
 *               mirror start/stop, block handler, FlushCallback) and the
 *               libmirage callbacks (struct mirage_driver_impl, first in
 *               struct mx_screen, recovered with container_of)
 *   hooks.c     the wrapped screen procs and GC ops that classify
 *               operations (struct mx_ctx)
 *   batch.c     struct mx_batch: the operation log of one batch, the
 *               surface update, the records (recs) and the statistics
 *   cursor.c    struct mx_cursor (ms->cur): shape, pointer polling and
 *               the cursor composed over a save-under (Pointer.Enabled=1);
 *               the software cursor: its drawing known (mx_in_sprite)
 *               through the wrapped pointer sprite functions
 *   monitors.c  struct mx_monitors (ms->mon): the RandR monitor layout
 *   alias.c     Cap.DfbBackingMode 2: the screen pixmap in the surface
 *
 * Calls go one way: module.c -> hooks.c, batch.c, cursor.c, monitors.c, alias.c;
 * hooks.c -> batch.c, cursor.c, alias.c; batch.c -> cursor.c; cursor.c
 * and monitors.c call none of the others.  The exceptions go through the
 * server's own tables of callbacks (the wrapped procs, DAMAGE's report
 * functions, the block handler), and the module-wide helpers of module.c
 * (mx_screen_get, mx_damage_suspend/resume, mx_screen_fail).
 *
 * Names: everything internal to the module, shared between its files,
 * carries the prefix mx_ (struct mx_screen, mx_batch_flush, MX_OP_*), so
 * that nothing is mistaken for libmirage's public mirage_* API; mirage_*
 * here is always the library's.  The one exported symbol is the loader's
 * mirageModuleData.
 *
 * Everything runs on the X server's main thread; nothing here is locked.
 * Ordering within one batch (mx_batch_flush): the cursor is polled
 * first, taken out of the surface before the batch's pixels are applied
 * and drawn back after them; pixels always before the records that
 * describe them.
 */
#ifndef MIRAGE_XORG_H
#define MIRAGE_XORG_H

#include <xorg-server.h>

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

#include <xf86.h>
#include <scrnintstr.h>
#include <gcstruct.h>
#include <pixmapstr.h>
#include <windowstr.h>
#include <regionstr.h>
#include <damage.h>
#include <picturestr.h>
#include <privates.h>
#include <mipointer.h>

#include <mirage/driver.h>

#define MIRAGE_XORG_LOG "mirage"

/* What an operation of the current request is being classified as. */
struct mx_ctx {
	uint32_t type;          /* MIRAGE_REC_* of damage reported now */
	uint32_t color;         /* SOLIDFILL colour (screen pixel) */
	RegionPtr copied;       /* part of the reported damage a copy covers */
	RegionPtr exact;        /* what the op in progress can touch at most
				 * (the damage layer reports a bounding box) */
};

/* One entry of the per-batch log. */
enum mx_op_kind {
	MX_OP_DAMAGE = 0,   /* pixels changed in boxes: read them at the end */
	MX_OP_COPY = 1,     /* boxes (destination) copied from box - (dx, dy) */
};

struct mx_op {
	uint32_t kind;
	uint32_t type;
	uint32_t color;
	int32_t dx, dy;
	uint32_t first, count;  /* boxes in mx_batch.boxes */
};

/*
 * The operations of one batch of requests, in order.  Bounded: once
 * `max_boxes` is reached the rest of the batch goes into `overflow`, read
 * and published as BLIT at the end (counted, never silent).
 */
struct mx_batch {
	struct mx_op *ops;
	uint32_t nops, ops_cap;
	BoxRec *boxes;
	uint32_t nboxes, boxes_cap;
	uint32_t max_boxes;
	BoxRec extents;         /* every box logged, sources of copies included */
	bool any;
	bool overflowed;
	RegionRec overflow;
};

struct mx_stats {
	uint64_t batches;
	uint64_t ops;
	uint64_t records;
	uint64_t rec_blit, rec_text, rec_copy, rec_fill, rec_cursor;
	uint64_t rec_folded;    /* drawing rectangles folded into the record before */
	uint64_t bytes_copied;  /* written into the surface from the screen */
	uint64_t bytes_moved;   /* moved inside the surface by copies */
	uint64_t damaged_area;  /* pixels of all logged damage boxes */
	uint64_t overflow_batches;
	uint64_t collapsed_batches;
	uint64_t full_refreshes;
	uint64_t resizes;
	uint64_t errors;
	uint64_t early_flushes; /* batches published before a reply (FlushCallback) */
	uint64_t sprite_ignored; /* damage of the software cursor, ignored */
	uint64_t alias_starts;  /* Cap.DfbBackingMode 2: aliasing began */
	uint64_t alias_stops;   /* ... and ended (own storage restored) */
};

/*
 * cursor.c: the cursor as the module last saw and published it.  hooks.c
 * sets `hidden` (DisplayCursor(NULL)) and `sw` (the server drew a software
 * cursor); module.c reads and clears `wake`; the rest is cursor.c's.
 */
struct mx_cursor {
	uint32_t serial;                /* CursorRec.serialNumber shown */
	bool known;                     /* position published at least once */
	bool hidden;                    /* DisplayCursor(NULL) */
	int32_t x, y;                   /* hotspot on the screen */
	bool visible;
	uint32_t *argb;                 /* MIRAGE_CURSOR_MAX^2, premultiplied */
	uint32_t w, h;
	int32_t hot_x, hot_y;
	bool shape_dirty;               /* convert the shape again */
	/*
	 * The software cursor (hooks.c): damage while it is drawn or taken
	 * out is not the screen's content.  sw: the server drew one (the
	 * driver has no hardware cursor for some shape), so the framebuffer
	 * may hold cursor pixels; wake: reading took it out, let the server
	 * loop once more so misprite puts it back.
	 */
	bool sw;
	bool wake;
	/* Pointer.Enabled=1: cursor drawn into the surface over a save-under
	 * in the shadow lines (src/common/compose.c) */
	bool drawn;
	BoxRec drawn_box;               /* surface rect covered, clipped */
};

/*
 * monitors.c: the RandR monitor layout last published.  dirty: a RandR
 * request came since (randr_request); checked: when the list was last
 * looked at (GetTimeInMillis).
 */
struct mx_monitors {
	struct mirage_monitor table[MIRAGE_MONITORS_MAX];
	uint32_t count;
	bool known;                     /* table is what the surface holds */
	bool dirty;
	bool randr_cb;                  /* registered on XACE_EXT_DISPATCH */
	ExtensionEntry *randr_ext;      /* RandR's, for randr_request */
	CARD32 checked;
};

struct mx_screen {
	struct mirage_driver_impl impl; /* first: recovered with container_of */
	ScreenPtr screen;
	struct mirage_driver *drv;
	char name[MIRAGE_NAME_MAX];
	bool failed;            /* an error stopped mirroring for good */
	bool active;            /* attached and set up: the one per-op check */
	bool need_full;         /* refresh the whole surface at the next batch */
	bool notify_fd;         /* control socket registered with SetNotifyFd */
	bool flush_cb;          /* registered on FlushCallback */
	bool in_flush;          /* inside mx_batch_flush */
	/* Inside a copy we logged before the server performs it (CopyArea,
	 * CopyWindow): an early flush now would read the screen between the
	 * log and the copy, so it waits for the block handler. */
	uint32_t in_copy;

	DamagePtr damage;
	DamagePtr ahead;            /* reports before each operation renders */
	bool ahead_armed;           /* ahead is registered (module.c) */
	PixmapPtr damage_pixmap;    /* what both are registered on */
	struct mx_ctx ctx;
	struct mx_batch batch;

	/* geometry the pipe was made for */
	int32_t width, height;
	uint32_t native_bpp;
	pixman_format_code_t screen_format;
	PixmapPtr pixmap;
	void *pixmap_ptr;
	int pixmap_stride;

	/*
	 * Cap.DfbBackingMode 2 (alias.c): while `aliased`, alias_pixmap (the
	 * screen pixmap) stores its pixels in the surface (alias_ptr); own_ptr
	 * and own_stride are the server's storage to give back.
	 */
	bool aliased;
	bool in_modify;                 /* our own ModifyPixmapHeader call */
	PixmapPtr alias_pixmap;
	void *alias_ptr;
	int alias_stride, alias_height;
	void *own_ptr;
	int own_stride;
	const char *alias_refused;      /* why mode 2 copies instead (logged) */

	/* records of the batch being finished */
	struct mirage_record *recs;
	uint32_t nrecs, recs_cap;

	struct mx_cursor cur;            /* cursor.c */
	struct mx_monitors mon;          /* monitors.c */

	struct mx_stats stats;

	/* wrapped screen procs */
	CloseScreenProcPtr CloseScreen;
	CreateGCProcPtr CreateGC;
	CopyWindowProcPtr CopyWindow;
	DisplayCursorProcPtr DisplayCursor;
	ScreenBlockHandlerProcPtr BlockHandler;
	GlyphsProcPtr Glyphs;
	CompositeProcPtr Composite;
	ModifyPixmapHeaderProcPtr ModifyPixmapHeader;
};

/* module.c */
extern DevPrivateKeyRec mx_screen_key;
extern DevPrivateKeyRec mx_gc_key;
extern DevPrivateKeyRec mx_picture_key;

static inline struct mx_screen *mx_screen_get(ScreenPtr screen)
{
	return dixLookupPrivate(&screen->devPrivates, &mx_screen_key);
}

/* Takes our damage off the screen pixmap for one operation that logs its
 * own region (false: it is not on it); mx_damage_resume puts it back. */
bool mx_damage_suspend(struct mx_screen *ms);
void mx_damage_resume(struct mx_screen *ms);

/* Logs an error and stops mirroring this screen for good. */
void mx_screen_fail(struct mx_screen *ms, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A coordinate as a BoxRec holds it. */
static inline short mx_clamp16(int v)
{
	return (short)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* hooks.c */
bool mx_hooks_init(struct mx_screen *ms);
void mx_hooks_finish(struct mx_screen *ms);
/* True when the drawable's pixels are the screen pixmap's. */
bool mx_drawable_on_screen(DrawablePtr d);

/* alias.c: Cap.DfbBackingMode 2 */
/* Starts or stops aliasing as the settings and the screen allow (block
 * handler, after the geometry check). */
void mx_alias_update(struct mx_screen *ms);
/* Gives the screen pixmap its own storage back (pixels copied back). */
void mx_alias_stop(struct mx_screen *ms);
/* The aliased pixmap is being destroyed: forget it, touch nothing. */
void mx_alias_forget(struct mx_screen *ms);
/* "alias", "copy" or "none": how the surface is kept. */
const char *mx_alias_state(const struct mx_screen *ms);
/* The screen's ModifyPixmapHeader, wrapped (hooks.c installs it). */
Bool mx_alias_modify_pixmap_header(PixmapPtr pix, int width, int height, int depth,
				       int bpp, int stride, void *data);

/* cursor.c */
/*
 * Option "ScreenCursor": false when the server is to draw no cursor on its
 * own screens (a headless server seen only through the mirror), so that
 * no software cursor ever lands in the framebuffer.  Set once, from the
 * configuration, before any screen exists.
 */
extern bool mx_screen_cursor;
/* Inside the software cursor's drawing (this thread): damage is ignored. */
bool mx_in_sprite(void);
void mx_sprite_enter(void);
void mx_sprite_leave(void);
/* For a GC or Picture with `mark`: marks it when used inside the cursor's
 * drawing; true (and entered, for the caller to leave) when the op is the
 * cursor's. */
bool mx_sprite_mark(bool *mark);
/* The core pointer's cursor rectangle on this screen, padded; false when
 * it is not on this screen. */
bool mx_sprite_box(struct mx_screen *ms, BoxRec *box);
/* Wraps (and unwraps) the screen's pointer sprite functions, so the
 * software cursor's drawing is known as such. */
void mx_sprite_wrap(struct mx_screen *ms);
void mx_sprite_unwrap(struct mx_screen *ms);
struct compose_surface;
/* Converts and keeps the shape; publishes it unless Pointer.Enabled=1
 * composes it (false: not published, logged). */
bool mx_cursor_set_shape(struct mx_screen *ms, const struct mirage_settings *set,
			 CursorPtr cursor);
/* Polls the core pointer's position and shape and publishes what changed
 * (each batch, from mx_batch_flush). */
void mx_cursor_update(struct mx_screen *ms, const struct mirage_settings *set);
/* Pointer.Enabled=1: the surface box the cursor covers, clipped; false
 * when it is hidden or off the surface. */
bool mx_cursor_box(const struct mx_screen *ms, const struct compose_surface *s, BoxRec *b);
/* Takes the drawn cursor out (save-under restored); true, with the box
 * that changed, when there was one. */
bool mx_cursor_remove(struct mx_screen *ms, const struct compose_surface *s, BoxRec *changed);
/* Draws the cursor in over a fresh save-under in the shadow lines; true,
 * with the box that changed, when it drew. */
bool mx_cursor_draw(struct mx_screen *ms, const struct compose_surface *s,
		    uint32_t shadow_lines, BoxRec *changed);

/* monitors.c: RandR */
/* Registers for RandR requests (screen init); mx_monitors_finish undoes it. */
void mx_monitors_init(struct mx_screen *ms);
void mx_monitors_finish(struct mx_screen *ms);
/* Looks RandR's extension entry up (mirror start, before any client). */
void mx_monitors_start(struct mx_screen *ms);
/* Publishes the monitor table when it changed (block handler). */
void mx_monitors_update(struct mx_screen *ms);

/* batch.c */
void mx_batch_init(struct mx_batch *b);
void mx_batch_finish(struct mx_batch *b);
void mx_batch_reset(struct mx_batch *b);
/* Logs damage (region in screen coordinates) of the current ctx. */
void mx_batch_damage(struct mx_screen *ms, RegionPtr region);
/* Logs a screen-to-screen copy: dst region, source = dst - (dx, dy). */
void mx_batch_copy(struct mx_screen *ms, RegionPtr dst, int dx, int dy);
/*
 * Applies the batch to the surface and publishes its records.  0, or
 * -ENOMEM when the screen could not be read into the surface (the batch is
 * dropped; the caller decides whether mirroring goes on, and logs).
 */
int mx_batch_flush(struct mx_screen *ms) __attribute__((warn_unused_result));
/*
 * Option "ScreenRead" "getimage": the module treats every screen pixmap as
 * out of the CPU's reach, as it is on a GPU (glamor), so that the GetImage
 * read and mode 2's fallback run on a driver whose pixmap is CPU memory
 * (the dummy driver, in the tests).  Set once, from the configuration,
 * before any screen exists.
 */
extern bool mx_read_getimage;
/* The screen pixmap's pixels when the module may read them in place (CPU
 * memory), else NULL: then only the screen's GetImage reads them.  The one
 * place where that is decided. */
void *mx_fb_pixels(PixmapPtr pix);

#endif /* MIRAGE_XORG_H */
