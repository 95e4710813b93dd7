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
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mirage/driver.h>

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

int main(int argc, char **argv)
{
	struct synth s = { .impl = { .name = "synth", .attach = synth_attach } };
	struct mirage_driver_config cfg;
	char line[512];
	size_t used = 0;
	int ret;

	if (argc < 4) {
		fprintf(stderr, "usage: rec-synth NAME WIDTH HEIGHT [BPP]\n");
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
