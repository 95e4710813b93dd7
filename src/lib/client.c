/* SPDX-License-Identifier: MIT */
/* The consumer API: connect, map read-only, follow the ring, copy pixels. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

/* How long a control request may take before we give up on the producer. */
#define REQUEST_TIMEOUT_MS 10000

struct mirage_client {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	uint32_t serial;
	uint32_t server_version;
	struct mirage_pipe pipe;
	bool mapped;
	uint64_t pos;

	/*
	 * The watcher: a thread that sleeps in poll() on the control socket
	 * and on wake_fd, so that a waiter learns at once, with no periodic
	 * look, that the producer went away (GONE) or that
	 * mirage_client_wake() was called (WOKEN).  It runs while the pipe
	 * is mapped, from the first wait that blocks; `waiting` counts the
	 * threads inside mirage_ring_wait, which it wakes until they left.
	 */
	pthread_t watcher;
	bool watching;
	int wake_fd; /* eventfd */
	uint32_t events; /* EV_* */
	uint32_t waiting;
	uint32_t stop;
};

#define EV_GONE 1u
#define EV_WOKEN 2u

/*
 * EACCES on a mirror's socket or on its directory: mirrors are 0600
 * sockets in 0700 directories, so the mirror is another user's.  Says so,
 * naming the path, instead of "no mirror named".
 */
static int fail_foreign(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *slash;

	if (stat(path, &st) == 0)
		return mirage_fail(EACCES, "the mirror at %s belongs to another user (uid %u; we are uid %u): permission denied",
				   path, (unsigned)st.st_uid, (unsigned)geteuid());
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == 0)
			return mirage_fail(EACCES, "the mirror at %s belongs to another user (its directory %s is uid %u's; we are uid %u): permission denied",
					   path, dir, (unsigned)st.st_uid, (unsigned)geteuid());
	}
	return mirage_fail(EACCES, "the mirror at %s belongs to another user: permission denied", path);
}

/* Finds the socket of a mirror given by name or path. */
static int resolve(const char *mirror, char *path, size_t size)
{
	char dir[200];
	bool denied;
	int ret;

	if (strchr(mirror, '/')) {
		if (strlen(mirror) >= size)
			return mirage_fail(ENAMETOOLONG, "socket path %s is too long", mirror);
		snprintf(path, size, "%s", mirror);
		return 0;
	}
	if (!mirage_name_valid(mirror))
		return mirage_fail(EINVAL, "\"%s\" is not a valid mirror name", mirror);
	if ((ret = mirage_runtime_dir(dir, sizeof(dir), false)) < 0)
		return ret;
	if ((size_t)snprintf(path, size, "%s/%s.sock", dir, mirror) >= size)
		return mirage_fail(ENAMETOOLONG, "socket path %s/%s.sock is too long", dir, mirror);
	if (access(path, F_OK) == 0)
		return 0;
	denied = errno == EACCES;
	/* A producer without XDG_RUNTIME_DIR (an X server) uses the fallback. */
	if (!getenv("MIRAGE_DIR")) {
		char alt[sizeof(((struct sockaddr_un *)0)->sun_path)];
		snprintf(alt, sizeof(alt), "/tmp/mirage-%u/%s.sock", (unsigned)getuid(), mirror);
		if (access(alt, F_OK) == 0) {
			snprintf(path, size, "%s", alt);
			return 0;
		}
	}
	if (denied)
		return fail_foreign(path);
	return mirage_fail(ENOENT, "no mirror named \"%s\" (no %s)", mirror, path);
}

static int open_socket(struct mirage_client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REQUEST_TIMEOUT_MS / 1000 };

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return mirage_fail(errno, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(c->fd);
		c->fd = -1;
		if (err == EACCES)
			return fail_foreign(c->path);
		return mirage_fail(err, "connect %s: %s%s", c->path, strerror(err),
				   err == ECONNREFUSED ? " (the mirror's producer is gone)" : "");
	}
	/* A producer that stops answering must not hang us forever. */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

