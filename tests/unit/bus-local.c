/* SPDX-License-Identifier: MIT */
/* Messages without a bus (bus-local.h). */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-local.h"

int bus_local_open(sd_bus **bus)
{
	int fds[2], ret;

	*bus = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
		return -errno;
	ret = sd_bus_new(bus);
	if (ret < 0)
		goto cleanup;
	/* Output into fds[1], input from fds[0]: the connection owns both
	 * (sd-bus closes both when they differ).  Starting writes the
	 * authentication into the pair; no one answers, and a connection
	 * that is authenticating makes messages as one that is running. */
	ret = sd_bus_set_fd(*bus, fds[0], fds[1]);
	if (ret < 0)
		goto cleanup;
	ret = sd_bus_start(*bus);
	if (ret < 0)
		*bus = sd_bus_close_unref(*bus);
	return ret;
cleanup:
	*bus = sd_bus_unref(*bus);
	close(fds[0]);
	close(fds[1]);
	return ret;
}

int bus_local_reply(sd_bus *bus, sd_bus_message **m)
{
	return sd_bus_message_new(bus, m, SD_BUS_MESSAGE_METHOD_RETURN);
}

int bus_local_seal(sd_bus_message *m)
{
	/* Any cookie but 0 will do; a D-Bus 1 message holds 32 bits. */
	static uint32_t cookie;
	int ret;

	cookie = cookie % UINT32_MAX + 1;
	ret = sd_bus_message_seal(m, cookie, 0);
	if (ret < 0)
		return ret;
	ret = sd_bus_message_rewind(m, 1);
	return ret < 0 ? ret : 0;
}
