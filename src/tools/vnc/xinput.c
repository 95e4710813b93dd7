/* SPDX-License-Identifier: MIT */
/*
 * Input into the mirrored X display: keys and pointer through XTEST, the
 * clipboard through the CLIPBOARD and PRIMARY selections, resize through
 * RandR.
 *
 * Two X connections: `dpy` for input and RandR, used from the viewers'
 * input threads under `lock`; `sel_dpy` belongs to the clipboard thread,
 * which owns the selections and watches them with XFixes.  Xlib is never
 * used from two threads on one connection, so XInitThreads is not needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <X11/Xatom.h>
#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <X11/keysym.h>
#include <X11/extensions/XTest.h>
#include <X11/extensions/Xfixes.h>
#include <X11/extensions/Xrandr.h>

#include "input.h"
#include "vnc.h"

#define REMAP_MAX 16 /* keysyms missing from the keymap, bound on demand */

struct xinput {
	pthread_mutex_t lock; /* dpy, mask, remap, clip */
	Display *dpy;
	bool dpy_dead;        /* its X server went away (x_io_exit) */
	bool sel_dead;        /* the same for sel_dpy (the clipboard thread's) */
	int mask;             /* buttons down, as the viewers sent them */
	int shift;            /* Shift keys down, as the viewers sent them */
	struct {
		KeySym sym;
		KeyCode code;
	} remap[REMAP_MAX];
	int remap_next;

	/* The clipboard thread and what it shares (under lock). */
	Display *sel_dpy;
	Window win;
	Atom clipboard, utf8, targets, text_atom, prop, incr;
	int xfixes_event;
	int wake[2];          /* viewer threads -> clipboard thread */
	char *clip;           /* text a viewer gave us; we own the selections */
	size_t clip_len;
	bool clip_pending;    /* take the selections for clip */
	char *sent;           /* text last sent to the viewers (no echo) */
	struct vnc_input_sink sink; /* where the desktop's clipboard goes */
	pthread_t thread;
	bool started;
};

static int x_errors(Display *dpy, XErrorEvent *ev)
{
	char msg[128];

	XGetErrorText(dpy, ev->error_code, msg, sizeof(msg));
	vnc_debug("X error: %s (request %d)", msg, ev->request_code);
	return 0;
}

/*
 * The X server went away.  Xlib's default handlers print a few lines and
 * exit() from whichever thread noticed, which would skip mirage-vnc's own
 * end: the embedded Xorg's directory left behind, the manager role not
 * given back.  Here the loss is said in one line and the thread goes on
 * (Xlib drops what is sent on a connection it marked broken); the end of
 * Xorg or of mirage-x11 then stops mirage-vnc in order, and a display that
 * is only the input's (--input-display) turns input or the clipboard off.
 */
static int x_io_error(Display *dpy)
{
	(void)dpy;
	return 0;
}

static void x_io_exit(Display *dpy, void *data)
{
	struct xinput *in = data;
	bool sel = dpy == in->sel_dpy;
	bool *dead = sel ? &in->sel_dead : &in->dpy_dead;

	if (*dead)
		return;
	*dead = true;
	vnc_log("lost the connection to X display %s: %s off", DisplayString(dpy),
		sel ? "the clipboard is" : "input is");
}

static void x_destroy(void *state);

