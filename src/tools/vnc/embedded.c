/* SPDX-License-Identifier: MIT */
/*
 * --embedded: a private headless Xorg (dummy driver) with the mirage module
 * and a session in it; --display: mirage-x11 for a running display.
 *
 * Every process started here gets PR_SET_PDEATHSIG so that it dies with
 * mirage-vnc even when mirage-vnc is killed; the session runs in its own
 * process group so that stopping it stops what it started.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>

#include "vnc.h"

#ifndef MIRAGE_XORG_MODULEDIR
#define MIRAGE_XORG_MODULEDIR "/usr/local/lib/xorg/modules"
#endif

struct vnc_embedded {
	char dir[64];       /* private temp dir: xorg.conf, log, twmrc, bus */
	char display[16];
	char name[64];
	pid_t xorg;
	pid_t bus;          /* Xorg's private dbus-daemon, or 0 */
	char bus_addr[160];
	pid_t session;      /* leader of its own process group */
	pid_t wm;
};

struct vnc_driver {
	char name[64];     /* its mirror */
	char prog[32];     /* in messages */
	pid_t pid;         /* 0: a mirror that was there already */
};

/*
 * The user the children run as (--user), set once before the first
 * child starts; unset, they run as mirage-vnc does.
 */
static struct {
	bool set;
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[PATH_MAX];
} child_user;

int vnc_children_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno ? -errno : -ENOENT;
	if (strlen(pw->pw_name) >= sizeof(child_user.name) ||
	    strlen(pw->pw_dir) >= sizeof(child_user.home))
		return -ENAMETOOLONG;
	child_user.uid = pw->pw_uid;
	child_user.gid = pw->pw_gid;
	snprintf(child_user.name, sizeof(child_user.name), "%s", pw->pw_name);
	snprintf(child_user.home, sizeof(child_user.home), "%s", pw->pw_dir);
	child_user.set = true;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* In the child, before exec: the group first (setuid drops the right to). */
static int become_user(void)
{
	if (!child_user.set || (getuid() == child_user.uid && geteuid() == child_user.uid))
		return 0;
	if (setgid(child_user.gid) < 0 || initgroups(child_user.name, child_user.gid) < 0 ||
	    setuid(child_user.uid) < 0)
		return -errno;
	setenv("HOME", child_user.home, 1);
	setenv("USER", child_user.name, 1);
	setenv("LOGNAME", child_user.name, 1);
	return 0;
}

const char *vnc_exe_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0)
		return strcpy(dir, ".");
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dir;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_exec(const char *path)
{
	return access(path, X_OK) == 0;
}

bool vnc_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (is_exec(buf))
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/*
 * Forks and execs argv with stdout/stderr to log_fd (when >= 0) and
 * stdin from /dev/null; keep_fd stays open in the child.  display and bus,
 * when given, are its DISPLAY and DBUS_SYSTEM_BUS_ADDRESS; env ("K=V",
 * NULL-ended) more variables.  It runs as the --user when one is set.
 */
static pid_t spawn_env(char *const argv[], const char *display, const char *bus,
		       char *const env[], int log_fd, int keep_fd, bool group)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* Child: die with mirage-vnc even if it is killed outright. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (group)
		setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 0);
	if (log_fd >= 0) {
		dup2(log_fd, 1);
		dup2(log_fd, 2);
	}
	if (keep_fd >= 0)
		fcntl(keep_fd, F_SETFD, 0);
	if (display)
		setenv("DISPLAY", display, 1);
	if (bus)
		setenv("DBUS_SYSTEM_BUS_ADDRESS", bus, 1);
	unsetenv("WAYLAND_DISPLAY");
	for (size_t i = 0; env && env[i]; i++)
		putenv(env[i]);
	if (become_user() < 0) {
		fprintf(stderr, "%s: cannot run %s as %s: %s\n", VNC_PROG, argv[0],
			child_user.name, strerror(errno));
		_exit(127);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s: %s\n", VNC_PROG, argv[0], strerror(errno));
	_exit(127);
}

