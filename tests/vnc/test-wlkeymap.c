/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's Wayland keymap (src/tools/vnc/wlkeymap.c) apart from
 * Wayland: which keycode a viewer's keysym gets, when one is taken back,
 * which keysyms are refused, and that the keymap text parses with
 * xkbcommon and gives every keysym back from its keycode (keymap-check.c).
 * The random walk is seeded (MIRAGE_TEST_SEED repeats a run).
 */
#include <stdbool.h>
#include <stdint.h>

#include "keymap-check.h"
#include "unit/harness.h"

static struct xkb_context *ctx;

static void check_text(const struct vnc_keymap *km)
{
	const char *bad = keymap_check(ctx, km);

	if (bad)
		fprintf(stderr, "keymap: %s\n", bad);
	CHECK(bad == NULL);
}

/* Presses and releases sym; the keycode index it had. */
static int type(struct vnc_keymap *km, uint32_t sym)
{
	bool changed;
	int i = vnc_keymap_key(km, true, sym, &changed);

	CHECK(i >= 0);
	CHECK_EQ(km->keys[i], sym);
	CHECK_EQ(vnc_keymap_key(km, false, sym, &changed), i);
	CHECK(!changed);
	return i;
}

static void test_empty(void)
{
	struct vnc_keymap km;

	vnc_keymap_init(&km);
	check_text(&km);
}

/* What viewers send: ASCII, both cases apart, Latin-1, Unicode keysyms
 * (one below U+0100 too, which has no name), function and modifier keys. */
static void test_round_trip(void)
{
	static const uint32_t syms[] = {
		XKB_KEY_a, XKB_KEY_A, XKB_KEY_exclam, XKB_KEY_at, XKB_KEY_asciitilde,
		XKB_KEY_eacute, XKB_KEY_Eacute, XKB_KEY_ssharp, XKB_KEY_EuroSign,
		0x10020ac /* U+20AC */, 0x101f600 /* U+1F600 */, 0x10000e9 /* U+00E9 */,
		0x100263a, XKB_KEY_Return, XKB_KEY_BackSpace, XKB_KEY_Tab, XKB_KEY_Escape,
		XKB_KEY_F1, XKB_KEY_F12, XKB_KEY_Left, XKB_KEY_KP_Enter, XKB_KEY_Shift_L,
		XKB_KEY_Shift_R, XKB_KEY_Control_L, XKB_KEY_Alt_L, XKB_KEY_Meta_L,
		XKB_KEY_Super_L, XKB_KEY_Hyper_R, XKB_KEY_ISO_Level3_Shift, XKB_KEY_Mode_switch,
		XKB_KEY_Caps_Lock, XKB_KEY_Num_Lock, XKB_KEY_dead_acute, 0x1234567,
		/* Names that begin with a digit: written as numbers. */
		XKB_KEY_3270_FieldMark, XKB_KEY_3270_Enter,
	};
	struct vnc_keymap km;
	bool changed;

	vnc_keymap_init(&km);
	for (uint32_t c = 0x20; c < 0x7f; c++)
		type(&km, c);
	for (size_t i = 0; i < ARRAY_LEN(syms); i++)
		type(&km, syms[i]);
	check_text(&km);
	/* A keysym typed again keeps its keycode: no new keymap. */
	int a = vnc_keymap_key(&km, true, XKB_KEY_a, &changed);
	CHECK_EQ(a, XKB_KEY_a - 0x20);
	CHECK(!changed);
	CHECK_EQ(vnc_keymap_key(&km, false, XKB_KEY_a, &changed), a);
}

/* Keysyms a keymap cannot hold, and releases of keys not held: nothing
 * to send, nothing changed. */
