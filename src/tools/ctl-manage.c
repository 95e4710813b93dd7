/* SPDX-License-Identifier: MIT */
/*
 * miragectl's commands that take the manager role: attach, detach,
 * settings.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mirage/client.h>

#include "ctl-image.h"
#include "ctl.h"

/* ------------------------------------------------------------------ */
/* attach, detach, settings                                            */
/* ------------------------------------------------------------------ */

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "persist", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = ctl_find_command("attach");
	struct mirage_client *c = NULL;
	bool persist = false;
	const char *name;
	sigset_t stop, old;
	int ret, first, status;

	ret = ctl_parse_options(cmd, argc, argv, "p", opts, ctl_set_flag, &persist, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	/*
	 * Block the stop signals before attaching, so one that arrives
	 * between attach and the wait below is not lost: it would otherwise
	 * kill us and leave the detach to the connection's close.
	 */
	sigemptyset(&old);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if (!persist)
		sigprocmask(SIG_BLOCK, &stop, &old);

	status = ctl_connect(name, &c);
	if (status != EXIT_OK)
		goto out;
	if (mirage_client_attach(c, persist ? MIRAGE_ATTACH_PERSIST : 0) < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
		goto out;
	}
	if (persist)
		goto out;

	printf("attached %s; holding the manager role until SIGINT or SIGTERM\n", name);
	fflush(stdout);
	for (;;) {
		struct timespec second = { .tv_sec = 1 };
		int sig = sigtimedwait(&stop, NULL, &second);

		if (sig > 0)
			break;
		/* Once a second: has the producer gone away under us? */
		if (!mirage_client_connected(c)) {
			status = ctl_fail("%s went away", name);
			goto out;
		}
	}
	if (mirage_client_detach(c) < 0)
		status = ctl_fail("%s: %s", name, mirage_last_error());
out:
	mirage_client_destroy(c);
	if (!persist)
		sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

int cmd_detach(int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("detach");
	struct mirage_client *c = NULL;
	const char *name;
	int ret, first, status;

	ret = ctl_parse_options(cmd, argc, argv, "", ctl_help_only, NULL, NULL, 1, 1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	status = ctl_connect(name, &c);
	if (status != EXIT_OK)
		return status;
	if (mirage_client_detach(c) < 0)
		status = ctl_fail("%s: %s", name, mirage_last_error());
	mirage_client_destroy(c);
	return status;
}

int cmd_settings(int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("settings");
	struct mirage_client *c = NULL;
	char text[MIRAGE_SETTINGS_TEXT_MAX * 2];
	const char *name;
	size_t len = 0;
	int ret, first, status;

	ret = ctl_parse_options(cmd, argc, argv, "", ctl_help_only, NULL, NULL, 1, -1, &first);
	if (ret >= 0)
		return ret;
	name = argv[first];

	/*
	 * Check the form of every item before connecting, and send them all
	 * in one request: the mirror applies all of them or none.
	 */
	for (int i = first + 1; i < argc; i++) {
		const char *item = argv[i], *eq = strchr(item, '=');
		size_t n = strlen(item);

		if (!eq || eq == item || !eq[1])
			return ctl_usage_error("\"%s\" is not KEY=VALUE", item);
		if (strpbrk(item, "\n,; \t#"))
			return ctl_usage_error("\"%s\": one KEY=VALUE per argument, without "
					   "blanks, commas, semicolons or '#'", item);
		if (len + n + 2 > sizeof(text))
			return ctl_usage_error("too many settings at once");
		memcpy(text + len, item, n);
		len += n;
		text[len++] = '\n';
		text[len] = '\0';
	}

	status = ctl_connect(name, &c);
	if (status != EXIT_OK)
		return status;
	if (len == 0) {
		if (mirage_client_settings_get(c, text, sizeof(text)) < 0) {
			status = ctl_fail("%s: %s", name, mirage_last_error());
			goto out;
		}
		fputs(text, stdout);
		if (text[0] && text[strlen(text) - 1] != '\n')
			putchar('\n');
	} else if (mirage_client_settings_set(c, text) < 0) {
		status = ctl_fail("%s: %s", name, mirage_last_error());
	}
out:
	mirage_client_destroy(c);
	return status;
}