static pid_t spawn(char *const argv[], const char *display, const char *bus, int log_fd,
		   int keep_fd, bool group)
{
	return spawn_env(argv, display, bus, NULL, log_fd, keep_fd, group);
}

pid_t vnc_spawn(char *const argv[], char *const env[], int log_fd, bool group)
{
	return spawn_env(argv, NULL, NULL, env, log_fd, -1, group);
}

static bool alive(pid_t pid)
{
	int status;

	return pid > 0 && waitpid(pid, &status, WNOHANG) == 0;
}

void vnc_stop_pid(pid_t pid, bool group)
{
	if (pid <= 0)
		return;
	kill(group ? -pid : pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			goto reaped;
		usleep(20 * 1000);
	}
	kill(group ? -pid : pid, SIGKILL);
	waitpid(pid, NULL, 0);
reaped:
	if (group)
		kill(-pid, SIGKILL); /* what the session left behind */
}

int vnc_wait_mirror(const char *name, pid_t pid, int timeout_ms)
{
	struct mirage_client *c;

	for (int t = 0; t < timeout_ms; t += 50) {
		if (mirage_client_connect(&c, name) >= 0) {
			mirage_client_destroy(c);
			return 0;
		}
		if (pid > 0 && !alive(pid))
			return -ECHILD;
		if (vnc_quit)
			return -EINTR;
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

/* ------------------------------------------------------------------ */
/* --embedded                                                          */
/* ------------------------------------------------------------------ */

/* The module: the build tree's when we run from it, else the installed one. */
static void module_path(char *buf, size_t size)
{
	const char *env = getenv("MIRAGE_XORG_MODULE_PATH");
	char tree[PATH_MAX];

	snprintf(tree, sizeof(tree), "%s/../../drivers/xorg", vnc_exe_dir());
	if (env && *env)
		snprintf(buf, size, "%s,/usr/lib/xorg/modules", env);
	else if (is_dir(tree))
		snprintf(buf, size, "%s,/usr/lib/xorg/modules", tree);
	else
		snprintf(buf, size, "%s,/usr/lib/xorg/modules", MIRAGE_XORG_MODULEDIR);
}

int vnc_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0)
		return -errno;
	return 0;
}

int vnc_temp_dir(char *buf, size_t size, const char *prefix)
{
	snprintf(buf, size, "/tmp/%s-XXXXXX", prefix);
	if (!mkdtemp(buf)) {
		int ret = -errno;
		vnc_log("mkdtemp %s: %s", buf, strerror(errno));
		return ret;
	}
	return 0;
}

int vnc_user_dir(const char *path, const struct vnc_options *opt, uid_t uid, gid_t gid)
{
	if (mkdir(path, 0700) < 0 || (opt->user && chown(path, uid, gid) < 0)) {
		int ret = -errno;
		vnc_log("%s: %s", path, strerror(errno));
		return ret;
	}
	return 0;
}

/*
 * Removes what is below dirfd and closes it, never following a link:
 * the directories below are the session user's, who could have put one
 * there.
 */
