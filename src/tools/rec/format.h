/* SPDX-License-Identifier: MIT */
/*
 * The mirage recording container (docs/RECORDING.md): constants, the
 * frame writer, the frame reader and the decoder that applies a frame to a
 * canvas.  Shared by mirage-rec, its unit tests and its fuzz target; it
 * knows nothing about mirrors, FFmpeg or the terminal.
 *
 * All multi-byte fields in the file are little-endian.  Pixel data are
 * stored as a little-endian mirage surface holds them, so the code below
 * copies them with memcpy and is built for little-endian hosts only.
 */
#ifndef MIRAGE_REC_FORMAT_H
#define MIRAGE_REC_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mirage-rec stores pixels as a little-endian surface holds them"
#endif

#define REC_MAGIC "MIRAGREC"
#define REC_MAGIC_LEN 8
#define REC_VERSION 1u
#define REC_HEADER_SIZE 128u
#define REC_SOURCE_MAX 64u
#define REC_FRAME_MAGIC 0x5246524du /* "MRFR" as little-endian bytes */
#define REC_FRAME_HEADER_SIZE 40u
#define REC_CHUNK_HEADER_SIZE 8u

/* Refuse frames claiming more than this much decompressed payload. */
#define REC_MAX_RAW_SIZE (1u << 30)

/* Surface limits per side (GEOMETRY). */
#define REC_SIZE_MAX 16384

/*
 * No timestamp may exceed this (2^54 ns, about 208 days; see
 * docs/RECORDING.md section 3): a larger one is damage, and below it an
 * export's frame count, duration * fps with fps <= 1000, fits 64 bits.
 */
#define REC_MAX_TIMESTAMP (1ull << 54)
#define REC_CURSOR_MAX 256u

enum rec_frame_type {
	REC_FRAME_KEY = 1,   /* full state: decodable on its own */
	REC_FRAME_DELTA = 2, /* changes since the previous frame */
	REC_FRAME_END = 3,   /* the recording was finished cleanly */
};

enum rec_chunk_type {
	REC_CHUNK_GEOMETRY = 1,
	REC_CHUNK_PIXELS = 2,
	REC_CHUNK_COPY = 3,
	REC_CHUNK_CURSOR_SHAPE = 4,
	REC_CHUNK_CURSOR_POS = 5,
	REC_CHUNK_END = 6,
};

/* Why a recording ended (REC_CHUNK_END). */
enum rec_end_reason {
	REC_END_STOPPED = 0,  /* signal or --duration */
	REC_END_MAX_SIZE = 1, /* --max-size reached */
	REC_END_SOURCE_GONE = 2,
};

#define REC_GEOMETRY_SIZE 24u
#define REC_PIXELS_HEAD 16u
#define REC_COPY_SIZE 24u
#define REC_CURSOR_SHAPE_HEAD 16u
#define REC_CURSOR_POS_SIZE 12u
#define REC_END_SIZE 8u

/* The file header, decoded. */
struct rec_header {
	uint32_t version;
	uint32_t flags;
	uint64_t start_wall_ns;     /* CLOCK_REALTIME at the start */
	uint32_t frame_interval_us; /* the recorder's coalescing interval */
	uint32_t keyframe_interval_ms;
	char source[REC_SOURCE_MAX + 1]; /* NUL-terminated */
};

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t rec_crc32(uint32_t crc, const void *data, size_t len);

/* Bytes per pixel of a format the container accepts (16, 24, 32), else 0. */
unsigned rec_bytes_per_pixel(uint32_t bpp);

/* A mirage surface stride: (width * Bpp + 3) & ~3. */
uint32_t rec_stride(int32_t width, uint32_t bpp);

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

/*
 * Builds one frame's chunks in memory, compresses it and appends it to the
 * file with a single write(2), so a recorder killed at any moment leaves
 * whole frames followed by at most one partial one.
 */
struct rec_writer {
	int fd;
	void *cctx; /* ZSTD_CCtx */
	int level;
	uint8_t *raw;
	size_t raw_len, raw_cap;
	uint8_t *out;
	size_t out_cap;
	uint32_t next_index;
	uint64_t file_bytes; /* written so far, header included */
	uint64_t raw_bytes;  /* payload bytes before compression */
	uint64_t limit;      /* file size limit, room for an end frame kept (0: none) */
};

/* Room kept under rec_writer.limit for the end frame. */
#define REC_END_RESERVE 128u

