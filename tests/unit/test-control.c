/* SPDX-License-Identifier: MIT */
/*
 * The control socket: version negotiation in both directions, malformed and
 * random requests (seeded), slow clients.  Throughout, the producer must
 * keep serving a well-behaved client.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static struct th_server srv;
static char path[512];

static void start(const char *name)
{
	struct mirage_driver_config cfg;

	th_config(&cfg, name, 128, 96);
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
	snprintf(path, sizeof(path), "%s", mirage_driver_socket_path(srv.drv));
}

static bool names_version(const char *msg, uint32_t v)
{
	char buf[32];

	mirage_version_format(v, buf, sizeof(buf));
	if (!strstr(msg, buf)) {
		fprintf(stderr, "message \"%s\" does not name version %s\n", msg, buf);
		return false;
	}
	return true;
}

static void test_version_format(void)
{
	char buf[32];

	CHECK_STR(mirage_version_format(MIRAGE_VERSION_PACK(1, 2, 3, 4), buf, sizeof(buf)), "1.2.3.4");
	CHECK_STR(mirage_version_format(0xffffffffu, buf, sizeof(buf)), "255.255.255.255");
	CHECK_STR(mirage_version_format(0, buf, sizeof(buf)), "0.0.0.0");
}

/* Sends one VERSION request; expects it refused, naming both versions, then the close. */
static void version_refused(uint32_t client, uint32_t server_min, uint32_t named_a, uint32_t named_b)
{
	struct mirage_version_in in = { client, server_min };
	struct th_reply r;
	int fd = th_raw_connect(path);
	const char *msg;

	CHECK(fd >= 0);
	th_raw_call(fd, MIRAGE_ESC_VERSION, &in, sizeof(in), &r);
	msg = th_reply_text(&r);
	fprintf(stderr, "   refused: %s\n", msg);
	CHECK_EQ(r.hdr.status, -EPROTONOSUPPORT);
	CHECK(names_version(msg, named_a));
	CHECK(names_version(msg, named_b));
	CHECK(th_raw_wait_closed(fd, 2000));
	close(fd);
}

static void test_version_negotiation(void)
{
	struct mirage_version_in in;
	struct mirage_version_out out;
	struct th_reply r;
	int fd;

	start("version");

	/* Accepted: ours, and a newer client that asks nothing of the server. */
	fd = th_raw_connect(path);
	in.client_version = MIRAGE_VERSION_PACK(1, 7, 0, 0);
	in.server_min_version = 0;
	th_raw_call(fd, MIRAGE_ESC_VERSION, &in, sizeof(in), &r);
	CHECK_EQ(r.hdr.status, 1);
	CHECK_EQ(r.payload_len, sizeof(out));
	memcpy(&out, r.payload, sizeof(out));
	CHECK_EQ(out.server_version, MIRAGE_PROTO_VERSION);
	CHECK_EQ(out.client_min_version, MIRAGE_PROTO_MIN_COMPAT);
	th_raw_call(fd, MIRAGE_ESC_TEST, NULL, 0, &r);
	CHECK_EQ(r.hdr.status, 1);
	close(fd);

	/* Client too old for the server. */
	version_refused(MIRAGE_VERSION_PACK(0, 9, 0, 0), MIRAGE_PROTO_MIN_COMPAT,
			MIRAGE_VERSION_PACK(0, 9, 0, 0), MIRAGE_PROTO_MIN_COMPAT);
	/* Server too old for the client. */
	version_refused(MIRAGE_PROTO_VERSION, MIRAGE_VERSION_PACK(2, 0, 0, 0),
			MIRAGE_VERSION_PACK(2, 0, 0, 0), MIRAGE_PROTO_VERSION);

	th_good_client("version");
	th_server_stop(&srv);
}

/* ------------------------------------------------------------------ */
/* The client library against a fake, too-old producer                 */
/* ------------------------------------------------------------------ */

struct fake {
	int listen_fd;
	uint32_t server_version;
	int32_t status;
};

static void *fake_server(void *data)
{
	struct fake *f = data;
	int fd = accept(f->listen_fd, NULL, NULL);
	struct th_reply r;
	struct mirage_version_out out = { f->server_version, MIRAGE_PROTO_MIN_COMPAT };
	uint8_t buf[sizeof(struct mirage_msg) + sizeof(out)];
	struct mirage_msg m;

	if (fd < 0)
		return NULL;
	if (th_raw_recv(fd, &r, 5000) >= (ssize_t)sizeof(struct mirage_msg) &&
	    r.hdr.code == MIRAGE_ESC_VERSION) {
		m.code = MIRAGE_ESC_VERSION;
		m.length = sizeof(out);
		m.serial = r.hdr.serial;
		m.status = f->status;
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), &out, sizeof(out));
		(void)th_raw_send_bytes(fd, buf, sizeof(buf));
		/* Stay until the client hangs up. */
		th_raw_wait_closed(fd, 5000);
	}
	close(fd);
	return NULL;
}

