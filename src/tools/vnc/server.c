/* SPDX-License-Identifier: MIT */
/*
 * The mirror followed into an RFB screen.
 *
 * Only change records say what to send.  Per pacing interval the main thread
 * drains the ring and replays it on its framebuffer copy:
 *
 *  - drawing records add their rect to `dirty` (what must be re-read from
 *    the surface);
 *  - SCREEN_SCREEN is composed into the interval's one copy (`pend`, see
 *    compose_copy: what a chain of copies moved by their summed offset)
 *    and moves the part of `dirty` that lay in its source along with it;
 *    whatever else a copy wrote joins `dirty`.  The framebuffer's pixels
 *    move once, at the flush, and the copy goes to the viewers as one
 *    CopyRect: an x11perf -scroll500 burst of a thousand copies costs one
 *    move, not a thousand.
 *
 * The surface runs ahead of the records we have read (the producer renders
 * first, publishes later), so a copy can move pixels that were already
 * newer than the copy.  After the move the copy destinations are compared
 * with the surface and what differs joins `dirty`: the result is exact, and
 * the comparison costs only the copied area.  Then `dirty` is read from the
 * surface, the blocks that changed are marked modified (read_dirty), and
 * each viewer that asked for an update is sent it (serve).
 *
 * Threads.  libvncserver runs in its non-threaded mode: one network thread
 * accepts viewers and reads their messages.  An update is encoded straight
 * from the framebuffer, so it is written under s->lock, which every replay
 * holds: by the main thread after a flush, or by the network thread when a
 * viewer's request comes after its update was ready.  That way no encode
 * overlaps a change of the framebuffer, and copies and modified regions
 * reach each viewer in the order they happened.  Only an update the
 * viewer's socket takes whole is written under the lock, so a viewer that
 * stopped reading never makes the mirror or the other viewers wait; a larger
 * one (a first picture too big for the socket; every update of a TLS or
 * WebSocket viewer, whose socket cannot be measured) goes to a sender
 * thread of the viewer's own, which writes without the lock.  The main
 * thread may then change pixels that sender is encoding: while a viewer's
 * sender runs, it gets no CopyRect, and whatever each replay wrote is marked
 * modified for it, which repairs anything it read half-written.
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
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

static void set_format(struct vnc_server *s)
{
	rfbPixelFormat *f = &s->screen->serverFormat;

	f->trueColour = TRUE;
	f->bigEndian = FALSE;
	if (s->fr.fb_bytes == 4) {
		f->bitsPerPixel = 32;
		f->depth = 24;
		f->redMax = f->greenMax = f->blueMax = 255;
		f->redShift = 16;
		f->greenShift = 8;
		f->blueShift = 0;
	} else {
		f->bitsPerPixel = 16;
		f->depth = 16;
		f->redMax = 31;
		f->greenMax = 63;
		f->blueMax = 31;
		f->redShift = 11;
		f->greenShift = 5;
		f->blueShift = 0;
	}
}

/* Works out what to serve from the surface header: all of it or a monitor. */
static int pick_geometry(struct vnc_server *s, int *w, int *h)
{
	const struct mirage_surface_header *sh = mirage_client_surface(s->mc);
	struct mirage_monitor mon[MIRAGE_MONITORS_MAX];

	if (sh->bpp == 0 || !mirage_client_pixels(s->mc)) {
		vnc_log("mirror has no surface (Cap.DfbBackingMode=0): nothing to serve");
		return -ENODATA;
	}
	if (sh->bpp != 16 && sh->bpp != 24 && sh->bpp != 32) {
		vnc_log("mirror surface has %u bpp: not supported", sh->bpp);
		return -ENOTSUP;
	}
	s->fr.src_bpp = sh->bpp;
	s->fr.fb_bytes = sh->bpp == 16 ? 2 : 4;
	s->fr.ox = s->fr.oy = 0;
	*w = sh->width;
	*h = sh->height;
	if (s->opt->monitor >= 0) {
		int n = mirage_client_monitors(s->mc, mon);

		if (s->opt->monitor >= n) {
			vnc_log("--monitor %d: the mirror has %d monitor%s", s->opt->monitor, n,
				n == 1 ? "" : "s");
			return -ENOENT;
		}
		const struct mirage_rect *r = &mon[s->opt->monitor].rect;
		if (r->right <= r->left || r->bottom <= r->top) {
			vnc_log("--monitor %d: empty rectangle", s->opt->monitor);
			return -ENOENT;
		}
		s->fr.ox = r->left;
		s->fr.oy = r->top;
		*w = r->right - r->left;
		*h = r->bottom - r->top;
	}
	return 0;
}

