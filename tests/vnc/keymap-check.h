/* SPDX-License-Identifier: MIT */
/*
 * The check that mirage-vnc's Wayland keymap (src/tools/vnc/wlkeymap.c)
 * says what its table says, shared by its unit test and its fuzzer: the
 * text parses with xkbcommon as a compositor would parse it, every keysym
 * that has a keycode comes back from that keycode alone (one level, so
 * no modifier changes it), pressed through an xkb_state too, a modifier
 * keysym's key sets its modifier, and a keycode without a keysym types
 * nothing.
 */
#ifndef MIRAGE_TEST_KEYMAP_CHECK_H
#define MIRAGE_TEST_KEYMAP_CHECK_H

#include <xkbcommon/xkbcommon.h>

#include "wlkeymap.h"

/* NULL when km's text is right, else what is wrong (static storage, the
 * keycode and keysym in it). */
const char *keymap_check(struct xkb_context *ctx, const struct vnc_keymap *km);

#endif
