/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the readers of mutter's D-Bus answers
 * (src/common/screencast.c): screencast_read_monitors (DisplayConfig's
 * GetCurrentState) and screencast_read_parameters (a Stream's
 * Parameters).  What reaches them has passed the bus daemon and sd-bus,
 * which check the wire format, so the input is not wire bytes: it is
 * decoded into a well-formed message of any signature and contents, a
 * tree that is then appended to a real sd_bus_message and sealed.  The
 * tree also says what each reader must answer, and every answer is
 * checked against it: the result code, the connector (NUL-terminated
 * within the buffer's size, not empty, the one asked for, the first
 * such; also with the buffer one byte short and exactly long enough),
 * the geometry.  Both readers run on the message, again on it
 * rewound, on a copy made with sd_bus_message_copy, and, when the message
 * is one variant holding an a{sv}, inside the variant as
 * sd_bus_get_property hands the Parameters over.
 *
 * Input (bytes past the end read as 0):
 *   byte 0     the connector buffer's size: below 0x80
 *              MIRAGE_MONITOR_NAME_MAX, else the byte less 0x80
 *   text, NUL  the monitor asked for ("": none, the first one)
 *   text, NUL  the message's signature (complete types; no 'h': no fds)
 *   values     for each type in order:
 *     y b      1 byte (b: its bit 0)   n q  2 bytes   i u  4   x t d  8
 *              (little-endian; d the bits of a double)
 *     s        a length byte L, then L bytes (bit 7 cleared, NUL as '?')
 *     o        1 byte k: "/" when 0, else "/o/k"
 *     g        1 byte picking a signature from a short list
 *     a        a count byte (mod 32), then that many elements
 *     ( ) { }  their fields in order
 *     v        a length byte L and L bytes: the contents' signature
 *              (one complete type; "s" when it is not), then its value
 * Seeds (fuzz/corpus/screencast, written by fuzz/screencast-seeds.py) are
 * the answers mutter 43.8 gives and their neighbours.  To see what an
 * input decodes to: FUZZ_SCREENCAST_DUMP=1 fuzz-screencast INPUT.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-local.h"
#include "screencast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* GetCurrentState's monitors and Parameters, as mirage reads them. */
#define MONITOR_SIG "((ssss)a(siiddada{sv})a{sv})"
#define PARAMS_SIG "{sv}"

/* Nesting of containers, variants included: D-Bus allows 64 in all
 * (32 arrays, 32 structs); sd-bus checks those.  Fewer keep it fast. */
#define DEPTH_MAX 24
#define NODES_MAX 8192
#define TEXT_MAX (1u << 18)

struct node {
	char type;              /* a basic code, or 'a' 'r' 'e' 'v' */
	const char *contents;   /* containers: their contents' signature */
	union {
		uint64_t u;
		double d;
		const char *s;
	} v;
	struct node *child, *next;
};

/* The decoder's state for one input: what is left of it, and the pools
 * the tree lives in (an input that fills one is dropped). */
struct decoder {
	const uint8_t *data;
	size_t left;
	struct node nodes[NODES_MAX];
	size_t used;
	char text[TEXT_MAX];
	size_t text_used;
};

static uint8_t take(struct decoder *d)
{
	if (!d->left)
		return 0;
	d->left--;
	return *d->data++;
}

static uint64_t take_le(struct decoder *d, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)take(d) << (8 * i);
	return v;
}

/* A NUL-terminated copy of n bytes of s in the pool, or NULL when full. */
static char *keep(struct decoder *d, const char *s, size_t n)
{
	char *p;

	if (TEXT_MAX - d->text_used < n + 1)
		return NULL;
	p = d->text + d->text_used;
	memcpy(p, s, n);
	p[n] = 0;
	d->text_used += n + 1;
	return p;
}

/* Text up to a NUL (or the end of the input), kept. */
static char *take_text(struct decoder *d)
{
	size_t n = strnlen((const char *)d->data, d->left);
	char *s = keep(d, (const char *)d->data, n);

	n += n < d->left;
	d->data += n;
	d->left -= n;
	return s;
}

static bool is_basic(char c)
{
	return c && strchr("ybnqiuxtdsog", c);
}

/* The length of the one complete type at s[0..n), 0 when there is none
 * there (or it nests deeper than DEPTH_MAX - depth). */
