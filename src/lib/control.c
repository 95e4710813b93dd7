/* SPDX-License-Identifier: MIT */
/*
 * The control socket: DfMirage's escapes over a SOCK_SEQPACKET Unix
 * socket.  Everything here is non-blocking and distrusts its peer: every
 * length is checked, a malformed request gets an error reply and the
 * connection is closed, and a peer that does not read its replies is
 * dropped rather than waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

#define MAX_CONNS 64
/* At most one log line a second about connections closed to make room. */
#define EVICT_LOG_INTERVAL_MS 1000

struct mirage_server {
	const struct mirage_server_ops *ops; /* the driver behind us: private.h */
	struct mirage_driver *drv;
	int listen_fd;
	int epoll_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct mirage_conn *conns[MAX_CONNS];
	uint64_t evict_logged_ms; /* when the last eviction line was logged; 0: never */
	uint32_t evict_unlogged;  /* evictions since that line, not logged */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A line for the driver's log, through the table. */
__attribute__((format(printf, 3, 4)))
static void slog(struct mirage_server *srv, enum mirage_log_level level, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	srv->ops->log(srv->drv, level, text);
}

static int make_path(struct mirage_server *srv, const char *dir, const char *name)
{
	int n = snprintf(srv->path, sizeof(srv->path), "%s/%s.sock", dir, name);

	if (n < 0 || (size_t)n >= sizeof(srv->path))
		return mirage_fail(ENAMETOOLONG, "socket path %s/%s.sock is too long", dir, name);
	return 0;
}

/* Is a live mirror answering on this path?  Stale sockets are not. */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return alive;
}

int mirage_server_create(struct mirage_server **out, const struct mirage_server_ops *ops,
			 struct mirage_driver *drv, const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct mirage_server *srv;
	mode_t old_umask;
	int ret;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return mirage_fail(ENOMEM, "out of memory");
	srv->ops = ops;
	srv->drv = drv;
	srv->listen_fd = srv->epoll_fd = -1;
	if ((ret = make_path(srv, dir, name)) < 0)
		goto fail;

	srv->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		ret = mirage_fail(errno, "socket: %s", strerror(errno));
		goto fail;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv->path);

	if (access(srv->path, F_OK) == 0) {
		if (socket_alive(srv->path)) {
			ret = mirage_fail(EADDRINUSE, "mirror \"%s\" already exists (%s)", name, srv->path);
			goto fail;
		}
		unlink(srv->path); /* stale: its producer died */
	}
	/* Owner-only from the first instant, not after a chmod. */
	old_umask = umask(0177);
	ret = bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (ret < 0) {
		ret = mirage_fail(errno, "bind %s: %s", srv->path, strerror(errno));
		goto fail;
	}
	if (listen(srv->listen_fd, 16) < 0) {
		ret = mirage_fail(errno, "listen %s: %s", srv->path, strerror(errno));
		unlink(srv->path);
		goto fail;
	}

	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epoll_fd < 0) {
		ret = mirage_fail(errno, "epoll_create1: %s", strerror(errno));
		unlink(srv->path);
		goto fail;
	}
	ev.data.ptr = NULL; /* NULL marks the listening socket */
	if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, srv->listen_fd, &ev) < 0) {
		ret = mirage_fail(errno, "epoll_ctl: %s", strerror(errno));
		unlink(srv->path);
		goto fail;
	}
	*out = srv;
	return 0;

fail:
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->epoll_fd >= 0)
		close(srv->epoll_fd);
	free(srv);
	return ret;
}

static void conn_close(struct mirage_server *srv, struct mirage_conn *conn)
{
	for (size_t i = 0; i < MAX_CONNS; i++) {
		if (srv->conns[i] == conn)
			srv->conns[i] = NULL;
	}
	srv->ops->conn_closed(srv->drv, conn);
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
	close(conn->fd);
	free(conn);
}

void mirage_server_destroy(struct mirage_server *srv)
{
	if (!srv)
		return;
	for (size_t i = 0; i < MAX_CONNS; i++) {
		if (srv->conns[i])
			conn_close(srv, srv->conns[i]);
	}
	unlink(srv->path);
	close(srv->listen_fd);
	close(srv->epoll_fd);
	free(srv);
}

int mirage_server_fd(const struct mirage_server *srv)
{
	return srv->epoll_fd;
}

const char *mirage_server_path(const struct mirage_server *srv)
{
	return srv->path;
}

