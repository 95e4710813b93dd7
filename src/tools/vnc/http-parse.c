/* SPDX-License-Identifier: MIT */
/*
 * Parsing of an HTTP request head (see http-parse.h).  Every read is
 * bounded by the given length: the bytes come straight from the network.
 */
#include <errno.h>
#include <string.h>

#include "http-parse.h"

#define METHOD_MAX 15 /* longer than any method we could answer */

size_t http_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The end of the line that starts at p (its LF excluded, and a CR before it). */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	if (!lf)
		return NULL;
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

static bool is_tchar(int c)
{
	/* RFC 9110's token characters. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Turns the request target t[0..n) into a path relative to the served
 * directory: the query and fragment dropped, %XX decoded, no "..", no
 * NUL, no backslash.  0 or -EACCES.
 */
static int target_to_path(const char *t, size_t n, char *out, size_t size)
{
	size_t i = 0, o = 0;

	if (n == 0 || t[0] != '/')
		return -EACCES;
	while (i < n && t[i] == '/')
		i++;
	for (; i < n && t[i] != '?' && t[i] != '#'; i++) {
		int c = (unsigned char)t[i];

		if (c == '%') {
			int hi = i + 1 < n ? hexval((unsigned char)t[i + 1]) : -1;
			int lo = hi >= 0 && i + 2 < n ? hexval((unsigned char)t[i + 2]) : -1;
			if (lo < 0)
				return -EACCES;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == '\0' || c == '\\' || o + 1 >= size)
			return -EACCES;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	/* Refuse any ".." segment, and a path that starts at the root (%2F). */
	for (const char *seg = out; *seg;) {
		size_t len = strcspn(seg, "/");
		if ((len == 2 && seg[0] == '.' && seg[1] == '.') || (len == 0 && seg == out))
			return -EACCES;
		seg += len;
		if (*seg == '/')
			seg++;
	}
	return 0;
}

/* "HTTP/d.d" exactly. */
static bool is_version(const char *p, size_t n)
{
	return n == 8 && memcmp(p, "HTTP/", 5) == 0 && p[5] >= '0' && p[5] <= '9' &&
	       p[6] == '.' && p[7] >= '0' && p[7] <= '9';
}

/* One header line "Name: value" (no CR/LF in it), value of visible bytes. */
static bool is_header(const char *p, const char *e)
{
	const char *q = p;

	while (q < e && is_tchar((unsigned char)*q))
		q++;
	if (q == p || q == e || *q != ':')
		return false; /* also an obsolete folded line (leading space) */
	for (q++; q < e; q++) {
		unsigned char c = (unsigned char)*q;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

int http_request_parse(const char *buf, size_t len, struct http_request *req)
{
	const char *end = buf + len, *next, *e, *sp1, *sp2;
	char path[HTTP_PATH_MAX];
	size_t mlen;
	bool head;
	int ret;

	/* Request line: METHOD SP TARGET SP VERSION. */
	e = line_end(buf, end, &next);
	if (!e)
		return -EBADMSG;
	sp1 = memchr(buf, ' ', (size_t)(e - buf));
	if (!sp1)
		return -EBADMSG;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1));
	if (!sp2 || !is_version(sp2 + 1, (size_t)(e - sp2 - 1)))
		return -EBADMSG;
	mlen = (size_t)(sp1 - buf);
	if (mlen == 0 || mlen > METHOD_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)buf[i]))
			return -EBADMSG;
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return -EBADMSG;

	/* Headers, up to the empty line: none changes the answer, but a head
	 * that is not HTTP is refused rather than half-understood. */
	for (;;) {
		const char *p = next;
		e = line_end(p, end, &next);
		if (!e)
			return -EBADMSG;
		if (e == p)
			break;
		if (!is_header(p, e))
			return -EBADMSG;
	}

	if (mlen == 4 && memcmp(buf, "HEAD", 4) == 0)
		head = true;
	else if (mlen == 3 && memcmp(buf, "GET", 3) == 0)
		head = false;
	else
		return -EOPNOTSUPP;
	ret = target_to_path(sp1 + 1, (size_t)(sp2 - sp1 - 1), path, sizeof(path));
	if (ret < 0)
		return ret;
	req->head = head;
	memcpy(req->path, path, strlen(path) + 1);
	return 0;
}
