"""Every architecture ember runs, through the Python package: the shared synthetic Qwen2, Qwen3,
Gemma 3 and Qwen2-BPE models give llama.cpp's tokens and logits (../shared/golden)."""
import json
import os
import pathlib

import pytest

import ember

# (model file, general.architecture, |logit - llama.cpp's| bound: F32 weights 1e-3, F16 1e-2)
MODELS = [("synthetic-qwen2", "qwen2", 1e-3), ("synthetic-qwen3", "qwen3", 1e-3),
          ("synthetic-gemma3", "gemma3", 1e-3), ("synthetic-qwen2-bpe", "qwen2", 1e-2)]


def shared_dir():
    env = os.environ.get("EMBER_SHARED_DIR")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[4] / "shared"


@pytest.mark.parametrize("name,arch,tol", MODELS, ids=[m[0] for m in MODELS])
def test_architecture_matches_llamacpp(name, arch, tol):
    model_file = shared_dir() / "models" / (name + ".gguf")
    golden_file = shared_dir() / "golden" / (name + ".jsonl")
    if not model_file.exists() or not golden_file.exists():
        pytest.fail("missing %s or %s (set EMBER_SHARED_DIR)" % (model_file, golden_file))
    refs = [json.loads(line) for line in golden_file.read_text().splitlines() if line.strip()]
    assert refs
    with ember.Model(model_file) as m:
        assert m.architecture == arch
        for ref in refs:
            tokens = m.tokenize(ref["prompt"])
            assert tokens == ref["prompt_tokens"]
            seq = tokens + ref["generated"]
            with ember.Context(m, n_ctx=512, n_threads=1, type_k="f32", type_v="f32") as ctx:
                ctx.decode(seq, all_logits=True)
                worst = 0.0
                for p in ref["positions"]:
                    if p["pos"] >= len(seq):
                        continue
                    logits = ctx.logits(p["pos"], numpy=False)
                    top = p["top"]
                    for tok, want in top:
                        worst = max(worst, abs(logits[tok] - want))
                    if top[0][1] - top[1][1] > 2 * tol:
                        best = max(range(len(logits)), key=lambda i: (logits[i], -i))
                        assert best == top[0][0], "position %d" % p["pos"]
                assert worst <= tol, "%s: max |dlogit| %g at prompt %r" % (name, worst, ref["prompt"])
                # generation continues from the cache: greedy by hand equals generate()
                ctx.clear()
                ctx.decode(tokens)
                by_hand = []
                for _ in range(8):
                    lg = ctx.logits(numpy=False)
                    t = max(range(len(lg)), key=lambda i: (lg[i], -i))
                    by_hand.append(t)
                    ctx.decode([t])
                ctx.clear()
                pieces = list(ctx.generate(tokens, max_tokens=8, temperature=0, logprobs=1, stop_at_eog=False))
                assert [pc.token for pc in pieces if pc.token >= 0] == by_hand  # -1: held-back text