/* A listening socket <th_dir>/<name>.sock for a fake producer. */
static void fake_listen(struct fake *f, const char *name, struct sockaddr_un *addr)
{
	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s.sock", th_dir(), name);
	f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(f->listen_fd >= 0);
	CHECK(bind(f->listen_fd, (struct sockaddr *)addr, sizeof(*addr)) == 0);
	CHECK(listen(f->listen_fd, 4) == 0);
}

static void test_client_refuses_old_server(void)
{
	struct sockaddr_un addr;
	struct fake f = { .server_version = MIRAGE_VERSION_PACK(0, 8, 1, 0), .status = 1 };
	struct mirage_client *c = NULL;
	pthread_t t;
	int r;

	fake_listen(&f, "fake", &addr);
	CHECK(pthread_create(&t, NULL, fake_server, &f) == 0);

	r = mirage_client_connect(&c, addr.sun_path);
	fprintf(stderr, "   client says: %s\n", mirage_last_error());
	CHECK_EQ(r, -EPROTONOSUPPORT);
	CHECK(c == NULL);
	CHECK(names_version(mirage_last_error(), MIRAGE_VERSION_PACK(0, 8, 1, 0)));
	CHECK(names_version(mirage_last_error(), MIRAGE_PROTO_MIN_COMPAT));
	CHECK(pthread_join(t, NULL) == 0);
	close(f.listen_fd);
	unlink(addr.sun_path);
}

/*
 * A producer that refuses a connection sends its reason and closes at once,
 * often with the client's first request unread: the client's read then
 * fails with ECONNRESET (or its send with EPIPE) ahead of the queued reason.
 * The reason is what the client must report.
 */
static void *refuser(void *data)
{
	struct fake *f = data;
	static const char text[] = "too many connections to this mirror: all 64 are in use";
	struct mirage_msg m = { .length = sizeof(text) - 1, .status = -EMFILE };
	uint8_t buf[sizeof(m) + sizeof(text)];
	struct pollfd p;
	int fd = accept(f->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	/* The request is there, and stays unread. */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 5000) == 1) {
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), text, sizeof(text) - 1);
		(void)th_raw_send_bytes(fd, buf, sizeof(m) + sizeof(text) - 1);
	}
	close(fd);
	return NULL;
}

static void test_client_reports_refusal(void)
{
	struct sockaddr_un addr;
	struct fake f = { 0 };
	struct mirage_client *c = NULL;
	pthread_t t;
	int r;

	fake_listen(&f, "refuser", &addr);
	for (int i = 0; i < 20; i++) {
		CHECK(pthread_create(&t, NULL, refuser, &f) == 0);
		r = mirage_client_connect(&c, addr.sun_path);
		if (i == 0)
			fprintf(stderr, "   client says: %s\n", mirage_last_error());
		CHECK(pthread_join(t, NULL) == 0);
		if (r != -EMFILE)
			fprintf(stderr, "   round %d: %d, %s\n", i, r, mirage_last_error());
		CHECK_EQ(r, -EMFILE);
		CHECK(strstr(mirage_last_error(), "too many connections") != NULL);
	}
	close(f.listen_fd);
	unlink(addr.sun_path);
}

/* ------------------------------------------------------------------ */
/* Malformed requests                                                  */
/* ------------------------------------------------------------------ */

/* Expects an error reply (negative status, some message) and the close. */
static void expect_refused(int fd, const char *what)
{
	struct th_reply r;
	ssize_t n = th_raw_recv(fd, &r, 3000);

	th_reply_close_fds(&r);
	if (n < (ssize_t)sizeof(struct mirage_msg) || r.hdr.status >= 0) {
		fprintf(stderr, "%s: got %zd bytes, status %d instead of an error reply\n",
			what, n, n >= (ssize_t)sizeof(struct mirage_msg) ? r.hdr.status : 0);
		CHECK(!"no error reply");
	}
	CHECK(r.payload_len > 0); /* says why */
	CHECK_EQ(r.hdr.length, r.payload_len);
	if (!th_raw_wait_closed(fd, 3000)) {
		fprintf(stderr, "%s: connection not closed after the error\n", what);
		CHECK(!"connection left open");
	}
}

