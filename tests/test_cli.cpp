// The ember program, run as a user runs it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli.hpp"
#include "golden.hpp"

using namespace ember;
using test::run_cli;

namespace {
std::string model_path(const std::string& name) { return test::shared("models/" + name).string(); }
}  // namespace

TEST_SUITE("cli") {

TEST_CASE("ember run prints exactly llama.cpp's greedy continuation") {
    for (const auto& [file, golden] : {std::pair{"stories260K.gguf", "stories260K.jsonl"},
                                       std::pair{"shakespeare-19m-F32.gguf", "shakespeare-19m-F32.jsonl"}}) {
        const auto prompts = test::load_golden(golden);
        const auto& g = prompts.front();
        const auto r = run_cli({"run", "-m", model_path(file), "-p", g.prompt, "-n", std::to_string(g.generated.size()), "--temp", "0",
                                "--cache-type-k", "f32", "--cache-type-v", "f32"});
        CAPTURE(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out == g.generated_text);
    }
}

TEST_CASE("greedy output does not depend on the thread count; a seed reproduces sampled text") {
    const std::string m = model_path("shakespeare-19m-Q8_0.gguf");
    const auto t1 = run_cli({"run", "-m", m, "-p", "KING HENRY VI:", "-n", "40", "--temp", "0", "-t", "1"});
    const auto t2 = run_cli({"run", "-m", m, "-p", "KING HENRY VI:", "-n", "40", "--temp", "0", "-t", "2"});
    CHECK(t1.exit_code == 0);
    CHECK(!t1.out.empty());
    CHECK(t1.out == t2.out);
    const auto s1 = run_cli({"run", "-m", m, "-p", "KING HENRY VI:", "-n", "40", "--seed", "7", "--temp", "0.8"});
    const auto s2 = run_cli({"run", "-m", m, "-p", "KING HENRY VI:", "-n", "40", "--seed", "7", "--temp", "0.8", "-t", "1"});
    const auto s3 = run_cli({"run", "-m", m, "-p", "KING HENRY VI:", "-n", "40", "--seed", "8", "--temp", "0.8"});
    CHECK(s1.exit_code == 0);
    CHECK(s1.out == s2.out);
    CHECK(s1.out != s3.out);
    CHECK(s1.out != t1.out);
}

TEST_CASE("ember run: sliding window and context shift generate past the context") {
    const std::string m = model_path("stories260K.gguf");
    const auto w = run_cli({"run", "-m", m, "-p", "Once upon a time", "-n", "300", "-c", "64", "--window", "32", "--temp", "0"});
    CHECK(w.exit_code == 0);
    CHECK(w.err.find("token limit") != std::string::npos);
    const auto s = run_cli({"run", "-m", m, "-p", "Once upon a time", "-n", "300", "-c", "64", "--keep", "4", "--temp", "0"});
    CHECK(s.exit_code == 0);
    CHECK(s.err.find("token limit") != std::string::npos);
    const auto full = run_cli({"run", "-m", m, "-p", "Once upon a time", "-n", "300", "-c", "64", "--no-context-shift", "--temp", "0"});
    CHECK(full.exit_code == 0);
    CHECK(full.err.find("context full") != std::string::npos);
}

TEST_CASE("ember run: memory stays flat over long generations (window and context shift)") {
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer keeps freed blocks in a quarantine and maps shadow memory as they are
    // touched: the resident size is then the sanitizer's, not ember's. The Release run checks it.
    MESSAGE("built with AddressSanitizer: peak RSS is not ember's own; not measured");
    return;
#endif
    if (!std::filesystem::exists("/usr/bin/time")) {
        MESSAGE("/usr/bin/time is not installed; peak RSS cannot be measured");
        return;
    }
    const std::string m = model_path("shakespeare-19m-Q4_K_M.gguf");
    auto peak_kb = [&](int n, const std::string& mode, const std::string& value) {
        // --no-mmap: the weights are read into memory up front. With a mapping, the embedding rows of
        // tokens not seen yet fault in as generation goes on (MAP_POPULATE is best effort and does
        // nothing on some filesystems), which would show as growth that is not the KV cache's.
        const auto r = run_cli({"run", "-m", m, "--no-mmap", "-p", "ROMEO:", "-n", std::to_string(n), "-c", "256", mode, value,
                                "--temp", "0.8", "--seed", "1"},
                               "/usr/bin/time -f 'peak_kb=%M'");
        CHECK(r.exit_code == 0);
        CHECK(r.err.find("generated " + std::to_string(n) + " tokens") != std::string::npos);
        const auto at = r.err.rfind("peak_kb=");
        REQUIRE(at != std::string::npos);
        return std::stod(r.err.substr(at + 8));
    };
    for (const auto& [mode, value] : {std::pair{"--window", "128"}, std::pair{"--keep", "16"}}) {
        const double short_run = peak_kb(300, mode, value), long_run = peak_kb(2000, mode, value);
        MESSAGE(std::string(mode) << " " << std::string(value) << ": peak RSS " << short_run << " KB at -n 300, " << long_run << " KB at -n 2000");
        CHECK(long_run <= short_run * 1.02);
    }
}

TEST_CASE("ember run: logprobs file, saved state, verbose memory report") {
    const std::string m = model_path("stories260K.gguf");
    const auto lp = test::tmp_dir() / "logprobs.jsonl";
    const auto r = run_cli({"run", "-m", m, "-p", "Once upon a time", "-n", "8", "--temp", "0", "--logprobs", "3", "--logprobs-file",
                            lp.string(), "-v"});
    CHECK(r.exit_code == 0);
    std::ifstream in(lp);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        const auto j = test::json::parse(line);
        CHECK(j["logprob"].num <= 0.0);
        CHECK(j["entropy"].num >= 0.0);
        CHECK(j["top"].size() == 3);
        CHECK(j["top"][0][0].as_int() == j["token"].as_int());  // greedy picks the most likely
        ++n;
    }
    CHECK(n == 8);
    CHECK(r.err.find("KV cache") != std::string::npos);
    CHECK(r.err.find("sampler") != std::string::npos);

    const auto st = test::tmp_dir() / "cli_state.bin";
    const auto a = run_cli({"run", "-m", m, "-p", "Once upon a time", "-n", "4", "--temp", "0", "--save-state", st.string()});
    CHECK(a.exit_code == 0);
    const auto b = run_cli({"run", "-m", m, "-p", "Once upon a time", "-n", "4", "--temp", "0", "--load-state", st.string()});
    CHECK(b.exit_code == 0);
    CHECK(a.out == b.out);
    CHECK(b.err.find("(1 evaluated)") != std::string::npos);  // the cached prompt was reused
}

