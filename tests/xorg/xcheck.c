/* SPDX-License-Identifier: MIT */
/*
 * xcheck: checks a mirror against the X display it mirrors, from outside,
 * the way a consumer sees it (client.h) and the way an X client sees the
 * screen (Xlib GetImage on the root; xwd -root differs from it where windows
 * of a 32-bit visual are on screen).
 *
 *   xcheck compare NAME [X1,Y1,X2,Y2]  surface == screen (optionally
 *                                      ignoring one rectangle)
 *   xcheck complete NAME -- CMD...     every pixel CMD changes lies in a
 *                                      record published meanwhile
 *   xcheck types NAME [--cursor]       CopyArea / window move give
 *                                      SCREEN_SCREEN with the right source,
 *                                      text gives TEXTOUT, pointer motion
 *                                      gives PTR_ENGAGE at the position
 *   xcheck stall NAME -- CMD...        a consumer that does not read while
 *                                      CMD runs gets LOST, then is exact
 *                                      after a refresh
 *   xcheck spin NAME                   polls until killed (fault tests)
 *   xcheck latency NAME COUNT          XSync -> record visible: median, p99
 *   xcheck argb-cursor NAME            define a 24x24 ARGB cursor (soft
 *                                      shadow) on the root window: drivers
 *                                      without ARGB hardware cursors (dummy)
 *                                      draw it in software
 *   xcheck core-cursor NAME            define a 16x16 two-colour (core)
 *                                      cursor on the root window
 *   xcheck repaint NAME put|copy|render|argb
 *                                      repaint a window under the pointer,
 *                                      frame after frame, without a round
 *                                      trip (as a compositor or a GL client
 *                                      does): XPutImage, XCopyArea from a
 *                                      pixmap, XRenderComposite, or
 *                                      XPutImage into a 32-bit ARGB window;
 *                                      the window stays when xcheck exits
 *   xcheck text NAME [1]               ImageText8 and ImageText16 in a
 *                                      window that stays when xcheck exits
 *                                      (made by the first run; 1: other
 *                                      colours)
 *   xcheck lines NAME [1]              8 lines of text stacked as in a
 *                                      terminal, in a window of their own
 *                                      (1: other colours and characters)
 *
 * Exit status 0 on success, 1 on a failed check, 2 on a usage/setup error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/Xrender.h>

#include <mirage/client.h>

#define MAX_RECS 4096u

static Display *dpy;
static struct mirage_client *cli;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int setup(const char *name)
{
	int ret;

	dpy = XOpenDisplay(NULL);
	if (!dpy) {
		fprintf(stderr, "xcheck: cannot open the display\n");
		return -1;
	}
	ret = mirage_client_connect(&cli, name);
	if (ret < 0) {
		fprintf(stderr, "xcheck: connect %s: %s\n", name, mirage_last_error());
		return -1;
	}
	return 0;
}

static uint64_t counter(void)
{
	return __atomic_load_n(&mirage_client_ring(cli)->counter, __ATOMIC_ACQUIRE);
}

/* Waits until the server is idle: requests done, no records for 150 ms. */
/* After a resize the pipe is retired: map the new one. */
static void follow_pipe(void)
{
	const struct mirage_ring_header *r = mirage_client_ring(cli);

	if (__atomic_load_n(&r->flags, __ATOMIC_ACQUIRE) & MIRAGE_RING_RETIRED) {
		if (mirage_client_reconnect(cli) < 0)
			fprintf(stderr, "xcheck: reconnect: %s\n", mirage_last_error());
	}
}

static void settle(void)
{
	uint64_t last;

	follow_pipe();
	last = counter();
	int quiet = 0;

	XSync(dpy, False);
	for (int i = 0; i < 200 && quiet < 5; i++) {
		sleep_ms(30);
		XSync(dpy, False);
		uint64_t c = counter();
		quiet = c == last ? quiet + 1 : 0;
		last = c;
		follow_pipe();
	}
}

/* The screen as 8-bit RGB, from the root window. */
struct capture {
	int w, h;
	uint8_t *rgb;
};

static unsigned expand(unsigned v, unsigned bits)
{
	/* how pixman widens a channel: replicate the top bits */
	v <<= 8 - bits;
	return v | v >> bits;
}

static int capture(struct capture *c)
{
	Window root = DefaultRootWindow(dpy);
	XWindowAttributes wa;
	XImage *im;

	XGetWindowAttributes(dpy, root, &wa);
	im = XGetImage(dpy, root, 0, 0, (unsigned)wa.width, (unsigned)wa.height, AllPlanes,
		       ZPixmap);
	if (!im)
		return -1;
	c->w = wa.width;
	c->h = wa.height;
	c->rgb = malloc((size_t)c->w * c->h * 3);
	for (int y = 0; y < c->h; y++) {
		for (int x = 0; x < c->w; x++) {
			unsigned long p = XGetPixel(im, x, y);
			uint8_t *o = c->rgb + ((size_t)y * c->w + x) * 3;

			if (im->depth == 16) {
				o[0] = (uint8_t)expand((p >> 11) & 0x1f, 5);
				o[1] = (uint8_t)expand((p >> 5) & 0x3f, 6);
				o[2] = (uint8_t)expand(p & 0x1f, 5);
			} else {
				o[0] = (uint8_t)(p >> 16);
				o[1] = (uint8_t)(p >> 8);
				o[2] = (uint8_t)p;
			}
		}
	}
	XDestroyImage(im);
	return 0;
}