static size_t complete_type(const char *s, size_t n, unsigned depth)
{
	size_t at, len;

	if (!n || depth >= DEPTH_MAX)
		return 0;
	if (is_basic(s[0]) || s[0] == 'v')
		return 1;
	if (s[0] == 'a') {
		if (n >= 2 && s[1] == '{') {
			/* A dict entry: a basic key and one value, in an array only. */
			if (n < 5 || !is_basic(s[2]))
				return 0;
			len = complete_type(s + 3, n - 3, depth + 2);
			return len && 3 + len < n && s[3 + len] == '}' ? 4 + len : 0;
		}
		len = complete_type(s + 1, n - 1, depth + 1);
		return len ? 1 + len : 0;
	}
	if (s[0] != '(')
		return 0;
	for (at = 1; at < n && s[at] != ')'; at += len)
		if (!(len = complete_type(s + at, n - at, depth + 1)))
			return 0;
	return at < n && at > 1 ? at + 1 : 0;
}

static struct node *new_node(struct decoder *d, char type)
{
	struct node *n;

	if (d->used == NODES_MAX)
		return NULL;
	n = &d->nodes[d->used++];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

static struct node *decode(struct decoder *d, const char *sig, size_t len, unsigned depth);

/* The fields of a struct or dict entry, sig[0..len) holding them. */
static struct node *decode_fields(struct decoder *d, struct node *n, const char *sig, size_t len,
				  unsigned depth)
{
	struct node **tail = &n->child;
	size_t at, one;

	if (!(n->contents = keep(d, sig, len)))
		return NULL;
	for (at = 0; at < len; at += one) {
		one = complete_type(sig + at, len - at, depth);
		if (!(*tail = decode(d, sig + at, one, depth)))
			return NULL;
		tail = &(*tail)->next;
	}
	return n;
}

static const char *take_string(struct decoder *d)
{
	char buf[256];
	size_t n = take(d);

	for (size_t i = 0; i < n; i++) {
		buf[i] = (char)(take(d) & 0x7f);
		if (!buf[i])
			buf[i] = '?';
	}
	return keep(d, buf, n);
}

/* One value of the complete type sig[0..len): its node, NULL when a
 * pool is full. */
static struct node *decode(struct decoder *d, const char *sig, size_t len, unsigned depth)
{
	static const char *const signatures[] = { "", "s", "a{sv}", "(ii)", MONITOR_SIG, "v", "aay" };
	static const unsigned sizes[128] = {
		['y'] = 1, ['b'] = 1, ['n'] = 2, ['q'] = 2, ['i'] = 4, ['u'] = 4, ['x'] = 8, ['t'] = 8, ['d'] = 8,
	};
	struct node *n, **tail;
	char path[16];

	if (!(n = new_node(d, sig[0] == '(' ? 'r' : sig[0] == '{' ? 'e' : sig[0])))
		return NULL;
	switch (sig[0]) {
	case 's':
		n->v.s = take_string(d);
		return n->v.s ? n : NULL;
	case 'o': {
		unsigned k = take(d);

		if (k)
			snprintf(path, sizeof(path), "/o/%u", k);
		else
			snprintf(path, sizeof(path), "/");
		n->v.s = keep(d, path, strlen(path));
		return n->v.s ? n : NULL;
	}
	case 'g':
		n->v.s = signatures[take(d) % (sizeof(signatures) / sizeof(signatures[0]))];
		return n;
	case 'd': {
		uint64_t bits = take_le(d, 8);

		memcpy(&n->v.d, &bits, sizeof(bits));
		return n;
	}
	case 'a': {
		unsigned count = take(d) % 32;

		if (!(n->contents = keep(d, sig + 1, len - 1)))
			return NULL;
		tail = &n->child;
		for (unsigned i = 0; i < count; i++) {
			if (!(*tail = decode(d, sig + 1, len - 1, depth + 1)))
				return NULL;
			tail = &(*tail)->next;
		}
		return n;
	}
	case '(':
	case '{':
		return decode_fields(d, n, sig + 1, len - 2, depth + 1);
	case 'v': {
		const char *inner = take_string(d);
		size_t ilen = inner ? strlen(inner) : 0;

		if (!inner)
			return NULL;
		if (!ilen || complete_type(inner, ilen, depth + 1) != ilen)
			inner = "s", ilen = 1;
		n->contents = inner;
		n->child = decode(d, inner, ilen, depth + 1);
		return n->child ? n : NULL;
	}
	default:
		n->v.u = take_le(d, sizes[(unsigned char)sig[0]]);
		if (sig[0] == 'b')
			n->v.u &= 1;
		return n;
	}
}

/* Appends n to m: what sd-bus refuses is the decoder's fault. */
static int append(sd_bus_message *m, const struct node *n)
{
	union {
		uint8_t y;
		int b;
		uint16_t q;
		uint32_t u;
		uint64_t t;
	} v;
	int ret;

	switch (n->type) {
	case 'a': case 'r': case 'e': case 'v':
		if ((ret = sd_bus_message_open_container(m, n->type, n->contents)) < 0)
			return ret;
		for (const struct node *c = n->child; c; c = c->next)
			if ((ret = append(m, c)) < 0)
				return ret;
		return sd_bus_message_close_container(m);
	case 's': case 'o': case 'g':
		return sd_bus_message_append_basic(m, n->type, n->v.s);
	case 'd':
		return sd_bus_message_append_basic(m, 'd', &n->v.d);
	case 'y':
		v.y = (uint8_t)n->v.u;
		break;
	case 'b':
		v.b = (int)n->v.u;
		break;
	case 'n': case 'q':
		v.q = (uint16_t)n->v.u;
		break;
	case 'i': case 'u':
		v.u = (uint32_t)n->v.u;
		break;
	default:
		v.t = n->v.u;
		break;
	}
	return sd_bus_message_append_basic(m, n->type, &v);
}

#define FAIL(...) do { \
	fprintf(stderr, "fuzz-screencast: " __VA_ARGS__); \
	fputc('\n', stderr); \
	abort(); \
} while (0)

