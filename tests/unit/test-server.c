/* SPDX-License-Identifier: MIT */
/*
 * White-box: the control server (control.c) behind a fake table of
 * operations instead of driver.c, as private.h promises: every request
 * that needs the driver goes through the table it was given at creation,
 * and what the table answers is what the peer gets.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "private.h"

/* Stands in for a struct mirage_driver: control.c only hands the pointer back. */
struct fake {
	struct mirage_pipe pipe;
	struct mirage_settings settings;
	int attach_calls, detach_calls, set_calls, closed_calls, info_calls;
	uint32_t attach_flags;
};

static struct fake *from_drv(const struct mirage_driver *drv)
{
	return (struct fake *)drv;
}

static struct mirage_pipe *f_pipe(struct mirage_driver *drv)
{
	return &from_drv(drv)->pipe;
}

static const struct mirage_settings *f_settings(const struct mirage_driver *drv)
{
	return &from_drv(drv)->settings;
}

static const struct mirage_conn *f_manager(const struct mirage_driver *drv)
{
	(void)drv;
	return NULL;
}

static void f_log(struct mirage_driver *drv, enum mirage_log_level level, const char *text)
{
	(void)drv;
	fprintf(stderr, "server log %d: %s\n", (int)level, text);
}

static int f_attach(struct mirage_driver *drv, struct mirage_conn *conn, uint32_t flags,
		    char *msg, size_t msglen)
{
	(void)conn;
	from_drv(drv)->attach_calls++;
	from_drv(drv)->attach_flags = flags;
	snprintf(msg, msglen, "fake attach refuses");
	return -EBUSY;
}

static int f_detach(struct mirage_driver *drv, struct mirage_conn *conn, char *msg, size_t msglen)
{
	(void)conn;
	(void)msg;
	(void)msglen;
	from_drv(drv)->detach_calls++;
	return 0;
}

static int f_settings_set(struct mirage_driver *drv, struct mirage_conn *conn, const char *text,
			  char *msg, size_t msglen)
{
	(void)conn;
	from_drv(drv)->set_calls++;
	snprintf(msg, msglen, "fake settings refuse %s", text);
	return -EPERM;
}

static void f_conn_closed(struct mirage_driver *drv, struct mirage_conn *conn)
{
	(void)conn;
	from_drv(drv)->closed_calls++;
}

static size_t f_fill_info(struct mirage_driver *drv, struct mirage_info_out *info, char *stats,
			  size_t size)
{
	from_drv(drv)->info_calls++;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "fake");
	snprintf(info->driver, sizeof(info->driver), "fake-ops");
	info->width = 16;
	return (size_t)snprintf(stats, size, "fake=1\n");
}

static const struct mirage_server_ops fake_ops = {
	.pipe = f_pipe,
	.settings = f_settings,
	.manager = f_manager,
	.log = f_log,
	.attach = f_attach,
	.detach = f_detach,
	.settings_set = f_settings_set,
	.conn_closed = f_conn_closed,
	.fill_info = f_fill_info,
};

/* One request; the server is dispatched from this thread until the reply is there. */
static void call(struct mirage_server *srv, int fd, uint32_t code, const void *payload,
		 size_t len, struct th_reply *r)
{
	static uint32_t serial;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	int i;

	CHECK_EQ(th_raw_send(fd, code, ++serial, payload, len), 0);
	for (i = 0; i < 500; i++) {
		CHECK_EQ(mirage_server_dispatch(srv), 0);
		if (poll(&pf, 1, 10) > 0)
			break;
	}
	CHECK(i < 500);
	CHECK(th_raw_recv(fd, r, 1000) > 0);
	CHECK_EQ(r->hdr.serial, serial);
}

static void test_requests_go_through_the_table(void)
{
	struct mirage_pipe_geometry g = {
		.generation = 1, .width = 16, .height = 16, .bpp = 32,
		.backing_mode = 3, .capacity = 64,
	};
	struct mirage_version_in vin = {
		.client_version = MIRAGE_PROTO_VERSION,
		.server_min_version = MIRAGE_PROTO_MIN_COMPAT,
	};
	struct mirage_attach_in ain = { .flags = MIRAGE_ATTACH_PERSIST };
	struct mirage_info_out info;
	struct mirage_server *srv = NULL;
	struct fake f;
	struct th_reply r;
	int fd;

	memset(&f, 0, sizeof(f));
	CHECK_EQ(mirage_pipe_create(&f.pipe, &g), 0);
	mirage_settings_init(&f.settings);
	f.settings.forced_bpp = 16; /* shows that SETTINGS_GET read ours */
	CHECK_EQ(mirage_server_create(&srv, &fake_ops, (struct mirage_driver *)&f, th_dir(), "ops"), 0);

	fd = th_raw_connect(mirage_server_path(srv));
	CHECK(fd >= 0);
	call(srv, fd, MIRAGE_ESC_VERSION, &vin, sizeof(vin), &r);
	CHECK(r.hdr.status >= 0);

	/* The manager escapes: the table's answer and its reason reach the peer. */
	call(srv, fd, MIRAGE_ESC_ATTACH, &ain, sizeof(ain), &r);
	CHECK_EQ(r.hdr.status, -EBUSY);
	CHECK(strstr(th_reply_text(&r), "fake attach refuses"));
	CHECK_EQ(f.attach_calls, 1);
	CHECK_EQ(f.attach_flags, (uint32_t)MIRAGE_ATTACH_PERSIST);
	call(srv, fd, MIRAGE_ESC_DETACH, NULL, 0, &r);
	CHECK(r.hdr.status >= 0);
	CHECK_EQ(f.detach_calls, 1);
	call(srv, fd, MIRAGE_ESC_SETTINGS_SET, "Cap.Bootup=1", strlen("Cap.Bootup=1"), &r);
	CHECK_EQ(r.hdr.status, -EPERM);
	CHECK(strstr(th_reply_text(&r), "fake settings refuse Cap.Bootup=1"));
	CHECK_EQ(f.set_calls, 1);

	/* Settings and state come from the table too. */
	call(srv, fd, MIRAGE_ESC_SETTINGS_GET, NULL, 0, &r);
	CHECK(r.hdr.status >= 0);
	CHECK(strstr(th_reply_text(&r), "Screen.ForcedBpp=16"));
	call(srv, fd, MIRAGE_ESC_INFO, NULL, 0, &r);
	CHECK(r.hdr.status >= 0);
	CHECK(r.payload_len >= sizeof(info));
	memcpy(&info, r.payload, sizeof(info));
	CHECK_STR(info.driver, "fake-ops");
	CHECK(memmem(r.payload + sizeof(info), r.payload_len - sizeof(info), "fake=1", 6));
	CHECK_EQ(f.info_calls, 1);

	/* Mapping hands out the table's pipe. */
	call(srv, fd, MIRAGE_ESC_PIPE_MAP, NULL, 0, &r);
	CHECK(r.hdr.status >= 0);
	CHECK_EQ(r.nfds, 3u);
	th_reply_close_fds(&r);

	/* A closed connection is reported before it is freed. */
	close(fd);
	for (int i = 0; i < 100 && f.closed_calls == 0; i++) {
		CHECK_EQ(mirage_server_dispatch(srv), 0);
		th_sleep_ms(5);
	}
	CHECK_EQ(f.closed_calls, 1);

	mirage_server_destroy(srv);
	mirage_pipe_finish(&f.pipe);
}

int main(void)
{
	th_init("server", 60);
	RUN(test_requests_go_through_the_table);
	return 0;
}
