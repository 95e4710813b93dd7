/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing for libmirage's unit tests: a private MIRAGE_DIR, seeded
 * randomness, tracked child processes that die with the test, a driver
 * served by a background thread, and raw control-socket requests.
 *
 * Cleanup runs at exit and on abort/timeout (CHECK calls abort()), but only
 * in the process that called th_init(): a failing child never removes the
 * parent's directory.
 */
#ifndef MIRAGE_TEST_HARNESS_H
#define MIRAGE_TEST_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <mirage/client.h>
#include <mirage/driver.h>

#include "assert.h"

#ifndef ARRAY_LEN
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Makes a private mkdtemp directory, sets MIRAGE_DIR to it, installs the
 * cleanup handlers and arms a watchdog of timeout_s seconds.
 */
void th_init(const char *test, unsigned timeout_s);
const char *th_dir(void);

/* The seed: $MIRAGE_TEST_SEED if set, else from the clock.  Printed. */
uint64_t th_seed(const char *what);
/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
uint64_t th_rand(uint64_t *state);
uint32_t th_rand_range(uint64_t *state, uint32_t n); /* [0, n) */

uint64_t th_now_ns(void);
void th_sleep_ms(unsigned ms);

/* fork() whose child is SIGKILLed when the test ends, however it ends. */
pid_t th_fork(void);
/* Waits for a tracked child; returns its wait status, or -1 on timeout (it is then killed). */
int th_wait_child(pid_t pid, int timeout_ms);
/* True when status says "exited with 0". */
bool th_exited_ok(int status);

/* ------------------------------------------------------------------ */
/* A driver in this process, served by a pump thread                   */
/* ------------------------------------------------------------------ */

struct th_server {
	struct mirage_driver_impl impl; /* first: container_of */
	struct mirage_driver *drv;
	pthread_t thread;
	pthread_mutex_t lock;           /* held around every driver call */
	atomic_bool stop;
	atomic_bool started;            /* the pump thread is past its start-up */
	atomic_int attach_calls;
	atomic_int detach_calls;
	atomic_int settings_calls;
	atomic_int dispatch_errors;
	bool running;
};

/* Fills cfg with a small 32 bpp mirror named `name`. */
void th_config(struct mirage_driver_config *cfg, const char *name, int32_t w, int32_t h);
/* Creates the driver and starts the pump thread; returns mirage_driver_create's result. */
int th_server_start(struct th_server *s, const struct mirage_driver_config *cfg);
void th_server_lock(struct th_server *s);
void th_server_unlock(struct th_server *s);
/* Stops the pump and destroys the driver (posting ASSERT_OFF). */
void th_server_stop(struct th_server *s);

/* ------------------------------------------------------------------ */
/* Raw control-socket messages                                         */
/* ------------------------------------------------------------------ */

struct th_reply {
	struct mirage_msg hdr;
	uint8_t payload[MIRAGE_MSG_MAX_PAYLOAD + 64];
	size_t payload_len;  /* bytes received after the header */
	int fds[8];
	unsigned nfds;
};

/* A blocking SOCK_SEQPACKET connection to path; -errno on failure. */
int th_raw_connect(const char *path);
/* Sends exactly `len` bytes as one message. */
int th_raw_send_bytes(int fd, const void *buf, size_t len);
/* Sends header + payload; length is set to len. */
int th_raw_send(int fd, uint32_t code, uint32_t serial, const void *payload, size_t len);
/*
 * Receives one message (fds are kept in r and must be closed with
 * th_reply_close_fds).  Returns the bytes received, 0 on EOF, -ETIMEDOUT.
 */
ssize_t th_raw_recv(int fd, struct th_reply *r, int timeout_ms);
void th_reply_close_fds(struct th_reply *r);
/* Sends and receives; CHECKs that a reply with the same serial arrived. */
void th_raw_call(int fd, uint32_t code, const void *payload, size_t len, struct th_reply *r);
/* VERSION with our own versions; CHECKs success. */
void th_raw_negotiate(int fd);
/* Connects and negotiates. */
int th_raw_open(const char *path);
/* True when the peer closes the connection within timeout_ms (replies are skipped). */
bool th_raw_wait_closed(int fd, int timeout_ms);
/* The reply payload as a NUL-terminated string (error messages). */
const char *th_reply_text(struct th_reply *r);
/* INFO over a raw connection. */
void th_raw_info(const char *path, struct mirage_info_out *info);

/* A well-behaved client: connect, TEST, TEST_MAPPED, INFO, poll, destroy. */
void th_good_client(const char *mirror);

#endif
