#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Every exported masstree symbol has kernel-doc with Context: and Return:.

Prints one PASS/FAIL line per exported symbol. A function returning void
needs no Return: line. Usage: check-exports.py DIR_OR_FILE...
"""
import os
import re
import sys

EXPORT = re.compile(r'^EXPORT_SYMBOL(?:_GPL)?\((\w+)\);', re.M)
DOC = re.compile(r'/\*\*\n \* (\w+)\(\) - .*?\*/', re.S)


def sources(paths):
    for p in paths:
        if os.path.isdir(p):
            for dirpath, _, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith(('.c', '.h')):
                        yield os.path.join(dirpath, f)
        else:
            yield p


def main():
    texts = {f: open(f).read() for f in sources(sys.argv[1:])}
    docs = {}
    for text in texts.values():
        for m in DOC.finditer(text):
            docs[m.group(1)] = m.group(0)
    failed = 0
    for path, text in texts.items():
        for m in EXPORT.finditer(text):
            sym = m.group(1)
            if not re.search(r'^\w[\w \*]*?\b' + sym + r'\(', text, re.M):
                # Data: a comment right above its definition says what it is.
                ok = re.search(r'\*/\n[^\n;]*\b' + sym + r'(\[\])?( __\w+)*( = [^\n;]*)?;',
                               text) is not None
                print(f'PASS kernel-doc:export:{sym}' if ok else
                      f'FAIL kernel-doc:export:{sym}: undocumented data ({path})')
                failed += not ok
                continue
            defn = re.search(r'^(\w[\w \*]*?)\b' + sym + r'\(', text, re.M)
            is_void = defn is not None and re.fullmatch(r'(static )?(inline )?void ?',
                                                        defn.group(1).strip() + ' ') is not None
            doc = docs.get(sym)
            why = []
            if doc is None:
                why.append('no kernel-doc comment')
            else:
                if not re.search(r'^ \* Context: ', doc, re.M):
                    why.append('no Context: line')
                if not is_void and not re.search(r'^ \* Return: ', doc, re.M):
                    why.append('no Return: line')
            name = f'kernel-doc:export:{sym}'
            if why:
                failed += 1
                print(f'FAIL {name}: {", ".join(why)} ({path})')
            else:
                print(f'PASS {name}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
