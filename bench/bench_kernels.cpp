// Matrix × vector throughput of the kernel tiers (issue 3): for every weight type, the shapes of a
// 7B model's projections (K = 4096 → 4096, 4096 → 11008, 11008 → 4096), 1 and 2 threads, and every
// tier this CPU runs (scalar, avx2, avx2+vnni, avx512, avx512+vnni). One iteration is what
// ops.cpp's matmul does for one token: quantize the activation row to the vec-dot type, then one
// vec_dot per weight row, rows split over the threads in chunks.
//
// matvec_packed/TYPE/... is matvec with the weights row-interleaved (kernels.hpp packed_kernels).
//
// Prompt processing (issue 6): gemm/TYPE/KxN/TIER/tokens:512/threads:T multiplies 512 activation
// rows at once with the tier's gemm kernel; gemm_by_vec_dot/... is the same product as one
// vec_dot per (row, token), for comparison. items/s = multiply-adds per second.
//
// Names read matvec/TYPE/KxN/TIER/threads:T: K = 4096 or 11008 columns (the dot-product length),
// N rows. Reported: bytes/s of weight data streamed (the figure to compare with memory bandwidth and with
// llama.cpp), items/s = weight elements (multiply-adds) per second.
//
//   bench_kernels --benchmark_filter='Q4_K/4096x4096'
//
// On a shared machine, --benchmark_repetitions=5 adds a "_min" aggregate: the least disturbed
// run's time (its rate counters are the minimum rates, so divide the bytes by the time instead).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ember/fp16.hpp"
#include "ember/kernels.hpp"
#include "ember/types.hpp"
#include "kernels/table.hpp"
#include "core/thread_pool.hpp"

using namespace ember;
using kernels::isa;

namespace {

struct variant {
    std::string name;
    isa tier;
    bool vnni;
};

struct shape {
    int64_t cols, rows;
};

// Offsets of the fp16 scale fields in a block (formats.md §2), set to sane values so that the
// random quant bytes give finite results.
std::vector<size_t> scale_fields(ggml_type t) {
    switch (t) {
        case ggml_type::q4_0: case ggml_type::q5_0: case ggml_type::q8_0: return {0};
        case ggml_type::q4_1: case ggml_type::q5_1: case ggml_type::q4_K: case ggml_type::q5_K: return {0, 2};
        case ggml_type::q2_K: return {80, 82};
        case ggml_type::q3_K: return {108};
        case ggml_type::q6_K: return {208};
        default: return {};
    }
}

std::vector<uint8_t> make_weights(ggml_type t, shape s) {
    std::mt19937_64 rng(uint64_t(t) * 1000003u + uint64_t(s.rows));
    std::vector<uint8_t> w(row_bytes(t, s.cols) * size_t(s.rows));
    if (!info(t).quantized) {
        std::normal_distribution<float> normal(0.0f, 0.05f);
        std::vector<float> row(static_cast<size_t>(s.cols));
        const auto& k = kernels::get(t, isa::scalar);
        for (int64_t r = 0; r < s.rows; ++r) {
            for (auto& v : row) v = normal(rng);
            k.from_float(row.data(), w.data() + size_t(r) * row_bytes(t, s.cols), s.cols);
        }
        return w;
    }
    for (size_t i = 0; i + 8 <= w.size(); i += 8) {
        const uint64_t v = rng();
        std::memcpy(&w[i], &v, 8);
    }
    const size_t bb = info(t).block_bytes;
    const uint16_t scale = fp32_to_fp16(0.01f);
    for (size_t b = 0; b < w.size(); b += bb)
        for (size_t f : scale_fields(t)) std::memcpy(&w[b + f], &scale, 2);
    return w;
}

// The weight matrix of the running benchmark; benchmarks are registered grouped by (type, shape),
// so one matrix is alive at a time (the largest, F32 4096×11008, is 180 MB).
const std::vector<uint8_t>& weights(ggml_type t, shape s) {
    static ggml_type cur_t = ggml_type::q8_K;
    static shape cur_s{0, 0};
    static std::vector<uint8_t> cur;
    if (t != cur_t || s.cols != cur_s.cols || s.rows != cur_s.rows) {
        cur.clear();
        cur.shrink_to_fit();
        cur = make_weights(t, s);
        cur_t = t;
        cur_s = s;
    }
    return cur;
}

void matvec(benchmark::State& state, ggml_type t, shape s, variant v, int n_threads) {
    const kernels::kernel_table table = kernels::make_table(v.tier, v.vnni);
    const kernels::type_kernels& k = table[size_t(t)];
    const ggml_type act_type = k.vec_dot_type;
    const kernels::type_kernels& ka = table[size_t(act_type)];
    const auto& w = weights(t, s);
    const size_t w_row = row_bytes(t, s.cols);

    std::vector<float> x(static_cast<size_t>(s.cols)), y(static_cast<size_t>(s.rows));
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& e : x) e = normal(rng);
    std::vector<uint8_t> act(row_bytes(act_type, s.cols));
    detail::thread_pool pool(n_threads);

