/* SPDX-License-Identifier: MIT */
/*
 * The readers of mutter's answers (src/common/screencast.c) on the answers
 * mutter 43.8 gave (headless, --virtual-monitor 1280x800 --virtual-monitor
 * 1024x768, dumped with sd_bus_message_dump): DisplayConfig's
 * GetCurrentState with its two monitors, and the Parameters of a
 * RecordMonitor stream (position, size, output-name) and of a
 * RecordVirtual one (empty); then answers of other shapes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-local.h"
#include "harness.h"
#include "screencast.h"

#define MONITOR "((ssss)a(siiddada{sv})a{sv})"

static sd_bus *bus;

static sd_bus_message *reply(void)
{
	sd_bus_message *m;

	CHECK_EQ(bus_local_reply(bus, &m), 0);
	return m;
}

static sd_bus_message *sealed(sd_bus_message *m)
{
	CHECK_EQ(bus_local_seal(m), 0);
	return m;
}

/* One monitor as mutter 43 lists it: one mode, current and preferred. */
static void append_monitor(sd_bus_message *m, const char *connector, const char *serial, int32_t w, int32_t h)
{
	char mode[32];

	snprintf(mode, sizeof(mode), "%dx%d@60.000", w, h);
	CHECK(sd_bus_message_append(m, MONITOR, connector, "MetaVendor", "MetaVirtualMonitor", serial,
				    1, mode, w, h, 60.0, 1.0, 1, 1.0, 2, "is-current", "b", 1, "is-preferred", "b", 1,
				    2, "is-builtin", "b", 0, "display-name", "s", "MetaVendor") >= 0);
}

/* One logical monitor of the third argument. */
static void append_logical(sd_bus_message *m, int32_t x, int primary, const char *connector, const char *serial)
{
	CHECK(sd_bus_message_append(m, "(iiduba(ssss)a{sv})", x, 0, 1.0, 0, primary, 1, connector, "MetaVendor",
				    "MetaVirtualMonitor", serial, 0) >= 0);
}

/* GetCurrentState's reply: serial, monitors (connectors as given, the
 * first two as mutter's), logical monitors, properties. */
static sd_bus_message *current_state(const char *const *connectors, unsigned n)
{
	static const int32_t sizes[][2] = { { 1280, 800 }, { 1024, 768 } };
	sd_bus_message *m = reply();
	char serial[8];

	CHECK(sd_bus_message_append(m, "u", 2) >= 0);
	CHECK(sd_bus_message_open_container(m, 'a', MONITOR) >= 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "0x%02x", i);
		append_monitor(m, connectors[i], serial, sizes[i % 2][0], sizes[i % 2][1]);
	}
	CHECK(sd_bus_message_close_container(m) >= 0);
	CHECK(sd_bus_message_open_container(m, 'a', "(iiduba(ssss)a{sv})") >= 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "0x%02x", i);
		append_logical(m, i ? 1280 : 0, !i, connectors[i], serial);
	}
	CHECK(sd_bus_message_close_container(m) >= 0);
	CHECK(sd_bus_message_append(m, "a{sv}", 2, "layout-mode", "u", 2, "legacy-ui-scaling-factor", "i", 1) >= 0);
	return sealed(m);
}

static const char *const mutter43[] = { "Meta-0", "Meta-1" };

/* read_monitors into a buffer of exactly `size` bytes (the sanitizers
 * see a write past it): its result, the connector in out. */
static int monitors(sd_bus_message *m, const char *want, size_t size, char out[MIRAGE_MONITOR_NAME_MAX])
{
	char *buf = malloc(size ? size : 1);
	int ret;

	CHECK(buf != NULL);
	memset(buf, '#', size ? size : 1);
	CHECK(sd_bus_message_rewind(m, 1) >= 0);
	ret = screencast_read_monitors(m, want, buf, size);
	if (ret == 0) {
		CHECK(memchr(buf, 0, size) != NULL);
		CHECK(strlen(buf) > 0);
		snprintf(out, MIRAGE_MONITOR_NAME_MAX, "%s", buf);
	}
	free(buf);
	return ret;
}

static void test_first_monitor(void)
{
	sd_bus_message *m = current_state(mutter43, 2);
	char name[MIRAGE_MONITOR_NAME_MAX];

	CHECK_EQ(monitors(m, NULL, MIRAGE_MONITOR_NAME_MAX, name), 0);
	CHECK_STR(name, "Meta-0");
	/* Read again from the start: the same answer. */
	CHECK_EQ(monitors(m, NULL, MIRAGE_MONITOR_NAME_MAX, name), 0);
	CHECK_STR(name, "Meta-0");
	sd_bus_message_unref(m);
}

