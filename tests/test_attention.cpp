// Attention: the SIMD tile kernels against the scalar reference, and the whole forward pass at
// long contexts against the plain reference forward (tests/reference_forward.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "runtime/attention.hpp"
#include "common.hpp"
#include "ember/context.hpp"
#include "ember/fp16.hpp"
#include "reference_forward.hpp"

using namespace ember;
using detail::attn_rows;
using detail::k_attn_tile;

namespace {

struct attn_case {
    int64_t rows, head_dim, n_keys, n_tiles;
};

// Runs n_tiles tiles of n_keys keys each (keys gathered through a shuffled index list) through
// one kernel set and returns the normalised outputs (rows, head_dim).
template <class T>
std::vector<float> run_tiles(const detail::attention_kernels& ak, const attn_case& c, const std::vector<float>& q,
                             const std::vector<T>& k, const std::vector<T>& v, int64_t stride, const std::vector<int32_t>& idx,
                             bool with_tile = false) {
    std::vector<float> m(size_t(c.rows), -INFINITY), l(size_t(c.rows), 0.0f), acc(size_t(c.rows * c.head_dim), 0.0f);
    std::vector<float> scores(size_t(c.rows * k_attn_tile)), tile(size_t(2 * k_attn_tile * c.head_dim));
    attn_rows r{q.data(), c.rows, c.head_dim, 1.0f / std::sqrt(float(c.head_dim)), m.data(), l.data(), acc.data(), scores.data(),
                with_tile ? tile.data() : nullptr};
    for (int64_t t = 0; t < c.n_tiles; ++t) {
        const int32_t* ix = idx.data() + t * c.n_keys;
        if constexpr (sizeof(T) == 4) ak.attend_f32(r, k.data(), stride, v.data(), stride, ix, c.n_keys);
        else ak.attend_f16(r, k.data(), stride, v.data(), stride, ix, c.n_keys);
    }
    for (int64_t i = 0; i < c.rows; ++i)
        for (int64_t d = 0; d < c.head_dim; ++d) acc[size_t(i * c.head_dim + d)] /= l[size_t(i)];
    return acc;
}

// The exact softmax-weighted sum in double, for the same keys.
std::vector<double> exact(const attn_case& c, const std::vector<float>& q, const std::vector<float>& kf, const std::vector<float>& vf,
                          int64_t stride, const std::vector<int32_t>& idx) {
    const int64_t n = c.n_keys * c.n_tiles;
    std::vector<double> out(size_t(c.rows * c.head_dim), 0.0);
    for (int64_t i = 0; i < c.rows; ++i) {
        std::vector<double> s(static_cast<size_t>(n));
        for (int64_t j = 0; j < n; ++j) {
            double dot = 0;
            for (int64_t d = 0; d < c.head_dim; ++d) dot += double(q[size_t(i * c.head_dim + d)]) * kf[size_t(idx[size_t(j)] * stride + d)];
            s[size_t(j)] = dot / std::sqrt(double(c.head_dim));
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (double& z : s) sum += (z = std::exp(z - mx));
        for (int64_t j = 0; j < n; ++j)
            for (int64_t d = 0; d < c.head_dim; ++d)
                out[size_t(i * c.head_dim + d)] += s[size_t(j)] / sum * vf[size_t(idx[size_t(j)] * stride + d)];
    }
    return out;
}

}  // namespace

TEST_SUITE("attention") {

TEST_CASE("tile kernels of every ISA match the scalar reference and the exact softmax") {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const attn_case cases[] = {{8, 64, 64, 3}, {1, 64, 1, 1}, {4, 128, 37, 2}, {3, 48, 20, 2}, {2, 256, 64, 2}, {1, 80, 64, 1}, {5, 32, 9, 4}};
    for (const auto& c : cases) {
        const int64_t stride = c.head_dim * 3;  // rows of the other heads in between
        const int64_t n_slots = c.n_keys * c.n_tiles + 5;
        std::vector<float> q(size_t(c.rows * c.head_dim)), kf(size_t(n_slots * stride)), vf(kf.size());
        // Large query norms make the softmax peaked, as in real models: the running max matters.
        for (auto& x : q) x = 3.0f * nd(rng);
        for (auto& x : kf) x = nd(rng);
        for (auto& x : vf) x = nd(rng);
        std::vector<uint16_t> kh(kf.size()), vh(vf.size());
        for (size_t i = 0; i < kf.size(); ++i) {
            kh[i] = fp32_to_fp16(kf[i]);
            vh[i] = fp32_to_fp16(vf[i]);
            kf[i] = fp16_to_fp32(kh[i]);  // the same values in both forms
            vf[i] = fp16_to_fp32(vh[i]);
        }
        std::vector<int32_t> idx(static_cast<size_t>(n_slots));
        for (int32_t i = 0; i < int32_t(n_slots); ++i) idx[size_t(i)] = i;
        std::shuffle(idx.begin(), idx.end(), rng);

        const auto& ref = detail::attention_kernels_for(kernels::isa::scalar);
        const auto want = exact(c, q, kf, vf, stride, idx);
        const auto ref32 = run_tiles(ref, c, q, kf, vf, stride, idx);
        const auto ref16 = run_tiles(ref, c, q, kh, vh, stride, idx);
        double e_ref = 0;
        for (size_t i = 0; i < want.size(); ++i)
            e_ref = std::max({e_ref, std::abs(ref32[i] - want[i]), std::abs(ref16[i] - want[i])});
        CAPTURE(c.rows);
        CAPTURE(c.head_dim);
        CAPTURE(c.n_keys);
        CHECK(e_ref < 1e-5);
        for (kernels::isa i : {kernels::isa::avx2, kernels::isa::avx512}) {
            if (!kernels::isa_supported(i)) continue;
            const auto& ak = detail::attention_kernels_for(i);
            const auto o32 = run_tiles(ak, c, q, kf, vf, stride, idx);
            const auto o16 = run_tiles(ak, c, q, kh, vh, stride, idx);
            const auto o16t = run_tiles(ak, c, q, kh, vh, stride, idx, true);  // f16 tile converted once for all rows
            double e = 0;
            for (size_t j = 0; j < want.size(); ++j)
                e = std::max({e, double(std::abs(o32[j] - ref32[j])), double(std::abs(o16[j] - ref16[j])), double(std::abs(o16t[j] - ref16[j]))});
            MESSAGE(fmt::format("{} rows {} head_dim {} keys {}x{}: max |simd - scalar| {:.2e}", kernels::isa_name(i), c.rows,
                                c.head_dim, c.n_tiles, c.n_keys, e));
            CHECK(e < 1e-5);
        }
    }
}

TEST_CASE("silu_mul of every ISA matches the scalar reference, including the tails and extremes") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> ud(-30.0f, 30.0f);
    for (int64_t n : {1, 7, 16, 33, 1000}) {
        std::vector<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n));
        for (auto& x : g) x = ud(rng);
        for (auto& x : u) x = ud(rng);
        g[0] = -100.0f;  // e^100 overflows unless clamped
        if (n > 1) g[1] = 100.0f;
        auto want = g;
        detail::silu_mul_ref(want.data(), u.data(), n);
        for (kernels::isa i : {kernels::isa::avx2, kernels::isa::avx512}) {
            if (!kernels::isa_supported(i)) continue;
            auto got = g;
            detail::attention_kernels_for(i).silu_mul(got.data(), u.data(), n);
            double e = 0;
            for (size_t j = 0; j < got.size(); ++j) e = std::max(e, double(std::abs(got[j] - want[j])) / (1.0 + std::abs(want[j])));
            CAPTURE(n);
            CHECK(std::isfinite(got[0]));
            CHECK(e < 1e-6);
        }
    }
}

