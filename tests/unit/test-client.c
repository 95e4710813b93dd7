/* SPDX-License-Identifier: MIT */
/*
 * The consumer side through the public API, with real processes: 16
 * concurrent readers, a reader SIGKILLed mid-read, a producer that exits
 * (cleanly or killed), resize and reconnect, the cursor and monitors, the
 * pixel sequence, wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define W 4096
#define H 4096

static struct th_server srv;

/* Record k's rect, chosen so k can be read back and every field checked. */
static struct mirage_rect rect_of(uint64_t k)
{
	int32_t l = (int32_t)(k % 4000), t = (int32_t)((k / 4000) % 4000);

	return (struct mirage_rect){ l, t, l + 1 + (int32_t)(k % 13), t + 1 + (int32_t)(k % 11) };
}

static bool decode(const struct mirage_record *r, uint64_t *k)
{
	struct mirage_rect want;

	if (r->type != MIRAGE_REC_BLIT)
		return false;
	*k = (uint64_t)r->rect.top * 4000u + (uint64_t)r->rect.left;
	want = rect_of(*k);
	return !memcmp(&want, &r->rect, sizeof(want));
}

struct reader_stats {
	uint64_t accepted, lost, last_k;
	uint32_t saw_off;
};

/*
 * Reads until ASSERT_OFF; every BLIT must decode, and n - k (ring position
 * minus record number) must be the same for every accepted record.
 */
static void reader(const char *name, struct reader_stats *st, int ready_fd, bool use_wait)
{
	struct mirage_client *c = NULL;
	struct mirage_record recs[256];
	uint64_t base = UINT64_MAX, last_counter = 0;

	CHECK_EQ(mirage_client_connect(&c, name), 0);
	CHECK(write(ready_fd, "r", 1) == 1);
	for (;;) {
		uint64_t pos = mirage_client_position(c), counter = mirage_client_ring(c)->counter;
		uint32_t count = 0;
		int r;

		CHECK(counter >= last_counter);
		last_counter = counter;
		r = mirage_client_poll(c, recs, ARRAY_LEN(recs), &count);
		CHECK(r >= 0);
		if (r == MIRAGE_POLL_LOST) {
			st->lost++;
			continue;
		}
		for (uint32_t i = 0; i < count; i++) {
			uint64_t k;

			if (recs[i].type == MIRAGE_REC_ASSERT_ON)
				continue;
			if (recs[i].type == MIRAGE_REC_ASSERT_OFF) {
				CHECK_EQ(r, MIRAGE_POLL_OFF);
				CHECK_EQ(i, count - 1);
				break;
			}
			if (!decode(&recs[i], &k)) {
				fprintf(stderr, "record at %llu is not one we posted\n",
					(unsigned long long)(pos + i));
				CHECK(!"bad record");
			}
			if (base == UINT64_MAX)
				base = pos + i - k;
			CHECK_EQ(pos + i - k, base);
			st->accepted++;
			st->last_k = k;
		}
		if (r == MIRAGE_POLL_OFF) {
			st->saw_off = 1;
			break;
		}
		if (count == 0) {
			/* A LOST can skip over the ASSERT_OFF; the retired flag still tells. */
			if (mirage_client_ring(c)->flags & MIRAGE_RING_RETIRED) {
				st->saw_off = 1;
				break;
			}
			if (use_wait) {
				r = mirage_client_wait(c, 2000);
				CHECK(r == 1 || r == 0 || r == -ENOTCONN);
			} else {
				sched_yield();
			}
		}
	}
	mirage_client_destroy(c);
}

static void post_numbered(uint64_t from, uint64_t to)
{
	th_server_lock(&srv);
	for (uint64_t k = from; k < to; k++) {
		struct mirage_rect r = rect_of(k);

		mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, r.left, r.top, r.right, r.bottom);
	}
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);
}