static void test_malformed(void)
{
	struct mirage_msg m;
	uint8_t big[MIRAGE_MSG_MAX_SIZE + 100];
	struct mirage_version_in vin = { MIRAGE_PROTO_VERSION, MIRAGE_PROTO_MIN_COMPAT };
	int fd;

	start("malformed");
	memset(big, 0, sizeof(big));

	/* Anything before VERSION. */
	fd = th_raw_connect(path);
	CHECK_EQ(th_raw_send(fd, MIRAGE_ESC_TEST, 1, NULL, 0), 0);
	expect_refused(fd, "TEST before VERSION");
	close(fd);
	fd = th_raw_connect(path);
	CHECK_EQ(th_raw_send(fd, MIRAGE_ESC_PIPE_MAP, 1, NULL, 0), 0);
	expect_refused(fd, "PIPE_MAP before VERSION");
	close(fd);

	/* VERSION with a short and a long payload. */
	fd = th_raw_connect(path);
	CHECK_EQ(th_raw_send(fd, MIRAGE_ESC_VERSION, 1, &vin, 4), 0);
	expect_refused(fd, "short VERSION");
	close(fd);
	fd = th_raw_connect(path);
	CHECK_EQ(th_raw_send(fd, MIRAGE_ESC_VERSION, 1, big, 12), 0);
	expect_refused(fd, "long VERSION");
	close(fd);

	/* Shorter than a header. */
	fd = th_raw_connect(path);
	CHECK_EQ(th_raw_send_bytes(fd, big, 7), 0);
	expect_refused(fd, "7-byte message");
	close(fd);

	/* Length field disagreeing with the size, both ways. */
	fd = th_raw_open(path);
	m = (struct mirage_msg){ .code = MIRAGE_ESC_TEST, .length = 8, .serial = 3 };
	memcpy(big, &m, sizeof(m));
	CHECK_EQ(th_raw_send_bytes(fd, big, sizeof(m)), 0);
	expect_refused(fd, "length 8, no payload");
	close(fd);
	fd = th_raw_open(path);
	m = (struct mirage_msg){ .code = MIRAGE_ESC_TEST, .length = 0, .serial = 3 };
	memcpy(big, &m, sizeof(m));
	CHECK_EQ(th_raw_send_bytes(fd, big, sizeof(m) + 16), 0);
	expect_refused(fd, "length 0, 16 bytes of payload");
	close(fd);
	fd = th_raw_open(path);
	m = (struct mirage_msg){ .code = MIRAGE_ESC_SETTINGS_SET, .length = 0xffffffffu, .serial = 3 };
	memcpy(big, &m, sizeof(m));
	CHECK_EQ(th_raw_send_bytes(fd, big, sizeof(m) + 4), 0);
	expect_refused(fd, "length 0xffffffff");
	close(fd);

	/* Bigger than the largest message. */
	fd = th_raw_open(path);
	m = (struct mirage_msg){ .code = MIRAGE_ESC_SETTINGS_SET, .length = MIRAGE_MSG_MAX_PAYLOAD + 100 };
	memcpy(big, &m, sizeof(m));
	memset(big + sizeof(m), 'a', MIRAGE_MSG_MAX_PAYLOAD + 100 - sizeof(m));
	CHECK_EQ(th_raw_send_bytes(fd, big, sizeof(big)), 0);
	expect_refused(fd, "oversized");
	close(fd);

	/* Unknown code; known codes with a wrong payload size. */
	{
		static const struct { uint32_t code; size_t len; } bad[] = {
			{ 7777, 0 }, { 0, 0 }, { 0xffffffffu, 4 },
			{ MIRAGE_ESC_TEST_MAPPED, 0 }, { MIRAGE_ESC_TEST_MAPPED, 4 },
			{ MIRAGE_ESC_ATTACH, 3 }, { MIRAGE_ESC_PIPE_MAP, 8 },
			{ MIRAGE_ESC_INFO, 1 }, { MIRAGE_ESC_VERSION, 8 }, /* a second VERSION */
		};

		for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
			char what[64];

			fd = th_raw_open(path);
			memset(big, 0, sizeof(big));
			CHECK_EQ(th_raw_send(fd, bad[i].code, 9, big, bad[i].len), 0);
			snprintf(what, sizeof(what), "code %u with %zu bytes", bad[i].code, bad[i].len);
			if (bad[i].code == MIRAGE_ESC_VERSION) {
				/* Renegotiating may be allowed; it must not break anything. */
				struct th_reply r;

				CHECK(th_raw_recv(fd, &r, 3000) > 0);
				th_reply_close_fds(&r);
			} else {
				expect_refused(fd, what);
			}
			close(fd);
		}
	}

	/* Settings text without a NUL, full of NULs, binary. */
	{
		struct th_reply r;

		fd = th_raw_open(path);
		memset(big, 0, 64);
		th_raw_call(fd, MIRAGE_ESC_SETTINGS_SET, big, 64, &r);
		close(fd);
		fd = th_raw_open(path);
		for (int i = 0; i < 200; i++)
			big[i] = (uint8_t)(i * 37 + 1);
		th_raw_call(fd, MIRAGE_ESC_SETTINGS_SET, big, 200, &r);
		CHECK(r.hdr.status < 0);
		close(fd);
	}

	th_good_client("malformed");
	th_server_lock(&srv);
	CHECK_EQ(mirage_driver_settings(srv.drv)->backing_mode, 3);
	th_server_unlock(&srv);
	th_server_stop(&srv);
}

