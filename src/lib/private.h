/* SPDX-License-Identifier: MIT */
/* libmirage internals shared between its source files (and white-box tests). */
#ifndef MIRAGE_PRIVATE_H
#define MIRAGE_PRIVATE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mirage/client.h>
#include <mirage/driver.h>

#include "shared.h" /* container_of */

#define MIRAGE_INTERNAL __attribute__((visibility("hidden")))

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* error.c: sets mirage_last_error() and returns -err (err is a positive errno). */
MIRAGE_INTERNAL int mirage_fail(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* util.c */
MIRAGE_INTERNAL bool mirage_name_valid(const char *name);
MIRAGE_INTERNAL uint32_t mirage_stride(int32_t width, uint32_t bpp);
MIRAGE_INTERNAL int mirage_send_msg(int fd, uint32_t code, uint32_t serial, int32_t status,
				    const void *payload, size_t length,
				    const int *fds, unsigned nfds);
/*
 * Receives one message into buf (size >= MIRAGE_MSG_MAX_SIZE).  Up to
 * max_fds descriptors are stored in fds (*nfds set); any beyond are closed.
 * Returns the message size, 0 on EOF, or -errno.  Never blocks when the
 * socket is non-blocking.
 */
MIRAGE_INTERNAL ssize_t mirage_recv_msg(int fd, void *buf, size_t size,
					int *fds, unsigned max_fds, unsigned *nfds);
MIRAGE_INTERNAL void mirage_format_masks(uint32_t bpp, uint32_t *r, uint32_t *g, uint32_t *b);

/* ------------------------------------------------------------------ */
/* pipe.c: one generation of shared memory                             */
/* ------------------------------------------------------------------ */

struct mirage_pipe {
	uint32_t generation;
	int ring_fd, surface_fd, wait_fd; /* producer: read-write; consumer: as received */
	size_t ring_size, surface_size;
	struct mirage_ring_header *ring;
	struct mirage_record *slots;
	struct mirage_surface_header *surface;
	uint8_t *pixels;                  /* NULL without a surface */
	uint32_t *cursor;                 /* MIRAGE_CURSOR_MAX^2 ARGB */
	struct mirage_wait_page *wait;
};

struct mirage_pipe_geometry {
	uint32_t generation;
	int32_t width, height;
	uint32_t bpp;          /* 0: records only */
	uint32_t backing_mode;
	uint32_t capacity;
};

/* Producer: creates and maps the three memfds and fills in the headers. */
MIRAGE_INTERNAL int mirage_pipe_create(struct mirage_pipe *p, const struct mirage_pipe_geometry *g);
/* Consumer: maps received descriptors read-only (the wait page read-write) and checks them. */
MIRAGE_INTERNAL int mirage_pipe_map(struct mirage_pipe *p, int ring_fd, int surface_fd, int wait_fd,
				    const struct mirage_map_out *m);
/* Unmaps and closes; safe on a zeroed or half-built pipe. */
MIRAGE_INTERNAL void mirage_pipe_finish(struct mirage_pipe *p);
/* Opens a read-only descriptor of one of the producer's memfds. */
MIRAGE_INTERNAL int mirage_pipe_reopen_ro(int fd);

/*
 * Producer side of the ring.  `pending` counts records written after the
 * last publish; the writer stores `reserve` before touching a slot.
 */
struct mirage_ring_writer {
	uint64_t published; /* == ring->counter */
	uint32_t pending;
	uint64_t batches;
};

MIRAGE_INTERNAL void mirage_ring_write(struct mirage_pipe *p, struct mirage_ring_writer *w,
				       const struct mirage_record *rec);
MIRAGE_INTERNAL void mirage_ring_publish(struct mirage_pipe *p, struct mirage_ring_writer *w);

/*
 * Consumer side: copies records [*pos, counter) up to max.  Returns a
 * MIRAGE_POLL_* value.
 */
MIRAGE_INTERNAL int mirage_ring_read(const struct mirage_pipe *p, uint64_t *pos,
				     struct mirage_record *recs, uint32_t max, uint32_t *count);
/* Futex wait while counter == pos.  1: moved, 0: timeout, -EINTR: a signal handler ran. */
MIRAGE_INTERNAL int mirage_ring_wait(const struct mirage_pipe *p, uint64_t pos, int timeout_ms);
/*
 * Wakes everyone sleeping in mirage_ring_wait on this ring (on a read-only
 * mapping too).  Waiters in other processes see a spurious wake-up.
 */
MIRAGE_INTERNAL void mirage_ring_wake(const struct mirage_pipe *p);

/* ------------------------------------------------------------------ */
/* Control requests (control.c) and the driver behind them (driver.c)  */
/* ------------------------------------------------------------------ */

struct mirage_conn {
	int fd;
	pid_t pid;
	uid_t uid;
	bool negotiated;
	bool mapped;
	uint32_t mapped_generation;
	uint64_t active_ms; /* CLOCK_MONOTONIC: accepted, or its last request read */
};

struct mirage_server;

/*
 * What the control server needs from the mirror behind it, handed over
 * once at mirage_server_create() and called with the `drv` given there.
 * This table is the only way control.c reaches the driver: driver.c owns
 * the server and calls down into it (mirage_server_*), control.c calls
 * back up only through these pointers, so the two files do not call each
 * other by name.  All are called from the producer's thread, inside
 * mirage_server_dispatch() or mirage_server_destroy().
 *
 * pipe, settings: the current pipe and settings (never NULL).
 * manager: the connection holding the manager role, or NULL; never evicted
 *   to make room.
 * log: one line for the driver's log callback (may drop it).
 * attach, detach, settings_set: the manager escapes; 0 or -errno with a
 *   reason for the peer written into msg.
 * conn_closed: conn is about to be freed (drop any reference to it).
 * fill_info: the INFO escape's reply and the driver's statistics text
 *   (NUL-terminated in stats[size]); returns the text's length.
 */
struct mirage_server_ops {
	struct mirage_pipe *(*pipe)(struct mirage_driver *drv);
	const struct mirage_settings *(*settings)(const struct mirage_driver *drv);
	const struct mirage_conn *(*manager)(const struct mirage_driver *drv);
	void (*log)(struct mirage_driver *drv, enum mirage_log_level level, const char *text);
	int (*attach)(struct mirage_driver *drv, struct mirage_conn *conn, uint32_t flags,
		      char *msg, size_t msglen);
	int (*detach)(struct mirage_driver *drv, struct mirage_conn *conn, char *msg, size_t msglen);
	int (*settings_set)(struct mirage_driver *drv, struct mirage_conn *conn, const char *text,
			    char *msg, size_t msglen);
	void (*conn_closed)(struct mirage_driver *drv, struct mirage_conn *conn);
	size_t (*fill_info)(struct mirage_driver *drv, struct mirage_info_out *info, char *stats,
			    size_t size);
};

/* ops must outlive the server (driver.c passes a static table). */
MIRAGE_INTERNAL int mirage_server_create(struct mirage_server **out,
					 const struct mirage_server_ops *ops,
					 struct mirage_driver *drv, const char *dir, const char *name);
MIRAGE_INTERNAL void mirage_server_destroy(struct mirage_server *srv);
MIRAGE_INTERNAL int mirage_server_fd(const struct mirage_server *srv);
MIRAGE_INTERNAL int mirage_server_dispatch(struct mirage_server *srv);
MIRAGE_INTERNAL const char *mirage_server_path(const struct mirage_server *srv);
MIRAGE_INTERNAL uint32_t mirage_server_connections(const struct mirage_server *srv);
MIRAGE_INTERNAL uint32_t mirage_server_consumers(const struct mirage_server *srv);

#endif /* MIRAGE_PRIVATE_H */
