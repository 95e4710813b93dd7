/* SPDX-License-Identifier: MIT */
/*
 * mirage-wayland: a mirror driver for one output of a Wayland compositor,
 * as an ordinary client.  Private declarations shared by its files:
 *
 *   main.c     options, signals, the event loop, losing and regaining the compositor
 *   mirror.c   a captured frame into the surface: refine, detect scrolls, post, publish
 *   wlroots.c  the wlroots backend: wlr-screencopy copy_with_damage into shm, xdg-output
 *   gnome.c    the GNOME backend: a mutter ScreenCast session's PipeWire stream
 *   screencast.c  its D-Bus half (screencast.h)
 *
 * The capture sits behind struct wayland_backend_impl so that other
 * compositors' capture (GNOME: ScreenCast + PipeWire) can plug in beside
 * wlroots.  Everything runs on one thread.
 */
#ifndef MIRAGE_WAYLAND_H
#define MIRAGE_WAYLAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>

#include <mirage/driver.h>

#include "refine.h"
#include "shared.h"

/* A frame a backend captured; valid only during the frame callback. */
struct wayland_frame {
	const uint8_t *data;        /* line 0 is the top line unless y_invert */
	uint32_t stride;
	int32_t width, height;
	uint32_t masks[3];          /* red, green, blue masks of a 32 bpp pixel */
	bool y_invert;
	/* What changed since the previous frame, in output pixels, top-down. */
	const pixman_region32_t *damage;
	bool full;                  /* the first frame of a capture: all of it is fresh */
};

struct wayland_backend;

/* Called by a backend's dispatch for each frame; negative stops the mirror. */
typedef int (*wayland_frame_fn)(void *data, const struct wayland_frame *frame);

/*
 * The pointer, from a backend that has it apart from the frames (GNOME's
 * cursor metadata).  x, y: the hotspot in buffer pixels; argb (premultiplied
 * 0xAARRGGBB, rows of width) is the new shape, NULL when it did not change.
 */
struct wayland_cursor {
	bool visible;
	int32_t x, y;
	const uint32_t *argb;
	uint32_t width, height;
	int32_t hot_x, hot_y;
};
typedef void (*wayland_cursor_fn)(void *data, const struct wayland_cursor *cursor);

/*
 * A capture backend.  open connects and picks the output (fills width,
 * height, output_name, logical); start asks for frames, each delivered to
 * frame_fn once the compositor has one with damage (none while the screen
 * is still); stop ends that; dispatch handles what the compositor sent
 * when fd is readable.  Errors are 0/-errno with a message already logged:
 * -EPIPE the compositor went away, -ENODEV the output was removed.
 */
struct wayland_backend_impl {
	const char *name;
	/* The mirror's default name is PREFIX-OUTPUT; NULL: "wl". */
	const char *mirror_prefix;
	int (*open)(struct wayland_backend *b);
	int (*start)(struct wayland_backend *b);
	void (*stop)(struct wayland_backend *b);
	int (*fd)(struct wayland_backend *b);
	/* Sends what is queued; call before sleeping on fd. */
	int (*flush)(struct wayland_backend *b);
	/* Milliseconds until the backend has work of its own (a capture held
	 * back by min_interval_ms), -1 for none; when that time has come it
	 * does the work and answers the next.  NULL: never. */
	int (*timeout)(struct wayland_backend *b);
	int (*dispatch)(struct wayland_backend *b);
	/* Frees everything open made; the struct itself too.  NULL is a no-op. */
	void (*destroy)(struct wayland_backend *b);
};

/* What every backend shares; embedded first in the backend's own struct. */
struct wayland_backend {
	const struct wayland_backend_impl *impl;
	/* Set by the caller before open. */
	const char *display;        /* NULL: $WAYLAND_DISPLAY */
	const char *output;         /* NULL: the first output */
	int32_t virtual_w, virtual_h; /* > 0: a virtual monitor of this size (GNOME) */
	bool overlay_cursor;        /* Pointer.Enabled: the cursor composited in */
	bool quiet;                 /* --wait retrying: no repeated errors */
	int min_interval_ms;        /* --max-fps: frames at least this far apart */
	wayland_frame_fn frame_fn;
	void *frame_data;
	wayland_cursor_fn cursor_fn;    /* NULL: the pointer is not followed */
	/* Filled by open (and kept current by dispatch). */
	char output_name[MIRAGE_MONITOR_NAME_MAX];
	int32_t width, height;      /* the captured buffer, output pixels */
	int32_t lx, ly, lw, lh;     /* xdg-output logical position and size */
	bool layout_changed;        /* logical changed since the caller looked */
};

/* The wlroots backend; NULL on out of memory. */
struct wayland_backend *wayland_wlroots_create(void);

#ifdef MIRAGE_WAYLAND_GNOME
/* The GNOME backend (gnome.c); NULL on out of memory. */
struct wayland_backend *wayland_gnome_create(void);
/* Whether mutter's ScreenCast is on the session bus (--backend auto). */
bool wayland_gnome_present(void);
#endif

struct wayland_mirror {
	struct mirage_driver_impl impl; /* first: recovered with container_of */
	struct mirage_driver *drv;
	struct wayland_backend *backend;
	struct refine_image next;       /* the frame in the surface format */
	struct refine_stats stats;
	uint64_t frames;
	bool full_refresh;              /* next frame: compare and publish everything */
	bool setting_up, pending_attach;
	bool verbose;
	bool compositor_gone;            /* the last life ended with the compositor */
};

/* The driver callbacks (mirror.c) into impl. */
void wayland_mirror_init(struct wayland_mirror *m);
/* Allocates next for the surface in force (after create, resize, settings). */
int wayland_mirror_surface_changed(struct wayland_mirror *m) __attribute__((warn_unused_result));
/* Starts capturing (attach); stops. */
int wayland_mirror_start(struct wayland_mirror *m) __attribute__((warn_unused_result));
void wayland_mirror_stop(struct wayland_mirror *m);
/* Publishes the backend's xdg-output layout. */
void wayland_mirror_monitors(struct wayland_mirror *m);
/* The backend's frame callback. */
int wayland_mirror_frame(void *data, const struct wayland_frame *f);
/* The backend's cursor callback: PTR_SHAPE, PTR_ENGAGE, PTR_AVERT. */
void wayland_mirror_cursor(void *data, const struct wayland_cursor *c);

void wayland_log(enum mirage_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
extern bool wayland_verbose;

#endif /* MIRAGE_WAYLAND_H */
