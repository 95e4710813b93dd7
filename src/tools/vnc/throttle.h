/* SPDX-License-Identifier: MIT */
/*
 * Per-address failure throttling, for VNC authentication (server.c) and
 * the HTTP server (http.c): TigerVNC's blacklist.
 *
 * After `threshold` failures an address is blocked for `timeout_ms`; once
 * the block is over it may try again, and each further failure blocks it
 * again for twice as long as the last time (at most VNC_THROTTLE_MAX_MS).
 * A success forgets the address.  Each user of the algorithm has a
 * throttle of its own: a stalled HTTP request does not lock a viewer out.
 *
 * The table holds VNC_THROTTLE_ADDRS addresses; a new one replaces the
 * one that failed longest ago among those not blocked (or, all being
 * blocked, the one whose block ends first).
 *
 * Threads: every call takes the throttle's own lock; any thread may call.
 * Times are CLOCK_MONOTONIC milliseconds (vnc_now_ms()).
 */
#ifndef MIRAGE_VNC_THROTTLE_H
#define MIRAGE_VNC_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#define VNC_THROTTLE_ADDRS 1024
#define VNC_THROTTLE_MAX_MS (3600 * 1000) /* the doubling stops at an hour */
#define VNC_THROTTLE_THRESHOLD 5          /* TigerVNC's BlacklistThreshold */
#define VNC_THROTTLE_TIMEOUT_S 10         /* TigerVNC's BlacklistTimeout */

struct vnc_throttle_params {
	int threshold;  /* failures before the first block, >= 1 */
	int timeout_ms; /* the first block, >= 1 */
};

struct vnc_throttle;

/*
 * The defaults, changed by $MIRAGE_VNC_BLACKLIST_THRESHOLD (failures) and
 * $MIRAGE_VNC_BLACKLIST_TIMEOUT (seconds) when set.  0, or -EINVAL with a
 * one-line message naming the variable.
 */
int vnc_throttle_params_from_env(struct vnc_throttle_params *p)
	__attribute__((warn_unused_result));

/*
 * A throttle whose messages start with `label` (e.g. "viewer", "http:";
 * not copied: a string literal).  0 or -ENOMEM.
 */
int vnc_throttle_create(struct vnc_throttle **out, const struct vnc_throttle_params *p,
			const char *label) __attribute__((warn_unused_result));
void vnc_throttle_destroy(struct vnc_throttle *t);

/*
 * The algorithm, with the time given (for the unit test).  blocked_at
 * returns how many ms addr stays blocked after now (0: it may try) and
 * sets *failures (may be NULL) to its count.  fail_at counts a failure
 * and returns the block it starts (0: none yet); a failure while blocked
 * (a connection let in before the block) neither extends nor counts: -1.
 */
int64_t vnc_throttle_blocked_at(struct vnc_throttle *t, const char *addr, int64_t now,
				int *failures);
int64_t vnc_throttle_fail_at(struct vnc_throttle *t, const char *addr, int64_t now,
			     int *failures);
/* A success: addr is forgotten. */
void vnc_throttle_clear(struct vnc_throttle *t, const char *addr);

/*
 * The same now, logged: refuse() is true when addr is blocked, and logs
 * "LABEL ADDR refused: blocked for N s more after N failures" (once per
 * block; later refusals only with -v); fail()
 * logs "LABEL ADDR: WHAT (failure N)" and, when that starts a block,
 * "LABEL ADDR blocked for N s".
 */
bool vnc_throttle_refuse(struct vnc_throttle *t, const char *addr);
void vnc_throttle_fail(struct vnc_throttle *t, const char *addr, const char *what);

int64_t vnc_now_ms(void);

#endif /* MIRAGE_VNC_THROTTLE_H */
