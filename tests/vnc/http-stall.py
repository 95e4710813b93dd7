#!/usr/bin/env python3
# Stalled HTTP clients against mirage-vnc's HTTP server (test-http-stall.sh).
#   http-stall.py flood PORT   40 stalled connections from 127.0.0.1 (one
#                              trickling a byte a second), then checks that
#                              127.0.0.2 is served at once, and 127.0.0.1
#                              again after the head deadline
#   http-stall.py hold PORT    opens stalled connections, prints "held",
#                              then keeps them open until killed
import socket
import sys
import threading
import time

STALLED = 40
DEADLINE = 5  # http.c's HTTP_HEAD_S


def connect(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def get(port, src, path="/vnc.html"):
    """Status code and seconds taken for one whole GET from src."""
    t0 = time.monotonic()
    s = connect(port, src)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n" % path.encode())
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except OSError as e:
            return "error: %s" % e, time.monotonic() - t0
        if not chunk:
            break
        data += chunk
    s.close()
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    code = line.split(" ")[1] if line.startswith("HTTP/1.1 ") else "no answer (%r)" % line
    return code, time.monotonic() - t0


def trickle(port, result):
    """A byte a second of a head that never ends; when the server cut it off."""
    t0 = time.monotonic()
    s = connect(port, "127.0.0.1")
    s.settimeout(0.05)
    head = b"GET /vnc.html HTTP/1.1\r\nX-Slow: " + b"a" * 100
    for i in range(len(head)):
        try:
            s.send(head[i:i + 1])
            if s.recv(4096) is not None:
                break  # an answer (408) or the end: cut off
        except socket.timeout:
            pass
        except OSError:
            break
        time.sleep(1)
    result.append(time.monotonic() - t0)
    s.close()


def flood(port):
    bad = 0
    result = []
    t = threading.Thread(target=trickle, args=(port, result))
    t.start()
    time.sleep(0.2)
    held = []
    for _ in range(STALLED - 1):
        s = connect(port, "127.0.0.1")
        s.sendall(b"GET /vnc.html HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no empty line
        held.append(s)
    time.sleep(0.3)
    start = time.monotonic()

    code, took = get(port, "127.0.0.2")
    print("127.0.0.2 with %d stalled from 127.0.0.1: %s in %.3f s" % (STALLED, code, took))
    if code != "200" or took > 1:
        bad += 1
    code, took = get(port, "127.0.0.1")
    # A 503, or a reset when the request came after the server closed.
    print("127.0.0.1 over its cap: %s in %.3f s (refused at once)" % (code, took))
    if (code != "503" and "reset" not in code) or took > 1:
        bad += 1

    time.sleep(max(0, DEADLINE + 1 - (time.monotonic() - start)))
    code, took = get(port, "127.0.0.1")
    print("127.0.0.1 after the deadline: %s in %.3f s" % (code, took))
    if code != "200" or took > 1:
        bad += 1

    t.join(30)
    if not result or result[0] > DEADLINE + 1.5:
        print("the trickling client was not cut off at the deadline: %s" % result)
        bad += 1
    else:
        print("the trickling client (a byte a second) cut off after %.1f s" % result[0])
    for s in held:
        s.close()
    return 1 if bad else 0


def hold(port):
    held = []
    for src in ("127.0.0.1", "127.0.0.3"):
        for _ in range(10):
            s = connect(port, src)
            s.sendall(b"GET / HTTP/1.1\r\n")
            held.append(s)
    print("held", flush=True)
    time.sleep(60)
    return 0


if __name__ == "__main__":
    sys.exit({"flood": flood, "hold": hold}[sys.argv[1]](int(sys.argv[2])))
