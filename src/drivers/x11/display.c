/* SPDX-License-Identifier: MIT */
/*
 * The X side of mirage-x11: one XCB connection that watches the root window
 * (DAMAGE raw rectangles with inferiors, top-level ConfigureNotify, RandR,
 * XFIXES cursor, XInput2 raw motion) and reads the damaged pixels, through
 * MIT-SHM or straight from an Xvfb -shmem framebuffer.
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

#define TILE 32
/* Damage rectangles at least this large may hold a scroll. */
#define SCROLL_AREA_MIN_W 32
#define SCROLL_AREA_MIN_H 24

static bool attached(const struct x11_mirror *m)
{
	return m->drv && mirage_driver_attached(m->drv);
}

/* ------------------------------------------------------------------ */
/* Surface bookkeeping                                                 */
/* ------------------------------------------------------------------ */

static struct refine_image surface_image(struct x11_mirror *m)
{
	const struct mirage_surface_header *s = mirage_driver_surface(m->drv);
	struct refine_image im = {
		.data = mirage_driver_pixels(m->drv),
		.stride = s->stride,
		.bpp = s->bpp,
		.width = s->width,
		.height = s->height,
	};
	return im;
}

static uint8_t *shadow_lines(struct x11_mirror *m)
{
	const struct mirage_surface_header *s = mirage_driver_surface(m->drv);
	uint8_t *p = mirage_driver_pixels(m->drv);

	return p && s->shadow_lines ? p + (size_t)s->stride * (size_t)s->height : NULL;
}

int x11_display_surface_changed(struct x11_mirror *m)
{
	struct refine_image s = surface_image(m);

	free(m->next.data);
	memset(&m->next, 0, sizeof(m->next));
	m->cursor.drawn = false;
	if (!s.data)
		return 0;
	m->next = s;
	m->next.data = malloc((size_t)s.stride * (size_t)s.height);
	if (!m->next.data) {
		x11_log(m, MIRAGE_LOG_ERROR, "out of memory for a %dx%d frame", s.width, s.height);
		return -ENOMEM;
	}
	return 0;
}

static struct x11_window *window_find(struct x11_mirror *m, xcb_window_t id)
{
	for (size_t i = 0; i < m->nwindows; i++)
		if (m->windows[i].id == id)
			return &m->windows[i];
	return NULL;
}

static struct x11_window *window_add(struct x11_mirror *m, xcb_window_t id)
{
	struct x11_window *w = window_find(m, id);

	if (w)
		return w;
	if (m->nwindows == m->cap_windows) {
		size_t cap = m->cap_windows ? 2 * m->cap_windows : 64;
		struct x11_window *nw = realloc(m->windows, cap * sizeof(*nw));
		if (!nw)
			return NULL;
		m->windows = nw;
		m->cap_windows = cap;
	}
	w = &m->windows[m->nwindows++];
	memset(w, 0, sizeof(*w));
	w->id = id;
	return w;
}

static void window_remove(struct x11_mirror *m, xcb_window_t id)
{
	struct x11_window *w = window_find(m, id);

	if (w)
		*w = m->windows[--m->nwindows];
}

static void window_geometry(struct x11_window *w, int16_t x, int16_t y, uint16_t width,
			    uint16_t height, uint16_t border)
{
	w->x = x;
	w->y = y;
	w->w = width + 2 * border;
	w->h = height + 2 * border;
}

static void windows_scan(struct x11_mirror *m)
{
	xcb_query_tree_reply_t *tree = xcb_query_tree_reply(m->conn, xcb_query_tree(m->conn, m->root), NULL);
	xcb_window_t *kids;
	int n;

	m->nwindows = 0;
	if (!tree)
		return;
	kids = xcb_query_tree_children(tree);
	n = xcb_query_tree_children_length(tree);
	for (int i = 0; i < n; i++) {
		xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(m->conn, xcb_get_geometry(m->conn, kids[i]), NULL);
		xcb_get_window_attributes_reply_t *a = xcb_get_window_attributes_reply(m->conn,
			xcb_get_window_attributes(m->conn, kids[i]), NULL);
		struct x11_window *w;

		if (g && a && (w = window_add(m, kids[i]))) {
			window_geometry(w, g->x, g->y, g->width, g->height, g->border_width);
			w->pub_x = w->x;
			w->pub_y = w->y;
			w->mapped = a->map_state != XCB_MAP_STATE_UNMAPPED;
		}
		free(g);
		free(a);
	}
	free(tree);
}

