/* SPDX-License-Identifier: MIT */
/*
 * A synthetic, deterministic mirror for mirage-rec's tests: draws what it
 * is told on stdin, one command per line, and answers each with "ok" (or
 * "error ...") on stdout once the change is published.
 *
 *   rec-synth NAME WIDTH HEIGHT [BPP]
 *
 * Commands:
 *   fill X Y W H RRGGBB     solid rectangle (posted as BLIT)
 *   noise X Y W H SEED      pseudo-random pixels from SEED (BLIT)
 *   text X Y N SEED         N 8x12 "glyphs" in a row, like typing (TEXTOUT)
 *   scroll DY SEED          whole screen up by DY lines (SCREEN_SCREEN), new
 *                           lines filled with noise
 *   cursor X Y | hide       cursor position / hide it
 *   shape W H HX HY SEED    cursor shape
 *   resize W H              new geometry, refilled with noise from W*H
 *   quit
 *
 * It also writes recordings that the recorder never would, for the
 * validator's tests (the file's frames are sealed with good checksums, so
 * only the checks behind them can refuse them):
 *
 *   rec-synth --bad CLASS FILE    a 64x48 recording of five frames whose
 *                                 frame 2 is broken as CLASS says: good,
 *                                 geometry-0x0, width-16385, chunk-length,
 *                                 pixels-outside, timestamp-max (2^64-1),
 *                                 timestamp-far (2^62 ns, 146 years),
 *                                 timestamp-backwards
 *   rec-synth --reseal SEED IN OUT   IN with one bit flipped in the chunk
 *                                 headers or fixed fields of one frame's
 *                                 decompressed payload (picked from SEED),
 *                                 sealed again; prints what it flipped
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mirage/driver.h>

#include "format.h"

struct synth {
	struct mirage_driver_impl impl; /* first */
	struct mirage_driver *drv;
	int32_t w, h;
	uint32_t bpp;
};

