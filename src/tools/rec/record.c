/* SPDX-License-Identifier: MIT */
/*
 * mirage-rec record: follows a mirror's change ring and appends, once per
 * frame interval, the pixels that changed (plus copies and cursor changes)
 * to a recording; a key frame with the whole state starts the file, follows
 * every loss of track or geometry change, and comes back periodically.
 *
 * The recorder keeps `prev`, the surface as the file describes it so far.
 * Damaged rectangles are compared against it and trimmed to what really
 * changed, and a SCREEN_SCREEN copy is applied to it before the comparison,
 * so a scroll costs a copy chunk plus the newly exposed lines.
 */
#include "shared.h"
#include "rec.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>

#define POLL_BATCH 512u
/* How often the status line on a terminal moves on. */
#define STATUS_MS 250

struct copy_op {
	int32_t x, y, w, h, sx, sy;
};

struct recorder {
	struct mirage_client *client;
	const char *mirror;
	struct rec_writer w;
	const char *path;

	/* The surface as recorded so far (stride of the live surface). */
	uint8_t *prev;
	int32_t width, height;
	uint32_t bpp, stride;

	pixman_region32_t damage;
	struct copy_op *copies;
	size_t ncopies, copies_cap;
	bool need_key;
	bool cursor_dirty;
	struct mirage_cursor cursor; /* as last recorded */
	uint32_t *argb;

	uint64_t t0, last_frame, last_key, last_status;
	uint64_t interval_ns, key_interval_ns, duration_ns, max_size;
	uint32_t frames, keyframes;
	uint64_t raw_full;  /* what uncompressed full frames would have taken */
	bool tty;
	int end_reason;
};

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t key_request;
/*
 * The client run() waits on.  The handlers wake its wait: a signal that
 * lands after run() looked at the flags and before it went to sleep is
 * not left until the next frame is due.
 */
static struct mirage_client *wake_client;

static void wake_run(void)
{
	struct mirage_client *c = __atomic_load_n(&wake_client, __ATOMIC_SEQ_CST);

	if (c)
		mirage_client_wake(c);
}

static void on_stop(int sig)
{
	stop_signal = sig;
	wake_run();
}

static void on_key(int sig)
{
	(void)sig;
	key_request = 1;
	wake_run();
}

static const char record_help[] =
	"Usage: mirage-rec record [--mirror NAME | --display :N] -o FILE [OPTIONS]\n"
	"\n"
	"Records a mirror's changes into FILE until SIGINT/SIGTERM, --duration or\n"
	"--max-size.  SIGUSR1 writes a key frame at once.\n"
	"\n"
	"  -m, --mirror NAME     the mirror to record (name or socket path)\n"
	"  -d, --display :N      start mirage-x11 on X display :N and record it\n"
	"  -o, --output FILE     the recording to write (truncated)\n"
	"  -t, --duration S      stop after S seconds\n"
	"  -s, --max-size BYTES  stop before the file exceeds BYTES (K, M, G suffixes)\n"
	"  -r, --fps N           frame rate: records are coalesced per 1/N s (default 30)\n"
	"  -k, --keyframe S      a key frame every S seconds (default 10, 0: only when needed)\n"
	"  -l, --level N         zstd level, 1 to 19 (default 3)\n"
	"  -q, --quiet           no status line\n";

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

