/* SPDX-License-Identifier: MIT */
/*
 * Input into a wlroots compositor: keys through zwp_virtual_keyboard_v1,
 * the pointer through zwlr_virtual_pointer_v1, the clipboard both ways
 * through wlr-data-control.
 *
 * One thread owns the Wayland connection.  The viewers' threads only
 * queue what they send (under lock) and wake it through a pipe, so a dead
 * or slow compositor never blocks them: a full queue drops, and a lost
 * connection is said once and everything after it is dropped.
 *
 * The keymap is ours (wlkeymap.c): every keysym a viewer sends gets a
 * keycode of its own with that keysym alone on it, so what is typed comes
 * out exactly as sent (uppercase, symbols) whatever layout the viewer
 * has; a keysym not yet in the keymap makes a new keymap, sent before its
 * key.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "input.h"
#include "vnc.h"
#include "virtual-keyboard-unstable-v1-client-protocol.h"
#include "wlr-data-control-unstable-v1-client-protocol.h"
#include "wlr-virtual-pointer-unstable-v1-client-protocol.h"
#include "wlkeymap.h"
#include "wlout.h"

#define QUEUE_MAX 512
#define CLIP_MAX (1u << 20) /* the desktop's clipboard read at most */
#define BTN_LEFT 0x110
#define BTN_RIGHT 0x111
#define BTN_MIDDLE 0x112

enum ev_kind { EV_KEY, EV_POINTER };

struct ev {
	enum ev_kind kind;
	bool down;
	uint32_t keysym;
	int mask, x, y;
};

/* What a data-control offer offers (one bit a text type). */
enum {
	MIME_UTF8 = 1 << 0,  /* text/plain;charset=utf-8 */
	MIME_UTF8_STRING = 1 << 1,
	MIME_PLAIN = 1 << 2, /* text/plain */
	MIME_TEXT = 1 << 3,
	MIME_STRING = 1 << 4,
};
static const char *const mime_names[] = {
	"text/plain;charset=utf-8", "UTF8_STRING", "text/plain", "TEXT", "STRING",
};
#define MIME_COUNT (sizeof(mime_names) / sizeof(mime_names[0]))

struct wlinput {
	struct wl_display *dpy;
	struct wl_registry *registry;
	struct wl_seat *seat;
	struct wlout output;         /* its mode: absolute motion's extent */
	struct zwlr_virtual_pointer_manager_v1 *pointer_manager;
	struct zwp_virtual_keyboard_manager_v1 *keyboard_manager;
	struct zwlr_data_control_manager_v1 *control_manager;
	uint32_t pointer_manager_version;
	struct zwlr_virtual_pointer_v1 *pointer;
	struct zwp_virtual_keyboard_v1 *keyboard;
	struct zwlr_data_control_device_v1 *device;

	/* The thread's own (no lock). */
	struct vnc_keymap keymap;
	int mask;                /* buttons down, as last sent */
	struct zwlr_data_control_offer_v1 *clip_offer; /* the compositor's clipboard */
	struct zwlr_data_control_source_v1 *clip_source, *primary_source; /* ours */
	int read_fd;             /* the offer being read, or -1 */
	char *read_buf;
	size_t read_len;
	char *sent;              /* last text given to the sink (no repeats) */
	bool dead;               /* the connection is gone (said once) */

	pthread_mutex_t lock;    /* the fields below */
	struct ev queue[QUEUE_MAX];
	int q_head, q_len;
	bool q_full_said;
	char *clip;              /* a viewer's text, not yet set */
	size_t clip_len;
	bool clip_pending;
	bool gone;               /* the thread saw the connection go */
	struct vnc_input_sink sink;
	int wake[2];
	pthread_t thread;
	bool started, stopping;
};

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ------------------------------------------------------------------ */
/* The globals                                                         */
/* ------------------------------------------------------------------ */

