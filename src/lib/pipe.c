/* SPDX-License-Identifier: MIT */
/*
 * One generation of a pipe: the change ring, the surface and the wait page,
 * each in its own memfd, and the lock-free protocol on the ring.
 *
 * Ordering (see docs/PROTOCOL.md): the producer renders pixels, stores
 * `reserve`, writes the slot, and publishes `counter` with release
 * semantics.  A consumer loads `counter` with acquire semantics, copies,
 * and checks `reserve` afterwards to detect slots overwritten under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

#define PAGE 4096u

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static size_t ring_bytes(uint32_t capacity)
{
	return page_round(MIRAGE_RING_HEADER_SIZE + (size_t)capacity * sizeof(struct mirage_record));
}

/* Creates a memfd of `size` bytes mapped read-write at *map. */
static int shm_create(const char *name, size_t size, bool sealable, void **map)
{
	unsigned flags = MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0);
	int fd = memfd_create(name, flags);

	if (fd < 0)
		return mirage_fail(errno, "memfd_create %s: %s", name, strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) {
		int err = errno;
		close(fd);
		return mirage_fail(err, "ftruncate %s to %zu bytes: %s", name, size, strerror(err));
	}
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*map == MAP_FAILED) {
		int err = errno;
		*map = NULL;
		close(fd);
		return mirage_fail(err, "mmap %s (%zu bytes): %s", name, size, strerror(err));
	}
	return fd;
}

/*
 * After our own writable mapping exists, forbid any new writable mapping,
 * any size change and any further sealing: whatever a consumer does with
 * the descriptor we hand out, it cannot write, shrink (SIGBUS for us) or
 * unseal.
 */
static int shm_seal(int fd, const char *name)
{
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;

	if (fcntl(fd, F_ADD_SEALS, seals) < 0)
		return mirage_fail(errno, "sealing %s: %s", name, strerror(errno));
	return 0;
}

