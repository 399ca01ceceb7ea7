// The cost of one token mask under a grammar: which of the vocabulary's tokens may come next.
//
// Each benchmark replays a document token by token as a model would produce it (at every step
// the longest vocabulary token that continues the document), computing the full mask before each
// token and timing every mask on its own. Reported per token: mean_us, p50_us, p99_us, max_us.
//
//   BM_mask/<vocab>/<grammar>/fresh   a new automaton per document: every state is met for the
//                                     first time once (a single generation from cold)
//   BM_mask/<vocab>/<grammar>/warm    the automaton reused across documents (a sampler reset
//                                     between generations keeps its caches)
//   BM_mask_reference/...             every token tried on its own (the oracle), for scale
//
// Grammars: schema (a JSON schema with nested objects and arrays, converted to GBNF), json (free
// JSON) and choice (one of 20 words).
//
//   build/bench/bench_grammar --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ember/gguf.hpp"
#include "ember/vocab.hpp"
#include "grammar/automaton.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/token_mask.hpp"

namespace {

using namespace ember;
using namespace ember::gbnf;

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

constexpr const char* k_schema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 40},
    "age": {"type": "integer"},
    "email": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
    "address": {
      "type": "object",
      "properties": {
        "street": {"type": "string"},
        "city": {"type": "string"},
        "zip": {"type": "string", "pattern": "^[0-9]{5}$"}
      },
      "required": ["street", "city"]
    },
    "orders": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "id": {"type": "integer"},
          "items": {"type": "array", "items": {"type": "object",
                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}, "price": {"type": "number"}},
                    "required": ["sku", "qty"]}},
          "status": {"enum": ["open", "shipped", "cancelled"]}
        },
        "required": ["id", "items", "status"]
      }
    },
    "active": {"type": "boolean"}
  },
  "required": ["name", "age", "address", "orders"]
})";

const char* k_schema_docs[] = {
    R"({"name": "Ann Lee", "age": 34, "email": "ann@example.com", "tags": ["vip", "eu"], "address": {"street": "12 Rue de la Paix", "city": "Paris", "zip": "75002"}, "orders": [{"id": 1, "items": [{"sku": "A-100", "qty": 2, "price": 9.99}, {"sku": "B-7", "qty": 1}], "status": "shipped"}], "active": true})",
    R"({"name": "Bob", "age": 7, "address": {"street": "1 Main St", "city": "Springfield"}, "orders": [{"id": 20, "items": [], "status": "open"}, {"id": 21, "items": [{"sku": "Z", "qty": 10, "price": 0.5}], "status": "cancelled"}]})",
    R"({"name": "Chloé Dupont-Martin", "age": 61, "tags": [], "address": {"street": "Am Markt 3", "city": "Köln", "zip": "50667"}, "orders": [], "active": false})",
};

const char* k_json_docs[] = {
    R"({"id": 12345, "title": "A quick test of free JSON", "scores": [1.5, -2, 3e7], "nested": {"a": {"b": {"c": [true, false, null]}}}, "text": "Line one\nLine two with \"quotes\" and \u00e9"})",
    R"({"users": [{"name": "x", "roles": ["admin", "dev"]}, {"name": "y", "roles": []}], "count": 2, "ok": true})",
};

std::string choice_grammar() {
    static const char* words[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape", "honeydew", "kiwi", "lemon",
                                  "mango", "nectarine", "orange", "papaya", "quince", "raspberry", "strawberry", "tangerine",
                                  "ugli", "vanilla"};
    std::string g = "root ::= ";
    for (int i = 0; i < 20; ++i) g += std::string(i ? " | " : "") + "\"" + words[i] + "\"";
    return g + "\n";
}
const char* k_choice_docs[] = {"strawberry", "fig", "nectarine", "kiwi", "honeydew"};

struct fixture {
    vocab v;
    std::shared_ptr<const token_trie> trie;
};

const fixture& vocab_of(const std::string& name) {
    static std::map<std::string, fixture> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        const auto f = gguf_file::open(shared_dir() / ("vocab/ggml-vocab-" + name + ".gguf"));
        vocab v = vocab::from_gguf(f);
        auto trie = std::make_shared<const token_trie>(v);
        it = cache.emplace(name, fixture{std::move(v), std::move(trie)}).first;
    }
    return it->second;
}