static int put_cursor(struct recorder *rc, bool force)
{
	struct mirage_cursor cur;
	uint8_t *b;
	int ret;

	ret = mirage_client_cursor(rc->client, &cur, rc->argb, REC_CURSOR_MAX * REC_CURSOR_MAX);
	if (ret < 0)
		return ret;
	if (cur.width > REC_CURSOR_MAX || cur.height > REC_CURSOR_MAX)
		cur.width = cur.height = 0;
	if (force || cur.serial != rc->cursor.serial || cur.width != rc->cursor.width ||
	    cur.height != rc->cursor.height || cur.hot_x != rc->cursor.hot_x ||
	    cur.hot_y != rc->cursor.hot_y) {
		size_t n = (size_t)cur.width * cur.height * 4;
		b = rec_writer_reserve(&rc->w, REC_CHUNK_CURSOR_SHAPE, REC_CURSOR_SHAPE_HEAD + n);
		if (!b)
			return -ENOMEM;
		rec_put_u32(b, cur.width);
		rec_put_u32(b + 4, cur.height);
		rec_put_u32(b + 8, (uint32_t)cur.hot_x);
		rec_put_u32(b + 12, (uint32_t)cur.hot_y);
		memcpy(b + REC_CURSOR_SHAPE_HEAD, rc->argb, n);
	}
	if (force || cur.visible != rc->cursor.visible || cur.x != rc->cursor.x || cur.y != rc->cursor.y) {
		b = rec_writer_reserve(&rc->w, REC_CHUNK_CURSOR_POS, REC_CURSOR_POS_SIZE);
		if (!b)
			return -ENOMEM;
		rec_put_u32(b, (uint32_t)cur.x);
		rec_put_u32(b + 4, (uint32_t)cur.y);
		rec_put_u32(b + 8, cur.visible ? 1 : 0);
	}
	rc->cursor = cur;
	return 0;
}

/* Appends a PIXELS chunk for a rect read from the surface, and updates prev. */
static int put_pixels(struct recorder *rc, const uint8_t *src, int32_t x, int32_t y,
		      int32_t w, int32_t h)
{
	unsigned bpp = rec_bytes_per_pixel(rc->bpp);
	size_t row = (size_t)w * bpp;
	uint8_t *b = rec_writer_reserve(&rc->w, REC_CHUNK_PIXELS, REC_PIXELS_HEAD + row * (size_t)h);

	if (!b)
		return -ENOMEM;
	rec_put_u32(b, (uint32_t)x);
	rec_put_u32(b + 4, (uint32_t)y);
	rec_put_u32(b + 8, (uint32_t)w);
	rec_put_u32(b + 12, (uint32_t)h);
	b += REC_PIXELS_HEAD;
	for (int32_t i = 0; i < h; i++) {
		size_t off = (size_t)(y + i) * rc->stride + (size_t)x * bpp;
		/* Copy once from the live surface; prev gets exactly what the file holds. */
		memcpy(b + (size_t)i * row, src + off, row);
		memcpy(rc->prev + off, b + (size_t)i * row, row);
	}
	return 0;
}

static uint64_t elapsed(const struct recorder *rc)
{
	return rec_now_ns() - rc->t0;
}

static int commit(struct recorder *rc, uint32_t type)
{
	uint64_t ts;
	int ret;

	/* Time counts from the first frame, which is at 0. */
	if (rc->frames == 0)
		rc->t0 = rec_now_ns();
	ts = elapsed(rc);
	ret = rec_writer_commit(&rc->w, type, ts, NULL);

	if (ret < 0)
		return ret;
	rc->frames++;
	rc->raw_full += (uint64_t)rc->stride * (uint64_t)rc->height;
	rc->last_frame = rec_now_ns();
	return 0;
}

/* Adopts the surface's geometry; (re)allocates prev. */
static int adopt_geometry(struct recorder *rc)
{
	const struct mirage_surface_header *s = mirage_client_surface(rc->client);
	uint8_t *p;

	if (!rec_bytes_per_pixel(s->bpp) || !mirage_client_pixels(rc->client))
		return -ENODATA;
	if (s->width < 1 || s->height < 1 || s->stride != rec_stride(s->width, s->bpp))
		return -EPROTO;
	p = realloc(rc->prev, (size_t)s->stride * (size_t)s->height);
	if (!p)
		return -ENOMEM;
	rc->prev = p;
	rc->width = s->width;
	rc->height = s->height;
	rc->bpp = s->bpp;
	rc->stride = s->stride;
	return 0;
}

