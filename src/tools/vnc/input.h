/* SPDX-License-Identifier: MIT */
/*
 * Input into the desktop being served, behind a table of operations: keys,
 * pointer, clipboard both ways, resize.  One backend a kind of desktop:
 * X11 through XTEST and the selections (xinput.c); Wayland compositors
 * plug in the same way.  server.c calls only the vnc_input_* functions
 * below and hears the desktop's clipboard through the sink it gives.
 *
 * Threads: key, pointer, set_clipboard and resize come from the network
 * thread and must not block on a dead or slow desktop (drop what cannot be
 * sent, log once).  A backend may run a thread of its own between start
 * and stop (the clipboard); sink.cut_text is called from it.
 */
#ifndef MIRAGE_VNC_INPUT_H
#define MIRAGE_VNC_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a backend sends the desktop's clipboard (UTF-8). */
struct vnc_input_sink {
	void (*cut_text)(void *data, const char *text, size_t len);
	void *data;
};

struct vnc_input_impl {
	const char *name; /* "x11", "wayland": in messages */
	/* Connects to target (a display name, NULL for the environment's);
	 * 0 or -errno with a one-line message logged. */
	int (*create)(void **state, const char *target);
	/* Starts what runs on its own (the clipboard); 0 or -errno. */
	int (*start)(void *state, const struct vnc_input_sink *sink);
	/* Stops it; after stop the sink is no longer called.  Idempotent. */
	void (*stop)(void *state);
	void (*destroy)(void *state);
	/* keysym: X11 keysym as RFB sends it. */
	void (*key)(void *state, bool down, uint32_t keysym);
	/* mask: RFB button mask (bit 0 left ... bits 3-6 the wheel). */
	void (*pointer)(void *state, int mask, int x, int y);
	/* Text from a viewer becomes the desktop's clipboard (and primary). */
	void (*set_clipboard)(void *state, const char *text, size_t len);
	/* The desktop's size; NULL or -ENOTSUP where it cannot be set. */
	int (*resize)(void *state, int width, int height);
};

extern const struct vnc_input_impl vnc_input_x11;
extern const struct vnc_input_impl vnc_input_wayland;
extern const struct vnc_input_impl vnc_input_gnome;

struct vnc_input;

int vnc_input_create(struct vnc_input **out, const struct vnc_input_impl *impl,
		     const char *target) __attribute__((warn_unused_result));
int vnc_input_start(struct vnc_input *in, const struct vnc_input_sink *sink)
	__attribute__((warn_unused_result));
/* Before the sink's owner goes.  in may be NULL. */
void vnc_input_stop(struct vnc_input *in);
void vnc_input_destroy(struct vnc_input *in);
void vnc_input_key(struct vnc_input *in, bool down, uint32_t keysym);
void vnc_input_pointer(struct vnc_input *in, int mask, int x, int y);
void vnc_input_set_clipboard(struct vnc_input *in, const char *text, size_t len);
/* 0, or -ENOTSUP where the backend cannot, or -errno. */
int vnc_input_resize(struct vnc_input *in, int width, int height);
const char *vnc_input_name(const struct vnc_input *in);

#endif /* MIRAGE_VNC_INPUT_H */
