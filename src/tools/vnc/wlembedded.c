/* SPDX-License-Identifier: MIT */
/*
 * --embedded --wayland: a private headless sway (pixman renderer) with a
 * session in it, served as --wayland serves a running one.
 *
 * Everything lives in a private directory: sway.conf and session.sh
 * (root's, readable), xdg/ (sway's XDG_RUNTIME_DIR) and mirage/ (the
 * MIRAGE_DIR), both 0700 and the session user's.  mirage-vnc sets both
 * variables for itself: mirage-wayland (run as that user) publishes the
 * mirror there and mirage-vnc's client, root or that same user, reaches
 * it (producers accept their own uid and 0).
 *
 * sway starts its `exec` commands in a session of their own, outside
 * any process group we could signal: mirage-vnc is their subreaper, so
 * they all end up its children, and stopping sweeps them.
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

#include "vnc.h"

struct vnc_wlembedded {
	char dir[64];
	char xdg[96];
	char socket[64]; /* wayland-N, in xdg */
	pid_t sway;      /* leader of its own process group */
};

/* Appends s to buf single-quoted for sh; false when it does not fit. */
static bool sh_quote(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	if (n + 3 >= size)
		return false;
	buf[n++] = ' ';
	buf[n++] = '\'';
	for (; *s; s++) {
		const char *put = *s == '\'' ? "'\\''" : (char[]){ *s, 0 };
		size_t len = strlen(put);
		if (n + len + 2 >= size)
			return false;
		memcpy(buf + n, put, len);
		n += len;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return true;
}

/*
 * sway.conf and session.sh.  The session script says it has started (and
 * on which socket) before it becomes the command: sway runs `exec`
 * commands once its outputs are up, so that is when it can be served.
 */
static int write_config(struct vnc_wlembedded *w, const struct vnc_options *opt)
{
	char path[PATH_MAX], text[8192];
	char *const dflt[] = { (char *)"foot", NULL };
	char *const *cmd = opt->command ? opt->command : dflt;
	int ret;

	snprintf(text, sizeof(text),
		 "#!/bin/sh\n# written by mirage-vnc --embedded --wayland\n"
		 "printf '%%s\\n' \"$WAYLAND_DISPLAY\" > \"$XDG_RUNTIME_DIR/session-started\"\n"
		 "exec");
	for (size_t i = 0; cmd[i]; i++) {
		if (!sh_quote(text, sizeof(text) - 1, cmd[i])) {
			vnc_log("the session command is too long");
			return -E2BIG;
		}
	}
	strcat(text, "\n");
	snprintf(path, sizeof(path), "%s/session.sh", w->dir);
	if ((ret = vnc_write_file(path, text)) < 0)
		goto fail;
	snprintf(text, sizeof(text),
		 "# written by mirage-vnc --embedded --wayland\n"
		 "output HEADLESS-1 resolution %dx%d\n"
		 "xwayland disable\n"
		 "exec sh %s/session.sh\n",
		 opt->width, opt->height, w->dir);
	snprintf(path, sizeof(path), "%s/sway.conf", w->dir);
	if ((ret = vnc_write_file(path, text)) < 0)
		goto fail;
	return 0;
fail:
	vnc_log("%s: %s", path, strerror(-ret));
	return ret;
}

/* The session's first line in xdg/session-started: its socket's name. */
static int wait_session(struct vnc_wlembedded *w)
{
	char path[PATH_MAX], line[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/session-started", w->xdg);
	for (int t = 0; t < 20000; t += 50) {
		int status;
		if (waitpid(w->sway, &status, WNOHANG) != 0) {
			w->sway = 0;
			vnc_log("sway exited as it started; its log: %s/sway.log "
				"(MIRAGE_VNC_KEEP=1 keeps it)", w->dir);
			return -ECHILD;
		}
		if (vnc_quit)
			return -EINTR;
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t len = read(fd, line, sizeof(line) - 1);
			close(fd);
			line[len > 0 ? len : 0] = '\0';
			char *nl = strchr(line, '\n');
			if (nl) {
				*nl = '\0';
				snprintf(w->socket, sizeof(w->socket), "%s", line);
				snprintf(path, sizeof(path), "%s/%s", w->xdg, w->socket);
				if (strncmp(line, "wayland-", 8) || strchr(line, '/') ||
				    lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
					vnc_log("sway's session names no socket of sway's (\"%s\")", line);
					return -EPROTO;
				}
				return 0;
			}
		}
		usleep(50 * 1000);
	}
	vnc_log("sway did not start its session within 20 s; its log: %s/sway.log", w->dir);
	return -ETIMEDOUT;
}

int vnc_wlembedded_start(struct vnc_wlembedded **out, const struct vnc_options *opt,
			 const char **display)
{
	struct vnc_wlembedded *w;
	char conf[PATH_MAX], mirage[PATH_MAX], logpath[PATH_MAX];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int log_fd = -1, ret;

	if (!vnc_in_path("sway")) {
		vnc_log("--embedded --wayland: sway is not in PATH");
		return -ENOENT;
	}
	if (!opt->command && !vnc_in_path("foot")) {
		vnc_log("--embedded --wayland: foot (the default session) is not in PATH; "
			"give a command after --");
		return -ENOENT;
	}
	if (opt->user) {
		ret = vnc_children_user(opt->user, &uid, &gid);
		if (ret < 0) {
			vnc_log("--user %s: %s", opt->user,
				ret == -ENOENT ? "no such user" : strerror(-ret));
			return ret;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	if ((ret = vnc_temp_dir(w->dir, sizeof(w->dir), "mirage-vnc-wl")) < 0) {
		free(w);
		return ret;
	}
	/* The session user passes through to its own directories and reads
	 * the two files; it may not add any here. */
	if (chmod(w->dir, 0711) < 0) {
		ret = -errno;
		vnc_log("%s: %s", w->dir, strerror(errno));
		goto fail;
	}
	snprintf(w->xdg, sizeof(w->xdg), "%s/xdg", w->dir);
	snprintf(mirage, sizeof(mirage), "%s/mirage", w->dir);
	if ((ret = vnc_user_dir(w->xdg, opt, uid, gid)) < 0 || (ret = vnc_user_dir(mirage, opt, uid, gid)) < 0 ||
	    (ret = write_config(w, opt)) < 0)
		goto fail;
	setenv("XDG_RUNTIME_DIR", w->xdg, 1);
	setenv("MIRAGE_DIR", mirage, 1);
	/* The session's processes leave sway's tree: they come back to us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		vnc_log("warning: PR_SET_CHILD_SUBREAPER: %s (the session may outlive us)",
			strerror(errno));

	snprintf(conf, sizeof(conf), "%s/sway.conf", w->dir);
	snprintf(logpath, sizeof(logpath), "%s/sway.log", w->dir);
	log_fd = open(logpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	char *argv[] = { (char *)"sway", (char *)"-c", conf, (char *)"--unsupported-gpu", NULL };
	char *env[] = { (char *)"WLR_BACKENDS=headless", (char *)"WLR_RENDERER=pixman",
			(char *)"WLR_LIBINPUT_NO_DEVICES=1", NULL };
	vnc_debug("starting sway -c %s (XDG_RUNTIME_DIR=%s)", conf, w->xdg);
	w->sway = vnc_spawn(argv, env, log_fd, true);
	if (w->sway < 0) {
		ret = -errno;
		w->sway = 0;
		vnc_log("fork: %s", strerror(-ret));
		goto fail;
	}
	if ((ret = wait_session(w)) < 0)
		goto fail;
	close(log_fd);
	vnc_log("sway on %s: XDG_RUNTIME_DIR=%s MIRAGE_DIR=%s", w->socket, w->xdg, mirage);
	*display = w->socket;
	*out = w;
	return 0;
fail:
	if (log_fd >= 0)
		close(log_fd);
	vnc_wlembedded_stop(w);
	return ret;
}

int vnc_wlembedded_check(struct vnc_wlembedded *w, int wait_ms)
{
	int status = 0;
	pid_t r = 0;

	for (int t = 0; w->sway > 0; t += 10) {
		r = waitpid(w->sway, &status, WNOHANG);
		if (r != 0 || t >= wait_ms)
			break;
		usleep(10 * 1000);
	}
	if (w->sway <= 0 || r == 0)
		return w->sway > 0 ? 0 : -ECHILD;
	w->sway = 0;
	/* swaymsg exit is status 0; a stop request is a normal end too. */
	if (r < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
	    (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT ||
				     WTERMSIG(status) == SIGHUP))) {
		vnc_log("sway has exited");
		return -ECHILD;
	}
	if (WIFEXITED(status))
		vnc_log("sway has exited with status %d", WEXITSTATUS(status));
	else
		vnc_log("sway was killed by signal %d", WTERMSIG(status));
	return -EPIPE;
}

void vnc_wlembedded_stop(struct vnc_wlembedded *w)
{
	if (!w)
		return;
	vnc_stop_pid(w->sway, true);
	vnc_sweep();
	vnc_remove_dir(w->dir);
	free(w);
}
