// KV cache: sliding window (ring buffer), context shift, sequences, prefix reuse, saved state.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common.hpp"
#include "ember/context.hpp"
#include "ember/fp16.hpp"
#include "reference_forward.hpp"

using namespace ember;

namespace {

std::shared_ptr<const model> stories() {
    static auto m = model::load(test::shared("models/stories260K.gguf"));
    return m;
}

context_params f32_params(int64_t n_ctx, int64_t window = 0, int64_t n_batch = 512) {
    context_params p;
    p.n_ctx = n_ctx;
    p.window = window;
    p.n_batch = n_batch;
    p.n_threads = 2;
    p.type_k = p.type_v = ggml_type::f32;
    return p;
}

// A deterministic token sequence: the golden prompt followed by greedy continuation.
std::vector<token_id> greedy_tokens(size_t n) {
    std::vector<token_id> toks = {1, 403, 407, 261, 378};
    context ctx(stories(), f32_params(512));
    ctx.decode(toks);
    while (toks.size() < n) {
        const auto l = ctx.logits();
        const token_id next = token_id(std::max_element(l.begin(), l.end()) - l.begin());
        toks.push_back(next);
        ctx.decode(std::span(&toks.back(), 1));
    }
    return toks;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
    return m;
}

// Logits of every position, feeding tokens in chunks of `step`.
std::vector<std::vector<float>> run_all(context& ctx, const std::vector<token_id>& toks, size_t step) {
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < toks.size(); i += step) {
        const size_t n = std::min(step, toks.size() - i);
        ctx.decode(std::span(toks).subspan(i, n), true);
        for (size_t j = 0; j < n; ++j) {
            const auto l = ctx.logits(int64_t(j));
            out.emplace_back(l.begin(), l.end());
        }
    }
    return out;
}

}  // namespace

TEST_SUITE("kv_cache") {

TEST_CASE("a window at least as long as the sequence changes nothing") {
    const auto toks = greedy_tokens(120);
    context full(stories(), f32_params(256));
    context win(stories(), f32_params(256, 128));
    const auto a = run_all(full, toks, 7);
    const auto b = run_all(win, toks, 7);
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, max_abs_diff(a[i], b[i]));
    MESSAGE("max |full - window| = " << m);
    CHECK(m <= 1e-6);
}

TEST_CASE("ring buffer wrap-around equals masked full attention") {
    const int64_t W = 32;
    const auto toks = greedy_tokens(200);
    for (size_t step : {size_t(1), size_t(13)}) {
        CAPTURE(step);
        // The ring: W + n_batch - 1 slots, reused as positions move past the window.
        context ring(stories(), f32_params(step, W, int64_t(step)));
        CHECK(ring.n_ctx() == W + int64_t(step) - 1);
        // Masked full attention: room for every token, so no slot is ever reused.
        context masked(stories(), f32_params(256, W));
        const auto a = run_all(ring, toks, step);
        const auto b = run_all(masked, toks, step);
        double m = 0;
        for (size_t i = 0; i < a.size(); ++i) m = std::max(m, max_abs_diff(a[i], b[i]));
        MESSAGE("step " << step << ": max |ring - masked| = " << m);
        // Float rounding only: batches go through the gemm kernels, single tokens through
        // vec_dot, and the two sum the same products in different orders.
        CHECK(m <= 1e-4);
        CHECK(ring.cache().used() <= ring.n_ctx());
        CHECK(ring.n_past() == 200);
    }
    // Independent check against the plain reference forward with an explicit window mask, and
    // proof that the window matters: unmasked attention gives clearly different logits.
    const test::reference_llama ref(*stories());
    const auto masked_ref = ref.forward(toks, W);
    const auto full_ref = ref.forward(toks, 0);
    context ring(stories(), f32_params(1, W, 1));
    const auto a = run_all(ring, toks, 1);
    double m_masked = 0, m_full = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        m_masked = std::max(m_masked, max_abs_diff(a[i], masked_ref[i]));
        m_full = std::max(m_full, max_abs_diff(a[i], full_ref[i]));
    }
    MESSAGE("max |ring - reference masked| = " << m_masked << ", |ring - reference unmasked| = " << m_full);
    CHECK(m_masked <= 1e-3);
    CHECK(m_full > 0.1);
}