/* Creates (truncates) path and writes the file header. */
__attribute__((warn_unused_result))
int rec_writer_open(struct rec_writer *w, const char *path, const struct rec_header *hdr,
		    int level);

/* Starts a new frame: forgets chunks reserved since the last commit. */
void rec_writer_begin(struct rec_writer *w);

/*
 * Appends a chunk header to the frame being built and returns where its
 * body_len bytes go (valid until the next reserve or commit), or NULL when
 * out of memory.
 */
uint8_t *rec_writer_reserve(struct rec_writer *w, uint32_t type, size_t body_len);

/*
 * Appends len bytes of raw payload (chunk headers included, unchecked) to
 * the frame being built and returns where they go, as rec_writer_reserve
 * does: for copying a frame's payload whole, and for tests that need
 * malformed ones.
 */
uint8_t *rec_writer_reserve_raw(struct rec_writer *w, size_t len);

/* Payload bytes reserved so far in this frame. */
size_t rec_writer_pending(const struct rec_writer *w);

/*
 * Compresses and appends the frame.  *frame_bytes (may be NULL) receives its
 * size in the file.  Returns 0 or -errno; -EFBIG (nothing written) when a
 * frame other than the end frame would leave less than REC_END_RESERVE
 * bytes under the limit.
 */
__attribute__((warn_unused_result))
int rec_writer_commit(struct rec_writer *w, uint32_t type, uint64_t ts_ns, size_t *frame_bytes);

/* Closes the file (fsync first) and frees the buffers.  Returns 0 or -errno. */
int rec_writer_close(struct rec_writer *w);

/* Little-endian field writers for chunk bodies. */
void rec_put_u32(uint8_t *p, uint32_t v);
void rec_put_u64(uint8_t *p, uint64_t v);
uint32_t rec_get_u32(const uint8_t *p);
uint64_t rec_get_u64(const uint8_t *p);

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

/* One frame as returned by rec_reader_next(). */
struct rec_frame {
	uint32_t type;
	uint32_t index;
	uint64_t ts_ns;
	uint64_t offset;          /* of the frame header in the file */
	uint32_t comp_size;
	uint32_t raw_size;
	const uint8_t *payload;   /* decompressed; valid until the next call */
};

/*
 * Walks a recording held in memory (mapped by the caller, who keeps
 * ownership).  Every error leaves a message in err that names the file
 * offset and what was wrong.
 */
struct rec_reader {
	const uint8_t *data;
	size_t size;
	size_t pos;
	struct rec_header hdr;
	void *dctx; /* ZSTD_DCtx */
	uint8_t *buf;
	size_t buf_cap;
	uint32_t next_index;
	uint64_t last_ts;
	bool ended;       /* an END frame was read */
	uint32_t max_raw; /* payload limit (REC_MAX_RAW_SIZE unless lowered) */
	bool ignore_crc;  /* fuzzing only: accept bad frame checksums */
	uint64_t err_offset;
	char err[256];
};

/* Checks the file header.  Returns 0 or -EBADMSG / -ENOMEM with err set. */
__attribute__((warn_unused_result))
int rec_reader_init(struct rec_reader *r, const uint8_t *data, size_t size);

/* Frees what init allocated (not data).  Safe to call twice. */
void rec_reader_finish(struct rec_reader *r);

/* Goes back to the first frame. */
void rec_reader_rewind(struct rec_reader *r);

/*
 * Reads the next frame; with decode false the payload is checked (CRC) but
 * not decompressed and f->payload is NULL.  Returns 1 for a frame, 0 at the
 * end of the data (r->ended tells whether an END frame closed it) or
 * -EBADMSG (r->err) for a truncated, corrupted or out-of-sequence frame.
 */
__attribute__((warn_unused_result))
int rec_reader_next(struct rec_reader *r, struct rec_frame *f, bool decode);

/*
 * Iterates the chunks of a payload: sets type/body/len and advances *pos.
 * Returns 1 for a chunk, 0 at the end, -EBADMSG when a chunk overruns.
 */
int rec_chunk_next(const uint8_t *payload, size_t size, size_t *pos,
		   uint32_t *type, const uint8_t **body, uint32_t *len);

/* ------------------------------------------------------------------ */
/* Validator                                                           */
/* ------------------------------------------------------------------ */

/*
 * The geometry in force while frames are checked: 0x0 (bpp 0) before the
 * first key frame.
 */
