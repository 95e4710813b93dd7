/* SPDX-License-Identifier: MIT */
/*
 * Viewers: copies and modified regions handed to each, updates written
 * under the replay lock when the socket takes them, else by the viewer's
 * own sender thread; flow control; a viewer let go (server.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include <mirage/client.h>

#include "door.h"
#include "message.h"
#include "replay.h"
#include "throttle.h"
#include "vnc.h"

#include "server.h"

/* ------------------------------------------------------------------ */
/* Copies to the viewers                                               */
/* ------------------------------------------------------------------ */

sraRegionPtr vnc_to_sra(pixman_region32_t *r)
{
	sraRegionPtr out = sraRgnCreate();
	int n;
	pixman_box32_t *b = pixman_region32_rectangles(r, &n);

	for (int i = 0; i < n; i++) {
		sraRegionPtr one = sraRgnCreateRect(b[i].x1, b[i].y1, b[i].x2, b[i].y2);
		sraRgnOr(out, one);
		sraRgnDestroy(one);
	}
	return out;
}

/* Marks the part of box (x, y, w, h) in cl's pending copy modified
 * (updateMutex held). */
static void modified_box(rfbClientPtr cl, int x, int y, int w, int h)
{
	sraRegionPtr r = sraRgnCreateRect(x, y, x + w, y + h);

	sraRgnAnd(r, cl->copyRegion);
	sraRgnOr(cl->modifiedRegion, r);
	sraRgnDestroy(r);
}

/*
 * Adds the copy dst (offset dx, dy) to what cl is to be sent (updateMutex
 * held): libvncserver's rfbScheduleCopyRegion for one viewer, without its
 * wake-up of threads we do not run.  A viewer keeps one pending copy: one of another
 * offset goes as pixels; so does what the new copy reads from the pending
 * one's destination, and pixels still to be sent that the copy moves (the
 * viewer has them only once they are sent).  A cursor drawn into the
 * viewer's picture (no cursor shape updates) must not be moved with it.
 */
static void copy_for(struct vnc_server *s, rfbClientPtr cl, sraRegionPtr dst, int dx, int dy)
{
	sraRegionPtr r;

	if (!cl->useCopyRect) {
		sraRgnOr(cl->modifiedRegion, dst);
		return;
	}
	if (!sraRgnEmpty(cl->copyRegion)) {
		if (cl->copyDX != dx || cl->copyDY != dy) {
			sraRgnOr(cl->modifiedRegion, cl->copyRegion);
			sraRgnMakeEmpty(cl->copyRegion);
		} else {
			r = sraRgnCreateRgn(dst);
			sraRgnOffset(r, -dx, -dy);
			sraRgnAnd(r, cl->copyRegion);
			sraRgnOr(cl->modifiedRegion, r);
			sraRgnDestroy(r);
		}
	}
	sraRgnOr(cl->copyRegion, dst);
	cl->copyDX = dx;
	cl->copyDY = dy;
	r = sraRgnCreateRgn(cl->modifiedRegion);
	sraRgnOffset(r, dx, dy);
	sraRgnAnd(r, cl->copyRegion);
	sraRgnOr(cl->modifiedRegion, r);
	sraRgnDestroy(r);
	if (!cl->enableCursorShapeUpdates && s->screen->cursor) {
		const rfbCursor *c = s->screen->cursor;
		int x = cl->cursorX - c->xhot, y = cl->cursorY - c->yhot;

		modified_box(cl, x, y, c->width, c->height);
		modified_box(cl, x + dx, y + dy, c->width, c->height);
	}
}

/*
 * The interval's composed copy, minus what is dirty anyway: moved once in
 * the framebuffer and handed to the viewers (before the pixels, which may
 * then take parts of it back: mark_modified).
 */
