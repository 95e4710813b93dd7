/* SPDX-License-Identifier: MIT */
/*
 * mirage-x11's reads of the screen: MIT-SHM GetImage, plain GetImage, or
 * straight from an Xvfb -shmem framebuffer when the display is a local
 * Xvfb (checked against GetImage first), with the reads planned to cost
 * the fewest requests and pixels (plan_reads).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#include <xcb/randr.h>
#include <xcb/shm.h>
#include <xcb/xfixes.h>
#ifdef HAVE_XCB_XINPUT
#include <xcb/xinput.h>
#endif

#include "mirage-x11.h"

/*
 * What one GetImage request costs (the request, its reply, the server's and
 * our per-request work) in pixels read: reads are planned to minimise
 * requests x REQUEST_COST + pixels read.
 */
#define REQUEST_COST 2048

void x11_grab_shm_release(struct x11_mirror *m)
{
	if (m->shm) {
		if (m->conn && !xcb_connection_has_error(m->conn))
			xcb_shm_detach(m->conn, m->shmseg);
		shmdt(m->shm);
		m->shm = NULL;
	}
}

/* One segment holding a whole screen's worth of ZPixmap. */
int x11_grab_shm_setup(struct x11_mirror *m)
{
	xcb_generic_error_t *err;
	size_t size = (size_t)m->width * (size_t)m->height * 4 + 4096;

	x11_grab_shm_release(m);
	m->shmid = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	if (m->shmid < 0)
		return -errno;
	m->shm = shmat(m->shmid, NULL, 0);
	if (m->shm == (void *)-1) {
		int ret = -errno;
		shmctl(m->shmid, IPC_RMID, NULL);
		m->shm = NULL;
		return ret;
	}
	m->shm_size = size;
	m->shmseg = xcb_generate_id(m->conn);
	err = xcb_request_check(m->conn, xcb_shm_attach_checked(m->conn, m->shmseg, (uint32_t)m->shmid, 0));
	/* Marked for removal now so it cannot outlive us, whatever happens. */
	shmctl(m->shmid, IPC_RMID, NULL);
	if (err) {
		free(err);
		shmdt(m->shm);
		m->shm = NULL;
		return -EACCES; /* typically a remote display */
	}
	return 0;
}

void x11_grab_xvfb_release(struct x11_mirror *m)
{
	if (m->xvfb_addr)
		shmdt(m->xvfb_addr);
	m->xvfb_addr = NULL;
	m->xvfb_fb = NULL;
}

static bool local_display(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon && (colon == name || strncmp(name, "unix:", 5) == 0 || name[0] == '/');
}

/*
 * Xvfb -shmem keeps its framebuffer as an XWD file in a SysV segment named
 * "Xvfb <host>:<display>.<screen>" in the XWD header; find ours by that
 * name and the geometry, then check its pixels against GetImage.
 */
static bool xvfb_check(struct x11_mirror *m, const uint8_t *base, size_t size)
{
	uint32_t h[25], name_len;
	char want[32];
	const char *name = (const char *)base + 100;

	if (size < 100 + 16)
		return false;
	for (int i = 0; i < 25; i++) {
		uint32_t v;
		memcpy(&v, base + 4 * i, 4);
		h[i] = ntohl(v);
	}
	/* header_size, file_version 7, ZPixmap, depth, width, height, xoffset, LSBFirst */
	if (h[1] != 7 || h[2] != 2 || h[3] != m->depth || (int32_t)h[4] != m->width ||
	    (int32_t)h[5] != m->height || h[7] != 0 || h[11] != m->xbpp || h[0] < 100 || h[0] > 4096)
		return false;
	name_len = h[0] - 100;
	snprintf(want, sizeof(want), ":%d.%d", m->display_number, 0);
	if (name_len < strlen(want) + 5 || strncmp(name, "Xvfb ", 5) != 0 ||
	    !memchr(name, '\0', name_len) || strlen(name) < strlen(want) ||
	    strcmp(name + strlen(name) - strlen(want), want) != 0)
		return false;
	/* pixels follow the header and ncolors XWDColor (12 bytes) */
	size_t off = (size_t)h[0] + (size_t)h[19] * 12;
	if (h[12] < (uint32_t)m->width * (m->xbpp / 8) || off + (size_t)h[12] * (size_t)m->height > size)
		return false;
	m->xvfb_fb = base + off;
	m->xvfb_stride = h[12];
	return true;
}

