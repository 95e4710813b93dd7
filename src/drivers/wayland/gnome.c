/* SPDX-License-Identifier: MIT */
/*
 * The GNOME backend: frames of one mutter monitor through a ScreenCast
 * session (screencast.c) and the PipeWire stream it announces.
 *
 * One thread around main.c's poll(): the backend's fd is an epoll set
 * holding the session bus connection and the pw_loop's own fd, and
 * dispatch iterates both without blocking.  (libpipewire's context runs a
 * data thread of its own, idle here: without PW_STREAM_FLAG_RT_PROCESS
 * every stream callback below runs on this thread, inside
 * pw_loop_iterate.)
 *
 * Buffers are shm (memfd or plain memory), mapped by the stream: no
 * dma-buf is offered, so mutter copies its frame into memory we read.
 * Mutter sends a frame only when the monitor repainted, so a still screen
 * costs nothing.  Mutter 43 sends no damage, so unless the buffer carries
 * SPA_META_VideoDamage each frame is damaged whole and the refinery's tile
 * comparison finds what changed.  The newest frame is kept (not given
 * back to the stream) so that a start on a still screen has a picture.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <pipewire/pipewire.h>
#include <spa/buffer/meta.h>
#include <spa/param/video/format-utils.h>
#include <spa/utils/result.h>

#include "mirage-wayland.h"
#include "screencast.h"

/* How long the first picture may take after the stream was connected. */
#define FIRST_FRAME_MS 5000
/* A session mutter closed is opened again this much later (mutter quitting
 * has left the bus by then), at most MAX_RESTARTS times without a frame. */
#define RESTART_DELAY_MS 300
#define MAX_RESTARTS 5
/* Damage rectangles asked for in SPA_META_VideoDamage. */
#define MAX_DAMAGE 16
/* SPA_META_Cursor's size for a w x h bitmap.  Mutter offers one fixed
 * size (64 or 384 square, by version): any is taken, mirage's cursor area
 * preferred; a bigger shape is clipped to that area. */
#define CURSOR_META_SIZE(w, h) ((int)(sizeof(struct spa_meta_cursor) + sizeof(struct spa_meta_bitmap) + \
				      (w) * (h) * 4))

struct gnome_backend {
	struct wayland_backend base; /* first: recovered with container_of */
	struct screencast_request req;
	struct screencast sc;
	struct pw_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct spa_hook core_listener;
	struct pw_stream *stream;
	struct spa_hook stream_listener;
	int epfd;
	bool entered;               /* pw_loop_enter done: leave before destroying */

	struct spa_video_info_raw format;
	uint32_t masks[3];
	bool have_format;
	bool lost, failed;          /* PipeWire went away; a frame could not be taken */
	int64_t restart_at;         /* ms: mutter closed the session, open it again then */
	int restarts;               /* since the last frame */
	int restart_error;          /* the restart failed: the end of the mirror */

	bool started;
	bool pending_full;          /* start: hand the held frame on at the next timeout */
	struct pw_buffer *held;     /* the newest picture, not queued back */
	pixman_region32_t damage;   /* since the last frame handed on */
	bool damage_all;

	/* The pointer as the cursor metadata last said (Pointer.Enabled=0). */
	struct wayland_cursor cursor;
	uint32_t *shape;            /* cursor.argb's pixels, owned */
	bool have_cursor;
};

static struct gnome_backend *from_base(struct wayland_backend *b)
{
	return container_of(b, struct gnome_backend, base);
}

#define LOG_ERROR(g, ...) do { if (!(g)->base.quiet) wayland_log(MIRAGE_LOG_ERROR, __VA_ARGS__); } while (0)

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

/* The formats whose pixels the refinery reads: 32 bpp, one byte a channel. */
static bool format_masks(uint32_t format, uint32_t masks[3])
{
	switch (format) {
	case SPA_VIDEO_FORMAT_BGRx: /* bytes B, G, R, x: 0xxxRRGGBB little-endian */
	case SPA_VIDEO_FORMAT_BGRA:
		masks[0] = 0xff0000, masks[1] = 0xff00, masks[2] = 0xff;
		return true;
	case SPA_VIDEO_FORMAT_RGBx:
	case SPA_VIDEO_FORMAT_RGBA:
		masks[0] = 0xff, masks[1] = 0xff00, masks[2] = 0xff0000;
		return true;
	default:
		return false;
	}
}