/*
 * rfbNewFramebuffer() over our viewer list (libvncserver's is the network
 * thread's): a new size and format, everything modified, and a
 * DesktopSize to the viewers that support it.  Each viewer's sendMutex
 * keeps its sender's encode out meanwhile.
 */
static void new_framebuffer(struct vnc_server *s, uint8_t *fb, int w, int h)
{
	rfbScreenInfoPtr sc = s->screen;
	rfbPixelFormat old = sc->serverFormat;

	for (int i = 0; i < s->vw.n; i++)
		pthread_mutex_lock(&s->vw.list[i]->cl->sendMutex);
	pthread_mutex_lock(&sc->cursorMutex);
	sc->width = w;
	sc->height = h;
	sc->bitsPerPixel = sc->depth = 8 * s->fr.fb_bytes;
	sc->paddedWidthInBytes = w * s->fr.fb_bytes;
	sc->frameBuffer = (char *)fb;
	set_format(s);
	if (sc->cursorX >= w)
		sc->cursorX = w - 1;
	if (sc->cursorY >= h)
		sc->cursorY = h - 1;
	for (int i = 0; i < s->vw.n; i++) {
		rfbClientPtr cl = s->vw.list[i]->cl;

		if (memcmp(&old, &sc->serverFormat, sizeof(old)) != 0)
			sc->setTranslateFunction(cl);
		pthread_mutex_lock(&cl->updateMutex);
		sraRgnDestroy(cl->modifiedRegion);
		cl->modifiedRegion = sraRgnCreateRect(0, 0, w, h);
		sraRgnMakeEmpty(cl->copyRegion);
		cl->copyDX = cl->copyDY = 0;
		if (cl->useNewFBSize)
			cl->newFBSizePending = TRUE;
		pthread_mutex_unlock(&cl->updateMutex);
		pthread_mutex_unlock(&cl->sendMutex);
	}
	pthread_mutex_unlock(&sc->cursorMutex);
}

/* (Re)allocates the framebuffer for the current pipe and refreshes it all. */
static int setup_framebuffer(struct vnc_server *s)
{
	int w, h, ret;
	uint8_t *fb;

	ret = pick_geometry(s, &w, &h);
	if (ret < 0)
		return ret;
	s->generation = mirage_client_surface(s->mc)->generation;
	if (s->fr.fb && w == s->fr.w && h == s->fr.h &&
	    s->screen->serverFormat.bitsPerPixel == s->fr.fb_bytes * 8) {
		pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0, (unsigned)w, (unsigned)h);
		return 0;
	}
	fb = calloc((size_t)w * h, (size_t)s->fr.fb_bytes);
	if (!fb) {
		vnc_log("framebuffer of %dx%d: out of memory", w, h);
		return -ENOMEM;
	}
	if (!s->screen) {
		int argc = 1;
		char *argv[] = { (char *)VNC_PROG, NULL };

		s->screen = rfbGetScreen(&argc, argv, w, h, 8, 3, s->fr.fb_bytes);
		if (!s->screen) {
			free(fb);
			vnc_log("rfbGetScreen failed");
			return -ENOMEM;
		}
		s->screen->frameBuffer = (char *)fb;
	} else {
		/* Viewer threads may be encoding from the old buffer right now:
		 * keep it one generation longer. */
		free(s->old_fb);
		s->old_fb = s->fr.fb;
		new_framebuffer(s, fb, w, h);
	}
	s->fr.fb = fb;
	s->fr.w = w;
	s->fr.h = h;
	set_format(s);
	pixman_region32_fini(&s->rp.dirty);
	pixman_region32_init_rect(&s->rp.dirty, 0, 0, (unsigned)w, (unsigned)h);
	pixman_region32_clear(&s->rp.copied);
	pixman_region32_init_rect(&s->rp.unsure, 0, 0, (unsigned)w, (unsigned)h);
	vnc_debug("serving %dx%d (surface %u bpp, origin %d,%d)", w, h, s->fr.src_bpp, s->fr.ox, s->fr.oy);
	return 0;
}

