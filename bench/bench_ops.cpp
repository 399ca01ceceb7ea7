// The per-token steps between the weight products, in TinyLlama-1.1B and Llama-7B sizes:
//
//   BM_rms_norm/N        y = x / rms(x) * w over N floats
//   BM_rope/H/D          RoPE (llama's adjacent-pair rotation) of H heads of size D at a position
//   BM_swiglu/N          g = silu(g) * u over N floats (scalar reference and the active tier's kernel)
//   BM_softmax/N         a numerically stable softmax over N floats (the sampler's first step)
//
// Counters: elements/s and bytes/s (what the step reads and writes). Run:
//   build/bench/bench_ops --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/attention.hpp"
#include "ember/kernels.hpp"
#include "runtime/ops.hpp"

namespace {

using namespace ember;

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

void BM_rms_norm(benchmark::State& state) {
    const int64_t n = state.range(0);
    const auto x = random_floats(size_t(n), 1), w = random_floats(size_t(n), 2);
    std::vector<float> y(static_cast<size_t>(n));
    for (auto _ : state) {
        detail::rms_norm(x.data(), w.data(), y.data(), n, 1e-5f);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.SetBytesProcessed(state.iterations() * n * 3 * int64_t(sizeof(float)));
}
BENCHMARK(BM_rms_norm)->Arg(2048)->Arg(4096);

void BM_rope(benchmark::State& state) {
    const int64_t heads = state.range(0), hd = state.range(1);
    auto v = random_floats(size_t(heads * hd), 3);
    int32_t pos = 0;
    const detail::rope_spec spec{hd, 10000.0f, 1.0f, rope_type::norm, nullptr};
    for (auto _ : state) {
        detail::rope(spec, v.data(), heads, hd, pos);
        pos = (pos + 1) & 4095;  // keep the values bounded: rotations only
        benchmark::DoNotOptimize(v.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * heads * hd);
    state.SetBytesProcessed(state.iterations() * heads * hd * 2 * int64_t(sizeof(float)));
}
BENCHMARK(BM_rope)->Args({32, 64})->Args({4, 64})->Args({32, 128});

void BM_swiglu(benchmark::State& state, bool reference) {
    const int64_t n = state.range(0);
    const auto g0 = random_floats(size_t(n), 4, 3.0f), u = random_floats(size_t(n), 5);
    std::vector<float> g(g0);
    const auto& ak = reference ? detail::attention_kernels_for(kernels::isa::scalar) : detail::attention_kernels_active();
    for (auto _ : state) {
        state.PauseTiming();
        g = g0;
        state.ResumeTiming();
        ak.silu_mul(g.data(), u.data(), n);
        benchmark::DoNotOptimize(g.data());
        benchmark::ClobberMemory();
    }
    state.SetLabel(reference ? std::string("scalar") : std::string(kernels::isa_name(kernels::active_isa())));
    state.SetItemsProcessed(state.iterations() * n);
    state.SetBytesProcessed(state.iterations() * n * 3 * int64_t(sizeof(float)));
}
BENCHMARK_CAPTURE(BM_swiglu, reference, true)->Arg(5632)->Arg(11008);
BENCHMARK_CAPTURE(BM_swiglu, active, false)->Arg(5632)->Arg(11008);

void BM_softmax(benchmark::State& state) {
    const int64_t n = state.range(0);
    const auto x0 = random_floats(size_t(n), 6, 4.0f);
    std::vector<float> x(x0);
    for (auto _ : state) {
        state.PauseTiming();
        x = x0;
        state.ResumeTiming();
        detail::softmax(x.data(), n);
        benchmark::DoNotOptimize(x.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.SetBytesProcessed(state.iterations() * n * 2 * int64_t(sizeof(float)));
}
BENCHMARK(BM_softmax)->Arg(32000)->Arg(151936);

}  // namespace

BENCHMARK_MAIN();
