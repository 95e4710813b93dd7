/* SPDX-License-Identifier: MIT */
/* The producer API: a mirror, its current pipe, its attach state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "private.h"

struct mirage_driver {
	struct mirage_driver_impl *impl;
	char name[MIRAGE_NAME_MAX];
	int32_t width, height;
	uint32_t native_bpp;
	uint32_t capacity;
	struct mirage_settings settings;

	struct mirage_pipe pipe;
	struct mirage_ring_writer writer;
	struct mirage_server *server;

	bool attached;
	struct mirage_conn *manager; /* holder of the manager role, or NULL */
};

MIRAGE_EXPORT void mirage_driver_config_init(struct mirage_driver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->native_bpp = 32;
	mirage_settings_init(&cfg->settings);
}

/* What the control server calls back (private.h); defined with the hooks below. */
static const struct mirage_server_ops server_ops;

static void log_text(struct mirage_driver *drv, enum mirage_log_level level, const char *text)
{
	if (drv->impl && drv->impl->log)
		drv->impl->log(drv->impl, level, text);
}

__attribute__((format(printf, 3, 4)))
static void dlog(struct mirage_driver *drv, enum mirage_log_level level, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!drv->impl || !drv->impl->log)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_text(drv, level, text);
}

static uint32_t pipe_bpp(const struct mirage_driver *drv)
{
	return drv->settings.forced_bpp ? (uint32_t)drv->settings.forced_bpp : drv->native_bpp;
}

/* Writes and publishes one status record at once. */
static void post_now(struct mirage_driver *drv, uint32_t type)
{
	struct mirage_record rec = { .type = type };

	mirage_ring_write(&drv->pipe, &drv->writer, &rec);
	mirage_ring_publish(&drv->pipe, &drv->writer);
}

/*
 * Ends the current pipe: its last batch, then ASSERT_OFF.  The RETIRED flag
 * is set before the ASSERT_OFF is published, so a consumer that sees the
 * record (acquire on counter) sees the flag too.
 */
static void retire(struct mirage_driver *drv)
{
	struct mirage_record rec = { .type = MIRAGE_REC_ASSERT_OFF };

	mirage_ring_publish(&drv->pipe, &drv->writer);
	mirage_ring_write(&drv->pipe, &drv->writer, &rec);
	__atomic_or_fetch(&drv->pipe.ring->flags, MIRAGE_RING_RETIRED, __ATOMIC_RELEASE);
	mirage_ring_publish(&drv->pipe, &drv->writer);
}

/* Makes a pipe for the current geometry and settings, generation `gen`. */
static int new_pipe(struct mirage_driver *drv, struct mirage_pipe *p, uint32_t gen)
{
	struct mirage_pipe_geometry g = {
		.generation = gen,
		.width = drv->width,
		.height = drv->height,
		.bpp = pipe_bpp(drv),
		.backing_mode = (uint32_t)drv->settings.backing_mode,
		.capacity = drv->capacity,
	};

	return mirage_pipe_create(p, &g);
}

/*
 * Retires the current pipe for `next`, keeping cursor and monitors.  The
 * old pipe is returned in *old, still mapped: a driver whose display
 * renders straight into the surface (backing mode 2) must be moved off it
 * before the caller unmaps it.
 */
static void swap_pipe(struct mirage_driver *drv, struct mirage_pipe *next, struct mirage_pipe *old_pipe)
{
	struct mirage_surface_header *old = drv->pipe.surface, *s = next->surface;

	s->cursor_serial = old->cursor_serial & ~1u;
	s->cursor_visible = old->cursor_visible;
	s->cursor_x = old->cursor_x;
	s->cursor_y = old->cursor_y;
	s->cursor_width = old->cursor_width;
	s->cursor_height = old->cursor_height;
	s->cursor_hot_x = old->cursor_hot_x;
	s->cursor_hot_y = old->cursor_hot_y;
	memcpy(next->cursor, drv->pipe.cursor, (size_t)old->cursor_width * old->cursor_height * 4);
	s->monitor_count = old->monitor_count;
	memcpy(s->monitors, old->monitors, sizeof(s->monitors));

	/* Whatever was in the batch belongs to the old geometry: published first. */
	retire(drv);
	*old_pipe = drv->pipe;

	drv->pipe = *next;
	memset(&drv->writer, 0, sizeof(drv->writer));
	post_now(drv, MIRAGE_REC_ASSERT_ON);
	/* Consumers' mappings are of the old generation now. */
}

