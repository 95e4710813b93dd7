/* SPDX-License-Identifier: MIT */
/*
 * The door (door.h): connections wait here until their first bytes are
 * there.  Nothing here blocks: bytes are peeked, never read, so that what
 * libvncserver reads next is the connection's own beginning.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "door.h"
#include "log.h"

static void drop(struct vnc_doors *d, int i)
{
	d->conn[i] = d->conn[--d->n];
}

void vnc_doors_add(struct vnc_doors *d, int fd, int64_t now)
{
	struct vnc_door_conn *c;
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);

	if (d->n == VNC_DOORS_MAX) {
		int oldest = 0;

		for (int i = 1; i < d->n; i++) {
			if (d->conn[i].since < d->conn[oldest].since)
				oldest = i;
		}
		vnc_log("connection from %s closed: %d connections had not said what they are",
			d->conn[oldest].host, VNC_DOORS_MAX);
		close(d->conn[oldest].fd);
		drop(d, oldest);
	}
	c = &d->conn[d->n++];
	c->fd = fd;
	c->since = now;
	c->lowat = 1;
	if (getpeername(fd, (struct sockaddr *)&addr, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&addr, len, c->host, sizeof(c->host), NULL, 0,
			NI_NUMERICHOST) != 0)
		snprintf(c->host, sizeof(c->host), "?");
}

int vnc_doors_fill(const struct vnc_doors *d, struct pollfd *fds)
{
	for (int i = 0; i < d->n; i++)
		fds[i] = (struct pollfd){ .fd = d->conn[i].fd, .events = POLLIN | POLLRDHUP };
	return d->n;
}

/* When connection c's time is up: quiet for QUIET_MS, or talking. */
static int64_t deadline(const struct vnc_door_conn *c)
{
	return c->since + (c->lowat > 1 ? VNC_DOOR_MS : VNC_DOOR_QUIET_MS);
}

int vnc_doors_timeout(const struct vnc_doors *d, int64_t now)
{
	int64_t first = -1;

	for (int i = 0; i < d->n; i++) {
		int64_t t = deadline(&d->conn[i]);

		if (first < 0 || t < first)
			first = t;
	}
	if (first < 0)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

static short revents_of(const struct pollfd *fds, int nfds, int fd)
{
	for (int i = 0; i < nfds; i++) {
		if (fds[i].fd == fd)
			return fds[i].revents;
	}
	return 0;
}

/* What connection c is now; VNC_DOOR_WAIT while it may still say. */
static enum vnc_door look(struct vnc_door_conn *c, short revents, int64_t now)
{
	unsigned char b[VNC_DOOR_PEEK];
	bool ended = revents & (POLLRDHUP | POLLHUP | POLLERR);
	ssize_t got = recv(c->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	enum vnc_door kind;

	if (got < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			ended = true;
		got = 0;
	} else if (got == 0) {
		ended = true;
	}
	kind = vnc_door_sniff(b, (size_t)got, ended);
	if (kind != VNC_DOOR_WAIT)
		return kind;
	if (got == 0)
		return now >= deadline(c) ? VNC_DOOR_QUIET : VNC_DOOR_WAIT;
	/* Readable again only once more came (a peek leaves the bytes). */
	if (got + 1 != c->lowat) {
		int val = (int)got + 1;

		if (setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &val, sizeof(val)) < 0)
			return VNC_DOOR_JUNK;
		c->lowat = val;
	}
	return now >= deadline(c) ? VNC_DOOR_JUNK : VNC_DOOR_WAIT;
}

int vnc_doors_next(struct vnc_doors *d, const struct pollfd *fds, int nfds, int64_t now,
		   enum vnc_door *kind, char *host, size_t host_len)
{
	for (int i = 0; i < d->n;) {
		struct vnc_door_conn *c = &d->conn[i];
		short revents = revents_of(fds, nfds, c->fd);
		enum vnc_door k;
		int fd;

		if (!revents && now < deadline(c)) {
			i++;
			continue;
		}
		k = look(c, revents, now);
		if (k == VNC_DOOR_WAIT) {
			i++;
			continue;
		}
		fd = c->fd;
		if (k == VNC_DOOR_JUNK) {
			if (c->lowat > 1 || !(revents & (POLLRDHUP | POLLHUP | POLLERR)))
				vnc_log("connection from %s closed: not RFB, WebSocket or TLS, or too slow to say",
					c->host);
			else
				vnc_debug("connection from %s ended before it said anything", c->host);
			close(fd);
			drop(d, i);
			continue;
		}
		/* libvncserver's reads wait for readability: every byte counts. */
		if (c->lowat != 1)
			setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &(int){ 1 }, sizeof(int));
		snprintf(host, host_len, "%s", c->host);
		drop(d, i);
		*kind = k;
		return fd;
	}
	return -1;
}

void vnc_doors_finish(struct vnc_doors *d)
{
	for (int i = 0; i < d->n; i++)
		close(d->conn[i].fd);
	d->n = 0;
}