static uint32_t rng_next(uint32_t *s)
{
	/* xorshift32: deterministic across runs and hosts. */
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static void put(struct synth *s, int32_t x, int32_t y, uint32_t rgb)
{
	const struct mirage_surface_header *hd = mirage_driver_surface(s->drv);
	uint8_t *p = mirage_driver_pixels(s->drv);

	if (!p || x < 0 || y < 0 || x >= hd->width || y >= hd->height)
		return;
	p += (size_t)y * hd->stride + (size_t)x * (hd->bpp / 8);
	switch (hd->bpp) {
	case 32: {
		uint32_t v = rgb & 0xffffff;
		memcpy(p, &v, 4);
		break;
	}
	case 24:
		p[0] = (uint8_t)rgb;
		p[1] = (uint8_t)(rgb >> 8);
		p[2] = (uint8_t)(rgb >> 16);
		break;
	case 16: {
		uint16_t v = (uint16_t)(((rgb >> 8) & 0xf800) | ((rgb >> 5) & 0x07e0) | ((rgb >> 3) & 0x1f));
		memcpy(p, &v, 2);
		break;
	}
	default:
		break;
	}
}

static void noise(struct synth *s, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t seed)
{
	for (int32_t j = 0; j < h; j++)
		for (int32_t i = 0; i < w; i++)
			put(s, x + i, y + j, rng_next(&seed));
}

static int synth_attach(struct mirage_driver_impl *impl)
{
	struct synth *s = (struct synth *)impl;

	/* The surface is always current: announce all of it. */
	if (s->drv)
		mirage_driver_post_rect(s->drv, MIRAGE_REC_BLIT, 0, 0, s->w, s->h);
	return 0;
}

static int command(struct synth *s, char *line)
{
	int32_t x, y, w, h, a, b;
	unsigned seed, col;
	char cmd[16];

	if (sscanf(line, "%15s", cmd) != 1)
		return 0;
	if (!strcmp(cmd, "fill") && sscanf(line, "%*s %d %d %d %d %x", &x, &y, &w, &h, &col) == 5) {
		for (int32_t j = 0; j < h; j++)
			for (int32_t i = 0; i < w; i++)
				put(s, x + i, y + j, col);
		mirage_driver_post_rect(s->drv, MIRAGE_REC_BLIT, x, y, x + w, y + h);
	} else if (!strcmp(cmd, "noise") && sscanf(line, "%*s %d %d %d %d %u", &x, &y, &w, &h, &seed) == 5) {
		noise(s, x, y, w, h, seed);
		mirage_driver_post_rect(s->drv, MIRAGE_REC_BLIT, x, y, x + w, y + h);
	} else if (!strcmp(cmd, "text") && sscanf(line, "%*s %d %d %d %u", &x, &y, &a, &seed) == 4) {
		for (int32_t g = 0; g < a; g++) {
			uint32_t st = seed + (uint32_t)g;
			/* Two-colour glyphs, like text on a plain background. */
			for (int32_t j = 0; j < 12; j++)
				for (int32_t i = 0; i < 8; i++)
					put(s, x + g * 8 + i, y + j, (rng_next(&st) & 3) ? 0xffffff : 0x202020);
			mirage_driver_post_rect(s->drv, MIRAGE_REC_TEXTOUT, x + g * 8, y, x + g * 8 + 8, y + 12);
		}
	} else if (!strcmp(cmd, "scroll") && sscanf(line, "%*s %d %u", &a, &seed) == 2) {
		const struct mirage_surface_header *hd = mirage_driver_surface(s->drv);
		uint8_t *p = mirage_driver_pixels(s->drv);
		if (a <= 0 || a >= s->h || !p)
			return -EINVAL;
		memmove(p, p + (size_t)a * hd->stride, (size_t)(s->h - a) * hd->stride);
		mirage_driver_post_copy(s->drv, 0, 0, s->w, s->h - a, 0, a);
		noise(s, 0, s->h - a, s->w, a, seed);
		mirage_driver_post_rect(s->drv, MIRAGE_REC_BLIT, 0, s->h - a, s->w, s->h);
	} else if (!strcmp(cmd, "cursor") && sscanf(line, "%*s %d %d", &x, &y) == 2) {
		mirage_driver_set_cursor_position(s->drv, x, y, true);
	} else if (!strcmp(cmd, "hide")) {
		const struct mirage_surface_header *hd = mirage_driver_surface(s->drv);
		mirage_driver_set_cursor_position(s->drv, hd->cursor_x, hd->cursor_y, false);
	} else if (!strcmp(cmd, "shape") && sscanf(line, "%*s %d %d %d %d %u", &w, &h, &a, &b, &seed) == 5) {
		uint32_t *argb;
		int ret;
		if (w < 1 || h < 1 || w > 256 || h > 256)
			return -EINVAL;
		argb = malloc((size_t)w * (size_t)h * 4);
		if (!argb)
			return -ENOMEM;
		for (int32_t i = 0; i < w * h; i++) {
			uint32_t v = rng_next(&seed), al = (v >> 24) & 0x80 ? 0xff : 0;
			/* Premultiplied: colour channels never exceed alpha. */
			argb[i] = al ? (0xff000000u | (v & 0xffffff)) : 0;
		}
		ret = mirage_driver_set_cursor_shape(s->drv, (uint32_t)w, (uint32_t)h, a, b, argb);
		free(argb);
		if (ret < 0)
			return ret;
	} else if (!strcmp(cmd, "resize") && sscanf(line, "%*s %d %d", &w, &h) == 2) {
		int ret = mirage_driver_resize(s->drv, w, h, s->bpp);
		if (ret < 0)
			return ret;
		s->w = w;
		s->h = h;
		noise(s, 0, 0, w, h, (uint32_t)(w * h));
		mirage_driver_post_rect(s->drv, MIRAGE_REC_BLIT, 0, 0, w, h);
	} else if (!strcmp(cmd, "quit")) {
		return 1;
	} else {
		return -EINVAL;
	}
	mirage_driver_publish(s->drv);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Recordings the recorder never writes                                */
/* ------------------------------------------------------------------ */

#define BAD_W 64
#define BAD_H 48

static uint8_t *bad_geometry(struct rec_writer *w, int32_t width, int32_t height)
{
	uint8_t *b = rec_writer_reserve(w, REC_CHUNK_GEOMETRY, REC_GEOMETRY_SIZE);

	if (b) {
		rec_put_u32(b, (uint32_t)width);
		rec_put_u32(b + 4, (uint32_t)height);
		rec_put_u32(b + 8, 32);
		rec_put_u32(b + 12, 0xff0000);
		rec_put_u32(b + 16, 0xff00);
		rec_put_u32(b + 20, 0xff);
	}
	return b;
}

/* A pixels chunk of noise for the rect, whether or not it fits. */
static uint8_t *bad_pixels(struct rec_writer *w, int32_t x, int32_t y, int32_t wd, int32_t ht)
{
	size_t n = (size_t)wd * (size_t)ht * 4;
	uint8_t *b = rec_writer_reserve(w, REC_CHUNK_PIXELS, REC_PIXELS_HEAD + n);
	uint32_t seed = (uint32_t)(x * 31 + y);

	if (b) {
		rec_put_u32(b, (uint32_t)x);
		rec_put_u32(b + 4, (uint32_t)y);
		rec_put_u32(b + 8, (uint32_t)wd);
		rec_put_u32(b + 12, (uint32_t)ht);
		for (size_t i = 0; i < n; i++)
			b[REC_PIXELS_HEAD + i] = (uint8_t)rng_next(&seed);
	}
	return b;
}

static int write_bad(const char *cls, const char *path)
{
	static const char *const classes[] = { "good", "geometry-0x0", "width-16385", "chunk-length",
					       "pixels-outside", "timestamp-max", "timestamp-far",
					       "timestamp-backwards" };
	struct rec_header hdr = { .frame_interval_us = 10000, .keyframe_interval_ms = 10000 };
	uint64_t ts[5] = { 0, 10000000, 20000000, 30000000, 40000000 };
	uint32_t type = REC_FRAME_DELTA;
	struct rec_writer w;
	uint8_t *b;
	size_t c = 0;
	int ret;

	while (c < sizeof(classes) / sizeof(classes[0]) && strcmp(cls, classes[c]))
		c++;
	if (c == sizeof(classes) / sizeof(classes[0])) {
		fprintf(stderr, "rec-synth: unknown class \"%s\"\n", cls);
		return 2;
	}
	snprintf(hdr.source, sizeof(hdr.source), "bad-%s", cls);
	ret = rec_writer_open(&w, path, &hdr, 3);
	if (ret < 0) {
		fprintf(stderr, "rec-synth: %s: %s\n", path, strerror(-ret));
		return 1;
	}
	if (!strcmp(cls, "timestamp-max"))
		ts[2] = ts[3] = ts[4] = UINT64_MAX;
	else if (!strcmp(cls, "timestamp-far"))
		ts[2] = ts[3] = ts[4] = 1ull << 62;
	else if (!strcmp(cls, "timestamp-backwards"))
		ts[2] = 5000000;
	for (uint32_t i = 0; i < 5 && ret == 0; i++) {
		rec_writer_begin(&w);
		b = (void *)1;
		if (i == 0) {
			type = REC_FRAME_KEY;
			b = bad_geometry(&w, BAD_W, BAD_H);
			if (b)
				b = bad_pixels(&w, 0, 0, BAD_W, BAD_H);
		} else if (i == 4) {
			type = REC_FRAME_END;
			b = rec_writer_reserve(&w, REC_CHUNK_END, REC_END_SIZE);
			if (b) {
				rec_put_u32(b, REC_END_STOPPED);
				rec_put_u32(b + 4, 4);
			}
		} else if (i == 2 && !strcmp(cls, "geometry-0x0")) {
			type = REC_FRAME_KEY;
			b = bad_geometry(&w, 0, 0);
		} else if (i == 2 && !strcmp(cls, "width-16385")) {
			type = REC_FRAME_KEY;
			b = bad_geometry(&w, 16385, BAD_H);
		} else if (i == 2 && !strcmp(cls, "pixels-outside")) {
			type = REC_FRAME_DELTA;
			b = bad_pixels(&w, BAD_W - 4, 0, 8, 8);
		} else {
			type = REC_FRAME_DELTA;
			b = bad_pixels(&w, (int32_t)i * 8, 8, 8, 8);
			/* The length field, just before the body. */
			if (b && i == 2 && !strcmp(cls, "chunk-length"))
				rec_put_u32(b - 4, 0xffffffffu);
		}
		ret = b ? rec_writer_commit(&w, type, ts[i], NULL) : -ENOMEM;
	}
	if (ret == 0)
		ret = rec_writer_close(&w);
	else
		(void)rec_writer_close(&w);
	if (ret < 0) {
		fprintf(stderr, "rec-synth: %s: %s\n", path, strerror(-ret));
		return 1;
	}
	return 0;
}

static uint8_t *load_file(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
		goto out;
	buf = malloc((size_t)st.st_size);
	if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	*size = (size_t)st.st_size;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/*
 * Where to flip in frame f's payload: a random chunk, a random bit among
 * its header and the fixed fields after it (not its pixel rows, which any
 * value fits).
 */
static size_t pick_flip(const struct rec_frame *f, uint32_t *seed, uint32_t *chunk)
{
	const uint8_t *body;
	uint32_t type, len, n = 0, k;
	size_t pos = 0, at = 0, fixed;

	while (rec_chunk_next(f->payload, f->raw_size, &pos, &type, &body, &len) > 0)
		n++;
	if (n == 0)
		return SIZE_MAX;
	k = rng_next(seed) % n;
	*chunk = k;
	pos = 0;
	for (uint32_t i = 0; i <= k; i++) {
		at = pos;
		(void)rec_chunk_next(f->payload, f->raw_size, &pos, &type, &body, &len);
	}
	fixed = REC_CHUNK_HEADER_SIZE + (len < 24 ? len : 24);
	return at * 8 + rng_next(seed) % (fixed * 8);
}

static int reseal(uint32_t seed, const char *in, const char *out)
{
	struct rec_reader r;
	struct rec_writer w;
	struct rec_frame f;
	uint32_t target, chunk = 0;
	size_t size = 0, bit = SIZE_MAX;
	uint8_t *data = load_file(in, &size), *p;
	int ret;

	if (!data || rec_reader_init(&r, data, size) < 0) {
		fprintf(stderr, "rec-synth: %s: %s\n", in, data ? r.err : "cannot read it");
		free(data);
		return 1;
	}
	ret = rec_writer_open(&w, out, &r.hdr, 3);
	if (ret < 0)
		goto out;
	/* Count the frames first, to pick one. */
	target = 0;
	while ((ret = rec_reader_next(&r, &f, false)) > 0)
		target++;
	if (ret < 0 || target == 0)
		goto out;
	target = rng_next(&seed) % target;
	rec_reader_rewind(&r);
	while ((ret = rec_reader_next(&r, &f, true)) > 0) {
		rec_writer_begin(&w);
		p = rec_writer_reserve_raw(&w, f.raw_size);
		if (!p) {
			ret = -ENOMEM;
			break;
		}
		memcpy(p, f.payload, f.raw_size);
		if (f.index == target) {
			bit = pick_flip(&f, &seed, &chunk);
			if (bit != SIZE_MAX)
				p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		ret = rec_writer_commit(&w, f.type, f.ts_ns, NULL);
		if (ret < 0)
			break;
	}
out:
	if (ret == 0)
		ret = rec_writer_close(&w);
	else
		(void)rec_writer_close(&w);
	if (ret < 0)
		fprintf(stderr, "rec-synth: %s: %s\n", in, r.err[0] ? r.err : strerror(-ret));
	else if (bit == SIZE_MAX)
		printf("frame %u: no chunk to flip\n", target);
	else
		printf("frame %u chunk %u: payload byte %zu bit %zu flipped\n", target, chunk, bit / 8,
		       bit % 8);
	rec_reader_finish(&r);
	free(data);
	return ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct synth s = { .impl = { .name = "synth", .attach = synth_attach } };
	struct mirage_driver_config cfg;
	char line[512];
	size_t used = 0;
	int ret;

	if (argc == 4 && !strcmp(argv[1], "--bad"))
		return write_bad(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "--reseal"))
		return reseal((uint32_t)strtoul(argv[2], NULL, 0), argv[3], argv[4]);
	if (argc < 4) {
		fprintf(stderr, "usage: rec-synth NAME WIDTH HEIGHT [BPP] | --bad CLASS FILE | "
			"--reseal SEED IN OUT\n");
		return 2;
	}
	mirage_driver_config_init(&cfg);
	cfg.name = argv[1];
	cfg.width = s.w = atoi(argv[2]);
	cfg.height = s.h = atoi(argv[3]);
	cfg.native_bpp = s.bpp = argc > 4 ? (uint32_t)atoi(argv[4]) : 32;
	if (mirage_driver_create(&s.drv, &cfg, &s.impl) < 0) {
		fprintf(stderr, "rec-synth: %s\n", mirage_last_error());
		return 1;
	}
	/* A known starting picture. */
	noise(&s, 0, 0, s.w, s.h, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = mirage_driver_fd(s.drv), .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			(void)!mirage_driver_dispatch(s.drv);
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, line + used, sizeof(line) - 1 - used);
			char *nl;
			if (n <= 0)
				break;
			used += (size_t)n;
			line[used] = '\0';
			while ((nl = strchr(line, '\n'))) {
				*nl = '\0';
				ret = command(&s, line);
				if (ret > 0)
					goto out;
				if (ret < 0)
					printf("error %s: %s\n", line, strerror(-ret));
				else
					printf("ok\n");
				used -= (size_t)(nl + 1 - line);
				memmove(line, nl + 1, used + 1);
			}
			if (used == sizeof(line) - 1)
				used = 0; /* an overlong line: drop it */
		}
	}
out:
	mirage_driver_destroy(s.drv);
	return 0;
}
