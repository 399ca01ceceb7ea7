// SentencePiece-style BPE (tokenizer.ggml.model = "llama"), formats.md §7.5.
//
// Characters start as one symbol each; the adjacent pair whose concatenation is the
// highest-scoring vocabulary entry is merged first, until no pair forms a token. Symbols are
// contiguous slices of the escaped text, so a pair's text is a view, never a copy.
#include <queue>
#include <unordered_map>
#include <string>
#include <vector>

#include "tokenizer/utf8.hpp"
#include "tokenizer/vocab_data.hpp"

namespace ember::detail {
namespace {

constexpr std::string_view k_space_marker = "\xE2\x96\x81";  // U+2581 '▁'

struct symbol {
    int32_t prev;
    int32_t next;
    uint32_t offset;  // into the escaped text
    uint32_t length;  // 0 once merged into its left neighbour
};

struct merge_candidate {
    float score;
    int32_t left;
    int32_t right;
    uint32_t length;  // left + right length when pushed; differs later iff the entry is stale
};

// Max-heap order: highest score first, ties to the leftmost pair (as SentencePiece and
// llama.cpp do).
struct candidate_order {
    bool operator()(const merge_candidate& a, const merge_candidate& b) const noexcept {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

class spm_algorithm final : public tokenizer_algorithm {
public:
    void encode(const vocab_data& v, std::string_view fragment, bool starts_segment,
                std::vector<token_id>& out) const override {
        std::string text;
        text.reserve(fragment.size() + 8);
        if (v.add_space_prefix && starts_segment) text += k_space_marker;
        for (char c : fragment) {
            if (c == ' ') text += k_space_marker;
            else text += c;
        }
        if (text.empty()) return;
        if (!v.spm_word_split) {
            encode_word(v, text, out);
            return;
        }
        // No token joins a character to a following ▁, so no merge crosses the start of a
        // word ("X▁..." with X not ▁): each word merges alone, to the same result as the whole
        // text, and repeated words are looked up.
        std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;  // word -> [begin, end) in `done`
        std::vector<token_id> done;
        const std::string_view all(text);
        size_t begin = 0;
        const auto flush = [&](size_t end) {
            const std::string_view word = all.substr(begin, end - begin);
            begin = end;
            if (word.empty()) return;
            if (word.size() <= 64) {
                if (const auto it = cache.find(word); it != cache.end()) {
                    out.insert(out.end(), done.begin() + it->second.first, done.begin() + it->second.second);
                    return;
                }
                const auto from = uint32_t(done.size());
                encode_word(v, word, done);
                cache.emplace(word, std::pair{from, uint32_t(done.size())});
                out.insert(out.end(), done.begin() + from, done.end());
                return;
            }
            encode_word(v, word, out);
        };
        for (size_t pos = 0; (pos = all.find(k_space_marker, pos)) != std::string_view::npos; pos += k_space_marker.size())
            if (pos > 0 && (pos < k_space_marker.size() ||
                            all.substr(pos - k_space_marker.size(), k_space_marker.size()) != k_space_marker))
                flush(pos);
        flush(all.size());
    }

private:
    // The merge loop on one piece of escaped text.
    void encode_word(const vocab_data& v, std::string_view text, std::vector<token_id>& out) const {
        // One symbol per UTF-8 character; a truncated sequence at the end is kept as it is.
        std::vector<symbol> symbols;
        symbols.reserve(text.size());
        for (size_t off = 0; off < text.size();) {
            const size_t n = std::min(utf8_sequence_length(uint8_t(text[off])), text.size() - off);
            const auto index = int32_t(symbols.size());
            symbols.push_back({index - 1, off + n == text.size() ? -1 : index + 1, uint32_t(off), uint32_t(n)});
            off += n;
        }

        std::priority_queue<merge_candidate, std::vector<merge_candidate>, candidate_order> queue;
        const auto try_add = [&](int32_t left, int32_t right) {
            if (left < 0 || right < 0) return;
            const symbol& l = symbols[size_t(left)];
            const symbol& r = symbols[size_t(right)];
            const token_id id = v.find(text.substr(l.offset, l.length + r.length));
            if (id < 0) return;
            queue.push({v.tokens[size_t(id)].score, left, right, l.length + r.length});
        };
        for (int32_t i = 1; i < int32_t(symbols.size()); ++i) try_add(i - 1, i);

        while (!queue.empty()) {
            const merge_candidate c = queue.top();
            queue.pop();
            symbol& l = symbols[size_t(c.left)];
            symbol& r = symbols[size_t(c.right)];
            // A merge only ever grows a symbol or empties it, so an unchanged total length means
            // neither side has changed since the candidate was pushed.
            if (l.length == 0 || r.length == 0 || l.length + r.length != c.length) continue;
            l.length += r.length;
            r.length = 0;
            l.next = r.next;
            if (r.next >= 0) symbols[size_t(r.next)].prev = c.left;
            try_add(l.prev, c.left);
            try_add(c.left, l.next);
        }

        for (int32_t i = 0; i >= 0; i = symbols[size_t(i)].next) {
            const symbol& s = symbols[size_t(i)];
            const std::string_view piece = text.substr(s.offset, s.length);
            if (const token_id id = v.find(piece); id >= 0) {
                out.push_back(id);
                continue;
            }
            // Only an unmerged character can miss the vocabulary: spell it in byte tokens.
            // Without a byte token for some byte (an incomplete vocab) use <unk>, or drop it.
            for (char b : piece) {
                const token_id bt = v.byte_tokens[uint8_t(b)];
                if (bt >= 0) out.push_back(bt);
                else if (v.unk >= 0) out.push_back(v.unk);
            }
        }
    }

public:
    void append_normal_piece(std::string_view token_text, std::string& out) const override {
        for (size_t pos = 0;;) {
            const size_t hit = token_text.find(k_space_marker, pos);
            if (hit == std::string_view::npos) {
                out.append(token_text.substr(pos));
                return;
            }
            out.append(token_text.substr(pos, hit - pos));
            out += ' ';
            pos = hit + k_space_marker.size();
        }
    }
};

}  // namespace

std::unique_ptr<tokenizer_algorithm> make_spm_algorithm() { return std::make_unique<spm_algorithm>(); }

}  // namespace ember::detail
