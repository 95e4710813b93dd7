/* SPDX-License-Identifier: MIT */
/*
 * The pipe's shared memory: layout and formats (white-box), and read-only
 * enforcement on what a consumer receives: neither mmap(PROT_WRITE,
 * MAP_SHARED) of the descriptors, nor mprotect(PROT_WRITE) of a mapping,
 * nor a read-write reopen through /proc gives write access.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "private.h"

static void check_layout(int32_t w, int32_t h, uint32_t bpp)
{
	struct mirage_pipe_geometry g = {
		.generation = 7, .width = w, .height = h, .bpp = bpp,
		.backing_mode = bpp ? 3 : 0, .capacity = 100,
	};
	struct mirage_pipe p;
	const struct mirage_surface_header *s;
	uint32_t stride = bpp ? ((uint32_t)w * (bpp >> 3) + 3) & ~3u : 0;
	long page = sysconf(_SC_PAGESIZE);

	memset(&p, 0, sizeof(p));
	CHECK_EQ(mirage_pipe_create(&p, &g), 0);
	s = p.surface;
	CHECK_EQ(s->magic, MIRAGE_SURFACE_MAGIC);
	CHECK_EQ(s->version, MIRAGE_PROTO_VERSION);
	CHECK_EQ(s->header_size, MIRAGE_SURFACE_HEADER_SIZE);
	CHECK_EQ(s->generation, 7);
	CHECK_EQ(p.ring->generation, 7);
	CHECK_EQ(p.ring->version, MIRAGE_PROTO_VERSION);
	CHECK_EQ(s->width, w);
	CHECK_EQ(s->height, h);
	CHECK_EQ(s->bpp, bpp);
	CHECK_EQ(s->stride, stride);
	CHECK_EQ(s->cursor_offset, MIRAGE_SURFACE_HEADER_SIZE);
	CHECK(p.ring_size >= MIRAGE_RING_HEADER_SIZE + 100 * sizeof(struct mirage_record));
	CHECK_EQ(p.ring_size % (size_t)page, 0);
	if (bpp == 0) {
		CHECK(p.pixels == NULL);
		CHECK_EQ(s->pixels_size, 0);
		CHECK_EQ(s->shadow_lines, 0);
	} else {
		uint32_t shadow = (256u * 256u * (bpp >> 3) + stride - 1) / stride;

		CHECK(p.pixels != NULL);
		CHECK_EQ(s->pixels_offset % (uint64_t)page, 0);
		CHECK(s->pixels_offset >= s->cursor_offset + MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX * 4);
		CHECK_EQ(s->shadow_lines, shadow < 1 ? 1 : shadow);
		CHECK(s->shadow_status & MIRAGE_SHADOW_EXISTS);
		CHECK_EQ(s->pixels_size, (uint64_t)stride * (uint64_t)(h + (int32_t)s->shadow_lines));
		CHECK(p.surface_size >= s->pixels_offset + s->pixels_size);
		CHECK(p.pixels == (uint8_t *)p.surface + s->pixels_offset);
		/* The last shadow byte is inside the mapping. */
		p.pixels[s->pixels_size - 1] = 0x5a;
		if (bpp == 16) {
			CHECK_EQ(s->red_mask, 0xf800);
			CHECK_EQ(s->green_mask, 0x07e0);
			CHECK_EQ(s->blue_mask, 0x001f);
		} else {
			CHECK_EQ(s->red_mask, 0xff0000);
			CHECK_EQ(s->green_mask, 0x00ff00);
			CHECK_EQ(s->blue_mask, 0x0000ff);
		}
	}
	mirage_pipe_finish(&p);
}

static void test_layout(void)
{
	check_layout(100, 50, 32);
	check_layout(101, 50, 24); /* odd width: stride padded to 4 */
	check_layout(33, 7, 16);
	check_layout(1920, 1080, 32);
	check_layout(64, 64, 0);
}

