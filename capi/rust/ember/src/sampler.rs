//! Samplers: turn a row of logits into a token id.
use std::ffi::CString;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use ember_sys as sys;

use crate::error::{check, Error, Result, Status};
use crate::{fetch_text, Context, Model, Token};

pub use sys::ember_token_logprob as TokenLogprob;

/// The standard chain (see ember.h): logit bias, penalties, top-k, typical-p, top-p, min-p,
/// temperature, draw; temperature <= 0 is greedy. Defaults are llama.cpp's.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerParams {
    /// None: a random seed (reported by [`Sampler::seed`]).
    pub seed: Option<u64>,
    pub temperature: f32,
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
    pub logit_bias: Vec<(Token, f32)>,
    /// Some(n): record each sampled token's log-probability and n alternatives.
    pub logprobs: Option<i32>,
    pub logprobs_after_transforms: bool,
}

impl Default for SamplerParams {
    fn default() -> Self {
        let d = sys::ember_sampler_default_params();
        SamplerParams {
            seed: None,
            temperature: d.temp,
            top_k: d.top_k,
            top_p: d.top_p,
            min_p: d.min_p,
            typical_p: d.typical_p,
            min_keep: d.min_keep,
            repeat_penalty: d.repeat_penalty,
            repeat_last_n: d.repeat_last_n,
            frequency_penalty: d.frequency_penalty,
            presence_penalty: d.presence_penalty,
            mirostat: d.mirostat,
            mirostat_tau: d.mirostat_tau,
            mirostat_eta: d.mirostat_eta,
            logit_bias: Vec::new(),
            logprobs: None,
            logprobs_after_transforms: d.logprobs_after_transforms,
        }
    }
}

