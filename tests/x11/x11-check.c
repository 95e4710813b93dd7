/* SPDX-License-Identifier: MIT */
/*
 * x11-check: the consumer side of mirage-x11's integration tests.
 *
 *   x11-check steps MIRROR DISPLAY [PPM]   run shell steps read from stdin
 *   x11-check idle MIRROR SECONDS [DISPLAY]
 *                                          a consumer that never reads (then,
 *                                          with DISPLAY: LOST, refresh, exact)
 *   x11-check until-off MIRROR SECONDS     wait for ASSERT_OFF, check the mapping
 *   x11-check pointer MIRROR DISPLAY composed|engage
 *                                          the cursor in the surface, or PTR_ENGAGE
 *   x11-check info MIRROR                  print the driver statistics
 *
 * `steps` attaches as manager and keeps a replica of the screen built only
 * from the change records: BLIT areas are read from the surface, and
 * SCREEN_SCREEN records are applied to the replica itself, so a copy with a
 * wrong source leaves the replica wrong.  After each step it waits for the
 * screen to settle and compares the replica and the surface with an
 * XGetImage of the root window, pixel for pixel.
 *
 * A step line is a shell command, optionally prefixed:
 *   "copy: CMD"     the step must produce at least one SCREEN_SCREEN record
 *   "nocheck: CMD"  run without comparing afterwards
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xcb/xcb.h>
#include <xcb/xfixes.h>

#include <mirage/client.h>

#include "replica.h"

/* PTR_ENGAGE records seen, and the last one's point (run_pointer). */
static uint64_t engages;
static int32_t engage_x, engage_y;

static void on_record(struct replica *r, const struct mirage_record *rec)
{
	(void)r;
	if (rec->type == MIRAGE_REC_PTR_ENGAGE) {
		engages++;
		engage_x = rec->point.x;
		engage_y = rec->point.y;
	}
}

/*
 * The cursor as the mirror should have composed it (Pointer.Enabled=1):
 * XFixesGetCursorImage, premultiplied ARGB, top-left corner at (x, y).
 */
struct overlay {
	uint32_t *argb;
	int32_t x, y, w, h;
	long visible;  /* pixels inside the screen that the cursor changes */
};

/* Premultiplied "over", as a mirror composes its cursor. */
static uint32_t over(uint32_t s, uint32_t d)
{
	uint32_t a = s >> 24, out = 0;

	if (a == 0 && (s & 0xffffff) == 0)
		return d;
	for (int sh = 0; sh <= 16; sh += 8) {
		uint32_t c = (s >> sh & 0xff) + ((d >> sh & 0xff) * (255 - a) + 127) / 255;
		out |= (c > 255 ? 255 : c) << sh;
	}
	return out;
}

/*
 * Compares replica and surface with the root window -- with the cursor
 * `ov` composed onto it when not NULL.  Returns mismatches.
 */
static long compare(struct replica *r, xcb_connection_t *x, xcb_window_t root, struct overlay *ov,
		    const char **what, int *fx, int *fy, uint32_t *got, uint32_t *want)
{
	xcb_get_image_reply_t *img = xcb_get_image_reply(x,
		xcb_get_image(x, XCB_IMAGE_FORMAT_Z_PIXMAP, root, 0, 0, (uint16_t)r->w, (uint16_t)r->h, ~0u), NULL);
	const uint8_t *data, *surf = mirage_client_pixels(r->c);
	uint32_t xbpp, xstride;
	long bad = 0;

	if (ov)
		ov->visible = 0;
	if (!img) {
		*what = "GetImage failed";
		return -1;
	}
	data = xcb_get_image_data(img);
	xbpp = (uint32_t)((size_t)xcb_get_image_data_length(img) * 8 / ((size_t)r->w * (size_t)r->h));
	xstride = (uint32_t)xcb_get_image_data_length(img) / (uint32_t)r->h;
	if (xbpp != r->bpp) {
		*what = "surface and X formats differ (run with the native bpp)";
		free(img);
		return -1;
	}
	for (int32_t y = 0; y < r->h; y++) {
		for (int32_t x0 = 0; x0 < r->w; x0++) {
			uint32_t xv = replica_pixel(data + (size_t)y * xstride + (size_t)x0 * (xbpp / 8), xbpp);

			if (ov && xbpp >= 24 && x0 >= ov->x && x0 < ov->x + ov->w && y >= ov->y &&
			    y < ov->y + ov->h) {
				uint32_t cv = over(ov->argb[(size_t)(y - ov->y) * (size_t)ov->w + (size_t)(x0 - ov->x)], xv);
				ov->visible += cv != xv;
				xv = cv;
			}
			uint32_t rv = replica_pixel(r->pix + (size_t)y * r->stride + (size_t)x0 * (r->bpp / 8), r->bpp);
			uint32_t sv = replica_pixel(surf + (size_t)y * r->stride + (size_t)x0 * (r->bpp / 8), r->bpp);

			if (xv != sv || xv != rv) {
				if (!bad) {
					*what = xv != sv ? "surface" : "replica (records)";
					*fx = x0;
					*fy = y;
					*got = xv != sv ? sv : rv;
					*want = xv;
				}
				bad++;
			}
		}
	}
	free(img);
	return bad;
}

