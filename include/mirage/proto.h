/* SPDX-License-Identifier: MIT */
/*
 * mirage wire and shared-memory ABI.
 *
 * Everything in this header is a contract between processes that may have
 * been built separately, in other languages, years apart.  Fields are
 * fixed-width, padding is explicit, every size and offset is asserted below,
 * and docs/PROTOCOL.md describes the same layout in prose.  Multi-byte fields
 * are in the host's byte order (the pipe never leaves the machine).
 *
 * Changing anything here means changing MIRAGE_PROTO_VERSION and
 * docs/PROTOCOL.md in the same commit.
 */
#ifndef MIRAGE_PROTO_H
#define MIRAGE_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Versions                                                            */
/* ------------------------------------------------------------------ */

/* Packed like DfMirage's: a.b.c.d -> a<<24 | b<<16 | c<<8 | d. */
#define MIRAGE_VERSION_PACK(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define MIRAGE_VERSION_MAJOR(v) (((v) >> 24) & 0xffu)
#define MIRAGE_VERSION_MINOR(v) (((v) >> 16) & 0xffu)
#define MIRAGE_VERSION_PATCH(v) (((v) >> 8) & 0xffu)
#define MIRAGE_VERSION_BUILD(v) ((v) & 0xffu)

/* The protocol this header describes. */
#define MIRAGE_PROTO_VERSION MIRAGE_VERSION_PACK(1, 1, 0, 0)
/* The oldest peer (either side) this header's implementation accepts. */
#define MIRAGE_PROTO_MIN_COMPAT MIRAGE_VERSION_PACK(1, 0, 0, 0)

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

/* right and bottom are exclusive, like a Windows RECT. */
struct mirage_rect {
	int32_t left;
	int32_t top;
	int32_t right;
	int32_t bottom;
};

struct mirage_point {
	int32_t x;
	int32_t y;
};

/* ------------------------------------------------------------------ */
/* Change ring                                                         */
/* ------------------------------------------------------------------ */

/* Record types keep DfMirage's numbers. */
enum mirage_record_type {
	MIRAGE_REC_SCREEN_SCREEN = 11, /* rect = destination, point = source top-left */
	MIRAGE_REC_BLIT = 12,          /* rendering of any kind */
	MIRAGE_REC_SOLIDFILL = 13,     /* color = fill colour in surface format */
	MIRAGE_REC_TEXTOUT = 18,       /* text and glyphs */
	MIRAGE_REC_PTR_SHAPE = 19,     /* cursor shape changed: point = hotspot */
	MIRAGE_REC_PTR_ENGAGE = 48,    /* cursor shown at point (hotspot position) */
	MIRAGE_REC_PTR_AVERT = 49,     /* cursor hidden */
	MIRAGE_REC_ASSERT_ON = 64,     /* mirroring (re)started on this pipe */
	MIRAGE_REC_ASSERT_OFF = 65,    /* this pipe is retired: map again */
};

/*
 * One change record: DfMirage's CHANGES_RECORD with fixed-width types.
 * The `type` field is a uint32_t holding an enum mirage_record_type value;
 * origrect and refcolor are unused (zero) and kept for layout compatibility.
 */
struct mirage_record {
	uint32_t type;
	struct mirage_rect rect;
	struct mirage_rect origrect;
	struct mirage_point point;
	uint32_t color;
	uint32_t refcolor;
};

#define MIRAGE_RING_MAGIC 0x474e524du     /* "MRNG" read as little-endian bytes */
#define MIRAGE_RING_DEFAULT_CAPACITY 20000u
#define MIRAGE_RING_MIN_CAPACITY 16u
#define MIRAGE_RING_MAX_CAPACITY (1u << 24)
#define MIRAGE_RING_HEADER_SIZE 64u

/* mirage_ring_header.flags */
#define MIRAGE_RING_RETIRED 0x1u /* producer posted ASSERT_OFF and left this pipe */

/*
 * The change ring: this header, then `capacity` records of `record_size`
 * bytes starting at offset `header_size`.  Record number n (0-based, counted
 * since the pipe was created) lives in slot n % capacity.
 *
 * counter:  records published; only ever grows.  Stored by the producer with
 *           release semantics after the records below it are written; load
 *           it with acquire semantics.
 * reserve:  records written or being written (>= counter).  Stored by the
 *           producer before it overwrites slots; after copying a record a
 *           consumer loads it (after an acquire fence) and keeps record n
 *           only if n + capacity >= reserve.
 * wake_seq: low 32 bits of counter, stored after counter: the futex word
 *           a waiting consumer sleeps on.
 */
