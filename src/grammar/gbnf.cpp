// The GBNF parser: llama.cpp's grammar syntax (grammars/README.md there) into expression trees,
// with errors that name the line and column.
#include "grammar/gbnf.hpp"

#include <fmt/format.h>

#include <map>

#include "core/util.hpp"

namespace ember::gbnf {

namespace {

bool is_word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class parser {
public:
    parser(std::string_view text, const parse_limits& limits) : s_(text), lim_(limits) {}

    parsed_grammar run() {
        if (s_.size() > lim_.max_size) fail_at(0, "the grammar is {} bytes, more than the limit of {}", s_.size(), lim_.max_size);
        space(true);
        while (pos_ < s_.size()) rule_def();
        for (size_t i = 0; i < g_.rules.size(); ++i)
            if (!defined_[i])
                throw error(errc::invalid_argument, fmt::format("line {}: rule '{}' is used but never defined", first_use_[i], g_.rules[i].name));
        const auto root = ids_.find("root");
        if (root == ids_.end()) throw error(errc::invalid_argument, "the grammar has no rule named 'root' (where matching starts)");
        g_.root = root->second;
        return std::move(g_);
    }

private:
    std::string_view s_;
    parse_limits lim_;
    size_t pos_ = 0;
    int depth_ = 0;
    parsed_grammar g_;
    std::map<std::string, uint32_t, std::less<>> ids_;
    std::vector<bool> defined_;
    std::vector<int> first_use_;

    int line_of(size_t at) const {
        int line = 1;
        for (size_t i = 0; i < at && i < s_.size(); ++i) line += s_[i] == '\n';
        return line;
    }

    template <class... Args>
    [[noreturn]] void fail_at(size_t at, fmt::format_string<Args...> f, Args&&... args) const {
        const size_t line_start = at == 0 ? 0 : s_.rfind('\n', at - 1);
        const size_t col = at - (line_start == std::string_view::npos || at == 0 ? 0 : line_start + 1) + 1;
        throw error(errc::invalid_argument,
                    fmt::format("line {}, column {}: {}", line_of(at), col, fmt::format(f, std::forward<Args>(args)...)));
    }
    // What the parser met, quoted for a message.
    std::string here() const {
        if (pos_ >= s_.size()) return "the end of the grammar";
        size_t n = 0;
        while (pos_ + n < s_.size() && n < 12 && s_[pos_ + n] != '\n') ++n;
        std::string q(1, '\'');
        q += detail::escape_text(s_.substr(pos_, n), 12);
        q += '\'';
        return q;
    }

    char peek(size_t k = 0) const { return pos_ + k < s_.size() ? s_[pos_ + k] : '\0'; }

    void space(bool newline_ok) {
        while (pos_ < s_.size()) {
            const char c = s_[pos_];
            if (c == ' ' || c == '\t' || (newline_ok && (c == '\r' || c == '\n'))) {
                ++pos_;
            } else if (c == '#') {
                while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
            } else {
                break;
            }
        }
    }

    uint32_t symbol(std::string_view name, size_t at) {
        const auto it = ids_.find(name);
        if (it != ids_.end()) return it->second;
        const uint32_t id = uint32_t(g_.rules.size());
        ids_.emplace(std::string(name), id);
        g_.rules.push_back({std::string(name), {}, 0});
        defined_.push_back(false);
        first_use_.push_back(line_of(at));
        return id;
    }

    std::string_view name() {
        const size_t start = pos_;
        while (pos_ < s_.size() && is_word_char(s_[pos_])) ++pos_;
        if (pos_ == start) fail_at(start, "expecting a rule name, got {}", here());
        return s_.substr(start, pos_ - start);
    }

    void rule_def() {
        const size_t start = pos_;
        const std::string_view n = name();
        const uint32_t id = symbol(n, start);
        if (defined_[id])
            fail_at(start, "rule '{}' is defined twice (first on line {})", n, g_.rules[id].line);
        space(false);
        if (s_.substr(pos_, 3) != "::=") fail_at(pos_, "expecting '::=' after the rule name '{}', got {}", n, here());
        pos_ += 3;
        space(true);
        defined_[id] = true;
        g_.rules[id].line = line_of(start);
        expr body = alternates(false);
        g_.rules[id].body = std::move(body);
        if (peek() == '\r') pos_ += peek(1) == '\n' ? 2 : 1;
        else if (peek() == '\n') ++pos_;
        else if (pos_ < s_.size()) fail_at(pos_, "expecting a newline or the end after rule '{}', got {}", n, here());
        space(true);
    }

    expr alternates(bool nested) {
        if (++depth_ > lim_.max_depth) fail_at(pos_, "groups nested deeper than {} levels", lim_.max_depth);
        expr alt;
        alt.k = expr::kind::alt;
        alt.kids.push_back(sequence(nested));
        while (peek() == '|') {
            ++pos_;
            space(true);
            alt.kids.push_back(sequence(nested));
        }
        --depth_;
        if (alt.kids.size() == 1) return std::move(alt.kids[0]);
        return alt;
    }

    uint32_t hex(size_t digits) {
        uint32_t v = 0;
        for (size_t i = 0; i < digits; ++i) {
            const char c = peek();
            v <<= 4;
            if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
            else fail_at(pos_, "expecting {} hex digits, got {}", digits, here());
            ++pos_;
        }
        return v;
    }

    // One (possibly escaped) character of a literal or a class, as a code point.
    uint32_t character() {
        if (pos_ >= s_.size()) fail_at(pos_, "unexpected end of the grammar");
        const char c = s_[pos_];
        if (c == '\\') {
            const size_t at = pos_;
            ++pos_;
            const char e = peek();
            ++pos_;
            switch (e) {
                case 'x': return hex(2);
                case 'u': return hex(4);
                case 'U': {
                    const uint32_t v = hex(8);
                    if (v > 0x10FFFF) fail_at(at, "\\U{:08X} is beyond Unicode", v);
                    return v;
                }
                case 't': return '\t';
                case 'r': return '\r';
                case 'n': return '\n';
                case '\\':
                case '"':
                case '[':
                case ']':
                case '-':
                case '^': return uint32_t(e);
                default: fail_at(at, "unknown escape '\\{}'", detail::escape_text(std::string_view(&e, e ? 1 : 0), 4));
            }
        }
        // UTF-8; a malformed byte is an error (the grammar is text).
        const unsigned char b = static_cast<unsigned char>(c);
        const size_t n = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : 9;
        if (n == 9 || pos_ + n >= s_.size() + (n == 0 ? 1 : 0)) fail_at(pos_, "invalid UTF-8 in the grammar");
        uint32_t cp = n == 0 ? b : n == 1 ? (b & 0x1Fu) : n == 2 ? (b & 0x0Fu) : (b & 0x07u);
        for (size_t k = 1; k <= n; ++k) {
            const unsigned char cc = static_cast<unsigned char>(s_[pos_ + k]);
            if ((cc & 0xC0) != 0x80) fail_at(pos_, "invalid UTF-8 in the grammar");
            cp = (cp << 6) | (cc & 0x3Fu);
        }
        pos_ += n + 1;
        return cp;
    }

    static expr single(uint32_t cp) {
        expr e;
        e.k = expr::kind::chars;
        e.ranges.push_back({cp, cp});
        return e;
    }

    expr sequence(bool nested) {
        expr seq;
        seq.k = expr::kind::seq;
        while (pos_ < s_.size()) {
            const size_t at = pos_;
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                expr lit;
                lit.k = expr::kind::seq;
                while (peek() != '"') {
                    if (pos_ >= s_.size()) fail_at(at, "the string literal is not closed");
                    if (peek() == '\n') fail_at(pos_, "a newline inside a string literal (write \\n)");
                    lit.kids.push_back(single(character()));
                }
                ++pos_;
                seq.kids.push_back(lit.kids.size() == 1 ? std::move(lit.kids[0]) : std::move(lit));
            } else if (c == '[') {
                ++pos_;
                expr cls;
                cls.k = expr::kind::chars;
                if (peek() == '^') {
                    cls.negated = true;
                    ++pos_;
                }
                while (peek() != ']') {
                    if (pos_ >= s_.size()) fail_at(at, "the character class is not closed");
                    const uint32_t lo = character();
                    uint32_t hi = lo;
                    if (peek() == '-' && peek(1) != ']' && pos_ + 1 < s_.size()) {
                        ++pos_;
                        const size_t hi_at = pos_;
                        hi = character();
                        if (hi < lo) fail_at(hi_at, "the range ends (U+{:04X}) before it starts (U+{:04X})", hi, lo);
                    }
                    cls.ranges.push_back({lo, hi});
                }
                ++pos_;
                seq.kids.push_back(std::move(cls));
            } else if (c == '<' || c == '!') {
                fail_at(at, "token references (<...>, !<...>) are not supported; write the text instead");
            } else if (is_word_char(c)) {
                const std::string_view n = name();
                expr r;
                r.k = expr::kind::ref;
                r.rule = symbol(n, at);
                seq.kids.push_back(std::move(r));
            } else if (c == '(') {
                ++pos_;
                space(true);
                expr inner = alternates(true);
                if (peek() != ')') fail_at(pos_, "expecting ')' to close the group opened on line {}, got {}", line_of(at), here());
                ++pos_;
                seq.kids.push_back(std::move(inner));
            } else if (c == '.') {
                ++pos_;
                expr any;
                any.k = expr::kind::chars;
                any.negated = true;
                seq.kids.push_back(std::move(any));
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (seq.kids.empty()) fail_at(at, "'{}' has no item before it to repeat", c);
                uint32_t lo = 0, hi = expr::unbounded;
                ++pos_;
                if (c == '+') lo = 1;
                else if (c == '?') hi = 1;
                else if (c == '{') {
                    space(nested);
                    lo = hi = number();
                    space(nested);
                    if (peek() == ',') {
                        ++pos_;
                        space(nested);
                        hi = is_digit(peek()) ? number() : expr::unbounded;
                        space(nested);
                    }
                    if (peek() != '}') fail_at(pos_, "expecting '}}' to close the repetition, got {}", here());
                    ++pos_;
                    if (hi != expr::unbounded && hi < lo) fail_at(at, "the repetition {{{},{}}} has its maximum below its minimum", lo, hi);
                }
                expr rep;
                rep.k = expr::kind::repeat;
                rep.min = lo;
                rep.max = hi;
                rep.kids.push_back(std::move(seq.kids.back()));
                seq.kids.back() = std::move(rep);
            } else {
                break;
            }
            space(nested);
        }
        if (seq.kids.size() == 1) return std::move(seq.kids[0]);
        return seq;
    }

