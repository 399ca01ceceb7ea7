// GBNF grammars (src/grammar): llama.cpp's syntax parsed into rules, printed back stably, and
// every malformed grammar refused with a message naming the line and column.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "ember/error.hpp"
#include "grammar/gbnf.hpp"

using namespace ember::gbnf;

namespace {

// A JSON grammar in llama.cpp's style (strings with escapes, numbers, nesting, whitespace).
constexpr const char* k_json = R"(# JSON, as a grammar
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)";

std::vector<std::string> sorted_lines(const std::string& s) {
    std::vector<std::string> lines;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    return lines;
}

std::string error_of(const std::string& text) {
    try {
        parse_gbnf(text);
    } catch (const ember::error& e) {
        CHECK(e.code() == ember::errc::invalid_argument);
        return e.what();
    }
    FAIL("expected an error for: " << text);
    return {};
}

}  // namespace

TEST_CASE("GBNF: a JSON grammar parses and prints back stably") {
    const parsed_grammar g = parse_gbnf(k_json);
    REQUIRE(g.rules.size() == 7);
    CHECK(g.rules[g.root].name == "root");
    for (const rule& r : g.rules) CHECK(r.line > 0);
    const std::string once = to_gbnf(g);
    const std::string twice = to_gbnf(parse_gbnf(once));
    CHECK(sorted_lines(once) == sorted_lines(twice));
    CHECK(once.find("ws ::= \"\" | [ ] | [\\n] [ \\t]{0,20}") != std::string::npos);
}

TEST_CASE("GBNF: the expression tree of each construct") {
    const parsed_grammar g = parse_gbnf("root ::= \"ab\" [^x-z\\]] . x{2,3} | x* \"\\u00e9\" [\\U0001F600]?\nx ::= \"c\"+ | \"\"\n");
    REQUIRE(g.rules.size() == 2);
    const expr& body = g.rules[0].body;
    REQUIRE(body.k == expr::kind::alt);
    REQUIRE(body.kids.size() == 2);
    const expr& first = body.kids[0];
    REQUIRE(first.k == expr::kind::seq);
    REQUIRE(first.kids.size() == 4);
    CHECK(first.kids[0].k == expr::kind::seq);  // "ab"
    CHECK(first.kids[0].kids.size() == 2);
    CHECK(first.kids[1].k == expr::kind::chars);
    CHECK(first.kids[1].negated);
    REQUIRE(first.kids[1].ranges.size() == 2);
    CHECK(first.kids[1].ranges[0].lo == 'x');
    CHECK(first.kids[1].ranges[0].hi == 'z');
    CHECK(first.kids[1].ranges[1].lo == ']');
    CHECK((first.kids[2].k == expr::kind::chars && first.kids[2].negated && first.kids[2].ranges.empty()));  // .
    CHECK(first.kids[3].k == expr::kind::repeat);
    CHECK(first.kids[3].min == 2);
    CHECK(first.kids[3].max == 3);
    CHECK(first.kids[3].kids[0].k == expr::kind::ref);
    const expr& second = body.kids[1];
    REQUIRE(second.kids.size() == 3);
    CHECK(second.kids[0].max == expr::unbounded);
    CHECK(second.kids[1].ranges[0].lo == 0xE9);
    CHECK(second.kids[2].min == 0);
    CHECK(second.kids[2].max == 1);
    CHECK(second.kids[2].kids[0].ranges[0].lo == 0x1F600);
    const expr& x = g.rules[1].body;
    REQUIRE(x.k == expr::kind::alt);
    CHECK(x.kids[0].min == 1);
    CHECK((x.kids[1].k == expr::kind::seq && x.kids[1].kids.empty()));  // the empty string
}

