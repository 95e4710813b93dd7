/* SPDX-License-Identifier: MIT */
/*
 * VNC authentication attempts against an RFB server, from a chosen source
 * address, for the access tests (libvncclient cannot bind its socket).
 *
 *   auth-check --port P --password PW [--host ADDR] [--source ADDR] [--count N]
 *
 * Makes N (default 1) connections one after another, each up to the
 * security result (RFB 3.8, VNC authentication), and prints one line:
 *   ok=N failed=N refused=N ms=T seq=LETTERS
 * where a letter per attempt is O (accepted), F (the password refused) or
 * R (the connection closed before a result: refused outright), and T the
 * wall time of all attempts in milliseconds.  Exit status 0 when every
 * attempt got one of those answers, 1 on anything else (no connection,
 * no VNC authentication offered, a timeout).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfbproto.h>

enum answer { ANSWER_OK, ANSWER_FAILED, ANSWER_REFUSED, ANSWER_ERROR };

/* Reads len bytes: 1, 0 at an end of stream before them, -1 on an error. */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNRESET)
			return 0;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static int open_conn(const char *host, int port, const char *source)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 10 };
	int fd;

	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1 ||
	    (source && inet_pton(AF_INET, source, &src.sin_addr) != 1)) {
		fprintf(stderr, "auth-check: not an IPv4 address\n");
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((source && bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		fprintf(stderr, "auth-check: %s:%d: %s\n", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static enum answer attempt(const char *host, int port, const char *source, const char *password)
{
	char version[12], pw[9] = { 0 };
	unsigned char n, types[255], challenge[16], result[4];
	enum answer a = ANSWER_ERROR;
	int fd = open_conn(host, port, source), r;
	bool vnc_auth = false;

	if (fd < 0)
		return ANSWER_ERROR;
	r = read_all(fd, version, sizeof(version));
	if (r <= 0) {
		a = r == 0 ? ANSWER_REFUSED : ANSWER_ERROR;
		goto out;
	}
	if (memcmp(version, "RFB 003.", 8) != 0 || !write_all(fd, "RFB 003.008\n", 12))
		goto out;
	r = read_all(fd, &n, 1);
	if (r <= 0 || n == 0) {
		/* No security types: a refusal with a reason. */
		a = r >= 0 ? ANSWER_REFUSED : ANSWER_ERROR;
		goto out;
	}
	if (read_all(fd, types, n) <= 0)
		goto out;
	for (int i = 0; i < n; i++)
		vnc_auth |= types[i] == rfbVncAuth;
	if (!vnc_auth) {
		fprintf(stderr, "auth-check: no VNC authentication offered\n");
		goto out;
	}
	if (!write_all(fd, &(unsigned char){ rfbVncAuth }, 1))
		goto out;
	r = read_all(fd, challenge, sizeof(challenge));
	if (r <= 0) {
		a = r == 0 ? ANSWER_REFUSED : ANSWER_ERROR;
		goto out;
	}
	snprintf(pw, sizeof(pw), "%s", password);
	rfbEncryptBytes(challenge, pw);
	if (!write_all(fd, challenge, sizeof(challenge)))
		goto out;
	r = read_all(fd, result, sizeof(result));
	if (r <= 0) {
		a = r == 0 ? ANSWER_REFUSED : ANSWER_ERROR;
		goto out;
	}
	a = memcmp(result, "\0\0\0\0", 4) == 0 ? ANSWER_OK : ANSWER_FAILED;
out:
	if (a == ANSWER_ERROR)
		fprintf(stderr, "auth-check: attempt failed: %s\n", strerror(errno));
	close(fd);
	return a;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'h' },
		{ "source", required_argument, NULL, 's' },
		{ "password", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *host = "127.0.0.1", *source = NULL, *password = NULL;
	int port = 0, count = 1, c, got[4] = { 0 };
	char *seq;
	long long start;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'h': host = optarg; break;
		case 's': source = optarg; break;
		case 'P': password = optarg; break;
		case 'n': count = atoi(optarg); break;
		default: return 2;
		}
	}
	if (port <= 0 || !password || count < 1 || count > 10000) {
		fprintf(stderr, "usage: auth-check --port P --password PW [--host ADDR] [--source ADDR] [--count N]\n");
		return 2;
	}
	seq = calloc((size_t)count + 1, 1);
	if (!seq)
		return 1;
	start = now_ms();
	for (int i = 0; i < count; i++) {
		enum answer a = attempt(host, port, source, password);
		got[a]++;
		seq[i] = "OFR?"[a];
		if (a == ANSWER_ERROR)
			break;
	}
	printf("ok=%d failed=%d refused=%d ms=%lld seq=%s\n", got[ANSWER_OK], got[ANSWER_FAILED],
	       got[ANSWER_REFUSED], now_ms() - start, seq);
	free(seq);
	return got[ANSWER_ERROR] ? 1 : 0;
}
