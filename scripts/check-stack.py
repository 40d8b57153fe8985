#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""No recursion and bounded frames in the module, from gcc's call graph.

Reads the .ci files of gcc -fcallgraph-info=su and prints PASS/FAIL lines:
a cycle in the direct call graph (recursion, direct or mutual) fails, and
so does a frame over the limit or an unbounded dynamic one. Indirect calls
are invisible to gcc, so the core makes none on its paths.
Usage: check-stack.py [--limit BYTES] FILE.ci...
"""
import argparse
import re
import sys

NODE = re.compile(r'^node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'^edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--limit', type=int, default=512)
    p.add_argument('files', nargs='+')
    a = p.parse_args()
    frames, edges = {}, {}
    for path in a.files:
        for line in open(path):
            m = NODE.match(line)
            # Only defined functions carry "N bytes (kind)"; a callee's
            # name may contain "bytes" (prandom_bytes_state).
            size = m and re.search(r'(\d+) bytes \(([\w,]+)', m.group(2))
            if size:
                frames[m.group(1)] = (int(size.group(1)), size.group(2))
            m = EDGE.match(line)
            if m:
                edges.setdefault(m.group(1), set()).add(m.group(2))
    failed = 0
    for fn, (size, kind) in sorted(frames.items()):
        if size > a.limit or kind not in ('static', 'dynamic,bounded'):
            print(f'FAIL stack:frame:{fn}: {size} bytes ({kind}), limit {a.limit}')
            failed += 1
    print(f'PASS stack:frames: {len(frames)} functions within {a.limit} bytes'
          if not failed else f'FAIL stack:frames: {failed} over the limit')

    # Iterative DFS with colours: a grey target is a back edge, a cycle.
    colour, cycles = {}, []
    for root in sorted(edges):
        if colour.get(root):
            continue
        stack = [(root, iter(sorted(edges.get(root, ()))))]
        colour[root] = 'grey'
        while stack:
            fn, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[fn] = 'black'
                stack.pop()
            elif colour.get(nxt) == 'grey':
                path = [f for f, _ in stack]
                cycles.append(path[path.index(nxt):] + [nxt])
            elif not colour.get(nxt):
                colour[nxt] = 'grey'
                stack.append((nxt, iter(sorted(edges.get(nxt, ())))))
    for c in cycles:
        print(f'FAIL stack:recursion: {" -> ".join(c)}')
    if not cycles:
        print(f'PASS stack:no-recursion: {len(edges)} callers, no cycle')
    return 1 if failed or cycles else 0


if __name__ == '__main__':
    sys.exit(main())