    for (auto _ : state) {
        const void* a = x.data();
        if (act_type != ggml_type::f32) {
            ka.from_float(x.data(), act.data(), s.cols);
            a = act.data();
        }
        pool.parallel_for(s.rows, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) k.vec_dot(s.cols, &y[size_t(r)], w.data() + size_t(r) * w_row, a);
        });
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
    state.SetItemsProcessed(int64_t(state.iterations()) * s.rows * s.cols);
}

// The same product with the weights packed (kernels.hpp packed_kernels: Q4_K, Q2_K, Q3_K, Q6_K): whole 16-row
// groups split over the threads, one packed dot per group.
void matvec_packed(benchmark::State& state, ggml_type t, shape s, variant v, int n_threads) {
    const kernels::kernel_table table = kernels::make_table(v.tier, v.vnni);
    const kernels::type_kernels& k = table[size_t(t)];
    const kernels::packed_kernels& pk = *k.packed;
    const kernels::type_kernels& ka = table[size_t(k.vec_dot_type)];
    const auto& w = weights(t, s);
    const size_t w_row = row_bytes(t, s.cols), gb = pk.group_bytes(s.cols);
    const int64_t n_groups = s.rows / kernels::k_pack_rows;
    std::vector<uint8_t> packed(gb * size_t(n_groups));
    for (int64_t g = 0; g < n_groups; ++g)
        pk.pack(w.data() + size_t(g * kernels::k_pack_rows) * w_row, w_row, s.cols, packed.data() + size_t(g) * gb);

    std::vector<float> x(static_cast<size_t>(s.cols)), y(static_cast<size_t>(s.rows));
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& e : x) e = normal(rng);
    std::vector<uint8_t> act(row_bytes(k.vec_dot_type, s.cols));
    detail::thread_pool pool(n_threads);

    for (auto _ : state) {
        ka.from_float(x.data(), act.data(), s.cols);
        pool.parallel_for(n_groups, 1, [&](int64_t g0, int64_t g1) {
            for (int64_t g = g0; g < g1; ++g)
                pk.dot(s.cols, &y[size_t(g * kernels::k_pack_rows)], packed.data() + size_t(g) * gb, act.data());
        });
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
    state.SetItemsProcessed(int64_t(state.iterations()) * s.rows * s.cols);
}

