/* SPDX-License-Identifier: MIT */
/*
 * miragectl's commands that read a mirror's pipe: watch (the change
 * records), snapshot (the surface) and shape (the cursor).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>

#include "ctl-image.h"
#include "ctl.h"

/* ------------------------------------------------------------------ */
/* watch                                                               */
/* ------------------------------------------------------------------ */

/* At most this many records of a new pipe are shown from before watch mapped it. */
#define WATCH_BACKFILL_MAX 256u
#define WATCH_BATCH 64u

struct watch_opts {
	uint32_t count;   /* 0: no limit */
	double timeout;   /* seconds; 0: none */
};

struct watch {
	struct mirage_client *c;
	const char *name;
	uint32_t count;
	uint64_t printed;
};

static const char *record_type_name(uint32_t type)
{
	switch (type) {
	case MIRAGE_REC_SCREEN_SCREEN: return "SCREEN_SCREEN";
	case MIRAGE_REC_BLIT: return "BLIT";
	case MIRAGE_REC_SOLIDFILL: return "SOLIDFILL";
	case MIRAGE_REC_TEXTOUT: return "TEXTOUT";
	case MIRAGE_REC_PTR_SHAPE: return "PTR_SHAPE";
	case MIRAGE_REC_PTR_ENGAGE: return "PTR_ENGAGE";
	case MIRAGE_REC_PTR_AVERT: return "PTR_AVERT";
	case MIRAGE_REC_ASSERT_ON: return "ASSERT_ON";
	case MIRAGE_REC_ASSERT_OFF: return "ASSERT_OFF";
	default: return NULL;
	}
}

static void print_rect(const struct mirage_rect *r)
{
	printf(" rect=%d,%d,%d,%d", r->left, r->top, r->right, r->bottom);
}

static void print_record(uint64_t n, const struct mirage_record *r)
{
	const char *type = record_type_name(r->type);

	if (type)
		printf("%" PRIu64 " %s", n, type);
	else
		printf("%" PRIu64 " TYPE_%u", n, r->type);

	switch (r->type) {
	case MIRAGE_REC_SCREEN_SCREEN:
		print_rect(&r->rect);
		printf(" src=%d,%d", r->point.x, r->point.y);
		break;
	case MIRAGE_REC_BLIT:
	case MIRAGE_REC_TEXTOUT:
		print_rect(&r->rect);
		break;
	case MIRAGE_REC_SOLIDFILL:
		print_rect(&r->rect);
		printf(" color=0x%08x", r->color);
		break;
	case MIRAGE_REC_PTR_SHAPE:
		printf(" hot=%d,%d", r->point.x, r->point.y);
		break;
	case MIRAGE_REC_PTR_ENGAGE:
		printf(" pos=%d,%d", r->point.x, r->point.y);
		break;
	case MIRAGE_REC_PTR_AVERT:
	case MIRAGE_REC_ASSERT_ON:
	case MIRAGE_REC_ASSERT_OFF:
		break;
	default:
		/* A newer producer's type: show every field we know. */
		print_rect(&r->rect);
		printf(" point=%d,%d color=0x%08x", r->point.x, r->point.y, r->color);
		break;
	}
	putchar('\n');
}

static bool watch_done(const struct watch *w)
{
	return w->count && w->printed >= w->count;
}

static void watch_print(struct watch *w, uint64_t n, const struct mirage_record *r)
{
	if (watch_done(w))
		return;
	print_record(n, r);
	w->printed++;
}

static void print_pipe(const struct mirage_client *c)
{
	const struct mirage_surface_header *s = mirage_client_surface(c);
	const struct mirage_ring_header *ring = mirage_client_ring(c);

	printf("generation %u, %dx%d, %u bpp, capacity %u, from record %" PRIu64 "\n",
	       s->generation, s->width, s->height, s->bpp, ring->capacity,
	       mirage_client_position(c));
}

/*
 * A new pipe already holds records when we map it (at least its ASSERT_ON
 * and usually the producer's full refresh), and the position starts after
 * them: step back so the next poll shows the last few.
 */
static void watch_backfill(struct watch *w)
{
	uint64_t pos = mirage_client_position(w->c);
	uint32_t back = mirage_client_rewind(w->c, WATCH_BACKFILL_MAX);

	if (pos > back)
		printf("# %" PRIu64 " earlier records not shown\n", pos - back);
}

