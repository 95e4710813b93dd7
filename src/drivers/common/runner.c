/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "runner.h"

/* How often --wait looks for a server that is not there: it has no events to wait on. */
#define RETRY_MS 500

static int stop_signalfd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int run(const struct driver_runner *r, const struct driver_options *o, void *data)
{
	int sigfd = stop_signalfd();
	int status = 1;

	if (sigfd < 0) {
		fprintf(stderr, "%s: error: signalfd: %s\n", r->prog, strerror(-sigfd));
		return 1;
	}
	for (unsigned failures = 0;;) {
		enum driver_life life;
		int ret = r->open(data, o->wait && failures > 0);

		if (ret < 0) {
			r->close(data);
			if (!o->wait || ret == -ENOTSUP)
				break;
			if (failures++ == 0)
				fprintf(stderr, "%s: --wait: waiting for %s\n", r->prog, r->waiting);
			struct pollfd pf = { .fd = sigfd, .events = POLLIN };
			if (poll(&pf, 1, RETRY_MS) > 0) {
				status = 0;
				break;
			}
			continue;
		}
		failures = 0;
		life = r->run(data, sigfd);
		r->close(data);
		if (life == DRIVER_STOPPED)
			status = 0;
		if (life != DRIVER_LOST || !o->wait)
			break;
	}
	close(sigfd);
	return status;
}

int driver_runner_events(const char *prog, struct mirage_driver *drv, const struct pollfd *sig,
			 const struct pollfd *ctl)
{
	if (sig->revents & POLLIN) {
		struct signalfd_siginfo si;

		if (read(sig->fd, &si, sizeof(si)) > 0)
			fprintf(stderr, "%s: %s: stopping\n", prog, strsignal((int)si.ssi_signo));
		return 1;
	}
	if (ctl->revents & POLLIN) {
		int ret = mirage_driver_dispatch(drv);

		if (ret < 0) {
			fprintf(stderr, "%s: error: control socket failed: %s\n", prog, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* The common options' letters; a driver's own take others. */
#define COMMON_LETTERS "d:n:s:wvh"
#define MAX_OPTIONS 24

static int parse(const struct driver_runner *r, struct driver_options *o, void *data, int argc, char **argv)
{
	static const struct option common[] = {
		{ "display", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "set", required_argument, NULL, 's' },
		{ "wait", no_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option all[MAX_OPTIONS];
	char letters[2 * MAX_OPTIONS + sizeof(COMMON_LETTERS)];
	size_t n = 0;
	int c, ret;

	memset(o, 0, sizeof(*o));
	mirage_settings_init(&o->settings);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		all[n++] = common[i];
	for (const struct option *own = r->options; own && own->name && n < MAX_OPTIONS - 1; own++)
		all[n++] = *own;
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	snprintf(letters, sizeof(letters), "%s%s", COMMON_LETTERS, r->letters ? r->letters : "");

	while ((c = getopt_long(argc, argv, letters, all, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->display = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 's':
			if (mirage_settings_parse(&o->settings, optarg) < 0) {
				fprintf(stderr, "%s: --set %s: %s\n", r->prog, optarg, mirage_last_error());
				return 2;
			}
			break;
		case 'w':
			o->wait = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			r->usage(stdout);
			return 0;
		case '?':
			r->usage(stderr);
			return 2;
		default:
			ret = r->option ? r->option(data, c, optarg) : 2;
			if (ret != 0)
				return ret;
			break;
		}
	}
	if (optind != argc) {
		r->usage(stderr);
		return 2;
	}
	return -1;
}

int driver_main(const struct driver_runner *r, struct driver_options *o, void *data, int argc, char **argv)
{
	int ret = parse(r, o, data, argc, argv);

	return ret >= 0 ? ret : run(r, o, data);
}
