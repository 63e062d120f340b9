#!/usr/bin/env python3
"""mkcorpus_gso.py — writes the seed corpus of fuzz_gso.c to test/fuzz/corpus/gso/.

Input format (see fuzz_gso.c): ctl(1) | virtio_net_hdr(10) | [le16 n if ctl&1] | rest.
Run once: python3 test/fuzz/mkcorpus_gso.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "gso")
SRC4, DST4 = bytes([10, 8, 0, 2]), bytes([10, 8, 0, 1])
SRC6 = bytes.fromhex("fd000000000000000000000000000002")
DST6 = bytes.fromhex("fd000000000000000000000000000001")


def vnet(flags=0, gso_type=0, hdr_len=0, gso_size=0, csum_start=0, csum_offset=0):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def tcp(seq=1000, flags=0x10, opts=b""):
    return struct.pack("!HHIIBBHHH", 40000, 5201, seq, 77, (5 + len(opts) // 4) << 4, flags,
                       512, 0, 0) + opts


def udp(plen):
    return struct.pack("!HHHH", 40000, 5201, 8 + plen, 0)


def ip4(l4, proto=6):
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4), 0x1234, 0x4000, 64, proto, 0) + \
        SRC4 + DST4 + l4


def ip6(l4, nh=6, plen=None):
    return struct.pack("!IHBB", 0x60000000, len(l4) if plen is None else plen, nh, 64) + \
        SRC6 + DST6 + l4


def pay(n):
    return bytes((i * 13 + 5) & 0xff for i in range(n))


def raw(p):
    return b"\x00" + struct.pack("<H", len(p)) + p


def derived(n, psh=False, xor=None):
    op = 0x80 | (0x40 if psh else 0) | (0x20 if xor else 0)
    rec = bytes([op]) + struct.pack("<H", n)
    if xor:
        rec += struct.pack("<HB", *xor)
    return rec


OPT = bytes([1, 1, 8, 10]) + b"\x00\x00\x00\x01\x00\x00\x00\x02"  # NOP NOP TS
seeds = {
    "tcp4_tso": b"\x00" + vnet(1, 1, 52, 1000, 20, 16) + ip4(tcp(opts=OPT, flags=0x18) + pay(3500)),
    "tcp6_tso": b"\x00" + vnet(1, 4, 60, 1200, 40, 16) + ip6(tcp(flags=0x99) + pay(5000)),
    "udp4_uso": b"\x00" + vnet(1, 5, 28, 1300, 20, 6) + ip4(udp(2900) + pay(2900), 17),
    "udp6_uso": b"\x00" + vnet(1, 5, 48, 700, 40, 6) + ip6(udp(1500) + pay(1500), 17),
    "tcp6_exthdr": b"\x00" + vnet(1, 4, 68, 500, 48, 16) +
        ip6(bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp() + pay(1800), nh=0),
    "plain4_csum": b"\x00" + vnet(1, 0, 0, 0, 20, 16) + ip4(tcp() + pay(333)),
    "plain6_nocsum": b"\x00" + vnet() + ip6(udp(20) + pay(20), 17),
    "trunc_tcp4": b"\x00" + vnet(1, 1, 40, 1000, 20, 16) + ip4(tcp() + pay(10))[:30],
    "vnet_only": b"\x00" + vnet(1, 4, 0, 1, 0xffff, 0xffff),
    # ctl&1: 200 bytes repeated to a 64 KiB IPv6 superframe
    "tcp6_64k": b"\x01" + vnet(1, 4, 60, 1400, 40, 16) + struct.pack("<H", 65535) +
        ip6(tcp(opts=OPT) + pay(128), plen=65535),
    "gro4_run": b"\x00" + vnet() + raw(ip4(tcp(seq=5000, opts=OPT) + pay(1000))) +
        derived(1000) * 4 + derived(400, psh=True) + derived(1000),
    "gro6_run": b"\x00" + vnet() + raw(ip6(tcp(seq=0xfffff000) + pay(1200))) +
        derived(1200) * 6 + derived(1300) + derived(1200),
    "gro4_mutate": b"\x00" + vnet() + raw(ip4(tcp(seq=1) + pay(500))) + derived(500) +
        derived(500, xor=(8, 1)) + raw(ip4(tcp(seq=9, flags=0x11) + pay(10))) + derived(10) +
        derived(10, xor=(33, 0x40)),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
