/* SPDX-License-Identifier: MIT */
/* The recording container: see format.h and docs/RECORDING.md. */
#include "shared.h"
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t rec_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* The table is a pure function of constants: racing initialisers agree. */
	if (crc_table[1] == 0)
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void rec_put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void rec_put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

uint32_t rec_get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

uint64_t rec_get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int32_t get_i32(const uint8_t *p)
{
	return (int32_t)rec_get_u32(p);
}

unsigned rec_bytes_per_pixel(uint32_t bpp)
{
	return bpp == 16 || bpp == 24 || bpp == 32 ? bpp / 8 : 0;
}

uint32_t rec_stride(int32_t width, uint32_t bpp)
{
	return ((uint32_t)width * (bpp >> 3) + 3u) & ~3u;
}

/* Grows *buf to at least need bytes. */
static int reserve_buf(uint8_t **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	uint8_t *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rec_writer_open(struct rec_writer *w, const char *path, const struct rec_header *hdr,
		    int level)
{
	uint8_t h[REC_HEADER_SIZE] = { 0 };
	int ret;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->level = level;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx)
		return -ENOMEM;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		ret = -errno;
		goto fail;
	}
	memcpy(h, REC_MAGIC, REC_MAGIC_LEN);
	rec_put_u32(h + 8, REC_VERSION);
	rec_put_u32(h + 12, REC_HEADER_SIZE);
	rec_put_u32(h + 16, REC_FRAME_HEADER_SIZE);
	rec_put_u32(h + 20, hdr->flags);
	rec_put_u64(h + 24, hdr->start_wall_ns);
	rec_put_u32(h + 32, hdr->frame_interval_us);
	rec_put_u32(h + 36, hdr->keyframe_interval_ms);
	memcpy(h + 40, hdr->source, strnlen(hdr->source, REC_SOURCE_MAX));
	rec_put_u32(h + 124, rec_crc32(0, h, 124));
	ret = write_all(w->fd, h, sizeof(h));
	if (ret < 0)
		goto fail;
	w->file_bytes = sizeof(h);
	return 0;
fail:
	rec_writer_close(w);
	return ret;
}

void rec_writer_begin(struct rec_writer *w)
{
	w->raw_len = 0;
}

size_t rec_writer_pending(const struct rec_writer *w)
{
	return w->raw_len;
}

uint8_t *rec_writer_reserve_raw(struct rec_writer *w, size_t len)
{
	uint8_t *p;

	if (len > REC_MAX_RAW_SIZE || reserve_buf(&w->raw, &w->raw_cap, w->raw_len + len) < 0)
		return NULL;
	p = w->raw + w->raw_len;
	w->raw_len += len;
	return p;
}

uint8_t *rec_writer_reserve(struct rec_writer *w, uint32_t type, size_t body_len)
{
	uint8_t *p;

	if (body_len > REC_MAX_RAW_SIZE)
		return NULL;
	p = rec_writer_reserve_raw(w, REC_CHUNK_HEADER_SIZE + body_len);
	if (!p)
		return NULL;
	rec_put_u32(p, type);
	rec_put_u32(p + 4, (uint32_t)body_len);
	return p + REC_CHUNK_HEADER_SIZE;
}

