/* SPDX-License-Identifier: MIT */
/*
 * mirage-testsrc: a synthetic mirror for miragectl's integration tests.
 *
 *   mirage-testsrc [--size WxH] [--bpp 16|24|32] [--capacity N]
 *                  [--set KEY=VALUE]... NAME
 *
 * Keeps its own model of the screen (a 0x00RRGGBB per pixel, drawn by
 * deterministic rules) and renders it into the mirror's surface.  A test
 * drives it with one command a line on stdin; every command is answered
 * with one line on stdout, "ok ..." or "error ...", so a test can wait for
 * it to be done:
 *
 *   step                       fill the next 8x6 tile; post BLIT
 *   burst N                    N steps, each published on its own
 *   copy SX SY W H DX DY       screen-to-screen copy; post SCREEN_SCREEN
 *   resize W H [BPP]           new geometry (new pipe); full refresh
 *   cursor shape W H HX HY     a deterministic cursor shape
 *   cursor move X Y            show the cursor there
 *   cursor hide
 *   ref FILE                   write the model as the PPM a snapshot must equal
 *   shaperef FILE              write the cursor as the PAM `shape` must equal
 *   quit
 *
 * The references are computed from the model, never from the surface: for
 * 16 bpp the model's colours are reduced to 565 and widened again with the
 * rule miragectl documents, in code of its own.
 *
 * It prints "ready NAME" once the socket exists.  stdin at EOF, SIGINT or
 * SIGTERM end it like quit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mirage/driver.h>

#define TILE_W 8
#define TILE_H 6

struct testsrc {
	struct mirage_driver_impl impl; /* first: recovered with container_of */
	struct mirage_driver *drv;
	int32_t width, height;
	uint32_t native_bpp;
	uint32_t *model;               /* width * height, 0x00RRGGBB */
	uint32_t steps, copies, resizes, refreshes;
	bool refresh_pending;          /* attached before drv was known */
	/* The cursor shape as handed to the library (premultiplied). */
	uint32_t cur_w, cur_h;
	int32_t cur_x, cur_y;
	uint32_t *cursor;
};

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static volatile sig_atomic_t quit_signal;

static void on_signal(int sig)
{
	quit_signal = sig;
}

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

/* The background: a gradient, different along x and y so flips show. */
static uint32_t base_pixel(int32_t x, int32_t y)
{
	uint32_t r = (uint32_t)(x * 4) & 0xff, g = (uint32_t)(y * 5) & 0xff;
	uint32_t b = (uint32_t)((x + y) * 3) & 0xff;

	return r << 16 | g << 8 | b;
}

/* Tile k: a colour of its own with a ramp inside, so offsets show too. */
static uint32_t tile_pixel(uint32_t k, int32_t dx, int32_t dy)
{
	uint32_t h = (k + 1) * 2654435761u;
	uint32_t r = ((h >> 24) + (uint32_t)dx * 16) & 0xff;
	uint32_t g = ((h >> 16) + (uint32_t)dy * 20) & 0xff;
	uint32_t b = (h >> 8) & 0xff;

	return r << 16 | g << 8 | b;
}

