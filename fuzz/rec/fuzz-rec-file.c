/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a recording file through the reader and the decoder.
 * Each input is read twice: once as a real file (checksums on) and once
 * with checksums ignored, so that mutations reach the frame and chunk
 * parsers instead of stopping at the first CRC.  Each time the validator
 * (rec_check_file, what info, play and export decide by) must agree with
 * the decoder on how many frames are good: a disagreement aborts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint8_t *buf;
	size_t cap;
};

static int geometry(void *data, struct rec_canvas *cv)
{
	struct sink *s = data;
	size_t need = (size_t)cv->stride * (size_t)cv->height;

	if (need > s->cap) {
		uint8_t *p = realloc(s->buf, need);
		if (!p)
			return -ENOMEM;
		s->buf = p;
		s->cap = need;
	}
	cv->pixels = s->buf;
	return 0;
}

static const struct rec_apply_ops ops = { .geometry = geometry };

static void run(const uint8_t *data, size_t size, bool check_crc)
{
	static struct rec_canvas cv;
	struct rec_check c = { .max_raw = 1u << 24, .ignore_crc = !check_crc };
	struct sink sink = { 0 };
	struct rec_reader r;
	struct rec_frame f;
	uint32_t applied = 0;
	bool limited = false;
	char err[256];
	int ret;

	ret = rec_check_file(&c, data, size, NULL, NULL);
	if (ret == -ENOMEM)
		return;
	memset(&cv, 0, offsetof(struct rec_canvas, cursor_argb));
	cv.max_pixels = 1u << 20; /* keep allocations small */
	if (rec_reader_init(&r, data, size) == 0) {
		r.max_raw = c.max_raw;
		r.ignore_crc = c.ignore_crc;
		while (rec_reader_next(&r, &f, true) > 0) {
			ret = rec_apply(&cv, &f, &ops, &sink, err, sizeof(err));
			if (ret < 0) {
				/* The fuzzer's own limits are not the format's. */
				limited = ret != -EBADMSG;
				break;
			}
			applied++;
		}
	}
	rec_reader_finish(&r);
	free(sink.buf);
	if (limited ? applied > c.frames : applied != c.frames)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, true);
	run(data, size, false);
	return 0;
}
