/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's own xkb keymap for the Wayland virtual keyboard
 * (wlinput.c), kept pure, with no Wayland and no I/O, so that its unit
 * test and its fuzzer reach all of it.
 *
 * Every keysym a viewer sends (a number off the network) gets a keycode
 * of its own with that keysym alone on it: what is typed comes out
 * exactly as sent (uppercase, symbols, any Unicode keysym) whatever the
 * viewer's layout.  Giving a keysym a keycode changes the keymap, which
 * must then reach the compositor before the key.
 *
 * Not thread-safe: one thread owns a struct vnc_keymap (wlinput.c's
 * Wayland thread).
 */
#ifndef MIRAGE_VNC_WLKEYMAP_H
#define MIRAGE_VNC_WLKEYMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Keycodes 9..255: what X clients (Xwayland) can take. */
#define VNC_KEYMAP_MIN 9
#define VNC_KEYMAP_KEYS 247

struct vnc_keymap {
	uint32_t keys[VNC_KEYMAP_KEYS]; /* keysym of keycode MIN + i, 0: free */
	bool down[VNC_KEYMAP_KEYS];     /* held down by a viewer */
	int next;                       /* where a search for a keycode starts */
};

/* An empty keymap (no keysym has a keycode yet), in caller memory. */
void vnc_keymap_init(struct vnc_keymap *km);

/*
 * A viewer's key event.  Returns the index i of the key to send (xkb
 * keycode VNC_KEYMAP_MIN + i, evdev code VNC_KEYMAP_MIN + i - 8) and sets
 * *changed when sym has just been given that keycode: a free one, else
 * the next one not held down (its old keysym loses it).  Returns -1,
 * nothing to send, for a release of a key not held down, a keysym xkb
 * cannot write into a keymap (NoSymbol, past XKB_KEYSYM_MAX, or one whose
 * name or number would read back as another keysym), or a press while
 * every keycode is held down.
 */
int vnc_keymap_key(struct vnc_keymap *km, bool down, uint32_t sym, bool *changed)
	__attribute__((warn_unused_result));

/* Takes back the keycode vnc_keymap_key has just given (*changed) when
 * the new keymap could not be sent: index i is free again. */
void vnc_keymap_forget(struct vnc_keymap *km, int i);

/*
 * The keymap text (WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1) for the keysyms that
 * have keycodes: one level per key, so no modifier changes what it types;
 * modifier keysyms (Shift, Control, Alt, Super, AltGr, the locks) also
 * carry their modifier, so shortcuts work.  NUL-terminated; the caller
 * frees it.  NULL when out of memory.
 */
char *vnc_keymap_text(const struct vnc_keymap *km) __attribute__((warn_unused_result));

#endif
