#!/usr/bin/env python3
"""notify_listen.py — a stand-in for systemd's NOTIFY_SOCKET in tests.

    notify_listen.py SOCKET_PATH OUT_FILE

Binds a unix datagram socket at SOCKET_PATH (mode 0666, so a process that
dropped root can still send), and appends each datagram received to
OUT_FILE as one line, its newline-separated assignments joined by '|'.
Exits after a datagram containing STOPPING=1 (plus 2 s for stragglers) or
after 120 s.
"""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
deadline = time.monotonic() + 120
with open(out, "a", buffering=1) as f:
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            msg = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            break
        f.write("|".join(msg.strip().split("\n")) + "\n")
        if "STOPPING=1" in msg.split("\n"):
            deadline = min(deadline, time.monotonic() + 2)