static void test_refused(void)
{
	static const uint32_t bad[] = {
		0, 1, 9, 0x20000000, 0x7fffffff, 0xffffffff,
	};
	struct vnc_keymap km, before;
	bool changed;

	vnc_keymap_init(&km);
	type(&km, XKB_KEY_b);
	before = km;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		CHECK_EQ(vnc_keymap_key(&km, true, bad[i], &changed), -1);
		CHECK(!changed);
		CHECK_EQ(vnc_keymap_key(&km, false, bad[i], &changed), -1);
	}
	CHECK_EQ(vnc_keymap_key(&km, false, XKB_KEY_c, &changed), -1); /* never pressed */
	CHECK_EQ(vnc_keymap_key(&km, false, XKB_KEY_b, &changed), -1); /* released already */
	CHECK(memcmp(&km, &before, sizeof(km)) == 0);
	check_text(&km);
}

/* Past 247 keysyms the next keycode not held down is taken; a held one
 * never is; with all held a new keysym gets none. */
static void test_reuse(void)
{
	struct vnc_keymap km;
	bool changed;
	int i;

	vnc_keymap_init(&km);
	for (uint32_t n = 0; n < VNC_KEYMAP_KEYS; n++)
		CHECK_EQ(type(&km, 0x1000400 + n), (int)n);
	/* Keycode 0 held: the 248th keysym takes keycode 1, the next one 2. */
	CHECK_EQ(vnc_keymap_key(&km, true, 0x1000400, &changed), 0);
	CHECK_EQ(type(&km, XKB_KEY_x), 1);
	CHECK_EQ(type(&km, XKB_KEY_y), 2);
	CHECK_EQ(type(&km, 0x1000401), 3); /* lost its keycode: a new one */
	check_text(&km);
	/* All held: nothing for a new keysym; a held one still works. */
	for (i = 0; i < VNC_KEYMAP_KEYS; i++)
		km.down[i] = true;
	CHECK_EQ(vnc_keymap_key(&km, true, XKB_KEY_z, &changed), -1);
	CHECK(!changed);
	CHECK_EQ(vnc_keymap_key(&km, true, XKB_KEY_x, &changed), 1);
	CHECK_EQ(vnc_keymap_key(&km, false, XKB_KEY_x, &changed), 1);
	CHECK_EQ(vnc_keymap_key(&km, true, XKB_KEY_z, &changed), 1);
	CHECK(changed);
}

/* A keymap that could not be sent takes its keycode back. */
static void test_forget(void)
{
	struct vnc_keymap km;
	bool changed;

	vnc_keymap_init(&km);
	int i = vnc_keymap_key(&km, true, XKB_KEY_q, &changed);
	CHECK(i >= 0 && changed);
	vnc_keymap_forget(&km, i);
	CHECK_EQ(km.keys[i], 0);
	CHECK_EQ(vnc_keymap_key(&km, false, XKB_KEY_q, &changed), -1);
	vnc_keymap_forget(&km, -1);
	vnc_keymap_forget(&km, VNC_KEYMAP_KEYS);
	check_text(&km);
}

/* Random presses and releases over a few hundred keysyms (past the 247
 * keycodes), checked as they go and the text at the end. */
static void test_random(void)
{
	uint64_t rng = th_seed("wlkeymap");
	struct vnc_keymap km;
	bool changed;

	vnc_keymap_init(&km);
	for (int step = 0; step < 20000; step++) {
		uint32_t sym = 0x1000100 + th_rand_range(&rng, 400);
		bool down = th_rand_range(&rng, 3) != 0;
		int i = vnc_keymap_key(&km, down, sym, &changed);

		if (i < 0)
			continue;
		CHECK_EQ(km.keys[i], sym);
		CHECK_EQ(km.down[i], down);
		/* Now and then let go of everything, as viewers do. */
		if (th_rand_range(&rng, 500) == 0)
			for (int k = 0; k < VNC_KEYMAP_KEYS; k++)
				if (km.down[k])
					CHECK_EQ(vnc_keymap_key(&km, false, km.keys[k], &changed), k);
	}
	check_text(&km);
}

int main(void)
{
	ctx = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	CHECK(ctx != NULL);
	RUN(test_empty);
	RUN(test_round_trip);
	RUN(test_refused);
	RUN(test_reuse);
	RUN(test_forget);
	RUN(test_random);
	xkb_context_unref(ctx);
	return 0;
}