uint32_t mirage_server_connections(const struct mirage_server *srv)
{
	uint32_t n = 0;

	for (size_t i = 0; i < MAX_CONNS; i++)
		n += srv->conns[i] != NULL;
	return n;
}

uint32_t mirage_server_consumers(const struct mirage_server *srv)
{
	uint32_t n = 0;

	for (size_t i = 0; i < MAX_CONNS; i++)
		n += srv->conns[i] && srv->conns[i]->mapped;
	return n;
}

static int reply(struct mirage_conn *conn, const struct mirage_msg *req, int32_t status,
		 const void *payload, size_t length, const int *fds, unsigned nfds)
{
	return mirage_send_msg(conn->fd, req->code, req->serial, status, payload, length, fds, nfds);
}

/*
 * An error reply with a message.  Returns -1 when the connection must be
 * closed afterwards (a protocol violation), 0 for a refusal the client may
 * recover from.
 */
static int reply_error(struct mirage_conn *conn, const struct mirage_msg *req, int err,
		       bool fatal, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int reply_error(struct mirage_conn *conn, const struct mirage_msg *req, int err,
		       bool fatal, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = sizeof(text) - 1;
	if (reply(conn, req, -err, text, (size_t)n, NULL, 0) < 0)
		return -1;
	return fatal ? -1 : 0;
}

static int handle_version(struct mirage_server *srv, struct mirage_conn *conn,
			  const struct mirage_msg *req, const void *payload)
{
	struct mirage_version_in in;
	struct mirage_version_out out = {
		.server_version = MIRAGE_PROTO_VERSION,
		.client_min_version = MIRAGE_PROTO_MIN_COMPAT,
	};
	char a[32], b[32];

	if (req->length != sizeof(in))
		return reply_error(conn, req, EINVAL, true,
				   "version query: payload is %u bytes, expected %zu",
				   req->length, sizeof(in));
	memcpy(&in, payload, sizeof(in));
	if (in.client_version < MIRAGE_PROTO_MIN_COMPAT)
		return reply_error(conn, req, EPROTONOSUPPORT, true,
				   "client protocol %s is older than %s, the oldest this mirror (protocol %s) accepts",
				   mirage_version_format(in.client_version, a, sizeof(a)),
				   mirage_version_format(MIRAGE_PROTO_MIN_COMPAT, b, sizeof(b)),
				   mirage_version_format(MIRAGE_PROTO_VERSION, (char[32]){ 0 }, 32));
	if (MIRAGE_PROTO_VERSION < in.server_min_version)
		return reply_error(conn, req, EPROTONOSUPPORT, true,
				   "mirror protocol %s is older than %s, the oldest the client (protocol %s) accepts",
				   mirage_version_format(MIRAGE_PROTO_VERSION, a, sizeof(a)),
				   mirage_version_format(in.server_min_version, b, sizeof(b)),
				   mirage_version_format(in.client_version, (char[32]){ 0 }, 32));
	conn->negotiated = true;
	(void)srv;
	return reply(conn, req, 1, &out, sizeof(out), NULL, 0);
}

static int handle_map(struct mirage_server *srv, struct mirage_conn *conn,
		      const struct mirage_msg *req)
{
	struct mirage_pipe *p = srv->ops->pipe(srv->drv);
	struct mirage_map_out out = {
		.generation = p->generation,
		.ring_size = (uint32_t)p->ring_size,
		.surface_size = p->surface_size,
		.width = p->surface->width,
		.height = p->surface->height,
		.bpp = p->surface->bpp,
		.stride = p->surface->stride,
	};
	int fds[3] = { -1, -1, -1 };
	int ret;

	if (req->length != 0)
		return reply_error(conn, req, EINVAL, true, "pipe map takes no payload");
	fds[0] = mirage_pipe_reopen_ro(p->ring_fd);
	fds[1] = mirage_pipe_reopen_ro(p->surface_fd);
	fds[2] = p->wait_fd;
	if (fds[0] < 0 || fds[1] < 0) {
		slog(srv, MIRAGE_LOG_ERROR, "pipe map: %s", mirage_last_error());
		ret = reply_error(conn, req, EIO, false, "pipe map failed: %s", mirage_last_error());
		goto out;
	}
	ret = reply(conn, req, 1, &out, sizeof(out), fds, 3);
	if (ret == 0) {
		conn->mapped = true;
		conn->mapped_generation = p->generation;
	}
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}

static int handle_request(struct mirage_server *srv, struct mirage_conn *conn,
			  const uint8_t *buf, size_t size)
{
	struct mirage_driver *drv = srv->drv;
	const struct mirage_surface_header *s;
	struct mirage_msg req;
	const uint8_t *payload = buf + sizeof(req);
	char msg[256] = "";
	int ret;

	if (size < sizeof(req)) {
		struct mirage_msg none = { 0 };
		return reply_error(conn, &none, EPROTO, true,
				   "request of %zu bytes is shorter than its %zu-byte header",
				   size, sizeof(req));
	}
	memcpy(&req, buf, sizeof(req));
	if (req.length > MIRAGE_MSG_MAX_PAYLOAD || sizeof(req) + req.length != size)
		return reply_error(conn, &req, EPROTO, true,
				   "request %u announces %u payload bytes but carries %zu",
				   req.code, req.length, size - sizeof(req));
	if (req.status != 0)
		return reply_error(conn, &req, EPROTO, true,
				   "request %u has a non-zero status field", req.code);
	if (!conn->negotiated && req.code != MIRAGE_ESC_VERSION)
		return reply_error(conn, &req, EPROTO, true,
				   "request %u before the version query (%d)", req.code,
				   MIRAGE_ESC_VERSION);

	switch (req.code) {
	case MIRAGE_ESC_VERSION:
		return handle_version(srv, conn, &req, payload);

	case MIRAGE_ESC_PIPE_MAP:
		return handle_map(srv, conn, &req);

	case MIRAGE_ESC_PIPE_UNMAP:
		if (req.length != 0)
			return reply_error(conn, &req, EINVAL, true, "pipe unmap takes no payload");
		conn->mapped = false;
		return reply(conn, &req, 1, NULL, 0, NULL, 0);

	case MIRAGE_ESC_TEST:
		/* DfMirage's test escape: any payload, answered with success. */
		return reply(conn, &req, 1, NULL, 0, NULL, 0);

	case MIRAGE_ESC_TEST_MAPPED: {
		struct mirage_test_mapped_in in;

		if (req.length != sizeof(in))
			return reply_error(conn, &req, EINVAL, true,
					   "mapping test: payload is %u bytes, expected %zu",
					   req.length, sizeof(in));
		memcpy(&in, payload, sizeof(in));
		if (in.generation != srv->ops->pipe(drv)->generation)
			return reply_error(conn, &req, ESTALE, false,
					   "generation %u is retired; the current pipe is %u",
					   in.generation, srv->ops->pipe(drv)->generation);
		return reply(conn, &req, 1, NULL, 0, NULL, 0);
	}

	case MIRAGE_ESC_POINTER_SHAPE: {
		struct mirage_pointer_out out;

		if (req.length != 0)
			return reply_error(conn, &req, EINVAL, true, "pointer shape takes no payload");
		s = srv->ops->pipe(drv)->surface;
		out = (struct mirage_pointer_out){
			.serial = s->cursor_serial, .visible = s->cursor_visible,
			.x = s->cursor_x, .y = s->cursor_y,
			.width = s->cursor_width, .height = s->cursor_height,
			.hot_x = s->cursor_hot_x, .hot_y = s->cursor_hot_y,
		};
		return reply(conn, &req, 1, &out, sizeof(out), NULL, 0);
	}

	case MIRAGE_ESC_ATTACH: {
		struct mirage_attach_in in;

		if (req.length != sizeof(in))
			return reply_error(conn, &req, EINVAL, true,
					   "attach: payload is %u bytes, expected %zu",
					   req.length, sizeof(in));
		memcpy(&in, payload, sizeof(in));
		if (in.flags & ~MIRAGE_ATTACH_PERSIST)
			return reply_error(conn, &req, EINVAL, true,
					   "attach: unknown flags 0x%x", in.flags);
		ret = srv->ops->attach(drv, conn, in.flags, msg, sizeof(msg));
		if (ret < 0)
			return reply_error(conn, &req, -ret, false, "%s", msg);
		return reply(conn, &req, 1, NULL, 0, NULL, 0);
	}

	case MIRAGE_ESC_DETACH:
		if (req.length != 0)
			return reply_error(conn, &req, EINVAL, true, "detach takes no payload");
		ret = srv->ops->detach(drv, conn, msg, sizeof(msg));
		if (ret < 0)
			return reply_error(conn, &req, -ret, false, "%s", msg);
		return reply(conn, &req, 1, NULL, 0, NULL, 0);

	case MIRAGE_ESC_SETTINGS_GET: {
		char text[MIRAGE_SETTINGS_TEXT_MAX];
		int n;

		if (req.length != 0)
			return reply_error(conn, &req, EINVAL, true, "settings get takes no payload");
		n = mirage_settings_format(srv->ops->settings(drv), text, sizeof(text));
		if (n < 0 || (size_t)n >= sizeof(text))
			return reply_error(conn, &req, EIO, false, "settings text does not fit");
		return reply(conn, &req, 1, text, (size_t)n, NULL, 0);
	}

	case MIRAGE_ESC_SETTINGS_SET: {
		char text[MIRAGE_MSG_MAX_PAYLOAD + 1];

		memcpy(text, payload, req.length);
		text[req.length] = '\0';
		if (strlen(text) != req.length)
			return reply_error(conn, &req, EINVAL, true, "settings text contains a NUL byte");
		ret = srv->ops->settings_set(drv, conn, text, msg, sizeof(msg));
		if (ret < 0)
			return reply_error(conn, &req, -ret, false, "%s", msg);
		return reply(conn, &req, 1, NULL, 0, NULL, 0);
	}

	case MIRAGE_ESC_INFO: {
		uint8_t out[MIRAGE_MSG_MAX_PAYLOAD];
		struct mirage_info_out info;
		size_t n;

		if (req.length != 0)
			return reply_error(conn, &req, EINVAL, true, "info takes no payload");
		n = srv->ops->fill_info(drv, &info, (char *)out + sizeof(info),
					    sizeof(out) - sizeof(info));
		memcpy(out, &info, sizeof(info));
		return reply(conn, &req, 1, out, sizeof(info) + n, NULL, 0);
	}

	default:
		return reply_error(conn, &req, ENOSYS, true, "unknown request %u", req.code);
	}
}

static void serve(struct mirage_server *srv, struct mirage_conn *conn);

static size_t free_slot(const struct mirage_server *srv)
{
	size_t slot;

	for (slot = 0; slot < MAX_CONNS && srv->conns[slot]; slot++)
		;
	return slot;
}

/*
 * The connection with the least claim to its slot: one that maps nothing
 * and does not hold the manager role (a consumer that mapped the pipe
 * needs its connection for unmap, shape and settings, and the manager's
 * connection is its role), preferring one that never completed the version
 * query, then the one idle longest.  NULL when every connection maps the
 * pipe or manages the mirror.
 */
static struct mirage_conn *eviction_victim(const struct mirage_server *srv)
{
	const struct mirage_conn *manager = srv->ops->manager(srv->drv);
	struct mirage_conn *victim = NULL;

	for (size_t i = 0; i < MAX_CONNS; i++) {
		struct mirage_conn *c = srv->conns[i];

		if (!c || c->mapped || c == manager)
			continue;
		if (!victim || (victim->negotiated && !c->negotiated) ||
		    (victim->negotiated == c->negotiated && c->active_ms < victim->active_ms))
			victim = c;
	}
	return victim;
}

static void log_eviction(struct mirage_server *srv, const struct mirage_conn *victim,
			 pid_t newcomer, uint64_t now)
{
	char more[64] = "";

	/* A flood must not flood the producer's log (an X server's, say). */
	if (srv->evict_logged_ms && now - srv->evict_logged_ms < EVICT_LOG_INTERVAL_MS) {
		srv->evict_unlogged++;
		return;
	}
	if (srv->evict_unlogged)
		snprintf(more, sizeof(more), "; %u more since the last such line",
			 srv->evict_unlogged);
	slog(srv, MIRAGE_LOG_WARNING,
			  "all %d connections in use: closed an idle one of pid %d "
			  "(%s for %llu ms) to let pid %d in%s",
			  MAX_CONNS, (int)victim->pid,
			  victim->negotiated ? "no pipe mapped, no request" : "no version query",
			  (unsigned long long)(now - victim->active_ms), (int)newcomer, more);
	srv->evict_logged_ms = now;
	srv->evict_unlogged = 0;
}

/*
 * Every slot is taken and pid `newcomer` knocks.  Idle connections must not
 * lock out the manager or a short request (miragectl status), so one of
 * them makes room.  First every connection's waiting requests are served:
 * a peer that hung up frees its slot, and one whose request is waiting is
 * not idle.  Returns a free slot, or MAX_CONNS when none can be had.
 */
static size_t make_room(struct mirage_server *srv, pid_t newcomer)
{
	struct mirage_conn *victim;
	uint64_t now = now_ms();
	char text[160];
	size_t slot;
	int n;

	for (size_t i = 0; i < MAX_CONNS; i++) {
		if (srv->conns[i])
			serve(srv, srv->conns[i]);
	}
	if ((slot = free_slot(srv)) < MAX_CONNS)
		return slot;
	victim = eviction_victim(srv);
	if (!victim)
		return MAX_CONNS;
	/* Its next read says why, as an error reply: a client library reports it. */
	n = snprintf(text, sizeof(text),
		     "connection closed to make room: it had made no request for %llu ms "
		     "while all %d of this mirror's connections were in use",
		     (unsigned long long)(now - victim->active_ms), MAX_CONNS);
	mirage_send_msg(victim->fd, 0, 0, -ECONNABORTED, text,
			n > 0 && (size_t)n < sizeof(text) ? (size_t)n : 0, NULL, 0);
	log_eviction(srv, victim, newcomer, now);
	conn_close(srv, victim);
	return free_slot(srv);
}

static void accept_one(struct mirage_server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct mirage_conn *conn;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t slot;
	int fd;

	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	/* The socket is owner-only already; this holds even if someone chmods it. */
	if (cred.uid != geteuid() && cred.uid != 0) {
		struct mirage_msg none = { 0 };
		const char *text = "permission denied: this mirror belongs to another user";
		mirage_send_msg(fd, none.code, 0, -EACCES, text, strlen(text), NULL, 0);
		slog(srv, MIRAGE_LOG_WARNING,
				  "refused a connection from uid %u", (unsigned)cred.uid);
		close(fd);
		return;
	}
	slot = free_slot(srv);
	if (slot == MAX_CONNS)
		slot = make_room(srv, cred.pid);
	if (slot == MAX_CONNS) {
		char text[128];
		int n = snprintf(text, sizeof(text), "too many connections to this mirror: "
				 "all %d map its pipe or hold the manager role", MAX_CONNS);

		mirage_send_msg(fd, 0, 0, -EMFILE, text, n > 0 ? (size_t)n : 0, NULL, 0);
		slog(srv, MIRAGE_LOG_WARNING,
				  "refused pid %d: %d connections already, all consumers or the manager",
				  (int)cred.pid, MAX_CONNS);
		close(fd);
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		return;
	}
	conn->fd = fd;
	conn->pid = cred.pid;
	conn->uid = cred.uid;
	conn->active_ms = now_ms();
	ev.data.ptr = conn;
	if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(conn);
		return;
	}
	srv->conns[slot] = conn;
}