TEST_CASE("context shift re-rotates surviving keys and keeps values") {
    const auto toks = greedy_tokens(64);
    context ctx(stories(), f32_params(64));
    ctx.decode(toks);
    const kv_cache& kv = ctx.cache();
    const int64_t nkv = kv.n_embd_kv(), n_keep = 4, n_discard = 30;
    // Values before the shift, by position.
    std::vector<std::vector<float>> v_before(64);
    for (int64_t s = 0; s < kv.capacity(); ++s) {
        const auto& c = kv.at(s);
        const auto* v = reinterpret_cast<const float*>(kv.v_row(0, s));
        v_before[size_t(c.pos)].assign(v, v + nkv);
    }
    ctx.shift(0, n_keep, n_discard);
    CHECK(ctx.n_past() == 64 - n_discard);
    CHECK(kv.used() == 64 - n_discard);

    const test::reference_llama ref(*stories());
    std::vector<std::vector<std::vector<double>>> pre_k;
    ref.forward(toks, 0, &pre_k);
    double max_err = 0;
    int checked = 0;
    for (int64_t s = 0; s < kv.capacity(); ++s) {
        const auto& c = kv.at(s);
        if (c.empty()) continue;
        const int32_t old_pos = c.pos < n_keep ? c.pos : c.pos + int32_t(n_discard);
        CHECK(c.token == toks[size_t(old_pos)]);
        for (int64_t l = 0; l < kv.n_layer(); ++l) {
            auto expect = pre_k[size_t(l)][size_t(old_pos)];
            ref.rope(expect, stories()->hparams().n_head_kv, c.pos);  // rotated directly at the new position
            const auto* k = reinterpret_cast<const float*>(kv.k_row(l, s));
            for (int64_t e = 0; e < nkv; ++e) max_err = std::max(max_err, std::abs(double(k[e]) - expect[size_t(e)]));
        }
        const auto* v = reinterpret_cast<const float*>(kv.v_row(0, s));
        CHECK(std::memcmp(v, v_before[size_t(old_pos)].data(), size_t(nkv) * sizeof(float)) == 0);
        ++checked;
    }
    MESSAGE("max |shifted key - key rotated at new position| = " << max_err << " over " << checked << " slots");
    CHECK(checked == 64 - n_discard);
    CHECK(max_err <= 1e-4);

    // Decoding continues at the new end.
    const token_id t = 261;
    ctx.decode(std::span(&t, 1));
    CHECK(ctx.n_past() == 64 - n_discard + 1);
    for (float x : ctx.logits()) REQUIRE(std::isfinite(x));
}

TEST_CASE("generation through repeated context shifts keeps producing text") {
    auto p = f32_params(64);
    p.context_shift = true;
    p.n_keep = 8;
    context ctx(stories(), p);
    std::vector<token_id> toks = {1, 403, 407, 261, 378};
    ctx.decode(toks);
    for (int i = 0; i < 4 * 64; ++i) {
        const auto l = ctx.logits();
        for (float x : l) REQUIRE(std::isfinite(x));
        const token_id next = token_id(std::max_element(l.begin(), l.end()) - l.begin());
        toks.push_back(next);
        ctx.decode(std::span(&toks.back(), 1));
        REQUIRE(ctx.n_past() <= 64);
    }
    // Distinct tokens in the last 64 versus a fresh context's first 64 greedy tokens.
    auto distinct = [](std::span<const token_id> s) {
        std::vector<token_id> v(s.begin(), s.end());
        std::sort(v.begin(), v.end());
        return std::unique(v.begin(), v.end()) - v.begin();
    };
    // The same number of greedy tokens in a context large enough to never shift.
    const auto fresh = greedy_tokens(toks.size());
    const auto d_shift = distinct(std::span(toks).last(64));
    const auto d_fresh = distinct(std::span(fresh).last(64));
    MESSAGE("distinct tokens in the last 64: " << d_shift << " (unshifted context: " << d_fresh << ")");
    CHECK(d_shift >= d_fresh / 3);
    // No collapse onto one token.
    std::vector<int> count(512);
    for (token_id t : std::span(toks).last(64)) ++count[size_t(t)];
    CHECK(*std::max_element(count.begin(), count.end()) < 32);
}

