#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check syzkaller/dev_masstree.txt{,.const} against the uapi header.

The header's facts come from compiling a small C program against it with
gcc (sizes, offsets, command numbers, flag values), its shape (which
structures, fields in which order, which commands take which structure)
from parsing it. The description must agree on all of it:

  - one ioctl$NAME per MASSTREE_IOC_* command, taking the command's own
    structure, and no other;
  - each structure with the header's fields, in order, at the header's
    offsets and sizes, and the header's total size;
  - each flag set holding every macro of its family, and the .const file
    holding the header's value of every constant the description uses;
  - every type, resource, flag set and constant it names is one of
    syzkaller's built-in types, declared in the file, or one of the few
    names it takes from syzkaller's own sys/linux descriptions
    (EXTERNAL), with the right arguments: syzkaller's compiler would
    reject anything else, and it cannot be built here without a network.

  scripts/check-syzlang.py               check; one PASS or FAIL line
  scripts/check-syzlang.py --self-test   plant mismatches in copies; each
                                         must be rejected
  scripts/check-syzlang.py --write-const regenerate the .const file
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, 'include/uapi/linux/masstree.h')
TXT = os.path.join(ROOT, 'syzkaller/dev_masstree.txt')
ARCHES = '386, amd64, arm, arm64, riscv64'

# Flag sets of the description and the macro family each must cover.
FLAG_FAMILIES = {
    'masstree_create_flags': r'MASSTREE_CREATE_\w+',
    'masstree_open_flags': r'MASSTREE_OPEN_\w+',
    'masstree_setattr_flags': r'MASSTREE_SETATTR_\w+',
    'masstree_ops': r'MASSTREE_OP_\w+',
    'masstree_put_flags': r'MASSTREE_PUT_\w+',
    'masstree_batch_flags': r'MASSTREE_BATCH_(?!MAX)\w+',
    'masstree_scan_flags': r'MASSTREE_IOC_SCAN_\w+',
}
# Header structures that no command takes: not described.
NOT_DESCRIBED = {'masstree_ioc_scan_rec'}

# Names the description takes from syzkaller's sys/linux/*.txt.
EXTERNAL = {
    'resource': {'fd'},
    'flags': {'open_flags'},
    'const': {'AT_FDCWD'},
}
SYSCALLS = {'openat', 'ioctl'}
INTS = {f'int{n}{e}' for n in (8, 16, 32, 64) for e in ('', 'be')} | {'intptr'}
DIRS = {'in', 'out', 'inout'}


class Mismatch(Exception):
    pass


def parse_header(text):
    structs = {}
    for name, body in re.findall(r'^struct (\w+) \{\n(.*?)^\};', text, re.M | re.S):
        fields = re.findall(r'^\s+(?:__[us]\d+|char) (\w+)(?:\[\w+\])?;', body, re.M)
        structs[name] = fields
    ioctls = dict(re.findall(
        r'^#define (MASSTREE_IOC_\w+)\s+_IOWR\(MASSTREE_IOC_MAGIC, \w+, struct (\w+)\)',
        text, re.M))
    macros = re.findall(r'^#define (MASSTREE_\w+)\s', text, re.M)
    macros = [m for m in macros if not m.startswith('_')]
    return structs, ioctls, macros


