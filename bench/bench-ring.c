/* SPDX-License-Identifier: MIT */
/*
 * Ring benchmarks (printed figures, never pass/fail):
 *  - records published per second by one producer with 0, 1 and 8 consumer
 *    processes polling, and with 8 consumers waiting on the futex;
 *  - wake-up latency of a waiting consumer (median, p99);
 *  - the producer's publish cost with and without a waiter.
 *
 * Usage: bench-ring [records]   (default 5000000)
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>
#include <mirage/driver.h>

#define NAME "bench-ring"
#define MAX_CONSUMERS 8
#define LAT_SAMPLES 2000

struct shared {
	atomic_uint ready;
	struct {
		uint64_t records, lost, wakeups;
	} c[MAX_CONSUMERS];
	/* latency run: publish time of record n, and the consumer's measured latency */
	uint64_t t_publish[LAT_SAMPLES + 8];
	uint64_t latency[LAT_SAMPLES + 8];
};

static struct shared *sh;
static struct mirage_driver_impl impl = { .name = "bench" };
static char dir[256];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-ring: %s: %s\n", what, mirage_last_error());
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static struct mirage_driver *create(uint32_t capacity)
{
	struct mirage_driver_config cfg;
	struct mirage_driver *d = NULL;

	mirage_driver_config_init(&cfg);
	cfg.name = NAME;
	cfg.width = 4096;
	cfg.height = 4096;
	cfg.capacity = capacity;
	cfg.settings.bootup = 1;
	cfg.settings.backing_mode = 0; /* records only: this measures the ring */
	if (mirage_driver_create(&d, &cfg, &impl) < 0)
		die("create");
	return d;
}

/* Consumer process: counts records until ASSERT_OFF. */
static void consumer(int id, bool wait, bool latency)
{
	struct mirage_client *c = NULL;
	struct mirage_record recs[512];
	uint64_t seen = 0;

	if (mirage_client_connect(&c, NAME) < 0)
		die("connect");
	atomic_fetch_add(&sh->ready, 1);
	for (;;) {
		uint64_t pos = mirage_client_position(c);
		uint32_t count = 0;
		int r = mirage_client_poll(c, recs, 512, &count);

		if (r < 0)
			die("poll");
		if (r == MIRAGE_POLL_LOST) {
			sh->c[id].lost++;
			continue;
		}
		if (latency && count) {
			uint64_t t = now_ns();

			for (uint32_t i = 0; i < count; i++) {
				uint64_t n = pos + i;

				if (recs[i].type == MIRAGE_REC_BLIT && n < LAT_SAMPLES + 8 &&
				    sh->t_publish[n])
					sh->latency[n] = t - sh->t_publish[n];
			}
		}
		sh->c[id].records += count;
		seen += count;
		if (r == MIRAGE_POLL_OFF)
			break;
		if (count == 0) {
			/*
			 * Retired with nothing left: a LOST may have skipped the
			 * ASSERT_OFF itself, and wait() keeps reporting the
			 * retired ring as something to poll.
			 */
			if (mirage_client_ring(c)->flags & MIRAGE_RING_RETIRED)
				break;
			if (wait) {
				sh->c[id].wakeups++;
				if (mirage_client_wait(c, 1000) < 0)
					break;
			} else {
				sched_yield();
			}
		}
	}
	(void)seen;
	mirage_client_destroy(c);
	_exit(0);
}

static void start_consumers(struct mirage_driver *d, pid_t *pids, int n, bool wait, bool latency)
{
	atomic_store(&sh->ready, 0);
	memset(sh->c, 0, sizeof(sh->c));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (pids[i] == 0)
			consumer(i, wait, latency);
	}
	while (atomic_load(&sh->ready) < (unsigned)n) {
		if (mirage_driver_dispatch(d) < 0)
			die("dispatch");
		usleep(200);
	}
	/* Let the last MAP reply reach its consumer. */
	for (int i = 0; i < 20; i++) {
		if (mirage_driver_dispatch(d) < 0)
			die("dispatch");
		usleep(500);
	}
}

static void reap(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
}

