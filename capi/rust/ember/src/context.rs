//! Contexts: the KV cache and threads that run a model; decoding, sequences, state and the
//! generation loop.
use std::borrow::Cow;
use std::cell::Cell;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use ember_sys as sys;

use crate::error::{check, Error, Result, Status};
use crate::{path_cstring, Model, Sampler, Token};

/// Element type of the KV cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheType {
    F32,
    F16,
    Q8_0,
}

impl CacheType {
    fn code(self) -> i32 {
        match self {
            CacheType::F32 => sys::EMBER_TYPE_F32,
            CacheType::F16 => sys::EMBER_TYPE_F16,
            CacheType::Q8_0 => sys::EMBER_TYPE_Q8_0,
        }
    }
    fn from_code(c: i32) -> CacheType {
        match c {
            sys::EMBER_TYPE_F32 => CacheType::F32,
            sys::EMBER_TYPE_Q8_0 => CacheType::Q8_0,
            _ => CacheType::F16,
        }
    }
}

/// Context parameters (see ember_context_params for the meaning of each).
#[derive(Clone, Debug, PartialEq)]
pub struct ContextParams {
    /// 0: the model's training context.
    pub n_ctx: i64,
    pub n_batch: i64,
    /// 0: all hardware threads.
    pub n_threads: i32,
    pub n_seq_max: i32,
    /// 0: full attention; W > 0: sliding window over the last W positions.
    pub window: i64,
    pub type_k: CacheType,
    pub type_v: CacheType,
    pub context_shift: bool,
    pub n_keep: i64,
    /// Seed of the sampler [`Context::generate`] builds when given none (None: random).
    pub seed: Option<u64>,
}

impl Default for ContextParams {
    fn default() -> Self {
        let d = sys::ember_context_default_params();
        ContextParams {
            n_ctx: d.n_ctx,
            n_batch: d.n_batch,
            n_threads: d.n_threads,
            n_seq_max: d.n_seq_max,
            window: d.window,
            type_k: CacheType::from_code(d.type_k),
            type_v: CacheType::from_code(d.type_v),
            context_shift: d.context_shift,
            n_keep: d.n_keep,
            seed: None,
        }
    }
}

/// Memory used by a context (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryUsage {
    pub weights: u64,
    pub kv_cache: u64,
    pub scratch: u64,
}

/// Settings of [`Context::generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateParams {
    /// Tokens to generate; -1: until an end-of-generation token.
    pub max_tokens: i64,
    pub seq: i32,
    pub stop_at_eog: bool,
    pub accept_prompt: bool,
    /// Used only without a sampler: 0 is greedy.
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
}

impl Default for GenerateParams {
    fn default() -> Self {
        let d = sys::ember_generate_default_params();
        GenerateParams {
            max_tokens: d.max_tokens,
            seq: d.seq,
            stop_at_eog: d.stop_at_eog,
            accept_prompt: d.accept_prompt,
            temperature: d.temperature,
            top_k: d.top_k,
            top_p: d.top_p,
            min_p: d.min_p,
        }
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    MaxTokens,
    EndOfGeneration,
    Callback,
    ContextFull,
}

/// What [`Context::generate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenerateOutcome {
    pub n_tokens: i64,
    pub n_prompt_evaluated: i64,
    pub stop_reason: StopReason,
}

/// One generated token as the callback sees it.
#[derive(Debug)]
pub struct TokenEvent<'a> {
    /// None for the final call that carries text held back at the end.
    pub token: Option<Token>,
    /// 0-based count of generated tokens.
    pub index: i64,
    /// The text this token completed: whole UTF-8 characters only (may be empty).
    pub text: Cow<'a, str>,
    /// With a sampler that records log-probabilities: (logprob, entropy).
    pub logprob: Option<(f32, f32)>,
    /// The best alternatives, most likely first (empty without log-probabilities).
    pub top: &'a [sys::ember_token_logprob],
}

pub(crate) struct RawContext(NonNull<sys::ember_context>);

// SAFETY: the context is only reached through `Context` (one thread at a time: it is not Sync)
// or through `AbortHandle::abort`, which ember.h allows from any thread at any time.
unsafe impl Send for RawContext {}
unsafe impl Sync for RawContext {}

impl Drop for RawContext {
    fn drop(&mut self) {
        // SAFETY: created by ember_context_create, freed once when the last owner goes.
        unsafe { sys::ember_context_free(self.0.as_ptr()) }
    }
}

