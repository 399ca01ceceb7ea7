//! generate MODEL PROMPT N - prints the greedy N-token continuation of PROMPT exactly as
//! `ember run --temp 0` does (stdout holds only the continuation).
//!
//!     EMBER_LIB_DIR=build/capi cargo run --offline --example generate -- MODEL PROMPT N
use std::io::Write;
use std::process::ExitCode;

use ember::{Context, ContextParams, GenerateParams, Model};

fn run(model_path: &str, prompt: &str, n: i64) -> ember::Result<()> {
    let model = Model::load(model_path)?;
    // Like `ember run`: keep going when the cache fills up.
    let mut ctx = Context::new(&model, &ContextParams { context_shift: true, ..Default::default() })?;
    let tokens = model.tokenize(prompt, true, false)?;
    // Without a sampler, generation uses `temperature` (0: greedy).
    let params = GenerateParams { max_tokens: n, temperature: 0.0, ..Default::default() };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    ctx.generate(None, &tokens, &params, |event| {
        // Each event carries whole UTF-8 characters only.
        out.write_all(event.text.as_bytes()).and_then(|_| out.flush()).is_ok()
    })?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: generate MODEL PROMPT N");
        return ExitCode::from(2);
    }
    let n: i64 = match args[3].parse() {
        Ok(n) => n,
        Err(_) => {
            eprintln!("generate: N must be an integer");
            return ExitCode::from(2);
        }
    };
    match run(&args[1], &args[2], n) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("generate: {}", e);
            ExitCode::FAILURE
        }
    }
}
