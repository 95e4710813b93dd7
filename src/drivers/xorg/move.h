/* SPDX-License-Identifier: MIT */
/*
 * The replay of one screen-to-screen copy on the surface (batch.c), kept
 * apart from the X server's headers so that a unit test reaches it
 * without a server (tests/unit/test-xorg-move.c).  The server's BoxRec is
 * pixman's box16, so its regions' boxes come here as they are.  Pure.
 */
#ifndef MIRAGE_XORG_MOVE_H
#define MIRAGE_XORG_MOVE_H

#include <stdint.h>

#include <pixman.h>

/* The surface's visible lines. */
struct mx_move_surface {
	uint8_t *pixels;
	uint32_t stride, bpp;
	int32_t width, height;
};

/*
 * Moves the pixels of the n destination boxes (a region's: y-x banded,
 * not overlapping) from where they were (dx, dy) earlier, clipped to the
 * surface, in an order that never reads a pixel it already overwrote:
 * afterwards the boxes hold what the surface held at box - (dx, dy)
 * before the call.  Returns the bytes moved.
 */
uint64_t mx_move_boxes(const struct mx_move_surface *s, const pixman_box16_t *boxes, uint32_t n,
		       int32_t dx, int32_t dy);

#endif /* MIRAGE_XORG_MOVE_H */
