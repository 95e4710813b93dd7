/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's server, inside: the state that server.c (create, run,
 * flush), viewers.c (serving, sender threads), cursor.c and net.c (the
 * network thread and the viewers' callbacks) share.  The replay itself is
 * replay.h's, pure.  Calls go one way: server.c into the other three,
 * net.c into viewers.c, viewers.c into cursor.c; each sub-struct below is
 * written by the file named at it.
 */
#ifndef MIRAGE_VNC_SERVER_H
#define MIRAGE_VNC_SERVER_H

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
#include "replay.h"
#include "throttle.h"
#include "vnc.h"

#define RECS_MAX 1024u
#define VIEWERS_MAX 64 /* at once; more are refused */

/* The viewers being served (viewers.c); under the server's lock. */
struct vnc_viewers {
	struct viewer **list;
	int n, cap;
	bool marked;                /* they have news: a copy, pixels, cursor */
};

/* Cut text from the input backend's thread, for the network thread to send
 * (vnc_server_cut_text, vnc_viewers_send_cut_text).  Its own lock, taken
 * alone: the backend's thread never waits for the replay. */
struct vnc_cut {
	pthread_mutex_t lock;
	char *utf8, *latin1;
	int len, latin1_len;
};

/* The network thread (net.c). */
struct vnc_net {
	pthread_t thread;
	bool started;
	int wake_fd;                /* eventfd: wakes it (vnc_net_wake) */
	atomic_bool stop;
	/* The thread's own: */
	struct vnc_doors doors;     /* connections not yet handed over */
	int stand_in;               /* during admit(): the stand-in socket's
				     * other end, else -1 */
	int stand_in_for;           /* ... and the connection it stands in
				     * for, until on_greet takes it (-1) */
	char stand_in_host[64];
};

/* The cursor as the viewers know it (cursor.c; main thread). */
struct vnc_cursor_state {
	uint32_t serial;
	bool known;
};

struct vnc_server {
	const struct vnc_options *opt;
	struct vnc_input *input;
	struct mirage_client *mc;
	rfbScreenInfoPtr screen;
	char *passwords[2];
	struct vnc_throttle *auth_fails; /* wrong passwords per address */

	/* Main thread only. */
	struct vnc_frame fr;  /* the framebuffer served and the surface (replay.h) */
	uint8_t *old_fb;      /* the previous framebuffer: viewer threads may still read it */
	uint32_t generation;
	struct vnc_cursor_state cur;
	bool manager;
	struct vnc_replay rp;     /* the interval's regions (replay.h) */
	struct mirage_record recs[RECS_MAX];
	uint64_t flushes;

	/*
	 * The replay lock.  Held by the main thread over a replay (drain and
	 * flush: the framebuffer and the viewers' regions change) and by the
	 * network thread while it serves a viewer or lets one go; every
	 * encode made under it sees the framebuffer still.  The network
	 * thread is the only one that adds and frees viewers, in
	 * libvncserver's list (which only it walks: libvncserver frees a
	 * viewer it fails to set up at once) and in `viewers` (which the
	 * others walk, under lock).  Lock order: lock, then cl->sendMutex,
	 * then screen->cursorMutex, then cl->updateMutex.  cut.lock is taken
	 * alone; v->read_lock before lock (under lock, only tried).
	 */
	pthread_mutex_t lock;
	struct vnc_viewers vw;      /* viewers.c's, under lock */
	struct vnc_cut cut;         /* cut text for the viewers, under cut.lock */
	struct vnc_net net;         /* net.c's */
	pixman_region32_t touched;  /* framebuffer pixels this replay wrote */
	bool unwatched;             /* no viewer: records are read, pixels not */
};

/* Per viewer (cl->clientData).  Fields below are under s->lock. */
struct viewer {
	struct vnc_server *s;
	rfbClientPtr cl;
	pthread_t thread;     /* the sender, started on the first update that
			       * the socket cannot take whole */
	bool has_thread;
	bool sending;         /* the sender owns the viewer's writes */
	bool stop;
	int rcvlowat;         /* its SO_RCVLOWAT: 1, REQUEST_LOWAT (its request
			       * waits for us) or a partial message's size */
	bool partial;         /* SO_RCVLOWAT waits for the end of a message */
	pthread_cond_t cond;  /* sending or stop was set */
	pthread_mutex_t read_lock; /* held while reading the viewer's messages */
	int64_t since;        /* handed to libvncserver at (ms; network thread) */
	bool out_wait;        /* an update waits for room in its socket
			       * (serve_drawn); the network thread polls it */
	int64_t out_since;    /* ... since (ms) */
};


/* viewers.c */
sraRegionPtr vnc_to_sra(pixman_region32_t *r);
void vnc_viewers_copy(struct vnc_server *s);
void vnc_viewers_mark(struct vnc_server *s, sraRegionPtr region);
bool vnc_viewers_sending(const struct vnc_server *s);
void vnc_viewers_serve(struct vnc_server *s);
void vnc_viewers_send_cut_text(struct vnc_server *s);
void vnc_viewer_serve(struct vnc_server *s, struct viewer *v);
void vnc_viewer_let_go(struct vnc_server *s, struct viewer *v);
void vnc_net_wake(struct vnc_server *s);
/* Whether cl's socket is its stream (not WebSocket or TLS framing). */
bool vnc_viewer_plain_tcp(rfbClientPtr cl);
/* Sets v's SO_RCVLOWAT; whether it took val.  Under s->lock. */
bool vnc_viewer_set_rcvlowat(struct viewer *v, int val);
/* Raises or lowers it for v's requests.  Under s->lock. */
void vnc_viewer_set_lowat(struct viewer *v, bool raise);

/* cursor.c */
void vnc_cursor_news(struct vnc_server *s, bool moved, bool shape);
void vnc_cursor_update_shape(struct vnc_server *s);
void vnc_cursor_update_position(struct vnc_server *s, int x, int y);
void vnc_cursor_refresh(struct vnc_server *s);
/* Marks cursor c's area modified for cl, c's hotspot at (x, y). */
void vnc_cursor_box_modified(rfbClientPtr cl, const rfbCursor *c, int x, int y);

/* net.c */
/* The network thread's body: accepts, reads, serves (data: the server). */
void *vnc_net_main(void *data);
/* Installs the viewers' callbacks on s->screen, before rfbInitServer. */
void vnc_net_hook(struct vnc_server *s);

#endif /* MIRAGE_VNC_SERVER_H */
