/* SPDX-License-Identifier: MIT */
/* Small shared pieces: runtime directory, names, formats, socket messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private.h"

MIRAGE_EXPORT char *mirage_version_format(uint32_t v, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", MIRAGE_VERSION_MAJOR(v), MIRAGE_VERSION_MINOR(v),
		 MIRAGE_VERSION_PATCH(v), MIRAGE_VERSION_BUILD(v));
	return buf;
}

MIRAGE_EXPORT int mirage_runtime_dir(char *buf, size_t size, bool create)
{
	const char *env = getenv("MIRAGE_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/mirage", xdg);
	else
		n = snprintf(buf, size, "/tmp/mirage-%u", (unsigned)getuid());
	if (n < 0 || (size_t)n >= size)
		return mirage_fail(ENAMETOOLONG, "runtime directory path is too long");
	if (!create)
		return 0;

	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return mirage_fail(errno, "mkdir %s: %s", buf, strerror(errno));
	/* lstat: a symlink planted in /tmp must not redirect our sockets. */
	if (lstat(buf, &st) < 0)
		return mirage_fail(errno, "stat %s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return mirage_fail(ENOTDIR, "%s is not a directory", buf);
	if (st.st_uid != geteuid())
		return mirage_fail(EPERM, "%s belongs to uid %u, not to us", buf, (unsigned)st.st_uid);
	if (st.st_mode & 0077) {
		/* Only our own, freshly made or fixable directory is acceptable. */
		if (chmod(buf, 0700) < 0)
			return mirage_fail(errno, "%s is open to others and chmod failed: %s",
					   buf, strerror(errno));
	}
	return 0;
}

bool mirage_name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name || name[0] == '.')
		return false;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n < MIRAGE_NAME_MAX;
}

uint32_t mirage_stride(int32_t width, uint32_t bpp)
{
	return ((uint32_t)width * (bpp >> 3) + 3) & ~3u;
}

void mirage_format_masks(uint32_t bpp, uint32_t *r, uint32_t *g, uint32_t *b)
{
	switch (bpp) {
	case 16:
		*r = 0xf800, *g = 0x07e0, *b = 0x001f;
		break;
	case 24:
	case 32:
		*r = 0xff0000, *g = 0x00ff00, *b = 0x0000ff;
		break;
	default:
		*r = *g = *b = 0;
	}
}

int mirage_send_msg(int fd, uint32_t code, uint32_t serial, int32_t status,
		    const void *payload, size_t length, const int *fds, unsigned nfds)
{
	struct mirage_msg hdr = {
		.code = code, .length = (uint32_t)length, .serial = serial, .status = status,
	};
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = length },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = length ? 2 : 1 };
	ssize_t n;

	if (length > MIRAGE_MSG_MAX_PAYLOAD || nfds > 4)
		return -EMSGSIZE;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(hdr) + length)
		return -EMSGSIZE;
	return 0;
}

ssize_t mirage_recv_msg(int fd, void *buf, size_t size, int *fds, unsigned max_fds, unsigned *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	*nfds = 0;
	do {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int rfd;
			memcpy(&rfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*nfds < max_fds)
				fds[(*nfds)++] = rfd;
			else
				close(rfd);
		}
	}
	/* A truncated message or descriptors we could not take: refuse it. */
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EMSGSIZE;
	}
	return n;
}
