"""Models and tokens through the Python package, errors included."""
import ctypes
import os
import struct

import pytest

import ember
from ember import _lib


def test_version_and_abi():
    assert ember.version() == "0.1.0"
    assert _lib.lib().ember_abi_version() == ember.ABI_VERSION


def test_information(model):
    info = model.info()
    assert (info.n_vocab, info.n_embd, info.n_layer, info.n_head, info.n_head_kv) == (512, 64, 5, 8, 4)
    assert info.n_tensors == 48 and info.n_metadata == 19 and info.bos == 1 and info.eos == 2 and info.add_bos
    assert model.architecture == "llama"
    assert model.description.startswith("llama")
    assert model.metadata("general.architecture") == "llama"
    assert model.metadata("llama.block_count") == "5"
    assert model.metadata("no.such.key", None) is None
    assert model.metadata_int("llama.context_length") == 2048
    assert abs(model.metadata_float("llama.attention.layer_norm_rms_epsilon") - 1e-5) < 1e-9
    keys = model.metadata_keys()
    assert len(keys) == 19 and keys[0] == "tokenizer.ggml.tokens"
    assert model.chat_template is None
    tensors = model.tensors()
    assert len(tensors) == 48
    assert tensors[0] == ember.TensorInfo("token_embd.weight", 0, (64, 512), tensors[0].offset, 131072)


def test_tokens(model):
    text = "Once upon a time, there was a cat named Tom."
    ids = model.tokenize(text)
    assert ids[0] == 1 and len(ids) > 8
    assert model.detokenize(ids[1:]) == text
    assert model.tokenize(text, add_special=False) == ids[1:]
    assert model.tokenize(text.encode()) == ids
    assert model.token_text(1) == "<s>"
    assert model.token_piece(1) == b"" and model.token_piece(1, special=True) == b"<s>"
    assert model.token_piece(model.token_id("<0x0A>")) == b"\n"
    assert model.token_piece(3) == b"\x00"  # byte tokens may be NUL
    assert model.token_id("</s>") == 2
    assert model.is_eog(2) and not model.is_eog(300)
    assert model.token_type(2) == 3
    with pytest.raises(ember.KeyNotFoundError) as e:
        model.token_id("definitely-not-a-token")
    assert "definitely-not-a-token" in str(e.value)
    with pytest.raises(KeyError):
        model.metadata("no.such.key")


def test_eog_tokens(model):
    assert model.eog_tokens() == [2]


def test_byte_level_bpe():
    """A Llama-3 vocabulary on a tiny random model ($EMBER_TEST_BPE_MODEL, made by the CTest
    fixture capi_bpe_model with `ember mkmodel`)."""
    path = os.environ.get("EMBER_TEST_BPE_MODEL")
    if not path:
        pytest.skip("EMBER_TEST_BPE_MODEL is not set (run through CTest)")
    with ember.Model(path) as m:
        chat = "<|begin_of_text|>Hi<|eot_id|>"
        assert m.tokenize(chat, add_special=False, parse_special=True) == [128000, 13347, 128009]
        plain = m.tokenize(chat, add_special=True, parse_special=False)
        assert plain[0] == 128000 and 128009 not in plain and 128000 not in plain[1:]
        assert m.detokenize(plain[1:]) == chat
        text = "Grüße, 世界! It's 12345 ✓"
        assert m.detokenize(m.tokenize(text, add_special=False)) == text
        eog = m.eog_tokens()
        assert eog == sorted(eog) and 128009 in eog and 128001 in eog
        assert m.is_eog(128009) and not m.is_eog(128000)


def test_missing_file(tmp_path):
    path = tmp_path / "missing.gguf"
    with pytest.raises(ember.FileMissingError) as e:
        ember.Model(path)
    assert e.value.status == -2 and str(path) in e.value.message
    assert isinstance(e.value, FileNotFoundError)


def test_corrupt_files(tmp_path, model_path):
    data = open(model_path, "rb").read()
    for cut in (3, 100, 5000, len(data) // 2, len(data) - 1):
        p = tmp_path / ("truncated_%d.gguf" % cut)
        p.write_bytes(data[:cut])
        with pytest.raises(ember.BadFileError) as e:
            ember.Model(p)
        assert e.value.status == -3 and p.name in str(e.value)
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"not a model at all" * 10)
    with pytest.raises(ember.BadFileError):
        ember.Model(garbage)


def gguf_bytes(kv):
    """A GGUF v3 file without tensors holding string metadata, written by hand."""
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    for key, value in kv.items():
        k, v = key.encode(), value.encode()
        out += struct.pack("<Q", len(k)) + k + struct.pack("<IQ", 8, len(v)) + v
    return out


