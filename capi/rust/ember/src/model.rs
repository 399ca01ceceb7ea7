//! Models: loading, information, metadata and tokens.
use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};

use ember_sys as sys;

use crate::error::{check, Error, Result, Status};
use crate::{fetch_bytes, fetch_text, path_cstring, Token};

/// Load options (see ember_model_params).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Map the file (true) or read it into memory.
    pub use_mmap: bool,
    /// Also scan every weight for NaN/Inf while loading (slow).
    pub check_tensors: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { use_mmap: true, check_tensors: false }
    }
}

/// Hyperparameters, sizes and special tokens of a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelInfo {
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
    pub bos: Option<Token>,
    pub eos: Option<Token>,
    pub eot: Option<Token>,
    pub eom: Option<Token>,
    pub unk: Option<Token>,
    pub pad: Option<Token>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub mmapped: bool,
}

/// One tensor of the model file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// The GGUF/ggml type number (0 = F32, 1 = F16, 8 = Q8_0, ...).
    pub type_id: i32,
    pub shape: Vec<i64>,
    pub offset: u64,
    pub nbytes: u64,
}

/// A loaded model. Immutable; the C API lets any number of threads use it at once (so it is
/// `Send` and `Sync`), each through its own [`crate::Context`].
pub struct Model {
    ptr: NonNull<sys::ember_model>,
    info: ModelInfo,
}

// SAFETY: ember.h: "A model is immutable once loaded and may be shared by any number of
// contexts on any number of threads"; every function taking a model reads it only.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the handle came from ember_model_load and is freed once. Contexts made from
        // it borrow the Model, so none outlives this drop (and ember keeps the weights alive
        // for a context anyway).
        unsafe { sys::ember_model_free(self.ptr.as_ptr()) }
    }
}

struct ProgressState<'a> {
    f: &'a mut dyn FnMut(f32) -> bool,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

unsafe extern "C" fn progress_trampoline(progress: f32, user_data: *mut c_void) -> bool {
    let state = &mut *(user_data as *mut ProgressState);
    if state.panic.is_some() {
        return false;
    }
    match catch_unwind(AssertUnwindSafe(|| (state.f)(progress))) {
        Ok(go_on) => go_on,
        Err(p) => {
            state.panic = Some(p);
            false
        }
    }
}

impl Model {
    /// Loads and validates a GGUF model with the default options.
    pub fn load<P: AsRef<Path>>(path: P) -> Result<Model> {
        Model::load_with(path, LoadOptions::default(), None)
    }

