"""Model, Context and Sampler: Pythonic owners of ember's C handles.

Handles are freed by close(), by leaving a `with` block, or when the object is collected. A
Model may be shared by Contexts on many threads; a Context or Sampler is used by one thread at
a time (Context.abort() is the exception: call it from anywhere).
"""
import codecs
import ctypes
import json
import os
from collections import namedtuple

from . import _lib
from ._lib import lib
from .errors import Error, InvalidArgumentError, ContextFullError, check

try:  # numpy is optional: logits come back as a numpy array when it is there
    import numpy as _np
except ImportError:  # pragma: no cover - depends on the machine
    _np = None

LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = 0, 1, 2, 3

ModelInfo = namedtuple("ModelInfo", [
    "n_vocab", "n_ctx_train", "n_embd", "n_layer", "n_head", "n_head_kv", "n_ff", "head_dim", "n_params",
    "weight_bytes", "file_size", "n_tensors", "n_metadata", "bos", "eos", "eot", "eom", "unk", "pad", "add_bos",
    "add_eos", "mmapped"])
TensorInfo = namedtuple("TensorInfo", ["name", "type", "shape", "offset", "nbytes"])
MemoryUsage = namedtuple("MemoryUsage", ["weights", "kv_cache", "scratch"])
TokenLogprob = namedtuple("TokenLogprob", ["token", "logprob", "entropy", "top"])
# One step of Context.generate(..., logprobs=N): the text it completed (possibly ""), the token
# and, from the sampler, its log-probability, the distribution's entropy and the N best
# alternatives as (token, logprob) pairs.
Piece = namedtuple("Piece", ["text", "token", "logprob", "entropy", "top"])
GenerateResult = namedtuple("GenerateResult", ["n_tokens", "n_prompt_evaluated", "stop_reason"])

STOP_REASONS = {_lib.STOP_MAX_TOKENS: "max_tokens", _lib.STOP_END_OF_GENERATION: "end_of_generation",
                _lib.STOP_CALLBACK: "callback", _lib.STOP_CONTEXT_FULL: "context_full", _lib.STOP_ABORTED: "aborted",
                _lib.STOP_ERROR: "error"}
_CACHE_TYPES = {"f32": _lib.TYPE_F32, "f16": _lib.TYPE_F16, "q8_0": _lib.TYPE_Q8_0}


def version():
    """The version of the loaded libember.so, e.g. "0.1.0"."""
    return lib().ember_version().decode()


def _fetch_text(fill, raw=False):
    """Runs a buffer-filling C function (buf, capacity, size*) and returns its text."""
    size = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(256)
    status = fill(buf, len(buf), ctypes.byref(size))
    if status == _lib.ERR_BUFFER_TOO_SMALL:
        buf = ctypes.create_string_buffer(size.value + 1)
        status = fill(buf, len(buf), ctypes.byref(size))
    check(status)
    data = buf.raw[:size.value]
    return data if raw else data.decode("utf-8", "replace")


def _json(obj, what):
    try:
        return json.dumps(obj).encode()
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError("%s cannot be written as JSON: %s" % (what, e), _lib.ERR_INVALID_ARGUMENT) from None


def _chat_params(add_generation_prompt, tools, now, extra, bos_token=None, eos_token=None):
    p = _lib.chat_params()
    check(lib().ember_chat_params_init(ctypes.byref(p), ctypes.sizeof(p)))
    p.add_generation_prompt = bool(add_generation_prompt)
    p.tools_json = _json(tools, "tools") if tools is not None else None
    p.extra_json = _json(extra, "the template variables") if extra else None
    p.bos_token = bos_token.encode() if bos_token is not None else None
    p.eos_token = eos_token.encode() if eos_token is not None else None
    p.now = -1 if now is None else int(now)
    return p


