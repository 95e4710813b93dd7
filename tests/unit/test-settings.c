/* SPDX-License-Identifier: MIT */
/*
 * Settings: every key and value parses and validates, bad keys and values
 * are refused with a message naming them, text is all or nothing, and the
 * same holds over the control socket.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

struct key {
	const char *name;
	size_t offset;
	int32_t def;
	int32_t valid[5];
	unsigned nvalid;
	const char *bad[4];
};

#define FIELD(f) offsetof(struct mirage_settings, f)

static const struct key keys[] = {
	{ "Pointer.Enabled", FIELD(pointer_enabled), 0, { 0, 1 }, 2, { "2", "-1", "yes", "0x" } },
	{ "Screen.ForcedBpp", FIELD(forced_bpp), 0, { 0, 16, 24, 32 }, 4, { "15", "8", "64", "-16" } },
	{ "Cap.DfbBackingMode", FIELD(backing_mode), 3, { 0, 2, 3 }, 3, { "1", "4", "-3", "3.0" } },
	{ "Order.BltCopyBits.Enabled", FIELD(blt_copybits), 1, { 0, 1 }, 2, { "2", "on", "11", "-0x1" } },
	{ "Cap.Bootup", FIELD(bootup), 0, { 0, 1, 2 }, 3, { "3", "-1", "boot", "22" } },
	{ "Order.SolidFill.Enabled", FIELD(solidfill), 0, { 0, 1 }, 2, { "2", "true", "1 1", "99999999999" } },
};

static int32_t get(const struct mirage_settings *s, const struct key *k)
{
	int32_t v;

	memcpy(&v, (const char *)s + k->offset, sizeof(v));
	return v;
}

static bool mentions(const char *msg, const char *what)
{
	if (!msg || !strcasestr(msg, what)) {
		fprintf(stderr, "message \"%s\" does not name \"%s\"\n", msg ? msg : "(null)", what);
		return false;
	}
	return true;
}

static void test_defaults(void)
{
	struct mirage_settings s;

	memset(&s, 0x5a, sizeof(s));
	mirage_settings_init(&s);
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		CHECK_EQ(get(&s, &keys[i]), keys[i].def);
}

static void test_every_key_and_value(void)
{
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];

		for (unsigned j = 0; j < k->nvalid; j++) {
			struct mirage_settings s, before;
			char value[16], lower[64], upper[64];

			mirage_settings_init(&s);
			snprintf(value, sizeof(value), "%d", k->valid[j]);
			CHECK_EQ(mirage_settings_set(&s, k->name, value), 0);
			CHECK_EQ(get(&s, k), k->valid[j]);

			/* Only the named field moves. */
			mirage_settings_init(&before);
			memcpy((char *)&before + k->offset, &k->valid[j], sizeof(int32_t));
			CHECK(memcmp(&s, &before, sizeof(s)) == 0);

			/* Names are case-insensitive, as in the Windows registry. */
			for (size_t c = 0; c <= strlen(k->name); c++) {
				lower[c] = (char)(k->name[c] >= 'A' && k->name[c] <= 'Z' ? k->name[c] + 32 : k->name[c]);
				upper[c] = (char)(k->name[c] >= 'a' && k->name[c] <= 'z' ? k->name[c] - 32 : k->name[c]);
			}
			mirage_settings_init(&s);
			CHECK_EQ(mirage_settings_set(&s, lower, value), 0);
			CHECK_EQ(get(&s, k), k->valid[j]);
			mirage_settings_init(&s);
			CHECK_EQ(mirage_settings_set(&s, upper, value), 0);
			CHECK_EQ(get(&s, k), k->valid[j]);
		}
	}
}

static void test_bad_values(void)
{
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];
		const char *extra[] = { "", "abc" };

		for (unsigned j = 0; j < 4 + ARRAY_LEN(extra); j++) {
			const char *v = j < 4 ? k->bad[j] : extra[j - 4];
			struct mirage_settings s, before;

			char good[16];

			/* Start from a value other than the default, so "unchanged" means something. */
			mirage_settings_init(&s);
			snprintf(good, sizeof(good), "%d", k->valid[1]);
			CHECK_EQ(mirage_settings_set(&s, k->name, good), 0);
			before = s;
			if (mirage_settings_set(&s, k->name, v) != -EINVAL) {
				fprintf(stderr, "%s=\"%s\" was accepted\n", k->name, v);
				CHECK(!"bad value accepted");
			}
			CHECK(memcmp(&s, &before, sizeof(s)) == 0);
			CHECK(mentions(mirage_last_error(), k->name));
			if (*v)
				CHECK(mentions(mirage_last_error(), v));
		}
	}
}

