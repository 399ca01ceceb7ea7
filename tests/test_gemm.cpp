// The batched products (kernels.hpp gemm_fn) against a loop over the reference vec_dot, on every
// tier this CPU runs (with and without VNNI): every weight type, row counts that leave partial
// row groups, token counts that leave every tail of the token loop, y rows wider than the
// matrix (y_stride), and the seeded random data of the vec_dot harness (extreme scales, zero
// blocks, max-magnitude quants). Also ops.cpp's matmul and matmul_group, which split the work
// over threads.
//
// Error bound per output, as for vec_dot: the integer part of every quantized kernel is exact,
// so only the float rounding of the per-block scale products and of the accumulation over the
// blocks of one row differ: |gemm - ref| ≤ (chain + 8)·2^-23 · Σ|terms|.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common.hpp"
#include "ember/kernels.hpp"
#include "kernel_data.hpp"
#include "runtime/ops.hpp"
#include "core/thread_pool.hpp"

using namespace ember;
using namespace ember::test::kernel_data;

namespace {

struct problem {
    ggml_type type;
    int64_t k, n_rows, n_tok;
    std::vector<std::vector<uint8_t>> w, act;  // one vector per row / token
    std::vector<uint8_t> w_flat, act_flat;

    size_t w_row() const { return row_bytes(type, k); }
    size_t act_row() const { return row_bytes(ref(type).vec_dot_type, k); }
    void flatten() {
        for (const auto& r : w) w_flat.insert(w_flat.end(), r.begin(), r.end());
        for (const auto& r : act) act_flat.insert(act_flat.end(), r.begin(), r.end());
    }
};

const weight_layout& layout_of(ggml_type t) {
    for (const auto& w : k_weights)
        if (w.type == t) return w;
    FAIL("no layout for " << type_name(t));
    return k_weights[0];
}

problem random_problem(std::mt19937& rng, ggml_type t, int64_t k, int64_t n_rows, int64_t n_tok) {
    problem p{t, k, n_rows, n_tok, {}, {}, {}, {}};
    const ggml_type act = ref(t).vec_dot_type;
    for (int64_t r = 0; r < n_rows; ++r) {
        if (info(t).quantized) p.w.push_back(random_weights(rng, layout_of(t), k));
        else p.w.push_back(quantize_row(t, random_floats(rng, k, r % 5 == 4 ? 1e-3f : 1.0f)));
    }
    for (int64_t i = 0; i < n_tok; ++i) {
        if (info(t).quantized) p.act.push_back(quantize_row(act, random_activations(rng, k)));
        else p.act.push_back(quantize_row(act, random_floats(rng, k, i % 4 == 3 ? 300.0f : 1.0f)));
    }
    p.flatten();
    return p;
}

// Runs k.gemm with y rows `extra` floats wider than n_rows, filled with a sentinel that must
// survive.
std::vector<float> run_gemm(const kernels::type_kernels& k, const problem& p, int64_t extra) {
    const int64_t stride = p.n_rows + extra;
    std::vector<float> y(size_t(stride * p.n_tok), -12345.0f);
    std::vector<std::byte> work(k.gemm_work ? k.gemm_work(p.k, p.n_tok) + 64 : 64);
    void* aligned = work.data() + (64 - reinterpret_cast<uintptr_t>(work.data()) % 64) % 64;
    kernels::gemm_args a;
    a.k = p.k;
    a.n_rows = p.n_rows;
    a.n_tok = p.n_tok;
    a.w = p.w_flat.data();
    a.w_row_bytes = p.w_row();
    a.act = p.act_flat.data();
    a.act_row_bytes = p.act_row();
    a.y = y.data();
    a.y_stride = stride;
    a.work = aligned;
    std::vector<std::byte> prep(k.gemm_prep_bytes ? k.gemm_prep_bytes(p.k) * size_t(p.n_tok) : 0);
    if (k.gemm_prepare) {
        k.gemm_prepare(a.act, a.act_row_bytes, p.n_tok, p.k, prep.data());
        a.prep = prep.data();
    }
    k.gemm(a);
    for (int64_t t = 0; t < p.n_tok; ++t)
        for (int64_t r = p.n_rows; r < stride; ++r) REQUIRE(y[size_t(t * stride + r)] == -12345.0f);
    return y;
}

double terms(const problem& p, int64_t r, int64_t t) {
    if (info(p.type).quantized) return sum_abs_terms(layout_of(p.type), p.w[size_t(r)], ref(p.type).vec_dot_type, p.act[size_t(t)], p.k);
    const auto x = dequantize(p.type, p.w[size_t(r)], p.k), y = dequantize(p.type, p.act[size_t(t)], p.k);
    double s = 0;
    for (int64_t e = 0; e < p.k; ++e) s += std::abs(x[size_t(e)] * y[size_t(e)]);
    return s;
}

// Each tier's gemm against the reference vec_dot, output by output.
void check_problem(const problem& p, bool exact) {
    const int64_t bs = info(p.type).block_size;
    // quantized kernels chain one FMA per block in a lane; float kernels one per element
    const double chain = double(bs > 1 ? p.k / bs : p.k);
    std::vector<float> expect(size_t(p.n_rows * p.n_tok));
    for (int64_t t = 0; t < p.n_tok; ++t)
        for (int64_t r = 0; r < p.n_rows; ++r)
            expect[size_t(t * p.n_rows + r)] = run_dot(ref(p.type), p.k, p.w[size_t(r)].data(), p.act[size_t(t)].data());
    std::vector<std::pair<std::string, const kernels::type_kernels*>> tables = {{"scalar", &ref(p.type)}};
    for (const auto& v : variants()) tables.emplace_back(v.name, &v.table[size_t(p.type)]);
    for (const auto& [name, k] : tables) {
        const auto y = run_gemm(*k, p, 3);
        for (int64_t t = 0; t < p.n_tok; ++t)
            for (int64_t r = 0; r < p.n_rows; ++r) {
                const float got = y[size_t(t * (p.n_rows + 3) + r)], want = expect[size_t(t * p.n_rows + r)];
                const std::string what = fmt::format("{} {} k={} rows={} toks={} r={} t={}", name, type_name(p.type), p.k, p.n_rows,
                                                     p.n_tok, r, t);
                if (exact) {
                    CAPTURE(what);
                    CHECK(got == want);
                } else {
                    check_close(what, got, want, (chain + 8) * 0x1p-23 * terms(p, r, t) + 1e-30);
                }
            }
    }
}

const ggml_type k_gemm_types[] = {ggml_type::q8_0, ggml_type::q2_K, ggml_type::q3_K, ggml_type::q4_K, ggml_type::q5_K,
                                  ggml_type::q6_K, ggml_type::f16,  ggml_type::f32,  ggml_type::bf16, ggml_type::q4_0,
                                  ggml_type::q4_1, ggml_type::q5_0, ggml_type::q5_1};

}  // namespace

