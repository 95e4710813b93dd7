/* SPDX-License-Identifier: MIT */
/*
 * A small checker for mirage-rec's tests, written with client.h only.
 *
 *   rec-snap snap NAME OUT.ppm [OUT.raw]
 *       the visible surface as PPM (16 bpp widened as mirage-rec export
 *       does) and optionally raw: width*Bpp bytes per line, no padding
 *   rec-snap wait-end NAME SECONDS
 *       waits until a mirage-rec play mirror reports at_end=1
 *   rec-snap cursor NAME
 *       prints "visible x y width height hot_x hot_y crc" of the cursor
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mirage/client.h>

static int snap(const char *name, const char *ppm, const char *raw)
{
	struct mirage_client *c;
	const struct mirage_surface_header *s;
	const uint8_t *px;
	FILE *f, *r = NULL;
	unsigned Bpp;

	if (mirage_client_connect(&c, name) < 0) {
		fprintf(stderr, "rec-snap: %s\n", mirage_last_error());
		return 1;
	}
	s = mirage_client_surface(c);
	px = mirage_client_pixels(c);
	Bpp = s->bpp / 8;
	if (!px || !Bpp) {
		fprintf(stderr, "rec-snap: %s has no surface\n", name);
		mirage_client_destroy(c);
		return 1;
	}
	f = fopen(ppm, "wb");
	if (raw)
		r = fopen(raw, "wb");
	if (!f || (raw && !r)) {
		fprintf(stderr, "rec-snap: cannot write %s: %s\n", ppm, strerror(errno));
		return 1;
	}
	fprintf(f, "P6\n%d %d\n255\n", s->width, s->height);
	for (int32_t y = 0; y < s->height; y++) {
		const uint8_t *row = px + (size_t)y * s->stride;
		if (r)
			fwrite(row, Bpp, (size_t)s->width, r);
		for (int32_t x = 0; x < s->width; x++) {
			const uint8_t *p = row + (size_t)x * Bpp;
			uint8_t rgb[3];
			if (Bpp == 2) {
				unsigned v = p[0] | p[1] << 8, R = v >> 11, G = (v >> 5) & 63, B = v & 31;
				rgb[0] = (uint8_t)(R << 3 | R >> 2);
				rgb[1] = (uint8_t)(G << 2 | G >> 4);
				rgb[2] = (uint8_t)(B << 3 | B >> 2);
			} else {
				rgb[0] = p[2];
				rgb[1] = p[1];
				rgb[2] = p[0];
			}
			fwrite(rgb, 1, 3, f);
		}
	}
	fclose(f);
	if (r)
		fclose(r);
	mirage_client_destroy(c);
	return 0;
}

static int wait_end(const char *name, double seconds)
{
	char stats[1024];
	struct mirage_info_out info;

	for (int i = 0; i < (int)(seconds * 20); i++) {
		struct mirage_client *c;
		if (mirage_client_connect(&c, name) == 0) {
			int ret = mirage_client_info(c, &info, stats, sizeof(stats));
			mirage_client_destroy(c);
			if (ret >= 0 && strstr(stats, "at_end=1"))
				return 0;
		}
		usleep(50000);
	}
	fprintf(stderr, "rec-snap: %s did not reach its end within %.0f s\n", name, seconds);
	return 1;
}

static int cursor(const char *name)
{
	static uint32_t argb[256 * 256];
	struct mirage_client *c;
	struct mirage_cursor cur;
	uint32_t h = 2166136261u;

	if (mirage_client_connect(&c, name) < 0 ||
	    mirage_client_cursor(c, &cur, argb, 256 * 256) < 0) {
		fprintf(stderr, "rec-snap: %s\n", mirage_last_error());
		return 1;
	}
	for (uint32_t i = 0; i < cur.width * cur.height; i++)
		h = (h ^ argb[i]) * 16777619u;
	printf("%d %d %d %u %u %d %d %08x\n", cur.visible, cur.x, cur.y, cur.width, cur.height,
	       cur.hot_x, cur.hot_y, h);
	mirage_client_destroy(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "snap"))
		return snap(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	if (argc == 4 && !strcmp(argv[1], "wait-end"))
		return wait_end(argv[2], atof(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "cursor"))
		return cursor(argv[2]);
	fprintf(stderr, "usage: rec-snap snap NAME OUT.ppm [OUT.raw] | wait-end NAME S | cursor NAME\n");
	return 2;
}
