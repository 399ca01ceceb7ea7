//! Every architecture ember runs, through the safe bindings: the shared synthetic Qwen2, Qwen3,
//! Gemma 3 and Qwen2-BPE models give llama.cpp's tokens and logits (shared/golden/*.jsonl).
//! The shared folder is $EMBER_SHARED_DIR or shared/ beside the repository.
use std::path::PathBuf;

use ember::{CacheType, Context, ContextParams, GenerateParams, Model};

fn shared_dir() -> PathBuf {
    match std::env::var_os("EMBER_SHARED_DIR") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared"),
    }
}

/// Just enough JSON for the reference files (no crates outside the toolchain are used).
enum Json {
    Null,
    Bool,
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => &m.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no key {}", key)).1,
            _ => panic!("not an object looking up {}", key),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array"),
        }
    }
    fn num(&self) -> f64 {
        match self {
            Json::Num(x) => *x,
            _ => panic!("not a number"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }
    fn ids(&self) -> Vec<i32> {
        self.arr().iter().map(|x| x.num() as i32).collect()
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s[self.i], c, "JSON: expected {:?} at byte {}", c as char, self.i);
        self.i += 1;
    }
    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
        self.i += 4;
        u32::from_str_radix(h, 16).unwrap()
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let mut u = self.hex4();
                            if (0xd800..0xdc00).contains(&u) {
                                self.i += 2; // \u of the low surrogate
                                let lo = self.hex4();
                                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            char::from_u32(u).unwrap()
                        }
                        other => other as char,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).unwrap()
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    m.push((k, self.value()));
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b'}' {
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b']' {
                        return Json::Arr(a);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => {
                self.i += 4;
                Json::Bool
            }
            b'f' => {
                self.i += 5;
                Json::Bool
            }
            b'n' => {
                self.i += 4;
                Json::Null
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                Json::Num(std::str::from_utf8(&self.s[start..self.i]).unwrap().parse().unwrap())
            }
        }
    }
}

fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in logits.iter().enumerate() {
        if x > logits[best] {
            best = i;
        }
    }
    best
}

/// Loads `name`, checks its architecture, tokenizes each reference prompt, compares the logits
/// at every position of prompt + llama.cpp's greedy continuation, and generates from the cache.
fn check_model(name: &str, arch: &str, tol: f64) {
    let model_file = shared_dir().join("models").join(format!("{}.gguf", name));
    let golden_file = shared_dir().join("golden").join(format!("{}.jsonl", name));
    let text = std::fs::read_to_string(&golden_file).unwrap_or_else(|e| panic!("{}: {}", golden_file.display(), e));
    let m = Model::load(&model_file).unwrap_or_else(|e| panic!("{}: {}", model_file.display(), e));
    assert_eq!(m.architecture().unwrap(), arch);
    let params = ContextParams { n_ctx: 512, n_threads: 1, type_k: CacheType::F32, type_v: CacheType::F32, ..Default::default() };
    let mut n_refs = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let r = Parser { s: line.as_bytes(), i: 0 }.value();
        n_refs += 1;
        let prompt = r.get("prompt").str();
        let tokens = m.tokenize(prompt, true, false).unwrap();
        assert_eq!(tokens, r.get("prompt_tokens").ids(), "{}: tokens of {:?}", name, prompt);
        let mut seq = tokens.clone();
        seq.extend(r.get("generated").ids());
        let mut ctx = Context::new(&m, &params).unwrap();
        ctx.decode(&seq, 0, true).unwrap();
        let mut worst = 0.0f64;
        for p in r.get("positions").arr() {
            let pos = p.get("pos").num() as usize;
            if pos >= seq.len() {
                continue;
            }
            let logits = ctx.logits(pos as i64).unwrap();
            let top = p.get("top").arr();
            for t in top {
                let (id, want) = (t.arr()[0].num() as usize, t.arr()[1].num());
                worst = worst.max((logits[id] as f64 - want).abs());
            }
            let gap = top[0].arr()[1].num() - top[1].arr()[1].num();
            if gap > 2.0 * tol {
                assert_eq!(argmax(logits), top[0].arr()[0].num() as usize, "{}: argmax at position {}", name, pos);
            }
        }
        assert!(worst <= tol, "{}: max |dlogit| {} > {} for {:?}", name, worst, tol, prompt);
        // Generation from the cache: greedy by hand equals generate().
        ctx.clear().unwrap();
        ctx.decode(&tokens, 0, false).unwrap();
        let mut by_hand = Vec::new();
        for _ in 0..8 {
            let t = argmax(ctx.logits(-1).unwrap()) as i32;
            by_hand.push(t);
            ctx.decode(&[t], 0, false).unwrap();
        }
        ctx.clear().unwrap();
        let mut generated = Vec::new();
        let gp = GenerateParams { max_tokens: 8, stop_at_eog: false, ..Default::default() };
        ctx.generate(None, &tokens, &gp, |ev| {
            if let Some(t) = ev.token {
                generated.push(t);
            }
            true
        })
        .unwrap();
        assert_eq!(generated, by_hand, "{}: generate() vs greedy by hand", name);
    }
    assert!(n_refs > 0, "{}: no reference lines", golden_file.display());
}

#[test]
fn qwen2_matches_llamacpp() {
    check_model("synthetic-qwen2", "qwen2", 1e-3);
}

#[test]
fn qwen3_matches_llamacpp() {
    check_model("synthetic-qwen3", "qwen3", 1e-3);
}

#[test]
fn gemma3_matches_llamacpp() {
    check_model("synthetic-gemma3", "gemma3", 1e-3);
}

#[test]
fn qwen2_bpe_matches_llamacpp() {
    check_model("synthetic-qwen2-bpe", "qwen2", 1e-2); // F16 embeddings
}
