/* SPDX-License-Identifier: MIT */
/*
 * The driver side: attach and detach, the manager role and its death,
 * Cap.Bootup, posting (no-op while detached, clipping, batches), cursor
 * records, resize.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct th_server srv;

static void start(const char *name, int32_t bootup)
{
	struct mirage_driver_config cfg;

	th_config(&cfg, name, 200, 100);
	cfg.settings.bootup = bootup;
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
}

static bool attached(void)
{
	bool a;

	th_server_lock(&srv);
	a = mirage_driver_attached(srv.drv);
	th_server_unlock(&srv);
	return a;
}

static void info(struct mirage_info_out *out)
{
	th_raw_info(mirage_driver_socket_path(srv.drv), out);
}

/* Polls INFO until attached matches or timeout_ms passes. */
static bool info_attached_becomes(uint32_t want, int timeout_ms)
{
	uint64_t end = th_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct mirage_info_out in;

	do {
		info(&in);
		if (in.attached == want)
			return true;
		th_sleep_ms(10);
	} while (th_now_ns() < end);
	fprintf(stderr, "INFO attached stayed %u, wanted %u\n", in.attached, want);
	return false;
}

static void test_info(void)
{
	struct mirage_info_out in;
	struct mirage_client *c = NULL;
	char stats[256];

	start("info", 0);
	info(&in);
	CHECK_STR(in.name, "info");
	CHECK_STR(in.driver, "test");
	CHECK_EQ(in.server_version, MIRAGE_PROTO_VERSION);
	CHECK_EQ(in.width, 200);
	CHECK_EQ(in.height, 100);
	CHECK_EQ(in.bpp, 32);
	CHECK_EQ(in.attached, 0);
	CHECK_EQ(in.manager_pid, 0);
	CHECK_EQ(in.capacity, MIRAGE_RING_DEFAULT_CAPACITY);
	CHECK_EQ(in.pid, getpid());
	CHECK_EQ(in.connections, 1);
	CHECK_EQ(in.consumers, 0);

	CHECK_EQ(mirage_client_connect(&c, "info"), 0);
	CHECK(mirage_client_info(c, &in, stats, sizeof(stats)) >= 0);
	CHECK_EQ(in.consumers, 1);
	CHECK(strstr(stats, "test=1\n") != NULL);
	CHECK_EQ(mirage_client_server_version(c), MIRAGE_PROTO_VERSION);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void test_bootup0_detached(void)
{
	uint64_t before;

	start("boot0", 0);
	CHECK(!attached());
	CHECK_EQ(atomic_load(&srv.attach_calls), 0);
	th_server_lock(&srv);
	before = mirage_driver_counter(srv.drv);
	/* Posting while detached is a no-op. */
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 0, 0, 10, 10);
	mirage_driver_publish(srv.drv);
	CHECK_EQ(mirage_driver_counter(srv.drv), before);
	th_server_unlock(&srv);
	th_server_stop(&srv);
}

static void test_attach_detach(void)
{
	struct mirage_client *a = NULL, *b = NULL;
	struct mirage_info_out in;

	start("attach", 0);
	CHECK_EQ(mirage_client_connect(&a, "attach"), 0);
	CHECK_EQ(mirage_client_connect(&b, "attach"), 0);
	CHECK(mirage_client_attach(a, 0) >= 0);
	CHECK(attached());
	CHECK_EQ(atomic_load(&srv.attach_calls), 1);
	info(&in);
	CHECK_EQ(in.attached, 1);
	CHECK_EQ(in.manager_pid, getpid());

	/* One manager at a time. */
	CHECK_EQ(mirage_client_attach(b, 0), -EBUSY);
	CHECK(strstr(mirage_last_error(), "pid") != NULL);
	/* Someone else's role: refused (the semantics name no code; EBUSY or EPERM). */
	{
		int r = mirage_client_detach(b);

		CHECK(r == -EBUSY || r == -EPERM);
	}
	CHECK(attached());

	CHECK(mirage_client_detach(a) >= 0);
	CHECK(!attached());
	CHECK_EQ(atomic_load(&srv.detach_calls), 1);
	info(&in);
	CHECK_EQ(in.manager_pid, 0);

	/* The role is free again. */
	CHECK(mirage_client_attach(b, 0) >= 0);
	CHECK(attached());
	/* Closing the manager's connection detaches. */
	mirage_client_destroy(b);
	CHECK(info_attached_becomes(0, 3000));
	CHECK(!attached());

	/* PERSIST: attached after the connection closes, role released at once. */
	CHECK(mirage_client_attach(a, MIRAGE_ATTACH_PERSIST) >= 0);
	info(&in);
	CHECK_EQ(in.attached, 1);
	CHECK_EQ(in.manager_pid, 0);
	mirage_client_destroy(a);
	th_sleep_ms(50);
	CHECK(info_attached_becomes(1, 100));
	th_server_stop(&srv);
}

