/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the recording container (src/tools/rec/format.c): a
 * round trip through writer, reader and decoder; every truncation and every
 * single-bit flip of a file is reported with its offset and never crashes;
 * malformed chunks are refused; the validator (rec_check_file) and the
 * decoder agree on every damaged file, sealed again or not.
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
static char path2[128]; /* files made from the sample */

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

static uint8_t *roomy; /* for the larger geometries damaged files declare */

static int geometry(void *data, struct rec_canvas *cv)
{
	size_t need = (size_t)cv->stride * cv->height;

	(void)data;
	if (need > (size_t)STRIDE * H) {
		uint8_t *p = realloc(roomy, need);
		if (!p)
			return -ENOMEM;
		roomy = p;
		cv->pixels = roomy;
		return 0;
	}
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

/* ------------------------------------------------------------------ */
/* The validator                                                       */
/* ------------------------------------------------------------------ */

/* Builds payloads chunk by chunk. */
struct payload {
	uint8_t buf[256];
	size_t len;
};

static uint8_t *chunk(struct payload *p, uint32_t type, uint32_t len)
{
	uint8_t *b = p->buf + p->len;

	CHECK(p->len + 8 + len <= sizeof(p->buf));
	rec_put_u32(b, type);
	rec_put_u32(b + 4, len);
	memset(b + 8, 0, len);
	p->len += 8 + len;
	return b + 8;
}

static void geometry_chunk(struct payload *p, uint32_t w, uint32_t h, uint32_t bpp)
{
	uint8_t *b = chunk(p, REC_CHUNK_GEOMETRY, REC_GEOMETRY_SIZE);

	rec_put_u32(b, w);
	rec_put_u32(b + 4, h);
	rec_put_u32(b + 8, bpp);
}

static void pixels_chunk(struct payload *p, int32_t x, int32_t y, int32_t w, int32_t h, uint32_t bytes)
{
	uint8_t *b = chunk(p, REC_CHUNK_PIXELS, REC_PIXELS_HEAD + bytes);

	rec_put_u32(b, (uint32_t)x);
	rec_put_u32(b + 4, (uint32_t)y);
	rec_put_u32(b + 8, (uint32_t)w);
	rec_put_u32(b + 12, (uint32_t)h);
}

/*
 * Checks a frame against a 16x8 geometry at 32 bpp (none when fresh): the
 * message must be want (NULL: the frame must pass).  rec_apply() must agree.
 */
static void expect_frame(uint32_t type, uint32_t index, const struct payload *p, bool fresh,
			 const char *want)
{
	struct rec_geometry geo = { 16, 8, 32 };
	struct rec_frame f = { .type = type, .index = index, .payload = p->buf,
			       .raw_size = (uint32_t)p->len };
	struct rec_canvas *cv = new_canvas();
	char err[256], aerr[256];
	int ret;

	if (fresh)
		geo = (struct rec_geometry){ 0 };
	ret = rec_frame_check(&geo, &f, err, sizeof(err));
	if (want) {
		CHECK_EQ(ret, -EBADMSG);
		CHECK_STR(err, want);
	} else {
		CHECK_EQ(ret, 0);
	}
	if (!fresh) {
		/* The same frame through the decoder, on a 16x8 canvas. */
		struct payload key = { .len = 0 };
		struct rec_frame k = { .type = REC_FRAME_KEY, .payload = key.buf };
		geometry_chunk(&key, 16, 8, 32);
		k.raw_size = (uint32_t)key.len;
		CHECK_EQ(rec_apply(cv, &k, &ops, NULL, aerr, sizeof(aerr)), 0);
	}
	ret = rec_apply(cv, &f, &ops, NULL, aerr, sizeof(aerr));
	CHECK_EQ(ret, want ? -EBADMSG : 0);
	if (want)
		CHECK_STR(aerr, want);
	free(cv);
}

/* Each rule of docs/RECORDING.md section 4, one message each. */
static void test_frame_check(void)
{
	static const struct {
		uint32_t w, h, bpp;
		const char *want;
	} geometries[] = {
		{ 0, 0, 32, "chunk 0 (geometry) at payload byte 0: geometry 0x0 is out of range (1x1 to 16384x16384)" },
		{ 16385, 8, 32, "chunk 0 (geometry) at payload byte 0: geometry 16385x8 is out of range (1x1 to 16384x16384)" },
		{ 8, 0xffffffffu, 32, "chunk 0 (geometry) at payload byte 0: geometry 8x-1 is out of range (1x1 to 16384x16384)" },
		{ 16384, 16384, 8, "chunk 0 (geometry) at payload byte 0: 8 bits per pixel (16, 24 or 32 expected)" },
		{ 16384, 1, 24, NULL },
	};
	struct payload p;
	uint8_t *b;

#define RESET() memset(&p, 0, sizeof(p))
	RESET();
	geometry_chunk(&p, 16, 8, 32);
	pixels_chunk(&p, 0, 0, 16, 1, 64);
	expect_frame(REC_FRAME_KEY, 0, &p, true, NULL);

	for (size_t i = 0; i < sizeof(geometries) / sizeof(geometries[0]); i++) {
		RESET();
		geometry_chunk(&p, geometries[i].w, geometries[i].h, geometries[i].bpp);
		/* First in a file, and as a geometry change. */
		expect_frame(REC_FRAME_KEY, 0, &p, true, geometries[i].want);
		expect_frame(REC_FRAME_KEY, 3, &p, false, geometries[i].want);
	}
	RESET();
	geometry_chunk(&p, 16, 8, 32);
	geometry_chunk(&p, 16, 8, 32);
	expect_frame(REC_FRAME_KEY, 0, &p, true,
		     "chunk 1 (geometry): only a key frame's first chunk sets the geometry");
	RESET();
	pixels_chunk(&p, 0, 0, 1, 1, 4);
	expect_frame(REC_FRAME_KEY, 0, &p, true, "chunk 0 (pixels): a key frame starts with its geometry");
	RESET();
	expect_frame(REC_FRAME_KEY, 0, &p, true, "empty key frame");
	expect_frame(REC_FRAME_DELTA, 1, &p, true, "delta frame before any key frame");
	expect_frame(REC_FRAME_DELTA, 1, &p, false, NULL);

	/* A delta frame against the 16x8 surface. */
	RESET();
	pixels_chunk(&p, 15, 7, 1, 1, 4);
	pixels_chunk(&p, 12, 0, 8, 1, 32);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 1 (pixels) at payload byte 28: rect 8x1+12+0 is outside the 16x8 surface");
	RESET();
	pixels_chunk(&p, -1, 0, 1, 1, 4);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (pixels) at payload byte 0: rect 1x1+-1+0 is outside the 16x8 surface");
	RESET();
	pixels_chunk(&p, 0, 0, 0x7fffffff, 0x7fffffff, 0);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (pixels) at payload byte 0: rect 2147483647x2147483647+0+0 is outside the 16x8 surface");
	RESET();
	pixels_chunk(&p, 0, 0, 2, 2, 12);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (pixels) at payload byte 0: rect 2x2 holds 12 pixel bytes, needs 16");
	RESET();
	pixels_chunk(&p, 0, 0, 1, 1, 4);
	rec_put_u32(p.buf + 4, 0xffffffffu);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (pixels) at payload byte 0: length 4294967295 overruns the payload (20 bytes left)");
	RESET();
	pixels_chunk(&p, 0, 0, 1, 1, 4);
	p.len += 5; /* a chunk header cut short */
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 1 at payload byte 28: header cut short (5 of 8 bytes)");
	RESET();
	b = chunk(&p, REC_CHUNK_COPY, REC_COPY_SIZE);
	rec_put_u32(b + 8, 8);
	rec_put_u32(b + 12, 8);
	rec_put_u32(b + 16, 9);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (copy) at payload byte 0: 8x8 from 9,0 to 0,0 leaves the 16x8 surface");
	RESET();
	b = chunk(&p, REC_CHUNK_CURSOR_SHAPE, REC_CURSOR_SHAPE_HEAD);
	rec_put_u32(b, 257);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (cursor shape) at payload byte 0: 257x0 is larger than 256x256");
	RESET();
	b = chunk(&p, REC_CHUNK_CURSOR_POS, REC_CURSOR_POS_SIZE);
	rec_put_u32(b + 8, 2);
	expect_frame(REC_FRAME_DELTA, 1, &p, false,
		     "chunk 0 (cursor position) at payload byte 0: visible is 2 (0 or 1)");
	RESET();
	chunk(&p, 99, 3); /* from a later version: skipped */
	b = chunk(&p, REC_CHUNK_CURSOR_POS, REC_CURSOR_POS_SIZE);
	rec_put_u32(b, (uint32_t)-5); /* off the surface is fine for a cursor */
	expect_frame(REC_FRAME_DELTA, 1, &p, false, NULL);

	/* End frames. */
	RESET();
	b = chunk(&p, REC_CHUNK_END, REC_END_SIZE);
	rec_put_u32(b + 4, 7);
	expect_frame(REC_FRAME_END, 7, &p, false, NULL);
	expect_frame(REC_FRAME_END, 8, &p, false,
		     "chunk 0 (end) at payload byte 0: counts 7 frames before the end, there are 8");
	expect_frame(REC_FRAME_DELTA, 7, &p, false, "chunk 0 (end) at payload byte 0: outside an end frame");
	RESET();
	expect_frame(REC_FRAME_END, 7, &p, false, "0 end chunks (an end frame holds exactly one)");
#undef RESET
}

static int frames_seen;

static void count(void *data, const struct rec_frame *f)
{
	CHECK(data == &frames_seen);
	CHECK(f->payload);
	CHECK_EQ(f->index, frames_seen);
	frames_seen++;
}

static void test_check_file(void)
{
	struct rec_check c = { 0 };
	size_t size;
	uint8_t *data = load(&size);

	frames_seen = 0;
	CHECK_EQ(rec_check_file(&c, data, size, count, &frames_seen), 0);
	CHECK_EQ(frames_seen, 4);
	CHECK_EQ(c.frames, 4);
	CHECK_EQ(c.keyframes, 1);
	CHECK_EQ(c.last_ts - c.first_ts, 3000000);
	CHECK_EQ(c.good_bytes, size);
	CHECK(c.ended && !c.damaged);
	CHECK_STR(c.hdr.source, "unit");
	CHECK_STR(c.err, "");
	free(data);
}

/*
 * The validator against the decoder: the same number of good frames, the
 * same verdict and, where the reader found the problem, the same message.
 */
static void agree(const uint8_t *data, size_t size, const char *what)
{
	struct rec_canvas *cv = new_canvas();
	struct rec_check c = { 0 };
	uint32_t frames;
	char err[256];
	int dec = decode_all(data, size, cv, &frames, err, sizeof(err));
	int ret = rec_check_file(&c, data, size, NULL, NULL);

	if ((dec == -1) != c.damaged || frames != c.frames || (dec == 0) != (c.ended && !c.damaged))
		fprintf(stderr, "%s: decoder %d (%u frames, %s), validator %d (%u frames, %s)\n", what,
			dec, frames, err, ret, c.frames, c.err);
	CHECK_EQ(dec == -1, c.damaged);
	CHECK_EQ(ret, c.damaged ? -EBADMSG : 0);
	CHECK_EQ(frames, c.frames);
	if (c.damaged) {
		CHECK(strncmp(c.err, "offset ", 7) == 0);
		CHECK(strstr(c.err, strncmp(err, "apply: ", 7) == 0 ? err + 7 : err));
	}
	free(cv);
}

/* Every prefix and every bit flip of the sample, checksums and all. */
static void test_check_agrees(void)
{
	size_t size;
	uint8_t *data = load(&size);
	char what[64];

	for (size_t len = 0; len <= size; len++) {
		snprintf(what, sizeof(what), "prefix %zu", len);
		agree(data, len, what);
	}
	for (size_t i = 0; i < size * 8; i += 11) {
		data[i / 8] ^= (uint8_t)(1u << (i % 8));
		snprintf(what, sizeof(what), "bit %zu", i);
		agree(data, size, what);
		data[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free(data);
}

/*
 * Rewrites the sample into path2 with bit `bit` of frame `target`'s
 * decompressed payload flipped (SIZE_MAX: none) and that frame's timestamp
 * set to ts (0: kept), sealed with good checksums.
 */
static uint8_t *reseal(uint32_t target, size_t bit, uint64_t ts, size_t *out_size)
{
	struct rec_reader r;
	struct rec_writer w;
	struct rec_frame f;
	size_t size;
	uint8_t *data = load(&size), *p, *out;
	char keep[sizeof(path)];

	CHECK_EQ(rec_reader_init(&r, data, size), 0);
	CHECK_EQ(rec_writer_open(&w, path2, &r.hdr, 1), 0);
	while (rec_reader_next(&r, &f, true) > 0) {
		rec_writer_begin(&w);
		p = rec_writer_reserve_raw(&w, f.raw_size);
		CHECK(p);
		memcpy(p, f.payload, f.raw_size);
		if (f.index == target && bit != SIZE_MAX)
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK_EQ(rec_writer_commit(&w, f.type, f.index == target && ts ? ts : f.ts_ns, NULL), 0);
	}
	CHECK_EQ(rec_writer_close(&w), 0);
	rec_reader_finish(&r);
	free(data);
	memcpy(keep, path, sizeof(path));
	memcpy(path, path2, sizeof(path));
	out = load(out_size);
	memcpy(path, keep, sizeof(path));
	return out;
}

/* Flips behind the checksums: in every chunk header and fixed field. */
static void test_check_agrees_sealed(void)
{
	size_t size, n = 0, refused = 0;
	uint8_t *data = load(&size), *copy;
	struct rec_reader r;
	struct rec_frame f;
	uint32_t frame_count = 0;
	char what[64];

	CHECK_EQ(rec_reader_init(&r, data, size), 0);
	while (rec_reader_next(&r, &f, true) > 0) {
		size_t pos = 0, at = 0;
		const uint8_t *b;
		uint32_t type, len;
		while (rec_chunk_next(f.payload, f.raw_size, &pos, &type, &b, &len) > 0) {
			size_t fixed = REC_CHUNK_HEADER_SIZE + (len < 24 ? len : 24);
			for (size_t bit = at * 8; bit < (at + fixed) * 8; bit++) {
				struct rec_check c = { 0 };
				size_t csize;
				copy = reseal(f.index, bit, 0, &csize);
				snprintf(what, sizeof(what), "frame %u bit %zu", f.index, bit);
				agree(copy, csize, what);
				CHECK(rec_check_file(&c, copy, csize, NULL, NULL) == 0 || c.damaged);
				refused += c.damaged;
				n++;
				free(copy);
			}
			at = pos;
		}
		frame_count++;
	}
	rec_reader_finish(&r);
	CHECK_EQ(frame_count, 4);
	/* Most header bits matter; some (hot spot, cursor position) need not. */
	fprintf(stderr, "   %zu sealed flips, %zu refused\n", n, refused);
	CHECK(refused > n / 2 && refused < n);
	free(data);
}

/* Timestamps: 2^54 ns is the last one allowed, and they never go back. */
static void test_timestamps(void)
{
	struct rec_check c = { 0 };
	size_t size;
	uint8_t *data;

	data = reseal(3, SIZE_MAX, REC_MAX_TIMESTAMP, &size);
	CHECK_EQ(rec_check_file(&c, data, size, NULL, NULL), 0);
	CHECK_EQ(c.last_ts, REC_MAX_TIMESTAMP);
	free(data);

	data = reseal(2, SIZE_MAX, UINT64_MAX, &size);
	CHECK_EQ(rec_check_file(&c, data, size, NULL, NULL), -EBADMSG);
	CHECK_EQ(c.frames, 2);
	CHECK(strstr(c.err, ": frame 2: timestamp 18446744073709551615 ns is past the limit of "
		      "18014398509481984 ns (about 208 days)"));
	CHECK_EQ(c.err_offset + 0, strtoull(c.err + 7, NULL, 10));
	agree(data, size, "timestamp 2^64-1");
	free(data);

	data = reseal(2, SIZE_MAX, 999, &size);
	CHECK_EQ(rec_check_file(&c, data, size, NULL, NULL), -EBADMSG);
	CHECK(strstr(c.err, ": frame 2: timestamp goes backwards (999 ns after 1000000 ns)"));
	free(data);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mirage-rec-test-XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sample.mrec", dir);
	snprintf(path2, sizeof(path2), "%s/made.mrec", dir);
	model = malloc((size_t)STRIDE * H);
	decoded = calloc(1, (size_t)STRIDE * H);
	CHECK(model && decoded);

	RUN(test_roundtrip);
	RUN(test_truncation);
	RUN(test_bitflips);
	RUN(test_foreign);
	RUN(test_bad_chunks);
	RUN(test_frame_check);
	RUN(test_check_file);
	RUN(test_check_agrees);
	RUN(test_check_agrees_sealed);
	RUN(test_timestamps);

	unlink(path);
	unlink(path2);
	rmdir(dir);
	free(model);
	free(decoded);
	free(roomy);
	return 0;
}