static int write_keyframe(struct recorder *rc)
{
	const struct mirage_surface_header *s = mirage_client_surface(rc->client);
	uint8_t *b;
	int ret;

	ret = adopt_geometry(rc);
	if (ret < 0)
		return ret;
	rec_writer_begin(&rc->w);
	b = rec_writer_reserve(&rc->w, REC_CHUNK_GEOMETRY, REC_GEOMETRY_SIZE);
	if (!b)
		return -ENOMEM;
	rec_put_u32(b, (uint32_t)rc->width);
	rec_put_u32(b + 4, (uint32_t)rc->height);
	rec_put_u32(b + 8, rc->bpp);
	rec_put_u32(b + 12, s->red_mask);
	rec_put_u32(b + 16, s->green_mask);
	rec_put_u32(b + 20, s->blue_mask);
	ret = put_pixels(rc, mirage_client_pixels(rc->client), 0, 0, rc->width, rc->height);
	if (ret < 0)
		return ret;
	ret = put_cursor(rc, true);
	if (ret < 0)
		return ret;
	ret = commit(rc, REC_FRAME_KEY);
	if (ret < 0)
		return ret;
	/* Everything pending is in the key frame. */
	pixman_region32_clear(&rc->damage);
	rc->ncopies = 0;
	rc->need_key = false;
	rc->cursor_dirty = false;
	rc->keyframes++;
	rc->last_key = rc->last_frame;
	return 0;
}

static void apply_copy_prev(struct recorder *rc, const struct copy_op *c)
{
	copy_within(rc->prev, rc->stride, rec_bytes_per_pixel(rc->bpp), c->x, c->y, c->w, c->h,
		    c->sx, c->sy);
}

/*
 * Shrinks [x, x+w) x [y, y+h) to the pixels that differ between the surface
 * and prev.  Returns false when none do.
 */
static bool trim_rect(const struct recorder *rc, const uint8_t *cur, int32_t *x, int32_t *y,
		      int32_t *w, int32_t *h)
{
	unsigned bpp = rec_bytes_per_pixel(rc->bpp);
	int32_t top = *y, bottom = *y + *h, left = *x + *w, right = *x;
	size_t row = (size_t)*w * bpp;

#define LINE(buf, r) ((buf) + (size_t)(r) * rc->stride + (size_t)*x * bpp)
	while (top < bottom && !memcmp(LINE(cur, top), LINE(rc->prev, top), row))
		top++;
	if (top == bottom)
		return false;
	while (bottom > top && !memcmp(LINE(cur, bottom - 1), LINE(rc->prev, bottom - 1), row))
		bottom--;
	for (int32_t r = top; r < bottom; r++) {
		const uint8_t *a = LINE(cur, r), *b = LINE(rc->prev, r);
		int32_t l = 0, rr = *w;
		while (l < rr && !memcmp(a + (size_t)l * bpp, b + (size_t)l * bpp, bpp))
			l++;
		if (l == rr)
			continue;
		while (rr > l && !memcmp(a + (size_t)(rr - 1) * bpp, b + (size_t)(rr - 1) * bpp, bpp))
			rr--;
		if (*x + l < left)
			left = *x + l;
		if (*x + rr > right)
			right = *x + rr;
	}
#undef LINE
	*y = top;
	*h = bottom - top;
	*x = left;
	*w = right - left;
	return true;
}

static int write_delta(struct recorder *rc)
{
	const uint8_t *cur = mirage_client_pixels(rc->client);
	pixman_box32_t *boxes;
	int nboxes, ret;
	uint8_t *b;

	rec_writer_begin(&rc->w);
	for (size_t i = 0; i < rc->ncopies; i++) {
		const struct copy_op *c = &rc->copies[i];
		apply_copy_prev(rc, c);
		b = rec_writer_reserve(&rc->w, REC_CHUNK_COPY, REC_COPY_SIZE);
		if (!b)
			return -ENOMEM;
		rec_put_u32(b, (uint32_t)c->x);
		rec_put_u32(b + 4, (uint32_t)c->y);
		rec_put_u32(b + 8, (uint32_t)c->w);
		rec_put_u32(b + 12, (uint32_t)c->h);
		rec_put_u32(b + 16, (uint32_t)c->sx);
		rec_put_u32(b + 20, (uint32_t)c->sy);
	}
	rc->ncopies = 0;
	boxes = pixman_region32_rectangles(&rc->damage, &nboxes);
	for (int i = 0; i < nboxes; i++) {
		int32_t x = boxes[i].x1, y = boxes[i].y1;
		int32_t w = boxes[i].x2 - x, h = boxes[i].y2 - y;

		if (!trim_rect(rc, cur, &x, &y, &w, &h))
			continue;
		ret = put_pixels(rc, cur, x, y, w, h);
		if (ret < 0)
			return ret;
	}
	pixman_region32_clear(&rc->damage);
	if (rc->cursor_dirty) {
		ret = put_cursor(rc, false);
		if (ret < 0)
			return ret;
		rc->cursor_dirty = false;
	}
	if (rec_writer_pending(&rc->w) == 0)
		return 0; /* the records changed nothing we keep */
	return commit(rc, REC_FRAME_DELTA);
}

