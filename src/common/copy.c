/* SPDX-License-Identifier: MIT */
/* An overlap-safe rectangle copy within one buffer (shared.h). */
#include <string.h>

#include "shared.h"

void copy_within(uint8_t *pixels, size_t stride, unsigned bytes, int32_t x, int32_t y,
		 int32_t w, int32_t h, int32_t sx, int32_t sy)
{
	size_t len = (size_t)w * bytes;

	if (w <= 0 || h <= 0)
		return;
	/* Moving down reads each source row before a lower one overwrites it
	 * only when walked bottom-up; every other direction top-down. */
	for (int32_t i = 0; i < h; i++) {
		int32_t r = sy < y ? h - 1 - i : i;

		memmove(pixels + (size_t)(y + r) * stride + (size_t)x * bytes,
			pixels + (size_t)(sy + r) * stride + (size_t)sx * bytes, len);
	}
}
