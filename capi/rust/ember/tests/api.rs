//! The safe bindings against stories260K: models, tokens, errors, generation, threads,
//! cancelling. The model is $EMBER_TEST_MODEL or shared/ beside the repository.
use std::os::raw::c_char;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use ember::{
    sys, CacheType, Context, ContextParams, GenerateParams, LoadOptions, Model, Sampler, SamplerParams, Status, StopReason,
};

fn model_path() -> PathBuf {
    match std::env::var_os("EMBER_TEST_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/models/stories260K.gguf"),
    }
}

fn model() -> Model {
    Model::load(model_path()).expect("the test model loads")
}

fn small(n_ctx: i64) -> ContextParams {
    ContextParams { n_ctx, n_threads: 1, ..Default::default() }
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ember-rust-{}-{}", name, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn greedy_by_hand(m: &Model, prompt: &str, n: usize) -> Vec<i32> {
    let mut ctx = Context::new(m, &small(256)).unwrap();
    ctx.decode(&m.tokenize(prompt, true, false).unwrap(), 0, false).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let logits = ctx.logits(-1).unwrap();
        let mut best = 0;
        for (i, &x) in logits.iter().enumerate() {
            if x > logits[best] {
                best = i;
            }
        }
        out.push(best as i32);
        ctx.decode(&[best as i32], 0, false).unwrap();
    }
    out
}

#[test]
fn information_and_tokens() {
    let m = model();
    let info = m.info();
    assert_eq!((info.n_vocab, info.n_embd, info.n_layer, info.n_head, info.n_head_kv), (512, 64, 5, 8, 4));
    assert_eq!((info.bos, info.eos, info.eot), (Some(1), Some(2), None));
    assert!(info.add_bos && info.mmapped);
    assert_eq!(m.architecture().unwrap(), "llama");
    assert!(m.description().unwrap().starts_with("llama"));
    assert_eq!(m.metadata("llama.block_count").unwrap().as_deref(), Some("5"));
    assert_eq!(m.metadata("no.such.key").unwrap(), None);
    assert_eq!(m.metadata_int("llama.context_length").unwrap(), 2048);
    assert!((m.metadata_float("llama.attention.layer_norm_rms_epsilon").unwrap() - 1e-5).abs() < 1e-9);
    assert_eq!(m.metadata_keys().unwrap().len(), 19);
    assert_eq!(m.chat_template().unwrap(), None);
    let tensors = m.tensors().unwrap();
    assert_eq!(tensors.len(), 48);
    assert_eq!((tensors[0].name.as_str(), tensors[0].shape.as_slice(), tensors[0].nbytes), ("token_embd.weight", &[64i64, 512][..], 131072));

    let text = "Once upon a time, there was a cat.";
    let ids = m.tokenize(text, true, false).unwrap();
    assert_eq!(ids[..5], [1, 403, 407, 261, 378]);
    assert_eq!(m.detokenize(&ids[1..], false).unwrap(), text);
    assert_eq!(m.token_text(1).unwrap(), "<s>");
    assert_eq!(m.token_piece(3, false).unwrap(), vec![0u8]);
    assert_eq!(m.token_id("</s>").unwrap(), Some(2));
    assert_eq!(m.token_id("not-a-token-at-all").unwrap(), None);
    assert!(m.is_eog(2).unwrap() && !m.is_eog(300).unwrap());
    assert_eq!(m.eog_tokens().unwrap(), vec![2]);
}

/// A Llama-3 vocabulary on a tiny random model ($EMBER_TEST_BPE_MODEL, made by the CTest
/// fixture capi_bpe_model with `ember mkmodel`).
#[test]
fn byte_level_bpe_tokens() {
    let Some(path) = std::env::var_os("EMBER_TEST_BPE_MODEL") else {
        eprintln!("EMBER_TEST_BPE_MODEL is not set (run through CTest); skipped");
        return;
    };
    let m = Model::load(PathBuf::from(path)).expect("the BPE test model loads");
    let chat = "<|begin_of_text|>Hi<|eot_id|>";
    assert_eq!(m.tokenize(chat, false, true).unwrap(), vec![128000, 13347, 128009]);
    let plain = m.tokenize(chat, true, false).unwrap();
    assert_eq!(plain[0], 128000);
    assert!(!plain[1..].contains(&128000) && !plain.contains(&128009));
    assert_eq!(m.detokenize(&plain[1..], false).unwrap(), chat);
    let text = "Grüße, 世界! It's 12345 ✓";
    assert_eq!(m.detokenize(&m.tokenize(text, false, false).unwrap(), false).unwrap(), text);
    let eog = m.eog_tokens().unwrap();
    assert!(eog.windows(2).all(|w| w[0] < w[1]));
    assert!(eog.contains(&128009) && eog.contains(&128001));
    assert!(m.is_eog(128009).unwrap() && !m.is_eog(128000).unwrap());
}

