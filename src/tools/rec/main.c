/* SPDX-License-Identifier: MIT */
/*
 * mirage-rec: record a mirror's change stream, play it back as a mirror,
 * export it to video, describe it.  This file holds the command dispatch and
 * the helpers the subcommands share.
 */
#include "rec.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *rec_cmd;

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	fputs("mirage-rec: ", stderr);
	if (rec_cmd)
		fprintf(stderr, "%s: ", rec_cmd);
	if (kind)
		fputs(kind, stderr);
	vfprintf(stderr, fmt, ap);
}

int rec_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(NULL, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

void rec_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int rec_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(NULL, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'mirage-rec %s%s--help')\n", rec_cmd ? rec_cmd : "",
		rec_cmd ? " " : "");
	return EXIT_USAGE;
}

int rec_option_error(int opt, char **argv)
{
	if (opt == ':')
		return rec_usage("%s needs an argument", argv[optind - 1]);
	return rec_usage("unknown option \"%s\"", argv[optind - 1]);
}

const char *rec_one_recording(int argc, char **argv)
{
	if (optind == argc - 1)
		return argv[optind];
	rec_usage(optind < argc ? "one recording expected" : "no recording given");
	return NULL;
}

uint64_t rec_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rec_catch_stop(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool rec_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return false;
	*out = v;
	return true;
}

bool rec_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (~0ull >> shift)))
		return false;
	*out = v << shift;
	return true;
}

int rec_map_open(struct rec_map *m, const char *path)
{
	struct stat st;
	void *p;
	int fd;

	m->data = NULL;
	m->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rec_fail("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rec_fail("%s: not a regular file", path);
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			close(fd);
			return rec_fail("%s: mmap: %s", path, strerror(e));
		}
		m->data = p;
		m->size = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

void rec_map_close(struct rec_map *m)
{
	if (m->data)
		munmap((void *)m->data, m->size);
	m->data = NULL;
	m->size = 0;
}

int rec_open_checked(const char *path, bool salvage, struct rec_map *m, struct rec_check *check)
{
	int ret = rec_map_open(m, path);

	if (ret)
		return ret;
	memset(check, 0, sizeof(*check));
	if (rec_check_file(check, m->data, m->size, NULL, NULL) == -ENOMEM) {
		rec_map_close(m);
		return rec_fail("%s: out of memory", path);
	}
	if (check->damaged && (!salvage || check->frames == 0)) {
		rec_map_close(m);
		if (check->frames == 0)
			return rec_fail("%s: %s", path, check->err);
		return rec_fail("%s: %s (--salvage uses the %u good frames before it)", path,
				check->err, check->frames);
	}
	if (check->damaged)
		rec_warn("%s: %s; using the %u good frames before it", path, check->err, check->frames);
	else if (!check->ended)
		rec_warn("%s: the recording was not finished (no end frame); it has %u complete frames",
			 path, check->frames);
	return 0;
}

static void usage(FILE *out)
{
	fputs("Usage: mirage-rec COMMAND [OPTIONS]\n"
	      "\n"
	      "Records a mirage mirror's change stream, plays it back as a mirror and\n"
	      "exports it to video.\n"
	      "\n"
	      "Commands:\n"
	      "  record [--mirror NAME | --display :N] -o FILE [--duration S] [--max-size BYTES]\n"
	      "  play FILE [--name NAME] [--speed X] [--loop | --exit-at-end] [--salvage]\n"
	      "  export FILE -o OUT [--fps N] [--codec h264|ffv1|png|ppm] [--salvage]\n"
	      "  info FILE [--json]\n"
	      "\n"
	      "'mirage-rec COMMAND --help' describes a command's options.\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n", out);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} cmds[] = {
		{ "record", rec_cmd_record },
		{ "play", rec_cmd_play },
		{ "export", rec_cmd_export },
		{ "info", rec_cmd_info },
	};

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mirage-rec %s (format version %u)\n", MIRAGE_REC_VERSION, REC_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			rec_cmd = cmds[i].name;
			return cmds[i].run(argc - 1, argv + 1);
		}
	}
	return rec_usage("unknown command \"%s\"", argv[1]);
}