static void log_quiet(const char *fmt, ...)
{
	(void)fmt;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static int read_password(struct vnc_server *s, const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		int err = errno;
		vnc_log("--password-file %s: %s", path, strerror(err));
		return -err;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0) {
		vnc_log("--password-file %s: empty password", path);
		return -EINVAL;
	}
	/* VNC authentication uses the first 8 characters only. */
	if (n > 8)
		vnc_log("--password-file %s: only the first 8 characters count (VNC authentication)", path);
	s->passwords[0] = strdup(buf);
	s->passwords[1] = NULL;
	explicit_bzero(buf, sizeof(buf));
	return s->passwords[0] ? 0 : -ENOMEM;
}

static int take_manager_role(struct vnc_server *s)
{
	int ret;

	if (s->opt->no_attach)
		return 0;
	ret = mirage_client_attach(s->mc, 0);
	if (ret == -EBUSY) {
		/* Someone else manages the mirror: serve whatever it mirrors. */
		vnc_log("%s; serving without it", mirage_last_error());
		return 0;
	}
	if (ret < 0) {
		vnc_log("attach: %s", mirage_last_error());
		return ret;
	}
	s->manager = true;
	return 0;
}

int vnc_server_create(struct vnc_server **out, const struct vnc_options *opt,
		      struct vnc_input *input)
{
	struct vnc_server *s;
	bool loopback;
	struct in_addr addr;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opt = opt;
	s->input = input;
	s->net.wake_fd = -1;
	s->net.stand_in = s->net.stand_in_for = -1;
	/* libvncserver logs every connection to stderr; only with -vv. */
	if (opt->verbose < 2) {
		rfbLog = log_quiet;
		rfbErr = log_quiet;
	}
	vnc_replay_init(&s->rp);
	pixman_region32_init(&s->touched);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->cut.lock, NULL);
	s->net.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->net.wake_fd < 0) {
		ret = -errno;
		vnc_log("eventfd: %s", strerror(errno));
		goto fail;
	}

	if (inet_pton(AF_INET, opt->listen_addr, &addr) != 1) {
		vnc_log("--listen %s: not an IPv4 address", opt->listen_addr);
		ret = -EINVAL;
		goto fail;
	}
	loopback = (ntohl(addr.s_addr) >> 24) == 127;
	if (opt->password_file) {
		struct vnc_throttle_params tp;

		ret = read_password(s, opt->password_file);
		if (ret == 0)
			ret = vnc_throttle_params_from_env(&tp);
		if (ret == 0)
			ret = vnc_throttle_create(&s->auth_fails, &tp, "viewer");
		if (ret < 0)
			goto fail;
	} else if (!loopback && !opt->insecure) {
		vnc_log("refusing to listen on %s without a password (--password-file, or --insecure)",
			opt->listen_addr);
		ret = -EPERM;
		goto fail;
	}

	ret = mirage_client_connect(&s->mc, opt->mirror);
	if (ret < 0) {
		vnc_log("%s", mirage_last_error());
		goto fail;
	}
	ret = take_manager_role(s);
	if (ret < 0)
		goto fail;
	if (opt->set && mirage_client_settings_set(s->mc, opt->set) < 0) {
		vnc_log("--set: %s", mirage_last_error());
		ret = -EINVAL;
		goto fail;
	}
	if (opt->set) {
		/* A setting may have made a new pipe (ForcedBpp, backing mode). */
		ret = mirage_client_reconnect(s->mc);
		if (ret < 0) {
			vnc_log("%s", mirage_last_error());
			goto fail;
		}
	}
	ret = setup_framebuffer(s);
	if (ret < 0)
		goto fail;


	s->screen->screenData = s;
	s->screen->desktopName = opt->mirror;
	s->screen->port = opt->port;
	s->screen->ipv6port = opt->port;
	s->screen->autoPort = FALSE;
	s->screen->listenInterface = addr.s_addr;
	/* IPv6 only on the loopback, and only when IPv4 is on the loopback too. */
	s->screen->listen6Interface = loopback ? "::1" : "::ffff:0.0.0.1";
	s->screen->alwaysShared = TRUE;
	s->screen->deferUpdateTime = 0; /* our own pacing already coalesced */
	s->screen->handleEventsEagerly = TRUE;
	s->screen->ignoreSIGPIPE = TRUE;
	s->screen->cursor = NULL;
	vnc_net_hook(s);
	/* libvncserver's own HTTP server is never serviced by its threaded
	 * event loop: http.c serves noVNC instead.  WebSockets (noVNC) are
	 * accepted on the RFB port itself. */
	s->screen->httpDir = NULL;
	s->screen->httpPort = 0;
	s->screen->http6Port = 0;
	/*
	 * With a certificate, a connection that opens with a TLS ClientHello
	 * is WebSocket over TLS (wss); plain RFB and ws stay available, as
	 * libvncserver decides per connection from its first bytes.
	 */
	if (s->opt->tls_cert) {
		s->screen->sslcertfile = (char *)s->opt->tls_cert;
		s->screen->sslkeyfile = (char *)s->opt->tls_key;
	}
	/* A viewer that stops reading is dropped after this long. */
	s->screen->maxClientWait = 5000;

	rfbInitServer(s->screen);
	if (s->screen->listenSock == RFB_INVALID_SOCKET) {
		vnc_log("cannot listen on %s:%d: %s", opt->listen_addr, opt->port, strerror(errno));
		ret = -EADDRINUSE;
		goto fail;
	}
	vnc_cursor_update_shape(s);
	ret = pthread_create(&s->net.thread, NULL, vnc_net_main, s);
	if (ret != 0) {
		vnc_log("network thread: %s", strerror(ret));
		ret = -ret;
		goto fail;
	}
	s->net.started = true;
	*out = s;
	return 0;