static int cursor_overlay(xcb_connection_t *x, struct overlay *ov)
{
	xcb_xfixes_get_cursor_image_reply_t *c =
		xcb_xfixes_get_cursor_image_reply(x, xcb_xfixes_get_cursor_image(x), NULL);
	size_t n;

	if (!c)
		return -1;
	n = (size_t)c->width * c->height;
	free(ov->argb);
	ov->argb = malloc(n ? n * 4 : 4);
	if (!ov->argb) {
		free(c);
		return -1;
	}
	memcpy(ov->argb, xcb_xfixes_get_cursor_image_cursor_image(c), n * 4);
	ov->x = c->x - c->xhot;
	ov->y = c->y - c->yhot;
	ov->w = c->width;
	ov->h = c->height;
	free(c);
	return 0;
}

/*
 * Waits until the screen settles (the server has drawn everything and no
 * records came for 400 ms) and the replica and surface equal the root
 * window; gives up after 20 s.  Returns 0, or the mismatches (-1: no
 * comparison) with a description in why.
 */
static long settle(struct replica *r, xcb_connection_t *x, xcb_window_t root, struct overlay *ov,
		   char *why, size_t size)
{
	double deadline = replica_now() + 20;
	const char *what = "no quiet moment";
	int fx = 0, fy = 0;
	uint32_t got = 0, want = 0;
	long bad = -1;

	while (replica_now() < deadline) {
		free(xcb_get_input_focus_reply(x, xcb_get_input_focus(x), NULL));
		if (replica_follow_for(r, 400) != 0)
			continue;
		if (ov && cursor_overlay(x, ov) < 0) {
			what = "XFixesGetCursorImage failed";
			break;
		}
		bad = compare(r, x, root, ov, &what, &fx, &fy, &got, &want);
		if (bad == 0)
			return 0;
		replica_follow_for(r, 200);
	}
	snprintf(why, size, "%ld pixels differ (%s first at %d,%d: %06x, X has %06x)", bad, what, fx, fy,
		 got, want);
	return bad;
}

static int run_steps(const char *mirror, const char *display, const char *ppm)
{
	struct replica r;
	xcb_connection_t *x;
	xcb_window_t root;
	char line[4096];
	int step = 0, failures = 0, ret;

	replica_init(&r, NULL);
	r.on_record = on_record;
	if ((ret = mirage_client_connect(&r.c, mirror)) < 0) {
		fprintf(stderr, "x11-check: connect %s: %s\n", mirror, mirage_last_error());
		return 1;
	}
	if ((ret = mirage_client_attach(r.c, 0)) < 0) {
		fprintf(stderr, "x11-check: attach: %s\n", mirage_last_error());
		return 1;
	}
	/* The attach may have made a new pipe generation: follow it. */
	if (replica_setup(&r) < 0)
		return 1;
	x = xcb_connect(display, NULL);
	if (xcb_connection_has_error(x)) {
		fprintf(stderr, "x11-check: cannot open display %s\n", display);
		return 1;
	}
	root = xcb_setup_roots_iterator(xcb_get_setup(x)).data->root;
	replica_follow_for(&r, 300);

	while (fgets(line, sizeof(line), stdin)) {
		char *cmd = line;
		bool want_copy = false, check = true;
		uint64_t copies0 = r.copies;
		double t0 = replica_now();
		pid_t pid;
		int status = 0;
		long bad;
		char why[256];

		line[strcspn(line, "\n")] = '\0';
		if (!*cmd || *cmd == '#')
			continue;
		if (strncmp(cmd, "copy:", 5) == 0) {
			want_copy = true;
			cmd += 5;
		} else if (strncmp(cmd, "nocheck:", 8) == 0) {
			check = false;
			cmd += 8;
		}
		step++;
		pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		while (waitpid(pid, &status, WNOHANG) == 0)
			replica_follow_for(&r, 20);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fprintf(stderr, "x11-check: step %d: command exited with status %d: %s\n", step,
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), cmd);
		if (!check)
			continue;
		bad = settle(&r, x, root, NULL, why, sizeof(why));
		if (bad != 0) {
			fprintf(stderr, "x11-check: step %d FAILED: %s: %s\n", step, why, cmd);
			failures++;
		} else if (want_copy && r.copies == copies0) {
			fprintf(stderr, "x11-check: step %d FAILED: no SCREEN_SCREEN record: %s\n", step, cmd);
			failures++;
		} else {
			printf("step %d ok (%.1f s, %llu copies): %s\n", step, replica_now() - t0,
			       (unsigned long long)(r.copies - copies0), cmd);
			fflush(stdout);
		}
	}
	if (ppm && (ret = replica_write_ppm(&r, ppm)) < 0) {
		fprintf(stderr, "x11-check: %s: %s\n", ppm, strerror(-ret));
		failures++;
	}
	{
		struct mirage_info_out info;
		char stats[4096];
		if (mirage_client_info(r.c, &info, stats, sizeof(stats)) >= 0)
			printf("records=%llu copies=%llu lost=%llu\n%s", (unsigned long long)r.records,
			       (unsigned long long)r.copies, (unsigned long long)r.lost, stats);
	}
	xcb_disconnect(x);
	mirage_client_destroy(r.c);
	replica_finish(&r);
	return failures ? 1 : 0;
}

