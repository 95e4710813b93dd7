/* SPDX-License-Identifier: MIT */
/* The input table's dispatch (input.h). */
#include <errno.h>
#include <stdlib.h>

#include "input.h"

struct vnc_input {
	const struct vnc_input_impl *impl;
	void *state;
};

int vnc_input_create(struct vnc_input **out, const struct vnc_input_impl *impl,
		     const char *target)
{
	struct vnc_input *in;
	int ret;

	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->impl = impl;
	ret = impl->create(&in->state, target);
	if (ret < 0) {
		free(in);
		return ret;
	}
	*out = in;
	return 0;
}

int vnc_input_start(struct vnc_input *in, const struct vnc_input_sink *sink)
{
	return in->impl->start ? in->impl->start(in->state, sink) : 0;
}

void vnc_input_stop(struct vnc_input *in)
{
	if (in && in->impl->stop)
		in->impl->stop(in->state);
}

void vnc_input_destroy(struct vnc_input *in)
{
	if (!in)
		return;
	vnc_input_stop(in);
	in->impl->destroy(in->state);
	free(in);
}

void vnc_input_key(struct vnc_input *in, bool down, uint32_t keysym)
{
	in->impl->key(in->state, down, keysym);
}

void vnc_input_pointer(struct vnc_input *in, int mask, int x, int y)
{
	in->impl->pointer(in->state, mask, x, y);
}

void vnc_input_set_clipboard(struct vnc_input *in, const char *text, size_t len)
{
	if (in->impl->set_clipboard)
		in->impl->set_clipboard(in->state, text, len);
}

int vnc_input_resize(struct vnc_input *in, int width, int height)
{
	return in->impl->resize ? in->impl->resize(in->state, width, height) : -ENOTSUP;
}

const char *vnc_input_name(const struct vnc_input *in)
{
	return in->impl->name;
}