static int model_reset(struct testsrc *ts, int32_t width, int32_t height)
{
	uint32_t *m = malloc((size_t)width * height * sizeof(*m));

	if (!m)
		return -ENOMEM;
	for (int32_t y = 0; y < height; y++)
		for (int32_t x = 0; x < width; x++)
			m[(size_t)y * width + x] = base_pixel(x, y);
	free(ts->model);
	ts->model = m;
	ts->width = width;
	ts->height = height;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rendering the model into the surface                                */
/* ------------------------------------------------------------------ */

/*
 * Renders [x1,x2) x [y1,y2) of the model in the surface's format.  Done
 * whether or not the mirror is attached, so the surface always equals the
 * model and a snapshot can be compared at any time.
 */
static void render(struct testsrc *ts, int32_t x1, int32_t y1, int32_t x2, int32_t y2)
{
	const struct mirage_surface_header *s = mirage_driver_surface(ts->drv);
	uint8_t *pixels = mirage_driver_pixels(ts->drv);

	if (!pixels || s->bpp == 0)
		return;
	for (int32_t y = y1; y < y2; y++) {
		uint8_t *line = pixels + (size_t)y * s->stride;

		for (int32_t x = x1; x < x2; x++) {
			uint32_t v = ts->model[(size_t)y * ts->width + x];

			if (s->bpp == 32) {
				memcpy(line + (size_t)x * 4, &v, 4);
			} else if (s->bpp == 24) {
				uint8_t *p = line + (size_t)x * 3;

				p[0] = (uint8_t)v;
				p[1] = (uint8_t)(v >> 8);
				p[2] = (uint8_t)(v >> 16);
			} else {
				uint16_t p = (uint16_t)(((v >> 19) & 0x1f) << 11 |
							((v >> 10) & 0x3f) << 5 |
							((v >> 3) & 0x1f));

				memcpy(line + (size_t)x * 2, &p, 2);
			}
		}
	}
}

/* Renders everything and, when attached, posts one BLIT covering it. */
static void refresh(struct testsrc *ts)
{
	render(ts, 0, 0, ts->width, ts->height);
	if (mirage_driver_attached(ts->drv)) {
		mirage_driver_post_rect(ts->drv, MIRAGE_REC_BLIT, 0, 0, ts->width, ts->height);
		mirage_driver_publish(ts->drv);
		ts->refreshes++;
	}
}

/* ------------------------------------------------------------------ */
/* Driver callbacks                                                    */
/* ------------------------------------------------------------------ */

static int ts_attach(struct mirage_driver_impl *impl)
{
	struct testsrc *ts = container_of(impl, struct testsrc, impl);

	/*
	 * With Cap.Bootup 1 or 2 this runs inside mirage_driver_create(),
	 * before we know the driver; and the library may count us attached
	 * only once this returns.  Post the refresh after dispatch instead.
	 */
	ts->refresh_pending = true;
	return 0;
}

static void ts_settings_changed(struct mirage_driver_impl *impl, const struct mirage_settings *old)
{
	struct testsrc *ts = container_of(impl, struct testsrc, impl);
	const struct mirage_settings *now = mirage_driver_settings(ts->drv);

	/* A new pipe: its surface is blank until we render. */
	if (now->forced_bpp != old->forced_bpp || now->backing_mode != old->backing_mode) {
		render(ts, 0, 0, ts->width, ts->height);
		ts->refresh_pending = true;
	}
}

static size_t ts_info(struct mirage_driver_impl *impl, char *buf, size_t size)
{
	struct testsrc *ts = container_of(impl, struct testsrc, impl);
	int n = snprintf(buf, size, "steps=%u\ncopies=%u\nresizes=%u\nrefreshes=%u\n",
			 ts->steps, ts->copies, ts->resizes, ts->refreshes);

	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

static void ts_log(struct mirage_driver_impl *impl, enum mirage_log_level level,
		   const char *message)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	(void)impl;
	fprintf(stderr, "mirage-testsrc: %s: %s\n",
		(unsigned)level < 4 ? names[level] : "log", message);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 1, 2)))
static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void do_step(struct testsrc *ts)
{
	uint32_t k = ts->steps++;
	int32_t span_x = ts->width > TILE_W ? ts->width - TILE_W : 1;
	int32_t span_y = ts->height > TILE_H ? ts->height - TILE_H : 1;
	int32_t x0 = (int32_t)((k * 7) % (uint32_t)span_x);
	int32_t y0 = (int32_t)((k * 5) % (uint32_t)span_y);
	int32_t x1 = x0 + TILE_W < ts->width ? x0 + TILE_W : ts->width;
	int32_t y1 = y0 + TILE_H < ts->height ? y0 + TILE_H : ts->height;

	for (int32_t y = y0; y < y1; y++)
		for (int32_t x = x0; x < x1; x++)
			ts->model[(size_t)y * ts->width + x] = tile_pixel(k, x - x0, y - y0);
	render(ts, x0, y0, x1, y1);
	mirage_driver_post_rect(ts->drv, MIRAGE_REC_BLIT, x0, y0, x1, y1);
	mirage_driver_publish(ts->drv);
}