struct mirage_ring_header {
	uint32_t magic;
	uint32_t version;      /* MIRAGE_PROTO_VERSION of the producer */
	uint32_t header_size;  /* offset of slot 0 */
	uint32_t record_size;  /* sizeof(struct mirage_record) */
	uint32_t capacity;     /* slots */
	uint32_t generation;   /* pipe generation, same as the surface's */
	uint64_t counter;
	uint64_t reserve;
	uint32_t wake_seq;
	uint32_t flags;        /* MIRAGE_RING_* */
	uint8_t reserved[16];
};

/*
 * The wait page: the only shared memory a consumer may write.  A consumer
 * about to sleep on wake_seq increments `waiters` and decrements it when it
 * wakes; the producer makes a FUTEX_WAKE syscall only when it is non-zero.
 * A consumer that corrupts it costs others at most a spurious wake-up or a
 * wait that runs to its timeout.
 */
struct mirage_wait_page {
	uint32_t waiters;
	uint8_t reserved[60];
};

#define MIRAGE_WAIT_PAGE_SIZE 4096u

/* ------------------------------------------------------------------ */
/* Surface                                                             */
/* ------------------------------------------------------------------ */

#define MIRAGE_SURFACE_MAGIC 0x4652534du /* "MSRF" */
#define MIRAGE_SURFACE_HEADER_SIZE 4096u
/* Surface flags: the producer keeps pixels_seq (PROTOCOL.md 5.5). */
#define MIRAGE_SURFACE_PIXELS_SEQ 0x1u
#define MIRAGE_CURSOR_MAX 256u           /* cursor area: 256 x 256 ARGB */
#define MIRAGE_MONITORS_MAX 16u
#define MIRAGE_MONITOR_NAME_MAX 16u
#define MIRAGE_MAX_DIMENSION 16384

/* mirage_surface_header.shadow_status, after DOS/Windows display drivers */
#define MIRAGE_SHADOW_EXISTS 0x1u  /* shadow lines are allocated */
#define MIRAGE_SHADOW_IN_USE 0x2u  /* a save-under is stored there */
#define MIRAGE_SHADOW_TRASHED 0x4u /* what is stored there is no longer valid */

/* mirage_monitor.flags */
#define MIRAGE_MONITOR_PRIMARY 0x1u

struct mirage_monitor {
	struct mirage_rect rect; /* within the surface */
	uint32_t flags;          /* MIRAGE_MONITOR_* */
	uint32_t reserved;
	char name[MIRAGE_MONITOR_NAME_MAX]; /* NUL-padded, e.g. "DUMMY0" */
};

/*
 * The surface memfd: this header (MIRAGE_SURFACE_HEADER_SIZE bytes), the
 * cursor area at cursor_offset, then the pixels at pixels_offset: `height`
 * visible lines followed by `shadow_lines` lines, each `stride` bytes.
 *
 * Formats: 32 bpp is xRGB8888 (a uint32 0x00RRGGBB per pixel), 24 bpp packed
 * B,G,R bytes, 16 bpp RGB 565; the masks state it.  bpp is 0 and
 * pixels_size 0 when the mirror publishes records only (backing mode 0).
 *
 * cursor_serial is a sequence lock over the cursor fields and pixels: odd
 * while the producer writes, +2 per shape.  Read it (acquire), copy, fence,
 * read it again; retry if it was odd or changed.  monitor_serial guards the
 * monitor table the same way.
 */