// One prompt-processing matmul: n_tok activation rows converted to the vec-dot type (and, for
// gemms that need it, prepared: gemm_prepare), split over the threads, then the tier's gemm with
// the rows split into contiguous runs of row groups, as ops.cpp's matmul does. `by_vec_dot` runs the same product as one vec_dot per (row, token),
// the way matmul multiplied batches before the gemm kernels, for comparison.
void gemm(benchmark::State& state, ggml_type t, shape s, variant v, int n_threads, int64_t n_tok, bool by_vec_dot) {
    const kernels::kernel_table table = kernels::make_table(v.tier, v.vnni);
    const kernels::type_kernels& k = table[size_t(t)];
    const ggml_type act_type = k.vec_dot_type;
    const kernels::type_kernels& ka = table[size_t(act_type)];
    const auto& w = weights(t, s);
    const size_t w_row = row_bytes(t, s.cols), act_row = row_bytes(act_type, s.cols);

    std::vector<float> x(static_cast<size_t>(s.cols * n_tok)), y(static_cast<size_t>(s.rows * n_tok));
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto& e : x) e = normal(rng);
    std::vector<uint8_t> act(act_row * size_t(n_tok));
    const size_t work = k.gemm_work ? (k.gemm_work(s.cols, n_tok) + 63) / 64 * 64 : 0;
    std::vector<uint8_t> scratch(work * size_t(n_threads) + 64);
    uint8_t* work0 = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    detail::thread_pool pool(n_threads);
    const size_t prep_row = k.gemm_prep_bytes ? k.gemm_prep_bytes(s.cols) : 0;
    std::vector<uint8_t> prep(prep_row * size_t(n_tok) + 1);

    for (auto _ : state) {
        pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) ka.from_float(x.data() + i * s.cols, act.data() + size_t(i) * act_row, s.cols);
            if (k.gemm_prepare && !by_vec_dot)
                k.gemm_prepare(act.data() + size_t(b) * act_row, act_row, e - b, s.cols, prep.data() + size_t(b) * prep_row);
        });
        if (by_vec_dot) {
            pool.parallel_for(s.rows, 16, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r)
                    for (int64_t i = 0; i < n_tok; ++i)
                        k.vec_dot(s.cols, &y[size_t(i * s.rows + r)], w.data() + size_t(r) * w_row, act.data() + size_t(i) * act_row);
            });
        } else {
            const int64_t groups = (s.rows + k.gemm_rows - 1) / k.gemm_rows;
            pool.run([&](int ith, int nth) {
                const int64_t r0 = std::min(s.rows, groups * ith / nth * k.gemm_rows);
                const int64_t r1 = std::min(s.rows, groups * (ith + 1) / nth * k.gemm_rows);
                if (r0 >= r1) return;
                kernels::gemm_args a;
                a.k = s.cols;
                a.n_rows = r1 - r0;
                a.n_tok = n_tok;
                a.w = w.data() + size_t(r0) * w_row;
                a.w_row_bytes = w_row;
                a.act = act.data();
                a.act_row_bytes = act_row;
                a.y = y.data() + r0;
                a.y_stride = s.rows;
                a.work = work0 + work * size_t(ith);
                a.prep = prep.data();
                k.gemm(a);
            });
        }
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
    state.SetItemsProcessed(int64_t(state.iterations()) * s.rows * s.cols * n_tok);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    std::vector<variant> variants = {{"scalar", isa::scalar, false}};
    for (isa i : {isa::avx2, isa::avx512}) {
        if (!kernels::isa_supported(i)) continue;
        variants.push_back({std::string(kernels::isa_name(i)), i, false});
        if (kernels::vnni_available(i)) variants.push_back({std::string(kernels::isa_name(i)) + "+vnni", i, true});
    }
    const ggml_type types[] = {ggml_type::q8_0, ggml_type::q4_0, ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1,
                               ggml_type::q2_K, ggml_type::q3_K, ggml_type::q4_K, ggml_type::q5_K, ggml_type::q6_K,
                               ggml_type::f16,  ggml_type::bf16, ggml_type::f32};
    const shape shapes[] = {{4096, 4096}, {4096, 11008}, {11008, 4096}};
    for (ggml_type t : types)
        for (shape s : shapes)
            for (const variant& v : variants)
                for (int threads : {1, 2}) {
                    const std::string name =
                        fmt::format("matvec/{}/{}x{}/{}/threads:{}", type_name(t), s.cols, s.rows, v.name, threads);
                    benchmark::RegisterBenchmark(name.c_str(), matvec, t, s, v, threads)
                        ->Unit(benchmark::kMillisecond)
                        ->UseRealTime()
                        ->ComputeStatistics("min", [](const std::vector<double>& runs) { return *std::min_element(runs.begin(), runs.end()); });
                }
    // The packed types row-interleaved, against the rows above; 4096x128 (at most 295 KB) stays
    // in L2, so it measures the arithmetic alone.
    for (ggml_type t : {ggml_type::q4_K, ggml_type::q2_K, ggml_type::q3_K, ggml_type::q6_K})
    for (shape s : {shape{4096, 128}, shapes[0], shapes[1], shapes[2]})
        for (const variant& v : variants)
            for (int threads : {1, 2})
                for (bool packed : {false, true}) {
                    if (!packed && s.rows != 128) continue;  // registered above
                    const std::string name = fmt::format("{}/{}/{}x{}/{}/threads:{}", packed ? "matvec_packed" : "matvec", type_name(t),
                                                         s.cols, s.rows, v.name, threads);
                    benchmark::RegisterBenchmark(name.c_str(), packed ? matvec_packed : matvec, t, s, v, threads)
                        ->Unit(benchmark::kMillisecond)
                        ->UseRealTime()
                        ->ComputeStatistics("min", [](const std::vector<double>& runs) { return *std::min_element(runs.begin(), runs.end()); });
                }
    // Prompt processing: 512 tokens through the 7B projections (items/s = multiply-adds per second).
    for (ggml_type t : types)
        for (shape s : {shape{4096, 4096}, shape{4096, 11008}})
            for (const variant& v : variants)
                for (int threads : {1, 2})
                    for (bool by_vec_dot : {false, true}) {
                        if (v.tier == isa::scalar && !by_vec_dot) continue;  // the scalar gemm is the vec_dot loop
                        const std::string name = fmt::format("{}/{}/{}x{}/{}/tokens:512/threads:{}", by_vec_dot ? "gemm_by_vec_dot" : "gemm",
                                                             type_name(t), s.cols, s.rows, v.name, threads);
                        benchmark::RegisterBenchmark(name.c_str(), gemm, t, s, v, threads, int64_t(512), by_vec_dot)
                            ->Unit(benchmark::kMillisecond)
                            ->UseRealTime()
                            ->ComputeStatistics("min", [](const std::vector<double>& runs) { return *std::min_element(runs.begin(), runs.end()); });
                    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
