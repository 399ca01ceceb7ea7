// The tables behind ember::vocab, and the interface each tokenizer model implements.
//
// Everything shared by all models lives in vocab_data: the token table, the text -> id map,
// special ids and flags, and the special-token partitioning that runs before any model
// algorithm (formats.md §7.3). A model (SPM now; byte-level BPE, WordPiece, ... later) only
// turns one raw-text fragment into ids and renders a normal token's text back into bytes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ember/vocab.hpp"

namespace ember::detail {

struct vocab_data;

class tokenizer_algorithm {
public:
    virtual ~tokenizer_algorithm() = default;

    // Appends the ids of one fragment of raw text that contains no special token.
    // `starts_segment`: the fragment is the first one of the input or directly follows a special
    // token (SPM adds its space prefix there).
    virtual void encode(const vocab_data& v, std::string_view fragment, bool starts_segment,
                        std::vector<token_id>& out) const = 0;

    // The bytes a NORMAL token stands for (SPM: ▁ -> ' '; byte-level BPE will undo its
    // byte-to-unicode map here).
    virtual void append_normal_piece(std::string_view token_text, std::string& out) const = 0;
};

std::unique_ptr<tokenizer_algorithm> make_spm_algorithm();

struct pre_config;
// Tests only: long BPE words always take the priority-queue path (the reference the faster
// rank-bucket path is checked against).
extern std::atomic<bool> bpe_force_heap;
// Validates `merges` ("left right", rank = index) against the vocabulary; throws bad_file
// naming the first broken entry (no space, a part or the result not a token, a repeat).
std::unique_ptr<tokenizer_algorithm> make_bpe_algorithm(const vocab_data& v, pre_config cfg,
                                                        std::span<const std::string> merges, std::string_view file);

struct token_entry {
    uint32_t offset = 0;  // into vocab_data::arena
    uint32_t length = 0;
    float score = 0.0f;
    token_type type = token_type::normal;
    int16_t byte_value = -1;  // 0..255 for a BYTE token whose text is <0xNN>
    // Partitioning attributes: swallow whitespace left/right of a matched special token. GGUF
    // does not store them; llama.cpp sets them from the model name (phi-3), and so do we.
    bool lstrip = false;
    bool rstrip = false;
    bool eog = false;  // generating this token ends generation
};

struct vocab_data {
    tokenizer_kind kind = tokenizer_kind::spm;
    std::string arena;  // every token's text, back to back; never modified after loading
    std::vector<token_entry> tokens;
    std::unordered_map<std::string_view, token_id> by_text;  // views into arena
    size_t max_token_length = 0;
    std::array<token_id, 256> byte_tokens{};  // byte-fallback token of each byte value, -1 if none
    std::vector<token_id> special_candidates;  // CONTROL / USER_DEFINED / UNKNOWN, longest first

    token_id bos = -1, eos = -1, unk = -1, eot = -1, eom = -1, pad = -1;
    token_id fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
    std::vector<token_id> eog_ids;  // ascending
    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;
    bool clean_spaces = false;
    bool spm_word_split = false;  // SPM: no token has a ▁ right after another character  // detokenize applies Hugging Face's clean_up_tokenization_spaces
    std::string pre;            // BPE: the pre-tokenizer family in use

    std::unique_ptr<tokenizer_algorithm> algorithm;

    // What later stages derive from the vocabulary once and share among everyone holding it:
    // the grammar's token trie (src/grammar/token_mask.hpp), built on first use.
    struct derived_cache {
        std::mutex mutex;
        std::shared_ptr<const void> grammar_trie;
    };
    std::unique_ptr<derived_cache> derived = std::make_unique<derived_cache>();

    int32_t size() const noexcept { return int32_t(tokens.size()); }
    bool valid(token_id id) const noexcept { return id >= 0 && id < size(); }
    std::string_view text(token_id id) const noexcept {
        const auto& t = tokens[size_t(id)];
        return {arena.data() + t.offset, t.length};
    }
    token_id find(std::string_view s) const noexcept {
        if (s.size() > max_token_length) return -1;
        const auto it = by_text.find(s);
        return it == by_text.end() ? -1 : it->second;
    }
};

}  // namespace ember::detail