fail:
	vnc_server_destroy(s);
	return ret;
}

/*
 * Reads dirty from the surface, marks it for the viewers and sends the
 * viewers that asked for one their update.  Under s->lock.
 */
static void flush(struct vnc_server *s)
{
	const struct mirage_surface_header *sh = mirage_client_surface(s->mc);
	pixman_region32_t changed;
	sraRegionPtr sra;

	s->fr.src = mirage_client_pixels(s->mc);
	s->fr.src_stride = sh ? sh->stride : 0;
	vnc_viewers_copy(s);
	vnc_replay_verify(&s->rp, &s->fr);
	/* cursorMutex: a sender of a viewer without cursor shape updates
	 * may be drawing the cursor into the framebuffer (rfbShowCursor). */
	pthread_mutex_lock(&s->screen->cursorMutex);
	int64_t token = mirage_client_pixels_begin(s->mc);
	pixman_region32_init(&changed);
	vnc_replay_read_dirty(&s->rp, &s->fr, &changed);
	if (mirage_client_pixels_exact(s->mc, token))
		pixman_region32_subtract(&s->rp.unsure, &s->rp.unsure, &s->rp.dirty);
	else
		pixman_region32_union(&s->rp.unsure, &s->rp.unsure, &s->rp.dirty);
	pthread_mutex_unlock(&s->screen->cursorMutex);
	pixman_region32_union(&s->touched, &s->touched, &changed);
	if (pixman_region32_not_empty(&changed) ||
	    (pixman_region32_not_empty(&s->touched) && vnc_viewers_sending(s))) {
		sra = vnc_to_sra(&changed);
		vnc_viewers_mark(s, sra);
		s->vw.marked = true;
		sraRgnDestroy(sra);
		s->flushes++;
	}
	pixman_region32_fini(&changed);
	if (s->vw.marked)
		vnc_viewers_serve(s);
	s->vw.marked = false;
	pixman_region32_clear(&s->rp.dirty);
	pixman_region32_clear(&s->touched);
}

