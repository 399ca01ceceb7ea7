//! Chat templates: a model's `tokenizer.chat_template` (Jinja) rendered as Hugging Face's
//! `apply_chat_template` renders it, and the prompt tokenized with message contents kept as text.
//! Messages are JSON as Hugging Face passes them (role, content, tool_calls, ...).
use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use ember_sys as sys;

use crate::error::{check, Error, Result, Status};
use crate::{fetch_text, Model, Token};

/// Options of a chat rendering (ember_chat_params).
#[derive(Clone, Debug)]
pub struct ChatOptions {
    /// End with the cue for the assistant's turn (default true).
    pub add_generation_prompt: bool,
    /// A JSON array of tool definitions.
    pub tools_json: Option<String>,
    /// A JSON object of further template variables (e.g. `{"enable_thinking": false}`).
    pub extra_json: Option<String>,
    /// BOS/EOS texts; None: the model's (empty without a model).
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    /// strftime_now's clock in seconds since the epoch (UTC); None: the current local time.
    pub now: Option<i64>,
    /// Evaluation steps before the template is stopped (default 1 000 000).
    pub max_steps: u64,
    /// Bytes of output or of any string built (default 16 MiB).
    pub max_output: u64,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            add_generation_prompt: true,
            tools_json: None,
            extra_json: None,
            bos_token: None,
            eos_token: None,
            now: None,
            max_steps: 1_000_000,
            max_output: 16 << 20,
        }
    }
}

fn cstr(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(Status::InvalidArgument, format!("{} contains a NUL byte", what)))
}

// The C strings live in `Owned` while the params point at them.
struct Owned {
    strings: Vec<CString>,
}

fn params(opt: &ChatOptions, owned: &mut Owned) -> Result<sys::ember_chat_params> {
    let mut p = sys::ember_chat_params {
        struct_size: 0,
        add_generation_prompt: true,
        tools_json: ptr::null(),
        extra_json: ptr::null(),
        bos_token: ptr::null(),
        eos_token: ptr::null(),
        now: -1,
        max_steps: 0,
        max_output: 0,
    };
    // SAFETY: p is a valid ember_chat_params of the size given.
    check(unsafe { sys::ember_chat_params_init(&mut p, std::mem::size_of::<sys::ember_chat_params>()) })?;
    p.add_generation_prompt = opt.add_generation_prompt;
    let mut keep = |s: &Option<String>, what: &str| -> Result<*const c_char> {
        match s {
            None => Ok(ptr::null()),
            Some(v) => {
                owned.strings.push(cstr(v, what)?);
                Ok(owned.strings.last().unwrap().as_ptr())
            }
        }
    };
    p.tools_json = keep(&opt.tools_json, "tools_json")?;
    p.extra_json = keep(&opt.extra_json, "extra_json")?;
    p.bos_token = keep(&opt.bos_token, "bos_token")?;
    p.eos_token = keep(&opt.eos_token, "eos_token")?;
    p.now = opt.now.unwrap_or(-1);
    p.max_steps = opt.max_steps;
    p.max_output = opt.max_output;
    Ok(p)
}

fn render(model: Option<&Model>, template: Option<&str>, messages_json: &str, opt: &ChatOptions) -> Result<String> {
    let mut owned = Owned { strings: Vec::new() };
    let p = params(opt, &mut owned)?;
    let msgs = cstr(messages_json, "messages_json")?;
    let tmpl = template.map(|t| cstr(t, "template")).transpose()?;
    let raw_model = model.map_or(ptr::null(), |m| m.raw());
    fetch_text(|b, n, sz| {
        // SAFETY: every pointer is valid for the call; b has n writable bytes.
        unsafe {
            sys::ember_chat_apply_template(raw_model, tmpl.as_ref().map_or(ptr::null(), |t| t.as_ptr()), msgs.as_ptr(), &p, b, n, sz)
        }
    })
}

/// Renders `messages_json` with a Jinja chat template string.
pub fn apply_chat_template(template: &str, messages_json: &str, opt: &ChatOptions) -> Result<String> {
    render(None, Some(template), messages_json, opt)
}

impl Model {
    /// The conversation rendered with the model's chat template, or `template` (ChatML when the
    /// model has none; a warning is logged).
    pub fn apply_chat_template(&self, messages_json: &str, template: Option<&str>, opt: &ChatOptions) -> Result<String> {
        render(Some(self), template, messages_json, opt)
    }

    /// Renders and tokenizes safely: the template's markers become special tokens, special-token
    /// text inside the messages stays text. `add_special` adds BOS unless the template wrote it.
    pub fn tokenize_chat(&self, messages_json: &str, template: Option<&str>, opt: &ChatOptions, add_special: bool)
                         -> Result<Vec<Token>> {
        let mut owned = Owned { strings: Vec::new() };
        let p = params(opt, &mut owned)?;
        let msgs = cstr(messages_json, "messages_json")?;
        let tmpl = template.map(|t| cstr(t, "template")).transpose()?;
        let tp = tmpl.as_ref().map_or(ptr::null(), |t| t.as_ptr());
        let mut out: Vec<Token> = vec![0; 256];
        let mut n = 0usize;
        for _ in 0..2 {
            // SAFETY: out has out.len() writable tokens; the strings outlive the call.
            let status = unsafe {
                sys::ember_chat_tokenize(self.raw(), tp, msgs.as_ptr(), &p, add_special, out.as_mut_ptr(), out.len(), &mut n)
            };
            if status == sys::EMBER_ERR_BUFFER_TOO_SMALL {
                out.resize(n, 0);
                continue;
            }
            check(status)?;
            out.truncate(n);
            return Ok(out);
        }
        Err(Error::new(Status::Internal, "ember_chat_tokenize asked for a larger buffer twice"))
    }
}