static uint32_t frame_stride(const struct gnome_backend *g, const struct spa_data *d)
{
	return d->chunk->stride > 0 ? (uint32_t)d->chunk->stride : g->format.size.width * 4;
}

/* Whether b holds a whole picture: mutter also sends buffers without one. */
static bool has_picture(const struct gnome_backend *g, const struct pw_buffer *b)
{
	const struct spa_data *d = &b->buffer->datas[0];
	const struct spa_meta_header *h = spa_buffer_find_meta_data(b->buffer, SPA_META_Header, sizeof(*h));
	uint64_t need;

	if (!g->have_format || !d->data || !d->chunk || d->chunk->size == 0 ||
	    (d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) || (h && (h->flags & SPA_META_HEADER_FLAG_CORRUPTED)))
		return false;
	need = (uint64_t)frame_stride(g, d) * (g->format.size.height - 1) + (uint64_t)g->format.size.width * 4;
	return frame_stride(g, d) >= g->format.size.width * 4 &&
	       (uint64_t)d->chunk->offset + need <= d->maxsize;
}

/* Adds what b says changed; without damage meta all of it did. */
static void add_damage(struct gnome_backend *g, const struct pw_buffer *b)
{
	struct spa_meta *m = spa_buffer_find_meta(b->buffer, SPA_META_VideoDamage);
	struct spa_meta_region *r;
	bool any = false;

	if (!m) {
		g->damage_all = true;
		return;
	}
	spa_meta_for_each(r, m) {
		if (!spa_meta_region_is_valid(r))
			break;
		pixman_region32_union_rect(&g->damage, &g->damage, r->region.position.x, r->region.position.y,
					   r->region.size.width, r->region.size.height);
		any = true;
	}
	if (!any)
		g->damage_all = true;
}

/* Hands the held frame to the mirror; full: all of it is fresh. */
static void deliver(struct gnome_backend *g, bool full)
{
	const struct spa_data *d = &g->held->buffer->datas[0];
	int32_t w = (int32_t)g->format.size.width, h = (int32_t)g->format.size.height;
	struct wayland_frame f;

	if (full || g->damage_all)
		pixman_region32_reset(&g->damage, &(pixman_box32_t){ 0, 0, w, h });
	else
		pixman_region32_intersect_rect(&g->damage, &g->damage, 0, 0, (unsigned)w, (unsigned)h);
	f = (struct wayland_frame){
		.data = (const uint8_t *)d->data + d->chunk->offset,
		.stride = frame_stride(g, d),
		.width = w,
		.height = h,
		.masks = { g->masks[0], g->masks[1], g->masks[2] },
		.damage = &g->damage,
		.full = full,
	};
	g->base.width = w;
	g->base.height = h;
	g->restarts = 0;
	if (g->base.frame_fn(g->base.frame_data, &f) < 0)
		g->failed = true;
	pixman_region32_clear(&g->damage);
	g->damage_all = false;
}

/*
 * The shape in a cursor meta's bitmap into g->shape: 0, or -EINVAL when
 * the bitmap does not fit the meta or is in a format not read here.
 * Mutter's bitmaps are premultiplied RGBA bytes.
 */
static int take_shape(struct gnome_backend *g, const struct spa_meta *meta, const struct spa_meta_cursor *c)
{
	const struct spa_meta_bitmap *bm;
	uint64_t end;
	uint32_t w, h, *argb;

	if ((uint64_t)c->bitmap_offset + sizeof(*bm) > meta->size)
		return -EINVAL;
	bm = SPA_PTROFF(c, c->bitmap_offset, const struct spa_meta_bitmap);
	w = bm->size.width, h = bm->size.height;
	if (bm->format == SPA_VIDEO_FORMAT_UNKNOWN || w == 0 || h == 0) {
		/* Mutter's empty sprite: the pointer is off this monitor. */
		g->cursor.visible = false;
		return 0;
	}
	end = (uint64_t)c->bitmap_offset + bm->offset + (uint64_t)bm->stride * (h - 1) + (uint64_t)w * 4;
	if (bm->stride < 0 || (uint32_t)bm->stride < w * 4 || w > 4096 || h > 4096 || end > meta->size ||
	    (bm->format != SPA_VIDEO_FORMAT_RGBA && bm->format != SPA_VIDEO_FORMAT_BGRA))
		return -EINVAL;
	argb = malloc((size_t)w * h * 4);
	if (!argb)
		return -ENOMEM;
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *p = (const uint8_t *)bm + bm->offset + (size_t)bm->stride * y;

		for (uint32_t x = 0; x < w; x++, p += 4) {
			uint32_t r = p[0], b = p[2];

			if (bm->format == SPA_VIDEO_FORMAT_BGRA)
				r = p[2], b = p[0];
			argb[(size_t)y * w + x] = (uint32_t)p[3] << 24 | r << 16 | (uint32_t)p[1] << 8 | b;
		}
	}
	free(g->shape);
	g->shape = argb;
	g->cursor.argb = argb;
	g->cursor.width = w, g->cursor.height = h;
	g->cursor.hot_x = c->hotspot.x, g->cursor.hot_y = c->hotspot.y;
	g->cursor.visible = true;
	return 0;
}

