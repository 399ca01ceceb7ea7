// Pre-tokenization for byte-level BPE: splitting text into the words that BPE merges never
// cross, by the regular-expression sequence a `tokenizer.ggml.pre` value names (formats.md §7;
// the list is llama.cpp's, llama-vocab.cpp / unicode.cpp).
//
// Each step splits every word produced by the previous step into its matches *and* the gaps
// between them (gaps are kept, as llama.cpp keeps them). The four common Llama-3 / Qwen / GPT-2
// expressions are written out as code; the others run on a small backtracking matcher for the
// only shapes they use: character classes with quantifiers and an end anchor.
#pragma once

#include "tokenizer/utf8.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember::detail {

// Decodes UTF-8 exactly as llama.cpp does before pre-tokenizing: every byte that does not start
// a well-formed sequence becomes U+FFFD and decoding resumes at the next byte; overlong forms and
// surrogates decode to their value. A value past U+10FFFF (lead bytes F5..F7) becomes U+FFFD too
// (llama.cpp throws on it later).
void utf8_to_codepoints(std::string_view text, std::vector<uint32_t>& out);

class regex_program;  // a compiled step of the general matcher (pretokenize.cpp)

struct pretokenize_step {
    enum class kind : uint8_t {
        gpt2,     // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
        llama3,   // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
        qwen2,    // llama3 with \p{N} (one digit per word)
        qwen35,   // qwen2 with [\p{L}\p{M}]+ letter runs and \p{M} excluded from punctuation runs
        pattern,  // the general matcher
    };
    kind k = kind::gpt2;
    std::shared_ptr<const regex_program> program;  // for kind::pattern
};

class pretokenizer {
public:
    // Compiles the steps; `patterns` uses the syntax of llama.cpp's expressions (see
    // pretokenize.cpp for the subset). Throws std::logic_error on a pattern outside the subset.
    explicit pretokenizer(std::vector<pretokenize_step> steps) : steps_(std::move(steps)) {}
    static pretokenize_step pattern(std::string_view expression);

    // Splits `cps` into words; `lengths` receives the length of each word in code points, in
    // order, summing to cps.size(). `scratch` is reused between calls.
    void split(std::span<const uint32_t> cps, std::vector<uint32_t>& lengths, std::vector<uint32_t>& scratch) const;

private:
    std::vector<pretokenize_step> steps_;
};

// What a `tokenizer.ggml.pre` value means to the tokenizer.
struct pre_config {
    std::string_view name;  // canonical name (the family llama.cpp maps it to)
    std::vector<pretokenize_step> steps;
    bool ignore_merges = false;  // a word that is itself a vocabulary entry is emitted whole
    bool force_add_bos = false;  // add BOS unless tokenizer.ggml.add_bos_token says otherwise
    bool clean_spaces = true;    // detokenize removes spaces before punctuation (HF clean-up)
    bool no_bos = false;         // the default BOS id does not exist (chatglm)
};

enum class pre_lookup { known, unknown, unsupported };
// The configuration for `pre`; `unknown` for values llama.cpp does not know (the caller warns
// and uses the returned default), `unsupported` for values llama.cpp knows whose expressions
// ember does not implement (lookaheads, alternations of groups).
pre_lookup find_pre_config(std::string_view pre, pre_config& out);

}  // namespace ember::detail