static void throughput(int consumers, bool wait, uint64_t records)
{
	struct mirage_driver *d = create(20000);
	pid_t pids[MAX_CONSUMERS];
	uint64_t t0, t1, got = 0, lost = 0;
	const uint32_t batch = 64;

	start_consumers(d, pids, consumers, wait, false);
	t0 = now_ns();
	for (uint64_t n = 0; n < records; n += batch) {
		for (uint32_t i = 0; i < batch; i++)
			mirage_driver_post_rect(d, MIRAGE_REC_BLIT, (int32_t)(i * 8), 0, (int32_t)(i * 8 + 8), 8);
		mirage_driver_publish(d);
	}
	t1 = now_ns();
	mirage_driver_destroy(d);
	reap(pids, consumers);
	for (int i = 0; i < consumers; i++) {
		got += sh->c[i].records;
		lost += sh->c[i].lost;
	}
	printf("  %d consumer%s %-8s %8.2f M records/s published", consumers,
	       consumers == 1 ? " " : "s", consumers ? (wait ? "waiting" : "polling") : "",
	       (double)records / ((double)(t1 - t0) / 1e9) / 1e6);
	if (consumers)
		printf("; consumers got %.1f%% of them on average, lost track %llu times",
		       100.0 * (double)got / (double)consumers / (double)records,
		       (unsigned long long)lost);
	printf("\n");
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000L };

	nanosleep(&ts, NULL);
}

/* One waiting consumer; the producer publishes one record at a time, paced. */
static void latency(bool with_waiter)
{
	struct mirage_driver *d = create(20000);
	pid_t pid;
	uint64_t cost[LAT_SAMPLES], lat[LAT_SAMPLES];
	unsigned nlat = 0;
	uint64_t seed = 12345;

	memset(sh->t_publish, 0, sizeof(sh->t_publish));
	memset(sh->latency, 0, sizeof(sh->latency));
	if (with_waiter)
		start_consumers(d, &pid, 1, true, true);
	for (unsigned i = 0; i < LAT_SAMPLES; i++) {
		uint64_t n = mirage_driver_counter(d), t0, t1;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* 200..1000 us apart: the consumer is asleep in the futex by then. */
		sleep_us(200 + (unsigned)((seed >> 33) % 800));
		mirage_driver_post_rect(d, MIRAGE_REC_BLIT, 0, 0, 1, 1);
		t0 = now_ns();
		if (n < LAT_SAMPLES + 8)
			sh->t_publish[n] = t0;
		mirage_driver_publish(d);
		t1 = now_ns();
		cost[i] = t1 - t0;
	}
	sleep_us(20000);
	mirage_driver_destroy(d);
	if (with_waiter)
		reap(&pid, 1);
	qsort(cost, LAT_SAMPLES, sizeof(cost[0]), cmp_u64);
	printf("  publish cost, %s: median %.0f ns, p99 %.0f ns\n",
	       with_waiter ? "a consumer waiting (FUTEX_WAKE)" : "no waiter        ",
	       (double)cost[LAT_SAMPLES / 2], (double)cost[LAT_SAMPLES * 99 / 100]);
	if (!with_waiter)
		return;
	for (unsigned i = 0; i < LAT_SAMPLES + 8; i++) {
		if (sh->latency[i] && nlat < LAT_SAMPLES)
			lat[nlat++] = sh->latency[i];
	}
	if (nlat == 0) {
		printf("  wake-up latency: no samples\n");
		return;
	}
	qsort(lat, nlat, sizeof(lat[0]), cmp_u64);
	printf("  wake-up latency (publish -> consumer has the record), %u samples: median %.1f us, p99 %.1f us\n",
	       nlat, (double)lat[nlat / 2] / 1e3, (double)lat[nlat * 99 / 100] / 1e3);
}

static void cleanup(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/" NAME ".sock", dir);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	uint64_t records = argc > 1 ? strtoull(argv[1], NULL, 0) : 5000000;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(dir, sizeof(dir), "/tmp/mirage-bench-XXXXXX");
	if (!mkdtemp(dir) || setenv("MIRAGE_DIR", dir, 1) < 0)
		return 1;
	atexit(cleanup);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("bench-ring: %llu records per run, batches of 64, capacity 20000, %ld CPUs\n",
	       (unsigned long long)records, cpus);
	throughput(0, false, records);
	throughput(1, false, records);
	throughput(8, false, records);
	throughput(8, true, records);
	latency(false);
	latency(true);
	return 0;
}
