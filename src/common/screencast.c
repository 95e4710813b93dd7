/* SPDX-License-Identifier: MIT */
/*
 * A mutter ScreenCast session over sd-bus (see screencast.h): the monitor
 * from org.gnome.Mutter.DisplayConfig, CreateSession (linked to a new
 * RemoteDesktop session when asked), RecordMonitor or RecordVirtual,
 * Start, then the stream's PipeWireStreamAdded signal with the node.
 * Mutter leaving the bus (NameOwnerChanged of its unique name) or closing
 * marks it gone; a session Closed while mutter stays (it restarts its
 * streams on a monitor change) marks it closed; DisplayConfig's
 * MonitorsChanged is noted for the caller.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "screencast.h"

#define SC_NAME "org.gnome.Mutter.ScreenCast"
#define SC_PATH "/org/gnome/Mutter/ScreenCast"
#define DC_NAME "org.gnome.Mutter.DisplayConfig"
#define DC_PATH "/org/gnome/Mutter/DisplayConfig"
#define RD_NAME "org.gnome.Mutter.RemoteDesktop"
#define RD_PATH "/org/gnome/Mutter/RemoteDesktop"
/* How long mutter may take to announce the stream's node. */
#define NODE_TIMEOUT_US (5 * 1000 * 1000)

static void say(const struct screencast *sc, enum mirage_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const struct screencast *sc, enum mirage_log_level level, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (sc->quiet && level == MIRAGE_LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sc->log)
		sc->log(level, text);
	else if (level <= MIRAGE_LOG_INFO)
		fprintf(stderr, "%s\n", text);
}

#define LOG_ERROR(sc, ...) say((sc), MIRAGE_LOG_ERROR, __VA_ARGS__)

/* The D-Bus error's text, else errno's. */
static const char *why(const sd_bus_error *err, int ret)
{
	return err->message ? err->message : strerror(-ret);
}

bool screencast_present(void)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	int has = 0;

	if (sd_bus_open_user(&bus) < 0)
		return false;
	if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &err, &reply, "s", SC_NAME) < 0 ||
	    sd_bus_message_read(reply, "b", &has) < 0)
		has = 0;
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	sd_bus_flush_close_unref(bus);
	return has;
}

int screencast_read_monitors(struct sd_bus_message *reply, const char *want, char *connector, size_t size)
{
	int ret;

	/* GetCurrentState: (serial, monitors, logical monitors, properties);
	 * each monitor ((connector, vendor, product, serial), modes, props). */
	if ((ret = sd_bus_message_skip(reply, "u")) < 0 ||
	    (ret = sd_bus_message_enter_container(reply, 'a', "((ssss)a(siiddada{sv})a{sv})")) < 0)
		return -EPROTO;
	for (;;) {
		const char *name, *vendor, *product, *serial;

		ret = sd_bus_message_enter_container(reply, 'r', "(ssss)a(siiddada{sv})a{sv}");
		if (ret < 0)
			return -EPROTO;
		if (ret == 0)
			return -ENODEV;
		if (sd_bus_message_read(reply, "(ssss)", &name, &vendor, &product, &serial) < 0 ||
		    sd_bus_message_skip(reply, "a(siiddada{sv})a{sv}") < 0 ||
		    sd_bus_message_exit_container(reply) < 0)
			return -EPROTO;
		if ((!want || !strcmp(want, name)) && *name) {
			if (strlen(name) >= size)
				return -EPROTO;
			memcpy(connector, name, strlen(name) + 1);
			return 0;
		}
	}
}

/* The monitor to record: `want`, or the first one mutter lists. */
static int pick_monitor(struct screencast *sc, const char *want)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int ret;

	ret = sd_bus_call_method(sc->bus, DC_NAME, DC_PATH, DC_NAME, "GetCurrentState", &err, &reply, "");
	if (ret < 0) {
		LOG_ERROR(sc, "mutter's DisplayConfig GetCurrentState failed: %s", why(&err, ret));
		ret = sd_bus_error_has_name(&err, SD_BUS_ERROR_SERVICE_UNKNOWN) ? -ENOTSUP : ret;
		goto cleanup;
	}
	ret = screencast_read_monitors(reply, want, sc->connector, sizeof(sc->connector));
	if (ret == -ENODEV && want)
		LOG_ERROR(sc, "mutter has no monitor \"%s\"", want);
	else if (ret == -ENODEV)
		LOG_ERROR(sc, "mutter has no monitor");
	else if (ret < 0)
		LOG_ERROR(sc, "mutter's DisplayConfig state is not what mirage reads (monitors a((ssss)...))");
