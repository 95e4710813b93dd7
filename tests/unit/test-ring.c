/* SPDX-License-Identifier: MIT */
/*
 * The change ring, white-box (mirage_ring_write/publish/read on a pipe made
 * with mirage_pipe_create): wrap-around, overrun, torn-read detection,
 * ASSERT_OFF, counter monotonicity, the futex wait, and one writer hammering
 * the ring while 16 reader processes verify every record they accept.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "private.h"

/* Every field of record n is derived from n, so a torn copy cannot pass. */
static void make_record(uint64_t n, struct mirage_record *r)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ull;

	r->type = MIRAGE_REC_BLIT;
	r->rect.left = (int32_t)(uint32_t)n;
	r->rect.top = (int32_t)(uint32_t)(n >> 32);
	r->rect.right = (int32_t)(uint32_t)h;
	r->rect.bottom = (int32_t)(uint32_t)(h >> 32);
	r->origrect.left = (int32_t)~(uint32_t)n;
	r->origrect.top = (int32_t)(uint32_t)(h ^ 0x5555);
	r->origrect.right = (int32_t)(uint32_t)(n * 3);
	r->origrect.bottom = (int32_t)(uint32_t)(h >> 17);
	r->point.x = (int32_t)(uint32_t)(n + 7);
	r->point.y = (int32_t)(uint32_t)(h >> 7);
	r->color = (uint32_t)(n ^ 0xdeadbeefu);
	r->refcolor = (uint32_t)(h >> 40);
}

static bool record_ok(uint64_t n, const struct mirage_record *got)
{
	struct mirage_record want;

	make_record(n, &want);
	return memcmp(&want, got, sizeof(want)) == 0;
}

static void pipe_create(struct mirage_pipe *p, uint32_t capacity)
{
	struct mirage_pipe_geometry g = {
		.generation = 1, .width = 64, .height = 64, .bpp = 0,
		.backing_mode = 0, .capacity = capacity,
	};

	memset(p, 0, sizeof(*p));
	CHECK_EQ(mirage_pipe_create(p, &g), 0);
	CHECK(p->ring && p->slots && p->wait);
	CHECK_EQ(p->ring->magic, MIRAGE_RING_MAGIC);
	CHECK_EQ(p->ring->capacity, capacity);
	CHECK_EQ(p->ring->record_size, sizeof(struct mirage_record));
	CHECK_EQ(p->ring->header_size, MIRAGE_RING_HEADER_SIZE);
	CHECK_EQ(p->ring->counter, 0);
}

static void write_n(struct mirage_pipe *p, struct mirage_ring_writer *w, uint64_t *next, unsigned k)
{
	for (unsigned i = 0; i < k; i++) {
		struct mirage_record r;

		make_record((*next)++, &r);
		mirage_ring_write(p, w, &r);
	}
}

static void test_wrap_around(void)
{
	uint64_t seed = th_seed("wrap_around"), rng = seed;
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	struct mirage_record recs[16];
	uint64_t next = 0, pos = 0;
	const uint32_t cap = 16;

	pipe_create(&p, cap);
	while (next < 2000) {
		unsigned k = 1 + th_rand_range(&rng, cap / 2);
		uint64_t before = p.ring->counter;

		write_n(&p, &w, &next, k);
		/* Written is not yet visible, unless the batch reached capacity/2. */
		CHECK_EQ(p.ring->counter, k < cap / 2 ? before : next);
		CHECK(p.ring->reserve >= next);
		mirage_ring_publish(&p, &w);
		CHECK_EQ(p.ring->counter, next);
		CHECK_EQ(w.published, next);
		CHECK_EQ(p.ring->wake_seq, (uint32_t)next);
		/* Record n sits in slot n % capacity. */
		CHECK(record_ok(next - 1, &p.slots[(next - 1) % cap]));

		while (pos < next) {
			uint32_t max = 1 + th_rand_range(&rng, cap), count = 99;
			uint64_t start = pos;

			CHECK_EQ(mirage_ring_read(&p, &pos, recs, max, &count), MIRAGE_POLL_OK);
			CHECK_EQ(count, next - start < max ? next - start : max);
			CHECK_EQ(pos, start + count);
			for (uint32_t i = 0; i < count; i++)
				CHECK(record_ok(start + i, &recs[i]));
		}
	}
	/* Nothing new: OK with no records, position kept. */
	{
		uint32_t count = 99;

		CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_OK);
		CHECK_EQ(count, 0);
		CHECK_EQ(pos, next);
	}
	mirage_pipe_finish(&p);
}