void vnc_viewers_copy(struct vnc_server *s)
{
	pixman_region32_t moved;
	sraRegionPtr sra;
	int dx = 0, dy = 0;
	bool any;

	if (!s->rp.has_pend)
		return;
	pixman_region32_init(&moved);
	/* cursorMutex: as in flush(). */
	pthread_mutex_lock(&s->screen->cursorMutex);
	any = vnc_replay_take_copy(&s->rp, &s->fr, &moved, &dx, &dy);
	pthread_mutex_unlock(&s->screen->cursorMutex);
	if (any) {
		pixman_region32_union(&s->touched, &s->touched, &moved);
		sra = vnc_to_sra(&moved);
		for (int i = 0; i < s->vw.n; i++) {
			rfbClientPtr cl = s->vw.list[i]->cl;

			pthread_mutex_lock(&cl->updateMutex);
			copy_for(s, cl, sra, dx, dy);
			pthread_mutex_unlock(&cl->updateMutex);
		}
		sraRgnDestroy(sra);
		s->vw.marked = true;
	}
	pixman_region32_fini(&moved);
}

/* ------------------------------------------------------------------ */
/* Viewers: serving, sender threads, the network thread                */
/* ------------------------------------------------------------------ */

void vnc_net_wake(struct vnc_server *s)
{
	uint64_t one = 1;

	if (write(s->net.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vnc_debug("waking the network thread: %s", strerror(errno));
}

/*
 * Marks region modified for every viewer (after the copy scheduled for this
 * replay, so it is sent after it).  libvncserver would drop the modified
 * part inside a pending copy's destination, as if the copy came last; our
 * changes come after the copies, so that part is taken out of the copy.  A
 * viewer whose sender is writing may have encoded from pixels this replay
 * was changing: it gets everything the replay wrote as pixels, its pending
 * copy included.  Under s->lock.
 */
void vnc_viewers_mark(struct vnc_server *s, sraRegionPtr region)
{
	sraRegionPtr touched = NULL;

	for (int i = 0; i < s->vw.n; i++) {
		struct viewer *v = s->vw.list[i];
		rfbClientPtr cl = v->cl;

		pthread_mutex_lock(&cl->updateMutex);
		sraRgnSubtract(cl->copyRegion, region);
		sraRgnOr(cl->modifiedRegion, region);
		if (v->sending) {
			if (!touched)
				touched = vnc_to_sra(&s->touched);
			sraRgnOr(cl->modifiedRegion, cl->copyRegion);
			sraRgnMakeEmpty(cl->copyRegion);
			sraRgnOr(cl->modifiedRegion, touched);
		}
		pthread_mutex_unlock(&cl->updateMutex);
	}
	if (touched)
		sraRgnDestroy(touched);
}

/* Whether some viewer's sender is writing.  Under s->lock. */
bool vnc_viewers_sending(const struct vnc_server *s)
{
	for (int i = 0; i < s->vw.n; i++) {
		if (s->vw.list[i]->sending)
			return true;
	}
	return false;
}

/* Bytes of raw pixels in r: what an update of r costs at most, about. */
static size_t raw_bytes(int fb_bytes, sraRegionPtr r)
{
	sraRectangleIterator *it = sraRgnGetIterator(r);
	sraRect rect;
	size_t n = 0;

	while (it && sraRgnIteratorNext(it, &rect))
		n += (size_t)(rect.x2 - rect.x1) * (rect.y2 - rect.y1) * fb_bytes + 16;
	sraRgnReleaseIterator(it);
	return n;
}

/* A WebSocket or TLS viewer's bytes go through framing and buffers of
 * libvncserver's own: its socket says little about its messages. */
bool vnc_viewer_plain_tcp(rfbClientPtr cl)
{
	return !cl->sslctx && !cl->wsctx && cl->sock != RFB_INVALID_SOCKET;
}

/* Bytes a plain TCP viewer's socket takes now without waiting; 0 when it
 * cannot be measured. */
static size_t room(rfbClientPtr cl)
{
	int queued = 0, sndbuf = 0;
	socklen_t len = sizeof(sndbuf);

	if (ioctl(cl->sock, SIOCOUTQ, &queued) < 0 || queued < 0 ||
	    getsockopt(cl->sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0 || sndbuf < 0)
		return 0;
	/* The kernel reports twice the payload it takes (bookkeeping). */
	return (size_t)queued < (size_t)sndbuf / 2 ? (size_t)sndbuf / 2 - (size_t)queued : 0;
}

/*
 * True when bytes more can be written to the viewer's socket without
 * waiting: a plain TCP connection whose send queue has that much room to
 * spare.
 */
#define SMALL_UPDATE 2048
static bool has_room(rfbClientPtr cl, size_t bytes)
{
	int queued = 0;

	if (!vnc_viewer_plain_tcp(cl) || ioctl(cl->sock, SIOCOUTQ, &queued) < 0)
		return false;
	/* No send buffer is smaller than SOCK_MIN_SNDBUF (4.6 KB): an empty
	 * queue takes a small update whatever the size now. */
	if (queued == 0 && bytes <= SMALL_UPDATE)
		return true;
	return bytes < room(cl);
}

/*
 * Writes cl's pending update (region: its modified region); may block.
 * Corked when it may not fit libvncserver's buffer (raw: its estimate):
 * then libvncserver writes it in pieces, and one segment instead of several
 * costs both ends less.  An update that fits goes in one write anyway.
 */
static void send_update(rfbClientPtr cl, sraRegionPtr region, size_t raw)
{
	bool cork = vnc_viewer_plain_tcp(cl) && raw > UPDATE_BUF_SIZE;

	pthread_mutex_lock(&cl->sendMutex);
	if (cork)
		setsockopt(cl->sock, IPPROTO_TCP, TCP_CORK, &(int){ 1 }, sizeof(int));
	rfbSendFramebufferUpdate(cl, region);
	if (cork && cl->sock != RFB_INVALID_SOCKET)
		setsockopt(cl->sock, IPPROTO_TCP, TCP_CORK, &(int){ 0 }, sizeof(int));
	pthread_mutex_unlock(&cl->sendMutex);
}

/* The viewer's modified region when it asked for an update and one is due
 * (NULL otherwise). */
static sraRegionPtr update_due(rfbClientPtr cl)
{
	sraRegionPtr r = NULL;

	if (cl->sock == RFB_INVALID_SOCKET)
		return NULL;
	pthread_mutex_lock(&cl->updateMutex);
	if (cl->state == RFB_NORMAL && !cl->onHold && !sraRgnEmpty(cl->requestedRegion) &&
	    FB_UPDATE_PENDING(cl))
		r = sraRgnCreateRgn(cl->modifiedRegion);
	pthread_mutex_unlock(&cl->updateMutex);
	return r;
}

static void *sender_main(void *data);

/* Whether an update waits for the viewer's request, or a request for its
 * update. */
static bool update_or_request_waits(rfbClientPtr cl)
{
	bool waits;

	pthread_mutex_lock(&cl->updateMutex);
	waits = !sraRgnEmpty(cl->requestedRegion) || FB_UPDATE_PENDING(cl);
	pthread_mutex_unlock(&cl->updateMutex);
	return waits;
}

/*
 * Whole messages only.  libvncserver reads a viewer's message to its end,
 * waiting seconds for the rest (rfbMaxClientWait; 5 s seen here), and the
 * network thread reads every viewer: one that sent half a message would hold up
 * the input of all of them.  So before it reads a plain TCP viewer, the
 * network thread peeks at what came, and when a message is not all there
 * (vnc_message_size, message.c) it raises SO_RCVLOWAT to the message's
 * size (or to its header's, when the header says how long the rest is)
 * and reads nobody's message yet: the socket turns readable once the rest
 * is there, or the viewer hangs up, and then the rest never comes: the
 * viewer is read as it is, and libvncserver closes it at the end of its
 * stream.  A message of a type we do not know, or longer than
 * VNC_PARTIAL_MAX (a long cut text), is read as libvncserver reads it.
 */

/*
 * Requests without a wake-up.  A viewer answers each update with its next
 * FramebufferUpdateRequest (10 bytes), and waking the network thread only
 * to read it costs as much CPU as the rest of a small update.  So after an
 * update, the socket's SO_RCVLOWAT is raised above the size of a request:
 * a lone request does not make the socket readable, and the next flush
 * reads it (take_requests) just before it is needed.  Input comes at once
 * all the same: a key or pointer event after the request makes the socket
 * readable, and the network thread, once woken, lowers it again to read
 * everything.  Plain TCP viewers only: a WebSocket or TLS viewer's bytes
 * are framed.
 */
#define REQUEST_LOWAT (sz_rfbFramebufferUpdateRequestMsg + 1)

/* Sets the viewer's SO_RCVLOWAT; whether it took val (the kernel caps it
 * at half the receive buffer).  Under s->lock. */
bool vnc_viewer_set_rcvlowat(struct viewer *v, int val)
{
	rfbClientPtr cl = v->cl;
	int got = 0;
	socklen_t len = sizeof(got);

	if (v->rcvlowat == val)
		return true;
	if (!vnc_viewer_plain_tcp(cl) || setsockopt(cl->sock, SOL_SOCKET, SO_RCVLOWAT, &val, sizeof(val)) < 0)
		return false;
	/* The kernel caps it at half the receive buffer, never below 1 KB. */
	if (val <= REQUEST_LOWAT)
		got = val;
	else if (getsockopt(cl->sock, SOL_SOCKET, SO_RCVLOWAT, &got, &len) < 0)
		got = 1;
	v->rcvlowat = got;
	return got == val;
}

/* Raises or lowers the viewer's SO_RCVLOWAT for its requests, unless it
 * waits for the end of a message (the network thread's).  Under s->lock. */
void vnc_viewer_set_lowat(struct viewer *v, bool raise)
{
	if (!v->partial)
		vnc_viewer_set_rcvlowat(v, raise ? REQUEST_LOWAT : 1);
}

/*
 * Reads the requests (and key events) that wait below the viewer's
 * SO_RCVLOWAT, whole messages only; anything else is left to the network
 * thread, woken by lowering SO_RCVLOWAT.  Under s->lock.
 */
static void take_requests(struct viewer *v)
{
	rfbClientPtr cl = v->cl;
	unsigned char buf[64];
	ssize_t got;

	if (v->rcvlowat != REQUEST_LOWAT || v->partial ||
	    pthread_mutex_trylock(&v->read_lock) != 0)
		return; /* nothing waits, or the network thread reads it now */
	got = recv(cl->sock, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	for (ssize_t at = 0; at < got && cl->sock != RFB_INVALID_SOCKET;) {
		ssize_t need = 0;

		if (buf[at] == rfbFramebufferUpdateRequest || buf[at] == rfbKeyEvent)
			need = (ssize_t)vnc_message_size(cl->state, buf + at, (size_t)(got - at));
		if (need == 0 || got - at < need) {
			vnc_viewer_set_lowat(v, false);
			break;
		}
		rfbProcessClientMessage(cl);
		at += need;
		if (at == (ssize_t)sizeof(buf))
			vnc_viewer_set_lowat(v, false); /* there may be more */
	}
	pthread_mutex_unlock(&v->read_lock);
}

/* Whether libvncserver draws the cursor into the framebuffer for cl's
 * updates (a viewer without cursor shape updates). */
static bool draws_cursor(const struct vnc_server *s, rfbClientPtr cl)
{
	return !cl->enableCursorShapeUpdates && s->screen->cursor;
}

/*
 * The top rows of region r whose raw pixels take at most three quarters of
 * space bytes (an encoding may come out larger than its estimate), or NULL
 * when not one row does.
 */
static sraRegionPtr fit_band(const struct vnc_server *s, sraRegionPtr r, size_t space)
{
	sraRectangleIterator *it = sraRgnGetIterator(r);
	int x1 = INT32_MAX, y1 = INT32_MAX, x2 = INT32_MIN;
	size_t rects = 0, row, budget = space / 4 * 3;
	sraRegionPtr band;
	sraRect rect;

	while (it && sraRgnIteratorNext(it, &rect)) {
		x1 = rect.x1 < x1 ? rect.x1 : x1;
		y1 = rect.y1 < y1 ? rect.y1 : y1;
		x2 = rect.x2 > x2 ? rect.x2 : x2;
		rects++;
	}
	sraRgnReleaseIterator(it);
	row = (size_t)(x2 - x1) * (size_t)s->fr.fb_bytes;
	if (rects == 0 || row == 0 || budget <= 16 * rects + row)
		return NULL;
	band = sraRgnCreateRect(x1, y1, x2, y1 + (int)((budget - 16 * rects) / row));
	sraRgnAnd(band, r);
	return band;
}

/*
 * A viewer that gets the cursor drawn in.  libvncserver draws it into the
 * framebuffer every viewer is encoded from, sends, and only then takes it
 * out again: a write that waited in between (a viewer that stopped
 * reading) would leave it in every other viewer's picture, and the pixels
 * the main thread read meanwhile under it would be put back stale.  So
 * such a viewer is sent only what its socket takes at once, here, under
 * s->lock, as nobody changes the framebuffer: a band of the update when
 * the whole does not fit (the rest goes at its next request), and nothing
 * while its socket is full: the network thread waits for room (out_wait)
 * and drops the viewer after maxClientWait.  A sender thread of another
 * viewer may encode meanwhile: it gets the cursor's area again.  Plain TCP
 * viewers only (the others' sockets cannot be measured).
 */
static void serve_drawn(struct vnc_server *s, struct viewer *v, sraRegionPtr r, size_t raw)
{
	rfbClientPtr cl = v->cl;
	sraRegionPtr band = NULL;

	if (!has_room(cl, raw)) {
		band = fit_band(s, r, room(cl));
		if (!band || sraRgnEmpty(band)) {
			if (band)
				sraRgnDestroy(band);
			if (!v->out_wait) {
				v->out_wait = true;
				v->out_since = vnc_now_ms();
				vnc_net_wake(s); /* to poll it for room */
			}
			return;
		}
		r = band;
		raw = raw_bytes(s->fr.fb_bytes, band);
	}
	v->out_wait = false;
	vnc_viewer_set_lowat(v, true);
	send_update(cl, r, raw);
	for (int i = 0; i < s->vw.n; i++) {
		if (s->vw.list[i] != v && s->vw.list[i]->sending)
			vnc_cursor_box_modified(s->vw.list[i]->cl, s->screen->cursor, cl->cursorX,
					    cl->cursorY);
	}
	if (update_or_request_waits(cl))
		vnc_viewer_set_lowat(v, false);
	if (band)
		sraRgnDestroy(band);
}

/*
 * Sends the viewer its update if it asked for one and one is due: from this
 * thread when the socket takes the whole of it at once (under s->lock, so
 * nothing changes the framebuffer meanwhile), else from the viewer's sender
 * thread, so that a viewer that stopped reading never makes anyone else
 * wait.  Under s->lock.
 */
void vnc_viewer_serve(struct vnc_server *s, struct viewer *v)
{
	sraRegionPtr r;
	size_t raw;

	if (v->sending || v->stop)
		return;
	take_requests(v);
	if (!(r = update_due(v->cl))) {
		v->out_wait = false; /* nothing waits for room */
		/* The next message must wake the network thread. */
		if (v->rcvlowat == REQUEST_LOWAT && update_or_request_waits(v->cl))
			vnc_viewer_set_lowat(v, false);
		return;
	}
	raw = raw_bytes(s->fr.fb_bytes, r);
	if (draws_cursor(s, v->cl) && vnc_viewer_plain_tcp(v->cl)) {
		serve_drawn(s, v, r, raw);
	} else if (has_room(v->cl, raw)) {
		/* Raised before the update goes: the viewer's request for
		 * the next one comes back sooner than a system call. */
		vnc_viewer_set_lowat(v, true);
		send_update(v->cl, r, raw);
		/* More may be due already (a DesktopSize goes alone): then
		 * its request must wake us. */
		if (update_or_request_waits(v->cl))
			vnc_viewer_set_lowat(v, false);
	} else {
		vnc_viewer_set_lowat(v, false);
		if (!v->has_thread) {
			int ret = pthread_create(&v->thread, NULL, sender_main, v);

			if (ret != 0) {
				vnc_log("viewer %s: no sender thread (%s): dropped",
					v->cl->host ? v->cl->host : "?", strerror(ret));
				rfbCloseClient(v->cl);
				vnc_net_wake(s);
				sraRgnDestroy(r);
				return;
			}
			v->has_thread = true;
		}
		v->sending = true;
		pthread_cond_signal(&v->cond);
	}
	sraRgnDestroy(r);
}

/*
 * A viewer's sender thread: writes the updates its socket could not take at
 * once, without s->lock.  The main thread may change the framebuffer
 * meanwhile; mark_modified sends such a viewer again whatever the replays
 * wrote, which repairs anything encoded half-written.
 */
static void *sender_main(void *data)
{
	struct viewer *v = data;
	struct vnc_server *s = v->s;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!v->sending && !v->stop)
			pthread_cond_wait(&v->cond, &s->lock);
		if (v->stop)
			break;
		sraRegionPtr r = update_due(v->cl);

		pthread_mutex_unlock(&s->lock);
		if (r) {
			send_update(v->cl, r, 0);
			sraRgnDestroy(r);
		}
		pthread_mutex_lock(&s->lock);
		v->sending = false;
		/* A request read meanwhile may be due at once; the network
		 * thread reads the viewer again (or lets it go) either way. */
		vnc_viewer_serve(s, v);
		vnc_net_wake(s);
	}
	v->sending = false;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Sends the update to each viewer that asked for one.  Under s->lock. */
void vnc_viewers_serve(struct vnc_server *s)
{
	for (int i = 0; i < s->vw.n; i++)
		vnc_viewer_serve(s, s->vw.list[i]);
}

/*
 * Stops a viewer's sender, closes the viewer (if it is not yet) and frees
 * it: from the network thread, or at the end once that thread is gone.
 */
void vnc_viewer_let_go(struct vnc_server *s, struct viewer *v)
{
	rfbClientPtr cl = v->cl;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->vw.n; i++) {
		if (s->vw.list[i] == v) {
			s->vw.list[i] = s->vw.list[--s->vw.n];
			break;
		}
	}
	v->stop = true;
	/* A write under way ends at once. */
	if (v->sending && cl->sock != RFB_INVALID_SOCKET)
		shutdown(cl->sock, SHUT_RDWR);
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&s->lock);
	if (v->has_thread)
		pthread_join(v->thread, NULL);
	vnc_debug("viewer %s gone", cl->host ? cl->host : "?");
	if (cl->sock != RFB_INVALID_SOCKET)
		rfbCloseClient(cl);
	rfbClientConnectionGone(cl);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->read_lock);
	free(v);
}

/* Cut text the X thread left for the viewers (network thread). */
void vnc_viewers_send_cut_text(struct vnc_server *s)
{
	char *utf8, *latin1;
	int len, latin1_len;

	pthread_mutex_lock(&s->cut.lock);
	utf8 = s->cut.utf8;
	latin1 = s->cut.latin1;
	len = s->cut.len;
	latin1_len = s->cut.latin1_len;
	s->cut.utf8 = s->cut.latin1 = NULL;
	pthread_mutex_unlock(&s->cut.lock);
	if (!utf8)
		return;
	/* Blocks at most maxClientWait for a viewer that stopped reading. */
	rfbSendServerCutTextUTF8(s->screen, utf8, len, latin1, latin1_len);
	free(utf8);
	free(latin1);
}

