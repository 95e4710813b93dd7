/* SPDX-License-Identifier: MIT */
/*
 * gn-fullvnc: the GNOME benchmark's peer where gnome-remote-desktop's VNC
 * server cannot run (Debian builds gnome-remote-desktop 43 without its VNC
 * backend).  A plain full-frame PipeWire-to-VNC path, shaped like that
 * backend: a ScreenCast stream of one mutter monitor, BGRx in shared
 * memory, at most --max-fps frames a second asked of mutter (30 there);
 * every frame that carries pixels is copied whole into libvncserver's
 * framebuffer and marked modified whole, and updates go out at once
 * (deferUpdateTime 0).  No tiles compared, no copies found: what a viewer
 * receives is libvncserver encoding the whole screen for each frame.
 *
 *   gn-fullvnc [--listen ADDR:PORT] [--max-fps N] [--cursor MODE] [CONNECTOR]
 *
 * CONNECTOR defaults to mutter's first monitor; --listen to
 * 127.0.0.1:5900 (IPv4 only, no password: a benchmark's loopback); --cursor
 * embedded (default: mutter draws it in, so every update is pixels),
 * hidden or metadata (then cursor-only buffers are requeued unsent).
 * Runs until SIGTERM/SIGINT or until mutter goes; every failure is one
 * line on stderr and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipewire/pipewire.h>
#include <rfb/rfb.h>
#include <spa/param/video/format-utils.h>

#include "screencast.h"

struct fullvnc {
	struct screencast sc;
	struct pw_main_loop *loop;
	struct pw_stream *stream;
	struct spa_video_info_raw format;
	rfbScreenInfoPtr screen;    /* NULL until mutter fixed the size */
	struct in_addr addr;
	int port;
	int status;                 /* the exit status once the loop ends */
};

static void log_line(enum mirage_log_level level, const char *text)
{
	if (level <= MIRAGE_LOG_WARNING)
		fprintf(stderr, "gn-fullvnc: %s\n", text);
}

static void stop(struct fullvnc *f, int status, const char *why)
{
	if (why)
		fprintf(stderr, "gn-fullvnc: %s\n", why);
	f->status = status;
	pw_main_loop_quit(f->loop);
}

/* BGRx in memory is blue in the low byte of a little-endian pixel. */
static void set_bgrx(rfbScreenInfoPtr s)
{
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
}

/* The RFB server at the stream's size, listening; or at a new size. */
static int serve(struct fullvnc *f, int w, int h)
{
	char *fb = calloc((size_t)w * h, 4);

	if (!fb)
		return -ENOMEM;
	if (f->screen) {
		/* The old picture is left allocated: the viewers' threads may
		 * still encode from it, and a benchmark resizes once at most. */
		rfbNewFramebuffer(f->screen, fb, w, h, 8, 3, 4);
		set_bgrx(f->screen);
		return 0;
	}
	f->screen = rfbGetScreen(NULL, NULL, w, h, 8, 3, 4);
	if (!f->screen) {
		free(fb);
		return -ENOMEM;
	}
	set_bgrx(f->screen);
	f->screen->frameBuffer = fb;
	f->screen->desktopName = "gn-fullvnc";
	f->screen->port = f->port;
	f->screen->ipv6port = 0;
	f->screen->autoPort = FALSE;
	f->screen->listenInterface = f->addr.s_addr;
	f->screen->alwaysShared = TRUE;
	f->screen->deferUpdateTime = 0;
	f->screen->ignoreSIGPIPE = TRUE;
	f->screen->cursor = NULL;
	f->screen->httpPort = 0;
	f->screen->http6Port = 0;
	rfbInitServer(f->screen);
	if (f->screen->listenSock == RFB_INVALID_SOCKET)
		return -EADDRINUSE;
	/* One thread per viewer, woken by rfbMarkRectAsModified. */
	rfbRunEventLoop(f->screen, -1, TRUE);
	return 0;
}

