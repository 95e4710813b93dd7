/* SPDX-License-Identifier: MIT */
/*
 * The RandR monitor layout (mirage-xorg.h: struct mx_monitors): the surface
 * header's monitor table kept equal to the server's RandR 1.5 monitor list,
 * looked at again after a RandR request, a resize or a second.
 */
#include "mirage-xorg.h"

#include <stdio.h>
#include <string.h>

#include <extension.h>
#include <randrstr.h>
#include <xace.h>
#include <xacestr.h>

/* Does a user-defined RandR monitor (xrandr --setmonitor) claim an output of crtc? */
static bool crtc_claimed(rrScrPrivPtr rp, RRCrtcPtr crtc)
{
	for (int m = 0; m < rp->numMonitors; m++) {
		const RRMonitorRec *um = rp->monitors[m];

		for (int o = 0; o < um->numOutputs; o++) {
			for (int k = 0; k < crtc->numOutputs; k++) {
				if (crtc->outputs[k]->id == um->outputs[o])
					return true;
			}
		}
	}
	return false;
}

/* Starts monitor m of the table: zeroed, its name copied in and cut to fit
 * (no printf, no zeroing of the whole table: this runs at every block
 * handler). */
static struct mirage_monitor *new_monitor(struct mirage_monitor *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	if (name)
		memcpy(m->name, name, strnlen(name, sizeof(m->name) - 1));
	return m;
}

/* Without a RandR request the monitor list is looked at this often (ms): a
 * driver may change its outputs on its own (a hotplug). */
#define MONITORS_RECHECK_MS 1000

/* An extension request is about to run (XACE_EXT_DISPATCH): a RandR one
 * may change the monitor list, so the next block handler looks at it.
 * (RandR's entry is looked up by mirror_start, at the first block handler,
 * before any client can send a request.) */
static void randr_request(CallbackListPtr *list, void *data, void *call)
{
	struct mx_screen *ms = data;
	const XaceExtAccessRec *rec = call;

	(void)list;
	if (rec->ext && rec->ext == ms->mon.randr_ext)
		ms->mon.dirty = true;
}

/*
 * Keeps the surface header's monitor table equal to the RandR 1.5 monitor
 * list: the user-defined monitors, then one per active CRTC whose outputs
 * none of them claims (the server builds the same list in
 * RRMonitorMakeList, which it does not export to modules).  Only after a
 * RandR request, a resize or a second without a look: this runs at every
 * block handler, and reading the RandR state after the server slept costs
 * cache misses on every pointer it follows.
 */
void mx_monitors_update(struct mx_screen *ms)
{
	struct mirage_monitor mon[MIRAGE_MONITORS_MAX];
	uint32_t n = 0;
	rrScrPrivPtr rp = NULL;
	CARD32 now = GetTimeInMillis();

	if (ms->mon.known && ms->mon.randr_cb && !ms->mon.dirty &&
	    now - ms->mon.checked < MONITORS_RECHECK_MS)
		return;
	ms->mon.dirty = false;
	ms->mon.checked = now;
	if (dixPrivateKeyRegistered(rrPrivKey))
		rp = rrGetScrPriv(ms->screen);
	if (rp) {
		for (int m = 0; m < rp->numMonitors && n < MIRAGE_MONITORS_MAX; m++) {
			const RRMonitorRec *um = rp->monitors[m];
			struct mirage_monitor *mm = new_monitor(&mon[n++], NameForAtom(um->name));

			mm->rect.left = um->geometry.box.x1;
			mm->rect.top = um->geometry.box.y1;
			mm->rect.right = um->geometry.box.x2;
			mm->rect.bottom = um->geometry.box.y2;
			if (um->primary)
				mm->flags |= MIRAGE_MONITOR_PRIMARY;
		}
		for (int i = 0; i < rp->numCrtcs && n < MIRAGE_MONITORS_MAX; i++) {
			RRCrtcPtr crtc = rp->crtcs[i];
			struct mirage_monitor *mm;
			int w, h;

			if (!crtc || !crtc->mode || crtc->numOutputs < 1 || crtc_claimed(rp, crtc))
				continue;
			w = crtc->mode->mode.width;
			h = crtc->mode->mode.height;
			if (crtc->rotation & (RR_Rotate_90 | RR_Rotate_270)) {
				int t = w;
				w = h;
				h = t;
			}
			mm = new_monitor(&mon[n++], crtc->outputs[0]->name);
			mm->rect.left = crtc->x;
			mm->rect.top = crtc->y;
			mm->rect.right = crtc->x + w;
			mm->rect.bottom = crtc->y + h;
			if (rp->primaryOutput && rp->primaryOutput->crtc == crtc)
				mm->flags |= MIRAGE_MONITOR_PRIMARY;
		}
	}
	if (n == 0) {
		/* No RandR CRTC: the screen is one monitor. */
		new_monitor(&mon[0], NULL);
		mon[0].rect.right = ms->width;
		mon[0].rect.bottom = ms->height;
		mon[0].flags = MIRAGE_MONITOR_PRIMARY;
		snprintf(mon[0].name, sizeof(mon[0].name), "screen%d", ms->screen->myNum);
		n = 1;
	}
	if (ms->mon.known && n == ms->mon.count &&
	    memcmp(mon, ms->mon.table, n * sizeof(mon[0])) == 0)
		return;
	if (mirage_driver_set_monitors(ms->drv, mon, n) < 0) {
		LogMessage(X_WARNING, "mirage: %s: monitor layout not published: %s\n",
			   ms->name, mirage_last_error());
		return;
	}
	memcpy(ms->mon.table, mon, n * sizeof(mon[0]));
	ms->mon.count = n;
	ms->mon.known = true;
}

void mx_monitors_init(struct mx_screen *ms)
{
	/* Without it the monitor list is looked at every block handler. */
	ms->mon.randr_cb = XaceRegisterCallback(XACE_EXT_DISPATCH, randr_request, ms);
}

void mx_monitors_start(struct mx_screen *ms)
{
	ms->mon.randr_ext = CheckExtension(RANDR_NAME); /* NULL without RandR */
}

void mx_monitors_finish(struct mx_screen *ms)
{
	if (ms->mon.randr_cb)
		XaceDeleteCallback(XACE_EXT_DISPATCH, randr_request, ms);
	ms->mon.randr_cb = false;
}