/* What screencast_read_monitors must answer for the message `top` (its
 * first top-level value; the rest follow by next): the code, and the
 * connector in *name when 0. */
static int expect_monitors(const struct node *top, const char *want, size_t size, const char **name)
{
	const struct node *list = top ? top->next : NULL;

	if (!top || top->type != 'u' || !list || list->type != 'a' || strcmp(list->contents, MONITOR_SIG))
		return -EPROTO;
	/* Each monitor: ((connector, vendor, product, serial), modes, props). */
	for (const struct node *mon = list->child; mon; mon = mon->next) {
		const char *s = mon->child->child->v.s;

		if ((!want || !strcmp(want, s)) && *s) {
			*name = s;
			return strlen(s) >= size ? -EPROTO : 0;
		}
	}
	return -ENODEV;
}

static void check_monitors(sd_bus_message *m, const struct node *top, const char *want, size_t size,
			   const char *where)
{
	const char *name = NULL;
	int expect = expect_monitors(top, want, size, &name);
	/* Exactly size bytes, so that the sanitizers see a write past them. */
	char *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		abort();
	memset(buf, '#', size ? size : 1);
	if (sd_bus_message_rewind(m, 1) < 0)
		FAIL("cannot rewind the message");
	ret = screencast_read_monitors(m, want, buf, size);
	if (ret != expect)
		FAIL("%s: read_monitors(want %s, size %zu) gave %d, not %d", where, want ? want : "NULL", size, ret,
		     expect);
	if (ret == 0) {
		if (!memchr(buf, 0, size))
			FAIL("%s: the connector is not NUL-terminated within %zu bytes", where, size);
		if (!*buf)
			FAIL("%s: an empty connector was found", where);
		if (strcmp(buf, name) || (want && strcmp(buf, want)))
			FAIL("%s: connector \"%s\", not \"%s\"", where, buf, name);
	}
	free(buf);
}

struct geometry {
	int32_t x, y, w, h;
};

/* What screencast_read_parameters must give for the value `params` (the
 * message's first, or a variant's contents): the code, and *g updated. */
static int expect_parameters(const struct node *params, struct geometry *g)
{
	if (!params || params->type != 'a' || strcmp(params->contents, PARAMS_SIG))
		return -EPROTO;
	for (const struct node *e = params->child; e; e = e->next) {
		const char *key = e->child->v.s;
		const struct node *var = e->child->next;
		int32_t a, b;

		if (strcmp(var->contents, "(ii)"))
			continue;
		a = (int32_t)(uint32_t)var->child->child->v.u;
		b = (int32_t)(uint32_t)var->child->child->next->v.u;
		if (!strcmp(key, "position"))
			g->x = a, g->y = b;
		else if (!strcmp(key, "size") && a > 0 && b > 0)
			g->w = a, g->h = b;
	}
	return 0;
}

/* With `variant`, read inside the message's one variant (the caller has
 * seen that it holds an a{sv}). */
