/* SPDX-License-Identifier: MIT */
/* mirage-rec export when FFmpeg's libraries were not found at build time. */
#include "rec.h"

int rec_cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return rec_fail("this mirage-rec was built without FFmpeg (libavformat, libavcodec, "
			"libavutil, libswscale); export is not available");
}
