"""Low-level ctypes declarations of ember.h and the loading of libember.so.

Everything here mirrors capi/ember.h one to one; the Pythonic classes live in ember.core.
"""
import ctypes
import ctypes.util
import glob
import os
import threading

ABI_VERSION = 1  # the EMBER_ABI_VERSION these declarations were written for

c_status = ctypes.c_int32
c_token = ctypes.c_int32
c_seq = ctypes.c_int32
c_size_p = ctypes.POINTER(ctypes.c_size_t)

OK = 0
ERR_INVALID_ARGUMENT = -1
ERR_FILE_NOT_FOUND = -2
ERR_BAD_FILE = -3
ERR_UNSUPPORTED = -4
ERR_OUT_OF_MEMORY = -5
ERR_CONTEXT_FULL = -6
ERR_CANCELLED = -7
ERR_IO = -8
ERR_INTERNAL = -9
ERR_BUFFER_TOO_SMALL = -10
ERR_NOT_FOUND = -11
ERR_TEMPLATE = -12

TYPE_F32, TYPE_F16, TYPE_Q8_0 = 0, 1, 8
SEED_RANDOM = 2**64 - 1
STOP_MAX_TOKENS, STOP_END_OF_GENERATION, STOP_CALLBACK, STOP_CONTEXT_FULL, STOP_ABORTED, STOP_ERROR = range(6)

log_fn = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_char_p, ctypes.c_void_p)
progress_fn = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_float, ctypes.c_void_p)


class model_params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("use_mmap", ctypes.c_bool), ("check_tensors", ctypes.c_bool),
                ("progress", progress_fn), ("progress_user_data", ctypes.c_void_p)]


class chat_params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("add_generation_prompt", ctypes.c_bool),
                ("tools_json", ctypes.c_char_p), ("extra_json", ctypes.c_char_p), ("bos_token", ctypes.c_char_p),
                ("eos_token", ctypes.c_char_p), ("now", ctypes.c_int64), ("max_steps", ctypes.c_uint64),
                ("max_output", ctypes.c_uint64)]


class model_info(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t)] + [
        (n, ctypes.c_int64) for n in ("n_vocab", "n_ctx_train", "n_embd", "n_layer", "n_head", "n_head_kv", "n_ff", "head_dim")
    ] + [(n, ctypes.c_uint64) for n in ("n_params", "weight_bytes", "file_size", "n_tensors", "n_metadata")] + [
        (n, c_token) for n in ("bos", "eos", "eot", "eom", "unk", "pad")
    ] + [("add_bos", ctypes.c_bool), ("add_eos", ctypes.c_bool), ("mmapped", ctypes.c_bool)]


class tensor_info(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("type", ctypes.c_int32), ("n_dims", ctypes.c_uint32),
                ("ne", ctypes.c_int64 * 4), ("offset", ctypes.c_uint64), ("nbytes", ctypes.c_uint64)]


class context_params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_ctx", ctypes.c_int64), ("n_batch", ctypes.c_int64),
                ("n_threads", ctypes.c_int32), ("n_seq_max", ctypes.c_int32), ("window", ctypes.c_int64),
                ("type_k", ctypes.c_int32), ("type_v", ctypes.c_int32), ("context_shift", ctypes.c_bool),
                ("n_keep", ctypes.c_int64), ("seed", ctypes.c_uint64)]


class memory_usage(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("weights", ctypes.c_uint64), ("kv_cache", ctypes.c_uint64),
                ("scratch", ctypes.c_uint64)]


class batch(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_tokens", ctypes.c_size_t), ("tokens", ctypes.POINTER(c_token)),
                ("pos", ctypes.POINTER(ctypes.c_int32)), ("seq", ctypes.POINTER(c_seq)),
                ("logits", ctypes.POINTER(ctypes.c_int8))]


class token_bias(ctypes.Structure):
    _fields_ = [("token", c_token), ("bias", ctypes.c_float)]