// The document as tokens: at each step the longest token whose text continues it.
std::vector<token_id> greedy_tokens(const token_trie& t, const std::string& doc) {
    std::vector<token_id> out;
    size_t at = 0;
    while (at < doc.size()) {
        token_id best = -1;
        size_t best_len = 0;
        for (token_id id = 0; id < t.n_vocab(); ++id) {
            const std::string& s = t.text(id);
            if (s.size() > best_len && doc.compare(at, s.size(), s) == 0) best = id, best_len = s.size();
        }
        if (best < 0) std::abort();
        out.push_back(best);
        at += best_len;
    }
    return out;
}

struct grammar_case {
    std::shared_ptr<const compiled_grammar> g;
    std::vector<std::string> docs;
};

grammar_case case_named(const std::string& what) {
    grammar_case c;
    std::string gbnf;
    if (what == "schema") {
        gbnf = json_schema_to_gbnf(k_schema);
        c.docs.assign(std::begin(k_schema_docs), std::end(k_schema_docs));
    } else if (what == "json") {
        gbnf = k_json;
        c.docs.assign(std::begin(k_json_docs), std::end(k_json_docs));
    } else {
        gbnf = choice_grammar();
        c.docs.assign(std::begin(k_choice_docs), std::end(k_choice_docs));
    }
    c.g = std::make_shared<const compiled_grammar>(compile(parse_gbnf(gbnf)));
    return c;
}

void report(benchmark::State& state, std::vector<double>& us) {
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (const double x : us) sum += x;
    state.counters["tokens"] = double(us.size());
    state.counters["mean_us"] = sum / double(us.size());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    state.counters["max_us"] = us.back();
}

void run(benchmark::State& state, const std::string& vocab_name, const std::string& what, bool warm) {
    const fixture& fx = vocab_of(vocab_name);
    const grammar_case c = case_named(what);
    std::vector<std::vector<token_id>> docs;
    for (const std::string& d : c.docs) docs.push_back(greedy_tokens(*fx.trie, d));
    std::vector<double> us;
    std::unique_ptr<automaton> shared;
    size_t sink = 0;
    for (auto _ : state) {
        for (const auto& doc : docs) {
            if (!warm || !shared) shared = std::make_unique<automaton>(c.g, fx.trie);
            automaton& a = *shared;
            automaton::state_id s = a.start();
            for (const token_id id : doc) {
                s = a.compact(s);
                const auto t0 = std::chrono::steady_clock::now();
                const auto& m = a.mask(s);
                const auto t1 = std::chrono::steady_clock::now();
                us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
                if (!((m[size_t(id) >> 6] >> (id & 63)) & 1)) std::abort();  // the document must fit
                sink += m[0];
                s = a.step(s, fx.trie->text(id));
            }
        }
    }
    benchmark::DoNotOptimize(sink);
    report(state, us);
}

void run_reference(benchmark::State& state, const std::string& vocab_name, const std::string& what) {
    const fixture& fx = vocab_of(vocab_name);
    const grammar_case c = case_named(what);
    const auto doc = greedy_tokens(*fx.trie, c.docs[0]);
    std::vector<double> us;
    std::vector<uint8_t> allowed;
    for (auto _ : state) {
        matcher m(c.g);
        for (size_t i = 0; i < doc.size() && i < 8; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            token_mask_reference(m, fx.v, allowed);
            const auto t1 = std::chrono::steady_clock::now();
            us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
            m.accept(fx.trie->text(doc[i]));
        }
    }
    report(state, us);
}

void register_all() {
    for (const std::string vocab_name : {"qwen2", "llama-spm"}) {
        for (const std::string what : {"schema", "json", "choice"}) {
            for (const bool warm : {false, true})
                benchmark::RegisterBenchmark(("BM_mask/" + vocab_name + "/" + what + (warm ? "/warm" : "/fresh")).c_str(),
                                             [=](benchmark::State& s) { run(s, vocab_name, what, warm); })
                    ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("BM_mask_reference/" + vocab_name + "/" + what).c_str(),
                                         [=](benchmark::State& s) { run_reference(s, vocab_name, what); })
                ->Unit(benchmark::kMillisecond)
                ->Iterations(1);
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