/*
 * A consumer that maps the pipe and never reads for `seconds`, then looks.
 * With a DISPLAY it must find its track lost (the producer went more than
 * half the ring ahead: MIRAGE_POLL_LOST), and after refreshing the whole
 * surface, as the protocol asks, follow the ring to an exact copy of the
 * screen.
 */
static int run_idle(const char *mirror, int seconds, const char *display)
{
	struct replica r;
	struct mirage_record recs[16];
	uint64_t start, counter;
	uint32_t n;
	int ret, status = 0;

	replica_init(&r, NULL);
	r.on_record = on_record;
	if (mirage_client_connect(&r.c, mirror) < 0) {
		fprintf(stderr, "x11-check: connect %s: %s\n", mirror, mirage_last_error());
		return 1;
	}
	start = mirage_client_position(r.c);
	if (display) {
		/* Until stdin closes (the workload is over) or `seconds` pass. */
		struct pollfd pf = { .fd = 0, .events = POLLIN };
		(void)poll(&pf, 1, seconds * 1000);
	} else {
		sleep((unsigned)seconds);
	}
	counter = mirage_client_ring(r.c)->counter;
	ret = mirage_client_poll(r.c, recs, 16, &n);
	printf("idle consumer: position %llu -> counter %llu (capacity %u), poll=%s\n",
	       (unsigned long long)start, (unsigned long long)counter, mirage_client_ring(r.c)->capacity,
	       ret == MIRAGE_POLL_LOST ? "LOST" : ret == MIRAGE_POLL_OK ? "OK" : ret == MIRAGE_POLL_OFF ? "OFF" : "error");
	if (ret < 0)
		status = 1;
	if (display && status == 0) {
		xcb_connection_t *x = xcb_connect(display, NULL);
		char why[256];

		if (ret != MIRAGE_POLL_LOST) {
			fprintf(stderr, "x11-check: idle consumer: expected MIRAGE_POLL_LOST after %llu records\n",
				(unsigned long long)(counter - start));
			status = 1;
		} else if (xcb_connection_has_error(x) || replica_setup(&r) < 0) {
			fprintf(stderr, "x11-check: cannot open display %s\n", display);
			status = 1;
		} else if (settle(&r, x, xcb_setup_roots_iterator(xcb_get_setup(x)).data->root, NULL, why,
				  sizeof(why)) != 0) {
			fprintf(stderr, "x11-check: idle consumer after LOST and a full refresh: %s\n", why);
			status = 1;
		} else {
			printf("idle consumer: after LOST and a full refresh the surface equals the screen\n");
		}
		xcb_disconnect(x);
	}
	mirage_client_destroy(r.c);
	replica_finish(&r);
	return status;
}

