/* SPDX-License-Identifier: MIT */
/*
 * What the Wayland and GNOME input backends share: the queue between the
 * viewers' threads and the backend's own thread, and the reading of the
 * desktop's clipboard from a pipe.
 *
 * The viewers' threads only push (under lock) and wake the thread through
 * a pipe, so a dead or slow desktop never blocks them: a full queue drops
 * (said once until it drains), a desktop gone drops everything, and a
 * pointer motion replaces the one not yet sent.
 */
#ifndef MIRAGE_VNC_INQUEUE_H
#define MIRAGE_VNC_INQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"

#define VNC_INQUEUE_MAX 512
#define VNC_CLIP_MAX (1u << 20) /* the desktop's clipboard read at most */

enum vnc_ev_kind { VNC_EV_KEY, VNC_EV_POINTER };

struct vnc_ev {
	enum vnc_ev_kind kind;
	bool down;
	uint32_t keysym;
	int mask, x, y;
};

struct vnc_inqueue {
	const char *who;          /* "wayland input": in messages */
	pthread_mutex_t lock;     /* the fields below */
	struct vnc_ev ev[VNC_INQUEUE_MAX];
	int head, len;
	bool full_said;
	char *clip;               /* a viewer's last text (kept: pasted on request) */
	size_t clip_len;
	bool clip_pending;        /* not yet given to the desktop */
	bool gone;                /* the desktop went: drop everything */
	bool stopping;
	int wake[2];              /* the thread polls wake[0] */
};

int vnc_inqueue_init(struct vnc_inqueue *q, const char *who) __attribute__((warn_unused_result));
void vnc_inqueue_fini(struct vnc_inqueue *q);
/* From the viewers' threads. */
void vnc_inqueue_push(struct vnc_inqueue *q, const struct vnc_ev *ev);
void vnc_inqueue_set_clip(struct vnc_inqueue *q, const char *text, size_t len);
/* From the backend's thread: takes what is queued into batch (room for
 * VNC_INQUEUE_MAX), the count returned; *clip whether a viewer's text
 * waits (vnc_inqueue_clip has it); -1 once stopping. */
int vnc_inqueue_take(struct vnc_inqueue *q, struct vnc_ev *batch, bool *clip);
/* A copy of the viewers' last text (the caller frees), or NULL. */
char *vnc_inqueue_clip(struct vnc_inqueue *q);
/* The desktop went: said once, everything dropped from now on. */
void vnc_inqueue_gone(struct vnc_inqueue *q, const char *why);
/* Makes the thread's next take return -1. */
void vnc_inqueue_stop(struct vnc_inqueue *q);

/* The table's key, pointer and set_clipboard (input.h) of a backend
 * whose state begins with its struct vnc_inqueue. */
void vnc_inqueue_key(void *state, bool down, uint32_t keysym);
void vnc_inqueue_pointer(void *state, int mask, int x, int y);
void vnc_inqueue_clipboard(void *state, const char *text, size_t len);

/* Writes all of buf to a pasting client; gives up on one that stalls 1 s.
 * 0, or -errno where it did. */
int vnc_write_all(int fd, const char *buf, size_t len);

/* The desktop's clipboard read from a pipe (non-blocking), given to the
 * sink at its end unless it is what was given last. */
struct vnc_clip_reader {
	int fd;                   /* -1: none being read */
	char *buf;
	size_t len;
	char *sent;               /* the last text given to the sink */
	const char *who;
};

void vnc_clip_reader_init(struct vnc_clip_reader *r, const char *who);
/* Starts reading fd (owned from now on), dropping a read under way. */
void vnc_clip_reader_start(struct vnc_clip_reader *r, int fd);
/* When fd is readable: reads what is there; at the end, to the sink. */
void vnc_clip_reader_read(struct vnc_clip_reader *r, const struct vnc_input_sink *sink);
/* Drops a read under way. */
void vnc_clip_reader_stop(struct vnc_clip_reader *r);
void vnc_clip_reader_fini(struct vnc_clip_reader *r);

#endif /* MIRAGE_VNC_INQUEUE_H */