/*
 * The segment must hold what GetImage returns, except under the software
 * cursor that Xvfb draws into it.
 */
static bool xvfb_verify(struct x11_mirror *m)
{
	size_t row = (size_t)m->width * (m->xbpp / 8), bp = m->xbpp / 8;

	if (!m->shm)
		return true;
	for (int attempt = 0; attempt < 3; attempt++) {
		xcb_shm_get_image_cookie_t ck = xcb_shm_get_image(m->conn, m->root, 0, 0, (uint16_t)m->width,
			(uint16_t)m->height, ~0u, XCB_IMAGE_FORMAT_Z_PIXMAP, m->shmseg, 0);
		xcb_query_pointer_reply_t *p = xcb_query_pointer_reply(m->conn, xcb_query_pointer(m->conn, m->root), NULL);
		xcb_shm_get_image_reply_t *r = xcb_shm_get_image_reply(m->conn, ck, NULL);
		int32_t px = p ? p->root_x : -1000, py = p ? p->root_y : -1000;
		bool same = r != NULL;

		free(r);
		free(p);
		for (int32_t y = 0; same && y < m->height; y++) {
			const uint8_t *a = m->shm + (size_t)y * row, *b = m->xvfb_fb + (size_t)y * m->xvfb_stride;
			if (memcmp(a, b, row) == 0)
				continue;
			for (int32_t x = 0; same && x < m->width; x++)
				if (memcmp(a + (size_t)x * bp, b + (size_t)x * bp, bp) != 0)
					same = x >= px - 256 && x < px + 256 && y >= py - 256 && y < py + 256;
		}
		if (same)
			return true;
	}
	return false;
}

void x11_grab_xvfb_probe(struct x11_mirror *m)
{
	FILE *f;
	char line[512];

	x11_grab_xvfb_release(m);
	if (!m->display_name || !local_display(m->display_name))
		return;
	f = fopen("/proc/sysvipc/shm", "r");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) /* the column titles */
		goto cleanup;
	while (fgets(line, sizeof(line), f)) {
		long long key, size;
		int shmid;
		unsigned perms;
		const void *addr;

		if (sscanf(line, "%lld %d %o %lld", &key, &shmid, &perms, &size) != 4)
			continue;
		if (size < (long long)m->width * m->height * (m->xbpp / 8))
			continue;
		addr = shmat(shmid, NULL, SHM_RDONLY);
		if (addr == (void *)-1)
			continue;
		if (xvfb_check(m, addr, (size_t)size)) {
			m->xvfb_addr = addr;
			m->xvfb_shmid = shmid;
			if (xvfb_verify(m)) {
				x11_log(m, MIRAGE_LOG_INFO, "reading pixels from Xvfb's framebuffer (shmid %d)", shmid);
				goto cleanup;
			}
			x11_log(m, MIRAGE_LOG_WARNING, "Xvfb segment %d does not match the screen; using MIT-SHM", shmid);
			m->xvfb_addr = NULL;
			m->xvfb_fb = NULL;
		}
		shmdt(addr);
	}
cleanup:
	fclose(f);
}

/* ------------------------------------------------------------------ */
/* Grabbing                                                            */
/* ------------------------------------------------------------------ */

static void put_rows(struct x11_mirror *m, const pixman_box32_t *b, const uint8_t *src, size_t src_stride)
{
	uint32_t nb = m->next.bpp / 8;

	for (int32_t y = b->y1; y < b->y2; y++)
		refine_convert_row(m->next.data + (size_t)y * m->next.stride + (size_t)b->x1 * nb, m->next.bpp,
				src + (size_t)(y - b->y1) * src_stride, m->xbpp, m->masks,
				(uint32_t)(b->x2 - b->x1));
}

static size_t zpixmap_stride(const struct x11_mirror *m, int32_t w)
{
	size_t bits = (size_t)w * m->xbpp, pad = m->scanline_pad ? m->scanline_pad : 32;

	return (bits + pad - 1) / pad * pad / 8;
}