/* Surface pixel (x, y) and the screen's RGB, both in the surface's format. */
static void pixel_pair(const struct capture *c, int x, int y, uint32_t *surf, uint32_t *scr)
{
	const struct mirage_surface_header *h = mirage_client_surface(cli);
	const uint8_t *p = mirage_client_pixels(cli) + (size_t)y * h->stride;
	const uint8_t *o = c->rgb + ((size_t)y * c->w + x) * 3;

	switch (h->bpp) {
	case 32:
		*surf = ((const uint32_t *)p)[x] & 0xffffff;
		*scr = (uint32_t)o[0] << 16 | (uint32_t)o[1] << 8 | o[2];
		break;
	case 24:
		p += (size_t)x * 3;
		*surf = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
		*scr = (uint32_t)o[0] << 16 | (uint32_t)o[1] << 8 | o[2];
		break;
	default: /* 16: RGB 565, reduced by truncation like pixman */
		*surf = ((const uint16_t *)p)[x];
		*scr = (uint32_t)(o[0] >> 3) << 11 | (uint32_t)(o[1] >> 2) << 5 | (o[2] >> 3);
		break;
	}
}

/* Counts pixels where the surface differs from the capture (outside skip);
 * box (x1, y1, x2, y2), if not NULL, gets their bounding box. */
static long compare_box(const struct capture *c, const int skip[4], int *fx, int *fy, int box[4])
{
	const struct mirage_surface_header *h = mirage_client_surface(cli);
	long bad = 0;

	if (h->width != c->w || h->height != c->h) {
		fprintf(stderr, "xcheck: surface %dx%d, screen %dx%d\n", h->width, h->height,
			c->w, c->h);
		return -1;
	}
	if (!mirage_client_pixels(cli)) {
		fprintf(stderr, "xcheck: the mirror has no surface\n");
		return -1;
	}
	for (int y = 0; y < c->h; y++) {
		for (int x = 0; x < c->w; x++) {
			uint32_t a, b;

			if (skip && x >= skip[0] && x < skip[2] && y >= skip[1] && y < skip[3])
				continue;
			pixel_pair(c, x, y, &a, &b);
			if (a != b) {
				if (bad == 0) {
					*fx = x;
					*fy = y;
					if (box) {
						box[0] = box[2] = x;
						box[1] = box[3] = y;
					}
				}
				if (box) {
					box[0] = x < box[0] ? x : box[0];
					box[2] = x > box[2] ? x : box[2];
					box[3] = y;
				}
				bad++;
			}
		}
	}
	return bad;
}

static long compare(const struct capture *c, const int skip[4], int *fx, int *fy)
{
	return compare_box(c, skip, fx, fy, NULL);
}

/* Reads every record since the last call into region; counts types. */
struct drain {
	uint64_t n, blit, text, copy, fill, engage, avert, shape, other;
	bool lost, off;
	struct mirage_record last_engage;
};

static void drain(pixman_region32_t *region, struct drain *d,
		  void (*fn)(const struct mirage_record *, void *), void *data)
{
	static struct mirage_record recs[MAX_RECS];

	for (;;) {
		uint32_t n = 0;
		int r = mirage_client_poll(cli, recs, MAX_RECS, &n);

		if (r == MIRAGE_POLL_LOST) {
			d->lost = true;
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct mirage_record *rec = &recs[i];

			d->n++;
			switch (rec->type) {
			case 12: d->blit++; break;
			case 18: d->text++; break;
			case 11: d->copy++; break;
			case 13: d->fill++; break;
			case 48: d->engage++; d->last_engage = *rec; break;
			case 49: d->avert++; break;
			case 19: d->shape++; break;
			default: d->other++; break;
			}
			if (region)
				mirage_client_region_add(cli, region, rec);
			if (fn)
				fn(rec, data);
		}
		if (r == MIRAGE_POLL_OFF) {
			d->off = true;
			return;
		}
		if (r < 0 || n < MAX_RECS)
			return;
	}
}

static int run(char **argv)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cmd_compare(int argc, char **argv)
{
	struct capture c;
	int skip[4], *sk = NULL, fx = 0, fy = 0, box[4] = { 0 };
	long bad;

	if (argc > 3 && sscanf(argv[3], "%d,%d,%d,%d", &skip[0], &skip[1], &skip[2], &skip[3]) == 4)
		sk = skip;
	settle();
	if (capture(&c) < 0)
		return 2;
	bad = compare_box(&c, sk, &fx, &fy, box);
	if (bad != 0) {
		uint32_t a = 0, b = 0;

		if (bad > 0)
			pixel_pair(&c, fx, fy, &a, &b);
		fprintf(stderr, "xcheck compare: %ld pixels differ in %d,%d-%d,%d; first at "
			"%d,%d: surface %06x screen %06x\n", bad, box[0], box[1], box[2] + 1,
			box[3] + 1, fx, fy, a, b);
		return 1;
	}
	printf("compare: surface == screen (%dx%d, %u bpp%s)\n", c.w, c.h,
	       mirage_client_surface(cli)->bpp, sk ? ", one rectangle excluded" : "");
	return 0;
}

