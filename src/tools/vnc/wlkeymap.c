/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's own xkb keymap (wlkeymap.h): which keycode each keysym a
 * viewer sends has, and the keymap text that says so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xkbcommon/xkbcommon.h>

#include "wlkeymap.h"

void vnc_keymap_init(struct vnc_keymap *km)
{
	memset(km, 0, sizeof(*km));
}

/*
 * How sym is written in a keymap: its name, or its number when it has no
 * name or a name xkb's parser does not read as one (the 3270_* keysyms
 * begin with a digit: the parser sees a number).  False when the keymap
 * would read back another keysym: xkb's parser takes the numbers 0 to 9
 * for the digit keys, and a name shared by two keysyms reads back as one
 * of them.
 */
static bool sym_word(uint32_t sym, char *buf, size_t size)
{
	if (sym == XKB_KEY_NoSymbol || xkb_keysym_get_name(sym, buf, size) < 0)
		return false;
	if (buf[0] >= '0' && buf[0] <= '9' && strncmp(buf, "0x", 2))
		snprintf(buf, size, "0x%x", sym);
	if (!strncmp(buf, "0x", 2))
		return sym >= 10;
	return xkb_keysym_from_name(buf, XKB_KEYSYM_NO_FLAGS) == sym;
}

int vnc_keymap_key(struct vnc_keymap *km, bool down, uint32_t sym, bool *changed)
{
	char name[64];
	int i;

	*changed = false;
	for (i = 0; i < VNC_KEYMAP_KEYS; i++)
		if (km->keys[i] == sym && sym != 0)
			break;
	if (i < VNC_KEYMAP_KEYS) {
		/* Only a key we pressed is released. */
		if (!down && !km->down[i])
			return -1;
		km->down[i] = down;
		return i;
	}
	/* Never a new keycode for a release, nor for a keysym xkb cannot
	 * write (it would type something else). */
	if (!down || !sym_word(sym, name, sizeof(name)))
		return -1;
	for (int n = 0; n < VNC_KEYMAP_KEYS; n++) {
		i = (km->next + n) % VNC_KEYMAP_KEYS;
		if (!km->keys[i] || !km->down[i])
			break;
	}
	if (km->keys[i] && km->down[i])
		return -1; /* every keycode held down */
	km->next = (i + 1) % VNC_KEYMAP_KEYS;
	km->keys[i] = sym;
	km->down[i] = true;
	*changed = true;
	return i;
}

void vnc_keymap_forget(struct vnc_keymap *km, int i)
{
	if (i < 0 || i >= VNC_KEYMAP_KEYS)
		return;
	km->keys[i] = 0;
	km->down[i] = false;
}

/* The modifier a keysym's key carries in our keymap, or NULL. */
static const char *modifier_of(uint32_t sym)
{
	switch (sym) {
	case XKB_KEY_Shift_L: case XKB_KEY_Shift_R: return "Shift";
	case XKB_KEY_Control_L: case XKB_KEY_Control_R: return "Control";
	case XKB_KEY_Caps_Lock: return "Lock";
	case XKB_KEY_Alt_L: case XKB_KEY_Alt_R: case XKB_KEY_Meta_L: case XKB_KEY_Meta_R: return "Mod1";
	case XKB_KEY_Num_Lock: return "Mod2";
	case XKB_KEY_Super_L: case XKB_KEY_Super_R: case XKB_KEY_Hyper_L: case XKB_KEY_Hyper_R:
		return "Mod4";
	case XKB_KEY_ISO_Level3_Shift: case XKB_KEY_Mode_switch: return "Mod5";
	}
	return NULL;
}

/* Appends to a growing string; false when out of memory. */
static bool append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return false;
		if ((size_t)n < *cap - *len) {
			*len += (size_t)n;
			return true;
		}
		char *b = realloc(*buf, *cap * 2 + (size_t)n);
		if (!b)
			return false;
		*buf = b;
		*cap = *cap * 2 + (size_t)n;
	}
}

/*
 * Keycode MIN + i has keys[i] alone; modifier keys are in the modifier
 * map.  Types and compat are xkb's own "complete" ones, which give
 * modifier keys their actions.
 */
char *vnc_keymap_text(const struct vnc_keymap *km)
{
	size_t len = 0, cap = 4096;
	char *t = malloc(cap), name[64];
	bool ok;

	if (!t)
		return NULL;
	t[0] = '\0';
	ok = append(&t, &len, &cap, "xkb_keymap {\nxkb_keycodes \"mirage\" {\n"
		    " minimum = %d;\n maximum = %d;\n", VNC_KEYMAP_MIN - 1,
		    VNC_KEYMAP_MIN + VNC_KEYMAP_KEYS - 1);
	for (int i = 0; ok && i < VNC_KEYMAP_KEYS; i++)
		ok = append(&t, &len, &cap, " <K%d> = %d;\n", VNC_KEYMAP_MIN + i, VNC_KEYMAP_MIN + i);
	ok = ok && append(&t, &len, &cap, "};\nxkb_types \"mirage\" { include \"complete\" };\n"
			  "xkb_compatibility \"mirage\" { include \"complete\" };\n"
			  "xkb_symbols \"mirage\" {\n");
	for (int i = 0; ok && i < VNC_KEYMAP_KEYS; i++) {
		/* vnc_keymap_key gave a keycode only to a keysym it can write. */
		if (!km->keys[i] || !sym_word(km->keys[i], name, sizeof(name)))
			continue;
		ok = append(&t, &len, &cap, " key <K%d> { [ %s ] };\n", VNC_KEYMAP_MIN + i, name);
		const char *mod = modifier_of(km->keys[i]);
		if (ok && mod)
			ok = append(&t, &len, &cap, " modifier_map %s { <K%d> };\n", mod,
				    VNC_KEYMAP_MIN + i);
	}
	ok = ok && append(&t, &len, &cap, "};\n};\n");
	if (!ok) {
		free(t);
		return NULL;
	}
	return t;
}