static void remove_below(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			remove_below(sub);
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

/* The pids whose parent is us (orphans we adopted too), at most max. */
static size_t children(pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[300], buf[512];
	size_t n = 0;

	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		/* "pid (comm) state ppid": comm may hold anything, ')' too. */
		char *end = strrchr(buf, ')');
		int ppid;
		if (end && sscanf(end + 1, " %*c %d", &ppid) == 1 && ppid == getpid())
			out[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

void vnc_sweep(void)
{
	pid_t pids[256];

	for (int round = 0; round < 100; round++) {
		size_t n = children(pids, sizeof(pids) / sizeof(pids[0]));
		if (n == 0)
			return;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], round < 50 ? SIGTERM : SIGKILL);
		usleep(20 * 1000);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

void vnc_remove_dir(const char *dir)
{
	if (getenv("MIRAGE_VNC_KEEP"))
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		remove_below(fd);
	rmdir(dir);
}

/*
 * A 60 Hz modeline with ordinary blanking (Xorg rejects reduced blanking
 * unless the monitor claims it; the dummy shows nothing anyway).
 */
static void modeline(char *buf, size_t size, int w, int h)
{
	int ht = w + 320, vt = h + 40;
	double clock = (double)ht * vt * 60 / 1e6;

	snprintf(buf, size, "  Modeline \"%dx%d\" %.2f %d %d %d %d %d %d %d %d\n", w, h, clock,
		 w, w + 64, w + 192, ht, h, h + 3, h + 7, vt);
}

static int write_config(struct vnc_embedded *e, const struct vnc_options *opt)
{
	static const int extra[][2] = {
		{ 800, 600 }, { 1024, 768 }, { 1280, 720 }, { 1280, 800 }, { 1280, 1024 },
		{ 1600, 900 }, { 1920, 1080 },
	};
	char path[PATH_MAX], modes[2048], names[512], line[160];
	char conf[4096];
	int vw = opt->width, vh = opt->height;

	modeline(modes, sizeof(modes), opt->width, opt->height);
	snprintf(names, sizeof(names), "\"%dx%d\"", opt->width, opt->height);
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (extra[i][0] == opt->width && extra[i][1] == opt->height)
			continue;
		modeline(line, sizeof(line), extra[i][0], extra[i][1]);
		strncat(modes, line, sizeof(modes) - strlen(modes) - 1);
		snprintf(line, sizeof(line), " \"%dx%d\"", extra[i][0], extra[i][1]);
		strncat(names, line, sizeof(names) - strlen(names) - 1);
		if (extra[i][0] > vw)
			vw = extra[i][0];
		if (extra[i][1] > vh)
			vh = extra[i][1];
	}
	snprintf(conf, sizeof(conf),
		 "# written by mirage-vnc --embedded\n"
		 "Section \"ServerFlags\"\n"
		 "  Option \"AutoAddDevices\" \"false\"\n"
		 "  Option \"AutoEnableDevices\" \"false\"\n"
		 "  Option \"DontVTSwitch\" \"true\"\n"
		 "  Option \"BlankTime\" \"0\"\n"
		 "  Option \"StandbyTime\" \"0\"\n"
		 "  Option \"SuspendTime\" \"0\"\n"
		 "  Option \"OffTime\" \"0\"\n"
		 "EndSection\n"
		 "Section \"Module\"\n"
		 "  Load \"mirage\"\n"
		 "  SubSection \"mirage\"\n"
		 "    Option \"Name\" \"%s\"\n"
		 "    Option \"ScreenCursor\" \"off\"\n"
		 "    Option \"Cap.DfbBackingMode\" \"2\"\n"
		 "  EndSubSection\n"
		 "EndSection\n"
		 "Section \"Device\"\n"
		 "  Identifier \"dummy\"\n"
		 "  Driver \"dummy\"\n"
		 "  VideoRam %d\n"
		 "EndSection\n"
		 "Section \"Monitor\"\n"
		 "  Identifier \"monitor\"\n"
		 "  HorizSync 5.0-1000.0\n"
		 "  VertRefresh 5.0-200.0\n"
		 "  Option \"ReducedBlanking\"\n"
		 "%s"
		 "EndSection\n"
		 "Section \"Screen\"\n"
		 "  Identifier \"screen\"\n"
		 "  Device \"dummy\"\n"
		 "  Monitor \"monitor\"\n"
		 "  DefaultDepth 24\n"
		 "  SubSection \"Display\"\n"
		 "    Depth 24\n"
		 "    Modes %s\n"
		 "    Virtual %d %d\n"
		 "  EndSubSection\n"
		 "EndSection\n",
		 e->name, (vw * vh * 4 / 1024) + 4096, modes, names, vw, vh);
	snprintf(path, sizeof(path), "%s/xorg.conf", e->dir);
	return vnc_write_file(path, conf);
}

/*
 * The Xorg binary itself, never a wrapper: Debian's /usr/bin/Xorg runs the
 * set-user-ID Xorg.wrap when xserver-xorg-legacy is installed, and Xorg with
 * elevated privileges refuses -config with a path, -modulepath and
 * -logfile.  Run directly by an ordinary user, /usr/lib/xorg/Xorg is an
 * ordinary process (the dummy driver needs no device, no VT is opened) and
 * takes them all.  A set-user-ID Xorg (other systems) fails for an
 * ordinary user: say so instead of leaving a log to read.
 */
static int find_xorg(char *buf, size_t size)
{
	static const char *const bins[] = { "/usr/lib/xorg/Xorg", "/usr/libexec/Xorg" };
	struct stat st;

	snprintf(buf, size, "Xorg");
	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		if (is_exec(bins[i])) {
			snprintf(buf, size, "%s", bins[i]);
			break;
		}
	}
	if (getuid() != 0 && buf[0] == '/' && stat(buf, &st) == 0 &&
	    (st.st_mode & S_ISUID) && st.st_uid == 0) {
		vnc_log("%s is set-user-ID root: it refuses a private configuration from an "
			"ordinary user (run mirage-vnc as root, or use --display on Xvfb)", buf);
		return -EPERM;
	}
	return 0;
}

/*
 * Reads the first line a child writes to fd (Xorg's display number on
 * -displayfd, dbus-daemon's address on --print-address), without its
 * newline, waiting up to timeout_ms.
 */
static int read_line(int fd, pid_t child, char *out, size_t size, int timeout_ms)
{
	size_t len = 0;

	for (int t = 0; t < timeout_ms; t += 100) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 100);

		if (r > 0) {
			ssize_t n = read(fd, out + len, size - 1 - len);
			if (n <= 0)
				return -EPIPE;
			len += (size_t)n;
			out[len] = '\0';
			char *nl = strchr(out, '\n');
			if (nl) {
				*nl = '\0';
				return 0;
			}
			if (len == size - 1)
				return -EOVERFLOW;
		}
		if (!alive(child))
			return -ECHILD;
		if (vnc_quit)
			return -EINTR;
	}
	return -ETIMEDOUT;
}