static int set_attached(struct mirage_driver *drv, bool on)
{
	if (on == drv->attached)
		return 0;
	drv->attached = on;
	if (on) {
		post_now(drv, MIRAGE_REC_ASSERT_ON);
		if (drv->impl && drv->impl->attach) {
			int ret = drv->impl->attach(drv->impl);
			if (ret < 0) {
				drv->attached = false;
				return ret;
			}
		}
		dlog(drv, MIRAGE_LOG_INFO, "attached");
	} else {
		mirage_ring_publish(&drv->pipe, &drv->writer);
		if (drv->impl && drv->impl->detach)
			drv->impl->detach(drv->impl);
		dlog(drv, MIRAGE_LOG_INFO, "detached");
	}
	return 0;
}

MIRAGE_EXPORT int mirage_driver_create(struct mirage_driver **out, const struct mirage_driver_config *cfg,
				       struct mirage_driver_impl *impl)
{
	char dir[256];
	struct mirage_driver *drv;
	int ret;

	*out = NULL;
	if (!mirage_name_valid(cfg->name))
		return mirage_fail(EINVAL, "mirror name \"%s\" is not 1 to %u characters of A-Z a-z 0-9 . _ -",
				   cfg->name ? cfg->name : "(null)", MIRAGE_NAME_MAX - 1);
	if (cfg->native_bpp != 16 && cfg->native_bpp != 24 && cfg->native_bpp != 32)
		return mirage_fail(EINVAL, "unsupported native depth %u bpp (16, 24 or 32)", cfg->native_bpp);

	drv = calloc(1, sizeof(*drv));
	if (!drv)
		return mirage_fail(ENOMEM, "out of memory");
	drv->impl = impl;
	snprintf(drv->name, sizeof(drv->name), "%s", cfg->name);
	drv->width = cfg->width;
	drv->height = cfg->height;
	drv->native_bpp = cfg->native_bpp;
	drv->capacity = cfg->capacity ? cfg->capacity : MIRAGE_RING_DEFAULT_CAPACITY;
	drv->settings = cfg->settings;
	drv->pipe.ring_fd = drv->pipe.surface_fd = drv->pipe.wait_fd = -1;

	if (cfg->socket_dir) {
		snprintf(dir, sizeof(dir), "%s", cfg->socket_dir);
	} else if ((ret = mirage_runtime_dir(dir, sizeof(dir), true)) < 0) {
		goto fail;
	}
	if ((ret = new_pipe(drv, &drv->pipe, 1)) < 0)
		goto fail;
	if ((ret = mirage_server_create(&drv->server, &server_ops, drv, dir, drv->name)) < 0)
		goto fail;

	/* Before attaching: impl->attach may reach the driver through *out. */
	*out = drv;
	if (drv->settings.bootup >= 1 && (ret = set_attached(drv, true)) < 0) {
		mirage_fail(-ret, "attaching at start (Cap.Bootup=%d) failed", drv->settings.bootup);
		goto fail;
	}
	return 0;

fail:
	*out = NULL;
	mirage_server_destroy(drv->server);
	mirage_pipe_finish(&drv->pipe);
	free(drv);
	return ret;
}

MIRAGE_EXPORT void mirage_driver_destroy(struct mirage_driver *drv)
{
	if (!drv)
		return;
	retire(drv);
	drv->manager = NULL;
	drv->attached = false;
	/* Connections closing must not call back into a half-gone driver. */
	drv->impl = NULL;
	mirage_server_destroy(drv->server);
	mirage_pipe_finish(&drv->pipe);
	free(drv);
}

