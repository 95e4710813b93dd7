/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 64

#define container_of_server(ptr) \
	((struct th_server *)(void *)((char *)(ptr) - offsetof(struct th_server, impl)))

static char dir[256];
static pid_t owner;
/* Written by the owner only; read by the signal handler. */
static volatile pid_t children[MAX_CHILDREN];

static void kill_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		pid_t pid = children[i];

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			children[i] = 0;
		}
	}
}

/* The directory is flat: sockets and nothing else. */
static void remove_dir(void)
{
	DIR *d;
	struct dirent *e;

	if (!dir[0])
		return;
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		}
		closedir(d);
	}
	rmdir(dir);
	dir[0] = 0;
}

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	kill_children();
	remove_dir();
}

/*
 * On abort (a failed CHECK), the watchdog or meson's SIGTERM: clean up,
 * then die of the same signal so the runner sees the failure.
 */
static void on_fatal(int sig)
{
	if (sig == SIGALRM)
		fprintf(stderr, "test timed out\n");
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void th_init(const char *test, unsigned timeout_s)
{
	const char *tmp = getenv("TMPDIR");

	owner = getpid();
	snprintf(dir, sizeof(dir), "%s/mirage-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", test);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(setenv("MIRAGE_DIR", dir, 1) == 0);
	atexit(cleanup);
	signal(SIGABRT, on_fatal);
	signal(SIGTERM, on_fatal);
	signal(SIGINT, on_fatal);
	signal(SIGALRM, on_fatal);
	/* A peer closing on us must fail a check, not kill the test silently. */
	signal(SIGPIPE, SIG_IGN);
	alarm(timeout_s);
	setvbuf(stdout, NULL, _IONBF, 0);
}

const char *th_dir(void)
{
	return dir;
}

uint64_t th_seed(const char *what)
{
	const char *env = getenv("MIRAGE_TEST_SEED");
	uint64_t seed;

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	else
		seed = th_now_ns() ^ ((uint64_t)getpid() << 32);
	fprintf(stderr, "%s: seed %llu (set MIRAGE_TEST_SEED=%llu to repeat)\n", what,
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

uint64_t th_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t th_rand_range(uint64_t *state, uint32_t n)
{
	return n ? (uint32_t)(th_rand(state) % n) : 0;
}

uint64_t th_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void th_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The server whose pump thread runs (th_server_start), for th_fork. */
static struct th_server *pumping;

pid_t th_fork(void)
{
	pid_t pid;
	int slot = -1;

	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			slot = i;
			break;
		}
	}
	CHECK(slot >= 0);
	fflush(NULL);
	/*
	 * Not while the pump thread allocates (starting up, or inside the
	 * driver): the child would get the allocator's locks as that thread
	 * held them (this ASan's allocator has no fork handlers), and the
	 * first thread it starts would wait for them for ever.
	 */
	if (pumping)
		th_server_lock(pumping);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* The child owns nothing of the parent's; it must not outlive the test. */
		for (int i = 0; i < MAX_CHILDREN; i++)
			children[i] = 0;
		alarm(0);
		if (pumping)
			CHECK(pthread_mutex_init(&pumping->lock, NULL) == 0);
		return 0;
	}
	if (pumping)
		th_server_unlock(pumping);
	children[slot] = pid;
	return pid;
}

static void forget_child(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == pid)
			children[i] = 0;
	}
}

int th_wait_child(pid_t pid, int timeout_ms)
{
	uint64_t end = th_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			forget_child(pid);
			return status;
		}
		CHECK(r == 0 || errno == EINTR);
		if (th_now_ns() > end) {
			fprintf(stderr, "child %d did not exit within %d ms; killing it\n",
				(int)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			forget_child(pid);
			return -1;
		}
		th_sleep_ms(2);
	}
}

