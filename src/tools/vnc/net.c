/* SPDX-License-Identifier: MIT */
/*
 * The network thread: the listeners, the door for connections that have
 * not said what they are, the viewers' messages read through libvncserver,
 * and the callbacks those messages arrive in (server.h).
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

/*
 * Accepts a connection as libvncserver's own listener thread does (not
 * with rfbProcessNewConnection(), which counts the open descriptors with
 * one fcntl() per possible descriptor: 25 ms per viewer under a large
 * RLIMIT_NOFILE), into the door (door.h): libvncserver gets it once its
 * first bytes are there.
 */
static void accept_viewer(struct vnc_server *s, int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		vnc_log("accepting a viewer: %s", strerror(errno));
		/* Out of descriptors: the connection stays pending and the
		 * listening socket readable; do not spin on it. */
		usleep(100 * 1000);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	vnc_doors_add(&s->net.doors, fd, vnc_now_ms());
}

/*
 * Hands a connection from the door to libvncserver.  A quiet one (a plain
 * RFB viewer, waiting for the server to speak) would still cost
 * rfbNewClient()'s WebSocket sniff its 100 ms of waiting, with this thread,
 * and bytes that came meanwhile would make it spin.  So libvncserver is
 * given a stand-in: one end of a socket pair whose first bytes, "RFB ",
 * end the sniff at once; libvncserver writes its ProtocolVersion there, and
 * on_greet, before anything else looks at the viewer, forwards it to the
 * connection and puts the connection in the stand-in's place (same
 * descriptor number, so libvncserver never knows).
 */
static enum rfbNewClientAction on_new_client(rfbClientPtr cl);

static void admit(struct vnc_server *s, int fd, enum vnc_door kind, const char *host)
{
	int pair[2];

	if (kind != VNC_DOOR_QUIET) {
		/* Its first bytes are there: the sniff does not wait. */
		rfbNewClient(s->screen, fd);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		vnc_log("viewer %s refused: socketpair: %s", host, strerror(errno));
		close(fd);
		return;
	}
	if (write(pair[1], "RFB ", 4) != 4) {
		vnc_log("viewer %s refused: stand-in socket: %s", host, strerror(errno));
		close(pair[0]);
		close(pair[1]);
		close(fd);
		return;
	}
	s->net.stand_in = pair[1];
	s->net.stand_in_for = fd;
	snprintf(s->net.stand_in_host, sizeof(s->net.stand_in_host), "%s", host);
	/* Failing, libvncserver closes pair[0] (or the connection, once it
	 * took the stand-in's place) itself. */
	rfbNewClient(s->screen, pair[0]);
	if (s->net.stand_in_for >= 0)
		close(s->net.stand_in_for); /* refused before on_greet */
	close(pair[1]);
	s->net.stand_in = s->net.stand_in_for = -1;
}

/*
 * The stand-in's end (admit): forwards the ProtocolVersion libvncserver
 * wrote and puts the connection in the stand-in's place.  0 or -errno.
 */