TEST_CASE("long contexts match the plain reference forward, one token at a time and in batches") {
    // stories260K (head size 8: the scalar kernels) fills 480 of its 512-token training context;
    // shakespeare-19m (head size 64: the SIMD kernels) 250 of 256. Both are well past one attention
    // tile (64 keys), so every head group reads its keys through several tiles.
    struct model_case {
        const char* file;
        size_t n_tok;
        int64_t n_ctx;
    };
    for (const auto& mc : {model_case{"models/stories260K.gguf", 480, 512}, model_case{"models/shakespeare-19m-F32.gguf", 250, 256}}) {
        const auto m = model::load(test::shared(mc.file));
        std::mt19937 rng(11);
        std::vector<token_id> toks(mc.n_tok);
        for (auto& t : toks) t = token_id(rng() % uint32_t(m->hparams().n_vocab));
        toks[0] = 1;
        const test::reference_llama ref(*m);
        const auto want = ref.forward(toks);
        for (int64_t n_batch : {int64_t(1), int64_t(100), int64_t(512)}) {
            for (int n_threads : {1, 2}) {
                context ctx(m, {.n_ctx = mc.n_ctx, .n_batch = n_batch, .n_threads = n_threads, .type_k = ggml_type::f32, .type_v = ggml_type::f32});
                double e = 0;
                for (size_t i = 0; i < toks.size(); i += size_t(n_batch)) {
                    const size_t n = std::min(size_t(n_batch), toks.size() - i);
                    ctx.decode(std::span(toks).subspan(i, n), true);
                    for (size_t j = 0; j < n; ++j) {
                        const auto l = ctx.logits(int64_t(j));
                        for (size_t v = 0; v < l.size(); ++v) e = std::max(e, double(std::abs(l[v] - want[i + j][v])));
                    }
                }
                MESSAGE(std::string(mc.file) << ": n_batch " << n_batch << ", " << n_threads << " threads: max |logit - reference| over " << mc.n_tok
                                << " positions = " << e);
                CHECK(e < 1e-3);
            }
        }
    }
}

}

