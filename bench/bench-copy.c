/* SPDX-License-Identifier: MIT */
/*
 * Dirty-rect extraction: mirage_client_copy_region() of the union of a few
 * hundred scattered rects on a 1920x1080x32 surface, against plain memcpy
 * of the same bytes.  Prints throughput and the ratio (target >= 0.8).
 *
 * Usage: bench-copy [rects] [seed]   (defaults 300, 1)
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>
#include <mirage/driver.h>

#define NAME "bench-copy"
#define W 1920
#define H 1080

static char dir[256];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-copy: %s: %s\n", what, mirage_last_error());
	exit(1);
}

/* The producer runs in a child: fills the surface, then serves until EOF on cmd. */
static void producer(int cmd, int ready)
{
	struct mirage_driver_impl impl = { .name = "bench" };
	struct mirage_driver_config cfg;
	struct mirage_driver *d = NULL;
	uint8_t *px;
	size_t size;
	char c;

	mirage_driver_config_init(&cfg);
	cfg.name = NAME;
	cfg.width = W;
	cfg.height = H;
	cfg.settings.bootup = 1;
	if (mirage_driver_create(&d, &cfg, &impl) < 0)
		die("create");
	px = mirage_driver_pixels(d);
	size = (size_t)mirage_driver_surface(d)->stride * H;
	for (size_t i = 0; i < size; i++)
		px[i] = (uint8_t)(i * 2654435761u >> 13);
	if (write(ready, "r", 1) != 1)
		exit(1);
	for (;;) {
		ssize_t n;

		if (mirage_driver_dispatch(d) < 0)
			die("dispatch");
		n = read(cmd, &c, 1);
		if (n == 0)
			break;
		usleep(1000);
	}
	mirage_driver_destroy(d);
	_exit(0);
}

/* Runs the statements until at least 300 ms have passed; result = ns per run. */
#define TIME(result, ...) do { \
	uint64_t t0_ = now_ns(), n_ = 0; \
	do { __VA_ARGS__; n_++; } while (now_ns() - t0_ < 300000000ull); \
	result = (double)(now_ns() - t0_) / (double)n_; \
} while (0)

static void measure(const char *label, struct mirage_client *c, pixman_region32_t *reg,
		    uint8_t *dst, const uint8_t *src_copy, uint8_t *flat_src, uint8_t *flat_dst)
{
	uint32_t stride = mirage_client_surface(c)->stride;
	int nboxes;
	pixman_box32_t *boxes = pixman_region32_rectangles(reg, &nboxes);
	int64_t bytes = 0, got = 0;
	double t_region, t_flat, t_rows;

	for (int i = 0; i < nboxes; i++)
		bytes += (int64_t)(boxes[i].x2 - boxes[i].x1) * (boxes[i].y2 - boxes[i].y1) * 4;

	TIME(t_region, got = mirage_client_copy_region(c, reg, dst, stride));
	if (got != bytes) {
		fprintf(stderr, "bench-copy: copied %lld bytes, expected %lld\n",
			(long long)got, (long long)bytes);
		exit(1);
	}
	/* The same bytes as one contiguous memcpy: the bound. */
	TIME(t_flat, memcpy(flat_dst, flat_src, (size_t)bytes); __asm__ volatile("" ::: "memory"));
	/* The same rows with memcpy from a private (not shared) copy of the surface. */
	TIME(t_rows, {
		for (int i = 0; i < nboxes; i++) {
			size_t off = (size_t)boxes[i].x1 * 4, len = (size_t)(boxes[i].x2 - boxes[i].x1) * 4;

			for (int32_t y = boxes[i].y1; y < boxes[i].y2; y++)
				memcpy(dst + (size_t)y * stride + off, src_copy + (size_t)y * stride + off, len);
		}
		__asm__ volatile("" ::: "memory");
	});
	printf("  %-34s %5d boxes %7.2f MB: copy_region %6.2f GB/s, memcpy %6.2f GB/s (ratio %.2f), "
	       "row-wise memcpy %6.2f GB/s (ratio %.2f)\n",
	       label, nboxes, (double)bytes / 1e6, (double)bytes / t_region,
	       (double)bytes / t_flat, t_flat / t_region, (double)bytes / t_rows, t_rows / t_region);
}

int main(int argc, char **argv)
{
	unsigned nrects = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 300;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1, s;
	int cmd[2], ready[2];
	struct mirage_client *c = NULL;
	pixman_region32_t reg;
	uint8_t *dst, *src_copy, *flat_src, *flat_dst;
	size_t size;
	pid_t pid;
	char b;

	snprintf(dir, sizeof(dir), "/tmp/mirage-bench-XXXXXX");
	if (!mkdtemp(dir) || setenv("MIRAGE_DIR", dir, 1) < 0)
		return 1;
	if (pipe2(cmd, O_NONBLOCK) < 0 || pipe(ready) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		close(cmd[1]);
		close(ready[0]);
		producer(cmd[0], ready[1]);
	}
	close(cmd[0]);
	close(ready[1]);
	if (read(ready[0], &b, 1) != 1)
		return 1;
	if (mirage_client_connect(&c, NAME) < 0)
		die("connect");

	size = (size_t)mirage_client_surface(c)->stride * H;
	dst = malloc(size);
	src_copy = malloc(size);
	flat_src = malloc(size);
	flat_dst = malloc(size);
	if (!dst || !src_copy || !flat_src || !flat_dst)
		return 1;
	memcpy(src_copy, mirage_client_pixels(c), size);
	memset(dst, 0, size);
	memset(flat_src, 1, size);
	memset(flat_dst, 0, size);

	printf("bench-copy: %dx%d 32 bpp, %u rects, seed %llu\n", W, H, nrects,
	       (unsigned long long)seed);
	/* Scattered damage: widgets, text runs and small icons. */
	s = seed;
	pixman_region32_init(&reg);
	for (unsigned i = 0; i < nrects; i++) {
		int32_t w, h, x, y;

		s = s * 6364136223846793005ull + 1442695040888963407ull;
		w = 8 + (int32_t)((s >> 33) % 240);
		h = 8 + (int32_t)((s >> 45) % 100);
		x = (int32_t)((s >> 20) % (W - 8));
		y = (int32_t)((s >> 5) % (H - 8));
		pixman_region32_union_rect(&reg, &reg, x, y, (unsigned)w, (unsigned)h);
	}
	pixman_region32_intersect_rect(&reg, &reg, 0, 0, W, H);
	measure("scattered rects", c, &reg, dst, src_copy, flat_src, flat_dst);
	pixman_region32_fini(&reg);

	pixman_region32_init_rect(&reg, 0, 0, W, H);
	measure("full frame", c, &reg, dst, src_copy, flat_src, flat_dst);
	pixman_region32_fini(&reg);

	pixman_region32_init(&reg);
	for (int i = 0; i < 40; i++)
		pixman_region32_union_rect(&reg, &reg, 100 + i * 40, 300, 9, 16); /* a line of glyphs */
	measure("a line of glyphs (40 x 9x16)", c, &reg, dst, src_copy, flat_src, flat_dst);
	pixman_region32_fini(&reg);

	mirage_client_destroy(c);
	close(cmd[1]);
	waitpid(pid, NULL, 0);
	rmdir(dir);
	free(dst);
	free(src_copy);
	free(flat_src);
	free(flat_dst);
	return 0;
}
