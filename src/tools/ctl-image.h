/* SPDX-License-Identifier: MIT */
/*
 * miragectl's images: converting a mirage surface or cursor to 8-bit RGB or
 * RGBA, and writing PPM (P6), PAM (P7) and, when built with libpng, PNG.
 *
 * Nothing here talks to a mirror, so the unit tests exercise it directly.
 */
#ifndef MIRAGE_CTL_IMAGE_H
#define MIRAGE_CTL_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * An 8-bit image with rows packed (stride = width * channels): channels is
 * 3 (R, G, B) or 4 (R, G, B, straight alpha).  Owns data.
 */
struct ctl_image {
	uint32_t width;
	uint32_t height;
	uint32_t channels;
	uint8_t *data;
};

/* Expands one RGB 565 pixel to 8 bits a channel: 5 bits v -> v<<3|v>>2, 6 bits v -> v<<2|v>>4. */
void ctl_rgb_from_565(uint16_t v, uint8_t rgb[3]);

/*
 * Un-premultiplies one channel: 0 when alpha is 0, else
 * min(255, (c * 255 + a / 2) / a).
 */
uint8_t ctl_unpremultiply(uint8_t c, uint8_t a);

/*
 * Converts width x height pixels of a mirage surface (bpp 16, 24 or 32,
 * stride bytes a line) into img (3 channels).  -EINVAL for another bpp or
 * a stride too small, -ENOMEM.  ctl_image_finish() img afterwards.
 */
int ctl_image_from_surface(struct ctl_image *img, const uint8_t *src, uint32_t stride,
			   uint32_t width, uint32_t height, uint32_t bpp)
	__attribute__((warn_unused_result));

/*
 * Converts premultiplied ARGB32 pixels (0xAARRGGBB, rows of width) into
 * img (4 channels, straight alpha).
 */
int ctl_image_from_argb(struct ctl_image *img, const uint32_t *argb,
			uint32_t width, uint32_t height)
	__attribute__((warn_unused_result));

/* Frees img's pixels; safe on a zeroed or finished image. */
void ctl_image_finish(struct ctl_image *img);

/* Writes P6 (3 channels) or P7 RGB_ALPHA (4 channels).  0 or -errno. */
int ctl_image_write_pnm(const struct ctl_image *img, FILE *f)
	__attribute__((warn_unused_result));

/* Writes a PNG.  -ENOTSUP when miragectl was built without libpng. */
int ctl_image_write_png(const struct ctl_image *img, FILE *f)
	__attribute__((warn_unused_result));

/* True when PNG output is available. */
bool ctl_png_supported(void);

/* True when path names a PNG file (ends in ".png", any case). */
bool ctl_path_is_png(const char *path);

/*
 * Writes img to path: PNG when the name ends in .png, PNM otherwise; "-"
 * means PNM on standard output.  The file is written under a temporary
 * name and renamed, so a failure never leaves half an image behind.
 * 0 or -errno (-ENOTSUP: PNG asked for but not built in).
 */
int ctl_image_save(const struct ctl_image *img, const char *path)
	__attribute__((warn_unused_result));

#endif /* MIRAGE_CTL_IMAGE_H */
