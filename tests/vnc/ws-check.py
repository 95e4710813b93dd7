#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An RFB viewer over WebSocket (ws or wss), standard library only.

    ws-check.py --port N [--tls --cafile CERT] [--snapshot 'CMD {}']

Connects to 127.0.0.1:N, does the TLS handshake (with --tls, verifying the
server's certificate against --cafile), the WebSocket upgrade (subprotocol
"binary"), then RFB 3.8 with no authentication: checks that the first
WebSocket frame carries "RFB 003.008\\n", reads ServerInit, asks for a full
Raw update and, with --snapshot, compares it with the surface (a binary PPM
written by the command, {} is the file).  Prints one line; exit status 0
when everything held, 1 otherwise.
"""
import argparse
import base64
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocket:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""      # unread payload bytes
        self.frames = []    # the payloads of the frames received, in order

    def _raw(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed")
            data += chunk
        return data

    def handshake(self):
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
                          b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
                          b"Origin: http://127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += self._raw(1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0]:
            raise RuntimeError("no upgrade: " + lines[0])
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                for l in lines[1:] if ":" in l}
        if hdrs.get("sec-websocket-accept") != accept:
            raise RuntimeError("bad Sec-WebSocket-Accept")

    def _frame(self):
        b0, b1 = self._raw(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._raw(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._raw(8))[0]
        mask = self._raw(4) if b1 & 0x80 else None
        data = self._raw(n)
        if mask:
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        op = b0 & 0x0F
        if op == 8:
            raise EOFError("WebSocket close")
        if op in (0, 1, 2):
            self.frames.append(data)
            self.buf += data

    def read(self, n):
        while len(self.buf) < n:
            self._frame()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data):
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x82]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack(">H", n))
        self.sock.sendall(hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    if parts[0] != b"P6":
        raise RuntimeError("not a binary PPM")
    return int(parts[1]), int(parts[2]), data[pos + 1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--snapshot")
    ap.add_argument("--timeout", type=float, default=10)
    opt = ap.parse_args()

    sock = socket.create_connection(("127.0.0.1", opt.port), timeout=opt.timeout)
    version = ""
    if opt.tls:
        ctx = ssl.create_default_context(cafile=opt.cafile)
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        version = sock.version() + " "
    ws = WebSocket(sock)
    ws.handshake()
    pv = ws.read(12)
    if pv != b"RFB 003.008\n" or not ws.frames[0].startswith(pv):
        raise RuntimeError("first frame %r" % ws.frames[0][:16])
    ws.send(b"RFB 003.008\n")
    ntypes = ws.read(1)[0]
    types = ws.read(ntypes)
    if 1 not in types:
        raise RuntimeError("no None security type: %r" % list(types))
    ws.send(b"\x01")
    if struct.unpack(">I", ws.read(4))[0] != 0:
        raise RuntimeError("security failed")
    ws.send(b"\x01")  # shared
    w, h = struct.unpack(">HH", ws.read(4))
    bpp, _, big, _, rmax, gmax, bmax, rs, gs, bs = struct.unpack(">BBBBHHHBBB3x", ws.read(16))
    name = ws.read(struct.unpack(">I", ws.read(4))[0]).decode("utf-8", "replace")
    if bpp != 32:
        raise RuntimeError("%d bits per pixel" % bpp)
    # SetEncodings: Raw, and the cursor apart (RichCursor, PointerPos):
    # without these libvncserver draws the cursor into the pixels.
    ws.send(struct.pack(">BxH3i", 2, 3, 0, -239, -232))
    ws.send(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
    fb = bytearray(w * h * 3)
    covered = 0
    while covered < w * h:
        mtype = ws.read(1)[0]
        if mtype != 0:
            raise RuntimeError("message type %d" % mtype)
        ws.read(1)
        for _ in range(struct.unpack(">H", ws.read(2))[0]):
            x, y, rw, rh, enc = struct.unpack(">HHHHi", ws.read(12))
            if enc == -232:
                continue
            if enc == -239:
                ws.read(rw * rh * 4 + (rw + 7) // 8 * rh)
                continue
            if enc != 0:
                raise RuntimeError("encoding %d" % enc)
            px = ws.read(rw * rh * 4)
            fmt = (">" if big else "<") + "%dI" % (rw * rh)
            for i, v in enumerate(struct.unpack(fmt, px)):
                o = ((y + i // rw) * w + x + i % rw) * 3
                fb[o] = ((v >> rs) & rmax) * 255 // rmax
                fb[o + 1] = ((v >> gs) & gmax) * 255 // gmax
                fb[o + 2] = ((v >> bs) & bmax) * 255 // bmax
            covered += rw * rh
    result = "%s%dx%d %r first_frame=%d bytes" % (version, w, h, name, len(ws.frames[0]))
    if opt.snapshot:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "surface.ppm")
            subprocess.run(opt.snapshot.replace("{}", path), shell=True, check=True)
            sw, sh, pixels = read_ppm(path)
        differ = sum(1 for i in range(0, min(len(pixels), len(fb)), 3)
                     if pixels[i:i + 3] != fb[i:i + 3])
        if (sw, sh) != (w, h) or differ:
            print(result + " differing_pixels=%d" % differ)
            return 1
        result += " equal to the surface"
    print(result)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, EOFError, RuntimeError, ssl.SSLError) as e:
        print("ws-check: %s: %s" % (type(e).__name__, e))
        sys.exit(1)
