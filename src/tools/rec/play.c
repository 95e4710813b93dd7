/* SPDX-License-Identifier: MIT */
/*
 * mirage-rec play: a playback driver.  The recording is decoded straight
 * into the surface of a mirror it publishes (driver.h), with a BLIT or
 * SCREEN_SCREEN record for each change, the cursor through the cursor calls
 * and geometry changes through mirage_driver_resize(), so any consumer
 * (miragectl watch, mirage-vnc, another recorder) can view it.
 */
#include "rec.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mirage/driver.h>

#include "shared.h"

struct player {
	struct mirage_driver_impl impl; /* first: recovered with container_of */
	struct mirage_driver *drv;
	const char *name;
	const char *path;
	/*
	 * The picture is decoded into a canvas of our own and copied into the
	 * surface rect by rect: a settings change (Screen.ForcedBpp,
	 * Cap.DfbBackingMode) may replace the surface under us at any time,
	 * and the canvas is what we refill it from.
	 */
	struct rec_canvas *cv;
	uint8_t *canvas;
	bool mismatch;      /* the surface's format is not the recording's */
	uint32_t frame;     /* frames applied in this pass */
	uint32_t frames;    /* good frames in the file */
	uint32_t loops;
	uint64_t position;  /* timestamp of the last applied frame */
	bool at_end;
	int error;          /* a driver call failed inside a hook */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static const char play_help[] =
	"Usage: mirage-rec play FILE [OPTIONS]\n"
	"\n"
	"Plays a recording back as a mirror that any mirage consumer can view.  After\n"
	"the last frame the mirror keeps showing it until interrupted.\n"
	"\n"
	"  -n, --name NAME     the mirror's name (default: rec-<file name>)\n"
	"  -x, --speed X       playback speed factor (default 1)\n"
	"  -L, --loop          start over after the last frame\n"
	"  -e, --exit-at-end   quit after the last frame\n"
	"  -S, --salvage       play a damaged file up to its last good frame\n";

/* Copies a rect of the canvas into the surface (when their formats agree). */
static void to_surface(struct player *p, int32_t x, int32_t y, int32_t w, int32_t h)
{
	const struct mirage_surface_header *s = mirage_driver_surface(p->drv);
	uint8_t *dst = mirage_driver_pixels(p->drv);
	unsigned bpp = rec_bytes_per_pixel(p->cv->bpp);

	if (!dst || s->bpp != p->cv->bpp || s->width != p->cv->width || s->height != p->cv->height) {
		if (!p->mismatch)
			rec_warn("%s: the surface (%dx%d, %u bpp) no longer matches the recording "
				 "(%dx%d, %u bpp); pixels are not published", p->name, s->width,
				 s->height, s->bpp, p->cv->width, p->cv->height, p->cv->bpp);
		p->mismatch = true;
		return;
	}
	p->mismatch = false;
	for (int32_t i = 0; i < h; i++)
		memcpy(dst + (size_t)(y + i) * s->stride + (size_t)x * bpp,
		       p->cv->pixels + (size_t)(y + i) * p->cv->stride + (size_t)x * bpp, (size_t)w * bpp);
}

/* The whole picture into the surface, announced with one BLIT. */
static void refresh(struct player *p)
{
	if (!p->drv || !p->cv->pixels)
		return;
	to_surface(p, 0, 0, p->cv->width, p->cv->height);
	mirage_driver_post_rect(p->drv, MIRAGE_REC_BLIT, 0, 0, p->cv->width, p->cv->height);
}

static int player_attach(struct mirage_driver_impl *impl)
{
	refresh(container_of(impl, struct player, impl));
	return 0;
}

static void player_settings_changed(struct mirage_driver_impl *impl, const struct mirage_settings *old)
{
	struct player *p = container_of(impl, struct player, impl);

	/* Possibly a new pipe with an undefined surface: fill it again. */
	refresh(p);
	mirage_driver_publish(p->drv);
}

static size_t player_info(struct mirage_driver_impl *impl, char *buf, size_t size)
{
	struct player *p = container_of(impl, struct player, impl);
	int n = snprintf(buf, size, "file=%s\nframe=%u\nframes=%u\nposition_ms=%llu\nloops=%u\nat_end=%d\n",
			 p->path, p->frame, p->frames, (unsigned long long)(p->position / 1000000),
			 p->loops, p->at_end ? 1 : 0);

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void player_log(struct mirage_driver_impl *impl, enum mirage_log_level level, const char *msg)
{
	if (level <= MIRAGE_LOG_WARNING)
		rec_warn("%s", msg);
}

static int hook_geometry(void *data, struct rec_canvas *cv)
{
	struct player *p = data;
	const struct mirage_surface_header *s;
	int ret;

	if (!p->drv) {
		struct mirage_driver_config cfg;
		mirage_driver_config_init(&cfg);
		cfg.name = p->name;
		cfg.width = cv->width;
		cfg.height = cv->height;
		cfg.native_bpp = cv->bpp;
		/* A playback mirror is always attached (Cap.Bootup=2). */
		cfg.settings.bootup = 2;
		ret = mirage_driver_create(&p->drv, &cfg, &p->impl);
		if (ret < 0) {
			rec_fail("cannot create the mirror %s: %s", p->name, mirage_last_error());
			p->error = ret;
			return ret;
		}
	} else {
		s = mirage_driver_surface(p->drv);
		if (s->width != cv->width || s->height != cv->height || s->bpp != cv->bpp) {
			ret = mirage_driver_resize(p->drv, cv->width, cv->height, cv->bpp);
			if (ret < 0) {
				rec_fail("%s: resize to %dx%d: %s", p->name, cv->width, cv->height,
					 mirage_last_error());
				p->error = ret;
				return ret;
			}
		}
	}
	{
		uint8_t *c = realloc(p->canvas, (size_t)cv->stride * (size_t)cv->height);
		if (!c) {
			p->error = -ENOMEM;
			rec_fail("out of memory");
			return -ENOMEM;
		}
		p->canvas = c;
		cv->pixels = c;
	}
	p->mismatch = false;
	return 0;
}

static void hook_damage(void *data, int32_t x, int32_t y, int32_t w, int32_t h)
{
	struct player *p = data;

	to_surface(p, x, y, w, h);
	mirage_driver_post_rect(p->drv, MIRAGE_REC_BLIT, x, y, x + w, y + h);
}

static void hook_copy(void *data, int32_t x, int32_t y, int32_t w, int32_t h, int32_t sx, int32_t sy)
{
	struct player *p = data;

	/* The canvas has the result; the record tells consumers it was a copy. */
	to_surface(p, x, y, w, h);
	mirage_driver_post_copy(p->drv, x, y, x + w, y + h, sx, sy);
}

static int hook_cursor_shape(void *data, const struct rec_canvas *cv)
{
	struct player *p = data;

	if (cv->cursor_w == 0 || cv->cursor_h == 0)
		return 0;
	return mirage_driver_set_cursor_shape(p->drv, cv->cursor_w, cv->cursor_h, cv->cursor_hot_x,
					      cv->cursor_hot_y, cv->cursor_argb);
}

static void hook_cursor_pos(void *data, const struct rec_canvas *cv)
{
	struct player *p = data;

	mirage_driver_set_cursor_position(p->drv, cv->cursor_x, cv->cursor_y, cv->cursor_visible);
}

static const struct rec_apply_ops player_ops = {
	.geometry = hook_geometry,
	.damage = hook_damage,
	.copy = hook_copy,
	.cursor_shape = hook_cursor_shape,
	.cursor_pos = hook_cursor_pos,
};

/* Name a mirror after the file: rec-<base name without extension>, sanitised. */
static void default_name(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t n = 0;

	base = base ? base + 1 : path;
	n = (size_t)snprintf(buf, size, "rec-");
	for (; *base && *base != '.' && n + 1 < size && n < 63; base++, n++) {
		char c = *base;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-';
		buf[n] = ok ? c : '_';
	}
	buf[n] = '\0';
}

static uint64_t first_ts;

static uint64_t scaled(uint64_t ts, double speed)
{
	return (uint64_t)((double)(ts - first_ts) / speed);
}

int rec_cmd_play(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, 0, 'n' },
		{ "speed", required_argument, 0, 'x' },
		{ "loop", no_argument, 0, 'L' },
		{ "exit-at-end", no_argument, 0, 'e' },
		{ "salvage", no_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *path, *name = NULL;
	double speed = 1;
	bool loop = false, exit_at_end = false, salvage = false, have = false;
	struct rec_map map = { 0 };
	struct rec_check check;
	struct rec_reader rd;
	struct rec_frame f;
	struct player p;
	sigset_t block, orig;
	char namebuf[64], err[256];
	uint64_t base, end_ts = 0;
	int opt, ret, status = EXIT_FAIL;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":n:x:LeSh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'x':
			if (!rec_parse_double(optarg, &speed) || speed < 0.01 || speed > 10000)
				return rec_usage("--speed: \"%s\" is not between 0.01 and 10000", optarg);
			break;
		case 'L': loop = true; break;
		case 'e': exit_at_end = true; break;
		case 'S': salvage = true; break;
		case 'h': fputs(play_help, stdout); return 0;
		default: return rec_option_error(opt, argv);
		}
	}
	path = rec_one_recording(argc, argv);
	if (!path)
		return EXIT_USAGE;
	if (loop && exit_at_end)
		return rec_usage("--loop and --exit-at-end exclude each other");
	if (!name) {
		default_name(path, namebuf, sizeof(namebuf));
		name = namebuf;
	}

