// Cost of the thread pool's synchronisation: an empty job per pool.run (the fixed overhead every
// parallel operation of a forward pass pays), and a parallel_for over a tiny range split into
// chunks. A forward pass of a 22-layer model makes about 8 pool.run calls per layer and token,
// so at 50 tokens/s one microsecond per call is ~1 % of the time.
//
// Run: build/bench/bench_threads --benchmark_min_time=0.5
// On a loaded machine the 2-thread figures spread widely; compare medians of repetitions
// (--benchmark_repetitions=5 --benchmark_report_aggregates_only=true).
#include <benchmark/benchmark.h>

#include <atomic>

#include "core/thread_pool.hpp"

namespace {

using ember::detail::thread_pool;

void BM_run_empty(benchmark::State& state) {
    thread_pool pool(int(state.range(0)));
    std::atomic<int> sink{0};
    for (auto _ : state) pool.run([&](int ith, int) { if (ith < 0) sink.fetch_add(1); });
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_run_empty)->Arg(1)->Arg(2)->UseRealTime();

// Back-to-back calls separated by a little serial work on the caller (as between the matmuls of
// a layer): the workers must still be spinning, not asleep, when the next call comes.
void BM_run_with_gap(benchmark::State& state) {
    thread_pool pool(int(state.range(0)));
    const int gap = int(state.range(1));
    volatile float x = 1.0f;
    for (auto _ : state) {
        pool.run([&](int, int) {});
        for (int i = 0; i < gap; ++i) x = x * 1.0000001f;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_run_with_gap)->Args({1, 1000})->Args({2, 1000})->Args({2, 10000})->UseRealTime();

// A parallel_for whose chunks do a fixed amount of work each: how close two threads get to
// twice the throughput of one when the work per call is small (a per-token matvec is ~10-100 µs).
void BM_parallel_for_work(benchmark::State& state) {
    thread_pool pool(int(state.range(0)));
    const int64_t n = state.range(1);
    std::vector<float> v(size_t(n), 1.0f);
    for (auto _ : state) {
        pool.parallel_for(n, 16, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                float s = v[size_t(i)];
                for (int k = 0; k < 64; ++k) s = s * 0.999f + 0.001f;
                v[size_t(i)] = s;
            }
        });
    }
    benchmark::DoNotOptimize(v.data());
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_parallel_for_work)->Args({1, 2048})->Args({2, 2048})->Args({1, 32768})->Args({2, 32768})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
