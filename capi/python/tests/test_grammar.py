"""Structured output through the Python package: GBNF, JSON schema and regex sampler stages."""
import json
import re

import pytest

import ember

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"},
                   "pets": {"type": "array", "items": {"enum": ["cat", "dog"]}, "maxItems": 3}},
    "required": ["name", "age", "pets"],
}


def check_schema_value(value):
    """What SCHEMA allows, checked by hand (jsonschema is not needed for these few rules)."""
    assert list(value) == ["name", "age", "pets"]
    assert isinstance(value["name"], str) and len(value["name"]) <= 8
    assert isinstance(value["age"], int) and not isinstance(value["age"], bool)
    assert isinstance(value["pets"], list) and len(value["pets"]) <= 3
    assert all(p in ("cat", "dog") for p in value["pets"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_json_schema_output_parses_and_fits(model, seed):
    s = ember.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=seed, model=model, json_schema=SCHEMA)
    with s, ember.Context(model, n_ctx=512, n_threads=1) as ctx:
        text = ctx.generate_text("Once upon a time", max_tokens=200, sampler=s)
        check_schema_value(json.loads(text))
        # the same sampler again (reset) with the same seed gives the same document
        s.reset()
        assert ctx.generate_text("Once upon a time", max_tokens=200, sampler=s) == text


def test_schema_as_text_and_gbnf_and_regex(model):
    with ember.Context(model, n_ctx=256, n_threads=1) as ctx:
        with ember.Sampler(temperature=0.9, seed=5, model=model, json_schema=json.dumps({"enum": ["red", "green"]})) as s:
            assert ctx.generate_text("The", max_tokens=20, sampler=s).rstrip() in ('"red"', '"green"')  # JSON may end in space
        with ember.Sampler(temperature=1.5, seed=6, model=model, grammar='root ::= [a-c]{3} "!"') as s:
            assert re.fullmatch(r"[a-c]{3}!", ctx.generate_text("The", max_tokens=20, sampler=s))
        with ember.Sampler.chain(seed=7).add_grammar(model, regex="(yes|no), [0-9]{1,3}").add_temperature(1.0) as s:
            assert re.fullmatch(r"(yes|no), [0-9]{1,3}", ctx.generate_text("The", max_tokens=20, sampler=s))


def test_accept_and_accept_prompt(model):
    s = ember.Sampler.greedy(model=model, grammar='root ::= "x" [0-9]')
    with s:
        bad = model.tokenize("zzz", add_special=False)[0]
        with pytest.raises(ember.InvalidArgumentError, match="does not fit the grammar"):
            s.accept(bad)
        s.accept_prompt(bad)  # prompt tokens are not output: the grammar ignores them
        with ember.Context(model, n_ctx=128, n_threads=1) as ctx:
            assert re.fullmatch(r"x[0-9]", ctx.generate_text("zzz", max_tokens=8, sampler=s))
            # generate_with_callback (ember_context_generate) feeds the prompt the same way
            s.reset()
            out = []
            ctx.generate_with_callback("zzz", lambda t, b, lp: out.append(b) or True, max_tokens=8, sampler=s)
            assert re.fullmatch(rb"x[0-9]", b"".join(out))


def test_grammar_errors_name_the_problem(model):
    with pytest.raises(ember.InvalidArgumentError, match="line 2"):
        ember.Sampler(model=model, grammar='root ::= "a"\nx ::= ("b"\n')
    with pytest.raises(ember.InvalidArgumentError, match="/properties/a: 'minimum' is not supported"):
        ember.Sampler(model=model, json_schema={"properties": {"a": {"minimum": 1}}})
    with pytest.raises(ember.InvalidArgumentError, match="regex column 4"):
        ember.Sampler(model=model, regex="a(b")
    with pytest.raises(ember.InvalidArgumentError, match="at most one"):
        ember.Sampler(model=model, grammar='root ::= "a"', regex="a")
    with pytest.raises(ember.InvalidArgumentError, match="model"):
        ember.Sampler(grammar='root ::= "a"')
    with pytest.raises(ember.InvalidArgumentError, match="JSON"):
        ember.Sampler(model=model, json_schema={"bad": object()})
    with pytest.raises(ember.InvalidArgumentError, match="give one of"):
        ember.Sampler.chain().add_grammar(model)
