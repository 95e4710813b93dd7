/* SPDX-License-Identifier: MIT */
/*
 * mirage-rec export: turns a recording into constant-rate video (MP4/MKV
 * through FFmpeg's libraries) or a folder of PNG/PPM frames.
 *
 * Recordings are variable-rate: a frame is written only when something
 * changed.  Output frame k shows the state at time k/fps, i.e. after every
 * recorded frame with a timestamp <= k/fps; the output has
 * ceil(duration * fps) + 1 frames so that the last one shows the final state.
 */
#include "rec.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

enum out_kind { OUT_VIDEO, OUT_PNG, OUT_PPM };

struct exporter {
	const char *out;
	enum out_kind kind;
	const char *codec_name;
	int fps;
	int crf;
	bool draw_cursor;
	bool progress;
	const char *prefix;     /* frame file names: "frame" or "keyframe" */

	struct rec_canvas *cv;
	uint8_t *canvas;        /* owned canvas pixels */
	uint8_t *scratch;       /* BGR0 copy with the cursor drawn in */
	size_t scratch_size;
	int out_w, out_h;

	const AVCodec *codec;
	AVCodecContext *enc;
	AVFormatContext *oc;
	AVStream *st;
	AVFrame *frame;
	AVPacket *pkt;
	struct SwsContext *sws;
	uint8_t *rgb;           /* one PPM row */
};

static const char export_help[] =
	"Usage: mirage-rec export FILE -o OUT [OPTIONS]\n"
	"\n"
	"Writes a recording as constant-rate video (OUT ending in .mp4, .mkv, ...) or\n"
	"as numbered frames in the folder OUT (with --codec png or ppm, or when OUT\n"
	"ends in '/' or is a folder).  Frame k shows the screen at time k/fps.\n"
	"\n"
	"  -o, --output OUT    video file or folder\n"
	"  -r, --fps N         output frame rate (default 30)\n"
	"  -c, --codec NAME    h264 (default for video, libx264), ffv1 (lossless, .mkv),\n"
	"                      png or ppm (frame folders), or any FFmpeg encoder name\n"
	"      --crf N         H.264 quality (libx264 CRF, 0 lossless ... 51; default 23)\n"
	"      --no-cursor     leave the cursor out (default: drawn in)\n"
	"      --keyframes     (frame folders) one image per key frame instead,\n"
	"                      keyframe-NNNNNN for the N-th key frame\n"
	"  -S, --salvage       export a damaged file up to its last good frame\n"
	"  -q, --quiet         no progress bar\n";

/* ------------------------------------------------------------------ */
/* Canvas                                                              */
/* ------------------------------------------------------------------ */

static int hook_geometry(void *data, struct rec_canvas *cv)
{
	struct exporter *ex = data;
	size_t size = (size_t)cv->stride * (size_t)cv->height;
	uint8_t *p = realloc(ex->canvas, size ? size : 1);

	if (!p)
		return -ENOMEM;
	ex->canvas = p;
	cv->pixels = p;
	return 0;
}

static const struct rec_apply_ops export_ops = { .geometry = hook_geometry };

static enum AVPixelFormat canvas_format(uint32_t bpp)
{
	switch (bpp) {
	case 16: return AV_PIX_FMT_RGB565LE;
	case 24: return AV_PIX_FMT_BGR24;
	default: return AV_PIX_FMT_BGR0; /* xRGB8888 little-endian: B, G, R, x bytes */
	}
}