/// An inference context of a model. It borrows the model, so it can not outlive it. It may be
/// moved to another thread (`Send`) but not shared (`!Sync`): the C API allows one thread at a
/// time per context; use [`Context::abort_handle`] to stop it from elsewhere.
pub struct Context<'m> {
    raw: Arc<RawContext>,
    model: &'m Model,
    _not_sync: PhantomData<Cell<()>>,
}

/// Stops a decode or generation of a context from any thread (see ember_context_abort). If none
/// is running, the next one is cancelled.
#[derive(Clone)]
pub struct AbortHandle {
    raw: Arc<RawContext>,
}

impl AbortHandle {
    pub fn abort(&self) {
        // SAFETY: the handle keeps the context alive; ember_context_abort is thread-safe.
        unsafe {
            sys::ember_context_abort(self.raw.0.as_ptr());
        }
    }
}

struct CallbackState<'f> {
    f: &'f mut dyn FnMut(&TokenEvent) -> bool,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

unsafe extern "C" fn token_trampoline(ev: *const sys::ember_token_event, user_data: *mut c_void) -> bool {
    let state = &mut *(user_data as *mut CallbackState);
    if state.panic.is_some() {
        return false;
    }
    let ev = &*ev;
    let bytes: &[u8] = if ev.text.is_null() { &[] } else { std::slice::from_raw_parts(ev.text as *const u8, ev.text_len) };
    let top: &[sys::ember_token_logprob] =
        if ev.has_logprob && !ev.top.is_null() { std::slice::from_raw_parts(ev.top, ev.n_top) } else { &[] };
    let event = TokenEvent {
        token: if ev.token >= 0 { Some(ev.token) } else { None },
        index: ev.index,
        text: String::from_utf8_lossy(bytes),
        logprob: if ev.has_logprob { Some((ev.logprob, ev.entropy)) } else { None },
        top,
    };
    match catch_unwind(AssertUnwindSafe(|| (state.f)(&event))) {
        Ok(go_on) => go_on,
        Err(p) => {
            state.panic = Some(p);
            false
        }
    }
}

