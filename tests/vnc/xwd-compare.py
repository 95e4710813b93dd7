#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares the top-left of a window screenshot with a surface snapshot.

    xwd-compare.py SHOT.xwd SURFACE.ppm [X Y]

SHOT.xwd is `xwd -id WINDOW` output (a 24/32 bpp ZPixmap); SURFACE.ppm a
binary PPM (`miragectl snapshot`).  Compares the surface with the window's
pixels at X,Y (default 0,0).  Prints the number of differing pixels (or
"size" when the window is smaller than the surface); exit 0 when equal.
"""
import struct
import sys


def read_xwd(path):
    data = open(path, "rb").read()
    f = struct.unpack(">25I", data[:100])
    header_size, fmt, bpp, bpl = f[0], f[2], f[11], f[12]
    width, height, byte_order, ncolors = f[4], f[5], f[7], f[19]
    masks = f[14:17]
    if fmt != 2 or bpp not in (24, 32):
        raise SystemExit("%s: format %d, %d bpp: not a true-colour ZPixmap" % (path, fmt, bpp))
    off = header_size + ncolors * 12
    return width, height, bpl, bpp // 8, byte_order, masks, data[off:]


def read_ppm(path):
    data = open(path, "rb").read()
    parts = data.split(maxsplit=4)
    w, h = int(parts[1]), int(parts[2])
    return w, h, data[len(data) - w * h * 3:]


def shift(mask):
    return (mask & -mask).bit_length() - 1


def main():
    ww, wh, bpl, bypp, order, masks, px = read_xwd(sys.argv[1])
    sw, sh, spx = read_ppm(sys.argv[2])
    ox, oy = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, 0)
    if ox + sw > ww or oy + sh > wh:
        print("size %dx%d window, %dx%d surface" % (ww, wh, sw, sh))
        return 1
    shifts = [shift(m) for m in masks]
    endian = "little" if order == 0 else "big"
    fast = bypp == 4 and order == 0 and tuple(masks) == (0xff0000, 0xff00, 0xff)
    diff = 0
    for y in range(sh):
        row = (oy + y) * bpl + ox * bypp
        srow = spx[y * sw * 3:(y + 1) * sw * 3]
        if fast:
            # B, G, R, X in memory: regroup to R, G, B.
            r = px[row:row + sw * 4]
            rgb = bytearray(sw * 3)
            rgb[0::3], rgb[1::3], rgb[2::3] = r[2::4], r[1::4], r[0::4]
            if rgb == srow:
                continue
            diff += sum(1 for x in range(sw) if rgb[x * 3:x * 3 + 3] != srow[x * 3:x * 3 + 3])
            continue
        for x in range(sw):
            v = int.from_bytes(px[row + x * bypp:row + x * bypp + bypp], endian)
            rgb = bytes(((v & m) >> s) & 0xff for m, s in zip(masks, shifts))
            if rgb != srow[x * 3:x * 3 + 3]:
                diff += 1
    print(diff)
    return 0 if diff == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
