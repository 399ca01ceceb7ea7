// ember::vocab at run time: special-token partitioning, tokenize, pieces and detokenize.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/vocab_data.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;
using detail::vocab_data;

namespace {

struct fragment {
    token_id special;  // -1: raw text [offset, offset + length) of the input
    size_t offset;
    size_t length;
};

// The C locale's isspace, which llama.cpp applies to the bytes around lstrip/rstrip tokens.
bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Splits the raw text around special tokens (formats.md §7.3). Candidates are taken one at a
// time, longest first, and each one splits every raw fragment left at all its occurrences --
// the order llama.cpp uses, which differs from a leftmost-longest scan when candidates overlap.
std::vector<fragment> partition(const vocab_data& d, std::string_view text, bool parse_special,
                                std::span<const std::pair<size_t, size_t>> literal = {}) {
    // A control token matched inside a literal range is not a token there (user-defined ones
    // are, as with parse_special = false).
    auto in_literal = [&](size_t b, size_t e) {
        for (const auto& [lb, le] : literal)
            if (b < le && lb < e) return true;
        return false;
    };
    std::vector<fragment> frags;
    if (text.empty()) return frags;
    frags.push_back({-1, 0, text.size()});
    std::vector<fragment> next;
    for (const token_id id : d.special_candidates) {
        const auto& tok = d.tokens[size_t(id)];
        if (!parse_special && tok.type != token_type::user_defined) continue;
        const std::string_view needle = d.text(id);
        if (text.find(needle) == std::string_view::npos) continue;

        next.clear();
        for (const fragment& f : frags) {
            if (f.special >= 0) {
                next.push_back(f);
                continue;
            }
            size_t pos = f.offset;
            const size_t end = f.offset + f.length;
            const std::string_view window = text.substr(0, end);
            while (pos < end) {
                size_t m = window.find(needle, pos);
                if (!literal.empty() && tok.type != token_type::user_defined)
                    while (m != std::string_view::npos && in_literal(m, m + needle.size())) m = window.find(needle, m + 1);
                if (m == std::string_view::npos) break;
                size_t left_len = m - pos;
                if (tok.lstrip)
                    while (left_len > 0 && is_space(text[pos + left_len - 1])) --left_len;
                if (left_len > 0) next.push_back({-1, pos, left_len});
                next.push_back({id, m, needle.size()});
                pos = m + needle.size();
                if (tok.rstrip)
                    while (pos < end && is_space(text[pos])) ++pos;
            }
            if (pos < end) next.push_back({-1, pos, end - pos});
        }
        frags.swap(next);
    }
    return frags;
}

// Hugging Face's clean_up_tokenization_spaces, in llama.cpp's three in-place passes over the
// bytes (each pass reads the output of the one before):
//  1. " ?", " !", " .", " ," lose the space;
//  2. " ' " becomes "'" -- the byte after the quote is dropped and reads as NUL to the next test;
//  3. " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it).
void clean_up_spaces(std::string& s) {
    size_t total = s.size();
    {
        const size_t n = total;
        total = n ? 1 : 0;
        for (size_t i = 1; i < n; ++i) {
            const char x = s[i];
            if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
            s[total++] = x;
        }
    }
    {
        const size_t n = total;
        total = n ? 1 : 0;
        for (size_t i = 1; i < n; ++i) {
            const char x = s[i];
            if (x == '\'' && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ') {
                --total;
                s[++i] = '\0';
            }
            s[total++] = x;
        }
    }
    {
        const size_t n = total;
        total = n ? 1 : 0;
        for (size_t i = 1; i < n; ++i) {
            const char x = s[i];
            if (s[i - 1] == ' ' && x == '\'' && i + 1 < n) {
                const char x1 = s[i + 1];
                if (x1 == 's' || x1 == 'm') --total;
                else if (i + 2 < n && ((x1 == 'r' && s[i + 2] == 'e') || (x1 == 'v' && s[i + 2] == 'e'))) --total;
            }
            s[total++] = x;
        }
    }
    s.resize(total);
}

}  // namespace

const vocab_data& detail::vocab_data_of(const vocab& v) noexcept { return *v.d_; }

vocab::vocab() {
    static const auto empty = std::make_shared<const vocab_data>();
    d_ = empty;
}

std::vector<token_id> vocab::tokenize(std::string_view text, bool add_special, bool parse_special) const {
    return tokenize_impl(text, add_special, parse_special, {});
}

std::vector<token_id> vocab::tokenize(std::string_view text, bool add_special,
                                      std::span<const std::pair<size_t, size_t>> literal) const {
    return tokenize_impl(text, add_special, true, literal);
}

