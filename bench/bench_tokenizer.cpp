// Tokenizing the Shakespeare evaluation text (../shared/text/shakespeare-eval.txt) repeated to
// 4 MiB, and detokenizing the result, with the vocabularies people run most:
//
//   BM_tokenize/llama-bpe    Llama 3 (byte-level BPE, ignore_merges)
//   BM_tokenize/qwen2        Qwen 2/2.5 (byte-level BPE)
//   BM_tokenize/gpt-2        GPT-2 (byte-level BPE, every word merged)
//   BM_tokenize/llama-spm    Llama 1/2 (SentencePiece)
//   BM_detokenize/...        the ids back to text
//
// Counters: bytes/s and tokens/s. The shared folder is $EMBER_SHARED_DIR or ../shared beside
// the repository. Run:
//   build/bench/bench_tokenizer --benchmark_counters_tabular=true
// llama.cpp's figures on the same text come from bench/compare_llamacpp.sh (bench/README.md).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "ember/gguf.hpp"
#include "ember/vocab.hpp"

namespace {

using namespace ember;

std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("EMBER_SHARED_DIR")) return env;
    return EMBER_SHARED_DIR;
}

const std::string& text() {
    static const std::string t = [] {
        std::ifstream in(shared_dir() / "text/shakespeare-eval.txt", std::ios::binary);
        const std::string unit((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::string s;
        if (unit.empty()) return s;
        while (s.size() < (size_t(4) << 20)) s += unit;
        return s;
    }();
    return t;
}

const vocab& get_vocab(const std::string& stem) {
    static std::map<std::string, vocab> cache;
    auto it = cache.find(stem);
    if (it == cache.end()) {
        const auto f = gguf_file::open(shared_dir() / "vocab" / ("ggml-vocab-" + stem + ".gguf"));
        it = cache.emplace(stem, vocab::from_gguf(f)).first;
    }
    return it->second;
}

void BM_tokenize(benchmark::State& state, const std::string& stem) {
    const vocab& v = get_vocab(stem);
    const std::string& t = text();
    if (t.empty()) {
        state.SkipWithError("shakespeare-eval.txt not found");
        return;
    }
    size_t n = 0;
    for (auto _ : state) {
        const auto ids = v.tokenize(t, false, false);
        n = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations() * t.size()));
    state.counters["tokens/s"] = benchmark::Counter(double(state.iterations() * n), benchmark::Counter::kIsRate);
}

void BM_detokenize(benchmark::State& state, const std::string& stem) {
    const vocab& v = get_vocab(stem);
    const std::string& t = text();
    if (t.empty()) {
        state.SkipWithError("shakespeare-eval.txt not found");
        return;
    }
    const auto ids = v.tokenize(t, false, false);
    for (auto _ : state) {
        const std::string s = v.detokenize(ids);
        benchmark::DoNotOptimize(s.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations() * t.size()));
    state.counters["tokens/s"] = benchmark::Counter(double(state.iterations() * ids.size()), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK_CAPTURE(BM_tokenize, llama-bpe, std::string("llama-bpe"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_tokenize, qwen2, std::string("qwen2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_tokenize, gpt-2, std::string("gpt-2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_tokenize, llama-spm, std::string("llama-spm"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_detokenize, llama-bpe, std::string("llama-bpe"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_detokenize, qwen2, std::string("qwen2"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_detokenize, llama-spm, std::string("llama-spm"))->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
