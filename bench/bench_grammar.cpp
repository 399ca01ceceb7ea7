// The cost of one token mask under a grammar: which of the vocabulary's tokens may come next.
// The first implementation (src/grammar/token_mask.cpp) walks a byte trie of the vocabulary from
// the current parse position; these figures are the baseline the fast masks of issue 13 must
// beat (goal: mean <= 50 us on Qwen2's 151 669 tokens for a nested JSON schema).
//
//   BM_mask_trie/qwen2/structure   after `{"a": [1, ` (a value must start)
//   BM_mask_trie/qwen2/string      inside a string (almost every token fits)
//   BM_mask_trie/.../choice        a 20-way choice, after its first letter
//   BM_mask_reference/...          every token tried on its own (the oracle), for scale
//
//   build/bench/bench_grammar --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "ember/gguf.hpp"
#include "ember/vocab.hpp"
#include "grammar/token_mask.hpp"

namespace {

using namespace ember;
using namespace ember::grammar;

std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("EMBER_SHARED_DIR")) return env;
    return EMBER_SHARED_DIR;
}

constexpr const char* k_json = R"(root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)";

std::string choice_grammar() {
    static const char* words[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape", "honeydew", "kiwi", "lemon",
                                  "mango", "nectarine", "orange", "papaya", "quince", "raspberry", "strawberry", "tangerine",
                                  "ugli", "vanilla"};
    std::string g = "root ::= ";
    for (int i = 0; i < 20; ++i) g += std::string(i ? " | " : "") + "\"" + words[i] + "\"";
    return g + "\n";
}

struct fixture {
    vocab v;
    std::unique_ptr<token_trie> trie;
};

const fixture& vocab_of(const std::string& name) {
    static std::map<std::string, fixture> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        const auto f = gguf_file::open(shared_dir() / ("vocab/ggml-vocab-" + name + ".gguf"));
        fixture fx{vocab::from_gguf(f), nullptr};
        fx.trie = std::make_unique<token_trie>(fx.v);
        it = cache.emplace(name, std::move(fx)).first;
    }
    return it->second;
}

matcher at(const std::string& grammar, const std::string& prefix) {
    matcher m(std::make_shared<const compiled_grammar>(compile(parse_gbnf(grammar))));
    if (!m.accept(prefix)) std::abort();
    return m;
}

void run(benchmark::State& state, const std::string& vocab_name, const std::string& grammar, const std::string& prefix, bool reference) {
    const fixture& fx = vocab_of(vocab_name);
    const matcher m = at(grammar, prefix);
    std::vector<uint8_t> allowed;
    for (auto _ : state) {
        if (reference) token_mask_reference(m, fx.v, allowed);
        else token_mask(m, *fx.trie, allowed);
        benchmark::DoNotOptimize(allowed.data());
    }
    size_t n = 0;
    for (uint8_t a : allowed) n += a;
    state.counters["allowed"] = double(n);
    state.counters["vocab"] = double(fx.v.size());
}

void register_all() {
    for (const std::string vocab_name : {"qwen2", "llama-spm"}) {
        const std::pair<std::string, std::pair<std::string, std::string>> cases[] = {
            {"structure", {k_json, "{\"a\": [1, "}}, {"string", {k_json, "{\"a\": \"hello "}}, {"choice", {choice_grammar(), "b"}}};
        for (const auto& [what, gp] : cases) {
            const auto [grammar, prefix] = gp;
            benchmark::RegisterBenchmark(("BM_mask_trie/" + vocab_name + "/" + what).c_str(),
                                         [=](benchmark::State& s) { run(s, vocab_name, grammar, prefix, false); })
                ->Unit(benchmark::kMicrosecond);
            benchmark::RegisterBenchmark(("BM_mask_reference/" + vocab_name + "/" + what).c_str(),
                                         [=](benchmark::State& s) { run(s, vocab_name, grammar, prefix, true); })
                ->Unit(benchmark::kMicrosecond)
                ->Iterations(3);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