/* What b's cursor metadata says, handed on when started. */
static void take_cursor(struct gnome_backend *g, const struct pw_buffer *b)
{
	struct spa_meta *m = spa_buffer_find_meta(b->buffer, SPA_META_Cursor);
	const struct spa_meta_cursor *c;
	struct wayland_cursor was = g->cursor;
	bool shaped = false;

	if (!m || m->size < sizeof(*c) || !(c = m->data) || !spa_meta_cursor_is_valid(c))
		return; /* id 0: nothing new about the pointer */
	/* A bitmap says whether there is a cursor to see; a position alone
	 * (bitmap_offset 0) moves the one there is. */
	if (c->bitmap_offset) {
		int ret = take_shape(g, m, c);

		if (ret < 0) {
			LOG_ERROR(g, "monitor %s: a cursor bitmap mutter sent is not one this backend reads",
				  g->sc.connector);
			return;
		}
		shaped = g->cursor.argb != was.argb;
	}
	g->cursor.x = c->position.x;
	g->cursor.y = c->position.y;
	g->have_cursor = true;
	if (g->started && g->base.cursor_fn && (shaped || g->cursor.visible != was.visible ||
						 g->cursor.x != was.x || g->cursor.y != was.y)) {
		struct wayland_cursor now = g->cursor;

		if (!shaped)
			now.argb = NULL;
		g->base.cursor_fn(g->base.frame_data, &now);
	}
}

static void on_process(void *data)
{
	struct gnome_backend *g = data;
	struct pw_buffer *b, *newest = NULL;

	/* Only the newest picture matters; the damage of every one counts;
	 * the pointer comes in buffers with and without a picture. */
	while ((b = pw_stream_dequeue_buffer(g->stream))) {
		take_cursor(g, b);
		if (!has_picture(g, b)) {
			pw_stream_queue_buffer(g->stream, b);
			continue;
		}
		add_damage(g, b);
		if (newest)
			pw_stream_queue_buffer(g->stream, newest);
		newest = b;
	}
	if (!newest)
		return;
	if (g->held)
		pw_stream_queue_buffer(g->stream, g->held);
	g->held = newest;
	if (g->started) {
		deliver(g, g->pending_full);
		g->pending_full = false;
	}
}

static void on_remove_buffer(void *data, struct pw_buffer *b)
{
	struct gnome_backend *g = data;

	if (g->held == b)
		g->held = NULL;
}

/* The format mutter picked: then the buffers and metadata we take. */
static void on_param(void *data, uint32_t id, const struct spa_pod *param)
{
	struct gnome_backend *g = data;
	uint8_t buf[1024];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[4];
	uint32_t n = 3;

	if (id != SPA_PARAM_Format || !param)
		return;
	if (spa_format_video_raw_parse(param, &g->format) < 0 || !format_masks(g->format.format, g->masks) ||
	    g->format.size.width == 0 || g->format.size.height == 0) {
		LOG_ERROR(g, "monitor %s: mutter offers no 32 bpp format this backend reads (%u)",
			  g->sc.connector, g->format.format);
		g->failed = true;
		return;
	}
	g->have_format = true;
	/* Memory we can map, never dma-buf: mutter then copies into shm. */
	params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_dataType, SPA_POD_Int((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr)));
	params[1] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
		SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Header),
		SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_header)));
	params[2] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
		SPA_PARAM_META_type, SPA_POD_Id(SPA_META_VideoDamage),
		SPA_PARAM_META_size, SPA_POD_CHOICE_RANGE_Int(sizeof(struct spa_meta_region) * MAX_DAMAGE,
							      sizeof(struct spa_meta_region) * 1,
							      sizeof(struct spa_meta_region) * MAX_DAMAGE));
	if (!g->base.overlay_cursor)
		params[n++] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
			SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Cursor),
			SPA_PARAM_META_size, SPA_POD_CHOICE_RANGE_Int(CURSOR_META_SIZE(MIRAGE_CURSOR_MAX, MIRAGE_CURSOR_MAX),
								      CURSOR_META_SIZE(1, 1),
								      CURSOR_META_SIZE(1024, 1024)));
	if (pw_stream_update_params(g->stream, params, n) < 0)
		g->failed = true;
}