struct pending {
	pixman_box32_t box;
	size_t offset;
	xcb_shm_get_image_cookie_t cookie;
};

static int finish_pending(struct x11_mirror *m, struct pending *p, int n)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		xcb_generic_error_t *err = NULL;
		xcb_shm_get_image_reply_t *r = xcb_shm_get_image_reply(m->conn, p[i].cookie, &err);

		if (!r) {
			/* BadMatch: the screen shrank under us; a RandR event follows. */
			free(err);
			ret = -EAGAIN;
			continue;
		}
		free(r);
		if (ret == 0)
			put_rows(m, &p[i].box, m->shm + p[i].offset, zpixmap_stride(m, p[i].box.x2 - p[i].box.x1));
	}
	return ret;
}

static int grab_shm(struct x11_mirror *m, const pixman_box32_t *boxes, int n)
{
	struct pending *p = calloc((size_t)n, sizeof(*p));
	size_t offset = 0;
	int np = 0, ret = 0;

	if (!p)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &boxes[i];
		size_t size = zpixmap_stride(m, b->x2 - b->x1) * (size_t)(b->y2 - b->y1);

		if (offset + size > m->shm_size) {
			/* Segment full: collect what is in flight, start over. */
			ret = finish_pending(m, p, np);
			np = 0;
			offset = 0;
			if (ret < 0)
				goto cleanup;
		}
		p[np].box = *b;
		p[np].offset = offset;
		p[np].cookie = xcb_shm_get_image(m->conn, m->root, (int16_t)b->x1, (int16_t)b->y1,
						 (uint16_t)(b->x2 - b->x1), (uint16_t)(b->y2 - b->y1), ~0u,
						 XCB_IMAGE_FORMAT_Z_PIXMAP, m->shmseg, (uint32_t)offset);
		np++;
		offset += (size + 63) & ~(size_t)63;
		m->grab_requests++;
		m->grab_bytes += size;
	}
	ret = finish_pending(m, p, np);
cleanup:
	free(p);
	return ret;
}

static int grab_plain(struct x11_mirror *m, const pixman_box32_t *boxes, int n)
{
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &boxes[i];
		xcb_get_image_reply_t *r = xcb_get_image_reply(m->conn,
			xcb_get_image(m->conn, XCB_IMAGE_FORMAT_Z_PIXMAP, m->root, (int16_t)b->x1, (int16_t)b->y1,
				      (uint16_t)(b->x2 - b->x1), (uint16_t)(b->y2 - b->y1), ~0u), NULL);

		if (!r)
			return -EAGAIN;
		m->grab_requests++;
		m->grab_bytes += (uint64_t)xcb_get_image_data_length(r);
		put_rows(m, b, xcb_get_image_data(r), zpixmap_stride(m, b->x2 - b->x1));
		free(r);
	}
	return 0;
}

static int grab_plain(struct x11_mirror *m, const pixman_box32_t *boxes, int n);

static int grab_xvfb(struct x11_mirror *m, pixman_region32_t *region)
{
	xcb_query_pointer_reply_t *p;
	pixman_region32_t under;
	const pixman_box32_t *boxes;
	int n, ret = 0;

	/*
	 * Xvfb draws a software cursor into its framebuffer (GetImage takes
	 * it out).  Ask where the pointer is -- that round trip also makes
	 * sure the server finished drawing what it reported -- and read what
	 * lies under the cursor through the protocol.
	 */
	p = xcb_query_pointer_reply(m->conn, xcb_query_pointer(m->conn, m->root), NULL);
	pixman_region32_init(&under);
	if (p) {
		int32_t w = m->cursor.width ? (int32_t)m->cursor.width : 64;
		int32_t h = m->cursor.height ? (int32_t)m->cursor.height : 64;
		int32_t x = p->root_x - (m->cursor.width ? m->cursor.hot_x : 32) - 2;
		int32_t y = p->root_y - (m->cursor.height ? m->cursor.hot_y : 32) - 2;

		pixman_region32_intersect_rect(&under, region, x, y, (unsigned)(w + 4), (unsigned)(h + 4));
		free(p);
	} else {
		pixman_region32_copy(&under, region);
	}
	pixman_region32_subtract(region, region, &under);
	boxes = pixman_region32_rectangles(region, &n);
	for (int i = 0; i < n; i++) {
		const pixman_box32_t *b = &boxes[i];
		put_rows(m, b, m->xvfb_fb + (size_t)b->y1 * m->xvfb_stride + (size_t)b->x1 * (m->xbpp / 8),
			 m->xvfb_stride);
	}
	boxes = pixman_region32_rectangles(&under, &n);
	if (n)
		ret = m->shm ? grab_shm(m, boxes, n) : grab_plain(m, boxes, n);
	pixman_region32_union(region, region, &under);
	pixman_region32_fini(&under);
	return ret;
}