/* Forgets the replay under way: its copy and what it read or wrote. */
static void drop_replay(struct vnc_server *s)
{
	pixman_region32_clear(&s->rp.copied);
	pixman_region32_clear(&s->rp.pend);
	pixman_region32_clear(&s->touched);
	s->rp.has_pend = false;
}

/*
 * With no viewer nobody needs the pixels: the records are still read (the
 * cursor, the end of the pipe), but nothing is copied, compared or moved.
 * The first viewer's replay then reads the whole surface: only what differs
 * from the framebuffer is marked, and that viewer's first picture, if it was
 * sent before, gets the difference as its next update.
 */
static void watch_or_not(struct vnc_server *s)
{
	bool unwatched = s->vw.n == 0;

	if (unwatched == s->unwatched)
		return;
	s->unwatched = unwatched;
	drop_replay(s);
	if (unwatched)
		pixman_region32_clear(&s->rp.dirty);
	else
		pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0, (unsigned)s->fr.w,
					   (unsigned)s->fr.h);
}

/* Whether a viewer came while there was none (on_new_client wakes us). */
static bool viewer_came(struct vnc_server *s)
{
	bool came;

	pthread_mutex_lock(&s->lock);
	came = s->unwatched && s->vw.n > 0;
	pthread_mutex_unlock(&s->lock);
	return came;
}

/* flush() outside a replay. */
static void flush_locked(struct vnc_server *s)
{
	pthread_mutex_lock(&s->lock);
	flush(s);
	pthread_mutex_unlock(&s->lock);
}

/* After ASSERT_OFF or a lost producer: map the current pipe again.  tick
 * (the caller's) is asked between tries: a producer that is our own child
 * and has ended (the embedded Xorg) is not waited for. */
