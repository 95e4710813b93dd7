/* SPDX-License-Identifier: MIT */
/*
 * What a viewer's buffered bytes say (message.h).  Nothing here reads a
 * socket: the callers peek, these functions judge what was peeked.
 */
#include <stdint.h>
#include <string.h>

#include <rfb/rfb.h>

#include "message.h"

size_t vnc_message_size(int state, const unsigned char *b, size_t got)
{
	uint32_t len;

	if (got == 0)
		return 0;
	switch (state) {
	case RFB_PROTOCOL_VERSION:
		return sz_rfbProtocolVersionMsg;
	case RFB_SECURITY_TYPE:
		return 1;
	case RFB_AUTHENTICATION:
		return CHALLENGESIZE; /* VNC authentication, our only one */
	case RFB_INITIALISATION:
		return sz_rfbClientInitMsg;
	case RFB_NORMAL:
		break;
	default:
		return 0;
	}
	switch (b[0]) {
	case rfbSetPixelFormat:
		return sz_rfbSetPixelFormatMsg;
	case rfbSetEncodings:
		if (got < sz_rfbSetEncodingsMsg)
			return sz_rfbSetEncodingsMsg;
		return sz_rfbSetEncodingsMsg + 4 * (size_t)(b[2] << 8 | b[3]);
	case rfbFramebufferUpdateRequest:
		return sz_rfbFramebufferUpdateRequestMsg;
	case rfbKeyEvent:
		return sz_rfbKeyEventMsg;
	case rfbPointerEvent:
		return sz_rfbPointerEventMsg;
	case rfbClientCutText:
		if (got < sz_rfbClientCutTextMsg)
			return sz_rfbClientCutTextMsg;
		/* A negative length is the extended clipboard's. */
		len = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
		if (len & 0x80000000u)
			len = -len;
		return len > VNC_PARTIAL_MAX ? 0 : sz_rfbClientCutTextMsg + (size_t)len;
	case rfbSetDesktopSize:
		if (got < sz_rfbSetDesktopSizeMsg)
			return sz_rfbSetDesktopSizeMsg;
		return sz_rfbSetDesktopSizeMsg + sz_rfbExtDesktopScreen * (size_t)b[6];
	default:
		return 0;
	}
}

/* Whether the got bytes at b hold an empty line ("\r\n\r\n"). */
static bool has_head_end(const unsigned char *b, size_t got)
{
	for (size_t i = 3; i < got; i++) {
		if (b[i - 3] == '\r' && b[i - 2] == '\n' && b[i - 1] == '\r' && b[i] == '\n')
			return true;
	}
	return false;
}

enum vnc_door vnc_door_sniff(const unsigned char *b, size_t got, bool ended)
{
	/* libvncserver decides from exactly four bytes: fewer, and it would
	 * wait for the rest with the network thread (and spin once the peer
	 * has closed: its peek keeps returning what is there). */
	if (got < 4)
		return ended ? VNC_DOOR_JUNK : VNC_DOOR_WAIT;
	if (memcmp(b, "RFB ", 4) == 0)
		return VNC_DOOR_RFB;
	if (b[0] == 0x16 || b[0] == 0x80)
		return VNC_DOOR_TLS;
	if (memcmp(b, "GET ", 4) != 0)
		return VNC_DOOR_JUNK;
	/* libvncserver reads the head a byte at a time, up to the empty line
	 * or 4095 bytes, waiting for each: have it all there first. */
	if (has_head_end(b, got) || got >= VNC_DOOR_PEEK - 1)
		return VNC_DOOR_WEBSOCKET;
	return ended ? VNC_DOOR_JUNK : VNC_DOOR_WAIT;
}
