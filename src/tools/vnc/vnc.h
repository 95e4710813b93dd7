/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc internals: the RFB side (server.c), input and clipboard
 * behind a backend table (input.h; X11 in xinput.c) and the private X
 * server of --embedded (embedded.c).
 *
 * Threads: the main thread owns the mirage client and is the only writer of
 * the framebuffer; one network thread accepts viewers and reads what they
 * send (libvncserver in its non-threaded mode); an update is written by the
 * main or the network thread when the viewer's socket takes it whole, else
 * by a sender thread of the viewer's own, so a stalled viewer blocks only
 * itself (viewers.c; the server's rooms are listed in server.h).  An
 * input backend may run one thread (xinput.c's: X events, the clipboard);
 * http.c one listener thread and one thread per HTTP connection.  Input callbacks arrive on the network thread and go to the
 * backend (the X one takes its connection's lock).
 */
#ifndef MIRAGE_VNC_H
#define MIRAGE_VNC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "input.h"
#include "log.h"

/* Everything the command line sets. */
struct vnc_options {
	const char *mirror;        /* --mirror NAME */
	const char *display;       /* --display :N, or the embedded server's */
	const char *input_display; /* --input-display :N for --mirror */
	bool embedded;
	bool embedded_wayland;     /* --embedded --wayland: a private sway */
	bool embedded_gnome;       /* --embedded --gnome: a private headless mutter */
	const char *user;          /* --user: whom that sway or mutter runs as */
	int width, height;         /* --geometry */
	char **command;            /* after "--" for --embedded (NULL: default) */
	char listen_addr[64];      /* dotted IPv4, default 127.0.0.1 */
	int port;                  /* RFB port, default 5900 */
	int http_port;             /* -1 default (port - 100), 0 off */
	const char *http_dir;      /* noVNC files */
	const char *password_file;
	const char *tls_cert;      /* --tls-cert FILE (PEM), with tls_key or neither */
	const char *tls_key;       /* --tls-key FILE (PEM, unencrypted) */
	bool insecure;
	bool view_only;
	bool no_attach;            /* --no-attach: do not take the manager role */
	int max_fps;               /* pacing: 1000 / max_fps ms between flushes */
	int monitor;               /* --monitor N, -1 for the whole surface */
	const char *set;           /* --set settings passed to the mirror */
	int verbose;
	const char *ready_file;    /* --ready-file: written once serving */
};

/* ------------------------------------------------------------------ */
/* server.c: the mirror followed into an RFB screen                    */
/* ------------------------------------------------------------------ */

struct vnc_server;
struct vnc_input;

/* Connects to the mirror, opens the RFB (and HTTP) listeners. */
int vnc_server_create(struct vnc_server **out, const struct vnc_options *opt,
		      struct vnc_input *input);
/* Follows the mirror until vnc_quit or a fatal error; 0 or -errno. */
int vnc_server_run(struct vnc_server *s, int (*tick)(void *data), void *data);
/* Makes the loop look at vnc_quit and tick now; async-signal-safe. */
void vnc_server_wake(struct vnc_server *s);
void vnc_server_destroy(struct vnc_server *s);
/* Sends cut text (UTF-8) to every viewer; called from the input
 * backend's thread (its sink, input.h). */
void vnc_server_cut_text(struct vnc_server *s, const char *text, size_t len);
/* Surface origin of what is served (the monitor's top-left). */
void vnc_server_origin(const struct vnc_server *s, int *x, int *y);

/* ------------------------------------------------------------------ */
/* http.c: the noVNC files over HTTP or HTTPS                          */
/* ------------------------------------------------------------------ */

struct vnc_http;

/* True when http.c was built with GnuTLS and can serve HTTPS. */
bool vnc_http_tls_supported(void);

/*
 * Loads the certificate and key (PEM) once to check that they make a
 * pair, then forgets them; 0 or -errno (a one-line message logged).
 * Without GnuTLS only checks that both files can be read.
 */
int vnc_tls_check(const char *cert, const char *key) __attribute__((warn_unused_result));

/*
 * Serves the files below root (GET, HEAD) on addr:port from a thread of
 * its own; "/" redirects to noVNC connecting to rfb_port.  With cert and
 * key (both or neither; read at once, needed only during the call) and
 * GnuTLS, every connection is HTTPS and "/" asks noVNC for wss.  0 or
 * -errno (a one-line message logged).
 */
int vnc_http_create(struct vnc_http **out, const char *addr, int port, const char *root,
		    int rfb_port, const char *cert, const char *key)
	__attribute__((warn_unused_result));
/* Stops listening and waits (at most 2 s) for the open connections. */
void vnc_http_destroy(struct vnc_http *h);

/* ------------------------------------------------------------------ */
/* embedded.c: a private headless Xorg with the mirage module           */
/* ------------------------------------------------------------------ */

struct vnc_embedded;

/*
 * Starts Xorg (dummy driver, mirage module) and the session command.
 * Sets *display (":N") and *mirror (the mirror's name), owned by e.
 */
int vnc_embedded_start(struct vnc_embedded **out, const struct vnc_options *opt,
		       const char **display, const char **mirror);
/* 0 while everything runs; -ECHILD once the session has ended (a normal
 * end), -EPIPE once Xorg has (a failure). */
int vnc_embedded_check(struct vnc_embedded *e);
void vnc_embedded_stop(struct vnc_embedded *e);

/* A mirror driver run as a child (mirage-x11, mirage-wayland): tree is
 * its folder in the build tree ("drivers/x11"), args its arguments
 * (NULL-ended), name the mirror it publishes, target in messages.  A
 * mirror already published is served as it is. */
struct vnc_driver;
int vnc_driver_start(struct vnc_driver **out, const char *tree, const char *prog,
		     const char *const args[], const char *name, const char *target)
	__attribute__((warn_unused_result));
const char *vnc_driver_mirror(const struct vnc_driver *d);
/* 0 while it runs; once it has ended (logged): -ECHILD after its normal
 * end, -EPIPE after a failure (its desktop gone, a kill). */
int vnc_driver_check(struct vnc_driver *d);
void vnc_driver_stop(struct vnc_driver *d);

/* --display: mirage-x11 (or the Xorg module's mirror) for a running display. */
int vnc_x11_start(struct vnc_driver **out, const struct vnc_options *opt, const char **mirror)
	__attribute__((warn_unused_result));
/* --wayland: mirage-wayland for a running compositor's first output
 * (wayland.c), capturing at most max_fps frames a second (the pacing of
 * the viewers: more would be read and compared for nobody); *mirror is
 * "wl-OUTPUT". */
int vnc_wayland_start(struct vnc_driver **out, const char *display, int max_fps,
		      const char **mirror)
	__attribute__((warn_unused_result));
/* --gnome (or --wayland on GNOME): mirage-wayland's GNOME backend for a
 * running mutter's first monitor (gnome.c), whose connector it puts in
 * connector (for the input backend); *mirror is "gnome-CONNECTOR". */
int vnc_gnome_start(struct vnc_driver **out, int max_fps, const char **mirror, char *connector,
		    size_t size) __attribute__((warn_unused_result));
/* Helpers shared by embedded.c's two starters, wlembedded.c and gnembedded.c. */
int vnc_wait_mirror(const char *name, pid_t pid, int timeout_ms);
const char *vnc_exe_dir(void);
bool vnc_in_path(const char *prog);
int vnc_write_file(const char *path, const char *text) __attribute__((warn_unused_result));
/* A new directory /tmp/PREFIX-XXXXXX (mode 0700) into buf; 0 or -errno
 * (logged). */
int vnc_temp_dir(char *buf, size_t size, const char *prefix) __attribute__((warn_unused_result));
/* Every child started from then on (the drivers too) runs as user
 * (setgid, initgroups, setuid, HOME/USER/LOGNAME from its passwd entry);
 * its ids into *uid, *gid; 0, or -ENOENT for no such user. */
int vnc_children_user(const char *user, uid_t *uid, gid_t *gid)
	__attribute__((warn_unused_result));
/* A directory of the session user's (the --user's, else ours), 0700; 0
 * or -errno (logged). */
int vnc_user_dir(const char *path, const struct vnc_options *opt, uid_t uid, gid_t gid)
	__attribute__((warn_unused_result));
/* Removes dir and what is below it, never following a link (the session
 * user could have put one there); kept with MIRAGE_VNC_KEEP set. */
void vnc_remove_dir(const char *dir);
/* SIGTERM to every child of ours (each one's orphans come to us in turn,
 * as their subreaper), SIGKILL after a second; reaps them all. */
void vnc_sweep(void);
/* Forks and execs argv (stdin /dev/null, stdout/stderr to log_fd when
 * >= 0, env "K=V" NULL-ended added), dying with mirage-vnc; group: a
 * process group of its own.  The pid, or -1 (errno). */
pid_t vnc_spawn(char *const argv[], char *const env[], int log_fd, bool group);
/* SIGTERM (to its group), a grace period, then SIGKILL; reaps. */
void vnc_stop_pid(pid_t pid, bool group);

/* ------------------------------------------------------------------ */
/* wlembedded.c: --embedded --wayland, a private headless sway          */
/* ------------------------------------------------------------------ */

struct vnc_wlembedded;

/*
 * Starts sway (headless, pixman) in a private directory with its own
 * XDG_RUNTIME_DIR and MIRAGE_DIR (both set in mirage-vnc's environment
 * too, for the driver and the input backend) and the session command in
 * it, as opt->user when given.  Sets *display (the socket's name, owned
 * by w) once the session has started.  0 or -errno (logged).
 */
int vnc_wlembedded_start(struct vnc_wlembedded **out, const struct vnc_options *opt,
			 const char **display) __attribute__((warn_unused_result));
/* 0 while sway runs; -ECHILD once it has ended normally, -EPIPE after a
 * crash.  wait_ms: how long to give a sway on its way out. */
int vnc_wlembedded_check(struct vnc_wlembedded *w, int wait_ms);
/* Stops sway and every process the session left (all of them
 * mirage-vnc's children, as their subreaper), removes the directory. */
void vnc_wlembedded_stop(struct vnc_wlembedded *w);

/* close.c: makes closing a viewer safe while its sender thread may be
 * writing (server.c); from the newClientHook, for every viewer.  0 or
 * -errno. */
struct _rfbClientRec;
int vnc_close_guard(struct _rfbClientRec *cl);

/* ------------------------------------------------------------------ */
/* gnembedded.c: --embedded --gnome, a private headless mutter          */
/* ------------------------------------------------------------------ */

struct vnc_gnembedded;

/*
 * Starts a session bus, pipewire, wireplumber and a headless mutter with
 * one virtual monitor of opt's size, in a private directory with its own
 * XDG_RUNTIME_DIR and MIRAGE_DIR (set in mirage-vnc's environment too,
 * with DBUS_SESSION_BUS_ADDRESS), then the session command on mutter, all
 * as opt->user when given.  0 or -errno (logged).
 */
int vnc_gnembedded_start(struct vnc_gnembedded **out, const struct vnc_options *opt)
	__attribute__((warn_unused_result));
/* 0 while all of it runs; -ECHILD once the session command has ended,
 * -EPIPE once a piece has (named in the log).  wait_ms: how long to give
 * one on its way out. */
int vnc_gnembedded_check(struct vnc_gnembedded *g, int wait_ms);
/* Stops the session command, mutter, wireplumber, pipewire and the bus, in
 * that order, and every process they left; removes the directory. */
void vnc_gnembedded_stop(struct vnc_gnembedded *g);

#endif /* MIRAGE_VNC_H */