/* ------------------------------------------------------------------ */
/* Cursor, monitors                                                    */
/* ------------------------------------------------------------------ */

static void cursor_fetch(struct x11_mirror *m)
{
	xcb_xfixes_get_cursor_image_reply_t *r =
		xcb_xfixes_get_cursor_image_reply(m->conn, xcb_xfixes_get_cursor_image(m->conn), NULL);
	struct refine_cursor *c = &m->cursor;
	uint32_t w, h;
	uint32_t *argb;

	if (!r)
		return;
	w = r->width > MIRAGE_CURSOR_MAX ? MIRAGE_CURSOR_MAX : r->width;
	h = r->height > MIRAGE_CURSOR_MAX ? MIRAGE_CURSOR_MAX : r->height;
	argb = malloc((size_t)(w ? w : 1) * (h ? h : 1) * 4);
	if (argb) {
		const uint32_t *src = xcb_xfixes_get_cursor_image_cursor_image(r);
		for (uint32_t y = 0; y < h; y++)
			memcpy(argb + (size_t)y * w, src + (size_t)y * r->width, (size_t)w * 4);
		free(c->argb);
		c->argb = argb;
		c->width = w;
		c->height = h;
		c->hot_x = r->xhot;
		c->hot_y = r->yhot;
		c->serial = r->cursor_serial;
		if (mirage_driver_set_cursor_shape(m->drv, w, h, c->hot_x, c->hot_y, argb) < 0)
			x11_log(m, MIRAGE_LOG_WARNING, "cursor shape: %s", mirage_last_error());
	}
	c->x = r->x;
	c->y = r->y;
	c->visible = true;
	free(r);
}

static void pointer_fetch(struct x11_mirror *m)
{
	xcb_query_pointer_reply_t *r = xcb_query_pointer_reply(m->conn, xcb_query_pointer(m->conn, m->root), NULL);

	if (!r)
		return;
	m->cursor.x = r->root_x;
	m->cursor.y = r->root_y;
	m->cursor.visible = r->same_screen;
	free(r);
}

