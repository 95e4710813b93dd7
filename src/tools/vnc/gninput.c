/* SPDX-License-Identifier: MIT */
/*
 * Input into a GNOME session through org.gnome.Mutter.RemoteDesktop
 * (mutter's data/dbus-interfaces/org.gnome.Mutter.RemoteDesktop.xml): a
 * RemoteDesktop session of our own, linked to a ScreenCast session of the
 * mirrored monitor, because mutter takes absolute pointer motion only on
 * a stream (in the stream's pixels, which are the mirror's).  Nobody
 * reads that stream's frames: mutter records nothing for it.
 *
 *   keys      NotifyKeyboardKeysym (u keysym, b pressed): mutter finds the
 *             key in its keymap (and the level's Shift); a keysym its
 *             layout lacks is dropped by mutter with a warning of its own
 *   pointer   NotifyPointerMotionAbsolute (s stream, d x, d y),
 *             NotifyPointerButton (i evdev code, b pressed),
 *             NotifyPointerAxisDiscrete (u axis 0 vertical / 1 horizontal,
 *             i steps) for RFB's wheel buttons 4-7
 *   clipboard EnableClipboard; a viewer's text: SetSelection, then
 *             SelectionTransfer -> SelectionWrite (an fd) ->
 *             SelectionWriteDone; the desktop's: SelectionOwnerChanged ->
 *             SelectionRead (an fd) read to its end
 *
 * One thread owns the D-Bus connection (sd-bus is not thread-safe): the
 * viewers' threads only queue (inqueue.c), and the calls are sent without
 * waiting for mutter's answer, so a slow mutter never blocks a viewer and
 * a dead one only ends input.  Mutter closes every session when its
 * monitors change: the sessions are made anew then, like the mirror's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "inqueue.h"
#include "input.h"
#include "screencast.h"
#include "vnc.h"

#define RD_SESSION "org.gnome.Mutter.RemoteDesktop.Session"
#define BTN_LEFT 0x110
#define BTN_RIGHT 0x111
#define BTN_MIDDLE 0x112
#define TEXT_MIME "text/plain;charset=utf-8"
/* After mutter closed the sessions (a monitor change): a new try then,
 * and at most this many in a row before input is given up. */
#define REOPEN_DELAY_MS 300
#define REOPEN_TRIES 20

struct gninput {
	struct vnc_inqueue q;        /* first: the table's key, pointer, clipboard */
	struct screencast sc;
	char connector[MIRAGE_MONITOR_NAME_MAX];

	/* The thread's own (no lock). */
	int mask;                    /* buttons down, as last sent */
	bool dead;                   /* input given up (said once) */
	bool clip_owner;             /* the selection is ours (a viewer's text) */
	bool refused_said;
	uint64_t reopen_at;          /* ms: sessions to make anew, or 0 */
	int reopen_tries;
	struct vnc_clip_reader reader; /* the desktop's selection being read */

	struct vnc_input_sink sink;
	pthread_t thread;
	bool started;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sc_log(enum mirage_log_level level, const char *text)
{
	if (level <= MIRAGE_LOG_WARNING)
		vnc_log("gnome input: %s", text);
	else
		vnc_debug("gnome input: %s", text);
}

/* Mutter's answer to a call sent without waiting: only a refusal matters. */
static int on_reply(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct gninput *in = data;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)err;
	if (e && !in->refused_said) {
		/* Said once: a viewer holding a key mutter lacks would flood. */
		in->refused_said = true;
		vnc_log("gnome input: mutter refused %s: %s (said once)", sd_bus_message_get_member(m) ?
			sd_bus_message_get_member(m) : "a call", e->message ? e->message : e->name);
	}
	return 0;
}

