/* SPDX-License-Identifier: MIT */
/*
 * A tiny synthetic mirror for the mirage-vnc tests: a producer written with
 * driver.h that draws what its stdin asks for and posts the matching
 * records, so tests need no X server.
 *
 *   fake-mirror NAME WIDTH HEIGHT [BPP [CAPACITY]]   (CAPACITY: ring slots)
 * stdin, one command a line (each answered with "ok" on stdout):
 *   fill X Y W H RGB        solid rectangle (BLIT)
 *   noise X Y W H SEED      pseudo-random pixels (BLIT)
 *   copy X Y W H DX DY      move a rectangle by DX,DY (SCREEN_SCREEN)
 *   scroll X Y W H N        scroll a region up N lines, new lines noise
 *   cursor X Y              cursor position (PTR_ENGAGE)
 *   monitors X1 Y1 X2 Y2 ...  monitor layout
 *   resize W H              new geometry (ASSERT_OFF, new pipe)
 *   race X Y W H DX DY SEED LIE
 *                           draws ahead of its records (PROTOCOL.md 5.5):
 *                           noise A in R = (X,Y,W,H) published; then,
 *                           unpublished, R copied by DX,DY and noise B in
 *                           R; 300 ms later the copy and B's BLIT.  With
 *                           LIE 1 the pixel sequence claims meanwhile that
 *                           nothing is ahead (a broken producer).
 *   sync N                  prints "sync N": everything sent before is done
 *   quit
 *
 * The pixel sequence is kept: ahead before each command draws, synced
 * after it publishes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mirage/driver.h>

static struct mirage_driver *drv;
static struct mirage_driver_impl impl;

static void on_log(struct mirage_driver_impl *self, enum mirage_log_level level, const char *text)
{
	(void)self;
	(void)level;
	fprintf(stderr, "fake-mirror: %s\n", text);
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void put(int x, int y, uint32_t rgb)
{
	const struct mirage_surface_header *h = mirage_driver_surface(drv);
	uint8_t *p = mirage_driver_pixels(drv) + (size_t)y * h->stride;

	if (x < 0 || y < 0 || x >= h->width || y >= h->height)
		return;
	switch (h->bpp) {
	case 32:
		memcpy(p + (size_t)x * 4, &rgb, 4);
		break;
	case 24:
		p[x * 3] = (uint8_t)rgb;
		p[x * 3 + 1] = (uint8_t)(rgb >> 8);
		p[x * 3 + 2] = (uint8_t)(rgb >> 16);
		break;
	case 16: {
		uint16_t v = (uint16_t)(((rgb >> 19) & 0x1f) << 11 | ((rgb >> 10) & 0x3f) << 5 |
					((rgb >> 3) & 0x1f));
		memcpy(p + (size_t)x * 2, &v, 2);
		break;
	}
	}
}

static void fill(int x, int y, int w, int h, uint32_t rgb, bool noise, uint32_t seed)
{
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			put(i, j, noise ? rnd(&seed) & 0xffffff : rgb);
	mirage_driver_post_rect(drv, MIRAGE_REC_BLIT, x, y, x + w, y + h);
}

static void copy_pixels(int x, int y, int w, int h, int dx, int dy, bool post)
{
	const struct mirage_surface_header *hd = mirage_driver_surface(drv);
	uint8_t *px = mirage_driver_pixels(drv);
	int bpp = (int)hd->bpp / 8;
	/* Clip the destination to the surface and the source to it too. */
	int x1 = x + dx, y1 = y + dy, x2 = x1 + w, y2 = y1 + h;
	if (x1 < 0) x1 = 0;
	if (y1 < 0) y1 = 0;
	if (x1 < dx) x1 = dx;
	if (y1 < dy) y1 = dy;
	if (x2 > hd->width) x2 = hd->width;
	if (y2 > hd->height) y2 = hd->height;
	if (x2 > hd->width + dx) x2 = hd->width + dx;
	if (y2 > hd->height + dy) y2 = hd->height + dy;
	if (x1 >= x2 || y1 >= y2)
		return;
	size_t len = (size_t)(x2 - x1) * bpp;
	if (dy > 0) {
		for (int j = y2 - 1; j >= y1; j--)
			memmove(px + (size_t)j * hd->stride + (size_t)x1 * bpp,
				px + (size_t)(j - dy) * hd->stride + (size_t)(x1 - dx) * bpp, len);
	} else {
		for (int j = y1; j < y2; j++)
			memmove(px + (size_t)j * hd->stride + (size_t)x1 * bpp,
				px + (size_t)(j - dy) * hd->stride + (size_t)(x1 - dx) * bpp, len);
	}
	if (post)
		mirage_driver_post_copy(drv, x1, y1, x2, y2, x1 - dx, y1 - dy);
}

