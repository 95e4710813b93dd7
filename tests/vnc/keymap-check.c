/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymap-check.h"

/* The core modifier a keysym's key must set, or NULL (wlkeymap.c's
 * modifier map, said again from the outside, as xkb's "complete"
 * compat turns it into actions). */
static const char *modifier_of(xkb_keysym_t sym)
{
	static const struct {
		xkb_keysym_t sym;
		const char *mod;
	} mods[] = {
		{ XKB_KEY_Shift_L, XKB_MOD_NAME_SHIFT }, { XKB_KEY_Shift_R, XKB_MOD_NAME_SHIFT },
		{ XKB_KEY_Control_L, XKB_MOD_NAME_CTRL }, { XKB_KEY_Control_R, XKB_MOD_NAME_CTRL },
		{ XKB_KEY_Caps_Lock, XKB_MOD_NAME_CAPS },
		{ XKB_KEY_Alt_L, "Mod1" }, { XKB_KEY_Alt_R, "Mod1" },
		{ XKB_KEY_Meta_L, "Mod1" }, { XKB_KEY_Meta_R, "Mod1" },
		{ XKB_KEY_Num_Lock, "Mod2" },
		{ XKB_KEY_Super_L, "Mod4" }, { XKB_KEY_Super_R, "Mod4" },
		{ XKB_KEY_Hyper_L, "Mod4" }, { XKB_KEY_Hyper_R, "Mod4" },
		{ XKB_KEY_ISO_Level3_Shift, "Mod5" },
		/* Mode_switch is in Mod5's map too, but xkb's compat makes it
		 * switch the group (one group here: nothing changes). */
	};

	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		if (mods[i].sym == sym)
			return mods[i].mod;
	return NULL;
}

/* One key of the parsed keymap against the table; NULL when right. */
static const char *check_key(struct xkb_keymap *map, xkb_keycode_t kc, xkb_keysym_t want,
			     char *why, size_t size)
{
	const xkb_keysym_t *syms;
	int n = xkb_keymap_key_get_syms_by_level(map, kc, 0, 0, &syms);

	if (!want) {
		if (n == 0)
			return NULL;
		snprintf(why, size, "keycode %u: keysym 0x%x on a free key", kc, syms[0]);
		return why;
	}
	if (n != 1 || syms[0] != want) {
		snprintf(why, size, "keycode %u: %d keysyms (first 0x%x), not 0x%x alone", kc, n,
			 n > 0 ? syms[0] : 0, want);
		return why;
	}
	if (xkb_keymap_num_levels_for_key(map, kc, 0) != 1) {
		snprintf(why, size, "keycode %u (keysym 0x%x): more than one level", kc, want);
		return why;
	}
	struct xkb_state *st = xkb_state_new(map);
	const char *mod = modifier_of(want);
	const char *bad = NULL;

	if (!st)
		return "xkb_state_new failed";
	xkb_state_update_key(st, kc, XKB_KEY_DOWN);
	if (xkb_state_key_get_one_sym(st, kc) != want)
		bad = "pressed, it types another keysym";
	else if (mod && xkb_state_mod_name_is_active(st, mod, XKB_STATE_MODS_EFFECTIVE) != 1)
		bad = "pressed, its modifier is not active";
	xkb_state_unref(st);
	if (!bad)
		return NULL;
	snprintf(why, size, "keycode %u (keysym 0x%x): %s", kc, want, bad);
	return why;
}

const char *keymap_check(struct xkb_context *ctx, const struct vnc_keymap *km)
{
	static char why[160];
	char *text = vnc_keymap_text(km);
	struct xkb_keymap *map;
	const char *bad = NULL;

	if (!text)
		return "no keymap text (out of memory)";
	map = xkb_keymap_new_from_string(ctx, text, XKB_KEYMAP_FORMAT_TEXT_V1,
					 XKB_KEYMAP_COMPILE_NO_FLAGS);
	free(text);
	if (!map)
		return "the keymap text does not parse";
	for (int i = 0; !bad && i < VNC_KEYMAP_KEYS; i++) {
		/* One keycode a keysym: the table never gives it two. */
		for (int j = 0; !bad && km->keys[i] && j < i; j++)
			if (km->keys[j] == km->keys[i]) {
				snprintf(why, sizeof(why), "keysym 0x%x on keycodes %d and %d",
					 km->keys[i], VNC_KEYMAP_MIN + j, VNC_KEYMAP_MIN + i);
				bad = why;
			}
		if (!bad)
			bad = check_key(map, (xkb_keycode_t)(VNC_KEYMAP_MIN + i), km->keys[i], why,
					sizeof(why));
	}
	xkb_keymap_unref(map);
	return bad;
}
