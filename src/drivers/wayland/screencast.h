/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus half of the GNOME backend: a session of mutter's
 * org.gnome.Mutter.ScreenCast API (mutter's data/dbus-interfaces/
 * org.gnome.Mutter.ScreenCast.xml) recording one monitor, over sd-bus.
 * The setup calls block (mutter is local and answers at once); afterwards
 * the connection only receives signals, handled by screencast_dispatch
 * when screencast_fd is readable.  The session lives as long as this
 * connection: mutter ends it when the connection closes.  One thread.
 */
#ifndef MIRAGE_WAYLAND_SCREENCAST_H
#define MIRAGE_WAYLAND_SCREENCAST_H

#include <stdbool.h>
#include <stdint.h>

#include <mirage/proto.h>

/* RecordMonitor's "cursor-mode". */
enum screencast_cursor {
	SCREENCAST_CURSOR_HIDDEN = 0,
	SCREENCAST_CURSOR_EMBEDDED = 1,
	SCREENCAST_CURSOR_METADATA = 2,
};

struct screencast {
	struct sd_bus *bus;
	char *mutter;               /* mutter's unique name: signals come from it */
	char *session, *stream;     /* object paths of the session and its stream */
	char connector[MIRAGE_MONITOR_NAME_MAX];
	uint32_t node;              /* the PipeWire node of the stream */
	bool have_node;
	int32_t x, y, w, h;         /* the monitor in the compositor's (logical) space */
	bool gone;                  /* mutter left the bus or closed the session */
	bool quiet;                 /* no error messages (--wait retrying) */
};

/* Whether org.gnome.Mutter.ScreenCast has an owner on the session bus. */
bool screencast_present(void);

/*
 * Connects to the session bus, records `connector` (NULL: mutter's first
 * monitor) with the cursor `mode`, starts the session and waits for the
 * stream's node.  0 or -errno with one line logged: -ECONNREFUSED no
 * session bus, -ENOTSUP no mutter on it, -ENODEV no such monitor,
 * -EACCES mutter refused.  sc is zeroed first; screencast_close it after
 * a failure too.
 */
int screencast_open(struct screencast *sc, const char *connector, enum screencast_cursor mode)
	__attribute__((warn_unused_result));
/* The connection's fd, to poll for reading. */
int screencast_fd(const struct screencast *sc);
/* Sends what is queued and handles what arrived; -EPIPE once gone. */
int screencast_dispatch(struct screencast *sc) __attribute__((warn_unused_result));
/* Stops the session and frees everything; a zeroed sc is a no-op. */
void screencast_close(struct screencast *sc);

#endif /* MIRAGE_WAYLAND_SCREENCAST_H */