static void test_overrun(void)
{
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	struct mirage_record recs[16];
	uint64_t next = 0, pos = 0;
	uint32_t count;

	pipe_create(&p, 16);

	/* Exactly capacity/2 behind is still in step... */
	write_n(&p, &w, &next, 8);
	mirage_ring_publish(&p, &w);
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 8);
	CHECK_EQ(pos, 8);

	/* ...one more is lost: nothing returned, the position skips to the newest. */
	write_n(&p, &w, &next, 5);
	mirage_ring_publish(&p, &w);
	write_n(&p, &w, &next, 4);
	mirage_ring_publish(&p, &w);
	count = 99;
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_LOST);
	CHECK_EQ(count, 0);
	CHECK_EQ(pos, next);

	/* Far behind (several laps). */
	for (int i = 0; i < 20; i++) {
		write_n(&p, &w, &next, 7);
		mirage_ring_publish(&p, &w);
	}
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_LOST);
	CHECK_EQ(pos, next);

	/* And back in step afterwards. */
	write_n(&p, &w, &next, 3);
	mirage_ring_publish(&p, &w);
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 3);
	for (uint32_t i = 0; i < count; i++)
		CHECK(record_ok(next - 3 + i, &recs[i]));
	mirage_pipe_finish(&p);
}

/*
 * A writer that has started on slot n + capacity (reserve moved past it)
 * while the reader copied record n: the copy must be refused.  The writer
 * is played by hand here; test_hammer does it for real.
 */
static void test_torn_detected(void)
{
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	struct mirage_record recs[16];
	uint64_t next = 0, pos;
	uint32_t count;

	pipe_create(&p, 16);
	write_n(&p, &w, &next, 12);
	mirage_ring_publish(&p, &w);

	/* Slot of record 8 holds record 24 now being written: reserve = 25. */
	pos = 8;
	atomic_store((_Atomic uint64_t *)&p.ring->reserve, 8 + 16 + 1);
	count = 99;
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_LOST);
	CHECK_EQ(count, 0);
	CHECK(pos >= 12);

	/* reserve = 24: record 8 is intact (n + capacity >= reserve). */
	pos = 8;
	atomic_store((_Atomic uint64_t *)&p.ring->reserve, 8 + 16);
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 4);
	for (uint32_t i = 0; i < count; i++)
		CHECK(record_ok(8 + i, &recs[i]));
	mirage_pipe_finish(&p);
}

static void test_assert_off_stops(void)
{
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	struct mirage_record recs[16], off = { .type = MIRAGE_REC_ASSERT_OFF };
	uint64_t next = 0, pos = 0;
	uint32_t count;

	pipe_create(&p, 32);
	write_n(&p, &w, &next, 3);
	mirage_ring_write(&p, &w, &off);
	next++;
	write_n(&p, &w, &next, 2);
	mirage_ring_publish(&p, &w);
	CHECK_EQ(mirage_ring_read(&p, &pos, recs, 16, &count), MIRAGE_POLL_OFF);
	CHECK_EQ(count, 4);
	CHECK_EQ(recs[3].type, MIRAGE_REC_ASSERT_OFF);
	CHECK_EQ(pos, 4);
	for (uint32_t i = 0; i < 3; i++)
		CHECK(record_ok(i, &recs[i]));
	mirage_pipe_finish(&p);
}

static void test_counter_monotonic(void)
{
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	uint64_t next = 0, last = 0;
	uint64_t seed = th_seed("counter_monotonic"), rng = seed;

	pipe_create(&p, 64);
	for (int i = 0; i < 500; i++) {
		/* Empty publishes are allowed and move nothing. */
		write_n(&p, &w, &next, th_rand_range(&rng, 8));
		mirage_ring_publish(&p, &w);
		CHECK(p.ring->counter >= last);
		CHECK_EQ(p.ring->counter, next);
		CHECK(p.ring->reserve >= p.ring->counter);
		last = p.ring->counter;
	}
	mirage_pipe_finish(&p);
}

static void test_wait(void)
{
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	uint64_t next = 0, t0;
	pid_t pid;
	int status;

	pipe_create(&p, 64);

	/* Nothing new: runs to the timeout. */
	t0 = th_now_ns();
	CHECK_EQ(mirage_ring_wait(&p, 0, 60), 0);
	CHECK(th_now_ns() - t0 >= 50 * 1000000ull);
	CHECK_EQ(p.wait->waiters, 0);

	/* Already moved: returns at once. */
	write_n(&p, &w, &next, 1);
	mirage_ring_publish(&p, &w);
	CHECK_EQ(mirage_ring_wait(&p, 0, 5000), 1);

	/* Woken by a publish from another process (a shared futex). */
	pid = th_fork();
	if (pid == 0) {
		th_sleep_ms(80);
		write_n(&p, &w, &next, 2);
		mirage_ring_publish(&p, &w);
		_exit(0);
	}
	t0 = th_now_ns();
	CHECK_EQ(mirage_ring_wait(&p, 1, 5000), 1);
	CHECK(th_now_ns() - t0 < 4000 * 1000000ull);
	CHECK_EQ(p.ring->counter, 3);
	CHECK_EQ(p.wait->waiters, 0);
	status = th_wait_child(pid, 5000);
	CHECK(th_exited_ok(status));
	mirage_pipe_finish(&p);
}

/* ------------------------------------------------------------------ */
/* One writer, 16 reader processes                                     */
/* ------------------------------------------------------------------ */

#define READERS 16
#define HAMMER_CAP 64u

