/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's per-address failure throttle (src/tools/vnc/throttle.c),
 * apart from the servers that use it: the blacklist's arithmetic with the
 * time given, the table when it is full, the knobs and the log lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "throttle.h"
#include "vnc.h"

static char last_log[1024];
static int n_logs;

/* throttle.c logs through mirage-vnc's vnc_log: keep its last line. */
void vnc_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	n_logs++;
}

void vnc_debug(const char *fmt, ...)
{
	(void)fmt;
}

static struct vnc_throttle *make(int threshold, int timeout_ms)
{
	struct vnc_throttle_params p = { .threshold = threshold, .timeout_ms = timeout_ms };
	struct vnc_throttle *t;

	CHECK_EQ(vnc_throttle_create(&t, &p, "viewer"), 0);
	return t;
}

/* threshold failures block; each failure after a block doubles it. */
static void test_blacklist(void)
{
	struct vnc_throttle *t = make(3, 1000);
	int n;

	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 0, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 0, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 10, &n), 0);
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 20, NULL), 0);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 100, &n), 1000);
	CHECK_EQ(n, 3);
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 100, &n), 1000);
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 600, NULL), 500);
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 1100, NULL), 0);
	/* Another address is not touched. */
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.2", 600, &n), 0);
	CHECK_EQ(n, 0);
	/* A failure during the block (a connection let in before it) is
	 * neither counted nor extends it. */
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 500, &n), -1);
	CHECK_EQ(n, 3);
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 1099, NULL), 1);
	/* After the block, one try; failing it blocks twice as long, and so on. */
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 1100, &n), 2000);
	CHECK_EQ(n, 4);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 3100, NULL), 4000);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 7100, NULL), 8000);
	/* A success forgets everything: threshold failures again. */
	vnc_throttle_clear(t, "10.0.0.1");
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.0.0.1", 7200, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 7200, NULL), 0);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 7200, NULL), 0);
	CHECK_EQ(vnc_throttle_fail_at(t, "10.0.0.1", 7200, NULL), 1000);
	vnc_throttle_destroy(t);
	vnc_throttle_destroy(NULL);
}

/* The doubling stops at VNC_THROTTLE_MAX_MS instead of overflowing. */
static void test_cap(void)
{
	struct vnc_throttle *t = make(1, 1000);
	int64_t now = 0, block = 0;

	for (int i = 0; i < 100; i++) {
		block = vnc_throttle_fail_at(t, "::1", now, NULL);
		CHECK(block > 0 && block <= VNC_THROTTLE_MAX_MS);
		now += block;
	}
	CHECK_EQ(block, VNC_THROTTLE_MAX_MS);
	vnc_throttle_destroy(t);
}

/* A full table makes room with the unblocked address that failed longest
 * ago; blocked ones stay while there is such an address. */
static void test_full(void)
{
	struct vnc_throttle *t = make(2, 1000000);
	char addr[32];

	CHECK_EQ(vnc_throttle_fail_at(t, "blocked", 0, NULL), 0);
	CHECK_EQ(vnc_throttle_fail_at(t, "blocked", 0, NULL), 1000000);
	for (int i = 0; i < 3 * VNC_THROTTLE_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
		CHECK_EQ(vnc_throttle_fail_at(t, addr, 1 + i, NULL), 0);
	}
	CHECK(vnc_throttle_blocked_at(t, "blocked", 5000, NULL) > 0);
	/* The most recent ones are still there: a second failure blocks. */
	snprintf(addr, sizeof(addr), "10.1.%d.%d", (3 * VNC_THROTTLE_ADDRS - 1) / 256,
		 (3 * VNC_THROTTLE_ADDRS - 1) % 256);
	CHECK_EQ(vnc_throttle_fail_at(t, addr, 6000, NULL), 1000000);
	/* The oldest was replaced: it starts from one failure. */
	CHECK_EQ(vnc_throttle_fail_at(t, "10.1.0.0", 6000, NULL), 0);

	/* All blocked: the block that ends first gives way. */
	vnc_throttle_destroy(t);
	t = make(1, 1000000);
	for (int i = 0; i < VNC_THROTTLE_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "10.2.%d.%d", i / 256, i % 256);
		CHECK(vnc_throttle_fail_at(t, addr, i, NULL) > 0);
	}
	CHECK(vnc_throttle_fail_at(t, "new", VNC_THROTTLE_ADDRS, NULL) > 0);
	CHECK_EQ(vnc_throttle_blocked_at(t, "10.2.0.0", VNC_THROTTLE_ADDRS, NULL), 0);
	CHECK(vnc_throttle_blocked_at(t, "10.2.0.1", VNC_THROTTLE_ADDRS, NULL) > 0);
	vnc_throttle_destroy(t);
}