cleanup:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	return ret;
}

int screencast_find_monitor(const char *want, char *connector, size_t size,
			    void (*log)(enum mirage_log_level level, const char *text))
{
	struct screencast sc = { .log = log };
	int ret = sd_bus_open_user(&sc.bus);

	if (ret < 0) {
		LOG_ERROR(&sc, "cannot connect to the session bus: %s", strerror(-ret));
		return -ECONNREFUSED;
	}
	ret = pick_monitor(&sc, want);
	if (ret == 0 && strlen(sc.connector) >= size)
		ret = -ENAMETOOLONG;
	if (ret == 0)
		memcpy(connector, sc.connector, strlen(sc.connector) + 1);
	sd_bus_flush_close_unref(sc.bus);
	return ret;
}

static int on_node(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct screencast *sc = data;

	(void)err;
	if (sd_bus_message_read(m, "u", &sc->node) >= 0)
		sc->have_node = true;
	return 0;
}

static int on_closed(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct screencast *sc = data;

	(void)m; (void)err;
	/* Mutter closes its sessions when it quits: main says it went. */
	say(sc, MIRAGE_LOG_DEBUG, "mutter closed the screen cast session of monitor %s", sc->connector);
	sc->closed = true;
	return 0;
}

static int on_owner(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct screencast *sc = data;
	const char *name, *old, *now;

	(void)err;
	if (sd_bus_message_read(m, "sss", &name, &old, &now) >= 0 && !strcmp(name, sc->mutter) && !*now)
		sc->gone = true;
	return 0;
}

int screencast_read_parameters(struct sd_bus_message *reply, int32_t *x, int32_t *y, int32_t *w, int32_t *h)
{
	const char *key;
	int ret;

	if (sd_bus_message_enter_container(reply, 'a', "{sv}") < 0)
		return -EPROTO;
	while ((ret = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		int32_t a, b;
		bool pos;

		if (sd_bus_message_read(reply, "s", &key) < 0)
			return -EPROTO;
		pos = !strcmp(key, "position");
		if ((pos || !strcmp(key, "size")) && sd_bus_message_read(reply, "v", "(ii)", &a, &b) >= 0) {
			if (pos)
				*x = a, *y = b;
			else if (a > 0 && b > 0)
				*w = a, *h = b;
		} else if (sd_bus_message_skip(reply, "v") < 0) {
			return -EPROTO;
		}
		if (sd_bus_message_exit_container(reply) < 0)
			return -EPROTO;
	}
	return ret < 0 ? -EPROTO : 0;
}

/* The stream's Parameters: its monitor's position and size, logical. */
static void read_parameters(struct screencast *sc)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;

	if (sd_bus_get_property(sc->bus, sc->mutter, sc->stream, SC_NAME ".Stream", "Parameters", &err,
				&reply, "a{sv}") >= 0 &&
	    screencast_read_parameters(reply, &sc->x, &sc->y, &sc->w, &sc->h) < 0)
		say(sc, MIRAGE_LOG_WARNING, "monitor %s: the stream's Parameters are not a{sv}", sc->connector);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Calls mutter's `method` (on path, interface iface, with the arguments
 * of `types`), which answers with the path of a new object: that in *out
 * (the caller frees it), with the signal `member` of `obj_iface` on it
 * handled by fn.  -EACCES, with what mutter said logged, when it refused.
 */
