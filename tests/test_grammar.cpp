// GBNF grammars (src/grammar): llama.cpp's syntax parsed into rules, printed back stably, and
// every malformed grammar refused with a message naming the line and column.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "ember/error.hpp"
#include "grammar/gbnf.hpp"

using namespace ember::grammar;

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
