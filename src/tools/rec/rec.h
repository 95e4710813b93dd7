/* SPDX-License-Identifier: MIT */
/* mirage-rec: what the subcommands share (messages, clocks, file mapping). */
#ifndef MIRAGE_REC_H
#define MIRAGE_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

/* Exit statuses: 0 success, 1 failure, 2 usage error. */
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* "mirage-rec: <subcommand>: message" on stderr; returns EXIT_FAIL. */
__attribute__((format(printf, 1, 2)))
int rec_fail(const char *fmt, ...);

/* "mirage-rec: <subcommand>: warning: message". */
__attribute__((format(printf, 1, 2)))
void rec_warn(const char *fmt, ...);

/* A usage error pointing at --help; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int rec_usage(const char *fmt, ...);

/* getopt's answer ':' (an argument missing) or anything else it does
 * not know, as a usage error; returns EXIT_USAGE. */
int rec_option_error(int opt, char **argv);

/* The one recording named after the options (argv[optind]), or NULL after
 * a usage error (then exit EXIT_USAGE). */
const char *rec_one_recording(int argc, char **argv);

/* Set by main: the subcommand being run, for messages. */
extern const char *rec_cmd;

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rec_now_ns(void);

/* SIGINT, SIGTERM and SIGHUP call handler (no SA_RESTART: waits return);
 * SIGPIPE is ignored. */
void rec_catch_stop(void (*handler)(int));

/* Parses a non-negative decimal number with an optional fraction. */
bool rec_parse_double(const char *s, double *out);

/* Parses a byte count with an optional K, M, G suffix (powers of 1024). */
bool rec_parse_size(const char *s, uint64_t *out);

/*
 * A recording mapped read-only: data/size for rec_reader_init.  An empty
 * file maps as size 0 with data NULL.
 */
struct rec_map {
	const uint8_t *data;
	size_t size;
};

/* Maps path; on failure prints the message and returns EXIT_FAIL. */
int rec_map_open(struct rec_map *m, const char *path);
void rec_map_close(struct rec_map *m);

/*
 * Opens path for play/export: maps it, checks it whole with
 * rec_check_file() (as info does) and decides.  A damaged or truncated
 * file fails with the checker's message unless salvage is set, in which
 * case a warning names where playback will stop.  Returns 0 or EXIT_FAIL
 * (message printed).
 */
int rec_open_checked(const char *path, bool salvage, struct rec_map *m, struct rec_check *check);

/* Subcommands: argc/argv start at the subcommand name. */
int rec_cmd_record(int argc, char **argv);
int rec_cmd_play(int argc, char **argv);
int rec_cmd_export(int argc, char **argv);
int rec_cmd_info(int argc, char **argv);

#endif /* MIRAGE_REC_H */
