/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc: a VNC server on a mirage mirror.
 *
 *   mirage-vnc --mirror NAME            serve an existing mirror
 *   mirage-vnc --display :N             serve a running X display (mirage-x11)
 *   mirage-vnc --wayland [wayland-N]    serve a running wlroots compositor,
 *                                       or GNOME where mutter is on the bus
 *   mirage-vnc --gnome                  serve a running GNOME session
 *   mirage-vnc --embedded [-- CMD ...]  a private headless Xorg, served
 *   mirage-vnc --embedded --wayland|--gnome [--user USER] [-- CMD ...]
 *                                       a private headless sway or mutter
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mirage/client.h>

#include "vnc.h"
#ifdef MIRAGE_VNC_GNOME
#include "screencast.h"
#endif

#ifndef MIRAGE_VNC_VERSION
#define MIRAGE_VNC_VERSION "0"
#endif
#define NOVNC_DIR "/usr/share/novnc"

/* The input backend's clipboard goes to every viewer. */
static void cut_text(void *data, const char *text, size_t len)
{
	vnc_server_cut_text(data, text, len);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --mirror NAME | --display :N | --wayland [wayland-N] | --gnome\n"
		"       | --embedded [--wayland | --gnome [--user USER]] [--geometry WxH]\n"
		"         [-- COMMAND ...]\n"
		"  --wayland [wayland-N]  serve a running Wayland compositor: GNOME's mutter\n"
		"                         when it is on the session bus, else a wlroots one\n"
		"  --gnome                serve a running GNOME session (mutter's ScreenCast\n"
		"                         and RemoteDesktop on the session bus)\n"
		"  --embedded             serve a private headless Xorg running COMMAND\n"
		"                         (default twm and xterm); with --wayland a private\n"
		"                         headless sway (default COMMAND foot); with --gnome a\n"
		"                         private session bus, pipewire and headless mutter\n"
		"                         (default COMMAND gtk3-demo)\n"
		"  --user USER            as root, run --embedded --wayland's sway (--gnome's\n"
		"                         mutter), COMMAND and mirage-wayland as USER\n"
		"  --geometry WxH         the embedded screen's size (default 1280x800)\n"
		"  --listen [ADDR:]PORT   where to listen (default 127.0.0.1:5900)\n"
		"  --http-port PORT       noVNC over HTTP (default: RFB port - 100; 0: off)\n"
		"  --http-dir DIR         files served over HTTP (default " NOVNC_DIR ")\n"
		"  --password-file FILE   VNC authentication with the password on its first line\n"
		"  --tls-cert FILE        TLS certificate (PEM): wss on the RFB port, HTTPS page\n"
		"  --tls-key FILE         its private key (PEM, unencrypted); both or neither\n"
		"  --insecure             allow a non-loopback address without a password\n"
		"  --view-only            ignore viewers' keyboard, pointer and clipboard\n"
		"  --max-fps N            at most N updates a second (default 60)\n"
		"  --monitor N            serve monitor N of the mirror only\n"
		"  --input-display :N     X display for input with --mirror\n"
		"  --set KEY=VALUE        change a mirror setting (e.g. Pointer.Enabled=1)\n"
		"  --no-attach            do not take the manager role\n"
		"  --ready-file FILE      write the RFB port to FILE once serving\n"
		"  -v, --verbose          more messages (twice: libvncserver's too)\n"
		"  --version, --help\n",
		VNC_PROG);
}

/* The server whose loop on_signal wakes (set while it exists). */
static struct vnc_server *volatile signal_server;
/* Set by SIGCHLD: tick looks at the children only then. */
static volatile sig_atomic_t child_news = 1;

/*
 * Runs in the main thread only (the others block these signals), where it
 * cuts the server loop's futex wait short: a stop request or a child's end
 * is seen at once, with no periodic wake-up.
 */
static void on_signal(int sig)
{
	int err = errno;

	if (sig != SIGCHLD)
		vnc_quit = 1;
	else
		child_news = 1;
	if (signal_server)
		vnc_server_wake(signal_server);
	errno = err;
}