void x11_display_monitors(struct x11_mirror *m)
{
	struct mirage_monitor mon[MIRAGE_MONITORS_MAX];
	uint32_t count = 0;

	memset(mon, 0, sizeof(mon));
	if (m->have_randr) {
		xcb_randr_get_monitors_reply_t *r =
			xcb_randr_get_monitors_reply(m->conn, xcb_randr_get_monitors(m->conn, m->root, 1), NULL);
		if (r) {
			xcb_randr_monitor_info_iterator_t it = xcb_randr_get_monitors_monitors_iterator(r);
			for (; it.rem && count < MIRAGE_MONITORS_MAX; xcb_randr_monitor_info_next(&it)) {
				xcb_randr_monitor_info_t *i = it.data;
				xcb_get_atom_name_reply_t *n = xcb_get_atom_name_reply(m->conn,
					xcb_get_atom_name(m->conn, i->name), NULL);
				struct mirage_monitor *o = &mon[count++];

				o->rect = (struct mirage_rect){ i->x, i->y, i->x + i->width, i->y + i->height };
				o->flags = i->primary ? MIRAGE_MONITOR_PRIMARY : 0;
				if (n) {
					int len = xcb_get_atom_name_name_length(n);
					if (len > (int)MIRAGE_MONITOR_NAME_MAX - 1)
						len = MIRAGE_MONITOR_NAME_MAX - 1;
					memcpy(o->name, xcb_get_atom_name_name(n), (size_t)len);
					free(n);
				}
			}
			free(r);
		}
	}
	if (count == 0) {
		mon[0].rect = (struct mirage_rect){ 0, 0, m->width, m->height };
		mon[0].flags = MIRAGE_MONITOR_PRIMARY;
		snprintf(mon[0].name, sizeof(mon[0].name), "SCREEN");
		count = 1;
	}
	if (mirage_driver_set_monitors(m->drv, mon, count) < 0)
		x11_log(m, MIRAGE_LOG_WARNING, "monitors: %s", mirage_last_error());
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

static bool extension(xcb_connection_t *c, xcb_extension_t *ext, uint8_t *first_event, uint8_t *opcode)
{
	const xcb_query_extension_reply_t *r = xcb_get_extension_data(c, ext);

	if (!r || !r->present)
		return false;
	if (first_event)
		*first_event = r->first_event;
	if (opcode)
		*opcode = r->major_opcode;
	return true;
}

static int parse_display_number(const char *name)
{
	const char *colon = name ? strrchr(name, ':') : NULL;

	return colon ? atoi(colon + 1) : 0;
}

int x11_display_open(struct x11_mirror *m)
{
	int screen_num = 0, err;
	const xcb_setup_t *setup;
	xcb_screen_iterator_t it;
	uint32_t mask;

	if (!m->display_name)
		m->display_name = getenv("DISPLAY");
	m->conn = xcb_connect(m->display_name, &screen_num);
	if ((err = xcb_connection_has_error(m->conn)) != 0) {
		x11_log(m, MIRAGE_LOG_ERROR, "cannot open X display \"%s\" (xcb error %d)",
			m->display_name ? m->display_name : "", err);
		xcb_disconnect(m->conn);
		m->conn = NULL;
		return -ECONNREFUSED;
	}
	m->display_number = parse_display_number(m->display_name);
	setup = xcb_get_setup(m->conn);
	it = xcb_setup_roots_iterator(setup);
	for (int i = 0; i < screen_num && it.rem; i++)
		xcb_screen_next(&it);
	m->screen = it.data;
	m->root = m->screen->root;
	m->width = m->screen->width_in_pixels;
	m->height = m->screen->height_in_pixels;
	m->depth = m->screen->root_depth;
	if (setup->image_byte_order != XCB_IMAGE_ORDER_LSB_FIRST) {
		x11_log(m, MIRAGE_LOG_ERROR, "the X server sends MSB-first images; not supported");
		return -ENOTSUP;
	}
	for (xcb_format_iterator_t f = xcb_setup_pixmap_formats_iterator(setup); f.rem; xcb_format_next(&f))
		if (f.data->depth == m->depth) {
			m->xbpp = f.data->bits_per_pixel;
			m->scanline_pad = f.data->scanline_pad;
		}
	for (xcb_depth_iterator_t d = xcb_screen_allowed_depths_iterator(m->screen); d.rem; xcb_depth_next(&d))
		for (xcb_visualtype_iterator_t v = xcb_depth_visuals_iterator(d.data); v.rem; xcb_visualtype_next(&v))
			if (v.data->visual_id == m->screen->root_visual) {
				m->masks[0] = v.data->red_mask;
				m->masks[1] = v.data->green_mask;
				m->masks[2] = v.data->blue_mask;
			}
	if ((m->xbpp != 16 && m->xbpp != 24 && m->xbpp != 32) || !m->masks[0]) {
		x11_log(m, MIRAGE_LOG_ERROR, "root window depth %u (%u bpp) is not a TrueColor 16, 24 or 32 bpp format",
			m->depth, m->xbpp);
		return -ENOTSUP;
	}

	if (!extension(m->conn, &xcb_damage_id, &m->damage_event, NULL)) {
		x11_log(m, MIRAGE_LOG_ERROR, "the X server has no DAMAGE extension");
		return -ENOTSUP;
	}
	free(xcb_damage_query_version_reply(m->conn, xcb_damage_query_version(m->conn, 1, 1), NULL));
	if (!extension(m->conn, &xcb_xfixes_id, &m->xfixes_event, NULL)) {
		x11_log(m, MIRAGE_LOG_ERROR, "the X server has no XFIXES extension");
		return -ENOTSUP;
	}
	free(xcb_xfixes_query_version_reply(m->conn, xcb_xfixes_query_version(m->conn, 5, 0), NULL));
	xcb_xfixes_select_cursor_input(m->conn, m->root, XCB_XFIXES_CURSOR_NOTIFY_MASK_DISPLAY_CURSOR);

	if (extension(m->conn, &xcb_randr_id, &m->randr_event, NULL)) {
		xcb_randr_query_version_reply_t *v = xcb_randr_query_version_reply(m->conn,
			xcb_randr_query_version(m->conn, 1, 5), NULL);
		m->have_randr = v && (v->major_version > 1 || v->minor_version >= 5);
		free(v);
		xcb_randr_select_input(m->conn, m->root, XCB_RANDR_NOTIFY_MASK_SCREEN_CHANGE);
	}
#ifdef HAVE_XCB_XINPUT
	if (extension(m->conn, &xcb_input_id, NULL, &m->xinput_opcode)) {
		xcb_input_xi_query_version_reply_t *v = xcb_input_xi_query_version_reply(m->conn,
			xcb_input_xi_query_version(m->conn, 2, 0), NULL);
		if (v && v->major_version >= 2) {
			struct {
				xcb_input_event_mask_t head;
				uint32_t mask;
			} em = { { XCB_INPUT_DEVICE_ALL_MASTER, 1 }, XCB_INPUT_XI_EVENT_MASK_RAW_MOTION };
			xcb_input_xi_select_events(m->conn, m->root, 1, &em.head);
			m->have_xinput = true;
		}
		free(v);
	}
#endif
	/*
	 * Root motion is reported only where no child took it, and XInput2
	 * raw motion misses warps: together they see the pointer move.
	 */
	mask = XCB_EVENT_MASK_STRUCTURE_NOTIFY | XCB_EVENT_MASK_SUBSTRUCTURE_NOTIFY |
	       XCB_EVENT_MASK_POINTER_MOTION;
	xcb_change_window_attributes(m->conn, m->root, XCB_CW_EVENT_MASK, &mask);

	if (extension(m->conn, &xcb_shm_id, NULL, NULL) && !m->no_shm) {
		int ret = x11_grab_shm_setup(m);
		if (ret < 0)
			x11_log(m, MIRAGE_LOG_WARNING, "MIT-SHM unusable (%s); reading pixels with GetImage",
				strerror(-ret));
	}
	if (!m->no_xvfb)
		x11_grab_xvfb_probe(m);
	windows_scan(m);
	pixman_region32_init(&m->damage_region);
	xcb_flush(m->conn);
	return 0;
}

void x11_display_close(struct x11_mirror *m)
{
	x11_grab_xvfb_release(m);
	x11_grab_shm_release(m);
	if (m->conn)
		xcb_disconnect(m->conn);
	m->conn = NULL;
	pixman_region32_fini(&m->damage_region);
	free(m->windows);
	m->windows = NULL;
	m->nwindows = m->cap_windows = 0;
	free(m->cursor.argb);
	m->cursor.argb = NULL;
	free(m->next.data);
	memset(&m->next, 0, sizeof(m->next));
	m->damage = 0;
}

/* ------------------------------------------------------------------ */
/* Attach, detach, events                                              */
/* ------------------------------------------------------------------ */

/* The whole screen into the surface, and one BLIT. */
static int full_refresh(struct x11_mirror *m)
{
	struct refine_image s = surface_image(m);
	pixman_region32_t all, dirty;
	int ret = 0;

	m->full_refresh = false;
	if (!s.data) {
		mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, 0, 0, m->width, m->height);
		goto publish;
	}
	pixman_region32_init_rect(&all, 0, 0, (unsigned)m->width, (unsigned)m->height);
	pixman_region32_init(&dirty);
	ret = x11_grab(m, &all);
	pixman_region32_fini(&all);
	if (ret == 0) {
		for (int32_t y = 0; y < s.height; y++)
			memcpy(s.data + (size_t)y * s.stride, m->next.data + (size_t)y * s.stride,
			       (size_t)s.width * (s.bpp / 8));
		m->cursor.drawn = false;
		if (mirage_driver_settings(m->drv)->pointer_enabled)
			refine_cursor_draw(&m->cursor, &s, shadow_lines(m), &dirty);
		mirage_driver_set_shadow_status(m->drv, MIRAGE_SHADOW_EXISTS |
						(m->cursor.drawn ? MIRAGE_SHADOW_IN_USE : 0));
		mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, 0, 0, m->width, m->height);
		m->stats.published_pixels += (uint64_t)m->width * (uint64_t)m->height;
		m->stats.blits++;
	} else {
		m->full_refresh = true; /* try again next pass */
	}
	pixman_region32_fini(&dirty);