int rec_writer_commit(struct rec_writer *w, uint32_t type, uint64_t ts_ns, size_t *frame_bytes)
{
	size_t bound, comp;
	uint8_t *h;
	int ret;

	if (w->raw_len > REC_MAX_RAW_SIZE)
		return -EFBIG;
	bound = ZSTD_compressBound(w->raw_len);
	ret = reserve_buf(&w->out, &w->out_cap, REC_FRAME_HEADER_SIZE + bound);
	if (ret < 0)
		return ret;
	comp = ZSTD_compressCCtx(w->cctx, w->out + REC_FRAME_HEADER_SIZE, bound,
				 w->raw, w->raw_len, w->level);
	if (ZSTD_isError(comp))
		return -EIO;
	if (w->limit && type != REC_FRAME_END &&
	    w->file_bytes + REC_FRAME_HEADER_SIZE + comp + REC_END_RESERVE > w->limit)
		return -EFBIG;
	h = w->out;
	rec_put_u32(h, REC_FRAME_MAGIC);
	rec_put_u32(h + 4, type);
	rec_put_u64(h + 8, ts_ns);
	rec_put_u32(h + 16, w->next_index);
	rec_put_u32(h + 20, (uint32_t)w->raw_len);
	rec_put_u32(h + 24, (uint32_t)comp);
	rec_put_u32(h + 28, rec_crc32(0, w->out + REC_FRAME_HEADER_SIZE, comp));
	rec_put_u32(h + 32, 0);
	rec_put_u32(h + 36, rec_crc32(0, h, 36));
	/* One write per frame: a kill leaves at most this frame partial. */
	ret = write_all(w->fd, w->out, REC_FRAME_HEADER_SIZE + comp);
	if (ret < 0)
		return ret;
	w->next_index++;
	w->file_bytes += REC_FRAME_HEADER_SIZE + comp;
	w->raw_bytes += w->raw_len;
	if (frame_bytes)
		*frame_bytes = REC_FRAME_HEADER_SIZE + comp;
	w->raw_len = 0;
	return 0;
}

