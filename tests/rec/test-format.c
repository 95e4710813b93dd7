/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the recording container (src/tools/rec/format.c): a
 * round trip through writer, reader and decoder; every truncation and every
 * single-bit flip of a file is reported with its offset and never crashes;
 * malformed chunks are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assert.h"
#include "format.h"

#define W 64
#define H 48
#define STRIDE (W * 4)

static char dir[64];
static char path[128];

static uint8_t *model;   /* what the decoder must arrive at */
static uint8_t *decoded; /* the decoder's canvas */

static void fill_pattern(uint8_t *buf, uint32_t seed)
{
	for (size_t i = 0; i < (size_t)STRIDE * H; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

static void put_pixels(struct rec_writer *w, const uint8_t *src, int x, int y, int wd, int ht)
{
	uint8_t *b = rec_writer_reserve(w, REC_CHUNK_PIXELS, REC_PIXELS_HEAD + (size_t)wd * ht * 4);

	CHECK(b);
	rec_put_u32(b, (uint32_t)x);
	rec_put_u32(b + 4, (uint32_t)y);
	rec_put_u32(b + 8, (uint32_t)wd);
	rec_put_u32(b + 12, (uint32_t)ht);
	for (int j = 0; j < ht; j++)
		memcpy(b + REC_PIXELS_HEAD + (size_t)j * wd * 4, src + (size_t)(y + j) * STRIDE + (size_t)x * 4,
		       (size_t)wd * 4);
}

/* Writes a small recording: key, delta (pixels), delta (copy + cursor), end. */
static void write_sample(void)
{
	struct rec_header hdr = { .frame_interval_us = 33333, .keyframe_interval_ms = 10000 };
	struct rec_writer w;
	uint8_t *b, *next;

	snprintf(hdr.source, sizeof(hdr.source), "unit");
	CHECK_EQ(rec_writer_open(&w, path, &hdr, 3), 0);

	fill_pattern(model, 1);
	rec_writer_begin(&w);
	b = rec_writer_reserve(&w, REC_CHUNK_GEOMETRY, REC_GEOMETRY_SIZE);
	CHECK(b);
	rec_put_u32(b, W);
	rec_put_u32(b + 4, H);
	rec_put_u32(b + 8, 32);
	rec_put_u32(b + 12, 0xff0000);
	rec_put_u32(b + 16, 0xff00);
	rec_put_u32(b + 20, 0xff);
	put_pixels(&w, model, 0, 0, W, H);
	b = rec_writer_reserve(&w, REC_CHUNK_CURSOR_SHAPE, REC_CURSOR_SHAPE_HEAD + 4 * 4 * 4);
	CHECK(b);
	rec_put_u32(b, 4);
	rec_put_u32(b + 4, 4);
	rec_put_u32(b + 8, 1);
	rec_put_u32(b + 12, 2);
	memset(b + REC_CURSOR_SHAPE_HEAD, 0xff, 64);
	CHECK_EQ(rec_writer_commit(&w, REC_FRAME_KEY, 0, NULL), 0);

	/* A changed rectangle. */
	next = malloc((size_t)STRIDE * H);
	CHECK(next);
	fill_pattern(next, 2);
	for (int y = 10; y < 20; y++)
		memcpy(model + y * STRIDE + 5 * 4, next + y * STRIDE + 5 * 4, 30 * 4);
	rec_writer_begin(&w);
	put_pixels(&w, model, 5, 10, 30, 10);
	CHECK_EQ(rec_writer_commit(&w, REC_FRAME_DELTA, 1000000, NULL), 0);

	/* A scroll: copy up by 8 lines (overlapping), cursor moves. */
	memmove(model, model + 8 * STRIDE, (size_t)(H - 8) * STRIDE);
	rec_writer_begin(&w);
	b = rec_writer_reserve(&w, REC_CHUNK_COPY, REC_COPY_SIZE);
	CHECK(b);
	rec_put_u32(b, 0);
	rec_put_u32(b + 4, 0);
	rec_put_u32(b + 8, W);
	rec_put_u32(b + 12, H - 8);
	rec_put_u32(b + 16, 0);
	rec_put_u32(b + 20, 8);
	b = rec_writer_reserve(&w, REC_CHUNK_CURSOR_POS, REC_CURSOR_POS_SIZE);
	CHECK(b);
	rec_put_u32(b, 7);
	rec_put_u32(b + 4, 9);
	rec_put_u32(b + 8, 1);
	CHECK_EQ(rec_writer_commit(&w, REC_FRAME_DELTA, 2000000, NULL), 0);

	rec_writer_begin(&w);
	b = rec_writer_reserve(&w, REC_CHUNK_END, REC_END_SIZE);
	CHECK(b);
	rec_put_u32(b, REC_END_STOPPED);
	rec_put_u32(b + 4, 3);
	CHECK_EQ(rec_writer_commit(&w, REC_FRAME_END, 3000000, NULL), 0);
	CHECK_EQ(rec_writer_close(&w), 0);
	free(next);
}

static uint8_t *load(size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	buf = malloc((size_t)st.st_size);
	CHECK(buf);
	CHECK_EQ(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

static int geometry(void *data, struct rec_canvas *cv)
{
	(void)data;
	if ((size_t)cv->stride * cv->height > (size_t)STRIDE * H)
		return -ENOMEM;
	cv->pixels = decoded;
	return 0;
}

static const struct rec_apply_ops ops = { .geometry = geometry };

/*
 * Reads and applies everything.  Returns 0 for a complete file, 1 for one
 * that ends cleanly without an end frame, -1 for an error (err set).
 */
static int decode_all(const uint8_t *data, size_t size, struct rec_canvas *cv, uint32_t *frames,
		      char *err, size_t esz)
{
	struct rec_reader r;
	struct rec_frame f;
	int ret;

	*frames = 0;
	err[0] = '\0';
	ret = rec_reader_init(&r, data, size);
	if (ret < 0) {
		snprintf(err, esz, "%s", r.err);
		rec_reader_finish(&r);
		return -1;
	}
	CHECK_STR(r.hdr.source, size >= REC_HEADER_SIZE ? "unit" : "");
	while ((ret = rec_reader_next(&r, &f, true)) > 0) {
		char aerr[200];
		if (rec_apply(cv, &f, &ops, NULL, aerr, sizeof(aerr)) < 0) {
			snprintf(err, esz, "apply: %s", aerr);
			rec_reader_finish(&r);
			return -1;
		}
		(*frames)++;
	}
	if (ret < 0)
		snprintf(err, esz, "%s", r.err);
	ret = ret < 0 ? -1 : r.ended ? 0 : 1;
	rec_reader_finish(&r);
	return ret;
}

static struct rec_canvas *new_canvas(void)
{
	struct rec_canvas *cv = calloc(1, sizeof(*cv));

	CHECK(cv);
	return cv;
}

static void test_roundtrip(void)
{
	struct rec_canvas *cv = new_canvas();
	uint32_t frames;
	size_t size;
	uint8_t *data;
	char err[256];

	write_sample();
	data = load(&size);
	CHECK_EQ(decode_all(data, size, cv, &frames, err, sizeof(err)), 0);
	CHECK_EQ(frames, 4);
	CHECK_EQ(cv->width, W);
	CHECK_EQ(cv->height, H);
	CHECK(memcmp(decoded, model, (size_t)STRIDE * H) == 0);
	CHECK(cv->cursor_visible);
	CHECK_EQ(cv->cursor_x, 7);
	CHECK_EQ(cv->cursor_y, 9);
	CHECK_EQ(cv->cursor_w, 4);
	CHECK_EQ(cv->cursor_hot_y, 2);
	free(data);
	free(cv);
}

/* Every prefix of the file: a clean error naming an offset, or whole frames. */
static void test_truncation(void)
{
	size_t size;
	uint8_t *data = load(&size);
	size_t boundaries = 0;

	for (size_t len = 0; len < size; len++) {
		struct rec_canvas *cv = new_canvas();
		uint8_t *copy = malloc(len ? len : 1);
		uint32_t frames;
		char err[256];
		int ret;

		CHECK(copy);
		memcpy(copy, data, len);
		ret = decode_all(copy, len, cv, &frames, err, sizeof(err));
		if (ret == 1) {
			boundaries++; /* ends right after a whole frame */
		} else {
			CHECK_EQ(ret, -1);
			CHECK(strstr(err, "offset ") == err);
			CHECK(strstr(err, "truncated") || strstr(err, "not a mirage recording"));
		}
		free(copy);
		free(cv);
	}
	/* Header only, and after each of the three frames before the end frame. */
	CHECK_EQ(boundaries, 4);
	free(data);
}

/* Every single-bit flip is caught by a checksum or a check. */
static void test_bitflips(void)
{
	size_t size;
	uint8_t *data = load(&size);

	for (size_t i = 0; i < size; i++) {
		struct rec_canvas *cv = new_canvas();
		uint32_t frames;
		char err[256];

		data[i] ^= (uint8_t)(1u << (i % 8));
		CHECK_EQ(decode_all(data, size, cv, &frames, err, sizeof(err)), -1);
		CHECK(strncmp(err, "offset ", 7) == 0);
		data[i] ^= (uint8_t)(1u << (i % 8));
		free(cv);
	}
	free(data);
}

static void test_foreign(void)
{
	static const char text[] = "GIF89a this is not a recording, but long enough to have a header "
				   "of one hundred and twenty-eight bytes, which it has, really...";
	struct rec_canvas *cv = new_canvas();
	uint32_t frames;
	char err[256];

	CHECK_EQ(decode_all((const uint8_t *)text, sizeof(text), cv, &frames, err, sizeof(err)), -1);
	CHECK_STR(err, "offset 0: not a mirage recording (no \"MIRAGREC\" magic)");
	free(cv);
}

/* Malformed chunks are refused by the decoder with a message. */
static void test_bad_chunks(void)
{
	struct rec_canvas *cv = new_canvas();
	uint8_t payload[64];
	struct rec_frame f = { .type = REC_FRAME_KEY, .payload = payload };
	char err[256];

	/* Key frame starting with pixels. */
	rec_put_u32(payload, REC_CHUNK_PIXELS);
	rec_put_u32(payload + 4, 16);
	memset(payload + 8, 0, 16);
	f.raw_size = 24;
	CHECK_EQ(rec_apply(cv, &f, &ops, NULL, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "geometry"));

	/* A valid geometry, then a rect outside the surface. */
	rec_put_u32(payload, REC_CHUNK_GEOMETRY);
	rec_put_u32(payload + 4, REC_GEOMETRY_SIZE);
	rec_put_u32(payload + 8, W);
	rec_put_u32(payload + 12, H);
	rec_put_u32(payload + 16, 32);
	memset(payload + 20, 0, 12);
	rec_put_u32(payload + 32, REC_CHUNK_PIXELS);
	rec_put_u32(payload + 36, 16 + 4);
	rec_put_u32(payload + 40, W);
	rec_put_u32(payload + 44, 0);
	rec_put_u32(payload + 48, 1);
	rec_put_u32(payload + 52, 1);
	f.raw_size = 60;
	CHECK_EQ(rec_apply(cv, &f, &ops, NULL, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "outside"));

	/* A chunk length overrunning the payload. */
	rec_put_u32(payload + 36, 1000);
	CHECK_EQ(rec_apply(cv, &f, &ops, NULL, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "overruns"));

	/* Absurd geometry. */
	rec_put_u32(payload + 8, 0x7fffffff);
	f.raw_size = 32;
	CHECK_EQ(rec_apply(cv, &f, &ops, NULL, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "out of range"));

	/* A delta frame with nothing before it. */
	free(cv);
	cv = new_canvas();
	f.type = REC_FRAME_DELTA;
	f.raw_size = 0;
	CHECK_EQ(rec_apply(cv, &f, &ops, NULL, err, sizeof(err)), -EBADMSG);
	free(cv);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mirage-rec-test-XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sample.mrec", dir);
	model = malloc((size_t)STRIDE * H);
	decoded = calloc(1, (size_t)STRIDE * H);
	CHECK(model && decoded);

	RUN(test_roundtrip);
	RUN(test_truncation);
	RUN(test_bitflips);
	RUN(test_foreign);
	RUN(test_bad_chunks);

	unlink(path);
	rmdir(dir);
	free(model);
	free(decoded);
	return 0;
}