publish:
	for (size_t i = 0; i < m->nwindows; i++) {
		m->windows[i].pub_x = m->windows[i].x;
		m->windows[i].pub_y = m->windows[i].y;
	}
	pixman_region32_clear(&m->damage_region);
	m->nscroll_areas = 0;
	mirage_driver_publish(m->drv);
	return ret;
}

int x11_display_start(struct x11_mirror *m)
{
	if (!m->damage) {
		m->damage = xcb_generate_id(m->conn);
		xcb_damage_create(m->conn, m->damage, m->root, XCB_DAMAGE_REPORT_LEVEL_RAW_RECTANGLES);
	}
	cursor_fetch(m);
	mirage_driver_set_cursor_position(m->drv, m->cursor.x, m->cursor.y, m->cursor.visible);
	windows_scan(m);
	full_refresh(m);
	xcb_flush(m->conn);
	return 0;
}

void x11_display_stop(struct x11_mirror *m)
{
	if (m->damage && m->conn && !xcb_connection_has_error(m->conn))
		xcb_damage_destroy(m->conn, m->damage);
	m->damage = 0;
	pixman_region32_clear(&m->damage_region);
	m->nscroll_areas = 0;
	if (m->conn)
		xcb_flush(m->conn);
}

void x11_display_pointer_setting(struct x11_mirror *m, bool was_enabled)
{
	struct refine_image s = surface_image(m);
	pixman_region32_t dirty;
	int n;
	const pixman_box32_t *b;

	if (!attached(m) || !s.data)
		return;
	pixman_region32_init(&dirty);
	refine_cursor_undraw(&m->cursor, &s, shadow_lines(m), &dirty);
	if (mirage_driver_settings(m->drv)->pointer_enabled)
		refine_cursor_draw(&m->cursor, &s, shadow_lines(m), &dirty);
	mirage_driver_set_shadow_status(m->drv, MIRAGE_SHADOW_EXISTS | (m->cursor.drawn ? MIRAGE_SHADOW_IN_USE : 0));
	b = pixman_region32_rectangles(&dirty, &n);
	for (int i = 0; i < n; i++)
		mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, b[i].x1, b[i].y1, b[i].x2, b[i].y2);
	mirage_driver_publish(m->drv);
	pixman_region32_fini(&dirty);
}