impl<'m> Context<'m> {
    pub fn new(model: &'m Model, params: &ContextParams) -> Result<Context<'m>> {
        let mut p = sys::ember_context_default_params();
        p.n_ctx = params.n_ctx;
        p.n_batch = params.n_batch;
        p.n_threads = params.n_threads;
        p.n_seq_max = params.n_seq_max;
        p.window = params.window;
        p.type_k = params.type_k.code();
        p.type_v = params.type_v.code();
        p.context_shift = params.context_shift;
        p.n_keep = params.n_keep;
        p.seed = params.seed.unwrap_or(sys::EMBER_SEED_RANDOM);
        let mut raw = ptr::null_mut();
        check(unsafe { sys::ember_context_create(model.raw(), &p, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "ember_context_create returned no context"))?;
        Ok(Context { raw: Arc::new(RawContext(raw)), model, _not_sync: PhantomData })
    }

    fn ptr(&self) -> *mut sys::ember_context {
        self.raw.0.as_ptr()
    }

    pub(crate) fn ptr_const(&self) -> *const sys::ember_context {
        self.raw.0.as_ptr()
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle { raw: Arc::clone(&self.raw) }
    }

    /// The parameters in effect (n_ctx, n_batch, n_threads resolved).
    pub fn params(&self) -> Result<ContextParams> {
        let mut p = sys::ember_context_params { struct_size: std::mem::size_of::<sys::ember_context_params>(), ..Default::default() };
        check(unsafe { sys::ember_context_get_params(self.ptr(), &mut p) })?;
        Ok(ContextParams {
            n_ctx: p.n_ctx,
            n_batch: p.n_batch,
            n_threads: p.n_threads,
            n_seq_max: p.n_seq_max,
            window: p.window,
            type_k: CacheType::from_code(p.type_k),
            type_v: CacheType::from_code(p.type_v),
            context_shift: p.context_shift,
            n_keep: p.n_keep,
            seed: if p.seed == sys::EMBER_SEED_RANDOM { None } else { Some(p.seed) },
        })
    }

    /// KV cache capacity in slots.
    pub fn n_ctx(&self) -> Result<i64> {
        let mut v = 0;
        check(unsafe { sys::ember_context_n_ctx(self.ptr(), &mut v) })?;
        Ok(v)
    }

    /// The next position of sequence `seq`.
    pub fn n_past(&self, seq: i32) -> Result<i64> {
        let mut v = 0;
        check(unsafe { sys::ember_context_n_past(self.ptr(), seq, &mut v) })?;
        Ok(v)
    }

    pub fn n_evaluated(&self) -> Result<u64> {
        let mut v = 0;
        check(unsafe { sys::ember_context_n_evaluated(self.ptr(), &mut v) })?;
        Ok(v)
    }

    pub fn memory(&self) -> Result<MemoryUsage> {
        let mut m = sys::ember_memory_usage { struct_size: std::mem::size_of::<sys::ember_memory_usage>(), ..Default::default() };
        check(unsafe { sys::ember_context_memory(self.ptr(), &mut m) })?;
        Ok(MemoryUsage { weights: m.weights, kv_cache: m.kv_cache, scratch: m.scratch })
    }

    /// Evaluates tokens of sequence `seq` after what it holds.
    pub fn decode(&mut self, tokens: &[Token], seq: i32, all_logits: bool) -> Result<()> {
        check(unsafe { sys::ember_context_decode(self.ptr(), tokens.as_ptr(), tokens.len(), seq, all_logits) })
    }

    /// An explicit batch: token i at position `pos[i]` of sequence `seq[i]` (None: all 0);
    /// `logits[i]` asks for its logits (None: the last token only).
    pub fn decode_batch(&mut self, tokens: &[Token], pos: &[i32], seq: Option<&[i32]>, logits: Option<&[bool]>) -> Result<()> {
        let n = tokens.len();
        if pos.len() != n || seq.map_or(false, |s| s.len() != n) || logits.map_or(false, |l| l.len() != n) {
            return Err(Error::new(Status::InvalidArgument, "decode_batch: tokens, pos, seq and logits differ in length"));
        }
        let want: Option<Vec<i8>> = logits.map(|l| l.iter().map(|&b| b as i8).collect());
        let b = sys::ember_batch {
            struct_size: std::mem::size_of::<sys::ember_batch>(),
            n_tokens: n,
            tokens: tokens.as_ptr(),
            pos: pos.as_ptr(),
            seq: seq.map_or(ptr::null(), |s| s.as_ptr()),
            logits: want.as_ref().map_or(ptr::null(), |w| w.as_ptr()),
        };
        check(unsafe { sys::ember_context_decode_batch(self.ptr(), &b) })
    }

    /// Evaluates a prompt reusing the cached prefix; returns how many tokens were evaluated.
    pub fn decode_prompt(&mut self, tokens: &[Token], seq: i32) -> Result<i64> {
        let mut n = 0;
        check(unsafe { sys::ember_context_decode_prompt(self.ptr(), tokens.as_ptr(), tokens.len(), seq, &mut n) })?;
        Ok(n)
    }

    /// Logits of token `i` of the last decode (-1: the last with logits). The slice borrows the
    /// context, so the next decode (which needs `&mut self`) can not invalidate it unseen.
    pub fn logits(&self, i: i64) -> Result<&[f32]> {
        let mut p: *const f32 = ptr::null();
        let mut n = 0usize;
        check(unsafe { sys::ember_context_logits(self.ptr(), i, &mut p, &mut n) })?;
        // SAFETY: ember.h: n floats valid until the next call that decodes, clears, loads or frees.
        Ok(unsafe { std::slice::from_raw_parts(p, n) })
    }

    pub fn seq_rm(&mut self, seq: i32, p0: i32, p1: i32) -> Result<()> {
        check(unsafe { sys::ember_context_seq_rm(self.ptr(), seq, p0, p1) })
    }

    pub fn seq_cp(&mut self, src: i32, dst: i32, p0: i32, p1: i32) -> Result<()> {
        check(unsafe { sys::ember_context_seq_cp(self.ptr(), src, dst, p0, p1) })
    }

    pub fn shift(&mut self, seq: i32, n_keep: i64, n_discard: i64) -> Result<()> {
        check(unsafe { sys::ember_context_shift(self.ptr(), seq, n_keep, n_discard) })
    }

    pub fn clear(&mut self) -> Result<()> {
        check(unsafe { sys::ember_context_clear(self.ptr()) })
    }

    pub fn save_state(&self) -> Result<Vec<u8>> {
        let mut size = 0usize;
        let status = unsafe { sys::ember_context_state_save(self.ptr(), ptr::null_mut(), 0, &mut size) };
        if status != sys::EMBER_ERR_BUFFER_TOO_SMALL {
            check(status)?;
        }
        let mut buf = vec![0u8; size];
        check(unsafe { sys::ember_context_state_save(self.ptr(), buf.as_mut_ptr() as *mut c_void, buf.len(), &mut size) })?;
        buf.truncate(size);
        Ok(buf)
    }

    pub fn load_state(&mut self, data: &[u8]) -> Result<()> {
        check(unsafe { sys::ember_context_state_load(self.ptr(), data.as_ptr() as *const c_void, data.len()) })
    }

    pub fn save_state_file<P: AsRef<Path>>(&self, path: P) -> Result<()> {
        let p = path_cstring(path.as_ref())?;
        check(unsafe { sys::ember_context_state_save_file(self.ptr(), p.as_ptr()) })
    }

    pub fn load_state_file<P: AsRef<Path>>(&mut self, path: P) -> Result<()> {
        let p = path_cstring(path.as_ref())?;
        check(unsafe { sys::ember_context_state_load_file(self.ptr(), p.as_ptr()) })
    }

    /// Evaluates `prompt` (reusing its cached prefix), then samples, streams and feeds back
    /// tokens. `on_token` sees each token and returns false to stop (the outcome's stop reason
    /// is then [`StopReason::Callback`]). Without a sampler, one is built from `params`
    /// (temperature 0: greedy) seeded with the context's seed. An abort from another thread
    /// ends it with an error of status [`Status::Cancelled`].
    pub fn generate<F>(&mut self, sampler: Option<&mut Sampler>, prompt: &[Token], params: &GenerateParams, mut on_token: F)
        -> Result<GenerateOutcome>
    where
        F: FnMut(&TokenEvent) -> bool,
    {
        let mut p = sys::ember_generate_default_params();
        p.max_tokens = params.max_tokens;
        p.seq = params.seq;
        p.stop_at_eog = params.stop_at_eog;
        p.accept_prompt = params.accept_prompt;
        p.temperature = params.temperature;
        p.top_k = params.top_k;
        p.top_p = params.top_p;
        p.min_p = params.min_p;
        let mut state = CallbackState { f: &mut on_token, panic: None };
        let mut r = sys::ember_generate_result { struct_size: std::mem::size_of::<sys::ember_generate_result>(), ..Default::default() };
        let smp = sampler.map_or(ptr::null_mut(), |s| s.raw());
        // SAFETY: every pointer is valid for the call; the callback state outlives it.
        let status = unsafe {
            sys::ember_context_generate(
                self.ptr(),
                smp,
                prompt.as_ptr(),
                prompt.len(),
                &p,
                Some(token_trampoline),
                &mut state as *mut CallbackState as *mut c_void,
                &mut r,
            )
        };
        if let Some(panic) = state.panic.take() {
            std::panic::resume_unwind(panic);
        }
        if !(status == sys::EMBER_ERR_CANCELLED && r.stop_reason == sys::EMBER_STOP_CALLBACK) {
            check(status)?;
        }
        let stop_reason = match r.stop_reason {
            sys::EMBER_STOP_MAX_TOKENS => StopReason::MaxTokens,
            sys::EMBER_STOP_END_OF_GENERATION => StopReason::EndOfGeneration,
            sys::EMBER_STOP_CALLBACK => StopReason::Callback,
            sys::EMBER_STOP_CONTEXT_FULL => StopReason::ContextFull,
            other => return Err(Error::new(Status::Internal, format!("unexpected stop reason {}", other))),
        };
        Ok(GenerateOutcome { n_tokens: r.n_tokens, n_prompt_evaluated: r.n_prompt_evaluated, stop_reason })
    }

    /// The continuation of `prompt` (tokenized with BOS as the model asks) as one string.
    pub fn generate_text(&mut self, sampler: Option<&mut Sampler>, prompt: &str, params: &GenerateParams) -> Result<String> {
        let tokens = self.model.tokenize(prompt, true, false)?;
        let mut text = String::new();
        self.generate(sampler, &tokens, params, |ev| {
            text.push_str(&ev.text);
            true
        })?;
        Ok(text)
    }
}
