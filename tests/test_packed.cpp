// The packed (row-interleaved) Q4_K, Q2_K, Q3_K and Q6_K forms, kernels.hpp packed_kernels: packing is lossless, the
// scalar reference dot equals the row reference bit for bit, every tier's dot and gemm agree
// with it within the float rounding bound of the gemm tests, matmul runs packed weights on any
// thread count, and real Q4_K_M and Q2_K models give the same logits packed and unpacked.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common.hpp"
#include "ember/context.hpp"
#include "ember/kernels.hpp"
#include "ember/model.hpp"
#include "kernel_data.hpp"
#include "model/model_impl.hpp"
#include "runtime/ops.hpp"
#include "core/thread_pool.hpp"

using namespace ember;
using namespace ember::test::kernel_data;

namespace {

const weight_layout& layout(ggml_type t) {
    for (const auto& w : k_weights)
        if (w.type == t) return w;
    FAIL("no layout");
    return k_weights[0];
}

const ggml_type k_packed_types[] = {ggml_type::q4_K, ggml_type::q2_K, ggml_type::q3_K, ggml_type::q6_K};

struct packed_problem {
    ggml_type type;
    int64_t k, n_rows;
    std::vector<std::vector<uint8_t>> rows, act;
    std::vector<uint8_t> flat, packed, act_flat;
};

packed_problem make_problem(std::mt19937& rng, ggml_type t, int64_t k, int64_t n_rows, int64_t n_tok) {
    packed_problem p{t, k, n_rows, {}, {}, {}, {}, {}};
    for (int64_t r = 0; r < n_rows; ++r) {
        p.rows.push_back(random_weights(rng, layout(t), k));
        p.flat.insert(p.flat.end(), p.rows.back().begin(), p.rows.back().end());
    }
    for (int64_t i = 0; i < n_tok; ++i) {
        p.act.push_back(quantize_row(ggml_type::q8_K, random_activations(rng, k)));
        p.act_flat.insert(p.act_flat.end(), p.act.back().begin(), p.act.back().end());
    }
    const auto& pk = *ref(t).packed;
    const size_t gb = pk.group_bytes(k), rb = row_bytes(t, k);
    p.packed.resize(gb * size_t(n_rows / 16));
    for (int64_t g = 0; g < n_rows / 16; ++g) pk.pack(p.flat.data() + size_t(16 * g) * rb, rb, k, p.packed.data() + size_t(g) * gb);
    return p;
}

double bound(const packed_problem& p, int64_t r, int64_t t) {
    const double terms = sum_abs_terms(layout(p.type), p.rows[size_t(r)], ggml_type::q8_K, p.act[size_t(t)], p.k);
    return (double(p.k / 256) + 8) * 0x1p-23 * terms + 1e-30;
}

std::vector<std::pair<std::string, const kernels::packed_kernels*>> packed_tables(ggml_type t) {
    std::vector<std::pair<std::string, const kernels::packed_kernels*>> v = {{"scalar", ref(t).packed}};
    for (const auto& var : variants()) v.emplace_back(var.name, var.table[size_t(t)].packed);
    return v;
}

}  // namespace