static void test_bad_keys(void)
{
	const char *bad[] = { "Bogus.Key", "Pointer", "Pointer.Enabled.X", "", "Cap.Bootup2", "Screen.ForcedBpp " };
	struct mirage_settings s, before;

	mirage_settings_init(&s);
	before = s;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		CHECK_EQ(mirage_settings_set(&s, bad[i], "1"), -EINVAL);
		CHECK(memcmp(&s, &before, sizeof(s)) == 0);
		if (*bad[i])
			CHECK(mentions(mirage_last_error(), bad[i]));
	}
}

static void test_parse(void)
{
	struct mirage_settings s;

	mirage_settings_init(&s);
	CHECK_EQ(mirage_settings_parse(&s,
		"Pointer.Enabled=1,Screen.ForcedBpp=16;Cap.Bootup=2 Order.SolidFill.Enabled=1\n"
		"\tCap.DfbBackingMode=0 # Screen.ForcedBpp=24 is a comment\n"
		"# a whole comment line\n"
		"order.bltcopybits.enabled=0\n"), 0);
	CHECK_EQ(s.pointer_enabled, 1);
	CHECK_EQ(s.forced_bpp, 16);
	CHECK_EQ(s.bootup, 2);
	CHECK_EQ(s.solidfill, 1);
	CHECK_EQ(s.backing_mode, 0);
	CHECK_EQ(s.blt_copybits, 0);

	/* Nothing to do is not an error. */
	mirage_settings_init(&s);
	CHECK_EQ(mirage_settings_parse(&s, ""), 0);
	CHECK_EQ(mirage_settings_parse(&s, "  \n# only a comment\n,;"), 0);
	CHECK_EQ(s.backing_mode, 3);
}

static void test_parse_all_or_nothing(void)
{
	const char *bad[] = {
		"Pointer.Enabled=1,Bogus.Key=1",
		"Pointer.Enabled=1,Screen.ForcedBpp=15",
		"Cap.Bootup=2\nCap.DfbBackingMode=1\nPointer.Enabled=1",
		"Pointer.Enabled=1 Screen.ForcedBpp",
		"Pointer.Enabled=1 =1",
		"Pointer.Enabled=1;Pointer.Enabled=7",
	};
	const char *named[] = { "Bogus.Key", "Screen.ForcedBpp", "Cap.DfbBackingMode",
				"Screen.ForcedBpp", NULL, "Pointer.Enabled" };

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct mirage_settings s, before;

		mirage_settings_init(&s);
		s.forced_bpp = 24;
		before = s;
		if (mirage_settings_parse(&s, bad[i]) != -EINVAL) {
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
			CHECK(!"bad text accepted");
		}
		CHECK(memcmp(&s, &before, sizeof(s)) == 0);
		if (named[i])
			CHECK(mentions(mirage_last_error(), named[i]));
	}
}

static void test_format(void)
{
	struct mirage_settings s, back;
	char buf[MIRAGE_SETTINGS_TEXT_MAX], small[8];
	int n;

	mirage_settings_init(&s);
	s.pointer_enabled = 1;
	s.forced_bpp = 24;
	s.backing_mode = 2;
	s.blt_copybits = 0;
	s.bootup = 1;
	s.solidfill = 1;
	n = mirage_settings_format(&s, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n < sizeof(buf));
	CHECK_EQ(strlen(buf), n);
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		char line[64];

		snprintf(line, sizeof(line), "%s=%d\n", keys[i].name, get(&s, &keys[i]));
		if (!strstr(buf, line)) {
			fprintf(stderr, "\"%s\" lacks \"%s\"\n", buf, line);
			CHECK(!"formatted settings incomplete");
		}
	}
	/* What format writes, parse reads back. */
	mirage_settings_init(&back);
	CHECK_EQ(mirage_settings_parse(&back, buf), 0);
	CHECK(memcmp(&s, &back, sizeof(s)) == 0);

	/* Like snprintf: the full length, a truncated NUL-terminated text. */
	memset(small, 'x', sizeof(small));
	CHECK_EQ(mirage_settings_format(&s, small, sizeof(small)), n);
	CHECK_EQ(small[sizeof(small) - 1], 0);
	CHECK(strncmp(small, buf, sizeof(small) - 1) == 0);
}

