/* SPDX-License-Identifier: MIT */
/*
 * The change refinery shared by the client-side mirror drivers (mirage-x11,
 * mirage-wayland): a display server's change hint (X DAMAGE, wlr-screencopy
 * damage) is turned into exact rectangles by comparing fresh pixels with
 * the surface, and copies (window moves, scrolls) are recovered from the
 * pixels and published only once verified.
 *
 *   refine.c   pixel conversion, tile comparison, copy detection
 *   cursor.c   composing the cursor into the surface with a save-under
 *
 * Pure functions on caller memory: no display connection, no allocation
 * that outlives a call, no global state.  Not thread-safe on one image.
 */
#ifndef MIRAGE_REFINE_H
#define MIRAGE_REFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>

/* ------------------------------------------------------------------ */
/* refine.c: pure functions on pixel buffers (unit-tested)             */
/* ------------------------------------------------------------------ */

/* A pixel buffer: line 0 at data, `stride` bytes a line, bpp 16, 24 or 32. */
struct refine_image {
	uint8_t *data;
	uint32_t stride;
	uint32_t bpp;
	int32_t width;
	int32_t height;
};

/*
 * Converts `count` pixels of a display server's packed format (bpp 16, 24 or
 * 32 with the given masks) into the surface format `dst_bpp`.
 */
void refine_convert_row(uint8_t *dst, uint32_t dst_bpp, const uint8_t *src, uint32_t src_bpp,
		     const uint32_t masks[3], uint32_t count);

/* Reads one surface pixel as 0x00RRGGBB; writes one back. */
uint32_t refine_pixel_get(const uint8_t *p, uint32_t bpp);
void refine_pixel_put(uint8_t *p, uint32_t bpp, uint32_t rgb);

/* Statistics kept by the refinery, shown by `miragectl status`. */
struct refine_stats {
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
typedef void (*refine_copy_fn)(void *data, const pixman_box32_t *dst, int32_t src_x, int32_t src_y);

/*
 * Tries a copy candidate: the pixels that `next` holds in dst should equal
 * those `surface` holds at dst moved by (dx, dy).  Finds the longest run of
 * rows inside dst (and inside `valid`, the part of next that is fresh) for
 * which that is exactly true; when it has at least min_rows rows and changes
 * something, applies it to surface (so surface then equals next there),
 * calls fn and returns true.  Never applies a copy it did not verify.
 */
bool refine_copy(struct refine_image *surface, const struct refine_image *next,
		     const pixman_region32_t *valid, pixman_box32_t dst, int32_t dx, int32_t dy,
		     int32_t min_rows, struct refine_stats *st, refine_copy_fn fn, void *data);

/*
 * Looks for a vertical scroll inside each of the n `areas` (tall damage
 * rectangles as the server reported them, whose pixels must all lie in
 * `valid`, the part of next that is fresh) by hashing sampled rows of next
 * and surface; verified copies are applied and reported through fn.
 * Returns the number of copies.
 */
int refine_scrolls(struct refine_image *surface, const struct refine_image *next,
		       const pixman_region32_t *valid, const pixman_box32_t *areas, int n,
		       struct refine_stats *st, refine_copy_fn fn, void *data);

/*
 * Looks for a 2-D copy (a window moved by any dx, dy; a scroll too) inside
 * each of the n `areas` (damage rectangles as the server reported them,
 * whose pixels must all lie in `valid`), from the pixels alone: short
 * segments of next at a few distinctive places are looked up on sampled
 * rows of the surface inside the area, and the offsets they vote for are
 * tried, best first, with refine_copy.  At most one copy an area; only
 * verified copies are applied and reported through fn.  Costs a small
 * fraction of refine_tiles() on the same area.  Returns the number of copies.
 */
int refine_moves(struct refine_image *surface, const struct refine_image *next,
		     const pixman_region32_t *valid, const pixman_box32_t *areas, int n,
		     struct refine_stats *st, refine_copy_fn fn, void *data);

/*
 * The refinery proper: compares `damage` tile by tile (tile x tile pixels)
 * between next and surface, copies the rows that differ into surface and
 * adds the changed tiles to `changed`.
 */
void refine_tiles(struct refine_image *surface, const struct refine_image *next,
		      const pixman_region32_t *damage, int32_t tile, pixman_region32_t *changed,
		      struct refine_stats *st);

/* ------------------------------------------------------------------ */
/* cursor.c                                                            */
/* ------------------------------------------------------------------ */

struct refine_cursor {
	/* The shape, premultiplied ARGB32, as the server gave it (clipped to 256). */
	uint32_t *argb;
	uint32_t width, height;
	int32_t hot_x, hot_y;
	uint32_t serial;         /* the server's cursor serial (XFIXES) */
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
void refine_cursor_undraw(struct refine_cursor *cur, struct refine_image *surface, uint8_t *shadow,
		       pixman_region32_t *dirty);

/*
 * Saves what lies under the cursor into the shadow lines and composes the
 * cursor onto the surface; adds the area to `dirty`.
 */
void refine_cursor_draw(struct refine_cursor *cur, struct refine_image *surface, uint8_t *shadow,
		     pixman_region32_t *dirty);

#endif /* MIRAGE_REFINE_H */
