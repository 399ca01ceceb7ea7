#!/usr/bin/env python3
"""generate.py MODEL PROMPT N - prints the greedy N-token continuation of PROMPT exactly as
`ember run --temp 0` does (stdout holds only the continuation).

Uses the ember Python package (capi/python): install it, or run with
PYTHONPATH=capi/python and EMBER_LIBRARY=path/to/libember.so.
"""
import sys

import ember


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: generate.py MODEL PROMPT N\n")
        return 2
    model_path, prompt, n = argv[1], argv[2], int(argv[3])
    out = sys.stdout.buffer  # bytes, so that the output is the same whatever the locale
    try:
        with ember.Model(model_path) as model, ember.Context(model, context_shift=True) as ctx:
            for piece in ctx.generate(prompt, max_tokens=n, temperature=0):
                out.write(piece.encode("utf-8"))
                out.flush()
    except ember.Error as e:
        sys.stderr.write("generate.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
