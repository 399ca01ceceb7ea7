//! Safe Rust bindings of ember's C API: load GGUF language models and run them on the CPU.
//!
//! ```no_run
//! use ember::{Context, ContextParams, GenerateParams, Model};
//! let model = Model::load("stories260K.gguf")?;
//! let mut ctx = Context::new(&model, &ContextParams::default())?;
//! let prompt = model.tokenize("Once upon a time", true, false)?;
//! let params = GenerateParams { max_tokens: 32, ..Default::default() }; // greedy
//! ctx.generate(None, &prompt, &params, |ev| {
//!     print!("{}", ev.text);
//!     true
//! })?;
//! # Ok::<(), ember::Error>(())
//! ```
//!
//! Threads: a [`Model`] is `Send + Sync` (the C API lets many threads share it); a [`Context`]
//! borrows its model and is `Send` but not `Sync` (one thread at a time); an [`AbortHandle`]
//! stops a running decode from any thread. Every failure is an [`Error`] carrying the C status
//! and message. A panic in a callback is carried across the C call and resumed after it.
//!
//! A context can not outlive its model:
//!
//! ```compile_fail
//! let ctx = {
//!     let model = ember::Model::load("model.gguf").unwrap();
//!     ember::Context::new(&model, &Default::default()).unwrap()
//! }; // error: `model` does not live long enough
//! ```
//!
//! and can not be shared between threads (only moved), while a model and an abort handle can:
//!
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<ember::Context<'static>>();
//! ```
//!
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<ember::Sampler>();
//! ```
//!
//! ```
//! fn shared<T: Send + Sync>() {}
//! fn movable<T: Send>() {}
//! shared::<ember::Model>();
//! shared::<ember::AbortHandle>();
//! movable::<ember::Context<'static>>();
//! movable::<ember::Sampler>();
//! ```
use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

pub use ember_sys as sys;

mod chat;
mod context;
mod error;
mod model;
mod sampler;

pub use chat::{apply_chat_template, ChatOptions};
pub use context::{AbortHandle, CacheType, Context, ContextParams, GenerateOutcome, GenerateParams, MemoryUsage, StopReason, TokenEvent};
pub use error::{Error, Result, Status};
pub use model::{LoadOptions, Model, ModelInfo, TensorInfo};
pub use sampler::{Grammar, LastLogprob, Sampler, SamplerParams, TokenLogprob};

/// A token id.
pub type Token = i32;

/// The version of the libember.so in use, e.g. "0.1.0".
pub fn version() -> String {
    // SAFETY: a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(sys::ember_version()) }.to_string_lossy().into_owned()
}

/// Calls a buffer-filling C function following ember.h's buffer convention.
pub(crate) fn fetch_bytes<F>(mut fill: F) -> Result<Vec<u8>>
where
    F: FnMut(*mut c_char, usize, *mut usize) -> sys::ember_status,
{
    let mut buf = vec![0u8; 256];
    let mut size = 0usize;
    let mut status = fill(buf.as_mut_ptr() as *mut c_char, buf.len(), &mut size);
    if status == sys::EMBER_ERR_BUFFER_TOO_SMALL {
        buf.resize(size + 1, 0);
        status = fill(buf.as_mut_ptr() as *mut c_char, buf.len(), &mut size);
    }
    error::check(status)?;
    buf.truncate(size);
    Ok(buf)
}

pub(crate) fn fetch_text<F>(fill: F) -> Result<String>
where
    F: FnMut(*mut c_char, usize, *mut usize) -> sys::ember_status,
{
    fetch_bytes(fill).map(|b| String::from_utf8_lossy(&b).into_owned())
}

pub(crate) fn path_cstring(p: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = p.to_string_lossy().into_owned().into_bytes();
    CString::new(bytes).map_err(|_| Error::new(Status::InvalidArgument, format!("path {:?} contains a NUL byte", p)))
}

impl<'m> Context<'m> {
    pub(crate) fn raw_ptr(&self) -> *const sys::ember_context {
        self.ptr_const()
    }
}

/// Log levels of [`set_log_handler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

type LogHandler = Box<dyn Fn(LogLevel, &str) + Send + Sync>;
static LOG_HANDLER: Mutex<Option<LogHandler>> = Mutex::new(None);

unsafe extern "C" fn log_trampoline(level: i32, message: *const c_char, _user_data: *mut c_void) {
    let text = std::ffi::CStr::from_ptr(message).to_string_lossy();
    let level = match level {
        sys::EMBER_LOG_DEBUG => LogLevel::Debug,
        sys::EMBER_LOG_INFO => LogLevel::Info,
        sys::EMBER_LOG_WARN => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    // A panicking handler must not unwind into C; the message is dropped instead.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(guard) = LOG_HANDLER.lock() {
            if let Some(handler) = guard.as_ref() {
                handler(level, &text);
            }
        }
    }));
}

/// Installs the process-wide log sink (None: silence, the default). The handler runs on the
/// thread that calls into ember and must not call ember itself.
pub fn set_log_handler(handler: Option<LogHandler>) {
    let install = handler.is_some();
    if !install {
        unsafe { sys::ember_log_set(None, std::ptr::null_mut()) };
    }
    *LOG_HANDLER.lock().unwrap_or_else(|e| e.into_inner()) = handler;
    if install {
        unsafe { sys::ember_log_set(Some(log_trampoline), std::ptr::null_mut()) };
    }
}

/// What [`quantize_file`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantizeResult {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub n_tensors: u64,
    pub n_quantized: u64,
}

/// Writes a quantized copy of a GGUF model (`preset` e.g. "Q8_0", "Q4_K_M").
pub fn quantize_file<P: AsRef<Path>, Q: AsRef<Path>>(input: P, output: Q, preset: &str, n_threads: i32) -> Result<QuantizeResult> {
    let i = path_cstring(input.as_ref())?;
    let o = path_cstring(output.as_ref())?;
    let preset = CString::new(preset).map_err(|_| Error::new(Status::InvalidArgument, "preset contains a NUL byte"))?;
    let mut p = sys::ember_quantize_default_params();
    p.preset = preset.as_ptr();
    p.n_threads = n_threads;
    let mut r = sys::ember_quantize_result { struct_size: std::mem::size_of::<sys::ember_quantize_result>(), ..Default::default() };
    error::check(unsafe { sys::ember_quantize_file(i.as_ptr(), o.as_ptr(), &p, &mut r) })?;
    Ok(QuantizeResult { bytes_in: r.bytes_in, bytes_out: r.bytes_out, n_tensors: r.n_tensors, n_quantized: r.n_quantized })
}