/*
 * A message bus of Xorg's own.  Xorg connects to the system bus as it
 * starts (for systemd-logind) and, where there is none (a container, a CI
 * machine), tries again every 10 s for as long as it runs: a wake-up and a
 * line in its log each time, the only thing an idle mirrored display
 * would do.  Where there is one, a headless server has no business on it
 * either.  On a bus of its own Xorg connects once, finds no logind, and
 * the bus stays silent.  Without dbus-daemon Xorg goes without.
 */
static void start_bus(struct vnc_embedded *e, int log_fd)
{
	char conf[PATH_MAX], text[PATH_MAX + 512], conf_arg[PATH_MAX + 16], fd_arg[32];
	int pfd[2], ret;

	if (!vnc_in_path("dbus-daemon")) {
		vnc_debug("no dbus-daemon: Xorg goes without a message bus");
		return;
	}
	snprintf(conf, sizeof(conf), "%s/bus.conf", e->dir);
	snprintf(text, sizeof(text),
		 "<busconfig>\n"
		 "  <type>mirage-vnc</type>\n"
		 "  <listen>unix:path=%s/bus</listen>\n"
		 "  <auth>EXTERNAL</auth>\n"
		 "  <policy context=\"default\">\n"
		 "    <allow send_destination=\"*\"/>\n"
		 "    <allow receive_sender=\"*\"/>\n"
		 "    <allow own=\"*\"/>\n"
		 "  </policy>\n"
		 "</busconfig>\n",
		 e->dir);
	if (vnc_write_file(conf, text) < 0 || pipe2(pfd, O_CLOEXEC) < 0)
		return;
	snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf);
	snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", pfd[1]);
	char *argv[] = { (char *)"dbus-daemon", conf_arg, (char *)"--nofork", (char *)"--nopidfile",
			 fd_arg, NULL };
	/* A process group of its own, as Xorg's: it goes after Xorg. */
	e->bus = spawn(argv, NULL, NULL, log_fd, pfd[1], true);
	ret = e->bus < 0 ? -errno : 0;
	close(pfd[1]);
	if (ret == 0)
		ret = read_line(pfd[0], e->bus, e->bus_addr, sizeof(e->bus_addr), 5000);
	close(pfd[0]);
	if (ret < 0) {
		const char *why = ret == -ETIMEDOUT ? "timeout" :
				  ret == -EPIPE || ret == -ECHILD ? "it exited" : strerror(-ret);

		vnc_log("dbus-daemon did not start (%s): Xorg goes without a message bus", why);
		vnc_stop_pid(e->bus, false);
		e->bus = 0;
		e->bus_addr[0] = '\0';
		return;
	}
	vnc_debug("Xorg's message bus: %s", e->bus_addr);
}

