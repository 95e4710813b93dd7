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
 * Threads: the listener thread accepts; each connection has a detached
 * thread.  `lock` protects `conns` and `nconns`; vnc_http_destroy() shuts
 * the open connections down and waits for their threads to finish.
 */
#include <arpa/inet.h>
#include <ctype.h>
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

#include "vnc.h"

#define HTTP_CONNS_MAX 32     /* connections served at once */
#define HTTP_REQUEST_MAX 8192 /* request line and headers */
#define HTTP_TIMEOUT_S 10     /* a client that sends or reads nothing */

struct vnc_http {
	int listen_fd;
	int root_fd;          /* the served directory, for openat() */
	int wake[2];          /* tells the listener thread to stop */
	int rfb_port;         /* for the redirect of "/" */
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock;
	pthread_cond_t idle;  /* signalled when nconns drops */
	int conns[HTTP_CONNS_MAX]; /* open connection sockets, -1 when free */
	int nconns;
	bool stopping;
};

struct conn {
	struct vnc_http *h;
	int fd;
	int slot;
};

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

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Turns a request target into a path relative to the served directory:
 * the query and fragment dropped, %XX decoded, no "..", no NUL, no empty
 * name.  Returns false for a target that must be refused.
 */
static bool target_to_path(const char *target, char *out, size_t size)
{
	size_t n = 0;

	if (target[0] != '/')
		return false;
	while (*target == '/')
		target++;
	for (const char *p = target; *p && *p != '?' && *p != '#'; p++) {
		int c = (unsigned char)*p;

		if (c == '%') {
			int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
			if (hi < 0 || lo < 0)
				return false;
			c = hi << 4 | lo;
			p += 2;
		}
		if (c == '\0' || c == '\\' || n + 1 >= size)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	/* Refuse any ".." segment, and a path that starts at the root. */
	for (const char *seg = out; *seg;) {
		size_t len = strcspn(seg, "/");
		if ((len == 2 && seg[0] == '.' && seg[1] == '.') || (len == 0 && seg == out))
			return false;
		seg += len;
		if (*seg == '/')
			seg++;
	}
	return true;
}

static bool send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static void send_status(int fd, int code, const char *reason, const char *extra)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n"
			 "%d %s\n",
			 code, reason, strlen(reason) + 5, extra ? extra : "", code, reason);

	if (n > 0 && (size_t)n < sizeof(buf))
		send_all(fd, buf, (size_t)n);
}

/* Reads the request head (up to the empty line); its length or -1. */
static ssize_t read_head(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void serve_file(struct vnc_http *h, int fd, const char *path, bool head)
{
	char hdr[512];
	struct stat st;
	int file, n;

	file = openat(h->root_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (file < 0) {
		send_status(fd, 404, "Not Found", NULL);
		return;
	}
	if (fstat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(file);
		send_status(fd, 404, "Not Found", NULL);
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
	if (n > 0 && (size_t)n < sizeof(hdr) && send_all(fd, hdr, (size_t)n) && !head) {
		off_t off = 0;
		while (off < st.st_size) {
			ssize_t sent = sendfile(fd, file, &off, (size_t)(st.st_size - off));
			if (sent < 0 && errno == EINTR)
				continue;
			if (sent <= 0)
				break;
		}
	}
	close(file);
}

static void handle(struct vnc_http *h, int fd)
{
	char buf[HTTP_REQUEST_MAX], method[16], target[4096], path[4096];
	bool head;

	if (read_head(fd, buf, sizeof(buf)) < 0) {
		send_status(fd, 400, "Bad Request", NULL);
		return;
	}
	if (sscanf(buf, "%15s %4095s HTTP/%*d.%*d", method, target) != 2) {
		send_status(fd, 400, "Bad Request", NULL);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		send_status(fd, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (!target_to_path(target, path, sizeof(path))) {
		send_status(fd, 400, "Bad Request", NULL);
		return;
	}
	if (path[0] == '\0') {
		/* "/": noVNC, connecting at once to this host's RFB port. */
		char loc[128];
		snprintf(loc, sizeof(loc), "Location: /vnc.html?autoconnect=1&port=%d&path=\r\n",
			 h->rfb_port);
		send_status(fd, 302, "Found", loc);
		return;
	}
	vnc_debug("http: %s %s", method, path);
	serve_file(h, fd, path, head);
}

static void *conn_thread(void *data)
{
	struct conn *c = data;
	struct vnc_http *h = c->h;

	handle(h, c->fd);
	/* Let the client read all before the close (no RST on unread input). */
	shutdown(c->fd, SHUT_WR);
	pthread_mutex_lock(&h->lock);
	h->conns[c->slot] = -1;
	h->nconns--;
	close(c->fd);
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	free(c);
	return NULL;
}

static void start_conn(struct vnc_http *h, int fd)
{
	struct timeval tv = { .tv_sec = HTTP_TIMEOUT_S };
	struct conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int slot = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < HTTP_CONNS_MAX && !h->stopping; i++) {
		if (h->conns[i] < 0) {
			slot = i;
			break;
		}
	}
	if (slot >= 0) {
		h->conns[slot] = fd;
		h->nconns++;
	}
	pthread_mutex_unlock(&h->lock);
	if (slot < 0) {
		send_status(fd, 503, "Service Unavailable", NULL);
		close(fd);
		return;
	}
	c = malloc(sizeof(*c));
	if (c) {
		*c = (struct conn){ .h = h, .fd = fd, .slot = slot };
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
	h->conns[slot] = -1;
	h->nconns--;
	pthread_mutex_unlock(&h->lock);
	close(fd);
}

static void *listen_thread(void *data)
{
	struct vnc_http *h = data;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = h->listen_fd, .events = POLLIN },
			{ .fd = h->wake[0], .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			vnc_log("http: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				start_conn(h, fd);
			else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				usleep(10 * 1000); /* e.g. EMFILE: do not spin */
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

int vnc_http_create(struct vnc_http **out, const char *addr, int port, const char *root,
		    int rfb_port)
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
		h->conns[i] = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		vnc_log("http: %s: not an IPv4 address", addr);
		ret = -EINVAL;
		goto fail;
	}
	h->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->root_fd < 0) {
		ret = -errno;
		vnc_log("--http-dir %s: %s", root, strerror(errno));
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
	    listen(h->listen_fd, 16) < 0) {
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
		if (h->conns[i] >= 0)
			shutdown(h->conns[i], SHUT_RDWR);
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
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