/* Waits for ASSERT_OFF; the mapping must stay readable afterwards. */
static int run_until_off(const char *mirror, int seconds)
{
	struct mirage_client *c;
	struct mirage_record recs[256];
	const struct mirage_surface_header *s;
	const uint8_t *pix;
	double end = replica_now() + seconds;
	uint32_t n, sum = 0;

	if (mirage_client_connect(&c, mirror) < 0) {
		fprintf(stderr, "x11-check: connect %s: %s\n", mirror, mirage_last_error());
		return 1;
	}
	if (mirage_client_attach(c, MIRAGE_ATTACH_PERSIST) < 0) {
		fprintf(stderr, "x11-check: attach: %s\n", mirage_last_error());
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (replica_now() < end) {
		int ret = mirage_client_poll(c, recs, 256, &n);

		if (ret == MIRAGE_POLL_OFF) {
			s = mirage_client_surface(c);
			pix = mirage_client_pixels(c);
			for (size_t i = 0; pix && i < (size_t)s->stride * (size_t)s->height; i += 64)
				sum += pix[i];
			/*
			 * The library publishes ASSERT_OFF and then marks the
			 * ring retired: allow it a moment to do the second.
			 */
			for (int i = 0; i < 200 && !(__atomic_load_n(&mirage_client_ring(c)->flags, __ATOMIC_ACQUIRE) &
						     MIRAGE_RING_RETIRED); i++)
				usleep(10000);
			if (!(__atomic_load_n(&mirage_client_ring(c)->flags, __ATOMIC_ACQUIRE) & MIRAGE_RING_RETIRED)) {
				fprintf(stderr, "x11-check: ASSERT_OFF but the ring is not marked retired\n");
				return 1;
			}
			printf("ASSERT_OFF seen; mapping readable (%dx%d, checksum %u)\n", s->width, s->height, sum);
			mirage_client_destroy(c);
			return 0;
		}
		if (ret == MIRAGE_POLL_OK && n == 0 && mirage_client_wait(c, 100) < 0)
			sleep(0); /* the producer left: the next poll sees ASSERT_OFF */
	}
	fprintf(stderr, "x11-check: no ASSERT_OFF within %d s\n", seconds);
	return 1;
}

/*
 * The pointer, at each of a few positions (moved with xdotool):
 *   composed  Pointer.Enabled=1: the surface (and the replica) must equal
 *             the root window with XFixesGetCursorImage composed at the
 *             cursor position -- so the screen's pixels outside the cursor
 *             rectangle, the cursor inside it, and the area the cursor left
 *             restored exactly -- and the cursor must be visible.
 *   engage    the last PTR_ENGAGE record must carry the new position.
 */
static int run_pointer(const char *mirror, const char *display, bool composed)
{
	static const int32_t pos[][2] = { { 200, 150 }, { 203, 152 }, { 600, 420 }, { 1, 1 },
					  { 1020, 765 }, { 300, 300 } };
	struct replica r;
	struct overlay ov = { 0 };
	xcb_connection_t *x;
	xcb_window_t root;
	int failures = 0;

	replica_init(&r, NULL);
	r.on_record = on_record;
	if (mirage_client_connect(&r.c, mirror) < 0 || mirage_client_attach(r.c, 0) < 0) {
		fprintf(stderr, "x11-check: %s: %s\n", mirror, mirage_last_error());
		return 1;
	}
	if (replica_setup(&r) < 0)
		return 1;
	x = xcb_connect(display, NULL);
	if (xcb_connection_has_error(x)) {
		fprintf(stderr, "x11-check: cannot open display %s\n", display);
		return 1;
	}
	free(xcb_xfixes_query_version_reply(x, xcb_xfixes_query_version(x, 4, 0), NULL));
	root = xcb_setup_roots_iterator(xcb_get_setup(x)).data->root;
	replica_follow_for(&r, 300);

	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		int32_t px = pos[i][0] < r.w ? pos[i][0] : r.w - 1, py = pos[i][1] < r.h ? pos[i][1] : r.h - 1;
		char cmd[128], why[256];
		uint64_t engages0 = engages;

		snprintf(cmd, sizeof(cmd), "xdotool mousemove %d %d", px, py);
		if (system(cmd) != 0) {
			fprintf(stderr, "x11-check: %s failed\n", cmd);
			failures++;
			continue;
		}
		if (settle(&r, x, root, composed ? &ov : NULL, why, sizeof(why)) != 0) {
			fprintf(stderr, "x11-check: pointer at %d,%d: %s\n", px, py, why);
			failures++;
		} else if (composed && ov.visible < 10) {
			fprintf(stderr, "x11-check: pointer at %d,%d: the cursor changes only %ld pixels\n", px, py,
				ov.visible);
			failures++;
		} else if (!composed && (engages == engages0 || engage_x != px || engage_y != py)) {
			fprintf(stderr, "x11-check: pointer at %d,%d: last PTR_ENGAGE %s (%d,%d)\n", px, py,
				engages == engages0 ? "missing, previous" : "at", engage_x, engage_y);
			failures++;
		} else if (composed) {
			printf("pointer at %d,%d: surface = root + cursor %dx%d at %d,%d (%ld cursor pixels)\n", px,
			       py, ov.w, ov.h, ov.x, ov.y, ov.visible);
		} else {
			printf("pointer at %d,%d: PTR_ENGAGE at %d,%d\n", px, py, engage_x, engage_y);
		}
		fflush(stdout);
	}
	free(ov.argb);
	xcb_disconnect(x);
	mirage_client_destroy(r.c);
	replica_finish(&r);
	return failures ? 1 : 0;
}