bool th_exited_ok(int status)
{
	if (status == -1)
		return false;
	if (WIFSIGNALED(status))
		fprintf(stderr, "child died of signal %d\n", WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		fprintf(stderr, "child exited with %d\n", WEXITSTATUS(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ------------------------------------------------------------------ */
/* Server                                                              */
/* ------------------------------------------------------------------ */

static int impl_attach(struct mirage_driver_impl *impl)
{
	struct th_server *s = container_of_server(impl);

	atomic_fetch_add(&s->attach_calls, 1);
	return 0;
}

static void impl_detach(struct mirage_driver_impl *impl)
{
	struct th_server *s = container_of_server(impl);

	atomic_fetch_add(&s->detach_calls, 1);
}

static void impl_settings(struct mirage_driver_impl *impl, const struct mirage_settings *old)
{
	struct th_server *s = container_of_server(impl);

	atomic_fetch_add(&s->settings_calls, 1);
}

static size_t impl_info(struct mirage_driver_impl *impl, char *buf, size_t size)
{
	int n = snprintf(buf, size, "test=1\n");

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void impl_log(struct mirage_driver_impl *impl, enum mirage_log_level level,
		     const char *message)
{
	if (getenv("MIRAGE_TEST_VERBOSE"))
		fprintf(stderr, "driver log %d: %s\n", (int)level, message);
}

void th_config(struct mirage_driver_config *cfg, const char *name, int32_t w, int32_t h)
{
	mirage_driver_config_init(cfg);
	cfg->name = name;
	cfg->width = w;
	cfg->height = h;
	cfg->native_bpp = 32;
}

static void *pump(void *data)
{
	struct th_server *s = data;
	int fd;

	atomic_store(&s->started, true);
	th_server_lock(s);
	fd = mirage_driver_fd(s->drv);
	th_server_unlock(s);
	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* The timeout only bounds how late `stop` is seen. */
		if (poll(&p, 1, 20) <= 0)
			continue;
		th_server_lock(s);
		if (mirage_driver_dispatch(s->drv) < 0)
			atomic_fetch_add(&s->dispatch_errors, 1);
		th_server_unlock(s);
	}
	return NULL;
}

int th_server_start(struct th_server *s, const struct mirage_driver_config *cfg)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->impl.name = "test";
	s->impl.attach = impl_attach;
	s->impl.detach = impl_detach;
	s->impl.settings_changed = impl_settings;
	s->impl.info = impl_info;
	s->impl.log = impl_log;
	CHECK(pthread_mutex_init(&s->lock, NULL) == 0);
	r = mirage_driver_create(&s->drv, cfg, &s->impl);
	if (r < 0)
		return r;
	CHECK(s->drv != NULL);
	CHECK(pthread_create(&s->thread, NULL, pump, s) == 0);
	/* Its start-up allocates (ASan's thread set-up): see th_fork. */
	while (!atomic_load(&s->started))
		th_sleep_ms(1);
	s->running = true;
	pumping = s;
	return 0;
}

void th_server_lock(struct th_server *s)
{
	CHECK(pthread_mutex_lock(&s->lock) == 0);
}

void th_server_unlock(struct th_server *s)
{
	CHECK(pthread_mutex_unlock(&s->lock) == 0);
}

void th_server_stop(struct th_server *s)
{
	if (!s->running)
		return;
	atomic_store(&s->stop, true);
	CHECK(pthread_join(s->thread, NULL) == 0);
	if (pumping == s)
		pumping = NULL;
	CHECK_EQ(atomic_load(&s->dispatch_errors), 0);
	mirage_driver_destroy(s->drv);
	s->drv = NULL;
	s->running = false;
	pthread_mutex_destroy(&s->lock);
}

/* ------------------------------------------------------------------ */
/* Raw messages                                                        */
/* ------------------------------------------------------------------ */

int th_raw_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK(strlen(path) < sizeof(addr.sun_path));
	strcpy(addr.sun_path, path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int th_raw_send_bytes(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EMSGSIZE;
}

int th_raw_send(int fd, uint32_t code, uint32_t serial, const void *payload, size_t len)
{
	uint8_t buf[sizeof(struct mirage_msg) + MIRAGE_MSG_MAX_PAYLOAD + 64];
	struct mirage_msg m = { .code = code, .length = (uint32_t)len, .serial = serial };

	CHECK(len <= sizeof(buf) - sizeof(m));
	memcpy(buf, &m, sizeof(m));
	if (len)
		memcpy(buf + sizeof(m), payload, len);
	return th_raw_send_bytes(fd, buf, sizeof(m) + len);
}

ssize_t th_raw_recv(int fd, struct th_reply *r, int timeout_ms)
{
	uint8_t buf[sizeof(struct mirage_msg) + sizeof(r->payload)];
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
	};
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int pr;

	memset(r, 0, sizeof(*r));
	do
		pr = poll(&p, 1, timeout_ms);
	while (pr < 0 && errno == EINTR);
	if (pr == 0)
		return -ETIMEDOUT;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (unsigned i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (r->nfds < 8)
					r->fds[r->nfds++] = f;
				else
					close(f);
			}
		}
	}
	if ((size_t)n >= sizeof(r->hdr)) {
		memcpy(&r->hdr, buf, sizeof(r->hdr));
		r->payload_len = (size_t)n - sizeof(r->hdr);
		memcpy(r->payload, buf + sizeof(r->hdr), r->payload_len);
	}
	return n;
}

void th_reply_close_fds(struct th_reply *r)
{
	for (unsigned i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
}

void th_raw_call(int fd, uint32_t code, const void *payload, size_t len, struct th_reply *r)
{
	static uint32_t serial = 100;
	uint32_t s = ++serial;
	ssize_t n;

	CHECK_EQ(th_raw_send(fd, code, s, payload, len), 0);
	n = th_raw_recv(fd, r, 5000);
	CHECK(n >= (ssize_t)sizeof(struct mirage_msg));
	CHECK_EQ(r->hdr.serial, s);
	CHECK_EQ(r->hdr.code, code);
	CHECK_EQ(r->hdr.length, r->payload_len);
}

void th_raw_negotiate(int fd)
{
	struct mirage_version_in in = { MIRAGE_PROTO_VERSION, MIRAGE_PROTO_MIN_COMPAT };
	struct mirage_version_out out;
	struct th_reply r;

	th_raw_call(fd, MIRAGE_ESC_VERSION, &in, sizeof(in), &r);
	CHECK_EQ(r.hdr.status, 1);
	CHECK_EQ(r.payload_len, sizeof(out));
	memcpy(&out, r.payload, sizeof(out));
	CHECK_EQ(out.server_version, MIRAGE_PROTO_VERSION);
	CHECK(out.client_min_version <= MIRAGE_PROTO_VERSION);
}

int th_raw_open(const char *path)
{
	int fd = th_raw_connect(path);

	CHECK(fd >= 0);
	th_raw_negotiate(fd);
	return fd;
}

bool th_raw_wait_closed(int fd, int timeout_ms)
{
	uint64_t end = th_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct th_reply r;

	for (;;) {
		int left = (int)((int64_t)(end - th_now_ns()) / 1000000);
		ssize_t n;

		if (left < 0)
			return false;
		n = th_raw_recv(fd, &r, left);
		th_reply_close_fds(&r);
		if (n == 0)
			return true;
		if (n == -ETIMEDOUT)
			return false;
		if (n < 0)
			return true; /* ECONNRESET and friends: closed too */
	}
}

const char *th_reply_text(struct th_reply *r)
{
	size_t n = r->payload_len < sizeof(r->payload) - 1 ? r->payload_len : sizeof(r->payload) - 1;

	r->payload[n] = 0;
	return (const char *)r->payload;
}

void th_raw_info(const char *path, struct mirage_info_out *info)
{
	int fd = th_raw_open(path);
	struct th_reply r;

	th_raw_call(fd, MIRAGE_ESC_INFO, NULL, 0, &r);
	CHECK_EQ(r.hdr.status, 1);
	CHECK(r.payload_len >= sizeof(*info));
	memcpy(info, r.payload, sizeof(*info));
	close(fd);
}

void th_good_client(const char *mirror)
{
	struct mirage_client *c = NULL;
	struct mirage_info_out info;
	struct mirage_record recs[16];
	uint32_t count;
	int r;

	r = mirage_client_connect(&c, mirror);
	if (r < 0)
		fprintf(stderr, "good client: %s\n", mirage_last_error());
	CHECK_EQ(r, 0);
	CHECK(mirage_client_test(c) >= 0);
	CHECK(mirage_client_test_mapped(c) >= 0);
	CHECK(mirage_client_info(c, &info, NULL, 0) >= 0);
	CHECK(mirage_client_connected(c));
	r = mirage_client_poll(c, recs, 16, &count);
	CHECK(r == MIRAGE_POLL_OK || r == MIRAGE_POLL_LOST);
	mirage_client_destroy(c);
}