/* Sends a call of the RemoteDesktop session; its answer comes to on_reply. */
static void call(struct gninput *in, const char *method, const char *types, ...)
{
	va_list ap;
	int ret;

	if (in->dead || in->reopen_at || !in->sc.remote)
		return; /* dropped: no session to give it to */
	va_start(ap, types);
	ret = sd_bus_call_method_asyncv(in->sc.bus, NULL, in->sc.mutter, in->sc.remote, RD_SESSION, method,
					on_reply, in, types, ap);
	va_end(ap);
	if (ret < 0)
		vnc_debug("gnome input: %s not sent: %s", method, strerror(-ret));
}

static void do_pointer(struct gninput *in, int mask, int x, int y)
{
	static const int32_t buttons[3] = { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT };

	call(in, "NotifyPointerMotionAbsolute", "sdd", in->sc.stream, (double)(x < 0 ? 0 : x),
	     (double)(y < 0 ? 0 : y));
	for (int b = 0; b < 3; b++)
		if ((mask ^ in->mask) & (1 << b))
			call(in, "NotifyPointerButton", "ib", buttons[b], (mask & (1 << b)) != 0);
	/* Wheel buttons 4-7 (bits 3-6): one step on the press. */
	for (int b = 3; b < 7; b++) {
		if (!(mask & (1 << b)) || (in->mask & (1 << b)))
			continue;
		call(in, "NotifyPointerAxisDiscrete", "ui", b < 5 ? 0u : 1u, (b == 3 || b == 5) ? -1 : 1);
	}
	in->mask = mask;
}

/* ------------------------------------------------------------------ */
/* The clipboard                                                       */
/* ------------------------------------------------------------------ */

/* A viewer's text: the selection is ours, offered as UTF-8 text. */
static void do_set_clipboard(struct gninput *in)
{
	sd_bus_message *m = NULL;
	int ret;

	if (in->dead || in->reopen_at || !in->sc.remote)
		return;
	ret = sd_bus_message_new_method_call(in->sc.bus, &m, in->sc.mutter, in->sc.remote, RD_SESSION,
					     "SetSelection");
	if (ret >= 0)
		ret = sd_bus_message_append(m, "a{sv}", 1, "mime-types", "as", 1, TEXT_MIME);
	if (ret >= 0)
		ret = sd_bus_call_async(in->sc.bus, NULL, m, on_reply, in, 0);
	if (ret >= 0)
		in->clip_owner = true;
	sd_bus_message_unref(m);
}

/* SelectionWrite's answer: the fd the pasting client reads our text
 * from; whether all of it was written. */
static bool write_selection(struct gninput *in, sd_bus_message *reply)
{
	bool ok = false;
	int fd;

	if (sd_bus_message_read(reply, "h", &fd) >= 0) {
		char *text = vnc_inqueue_clip(&in->q);
		int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		if (own >= 0 && text)
			ok = vnc_write_all(own, text, strlen(text)) == 0;
		if (own >= 0)
			close(own);
		free(text);
	}
	return ok;
}

/* Mutter asks for our selection (a client pastes it). */
static int on_transfer(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct gninput *in = data;
	const char *mime;
	uint32_t serial;
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	bool ok = false;

	(void)err;
	if (sd_bus_message_read(m, "su", &mime, &serial) < 0)
		return 0;
	/*
	 * Answered here and now: mutter holds the pasting client until
	 * SelectionWriteDone, and the text is at most VNC_CLIP_MAX.  The
	 * write gives up on a client that stalls (vnc_write_all).
	 */
	if (!strcmp(mime, TEXT_MIME) &&
	    sd_bus_call_method(in->sc.bus, in->sc.mutter, in->sc.remote, RD_SESSION, "SelectionWrite", &e, &reply,
			       "u", serial) >= 0)
		ok = write_selection(in, reply);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	call(in, "SelectionWriteDone", "ub", serial, ok);
	return 0;
}

/* SelectionRead's answer: the fd the desktop's text comes through. */
static int on_read_fd(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct gninput *in = data;
	int fd;

	(void)err;
	if (sd_bus_message_is_method_error(m, NULL)) {
		vnc_debug("gnome clipboard: SelectionRead: %s", sd_bus_message_get_error(m)->message);
		return 0;
	}
	if (sd_bus_message_read(m, "h", &fd) >= 0) {
		int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (own >= 0)
			vnc_clip_reader_start(&in->reader, own);
	}
	return 0;
}

