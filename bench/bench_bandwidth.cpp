// Memory read-bandwidth probe: a streaming sum over a 2 GiB buffer, far larger than the caches,
// with the widest loads the CPU has, on 1 and 2 threads, over 4 KiB pages and over huge pages.
// Generation speed is bounded by this figure (every weight byte is read once per token), so
// bench/README.md states generation as a fraction of it (of the higher, huge-page figure). Run: build/bench/bench_bandwidth --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <thread>
#include <vector>

#include "ember/kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

constexpr size_t k_buffer_bytes = size_t(2) << 30;  // 2 GiB, as the reference probe
constexpr size_t k_huge = size_t(2) << 20;

// The buffer on ordinary 4 KiB pages (as a mapped model file), or on 2 MiB-aligned memory marked
// for transparent huge pages (as a model read with use_mmap = false): fewer TLB misses, so a
// higher figure when the kernel grants the huge pages.
uint64_t* make_buffer(bool huge) {
    void* m = ::mmap(nullptr, k_buffer_bytes + k_huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    auto* p = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(m) + k_huge - 1) / k_huge * k_huge);
    ::madvise(p, k_buffer_bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    // Touch every page with non-zero data so reads hit real memory, not the zero page.
    for (size_t i = 0; i < k_buffer_bytes / 8; ++i) p[i] = i * 0x9e3779b97f4a7c15ull;
    return p;
}

uint64_t* buffer(bool huge) {
    static uint64_t* small = nullptr;
    static uint64_t* large = nullptr;
    uint64_t*& b = huge ? large : small;
    if (!b) b = make_buffer(huge);
    return b;
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

void BM_read_bandwidth(benchmark::State& state, bool huge) {
    const int n_threads = int(state.range(0));
    uint64_t* p = buffer(huge);
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
BENCHMARK_CAPTURE(BM_read_bandwidth, 4k_pages, false)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(BM_read_bandwidth, huge_pages, true)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
