/* SPDX-License-Identifier: MIT */
/* The input backends' queue and clipboard reader (see inqueue.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inqueue.h"
#include "vnc.h"

int vnc_inqueue_init(struct vnc_inqueue *q, const char *who)
{
	memset(q, 0, sizeof(*q));
	q->who = who;
	q->wake[0] = q->wake[1] = -1;
	if (pipe2(q->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void vnc_inqueue_fini(struct vnc_inqueue *q)
{
	if (q->wake[0] < 0)
		return;
	for (int i = 0; i < 2; i++)
		close(q->wake[i]);
	q->wake[0] = q->wake[1] = -1;
	free(q->clip);
	q->clip = NULL;
	pthread_mutex_destroy(&q->lock);
}

static void wake(struct vnc_inqueue *q)
{
	ssize_t r = write(q->wake[1], "", 1);
	(void)r; /* a full pipe is already a wake-up */
}

void vnc_inqueue_push(struct vnc_inqueue *q, const struct vnc_ev *ev)
{
	bool said = true;

	pthread_mutex_lock(&q->lock);
	if (q->gone) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	struct vnc_ev *last = q->len ? &q->ev[(q->head + q->len - 1) % VNC_INQUEUE_MAX] : NULL;
	if (ev->kind == VNC_EV_POINTER && last && last->kind == VNC_EV_POINTER && last->mask == ev->mask) {
		*last = *ev; /* a motion replaces the one not yet sent */
	} else if (q->len < VNC_INQUEUE_MAX) {
		q->ev[(q->head + q->len++) % VNC_INQUEUE_MAX] = *ev;
	} else {
		said = q->full_said;
		q->full_said = true;
	}
	pthread_mutex_unlock(&q->lock);
	if (!said)
		vnc_log("%s: the desktop is not keeping up; input dropped", q->who);
	wake(q);
}

void vnc_inqueue_set_clip(struct vnc_inqueue *q, const char *text, size_t len)
{
	char *copy = strndup(text, len);

	if (!copy)
		return;
	pthread_mutex_lock(&q->lock);
	free(q->clip);
	q->clip = copy;
	q->clip_len = strlen(copy);
	q->clip_pending = true;
	pthread_mutex_unlock(&q->lock);
	wake(q);
}

int vnc_inqueue_take(struct vnc_inqueue *q, struct vnc_ev *batch, bool *clip)
{
	char b[64];
	int n;

	while (read(q->wake[0], b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	n = q->len;
	for (int i = 0; i < n; i++)
		batch[i] = q->ev[(q->head + i) % VNC_INQUEUE_MAX];
	q->head = (q->head + n) % VNC_INQUEUE_MAX;
	q->len = 0;
	q->full_said = false;
	*clip = q->clip_pending;
	q->clip_pending = false;
	pthread_mutex_unlock(&q->lock);
	return n;
}

char *vnc_inqueue_clip(struct vnc_inqueue *q)
{
	pthread_mutex_lock(&q->lock);
	char *text = q->clip ? strndup(q->clip, q->clip_len) : NULL;
	pthread_mutex_unlock(&q->lock);
	return text;
}

void vnc_inqueue_gone(struct vnc_inqueue *q, const char *why)
{
	pthread_mutex_lock(&q->lock);
	bool said = q->gone;
	q->gone = true;
	q->len = 0;
	pthread_mutex_unlock(&q->lock);
	if (!said)
		vnc_log("%s: %s; input and clipboard are off", q->who, why);
}

void vnc_inqueue_stop(struct vnc_inqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_mutex_unlock(&q->lock);
	wake(q);
}

void vnc_inqueue_key(void *state, bool down, uint32_t keysym)
{
	if (keysym != 0)
		vnc_inqueue_push(state, &(struct vnc_ev){ .kind = VNC_EV_KEY, .down = down, .keysym = keysym });
}

void vnc_inqueue_pointer(void *state, int mask, int x, int y)
{
	vnc_inqueue_push(state, &(struct vnc_ev){ .kind = VNC_EV_POINTER, .mask = mask, .x = x, .y = y });
}

void vnc_inqueue_clipboard(void *state, const char *text, size_t len)
{
	vnc_inqueue_set_clip(state, text, len);
}

int vnc_write_all(int fd, const char *buf, size_t len)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (n == 0 || errno != EAGAIN)
			return n == 0 ? -EPIPE : -errno;
		if (poll(&p, 1, 1000) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

void vnc_clip_reader_init(struct vnc_clip_reader *r, const char *who)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->who = who;
}

void vnc_clip_reader_stop(struct vnc_clip_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->buf);
	r->buf = NULL;
	r->len = 0;
}

void vnc_clip_reader_start(struct vnc_clip_reader *r, int fd)
{
	vnc_clip_reader_stop(r);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	r->fd = fd;
}

void vnc_clip_reader_read(struct vnc_clip_reader *r, const struct vnc_input_sink *sink)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(r->fd, chunk, sizeof(chunk))) > 0) {
		if (r->len + (size_t)n > VNC_CLIP_MAX) {
			vnc_debug("%s: the clipboard holds more than %u bytes; not sent", r->who, VNC_CLIP_MAX);
			vnc_clip_reader_stop(r);
			return;
		}
		char *b = realloc(r->buf, r->len + (size_t)n + 1);
		if (!b) {
			vnc_clip_reader_stop(r);
			return;
		}
		r->buf = b;
		memcpy(b + r->len, chunk, (size_t)n);
		r->len += (size_t)n;
		b[r->len] = '\0';
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r->buf && (!r->sent || strcmp(r->sent, r->buf))) {
		free(r->sent);
		r->sent = strdup(r->buf);
		sink->cut_text(sink->data, r->buf, r->len);
	}
	vnc_clip_reader_stop(r);
}

void vnc_clip_reader_fini(struct vnc_clip_reader *r)
{
	vnc_clip_reader_stop(r);
	free(r->sent);
	r->sent = NULL;
}