int mirage_pipe_reopen_ro(int fd)
{
	char path[64];
	int ro;

	/* A new open file description: read-only, whatever `fd` allows. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return mirage_fail(errno, "reopening a memfd read-only: %s", strerror(errno));
	return ro;
}

static uint32_t shadow_lines_for(uint32_t stride, uint32_t bpp)
{
	size_t need = (size_t)MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX * (bpp >> 3);

	if (!stride)
		return 0;
	return (uint32_t)((need + stride - 1) / stride);
}

int mirage_pipe_create(struct mirage_pipe *p, const struct mirage_pipe_geometry *g)
{
	struct mirage_surface_header *s;
	struct mirage_ring_header *r;
	uint32_t bpp = g->backing_mode == 0 ? 0 : g->bpp;
	uint32_t stride = bpp ? mirage_stride(g->width, bpp) : 0;
	uint32_t shadow = shadow_lines_for(stride, bpp);
	size_t cursor_bytes = (size_t)MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX * 4;
	size_t pixels_offset = page_round(MIRAGE_SURFACE_HEADER_SIZE + cursor_bytes);
	size_t pixels_size = (size_t)stride * ((size_t)g->height + shadow);
	void *map;
	int ret;

	memset(p, 0, sizeof(*p));
	p->ring_fd = p->surface_fd = p->wait_fd = -1;
	p->generation = g->generation;

	if (g->width < 1 || g->height < 1 || g->width > MIRAGE_MAX_DIMENSION ||
	    g->height > MIRAGE_MAX_DIMENSION)
		return mirage_fail(EINVAL, "geometry %dx%d is outside 1..%d", g->width, g->height,
				   MIRAGE_MAX_DIMENSION);
	if (bpp && bpp != 16 && bpp != 24 && bpp != 32)
		return mirage_fail(EINVAL, "unsupported surface depth %u bpp", bpp);
	if (g->capacity < MIRAGE_RING_MIN_CAPACITY || g->capacity > MIRAGE_RING_MAX_CAPACITY)
		return mirage_fail(EINVAL, "ring capacity %u is outside %u..%u", g->capacity,
				   MIRAGE_RING_MIN_CAPACITY, MIRAGE_RING_MAX_CAPACITY);

	p->ring_size = ring_bytes(g->capacity);
	ret = p->ring_fd = shm_create("mirage-ring", p->ring_size, true, &map);
	if (ret < 0)
		goto fail;
	p->ring = map;

	p->surface_size = pixels_offset + page_round(pixels_size);
	ret = p->surface_fd = shm_create("mirage-surface", p->surface_size, true, &map);
	if (ret < 0)
		goto fail;
	p->surface = map;

	ret = p->wait_fd = shm_create("mirage-wait", MIRAGE_WAIT_PAGE_SIZE, false, &map);
	if (ret < 0)
		goto fail;
	p->wait = map;

	r = p->ring;
	r->magic = MIRAGE_RING_MAGIC;
	r->version = MIRAGE_PROTO_VERSION;
	r->header_size = MIRAGE_RING_HEADER_SIZE;
	r->record_size = sizeof(struct mirage_record);
	r->capacity = g->capacity;
	r->generation = g->generation;
	p->slots = (struct mirage_record *)((uint8_t *)p->ring + MIRAGE_RING_HEADER_SIZE);

	s = p->surface;
	s->magic = MIRAGE_SURFACE_MAGIC;
	s->version = MIRAGE_PROTO_VERSION;
	s->header_size = MIRAGE_SURFACE_HEADER_SIZE;
	s->generation = g->generation;
	s->width = g->width;
	s->height = g->height;
	s->bpp = bpp;
	s->stride = stride;
	mirage_format_masks(bpp, &s->red_mask, &s->green_mask, &s->blue_mask);
	s->shadow_lines = shadow;
	s->shadow_status = shadow ? MIRAGE_SHADOW_EXISTS : 0;
	s->backing_mode = g->backing_mode;
	s->pixels_offset = pixels_offset;
	s->pixels_size = pixels_size;
	s->cursor_offset = MIRAGE_SURFACE_HEADER_SIZE;
	p->cursor = (uint32_t *)((uint8_t *)p->surface + s->cursor_offset);
	p->pixels = bpp ? (uint8_t *)p->surface + pixels_offset : NULL;

	if ((ret = shm_seal(p->ring_fd, "the ring")) < 0 ||
	    (ret = shm_seal(p->surface_fd, "the surface")) < 0)
		goto fail;
	return 0;

fail:
	mirage_pipe_finish(p);
	return ret;
}

static int map_ro(int fd, size_t size, const char *what, void **out)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return mirage_fail(errno, "fstat %s: %s", what, strerror(errno));
	if ((uint64_t)st.st_size < size)
		return mirage_fail(EPROTO, "%s is %lld bytes, the mirror announced %zu",
				   what, (long long)st.st_size, size);
	*out = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (*out == MAP_FAILED) {
		*out = NULL;
		return mirage_fail(errno, "mmap %s: %s", what, strerror(errno));
	}
	return 0;
}

int mirage_pipe_map(struct mirage_pipe *p, int ring_fd, int surface_fd, int wait_fd,
		    const struct mirage_map_out *m)
{
	const struct mirage_surface_header *s;
	const struct mirage_ring_header *r;
	void *map;
	int ret;

	memset(p, 0, sizeof(*p));
	p->ring_fd = ring_fd;
	p->surface_fd = surface_fd;
	p->wait_fd = wait_fd;
	p->generation = m->generation;
	p->ring_size = m->ring_size;
	p->surface_size = m->surface_size;

	if (m->ring_size < MIRAGE_RING_HEADER_SIZE ||
	    m->surface_size < MIRAGE_SURFACE_HEADER_SIZE) {
		ret = mirage_fail(EPROTO, "pipe map reply announces impossible sizes");
		goto fail;
	}
	if ((ret = map_ro(ring_fd, p->ring_size, "the ring", &map)) < 0)
		goto fail;
	p->ring = map;
	if ((ret = map_ro(surface_fd, p->surface_size, "the surface", &map)) < 0)
		goto fail;
	p->surface = map;
	map = mmap(NULL, MIRAGE_WAIT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, wait_fd, 0);
	if (map == MAP_FAILED) {
		ret = mirage_fail(errno, "mmap the wait page: %s", strerror(errno));
		goto fail;
	}
	p->wait = map;

	/* Check everything we will index with before trusting it. */
	r = p->ring;
	s = p->surface;
	if (r->magic != MIRAGE_RING_MAGIC || s->magic != MIRAGE_SURFACE_MAGIC) {
		ret = mirage_fail(EPROTO, "the mapped pipe has a bad magic");
		goto fail;
	}
	if (r->record_size != sizeof(struct mirage_record) ||
	    r->header_size != MIRAGE_RING_HEADER_SIZE ||
	    r->capacity < MIRAGE_RING_MIN_CAPACITY || r->capacity > MIRAGE_RING_MAX_CAPACITY ||
	    MIRAGE_RING_HEADER_SIZE + (size_t)r->capacity * sizeof(struct mirage_record) > p->ring_size) {
		ret = mirage_fail(EPROTO, "the mapped ring's layout is inconsistent");
		goto fail;
	}
	if (s->width < 1 || s->height < 1 || s->width > MIRAGE_MAX_DIMENSION ||
	    s->height > MIRAGE_MAX_DIMENSION ||
	    s->cursor_offset < MIRAGE_SURFACE_HEADER_SIZE ||
	    s->cursor_offset + (uint64_t)MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX * 4 > p->surface_size ||
	    (s->bpp && (s->stride < mirage_stride(s->width, s->bpp) ||
			s->pixels_offset + s->pixels_size > p->surface_size ||
			s->pixels_size < (uint64_t)s->stride * (uint64_t)s->height))) {
		ret = mirage_fail(EPROTO, "the mapped surface's layout is inconsistent");
		goto fail;
	}
	p->slots = (struct mirage_record *)((uint8_t *)p->ring + MIRAGE_RING_HEADER_SIZE);
	p->cursor = (uint32_t *)((uint8_t *)p->surface + s->cursor_offset);
	p->pixels = s->bpp ? (uint8_t *)p->surface + s->pixels_offset : NULL;
	return 0;

fail:
	mirage_pipe_finish(p);
	return ret;
}