static void test_named_monitor(void)
{
	sd_bus_message *m = current_state(mutter43, 2);
	char name[MIRAGE_MONITOR_NAME_MAX];

	CHECK_EQ(monitors(m, "Meta-1", MIRAGE_MONITOR_NAME_MAX, name), 0);
	CHECK_STR(name, "Meta-1");
	CHECK_EQ(monitors(m, "Meta-0", MIRAGE_MONITOR_NAME_MAX, name), 0);
	CHECK_STR(name, "Meta-0");
	/* Exactly as long as the buffer allows (the NUL included), and one
	 * byte short. */
	CHECK_EQ(monitors(m, "Meta-1", 7, name), 0);
	CHECK_STR(name, "Meta-1");
	CHECK_EQ(monitors(m, "Meta-1", 6, name), -EPROTO);
	CHECK_EQ(monitors(m, NULL, 0, name), -EPROTO);
	sd_bus_message_unref(m);
}

static void test_missing_monitor(void)
{
	static const char *const unnamed[] = { "", "" };
	sd_bus_message *m = current_state(mutter43, 2);
	char name[MIRAGE_MONITOR_NAME_MAX];

	CHECK_EQ(monitors(m, "DP-1", MIRAGE_MONITOR_NAME_MAX, name), -ENODEV);
	CHECK_EQ(monitors(m, "Meta-", MIRAGE_MONITOR_NAME_MAX, name), -ENODEV);
	CHECK_EQ(monitors(m, "", MIRAGE_MONITOR_NAME_MAX, name), -ENODEV);
	sd_bus_message_unref(m);
	/* No monitor at all (every output off), or none with a name. */
	m = current_state(mutter43, 0);
	CHECK_EQ(monitors(m, NULL, MIRAGE_MONITOR_NAME_MAX, name), -ENODEV);
	sd_bus_message_unref(m);
	m = current_state(unnamed, 2);
	CHECK_EQ(monitors(m, NULL, MIRAGE_MONITOR_NAME_MAX, name), -ENODEV);
	sd_bus_message_unref(m);
}

static void test_unnamed_first(void)
{
	static const char *const list[] = { "", "HDMI-1" };
	sd_bus_message *m = current_state(list, 2);
	char name[MIRAGE_MONITOR_NAME_MAX];

	CHECK_EQ(monitors(m, NULL, MIRAGE_MONITOR_NAME_MAX, name), 0);
	CHECK_STR(name, "HDMI-1");
	sd_bus_message_unref(m);
}

/* A reply of `types` with one value (or none: ""), then sealed. */
static sd_bus_message *shaped(const char *types, ...)
{
	sd_bus_message *m = reply();
	va_list ap;

	va_start(ap, types);
	CHECK(sd_bus_message_appendv(m, types, ap) >= 0);
	va_end(ap);
	return sealed(m);
}

static void test_wrong_shape(void)
{
	char name[MIRAGE_MONITOR_NAME_MAX];
	sd_bus_message *m[] = {
		shaped(""),
		shaped("u", 2),
		/* The logical monitors' list where the monitors belong. */
		shaped("ua(ssss)", 2, 1, "Meta-0", "MetaVendor", "MetaVirtualMonitor", "0x00"),
		/* A monitor without its modes. */
		shaped("ua((ssss)a{sv})", 2, 1, "Meta-0", "MetaVendor", "MetaVirtualMonitor", "0x00", 0),
		/* No serial first. */
		shaped("a" MONITOR, 0),
		/* A Parameters answer. */
		shaped("a{sv}", 1, "position", "(ii)", 0, 0),
		shaped("s", "Meta-0"),
	};

	for (unsigned i = 0; i < ARRAY_LEN(m); i++) {
		CHECK_EQ(monitors(m[i], NULL, MIRAGE_MONITOR_NAME_MAX, name), -EPROTO);
		CHECK_EQ(monitors(m[i], "Meta-0", MIRAGE_MONITOR_NAME_MAX, name), -EPROTO);
		sd_bus_message_unref(m[i]);
	}
}

struct geometry {
	int32_t x, y, w, h;
};

#define UNSET { -7, -7, -7, -7 }