static void global_add(void *data, struct wl_registry *r, uint32_t name, const char *iface,
		       uint32_t version)
{
	struct wlinput *in = data;

	if (!strcmp(iface, wl_seat_interface.name) && !in->seat) {
		in->seat = wl_registry_bind(r, name, &wl_seat_interface, 1);
	} else if (!strcmp(iface, wl_output_interface.name) && !in->output.wl) {
		/* The first output: the one --wayland's mirage-wayland mirrors. */
		wlout_bind(&in->output, r, name, version);
	} else if (!strcmp(iface, zwlr_virtual_pointer_manager_v1_interface.name)) {
		in->pointer_manager_version = version < 2 ? version : 2;
		in->pointer_manager = wl_registry_bind(r, name, &zwlr_virtual_pointer_manager_v1_interface,
						       in->pointer_manager_version);
	} else if (!strcmp(iface, zwp_virtual_keyboard_manager_v1_interface.name)) {
		in->keyboard_manager = wl_registry_bind(r, name, &zwp_virtual_keyboard_manager_v1_interface, 1);
	} else if (!strcmp(iface, zwlr_data_control_manager_v1_interface.name)) {
		in->control_manager = wl_registry_bind(r, name, &zwlr_data_control_manager_v1_interface, 2);
	}
}

static void global_remove(void *data, struct wl_registry *r, uint32_t name) {}

static const struct wl_registry_listener registry_listener = {
	.global = global_add,
	.global_remove = global_remove,
};

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/* Sends the keymap to the compositor through a sealed memfd. */
static int send_keymap(struct wlinput *in)
{
	char *text = vnc_keymap_text(&in->keymap);
	int fd = -1, ret = 0;
	size_t size;

	if (!text)
		return -ENOMEM;
	size = strlen(text) + 1;
	fd = memfd_create("mirage-vnc-keymap", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, text, size) != (ssize_t)size) {
		ret = -errno;
		goto cleanup;
	}
	/* The compositor maps it: it must not change under it. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	zwp_virtual_keyboard_v1_keymap(in->keyboard, WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1, fd,
				       (uint32_t)size);
cleanup:
	if (fd >= 0)
		close(fd);
	free(text);
	return ret;
}

static void do_key(struct wlinput *in, bool down, uint32_t sym)
{
	bool changed;
	int i = vnc_keymap_key(&in->keymap, down, sym, &changed);

	if (i < 0)
		return;
	if (changed && send_keymap(in) < 0) {
		vnc_log("wayland input: cannot make a keymap for keysym 0x%x", sym);
		vnc_keymap_forget(&in->keymap, i);
		return;
	}
	/* The virtual keyboard takes evdev codes: xkb's less 8. */
	zwp_virtual_keyboard_v1_key(in->keyboard, now_ms(), (uint32_t)(VNC_KEYMAP_MIN + i - 8),
				    down ? WL_KEYBOARD_KEY_STATE_PRESSED : WL_KEYBOARD_KEY_STATE_RELEASED);
}

/* ------------------------------------------------------------------ */
/* Pointer                                                             */
/* ------------------------------------------------------------------ */

static void do_pointer(struct wlinput *in, int mask, int x, int y)
{
	static const uint32_t buttons[3] = { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT };
	uint32_t t = now_ms();
	int w = in->output.width > 0 ? in->output.width : 1;
	int h = in->output.height > 0 ? in->output.height : 1;

	x = x < 0 ? 0 : x >= w ? w - 1 : x;
	y = y < 0 ? 0 : y >= h ? h - 1 : y;
	zwlr_virtual_pointer_v1_motion_absolute(in->pointer, t, (uint32_t)x, (uint32_t)y,
						(uint32_t)w, (uint32_t)h);
	for (int b = 0; b < 3; b++)
		if ((mask ^ in->mask) & (1 << b))
			zwlr_virtual_pointer_v1_button(in->pointer, t, buttons[b],
						       (mask & (1 << b)) ? WL_POINTER_BUTTON_STATE_PRESSED
									 : WL_POINTER_BUTTON_STATE_RELEASED);
	/* Wheel buttons 4-7 (bits 3-6): a click of the wheel on the press. */
	for (int b = 3; b < 7; b++) {
		if (!(mask & (1 << b)) || (in->mask & (1 << b)))
			continue;
		uint32_t axis = b < 5 ? WL_POINTER_AXIS_VERTICAL_SCROLL : WL_POINTER_AXIS_HORIZONTAL_SCROLL;
		int dir = (b == 3 || b == 5) ? -1 : 1;
		zwlr_virtual_pointer_v1_axis_source(in->pointer, WL_POINTER_AXIS_SOURCE_WHEEL);
		zwlr_virtual_pointer_v1_axis_discrete(in->pointer, t, axis, wl_fixed_from_int(15 * dir), dir);
	}
	zwlr_virtual_pointer_v1_frame(in->pointer);
	in->mask = mask;
}