static void copy(int x, int y, int w, int h, int dx, int dy)
{
	copy_pixels(x, y, w, h, dx, dy, true);
}

static void race(const int *a)
{
	int x = a[0], y = a[1], w = a[2], h = a[3], dx = a[4], dy = a[5];
	uint32_t seed = (uint32_t)a[6];

	fill(x, y, w, h, 0, true, seed);
	copy_pixels(x, y, w, h, dx, dy, false);
	seed = ~seed; /* B differs from A */
	for (int j = y; j < y + h; j++)
		for (int i = x; i < x + w; i++)
			put(i, j, rnd(&seed) & 0xffffff);
	/* The lie comes before the records: a consumer woken by them must
	 * not be able to read the pixels while the sequence still says
	 * "ahead" (it would then check the copy, and the lie would go
	 * unnoticed by chance). */
	if (a[7])
		mirage_driver_pixels_synced(drv);
	mirage_driver_publish(drv);
	usleep(300 * 1000);
	mirage_driver_post_copy(drv, x + dx, y + dy, x + dx + w, y + dy + h, x, y);
	mirage_driver_post_rect(drv, MIRAGE_REC_BLIT, x, y, x + w, y + h);
}

static int on_attach(struct mirage_driver_impl *i)
{
	const struct mirage_surface_header *h = mirage_driver_surface(drv);

	(void)i;
	/* The surface is kept up to date even while detached. */
	mirage_driver_post_rect(drv, MIRAGE_REC_BLIT, 0, 0, h->width, h->height);
	mirage_driver_publish(drv);
	return 0;
}

static void cursor_shape(void)
{
	uint32_t argb[16 * 16];

	for (int i = 0; i < 256; i++)
		argb[i] = (i % 16 + i / 16 < 16) ? 0xff000000u | (i % 3 ? 0xffffff : 0) : 0;
	if (mirage_driver_set_cursor_shape(drv, 16, 16, 0, 0, argb) < 0)
		fprintf(stderr, "fake-mirror: cursor: %s\n", mirage_last_error());
}

