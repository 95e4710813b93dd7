/* SPDX-License-Identifier: MIT */
/*
 * The consumer side of a mirage pipe: connect to a mirror, map its surface
 * and change ring read-only, follow the changes.
 *
 * The read path (mirage_client_poll, the pixel accessors) makes no syscalls
 * and takes no locks.  A struct mirage_client is used from one thread at a
 * time; any number of processes may each have their own.
 */
#ifndef MIRAGE_CLIENT_H
#define MIRAGE_CLIENT_H

#include <pixman.h>

#include <mirage/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mirage_client;

/* Results of mirage_client_poll() besides a negative errno. */
enum mirage_poll_result {
	MIRAGE_POLL_OK = 0,   /* records (possibly none) were returned */
	MIRAGE_POLL_LOST = 1, /* track lost: refresh the whole surface */
	MIRAGE_POLL_OFF = 2,  /* the pipe was retired (ASSERT_OFF): reconnect */
};

/*
 * Connects to a mirror by name (looked up in mirage_runtime_dir() and in
 * /tmp/mirage-$UID) or by socket path (anything containing '/'),
 * negotiates the protocol version and maps the pipe read-only.  On failure
 * returns a negative errno and mirage_last_error() says why, naming both
 * versions when they are incompatible.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_connect(struct mirage_client **out,
							   const char *mirror);

/* Unmaps (telling the producer, if it is still there) and closes.  NULL is a no-op. */
MIRAGE_EXPORT void mirage_client_destroy(struct mirage_client *c);

/* The mirror's surface header, read-only.  Valid until reconnect or destroy. */
MIRAGE_EXPORT const struct mirage_surface_header *mirage_client_surface(const struct mirage_client *c);

/* Line 0 of the visible pixels; NULL when the mirror has no surface. */
MIRAGE_EXPORT const uint8_t *mirage_client_pixels(const struct mirage_client *c);

/*
 * Around a read of the pixels (PROTOCOL.md 5.5): take a token before it,
 * then mirage_client_pixels_exact() says whether what was read is exactly
 * the picture as of the records consumed so far.  True only when the
 * producer keeps the pixel sequence, all published records had been
 * consumed and the producer drew nothing past them during the read; false
 * whenever in doubt (the pixels may then be ahead of the records).
 */
MIRAGE_EXPORT int64_t mirage_client_pixels_begin(const struct mirage_client *c);
MIRAGE_EXPORT bool mirage_client_pixels_exact(const struct mirage_client *c, int64_t token);

/* The ring header, read-only (for tools that show counters). */
MIRAGE_EXPORT const struct mirage_ring_header *mirage_client_ring(const struct mirage_client *c);

/* The producer's protocol version, from the negotiation. */
MIRAGE_EXPORT uint32_t mirage_client_server_version(const struct mirage_client *c);

/* The record number the next poll starts from. */
MIRAGE_EXPORT uint64_t mirage_client_position(const struct mirage_client *c);

/*
 * Moves the position back by up to n records (at most capacity/2, never
 * before record 0) so the next poll returns them again, with the usual
 * overwrite check: e.g. to show what a freshly mapped pipe already holds
 * (its ASSERT_ON and the producer's full refresh).  Returns how far it went.
 */
MIRAGE_EXPORT uint32_t mirage_client_rewind(struct mirage_client *c, uint32_t n);

/*
 * Copies up to max new records into recs and sets *count.  Returns
 * MIRAGE_POLL_OK (more may be pending when *count == max), MIRAGE_POLL_LOST
 * (more than capacity/2 behind, or a slot was overwritten while copied:
 * nothing returned, the position skips to the newest record) or
 * MIRAGE_POLL_OFF (the pipe is retired: the records up to and including
 * its ASSERT_OFF are returned; once that was taken, or when losing track
 * skipped it, OFF comes with no records).  No syscalls.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_poll(struct mirage_client *c,
							struct mirage_record *recs, uint32_t max,
							uint32_t *count);

/*
 * Blocks until records newer than the position are published or timeout_ms
 * passes (-1: no timeout).  Returns 1 when there is something to poll, 0 on
 * timeout, after mirage_client_wake() or when a signal handler ran in this
 * thread, -ENOTCONN when the producer has gone away, -ESTALE when the pipe
 * is retired and everything on it was taken (reconnect).  Uses a futex; the
 * producer makes a wake-up syscall only while someone waits.  Nothing runs
 * periodically: from the first wait that blocks until the pipe is unmapped,
 * a thread of the library (all signals blocked) sleeps in poll() on the
 * control socket and wakes the waiter when the producer hangs up.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_wait(struct mirage_client *c, int timeout_ms);

/*
 * Makes the current mirage_client_wait (in another thread) or else the next
 * one return 0.  Async-signal-safe: a signal handler that sets a flag calls
 * this, so a wait without a timeout cannot miss the signal that landed just
 * before it went to sleep.
 */
MIRAGE_EXPORT void mirage_client_wake(struct mirage_client *c);

/* True while the control connection to the producer is open (one poll(2)). */
MIRAGE_EXPORT bool mirage_client_connected(struct mirage_client *c);