/* ------------------------------------------------------------------ */
/* The clipboard                                                       */
/* ------------------------------------------------------------------ */

/* Writes all of buf to a pasting client; gives up on one that stalls 1 s. */
static void write_all(int fd, const char *buf, size_t len)
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
		if (n == 0 || errno != EAGAIN || poll(&p, 1, 1000) <= 0)
			return;
	}
}

static void source_send(void *data, struct zwlr_data_control_source_v1 *src, const char *mime, int32_t fd)
{
	struct wlinput *in = data;

	pthread_mutex_lock(&in->lock);
	char *text = in->clip ? strndup(in->clip, in->clip_len) : NULL;
	pthread_mutex_unlock(&in->lock);
	if (text)
		write_all(fd, text, strlen(text));
	free(text);
	close(fd);
}

static void source_cancelled(void *data, struct zwlr_data_control_source_v1 *src)
{
	struct wlinput *in = data;

	/* Another client took the selection: ours is no more. */
	if (in->clip_source == src)
		in->clip_source = NULL;
	if (in->primary_source == src)
		in->primary_source = NULL;
	zwlr_data_control_source_v1_destroy(src);
}

static const struct zwlr_data_control_source_v1_listener source_listener = {
	.send = source_send,
	.cancelled = source_cancelled,
};

static struct zwlr_data_control_source_v1 *make_source(struct wlinput *in)
{
	struct zwlr_data_control_source_v1 *src =
		zwlr_data_control_manager_v1_create_data_source(in->control_manager);

	for (size_t i = 0; i < MIME_COUNT; i++)
		zwlr_data_control_source_v1_offer(src, mime_names[i]);
	zwlr_data_control_source_v1_add_listener(src, &source_listener, in);
	return src;
}

/* A viewer's text (set aside in in->clip) becomes both selections. */
static void do_set_clipboard(struct wlinput *in)
{
	if (!in->device)
		return;
	/* Set before the compositor's selection events about it come back:
	 * they are ours while our source lives, and are not echoed. */
	if (in->clip_source)
		zwlr_data_control_source_v1_destroy(in->clip_source);
	if (in->primary_source)
		zwlr_data_control_source_v1_destroy(in->primary_source);
	in->clip_source = make_source(in);
	zwlr_data_control_device_v1_set_selection(in->device, in->clip_source);
	in->primary_source = make_source(in);
	zwlr_data_control_device_v1_set_primary_selection(in->device, in->primary_source);
}

static void offer_offer(void *data, struct zwlr_data_control_offer_v1 *offer, const char *mime)
{
	uintptr_t mask = (uintptr_t)zwlr_data_control_offer_v1_get_user_data(offer);

	for (size_t i = 0; i < MIME_COUNT; i++)
		if (!strcmp(mime, mime_names[i]))
			mask |= 1u << i;
	zwlr_data_control_offer_v1_set_user_data(offer, (void *)mask);
}

static const struct zwlr_data_control_offer_v1_listener offer_listener = {
	.offer = offer_offer,
};

static void device_data_offer(void *data, struct zwlr_data_control_device_v1 *dev,
			      struct zwlr_data_control_offer_v1 *offer)
{
	zwlr_data_control_offer_v1_add_listener(offer, &offer_listener, NULL);
}