TEST_CASE("a full cache without shifting reports context_full and stays intact") {
    context ctx(stories(), f32_params(16));
    const std::vector<token_id> toks(12, 300);
    ctx.decode(toks);
    const auto before = std::vector<float>(ctx.logits().begin(), ctx.logits().end());
    const std::vector<token_id> more(8, 301);
    CHECK_THROWS_WITH_AS(ctx.decode(more), doctest::Contains("full"), error);
    try {
        ctx.decode(more);
    } catch (const error& e) {
        CHECK(e.code() == errc::context_full);
    }
    CHECK(ctx.n_past() == 12);
    CHECK(max_abs_diff(before, ctx.logits()) == 0.0);
}

TEST_CASE("prefix reuse evaluates only the new tokens and matches a cold run") {
    const auto toks = greedy_tokens(100);
    std::vector<token_id> second(toks.begin(), toks.begin() + 90);
    for (int i = 0; i < 10; ++i) second.push_back(token_id(300 + i));
    context warm(stories(), f32_params(256));
    CHECK(warm.decode_prompt(toks) == 100);
    const uint64_t before = warm.n_evaluated();
    CHECK(warm.decode_prompt(second) == 10);
    CHECK(warm.n_evaluated() - before == 10);
    context cold(stories(), f32_params(256));
    cold.decode_prompt(second);
    CHECK(max_abs_diff(warm.logits(), cold.logits()) <= 1e-6);
    // The same prompt again re-evaluates only its last token, alone: through vec_dot rather
    // than the batch's gemm, so equal up to float rounding.
    CHECK(warm.decode_prompt(second) == 1);
    CHECK(max_abs_diff(warm.logits(), cold.logits()) <= 1e-4);
}

TEST_CASE("sequences are independent and can share a prefix") {
    const auto toks = greedy_tokens(40);
    auto p = f32_params(128);
    p.n_seq_max = 2;
    context ctx(stories(), p);
    ctx.decode(std::span(toks).first(30), false, 0);
    ctx.seq_cp(0, 1);
    ctx.decode(std::span(toks).subspan(30, 10), false, 0);
    ctx.decode(std::span(toks).subspan(30, 10), false, 1);
    const std::vector<float> l1(ctx.logits().begin(), ctx.logits().end());
    context single(stories(), f32_params(128));
    single.decode(toks);
    CHECK(max_abs_diff(l1, single.logits()) <= 1e-6);
    CHECK(ctx.n_past(0) == 40);
    CHECK(ctx.n_past(1) == 40);
    ctx.seq_rm(1, 35);
    CHECK(ctx.n_past(1) == 35);
    CHECK(ctx.n_past(0) == 40);
    CHECK_THROWS_AS(ctx.decode(std::span(toks).first(2), false, 2), error);  // beyond n_seq_max
}

TEST_CASE("f16 and q8_0 caches stay close to f32") {
    const auto toks = greedy_tokens(60);
    context ref(stories(), f32_params(128));
    ref.decode(toks);
    auto p = f32_params(128);
    p.type_k = p.type_v = ggml_type::f16;
    context half(stories(), p);
    half.decode(toks);
    const double d16 = max_abs_diff(ref.logits(), half.logits());
    MESSAGE("f16 cache: max logit diff " << d16);
    CHECK(d16 < 0.05);
    CHECK(half.cache().bytes() * 2 == ref.cache().bytes());
    // stories260K's head size (8) cannot hold q8_0 blocks of 32: a clear error.
    p.type_k = ggml_type::q8_0;
    CHECK_THROWS_WITH_AS(context(stories(), p), doctest::Contains("multiple of 32"), error);
}

TEST_CASE("saved state restores into a new context with identical logits") {
    const auto toks = greedy_tokens(50);
    context a(stories(), f32_params(128));
    a.decode(std::span(toks).first(40));
    const auto state = a.save_state();
    context b(stories(), f32_params(128));
    b.load_state(state);
    CHECK(b.n_past() == 40);
    CHECK(max_abs_diff(a.logits(), b.logits()) == 0.0);
    a.decode(std::span(toks).subspan(40, 10));
    b.decode(std::span(toks).subspan(40, 10));
    CHECK(max_abs_diff(a.logits(), b.logits()) == 0.0);

    // File round trip.
    const auto path = test::tmp_dir() / "state.bin";
    a.save_state_file(path);
    context c(stories(), f32_params(128));
    c.load_state_file(path);
    CHECK(c.n_past() == 50);
}

