// Matching text against a parsed GBNF grammar, one code point at a time: the reference (scalar)
// matcher every fast mask is tested against. A state is the set of parse stacks still alive
// (as in llama.cpp's grammar sampler): each stack says where in which rule the next character
// must fit; an empty stack means the text so far is a complete sentence.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/gbnf.hpp"

namespace ember::gbnf {

// The grammar with repetitions expanded into rules and each rule's alternatives as flat
// sequences of symbols: a character class or a reference to a rule.
struct compiled_grammar {
    struct symbol {
        bool is_ref;
        uint32_t index;  // a rule, or a class
    };
    struct cclass {
        bool negated;
        std::vector<char_range> ranges;
        bool matches(uint32_t cp) const {
            bool in = false;
            for (const char_range& r : ranges) in = in || (cp >= r.lo && cp <= r.hi);
            return in != negated;
        }
    };
    std::vector<std::vector<std::vector<symbol>>> rules;  // rule -> alternatives -> symbols
    std::vector<std::string> names;                       // per rule, for messages
    std::vector<cclass> classes;
    uint32_t root = 0;
};

// Throws errc::invalid_argument for left recursion (a rule that can reach itself without
// consuming a character), which no stack-based matcher can run, naming the rule.
compiled_grammar compile(const parsed_grammar& g);

class matcher {
public:
    explicit matcher(std::shared_ptr<const compiled_grammar> g);

    // Feeds bytes (UTF-8; a character may be split across calls). Returns false, leaving the
    // state unchanged, when the grammar cannot continue with them.
    bool accept(std::string_view bytes);
    // Whether accept(bytes) would succeed, without changing the state.
    bool can_accept(std::string_view bytes) const;
    // The text so far is a complete sentence of the grammar (generation may end here).
    bool is_complete() const;
    // Nothing can follow: the only live stack is the completed one.
    bool is_finished() const;
    size_t n_stacks() const { return st_.stacks.size(); }

    struct frame;
    using stack = std::shared_ptr<const frame>;

    // A matching position that can be copied and advanced without touching the matcher (token
    // masks explore many continuations from the current one).
    struct position {
        std::vector<stack> stacks;  // deduplicated; a null stack is the completed parse
        uint32_t partial_cp = 0;    // bits of a UTF-8 character split across calls
        int partial_left = 0;       // continuation bytes it still needs
    };
    const position& current() const { return st_; }
    // Advances p by bytes; false (p then unspecified) when the grammar cannot take them.
    bool advance(position& p, std::string_view bytes) const;
    static bool complete(const position& p);

private:
    std::shared_ptr<const compiled_grammar> g_;
    position st_;
};

}  // namespace ember::gbnf
