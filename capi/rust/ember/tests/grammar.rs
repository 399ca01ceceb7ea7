//! Structured output through the safe bindings: a JSON schema, GBNF and regex as sampler stages,
//! accept vs accept_prompt, and errors naming the problem. The model is $EMBER_TEST_MODEL or
//! shared/ beside the repository.
use std::path::PathBuf;

use ember::{Context, ContextParams, GenerateParams, Grammar, Model, Sampler, SamplerParams, Status};

fn model() -> Model {
    let path = match std::env::var_os("EMBER_TEST_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/models/stories260K.gguf"),
    };
    Model::load(path).expect("the test model loads")
}

fn run(ctx: &mut Context, sampler: &mut Sampler, prompt: &str) -> String {
    let params = GenerateParams { max_tokens: 200, ..Default::default() };
    ctx.generate_text(Some(sampler), prompt, &params).unwrap()
}

/// {"id": "<3 digits>", "tags": [0..2 of "a"|"b"]} with JSON whitespace, checked by hand.
fn fits_schema(text: &str) -> bool {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(rest) = squeezed.strip_prefix("{\"id\":\"") else { return false };
    let (digits, rest) = rest.split_at(rest.find('"').unwrap_or(0));
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some(list) = rest.strip_prefix("\",\"tags\":[").and_then(|r| r.strip_suffix("]}")) else { return false };
    list.is_empty() || (list.split(',').count() <= 2 && list.split(',').all(|t| t == "\"a\"" || t == "\"b\""))
}

#[test]
fn schema_gbnf_and_regex_constrain_the_output() {
    let model = model();
    let mut ctx = Context::new(&model, &ContextParams { n_ctx: 512, n_threads: 1, ..Default::default() }).unwrap();
    let schema = r#"{"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]{3}$"},
                     "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}}, "required": ["id", "tags"]}"#;
    let params = SamplerParams { temperature: 1.0, top_k: 0, top_p: 1.0, min_p: 0.0, ..Default::default() };
    for seed in 1..4 {
        let mut s = Sampler::with_grammar(&SamplerParams { seed: Some(seed), ..params.clone() }, &model, Grammar::JsonSchema(schema)).unwrap();
        let text = run(&mut ctx, &mut s, "Once upon a time");
        assert!(fits_schema(&text), "seed {}: {:?}", seed, text);
        s.reset().unwrap();
        assert_eq!(run(&mut ctx, &mut s, "Once upon a time"), text, "reset restarts grammar and generator");
    }

    let mut s = Sampler::chain(Some(9)).unwrap();
    s.add_grammar(&model, Grammar::Gbnf("root ::= [a-c]{3} \"!\"")).unwrap().add_temperature(1.5).unwrap();
    let text = run(&mut ctx, &mut s, "The");
    let b = text.as_bytes();
    assert!(b.len() == 4 && b[..3].iter().all(|c| (b'a'..=b'c').contains(c)) && b[3] == b'!', "{:?}", text);

    let mut s = Sampler::with_grammar(&params, &model, Grammar::Regex("(yes|no)")).unwrap();
    let text = run(&mut ctx, &mut s, "The");
    assert!(text == "yes" || text == "no", "{:?}", text);
}

#[test]
fn accept_prompt_and_errors() {
    let model = model();
    let mut s = Sampler::with_grammar(&SamplerParams { temperature: 0.0, ..Default::default() }, &model, Grammar::Gbnf("root ::= \"x\" [0-9]"))
        .unwrap();
    let bad = model.tokenize("zzz", false, false).unwrap()[0];
    let e = s.accept(bad).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("does not fit the grammar"), "{}", e.message);
    s.accept_prompt(bad).unwrap(); // a prompt token is not output
    let mut ctx = Context::new(&model, &ContextParams { n_ctx: 128, n_threads: 1, ..Default::default() }).unwrap();
    let text = run(&mut ctx, &mut s, "zzz");
    assert!(text.len() == 2 && text.starts_with('x') && text.as_bytes()[1].is_ascii_digit(), "{:?}", text);

    let p = SamplerParams::default();
    let e = Sampler::with_grammar(&p, &model, Grammar::Gbnf("root ::= \"a\"\nx ::= (\"b\"\n")).err().unwrap();
    assert!(e.message.contains("line 2"), "{}", e.message);
    let e = Sampler::with_grammar(&p, &model, Grammar::JsonSchema(r#"{"properties": {"a": {"minimum": 1}}}"#)).err().unwrap();
    assert!(e.message.contains("/properties/a: 'minimum' is not supported"), "{}", e.message);
    let e = Sampler::with_grammar(&p, &model, Grammar::Regex("a(b")).err().unwrap();
    assert!(e.message.contains("regex column 4"), "{}", e.message);
    let e = Sampler::with_grammar(&p, &model, Grammar::Regex("a\0b")).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("NUL"), "{}", e.message);
}
