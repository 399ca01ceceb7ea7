// Byte-level BPE (tokenizer.ggml.model = "gpt2"): GPT-2's byte-to-unicode map, pre-tokenization
// (pretokenize.hpp) and merges by rank, as llama.cpp's llm_tokenizer_bpe_session.
//
// Every byte of a word starts as one symbol (the vocabulary holds the 256 mapped byte
// characters); the adjacent pair with the lowest merge rank is merged first, the leftmost on
// ties, until no adjacent pair has a merge. Symbols are token ids throughout: a merge is
// accepted at load only when both parts and the result are vocabulary entries, so a merged
// symbol is always a token and the lookup is one hash probe on an id pair.
#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <limits>
#include <queue>
#include <string>
#include <vector>

#include "tokenizer/pretokenize.hpp"
#include "tokenizer/vocab_data.hpp"
#include "core/util.hpp"

namespace ember::detail {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 map
// to U+0100.. in byte order.
std::array<uint32_t, 256> gpt2_byte_to_codepoint() {
    std::array<uint32_t, 256> map{};
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        map[b] = printable ? b : next++;
    }
    return map;
}

namespace {

constexpr int32_t k_no_rank = std::numeric_limits<int32_t>::max();

// (left id, right id) -> (rank, merged id), open addressing, keys never removed.
class merge_table {
public:
    struct entry {
        uint64_t key = k_empty;
        int32_t rank = k_no_rank;
        token_id result = -1;
    };

    explicit merge_table(size_t n) {
        size_t cap = 16;
        while (cap < n * 2) cap <<= 1;
        slots_.resize(cap);
        mask_ = cap - 1;
    }
    // The entry already there for the key (its rank is the earlier merge), or the new one.
    const entry& insert(token_id l, token_id r, int32_t rank, token_id result) {
        const uint64_t k = key(l, r);
        for (size_t i = hash(k);; i = (i + 1) & mask_) {
            entry& e = slots_[i];
            if (e.key == k) return e;
            if (e.key == k_empty) {
                e = {k, rank, result};
                return e;
            }
        }
    }
    const entry* find(token_id l, token_id r) const noexcept {
        const uint64_t k = key(l, r);
        for (size_t i = hash(k);; i = (i + 1) & mask_) {
            const entry& e = slots_[i];
            if (e.key == k) return &e;
            if (e.key == k_empty) return nullptr;
        }
    }

private:
    static constexpr uint64_t k_empty = ~uint64_t(0);
    static uint64_t key(token_id l, token_id r) noexcept { return uint64_t(uint32_t(l)) << 32 | uint32_t(r); }
    size_t hash(uint64_t k) const noexcept { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }
    std::vector<entry> slots_;
    size_t mask_ = 0;
};

struct symbol {
    token_id id;
    int32_t prev;
    int32_t next;
    uint8_t byte;  // the word byte this symbol started as (for the fallback of unknown bytes)
};

class bpe_algorithm final : public tokenizer_algorithm {
public:
    bpe_algorithm(pre_config cfg, merge_table merges, bool ordered, const vocab_data& v)
        : cfg_(std::move(cfg)), pre_(cfg_.steps), merges_(std::move(merges)), ordered_(ordered) {
        const auto map = gpt2_byte_to_codepoint();
        decode_.fill(-1);
        for (int b = 0; b < 256; ++b) {
            std::string& enc = encoded_[size_t(b)];
            append_utf8(map[size_t(b)], enc);
            decode_[map[size_t(b)]] = int16_t(b);
            byte_ids_[size_t(b)] = v.find(enc);
            // llama.cpp's fallback for a symbol missing from the vocabulary: each byte of its
            // mapped text looked up as a one-byte token.
            for (char c : enc)
                if (const token_id id = v.find(std::string_view(&c, 1)); id >= 0) fallback_[size_t(b)].push_back(id);
        }
    }

    void encode(const vocab_data& v, std::string_view fragment, bool, std::vector<token_id>& out) const override {
        std::vector<uint32_t> cps, lengths, scratch;
        utf8_to_codepoints(fragment, cps);
        pre_.split(cps, lengths, scratch);
        std::string word, mapped;
        std::vector<symbol> symbols;
        size_t begin = 0;
        for (const uint32_t len : lengths) {
            word.clear();
            for (size_t i = begin; i < begin + len; ++i) append_utf8(cps[i], word);
            begin += len;
            encode_word(v, word, mapped, symbols, out);
        }
    }