TEST_CASE("a batch of two interleaved sequences equals each sequence decoded alone") {
    // Prompt attention groups consecutive tokens of one sequence into blocks that share key
    // tiles: tokens of two sequences alternating in one batch (and some of the second sequence's
    // positions left to the end, out of order) must each see exactly their own sequence's
    // earlier positions. shakespeare-19m: head size 64, the SIMD kernels.
    const auto m = model::load(test::shared("models/shakespeare-19m-F32.gguf"));
    std::mt19937 rng(5);
    std::vector<token_id> a(150), b(97);
    for (auto& t : a) t = token_id(rng() % uint32_t(m->hparams().n_vocab));
    for (auto& t : b) t = token_id(rng() % uint32_t(m->hparams().n_vocab));
    const context_params p{.n_ctx = 256, .n_batch = 512, .n_threads = 2, .n_seq_max = 2, .type_k = ggml_type::f16, .type_v = ggml_type::f16};
    context mixed(m, p);
    batch bt;
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        // runs of 1..3 tokens of each sequence in turn
        if (i < a.size()) bt.add(a[i], int32_t(i), 0, true);
        if (i < b.size() && i % 3 != 2) bt.add(b[i], int32_t(i), 1, true);
    }
    for (size_t i = 0; i < b.size(); ++i)
        if (i % 3 == 2) bt.add(b[i], int32_t(i), 1, true);  // left out above: positions out of order
    mixed.decode(bt);
    for (int s : {0, 1}) {
        const auto& toks = s == 0 ? a : b;
        context alone(m, {.n_ctx = 256, .n_batch = 512, .n_threads = 1, .type_k = ggml_type::f16, .type_v = ggml_type::f16});
        alone.decode(toks, true);
        double e = 0;
        for (size_t r = 0; r < bt.size(); ++r) {
            if (bt.seq[r] != s) continue;
            const auto want = alone.logits(int64_t(bt.pos[r]));
            const auto got = mixed.logits(int64_t(r));
            for (size_t v = 0; v < want.size(); ++v) e = std::max(e, double(std::abs(got[v] - want[v])));
        }
        MESSAGE("sequence " << s << ": max |interleaved - alone| = " << e);
        CHECK(e < 1e-3);
    }
}