static void on_process(void *data)
{
	struct fullvnc *f = data;
	struct pw_buffer *b, *last = NULL;

	/* Only the newest picture counts; cursor-only buffers go back. */
	while ((b = pw_stream_dequeue_buffer(f->stream))) {
		struct spa_data *d = &b->buffer->datas[0];

		if (d->data && d->chunk->size > 0 && !(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED)) {
			if (last)
				pw_stream_queue_buffer(f->stream, last);
			last = b;
		} else {
			pw_stream_queue_buffer(f->stream, b);
		}
	}
	if (!last)
		return;
	if (f->screen) {
		struct spa_data *d = &last->buffer->datas[0];
		int w = f->screen->width, h = f->screen->height;
		int stride = d->chunk->stride > 0 ? d->chunk->stride : w * 4;
		const char *src = (const char *)d->data + d->chunk->offset;

		if ((size_t)stride * (h - 1) + (size_t)w * 4 <= d->chunk->size) {
			/* In place, as the viewers' threads read it: a torn
			 * picture is repaired by the next frame. */
			for (int y = 0; y < h; y++)
				memcpy(f->screen->frameBuffer + (size_t)y * f->screen->paddedWidthInBytes,
				       src + (size_t)y * stride, (size_t)w * 4);
			rfbMarkRectAsModified(f->screen, 0, 0, w, h);
		}
	}
	pw_stream_queue_buffer(f->stream, last);
}

static void on_param(void *data, uint32_t id, const struct spa_pod *param)
{
	struct fullvnc *f = data;
	uint8_t buf[512];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[2];
	int ret;

	if (id != SPA_PARAM_Format || !param)
		return;
	if (spa_format_video_raw_parse(param, &f->format) < 0 || f->format.format != SPA_VIDEO_FORMAT_BGRx ||
	    f->format.size.width == 0 || f->format.size.height == 0) {
		stop(f, 1, "mutter sent a format other than BGRx");
		return;
	}
	ret = serve(f, (int)f->format.size.width, (int)f->format.size.height);
	if (ret < 0) {
		fprintf(stderr, "gn-fullvnc: cannot serve on %s:%d: %s\n", inet_ntoa(f->addr), f->port,
			strerror(-ret));
		stop(f, 1, NULL);
		return;
	}
	params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamBuffers, SPA_PARAM_Buffers,
		SPA_PARAM_BUFFERS_buffers, SPA_POD_CHOICE_RANGE_Int(8, 1, 8),
		SPA_PARAM_BUFFERS_dataType, SPA_POD_Int((1 << SPA_DATA_MemFd) | (1 << SPA_DATA_MemPtr)));
	params[1] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_ParamMeta, SPA_PARAM_Meta,
		SPA_PARAM_META_type, SPA_POD_Id(SPA_META_Header),
		SPA_PARAM_META_size, SPA_POD_Int(sizeof(struct spa_meta_header)));
	pw_stream_update_params(f->stream, params, 2);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.param_changed = on_param,
	.process = on_process,
};

static void on_bus(void *data, int fd, uint32_t mask)
{
	struct fullvnc *f = data;

	(void)fd;
	(void)mask;
	if (screencast_dispatch(&f->sc) < 0 || f->sc.closed)
		stop(f, 1, "mutter ended the screen cast");
}

static void on_signal(void *data, int sig)
{
	(void)sig;
	stop(data, 0, NULL);
}