/// A constraint on the generated text (structured output): every sampled token keeps the output
/// inside the language. Errors (syntax, an unsupported schema keyword) name the line and column,
/// the schema path or the regex column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar<'a> {
    /// llama.cpp's GBNF grammar syntax, starting at `root`.
    Gbnf(&'a str),
    /// A JSON schema as JSON text (properties keep their declared order).
    JsonSchema(&'a str),
    /// A regular expression the whole output must match.
    Regex(&'a str),
}

impl Grammar<'_> {
    fn raw(&self) -> Result<(c_int, CString)> {
        let (kind, text, what) = match *self {
            Grammar::Gbnf(t) => (sys::EMBER_GRAMMAR_GBNF, t, "grammar"),
            Grammar::JsonSchema(t) => (sys::EMBER_GRAMMAR_JSON_SCHEMA, t, "JSON schema"),
            Grammar::Regex(t) => (sys::EMBER_GRAMMAR_REGEX, t, "regex"),
        };
        let text = CString::new(text).map_err(|_| Error::new(Status::InvalidArgument, format!("the {} contains a NUL byte", what)))?;
        Ok((kind, text))
    }
}

/// The log-probability record of the last sampled token.
#[derive(Clone, Debug, PartialEq)]
pub struct LastLogprob {
    pub token: Token,
    pub logprob: f32,
    pub entropy: f32,
    pub top: Vec<TokenLogprob>,
}

/// A sampler chain with its own random generator. It may move between threads (`Send`) but is
/// used by one at a time (`!Sync`), as the C API requires.
pub struct Sampler {
    ptr: NonNull<sys::ember_sampler>,
    n_top: usize,
}

// SAFETY: ember.h: a sampler is used by one thread at a time; moving it is fine. Not Sync
// (the raw pointer keeps the auto trait away).
unsafe impl Send for Sampler {}

impl Drop for Sampler {
    fn drop(&mut self) {
        unsafe { sys::ember_sampler_free(self.ptr.as_ptr()) }
    }
}

fn biases(v: &[(Token, f32)]) -> Vec<sys::ember_token_bias> {
    v.iter().map(|&(token, bias)| sys::ember_token_bias { token, bias }).collect()
}

impl Sampler {
    /// The standard chain. With a model, logit-bias ids are checked against its vocabulary.
    pub fn new(params: &SamplerParams, model: Option<&Model>) -> Result<Sampler> {
        Sampler::create(params, model, None)
    }

    /// The standard chain with a grammar stage first: later stages see only tokens that fit.
    pub fn with_grammar(params: &SamplerParams, model: &Model, grammar: Grammar<'_>) -> Result<Sampler> {
        Sampler::create(params, Some(model), Some(grammar))
    }

    fn create(params: &SamplerParams, model: Option<&Model>, grammar: Option<Grammar<'_>>) -> Result<Sampler> {
        let mut p = sys::ember_sampler_default_params();
        p.seed = params.seed.unwrap_or(sys::EMBER_SEED_RANDOM);
        p.temp = params.temperature;
        p.top_k = params.top_k;
        p.top_p = params.top_p;
        p.min_p = params.min_p;
        p.typical_p = params.typical_p;
        p.min_keep = params.min_keep;
        p.repeat_penalty = params.repeat_penalty;
        p.repeat_last_n = params.repeat_last_n;
        p.frequency_penalty = params.frequency_penalty;
        p.presence_penalty = params.presence_penalty;
        p.mirostat = params.mirostat;
        p.mirostat_tau = params.mirostat_tau;
        p.mirostat_eta = params.mirostat_eta;
        let b = biases(&params.logit_bias);
        p.logit_bias = if b.is_empty() { ptr::null() } else { b.as_ptr() };
        p.n_logit_bias = b.len();
        if let Some(n) = params.logprobs {
            p.logprobs = true;
            p.n_logprobs = n;
        }
        p.logprobs_after_transforms = params.logprobs_after_transforms;
        let mut raw = ptr::null_mut();
        let m = model.map_or(ptr::null(), |m| m.raw());
        match grammar {
            None => check(unsafe { sys::ember_sampler_create(&p, m, &mut raw) })?,
            Some(g) => {
                let (kind, text) = g.raw()?;
                check(unsafe { sys::ember_sampler_create_grammar(&p, m, kind, text.as_ptr(), &mut raw) })?
            }
        }
        let ptr = NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "ember_sampler_create returned nothing"))?;
        Ok(Sampler { ptr, n_top: params.logprobs.unwrap_or(0).max(0) as usize })
    }

    /// The highest logit every time (ties to the lower id).
    pub fn greedy() -> Result<Sampler> {
        Sampler::new(&SamplerParams { temperature: 0.0, ..Default::default() }, None)
    }

    /// An empty chain to build with the `add_*` methods (without stages it draws from the
    /// softmax).
    pub fn chain(seed: Option<u64>) -> Result<Sampler> {
        let mut raw = ptr::null_mut();
        check(unsafe { sys::ember_sampler_chain_create(seed.unwrap_or(sys::EMBER_SEED_RANDOM), &mut raw) })?;
        let ptr = NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "ember_sampler_chain_create returned nothing"))?;
        Ok(Sampler { ptr, n_top: 0 })
    }

    pub(crate) fn raw(&mut self) -> *mut sys::ember_sampler {
        self.ptr.as_ptr()
    }

    pub fn add_logit_bias(&mut self, bias: &[(Token, f32)]) -> Result<&mut Self> {
        let b = biases(bias);
        check(unsafe { sys::ember_sampler_add_logit_bias(self.raw(), b.as_ptr(), b.len()) })?;
        Ok(self)
    }
    /// Appends a grammar stage; add it first so later stages see only tokens that fit.
    pub fn add_grammar(&mut self, model: &Model, grammar: Grammar<'_>) -> Result<&mut Self> {
        let (kind, text) = grammar.raw()?;
        check(unsafe { sys::ember_sampler_add_grammar(self.raw(), model.raw(), kind, text.as_ptr()) })?;
        Ok(self)
    }

    pub fn add_penalties(&mut self, last_n: i32, repeat: f32, frequency: f32, presence: f32) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_penalties(self.raw(), last_n, repeat, frequency, presence) })?;
        Ok(self)
    }
    pub fn add_top_k(&mut self, k: i32) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_top_k(self.raw(), k) })?;
        Ok(self)
    }
    pub fn add_typical_p(&mut self, p: f32, min_keep: usize) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_typical_p(self.raw(), p, min_keep) })?;
        Ok(self)
    }
    pub fn add_top_p(&mut self, p: f32, min_keep: usize) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_top_p(self.raw(), p, min_keep) })?;
        Ok(self)
    }
    pub fn add_min_p(&mut self, p: f32, min_keep: usize) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_min_p(self.raw(), p, min_keep) })?;
        Ok(self)
    }
    pub fn add_temperature(&mut self, t: f32) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_temperature(self.raw(), t) })?;
        Ok(self)
    }
    pub fn add_greedy(&mut self) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_greedy(self.raw()) })?;
        Ok(self)
    }
    pub fn add_mirostat(&mut self, tau: f32, eta: f32, m: i32) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_mirostat(self.raw(), tau, eta, m) })?;
        Ok(self)
    }
    pub fn add_mirostat_v2(&mut self, tau: f32, eta: f32) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_add_mirostat_v2(self.raw(), tau, eta) })?;
        Ok(self)
    }
    /// Records log-probabilities with `n_top` alternatives (None: stop recording).
    pub fn set_logprobs(&mut self, n_top: Option<i32>, after_transforms: bool) -> Result<&mut Self> {
        check(unsafe { sys::ember_sampler_set_logprobs(self.raw(), n_top.is_some(), n_top.unwrap_or(0), after_transforms) })?;
        self.n_top = n_top.unwrap_or(0).max(0) as usize;
        Ok(self)
    }

    /// A token from the logits of token `i` of the context's last decode (-1: the last). It is
    /// not recorded: call [`Sampler::accept`] for every token that enters the context.
    pub fn sample(&mut self, ctx: &Context, i: i64) -> Result<Token> {
        let mut t = -1;
        check(unsafe { sys::ember_sampler_sample(self.raw(), ctx_ptr(ctx), i, &mut t) })?;
        Ok(t)
    }

    pub fn sample_logits(&mut self, logits: &[f32]) -> Result<Token> {
        let mut t = -1;
        check(unsafe { sys::ember_sampler_sample_logits(self.raw(), logits.as_ptr(), logits.len(), &mut t) })?;
        Ok(t)
    }

    /// Records a token that entered the context as output (a grammar stage advances; a token it
    /// refuses is an error).
    pub fn accept(&mut self, token: Token) -> Result<()> {
        check(unsafe { sys::ember_sampler_accept(self.raw(), token) })
    }

    /// Records a prompt token: penalties learn from it, a grammar stage ignores it.
    pub fn accept_prompt(&mut self, token: Token) -> Result<()> {
        check(unsafe { sys::ember_sampler_accept_prompt(self.raw(), token) })
    }

    /// Forgets the history and restarts the generator from the seed.
    pub fn reset(&mut self) -> Result<()> {
        check(unsafe { sys::ember_sampler_reset(self.raw()) })
    }

    pub fn seed(&self) -> Result<u64> {
        let mut s = 0;
        check(unsafe { sys::ember_sampler_get_seed(self.ptr.as_ptr(), &mut s) })?;
        Ok(s)
    }

    /// E.g. "top-k 40 -> top-p 0.95 -> temp 0.8 -> dist(seed 7)".
    pub fn describe(&self) -> Result<String> {
        fetch_text(|b, n, s| unsafe { sys::ember_sampler_describe(self.ptr.as_ptr(), b, n, s) })
    }

    pub fn last_logprob(&self) -> Result<LastLogprob> {
        let mut top = vec![TokenLogprob::default(); self.n_top.max(1)];
        let (mut token, mut logprob, mut entropy, mut n) = (-1, 0f32, 0f32, 0usize);
        check(unsafe {
            sys::ember_sampler_last_logprob(
                self.ptr.as_ptr(),
                &mut token,
                &mut logprob,
                &mut entropy,
                top.as_mut_ptr(),
                top.len(),
                &mut n,
            )
        })?;
        top.truncate(n);
        Ok(LastLogprob { token, logprob, entropy, top })
    }
}

fn ctx_ptr(ctx: &Context) -> *const sys::ember_context {
    ctx.raw_ptr()
}