static void on_state(void *data, enum pw_stream_state old, enum pw_stream_state state, const char *error)
{
	struct gnome_backend *g = data;

	wayland_log(MIRAGE_LOG_DEBUG, "stream %s -> %s", pw_stream_state_as_string(old),
		    pw_stream_state_as_string(state));
	if (state == PW_STREAM_STATE_ERROR) {
		LOG_ERROR(g, "monitor %s: the PipeWire stream failed: %s", g->sc.connector, error ? error : "");
		g->failed = true;
	} else if (state == PW_STREAM_STATE_UNCONNECTED && old != PW_STREAM_STATE_CONNECTING) {
		/* The node went (mutter stopped the stream or left). */
		g->lost = true;
	}
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state,
	.param_changed = on_param,
	.remove_buffer = on_remove_buffer,
	.process = on_process,
};

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct gnome_backend *g = data;

	(void)seq;
	if (id == PW_ID_CORE && res == -EPIPE) {
		g->lost = true;
		return;
	}
	LOG_ERROR(g, "PipeWire: %s", message ? message : spa_strerror(res));
	if (id == PW_ID_CORE)
		g->failed = true;
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = on_core_error,
};

/* ------------------------------------------------------------------ */
/* The stream                                                          */
/* ------------------------------------------------------------------ */

