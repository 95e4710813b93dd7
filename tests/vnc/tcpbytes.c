/* SPDX-License-Identifier: MIT */
/*
 * Kept apart from the libvncclient code: <linux/tcp.h> has the byte
 * counters glibc's <netinet/tcp.h> lacks, and the two clash.
 */
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tcpbytes.h"

long tcp_bytes_received(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0)
		return -1;
	return (long)info.tcpi_bytes_received;
}
