/* SPDX-License-Identifier: MIT */
/* A cursor composed over a save-under (compose.h). */
#include <string.h>

#include "compose.h"

bool compose_clip(const struct compose_cursor *cur, const struct compose_surface *s,
		  struct compose_box *out)
{
	/* 64-bit so that a shape near INT32_MAX cannot overflow the sum. */
	int64_t x2 = (int64_t)cur->x + cur->width, y2 = (int64_t)cur->y + cur->height;

	out->x1 = cur->x < 0 ? 0 : cur->x;
	out->y1 = cur->y < 0 ? 0 : cur->y;
	out->x2 = (int32_t)(x2 > s->width ? s->width : x2);
	out->y2 = (int32_t)(y2 > s->height ? s->height : y2);
	return out->x1 < out->x2 && out->y1 < out->y2;
}

size_t compose_save_size(const struct compose_surface *s, const struct compose_box *b)
{
	return (size_t)(b->x2 - b->x1) * (s->bpp / 8) * (size_t)(b->y2 - b->y1);
}

/* 5 or 6 bits widened to 8 by repeating the top bits (as 565 to 888
 * conversions usually do, pixman's among them). */
static uint32_t widen(uint32_t v, unsigned bits)
{
	return (v << (8 - bits) | v >> (2 * bits - 8)) & 0xff;
}

static uint32_t load(const uint8_t *p, uint32_t bpp)
{
	uint32_t v = 0;

	if (bpp == 16) {
		uint16_t h;

		memcpy(&h, p, sizeof(h));
		return widen(h >> 11, 5) << 16 | widen(h >> 5 & 0x3f, 6) << 8 | widen(h & 0x1f, 5);
	}
	for (uint32_t i = 0; i < 3; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void store(uint8_t *p, uint32_t bpp, uint32_t rgb)
{
	if (bpp == 16) {
		uint16_t h = (uint16_t)((rgb >> 19 & 0x1f) << 11 | (rgb >> 10 & 0x3f) << 5 |
					(rgb >> 3 & 0x1f));

		memcpy(p, &h, sizeof(h));
		return;
	}
	/* x8r8g8b8 keeps a zero pad byte, as every surface writer does. */
	for (uint32_t i = 0; i < bpp / 8; i++)
		p[i] = (uint8_t)(i < 3 ? rgb >> (8 * i) : 0);
}

uint32_t compose_over(uint32_t argb, uint32_t rgb)
{
	uint32_t a = argb >> 24, out = 0;

	for (unsigned sh = 0; sh <= 16; sh += 8) {
		/* (x + 127) / 255 rounds x / 255 to nearest: 255 is odd, no ties. */
		uint32_t c = (argb >> sh & 0xff) + ((rgb >> sh & 0xff) * (255 - a) + 127) / 255;

		out |= (c > 255 ? 255 : c) << sh;
	}
	return out;
}

void compose_draw(const struct compose_surface *s, const struct compose_cursor *cur,
		  const struct compose_box *b, uint8_t *save)
{
	uint32_t px = s->bpp / 8;
	size_t len = (size_t)(b->x2 - b->x1) * px;

	for (int32_t y = b->y1; y < b->y2; y++) {
		uint8_t *row = s->pixels + (size_t)y * s->stride + (size_t)b->x1 * px;
		const uint32_t *src = cur->argb + (size_t)(y - cur->y) * cur->width +
				      (b->x1 - cur->x);

		memcpy(save + (size_t)(y - b->y1) * len, row, len);
		for (int32_t x = 0; x < b->x2 - b->x1; x++) {
			/* Fully transparent: the pixel stays as it is, pad included. */
			if (src[x] == 0)
				continue;
			store(row + (size_t)x * px, s->bpp,
			      compose_over(src[x], load(row + (size_t)x * px, s->bpp)));
		}
	}
}

void compose_restore(const struct compose_surface *s, const struct compose_box *b,
		     const uint8_t *save)
{
	uint32_t px = s->bpp / 8;
	size_t len = (size_t)(b->x2 - b->x1) * px;

	for (int32_t y = b->y1; y < b->y2; y++)
		memcpy(s->pixels + (size_t)y * s->stride + (size_t)b->x1 * px,
		       save + (size_t)(y - b->y1) * len, len);
}
