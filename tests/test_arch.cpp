// The architectures beyond Llama (issue 12) in a running context: Gemma 3's two cache groups
// (a ring of the window for the local layers, the whole context for the global ones) against a
// context that keeps everything, and the cache operations (shift, prefix reuse, sequences, state)
// with mixed layers.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common.hpp"
#include "ember/random_model.hpp"
#include "golden.hpp"
#include "ember/context.hpp"
#include "ember/model.hpp"

using namespace ember;

namespace {

std::shared_ptr<const model> gemma3() { return model::load(test::shared("models/synthetic-gemma3.gguf")); }

token_id argmax(std::span<const float> l) { return token_id(std::max_element(l.begin(), l.end()) - l.begin()); }

double max_diff(std::span<const float> a, std::span<const float> b) {
    REQUIRE(a.size() == b.size());
    double d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, double(std::abs(a[i] - b[i])));
    return d;
}

context_params f32_params(int64_t n_ctx, int64_t n_batch) {
    return {.n_ctx = n_ctx, .n_batch = n_batch, .n_threads = 2, .type_k = ggml_type::f32, .type_v = ggml_type::f32};
}

}  // namespace

TEST_SUITE("arch") {

// Small models of each architecture made by ember's own generator (seeded, the same on every
// platform), against llama.cpp's logits for them (tests/data/golden/*.jsonl, written by a
// llama.cpp build outside the repo with the method of ../shared/golden/README.md). phi3 has no
// shared reference model; qwen2 (tied), qwen3 (explicit key_length) and gemma3 (4 layers, window
// 16) cover shapes the shared synthetic models do not.
TEST_CASE("tiny models of every new architecture match llama.cpp") {
    for (const std::string name : {"tiny-phi3", "tiny-qwen2", "tiny-qwen3", "tiny-gemma3"}) {
        CAPTURE(name);
        const auto* preset = find_random_model_preset(name);
        REQUIRE(preset != nullptr);
        const auto path = test::tmp_dir() / (name + ".gguf");
        make_random_model(path, {.shape = preset->shape, .name = "tiny-random", .type = "F32", .seed = 0,
                                 .vocab = test::shared("models/stories260K.gguf"), .n_threads = 2});
        const auto st = test::check_golden_at(path, std::filesystem::path(EMBER_SOURCE_DIR) / "tests/data/golden" / (name + ".jsonl"), 1e-3);
        CHECK(st.argmax_checked > 0);
        std::filesystem::remove(path);
    }
}

// Phi-3 128k's longrope: a tiny phi3 with an original context of 256 in a 4096 one. llama.cpp
// takes the long factors when the context per sequence exceeds 256 (here n_ctx 512) and the short
// ones otherwise (n_ctx 256); rope.scaling.attn_factor scales both.
TEST_CASE("phi3 longrope: long and short factors match llama.cpp on each side of the original context") {
    const auto* preset = find_random_model_preset("tiny-phi3-longrope");
    REQUIRE(preset != nullptr);
    REQUIRE(preset->shape.rope_orig_ctx == 256);
    const auto path = test::tmp_dir() / "tiny-phi3-longrope.gguf";
    make_random_model(path, {.shape = preset->shape, .name = "tiny-random", .type = "F32", .seed = 0,
                             .vocab = test::shared("models/stories260K.gguf"), .n_threads = 2});
    const auto golden = std::filesystem::path(EMBER_SOURCE_DIR) / "tests/data/golden";
    for (const auto& [n_ctx, file] : {std::pair<int64_t, const char*>{512, "tiny-phi3-longrope-long.jsonl"}, {256, "tiny-phi3-longrope-short.jsonl"}}) {
        CAPTURE(n_ctx);
        const auto st = test::check_golden_at(path, golden / file, 1e-3, 2, false, n_ctx);
        CHECK(st.argmax_checked > 0);
    }
    // The factors matter: the short reference is not met with the long factors.
    const auto m = model::load(path);
    context ctx(m, f32_params(512, 64));
    const auto ref = test::load_golden_file(golden / "tiny-phi3-longrope-short.jsonl");
    REQUIRE(!ref.empty());
    std::vector<token_id> all = ref[0].prompt_tokens;
    ctx.decode(all, true);
    double max_err = 0;
    for (size_t p = 0; p < all.size(); ++p)
        for (const auto& [id, val] : ref[0].positions[p].top) max_err = std::max(max_err, std::abs(double(ctx.logits(int64_t(p))[size_t(id)]) - val));
    CHECK(max_err > 1e-2);
    std::filesystem::remove(path);
}

TEST_CASE("gemma3: the model's layers make two cache groups, global first") {
    const auto m = gemma3();
    const auto& hp = m->hparams();
    REQUIRE(hp.sliding_window == 16);
    REQUIRE(hp.layers.size() == size_t(hp.n_layer));
    // models/README.md: pattern 3, layers 0, 1, 3 local, 2 global; RoPE base 1e6 global, 1e4 local
    CHECK(hp.layers[0].window == 16);
    CHECK(hp.layers[1].window == 16);
    CHECK(hp.layers[2].window == 0);
    CHECK(hp.layers[3].window == 16);
    CHECK(hp.layers[2].rope_freq_base == 1e6f);
    CHECK(hp.layers[0].rope_freq_base == 1e4f);
    CHECK(hp.layers[2].kv_group == 0);
    CHECK(hp.layers[0].kv_group == 1);
    context ctx(m, f32_params(256, 8));
    REQUIRE(ctx.n_cache_groups() == 2);
    CHECK(ctx.cache(0).window() == 0);
    CHECK(ctx.cache(0).capacity() == 256);
    CHECK(ctx.cache(1).window() == 16);
    CHECK(ctx.cache(1).capacity() == 15 + 8);  // W - 1 positions beside a whole batch
    CHECK_THROWS_AS(ctx.cache(2), ember::error);
}

TEST_CASE("gemma3: the ring-buffer cache gives the logits of the full cache far past the window") {
    const auto m = gemma3();
    const int64_t W = m->hparams().sliding_window;
    const auto prompt = m->vocab().tokenize("Once upon a time, there was a little dog", true, false);
    const int64_t n_gen = 5 * W;  // past 4x the window

    context ring(m, f32_params(256, 8));
    auto full_p = f32_params(256, 8);
    full_p.swa_full = true;
    context full(m, full_p);
    REQUIRE(full.cache(1).capacity() == 256);

    ring.decode(prompt);
    full.decode(prompt);
    double worst = max_diff(ring.logits(), full.logits());
    const uint64_t ring_bytes = ring.cache(1).bytes(), global_bytes = ring.cache(0).bytes();
    int64_t ring_used_max = 0;
    for (int64_t i = 0; i < n_gen; ++i) {
        const token_id next = argmax(ring.logits());
        ring.decode(std::span(&next, 1));
        full.decode(std::span(&next, 1));
        worst = std::max(worst, max_diff(ring.logits(), full.logits()));
        ring_used_max = std::max(ring_used_max, ring.cache(1).used());
        REQUIRE(ring.cache(1).bytes() == ring_bytes);
    }
    const int64_t n_pos = int64_t(prompt.size()) + n_gen;
    CHECK(ring.n_past() == n_pos);
    CHECK(worst <= 1e-4);
    CHECK(ring_used_max <= ring.cache(1).capacity());
    CHECK(ring.cache(0).used() == n_pos);  // the global layers keep everything
    CHECK(full.cache(1).used() == n_pos);

    // The local group's memory does not depend on the context length; the global group's does.
    context big(m, f32_params(1024, 8));
    CHECK(big.cache(1).bytes() == ring_bytes);
    CHECK(big.cache(0).bytes() == 4 * global_bytes);
    MESSAGE(fmt::format("gemma3 window {}: {} positions, max |ring - full| {:.2e}; local layers' cache {} bytes "
                        "({} cells, at most {} in use) at n_ctx 256 and 1024, global layers' {} -> {} bytes; "
                        "swa_full local cache {} bytes",
                        W, n_pos, worst, ring_bytes, ring.cache(1).capacity(), ring_used_max, global_bytes,
                        big.cache(0).bytes(), full.cache(1).bytes()));
}

TEST_CASE("gemma3: several sequences in one batch match each run alone") {
    const auto m = gemma3();
    const auto a = m->vocab().tokenize("Once upon a time, there was a little dog named Max who liked to run", true, false);
    const auto b = m->vocab().tokenize("The sun was hot and the children played by the big blue sea all day", true, false);
    REQUIRE(a.size() > 16);
    REQUIRE(b.size() > 16);
    auto p = f32_params(128, 64);
    p.n_seq_max = 2;
    context both(m, p);
    batch bt;
    for (size_t i = 0; i < a.size(); ++i) bt.add(a[i], int32_t(i), 0, i + 1 == a.size());
    for (size_t i = 0; i < b.size(); ++i) bt.add(b[i], int32_t(i), 1, i + 1 == b.size());
    both.decode(bt);
    const std::vector<float> la(both.logits(int64_t(a.size()) - 1).begin(), both.logits(int64_t(a.size()) - 1).end());
    const std::vector<float> lb(both.logits(-1).begin(), both.logits(-1).end());
    context one(m, f32_params(128, 64));
    one.decode(a);
    CHECK(max_diff(la, one.logits()) <= 1e-4);
    one.clear();
    one.decode(b);
    CHECK(max_diff(lb, one.logits()) <= 1e-4);
}

TEST_CASE("gemma3: prefix reuse needs the ring to still hold the window before the first new token") {
    const auto m = gemma3();
    const int64_t W = m->hparams().sliding_window;
    const auto p1 = m->vocab().tokenize("Once upon a time, there was a little dog named Max who liked to run in the park", true, false);
    REQUIRE(int64_t(p1.size()) > 23 + 2);  // longer than the ring (W - 1 + n_batch = 23 cells)
    auto changed = [&](size_t at) {
        std::vector<token_id> p(p1.begin(), p1.begin() + std::ptrdiff_t(at));
        p.push_back(p1[at] == 300 ? 301 : 300);
        p.insert(p.end(), p1.begin() + std::ptrdiff_t(at) + 1, p1.end());
        return p;
    };
    auto fp = f32_params(128, 8);
    fp.swa_full = true;
    for (const size_t at : {p1.size() - 1, size_t(10)}) {
        CAPTURE(at);
        const auto p2 = changed(at);
        context ref(m, f32_params(128, 8));
        ref.decode(p2);
        context ring(m, f32_params(128, 8)), full(m, fp);
        ring.decode_prompt(p1);
        full.decode_prompt(p1);
        // The ring holds positions size-23 .. size-1: enough for a change at the end, not at 10,
        // whose window (positions 10-W+1 .. 9) has been overwritten: then everything is evaluated.
        const int64_t n_ring = ring.decode_prompt(p2);
        CHECK(n_ring == (int64_t(at) - W + 1 >= int64_t(p1.size()) - 23 ? int64_t(p2.size() - at) : int64_t(p2.size())));
        CHECK(max_diff(ring.logits(), ref.logits()) <= 1e-4);
        // Keeping the whole context (swa_full) always reuses the common prefix.
        CHECK(full.decode_prompt(p2) == int64_t(p2.size() - at));
        CHECK(max_diff(full.logits(), ref.logits()) <= 1e-4);
    }
}

TEST_CASE("gemma3: context shift moves both groups (ring and full cache agree after shifts)") {
    const auto m = gemma3();
    auto rp = f32_params(48, 8);
    rp.context_shift = true;
    rp.n_keep = 4;
    auto fp = rp;
    fp.swa_full = true;
    context ring(m, rp), full(m, fp);
    const auto prompt = m->vocab().tokenize("Once upon a time", true, false);
    ring.decode(prompt);
    full.decode(prompt);
    double worst = 0;
    for (int i = 0; i < 120; ++i) {  // 2.5x the context: several shifts
        const token_id next = argmax(ring.logits());
        ring.decode(std::span(&next, 1));
        full.decode(std::span(&next, 1));
        worst = std::max(worst, max_diff(ring.logits(), full.logits()));
    }
    CHECK(ring.cache(0).used() <= 48);
    CHECK(worst <= 1e-4);
}

TEST_CASE("gemma3: state save and restore with two cache groups continue identically") {
    const auto m = gemma3();
    const auto prompt = m->vocab().tokenize("Once upon a time, there was a little dog named Max who liked to run", true, false);
    context a(m, f32_params(128, 8));
    a.decode(prompt);
    const auto state = a.save_state();
    context b(m, f32_params(128, 8));
    b.load_state(state);
    CHECK(b.n_past() == a.n_past());
    CHECK(b.cache(1).used() == a.cache(1).used());
    for (int i = 0; i < 24; ++i) {
        const token_id next = argmax(a.logits());
        REQUIRE(argmax(b.logits()) == next);
        a.decode(std::span(&next, 1));
        b.decode(std::span(&next, 1));
        CHECK(max_diff(a.logits(), b.logits()) == 0.0);
    }
    // A context with another cache configuration refuses the state.
    context other(m, f32_params(256, 8));
    CHECK_THROWS_AS(other.load_state(state), ember::error);
    // A truncated state is refused, and leaves the context usable.
    std::vector<std::byte> cut(state.begin(), state.begin() + std::ptrdiff_t(state.size() / 2));
    context c(m, f32_params(128, 8));
    CHECK_THROWS_AS(c.load_state(cut), ember::error);
    c.decode(prompt);
    context fresh(m, f32_params(128, 8));
    fresh.decode(prompt);
    CHECK(max_diff(c.logits(), fresh.logits()) == 0.0);
}

}