/* read_parameters from the start of m: its result, the geometry in g. */
static int parameters(sd_bus_message *m, struct geometry *g)
{
	CHECK(sd_bus_message_rewind(m, 1) >= 0);
	return screencast_read_parameters(m, &g->x, &g->y, &g->w, &g->h);
}

/* As mirage gets it: sd_bus_get_property's reply is a variant, entered. */
static int property(sd_bus_message *m, struct geometry *g)
{
	CHECK(sd_bus_message_rewind(m, 1) >= 0);
	CHECK(sd_bus_message_enter_container(m, 'v', "a{sv}") > 0);
	return screencast_read_parameters(m, &g->x, &g->y, &g->w, &g->h);
}

#define CHECK_GEOMETRY(g, gx, gy, gw, gh) do { \
	CHECK_EQ((g).x, gx); CHECK_EQ((g).y, gy); CHECK_EQ((g).w, gw); CHECK_EQ((g).h, gh); \
} while (0)

static void test_parameters(void)
{
	/* mutter 43.8's RecordMonitor stream of Meta-1. */
	sd_bus_message *m = shaped("v", "a{sv}", 3, "position", "(ii)", 1280, 0, "size", "(ii)", 1024, 768,
				   "output-name", "s", "Meta-1");
	struct geometry g = UNSET;

	CHECK_EQ(property(m, &g), 0);
	CHECK_GEOMETRY(g, 1280, 0, 1024, 768);
	sd_bus_message_unref(m);
	/* The same, not in a variant; other keys first. */
	m = shaped("a{sv}", 4, "output-name", "s", "Meta-1", "scale", "d", 2.0, "size", "(ii)", 1024, 768,
		   "position", "(ii)", -1024, -20);
	g = (struct geometry)UNSET;
	CHECK_EQ(parameters(m, &g), 0);
	CHECK_GEOMETRY(g, -1024, -20, 1024, 768);
	sd_bus_message_unref(m);
}

static void test_parameters_without(void)
{
	/* mutter 43.8's RecordVirtual stream: empty. */
	sd_bus_message *m = shaped("v", "a{sv}", 0);
	struct geometry g = UNSET;

	CHECK_EQ(property(m, &g), 0);
	CHECK_GEOMETRY(g, -7, -7, -7, -7);
	sd_bus_message_unref(m);
	/* Position alone; size alone. */
	m = shaped("a{sv}", 1, "position", "(ii)", 5, 6);
	CHECK_EQ(parameters(m, &g), 0);
	CHECK_GEOMETRY(g, 5, 6, -7, -7);
	sd_bus_message_unref(m);
	g = (struct geometry)UNSET;
	m = shaped("a{sv}", 1, "size", "(ii)", 640, 480);
	CHECK_EQ(parameters(m, &g), 0);
	CHECK_GEOMETRY(g, -7, -7, 640, 480);
	sd_bus_message_unref(m);
	/* Not (ii), or an empty size: left as they were. */
	g = (struct geometry)UNSET;
	m = shaped("a{sv}", 4, "position", "(uu)", 1, 2, "size", "(iii)", 3, 4, 5, "size", "(ii)", 0, 480,
		   "position", "s", "0,0");
	CHECK_EQ(parameters(m, &g), 0);
	CHECK_GEOMETRY(g, -7, -7, -7, -7);
	sd_bus_message_unref(m);
}

static void test_parameters_wrong_shape(void)
{
	sd_bus_message *m[] = {
		shaped(""),
		shaped("u", 2),
		shaped("a{ss}", 1, "position", "0,0"),
		shaped("a{ss}", 0),
		shaped("a(sv)", 1, "size", "(ii)", 1, 1),
		current_state(mutter43, 2),
	};
	struct geometry g = UNSET;

	for (unsigned i = 0; i < ARRAY_LEN(m); i++) {
		CHECK_EQ(parameters(m[i], &g), -EPROTO);
		CHECK_GEOMETRY(g, -7, -7, -7, -7);
		sd_bus_message_unref(m[i]);
	}
}

int main(void)
{
	th_init("screencast", 60);
	CHECK_EQ(bus_local_open(&bus), 0);
	RUN(test_first_monitor);
	RUN(test_named_monitor);
	RUN(test_missing_monitor);
	RUN(test_unnamed_first);
	RUN(test_wrong_shape);
	RUN(test_parameters);
	RUN(test_parameters_without);
	RUN(test_parameters_wrong_shape);
	bus = sd_bus_close_unref(bus);
	return 0;
}
