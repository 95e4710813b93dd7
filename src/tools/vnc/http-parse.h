/* SPDX-License-Identifier: MIT */
/*
 * The request head of mirage-vnc's HTTP server, parsed without a socket
 * (http.c reads, this file judges; fuzz/fuzz-http.c feeds it random heads).
 *
 * The head is untrusted bytes of a given length: it may hold NULs, lack
 * the final empty line, or stop anywhere.  Nothing here allocates, logs or
 * keeps state, so any thread may call.
 */
#ifndef MIRAGE_VNC_HTTP_PARSE_H
#define MIRAGE_VNC_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_PATH_MAX 4096 /* a decoded path, with its NUL */

/* A request the server may answer. */
struct http_request {
	bool head;                 /* HEAD (headers only), else GET */
	char path[HTTP_PATH_MAX];  /* below the served directory, decoded; "" for "/" */
};

/*
 * The length of the head in buf[0..len) up to and with its empty line
 * ("\r\n\r\n" or, from lax clients, "\n\n"), or 0 while it is incomplete.
 */
size_t http_head_end(const char *buf, size_t len) __attribute__((warn_unused_result));

/*
 * Parses the head in buf[0..len) (no NUL needed) into *req: the request
 * line "METHOD TARGET HTTP/x.y", then header lines "Name: value", each
 * ended by CRLF or LF, up to the empty line.  The target's query and
 * fragment are dropped, %XX is decoded, and a path with a ".." segment, a
 * NUL, a backslash, or a decoded leading "/" (%2F) is refused.
 *
 * Returns 0, -EBADMSG for a malformed head (answer 400), -EOPNOTSUPP for a
 * method other than GET and HEAD (405), -EACCES for a target that must not
 * be served (400).  *req is written only on success.
 */
int http_request_parse(const char *buf, size_t len, struct http_request *req)
	__attribute__((warn_unused_result));

#endif