struct mirage_surface_header {
	uint32_t magic;
	uint32_t version;
	uint32_t header_size;    /* MIRAGE_SURFACE_HEADER_SIZE */
	uint32_t generation;
	int32_t width;
	int32_t height;          /* visible lines */
	uint32_t bpp;            /* 0, 16, 24 or 32 */
	uint32_t stride;         /* (width * (bpp >> 3) + 3) & ~3 */
	uint32_t red_mask;
	uint32_t green_mask;
	uint32_t blue_mask;
	uint32_t shadow_lines;   /* lines after the visible ones */
	uint32_t shadow_status;  /* MIRAGE_SHADOW_* */
	uint32_t backing_mode;   /* Cap.DfbBackingMode in force */
	uint64_t pixels_offset;  /* from the start of the memfd */
	uint64_t pixels_size;    /* stride * (height + shadow_lines) */
	uint64_t cursor_offset;  /* ARGB area, MIRAGE_CURSOR_MAX^2 uint32 */
	uint32_t cursor_serial;
	uint32_t cursor_visible; /* 1 when the cursor is shown */
	int32_t cursor_x;        /* hotspot position in the surface */
	int32_t cursor_y;
	uint32_t cursor_width;   /* <= MIRAGE_CURSOR_MAX */
	uint32_t cursor_height;
	int32_t cursor_hot_x;
	int32_t cursor_hot_y;
	uint32_t monitor_serial;
	uint32_t monitor_count;  /* <= MIRAGE_MONITORS_MAX */
	struct mirage_monitor monitors[MIRAGE_MONITORS_MAX];
	uint32_t pixels_seq;     /* odd while the pixels may be ahead of the ring */
	uint32_t flags;          /* MIRAGE_SURFACE_* */
	uint8_t reserved[3328];
};

/* ------------------------------------------------------------------ */
/* Control socket                                                      */
/* ------------------------------------------------------------------ */

/*
 * Requests keep DfMirage's escape numbers where one exists; mirage's own
 * start at 2000.  Each request and reply is one SOCK_SEQPACKET message: a
 * struct mirage_msg followed by `length` payload bytes.
 */
enum mirage_escape {
	MIRAGE_ESC_POINTER_SHAPE = 24,
	MIRAGE_ESC_VERSION = 1026,
	MIRAGE_ESC_PIPE_MAP = 1030,
	MIRAGE_ESC_PIPE_UNMAP = 1031,
	MIRAGE_ESC_TEST = 1050,
	MIRAGE_ESC_TEST_MAPPED = 1051,
	MIRAGE_ESC_ATTACH = 2001,
	MIRAGE_ESC_DETACH = 2002,
	MIRAGE_ESC_SETTINGS_GET = 2003,
	MIRAGE_ESC_SETTINGS_SET = 2004,
	MIRAGE_ESC_INFO = 2005,
};

#define MIRAGE_MSG_MAX_PAYLOAD 4096u
#define MIRAGE_MSG_MAX_SIZE (sizeof(struct mirage_msg) + MIRAGE_MSG_MAX_PAYLOAD)

/*
 * status: 0 in requests.  In replies, 1 for success (DfMirage's "greater
 * than zero") or a negative errno; an error reply's payload is a UTF-8
 * message (not NUL-terminated) saying what was wrong.
 */
struct mirage_msg {
	uint32_t code;    /* enum mirage_escape */
	uint32_t length;  /* payload bytes after this header */
	uint32_t serial;  /* chosen by the client, echoed in the reply */
	int32_t status;
};

/* MIRAGE_ESC_VERSION request (DfMirage's Esc_dmf_Qvi_IN) */
struct mirage_version_in {
	uint32_t client_version;     /* app_actual_version */
	uint32_t server_min_version; /* display_minreq_version */
};

/* MIRAGE_ESC_VERSION reply (Esc_dmf_Qvi_OUT) */
struct mirage_version_out {
	uint32_t server_version;     /* display_actual_version */
	uint32_t client_min_version; /* app_minreq_version */
};

/*
 * MIRAGE_ESC_PIPE_MAP reply.  Three descriptors come with it (SCM_RIGHTS),
 * in this order: the ring (read-only), the surface (read-only) and the wait
 * page (read-write).
 */
struct mirage_map_out {
	uint32_t generation;
	uint32_t ring_size;      /* bytes to map of the ring fd */
	uint64_t surface_size;   /* bytes to map of the surface fd */
	int32_t width;
	int32_t height;
	uint32_t bpp;
	uint32_t stride;
};

/* MIRAGE_ESC_TEST_MAPPED request: the generation the client has mapped. */
struct mirage_test_mapped_in {
	uint32_t generation;
	uint32_t reserved;
};

/* MIRAGE_ESC_POINTER_SHAPE reply: pixels are in the surface cursor area. */
struct mirage_pointer_out {
	uint32_t serial;
	uint32_t visible;
	int32_t x;
	int32_t y;
	uint32_t width;
	uint32_t height;
	int32_t hot_x;
	int32_t hot_y;
};

/* MIRAGE_ESC_ATTACH request */
#define MIRAGE_ATTACH_PERSIST 0x1u /* stay attached after this connection closes */
struct mirage_attach_in {
	uint32_t flags;
	uint32_t reserved;
};