def apply_chat_template(template, messages, add_generation_prompt=True, tools=None, now=None, bos_token="",
                        eos_token="", **extra):
    """Renders `messages` (dicts as Hugging Face passes them) with a Jinja chat template string,
    as transformers' apply_chat_template(tokenize=False) does. Keyword arguments beyond the named
    ones are template variables (e.g. enable_thinking=False). now: strftime_now's clock (seconds
    since the epoch, UTC); None: the current local time. Raises TemplateError for what the
    template raises and InvalidArgumentError for messages that are not JSON-serializable."""
    p = _chat_params(add_generation_prompt, tools, now, extra, bos_token, eos_token)
    msgs = _json(list(messages), "messages")
    return _fetch_text(lambda b, c, s: lib().ember_chat_apply_template(None, template.encode(), msgs, ctypes.byref(p), b, c, s))


def _tokens_array(tokens):
    tokens = list(tokens)
    return (_lib.c_token * max(len(tokens), 1))(*tokens), len(tokens)


def _path(p):
    return os.fsencode(p)


class _Handle:
    """Owns one C handle; subclasses set _free to the C function releasing it."""

    _free = None
    _ptr = None

    def close(self):
        ptr, self._ptr = self._ptr, None
        if ptr:
            getattr(lib(), self._free)(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    @property
    def closed(self):
        return not self._ptr

    def _h(self):
        if not self._ptr:
            raise InvalidArgumentError("%s is closed" % type(self).__name__, _lib.ERR_INVALID_ARGUMENT)
        return self._ptr


class Model(_Handle):
    """A loaded GGUF model. Immutable, shareable by any number of Contexts and threads.

    Model(path, use_mmap=True, check_tensors=False, progress=None): `progress(fraction)` is
    called while loading; returning False cancels (CancelledError).
    """

    _free = "ember_model_free"

    def __init__(self, path, use_mmap=True, check_tensors=False, progress=None):
        params = _lib.init_struct(_lib.model_params, "ember_model_params_init")
        params.use_mmap = bool(use_mmap)
        params.check_tensors = bool(check_tensors)
        failure = []
        if progress is not None:
            def on_progress(fraction, _ud):
                try:
                    return progress(fraction) is not False
                except BaseException as e:  # re-raised below, after the C call returns
                    failure.append(e)
                    return False
            callback = _lib.progress_fn(on_progress)
            params.progress = callback
        handle = ctypes.c_void_p()
        status = lib().ember_model_load(_path(path), ctypes.byref(params), ctypes.byref(handle))
        if failure:
            raise failure[0]
        check(status)
        self._ptr = handle.value
        self.path = os.fspath(path)
        self._info = self.info()

    def info(self):
        i = _lib.new_struct(_lib.model_info)
        check(lib().ember_model_get_info(self._h(), ctypes.byref(i)))
        return ModelInfo(*(getattr(i, f) for f in ModelInfo._fields))

    @property
    def n_vocab(self):
        return self._info.n_vocab

    @property
    def architecture(self):
        return _fetch_text(lambda b, n, s: lib().ember_model_architecture(self._h(), b, n, s))

    @property
    def description(self):
        return _fetch_text(lambda b, n, s: lib().ember_model_description(self._h(), b, n, s))

    def metadata(self, key, default=KeyError):
        """A metadata value as text (arrays summarised); `default` when absent, else KeyNotFoundError."""
        try:
            return _fetch_text(lambda b, n, s: lib().ember_model_meta_string(self._h(), key.encode(), b, n, s))
        except KeyError:
            if default is KeyError:
                raise
            return default

    def metadata_int(self, key):
        v = ctypes.c_int64()
        check(lib().ember_model_meta_int(self._h(), key.encode(), ctypes.byref(v)))
        return v.value

    def metadata_float(self, key):
        v = ctypes.c_double()
        check(lib().ember_model_meta_float(self._h(), key.encode(), ctypes.byref(v)))
        return v.value

    def metadata_keys(self):
        return [_fetch_text(lambda b, n, s, i=i: lib().ember_model_meta_key(self._h(), i, b, n, s))
                for i in range(self._info.n_metadata)]

    @property
    def chat_template(self):
        return self.metadata("tokenizer.chat_template", None)

    def tensors(self):
        out = []
        for i in range(self._info.n_tensors):
            t = _lib.new_struct(_lib.tensor_info)
            check(lib().ember_model_tensor_info(self._h(), i, ctypes.byref(t)))
            name = _fetch_text(lambda b, n, s: lib().ember_model_tensor_name(self._h(), i, b, n, s))
            out.append(TensorInfo(name, t.type, tuple(t.ne[: t.n_dims]), t.offset, t.nbytes))
        return out

    def tokenize(self, text, add_special=True, parse_special=False):
        """Text (str or bytes) to a list of token ids."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        cap = len(data) + 4
        for _ in range(2):
            out = (_lib.c_token * cap)()
            n = ctypes.c_size_t()
            status = lib().ember_model_tokenize(self._h(), data, len(data), add_special, parse_special, out, cap,
                                                ctypes.byref(n))
            if status != _lib.ERR_BUFFER_TOO_SMALL:
                break
            cap = n.value
        check(status)
        return list(out[: n.value])

    def apply_chat_template(self, messages, add_generation_prompt=True, tools=None, template=None, now=None, **extra):
        """The conversation rendered with the model's chat template (or `template`), ChatML when
        the model has none (a warning is logged). See ember.apply_chat_template."""
        p = _chat_params(add_generation_prompt, tools, now, extra)
        msgs = _json(list(messages), "messages")
        t = template.encode() if template is not None else None
        return _fetch_text(lambda b, c, s: lib().ember_chat_apply_template(self._h(), t, msgs, ctypes.byref(p), b, c, s))

    def tokenize_chat(self, messages, add_generation_prompt=True, tools=None, template=None, now=None, add_special=True,
                      **extra):
        """apply_chat_template then tokenize, safely: the template's own markers become special
        tokens while special-token text inside the messages stays text."""
        p = _chat_params(add_generation_prompt, tools, now, extra)
        msgs = _json(list(messages), "messages")
        t = template.encode() if template is not None else None
        cap = 256
        for _ in range(2):
            out = (_lib.c_token * cap)()
            n = ctypes.c_size_t()
            status = lib().ember_chat_tokenize(self._h(), t, msgs, ctypes.byref(p), add_special, out, cap, ctypes.byref(n))
            if status != _lib.ERR_BUFFER_TOO_SMALL:
                break
            cap = n.value
        check(status)
        return list(out[: n.value])

    def detokenize(self, tokens, special=False, remove_special=False):
        """Token ids to text (invalid UTF-8 becomes U+FFFD)."""
        arr, n = _tokens_array(tokens)
        return _fetch_text(lambda b, c, s: lib().ember_model_detokenize(self._h(), arr, n, special, remove_special, b, c, s))

    def token_piece(self, token, special=False):
        """The bytes a token adds to generated text (may be part of a UTF-8 character)."""
        return _fetch_text(lambda b, n, s: lib().ember_model_token_piece(self._h(), token, special, b, n, s), raw=True)

    def token_text(self, token):
        """The raw vocabulary entry, e.g. '▁the' or '<0x0A>'."""
        return _fetch_text(lambda b, n, s: lib().ember_model_token_text(self._h(), token, b, n, s))

    def token_id(self, text):
        """The id whose vocabulary entry is exactly `text` (KeyNotFoundError if none)."""
        t = _lib.c_token()
        check(lib().ember_model_token_find(self._h(), text.encode(), ctypes.byref(t)))
        return t.value

    def eog_tokens(self):
        """Every id that ends generation (EOS, EOT, <|im_end|>, <|endoftext|>, ...), ascending."""
        n = ctypes.c_size_t()
        status = lib().ember_model_eog_tokens(self._h(), None, 0, ctypes.byref(n))
        if status != _lib.ERR_BUFFER_TOO_SMALL:
            check(status)
        out = (_lib.c_token * max(n.value, 1))()
        check(lib().ember_model_eog_tokens(self._h(), out, n.value, ctypes.byref(n)))
        return list(out[: n.value])

    def is_eog(self, token):
        eog = ctypes.c_bool()
        check(lib().ember_model_token_attr(self._h(), token, None, None, ctypes.byref(eog)))
        return eog.value

    def token_type(self, token):
        t = ctypes.c_int32()
        check(lib().ember_model_token_attr(self._h(), token, None, ctypes.byref(t), None))
        return t.value


GRAMMAR_KINDS = {"gbnf": 0, "json_schema": 1, "regex": 2}


def _grammar_arg(grammar, json_schema, regex):
    """(kind, text bytes) of the one constraint given, or None."""
    given = [(k, v) for k, v in (("gbnf", grammar), ("json_schema", json_schema), ("regex", regex)) if v is not None]
    if len(given) > 1:
        raise InvalidArgumentError("Sampler: give at most one of grammar, json_schema and regex",
                                   _lib.ERR_INVALID_ARGUMENT)
    if not given:
        return None
    kind, text = given[0]
    if kind == "json_schema" and not isinstance(text, (str, bytes)):
        text = _json(text, "json_schema")
    if not isinstance(text, (str, bytes)):
        raise InvalidArgumentError(f"Sampler: {kind} must be a string", _lib.ERR_INVALID_ARGUMENT)
    return GRAMMAR_KINDS[kind], text.encode() if isinstance(text, str) else text


class Sampler(_Handle):
    """Turns logits into tokens. The default chain matches llama.cpp's defaults; temperature
    0 is greedy. logprobs=N records each sampled token's log-probability and N alternatives.
    Sampler.chain(seed) starts an empty chain to build with the add_* methods.

    Structured output: grammar= (GBNF text), json_schema= (a dict or JSON text) or regex= puts a
    grammar stage first in the chain, so every sampled token keeps the output inside the
    language; it needs model=. An unsupported schema keyword or a syntax error raises
    InvalidArgumentError naming it."""

    _free = "ember_sampler_free"

    def __init__(self, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, typical_p=1.0, min_keep=0,
                 repeat_penalty=1.0, repeat_last_n=64, frequency_penalty=0.0, presence_penalty=0.0, mirostat=0,
                 mirostat_tau=5.0, mirostat_eta=0.1, seed=None, logit_bias=None, logprobs=None,
                 logprobs_after_transforms=False, model=None, grammar=None, json_schema=None, regex=None):
        p = _lib.init_struct(_lib.sampler_params, "ember_sampler_params_init")
        p.seed = _lib.SEED_RANDOM if seed is None else seed
        p.temp, p.top_k, p.top_p, p.min_p, p.typical_p, p.min_keep = temperature, top_k, top_p, min_p, typical_p, min_keep
        p.repeat_penalty, p.repeat_last_n = repeat_penalty, repeat_last_n
        p.frequency_penalty, p.presence_penalty = frequency_penalty, presence_penalty
        p.mirostat, p.mirostat_tau, p.mirostat_eta = mirostat, mirostat_tau, mirostat_eta
        biases = list((logit_bias or {}).items())
        arr = (_lib.token_bias * max(len(biases), 1))(*[_lib.token_bias(t, b) for t, b in biases])
        p.logit_bias, p.n_logit_bias = ctypes.cast(arr, ctypes.POINTER(_lib.token_bias)), len(biases)
        if logprobs is not None:
            p.logprobs, p.n_logprobs = True, int(logprobs)
        p.logprobs_after_transforms = logprobs_after_transforms
        self._n_top = int(logprobs or 0)
        constraint = _grammar_arg(grammar, json_schema, regex)
        handle = ctypes.c_void_p()
        m = model._h() if model is not None else None
        if constraint is None:
            check(lib().ember_sampler_create(ctypes.byref(p), m, ctypes.byref(handle)))
        else:
            check(lib().ember_sampler_create_grammar(ctypes.byref(p), m, constraint[0], constraint[1], ctypes.byref(handle)))
        self._ptr = handle.value

    @classmethod
    def greedy(cls, **kw):
        return cls(temperature=0.0, **kw)

    @classmethod
    def chain(cls, seed=None):
        self = cls.__new__(cls)
        self._n_top = 0
        handle = ctypes.c_void_p()
        check(lib().ember_sampler_chain_create(_lib.SEED_RANDOM if seed is None else seed, ctypes.byref(handle)))
        self._ptr = handle.value
        return self

    # Stages for chains; each returns self so calls can be chained.
    def add_logit_bias(self, biases):
        items = list(biases.items())
        arr = (_lib.token_bias * max(len(items), 1))(*[_lib.token_bias(t, b) for t, b in items])
        check(lib().ember_sampler_add_logit_bias(self._h(), arr, len(items)))
        return self

    def add_grammar(self, model, grammar=None, json_schema=None, regex=None):
        """Appends a grammar stage (GBNF text, a JSON schema as dict or text, or a regex); add
        it first so later stages see only tokens that fit."""
        constraint = _grammar_arg(grammar, json_schema, regex)
        if constraint is None:
            raise InvalidArgumentError("add_grammar: give one of grammar, json_schema and regex",
                                       _lib.ERR_INVALID_ARGUMENT)
        check(lib().ember_sampler_add_grammar(self._h(), model._h(), constraint[0], constraint[1]))
        return self

    def add_penalties(self, last_n=64, repeat=1.1, frequency=0.0, presence=0.0):
        check(lib().ember_sampler_add_penalties(self._h(), last_n, repeat, frequency, presence))
        return self

    def add_top_k(self, k):
        check(lib().ember_sampler_add_top_k(self._h(), k))
        return self

    def add_typical_p(self, p, min_keep=1):
        check(lib().ember_sampler_add_typical_p(self._h(), p, min_keep))
        return self

    def add_top_p(self, p, min_keep=1):
        check(lib().ember_sampler_add_top_p(self._h(), p, min_keep))
        return self

    def add_min_p(self, p, min_keep=1):
        check(lib().ember_sampler_add_min_p(self._h(), p, min_keep))
        return self

    def add_temperature(self, t):
        check(lib().ember_sampler_add_temperature(self._h(), t))
        return self

    def add_greedy(self):
        check(lib().ember_sampler_add_greedy(self._h()))
        return self

    def add_mirostat(self, tau=5.0, eta=0.1, m=100):
        check(lib().ember_sampler_add_mirostat(self._h(), tau, eta, m))
        return self

    def add_mirostat_v2(self, tau=5.0, eta=0.1):
        check(lib().ember_sampler_add_mirostat_v2(self._h(), tau, eta))
        return self

    def set_logprobs(self, n_top=0, enabled=True, after_transforms=False):
        check(lib().ember_sampler_set_logprobs(self._h(), enabled, n_top, after_transforms))
        self._n_top = n_top if enabled else 0
        return self

    def sample(self, ctx, i=-1):
        """A token from the logits of token i of ctx's last decode (not yet accepted)."""
        t = _lib.c_token()
        check(lib().ember_sampler_sample(self._h(), ctx._h(), i, ctypes.byref(t)))
        return t.value

    def sample_logits(self, logits):
        row = (ctypes.c_float * len(logits))(*[float(x) for x in logits])
        t = _lib.c_token()
        check(lib().ember_sampler_sample_logits(self._h(), row, len(logits), ctypes.byref(t)))
        return t.value

    def accept(self, token):
        """Records a token that entered the context as output (a grammar stage advances)."""
        check(lib().ember_sampler_accept(self._h(), token))

    def accept_prompt(self, token):
        """Records a prompt token: penalties learn from it, a grammar stage ignores it."""
        check(lib().ember_sampler_accept_prompt(self._h(), token))

    def reset(self):
        check(lib().ember_sampler_reset(self._h()))

    @property
    def seed(self):
        s = ctypes.c_uint64()
        check(lib().ember_sampler_get_seed(self._h(), ctypes.byref(s)))
        return s.value

    def describe(self):
        return _fetch_text(lambda b, n, s: lib().ember_sampler_describe(self._h(), b, n, s))

    def last_logprob(self):
        """TokenLogprob(token, logprob, entropy, top) of the last sampled token."""
        tok, lp, ent = _lib.c_token(), ctypes.c_float(), ctypes.c_float()
        cap = max(self._n_top, 1)
        top = (_lib.token_logprob * cap)()
        n = ctypes.c_size_t()
        check(lib().ember_sampler_last_logprob(self._h(), ctypes.byref(tok), ctypes.byref(lp), ctypes.byref(ent), top,
                                               cap, ctypes.byref(n)))
        return TokenLogprob(tok.value, lp.value, ent.value, [(top[i].token, top[i].logprob) for i in range(n.value)])


class Context(_Handle):
    """An inference context: the KV cache and threads that run a model.

    Context(model, n_ctx=0, window=0, n_batch=512, n_threads=0, n_seq_max=1, type_k="f16",
    type_v="f16", context_shift=False, n_keep=0, seed=None). n_ctx=0 is the model's training
    context; window=W > 0 attends over the last W positions only (memory stays O(W)).
    """

    _free = "ember_context_free"

    def __init__(self, model, n_ctx=0, window=0, n_batch=512, n_threads=0, n_seq_max=1, type_k="f16", type_v="f16",
                 context_shift=False, n_keep=0, seed=None):
        p = _lib.init_struct(_lib.context_params, "ember_context_params_init")
        p.n_ctx, p.window, p.n_batch, p.n_threads, p.n_seq_max = n_ctx, window, n_batch, n_threads, n_seq_max
        for field, value in (("type_k", type_k), ("type_v", type_v)):
            if value not in _CACHE_TYPES:
                raise InvalidArgumentError("%s must be one of %s, not %r" % (field, ", ".join(_CACHE_TYPES), value),
                                           _lib.ERR_INVALID_ARGUMENT)
            setattr(p, field, _CACHE_TYPES[value])
        p.context_shift, p.n_keep = context_shift, n_keep
        p.seed = _lib.SEED_RANDOM if seed is None else seed
        handle = ctypes.c_void_p()
        check(lib().ember_context_create(model._h(), ctypes.byref(p), ctypes.byref(handle)))
        self._ptr = handle.value
        self.model = model

    # --- information ---
    def params(self):
        p = _lib.new_struct(_lib.context_params)
        check(lib().ember_context_get_params(self._h(), ctypes.byref(p)))
        return {f: getattr(p, f) for f, _ in _lib.context_params._fields_ if f != "struct_size"}

    @property
    def n_ctx(self):
        v = ctypes.c_int64()
        check(lib().ember_context_n_ctx(self._h(), ctypes.byref(v)))
        return v.value

    def n_past(self, seq=0):
        v = ctypes.c_int64()
        check(lib().ember_context_n_past(self._h(), seq, ctypes.byref(v)))
        return v.value

    @property
    def n_evaluated(self):
        v = ctypes.c_uint64()
        check(lib().ember_context_n_evaluated(self._h(), ctypes.byref(v)))
        return v.value

    def memory(self):
        m = _lib.new_struct(_lib.memory_usage)
        check(lib().ember_context_memory(self._h(), ctypes.byref(m)))
        return MemoryUsage(m.weights, m.kv_cache, m.scratch)

    # --- evaluation ---
    def decode(self, tokens, seq=0, all_logits=False):
        arr, n = _tokens_array(tokens)
        check(lib().ember_context_decode(self._h(), arr, n, seq, all_logits))

    def decode_batch(self, tokens, pos, seq=None, logits=None):
        """Token i at position pos[i] of sequence seq[i] (default 0); logits[i] truthy = wanted
        (default: the last token only)."""
        n = len(tokens)
        if len(pos) != n or (seq is not None and len(seq) != n) or (logits is not None and len(logits) != n):
            raise InvalidArgumentError("decode_batch: tokens, pos, seq and logits differ in length", _lib.ERR_INVALID_ARGUMENT)
        b = _lib.new_struct(_lib.batch)
        keep = [(_lib.c_token * max(n, 1))(*tokens), (ctypes.c_int32 * max(n, 1))(*pos)]
        b.n_tokens, b.tokens, b.pos = n, keep[0], keep[1]
        if seq is not None:
            keep.append((_lib.c_seq * n)(*seq))
            b.seq = keep[-1]
        if logits is not None:
            keep.append((ctypes.c_int8 * n)(*[1 if x else 0 for x in logits]))
            b.logits = keep[-1]
        check(lib().ember_context_decode_batch(self._h(), ctypes.byref(b)))

    def decode_prompt(self, tokens, seq=0):
        """Evaluates a prompt reusing the cached prefix; returns how many tokens were evaluated."""
        arr, n = _tokens_array(tokens)
        v = ctypes.c_int64()
        check(lib().ember_context_decode_prompt(self._h(), arr, n, seq, ctypes.byref(v)))
        return v.value

    def logits(self, i=-1, numpy=None):
        """Logits of token i of the last decode (a copy): a numpy array when numpy is installed
        (numpy=None) or asked for (True), else a list."""
        ptr = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t()
        check(lib().ember_context_logits(self._h(), i, ctypes.byref(ptr), ctypes.byref(n)))
        if numpy is None:
            numpy = _np is not None
        if numpy:
            if _np is None:
                raise ImportError("numpy is not installed")
            return _np.ctypeslib.as_array(ptr, shape=(n.value,)).copy()
        return ptr[: n.value]

    # --- the cache ---
    def seq_rm(self, seq, p0=0, p1=-1):
        check(lib().ember_context_seq_rm(self._h(), seq, p0, p1))

    def seq_cp(self, src, dst, p0=0, p1=-1):
        check(lib().ember_context_seq_cp(self._h(), src, dst, p0, p1))

    def shift(self, seq, n_keep, n_discard):
        check(lib().ember_context_shift(self._h(), seq, n_keep, n_discard))

    def clear(self):
        check(lib().ember_context_clear(self._h()))

    def abort(self):
        """Stops a decode or generation running on another thread (it raises CancelledError).
        If none is running, the next one is cancelled."""
        check(lib().ember_context_abort(self._h()))

    def save_state(self):
        size = ctypes.c_size_t()
        status = lib().ember_context_state_save(self._h(), None, 0, ctypes.byref(size))
        if status != _lib.ERR_BUFFER_TOO_SMALL:
            check(status)
        buf = ctypes.create_string_buffer(size.value)
        check(lib().ember_context_state_save(self._h(), buf, size.value, ctypes.byref(size)))
        return buf.raw[: size.value]

    def load_state(self, data):
        data = bytes(data)
        check(lib().ember_context_state_load(self._h(), data, len(data)))

    def save_state_file(self, path):
        check(lib().ember_context_state_save_file(self._h(), _path(path)))

    def load_state_file(self, path):
        check(lib().ember_context_state_load_file(self._h(), _path(path)))

    # --- generation ---
    def generate(self, prompt, max_tokens=128, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, seed=None,
                 repeat_penalty=1.0, logprobs=None, stop_at_eog=True, seq=0, sampler=None):
        """Generates a continuation of `prompt` (text, tokenized with BOS as the model asks, or a
        list of token ids), yielding text pieces as they complete (whole UTF-8 characters only;
        a token that ends inside a character yields ""). With logprobs=N it yields Piece tuples
        carrying each token's log-probability and N alternatives. `sampler` replaces the
        sampling arguments. The cached prefix of the prompt is reused; the loop is
        ember_context_generate's, step by step, so stopping the iteration stops generating.
        """
        tokens = self.model.tokenize(prompt) if isinstance(prompt, (str, bytes)) else list(prompt)
        if not tokens:
            raise InvalidArgumentError("generate: the prompt has no tokens", _lib.ERR_INVALID_ARGUMENT)
        if max_tokens < -1:
            raise InvalidArgumentError("generate: max_tokens must be -1 or more", _lib.ERR_INVALID_ARGUMENT)
        own = sampler is None
        if own:
            sampler = Sampler(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, seed=seed,
                              repeat_penalty=repeat_penalty, logprobs=logprobs, model=self.model)
        elif logprobs is not None:
            sampler.set_logprobs(int(logprobs))
        return self._generate(tokens, max_tokens, stop_at_eog, seq, sampler, own, logprobs is not None)

    def _generate(self, tokens, max_tokens, stop_at_eog, seq, sampler, own, with_logprobs):
        try:
            self.decode_prompt(tokens, seq)
            for t in tokens:
                sampler.accept_prompt(t)
            utf8 = codecs.getincrementaldecoder("utf-8")("replace")
            n = 0
            while max_tokens < 0 or n < max_tokens:
                token = sampler.sample(self)
                sampler.accept(token)
                if stop_at_eog and self.model.is_eog(token):
                    break
                n += 1
                text = utf8.decode(self.model.token_piece(token))
                if with_logprobs:
                    lp = sampler.last_logprob()
                    yield Piece(text, token, lp.logprob, lp.entropy, lp.top)
                elif text:
                    yield text
                if 0 <= max_tokens <= n:
                    break
                try:
                    self.decode([token], seq)
                except ContextFullError:
                    break
            tail = utf8.decode(b"", final=True)
            if tail:
                yield Piece(tail, -1, None, None, []) if with_logprobs else tail
        finally:
            if own:
                sampler.close()

    def generate_text(self, prompt, **kw):
        """The whole continuation as one string (see generate)."""
        kw.pop("logprobs", None)
        return "".join(self.generate(prompt, **kw))

    def generate_with_callback(self, prompt, on_token, max_tokens=128, sampler=None, stop_at_eog=True,
                               accept_prompt=True, seq=0, temperature=0.0):
        """ember_context_generate itself: on_token(token, text_bytes, logprob_or_None) is called
        for each token (token -1 for held-back text at the end); returning False stops (then
        CancelledError is not raised: the result's stop_reason is "callback")."""
        tokens = self.model.tokenize(prompt) if isinstance(prompt, (str, bytes)) else list(prompt)
        arr, n = _tokens_array(tokens)
        p = _lib.init_struct(_lib.generate_params, "ember_generate_params_init")
        p.max_tokens, p.stop_at_eog, p.accept_prompt, p.seq, p.temperature = max_tokens, stop_at_eog, accept_prompt, seq, temperature
        failure = []

        def trampoline(ev_ptr, _ud):
            ev = ev_ptr.contents
            try:
                lp = ev.logprob if ev.has_logprob else None
                return on_token(ev.token, ctypes.string_at(ev.text, ev.text_len), lp) is not False
            except BaseException as e:
                failure.append(e)
                return False

        cb = _lib.token_fn(trampoline)
        r = _lib.new_struct(_lib.generate_result)
        status = lib().ember_context_generate(self._h(), sampler._h() if sampler is not None else None, arr, n,
                                              ctypes.byref(p), cb, None, ctypes.byref(r))
        if failure:
            raise failure[0]
        if not (status == _lib.ERR_CANCELLED and r.stop_reason == _lib.STOP_CALLBACK):
            check(status)
        return GenerateResult(r.n_tokens, r.n_prompt_evaluated, STOP_REASONS.get(r.stop_reason, "?"))


_log_callback = None  # kept alive while installed


def set_log_handler(handler):
    """Installs handler(level, message) as ember's log sink (None: silence, the default)."""
    global _log_callback
    if handler is None:
        lib().ember_log_set(_lib.log_fn(), None)
        _log_callback = None
        return

    def sink(level, message, _ud):
        try:
            handler(level, message.decode("utf-8", "replace"))
        except Exception:  # a broken handler must not break inference
            pass

    cb = _lib.log_fn(sink)
    lib().ember_log_set(cb, None)
    _log_callback = cb


def quantize_file(input, output, preset, n_threads=0, progress=None):
    """Writes a quantized copy of a GGUF model; returns a dict of byte and tensor counts."""
    p = _lib.init_struct(_lib.quantize_params, "ember_quantize_params_init")
    p.preset = preset.encode()
    p.n_threads = n_threads
    failure = []
    if progress is not None:
        def on_progress(fraction, _ud):
            try:
                return progress(fraction) is not False
            except BaseException as e:
                failure.append(e)
                return False
        p.progress = _lib.progress_fn(on_progress)
    r = _lib.new_struct(_lib.quantize_result)
    status = lib().ember_quantize_file(_path(input), _path(output), ctypes.byref(p), ctypes.byref(r))
    if failure:
        raise failure[0]
    check(status)
    return {"bytes_in": r.bytes_in, "bytes_out": r.bytes_out, "n_tensors": r.n_tensors, "n_quantized": r.n_quantized}


__all__ = ["Model", "Context", "Sampler", "Error", "version", "set_log_handler", "quantize_file", "ModelInfo",
           "TensorInfo", "MemoryUsage", "TokenLogprob", "Piece", "GenerateResult"]
