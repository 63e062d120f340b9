#!/usr/bin/env python3
"""mkcorpus_state.py — writes the seed corpora of fuzz_crlstate.c and
fuzz_lease.c to test/fuzz/corpus/{crlstate,lease}/: whole files as the
server writes them, and the accidents a crash, a cut or an edit leaves.

fuzz_lease.c's input: three selector bytes (clock, lifetime, end), then the
journal. Run once: python3 test/fuzz/mkcorpus_state.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = ("# ringvpn CRL state 1: the newest CRL taken of each CA key (SHA-256 of the key, "
          "cRLNumber or -, thisUpdate, that of a CRL without a number taken since, "
          "SHA-256 of the numbered CRL or -, check). Remove the file while the process is "
          "stopped to take an older CRL on purpose.\n")
LEASE_HEADER = ("# ringvpn lease journal v1: G|R ADDRESS END NAME (G: live, R: ended at END, "
                "seconds since the epoch)\n")


def fnv1a(b):
    h = 2166136261
    for c in b:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def line(key, number, tu, since, md):
    body = "%s %s %+020d %+020d %s" % (key.hex(), number.hex() if number is not None else "-" * 48,
                                       tu, since, md.hex() if md is not None else "-" * 64)
    return "%s %08x\n" % (body, fnv1a(body.encode()))


def write(sub, name, data):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


INT64_MIN = -(1 << 63)
k1, k2 = bytes(range(32)), bytes(range(32, 64))
n1 = bytes(23) + b"\x07"
big = bytes([0xFF] * 24)
md1 = bytes(range(100, 132))
good1 = line(k1, n1, 1800000000, INT64_MIN, md1)
good2 = line(k2, None, 1800000500, INT64_MIN, None)
good3 = line(k2, big, -1, 1800000600, md1)

write("crlstate", "empty", "")
write("crlstate", "header_only", HEADER)
write("crlstate", "header_cut", HEADER[:40])
write("crlstate", "one", HEADER + good1)
write("crlstate", "three", HEADER + good1 + good2 + good3)
write("crlstate", "last_cut", HEADER + good1 + good2[:100])
bad = list(good1)
bad[70] = "x"
write("crlstate", "bad_check", HEADER + "".join(bad) + good2)
write("crlstate", "upper_hex", HEADER + good1.upper()[:-9] + good1[-9:])
write("crlstate", "not_state", "G 10.99.0.2 0 client1\n")
write("crlstate", "many", HEADER + "".join(
    line(bytes([i]) * 32, bytes(23) + bytes([i]), 1800000000 + i, INT64_MIN, None)
    for i in range(70)))

journal = (LEASE_HEADER + "G 10.99.0.2 0 client1\n" + "R 10.99.0.3 1799999000 client2\n" +
           "G fd99::3 0 client1\n" + "R fd99::4 1800000100 client3\n")
for sel in ("000", "111", "222", "123"):
    write("lease", "journal_" + sel, sel + journal)
write("lease", "cut_name", "000" + LEASE_HEADER + "G fd99::3 0 client1")
write("lease", "bad_lines", "000" + LEASE_HEADER + "X 10.99.0.2 0 a\nG 10.99.0.300 0 a\n"
      "G 10.99.0.2 0 \nR 10.99.0.2 99999999999999999999999 a\nG 10.99.0.2 0 a b\n"
      "R 10.99.0.2 -9223372036854775808 a\n" + "G 10.99.0.9 0 " + "n" * 65 + "\n")
write("lease", "full", "012" + LEASE_HEADER + "".join(
    "%s 10.99.%d.%d %d c%d\n" % ("GR"[i % 2], i // 250, i % 250 + 2, 1800000000 - i, i % 7)
    for i in range(40)))
write("lease", "regrant", "010" + LEASE_HEADER + "G 10.99.0.2 0 a\nR 10.99.0.2 1799999990 a\n"
      "G 10.99.0.2 0 b\nR 10.99.0.2 1799999999 b\nR 10.99.0.2 1799999999 b\n")