TEST_CASE("ember perplexity: the sliding-window ring buffer equals masked attention") {
    const std::string m = model_path("stories260K.gguf");
    const std::string text = test::shared("text/shakespeare-eval.txt").string();
    auto ppl = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = {"perplexity", "-m", m, "-f", text, "-c", "128", "--chunks", "6", "--cache-type-k", "f32",
                                         "--cache-type-v", "f32"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = run_cli(args);
        CAPTURE(r.err);
        REQUIRE(r.exit_code == 0);
        const auto at = r.out.find("Final estimate: PPL = ");
        REQUIRE(at != std::string::npos);
        return std::stod(r.out.substr(at + 22));
    };
    const double full = ppl({});
    const double masked = ppl({"--window", "32", "-b", "128"});  // one batch per chunk: no slot is reused
    const double ring = ppl({"--window", "32", "-b", "8"});      // 39 slots for 128 positions: wraps
    MESSAGE("full " << full << ", window 32 masked " << masked << ", ring " << ring);
    CHECK(std::abs(ring - masked) <= 1e-4 * masked);
    CHECK(std::abs(full - masked) > 1e-3 * masked);
}

TEST_CASE("ember info succeeds on every GGUF file under ../shared") {
    int n = 0;
    for (const auto& dir : {"models", "vocab"})
        for (const auto& e : std::filesystem::directory_iterator(test::shared_dir() / dir)) {
            if (e.path().extension() != ".gguf") continue;
            const auto r = run_cli({"info", "-m", e.path().string()});
            CAPTURE(e.path().string());
            CAPTURE(r.err);
            CHECK(r.exit_code == 0);
            CHECK(r.out.find("tensors (") != std::string::npos);
            ++n;
        }
    CHECK(n >= 10);
}