static uint64_t read_cost(pixman_region32_t *r)
{
	int n;
	const pixman_box32_t *b = pixman_region32_rectangles(r, &n);
	uint64_t cost = (uint64_t)n * REQUEST_COST;

	for (int i = 0; i < n; i++)
		cost += (uint64_t)(b[i].x2 - b[i].x1) * (uint64_t)(b[i].y2 - b[i].y1);
	return cost;
}

/*
 * What to read for `damage`: the damage itself (clipped to the screen), or
 * the damage with its rectangles widened to a grid of 16 to 256 pixels, or
 * its bounding box -- whichever costs least.  Widening merges the many
 * small rectangles of text or line drawing into a few requests while
 * staying close to the damage, where one bounding box would read the
 * whole screen for two distant changes.
 */
void x11_grab_plan(struct x11_mirror *m, pixman_region32_t *damage, pixman_region32_t *out)
{
	static const int32_t grids[] = { 16, 32, 64, 128, 256 };
	const pixman_box32_t *b;
	pixman_box32_t *snapped, e;
	uint64_t best;
	int n;

	pixman_region32_intersect_rect(out, damage, 0, 0, (unsigned)m->width, (unsigned)m->height);
	b = pixman_region32_rectangles(out, &n);
	if (n <= 1)
		return;
	best = read_cost(out);
	snapped = malloc(sizeof(*snapped) * (size_t)n);
	for (size_t g = 0; snapped && g < sizeof(grids) / sizeof(grids[0]); g++) {
		int32_t q = grids[g];
		pixman_region32_t cand;
		uint64_t cost;

		b = pixman_region32_rectangles(out, &n);
		for (int i = 0; i < n; i++) {
			snapped[i].x1 = b[i].x1 / q * q;
			snapped[i].y1 = b[i].y1 / q * q;
			snapped[i].x2 = (b[i].x2 + q - 1) / q * q;
			snapped[i].y2 = (b[i].y2 + q - 1) / q * q;
		}
		if (!pixman_region32_init_rects(&cand, snapped, n))
			break;
		pixman_region32_intersect_rect(&cand, &cand, 0, 0, (unsigned)m->width, (unsigned)m->height);
		cost = read_cost(&cand);
		if (cost < best) {
			best = cost;
			pixman_region32_copy(out, &cand);
		}
		pixman_region32_fini(&cand);
	}
	free(snapped);
	e = *pixman_region32_extents(out);
	if ((uint64_t)REQUEST_COST + (uint64_t)(e.x2 - e.x1) * (uint64_t)(e.y2 - e.y1) < best) {
		pixman_region32_fini(out);
		pixman_region32_init_rect(out, e.x1, e.y1, (unsigned)(e.x2 - e.x1), (unsigned)(e.y2 - e.y1));
	}
}

/* Fills m->next over region (already clipped to the screen). */
int x11_grab(struct x11_mirror *m, pixman_region32_t *region)
{
	int n;
	const pixman_box32_t *boxes;

	pixman_region32_intersect_rect(region, region, 0, 0, (unsigned)m->width, (unsigned)m->height);
	boxes = pixman_region32_rectangles(region, &n);
	if (n == 0)
		return 0;
	if (m->xvfb_fb)
		return grab_xvfb(m, region);
	if (m->shm)
		return grab_shm(m, boxes, n);
	return grab_plain(m, boxes, n);
}

/* ------------------------------------------------------------------ */
/* Windows                                                             */
/* ------------------------------------------------------------------ */

