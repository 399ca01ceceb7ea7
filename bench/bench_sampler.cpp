// Sampling one token from a row of logits over a 32 000-token vocabulary (Llama) and a
// 151 936-token one (Qwen2), for the chains a user would run:
//
//   BM_sample/greedy        --temp 0
//   BM_sample/default       llama.cpp's defaults: top-k 40, top-p 0.95, min-p 0.05, temp 0.8
//   BM_sample/no_top_k      top-k off (top-p and min-p over the whole vocabulary: the sort path)
//   BM_sample/penalties     the defaults plus repeat/frequency/presence penalties over 64 tokens
//   BM_sample/mirostat2     mirostat v2, tau 5, eta 0.1
//   BM_sample/logprobs      the defaults with log-probabilities and the 5 best alternatives
//
// Counters: tokens/s (samples per second) and vocabulary entries per second. Run:
//   build/bench/bench_sampler --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ember/sampler.hpp"

namespace {

using namespace ember;

std::vector<float> logits_row(int64_t n_vocab, uint32_t seed) {
    // Peaked like a real model's: a few likely tokens on a wide normal background.
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 2.0f);
    std::vector<float> v(static_cast<size_t>(n_vocab));
    for (auto& x : v) x = nd(rng);
    for (int i = 0; i < 8; ++i) v[rng() % v.size()] += 12.0f - float(i);
    return v;
}

void BM_sample(benchmark::State& state, sampler_params p) {
    const int64_t n_vocab = state.range(0);
    std::vector<std::vector<float>> rows;
    for (uint32_t i = 0; i < 16; ++i) rows.push_back(logits_row(n_vocab, i));
    p.seed = 42;
    sampler s = sampler::from_params(p, n_vocab);
    size_t i = 0;
    for (auto _ : state) {
        const token_id t = s.sample(rows[i++ % rows.size()]);
        s.accept(t);
        benchmark::DoNotOptimize(t);
    }
    state.counters["tokens/s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(state.iterations() * n_vocab);
}

sampler_params greedy() {
    sampler_params p;
    p.temp = 0.0f;
    return p;
}
sampler_params no_top_k() {
    sampler_params p;
    p.top_k = 0;
    return p;
}
sampler_params penalties() {
    sampler_params p;
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.1f;
    p.presence_penalty = 0.1f;
    return p;
}
sampler_params mirostat2() {
    sampler_params p;
    p.mirostat = 2;
    return p;
}
sampler_params logprobs() {
    sampler_params p;
    p.logprobs = true;
    p.n_logprobs = 5;
    return p;
}

BENCHMARK_CAPTURE(BM_sample, greedy, greedy())->Arg(32000)->Arg(151936);
BENCHMARK_CAPTURE(BM_sample, default, sampler_params{})->Arg(32000)->Arg(151936);
BENCHMARK_CAPTURE(BM_sample, no_top_k, no_top_k())->Arg(32000)->Arg(151936);
BENCHMARK_CAPTURE(BM_sample, penalties, penalties())->Arg(32000)->Arg(151936);
BENCHMARK_CAPTURE(BM_sample, mirostat2, mirostat2())->Arg(32000)->Arg(151936);
BENCHMARK_CAPTURE(BM_sample, logprobs, logprobs())->Arg(32000)->Arg(151936);

}  // namespace

BENCHMARK_MAIN();