static bool in_bounds(const struct testsrc *ts, int32_t x, int32_t y, int32_t w, int32_t h)
{
	return x >= 0 && y >= 0 && w > 0 && h > 0 && x <= ts->width - w && y <= ts->height - h;
}

static int do_copy(struct testsrc *ts, int32_t sx, int32_t sy, int32_t w, int32_t h,
		   int32_t dx, int32_t dy)
{
	uint32_t *tmp;

	if (!in_bounds(ts, sx, sy, w, h) || !in_bounds(ts, dx, dy, w, h))
		return -EINVAL;
	/* Through a copy: source and destination may overlap. */
	tmp = malloc((size_t)w * h * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (int32_t y = 0; y < h; y++)
		memcpy(tmp + (size_t)y * w, ts->model + (size_t)(sy + y) * ts->width + sx,
		       (size_t)w * sizeof(*tmp));
	for (int32_t y = 0; y < h; y++)
		memcpy(ts->model + (size_t)(dy + y) * ts->width + dx, tmp + (size_t)y * w,
		       (size_t)w * sizeof(*tmp));
	free(tmp);
	render(ts, dx, dy, dx + w, dy + h);
	mirage_driver_post_copy(ts->drv, dx, dy, dx + w, dy + h, sx, sy);
	mirage_driver_publish(ts->drv);
	ts->copies++;
	return 0;
}

static int do_resize(struct testsrc *ts, int32_t w, int32_t h, uint32_t bpp)
{
	int ret = mirage_driver_resize(ts->drv, w, h, bpp);

	if (ret < 0)
		return ret;
	ret = model_reset(ts, w, h);
	if (ret < 0)
		return ret;
	ts->native_bpp = bpp;
	ts->resizes++;
	refresh(ts);
	return 0;
}

/* Premultiplies one straight channel, rounding to nearest. */
static uint32_t premultiply(uint32_t c, uint32_t a)
{
	return (c * a + 127) / 255;
}

static int do_cursor_shape(struct testsrc *ts, uint32_t w, uint32_t h, int32_t hx, int32_t hy)
{
	uint32_t *argb;
	int ret;

	if (w == 0 || h == 0 || w > MIRAGE_CURSOR_MAX || h > MIRAGE_CURSOR_MAX)
		return -EINVAL;
	argb = malloc((size_t)w * h * sizeof(*argb));
	if (!argb)
		return -ENOMEM;
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			/* Alpha runs through 0, 255 and values between. */
			uint32_t a = (x + y * 3) * 37 & 0xff;
			uint32_t r = x * 16 & 0xff, g = y * 16 & 0xff, b = 0xc0;

			if (x == 0)
				a = 0xff;
			else if (y == 0)
				a = 0;
			argb[y * w + x] = a << 24 | premultiply(r, a) << 16 |
					  premultiply(g, a) << 8 | premultiply(b, a);
		}
	}
	ret = mirage_driver_set_cursor_shape(ts->drv, w, h, hx, hy, argb);
	if (ret < 0) {
		free(argb);
		return ret;
	}
	free(ts->cursor);
	ts->cursor = argb;
	ts->cur_w = w;
	ts->cur_h = h;
	mirage_driver_publish(ts->drv);
	return 0;
}

/* Widens a 5- or 6-bit channel to 8 bits by repeating its top bits. */
static uint8_t widen(uint32_t v, unsigned bits)
{
	return (uint8_t)(v << (8 - bits) | v >> (2 * bits - 8));
}

