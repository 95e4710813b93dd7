/* SPDX-License-Identifier: MIT */
/*
 * The libvncclient checker of the mirage-vnc tests: a real RFB client that
 * compares what it received with the mirror surface, byte for byte.
 *
 *   vnc-check --port P --mirror NAME [options] [-- WORKLOAD ...]
 *
 * Connects, waits until its framebuffer equals the surface, runs WORKLOAD
 * (if any) while it keeps receiving, then waits until the framebuffer
 * equals the surface again.  Prints one line of statistics:
 *   equal=1 updates=N copyrects=N copypixels=N bytes=N size=WxH
 * Exit status 0 when every expectation held, 1 otherwise.
 *
 *   --encodings STR     libvncclient encodings (default "copyrect zrle hextile raw")
 *   --compress N        the compression level asked for, 0-9 (default 1)
 *   --password PW       VNC authentication
 *   --expect-refused    succeed only when the connection is refused
 *   --min-copyrects N   fail when fewer CopyRect rectangles arrived
 *   --expect-size WxH   fail unless the final size is WxH
 *   --monitor N         compare with monitor N of the surface
 *   --type TEXT         type TEXT as key events ("\n" is Return)
 *   --clip-send TEXT    send TEXT as client cut text
 *   --clip-expect TEXT  wait for server cut text equal to TEXT
 *   --click X,Y         press and release button 1 at X,Y
 *   --expect-cursor X,Y wait for a cursor position update (PointerPos) to X,Y
 *   --request-size WxH  send SetDesktopSize (ExtendedDesktopSize) and wait
 *                       until the framebuffer has that size
 *   --timeout S         settle timeout (default 20)
 *   --probe CMD         after the workload, run CMD (sh -c) --probes times and
 *                       measure from its start to the next update: prints
 *                       latency_ms=MEDIAN (for benchmarks)
 *   --probes N          how many probes (default 15)
 *
 * With VNC_CHECK_TRACE set in the environment, each rectangle, CopyRect
 * and end of update is printed on stderr as it arrives (to see how a
 * server splits its updates).
 *
 * Without --mirror (benchmarks against other VNC servers) nothing is
 * compared: the picture counts as settled once no message arrived for
 * 500 ms (after the first update).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include <mirage/client.h>

#include "tcpbytes.h"

static const char *password;
static char *clip_got;
static long copyrects, copypixels, updates;
static bool trace; /* VNC_CHECK_TRACE */
static int cursor_x = -1, cursor_y = -1; /* the last PointerPos */

static char *get_password(rfbClient *cl)
{
	(void)cl;
	return strdup(password ? password : "");
}

static void got_cut_text(rfbClient *cl, const char *text, int len)
{
	(void)cl;
	free(clip_got);
	clip_got = strndup(text, (size_t)len);
}

static rfbBool got_cursor_pos(rfbClient *cl, int x, int y)
{
	(void)cl;
	cursor_x = x;
	cursor_y = y;
	return TRUE;
}

static void finished_update(rfbClient *cl)
{
	(void)cl;
	updates++;
	if (trace)
		fprintf(stderr, "trace: end of update %ld\n", updates);
}

static void got_rect(rfbClient *cl, int x, int y, int w, int h)
{
	(void)cl;
	fprintf(stderr, "trace: rect %dx%d+%d+%d\n", w, h, x, y);
}