static int x_create(void **out, const char *display)
{
	struct xinput *in;
	int ev, err, major, minor;

	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	pthread_mutex_init(&in->lock, NULL);
	in->wake[0] = in->wake[1] = -1;
	XSetErrorHandler(x_errors);
	XSetIOErrorHandler(x_io_error);
	in->dpy = XOpenDisplay(display);
	in->sel_dpy = in->dpy ? XOpenDisplay(display) : NULL;
	if (!in->dpy || !in->sel_dpy) {
		vnc_log("cannot open X display %s", display ? display : "(DISPLAY)");
		x_destroy(in);
		return -ECONNREFUSED;
	}
	XSetIOErrorExitHandler(in->dpy, x_io_exit, in);
	XSetIOErrorExitHandler(in->sel_dpy, x_io_exit, in);
	if (!XTestQueryExtension(in->dpy, &ev, &err, &major, &minor)) {
		vnc_log("X display %s has no XTEST: input is off", display);
		XCloseDisplay(in->dpy);
		in->dpy = NULL;
	}
	*out = in;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Keyboard and pointer                                                */
/* ------------------------------------------------------------------ */

/*
 * A keysym with no key in the map (a viewer on another layout) gets a spare
 * keycode, one with no symbols, bound to it for as long as it is needed.
 */
static KeyCode remap_key(struct xinput *in, KeySym sym)
{
	int min, max, per;
	KeySym *map;
	KeyCode code = 0;

	for (int i = 0; i < REMAP_MAX; i++)
		if (in->remap[i].code && in->remap[i].sym == sym)
			return in->remap[i].code;
	XDisplayKeycodes(in->dpy, &min, &max);
	map = XGetKeyboardMapping(in->dpy, (KeyCode)min, max - min + 1, &per);
	if (!map)
		return 0;
	/* Prefer a keycode we bound before (round robin), else an empty one. */
	int slot = in->remap_next;
	if (in->remap[slot].code) {
		code = in->remap[slot].code;
	} else {
		for (int k = max; k >= min && !code; k--) {
			bool empty = true, ours = false;
			for (int j = 0; j < per; j++)
				if (map[(k - min) * per + j] != NoSymbol)
					empty = false;
			for (int i = 0; i < REMAP_MAX; i++)
				if (in->remap[i].code == k)
					ours = true;
			if (empty && !ours)
				code = (KeyCode)k;
		}
	}
	XFree(map);
	if (!code)
		return 0;
	KeySym syms[2] = { sym, sym };
	XChangeKeyboardMapping(in->dpy, code, 2, syms, 1);
	XSync(in->dpy, False);
	in->remap[slot].sym = sym;
	in->remap[slot].code = code;
	in->remap_next = (slot + 1) % REMAP_MAX;
	return code;
}

static void x_key(void *state, bool down, uint32_t keysym)
{
	struct xinput *in = state;
	KeyCode code;

	pthread_mutex_lock(&in->lock);
	if (!in->dpy || in->dpy_dead)
		goto out;
	code = XKeysymToKeycode(in->dpy, keysym);
	if (!code)
		code = remap_key(in, keysym);
	if (!code) {
		vnc_debug("keysym 0x%x: no keycode free to bind it", keysym);
		goto out;
	}
	if (keysym == XK_Shift_L || keysym == XK_Shift_R)
		in->shift += down ? 1 : in->shift > 0 ? -1 : 0;
	/*
	 * A keysym on the shifted level ("A", "!") from a viewer that did not
	 * send Shift (or that sends keysyms only) gets Shift around it.
	 */
	bool fake_shift = down && in->shift == 0 &&
			  XkbKeycodeToKeysym(in->dpy, code, 0, 0) != keysym &&
			  XkbKeycodeToKeysym(in->dpy, code, 0, 1) == keysym;
	KeyCode shift_code = fake_shift ? XKeysymToKeycode(in->dpy, XK_Shift_L) : 0;
	if (shift_code)
		XTestFakeKeyEvent(in->dpy, shift_code, True, CurrentTime);
	XTestFakeKeyEvent(in->dpy, code, down, CurrentTime);
	if (shift_code)
		XTestFakeKeyEvent(in->dpy, shift_code, False, CurrentTime);
	XFlush(in->dpy);
out:
	pthread_mutex_unlock(&in->lock);
}

static void x_pointer(void *state, int mask, int x, int y)
{
	struct xinput *in = state;
	pthread_mutex_lock(&in->lock);
	if (!in->dpy || in->dpy_dead)
		goto out;
	XTestFakeMotionEvent(in->dpy, -1, x, y, CurrentTime);
	/* RFB bit n is X button n + 1: 1-3 buttons, 4/5 wheel, 6/7 horizontal. */
	for (int b = 0; b < 8; b++) {
		int bit = 1 << b;
		if ((mask & bit) != (in->mask & bit))
			XTestFakeButtonEvent(in->dpy, (unsigned)b + 1, (mask & bit) != 0, CurrentTime);
	}
	in->mask = mask;
	XFlush(in->dpy);
out:
	pthread_mutex_unlock(&in->lock);
}

/* ------------------------------------------------------------------ */
/* Resize                                                              */
/* ------------------------------------------------------------------ */

/*
 * A 60 Hz mode of width x height with VESA CVT timings (standard blanking;
 * computed here, as cvt(1) does, so that no helper program is needed).
 * The active size is exact even when it is not a multiple of the 8-pixel
 * character cell: only the blanking is rounded.
 */
static void cvt_mode(XRRModeInfo *m, int width, int height)
{
	const double rate = 60.0, min_vsync_bp = 550.0; /* us */
	const int cell = 8, min_porch = 3, min_vbp = 6, vsync = 10;
	const double c_prime = 30.0, m_prime = 300.0, clock_step = 0.25; /* MHz */
	int hactive = (width + cell - 1) / cell * cell;
	double hperiod = (1e6 / rate - min_vsync_bp) / (height + min_porch); /* us */
	int vsync_bp = (int)(min_vsync_bp / hperiod) + 1;
	double duty;
	int hblank, htotal, hsync;
	double clock;

	if (vsync_bp < vsync + min_vbp)
		vsync_bp = vsync + min_vbp;
	duty = c_prime - m_prime * hperiod / 1000.0;
	if (duty < 20.0)
		duty = 20.0;
	hblank = (int)(hactive * duty / (100.0 - duty) / (2 * cell)) * 2 * cell;
	htotal = hactive + hblank;
	clock = (int)(htotal / hperiod / clock_step) * clock_step;
	hsync = (int)(0.08 * htotal / cell) * cell;

	memset(m, 0, sizeof(*m));
	m->width = (unsigned)width;
	m->height = (unsigned)height;
	m->dotClock = (unsigned long)(clock * 1e6);
	m->hSyncEnd = (unsigned)(hactive + hblank / 2);
	m->hSyncStart = m->hSyncEnd - (unsigned)hsync;
	m->hTotal = (unsigned)htotal;
	m->vSyncStart = (unsigned)(height + min_porch);
	m->vSyncEnd = m->vSyncStart + vsync;
	m->vTotal = (unsigned)(height + vsync_bp + min_porch);
	m->modeFlags = RR_HSyncNegative | RR_VSyncPositive;
}

/* An error on resize_dpy while a resize waits for the server's verdict
 * (Xlib's error handler is global: the clipboard thread's display errs
 * elsewhere).  Under the input lock. */
static Display *resize_dpy;
static int resize_error;

static int x_errors_catch(Display *dpy, XErrorEvent *ev)
{
	if (dpy == resize_dpy && !resize_error)
		resize_error = ev->error_code;
	else
		x_errors(dpy, ev);
	return 0;
}

static int x_resize(void *state, int width, int height)
{
	struct xinput *in = state;
	XRRScreenResources *res = NULL;
	XRROutputInfo *out = NULL;
	XRRCrtcInfo *crtc = NULL;
	RROutput output = None;
	RRMode mode = 0;
	int (*old_handler)(Display *, XErrorEvent *) = NULL;
	int ret = -ENOTSUP, minw, minh, maxw, maxh;
	Window root;

	pthread_mutex_lock(&in->lock);
	if (!in->dpy || in->dpy_dead)
		goto out;
	root = DefaultRootWindow(in->dpy);
	if (!XRRGetScreenSizeRange(in->dpy, root, &minw, &minh, &maxw, &maxh) ||
	    width < minw || height < minh || width > maxw || height > maxh) {
		vnc_log("resize to %dx%d refused: outside the screen's size range", width, height);
		goto out;
	}
	res = XRRGetScreenResourcesCurrent(in->dpy, root);
	if (!res)
		goto out;
	/* The first output with a CRTC; a mode of that exact size on it. */
	for (int i = 0; i < res->noutput && !crtc; i++) {
		out = XRRGetOutputInfo(in->dpy, res, res->outputs[i]);
		if (out && out->crtc) {
			crtc = XRRGetCrtcInfo(in->dpy, res, out->crtc);
			output = res->outputs[i];
			break;
		}
		if (out)
			XRRFreeOutputInfo(out);
		out = NULL;
	}
	if (!crtc)
		goto out;
	for (int i = 0; i < out->nmode && !mode; i++)
		for (int j = 0; j < res->nmode; j++)
			if (res->modes[j].id == out->modes[i] &&
			    (int)res->modes[j].width == width && (int)res->modes[j].height == height)
				mode = res->modes[j].id;

	resize_error = 0;
	resize_dpy = in->dpy;
	old_handler = XSetErrorHandler(x_errors_catch);
	XGrabServer(in->dpy);
	if (!mode) {
		/* No such mode on the output: one of that size known to the
		 * screen (added before), else a new one with CVT timings. */
		for (int j = 0; j < res->nmode && !mode; j++)
			if ((int)res->modes[j].width == width && (int)res->modes[j].height == height)
				mode = res->modes[j].id;
		if (!mode) {
			XRRModeInfo info;
			char name[32];

			cvt_mode(&info, width, height);
			snprintf(name, sizeof(name), "%dx%d_mirage", width, height);
			info.name = name;
			info.nameLength = (unsigned)strlen(name);
			mode = XRRCreateMode(in->dpy, root, &info);
		}
		XRRAddOutputMode(in->dpy, output, mode);
		XSync(in->dpy, False);
		if (resize_error || !mode) {
			XUngrabServer(in->dpy);
			vnc_log("resize to %dx%d refused: the display did not take a new mode",
				width, height);
			goto out;
		}
		vnc_debug("added a %dx%d mode to the display", width, height);
	}
	XRRSetCrtcConfig(in->dpy, res, out->crtc, CurrentTime, 0, 0, None, RR_Rotate_0, NULL, 0);
	XRRSetScreenSize(in->dpy, root, width, height,
			 (int)((double)width * 25.4 / 96.0), (int)((double)height * 25.4 / 96.0));
	XRRSetCrtcConfig(in->dpy, res, out->crtc, CurrentTime, 0, 0, mode, RR_Rotate_0,
			 &output, 1);
	XSync(in->dpy, False);
	if (resize_error) {
		/* Put the old size and mode back (the CRTC was off). */
		int err = resize_error;

		XRRSetScreenSize(in->dpy, root, DisplayWidth(in->dpy, DefaultScreen(in->dpy)),
				 DisplayHeight(in->dpy, DefaultScreen(in->dpy)),
				 DisplayWidthMM(in->dpy, DefaultScreen(in->dpy)),
				 DisplayHeightMM(in->dpy, DefaultScreen(in->dpy)));
		XRRSetCrtcConfig(in->dpy, res, out->crtc, CurrentTime, crtc->x, crtc->y, crtc->mode,
				 crtc->rotation, crtc->outputs, crtc->noutput);
		XUngrabServer(in->dpy);
		XSync(in->dpy, False);
		vnc_log("resize to %dx%d refused by the display (X error %d)", width, height, err);
		goto out;
	}
	XUngrabServer(in->dpy);
	XSync(in->dpy, False);
	ret = 0;
out:
	if (old_handler)
		XSetErrorHandler(old_handler);
	if (crtc)
		XRRFreeCrtcInfo(crtc);
	if (out)
		XRRFreeOutputInfo(out);
	if (res)
		XRRFreeScreenResources(res);
	pthread_mutex_unlock(&in->lock);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Clipboard                                                           */
/* ------------------------------------------------------------------ */

static void x_set_clipboard(void *state, const char *text, size_t len)
{
	struct xinput *in = state;
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&in->lock);
	free(in->clip);
	in->clip = copy;
	in->clip_len = len;
	in->clip_pending = true;
	/* Not echoed back to the viewers when X tells us about it. */
	free(in->sent);
	in->sent = strdup(copy);
	pthread_mutex_unlock(&in->lock);
	if (in->wake[1] >= 0 && write(in->wake[1], "c", 1) < 0)
		vnc_debug("clipboard wake-up: %s", strerror(errno));
}

static void answer_request(struct xinput *in, XSelectionRequestEvent *rq)
{
	XSelectionEvent ev = {
		.type = SelectionNotify,
		.display = rq->display,
		.requestor = rq->requestor,
		.selection = rq->selection,
		.target = rq->target,
		.property = None,
		.time = rq->time,
	};
	Atom prop = rq->property != None ? rq->property : rq->target;

	pthread_mutex_lock(&in->lock);
	if (rq->target == in->targets) {
		Atom list[] = { in->targets, in->utf8, XA_STRING, in->text_atom };
		XChangeProperty(in->sel_dpy, rq->requestor, prop, XA_ATOM, 32, PropModeReplace,
				(unsigned char *)list, 4);
		ev.property = prop;
	} else if (in->clip && (rq->target == in->utf8 || rq->target == XA_STRING ||
				rq->target == in->text_atom)) {
		XChangeProperty(in->sel_dpy, rq->requestor, prop,
				rq->target == XA_STRING ? XA_STRING : in->utf8, 8, PropModeReplace,
				(unsigned char *)in->clip, (int)in->clip_len);
		ev.property = prop;
	}
	pthread_mutex_unlock(&in->lock);
	XSendEvent(in->sel_dpy, rq->requestor, False, 0, (XEvent *)&ev);
	XFlush(in->sel_dpy);
}

/* The selection's new content arrived (our ConvertSelection). */
static void got_selection(struct xinput *in, XSelectionEvent *ev)
{
	Atom type;
	int format;
	unsigned long n, after;
	unsigned char *data = NULL;

	if (ev->property == None)
		return;
	if (XGetWindowProperty(in->sel_dpy, in->win, ev->property, 0, 1 << 20, True,
			       AnyPropertyType, &type, &format, &n, &after, &data) != Success)
		return;
	if (data && format == 8 && type != in->incr) {
		bool same;

		pthread_mutex_lock(&in->lock);
		same = in->sent && strlen(in->sent) == n && memcmp(in->sent, data, n) == 0;
		if (!same) {
			free(in->sent);
			in->sent = strndup((char *)data, n);
		}
		pthread_mutex_unlock(&in->lock);
		if (!same)
			in->sink.cut_text(in->sink.data, (char *)data, n);
	}
	if (data)
		XFree(data);
}

static void handle_event(struct xinput *in, XEvent *ev)
{
	if (ev->type == in->xfixes_event + XFixesSelectionNotify) {
		XFixesSelectionNotifyEvent *sn = (XFixesSelectionNotifyEvent *)ev;
		if (sn->owner != None && sn->owner != in->win)
			XConvertSelection(in->sel_dpy, sn->selection, in->utf8, in->prop, in->win,
					  sn->selection_timestamp);
		return;
	}
	switch (ev->type) {
	case SelectionRequest:
		answer_request(in, &ev->xselectionrequest);
		break;
	case SelectionNotify:
		got_selection(in, &ev->xselection);
		break;
	case SelectionClear:
		break;
	default:
		break;
	}
}

static void *clipboard_thread(void *data)
{
	struct xinput *in = data;
	struct pollfd pfd[2] = {
		{ .fd = ConnectionNumber(in->sel_dpy), .events = POLLIN },
		{ .fd = in->wake[0], .events = POLLIN },
	};

	while (!vnc_quit && !in->sel_dead) {
		while (!in->sel_dead && XPending(in->sel_dpy)) {
			XEvent ev;
			XNextEvent(in->sel_dpy, &ev);
			handle_event(in, &ev);
		}
		if (in->sel_dead)
			break;
		/* x_stop closes wake[1]: no timeout needed. */
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			char buf[64];
			bool take;

			if (read(in->wake[0], buf, sizeof(buf)) < 0)
				break;
			pthread_mutex_lock(&in->lock);
			take = in->clip_pending;
			in->clip_pending = false;
			pthread_mutex_unlock(&in->lock);
			if (take) {
				XSetSelectionOwner(in->sel_dpy, in->clipboard, in->win, CurrentTime);
				XSetSelectionOwner(in->sel_dpy, XA_PRIMARY, in->win, CurrentTime);
				XFlush(in->sel_dpy);
			}
		}
		if (pfd[1].revents & (POLLHUP | POLLERR))
			break;
	}
	return NULL;
}

