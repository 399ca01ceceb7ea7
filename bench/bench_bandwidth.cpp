// Memory read-bandwidth probe: a streaming sum over a buffer far larger than the caches, with
// the widest loads the CPU has, on 1 and 2 threads. Generation speed is bounded by this figure
// (every weight byte is read once per token), so ember bench reports generation as a fraction
// of it. Run: build/bench/bench_bandwidth --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "ember/kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

constexpr size_t k_buffer_bytes = size_t(2) << 30;  // 2 GiB, as the reference probe

uint64_t* buffer() {
    static uint64_t* buf = [] {
        auto* p = static_cast<uint64_t*>(std::aligned_alloc(4096, k_buffer_bytes));
        // Touch every page with non-zero data so reads hit real memory, not the zero page.
        for (size_t i = 0; i < k_buffer_bytes / 8; ++i) p[i] = i * 0x9e3779b97f4a7c15ull;
        return p;
    }();
    return buf;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint64_t* p, size_t n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 32) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
    }
    alignas(64) uint64_t t[8];
    _mm512_store_si512(t, _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint64_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
    }
    alignas(32) uint64_t t[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    return t[0] + t[1] + t[2] + t[3];
}
#endif

uint64_t sum_scalar(const uint64_t* p, size_t n) {
    uint64_t a = 0;
    for (size_t i = 0; i < n; ++i) a += p[i];
    return a;
}

uint64_t sum_widest(const uint64_t* p, size_t n) {
#if defined(__x86_64__)
    if (ember::kernels::cpu().avx512f) return sum_avx512(p, n);
    if (ember::kernels::cpu().avx2) return sum_avx2(p, n);
#endif
    return sum_scalar(p, n);
}

void BM_read_bandwidth(benchmark::State& state) {
    const int n_threads = int(state.range(0));
    uint64_t* p = buffer();
    const size_t n = k_buffer_bytes / 8;
    std::vector<uint64_t> sums(static_cast<size_t>(n_threads));
    for (auto _ : state) {
        std::vector<std::thread> th;
        for (int t = 0; t < n_threads; ++t)
            th.emplace_back([&, t] {
                const size_t b = n * size_t(t) / size_t(n_threads) / 32 * 32, e = n * size_t(t + 1) / size_t(n_threads) / 32 * 32;
                sums[size_t(t)] = sum_widest(p + b, e - b);
            });
        for (auto& t : th) t.join();
        benchmark::DoNotOptimize(sums.data());
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(k_buffer_bytes));
    state.counters["GB/s"] = benchmark::Counter(double(k_buffer_bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_read_bandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
