/* SPDX-License-Identifier: MIT */
/*
 * mirage-x11: a mirror driver that runs as an ordinary X client.  Private
 * declarations shared by its files:
 *
 *   main.c     options, signals, the event loop, losing and regaining the server
 *   display.c  the X connection: DAMAGE, MIT-SHM or Xvfb's -shmem framebuffer,
 *              XFIXES cursor, RandR, top-level window tracking
 *   refine.c   the change refinery: pixel conversion, tile comparison and
 *              copy (window move, scroll) detection against the surface
 *   cursor.c   composing the cursor into the surface with a save-under
 *
 * Everything runs on one thread.
 */
#ifndef MIRAGE_X11_H
#define MIRAGE_X11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>
#include <xcb/xcb.h>
#include <xcb/damage.h>

#include <mirage/driver.h>

/* ------------------------------------------------------------------ */
/* refine.c: pure functions on pixel buffers (unit-tested)             */
/* ------------------------------------------------------------------ */

/* A pixel buffer: line 0 at data, `stride` bytes a line, bpp 16, 24 or 32. */
struct x11_image {
	uint8_t *data;
	uint32_t stride;
	uint32_t bpp;
	int32_t width;
	int32_t height;
};

/*
 * Converts `count` pixels of the X server's ZPixmap format (bpp 16, 24 or
 * 32 with the given masks) into the surface format `dst_bpp`.
 */
void x11_convert_row(uint8_t *dst, uint32_t dst_bpp, const uint8_t *src, uint32_t src_bpp,
		     const uint32_t masks[3], uint32_t count);

/* Reads one surface pixel as 0x00RRGGBB; writes one back. */
uint32_t x11_pixel_get(const uint8_t *p, uint32_t bpp);
void x11_pixel_put(uint8_t *p, uint32_t bpp, uint32_t rgb);

/* Statistics kept by the refinery, shown by `miragectl status`. */
struct x11_refine_stats {
	uint64_t reported_pixels;  /* area of the damage the server reported */
	uint64_t compared_pixels;  /* area compared with the surface */
	uint64_t published_pixels; /* area of the BLIT records posted */
	uint64_t blits;
	uint64_t copies;           /* SCREEN_SCREEN records posted */
	uint64_t copied_pixels;
	uint64_t copy_candidates;  /* moves and scrolls considered */
	uint64_t copy_rejected;    /* candidates that failed verification */
};

/* Where copy() tells the caller about a verified copy it applied. */
typedef void (*x11_copy_fn)(void *data, const pixman_box32_t *dst, int32_t src_x, int32_t src_y);

/*
 * Tries a copy candidate: the pixels that `next` holds in dst should equal
 * those `surface` holds at dst moved by (dx, dy).  Finds the longest run of
 * rows inside dst (and inside `valid`, the part of next that is fresh) for
 * which that is exactly true; when it has at least min_rows rows and changes
 * something, applies it to surface (so surface then equals next there),
 * calls fn and returns true.  Never applies a copy it did not verify.
 */
bool x11_refine_copy(struct x11_image *surface, const struct x11_image *next,
		     const pixman_region32_t *valid, pixman_box32_t dst, int32_t dx, int32_t dy,
		     int32_t min_rows, struct x11_refine_stats *st, x11_copy_fn fn, void *data);

/*
 * Looks for a vertical scroll inside each of the n `areas` (tall damage
 * rectangles as the server reported them, whose pixels must all lie in
 * `valid`, the part of next that is fresh) by hashing sampled rows of next
 * and surface; verified copies are applied and reported through fn.
 * Returns the number of copies.
 */
int x11_refine_scrolls(struct x11_image *surface, const struct x11_image *next,
		       const pixman_region32_t *valid, const pixman_box32_t *areas, int n,
		       struct x11_refine_stats *st, x11_copy_fn fn, void *data);

/*
 * The refinery proper: compares `damage` tile by tile (tile x tile pixels)
 * between next and surface, copies the rows that differ into surface and
 * adds the changed tiles to `changed`.
 */
void x11_refine_tiles(struct x11_image *surface, const struct x11_image *next,
		      const pixman_region32_t *damage, int32_t tile, pixman_region32_t *changed,
		      struct x11_refine_stats *st);

/* ------------------------------------------------------------------ */
/* cursor.c                                                            */
/* ------------------------------------------------------------------ */

struct x11_cursor {
	/* The shape, premultiplied ARGB32, as XFIXES gave it (clipped to 256). */
	uint32_t *argb;
	uint32_t width, height;
	int32_t hot_x, hot_y;
	uint32_t serial;         /* XFIXES cursor serial */
	int32_t x, y;            /* hotspot position */
	bool visible;

	/* Composition (Pointer.Enabled=1): what is drawn into the surface. */
	bool drawn;
	pixman_box32_t drawn_box; /* surface area under the drawn cursor */
};

