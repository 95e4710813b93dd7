/* SPDX-License-Identifier: MIT */
/*
 * wl-check: the consumer side of mirage-wayland's integration tests.
 *
 *   wl-check follow MIRROR
 *
 * Follows the mirror and keeps a replica of its screen built only from the
 * change records (tests/common/replica.h), so that after a workload
 * settles the test can compare it with grim's screenshot: every pixel the
 * compositor changed must lie in a record, and every SCREEN_SCREEN record
 * must have the right source.  Commands, one a line on stdin, each
 * answered by one line "done N ..." (N counts the commands from 1):
 *
 *   ppm FILE   catch up (300 ms) and write the replica as PPM
 *   reset      start the record statistics anew
 *   stats      "done N records=R blits=B area=A largest=L copies=C" since
 *              the last reset: BLIT records, their summed and largest area
 *
 * What the pipe goes through is printed as it happens: "event ASSERT_OFF",
 * "event pipe WxH" (a new pipe mapped), "event ASSERT_ON", "event gone"
 * (the mirror cannot be mapped any more; it is tried again, for --wait).
 * Ends at end of input with status 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mirage/client.h>

#include "replica.h"

struct stats {
	uint64_t records, blits, area, largest, copies;
};

static struct stats st;
static bool was_gone;

static void on_record(struct replica *r, const struct mirage_record *rec)
{
	(void)r;
	st.records++;
	if (rec->type == MIRAGE_REC_ASSERT_OFF)
		printf("event ASSERT_OFF\n");
	else if (rec->type == MIRAGE_REC_ASSERT_ON)
		printf("event ASSERT_ON\n");
	else if (rec->type == MIRAGE_REC_SCREEN_SCREEN)
		st.copies++;
	else if (rec->type == MIRAGE_REC_BLIT) {
		uint64_t a = (uint64_t)(rec->rect.right - rec->rect.left) * (uint64_t)(rec->rect.bottom - rec->rect.top);

		st.blits++;
		st.area += a;
		if (a > st.largest)
			st.largest = a;
	}
	fflush(stdout);
}

static void on_pipe(struct replica *r)
{
	was_gone = false;
	printf("event pipe %dx%d\n", r->w, r->h);
	fflush(stdout);
}

/* One command line; false when it is not one. */
static bool command(struct replica *r, char *line, unsigned n)
{
	int ret;

	if (strncmp(line, "ppm ", 4) == 0) {
		replica_follow_for(r, 300);
		if ((ret = replica_write_ppm(r, line + 4)) < 0) {
			fprintf(stderr, "wl-check: %s: %s\n", line + 4, strerror(-ret));
			printf("done %u error\n", n);
		} else {
			printf("done %u ppm %dx%d\n", n, r->w, r->h);
		}
	} else if (strcmp(line, "reset") == 0) {
		memset(&st, 0, sizeof(st));
		printf("done %u reset\n", n);
	} else if (strcmp(line, "stats") == 0) {
		printf("done %u records=%llu blits=%llu area=%llu largest=%llu copies=%llu\n", n,
		       (unsigned long long)st.records, (unsigned long long)st.blits,
		       (unsigned long long)st.area, (unsigned long long)st.largest,
		       (unsigned long long)st.copies);
	} else {
		fprintf(stderr, "wl-check: unknown command \"%s\" (ppm FILE, reset, stats)\n", line);
		printf("done %u error\n", n);
		fflush(stdout);
		return false;
	}
	fflush(stdout);
	return true;
}

static int run_follow(const char *mirror)
{
	struct mirage_client *c;
	struct replica r;
	char buf[4096];
	size_t len = 0;
	unsigned n = 0;
	int status = 0;

	if (mirage_client_connect(&c, mirror) < 0) {
		fprintf(stderr, "wl-check: connect %s: %s\n", mirror, mirage_last_error());
		return 1;
	}
	replica_init(&r, c);
	r.on_record = on_record;
	r.on_pipe = on_pipe;
	r.survive_gone = true;
	if (replica_setup(&r) < 0) {
		fprintf(stderr, "wl-check: out of memory\n");
		status = 1;
		goto cleanup;
	}
	printf("event pipe %dx%d\n", r.w, r.h);
	fflush(stdout);
	for (;;) {
		struct pollfd pf = { .fd = 0, .events = POLLIN };
		char *nl;
		ssize_t got;

		replica_follow_for(&r, 20);
		if (r.gone && !was_gone) {
			was_gone = true;
			printf("event gone\n");
			fflush(stdout);
		}
		if (poll(&pf, 1, 0) <= 0)
			continue;
		got = read(0, buf + len, sizeof(buf) - 1 - len);
		if (got <= 0)
			break;
		len += (size_t)got;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (buf[0] && !command(&r, buf, ++n))
				status = 1;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1) {
			fprintf(stderr, "wl-check: a command line longer than %zu bytes\n", sizeof(buf) - 2);
			status = 1;
			break;
		}
	}
cleanup:
	replica_finish(&r);
	mirage_client_destroy(c);
	return status;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "follow") == 0)
		return run_follow(argv[2]);
	fprintf(stderr, "usage: wl-check follow MIRROR < commands\n");
	return 2;
}
