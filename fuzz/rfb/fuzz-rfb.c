/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the RFB message reader's judgement (message.c):
 * what the network thread decides from the bytes it peeks at a viewer
 * before libvncserver reads them.  A wrong size there would hand
 * libvncserver half a message (the network thread waits in its read) or
 * hold a whole one back (the viewer stalls), so beside the sanitizers the
 * target checks that the verdicts agree with themselves as more bytes come:
 *   - vnc_door_sniff: once a prefix of a connection's first bytes decides
 *     (RFB, WebSocket, TLS or junk), every longer prefix decides the same;
 *   - vnc_message_size: once a prefix holds the whole next message, every
 *     longer prefix gives the same size; a size is never below the bytes a
 *     header needs to say it.
 * Input: byte 0 picks libvncserver's client state, the rest is what the
 * viewer sent (several messages walked one after the other in RFB_NORMAL).
 */
#include <stdint.h>
#include <stdlib.h>

#include <rfb/rfb.h>

#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sniff(const uint8_t *b, size_t n)
{
	enum vnc_door first = VNC_DOOR_WAIT;

	if (n > VNC_DOOR_PEEK)
		n = VNC_DOOR_PEEK;
	for (size_t k = 0; k <= n; k++) {
		enum vnc_door d = vnc_door_sniff(b, k, false);

		if (d == VNC_DOOR_QUIET)
			abort(); /* time's verdict, never the bytes' */
		if (first == VNC_DOOR_WAIT)
			first = d;
		else if (d != first)
			abort();
		/* Ended: no more bytes come, so no waiting. */
		if (vnc_door_sniff(b, k, true) == VNC_DOOR_WAIT)
			abort();
	}
}

/* The size of the message at b (n bytes there), checked against shorter
 * prefixes; 0 when unknown. */
static size_t check_size(int state, const uint8_t *b, size_t n)
{
	size_t whole = vnc_message_size(state, b, n);

	for (size_t k = 1; k < n && k < 64; k++) {
		size_t s = vnc_message_size(state, b, k);

		if (s != 0 && s <= k && s != whole)
			abort();
	}
	return whole;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int states[] = { RFB_PROTOCOL_VERSION, RFB_SECURITY_TYPE,
				      RFB_AUTHENTICATION, RFB_INITIALISATION, RFB_NORMAL };
	int state;

	if (size < 1)
		return 0;
	state = states[data[0] % 5];
	data++;
	size--;
	check_sniff(data, size);
	if (size == 0 || vnc_message_size(state, data, 0) != 0)
		return size == 0 ? 0 : (abort(), 0);
	/* Walk the messages one after another, as libvncserver reads them. */
	for (size_t at = 0; at < size;) {
		size_t need = check_size(state, data + at, size - at);

		if (need == 0 || need > size - at)
			break;
		at += need;
		if (state != RFB_NORMAL)
			break;
	}
	return 0;
}
