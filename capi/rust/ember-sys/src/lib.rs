//! Raw declarations of ember's C API, written by hand to match `capi/ember.h` (ABI version 1).
//!
//! Everything here is `unsafe` to call and follows the header's contracts; the `ember` crate
//! wraps it safely. Struct layouts are `#[repr(C)]` copies of the header's; the `*_default_params`
//! functions are the header's `static inline` helpers, which C callers compile themselves.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

pub const EMBER_VERSION_MAJOR: u32 = 0;
pub const EMBER_VERSION_MINOR: u32 = 1;
pub const EMBER_VERSION_PATCH: u32 = 0;
pub const EMBER_ABI_VERSION: u32 = 1;

pub type ember_status = i32;
/// ember_grammar_kind: the language of the text given to ember_sampler_create_grammar.
pub const EMBER_GRAMMAR_GBNF: c_int = 0;
pub const EMBER_GRAMMAR_JSON_SCHEMA: c_int = 1;
pub const EMBER_GRAMMAR_REGEX: c_int = 2;

pub const EMBER_OK: ember_status = 0;
pub const EMBER_ERR_INVALID_ARGUMENT: ember_status = -1;
pub const EMBER_ERR_FILE_NOT_FOUND: ember_status = -2;
pub const EMBER_ERR_BAD_FILE: ember_status = -3;
pub const EMBER_ERR_UNSUPPORTED: ember_status = -4;
pub const EMBER_ERR_OUT_OF_MEMORY: ember_status = -5;
pub const EMBER_ERR_CONTEXT_FULL: ember_status = -6;
pub const EMBER_ERR_CANCELLED: ember_status = -7;
pub const EMBER_ERR_IO: ember_status = -8;
pub const EMBER_ERR_INTERNAL: ember_status = -9;
pub const EMBER_ERR_BUFFER_TOO_SMALL: ember_status = -10;
pub const EMBER_ERR_NOT_FOUND: ember_status = -11;
pub const EMBER_ERR_TEMPLATE: ember_status = -12;

pub type ember_token = i32;
pub type ember_seq = i32;

pub const EMBER_TYPE_F32: i32 = 0;
pub const EMBER_TYPE_F16: i32 = 1;
pub const EMBER_TYPE_Q8_0: i32 = 8;

pub const EMBER_SEED_RANDOM: u64 = u64::MAX;

pub const EMBER_LOG_DEBUG: i32 = 0;
pub const EMBER_LOG_INFO: i32 = 1;
pub const EMBER_LOG_WARN: i32 = 2;
pub const EMBER_LOG_ERROR: i32 = 3;

pub const EMBER_STOP_MAX_TOKENS: i32 = 0;
pub const EMBER_STOP_END_OF_GENERATION: i32 = 1;
pub const EMBER_STOP_CALLBACK: i32 = 2;
pub const EMBER_STOP_CONTEXT_FULL: i32 = 3;
pub const EMBER_STOP_ABORTED: i32 = 4;
pub const EMBER_STOP_ERROR: i32 = 5;

