/* SPDX-License-Identifier: MIT */
/* Unit tests of miragectl's pixel conversion and image writers (ctl-image.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../assert.h"
#include "ctl-image.h"

static void test_565(void)
{
	uint8_t rgb[3];

	ctl_rgb_from_565(0x0000, rgb);
	CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0);
	ctl_rgb_from_565(0xffff, rgb);
	CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
	ctl_rgb_from_565(0xf800, rgb);
	CHECK(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
	ctl_rgb_from_565(0x07e0, rgb);
	CHECK(rgb[0] == 0 && rgb[1] == 255 && rgb[2] == 0);
	ctl_rgb_from_565(0x001f, rgb);
	CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 255);
	/* Midpoints: 5 bits 0x10 -> 0x84, 6 bits 0x20 -> 0x82. */
	ctl_rgb_from_565((uint16_t)(0x10 << 11 | 0x20 << 5 | 0x01), rgb);
	CHECK_EQ(rgb[0], 0x84);
	CHECK_EQ(rgb[1], 0x82);
	CHECK_EQ(rgb[2], 0x08);
	/* Every 5-bit value maps monotonically and onto 0..255's ends. */
	for (unsigned v = 1; v < 32; v++) {
		uint8_t a[3], b[3];

		ctl_rgb_from_565((uint16_t)((v - 1) << 11), a);
		ctl_rgb_from_565((uint16_t)(v << 11), b);
		CHECK(b[0] > a[0]);
	}
}

static void test_unpremultiply(void)
{
	CHECK_EQ(ctl_unpremultiply(0, 0), 0);
	CHECK_EQ(ctl_unpremultiply(200, 0), 0);
	CHECK_EQ(ctl_unpremultiply(17, 255), 17);
	CHECK_EQ(ctl_unpremultiply(64, 128), 128);  /* (64*255 + 64) / 128 = 128 */
	CHECK_EQ(ctl_unpremultiply(1, 3), 85);
	CHECK_EQ(ctl_unpremultiply(200, 100), 255); /* not premultiplied: clamped */
	/* Premultiplying then un-premultiplying opaque pixels is exact. */
	for (unsigned c = 0; c < 256; c++)
		CHECK_EQ(ctl_unpremultiply((uint8_t)c, 255), c);
}

static void test_surface_formats(void)
{
	/* 3x2 pixels at every depth, with padding bytes at the line ends. */
	static const uint8_t want[2][3][3] = {
		{ { 0xff, 0x00, 0x00 }, { 0x00, 0xff, 0x00 }, { 0x00, 0x00, 0xff } },
		{ { 0x12, 0x34, 0x56 }, { 0xff, 0xff, 0xff }, { 0x00, 0x00, 0x00 } },
	};
	struct ctl_image img;
	uint8_t s32[2][16], s24[2][12];
	uint8_t s16[2][8];

	memset(s32, 0xee, sizeof(s32));
	memset(s24, 0xee, sizeof(s24));
	memset(s16, 0xee, sizeof(s16));
	for (int y = 0; y < 2; y++) {
		for (int x = 0; x < 3; x++) {
			const uint8_t *p = want[y][x];
			uint32_t v32 = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
			uint16_t v16 = (uint16_t)((p[0] >> 3) << 11 | (p[1] >> 2) << 5 | p[2] >> 3);

			memcpy(&s32[y][x * 4], &v32, 4);
			s24[y][x * 3] = p[2];
			s24[y][x * 3 + 1] = p[1];
			s24[y][x * 3 + 2] = p[0];
			memcpy(&s16[y][x * 2], &v16, 2);
		}
	}

	CHECK_EQ(ctl_image_from_surface(&img, &s32[0][0], 16, 3, 2, 32), 0);
	CHECK_EQ(img.channels, 3);
	CHECK(memcmp(img.data, want, sizeof(want)) == 0);
	ctl_image_finish(&img);

	CHECK_EQ(ctl_image_from_surface(&img, &s24[0][0], 12, 3, 2, 24), 0);
	CHECK(memcmp(img.data, want, sizeof(want)) == 0);
	ctl_image_finish(&img);

	CHECK_EQ(ctl_image_from_surface(&img, &s16[0][0], 8, 3, 2, 16), 0);
	/* 0x12,0x34,0x56 -> 565 (2,13,10) -> widened (0x10,0x34,0x52). */
	CHECK_EQ(img.data[9], 0x10);
	CHECK_EQ(img.data[10], 0x34);
	CHECK_EQ(img.data[11], 0x52);
	CHECK(memcmp(img.data, want, 9) == 0);
	ctl_image_finish(&img);

	CHECK_EQ(ctl_image_from_surface(&img, &s16[0][0], 8, 3, 2, 8), -EINVAL);
	CHECK_EQ(ctl_image_from_surface(&img, &s32[0][0], 8, 3, 2, 32), -EINVAL);
	ctl_image_finish(&img); /* safe on a failed conversion */
}

static void test_pnm(void)
{
	static const char ppm_want[] = "P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06";
	static const char pam_head[] = "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\n"
				       "TUPLTYPE RGB_ALPHA\nENDHDR\n";
	uint8_t rgb[6] = { 1, 2, 3, 4, 5, 6 };
	uint32_t argb = 0x80402010u;
	struct ctl_image img = { 2, 1, 3, rgb };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	CHECK_EQ(ctl_image_write_pnm(&img, f), 0);
	CHECK_EQ(fclose(f), 0);
	CHECK_EQ(len, sizeof(ppm_want) - 1);
	CHECK(memcmp(buf, ppm_want, len) == 0);
	free(buf);

	CHECK_EQ(ctl_image_from_argb(&img, &argb, 1, 1), 0);
	f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	CHECK_EQ(ctl_image_write_pnm(&img, f), 0);
	CHECK_EQ(fclose(f), 0);
	CHECK_EQ(len, sizeof(pam_head) - 1 + 4);
	CHECK(memcmp(buf, pam_head, sizeof(pam_head) - 1) == 0);
	/* 0x40/0x80 -> 0x80, 0x20 -> 0x40, 0x10 -> 0x20 (rounded), alpha kept. */
	CHECK_EQ((uint8_t)buf[len - 4], 0x80);
	CHECK_EQ((uint8_t)buf[len - 3], 0x40);
	CHECK_EQ((uint8_t)buf[len - 2], 0x20);
	CHECK_EQ((uint8_t)buf[len - 1], 0x80);
	free(buf);
	ctl_image_finish(&img);
}

static void test_png_names(void)
{
	CHECK(ctl_path_is_png("a.png"));
	CHECK(ctl_path_is_png("/x/B.PNG"));
	CHECK(!ctl_path_is_png("png"));
	CHECK(!ctl_path_is_png("a.ppm"));
	CHECK(!ctl_path_is_png("a.png.ppm"));
}

static void test_png_write(void)
{
	uint8_t rgb[3] = { 9, 8, 7 };
	struct ctl_image img = { 1, 1, 3, rgb };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	if (ctl_png_supported()) {
		CHECK_EQ(ctl_image_write_png(&img, f), 0);
		CHECK_EQ(fclose(f), 0);
		CHECK(len > 8);
		CHECK(memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0);
	} else {
		CHECK_EQ(ctl_image_write_png(&img, f), -ENOTSUP);
		CHECK_EQ(fclose(f), 0);
	}
	free(buf);
}

int main(void)
{
	RUN(test_565);
	RUN(test_unpremultiply);
	RUN(test_surface_formats);
	RUN(test_pnm);
	RUN(test_png_names);
	RUN(test_png_write);
	return 0;
}
