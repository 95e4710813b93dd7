/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mirage-vnc's Wayland keymap (src/tools/vnc/
 * wlkeymap.c): the keysyms a viewer sends are numbers off the network,
 * and each one may change the keymap mirage-vnc hands the compositor.
 * Beside the sanitizers the target checks, after every event, what
 * vnc_keymap_key promises (the keycode it gives has that keysym, a
 * release is of a key held down, a new keycode only for a press, a held
 * key never taken), and at the end that the keymap text parses with
 * xkbcommon and gives every keysym back from its keycode alone
 * (tests/vnc/keymap-check.c, shared with the unit test).
 *
 * Input: events of 3 bytes, "c b1 b2".  c bit 0: press (1) or release;
 * c bits 1-3 say where the keysym comes from, so that mutations reach
 * every kind a viewer sends: 0 Latin-1 b1, 1 0xff00 | b1 (function and
 * modifier keys), 2 and 3 the Unicode keysym U+b1b2, 4 one of 300
 * keysyms (past the 247 keycodes: reuse), 5 0xfe00 | b1 (dead keys and
 * ISO), 6 and 7 a raw 32-bit keysym from the next 4 bytes (b1 b2 and two
 * more, little-endian).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymap-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t next_sym(const uint8_t *d, size_t size, size_t *at)
{
	uint8_t c = d[*at], b1 = d[*at + 1], b2 = d[*at + 2];

	*at += 3;
	switch ((c >> 1) & 7) {
	case 0: return b1;
	case 1: return 0xff00u | b1;
	case 2: case 3: return 0x1000000u | (uint32_t)b1 << 8 | b2;
	case 4: return 0x1000400u + (uint32_t)((b1 << 8 | b2) % 300);
	case 5: return 0xfe00u | b1;
	}
	uint32_t sym = b1 | (uint32_t)b2 << 8;
	for (int k = 2; k < 4 && *at < size; k++)
		sym |= (uint32_t)d[(*at)++] << (8 * k);
	return sym;
}

static void die(const char *what, uint32_t sym, int i)
{
	fprintf(stderr, "fuzz-keymap: %s (keysym 0x%x, index %d)\n", what, sym, i);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xkb_context *ctx;
	struct vnc_keymap km, before;
	const char *bad;
	size_t at = 0;

	if (!ctx) {
		/* Quiet: the parse's warnings would flood the run. */
		ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
		if (!ctx)
			abort();
		xkb_context_set_log_level(ctx, XKB_LOG_LEVEL_CRITICAL);
	}
	vnc_keymap_init(&km);
	while (at + 3 <= size) {
		bool down = data[at] & 1, changed = true;
		uint32_t sym = next_sym(data, size, &at);
		before = km;
		int i = vnc_keymap_key(&km, down, sym, &changed);
		if (i < 0) {
			if (changed || memcmp(&km, &before, sizeof(km)))
				die("nothing to send, yet the table changed", sym, i);
			/* A held keysym always has its keycode. */
			for (int k = 0; down && k < VNC_KEYMAP_KEYS; k++)
				if (km.keys[k] == sym && sym)
					die("a keysym with a keycode refused", sym, k);
			continue;
		}
		if (i >= VNC_KEYMAP_KEYS || km.keys[i] != sym || km.down[i] != down)
			die("the keycode given does not hold the keysym as asked", sym, i);
		if (changed && (!down || before.keys[i] == sym || before.down[i]))
			die("a new keycode for a release, an old keysym or a held key", sym, i);
		if (!changed && (before.keys[i] != sym || (!down && !before.down[i])))
			die("a keycode used without a new keymap, or a release of a key not held",
			    sym, i);
		for (int k = 0; k < VNC_KEYMAP_KEYS; k++)
			if (k != i && (km.keys[k] != before.keys[k] || km.down[k] != before.down[k]))
				die("another keycode changed", sym, k);
	}
	bad = keymap_check(ctx, &km);
	if (bad)
		die(bad, 0, -1);
	return 0;
}
