/* SPDX-License-Identifier: MIT */
/*
 * gn-frame: one full frame of a mutter monitor as PPM, read through a
 * ScreenCast session of its own, for the GNOME tests' exactness check.
 *
 *   gn-frame CONNECTOR FILE
 *
 * Independent of mirage-wayland on purpose: blocking D-Bus calls, a
 * pw_main_loop, its own format handling; the cursor hidden, as the
 * backend asks for with Pointer.Enabled=0.  Writes FILE as
 * "P6\nW H\n255\n" + RGB, exits 0; any failure (10 s without a frame
 * included) is one line on stderr and exit 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipewire/pipewire.h>
#include <spa/param/video/format-utils.h>
#include <systemd/sd-bus.h>

#define SC_NAME "org.gnome.Mutter.ScreenCast"

struct reader {
	struct pw_main_loop *loop;
	struct pw_stream *stream;
	struct spa_video_info_raw format;
	const char *path;
	uint32_t node;
	int status;                 /* 1 until a frame was written */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "gn-frame: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* One pixel of the stream's format as R, G, B. */
static void rgb(uint32_t format, const uint8_t *p, uint8_t out[3])
{
	bool bgr = format == SPA_VIDEO_FORMAT_BGRx || format == SPA_VIDEO_FORMAT_BGRA;

	out[0] = bgr ? p[2] : p[0];
	out[1] = p[1];
	out[2] = bgr ? p[0] : p[2];
}

static int write_ppm(struct reader *r, const uint8_t *data, uint32_t stride)
{
	uint32_t w = r->format.size.width, h = r->format.size.height;
	FILE *f = fopen(r->path, "wb");
	uint8_t *row;

	if (!f)
		return -1;
	row = malloc((size_t)w * 3);
	if (!row) {
		fclose(f);
		return -1;
	}
	fprintf(f, "P6\n%u %u\n255\n", w, h);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++)
			rgb(r->format.format, data + (size_t)y * stride + (size_t)x * 4, row + (size_t)x * 3);
		fwrite(row, 3, w, f);
	}
	free(row);
	return fclose(f) == 0 ? 0 : -1;
}

static void on_process(void *data)
{
	struct reader *r = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(r->stream);
	struct spa_data *d;

	if (!b)
		return;
	d = &b->buffer->datas[0];
	/* Mutter sends buffers without a picture (cursor updates): wait on. */
	if (d->data && d->chunk->size > 0 && !(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) &&
	    r->format.size.width > 0) {
		uint32_t stride = d->chunk->stride > 0 ? (uint32_t)d->chunk->stride : r->format.size.width * 4;

		if (write_ppm(r, (const uint8_t *)d->data + d->chunk->offset, stride) < 0) {
			fprintf(stderr, "gn-frame: cannot write %s\n", r->path);
			exit(1);
		}
		r->status = 0;
		pw_main_loop_quit(r->loop);
	}
	pw_stream_queue_buffer(r->stream, b);
}

static void on_param(void *data, uint32_t id, const struct spa_pod *param)
{
	struct reader *r = data;
	uint8_t buf[256];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];

	if (id != SPA_PARAM_Format || !param)
		return;
	if (spa_format_video_raw_parse(param, &r->format) < 0) {
		fprintf(stderr, "gn-frame: mutter sent a format that is not raw video\n");
		exit(1);
	}
	/* Pixels in memory we can read: no dma-buf. */
	params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_dataType, SPA_POD_Int((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr)));
	pw_stream_update_params(r->stream, params, 1);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.param_changed = on_param,
	.process = on_process,
};

static int on_node(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct reader *r = data;

	(void)err;
	return sd_bus_message_read(m, "u", &r->node) < 0 ? 0 : 1;
}

/* A ScreenCast session recording CONNECTOR, started; the PipeWire node. */
static void screencast(sd_bus *bus, const char *connector, struct reader *r)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *session, *stream;
	char *session_path, *stream_path;
	int ret;

	ret = sd_bus_call_method(bus, SC_NAME, "/org/gnome/Mutter/ScreenCast", SC_NAME, "CreateSession",
				 &err, &reply, "a{sv}", 0);
	if (ret < 0 || sd_bus_message_read(reply, "o", &session) < 0) {
		fprintf(stderr, "gn-frame: CreateSession: %s\n", err.message ? err.message : strerror(-ret));
		exit(1);
	}
	session_path = strdup(session);
	reply = sd_bus_message_unref(reply);
	ret = sd_bus_call_method(bus, SC_NAME, session_path, SC_NAME ".Session", "RecordMonitor", &err, &reply,
				 "sa{sv}", connector, 1, "cursor-mode", "u", 0);
	if (ret < 0 || sd_bus_message_read(reply, "o", &stream) < 0) {
		fprintf(stderr, "gn-frame: RecordMonitor %s: %s\n", connector,
			err.message ? err.message : strerror(-ret));
		exit(1);
	}
	stream_path = strdup(stream);
	reply = sd_bus_message_unref(reply);
	/* No sender filter: the signal comes from mutter's unique name. */
	ret = sd_bus_match_signal(bus, NULL, NULL, stream_path, SC_NAME ".Stream", "PipeWireStreamAdded",
				  on_node, r);
	if (ret < 0)
		die("match PipeWireStreamAdded", ret);
	ret = sd_bus_call_method(bus, SC_NAME, session_path, SC_NAME ".Session", "Start", &err, NULL, "");
	if (ret < 0) {
		fprintf(stderr, "gn-frame: Start: %s\n", err.message ? err.message : strerror(-ret));
		exit(1);
	}
	while (r->node == SPA_ID_INVALID) {
		ret = sd_bus_process(bus, NULL);
		if (ret < 0)
			die("session bus", ret);
		if (ret == 0 && (ret = sd_bus_wait(bus, UINT64_MAX)) < 0)
			die("session bus", ret);
	}
	free(session_path);
	free(stream_path);
}

int main(int argc, char **argv)
{
	struct reader r = { .node = SPA_ID_INVALID, .status = 1 };
	uint8_t buf[1024];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	sd_bus *bus;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: gn-frame CONNECTOR FILE\n");
		return 2;
	}
	r.path = argv[2];
	alarm(10); /* SIGALRM ends a reader that never gets a frame */
	ret = sd_bus_open_user(&bus);
	if (ret < 0)
		die("no session bus", ret);
	screencast(bus, argv[1], &r);

	pw_init(&argc, &argv);
	r.loop = pw_main_loop_new(NULL);
	if (!r.loop)
		die("pw_main_loop_new", errno);
	r.stream = pw_stream_new_simple(pw_main_loop_get_loop(r.loop), "gn-frame",
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture",
				  PW_KEY_MEDIA_ROLE, "Screen", NULL), &stream_events, &r);
	if (!r.stream)
		die("pw_stream_new_simple", errno);
	/* Mutter fixes the size and the rate; the pixel layout is all we say. */
	params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_CHOICE_ENUM_Id(3, SPA_VIDEO_FORMAT_BGRx, SPA_VIDEO_FORMAT_BGRx,
								SPA_VIDEO_FORMAT_RGBx));
	ret = pw_stream_connect(r.stream, PW_DIRECTION_INPUT, r.node,
				PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	if (ret < 0)
		die("pw_stream_connect", ret);
	pw_main_loop_run(r.loop);
	pw_stream_destroy(r.stream);
	pw_main_loop_destroy(r.loop);
	sd_bus_flush_close_unref(bus);
	pw_deinit();
	return r.status;
}
