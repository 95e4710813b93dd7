/* SPDX-License-Identifier: MIT */
/*
 * The records' fold of the Xorg module's batch (batch.c), kept apart from
 * the X server's headers so that a unit test reaches it without a server
 * (tests/unit/test-xorg-fold.c).  Pure: no allocation, no global state.
 */
#ifndef MIRAGE_XORG_FOLD_H
#define MIRAGE_XORG_FOLD_H

#include <stdbool.h>

#include <mirage/proto.h>

/*
 * Folds drawing record b into a, the record just before it, when one record
 * says both exactly: the same type and colour, no source point (a copy
 * sent as BLIT keeps its own), and a union that is a rectangle (one inside
 * the other, or the same columns or rows meeting).  Their order does not
 * matter: no copy comes between them.  A terminal's lines (the text, then
 * the cursor on the next line, then that line's text) mostly fold into one
 * record per block of lines: fewer slots for the producer to write and the
 * consumers to read, and a ring that fills slower.
 */
bool mx_rec_fold(struct mirage_record *a, const struct mirage_record *b);

#endif /* MIRAGE_XORG_FOLD_H */
