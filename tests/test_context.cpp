// Context behaviour: cancellation, argument validation, memory accounting.
#include <atomic>
#include <thread>

#include "common.hpp"
#include "ember/context.hpp"

using namespace ember;

namespace {
std::shared_ptr<const model> stories() {
    static auto m = model::load(test::shared("models/stories260K.gguf"));
    return m;
}
}  // namespace

TEST_SUITE("context") {

TEST_CASE("abort cancels the next decode and leaves the cache untouched") {
    context ctx(stories(), {.n_ctx = 128, .n_threads = 2});
    const std::vector<token_id> toks = {1, 403, 407, 261};
    ctx.decode(toks);
    ctx.abort();
    try {
        ctx.decode(toks);
        FAIL("expected cancellation");
    } catch (const error& e) {
        CHECK(e.code() == errc::cancelled);
    }
    CHECK(ctx.n_past() == 4);
    CHECK(ctx.cache().used() == 4);
    ctx.decode(toks);  // the request was consumed
    CHECK(ctx.n_past() == 8);
}

TEST_CASE("abort from another thread stops a running decode") {
    const auto big = model::load(test::shared("models/shakespeare-19m-F32.gguf"));
    context ctx(big, {.n_ctx = 256, .n_threads = 1});
    std::vector<token_id> toks(255, 450);
    toks[0] = 1;
    std::atomic<bool> started{false};
    std::thread killer([&] {
        while (!started.load()) std::this_thread::yield();
        ctx.abort();
    });
    started.store(true);
    bool cancelled = false;
    try {
        ctx.decode(toks);  // long enough that the abort lands while it runs
    } catch (const error& e) {
        cancelled = e.code() == errc::cancelled;
    }
    killer.join();
    if (!cancelled) {  // the decode won the race: the request cancels the next one instead
        try {
            ctx.decode(std::span(toks).first(1));
        } catch (const error& e) {
            cancelled = e.code() == errc::cancelled;
        }
    }
    CHECK(cancelled);
}

TEST_CASE("bad arguments are errors, not crashes") {
    CHECK_THROWS_AS(context(nullptr, {}), error);
    CHECK_THROWS_AS(context(stories(), {.n_ctx = -1}), error);
    CHECK_THROWS_AS(context(stories(), {.n_batch = 0}), error);
    CHECK_THROWS_AS(context(stories(), {.n_threads = -3}), error);
    CHECK_THROWS_AS(context(stories(), {.n_seq_max = 65}), error);
    CHECK_THROWS_AS(context(stories(), {.type_k = ggml_type::q4_K}), error);
    context ctx(stories(), {.n_ctx = 32});
    CHECK_THROWS_AS(ctx.logits(), error);  // nothing decoded yet
    const std::vector<token_id> bad = {1, 512};
    CHECK_THROWS_WITH_AS(ctx.decode(bad), doctest::Contains("outside the vocabulary"), error);
    const std::vector<token_id> neg = {-1};
    CHECK_THROWS_AS(ctx.decode(neg), error);
    CHECK_THROWS_AS(ctx.decode(std::span<const token_id>{}), error);
    CHECK(ctx.n_past() == 0);
    ctx.decode(std::vector<token_id>{1, 2, 3}, true);
    CHECK_THROWS_AS(ctx.logits(3), error);
    CHECK(ctx.logits(2).size() == 512);
    CHECK_THROWS_AS(ctx.shift(0, 0, 10), error);  // more than is cached
}

TEST_CASE("memory accounting reports weights, cache and scratch") {
    context ctx(stories(), {.n_ctx = 256, .type_k = ggml_type::f32, .type_v = ggml_type::f32});
    ctx.decode(std::vector<token_id>{1, 403, 407});
    const auto mem = ctx.memory();
    const auto& hp = stories()->hparams();
    CHECK(mem.weights == stories()->weight_bytes());
    CHECK(mem.kv_cache == uint64_t(2 * 256 * hp.n_layer * hp.n_embd_kv() * 4));
    CHECK(mem.scratch > 0);
}

}