def compile_facts(structs, macros):
    """Sizes, offsets and values as the C compiler sees them."""
    lines = ['#include <stdio.h>', '#include <stddef.h>',
             '#include <linux/masstree.h>', 'int main(void)', '{']
    for s, fields in structs.items():
        lines.append(f'\tprintf("size {s} %zu\\n", sizeof(struct {s}));')
        for f in fields:
            lines.append(f'\tprintf("field {s} {f} %zu %zu\\n", '
                         f'offsetof(struct {s}, {f}), '
                         f'sizeof(((struct {s} *)0)->{f}));')
    for m in macros:
        lines.append(f'\tprintf("const {m} %llu\\n", (unsigned long long)({m}));')
    lines += ['\treturn 0;', '}']
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, 'facts.c'), os.path.join(tmp, 'facts')
        with open(src, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        subprocess.run(['gcc', '-Wall', '-I', os.path.dirname(os.path.dirname(HEADER)),
                        src, '-o', exe], check=True, capture_output=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    sizes, layout, values = {}, {}, {}
    for line in out.splitlines():
        w = line.split()
        if w[0] == 'size':
            sizes[w[1]] = int(w[2])
        elif w[0] == 'field':
            layout[(w[1], w[2])] = (int(w[3]), int(w[4]))
        else:
            values[w[1]] = int(w[2])
    return sizes, layout, values


def split_args(s):
    """Split 'a, b[c, d], e' at top-level commas."""
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch == '[':
            depth += 1
        elif ch == ']':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_type(t):
    m = re.match(r'^(\w+)(?:\[(.*)\])?$', t.strip())
    if not m:
        raise Mismatch(f'cannot parse type {t!r}')
    return m.group(1), split_args(m.group(2)) if m.group(2) else []


INT_SIZES = {'int8': 1, 'int16': 2, 'int32': 4, 'int64': 8}


def type_size(t, syz_structs):
    """(size, alignment) of a syzlang type inside a structure."""
    name, args = parse_type(t)
    if name in INT_SIZES:
        return INT_SIZES[name], INT_SIZES[name]
    if name in ('const', 'flags', 'len', 'bytesize'):
        base = args[1] if len(args) > 1 else 'intptr'
        if base not in INT_SIZES:
            raise Mismatch(f'{t}: base type {base} has no fixed size')
        return INT_SIZES[base], INT_SIZES[base]
    if name in ('ptr64', 'ptr'):
        return 8, 8
    if name == 'array':
        if len(args) != 2 or not re.fullmatch(r'\d+', args[1]):
            raise Mismatch(f'{t}: an array inside a structure needs a fixed length')
        size, align = type_size(args[0], syz_structs)
        return size * int(args[1]), align
    if name in ('string', 'stringnoz'):
        if len(args) != 2 or not re.fullmatch(r'\d+', args[1]):
            raise Mismatch(f'{t}: a string inside a structure needs a fixed size')
        return int(args[1]), 1
    if name in syz_structs:
        return struct_layout(name, syz_structs)[0:2]
    raise Mismatch(f'unknown type {t}')


def struct_layout(name, syz_structs):
    off, align, fields = 0, 1, []
    for fname, ftype in syz_structs[name]:
        size, a = type_size(ftype, syz_structs)
        off = (off + a - 1) // a * a
        fields.append((fname, off, size))
        off += size
        align = max(align, a)
    return (off + align - 1) // align * align, align, fields


def parse_syzlang(text):
    structs, flags, ioctls = {}, {}, {}
    for name, body in re.findall(r'^(\w+) \{\n(.*?)^\}', text, re.M | re.S):
        fields = []
        for line in body.splitlines():
            line = line.split('#')[0].strip()
            if line:
                fname, ftype = line.split(None, 1)
                fields.append((fname, ftype.strip()))
        structs[name] = fields
    for name, vals in re.findall(r'^(\w+) = (.*)$', text, re.M):
        flags[name] = [v.strip() for v in vals.split(',')]
    for m in re.finditer(r'^ioctl\$(\w+)\((.*)\)\s*$', text, re.M):
        args = split_args(m.group(2))
        a = dict(x.split(None, 1) for x in args)
        cmd = parse_type(a.get('cmd', ''))
        arg = parse_type(a.get('arg', 'x'))
        ioctls[m.group(1)] = (a.get('fd'), cmd, arg)
    consts = set(re.findall(r'\b(MASSTREE_\w+)\b', text))
    return structs, flags, ioctls, consts


def _is_int(v):
    return re.fullmatch(r'-?(0x[0-9a-fA-F]+|\d+)', v) is not None


def _range(v):
    return re.fullmatch(r'-?\w+(:-?\w+)?', v) is not None and \
        all(_is_int(x) for x in v.split(':'))


class Names:
    """What a description declares, and what it may take from outside."""

    def __init__(self, text, consts):
        self.structs = dict((n, [f for f, _ in fs])
                            for n, fs in parse_syzlang(text)[0].items())
        self.resources, self.flags, self.strings = set(EXTERNAL['resource']), set(), set()
        self.flags |= EXTERNAL['flags']
        self.consts = set(consts) | EXTERNAL['const']
        for line in text.splitlines():
            m = re.match(r'^resource (\w+)\[', line)
            if m:
                self.resources.add(m.group(1))
            m = re.match(r'^(\w+) = (.*)$', line)
            if m:
                vals = [v.strip() for v in m.group(2).split(',')]
                (self.strings if vals[0].startswith('"') else self.flags).add(m.group(1))

    def const(self, v, where):
        if not _is_int(v) and v not in self.consts:
            raise Mismatch(f'{where}: unknown constant {v}')


def check_type(t, names, where, fields=None):
    """Reject a type syzkaller's compiler would not know or accept."""
    name, args = parse_type(t)
    n = len(args)

    def base(i):
        if n > i and args[i] not in INTS:
            raise Mismatch(f'{where}: {t}: {args[i]} is not an integer type')

    if name in INTS:
        if n > 1 or (n and not _range(args[0])):
            raise Mismatch(f'{where}: {t}: bad range')
    elif name == 'const':
        if n not in (1, 2):
            raise Mismatch(f'{where}: {t}: const[value(, type)]')
        names.const(args[0], where)
        base(1)
    elif name == 'flags':
        if n not in (1, 2) or args[0] not in names.flags:
            raise Mismatch(f'{where}: {t}: unknown flag set')
        base(1)
    elif name in ('len', 'bytesize', 'bitsize'):
        if n not in (1, 2):
            raise Mismatch(f'{where}: {t}: {name}[field(, type)]')
        if fields is None or (args[0] != 'parent' and args[0] not in fields):
            raise Mismatch(f'{where}: {t}: no field {args[0]} here')
        base(1)
    elif name in ('ptr', 'ptr64'):
        if n != 2 or args[0] not in DIRS:
            raise Mismatch(f'{where}: {t}: {name}[in|out|inout, type]')
        check_type(args[1], names, where)
    elif name == 'array':
        if n not in (1, 2) or (n == 2 and not _range(args[1])):
            raise Mismatch(f'{where}: {t}: array[type(, len or min:max)]')
        check_type(args[0], names, where)
    elif name in ('string', 'stringnoz'):
        if n > 2 or (n == 2 and not _is_int(args[1])):
            raise Mismatch(f'{where}: {t}: {name}[values(, size)]')
        if n and not args[0].startswith('"') and args[0] not in names.strings:
            raise Mismatch(f'{where}: {t}: unknown string set {args[0]}')
    elif name in names.structs or name in names.resources:
        if n:
            raise Mismatch(f'{where}: {t}: {name} takes no arguments')
    else:
        raise Mismatch(f'{where}: unknown type {t}')


def check_names(text, consts):
    """Every line a declaration syzkaller knows; every name resolved."""
    names = Names(text, consts)
    in_struct = None
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#')[0].strip()
        where = f'line {i}'
        if in_struct is not None:
            if line == '}':
                in_struct = None
            elif line:
                check_type(line.split(None, 1)[1], names, where,
                           names.structs[in_struct])
            continue
        if not line or re.fullmatch(r'include <[\w/.]+>', line):
            continue
        m = re.fullmatch(r'(\w+) \{', line)
        if m:
            in_struct = m.group(1)
            continue
        m = re.fullmatch(r'resource (\w+)\[(\w+)\]', line)
        if m:
            if m.group(2) not in names.resources | INTS or m.group(2) == m.group(1):
                raise Mismatch(f'{where}: resource {m.group(1)}: unknown base {m.group(2)}')
            continue
        m = re.fullmatch(r'(\w+) = (.*)', line)
        if m:
            for v in (x.strip() for x in m.group(2).split(',')):
                if m.group(1) in names.strings:
                    if not re.fullmatch(r'"[^"]*"', v):
                        raise Mismatch(f'{where}: {m.group(1)}: {v} is not a string')
                else:
                    names.const(v, where)
            continue
        m = re.fullmatch(r'(\w+)\$\w+\((.*)\)(?: (\w+))?', line)
        if m:
            if m.group(1) not in SYSCALLS:
                raise Mismatch(f'{where}: unknown system call {m.group(1)}')
            for arg in split_args(m.group(2)):
                check_type(arg.split(None, 1)[1], names, where)
            if m.group(3) and m.group(3) not in names.resources:
                raise Mismatch(f'{where}: returns unknown resource {m.group(3)}')
            continue
        raise Mismatch(f'{where}: not a syzlang declaration: {line}')


def parse_const(text):
    vals = {}
    for name, val in re.findall(r'^(\w+) = (\d+)\s*$', text, re.M):
        vals[name] = int(val)
    return vals


def check(txt_path, header_path=HEADER):
    """Raise Mismatch on the first disagreement; return a summary."""
    with open(header_path) as f:
        h_structs, h_ioctls, h_macros = parse_header(f.read())
    sizes, layout, values = compile_facts(h_structs, h_macros)
    with open(txt_path) as f:
        s_structs, s_flags, s_ioctls, s_consts = parse_syzlang(f.read())
    try:
        with open(txt_path + '.const') as f:
            c_vals = parse_const(f.read())
    except FileNotFoundError:
        raise Mismatch(f'{txt_path}.const is missing')

    with open(txt_path) as f:
        check_names(f.read(), c_vals)

    for cmd, struct in h_ioctls.items():
        if cmd not in s_ioctls:
            raise Mismatch(f'ioctl${cmd} is not described')
        fd, (cname, cargs), (pname, pargs) = s_ioctls[cmd]
        if fd != 'fd_masstree' or cname != 'const' or cargs != [cmd]:
            raise Mismatch(f'ioctl${cmd}: fd or cmd is not fd_masstree, const[{cmd}]')
        if pname != 'ptr' or pargs != ['inout', struct]:
            raise Mismatch(f'ioctl${cmd}: takes ptr[{", ".join(pargs)}], '
                           f'the header says ptr[inout, {struct}] (_IOWR)')
    for cmd in s_ioctls:
        if cmd not in h_ioctls:
            raise Mismatch(f'ioctl${cmd} is not a command of the header')

    for s in h_structs:
        if s not in s_structs and s not in NOT_DESCRIBED:
            raise Mismatch(f'struct {s} is not described')
    for s in s_structs:
        if s not in h_structs:
            raise Mismatch(f'{s} is not a structure of the header')
        names = [f for f, _ in s_structs[s]]
        if names != h_structs[s]:
            raise Mismatch(f'{s}: fields {names}, the header has {h_structs[s]}')
        size, _, fields = struct_layout(s, s_structs)
        for fname, off, fsize in fields:
            if layout[(s, fname)] != (off, fsize):
                raise Mismatch(f'{s}.{fname}: offset {off} size {fsize}, the header '
                               f'has offset {layout[(s, fname)][0]} size '
                               f'{layout[(s, fname)][1]}')
        if size != sizes[s]:
            raise Mismatch(f'{s}: {size} bytes, the header has {sizes[s]}')

    for fset, family in FLAG_FAMILIES.items():
        want = sorted(m for m in h_macros if re.fullmatch(family, m))
        have = sorted(s_flags.get(fset, []))
        if have != want:
            raise Mismatch(f'{fset} = {", ".join(have)}; the header has {", ".join(want)}')

    for c in sorted(s_consts):
        if c not in c_vals:
            raise Mismatch(f'{c} is used but not in the .const file')
    for c, v in c_vals.items():
        if c not in values:
            raise Mismatch(f'{c} in the .const file is not in the header')
        if v != values[c]:
            raise Mismatch(f'{c} = {v} in the .const file, the header gives {values[c]}')
    return f'{len(s_ioctls)} commands, {len(s_structs)} structures, {len(s_flags)} flag sets'


def write_const():
    with open(HEADER) as f:
        h_structs, _, h_macros = parse_header(f.read())
    _, _, values = compile_facts(h_structs, h_macros)
    with open(TXT) as f:
        used = parse_syzlang(f.read())[3]
    with open(TXT + '.const', 'w') as f:
        f.write('# Code generated by scripts/check-syzlang.py --write-const. DO NOT EDIT.\n')
        f.write(f'arches = {ARCHES}\n')
        for c in sorted(used):
            f.write(f'{c} = {values[c]}\n')


# Planted mismatches: (what, file suffix, old, new). Each must be caught.
MUTANTS = [
    ('two fields swapped', '', '\tkey_len\t\tlen[key, int64]\n\tvalue\t\tptr64[inout, array[int8, 0:65536]]\n',
     '\tvalue\t\tptr64[inout, array[int8, 0:65536]]\n\tkey_len\t\tlen[key, int64]\n'),
    ('a field narrowed', '', '\tresult\t\tint64\n', '\tresult\t\tint32\n'),
    ('a field dropped', '', '\tcleared\t\tint64\n', ''),
    ('an array shortened', '', 'reserved\tarray[const[0, int64], 4]', 'reserved\tarray[const[0, int64], 3]'),
    ('a name too short', '', 'name\t\tstring[masstree_map_names, 64]\n\treserved\tarray[const[0, int64], 4]',
     'name\t\tstring[masstree_map_names, 56]\n\treserved\tarray[const[0, int64], 4]'),
    ('the wrong structure', '', 'cmd const[MASSTREE_IOC_OPEN], arg ptr[inout, masstree_ioc_name]',
     'cmd const[MASSTREE_IOC_OPEN], arg ptr[inout, masstree_ioc_create]'),
    ('a command missing', '', 'ioctl$MASSTREE_IOC_CLEAR(', '#ioctl$MASSTREE_IOC_CLEAR('),
    ('a flag missing', '', ', MASSTREE_IOC_SCAN_NO_END\n', '\n'),
    ('an unknown resource base', '', 'resource fd_masstree[fd]', 'resource fd_masstree[fdd]'),
    ('an unknown constant', '', 'const[AT_FDCWD]', 'const[AT_FDCWDX]'),
    ('an unknown flag set', '', 'flags[open_flags]', 'flags[open_flagz]'),
    ('an unknown type', '', 'array[int8, 0:65535]', 'arrayy[int9, 0:65535]'),
    ('an unknown integer type', '', 'array[int8, 0:65535]', 'array[int9, 0:65535]'),
    ('an unknown pointer direction', '', 'ptr[inout, masstree_ioc_op]', 'ptr[inuot, masstree_ioc_op]'),
    ('a length of no field', '', 'len[key, int64]', 'len[kye, int64]'),
    ('an unknown string set', '', 'string[masstree_map_names, 64]', 'string[masstree_map_name, 64]'),
    ('an unknown system call', '', 'openat$masstree(', 'opennat$masstree('),
    ('an unknown returned resource', '', 'mode const[0]) fd_masstree', 'mode const[0]) fd_masstre'),
    ('a flag value unknown', '', 'MASSTREE_OPEN_READ, MASSTREE_OPEN_WRITE', 'MASSTREE_OPEN_READ, MASSTREE_OPEN_WRIT'),
    ('a command number off', '.const', None, 'MASSTREE_IOC_GET'),
    ('a flag value off', '.const', None, 'MASSTREE_PUT_EXIST'),
]


def self_test():
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for what, suffix, old, new in MUTANTS:
            path = os.path.join(tmp, 'dev_masstree.txt')
            shutil.copy(TXT, path)
            shutil.copy(TXT + '.const', path + '.const')
            with open(path + suffix) as f:
                text = f.read()
            if old is None:	# bump a constant's value
                text, n = re.subn(rf'^({new} = )(\d+)$',
                                  lambda m: m.group(1) + str(int(m.group(2)) + 1),
                                  text, flags=re.M)
            else:
                n = text.count(old)
                text = text.replace(old, new, 1)
            if not n:
                print(f'FAIL syzlang-self-test: mutant "{what}" does not apply')
                ok = False
                continue
            with open(path + suffix, 'w') as f:
                f.write(text)
            try:
                check(path)
                print(f'FAIL syzlang-self-test: mutant "{what}" was accepted')
                ok = False
            except Mismatch:
                pass
    if ok:
        print(f'PASS syzlang-self-test: all {len(MUTANTS)} planted mismatches rejected')
    return ok


def main():
    if sys.argv[1:] == ['--write-const']:
        write_const()
        return 0
    if sys.argv[1:] == ['--self-test']:
        return 0 if self_test() else 1
    try:
        print(f'PASS syzlang: {check(TXT)}')
        return 0
    except (Mismatch, subprocess.CalledProcessError, KeyError) as e:
        print(f'FAIL syzlang: {e}')
        return 1


if __name__ == '__main__':
    sys.exit(main())
