/* SPDX-License-Identifier: MIT */
/*
 * A captured frame into the surface.  The compositor's damage is a hint
 * (wlroots before 0.19 sends one bounding box a frame), so what it names is
 * compared with the surface by the shared refinery: only tiles whose pixels
 * differ are published, and vertical scrolls inside the damage become
 * SCREEN_SCREEN records once every pixel of them has been verified.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mirage-wayland.h"

/* The refinery's comparison grain, as mirage-x11's. */
#define TILE 16
/* More BLIT records than this in one frame cost more than their pixels. */
#define MAX_BLITS 1024

static struct wayland_mirror *from_impl(struct mirage_driver_impl *impl)
{
	return container_of(impl, struct wayland_mirror, impl);
}

static struct refine_image surface_image(struct wayland_mirror *m)
{
	const struct mirage_surface_header *s = mirage_driver_surface(m->drv);

	return (struct refine_image){
		.data = mirage_driver_pixels(m->drv),
		.stride = s->stride,
		.bpp = s->bpp,
		.width = s->width,
		.height = s->height,
	};
}

int wayland_mirror_surface_changed(struct wayland_mirror *m)
{
	struct refine_image s = surface_image(m);

	free(m->next.data);
	memset(&m->next, 0, sizeof(m->next));
	m->full_refresh = true;
	if (!s.data)
		return 0;
	m->next = s;
	m->next.data = malloc((size_t)s.stride * (size_t)s.height);
	if (!m->next.data) {
		wayland_log(MIRAGE_LOG_ERROR, "out of memory for a %dx%d frame", s.width, s.height);
		return -ENOMEM;
	}
	return 0;
}

void wayland_mirror_monitors(struct wayland_mirror *m)
{
	const struct wayland_backend *b = m->backend;
	struct mirage_monitor mon = {
		.rect = { b->lx, b->ly, b->lx + b->lw, b->ly + b->lh },
	};

	m->backend->layout_changed = false;
	snprintf(mon.name, sizeof(mon.name), "%s", b->output_name);
	if (mirage_driver_set_monitors(m->drv, &mon, 1) < 0)
		wayland_log(MIRAGE_LOG_WARNING, "monitor layout %dx%d+%d+%d refused: %s", b->lw, b->lh,
			    b->lx, b->ly, mirage_last_error());
}

int wayland_mirror_start(struct wayland_mirror *m)
{
	m->full_refresh = true;
	return m->backend->impl->start(m->backend);
}

void wayland_mirror_stop(struct wayland_mirror *m)
{
	m->backend->impl->stop(m->backend);
}

static void on_copy(void *data, const pixman_box32_t *dst, int32_t src_x, int32_t src_y)
{
	struct wayland_mirror *m = data;

	mirage_driver_post_copy(m->drv, dst->x1, dst->y1, dst->x2, dst->y2, src_x, src_y);
}

/* The frame's pixels of `region` into next, in the surface format. */
static void convert(struct wayland_mirror *m, const struct wayland_frame *f, const pixman_region32_t *region)
{
	const pixman_box32_t *b;
	uint32_t nb = m->next.bpp / 8;
	int n;

	b = pixman_region32_rectangles((pixman_region32_t *)region, &n);
	for (int i = 0; i < n; i++) {
		for (int32_t y = b[i].y1; y < b[i].y2; y++) {
			int32_t sy = f->y_invert ? f->height - 1 - y : y;

			refine_convert_row(m->next.data + (size_t)y * m->next.stride + (size_t)b[i].x1 * nb,
					   m->next.bpp, f->data + (size_t)sy * f->stride + (size_t)b[i].x1 * 4,
					   32, f->masks, (uint32_t)(b[i].x2 - b[i].x1));
		}
	}
}

