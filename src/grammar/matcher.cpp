// Compiling parsed grammars into flat rules, and the reference matcher over parse stacks.
#include "grammar/matcher.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "core/util.hpp"
#include "tokenizer/utf8.hpp"

namespace ember::gbnf {

using detail::fail;

// ---- compile ----------------------------------------------------------------------------------

namespace {

class compiler {
public:
    explicit compiler(const parsed_grammar& g) : g_(g) {}

    compiled_grammar run() {
        out_.rules.resize(g_.rules.size());
        for (const rule& r : g_.rules) out_.names.push_back(r.name);
        for (size_t i = 0; i < g_.rules.size(); ++i) out_.rules[i] = alternatives(g_.rules[i].body, uint32_t(i));
        out_.root = g_.root;
        check_left_recursion();
        return std::move(out_);
    }

private:
    using symbol = compiled_grammar::symbol;
    using seq = std::vector<symbol>;
    const parsed_grammar& g_;
    compiled_grammar out_;

    uint32_t new_rule(uint32_t parent) {
        out_.rules.emplace_back();
        out_.names.push_back(fmt::format("{}-{}", out_.names[parent], out_.rules.size() - 1));
        return uint32_t(out_.rules.size() - 1);
    }

    std::vector<seq> alternatives(const expr& e, uint32_t owner) {
        std::vector<seq> alts;
        if (e.k == expr::kind::alt)
            for (const expr& k : e.kids) alts.push_back(sequence(k, owner));
        else
            alts.push_back(sequence(e, owner));
        return alts;
    }

    seq sequence(const expr& e, uint32_t owner) {
        seq s;
        append(s, e, owner);
        return s;
    }

    void append(seq& s, const expr& e, uint32_t owner) {
        switch (e.k) {
            case expr::kind::chars:
                out_.classes.push_back({e.negated, e.ranges});
                s.push_back({false, uint32_t(out_.classes.size() - 1)});
                return;
            case expr::kind::ref: s.push_back({true, e.rule}); return;
            case expr::kind::seq:
                for (const expr& k : e.kids) append(s, k, owner);
                return;
            case expr::kind::alt: {
                const uint32_t r = new_rule(owner);
                std::vector<seq> alts = alternatives(e, r);
                out_.rules[r] = std::move(alts);
                s.push_back({true, r});
                return;
            }
            case expr::kind::repeat: {
                // X{m,n}: X m times, then n-m optional copies chained as R_k ::= X R_(k-1) | "";
                // X{m,}: X m times, then R ::= X R | "".
                const seq x = sequence(e.kids[0], owner);
                for (uint32_t i = 0; i < e.min; ++i) s.insert(s.end(), x.begin(), x.end());
                if (e.max == expr::unbounded) {
                    const uint32_t r = new_rule(owner);
                    seq again = x;
                    again.push_back({true, r});
                    out_.rules[r] = {again, {}};
                    s.push_back({true, r});
                } else if (e.max > e.min) {
                    uint32_t prev = UINT32_MAX;
                    for (uint32_t k = 0; k < e.max - e.min; ++k) {
                        const uint32_t r = new_rule(owner);
                        seq more = x;
                        if (prev != UINT32_MAX) more.push_back({true, prev});
                        out_.rules[r] = {more, {}};
                        prev = r;
                    }
                    s.push_back({true, prev});
                }
                return;
            }
        }
    }

    // A rule that reaches itself before consuming a character would expand forever.
    void check_left_recursion() {
        const size_t n = out_.rules.size();
        std::vector<bool> nullable(n, false);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t r = 0; r < n; ++r) {
                if (nullable[r]) continue;
                for (const seq& alt : out_.rules[r]) {
                    bool all = true;
                    for (const symbol& sym : alt) all = all && sym.is_ref && nullable[sym.index];
                    if (all) {
                        nullable[r] = changed = true;
                        break;
                    }
                }
            }
        }
        std::vector<std::vector<uint32_t>> first(n);  // rules reachable at the start of r
        for (size_t r = 0; r < n; ++r)
            for (const seq& alt : out_.rules[r])
                for (const symbol& sym : alt) {
                    if (!sym.is_ref) break;
                    first[r].push_back(sym.index);
                    if (!nullable[sym.index]) break;
                }
        std::vector<int> color(n, 0);  // 0 new, 1 on the path, 2 done
        std::vector<uint32_t> path;
        std::function<void(uint32_t)> visit = [&](uint32_t r) {
            color[r] = 1;
            path.push_back(r);
            for (const uint32_t q : first[r]) {
                if (color[q] == 1) {
                    std::string cycle;
                    for (auto it = std::find(path.begin(), path.end(), q); it != path.end(); ++it) cycle += out_.names[*it] + " -> ";
                    fail(errc::invalid_argument, "the grammar is left-recursive: {}{} (a rule reaches itself before any character)",
                         cycle, out_.names[q]);
                }
                if (color[q] == 0) visit(q);
            }
            path.pop_back();
            color[r] = 2;
        };
        for (size_t r = 0; r < n; ++r)
            if (color[r] == 0) visit(uint32_t(r));
    }
};

}  // namespace

compiled_grammar compile(const parsed_grammar& g) { return compiler(g).run(); }

