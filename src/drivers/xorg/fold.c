/* SPDX-License-Identifier: MIT */
/* Folding one record into the one before it (fold.h): pure, unit-tested. */
#include "fold.h"

static int32_t lo(int32_t a, int32_t b)
{
	return a < b ? a : b;
}

static int32_t hi(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

static int64_t rect_area(const struct mirage_rect *r)
{
	return (int64_t)(r->right - r->left) * (r->bottom - r->top);
}

/* The union is a rectangle when it fills its bounding box (fold.h). */
bool mx_rec_fold(struct mirage_record *a, const struct mirage_record *b)
{
	const struct mirage_rect *r = &a->rect, *n = &b->rect;

	if (a->type != b->type || a->type == MIRAGE_REC_SCREEN_SCREEN || a->color != b->color ||
	    a->point.x || a->point.y || b->point.x || b->point.y)
		return false;

	struct mirage_rect u = { lo(r->left, n->left), lo(r->top, n->top),
				 hi(r->right, n->right), hi(r->bottom, n->bottom) };
	struct mirage_rect in = { hi(r->left, n->left), hi(r->top, n->top),
				  lo(r->right, n->right), lo(r->bottom, n->bottom) };
	int64_t overlap = in.left < in.right && in.top < in.bottom ? rect_area(&in) : 0;

	if (rect_area(&u) != rect_area(r) + rect_area(n) - overlap)
		return false;
	a->rect = u;
	return true;
}