    /// Loads with options; `progress(fraction)` is called while loading and may return false
    /// to cancel (the error's status is then [`Status::Cancelled`]).
    pub fn load_with<P: AsRef<Path>>(
        path: P,
        options: LoadOptions,
        progress: Option<&mut dyn FnMut(f32) -> bool>,
    ) -> Result<Model> {
        let cpath = path_cstring(path.as_ref())?;
        let mut params = sys::ember_model_default_params();
        params.use_mmap = options.use_mmap;
        params.check_tensors = options.check_tensors;
        let mut go_on = |_: f32| true;
        let with_progress = progress.is_some();
        let mut state = ProgressState { f: progress.unwrap_or(&mut go_on), panic: None };
        if with_progress {
            params.progress = Some(progress_trampoline);
            params.progress_user_data = &mut state as *mut ProgressState as *mut c_void;
        }
        let mut raw = ptr::null_mut();
        // SAFETY: valid NUL-terminated path, params and out-pointer; the callback state lives
        // on this stack frame for the whole call.
        let status = unsafe { sys::ember_model_load(cpath.as_ptr(), &params, &mut raw) };
        if let Some(p) = state.panic.take() {
            std::panic::resume_unwind(p);
        }
        check(status)?;
        let ptr = NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "ember_model_load returned no model"))?;
        let mut model = Model { ptr, info: ModelInfo::default() };
        model.info = model.read_info()?;
        Ok(model)
    }

    pub(crate) fn raw(&self) -> *const sys::ember_model {
        self.ptr.as_ptr()
    }

    fn read_info(&self) -> Result<ModelInfo> {
        let mut i = sys::ember_model_info { struct_size: std::mem::size_of::<sys::ember_model_info>(), ..Default::default() };
        // SAFETY: valid handle and struct with struct_size set.
        check(unsafe { sys::ember_model_get_info(self.raw(), &mut i) })?;
        let tok = |t: Token| if t >= 0 { Some(t) } else { None };
        Ok(ModelInfo {
            n_vocab: i.n_vocab,
            n_ctx_train: i.n_ctx_train,
            n_embd: i.n_embd,
            n_layer: i.n_layer,
            n_head: i.n_head,
            n_head_kv: i.n_head_kv,
            n_ff: i.n_ff,
            head_dim: i.head_dim,
            n_params: i.n_params,
            weight_bytes: i.weight_bytes,
            file_size: i.file_size,
            n_tensors: i.n_tensors,
            n_metadata: i.n_metadata,
            bos: tok(i.bos),
            eos: tok(i.eos),
            eot: tok(i.eot),
            eom: tok(i.eom),
            unk: tok(i.unk),
            pad: tok(i.pad),
            add_bos: i.add_bos,
            add_eos: i.add_eos,
            mmapped: i.mmapped,
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn n_vocab(&self) -> i64 {
        self.info.n_vocab
    }

    /// general.architecture, e.g. "llama".
    pub fn architecture(&self) -> Result<String> {
        fetch_text(|b, n, s| unsafe { sys::ember_model_architecture(self.raw(), b, n, s) })
    }

    /// A one-line description, e.g. "llama 0.3M F32".
    pub fn description(&self) -> Result<String> {
        fetch_text(|b, n, s| unsafe { sys::ember_model_description(self.raw(), b, n, s) })
    }

    /// A metadata value as text (strings verbatim, arrays summarised), None when absent.
    pub fn metadata(&self, key: &str) -> Result<Option<String>> {
        let k = cstring(key)?;
        match fetch_text(|b, n, s| unsafe { sys::ember_model_meta_string(self.raw(), k.as_ptr(), b, n, s) }) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status == Status::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn metadata_int(&self, key: &str) -> Result<i64> {
        let k = cstring(key)?;
        let mut v = 0i64;
        check(unsafe { sys::ember_model_meta_int(self.raw(), k.as_ptr(), &mut v) })?;
        Ok(v)
    }

    pub fn metadata_float(&self, key: &str) -> Result<f64> {
        let k = cstring(key)?;
        let mut v = 0f64;
        check(unsafe { sys::ember_model_meta_float(self.raw(), k.as_ptr(), &mut v) })?;
        Ok(v)
    }

    /// Every metadata key, in file order.
    pub fn metadata_keys(&self) -> Result<Vec<String>> {
        (0..self.info.n_metadata)
            .map(|i| fetch_text(|b, n, s| unsafe { sys::ember_model_meta_key(self.raw(), i, b, n, s) }))
            .collect()
    }

    /// tokenizer.chat_template, if the model has one.
    pub fn chat_template(&self) -> Result<Option<String>> {
        self.metadata("tokenizer.chat_template")
    }

    pub fn tensors(&self) -> Result<Vec<TensorInfo>> {
        let mut out = Vec::new();
        for i in 0..self.info.n_tensors {
            let mut t = sys::ember_tensor_info { struct_size: std::mem::size_of::<sys::ember_tensor_info>(), ..Default::default() };
            check(unsafe { sys::ember_model_tensor_info(self.raw(), i, &mut t) })?;
            let name = fetch_text(|b, n, s| unsafe { sys::ember_model_tensor_name(self.raw(), i, b, n, s) })?;
            out.push(TensorInfo {
                name,
                type_id: t.type_,
                shape: t.ne[..t.n_dims as usize].to_vec(),
                offset: t.offset,
                nbytes: t.nbytes,
            });
        }
        Ok(out)
    }

    /// Text to token ids: `add_special` adds BOS/EOS as the model asks, `parse_special`
    /// matches control tokens written in the text.
    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<Token>> {
        let mut out: Vec<Token> = vec![0; text.len() + 4];
        let mut n = 0usize;
        for _ in 0..2 {
            // SAFETY: text is text.len() readable bytes; out has out.len() writable tokens.
            let status = unsafe {
                sys::ember_model_tokenize(
                    self.raw(),
                    text.as_ptr() as *const c_char,
                    text.len(),
                    add_special,
                    parse_special,
                    out.as_mut_ptr(),
                    out.len(),
                    &mut n,
                )
            };
            if status == sys::EMBER_ERR_BUFFER_TOO_SMALL {
                out.resize(n, 0);
                continue;
            }
            check(status)?;
            out.truncate(n);
            return Ok(out);
        }
        Err(Error::new(Status::Internal, "tokenize: the size changed between two calls"))
    }

    /// Token ids to text (invalid UTF-8 becomes U+FFFD).
    pub fn detokenize(&self, tokens: &[Token], special: bool) -> Result<String> {
        fetch_text(|b, n, s| unsafe {
            sys::ember_model_detokenize(self.raw(), tokens.as_ptr(), tokens.len(), special, false, b, n, s)
        })
    }

    /// The bytes one token adds to generated text (possibly part of a UTF-8 character).
    pub fn token_piece(&self, token: Token, special: bool) -> Result<Vec<u8>> {
        fetch_bytes(|b, n, s| unsafe { sys::ember_model_token_piece(self.raw(), token, special, b, n, s) })
    }

    /// The raw vocabulary entry, e.g. "▁the" or "<0x0A>".
    pub fn token_text(&self, token: Token) -> Result<String> {
        fetch_text(|b, n, s| unsafe { sys::ember_model_token_text(self.raw(), token, b, n, s) })
    }

    /// The id whose vocabulary entry is exactly `text`, None if there is none.
    pub fn token_id(&self, text: &str) -> Result<Option<Token>> {
        let t = cstring(text)?;
        let mut id = -1;
        match check(unsafe { sys::ember_model_token_find(self.raw(), t.as_ptr(), &mut id) }) {
            Ok(()) => Ok(Some(id)),
            Err(e) if e.status == Status::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the token ends generation (EOS, EOT, EOM).
    /// Every id that ends generation (EOS, EOT, `<|im_end|>`, `<|endoftext|>`, ...), ascending.
    pub fn eog_tokens(&self) -> Result<Vec<Token>> {
        let mut n = 0usize;
        // SAFETY: a NULL buffer of capacity 0 only asks for the count.
        let status = unsafe { sys::ember_model_eog_tokens(self.raw(), ptr::null_mut(), 0, &mut n) };
        if status != sys::EMBER_ERR_BUFFER_TOO_SMALL {
            check(status)?;
        }
        let mut out: Vec<Token> = vec![0; n];
        // SAFETY: out has out.len() writable tokens.
        check(unsafe { sys::ember_model_eog_tokens(self.raw(), out.as_mut_ptr(), out.len(), &mut n) })?;
        out.truncate(n);
        Ok(out)
    }

    pub fn is_eog(&self, token: Token) -> Result<bool> {
        let mut eog = false;
        check(unsafe { sys::ember_model_token_attr(self.raw(), token, ptr::null_mut(), ptr::null_mut(), &mut eog) })?;
        Ok(eog)
    }
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(Status::InvalidArgument, format!("{:?} contains a NUL byte", s)))
}
