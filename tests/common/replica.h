/* SPDX-License-Identifier: MIT */
/*
 * The consumer side of the drivers' integration tests (x11-check,
 * wl-check): a replica of the screen built only from a mirror's change
 * records.  BLIT areas are read from the surface; SCREEN_SCREEN records are
 * applied to the replica itself, so a copy with a wrong source, or a change
 * no record names, leaves the replica wrong where a test compares it with
 * the real screen.  One thread; the replica owns pix and dirty.
 */
#ifndef MIRAGE_TESTS_REPLICA_H
#define MIRAGE_TESTS_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include <mirage/client.h>

struct replica;

/* Called for every record before the replica applies it. */
typedef void (*replica_record_fn)(struct replica *r, const struct mirage_record *rec);
/* Called after a reconnect mapped a new pipe (its ASSERT_ON comes next). */
typedef void (*replica_pipe_fn)(struct replica *r);

struct replica {
	struct mirage_client *c;     /* set by the caller; not owned */
	uint8_t *pix;                /* the replica, in the surface's format */
	uint32_t stride, bpp;
	int32_t w, h;
	pixman_region32_t dirty;     /* named by records, not yet read from the surface */
	uint64_t copies, blits, lost, records;
	replica_record_fn on_record; /* NULL: none */
	replica_pipe_fn on_pipe;     /* NULL: none */
	/*
	 * false: a mirror that cannot be mapped again after ASSERT_OFF ends
	 * the process (status 1).  true: gone is set and each follow tries
	 * to map it again, for a mirror that comes back (--wait).
	 */
	bool survive_gone;
	bool gone;
};

/* Initializes r for the client c (connected); then replica_setup. */
void replica_init(struct replica *r, struct mirage_client *c);
/* Frees what the replica holds (not the client). */
void replica_finish(struct replica *r);
/* (Re)allocates the replica for the surface in force and marks it all dirty. */
int replica_setup(struct replica *r) __attribute__((warn_unused_result));
/* Follows the ring until it is empty and reads what it named; returns records seen. */
int replica_follow(struct replica *r);
/* Follows for `ms` milliseconds, sleeping on the ring between records. */
int replica_follow_for(struct replica *r, int ms);
/* CLOCK_MONOTONIC in seconds. */
double replica_now(void);
/* The pixel at p of a 16, 24 or 32 bpp buffer, as its raw value (xRGB for 24/32). */
uint32_t replica_pixel(const uint8_t *p, uint32_t bpp);
/* Writes the replica as a binary PPM (24 and 32 bpp surfaces); 0/-errno. */
int replica_write_ppm(const struct replica *r, const char *path) __attribute__((warn_unused_result));

#endif /* MIRAGE_TESTS_REPLICA_H */
