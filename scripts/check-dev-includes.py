#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""/dev/masstree is a client of the core: masstree/dev/ includes nothing of it.

Each C file and header under masstree/dev/ may include:
  - "name.h" of a file in masstree/dev/ itself (no directory part);
  - <linux/masstree.h> and <uapi/linux/masstree.h>, the public headers;
  - <linux/masstree_faultset.h>, the test builds' fault sets, in the fault
    layer alone: a leaf shared with the core that knows neither layer;
  - any other <...> header of the kernel, as long as it names no path
    into this tree (no "..", no masstree/, kunit/ or testing headers, no
    other masstree header of include/).
Anything else (a core header such as "../node.h" or "internal.h") fails.

The device's own files are layered, each calling only those below it:

  dev (ioctls) > ops (key operations) > map (lifetime, registry) >
  debugfs > mtdev (the types, no functions) > account (caps, charges) >
  fault (test builds' fault injection)

A file may include only the headers of its own layer and those below:
a call up, which would close a circle, needs a prototype it cannot see.
A new file must be given its place in LAYERS.

Prints one PASS/FAIL line per file; exit 1 on a FAIL.

  check-dev-includes.py              check masstree/dev/
  check-dev-includes.py --self-test  plant bad includes in a copy; each
                                     must be rejected, and the copy as is
                                     must pass
"""
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV = os.path.join(ROOT, 'masstree', 'dev')
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
PUBLIC = {'linux/masstree.h', 'uapi/linux/masstree.h'}
# Headers of include/ that only the layers named may include.
RESTRICTED = {'linux/masstree_faultset.h': {'fault'}}
# Top to bottom: see the docstring.
LAYERS = ['dev', 'ops', 'map', 'debugfs', 'mtdev', 'account', 'fault']
# Headers of this tree that a <...> include could reach through -I.
FORBIDDEN_ANGLE = re.compile(r'(^|/)\.\.(/|$)|^masstree/|^kunit/|testing\.h$|'
                             r'(^|/)linux/masstree')


def problems(path, dev_dir):
    """What is wrong with @path's includes: a list of strings."""
    bad = []
    with open(path) as f:
        text = f.read()
    own = set(os.listdir(dev_dir))
    layer = os.path.splitext(os.path.basename(path))[0]
    if layer not in LAYERS:
        return [f'{layer} has no place in LAYERS']
    for m in INCLUDE.finditer(text):
        kind, name = m.group(1), m.group(2)
        if kind == '"':
            if '/' in name or name not in own:
                bad.append(f'"{name}" is not a header of masstree/dev/')
            elif os.path.splitext(name)[0] not in LAYERS:
                bad.append(f'"{name}" has no place in LAYERS')
            elif LAYERS.index(os.path.splitext(name)[0]) < LAYERS.index(layer):
                bad.append(f'"{name}" is above {layer} (a call up)')
        elif name in RESTRICTED:
            if layer not in RESTRICTED[name]:
                bad.append(f'<{name}> is for the {", ".join(sorted(RESTRICTED[name]))} layer alone')
        elif name not in PUBLIC and FORBIDDEN_ANGLE.search(name):
            bad.append(f'<{name}> reaches into this tree')
    return bad


def check(dev_dir, quiet=False):
    ok = True
    for f in sorted(os.listdir(dev_dir)):
        if not f.endswith(('.c', '.h')):
            continue
        bad = problems(os.path.join(dev_dir, f), dev_dir)
        if not quiet:
            print(f'FAIL dev-includes:masstree/dev/{f}: {"; ".join(bad)}' if bad
                  else f'PASS dev-includes:masstree/dev/{f}')
        ok = ok and not bad
    return ok


MUTANTS = [
    '#include "../node.h"\n',
    '#include "internal.h"\n',
    '#include "../testing.h"\n',
    '#include <../masstree/node.h>\n',
    '#include <kunit/visibility.h>\n',
    '#include "masstree/faultinject.h"\n',
    '#include <linux/masstree_faultset.h>\n',
    '#include <linux/masstree_internal.h>\n',
    '#include "ops.h"\n',
    '#include "dev.h"\n',
]


def self_test():
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, 'dev')
        shutil.copytree(DEV, copy)
        if not check(copy, quiet=True):
            print('FAIL dev-includes-self-test: the unchanged copy fails')
            return False
        target = os.path.join(copy, 'map.c')
        with open(target) as f:
            orig = f.read()
        for bad in MUTANTS:
            with open(target, 'w') as f:
                f.write(orig.replace('#include "map.h"\n',
                                     '#include "map.h"\n' + bad, 1))
            caught = not check(copy, quiet=True)
            print(f'PASS dev-includes-self-test: {bad.strip()} rejected' if caught
                  else f'FAIL dev-includes-self-test: {bad.strip()} accepted')
            ok = ok and caught
        with open(target, 'w') as f:
            f.write(orig)
    return ok


def main():
    if sys.argv[1:] == ['--self-test']:
        return 0 if self_test() else 1
    return 0 if check(DEV) else 1


if __name__ == '__main__':
    sys.exit(main())