static int take_stand_in(struct vnc_server *s, rfbClientPtr cl)
{
	char pv[sz_rfbProtocolVersionMsg];
	int fd = s->net.stand_in_for;
	char *host;

	if (recv(s->net.stand_in, pv, sizeof(pv), MSG_DONTWAIT) != (ssize_t)sizeof(pv))
		return -EPROTO;
	/* A new connection's send queue is empty: 12 bytes always fit. */
	if (send(fd, pv, sizeof(pv), MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(pv))
		return errno ? -errno : -EIO;
	host = strdup(s->net.stand_in_host);
	if (!host)
		return -ENOMEM;
	if (dup3(fd, cl->sock, O_CLOEXEC) < 0) {
		free(host);
		return -errno;
	}
	close(fd);
	s->net.stand_in_for = -1;
	free(cl->host);
	cl->host = host;
	return 0;
}

/* newClientHook: libvncserver has a new viewer (network thread). */
static enum rfbNewClientAction on_greet(rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	enum rfbNewClientAction ret;

	if (s->net.stand_in >= 0 && s->net.stand_in_for >= 0) {
		int err = take_stand_in(s, cl);

		if (err < 0) {
			vnc_log("viewer %s refused: %s", s->net.stand_in_host, strerror(-err));
			return RFB_CLIENT_REFUSE;
		}
	}
	ret = on_new_client(cl);
	if (ret == RFB_CLIENT_ACCEPT) {
		struct viewer *v = cl->clientData;

		v->since = vnc_now_ms(); /* the handshake's clock (expire) */
	}
	return ret;
}

/*
 * Whether the network thread may read the viewer poll() found readable:
 * -1 when a read would wait (the main thread read it meanwhile:
 * take_requests), the bytes to wait for when its next message is not all
 * there, else 0 (read it; an end of stream too: the read reports it).
 * hung: the viewer hung up, so what is there is all that comes: read it
 * (libvncserver then finds the end of stream and closes the viewer).  One
 * peek tells the common case: requests and input events are smaller than
 * the buffer.
 */
static int read_state(rfbClientPtr cl, bool hung)
{
	unsigned char b[16];
	ssize_t got;
	size_t need;
	int avail;

	if (!vnc_viewer_plain_tcp(cl))
		return 0;
	got = recv(cl->sock, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
	if (got == 0 || hung)
		return 0;
	need = vnc_message_size(cl->state, b, (size_t)got);
	if (need <= (size_t)got || need > VNC_PARTIAL_MAX ||
	    ioctl(cl->sock, FIONREAD, &avail) < 0 || (size_t)avail >= need)
		return 0;
	return (int)need;
}

/*
 * A viewer still in the RFB handshake after this long is dropped, and no
 * more than HANDSHAKING_MAX are in it at once (one more drops the one that
 * began first): a person types a password in a minute, and connections
 * that only hold a viewer slot do not lock anyone out.
 */
#define HANDSHAKE_MS 60000

/*
 * How often the network thread looks whether a viewer's socket has room
 * again for an update that waits (serve_drawn).  Not POLLOUT: the kernel
 * says writable once a third of the queue drained, has_room() wants half
 * the buffer free, and in between poll() would return at once, again and
 * again.
 */
#define OUT_RETRY_MS 20
#define HANDSHAKING_MAX 16

/* Polls and slots: the wake-up, two listeners, the door, the viewers. */
#define NET_FDS (3 + VNC_DOORS_MAX + VIEWERS_MAX)

/*
 * Closes the viewers that overstayed: in the handshake (HANDSHAKE_MS, or
 * the oldest beyond HANDSHAKING_MAX) or waiting for room in their socket
 * longer than maxClientWait (serve_drawn).  Sets *timeout to the ms until
 * the next one's time is up (or leaves it).  Under s->lock.
 */
static void expire(struct vnc_server *s, int64_t now, int *timeout)
{
	struct viewer *oldest = NULL;
	int handshaking = 0;

	for (int i = 0; i < s->vw.n; i++) {
		struct viewer *v = s->vw.list[i];
		rfbClientPtr cl = v->cl;
		int64_t until = -1;

		if (cl->sock == RFB_INVALID_SOCKET)
			continue;
		if (cl->state != RFB_NORMAL) {
			handshaking++;
			if (!oldest || v->since < oldest->since)
				oldest = v;
			if (now >= v->since + HANDSHAKE_MS) {
				vnc_log("viewer %s dropped: no handshake within %d s",
					cl->host ? cl->host : "?", HANDSHAKE_MS / 1000);
				rfbCloseClient(cl);
				continue;
			}
			until = v->since + HANDSHAKE_MS;
		} else if (v->out_wait) {
			if (now >= v->out_since + s->screen->maxClientWait) {
				vnc_log("viewer %s dropped: it has not read its updates for %d s",
					cl->host ? cl->host : "?", s->screen->maxClientWait / 1000);
				rfbCloseClient(cl);
				continue;
			}
			/* Looked at again soon: see OUT_RETRY_MS. */
			until = v->out_since + s->screen->maxClientWait;
			if (until > now + OUT_RETRY_MS)
				until = now + OUT_RETRY_MS;
		}
		if (until >= 0 && (*timeout < 0 || until - now < *timeout))
			*timeout = (int)(until - now);
	}
	if (handshaking > HANDSHAKING_MAX && oldest) {
		vnc_log("viewer %s dropped: %d viewers in the handshake already",
			oldest->cl->host ? oldest->cl->host : "?", HANDSHAKING_MAX);
		rfbCloseClient(oldest->cl);
	}
}

/*
 * The network thread: takes connections in at the door and hands them to
 * libvncserver, reads what viewers send (libvncserver's non-threaded mode,
 * one message per viewer per round), serves a viewer whose request comes
 * after its update was ready (or whose socket has room again), and lets
 * closed viewers go.  A viewer whose sender is writing is not read (only
 * its hang-up is watched): libvncserver must not close it from two threads.
 */
void *vnc_net_main(void *data)
{
	struct vnc_server *s = data;
	struct pollfd fds[NET_FDS];
	struct viewer *who[NET_FDS];

	while (!atomic_load(&s->net.stop)) {
		struct viewer *gone[VIEWERS_MAX];
		rfbClientPtr cl;
		int n = 0, n_gone = 0, first_door, first_viewer, fd, timeout;
		int64_t now = vnc_now_ms();
		enum vnc_door kind;
		char host[64];

		fds[n++] = (struct pollfd){ .fd = s->net.wake_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = s->screen->listenSock, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = s->screen->listen6Sock, .events = POLLIN };
		first_door = n;
		n += vnc_doors_fill(&s->net.doors, fds + n);
		first_viewer = n;
		timeout = vnc_doors_timeout(&s->net.doors, now);
		pthread_mutex_lock(&s->lock);
		expire(s, now, &timeout);
		for (int i = 0; i < s->vw.n; i++) {
			struct viewer *v = s->vw.list[i];

			cl = v->cl;
			if (cl->sock == RFB_INVALID_SOCKET) {
				gone[n_gone++] = v;
				continue;
			}
			who[n] = v;
			fds[n++] = (struct pollfd){
				.fd = cl->sock,
				.events = v->sending ? POLLRDHUP : POLLIN | POLLRDHUP,
			};
		}
		pthread_mutex_unlock(&s->lock);
		for (int i = 0; i < n_gone; i++)
			vnc_viewer_let_go(s, gone[i]);
		if (n_gone > 0)
			continue;

		if (poll(fds, (nfds_t)n, timeout) < 0) {
			if (errno != EINTR)
				vnc_log("network thread: poll: %s", strerror(errno));
			continue;
		}
		if (fds[0].revents) {
			uint64_t count;

			if (read(s->net.wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				vnc_debug("network thread: %s", strerror(errno));
			vnc_viewers_send_cut_text(s);
		}
		now = vnc_now_ms();
		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < s->vw.n; i++) {
			if (s->vw.list[i]->out_wait)
				vnc_viewer_serve(s, s->vw.list[i]);
		}
		pthread_mutex_unlock(&s->lock);
		while ((fd = vnc_doors_next(&s->net.doors, fds + first_door, first_viewer - first_door,
					    now, &kind, host, sizeof(host))) >= 0)
			admit(s, fd, kind, host);
		for (int i = 1; i <= 2; i++) {
			if (fds[i].revents & POLLIN)
				accept_viewer(s, fds[i].fd);
		}
		for (int i = first_viewer; i < n; i++) {
			struct viewer *v;
			int wait;
			bool hung;

			if (!fds[i].revents)
				continue;
			v = who[i];
			cl = v->cl;
			hung = fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR);
			if (!(fds[i].events & POLLIN)) {
				/* Hung up while its sender writes: make the
				 * write fail, the sender closes it. */
				if (hung)
					shutdown(fds[i].fd, SHUT_RDWR);
				continue;
			}
			if (!(fds[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
				continue;
			pthread_mutex_lock(&v->read_lock);
			wait = read_state(cl, hung);
			if (wait > 0) {
				pthread_mutex_lock(&s->lock);
				v->partial = vnc_viewer_set_rcvlowat(v, wait);
				pthread_mutex_unlock(&s->lock);
				if (v->partial) {
					pthread_mutex_unlock(&v->read_lock);
					continue;
				}
			}
			while (wait >= 0 && cl->sock != RFB_INVALID_SOCKET) {
				rfbProcessClientMessage(cl);
				if (!webSocketsHasDataInBuffer(cl))
					break;
			}
			pthread_mutex_unlock(&v->read_lock);
			if (cl->sock != RFB_INVALID_SOCKET) {
				pthread_mutex_lock(&s->lock);
				/* Whatever else waits wakes us at once. */
				v->partial = false;
				vnc_viewer_set_lowat(v, false);
				vnc_viewer_serve(s, v);
				pthread_mutex_unlock(&s->lock);
			}
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Viewer callbacks (the network thread)                               */
/* ------------------------------------------------------------------ */

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (!s->opt->view_only && s->input)
		vnc_input_key(s->input, down, (uint32_t)keysym);
}

static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (s->opt->view_only)
		return;
	if (s->input)
		vnc_input_pointer(s->input, mask, x + s->fr.ox, y + s->fr.oy);
	/* Keeps libvncserver's cursor position (drawn-in cursors, other
	 * viewers' position updates) in step. */
	rfbDefaultPtrAddEvent(mask, x, y, cl);
}

static void on_cut_text(char *str, int len, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	/* RFB cut text is ISO 8859-1; X wants UTF-8. */
	char *utf8;
	size_t n = 0;

	if (s->opt->view_only || !s->input || len < 0)
		return;
	utf8 = malloc((size_t)len * 2 + 1);
	if (!utf8)
		return;
	for (int i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		if (c < 0x80) {
			utf8[n++] = (char)c;
		} else {
			utf8[n++] = (char)(0xc0 | c >> 6);
			utf8[n++] = (char)(0x80 | (c & 0x3f));
		}
	}
	utf8[n] = '\0';
	vnc_input_set_clipboard(s->input, utf8, n);
	free(utf8);
}

static void on_cut_text_utf8(char *str, int len, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (!s->opt->view_only && s->input && len >= 0)
		vnc_input_set_clipboard(s->input, str, (size_t)len);
}

static int on_set_desktop_size(int width, int height, int nscreens,
			       struct rfbExtDesktopScreen *screens, rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;

	if (s->opt->view_only || !s->input || s->opt->monitor >= 0)
		return rfbExtDesktopSize_ResizeProhibited;
	if (vnc_input_resize(s->input, width, height) < 0)
		return rfbExtDesktopSize_ResizeProhibited;
	/* The new size reaches the viewers through ASSERT_OFF and a new pipe. */
	return rfbExtDesktopSize_Success;
}

/*
 * VNC authentication, each failure logged and counted per address.  An
 * address blocked meanwhile (by another of its connections, let in
 * before the block) is refused whatever it sent, so that parallel
 * connections do not multiply its tries.
 */
static rfbBool check_password(rfbClientPtr cl, const char *response, int len)
{
	struct vnc_server *s = cl->screen->screenData;
	const char *host = cl->host ? cl->host : "?";

	if (vnc_throttle_refuse(s->auth_fails, host))
		return FALSE;
	if (!rfbCheckPasswordByList(cl, response, len)) {
		vnc_throttle_fail(s->auth_fails, host, "wrong password");
		return FALSE;
	}
	vnc_throttle_clear(s->auth_fails, host);
	return TRUE;
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	struct viewer *v;
	int ret;

	/* A blocked address gets no challenge to answer. */
	if (s->auth_fails && vnc_throttle_refuse(s->auth_fails, cl->host ? cl->host : "?"))
		return RFB_CLIENT_REFUSE;
	v = calloc(1, sizeof(*v));
	ret = v ? vnc_close_guard(cl) : -ENOMEM;
	if (ret < 0) {
		vnc_log("viewer %s refused: %s", cl->host ? cl->host : "?", strerror(-ret));
		free(v);
		return RFB_CLIENT_REFUSE;
	}
	if (s->vw.n >= VIEWERS_MAX) {
		vnc_log("viewer %s refused: %d viewers already", cl->host ? cl->host : "?",
			VIEWERS_MAX);
		free(v);
		return RFB_CLIENT_REFUSE;
	}
	if (s->vw.n == s->vw.cap) {
		int cap = s->vw.cap ? 2 * s->vw.cap : 8;
		struct viewer **list;

		/* Under the lock: realloc frees the array the main thread walks. */
		pthread_mutex_lock(&s->lock);
		list = realloc(s->vw.list, (size_t)cap * sizeof(*list));
		if (list) {
			s->vw.list = list;
			s->vw.cap = cap;
		}
		pthread_mutex_unlock(&s->lock);
		if (!list) {
			vnc_log("viewer %s refused: out of memory", cl->host ? cl->host : "?");
			free(v);
			return RFB_CLIENT_REFUSE;
		}
	}
	vnc_debug("viewer %s connected", cl->host ? cl->host : "?");
	v->s = s;
	v->cl = cl;
	v->rcvlowat = 1;
	pthread_cond_init(&v->cond, NULL);
	pthread_mutex_init(&v->read_lock, NULL);
	cl->clientData = v;
	pthread_mutex_lock(&s->lock);
	s->vw.list[s->vw.n++] = v;
	if (s->unwatched)
		mirage_client_wake(s->mc); /* the framebuffer is behind: read it again */
	pthread_mutex_unlock(&s->lock);
	if (s->opt->view_only)
		cl->viewOnly = TRUE;
	return RFB_CLIENT_ACCEPT;
}



/* The viewers' messages go to the callbacks above. */
void vnc_net_hook(struct vnc_server *s)
{
	s->screen->kbdAddEvent = on_key;
	s->screen->ptrAddEvent = on_pointer;
	s->screen->setXCutText = on_cut_text;
	s->screen->setXCutTextUTF8 = on_cut_text_utf8;
	s->screen->setDesktopSizeHook = on_set_desktop_size;
	s->screen->newClientHook = on_greet;
	if (s->passwords[0]) {
		s->screen->authPasswdData = s->passwords;
		s->screen->passwordCheck = check_password;
	}
}