    uint32_t number() {
        const size_t start = pos_;
        uint64_t v = 0;
        while (is_digit(peek())) {
            v = v * 10 + uint64_t(peek() - '0');
            if (v > lim_.max_repeat) fail_at(start, "a repetition count above the limit of {}", lim_.max_repeat);
            ++pos_;
        }
        if (pos_ == start) fail_at(start, "expecting a number, got {}", here());
        return uint32_t(v);
    }
};

void print(std::string& out, const parsed_grammar& g, const expr& e, bool in_seq) {
    switch (e.k) {
        case expr::kind::chars: {
            auto ch = [&](uint32_t cp) {
                if (cp == '\n') out += "\\n";
                else if (cp == '\r') out += "\\r";
                else if (cp == '\t') out += "\\t";
                else if (cp == '\\' || cp == ']' || cp == '[' || cp == '"' || cp == '-' || cp == '^') (out += '\\') += char(cp);
                else if (cp < 0x20 || cp == 0x7F) out += fmt::format("\\x{:02X}", cp);
                else if (cp < 0x80) out += char(cp);
                else out += cp <= 0xFFFF ? fmt::format("\\u{:04X}", cp) : fmt::format("\\U{:08X}", cp);
            };
            if (e.negated && e.ranges.empty()) {
                out += '.';
                return;
            }
            out += e.negated ? "[^" : "[";
            for (const char_range& r : e.ranges) {
                ch(r.lo);
                if (r.hi != r.lo) {
                    out += '-';
                    ch(r.hi);
                }
            }
            out += ']';
            return;
        }
        case expr::kind::ref: out += g.rules[e.rule].name; return;
        case expr::kind::seq:
            if (e.kids.empty()) {
                out += "\"\"";
                return;
            }
            if (!in_seq) out += "(";
            for (size_t i = 0; i < e.kids.size(); ++i) {
                if (i) out += ' ';
                print(out, g, e.kids[i], false);
            }
            if (!in_seq) out += ")";
            return;
        case expr::kind::alt:
            out += "(";
            for (size_t i = 0; i < e.kids.size(); ++i) {
                if (i) out += " | ";
                print(out, g, e.kids[i], true);
            }
            out += ")";
            return;
        case expr::kind::repeat:
            print(out, g, e.kids[0], false);
            if (e.min == 0 && e.max == expr::unbounded) out += '*';
            else if (e.min == 1 && e.max == expr::unbounded) out += '+';
            else if (e.min == 0 && e.max == 1) out += '?';
            else if (e.max == expr::unbounded) out += fmt::format("{{{},}}", e.min);
            else if (e.min == e.max) out += fmt::format("{{{}}}", e.min);
            else out += fmt::format("{{{},{}}}", e.min, e.max);
            return;
    }
}

}  // namespace

parsed_grammar parse_gbnf(std::string_view text, const parse_limits& limits) { return parser(text, limits).run(); }

std::string to_gbnf(const parsed_grammar& g) {
    std::string out;
    for (const rule& r : g.rules) {
        out += r.name + " ::= ";
        if (r.body.k == expr::kind::alt) {
            for (size_t i = 0; i < r.body.kids.size(); ++i) {
                if (i) out += " | ";
                print(out, g, r.body.kids[i], true);
            }
        } else {
            print(out, g, r.body, true);
        }
        out += '\n';
    }
    return out;
}

}  // namespace ember::gbnf