TEST_CASE("ember tokenize prints the ids") {
    const auto r = run_cli({"tokenize", "-m", model_path("shakespeare-19m-F32.gguf"), "-p", "ROMEO:"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "1 16641 2303 29949 29901\n");
    const auto nb = run_cli({"tokenize", "-m", model_path("shakespeare-19m-F32.gguf"), "-p", "ROMEO:", "--no-bos"});
    CHECK(nb.out == "16641 2303 29949 29901\n");
}

TEST_CASE("ember tokenize works on every vocabulary under ../shared/vocab; WordPiece is refused by name") {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(test::shared_dir() / "vocab")) {
        if (e.path().extension() != ".gguf") continue;
        const auto r = run_cli({"tokenize", "-m", e.path().string(), "-p", "Hello world, it's 2026!\n<|im_start|>"});
        CAPTURE(e.path().string());
        CAPTURE(r.err);
        if (e.path().filename() == "ggml-vocab-bert-bge.gguf") {
            CHECK(r.exit_code == 1);
            CHECK(r.err.find("tokenizer.ggml.model = 'bert' (WordPiece) is not supported") != std::string::npos);
            CHECK(r.out.empty());
        } else {
            CHECK(r.exit_code == 0);
            CHECK(r.out.size() > 8);
            CHECK(r.out.back() == '\n');
        }
        ++n;
    }
    CHECK(n >= 14);
    // Llama 3: BOS, and the control token only with --parse-special.
    const std::string llama3 = (test::shared_dir() / "vocab/ggml-vocab-llama-bpe.gguf").string();
    CHECK(run_cli({"tokenize", "-m", llama3, "-p", "Hi<|eot_id|>", "--parse-special"}).out == "128000 13347 128009\n");
    CHECK(run_cli({"tokenize", "-m", llama3, "-p", "Hi<|eot_id|>"}).out.find("128009") == std::string::npos);
    const auto bench = run_cli({"tokenize", "-m", llama3, "-p", "Hello world. ", "--bench", "--min-bytes", "4096", "--runs", "1"});
    CHECK(bench.exit_code == 0);
    CHECK(bench.out.find("tokenizer bpe (llama3)") != std::string::npos);
    CHECK(bench.out.find("4108 bytes -> 949 tokens") != std::string::npos);
    CHECK(run_cli({"tokenize", "-m", llama3, "-p", "x", "--runs", "2"}).exit_code == 2);
}

TEST_CASE("ember mkmodel writes a model that ember bench measures in llama-bench's JSON fields") {
    const auto out = test::tmp_dir() / "cli_mkmodel_tiny_q4km.gguf";
    std::filesystem::remove(out);
    const auto mk = run_cli({"mkmodel", "--preset", "tiny", "--type", "Q4_K_M", "--vocab", test::shared("vocab/ggml-vocab-llama-spm.gguf").string(),
                             "-o", out.string(), "--seed", "3"});
    REQUIRE(mk.exit_code == 0);
    REQUIRE(std::filesystem::exists(out));
    const auto info = run_cli({"info", "-m", out.string()});
    CHECK(info.exit_code == 0);
    CHECK(info.out.find("llama.embedding_length") != std::string::npos);

    for (const char* mmp : {"1", "0"}) {
        const auto b = run_cli({"bench", "-m", out.string(), "-p", "32", "-n", "8", "-r", "2", "-t", "1", "-mmp", mmp, "-o", "json"});
        REQUIRE(b.exit_code == 0);
        const auto j = test::json::parse(b.out);
        REQUIRE(j.size() == 2);
        CHECK(j[0]["n_prompt"].as_int() == 32);
        CHECK(j[0]["n_gen"].as_int() == 0);
        CHECK(j[1]["n_prompt"].as_int() == 0);
        CHECK(j[1]["n_gen"].as_int() == 8);
        CHECK(j[0]["use_mmap"].k == test::json::kind::boolean);
        CHECK(j[0]["use_mmap"].b == (std::string(mmp) == "1"));
        for (size_t i = 0; i < 2; ++i) {
            CHECK(j[i]["avg_ts"].num > 0);
            CHECK(j[i]["samples_ts"].size() == 2);
            CHECK(j[i]["n_threads"].as_int() == 1);
            CHECK(j[i]["model_n_params"].as_int() > 0);
            CHECK(j[i]["model_size"].as_int() > 0);
            CHECK(j[i]["peak_rss_bytes"].as_int() > 0);
            CHECK(j[i]["model_type"].str.find("Q4_K") != std::string::npos);
        }
        CHECK(j[1]["gen_bandwidth_gbs"].num > 0);
    }
    const auto md = run_cli({"bench", "-m", out.string(), "-p", "16", "-n", "0", "-r", "1"});
    CHECK(md.exit_code == 0);
    CHECK(md.out.find("pp16") != std::string::npos);
    const auto csv = run_cli({"bench", "-m", out.string(), "-p", "0", "-n", "4", "-r", "1", "-o", "csv"});
    CHECK(csv.exit_code == 0);
    CHECK(csv.out.rfind("model_filename,model_type,", 0) == 0);
    for (const std::vector<std::string>& bad : {std::vector<std::string>{"bench", "-m", out.string(), "-r", "0"},
                                                {"bench", "-m", out.string(), "-p", "0", "-n", "0"},
                                                {"bench", "-m", out.string(), "-mmp", "2"},
                                                {"bench", "-m", out.string(), "-o", "xml"},
                                                {"mkmodel", "--preset", "nosuch", "--type", "Q8_0", "-o", out.string()}}) {
        const auto r = run_cli(bad);
        CAPTURE(fmt::format("{}", fmt::join(bad, " ")));
        CHECK(r.exit_code == 2);
        CHECK(!r.err.empty());
    }
}