TEST_CASE("corrupted or mismatching state files are rejected with a message") {
    const auto toks = greedy_tokens(20);
    context a(stories(), f32_params(128));
    a.decode(toks);
    const auto good = a.save_state();
    auto with = [&](auto&& edit) {
        auto s = good;
        edit(s);
        return s;
    };
    auto poke32 = [](std::vector<std::byte>& s, size_t off, uint32_t v) { std::memcpy(s.data() + off, &v, 4); };
    auto poke64 = [](std::vector<std::byte>& s, size_t off, uint64_t v) { std::memcpy(s.data() + off, &v, 8); };
    // Re-seal a modified payload so the checks behind the checksum are exercised too.
    auto reseal = [](std::vector<std::byte>& s) {
        REQUIRE(s.size() >= 8);
        const size_t body = s.size() - 8;
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < body; ++i) h = (h ^ uint64_t(s[i])) * 0x100000001b3ull;
        for (size_t i = 0; i < 8; ++i) s[body + i] = std::byte(uint8_t(h >> (8 * i)));
    };
    struct bad_case {
        const char* name;
        std::vector<std::byte> bytes;
        const char* expect;
    };
    std::vector<bad_case> cases = {
        {"empty", {}, "too short"},
        {"truncated header", std::vector<std::byte>(good.begin(), good.begin() + 20), "checksum"},
        {"truncated payload", std::vector<std::byte>(good.begin(), good.end() - 100), "checksum"},
        {"bad magic", with([&](auto& s) { poke32(s, 0, 0x12345678); }), "magic"},
        {"wrong version", with([&](auto& s) { poke32(s, 4, 99); }), "version 99"},
        {"flipped payload byte", with([&](auto& s) { s[s.size() / 2] ^= std::byte{1}; }), "checksum"},
        {"wrong model", with([&](auto& s) { poke64(s, 8, 42); reseal(s); }), "different model"},
        {"wrong cache size", with([&](auto& s) { poke64(s, 16, 64); reseal(s); }), "cache size"},
        {"wrong window", with([&](auto& s) { poke64(s, 24, 16); reseal(s); }), "window"},
        {"wrong K type", with([&](auto& s) { poke32(s, 32, 1); reseal(s); }), "cache types"},
        {"wrong layer count", with([&](auto& s) { poke32(s, 40, 9); reseal(s); }), "layer count"},
        {"wrong vocab", with([&](auto& s) { poke64(s, 56, 7); reseal(s); }), "vocabulary"},
        {"too many cells", with([&](auto& s) { poke64(s, 64, 100000); reseal(s); }), "exceed"},
        {"cell count too large for data", with([&](auto& s) { poke64(s, 64, 21); reseal(s); }), "state:"},
        {"bad cell slot", with([&](auto& s) { poke64(s, 80, 999); reseal(s); }), "slot"},
        {"bad cell token", with([&](auto& s) { poke32(s, 80 + 20, 100000); reseal(s); }), "invalid"},
        {"trailing bytes", with([&](auto& s) { s.insert(s.end() - 8, std::byte{0}); reseal(s); }), "unexpected bytes"},
    };
    context b(stories(), f32_params(128));
    b.decode(std::span(toks).first(5));
    const std::vector<float> before(b.logits().begin(), b.logits().end());
    for (const auto& c : cases) {
        CAPTURE(c.name);
        try {
            b.load_state(c.bytes);
            FAIL_CHECK("accepted a bad state");
        } catch (const error& e) {
            CHECK_MESSAGE(std::string(e.what()).find(c.expect) != std::string::npos, e.what());
        }
        // A rejected state leaves the context untouched.
        CHECK(b.n_past() == 5);
        CHECK(max_abs_diff(before, b.logits()) == 0.0);
    }
    CHECK(cases.size() >= 10);
    auto p = f32_params(128);
    p.type_k = ggml_type::f16;
    context other_type(stories(), p);
    CHECK_THROWS_WITH_AS(other_type.load_state(good), doctest::Contains("cache types"), error);
}

}
