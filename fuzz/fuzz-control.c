/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control socket: one driver (created once, in a
 * private MIRAGE_DIR), and per input a fresh SOCK_SEQPACKET connection that
 * sends the input as request messages, then a check that the driver still
 * serves a well-behaved client.
 *
 * Input: byte 0 selects the preamble (low 2 bits: nothing, VERSION,
 * VERSION + PIPE_MAP, VERSION + ATTACH; bit 2: split the rest at byte 1's
 * value into two messages); the rest is sent verbatim.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mirage/driver.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mirage_driver *drv;
static struct mirage_driver_impl impl = { .name = "fuzz" };
static char dir[256];
static struct sockaddr_un addr = { .sun_family = AF_UNIX };

static void cleanup(void)
{
	DIR *d;
	struct dirent *e;

	mirage_driver_destroy(drv);
	drv = NULL;
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mirage_driver_config cfg;
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/mirage-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || setenv("MIRAGE_DIR", dir, 1) < 0)
		abort();
	mirage_driver_config_init(&cfg);
	cfg.name = "fuzz";
	cfg.width = 64;
	cfg.height = 48;
	cfg.native_bpp = 32;
	cfg.capacity = 64;
	if (mirage_driver_create(&drv, &cfg, &impl) < 0)
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", mirage_driver_socket_path(drv));
	atexit(cleanup);
	return 0;
}

static int open_conn(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort(); /* the listening socket must always be there */
	return fd;
}

static void send_msg(int fd, uint32_t code, const void *payload, uint32_t len)
{
	uint8_t buf[sizeof(struct mirage_msg) + 64];
	struct mirage_msg m = { .code = code, .length = len, .serial = 1 };

	memcpy(buf, &m, sizeof(m));
	if (len)
		memcpy(buf + sizeof(m), payload, len);
	(void)send(fd, buf, sizeof(m) + len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Reads every reply waiting; closes the descriptors that come with them. */
static int drain(int fd, struct mirage_msg *last)
{
	uint8_t buf[MIRAGE_MSG_MAX_SIZE + 64];
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	int replies = 0;

	for (;;) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
		};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return replies;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t i = 0; i < k; i++) {
					int f;

					memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
					close(f);
				}
			}
		}
		if (last && (size_t)n >= sizeof(*last))
			memcpy(last, buf, sizeof(*last));
		replies++;
	}
}

static void dispatch(void)
{
	if (mirage_driver_dispatch(drv) < 0)
		abort();
}

/* A well-behaved client is still answered: VERSION then TEST. */
static void check_alive(void)
{
	struct mirage_version_in vin = { MIRAGE_PROTO_VERSION, MIRAGE_PROTO_MIN_COMPAT };
	struct mirage_msg last;
	int fd = open_conn();

	send_msg(fd, MIRAGE_ESC_VERSION, &vin, sizeof(vin));
	send_msg(fd, MIRAGE_ESC_TEST, NULL, 0);
	dispatch();
	dispatch();
	memset(&last, 0, sizeof(last));
	if (drain(fd, &last) != 2 || last.code != MIRAGE_ESC_TEST || last.status != 1) {
		fprintf(stderr, "fuzz: the driver stopped serving a good client\n");
		abort();
	}
	close(fd);
}

/* Undo settings the input may have changed, so runs stay independent. */
static void reset_settings(void)
{
	static const char text[] = "Cap.Bootup=0 Cap.DfbBackingMode=3 Screen.ForcedBpp=0 "
				   "Pointer.Enabled=0 Order.BltCopyBits.Enabled=1 "
				   "Order.SolidFill.Enabled=0";
	const struct mirage_settings *s = mirage_driver_settings(drv);
	struct mirage_version_in vin = { MIRAGE_PROTO_VERSION, MIRAGE_PROTO_MIN_COMPAT };
	uint8_t buf[sizeof(struct mirage_msg) + sizeof(text)];
	struct mirage_msg m = { .code = MIRAGE_ESC_SETTINGS_SET, .length = sizeof(text) - 1 };
	int fd;

	if (s->bootup == 0 && s->backing_mode == 3 && s->forced_bpp == 0 && s->pointer_enabled == 0 &&
	    s->blt_copybits == 1 && s->solidfill == 0)
		return;
	fd = open_conn();
	send_msg(fd, MIRAGE_ESC_VERSION, &vin, sizeof(vin));
	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), text, sizeof(text) - 1);
	(void)send(fd, buf, sizeof(m) + sizeof(text) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	dispatch();
	dispatch();
	drain(fd, NULL);
	close(fd);
	dispatch();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mirage_version_in vin = { MIRAGE_PROTO_VERSION, MIRAGE_PROTO_MIN_COMPAT };
	struct mirage_attach_in ain = { 0, 0 };
	uint8_t mode;
	int fd;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;

	fd = open_conn();
	if (mode & 3)
		send_msg(fd, MIRAGE_ESC_VERSION, &vin, sizeof(vin));
	if ((mode & 3) == 2)
		send_msg(fd, MIRAGE_ESC_PIPE_MAP, NULL, 0);
	if ((mode & 3) == 3)
		send_msg(fd, MIRAGE_ESC_ATTACH, &ain, sizeof(ain));
	if ((mode & 4) && size >= 2) {
		size_t cut = 1 + data[0] % (size - 1);

		(void)send(fd, data + 1, cut, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)send(fd, data + 1 + cut, size - 1 - cut, MSG_NOSIGNAL | MSG_DONTWAIT);
	} else {
		(void)send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	for (int i = 0; i < 4; i++) {
		dispatch();
		drain(fd, NULL);
	}
	/* Publishing must still work whatever the input did (attach, settings). */
	mirage_driver_post_rect(drv, MIRAGE_REC_BLIT, 0, 0, 8, 8);
	mirage_driver_publish(drv);
	close(fd);
	dispatch(); /* sees the close: drops the manager role, detaches */
	reset_settings();
	check_alive();
	return 0;
}
