#!/usr/bin/env python3
"""scrape.py: scrapes of a metrics endpoint, for the tests of its renderings.

  scrape.py same ADDR PORT N TRIES_FILE
      after a second without a scrape, N in a row; again (up to 3 times)
      while they took 0.9 s or more. Writes the rounds made to TRIES_FILE,
      prints how many distinct bodies came; exits 1 unless they are one.
  scrape.py loop ADDR PORT THREADS SECS
      THREADS scrapers, each in a loop for SECS; prints how many were
      answered 200; exits 1 if any got another answer than 200 or 503
      (every slot and the waiting room taken), or fewer than THREADS 200s.

One request per connection (HTTP/1.0), as the endpoint serves them.
"""
import socket
import sys
import threading
import time


def get(addr, port):
    """The whole response of one GET /metrics, head and body."""
    with socket.create_connection((addr, port)) as s:
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        return b"".join(iter(lambda: s.recv(1 << 20), b""))


def same(addr, port, n, tries_file):
    for attempt in range(3):
        time.sleep(1.1)  # the last rendering is more than a second old
        t0 = time.monotonic()
        bodies = [get(addr, port).split(b"\r\n\r\n", 1)[1] for _ in range(n)]
        dt = time.monotonic() - t0
        if dt < 0.9:
            break
        print("%d scrapes took %.2f s: again" % (n, dt))
    with open(tries_file, "w") as f:
        f.write("%d\n" % (attempt + 1))
    print("%d scrapes in %.3f s: %d distinct bodies of %d bytes"
          % (n, dt, len(set(bodies)), len(bodies[0])))
    return len(set(bodies)) == 1


def loop(addr, port, threads, secs):
    stop, ok, bad = time.monotonic() + secs, [0], []

    def scrape():
        while time.monotonic() < stop:
            r = get(addr, port)
            if r.startswith(b"HTTP/1.1 200 "):
                ok[0] += 1
            elif not r.startswith(b"HTTP/1.1 503 "):
                bad.append(r[:40])

    ts = [threading.Thread(target=scrape) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("%d scrapes answered 200 in %g s" % (ok[0], secs))
    if bad:
        print("other answers: %r" % bad[:3])
    return not bad and ok[0] >= threads


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "same":
        sys.exit(0 if same(a[2], int(a[3]), int(a[4]), a[5]) else 1)
    sys.exit(0 if loop(a[2], int(a[3]), int(a[4]), float(a[5])) else 1)
