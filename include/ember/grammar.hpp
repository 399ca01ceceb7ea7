// Structured output: a grammar that every generated token must fit.
//
//   auto g = ember::grammar::from_json_schema(R"({"type": "object", "properties": {...}})");
//   ember::sampler s = ember::sampler::from_params(params, model.vocab(), &g);
//   // or, by hand, first in a chain:  s.add(ember::stages::grammar(g, model.vocab()));
//
// Grammars are written in GBNF (llama.cpp's syntax: rules `name ::= ...`, alternation `|`, groups,
// `* + ? {m} {m,} {m,n}`, character classes `[a-z]` `[^...]`, literals with escapes, start rule
// `root`), or converted from a JSON Schema, a regular expression or a list of choices (see the
// supported subsets in src/grammar/json_schema.hpp; anything unsupported is an error naming it).
// The grammar stage removes from the candidates every token the grammar cannot accept next and
// allows the end-of-generation tokens exactly when the text so far is complete; masks are cached
// per parse state, so a typical token costs microseconds (bench/bench_grammar.cpp).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ember/sampler.hpp"
#include "ember/vocab.hpp"

namespace ember {

// A parsed and compiled grammar; immutable, cheap to copy, shareable between threads.
class grammar {
public:
    // Each throws ember::error(errc::invalid_argument) naming what is wrong: the line and
    // column of a GBNF error, a left-recursive rule, the schema path of an unsupported keyword,
    // the column of a regex error.
    static grammar from_gbnf(std::string_view text);
    static grammar from_json_schema(std::string_view schema_json);
    static grammar from_regex(std::string_view pattern);  // the whole output matches
    static grammar from_choices(std::span<const std::string> choices);

    // The grammar as GBNF (for a schema, regex or choice: the converted form).
    const std::string& gbnf() const noexcept;

    struct impl;
    const std::shared_ptr<const impl>& get() const noexcept { return impl_; }

private:
    explicit grammar(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
    std::shared_ptr<const impl> impl_;
};

namespace stages {
// Removes the tokens of `v` the grammar cannot accept next; accept() advances the grammar by a
// generated token (a token it refuses is an error), accept_prompt() leaves it alone, reset()
// restarts it (keeping its caches). Throws errc::invalid_argument at apply() when no token of
// the vocabulary can continue (the grammar needs characters no token has).
std::unique_ptr<sampler_stage> grammar(const ember::grammar& g, const vocab& v);
}  // namespace stages

}  // namespace ember