TEST_CASE("GBNF: malformed grammars name the line and column") {
    const std::pair<std::string, std::string> cases[] = {
        {"root ::= foo", "line 1: rule 'foo' is used but never defined"},
        {"rot ::= \"a\"", "no rule named 'root'"},
        {"root ::= \"a\"\nitem ::= (\"b\" | \"c\"\n", "line 3, column 1: expecting ')' to close the group opened on line 2"},
        {"root ::= \"a\nb\"", "line 1, column 12: a newline inside a string literal"},
        {"root ::= [a-", "line 1, column 10: the character class is not closed"},
        {"root := \"a\"", "line 1, column 6: expecting '::=' after the rule name 'root'"},
        {"root ::= * \"a\"", "line 1, column 10: '*' has no item before it to repeat"},
        {"root ::= \"a\"{3,2}", "line 1, column 13: the repetition {3,2} has its maximum below its minimum"},
        {"root ::= \"a\"{100000}", "a repetition count above the limit of 10000"},
        {"root ::= \"a\"{2", "expecting '}' to close the repetition"},
        {"root ::= \"\\q\"", "line 1, column 11: unknown escape '\\q'"},
        {"root ::= \"\\x4\"", "expecting 2 hex digits"},
        {"root ::= [z-a]", "the range ends (U+0061) before it starts (U+007A)"},
        {"root ::= \"a\"\n\nroot ::= \"b\"", "line 3, column 1: rule 'root' is defined twice (first on line 1)"},
        {"root ::= <think>", "token references (<...>, !<...>) are not supported"},
        {"root ::= \"a\" )", "line 1, column 14: expecting a newline or the end after rule 'root'"},
        {"root ::= \"\xff\"", "invalid UTF-8"},
        {"::= \"a\"", "line 1, column 1: expecting a rule name"},
        {std::string("root ::= ") + std::string(1000, '(') + "\"a\"" + std::string(1000, ')'), "groups nested deeper than 256 levels"},
    };
    for (const auto& [text, want] : cases) {
        CAPTURE(text);
        const std::string got = error_of(text);
        CHECK_MESSAGE(got.find(want) != std::string::npos, got);
    }
}

#include <random>

#include "grammar/matcher.hpp"

namespace {

std::shared_ptr<const compiled_grammar> compiled(const std::string& text) {
    return std::make_shared<const compiled_grammar>(compile(parse_gbnf(text)));
}

// Whether the whole of `text` is a sentence of the grammar, fed in pieces of `chunk` bytes.
bool matches(const std::shared_ptr<const compiled_grammar>& g, std::string_view text, size_t chunk = 1) {
    matcher m(g);
    for (size_t i = 0; i < text.size(); i += chunk)
        if (!m.accept(text.substr(i, chunk))) return false;
    return m.is_complete();
}

}  // namespace

TEST_CASE("grammar matcher: JSON documents in and out of the grammar") {
    const auto g = compiled(k_json);
    for (const char* ok : {"{}", "{\"a\": 1}", "{\"a\": [1, 2.5, -3e7, true, null, \"x\\n\\u00e9\"], \"b\": {\"c\": {}}}",
                           "{\n  \"k\": \"v\"\n}", "{\"é\": \"日本語 ✓\"}"}) {
        CAPTURE(ok);
        CHECK(matches(g, ok));
        CHECK(matches(g, ok, 3));  // split inside UTF-8 characters too
    }
    for (const char* bad : {"", "{", "{\"a\" 1}", "{\"a\": 01x}", "[1]", "{\"a\": tru}", "{\"a\": \"\x01\"}", "{} x", "{'a': 1}"}) {
        CAPTURE(bad);
        CHECK_FALSE(matches(g, bad));
    }
    matcher m(g);
    CHECK_FALSE(m.is_complete());
    CHECK(m.accept("{\"a\": "));
    CHECK(m.can_accept("\"x\""));
    CHECK_FALSE(m.can_accept("}"));
    CHECK_FALSE(m.accept("}"));  // refused, state unchanged
    CHECK(m.accept("[]}"));
    CHECK(m.is_complete());
    CHECK_FALSE(m.accept("\xff"));  // not UTF-8
}

TEST_CASE("grammar matcher: repetition bounds, classes and partial characters") {
    const auto g = compiled("root ::= \"a\"{2,3} [^b-d]? \"é\"+\n");
    CHECK(matches(g, "aaé"));
    CHECK(matches(g, "aaaxéé"));
    CHECK_FALSE(matches(g, "aé"));
    CHECK(matches(g, "aaaaé"));  // the fourth a is the optional [^b-d]
    CHECK_FALSE(matches(g, "aaaaaé"));
    CHECK_FALSE(matches(g, "aacé"));
    matcher m(g);
    CHECK(m.accept("aa"));
    CHECK(m.accept("\xC3"));  // the first byte of é (or of another 2-byte character) fits
    CHECK_FALSE(m.is_complete());
    CHECK(m.accept("\xA9"));
    CHECK(m.is_complete());
    CHECK_FALSE(m.is_finished());  // more é may follow
    // Only real UTF-8: an overlong form of '"' is not a quote, a surrogate is no character.
    const auto quote = compiled("root ::= \"\\\"\" [^a]?\n");
    CHECK(matches(quote, "\""));
    for (const char* bad : {"\xC0\xA2", "\xE0\x80\xA2", "\xF0\x80\x80\xA2", "\"\xED\xA0\x80", "\"\xF4\x90\x80\x80", "\"\xF5"}) {
        CAPTURE(bad);
        CHECK_FALSE(matches(quote, bad));
    }
    matcher q(quote);
    CHECK_FALSE(q.accept("\xE0"));  // no 3-byte character is a quote
    CHECK(matches(quote, "\"\xF4\x8F\xBF\xBF"));  // U+10FFFF
    const auto fixed = compiled("root ::= \"ok\"\n");
    matcher f(fixed);
    CHECK(f.accept("ok"));
    CHECK(f.is_finished());
}