static void post_region(struct wayland_mirror *m, pixman_region32_t *r)
{
	const pixman_box32_t *b;
	int n;

	b = pixman_region32_rectangles(r, &n);
	if (n > MAX_BLITS) {
		b = pixman_region32_extents(r);
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, b[i].x1, b[i].y1, b[i].x2, b[i].y2);
		m->stats.published_pixels += (uint64_t)(b[i].x2 - b[i].x1) * (uint64_t)(b[i].y2 - b[i].y1);
		m->stats.blits++;
	}
}

static int resize(struct wayland_mirror *m, const struct wayland_frame *f)
{
	int ret = mirage_driver_resize(m->drv, f->width, f->height, 32);

	if (ret < 0) {
		wayland_log(MIRAGE_LOG_ERROR, "cannot resize the mirror to %dx%d: %s", f->width, f->height,
			    mirage_last_error());
		return ret;
	}
	wayland_log(MIRAGE_LOG_INFO, "output %s is now %dx%d", m->backend->output_name, f->width, f->height);
	return wayland_mirror_surface_changed(m);
}

int wayland_mirror_frame(void *data, const struct wayland_frame *f)
{
	struct wayland_mirror *m = data;
	const struct mirage_surface_header *h = mirage_driver_surface(m->drv);
	pixman_region32_t damage, changed;
	struct refine_image s;
	int ret;

	m->frames++;
	if (f->width != h->width || f->height != h->height) {
		if ((ret = resize(m, f)) < 0)
			return ret;
	}
	if (m->backend->layout_changed)
		wayland_mirror_monitors(m);
	if (!mirage_driver_attached(m->drv))
		return 0;
	pixman_region32_init(&damage);
	pixman_region32_init(&changed);
	if (m->full_refresh || f->full)
		pixman_region32_reset(&damage, &(pixman_box32_t){ 0, 0, f->width, f->height });
	else
		pixman_region32_copy(&damage, (pixman_region32_t *)f->damage);
	{
		const pixman_box32_t *e = pixman_region32_extents(&damage);
		m->stats.reported_pixels += (uint64_t)(e->x2 - e->x1) * (uint64_t)(e->y2 - e->y1);
	}
	s = surface_image(m);
	if (!s.data) {
		/* Backing mode 0: records only, nothing to compare against. */
		post_region(m, &damage);
	} else if (m->full_refresh) {
		pixman_region32_t all;

		pixman_region32_init_rect(&all, 0, 0, (unsigned)f->width, (unsigned)f->height);
		convert(m, f, &all);
		memcpy(s.data, m->next.data, (size_t)s.stride * (size_t)s.height);
		post_region(m, &all);
		pixman_region32_fini(&all);
	} else {
		int n;
		const pixman_box32_t *areas;

		convert(m, f, &damage);
		areas = pixman_region32_rectangles(&damage, &n);
		/* Copies from the pixels alone: Wayland tells a client no window
		 * positions.  A move (any direction) first; a vertical scroll's
		 * row hashes when no move was found. */
		if (mirage_driver_settings(m->drv)->blt_copybits &&
		    refine_moves(&s, &m->next, &damage, areas, n, &m->stats, on_copy, m) == 0)
			refine_scrolls(&s, &m->next, &damage, areas, n, &m->stats, on_copy, m);
		refine_tiles(&s, &m->next, &damage, TILE, &changed, &m->stats);
		post_region(m, &changed);
	}
	m->full_refresh = false;
	pixman_region32_fini(&damage);
	pixman_region32_fini(&changed);
	mirage_driver_publish(m->drv);
	return 0;
}