#define MIRAGE_NAME_MAX 64u
#define MIRAGE_DRIVER_NAME_MAX 16u

/*
 * MIRAGE_ESC_INFO reply: this struct, then key=value lines of driver
 * statistics (text, up to the end of the payload).
 */
struct mirage_info_out {
	char name[MIRAGE_NAME_MAX];          /* NUL-padded */
	char driver[MIRAGE_DRIVER_NAME_MAX]; /* NUL-padded */
	uint32_t server_version;
	uint32_t generation;
	int32_t width;
	int32_t height;
	uint32_t bpp;
	uint32_t attached;     /* 1 while mirroring */
	uint32_t consumers;    /* connections with the pipe mapped */
	uint32_t connections;  /* control connections */
	int32_t manager_pid;   /* 0 when the role is free */
	uint32_t capacity;
	uint64_t counter;
	uint64_t batches;      /* release-publishes */
	uint32_t pid;          /* the producer's process */
	uint32_t reserved;
};

/* ------------------------------------------------------------------ */
/* Layout checks                                                       */
/* ------------------------------------------------------------------ */

_Static_assert(sizeof(struct mirage_rect) == 16, "rect");
_Static_assert(sizeof(struct mirage_point) == 8, "point");
_Static_assert(sizeof(struct mirage_record) == 52, "record: DfMirage layout");
_Static_assert(offsetof(struct mirage_record, type) == 0, "record.type");
_Static_assert(offsetof(struct mirage_record, rect) == 4, "record.rect");
_Static_assert(offsetof(struct mirage_record, origrect) == 20, "record.origrect");
_Static_assert(offsetof(struct mirage_record, point) == 36, "record.point");
_Static_assert(offsetof(struct mirage_record, color) == 44, "record.color");
_Static_assert(offsetof(struct mirage_record, refcolor) == 48, "record.refcolor");

_Static_assert(sizeof(struct mirage_ring_header) == MIRAGE_RING_HEADER_SIZE, "ring header");
_Static_assert(offsetof(struct mirage_ring_header, magic) == 0, "ring.magic");
_Static_assert(offsetof(struct mirage_ring_header, version) == 4, "ring.version");
_Static_assert(offsetof(struct mirage_ring_header, header_size) == 8, "ring.header_size");
_Static_assert(offsetof(struct mirage_ring_header, record_size) == 12, "ring.record_size");
_Static_assert(offsetof(struct mirage_ring_header, capacity) == 16, "ring.capacity");
_Static_assert(offsetof(struct mirage_ring_header, generation) == 20, "ring.generation");
_Static_assert(offsetof(struct mirage_ring_header, counter) == 24, "ring.counter");
_Static_assert(offsetof(struct mirage_ring_header, reserve) == 32, "ring.reserve");
_Static_assert(offsetof(struct mirage_ring_header, wake_seq) == 40, "ring.wake_seq");
_Static_assert(offsetof(struct mirage_ring_header, flags) == 44, "ring.flags");
_Static_assert(offsetof(struct mirage_ring_header, reserved) == 48, "ring.reserved");

_Static_assert(sizeof(struct mirage_wait_page) == 64, "wait page");
_Static_assert(offsetof(struct mirage_wait_page, waiters) == 0, "wait.waiters");

_Static_assert(sizeof(struct mirage_monitor) == 40, "monitor");
_Static_assert(offsetof(struct mirage_monitor, rect) == 0, "monitor.rect");
_Static_assert(offsetof(struct mirage_monitor, flags) == 16, "monitor.flags");
_Static_assert(offsetof(struct mirage_monitor, name) == 24, "monitor.name");