namespace {

// An independent oracle for (ab|c)* d? ([x-z][0-9]{1,2})*: a hand-written scanner (the language is
// unambiguous left to right, so no backtracking is needed).
bool oracle_match(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == 'c') ++i;
        else if (s[i] == 'a' && i + 1 < s.size() && s[i + 1] == 'b') i += 2;
        else break;
    }
    if (i < s.size() && s[i] == 'd') ++i;
    while (i < s.size()) {
        if (s[i] < 'x' || s[i] > 'z') return false;
        ++i;
        size_t digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 2) ++i, ++digits;
        if (digits == 0) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("grammar matcher: agrees with an independent scanner on a regular grammar over random strings") {
    const auto g = compiled("root ::= (\"ab\" | \"c\")* \"d\"? ([x-z] [0-9]{1,2})*\n");
    std::mt19937 rng(7);
    const std::string alphabet = "abcdxz05";
    int n_in = 0;
    for (int i = 0; i < 4000; ++i) {
        std::string s;
        const int len = int(rng() % 9);
        for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
        const bool want = oracle_match(s);
        n_in += want;
        CAPTURE(s);
        CHECK(matches(g, s) == want);
    }
    CHECK(n_in > 100);  // the sample holds both kinds
}

TEST_CASE("grammar compile: left recursion is refused, naming the cycle") {
    try {
        compile(parse_gbnf("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]\n"));
        FAIL("left recursion was accepted");
    } catch (const ember::error& e) {
        CHECK(std::string(e.what()).find("left-recursive: expr -> expr") != std::string::npos);
    }
    try {
        compile(parse_gbnf("root ::= a\na ::= b? a \"x\"\nb ::= \"y\"\n"));
        FAIL("left recursion through a nullable prefix was accepted");
    } catch (const ember::error& e) {
        CHECK(std::string(e.what()).find("left-recursive") != std::string::npos);
    }
    CHECK_NOTHROW(compile(parse_gbnf("root ::= \"(\" root \")\" | \"\"\n")));  // right/nested recursion is fine
}

#include "common.hpp"
#include "ember/gguf.hpp"
#include "grammar/automaton.hpp"
#include "grammar/token_mask.hpp"

namespace {

struct test_vocab {
    ember::vocab v;
    std::shared_ptr<const token_trie> trie;
};

const test_vocab& vocab_named(const std::string& name) {
    static std::map<std::string, test_vocab> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        const auto f = ember::gguf_file::open(ember::test::shared("vocab/ggml-vocab-" + name + ".gguf"));
        ember::vocab v = ember::vocab::from_gguf(f);
        auto trie = std::make_shared<const token_trie>(v);
        it = cache.emplace(name, test_vocab{std::move(v), std::move(trie)}).first;
    }
    return it->second;
}

std::vector<uint8_t> unpack(const std::vector<uint64_t>& bits, size_t n) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = uint8_t((bits[i >> 6] >> (i & 63)) & 1);
    return out;
}

}  // namespace

TEST_CASE("token trie: every token with text is found under its bytes, in depth-first order") {
    const test_vocab& tv = vocab_named("qwen2");
    const token_trie& t = *tv.trie;
    REQUIRE(t.n_nodes() > 1);
    std::vector<uint8_t> seen(size_t(t.n_vocab()), 0);
    std::string path;
    for (uint32_t i = 1; i < t.n_nodes(); ++i) {
        REQUIRE(t.depths()[i] >= 1);
        REQUIRE(t.depths()[i] <= t.depths()[i - 1] + 1);  // depth-first: one level down at most
        path.resize(t.depths()[i] - 1u);
        path += char(t.bytes()[i]);
        REQUIRE(t.skips()[i] > i);
        for (uint32_t k = t.token_begins()[i]; k < t.token_begins()[i + 1]; ++k) {
            const ember::token_id id = t.tokens()[k];
            CHECK(t.text(id) == path);
            seen[size_t(id)]++;
        }
    }
    size_t n_text = 0;
    for (ember::token_id id = 0; id < t.n_vocab(); ++id) {
        const bool has_text = !t.text(id).empty();
        n_text += has_text;
        CHECK(seen[size_t(id)] == (has_text ? 1 : 0));
    }
    CHECK(n_text > 150000);
}

