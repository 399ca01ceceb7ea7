#!/usr/bin/env python3
"""Renders chat templates with Python's jinja2 exactly as Hugging Face's apply_chat_template does,
the reference ember's template interpreter is compared with (test_chat_template.cpp).

    jinja2_reference.py TEMPLATE_DIR CONVERSATIONS.json OUT.json [SNIPPETS.json SNIPPETS_OUT.json]

For every template and every conversation, with add_generation_prompt true and false, OUT.json
holds {"template", "conversation", "add_generation_prompt", "output" | "error"}. SNIPPETS.json is a
list of {"t": template, "vars": {...}} exercising the language one feature at a time; their
results go to SNIPPETS_OUT.json as {"t", "output" | "error"}. The environment is
transformers' _compile_jinja_template: ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks,
loopcontrols, the {% generation %} tag), its tojson (json.dumps, ensure_ascii=False), raise_exception and strftime_now --
with the clock fixed at 2026-01-15 13:45:30 so the output is reproducible.
"""
import datetime
import json
import pathlib
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.sandbox

FIXED_NOW = datetime.datetime(2026, 1, 15, 13, 45, 30)
BOS, EOS = "<s>", "</s>"


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} block, which renders its body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    tdir, conv_path, out_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    data = json.loads(conv_path.read_text(encoding="utf-8"))
    env = make_env()
    results = []
    for tpath in sorted(tdir.glob("*.jinja")):
        source = tpath.read_text(encoding="utf-8")
        try:
            template = env.from_string(source)
            compile_error = None
        except jinja2.exceptions.TemplateError as e:
            template, compile_error = None, "%s: %s" % (type(e).__name__, e)
        for name, conv in data["conversations"].items():
            for agp in (True, False):
                r = {"template": tpath.stem, "conversation": name, "add_generation_prompt": agp}
                if template is None:
                    r["error"] = compile_error
                else:
                    try:
                        r["output"] = template.render(messages=conv["messages"],
                                                      tools=data["tools"] if conv.get("tools") else None,
                                                      documents=None, add_generation_prompt=agp,
                                                      bos_token=BOS, eos_token=EOS)
                    except Exception as e:  # noqa: BLE001 - every failure is a result to compare
                        r["error"] = "%s: %s" % (type(e).__name__, e)
                results.append(r)
    pathlib.Path(out_path).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if len(sys.argv) > 5:
        snippets = []
        for case in json.loads(pathlib.Path(sys.argv[4]).read_text(encoding="utf-8")):
            r = {"t": case["t"]}
            try:
                r["output"] = env.from_string(case["t"]).render(bos_token=BOS, eos_token=EOS, **case.get("vars", {}))
            except Exception as e:  # noqa: BLE001
                r["error"] = "%s: %s" % (type(e).__name__, e)
            snippets.append(r)
        pathlib.Path(sys.argv[5]).write_text(json.dumps(snippets, ensure_ascii=False, indent=1), encoding="utf-8")
    n_err = sum(1 for r in results if "error" in r)
    print("%d renders of %d templates, %d raised" % (len(results), len(list(tdir.glob('*.jinja'))), n_err))


if __name__ == "__main__":
    main()