/* Every way a consumer could try to write the memory must fail. */
static void check_readonly(int fd, size_t size, const char *what)
{
	void *m;
	char path[64];
	int rw;

	fprintf(stderr, "   %s (%zu bytes)\n", what, size);
	CHECK(size > 0);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		fprintf(stderr, "%s: writable shared mapping allowed\n", what);
		CHECK(!"mmap(PROT_WRITE, MAP_SHARED) succeeded");
	}
	CHECK(errno == EACCES || errno == EPERM);

	m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK(mprotect(m, size, PROT_READ | PROT_WRITE) < 0);
	CHECK(errno == EACCES || errno == EPERM);
	munmap(m, size);

	CHECK(write(fd, "x", 1) < 0);
	CHECK(ftruncate(fd, 0) < 0);

	/*
	 * memfd inodes are 0777, so /proc may hand out a read-write
	 * descriptor: the seals must still refuse writes through it.
	 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rw = open(path, O_RDWR);
	if (rw >= 0) {
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
		if (m != MAP_FAILED) {
			fprintf(stderr, "%s: writable through a /proc reopen\n", what);
			CHECK(!"reopened descriptor maps writable");
		}
		CHECK(pwrite(rw, "x", 1, 0) < 0);
		CHECK(ftruncate(rw, 0) < 0);
		close(rw);
	}
}

static void test_readonly_fds(void)
{
	struct th_server srv;
	struct mirage_driver_config cfg;
	struct mirage_map_out mo;
	struct th_reply r;
	char path[512];
	void *m;
	int fd;

	th_config(&cfg, "ro", 320, 200);
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
	snprintf(path, sizeof(path), "%s/ro.sock", th_dir());
	CHECK_STR(mirage_driver_socket_path(srv.drv), path);

	fd = th_raw_open(path);
	th_raw_call(fd, MIRAGE_ESC_PIPE_MAP, NULL, 0, &r);
	CHECK_EQ(r.hdr.status, 1);
	CHECK_EQ(r.payload_len, sizeof(mo));
	CHECK_EQ(r.nfds, 3);
	memcpy(&mo, r.payload, sizeof(mo));
	CHECK_EQ(mo.width, 320);
	CHECK_EQ(mo.height, 200);
	CHECK_EQ(mo.bpp, 32);
	CHECK_EQ(mo.stride, 320 * 4);

	CHECK_EQ(fcntl(r.fds[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fcntl(r.fds[1], F_GETFL) & O_ACCMODE, O_RDONLY);
	check_readonly(r.fds[0], mo.ring_size, "ring");
	check_readonly(r.fds[1], (size_t)mo.surface_size, "surface");

	/* What is readable is the real thing. */
	m = mmap(NULL, mo.ring_size, PROT_READ, MAP_SHARED, r.fds[0], 0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(((const struct mirage_ring_header *)m)->magic, MIRAGE_RING_MAGIC);
	CHECK_EQ(((const struct mirage_ring_header *)m)->generation, mo.generation);
	munmap(m, mo.ring_size);

	/* The wait page is the one consumer-writable page. */
	m = mmap(NULL, MIRAGE_WAIT_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r.fds[2], 0);
	CHECK(m != MAP_FAILED);
	munmap(m, MIRAGE_WAIT_PAGE_SIZE);

	th_reply_close_fds(&r);
	close(fd);
	th_server_stop(&srv);
}

/* The client library's own mappings cannot be made writable either. */
static void test_client_mapping_readonly(void)
{
	struct th_server srv;
	struct mirage_driver_config cfg;
	struct mirage_client *c = NULL;
	long page = sysconf(_SC_PAGESIZE);
	const void *ptrs[3];

	th_config(&cfg, "ro2", 64, 64);
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
	CHECK_EQ(mirage_client_connect(&c, "ro2"), 0);
	ptrs[0] = mirage_client_ring(c);
	ptrs[1] = mirage_client_surface(c);
	ptrs[2] = mirage_client_pixels(c);
	for (int i = 0; i < 3; i++) {
		void *pg = (void *)((uintptr_t)ptrs[i] & ~(uintptr_t)(page - 1));

		CHECK(ptrs[i] != NULL);
		CHECK(mprotect(pg, (size_t)page, PROT_READ | PROT_WRITE) < 0);
	}
	/* Still readable after the refused attempts. */
	CHECK_EQ(mirage_client_ring(c)->magic, MIRAGE_RING_MAGIC);
	CHECK_EQ(mirage_client_surface(c)->magic, MIRAGE_SURFACE_MAGIC);
	mirage_client_destroy(c);
	th_server_stop(&srv);
}

int main(void)
{
	th_init("pipe", 60);
	RUN(test_layout);
	RUN(test_readonly_fds);
	RUN(test_client_mapping_readonly);
	return 0;
}