TEST_SUITE("packed") {

TEST_CASE("every tier has the packed Q4_K, Q2_K, Q3_K and Q6_K forms, and the SIMD tiers run them faster (Q6_K: 512-bit)") {
    CHECK(ref(ggml_type::q4_K).packed->group_bytes(512) == 2 * sizeof(quant::block_q4_K_x16));
    CHECK(ref(ggml_type::q2_K).packed->group_bytes(512) == 2 * sizeof(quant::block_q2_K_x16));
    CHECK(ref(ggml_type::q3_K).packed->group_bytes(512) == 2 * sizeof(quant::block_q3_K_x16));
    CHECK(ref(ggml_type::q6_K).packed->group_bytes(512) == 2 * sizeof(quant::block_q6_K_x16));
    for (ggml_type t : k_packed_types) {
        CAPTURE(type_name(t));
        REQUIRE(ref(t).packed != nullptr);
        CHECK(ref(t).packed->group_bytes(256) % 64 == 0);  // vector loads within cache lines
        CHECK_FALSE(ref(t).packed->faster);
        for (const auto& v : variants()) {
            const auto* pk = v.table[size_t(t)].packed;
            CAPTURE(v.name);
            REQUIRE(pk != nullptr);
            CHECK(pk->faster == (t != ggml_type::q6_K || v.name.starts_with("avx512")));
            const bool same_layout = pk->group_bytes == ref(t).packed->group_bytes && pk->pack == ref(t).packed->pack;
            CHECK(same_layout);  // one layout everywhere
        }
    }
}

TEST_CASE("packing rows and unpacking them gives the rows back bit for bit") {
    std::mt19937 rng(5);
    for (ggml_type t : k_packed_types)
    for (int64_t k : {256, 1024}) {
        CAPTURE(type_name(t));
        const packed_problem p = make_problem(rng, t, k, 32, 0);
        const auto& pk = *ref(t).packed;
        const size_t gb = pk.group_bytes(k), rb = row_bytes(t, k);
        std::vector<uint8_t> back(p.flat.size(), 0xAB);
        for (int64_t g = 0; g < 2; ++g) pk.unpack(p.packed.data() + size_t(g) * gb, k, back.data() + size_t(16 * g) * rb, rb);
        CHECK(back == p.flat);
        // every byte of the input matters: flipping one changes the packed group
        std::vector<uint8_t> flipped = p.flat;
        for (size_t off : {size_t(0), size_t(3), size_t(4), size_t(9), size_t(15), size_t(16), size_t(70), rb * 5 + 83}) {
            flipped[off] ^= 0x41;
            std::vector<uint8_t> g2(gb);
            pk.pack(flipped.data(), rb, k, g2.data());
            CAPTURE(off);
            CHECK(std::memcmp(g2.data(), p.packed.data(), gb) != 0);
            flipped[off] ^= 0x41;
        }
    }
}

TEST_CASE("packed dot: the reference equals vec_dot exactly, every tier within the rounding bound") {
    std::mt19937 rng(7);
    for (ggml_type type : k_packed_types)
    for (int64_t k : {256, 768, 4096}) {
        const packed_problem p = make_problem(rng, type, k, 48, 3);
        const size_t gb = ref(type).packed->group_bytes(k);
        for (const auto& [name, pk] : packed_tables(type))
            for (int64_t t = 0; t < 3; ++t)
                for (int64_t g = 0; g < 3; ++g) {
                    float s[16];
                    std::fill(std::begin(s), std::end(s), -1.0f);
                    pk->dot(k, s, p.packed.data() + size_t(g) * gb, p.act[size_t(t)].data());
                    for (int r = 0; r < 16; ++r) {
                        const int64_t row = 16 * g + r;
                        const float want = run_dot(ref(type), k, p.rows[size_t(row)].data(), p.act[size_t(t)].data());
                        const std::string what = fmt::format("{} {} k={} row={} tok={}", name, type_name(type), k, row, t);
                        if (name == "scalar") {
                            CAPTURE(what);
                            CHECK(s[r] == want);
                        } else {
                            check_close(what, s[r], want, bound(p, row, t));
                        }
                    }
                }
    }
}

TEST_CASE("packed gemm on every tier agrees with the row reference for every token tail") {
    std::mt19937 rng(9);
    const int64_t k = 512, n_rows = 48;
    for (ggml_type type : k_packed_types)
    for (int64_t n_tok : {1, 2, 3, 5, 9, 13, 17}) {
        const packed_problem p = make_problem(rng, type, k, n_rows, n_tok);
        const auto& pk0 = *ref(type).packed;
        for (const auto& [name, pk] : packed_tables(type)) {
            const int64_t stride = n_rows + 5;
            std::vector<float> y(size_t(stride * n_tok), -12345.0f);
            std::vector<std::byte> work(pk->gemm_work ? pk->gemm_work(k, n_tok) + 64 : 64);
            kernels::gemm_args a;
            a.k = k;
            a.n_rows = n_rows;
            a.n_tok = n_tok;
            a.w = p.packed.data();
            a.w_row_bytes = pk0.group_bytes(k);
            a.act = p.act_flat.data();
            a.act_row_bytes = row_bytes(ggml_type::q8_K, k);
            a.y = y.data();
            a.y_stride = stride;
            a.work = work.data() + (64 - reinterpret_cast<uintptr_t>(work.data()) % 64) % 64;
            pk->gemm(a);
            for (int64_t t = 0; t < n_tok; ++t) {
                for (int64_t r = n_rows; r < stride; ++r) REQUIRE(y[size_t(t * stride + r)] == -12345.0f);
                for (int64_t r = 0; r < n_rows; ++r) {
                    const float want = run_dot(ref(type), k, p.rows[size_t(r)].data(), p.act[size_t(t)].data());
                    check_close(fmt::format("{} {} toks={} r={} t={}", name, type_name(type), n_tok, r, t), y[size_t(t * stride + r)], want,
                                bound(p, r, t));
                }
            }
        }
    }
}

TEST_CASE("matmul gives a packed weight's products on any thread count") {
    std::mt19937 rng(13);
    const int64_t k = 512, rows = 80;
    for (ggml_type type : k_packed_types) {
    CAPTURE(type_name(type));
    const packed_problem p = make_problem(rng, type, k, rows, 0);
    detail::weight plain;
    plain.type = type;
    plain.cols = k;
    plain.rows = rows;
    plain.row_bytes = row_bytes(type, k);
    plain.data = reinterpret_cast<const std::byte*>(p.flat.data());
    detail::weight packed = plain;
    packed.data = reinterpret_cast<const std::byte*>(p.packed.data());
    packed.packed = true;
    packed.group_bytes = ref(type).packed->group_bytes(k);
    for (int64_t n_tok : {1, 2, 7, 37}) {
        std::vector<float> x(size_t(n_tok * k));
        for (int64_t i = 0; i < n_tok; ++i) {
            const auto row = random_floats(rng, k, 1.0f);
            std::copy(row.begin(), row.end(), x.begin() + i * k);
        }
        std::vector<std::vector<uint8_t>> act;
        for (int64_t i = 0; i < n_tok; ++i) {
            act.emplace_back(row_bytes(ggml_type::q8_K, k));
            kernels::get(ggml_type::q8_K).from_float(x.data() + i * k, act.back().data(), k);
        }
        for (int threads : {1, 2, 3}) {
            detail::thread_pool pool(threads);
            std::vector<std::byte> scratch;
            std::vector<float> y(size_t(n_tok * rows), -1.0f);
            detail::matmul(packed, x.data(), n_tok, y.data(), pool, scratch);
            for (int64_t i = 0; i < n_tok; ++i)
                for (int64_t r = 0; r < rows; ++r) {
                    const float want = run_dot(ref(type), k, p.rows[size_t(r)].data(), act[size_t(i)].data());
                    const double b = (double(k / 256) + 8) * 0x1p-23 *
                                         sum_abs_terms(layout(type), p.rows[size_t(r)], ggml_type::q8_K, act[size_t(i)], k) +
                                     1e-30;
                    check_close(fmt::format("threads={} toks={} r={} t={}", threads, n_tok, r, i), y[size_t(i * rows + r)], want, b);
                }
        }
    }
    // get_rows cannot read a packed matrix by rows: an error, not garbage
    std::vector<float> out(static_cast<size_t>(k));
    const token_id id = 3;
    CHECK_THROWS_AS(detail::get_rows(packed, &id, 1, out.data()), ember::error);
    }
}

TEST_CASE("Q4_K_M and Q2_K models give the same logits packed and unpacked") {
    for (const char* file : {"models/shakespeare-19m-Q4_K_M.gguf", "models/shakespeare-19m-Q2_K.gguf"}) {
    CAPTURE(file);
    const auto path = test::shared(file);
    const auto packed = model::load(path, {.use_mmap = false});
    const auto plain = model::load(path, {.use_mmap = false, .repack = false});
    CHECK(packed->fingerprint() == plain->fingerprint());  // taken before packing
    const std::vector<token_id> toks = {1, 3067, 2059, 29901, 13, 4013, 338, 263, 1243, 310, 278};
    std::vector<std::vector<float>> logits;
    for (const auto& m : {packed, plain}) {
        context ctx(m, {.n_ctx = 64, .n_threads = 2});
        ctx.decode(std::span(toks).first(8), true);  // prompt: the batched product
        ctx.decode(std::span(toks).subspan(8, 1));    // then one token at a time
        ctx.decode(std::span(toks).subspan(9, 1));
        const auto l = ctx.logits(-1);
        logits.emplace_back(l.begin(), l.end());
    }
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < logits[0].size(); ++i) {
        max_diff = std::max(max_diff, double(std::abs(logits[0][i] - logits[1][i])));
        max_abs = std::max(max_abs, double(std::abs(logits[1][i])));
    }
    CAPTURE(max_diff);
    CHECK(max_abs > 1.0);
    CHECK(max_diff < 1e-3);
    }
}

}
