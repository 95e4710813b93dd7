/* SPDX-License-Identifier: MIT */
/*
 * What a viewer's buffered bytes say, before libvncserver reads them
 * (message.c).  Pure functions of the bytes peeked at a socket: the network
 * thread (server.c) uses them to hand libvncserver only whole messages and
 * connections whose first bytes are all there, and the RFB fuzzer
 * (fuzz/fuzz-rfb.c) runs them without a network.
 */
#ifndef MIRAGE_VNC_MESSAGE_H
#define MIRAGE_VNC_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest message the network thread waits for whole; a longer one (a
 * long cut text) or one of a type it does not know is left to libvncserver,
 * which reads it as it comes. */
#define VNC_PARTIAL_MAX 4096

/*
 * The size of the viewer's next message as far as its first `got` bytes
 * tell (got >= 1), for a viewer in libvncserver's state `state` (cl->state:
 * RFB_PROTOCOL_VERSION ... RFB_NORMAL).  A message whose header says how
 * long the rest is gives the header's size until the header is all there.
 * 0 when unknown (a type we do not know, a state we do not read, a length
 * above VNC_PARTIAL_MAX).
 */
size_t vnc_message_size(int state, const unsigned char *b, size_t got);

/* How a new connection opens (vnc_door_sniff). */
enum vnc_door {
	VNC_DOOR_WAIT,      /* not told yet: wait for more (or for silence) */
	VNC_DOOR_RFB,       /* a viewer that speaks first, "RFB " */
	VNC_DOOR_WEBSOCKET, /* "GET ", its request head all there */
	VNC_DOOR_TLS,       /* a TLS (or SSLv2) ClientHello: wss */
	VNC_DOOR_JUNK,      /* none of these, or ended before it said */
	VNC_DOOR_QUIET,     /* said nothing for a while: a plain RFB viewer
			     * (door.c's verdict; never vnc_door_sniff's) */
};

/*
 * Tells from a connection's first `got` bytes (peeked) what it is, as
 * libvncserver's WebSocket sniff will.  `ended`: the peer closed or the
 * socket failed, so no more bytes come.  A plain RFB viewer says nothing
 * until the server has: its silence is told by time, not here (WAIT with
 * got == 0).  A WebSocket request is WEBSOCKET only once its head (up to
 * the empty line, or the 4095 bytes libvncserver reads at most) is all
 * there, so that libvncserver's byte-by-byte read of it never waits.
 */
enum vnc_door vnc_door_sniff(const unsigned char *b, size_t got, bool ended);

/* The most bytes vnc_door_sniff looks at. */
#define VNC_DOOR_PEEK 4096

#endif /* MIRAGE_VNC_MESSAGE_H */
