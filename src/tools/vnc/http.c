/* SPDX-License-Identifier: MIT */
/*
 * A small static-file HTTP server for the noVNC client.
 *
 * libvncserver has an HTTP server of its own, but with its threaded event
 * loop (one thread per viewer, which we need so that a stalled viewer
 * cannot block the others) nothing ever services the HTTP listener.  So
 * mirage-vnc serves the noVNC files itself: GET and HEAD of regular files
 * below one directory, one short-lived thread per connection, one request
 * per connection ("Connection: close").  The browser then opens a
 * WebSocket on the RFB port, which libvncserver handles.
 *
 * With --tls-cert/--tls-key (and GnuTLS at build time) every connection is
 * HTTPS: the credentials are loaded once, each connection gets its own
 * GnuTLS session (its handshake within the head's deadline), and files are read
 * and sent through the session instead of sendfile().  The page then makes
 * noVNC use wss on the RFB port, where libvncserver does the TLS.
 *
 * Stalled clients: a client must send its whole request head within
 * HTTP_HEAD_S of the accept, however slowly it trickles; the listener
 * thread keeps the deadlines (its poll() wakes at the nearest one) and
 * shuts an overdue connection down, which ends the blocked recv() in its
 * thread, TLS or not.  One address holds at most HTTP_CONNS_PER_ADDR
 * connections (the next is refused at once, logged once per burst), so
 * one client cannot take the HTTP_CONNS_MAX slots from everyone else.
 *
 * Threads: the listener thread accepts; each connection has a detached
 * thread.  `lock` protects `conns` and `nconns`; vnc_http_destroy() shuts
 * the open connections down and waits for their threads to finish.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef MIRAGE_VNC_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include "http-parse.h"
#include "vnc.h"

#define HTTP_CONNS_MAX 64      /* connections served at once */
#define HTTP_CONNS_PER_ADDR 8  /* of them from one client address */
#define HTTP_REQUEST_MAX 8192  /* request line and headers */
#define HTTP_HEAD_S 5          /* from the accept to the end of the request head */
#define HTTP_TIMEOUT_S 10      /* a client that reads nothing of the answer */
#define HTTP_BURST_S 10        /* refusals of one address closer than this: one message */
#define HTTP_REFUSED_ADDRS 16  /* addresses whose burst of refusals is remembered */

/* An open connection, in the listener's table. */
struct http_slot {
	int fd;               /* -1 when the slot is free */
	struct in_addr addr;  /* the client's */
	struct timespec deadline; /* CLOCK_MONOTONIC: the head must be in by then */
	bool reading;         /* the head is not in yet: the deadline applies */
};

/* An address refused lately (touched by the listener thread only). */
struct http_refused {
	struct in_addr addr;
	time_t last;          /* CLOCK_MONOTONIC seconds of the latest refusal; 0: unused */
	unsigned count;       /* refusals in this burst */
};

struct vnc_http {
	int listen_fd;
	int root_fd;          /* the served directory, for openat() */
	char *root;           /* its real path (no symbolic link), for the check */
	int wake[2];          /* tells the listener thread to stop */
	int rfb_port;         /* for the redirect of "/" */
#ifdef MIRAGE_VNC_GNUTLS
	gnutls_certificate_credentials_t creds; /* NULL: plain HTTP; read-only once set */
#endif
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock;
	pthread_cond_t idle;  /* signalled when nconns drops */
	struct http_slot conns[HTTP_CONNS_MAX]; /* the open connections */
	int nconns;
	bool stopping;

	struct http_refused refused[HTTP_REFUSED_ADDRS]; /* listener thread only */
	time_t full_logged;   /* when "all slots taken" was last logged; listener only */
};

struct conn {
	struct vnc_http *h;
	int fd;
	int slot;
	char peer[INET_ADDRSTRLEN]; /* the client's address, for messages */
#ifdef MIRAGE_VNC_GNUTLS
	gnutls_session_t tls; /* NULL for plain HTTP */
#endif
};

/* ------------------------------------------------------------------ */
/* Transport: the socket, or a TLS session on it                       */
/* ------------------------------------------------------------------ */

