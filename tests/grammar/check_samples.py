#!/usr/bin/env python3
"""Checks the samples ember drew under grammars (tests/tools/ember_grammar_samples.cpp) with
independent means: json + jsonschema (Debian python3-jsonschema) for schemas, json for free JSON,
re.fullmatch for regexes, membership for choices, and Python's own parser for arithmetic.
Every sample must have ended (end-of-generation) and pass. Prints a summary per case.

  check_samples.py SAMPLES.json [MIN_SAMPLES=200]
"""
import ast
import json
import re
import sys

import jsonschema


def check(case, text):
    kind = case["kind"]
    if kind == "schema":
        value = json.loads(text)
        jsonschema.validate(value, case["schema"], format_checker=jsonschema.FormatChecker())
        fmt_checks(case["schema"], value)
    elif kind == "json":
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("not an object")
    elif kind == "regex":
        if not re.fullmatch(case["regex"], text):
            raise ValueError("does not match the regex")
    elif kind == "choice":
        if text not in case["choices"]:
            raise ValueError("not one of the choices")
    elif kind == "arithmetic":
        if not re.fullmatch(r"[0-9+\-*/()]+", text):
            raise ValueError("unexpected characters")
        node = ast.parse(text, mode="eval")
        if any(isinstance(n, ast.UnaryOp) for n in ast.walk(node)):
            raise ValueError("a unary operator the grammar does not have")
    else:
        raise ValueError("unknown kind " + kind)


DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\Z")
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)\Z")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def fmt_checks(schema, value):
    """jsonschema checks formats only when optional packages are present: check them here."""
    if isinstance(schema, dict):
        f = schema.get("format")
        if f and isinstance(value, str):
            ok = {"date": lambda s: DATE.match(s),
                  "time": lambda s: TIME.match(s),
                  "date-time": lambda s: "T" in s and DATE.match(s.split("T", 1)[0]) and TIME.match(s.split("T", 1)[1]),
                  "uuid": lambda s: UUID.match(s)}[f](value)
            if not ok:
                raise ValueError("not a %s: %r" % (f, value))
        props = schema.get("properties", {})
        if isinstance(value, dict):
            for k, v in value.items():
                if k in props:
                    fmt_checks(props[k], v)


def main():
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    need = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    failures = 0
    if len(data) < 10:
        print("only %d grammars" % len(data))
        failures += 1
    for case in data:
        samples = case["samples"]
        bad = []
        for s in samples:
            try:
                if not s["ended"]:
                    raise ValueError("did not end within the token limit")
                check(case, s["text"])
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                bad.append((s["text"], "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")))
        distinct = len({s["text"] for s in samples})
        mean_tokens = sum(s["tokens"] for s in samples) / max(1, len(samples))
        print("%-12s %-10s %d samples, %d distinct, %.1f tokens on average, %d rejected"
              % (case["name"], case["vocab"], len(samples), distinct, mean_tokens, len(bad)))
        for text, why in bad[:3]:
            print("   rejected %r: %s" % (text[:200], why))
        if len(samples) < need or bad or distinct < 2:
            failures += 1
    print("FAILED" if failures else "all samples accepted")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