/* The desktop's selection has a new owner: read it when it is text and not ours. */
static int on_owner_changed(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct gninput *in = data;
	bool text = false, ours = false;
	const char *key;

	(void)err;
	if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &key) < 0)
			return 0;
		if (!strcmp(key, "mime-types") && sd_bus_message_enter_container(m, 'v', "as") > 0) {
			const char *t;
			while (sd_bus_message_read(m, "s", &t) > 0)
				text = text || !strcmp(t, TEXT_MIME);
			if (sd_bus_message_exit_container(m) < 0)
				return 0;
		} else if (!strcmp(key, "session-is-owner") && sd_bus_message_enter_container(m, 'v', "b") > 0) {
			int b = 0;
			if (sd_bus_message_read(m, "b", &b) < 0 || sd_bus_message_exit_container(m) < 0)
				return 0;
			ours = b;
		} else if (sd_bus_message_skip(m, "v") < 0) {
			return 0;
		}
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	in->clip_owner = ours;
	if (ours || !text)
		return 0;
	vnc_clip_reader_stop(&in->reader);
	(void)sd_bus_call_method_async(in->sc.bus, NULL, in->sc.mutter, in->sc.remote, RD_SESSION, "SelectionRead",
				       on_read_fd, in, "s", TEXT_MIME);
	return 0;
}

/* The clipboard of the new session; false (said) where mutter has none. */
static bool enable_clipboard(struct gninput *in)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int ret;

	ret = sd_bus_match_signal(in->sc.bus, NULL, in->sc.mutter, in->sc.remote, RD_SESSION,
				  "SelectionOwnerChanged", on_owner_changed, in);
	if (ret >= 0)
		ret = sd_bus_match_signal(in->sc.bus, NULL, in->sc.mutter, in->sc.remote, RD_SESSION,
					  "SelectionTransfer", on_transfer, in);
	if (ret >= 0)
		ret = sd_bus_call_method(in->sc.bus, in->sc.mutter, in->sc.remote, RD_SESSION, "EnableClipboard", &e,
					 NULL, "a{sv}", 0);
	if (ret < 0)
		vnc_log("gnome input: no clipboard (mutter's EnableClipboard: %s)",
			e.message ? e.message : strerror(-ret));
	sd_bus_error_free(&e);
	return ret >= 0;
}

