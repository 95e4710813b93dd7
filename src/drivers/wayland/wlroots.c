/* SPDX-License-Identifier: MIT */
/*
 * The wlroots backend: frames of one output through wlr-screencopy-unstable-v1
 * into a shm buffer.  After the first frame every capture uses
 * copy_with_damage, which the compositor answers only once something on the
 * output changed, so a still screen costs nothing here.  The output's
 * logical position and size come from xdg-output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "damage.h"
#include "wlout.h"
#include "mirage-wayland.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "xdg-output-unstable-v1-client-protocol.h"

#define MAX_OUTPUTS 16

struct output {
	struct wlout wlo;            /* the wl_output, its name */
	struct wlr_backend_state *wb;
	struct zxdg_output_v1 *xdg;
	uint32_t global;
	int32_t lx, ly, lw, lh;
};

struct wlr_backend_state {
	struct wayland_backend base; /* first: recovered with container_of */
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_shm *shm;
	struct zwlr_screencopy_manager_v1 *screencopy;
	uint32_t screencopy_version;
	struct zxdg_output_manager_v1 *xdg_manager;
	struct output outputs[MAX_OUTPUTS];
	int noutputs;
	struct output *out;          /* the one mirrored */
	bool output_gone;

	/* The capture in flight. */
	struct zwlr_screencopy_frame_v1 *frame;
	bool started, first, failed, have_buffer, y_invert;
	int64_t last_ready_ms;      /* when the last frame came */
	bool held;                  /* the next capture waits for min_interval_ms */
	uint32_t format, stride;
	int32_t width, height;
	pixman_region32_t damage;

	/* The shm buffer, reused while the format stays. */
	struct wl_buffer *buffer;
	uint8_t *pixels;
	size_t size;
	uint32_t buf_format, buf_stride;
	int32_t buf_width, buf_height;
};

static struct wlr_backend_state *from_base(struct wayland_backend *b)
{
	return container_of(b, struct wlr_backend_state, base);
}

#define LOG_ERROR(wb, ...) do { if (!(wb)->base.quiet) wayland_log(MIRAGE_LOG_ERROR, __VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* Outputs                                                             */
/* ------------------------------------------------------------------ */

static void xdg_position(void *data, struct zxdg_output_v1 *x, int32_t lx, int32_t ly)
{
	struct output *out = data;

	(void)x;
	out->lx = lx;
	out->ly = ly;
}

static void xdg_size(void *data, struct zxdg_output_v1 *x, int32_t w, int32_t h)
{
	struct output *out = data;

	(void)x;
	out->lw = w;
	out->lh = h;
}

static void xdg_done(void *data, struct zxdg_output_v1 *x)
{
	struct output *out = data;
	struct wayland_backend *b = &out->wb->base;

	(void)x;
	if (out != out->wb->out)
		return;
	if (b->lx != out->lx || b->ly != out->ly || b->lw != out->lw || b->lh != out->lh) {
		b->lx = out->lx, b->ly = out->ly, b->lw = out->lw, b->lh = out->lh;
		b->layout_changed = true;
	}
}

static void xdg_name(void *data, struct zxdg_output_v1 *x, const char *name)
{
	struct output *out = data;

	(void)x;
	if (!out->wlo.name[0])
		snprintf(out->wlo.name, sizeof(out->wlo.name), "%s", name);
}

static void xdg_description(void *data, struct zxdg_output_v1 *x, const char *d)
{
	(void)data; (void)x; (void)d;
}

static const struct zxdg_output_v1_listener xdg_output_listener = {
	.logical_position = xdg_position,
	.logical_size = xdg_size,
	.done = xdg_done,
	.name = xdg_name,
	.description = xdg_description,
};

