/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for test-mirror.sh: makes mirage_client_wait() report
 * -ESTALE the way libmirage does for a pipe that was retired after it was
 * mapped (every record taken, the ASSERT_OFF never seen): from the moment
 * the file $MIRAGE_TEST_ESTALE exists until mirage_client_reconnect() is
 * called, every wait returns -ESTALE at once.  A consumer that waits again
 * instead of reconnecting spins and never sees another record.  Until then
 * a wait lasts at most 50 ms (it returns 0, as after a wake-up), so that
 * the file is looked for while nothing happens.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <mirage/client.h>

static atomic_bool stale;

MIRAGE_EXPORT int mirage_client_wait(struct mirage_client *c, int timeout_ms)
{
	static int (*real)(struct mirage_client *, int);
	const char *trigger = getenv("MIRAGE_TEST_ESTALE");

	if (!real)
		real = (int (*)(struct mirage_client *, int))dlsym(RTLD_NEXT, "mirage_client_wait");
	if (trigger && unlink(trigger) == 0)
		atomic_store(&stale, true);
	if (atomic_load(&stale))
		return -ESTALE;
	if (timeout_ms < 0 || timeout_ms > 50)
		timeout_ms = 50;
	return real(c, timeout_ms);
}

MIRAGE_EXPORT int mirage_client_reconnect(struct mirage_client *c)
{
	static int (*real)(struct mirage_client *);

	if (!real)
		real = (int (*)(struct mirage_client *))dlsym(RTLD_NEXT, "mirage_client_reconnect");
	atomic_store(&stale, false);
	return real(c);
}
