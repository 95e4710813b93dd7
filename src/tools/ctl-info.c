/* SPDX-License-Identifier: MIT */
/*
 * miragectl's commands that look at mirrors: list, status, version.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>

#include "ctl-image.h"
#include "ctl.h"

/* ------------------------------------------------------------------ */
/* list                                                                */
/* ------------------------------------------------------------------ */

struct list_entry {
	char *name;
	char *path;
};

struct list_state {
	struct list_entry *entries;
	size_t count, alloc;
	bool nomem;
};

static void list_collect(const char *name, const char *path, void *data)
{
	struct list_state *st = data;
	struct list_entry *e;

	if (st->count == st->alloc) {
		size_t n = st->alloc ? st->alloc * 2 : 16;
		struct list_entry *grown = realloc(st->entries, n * sizeof(*grown));

		if (!grown) {
			st->nomem = true;
			return;
		}
		st->entries = grown;
		st->alloc = n;
	}
	e = &st->entries[st->count];
	e->name = strdup(name);
	e->path = strdup(path);
	if (!e->name || !e->path) {
		free(e->name);
		free(e->path);
		st->nomem = true;
		return;
	}
	st->count++;
}

static int list_compare(const void *a, const void *b)
{
	const struct list_entry *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : strcmp(x->path, y->path);
}

/* Connections with the pipe mapped, not counting our own. */
static uint32_t other_consumers(const struct mirage_info_out *info)
{
	return info->consumers ? info->consumers - 1 : 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "no-header", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = ctl_find_command("list");
	struct list_state st = { 0 };
	bool no_header = false;
	int status = EXIT_OK, ret, first;

	ret = ctl_parse_options(cmd, argc, argv, "H", opts, ctl_set_flag, &no_header, 0, 0, &first);
	if (ret >= 0)
		return ret;

	ret = mirage_list_mirrors(list_collect, &st);
	if (ret < 0) {
		status = ctl_fail("list mirrors: %s", mirage_last_error());
		goto out;
	}
	if (st.nomem) {
		status = ctl_fail("list mirrors: %s", strerror(ENOMEM));
		goto out;
	}
	/* qsort's base must not be NULL, even for no elements. */
	if (st.count)
		qsort(st.entries, st.count, sizeof(*st.entries), list_compare);

	if (!no_header)
		printf("%-20s %-10s %-11s %-3s %-8s %s\n",
		       "NAME", "DRIVER", "GEOMETRY", "BPP", "ATTACHED", "CONSUMERS");
	for (size_t i = 0; i < st.count; i++) {
		struct mirage_client *c = NULL;
		struct mirage_info_out info;
		char geometry[32];

		/* By path: two runtime directories may hold the same name. */
		if (mirage_client_connect(&c, st.entries[i].path) < 0 ||
		    mirage_client_info(c, &info, NULL, 0) < 0) {
			/* One unreachable mirror must not hide the others. */
			ctl_warn("%s: %s", st.entries[i].path, mirage_last_error());
			mirage_client_destroy(c);
			status = EXIT_FAIL;
			continue;
		}
		info.driver[sizeof(info.driver) - 1] = '\0';
		snprintf(geometry, sizeof(geometry), "%dx%d", info.width, info.height);
		printf("%-20s %-10s %-11s %-3u %-8s %u\n", st.entries[i].name,
		       info.driver[0] ? info.driver : "-", geometry, info.bpp,
		       info.attached ? "yes" : "no", other_consumers(&info));
		mirage_client_destroy(c);
	}
out:
	for (size_t i = 0; i < st.count; i++) {
		free(st.entries[i].name);
		free(st.entries[i].path);
	}
	free(st.entries);
	return status;
}

/* ------------------------------------------------------------------ */
/* status                                                              */
/* ------------------------------------------------------------------ */