class sampler_params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("seed", ctypes.c_uint64), ("temp", ctypes.c_float),
                ("top_k", ctypes.c_int32), ("top_p", ctypes.c_float), ("min_p", ctypes.c_float),
                ("typical_p", ctypes.c_float), ("min_keep", ctypes.c_int32), ("repeat_penalty", ctypes.c_float),
                ("repeat_last_n", ctypes.c_int32), ("frequency_penalty", ctypes.c_float),
                ("presence_penalty", ctypes.c_float), ("mirostat", ctypes.c_int32), ("mirostat_tau", ctypes.c_float),
                ("mirostat_eta", ctypes.c_float), ("logit_bias", ctypes.POINTER(token_bias)),
                ("n_logit_bias", ctypes.c_size_t), ("logprobs", ctypes.c_bool), ("n_logprobs", ctypes.c_int32),
                ("logprobs_after_transforms", ctypes.c_bool)]


class token_logprob(ctypes.Structure):
    _fields_ = [("token", c_token), ("logprob", ctypes.c_float)]


class token_event(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("token", c_token), ("text", ctypes.POINTER(ctypes.c_char)),
                ("text_len", ctypes.c_size_t), ("index", ctypes.c_int64), ("has_logprob", ctypes.c_bool),
                ("logprob", ctypes.c_float), ("entropy", ctypes.c_float), ("top", ctypes.POINTER(token_logprob)),
                ("n_top", ctypes.c_size_t)]


token_fn = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.POINTER(token_event), ctypes.c_void_p)


class generate_params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("max_tokens", ctypes.c_int64), ("seq", c_seq),
                ("stop_at_eog", ctypes.c_bool), ("accept_prompt", ctypes.c_bool), ("temperature", ctypes.c_float),
                ("top_k", ctypes.c_int32), ("top_p", ctypes.c_float), ("min_p", ctypes.c_float)]


class generate_result(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("n_tokens", ctypes.c_int64), ("n_prompt_evaluated", ctypes.c_int64),
                ("stop_reason", ctypes.c_int32)]


class quantize_params(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("preset", ctypes.c_char_p), ("n_threads", ctypes.c_int32),
                ("progress", progress_fn), ("progress_user_data", ctypes.c_void_p)]


class quantize_result(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("bytes_in", ctypes.c_uint64), ("bytes_out", ctypes.c_uint64),
                ("n_tensors", ctypes.c_uint64), ("n_quantized", ctypes.c_uint64)]


P = ctypes.POINTER
vp = ctypes.c_void_p
char_p = ctypes.c_char_p
buf_t = P(ctypes.c_char)
size_t = ctypes.c_size_t
i32, i64, u64 = ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64
bool_ = ctypes.c_bool