/* Serves every message waiting on conn; closes it on EOF or violation. */
static void serve(struct mirage_server *srv, struct mirage_conn *conn)
{
	uint8_t buf[MIRAGE_MSG_MAX_SIZE];

	for (int budget = 32; budget > 0; budget--) {
		int fds[4];
		unsigned nfds;
		ssize_t n = mirage_recv_msg(conn->fd, buf, sizeof(buf), fds, ARRAY_LEN(fds), &nfds);

		/* Clients have no reason to send descriptors: drop them. */
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		if (n == -EAGAIN)
			return;
		if (n == -EMSGSIZE) {
			struct mirage_msg none = { 0 };
			reply_error(conn, &none, EMSGSIZE, true, "request larger than %zu bytes",
				    (size_t)MIRAGE_MSG_MAX_SIZE);
			slog(srv, MIRAGE_LOG_WARNING,
					  "pid %d sent an oversized request; disconnected", (int)conn->pid);
			conn_close(srv, conn);
			return;
		}
		if (n <= 0) {
			conn_close(srv, conn);
			return;
		}
		conn->active_ms = now_ms();
		if (handle_request(srv, conn, buf, (size_t)n) < 0) {
			slog(srv, MIRAGE_LOG_INFO,
					  "closed the connection of pid %d after a failed request",
					  (int)conn->pid);
			conn_close(srv, conn);
			return;
		}
	}
	/* Budget spent: epoll is level-triggered, we come back next dispatch. */
}

int mirage_server_dispatch(struct mirage_server *srv)
{
	struct epoll_event evs[16];
	int n;

	n = epoll_wait(srv->epoll_fd, evs, ARRAY_LEN(evs), 0);
	if (n < 0)
		return errno == EINTR ? 0 : mirage_fail(errno, "epoll_wait: %s", strerror(errno));

	for (int i = 0; i < n; i++) {
		struct mirage_conn *conn = evs[i].data.ptr;

		if (!conn) {
			for (int k = 0; k < 16; k++)
				accept_one(srv);
			continue;
		}
		/* A connection closed earlier in this loop may still be listed. */
		bool live = false;
		for (size_t c = 0; c < MAX_CONNS; c++)
			live |= srv->conns[c] == conn;
		if (!live)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			serve(srv, conn);
	}
	return 0;
}