/*
 * Removes the drawn cursor from the surface (restores the save-under from
 * the shadow lines) and adds the area to `dirty`.  No-op when not drawn.
 */
void x11_cursor_undraw(struct x11_cursor *cur, struct x11_image *surface, uint8_t *shadow,
		       pixman_region32_t *dirty);

/*
 * Saves what lies under the cursor into the shadow lines and composes the
 * cursor onto the surface; adds the area to `dirty`.
 */
void x11_cursor_draw(struct x11_cursor *cur, struct x11_image *surface, uint8_t *shadow,
		     pixman_region32_t *dirty);

/* ------------------------------------------------------------------ */
/* display.c                                                           */
/* ------------------------------------------------------------------ */

/* Large damage rectangles remembered per pass as scroll candidates. */
#define X11_SCROLL_AREAS 16

struct x11_window {
	xcb_window_t id;
	int32_t x, y, w, h;          /* outer geometry, borders included */
	int32_t pub_x, pub_y;        /* position the surface shows */
	bool mapped;
};

struct x11_mirror {
	struct mirage_driver_impl impl; /* first: recovered with container_of */
	struct mirage_driver *drv;

	/* X connection */
	xcb_connection_t *conn;
	const char *display_name;       /* as given, or NULL for $DISPLAY */
	int display_number;
	xcb_screen_t *screen;
	xcb_window_t root;
	int32_t width, height;
	uint32_t depth, xbpp;           /* root depth and its ZPixmap bpp */
	uint32_t masks[3];              /* root visual's red, green, blue masks */
	uint32_t scanline_pad;
	uint8_t damage_event, xfixes_event, randr_event, xinput_opcode;
	bool have_randr, have_xinput;
	xcb_damage_damage_t damage;     /* 0 while detached */

	/* MIT-SHM pixel path */
	bool have_shm;
	uint32_t shmseg;
	int shmid;
	uint8_t *shm;
	size_t shm_size;

	/* Xvfb -shmem framebuffer, when found */
	const uint8_t *xvfb_fb;
	const void *xvfb_addr;
	uint32_t xvfb_stride;
	int xvfb_shmid;

	/* Per pass */
	pixman_region32_t damage_region;
	pixman_box32_t scroll_areas[X11_SCROLL_AREAS]; /* large raw damage rectangles */
	size_t nscroll_areas;
	uint64_t last_pass_ns;          /* CLOCK_MONOTONIC of the last pass that did work */
	bool size_check, pointer_moved, cursor_changed, full_refresh;

	/* The fresh pixels of this pass, in the surface format. */
	struct x11_image next;

	/* Top-level windows (children of root) for move detection */
	struct x11_window *windows;
	size_t nwindows, cap_windows;

	struct x11_cursor cursor;
	struct x11_refine_stats stats;
	uint64_t damage_events, grab_requests, grab_bytes, passes, motion_events;
	bool verbose;
	bool quiet;                      /* --wait retrying: no repeated errors */
	bool no_shm, no_xvfb;            /* --no-shm, --no-xvfb-shmem */

	/*
	 * Between mirage_driver_create() and the first surface set-up: an
	 * attach then (Cap.Bootup >= 1) waits for the surface to exist.
	 */
	bool setting_up, pending_attach;
};

int x11_display_open(struct x11_mirror *m);
void x11_display_close(struct x11_mirror *m);
/* Handles one event; returns -EPIPE-like negatives only for fatal errors. */
void x11_display_event(struct x11_mirror *m, xcb_generic_event_t *ev);
/* One pass of the pipeline: grab, refine, post, publish. */
int x11_display_flush(struct x11_mirror *m);
/*
 * Passes that do work are at least this far apart: under a stream of
 * damage (x11perf, a video) one pass takes what a burst of events
 * reported instead of one pass per event.  An idle screen starts a pass at
 * once.
 */
#define X11_PASS_INTERVAL_MS 16
/* 0 when a pass may run now, else the milliseconds to wait for it. */
int x11_display_delay(struct x11_mirror *m);
uint64_t x11_now_ns(void);
/* impl->attach helpers */
int x11_display_start(struct x11_mirror *m);
void x11_display_stop(struct x11_mirror *m);
/* Re-reads the surface format after a new pipe (resize, settings). */
int x11_display_surface_changed(struct x11_mirror *m);
void x11_display_pointer_setting(struct x11_mirror *m, bool was_enabled);
/* Publishes the RandR monitor layout (or one monitor for the screen). */
void x11_display_monitors(struct x11_mirror *m);
size_t x11_display_info(struct x11_mirror *m, char *buf, size_t size);

void x11_log(struct x11_mirror *m, enum mirage_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* MIRAGE_X11_H */