/// Opaque handles.
#[repr(C)]
pub struct ember_model {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ember_context {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ember_sampler {
    _private: [u8; 0],
}

pub type ember_log_fn = Option<unsafe extern "C" fn(level: i32, message: *const c_char, user_data: *mut c_void)>;
pub type ember_progress_fn = Option<unsafe extern "C" fn(progress: f32, user_data: *mut c_void) -> bool>;
pub type ember_token_fn = Option<unsafe extern "C" fn(event: *const ember_token_event, user_data: *mut c_void) -> bool>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_model_params {
    pub struct_size: usize,
    pub use_mmap: bool,
    pub check_tensors: bool,
    pub progress: ember_progress_fn,
    pub progress_user_data: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_chat_params {
    pub struct_size: usize,
    pub add_generation_prompt: bool,
    pub tools_json: *const c_char,
    pub extra_json: *const c_char,
    pub bos_token: *const c_char,
    pub eos_token: *const c_char,
    pub now: i64,
    pub max_steps: u64,
    pub max_output: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_chat_message {
    pub role: *const c_char,
    pub content: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_model_info {
    pub struct_size: usize,
    pub n_vocab: i64,
    pub n_ctx_train: i64,
    pub n_embd: i64,
    pub n_layer: i64,
    pub n_head: i64,
    pub n_head_kv: i64,
    pub n_ff: i64,
    pub head_dim: i64,
    pub n_params: u64,
    pub weight_bytes: u64,
    pub file_size: u64,
    pub n_tensors: u64,
    pub n_metadata: u64,
    pub bos: ember_token,
    pub eos: ember_token,
    pub eot: ember_token,
    pub eom: ember_token,
    pub unk: ember_token,
    pub pad: ember_token,
    pub add_bos: bool,
    pub add_eos: bool,
    pub mmapped: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_tensor_info {
    pub struct_size: usize,
    pub type_: i32,
    pub n_dims: u32,
    pub ne: [i64; 4],
    pub offset: u64,
    pub nbytes: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_context_params {
    pub struct_size: usize,
    pub n_ctx: i64,
    pub n_batch: i64,
    pub n_threads: i32,
    pub n_seq_max: i32,
    pub window: i64,
    pub type_k: i32,
    pub type_v: i32,
    pub context_shift: bool,
    pub n_keep: i64,
    pub seed: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_memory_usage {
    pub struct_size: usize,
    pub weights: u64,
    pub kv_cache: u64,
    pub scratch: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_batch {
    pub struct_size: usize,
    pub n_tokens: usize,
    pub tokens: *const ember_token,
    pub pos: *const i32,
    pub seq: *const ember_seq,
    pub logits: *const i8,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ember_token_bias {
    pub token: ember_token,
    pub bias: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_sampler_params {
    pub struct_size: usize,
    pub seed: u64,
    pub temp: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub typical_p: f32,
    pub min_keep: i32,
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    pub mirostat: i32,
    pub mirostat_tau: f32,
    pub mirostat_eta: f32,
    pub logit_bias: *const ember_token_bias,
    pub n_logit_bias: usize,
    pub logprobs: bool,
    pub n_logprobs: i32,
    pub logprobs_after_transforms: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ember_token_logprob {
    pub token: ember_token,
    pub logprob: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_token_event {
    pub struct_size: usize,
    pub token: ember_token,
    pub text: *const c_char,
    pub text_len: usize,
    pub index: i64,
    pub has_logprob: bool,
    pub logprob: f32,
    pub entropy: f32,
    pub top: *const ember_token_logprob,
    pub n_top: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_generate_params {
    pub struct_size: usize,
    pub max_tokens: i64,
    pub seq: ember_seq,
    pub stop_at_eog: bool,
    pub accept_prompt: bool,
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_generate_result {
    pub struct_size: usize,
    pub n_tokens: i64,
    pub n_prompt_evaluated: i64,
    pub stop_reason: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_quantize_params {
    pub struct_size: usize,
    pub preset: *const c_char,
    pub n_threads: i32,
    pub progress: ember_progress_fn,
    pub progress_user_data: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_quantize_result {
    pub struct_size: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub n_tensors: u64,
    pub n_quantized: u64,
}

extern "C" {
    pub fn ember_version() -> *const c_char;
    pub fn ember_abi_version() -> u32;
    pub fn ember_last_error() -> *const c_char;
    pub fn ember_status_string(status: ember_status) -> *const c_char;
    pub fn ember_log_set(f: ember_log_fn, user_data: *mut c_void);

    pub fn ember_model_params_init(params: *mut ember_model_params, struct_size: usize) -> ember_status;
    pub fn ember_model_load(path: *const c_char, params: *const ember_model_params, model: *mut *mut ember_model) -> ember_status;
    pub fn ember_model_free(model: *mut ember_model);
    pub fn ember_model_get_info(model: *const ember_model, info: *mut ember_model_info) -> ember_status;
    pub fn ember_model_architecture(model: *const ember_model, buf: *mut c_char, capacity: usize, size: *mut usize) -> ember_status;
    pub fn ember_model_description(model: *const ember_model, buf: *mut c_char, capacity: usize, size: *mut usize) -> ember_status;
    pub fn ember_model_meta_string(
        model: *const ember_model,
        key: *const c_char,
        buf: *mut c_char,
        capacity: usize,
        size: *mut usize,
    ) -> ember_status;
    pub fn ember_model_meta_int(model: *const ember_model, key: *const c_char, value: *mut i64) -> ember_status;
    pub fn ember_model_meta_float(model: *const ember_model, key: *const c_char, value: *mut f64) -> ember_status;
    pub fn ember_model_meta_key(model: *const ember_model, index: u64, buf: *mut c_char, capacity: usize, size: *mut usize)
        -> ember_status;
    pub fn ember_model_tensor_info(model: *const ember_model, index: u64, info: *mut ember_tensor_info) -> ember_status;
    pub fn ember_model_tensor_name(model: *const ember_model, index: u64, buf: *mut c_char, capacity: usize, size: *mut usize)
        -> ember_status;

    pub fn ember_model_tokenize(
        model: *const ember_model,
        text: *const c_char,
        text_len: usize,
        add_special: bool,
        parse_special: bool,
        tokens: *mut ember_token,
        capacity: usize,
        n_tokens: *mut usize,
    ) -> ember_status;
    pub fn ember_model_detokenize(
        model: *const ember_model,
        tokens: *const ember_token,
        n_tokens: usize,
        special: bool,
        remove_special: bool,
        buf: *mut c_char,
        capacity: usize,
        size: *mut usize,
    ) -> ember_status;
    pub fn ember_model_token_piece(
        model: *const ember_model,
        token: ember_token,
        special: bool,
        buf: *mut c_char,
        capacity: usize,
        size: *mut usize,
    ) -> ember_status;
    pub fn ember_model_token_text(model: *const ember_model, token: ember_token, buf: *mut c_char, capacity: usize, size: *mut usize)
        -> ember_status;
    pub fn ember_model_token_attr(model: *const ember_model, token: ember_token, score: *mut f32, type_: *mut i32, is_eog: *mut bool)
        -> ember_status;
    pub fn ember_model_token_find(model: *const ember_model, text: *const c_char, token: *mut ember_token) -> ember_status;

    pub fn ember_chat_params_init(params: *mut ember_chat_params, struct_size: usize) -> ember_status;
    pub fn ember_chat_apply_template(model: *const ember_model, template_source: *const c_char, messages_json: *const c_char,
                                     params: *const ember_chat_params, buf: *mut c_char, capacity: usize, size: *mut usize)
                                     -> ember_status;
    pub fn ember_chat_apply_template_messages(model: *const ember_model, template_source: *const c_char,
                                              messages: *const ember_chat_message, n_messages: usize,
                                              params: *const ember_chat_params, buf: *mut c_char, capacity: usize,
                                              size: *mut usize) -> ember_status;
    pub fn ember_chat_tokenize(model: *const ember_model, template_source: *const c_char, messages_json: *const c_char,
                               params: *const ember_chat_params, add_special: bool, tokens: *mut ember_token,
                               capacity: usize, n_tokens: *mut usize) -> ember_status;
    pub fn ember_model_eog_tokens(
        model: *const ember_model,
        tokens: *mut ember_token,
        capacity: usize,
        n_tokens: *mut usize,
    ) -> ember_status;

    pub fn ember_context_params_init(params: *mut ember_context_params, struct_size: usize) -> ember_status;
    pub fn ember_context_create(model: *const ember_model, params: *const ember_context_params, ctx: *mut *mut ember_context)
        -> ember_status;
    pub fn ember_context_free(ctx: *mut ember_context);
    pub fn ember_context_get_params(ctx: *const ember_context, params: *mut ember_context_params) -> ember_status;
    pub fn ember_context_n_ctx(ctx: *const ember_context, n_ctx: *mut i64) -> ember_status;
    pub fn ember_context_n_past(ctx: *const ember_context, seq: ember_seq, n_past: *mut i64) -> ember_status;
    pub fn ember_context_n_evaluated(ctx: *const ember_context, n_evaluated: *mut u64) -> ember_status;
    pub fn ember_context_memory(ctx: *const ember_context, usage: *mut ember_memory_usage) -> ember_status;
    pub fn ember_context_decode(
        ctx: *mut ember_context,
        tokens: *const ember_token,
        n_tokens: usize,
        seq: ember_seq,
        all_logits: bool,
    ) -> ember_status;
    pub fn ember_context_decode_batch(ctx: *mut ember_context, batch: *const ember_batch) -> ember_status;
    pub fn ember_context_decode_prompt(
        ctx: *mut ember_context,
        tokens: *const ember_token,
        n_tokens: usize,
        seq: ember_seq,
        n_evaluated: *mut i64,
    ) -> ember_status;
    pub fn ember_context_logits(ctx: *const ember_context, i: i64, logits: *mut *const f32, n_vocab: *mut usize) -> ember_status;
    pub fn ember_context_seq_rm(ctx: *mut ember_context, seq: ember_seq, p0: i32, p1: i32) -> ember_status;
    pub fn ember_context_seq_cp(ctx: *mut ember_context, src: ember_seq, dst: ember_seq, p0: i32, p1: i32) -> ember_status;
    pub fn ember_context_shift(ctx: *mut ember_context, seq: ember_seq, n_keep: i64, n_discard: i64) -> ember_status;
    pub fn ember_context_clear(ctx: *mut ember_context) -> ember_status;
    pub fn ember_context_abort(ctx: *mut ember_context) -> ember_status;
    pub fn ember_context_state_save(ctx: *const ember_context, buf: *mut c_void, capacity: usize, size: *mut usize) -> ember_status;
    pub fn ember_context_state_load(ctx: *mut ember_context, data: *const c_void, size: usize) -> ember_status;
    pub fn ember_context_state_save_file(ctx: *const ember_context, path: *const c_char) -> ember_status;
    pub fn ember_context_state_load_file(ctx: *mut ember_context, path: *const c_char) -> ember_status;

    pub fn ember_sampler_params_init(params: *mut ember_sampler_params, struct_size: usize) -> ember_status;
    pub fn ember_sampler_create(params: *const ember_sampler_params, model: *const ember_model, sampler: *mut *mut ember_sampler)
        -> ember_status;
    pub fn ember_sampler_chain_create(seed: u64, sampler: *mut *mut ember_sampler) -> ember_status;
    pub fn ember_sampler_free(sampler: *mut ember_sampler);
    pub fn ember_sampler_add_logit_bias(sampler: *mut ember_sampler, biases: *const ember_token_bias, n: usize) -> ember_status;
    pub fn ember_sampler_add_penalties(sampler: *mut ember_sampler, last_n: i32, repeat: f32, frequency: f32, presence: f32)
        -> ember_status;
    pub fn ember_sampler_add_top_k(sampler: *mut ember_sampler, k: i32) -> ember_status;
    pub fn ember_sampler_add_typical_p(sampler: *mut ember_sampler, p: f32, min_keep: usize) -> ember_status;
    pub fn ember_sampler_add_top_p(sampler: *mut ember_sampler, p: f32, min_keep: usize) -> ember_status;
    pub fn ember_sampler_add_min_p(sampler: *mut ember_sampler, p: f32, min_keep: usize) -> ember_status;
    pub fn ember_sampler_add_temperature(sampler: *mut ember_sampler, temp: f32) -> ember_status;
    pub fn ember_sampler_add_greedy(sampler: *mut ember_sampler) -> ember_status;
    pub fn ember_sampler_add_mirostat(sampler: *mut ember_sampler, tau: f32, eta: f32, m: i32) -> ember_status;
    pub fn ember_sampler_add_mirostat_v2(sampler: *mut ember_sampler, tau: f32, eta: f32) -> ember_status;
    pub fn ember_sampler_set_logprobs(sampler: *mut ember_sampler, enabled: bool, n_top: i32, after_transforms: bool) -> ember_status;
    pub fn ember_sampler_sample(sampler: *mut ember_sampler, ctx: *const ember_context, i: i64, token: *mut ember_token) -> ember_status;
    pub fn ember_sampler_sample_logits(sampler: *mut ember_sampler, logits: *const f32, n_logits: usize, token: *mut ember_token)
        -> ember_status;
    pub fn ember_sampler_accept(sampler: *mut ember_sampler, token: ember_token) -> ember_status;
    pub fn ember_sampler_accept_prompt(sampler: *mut ember_sampler, token: ember_token) -> ember_status;
    pub fn ember_sampler_create_grammar(
        params: *const ember_sampler_params,
        model: *const ember_model,
        kind: c_int,
        text: *const c_char,
        sampler: *mut *mut ember_sampler,
    ) -> ember_status;
    pub fn ember_sampler_add_grammar(sampler: *mut ember_sampler, model: *const ember_model, kind: c_int, text: *const c_char)
        -> ember_status;
    pub fn ember_sampler_reset(sampler: *mut ember_sampler) -> ember_status;
    pub fn ember_sampler_get_seed(sampler: *const ember_sampler, seed: *mut u64) -> ember_status;
    pub fn ember_sampler_describe(sampler: *const ember_sampler, buf: *mut c_char, capacity: usize, size: *mut usize) -> ember_status;
    pub fn ember_sampler_last_logprob(
        sampler: *const ember_sampler,
        token: *mut ember_token,
        logprob: *mut f32,
        entropy: *mut f32,
        top: *mut ember_token_logprob,
        capacity: usize,
        n_top: *mut usize,
    ) -> ember_status;

    pub fn ember_generate_params_init(params: *mut ember_generate_params, struct_size: usize) -> ember_status;
    pub fn ember_context_generate(
        ctx: *mut ember_context,
        sampler: *mut ember_sampler,
        prompt: *const ember_token,
        n_prompt: usize,
        params: *const ember_generate_params,
        on_token: ember_token_fn,
        user_data: *mut c_void,
        result: *mut ember_generate_result,
    ) -> ember_status;

    pub fn ember_quantize_params_init(params: *mut ember_quantize_params, struct_size: usize) -> ember_status;
    pub fn ember_quantize_file(
        input: *const c_char,
        output: *const c_char,
        params: *const ember_quantize_params,
        result: *mut ember_quantize_result,
    ) -> ember_status;
}

macro_rules! default_params {
    ($name:ident, $ty:ty, $init:ident) => {
        /// The library's defaults (ember.h's inline helper of the same name).
        pub fn $name() -> $ty {
            let mut p = std::mem::MaybeUninit::<$ty>::zeroed();
            // SAFETY: the init function writes size_of::<$ty>() bytes of valid defaults; the
            // zeroed start is a valid value of the struct as well (NULL pointers, None callbacks).
            unsafe {
                $init(p.as_mut_ptr(), std::mem::size_of::<$ty>());
                p.assume_init()
            }
        }
    };
}

default_params!(ember_model_default_params, ember_model_params, ember_model_params_init);
default_params!(ember_context_default_params, ember_context_params, ember_context_params_init);
default_params!(ember_sampler_default_params, ember_sampler_params, ember_sampler_params_init);
default_params!(ember_generate_default_params, ember_generate_params, ember_generate_params_init);
default_params!(ember_quantize_default_params, ember_quantize_params, ember_quantize_params_init);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of};

    // The sizes C computes for ember.h's structs on LP64 targets (x86-64, AArch64 Linux).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn struct_layouts_match_the_header() {
        assert_eq!(size_of::<ember_model_params>(), 32);
        assert_eq!(size_of::<ember_model_info>(), 144);
        assert_eq!(size_of::<ember_tensor_info>(), 64);
        assert_eq!(size_of::<ember_context_params>(), 72);
        assert_eq!(size_of::<ember_memory_usage>(), 32);
        assert_eq!(size_of::<ember_batch>(), 48);
        assert_eq!(size_of::<ember_sampler_params>(), 104);
        assert_eq!(size_of::<ember_token_event>(), 72);
        assert_eq!(size_of::<ember_generate_params>(), 40);
        assert_eq!(size_of::<ember_generate_result>(), 32);
        assert_eq!(size_of::<ember_quantize_params>(), 40);
        assert_eq!(size_of::<ember_quantize_result>(), 40);
        assert_eq!(align_of::<ember_context_params>(), 8);
    }

    #[test]
    fn the_library_is_the_one_declared_here() {
        unsafe {
            assert_eq!(ember_abi_version(), EMBER_ABI_VERSION);
            let v = std::ffi::CStr::from_ptr(ember_version()).to_str().unwrap();
            assert_eq!(v, format!("{}.{}.{}", EMBER_VERSION_MAJOR, EMBER_VERSION_MINOR, EMBER_VERSION_PATCH));
        }
        let p = ember_context_default_params();
        assert_eq!(p.struct_size, std::mem::size_of::<ember_context_params>());
        assert_eq!(p.n_batch, 512);
        assert_eq!(p.type_k, EMBER_TYPE_F16);
        assert_eq!(p.seed, EMBER_SEED_RANDOM);
    }
}