static void global_add(void *data, struct wl_registry *r, uint32_t name, const char *iface, uint32_t version)
{
	struct wlr_backend_state *wb = data;

	if (!strcmp(iface, wl_shm_interface.name)) {
		wb->shm = wl_registry_bind(r, name, &wl_shm_interface, 1);
	} else if (!strcmp(iface, zwlr_screencopy_manager_v1_interface.name)) {
		wb->screencopy_version = version < 3 ? version : 3;
		wb->screencopy = wl_registry_bind(r, name, &zwlr_screencopy_manager_v1_interface,
						  wb->screencopy_version);
	} else if (!strcmp(iface, zxdg_output_manager_v1_interface.name)) {
		wb->xdg_manager = wl_registry_bind(r, name, &zxdg_output_manager_v1_interface,
						   version < 3 ? version : 3);
	} else if (!strcmp(iface, wl_output_interface.name) && wb->noutputs < MAX_OUTPUTS) {
		struct output *out = &wb->outputs[wb->noutputs++];

		memset(out, 0, sizeof(*out));
		out->wb = wb;
		out->global = name;
		wlout_bind(&out->wlo, r, name, version);
	}
}

static void global_remove(void *data, struct wl_registry *r, uint32_t name)
{
	struct wlr_backend_state *wb = data;

	(void)r;
	if (wb->out && wb->out->global == name)
		wb->output_gone = true;
}

static const struct wl_registry_listener registry_listener = {
	.global = global_add,
	.global_remove = global_remove,
};

/* ------------------------------------------------------------------ */
/* Capture                                                             */
/* ------------------------------------------------------------------ */

static void buffer_release(struct wlr_backend_state *wb)
{
	if (wb->buffer)
		wl_buffer_destroy(wb->buffer);
	if (wb->pixels)
		munmap(wb->pixels, wb->size);
	wb->buffer = NULL;
	wb->pixels = NULL;
	wb->size = 0;
}

static int buffer_ensure(struct wlr_backend_state *wb)
{
	struct wl_shm_pool *pool;
	size_t size = (size_t)wb->stride * (size_t)wb->height;
	int fd, ret = 0;

	if (wb->buffer && wb->buf_format == wb->format && wb->buf_stride == wb->stride &&
	    wb->buf_width == wb->width && wb->buf_height == wb->height)
		return 0;
	buffer_release(wb);
	fd = memfd_create("mirage-wayland", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto cleanup;
	}
	wb->pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (wb->pixels == MAP_FAILED) {
		wb->pixels = NULL;
		ret = -errno;
		goto cleanup;
	}
	wb->size = size;
	pool = wl_shm_create_pool(wb->shm, fd, (int32_t)size);
	wb->buffer = wl_shm_pool_create_buffer(pool, 0, wb->width, wb->height, (int32_t)wb->stride, wb->format);
	wl_shm_pool_destroy(pool);
	wb->buf_format = wb->format;
	wb->buf_stride = wb->stride;
	wb->buf_width = wb->width;
	wb->buf_height = wb->height;
cleanup:
	close(fd);
	return ret;
}

/* The shm formats whose pixels the refinery reads: 32 bpp, one byte a channel. */
static bool format_masks(uint32_t format, uint32_t masks[3])
{
	switch (format) {
	case WL_SHM_FORMAT_XRGB8888:
	case WL_SHM_FORMAT_ARGB8888:
		masks[0] = 0xff0000, masks[1] = 0xff00, masks[2] = 0xff;
		return true;
	case WL_SHM_FORMAT_XBGR8888:
	case WL_SHM_FORMAT_ABGR8888:
		masks[0] = 0xff, masks[1] = 0xff00, masks[2] = 0xff0000;
		return true;
	default:
		return false;
	}
}

static void copy_now(struct wlr_backend_state *wb)
{
	uint32_t masks[3] = { 0 };

	if (!wb->have_buffer || !format_masks(wb->format, masks)) {
		LOG_ERROR(wb, "output %s: the compositor offers no 32 bpp shm format (0x%08x)",
			  wb->base.output_name, wb->format);
		wb->failed = true;
		return;
	}
	if (buffer_ensure(wb) < 0) {
		LOG_ERROR(wb, "output %s: cannot make a %dx%d shm buffer", wb->base.output_name,
			  wb->width, wb->height);
		wb->failed = true;
		return;
	}
	if (wb->first || wb->screencopy_version < 2)
		zwlr_screencopy_frame_v1_copy(wb->frame, wb->buffer);
	else
		zwlr_screencopy_frame_v1_copy_with_damage(wb->frame, wb->buffer);
}