/* One pixel of the canvas as 0x00RRGGBB. */
static uint32_t pixel_rgb(const uint8_t *p, uint32_t bpp)
{
	uint32_t v, r, g, b;

	switch (bpp) {
	case 16:
		v = (uint32_t)p[0] | (uint32_t)p[1] << 8;
		r = (v >> 11) & 0x1f;
		g = (v >> 5) & 0x3f;
		b = v & 0x1f;
		/* Widen by repeating the top bits, as miragectl snapshot does. */
		return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
	case 24:
		return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	default:
		return ((uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
	}
}

/*
 * The picture to output: the canvas itself, or (with a visible cursor to
 * draw) a BGR0 copy with the cursor blended over it.  Sets format/stride.
 */
static const uint8_t *picture(struct exporter *ex, enum AVPixelFormat *fmt, int *stride)
{
	struct rec_canvas *cv = ex->cv;
	unsigned bpp = rec_bytes_per_pixel(cv->bpp);
	size_t need = (size_t)cv->width * 4 * (size_t)cv->height;

	*fmt = canvas_format(cv->bpp);
	*stride = (int)cv->stride;
	if (!ex->draw_cursor || !cv->cursor_visible || !cv->cursor_w || !cv->cursor_h)
		return cv->pixels;
	if (need > ex->scratch_size) {
		uint8_t *p = realloc(ex->scratch, need);
		if (!p)
			return cv->pixels; /* without the cursor rather than not at all */
		ex->scratch = p;
		ex->scratch_size = need;
	}
	for (int32_t y = 0; y < cv->height; y++) {
		const uint8_t *s = cv->pixels + (size_t)y * cv->stride;
		uint32_t *d = (uint32_t *)(void *)(ex->scratch + (size_t)y * cv->width * 4);
		if (cv->bpp == 32)
			memcpy(d, s, (size_t)cv->width * 4);
		else
			for (int32_t x = 0; x < cv->width; x++)
				d[x] = pixel_rgb(s + (size_t)x * bpp, cv->bpp);
	}
	for (uint32_t cy = 0; cy < cv->cursor_h; cy++) {
		int64_t y = (int64_t)cv->cursor_y - cv->cursor_hot_y + cy;
		if (y < 0 || y >= cv->height)
			continue;
		for (uint32_t cx = 0; cx < cv->cursor_w; cx++) {
			int64_t x = (int64_t)cv->cursor_x - cv->cursor_hot_x + cx;
			uint32_t s, d, a, out = 0;
			uint32_t *dp;
			if (x < 0 || x >= cv->width)
				continue;
			s = cv->cursor_argb[cy * cv->cursor_w + cx];
			a = s >> 24;
			dp = (uint32_t *)(void *)(ex->scratch + ((size_t)y * cv->width + (size_t)x) * 4);
			d = *dp;
			/* Premultiplied "over": out = src + dst * (255 - a) / 255. */
			for (int sh = 0; sh < 24; sh += 8) {
				uint32_t c = ((s >> sh) & 0xff) + (((d >> sh) & 0xff) * (255 - a) + 127) / 255;
				out |= (c > 255 ? 255 : c) << sh;
			}
			*dp = out;
		}
	}
	*fmt = AV_PIX_FMT_BGR0;
	*stride = cv->width * 4;
	return ex->scratch;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static int av_fail(const char *what, int err)
{
	char buf[AV_ERROR_MAX_STRING_SIZE];

	av_strerror(err, buf, sizeof(buf));
	return rec_fail("%s: %s", what, buf);
}

static int open_encoder(struct exporter *ex, int width, int height)
{
	enum AVPixelFormat src = canvas_format(ex->cv->bpp), pix;
	const char *name = ex->codec_name;
	int ret;

	if (ex->kind == OUT_PNG)
		name = "png";
	if (!strcmp(name, "h264")) {
		ex->codec = avcodec_find_encoder_by_name("libx264");
		if (!ex->codec)
			ex->codec = avcodec_find_encoder(AV_CODEC_ID_H264);
	} else {
		ex->codec = avcodec_find_encoder_by_name(name);
	}
	if (!ex->codec)
		return rec_fail("no FFmpeg encoder \"%s\" in this build of libavcodec", name);
	pix = avcodec_find_best_pix_fmt_of_list(ex->codec->pix_fmts, src, 0, NULL);
	if (pix == AV_PIX_FMT_NONE)
		pix = src;
	/* 4:2:0 and 4:2:2 need even dimensions: round up and let swscale stretch. */
	{
		const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(pix);
		if (d && d->log2_chroma_w)
			width = (width + 1) & ~1;
		if (d && d->log2_chroma_h)
			height = (height + 1) & ~1;
	}
	ex->out_w = width;
	ex->out_h = height;
	ex->enc = avcodec_alloc_context3(ex->codec);
	ex->frame = av_frame_alloc();
	ex->pkt = av_packet_alloc();
	if (!ex->enc || !ex->frame || !ex->pkt)
		return rec_fail("out of memory");
	ex->enc->width = width;
	ex->enc->height = height;
	ex->enc->pix_fmt = pix;
	ex->enc->time_base = (AVRational){ 1, ex->fps };
	ex->enc->framerate = (AVRational){ ex->fps, 1 };
	ex->enc->sample_aspect_ratio = (AVRational){ 1, 1 };
	if (ex->codec->id == AV_CODEC_ID_H264 && ex->enc->priv_data) {
		char crf[16];
		snprintf(crf, sizeof(crf), "%d", ex->crf);
		av_opt_set(ex->enc->priv_data, "crf", crf, 0);
		av_opt_set(ex->enc->priv_data, "preset", "veryfast", 0);
	}
	if (ex->codec->id == AV_CODEC_ID_FFV1) {
		ex->enc->level = 3;
		av_opt_set_int(ex->enc->priv_data, "slicecrc", 1, 0);
	}
	if (ex->oc && (ex->oc->oformat->flags & AVFMT_GLOBALHEADER))
		ex->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	ex->enc->thread_count = 0;
	ret = avcodec_open2(ex->enc, ex->codec, NULL);
	if (ret < 0)
		return av_fail(ex->codec->name, ret);
	ex->frame->format = pix;
	ex->frame->width = width;
	ex->frame->height = height;
	ret = av_frame_get_buffer(ex->frame, 0);
	if (ret < 0)
		return av_fail("frame buffer", ret);
	return 0;
}

static int open_video(struct exporter *ex)
{
	int ret;

	ret = avformat_alloc_output_context2(&ex->oc, NULL, NULL, ex->out);
	if (ret < 0 || !ex->oc)
		return rec_fail("%s: cannot tell the container from the name (use .mp4 or .mkv)", ex->out);
	ret = open_encoder(ex, ex->cv->width, ex->cv->height);
	if (ret)
		return ret;
	if (avformat_query_codec(ex->oc->oformat, ex->codec->id, FF_COMPLIANCE_NORMAL) != 1)
		return rec_fail("%s: a %s file cannot hold %s video (try .mkv)", ex->out,
				ex->oc->oformat->name, ex->codec->name);
	ex->st = avformat_new_stream(ex->oc, NULL);
	if (!ex->st)
		return rec_fail("out of memory");
	ex->st->time_base = ex->enc->time_base;
	ex->st->avg_frame_rate = ex->enc->framerate;
	ret = avcodec_parameters_from_context(ex->st->codecpar, ex->enc);
	if (ret < 0)
		return av_fail("codec parameters", ret);
	if (!(ex->oc->oformat->flags & AVFMT_NOFILE)) {
		ret = avio_open(&ex->oc->pb, ex->out, AVIO_FLAG_WRITE);
		if (ret < 0)
			return av_fail(ex->out, ret);
	}
	ret = avformat_write_header(ex->oc, NULL);
	if (ret < 0)
		return av_fail(ex->out, ret);
	return 0;
}

/* Writes every packet the encoder has ready; k is the frame number (PNG names). */
static int drain_packets(struct exporter *ex, int64_t k)
{
	int ret;

	for (;;) {
		ret = avcodec_receive_packet(ex->enc, ex->pkt);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
			return 0;
		if (ret < 0)
			return av_fail("encode", ret);
		if (ex->kind == OUT_PNG) {
			char name[4096];
			FILE *f;
			/* Frame threads deliver late: the packet's pts names its frame. */
			if (ex->pkt->pts != AV_NOPTS_VALUE)
				k = ex->pkt->pts;
			snprintf(name, sizeof(name), "%s/%s-%06lld.png", ex->out, ex->prefix, (long long)k);
			f = fopen(name, "wb");
			if (!f || fwrite(ex->pkt->data, 1, (size_t)ex->pkt->size, f) != (size_t)ex->pkt->size ||
			    fclose(f) != 0) {
				ret = errno;
				av_packet_unref(ex->pkt);
				return rec_fail("%s: %s", name, strerror(ret));
			}
			av_packet_unref(ex->pkt);
			continue;
		}
		av_packet_rescale_ts(ex->pkt, ex->enc->time_base, ex->st->time_base);
		ex->pkt->stream_index = ex->st->index;
		ret = av_interleaved_write_frame(ex->oc, ex->pkt);
		if (ret < 0)
			return av_fail(ex->out, ret);
	}
}

/* Ends the encoder's stream and writes every packet it still holds. */
static int flush_encoder(struct exporter *ex, int64_t last)
{
	int ret = avcodec_send_frame(ex->enc, NULL);

	if (ret < 0 && ret != AVERROR_EOF)
		return av_fail("encode", ret);
	return drain_packets(ex, last);
}

static int write_ppm(struct exporter *ex, int64_t k)
{
	struct rec_canvas *cv = ex->cv;
	enum AVPixelFormat fmt;
	int stride;
	const uint8_t *pic = picture(ex, &fmt, &stride);
	uint32_t bpp = fmt == AV_PIX_FMT_BGR0 ? 32 : cv->bpp;
	unsigned Bpp = bpp / 8;
	char name[4096];
	FILE *f;
	int ret = 0;

	if (!ex->rgb && !(ex->rgb = malloc((size_t)16384 * 3)))
		return rec_fail("out of memory");
	snprintf(name, sizeof(name), "%s/%s-%06lld.ppm", ex->out, ex->prefix, (long long)k);
	f = fopen(name, "wb");
	if (!f)
		return rec_fail("%s: %s", name, strerror(errno));
	fprintf(f, "P6\n%d %d\n255\n", cv->width, cv->height);
	for (int32_t y = 0; y < cv->height; y++) {
		const uint8_t *s = pic + (size_t)y * (size_t)stride;
		for (int32_t x = 0; x < cv->width; x++) {
			uint32_t v = pixel_rgb(s + (size_t)x * Bpp, bpp);
			ex->rgb[x * 3] = (uint8_t)(v >> 16);
			ex->rgb[x * 3 + 1] = (uint8_t)(v >> 8);
			ex->rgb[x * 3 + 2] = (uint8_t)v;
		}
		if (fwrite(ex->rgb, 3, (size_t)cv->width, f) != (size_t)cv->width)
			ret = -1;
	}
	if (fclose(f) != 0 || ret)
		return rec_fail("%s: %s", name, strerror(errno));
	return 0;
}

static int encode_frame(struct exporter *ex, int64_t k)
{
	enum AVPixelFormat fmt;
	int stride, ret;
	const uint8_t *pic;

	if (ex->kind == OUT_PPM)
		return write_ppm(ex, k);
	if (!ex->enc) {
		ret = ex->kind == OUT_VIDEO ? open_video(ex) : open_encoder(ex, ex->cv->width, ex->cv->height);
		if (ret)
			return ret;
	}
	/* Frame folders follow geometry changes; a video keeps its first size. */
	if (ex->kind == OUT_PNG && (ex->cv->width != ex->out_w || ex->cv->height != ex->out_h)) {
		/* Frame threads may still hold earlier frames: write them first. */
		ret = flush_encoder(ex, k - 1);
		if (ret)
			return ret;
		avcodec_free_context(&ex->enc);
		av_frame_free(&ex->frame);
		av_packet_free(&ex->pkt);
		ret = open_encoder(ex, ex->cv->width, ex->cv->height);
		if (ret)
			return ret;
	}
	pic = picture(ex, &fmt, &stride);
	ex->sws = sws_getCachedContext(ex->sws, ex->cv->width, ex->cv->height, fmt, ex->out_w,
				       ex->out_h, ex->enc->pix_fmt, SWS_BICUBIC | SWS_ACCURATE_RND |
				       SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
	if (!ex->sws)
		return rec_fail("cannot convert %dx%d %s to %dx%d %s", ex->cv->width, ex->cv->height,
				av_get_pix_fmt_name(fmt), ex->out_w, ex->out_h,
				av_get_pix_fmt_name(ex->enc->pix_fmt));
	ret = av_frame_make_writable(ex->frame);
	if (ret < 0)
		return av_fail("frame", ret);
	sws_scale(ex->sws, (const uint8_t *const[]){ pic }, (const int[]){ stride }, 0, ex->cv->height,
		  ex->frame->data, ex->frame->linesize);
	ex->frame->pts = k;
	ret = avcodec_send_frame(ex->enc, ex->frame);
	if (ret < 0)
		return av_fail("encode", ret);
	return drain_packets(ex, k);
}

static int finish_output(struct exporter *ex, int64_t last)
{
	int ret;

	if (!ex->enc)
		return 0;
	ret = flush_encoder(ex, last);
	if (ret)
		return ret;
	if (ex->oc) {
		ret = av_write_trailer(ex->oc);
		if (ret < 0)
			return av_fail(ex->out, ret);
	}
	return 0;
}

static void close_output(struct exporter *ex)
{
	if (ex->oc) {
		if (ex->oc->pb && !(ex->oc->oformat->flags & AVFMT_NOFILE))
			avio_closep(&ex->oc->pb);
		avformat_free_context(ex->oc);
	}
	avcodec_free_context(&ex->enc);
	av_frame_free(&ex->frame);
	av_packet_free(&ex->pkt);
	sws_freeContext(ex->sws);
	free(ex->canvas);
	free(ex->scratch);
	free(ex->rgb);
	free(ex->cv);
}

static void progress(struct exporter *ex, int64_t k, int64_t n)
{
	static const char bar[] = "########################################";
	int width = 40, done = n > 0 ? (int)(k * width / n) : width;

	if (!ex->progress)
		return;
	fprintf(stderr, "\r[%.*s%*s] %3d%%  frame %lld/%lld", done, bar, width - done, "",
		n > 0 ? (int)(k * 100 / n) : 100, (long long)k, (long long)n);
	if (k == n)
		fputc('\n', stderr);
	fflush(stderr);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int rec_cmd_export(int argc, char **argv)
{
	enum { OPT_CRF = 1000, OPT_NO_CURSOR, OPT_KEYFRAMES };
	static const struct option opts[] = {
		{ "output", required_argument, 0, 'o' },
		{ "fps", required_argument, 0, 'r' },
		{ "codec", required_argument, 0, 'c' },
		{ "crf", required_argument, 0, OPT_CRF },
		{ "no-cursor", no_argument, 0, OPT_NO_CURSOR },
		{ "keyframes", no_argument, 0, OPT_KEYFRAMES },
		{ "salvage", no_argument, 0, 'S' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct exporter ex = { .fps = 30, .crf = 23, .draw_cursor = true, .prefix = "frame" };
	const char *path, *codec = NULL;
	bool salvage = false, quiet = false, have = false, keyframes = false;
	struct rec_map map = { 0 };
	struct rec_check check;
	struct rec_reader rd;
	struct rec_frame f;
	struct stat st;
	char err[256];
	int64_t n, k = 0;
	uint32_t applied = 0;
	int opt, ret, status = EXIT_FAIL;
	char *end;
	long v;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":o:r:c:Sqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': ex.out = optarg; break;
		case 'r':
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 1000)
				return rec_usage("--fps: \"%s\" is not a whole number from 1 to 1000", optarg);
			ex.fps = (int)v;
			break;
		case 'c': codec = optarg; break;
		case OPT_CRF:
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 0 || v > 51)
				return rec_usage("--crf: \"%s\" is not between 0 and 51", optarg);
			ex.crf = (int)v;
			break;
		case OPT_NO_CURSOR: ex.draw_cursor = false; break;
		case OPT_KEYFRAMES: keyframes = true; break;
		case 'S': salvage = true; break;
		case 'q': quiet = true; break;
		case 'h': fputs(export_help, stdout); return 0;
		default: return rec_option_error(opt, argv);
		}
	}
	path = rec_one_recording(argc, argv);
	if (!path)
		return EXIT_USAGE;
	if (!ex.out)
		return rec_usage("no output given (-o OUT)");
	if (codec && !strcmp(codec, "png"))
		ex.kind = OUT_PNG;
	else if (codec && !strcmp(codec, "ppm"))
		ex.kind = OUT_PPM;
	else if (!codec && (ends_with(ex.out, "/") || (stat(ex.out, &st) == 0 && S_ISDIR(st.st_mode))))
		ex.kind = OUT_PNG;
	else
		ex.kind = OUT_VIDEO;
	ex.codec_name = codec ? codec : "h264";
	if (keyframes && ex.kind == OUT_VIDEO)
		return rec_usage("--keyframes writes a frame folder (--codec png or ppm)");
	ex.progress = !quiet && isatty(STDERR_FILENO);
	if (ex.kind != OUT_VIDEO && mkdir(ex.out, 0755) < 0 && errno != EEXIST)
		return rec_fail("%s: %s", ex.out, strerror(errno));

	ret = rec_open_checked(path, salvage, &map, &check);
	if (ret)
		return ret;
	if (rec_reader_init(&rd, map.data, map.size) < 0) {
		rec_map_close(&map);
		return rec_fail("%s: %s", path, rd.err);
	}
	ex.cv = calloc(1, sizeof(*ex.cv));
	if (!ex.cv) {
		rec_fail("out of memory");
		goto cleanup;
	}
	av_log_set_level(AV_LOG_ERROR);

	if (keyframes) {
		ex.prefix = "keyframe";
		while ((ret = applied < check.frames ? rec_reader_next(&rd, &f, true) : 0) > 0) {
			applied++;
			if (rec_apply(ex.cv, &f, &export_ops, &ex, err, sizeof(err)) < 0) {
				rec_fail("%s: offset %llu: frame %u: %s", path, (unsigned long long)f.offset,
					 f.index, err);
				goto cleanup;
			}
			if (f.type == REC_FRAME_KEY && encode_frame(&ex, k++))
				goto cleanup;
		}
		if (ret < 0) {
			rec_fail("%s: %s", path, rd.err);
			goto cleanup;
		}
		if (finish_output(&ex, k - 1))
			goto cleanup;
		status = 0;
		goto cleanup;
	}

	/*
	 * ceil(duration * fps) + 1 frames: the last shows the final state.  The
	 * validator bounds timestamps (REC_MAX_TIMESTAMP), so this fits 64 bits.
	 */
	n = (int64_t)(((check.last_ts - check.first_ts) * (uint64_t)ex.fps + 999999999u) / 1000000000u) + 1;
	for (k = 0; k < n; k++) {
		uint64_t t = check.first_ts + (uint64_t)k * 1000000000u / (uint64_t)ex.fps;

		for (;;) {
			if (!have) {
				ret = applied < check.frames ? rec_reader_next(&rd, &f, true) : 0;
				if (ret < 0 && !salvage) {
					rec_fail("%s: %s", path, rd.err);
					goto cleanup;
				}
				if (ret < 0) {
					rec_warn("%s: %s; the rest shows the last good frame", path, rd.err);
					check.frames = applied;
				}
				if (ret <= 0)
					break;
				have = true;
			}
			if (f.ts_ns > t)
				break;
			ret = rec_apply(ex.cv, &f, &export_ops, &ex, err, sizeof(err));
			if (ret < 0) {
				if (!salvage) {
					rec_fail("%s: offset %llu: frame %u: %s", path,
						 (unsigned long long)f.offset, f.index, err);
					goto cleanup;
				}
				rec_warn("%s: offset %llu: frame %u: %s; the rest shows the last good frame",
					 path, (unsigned long long)f.offset, f.index, err);
				check.frames = applied;
			}
			applied++;
			have = false;
		}
		if (!ex.cv->pixels) {
			rec_fail("%s: no picture to export", path);
			goto cleanup;
		}
		if (encode_frame(&ex, k))
			goto cleanup;
		progress(&ex, k + 1, n);
	}
	if (finish_output(&ex, n - 1))
		goto cleanup;
	status = 0;
cleanup:
	close_output(&ex);
	rec_reader_finish(&rd);
	rec_map_close(&map);
	return status;
}