struct rec_geometry {
	int32_t width, height;
	uint32_t bpp;
};

/*
 * Checks every chunk of a decoded frame (f->payload set) against the
 * rules of docs/RECORDING.md section 4 and the geometry in force, and on
 * success moves geo to a key frame's new geometry.  Pure: no allocation,
 * no I/O.  Returns 0 or -EBADMSG with a message in err that names the
 * chunk by its number in the frame, from 0 ("chunk 2 (pixels): ...").
 * rec_apply() runs it before it changes anything, so the frames it
 * accepts are exactly the frames that decode.
 */
__attribute__((warn_unused_result))
int rec_frame_check(struct rec_geometry *geo, const struct rec_frame *f, char *err, size_t err_size);

/* Called by rec_check_file() for every frame that checked out. */
typedef void (*rec_frame_fn)(void *data, const struct rec_frame *f);

/*
 * What rec_check_file() found.  The caller may set the two limits first
 * (zero/false: the format's own); everything else is output.
 */
struct rec_check {
	uint32_t max_raw;    /* in: payload limit, 0 for REC_MAX_RAW_SIZE */
	bool ignore_crc;     /* in: fuzzing only */

	struct rec_header hdr; /* valid when good_bytes > 0 */
	uint32_t frames;     /* good frames, END included */
	uint32_t keyframes;
	uint64_t first_ts;   /* timestamp of the first frame (about 0 as written) */
	uint64_t last_ts;    /* timestamp of the last good frame */
	uint64_t good_bytes; /* offset just after the last good frame; 0: bad header */
	bool ended;          /* an END frame was read */
	bool damaged;        /* a problem stopped the walk: err says which */
	uint64_t err_offset;
	char err[256];       /* "offset N: frame F: ..." */
};

/*
 * The one validator of a recording, shared by info, play and export: the
 * file header, then every frame (header, checksums, sequence, timestamps,
 * decompression) and every chunk in it (rec_frame_check()), up to the
 * first problem.  data/size stay the caller's.  fn (may be NULL) sees
 * each good frame with its decoded payload, in order.  A file that ends
 * cleanly after a whole frame without an end frame is not damaged
 * (c->ended tells).  Returns 0, -EBADMSG (damaged, c->err) or -ENOMEM.
 */
__attribute__((warn_unused_result))
int rec_check_file(struct rec_check *c, const uint8_t *data, size_t size,
		   rec_frame_fn fn, void *fn_data);

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

/* The state a recording describes at one moment. */
struct rec_canvas {
	int32_t width, height;
	uint32_t bpp, stride;
	uint32_t masks[3];
	uint8_t *pixels;           /* owned by whoever the geometry hook says */
	bool cursor_visible;
	int32_t cursor_x, cursor_y;
	uint32_t cursor_w, cursor_h;
	int32_t cursor_hot_x, cursor_hot_y;
	uint32_t cursor_argb[REC_CURSOR_MAX * REC_CURSOR_MAX];
	uint64_t max_pixels;       /* refuse larger geometries, -E2BIG (0: no limit) */
};

/*
 * Hooks called while a frame is applied; every one may be NULL except
 * geometry.  geometry runs after the canvas got a new width/height/bpp and
 * must point cv->pixels at stride * height bytes (and may set stride to a
 * larger value); it returns 0 or -errno.  The others report what changed
 * after the canvas was updated.
 */
struct rec_apply_ops {
	int (*geometry)(void *data, struct rec_canvas *cv);
	void (*damage)(void *data, int32_t x, int32_t y, int32_t w, int32_t h);
	void (*copy)(void *data, int32_t x, int32_t y, int32_t w, int32_t h,
		     int32_t src_x, int32_t src_y);
	int (*cursor_shape)(void *data, const struct rec_canvas *cv);
	void (*cursor_pos)(void *data, const struct rec_canvas *cv);
};

/*
 * Checks a decoded frame with rec_frame_check() and, when it is valid,
 * applies it to cv.  Returns 0 or -EBADMSG with rec_frame_check()'s
 * message in err (err_size bytes), -E2BIG past cv->max_pixels, or the
 * hook's error.  A delta frame before any key frame is an error.
 */
__attribute__((warn_unused_result))
int rec_apply(struct rec_canvas *cv, const struct rec_frame *f,
	      const struct rec_apply_ops *ops, void *data, char *err, size_t err_size);

#endif /* MIRAGE_REC_FORMAT_H */