/* The sessions, made (anew); 0 or -errno (logged by screencast.c). */
static int open_sessions(struct gninput *in)
{
	struct screencast_request req = {
		.connector = in->connector,
		.cursor = SCREENCAST_CURSOR_HIDDEN,
		.remote_desktop = true,
	};
	int ret = screencast_open(&in->sc, &req);

	if (ret < 0)
		return ret;
	in->mask = 0;
	in->clip_owner = false;
	(void)enable_clipboard(in);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

static bool drain(struct gninput *in)
{
	struct vnc_ev batch[VNC_INQUEUE_MAX];
	bool clip;
	int n = vnc_inqueue_take(&in->q, batch, &clip);

	if (n < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (batch[i].kind == VNC_EV_KEY)
			call(in, "NotifyKeyboardKeysym", "ub", batch[i].keysym, batch[i].down);
		else
			do_pointer(in, batch[i].mask, batch[i].x, batch[i].y);
	}
	if (clip)
		do_set_clipboard(in);
	return true;
}

static void give_up(struct gninput *in, const char *why)
{
	in->dead = true;
	in->reopen_at = 0;
	vnc_inqueue_gone(&in->q, why);
}

/* Mutter closed the sessions, or left: made anew later, or given up. */
static void look_at_sessions(struct gninput *in)
{
	if (in->sc.gone) {
		give_up(in, "mutter went away");
		return;
	}
	if (in->sc.closed && !in->reopen_at) {
		vnc_debug("gnome input: mutter closed the session; a new one in %d ms", REOPEN_DELAY_MS);
		vnc_clip_reader_stop(&in->reader);
		screencast_close(&in->sc);
		in->reopen_at = now_ms() + REOPEN_DELAY_MS;
	}
	if (in->reopen_at && now_ms() >= in->reopen_at) {
		in->reopen_at = 0;
		if (open_sessions(in) == 0) {
			in->reopen_tries = 0;
			vnc_debug("gnome input: a new session on monitor %s", in->sc.connector);
		} else if (++in->reopen_tries >= REOPEN_TRIES) {
			give_up(in, "mutter refused new sessions");
		} else {
			screencast_close(&in->sc);
			in->reopen_at = now_ms() + REOPEN_DELAY_MS;
		}
	}
}

static void *gn_thread(void *data)
{
	struct gninput *in = data;

	for (;;) {
		bool bus = in->sc.bus && !in->dead;
		struct pollfd p[3] = {
			{ .fd = in->q.wake[0], .events = POLLIN },
			{ .fd = bus ? screencast_fd(&in->sc) : -1,
			  .events = bus ? (short)sd_bus_get_events(in->sc.bus) : 0 },
			{ .fd = in->reader.fd, .events = POLLIN },
		};
		int timeout = -1;

		if (in->reopen_at) {
			uint64_t t = now_ms();
			timeout = in->reopen_at > t ? (int)(in->reopen_at - t) : 0;
		}
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break;
		if ((p[0].revents & POLLIN) && !drain(in))
			break;
		if (in->reader.fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			vnc_clip_reader_read(&in->reader, &in->sink);
		/* What drain queued goes out here, what arrived is handled. */
		if (in->sc.bus && !in->dead && screencast_dispatch(&in->sc) < 0)
			in->sc.gone = true;
		if (!in->dead)
			look_at_sessions(in);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static void gn_destroy(void *state);

/* target: the mirrored monitor's connector (NULL: mutter's first). */
static int gn_create(void **out, const char *target)
{
	struct gninput *in = calloc(1, sizeof(*in));
	int ret;

	if (!in)
		return -ENOMEM;
	vnc_clip_reader_init(&in->reader, "gnome clipboard");
	if ((ret = vnc_inqueue_init(&in->q, "gnome input")) < 0) {
		free(in);
		return ret;
	}
	in->sc.log = sc_log;
	if (target)
		snprintf(in->connector, sizeof(in->connector), "%s", target);
	if ((ret = open_sessions(in)) < 0) {
		gn_destroy(in);
		return ret;
	}
	*out = in;
	return 0;
}

static int gn_start(void *state, const struct vnc_input_sink *sink)
{
	struct gninput *in = state;
	int ret;

	in->sink = *sink;
	ret = -pthread_create(&in->thread, NULL, gn_thread, in);
	if (ret < 0)
		return ret;
	in->started = true;
	return 0;
}

static void gn_stop(void *state)
{
	struct gninput *in = state;

	if (!in->started)
		return;
	vnc_inqueue_stop(&in->q);
	pthread_join(in->thread, NULL);
	in->started = false;
}

static void gn_destroy(void *state)
{
	struct gninput *in = state;

	gn_stop(in);
	vnc_clip_reader_fini(&in->reader);
	screencast_close(&in->sc); /* mutter ends the sessions */
	vnc_inqueue_fini(&in->q);
	free(in);
}

const struct vnc_input_impl vnc_input_gnome = {
	.name = "gnome",
	.create = gn_create,
	.start = gn_start,
	.stop = gn_stop,
	.destroy = gn_destroy,
	.key = vnc_inqueue_key,
	.pointer = vnc_inqueue_pointer,
	.set_clipboard = vnc_inqueue_clipboard,
	.resize = NULL, /* the monitor's size is mutter's to set */
};