/* Pixels differing between a and b that no record in rgn covers. */
static long outside_records(const struct capture *a, const struct capture *b,
			    pixman_region32_t *rgn, long *changed, int *fx, int *fy)
{
	long outside = 0;

	for (int y = 0; y < a->h; y++) {
		for (int x = 0; x < a->w; x++) {
			size_t o = ((size_t)y * a->w + x) * 3;

			if (memcmp(a->rgb + o, b->rgb + o, 3) == 0)
				continue;
			(*changed)++;
			if (!pixman_region32_contains_point(rgn, x, y, NULL)) {
				if (outside == 0) {
					*fx = x;
					*fy = y;
				}
				outside++;
			}
		}
	}
	return outside;
}

/*
 * complete --live: while CMD runs (x11perf restores the screen when it
 * ends, so before/after alone proves nothing), take pairs of captures
 * ~100 ms apart and check every pixel changed between them against the
 * records read from just before the first to just after the second.
 */
static int cmd_complete_live(char **cmd)
{
	long samples = 0, changed = 0, outside = 0, lost = 0;
	int fx = -1, fy = -1, st;
	struct drain d = { 0 };
	pid_t pid;

	settle();
	drain(NULL, &d, NULL, NULL);
	pid = fork();
	if (pid == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		struct capture a, b;
		pixman_region32_t rgn;

		memset(&d, 0, sizeof(d));
		pixman_region32_init(&rgn);
		drain(&rgn, &d, NULL, NULL);
		pixman_region32_clear(&rgn);
		if (capture(&a) < 0)
			break;
		for (int i = 0; i < 100; i++) {
			drain(&rgn, &d, NULL, NULL);
			sleep_ms(1);
		}
		if (capture(&b) < 0) {
			free(a.rgb);
			break;
		}
		sleep_ms(20);
		XSync(dpy, False);
		sleep_ms(5);
		drain(&rgn, &d, NULL, NULL);
		if (d.lost || d.off || a.w != b.w || a.h != b.h) {
			lost++;
		} else {
			outside += outside_records(&a, &b, &rgn, &changed, &fx, &fy);
			samples++;
		}
		pixman_region32_fini(&rgn);
		free(a.rgb);
		free(b.rgb);
	}
	printf("complete --live: %ld samples, %ld pixels changed, %ld outside records "
	       "(%ld samples skipped: track lost)\n", samples, changed, outside, lost);
	if (outside) {
		fprintf(stderr, "xcheck complete: first changed pixel outside every record: %d,%d\n",
			fx, fy);
		return 1;
	}
	if (samples == 0 || changed == 0) {
		fprintf(stderr, "xcheck complete: nothing was checked\n");
		return 1;
	}
	return 0;
}

static int cmd_complete(int argc, char **argv)
{
	if (argc > 5 && strcmp(argv[3], "--live") == 0 && strcmp(argv[4], "--") == 0)
		return cmd_complete_live(argv + 5);

	struct capture a, b;
	pixman_region32_t rgn;
	struct drain d = { 0 };
	long outside = 0, changed = 0;
	int fx = -1, fy = -1;

	if (argc < 5 || strcmp(argv[3], "--") != 0)
		return 2;
	settle();
	drain(NULL, &d, NULL, NULL);
	if (capture(&a) < 0)
		return 2;
	memset(&d, 0, sizeof(d));
	pixman_region32_init(&rgn);
	/* read records while the command runs, as a live consumer would */
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	for (;;) {
		int st;

		drain(&rgn, &d, NULL, NULL);
		if (waitpid(pid, &st, WNOHANG) != 0)
			break;
		sleep_ms(1);
	}
	for (int i = 0; i < 10; i++) {
		sleep_ms(20);
		XSync(dpy, False);
		drain(&rgn, &d, NULL, NULL);
	}
	settle();
	if (capture(&b) < 0 || a.w != b.w || a.h != b.h)
		return 2;
	drain(&rgn, &d, NULL, NULL);
	if (d.lost || d.off) {
		fprintf(stderr, "xcheck complete: track lost during the command; cannot check\n");
		return 1;
	}
	for (int y = 0; y < a.h; y++) {
		for (int x = 0; x < a.w; x++) {
			size_t o = ((size_t)y * a.w + x) * 3;

			if (memcmp(a.rgb + o, b.rgb + o, 3) == 0)
				continue;
			changed++;
			if (!pixman_region32_contains_point(&rgn, x, y, NULL)) {
				if (outside == 0) {
					fx = x;
					fy = y;
				}
				outside++;
			}
		}
	}
	printf("complete: %ld pixels changed, %ld outside records; records %" PRIu64
	       " (blit %" PRIu64 ", textout %" PRIu64 ", screen_screen %" PRIu64
	       ", solidfill %" PRIu64 ")\n", changed, outside, d.n, d.blit, d.text, d.copy,
	       d.fill);
	if (outside) {
		fprintf(stderr, "xcheck complete: first changed pixel outside every record: %d,%d\n",
			fx, fy);
		return 1;
	}
	return 0;
}

