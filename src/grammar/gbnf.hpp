// GBNF, llama.cpp's grammar syntax, parsed into rules of expressions:
//
//   root   ::= object            # comments run to the end of the line
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"
//   pair   ::= [a-z]+ ":" [^\n"]* | "\u00e9" . {2,5}
//
// Rules end at a newline unless inside parentheses; alternatives are `|`, groups `( )`,
// repetition `* + ? {m} {m,} {m,n}`, character classes `[a-z0-9]` / `[^...]` with escapes
// (\n \r \t \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH), `.` any character, and the start rule `root`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::gbnf {

struct char_range {
    uint32_t lo, hi;  // inclusive code points
};

// One node of a rule's expression tree.
struct expr {
    enum class kind : uint8_t {
        chars,   // one character in (or, negated, not in) ranges
        ref,     // the rule rules[rule]
        seq,     // kids in order (empty: matches the empty string)
        alt,     // one of kids
        repeat,  // kids[0] between min and max times (max == unbounded: no limit)
    };
    static constexpr uint32_t unbounded = UINT32_MAX;

    kind k = kind::seq;
    bool negated = false;            // chars
    std::vector<char_range> ranges;  // chars
    uint32_t rule = 0;               // ref
    uint32_t min = 0, max = 0;       // repeat
    std::vector<expr> kids;
};

struct rule {
    std::string name;
    expr body;
    int line = 0;
};

struct parsed_grammar {
    std::vector<rule> rules;  // in order of first mention
    uint32_t root = 0;
};

struct parse_limits {
    int max_depth = 256;           // nested groups
    uint32_t max_repeat = 10'000;  // m and n of {m,n}
    size_t max_size = 1u << 20;    // bytes of grammar text
};

// Throws ember::error(errc::invalid_argument) naming the line and column ("line 3, column 12:
// expecting ')'"), an undefined rule with the line using it, or a missing root rule.
parsed_grammar parse_gbnf(std::string_view text, const parse_limits& limits = {});

// The grammar printed back as GBNF (one rule per line), for messages and tests.
std::string to_gbnf(const parsed_grammar& g);

}  // namespace ember::gbnf