static void stop_reading(struct wlinput *in)
{
	if (in->read_fd >= 0)
		close(in->read_fd);
	in->read_fd = -1;
	free(in->read_buf);
	in->read_buf = NULL;
	in->read_len = 0;
}

static void device_selection(void *data, struct zwlr_data_control_device_v1 *dev,
			     struct zwlr_data_control_offer_v1 *offer)
{
	struct wlinput *in = data;
	uintptr_t mask;
	int p[2];

	if (in->clip_offer)
		zwlr_data_control_offer_v1_destroy(in->clip_offer);
	in->clip_offer = offer;
	/* Ours (a viewer's text) while our source lives: not sent back. */
	if (!offer || in->clip_source)
		return;
	mask = (uintptr_t)zwlr_data_control_offer_v1_get_user_data(offer);
	if (!mask)
		return; /* not text */
	stop_reading(in);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	/* The first text type offered, in the order of preference. */
	zwlr_data_control_offer_v1_receive(offer, mime_names[__builtin_ctz((unsigned)mask)], p[1]);
	close(p[1]);
	in->read_fd = p[0];
}

static void device_finished(void *data, struct zwlr_data_control_device_v1 *dev)
{
	struct wlinput *in = data;

	zwlr_data_control_device_v1_destroy(dev);
	in->device = NULL;
}

static void device_primary(void *data, struct zwlr_data_control_device_v1 *dev,
			   struct zwlr_data_control_offer_v1 *offer)
{
	/* Viewers have one clipboard: the primary selection is only set. */
	if (offer)
		zwlr_data_control_offer_v1_destroy(offer);
}

static const struct zwlr_data_control_device_v1_listener device_listener = {
	.data_offer = device_data_offer,
	.selection = device_selection,
	.finished = device_finished,
	.primary_selection = device_primary,
};

