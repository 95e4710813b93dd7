#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seeds of fuzz-screencast (fuzz/screencast.c) into
fuzz/corpus/screencast: the answers mutter 43.8 gave (headless, with
--virtual-monitor 1280x800 --virtual-monitor 1024x768), in the target's
input encoding, and a few neighbours of them.  Run it by hand after a
change to the encoding:  python3 fuzz/screencast-seeds.py"""
import os
import struct

MONITOR = "((ssss)a(siiddada{sv})a{sv})"
LOGICAL = "(iiduba(ssss)a{sv})"
# The 'g' values the decoder picks from, by index.
SIGNATURES = ["", "s", "a{sv}", "(ii)", MONITOR, "v", "aay"]


def complete(sig, at=0):
    """The end of the complete type at sig[at]."""
    c = sig[at]
    if c == "a":
        return complete(sig, at + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        at += 1
        while sig[at] != close:
            at = complete(sig, at)
        return at + 1
    return at + 1


def types(sig):
    at = 0
    while at < len(sig):
        end = complete(sig, at)
        yield sig[at:end]
        at = end


def text(s):
    b = s.encode()
    assert len(b) < 256 and all(0 < c < 0x80 for c in b)
    return bytes([len(b)]) + b


def value(sig, v):
    """The encoding of value v of the complete type sig."""
    c = sig[0]
    if c in "yb":
        return bytes([int(v)])
    if c in "nq":
        return struct.pack("<H", v & 0xFFFF)
    if c in "iu":
        return struct.pack("<I", v & 0xFFFFFFFF)
    if c in "xt":
        return struct.pack("<Q", v & (2**64 - 1))
    if c == "d":
        return struct.pack("<d", v)
    if c == "s":
        return text(v)
    if c == "o":
        return bytes([0 if v == "/" else int(v.rsplit("/", 1)[1])])
    if c == "g":
        return bytes([SIGNATURES.index(v)])
    if c == "v":
        inner, x = v
        return text(inner) + value(inner, x)
    if c == "a":
        assert len(v) < 32
        return bytes([len(v)]) + b"".join(value(sig[1:], x) for x in v)
    # A struct or dict entry: a tuple of its fields.
    fields = list(types(sig[1:-1]))
    assert len(fields) == len(v)
    return b"".join(value(t, x) for t, x in zip(fields, v))


def seed(want, sig, values, size=0):
    """size: 0 for MIRAGE_MONITOR_NAME_MAX, else the buffer's size."""
    head = bytes([0x80 + size if size else 0]) + want.encode() + b"\0" + sig.encode() + b"\0"
    return head + b"".join(value(t, v) for t, v in zip(types(sig), values))


def monitor(connector, serial, w, h):
    modes = [(f"{w}x{h}@60.000", w, h, 60.0, 1.0, [1.0],
              [("is-current", ("b", 1)), ("is-preferred", ("b", 1))])]
    props = [("is-builtin", ("b", 0)), ("display-name", ("s", "MetaVendor"))]
    return ((connector, "MetaVendor", "MetaVirtualMonitor", serial), modes, props)


def logical(x, primary, connector, serial):
    return (x, 0, 1.0, 0, primary, [(connector, "MetaVendor", "MetaVirtualMonitor", serial)], [])


def current_state(connectors):
    sizes = [(1280, 800), (1024, 768)]
    mons = [monitor(c, f"0x{i:02x}", *sizes[i % 2]) for i, c in enumerate(connectors)]
    logs = [logical(1280 * i, int(i == 0), c, f"0x{i:02x}") for i, c in enumerate(connectors)]
    props = [("layout-mode", ("u", 2)), ("legacy-ui-scaling-factor", ("i", 1))]
    return [2, mons, logs, props]


STATE = "ua" + MONITOR + "a" + LOGICAL + "a{sv}"
MUTTER_PARAMS = [("position", ("(ii)", (1280, 0))), ("size", ("(ii)", (1024, 768))),
                 ("output-name", ("s", "Meta-1"))]
SEEDS = {
    # GetCurrentState with its two monitors, Meta-1 asked for.
    "current-state": seed("Meta-1", STATE, current_state(["Meta-0", "Meta-1"])),
    # One unnamed and one long monitor, the first asked for, a buffer of 8.
    "current-state-one": seed("", STATE, current_state(["", "DisplayPort-10"]), size=8),
    # No monitor (every output off).
    "current-state-none": seed("DP-1", STATE, current_state([])),
    # A RecordMonitor stream's Parameters, as sd_bus_get_property has it.
    "parameters-monitor": seed("", "v", [("a{sv}", MUTTER_PARAMS)]),
    # A RecordVirtual stream's: empty.
    "parameters-virtual": seed("", "v", [("a{sv}", [])]),
    # The Parameters not in a variant.
    "parameters-plain": seed("", "a{sv}", [MUTTER_PARAMS]),
    # Keys of other types, an empty size, a path and a signature.
    "parameters-odd": seed("", "a{sv}og", [[
        ("position", ("(uu)", (1, 2))), ("size", ("(ii)", (0, 480))),
        ("size", ("(iii)", (3, 4, 5))), ("position", ("(ii)", (-1024, -20))),
        ("scale", ("d", 2.0)), ("size", ("(ii)", (640, 480)))], "/o/7", "a{sv}"]),
    # The logical monitors' list where the monitors belong.
    "shape-logical": seed("Meta-0", "ua" + LOGICAL,
                          [2, [logical(0, 1, "Meta-0", "0x00")]]),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "screencast")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