void wayland_mirror_cursor(void *data, const struct wayland_cursor *c)
{
	struct wayland_mirror *m = data;

	if (c->argb) {
		/* The surface holds at most MIRAGE_CURSOR_MAX square: the top
		 * left part of a bigger shape, rows kept. */
		uint32_t w = c->width < MIRAGE_CURSOR_MAX ? c->width : MIRAGE_CURSOR_MAX;
		uint32_t h = c->height < MIRAGE_CURSOR_MAX ? c->height : MIRAGE_CURSOR_MAX;
		uint32_t *argb = w == c->width ? NULL : malloc((size_t)w * h * 4);
		const uint32_t *shape = argb ? argb : c->argb;

		if (argb)
			for (uint32_t y = 0; y < h; y++)
				memcpy(argb + (size_t)y * w, c->argb + (size_t)y * c->width, (size_t)w * 4);
		if (w != c->width && !argb)
			wayland_log(MIRAGE_LOG_WARNING, "out of memory for a %ux%u cursor", c->width, c->height);
		else if (mirage_driver_set_cursor_shape(m->drv, w, h, c->hot_x, c->hot_y, shape) < 0)
			wayland_log(MIRAGE_LOG_WARNING, "cursor shape: %s", mirage_last_error());
		free(argb);
	}
	mirage_driver_set_cursor_position(m->drv, c->x, c->y, c->visible);
	mirage_driver_publish(m->drv);
}

/* ------------------------------------------------------------------ */
/* The driver callbacks                                                */
/* ------------------------------------------------------------------ */

static int on_attach(struct mirage_driver_impl *impl)
{
	struct wayland_mirror *m = from_impl(impl);

	/*
	 * With Cap.Bootup >= 1 this runs inside mirage_driver_create(), before
	 * next exists: main starts the capture once it does.
	 */
	if (m->setting_up) {
		m->pending_attach = true;
		return 0;
	}
	return wayland_mirror_start(m);
}

static void on_detach(struct mirage_driver_impl *impl)
{
	wayland_mirror_stop(from_impl(impl));
}

static void on_settings(struct mirage_driver_impl *impl, const struct mirage_settings *old)
{
	struct wayland_mirror *m = from_impl(impl);
	const struct mirage_settings *now = mirage_driver_settings(m->drv);
	bool restart = false;

	if (now->forced_bpp != old->forced_bpp || now->backing_mode != old->backing_mode) {
		if (wayland_mirror_surface_changed(m) < 0)
			return;
		restart = true;
	}
	if (now->pointer_enabled != old->pointer_enabled) {
		/* The cursor is the compositor's to draw: ask for frames with or without it. */
		m->backend->overlay_cursor = now->pointer_enabled;
		restart = true;
	}
	if (restart && mirage_driver_attached(m->drv) && wayland_mirror_start(m) < 0)
		wayland_log(MIRAGE_LOG_ERROR, "cannot restart the capture of output %s",
			    m->backend->output_name);
}

static size_t on_info(struct mirage_driver_impl *impl, char *buf, size_t size)
{
	struct wayland_mirror *m = from_impl(impl);
	const struct refine_stats *st = &m->stats;
	int n = snprintf(buf, size,
			 "backend=%s\noutput=%s\nframes=%llu\ncompared_pixels=%llu\npublished_pixels=%llu\n"
			 "blits=%llu\ncopies=%llu\ncopied_pixels=%llu\ncopy_candidates=%llu\ncopy_rejected=%llu\n",
			 m->backend->impl->name, m->backend->output_name, (unsigned long long)m->frames,
			 (unsigned long long)st->compared_pixels, (unsigned long long)st->published_pixels,
			 (unsigned long long)st->blits, (unsigned long long)st->copies,
			 (unsigned long long)st->copied_pixels, (unsigned long long)st->copy_candidates,
			 (unsigned long long)st->copy_rejected);

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

static void on_log(struct mirage_driver_impl *impl, enum mirage_log_level level, const char *message)
{
	(void)impl;
	wayland_log(level, "%s", message);
}

void wayland_mirror_init(struct wayland_mirror *m)
{
	memset(m, 0, sizeof(*m));
	m->impl = (struct mirage_driver_impl){
		.name = "wayland",
		.attach = on_attach,
		.detach = on_detach,
		.settings_changed = on_settings,
		.info = on_info,
		.log = on_log,
	};
}
