/* SPDX-License-Identifier: MIT */
/*
 * miragectl: list, inspect, watch, snapshot and manage mirage mirrors.
 *
 * Every command is a function taking its own argv (argv[0] is the command
 * name) and returning the process exit status: 0 success, 1 failure, 2
 * usage error.  A failure prints exactly one line on stderr,
 * "miragectl: <command>: <what failed>: <why>", the why coming from
 * mirage_last_error() when libmirage failed.  docs/miragectl.md is the
 * manual; keep the help texts below in step with it.
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

#ifndef MIRAGECTL_VERSION
#define MIRAGECTL_VERSION "unknown"
#endif

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The command being run, for messages. */
static const char *cmd_name = NULL;

/* Set by SIGINT/SIGTERM/SIGHUP in the commands that run until stopped. */
static volatile sig_atomic_t stop_signal;

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

static void vmessage(const char *fmt, va_list ap)
{
	fputs("miragectl: ", stderr);
	if (cmd_name)
		fprintf(stderr, "%s: ", cmd_name);
	vfprintf(stderr, fmt, ap);
}

/* Prints the one failure line and returns EXIT_FAIL. */
__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* A warning: same shape as a failure, but the command goes on. */
__attribute__((format(printf, 1, 2)))
static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("miragectl: ", stderr);
	if (cmd_name)
		fprintf(stderr, "%s: ", cmd_name);
	fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints the one usage-error line (pointing at --help) and returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'miragectl %s%s--help')\n", cmd_name ? cmd_name : "",
		cmd_name ? " " : "");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* Command table                                                       */
/* ------------------------------------------------------------------ */

struct command {
	const char *name;
	const char *synopsis; /* arguments after the name */
	const char *summary;
	const char *help;     /* description and options, for `COMMAND --help` */
	int (*run)(int argc, char **argv);
};

static const struct command *find_command(const char *name);

static void print_command_help(const struct command *cmd)
{
	printf("Usage: miragectl %s%s%s\n\n%s\n%s", cmd->name, cmd->synopsis[0] ? " " : "",
	       cmd->synopsis, cmd->summary, cmd->help);
}

/*
 * Parses a command's options.  opts must include {"help", 0, 0, 'h'}; the
 * other options are handed to handle() which returns 0 or an exit status.
 * Afterwards argv[*first .. argc) are the operands, which must number
 * between min and max (max < 0: any).  Returns -1 to go on, or an exit
 * status (0 after --help).
 */
static int parse_options(const struct command *cmd, int argc, char **argv,
			 const char *shortopts, const struct option *opts,
			 int (*handle)(int opt, const char *arg, void *data), void *data,
			 int min, int max, int *first)
{
	char optstring[32];
	int opt, n;

	/* ':' first: a missing argument is reported as ':', not '?'. */
	snprintf(optstring, sizeof(optstring), ":h%s", shortopts);
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		int ret;

		switch (opt) {
		case 'h':
			print_command_help(cmd);
			return EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			ret = handle ? handle(opt, optarg, data) : EXIT_USAGE;
			if (ret != EXIT_OK)
				return ret;
		}
	}
	n = argc - optind;
	if (n < min)
		return usage_error("missing operand; usage: miragectl %s %s", cmd->name,
				   cmd->synopsis);
	if (max >= 0 && n > max)
		return usage_error("unexpected argument '%s'", argv[optind + max]);
	*first = optind;
	return -1;
}

