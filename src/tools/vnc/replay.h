/* SPDX-License-Identifier: MIT */
/*
 * The replay of change records onto the served framebuffer (replay.c):
 * pure functions of the framebuffer, the surface and the regions below, no
 * viewers, no locks, no libvncserver, so that tests/vnc/test-replay.c
 * checks them alone.  server.c calls them under its replay lock.
 *
 * Per interval: drawing records add to `dirty` (vnc_replay_add_dirty);
 * SCREEN_SCREEN records are composed into the interval's one copy `pend`
 * and move the dirty part of their source along (vnc_replay_copy).  At the
 * flush the caller moves `pend`'s pixels once (vnc_replay_move), compares
 * the copies that may have carried stale pixels (vnc_replay_verify) and
 * reads `dirty` from the surface, learning which blocks changed
 * (vnc_replay_read_dirty).
 */
#ifndef MIRAGE_VNC_REPLAY_H
#define MIRAGE_VNC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

#include <mirage/proto.h>

/* The two pictures a replay works between. */
struct vnc_frame {
	uint8_t *fb;         /* what the viewers are served: w x h, w * fb_bytes a row */
	int w, h;
	int fb_bytes;        /* 2 or 4 */
	int ox, oy;          /* the framebuffer's origin in the surface (--monitor) */
	const uint8_t *src;  /* the surface's pixels, taken at each flush */
	size_t src_stride;
	uint32_t src_bpp;    /* 16, 24 (packed, read into xRGB) or 32 */
};

/* The interval's state, in framebuffer coordinates. */
struct vnc_replay {
	pixman_region32_t dirty;  /* to read from the surface */
	pixman_region32_t copied; /* copy destinations to compare with it */
	pixman_region32_t unsure; /* pixels that may be ahead of the records they
				   * were read at (PROTOCOL.md 5.5) */
	pixman_region32_t pend;   /* the interval's composed copy: destination */
	int pdx, pdy;             /* ... and its offset */
	bool has_pend;
	uint64_t copies;          /* statistics: copies replayed, */
	uint64_t copied_px, checked_px; /* their destinations, those compared */
};

void vnc_replay_init(struct vnc_replay *r);
void vnc_replay_fini(struct vnc_replay *r);
/* A drawing record's rect (surface coordinates) becomes dirty. */
void vnc_replay_add_dirty(struct vnc_replay *r, const struct vnc_frame *f,
			  const struct mirage_rect *rect);
/* A SCREEN_SCREEN record: composed into pend, dirty moved with it. */
void vnc_replay_copy(struct vnc_replay *r, const struct vnc_frame *f,
		     const struct mirage_record *rec);
/*
 * Ends the interval's composed copy: what of pend is not dirty anyway is
 * moved once in the framebuffer and left in `moved` (the caller's,
 * initialised) with its offset in *dx, *dy.  pend is empty afterwards.
 * Returns whether anything moved.
 */
bool vnc_replay_take_copy(struct vnc_replay *r, const struct vnc_frame *f, pixman_region32_t *moved,
			  int *dx, int *dy);
/* Moves the framebuffer's pixels of region from region - (dx, dy). */
void vnc_replay_move(const struct vnc_frame *f, pixman_region32_t *region, int dx, int dy);
/* Adds to dirty the rows of `copied` that differ from the surface. */
void vnc_replay_verify(struct vnc_replay *r, const struct vnc_frame *f);
/* Reads dirty from the surface; adds to changed the 64x64 blocks that
 * differed. */
void vnc_replay_read_dirty(struct vnc_replay *r, const struct vnc_frame *f,
			   pixman_region32_t *changed);
int64_t vnc_region_area(pixman_region32_t *r);

#endif /* MIRAGE_VNC_REPLAY_H */