MIRAGE_EXPORT int mirage_driver_fd(const struct mirage_driver *drv)
{
	return mirage_server_fd(drv->server);
}

MIRAGE_EXPORT int mirage_driver_dispatch(struct mirage_driver *drv)
{
	return mirage_server_dispatch(drv->server);
}

MIRAGE_EXPORT bool mirage_driver_attached(const struct mirage_driver *drv)
{
	return drv->attached;
}

MIRAGE_EXPORT const struct mirage_settings *mirage_driver_settings(const struct mirage_driver *drv)
{
	return &drv->settings;
}

MIRAGE_EXPORT const struct mirage_surface_header *mirage_driver_surface(const struct mirage_driver *drv)
{
	return drv->pipe.surface;
}

MIRAGE_EXPORT uint8_t *mirage_driver_pixels(struct mirage_driver *drv)
{
	return drv->pipe.pixels;
}

MIRAGE_EXPORT void mirage_driver_set_backing_in_force(struct mirage_driver *drv, uint32_t mode)
{
	if (drv->settings.backing_mode != 2 || (mode != 2 && mode != 3))
		return;
	__atomic_store_n(&drv->pipe.surface->backing_mode, mode, __ATOMIC_RELEASE);
}

MIRAGE_EXPORT void mirage_driver_set_shadow_status(struct mirage_driver *drv, uint32_t status)
{
	if (!drv->pipe.surface->shadow_lines)
		status &= ~(uint32_t)MIRAGE_SHADOW_EXISTS;
	__atomic_store_n(&drv->pipe.surface->shadow_status, status, __ATOMIC_RELEASE);
}

static bool clip(const struct mirage_driver *drv, struct mirage_rect *r)
{
	if (r->left < 0)
		r->left = 0;
	if (r->top < 0)
		r->top = 0;
	if (r->right > drv->width)
		r->right = drv->width;
	if (r->bottom > drv->height)
		r->bottom = drv->height;
	return r->left < r->right && r->top < r->bottom;
}

MIRAGE_EXPORT void mirage_driver_post(struct mirage_driver *drv, const struct mirage_record *rec)
{
	struct mirage_record r;

	if (!drv->attached)
		return;
	r = *rec;
	switch (r.type) {
	case MIRAGE_REC_SCREEN_SCREEN: {
		/* Clipping the destination moves the source with it. */
		struct mirage_rect d = r.rect;
		if (!clip(drv, &r.rect))
			return;
		r.point.x += r.rect.left - d.left;
		r.point.y += r.rect.top - d.top;
		break;
	}
	case MIRAGE_REC_BLIT:
	case MIRAGE_REC_SOLIDFILL:
	case MIRAGE_REC_TEXTOUT:
		if (!clip(drv, &r.rect))
			return;
		break;
	default:
		break;
	}
	mirage_ring_write(&drv->pipe, &drv->writer, &r);
}

MIRAGE_EXPORT void mirage_driver_post_rect(struct mirage_driver *drv, uint32_t type,
					   int32_t x1, int32_t y1, int32_t x2, int32_t y2)
{
	struct mirage_record rec = { .type = type, .rect = { x1, y1, x2, y2 } };

	mirage_driver_post(drv, &rec);
}

MIRAGE_EXPORT void mirage_driver_post_copy(struct mirage_driver *drv, int32_t x1, int32_t y1,
					   int32_t x2, int32_t y2, int32_t src_x, int32_t src_y)
{
	struct mirage_record rec = {
		.type = drv->settings.blt_copybits ? MIRAGE_REC_SCREEN_SCREEN : MIRAGE_REC_BLIT,
		.rect = { x1, y1, x2, y2 },
	};

	if (drv->settings.blt_copybits)
		rec.point = (struct mirage_point){ src_x, src_y };
	mirage_driver_post(drv, &rec);
}

MIRAGE_EXPORT void mirage_driver_publish(struct mirage_driver *drv)
{
	mirage_ring_publish(&drv->pipe, &drv->writer);
}

