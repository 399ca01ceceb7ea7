// The tokenizer: a vocabulary loaded from GGUF metadata (formats.md §7), text -> token ids and
// back, and a streaming decoder that turns generated ids into complete UTF-8.
//
// A vocab is immutable once loaded; copies share the same tables, so passing it by value is
// cheap and a copy may be used from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <utility>

namespace ember {

class gguf_file;
class vocab;
namespace detail {
struct vocab_data;
const vocab_data& vocab_data_of(const vocab& v) noexcept;  // the library's own stages (grammar)
}

using token_id = int32_t;

// tokenizer.ggml.token_type values (formats.md §7.2).
enum class token_type : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,       // <unk>
    control = 3,       // <s>, </s>, chat markers: matched in text only with special parsing
    user_defined = 4,  // added tokens: always matched in text before the model algorithm runs
    unused = 5,
    byte = 6,          // <0x00> ... <0xFF>
};

// Receives one warning per call (no trailing newline), e.g. to forward to model_params::log.
using warning_fn = std::function<void(std::string_view message)>;

// tokenizer.ggml.model values ember implements; the loader rejects the others (WordPiece,
// Unigram, ...) with errc::unsupported naming the model. Each algorithm is one implementation of
// the internal tokenizer_algorithm interface (src/tokenizer/vocab_data.hpp).
enum class tokenizer_kind {
    spm,  // "llama": SentencePiece-style BPE driven by piece scores
    bpe,  // "gpt2": byte-level BPE with merge ranks and a pre-tokenizer (tokenizer.ggml.pre)
};

struct detokenize_options {
    bool special = false;         // render control/unknown tokens as their text instead of nothing
    bool remove_special = false;  // drop a leading BOS / trailing EOS when the vocab adds them
};

class vocab {
public:
    // An empty vocabulary (size() == 0, every id out of range, tokenize throws); a placeholder
    // until a real one is assigned.
    vocab();

    // Reads tokenizer.ggml.* from `f` and validates it. Throws ember::error: bad_file when a key
    // is missing, has the wrong type or an inconsistent length, when the BOS/EOS/UNK id lies
    // outside the vocabulary, or when a BPE merge is broken (no space, a part or the result not
    // a token, a repeat; the message names the merge's index); unsupported for tokenizer models
    // other than "llama" and "gpt2", and for pre-tokenizers ember does not implement. An unknown
    // tokenizer.ggml.pre is a warning and the default pre-tokenizer, as in llama.cpp. Problems that
    // llama.cpp tolerates (an optional special id out of range, empty or duplicate token texts,
    // unknown token types) are repaired and reported through `warn`; without one nothing is
    // printed (the library never writes to stderr by itself).
    static vocab from_gguf(const gguf_file& f, const warning_fn& warn = nullptr);

    // Text -> ids, as llama.cpp's llama_tokenize: special tokens are split out first (control and
    // unknown ones only when `parse_special`), the fragments between them go through the model
    // algorithm, and with `add_special` BOS/EOS are added as the vocab asks (add_bos/add_eos).
    std::vector<token_id> tokenize(std::string_view text, bool add_special, bool parse_special) const;

    // The same with special parsing everywhere except inside `literal` (sorted, disjoint byte
    // ranges [first, second)): a control token's text there is tokenized as text, as with
    // parse_special = false. This is how a rendered chat prompt is tokenized: the template's own
    // markers are tokens, message contents are data (see ember/chat.hpp).
    std::vector<token_id> tokenize(std::string_view text, bool add_special,
                                   std::span<const std::pair<size_t, size_t>> literal) const;

    // One token's bytes: ▁ becomes a space, a byte token <0xNN> the raw byte (so a piece may be
    // an incomplete UTF-8 sequence), control and unknown tokens are empty unless `special`,
    // unused/undefined tokens are always empty. Throws invalid_argument for an id out of range.
    std::string token_to_piece(token_id id, bool special = false) const;

    // Ids -> text, as llama.cpp's llama_detokenize: the first token loses one leading space when
    // the vocab adds a space prefix (so detokenize(tokenize(x, false, false)) == x for ordinary
    // text) unless the sequence starts with BOS.
    std::string detokenize(std::span<const token_id> ids, detokenize_options opts = {}) const;

    tokenizer_kind kind() const noexcept;
    int32_t size() const noexcept;                  // number of tokens
    std::string_view token_text(token_id id) const;  // the raw vocabulary entry
    float score(token_id id) const;
    token_type type(token_id id) const;
    token_id find(std::string_view text) const noexcept;  // exact vocabulary entry, -1 if none

    // Special ids, -1 when the vocab has none.
    token_id bos() const noexcept;
    token_id eos() const noexcept;
    token_id unk() const noexcept;
    token_id eot() const noexcept;
    token_id eom() const noexcept;
    token_id pad() const noexcept;
    // End of generation: EOS, EOT, EOM, FIM pad/repo/separator and the end-of-turn markers
    // llama.cpp knows by text (<|eot_id|>, <|im_end|>, <|endoftext|>, <end_of_turn>, ...).
    bool is_eog(token_id id) const noexcept;
    std::span<const token_id> eog_ids() const noexcept;  // every such id, ascending
    bool is_control(token_id id) const noexcept;

    bool add_bos() const noexcept;
    bool add_eos() const noexcept;
    bool add_space_prefix() const noexcept;
    // Byte-level BPE: the pre-tokenizer family in use ("llama3", "qwen2", "gpt-2", "default",
    // ...); empty for SentencePiece.
    std::string_view pre_tokenizer() const noexcept;

private:
    friend const detail::vocab_data& detail::vocab_data_of(const vocab& v) noexcept;
    explicit vocab(std::shared_ptr<const detail::vocab_data> d) : d_(std::move(d)) {}
    std::vector<token_id> tokenize_impl(std::string_view text, bool add_special, bool parse_special,
                                        std::span<const std::pair<size_t, size_t>> literal) const;
    std::shared_ptr<const detail::vocab_data> d_;
};

// Turns generated token ids into text one id at a time, returning only complete UTF-8: a
// multi-byte character split over several byte tokens comes out once its last byte arrives.
// Bytes that can never form a valid character are replaced by U+FFFD (one per maximal invalid
// subsequence, as the Unicode standard recommends), so everything returned is valid UTF-8.
// Pieces are rendered with token_to_piece (no leading-space removal: the stream is assumed to
// continue a prompt).
class token_stream_decoder {
public:
    explicit token_stream_decoder(vocab v, bool special = false) : vocab_(std::move(v)), special_(special) {}

    // The text that became complete with this token (possibly empty).
    std::string push(token_id id);
    // End of stream: whatever is held back, an incomplete sequence becoming U+FFFD.
    std::string flush();
    void reset() { pending_.clear(); }
    size_t pending_bytes() const noexcept { return pending_.size(); }

private:
    vocab vocab_;
    bool special_;
    std::string pending_;
};

// Splits `bytes` into its longest valid UTF-8 prefix with invalid sequences replaced by U+FFFD,
// appended to `out`; returns how many trailing bytes were held back because they begin a
// character that is still incomplete (always 0 when `final`).
size_t utf8_sanitize(std::string_view bytes, bool final, std::string& out);

}  // namespace ember
