/* SPDX-License-Identifier: MIT */
/*
 * Closing viewers safely while another thread may still write to them.
 *
 * A viewer's update can be in the middle of a write on its sender thread
 * (server.c) when the viewer is closed, by the sender itself or by the
 * network thread (a read that failed, cut text that could not be written).
 * rfbCloseClient() in libvncserver's non-threaded mode closes cl->sock at
 * once, and with TLS tears down the viewer's session (rfbssl_destroy:
 * gnutls_bye, gnutls_deinit) and frees cl->wspath, holding only
 * cl->updateMutex.  A write still under way would then go to a descriptor
 * number another thread may have been given meanwhile, or through a freed
 * TLS session.
 *
 * Two threads may also close the same viewer at once (a write and a read
 * that fail together), and both would close cl->sock.
 *
 * libvncserver calls every enabled protocol extension's close() first thing
 * in rfbCloseClient().  Ours shuts the socket down (every write under way
 * fails at once, nothing more goes out) and takes the socket, the TLS
 * session and wspath out of the client, leaving cl->sock invalid, so that
 * rfbCloseClient() (now and on any later or concurrent call) finds nothing
 * to tear down.  The real teardown waits for clientGoneHook, which
 * libvncserver calls from rfbClientConnectionGone(), once no thread of ours
 * uses the viewer: the socket, the session and wspath are put back and
 * rfbCloseClient() frees them there, once.  The socket being shut down, no
 * TLS close_notify reaches the viewer, which sees a plain end of stream.
 *
 * (rfbssl_destroy() never frees its own context nor the DH parameters it
 * generated for the connection: a libvncserver leak we cannot reach.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <rfb/rfb.h>

#include "vnc.h"

struct guard {
	int sock;        /* the socket, kept open until the viewer is gone; -1 */
	rfbSslCtx *ssl;  /* taken out of cl->sslctx */
	char *wspath;    /* taken out of cl->wspath */
	bool closed;
};

/* rfbProtocolExtension.close: first thing in every rfbCloseClient(). */
static void on_close(rfbClientPtr cl, void *data)
{
	struct guard *g = data;

	pthread_mutex_lock(&cl->updateMutex);
	if (!g->closed && cl->sock != RFB_INVALID_SOCKET) {
		g->closed = true;
		shutdown(cl->sock, SHUT_RDWR);
		g->sock = cl->sock;
		cl->sock = RFB_INVALID_SOCKET;
		g->ssl = cl->sslctx;
		cl->sslctx = NULL;
		g->wspath = cl->wspath;
		cl->wspath = NULL;
	}
	pthread_mutex_unlock(&cl->updateMutex);
}

static rfbProtocolExtension close_guard = {
	.close = on_close,
};

/* cl->clientGoneHook: nothing of ours uses the viewer any more. */
static void on_gone(rfbClientPtr cl)
{
	struct guard *g = rfbGetExtensionClientData(cl, &close_guard);

	if (!g)
		return;
	/* Unlinked first, so that the rfbCloseClient() below skips us;
	 * rfbDisableExtension() frees g too, so it is kept aside. */
	for (rfbExtensionData **e = &cl->extensions; *e; e = &(*e)->next) {
		if ((*e)->extension == &close_guard) {
			rfbExtensionData *node = *e;

			*e = node->next;
			free(node);
			break;
		}
	}
	if (g->sock >= 0) {
		/* rfbCloseClient() once more, for real: gnutls_bye (on the
		 * shut-down socket: it fails), gnutls_deinit, free(wspath),
		 * close(sock). */
		cl->sock = g->sock;
		cl->sslctx = g->ssl;
		cl->wspath = g->wspath;
		rfbCloseClient(cl);
		cl->sslctx = NULL;
		cl->wspath = NULL;
	}
	free(g);
}

int vnc_close_guard(rfbClientPtr cl)
{
	struct guard *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->sock = -1;
	if (!rfbEnableExtension(cl, &close_guard, g)) {
		free(g);
		return -ENOMEM;
	}
	cl->clientGoneHook = on_gone;
	return 0;
}
