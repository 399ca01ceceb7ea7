// Pre-tokenizers for byte-level BPE (see pretokenize.hpp).
#include "tokenizer/pretokenize.hpp"

#include <algorithm>
#include <stdexcept>

#include "tokenizer/unicode.hpp"

namespace ember::detail {

// ---------------------------------------------------------------------------------------------
// UTF-8

void utf8_to_codepoints(std::string_view s, std::vector<uint32_t>& out) {
    out.clear();
    out.reserve(s.size());
    const size_t n = s.size();
    const auto byte = [&](size_t i) { return uint8_t(s[i]); };
    const auto cont = [&](size_t i) { return i < n && (byte(i) & 0xC0) == 0x80; };
    for (size_t i = 0; i < n;) {
        const uint8_t b = byte(i);
        if (b < 0x80) {
            out.push_back(b);
            i += 1;
        } else if ((b & 0xE0) == 0xC0 && cont(i + 1)) {
            out.push_back(uint32_t(b & 0x1F) << 6 | (byte(i + 1) & 0x3F));
            i += 2;
        } else if ((b & 0xF0) == 0xE0 && cont(i + 1) && cont(i + 2)) {
            out.push_back(uint32_t(b & 0x0F) << 12 | uint32_t(byte(i + 1) & 0x3F) << 6 | (byte(i + 2) & 0x3F));
            i += 3;
        } else if ((b & 0xF8) == 0xF0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
            const uint32_t cp = uint32_t(b & 0x07) << 18 | uint32_t(byte(i + 1) & 0x3F) << 12 |
                                uint32_t(byte(i + 2) & 0x3F) << 6 | (byte(i + 3) & 0x3F);
            out.push_back(cp <= 0x10FFFF ? cp : 0xFFFD);
            i += 4;
        } else {
            out.push_back(0xFFFD);
            i += 1;
        }
    }
}


namespace {

// ---------------------------------------------------------------------------------------------
// The hand-written splitters. They walk one word [begin, end) of the previous step; a position
// outside it has no class at all (llama.cpp's empty flags), which ends every run.

struct word_view {
    const uint32_t* cps;
    size_t begin, end;
    bool in(size_t p) const noexcept { return p >= begin && p < end; }
    uint32_t cp(size_t p) const noexcept { return in(p) ? cps[p] : 0xFFFFFFFFu; }
    cpt_class cls(size_t p) const noexcept { return in(p) ? classify(cps[p]) : cpt_class{}; }
    // Every code point below U+110000 has a class (unassigned ones: "undefined"), so this is
    // "inside the word" -- the `flags.as_uint() != 0` of llama.cpp.
    bool any(size_t p) const noexcept { return in(p); }
};

struct emitter {
    std::vector<uint32_t>& out;
    size_t prev;
    // Emits [prev, end) if it is not empty; returns its length.
    size_t to(size_t end) {
        const size_t len = end - prev;
        if (len) out.push_back(uint32_t(len));
        prev = end;
        return len;
    }
};

uint32_t ascii_lower(uint32_t c) noexcept { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// 's|'t|'re|'ve|'m|'ll|'d at p (case-insensitive when `fold`): the length matched, or 0.
size_t contraction(const word_view& w, size_t p, bool fold) {
    if (w.cp(p) != '\'' || !w.in(p + 1)) return 0;
    const auto at = [&](size_t q) { return fold ? ascii_lower(w.cp(q)) : w.cp(q); };
    const uint32_t a = at(p + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (!w.in(p + 2)) return 0;
    const uint32_t b = at(p + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

// \s+(?!\S) | \s+ at p with `n` whitespace code points from p: how far the match reaches.
size_t whitespace_run(const word_view& w, size_t p, size_t n) {
    if (n > 1 && w.in(p + n)) return p + n - 1;  // leave the last one to the next word
    return p + n;
}

void split_gpt2(const word_view& w, std::vector<uint32_t>& out) {
    emitter e{out, w.begin};
    for (size_t p = w.begin; p < w.end;) {
        if (const size_t c = contraction(w, p, false)) {
            p += e.to(p + c);
            continue;
        }
        const uint32_t cp = w.cp(p);
        const size_t q = p + (cp == ' ');  // the optional leading space
        const cpt_class c2 = w.cls(q);
        if (w.in(q) && c2.letter()) {
            for (p = q; w.cls(p).letter() && w.in(p);) ++p;
            e.to(p);
            continue;
        }
        if (w.in(q) && c2.number()) {
            for (p = q; w.cls(p).number() && w.in(p);) ++p;
            e.to(p);
            continue;
        }
        const auto other = [&](size_t r) {
            const cpt_class c = w.cls(r);
            return w.any(r) && !(c.whitespace() || c.letter() || c.number());
        };
        if (other(q)) {
            for (p = q; other(p);) ++p;
            e.to(p);
            continue;
        }
        size_t n = 0;
        while (w.in(p + n) && w.cls(p + n).whitespace()) ++n;
        if (n > 0) {
            p = whitespace_run(w, p, n);
            e.to(p);
            continue;
        }
        e.to(++p);  // nothing matches: the code point is a word of its own
    }
}

// The Llama-3 family: `max_digits` 3 (llama3) or 1 (qwen2); `marks` lets letter runs take
// combining marks and keeps them out of punctuation runs (qwen35).
void split_llama3(const word_view& w, size_t max_digits, bool marks, std::vector<uint32_t>& out) {
    emitter e{out, w.begin};
    const auto letter = [&](size_t r) {
        const cpt_class c = w.cls(r);
        return w.in(r) && (c.letter() || (marks && c.mark()));
    };
    for (size_t p = w.begin; p < w.end;) {
        if (const size_t c = contraction(w, p, true)) {
            p += e.to(p + c);
            continue;
        }
        const uint32_t cp = w.cp(p);
        const cpt_class cls = w.cls(p);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (!(cp == '\r' || cp == '\n' || cls.number()) && (letter(p) || letter(p + 1))) {
            ++p;
            while (letter(p)) ++p;
            e.to(p);
            continue;
        }
        // \p{N}{1,3} or \p{N}
        if (cls.number()) {
            size_t start = p;
            while (w.in(p) && w.cls(p).number()) {
                if (++p - start >= max_digits) {
                    e.to(p);
                    start = p;
                }
            }
            e.to(p);
            continue;
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*' -- llama.cpp tests the *first* code point for being
        // inside the word, so a lone trailing space also lands here.
        const auto other = [&](size_t r) {
            const cpt_class c = w.cls(r);
            return w.any(r) && !(c.whitespace() || c.letter() || c.number() || (marks && c.mark()));
        };
        const size_t q = p + (cp == ' ');
        const cpt_class c2 = w.cls(q);
        if (!(c2.whitespace() || c2.letter() || c2.number() || (marks && c2.mark()))) {
            for (p = q; other(p);) ++p;
            while (w.cp(p) == '\r' || w.cp(p) == '\n') ++p;
            e.to(p);
            continue;
        }
        // \s*[\r\n]+ | \s+(?!\S) | \s+
        size_t n = 0, last_newline_end = 0;
        while (w.in(p + n) && w.cls(p + n).whitespace()) {
            const uint32_t c = w.cp(p + n);
            if (c == '\r' || c == '\n') last_newline_end = p + n + 1;
            ++n;
        }
        if (last_newline_end > 0) {
            p = last_newline_end;
            e.to(p);
            continue;
        }
        if (n > 0) {
            p = whitespace_run(w, p, n);
            e.to(p);
            continue;
        }
        e.to(++p);
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The general matcher.
//
// Syntax (the subset llama.cpp's remaining expressions use): literal code points (UTF-8),
// escapes \s \r \n \t and \<punctuation>, \p{L} \p{N} \p{P} \p{M} \p{S}, classes [...] with
// ranges and ^, quantifiers ? * + {n} {n,m} on any atom, and $ (end of the word). No
// alternation, groups or lookaround.
//
// The text is matched the way llama.cpp feeds std::regex: a pattern that uses \p{..} sees every
// non-ASCII code point "collapsed" to its category (so it matches \p{..} but no literal), and
// every non-ASCII White_Space code point is seen as U+000B (so it matches \s) in both modes.

class regex_program {
public:
    explicit regex_program(std::string_view expression);

    // Appends to `out` the matches and gaps of one word [begin, end) of `cps`.
    void split(const uint32_t* cps, size_t begin, size_t end, std::vector<uint32_t>& out) const;

private:
    static constexpr uint32_t k_collapsed = 0x80000000u;  // | ucat, for a collapsed code point

    struct char_class {
        std::vector<std::pair<uint32_t, uint32_t>> ranges;
        uint8_t categories = 0;  // bit per ucat; matched by collapsed code points
        bool negated = false;
        bool matches(uint32_t c) const noexcept {
            bool in = false;
            if (c & k_collapsed) {
                in = (categories >> (c & 7)) & 1;
            } else {
                for (const auto& [lo, hi] : ranges)
                    if (c >= lo && c <= hi) {
                        in = true;
                        break;
                    }
            }
            return in != negated;
        }
    };
    struct item {
        bool end_anchor = false;
        char_class cls;
        uint32_t min = 1, max = 1;
    };

    uint32_t view(uint32_t cp) const noexcept {
        if (cp < 0x80) return cp;
        const cpt_class c = classify(cp);
        if (c.whitespace()) return 0x0B;
        return collapsed_ ? k_collapsed | uint32_t(c.category()) : cp;
    }
    // Per-word matching state: for each item, the run of its class found last, [from, to)
    // (every position in it matches; `to` does not). A run covers every start inside it, so
    // no run is scanned twice and long runs cost linear time.
    struct state {
        const std::vector<uint32_t>& text;
        std::vector<std::pair<size_t, size_t>> runs;
    };
    // End of the match of items[i..] at p, or SIZE_MAX.
    size_t match(state& s, size_t i, size_t p) const;

    std::vector<item> items_;
    bool collapsed_ = false;
};

namespace {

[[noreturn]] void bad_pattern(std::string_view expr, std::string_view why) {
    throw std::logic_error("pre-tokenizer pattern '" + std::string(expr) + "': " + std::string(why));
}

uint32_t decode_one(std::string_view s, size_t& i) {
    std::vector<uint32_t> cp;
    const size_t n = std::min<size_t>(s.size() - i, (uint8_t(s[i]) < 0x80) ? 1 : (uint8_t(s[i]) < 0xE0) ? 2 : (uint8_t(s[i]) < 0xF0) ? 3 : 4);
    utf8_to_codepoints(s.substr(i, n), cp);
    i += n;
    return cp.empty() ? 0xFFFD : cp[0];
}

// ASCII members of \p{..}, as llama.cpp spells them out for the collapsed text.
void add_category(char name, std::vector<std::pair<uint32_t, uint32_t>>& ranges, uint8_t& categories, std::string_view expr) {
    switch (name) {
        case 'N':
            categories |= 1u << uint8_t(ucat::number);
            ranges.push_back({'0', '9'});
            break;
        case 'L':
            categories |= 1u << uint8_t(ucat::letter);
            ranges.push_back({'A', 'Z'});
            ranges.push_back({'a', 'z'});
            break;
        case 'P':
            categories |= 1u << uint8_t(ucat::punctuation);
            for (auto r : {std::pair<uint32_t, uint32_t>{0x21, 0x23}, {0x25, 0x2A}, {0x2C, 0x2F}, {0x3A, 0x3B}, {0x3F, 0x40},
                           {0x5B, 0x5D}, {0x5F, 0x5F}, {0x7B, 0x7B}, {0x7D, 0x7D}})
                ranges.push_back(r);
            break;
        case 'M': categories |= 1u << uint8_t(ucat::mark); break;
        case 'S':
            categories |= 1u << uint8_t(ucat::symbol);
            for (auto r : {std::pair<uint32_t, uint32_t>{0x24, 0x24}, {0x2B, 0x2B}, {0x3C, 0x3E}, {0x5E, 0x5E}, {0x60, 0x60},
                           {0x7C, 0x7C}})
                ranges.push_back(r);
            break;
        default: bad_pattern(expr, "unknown category");
    }
}

}  // namespace

regex_program::regex_program(std::string_view expr) {
    collapsed_ = expr.find("\\p{") != std::string_view::npos;
    const auto space = [](std::vector<std::pair<uint32_t, uint32_t>>& r) {
        r.push_back({'\t', '\r'});
        r.push_back({' ', ' '});
    };
    // One element of a class or one atom: a code point, or a set added to `cls`.
    // Returns the code point, or UINT32_MAX when a set was added.
    const auto element = [&](size_t& i, char_class& cls) -> uint32_t {
        if (expr[i] != '\\') {
            if (collapsed_ && uint8_t(expr[i]) >= 0x80) bad_pattern(expr, "\\p{..} and non-ASCII literals together");
            return decode_one(expr, i);
        }
        if (i + 1 >= expr.size()) bad_pattern(expr, "trailing backslash");
        const char c = expr[i + 1];
        i += 2;
        switch (c) {
            case 's': space(cls.ranges); return UINT32_MAX;
            case 'r': return '\r';
            case 'n': return '\n';
            case 't': return '\t';
            case 'p': {
                if (i + 2 >= expr.size() || expr[i] != '{' || expr[i + 2] != '}') bad_pattern(expr, "\\p needs {X}");
                add_category(expr[i + 1], cls.ranges, cls.categories, expr);
                i += 3;
                return UINT32_MAX;
            }
            default:
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                    bad_pattern(expr, "unsupported escape");
                return uint8_t(c);
        }
    };

    for (size_t i = 0; i < expr.size();) {
        item it;
        if (expr[i] == '$') {
            it.end_anchor = true;
            ++i;
            items_.push_back(std::move(it));
            continue;
        }
        if (expr[i] == '(' || expr[i] == ')' || expr[i] == '|' || expr[i] == '.' || expr[i] == '^')
            bad_pattern(expr, "groups, alternation, '.' and '^' are not supported");
        if (expr[i] == '[') {
            ++i;
            if (i < expr.size() && expr[i] == '^') {
                it.cls.negated = true;
                ++i;
            }
            while (true) {
                if (i >= expr.size()) bad_pattern(expr, "unterminated class");
                if (expr[i] == ']') {
                    ++i;
                    break;
                }
                const uint32_t lo = element(i, it.cls);
                if (lo == UINT32_MAX) continue;
                if (i + 1 < expr.size() && expr[i] == '-' && expr[i + 1] != ']') {
                    ++i;
                    const uint32_t hi = element(i, it.cls);
                    if (hi == UINT32_MAX || hi < lo) bad_pattern(expr, "bad range");
                    it.cls.ranges.push_back({lo, hi});
                } else {
                    it.cls.ranges.push_back({lo, lo});
                }
            }
        } else {
            const uint32_t c = element(i, it.cls);
            if (c != UINT32_MAX) it.cls.ranges.push_back({c, c});
        }
        if (i < expr.size()) {
            const char q = expr[i];
            if (q == '?') it.min = 0, it.max = 1, ++i;
            else if (q == '*') it.min = 0, it.max = UINT32_MAX, ++i;
            else if (q == '+') it.min = 1, it.max = UINT32_MAX, ++i;
            else if (q == '{') {
                const size_t close = expr.find('}', i);
                if (close == std::string_view::npos) bad_pattern(expr, "unterminated {n,m}");
                const std::string body(expr.substr(i + 1, close - i - 1));
                const size_t comma = body.find(',');
                it.min = uint32_t(std::stoul(body.substr(0, comma)));
                it.max = comma == std::string::npos ? it.min : uint32_t(std::stoul(body.substr(comma + 1)));
                i = close + 1;
            }
        }
        items_.push_back(std::move(it));
    }
    if (items_.empty()) bad_pattern(expr, "empty");
}

size_t regex_program::match(state& s, size_t i, size_t p) const {
    if (i == items_.size()) return p;
    const item& it = items_[i];
    const size_t end = s.text.size();
    if (it.end_anchor) return p == end ? match(s, i + 1, p) : SIZE_MAX;

    auto& [from, to] = s.runs[i];
    if (p < from || p > to) {
        from = to = p;
        while (to < end && it.cls.matches(s.text[to])) ++to;
    }
    const size_t n = std::min<size_t>(to - p, it.max);
    if (n < it.min) return SIZE_MAX;
    if (i + 1 == items_.size()) return p + n;
    // Only the longest run can reach the end of the word, so "X+$" needs no backtracking.
    if (items_[i + 1].end_anchor && i + 2 == items_.size()) return p + n == end ? end : SIZE_MAX;
    for (size_t k = n + 1; k-- > it.min;)
        if (const size_t r = match(s, i + 1, p + k); r != SIZE_MAX) return r;
    return SIZE_MAX;
}

void regex_program::split(const uint32_t* cps, size_t begin, size_t end, std::vector<uint32_t>& out) const {
    std::vector<uint32_t> text(end - begin);
    for (size_t i = begin; i < end; ++i) text[i - begin] = view(cps[i]);
    state s{text, std::vector<std::pair<size_t, size_t>>(items_.size(), {SIZE_MAX, SIZE_MAX})};
    // Every pattern needs at least one code point, so the search never meets an empty match.
    size_t last = 0;
    for (size_t p = 0; p < text.size();) {
        const size_t m = match(s, 0, p);
        if (m == SIZE_MAX || m == p) {
            ++p;
            continue;
        }
        if (p > last) out.push_back(uint32_t(p - last));
        out.push_back(uint32_t(m - p));
        p = last = m;
    }
    if (text.size() > last) out.push_back(uint32_t(text.size() - last));
}

// ---------------------------------------------------------------------------------------------

pretokenize_step pretokenizer::pattern(std::string_view expression) {
    pretokenize_step s;
    s.k = pretokenize_step::kind::pattern;
    s.program = std::make_shared<const regex_program>(expression);
    return s;
}

void pretokenizer::split(std::span<const uint32_t> cps, std::vector<uint32_t>& lengths, std::vector<uint32_t>& scratch) const {
    lengths.clear();
    if (cps.empty()) return;
    lengths.push_back(uint32_t(cps.size()));
    for (const pretokenize_step& step : steps_) {
        scratch.clear();
        size_t begin = 0;
        for (const uint32_t len : lengths) {
            const word_view w{cps.data(), begin, begin + len};
            switch (step.k) {
                case pretokenize_step::kind::gpt2: split_gpt2(w, scratch); break;
                case pretokenize_step::kind::llama3: split_llama3(w, 3, false, scratch); break;
                case pretokenize_step::kind::qwen2: split_llama3(w, 1, false, scratch); break;
                case pretokenize_step::kind::qwen35: split_llama3(w, 1, true, scratch); break;
                case pretokenize_step::kind::pattern: step.program->split(cps.data(), w.begin, w.end, scratch); break;
            }
            begin += len;
        }
        lengths.swap(scratch);
    }
}

// ---------------------------------------------------------------------------------------------
// tokenizer.ggml.pre -> configuration, as llama.cpp's llama_vocab::load and llm_tokenizer_bpe.

namespace {

using step_kind = pretokenize_step::kind;

pretokenize_step custom(step_kind k) {
    pretokenize_step s;
    s.k = k;
    return s;
}

constexpr std::string_view k_llama3_names[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
                                               "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"};
constexpr std::string_view k_gpt2_names[] = {"gpt-2",   "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                                             "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "exaone4",
                                             "mpt",     "olmo",  "jais"};
constexpr std::string_view k_gpt2_no_clean_names[] = {"trillion", "granite-docling"};
constexpr std::string_view k_digit_gpt2_names[] = {"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"};
constexpr std::string_view k_digit_gpt2_no_clean_names[] = {"command-r", "smollm"};
constexpr std::string_view k_qwen2_names[] = {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"};
constexpr std::string_view k_qwen2_clean_names[] = {"stablelm2", "megrez"};

// Names llama.cpp knows whose expressions need lookaround or grouped alternation, or whose
// tokenizer is not plain byte-level BPE.
constexpr std::string_view k_unsupported_names[] = {
    "jais-2",       "deepseek-v3", "hunyuan-dense", "joyai-llm",   "youtu",      "gemma4",      "granite-embed-multi-311m",
    "sarvam-moe",   "minicpm5",    "jina-v1-en",    "jina-v2-code", "roberta-bpe", "whitespace", "tekken",
    "exaone-moe",   "chameleon",   "gpt-4o",        "llama4",      "kanana2",    "talkie",      "granite-embed-multi-97m",
    "tiny_aya",     "cohere2moe",  "superbpe",      "bailingmoe",  "bailingmoe2", "llada-moe",  "seed-coder",
    "kimi-k2",      "afmoe",       "minimax-m2",
};

template <size_t N> bool in(std::string_view s, const std::string_view (&names)[N]) {
    return std::find(std::begin(names), std::end(names), s) != std::end(names);
}

}  // namespace

pre_lookup find_pre_config(std::string_view pre, pre_config& c) {
    c = pre_config{};
    const auto gpt2 = [] { return custom(step_kind::gpt2); };
    if (in(pre, k_llama3_names)) {
        c.name = "llama3";
        c.steps = {custom(step_kind::llama3)};
        c.ignore_merges = true;
        c.force_add_bos = true;
    } else if (pre == "dbrx" || pre == "smaug-bpe" || pre == "glm4" || pre == "chatglm-bpe") {
        c.name = pre == "dbrx" || pre == "smaug-bpe" ? "dbrx" : "chatglm4";
        c.steps = {custom(step_kind::llama3)};
        c.no_bos = c.name == "chatglm4";
    } else if (in(pre, k_qwen2_names) || in(pre, k_qwen2_clean_names)) {
        c.name = "qwen2";
        c.steps = {custom(step_kind::qwen2)};
        c.clean_spaces = in(pre, k_qwen2_clean_names);
    } else if (pre == "qwen35") {
        c.name = "qwen35";
        c.steps = {custom(step_kind::qwen35)};
        c.clean_spaces = false;
    } else if (in(pre, k_gpt2_names) || in(pre, k_gpt2_no_clean_names)) {
        c.name = "gpt-2";
        c.steps = {gpt2()};
        c.clean_spaces = !in(pre, k_gpt2_no_clean_names);
    } else if (in(pre, k_digit_gpt2_names) || in(pre, k_digit_gpt2_no_clean_names)) {
        c.name = "starcoder";
        c.steps = {pretokenizer::pattern("\\p{N}"), gpt2()};
        c.clean_spaces = !in(pre, k_digit_gpt2_no_clean_names);
    } else if (pre == "falcon") {
        c.name = "falcon";
        c.steps = {pretokenizer::pattern("[\\p{P}\\$\\+<=>\\^~\\|`]+"), gpt2(), pretokenizer::pattern("[0-9][0-9][0-9]")};
    } else if (pre == "deepseek-llm") {
        c.name = "deepseek-llm";
        c.steps = {
            pretokenizer::pattern("[\r\n]"),
            pretokenizer::pattern(
                "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+"),
            pretokenizer::pattern("\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+"),
            pretokenizer::pattern("\\s+$"),
            pretokenizer::pattern("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"),
            pretokenizer::pattern("\\p{N}+"),
        };
        c.clean_spaces = false;
    } else if (pre == "deepseek-coder") {
        c.name = "deepseek-coder";
        c.steps = {
            pretokenizer::pattern("[\r\n]"),        pretokenizer::pattern("\\s?\\p{L}+"),
            pretokenizer::pattern("\\s?\\p{P}+"),   pretokenizer::pattern("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"),
            pretokenizer::pattern("\\p{N}"),
        };
        c.clean_spaces = false;
    } else if (pre == "poro-chat" || pre == "bloom" || pre == "gpt3-finnish" || pre == "viking") {
        c.name = pre == "viking" ? "viking" : "bloom";
        c.steps = {pretokenizer::pattern(" ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+")};
        if (pre == "viking") c.steps.push_back(pretokenizer::pattern("\\p{N}"));
        c.clean_spaces = pre == "bloom" || pre == "gpt3-finnish";
    } else {
        c.name = "default";
        c.steps = {pretokenizer::pattern("[\\p{P}\\$\\+<=>\\^~\\|]+"), gpt2(), pretokenizer::pattern("\\p{N}+"),
                   pretokenizer::pattern("[0-9][0-9][0-9]")};
        if (pre == "default") return pre_lookup::known;
        return in(pre, k_unsupported_names) ? pre_lookup::unsupported : pre_lookup::unknown;
    }
    return pre_lookup::known;
}

}  // namespace ember::detail