/* A child attaches and is SIGKILLed: the mirror detaches (unless Cap.Bootup=2). */
static void manager_death(const char *name, int32_t bootup)
{
	int ready[2];
	struct mirage_info_out in;
	pid_t pid;
	char byte;
	int status;

	start(name, bootup);
	CHECK(pipe(ready) == 0);
	pid = th_fork();
	if (pid == 0) {
		struct mirage_client *c = NULL;

		close(ready[0]);
		CHECK_EQ(mirage_client_connect(&c, name), 0);
		CHECK(mirage_client_attach(c, 0) >= 0);
		CHECK(write(ready[1], "a", 1) == 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	CHECK_EQ(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	info(&in);
	CHECK_EQ(in.attached, 1);
	CHECK_EQ(in.manager_pid, pid);

	kill(pid, SIGKILL);
	status = th_wait_child(pid, 5000);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	if (bootup == 2) {
		/* Give the producer time to notice, then it must still be attached. */
		th_sleep_ms(100);
		CHECK(info_attached_becomes(1, 100));
		info(&in);
		CHECK_EQ(in.manager_pid, 0);
		CHECK(attached());
		/* And no one may detach it. */
		{
			struct mirage_client *c = NULL;

			CHECK_EQ(mirage_client_connect(&c, name), 0);
			CHECK_EQ(mirage_client_detach(c), -EPERM);
			CHECK(attached());
			mirage_client_destroy(c);
		}
	} else {
		CHECK(info_attached_becomes(0, 3000));
		info(&in);
		CHECK_EQ(in.manager_pid, 0);
		CHECK(!attached());
		CHECK(atomic_load(&srv.detach_calls) >= 1);
	}
	th_good_client(name);
	th_server_stop(&srv);
}

static void test_manager_death_detaches(void)
{
	manager_death("death", 0);
}

static void test_manager_death_bootup2(void)
{
	manager_death("death2", 2);
	CHECK_EQ(atomic_load(&srv.attach_calls), 1); /* attached once, at creation */
}

static void test_bootup1(void)
{
	struct mirage_client *c = NULL;

	start("boot1", 1);
	CHECK(attached());
	CHECK_EQ(atomic_load(&srv.attach_calls), 1);
	CHECK_EQ(mirage_client_connect(&c, "boot1"), 0);
	/* Attached once at start; detaches like any other mirror. */
	CHECK(mirage_client_detach(c) >= 0);
	CHECK(!attached());
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

static void test_post(void)
{
	struct mirage_client *c = NULL;
	struct mirage_record recs[64], rec;
	uint32_t count;
	uint64_t before;

	start("post", 1);
	CHECK_EQ(mirage_client_connect(&c, "post"), 0);
	CHECK(mirage_client_poll(c, recs, 64, &count) >= 0);

	th_server_lock(&srv);
	before = mirage_driver_counter(srv.drv);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 10, 20, 30, 40);
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_TEXTOUT, -50, -50, 5, 6); /* clipped */
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 190, 90, 500, 500); /* clipped */
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 300, 300, 400, 400); /* outside: dropped */
	mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 5, 5, 5, 9);       /* empty: dropped */
	mirage_driver_post_copy(srv.drv, 0, 0, 16, 16, 32, 48);
	memset(&rec, 0, sizeof(rec));
	rec.type = MIRAGE_REC_BLIT;
	rec.rect = (struct mirage_rect){ 1, 2, 3, 4 };
	mirage_driver_post(srv.drv, &rec);
	/* Not visible before publish. */
	CHECK_EQ(mirage_driver_counter(srv.drv), before);
	CHECK_EQ(mirage_client_poll(c, recs, 64, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 0);
	mirage_driver_publish(srv.drv);
	CHECK_EQ(mirage_driver_counter(srv.drv), before + 5);
	th_server_unlock(&srv);

	CHECK_EQ(mirage_client_poll(c, recs, 64, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 5);
	CHECK_EQ(recs[0].type, MIRAGE_REC_BLIT);
	CHECK(!memcmp(&recs[0].rect, &((struct mirage_rect){ 10, 20, 30, 40 }), sizeof(struct mirage_rect)));
	CHECK_EQ(recs[1].type, MIRAGE_REC_TEXTOUT);
	CHECK(!memcmp(&recs[1].rect, &((struct mirage_rect){ 0, 0, 5, 6 }), sizeof(struct mirage_rect)));
	CHECK(!memcmp(&recs[2].rect, &((struct mirage_rect){ 190, 90, 200, 100 }), sizeof(struct mirage_rect)));
	CHECK_EQ(recs[3].type, MIRAGE_REC_SCREEN_SCREEN);
	CHECK(!memcmp(&recs[3].rect, &((struct mirage_rect){ 0, 0, 16, 16 }), sizeof(struct mirage_rect)));
	CHECK_EQ(recs[3].point.x, 32);
	CHECK_EQ(recs[3].point.y, 48);
	CHECK(!memcmp(&recs[4].rect, &rec.rect, sizeof(rec.rect)));

	/* With Order.BltCopyBits.Enabled=0 a copy is posted as a BLIT. */
	CHECK(mirage_client_settings_set(c, "Order.BltCopyBits.Enabled=0") >= 0);
	th_server_lock(&srv);
	mirage_driver_post_copy(srv.drv, 0, 0, 16, 16, 32, 48);
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);
	CHECK_EQ(mirage_client_poll(c, recs, 64, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 1);
	CHECK_EQ(recs[0].type, MIRAGE_REC_BLIT);

	/* Cursor records: ENGAGE with the position, nothing when unchanged, AVERT when hidden. */
	th_server_lock(&srv);
	mirage_driver_set_cursor_position(srv.drv, 50, 60, true);
	mirage_driver_set_cursor_position(srv.drv, 50, 60, true);
	mirage_driver_set_cursor_position(srv.drv, 50, 60, false);
	mirage_driver_publish(srv.drv);
	th_server_unlock(&srv);
	CHECK_EQ(mirage_client_poll(c, recs, 64, &count), MIRAGE_POLL_OK);
	CHECK_EQ(count, 2);
	CHECK_EQ(recs[0].type, MIRAGE_REC_PTR_ENGAGE);
	CHECK_EQ(recs[0].point.x, 50);
	CHECK_EQ(recs[0].point.y, 60);
	CHECK_EQ(recs[1].type, MIRAGE_REC_PTR_AVERT);

	mirage_client_destroy(c);
	th_server_stop(&srv);
}

/* A batch reaching half the ring is published on the spot. */
static void test_auto_publish(void)
{
	struct mirage_driver_config cfg;
	uint64_t before;

	th_config(&cfg, "auto", 64, 64);
	cfg.capacity = 64;
	cfg.settings.bootup = 1;
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
	th_server_lock(&srv);
	before = mirage_driver_counter(srv.drv);
	for (int i = 0; i < 32; i++)
		mirage_driver_post_rect(srv.drv, MIRAGE_REC_BLIT, 0, 0, 1, 1);
	CHECK_EQ(mirage_driver_counter(srv.drv), before + 32);
	th_server_unlock(&srv);
	th_server_stop(&srv);
}

static void test_create_errors(void)
{
	struct mirage_driver_config cfg;
	struct mirage_driver *d = NULL;
	struct mirage_driver_impl impl = { .name = "x" };

	th_config(&cfg, "dup", 64, 64);
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
	/* A live mirror owns its name. */
	CHECK_EQ(mirage_driver_create(&d, &cfg, &impl), -EADDRINUSE);
	th_server_stop(&srv);

	/* After it is gone the name is free. */
	CHECK_EQ(mirage_driver_create(&d, &cfg, &impl), 0);
	mirage_driver_destroy(d);
	mirage_driver_destroy(NULL);

	cfg.name = "bad/name";
	CHECK(mirage_driver_create(&d, &cfg, &impl) < 0);
	cfg.name = "";
	CHECK(mirage_driver_create(&d, &cfg, &impl) < 0);
	cfg.name = "ok";
	cfg.width = 0;
	CHECK(mirage_driver_create(&d, &cfg, &impl) < 0);
	cfg.width = MIRAGE_MAX_DIMENSION + 1;
	CHECK(mirage_driver_create(&d, &cfg, &impl) < 0);
	cfg.width = 64;
	cfg.native_bpp = 8;
	CHECK(mirage_driver_create(&d, &cfg, &impl) < 0);
	cfg.native_bpp = 32;
	cfg.capacity = 3;
	CHECK(mirage_driver_create(&d, &cfg, &impl) < 0);
}

int main(void)
{
	th_init("driver", 100);
	RUN(test_info);
	RUN(test_bootup0_detached);
	RUN(test_attach_detach);
	RUN(test_manager_death_detaches);
	RUN(test_manager_death_bootup2);
	RUN(test_bootup1);
	RUN(test_post);
	RUN(test_auto_publish);
	RUN(test_create_errors);
	return 0;
}