# name: (restype, argtypes). Handles are plain void pointers.
_PROTOTYPES = {
    "ember_version": (char_p, []),
    "ember_abi_version": (ctypes.c_uint32, []),
    "ember_last_error": (char_p, []),
    "ember_status_string": (char_p, [c_status]),
    "ember_log_set": (None, [log_fn, vp]),
    "ember_model_params_init": (c_status, [P(model_params), size_t]),
    "ember_model_load": (c_status, [char_p, P(model_params), P(vp)]),
    "ember_model_free": (None, [vp]),
    "ember_model_get_info": (c_status, [vp, P(model_info)]),
    "ember_model_architecture": (c_status, [vp, buf_t, size_t, c_size_p]),
    "ember_model_description": (c_status, [vp, buf_t, size_t, c_size_p]),
    "ember_model_meta_string": (c_status, [vp, char_p, buf_t, size_t, c_size_p]),
    "ember_model_meta_int": (c_status, [vp, char_p, P(i64)]),
    "ember_model_meta_float": (c_status, [vp, char_p, P(ctypes.c_double)]),
    "ember_model_meta_key": (c_status, [vp, u64, buf_t, size_t, c_size_p]),
    "ember_model_tensor_info": (c_status, [vp, u64, P(tensor_info)]),
    "ember_model_tensor_name": (c_status, [vp, u64, buf_t, size_t, c_size_p]),
    "ember_model_tokenize": (c_status, [vp, char_p, size_t, bool_, bool_, P(c_token), size_t, c_size_p]),
    "ember_model_detokenize": (c_status, [vp, P(c_token), size_t, bool_, bool_, buf_t, size_t, c_size_p]),
    "ember_model_eog_tokens": (c_status, [vp, P(c_token), size_t, c_size_p]),
    "ember_model_token_piece": (c_status, [vp, c_token, bool_, buf_t, size_t, c_size_p]),
    "ember_model_token_text": (c_status, [vp, c_token, buf_t, size_t, c_size_p]),
    "ember_model_token_attr": (c_status, [vp, c_token, P(ctypes.c_float), P(i32), P(bool_)]),
    "ember_model_token_find": (c_status, [vp, char_p, P(c_token)]),
    "ember_chat_params_init": (c_status, [P(chat_params), size_t]),
    "ember_chat_apply_template": (c_status, [vp, char_p, char_p, P(chat_params), buf_t, size_t, c_size_p]),
    "ember_chat_tokenize": (c_status, [vp, char_p, char_p, P(chat_params), bool_, P(c_token), size_t, c_size_p]),
    "ember_context_params_init": (c_status, [P(context_params), size_t]),
    "ember_context_create": (c_status, [vp, P(context_params), P(vp)]),
    "ember_context_free": (None, [vp]),
    "ember_context_get_params": (c_status, [vp, P(context_params)]),
    "ember_context_n_ctx": (c_status, [vp, P(i64)]),
    "ember_context_n_past": (c_status, [vp, c_seq, P(i64)]),
    "ember_context_n_evaluated": (c_status, [vp, P(u64)]),
    "ember_context_memory": (c_status, [vp, P(memory_usage)]),
    "ember_context_decode": (c_status, [vp, P(c_token), size_t, c_seq, bool_]),
    "ember_context_decode_batch": (c_status, [vp, P(batch)]),
    "ember_context_decode_prompt": (c_status, [vp, P(c_token), size_t, c_seq, P(i64)]),
    "ember_context_logits": (c_status, [vp, i64, P(P(ctypes.c_float)), c_size_p]),
    "ember_context_seq_rm": (c_status, [vp, c_seq, i32, i32]),
    "ember_context_seq_cp": (c_status, [vp, c_seq, c_seq, i32, i32]),
    "ember_context_shift": (c_status, [vp, c_seq, i64, i64]),
    "ember_context_clear": (c_status, [vp]),
    "ember_context_abort": (c_status, [vp]),
    "ember_context_state_save": (c_status, [vp, vp, size_t, c_size_p]),
    "ember_context_state_load": (c_status, [vp, vp, size_t]),
    "ember_context_state_save_file": (c_status, [vp, char_p]),
    "ember_context_state_load_file": (c_status, [vp, char_p]),
    "ember_sampler_params_init": (c_status, [P(sampler_params), size_t]),
    "ember_sampler_create": (c_status, [P(sampler_params), vp, P(vp)]),
    "ember_sampler_chain_create": (c_status, [u64, P(vp)]),
    "ember_sampler_free": (None, [vp]),
    "ember_sampler_add_logit_bias": (c_status, [vp, P(token_bias), size_t]),
    "ember_sampler_add_penalties": (c_status, [vp, i32, ctypes.c_float, ctypes.c_float, ctypes.c_float]),
    "ember_sampler_add_top_k": (c_status, [vp, i32]),
    "ember_sampler_add_typical_p": (c_status, [vp, ctypes.c_float, size_t]),
    "ember_sampler_add_top_p": (c_status, [vp, ctypes.c_float, size_t]),
    "ember_sampler_add_min_p": (c_status, [vp, ctypes.c_float, size_t]),
    "ember_sampler_add_temperature": (c_status, [vp, ctypes.c_float]),
    "ember_sampler_add_greedy": (c_status, [vp]),
    "ember_sampler_add_mirostat": (c_status, [vp, ctypes.c_float, ctypes.c_float, i32]),
    "ember_sampler_add_mirostat_v2": (c_status, [vp, ctypes.c_float, ctypes.c_float]),
    "ember_sampler_set_logprobs": (c_status, [vp, bool_, i32, bool_]),
    "ember_sampler_sample": (c_status, [vp, vp, i64, P(c_token)]),
    "ember_sampler_sample_logits": (c_status, [vp, P(ctypes.c_float), size_t, P(c_token)]),
    "ember_sampler_accept": (c_status, [vp, c_token]),
    "ember_sampler_accept_prompt": (c_status, [vp, c_token]),
    "ember_sampler_create_grammar": (c_status, [P(sampler_params), vp, ctypes.c_int, ctypes.c_char_p, P(vp)]),
    "ember_sampler_add_grammar": (c_status, [vp, vp, ctypes.c_int, ctypes.c_char_p]),
    "ember_sampler_reset": (c_status, [vp]),
    "ember_sampler_get_seed": (c_status, [vp, P(u64)]),
    "ember_sampler_describe": (c_status, [vp, buf_t, size_t, c_size_p]),
    "ember_sampler_last_logprob": (c_status, [vp, P(c_token), P(ctypes.c_float), P(ctypes.c_float), P(token_logprob), size_t, c_size_p]),
    "ember_generate_params_init": (c_status, [P(generate_params), size_t]),
    "ember_context_generate": (c_status, [vp, vp, P(c_token), size_t, P(generate_params), token_fn, vp, P(generate_result)]),
    "ember_quantize_params_init": (c_status, [P(quantize_params), size_t]),
    "ember_quantize_file": (c_status, [char_p, char_p, P(quantize_params), P(quantize_result)]),
}


