// ember::grammar and the grammar sampler stage.
#include "ember/grammar.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "core/util.hpp"
#include "grammar/automaton.hpp"
#include "grammar/json_schema.hpp"
#include "tokenizer/vocab_data.hpp"

namespace ember {

struct grammar::impl {
    std::string gbnf;
    std::shared_ptr<const ember::gbnf::compiled_grammar> compiled;
};

namespace {

std::shared_ptr<const grammar::impl> make_impl(std::string gbnf) {
    auto p = std::make_shared<grammar::impl>();
    p->compiled = std::make_shared<const ember::gbnf::compiled_grammar>(
        ember::gbnf::compile(ember::gbnf::parse_gbnf(gbnf)));
    p->gbnf = std::move(gbnf);
    return p;
}

}  // namespace

grammar grammar::from_gbnf(std::string_view text) { return grammar(make_impl(std::string(text))); }
grammar grammar::from_json_schema(std::string_view schema) { return grammar(make_impl(ember::gbnf::json_schema_to_gbnf(schema))); }
grammar grammar::from_regex(std::string_view pattern) { return grammar(make_impl(ember::gbnf::regex_to_gbnf(pattern))); }
grammar grammar::from_choices(std::span<const std::string> choices) { return grammar(make_impl(ember::gbnf::choice_to_gbnf(choices))); }
const std::string& grammar::gbnf() const noexcept { return impl_->gbnf; }

namespace {

using ember::gbnf::automaton;

// One token trie per vocabulary, built by the first grammar that needs it (tens of ms on a
// 150k-token vocabulary) and shared by every later sampler of that model.
std::shared_ptr<const ember::gbnf::token_trie> trie_of(const vocab& v) {
    auto& cache = *detail::vocab_data_of(v).derived;
    std::lock_guard lock(cache.mutex);
    if (!cache.grammar_trie) cache.grammar_trie = std::make_shared<const ember::gbnf::token_trie>(v);
    return std::static_pointer_cast<const ember::gbnf::token_trie>(cache.grammar_trie);
}

class grammar_stage final : public sampler_stage {
public:
    grammar_stage(const ember::grammar& g, const vocab& v)
        : trie_(trie_of(v)), a_(g.get()->compiled, trie_), state_(a_.start()) {}

    std::string name() const override { return "grammar"; }

    void apply(candidate_set& c, sampler_rng&) override {
        if (c.n_vocab != trie_->n_vocab())
            detail::fail(errc::invalid_argument, "grammar: the logits have {} entries but the vocabulary {} tokens", c.n_vocab,
                         trie_->n_vocab());
        state_ = a_.compact(state_);
        const std::vector<uint64_t>& m = a_.mask(state_);
        const auto allowed = [&m](token_id id) { return (m[size_t(id) >> 6] >> (size_t(id) & 63)) & 1; };
        // Refused tokens leave the set (later stages then see only what may follow).
        size_t kept = 0;
        bool any = false;
        for (size_t i = 0; i < c.size; ++i) {
            const token_candidate t = c.data[i];
            if (!allowed(t.id)) continue;
            any = any || t.logit != -std::numeric_limits<float>::infinity();
            c.data[kept++] = t;
        }
        if (kept != c.size) c.identity = false;
        c.size = kept;
        if (!any) detail::fail(errc::invalid_argument, "grammar: no token of the vocabulary can continue the grammar here");
    }

    const std::vector<uint64_t>* allowed_set(bool compute) override {
        state_ = a_.compact(state_);
        if (!compute && !a_.has_mask(state_)) return nullptr;
        return &a_.mask(state_);
    }

    void accept(token_id id) override {
        if (id < 0 || id >= trie_->n_vocab()) return;  // the sampler reports out-of-range ids
        if (trie_->text(id).empty()) {
            const bool eog = is_eog(id);
            if (eog && a_.complete(state_)) return;  // the end: nothing more to match
            detail::fail(errc::invalid_argument, "grammar: token {} writes no text and the grammar {}", id,
                         eog ? "is not complete yet" : "cannot take it");
        }
        const automaton::state_id next = a_.step(state_, trie_->text(id));
        if (next == automaton::dead) detail::fail(errc::invalid_argument, "grammar: token {} does not fit the grammar here", id);
        state_ = next;
    }
    void accept_prompt(token_id) override {}
    bool checks_first() const noexcept override { return true; }
    bool allows(token_id id) override {
        if (id < 0 || id >= trie_->n_vocab()) return false;
        if (trie_->text(id).empty()) return is_eog(id) && a_.complete(state_);
        return a_.step(state_, trie_->text(id)) != automaton::dead;
    }
    void reset() override { state_ = a_.start(); }

private:
    bool is_eog(token_id id) const {
        const auto& e = trie_->eog();
        return std::binary_search(e.begin(), e.end(), id);
    }
    std::shared_ptr<const ember::gbnf::token_trie> trie_;
    automaton a_;
    automaton::state_id state_;
};

}  // namespace

std::unique_ptr<sampler_stage> stages::grammar(const ember::grammar& g, const vocab& v) {
    if (v.size() <= 0) detail::fail(errc::invalid_argument, "grammar: the vocabulary is empty");
    return std::make_unique<grammar_stage>(g, v);
}

}  // namespace ember
