/* SPDX-License-Identifier: MIT */
/*
 * The door: new connections wait here, in the network thread's own poll
 * loop, until their first bytes say what they are (door.c).
 *
 * libvncserver's rfbNewClient() sniffs a connection for WebSocket and TLS
 * by waiting up to 100 ms for its first four bytes, with the calling thread:
 * fewer bytes and a close make it spin for good (its peek keeps returning
 * the same bytes), a WebSocket request trickled in holds it a byte at a
 * time.  So a connection reaches rfbNewClient() only once that sniff
 * cannot wait: its four bytes (and a WebSocket request's whole head) are
 * there, or it stayed quiet, as a plain RFB viewer does until the server
 * has spoken.  One that ends, says something else, or stops halfway is
 * closed here.  Network thread only.
 */
#ifndef MIRAGE_VNC_DOOR_H
#define MIRAGE_VNC_DOOR_H

#include <poll.h>
#include <stdint.h>

#include "message.h"

/* Connections at the door at once; a new one beyond closes the oldest. */
#define VNC_DOORS_MAX 16
/* Quiet this long: a plain RFB viewer (libvncserver's own wait). */
#define VNC_DOOR_QUIET_MS 100
/* A connection that started to talk has this long to say what it is. */
#define VNC_DOOR_MS 3000

struct vnc_door_conn {
	int fd;
	int64_t since;   /* accepted at (ms, CLOCK_MONOTONIC) */
	int lowat;       /* its SO_RCVLOWAT: readable again once more came */
	char host[64];   /* numeric address, for messages */
};

struct vnc_doors {
	struct vnc_door_conn conn[VNC_DOORS_MAX];
	int n;
};

/* Takes fd (accepted, non-blocking) in at now; closes the oldest when full. */
void vnc_doors_add(struct vnc_doors *d, int fd, int64_t now);
/* Adds a pollfd per connection to fds (room for VNC_DOORS_MAX); the count. */
int vnc_doors_fill(const struct vnc_doors *d, struct pollfd *fds);
/* Milliseconds until the next connection's time is up (-1: none waits). */
int vnc_doors_timeout(const struct vnc_doors *d, int64_t now);
/*
 * Looks at every connection (fds: what vnc_doors_fill filled, polled) and
 * closes those that ended or said something else.  Returns a connection
 * that may go to libvncserver, taken off the list (*kind: VNC_DOOR_QUIET,
 * _RFB, _WEBSOCKET or _TLS), or -1 when none is ready yet.  Call until -1.
 */
int vnc_doors_next(struct vnc_doors *d, const struct pollfd *fds, int nfds, int64_t now,
		   enum vnc_door *kind, char *host, size_t host_len);
/* Closes every connection still at the door. */
void vnc_doors_finish(struct vnc_doors *d);

#endif /* MIRAGE_VNC_DOOR_H */