static void log_tail(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "(EE)") && !strstr(line, "dbus") && !strstr(line, "mouse") &&
		    !strstr(line, "kbd") && !strstr(line, "libinput") && !strstr(line, "(EE) warning"))
			fprintf(stderr, "%s: Xorg: %s", VNC_PROG, line);
	fclose(f);
}

int vnc_embedded_start(struct vnc_embedded **out, const struct vnc_options *opt,
		       const char **display, const char **mirror)
{
	struct vnc_embedded *e;
	char conf[PATH_MAX], logpath[PATH_MAX], modpath[PATH_MAX * 2], twmrc[PATH_MAX];
	char xorg_bin[PATH_MAX];
	int pfd[2] = { -1, -1 }, log_fd = -1, ret;

	ret = find_xorg(xorg_bin, sizeof(xorg_bin));
	if (ret < 0)
		return ret;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if ((ret = vnc_temp_dir(e->dir, sizeof(e->dir), "mirage-vnc")) < 0) {
		free(e);
		return ret;
	}
	snprintf(e->name, sizeof(e->name), "vnc-embedded-%d", (int)getpid());
	ret = write_config(e, opt);
	if (ret < 0) {
		vnc_log("%s/xorg.conf: %s", e->dir, strerror(-ret));
		goto fail;
	}
	snprintf(conf, sizeof(conf), "%s/xorg.conf", e->dir);
	snprintf(logpath, sizeof(logpath), "%s/Xorg.log", e->dir);
	module_path(modpath, sizeof(modpath));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		ret = -errno;
		goto fail;
	}
	log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	start_bus(e, log_fd);

	char fdstr[16];
	snprintf(fdstr, sizeof(fdstr), "%d", pfd[1]);
	char *xargv[] = {
		xorg_bin, (char *)"-displayfd", fdstr, (char *)"-config", conf,
		(char *)"-modulepath", modpath, (char *)"-noreset", (char *)"-nolisten",
		(char *)"tcp", (char *)"-logfile", logpath, (char *)"-novtswitch",
		(char *)"-quiet", NULL,
	};
	vnc_debug("starting %s -config %s -modulepath %s", xorg_bin, conf, modpath);
	/* In a process group of its own, like the session: a Ctrl-C in the
	 * terminal reaches mirage-vnc alone, which stops the session, then
	 * Xorg, and removes the directory.  In mirage-vnc's group, Xorg got
	 * the Ctrl-C too and went away under the session and under
	 * mirage-vnc's own X connections. */
	e->xorg = spawn(xargv, NULL, e->bus_addr[0] ? e->bus_addr : NULL, log_fd, pfd[1], true);
	close(pfd[1]);
	pfd[1] = -1;
	if (e->xorg < 0) {
		ret = -errno;
		vnc_log("fork: %s", strerror(errno));
		goto fail;
	}
	char num[16];
	ret = read_line(pfd[0], e->xorg, num, sizeof(num), 20000);
	if (ret == 0)
		snprintf(e->display, sizeof(e->display), ":%d", atoi(num));
	if (ret < 0) {
		vnc_log("Xorg did not start (%s); its log: %s",
			ret == -ETIMEDOUT ? "timeout" : "exited", logpath);
		log_tail(logpath);
		goto fail;
	}
	ret = vnc_wait_mirror(e->name, e->xorg, 10000);
	if (ret < 0) {
		vnc_log("Xorg on %s has no mirror \"%s\" (is the mirage module in %s?); its log: %s",
			e->display, e->name, modpath, logpath);
		log_tail(logpath);
		goto fail;
	}

	if (opt->command) {
		e->session = spawn(opt->command, e->display, NULL, -1, -1, true);
	} else {
		/*
		 * A window manager that places windows without asking, and an
		 * xterm.  twm's default fonts (Helvetica) are in no package we
		 * need, and without them it exits at once: "fixed" is built
		 * into every X server.  xterm, in a UTF-8 locale, first asks
		 * for the ISO 10646 font of its default name, which only a
		 * font package has, and says so on stderr; it then draws in
		 * "fixed" anyway, so it is told that one.
		 */
		if (vnc_in_path("twm")) {
			snprintf(twmrc, sizeof(twmrc), "%s/twmrc", e->dir);
			if (vnc_write_file(twmrc, "TitleFont \"fixed\"\nResizeFont \"fixed\"\n"
					      "MenuFont \"fixed\"\nIconFont \"fixed\"\n"
					      "IconManagerFont \"fixed\"\n"
					      "RandomPlacement\nUsePPosition \"on\"\nNoGrabServer\n"
					      "DecorateTransients\nOpaqueMove\n") == 0) {
				char *wargv[] = { (char *)"twm", (char *)"-f", twmrc, NULL };
				e->wm = spawn(wargv, e->display, NULL, log_fd, -1, true);
			}
		}
		char *targv[] = { (char *)"xterm", (char *)"-fn", (char *)"fixed", (char *)"-geometry",
				  (char *)"80x24+40+40", NULL };
		e->session = spawn(targv, e->display, NULL, -1, -1, true);
	}
	if (e->session < 0) {
		ret = -errno;
		vnc_log("fork: %s", strerror(errno));
		goto fail;
	}
	close(pfd[0]);
	if (log_fd >= 0)
		close(log_fd);
	*display = e->display;
	*mirror = e->name;
	*out = e;
	return 0;
