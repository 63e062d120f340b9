#!/usr/bin/env python3
"""mkcorpus_lpm.py — writes the seed corpus of fuzz_lpm.c to test/fuzz/corpus/lpm/.

Input format (see fuzz_lpm.c): family(1), then steps of
op(1) | len(1) | one byte per bit flip (op bits 5..4) | value(1), where a
length under 16 is written 0x80 | len and a longer one len - 16.
Run once: python3 test/fuzz/mkcorpus_lpm.py
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "lpm")
SET, REMOVE, LOOKUP = 0, 2, 3


def step(op, base, length, flips=(), value=0, invalid=False, cap=False):
    b = op | (base << 2) | (len(flips) << 4) | (0x40 if invalid else 0) | (0x80 if cap else 0)
    lb = 0x80 | length if length < 16 else length - 16
    return bytes([b, lb]) + bytes(flips) + bytes([value])


def write(name, family, steps):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([family]) + b"".join(steps))


def main():
    os.makedirs(OUT, exist_ok=True)
    # IPv4: nested prefixes at every trie level, replace, remove, fall back.
    write("v4_nested", 0, [
        step(SET, 0, 8, value=1), step(SET, 0, 16, value=2), step(SET, 1, 24, value=3),
        step(SET, 1, 32, flips=[31], value=4), step(SET, 1, 25, flips=[24], value=5),
        step(SET, 2, 32, value=6), step(SET, 1, 24, value=7), step(REMOVE, 0, 16),
        step(LOOKUP, 1, 0, flips=[30]), step(REMOVE, 1, 24), step(SET, 3, 0, value=2),
        step(SET, 3, 1, flips=[0], value=3), step(REMOVE, 3, 0),
    ])
    # IPv4: prefixes of 16 bits or fewer over existing subtrees.
    write("v4_short", 0, [
        step(SET, 1, 32, value=1), step(SET, 1, 28, value=2), step(SET, 0, 12, value=3),
        step(SET, 0, 15, value=4), step(SET, 0, 16, value=5), step(REMOVE, 0, 15),
        step(REMOVE, 0, 12), step(SET, 2, 17, flips=[16], value=6),
    ])
    # IPv6: host addresses in one /64, prefixes across the word boundary,
    # the last 4-bit stride, path-compressed splits.
    write("v6_hosts", 1, [
        step(SET, 0, 64, value=1), step(SET, 1, 128, value=2),
        step(SET, 1, 128, flips=[127], value=3), step(SET, 1, 128, flips=[126], value=4),
        step(SET, 1, 128, flips=[70], value=5), step(SET, 1, 124, value=6),
        step(SET, 3, 64, value=7), step(SET, 0, 65, flips=[64], value=1),
        step(REMOVE, 1, 128), step(LOOKUP, 1, 0, flips=[125]), step(REMOVE, 0, 64),
    ])
    write("v6_deep", 1, [
        step(SET, 2, 128, value=1), step(SET, 2, 127, value=2), step(SET, 2, 48, value=3),
        step(SET, 2, 128, flips=[40], value=4), step(SET, 2, 16, value=5),
        step(REMOVE, 2, 127), step(SET, 2, 100, flips=[99, 100], value=6),
    ])
    # Out of memory: a capped set fails, a capped removal degrades its /16,
    # the next update after the cap is lifted repairs it.
    write("v4_capped", 0, [
        step(SET, 0, 8, value=1), step(SET, 0, 24, value=2), step(SET, 1, 24, value=3),
        step(SET, 1, 32, flips=[31], value=4), step(SET, 1, 28, value=5, cap=True),
        step(REMOVE, 1, 32, flips=[31]), step(LOOKUP, 1, 0, flips=[30]),
        step(SET, 2, 24, value=6, cap=True), step(LOOKUP, 0, 0, flips=[31]),
    ])
    # A capped removal of a /16 whose longer prefixes share its value: leaf
    # pushing had folded them all into one plain direct word, which degrade
    # must still mark coarse (fuzz_lpm found this).
    write("v6_capped_equal", 1, [
        step(SET, 1, 36, value=0), step(SET, 0, 16, value=0), step(SET, 0, 34, value=0),
        step(REMOVE, 3, 16, cap=True), step(LOOKUP, 0, 0),
    ])
    # Invalid arguments: host bits set, lengths past the family.
    write("invalid", 0, [
        step(SET, 1, 16, invalid=True, value=1), step(REMOVE, 1, 8, invalid=True),
        step(SET, 0, 33, value=1), step(REMOVE, 0, 16),
    ])


if __name__ == "__main__":
    main()