static const struct option help_only[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int connect_mirror(const char *name, struct mirage_client **out)
{
	if (mirage_client_connect(out, name) < 0) {
		*out = NULL;
		return fail("connect %s: %s", name, mirage_last_error());
	}
	return EXIT_OK;
}

static const char *version_str(uint32_t v, char buf[static 16])
{
	return mirage_version_format(v, buf, 16);
}

/* Parses a decimal unsigned number that must fit 32 bits and be >= min. */
static bool parse_u32(const char *s, uint32_t min, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX || v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Parses seconds (decimals allowed), > 0 and at most a day. */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
		return false;
	*out = v;
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/*
 * Lets SIGINT, SIGTERM and SIGHUP set stop_signal instead of killing us.
 * No SA_RESTART: a blocking wait returns early and the loop sees the flag.
 */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

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

static int list_option(int opt, const char *arg, void *data)
{
	(void)arg;
	if (opt == 'H') {
		*(bool *)data = false;
		return EXIT_OK;
	}
	return EXIT_USAGE;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "no-header", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = find_command("list");
	struct list_state st = { 0 };
	bool header = true;
	int status = EXIT_OK, ret, first;

	ret = parse_options(cmd, argc, argv, "H", opts, list_option, &header, 0, 0, &first);
	if (ret >= 0)
		return ret;

	ret = mirage_list_mirrors(list_collect, &st);
	if (ret < 0) {
		status = fail("list mirrors: %s", mirage_last_error());
		goto out;
	}
	if (st.nomem) {
		status = fail("list mirrors: %s", strerror(ENOMEM));
		goto out;
	}
	/* qsort's base must not be NULL, even for no elements. */
	if (st.count)
		qsort(st.entries, st.count, sizeof(*st.entries), list_compare);

	if (header)
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
			warn("%s: %s", st.entries[i].path, mirage_last_error());
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

static int cmd_status(int argc, char **argv)
{
	const struct command *cmd = find_command("status");
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

	ret = parse_options(cmd, argc, argv, "", help_only, NULL, NULL, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	status = connect_mirror(name, &c);
	if (status != EXIT_OK)
		return status;
	if (mirage_client_info(c, &info, stats, sizeof(stats)) < 0) {
		status = fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (mirage_client_settings_get(c, settings, sizeof(settings)) < 0) {
		status = fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (mirage_client_cursor(c, &cursor, NULL, 0) < 0) {
		status = fail("%s: %s", name, mirage_last_error());
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
	printf("protocol:    %s\n", version_str(info.server_version, v));
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

static int cmd_version(int argc, char **argv)
{
	const struct command *cmd = find_command("version");
	struct mirage_version_out out;
	char path[PATH_MAX], v[16];
	bool compatible;
	int ret, first;
	const char *name;

	ret = parse_options(cmd, argc, argv, "", help_only, NULL, NULL, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	/* Not mirage_client_connect(): an incompatible mirror is reported, not just refused. */
	if (mirage_mirror_socket(name, path, sizeof(path)) < 0)
		return fail("connect %s: %s", name, mirage_last_error());
	if (mirage_mirror_version(path, &out) < 0)
		return fail("version %s: %s", name, mirage_last_error());

	compatible = MIRAGE_PROTO_VERSION >= out.client_min_version &&
		     out.server_version >= MIRAGE_PROTO_MIN_COMPAT;
	printf("client protocol:     %s\n", version_str(MIRAGE_PROTO_VERSION, v));
	printf("client minimum:      %s (oldest mirror accepted)\n",
	       version_str(MIRAGE_PROTO_MIN_COMPAT, v));
	printf("mirror protocol:     %s\n", version_str(out.server_version, v));
	printf("mirror minimum:      %s (oldest client accepted)\n",
	       version_str(out.client_min_version, v));
	printf("compatible:          %s\n", compatible ? "yes" : "no");
	if (!compatible)
		return fail("%s speaks an incompatible protocol version", name);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* watch                                                               */
/* ------------------------------------------------------------------ */

/* At most this many records of a new pipe are shown from before watch mapped it. */
#define WATCH_BACKFILL_MAX 256u
#define WATCH_BATCH 64u

struct watch_opts {
	uint32_t count;   /* 0: no limit */
	double timeout;   /* seconds; 0: none */
};

struct watch {
	struct mirage_client *c;
	const char *name;
	uint32_t count;
	uint64_t printed;
};

static const char *record_type_name(uint32_t type)
{
	switch (type) {
	case MIRAGE_REC_SCREEN_SCREEN: return "SCREEN_SCREEN";
	case MIRAGE_REC_BLIT: return "BLIT";
	case MIRAGE_REC_SOLIDFILL: return "SOLIDFILL";
	case MIRAGE_REC_TEXTOUT: return "TEXTOUT";
	case MIRAGE_REC_PTR_SHAPE: return "PTR_SHAPE";
	case MIRAGE_REC_PTR_ENGAGE: return "PTR_ENGAGE";
	case MIRAGE_REC_PTR_AVERT: return "PTR_AVERT";
	case MIRAGE_REC_ASSERT_ON: return "ASSERT_ON";
	case MIRAGE_REC_ASSERT_OFF: return "ASSERT_OFF";
	default: return NULL;
	}
}

static void print_rect(const struct mirage_rect *r)
{
	printf(" rect=%d,%d,%d,%d", r->left, r->top, r->right, r->bottom);
}

static void print_record(uint64_t n, const struct mirage_record *r)
{
	const char *type = record_type_name(r->type);

	if (type)
		printf("%" PRIu64 " %s", n, type);
	else
		printf("%" PRIu64 " TYPE_%u", n, r->type);

	switch (r->type) {
	case MIRAGE_REC_SCREEN_SCREEN:
		print_rect(&r->rect);
		printf(" src=%d,%d", r->point.x, r->point.y);
		break;
	case MIRAGE_REC_BLIT:
	case MIRAGE_REC_TEXTOUT:
		print_rect(&r->rect);
		break;
	case MIRAGE_REC_SOLIDFILL:
		print_rect(&r->rect);
		printf(" color=0x%08x", r->color);
		break;
	case MIRAGE_REC_PTR_SHAPE:
		printf(" hot=%d,%d", r->point.x, r->point.y);
		break;
	case MIRAGE_REC_PTR_ENGAGE:
		printf(" pos=%d,%d", r->point.x, r->point.y);
		break;
	case MIRAGE_REC_PTR_AVERT:
	case MIRAGE_REC_ASSERT_ON:
	case MIRAGE_REC_ASSERT_OFF:
		break;
	default:
		/* A newer producer's type: show every field we know. */
		print_rect(&r->rect);
		printf(" point=%d,%d color=0x%08x", r->point.x, r->point.y, r->color);
		break;
	}
	putchar('\n');
}

static bool watch_done(const struct watch *w)
{
	return w->count && w->printed >= w->count;
}

static void watch_print(struct watch *w, uint64_t n, const struct mirage_record *r)
{
	if (watch_done(w))
		return;
	print_record(n, r);
	w->printed++;
}

static void print_pipe(const struct mirage_client *c)
{
	const struct mirage_surface_header *s = mirage_client_surface(c);
	const struct mirage_ring_header *ring = mirage_client_ring(c);

	printf("generation %u, %dx%d, %u bpp, capacity %u, from record %" PRIu64 "\n",
	       s->generation, s->width, s->height, s->bpp, ring->capacity,
	       mirage_client_position(c));
}

/*
 * A new pipe already holds records when we map it (at least its ASSERT_ON
 * and usually the producer's full refresh), and the position starts after
 * them: step back so the next poll shows the last few.
 */
static void watch_backfill(struct watch *w)
{
	uint64_t pos = mirage_client_position(w->c);
	uint32_t back = mirage_client_rewind(w->c, WATCH_BACKFILL_MAX);

	if (pos > back)
		printf("# %" PRIu64 " earlier records not shown\n", pos - back);
}

static int watch_reconnect(struct watch *w)
{
	if (mirage_client_reconnect(w->c) < 0)
		return fail("reconnect %s: %s", w->name, mirage_last_error());
	printf("# ");
	print_pipe(w->c);
	watch_backfill(w);
	return EXIT_OK;
}

static int watch_option(int opt, const char *arg, void *data)
{
	struct watch_opts *o = data;

	switch (opt) {
	case 'n':
		if (!parse_u32(arg, 1, &o->count))
			return usage_error("--count: \"%s\" is not a positive number", arg);
		return EXIT_OK;
	case 't':
		if (!parse_seconds(arg, &o->timeout))
			return usage_error("--timeout: \"%s\" is not a number of seconds "
					   "(0 < S <= 86400)", arg);
		return EXIT_OK;
	}
	return EXIT_USAGE;
}

static int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = find_command("watch");
	struct watch_opts o = { 0 };
	struct watch w = { 0 };
	struct mirage_record recs[WATCH_BATCH];
	int64_t deadline = 0;
	bool gone = false;
	int ret, first, status;

	ret = parse_options(cmd, argc, argv, "n:t:", opts, watch_option, &o, 1, 1, &first);
	if (ret >= 0)
		return ret;
	w.name = argv[first];
	w.count = o.count;
	if (o.timeout > 0)
		deadline = now_ms() + (int64_t)(o.timeout * 1000.0 + 0.5);

	catch_stop_signals();
	status = connect_mirror(w.name, &w.c);
	if (status != EXIT_OK)
		return status;

	printf("# watching %s: ", w.name);
	print_pipe(w.c);
	fflush(stdout);

	while (!stop_signal && !watch_done(&w)) {
		uint64_t pos = mirage_client_position(w.c);
		uint32_t n = 0;
		int wait_ms;

		ret = mirage_client_poll(w.c, recs, WATCH_BATCH, &n);
		if (ret < 0) {
			status = fail("%s: %s", w.name, mirage_last_error());
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			watch_print(&w, pos + i, &recs[i]);
		if (ret == MIRAGE_POLL_LOST) {
			printf("- LOST resume=%" PRIu64 "\n", mirage_client_position(w.c));
		} else if (ret == MIRAGE_POLL_OFF) {
			/* The ASSERT_OFF was printed with the records above. */
			if (watch_done(&w))
				break;
			fflush(stdout);
			status = watch_reconnect(&w);
			if (status != EXIT_OK)
				break;
			gone = false;
			fflush(stdout);
			continue;
		}
		fflush(stdout);
		if (n == WATCH_BATCH || ret == MIRAGE_POLL_LOST)
			continue;
		if (gone) {
			/*
			 * The producer went away without an ASSERT_OFF we could
			 * see (it crashed, or a new one replaced it): whatever
			 * answers to the name now is a new pipe.
			 */
			status = watch_reconnect(&w);
			if (status != EXIT_OK)
				break;
			gone = false;
			fflush(stdout);
			continue;
		}

		/* Wake up at least once a second to notice a signal or the deadline. */
		wait_ms = 1000;
		if (deadline) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				if (w.count)
					status = fail("timed out after %g s with %" PRIu64 " of %u records",
						      o.timeout, w.printed, w.count);
				break;
			}
			if (left < wait_ms)
				wait_ms = (int)left;
		}
		ret = mirage_client_wait(w.c, wait_ms);
		if (ret == -ENOTCONN) {
			gone = true;
		} else if (ret < 0 && ret != -EINTR) {
			status = fail("%s: %s", w.name, mirage_last_error());
			break;
		}
	}
	fflush(stdout);
	mirage_client_destroy(w.c);
	return status;
}

/* ------------------------------------------------------------------ */
/* snapshot, shape                                                     */
/* ------------------------------------------------------------------ */

static int save_image(const struct ctl_image *img, const char *file)
{
	int ret = ctl_image_save(img, file);

	if (ret == -ENOTSUP)
		return fail("write %s: PNG output is not available (miragectl was built "
			    "without libpng); use a .ppm or .pam file name", file);
	if (ret < 0)
		return fail("write %s: %s", file, strerror(-ret));
	return EXIT_OK;
}

static int cmd_snapshot(int argc, char **argv)
{
	const struct command *cmd = find_command("snapshot");
	const struct mirage_surface_header *s;
	struct mirage_client *c = NULL;
	struct mirage_info_out info;
	struct ctl_image img = { 0 };
	pixman_region32_t region;
	uint32_t width, height, bpp, stride;
	uint8_t *copy = NULL;
	const char *name, *file;
	int64_t copied;
	int ret, first, status;

	ret = parse_options(cmd, argc, argv, "", help_only, NULL, NULL, 2, 2, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];
	file = argv[first + 1];
	/* Refuse before connecting: nothing would come of it. */
	if (ctl_path_is_png(file) && !ctl_png_supported())
		return fail("write %s: PNG output is not available (miragectl was built "
			    "without libpng); use a .ppm file name", file);

	status = connect_mirror(name, &c);
	if (status != EXIT_OK)
		return status;
	s = mirage_client_surface(c);
	/* The header of a mapped pipe never changes its geometry: read it once. */
	width = (uint32_t)s->width;
	height = (uint32_t)s->height;
	bpp = s->bpp;
	stride = s->stride;
	if (!mirage_client_pixels(c) || bpp == 0) {
		status = fail("%s has no surface (Cap.DfbBackingMode=%u publishes records only)",
			      name, s->backing_mode);
		goto out;
	}
	if (mirage_client_info(c, &info, NULL, 0) == 0 && !info.attached)
		warn("%s is detached: the surface may be out of date", name);

	/*
	 * Copy first, convert afterwards: the producer keeps drawing, and a
	 * plain memcpy keeps the window for tearing as short as it gets.
	 */
	copy = malloc((size_t)stride * height);
	if (!copy) {
		status = fail("snapshot %s: %s", name, strerror(ENOMEM));
		goto out;
	}
	pixman_region32_init(&region);
	mirage_client_region_full(c, &region);
	copied = mirage_client_copy_region(c, &region, copy, stride);
	pixman_region32_fini(&region);
	if (copied < 0) {
		status = fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	ret = ctl_image_from_surface(&img, copy, stride, width, height, bpp);
	if (ret < 0) {
		status = fail("convert %s: %ux%u at %u bpp, stride %u: %s", name, width, height,
			      bpp, stride, strerror(-ret));
		goto out;
	}
	status = save_image(&img, file);
out:
	ctl_image_finish(&img);
	free(copy);
	mirage_client_destroy(c);
	return status;
}

static int cmd_shape(int argc, char **argv)
{
	const struct command *cmd = find_command("shape");
	const size_t max = (size_t)MIRAGE_CURSOR_MAX * MIRAGE_CURSOR_MAX;
	struct mirage_client *c = NULL;
	struct mirage_cursor cursor;
	struct ctl_image img = { 0 };
	uint32_t *argb = NULL;
	const char *name, *file;
	int ret, first, status;

	ret = parse_options(cmd, argc, argv, "", help_only, NULL, NULL, 2, 2, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];
	file = argv[first + 1];
	if (ctl_path_is_png(file) && !ctl_png_supported())
		return fail("write %s: PNG output is not available (miragectl was built "
			    "without libpng); use a .pam file name", file);

	status = connect_mirror(name, &c);
	if (status != EXIT_OK)
		return status;
	argb = malloc(max * sizeof(*argb));
	if (!argb) {
		status = fail("shape %s: %s", name, strerror(ENOMEM));
		goto out;
	}
	if (mirage_client_cursor(c, &cursor, argb, max) < 0) {
		status = fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (cursor.width == 0 || cursor.height == 0) {
		status = fail("%s has no cursor shape", name);
		goto out;
	}
	ret = ctl_image_from_argb(&img, argb, cursor.width, cursor.height);
	if (ret < 0) {
		status = fail("convert the %ux%u cursor of %s: %s", cursor.width, cursor.height,
			      name, strerror(-ret));
		goto out;
	}
	status = save_image(&img, file);
out:
	ctl_image_finish(&img);
	free(argb);
	mirage_client_destroy(c);
	return status;
}

/* ------------------------------------------------------------------ */
/* attach, detach, settings                                            */
/* ------------------------------------------------------------------ */

static int attach_option(int opt, const char *arg, void *data)
{
	(void)arg;
	if (opt == 'p') {
		*(bool *)data = true;
		return EXIT_OK;
	}
	return EXIT_USAGE;
}

static int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "persist", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = find_command("attach");
	struct mirage_client *c = NULL;
	bool persist = false;
	const char *name;
	sigset_t stop, old;
	int ret, first, status;

	ret = parse_options(cmd, argc, argv, "p", opts, attach_option, &persist, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	/*
	 * Block the stop signals before attaching, so one that arrives
	 * between attach and the wait below is not lost: it would otherwise
	 * kill us and leave the detach to the connection's close.
	 */
	sigemptyset(&old);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if (!persist)
		sigprocmask(SIG_BLOCK, &stop, &old);

	status = connect_mirror(name, &c);
	if (status != EXIT_OK)
		goto out;
	if (mirage_client_attach(c, persist ? MIRAGE_ATTACH_PERSIST : 0) < 0) {
		status = fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (persist)
		goto out;

	printf("attached %s; holding the manager role until SIGINT or SIGTERM\n", name);
	fflush(stdout);
	for (;;) {
		struct timespec second = { .tv_sec = 1 };
		int sig = sigtimedwait(&stop, NULL, &second);

		if (sig > 0)
			break;
		/* Once a second: has the producer gone away under us? */
		if (!mirage_client_connected(c)) {
			status = fail("%s went away", name);
			goto out;
		}
	}
	if (mirage_client_detach(c) < 0)
		status = fail("%s: %s", name, mirage_last_error());
out:
	mirage_client_destroy(c);
	if (!persist)
		sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

static int cmd_detach(int argc, char **argv)
{
	const struct command *cmd = find_command("detach");
	struct mirage_client *c = NULL;
	const char *name;
	int ret, first, status;

	ret = parse_options(cmd, argc, argv, "", help_only, NULL, NULL, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	status = connect_mirror(name, &c);
	if (status != EXIT_OK)
		return status;
	if (mirage_client_detach(c) < 0)
		status = fail("%s: %s", name, mirage_last_error());
	mirage_client_destroy(c);
	return status;
}

static int cmd_settings(int argc, char **argv)
{
	const struct command *cmd = find_command("settings");
	struct mirage_client *c = NULL;
	char text[MIRAGE_SETTINGS_TEXT_MAX * 2];
	const char *name;
	size_t len = 0;
	int ret, first, status;

	ret = parse_options(cmd, argc, argv, "", help_only, NULL, NULL, 1, -1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	/*
	 * Check the form of every item before connecting, and send them all
	 * in one request: the mirror applies all of them or none.
	 */
	for (int i = first + 1; i < argc; i++) {
		const char *item = argv[i], *eq = strchr(item, '=');
		size_t n = strlen(item);

		if (!eq || eq == item || !eq[1])
			return usage_error("\"%s\" is not KEY=VALUE", item);
		if (strpbrk(item, "\n,; \t#"))
			return usage_error("\"%s\": one KEY=VALUE per argument, without "
					   "blanks, commas, semicolons or '#'", item);
		if (len + n + 2 > sizeof(text))
			return usage_error("too many settings at once");
		memcpy(text + len, item, n);
		len += n;
		text[len++] = '\n';
		text[len] = '\0';
	}

	status = connect_mirror(name, &c);
	if (status != EXIT_OK)
		return status;
	if (len == 0) {
		if (mirage_client_settings_get(c, text, sizeof(text)) < 0) {
			status = fail("%s: %s", name, mirage_last_error());
			goto out;
		}
		fputs(text, stdout);
		if (text[0] && text[strlen(text) - 1] != '\n')
			putchar('\n');
	} else if (mirage_client_settings_set(c, text) < 0) {
		status = fail("%s: %s", name, mirage_last_error());
	}
out:
	mirage_client_destroy(c);
	return status;
}

/* ------------------------------------------------------------------ */
/* help and main                                                       */
/* ------------------------------------------------------------------ */

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "list", "[--no-header]", "List the mirrors and their state.",
	  "\nOne line per mirror socket found in $MIRAGE_DIR (or $XDG_RUNTIME_DIR/mirage)\n"
	  "and /tmp/mirage-$UID: name, driver, geometry, bits per pixel, whether it\n"
	  "is attached, and how many consumers have its pipe mapped (not counting\n"
	  "miragectl itself).\n\n"
	  "Options:\n"
	  "  -H, --no-header   leave out the column titles\n"
	  "  -h, --help        show this help\n\n"
	  "A mirror that does not answer is reported on stderr; the exit status is\n"
	  "then 1, after the others are listed.\n",
	  cmd_list },
	{ "status", "NAME", "Show everything about one mirror.",
	  "\nPrints its state (INFO), the surface format, the change ring's counter,\n"
	  "capacity and generation, the cursor, the monitor layout, the settings in\n"
	  "force and the driver's key=value statistics, one \"key: value\" a line.\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_status },
	{ "version", "NAME", "Show the protocol versions of miragectl and a mirror.",
	  "\nPrints the protocol version miragectl speaks and the oldest mirror it\n"
	  "accepts, the mirror's version and the oldest client it accepts, all as\n"
	  "a.b.c.d, and whether they are compatible (exit status 1 if not).\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_version },
	{ "watch", "[--count N] [--timeout S] NAME", "Print change records as they arrive.",
	  "\nOne line per record: its number, type and fields, e.g.\n"
	  "  12 BLIT rect=0,0,640,480\n"
	  "  13 SCREEN_SCREEN rect=10,10,110,60 src=0,0\n"
	  "Lines starting with '#' describe the pipe being watched; \"- LOST\" means\n"
	  "records were missed.  After an ASSERT_OFF watch maps the mirror's new\n"
	  "pipe and goes on.  Stops on SIGINT or SIGTERM (exit status 0).\n\n"
	  "Options:\n"
	  "  -n, --count N     stop after N records\n"
	  "  -t, --timeout S   stop after S seconds (with --count: a failure)\n"
	  "  -h, --help        show this help\n",
	  cmd_watch },
	{ "snapshot", "NAME FILE", "Save the visible surface as an image.",
	  "\nWrites a binary PPM (P6), or a PNG when FILE ends in .png, of the visible\n"
	  "area converted to 8-bit RGB.  FILE \"-\" writes the PPM to standard output.\n"
	  "16 bpp RGB 565 channels are widened by repeating their top bits:\n"
	  "5 bits v -> v<<3|v>>2, 6 bits v -> v<<2|v>>4.  Fails for a mirror\n"
	  "without a surface (Cap.DfbBackingMode=0).\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_snapshot },
	{ "shape", "NAME FILE", "Save the cursor shape as an image.",
	  "\nWrites the cursor as PAM (P7, TUPLTYPE RGB_ALPHA) or, when FILE ends in\n"
	  ".png, as an RGBA PNG; colours are un-premultiplied:\n"
	  "c' = min(255, (c*255 + a/2) / a), 0 where a = 0.  FILE \"-\" writes the\n"
	  "PAM to standard output.\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_shape },
	{ "attach", "[--persist] NAME", "Take the manager role and attach the mirror.",
	  "\nAttaches the mirror and holds the manager role until SIGINT, SIGTERM or\n"
	  "SIGHUP, then detaches it.  If miragectl dies instead, the mirror detaches\n"
	  "when its connection closes (unless Cap.Bootup=2).\n\n"
	  "Options:\n"
	  "  -p, --persist   attach, leave it attached, release the role and exit\n"
	  "  -h, --help      show this help\n",
	  cmd_attach },
	{ "detach", "NAME", "Detach the mirror.",
	  "\nDetaches the mirror and releases the manager role.  Refused while another\n"
	  "client holds the role, and when Cap.Bootup=2.\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_detach },
	{ "settings", "NAME [KEY=VALUE...]", "Show or change the mirror's settings.",
	  "\nWithout KEY=VALUE items prints the settings in force, \"Key=value\" a line.\n"
	  "With items, changes them all or none: a key or value the mirror rejects\n"
	  "fails (exit status 1) and nothing changes.  Keys (case-insensitive):\n"
	  "  Pointer.Enabled 0|1, Screen.ForcedBpp 0|16|24|32,\n"
	  "  Cap.DfbBackingMode 0|2|3, Order.BltCopyBits.Enabled 0|1,\n"
	  "  Cap.Bootup 0|1|2, Order.SolidFill.Enabled 0|1\n\n"
	  "Options:\n"
	  "  -h, --help   show this help\n",
	  cmd_settings },
	{ "help", "[COMMAND]", "Show the help of miragectl or of one command.", "", cmd_help },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static void print_main_help(FILE *f)
{
	fprintf(f, "Usage: miragectl [--help] [--version] COMMAND [ARGS...]\n\n"
		"Inspect and control mirage display mirrors.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].synopsis);
		fprintf(f, "  %-36s %s\n", left, commands[i].summary);
	}
	fprintf(f, "\nNAME is a mirror name, looked up in $MIRAGE_DIR (else\n"
		"$XDG_RUNTIME_DIR/mirage) and /tmp/mirage-$UID, or a socket path.\n"
		"'miragectl COMMAND --help' shows a command's options.\n\n"
		"Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return usage_error("unexpected argument '%s'", argv[2]);
	cmd = find_command(argv[1]);
	if (!cmd)
		return usage_error("unknown command '%s'", argv[1]);
	print_command_help(cmd);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	char v[16];

	if (argc < 2) {
		fprintf(stderr, "miragectl: missing command (see 'miragectl --help')\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("miragectl %s (protocol %s)\n", MIRAGECTL_VERSION,
		       version_str(MIRAGE_PROTO_VERSION, v));
		return EXIT_OK;
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "miragectl: unknown option '%s' (see 'miragectl --help')\n",
			argv[1]);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "miragectl: unknown command '%s' (see 'miragectl --help')\n",
			argv[1]);
		return EXIT_USAGE;
	}
	cmd_name = cmd->name;
	return cmd->run(argc - 1, argv + 1);
}