void mirage_pipe_finish(struct mirage_pipe *p)
{
	if (p->ring)
		munmap(p->ring, p->ring_size);
	if (p->surface)
		munmap(p->surface, p->surface_size);
	if (p->wait)
		munmap(p->wait, MIRAGE_WAIT_PAGE_SIZE);
	if (p->ring_fd >= 0)
		close(p->ring_fd);
	if (p->surface_fd >= 0)
		close(p->surface_fd);
	if (p->wait_fd >= 0)
		close(p->wait_fd);
	memset(p, 0, sizeof(*p));
	p->ring_fd = p->surface_fd = p->wait_fd = -1;
}

/* ------------------------------------------------------------------ */
/* The ring                                                            */
/* ------------------------------------------------------------------ */

/* Shared-memory fields are plain in the ABI struct; access them atomically. */
#define A64(p) ((_Atomic uint64_t *)(p))
#define A32(p) ((_Atomic uint32_t *)(p))

void mirage_ring_write(struct mirage_pipe *p, struct mirage_ring_writer *w,
		       const struct mirage_record *rec)
{
	uint32_t cap = p->ring->capacity;
	uint64_t n = w->published + w->pending;

	/*
	 * Announce the overwrite before doing it: a consumer that copied the
	 * slot's previous record checks `reserve` afterwards.
	 */
	atomic_store_explicit(A64(&p->ring->reserve), n + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	memcpy(&p->slots[n % cap], rec, sizeof(*rec));
	w->pending++;
	if (w->pending >= cap / 2)
		mirage_ring_publish(p, w);
}

void mirage_ring_wake(const struct mirage_pipe *p)
{
	syscall(SYS_futex, &p->ring->wake_seq, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void mirage_ring_publish(struct mirage_pipe *p, struct mirage_ring_writer *w)
{
	uint64_t counter;

	if (!w->pending)
		return;
	counter = w->published + w->pending;
	atomic_store_explicit(A64(&p->ring->counter), counter, memory_order_release);
	w->published = counter;
	w->pending = 0;
	w->batches++;

	/*
	 * Dekker-style pairing with a consumer's mirage_ring_wait(): we store
	 * wake_seq then load waiters, it increments waiters then loads
	 * wake_seq, both sequentially consistent, so at least one of us sees
	 * the other.  No waiter, no syscall.
	 */
	atomic_store_explicit(A32(&p->ring->wake_seq), (uint32_t)counter, memory_order_seq_cst);
	if (atomic_load_explicit(A32(&p->wait->waiters), memory_order_seq_cst))
		mirage_ring_wake(p);
}

static bool retired(const struct mirage_ring_header *r)
{
	return atomic_load_explicit(A32(&r->flags), memory_order_acquire) & MIRAGE_RING_RETIRED;
}

int mirage_ring_read(const struct mirage_pipe *p, uint64_t *pos, struct mirage_record *recs,
		     uint32_t max, uint32_t *count)
{
	const struct mirage_ring_header *r = p->ring;
	uint32_t cap = r->capacity;
	uint64_t counter, reserve, n, end;
	uint32_t got = 0;

	*count = 0;
	counter = atomic_load_explicit(A64(&r->counter), memory_order_acquire);
	if (counter == *pos)
		return retired(r) ? MIRAGE_POLL_OFF : MIRAGE_POLL_OK;
	/*
	 * A counter behind us means a producer reset: as good as lost.  On a
	 * retired pipe, losing track may skip its ASSERT_OFF: say OFF, since
	 * re-mapping implies a full refresh anyway.
	 */
	if (counter < *pos || counter - *pos > cap / 2) {
		*pos = counter;
		return retired(r) ? MIRAGE_POLL_OFF : MIRAGE_POLL_LOST;
	}

	end = counter - *pos > max ? *pos + max : counter;
	for (n = *pos; n < end; n++)
		memcpy(&recs[got++], &p->slots[n % cap], sizeof(*recs));

	/* Were any of the slots overwritten while we copied them? */
	atomic_thread_fence(memory_order_acquire);
	reserve = atomic_load_explicit(A64(&r->reserve), memory_order_relaxed);
	if (*pos + cap < reserve) {
		*pos = atomic_load_explicit(A64(&r->counter), memory_order_acquire);
		return retired(r) ? MIRAGE_POLL_OFF : MIRAGE_POLL_LOST;
	}

	for (uint32_t i = 0; i < got; i++) {
		if (recs[i].type == MIRAGE_REC_ASSERT_OFF) {
			*count = i + 1;
			*pos += i + 1;
			return MIRAGE_POLL_OFF;
		}
	}
	*count = got;
	*pos = end;
	return MIRAGE_POLL_OK;
}

int mirage_ring_wait(const struct mirage_pipe *p, uint64_t pos, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;
	uint32_t expect = (uint32_t)pos;
	int ret = 1;

	if (atomic_load_explicit(A64(&p->ring->counter), memory_order_acquire) != pos)
		return 1;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}

	atomic_fetch_add_explicit(A32(&p->wait->waiters), 1, memory_order_seq_cst);
	if (atomic_load_explicit(A32(&p->ring->wake_seq), memory_order_seq_cst) == expect) {
		/* Shared (not PRIVATE) futex: the producer maps another view. */
		long r = syscall(SYS_futex, &p->ring->wake_seq, FUTEX_WAIT, expect, tsp, NULL, 0);
		if (r < 0 && errno == ETIMEDOUT)
			ret = 0;
		else if (r < 0 && errno == EINTR)
			ret = -EINTR;
	}
	atomic_fetch_sub_explicit(A32(&p->wait->waiters), 1, memory_order_seq_cst);

	if (ret <= 0 && atomic_load_explicit(A64(&p->ring->counter), memory_order_acquire) != pos)
		ret = 1;
	if (ret == 1 && atomic_load_explicit(A64(&p->ring->counter), memory_order_acquire) == pos)
		ret = 0; /* a spurious wake-up: nothing to poll */
	return ret;
}
