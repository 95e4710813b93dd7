/* SPDX-License-Identifier: MIT */
/*
 * --embedded --gnome: a private GNOME session on Wayland, headless, served
 * as --gnome serves a running one.  What mutter needs around it is started
 * first, each piece once the one before answers:
 *
 *   dbus-daemon   a session bus of its own (xdg/bus); mirage-vnc's input
 *                 backend talks to mutter on it, so a root mirage-vnc is
 *                 let on it too (the bus allows only its own user else)
 *   pipewire      the streams mutter's ScreenCast delivers (xdg/pipewire-0)
 *   wireplumber   its session manager
 *   mutter        --headless --wayland --no-x11 with one virtual monitor
 *                 of --geometry; ready once org.gnome.Mutter.ScreenCast is
 *                 on the bus and its Wayland socket (xdg/wayland-0) is there
 *   the command   a GTK application on it (default gtk3-demo:
 *                 gtk3-widget-factory, the obvious choice, never stops
 *                 animating a progress bar, so its screen never settles)
 *
 * All of it runs as --user when given (mutter will not run as root), each
 * piece in a process group of its own with its log in the private
 * directory; mirage-vnc is their subreaper, so what they leave behind is
 * swept when it stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "screencast.h"
#include "vnc.h"

enum { P_BUS, P_PIPEWIRE, P_WIREPLUMBER, P_MUTTER, P_SESSION, P_COUNT };

static const char *const piece_names[P_COUNT] = {
	"dbus-daemon", "pipewire", "wireplumber", "mutter", "the session command",
};

struct vnc_gnembedded {
	char dir[64];
	char xdg[96];
	pid_t pid[P_COUNT]; /* each the leader of its own process group */
};

/* Whether path is a socket (a piece's sign of life). */
static bool is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Starts piece i (argv; env "K=V" more) with its log in dir/NAME.log. */
static int start_piece(struct vnc_gnembedded *g, int i, char *const argv[], char *const env[])
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.log", g->dir, i == P_SESSION ? "session" : piece_names[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	vnc_debug("starting %s (log %s)", argv[0], path);
	g->pid[i] = vnc_spawn(argv, env, fd, true);
	if (fd >= 0)
		close(fd);
	if (g->pid[i] < 0) {
		int ret = -errno;
		g->pid[i] = 0;
		vnc_log("fork: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/* Waits until piece i is ready (ready(g) true), 30 s at most; -errno
 * (logged with the piece's name) when it exits or never is. */
static int wait_piece(struct vnc_gnembedded *g, int i, bool (*ready)(struct vnc_gnembedded *g))
{
	for (int t = 0; t < 30000; t += 50) {
		int status;

		if (ready(g))
			return 0;
		if (waitpid(g->pid[i], &status, WNOHANG) != 0) {
			g->pid[i] = 0;
			vnc_log("--embedded --gnome: %s exited as it started; its log: %s/%s.log "
				"(MIRAGE_VNC_KEEP=1 keeps it)", piece_names[i], g->dir, piece_names[i]);
			return -ECHILD;
		}
		if (vnc_quit)
			return -EINTR;
		usleep(50 * 1000);
	}
	vnc_log("--embedded --gnome: %s was not ready within 30 s; its log: %s/%s.log", piece_names[i], g->dir,
		piece_names[i]);
	return -ETIMEDOUT;
}

static bool bus_ready(struct vnc_gnembedded *g)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus", g->xdg);
	return is_socket(path);
}

static bool pipewire_ready(struct vnc_gnembedded *g)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pipewire-0", g->xdg);
	return is_socket(path);
}

static bool mutter_ready(struct vnc_gnembedded *g)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/wayland-0", g->xdg);
	return is_socket(path) && screencast_present();
}

/* The bus's configuration: the session bus's, on our socket, with root let
 * on when the pieces run as another user. */
static int write_bus_config(struct vnc_gnembedded *g, const struct vnc_options *opt)
{
	char path[PATH_MAX], text[1024];
	int ret;

	snprintf(text, sizeof(text),
		 "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		 " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		 "<!-- written by mirage-vnc --embedded --gnome -->\n"
		 "<busconfig>\n"
		 "  <include>/usr/share/dbus-1/session.conf</include>\n"
		 "%s"
		 "</busconfig>\n",
		 opt->user ? "  <policy context=\"default\"><allow user=\"root\"/></policy>\n" : "");
	snprintf(path, sizeof(path), "%s/bus.conf", g->dir);
	if ((ret = vnc_write_file(path, text)) < 0)
		vnc_log("%s: %s", path, strerror(-ret));
	return ret;
}

static int check_programs(const struct vnc_options *opt)
{
	static const char *const needed[] = { "dbus-daemon", "pipewire", "wireplumber", "mutter" };

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!vnc_in_path(needed[i])) {
			vnc_log("--embedded --gnome: %s is not in PATH", needed[i]);
			return -ENOENT;
		}
	}
	if (!opt->command && !vnc_in_path("gtk3-demo")) {
		vnc_log("--embedded --gnome: gtk3-demo (the default session) is not in PATH; "
			"give a command after --");
		return -ENOENT;
	}
	return 0;
}

