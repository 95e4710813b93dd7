/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for mirage-vnc's HTTP request-head parser
 * (src/tools/vnc/http-parse.c): the input is the bytes a client sent.
 * Besides the sanitizers' checks, a request that is accepted must name a
 * path that can be served: NUL-terminated, relative, with no ".." segment
 * and no backslash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *path)
{
	size_t n = strnlen(path, HTTP_PATH_MAX);

	if (n == HTTP_PATH_MAX || path[0] == '/' || strchr(path, '\\'))
		abort();
	for (const char *seg = path; *seg;) {
		size_t len = strcspn(seg, "/");
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			abort();
		seg += len + (seg[len] == '/');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	size_t end = http_head_end(buf, size);
	int ret;

	if (end > size)
		abort();
	/* As the server does: the head alone when it is complete, else all. */
	ret = http_request_parse(buf, end > 0 ? end : size, &req);
	if (ret == 0)
		check_path(req.path);
	else if (ret != -EBADMSG && ret != -EOPNOTSUPP && ret != -EACCES)
		abort();
	return 0;
}
