/* SPDX-License-Identifier: MIT */
/*
 * The producer side of a mirage pipe: what a mirror driver (the Xorg
 * module, mirage-x11, a recording played back) uses to publish a display.
 *
 * Threading: a struct mirage_driver is used from one thread at a time; it
 * never blocks on a consumer and never starts threads of its own.
 *
 * Event loops: mirage_driver_fd() is one pollable descriptor (readable when
 * a control connection needs service); call mirage_driver_dispatch() when it
 * is.  It never blocks.
 */
#ifndef MIRAGE_DRIVER_H
#define MIRAGE_DRIVER_H

#include <mirage/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mirage_driver;

enum mirage_log_level {
	MIRAGE_LOG_ERROR = 0,
	MIRAGE_LOG_WARNING = 1,
	MIRAGE_LOG_INFO = 2,
	MIRAGE_LOG_DEBUG = 3,
};

/*
 * What a driver supplies.  Embed it first in the driver's own struct and
 * recover that struct with container_of in the callbacks.  Every callback
 * may be NULL.  Callbacks run inside mirage_driver_dispatch() (or, for
 * attach, inside mirage_driver_create() when Cap.Bootup starts the mirror
 * attached).
 */
struct mirage_driver_impl {
	const char *name; /* shown by `miragectl list`, e.g. "xorg" */

	/*
	 * The mirror became attached: start mirroring.  The surface content is
	 * stale; the driver should copy the whole screen and post one BLIT
	 * covering it.  A negative return refuses the attach (the requester
	 * gets the error).
	 */
	int (*attach)(struct mirage_driver_impl *impl);

	/* The mirror was detached: stop copying and posting. */
	void (*detach)(struct mirage_driver_impl *impl);

	/*
	 * Settings changed (old are the previous ones; the new ones are in
	 * mirage_driver_settings()).  When Screen.ForcedBpp or
	 * Cap.DfbBackingMode changed, a new pipe has already been created and
	 * the driver must refresh the whole surface as after attach.  The
	 * previous pipe stays mapped until this returns, so a driver whose
	 * display renders straight into the surface (backing mode 2) can move
	 * it to the new one here.
	 */
	void (*settings_changed)(struct mirage_driver_impl *impl,
				 const struct mirage_settings *old);

	/*
	 * Driver statistics for `miragectl status`: append "key=value\n" lines
	 * to buf (at most size bytes, NUL-terminated).  Returns bytes written.
	 */
	size_t (*info)(struct mirage_driver_impl *impl, char *buf, size_t size);

	/* A message from the library (a refused request, a dropped client). */
	void (*log)(struct mirage_driver_impl *impl, enum mirage_log_level level,
		    const char *message);
};

struct mirage_driver_config {
	const char *name;          /* [A-Za-z0-9._-], 1 to 63 characters */
	int32_t width;             /* 1..MIRAGE_MAX_DIMENSION */
	int32_t height;
	uint32_t native_bpp;       /* the display's own: 16, 24 or 32 */
	uint32_t capacity;         /* ring slots; 0 means MIRAGE_RING_DEFAULT_CAPACITY */
	const char *socket_dir;    /* NULL means mirage_runtime_dir() */
	struct mirage_settings settings;
};

/* Fills cfg with defaults: no name, no geometry, 32 bpp, default settings. */
MIRAGE_EXPORT void mirage_driver_config_init(struct mirage_driver_config *cfg);

/*
 * Creates a mirror: the pipe (ring, surface, wait page in memfds) and its
 * control socket <socket_dir>/<name>.sock (mode 0600).  Fails with
 * -EADDRINUSE when a live mirror already has the name (a stale socket is
 * replaced).  Starts detached unless settings.bootup is 1 or 2; in that case
 * impl->attach runs before this returns, with *out already set.  impl must
 * outlive the driver.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_driver_create(struct mirage_driver **out,
							  const struct mirage_driver_config *cfg,
							  struct mirage_driver_impl *impl);

/*
 * Posts ASSERT_OFF, marks the pipe retired, closes every connection and
 * removes the socket.  Consumers keep their mappings.  NULL is a no-op.
 */
MIRAGE_EXPORT void mirage_driver_destroy(struct mirage_driver *drv);

/* The descriptor to poll for reading. */
MIRAGE_EXPORT int mirage_driver_fd(const struct mirage_driver *drv);

/*
 * Serves every pending control request without blocking.  Misbehaving
 * clients are answered with an error and disconnected; that is not a
 * failure of dispatch.  Returns 0 or a negative errno when the listening
 * socket itself failed.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_driver_dispatch(struct mirage_driver *drv);

/* True while mirroring: the one check a driver makes per operation. */
MIRAGE_EXPORT bool mirage_driver_attached(const struct mirage_driver *drv);

/* The settings in force. */
MIRAGE_EXPORT const struct mirage_settings *mirage_driver_settings(const struct mirage_driver *drv);

/*
 * The surface header (writable: the driver owns the cursor and monitor
 * fields only through the calls below).  Valid until the next resize or
 * settings change.
 */
MIRAGE_EXPORT const struct mirage_surface_header *mirage_driver_surface(const struct mirage_driver *drv);