def test_unsupported_architecture(tmp_path):
    p = tmp_path / "arch.gguf"
    p.write_bytes(gguf_bytes({"general.architecture": "gpt-nine"}))
    with pytest.raises(ember.UnsupportedError) as e:
        ember.Model(p)
    assert "gpt-nine" in str(e.value)
    p.write_bytes(gguf_bytes({"general.name": "no architecture"}))
    with pytest.raises(ember.BadFileError) as e:
        ember.Model(p)
    assert "general.architecture" in str(e.value)


def test_invalid_arguments(model):
    with pytest.raises(ember.InvalidArgumentError) as e:
        model.detokenize([5, 9999])
    assert "9999" in str(e.value) and isinstance(e.value, ValueError)
    with pytest.raises(ember.InvalidArgumentError):
        model.token_piece(-1)
    with pytest.raises(ember.InvalidArgumentError):
        model.token_text(512)
    with pytest.raises(ember.InvalidArgumentError):
        ember.Context(model, n_ctx=-1)
    with pytest.raises(ember.InvalidArgumentError):
        ember.Context(model, type_k="q4_0")
    with pytest.raises(ember.InvalidArgumentError):
        ember.Sampler(top_p=2.0)


def test_null_handles_through_the_raw_layer(model):
    lib = _lib.lib()
    info = _lib.new_struct(_lib.model_info)
    assert lib.ember_model_get_info(None, ctypes.byref(info)) == _lib.ERR_INVALID_ARGUMENT
    assert b"model is NULL" in lib.ember_last_error()
    assert lib.ember_model_load(None, None, None) == _lib.ERR_INVALID_ARGUMENT
    assert lib.ember_context_decode(None, None, 0, 0, False) == _lib.ERR_INVALID_ARGUMENT
    lib.ember_model_free(None)
    lib.ember_context_free(None)


def test_undersized_buffer(model):
    lib = _lib.lib()
    buf = ctypes.create_string_buffer(3)
    size = ctypes.c_size_t()
    status = lib.ember_model_architecture(model._h(), buf, 3, ctypes.byref(size))
    assert status == _lib.ERR_BUFFER_TOO_SMALL and size.value == 5
    with pytest.raises(ember.BufferTooSmallError) as e:
        ember.errors.check(status)
    assert "do not fit" in str(e.value)
    text = b"Once upon a time"
    out = (_lib.c_token * 2)()
    status = lib.ember_model_tokenize(model._h(), text, len(text), True, False, out, 2, ctypes.byref(size))
    assert status == _lib.ERR_BUFFER_TOO_SMALL and size.value == len(model.tokenize(text))


def test_closed_handles_raise(model_path):
    m = ember.Model(model_path)
    m.close()
    assert m.closed
    with pytest.raises(ember.InvalidArgumentError) as e:
        m.tokenize("x")
    assert "closed" in str(e.value)
    m.close()  # twice is fine


def test_load_options_and_progress(model_path):
    seen = []
    with ember.Model(model_path, use_mmap=False, check_tensors=True, progress=seen.append) as m:
        assert not m.info().mmapped
    assert seen[-1] == 1.0 and len(seen) > 3
    with pytest.raises(ember.CancelledError):
        ember.Model(model_path, progress=lambda f: False)

    def boom(_):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        ember.Model(model_path, progress=boom)


def test_log_handler(model_path):
    messages = []
    ember.set_log_handler(lambda level, msg: messages.append((level, msg)))
    try:
        ember.Model(model_path).close()
    finally:
        ember.set_log_handler(None)
    assert any(level == ember.LOG_INFO and "stories260K" in msg for level, msg in messages)
    n = len(messages)
    ember.Model(model_path).close()
    assert len(messages) == n


def test_quantize_file(tmp_path, model_path):
    out = tmp_path / "f16.gguf"
    seen = []
    try:
        r = ember.quantize_file(model_path, out, "F16", progress=seen.append)
    except ember.UnsupportedError as e:  # a build without the file quantizer
        assert "no file quantizer" in str(e)
        return
    assert r["n_tensors"] == 48 and 0 < r["n_quantized"] < 48 and r["bytes_out"] < r["bytes_in"]
    assert len(seen) == 48 and seen[-1] == 1.0
    with ember.Model(out) as m:
        assert m.info().n_tensors == 48
    with pytest.raises(ember.InvalidArgumentError, match="Q9_X"):
        ember.quantize_file(model_path, tmp_path / "x.gguf", "Q9_X")
    with pytest.raises(ember.CancelledError):
        ember.quantize_file(model_path, tmp_path / "y.gguf", "F16", progress=lambda f: False)
    assert not (tmp_path / "y.gguf").exists()
