/* SPDX-License-Identifier: MIT */
/* miragectl's image conversion and file writers; see ctl-image.h. */
#include "ctl-image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_PNG
#include <png.h>
#endif

void ctl_rgb_from_565(uint16_t v, uint8_t rgb[3])
{
	uint8_t r = (v >> 11) & 0x1f, g = (v >> 5) & 0x3f, b = v & 0x1f;

	/* Replicating the high bits maps 0 to 0 and the maximum to 255. */
	rgb[0] = (uint8_t)(r << 3 | r >> 2);
	rgb[1] = (uint8_t)(g << 2 | g >> 4);
	rgb[2] = (uint8_t)(b << 3 | b >> 2);
}

uint8_t ctl_unpremultiply(uint8_t c, uint8_t a)
{
	unsigned v;

	if (a == 0)
		return 0;
	v = ((unsigned)c * 255u + a / 2u) / a;
	/* A producer may hand us c > a (not really premultiplied): clamp. */
	return v > 255u ? 255u : (uint8_t)v;
}

static int image_alloc(struct ctl_image *img, uint32_t width, uint32_t height, uint32_t channels)
{
	size_t size = (size_t)width * height * channels;

	memset(img, 0, sizeof(*img));
	if (width == 0 || height == 0)
		return -EINVAL;
	img->data = malloc(size);
	if (!img->data)
		return -ENOMEM;
	img->width = width;
	img->height = height;
	img->channels = channels;
	return 0;
}

int ctl_image_from_surface(struct ctl_image *img, const uint8_t *src, uint32_t stride,
			   uint32_t width, uint32_t height, uint32_t bpp)
{
	int ret;

	if (bpp != 16 && bpp != 24 && bpp != 32)
		return -EINVAL;
	if ((uint64_t)stride < (uint64_t)width * (bpp >> 3))
		return -EINVAL;
	ret = image_alloc(img, width, height, 3);
	if (ret < 0)
		return ret;

	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *s = src + (size_t)y * stride;
		uint8_t *d = img->data + (size_t)y * width * 3;

		for (uint32_t x = 0; x < width; x++, d += 3) {
			if (bpp == 32) {
				uint32_t v;

				/* xRGB8888: a host-order uint32 0x00RRGGBB. */
				memcpy(&v, s + (size_t)x * 4, 4);
				d[0] = (uint8_t)(v >> 16);
				d[1] = (uint8_t)(v >> 8);
				d[2] = (uint8_t)v;
			} else if (bpp == 24) {
				const uint8_t *p = s + (size_t)x * 3;

				/* Packed B, G, R bytes. */
				d[0] = p[2];
				d[1] = p[1];
				d[2] = p[0];
			} else {
				uint16_t v;

				memcpy(&v, s + (size_t)x * 2, 2);
				ctl_rgb_from_565(v, d);
			}
		}
	}
	return 0;
}

int ctl_image_from_argb(struct ctl_image *img, const uint32_t *argb,
			uint32_t width, uint32_t height)
{
	int ret = image_alloc(img, width, height, 4);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < (size_t)width * height; i++) {
		uint32_t v = argb[i];
		uint8_t a = (uint8_t)(v >> 24);
		uint8_t *d = img->data + i * 4;

		d[0] = ctl_unpremultiply((uint8_t)(v >> 16), a);
		d[1] = ctl_unpremultiply((uint8_t)(v >> 8), a);
		d[2] = ctl_unpremultiply((uint8_t)v, a);
		d[3] = a;
	}
	return 0;
}

void ctl_image_finish(struct ctl_image *img)
{
	free(img->data);
	memset(img, 0, sizeof(*img));
}

int ctl_image_write_pnm(const struct ctl_image *img, FILE *f)
{
	size_t size = (size_t)img->width * img->height * img->channels;
	int n;

	if (img->channels == 3)
		n = fprintf(f, "P6\n%u %u\n255\n", img->width, img->height);
	else if (img->channels == 4)
		n = fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH 4\nMAXVAL 255\n"
			    "TUPLTYPE RGB_ALPHA\nENDHDR\n", img->width, img->height);
	else
		return -EINVAL;
	if (n < 0 || fwrite(img->data, 1, size, f) != size)
		return errno ? -errno : -EIO;
	return 0;
}

#ifdef HAVE_PNG
/*
 * libpng reports errors by longjmp; its default handlers would also print
 * to stderr, and miragectl prints exactly one line per failure itself.
 */
static void png_error_fn(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/*
 * The part of the writing that libpng may longjmp out of.  It modifies no
 * local after setjmp, so none needs to be volatile.
 */
static int write_png_body(png_structp png, png_infop info, const struct ctl_image *img,
			  png_bytep *rows, FILE *f)
{
	if (setjmp(png_jmpbuf(png)))
		return -EIO;
	png_init_io(png, f);
	png_set_IHDR(png, info, img->width, img->height, 8,
		     img->channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_write_image(png, rows);
	png_write_end(png, NULL);
	return 0;
}

int ctl_image_write_png(const struct ctl_image *img, FILE *f)
{
	png_structp png = NULL;
	png_infop info = NULL;
	png_bytep *rows;
	int ret = -ENOMEM;

	if (img->channels != 3 && img->channels != 4)
		return -EINVAL;
	rows = calloc(img->height, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (uint32_t y = 0; y < img->height; y++)
		rows[y] = img->data + (size_t)y * img->width * img->channels;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_fn, png_warning_fn);
	if (!png)
		goto out;
	info = png_create_info_struct(png);
	if (!info)
		goto out;
	ret = write_png_body(png, info, img, rows, f);
out:
	png_destroy_write_struct(&png, &info);
	free(rows);
	return ret;
}

bool ctl_png_supported(void)
{
	return true;
}
#else
int ctl_image_write_png(const struct ctl_image *img, FILE *f)
{
	(void)img;
	(void)f;
	return -ENOTSUP;
}

bool ctl_png_supported(void)
{
	return false;
}
#endif

bool ctl_path_is_png(const char *path)
{
	size_t len = strlen(path);

	return len >= 4 && strcasecmp(path + len - 4, ".png") == 0;
}

static int write_to(const struct ctl_image *img, FILE *f, bool png)
{
	return png ? ctl_image_write_png(img, f) : ctl_image_write_pnm(img, f);
}

int ctl_image_save(const struct ctl_image *img, const char *path)
{
	bool png = ctl_path_is_png(path);
	char *tmp = NULL;
	FILE *f = NULL;
	mode_t mask;
	int fd = -1, ret;

	if (strcmp(path, "-") == 0) {
		errno = 0;
		ret = ctl_image_write_pnm(img, stdout);
		if (ret == 0 && fflush(stdout) != 0)
			ret = -errno;
		return ret;
	}
	if (png && !ctl_png_supported())
		return -ENOTSUP;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = -errno;
		free(tmp);
		return ret;
	}
	/* mkstemp makes 0600; give the image the mode a plain creat() would. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		ret = -errno;
		goto out;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		ret = -errno;
		goto out;
	}
	fd = -1;
	errno = 0;
	ret = write_to(img, f, png);
	if (ret < 0)
		goto out;
	errno = 0;
	if (fclose(f) != 0) {
		f = NULL;
		ret = errno ? -errno : -EIO;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto out;
	}
	free(tmp);
	return 0;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return ret;
}