/* The logged calls say what happened, naming the address. */
static void test_log(void)
{
	struct vnc_throttle *t = make(2, 10000);

	CHECK(!vnc_throttle_refuse(t, "127.0.0.1"));
	n_logs = 0;
	vnc_throttle_fail(t, "127.0.0.1", "wrong password");
	CHECK_STR(last_log, "viewer 127.0.0.1: wrong password (failure 1)");
	vnc_throttle_fail(t, "127.0.0.1", "wrong password");
	CHECK_STR(last_log, "viewer 127.0.0.1: wrong password (failure 2): blocked for 10 s");
	CHECK(vnc_throttle_refuse(t, "127.0.0.1"));
	CHECK(strncmp(last_log, "viewer 127.0.0.1 refused: blocked for ", 38) == 0);
	CHECK(strstr(last_log, " s more after 2 failures"));
	/* Only the first refusal of a block is logged. */
	CHECK(vnc_throttle_refuse(t, "127.0.0.1"));
	CHECK_EQ(n_logs, 3);
	vnc_throttle_fail(t, "127.0.0.1", "wrong password");
	CHECK_STR(last_log, "viewer 127.0.0.1: wrong password (already blocked)");
	CHECK_EQ(n_logs, 4);
	CHECK(!vnc_throttle_refuse(t, "127.0.0.2"));
	CHECK_EQ(n_logs, 4);
	vnc_throttle_destroy(t);
}

/* The knobs: defaults, values, and a one-line error naming the variable. */
static void test_env(void)
{
	struct vnc_throttle_params p;

	unsetenv("MIRAGE_VNC_BLACKLIST_THRESHOLD");
	unsetenv("MIRAGE_VNC_BLACKLIST_TIMEOUT");
	CHECK_EQ(vnc_throttle_params_from_env(&p), 0);
	CHECK_EQ(p.threshold, 5);
	CHECK_EQ(p.timeout_ms, 10000);
	setenv("MIRAGE_VNC_BLACKLIST_THRESHOLD", "3", 1);
	setenv("MIRAGE_VNC_BLACKLIST_TIMEOUT", "1", 1);
	CHECK_EQ(vnc_throttle_params_from_env(&p), 0);
	CHECK_EQ(p.threshold, 3);
	CHECK_EQ(p.timeout_ms, 1000);
	const char *bad[] = { "", "0", "-1", "2x", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("MIRAGE_VNC_BLACKLIST_TIMEOUT", bad[i], 1);
		CHECK_EQ(vnc_throttle_params_from_env(&p), -EINVAL);
		CHECK(strncmp(last_log, "MIRAGE_VNC_BLACKLIST_TIMEOUT=", 29) == 0);
		CHECK(strstr(last_log, "expected seconds"));
	}
	unsetenv("MIRAGE_VNC_BLACKLIST_TIMEOUT");
	setenv("MIRAGE_VNC_BLACKLIST_THRESHOLD", "0", 1);
	CHECK_EQ(vnc_throttle_params_from_env(&p), -EINVAL);
	CHECK_STR(last_log, "MIRAGE_VNC_BLACKLIST_THRESHOLD=0: expected a number of failures, 1-1000");
	unsetenv("MIRAGE_VNC_BLACKLIST_THRESHOLD");
}

/* Threads failing and asking at once (run under ASan/UBSan in CI). */
static struct vnc_throttle *shared;

static void *hammer(void *arg)
{
	char addr[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(addr, sizeof(addr), "10.3.%d.%d", (int)(intptr_t)arg, i % 50);
		(void)vnc_throttle_fail_at(shared, addr, i, NULL);
		(void)vnc_throttle_blocked_at(shared, addr, i, NULL);
		if (i % 7 == 0)
			vnc_throttle_clear(shared, addr);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[4];

	shared = make(3, 100);
	for (intptr_t i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	vnc_throttle_destroy(shared);
}

int main(void)
{
	RUN(test_blacklist);
	RUN(test_cap);
	RUN(test_full);
	RUN(test_log);
	RUN(test_env);
	RUN(test_threads);
	return 0;
}