fail:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (log_fd >= 0)
		close(log_fd);
	vnc_embedded_stop(e);
	return ret;
}

int vnc_embedded_check(struct vnc_embedded *e)
{
	bool session_over = !alive(e->session);

	if (session_over) {
		/* A session often ends because Xorg did (its X connection
		 * broke) while Xorg is still on its way out: not a normal end
		 * then.  A moment tells. */
		e->session = 0;
		for (int i = 0; i < 20 && alive(e->xorg); i++)
			usleep(10 * 1000);
	}
	if (!alive(e->xorg)) {
		/* A failure, unlike the session's end. */
		e->xorg = 0;
		vnc_log("Xorg on %s has exited", e->display);
		return -EPIPE;
	}
	if (session_over) {
		vnc_debug("the session has ended");
		return -ECHILD;
	}
	if (e->wm > 0 && !alive(e->wm)) {
		/* Reaped; the session goes on without window frames. */
		e->wm = 0;
		vnc_log("the window manager (twm) has exited; windows are left unmanaged");
	}
	return 0;
}

void vnc_embedded_stop(struct vnc_embedded *e)
{
	char path[PATH_MAX];

	if (!e)
		return;
	vnc_stop_pid(e->session, true);
	vnc_stop_pid(e->wm, true);
	vnc_stop_pid(e->xorg, false);
	vnc_stop_pid(e->bus, false);
	/* Keep the directory (with Xorg's log) only when asked to debug. */
	if (!getenv("MIRAGE_VNC_KEEP")) {
		const char *files[] = { "xorg.conf", "Xorg.log", "Xorg.log.old", "twmrc",
					"bus.conf", "bus" };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", e->dir, files[i]);
			unlink(path);
		}
		rmdir(e->dir);
	}
	free(e);
}