/* ------------------------------------------------------------------ */
/* Random requests                                                     */
/* ------------------------------------------------------------------ */

static const uint32_t codes[] = {
	MIRAGE_ESC_POINTER_SHAPE, MIRAGE_ESC_VERSION, MIRAGE_ESC_PIPE_MAP, MIRAGE_ESC_PIPE_UNMAP,
	MIRAGE_ESC_TEST, MIRAGE_ESC_TEST_MAPPED, MIRAGE_ESC_ATTACH, MIRAGE_ESC_DETACH,
	MIRAGE_ESC_SETTINGS_GET, MIRAGE_ESC_SETTINGS_SET, MIRAGE_ESC_INFO,
};

static void random_message(uint64_t *rng, uint8_t *buf, size_t *len)
{
	struct mirage_msg m;
	uint32_t shape = th_rand_range(rng, 4);
	size_t plen;

	/* Mostly plausible headers, so the fuzzing reaches the handlers. */
	m.code = shape == 0 ? (uint32_t)th_rand(rng) : codes[th_rand_range(rng, ARRAY_LEN(codes))];
	plen = th_rand_range(rng, 3) == 0 ? th_rand_range(rng, MIRAGE_MSG_MAX_PAYLOAD + 64)
					   : th_rand_range(rng, 24);
	m.length = shape == 1 ? (uint32_t)th_rand(rng) : (uint32_t)plen;
	m.serial = (uint32_t)th_rand(rng);
	m.status = shape == 2 ? (int32_t)th_rand(rng) : 0;
	for (size_t i = 0; i < plen; i++)
		buf[sizeof(m) + i] = (uint8_t)th_rand(rng);
	/* Settings text that parses, now and then, to exercise the apply path. */
	if (m.code == MIRAGE_ESC_SETTINGS_SET && th_rand_range(rng, 2)) {
		static const char *texts[] = {
			"Pointer.Enabled=1", "Screen.ForcedBpp=16", "Cap.DfbBackingMode=0",
			"Cap.DfbBackingMode=3,Screen.ForcedBpp=0", "Cap.Bootup=2", "Cap.Bootup=0",
			"Order.SolidFill.Enabled=1 Pointer.Enabled=0",
		};
		const char *t = texts[th_rand_range(rng, ARRAY_LEN(texts))];

		plen = strlen(t);
		memcpy(buf + sizeof(m), t, plen);
		m.length = (uint32_t)plen;
	}
	if (shape == 3)
		plen = th_rand_range(rng, 16); /* a truncated header, maybe */
	memcpy(buf, &m, sizeof(m));
	*len = shape == 3 ? plen : sizeof(m) + plen;
}