/* types: collect SCREEN_SCREEN records and check them against one copy. */
struct copy_check {
	int dx, dy;            /* expected dst - src */
	pixman_region32_t dst; /* union of SCREEN_SCREEN rects */
	int wrong;
};

static void copy_rec(const struct mirage_record *r, void *data)
{
	struct copy_check *cc = data;

	if (r->type != 11)
		return;
	if (r->rect.left - r->point.x != cc->dx || r->rect.top - r->point.y != cc->dy) {
		fprintf(stderr, "xcheck types: SCREEN_SCREEN %d,%d-%d,%d from %d,%d: "
			"expected offset %d,%d\n", r->rect.left, r->rect.top, r->rect.right,
			r->rect.bottom, r->point.x, r->point.y, cc->dx, cc->dy);
		cc->wrong++;
	}
	pixman_region32_union_rect(&cc->dst, &cc->dst, r->rect.left, r->rect.top,
				   (unsigned)(r->rect.right - r->rect.left),
				   (unsigned)(r->rect.bottom - r->rect.top));
}

static int expect_copy(const char *what, int dx, int dy, int x, int y, int w, int h)
{
	struct copy_check cc;

	memset(&cc, 0, sizeof(cc));
	cc.dx = dx;
	cc.dy = dy;
	struct drain d = { 0 };
	pixman_region32_t want;
	int ok;

	pixman_region32_init(&cc.dst);
	settle();
	drain(NULL, &d, copy_rec, &cc);
	pixman_region32_init_rect(&want, x, y, (unsigned)w, (unsigned)h);
	ok = cc.wrong == 0 && pixman_region32_equal(&cc.dst, &want);
	if (!ok) {
		pixman_box32_t *e = pixman_region32_extents(&cc.dst);

		fprintf(stderr, "xcheck types: %s: SCREEN_SCREEN cover %d,%d-%d,%d "
			"(%d boxes), expected %d,%d-%d,%d\n", what, e->x1, e->y1, e->x2, e->y2,
			pixman_region32_n_rects(&cc.dst), x, y, x + w, y + h);
	} else {
		printf("types: %s -> SCREEN_SCREEN, source offset %d,%d\n", what, dx, dy);
	}
	pixman_region32_fini(&cc.dst);
	pixman_region32_fini(&want);
	return ok ? 0 : 1;
}

static int cmd_types(int argc, char **argv)
{
	bool cursor = argc > 3 && strcmp(argv[3], "--cursor") == 0;
	Window root = DefaultRootWindow(dpy), win;
	XSetWindowAttributes swa;
	struct drain d = { 0 };
	GC gc;
	int fail = 0;

	swa.background_pixel = 0x336699;
	swa.override_redirect = True;
	win = XCreateWindow(dpy, root, 100, 100, 200, 150, 0, CopyFromParent, InputOutput,
			    CopyFromParent, CWBackPixel | CWOverrideRedirect, &swa);
	XMapWindow(dpy, win);
	gc = XCreateGC(dpy, win, 0, NULL);
	for (int i = 0; i < 10; i++) {
		XSetForeground(dpy, gc, 0x10101u * (unsigned)(i * 20) + 0x400000u);
		XFillRectangle(dpy, win, gc, i * 15, i * 10, 30, 30);
	}
	settle();
	drain(NULL, &d, NULL, NULL);

	/* CopyArea inside the window: source 10,10 -> dest 100,60 (50x40) */
	XCopyArea(dpy, win, win, gc, 10, 10, 50, 40, 100, 60);
	fail |= expect_copy("XCopyArea", 90, 50, 200, 160, 50, 40);

	/* a window move: 100,100 -> 300,250; everything of it is visible */
	XMoveWindow(dpy, win, 300, 250);
	fail |= expect_copy("window move", 200, 150, 300, 250, 200, 150);

	/* text */
	memset(&d, 0, sizeof(d));
	XSetForeground(dpy, gc, 0xffffff);
	XDrawString(dpy, win, gc, 20, 40, "mirage TEXTOUT", 14);
	XDrawImageString(dpy, win, gc, 20, 80, "image text", 10);
	settle();
	drain(NULL, &d, NULL, NULL);
	if (d.text == 0 || d.blit != 0) {
		fprintf(stderr, "xcheck types: text gave %" PRIu64 " TEXTOUT and %" PRIu64
			" BLIT records\n", d.text, d.blit);
		fail = 1;
	} else {
		printf("types: core text -> %" PRIu64 " TEXTOUT records\n", d.text);
	}

	if (cursor) {
		XWarpPointer(dpy, None, root, 0, 0, 0, 0, 321, 234);
		memset(&d, 0, sizeof(d));
		settle();
		drain(NULL, &d, NULL, NULL);
		if (d.engage == 0 || d.last_engage.point.x != 321 || d.last_engage.point.y != 234) {
			fprintf(stderr, "xcheck types: pointer at 321,234: %" PRIu64 " ENGAGE, "
				"last at %d,%d\n", d.engage, d.last_engage.point.x,
				d.last_engage.point.y);
			fail = 1;
		} else {
			printf("types: pointer motion -> PTR_ENGAGE at 321,234\n");
		}
	}
	XDestroyWindow(dpy, win);
	XFreeGC(dpy, gc);
	settle();
	return fail;
}