#[test]
fn missing_and_corrupt_files() {
    let e = Model::load("/nonexistent/model.gguf").err().unwrap();
    assert_eq!(e.status, Status::FileNotFound);
    assert!(e.message.contains("/nonexistent/model.gguf"), "{}", e);

    let dir = tmp_dir("corrupt");
    let data = std::fs::read(model_path()).unwrap();
    for cut in [3, 100, 5000, data.len() / 2, data.len() - 1] {
        let p = dir.join(format!("truncated_{}.gguf", cut));
        std::fs::write(&p, &data[..cut]).unwrap();
        let e = Model::load(&p).err().unwrap();
        assert_eq!(e.status, Status::BadFile, "{}", e);
        assert!(e.message.contains("truncated_"), "{}", e);
    }
    // A well-formed GGUF file, written by hand, of an architecture ember does not implement.
    let mut gguf = b"GGUF".to_vec();
    gguf.extend(3u32.to_le_bytes());
    gguf.extend(0u64.to_le_bytes());
    gguf.extend(1u64.to_le_bytes());
    let (k, v) = ("general.architecture", "gpt-nine");
    gguf.extend((k.len() as u64).to_le_bytes());
    gguf.extend(k.as_bytes());
    gguf.extend(8u32.to_le_bytes());
    gguf.extend((v.len() as u64).to_le_bytes());
    gguf.extend(v.as_bytes());
    let p = dir.join("arch.gguf");
    std::fs::write(&p, &gguf).unwrap();
    let e = Model::load(&p).err().unwrap();
    assert_eq!(e.status, Status::Unsupported);
    assert!(e.message.contains("gpt-nine"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn invalid_arguments() {
    let m = model();
    let e = m.detokenize(&[5, 9999], false).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("9999"));
    assert_eq!(m.token_piece(-1, false).err().unwrap().status, Status::InvalidArgument);
    assert_eq!(Context::new(&m, &ContextParams { n_ctx: -1, ..Default::default() }).err().unwrap().status, Status::InvalidArgument);
    assert_eq!(Context::new(&m, &ContextParams { n_seq_max: 0, ..Default::default() }).err().unwrap().status, Status::InvalidArgument);
    let e = Sampler::new(&SamplerParams { top_p: 2.0, ..Default::default() }, None).err().unwrap();
    assert!(e.message.contains("top_p"), "{}", e);
    let e = Sampler::new(&SamplerParams { logit_bias: vec![(4000, 1.0)], ..Default::default() }, Some(&m)).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    let e = Model::load("bad\0path").err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    let mut ctx = Context::new(&m, &small(32)).unwrap();
    assert_eq!(ctx.logits(-1).err().unwrap().status, Status::InvalidArgument);
    assert_eq!(ctx.decode(&[], 0, false).err().unwrap().status, Status::InvalidArgument);
    assert_eq!(ctx.decode(&[1, 2], 3, false).err().unwrap().status, Status::InvalidArgument);
    assert_eq!(ctx.decode(&(0..40).collect::<Vec<_>>(), 0, false).err().unwrap().status, Status::ContextFull);
    assert_eq!(ctx.n_past(0).unwrap(), 0);
    let e = Sampler::chain(Some(1)).unwrap().add_greedy().unwrap().add_top_k(3).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
}

#[test]
fn raw_layer_null_pointers_and_small_buffers() {
    let m = model();
    unsafe {
        let mut info = sys::ember_model_info { struct_size: std::mem::size_of::<sys::ember_model_info>(), ..Default::default() };
        assert_eq!(sys::ember_model_get_info(std::ptr::null(), &mut info), sys::EMBER_ERR_INVALID_ARGUMENT);
        let mut raw = std::ptr::null_mut();
        assert_eq!(sys::ember_model_load(std::ptr::null(), std::ptr::null(), &mut raw), sys::EMBER_ERR_INVALID_ARGUMENT);
        assert!(raw.is_null());
        sys::ember_model_free(std::ptr::null_mut());
    }
    // An undersized buffer reports the size it needs.
    let model_ptr = {
        // The safe Model keeps its handle private; load a raw one for this check.
        let path = std::ffi::CString::new(model_path().to_str().unwrap()).unwrap();
        let mut raw = std::ptr::null_mut();
        assert_eq!(unsafe { sys::ember_model_load(path.as_ptr(), std::ptr::null(), &mut raw) }, sys::EMBER_OK);
        raw
    };
    let mut buf = [0 as c_char; 3];
    let mut size = 0usize;
    let status = unsafe { sys::ember_model_architecture(model_ptr, buf.as_mut_ptr(), buf.len(), &mut size) };
    assert_eq!(status, sys::EMBER_ERR_BUFFER_TOO_SMALL);
    assert_eq!(size, 5);
    let message = unsafe { std::ffi::CStr::from_ptr(sys::ember_last_error()) }.to_string_lossy().into_owned();
    assert!(message.contains("do not fit"), "{}", message);
    unsafe { sys::ember_model_free(model_ptr) };
    drop(m);
}

#[test]
fn greedy_generation_matches_decode_and_argmax() {
    let m = model();
    let expected = greedy_by_hand(&m, "Once upon a time", 24);
    let mut ctx = Context::new(&m, &small(256)).unwrap();
    let prompt = m.tokenize("Once upon a time", true, false).unwrap();
    let mut tokens = Vec::new();
    let mut text = String::new();
    let params = GenerateParams { max_tokens: 24, ..Default::default() };
    let outcome = ctx
        .generate(None, &prompt, &params, |ev| {
            if let Some(t) = ev.token {
                tokens.push(t);
            }
            text.push_str(&ev.text);
            true
        })
        .unwrap();
    assert_eq!(outcome.stop_reason, StopReason::MaxTokens);
    assert_eq!(outcome.n_tokens, 24);
    assert_eq!(outcome.n_prompt_evaluated, prompt.len() as i64);
    assert_eq!(tokens, expected);
    // The stream continues the prompt, so it keeps the first token's leading space.
    let detok = m.detokenize(&expected, false).unwrap();
    assert!(text == detok || text == format!(" {}", detok), "{:?} vs {:?}", text, detok);
    // Again: the whole prompt is cached.
    let again = ctx.generate(None, &prompt, &params, |_| true).unwrap();
    assert_eq!(again.n_prompt_evaluated, 1);
    assert_eq!(ctx.generate_text(None, "Once upon a time", &params).unwrap(), text);
}

#[test]
fn samplers_and_logprobs() {
    let m = model();
    let mut s = Sampler::new(&SamplerParams { temperature: 0.0, logprobs: Some(3), ..Default::default() }, Some(&m)).unwrap();
    let mut ctx = Context::new(&m, &small(256)).unwrap();
    let prompt = m.tokenize("Once upon a time", true, false).unwrap();
    let mut seen = 0;
    ctx.generate(Some(&mut s), &prompt, &GenerateParams { max_tokens: 10, ..Default::default() }, |ev| {
        if ev.token.is_some() {
            let (lp, entropy) = ev.logprob.unwrap();
            assert!(lp <= 0.0 && entropy >= 0.0);
            assert_eq!(ev.top.len(), 3);
            assert_eq!(Some(ev.top[0].token), ev.token);
            seen += 1;
        }
        true
    })
    .unwrap();
    assert_eq!(seen, 10);
    let last = s.last_logprob().unwrap();
    assert_eq!(last.top.len(), 3);

    let mut chain = Sampler::chain(Some(9)).unwrap();
    chain.add_logit_bias(&[(1, f32::NEG_INFINITY)]).unwrap().add_top_k(1).unwrap().add_temperature(0.5).unwrap();
    assert_eq!(chain.sample_logits(&[0.0, 5.0, 4.0]).unwrap(), 2);
    assert_eq!(chain.seed().unwrap(), 9);
    assert!(chain.describe().unwrap().contains("top-k 1"));

    let random = SamplerParams { seed: Some(4), temperature: 1.5, top_k: 0, top_p: 1.0, min_p: 0.0, ..Default::default() };
    let (mut a, mut b) = (Sampler::new(&random, None).unwrap(), Sampler::new(&random, None).unwrap());
    let logits = [0.1, 0.5, 0.2, 0.4];
    let da: Vec<i32> = (0..30).map(|_| a.sample_logits(&logits).unwrap()).collect();
    let db: Vec<i32> = (0..30).map(|_| b.sample_logits(&logits).unwrap()).collect();
    assert_eq!(da, db);
    assert!(da.iter().any(|&t| t != da[0]));
    a.reset().unwrap();
    assert_eq!(da, (0..30).map(|_| a.sample_logits(&logits).unwrap()).collect::<Vec<_>>());
    let mut g = Sampler::greedy().unwrap();
    assert_eq!(g.sample_logits(&[1.0, 3.0, 3.0]).unwrap(), 1);
    assert_eq!(g.last_logprob().err().unwrap().status, Status::InvalidArgument);
}

#[test]
fn sequences_state_and_memory() {
    let m = model();
    let mut ctx = Context::new(&m, &ContextParams { n_seq_max: 2, ..small(128) }).unwrap();
    let ids = m.tokenize("The little dog ran to the park", true, false).unwrap();
    assert_eq!(ctx.decode_prompt(&ids, 0).unwrap(), ids.len() as i64);
    assert_eq!(ctx.decode_prompt(&ids, 0).unwrap(), 1);
    ctx.seq_cp(0, 1, 0, -1).unwrap();
    ctx.seq_rm(1, 2, -1).unwrap();
    assert_eq!((ctx.n_past(0).unwrap(), ctx.n_past(1).unwrap()), (ids.len() as i64, 2));
    let state = ctx.save_state().unwrap();
    let dir = tmp_dir("state");
    ctx.save_state_file(dir.join("s.bin")).unwrap();
    let params = GenerateParams { max_tokens: 8, ..Default::default() };
    let expected = ctx.generate_text(None, "The little dog ran to the park", &params).unwrap();
    ctx.load_state(&state).unwrap();
    let mut other = Context::new(&m, &ContextParams { n_seq_max: 2, ..small(128) }).unwrap();
    other.load_state_file(dir.join("s.bin")).unwrap();
    assert_eq!(other.n_past(1).unwrap(), 2);
    assert_eq!(other.generate_text(None, "The little dog ran to the park", &params).unwrap(), expected);
    assert_eq!(other.load_state(&state[..state.len() - 4]).err().unwrap().status, Status::BadFile);
    assert_eq!(other.load_state_file(dir.join("absent.bin")).err().unwrap().status, Status::FileNotFound);
    ctx.shift(0, 1, 3).unwrap();
    assert_eq!(ctx.n_past(0).unwrap(), ids.len() as i64 - 3);
    ctx.clear().unwrap();
    assert_eq!(ctx.n_past(0).unwrap(), 0);

    let mem = ctx.memory().unwrap();
    assert_eq!(mem.weights, m.info().weight_bytes);
    assert_eq!(mem.kv_cache, 5 * 128 * 32 * 2 * 2);
    let f32_ctx = Context::new(&m, &ContextParams { type_k: CacheType::F32, type_v: CacheType::F32, ..small(128) }).unwrap();
    assert_eq!(f32_ctx.memory().unwrap().kv_cache, 2 * mem.kv_cache);
    let p = ctx.params().unwrap();
    assert_eq!((p.n_ctx, p.n_seq_max, p.n_threads, p.type_k), (128, 2, 1, CacheType::F16));

    // Two sequences in one batch.
    let (a, b) = (m.tokenize("A big red ball", true, false).unwrap(), m.tokenize("The cat sat", true, false).unwrap());
    let tokens: Vec<i32> = a.iter().chain(b.iter()).copied().collect();
    let pos: Vec<i32> = (0..a.len() as i32).chain(0..b.len() as i32).collect();
    let seq: Vec<i32> = std::iter::repeat(0).take(a.len()).chain(std::iter::repeat(1).take(b.len())).collect();
    ctx.decode_batch(&tokens, &pos, Some(&seq), None).unwrap();
    let together = ctx.logits(-1).unwrap().to_vec();
    let mut alone = Context::new(&m, &small(64)).unwrap();
    alone.decode(&b, 0, false).unwrap();
    for (x, y) in alone.logits(-1).unwrap().iter().zip(&together) {
        assert!((x - y).abs() < 1e-4);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn callback_stops_a_long_generation_after_ten_tokens() {
    let m = model();
    let mut ctx = Context::new(&m, &ContextParams { context_shift: true, ..small(512) }).unwrap();
    let prompt = m.tokenize("Once upon a time", true, false).unwrap();
    let mut n = 0;
    let params = GenerateParams { max_tokens: 10_000, stop_at_eog: false, ..Default::default() };
    let outcome = ctx
        .generate(None, &prompt, &params, |ev| {
            if ev.token.is_some() {
                n += 1;
            }
            n < 10
        })
        .unwrap();
    assert_eq!((outcome.stop_reason, outcome.n_tokens, n), (StopReason::Callback, 10, 10));
}

#[test]
fn abort_from_another_thread() {
    let m = model();
    let mut ctx = Context::new(&m, &ContextParams { context_shift: true, ..small(256) }).unwrap();
    let handle = ctx.abort_handle();
    let prompt = m.tokenize("Once upon a time", true, false).unwrap();
    let (tx, rx) = mpsc::channel();
    let aborter = std::thread::spawn(move || {
        rx.recv().unwrap();
        handle.abort();
    });
    let mut n = 0;
    let mut signalled = false;
    let params = GenerateParams { max_tokens: 10_000, stop_at_eog: false, ..Default::default() };
    let e = ctx
        .generate(None, &prompt, &params, |ev| {
            if ev.token.is_some() {
                n += 1;
            }
            if n == 10 && !signalled {
                signalled = true;
                tx.send(()).unwrap();
            }
            true
        })
        .err()
        .unwrap();
    aborter.join().unwrap();
    assert_eq!(e.status, Status::Cancelled);
    assert!((10..10_000).contains(&n));
    // The context is usable afterwards.
    ctx.decode(&[1, 50], 0, false).unwrap();
}

#[test]
fn four_threads_share_one_model() {
    let m = model();
    let prompts = ["Once upon a time", "The little dog", "Once upon a time", "Lily and Tom"];
    let run = |prompt: &str| {
        let mut ctx = Context::new(&m, &small(128)).unwrap();
        ctx.generate_text(None, prompt, &GenerateParams { max_tokens: 32, ..Default::default() }).unwrap()
    };
    let single: Vec<String> = prompts.iter().map(|p| run(p)).collect();
    let multi: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = prompts.iter().map(|p| s.spawn(move || run(p))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(multi, single);
    assert!(multi[0] == multi[2] && multi[0] != multi[1]);
}

#[test]
fn load_progress_and_logging() {
    let mut seen = Vec::new();
    let mut record = |f: f32| {
        seen.push(f);
        true
    };
    let m = Model::load_with(model_path(), LoadOptions { use_mmap: false, check_tensors: true }, Some(&mut record)).unwrap();
    assert!(!m.info().mmapped);
    assert_eq!(*seen.last().unwrap(), 1.0);
    let mut cancel = |_: f32| false;
    let e = Model::load_with(model_path(), LoadOptions::default(), Some(&mut cancel)).err().unwrap();
    assert_eq!(e.status, Status::Cancelled);

    static GOT_INFO: AtomicBool = AtomicBool::new(false);
    ember::set_log_handler(Some(Box::new(|level, msg| {
        if level == ember::LogLevel::Info && msg.contains("stories260K") {
            GOT_INFO.store(true, Ordering::SeqCst);
        }
    })));
    drop(model());
    ember::set_log_handler(None);
    assert!(GOT_INFO.load(Ordering::SeqCst));
}

#[test]
fn panics_in_callbacks_cross_the_c_boundary_safely() {
    let m = model();
    let mut ctx = Context::new(&m, &small(64)).unwrap();
    let prompt = m.tokenize("Once", true, false).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = ctx.generate(None, &prompt, &GenerateParams { max_tokens: 5, ..Default::default() }, |_| panic!("in the callback"));
    }));
    assert!(r.is_err());
    ctx.decode(&[1, 2], 0, false).unwrap();
}

#[test]
fn quantize_file_reports_its_state() {
    let dir = tmp_dir("quant");
    match ember::quantize_file(model_path(), dir.join("f16.gguf"), "F16", 0) {
        Ok(r) => {
            assert_eq!(r.n_tensors, 48);
            assert!(r.n_quantized > 0 && r.bytes_out < r.bytes_in);
            assert_eq!(Model::load(dir.join("f16.gguf")).unwrap().info().n_tensors, 48);
            let e = ember::quantize_file(model_path(), dir.join("x.gguf"), "Q9_X", 0).err().unwrap();
            assert_eq!(e.status, Status::InvalidArgument);
        }
        // A build without the file quantizer says so.
        Err(e) => assert!(e.status == Status::Unsupported && e.message.contains("no file quantizer"), "{}", e),
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn version() {
    assert_eq!(ember::version(), "0.1.0");
}
