/* SPDX-License-Identifier: MIT */
/* mirage-rec info: what a recording holds, for people or (--json) scripts. */
#include "rec.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_GEOMETRIES 64

struct geometry {
	uint64_t ts;
	int32_t width, height;
	uint32_t bpp;
};

struct info {
	uint32_t frames, keyframes, deltas;
	uint64_t duration;
	uint64_t raw_bytes, comp_bytes, full_bytes;
	uint32_t pixel_chunks, copy_chunks, shape_chunks, pos_chunks;
	uint64_t pixels;
	struct geometry geo[MAX_GEOMETRIES];
	struct geometry cur; /* in force at the frame being counted */
	uint32_t ngeo, geo_changes;
	int end_reason;
};

static const char info_help[] =
	"Usage: mirage-rec info FILE [--json]\n"
	"\n"
	"Prints a recording's duration, frames, geometry changes, sizes and\n"
	"compression ratio, and checks every frame.  Exit status 1 when the file\n"
	"is damaged (what is readable is still described).\n"
	"\n"
	"  -j, --json   one JSON object on stdout\n";

static const char *end_reason_name(int reason)
{
	switch (reason) {
	case REC_END_STOPPED: return "stopped";
	case REC_END_MAX_SIZE: return "max-size";
	case REC_END_SOURCE_GONE: return "source-gone";
	default: return "unknown";
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Counts a frame's chunks; rec_check_file() has checked them all. */
static void scan_payload(struct info *in, const struct rec_frame *f)
{
	struct geometry *cur = &in->cur;
	size_t pos = 0;
	const uint8_t *b;
	uint32_t type, len;

	while (rec_chunk_next(f->payload, f->raw_size, &pos, &type, &b, &len) > 0) {
		switch (type) {
		case REC_CHUNK_GEOMETRY:
			if (in->ngeo == 0 || (int32_t)rec_get_u32(b) != cur->width ||
			    (int32_t)rec_get_u32(b + 4) != cur->height || rec_get_u32(b + 8) != cur->bpp) {
				cur->ts = f->ts_ns;
				cur->width = (int32_t)rec_get_u32(b);
				cur->height = (int32_t)rec_get_u32(b + 4);
				cur->bpp = rec_get_u32(b + 8);
				if (in->ngeo > 0)
					in->geo_changes++;
				if (in->ngeo < MAX_GEOMETRIES)
					in->geo[in->ngeo] = *cur;
				in->ngeo++;
			}
			break;
		case REC_CHUNK_PIXELS:
			in->pixel_chunks++;
			in->pixels += (uint64_t)rec_get_u32(b + 8) * rec_get_u32(b + 12);
			break;
		case REC_CHUNK_COPY:
			in->copy_chunks++;
			break;
		case REC_CHUNK_CURSOR_SHAPE:
			in->shape_chunks++;
			break;
		case REC_CHUNK_CURSOR_POS:
			in->pos_chunks++;
			break;
		case REC_CHUNK_END:
			in->end_reason = (int)rec_get_u32(b);
			break;
		default:
			break;
		}
	}
}

/* rec_check_file()'s view of each good frame. */
static void count_frame(void *data, const struct rec_frame *f)
{
	struct info *in = data;

	in->frames++;
	in->raw_bytes += f->raw_size;
	in->comp_bytes += f->comp_size + REC_FRAME_HEADER_SIZE;
	if (f->type == REC_FRAME_KEY)
		in->keyframes++;
	else if (f->type == REC_FRAME_DELTA)
		in->deltas++;
	scan_payload(in, f);
	if (f->type != REC_FRAME_END && in->cur.bpp)
		in->full_bytes += (uint64_t)rec_stride(in->cur.width, in->cur.bpp) * (uint64_t)in->cur.height;
}

int rec_cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	bool json = false;
	const char *path;
	struct rec_map map;
	struct rec_check check = { 0 };
	struct info *in;
	int opt, ret, status;
	double ratio, full_ratio;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'h': fputs(info_help, stdout); return 0;
		default: return rec_option_error(opt, argv);
		}
	}
	path = rec_one_recording(argc, argv);
	if (!path)
		return EXIT_USAGE;
	ret = rec_map_open(&map, path);
	if (ret)
		return ret;
	in = calloc(1, sizeof(*in));
	if (!in) {
		rec_map_close(&map);
		return rec_fail("out of memory");
	}
	in->end_reason = -1;
	/* The same verdict as play and export: they call the same checker. */
	ret = rec_check_file(&check, map.data, map.size, count_frame, in);
	if (ret == -ENOMEM || check.good_bytes == 0) {
		/* Not a recording at all (or no memory): nothing to describe. */
		status = rec_fail("%s: %s", path, check.err);
		free(in);
		rec_map_close(&map);
		return status;
	}
	in->duration = check.last_ts - check.first_ts;
	ratio = in->comp_bytes ? (double)in->raw_bytes / (double)in->comp_bytes : 0;
	full_ratio = map.size ? (double)in->full_bytes / (double)map.size : 0;

	if (json) {
		printf("{\"file\":");
		json_string(path);
		printf(",\"source\":");
		json_string(check.hdr.source);
		printf(",\"version\":%u,\"start_unix_ns\":%" PRIu64 ",\"frame_interval_us\":%u"
		       ",\"keyframe_interval_ms\":%u,\"duration_ns\":%" PRIu64 ",\"frames\":%u"
		       ",\"keyframes\":%u,\"deltas\":%u,\"file_bytes\":%zu,\"frame_bytes\":%" PRIu64
		       ",\"payload_bytes\":%" PRIu64 ",\"full_frame_bytes\":%" PRIu64
		       ",\"compression_ratio\":%.3f,\"full_frame_ratio\":%.3f"
		       ",\"pixel_chunks\":%u,\"pixels\":%" PRIu64 ",\"copy_chunks\":%u"
		       ",\"cursor_shapes\":%u,\"cursor_moves\":%u,\"geometry_changes\":%u,\"geometries\":[",
		       check.hdr.version, check.hdr.start_wall_ns, check.hdr.frame_interval_us,
		       check.hdr.keyframe_interval_ms, in->duration, in->frames, in->keyframes, in->deltas,
		       map.size, in->comp_bytes, in->raw_bytes, in->full_bytes, ratio, full_ratio,
		       in->pixel_chunks, in->pixels, in->copy_chunks, in->shape_chunks, in->pos_chunks,
		       in->geo_changes);
		for (uint32_t i = 0; i < in->ngeo && i < MAX_GEOMETRIES; i++)
			printf("%s{\"at_ns\":%" PRIu64 ",\"width\":%d,\"height\":%d,\"bpp\":%u}",
			       i ? "," : "", in->geo[i].ts, in->geo[i].width, in->geo[i].height,
			       in->geo[i].bpp);
		printf("],\"complete\":%s,\"end_reason\":", check.ended ? "true" : "false");
		if (in->end_reason >= 0)
			json_string(end_reason_name(in->end_reason));
		else
			printf("null");
		printf(",\"error\":");
		if (check.damaged)
			json_string(check.err);
		else
			printf("null");
		printf("}\n");
	} else {
		char when[64] = "?";
		time_t t = (time_t)(check.hdr.start_wall_ns / 1000000000u);
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
		printf("file:          %s\n", path);
		printf("source:        %s\n", check.hdr.source[0] ? check.hdr.source : "?");
		printf("recorded:      %s\n", when);
		printf("duration:      %.3f s\n", (double)in->duration / 1e9);
		printf("frames:        %u (%u key, %u delta%s)\n", in->frames, in->keyframes, in->deltas,
		       check.ended ? ", 1 end" : "");
		printf("geometry:      ");
		for (uint32_t i = 0; i < in->ngeo && i < MAX_GEOMETRIES; i++)
			printf("%s%dx%d@%u at %.3f s", i ? ", " : "", in->geo[i].width, in->geo[i].height,
			       in->geo[i].bpp, (double)in->geo[i].ts / 1e9);
		printf("%s (%u change%s)\n", in->ngeo > MAX_GEOMETRIES ? ", ..." : "", in->geo_changes,
		       in->geo_changes == 1 ? "" : "s");
		printf("changes:       %u pixel rects (%" PRIu64 " pixels), %u copies, %u cursor shapes, %u cursor moves\n",
		       in->pixel_chunks, in->pixels, in->copy_chunks, in->shape_chunks, in->pos_chunks);
		printf("file size:     %zu bytes\n", map.size);
		printf("payload:       %" PRIu64 " bytes before zstd, ratio %.1fx\n", in->raw_bytes, ratio);
		printf("vs raw frames: %" PRIu64 " bytes as full frames, ratio %.1fx\n", in->full_bytes,
		       full_ratio);
		printf("complete:      %s\n", check.ended ? end_reason_name(in->end_reason) :
		       check.damaged ? "no (damaged)" : "no (recording was not finished)");
	}
	status = 0;
	if (check.damaged)
		status = rec_fail("%s: %s", path, check.err);
	free(in);
	rec_map_close(&map);
	return status;
}