static int create_object(struct screencast *sc, const char *path, const char *iface, const char *method,
			 char **out, const char *obj_iface, const char *member, sd_bus_message_handler_t fn,
			 const char *types, ...)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *s;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = sd_bus_call_methodv(sc->bus, sc->mutter, path, iface, method, &err, &reply, types, ap);
	va_end(ap);
	if (ret >= 0)
		ret = sd_bus_message_read(reply, "o", &s);
	if (ret < 0) {
		LOG_ERROR(sc, "mutter refused %s for monitor %s: %s", method, sc->connector, why(&err, ret));
		ret = -EACCES;
		goto cleanup;
	}
	if (!(*out = strdup(s))) {
		LOG_ERROR(sc, "out of memory");
		ret = -ENOMEM;
		goto cleanup;
	}
	/* Matched before mutter can send it: the signals follow Start. */
	ret = sd_bus_match_signal(sc->bus, NULL, sc->mutter, *out, obj_iface, member, fn, sc);
	if (ret < 0)
		LOG_ERROR(sc, "cannot watch %s: %s", member, strerror(-ret));
cleanup:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	return ret;
}

static int on_monitors(sd_bus_message *m, void *data, sd_bus_error *err)
{
	struct screencast *sc = data;

	(void)m; (void)err;
	sc->monitors_changed = true;
	return 0;
}

/* Calls a method of a session that answers nothing: 0 or -EACCES, logged. */
static int call_session(struct screencast *sc, const char *path, const char *iface, const char *method)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int ret = sd_bus_call_method(sc->bus, sc->mutter, path, iface, method, &err, NULL, "");

	if (ret < 0) {
		LOG_ERROR(sc, "mutter refused %s for monitor %s: %s", method, sc->connector, why(&err, ret));
		ret = -EACCES;
	}
	sd_bus_error_free(&err);
	return ret;
}

/*
 * The sessions: with remote_desktop, a RemoteDesktop session first and
 * the ScreenCast one created with its SessionId (mutter links them, and
 * starting the RemoteDesktop session starts both).
 */
static int create_sessions(struct screencast *sc, const struct screencast_request *req)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	char *id = NULL;
	int ret;

	if (!req->remote_desktop)
		return create_object(sc, SC_PATH, SC_NAME, "CreateSession", &sc->session, SC_NAME ".Session",
				     "Closed", on_closed, "a{sv}", 0);
	ret = create_object(sc, RD_PATH, RD_NAME, "CreateSession", &sc->remote, RD_NAME ".Session", "Closed",
			    on_closed, "");
	if (ret < 0)
		return ret;
	ret = sd_bus_get_property_string(sc->bus, sc->mutter, sc->remote, RD_NAME ".Session", "SessionId", &err,
					 &id);
	if (ret < 0) {
		LOG_ERROR(sc, "mutter's remote desktop session has no SessionId: %s", why(&err, ret));
		ret = -EPROTO;
	} else {
		ret = create_object(sc, SC_PATH, SC_NAME, "CreateSession", &sc->session, SC_NAME ".Session",
				    "Closed", on_closed, "a{sv}", 1, "remote-desktop-session-id", "s", id);
	}
	free(id);
	sd_bus_error_free(&err);
	return ret;
}