static int cmd_stall(int argc, char **argv)
{
	struct drain d = { 0 };
	struct capture c;
	int fx = 0, fy = 0;
	long bad;

	if (argc < 5 || strcmp(argv[3], "--") != 0)
		return 2;
	settle();
	drain(NULL, &d, NULL, NULL);
	memset(&d, 0, sizeof(d));
	run(argv + 4);
	settle();
	drain(NULL, &d, NULL, NULL);
	if (!d.lost) {
		fprintf(stderr, "xcheck stall: no LOST after %" PRIu64 " records\n", d.n);
		return 1;
	}
	/* after LOST a consumer refreshes from the surface: it must be exact */
	if (capture(&c) < 0)
		return 2;
	bad = compare(&c, NULL, &fx, &fy);
	if (bad != 0) {
		fprintf(stderr, "xcheck stall: after LOST %ld pixels differ (first %d,%d)\n",
			bad, fx, fy);
		return 1;
	}
	printf("stall: LOST reported, surface exact after the refresh\n");
	return 0;
}

static int cmd_spin(void)
{
	struct drain d = { 0 };

	for (;;) {
		drain(NULL, &d, NULL, NULL);
		if (d.off && mirage_client_reconnect(cli) < 0)
			sleep_ms(10);
		d.off = false;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_latency(int argc, char **argv)
{
	int count = argc > 3 ? atoi(argv[3]) : 200;
	Window root = DefaultRootWindow(dpy);
	GC gc = XCreateGC(dpy, root, 0, NULL);
	double *lat = calloc((size_t)count, sizeof(double));
	struct drain d = { 0 };
	int got = 0, at_reply = 0;

	settle();
	drain(NULL, &d, NULL, NULL);
	for (int i = 0; i < count; i++) {
		uint64_t before = counter();
		double t0, t1;

		XSetForeground(dpy, gc, (unsigned long)(i * 7919) & 0xffffff);
		XFillRectangle(dpy, root, gc, (i * 13) % 900, (i * 7) % 700, 64, 48);
		XSync(dpy, False);
		/* Look before reading the clock: a record published before the
		 * reply is latency 0, however long we are descheduled now. */
		if (counter() != before) {
			lat[got++] = 0;
			at_reply++;
		} else {
			t0 = now_ms();
			for (;;) {
				t1 = now_ms();
				if (counter() != before || t1 - t0 > 1000)
					break;
			}
			if (counter() != before)
				lat[got++] = t1 - t0;
		}
		drain(NULL, &d, NULL, NULL);
		sleep_ms(2);
	}
	qsort(lat, (size_t)got, sizeof(double), cmp_double);
	if (got == 0) {
		fprintf(stderr, "xcheck latency: no record ever became visible\n");
		return 1;
	}
	printf("latency XSync->record visible: n=%d median=%.3f ms p99=%.3f ms max=%.3f ms; "
	       "already visible when XSync returned: %d/%d\n",
	       got, lat[got / 2], lat[(got * 99) / 100 >= got ? got - 1 : (got * 99) / 100],
	       lat[got - 1], at_reply, got);
	free(lat);
	return 0;
}

/* A 24x24 arrow-ish ARGB cursor with a translucent shadow, hotspot 2,2. */
static int cmd_argb_cursor(void)
{
	enum { S = 24 };
	static uint32_t px[S * S];
	XRenderPictFormat *fmt = XRenderFindStandardFormat(dpy, PictStandardARGB32);
	XImage *img;
	Pixmap pm;
	GC gc;
	Picture pic;
	Cursor cur;

	if (!fmt) {
		fprintf(stderr, "xcheck argb-cursor: no ARGB32 picture format\n");
		return 2;
	}
	for (int y = 0; y < S; y++) {
		for (int x = 0; x < S; x++) {
			uint32_t p = 0;
			if (x >= 2 && y >= 2 && x - 2 <= (y - 2) / 2 + 1 && y < 18)
				p = (x == 2 || y == 17 || x - 2 == (y - 2) / 2 + 1) ? 0xff000000u
										: 0xffffffffu;
			else if (x >= 4 && y >= 4 && x - 4 <= (y - 4) / 2 + 2 && y < 21)
				p = 0x30000000u; /* shadow: premultiplied black, alpha 0x30 */
			px[y * S + x] = p;
		}
	}
	img = XCreateImage(dpy, NULL, 32, ZPixmap, 0, (char *)px, S, S, 32, S * 4);
	pm = XCreatePixmap(dpy, DefaultRootWindow(dpy), S, S, 32);
	gc = XCreateGC(dpy, pm, 0, NULL);
	XPutImage(dpy, pm, gc, img, 0, 0, 0, 0, S, S);
	img->data = NULL;
	XDestroyImage(img);
	pic = XRenderCreatePicture(dpy, pm, fmt, 0, NULL);
	cur = XRenderCreateCursor(dpy, pic, 2, 2);
	XDefineCursor(dpy, DefaultRootWindow(dpy), cur);
	/* The root window keeps its reference when we go. */
	XFreeCursor(dpy, cur);
	XRenderFreePicture(dpy, pic);
	XFreeGC(dpy, gc);
	XFreePixmap(dpy, pm);
	XSync(dpy, False);
	printf("argb-cursor: defined on the root window\n");
	return 0;
}

/* A 16x16 two-colour cursor made of bitmaps (a core cursor, never ARGB):
 * a hollow square with a cross, hotspot in the middle. */
static int cmd_core_cursor(void)
{
	enum { S = 16 };
	static unsigned char src[S * S / 8], msk[S * S / 8];
	Window root = DefaultRootWindow(dpy);
	XColor fg = { .red = 0xffff, .green = 0x2000, .blue = 0x2000 };
	XColor bg = { .red = 0x0000, .green = 0x0000, .blue = 0x4000 };
	Pixmap ps, pm;
	Cursor cur;

	for (int y = 0; y < S; y++) {
		for (int x = 0; x < S; x++) {
			int bit = y * S + x;
			bool edge = x == 0 || y == 0 || x == S - 1 || y == S - 1;

			if (edge || x == S / 2 || y == S / 2)
				src[bit / 8] |= (unsigned char)(1 << (bit % 8));
			if (edge || x == S / 2 || y == S / 2 || x == 1 || y == 1 || x == S - 2 ||
			    y == S - 2)
				msk[bit / 8] |= (unsigned char)(1 << (bit % 8));
		}
	}
	ps = XCreateBitmapFromData(dpy, root, (char *)src, S, S);
	pm = XCreateBitmapFromData(dpy, root, (char *)msk, S, S);
	cur = XCreatePixmapCursor(dpy, ps, pm, &fg, &bg, S / 2, S / 2);
	XDefineCursor(dpy, root, cur);
	XFreeCursor(dpy, cur);
	XFreePixmap(dpy, ps);
	XFreePixmap(dpy, pm);
	XSync(dpy, False);
	printf("core-cursor: defined on the root window\n");
	return 0;
}

/* Frame f of the repaint pattern at (x, y): colour bands that move. */
static uint32_t frame_pixel(int f, int x, int y)
{
	uint32_t v = (uint32_t)((x + y + f * 7) / 6 % 8);

	return 0xff000000u | (v * 0x1f0000u) | ((uint32_t)(7 - v) * 0x001f00u) |
	       (uint32_t)(f * 13 % 256);
}

/*
 * repaint: a window centred on the pointer, repainted whole, frame after
 * frame, with nothing but XFlush between frames: no reply, so the module
 * publishes each frame from the block handler, after misprite has drawn a
 * software cursor back over what the frame changed.  The window stays
 * (RetainPermanent) so that a check after it sees the last frame.
 */
static int cmd_repaint(int argc, char **argv)
{
	enum { W = 160, H = 120, FRAMES = 40 };
	const char *method = argc > 3 ? argv[3] : "";
	bool argb = strcmp(method, "argb") == 0;
	Window root = DefaultRootWindow(dpy), win, rr, cr;
	int px, py, wx, wy, depth = argb ? 32 : DefaultDepth(dpy, DefaultScreen(dpy));
	unsigned int mask;
	XSetWindowAttributes swa = { 0 };
	unsigned long attrs = CWBackPixel | CWBorderPixel | CWOverrideRedirect;
	Visual *visual = CopyFromParent;
	XVisualInfo vi;
	XImage *img;
	Pixmap back = None;
	Picture src = None, dst = None;
	GC gc;
	XEvent ev;

	if (!argb && strcmp(method, "put") != 0 && strcmp(method, "copy") != 0 &&
	    strcmp(method, "render") != 0) {
		fprintf(stderr, "xcheck repaint: method \"%s\": use put, copy, render or argb\n",
			method);
		return 2;
	}
	if (argb) {
		if (!XMatchVisualInfo(dpy, DefaultScreen(dpy), 32, TrueColor, &vi)) {
			fprintf(stderr, "xcheck repaint: no 32-bit TrueColor visual\n");
			return 2;
		}
		visual = vi.visual;
		swa.colormap = XCreateColormap(dpy, root, visual, AllocNone);
		attrs |= CWColormap;
	}
	XQueryPointer(dpy, root, &rr, &cr, &px, &py, &wx, &wy, &mask);
	swa.override_redirect = True;
	win = XCreateWindow(dpy, root, px - W / 2, py - H / 2, W, H, 0, depth, InputOutput,
			    visual, attrs, &swa);
	XStoreName(dpy, win, "xcheck repaint");
	XSelectInput(dpy, win, ExposureMask);
	XMapWindow(dpy, win);
	do
		XNextEvent(dpy, &ev);
	while (ev.type != Expose);
	gc = XCreateGC(dpy, win, 0, NULL);
	img = XCreateImage(dpy, argb ? visual : DefaultVisual(dpy, DefaultScreen(dpy)),
			   (unsigned)depth, ZPixmap, 0, malloc((size_t)W * H * 4), W, H, 32, 0);
	if (strcmp(method, "copy") == 0 || strcmp(method, "render") == 0)
		back = XCreatePixmap(dpy, win, W, H, (unsigned)depth);
	if (strcmp(method, "render") == 0) {
		XRenderPictFormat *fmt = XRenderFindVisualFormat(dpy, DefaultVisual(dpy, 0));

		src = XRenderCreatePicture(dpy, back, fmt, 0, NULL);
		dst = XRenderCreatePicture(dpy, win, fmt, 0, NULL);
	}
	for (int f = 0; f < FRAMES; f++) {
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				XPutPixel(img, x, y, frame_pixel(f, x, y));
		if (back != None)
			XPutImage(dpy, back, gc, img, 0, 0, 0, 0, W, H);
		if (src != None)
			XRenderComposite(dpy, PictOpSrc, src, None, dst, 0, 0, 0, 0, 0, 0, W, H);
		else if (back != None)
			XCopyArea(dpy, back, win, gc, 0, 0, W, H, 0, 0);
		else
			XPutImage(dpy, win, gc, img, 0, 0, 0, 0, W, H);
		XFlush(dpy);
		sleep_ms(15);
	}
	XDestroyImage(img);
	XSetCloseDownMode(dpy, RetainPermanent);
	XFlush(dpy);
	/* no round trip: the last frame goes out from the block handler */
	sleep_ms(300);
	printf("repaint: %d frames (%s) under the pointer at %d,%d\n", FRAMES, method, px, py);
	return 0;
}

/*
 * Text drawn with ImageText8 and ImageText16 (XDrawImageString, 16) in the
 * server's "fixed" font, in colours, over each other and across the
 * window's edges, then ImageText8 in its "cursor" font, whose characters
 * differ in size, in a window left on the screen when xcheck exits
 * (RetainPermanent), so that a check after it sees the text.  A later run
 * draws into the same window, in other colours with variant 1: then only
 * the text's own records can cover what changes.
 */
static Window named_window(const char *want)
{
	Window root, parent, *kids = NULL, found = None;
	unsigned int nkids = 0;
	char *name;

	if (!XQueryTree(dpy, DefaultRootWindow(dpy), &root, &parent, &kids, &nkids))
		return None;
	for (unsigned int i = 0; i < nkids && found == None; i++) {
		if (XFetchName(dpy, kids[i], &name) && name) {
			if (strcmp(name, want) == 0)
				found = kids[i];
			XFree(name);
		}
	}
	if (kids)
		XFree(kids);
	return found;
}

/* The font called name, or NULL after saying so (for xcheck's command cmd). */
static XFontStruct *load_font(const char *cmd, const char *name)
{
	XFontStruct *font = XLoadQueryFont(dpy, name);

	if (!font)
		fprintf(stderr, "xcheck %s: no font \"%s\"\n", cmd, name);
	return font;
}

/*
 * The window called name, made and shown at x, y (w x h) if there is none
 * yet.  It stays when xcheck exits (RetainPermanent), so a second run draws
 * over what the first left.
 */
static Window window_for(const char *name, int x, int y, unsigned int w, unsigned int h)
{
	int scr = DefaultScreen(dpy);
	Window win = named_window(name);
	XEvent ev;

	if (win != None)
		return win;
	win = XCreateSimpleWindow(dpy, DefaultRootWindow(dpy), x, y, w, h, 2,
				  BlackPixel(dpy, scr), WhitePixel(dpy, scr));
	XStoreName(dpy, win, name);
	XSelectInput(dpy, win, ExposureMask);
	XMapWindow(dpy, win);
	do
		XNextEvent(dpy, &ev);
	while (ev.type != Expose);
	return win;
}

/* A GC drawing in "fixed" on the window called name (window_for); NULL
 * after saying why (for xcheck's command cmd). */
static GC fixed_gc(const char *cmd, const char *name, int x, int y, unsigned int w,
		   unsigned int h, Window *win, XFontStruct **font)
{
	GC gc;

	*font = load_font(cmd, "fixed");
	if (!*font)
		return NULL;
	*win = window_for(name, x, y, w, h);
	gc = XCreateGC(dpy, *win, 0, NULL);
	XSetFont(dpy, gc, (*font)->fid);
	return gc;
}

static int cmd_text(int argc, char **argv)
{
	unsigned int variant = argc > 3 ? (unsigned int)atoi(argv[3]) : 0;
	static const char line[] = "the quick brown fox jumps over the lazy dog 0123456789";
	static const char shapes[] = { 34, 68, 90, 116, 130, 142, 52, 2 };
	Window win;
	XFontStruct *font, *cursor;
	GC gc;
	XChar2b wide[64];
	int n = (int)sizeof(line) - 1;

	gc = fixed_gc("text", "xcheck text", 420, 400, 360, 180, &win, &font);
	if (!gc)
		return 2;
	for (int i = 0; i < n; i++) {
		wide[i].byte1 = 0;
		wide[i].byte2 = (unsigned char)line[i];
	}
	/* a glyph the font does not have (row 1): left out, as the server
	 * leaves it out */
	wide[5].byte1 = 1;
	for (int i = 0; i < 8; i++) {
		XSetForeground(dpy, gc, (0x3f3f3fu * (unsigned)i) ^ 0x00c08040u ^ variant * 0x00808080u);
		XSetBackground(dpy, gc, (0x1f2f3fu * (unsigned)(7 - i)) ^ 0x00204060u ^ variant * 0x00ff00ffu);
		/* from left of the window to past its right edge */
		XDrawImageString(dpy, win, gc, -20 + i * 7, 12 + i * 9, line, n);
		XDrawImageString16(dpy, win, gc, 30 - i * 9, 85 + i * 9, wide, n);
	}
	/* descenders on a line nothing else covers: the font's descent is
	 * painted too */
	XDrawImageString(dpy, win, gc, 10, 168, "gjpqy_,;", 8);
	/* the last lines cross the bottom edge */
	XDrawImageString(dpy, win, gc, 10, 186, line, n);
	XDrawImageString16(dpy, win, gc, 50, 190, wide, n);
	/* a font whose characters differ in size (the server's built-in
	 * "cursor"): the module's other ImageText path (hooks.c), the second
	 * string across the right edge */
	cursor = load_font("text", "cursor");
	if (!cursor)
		return 2;
	XSetFont(dpy, gc, cursor->fid);
	XDrawImageString(dpy, win, gc, 150, 50, shapes, (int)sizeof(shapes));
	XDrawImageString(dpy, win, gc, 260, 120, shapes, (int)sizeof(shapes));
	XSetCloseDownMode(dpy, RetainPermanent);
	XFreeGC(dpy, gc);
	XSync(dpy, False);
	printf("text: ImageText8 and ImageText16 drawn\n");
	return 0;
}

/*
 * lines: what a terminal draws, lines of one length stacked at the font's
 * height in a window of their own (made on the first run, reused after), in
 * colours and characters that change with the variant.  The module folds
 * their records into one (records_folded): a fold that lost rows would
 * leave changed pixels outside every record.
 */
static int cmd_lines(int argc, char **argv)
{
	unsigned int variant = argc > 3 ? (unsigned int)atoi(argv[3]) : 0;
	XFontStruct *font;
	Window win;
	GC gc;
	char line[24];

	gc = fixed_gc("lines", "xcheck lines", 60, 400, 200, 140, &win, &font);
	if (!gc)
		return 2;
	XSetForeground(dpy, gc, 0x00e0e0e0u ^ variant * 0x00a05020u);
	XSetBackground(dpy, gc, 0x00102030u ^ variant * 0x00304050u);
	for (int i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "line %02u of eight", (unsigned)i + 10 * variant);
		XDrawImageString(dpy, win, gc, 8, 20 + i * (font->ascent + font->descent), line,
				 (int)strlen(line));
	}
	XSetCloseDownMode(dpy, RetainPermanent);
	XFreeGC(dpy, gc);
	XSync(dpy, False);
	printf("lines: 8 stacked lines drawn\n");
	return 0;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: xcheck compare|complete|types|stall|spin|latency|argb-cursor|core-cursor|repaint|text|lines NAME ...\n");
		return 2;
	}
	if (setup(argv[2]) < 0)
		return 2;
	if (strcmp(argv[1], "compare") == 0)
		ret = cmd_compare(argc, argv);
	else if (strcmp(argv[1], "complete") == 0)
		ret = cmd_complete(argc, argv);
	else if (strcmp(argv[1], "types") == 0)
		ret = cmd_types(argc, argv);
	else if (strcmp(argv[1], "stall") == 0)
		ret = cmd_stall(argc, argv);
	else if (strcmp(argv[1], "spin") == 0)
		ret = cmd_spin();
	else if (strcmp(argv[1], "latency") == 0)
		ret = cmd_latency(argc, argv);
	else if (strcmp(argv[1], "argb-cursor") == 0)
		ret = cmd_argb_cursor();
	else if (strcmp(argv[1], "core-cursor") == 0)
		ret = cmd_core_cursor();
	else if (strcmp(argv[1], "repaint") == 0)
		ret = cmd_repaint(argc, argv);
	else if (strcmp(argv[1], "text") == 0)
		ret = cmd_text(argc, argv);
	else if (strcmp(argv[1], "lines") == 0)
		ret = cmd_lines(argc, argv);
	else
		ret = 2;
	mirage_client_destroy(cli);
	XCloseDisplay(dpy);
	return ret;
}
