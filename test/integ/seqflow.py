#!/usr/bin/env python3
"""seqflow.py: a sequenced UDP flow, to count what a tunnel reorders.

  seqflow.py recv ADDR PORT       says "ready" on stderr once bound, and
                                  prints "RECEIVED OUT_OF_ORDER" once
                                  nothing came for 2 s
  seqflow.py send ADDR PORT COUNT SIZE BURST PAUSE_MS
                                  COUNT datagrams of SIZE bytes (a 4-byte
                                  sequence number first), a pause of
                                  PAUSE_MS after every BURST of them

A datagram counts as out of order when a later one came before it.
IPv4 only, as the tests that use it.
"""
import socket
import struct
import sys
import time


def recv(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((addr, port))
    print("ready", file=sys.stderr, flush=True)
    s.settimeout(2)
    top, inv, n = -1, 0, 0
    try:
        while True:
            seq = struct.unpack("!I", s.recv(65536)[:4])[0]
            n += 1
            if seq < top:
                inv += 1
            top = max(top, seq)
    except socket.timeout:
        pass
    print(n, inv)


def send(addr, port, count, size, burst, pause_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = bytes(size - 4)
    for i in range(count):
        s.sendto(struct.pack("!I", i) + pad, (addr, port))
        if i % burst == burst - 1:
            time.sleep(pause_ms / 1000)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 8 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), *(int(a) for a in sys.argv[4:7]), float(sys.argv[7]))
    else:
        sys.exit(__doc__)
