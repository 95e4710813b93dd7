/* SPDX-License-Identifier: MIT */
/*
 * Closing WebSocket viewers safely on libvncserver 0.9.14.
 *
 * rfbCloseClient() tears down a viewer's TLS session (rfbssl_destroy:
 * gnutls_bye, gnutls_deinit) and frees cl->wspath the moment it is called,
 * from whichever thread notices the end, holding only cl->updateMutex.  It
 * leaves cl->sslctx and cl->wspath pointing at what it freed, and with the
 * threaded event loop it leaves cl->sock open, which is its only guard.  So:
 *
 *  - the viewer's input thread (clientInput) goes on after the close with
 *    `while (webSocketsHasDataInBuffer(cl))`, which asks the freed session
 *    for pending bytes (gnutls_record_check_pending); when the freed memory
 *    says "some" it reads again, fails, and calls rfbCloseClient() a second
 *    time: gnutls_deinit() of a freed session, a general protection fault
 *    in free() (seen after the first wss viewer left, mostly when malloc
 *    reuses or scrambles freed memory, e.g. meson's MALLOC_PERTURB_);
 *  - the output thread (clientOutput) may be writing through the session
 *    (rfbssl_write, under cl->outputMutex) while it is freed;
 *  - a read error and a write error at once close twice: the same double
 *    teardown, and a double free of cl->wspath for plain ws too.
 *
 * libvncserver calls every enabled protocol extension's close() first thing
 * in rfbCloseClient().  Ours takes the session and wspath out of the client
 * before libvncserver can free them, so that rfbCloseClient() (now and on
 * every later call) finds nothing to tear down.  Since cl->sslctx is then
 * NULL, a write still under way would go out in clear: the socket is shut
 * down first, so none does.  The real teardown waits for clientGoneHook,
 * which libvncserver calls once the input and output threads are gone and
 * no reference is held: the session and wspath are put back and
 * rfbCloseClient() frees them there, once.  gnutls_bye() writes to the
 * socket the session was made on; that descriptor is kept open until then
 * (the client gets a duplicate to close instead), so its number cannot go
 * to another connection meanwhile.  The socket being shut down, no close_notify
 * reaches the viewer, which sees a plain end of stream.
 *
 * (rfbssl_destroy() never frees its own context nor the DH parameters it
 * generated for the connection: a libvncserver leak we cannot reach.)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "vnc.h"

struct closed {
	struct closed *next;
	rfbClientPtr cl;
	int sock;        /* the session's socket, kept open; -1: none */
	rfbSslCtx *ssl;  /* taken out of cl->sslctx */
	char *wspath;    /* taken out of cl->wspath */
};

static pthread_mutex_t closed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct closed *closed_list;

static struct closed *find(rfbClientPtr cl, bool unlink)
{
	struct closed **p;

	for (p = &closed_list; *p; p = &(*p)->next) {
		struct closed *c = *p;

		if (c->cl != cl)
			continue;
		if (unlink)
			*p = c->next;
		return c;
	}
	return NULL;
}

/* rfbProtocolExtension.close: first thing in every rfbCloseClient(). */
static void on_close(rfbClientPtr cl, void *data)
{
	struct closed *c;
	int dup_fd = -1;

	(void)data;
	pthread_mutex_lock(&closed_lock);
	if (find(cl, false)) {
		/* Closed before: already taken out. */
		pthread_mutex_unlock(&closed_lock);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (cl->sslctx && cl->sock != RFB_INVALID_SOCKET)
		dup_fd = fcntl(cl->sock, F_DUPFD_CLOEXEC, 0);
	if (!c || (cl->sslctx && dup_fd < 0)) {
		/* Cannot defer: leave it to libvncserver, as without us. */
		pthread_mutex_unlock(&closed_lock);
		free(c);
		if (dup_fd >= 0)
			close(dup_fd);
		vnc_log("closing viewer %s: out of memory or descriptors", cl->host ? cl->host : "?");
		return;
	}
	c->cl = cl;
	c->sock = -1;
	pthread_mutex_lock(&cl->updateMutex);
	if (cl->sslctx && dup_fd >= 0) {
		/* Nothing in clear after this, and nothing more in TLS: the
		 * session may be mid-record in the output thread. */
		shutdown(cl->sock, SHUT_RDWR);
		c->sock = cl->sock;
		c->ssl = cl->sslctx;
		cl->sslctx = NULL;
		/* libvncserver closes the duplicate; c->sock stays ours. */
		cl->sock = dup_fd;
	}
	c->wspath = cl->wspath;
	cl->wspath = NULL;
	pthread_mutex_unlock(&cl->updateMutex);
	c->next = closed_list;
	closed_list = c;
	pthread_mutex_unlock(&closed_lock);
}

static rfbProtocolExtension close_guard = {
	.close = on_close,
};

/* cl->clientGoneHook: no thread of the viewer's is left, no reference. */
static void on_gone(rfbClientPtr cl)
{
	struct closed *c;

	pthread_mutex_lock(&closed_lock);
	c = find(cl, true);
	pthread_mutex_unlock(&closed_lock);
	/* Unlinked and freed here: rfbDisableExtension() would free only
	 * the data, not the list node. */
	for (rfbExtensionData **e = &cl->extensions; *e; e = &(*e)->next) {
		if ((*e)->extension == &close_guard) {
			rfbExtensionData *node = *e;

			*e = node->next;
			free(node);
			break;
		}
	}
	if (!c)
		return;
	/* rfbCloseClient() once more, this time for real: gnutls_bye (on
	 * the shut-down socket: it fails), gnutls_deinit, free(wspath). */
	cl->sslctx = c->ssl;
	cl->wspath = c->wspath;
	if (c->sock >= 0) {
		cl->sock = c->sock;
		rfbCloseClient(cl);
		close(c->sock);
	} else {
		free(cl->wspath);
	}
	cl->sslctx = NULL;
	cl->wspath = NULL;
	cl->sock = RFB_INVALID_SOCKET;
	free(c);
}

void vnc_close_guard(rfbClientPtr cl)
{
	if (!cl->wsctx && !cl->sslctx)
		return; /* plain RFB: nothing is torn down at close */
	if (rfbEnableExtension(cl, &close_guard, NULL))
		cl->clientGoneHook = on_gone;
}
