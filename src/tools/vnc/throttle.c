/* SPDX-License-Identifier: MIT */
/*
 * Per-address failure throttling (throttle.h): a small table searched
 * linearly.  It is consulted once per connection or failure, and a
 * thousand short string compares cost less than the accept() before them.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "throttle.h"
#include "log.h"

/* Longest numeric IPv6 address with a zone, as getnameinfo() writes it. */
#define ADDR_MAX 64

struct entry {
	char addr[ADDR_MAX];  /* "" when the slot is free */
	int failures;
	int64_t until;        /* blocked before this time */
	int64_t next_ms;      /* the block the next failure past the threshold starts */
	int64_t last;         /* the last failure */
	bool refusal_logged;  /* in the current block: later refusals are debug */
};

struct vnc_throttle {
	struct vnc_throttle_params p;
	const char *label;
	pthread_mutex_t lock; /* protects entries */
	struct entry entries[VNC_THROTTLE_ADDRS];
};

int64_t vnc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int env_int(const char *name, int min, int max, const char *unit, int *out)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end || errno || n < min || n > max) {
		vnc_log("%s=%s: expected %s, %d-%d", name, v, unit, min, max);
		return -EINVAL;
	}
	*out = (int)n;
	return 0;
}

int vnc_throttle_params_from_env(struct vnc_throttle_params *p)
{
	int timeout_s = VNC_THROTTLE_TIMEOUT_S;

	p->threshold = VNC_THROTTLE_THRESHOLD;
	if (env_int("MIRAGE_VNC_BLACKLIST_THRESHOLD", 1, 1000, "a number of failures",
		    &p->threshold) < 0 ||
	    env_int("MIRAGE_VNC_BLACKLIST_TIMEOUT", 1, VNC_THROTTLE_MAX_MS / 1000, "seconds",
		    &timeout_s) < 0)
		return -EINVAL;
	p->timeout_ms = timeout_s * 1000;
	return 0;
}

int vnc_throttle_create(struct vnc_throttle **out, const struct vnc_throttle_params *p,
			const char *label)
{
	struct vnc_throttle *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->p = *p;
	if (t->p.threshold < 1)
		t->p.threshold = 1;
	if (t->p.timeout_ms < 1)
		t->p.timeout_ms = 1;
	t->label = label;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

void vnc_throttle_destroy(struct vnc_throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* addr's entry, or NULL.  Under t->lock. */
static struct entry *find(struct vnc_throttle *t, const char *addr)
{
	for (int i = 0; i < VNC_THROTTLE_ADDRS; i++)
		if (t->entries[i].addr[0] && strcmp(t->entries[i].addr, addr) == 0)
			return &t->entries[i];
	return NULL;
}

/*
 * A slot for a new address: a free one, else the one not blocked that
 * failed longest ago (its few failures matter least), else the block
 * that ends first.  Under t->lock.
 */
static struct entry *take(struct vnc_throttle *t, const char *addr, int64_t now)
{
	struct entry *best = NULL;

	for (int i = 0; i < VNC_THROTTLE_ADDRS; i++) {
		struct entry *e = &t->entries[i];
		bool blocked = now < e->until, best_blocked;

		if (!e->addr[0]) {
			best = e;
			break;
		}
		if (!best) {
			best = e;
			continue;
		}
		best_blocked = now < best->until;
		if (blocked != best_blocked ? !blocked
					    : (blocked ? e->until < best->until : e->last < best->last))
			best = e;
	}
	*best = (struct entry){ .next_ms = t->p.timeout_ms };
	snprintf(best->addr, sizeof(best->addr), "%s", addr);
	return best;
}

int64_t vnc_throttle_blocked_at(struct vnc_throttle *t, const char *addr, int64_t now,
				int *failures)
{
	struct entry *e;
	int64_t left = 0;
	int n = 0;

	pthread_mutex_lock(&t->lock);
	e = find(t, addr);
	if (e) {
		n = e->failures;
		if (now < e->until)
			left = e->until - now;
	}
	pthread_mutex_unlock(&t->lock);
	if (failures)
		*failures = n;
	return left;
}

int64_t vnc_throttle_fail_at(struct vnc_throttle *t, const char *addr, int64_t now,
			     int *failures)
{
	struct entry *e;
	int64_t block = 0;

	pthread_mutex_lock(&t->lock);
	e = find(t, addr);
	if (!e)
		e = take(t, addr, now);
	if (now < e->until) {
		block = -1;
	} else {
		if (e->failures < INT_MAX)
			e->failures++;
		e->last = now;
		if (e->failures >= t->p.threshold) {
			block = e->next_ms;
			e->until = now + block;
			e->refusal_logged = false;
			e->next_ms = block * 2 < VNC_THROTTLE_MAX_MS ? block * 2 : VNC_THROTTLE_MAX_MS;
		}
	}
	if (failures)
		*failures = e->failures;
	pthread_mutex_unlock(&t->lock);
	return block;
}

void vnc_throttle_clear(struct vnc_throttle *t, const char *addr)
{
	struct entry *e;

	pthread_mutex_lock(&t->lock);
	e = find(t, addr);
	if (e)
		*e = (struct entry){ 0 };
	pthread_mutex_unlock(&t->lock);
}

/* Whole seconds, rounded up: "blocked for 0 s" would read as no block. */
static long long seconds(int64_t ms)
{
	return (long long)((ms + 999) / 1000);
}

bool vnc_throttle_refuse(struct vnc_throttle *t, const char *addr)
{
	int64_t now = vnc_now_ms(), left = 0;
	struct entry *e;
	int failures = 0;
	bool first = false;

	pthread_mutex_lock(&t->lock);
	e = find(t, addr);
	if (e && now < e->until) {
		left = e->until - now;
		failures = e->failures;
		first = !e->refusal_logged;
		e->refusal_logged = true;
	}
	pthread_mutex_unlock(&t->lock);
	if (left <= 0)
		return false;
	/* Once per block: a blocked client that keeps reconnecting does not
	 * fill the log. */
	if (first)
		vnc_log("%s %s refused: blocked for %lld s more after %d failures", t->label, addr,
			seconds(left), failures);
	else
		vnc_debug("%s %s refused: blocked for %lld s more", t->label, addr, seconds(left));
	return true;
}

void vnc_throttle_fail(struct vnc_throttle *t, const char *addr, const char *what)
{
	int failures;
	int64_t block = vnc_throttle_fail_at(t, addr, vnc_now_ms(), &failures);

	if (block < 0)
		vnc_log("%s %s: %s (already blocked)", t->label, addr, what);
	else if (block > 0)
		vnc_log("%s %s: %s (failure %d): blocked for %lld s", t->label, addr, what,
			failures, seconds(block));
	else
		vnc_log("%s %s: %s (failure %d)", t->label, addr, what, failures);
}
