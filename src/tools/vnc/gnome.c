/* SPDX-License-Identifier: MIT */
/*
 * --gnome (and --wayland where mutter is on the session bus):
 * mirage-wayland's GNOME backend for a running mutter.  Its mirror is
 * named after the monitor it records (gnome-CONNECTOR), so the monitor is
 * asked of mutter first: its first one, which the input backend's
 * sessions record too.
 */
#include <stdio.h>

#include "screencast.h"
#include "vnc.h"

static void sc_log(enum mirage_log_level level, const char *text)
{
	if (level <= MIRAGE_LOG_WARNING)
		vnc_log("%s", text);
}

int vnc_gnome_start(struct vnc_driver **out, int max_fps, const char **mirror, char *connector,
		    size_t size)
{
	char name[MIRAGE_MONITOR_NAME_MAX + 8], fps[16];
	int ret;

	ret = screencast_find_monitor(NULL, connector, size, sc_log);
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "gnome-%s", connector);
	snprintf(fps, sizeof(fps), "%d", max_fps);
	const char *args[] = { "--backend", "gnome", "--output", connector, "--name", name,
			       "--max-fps", fps, NULL };
	ret = vnc_driver_start(out, "drivers/wayland", "mirage-wayland", args, name, "mutter");
	if (ret < 0)
		return ret;
	*mirror = vnc_driver_mirror(*out);
	return 0;
}