/*
 * Remembers a large damage rectangle as the server reported it: a scroll
 * shows up as one (the CopyArea's destination), and only those are worth
 * hashing -- the damage region itself is cut into bands by whatever else
 * changed in the same pass.
 */
static void scroll_area_add(struct x11_mirror *m, int32_t x, int32_t y, int32_t w, int32_t h)
{
	pixman_box32_t b = { x, y, x + w, y + h };

	for (size_t i = 0; i < m->nscroll_areas; i++) {
		pixman_box32_t *a = &m->scroll_areas[i];

		if (a->x1 <= b.x1 && a->y1 <= b.y1 && a->x2 >= b.x2 && a->y2 >= b.y2)
			return; /* already there (a terminal scrolls the same area again and again) */
		if (b.x1 <= a->x1 && b.y1 <= a->y1 && b.x2 >= a->x2 && b.y2 >= a->y2) {
			*a = b;
			return;
		}
	}
	if (m->nscroll_areas < X11_SCROLL_AREAS) {
		m->scroll_areas[m->nscroll_areas++] = b;
		return;
	}
	/* Full: widen the last one; still verified before anything is copied. */
	pixman_box32_t *a = &m->scroll_areas[X11_SCROLL_AREAS - 1];
	if (b.x1 < a->x1) a->x1 = b.x1;
	if (b.y1 < a->y1) a->y1 = b.y1;
	if (b.x2 > a->x2) a->x2 = b.x2;
	if (b.y2 > a->y2) a->y2 = b.y2;
}