static ssize_t conn_recv(struct conn *c, char *buf, size_t len)
{
#ifdef MIRAGE_VNC_GNUTLS
	if (c->tls) {
		ssize_t n;
		do
			n = gnutls_record_recv(c->tls, buf, len);
		while (n == GNUTLS_E_INTERRUPTED);
		/* Also the socket shut down at the deadline: give up. */
		return n < 0 ? -1 : n;
	}
#endif
	for (;;) {
		ssize_t n = recv(c->fd, buf, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

static bool send_all(struct conn *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n;
#ifdef MIRAGE_VNC_GNUTLS
		if (c->tls) {
			n = gnutls_record_send(c->tls, buf, len);
			if (n == GNUTLS_E_INTERRUPTED)
				continue;
		} else
#endif
		{
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool tls_enabled(const struct vnc_http *h)
{
#ifdef MIRAGE_VNC_GNUTLS
	return h->creds != NULL;
#else
	(void)h;
	return false;
#endif
}

/* The server side of the TLS handshake when h serves HTTPS; 0 or -1. */
static int tls_start(struct conn *c)
{
#ifdef MIRAGE_VNC_GNUTLS
	int ret;

	if (!c->h->creds)
		return 0;
	if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0) {
		c->tls = NULL;
		return -1;
	}
	if (gnutls_set_default_priority(c->tls) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->h->creds) < 0)
		return -1;
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_handshake_set_timeout(c->tls, HTTP_HEAD_S * 1000);
	do
		ret = gnutls_handshake(c->tls);
	while (ret < 0 && !gnutls_error_is_fatal(ret) && ret != GNUTLS_E_AGAIN);
	if (ret < 0) {
		/* Typically a browser that does not trust the certificate. */
		vnc_debug("http: TLS handshake: %s", gnutls_strerror(ret));
		return -1;
	}
	return 0;
#else
	(void)c;
	return 0;
#endif
}

static void tls_end(struct conn *c)
{
#ifdef MIRAGE_VNC_GNUTLS
	if (c->tls)
		gnutls_deinit(c->tls);
	c->tls = NULL;
#else
	(void)c;
#endif
}

/* Sends size bytes of file: sendfile() on a plain socket, else read+send. */
static void send_file(struct conn *c, int file, off_t size)
{
	off_t off = 0;

#ifdef MIRAGE_VNC_GNUTLS
	if (c->tls) {
		char buf[16384];
		while (off < size) {
			ssize_t n = pread(file, buf, sizeof(buf), off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || !send_all(c, buf, (size_t)n))
				break;
			off += n;
		}
		return;
	}
#endif
	while (off < size) {
		ssize_t sent = sendfile(c->fd, file, &off, (size_t)(size - off));
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			break;
	}
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static const struct {
	const char *ext;
	const char *type;
} mime_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	/* Module scripts are refused by browsers under any other type. */
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "json", "application/json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "ico", "image/x-icon" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "oga", "audio/ogg" },
	{ "ogg", "audio/ogg" },
	{ "mp3", "audio/mpeg" },
	{ "wav", "audio/wav" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/plain; charset=utf-8" },
};

static const char *mime_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && !strchr(dot, '/')) {
		for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
			if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
				return mime_types[i].type;
	}
	return "application/octet-stream";
}

/* A complete short answer in buf; its length, 0 if it does not fit. */
static size_t format_status(char *buf, size_t size, int code, const char *reason,
			    const char *extra)
{
	int n = snprintf(buf, size,
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n"
			 "%d %s\n",
			 code, reason, strlen(reason) + 5, extra ? extra : "", code, reason);

	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static void send_status(struct conn *c, int code, const char *reason, const char *extra)
{
	char buf[1024];
	size_t n = format_status(buf, sizeof(buf), code, reason, extra);

	if (n > 0)
		send_all(c, buf, n);
}

/*
 * The same from the listener thread, which must never block: a fresh
 * socket's send buffer takes it whole, or it is dropped.  Plain HTTP only
 * (over TLS a plain answer would be noise).
 */
static void send_status_now(int fd, int code, const char *reason, const char *extra)
{
	char buf[1024];
	size_t n = format_status(buf, sizeof(buf), code, reason, extra);

	if (n > 0 && send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		vnc_debug("http: %d %s: %s", code, reason, strerror(errno));
}

/*
 * Reads the request head (up to the empty line); its length or -1.  No
 * timeout here: the listener thread shuts the socket down at the deadline.
 */
static ssize_t read_head(struct conn *c, char *buf, size_t size)
{
	size_t len = 0, end;

	while (len < size) {
		ssize_t n = conn_recv(c, buf + len, size - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		end = http_head_end(buf, len);
		if (end > 0)
			return (ssize_t)end;
	}
	return -1;
}

/* The head is in: from now on the deadline no longer applies. */
static void head_done(struct conn *c)
{
	pthread_mutex_lock(&c->h->lock);
	c->h->conns[c->slot].reading = false;
	pthread_mutex_unlock(&c->h->lock);
}

/* The real path of an open descriptor (the kernel's, from /proc); malloc'd. */
static char *fd_path(int fd)
{
	char proc[64], buf[4096];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n < 0 || (size_t)n >= sizeof(buf) - 1)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* Whether path is root or lies below it. */
static bool below(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*
 * Opens path below the served directory for reading: a regular file whose
 * real path stays under it.  Symbolic links are followed (Debian's noVNC
 * has some, inside), but where one leads out, the file is refused.  The
 * name is resolved once, to an O_PATH descriptor (opening nothing: no
 * FIFO blocks, no device acts), whose real path the kernel gives; the
 * file is then opened through that descriptor, so no rename in between
 * can swap it.  A descriptor, -ENOENT, or -EXDEV for a file outside.
 */
static int open_below(struct vnc_http *h, const char *path)
{
	char proc[64], *real;
	struct stat st;
	int where, file;

	where = openat(h->root_fd, path, O_PATH | O_CLOEXEC);
	if (where < 0)
		return -ENOENT;
	real = fd_path(where);
	if (!real || !below(h->root, real)) {
		free(real);
		close(where);
		return -EXDEV;
	}
	free(real);
	if (fstat(where, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(where);
		return -ENOENT;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", where);
	file = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	close(where);
	return file < 0 ? -ENOENT : file;
}

static void serve_file(struct conn *c, const char *path, bool head)
{
	struct vnc_http *h = c->h;
	char hdr[512];
	struct stat st;
	int file, n;

	file = open_below(h, path);
	if (file == -EXDEV)
		vnc_log("http: %s: /%s leads out of %s (a symbolic link): refused", c->peer, path,
			h->root);
	if (file < 0) {
		send_status(c, 404, "Not Found", NULL);
		return;
	}
	if (fstat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(file);
		send_status(c, 404, "Not Found", NULL);
		return;
	}
	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 200 OK\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %lld\r\n"
		     "Cache-Control: no-cache\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "Connection: close\r\n"
		     "\r\n",
		     mime_type(path), (long long)st.st_size);
	if (n > 0 && (size_t)n < sizeof(hdr) && send_all(c, hdr, (size_t)n) && !head)
		send_file(c, file, st.st_size);
	close(file);
}

static void handle(struct conn *c)
{
	struct vnc_http *h = c->h;
	char buf[HTTP_REQUEST_MAX];
	struct http_request req;
	ssize_t len;
	int ret;

	len = read_head(c, buf, sizeof(buf));
	head_done(c);
	if (len < 0) {
		/* Cut off at the deadline (then the socket is shut down and this
		 * goes nowhere), closed, or a head too long. */
		send_status(c, 400, "Bad Request", NULL);
		return;
	}
	ret = http_request_parse(buf, (size_t)len, &req);
	if (ret == -EOPNOTSUPP) {
		send_status(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (ret < 0) {
		send_status(c, 400, "Bad Request", NULL);
		return;
	}
	if (req.path[0] == '\0') {
		/* "/": noVNC, connecting at once to this host's RFB port
		 * (with wss when the page came over HTTPS). */
		char loc[128];
		snprintf(loc, sizeof(loc), "Location: /vnc.html?autoconnect=1&port=%d&path=%s\r\n",
			 h->rfb_port, tls_enabled(h) ? "&encrypt=1" : "");
		send_status(c, 302, "Found", loc);
		return;
	}
	vnc_debug("http: %s %s", req.head ? "HEAD" : "GET", req.path);
	serve_file(c, req.path, req.head);
}

static void *conn_thread(void *data)
{
	struct conn *c = data;
	struct vnc_http *h = c->h;

	if (tls_start(c) == 0) {
		handle(c);
#ifdef MIRAGE_VNC_GNUTLS
		if (c->tls)
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
#endif
	}
	tls_end(c);
	/* Let the client read all before the close (no RST on unread input). */
	shutdown(c->fd, SHUT_WR);
	pthread_mutex_lock(&h->lock);
	h->conns[c->slot].fd = -1;
	h->nconns--;
	close(c->fd);
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	free(c);
	return NULL;
}

static time_t now_s(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/*
 * Logs the refusal of a connection from addr, once per burst: an address
 * refused again within HTTP_BURST_S of its last refusal is only counted.
 * Listener thread only.
 */
static void log_refused(struct vnc_http *h, struct in_addr addr, const char *why)
{
	struct http_refused *r = NULL, *oldest = &h->refused[0];
	time_t now = now_s();
	char peer[INET_ADDRSTRLEN];

	for (int i = 0; i < HTTP_REFUSED_ADDRS; i++) {
		struct http_refused *e = &h->refused[i];
		if (e->last != 0 && e->addr.s_addr == addr.s_addr) {
			r = e;
			break;
		}
		if (e->last < oldest->last)
			oldest = e;
	}
	if (r && now - r->last < HTTP_BURST_S) {
		r->last = now;
		r->count++;
		return;
	}
	if (!r) {
		r = oldest;
		r->addr = addr;
	}
	/* A monotonic clock may start near 0: keep 0 meaning "unused". */
	r->last = now > 0 ? now : 1;
	r->count = 1;
	inet_ntop(AF_INET, &addr, peer, sizeof(peer));
	vnc_log("http: %s: %s: refused (again within %d s: not logged)", peer, why,
		HTTP_BURST_S);
}

/*
 * Takes a slot for a connection from addr, or says why not: -EMFILE when
 * the address has HTTP_CONNS_PER_ADDR open already, -ENOSPC when all the
 * slots are taken, -ESHUTDOWN once stopping.  Called with h->lock held.
 */
static int take_slot(struct vnc_http *h, int fd, struct in_addr addr)
{
	int slot = -1, same = 0;

	if (h->stopping)
		return -ESHUTDOWN;
	for (int i = 0; i < HTTP_CONNS_MAX; i++) {
		if (h->conns[i].fd < 0) {
			if (slot < 0)
				slot = i;
		} else if (h->conns[i].addr.s_addr == addr.s_addr) {
			same++;
		}
	}
	if (same >= HTTP_CONNS_PER_ADDR)
		return -EMFILE;
	if (slot < 0)
		return -ENOSPC;
	h->conns[slot] = (struct http_slot){ .fd = fd, .addr = addr, .reading = true };
	clock_gettime(CLOCK_MONOTONIC, &h->conns[slot].deadline);
	h->conns[slot].deadline.tv_sec += HTTP_HEAD_S;
	h->nconns++;
	return slot;
}

/* Turns a connection away at once (the listener must not wait on it). */
static void refuse(struct vnc_http *h, int fd, struct in_addr addr, int why)
{
	char msg[96];

	if (why == -EMFILE) {
		snprintf(msg, sizeof(msg), "%d connections open from this address already",
			 HTTP_CONNS_PER_ADDR);
		log_refused(h, addr, msg);
	} else if (why == -ENOSPC && now_s() - h->full_logged >= HTTP_BURST_S) {
		char peer[INET_ADDRSTRLEN];
		h->full_logged = now_s();
		inet_ntop(AF_INET, &addr, peer, sizeof(peer));
		vnc_log("http: %s: all %d connections in use: refused (again within %d s: "
			"not logged)", peer, HTTP_CONNS_MAX, HTTP_BURST_S);
	}
	if (!tls_enabled(h)) {
		char junk[2048];
		send_status_now(fd, 503, "Service Unavailable", "Retry-After: 5\r\n");
		/* A close with unread input resets the connection, and the
		 * client may never see the 503: take what came already. */
		shutdown(fd, SHUT_WR);
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			continue;
	}
	close(fd);
}

static void start_conn(struct vnc_http *h, int fd, const struct sockaddr_in *from)
{
	struct timeval tv = { .tv_sec = HTTP_TIMEOUT_S };
	struct conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int slot;

	pthread_mutex_lock(&h->lock);
	slot = take_slot(h, fd, from->sin_addr);
	pthread_mutex_unlock(&h->lock);
	if (slot < 0) {
		refuse(h, fd, from->sin_addr, slot);
		return;
	}
	/* Sending the answer: bounded per send (the head has its deadline). */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = malloc(sizeof(*c));
	if (c) {
		*c = (struct conn){ .h = h, .fd = fd, .slot = slot };
		inet_ntop(AF_INET, &from->sin_addr, c->peer, sizeof(c->peer));
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_thread, c) == 0) {
			pthread_attr_destroy(&attr);
			return;
		}
		pthread_attr_destroy(&attr);
		free(c);
	}
	pthread_mutex_lock(&h->lock);
	h->conns[slot].fd = -1;
	h->nconns--;
	pthread_mutex_unlock(&h->lock);
	close(fd);
}

/* Milliseconds from now to t, at least 0, rounded up. */
static int ms_until(const struct timespec *t, const struct timespec *now)
{
	long long ms = (long long)(t->tv_sec - now->tv_sec) * 1000 +
		       (t->tv_nsec - now->tv_nsec + 999999) / 1000000;

	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/*
 * Cuts off the connections whose head is overdue (a 408 first, on plain
 * HTTP), and returns the poll() timeout until the next deadline (-1: none).
 * The socket is shut down, not closed: its thread still owns it, and its
 * blocked recv() returns 0 at once.
 */
static int expire(struct vnc_http *h)
{
	struct timespec now;
	int timeout = -1;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < HTTP_CONNS_MAX; i++) {
		struct http_slot *s = &h->conns[i];
		int ms;

		if (s->fd < 0 || !s->reading)
			continue;
		ms = ms_until(&s->deadline, &now);
		if (ms > 0) {
			if (timeout < 0 || ms < timeout)
				timeout = ms;
			continue;
		}
		/* Its thread writes nothing while `reading` (under this lock). */
		if (!tls_enabled(h))
			send_status_now(s->fd, 408, "Request Timeout", NULL);
		shutdown(s->fd, SHUT_RDWR);
		s->reading = false;
	}
	pthread_mutex_unlock(&h->lock);
	return timeout;
}

static void *listen_thread(void *data)
{
	struct vnc_http *h = data;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = h->listen_fd, .events = POLLIN },
			{ .fd = h->wake[0], .events = POLLIN },
		};

		if (poll(p, 2, expire(h)) < 0) {
			if (errno == EINTR)
				continue;
			vnc_log("http: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			struct sockaddr_in from = { 0 };
			socklen_t len = sizeof(from);
			int fd = accept4(h->listen_fd, (struct sockaddr *)&from, &len, SOCK_CLOEXEC);
			if (fd >= 0)
				start_conn(h, fd, &from);
			else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				usleep(10 * 1000); /* e.g. EMFILE: do not spin */
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Certificates                                                        */
/* ------------------------------------------------------------------ */

bool vnc_http_tls_supported(void)
{
#ifdef MIRAGE_VNC_GNUTLS
	return true;
#else
	return false;
#endif
}

static int check_readable(const char *option, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int err = errno;
		vnc_log("%s %s: %s", option, path, strerror(err));
		return -err;
	}
	close(fd);
	return 0;
}

#ifdef MIRAGE_VNC_GNUTLS
static int load_creds(gnutls_certificate_credentials_t *out, const char *cert, const char *key)
{
	int ret;

	if (gnutls_certificate_allocate_credentials(out) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	ret = gnutls_certificate_set_x509_key_file(*out, cert, key, GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		vnc_log("--tls-cert %s, --tls-key %s: %s", cert, key, gnutls_strerror(ret));
		gnutls_certificate_free_credentials(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}
#endif

int vnc_tls_check(const char *cert, const char *key)
{
	int ret = check_readable("--tls-cert", cert);

	if (ret == 0)
		ret = check_readable("--tls-key", key);
#ifdef MIRAGE_VNC_GNUTLS
	if (ret == 0) {
		gnutls_certificate_credentials_t creds;
		ret = load_creds(&creds, cert, key);
		if (ret == 0)
			gnutls_certificate_free_credentials(creds);
	}
#endif
	return ret;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

int vnc_http_create(struct vnc_http **out, const char *addr, int port, const char *root,
		    int rfb_port, const char *cert, const char *key)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct vnc_http *h;
	int one = 1, ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->listen_fd = h->root_fd = h->wake[0] = h->wake[1] = -1;
	h->rfb_port = rfb_port;
	for (int i = 0; i < HTTP_CONNS_MAX; i++)
		h->conns[i].fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		vnc_log("http: %s: not an IPv4 address", addr);
		ret = -EINVAL;
		goto fail;
	}
#ifdef MIRAGE_VNC_GNUTLS
	if (cert && key && (ret = load_creds(&h->creds, cert, key)) < 0)
		goto fail;
#else
	(void)cert;
	(void)key;
#endif
	h->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->root_fd < 0) {
		ret = -errno;
		vnc_log("--http-dir %s: %s", root, strerror(errno));
		goto fail;
	}
	h->root = fd_path(h->root_fd);
	if (!h->root) {
		ret = -ENOENT;
		vnc_log("--http-dir %s: its real path is not in /proc/self/fd (needed to keep "
			"the files served under it)", root);
		goto fail;
	}
	h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0) {
		ret = -errno;
		vnc_log("http: socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(h->listen_fd, HTTP_CONNS_MAX) < 0) {
		ret = -errno;
		vnc_log("cannot listen on %s:%d (HTTP): %s", addr, port, strerror(errno));
		goto fail;
	}
	if (pipe2(h->wake, O_CLOEXEC) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = -pthread_create(&h->thread, NULL, listen_thread, h);
	if (ret < 0) {
		vnc_log("http: thread: %s", strerror(-ret));
		goto fail;
	}
	h->thread_started = true;
	*out = h;
	return 0;
fail:
	vnc_http_destroy(h);
	return ret;
}

void vnc_http_destroy(struct vnc_http *h)
{
	struct timespec end;

	if (!h)
		return;
	if (h->thread_started) {
		if (write(h->wake[1], "x", 1) < 0)
			vnc_debug("http: wake: %s", strerror(errno));
		pthread_join(h->thread, NULL);
	}
	/* Cut the open connections short and wait (bounded) for their threads. */
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 2;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	for (int i = 0; i < HTTP_CONNS_MAX; i++)
		if (h->conns[i].fd >= 0)
			shutdown(h->conns[i].fd, SHUT_RDWR);
	while (h->nconns > 0)
		if (pthread_cond_timedwait(&h->idle, &h->lock, &end) == ETIMEDOUT)
			break;
	bool busy = h->nconns > 0;
	pthread_mutex_unlock(&h->lock);
	if (busy) {
		/* A thread still runs and uses h: leak it rather than crash. */
		vnc_log("http: %d connection(s) did not finish", h->nconns);
		return;
	}
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->root_fd >= 0)
		close(h->root_fd);
	free(h->root);
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
#ifdef MIRAGE_VNC_GNUTLS
	if (h->creds)
		gnutls_certificate_free_credentials(h->creds);
#endif
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