static int follow_new_pipe(struct vnc_server *s, int (*tick)(void *data), void *data)
{
	int ret = -ENOTCONN;

	/* A producer that restarts (a new Xorg generation) needs a moment. */
	for (int i = 0; i < 50 && !vnc_quit; i++) {
		if (tick && (ret = tick(data)) < 0)
			return ret;
		ret = mirage_client_reconnect(s->mc);
		if (ret >= 0)
			break;
		usleep(100 * 1000);
	}
	if (ret < 0) {
		/* Told to quit before a try: nothing new to report. */
		if (!vnc_quit)
			vnc_log("reconnect: %s", mirage_last_error());
		return ret;
	}
	if (s->manager || !s->opt->no_attach) {
		struct mirage_info_out info;
		if (mirage_client_info(s->mc, &info, NULL, 0) >= 0 && !info.attached) {
			s->manager = false;
			ret = take_manager_role(s);
			if (ret < 0)
				return ret;
		}
	}
	pthread_mutex_lock(&s->lock);
	ret = setup_framebuffer(s);
	if (ret == 0)
		vnc_cursor_update_shape(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Drains the ring; returns 1 when the pipe was retired, else 0 or -errno. */
static int drain(struct vnc_server *s)
{
	for (;;) {
		uint32_t count = 0;
		int ret = mirage_client_poll(s->mc, s->recs, RECS_MAX, &count);

		if (ret < 0) {
			vnc_log("poll: %s", mirage_last_error());
			return ret;
		}
		if (ret == MIRAGE_POLL_LOST) {
			vnc_debug("lost track of the ring: full refresh");
			pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0, (unsigned)s->fr.w,
						   (unsigned)s->fr.h);
			vnc_cursor_refresh(s);
			continue;
		}
		for (uint32_t i = 0; i < count; i++) {
			const struct mirage_record *r = &s->recs[i];

			switch (r->type) {
			case MIRAGE_REC_SCREEN_SCREEN:
				if (!s->unwatched)
					vnc_replay_copy(&s->rp, &s->fr, r);
				break;
			case MIRAGE_REC_BLIT:
			case MIRAGE_REC_SOLIDFILL:
			case MIRAGE_REC_TEXTOUT:
				if (!s->unwatched)
					vnc_replay_add_dirty(&s->rp, &s->fr, &r->rect);
				break;
			case MIRAGE_REC_PTR_SHAPE:
				vnc_cursor_update_shape(s);
				break;
			case MIRAGE_REC_PTR_ENGAGE:
				vnc_cursor_update_position(s, r->point.x, r->point.y);
				break;
			case MIRAGE_REC_ASSERT_ON:
				/* (Re)started mirroring: the surface may be anything. */
				pixman_region32_union_rect(&s->rp.dirty, &s->rp.dirty, 0, 0,
							   (unsigned)s->fr.w, (unsigned)s->fr.h);
				break;
			default:
				break;
			}
		}
		if (ret == MIRAGE_POLL_OFF)
			return 1;
		if (count < RECS_MAX)
			return 0;
	}
}

/* Sleeps until vnc_now_ms() reaches deadline (if it has not). */
static void sleep_until(int64_t deadline)
{
	int64_t t = vnc_now_ms();

	if (t < deadline)
		usleep((useconds_t)(deadline - t) * 1000);
}

/* Whether the producer published records we have not read. */
static bool records_waiting(const struct vnc_server *s)
{
	const struct mirage_ring_header *ring = mirage_client_ring(s->mc);

	return ring && __atomic_load_n(&ring->counter, __ATOMIC_ACQUIRE) !=
			       mirage_client_position(s->mc);
}

int vnc_server_run(struct vnc_server *s, int (*tick)(void *data), void *data)
{
	const int interval = 1000 / (s->opt->max_fps > 0 ? s->opt->max_fps : 60);
	int64_t next = 0;
	int ret = 0;
	bool busy = false; /* the last flush's records came before its interval ended */

	flush_locked(s);
	while (!vnc_quit) {
		int w;
		bool idle;

		if (tick) {
			ret = tick(data);
			if (ret < 0)
				break;
		}
		/* Pacing: at most one flush per interval.  While records
		 * keep coming (busy), the rest of the interval is slept out
		 * before the ring is looked at: the producer wakes only a
		 * consumer that waits, so records that land meanwhile cost
		 * neither side a wake-up, and the next flush takes them
		 * all.  After a quiet spell the wait comes first, and the
		 * rest of the interval is slept only if records came before
		 * its end: a keystroke now and then costs one wake-up, not
		 * two (the sleep's and the record's). */
		if (busy)
			sleep_until(next);
		idle = !records_waiting(s);
		/* Records, the producer's end or a signal (a stop, a
		 * child's end: the handler calls vnc_server_wake, so one
		 * that lands before the futex wait is not missed) wake
		 * this; nothing else does. */
		w = mirage_client_wait(s->mc, -1);
		if (w == -ENOTCONN || w == -ESTALE) {
			/* -ENOTCONN: the producer went away (it may come back);
			 * -ESTALE: the pipe was retired and its records taken
			 * (we mapped it just as it was retired): as after
			 * ASSERT_OFF.  Waiting again would return at once. */
			if (w == -ENOTCONN)
				vnc_log("%s", mirage_last_error());
			else
				vnc_debug("%s", mirage_last_error());
			drop_replay(s);
			ret = follow_new_pipe(s, tick, data);
			if (ret < 0)
				break;
			flush_locked(s);
			continue;
		}
		if (w < 0) {
			vnc_log("wait: %s", mirage_last_error());
			ret = w;
			break;
		}
		if (w == 0 && !viewer_came(s))
			continue;
		busy = !idle || vnc_now_ms() < next;
		sleep_until(next);
		/* One replay: drain reads the records, flush moves and
		 * writes the pixels and marks them. */
		pthread_mutex_lock(&s->lock);
		watch_or_not(s);
		ret = drain(s);
		if (ret < 0) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		if (ret == 1) {
			drop_replay(s);
			/* Not held over the reconnection's retries: the
			 * viewers' input goes on meanwhile. */
			pthread_mutex_unlock(&s->lock);
			ret = follow_new_pipe(s, tick, data);
			if (ret < 0)
				break;
			pthread_mutex_lock(&s->lock);
		}
		if (!s->unwatched)
			flush(s);
		pthread_mutex_unlock(&s->lock);
		next = vnc_now_ms() + interval;
		ret = 0;
	}
	return ret;
}

void vnc_server_wake(struct vnc_server *s)
{
	mirage_client_wake(s->mc);
}

void vnc_server_cut_text(struct vnc_server *s, const char *text, size_t len)
{
	/* Latin-1 for viewers without the extended clipboard. */
	char *latin1 = malloc(len + 1), *utf8;
	size_t n = 0;

	if (!latin1)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x80) {
			latin1[n++] = (char)c;
		} else if ((c & 0xe0) == 0xc0 && i + 1 < len) {
			unsigned v = (c & 0x1fu) << 6 | ((unsigned char)text[i + 1] & 0x3fu);
			latin1[n++] = v < 0x100 ? (char)v : '?';
			i++;
		} else if (c >= 0xc0) {
			latin1[n++] = '?';
		}
	}
	latin1[n] = '\0';
	utf8 = malloc(len + 1);
	if (!utf8) {
		free(latin1);
		return;
	}
	memcpy(utf8, text, len);
	utf8[len] = '\0';
	/* Sent by the network thread: only it may walk the viewers without
	 * s->lock, and a viewer that stopped reading must not hold this
	 * thread.  Text not sent yet is replaced. */
	pthread_mutex_lock(&s->cut.lock);
	free(s->cut.utf8);
	free(s->cut.latin1);
	s->cut.utf8 = utf8;
	s->cut.latin1 = latin1;
	s->cut.len = (int)len;
	s->cut.latin1_len = (int)n;
	pthread_mutex_unlock(&s->cut.lock);
	vnc_net_wake(s);
}