void x11_display_event(struct x11_mirror *m, xcb_generic_event_t *ev)
{
	uint8_t type = ev->response_type & 0x7f;

	if (type == 0) {
		xcb_generic_error_t *e = (xcb_generic_error_t *)ev;
		/* Races with windows that vanish are normal for a passive client. */
		if (m->verbose)
			x11_log(m, MIRAGE_LOG_DEBUG, "X error %u (request %u.%u)", e->error_code, e->major_code,
				e->minor_code);
		return;
	}
	if (type == m->damage_event + XCB_DAMAGE_NOTIFY) {
		xcb_damage_notify_event_t *d = (xcb_damage_notify_event_t *)ev;
		m->damage_events++;
		m->stats.reported_pixels += (uint64_t)d->area.width * d->area.height;
		pixman_region32_union_rect(&m->damage_region, &m->damage_region, d->area.x, d->area.y,
					   d->area.width, d->area.height);
		if (d->area.width >= SCROLL_AREA_MIN_W && d->area.height >= SCROLL_AREA_MIN_H)
			scroll_area_add(m, d->area.x, d->area.y, d->area.width, d->area.height);
		return;
	}
	if (type == m->xfixes_event + XCB_XFIXES_CURSOR_NOTIFY) {
		m->cursor_changed = true;
		return;
	}
	if (m->have_randr || m->randr_event) {
		if (type == m->randr_event + XCB_RANDR_SCREEN_CHANGE_NOTIFY) {
			m->size_check = true;
			return;
		}
	}
	switch (type) {
	case XCB_GE_GENERIC:
		/* XInput2 raw motion: where the pointer went is asked once per pass. */
		m->pointer_moved = true;
		m->motion_events++;
		break;
	case XCB_MOTION_NOTIFY:
		m->pointer_moved = true;
		m->motion_events++;
		break;
	case XCB_CONFIGURE_NOTIFY: {
		xcb_configure_notify_event_t *c = (xcb_configure_notify_event_t *)ev;
		struct x11_window *w;

		if (c->window == m->root) {
			m->size_check = true;
			break;
		}
		if (c->event != m->root || !(w = window_find(m, c->window)))
			break;
		window_geometry(w, c->x, c->y, c->width, c->height, c->border_width);
		break;
	}
	case XCB_CREATE_NOTIFY: {
		xcb_create_notify_event_t *c = (xcb_create_notify_event_t *)ev;
		struct x11_window *w;

		if (c->parent == m->root && (w = window_add(m, c->window))) {
			window_geometry(w, c->x, c->y, c->width, c->height, c->border_width);
			w->pub_x = w->x;
			w->pub_y = w->y;
		}
		break;
	}
	case XCB_DESTROY_NOTIFY:
		window_remove(m, ((xcb_destroy_notify_event_t *)ev)->window);
		break;
	case XCB_REPARENT_NOTIFY: {
		xcb_reparent_notify_event_t *r = (xcb_reparent_notify_event_t *)ev;
		struct x11_window *w;

		if (r->parent != m->root)
			window_remove(m, r->window);
		else if ((w = window_add(m, r->window))) {
			w->x = w->pub_x = r->x;
			w->y = w->pub_y = r->y;
			w->mapped = false;
		}
		break;
	}
	case XCB_MAP_NOTIFY: {
		struct x11_window *w = window_find(m, ((xcb_map_notify_event_t *)ev)->window);
		if (w) {
			w->mapped = true;
			w->pub_x = w->x;
			w->pub_y = w->y;
		}
		break;
	}
	case XCB_UNMAP_NOTIFY: {
		struct x11_window *w = window_find(m, ((xcb_unmap_notify_event_t *)ev)->window);
		if (w)
			w->mapped = false;
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* One pass                                                            */
/* ------------------------------------------------------------------ */

struct copy_ctx {
	struct x11_mirror *m;
	pixman_region32_t *dirty;
	pixman_box32_t cursor_box; /* the cursor consumers still see, or empty */
};

static void on_copy(void *data, const pixman_box32_t *dst, int32_t src_x, int32_t src_y)
{
	struct copy_ctx *ctx = data;
	pixman_box32_t s = { src_x, src_y, src_x + dst->x2 - dst->x1, src_y + dst->y2 - dst->y1 };
	pixman_box32_t *c = &ctx->cursor_box;

	mirage_driver_post_copy(ctx->m->drv, dst->x1, dst->y1, dst->x2, dst->y2, src_x, src_y);
	/*
	 * Consumers copy the cursor they see along with the pixels: where it
	 * lands must be published again.
	 */
	if (c->x1 < c->x2 && s.x1 < c->x2 && c->x1 < s.x2 && s.y1 < c->y2 && c->y1 < s.y2) {
		int32_t x1 = s.x1 > c->x1 ? s.x1 : c->x1, y1 = s.y1 > c->y1 ? s.y1 : c->y1;
		int32_t x2 = s.x2 < c->x2 ? s.x2 : c->x2, y2 = s.y2 < c->y2 ? s.y2 : c->y2;
		pixman_region32_union_rect(ctx->dirty, ctx->dirty, x1 - src_x + dst->x1, y1 - src_y + dst->y1,
					   (unsigned)(x2 - x1), (unsigned)(y2 - y1));
	}
}

static int check_size(struct x11_mirror *m)
{
	xcb_get_geometry_reply_t *g = xcb_get_geometry_reply(m->conn, xcb_get_geometry(m->conn, m->root), NULL);
	int ret = 0;

	m->size_check = false;
	if (!g)
		return 0;
	if (g->width != m->width || g->height != m->height) {
		x11_log(m, MIRAGE_LOG_INFO, "screen resized from %dx%d to %ux%u", m->width, m->height,
			g->width, g->height);
		m->width = g->width;
		m->height = g->height;
		ret = mirage_driver_resize(m->drv, m->width, m->height, m->xbpp);
		if (ret < 0) {
			x11_log(m, MIRAGE_LOG_ERROR, "resize: %s", mirage_last_error());
			goto cleanup;
		}
		if (m->shm && !m->no_shm)
			(void)x11_grab_shm_setup(m);
		if (m->xvfb_addr || (!m->no_xvfb && m->xvfb_shmid >= 0))
			x11_grab_xvfb_probe(m);
		ret = x11_display_surface_changed(m);
		if (ret < 0)
			goto cleanup;
		windows_scan(m);
		x11_display_monitors(m);
		if (attached(m))
			m->full_refresh = true;
	} else {
		x11_display_monitors(m);
	}
cleanup:
	free(g);
	return ret;
}

uint64_t x11_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int x11_display_delay(struct x11_mirror *m)
{
	uint64_t now, due;

	if (!attached(m) || m->size_check || m->full_refresh)
		return 0;
	if (!pixman_region32_not_empty(&m->damage_region) && !m->pointer_moved && !m->cursor_changed)
		return 0;
	now = x11_now_ns();
	due = m->last_pass_ns + X11_PASS_INTERVAL_MS * 1000000ull;
	return now >= due ? 0 : (int)((due - now + 999999) / 1000000);
}

int x11_display_flush(struct x11_mirror *m)
{
	struct refine_image s;
	pixman_region32_t changed, dirty, read;
	const struct mirage_settings *set;
	struct copy_ctx ctx;
	int ret = 0, n;
	const pixman_box32_t *b;
	bool cursor_moved = false;

	if (m->size_check && (ret = check_size(m)) < 0)
		return ret;
	if (!attached(m)) {
		pixman_region32_clear(&m->damage_region);
		m->nscroll_areas = 0;
		m->pointer_moved = m->cursor_changed = false;
		return 0;
	}
	if (m->full_refresh) {
		m->pointer_moved = m->cursor_changed = false;
		cursor_fetch(m);
		mirage_driver_set_cursor_position(m->drv, m->cursor.x, m->cursor.y, m->cursor.visible);
		return full_refresh(m);
	}
	set = mirage_driver_settings(m->drv);
	if (m->cursor_changed) {
		cursor_fetch(m);
		cursor_moved = true;
	} else if (m->pointer_moved) {
		int32_t ox = m->cursor.x, oy = m->cursor.y;
		pointer_fetch(m);
		cursor_moved = ox != m->cursor.x || oy != m->cursor.y;
	}
	m->cursor_changed = m->pointer_moved = false;
	if (cursor_moved)
		mirage_driver_set_cursor_position(m->drv, m->cursor.x, m->cursor.y, m->cursor.visible);

	if (!pixman_region32_not_empty(&m->damage_region) && !(cursor_moved && set->pointer_enabled)) {
		mirage_driver_publish(m->drv);
		return 0;
	}
	m->passes++;
	m->last_pass_ns = x11_now_ns();
	s = surface_image(m);
	if (!s.data) {
		/* Backing mode 0: records only, nothing to compare against. */
		b = pixman_region32_rectangles(&m->damage_region, &n);
		for (int i = 0; i < n; i++)
			mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, b[i].x1, b[i].y1, b[i].x2, b[i].y2);
		pixman_region32_clear(&m->damage_region);
		m->nscroll_areas = 0;
		mirage_driver_publish(m->drv);
		return 0;
	}

	pixman_region32_init(&changed);
	pixman_region32_init(&dirty);
	pixman_region32_init(&read);
	x11_grab_plan(m, &m->damage_region, &read);
	ret = x11_grab(m, &read);
	if (ret < 0) {
		/* Most likely a resize in progress: look again, refresh all. */
		m->size_check = true;
		m->full_refresh = true;
		ret = 0;
		goto cleanup;
	}

	ctx.m = m;
	ctx.dirty = &dirty;
	ctx.cursor_box = m->cursor.drawn ? m->cursor.drawn_box : (pixman_box32_t){ 0, 0, 0, 0 };
	refine_cursor_undraw(&m->cursor, &s, shadow_lines(m), &dirty);

	if (set->blt_copybits) {
		for (size_t i = 0; i < m->nwindows; i++) {
			struct x11_window *w = &m->windows[i];
			pixman_box32_t dst = { w->x, w->y, w->x + w->w, w->y + w->h };

			if (w->mapped && (w->pub_x != w->x || w->pub_y != w->y))
				refine_copy(&s, &m->next, &read, dst, w->pub_x - w->x,
						w->pub_y - w->y, 4, &m->stats, on_copy, &ctx);
		}
		refine_scrolls(&s, &m->next, &read, m->scroll_areas, (int)m->nscroll_areas, &m->stats,
				   on_copy, &ctx);
	}
	/* Only what was damaged is compared; the rest of what was read is fresh but unchanged. */
	pixman_region32_intersect(&m->damage_region, &m->damage_region, &read);
	refine_tiles(&s, &m->next, &m->damage_region, TILE, &changed, &m->stats);

	if (set->pointer_enabled)
		refine_cursor_draw(&m->cursor, &s, shadow_lines(m), &dirty);
	mirage_driver_set_shadow_status(m->drv, MIRAGE_SHADOW_EXISTS | (m->cursor.drawn ? MIRAGE_SHADOW_IN_USE : 0));
	pixman_region32_union(&changed, &changed, &dirty);
	b = pixman_region32_rectangles(&changed, &n);
	if (n > 1024) {
		/* More records than pixels saved: one box. */
		const pixman_box32_t *e = pixman_region32_extents(&changed);
		mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, e->x1, e->y1, e->x2, e->y2);
		m->stats.published_pixels += (uint64_t)(e->x2 - e->x1) * (uint64_t)(e->y2 - e->y1);
		m->stats.blits++;
	} else {
		for (int i = 0; i < n; i++) {
			mirage_driver_post_rect(m->drv, MIRAGE_REC_BLIT, b[i].x1, b[i].y1, b[i].x2, b[i].y2);
			m->stats.published_pixels += (uint64_t)(b[i].x2 - b[i].x1) * (uint64_t)(b[i].y2 - b[i].y1);
			m->stats.blits++;
		}
	}
cleanup:
	for (size_t i = 0; i < m->nwindows; i++) {
		m->windows[i].pub_x = m->windows[i].x;
		m->windows[i].pub_y = m->windows[i].y;
	}
	pixman_region32_clear(&m->damage_region);
	m->nscroll_areas = 0;
	pixman_region32_fini(&changed);
	pixman_region32_fini(&dirty);
	pixman_region32_fini(&read);
	mirage_driver_publish(m->drv);
	return ret;
}

size_t x11_display_info(struct x11_mirror *m, char *buf, size_t size)
{
	const struct refine_stats *st = &m->stats;
	/* Copies cost consumers next to nothing: the ratio counts BLIT pixels. */
	double ratio = st->published_pixels ? (double)st->reported_pixels / (double)st->published_pixels : 0.0;
	int n = snprintf(buf, size,
			 "display=%s\n"
			 "pixel_source=%s\n"
			 "damage_events=%llu\n"
			 "passes=%llu\n"
			 "reported_pixels=%llu\n"
			 "compared_pixels=%llu\n"
			 "published_pixels=%llu\n"
			 "reported_to_published=%.2f\n"
			 "copies=%llu\n"
			 "copied_pixels=%llu\n"
			 "copy_candidates=%llu\n"
			 "copy_rejected=%llu\n"
			 "grab_requests=%llu\n"
			 "bytes_from_server=%llu\n"
			 "pointer_motion_events=%llu\n",
			 m->display_name ? m->display_name : "",
			 m->xvfb_fb ? "xvfb-shmem" : m->shm ? "mit-shm" : "getimage",
			 (unsigned long long)m->damage_events, (unsigned long long)m->passes,
			 (unsigned long long)st->reported_pixels, (unsigned long long)st->compared_pixels,
			 (unsigned long long)st->published_pixels, ratio, (unsigned long long)st->copies,
			 (unsigned long long)st->copied_pixels, (unsigned long long)st->copy_candidates,
			 (unsigned long long)st->copy_rejected, (unsigned long long)m->grab_requests,
			 (unsigned long long)m->grab_bytes, (unsigned long long)m->motion_events);

	return n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
}