static void test_random_requests(void)
{
	uint64_t seed = th_seed("random_requests"), rng = seed;
	static uint8_t buf[MIRAGE_MSG_MAX_SIZE + 128];
	unsigned replies = 0, closes = 0, fds = 0;

	start("random");
	for (int round = 0; round < 1500; round++) {
		int fd = th_raw_connect(path);
		unsigned k = 1 + th_rand_range(&rng, 4);

		CHECK(fd >= 0);
		if (th_rand_range(&rng, 4) != 0)
			th_raw_negotiate(fd);
		for (unsigned i = 0; i < k; i++) {
			size_t len;

			random_message(&rng, buf, &len);
			if (len == 0)
				len = 1;
			if (th_raw_send_bytes(fd, buf, len) < 0)
				break; /* closed on us already */
		}
		/* Drain what comes back; received descriptors are closed. */
		for (;;) {
			struct th_reply r;
			ssize_t n = th_raw_recv(fd, &r, th_rand_range(&rng, 3) ? 0 : 20);

			fds += r.nfds;
			th_reply_close_fds(&r);
			if (n <= 0) {
				closes += n == 0;
				break;
			}
			replies++;
		}
		close(fd);
		if (round % 100 == 99) {
			/* Undo settings the noise may have changed, then a good client. */
			struct mirage_client *c = NULL;

			th_good_client("random");
			CHECK_EQ(mirage_client_connect(&c, "random"), 0);
			CHECK(mirage_client_settings_set(c, "Cap.Bootup=0 Cap.DfbBackingMode=3 Screen.ForcedBpp=0") >= 0);
			mirage_client_destroy(c);
		}
	}
	fprintf(stderr, "   %u replies, %u closes, %u descriptors received\n", replies, closes, fds);
	CHECK(replies > 0);
	th_good_client("random");
	th_server_stop(&srv);
}

/* ------------------------------------------------------------------ */
/* Slow and many clients                                               */
/* ------------------------------------------------------------------ */

