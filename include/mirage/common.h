/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the client and driver APIs: errors, settings,
 * the runtime directory and version formatting.
 */
#ifndef MIRAGE_COMMON_H
#define MIRAGE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mirage/proto.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MIRAGE_BUILDING_LIB)
#define MIRAGE_EXPORT __attribute__((visibility("default")))
#else
#define MIRAGE_EXPORT
#endif
#define MIRAGE_MUST_CHECK __attribute__((warn_unused_result))

/*
 * The message of the last libmirage failure in this thread: which call,
 * what it was doing and why ("connect /run/user/0/mirage/x.sock: No such
 * file or directory").  Valid until the next failing call in this thread.
 */
MIRAGE_EXPORT const char *mirage_last_error(void);

/*
 * Formats a packed version (a<<24|b<<16|c<<8|d) as "a.b.c.d" into buf.
 * Returns buf.
 */
MIRAGE_EXPORT char *mirage_version_format(uint32_t version, char *buf, size_t size);

/*
 * The directory holding mirror sockets: $MIRAGE_DIR if set, else
 * $XDG_RUNTIME_DIR/mirage, else /tmp/mirage-$UID.  With create, makes it
 * (mode 0700) and refuses one owned by another user or open to others.
 * Writes the path into buf.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_runtime_dir(char *buf, size_t size, bool create);

/* ------------------------------------------------------------------ */
/* Settings: DfMirage's switches, same names                           */
/* ------------------------------------------------------------------ */

struct mirage_settings {
	int32_t pointer_enabled;    /* Pointer.Enabled: 0 (default) or 1 */
	int32_t forced_bpp;         /* Screen.ForcedBpp: 0 (native), 16, 24, 32 */
	int32_t backing_mode;       /* Cap.DfbBackingMode: 0, 2, 3 (default) */
	int32_t blt_copybits;       /* Order.BltCopyBits.Enabled: 0 or 1 (default) */
	int32_t bootup;             /* Cap.Bootup: 0 (default), 1, 2 */
	int32_t solidfill;          /* Order.SolidFill.Enabled: 0 (default) or 1 */
};

#define MIRAGE_SETTINGS_TEXT_MAX 512u

/* Fills s with the defaults. */
MIRAGE_EXPORT void mirage_settings_init(struct mirage_settings *s);

/*
 * Sets one switch by its DfMirage name (case-insensitive).  An unknown key
 * or a bad value returns -EINVAL, leaves s unchanged and sets
 * mirage_last_error() to a message naming the key and value.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_settings_set(struct mirage_settings *s,
							 const char *key, const char *value);

/*
 * Applies "key=value" items separated by newlines, commas, semicolons or
 * blanks; '#' starts a comment that runs to the end of the line.  All or
 * nothing: on the first bad item s is left unchanged and -EINVAL returned.
 */
MIRAGE_EXPORT MIRAGE_MUST_CHECK int mirage_settings_parse(struct mirage_settings *s,
							   const char *text);

/*
 * Writes every switch as "Key=value\n" into buf.  Returns the length the
 * full text needs (like snprintf).
 */
MIRAGE_EXPORT int mirage_settings_format(const struct mirage_settings *s, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MIRAGE_COMMON_H */