int rec_writer_close(struct rec_writer *w)
{
	int ret = 0;

	if (w->fd >= 0) {
		if (fsync(w->fd) < 0 && errno != EINVAL)
			ret = -errno;
		if (close(w->fd) < 0 && ret == 0)
			ret = -errno;
	}
	w->fd = -1;
	ZSTD_freeCCtx(w->cctx);
	w->cctx = NULL;
	free(w->raw);
	free(w->out);
	w->raw = w->out = NULL;
	w->raw_cap = w->out_cap = 0;
	return ret;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int bad(struct rec_reader *r, uint64_t offset, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->err_offset = offset;
	n = snprintf(r->err, sizeof(r->err), "offset %llu: ", (unsigned long long)offset);
	if (n < 0 || (size_t)n >= sizeof(r->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

int rec_reader_init(struct rec_reader *r, const uint8_t *data, size_t size)
{
	const uint8_t *h = data;
	uint32_t v;

	memset(r, 0, sizeof(*r));
	r->data = data;
	r->size = size;
	r->max_raw = REC_MAX_RAW_SIZE;
	if (size < REC_MAGIC_LEN || memcmp(h, REC_MAGIC, REC_MAGIC_LEN) != 0)
		return bad(r, 0, "not a mirage recording (no \"%s\" magic)", REC_MAGIC);
	if (size < REC_HEADER_SIZE)
		return bad(r, size, "file header truncated (%zu of %u bytes)", size, REC_HEADER_SIZE);
	v = rec_get_u32(h + 8);
	if (v != REC_VERSION)
		return bad(r, 8, "format version %u is not supported (this mirage-rec reads %u)",
			   v, REC_VERSION);
	if (rec_get_u32(h + 124) != rec_crc32(0, h, 124))
		return bad(r, 124, "file header checksum mismatch (stored 0x%08x, computed 0x%08x)",
			   rec_get_u32(h + 124), rec_crc32(0, h, 124));
	if (rec_get_u32(h + 12) != REC_HEADER_SIZE || rec_get_u32(h + 16) != REC_FRAME_HEADER_SIZE)
		return bad(r, 12, "unexpected header sizes %u/%u", rec_get_u32(h + 12),
			   rec_get_u32(h + 16));
	r->hdr.version = v;
	r->hdr.flags = rec_get_u32(h + 20);
	r->hdr.start_wall_ns = rec_get_u64(h + 24);
	r->hdr.frame_interval_us = rec_get_u32(h + 32);
	r->hdr.keyframe_interval_ms = rec_get_u32(h + 36);
	memcpy(r->hdr.source, h + 40, REC_SOURCE_MAX);
	r->hdr.source[REC_SOURCE_MAX] = '\0';
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		return -ENOMEM;
	r->pos = REC_HEADER_SIZE;
	return 0;
}

void rec_reader_finish(struct rec_reader *r)
{
	ZSTD_freeDCtx(r->dctx);
	r->dctx = NULL;
	free(r->buf);
	r->buf = NULL;
	r->buf_cap = 0;
}

void rec_reader_rewind(struct rec_reader *r)
{
	r->pos = REC_HEADER_SIZE;
	r->next_index = 0;
	r->last_ts = 0;
	r->ended = false;
	r->err[0] = '\0';
}

int rec_reader_next(struct rec_reader *r, struct rec_frame *f, bool decode)
{
	uint64_t off = r->pos;
	const uint8_t *h;
	size_t left = r->size - r->pos, got;
	uint32_t crc;

	memset(f, 0, sizeof(*f));
	if (left == 0)
		return 0;
	if (r->ended)
		return bad(r, off, "%zu bytes of data after the end frame", left);
	if (left < REC_FRAME_HEADER_SIZE)
		return bad(r, off, "frame %u is truncated (%zu of %u header bytes)",
			   r->next_index, left, REC_FRAME_HEADER_SIZE);
	h = r->data + off;
	if (rec_get_u32(h) != REC_FRAME_MAGIC)
		return bad(r, off, "frame %u: bad frame magic 0x%08x", r->next_index, rec_get_u32(h));
	crc = rec_crc32(0, h, 36);
	if (rec_get_u32(h + 36) != crc && !r->ignore_crc)
		return bad(r, off + 36, "frame %u: header checksum mismatch (stored 0x%08x, computed 0x%08x)",
			   r->next_index, rec_get_u32(h + 36), crc);
	f->type = rec_get_u32(h + 4);
	f->ts_ns = rec_get_u64(h + 8);
	f->index = rec_get_u32(h + 16);
	f->raw_size = rec_get_u32(h + 20);
	f->comp_size = rec_get_u32(h + 24);
	f->offset = off;
	if (f->type < REC_FRAME_KEY || f->type > REC_FRAME_END)
		return bad(r, off + 4, "frame %u: unknown frame type %u", r->next_index, f->type);
	if (f->index != r->next_index)
		return bad(r, off + 16, "frame index %u where %u was expected", f->index, r->next_index);
	if (f->ts_ns < r->last_ts)
		return bad(r, off + 8, "frame %u: timestamp goes backwards (%llu ns after %llu ns)",
			   f->index, (unsigned long long)f->ts_ns, (unsigned long long)r->last_ts);
	/*
	 * No bound on the gap between two frames: a still screen recorded
	 * with --keyframe 0 writes nothing for as long as it stays still.
	 */
	if (f->ts_ns > REC_MAX_TIMESTAMP)
		return bad(r, off + 8, "frame %u: timestamp %llu ns is past the limit of %llu ns (about 208 days)",
			   f->index, (unsigned long long)f->ts_ns, (unsigned long long)REC_MAX_TIMESTAMP);
	if (f->index == 0 && f->type != REC_FRAME_KEY)
		return bad(r, off + 4, "frame 0 is not a key frame");
	if (f->raw_size > r->max_raw)
		return bad(r, off + 20, "frame %u: payload of %u bytes exceeds the limit of %u",
			   f->index, f->raw_size, r->max_raw);
	if (f->comp_size > left - REC_FRAME_HEADER_SIZE)
		return bad(r, off, "frame %u is truncated (%u payload bytes announced, %zu present)",
			   f->index, f->comp_size, left - REC_FRAME_HEADER_SIZE);
	crc = rec_crc32(0, h + REC_FRAME_HEADER_SIZE, f->comp_size);
	if (rec_get_u32(h + 28) != crc && !r->ignore_crc)
		return bad(r, off + REC_FRAME_HEADER_SIZE,
			   "frame %u: payload checksum mismatch (stored 0x%08x, computed 0x%08x)",
			   f->index, rec_get_u32(h + 28), crc);
	if (decode) {
		if (reserve_buf(&r->buf, &r->buf_cap, f->raw_size ? f->raw_size : 1) < 0)
			return -ENOMEM;
		got = ZSTD_decompressDCtx(r->dctx, r->buf, f->raw_size,
					  h + REC_FRAME_HEADER_SIZE, f->comp_size);
		if (ZSTD_isError(got))
			return bad(r, off + REC_FRAME_HEADER_SIZE, "frame %u: payload does not decompress (%s)",
				   f->index, ZSTD_getErrorName(got));
		if (got != f->raw_size)
			return bad(r, off + REC_FRAME_HEADER_SIZE,
				   "frame %u: payload decompresses to %zu bytes, header says %u",
				   f->index, got, f->raw_size);
		f->payload = r->buf;
	}
	r->pos += REC_FRAME_HEADER_SIZE + f->comp_size;
	r->next_index++;
	r->last_ts = f->ts_ns;
	if (f->type == REC_FRAME_END)
		r->ended = true;
	return 1;
}

int rec_chunk_next(const uint8_t *payload, size_t size, size_t *pos,
		   uint32_t *type, const uint8_t **body, uint32_t *len)
{
	size_t p = *pos;

	if (p >= size)
		return 0;
	if (size - p < REC_CHUNK_HEADER_SIZE)
		return -EBADMSG;
	*type = rec_get_u32(payload + p);
	*len = rec_get_u32(payload + p + 4);
	if (*len > size - p - REC_CHUNK_HEADER_SIZE)
		return -EBADMSG;
	*body = payload + p + REC_CHUNK_HEADER_SIZE;
	*pos = p + REC_CHUNK_HEADER_SIZE + *len;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Validator                                                           */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int say(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static const char *chunk_name(uint32_t type)
{
	switch (type) {
	case REC_CHUNK_GEOMETRY: return "geometry";
	case REC_CHUNK_PIXELS: return "pixels";
	case REC_CHUNK_COPY: return "copy";
	case REC_CHUNK_CURSOR_SHAPE: return "cursor shape";
	case REC_CHUNK_CURSOR_POS: return "cursor position";
	case REC_CHUNK_END: return "end";
	default: return "unknown type";
	}
}

/* The x, y, w, h that PIXELS and COPY chunks start with. */
static void get_rect(const uint8_t *b, int32_t *x, int32_t *y, int32_t *w, int32_t *h)
{
	*x = get_i32(b);
	*y = get_i32(b + 4);
	*w = get_i32(b + 8);
	*h = get_i32(b + 12);
}

/* Is [x, x+w) x [y, y+h) a non-empty rectangle inside the surface? */
static bool rect_inside(const struct rec_geometry *g, int32_t x, int32_t y, int32_t w, int32_t h)
{
	return w > 0 && h > 0 && x >= 0 && y >= 0 &&
	       (int64_t)x + w <= g->width && (int64_t)y + h <= g->height;
}

/* One chunk's body against the geometry in force; a GEOMETRY chunk sets it. */
static int check_chunk(struct rec_geometry *geo, const struct rec_frame *f, uint32_t type,
		       const uint8_t *b, uint32_t len, char *err, size_t esz)
{
	int32_t x, y, w, h;
	uint32_t cw, ch, v;
	size_t need;

	switch (type) {
	case REC_CHUNK_GEOMETRY:
		if (len != REC_GEOMETRY_SIZE)
			return say(err, esz, "%u bytes, needs %u", len, REC_GEOMETRY_SIZE);
		w = get_i32(b);
		h = get_i32(b + 4);
		v = rec_get_u32(b + 8);
		if (w < 1 || h < 1 || w > REC_SIZE_MAX || h > REC_SIZE_MAX)
			return say(err, esz, "geometry %dx%d is out of range (1x1 to %dx%d)", w, h,
				   REC_SIZE_MAX, REC_SIZE_MAX);
		if (!rec_bytes_per_pixel(v))
			return say(err, esz, "%u bits per pixel (16, 24 or 32 expected)", v);
		geo->width = w;
		geo->height = h;
		geo->bpp = v;
		return 0;
	case REC_CHUNK_PIXELS:
		if (len < REC_PIXELS_HEAD)
			return say(err, esz, "%u bytes, needs at least %u", len, REC_PIXELS_HEAD);
		get_rect(b, &x, &y, &w, &h);
		if (!rect_inside(geo, x, y, w, h))
			return say(err, esz, "rect %dx%d+%d+%d is outside the %dx%d surface", w, h, x, y,
				   geo->width, geo->height);
		need = (size_t)w * rec_bytes_per_pixel(geo->bpp) * (size_t)h;
		if (len - REC_PIXELS_HEAD != need)
			return say(err, esz, "rect %dx%d holds %u pixel bytes, needs %zu", w, h,
				   len - REC_PIXELS_HEAD, need);
		return 0;
	case REC_CHUNK_COPY:
		if (len != REC_COPY_SIZE)
			return say(err, esz, "%u bytes, needs %u", len, REC_COPY_SIZE);
		get_rect(b, &x, &y, &w, &h);
		if (!rect_inside(geo, x, y, w, h) || !rect_inside(geo, get_i32(b + 16), get_i32(b + 20), w, h))
			return say(err, esz, "%dx%d from %d,%d to %d,%d leaves the %dx%d surface", w, h,
				   get_i32(b + 16), get_i32(b + 20), x, y, geo->width, geo->height);
		return 0;
	case REC_CHUNK_CURSOR_SHAPE:
		if (len < REC_CURSOR_SHAPE_HEAD)
			return say(err, esz, "%u bytes, needs at least %u", len, REC_CURSOR_SHAPE_HEAD);
		cw = rec_get_u32(b);
		ch = rec_get_u32(b + 4);
		if (cw > REC_CURSOR_MAX || ch > REC_CURSOR_MAX)
			return say(err, esz, "%ux%u is larger than %ux%u", cw, ch, REC_CURSOR_MAX,
				   REC_CURSOR_MAX);
		if (len - REC_CURSOR_SHAPE_HEAD != (size_t)cw * ch * 4)
			return say(err, esz, "%ux%u holds %u bytes, needs %zu", cw, ch,
				   len - REC_CURSOR_SHAPE_HEAD, (size_t)cw * ch * 4);
		return 0;
	case REC_CHUNK_CURSOR_POS:
		if (len != REC_CURSOR_POS_SIZE)
			return say(err, esz, "%u bytes, needs %u", len, REC_CURSOR_POS_SIZE);
		v = rec_get_u32(b + 8);
		if (v > 1)
			return say(err, esz, "visible is %u (0 or 1)", v);
		return 0;
	case REC_CHUNK_END:
		if (len != REC_END_SIZE)
			return say(err, esz, "%u bytes, needs %u", len, REC_END_SIZE);
		if (f->type != REC_FRAME_END)
			return say(err, esz, "outside an end frame");
		v = rec_get_u32(b + 4);
		if (v != f->index)
			return say(err, esz, "counts %u frames before the end, there are %u", v, f->index);
		return 0;
	default:
		/* Chunk types from later versions are optional: skipped. */
		return 0;
	}
}

int rec_frame_check(struct rec_geometry *geo, const struct rec_frame *f, char *err, size_t err_size)
{
	/* A key frame may be refused half-way: the geometry in force stays. */
	struct rec_geometry g = *geo;
	const uint8_t *b;
	uint32_t type, len, n = 0, ends = 0;
	size_t pos = 0, at = 0;
	char why[160];
	int ret;

	err[0] = '\0';
	if (f->type == REC_FRAME_DELTA && g.width == 0)
		return say(err, err_size, "delta frame before any key frame");
	while ((ret = rec_chunk_next(f->payload, f->raw_size, &pos, &type, &b, &len)) > 0) {
		if (f->type == REC_FRAME_KEY && n == 0 && type != REC_CHUNK_GEOMETRY)
			return say(err, err_size, "chunk 0 (%s): a key frame starts with its geometry",
				   chunk_name(type));
		if (type == REC_CHUNK_GEOMETRY && (f->type != REC_FRAME_KEY || n != 0))
			return say(err, err_size, "chunk %u (geometry): only a key frame's first chunk "
				   "sets the geometry", n);
		if (check_chunk(&g, f, type, b, len, why, sizeof(why)) < 0)
			return say(err, err_size, "chunk %u (%s) at payload byte %zu: %s", n,
				   chunk_name(type), at, why);
		ends += type == REC_CHUNK_END;
		at = pos;
		n++;
	}
	if (ret < 0) {
		if (f->raw_size - at < REC_CHUNK_HEADER_SIZE)
			return say(err, err_size, "chunk %u at payload byte %zu: header cut short "
				   "(%zu of %u bytes)", n, at, f->raw_size - at, REC_CHUNK_HEADER_SIZE);
		return say(err, err_size, "chunk %u (%s) at payload byte %zu: length %u overruns "
			   "the payload (%zu bytes left)", n, chunk_name(rec_get_u32(f->payload + at)),
			   at, rec_get_u32(f->payload + at + 4),
			   f->raw_size - at - REC_CHUNK_HEADER_SIZE);
	}
	if (f->type == REC_FRAME_KEY && n == 0)
		return say(err, err_size, "empty key frame");
	if (f->type == REC_FRAME_END && ends != 1)
		return say(err, err_size, "%u end chunks (an end frame holds exactly one)", ends);
	*geo = g;
	return 0;
}

int rec_check_file(struct rec_check *c, const uint8_t *data, size_t size,
		   rec_frame_fn fn, void *fn_data)
{
	struct rec_geometry geo = { 0 };
	struct rec_reader r;
	struct rec_frame f;
	char why[192];
	int ret;

	/* Keep the caller's limits, clear the rest. */
	memset((char *)c + offsetof(struct rec_check, hdr), 0,
	       sizeof(*c) - offsetof(struct rec_check, hdr));
	ret = rec_reader_init(&r, data, size);
	if (ret < 0) {
		snprintf(c->err, sizeof(c->err), "%s", r.err[0] ? r.err : "out of memory");
		c->err_offset = r.err_offset;
		goto out;
	}
	c->hdr = r.hdr;
	if (c->max_raw)
		r.max_raw = c->max_raw;
	r.ignore_crc = c->ignore_crc;
	c->good_bytes = r.pos;
	while ((ret = rec_reader_next(&r, &f, true)) > 0) {
		ret = rec_frame_check(&geo, &f, why, sizeof(why));
		if (ret < 0) {
			/* Inside a payload: the frame's offset, the chunk's number and byte. */
			c->err_offset = f.offset;
			snprintf(c->err, sizeof(c->err), "offset %llu: frame %u: %s",
				 (unsigned long long)f.offset, f.index, why);
			goto out;
		}
		if (c->frames++ == 0)
			c->first_ts = f.ts_ns;
		if (f.type == REC_FRAME_KEY)
			c->keyframes++;
		c->last_ts = f.ts_ns;
		c->good_bytes = r.pos;
		if (fn)
			fn(fn_data, &f);
	}
	if (ret < 0) {
		snprintf(c->err, sizeof(c->err), "%s", r.err[0] ? r.err : "out of memory");
		c->err_offset = r.err_offset;
	}
	c->ended = r.ended;
out:
	c->damaged = ret < 0;
	rec_reader_finish(&r);
	return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

/*
 * The chunks below were checked by rec_frame_check() against the same
 * geometry: they are applied without further checks.
 */

static int apply_geometry(struct rec_canvas *cv, const uint8_t *b,
			  const struct rec_apply_ops *ops, void *data, char *err, size_t esz)
{
	int32_t w = get_i32(b), h = get_i32(b + 4);
	int ret;

	if (cv->max_pixels && (uint64_t)w * (uint64_t)h > cv->max_pixels) {
		snprintf(err, esz, "chunk 0 (geometry): %dx%d exceeds the limit of %llu pixels", w, h,
			 (unsigned long long)cv->max_pixels);
		return -E2BIG;
	}
	cv->width = w;
	cv->height = h;
	cv->bpp = rec_get_u32(b + 8);
	cv->stride = rec_stride(w, cv->bpp);
	cv->masks[0] = rec_get_u32(b + 12);
	cv->masks[1] = rec_get_u32(b + 16);
	cv->masks[2] = rec_get_u32(b + 20);
	ret = ops->geometry(data, cv);
	if (ret < 0 || !cv->pixels) {
		ret = ret < 0 ? ret : -EINVAL;
		snprintf(err, esz, "cannot set up a %dx%d canvas: %s", w, h, strerror(-ret));
		return ret;
	}
	return 0;
}

static void apply_pixels(struct rec_canvas *cv, const uint8_t *b,
			 const struct rec_apply_ops *ops, void *data)
{
	unsigned bpp = rec_bytes_per_pixel(cv->bpp);
	int32_t x, y, w, h;
	size_t row;

	get_rect(b, &x, &y, &w, &h);
	row = (size_t)w * bpp;
	b += REC_PIXELS_HEAD;
	for (int32_t i = 0; i < h; i++)
		memcpy(cv->pixels + (size_t)(y + i) * cv->stride + (size_t)x * bpp, b + (size_t)i * row, row);
	if (ops->damage)
		ops->damage(data, x, y, w, h);
}

static void apply_copy(struct rec_canvas *cv, const uint8_t *b,
		       const struct rec_apply_ops *ops, void *data)
{
	int32_t x, y, w, h, sx = get_i32(b + 16), sy = get_i32(b + 20);

	get_rect(b, &x, &y, &w, &h);
	copy_within(cv->pixels, cv->stride, rec_bytes_per_pixel(cv->bpp), x, y, w, h, sx, sy);
	if (ops->copy)
		ops->copy(data, x, y, w, h, sx, sy);
}

static int apply_cursor_shape(struct rec_canvas *cv, const uint8_t *b,
			      const struct rec_apply_ops *ops, void *data, char *err, size_t esz)
{
	int ret;

	cv->cursor_w = rec_get_u32(b);
	cv->cursor_h = rec_get_u32(b + 4);
	cv->cursor_hot_x = get_i32(b + 8);
	cv->cursor_hot_y = get_i32(b + 12);
	memcpy(cv->cursor_argb, b + REC_CURSOR_SHAPE_HEAD, (size_t)cv->cursor_w * cv->cursor_h * 4);
	if (ops->cursor_shape) {
		ret = ops->cursor_shape(data, cv);
		if (ret < 0) {
			snprintf(err, esz, "cannot set the cursor shape: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int rec_apply(struct rec_canvas *cv, const struct rec_frame *f,
	      const struct rec_apply_ops *ops, void *data, char *err, size_t err_size)
{
	struct rec_geometry geo = { 0 };
	size_t pos = 0;
	const uint8_t *b;
	uint32_t type, len;
	int ret;

	if (cv->pixels) {
		geo.width = cv->width;
		geo.height = cv->height;
		geo.bpp = cv->bpp;
	}
	ret = rec_frame_check(&geo, f, err, err_size);
	if (ret < 0)
		return ret;
	if (f->type == REC_FRAME_KEY) {
		/* A key frame carries the whole state: what it leaves out is unset. */
		cv->cursor_visible = false;
		cv->cursor_w = cv->cursor_h = 0;
	}
	while (rec_chunk_next(f->payload, f->raw_size, &pos, &type, &b, &len) > 0) {
		ret = 0;
		switch (type) {
		case REC_CHUNK_GEOMETRY:
			ret = apply_geometry(cv, b, ops, data, err, err_size);
			break;
		case REC_CHUNK_PIXELS:
			apply_pixels(cv, b, ops, data);
			break;
		case REC_CHUNK_COPY:
			apply_copy(cv, b, ops, data);
			break;
		case REC_CHUNK_CURSOR_SHAPE:
			ret = apply_cursor_shape(cv, b, ops, data, err, err_size);
			break;
		case REC_CHUNK_CURSOR_POS:
			cv->cursor_x = get_i32(b);
			cv->cursor_y = get_i32(b + 4);
			cv->cursor_visible = rec_get_u32(b + 8) != 0;
			if (ops->cursor_pos)
				ops->cursor_pos(data, cv);
			break;
		default:
			/* END and chunk types from newer versions change no pixels. */
			break;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}
