// Attention over an f16 KV cache in the TinyLlama-1.1B shape (32 query heads, 4 KV heads, head
// size 64), for one layer:
//
//   BM_attn_token/N/T    one generated token attending to N cached positions, on T threads, split
//                        as the decoder splits it (KV head × part of its query-head group)
//   BM_attn_prompt/N/T   a prompt of N tokens attending causally to itself (the attention part of
//                        ppN), split over tokens × KV heads
//   BM_attn_slotwise/N   the previous implementation for comparison: per head, a vec_dot per cache
//                        slot, a score buffer as long as the context, scalar exp and accumulation
//
// Counters: keys/s (query-head × key pairs per second) and, for one token, the KV bytes read per
// second (each KV row is read once per task). Multiply the per-call time by 22 layers for a
// TinyLlama token. Run: build/bench/bench_attention --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "runtime/attention.hpp"
#include "ember/fp16.hpp"
#include "ember/kernels.hpp"
#include "core/thread_pool.hpp"

namespace {

using namespace ember;
using detail::attn_rows;
using detail::k_attn_tile;

constexpr int64_t n_head = 32, n_head_kv = 4, hd = 64, group = n_head / n_head_kv;

struct cache {
    std::vector<uint16_t> k, v;  // (n_ctx, n_head_kv * hd)
    std::vector<float> q;        // (n_tok, n_head * hd)
    std::vector<int32_t> idx;    // 0..n_ctx-1: slots in position order
    explicit cache(int64_t n_ctx, int64_t n_tok) {
        std::mt19937 rng(1);
        std::normal_distribution<float> nd;
        k.resize(size_t(n_ctx * n_head_kv * hd));
        v.resize(k.size());
        q.resize(size_t(n_tok * n_head * hd));
        for (auto& x : k) x = fp32_to_fp16(nd(rng));
        for (auto& x : v) x = fp32_to_fp16(nd(rng));
        for (auto& x : q) x = nd(rng);
        idx.resize(size_t(n_ctx));
        for (int32_t i = 0; i < int32_t(n_ctx); ++i) idx[size_t(i)] = i;
    }
};

struct work {
    std::vector<float> buf;
    explicit work(int n_threads) : buf(size_t(n_threads) * size_t(2 * group + group * hd + group * k_attn_tile + 2 * k_attn_tile * hd)) {}
    attn_rows rows(int tid, const float* q, int64_t n_rows) {
        float* w = buf.data() + size_t(tid) * size_t(2 * group + group * hd + group * k_attn_tile + 2 * k_attn_tile * hd);
        attn_rows r{q, n_rows, hd, 1.0f / std::sqrt(float(hd)), w, w + group, w + 2 * group, w + 2 * group + group * hd,
                    w + 2 * group + group * hd + group * k_attn_tile};
        std::fill(r.m, r.m + n_rows, -INFINITY);
        std::fill(r.l, r.l + n_rows, 0.0f);
        std::fill(r.acc, r.acc + n_rows * hd, 0.0f);
        return r;
    }
};

// Query rows [h0, h1) of one token against keys [0, n_keys) of KV head g.
void attend_group(const detail::attention_kernels& ak, attn_rows& r, const cache& c, int64_t g, int64_t n_keys, float* out) {
    const int64_t stride = n_head_kv * hd;
    for (int64_t j0 = 0; j0 < n_keys; j0 += k_attn_tile)
        ak.attend_f16(r, c.k.data() + g * hd, stride, c.v.data() + g * hd, stride, c.idx.data() + j0, std::min(k_attn_tile, n_keys - j0));
    for (int64_t i = 0; i < r.n_rows * hd; ++i) out[i] = r.acc[i] / r.l[i / hd];
}

void BM_attn_token(benchmark::State& state) {
    const int64_t n_ctx = state.range(0);
    const int n_threads = int(state.range(1));
    cache c(n_ctx, 1);
    detail::thread_pool pool(n_threads);
    work w(n_threads);
    std::vector<float> out(size_t(n_head * hd));
    const auto& ak = detail::attention_kernels_active();
    const int64_t n_sub = std::min<int64_t>(group, std::max<int64_t>(1, (4 * n_threads + n_head_kv - 1) / n_head_kv));
    const int64_t per_sub = (group + n_sub - 1) / n_sub;
    for (auto _ : state) {
        pool.run_tasks(n_head_kv * n_sub, [&](int64_t task, int tid) {
            const int64_t g = task / n_sub, h0 = g * group + task % n_sub * per_sub;
            const int64_t h1 = std::min(h0 + per_sub, (g + 1) * group);
            attn_rows r = w.rows(tid, c.q.data() + h0 * hd, h1 - h0);
            attend_group(ak, r, c, g, n_ctx, out.data() + h0 * hd);
        });
    }
    benchmark::DoNotOptimize(out.data());
    state.counters["keys/s"] = benchmark::Counter(double(n_head * n_ctx), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["KV GB/s"] = benchmark::Counter(double(n_sub * n_head_kv * n_ctx * hd * 2 * 2) / 1e9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_attn_token)->ArgsProduct({{512, 2048, 4096}, {1, 2}})->UseRealTime();

void BM_attn_prompt(benchmark::State& state) {
    const int64_t n = state.range(0);
    const int n_threads = int(state.range(1));
    cache c(n, n);
    detail::thread_pool pool(n_threads);
    work w(n_threads);
    std::vector<float> out(size_t(n * n_head * hd));
    const auto& ak = detail::attention_kernels_active();
    for (auto _ : state) {
        pool.run_tasks(n * n_head_kv, [&](int64_t task, int tid) {
            const int64_t t = task / n_head_kv, g = task % n_head_kv;
            attn_rows r = w.rows(tid, c.q.data() + (t * n_head + g * group) * hd, group);
            attend_group(ak, r, c, g, t + 1, out.data() + (t * n_head + g * group) * hd);
        });
    }
    benchmark::DoNotOptimize(out.data());
    state.counters["keys/s"] = benchmark::Counter(double(n_head * n * (n + 1) / 2), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_attn_prompt)->ArgsProduct({{512, 2048}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);

// The slot-by-slot loop this replaced (one token, one thread).
void BM_attn_slotwise(benchmark::State& state) {
    const int64_t n_ctx = state.range(0);
    cache c(n_ctx, 1);
    const auto& kk = kernels::get(ggml_type::f16);
    const auto& kq = kernels::get(kk.vec_dot_type);
    std::vector<float> scores(static_cast<size_t>(n_ctx)), vtmp(static_cast<size_t>(hd)), out(static_cast<size_t>(n_head * hd));
    std::vector<uint16_t> qc(static_cast<size_t>(hd));
    const float scale = 1.0f / std::sqrt(float(hd));
    for (auto _ : state) {
        for (int64_t h = 0; h < n_head; ++h) {
            const int64_t g = h / group;
            const float* qh = c.q.data() + h * hd;
            const void* qd = qh;
            if (kk.vec_dot_type != ggml_type::f32) {
                kq.from_float(qh, qc.data(), hd);
                qd = qc.data();
            }
            float mx = -INFINITY;
            for (int64_t s = 0; s < n_ctx; ++s) {
                float dot;
                kk.vec_dot(hd, &dot, c.k.data() + (s * n_head_kv + g) * hd, qd);
                scores[size_t(s)] = dot * scale;
                mx = std::max(mx, scores[size_t(s)]);
            }
            double sum = 0;
            for (auto& x : scores) sum += (x = std::exp(x - mx));
            float* o = out.data() + h * hd;
            std::fill(o, o + hd, 0.0f);
            for (int64_t s = 0; s < n_ctx; ++s) {
                kk.to_float(c.v.data() + (s * n_head_kv + g) * hd, vtmp.data(), hd);
                const float wgt = float(scores[size_t(s)] / sum);
                for (int64_t d = 0; d < hd; ++d) o[d] += wgt * vtmp[size_t(d)];
            }
        }
    }
    benchmark::DoNotOptimize(out.data());
    state.counters["keys/s"] = benchmark::Counter(double(n_head * n_ctx), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_attn_slotwise)->Arg(512)->Arg(2048)->Arg(4096)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