MIRAGE_EXPORT void mirage_driver_pixels_ahead(struct mirage_driver *drv)
{
	struct mirage_surface_header *h = drv->pipe.surface;
	uint32_t seq = __atomic_load_n(&h->pixels_seq, __ATOMIC_RELAXED);

	if (seq & 1u)
		return;
	__atomic_store_n(&h->pixels_seq, seq + 1, __ATOMIC_RELAXED);
	if (!(__atomic_load_n(&h->flags, __ATOMIC_RELAXED) & MIRAGE_SURFACE_PIXELS_SEQ))
		__atomic_or_fetch(&h->flags, MIRAGE_SURFACE_PIXELS_SEQ, __ATOMIC_RELAXED);
	/* The odd value before any of the pixel writes that follow. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

MIRAGE_EXPORT void mirage_driver_pixels_synced(struct mirage_driver *drv)
{
	struct mirage_surface_header *h = drv->pipe.surface;
	uint32_t seq = __atomic_load_n(&h->pixels_seq, __ATOMIC_RELAXED);

	if (!(__atomic_load_n(&h->flags, __ATOMIC_RELAXED) & MIRAGE_SURFACE_PIXELS_SEQ))
		__atomic_or_fetch(&h->flags, MIRAGE_SURFACE_PIXELS_SEQ, __ATOMIC_RELAXED);
	/* Release: the pixels and the published counter before the even value. */
	if (seq & 1u)
		__atomic_store_n(&h->pixels_seq, seq + 1, __ATOMIC_RELEASE);
}

MIRAGE_EXPORT uint64_t mirage_driver_counter(const struct mirage_driver *drv)
{
	return drv->writer.published;
}

MIRAGE_EXPORT int mirage_driver_resize(struct mirage_driver *drv, int32_t width, int32_t height,
				       uint32_t native_bpp)
{
	int32_t old_w = drv->width, old_h = drv->height;
	uint32_t old_bpp = drv->native_bpp;
	struct mirage_pipe next, old;
	int ret;

	if (native_bpp != 16 && native_bpp != 24 && native_bpp != 32)
		return mirage_fail(EINVAL, "unsupported native depth %u bpp", native_bpp);
	drv->width = width;
	drv->height = height;
	drv->native_bpp = native_bpp;
	ret = new_pipe(drv, &next, drv->pipe.generation + 1);
	if (ret < 0) {
		drv->width = old_w;
		drv->height = old_h;
		drv->native_bpp = old_bpp;
		dlog(drv, MIRAGE_LOG_ERROR, "resize to %dx%d failed: %s; detaching",
		     width, height, mirage_last_error());
		set_attached(drv, false);
		return ret;
	}
	swap_pipe(drv, &next, &old);
	/* The driver asked for this: it no longer renders into the old pipe. */
	mirage_pipe_finish(&old);
	/* Monitors of the old geometry may lie outside the new one. */
	for (uint32_t i = 0; i < drv->pipe.surface->monitor_count; i++)
		clip(drv, &drv->pipe.surface->monitors[i].rect);
	return 0;
}