TEST_SUITE("gemm") {

TEST_CASE("every type with a vec_dot has a gemm on every tier") {
    std::vector<std::pair<std::string, const kernels::kernel_table*>> tables = {{"scalar", &reference()}};
    for (const auto& v : variants()) tables.emplace_back(v.name, &v.table);
    for (const auto& [name, table] : tables) {
        CAPTURE(name);
        for (size_t t = 0; t < kernels::k_type_slots; ++t) {
            const auto& k = (*table)[t];
            CHECK((k.gemm != nullptr) == (k.vec_dot != nullptr));
            CHECK(k.gemm_rows >= 1);
            CHECK(k.gemm_min_tok >= 1);
        }
    }
    // the types of the common model files have their own kernels, not the loop over vec_dot
    for (const auto& v : variants())
        for (ggml_type t : {ggml_type::q8_0, ggml_type::q2_K, ggml_type::q3_K, ggml_type::q4_K, ggml_type::q5_K, ggml_type::q6_K,
                            ggml_type::f16, ggml_type::f32}) {
            CAPTURE(v.name);
            CAPTURE(type_name(t));
            CHECK(reinterpret_cast<void*>(v.table[size_t(t)].gemm) != reinterpret_cast<void*>(ref(t).gemm));
        }
}

TEST_CASE("gemm agrees with vec_dot for every type, shape and tail") {
    std::mt19937 rng(2024);
    for (ggml_type t : k_gemm_types) {
        const int64_t bs = info(t).block_size;
        const std::vector<int64_t> ks = bs == 256 ? std::vector<int64_t>{256, 768} : bs == 32 ? std::vector<int64_t>{32, 96, 352}
                                                                                              : std::vector<int64_t>{1, 7, 64, 100};
        for (int64_t k : ks)
            for (auto [rows, toks] : {std::pair{1, 1}, {5, 3}, {16, 8}, {17, 9}, {33, 15}, {8, 4}, {24, 2}})
                check_problem(random_problem(rng, t, k, rows, toks), false);
    }
}

TEST_CASE("gemm agrees with vec_dot on model-sized float problems (several column chunks, many row groups)") {
    // stories260K's shapes: k = 64 and 172 (more than one column chunk), up to 512 rows, a prompt of 10.
    std::mt19937 rng(5);
    for (ggml_type t : {ggml_type::f32, ggml_type::f16, ggml_type::bf16})
        for (auto [k, rows] : {std::pair<int64_t, int64_t>{64, 512}, {172, 64}, {64, 172}, {300, 97}, {1000, 40}})
            for (int64_t toks : {10, 13, 40})
                check_problem(random_problem(rng, t, k, rows, toks), false);
}

TEST_CASE("gemm is exact when every sum is a small integer") {
    // Unit scales and activation quants in -15..15 (as in the vec_dot harness): every partial sum
    // is an integer below 2^24, so every summation order gives the reference's value.
    std::mt19937 rng(77);
    for (const auto& w : k_weights) {
        const ggml_type act = ref(w.type).vec_dot_type;
        const int64_t k = 3 * info(w.type).block_size;
        problem p{w.type, k, 19, 11, {}, {}, {}, {}};
        for (int64_t r = 0; r < p.n_rows; ++r) {
            auto wb = random_weights(rng, w, k);
            for (size_t b = 0; b < wb.size(); b += info(w.type).block_bytes) {
                for (size_t f : w.d_fields) set_half(wb, b + f, 1.0f);
                for (size_t f : w.m_fields) set_half(wb, b + f, r % 2 ? 1.0f : -2.0f);
            }
            p.w.push_back(wb);
        }
        for (int64_t i = 0; i < p.n_tok; ++i) p.act.push_back(unit_activations(rng, act, k));
        p.flatten();
        bool small = true;
        for (int64_t r = 0; r < p.n_rows; ++r)
            for (int64_t i = 0; i < p.n_tok; ++i) small = small && terms(p, r, i) < 0x1p24;
        REQUIRE(small);
        check_problem(p, true);
    }
}

TEST_CASE("matmul splits rows and tokens over threads without changing results") {
    // ops.cpp's matmul against the reference loop, for batch sizes on both sides of the gemm
    // threshold and thread counts that leave uneven shares.
    std::mt19937 rng(11);
    for (auto [t, rows] : {std::pair{ggml_type::q4_K, int64_t(83)}, {ggml_type::q6_K, int64_t(83)}, {ggml_type::q8_0, int64_t(83)},
                           {ggml_type::f16, int64_t(83)}, {ggml_type::q4_K, int64_t(517)}, {ggml_type::q8_0, int64_t(1031)}}) {
        const int64_t k = 512;
        problem p = random_problem(rng, t, k, rows, 0);
        detail::weight w;
        w.type = t;
        w.cols = k;
        w.rows = rows;
        w.row_bytes = p.w_row();
        w.data = reinterpret_cast<const std::byte*>(p.w_flat.data());
        for (int64_t n_tok : {1, 2, 5, 37}) {
            std::vector<float> x(size_t(n_tok * k));
            for (int64_t i = 0; i < n_tok; ++i) {
                const auto row = random_floats(rng, k, 1.0f);
                std::copy(row.begin(), row.end(), x.begin() + i * k);
            }
            // the reference: activations converted as matmul converts them, one vec_dot per output
            const auto& kk = kernels::get(t);
            const auto& ka = kernels::get(kk.vec_dot_type);
            const size_t arow = row_bytes(kk.vec_dot_type, k);
            p.act.clear();
            for (int64_t i = 0; i < n_tok; ++i) {
                p.act.emplace_back(arow);
                ka.from_float(x.data() + i * k, p.act.back().data(), k);
            }
            for (int threads : {1, 2, 3}) {
                detail::thread_pool pool(threads);
                std::vector<std::byte> scratch;
                std::vector<float> y(size_t(n_tok * rows), -1.0f);
                detail::matmul(w, x.data(), n_tok, y.data(), pool, scratch);
                for (int64_t i = 0; i < n_tok; ++i)
                    for (int64_t r = 0; r < rows; ++r) {
                        const float want = run_dot(kk, k, w.row(r), p.act[size_t(i)].data());
                        const double bound = (double(k) + 8) * 0x1p-23 * terms(p, r, i) + 1e-30;
                        CAPTURE(type_name(t));
                        CAPTURE(n_tok);
                        CAPTURE(threads);
                        CAPTURE(r);
                        CAPTURE(i);
                        CHECK(std::abs(y[size_t(i * rows + r)] - want) <= bound);
                    }
            }
        }
    }
}

TEST_CASE("matmul_group gives each product what matmul gives it alone") {
    // Products of one activation batch through weights of different types, sharing converted
    // activations (q4_K and q6_K: Q8_K; q8_0 twice: Q8_0 and its gemm preparation; f32 none)
    // and one pool operation; every output must equal that of matmul on the weight alone, bit for
    // bit, whatever the split over threads.
    std::mt19937 rng(23);
    const int64_t k = 512;
    struct spec {
        ggml_type t;
        int64_t rows;
    };
    const std::vector<std::vector<spec>> groups = {
        {{ggml_type::q4_K, 300}, {ggml_type::q4_K, 40}, {ggml_type::q6_K, 40}},
        {{ggml_type::q8_0, 96}, {ggml_type::q8_0, 17}},
        {{ggml_type::f32, 33}, {ggml_type::q8_0, 70}, {ggml_type::q2_K, 64}, {ggml_type::f16, 5}},
    };
    for (const auto& g : groups) {
        std::vector<problem> probs;
        std::vector<detail::weight> ws;
        for (const spec& sp : g) probs.push_back(random_problem(rng, sp.t, k, sp.rows, 0));
        for (const problem& p : probs) {
            detail::weight w;
            w.type = p.type;
            w.cols = k;
            w.rows = p.n_rows;
            w.row_bytes = p.w_row();
            w.data = reinterpret_cast<const std::byte*>(p.w_flat.data());
            ws.push_back(w);
        }
        for (int64_t n_tok : {1, 3, 8, 37}) {
            std::vector<float> x(size_t(n_tok * k));
            for (int64_t i = 0; i < n_tok; ++i) {
                const auto row = random_floats(rng, k, 1.0f);
                std::copy(row.begin(), row.end(), x.begin() + i * k);
            }
            for (int threads : {1, 2, 3}) {
                detail::thread_pool pool(threads);
                std::vector<std::byte> scratch;
                std::vector<std::vector<float>> alone, grouped;
                std::vector<detail::matmul_out> outs;
                for (const auto& w : ws) {
                    alone.emplace_back(size_t(n_tok * w.rows), -1.0f);
                    grouped.emplace_back(size_t(n_tok * w.rows), -2.0f);
                    detail::matmul(w, x.data(), n_tok, alone.back().data(), pool, scratch);
                }
                for (size_t i = 0; i < ws.size(); ++i) outs.push_back({&ws[i], grouped[i].data()});
                detail::matmul_group(outs.data(), outs.size(), x.data(), n_tok, pool, scratch);
                for (size_t i = 0; i < ws.size(); ++i) {
                    CAPTURE(type_name(ws[i].type));
                    CAPTURE(n_tok);
                    CAPTURE(threads);
                    CHECK(std::memcmp(alone[i].data(), grouped[i].data(), alone[i].size() * sizeof(float)) == 0);
                }
            }
        }
    }
    // Products of activations of different widths cannot share them.
    problem a = random_problem(rng, ggml_type::q8_0, 512, 16, 0), b = random_problem(rng, ggml_type::q8_0, 256, 16, 0);
    detail::weight wa, wb;
    for (auto [w, p] : {std::pair{&wa, &a}, {&wb, &b}}) {
        w->type = p->type;
        w->cols = p->k;
        w->rows = p->n_rows;
        w->row_bytes = p->w_row();
        w->data = reinterpret_cast<const std::byte*>(p->w_flat.data());
    }
    std::vector<float> x(512 * 4), ya(16 * 4), yb(16 * 4);
    detail::thread_pool pool(2);
    std::vector<std::byte> scratch;
    const detail::matmul_out outs[] = {{&wa, ya.data()}, {&wb, yb.data()}};
    CHECK_THROWS_WITH_AS(detail::matmul_group(outs, 2, x.data(), 4, pool, scratch), doctest::Contains("columns"), ember::error);
}

}  // TEST_SUITE