static void frame_buffer(void *data, struct zwlr_screencopy_frame_v1 *f, uint32_t format,
			 uint32_t width, uint32_t height, uint32_t stride)
{
	struct wlr_backend_state *wb = data;
	uint32_t masks[3] = { 0 };

	(void)f;
	/* Version 3 lists formats: take the first one we read. */
	if (wb->have_buffer && format_masks(wb->format, masks))
		return;
	wb->have_buffer = true;
	wb->format = format;
	wb->width = (int32_t)width;
	wb->height = (int32_t)height;
	wb->stride = stride;
	if (wb->screencopy_version < 3 && wb->started)
		copy_now(wb);
}

static void frame_flags(void *data, struct zwlr_screencopy_frame_v1 *f, uint32_t flags)
{
	struct wlr_backend_state *wb = data;

	(void)f;
	wb->y_invert = flags & ZWLR_SCREENCOPY_FRAME_V1_FLAGS_Y_INVERT;
}

static int request(struct wlr_backend_state *wb);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void frame_ready(void *data, struct zwlr_screencopy_frame_v1 *f, uint32_t hi, uint32_t lo, uint32_t ns)
{
	struct wlr_backend_state *wb = data;
	struct wayland_frame fr;
	uint32_t masks[3] = { 0 };

	(void)f; (void)hi; (void)lo; (void)ns;
	(void)format_masks(wb->format, masks);
	fr = (struct wayland_frame){
		.data = wb->pixels,
		.stride = wb->stride,
		.width = wb->width,
		.height = wb->height,
		.masks = { masks[0], masks[1], masks[2] },
		.y_invert = wb->y_invert,
		.damage = &wb->damage,
		.full = wb->first || wb->screencopy_version < 2,
	};
	zwlr_screencopy_frame_v1_destroy(wb->frame);
	wb->frame = NULL;
	wb->base.width = wb->width;
	wb->base.height = wb->height;
	if (fr.full)
		pixman_region32_reset(&wb->damage, &(pixman_box32_t){ 0, 0, wb->width, wb->height });
	else
		damage_for_frame(&wb->damage, wb->y_invert, wb->height);
	wb->first = false;
	if (wb->base.frame_fn(wb->base.frame_data, &fr) < 0) {
		wb->failed = true;
		return;
	}
	pixman_region32_clear(&wb->damage);
	wb->last_ready_ms = now_ms();
	if (!wb->started)
		return;
	/* A change after a still moment is asked for at once (the request
	 * waits at the compositor); only a stream of frames is paced. */
	if (wb->base.min_interval_ms > 0)
		wb->held = true;
	else if (request(wb) < 0)
		wb->failed = true;
}

static void frame_failed(void *data, struct zwlr_screencopy_frame_v1 *f)
{
	struct wlr_backend_state *wb = data;

	(void)f;
	if (wb->output_gone)
		return;
	LOG_ERROR(wb, "output %s: the compositor refused to copy a frame", wb->base.output_name);
	wb->failed = true;
}

static void frame_damage(void *data, struct zwlr_screencopy_frame_v1 *f, uint32_t x, uint32_t y,
			 uint32_t w, uint32_t h)
{
	struct wlr_backend_state *wb = data;

	(void)f;
	pixman_region32_union_rect(&wb->damage, &wb->damage, (int)x, (int)y, w, h);
	pixman_region32_intersect_rect(&wb->damage, &wb->damage, 0, 0, (unsigned)wb->width,
				       (unsigned)wb->height);
}

static void frame_dmabuf(void *data, struct zwlr_screencopy_frame_v1 *f, uint32_t fmt, uint32_t w, uint32_t h)
{
	(void)data; (void)f; (void)fmt; (void)w; (void)h;
}