static void check_parameters(sd_bus_message *m, const struct node *params, bool variant, const char *where)
{
	struct geometry was = { -7, -7, -7, -7 }, want = was, got = was;
	int expect = expect_parameters(params, &want), ret;

	if (sd_bus_message_rewind(m, 1) < 0)
		FAIL("cannot rewind the message");
	if (variant && sd_bus_message_enter_container(m, 'v', "a{sv}") <= 0)
		FAIL("%s: cannot enter the variant", where);
	ret = screencast_read_parameters(m, &got.x, &got.y, &got.w, &got.h);
	if (ret != expect)
		FAIL("%s: read_parameters gave %d, not %d", where, ret, expect);
	if (ret < 0 && memcmp(&got, &was, sizeof(got)))
		FAIL("%s: read_parameters failed and changed the geometry", where);
	if (memcmp(&got, &want, sizeof(got)))
		FAIL("%s: geometry %d,%d %dx%d, not %d,%d %dx%d", where, got.x, got.y, got.w, got.h, want.x, want.y,
		     want.w, want.h);
	if ((got.w != was.w || got.h != was.h) && (got.w <= 0 || got.h <= 0))
		FAIL("%s: an empty size %dx%d was taken", where, got.w, got.h);
}

static void check_all(sd_bus_message *m, const struct node *top, const char *want, size_t size,
		      const char *where)
{
	/* The order matters: each reader leaves m where it stopped, and the
	 * next one rewinds it first. */
	const char *name = NULL;

	check_monitors(m, top, want, size, where);
	/* The sizes at the edge for the connector found: one short, exact. */
	if (expect_monitors(top, want, SIZE_MAX, &name) == 0) {
		check_monitors(m, top, want, strlen(name), where);
		check_monitors(m, top, want, strlen(name) + 1, where);
	}
	check_parameters(m, top, false, where);
	if (want)
		check_monitors(m, top, NULL, size, where);
	if (top && !top->next && top->type == 'v' && !strcmp(top->contents, "a" PARAMS_SIG))
		check_parameters(m, top->child, true, where);
	check_monitors(m, top, want, size, where);
}

static sd_bus *bus;
static struct decoder dec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sd_bus_message *m = NULL, *copy = NULL;
	struct node *top = NULL, **tail = &top;
	const char *want, *sig;
	size_t buf_size, len, at, one;
	uint8_t first;

	if (!bus && bus_local_open(&bus) < 0)
		FAIL("cannot make a bus for messages");
	dec.data = data;
	dec.left = size;
	dec.used = dec.text_used = 0;
	first = take(&dec);
	buf_size = first < 0x80 ? MIRAGE_MONITOR_NAME_MAX : first - 0x80u;
	want = take_text(&dec);
	sig = take_text(&dec);
	if (!want || !sig)
		return 0;
	if (!*want)
		want = NULL;
	/* The message's values: a signature that is not one is no input. */
	len = strlen(sig);
	if (len > 255)
		return 0;
	for (at = 0; at < len; at += one) {
		if (!(one = complete_type(sig + at, len - at, 0)))
			return 0;
		if (!(*tail = decode(&dec, sig + at, one, 0)))
			return 0;
		tail = &(*tail)->next;
	}

	if (bus_local_reply(bus, &m) < 0)
		FAIL("cannot make a message");
	for (const struct node *n = top; n; n = n->next)
		if (append(m, n) < 0)
			FAIL("sd-bus refused the decoded message of \"%s\"", sig);
	if (bus_local_seal(m) < 0)
		FAIL("cannot seal the message of \"%s\"", sig);
	if (getenv("FUZZ_SCREENCAST_DUMP")) {
		fprintf(stderr, "want %s, connector buffer %zu bytes, message:\n", want ? want : "NULL", buf_size);
		(void)sd_bus_message_dump(m, stderr, 0);
	}
	check_all(m, top, want, buf_size, "the message");

	/* A copy, made by sd-bus's own reading and writing of it. */
	if (bus_local_reply(bus, &copy) < 0 || sd_bus_message_rewind(m, 1) < 0 ||
	    sd_bus_message_copy(copy, m, 1) < 0 || bus_local_seal(copy) < 0)
		FAIL("cannot copy the message of \"%s\"", sig);
	check_all(copy, top, want, buf_size, "its copy");
	check_all(m, top, want, buf_size, "the message again");
	sd_bus_message_unref(copy);
	sd_bus_message_unref(m);
	return 0;
}