static int command(char *line)
{
	int a[16], n;
	char cmd[16];

	n = sscanf(line, "%15s %d %d %d %d %x %d", cmd, &a[0], &a[1], &a[2], &a[3], (unsigned *)&a[4], &a[5]);
	if (n < 1)
		return 0;
	mirage_driver_pixels_ahead(drv);
	if (!strcmp(cmd, "fill") && n >= 6) {
		fill(a[0], a[1], a[2], a[3], (uint32_t)a[4], false, 0);
	} else if (!strcmp(cmd, "noise") && n >= 6) {
		sscanf(line, "%*s %*d %*d %*d %*d %d", &a[4]);
		fill(a[0], a[1], a[2], a[3], 0, true, (uint32_t)a[4]);
	} else if (!strcmp(cmd, "copy") && n >= 7) {
		sscanf(line, "%*s %*d %*d %*d %*d %d %d", &a[4], &a[5]);
		copy(a[0], a[1], a[2], a[3], a[4], a[5]);
	} else if (!strcmp(cmd, "scroll") && n >= 6) {
		sscanf(line, "%*s %*d %*d %*d %*d %d", &a[4]);
		copy(a[0], a[1] + a[4], a[2], a[3] - a[4], 0, -a[4]);
		fill(a[0], a[1] + a[3] - a[4], a[2], a[4], 0, true, (uint32_t)rand());
	} else if (!strcmp(cmd, "race") &&
		   sscanf(line, "%*s %d %d %d %d %d %d %d %d", &a[0], &a[1], &a[2], &a[3], &a[4],
			  &a[5], &a[6], &a[7]) == 8) {
		race(a);
	} else if (!strcmp(cmd, "cursor") && n >= 3) {
		mirage_driver_set_cursor_position(drv, a[0], a[1], true);
	} else if (!strcmp(cmd, "monitors")) {
		struct mirage_monitor m[MIRAGE_MONITORS_MAX] = { 0 };
		int k = 0, off = 0, used;
		char *p = line + strlen("monitors");
		while (k < (int)MIRAGE_MONITORS_MAX &&
		       sscanf(p + off, "%d %d %d %d%n", &m[k].rect.left, &m[k].rect.top,
			      &m[k].rect.right, &m[k].rect.bottom, &used) == 4) {
			snprintf(m[k].name, sizeof(m[k].name), "FAKE%d", k);
			off += used;
			k++;
		}
		if (mirage_driver_set_monitors(drv, m, (uint32_t)k) < 0)
			return -1;
	} else if (!strcmp(cmd, "resize") && n >= 3) {
		if (mirage_driver_resize(drv, a[0], a[1], mirage_driver_surface(drv)->bpp) < 0)
			return -1;
		fill(0, 0, a[0], a[1], 0x203040, false, 0);
	} else if (!strcmp(cmd, "sync") && n >= 2) {
		printf("sync %d\n", a[0]);
	} else if (!strcmp(cmd, "quit")) {
		return 1;
	} else {
		fprintf(stderr, "fake-mirror: bad command: %s", line);
		return -1;
	}
	mirage_driver_publish(drv);
	mirage_driver_pixels_synced(drv);
	return 0;
}

int main(int argc, char **argv)
{
	struct mirage_driver_config cfg;
	char line[512];

	if (argc < 4) {
		fprintf(stderr, "usage: fake-mirror NAME WIDTH HEIGHT [BPP [CAPACITY]]\n");
		return 2;
	}
	mirage_driver_config_init(&cfg);
	cfg.name = argv[1];
	cfg.width = atoi(argv[2]);
	cfg.height = atoi(argv[3]);
	cfg.native_bpp = argc > 4 ? (uint32_t)atoi(argv[4]) : 32;
	cfg.capacity = argc > 5 ? (uint32_t)atoi(argv[5]) : 0;
	impl.name = "fake";
	impl.attach = on_attach;
	impl.log = on_log;
	if (mirage_driver_create(&drv, &cfg, &impl) < 0) {
		fprintf(stderr, "fake-mirror: %s\n", mirage_last_error());
		return 1;
	}
	fill(0, 0, cfg.width, cfg.height, 0, true, 1);
	cursor_shape();
	mirage_driver_set_cursor_position(drv, 10, 10, true);
	mirage_driver_publish(drv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Unbuffered: a buffered fgets would take several commands from the
	 * pipe at once and leave all but the first in stdio's buffer, where
	 * poll() does not see them until the next write. */
	setvbuf(stdin, NULL, _IONBF, 0);
	printf("ready\n");

	struct pollfd p[2] = {
		{ .fd = mirage_driver_fd(drv), .events = POLLIN },
		{ .fd = 0, .events = POLLIN },
	};
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			perror("fake-mirror: poll");
			break;
		}
		if ((p[0].revents & POLLIN) && mirage_driver_dispatch(drv) < 0) {
			fprintf(stderr, "fake-mirror: %s\n", mirage_last_error());
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			if (!fgets(line, sizeof(line), stdin)) {
				fprintf(stderr, "fake-mirror: end of input\n");
				break;
			}
			int r = command(line);
			if (r != 0) {
				if (r > 0)
					break;
				printf("error\n");
				continue;
			}
			printf("ok\n");
		}
	}
	mirage_driver_destroy(drv);
	return 0;
}