/* A client that never reads its replies is dropped; the producer does not stall. */
static void test_slow_client(void)
{
	int fd, sent = 0;
	uint64_t t0;

	start("slow");
	fd = th_raw_open(path);
	/* Requests until our send buffer fills up (the server stops reading or drops us). */
	for (int i = 0; i < 100000; i++) {
		struct mirage_msg m = { .code = MIRAGE_ESC_INFO, .serial = (uint32_t)i };

		if (send(fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
		sent++;
	}
	CHECK(sent > 0);
	t0 = th_now_ns();
	th_good_client("slow");
	CHECK(th_now_ns() - t0 < 3000 * 1000000ull);
	/* It got disconnected, or it is still being served: either way, no stall. */
	close(fd);
	th_good_client("slow");
	th_server_stop(&srv);
}

static void test_many_connections(void)
{
	int fds[80];
	int n = 0;

	start("many");
	for (int i = 0; i < 80; i++) {
		fds[i] = th_raw_connect(path);
		if (fds[i] >= 0)
			n++;
	}
	th_sleep_ms(100);
	for (int i = 0; i < 80; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	CHECK(n > 0);
	/* Once they are gone, there is room for a good client. */
	th_sleep_ms(100);
	th_good_client("many");
	th_server_stop(&srv);
}

/* ------------------------------------------------------------------ */
/* Idle connections cannot lock the mirror                              */
/* ------------------------------------------------------------------ */

#define CONN_CAP 64 /* PROTOCOL.md, "Limits" */

/* The driver's log, kept for the checks (written by the pump thread). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[8192];

static void keep_log(struct mirage_driver_impl *impl, enum mirage_log_level level,
		     const char *message)
{
	size_t used;

	(void)impl;
	(void)level;
	pthread_mutex_lock(&log_lock);
	used = strlen(log_text);
	snprintf(log_text + used, sizeof(log_text) - used, "%s\n", message);
	pthread_mutex_unlock(&log_lock);
}

static unsigned log_count(const char *what)
{
	unsigned n = 0;

	pthread_mutex_lock(&log_lock);
	for (const char *p = log_text; (p = strstr(p, what)); p++)
		n++;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* A raw connection still served: TEST answered with its serial. */
static bool raw_alive(int fd)
{
	struct th_reply r;

	if (th_raw_send(fd, MIRAGE_ESC_TEST, 77, NULL, 0) < 0 || th_raw_recv(fd, &r, 3000) <= 0)
		return false;
	th_reply_close_fds(&r);
	return r.hdr.status == 1 && r.hdr.serial == 77;
}

/*
 * Connections that never make a request (or negotiated and map nothing)
 * fill the 64 slots: a short request still gets in, the oldest idle one
 * is closed with a reason and the eviction is logged, while a consumer
 * with a mapping and the manager (unmapped, older than all the idle ones)
 * stay served.  A mirror whose every connection maps its pipe refuses the
 * next one with -EMFILE and a message, and takes one again when a slot frees.
 */
static void test_idle_connections_make_room(void)
{
	struct mirage_client *consumer = NULL, *c = NULL, *mapped[CONN_CAP];
	struct mirage_attach_in attach = { 0 };
	struct mirage_info_out info;
	struct th_reply r;
	int idle[80], manager, nmapped = 0, ret;

	start("crowd");
	th_server_lock(&srv);
	srv.impl.log = keep_log;
	th_server_unlock(&srv);

	/* The manager holds its role on a connection that maps nothing. */
	manager = th_raw_open(path);
	th_raw_call(manager, MIRAGE_ESC_ATTACH, &attach, sizeof(attach), &r);
	CHECK_EQ(r.hdr.status, 1);
	CHECK_EQ(mirage_client_connect(&consumer, "crowd"), 0);

	/* Idle connections, more than the cap: half say nothing at all, half only negotiate. */
	for (size_t i = 0; i < ARRAY_LEN(idle); i++) {
		idle[i] = th_raw_connect(path);
		CHECK(idle[i] >= 0);
		if (i % 2)
			th_raw_negotiate(idle[i]);
	}

	/* A short request gets in. */
	ret = mirage_client_connect(&c, "crowd");
	if (ret < 0)
		fprintf(stderr, "   status client: %s\n", mirage_last_error());
	CHECK_EQ(ret, 0);
	CHECK_EQ(mirage_client_info(c, &info, NULL, 0), 0);
	CHECK_EQ(info.connections, CONN_CAP);
	CHECK_EQ(info.consumers, 2);
	CHECK_EQ(info.manager_pid, (uint32_t)getpid());
	CHECK(info.attached);
	mirage_client_destroy(c);

	/* The consumer and the manager were not the ones dropped. */
	CHECK_EQ(mirage_client_test_mapped(consumer), 0);
	CHECK(mirage_client_connected(consumer));
	CHECK(raw_alive(manager));

	/* The oldest idle connection was told why, then closed. */
	CHECK(th_raw_recv(idle[0], &r, 3000) > 0);
	th_reply_close_fds(&r);
	fprintf(stderr, "   evicted: %s\n", th_reply_text(&r));
	CHECK_EQ(r.hdr.status, -ECONNABORTED);
	CHECK(strstr(th_reply_text(&r), "to make room") != NULL);
	CHECK(th_raw_wait_closed(idle[0], 3000));
	/* Silent ones go first: the third (silent) is closed, the second (negotiated) kept. */
	CHECK(th_raw_wait_closed(idle[2], 3000));
	CHECK(raw_alive(idle[1]));
	CHECK(raw_alive(idle[ARRAY_LEN(idle) - 1]));

	/* Logged, but not once for each of the 17 or more evictions. */
	CHECK(log_count("to let pid") >= 1);
	CHECK(log_count("to let pid") <= 3);
	fprintf(stderr, "   log:\n%s", log_text);

	for (size_t i = 0; i < ARRAY_LEN(idle); i++)
		close(idle[i]);

	/* Consumers with mappings are never evicted: the 65th is refused. */
	for (;;) {
		CHECK(nmapped < CONN_CAP);
		ret = mirage_client_connect(&mapped[nmapped], "crowd");
		if (ret < 0)
			break;
		nmapped++;
	}
	fprintf(stderr, "   %d more consumers, then: %s\n", nmapped, mirage_last_error());
	CHECK_EQ(ret, -EMFILE);
	CHECK(strstr(mirage_last_error(), "too many connections") != NULL);
	CHECK_EQ(nmapped, CONN_CAP - 2);
	CHECK_EQ(mirage_client_test_mapped(consumer), 0);
	CHECK(raw_alive(manager));
	for (int i = 0; i < nmapped; i++)
		CHECK_EQ(mirage_client_test_mapped(mapped[i]), 0);
	mirage_client_destroy(mapped[--nmapped]);
	th_good_client("crowd");
	while (nmapped > 0)
		mirage_client_destroy(mapped[--nmapped]);

	/* The manager's role ends with its connection, as before. */
	close(manager);
	mirage_client_destroy(consumer);
	th_sleep_ms(100);
	th_raw_info(path, &info);
	CHECK_EQ(info.manager_pid, 0);
	CHECK(!info.attached);
	th_server_stop(&srv);
}

int main(void)
{
	th_init("control", 100);
	RUN(test_version_format);
	RUN(test_version_negotiation);
	RUN(test_client_refuses_old_server);
	RUN(test_client_reports_refusal);
	RUN(test_malformed);
	RUN(test_random_requests);
	RUN(test_slow_client);
	RUN(test_many_connections);
	RUN(test_idle_connections_make_room);
	return 0;
}
