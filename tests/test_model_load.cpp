// Model loading validates what the container reader cannot: architecture, hyperparameters,
// tokenizer arrays, special ids, and every tensor's presence, shape and type.
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "broken_gguf.hpp"
#include "common.hpp"
#include "ember/context.hpp"
#include "ember/model.hpp"

using namespace ember;
using namespace ember::test;

namespace {

std::filesystem::path write_model(const std::string& name, const std::vector<std::byte>& bytes) {
    const auto p = tmp_dir() / name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    return p;
}

}  // namespace

TEST_SUITE("model_load") {

TEST_CASE("the tiny synthetic llama loads and runs") {
    const auto path = write_model("tiny-llama.gguf", tiny_llama_gguf());
    const auto m = model::load(path);
    CHECK(m->hparams().n_layer == 2);
    CHECK(m->hparams().n_embd == 32);
    context ctx(m, {.n_ctx = 16});
    ctx.decode(std::vector<token_id>{1, 5, 7});
    for (float x : ctx.logits()) CHECK(std::isfinite(x));
}

TEST_CASE("the tiny qwen2, qwen3, gemma3 and phi3 models (the broken classes' bases) load and run") {
    for (const std::string arch : {"qwen2", "qwen3", "gemma3", "phi3"}) {
        CAPTURE(arch);
        const auto m = model::load(write_model("tiny-" + arch + ".gguf", tiny_arch_gguf(arch)));
        CHECK(m->hparams().arch == arch);
        context ctx(m, {.n_ctx = 32});
        ctx.decode(std::vector<token_id>{1, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 4, 6, 8});
        for (float x : ctx.logits()) REQUIRE(std::isfinite(x));
        CHECK(ctx.n_cache_groups() == (arch == "gemma3" ? 2 : 1));
    }
}

TEST_CASE("every model-level broken class is rejected by model loading with a clear message") {
    size_t n = 0;
    for (const auto& c : broken_cases()) {
        if (c.level != broken_level::model) continue;
        CAPTURE(c.name);
        const auto f = make_broken(c.kind);
        const auto path = write_model(std::string("broken-model-") + std::string(c.name) + ".gguf", f.bytes);
        (void)gguf_file::open(path);  // a valid container
        for (bool mmap : {true, false}) {
            try {
                (void)model::load(path, {.use_mmap = mmap});
                FAIL_CHECK("loaded a broken model");
            } catch (const error& e) {
                const std::string msg = e.what();
                CAPTURE(msg);
                CHECK((e.code() == errc::bad_file || e.code() == errc::unsupported));
                CHECK(msg.find(path.string()) != std::string::npos);
                CHECK(msg.find('\n') == std::string::npos);
                for (const auto& s : f.expect) CHECK_MESSAGE(msg.find(s) != std::string::npos, "missing '" << s << "'");
                if (mmap && std::getenv("EMBER_SHOW_ERRORS")) MESSAGE(msg);
            }
        }
        ++n;
    }
    CHECK(n >= 38);
}

TEST_CASE("a tensor type ember cannot compute is named in the error") {
    // The F32 model's token_embd re-labelled as an IQ2_XXS-sized tensor would be a different
    // size; instead take a real tensor and rewrite the writer's type for a whole tiny model.
    const auto base = gguf_file::parse(tiny_llama_gguf(), "tiny");
    gguf_writer w;
    w.copy_metadata(base);
    for (const auto& t : base.tensors()) {
        const std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
        if (t.name == "blk.0.attn_q.weight") {
            // 32 columns of I8 weights: a valid GGUF type with no matrix kernel.
            std::vector<std::byte> bytes(size_t(t.nelements()));
            w.add_tensor_copy(t.name, ggml_type::i8, ne, bytes);
        } else {
            w.add_tensor(t.name, t.type, ne, {t.data, t.nbytes});
        }
    }
    const auto path = write_model("tiny-i8.gguf", w.write_to_memory());
    CHECK_THROWS_WITH_AS(model::load(path), doctest::Contains("unsupported type I8 for tensor 'blk.0.attn_q.weight'"), error);
}

TEST_CASE("unset and out-of-range optional special ids are tolerated") {
    // stories260K has padding_token_id = 0xFFFFFFFF (unset).
    std::vector<std::string> warnings;
    model_params p;
    p.log = [&](log_level, std::string_view m) { warnings.emplace_back(m); };
    const auto m = model::load(shared("models/stories260K.gguf"), p);
    CHECK(m->vocab().pad() == -1);
    CHECK(m->vocab().bos() == 1);
    // An optional id far out of range: ignored with a warning.
    const auto base = gguf_file::parse(tiny_llama_gguf(), "tiny");
    gguf_writer w;
    w.copy_metadata(base);
    w.set_u32("tokenizer.ggml.padding_token_id", 1000);
    for (const auto& t : base.tensors()) w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), {t.data, t.nbytes});
    const auto path = write_model("tiny-pad.gguf", w.write_to_memory());
    warnings.clear();
    const auto m2 = model::load(path, p);
    CHECK(m2->vocab().pad() == -1);
    REQUIRE(!warnings.empty());
    CHECK(warnings[0].find("padding") != std::string::npos);
}

TEST_CASE("missing files and non-GGUF files") {
    CHECK_THROWS_WITH_AS(model::load("/nonexistent/model.gguf"), doctest::Contains("/nonexistent/model.gguf"), error);
    try {
        (void)model::load("/nonexistent/model.gguf");
    } catch (const error& e) {
        CHECK(e.code() == errc::file_not_found);
    }
    CHECK_THROWS_WITH_AS(model::load(shared("text/shakespeare-eval.txt")), doctest::Contains("not a GGUF file"), error);
    // A vocabulary-only file is a valid container but not a model.
    CHECK_THROWS_AS(model::load(shared("vocab/ggml-vocab-llama-spm.gguf")), error);
}

}
