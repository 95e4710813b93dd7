/* SPDX-License-Identifier: MIT */
/*
 * Input into a wlroots compositor: keys through zwp_virtual_keyboard_v1,
 * the pointer through zwlr_virtual_pointer_v1, the clipboard both ways
 * through wlr-data-control.
 *
 * One thread owns the Wayland connection; the viewers' threads only queue
 * what they send (inqueue.c), so a dead or slow compositor never blocks
 * them.
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

#include "inqueue.h"
#include "input.h"
#include "vnc.h"
#include "virtual-keyboard-unstable-v1-client-protocol.h"
#include "wlr-data-control-unstable-v1-client-protocol.h"
#include "wlr-virtual-pointer-unstable-v1-client-protocol.h"
#include "wlkeymap.h"
#include "wlout.h"

#define BTN_LEFT 0x110
#define BTN_RIGHT 0x111
#define BTN_MIDDLE 0x112

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
	struct vnc_inqueue q;        /* first: the table's key, pointer, clipboard */
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
	struct vnc_clip_reader reader; /* the offer being read */
	bool dead;               /* the connection is gone (said once) */

	struct vnc_input_sink sink;
	pthread_t thread;
	bool started;
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

static void source_send(void *data, struct zwlr_data_control_source_v1 *src, const char *mime, int32_t fd)
{
	struct wlinput *in = data;

	char *text = vnc_inqueue_clip(&in->q);

	if (text)
		(void)vnc_write_all(fd, text, strlen(text));
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
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	/* The first text type offered, in the order of preference. */
	zwlr_data_control_offer_v1_receive(offer, mime_names[__builtin_ctz((unsigned)mask)], p[1]);
	close(p[1]);
	vnc_clip_reader_start(&in->reader, p[0]);
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

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

/* Sends what the viewers queued; false once stopping. */
static bool drain(struct wlinput *in)
{
	struct vnc_ev batch[VNC_INQUEUE_MAX];
	bool clip;
	int n = vnc_inqueue_take(&in->q, batch, &clip);

	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (batch[i].kind == VNC_EV_KEY)
			do_key(in, batch[i].down, batch[i].keysym);
		else
			do_pointer(in, batch[i].mask, batch[i].x, batch[i].y);
	}
	if (clip)
		do_set_clipboard(in);
	return true;
}

static void lost(struct wlinput *in)
{
	if (in->dead)
		return;
	in->dead = true;
	vnc_inqueue_gone(&in->q, "the compositor went away");
}

static void *wl_thread(void *data)
{
	struct wlinput *in = data;
	int fd = wl_display_get_fd(in->dpy);

	while (!in->dead) {
		struct pollfd p[3] = {
			{ .fd = in->q.wake[0], .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
			{ .fd = in->reader.fd, .events = POLLIN },
		};
		while (wl_display_prepare_read(in->dpy) != 0)
			if (wl_display_dispatch_pending(in->dpy) < 0)
				goto gone;
		/* A full socket waits for POLLOUT; nothing else blocks here. */
		if (wl_display_flush(in->dpy) < 0 && errno == EAGAIN)
			p[1].events |= POLLOUT;
		if (poll(p, in->reader.fd >= 0 ? 3 : 2, -1) < 0) {
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
		if ((p[0].revents & POLLIN) && !drain(in))
			break;
		if (in->reader.fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			vnc_clip_reader_read(&in->reader, &in->sink);
		if (wl_display_flush(in->dpy) < 0 && errno != EAGAIN)
			goto gone;
	}
	return NULL;
gone:
	lost(in);
	return NULL;
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
	vnc_keymap_init(&in->keymap);
	vnc_clip_reader_init(&in->reader, "wayland clipboard");
	if ((ret = vnc_inqueue_init(&in->q, "wayland input")) < 0) {
		free(in);
		return ret;
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
	vnc_inqueue_stop(&in->q);
	pthread_join(in->thread, NULL);
	in->started = false;
}

static void wl_destroy(void *state)
{
	struct wlinput *in = state;

	wl_stop(in);
	vnc_clip_reader_fini(&in->reader);
	if (in->dpy)
		wl_display_disconnect(in->dpy); /* the compositor frees our objects */
	vnc_inqueue_fini(&in->q);
	free(in);
}

const struct vnc_input_impl vnc_input_wayland = {
	.name = "wayland",
	.create = wl_create,
	.start = wl_start,
	.stop = wl_stop,
	.destroy = wl_destroy,
	.key = vnc_inqueue_key,
	.pointer = vnc_inqueue_pointer,
	.set_clipboard = vnc_inqueue_clipboard,
	.resize = NULL, /* an output's size is the compositor's to set */
};