struct hammer_stats {
	atomic_bool done;
	atomic_uint_fast64_t final_counter;
	struct {
		uint64_t accepted, lost, torn, polls, last_pos;
	} reader[READERS];
};

static void hammer_reader(const struct mirage_pipe *wp, struct hammer_stats *st, int id)
{
	struct mirage_pipe p;
	struct mirage_map_out m = {
		.generation = wp->ring->generation,
		.ring_size = (uint32_t)wp->ring_size,
		.surface_size = wp->surface_size,
		.width = wp->surface->width, .height = wp->surface->height,
		.bpp = wp->surface->bpp, .stride = wp->surface->stride,
	};
	struct mirage_record recs[HAMMER_CAP];
	uint64_t pos = 0, last_counter = 0, rng = (uint64_t)id * 7919u;
	int ring_fd = mirage_pipe_reopen_ro(wp->ring_fd);
	int surface_fd = mirage_pipe_reopen_ro(wp->surface_fd);
	int wait_fd = dup(wp->wait_fd);

	/* Map it the way a consumer does: read-only descriptors. */
	memset(&p, 0, sizeof(p));
	CHECK(ring_fd >= 0 && surface_fd >= 0 && wait_fd >= 0);
	CHECK_EQ(mirage_pipe_map(&p, ring_fd, surface_fd, wait_fd, &m), 0);

	for (;;) {
		uint64_t c = atomic_load_explicit((_Atomic uint64_t *)&p.ring->counter, memory_order_acquire);
		uint64_t start = pos;
		uint32_t count = 0, max = 1 + th_rand_range(&rng, HAMMER_CAP / 2);
		int r;

		CHECK(c >= last_counter); /* the counter never goes back */
		last_counter = c;
		if (pos == c) {
			if (atomic_load(&st->done) && pos == atomic_load(&st->final_counter))
				break;
			sched_yield();
			continue;
		}
		r = mirage_ring_read(&p, &pos, recs, max, &count);
		st->reader[id].polls++;
		if (r == MIRAGE_POLL_LOST) {
			CHECK_EQ(count, 0);
			CHECK(pos > start);
			st->reader[id].lost++;
			/* Not behind by the counter we saw: a slot was overwritten under us. */
			if (c - start <= HAMMER_CAP / 2)
				st->reader[id].torn++;
			continue;
		}
		CHECK_EQ(r, MIRAGE_POLL_OK);
		CHECK_EQ(pos, start + count);
		for (uint32_t i = 0; i < count; i++) {
			if (!record_ok(start + i, &recs[i])) {
				fprintf(stderr, "reader %d accepted a torn record %llu\n", id,
					(unsigned long long)(start + i));
				CHECK(!"torn record accepted");
			}
		}
		st->reader[id].accepted += count;
	}
	st->reader[id].last_pos = pos;
	mirage_pipe_finish(&p);
}

static void test_hammer(void)
{
	uint64_t seed = th_seed("hammer"), rng = seed;
	struct hammer_stats *st;
	struct mirage_pipe p;
	struct mirage_ring_writer w = { 0 };
	pid_t pids[READERS];
	uint64_t next = 0, end, accepted = 0, lost = 0, torn = 0;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(st != MAP_FAILED);
	memset(st, 0, sizeof(*st));
	pipe_create(&p, HAMMER_CAP);

	for (int i = 0; i < READERS; i++) {
		pids[i] = th_fork();
		if (pids[i] == 0) {
			hammer_reader(&p, st, i);
			_exit(0);
		}
	}

	/* Batches of random size, some near capacity/2 to make laps likely. */
	end = th_now_ns() + 1500 * 1000000ull;
	while (th_now_ns() < end) {
		for (int b = 0; b < 64; b++) {
			write_n(&p, &w, &next, 1 + th_rand_range(&rng, HAMMER_CAP / 2));
			mirage_ring_publish(&p, &w);
			/* Let readers catch up now and then, so they accept as well as lose. */
			if (th_rand_range(&rng, 4) == 0)
				sched_yield();
		}
	}
	atomic_store(&st->final_counter, next);
	atomic_store(&st->done, true);

	for (int i = 0; i < READERS; i++) {
		int status = th_wait_child(pids[i], 20000);

		CHECK(th_exited_ok(status));
		CHECK_EQ(st->reader[i].last_pos, next);
		accepted += st->reader[i].accepted;
		lost += st->reader[i].lost;
		torn += st->reader[i].torn;
	}
	fprintf(stderr, "hammer: %llu records written, %d readers accepted %llu, lost track %llu times (%llu of them overwritten while copied)\n",
		(unsigned long long)next, READERS, (unsigned long long)accepted,
		(unsigned long long)lost, (unsigned long long)torn);
	CHECK(accepted > 0);
	mirage_pipe_finish(&p);
	munmap(st, sizeof(*st));
}

int main(void)
{
	th_init("ring", 90);
	RUN(test_wrap_around);
	RUN(test_overrun);
	RUN(test_torn_detected);
	RUN(test_assert_off_stops);
	RUN(test_counter_monotonic);
	RUN(test_wait);
	RUN(test_hammer);
	return 0;
}