/* Prints text (key=value lines) indented, one item per line. */
static void print_indented(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len)
			printf("  %.*s\n", (int)len, p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

static void print_shadow_status(uint32_t bits)
{
	const char *sep = "";

	if (!bits) {
		fputs("none", stdout);
		return;
	}
	if (bits & MIRAGE_SHADOW_EXISTS) {
		printf("%sexists", sep);
		sep = ",";
	}
	if (bits & MIRAGE_SHADOW_IN_USE) {
		printf("%sin-use", sep);
		sep = ",";
	}
	if (bits & MIRAGE_SHADOW_TRASHED)
		printf("%strashed", sep);
}

int cmd_status(int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("status");
	const struct mirage_surface_header *surf;
	const struct mirage_ring_header *ring;
	struct mirage_monitor monitors[MIRAGE_MONITORS_MAX];
	struct mirage_client *c = NULL;
	struct mirage_info_out info;
	struct mirage_cursor cursor;
	char stats[MIRAGE_MSG_MAX_PAYLOAD + 1];
	char settings[MIRAGE_SETTINGS_TEXT_MAX * 2];
	char path[PATH_MAX], v[16];
	int ret, first, nmon, status;
	const char *name;

	ret = ctl_parse_options(cmd, argc, argv, "", ctl_help_only, NULL, NULL, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	status = ctl_connect(name, &c);
	if (status != EXIT_OK)
		return status;
	if (mirage_client_info(c, &info, stats, sizeof(stats)) < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (mirage_client_settings_get(c, settings, sizeof(settings)) < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (mirage_client_cursor(c, &cursor, NULL, 0) < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	surf = mirage_client_surface(c);
	ring = mirage_client_ring(c);
	nmon = mirage_client_monitors(c, monitors);
	info.name[sizeof(info.name) - 1] = '\0';
	info.driver[sizeof(info.driver) - 1] = '\0';

	printf("name:        %s\n", info.name);
	if (mirage_mirror_socket(name, path, sizeof(path)) == 0)
		printf("socket:      %s\n", path);
	printf("driver:      %s\n", info.driver[0] ? info.driver : "-");
	printf("pid:         %u\n", info.pid);
	printf("protocol:    %s\n", ctl_version_str(info.server_version, v));
	printf("attached:    %s\n", info.attached ? "yes" : "no");
	if (info.manager_pid > 0)
		printf("manager:     pid %d\n", info.manager_pid);
	else
		printf("manager:     none\n");
	/* Our own connection is both a control connection and a consumer. */
	printf("consumers:   %u\n", other_consumers(&info));
	printf("connections: %u\n", info.connections ? info.connections - 1 : 0);
	printf("geometry:    %dx%d\n", info.width, info.height);
	printf("bpp:         %u\n", info.bpp);
	printf("stride:      %u\n", surf->stride);
	if (surf->bpp)
		printf("masks:       %06x %06x %06x\n", surf->red_mask, surf->green_mask,
		       surf->blue_mask);
	printf("backing:     %u\n", surf->backing_mode);
	printf("shadow:      %u lines, ", surf->shadow_lines);
	print_shadow_status(surf->shadow_status);
	putchar('\n');
	printf("generation:  %u\n", info.generation);
	printf("ring:        counter %" PRIu64 ", capacity %u, generation %u, batches %" PRIu64
	       "%s\n", __atomic_load_n(&ring->counter, __ATOMIC_ACQUIRE), ring->capacity,
	       ring->generation, info.batches,
	       (__atomic_load_n(&ring->flags, __ATOMIC_ACQUIRE) & MIRAGE_RING_RETIRED) ?
	       ", retired" : "");
	if (cursor.width && cursor.height)
		printf("cursor:      %s at %d,%d, shape %ux%u, hotspot %d,%d, serial %u\n",
		       cursor.visible ? "visible" : "hidden", cursor.x, cursor.y,
		       cursor.width, cursor.height, cursor.hot_x, cursor.hot_y, cursor.serial);
	else
		printf("cursor:      %s at %d,%d, no shape\n",
		       cursor.visible ? "visible" : "hidden", cursor.x, cursor.y);
	printf("monitors:    %d\n", nmon);
	for (int i = 0; i < nmon; i++) {
		const struct mirage_monitor *m = &monitors[i];

		printf("  %.*s %d,%d,%d,%d%s\n", (int)MIRAGE_MONITOR_NAME_MAX,
		       m->name[0] ? m->name : "-", m->rect.left, m->rect.top,
		       m->rect.right, m->rect.bottom,
		       (m->flags & MIRAGE_MONITOR_PRIMARY) ? " primary" : "");
	}
	printf("settings:\n");
	print_indented(settings);
	printf("stats:\n");
	print_indented(stats);
out:
	mirage_client_destroy(c);
	return status;
}

/* ------------------------------------------------------------------ */
/* version                                                             */
/* ------------------------------------------------------------------ */

int cmd_version(int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("version");
	struct mirage_version_out out;
	char path[PATH_MAX], v[16];
	bool compatible;
	int ret, first;
	const char *name;

	ret = ctl_parse_options(cmd, argc, argv, "", ctl_help_only, NULL, NULL, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	/* Not mirage_client_connect(): an incompatible mirror is reported, not just refused. */
	if (mirage_mirror_socket(name, path, sizeof(path)) < 0)
		return ctl_fail("connect %s: %s", name, mirage_last_error());
	if (mirage_mirror_version(path, &out) < 0)
		return ctl_fail("version %s: %s", name, mirage_last_error());

	compatible = MIRAGE_PROTO_VERSION >= out.client_min_version &&
		     out.server_version >= MIRAGE_PROTO_MIN_COMPAT;
	printf("client protocol:     %s\n", ctl_version_str(MIRAGE_PROTO_VERSION, v));
	printf("client minimum:      %s (oldest mirror accepted)\n",
	       ctl_version_str(MIRAGE_PROTO_MIN_COMPAT, v));
	printf("mirror protocol:     %s\n", ctl_version_str(out.server_version, v));
	printf("mirror minimum:      %s (oldest client accepted)\n",
	       ctl_version_str(out.client_min_version, v));
	printf("compatible:          %s\n", compatible ? "yes" : "no");
	if (!compatible)
		return ctl_fail("%s speaks an incompatible protocol version", name);
	return EXIT_OK;
}
