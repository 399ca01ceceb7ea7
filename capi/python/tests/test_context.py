"""Contexts, sampling and generation through the Python package."""
import threading

import pytest

import ember

try:
    import numpy
except ImportError:  # pragma: no cover
    numpy = None

PROMPT = "Once upon a time"


def greedy_by_hand(model, n, prompt=PROMPT):
    """The greedy continuation from decode + argmax, one token at a time."""
    with ember.Context(model, n_ctx=256, n_threads=1) as ctx:
        ctx.decode(model.tokenize(prompt))
        out = []
        for _ in range(n):
            logits = ctx.logits(numpy=False)
            t = max(range(len(logits)), key=lambda i: (logits[i], -i))
            out.append(t)
            ctx.decode([t])
        return out


def test_generate_greedy(model):
    expected = greedy_by_hand(model, 32)
    with ember.Context(model, n_ctx=256, n_threads=1) as ctx:
        pieces = list(ctx.generate(PROMPT, max_tokens=32, temperature=0))
        assert all(isinstance(p, str) for p in pieces)
        text = "".join(pieces)
        assert text == model.detokenize(expected) or text == " " + model.detokenize(expected)
        # the same prompt again reuses the cache and gives the same text
        assert ctx.generate_text(PROMPT, max_tokens=32, temperature=0) == text
        assert ctx.n_past() == len(model.tokenize(PROMPT)) + 31


def test_generate_with_logprobs(model):
    with ember.Context(model, n_ctx=256, n_threads=1) as ctx:
        pieces = list(ctx.generate(PROMPT, max_tokens=12, temperature=0, logprobs=3))
    assert len(pieces) == 12
    for p in pieces:
        assert isinstance(p, ember.Piece)
        assert p.logprob <= 0 and p.entropy >= 0 and len(p.top) == 3
        assert p.top[0][0] == p.token  # greedy takes the most likely token
        assert p.top[0][1] >= p.top[1][1] >= p.top[2][1]
    assert [p.token for p in pieces] == greedy_by_hand(model, 12)


def test_seeded_sampling_is_reproducible(model):
    with ember.Context(model, n_ctx=256, n_threads=1) as ctx:
        a = ctx.generate_text(PROMPT, max_tokens=40, temperature=1.0, seed=7)
        ctx.clear()
        b = ctx.generate_text(PROMPT, max_tokens=40, temperature=1.0, seed=7)
        ctx.clear()
        greedy = ctx.generate_text(PROMPT, max_tokens=40, temperature=0)
    assert a == b and a != greedy


def test_stopping_the_iterator_early(model):
    with ember.Context(model, n_ctx=256, n_threads=1) as ctx:
        gen = ctx.generate(PROMPT, max_tokens=10000, temperature=0)
        first = [next(gen) for _ in range(5)]
        gen.close()
        assert len(first) == 5
        n_prompt = len(model.tokenize(PROMPT))
        assert ctx.n_past() == n_prompt + 4  # the fifth token was sampled, not yet decoded
        ctx.decode([1])  # still usable


def test_logits(model):
    with ember.Context(model, n_ctx=64, n_threads=1) as ctx:
        with pytest.raises(ember.InvalidArgumentError, match="nothing has been decoded"):
            ctx.logits()
        ctx.decode(model.tokenize(PROMPT), all_logits=True)
        as_list = ctx.logits(numpy=False)
        assert isinstance(as_list, list) and len(as_list) == 512
        first = ctx.logits(0, numpy=False)
        assert first != as_list
        if numpy is not None:
            arr = ctx.logits()
            assert isinstance(arr, numpy.ndarray) and arr.dtype == numpy.float32 and arr.shape == (512,)
            assert arr.tolist() == pytest.approx(as_list)
        with pytest.raises(ember.InvalidArgumentError):
            ctx.logits(99)


def test_sequences_state_and_memory(model, tmp_path):
    with ember.Context(model, n_ctx=128, n_seq_max=2, n_threads=1) as ctx:
        ids = model.tokenize("The little dog ran to the park")
        assert ctx.decode_prompt(ids) == len(ids)
        assert ctx.decode_prompt(ids) == 1
        ctx.seq_cp(0, 1)
        assert ctx.n_past(1) == len(ids)
        ctx.seq_rm(1, 2)
        assert ctx.n_past(1) == 2
        state = ctx.save_state()
        ctx.save_state_file(tmp_path / "s.bin")
        expected = ctx.generate_text(ids, max_tokens=8, temperature=0)
        ctx.load_state(state)
        assert ctx.n_past(0) == len(ids) and ctx.n_past(1) == 2
        with ember.Context(model, n_ctx=128, n_seq_max=2, n_threads=1) as other:
            other.load_state_file(tmp_path / "s.bin")
            assert other.generate_text(ids, max_tokens=8, temperature=0) == expected
            with pytest.raises(ember.BadFileError):
                other.load_state(state[:-5])
        ctx.shift(0, 1, 3)
        assert ctx.n_past(0) == len(ids) - 3
        with pytest.raises(ember.InvalidArgumentError):
            ctx.shift(0, 1, 1000)
        ctx.clear()
        assert ctx.n_past(0) == 0
        mem = ctx.memory()
        assert mem.weights == model.info().weight_bytes and mem.kv_cache == 5 * 128 * 32 * 2 * 2
        params = ctx.params()
        assert params["n_ctx"] == 128 and params["n_seq_max"] == 2 and params["n_threads"] == 1
    with pytest.raises(ember.FileMissingError):
        ember.Context(model, n_ctx=16).load_state_file(tmp_path / "absent.bin")