void vnc_server_origin(const struct vnc_server *s, int *x, int *y)
{
	*x = s->fr.ox;
	*y = s->fr.oy;
}

void vnc_server_destroy(struct vnc_server *s)
{
	if (!s)
		return;
	if (s->net.started) {
		atomic_store(&s->net.stop, true);
		vnc_net_wake(s);
		pthread_join(s->net.thread, NULL);
	}
	vnc_doors_finish(&s->net.doors);
	if (s->screen) {
		while (s->vw.n > 0)
			vnc_viewer_let_go(s, s->vw.list[0]);
		rfbShutdownServer(s->screen, TRUE);
		s->screen->frameBuffer = NULL;
		rfbScreenCleanup(s->screen);
	}
	if (s->mc) {
		/* Closing the connection gives the manager role back (and
		 * detaches, unless Cap.Bootup=2). */
		if (s->manager && mirage_client_detach(s->mc) < 0)
			vnc_debug("detach: %s", mirage_last_error());
		mirage_client_destroy(s->mc);
	}
	vnc_debug("%llu flushes, %llu copies (%llu pixels, %llu checked against the surface)",
		  (unsigned long long)s->flushes, (unsigned long long)s->rp.copies,
		  (unsigned long long)s->rp.copied_px, (unsigned long long)s->rp.checked_px);
	vnc_replay_fini(&s->rp);
	pixman_region32_fini(&s->touched);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->cut.lock);
	if (s->net.wake_fd >= 0)
		close(s->net.wake_fd);
	free(s->cut.utf8);
	free(s->cut.latin1);
	free(s->vw.list);
	free(s->fr.fb);
	free(s->old_fb);
	if (s->passwords[0]) {
		explicit_bzero(s->passwords[0], strlen(s->passwords[0]));
		free(s->passwords[0]);
	}
	vnc_throttle_destroy(s->auth_fails);
	free(s);
}