std::vector<token_id> vocab::tokenize_impl(std::string_view text, bool add_special, bool parse_special,
                                           std::span<const std::pair<size_t, size_t>> literal) const {
    const vocab_data& d = *d_;
    if (!d.algorithm) fail(errc::invalid_argument, "tokenize: the vocabulary is empty (not loaded)");
    // Symbol offsets inside the algorithms are 32-bit.
    if (text.size() > size_t(std::numeric_limits<int32_t>::max()))
        fail(errc::invalid_argument, "tokenize: text of {} bytes is too long (limit 2 GiB)", text.size());

    std::vector<token_id> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special && d.add_bos) out.push_back(d.bos);
    bool starts_segment = true;  // the first fragment gets the SPM space prefix, even after BOS
    for (const fragment& f : partition(d, text, parse_special, literal)) {
        if (f.special >= 0) {
            out.push_back(f.special);
            starts_segment = true;
        } else {
            d.algorithm->encode(d, text.substr(f.offset, f.length), starts_segment, out);
            starts_segment = false;
        }
    }
    if (add_special && d.add_eos) out.push_back(d.eos);
    return out;
}

std::string vocab::token_to_piece(token_id id, bool special) const {
    const vocab_data& d = *d_;
    if (!d.valid(id)) fail(errc::invalid_argument, "token id {} is outside the vocabulary of {} tokens", id, d.size());
    const auto& t = d.tokens[size_t(id)];
    std::string out;
    switch (t.type) {
        case token_type::control:
        case token_type::unknown:
            if (special) out = d.text(id);
            break;
        case token_type::user_defined: out = d.text(id); break;
        case token_type::normal: d.algorithm->append_normal_piece(d.text(id), out); break;
        case token_type::byte:
            if (t.byte_value >= 0) out = char(t.byte_value);
            else out = d.text(id);
            break;
        case token_type::unused:
        case token_type::undefined: break;  // llama.cpp renders these as nothing, even with special
    }
    return out;
}

std::string vocab::detokenize(std::span<const token_id> ids, detokenize_options opts) const {
    const vocab_data& d = *d_;
    // llama_detokenize strips one space from the first piece, to undo the space prefix that
    // tokenize added -- except after a leading BOS, whose piece (empty or not) comes first.
    bool remove_space = d.add_space_prefix;
    if (opts.remove_special && d.add_bos && !ids.empty() && ids.front() == d.bos) {
        remove_space = false;
        ids = ids.subspan(1);
    }
    if (opts.remove_special && d.add_eos && !ids.empty() && ids.back() == d.eos) ids = ids.first(ids.size() - 1);

    std::string out;
    for (const token_id id : ids) {
        std::string piece = token_to_piece(id, opts.special);
        if (remove_space && !piece.empty() && piece.front() == ' ') piece.erase(0, 1);
        remove_space = false;
        out += piece;
    }
    if (d.clean_spaces) clean_up_spaces(out);
    return out;
}

tokenizer_kind vocab::kind() const noexcept { return d_->kind; }
int32_t vocab::size() const noexcept { return d_->size(); }

std::string_view vocab::token_text(token_id id) const {
    if (!d_->valid(id)) fail(errc::invalid_argument, "token id {} is outside the vocabulary of {} tokens", id, d_->size());
    return d_->text(id);
}
float vocab::score(token_id id) const {
    if (!d_->valid(id)) fail(errc::invalid_argument, "token id {} is outside the vocabulary of {} tokens", id, d_->size());
    return d_->tokens[size_t(id)].score;
}
token_type vocab::type(token_id id) const {
    if (!d_->valid(id)) fail(errc::invalid_argument, "token id {} is outside the vocabulary of {} tokens", id, d_->size());
    return d_->tokens[size_t(id)].type;
}
token_id vocab::find(std::string_view text) const noexcept { return d_->find(text); }

token_id vocab::bos() const noexcept { return d_->bos; }
token_id vocab::eos() const noexcept { return d_->eos; }
token_id vocab::unk() const noexcept { return d_->unk; }
token_id vocab::eot() const noexcept { return d_->eot; }
token_id vocab::eom() const noexcept { return d_->eom; }
token_id vocab::pad() const noexcept { return d_->pad; }
bool vocab::is_eog(token_id id) const noexcept { return d_->valid(id) && d_->tokens[size_t(id)].eog; }
std::span<const token_id> vocab::eog_ids() const noexcept { return d_->eog_ids; }
std::string_view vocab::pre_tokenizer() const noexcept { return d_->pre; }
bool vocab::is_control(token_id id) const noexcept {
    return d_->valid(id) && d_->tokens[size_t(id)].type == token_type::control;
}
bool vocab::add_bos() const noexcept { return d_->add_bos; }
bool vocab::add_eos() const noexcept { return d_->add_eos; }
bool vocab::add_space_prefix() const noexcept { return d_->add_space_prefix; }

}  // namespace ember