static void start_records_only(const char *name, uint32_t capacity)
{
	struct mirage_driver_config cfg;

	th_config(&cfg, name, W, H);
	cfg.capacity = capacity;
	cfg.settings.bootup = 1;
	cfg.settings.backing_mode = 0; /* records only: a big geometry costs nothing */
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
}

#define READERS 16

static void test_16_readers(void)
{
	struct reader_stats *st;
	pid_t pids[READERS];
	int ready[2];
	const uint64_t total = 200000;
	uint64_t accepted = 0, lost = 0;

	st = mmap(NULL, sizeof(*st) * READERS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(st != MAP_FAILED);
	memset(st, 0, sizeof(*st) * READERS);
	start_records_only("readers", 4096);
	CHECK(pipe(ready) == 0);
	for (int i = 0; i < READERS; i++) {
		pids[i] = th_fork();
		if (pids[i] == 0) {
			close(ready[0]);
			reader("readers", &st[i], ready[1], i % 2 == 1);
			_exit(0);
		}
	}
	close(ready[1]);
	for (int i = 0; i < READERS; i++) {
		char b;

		CHECK_EQ(read(ready[0], &b, 1), 1);
	}
	close(ready[0]);

	for (uint64_t k = 0; k < total; k += 100) {
		post_numbered(k, k + 100);
		if (k % 1000 == 0)
			sched_yield();
	}
	/* Destroy posts ASSERT_OFF: every reader ends there. */
	th_server_stop(&srv);
	for (int i = 0; i < READERS; i++) {
		CHECK(th_exited_ok(th_wait_child(pids[i], 20000)));
		CHECK(st[i].saw_off);
		CHECK(st[i].accepted > 0);
		accepted += st[i].accepted;
		lost += st[i].lost;
	}
	fprintf(stderr, "   %d readers accepted %llu of %llu records each posted, lost track %llu times\n",
		READERS, (unsigned long long)accepted, (unsigned long long)total,
		(unsigned long long)lost);
	munmap(st, sizeof(*st) * READERS);
}

/* A reader killed mid-read leaves the producer and the other readers unaffected. */
static void test_reader_killed(void)
{
	struct reader_stats *st;
	pid_t pids[3];
	int ready[2];
	struct mirage_info_out in;

	st = mmap(NULL, sizeof(*st) * 3, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(st != MAP_FAILED);
	memset(st, 0, sizeof(*st) * 3);
	start_records_only("killed", 4096);
	CHECK(pipe(ready) == 0);
	for (int i = 0; i < 3; i++) {
		pids[i] = th_fork();
		if (pids[i] == 0) {
			close(ready[0]);
			reader("killed", &st[i], ready[1], i == 1);
			_exit(0);
		}
	}
	close(ready[1]);
	for (int i = 0; i < 3; i++) {
		char b;

		CHECK_EQ(read(ready[0], &b, 1), 1);
	}
	close(ready[0]);
	th_raw_info(mirage_driver_socket_path(srv.drv), &in);
	CHECK_EQ(in.consumers, 3);

	/* Feed the victim until it is reading, then kill it in the middle. */
	for (uint64_t k = 0; k < 20000; k += 100) {
		post_numbered(k, k + 100);
		th_sleep_ms(1);
	}
	CHECK(st[2].accepted > 0);
	post_numbered(20000, 20500);
	kill(pids[2], SIGKILL);
	CHECK(!th_exited_ok(th_wait_child(pids[2], 5000)));

	post_numbered(20500, 60000);
	/* The producer noticed: one consumer fewer, and it still serves. */
	for (int i = 0; i < 300; i++) {
		th_raw_info(mirage_driver_socket_path(srv.drv), &in);
		if (in.consumers == 2)
			break;
		th_sleep_ms(10);
	}
	CHECK_EQ(in.consumers, 2);
	th_good_client("killed");
	/* Paced, so the survivors keep up and see the very last record. */
	for (uint64_t k = 60000; k < 61000; k += 100) {
		post_numbered(k, k + 100);
		th_sleep_ms(1);
	}
	for (int i = 0; i < 5000 && (st[0].last_k != 60999 || st[1].last_k != 60999); i++)
		th_sleep_ms(1);
	th_server_stop(&srv);
	for (int i = 0; i < 2; i++) {
		CHECK(th_exited_ok(th_wait_child(pids[i], 20000)));
		CHECK(st[i].saw_off);
		CHECK_EQ(st[i].last_k, 60999); /* saw the very last record */
	}
	munmap(st, sizeof(*st) * 3);
}

/* ------------------------------------------------------------------ */
/* A producer that goes away                                           */
/* ------------------------------------------------------------------ */

static uint32_t pixel_at(int x, int y)
{
	return (uint32_t)(x * 7 + y * 131) & 0xffffffu;
}

/* mirage_client_wait in a thread of its own: its result, how long it took
 * and how often the thread went to sleep (voluntary context switches). */
struct timed_wait {
	struct mirage_client *c;
	int timeout_ms;
	int ret;
	double ms;
	long sleeps;
};

static long thread_sleeps(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void *timed_wait(void *arg)
{
	struct timed_wait *tw = arg;
	long n0 = thread_sleeps();
	uint64_t t0 = th_now_ns();

	tw->ret = mirage_client_wait(tw->c, tw->timeout_ms);
	tw->ms = (double)(th_now_ns() - t0) / 1e6;
	tw->sleeps = thread_sleeps() - n0;
	return NULL;
}

/* The producer process: serves until told to exit (or killed). */
static void producer(int cmd_fd, int ready_fd)
{
	struct mirage_driver_config cfg;
	struct mirage_driver_impl impl = { .name = "gone" };
	struct mirage_driver *d = NULL;
	uint8_t *px;
	uint32_t stride;

	th_config(&cfg, "gone", 64, 32);
	cfg.settings.bootup = 1;
	CHECK_EQ(mirage_driver_create(&d, &cfg, &impl), 0);
	px = mirage_driver_pixels(d);
	stride = mirage_driver_surface(d)->stride;
	for (int y = 0; y < 32; y++)
		for (int x = 0; x < 64; x++)
			memcpy(px + (size_t)y * stride + (size_t)x * 4, &(uint32_t){ pixel_at(x, y) }, 4);
	mirage_driver_post_rect(d, MIRAGE_REC_BLIT, 0, 0, 64, 32);
	mirage_driver_publish(d);
	CHECK(write(ready_fd, "p", 1) == 1);
	for (;;) {
		char c;
		ssize_t n;

		CHECK_EQ(mirage_driver_dispatch(d), 0);
		n = read(cmd_fd, &c, 1);
		if (n == 1 && c == 'x')
			break;
		th_sleep_ms(1);
	}
	mirage_driver_destroy(d);
	_exit(0);
}

static void producer_exits(bool clean)
{
	int cmd[2], ready[2];
	struct mirage_client *c = NULL;
	struct mirage_record recs[16];
	const uint8_t *px;
	uint32_t stride, count;
	pid_t pid;
	char b;
	int r, status;

	CHECK(pipe2(cmd, O_NONBLOCK) == 0);
	CHECK(pipe(ready) == 0);
	pid = th_fork();
	if (pid == 0) {
		close(cmd[1]);
		close(ready[0]);
		producer(cmd[0], ready[1]);
	}
	close(cmd[0]);
	close(ready[1]);
	CHECK_EQ(read(ready[0], &b, 1), 1);
	close(ready[0]);

	CHECK_EQ(mirage_client_connect(&c, "gone"), 0);
	CHECK(mirage_client_connected(c));
	/* Records so far (the client starts at the current counter; nothing to wait for). */
	CHECK(mirage_client_poll(c, recs, 16, &count) >= 0);

	if (clean) {
		CHECK(write(cmd[1], "x", 1) == 1);
		status = th_wait_child(pid, 5000);
		CHECK(th_exited_ok(status));
	} else {
		/* A waiter learns of a killed producer at once: nothing
		 * publishes, only the library's watcher sees the hang-up. */
		struct timed_wait tw = { .c = c, .timeout_ms = 10000 };
		pthread_t th;

		CHECK_EQ(pthread_create(&th, NULL, timed_wait, &tw), 0);
		th_sleep_ms(100);
		kill(pid, SIGKILL);
		status = th_wait_child(pid, 5000);
		CHECK(WIFSIGNALED(status));
		CHECK_EQ(pthread_join(th, NULL), 0);
		CHECK_EQ(tw.ret, -ENOTCONN);
		if (tw.ms >= 2000)
			fprintf(stderr, "the waiter took %.0f ms to notice\n", tw.ms);
		CHECK(tw.ms < 2000);
	}
	close(cmd[1]);

	/* The mapping outlives the producer. */
	px = mirage_client_pixels(c);
	stride = mirage_client_surface(c)->stride;
	CHECK(px != NULL);
	for (int y = 0; y < 32; y++) {
		for (int x = 0; x < 64; x++) {
			uint32_t v;

			memcpy(&v, px + (size_t)y * stride + (size_t)x * 4, 4);
			CHECK_EQ(v, pixel_at(x, y));
		}
	}
	CHECK(!mirage_client_connected(c));
	if (clean) {
		/* A clean exit says so: ASSERT_OFF, the ring marked retired. */
		r = mirage_client_poll(c, recs, 16, &count);
		CHECK_EQ(r, MIRAGE_POLL_OFF);
		CHECK(count >= 1);
		CHECK_EQ(recs[count - 1].type, MIRAGE_REC_ASSERT_OFF);
		CHECK(mirage_client_ring(c)->flags & MIRAGE_RING_RETIRED);
	} else {
		r = mirage_client_poll(c, recs, 16, &count);
		CHECK_EQ(r, MIRAGE_POLL_OK);
		CHECK_EQ(count, 0);
	}
	CHECK(mirage_client_test(c) < 0);
	/*
	 * Nothing left to poll (the ASSERT_OFF, if any, was taken) and no
	 * producer: waiting must say so, not report something to poll.
	 */
	r = mirage_client_wait(c, 200);
	if (r != -ENOTCONN)
		fprintf(stderr, "wait after the producer left returned %d, want -ENOTCONN\n", r);
	CHECK_EQ(r, -ENOTCONN);
	/* Reconnecting to a mirror that is gone fails. */
	CHECK(mirage_client_reconnect(c) < 0);
	mirage_client_destroy(c);
}

static void test_producer_exits_cleanly(void)
{
	producer_exits(true);
}

static void test_producer_killed(void)
{
	producer_exits(false);
}

/* ------------------------------------------------------------------ */
/* Resize, cursor, monitors, wait                                      */
/* ------------------------------------------------------------------ */

static void start_surface(const char *name, int32_t w, int32_t h)
{
	struct mirage_driver_config cfg;

	th_config(&cfg, name, w, h);
	cfg.settings.bootup = 1;
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
}

static void test_resize(void)
{
	struct mirage_client *c = NULL;
	struct mirage_record recs[64];
	uint32_t count, gen;
	int r;

	start_surface("resize", 320, 240);
	CHECK_EQ(mirage_client_connect(&c, "resize"), 0);
	gen = mirage_client_surface(c)->generation;
	CHECK_EQ(mirage_client_surface(c)->width, 320);
	CHECK_EQ(mirage_client_test_mapped(c), 0);

	th_server_lock(&srv);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 0, 0, 10, 10);
	CHECK_EQ(mirage_driver_resize(srv.drv, 640, 400, 16), 0);
	CHECK_EQ(mirage_driver_surface(srv.drv)->width, 640);
	th_server_unlock(&srv);

	/* The old pipe ends with ASSERT_OFF, after what was posted before it. */
	r = mirage_client_poll(c, recs, 64, &count);
	CHECK_EQ(r, MIRAGE_POLL_OFF);
	CHECK_EQ(count, 2);
	CHECK_EQ(recs[0].type, MIRAGE_REC_BLIT);
	CHECK_EQ(recs[1].type, MIRAGE_REC_ASSERT_OFF);
	CHECK(mirage_client_ring(c)->flags & MIRAGE_RING_RETIRED);
	CHECK(mirage_client_test_mapped(c) < 0); /* our mapping is stale */

	CHECK_EQ(mirage_client_reconnect(c), 0);
	CHECK_EQ(mirage_client_surface(c)->generation, gen + 1);
	CHECK_EQ(mirage_client_ring(c)->generation, gen + 1);
	CHECK_EQ(mirage_client_surface(c)->width, 640);
	CHECK_EQ(mirage_client_surface(c)->height, 400);
	CHECK_EQ(mirage_client_surface(c)->bpp, 16);
	CHECK_EQ(mirage_client_surface(c)->stride, 1280);
	CHECK_EQ(mirage_client_test_mapped(c), 0);
	CHECK_EQ(mirage_client_position(c), mirage_client_ring(c)->counter);

	/* And the new pipe carries records. */
	th_server_lock(&srv);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 600, 380, 700, 500);
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);
	CHECK_EQ(mirage_client_poll(c, recs, 64, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 1);
	CHECK_EQ(recs[0].rect.right, 640);
	CHECK_EQ(recs[0].rect.bottom, 400);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void test_cursor(void)
{
	struct mirage_client *c = NULL;
	struct mirage_cursor cur;
	struct mirage_record recs[16];
	static uint32_t argb[48 * 40], got[MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX];
	uint32_t count, serial;

	start_surface("cursor", 320, 240);
	CHECK_EQ(mirage_client_connect(&c, "cursor"), 0);
	CHECK_EQ(mirage_client_cursor(c, &cur, NULL, 0), 0);
	serial = cur.serial;

	for (uint32_t i = 0; i < 48 * 40; i++)
		argb[i] = 0x80000000u | (i * 2654435761u >> 8);
	th_server_lock(&srv);
	CHECK_EQ(mirage_driver_set_cursor_shape(srv.drv, 48, 40, 5, 7, argb), 0);
	mirage_driver_set_cursor_position(srv.drv, 100, 50, true);
	/* Too big: refused, the shape stays. */
	CHECK(mirage_driver_set_cursor_shape(srv.drv, MIRAGE_CURSOR_MAX + 1, 4, 0, 0, got) < 0);
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);

	memset(got, 0, sizeof(got));
	CHECK_EQ(mirage_client_cursor(c, &cur, got, ARRAY_LEN(got)), 0);
	CHECK(cur.serial != serial);
	CHECK_EQ(cur.serial % 2, 0);
	CHECK(cur.visible);
	CHECK_EQ(cur.width, 48);
	CHECK_EQ(cur.height, 40);
	CHECK_EQ(cur.hot_x, 5);
	CHECK_EQ(cur.hot_y, 7);
	CHECK_EQ(cur.x, 100);
	CHECK_EQ(cur.y, 50);
	CHECK(!memcmp(got, argb, sizeof(argb)));
	/* Not enough room for the pixels. */
	CHECK_EQ(mirage_client_cursor(c, &cur, got, 48 * 40 - 1), -ENOSPC);

	CHECK_EQ(mirage_client_poll(c, recs, 16, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 2);
	CHECK_EQ(recs[0].type, MIRAGE_REC_PTR_SHAPE);
	CHECK_EQ(recs[0].point.x, 5);
	CHECK_EQ(recs[0].point.y, 7);
	CHECK_EQ(recs[1].type, MIRAGE_REC_PTR_ENGAGE);

	/* The POINTER_SHAPE escape reports the same. */
	{
		int fd = th_raw_open(mirage_driver_socket_path(srv.drv));
		struct th_reply r;
		struct mirage_pointer_out po;

		th_raw_call(fd, MIRAGE_ESC_POINTER_SHAPE, NULL, 0, &r);
		CHECK_EQ(r.hdr.status, 1);
		CHECK_EQ(r.payload_len, sizeof(po));
		memcpy(&po, r.payload, sizeof(po));
		CHECK_EQ(po.serial, cur.serial);
		CHECK_EQ(po.width, 48);
		CHECK_EQ(po.hot_y, 7);
		CHECK_EQ(po.x, 100);
		CHECK_EQ(po.visible, 1);
		close(fd);
	}
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void test_monitors(void)
{
	struct mirage_client *c = NULL;
	struct mirage_monitor mons[MIRAGE_MONITORS_MAX], in[2];

	start_surface("monitors", 3000, 1000);
	CHECK_EQ(mirage_client_connect(&c, "monitors"), 0);
	memset(in, 0, sizeof(in));
	in[0].rect = (struct mirage_rect){ 0, 0, 1920, 1080 }; /* clipped to 1000 lines */
	in[0].flags = MIRAGE_MONITOR_PRIMARY;
	strcpy(in[0].name, "DUMMY0");
	in[1].rect = (struct mirage_rect){ 1920, 0, 3000, 800 };
	strcpy(in[1].name, "DUMMY1");
	th_server_lock(&srv);
	CHECK_EQ(mirage_driver_set_monitors(srv.drv, in, 2), 0);
	CHECK(mirage_driver_set_monitors(srv.drv, in, MIRAGE_MONITORS_MAX + 1) < 0);
	th_server_unlock(&srv);
	CHECK_EQ(mirage_client_monitors(c, mons), 2);
	CHECK_EQ(mons[0].rect.bottom, 1000);
	CHECK_EQ(mons[0].flags, MIRAGE_MONITOR_PRIMARY);
	CHECK_STR(mons[0].name, "DUMMY0");
	CHECK(!memcmp(&mons[1].rect, &in[1].rect, sizeof(in[1].rect)));
	CHECK_STR(mons[1].name, "DUMMY1");
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

/*
 * The pixel sequence (PROTOCOL.md 5.5): a read is exact only when the
 * producer keeps the sequence, nothing published is left unread and no
 * drawing started past the records during the read.
 */
static void test_pixels_seq(void)
{
	struct mirage_client *c = NULL;
	struct mirage_record recs[16];
	uint32_t count;
	int64_t t;

	start_surface("pixseq", 320, 240);
	CHECK_EQ(mirage_client_connect(&c, "pixseq"), 0);
	CHECK_EQ(mirage_client_poll(c, recs, 16, &count), MIRAGE_POLL_OK);
	/* A producer that never said it keeps the sequence: never exact. */
	t = mirage_client_pixels_begin(c);
	CHECK(t < 0);
	CHECK(!mirage_client_pixels_exact(c, t));

	th_server_lock(&srv);
	mirage_driver_pixels_synced(srv.drv);
	th_server_unlock(&srv);
	CHECK(mirage_client_surface(c)->flags & MIRAGE_SURFACE_PIXELS_SEQ);
	t = mirage_client_pixels_begin(c);
	CHECK(t >= 0);
	CHECK(mirage_client_pixels_exact(c, t));

	/* Drawing starts during the read. */
	t = mirage_client_pixels_begin(c);
	CHECK(t >= 0);
	th_server_lock(&srv);
	mirage_driver_pixels_ahead(srv.drv);
	mirage_driver_pixels_ahead(srv.drv); /* already ahead: no change */
	th_server_unlock(&srv);
	CHECK(!mirage_client_pixels_exact(c, t));
	CHECK_EQ(mirage_client_surface(c)->pixels_seq % 2, 1);
	/* ... and goes on: a read now cannot be exact either. */
	CHECK(mirage_client_pixels_begin(c) < 0);

	/* Its records published and the sequence even, but not read yet. */
	th_server_lock(&srv);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 0, 0, 10, 10);
	mirage_driver_publish(srv.drv);
	mirage_driver_pixels_synced(srv.drv);
	th_server_unlock(&srv);
	CHECK_EQ(mirage_client_surface(c)->pixels_seq % 2, 0);
	CHECK(mirage_client_pixels_begin(c) < 0);
	CHECK_EQ(mirage_client_poll(c, recs, 16, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 1);
	t = mirage_client_pixels_begin(c);
	CHECK(t >= 0);
	CHECK(mirage_client_pixels_exact(c, t));

	/* A whole draw-and-publish during the read changes the sequence too. */
	th_server_lock(&srv);
	mirage_driver_pixels_ahead(srv.drv);
	mirage_driver_pixels_synced(srv.drv);
	th_server_unlock(&srv);
	CHECK(!mirage_client_pixels_exact(c, t));

	/* A new pipe starts without the sequence. */
	th_server_lock(&srv);
	CHECK_EQ(mirage_driver_resize(srv.drv, 200, 100, 32), 0);
	th_server_unlock(&srv);
	CHECK_EQ(mirage_client_poll(c, recs, 16, &count), MIRAGE_POLL_OFF);
	CHECK_EQ(mirage_client_reconnect(c), 0);
	CHECK_EQ(mirage_client_surface(c)->flags, 0);
	CHECK(mirage_client_pixels_begin(c) < 0);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void test_wait(void)
{
	struct mirage_client *c = NULL;
	uint64_t t0;
	pid_t pid;
	int r, ready[2];
	char b;

	start_surface("wait", 64, 64);
	CHECK_EQ(mirage_client_connect(&c, "wait"), 0);
	t0 = th_now_ns();
	CHECK_EQ(mirage_client_wait(c, 50), 0);
	CHECK(th_now_ns() - t0 >= 40 * 1000000ull);

	/* Two waiters, one in another process, both woken by one publish. */
	CHECK(pipe(ready) == 0);
	pid = th_fork();
	if (pid == 0) {
		struct mirage_client *k = NULL;

		CHECK_EQ(mirage_client_connect(&k, "wait"), 0);
		CHECK(write(ready[1], "w", 1) == 1);
		CHECK_EQ(mirage_client_wait(k, 5000), 1);
		mirage_client_destroy(k);
		_exit(0);
	}
	CHECK_EQ(read(ready[0], &b, 1), 1);
	close(ready[0]);
	close(ready[1]);
	th_sleep_ms(50);
	th_server_lock(&srv);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 0, 0, 1, 1);
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);
	r = mirage_client_wait(c, 5000);
	CHECK_EQ(r, 1);
	CHECK(th_exited_ok(th_wait_child(pid, 5000)));
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

/*
 * An idle wait sleeps once (no looks at the producer now and then), and
 * mirage_client_wake ends a wait in another thread, or else the next one.
 */
static void test_wait_idle_and_wake(void)
{
	struct mirage_client *c = NULL;
	struct timed_wait tw;
	pthread_t th;
	uint64_t t0;

	start_surface("idle", 64, 64);
	CHECK_EQ(mirage_client_connect(&c, "idle"), 0);

	tw = (struct timed_wait){ .c = c, .timeout_ms = 1500 };
	CHECK_EQ(pthread_create(&th, NULL, timed_wait, &tw), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(tw.ret, 0);
	CHECK(tw.ms >= 1400);
	if (tw.sleeps > 2)
		fprintf(stderr, "an idle 1.5 s wait slept %ld times\n", tw.sleeps);
	CHECK(tw.sleeps >= 1 && tw.sleeps <= 2);

	tw = (struct timed_wait){ .c = c, .timeout_ms = 10000 };
	CHECK_EQ(pthread_create(&th, NULL, timed_wait, &tw), 0);
	th_sleep_ms(100);
	mirage_client_wake(c);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(tw.ret, 0);
	CHECK(tw.ms < 5000);

	/* Before the wait: the next one returns at once, that one only. */
	mirage_client_wake(c);
	t0 = th_now_ns();
	CHECK_EQ(mirage_client_wait(c, 5000), 0);
	CHECK(th_now_ns() - t0 < 1000 * 1000000ull);
	t0 = th_now_ns();
	CHECK_EQ(mirage_client_wait(c, 50), 0);
	CHECK(th_now_ns() - t0 >= 40 * 1000000ull);

	/* Records still win over a wake-up. */
	th_server_lock(&srv);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 0, 0, 1, 1);
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);
	mirage_client_wake(c);
	CHECK_EQ(mirage_client_wait(c, 5000), 1);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void count_listed(const char *name, const char *path, void *data)
{
	if (strcmp(name, "listed") == 0 && strstr(path, "/listed.sock"))
		++*(int *)data;
}

static void test_list(void)
{
	int n, found = 0;

	start_surface("listed", 16, 16);
	n = mirage_list_mirrors(count_listed, &found);
	CHECK(n >= 1);
	CHECK_EQ(found, 1);
	th_server_stop(&srv);
}

/*
 * Resolving a mirror's socket and asking its versions without mapping:
 * what miragectl uses instead of a raw socket of its own.
 */
static void test_mirror_socket_and_version(void)
{
	char path[256], want[256], other[8];
	struct mirage_version_out v;

	start_surface("versioned", 16, 16);
	snprintf(want, sizeof(want), "%s/versioned.sock", th_dir());
	CHECK_EQ(mirage_mirror_socket("versioned", path, sizeof(path)), 0);
	CHECK_STR(path, want);
	/* A path is taken as it is; one longer than the buffer is refused. */
	CHECK_EQ(mirage_mirror_socket(want, path, sizeof(path)), 0);
	CHECK_STR(path, want);
	CHECK_EQ(mirage_mirror_socket(want, other, sizeof(other)), -ENAMETOOLONG);
	CHECK_EQ(mirage_mirror_socket("nope", path, sizeof(path)), -ENOENT);
	CHECK(strstr(mirage_last_error(), "\"nope\""));
	CHECK_EQ(mirage_mirror_socket("no/../", path, sizeof(path)), 0);
	CHECK_EQ(mirage_mirror_socket("a b", path, sizeof(path)), -EINVAL);

	memset(&v, 0xff, sizeof(v));
	CHECK_EQ(mirage_mirror_version("versioned", &v), 0);
	CHECK_EQ(v.server_version, (uint32_t)MIRAGE_PROTO_VERSION);
	CHECK_EQ(v.client_min_version, (uint32_t)MIRAGE_PROTO_MIN_COMPAT);
	memset(&v, 0xff, sizeof(v));
	CHECK_EQ(mirage_mirror_version(want, &v), 0);
	CHECK_EQ(v.server_version, (uint32_t)MIRAGE_PROTO_VERSION);
	CHECK_EQ(mirage_mirror_version("nope", &v), -ENOENT);
	CHECK(strstr(mirage_last_error(), "nope"));
	th_server_stop(&srv);
	/* A socket whose producer is gone. */
	CHECK(mirage_mirror_version(want, &v) < 0);
}

int main(void)
{
	th_init("client", 110);
	RUN(test_16_readers);
	RUN(test_reader_killed);
	RUN(test_producer_exits_cleanly);
	RUN(test_producer_killed);
	RUN(test_resize);
	RUN(test_cursor);
	RUN(test_monitors);
	RUN(test_pixels_seq);
	RUN(test_wait);
	RUN(test_wait_idle_and_wake);
	RUN(test_list);
	RUN(test_mirror_socket_and_version);
	return 0;
}
