/* SPDX-License-Identifier: MIT */
/* DfMirage's registry switches, parsed from "key=value" text. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "private.h"

struct setting {
	const char *key;
	size_t offset;
	const int32_t *allowed;
	size_t nallowed;
	const char *allowed_text;
};

static const int32_t bool_values[] = { 0, 1 };
static const int32_t bpp_values[] = { 0, 16, 24, 32 };
static const int32_t backing_values[] = { 0, 2, 3 };
static const int32_t bootup_values[] = { 0, 1, 2 };

#define SETTING(k, field, values, text) \
	{ k, offsetof(struct mirage_settings, field), values, ARRAY_LEN(values), text }

static const struct setting settings[] = {
	SETTING("Pointer.Enabled", pointer_enabled, bool_values, "0, 1"),
	SETTING("Screen.ForcedBpp", forced_bpp, bpp_values, "0, 16, 24, 32"),
	SETTING("Cap.DfbBackingMode", backing_mode, backing_values, "0, 2, 3"),
	SETTING("Order.BltCopyBits.Enabled", blt_copybits, bool_values, "0, 1"),
	SETTING("Cap.Bootup", bootup, bootup_values, "0, 1, 2"),
	SETTING("Order.SolidFill.Enabled", solidfill, bool_values, "0, 1"),
};

MIRAGE_EXPORT void mirage_settings_init(struct mirage_settings *s)
{
	*s = (struct mirage_settings){
		.pointer_enabled = 0,
		.forced_bpp = 0,
		.backing_mode = 3,
		/*
		 * DfMirage defaulted to 0 for clients older than the record
		 * type; every client may treat SCREEN_SCREEN as BLIT, and
		 * copies are what make scrolling cheap, so mirage enables it.
		 */
		.blt_copybits = 1,
		.bootup = 0,
		.solidfill = 0,
	};
}

static int32_t *field(struct mirage_settings *s, const struct setting *d)
{
	return (int32_t *)((char *)s + d->offset);
}

MIRAGE_EXPORT int mirage_settings_set(struct mirage_settings *s, const char *key, const char *value)
{
	const struct setting *d = NULL;
	char *end;
	long v;

	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		if (strcasecmp(key, settings[i].key) == 0) {
			d = &settings[i];
			break;
		}
	}
	if (!d)
		return mirage_fail(EINVAL, "unknown setting \"%s\"", key);

	errno = 0;
	v = strtol(value, &end, 0);
	if (errno || end == value || *end != '\0')
		return mirage_fail(EINVAL, "%s: \"%s\" is not a number (one of %s)",
				   d->key, value, d->allowed_text);
	for (size_t i = 0; i < d->nallowed; i++) {
		if (v == d->allowed[i]) {
			*field(s, d) = (int32_t)v;
			return 0;
		}
	}
	return mirage_fail(EINVAL, "%s: \"%s\" is not one of %s", d->key, value, d->allowed_text);
}

static bool separator(char c)
{
	return c == '\n' || c == '\r' || c == ',' || c == ';' || c == ' ' || c == '\t';
}

MIRAGE_EXPORT int mirage_settings_parse(struct mirage_settings *s, const char *text)
{
	struct mirage_settings tmp = *s;
	const char *p = text;

	while (*p) {
		char item[128], *eq;
		size_t n = 0;

		if (separator(*p)) {
			p++;
			continue;
		}
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		while (p[n] && !separator(p[n]) && p[n] != '#')
			n++;
		if (n >= sizeof(item))
			return mirage_fail(EINVAL, "setting \"%.32s...\" is too long", p);
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;

		eq = strchr(item, '=');
		if (!eq || eq == item)
			return mirage_fail(EINVAL, "\"%s\" is not KEY=VALUE", item);
		*eq = '\0';
		if (mirage_settings_set(&tmp, item, eq + 1) < 0)
			return -EINVAL;
	}
	*s = tmp;
	return 0;
}

MIRAGE_EXPORT int mirage_settings_format(const struct mirage_settings *s, char *buf, size_t size)
{
	size_t len = 0;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		const int32_t *v = (const int32_t *)((const char *)s + settings[i].offset);
		int n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0,
				 "%s=%d\n", settings[i].key, (int)*v);
		if (n < 0)
			return n;
		len += (size_t)n;
	}
	return (int)len;
}