_Static_assert(sizeof(struct mirage_surface_header) == MIRAGE_SURFACE_HEADER_SIZE, "surface header");
_Static_assert(offsetof(struct mirage_surface_header, magic) == 0, "surface.magic");
_Static_assert(offsetof(struct mirage_surface_header, version) == 4, "surface.version");
_Static_assert(offsetof(struct mirage_surface_header, header_size) == 8, "surface.header_size");
_Static_assert(offsetof(struct mirage_surface_header, generation) == 12, "surface.generation");
_Static_assert(offsetof(struct mirage_surface_header, width) == 16, "surface.width");
_Static_assert(offsetof(struct mirage_surface_header, height) == 20, "surface.height");
_Static_assert(offsetof(struct mirage_surface_header, bpp) == 24, "surface.bpp");
_Static_assert(offsetof(struct mirage_surface_header, stride) == 28, "surface.stride");
_Static_assert(offsetof(struct mirage_surface_header, red_mask) == 32, "surface.red_mask");
_Static_assert(offsetof(struct mirage_surface_header, green_mask) == 36, "surface.green_mask");
_Static_assert(offsetof(struct mirage_surface_header, blue_mask) == 40, "surface.blue_mask");
_Static_assert(offsetof(struct mirage_surface_header, shadow_lines) == 44, "surface.shadow_lines");
_Static_assert(offsetof(struct mirage_surface_header, shadow_status) == 48, "surface.shadow_status");
_Static_assert(offsetof(struct mirage_surface_header, backing_mode) == 52, "surface.backing_mode");
_Static_assert(offsetof(struct mirage_surface_header, pixels_offset) == 56, "surface.pixels_offset");
_Static_assert(offsetof(struct mirage_surface_header, pixels_size) == 64, "surface.pixels_size");
_Static_assert(offsetof(struct mirage_surface_header, cursor_offset) == 72, "surface.cursor_offset");
_Static_assert(offsetof(struct mirage_surface_header, cursor_serial) == 80, "surface.cursor_serial");
_Static_assert(offsetof(struct mirage_surface_header, cursor_visible) == 84, "surface.cursor_visible");
_Static_assert(offsetof(struct mirage_surface_header, cursor_x) == 88, "surface.cursor_x");
_Static_assert(offsetof(struct mirage_surface_header, cursor_y) == 92, "surface.cursor_y");
_Static_assert(offsetof(struct mirage_surface_header, cursor_width) == 96, "surface.cursor_width");
_Static_assert(offsetof(struct mirage_surface_header, cursor_height) == 100, "surface.cursor_height");
_Static_assert(offsetof(struct mirage_surface_header, cursor_hot_x) == 104, "surface.cursor_hot_x");
_Static_assert(offsetof(struct mirage_surface_header, cursor_hot_y) == 108, "surface.cursor_hot_y");
_Static_assert(offsetof(struct mirage_surface_header, monitor_serial) == 112, "surface.monitor_serial");
_Static_assert(offsetof(struct mirage_surface_header, monitor_count) == 116, "surface.monitor_count");
_Static_assert(offsetof(struct mirage_surface_header, monitors) == 120, "surface.monitors");
_Static_assert(offsetof(struct mirage_surface_header, pixels_seq) == 760, "surface.pixels_seq");
_Static_assert(offsetof(struct mirage_surface_header, flags) == 764, "surface.flags");
_Static_assert(offsetof(struct mirage_surface_header, reserved) == 768, "surface.reserved");

_Static_assert(sizeof(struct mirage_msg) == 16, "msg");
_Static_assert(offsetof(struct mirage_msg, code) == 0, "msg.code");
_Static_assert(offsetof(struct mirage_msg, length) == 4, "msg.length");
_Static_assert(offsetof(struct mirage_msg, serial) == 8, "msg.serial");
_Static_assert(offsetof(struct mirage_msg, status) == 12, "msg.status");
_Static_assert(sizeof(struct mirage_version_in) == 8, "version_in");
_Static_assert(sizeof(struct mirage_version_out) == 8, "version_out");
_Static_assert(sizeof(struct mirage_map_out) == 32, "map_out");
_Static_assert(offsetof(struct mirage_map_out, surface_size) == 8, "map_out.surface_size");
_Static_assert(offsetof(struct mirage_map_out, width) == 16, "map_out.width");
_Static_assert(sizeof(struct mirage_test_mapped_in) == 8, "test_mapped_in");
_Static_assert(sizeof(struct mirage_pointer_out) == 32, "pointer_out");
_Static_assert(sizeof(struct mirage_attach_in) == 8, "attach_in");
_Static_assert(sizeof(struct mirage_info_out) == 144, "info_out");
_Static_assert(offsetof(struct mirage_info_out, server_version) == 80, "info.server_version");
_Static_assert(offsetof(struct mirage_info_out, capacity) == 116, "info.capacity");
_Static_assert(offsetof(struct mirage_info_out, counter) == 120, "info.counter");
_Static_assert(offsetof(struct mirage_info_out, batches) == 128, "info.batches");
_Static_assert(offsetof(struct mirage_info_out, pid) == 136, "info.pid");

#endif /* MIRAGE_PROTO_H */