int vnc_gnembedded_start(struct vnc_gnembedded **out, const struct vnc_options *opt)
{
	struct vnc_gnembedded *g;
	char conf[PATH_MAX + 16], addr[PATH_MAX + 16], mirage[PATH_MAX], geometry[32];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int ret;

	if ((ret = check_programs(opt)) < 0)
		return ret;
	if (opt->user && (ret = vnc_children_user(opt->user, &uid, &gid)) < 0) {
		vnc_log("--user %s: %s", opt->user, ret == -ENOENT ? "no such user" : strerror(-ret));
		return ret;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	if ((ret = vnc_temp_dir(g->dir, sizeof(g->dir), "mirage-vnc-gn")) < 0) {
		free(g);
		return ret;
	}
	/* The session user passes through to its own directories and reads
	 * the bus's configuration; it may not add anything here. */
	if (chmod(g->dir, 0711) < 0) {
		ret = -errno;
		vnc_log("%s: %s", g->dir, strerror(errno));
		goto fail;
	}
	snprintf(g->xdg, sizeof(g->xdg), "%s/xdg", g->dir);
	snprintf(mirage, sizeof(mirage), "%s/mirage", g->dir);
	if ((ret = vnc_user_dir(g->xdg, opt, uid, gid)) < 0 || (ret = vnc_user_dir(mirage, opt, uid, gid)) < 0 ||
	    (ret = write_bus_config(g, opt)) < 0)
		goto fail;
	snprintf(addr, sizeof(addr), "unix:path=%s/bus", g->xdg);
	/* Ours too: the driver and the input backend find the session here. */
	setenv("XDG_RUNTIME_DIR", g->xdg, 1);
	setenv("MIRAGE_DIR", mirage, 1);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	unsetenv("DISPLAY");
	/* The pieces' own children leave their trees: they come back to us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		vnc_log("warning: PR_SET_CHILD_SUBREAPER: %s (the session may outlive us)", strerror(errno));

	snprintf(conf, sizeof(conf), "--config-file=%s/bus.conf", g->dir);
	snprintf(addr, sizeof(addr), "--address=unix:path=%s/bus", g->xdg);
	char *bus_argv[] = { (char *)"dbus-daemon", conf, addr, (char *)"--nofork", (char *)"--nopidfile", NULL };
	if ((ret = start_piece(g, P_BUS, bus_argv, NULL)) < 0 || (ret = wait_piece(g, P_BUS, bus_ready)) < 0)
		goto fail;
	char *pw_argv[] = { (char *)"pipewire", NULL };
	if ((ret = start_piece(g, P_PIPEWIRE, pw_argv, NULL)) < 0 ||
	    (ret = wait_piece(g, P_PIPEWIRE, pipewire_ready)) < 0)
		goto fail;
	char *wp_argv[] = { (char *)"wireplumber", NULL };
	if ((ret = start_piece(g, P_WIREPLUMBER, wp_argv, NULL)) < 0)
		goto fail;
	snprintf(geometry, sizeof(geometry), "%dx%d", opt->width, opt->height);
	char *mutter_argv[] = { (char *)"mutter", (char *)"--headless", (char *)"--wayland", (char *)"--no-x11",
				(char *)"--wayland-display", (char *)"wayland-0", (char *)"--virtual-monitor",
				geometry, NULL };
	/* No accessibility bus to look for (none on a private bus). */
	char *env[] = { (char *)"XDG_SESSION_TYPE=wayland", (char *)"NO_AT_BRIDGE=1", NULL };
	if ((ret = start_piece(g, P_MUTTER, mutter_argv, env)) < 0 ||
	    (ret = wait_piece(g, P_MUTTER, mutter_ready)) < 0)
		goto fail;
	char *const dflt[] = { (char *)"gtk3-demo", NULL };
	char *session_env[] = { (char *)"WAYLAND_DISPLAY=wayland-0", (char *)"XDG_SESSION_TYPE=wayland",
				(char *)"GDK_BACKEND=wayland", (char *)"NO_AT_BRIDGE=1", NULL };
	if ((ret = start_piece(g, P_SESSION, opt->command ? opt->command : dflt, session_env)) < 0)
		goto fail;
	vnc_log("mutter on %s: XDG_RUNTIME_DIR=%s MIRAGE_DIR=%s", geometry, g->xdg, mirage);
	*out = g;
	return 0;
fail:
	vnc_gnembedded_stop(g);
	return ret;
}

int vnc_gnembedded_check(struct vnc_gnembedded *g, int wait_ms)
{
	for (int t = 0;; t += 10) {
		for (int i = 0; i < P_COUNT; i++) {
			int status;

			if (g->pid[i] <= 0 || waitpid(g->pid[i], &status, WNOHANG) == 0)
				continue;
			g->pid[i] = 0;
			if (i == P_SESSION) {
				vnc_log("the session command has exited");
				return -ECHILD;
			}
			if (WIFEXITED(status))
				vnc_log("%s has exited with status %d", piece_names[i], WEXITSTATUS(status));
			else
				vnc_log("%s was killed by signal %d", piece_names[i], WTERMSIG(status));
			return -EPIPE;
		}
		if (t >= wait_ms)
			return 0;
		usleep(10 * 1000);
	}
}

void vnc_gnembedded_stop(struct vnc_gnembedded *g)
{
	if (!g)
		return;
	/* The application first, the bus last: each piece may still talk to
	 * the ones below it on its way out. */
	for (int i = P_COUNT - 1; i >= 0; i--)
		vnc_stop_pid(g->pid[i], true);
	vnc_sweep();
	vnc_remove_dir(g->dir);
	free(g);
}
