/* SPDX-License-Identifier: MIT */
/*
 * The RFB torture client of test-torture.sh: connections that stop
 * halfway, written with plain sockets (a real viewer library would not
 * misbehave on purpose).
 *
 *   torture --port P MODE [--count N] [--hold S]
 *
 * Each of N connections (default 1) to 127.0.0.1:P, one after another:
 *   half-version   reads the server's ProtocolVersion, sends "RFB 003.008"
 *                  without its newline, closes
 *   half-request   the whole handshake (security None), then 3 bytes of a
 *                  FramebufferUpdateRequest, closes
 *   trickle        waits 30 ms, sends 1-3 bytes ("RFB", "GET " cut
 *                  short, binary), waits 300 ms, closes
 *   ws-trickle     sends a WebSocket request head a byte every 200 ms,
 *                  never finishing it, for S seconds (--hold), closes
 *   stuck          the handshake, SetEncodings Raw only (so the server
 *                  draws the cursor into its updates), full update
 *                  requests, then holds the connection S seconds (--hold,
 *                  default 10) without reading a byte
 * Exit status 0 when every connection did what its mode says (a server
 * that closes first counts: the mode is about what the client does), 1 on
 * a failure to connect or a handshake that went wrong.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "torture: connect to port %d: %s\n", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool get(int fd, void *buf, size_t n)
{
	for (size_t at = 0; at < n;) {
		ssize_t r = recv(fd, (char *)buf + at, n - at, 0);

		if (r <= 0) {
			fprintf(stderr, "torture: the server %s during the handshake\n",
				r == 0 ? "closed" : strerror(errno));
			return false;
		}
		at += (size_t)r;
	}
	return true;
}

static bool put(int fd, const void *buf, size_t n)
{
	if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
		fprintf(stderr, "torture: send: %s\n", strerror(errno));
		return false;
	}
	return true;
}

/* The RFB 3.8 handshake with security None; *w, *h: the framebuffer. */
static bool handshake(int fd, int *w, int *h)
{
	unsigned char b[64];
	uint32_t name_len;

	if (!get(fd, b, 12) || !put(fd, "RFB 003.008\n", 12) || !get(fd, b, 1))
		return false;
	if (b[0] == 0) {
		fprintf(stderr, "torture: the server refused the connection\n");
		return false;
	}
	if (!get(fd, b + 1, b[0]) || memchr(b + 1, 1, b[0]) == NULL) {
		fprintf(stderr, "torture: the server does not offer security None\n");
		return false;
	}
	if (!put(fd, "\x01", 1) || !get(fd, b, 4) || (b[0] | b[1] | b[2] | b[3]) != 0 ||
	    !put(fd, "\x01", 1) || !get(fd, b, 24))
		return false;
	*w = b[0] << 8 | b[1];
	*h = b[2] << 8 | b[3];
	name_len = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
	while (name_len > 0) {
		size_t n = name_len < sizeof(b) ? name_len : sizeof(b);

		if (!get(fd, b, n))
			return false;
		name_len -= (uint32_t)n;
	}
	return true;
}

static bool request(int fd, bool incremental, int w, int h)
{
	unsigned char m[10] = { 3, incremental, 0, 0, 0, 0, (unsigned char)(w >> 8),
				(unsigned char)w, (unsigned char)(h >> 8), (unsigned char)h };

	return put(fd, m, sizeof(m));
}

static bool half_version(int fd)
{
	char pv[12];

	return get(fd, pv, sizeof(pv)) && put(fd, "RFB 003.008", 11);
}

static bool half_request(int fd)
{
	int w, h;

	return handshake(fd, &w, &h) && put(fd, "\x03\x01\x00", 3);
}

static bool trickle(int fd, int i)
{
	static const char *const bits[] = { "RFB", "GE", "\x01", "\x16\x03", "GET" };
	const char *b = bits[i % 5];

	pause_ms(30);
	/* The server may have spoken or closed meanwhile: either is fine. */
	send(fd, b, strlen(b), MSG_NOSIGNAL);
	pause_ms(300);
	return true;
}

static bool ws_trickle(int fd, int hold_s)
{
	static const char head[] = "GET /websockify HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n";

	for (int i = 0; i < hold_s * 5 && head[i % (sizeof(head) - 1)]; i++) {
		if (send(fd, head + i % (sizeof(head) - 1), 1, MSG_NOSIGNAL) != 1)
			break; /* the server gave up on it: what it should do */
		pause_ms(200);
	}
	return true;
}

static bool stuck(int fd, int hold_s)
{
	/* SetEncodings: Raw only (no cursor pseudo-encodings). */
	static const unsigned char raw_only[] = { 2, 0, 0, 1, 0, 0, 0, 0 };
	int w, h, small = 4096;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (!handshake(fd, &w, &h) || !put(fd, raw_only, sizeof(raw_only)) ||
	    !request(fd, false, w, h))
		return false;
	for (int i = 0; i < hold_s * 10; i++) {
		/* Asks again and again, reads nothing; the server may drop it. */
		if (send(fd, (unsigned char[10]){ 3, 1, 0, 0, 0, 0, (unsigned char)(w >> 8),
						  (unsigned char)w, (unsigned char)(h >> 8),
						  (unsigned char)h },
			 10, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		pause_ms(100);
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *mode = NULL;
	int port = 0, count = 1, hold = 10, failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = atoi(argv[++i]);
		else if (!mode && argv[i][0] != '-')
			mode = argv[i];
		else
			mode = NULL, i = argc;
	}
	if (!mode || port <= 0 || count < 1) {
		fprintf(stderr, "usage: torture --port P half-version|half-request|trickle|"
				"ws-trickle|stuck [--count N] [--hold S]\n");
		return 2;
	}
	for (int i = 0; i < count; i++) {
		int fd = dial(port);
		bool ok;

		if (fd < 0)
			return 1;
		if (!strcmp(mode, "half-version"))
			ok = half_version(fd);
		else if (!strcmp(mode, "half-request"))
			ok = half_request(fd);
		else if (!strcmp(mode, "trickle"))
			ok = trickle(fd, i);
		else if (!strcmp(mode, "ws-trickle"))
			ok = ws_trickle(fd, hold);
		else if (!strcmp(mode, "stuck"))
			ok = stuck(fd, hold);
		else {
			fprintf(stderr, "torture: unknown mode %s\n", mode);
			close(fd);
			return 2;
		}
		close(fd);
		failed += !ok;
	}
	return failed ? 1 : 0;
}
