/* SPDX-License-Identifier: MIT */
/*
 * A session of mutter's org.gnome.Mutter.ScreenCast API (mutter's
 * data/dbus-interfaces/org.gnome.Mutter.ScreenCast.xml) recording one
 * monitor or a virtual one, over sd-bus; optionally linked to a
 * org.gnome.Mutter.RemoteDesktop session, which is what input into the
 * session needs (absolute pointer motion is given on a stream).  Shared by
 * mirage-wayland's GNOME backend (frames) and mirage-vnc (input).
 *
 * The setup calls block (mutter is local and answers at once); afterwards
 * the connection receives signals, handled by screencast_dispatch when
 * screencast_fd is readable.  The sessions live as long as this
 * connection: mutter ends them when it closes.  One thread: sd-bus is not
 * thread-safe.
 */
#ifndef MIRAGE_SCREENCAST_H
#define MIRAGE_SCREENCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mirage/driver.h>
#include <mirage/proto.h>

struct sd_bus;
struct sd_bus_message;

/* RecordMonitor's "cursor-mode". */
enum screencast_cursor {
	SCREENCAST_CURSOR_HIDDEN = 0,
	SCREENCAST_CURSOR_EMBEDDED = 1,
	SCREENCAST_CURSOR_METADATA = 2,
};

/* The name a virtual monitor goes by (RecordVirtual has no connector). */
#define SCREENCAST_VIRTUAL_NAME "Virtual"

struct screencast_request {
	const char *connector;        /* NULL: mutter's first monitor */
	bool virtual_monitor;         /* RecordVirtual instead: a monitor of our own */
	enum screencast_cursor cursor;
	bool remote_desktop;          /* linked to a RemoteDesktop session, for input */
};

struct screencast {
	/* Set by the caller before open. */
	bool quiet;                 /* no error messages (--wait retrying) */
	/* Where messages go; NULL: stderr. */
	void (*log)(enum mirage_log_level level, const char *text);

	struct sd_bus *bus;
	char *mutter;               /* mutter's unique name: signals come from it */
	char *session, *stream;     /* object paths of the session and its stream */
	char *remote;               /* the RemoteDesktop session's path, or NULL */
	char connector[MIRAGE_MONITOR_NAME_MAX];
	uint32_t node;              /* the PipeWire node of the stream */
	bool have_node;
	int32_t x, y, w, h;         /* the monitor in the compositor's (logical) space */
	bool gone;                  /* mutter left the bus */
	bool closed;                /* mutter closed the session (and may stay) */
	bool monitors_changed;      /* DisplayConfig's MonitorsChanged since last cleared */
};

/* Whether org.gnome.Mutter.ScreenCast has an owner on the session bus. */
bool screencast_present(void);

/*
 * The connector of the monitor a session for `want` would record (NULL:
 * mutter's first) into connector, asked of mutter's DisplayConfig on the
 * session bus: what names the mirror before the driver runs.  0 or -errno
 * as screencast_open, with one line logged through log (NULL: stderr).
 */
int screencast_find_monitor(const char *want, char *connector, size_t size,
			    void (*log)(enum mirage_log_level level, const char *text))
	__attribute__((warn_unused_result));

/*
 * Connects to the session bus, creates the session(s) for `req`, starts
 * them and waits for the stream's node.  0 or -errno with one line
 * logged: -ECONNREFUSED no session bus, -ENOTSUP no mutter on it, -ENODEV
 * no such monitor, -EACCES mutter refused.  The caller's fields of sc are
 * kept, the rest zeroed first; screencast_close it after a failure too.
 */
int screencast_open(struct screencast *sc, const struct screencast_request *req)
	__attribute__((warn_unused_result));
/* The connection's fd, to poll for reading. */
int screencast_fd(const struct screencast *sc);
/* Sends what is queued and handles what arrived; -EPIPE once gone (not
 * merely closed: the caller looks at closed). */
int screencast_dispatch(struct screencast *sc) __attribute__((warn_unused_result));
/* Stops the session and frees everything; the caller's fields are kept. */
void screencast_close(struct screencast *sc);

/*
 * The pure readers of mutter's answers (what the fuzzer feeds).
 * screencast_read_monitors: from DisplayConfig.GetCurrentState's reply,
 * the connector of `want` (NULL: the first monitor) into connector;
 * 0, -ENODEV none such, -EPROTO not the expected shape.
 * screencast_read_parameters: from a Stream's Parameters (a{sv}) the
 * position and size where present (others untouched); 0 or -EPROTO.
 */
int screencast_read_monitors(struct sd_bus_message *reply, const char *want, char *connector,
			     size_t size) __attribute__((warn_unused_result));
int screencast_read_parameters(struct sd_bus_message *reply, int32_t *x, int32_t *y, int32_t *w,
			       int32_t *h) __attribute__((warn_unused_result));

#endif /* MIRAGE_SCREENCAST_H */