def test_decode_batch_two_sequences(model):
    a, b = model.tokenize("A big red ball"), model.tokenize("The cat sat")
    with ember.Context(model, n_ctx=64, n_seq_max=2, n_threads=1) as ctx:
        tokens = a + b
        pos = list(range(len(a))) + list(range(len(b)))
        seq = [0] * len(a) + [1] * len(b)
        want = [i == len(a) - 1 or i == len(tokens) - 1 for i in range(len(tokens))]
        ctx.decode_batch(tokens, pos, seq, want)
        together = ctx.logits(len(tokens) - 1, numpy=False)
        assert ctx.n_past(0) == len(a) and ctx.n_past(1) == len(b)
    with ember.Context(model, n_ctx=64, n_threads=1) as alone:
        alone.decode(b)
        assert alone.logits(numpy=False) == pytest.approx(together, abs=1e-4)


def test_context_full(model):
    with ember.Context(model, n_ctx=16, n_threads=1) as ctx:
        with pytest.raises(ember.ContextFullError):
            ctx.decode(list(range(10, 30)))
        # generation ends by itself when the cache is full
        text = ctx.generate_text(PROMPT, max_tokens=100, temperature=0)
        assert 0 < len(text)
        assert ctx.n_past() == 16


def test_sampler_chain_and_logprobs():
    s = ember.Sampler.chain(seed=11).add_logit_bias({1: float("-inf")}).add_top_k(1).add_temperature(0.5)
    assert s.sample_logits([0.0, 5.0, 4.0]) == 2
    assert s.seed == 11 and "top-k 1" in s.describe()
    g = ember.Sampler.greedy(logprobs=2)
    assert g.sample_logits([0.0, 1.0, 3.0]) == 2
    lp = g.last_logprob()
    assert lp.token == 2 and lp.logprob < 0 and [t for t, _ in lp.top] == [2, 1]
    with pytest.raises(ember.InvalidArgumentError):
        ember.Sampler.chain().add_greedy().add_top_k(3)
    r1 = ember.Sampler(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=3)
    r2 = ember.Sampler(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0, seed=3)
    logits = [0.1, 0.5, 0.2, 0.4]
    draws = [r1.sample_logits(logits) for _ in range(30)]
    assert draws == [r2.sample_logits(logits) for _ in range(30)] and len(set(draws)) > 1
    r1.reset()
    assert [r1.sample_logits(logits) for _ in range(30)] == draws


def test_generate_with_callback_stops_after_ten(model):
    with ember.Context(model, n_ctx=512, n_threads=1, context_shift=True) as ctx:
        seen = []

        def on_token(token, text, logprob):
            seen.append(token)
            return len(seen) < 10

        r = ctx.generate_with_callback(PROMPT, on_token, max_tokens=10000, stop_at_eog=False)
        assert r.stop_reason == "callback" and r.n_tokens == 10 and len(seen) == 10

        def broken(token, text, logprob):
            raise ValueError("from the callback")
        with pytest.raises(ValueError, match="from the callback"):
            ctx.generate_with_callback(PROMPT, broken, max_tokens=5)


def test_abort_from_another_thread(model):
    with ember.Context(model, n_ctx=256, n_threads=1, context_shift=True) as ctx:
        started = threading.Event()
        n = []

        def on_token(token, text, logprob):
            n.append(token)
            if len(n) == 10:
                started.set()
            return True

        errors = []

        def run():
            try:
                ctx.generate_with_callback(PROMPT, on_token, max_tokens=10000, stop_at_eog=False)
            except ember.Error as e:
                errors.append(e)

        t = threading.Thread(target=run)
        t.start()
        assert started.wait(60)
        ctx.abort()
        t.join(60)
        assert not t.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], ember.CancelledError)
        assert 10 <= len(n) < 10000


def test_four_threads_share_one_model(model):
    prompts = ["Once upon a time", "The little dog", "Once upon a time", "Lily and Tom"]

    def run(prompt):
        with ember.Context(model, n_ctx=128, n_threads=1) as ctx:
            return ctx.generate_text(prompt, max_tokens=32, temperature=0)

    single = [run(p) for p in prompts]
    results = [None] * 4
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, run(prompts[i]))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == single
    assert results[0] == results[2] != results[1]