/* Reads what the offer's owner writes; at its end, the text to the sink. */
static void read_offer(struct wlinput *in)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(in->read_fd, chunk, sizeof(chunk))) > 0) {
		if (in->read_len + (size_t)n > CLIP_MAX) {
			vnc_debug("wayland clipboard: more than %u bytes, not sent", CLIP_MAX);
			stop_reading(in);
			return;
		}
		char *b = realloc(in->read_buf, in->read_len + (size_t)n + 1);
		if (!b) {
			stop_reading(in);
			return;
		}
		in->read_buf = b;
		memcpy(b + in->read_len, chunk, (size_t)n);
		in->read_len += (size_t)n;
		b[in->read_len] = '\0';
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (in->read_buf && (!in->sent || strcmp(in->sent, in->read_buf))) {
		free(in->sent);
		in->sent = strdup(in->read_buf);
		in->sink.cut_text(in->sink.data, in->read_buf, in->read_len);
	}
	stop_reading(in);
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

/* Sends what the viewers queued. */
static void drain(struct wlinput *in)
{
	struct ev batch[QUEUE_MAX];
	bool clip;
	int n;

	pthread_mutex_lock(&in->lock);
	n = in->q_len;
	for (int i = 0; i < n; i++)
		batch[i] = in->queue[(in->q_head + i) % QUEUE_MAX];
	in->q_head = (in->q_head + n) % QUEUE_MAX;
	in->q_len = 0;
	in->q_full_said = false;
	clip = in->clip_pending;
	in->clip_pending = false;
	pthread_mutex_unlock(&in->lock);
	for (int i = 0; i < n; i++) {
		if (batch[i].kind == EV_KEY)
			do_key(in, batch[i].down, batch[i].keysym);
		else
			do_pointer(in, batch[i].mask, batch[i].x, batch[i].y);
	}
	if (clip)
		do_set_clipboard(in);
}

static void lost(struct wlinput *in)
{
	if (in->dead)
		return;
	in->dead = true;
	vnc_log("wayland input: the compositor went away; input and clipboard are off");
	pthread_mutex_lock(&in->lock);
	in->gone = true;
	in->q_len = 0;
	pthread_mutex_unlock(&in->lock);
}

static void *wl_thread(void *data)
{
	struct wlinput *in = data;
	int fd = wl_display_get_fd(in->dpy);

	while (!in->dead) {
		struct pollfd p[3] = {
			{ .fd = in->wake[0], .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
			{ .fd = in->read_fd, .events = POLLIN },
		};
		while (wl_display_prepare_read(in->dpy) != 0)
			if (wl_display_dispatch_pending(in->dpy) < 0)
				goto gone;
		/* A full socket waits for POLLOUT; nothing else blocks here. */
		if (wl_display_flush(in->dpy) < 0 && errno == EAGAIN)
			p[1].events |= POLLOUT;
		if (poll(p, in->read_fd >= 0 ? 3 : 2, -1) < 0) {
			wl_display_cancel_read(in->dpy);
			continue;
		}
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (wl_display_read_events(in->dpy) < 0)
				goto gone;
		} else {
			wl_display_cancel_read(in->dpy);
		}
		if (wl_display_dispatch_pending(in->dpy) < 0)
			goto gone;
		if (p[0].revents & POLLIN) {
			char b[64];
			while (read(in->wake[0], b, sizeof(b)) > 0)
				;
			pthread_mutex_lock(&in->lock);
			bool stop = in->stopping;
			pthread_mutex_unlock(&in->lock);
			if (stop)
				break;
			drain(in);
		}
		if (in->read_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			read_offer(in);
		if (wl_display_flush(in->dpy) < 0 && errno != EAGAIN)
			goto gone;
	}
	return NULL;
gone:
	lost(in);
	return NULL;
}

static void wake(struct wlinput *in)
{
	ssize_t r = write(in->wake[1], "", 1);
	(void)r; /* a full pipe is already a wake-up */
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static void wl_destroy(void *state);

static int wl_create(void **out, const char *target)
{
	struct wlinput *in;
	int ret = 0;

	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	pthread_mutex_init(&in->lock, NULL);
	vnc_keymap_init(&in->keymap);
	in->wake[0] = in->wake[1] = in->read_fd = -1;
	if (pipe2(in->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	in->dpy = wl_display_connect(target);
	if (!in->dpy) {
		ret = -errno ? -errno : -ECONNREFUSED;
		vnc_log("wayland input: cannot connect to \"%s\": %s",
			target ? target : getenv("WAYLAND_DISPLAY") ? getenv("WAYLAND_DISPLAY") : "wayland-0",
			strerror(-ret));
		goto fail;
	}
	in->registry = wl_display_get_registry(in->dpy);
	wl_registry_add_listener(in->registry, &registry_listener, in);
	/* The globals, then the output's modes. */
	if (wl_display_roundtrip(in->dpy) < 0 || wl_display_roundtrip(in->dpy) < 0) {
		ret = -EPIPE;
		vnc_log("wayland input: the compositor closed the connection");
		goto fail;
	}
	if (!in->seat || !in->pointer_manager || !in->keyboard_manager) {
		ret = -ENOTSUP;
		vnc_log("wayland input: the compositor has no %s", !in->seat ? "seat"
			: !in->pointer_manager ? "zwlr_virtual_pointer_manager_v1"
					       : "zwp_virtual_keyboard_manager_v1");
		goto fail;
	}
	if (in->pointer_manager_version >= 2 && in->output.wl)
		in->pointer = zwlr_virtual_pointer_manager_v1_create_virtual_pointer_with_output(
			in->pointer_manager, in->seat, in->output.wl);
	else
		in->pointer = zwlr_virtual_pointer_manager_v1_create_virtual_pointer(in->pointer_manager,
										      in->seat);
	in->keyboard = zwp_virtual_keyboard_manager_v1_create_virtual_keyboard(in->keyboard_manager,
									       in->seat);
	/* A virtual keyboard takes no key before its keymap. */
	if ((ret = send_keymap(in)) < 0) {
		vnc_log("wayland input: cannot make a keymap: %s", strerror(-ret));
		goto fail;
	}
	if (in->control_manager) {
		in->device = zwlr_data_control_manager_v1_get_data_device(in->control_manager, in->seat);
		zwlr_data_control_device_v1_add_listener(in->device, &device_listener, in);
	} else {
		vnc_log("wayland input: the compositor has no wlr-data-control: no clipboard");
	}
	if (wl_display_roundtrip(in->dpy) < 0) {
		ret = -EPIPE;
		vnc_log("wayland input: the compositor refused the virtual keyboard or pointer");
		goto fail;
	}
	*out = in;
	return 0;
fail:
	wl_destroy(in);
	return ret;
}

static int wl_start(void *state, const struct vnc_input_sink *sink)
{
	struct wlinput *in = state;
	int ret;

	in->sink = *sink;
	ret = -pthread_create(&in->thread, NULL, wl_thread, in);
	if (ret < 0)
		return ret;
	in->started = true;
	return 0;
}

static void wl_stop(void *state)
{
	struct wlinput *in = state;

	if (!in->started)
		return;
	pthread_mutex_lock(&in->lock);
	in->stopping = true;
	pthread_mutex_unlock(&in->lock);
	wake(in);
	pthread_join(in->thread, NULL);
	in->started = false;
}

static void wl_destroy(void *state)
{
	struct wlinput *in = state;

	wl_stop(in);
	stop_reading(in);
	if (in->dpy)
		wl_display_disconnect(in->dpy); /* the compositor frees our objects */
	for (int i = 0; i < 2; i++)
		if (in->wake[i] >= 0)
			close(in->wake[i]);
	free(in->clip);
	free(in->sent);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

/* Queues one event for the thread; drops it when full or gone. */
static void enqueue(struct wlinput *in, const struct ev *ev)
{
	bool said = true;

	pthread_mutex_lock(&in->lock);
	if (in->gone) {
		pthread_mutex_unlock(&in->lock);
		return;
	}
	struct ev *last = in->q_len ? &in->queue[(in->q_head + in->q_len - 1) % QUEUE_MAX] : NULL;
	if (ev->kind == EV_POINTER && last && last->kind == EV_POINTER && last->mask == ev->mask) {
		*last = *ev; /* a motion replaces the one not yet sent */
	} else if (in->q_len < QUEUE_MAX) {
		in->queue[(in->q_head + in->q_len++) % QUEUE_MAX] = *ev;
	} else {
		said = in->q_full_said;
		in->q_full_said = true;
	}
	pthread_mutex_unlock(&in->lock);
	if (!said)
		vnc_log("wayland input: the compositor is not keeping up; input dropped");
	wake(in);
}

static void wl_key(void *state, bool down, uint32_t keysym)
{
	if (keysym == 0)
		return;
	enqueue(state, &(struct ev){ .kind = EV_KEY, .down = down, .keysym = keysym });
}

static void wl_pointer(void *state, int mask, int x, int y)
{
	enqueue(state, &(struct ev){ .kind = EV_POINTER, .mask = mask, .x = x, .y = y });
}

static void wl_set_clipboard(void *state, const char *text, size_t len)
{
	struct wlinput *in = state;
	char *copy = strndup(text, len);

	if (!copy)
		return;
	pthread_mutex_lock(&in->lock);
	free(in->clip);
	in->clip = copy;
	in->clip_len = strlen(copy);
	in->clip_pending = true;
	pthread_mutex_unlock(&in->lock);
	wake(in);
}

const struct vnc_input_impl vnc_input_wayland = {
	.name = "wayland",
	.create = wl_create,
	.start = wl_start,
	.stop = wl_stop,
	.destroy = wl_destroy,
	.key = wl_key,
	.pointer = wl_pointer,
	.set_clipboard = wl_set_clipboard,
	.resize = NULL, /* an output's size is the compositor's to set */
};