// ---- matcher ----------------------------------------------------------------------------------

struct matcher::frame {
    uint32_t rule, alt, idx;
    stack parent;
    uint64_t hash;
};

namespace {

using stack = matcher::stack;

uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull + (h >> 29); }

stack make_frame(uint32_t rule, uint32_t alt, uint32_t idx, stack parent) {
    uint64_t h = parent ? parent->hash : 0x84222325CBF29CE4ull;
    h = mix(mix(mix(h, rule), alt), idx);
    return std::make_shared<const matcher::frame>(matcher::frame{rule, alt, idx, std::move(parent), h});
}

bool same(const stack& a, const stack& b) {
    const matcher::frame* x = a.get();
    const matcher::frame* y = b.get();
    while (x && y) {
        if (x == y) return true;
        if (x->hash != y->hash || x->rule != y->rule || x->alt != y->alt || x->idx != y->idx) return false;
        x = x->parent.get();
        y = y->parent.get();
    }
    return x == y;
}

// A set of stacks without duplicates (two parses in the same place are one).
struct stack_set {
    std::vector<stack> items;
    std::unordered_multimap<uint64_t, size_t> index;
    void add(stack s) {
        const uint64_t h = s ? s->hash : 0;
        const auto [b, e] = index.equal_range(h);
        for (auto it = b; it != e; ++it)
            if (same(items[it->second], s)) return;
        index.emplace(h, items.size());
        items.push_back(std::move(s));
    }
};

// Moves a stack forward to every place where the next symbol is a character class (or to the
// completed parse, a null stack), entering referenced rules and leaving finished ones.
void expand(const compiled_grammar& g, stack s, stack_set& out) {
    while (true) {
        if (!s) {
            out.add(nullptr);
            return;
        }
        const auto& alt = g.rules[s->rule][s->alt];
        if (s->idx == alt.size()) {
            s = s->parent;  // the parent already points past its reference
            continue;
        }
        const compiled_grammar::symbol sym = alt[s->idx];
        if (!sym.is_ref) {
            out.add(std::move(s));
            return;
        }
        // A reference in tail position returns straight to the parent (right recursion such as
        // R ::= X R | "" then keeps the stack from growing).
        const stack after = s->idx + 1 == alt.size() ? s->parent : make_frame(s->rule, s->alt, s->idx + 1, s->parent);
        const size_t n_alts = g.rules[sym.index].size();
        for (uint32_t a = 0; a + 1 < n_alts; ++a) expand(g, make_frame(sym.index, a, 0, after), out);
        s = make_frame(sym.index, uint32_t(n_alts - 1), 0, after);
    }
}

}  // namespace

matcher::matcher(std::shared_ptr<const compiled_grammar> g) : g_(std::move(g)) {
    stack_set start;
    for (uint32_t a = 0; a < g_->rules[g_->root].size(); ++a) expand(*g_, make_frame(g_->root, a, 0, nullptr), start);
    st_.stacks = std::move(start.items);
}

bool matcher::advance(position& st, std::string_view bytes) const {
    for (const char ch : bytes) {
        const unsigned char b = static_cast<unsigned char>(ch);
        const bool ok = st.partial_left == 0 ? detail::utf8_lead(b, st.partial_cp, st.partial_left)
                                             : detail::utf8_continue(b, st.partial_cp, st.partial_left);
        if (!ok) return false;  // not UTF-8 (or an overlong, surrogate or out-of-range form)
        if (st.partial_left > 0) continue;
        const uint32_t cp = st.partial_cp;
        stack_set next;
        for (const stack& s : st.stacks) {
            if (!s) continue;
            const auto sym = g_->rules[s->rule][s->alt][s->idx];
            if (g_->classes[sym.index].matches(cp)) expand(*g_, make_frame(s->rule, s->alt, s->idx + 1, s->parent), next);
        }
        if (next.items.empty()) return false;
        st.stacks = std::move(next.items);
    }
    if (st.partial_left > 0) {
        // A character still incomplete: some stack must accept a code point it can become.
        uint32_t lo, hi;
        detail::utf8_pending_range(st.partial_cp, st.partial_left, lo, hi);
        bool viable = false;
        for (const stack& s : st.stacks) {
            if (!s) continue;
            const auto& cls = g_->classes[g_->rules[s->rule][s->alt][s->idx].index];
            if (cls.negated) viable = true;
            for (const char_range& r : cls.ranges) viable = viable || (r.lo <= hi && r.hi >= lo);
        }
        if (!viable) return false;
    }
    return true;
}

bool matcher::accept(std::string_view bytes) {
    position p = st_;
    if (!advance(p, bytes)) return false;
    st_ = std::move(p);
    return true;
}

bool matcher::can_accept(std::string_view bytes) const {
    position p = st_;
    return advance(p, bytes);
}

bool matcher::complete(const position& p) {
    if (p.partial_left > 0) return false;
    for (const stack& s : p.stacks)
        if (!s) return true;
    return false;
}

bool matcher::is_complete() const { return complete(st_); }

bool matcher::is_finished() const { return is_complete() && st_.stacks.size() == 1; }

}  // namespace ember::gbnf
