/* SPDX-License-Identifier: MIT */
/* A tiny assert header for mirage's tests: prints the expression and line. */
#ifndef MIRAGE_TEST_ASSERT_H
#define MIRAGE_TEST_ASSERT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr) do { \
	if (!(expr)) { \
		fprintf(stderr, "%s:%d: %s: check failed: %s\n", \
			__FILE__, __LINE__, __func__, #expr); \
		abort(); \
	} \
} while (0)

#define CHECK_EQ(a, b) do { \
	long long va_ = (long long)(a), vb_ = (long long)(b); \
	if (va_ != vb_) { \
		fprintf(stderr, "%s:%d: %s: check failed: %s == %s (%lld != %lld)\n", \
			__FILE__, __LINE__, __func__, #a, #b, va_, vb_); \
		abort(); \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *sa_ = (a), *sb_ = (b); \
	if (strcmp(sa_, sb_) != 0) { \
		fprintf(stderr, "%s:%d: %s: check failed: %s == %s (\"%s\" != \"%s\")\n", \
			__FILE__, __LINE__, __func__, #a, #b, sa_, sb_); \
		abort(); \
	} \
} while (0)

/* Runs a test function and says so. */
#define RUN(fn) do { \
	fprintf(stderr, "-- %s\n", #fn); \
	fn(); \
} while (0)

#endif