int screencast_open(struct screencast *sc, const struct screencast_request *req)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *s;
	char match[256];
	uint64_t deadline;
	int ret;

	screencast_close(sc);
	ret = sd_bus_open_user(&sc->bus);
	if (ret < 0) {
		LOG_ERROR(sc, "cannot connect to the session bus: %s", strerror(-ret));
		return -ECONNREFUSED;
	}
	ret = sd_bus_call_method(sc->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
				 "GetNameOwner", &err, &reply, "s", SC_NAME);
	if (ret < 0 || sd_bus_message_read(reply, "s", &s) < 0) {
		LOG_ERROR(sc, "no " SC_NAME " on the session bus (mutter not running?)");
		ret = -ENOTSUP;
		goto cleanup;
	}
	if (!(sc->mutter = strdup(s))) {
		LOG_ERROR(sc, "out of memory");
		ret = -ENOMEM;
		goto cleanup;
	}
	reply = sd_bus_message_unref(reply);
	/* Watched before anything is asked, so that no departure is missed. */
	snprintf(match, sizeof(match), "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
		 "arg0='%s'", sc->mutter);
	if ((ret = sd_bus_add_match(sc->bus, NULL, match, on_owner, sc)) < 0 ||
	    (ret = sd_bus_match_signal(sc->bus, NULL, NULL, DC_PATH, DC_NAME, "MonitorsChanged", on_monitors,
				       sc)) < 0) {
		LOG_ERROR(sc, "cannot watch mutter on the session bus: %s", strerror(-ret));
		goto cleanup;
	}
	if (req->virtual_monitor)
		snprintf(sc->connector, sizeof(sc->connector), "%s", SCREENCAST_VIRTUAL_NAME);
	else if ((ret = pick_monitor(sc, req->connector)) < 0)
		goto cleanup;

	if ((ret = create_sessions(sc, req)) < 0)
		goto cleanup;
	if (req->virtual_monitor)
		ret = create_object(sc, sc->session, SC_NAME ".Session", "RecordVirtual", &sc->stream,
				    SC_NAME ".Stream", "PipeWireStreamAdded", on_node, "a{sv}", 1,
				    "cursor-mode", "u", (uint32_t)req->cursor);
	else
		ret = create_object(sc, sc->session, SC_NAME ".Session", "RecordMonitor", &sc->stream,
				    SC_NAME ".Stream", "PipeWireStreamAdded", on_node, "sa{sv}", sc->connector, 1,
				    "cursor-mode", "u", (uint32_t)req->cursor);
	if (ret < 0)
		goto cleanup;
	if (sc->remote)
		ret = call_session(sc, sc->remote, RD_NAME ".Session", "Start");
	else
		ret = call_session(sc, sc->session, SC_NAME ".Session", "Start");
	if (ret < 0)
		goto cleanup;
	deadline = now_us() + NODE_TIMEOUT_US;
	while (!sc->have_node && !sc->gone && !sc->closed) {
		uint64_t t = now_us();

		ret = sd_bus_process(sc->bus, NULL);
		if (ret < 0) {
			LOG_ERROR(sc, "the session bus failed: %s", strerror(-ret));
			ret = -EPIPE;
			goto cleanup;
		}
		if (ret > 0)
			continue;
		if (t >= deadline) {
			LOG_ERROR(sc, "mutter announced no PipeWire stream for monitor %s", sc->connector);
			ret = -ETIMEDOUT;
			goto cleanup;
		}
		(void)sd_bus_wait(sc->bus, deadline - t);
	}
	if (sc->gone || sc->closed) {
		LOG_ERROR(sc, "mutter closed the screen cast of monitor %s as it started", sc->connector);
		ret = -EPIPE;
		goto cleanup;
	}
	read_parameters(sc);
	sc->monitors_changed = false;
	ret = 0;
cleanup:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&err);
	return ret;
}

int screencast_fd(const struct screencast *sc)
{
	return sd_bus_get_fd(sc->bus);
}

int screencast_dispatch(struct screencast *sc)
{
	int ret;

	while ((ret = sd_bus_process(sc->bus, NULL)) > 0)
		;
	if (ret < 0)
		sc->gone = true;
	return sc->gone ? -EPIPE : 0;
}

void screencast_close(struct screencast *sc)
{
	bool quiet = sc->quiet;
	void (*log)(enum mirage_log_level, const char *) = sc->log;

	if (sc->bus) {
		/* Closing the connection ends the sessions; Stop says so first. */
		const char *path = sc->remote ? sc->remote : sc->session;
		const char *iface = sc->remote ? RD_NAME ".Session" : SC_NAME ".Session";

		if (path && !sc->gone && !sc->closed)
			(void)sd_bus_call_method_async(sc->bus, NULL, sc->mutter, path, iface, "Stop", NULL, NULL,
						       "");
		sd_bus_flush_close_unref(sc->bus);
	}
	free(sc->mutter);
	free(sc->session);
	free(sc->stream);
	free(sc->remote);
	memset(sc, 0, sizeof(*sc));
	sc->quiet = quiet;
	sc->log = log;
}