static int watch_reconnect(struct watch *w)
{
	if (mirage_client_reconnect(w->c) < 0)
		return ctl_fail("reconnect %s: %s", w->name, mirage_last_error());
	printf("# ");
	print_pipe(w->c);
	watch_backfill(w);
	fflush(stdout);
	return EXIT_OK;
}

static int watch_option(int opt, const char *arg, void *data)
{
	struct watch_opts *o = data;

	switch (opt) {
	case 'n':
		if (!ctl_parse_u32(arg, 1, &o->count))
			return ctl_usage_error("--count: \"%s\" is not a positive number", arg);
		return EXIT_OK;
	case 't':
		if (!ctl_parse_seconds(arg, &o->timeout))
			return ctl_usage_error("--timeout: \"%s\" is not a number of seconds "
					   "(0 < S <= 86400)", arg);
		return EXIT_OK;
	}
	return EXIT_USAGE;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = ctl_find_command("watch");
	struct watch_opts o = { 0 };
	struct watch w = { 0 };
	struct mirage_record recs[WATCH_BATCH];
	int64_t deadline = 0;
	bool gone = false;
	int ret, first, status;

	ret = ctl_parse_options(cmd, argc, argv, "n:t:", opts, watch_option, &o, 1, 1, &first);
	if (ret >= 0)
		return ret;
	w.name = argv[first];
	w.count = o.count;
	if (o.timeout > 0)
		deadline = ctl_now_ms() + (int64_t)(o.timeout * 1000.0 + 0.5);

	ctl_catch_stop_signals();
	status = ctl_connect(w.name, &w.c);
	if (status != EXIT_OK)
		return status;

	printf("# watching %s: ", w.name);
	print_pipe(w.c);
	fflush(stdout);

	while (!ctl_stop_signal && !watch_done(&w)) {
		uint64_t pos = mirage_client_position(w.c);
		uint32_t n = 0;
		int wait_ms;

		ret = mirage_client_poll(w.c, recs, WATCH_BATCH, &n);
		if (ret < 0) {
			status = ctl_fail("%s: %s", w.name, mirage_last_error());
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			watch_print(&w, pos + i, &recs[i]);
		if (ret == MIRAGE_POLL_LOST) {
			printf("- LOST resume=%" PRIu64 "\n", mirage_client_position(w.c));
		} else if (ret == MIRAGE_POLL_OFF) {
			/* The ASSERT_OFF was printed with the records above. */
			if (watch_done(&w))
				break;
			fflush(stdout);
			status = watch_reconnect(&w);
			if (status != EXIT_OK)
				break;
			gone = false;
			continue;
		}
		fflush(stdout);
		if (n == WATCH_BATCH || ret == MIRAGE_POLL_LOST)
			continue;
		if (gone) {
			/*
			 * The producer went away without an ASSERT_OFF we could
			 * see (it crashed, or a new one replaced it): whatever
			 * answers to the name now is a new pipe.
			 */
			status = watch_reconnect(&w);
			if (status != EXIT_OK)
				break;
			gone = false;
			continue;
		}

		/* Wake up at least once a second to notice a signal or the deadline. */
		wait_ms = 1000;
		if (deadline) {
			int64_t left = deadline - ctl_now_ms();

			if (left <= 0) {
				if (w.count)
					status = ctl_fail("timed out after %g s with %" PRIu64 " of %u records",
						      o.timeout, w.printed, w.count);
				break;
			}
			if (left < wait_ms)
				wait_ms = (int)left;
		}
		ret = mirage_client_wait(w.c, wait_ms);
		if (ret == -ENOTCONN) {
			gone = true;
		} else if (ret < 0 && ret != -EINTR) {
			status = ctl_fail("%s: %s", w.name, mirage_last_error());
			break;
		}
	}
	fflush(stdout);
	mirage_client_destroy(w.c);
	return status;
}

/* ------------------------------------------------------------------ */
/* snapshot, shape                                                     */
/* ------------------------------------------------------------------ */

static int save_image(const struct ctl_image *img, const char *file)
{
	int ret = ctl_image_save(img, file);

	if (ret == -ENOTSUP)
		return ctl_fail("write %s: PNG output is not available (miragectl was built "
			    "without libpng); use a .ppm or .pam file name", file);
	if (ret < 0)
		return ctl_fail("write %s: %s", file, strerror(-ret));
	return EXIT_OK;
}

/*
 * What snapshot and shape share: the operands NAME FILE, a refusal before
 * connecting when FILE wants PNG and there is no libpng (nothing would
 * come of it; `plain` names the format to use instead), the connection,
 * then take() fills img (or prints the failure line and returns its exit
 * status) and the image is written.
 */
static int image_command(const char *command, int argc, char **argv, const char *plain,
			 int (*take)(struct mirage_client *c, const char *name,
				     struct ctl_image *img))
{
	struct mirage_client *c = NULL;
	struct ctl_image img = { 0 };
	const char *name, *file;
	int ret, first, status;

	ret = ctl_parse_options(ctl_find_command(command), argc, argv, "", ctl_help_only, NULL,
				NULL, 2, 2, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];
	file = argv[first + 1];
	if (ctl_path_is_png(file) && !ctl_png_supported())
		return ctl_fail("write %s: PNG output is not available (miragectl was built "
				"without libpng); use a .%s file name", file, plain);
	status = ctl_connect(name, &c);
	if (status != EXIT_OK)
		return status;
	status = take(c, name, &img);
	if (status == EXIT_OK)
		status = save_image(&img, file);
	ctl_image_finish(&img);
	mirage_client_destroy(c);
	return status;
}

static int take_snapshot(struct mirage_client *c, const char *name, struct ctl_image *img)
{
	const struct mirage_surface_header *s = mirage_client_surface(c);
	struct mirage_info_out info;
	pixman_region32_t region;
	uint32_t width, height, bpp, stride;
	uint8_t *copy = NULL;
	int64_t copied;
	int ret, status = EXIT_OK;

	/* The header of a mapped pipe never changes its geometry: read it once. */
	width = (uint32_t)s->width;
	height = (uint32_t)s->height;
	bpp = s->bpp;
	stride = s->stride;
	if (!mirage_client_pixels(c) || bpp == 0)
		return ctl_fail("%s has no surface (Cap.DfbBackingMode=%u publishes records only)",
				name, s->backing_mode);
	if (mirage_client_info(c, &info, NULL, 0) == 0 && !info.attached)
		ctl_warn("%s is detached: the surface may be out of date", name);

	/*
	 * Copy first, convert afterwards: the producer keeps drawing, and a
	 * plain memcpy keeps the window for tearing as short as it gets.
	 */
	copy = malloc((size_t)stride * height);
	if (!copy)
		return ctl_fail("snapshot %s: %s", name, strerror(ENOMEM));
	pixman_region32_init(&region);
	mirage_client_region_full(c, &region);
	copied = mirage_client_copy_region(c, &region, copy, stride);
	pixman_region32_fini(&region);
	if (copied < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	ret = ctl_image_from_surface(img, copy, stride, width, height, bpp);
	if (ret < 0)
		status = ctl_fail("convert %s: %ux%u at %u bpp, stride %u: %s", name, width, height,
				  bpp, stride, strerror(-ret));
out:
	free(copy);
	return status;
}

int cmd_snapshot(int argc, char **argv)
{
	return image_command("snapshot", argc, argv, "ppm", take_snapshot);
}

static int take_shape(struct mirage_client *c, const char *name, struct ctl_image *img)
{
	const size_t max = (size_t)MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX;
	struct mirage_cursor cursor;
	uint32_t *argb;
	int ret, status = EXIT_OK;

	argb = malloc(max * sizeof(*argb));
	if (!argb)
		return ctl_fail("shape %s: %s", name, strerror(ENOMEM));
	if (mirage_client_cursor(c, &cursor, argb, max) < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (cursor.width == 0 || cursor.height == 0) {
		status = ctl_fail("%s has no cursor shape", name);
		goto out;
	}
	ret = ctl_image_from_argb(img, argb, cursor.width, cursor.height);
	if (ret < 0)
		status = ctl_fail("convert the %ux%u cursor of %s: %s", cursor.width, cursor.height,
				  name, strerror(-ret));
out:
	free(argb);
	return status;
}

int cmd_shape(int argc, char **argv)
{
	return image_command("shape", argc, argv, "pam", take_shape);
}