class LibraryNotFoundError(OSError):
    """libember.so could not be found or is not a compatible version."""


def _candidates():
    env = os.environ.get("EMBER_LIBRARY")
    if env:
        yield env
        return  # an explicit choice is never second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    yield from sorted(glob.glob(os.path.join(here, "libember.so*")), key=len)
    yield "libember.so.%d" % ABI_VERSION  # the dynamic loader's search (LD_LIBRARY_PATH, ld.so.cache)
    found = ctypes.util.find_library("ember")
    if found:
        yield found


_lock = threading.Lock()
_lib = None


def lib():
    """The loaded library, with every prototype declared (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        errors = []
        for path in _candidates():
            try:
                handle = ctypes.CDLL(path)
            except OSError as e:
                errors.append("%s: %s" % (path, e))
                continue
            handle.ember_abi_version.restype = ctypes.c_uint32
            abi = handle.ember_abi_version()
            if abi != ABI_VERSION:
                errors.append("%s: ABI version %d, this package needs %d" % (path, abi, ABI_VERSION))
                continue
            for name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(handle, name)
                fn.restype = restype
                fn.argtypes = argtypes
            _lib = handle
            return _lib
        raise LibraryNotFoundError(
            "libember.so (ABI %d) not found; set EMBER_LIBRARY to its path, copy it into the ember package "
            "folder, or install it where the dynamic loader looks. Tried:\n  %s"
            % (ABI_VERSION, "\n  ".join(errors) or "nothing"))


def init_struct(cls, init_fn_name):
    """A params struct filled with the library's defaults."""
    s = cls()
    getattr(lib(), init_fn_name)(ctypes.byref(s), ctypes.sizeof(cls))
    return s


def new_struct(cls):
    """An output struct with struct_size set."""
    s = cls()
    s.struct_size = ctypes.sizeof(cls)
    return s