static int x_start(void *state, const struct vnc_input_sink *sink)
{
	struct xinput *in = state;
	int err;

	in->sink = *sink;
	if (!XFixesQueryExtension(in->sel_dpy, &in->xfixes_event, &err)) {
		vnc_log("X display has no XFIXES: the clipboard is off");
		return 0;
	}
	in->clipboard = XInternAtom(in->sel_dpy, "CLIPBOARD", False);
	in->utf8 = XInternAtom(in->sel_dpy, "UTF8_STRING", False);
	in->targets = XInternAtom(in->sel_dpy, "TARGETS", False);
	in->text_atom = XInternAtom(in->sel_dpy, "TEXT", False);
	in->prop = XInternAtom(in->sel_dpy, "MIRAGE_VNC_SELECTION", False);
	in->incr = XInternAtom(in->sel_dpy, "INCR", False);
	in->win = XCreateSimpleWindow(in->sel_dpy, DefaultRootWindow(in->sel_dpy), -10, -10, 1, 1,
				      0, 0, 0);
	XFixesSelectSelectionInput(in->sel_dpy, in->win, in->clipboard,
				   XFixesSetSelectionOwnerNotifyMask);
	XFixesSelectSelectionInput(in->sel_dpy, in->win, XA_PRIMARY,
				   XFixesSetSelectionOwnerNotifyMask);
	XFlush(in->sel_dpy);
	if (pipe2(in->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	err = pthread_create(&in->thread, NULL, clipboard_thread, in);
	if (err) {
		vnc_log("clipboard thread: %s", strerror(err));
		return -err;
	}
	in->started = true;
	return 0;
}

static void x_stop(void *state)
{
	struct xinput *in = state;

	if (!in->started)
		return;
	/* Closing the write end wakes the thread with POLLHUP. */
	close(in->wake[1]);
	in->wake[1] = -1;
	pthread_join(in->thread, NULL);
	in->started = false;
}

static void x_destroy(void *state)
{
	struct xinput *in = state;

	x_stop(in);
	if (in->wake[0] >= 0)
		close(in->wake[0]);
	if (in->wake[1] >= 0)
		close(in->wake[1]);
	/* Not a broken connection: Xlib may still mark it as being read
	 * (by the call that broke), and closing it would wait for that. */
	if (in->sel_dpy && !in->sel_dead)
		XCloseDisplay(in->sel_dpy);
	if (in->dpy && !in->dpy_dead)
		XCloseDisplay(in->dpy);
	free(in->clip);
	free(in->sent);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

const struct vnc_input_impl vnc_input_x11 = {
	.name = "x11",
	.create = x_create,
	.start = x_start,
	.stop = x_stop,
	.destroy = x_destroy,
	.key = x_key,
	.pointer = x_pointer,
	.set_clipboard = x_set_clipboard,
	.resize = x_resize,
};