static const char *escape_name(uint32_t code)
{
	switch (code) {
	case MIRAGE_ESC_POINTER_SHAPE: return "pointer shape";
	case MIRAGE_ESC_VERSION: return "version query";
	case MIRAGE_ESC_PIPE_MAP: return "pipe map";
	case MIRAGE_ESC_PIPE_UNMAP: return "pipe unmap";
	case MIRAGE_ESC_TEST: return "test";
	case MIRAGE_ESC_TEST_MAPPED: return "mapping test";
	case MIRAGE_ESC_ATTACH: return "attach";
	case MIRAGE_ESC_DETACH: return "detach";
	case MIRAGE_ESC_SETTINGS_GET: return "settings get";
	case MIRAGE_ESC_SETTINGS_SET: return "settings set";
	case MIRAGE_ESC_INFO: return "info";
	default: return "request";
	}
}

/*
 * Sends one request and waits for its reply.  reply_len gets the payload
 * size; fds (if any) the descriptors that came with it.  An error reply
 * becomes the negative errno and the message in mirage_last_error().
 */
static int request(struct mirage_client *c, uint32_t code, const void *payload, size_t length,
		   void *out, size_t out_size, size_t *out_len, int *fds, unsigned max_fds,
		   unsigned *nfds)
{
	uint8_t buf[MIRAGE_MSG_MAX_SIZE];
	struct mirage_msg rep;
	unsigned got_fds = 0;
	int tmp_fds[4];
	ssize_t n;
	int ret;

	if (nfds)
		*nfds = 0;
	if (c->fd < 0)
		return mirage_fail(ENOTCONN, "%s: not connected to %s", escape_name(code), c->path);
	ret = mirage_send_msg(c->fd, code, ++c->serial, 0, payload, length, NULL, 0);
	if (ret == -EAGAIN)
		ret = -ETIMEDOUT;
	if (ret < 0 && ret != -EPIPE)
		return mirage_fail(-ret, "%s: sending to %s: %s", escape_name(code), c->path,
				   strerror(-ret));
	/*
	 * After EPIPE the producer has closed, but may have said why first (too
	 * many connections, another user's mirror): that reason, still queued,
	 * is the error to report.  The read cannot block on a closed peer.
	 */
	n = mirage_recv_msg(c->fd, buf, sizeof(buf), tmp_fds, ARRAY_LEN(tmp_fds), &got_fds);
	/*
	 * A producer that closed with our request unread makes the first read
	 * say ECONNRESET; a reason it sent before closing is queued behind.
	 */
	if (n == -ECONNRESET) {
		ssize_t again = mirage_recv_msg(c->fd, buf, sizeof(buf), tmp_fds,
						ARRAY_LEN(tmp_fds), &got_fds);
		if (again > 0)
			n = again;
	}
	if (n == -EAGAIN)
		n = -ETIMEDOUT;
	if (ret < 0) {
		if (n >= (ssize_t)sizeof(rep))
			memcpy(&rep, buf, sizeof(rep));
		if (n < (ssize_t)sizeof(rep) || rep.status >= 0) {
			for (unsigned i = 0; i < got_fds; i++)
				close(tmp_fds[i]);
			return mirage_fail(-ret, "%s: sending to %s: %s", escape_name(code),
					   c->path, strerror(-ret));
		}
	}
	if (n < 0)
		return mirage_fail((int)-n, "%s: no reply from %s: %s", escape_name(code), c->path,
				   strerror((int)-n));
	if (n == 0)
		return mirage_fail(ENOTCONN, "%s: %s closed the connection", escape_name(code), c->path);
	if ((size_t)n < sizeof(rep)) {
		ret = mirage_fail(EPROTO, "%s: short reply (%zd bytes)", escape_name(code), n);
		goto drop_fds;
	}
	memcpy(&rep, buf, sizeof(rep));
	if (rep.length != (size_t)n - sizeof(rep)) {
		ret = mirage_fail(EPROTO, "%s: reply length %u does not match its %zd bytes",
				  escape_name(code), rep.length, n);
		goto drop_fds;
	}
	if (rep.status < 0) {
		int len = (int)(rep.length > 300 ? 300 : rep.length);
		ret = mirage_fail(-rep.status, "%s: %.*s", escape_name(code), len,
				  (const char *)buf + sizeof(rep));
		goto drop_fds;
	}
	if (rep.serial != c->serial || (rep.code != code)) {
		ret = mirage_fail(EPROTO, "%s: reply is for another request", escape_name(code));
		goto drop_fds;
	}
	if (out) {
		size_t len = rep.length < out_size ? rep.length : out_size;
		memcpy(out, buf + sizeof(rep), len);
	}
	if (out_len)
		*out_len = rep.length;
	for (unsigned i = 0; i < got_fds; i++) {
		if (fds && i < max_fds)
			fds[i] = tmp_fds[i];
		else
			close(tmp_fds[i]);
	}
	if (nfds)
		*nfds = got_fds < max_fds ? got_fds : max_fds;
	return 0;

drop_fds:
	for (unsigned i = 0; i < got_fds; i++)
		close(tmp_fds[i]);
	return ret;
}

