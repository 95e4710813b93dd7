/* SPDX-License-Identifier: MIT */
/*
 * Messages for the readers of mutter's answers (src/common/screencast.c)
 * without a bus: sd-bus makes messages only on a connection that has
 * started, so bus_local_open starts one on a socketpair of its own (it
 * writes into one end and would read the other; nothing is ever read).
 * Shared by the unit test and the fuzzer.
 */
#ifndef MIRAGE_TEST_BUS_LOCAL_H
#define MIRAGE_TEST_BUS_LOCAL_H

#include <systemd/sd-bus.h>

/* A started connection that never talks: 0, or -errno with *bus NULL.
 * It owns both ends of the pair; free it with sd_bus_close_unref. */
int bus_local_open(sd_bus **bus) __attribute__((warn_unused_result));
/* An empty method return, as mutter's answers are: 0 or -errno. */
int bus_local_reply(sd_bus *bus, sd_bus_message **m) __attribute__((warn_unused_result));
/* Seals m, as a received message is, and rewinds it to its start. */
int bus_local_seal(sd_bus_message *m) __attribute__((warn_unused_result));

#endif