/* ------------------------------------------------------------------ */
/* --display                                                           */
/* ------------------------------------------------------------------ */

static bool mirror_exists(const char *name)
{
	struct mirage_client *c;

	if (mirage_client_connect(&c, name) < 0)
		return false;
	mirage_client_destroy(c);
	return true;
}

int vnc_driver_start(struct vnc_driver **out, const char *tree, const char *prog,
		     const char *const args[], const char *name, const char *target)
{
	struct vnc_driver *d;
	char bin[PATH_MAX];
	const char *argv[16];
	size_t n = 0;
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->prog, sizeof(d->prog), "%s", prog);
	/* A mirror already published (a driver running) is served as it is. */
	if (mirror_exists(d->name))
		goto done;
	/* The build tree's when we run from it, else the one in $PATH. */
	snprintf(bin, sizeof(bin), "%s/../../%s/%s", vnc_exe_dir(), tree, prog);
	if (!is_exec(bin))
		snprintf(bin, sizeof(bin), "%s", prog);
	argv[n++] = bin;
	for (size_t i = 0; args[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	d->pid = spawn((char *const *)argv, NULL, NULL, -1, -1, false);
	if (d->pid < 0) {
		ret = -errno;
		free(d);
		return ret;
	}
	ret = vnc_wait_mirror(d->name, d->pid, 10000);
	if (ret < 0) {
		vnc_log("%s for %s did not start (%s)", prog, target,
			ret == -ECHILD ? "it exited" : "timeout");
		vnc_driver_stop(d);
		return ret;
	}
done:
	*out = d;
	return 0;
}

const char *vnc_driver_mirror(const struct vnc_driver *d)
{
	return d->name;
}

int vnc_x11_start(struct vnc_driver **out, const struct vnc_options *opt, const char **mirror)
{
	const char *num = strchr(opt->display, ':');
	char xorg_name[64], name[64];
	int n = num ? atoi(num + 1) : 0;
	int ret;

	/* The Xorg module's mirror, when the display has one, else mirage-x11's. */
	snprintf(xorg_name, sizeof(xorg_name), "xorg-%d", n);
	if (mirror_exists(xorg_name))
		snprintf(name, sizeof(name), "%s", xorg_name);
	else
		snprintf(name, sizeof(name), "x11-%d", n);
	const char *args[] = { "--display", opt->display, "--name", name, NULL };
	ret = vnc_driver_start(out, "drivers/x11", "mirage-x11", args, name, opt->display);
	if (ret < 0)
		return ret;
	*mirror = vnc_driver_mirror(*out);
	return 0;
}

/*
 * A driver ends with status 0 only when told to (a signal); losing its
 * desktop, or any failure, is status 1, and so is a kill: both end
 * mirage-vnc with status 1.
 */
int vnc_driver_check(struct vnc_driver *d)
{
	int status = 0;
	pid_t r;

	if (d->pid <= 0 || (r = waitpid(d->pid, &status, WNOHANG)) == 0)
		return 0;
	d->pid = 0;
	if (r < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		vnc_log("%s has exited", d->prog);
		return -ECHILD;
	}
	if (WIFEXITED(status))
		vnc_log("%s has exited with status %d", d->prog, WEXITSTATUS(status));
	else
		vnc_log("%s was killed by signal %d", d->prog, WTERMSIG(status));
	return -EPIPE;
}

void vnc_driver_stop(struct vnc_driver *d)
{
	if (!d)
		return;
	vnc_stop_pid(d->pid, false);
	free(d);
}