static int parse_listen(struct vnc_options *o, const char *arg)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;

	if (colon) {
		size_t n = (size_t)(colon - arg);
		if (n >= sizeof(o->listen_addr))
			return -EINVAL;
		if (n > 0) {
			memcpy(o->listen_addr, arg, n);
			o->listen_addr[n] = '\0';
		}
		arg = colon + 1;
	}
	port = strtol(arg, &end, 10);
	if (*arg == '\0' || *end || port <= 0 || port > 65535)
		return -EINVAL;
	o->port = (int)port;
	return 0;
}

static int parse_int(const char *arg, int min, int max, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

struct children {
	struct vnc_embedded *embedded;
	struct vnc_wlembedded *wl;     /* --embedded --wayland: sway */
	struct vnc_gnembedded *gn;     /* --embedded --gnome: mutter and its pieces */
	struct vnc_driver *driver; /* mirage-x11 or mirage-wayland */
};

/* Called by the server loop before each wait, and after a signal. */
static int tick(void *data)
{
	struct children *ch = data;
	int ret;

	/* Cleared first: a child that ends during the look sets it again. */
	if (!child_news)
		return 0;
	child_news = 0;
	if (ch->embedded && (ret = vnc_embedded_check(ch->embedded)) < 0)
		return ret;
	if (ch->wl && (ret = vnc_wlembedded_check(ch->wl, 0)) < 0)
		return ret;
#ifdef MIRAGE_VNC_GNOME
	if (ch->gn && (ret = vnc_gnembedded_check(ch->gn, 0)) < 0)
		return ret;
#endif
	if (ch->driver && (ret = vnc_driver_check(ch->driver)) < 0) {
		/* mirage-wayland goes first when sway ends: sway's normal end
		 * then, given a moment; mutter's end is named likewise. */
		if (ch->wl && vnc_wlembedded_check(ch->wl, 1000) == -ECHILD)
			return -ECHILD;
#ifdef MIRAGE_VNC_GNOME
		if (ch->gn && vnc_gnembedded_check(ch->gn, 1000) == -ECHILD)
			return -ECHILD;
#endif
		return ret;
	}
	return 0;
}

static void announce(const struct vnc_options *o, const char *mirror, bool http)
{
	/* A wildcard address is not one a browser can connect to. */
	const char *host = strcmp(o->listen_addr, "0.0.0.0") ? o->listen_addr : "127.0.0.1";
	bool tls = o->tls_cert != NULL;
	struct in_addr addr;

	/* The password rule (server.c) has already refused a non-loopback
	 * address without a password or --insecure. */
	if (!tls && inet_pton(AF_INET, o->listen_addr, &addr) == 1 &&
	    (ntohl(addr.s_addr) >> 24) != 127)
		vnc_log("warning: %s is not a loopback address and the stream is unencrypted "
			"(--tls-cert/--tls-key for wss)", o->listen_addr);
	vnc_log("serving %s on %s:%d%s", mirror, o->listen_addr, o->port,
		tls ? " (RFB, ws and wss)" : "");
	/* noVNC 1.3 takes wss from encrypt=1 (and by default on an https page). */
	if (http)
		vnc_log("browser: %s://%s:%d/vnc.html?autoconnect=1&host=%s&port=%d&path=%s",
			tls && vnc_http_tls_supported() ? "https" : "http", host, o->http_port, host,
			o->port, tls ? "&encrypt=1" : "");
	if (o->ready_file) {
		FILE *f = fopen(o->ready_file, "we");
		if (f) {
			fprintf(f, "%d\n", o->port);
			fclose(f);
		}
	}
}

int main(int argc, char **argv)
{
	enum {
		OPT_MIRROR = 256, OPT_DISPLAY, OPT_EMBEDDED, OPT_GEOMETRY, OPT_LISTEN, OPT_HTTP_PORT,
		OPT_HTTP_DIR, OPT_PASSWORD, OPT_INSECURE, OPT_VIEW_ONLY, OPT_MAX_FPS, OPT_MONITOR,
		OPT_INPUT_DISPLAY, OPT_SET, OPT_NO_ATTACH, OPT_READY, OPT_VERSION, OPT_HELP,
		OPT_TLS_CERT, OPT_TLS_KEY, OPT_WAYLAND, OPT_GNOME, OPT_USER,
	};
	static const struct option longopts[] = {
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ "display", required_argument, NULL, OPT_DISPLAY },
		{ "wayland", optional_argument, NULL, OPT_WAYLAND },
		{ "gnome", no_argument, NULL, OPT_GNOME },
		{ "embedded", no_argument, NULL, OPT_EMBEDDED },
		{ "geometry", required_argument, NULL, OPT_GEOMETRY },
		{ "user", required_argument, NULL, OPT_USER },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "http-port", required_argument, NULL, OPT_HTTP_PORT },
		{ "http-dir", required_argument, NULL, OPT_HTTP_DIR },
		{ "password-file", required_argument, NULL, OPT_PASSWORD },
		{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ "view-only", no_argument, NULL, OPT_VIEW_ONLY },
		{ "max-fps", required_argument, NULL, OPT_MAX_FPS },
		{ "monitor", required_argument, NULL, OPT_MONITOR },
		{ "input-display", required_argument, NULL, OPT_INPUT_DISPLAY },
		{ "set", required_argument, NULL, OPT_SET },
		{ "no-attach", no_argument, NULL, OPT_NO_ATTACH },
		{ "ready-file", required_argument, NULL, OPT_READY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct vnc_options o = {
		.listen_addr = "127.0.0.1",
		.port = 5900,
		.http_port = -1,
		.max_fps = 60,
		.monitor = -1,
		.width = 1280,
		.height = 800,
	};
	struct children ch = { 0 };
	struct vnc_input *input = NULL;
	struct vnc_server *server = NULL;
	struct vnc_http *http = NULL;
	char settings[1024] = "";
	const char *input_display = NULL;
	const char *wayland = NULL;
	bool wayland_opt = false, gnome_opt = false, gnome = false;
	char connector[MIRAGE_MONITOR_NAME_MAX] = "";
	const struct vnc_input_impl *input_impl = &vnc_input_x11;
	int modes = 0, c, ret;

	while ((c = getopt_long(argc, argv, "+v", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MIRROR:
			o.mirror = optarg;
			modes++;
			break;
		case OPT_DISPLAY:
			o.display = optarg;
			modes++;
			break;
		case OPT_WAYLAND:
			/* An optional argument also as its own word (not an option). */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			/* Looked at once all options are in: with --embedded it
			 * takes none. */
			wayland = optarg;
			wayland_opt = true;
			break;
		case OPT_GNOME:
			gnome_opt = true;
			break;
		case OPT_USER:
			o.user = optarg;
			break;
		case OPT_EMBEDDED:
			o.embedded = true;
			modes++;
			break;
		case OPT_GEOMETRY:
			if (sscanf(optarg, "%dx%d", &o.width, &o.height) != 2 || o.width < 64 ||
			    o.height < 64 || o.width > 8192 || o.height > 8192) {
				vnc_log("--geometry %s: expected WxH between 64x64 and 8192x8192", optarg);
				return 2;
			}
			break;
		case OPT_LISTEN:
			if (parse_listen(&o, optarg) < 0) {
				vnc_log("--listen %s: expected [ADDR:]PORT", optarg);
				return 2;
			}
			break;
		case OPT_HTTP_PORT:
			if (parse_int(optarg, 0, 65535, &o.http_port) < 0) {
				vnc_log("--http-port %s: expected a port, or 0", optarg);
				return 2;
			}
			break;
		case OPT_HTTP_DIR:
			o.http_dir = optarg;
			break;
		case OPT_PASSWORD:
			o.password_file = optarg;
			break;
		case OPT_TLS_CERT:
			o.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o.tls_key = optarg;
			break;
		case OPT_INSECURE:
			o.insecure = true;
			break;
		case OPT_VIEW_ONLY:
			o.view_only = true;
			break;
		case OPT_MAX_FPS:
			if (parse_int(optarg, 1, 1000, &o.max_fps) < 0) {
				vnc_log("--max-fps %s: expected 1 to 1000", optarg);
				return 2;
			}
			break;
		case OPT_MONITOR:
			if (parse_int(optarg, 0, MIRAGE_MONITORS_MAX - 1, &o.monitor) < 0) {
				vnc_log("--monitor %s: expected 0 to %u", optarg, MIRAGE_MONITORS_MAX - 1);
				return 2;
			}
			break;
		case OPT_INPUT_DISPLAY:
			o.input_display = optarg;
			break;
		case OPT_SET:
			if (strlen(settings) + strlen(optarg) + 2 > sizeof(settings)) {
				vnc_log("--set: too many settings");
				return 2;
			}
			strcat(settings, optarg);
			strcat(settings, "\n");
			break;
		case OPT_NO_ATTACH:
			o.no_attach = true;
			break;
		case OPT_READY:
			o.ready_file = optarg;
			break;
		case 'v':
			vnc_verbose++;
			break;
		case OPT_VERSION:
			printf("%s %s\n", VNC_PROG, MIRAGE_VNC_VERSION);
			return 0;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (wayland_opt && gnome_opt) {
		vnc_log("give one of --wayland and --gnome");
		return 2;
	}
	if (wayland_opt && o.embedded) {
		if (wayland) {
			vnc_log("--embedded --wayland takes no display (its sway gets its own)");
			return 2;
		}
		o.embedded_wayland = true;
	} else if (gnome_opt && o.embedded) {
		o.embedded_gnome = true;
	} else if (gnome_opt) {
		gnome = true;
		modes++;
	} else if (wayland_opt) {
#ifdef MIRAGE_VNC_GNOME
		/* GNOME's compositor gives the screen only through ScreenCast. */
		gnome = screencast_present();
		if (gnome)
			vnc_debug("--wayland: mutter's ScreenCast is on the session bus: serving GNOME");
#endif
		if (!gnome && !wayland)
			wayland = getenv("WAYLAND_DISPLAY");
		if (!gnome && (!wayland || !*wayland)) {
			vnc_log("--wayland: no display given, WAYLAND_DISPLAY is not set and no GNOME "
				"session is on the session bus");
			return 2;
		}
		modes++;
	}
	if (o.user && !o.embedded_wayland && !o.embedded_gnome) {
		vnc_log("--user is only for --embedded --wayland and --embedded --gnome");
		return 2;
	}
	if (o.embedded_wayland || o.embedded_gnome) {
		/* sway and mutter refuse root: a root mirage-vnc must be told
		 * whom to run them as. */
		struct passwd *pw = o.user ? getpwnam(o.user) : NULL;
		const char *what = o.embedded_wayland ? "--embedded --wayland" : "--embedded --gnome";
		const char *who = o.embedded_wayland ? "sway" : "mutter";

		if (getuid() == 0 && !o.user) {
			vnc_log("%s as root needs --user USER (%s should not run as root)", what, who);
			return 2;
		}
		if (o.user && !pw) {
			vnc_log("--user %s: no such user", o.user);
			return 2;
		}
		if (o.user && pw->pw_uid == 0) {
			vnc_log("--user %s: %s should not run as root; give an ordinary user", o.user, who);
			return 2;
		}
		if (o.user && getuid() != 0 && pw->pw_uid != getuid()) {
			vnc_log("--user %s: only root may run the session as another user", o.user);
			return 2;
		}
		if (o.user && getuid() != 0)
			o.user = NULL; /* ourselves: nothing to change */
	}
	if (modes != 1) {
		vnc_log("give exactly one of --mirror NAME, --display :N, --wayland, --gnome, --embedded");
		usage(stderr);
		return 2;
	}
	if (optind < argc) {
		if (!o.embedded) {
			vnc_log("a command (after --) is only for --embedded");
			return 2;
		}
		o.command = argv + optind;
	}
	if (!o.tls_cert != !o.tls_key) {
		vnc_log("give both --tls-cert FILE and --tls-key FILE, or neither");
		return 2;
	}
	if (settings[0])
		o.set = settings;
	o.verbose = vnc_verbose;
	if (o.http_port < 0)
		o.http_port = o.port > 100 ? o.port - 100 : 0;
	if (!o.http_dir && access(NOVNC_DIR "/vnc.html", R_OK) == 0)
		o.http_dir = NOVNC_DIR;
	if (o.http_port > 0 && !o.http_dir)
		vnc_debug("no noVNC in " NOVNC_DIR ": no browser viewer");

	/* INT, TERM, HUP stop; a child's end (the session, the X server,
	 * mirage-x11) wakes the server loop to look at the children. */
	static const int handled[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t sigs;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&sigs);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		sa.sa_flags = handled[i] == SIGCHLD ? SA_RESTART | SA_NOCLDSTOP : 0;
		sigaction(handled[i], &sa, NULL);
		sigaddset(&sigs, handled[i]);
	}
	signal(SIGPIPE, SIG_IGN);

	/* Before anything starts: libvncserver reads the files only when a
	 * wss viewer connects, and would just drop it. */
	if (o.tls_cert && vnc_tls_check(o.tls_cert, o.tls_key) < 0)
		return 1;

	ret = 0;
	if (o.embedded_gnome || gnome) {
#ifdef MIRAGE_VNC_GNOME
		/* Its own mutter first, then served as a running one. */
		if (o.embedded_gnome)
			ret = vnc_gnembedded_start(&ch.gn, &o);
		if (ret >= 0)
			ret = vnc_gnome_start(&ch.driver, o.max_fps, &o.mirror, connector, sizeof(connector));
		if (ret >= 0) {
			input_display = connector;
			input_impl = &vnc_input_gnome;
		}
#else
		vnc_log("%s: this mirage-vnc was built without GNOME support (libsystemd)",
			o.embedded_gnome ? "--embedded --gnome" : gnome_opt ? "--gnome" : "--wayland");
		ret = -ENOTSUP;
#endif
	} else if (o.embedded_wayland || wayland) {
#ifdef MIRAGE_VNC_WAYLAND
		/* Its own sway first, then served as a running one. */
		if (o.embedded_wayland)
			ret = vnc_wlembedded_start(&ch.wl, &o, &wayland);
		if (ret >= 0) {
			input_display = wayland;
			input_impl = &vnc_input_wayland;
			ret = vnc_wayland_start(&ch.driver, wayland, o.max_fps, &o.mirror);
		}
#else
		vnc_log("%s: this mirage-vnc was built without Wayland support",
			o.embedded_wayland ? "--embedded --wayland" : "--wayland");
		ret = -ENOTSUP;
#endif
	} else if (o.embedded) {
		ret = vnc_embedded_start(&ch.embedded, &o, &input_display, &o.mirror);
	} else if (o.display) {
		input_display = o.display;
		ret = vnc_x11_start(&ch.driver, &o, &o.mirror);
	} else {
		input_display = o.input_display;
	}
	if (ret < 0)
		goto out;
	if (input_display && (ret = vnc_input_create(&input, input_impl, input_display)) < 0)
		goto out;

	/*
	 * The threads started from here on (libvncserver's, each viewer's,
	 * the clipboard's, HTTP's) block the signals, so they all come to
	 * the main thread: libvncserver drops a viewer whose select() a
	 * signal interrupts.  The children were started before, with none
	 * blocked.
	 */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	ret = vnc_server_create(&server, &o, input);
	if (ret >= 0 && input)
		ret = vnc_input_start(input, &(struct vnc_input_sink){ cut_text, server });
	if (ret >= 0 && o.http_port > 0 && o.http_dir)
		ret = vnc_http_create(&http, o.listen_addr, o.http_port, o.http_dir, o.port,
				      o.tls_cert, o.tls_key);
	if (ret >= 0)
		signal_server = server;
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	if (ret < 0)
		goto out;
	if (input_display)
		vnc_debug("input into %s", input_display);
	announce(&o, o.mirror, http != NULL);
	ret = vnc_server_run(server, tick, &ch);
	if (ret == -ECHILD)
		ret = 0; /* the session ended: a normal end for --embedded */
out:
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal_server = NULL;
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	/* The clipboard thread calls into the server, the viewers' threads
	 * into input: stop the one, then the other, then the children. */
	vnc_http_destroy(http);
	vnc_input_stop(input);
	vnc_server_destroy(server);
	vnc_input_destroy(input);
	vnc_driver_stop(ch.driver);
#ifdef MIRAGE_VNC_WAYLAND
	vnc_wlembedded_stop(ch.wl);
#endif
#ifdef MIRAGE_VNC_GNOME
	vnc_gnembedded_stop(ch.gn);
#endif
	vnc_embedded_stop(ch.embedded);
	return ret < 0 ? 1 : 0;
}