MIRAGE_EXPORT int mirage_driver_set_cursor_shape(struct mirage_driver *drv, uint32_t width, uint32_t height,
						 int32_t hot_x, int32_t hot_y, const uint32_t *argb)
{
	struct mirage_surface_header *s = drv->pipe.surface;
	struct mirage_record rec = { .type = MIRAGE_REC_PTR_SHAPE, .point = { hot_x, hot_y } };

	if (width > MIRAGE_CURSOR_MAX || height > MIRAGE_CURSOR_MAX || (width && height && !argb))
		return mirage_fail(EINVAL, "cursor %ux%u is larger than %ux%u", width, height,
				   MIRAGE_CURSOR_MAX, MIRAGE_CURSOR_MAX);

	/* Sequence lock: odd while writing (see proto.h). */
	__atomic_store_n(&s->cursor_serial, s->cursor_serial | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->cursor_width = width;
	s->cursor_height = height;
	s->cursor_hot_x = hot_x;
	s->cursor_hot_y = hot_y;
	if (width && height)
		memcpy(drv->pipe.cursor, argb, (size_t)width * height * 4);
	__atomic_store_n(&s->cursor_serial, s->cursor_serial + 1, __ATOMIC_RELEASE);

	rec.rect = (struct mirage_rect){ 0, 0, (int32_t)width, (int32_t)height };
	mirage_driver_post(drv, &rec);
	return 0;
}

MIRAGE_EXPORT void mirage_driver_set_cursor_position(struct mirage_driver *drv, int32_t x, int32_t y,
						     bool visible)
{
	struct mirage_surface_header *s = drv->pipe.surface;
	bool was = s->cursor_visible;
	struct mirage_record rec = { 0 };

	if (was == visible && (!visible || (s->cursor_x == x && s->cursor_y == y)))
		return;
	/*
	 * Not under the shape's sequence lock: the records carry the exact
	 * positions; these fields are only the latest known ones.
	 */
	__atomic_store_n(&s->cursor_x, x, __ATOMIC_RELAXED);
	__atomic_store_n(&s->cursor_y, y, __ATOMIC_RELAXED);
	__atomic_store_n(&s->cursor_visible, (uint32_t)visible, __ATOMIC_RELEASE);

	if (visible) {
		rec.type = MIRAGE_REC_PTR_ENGAGE;
		rec.point = (struct mirage_point){ x, y };
	} else {
		rec.type = MIRAGE_REC_PTR_AVERT;
	}
	mirage_driver_post(drv, &rec);
}

MIRAGE_EXPORT int mirage_driver_set_monitors(struct mirage_driver *drv, const struct mirage_monitor *monitors,
					     uint32_t count)
{
	struct mirage_surface_header *s = drv->pipe.surface;

	if (count > MIRAGE_MONITORS_MAX)
		return mirage_fail(E2BIG, "%u monitors; at most %u are published", count, MIRAGE_MONITORS_MAX);
	__atomic_store_n(&s->monitor_serial, s->monitor_serial | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset(s->monitors, 0, sizeof(s->monitors));
	for (uint32_t i = 0; i < count; i++) {
		s->monitors[i] = monitors[i];
		s->monitors[i].name[MIRAGE_MONITOR_NAME_MAX - 1] = '\0';
		clip(drv, &s->monitors[i].rect);
	}
	s->monitor_count = count;
	__atomic_store_n(&s->monitor_serial, s->monitor_serial + 1, __ATOMIC_RELEASE);
	return 0;
}

MIRAGE_EXPORT const char *mirage_driver_name(const struct mirage_driver *drv)
{
	return drv->name;
}

MIRAGE_EXPORT const char *mirage_driver_socket_path(const struct mirage_driver *drv)
{
	return mirage_server_path(drv->server);
}

/* ------------------------------------------------------------------ */
/* Hooks for the control server: its ops table, server_ops (private.h) */
/* ------------------------------------------------------------------ */

static struct mirage_pipe *hook_pipe(struct mirage_driver *drv)
{
	return &drv->pipe;
}

static const struct mirage_conn *hook_manager(const struct mirage_driver *drv)
{
	return drv->manager;
}

static int hook_attach(struct mirage_driver *drv, struct mirage_conn *conn, uint32_t flags,
		       char *msg, size_t msglen)
{
	int ret;

	if (drv->manager && drv->manager != conn) {
		snprintf(msg, msglen, "manager role held by pid %d", (int)drv->manager->pid);
		return -EBUSY;
	}
	ret = set_attached(drv, true);
	if (ret < 0) {
		snprintf(msg, msglen, "the driver refused to attach: %s", strerror(-ret));
		return ret;
	}
	drv->manager = (flags & MIRAGE_ATTACH_PERSIST) ? NULL : conn;
	dlog(drv, MIRAGE_LOG_INFO, "pid %d attached%s", (int)conn->pid,
	     (flags & MIRAGE_ATTACH_PERSIST) ? " (persistent)" : " as manager");
	return 0;
}

static int hook_detach(struct mirage_driver *drv, struct mirage_conn *conn, char *msg, size_t msglen)
{
	if (drv->manager && drv->manager != conn) {
		snprintf(msg, msglen, "manager role held by pid %d", (int)drv->manager->pid);
		return -EBUSY;
	}
	if (drv->settings.bootup >= 2) {
		snprintf(msg, msglen, "Cap.Bootup=2 keeps this mirror attached");
		return -EPERM;
	}
	drv->manager = NULL;
	set_attached(drv, false);
	return 0;
}

static int hook_settings_set(struct mirage_driver *drv, struct mirage_conn *conn, const char *text,
			     char *msg, size_t msglen)
{
	struct mirage_settings next = drv->settings, old = drv->settings;
	struct mirage_pipe p, old_pipe = { .ring_fd = -1, .surface_fd = -1, .wait_fd = -1 };
	int ret;

	if (drv->manager && drv->manager != conn) {
		snprintf(msg, msglen, "manager role held by pid %d", (int)drv->manager->pid);
		return -EBUSY;
	}
	if (mirage_settings_parse(&next, text) < 0) {
		snprintf(msg, msglen, "%s", mirage_last_error());
		return -EINVAL;
	}
	drv->settings = next;
	if (next.forced_bpp != old.forced_bpp || next.backing_mode != old.backing_mode) {
		ret = new_pipe(drv, &p, drv->pipe.generation + 1);
		if (ret < 0) {
			drv->settings = old;
			snprintf(msg, msglen, "new pipe for these settings: %s", mirage_last_error());
			return ret;
		}
		swap_pipe(drv, &p, &old_pipe);
	}
	if (drv->impl && drv->impl->settings_changed)
		drv->impl->settings_changed(drv->impl, &old);
	/* Only now: the callback moved the driver off the old surface. */
	mirage_pipe_finish(&old_pipe);
	/* "Always attached" holds from the moment it is set. */
	if (next.bootup >= 2 && !drv->attached && (ret = set_attached(drv, true)) < 0) {
		snprintf(msg, msglen, "Cap.Bootup=2 is set but the driver refused to attach: %s",
			 strerror(-ret));
		return ret;
	}
	return 0;
}

static void hook_conn_closed(struct mirage_driver *drv, struct mirage_conn *conn)
{
	if (drv->manager != conn)
		return;
	drv->manager = NULL;
	if (drv->settings.bootup >= 2)
		return;
	dlog(drv, MIRAGE_LOG_INFO, "manager pid %d went away; detaching", (int)conn->pid);
	set_attached(drv, false);
}

static size_t hook_fill_info(struct mirage_driver *drv, struct mirage_info_out *info, char *stats,
			     size_t size)
{
	const struct mirage_surface_header *s = drv->pipe.surface;
	size_t n = 0;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", drv->name);
	snprintf(info->driver, sizeof(info->driver), "%s",
		 drv->impl && drv->impl->name ? drv->impl->name : "unknown");
	info->server_version = MIRAGE_PROTO_VERSION;
	info->generation = drv->pipe.generation;
	info->width = s->width;
	info->height = s->height;
	info->bpp = s->bpp;
	info->attached = drv->attached;
	info->consumers = mirage_server_consumers(drv->server);
	info->connections = mirage_server_connections(drv->server);
	info->manager_pid = drv->manager ? drv->manager->pid : 0;
	info->capacity = drv->pipe.ring->capacity;
	info->counter = drv->writer.published;
	info->batches = drv->writer.batches;
	info->pid = (uint32_t)getpid();

	if (size)
		stats[0] = '\0';
	if (drv->impl && drv->impl->info && size > 1) {
		n = drv->impl->info(drv->impl, stats, size);
		if (n >= size)
			n = size - 1;
		stats[n] = '\0';
	}
	return n;
}

static const struct mirage_server_ops server_ops = {
	.pipe = hook_pipe,
	.settings = mirage_driver_settings,
	.manager = hook_manager,
	.log = log_text,
	.attach = hook_attach,
	.detach = hook_detach,
	.settings_set = hook_settings_set,
	.conn_closed = hook_conn_closed,
	.fill_info = hook_fill_info,
};