static int parse_listen(struct fullvnc *f, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char host[64];
	char *end;
	long port;

	if (!colon || (size_t)(colon - arg) >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &f->addr) != 1)
		return -EINVAL;
	f->port = (int)port;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "max-fps", required_argument, NULL, 'f' },
		{ "cursor", required_argument, NULL, 'c' },
		{ 0 },
	};
	struct fullvnc f = { .port = 5900, .status = 0 };
	struct screencast_request req = { .cursor = SCREENCAST_CURSOR_EMBEDDED };
	struct spa_fraction min_rate = SPA_FRACTION(1, 1), max_rate = SPA_FRACTION(30, 1);
	struct spa_rectangle min_size = SPA_RECTANGLE(1, 1), max_size = SPA_RECTANGLE(16384, 16384);
	uint8_t buf[1024];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	const struct spa_pod *params[1];
	char *end;
	int opt, ret;

	f.addr.s_addr = htonl(INADDR_LOOPBACK);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_listen(&f, optarg) < 0) {
				fprintf(stderr, "gn-fullvnc: --listen %s: expected IPv4-ADDRESS:PORT\n", optarg);
				return 1;
			}
			break;
		case 'f':
			max_rate.num = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || max_rate.num < 1 || max_rate.num > 1000) {
				fprintf(stderr, "gn-fullvnc: --max-fps %s: expected 1 to 1000\n", optarg);
				return 1;
			}
			break;
		case 'c':
			if (!strcmp(optarg, "embedded"))
				req.cursor = SCREENCAST_CURSOR_EMBEDDED;
			else if (!strcmp(optarg, "hidden"))
				req.cursor = SCREENCAST_CURSOR_HIDDEN;
			else if (!strcmp(optarg, "metadata"))
				req.cursor = SCREENCAST_CURSOR_METADATA;
			else {
				fprintf(stderr, "gn-fullvnc: --cursor %s: expected embedded, hidden or metadata\n",
					optarg);
				return 1;
			}
			break;
		default:
			fprintf(stderr, "usage: gn-fullvnc [--listen ADDR:PORT] [--max-fps N] "
					"[--cursor embedded|hidden|metadata] [CONNECTOR]\n");
			return 1;
		}
	}
	if (optind < argc)
		req.connector = argv[optind];

	f.sc.log = log_line;
	ret = screencast_open(&f.sc, &req);
	if (ret < 0) {
		screencast_close(&f.sc);
		return 1; /* screencast_open said why */
	}
	pw_init(&argc, &argv);
	f.loop = pw_main_loop_new(NULL);
	if (!f.loop) {
		fprintf(stderr, "gn-fullvnc: cannot create a PipeWire loop: %s\n", strerror(errno));
		f.status = 1;
		goto out;
	}
	pw_loop_add_signal(pw_main_loop_get_loop(f.loop), SIGTERM, on_signal, &f);
	pw_loop_add_signal(pw_main_loop_get_loop(f.loop), SIGINT, on_signal, &f);
	pw_loop_add_io(pw_main_loop_get_loop(f.loop), screencast_fd(&f.sc), SPA_IO_IN, false, on_bus, &f);
	f.stream = pw_stream_new_simple(pw_main_loop_get_loop(f.loop), "gn-fullvnc",
		pw_properties_new(PW_KEY_MEDIA_TYPE, "Video", PW_KEY_MEDIA_CATEGORY, "Capture",
				  PW_KEY_MEDIA_ROLE, "Screen", NULL), &stream_events, &f);
	if (!f.stream) {
		fprintf(stderr, "gn-fullvnc: cannot create a PipeWire stream: %s\n", strerror(errno));
		f.status = 1;
		goto out;
	}
	params[0] = spa_pod_builder_add_object(&pb, SPA_TYPE_OBJECT_Format, SPA_PARAM_EnumFormat,
		SPA_FORMAT_mediaType, SPA_POD_Id(SPA_MEDIA_TYPE_video),
		SPA_FORMAT_mediaSubtype, SPA_POD_Id(SPA_MEDIA_SUBTYPE_raw),
		SPA_FORMAT_VIDEO_format, SPA_POD_Id(SPA_VIDEO_FORMAT_BGRx),
		SPA_FORMAT_VIDEO_size, SPA_POD_CHOICE_RANGE_Rectangle(&min_size, &min_size, &max_size),
		SPA_FORMAT_VIDEO_framerate, SPA_POD_Fraction(&SPA_FRACTION(0, 1)),
		SPA_FORMAT_VIDEO_maxFramerate, SPA_POD_CHOICE_RANGE_Fraction(&max_rate, &min_rate, &max_rate));
	ret = pw_stream_connect(f.stream, PW_DIRECTION_INPUT, f.sc.node,
				PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS, params, 1);
	if (ret < 0) {
		fprintf(stderr, "gn-fullvnc: cannot connect to PipeWire node %u: %s\n", f.sc.node, strerror(-ret));
		f.status = 1;
		goto out;
	}
	pw_main_loop_run(f.loop);
out:
	if (f.screen) {
		rfbShutdownServer(f.screen, TRUE);
		free(f.screen->frameBuffer);
		rfbScreenCleanup(f.screen);
	}
	if (f.stream)
		pw_stream_destroy(f.stream);
	if (f.loop)
		pw_main_loop_destroy(f.loop);
	screencast_close(&f.sc);
	pw_deinit();
	return f.status;
}
