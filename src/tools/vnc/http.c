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
 * GnuTLS session (handshake bounded by HTTP_TIMEOUT_S), and files are read
 * and sent through the session instead of sendfile().  The page then makes
 * noVNC use wss on the RFB port, where libvncserver does the TLS.
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

#ifdef MIRAGE_VNC_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include "vnc.h"

#define HTTP_CONNS_MAX 32     /* connections served at once */
#define HTTP_REQUEST_MAX 8192 /* request line and headers */
#define HTTP_TIMEOUT_S 10     /* a client that sends or reads nothing */

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
	int conns[HTTP_CONNS_MAX]; /* open connection sockets, -1 when free */
	int nconns;
	bool stopping;
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
		/* GNUTLS_E_AGAIN here is SO_RCVTIMEO expiring: give up. */
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
	gnutls_handshake_set_timeout(c->tls, HTTP_TIMEOUT_S * 1000);
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

static void send_status(struct conn *c, int code, const char *reason, const char *extra)
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
		send_all(c, buf, (size_t)n);
}

/* Reads the request head (up to the empty line); its length or -1. */
static ssize_t read_head(struct conn *c, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t n = conn_recv(c, buf + len, size - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
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
	char buf[HTTP_REQUEST_MAX], method[16], target[4096], path[4096];
	bool head;

	if (read_head(c, buf, sizeof(buf)) < 0) {
		send_status(c, 400, "Bad Request", NULL);
		return;
	}
	if (sscanf(buf, "%15s %4095s HTTP/%*d.%*d", method, target) != 2) {
		send_status(c, 400, "Bad Request", NULL);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		send_status(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (!target_to_path(target, path, sizeof(path))) {
		send_status(c, 400, "Bad Request", NULL);
		return;
	}
	if (path[0] == '\0') {
		/* "/": noVNC, connecting at once to this host's RFB port
		 * (with wss when the page came over HTTPS). */
		char loc[128];
		snprintf(loc, sizeof(loc), "Location: /vnc.html?autoconnect=1&port=%d&path=%s\r\n",
			 h->rfb_port, tls_enabled(h) ? "&encrypt=1" : "");
		send_status(c, 302, "Found", loc);
		return;
	}
	vnc_debug("http: %s %s", method, path);
	serve_file(c, path, head);
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
	h->conns[c->slot] = -1;
	h->nconns--;
	close(c->fd);
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	free(c);
	return NULL;
}

static void start_conn(struct vnc_http *h, int fd, const struct sockaddr_in *from)
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
		/* Over TLS a plain answer would be noise: just close. */
		struct conn busy = { .h = h, .fd = fd };
		if (!tls_enabled(h))
			send_status(&busy, 503, "Service Unavailable", NULL);
		close(fd);
		return;
	}
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
		h->conns[i] = -1;
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
