/* SPDX-License-Identifier: MIT */
/* Bytes a TCP socket has received (the kernel's count), for statistics. */
#ifndef VNC_TCPBYTES_H
#define VNC_TCPBYTES_H

long tcp_bytes_received(int fd);

#endif
