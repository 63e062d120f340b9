#!/usr/bin/env python3
"""tun_side.py — what a host's own applications hand the TUN, for
test_tun_side.sh.

  uso-link KIND DEV [IFADDR]   5 UDP_SEGMENT (USO) sends of 4 x 300 bytes
                               that must stay on the link: KIND bcast
                               (255.255.255.255), mcast (239.1.2.3, out of
                               the interface with IPv4 address IFADDR), ll6
                               (from DEV's IPv6 link-local address to
                               fd99::1)
  uso-unreach DST              a connected UDP socket with IP_RECVERR sends 3
                               USO superframes to DST; prints the errors the
                               sender saw (an ICMP unreachable: EHOSTUNREACH)
  tcp sink|send ADDR PORT N EXT  N bytes over TCP with an IPv6 destination
                               options header of EXT bytes on every packet
                               (0: none); both print the data's SHA-256
"""
import errno
import hashlib
import random
import re
import socket
import subprocess
import sys
import time

UDP_SEGMENT = 103


def uso_link(kind, dev, ifaddr=None):
    if kind == "ll6":
        out = subprocess.run(["ip", "-6", "addr", "show", "dev", dev, "scope", "link"],
                             capture_output=True, text=True, check=True).stdout
        ll = re.search(r"inet6 (fe80::[0-9a-f:]+)/", out).group(1)
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind((ll, 0, 0, socket.if_nametoindex(dev)))
        dst = ("fd99::1", 5002)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if kind == "bcast":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            dst = ("255.255.255.255", 5001)
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 5)
            dst = ("239.1.2.3", 5000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, 300)
    for _ in range(5):
        s.sendto(b"L" * 1200, dst)
    print("sent")


def uso_unreach(dst):
    v6 = ":" in dst
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, 25, 1)  # IPV6_RECVERR
    else:
        s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
    s.connect((dst, 9))
    s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, 500)
    errs = []
    for _ in range(3):
        try:
            s.send(b"u" * 2000)
        except OSError as e:
            errs.append(errno.errorcode[e.errno])
        time.sleep(0.3)
    s.setblocking(False)
    try:
        s.recv(100)
    except OSError as e:
        errs.append(errno.errorcode[e.errno])
    print("errors:", " ".join(errs) or "none")


def dstopts(sock, ext):
    """A destination options header of |ext| bytes (a multiple of 8) of
    unknown options the receiver skips."""
    if not ext:
        return
    rest, opts = ext - 2, b""
    while rest:
        k = min(rest - 2, 255)
        if 0 < rest - (k + 2) < 2:
            k -= 2
        opts += bytes([0x1e, k]) + b"\xaa" * k
        rest -= k + 2
    sock.setsockopt(socket.IPPROTO_IPV6, 59, bytes([0, ext // 8 - 1]) + opts)  # IPV6_DSTOPTS


def tcp(role, addr, port, n, ext):
    h = hashlib.sha256()
    if role == "sink":
        ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        dstopts(ls, ext)
        ls.bind((addr, port))
        ls.listen(1)
        ls.settimeout(60)
        c, _ = ls.accept()
        c.settimeout(60)
        got = 0
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            h.update(b)
            got += len(b)
        print("got %d sha %s" % (got, h.hexdigest()[:16]))
        return
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    dstopts(s, ext)
    s.settimeout(60)
    for _ in range(50):
        try:
            s.connect((addr, port))
            break
        except OSError:
            time.sleep(0.1)
    rnd, left = random.Random(42), n
    while left:
        b = rnd.randbytes(min(left, 1 << 16))
        h.update(b)
        s.sendall(b)
        left -= len(b)
    s.close()
    print("got %d sha %s" % (n, h.hexdigest()[:16]))


def main():
    cmd = sys.argv[1]
    if cmd == "uso-link":
        uso_link(*sys.argv[2:5])
    elif cmd == "uso-unreach":
        uso_unreach(sys.argv[2])
    elif cmd == "tcp":
        tcp(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit("unknown command " + cmd)


main()
