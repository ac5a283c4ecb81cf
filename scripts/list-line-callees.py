#!/usr/bin/env python3
"""Lists the kernel functions that take a source line number, for src/arch/linux/line-callees.ts.

    scripts/list-line-callees.py LINUX_SOURCE_DIR > list.txt

A function qualifies when some call in the tree passes it __LINE__ (directly, or through
the macro that wraps it) at a parameter named like a line number (line, lineno, linenum,
line_no, line_num) of an integer type, and every definition of that name in the tree takes
the line at the same position: static helpers of the same name in other files (there are
three unrelated `handle_error`s) would make the name ambiguous, so such names are left out.
Prints `name index` (0-based parameter index), sorted. A rough C reader: comments and
preprocessor lines are dropped and prototypes found by regular expression, which is enough
for the kernel's prototype style; review the diff of the generated list by hand.
"""
import collections
import os
import re
import sys

LINE_NAMES = {'line', 'lineno', 'linenum', 'line_no', 'line_num', '__line', 'lnnum', 'lnum', 'line_number', 'linenr', 'lineNo', 'ln'}
INTEGER = re.compile(r'\b(int|unsigned|u32|u16|long|__u32|size_t|uint)\b')
PROTOTYPE = re.compile(r'\b([A-Za-z_]\w*)\s*\(([^;{}()]*(?:\([^()]*\)[^;{}()]*)*)\)\s*(?:__\w+(?:\([^()]*\))?\s*)*([;{])', re.S)
KEYWORDS = {'if', 'while', 'for', 'switch', 'return', 'sizeof', 'defined'}
SKIP_DIRS = ('/tools', '/scripts', '/Documentation', '/samples')


def sources(root):
    for directory, _, files in os.walk(root):
        if any(part in directory for part in SKIP_DIRS):
            continue
        for name in files:
            if name.endswith(('.c', '.h')):
                with open(os.path.join(directory, name), errors='replace') as f:
                    yield f.read()


def line_position(params):
    """0-based index of the integer line-number parameter, or None."""
    for i, param in enumerate(p.strip() for p in params.split(',')):
        if '(' in param or '*' in param:
            continue
        words = re.findall(r'[A-Za-z_]\w*', param)
        if len(words) >= 2 and words[-1] in LINE_NAMES and INTEGER.search(' '.join(words[:-1])):
            return i
    return None


def main(root):
    positions = collections.defaultdict(set)  # name -> line positions of its prototypes
    definitions = collections.defaultdict(set)  # name -> positions of its definitions (None: no line)
    texts = []
    for text in sources(root):
        text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
        stripped = re.sub(r'^\s*#.*?(?<!\\)$', ' ', text, flags=re.M)
        texts.append(text)
        for m in PROTOTYPE.finditer(stripped):
            name, params, end = m.groups()
            if name in KEYWORDS:
                continue
            position = line_position(params)
            if position is not None:
                positions[name].add(position)
            if end == '{':
                definitions[name].add(position)
    candidates = {n for n, p in positions.items() if len(p) == 1 and definitions[n] <= p}
    called = re.compile(r'\b(' + '|'.join(map(re.escape, sorted(candidates))) + r')\s*\([^;]{0,400}?__LINE__', re.S)
    used = set()
    for text in texts:
        if '__LINE__' in text:
            used.update(m.group(1) for m in called.finditer(text))
    for name in sorted(used):
        print(name, next(iter(positions[name])))


if __name__ == '__main__':
    main(sys.argv[1])