/* The driver statistics ("key=value" lines), for the benchmark. */
static int run_info(const char *mirror)
{
	struct mirage_client *c;
	struct mirage_info_out info;
	char stats[4096];
	int ret;

	if (mirage_client_connect(&c, mirror) < 0) {
		fprintf(stderr, "x11-check: connect %s: %s\n", mirror, mirage_last_error());
		return 1;
	}
	ret = mirage_client_info(c, &info, stats, sizeof(stats));
	if (ret >= 0)
		fputs(stats, stdout);
	mirage_client_destroy(c);
	return ret < 0 ? 1 : 0;
}

/*
 * The root window as a PPM, from GetImage: what the screen is.  (xwd -root
 * reads the root too, but where windows of a 32-bit visual are on screen
 * it disagrees with GetImage.)  Depth 24 screens only, as the workloads'.
 */
static int run_root_ppm(const char *display, const char *path)
{
	xcb_connection_t *x = xcb_connect(display, NULL);
	xcb_screen_t *scr;
	xcb_get_image_reply_t *img;
	FILE *f;
	int ret = 1;

	if (xcb_connection_has_error(x)) {
		fprintf(stderr, "x11-check: cannot open display %s\n", display);
		xcb_disconnect(x);
		return 2;
	}
	scr = xcb_setup_roots_iterator(xcb_get_setup(x)).data;
	img = xcb_get_image_reply(x, xcb_get_image(x, XCB_IMAGE_FORMAT_Z_PIXMAP, scr->root, 0, 0,
						  scr->width_in_pixels, scr->height_in_pixels, ~0u), NULL);
	if (!img || scr->root_depth != 24) {
		fprintf(stderr, "x11-check: %s\n", img ? "root-ppm needs a depth-24 root" : "GetImage failed");
		goto out;
	}
	uint32_t w = scr->width_in_pixels, h = scr->height_in_pixels;
	uint32_t stride = (uint32_t)xcb_get_image_data_length(img) / h, xbpp = stride * 8 / w;
	const uint8_t *data = xcb_get_image_data(img);

	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "x11-check: %s: %s\n", path, strerror(errno));
		goto out;
	}
	fprintf(f, "P6\n%u %u\n255\n", w, h);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x0 = 0; x0 < w; x0++) {
			uint32_t v = replica_pixel(data + (size_t)y * stride + (size_t)x0 * (xbpp / 8), xbpp);
			uint8_t rgb[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
			fwrite(rgb, 1, 3, f);
		}
	ret = fclose(f) == 0 ? 0 : 1;
out:
	free(img);
	xcb_disconnect(x);
	return ret;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && strcmp(argv[1], "steps") == 0)
		return run_steps(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "idle") == 0)
		return run_idle(argv[2], atoi(argv[3]), argc == 5 ? argv[4] : NULL);
	if (argc == 4 && strcmp(argv[1], "until-off") == 0)
		return run_until_off(argv[2], atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "pointer") == 0 &&
	    (strcmp(argv[4], "composed") == 0 || strcmp(argv[4], "engage") == 0))
		return run_pointer(argv[2], argv[3], strcmp(argv[4], "composed") == 0);
	if (argc == 3 && strcmp(argv[1], "info") == 0)
		return run_info(argv[2]);
	if (argc == 4 && strcmp(argv[1], "root-ppm") == 0)
		return run_root_ppm(argv[2], argv[3]);
	fprintf(stderr, "usage: x11-check steps MIRROR DISPLAY [PPM] < steps\n"
			"       x11-check idle MIRROR SECONDS [DISPLAY]\n"
			"       x11-check until-off MIRROR SECONDS\n"
			"       x11-check pointer MIRROR DISPLAY composed|engage\n"
			"       x11-check info MIRROR\n"
			"       x11-check root-ppm DISPLAY FILE\n");
	return 2;
}