/*
 * One VERSION escape on an open connection: the producer's versions, as it
 * answered, whether or not they suit us (the producer has checked ours).
 */
static int query_version(struct mirage_client *c, struct mirage_version_out *out)
{
	struct mirage_version_in in = {
		.client_version = MIRAGE_PROTO_VERSION,
		.server_min_version = MIRAGE_PROTO_MIN_COMPAT,
	};
	size_t len = 0;
	int ret;

	ret = request(c, MIRAGE_ESC_VERSION, &in, sizeof(in), out, sizeof(*out), &len, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (len != sizeof(*out))
		return mirage_fail(EPROTO, "version query: reply of %zu bytes", len);
	return 0;
}

static int negotiate(struct mirage_client *c)
{
	struct mirage_version_out out;
	char a[32], b[32];
	int ret;

	if ((ret = query_version(c, &out)) < 0)
		return ret;
	/* The producer checked us; now we check it. */
	if (out.server_version < MIRAGE_PROTO_MIN_COMPAT)
		return mirage_fail(EPROTONOSUPPORT,
				   "mirror protocol %s is older than %s, the oldest this client (protocol %s) accepts",
				   mirage_version_format(out.server_version, a, sizeof(a)),
				   mirage_version_format(MIRAGE_PROTO_MIN_COMPAT, b, sizeof(b)),
				   mirage_version_format(MIRAGE_PROTO_VERSION, (char[32]){ 0 }, 32));
	if (MIRAGE_PROTO_VERSION < out.client_min_version)
		return mirage_fail(EPROTONOSUPPORT,
				   "client protocol %s is older than %s, the oldest the mirror (protocol %s) accepts",
				   mirage_version_format(MIRAGE_PROTO_VERSION, a, sizeof(a)),
				   mirage_version_format(out.client_min_version, b, sizeof(b)),
				   mirage_version_format(out.server_version, (char[32]){ 0 }, 32));
	c->server_version = out.server_version;
	return 0;
}

static int map_pipe(struct mirage_client *c)
{
	struct mirage_map_out m;
	int fds[3] = { -1, -1, -1 };
	unsigned nfds = 0;
	size_t len = 0;
	int ret;

	ret = request(c, MIRAGE_ESC_PIPE_MAP, NULL, 0, &m, sizeof(m), &len, fds, 3, &nfds);
	if (ret < 0)
		return ret;
	if (len != sizeof(m) || nfds != 3) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return mirage_fail(EPROTO, "pipe map: reply of %zu bytes with %u descriptors", len, nfds);
	}
	ret = mirage_pipe_map(&c->pipe, fds[0], fds[1], fds[2], &m);
	if (ret < 0)
		return ret; /* mirage_pipe_map closed the descriptors */
	c->mapped = true;
	/* Start from now: what came before is in the surface already. */
	c->pos = __atomic_load_n(&c->pipe.ring->counter, __ATOMIC_ACQUIRE);
	return 0;
}