/*
 * Write access to the pixels: line 0 of the visible area; the shadow lines
 * follow the visible ones.  NULL in backing mode 0.  Valid until the next
 * resize or settings change.
 */
MIRAGE_EXPORT uint8_t *mirage_driver_pixels(struct mirage_driver *drv);

/*
 * Says which backing mode is really in force when it differs from the
 * setting: a driver that cannot alias the display (Cap.DfbBackingMode 2)
 * and copies instead sets 3, and 2 again once it aliases.  Only 2 and 3
 * are accepted, and only while the setting is 2.
 */
MIRAGE_EXPORT void mirage_driver_set_backing_in_force(struct mirage_driver *drv, uint32_t mode);

/* Sets the shadow-line status bits (MIRAGE_SHADOW_*). */
MIRAGE_EXPORT void mirage_driver_set_shadow_status(struct mirage_driver *drv, uint32_t status);

/*
 * Appends one record to the current batch: it is written to its slot now
 * and becomes visible to consumers at the next mirage_driver_publish().
 * Render the pixels first.  Rects are clipped to the surface; an empty one
 * is dropped.  Does nothing while detached.  A batch that reaches half the
 * ring's capacity is published on the spot.
 */
MIRAGE_EXPORT void mirage_driver_post(struct mirage_driver *drv, const struct mirage_record *rec);

/* Convenience: post a record of `type` for rect [x1,x2) x [y1,y2). */
MIRAGE_EXPORT void mirage_driver_post_rect(struct mirage_driver *drv, uint32_t type,
					   int32_t x1, int32_t y1, int32_t x2, int32_t y2);

/*
 * Convenience: post SCREEN_SCREEN for destination rect [x1,x2) x [y1,y2)
 * copied from (src_x, src_y).  When Order.BltCopyBits.Enabled is 0 it is
 * posted as BLIT instead.
 */
MIRAGE_EXPORT void mirage_driver_post_copy(struct mirage_driver *drv,
					   int32_t x1, int32_t y1, int32_t x2, int32_t y2,
					   int32_t src_x, int32_t src_y);

/*
 * Publishes the batch: one release store of the counter, and one FUTEX_WAKE
 * only if a consumer is waiting.  Cheap when the batch is empty.
 */
MIRAGE_EXPORT void mirage_driver_publish(struct mirage_driver *drv);

/*
 * The surface's sequence over its pixels (PROTOCOL.md 5.5), for a producer
 * that wants consumers to know when what they read needs no checking.
 * mirage_driver_pixels_ahead() before the surface's pixels change in a way
 * the published records do not describe yet (cheap when already ahead);
 * mirage_driver_pixels_synced() once every pixel written so far is
 * described by published records.  The first call of either tells
 * consumers that this producer keeps the sequence; a new pipe starts
 * without it.  A producer that never calls them loses nothing: consumers
 * then treat every read as possibly ahead.
 */
MIRAGE_EXPORT void mirage_driver_pixels_ahead(struct mirage_driver *drv);
MIRAGE_EXPORT void mirage_driver_pixels_synced(struct mirage_driver *drv);

/* Records published so far on the current pipe. */
MIRAGE_EXPORT uint64_t mirage_driver_counter(const struct mirage_driver *drv);

/*
 * A new geometry or native format: posts ASSERT_OFF on the old pipe,
 * retires it, creates a new pipe (generation + 1) and posts ASSERT_ON on it.
 * The surface content is then undefined: refresh it and post a BLIT.
 * The old pipe is unmapped before this returns: a display that renders into
 * the surface (backing mode 2) must be moved off it first.
 * On failure the old pipe stays in place and mirroring stops (detached).
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_driver_resize(struct mirage_driver *drv,
							  int32_t width, int32_t height,
							  uint32_t native_bpp);

/*
 * Sets the cursor shape: premultiplied ARGB32 (0xAARRGGBB per uint32),
 * width x height <= MIRAGE_CURSOR_MAX each, rows of `width` pixels.
 * Posts PTR_SHAPE (point = hotspot) while attached.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_driver_set_cursor_shape(struct mirage_driver *drv,
								    uint32_t width, uint32_t height,
								    int32_t hot_x, int32_t hot_y,
								    const uint32_t *argb);

/*
 * Sets the cursor position (the hotspot, in surface coordinates) and
 * visibility.  Posts PTR_ENGAGE with the position when visible, PTR_AVERT
 * when it becomes hidden; nothing when nothing changed.
 */
MIRAGE_EXPORT void mirage_driver_set_cursor_position(struct mirage_driver *drv,
						     int32_t x, int32_t y, bool visible);

/* Replaces the monitor layout (count <= MIRAGE_MONITORS_MAX; rects clipped). */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_driver_set_monitors(struct mirage_driver *drv,
								const struct mirage_monitor *monitors,
								uint32_t count);

/* The mirror's name and socket path (owned by drv). */
MIRAGE_EXPORT const char *mirage_driver_name(const struct mirage_driver *drv);
MIRAGE_EXPORT const char *mirage_driver_socket_path(const struct mirage_driver *drv);

#ifdef __cplusplus
}
#endif

#endif /* MIRAGE_DRIVER_H */