static int write_ref(const struct testsrc *ts, const char *path)
{
	const struct mirage_surface_header *s = mirage_driver_surface(ts->drv);
	FILE *f = fopen(path, "wb");
	int ret = 0;

	if (!f)
		return -errno;
	fprintf(f, "P6\n%d %d\n255\n", ts->width, ts->height);
	for (size_t i = 0; i < (size_t)ts->width * ts->height; i++) {
		uint32_t v = ts->model[i];
		uint8_t rgb[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

		if (s->bpp == 16) {
			rgb[0] = widen(rgb[0] >> 3, 5);
			rgb[1] = widen(rgb[1] >> 2, 6);
			rgb[2] = widen(rgb[2] >> 3, 5);
		}
		fwrite(rgb, 1, 3, f);
	}
	if (ferror(f))
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

static uint8_t unpremultiply(uint32_t c, uint32_t a)
{
	uint32_t v;

	if (a == 0)
		return 0;
	v = (c * 255 + a / 2) / a;
	return (uint8_t)(v > 255 ? 255 : v);
}

static int write_shape_ref(const struct testsrc *ts, const char *path)
{
	FILE *f;
	int ret = 0;

	if (!ts->cursor)
		return -ENODATA;
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n",
		ts->cur_w, ts->cur_h);
	for (size_t i = 0; i < (size_t)ts->cur_w * ts->cur_h; i++) {
		uint32_t v = ts->cursor[i], a = v >> 24;
		uint8_t px[4] = { unpremultiply(v >> 16 & 0xff, a), unpremultiply(v >> 8 & 0xff, a),
				  unpremultiply(v & 0xff, a), (uint8_t)a };

		fwrite(px, 1, 4, f);
	}
	if (ferror(f))
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* Runs one command line; returns false for quit. */
static bool run_command(struct testsrc *ts, char *line)
{
	char word[16] = "", arg[16] = "", path[4096];
	int32_t v[6];
	uint32_t u;
	int ret = 0, n;

	if (sscanf(line, "%15s", word) != 1)
		return true;
	if (strcmp(word, "quit") == 0) {
		reply("ok quit");
		return false;
	} else if (strcmp(word, "step") == 0) {
		do_step(ts);
	} else if (strcmp(word, "burst") == 0) {
		if (sscanf(line, "%*s %u", &u) != 1 || u == 0 || u > 1000000)
			ret = -EINVAL;
		for (uint32_t i = 0; ret == 0 && i < u; i++)
			do_step(ts);
	} else if (strcmp(word, "copy") == 0) {
		if (sscanf(line, "%*s %d %d %d %d %d %d", &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5]) != 6)
			ret = -EINVAL;
		else
			ret = do_copy(ts, v[0], v[1], v[2], v[3], v[4], v[5]);
	} else if (strcmp(word, "resize") == 0) {
		u = ts->native_bpp;
		n = sscanf(line, "%*s %d %d %u", &v[0], &v[1], &u);
		if (n < 2)
			ret = -EINVAL;
		else
			ret = do_resize(ts, v[0], v[1], u);
	} else if (strcmp(word, "cursor") == 0) {
		sscanf(line, "%*s %15s", arg);
		if (strcmp(arg, "shape") == 0 &&
		    sscanf(line, "%*s %*s %d %d %d %d", &v[0], &v[1], &v[2], &v[3]) == 4 &&
		    v[0] > 0 && v[1] > 0) {
			ret = do_cursor_shape(ts, (uint32_t)v[0], (uint32_t)v[1], v[2], v[3]);
		} else if (strcmp(arg, "move") == 0 &&
			   sscanf(line, "%*s %*s %d %d", &v[0], &v[1]) == 2) {
			ts->cur_x = v[0];
			ts->cur_y = v[1];
			mirage_driver_set_cursor_position(ts->drv, v[0], v[1], true);
			mirage_driver_publish(ts->drv);
		} else if (strcmp(arg, "hide") == 0) {
			mirage_driver_set_cursor_position(ts->drv, ts->cur_x, ts->cur_y, false);
			mirage_driver_publish(ts->drv);
		} else {
			ret = -EINVAL;
		}
	} else if (strcmp(word, "ref") == 0 || strcmp(word, "shaperef") == 0) {
		if (sscanf(line, "%*s %4095s", path) != 1)
			ret = -EINVAL;
		else if (word[0] == 'r')
			ret = write_ref(ts, path);
		else
			ret = write_shape_ref(ts, path);
	} else {
		ret = -ENOSYS;
	}

	if (ret < 0)
		reply("error %s: %s", word, strerror(-ret));
	else
		reply("ok %s counter=%" PRIu64, word, mirage_driver_counter(ts->drv));
	return true;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr, "usage: mirage-testsrc [--size WxH] [--bpp 16|24|32] [--capacity N] "
		"[--set KEY=VALUE]... NAME\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "bpp", required_argument, NULL, 'b' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct testsrc ts = {
		.impl = {
			.name = "testsrc",
			.attach = ts_attach,
			.settings_changed = ts_settings_changed,
			.info = ts_info,
			.log = ts_log,
		},
	};
	struct mirage_driver_config cfg;
	struct mirage_driver *drv = NULL;
	struct sigaction sa;
	char buf[8192];
	size_t used = 0;
	bool running = true;
	int opt, ret, status = 1;

	mirage_driver_config_init(&cfg);
	cfg.width = 64;
	cfg.height = 48;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *eq;

		switch (opt) {
		case 's':
			if (sscanf(optarg, "%dx%d", &cfg.width, &cfg.height) != 2)
				return usage();
			break;
		case 'b':
			cfg.native_bpp = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			cfg.capacity = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			eq = strchr(optarg, '=');
			if (!eq)
				return usage();
			*eq = '\0';
			if (mirage_settings_set(&cfg.settings, optarg, eq + 1) < 0) {
				fprintf(stderr, "mirage-testsrc: %s\n", mirage_last_error());
				return 2;
			}
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	cfg.name = argv[optind];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (model_reset(&ts, cfg.width, cfg.height) < 0)
		goto out;
	ts.native_bpp = cfg.native_bpp;
	ret = mirage_driver_create(&drv, &cfg, &ts.impl);
	if (ret < 0) {
		fprintf(stderr, "mirage-testsrc: create %s: %s\n", cfg.name, mirage_last_error());
		goto out;
	}
	ts.drv = drv;
	render(&ts, 0, 0, ts.width, ts.height);
	if (ts.refresh_pending) {
		ts.refresh_pending = false;
		refresh(&ts);
	}
	reply("ready %s", mirage_driver_name(drv));

	while (running && !quit_signal) {
		struct pollfd fds[2] = {
			{ .fd = mirage_driver_fd(drv), .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("mirage-testsrc: poll");
			goto out;
		}
		if (fds[0].revents) {
			ret = mirage_driver_dispatch(drv);
			if (ret < 0) {
				fprintf(stderr, "mirage-testsrc: dispatch: %s\n", mirage_last_error());
				goto out;
			}
			if (ts.refresh_pending) {
				ts.refresh_pending = false;
				refresh(&ts);
			}
		}
		if (fds[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf + used, sizeof(buf) - 1 - used);
			char *line, *nl;

			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				break; /* EOF: the test is gone */
			}
			used += (size_t)n;
			buf[used] = '\0';
			line = buf;
			while (running && (nl = strchr(line, '\n'))) {
				*nl = '\0';
				running = run_command(&ts, line);
				line = nl + 1;
			}
			used -= (size_t)(line - buf);
			memmove(buf, line, used);
			if (used == sizeof(buf) - 1)
				used = 0; /* a line longer than any command: drop it */
		}
	}
	status = 0;
out:
	mirage_driver_destroy(drv);
	free(ts.model);
	free(ts.cursor);
	return status;
}
