#!/usr/bin/env python3
"""Generates unicode_tables.cpp: the code-point classes the byte-level BPE pre-tokenizers use.

The pre-tokenizer regexes (\\p{L}, \\p{N}, \\p{P}, \\s, ...) are evaluated on these classes, so the
table must be the one llama.cpp's tokenizer sees: the General_Category of every code point from
UnicodeData.txt, collapsed to its major class (L, N, P, S, M, Z, C; unassigned code points are
`undefined`), plus the White_Space property from PropList.txt.

Input, either
  - the Unicode Character Database, as Debian's `unicode-data` package installs it
    (/usr/share/unicode, Unicode 15.0 on Debian 12) or any directory holding UnicodeData.txt and
    PropList.txt:
        python3 src/tokenizer/gen_unicode_tables.py [UCD_DIR] > src/tokenizer/unicode_tables.cpp
  - or the npm package @unicode/unicode-X.Y.Z (the same database as JavaScript modules), read
    with node -- llama.cpp's table is Unicode 15.1, newer than Debian 12's unicode-data:
        npm pack @unicode/unicode-15.1.0 && tar xzf unicode-unicode-15.1.0-*.tgz
        python3 src/tokenizer/gen_unicode_tables.py --npm package > src/tokenizer/unicode_tables.cpp
Nothing is downloaded by the script itself.

The output is a two-stage table: stage1[cp >> 8] names a 256-entry block in stage2, identical
blocks are stored once. One byte per code point: bits 0-2 the class, bit 3 White_Space.
"""
import os
import re
import sys

MAX_CP = 0x110000
CLASS = {"Cn": 0, "N": 1, "L": 2, "Z": 3, "M": 4, "P": 5, "S": 6, "C": 7}
WHITESPACE_BIT = 0x08


def read_categories(ucd):
    cls = bytearray(MAX_CP)  # 0 = undefined (Cn) for every code point UnicodeData.txt omits
    first = None
    with open(os.path.join(ucd, "UnicodeData.txt"), encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            cp = int(fields[0], 16)
            name, cat = fields[1], fields[2]
            value = CLASS[cat[0]] if cat != "Cn" else 0
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                for c in range(first, cp + 1):
                    cls[c] = value
                first = None
                continue
            cls[cp] = value
    return cls


def read_whitespace(ucd):
    ws = []
    pattern = re.compile(r"^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*White_Space\b")
    with open(os.path.join(ucd, "PropList.txt"), encoding="utf-8") as f:
        for line in f:
            m = pattern.match(line)
            if m:
                lo = int(m.group(1), 16)
                hi = int(m.group(2), 16) if m.group(2) else lo
                ws.extend(range(lo, hi + 1))
    return ws


NPM_CLASSES = {"Number": 1, "Letter": 2, "Separator": 3, "Mark": 4, "Punctuation": 5, "Symbol": 6,
               "Control": 7, "Format": 7, "Surrogate": 7, "Private_Use": 7}


def read_npm(package):
    """(table, version) from an unpacked @unicode/unicode-X.Y.Z package, via node."""
    import json
    import subprocess
    package = os.path.abspath(package)
    script = (
        "const out = {};"
        f"for (const name of {json.dumps(list(NPM_CLASSES))}) {{"
        f"  out[name] = (await import({json.dumps(package)} + '/General_Category/' + name + '/code-points.mjs')).default; }}"
        f"out.White_Space = (await import({json.dumps(package)} + '/Binary_Property/White_Space/code-points.mjs')).default;"
        "console.log(JSON.stringify(out));"
    )
    data = json.loads(subprocess.run(["node", "--input-type=module", "-e", script], check=True,
                                     capture_output=True, text=True).stdout)
    table = bytearray(MAX_CP)
    for name, value in NPM_CLASSES.items():
        for cp in data[name]:
            table[cp] = value
    for cp in data["White_Space"]:
        table[cp] |= WHITESPACE_BIT
    with open(os.path.join(package, "package.json"), encoding="utf-8") as f:
        name = json.load(f)["name"]
    return table, re.sub(r"^@unicode/unicode-", "", name)


def version(ucd):
    for name in ("ReadMe.txt", "DerivedAge.txt"):
        path = os.path.join(ucd, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                head = f.read(4000)
            m = re.search(r"DerivedAge-([0-9.]+)\.txt", head) or re.search(r"Version ([0-9.]+)", head)
            if m:
                return m.group(1)
    return "unknown"


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--npm":
        table, ver = read_npm(sys.argv[2])
        source = f"{ver} (npm package @unicode/unicode-{ver}: General_Category, White_Space)"
    else:
        ucd = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
        table = read_categories(ucd)
        for cp in read_whitespace(ucd):
            table[cp] |= WHITESPACE_BIT
        source = f"{version(ucd)} (UnicodeData.txt, PropList.txt)"

    blocks, index = [], {}
    stage1 = []
    for b in range(MAX_CP // 256):
        block = bytes(table[b * 256:(b + 1) * 256])
        if block not in index:
            index[block] = len(blocks)
            blocks.append(block)
        stage1.append(index[block])

    out = sys.stdout
    out.write("// Generated by src/tokenizer/gen_unicode_tables.py from the Unicode Character Database\n")
    out.write(f"// {source}. Do not edit; rerun the script.\n\n")
    out.write('#include "tokenizer/unicode.hpp"\n\nnamespace ember::detail {\n\n')
    out.write(f"const uint16_t unicode_stage1[{len(stage1)}] = {{\n")
    for i in range(0, len(stage1), 16):
        out.write("    " + ", ".join(str(v) for v in stage1[i:i + 16]) + ",\n")
    out.write("};\n\n")
    out.write(f"const uint8_t unicode_stage2[{len(blocks)}][256] = {{\n")
    for block in blocks:
        out.write("    {\n")
        for i in range(0, 256, 32):
            out.write("        " + ",".join(str(v) for v in block[i:i + 32]) + ",\n")
        out.write("    },\n")
    out.write("};\n\n}  // namespace ember::detail\n")


if __name__ == "__main__":
    main()
