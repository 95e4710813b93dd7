/* SPDX-License-Identifier: MIT */
/*
 * Small pieces every mirage component uses, in a static library of its own
 * (src/common/meson.build) so that none carries a copy.  Not libmirage's
 * API: the names carry no mirage_ prefix, and nothing here is installed.
 */
#ifndef MIRAGE_SHARED_H
#define MIRAGE_SHARED_H

#include <stddef.h>
#include <stdint.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/*
 * Copies the w x h pixels at (sx, sy) to (x, y) within one buffer of
 * `stride` bytes a row and `bytes` bytes a pixel, as if through a second
 * buffer: rows are walked away from the overlap (memmove within a row).
 * The caller clips both rectangles to the buffer.
 */
void copy_within(uint8_t *pixels, size_t stride, unsigned bytes, int32_t x, int32_t y,
		 int32_t w, int32_t h, int32_t sx, int32_t sy);

#endif /* MIRAGE_SHARED_H */