	ret = rec_open_checked(path, salvage, &map, &check);
	if (ret)
		return ret;
	if (rec_reader_init(&rd, map.data, map.size) < 0) {
		rec_map_close(&map);
		return rec_fail("%s: %s", path, rd.err);
	}

	memset(&p, 0, sizeof(p));
	p.impl.name = "rec";
	p.impl.attach = player_attach;
	p.impl.settings_changed = player_settings_changed;
	p.impl.info = player_info;
	p.impl.log = player_log;
	p.name = name;
	p.path = path;
	p.frames = check.frames;
	first_ts = check.first_ts;
	p.cv = calloc(1, sizeof(*p.cv));
	if (!p.cv) {
		rec_fail("out of memory");
		goto cleanup;
	}

	/* Signals arrive only inside ppoll(), so a stop is never missed. */
	rec_catch_stop(on_stop);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);

	base = rec_now_ns();
	for (;;) {
		struct pollfd pfd = { .fd = -1, .events = POLLIN };
		struct timespec tmo, *tp = NULL;
		uint64_t now = rec_now_ns(), due;

		if (stop_signal)
			break;
		if (!p.at_end && !have) {
			ret = p.frame < p.frames ? rec_reader_next(&rd, &f, true) : 0;
			if (ret < 0) {
				if (!salvage) {
					rec_fail("%s: %s", path, rd.err);
					goto cleanup;
				}
				rec_warn("%s: %s; stopping at the last good frame", path, rd.err);
				p.frames = p.frame;
				ret = 0;
			}
			if (ret == 0) {
				p.at_end = true;
				if (p.drv)
					mirage_driver_publish(p.drv);
				if (exit_at_end)
					break;
			} else {
				have = true;
			}
		}
		if (have) {
			due = base + scaled(f.ts_ns, speed);
			if (now >= due) {
				ret = rec_apply(p.cv, &f, &player_ops, &p, err, sizeof(err));
				if (ret < 0 && !p.error) {
					if (!salvage) {
						rec_fail("%s: offset %llu: frame %u: %s", path,
							 (unsigned long long)f.offset, f.index, err);
						goto cleanup;
					}
					rec_warn("%s: offset %llu: frame %u: %s; stopping here", path,
						 (unsigned long long)f.offset, f.index, err);
					p.frames = p.frame;
					p.at_end = true;
				} else if (ret < 0) {
					goto cleanup; /* the hook said why */
				} else {
					if (f.type == REC_FRAME_KEY)
						hook_cursor_pos(&p, p.cv);
					p.frame++;
					p.position = f.ts_ns;
					end_ts = f.ts_ns;
				}
				have = false;
				if (p.drv)
					mirage_driver_publish(p.drv);
				continue;
			}
			tmo.tv_sec = (time_t)((due - now) / 1000000000u);
			tmo.tv_nsec = (long)((due - now) % 1000000000u);
			tp = &tmo;
		} else if (p.at_end && loop) {
			due = base + scaled(end_ts, speed);
			if (now >= due) {
				rec_reader_rewind(&rd);
				base = now;
				p.frame = 0;
				p.loops++;
				p.at_end = false;
				continue;
			}
			tmo.tv_sec = (time_t)((due - now) / 1000000000u);
			tmo.tv_nsec = (long)((due - now) % 1000000000u);
			tp = &tmo;
		}
		if (p.drv)
			pfd.fd = mirage_driver_fd(p.drv);
		ret = ppoll(&pfd, 1, tp, &orig);
		if (ret < 0 && errno != EINTR) {
			rec_fail("poll: %s", strerror(errno));
			goto cleanup;
		}
		if (ret > 0 && (pfd.revents & POLLIN) && mirage_driver_dispatch(p.drv) < 0) {
			rec_fail("%s: %s", name, mirage_last_error());
			goto cleanup;
		}
	}
	status = 0;
cleanup:
	mirage_driver_destroy(p.drv);
	rec_reader_finish(&rd);
	rec_map_close(&map);
	free(p.cv);
	free(p.canvas);
	return status;
}