/*
 * After MIRAGE_POLL_OFF or a lost connection: unmaps and maps the mirror's
 * current pipe (reconnecting the socket by the same name or path if it was
 * closed).  The position starts at the new pipe's counter; refresh the
 * whole surface.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_reconnect(struct mirage_client *c);

/* ------------------------------------------------------------------ */
/* Regions and pixels                                                  */
/* ------------------------------------------------------------------ */

/*
 * Adds what a record changed (its rect, clipped to the visible surface) to
 * region.  Cursor and status records change no pixels and add nothing.
 * Returns true when something was added.
 */
MIRAGE_EXPORT bool mirage_client_region_add(const struct mirage_client *c,
					    pixman_region32_t *region,
					    const struct mirage_record *rec);

/* Sets region to the whole visible surface (what to copy after LOST). */
MIRAGE_EXPORT void mirage_client_region_full(const struct mirage_client *c,
					     pixman_region32_t *region);

/*
 * Copies the pixels of region (clipped to the visible surface) from the
 * surface into dst, a buffer of the surface's format and height with
 * dst_stride bytes per line, at the same coordinates.  Returns the number of
 * bytes copied, or a negative errno (-ENODATA without a surface).
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int64_t mirage_client_copy_region(const struct mirage_client *c,
								   const pixman_region32_t *region,
								   uint8_t *dst, uint32_t dst_stride);

/* ------------------------------------------------------------------ */
/* Cursor and monitors                                                 */
/* ------------------------------------------------------------------ */

struct mirage_cursor {
	uint32_t serial;   /* changes with every shape */
	bool visible;
	int32_t x, y;      /* hotspot position */
	uint32_t width, height;
	int32_t hot_x, hot_y;
};

/*
 * Reads the cursor consistently (sequence lock over the header fields and
 * pixels).  When argb is not NULL, copies width*height premultiplied ARGB32
 * pixels into it (max_pixels must be at least that, else -ENOSPC).
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_cursor(const struct mirage_client *c,
							  struct mirage_cursor *cursor,
							  uint32_t *argb, size_t max_pixels);

/* Copies the monitor layout; returns the count (0 to MIRAGE_MONITORS_MAX). */
MIRAGE_EXPORT int mirage_client_monitors(const struct mirage_client *c,
					 struct mirage_monitor monitors[MIRAGE_MONITORS_MAX]);

/* ------------------------------------------------------------------ */
/* Control requests                                                    */
/* ------------------------------------------------------------------ */

/*
 * Takes the manager role and attaches the mirror.  With
 * MIRAGE_ATTACH_PERSIST the mirror stays attached after this connection
 * closes and the role is released at once; otherwise it is held until
 * mirage_client_detach() or until the connection closes, which detaches
 * the mirror (unless Cap.Bootup is 2).  -EBUSY when another client holds
 * the role.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_attach(struct mirage_client *c, uint32_t flags);

/* Detaches the mirror and releases the manager role. */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_detach(struct mirage_client *c);

/* The settings in force, as "Key=value\n" text, NUL-terminated. */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_settings_get(struct mirage_client *c,
								char *buf, size_t size);

/* Changes settings ("key=value" items); all or nothing. */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_settings_set(struct mirage_client *c,
								const char *text);

/*
 * The mirror's state; stats (may be NULL) receives the driver's
 * "key=value\n" statistics, NUL-terminated.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_info(struct mirage_client *c,
							struct mirage_info_out *info,
							char *stats, size_t stats_size);

/* DfMirage's test escapes: is the producer answering; is our mapping current. */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_test(struct mirage_client *c);
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_client_test_mapped(struct mirage_client *c);

/*
 * Lists mirror sockets in the runtime directories: calls fn for each
 * "<dir>/<name>.sock" path found.  Returns the count or a negative errno.
 */
typedef void (*mirage_list_fn)(const char *name, const char *path, void *data);
MIRAGE_EXPORT int mirage_list_mirrors(mirage_list_fn fn, void *data);

/*
 * Finds the control socket of a mirror as mirage_client_connect() does: a
 * name with '/' is taken as the path; otherwise <mirage_runtime_dir()>/
 * <name>.sock, then (without MIRAGE_DIR) /tmp/mirage-$UID/<name>.sock.
 * Writes the path into path (size bytes).  Returns 0 or a negative errno
 * (-ENOENT: no such mirror; -EACCES: another user's) and mirage_last_error()
 * says why.  Connects to nothing.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_mirror_socket(const char *mirror, char *path,
							  size_t size);

/*
 * Asks a mirror (by name or socket path, as mirage_client_connect()) for
 * its protocol versions without mapping anything: *out receives the
 * mirror's version and the oldest client version it accepts, also when
 * the two sides are incompatible (compare them with MIRAGE_PROTO_VERSION
 * and MIRAGE_PROTO_MIN_COMPAT).  Opens and closes one connection; blocks
 * up to the request timeout.  Returns 0 or a negative errno and
 * mirage_last_error() says why.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_mirror_version(const char *mirror,
							   struct mirage_version_out *out);

#ifdef __cplusplus
}
#endif

#endif /* MIRAGE_CLIENT_H */
