#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The core's headers point one way: each includes only headers below it.

LAYERS lists masstree/'s headers from the bottom up; a header may include
(with "...") only headers of lower layers. A header missing from the list
fails too, so that a new one is placed deliberately. One PASS/FAIL line
per header; --self-test plants an upward include and a stray header and
expects both to be caught.
"""
import os
import re
import sys
import tempfile

# Bottom first. Headers of one layer may not include each other.
LAYERS = [
    ["testing.h", "faultinject.h"],	# test hooks and fault sites: leaves
    ["version.h"],			# version word, node head, node lock
    ["node.h"],				# node layout, in-node search, lists
    ["permutation.h", "key.h"],		# permutation, key slices and suffixes
    ["internal.h"],			# walk position, write contexts, reserves
    ["walk.h"],				# the lockless read side, inlined
    ["debugfs.h"],			# the module's debugfs root
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check(root):
    rank = {h: i for i, layer in enumerate(LAYERS) for h in layer}
    fails = 0
    for name in sorted(os.listdir(root)):
        if not name.endswith(".h"):
            continue
        with open(os.path.join(root, name)) as f:
            text = f.read()
        if name not in rank:
            print(f"FAIL layers:{name}: not in scripts/check-layers.py's LAYERS")
            fails += 1
            continue
        bad = [inc for inc in INCLUDE.findall(text)
               if rank.get(os.path.basename(inc), len(LAYERS)) >= rank[name]]
        if bad:
            print(f"FAIL layers:{name}: includes {', '.join(bad)}, "
                  "not below it")
            fails += 1
        else:
            print(f"PASS layers:{name}")
    return fails


def self_test(root):
    with tempfile.TemporaryDirectory() as tmp:
        for name in os.listdir(root):
            if name.endswith(".h"):
                with open(os.path.join(root, name)) as f:
                    text = f.read()
                if name == "version.h":
                    text = '#include "internal.h"\n' + text
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
        with open(os.path.join(tmp, "stray.h"), "w") as f:
            f.write("/* not placed */\n")
        with open(os.devnull, "w") as null:
            out, sys.stdout = sys.stdout, null
            try:
                fails = check(tmp)
            finally:
                sys.stdout = out
    if fails == 2:
        print("PASS layers-self-test: an upward include and a stray header caught")
        return 0
    print(f"FAIL layers-self-test: {fails} failures, expected 2")
    return 1


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "masstree")
    if sys.argv[1:] == ["--self-test"]:
        return self_test(root)
    return 1 if check(root) else 0


if __name__ == "__main__":
    sys.exit(main())