static int connect_and_map(struct mirage_client *c)
{
	int ret;

	if ((ret = open_socket(c)) < 0)
		return ret;
	if ((ret = negotiate(c)) < 0 || (ret = map_pipe(c)) < 0) {
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	return 0;
}

MIRAGE_EXPORT int mirage_client_connect(struct mirage_client **out, const char *mirror)
{
	struct mirage_client *c;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return mirage_fail(ENOMEM, "out of memory");
	c->fd = -1;
	c->pipe.ring_fd = c->pipe.surface_fd = c->pipe.wait_fd = -1;
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		ret = mirage_fail(errno, "eventfd: %s", strerror(errno));
		free(c);
		return ret;
	}
	if ((ret = resolve(mirror, c->path, sizeof(c->path))) < 0 ||
	    (ret = connect_and_map(c)) < 0) {
		close(c->wake_fd);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

MIRAGE_EXPORT int mirage_mirror_socket(const char *mirror, char *path, size_t size)
{
	return resolve(mirror, path, size);
}

MIRAGE_EXPORT int mirage_mirror_version(const char *mirror, struct mirage_version_out *out)
{
	/* Only the socket part of a client: nothing is mapped, no watcher runs. */
	struct mirage_client c = { .fd = -1, .wake_fd = -1 };
	int ret;

	if ((ret = resolve(mirror, c.path, sizeof(c.path))) < 0)
		return ret;
	if ((ret = open_socket(&c)) < 0)
		return ret;
	ret = query_version(&c, out);
	close(c.fd);
	return ret;
}

/* Makes the watcher look at events and stop (async-signal-safe). */
static void poke_watcher(struct mirage_client *c)
{
	uint64_t one = 1;

	if (write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* cannot fail: the counter is far from its limit */
	}
}

static void stop_watcher(struct mirage_client *c)
{
	if (!c->watching)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	poke_watcher(c);
	pthread_join(c->watcher, NULL);
	__atomic_store_n(&c->stop, 0, __ATOMIC_SEQ_CST);
	c->watching = false;
}

static void unmap(struct mirage_client *c)
{
	/* The watcher wakes the ring and polls the socket: it goes first. */
	stop_watcher(c);
	__atomic_and_fetch(&c->events, ~EV_GONE, __ATOMIC_SEQ_CST);
	if (c->mapped)
		mirage_pipe_finish(&c->pipe);
	c->mapped = false;
}

MIRAGE_EXPORT void mirage_client_destroy(struct mirage_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0 && c->mapped) {
		/* Courtesy only: a producer also notices the close. */
		if (request(c, MIRAGE_ESC_PIPE_UNMAP, NULL, 0, NULL, 0, NULL, NULL, 0, NULL) < 0) {
			/* nothing to do: we are leaving anyway */
		}
	}
	unmap(c);
	if (c->fd >= 0)
		close(c->fd);
	close(c->wake_fd);
	free(c);
}

MIRAGE_EXPORT const struct mirage_surface_header *mirage_client_surface(const struct mirage_client *c)
{
	return c->pipe.surface;
}

MIRAGE_EXPORT const uint8_t *mirage_client_pixels(const struct mirage_client *c)
{
	return c->pipe.pixels;
}

MIRAGE_EXPORT int64_t mirage_client_pixels_begin(const struct mirage_client *c)
{
	const struct mirage_surface_header *h = c->pipe.surface;
	uint32_t seq;

	if (!c->mapped || !h)
		return -1;
	/* Acquire: an even value brings the pixels and the counter the
	 * producer had when it stored it. */
	seq = __atomic_load_n(&h->pixels_seq, __ATOMIC_ACQUIRE);
	if ((seq & 1u) || !(__atomic_load_n(&h->flags, __ATOMIC_RELAXED) & MIRAGE_SURFACE_PIXELS_SEQ))
		return -1;
	/* Records we have not consumed describe pixels we may read. */
	if (__atomic_load_n(&c->pipe.ring->counter, __ATOMIC_ACQUIRE) != c->pos)
		return -1;
	return seq;
}

MIRAGE_EXPORT bool mirage_client_pixels_exact(const struct mirage_client *c, int64_t token)
{
	if (token < 0 || !c->mapped)
		return false;
	/* The reads of the pixels before the second look at the sequence. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&c->pipe.surface->pixels_seq, __ATOMIC_RELAXED) == (uint32_t)token;
}

MIRAGE_EXPORT const struct mirage_ring_header *mirage_client_ring(const struct mirage_client *c)
{
	return c->pipe.ring;
}

MIRAGE_EXPORT uint32_t mirage_client_server_version(const struct mirage_client *c)
{
	return c->server_version;
}

MIRAGE_EXPORT uint64_t mirage_client_position(const struct mirage_client *c)
{
	return c->pos;
}

MIRAGE_EXPORT uint32_t mirage_client_rewind(struct mirage_client *c, uint32_t n)
{
	uint32_t half;

	if (!c->mapped)
		return 0;
	/* Further back than capacity/2 would only make the next poll say LOST. */
	half = c->pipe.ring->capacity / 2;
	if (n > half)
		n = half;
	if (n > c->pos)
		n = (uint32_t)c->pos;
	c->pos -= n;
	return n;
}

MIRAGE_EXPORT int mirage_client_poll(struct mirage_client *c, struct mirage_record *recs, uint32_t max,
				     uint32_t *count)
{
	*count = 0;
	if (!c->mapped)
		return mirage_fail(ENOTCONN, "poll: no pipe mapped (reconnect first)");
	if (max == 0)
		return MIRAGE_POLL_OK;
	return mirage_ring_read(&c->pipe, &c->pos, recs, max, count);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

MIRAGE_EXPORT bool mirage_client_connected(struct mirage_client *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (c->fd < 0)
		return false;
	if (poll(&pfd, 1, 0) < 0)
		return true;
	if (pfd.revents & (POLLHUP | POLLERR))
		return false;
	if (pfd.revents & POLLIN) {
		/* Replies are only read inside request(); pending data means EOF or junk. */
		char b;
		ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			return false;
	}
	return true;
}

/* While ev is set (a waiter takes EV_WOKEN), wakes the threads in
 * mirage_ring_wait until they have left: one may have been about to sleep
 * when ev was set, and not have seen it. */
static void wake_waiters(struct mirage_client *c, uint32_t ev)
{
	while (__atomic_load_n(&c->waiting, __ATOMIC_SEQ_CST) &&
	       (__atomic_load_n(&c->events, __ATOMIC_SEQ_CST) & ev)) {
		mirage_ring_wake(&c->pipe);
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 }, NULL);
	}
}

