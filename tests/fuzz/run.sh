#!/usr/bin/env bash
# Builds a fuzz target (clang, libFuzzer, ASan + UBSan) in build-fuzz/ and fuzzes it for SECONDS
# (default 60). Targets:
#   gguf       the GGUF reader; seeds generated fresh from the broken-file corpus and the valid
#              samples (tests/broken_gguf.hpp)
#   tokenizer  the tokenizers: text through every vocabulary of ../shared/vocab and vocabularies
#              built from the input; seeds from llama.cpp's test inputs (tokenizer_seeds.py)
#   template   the chat-template interpreter; seeds are the real templates of ../shared/templates
#   grammar    GBNF, JSON Schema and regex conversion and matching; seeds written here
# The growing corpus is kept in build-fuzz/fuzz/<target>/corpus and crashes land in
# build-fuzz/fuzz/<target>/artifacts (exit status non-zero).
#   tests/fuzz/run.sh [TARGET] [SECONDS] [extra libFuzzer flags, e.g. -jobs=2 -workers=2]
# Environment: EMBER_FUZZ_BUILD_DIR (default <repo>/build-fuzz), EMBER_FUZZ_JOBS (build, 2).
set -euo pipefail
target=gguf
if [ $# -gt 0 ] && [[ ! "$1" =~ ^[0-9]+$ ]] && [[ "$1" != -* ]]; then target="$1"; shift; fi
secs="${1:-60}"
[ $# -gt 0 ] && shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${EMBER_FUZZ_BUILD_DIR:-$root/build-fuzz}"

mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_FUZZ=ON \
  -DEMBER_BUILD_EXAMPLES=OFF -DEMBER_BUILD_BENCH=OFF > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }

work="$build/fuzz/$target"
mkdir -p "$work/corpus" "$work/artifacts"
rm -rf "$work/seeds"
case "$target" in
  gguf)
    cmake --build "$build" -j"${EMBER_FUZZ_JOBS:-2}" --target fuzz_gguf ember_broken_gguf
    "$build/tests/ember_broken_gguf" "$work/seeds" > /dev/null
    # -malloc_limit_mb: inputs are at most 128 KiB, so an allocation of 64 MiB means a size
    # was taken from the file without being checked.
    exec "$build/tests/fuzz/fuzz_gguf" -max_total_time="$secs" -max_len=131072 -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=64 -dict="$root/tests/fuzz/gguf.dict" \
      -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
    ;;
  tokenizer)
    cmake --build "$build" -j"${EMBER_FUZZ_JOBS:-2}" --target fuzz_tokenizer
    shared="${EMBER_SHARED_DIR:-$root/../shared}"
    python3 "$root/tests/fuzz/tokenizer_seeds.py" "$shared/vocab" "$work/seeds" > /dev/null
    # The vocabularies themselves take ~200 MB; a tokenization of at most 16 KiB of text needs
    # far less than the limit.
    EMBER_FUZZ_VOCAB_DIR="$shared/vocab" exec "$build/tests/fuzz/fuzz_tokenizer" -max_total_time="$secs" \
      -max_len=16384 -timeout=10 -rss_limit_mb=4096 -dict="$root/tests/fuzz/tokenizer.dict" \
      -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
    ;;
  template)
    cmake --build "$build" -j"${EMBER_FUZZ_JOBS:-2}" --target fuzz_template
    shared="${EMBER_SHARED_DIR:-$root/../shared}"
    mkdir -p "$work/seeds"
    cp "$shared"/templates/*.jinja "$work/seeds/"
    # Rendering is bounded by the target's limits (200k steps, 1 MiB of output).
    exec "$build/tests/fuzz/fuzz_template" -max_total_time="$secs" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -dict="$root/tests/fuzz/template.dict" \
      -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
    ;;
  grammar)
    cmake --build "$build" -j"${EMBER_FUZZ_JOBS:-2}" --target fuzz_grammar
    mkdir -p "$work/seeds"
    # First byte: '0' GBNF, '1' JSON Schema, '2' regex (mod 3); after a NUL, text to match.
    printf '0root ::= object\nobject ::= "{" ws (string ":" ws value ("," ws string ":" ws value)*)? "}"\nvalue ::= object | string | [0-9]+ ("." [0-9]+)?\nstring ::= "\\"" ([^"\\\\] | "\\\\" ["\\\\nt])* "\\""\nws ::= [ \\t\\n]{0,4}\n\0{"a": {"b": "c\\n"}, "d": 1.5}' > "$work/seeds/json.gbnf"
    printf '0root ::= ("ab" | [c-e]+ | "\\u00e9"{2,3})* "x"? [^\\x00-\\x1F]\n\0abcdd\xc3\xa9\xc3\xa9z' > "$work/seeds/classes.gbnf"
    printf '1{"type": "object", "properties": {"n": {"type": "string", "maxLength": 8}, "k": {"type": "array", "items": {"enum": [1, "x", null]}, "maxItems": 3}, "t": {"type": "string", "format": "date-time"}}, "required": ["n"], "additionalProperties": {"type": "integer"}}\0{"n": "a", "k": [1, null], "z": 3}' > "$work/seeds/schema.json"
    printf '1{"$defs": {"n": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#/$defs/n"}}]}}, "$ref": "#/$defs/n"}\0[[1, [2]], 3]' > "$work/seeds/ref.json"
    printf '2^[A-Z][a-z]{1,5}(-\\d+|\\.[xy]?)*$\0Abc-12.x' > "$work/seeds/regex.txt"
    exec "$build/tests/fuzz/fuzz_grammar" -max_total_time="$secs" -max_len=8192 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" "$work/corpus" "$work/seeds"
    ;;
  *) echo "run.sh: unknown fuzz target '$target' (gguf, tokenizer, template, grammar)" >&2; exit 2 ;;
esac
