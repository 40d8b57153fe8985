#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Apply one edit of a mutant (scripts/mutate, scripts/mutate-kernel).

    mutate-apply.py FILE < SPEC

SPEC is the exact old text (whole lines), a line "====", and the new text.
The old text must occur exactly once in FILE, at the start of a line; any
other count is an error, so that a mutant whose text no longer matches the
sources fails loudly instead of silently testing nothing.
"""
import sys


def main():
    path = sys.argv[1]
    spec = sys.stdin.read()
    old, sep, new = spec.partition('====\n')
    if not sep or not old:
        sys.exit('bad mutant spec for ' + path)
    with open(path) as f:
        text = f.read()
    n = ('\n' + text).count('\n' + old)
    if n != 1:
        sys.exit('%s: old text matches %d times' % (path, n))
    with open(path, 'w') as f:
        f.write(text.replace(old, new, 1))


if __name__ == '__main__':
    main()