    void append_normal_piece(std::string_view token_text, std::string& out) const override {
        std::vector<uint32_t> cps;
        utf8_to_codepoints(token_text, cps);
        for (const uint32_t cp : cps) {
            if (cp < decode_.size() && decode_[cp] >= 0) {
                out += char(decode_[cp]);
                continue;
            }
            // As llama.cpp: the code point's UTF-8 in hex, then the whole token text.
            std::string utf8;
            append_utf8(cp, utf8);
            out += "[UNK_BYTE_0x";
            for (const char c : utf8) out += fmt::format("{:02x}", uint8_t(c));
            out += token_text;
            out += ']';
        }
    }

private:
    void encode_word(const vocab_data& v, std::string_view word, std::string& mapped, std::vector<symbol>& symbols,
                     std::vector<token_id>& out) const {
        if (cfg_.ignore_merges) {
            mapped.clear();
            for (const char c : word) mapped += encoded_[uint8_t(c)];
            if (const token_id id = v.find(mapped); id >= 0) {
                out.push_back(id);
                return;
            }
        }
        symbols.resize(word.size());
        for (size_t i = 0; i < word.size(); ++i) {
            const uint8_t b = uint8_t(word[i]);
            symbols[i] = {byte_ids_[b], int32_t(i) - 1, i + 1 == word.size() ? -1 : int32_t(i) + 1, b};
        }
        if (symbols.size() <= k_scan_limit) merge_by_scan(symbols);
        else if (ordered_ && !bpe_force_heap.load(std::memory_order_relaxed)) merge_by_rank_buckets(symbols);
        else merge_by_heap(symbols);
        for (int32_t i = 0; i >= 0; i = symbols[size_t(i)].next) {
            const symbol& s = symbols[size_t(i)];
            if (s.id >= 0) out.push_back(s.id);
            else out.insert(out.end(), fallback_[s.byte].begin(), fallback_[s.byte].end());
        }
    }

    int32_t rank(const std::vector<symbol>& s, int32_t left, token_id* result = nullptr) const noexcept {
        const int32_t right = s[size_t(left)].next;
        if (right < 0 || s[size_t(left)].id < 0 || s[size_t(right)].id < 0) return k_no_rank;
        const auto* e = merges_.find(s[size_t(left)].id, s[size_t(right)].id);
        if (!e) return k_no_rank;
        if (result) *result = e->result;
        return e->rank;
    }

    static void merge_into_left(std::vector<symbol>& s, int32_t left, token_id result) {
        const int32_t right = s[size_t(left)].next;
        s[size_t(left)].id = result;
        s[size_t(left)].next = s[size_t(right)].next;
        if (s[size_t(right)].next >= 0) s[size_t(s[size_t(right)].next)].prev = left;
        s[size_t(right)].prev = s[size_t(right)].next = -2;  // dead
    }

    // Short words: find the lowest-ranked adjacent pair by scanning (ranks cached per pair).
    static constexpr size_t k_scan_limit = 48;
    void merge_by_scan(std::vector<symbol>& s) const {
        std::array<int32_t, k_scan_limit> ranks;
        std::array<token_id, k_scan_limit> results;
        for (int32_t i = 0; i < int32_t(s.size()); ++i) ranks[size_t(i)] = rank(s, i, &results[size_t(i)]);
        while (true) {
            int32_t best = -1, best_rank = k_no_rank;
            for (int32_t i = 0; i >= 0; i = s[size_t(i)].next)
                if (ranks[size_t(i)] < best_rank) best_rank = ranks[size_t(i)], best = i;
            if (best < 0) return;
            merge_into_left(s, best, results[size_t(best)]);
            ranks[size_t(best)] = rank(s, best, &results[size_t(best)]);
            if (const int32_t p = s[size_t(best)].prev; p >= 0) ranks[size_t(p)] = rank(s, p, &results[size_t(p)]);
        }
    }

    // Long words: a priority queue of candidate pairs; a candidate whose symbols changed since
    // it was pushed is stale and skipped (ids only ever grow into new tokens, so equal ids mean
    // unchanged symbols).
    void merge_by_heap(std::vector<symbol>& s) const {
        struct candidate {
            int32_t rank, left, right;
            token_id left_id, right_id, result;
            bool operator<(const candidate& o) const noexcept {  // max-heap order: lowest rank, leftmost
                return rank > o.rank || (rank == o.rank && left > o.left);
            }
        };
        std::priority_queue<candidate> queue;
        const auto push = [&](int32_t left) {
            if (left < 0) return;
            token_id result = -1;
            const int32_t r = rank(s, left, &result);
            if (r == k_no_rank) return;
            const int32_t right = s[size_t(left)].next;
            queue.push({r, left, right, s[size_t(left)].id, s[size_t(right)].id, result});
        };
        for (int32_t i = 0; i + 1 < int32_t(s.size()); ++i) push(i);
        while (!queue.empty()) {
            const candidate c = queue.top();
            queue.pop();
            const symbol& l = s[size_t(c.left)];
            if (l.next != c.right || l.id != c.left_id || s[size_t(c.right)].id != c.right_id) continue;
            merge_into_left(s, c.left, c.result);
            push(s[size_t(c.left)].prev);
            push(c.left);
        }
    }

