#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the fuzzer's seed corpus (tools/testing/fuzz-corpus/),
deterministically.

    python3 tools/testing/tests/fuzz-seeds.py tools/testing/fuzz-corpus

Each seed is a program in the input format of tools/testing/tests/fuzz.c:
enough inserts to split leaves and build layers, then scans, cursor walks with
writes in between, injected allocation failures and erases, so that
fuzzing starts from deep trees rather than from one-key maps. Seeds stay
within MAX_LEN bytes, the -max_len that make check and make fuzz use.
"""
import os
import random
import sys

# Operations (the low 4 bits of an op byte) as in fuzz.c.
INSERT, STORE, STORE_NULL, CX_CURRENT, CX_NULL, CX_WRONG, CX_TO_NULL, \
    ERASE, LOAD, SCAN, SEEK, NEXT, PREV, CUR_RESET, CHECK, LOAD2 = range(16)
INJECT = 0x80
PRELOAD = 0x40
MAX_LEN = 2048


def fresh(rng, n):
    """A fresh key of n bytes (n <= 32 + 56)."""
    if n <= 32:
        return bytes([0, n]) + bytes(rng.randrange(256) for _ in range(n))
    extra = (n - 32 + 7) // 8
    return bytes([0x40, 32, extra]) + bytes(rng.randrange(256)
                                            for _ in range(32 + 8 * extra))


def intkey(i):
    """An 8-byte big-endian integer key."""
    return bytes([0, 8]) + i.to_bytes(8, "big")


def layered(rng):
    """A key under one of the shared prefixes, two-letter tail."""
    pfx = rng.randrange(4)
    tail = rng.randrange(11)
    return bytes([3 | pfx << 2 | tail << 4]) + bytes(
        rng.randrange(256) for _ in range(tail))


def present(rng):
    """A key of the reference, by index."""
    return bytes([1, rng.randrange(256)])


def neighbour(rng):
    """A present key cut, extended, or with its last byte moved."""
    m = 2 | rng.randrange(3) << 2 | rng.choice([0, 0x80])
    return bytes([m, rng.randrange(256), rng.randrange(256)])


def any_key(rng, shape):
    r = rng.randrange(10)
    if r < 3:
        return present(rng)
    if r < 5:
        return neighbour(rng)
    return shape(rng)


def op(code, key, extra=b"", inject=0, preload=False):
    b = code | (PRELOAD if preload else 0)
    if inject:
        return bytes([b | INJECT, inject - 1]) + key + extra
    return bytes([b]) + key + extra


def program(rng, shape, nkeys, nops):
    out = bytearray()
    for _ in range(nkeys):
        out += op(INSERT, shape(rng), preload=rng.randrange(8) == 0)
    out += op(CHECK, present(rng))
    for _ in range(nops):
        r = rng.randrange(100)
        k = any_key(rng, shape)
        inj = 1 + rng.randrange(4) if rng.randrange(10) == 0 else 0
        if r < 15:
            out += op(INSERT, k, inject=inj)
        elif r < 25:
            out += op(rng.choice([STORE, STORE_NULL]), k, inject=inj)
        elif r < 35:
            out += op(rng.choice([CX_CURRENT, CX_NULL, CX_WRONG, CX_TO_NULL]),
                      k, inject=inj)
        elif r < 50:
            out += op(ERASE, k)
        elif r < 55:
            out += op(LOAD, k)
        elif r < 65:
            out += op(SCAN, k, bytes([rng.randrange(32), rng.randrange(256)])
                      + any_key(rng, shape), inject=inj)
        elif r < 72:
            out += op(SEEK, k, bytes([rng.randrange(6), rng.randrange(32)])
                      + any_key(rng, shape), inject=inj)
        elif r < 95:
            out += op(rng.choice([NEXT, PREV]), present(rng), inject=inj)
        elif r < 97:
            out += op(CUR_RESET, present(rng))
        else:
            out += op(CHECK, present(rng))
    return bytes(out)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tools/testing/fuzz-corpus"
    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(6)
    counter = iter(range(1 << 30))
    shapes = {
        "int8": lambda r: intkey(next(counter) * 7919 % 65536),
        "rand16": lambda r: fresh(r, 16),
        "layered": layered,
        "long": lambda r: fresh(r, rng.choice([24, 40, 64, 80])),
        "mixed": lambda r: rng.choice([layered(r), fresh(r, r.randrange(33)),
                                       intkey(r.randrange(1 << 16))]),
    }
    n = 0
    for name, shape in shapes.items():
        for i, size in enumerate((8, 20, 40, 70, 120, 200)):
            data = program(rng, shape, size, size * 2)
            while len(data) > MAX_LEN:
                size = size * 4 // 5
                data = program(rng, shape, size, size * 2)
            # Named by position: two sizes may shrink to the same one.
            with open(os.path.join(outdir, "%s-%d-%03d" % (name, i, size)),
                      "wb") as f:
                f.write(data)
            n += 1
    print("fuzz-seeds: wrote %d seeds to %s" % (n, outdir))


if __name__ == "__main__":
    main()
