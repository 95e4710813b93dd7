#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""noVNC in headless Chromium, checked against the mirror surface.

    browser-check.py --url URL --snapshot 'miragectl snapshot NAME {}' \
        [--timeout S] [--workload CMD ...] [--chromium-arg ARG ...]

Starts Chromium (headless, its own profile in a temp dir) with the DevTools
protocol on a pipe (--remote-debugging-pipe: no port, no WebSocket client
needed), opens URL (the noVNC page served by mirage-vnc), and waits until
noVNC is connected and the SHA-256 of its canvas pixels (RGB) equals that of
a surface snapshot (a binary PPM written by the --snapshot command, {} is
the file).  Then runs each workload and waits for equality again.  Prints
one line per phase; exit status 0 when every phase ended equal, 1 if not.
Standard library only.
"""
import argparse
import base64
import fcntl
import hashlib
import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

CANVAS_JS = r"""
(async () => {
  const root = document.documentElement;
  const st = document.getElementById('noVNC_status');
  const c = document.querySelector('#noVNC_container canvas');
  const out = {
    connected: root.classList.contains('noVNC_connected'),
    status: st ? st.textContent : '',
    w: 0, h: 0, hash: ''
  };
  if (!c || !c.width || !c.height) return out;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const rgb = new Uint8Array(c.width * c.height * 3);
  for (let i = 0, j = 0; i < d.length; i += 4) {
    rgb[j++] = d[i]; rgb[j++] = d[i + 1]; rgb[j++] = d[i + 2];
  }
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', rgb));
  out.w = c.width; out.h = c.height;
  out.hash = Array.from(h, b => b.toString(16).padStart(2, '0')).join('');
  return out;
})()
"""

PIXELS_JS = r"""
(() => {
  const c = document.querySelector('#noVNC_container canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 4)
    s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
  return btoa(s);
})()
"""


class DevTools:
    """The DevTools protocol over Chromium's pipe: NUL-terminated JSON."""

    def __init__(self, chromium, args, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4: move
        # the child's ends out of the way first, then into place.
        hi_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 20)
        hi_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 20)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def fds():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)
        self.proc = subprocess.Popen(
            [chromium] + args + ["--user-data-dir=" + profile,
                                 "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(profile, "chromium.log"), "wb"),
            preexec_fn=fds, pass_fds=(3, 4))
        os.close(hi_r)
        os.close(hi_w)
        self.buf = b""
        self.next_id = 0

    def call(self, method, params=None, session=None, timeout=10):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                ans = json.loads(raw)
                if ans.get("id") == self.next_id:
                    if "error" in ans:
                        raise RuntimeError("%s: %s" % (method, ans["error"]))
                    return ans.get("result", {})
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(method)
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if r:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buf += chunk

    def close(self):
        try:
            self.call("Browser.close", timeout=3)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    # P6 <ws> W <ws> H <ws> 255 <one ws> pixels (miragectl writes no comments)
    parts = data.split(maxsplit=4)
    if parts[0] != b"P6" or int(parts[3]) != 255:
        raise ValueError("%s: not an 8-bit P6 PPM" % path)
    w, h = int(parts[1]), int(parts[2])
    return w, h, data[len(data) - w * h * 3:]


def snapshot(cmd, tmp):
    path = os.path.join(tmp, "surface.ppm")
    subprocess.run(cmd.replace("{}", shlex.quote(path)), shell=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return read_ppm(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--workload", action="append", default=[])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--chromium-arg", action="append", default=[],
                    help="one more Chromium argument (e.g. --ignore-certificate-errors)")
    opt = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="browser-check.")
    dt = None
    ok = True
    try:
        dt = DevTools(opt.chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--window-size=1400,1000"] + opt.chromium_arg, tmp)
        target = dt.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = dt.call("Target.attachToTarget",
                          {"targetId": target, "flatten": True})["sessionId"]
        dt.call("Page.navigate", {"url": opt.url}, session)

        def canvas():
            r = dt.call("Runtime.evaluate", {
                "expression": CANVAS_JS,
                "awaitPromise": True, "returnByValue": True}, session)
            return r.get("result", {}).get("value") or {}

        def settle(phase, t0):
            last = {}
            want = None
            while time.monotonic() - t0 < opt.timeout:
                try:
                    last = canvas()
                except RuntimeError:
                    last = {}  # the page is still loading
                if last.get("hash"):
                    w, h, px = snapshot(opt.snapshot, tmp)
                    want = (w, h, hashlib.sha256(px).hexdigest())
                    if (last["w"], last["h"], last["hash"]) == want:
                        print("%s: equal=1 connected=%d size=%dx%d after %.1f s" % (
                            phase, last["connected"], w, h, time.monotonic() - t0))
                        return True
                time.sleep(0.25)
            diff = -1
            if want and last.get("w") == want[0] and last.get("h") == want[1]:
                r = dt.call("Runtime.evaluate", {"expression": PIXELS_JS,
                                                 "returnByValue": True}, session)
                got = base64.b64decode(r["result"]["value"].encode("latin-1"))
                _, _, px = snapshot(opt.snapshot, tmp)
                diff = sum(1 for i in range(0, len(px), 3) if got[i:i + 3] != px[i:i + 3])
            print("%s: equal=0 connected=%s status=%r canvas=%sx%s surface=%s "
                  "differing_pixels=%d" % (
                      phase, last.get("connected"), last.get("status"), last.get("w"),
                      last.get("h"), "%dx%d" % want[:2] if want else "?", diff))
            return False

        ok = settle("connect", time.monotonic())
        for i, cmd in enumerate(opt.workload):
            if not ok:
                break
            t0 = time.monotonic()
            subprocess.run(cmd, shell=True, check=True)
            ok = settle("workload %d" % (i + 1), t0)
    except Exception as e:  # a failure of the harness is a failure too
        print("browser-check: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        ok = False
    finally:
        if dt:
            dt.close()
        if not ok:
            try:
                with open(os.path.join(tmp, "chromium.log"), "rb") as f:
                    tail = f.read()[-2000:]
                sys.stderr.write(tail.decode(errors="replace"))
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