    // Long words of an ordered merge list (see make_bpe_algorithm): a merge only creates pairs
    // of higher rank than its own, so ranks can be taken in increasing order, each rank's pairs
    // left to right -- the heap's order without a heap of every pair. For a megabyte of one
    // character this is several times faster than the heap, whose sift-downs miss the cache.
    void merge_by_rank_buckets(std::vector<symbol>& s) const {
        struct candidate {
            int32_t left, right;
            token_id left_id, right_id, result;
        };
        std::map<int32_t, std::vector<candidate>> buckets;
        const auto push = [&](int32_t left) {
            if (left < 0) return;
            token_id result = -1;
            const int32_t r = rank(s, left, &result);
            if (r == k_no_rank) return;
            const int32_t right = s[size_t(left)].next;
            buckets[r].push_back({left, right, s[size_t(left)].id, s[size_t(right)].id, result});
        };
        for (int32_t i = 0; i + 1 < int32_t(s.size()); ++i) push(i);
        while (!buckets.empty()) {
            auto node = buckets.extract(buckets.begin());
            std::vector<candidate>& pairs = node.mapped();
            std::sort(pairs.begin(), pairs.end(), [](const candidate& a, const candidate& b) { return a.left < b.left; });
            for (const candidate& c : pairs) {
                const symbol& l = s[size_t(c.left)];
                if (l.next != c.right || l.id != c.left_id || s[size_t(c.right)].id != c.right_id) continue;
                merge_into_left(s, c.left, c.result);
                push(s[size_t(c.left)].prev);  // both new pairs rank above node.key()
                push(c.left);
            }
        }
    }

    pre_config cfg_;
    pretokenizer pre_;
    merge_table merges_;
    bool ordered_;
    std::array<std::string, 256> encoded_;            // byte -> its mapped character (UTF-8)
    std::array<token_id, 256> byte_ids_{};            // byte -> token of that character, -1 if none
    std::array<std::vector<token_id>, 256> fallback_;  // byte -> ids when byte_ids_ is -1
    std::array<int16_t, 0x144> decode_{};             // mapped code point -> byte, -1 if none
};

}  // namespace

std::atomic<bool> bpe_force_heap{false};

std::unique_ptr<tokenizer_algorithm> make_bpe_algorithm(const vocab_data& v, pre_config cfg,
                                                        std::span<const std::string> merges, std::string_view file) {
    merge_table table(merges.size());
    // "Ordered": every merge's result is made by that merge only, and both its parts are byte
    // characters or results of earlier merges -- as BPE training writes them. Then a merge of
    // rank r can only create pairs of rank > r, which merge_by_rank_buckets relies on.
    std::vector<int32_t> made_by(size_t(v.size()), -1);  // merge index that makes each token
    std::vector<bool> is_byte(size_t(v.size()), false);
    for (int b = 0; b < 256; ++b) {
        std::string enc;
        append_utf8(gpt2_byte_to_codepoint()[size_t(b)], enc);
        if (const token_id id = v.find(enc); id >= 0) is_byte[size_t(id)] = true;
    }
    bool ordered = true;
    std::string joined;
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string_view m = merges[i];
        const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
        if (space == std::string_view::npos)
            fail(errc::bad_file, "{}: tokenizer.ggml.merges[{}] = '{}' is not two tokens separated by a space", file, i, m);
        const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
        const token_id l = v.find(left), r = v.find(right);
        if (l < 0 || r < 0)
            fail(errc::bad_file, "{}: tokenizer.ggml.merges[{}] = '{}' names '{}', which is not in the vocabulary", file, i, m,
                 l < 0 ? left : right);
        joined.assign(left);
        joined += right;
        const token_id result = v.find(joined);
        if (result < 0)
            fail(errc::bad_file, "{}: tokenizer.ggml.merges[{}] = '{}' makes '{}', which is not in the vocabulary", file, i, m,
                 joined);
        const auto& e = table.insert(l, r, int32_t(i), result);
        if (e.rank != int32_t(i))
            fail(errc::bad_file, "{}: tokenizer.ggml.merges[{}] = '{}' repeats tokenizer.ggml.merges[{}]", file, i, m, e.rank);
        const auto made_before = [&](token_id t) { return is_byte[size_t(t)] || made_by[size_t(t)] >= 0; };
        if (!made_before(l) || !made_before(r) || made_by[size_t(result)] >= 0 || is_byte[size_t(result)]) ordered = false;
        if (made_by[size_t(result)] < 0) made_by[size_t(result)] = int32_t(i);
    }
    return std::make_unique<bpe_algorithm>(std::move(cfg), std::move(table), ordered, v);
}

}  // namespace ember::detail