static void end_frame(struct recorder *rc)
{
	uint8_t *b;
	int ret;

	rec_writer_begin(&rc->w);
	b = rec_writer_reserve(&rc->w, REC_CHUNK_END, REC_END_SIZE);
	if (!b)
		return;
	rec_put_u32(b, (uint32_t)rc->end_reason);
	rec_put_u32(b + 4, rc->frames);
	ret = rec_writer_commit(&rc->w, REC_FRAME_END, elapsed(rc), NULL);
	if (ret < 0)
		rec_warn("%s: cannot write the end frame: %s", rc->path, strerror(-ret));
}

/* ------------------------------------------------------------------ */
/* Following the ring                                                  */
/* ------------------------------------------------------------------ */

static int add_copy(struct recorder *rc, const struct mirage_record *r)
{
	struct copy_op c = {
		.x = r->rect.left, .y = r->rect.top,
		.w = r->rect.right - r->rect.left, .h = r->rect.bottom - r->rect.top,
		.sx = r->point.x, .sy = r->point.y,
	};

	/* A copy the file cannot express stays a plain damaged rect. */
	if (c.w <= 0 || c.h <= 0 || c.x < 0 || c.y < 0 || c.sx < 0 || c.sy < 0 ||
	    (int64_t)c.x + c.w > rc->width || (int64_t)c.y + c.h > rc->height ||
	    (int64_t)c.sx + c.w > rc->width || (int64_t)c.sy + c.h > rc->height)
		return 0;
	/*
	 * The copy reads prev as it will be when applied, which is right only if
	 * nothing before it in this frame touched its source, or if that damage
	 * is replayed anyway: it is, since the whole damaged region is diffed
	 * after all copies.  Only the destination must be in the damage.
	 */
	if (rc->ncopies == rc->copies_cap) {
		size_t n = rc->copies_cap ? rc->copies_cap * 2 : 16;
		struct copy_op *p = realloc(rc->copies, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		rc->copies = p;
		rc->copies_cap = n;
	}
	rc->copies[rc->ncopies++] = c;
	return 0;
}

/* Reads every pending record.  Returns 0, or MIRAGE_POLL_OFF, or -errno. */
static int drain(struct recorder *rc)
{
	struct mirage_record recs[POLL_BATCH];
	uint32_t n;
	int ret;

	for (;;) {
		ret = mirage_client_poll(rc->client, recs, POLL_BATCH, &n);
		if (ret < 0)
			return ret;
		if (ret == MIRAGE_POLL_LOST) {
			rc->need_key = true;
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			const struct mirage_record *r = &recs[i];
			switch (r->type) {
			case MIRAGE_REC_SCREEN_SCREEN:
				if (add_copy(rc, r) < 0)
					return -ENOMEM;
				mirage_client_region_add(rc->client, &rc->damage, r);
				break;
			case MIRAGE_REC_PTR_SHAPE:
			case MIRAGE_REC_PTR_ENGAGE:
			case MIRAGE_REC_PTR_AVERT:
				rc->cursor_dirty = true;
				break;
			case MIRAGE_REC_ASSERT_ON:
				mirage_client_region_full(rc->client, &rc->damage);
				rc->cursor_dirty = true;
				break;
			default:
				mirage_client_region_add(rc->client, &rc->damage, r);
				break;
			}
		}
		if (ret == MIRAGE_POLL_OFF)
			return MIRAGE_POLL_OFF;
		if (n < POLL_BATCH)
			return 0;
	}
}

static void status_line(struct recorder *rc, bool last)
{
	uint64_t now = rec_now_ns(), t = now - rc->t0;
	double ratio = rc->w.file_bytes ? (double)rc->raw_full / (double)rc->w.file_bytes : 0;

	if (!rc->tty || (!last && now - rc->last_status < STATUS_MS * 1000000ull))
		return;
	rc->last_status = now;
	fprintf(stderr, "\r\033[Krecording %s  %02llu:%02llu:%02llu  %u frames  %.2f MiB  %.1fx",
		rc->mirror, (unsigned long long)(t / 3600000000000ull),
		(unsigned long long)(t / 60000000000ull % 60), (unsigned long long)(t / 1000000000u % 60),
		rc->frames, (double)rc->w.file_bytes / 1048576.0, ratio);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Waits and records until stopped.  Returns 0 or -errno (message printed). */
static int run(struct recorder *rc)
{
	int ret;

	ret = write_keyframe(rc);
	if (ret == -EFBIG)
		return rec_fail("%s: the first key frame alone exceeds --max-size", rc->path), ret;
	if (ret < 0)
		return rec_fail("%s: first key frame: %s", rc->path, strerror(-ret)), ret;
	for (;;) {
		uint64_t now = rec_now_ns(), t = now - rc->t0;
		uint64_t due = rc->last_frame + rc->interval_ns;
		uint64_t wake = rc->tty ? now + STATUS_MS * 1000000ull : UINT64_MAX;
		bool pending = rc->need_key || rc->cursor_dirty || rc->ncopies ||
			       pixman_region32_not_empty(&rc->damage);
		int timeout;

		status_line(rc, false);
		if (stop_signal)
			break;
		if (rc->duration_ns && t >= rc->duration_ns)
			break;
		if (key_request) {
			key_request = 0;
			rc->need_key = true;
			pending = true;
		}
		if (rc->key_interval_ns && now - rc->last_key >= rc->key_interval_ns) {
			rc->need_key = true;
			pending = true;
		}
		if (pending && now >= due) {
			ret = rc->need_key ? write_keyframe(rc) : write_delta(rc);
			if (ret == -EFBIG) {
				/* The frame would not fit under --max-size: end here. */
				rc->end_reason = REC_END_MAX_SIZE;
				break;
			}
			if (ret < 0)
				return rec_fail("%s: frame %u: %s", rc->path, rc->w.next_index,
						strerror(-ret)), ret;
			continue;
		}
		if (pending && due < wake)
			wake = due;
		if (rc->duration_ns && rc->t0 + rc->duration_ns < wake)
			wake = rc->t0 + rc->duration_ns;
		if (rc->key_interval_ns && rc->last_key + rc->key_interval_ns < wake)
			wake = rc->last_key + rc->key_interval_ns;
		if (wake == UINT64_MAX)
			timeout = -1; /* a change, a signal or the producer's end */
		else
			timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		ret = mirage_client_wait(rc->client, timeout);
		if (ret == 0 && !pending)
			continue;
		if (ret >= 0)
			ret = drain(rc);
		if (ret == MIRAGE_POLL_OFF || ret == -ENOTCONN) {
			/* A retired pipe (resize) or a lost producer: map whatever is there now. */
			if (ret == MIRAGE_POLL_OFF && rc->prev && rc->ncopies + pixman_region32_not_empty(&rc->damage)) {
				/* Changes made just before the resize still belong to the old geometry. */
				ret = write_delta(rc);
				if (ret == -EFBIG) {
					rc->end_reason = REC_END_MAX_SIZE;
					break;
				}
				if (ret < 0)
					return rec_fail("%s: %s", rc->path, strerror(-ret)), ret;
			}
			ret = mirage_client_reconnect(rc->client);
			if (ret < 0) {
				rc->end_reason = REC_END_SOURCE_GONE;
				if (rc->tty)
					fputc('\n', stderr);
				rec_warn("%s: the mirror went away (%s); finishing the recording",
					 rc->mirror, mirage_last_error());
				break;
			}
			rc->need_key = true;
			continue;
		}
		if (ret < 0)
			return rec_fail("%s: %s", rc->mirror, mirage_last_error()), ret;
	}
	/* What arrived since the last frame is worth keeping. */
	if (rc->end_reason != REC_END_MAX_SIZE && !rc->need_key &&
	    (rc->ncopies || rc->cursor_dirty || pixman_region32_not_empty(&rc->damage))) {
		if (mirage_client_connected(rc->client) && drain(rc) >= 0 && write_delta(rc) == -EFBIG)
			rc->end_reason = REC_END_MAX_SIZE;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* --display: a private mirage-x11                                     */
/* ------------------------------------------------------------------ */

/* Finds mirage-x11 next to us in the build tree, else leaves it to PATH. */
static void find_x11(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(buf, size, "mirage-x11");
	if (n <= 0)
		return;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	/* build/src/tools/rec/mirage-rec -> build/src/drivers/x11/mirage-x11 */
	{
		char cand[PATH_MAX + 64];
		snprintf(cand, sizeof(cand), "%s/../../drivers/x11/mirage-x11", self);
		if (access(cand, X_OK) == 0)
			snprintf(buf, size, "%s", cand);
	}
}

static pid_t start_x11(const char *display, const char *name)
{
	char exe[PATH_MAX + 64];
	pid_t pid;

	find_x11(exe, sizeof(exe));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp(exe, "mirage-x11", "--display", display, "--name", name, (char *)NULL);
		fprintf(stderr, "mirage-rec: record: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Connects to name, retrying while the child starts (up to 10 s). */
static int connect_child(struct mirage_client **c, const char *name, pid_t child)
{
	for (int i = 0; i < 200; i++) {
		int status;
		if (mirage_client_connect(c, name) == 0)
			return 0;
		if (waitpid(child, &status, WNOHANG) == child)
			return rec_fail("mirage-x11 exited before its mirror %s appeared (status %d)", name,
					WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		usleep(50000);
	}
	return rec_fail("mirage-x11's mirror %s did not appear: %s", name, mirage_last_error());
}

static void stop_child(pid_t child)
{
	int status;

	if (child <= 0)
		return;
	kill(child, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(child, &status, WNOHANG) == child)
			return;
		usleep(20000);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
}

/* ------------------------------------------------------------------ */
/* Command                                                             */
/* ------------------------------------------------------------------ */

int rec_cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mirror", required_argument, 0, 'm' },
		{ "display", required_argument, 0, 'd' },
		{ "output", required_argument, 0, 'o' },
		{ "duration", required_argument, 0, 't' },
		{ "max-size", required_argument, 0, 's' },
		{ "fps", required_argument, 0, 'r' },
		{ "keyframe", required_argument, 0, 'k' },
		{ "level", required_argument, 0, 'l' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *mirror = NULL, *display = NULL, *out = NULL;
	double duration = 0, fps = 30, keyint = 10;
	uint64_t max_size = 0;
	int level = 3, opt, status = EXIT_FAIL, ret;
	bool quiet = false;
	struct recorder rc;
	struct rec_header hdr;
	struct sigaction sa;
	struct timespec wall;
	char name[64];
	pid_t child = 0;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":m:d:o:t:s:r:k:l:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': mirror = optarg; break;
		case 'd': display = optarg; break;
		case 'o': out = optarg; break;
		case 't':
			if (!rec_parse_double(optarg, &duration) || duration <= 0)
				return rec_usage("--duration: \"%s\" is not a positive number of seconds", optarg);
			break;
		case 's':
			if (!rec_parse_size(optarg, &max_size) || max_size < 4096)
				return rec_usage("--max-size: \"%s\" is not a size of at least 4K", optarg);
			break;
		case 'r':
			if (!rec_parse_double(optarg, &fps) || fps < 0.1 || fps > 1000)
				return rec_usage("--fps: \"%s\" is not between 0.1 and 1000", optarg);
			break;
		case 'k':
			if (!rec_parse_double(optarg, &keyint) || keyint > 86400)
				return rec_usage("--keyframe: \"%s\" is not a number of seconds", optarg);
			break;
		case 'l': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 19)
				return rec_usage("--level: \"%s\" is not between 1 and 19", optarg);
			level = (int)v;
			break;
		}
		case 'q': quiet = true; break;
		case 'h': fputs(record_help, stdout); return 0;
		default: return rec_option_error(opt, argv);
		}
	}
	if (optind < argc)
		return rec_usage("unexpected argument \"%s\"", argv[optind]);
	if (!out)
		return rec_usage("no output file (-o FILE)");
	if (!!mirror + !!display != 1)
		return rec_usage("give exactly one of --mirror NAME and --display :N");

	memset(&rc, 0, sizeof(rc));
	pixman_region32_init(&rc.damage);
	rc.w.fd = -1;
	rc.path = out;
	rc.interval_ns = (uint64_t)(1e9 / fps);
	rc.key_interval_ns = (uint64_t)(keyint * 1e9);
	rc.duration_ns = (uint64_t)(duration * 1e9);
	rc.max_size = max_size;
	rc.tty = !quiet && isatty(STDERR_FILENO);
	rc.argb = malloc(REC_CURSOR_MAX * REC_CURSOR_MAX * 4);
	if (!rc.argb) {
		rec_fail("out of memory");
		goto cleanup;
	}

	/* Stop cleanly on SIGINT/SIGTERM; SIGUSR1 asks for a key frame. */
	rec_catch_stop(on_stop);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_key;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	if (display) {
		snprintf(name, sizeof(name), "rec-x11-%d", (int)getpid());
		child = start_x11(display, name);
		if (child < 0) {
			rec_fail("cannot start mirage-x11: %s", strerror((int)-child));
			child = 0;
			goto cleanup;
		}
		mirror = name;
		if (connect_child(&rc.client, name, child))
			goto cleanup;
	} else if (mirage_client_connect(&rc.client, mirror) < 0) {
		rec_fail("%s", mirage_last_error());
		goto cleanup;
	}
	rc.mirror = mirror;

	ret = mirage_client_attach(rc.client, 0);
	if (ret == -EBUSY)
		rec_warn("%s: the manager role is held by another client (%s); recording as a plain consumer",
			 mirror, mirage_last_error());
	else if (ret < 0)
		rec_warn("%s: cannot attach (%s); recording as a plain consumer", mirror,
			 mirage_last_error());

	if (!mirage_client_pixels(rc.client)) {
		rec_fail("%s: the mirror publishes no surface (Cap.DfbBackingMode=0?); nothing to record",
			 mirror);
		goto cleanup;
	}

	memset(&hdr, 0, sizeof(hdr));
	clock_gettime(CLOCK_REALTIME, &wall);
	hdr.start_wall_ns = (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec;
	hdr.frame_interval_us = (uint32_t)(rc.interval_ns / 1000);
	hdr.keyframe_interval_ms = (uint32_t)(rc.key_interval_ns / 1000000);
	snprintf(hdr.source, sizeof(hdr.source), "%s", mirror);
	ret = rec_writer_open(&rc.w, out, &hdr, level);
	if (ret < 0) {
		rec_fail("%s: %s", out, strerror(-ret));
		goto cleanup;
	}
	rc.w.limit = max_size;
	rc.t0 = rec_now_ns();
	__atomic_store_n(&wake_client, rc.client, __ATOMIC_SEQ_CST);
	ret = run(&rc);
	__atomic_store_n(&wake_client, NULL, __ATOMIC_SEQ_CST);
	if (ret < 0) {
		end_frame(&rc);
		goto cleanup;
	}
	end_frame(&rc);
	status_line(&rc, true);
	status = 0;
cleanup:
	if (rc.w.fd >= 0 && rec_writer_close(&rc.w) < 0) {
		rec_fail("%s: closing: %s", out, strerror(errno));
		status = EXIT_FAIL;
	}
	/* Closing the connection gives the manager role back (and detaches). */
	mirage_client_destroy(rc.client);
	stop_child(child);
	pixman_region32_fini(&rc.damage);
	free(rc.prev);
	free(rc.copies);
	free(rc.argb);
	return status;
}