static bool has_line(const char *text, const char *line)
{
	if (!strstr(text, line)) {
		fprintf(stderr, "settings text \"%s\" lacks \"%s\"\n", text, line);
		return false;
	}
	return true;
}

/* The same rules through SETTINGS_GET/SET, and a ForcedBpp change makes a new pipe. */
static void test_over_socket(void)
{
	struct th_server srv;
	struct mirage_driver_config cfg;
	struct mirage_client *c = NULL, *other = NULL;
	char text[MIRAGE_SETTINGS_TEXT_MAX];
	struct mirage_record recs[64];
	uint32_t count, gen;
	int r;

	th_config(&cfg, "settings", 64, 48);
	CHECK_EQ(th_server_start(&srv, &cfg), 0);
	CHECK_EQ(mirage_client_connect(&c, "settings"), 0);
	CHECK(mirage_client_settings_get(c, text, sizeof(text)) >= 0);
	CHECK(has_line(text, "Pointer.Enabled=0\n"));
	CHECK(has_line(text, "Cap.DfbBackingMode=3\n"));
	CHECK(has_line(text, "Order.BltCopyBits.Enabled=1\n"));

	CHECK(mirage_client_settings_set(c, "Pointer.Enabled=1") >= 0);
	CHECK(mirage_client_settings_get(c, text, sizeof(text)) >= 0);
	CHECK(has_line(text, "Pointer.Enabled=1\n"));
	th_server_lock(&srv);
	CHECK_EQ(mirage_driver_settings(srv.drv)->pointer_enabled, 1);
	th_server_unlock(&srv);
	CHECK(atomic_load(&srv.settings_calls) >= 1);

	/* All or nothing: the good item before the bad one is not applied. */
	CHECK_EQ(mirage_client_settings_set(c, "Pointer.Enabled=0, Nope.Nope=1"), -EINVAL);
	CHECK(mentions(mirage_last_error(), "Nope.Nope"));
	CHECK_EQ(mirage_client_settings_set(c, "Pointer.Enabled=0 Cap.Bootup=9"), -EINVAL);
	CHECK(mentions(mirage_last_error(), "Cap.Bootup"));
	CHECK(mirage_client_settings_get(c, text, sizeof(text)) >= 0);
	CHECK(has_line(text, "Pointer.Enabled=1\n"));
	CHECK(has_line(text, "Cap.Bootup=0\n"));

	/* Someone else's manager role blocks settings changes. */
	CHECK_EQ(mirage_client_connect(&other, "settings"), 0);
	CHECK(mirage_client_attach(other, 0) >= 0);
	CHECK_EQ(mirage_client_settings_set(c, "Pointer.Enabled=0"), -EBUSY);
	CHECK(mirage_client_settings_set(other, "Pointer.Enabled=0") >= 0);
	CHECK(mirage_client_detach(other) >= 0);
	mirage_client_destroy(other);

	/* A new format means a new pipe: ASSERT_OFF, then the new generation. */
	gen = mirage_client_surface(c)->generation;
	CHECK(mirage_client_settings_set(c, "Screen.ForcedBpp=16") >= 0);
	do {
		r = mirage_client_poll(c, recs, ARRAY_LEN(recs), &count);
		CHECK(r == MIRAGE_POLL_OK || r == MIRAGE_POLL_OFF);
	} while (r == MIRAGE_POLL_OK && count == ARRAY_LEN(recs));
	CHECK_EQ(r, MIRAGE_POLL_OFF);
	CHECK(count >= 1);
	CHECK_EQ(recs[count - 1].type, MIRAGE_REC_ASSERT_OFF);
	CHECK_EQ(mirage_client_reconnect(c), 0);
	CHECK_EQ(mirage_client_surface(c)->generation, gen + 1);
	CHECK_EQ(mirage_client_surface(c)->bpp, 16);
	CHECK_EQ(mirage_client_surface(c)->red_mask, 0xf800);
	CHECK_EQ(mirage_client_surface(c)->green_mask, 0x07e0);
	CHECK_EQ(mirage_client_surface(c)->blue_mask, 0x001f);
	CHECK_EQ(mirage_client_surface(c)->stride, (64 * 2 + 3) & ~3);

	mirage_client_destroy(c);
	th_server_stop(&srv);
}

int main(void)
{
	th_init("settings", 60);
	RUN(test_defaults);
	RUN(test_every_key_and_value);
	RUN(test_bad_values);
	RUN(test_bad_keys);
	RUN(test_parse);
	RUN(test_parse_all_or_nothing);
	RUN(test_format);
	RUN(test_over_socket);
	return 0;
}