static void frame_buffer_done(void *data, struct zwlr_screencopy_frame_v1 *f)
{
	struct wlr_backend_state *wb = data;

	(void)f;
	if (wb->started)
		copy_now(wb);
}

static const struct zwlr_screencopy_frame_v1_listener frame_listener = {
	.buffer = frame_buffer,
	.flags = frame_flags,
	.ready = frame_ready,
	.failed = frame_failed,
	.damage = frame_damage,
	.linux_dmabuf = frame_dmabuf,
	.buffer_done = frame_buffer_done,
};

static int request(struct wlr_backend_state *wb)
{
	wb->have_buffer = false;
	wb->frame = zwlr_screencopy_manager_v1_capture_output(wb->screencopy, wb->base.overlay_cursor,
							      wb->out->wlo.wl);
	if (!wb->frame)
		return -ENOMEM;
	return zwlr_screencopy_frame_v1_add_listener(wb->frame, &frame_listener, wb) < 0 ? -EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static int wlr_open(struct wayland_backend *b)
{
	struct wlr_backend_state *wb = from_base(b);
	const char *name = b->display ? b->display : getenv("WAYLAND_DISPLAY");

	wb->display = wl_display_connect(b->display);
	if (!wb->display) {
		LOG_ERROR(wb, "cannot connect to Wayland display \"%s\": %s", name ? name : "wayland-0",
			  strerror(errno));
		return -ECONNREFUSED;
	}
	wb->registry = wl_display_get_registry(wb->display);
	wl_registry_add_listener(wb->registry, &registry_listener, wb);
	/* The globals, then the outputs' own events (names). */
	if (wl_display_roundtrip(wb->display) < 0 || wl_display_roundtrip(wb->display) < 0) {
		LOG_ERROR(wb, "the Wayland display \"%s\" closed the connection", name ? name : "");
		return -EPIPE;
	}
	if (!wb->screencopy) {
		LOG_ERROR(wb, "the compositor offers no wlr-screencopy-unstable-v1 (not a wlroots compositor?)");
		return -ENOTSUP;
	}
	if (!wb->shm) {
		LOG_ERROR(wb, "the compositor offers no wl_shm");
		return -ENOTSUP;
	}
	if (wb->xdg_manager) {
		for (int i = 0; i < wb->noutputs; i++) {
			wb->outputs[i].xdg = zxdg_output_manager_v1_get_xdg_output(wb->xdg_manager, wb->outputs[i].wlo.wl);
			zxdg_output_v1_add_listener(wb->outputs[i].xdg, &xdg_output_listener, &wb->outputs[i]);
		}
		if (wl_display_roundtrip(wb->display) < 0)
			return -EPIPE;
	}
	for (int i = 0; i < wb->noutputs && !wb->out; i++)
		if (!b->output || !strcmp(b->output, wb->outputs[i].wlo.name))
			wb->out = &wb->outputs[i];
	if (!wb->out) {
		if (b->output)
			LOG_ERROR(wb, "the compositor has no output \"%s\"", b->output);
		else
			LOG_ERROR(wb, "the compositor has no output");
		return -ENODEV;
	}
	/* The surface header's monitor names are short: a long one is cut. */
	snprintf(b->output_name, sizeof(b->output_name), "%.*s", (int)sizeof(b->output_name) - 1,
		 wb->out->wlo.name[0] ? wb->out->wlo.name : "0");
	b->lx = wb->out->lx, b->ly = wb->out->ly, b->lw = wb->out->lw, b->lh = wb->out->lh;
	/* The buffer size is the mirror's size: ask for one frame's buffer event. */
	if (request(wb) < 0)
		return -ENOMEM;
	while (!wb->have_buffer && !wb->failed && !wb->output_gone)
		if (wl_display_dispatch(wb->display) < 0)
			return -EPIPE;
	if (wb->failed || wb->output_gone || !wb->have_buffer) {
		LOG_ERROR(wb, "output %s: the compositor refused to capture it", b->output_name);
		return -EACCES;
	}
	zwlr_screencopy_frame_v1_destroy(wb->frame);
	wb->frame = NULL;
	b->width = wb->width;
	b->height = wb->height;
	if (b->lw <= 0) { /* no xdg-output: the buffer at the origin */
		b->lx = b->ly = 0;
		b->lw = b->width, b->lh = b->height;
	}
	return 0;
}

static int wlr_start(struct wayland_backend *b)
{
	struct wlr_backend_state *wb = from_base(b);

	if (wb->frame) {
		zwlr_screencopy_frame_v1_destroy(wb->frame);
		wb->frame = NULL;
	}
	wb->started = true;
	wb->first = true;
	wb->held = false;
	pixman_region32_clear(&wb->damage);
	return request(wb);
}

static void wlr_stop(struct wayland_backend *b)
{
	struct wlr_backend_state *wb = from_base(b);

	wb->started = false;
	wb->held = false;
	if (wb->frame) {
		zwlr_screencopy_frame_v1_destroy(wb->frame);
		wb->frame = NULL;
	}
}

static int wlr_fd(struct wayland_backend *b)
{
	return wl_display_get_fd(from_base(b)->display);
}

/* What the events of a dispatch left behind, as the table's error codes. */
static int status(struct wlr_backend_state *wb)
{
	if (wb->output_gone) {
		LOG_ERROR(wb, "output %s was removed", wb->base.output_name);
		return -ENODEV;
	}
	return wb->failed ? -EIO : 0;
}

static int wlr_flush(struct wayland_backend *b)
{
	struct wlr_backend_state *wb = from_base(b);

	if (wl_display_dispatch_pending(wb->display) < 0 ||
	    (wl_display_flush(wb->display) < 0 && errno != EAGAIN))
		return -EPIPE;
	return status(wb);
}

static int wlr_dispatch(struct wayland_backend *b)
{
	struct wlr_backend_state *wb = from_base(b);

	if (wl_display_dispatch(wb->display) < 0)
		return -EPIPE;
	return status(wb);
}

static int wlr_timeout(struct wayland_backend *b)
{
	struct wlr_backend_state *wb = from_base(b);
	int64_t left;

	if (!wb->held)
		return -1;
	left = wb->last_ready_ms + b->min_interval_ms - now_ms();
	if (left > 0)
		return (int)left;
	wb->held = false;
	if (wb->started && request(wb) < 0)
		wb->failed = true;
	return -1;
}

static void wlr_destroy(struct wayland_backend *b)
{
	struct wlr_backend_state *wb;

	if (!b)
		return;
	wb = from_base(b);
	if (wb->frame)
		zwlr_screencopy_frame_v1_destroy(wb->frame);
	buffer_release(wb);
	for (int i = 0; i < wb->noutputs; i++) {
		if (wb->outputs[i].xdg)
			zxdg_output_v1_destroy(wb->outputs[i].xdg);
		wlout_release(&wb->outputs[i].wlo);
	}
	if (wb->xdg_manager)
		zxdg_output_manager_v1_destroy(wb->xdg_manager);
	if (wb->screencopy)
		zwlr_screencopy_manager_v1_destroy(wb->screencopy);
	if (wb->shm)
		wl_shm_destroy(wb->shm);
	if (wb->registry)
		wl_registry_destroy(wb->registry);
	if (wb->display)
		wl_display_disconnect(wb->display);
	pixman_region32_fini(&wb->damage);
	free(wb);
}

static const struct wayland_backend_impl wlroots_impl = {
	.name = "wlroots",
	.open = wlr_open,
	.start = wlr_start,
	.stop = wlr_stop,
	.fd = wlr_fd,
	.flush = wlr_flush,
	.dispatch = wlr_dispatch,
	.timeout = wlr_timeout,
	.destroy = wlr_destroy,
};

struct wayland_backend *wayland_wlroots_create(void)
{
	struct wlr_backend_state *wb = calloc(1, sizeof(*wb));

	if (!wb)
		return NULL;
	wb->base.impl = &wlroots_impl;
	pixman_region32_init(&wb->damage);
	return &wb->base;
}