static int watch(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int connect_stream(struct gnome_backend *g)
{
	uint8_t buf[1024];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	int fps = g->base.min_interval_ms > 0 ? 1000 / g->base.min_interval_ms : 60;
	/* A virtual monitor is as big as its consumer asks: just that size. */
	bool virt = g->base.virtual_w > 0;
	struct spa_rectangle size = virt ? SPA_RECTANGLE((uint32_t)g->base.virtual_w, (uint32_t)g->base.virtual_h) :
					   SPA_RECTANGLE(1920, 1080);
	struct spa_rectangle min = virt ? size : SPA_RECTANGLE(1, 1);
	struct spa_rectangle max = virt ? size : SPA_RECTANGLE(16384, 16384);
	int ret;

	g->core = pw_context_connect(g->context, NULL, 0);
	if (!g->core) {
		LOG_ERROR(g, "cannot connect to PipeWire: %s (is pipewire running?)", strerror(errno));
		return -ECONNREFUSED;
	}
	pw_core_add_listener(g->core, &g->core_listener, &core_events, g);
	g->stream = pw_stream_new(g->core, "mirage-wayland",
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture",
				  PW_KEY_MEDIA_ROLE, "Screen", NULL));
	if (!g->stream)
		return -errno;
	pw_stream_add_listener(g->stream, &g->stream_listener, &stream_events, g);
	params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(5, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRx,
								SPA_VIDEO_FORMAT_BGRA, SPA_VIDEO_FORMAT_RGBx,
								SPA_VIDEO_FORMAT_RGBA),
		SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(&size, &min, &max),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(0, 1)),
		SPA_FORMAT_VIDEO_maxFramerate, SPA_POD_CHOICE_RANGE_Fraction(&SPA_FRACTION(fps, 1),
									     &SPA_FRACTION(1, 1),
									     &SPA_FRACTION(fps, 1)));
	ret = pw_stream_connect(g->stream, PW_DIRECTION_INPUT, g->sc.node,
				PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	if (ret < 0) {
		LOG_ERROR(g, "cannot connect to mutter's PipeWire node %u: %s", g->sc.node, spa_strerror(ret));
		return ret;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * What the events of a dispatch left behind, as the table's error codes.
 * A session or stream mutter ended while it stays on the bus is no error:
 * mutter restarts its streams on a monitor change; the session is opened
 * again (restart).
 */
static int status(struct gnome_backend *g)
{
	if (g->restart_error)
		return g->restart_error;
	if (g->sc.gone)
		return -EPIPE;
	if (g->sc.closed || g->lost) {
		if (!g->restart_at)
			g->restart_at = now_ms() + RESTART_DELAY_MS;
		return 0;
	}
	return g->failed ? -EIO : 0;
}

static int gn_dispatch(struct wayland_backend *b)
{
	struct gnome_backend *g = from_base(b);
	int ret = pw_loop_iterate(g->loop, 0);

	if (ret < 0 && ret != -EINTR) {
		LOG_ERROR(g, "the PipeWire loop failed: %s", spa_strerror(ret));
		return -EIO;
	}
	if (screencast_dispatch(&g->sc) < 0)
		return -EPIPE;
	return status(g);
}

/* ------------------------------------------------------------------ */
/* The session                                                         */
/* ------------------------------------------------------------------ */

static void sc_log(enum mirage_log_level level, const char *text)
{
	wayland_log(level, "%s", text);
}

/* The ScreenCast session and its stream, connected; 0 or -errno, logged. */
static int open_session(struct gnome_backend *g)
{
	int ret;

	g->sc.quiet = g->base.quiet;
	g->sc.log = sc_log;
	if ((ret = screencast_open(&g->sc, &g->req)) < 0)
		return ret;
	if ((ret = watch(g->epfd, screencast_fd(&g->sc))) < 0) {
		LOG_ERROR(g, "epoll: %s", strerror(-ret));
		return ret;
	}
	return connect_stream(g);
}

/* The stream and the session gone; the PipeWire loop and context stay. */
static void close_session(struct gnome_backend *g)
{
	if (g->stream) {
		if (g->held)
			pw_stream_queue_buffer(g->stream, g->held);
		g->held = NULL;
		pw_stream_destroy(g->stream);
		g->stream = NULL;
	}
	if (g->core)
		pw_core_disconnect(g->core);
	g->core = NULL;
	if (g->sc.bus)
		(void)epoll_ctl(g->epfd, EPOLL_CTL_DEL, screencast_fd(&g->sc), NULL);
	screencast_close(&g->sc);
	g->have_format = g->lost = false;
}

/*
 * Mutter closed the session and stayed (a monitor changed): a new session
 * of the same monitor, whose first frame is handed on whole.  A monitor
 * gone is -ENODEV (the output removed), mutter gone -EPIPE.
 */
static int restart(struct gnome_backend *g)
{
	struct wayland_backend *b = &g->base;
	int ret;

	if (++g->restarts > MAX_RESTARTS) {
		LOG_ERROR(g, "monitor %s: mutter ended the stream %d times without a frame", g->sc.connector,
			  MAX_RESTARTS);
		return -EIO;
	}
	wayland_log(MIRAGE_LOG_INFO, "monitor %s: mutter restarted its stream; a new session", b->output_name);
	close_session(g);
	ret = open_session(g);
	if (ret == -ENODEV) {
		LOG_ERROR(g, "monitor %s was removed", b->output_name);
		return -ENODEV;
	}
	if (ret < 0)
		return ret == -EIO || ret == -ENOMEM ? ret : -EPIPE;
	g->pending_full = true;
	if (g->sc.w > 0 && g->sc.h > 0 &&
	    (g->sc.x != b->lx || g->sc.y != b->ly || g->sc.w != b->lw || g->sc.h != b->lh)) {
		b->lx = g->sc.x, b->ly = g->sc.y, b->lw = g->sc.w, b->lh = g->sc.h;
		b->layout_changed = true;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static int gn_open(struct wayland_backend *b)
{
	struct gnome_backend *g = from_base(b);
	int64_t deadline;
	int ret;

	g->req = (struct screencast_request){
		.connector = b->output,
		.virtual_monitor = b->virtual_w > 0,
		/* Pointer.Enabled=0: the pointer apart, as PTR_* records. */
		.cursor = b->overlay_cursor ? SCREENCAST_CURSOR_EMBEDDED : SCREENCAST_CURSOR_METADATA,
	};
	g->sc.quiet = b->quiet;
	g->sc.log = sc_log;
	g->loop = pw_loop_new(NULL);
	g->context = g->loop ? pw_context_new(g->loop, NULL, 0) : NULL;
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!g->context || g->epfd < 0) {
		LOG_ERROR(g, "cannot set up PipeWire: %s", strerror(errno));
		return -ENOMEM;
	}
	pw_loop_enter(g->loop);
	g->entered = true;
	if ((ret = watch(g->epfd, pw_loop_get_fd(g->loop))) < 0) {
		LOG_ERROR(g, "epoll: %s", strerror(-ret));
		return ret;
	}
	if ((ret = open_session(g)) < 0)
		return ret;
	/* The size is the mirror's: wait for the format and a first picture. */
	deadline = now_ms() + FIRST_FRAME_MS;
	while (!g->held && !status(g) && !g->restart_at) {
		int64_t left = deadline - now_ms();
		struct epoll_event ev;

		if (left <= 0) {
			LOG_ERROR(g, "monitor %s: mutter sent no frame", g->sc.connector);
			return -ETIMEDOUT;
		}
		if (epoll_wait(g->epfd, &ev, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		(void)gn_dispatch(b);
	}
	if ((ret = status(g)) < 0 || g->restart_at) {
		LOG_ERROR(g, "monitor %s: the PipeWire stream ended before its first frame", g->sc.connector);
		return ret < 0 ? ret : -EPIPE;
	}
	snprintf(b->output_name, sizeof(b->output_name), "%s", g->sc.connector);
	b->width = (int32_t)g->format.size.width;
	b->height = (int32_t)g->format.size.height;
	b->lx = g->sc.x, b->ly = g->sc.y, b->lw = g->sc.w, b->lh = g->sc.h;
	if (b->lw <= 0 || b->lh <= 0) {
		b->lx = b->ly = 0;
		b->lw = b->width, b->lh = b->height;
	}
	return 0;
}

static int gn_start(struct wayland_backend *b)
{
	struct gnome_backend *g = from_base(b);

	/* The stream stays active while stopped, so that held is current. */
	g->started = true;
	g->pending_full = true;
	pixman_region32_clear(&g->damage);
	g->damage_all = false;
	/* The pointer as it is, for the new pipe. */
	if (g->have_cursor && g->base.cursor_fn)
		g->base.cursor_fn(g->base.frame_data, &g->cursor);
	return 0;
}

static void gn_stop(struct wayland_backend *b)
{
	from_base(b)->started = false;
}

static int gn_fd(struct wayland_backend *b)
{
	return from_base(b)->epfd;
}

static int gn_flush(struct wayland_backend *b)
{
	struct gnome_backend *g = from_base(b);

	/* Messages sd-bus read during a call wait in its queue, not on the fd. */
	if (screencast_dispatch(&g->sc) < 0)
		return -EPIPE;
	return status(g);
}

static int gn_timeout(struct wayland_backend *b)
{
	struct gnome_backend *g = from_base(b);

	if (g->restart_at) {
		int64_t left = g->restart_at - now_ms();
		int ret;

		if (left > 0)
			return (int)left;
		g->restart_at = 0;
		if (!g->sc.gone && (ret = restart(g)) < 0)
			g->restart_error = ret;
		return 0;
	}
	if (!g->pending_full || !g->started || !g->held)
		return -1;
	g->pending_full = false;
	deliver(g, true);
	return -1;
}

static void gn_destroy(struct wayland_backend *b)
{
	struct gnome_backend *g;

	if (!b)
		return;
	g = from_base(b);
	if (g->stream) {
		if (g->held)
			pw_stream_queue_buffer(g->stream, g->held);
		pw_stream_destroy(g->stream);
	}
	if (g->core)
		pw_core_disconnect(g->core);
	if (g->context)
		pw_context_destroy(g->context);
	if (g->entered)
		pw_loop_leave(g->loop);
	if (g->loop)
		pw_loop_destroy(g->loop);
	if (g->epfd >= 0)
		close(g->epfd);
	screencast_close(&g->sc);
	pixman_region32_fini(&g->damage);
	free(g->shape);
	free(g);
}

static const struct wayland_backend_impl gnome_impl = {
	.name = "gnome",
	.mirror_prefix = "gnome",
	.open = gn_open,
	.start = gn_start,
	.stop = gn_stop,
	.fd = gn_fd,
	.flush = gn_flush,
	.dispatch = gn_dispatch,
	.timeout = gn_timeout,
	.destroy = gn_destroy,
};

bool wayland_gnome_present(void)
{
	return screencast_present();
}

struct wayland_backend *wayland_gnome_create(void)
{
	static bool initialized;
	struct gnome_backend *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (!initialized) {
		pw_init(NULL, NULL);
		initialized = true;
	}
	g->base.impl = &gnome_impl;
	g->epfd = -1;
	pixman_region32_init(&g->damage);
	return &g->base;
}
