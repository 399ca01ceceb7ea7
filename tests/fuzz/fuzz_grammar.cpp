// libFuzzer target for the grammar front ends (src/grammar): the first byte picks GBNF, JSON
// Schema or regex; the text up to an optional NUL is the grammar, the rest is fed to a matcher.
// Conversion and parsing must either succeed or throw ember::error(invalid_argument); a compiled
// grammar must then give the same answers through the reference matcher and the automaton, and
// the automaton's state must agree on completeness.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "ember/error.hpp"
#include "grammar/automaton.hpp"
#include "grammar/json_schema.hpp"

namespace {

[[noreturn]] void bug(const char* what) {
    std::fprintf(stderr, "fuzz_grammar: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace ember::gbnf;
    if (size < 1 || size > 8192) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    const size_t nul = in.find('\0');
    const std::string_view src = in.substr(0, nul);
    const std::string_view text = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    std::shared_ptr<const compiled_grammar> g;
    try {
        std::string gbnf;
        switch (data[0] % 3) {
            case 0: gbnf = std::string(src); break;
            case 1: gbnf = json_schema_to_gbnf(src); break;
            default: gbnf = regex_to_gbnf(src); break;
        }
        parse_limits lim;
        lim.max_repeat = 64;  // keeps expansion small: {m,n} becomes n rules
        lim.max_depth = 64;
        const parsed_grammar p = parse_gbnf(gbnf, lim);
        (void)to_gbnf(p);
        g = std::make_shared<const compiled_grammar>(compile(p));
    } catch (const ember::error& e) {
        if (e.code() != ember::errc::invalid_argument) bug("an error other than invalid_argument");
        return 0;
    }
    if (g->rules.size() > 20000) return 0;
    matcher m(g);
    // The automaton needs a vocabulary only for masks; stepping byte by byte needs none.
    automaton a(g, nullptr);
    automaton::state_id s = a.start();
    for (size_t i = 0; i < text.size() && i < 256; ++i) {
        const bool ok = m.accept(text.substr(i, 1));
        const automaton::state_id next = a.step(s, uint8_t(text[i]));
        if (ok != (next != automaton::dead)) bug("the matcher and the automaton disagree on a byte");
        if (!ok) break;
        s = next;
        if (a.complete(s) != m.is_complete()) bug("the matcher and the automaton disagree on completeness");
        if (m.n_stacks() > 4096) break;  // ambiguous grammars can branch widely; bounded here
    }
    return 0;
}
