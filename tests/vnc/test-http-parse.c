/* SPDX-License-Identifier: MIT */
/*
 * mirage-vnc's HTTP request-head parser (src/tools/vnc/http-parse.c) apart
 * from the server: where a head ends, real browser requests, and the heads
 * and targets that must be refused.
 */
#include <errno.h>
#include <string.h>

#include "assert.h"
#include "http-parse.h"

static int parse(const char *head, struct http_request *req)
{
	return http_request_parse(head, strlen(head), req);
}

static void test_head_end(void)
{
	static const char crlf[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nbody";
	static const char lf[] = "GET / HTTP/1.0\n\n";
	static const char nul[] = "GET /\0 HTTP/1.1\r\n\r\n";

	CHECK_EQ(http_head_end(crlf, strlen(crlf)), strlen(crlf) - 4);
	CHECK_EQ(http_head_end(lf, strlen(lf)), strlen(lf));
	/* A NUL in the head does not hide its end (the parser refuses it). */
	CHECK_EQ(http_head_end(nul, sizeof(nul) - 1), sizeof(nul) - 1);
	for (size_t n = 0; n < strlen(crlf) - 4; n++)
		CHECK_EQ(http_head_end(crlf, n), 0);
	CHECK_EQ(http_head_end("\r\n", 2), 0);
}

static void test_browser_requests(void)
{
	struct http_request req;

	CHECK_EQ(parse("GET /vnc.html?autoconnect=1&port=5900 HTTP/1.1\r\n"
		       "Host: 127.0.0.1:5800\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
		       "Accept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate\r\n"
		       "Connection: keep-alive\r\n\r\n", &req), 0);
	CHECK(!req.head);
	CHECK_STR(req.path, "vnc.html");
	CHECK_EQ(parse("HEAD /app/ui.js#x HTTP/1.0\n\n", &req), 0);
	CHECK(req.head);
	CHECK_STR(req.path, "app/ui.js");
	CHECK_EQ(parse("GET / HTTP/1.1\r\n\r\n", &req), 0);
	CHECK_STR(req.path, "");
	CHECK_EQ(parse("GET /core/a%20b.js HTTP/1.1\r\nX-Empty:\r\n\r\n", &req), 0);
	CHECK_STR(req.path, "core/a b.js");
}

static void test_refused(void)
{
	struct http_request req = { .path = "untouched" };

	CHECK_EQ(parse("POST / HTTP/1.1\r\n\r\n", &req), -EOPNOTSUPP);
	CHECK_EQ(parse("get / HTTP/1.1\r\n\r\n", &req), -EOPNOTSUPP);
	CHECK_EQ(parse("GET /../etc/passwd HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET /a/%2e%2e/b HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET /%2Fetc/passwd HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET /a%00b HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET /a%5cb HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET /a%4 HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET vnc.html HTTP/1.1\r\n\r\n", &req), -EACCES);
	CHECK_EQ(parse("GET / HTTP/1.1\r\n", &req), -EBADMSG);       /* no empty line */
	CHECK_EQ(parse("GET /\r\n\r\n", &req), -EBADMSG);            /* HTTP/0.9 */
	CHECK_EQ(parse("GET / HTTP/1.1 x\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(parse("GET  / HTTP/1.1\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(parse("GET / HTTP/11\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nNo colon\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(parse("VERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", &req), -EBADMSG);
	CHECK_EQ(http_request_parse("GET /a\0b HTTP/1.1\r\n\r\n", 21, &req), -EBADMSG);
	CHECK_EQ(http_request_parse("", 0, &req), -EBADMSG);
	/* A path of HTTP_PATH_MAX bytes does not fit with its NUL. */
	{
		static char big[HTTP_PATH_MAX + 64];
		int n = snprintf(big, sizeof(big), "GET /");
		memset(big + n, 'a', HTTP_PATH_MAX);
		strcpy(big + n + HTTP_PATH_MAX, " HTTP/1.1\r\n\r\n");
		CHECK_EQ(parse(big, &req), -EACCES);
		big[n + HTTP_PATH_MAX - 1] = ' ';
		memcpy(big + n + HTTP_PATH_MAX - 1, " HTTP/1.1\r\n\r\n", 14);
		CHECK_EQ(parse(big, &req), 0);
		CHECK_EQ(strlen(req.path), HTTP_PATH_MAX - 1);
	}
	/* *req is written only on success. */
	{
		struct http_request r = { .path = "untouched" };
		CHECK_EQ(parse("GET /.. HTTP/1.1\r\n\r\n", &r), -EACCES);
		CHECK_STR(r.path, "untouched");
	}
}

int main(void)
{
	RUN(test_head_end);
	RUN(test_browser_requests);
	RUN(test_refused);
	return 0;
}