static void *watch(void *arg)
{
	struct mirage_client *c = arg;
	/* POLLIN is left out: a reply waiting for request() is not news. */
	struct pollfd p[2] = { { .fd = c->fd, .events = POLLRDHUP }, { .fd = c->wake_fd, .events = POLLIN } };

	for (;;) {
		uint64_t v;

		if (poll(p, 2, -1) < 0)
			continue; /* EINTR cannot happen (all signals blocked); ENOMEM: again */
		if (p[1].revents & POLLIN) {
			if (read(c->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: another reader was first; nothing lost */
			}
			if (__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
				return NULL;
			wake_waiters(c, EV_WOKEN);
		}
		if (p[0].revents) {
			/* Hang-up: the producer closed the connection or exited. */
			__atomic_or_fetch(&c->events, EV_GONE, __ATOMIC_SEQ_CST);
			wake_waiters(c, EV_GONE);
			p[0].fd = -1;
		}
	}
}

/* Starts the watcher (signals blocked, so the caller's handlers run
 * elsewhere).  False when it cannot: the caller then looks now and then. */
static bool start_watcher(struct mirage_client *c)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int ret;

	if (c->watching)
		return true;
	if (c->fd < 0 || pthread_attr_init(&attr) != 0)
		return false;
	pthread_attr_setstacksize(&attr, 64 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&c->watcher, &attr, watch, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	c->watching = ret == 0;
	return c->watching;
}

MIRAGE_EXPORT void mirage_client_wake(struct mirage_client *c)
{
	__atomic_or_fetch(&c->events, EV_WOKEN, __ATOMIC_SEQ_CST);
	poke_watcher(c);
}

static int gone(struct mirage_client *c)
{
	return mirage_fail(ENOTCONN, "wait: the producer of %s has gone away", c->path);
}

MIRAGE_EXPORT int mirage_client_wait(struct mirage_client *c, int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	/* Without a watcher, look at the connection now and then. */
	const int slice = 250;

	if (!c->mapped)
		return mirage_fail(ENOTCONN, "wait: no pipe mapped (reconnect first)");
	for (;;) {
		int left = -1, ret;
		uint32_t ev;

		if (timeout_ms >= 0) {
			int64_t rem = deadline - now_ms();
			if (rem <= 0)
				return 0;
			left = (int)rem;
		}
		/*
		 * A retired pipe whose records were all taken will never
		 * move: say why instead of sleeping (or spinning) on it.
		 */
		if ((__atomic_load_n(&c->pipe.ring->flags, __ATOMIC_ACQUIRE) & MIRAGE_RING_RETIRED) &&
		    __atomic_load_n(&c->pipe.ring->counter, __ATOMIC_ACQUIRE) == c->pos) {
			if (!mirage_client_connected(c))
				return gone(c);
			return mirage_fail(ESTALE, "wait: the pipe was retired; reconnect");
		}
		if (!start_watcher(c) && (left < 0 || left > slice))
			left = slice;
		/* Pairs with wake_waiters: it sets events, then reads waiting. */
		__atomic_add_fetch(&c->waiting, 1, __ATOMIC_SEQ_CST);
		ev = __atomic_load_n(&c->events, __ATOMIC_SEQ_CST);
		ret = ev ? 0 : mirage_ring_wait(&c->pipe, c->pos, left);
		__atomic_sub_fetch(&c->waiting, 1, __ATOMIC_SEQ_CST);
		if (ret > 0 || __atomic_load_n(&c->pipe.ring->counter, __ATOMIC_ACQUIRE) != c->pos)
			return 1;
		if (__atomic_fetch_and(&c->events, ~EV_WOKEN, __ATOMIC_SEQ_CST) & EV_WOKEN)
			return 0;
		if (ret == -EINTR)
			return 0; /* the caller may have a flag to look at */
		if ((__atomic_load_n(&c->events, __ATOMIC_SEQ_CST) & EV_GONE) ||
		    (!c->watching && !mirage_client_connected(c)))
			return gone(c);
	}
}

MIRAGE_EXPORT int mirage_client_reconnect(struct mirage_client *c)
{
	int ret;

	unmap(c);
	if (c->fd >= 0 && mirage_client_connected(c)) {
		ret = map_pipe(c);
		if (ret != -ENOTCONN && ret != -EPIPE && ret != -ECONNRESET)
			return ret;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	return connect_and_map(c);
}

/* ------------------------------------------------------------------ */
/* Regions and pixels                                                  */
/* ------------------------------------------------------------------ */

MIRAGE_EXPORT bool mirage_client_region_add(const struct mirage_client *c, pixman_region32_t *region,
					    const struct mirage_record *rec)
{
	const struct mirage_surface_header *s = c->pipe.surface;
	struct mirage_rect r = rec->rect;

	switch (rec->type) {
	case MIRAGE_REC_SCREEN_SCREEN:
	case MIRAGE_REC_BLIT:
	case MIRAGE_REC_SOLIDFILL:
	case MIRAGE_REC_TEXTOUT:
		break;
	default:
		return false;
	}
	if (r.left < 0)
		r.left = 0;
	if (r.top < 0)
		r.top = 0;
	if (r.right > s->width)
		r.right = s->width;
	if (r.bottom > s->height)
		r.bottom = s->height;
	if (r.left >= r.right || r.top >= r.bottom)
		return false;
	pixman_region32_union_rect(region, region, r.left, r.top,
				   (unsigned)(r.right - r.left), (unsigned)(r.bottom - r.top));
	return true;
}

MIRAGE_EXPORT void mirage_client_region_full(const struct mirage_client *c, pixman_region32_t *region)
{
	const struct mirage_surface_header *s = c->pipe.surface;

	pixman_region32_fini(region);
	pixman_region32_init_rect(region, 0, 0, (unsigned)s->width, (unsigned)s->height);
}

MIRAGE_EXPORT int64_t mirage_client_copy_region(const struct mirage_client *c, const pixman_region32_t *region,
						 uint8_t *dst, uint32_t dst_stride)
{
	const struct mirage_surface_header *s = c->pipe.surface;
	const uint8_t *src = c->pipe.pixels;
	uint32_t bypp, stride;
	const pixman_box32_t *boxes;
	pixman_region32_t clipped;
	int64_t total = 0;
	int n;

	if (!src)
		return mirage_fail(ENODATA, "copy: this mirror publishes no surface (backing mode 0)");
	bypp = s->bpp >> 3;
	stride = s->stride;
	if (dst_stride < (uint32_t)s->width * bypp)
		return mirage_fail(EINVAL, "copy: destination stride %u is below %u", dst_stride,
				   (uint32_t)s->width * bypp);

	pixman_region32_init_rect(&clipped, 0, 0, (unsigned)s->width, (unsigned)s->height);
	pixman_region32_intersect(&clipped, &clipped, (pixman_region32_t *)region);
	boxes = pixman_region32_rectangles(&clipped, &n);
	/*
	 * pixman keeps boxes in y-x banded order: boxes of one band share
	 * y1/y2.  Copying a band line by line, all its boxes per line, reads
	 * and writes each line once instead of once per box.
	 */
	for (int i = 0; i < n;) {
		int end = i + 1;

		while (end < n && boxes[end].y1 == boxes[i].y1)
			end++;
		if (end == i + 1 && (size_t)(boxes[i].x2 - boxes[i].x1) * bypp == (size_t)s->width * bypp &&
		    stride == dst_stride) {
			/* Whole lines with equal strides: one copy. */
			size_t bytes = (size_t)stride * (size_t)(boxes[i].y2 - boxes[i].y1);
			memcpy(dst + (size_t)boxes[i].y1 * dst_stride, src + (size_t)boxes[i].y1 * stride, bytes);
		} else {
			for (int y = boxes[i].y1; y < boxes[i].y2; y++) {
				const uint8_t *sl = src + (size_t)y * stride;
				uint8_t *dl = dst + (size_t)y * dst_stride;

				for (int b = i; b < end; b++) {
					size_t off = (size_t)boxes[b].x1 * bypp;
					memcpy(dl + off, sl + off, (size_t)(boxes[b].x2 - boxes[b].x1) * bypp);
				}
			}
		}
		for (int b = i; b < end; b++)
			total += (int64_t)(boxes[b].x2 - boxes[b].x1) * bypp * (boxes[b].y2 - boxes[b].y1);
		i = end;
	}
	pixman_region32_fini(&clipped);
	return total;
}

/* ------------------------------------------------------------------ */
/* Cursor and monitors                                                 */
/* ------------------------------------------------------------------ */

MIRAGE_EXPORT int mirage_client_cursor(const struct mirage_client *c, struct mirage_cursor *cursor,
				       uint32_t *argb, size_t max_pixels)
{
	const struct mirage_surface_header *s = c->pipe.surface;

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(&s->cursor_serial, __ATOMIC_ACQUIRE), s2;
		uint32_t w, h;

		if (s1 & 1)
			continue;
		w = s->cursor_width;
		h = s->cursor_height;
		if (w > MIRAGE_CURSOR_MAX || h > MIRAGE_CURSOR_MAX)
			continue; /* torn: the producer never stores these */
		cursor->serial = s1;
		cursor->width = w;
		cursor->height = h;
		cursor->hot_x = s->cursor_hot_x;
		cursor->hot_y = s->cursor_hot_y;
		if (argb) {
			if (max_pixels < (size_t)w * h)
				return mirage_fail(ENOSPC, "cursor: %ux%u pixels do not fit in %zu",
						   w, h, max_pixels);
			memcpy(argb, c->pipe.cursor, (size_t)w * h * 4);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&s->cursor_serial, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		cursor->visible = __atomic_load_n(&s->cursor_visible, __ATOMIC_ACQUIRE) != 0;
		cursor->x = __atomic_load_n(&s->cursor_x, __ATOMIC_RELAXED);
		cursor->y = __atomic_load_n(&s->cursor_y, __ATOMIC_RELAXED);
		return 0;
	}
	return mirage_fail(EAGAIN, "cursor: the shape kept changing while it was read");
}

MIRAGE_EXPORT int mirage_client_monitors(const struct mirage_client *c,
					 struct mirage_monitor monitors[MIRAGE_MONITORS_MAX])
{
	const struct mirage_surface_header *s = c->pipe.surface;

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(&s->monitor_serial, __ATOMIC_ACQUIRE);
		uint32_t n = s->monitor_count;

		if ((s1 & 1) || n > MIRAGE_MONITORS_MAX)
			continue;
		memcpy(monitors, s->monitors, n * sizeof(*monitors));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->monitor_serial, __ATOMIC_RELAXED) == s1)
			return (int)n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Control requests                                                    */
/* ------------------------------------------------------------------ */

MIRAGE_EXPORT int mirage_client_attach(struct mirage_client *c, uint32_t flags)
{
	struct mirage_attach_in in = { .flags = flags };

	return request(c, MIRAGE_ESC_ATTACH, &in, sizeof(in), NULL, 0, NULL, NULL, 0, NULL);
}

MIRAGE_EXPORT int mirage_client_detach(struct mirage_client *c)
{
	return request(c, MIRAGE_ESC_DETACH, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
}

MIRAGE_EXPORT int mirage_client_settings_get(struct mirage_client *c, char *buf, size_t size)
{
	size_t len = 0;
	int ret;

	if (size == 0)
		return mirage_fail(EINVAL, "settings get: empty buffer");
	ret = request(c, MIRAGE_ESC_SETTINGS_GET, NULL, 0, buf, size - 1, &len, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	buf[len < size - 1 ? len : size - 1] = '\0';
	return 0;
}

MIRAGE_EXPORT int mirage_client_settings_set(struct mirage_client *c, const char *text)
{
	size_t len = strlen(text);

	if (len > MIRAGE_MSG_MAX_PAYLOAD)
		return mirage_fail(EMSGSIZE, "settings set: %zu bytes of text; at most %u",
				   len, MIRAGE_MSG_MAX_PAYLOAD);
	return request(c, MIRAGE_ESC_SETTINGS_SET, text, len, NULL, 0, NULL, NULL, 0, NULL);
}

MIRAGE_EXPORT int mirage_client_info(struct mirage_client *c, struct mirage_info_out *info,
				     char *stats, size_t stats_size)
{
	uint8_t buf[MIRAGE_MSG_MAX_PAYLOAD];
	size_t len = 0, n;
	int ret;

	ret = request(c, MIRAGE_ESC_INFO, NULL, 0, buf, sizeof(buf), &len, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (len < sizeof(*info))
		return mirage_fail(EPROTO, "info: reply of %zu bytes", len);
	memcpy(info, buf, sizeof(*info));
	info->name[sizeof(info->name) - 1] = '\0';
	info->driver[sizeof(info->driver) - 1] = '\0';
	if (stats && stats_size) {
		n = len - sizeof(*info);
		if (n >= stats_size)
			n = stats_size - 1;
		memcpy(stats, buf + sizeof(*info), n);
		stats[n] = '\0';
	}
	return 0;
}

MIRAGE_EXPORT int mirage_client_test(struct mirage_client *c)
{
	return request(c, MIRAGE_ESC_TEST, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
}

MIRAGE_EXPORT int mirage_client_test_mapped(struct mirage_client *c)
{
	struct mirage_test_mapped_in in = { .generation = c->pipe.generation };

	if (!c->mapped)
		return mirage_fail(ESTALE, "mapping test: nothing mapped");
	return request(c, MIRAGE_ESC_TEST_MAPPED, &in, sizeof(in), NULL, 0, NULL, NULL, 0, NULL);
}

static int list_dir(const char *dir, mirage_list_fn fn, void *data, char seen[][MIRAGE_NAME_MAX],
		    int *nseen)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char name[MIRAGE_NAME_MAX], path[512];
		size_t len = strlen(de->d_name);
		bool dup = false;

		if (len < 6 || len - 5 >= sizeof(name) || strcmp(de->d_name + len - 5, ".sock"))
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (!mirage_name_valid(name))
			continue;
		for (int i = 0; i < *nseen; i++)
			dup |= strcmp(seen[i], name) == 0;
		if (dup || *nseen >= 256)
			continue;
		snprintf(seen[(*nseen)++], MIRAGE_NAME_MAX, "%s", name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fn(name, path, data);
		count++;
	}
	closedir(d);
	return count;
}

MIRAGE_EXPORT int mirage_list_mirrors(mirage_list_fn fn, void *data)
{
	char seen[256][MIRAGE_NAME_MAX];
	char dir[256], alt[64];
	int nseen = 0, count;
	int ret;

	if ((ret = mirage_runtime_dir(dir, sizeof(dir), false)) < 0)
		return ret;
	count = list_dir(dir, fn, data, seen, &nseen);
	snprintf(alt, sizeof(alt), "/tmp/mirage-%u", (unsigned)getuid());
	if (!getenv("MIRAGE_DIR") && strcmp(alt, dir) != 0)
		count += list_dir(alt, fn, data, seen, &nseen);
	return count;
}