/* Count CopyRect and do what libvncclient would have done. */
static void got_copy_rect(rfbClient *cl, int sx, int sy, int w, int h, int dx, int dy)
{
	int bpp = cl->format.bitsPerPixel / 8;
	size_t stride = (size_t)cl->width * bpp;
	uint8_t *fb = cl->frameBuffer;

	copyrects++;
	copypixels += (long)w * h;
	if (trace)
		fprintf(stderr, "trace: copy %dx%d+%d+%d from +%d+%d\n", w, h, dx, dy, sx, sy);
	if (dy > sy) {
		for (int j = h - 1; j >= 0; j--)
			memmove(fb + (size_t)(dy + j) * stride + (size_t)dx * bpp,
				fb + (size_t)(sy + j) * stride + (size_t)sx * bpp, (size_t)w * bpp);
	} else {
		for (int j = 0; j < h; j++)
			memmove(fb + (size_t)(dy + j) * stride + (size_t)dx * bpp,
				fb + (size_t)(sy + j) * stride + (size_t)sx * bpp, (size_t)w * bpp);
	}
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * WaitForMessage, aware of libvncclient's read buffer: the library reads
 * ahead, and its WaitForMessage only looks at the socket, so a message that
 * arrived in the same read as the one before (the full picture right after
 * an ExtendedDesktopSize, say) would wait there until the next one came.
 */
static int wait_message(rfbClient *cl, unsigned usecs)
{
	if (cl->buffered > 0)
		return 1;
	return WaitForMessage(cl, usecs);
}

/* Waits up to 50 ms for a message and handles it; false once the
 * connection is gone. */
static bool pump(rfbClient *cl)
{
	int r = wait_message(cl, 50000);

	return r >= 0 && (r == 0 || HandleRFBServerMessage(cl));
}

struct target {
	struct mirage_client *mc;
	int monitor;
	int ox, oy, w, h;
};

/* Keeps the mirror mapping current and works out the compared area. */
static int target_update(struct target *t)
{
	const struct mirage_ring_header *r = mirage_client_ring(t->mc);
	const struct mirage_surface_header *s;

	if ((r->flags & MIRAGE_RING_RETIRED) || !mirage_client_connected(t->mc)) {
		if (mirage_client_reconnect(t->mc) < 0)
			return -1;
	}
	s = mirage_client_surface(t->mc);
	t->ox = t->oy = 0;
	t->w = s->width;
	t->h = s->height;
	if (t->monitor >= 0) {
		struct mirage_monitor m[MIRAGE_MONITORS_MAX];
		int n = mirage_client_monitors(t->mc, m);
		if (t->monitor >= n)
			return -1;
		t->ox = m[t->monitor].rect.left;
		t->oy = m[t->monitor].rect.top;
		t->w = m[t->monitor].rect.right - t->ox;
		t->h = m[t->monitor].rect.bottom - t->oy;
	}
	return 0;
}

/* The bounding box of the last compare's differing pixels, for messages. */
static int diff_x0, diff_y0, diff_x1, diff_y1;

/* Number of differing pixels (or -1 when the sizes differ). */
static long compare(rfbClient *cl, struct target *t)
{
	const struct mirage_surface_header *s;
	const uint8_t *px;
	long diff = 0;

	if (!t->mc)
		return 0;
	if (target_update(t) < 0)
		return -1;
	if (cl->width != t->w || cl->height != t->h)
		return -1;
	s = mirage_client_surface(t->mc);
	px = mirage_client_pixels(t->mc);
	diff_x0 = t->w;
	diff_y0 = t->h;
	diff_x1 = diff_y1 = 0;
	for (int y = 0; y < t->h; y++) {
		const uint8_t *row = px + (size_t)(y + t->oy) * s->stride;
		for (int x = 0; x < t->w; x++) {
			uint32_t a, b;
			if (s->bpp == 16) {
				uint16_t u, v;
				memcpy(&u, row + (size_t)(x + t->ox) * 2, 2);
				memcpy(&v, cl->frameBuffer + ((size_t)y * cl->width + x) * 2, 2);
				a = u;
				b = v;
			} else {
				if (s->bpp == 32) {
					memcpy(&a, row + (size_t)(x + t->ox) * 4, 4);
				} else {
					const uint8_t *p = row + (size_t)(x + t->ox) * 3;
					a = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
				}
				memcpy(&b, cl->frameBuffer + ((size_t)y * cl->width + x) * 4, 4);
				a &= 0xffffff;
				b &= 0xffffff;
			}
			if (a != b) {
				diff++;
				diff_x0 = x < diff_x0 ? x : diff_x0;
				diff_y0 = y < diff_y0 ? y : diff_y0;
				diff_x1 = x + 1 > diff_x1 ? x + 1 : diff_x1;
				diff_y1 = y + 1 > diff_y1 ? y + 1 : diff_y1;
			}
		}
	}
	return diff;
}

/*
 * Receives until the framebuffer equals the surface (without a mirror: until
 * 500 ms pass without a message, after at least one update); 0 or -1 on
 * timeout.
 */
static int settle(rfbClient *cl, struct target *t, int timeout_ms, long *last_diff)
{
	/* The first settle needs the first picture; later ones only quiet. */
	static bool first = true;
	long need = first ? 1 : 0;

	int64_t end = now_ms() + timeout_ms, last_msg = now_ms();

	while (now_ms() < end) {
		int r = wait_message(cl, 50000);
		if (r < 0)
			return -1;
		if (r > 0 && !HandleRFBServerMessage(cl))
			return -1;
		if (r > 0)
			last_msg = now_ms();
		if (!t->mc) {
			*last_diff = 0;
			if (r == 0 && updates >= need && now_ms() - last_msg >= 500) {
				first = false;
				return 0;
			}
			continue;
		}
		if (r == 0 || !cl->buffered) {
			*last_diff = compare(cl, t);
			if (*last_diff == 0)
				return 0;
		}
	}
	return -1;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/*
 * Median time in microseconds from CMD's start (the draw happens while it
 * runs) to the next complete update, or -1.
 */
static long probe_latency(rfbClient *cl, const char *cmd, int n)
{
	long lat[256];
	int got = 0;

	if (n > 256)
		n = 256;
	for (int i = 0; i < n; i++) {
		/* Quiet first: what arrives next belongs to this probe. */
		int64_t quiet = now_ms();
		while (now_ms() - quiet < 300) {
			int r = wait_message(cl, 20000);
			if (r < 0 || (r > 0 && !HandleRFBServerMessage(cl)))
				return -1;
			if (r > 0)
				quiet = now_ms();
		}
		long before = updates;
		int64_t t0 = now_us();
		if (system(cmd) != 0)
			return -1;
		while (updates == before && now_us() - t0 < 2000000) {
			int r = wait_message(cl, 1000);
			if (r < 0 || (r > 0 && !HandleRFBServerMessage(cl)))
				return -1;
		}
		if (updates != before)
			lat[got++] = (long)(now_us() - t0);
	}
	if (got == 0)
		return -1;
	qsort(lat, (size_t)got, sizeof(lat[0]), cmp_long);
	return lat[got / 2];
}

/*
 * Types UTF-8 text: ASCII and Latin-1 code points are their own keysyms,
 * others are 0x01000000 + code point (X's Unicode keysyms).
 */
static void send_text(rfbClient *cl, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	while (*p) {
		uint32_t cp = *p++, sym;
		int more = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;

		if (more)
			cp &= 0x3f >> more;
		for (; more && (*p & 0xc0) == 0x80; more--)
			cp = cp << 6 | (*p++ & 0x3f);
		if (cp == '\n')
			sym = 0xff0d; /* XK_Return */
		else if (cp < 0x100)
			sym = cp;
		else
			sym = 0x01000000 | cp;
		SendKeyEvent(cl, sym, TRUE);
		SendKeyEvent(cl, sym, FALSE);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "mirror", required_argument, NULL, 'm' },
		{ "encodings", required_argument, NULL, 'e' },
		{ "compress", required_argument, NULL, 'z' },
		{ "password", required_argument, NULL, 'P' },
		{ "expect-refused", no_argument, NULL, 'R' },
		{ "min-copyrects", required_argument, NULL, 'c' },
		{ "expect-size", required_argument, NULL, 's' },
		{ "monitor", required_argument, NULL, 'M' },
		{ "type", required_argument, NULL, 't' },
		{ "clip-send", required_argument, NULL, 'C' },
		{ "clip-expect", required_argument, NULL, 'X' },
		{ "click", required_argument, NULL, 'k' },
		{ "expect-cursor", required_argument, NULL, 'u' },
		{ "request-size", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "probe", required_argument, NULL, 'L' },
		{ "probes", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *mirror = NULL, *encodings = "copyrect zrle hextile raw";
	const char *type = NULL, *clip_send = NULL, *clip_expect = NULL, *click = NULL;
	const char *probe = NULL;
	int want_cx = -1, want_cy = -1;
	long latency = -2;
	int probes = 15, compress = 1;
	int port = 5900, timeout = 20, expect_w = 0, expect_h = 0, req_w = 0, req_h = 0, c;
	long min_copyrects = -1, diff = -2;
	bool expect_refused = false, ok = true;
	struct target t = { .monitor = -1 };
	rfbClient *cl;

	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'm': mirror = optarg; break;
		case 'e': encodings = optarg; break;
		case 'z': {
			char *rest;
			long level = strtol(optarg, &rest, 10);

			if (*optarg == '\0' || *rest != '\0' || level < 0 || level > 9) {
				fprintf(stderr, "vnc-check: --compress: \"%s\" is not a level 0-9\n", optarg);
				return 2;
			}
			compress = (int)level;
			break;
		}
		case 'P': password = optarg; break;
		case 'R': expect_refused = true; break;
		case 'c': min_copyrects = atol(optarg); break;
		case 's': sscanf(optarg, "%dx%d", &expect_w, &expect_h); break;
		case 'M': t.monitor = atoi(optarg); break;
		case 't': type = optarg; break;
		case 'C': clip_send = optarg; break;
		case 'X': clip_expect = optarg; break;
		case 'k': click = optarg; break;
		case 'u': sscanf(optarg, "%d,%d", &want_cx, &want_cy); break;
		case 'r': sscanf(optarg, "%dx%d", &req_w, &req_h); break;
		case 'T': timeout = atoi(optarg); break;
		case 'L': probe = optarg; break;
		case 'N': probes = atoi(optarg); break;
		default: return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	rfbEnableClientLogging = getenv("VNC_CHECK_DEBUG") ? TRUE : FALSE;

	if (mirror && mirage_client_connect(&t.mc, mirror) < 0) {
		fprintf(stderr, "vnc-check: %s\n", mirage_last_error());
		return 1;
	}
	const struct mirage_surface_header *sh = t.mc ? mirage_client_surface(t.mc) : NULL;
	if (sh && sh->bpp == 16)
		cl = rfbGetClient(5, 3, 2);
	else
		cl = rfbGetClient(8, 3, 4);
	if (sh && sh->bpp == 16) {
		cl->format.redShift = 11;
		cl->format.greenShift = 5;
		cl->format.blueShift = 0;
		cl->format.redMax = 31;
		cl->format.greenMax = 63;
		cl->format.blueMax = 31;
		cl->format.depth = 16;
	} else {
		cl->format.redShift = 16;
		cl->format.greenShift = 8;
		cl->format.blueShift = 0;
	}
	cl->serverHost = strdup(host);
	cl->serverPort = port;
	cl->appData.encodingsString = encodings;
	cl->appData.enableJPEG = FALSE;
	cl->appData.useRemoteCursor = TRUE; /* else the server draws it in */
	cl->appData.compressLevel = compress;
	cl->GetPassword = get_password;
	cl->GotXCutText = got_cut_text;
	cl->GotCopyRect = got_copy_rect;
	cl->FinishedFrameBufferUpdate = finished_update;
	cl->HandleCursorPos = got_cursor_pos;
	trace = getenv("VNC_CHECK_TRACE") != NULL;
	if (trace)
		cl->GotFrameBufferUpdate = got_rect;
	if (!rfbInitClient(cl, NULL, NULL)) {
		/* rfbInitClient frees cl on failure. */
		if (expect_refused) {
			printf("refused=1\n");
			return 0;
		}
		fprintf(stderr, "vnc-check: cannot connect to %s:%d\n", host, port);
		return 1;
	}
	if (expect_refused) {
		printf("refused=0\n");
		rfbClientCleanup(cl);
		return 1;
	}

	if (settle(cl, &t, timeout * 1000, &diff) < 0) {
		fprintf(stderr, "vnc-check: initial picture never equal to the surface "
			"(%ld pixels differ in %dx%d+%d+%d, %ld updates received)\n", diff,
			diff_x1 - diff_x0, diff_y1 - diff_y0, diff_x0, diff_y0, updates);
		ok = false;
	}
	copyrects = copypixels = 0;
	updates = 0;
	long bytes0 = tcp_bytes_received(cl->sock);

	if (click) {
		int x = 0, y = 0;
		sscanf(click, "%d,%d", &x, &y);
		SendPointerEvent(cl, x, y, 0);
		SendPointerEvent(cl, x, y, 1);
		SendPointerEvent(cl, x, y, 0);
	}
	if (type)
		send_text(cl, type);
	if (clip_send)
		SendClientCutText(cl, (char *)clip_send, (int)strlen(clip_send));
	if (req_w > 0 && req_h > 0) {
		int64_t end = now_ms() + timeout * 1000;

		/* libvncclient sends nothing (and says TRUE) until the server
		 * has announced ExtendedDesktopSize: that came with the first
		 * picture. */
		if (!SendExtDesktopSize(cl, (uint16_t)req_w, (uint16_t)req_h)) {
			fprintf(stderr, "vnc-check: cannot send SetDesktopSize\n");
			ok = false;
		}
		while (ok && (cl->width != req_w || cl->height != req_h) && now_ms() < end &&
		       pump(cl))
			;
		if (cl->width != req_w || cl->height != req_h) {
			fprintf(stderr, "vnc-check: asked for %dx%d, the framebuffer is %dx%d\n", req_w,
				req_h, cl->width, cl->height);
			ok = false;
		}
	}

	if (optind < argc) {
		pid_t pid = fork();
		int status = 0;

		if (pid == 0) {
			execvp(argv[optind], argv + optind);
			_exit(127);
		}
		while (waitpid(pid, &status, WNOHANG) == 0) {
			int r = wait_message(cl, 20000);
			if (r < 0 || (r > 0 && !HandleRFBServerMessage(cl))) {
				fprintf(stderr, "vnc-check: connection lost during the workload\n");
				ok = false;
				waitpid(pid, &status, 0);
				break;
			}
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "vnc-check: the workload failed\n");
			ok = false;
		}
	}
	if (ok && expect_w) {
		/* A resize the workload causes may reach the mirror after the
		 * workload returned: the old picture would settle at once. */
		int64_t end = now_ms() + timeout * 1000;
		while (now_ms() < end && (cl->width != expect_w || cl->height != expect_h) && pump(cl))
			;
	}
	if (ok && settle(cl, &t, timeout * 1000, &diff) < 0) {
		fprintf(stderr, "vnc-check: framebuffer not equal to the surface "
			"(%ld pixels differ in %dx%d+%d+%d)\n", diff,
			diff_x1 - diff_x0, diff_y1 - diff_y0, diff_x0, diff_y0);
		ok = false;
	}
	if (ok && probe) {
		latency = probe_latency(cl, probe, probes);
		if (latency < 0) {
			fprintf(stderr, "vnc-check: --probe: no update after \"%s\"\n", probe);
			ok = false;
		}
	}
	if (clip_expect) {
		int64_t end = now_ms() + timeout * 1000;
		while (now_ms() < end && !(clip_got && strcmp(clip_got, clip_expect) == 0) && pump(cl))
			;
		if (!(clip_got && strcmp(clip_got, clip_expect) == 0)) {
			fprintf(stderr, "vnc-check: expected cut text \"%s\", got \"%s\"\n", clip_expect,
				clip_got ? clip_got : "(none)");
			ok = false;
		}
	}
	if (want_cx >= 0) {
		int64_t end = now_ms() + timeout * 1000;
		while (now_ms() < end && (cursor_x != want_cx || cursor_y != want_cy) && pump(cl))
			;
		if (cursor_x != want_cx || cursor_y != want_cy) {
			fprintf(stderr, "vnc-check: cursor at %d,%d, expected %d,%d\n", cursor_x,
				cursor_y, want_cx, want_cy);
			ok = false;
		}
	}
	if (min_copyrects >= 0 && copyrects < min_copyrects) {
		fprintf(stderr, "vnc-check: %ld CopyRect rectangles, expected at least %ld\n", copyrects,
			min_copyrects);
		ok = false;
	}
	if (expect_w && (cl->width != expect_w || cl->height != expect_h)) {
		fprintf(stderr, "vnc-check: size %dx%d, expected %dx%d\n", cl->width, cl->height, expect_w,
			expect_h);
		ok = false;
	}
	printf("equal=%d updates=%ld copyrects=%ld copypixels=%ld bytes=%ld size=%dx%d",
	       t.mc ? diff == 0 : -1, updates, copyrects, copypixels,
	       tcp_bytes_received(cl->sock) - bytes0, cl->width, cl->height);
	if (probe)
		printf(" latency_ms=%.1f", latency / 1000.0);
	printf("\n");
	rfbClientCleanup(cl);
	mirage_client_destroy(t.mc);
	return ok ? 0 : 1;
}