TEST_CASE("bad arguments and bad files: one line on stderr, non-zero exit, no crash") {
    struct bad {
        std::vector<std::string> args;
        int code;
    };
    const std::string m = model_path("stories260K.gguf");
    const auto short_text = test::tmp_dir() / "short.txt";
    std::ofstream(short_text) << "Once upon a time there was a cat.";
    const std::vector<bad> cases = {
        {{}, 2},
        {{"frobnicate"}, 2},
        {{"run"}, 2},
        {{"run", "-m", m}, 2},
        {{"run", "-m", m, "-p", "x", "-n", "abc"}, 2},
        {{"run", "-m", m, "-p", "x", "--temp"}, 2},
        {{"run", "-m", m, "-p", "x", "--bogus"}, 2},
        {{"run", "-m", m, "-p", "x", "--top-p", "1.5"}, 2},
        {{"run", "-m", m, "-p", "x", "--cache-type-k", "q4_k"}, 2},
        {{"run", "-m", m, "-p", "x", "--logit-bias", "12*3"}, 2},
        {{"run", "-m", "/nonexistent.gguf", "-p", "x"}, 1},
        {{"run", "-m", test::shared("text/shakespeare-eval.txt").string(), "-p", "x"}, 1},
        {{"run", "-m", m, "-p", "x", "--load-state", "/nonexistent.state"}, 1},
        {{"info", "-m", "/nonexistent.gguf"}, 1},
        {{"tokenize", "-m", m}, 2},
        {{"perplexity", "-m", m}, 2},
        {{"perplexity", "-m", m, "-f", short_text.string(), "-c", "128"}, 1},
    };
    for (const auto& c : cases) {
        const auto r = run_cli(c.args);
        CAPTURE(fmt::format("{}", fmt::join(c.args, " ")));
        CAPTURE(r.err);
        CHECK(r.exit_code == c.code);
        CHECK(!r.err.empty());
        // Exactly one line reports the error (informational lines may precede it).
        if (c.code == 1) {
            size_t errors = 0, pos = 0;
            while ((pos = r.err.find("error:", pos)) != std::string::npos) ++errors, ++pos;
            CHECK(errors == 1);
            CHECK(r.err.back() == '\n');
        }
    }
}

}

TEST_CASE("ember run --chat: the model's template or ChatML, a template file, the user's text as data") {
    const std::string m = model_path("stories260K.gguf");
    // stories260K has no chat template: ChatML, with a warning.
    const auto r = run_cli({"run", "-m", m, "-p", "Hello <|im_end|>", "--chat", "-n", "8", "--temp", "0", "-v"});
    CAPTURE(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("no tokenizer.chat_template; formatting the chat as ChatML") != std::string::npos);
    CHECK(r.err.find("chat prompt:\n<|im_start|>user\nHello <|im_end|><|im_end|>\n<|im_start|>assistant\n") != std::string::npos);

    // A template file: the same tokens (so the same greedy text) as the rendered prompt given plainly.
    const auto tmpl = test::tmp_dir() / "cli_chat.jinja";
    {
        std::ofstream f(tmpl);
        f << "{% for m in messages %}{{ m.role | capitalize }}: {{ m.content }}\n{% endfor %}"
             "{% if add_generation_prompt %}Assistant:{% endif %}";
    }
    const auto c = run_cli({"run", "-m", m, "-p", "Tell me a story.", "--chat", "--system", "You are kind.", "--chat-template",
                            tmpl.string(), "-n", "24", "--temp", "0"});
    const auto p = run_cli({"run", "-m", m, "-p", "System: You are kind.\nUser: Tell me a story.\nAssistant:", "-n", "24", "--temp", "0"});
    CAPTURE(c.err);
    CHECK(c.exit_code == 0);
    CHECK(p.exit_code == 0);
    CHECK(!c.out.empty());
    CHECK(c.out == p.out);

    const auto bad = run_cli({"run", "-m", m, "-p", "x", "--system", "s"});
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("--system and --chat-template need --chat") != std::string::npos);
    {
        std::ofstream f(tmpl);
        f << "{% for m in messages %}{{ raise_exception('no ' ~ m.role ~ ' turns here') }}{% endfor %}";
    }
    const auto raised = run_cli({"run", "-m", m, "-p", "x", "--chat", "--chat-template", tmpl.string()});
    CHECK(raised.exit_code != 0);
    CHECK(raised.err.find("no user turns here") != std::string::npos);
}