TEST_CASE("automaton: masks equal the reference (every token tried) along documents, on two vocabularies") {
    const std::pair<std::string, std::string> cases[] = {
        {k_json, "{\"name\": \"Ann\", \"n\": [1, 2.5, -3e7], \"ok\": true, \"s\": \"d\u00e9j\u00e0 \\u00e9\\n\"}"},
        {"root ::= (\"ab\" | \"c\")* \"d\"? ([x-z] [0-9]{1,2})*\n", "ababcdx1y22"},
        {"root ::= \"caf\u00e9 \" [\u00e0-\u00ff]{2,4} \"\u65e5\"\n", "caf\u00e9 \u00e0\u00e1\u00e2\u65e5"},
        // Classes that split a lead byte's range (Cyrillic from U+0430), cover it (CJK), exclude
        // it (negated Cyrillic block): partial characters merged only where that is exact.
        {"root ::= [\u0430-\u044f\u4e00-\u9fa5]+ \"!\" [^\u0400-\u04ff]{1,3}\n", "\u043f\u0440\u0438\u65e5\u672c!x\u00e9\u4e2d"},
    };
    for (const char* name : {"llama-spm", "qwen2"}) {
        const test_vocab& tv = vocab_named(name);
        for (const auto& [grammar, doc] : cases) {
            CAPTURE(name);
            CAPTURE(grammar);
            const auto g = compiled(grammar);
            matcher m(g);
            automaton a(g, tv.trie);
            automaton::state_id s = a.start();
            std::vector<uint8_t> want;
            size_t n_allowed_total = 0, n_checked = 0;
            for (size_t i = 0; i <= doc.size(); ++i) {
                if (i % 3 == 0 || i == doc.size()) {
                    token_mask_reference(m, tv.v, want);
                    const auto got = unpack(a.mask(s), want.size());
                    CAPTURE(i);
                    CHECK(got == want);
                    CHECK(a.complete(s) == m.is_complete());
                    n_allowed_total += size_t(std::count(want.begin(), want.end(), 1));
                    ++n_checked;
                }
                if (i < doc.size()) {
                    REQUIRE(m.accept(doc.substr(i, 1)));
                    s = a.step(s, uint8_t(doc[i]));
                    REQUIRE(s != automaton::dead);
                }
            }
            CHECK(m.is_complete());
            CHECK(a.complete(s));
            CHECK(n_allowed_total < size_t(tv.v.size()) * n_checked / 2);  // the grammar does restrict
            for (const ember::token_id id : tv.trie->eog()) CHECK(((a.mask(s)[size_t(id) >> 6] >> (id & 63)) & 1) == 1);
        }
    }
}

TEST_CASE("automaton: random token walks agree with the reference matcher; compact keeps the state") {
    const test_vocab& tv = vocab_named("qwen2");
    const auto g = compiled(k_json);
    std::mt19937 rng(11);
    for (int walk = 0; walk < 2; ++walk) {
        matcher m(g);
        automaton a(g, tv.trie);
        a.set_limits({/*max_states=*/64, /*max_masks=*/2, /*max_frames=*/4096});
        automaton::state_id s = a.start();
        std::vector<uint8_t> want;
        for (int step = 0; step < 32 && !m.is_finished(); ++step) {
            s = a.compact(s);
            const auto got = unpack(a.mask(s), size_t(tv.v.size()));
            if (step % 8 == 0) {
                token_mask_reference(m, tv.v, want);
                CHECK(got == want);
            }
            std::vector<ember::token_id> ids;
            for (size_t id = 0; id < got.size(); ++id)
                if (got[id] && !tv.trie->text(ember::token_id(id)).empty()) ids.push_back(ember::token_id(id));
            if (ids.empty()) break;
            const ember::token_id pick = ids[rng() % ids.size()];
            REQUIRE(m.accept(tv.trie->text(pick)));
            s = a.step(s, tv.trie->text(pick));
            REQUIRE(s != automaton::dead);
            CHECK(a.complete(s) == m.is_complete());
        }
        CHECK(a.n_states() <= 64 + 20000);  // bounded by compaction between tokens
    }
}
