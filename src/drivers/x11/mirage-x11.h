/* SPDX-License-Identifier: MIT */
/*
 * mirage-x11: a mirror driver that runs as an ordinary X client.  Private
 * declarations shared by its files:
 *
 *   main.c     options, signals, the event loop, losing and regaining the server
 *   display.c  the X connection: DAMAGE, XFIXES cursor, RandR, top-level
 *              window tracking, the pass (grab, refine, post)
 *   grab.c     reading the screen: MIT-SHM, plain GetImage or Xvfb's -shmem
 *              framebuffer, reads planned by cost
 *
 * The refinery and the cursor composition it uses are shared with the other
 * client-side drivers: ../common/refine.h.
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

#include "refine.h"

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
	struct refine_image next;

	/* Top-level windows (children of root) for move detection */
	struct x11_window *windows;
	size_t nwindows, cap_windows;

	struct refine_cursor cursor;
	struct refine_stats stats;
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

/* ------------------------------------------------------------------ */
/* grab.c                                                              */
/* ------------------------------------------------------------------ */

/* MIT-SHM segment for the reads; 0 or -errno (then plain GetImage). */
int x11_grab_shm_setup(struct x11_mirror *m);
void x11_grab_shm_release(struct x11_mirror *m);
/* Maps a local Xvfb's -shmem framebuffer when it shows the root. */
void x11_grab_xvfb_probe(struct x11_mirror *m);
void x11_grab_xvfb_release(struct x11_mirror *m);
/* The reads for damage: out is what to read, fewest requests + pixels. */
void x11_grab_plan(struct x11_mirror *m, pixman_region32_t *damage, pixman_region32_t *out);
/* Reads region of the screen into m->next; 0 or -errno. */
int x11_grab(struct x11_mirror *m, pixman_region32_t *region);

void x11_log(struct x11_mirror *m, enum mirage_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* MIRAGE_X11_H */
