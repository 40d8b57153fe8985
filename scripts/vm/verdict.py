#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge one VM run: the plan's reports, the KUnit KTAP, the console.

Prints one 'PASS name' or 'FAIL name: why' line per test to stdout and to
OUT/summary; exits 1 if anything failed. KTAP is parsed by the kernel
tree's kunit.py, not by this script; this script checks that the number of
cases kunit.py saw is the number the plan expected, since kunit.py can
accept malformed output.
"""
import argparse
import json
import os
import re
import subprocess
import sys

# Any of these on the console fails the run, whatever the tests said.
SPLATS = re.compile(
    r'(WARNING:|BUG:|Oops|Call Trace|Kernel panic|KASAN:|KCSAN:|UBSAN:'
    r'|circular locking dependency|possible recursive locking'
    r'|inconsistent lock state|suspicious RCU usage|lock held when returning'
    r'|possible irq lock inversion|bad unlock balance|held lock freed'
    r'|self-detected stall|rcu_preempt detected stall|soft lockup'
    r'|blocked for more than|unreferenced object|general protection fault'
    r'|masstree: .* leaked)')


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--plan', required=True)
    p.add_argument('--qemu-rc', type=int, required=True)
    p.add_argument('--timeout', type=int, required=True)
    p.add_argument('--kunit-tool', required=True)
    return p.parse_args()


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read().replace('\r', '')
    except FileNotFoundError:
        return ''


def blocks(lines, begin, end):
    """Yield (header words, body lines) of BEGIN ... END blocks."""
    cur = None
    for line in lines:
        if line.startswith(begin + ' ') or line == begin:
            cur = (line.split()[1:], [])
        elif line.startswith(end) and cur is not None:
            yield cur[0], cur[1], line.split()[1:]
            cur = None
        elif cur is not None:
            cur[1].append(line)


def drop_orphan_param_results(ktap):
    """Remove the nested result lines that 6.1 leaves without a header.

    In 6.1, a parameterised case's debugfs log keeps only its last
    parameter's nested "ok N param" line, without the "# Subtest:" and
    plan lines that would make it a subtest; kunit.py then misnumbers the
    suite and drops its last cases. The case's own result line carries the
    verdict of all its parameters, so the orphan lines add nothing.
    """
    out = []
    nested_header = False
    for line in ktap:
        if re.match(r'        (KTAP version|# Subtest:)', line):
            nested_header = True
        elif re.match(r'    (not )?ok \d+', line):
            nested_header = False
        elif re.match(r'        (not )?ok \d+', line) and not nested_header:
            continue
        out.append(line)
    return out


def kunit_cases(tool, ktap, workdir, tag):
    """Run kunit.py parse on one KTAP document; return [(case, status)]."""
    ktap = drop_orphan_param_results(ktap)
    src = os.path.join(workdir, f'{tag}.ktap')
    js = os.path.join(workdir, f'{tag}.json')
    with open(src, 'w') as f:
        f.write('\n'.join(ktap) + '\n')
    r = subprocess.run([sys.executable, os.path.join(tool, 'kunit.py'), 'parse',
                        '--json=' + js, src], capture_output=True, text=True)
    with open(os.path.join(workdir, f'{tag}.parsed'), 'w') as f:
        f.write(r.stdout + r.stderr)
    try:
        with open(js) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None, r.returncode
    cases = []
    todo = [data]
    while todo:
        g = todo.pop()
        todo.extend(g.get('sub_groups', []))
        for c in g.get('test_cases', []):
            cases.append((g['name'] + '.' + c['name'], c['status']))
    return cases, r.returncode


def main():
    a = parse_args()
    results = read(os.path.join(a.out, 'results.log')).splitlines()
    console = read(os.path.join(a.out, 'console.log'))
    plan = [l.split() for l in read(a.plan).splitlines()
            if l.strip() and not l.startswith('#')]
    verdict = []

    def record(ok, name, why=''):
        verdict.append(f'PASS {name}' if ok else f'FAIL {name}: {why}')

    if a.qemu_rc in (124, 137):
        record(False, 'vm', f'hung: no power-off within {a.timeout} s')
    elif a.qemu_rc == 0:
        record(False, 'vm', 'the guest rebooted (kernel panic?)')
    elif a.qemu_rc != 1 or 'PLAN-DONE' not in results:
        record(False, 'vm', f'plan did not finish (qemu exit {a.qemu_rc})')
    else:
        record(True, 'vm: plan ran to its end')

    for line in results:
        m = re.match(r'STATUS (.+) (\d+)$', line)
        if m:
            record(m.group(2) == '0', m.group(1), f'exit status {m.group(2)}')

    # KUnit: one KTAP document per suite; expected case counts from the plan.
    expected = {p[1][:-3]: int(p[2]) for p in plan
                if p[0] == 'kunit' and len(p) > 2}
    seen = {}
    for i, (hdr, body, _) in enumerate(blocks(results, 'KTAP-BEGIN', 'KTAP-END')):
        module, suite = hdr[0], hdr[1]
        cases, rc = kunit_cases(a.kunit_tool, body, a.out, f'kunit-{i}-{suite}')
        # Independent of the parser: any failure line, or a suite result
        # that is not "ok", fails the suite.
        if any(re.match(r'\s*not ok ', l) for l in body) or \
                not any(re.match(r'ok \d+ ' + re.escape(suite) + r'$', l) for l in body):
            record(False, f'kunit:{suite}', 'a "not ok" line, or no "ok" for the suite')
        if cases is None:
            record(False, f'kunit:{suite}', f'kunit.py could not parse (exit {rc})')
            continue
        for name, status in cases:
            record(status in ('PASS', 'SKIP'), f'kunit:{name}', status)
        if rc != 0 and all(s in ('PASS', 'SKIP') for _, s in cases):
            record(False, f'kunit:{suite}', f'kunit.py parse exit {rc}')
        seen[module] = seen.get(module, 0) + len(cases)
    for module, n in expected.items():
        if seen.get(module, 0) != n:
            record(False, f'kunit:{module}',
                   f'{seen.get(module, 0)} cases reported, {n} expected')

    # kselftest programs: TAP from the harness, plus the exit status.
    for hdr, body, tail in blocks(results, 'SELFTEST-BEGIN', 'SELFTEST-END'):
        prog, rc = hdr[0], tail[1] if len(tail) > 1 else '?'
        tests = [re.match(r'(not )?ok \d+ (.*)', l) for l in body]
        tests = [t for t in tests if t]
        for t in tests:
            record(t.group(1) is None, f'selftest:{prog}:{t.group(2)}', 'not ok')
        if rc != '0' or not tests:
            record(False, f'selftest:{prog}',
                   f'exit status {rc}, {len(tests)} tests reported')
    ran = {h[0] for h, _, _ in blocks(results, 'SELFTEST-BEGIN', 'SELFTEST-END')}
    for p in plan:
        if p[0] == 'selftest' and p[1] not in ran:
            record(False, f'selftest:{p[1]}', 'never ran')

    for _, body, _ in blocks(results, 'KMEMLEAK-BEGIN', 'KMEMLEAK-END'):
        leaks = [l for l in body if 'unreferenced object' in l]
        record(not leaks, 'kmemleak', f'{len(leaks)} leaked objects')

    splats = [l for l in console.splitlines() if SPLATS.search(l)]
    record(not splats, 'console: no kernel warning or splat',
           splats[0].strip() if splats else '')

    with open(os.path.join(a.out, 'summary'), 'w') as f:
        f.write('\n'.join(verdict) + '\n')
    for v in verdict:
        print(v)
    return 1 if any(v.startswith('FAIL') for v in verdict) else 0


if __name__ == '__main__':
    sys.exit(main())
