// Jinja's lexer as Jinja 3 behaves with trim_blocks and lstrip_blocks (the rules are quoted from
// its lexer where they are subtle).
#include "chat/jinja_lexer.hpp"

#include <fmt/format.h>

#include "chat/jinja_value.hpp"
#include "core/util.hpp"

namespace ember::jinja {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

[[noreturn]] void syntax(int line, const std::string& what) {
    raise("TemplateSyntaxError", fmt::format("{} (line {})", what, line));
}

class lexer {
public:
    explicit lexer(std::string_view source) {
        // Jinja reads \r\n and \r as \n and, without keep_trailing_newline, drops one final \n.
        src_.reserve(source.size());
        for (size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                src_ += '\n';
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                src_ += source[i];
            }
        }
        if (!src_.empty() && src_.back() == '\n') src_.pop_back();
    }

    std::vector<token> run() {
        bool line_starting = true;
        while (pos_ < src_.size()) {
            const size_t m = next_tag(pos_);
            std::string data = src_.substr(pos_, (m == std::string::npos ? src_.size() : m) - pos_);
            if (m == std::string::npos) {
                emit_data(std::move(data));
                pos_ = src_.size();
                break;
            }
            const char kind = src_[m + 1];  // '{', '%' or '#'
            const char sign = m + 2 < src_.size() ? src_[m + 2] : 0;
            if (sign == '-') {
                while (!data.empty() && is_ws(data.back())) data.pop_back();
            } else if (sign != '+' && kind != '{') {
                // lstrip_blocks: "If there's only whitespace between the newline and the tag,
                // strip it" -- at the start of a line, or of the template.
                const size_t nl = data.rfind('\n');
                const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
                if (l_pos > 0 || line_starting) {
                    bool only_ws = l_pos < data.size();
                    for (size_t i = l_pos; i < data.size(); ++i) only_ws = only_ws && is_ws(data[i]);
                    if (only_ws) data.resize(l_pos);
                }
            }
            line_ += count_lines(pos_, m);
            emit_data(std::move(data));
            pos_ = m + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
            if (kind == '#') line_starting = comment();
            else if (kind == '%' && raw_block()) line_starting = last_end_newline_;
            else line_starting = tag(kind == '{');
        }
        out_.push_back({tok::eof, {}, line_});
        return std::move(out_);
    }

private:
    std::string src_;
    size_t pos_ = 0;
    int line_ = 1;
    std::vector<token> out_;
    bool last_end_newline_ = false;

    int count_lines(size_t from, size_t to) const {
        int n = 0;
        for (size_t i = from; i < to && i < src_.size(); ++i) n += src_[i] == '\n';
        return n;
    }

    size_t next_tag(size_t from) const {
        for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
            if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
        }
        return std::string::npos;
    }

    void emit_data(std::string data) {
        if (!data.empty()) out_.push_back({tok::data, std::move(data), line_});
    }

    // After a tag's end marker: "-" strips all following whitespace; trim_blocks drops one
    // newline after %} and #} (not after }}), "+%}" keeps it. Returns whether a newline ended it.
    bool after_end(bool minus, bool plus, bool is_var) {
        if (minus) {
            const size_t from = pos_;
            while (pos_ < src_.size() && is_ws(src_[pos_])) ++pos_;
            line_ += count_lines(from, pos_);
            return pos_ > from && src_[pos_ - 1] == '\n';
        }
        if (!plus && !is_var && pos_ < src_.size() && src_[pos_] == '\n') {
            ++pos_;
            ++line_;
            return true;
        }
        return false;
    }

    bool comment() {
        const int start = line_;
        const size_t end = src_.find("#}", pos_);
        if (end == std::string::npos) syntax(start, "missing end of comment tag");
        const bool minus = end > pos_ && src_[end - 1] == '-';
        const bool plus = end > pos_ && src_[end - 1] == '+';
        line_ += count_lines(pos_, end);
        pos_ = end + 2;
        return after_end(minus, plus, false);
    }

    // {% raw %}...{% endraw %}: the body is text, whatever it contains.
    bool raw_block() {
        size_t p = pos_;
        while (p < src_.size() && is_ws(src_[p])) ++p;
        if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
        p += 3;
        while (p < src_.size() && is_ws(src_[p])) ++p;
        bool minus = false;
        if (p < src_.size() && src_[p] == '-') minus = true, ++p;
        if (src_.compare(p, 2, "%}") != 0) return false;
        line_ += count_lines(pos_, p + 2);
        pos_ = p + 2;
        after_end(minus, false, false);
        const int start = line_;
        for (size_t i = src_.find("{%", pos_); i != std::string::npos; i = src_.find("{%", i + 1)) {
            size_t q = i + 2;
            const bool strip_before = q < src_.size() && src_[q] == '-';
            if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) ++q;
            while (q < src_.size() && is_ws(src_[q])) ++q;
            if (src_.compare(q, 6, "endraw") != 0) continue;
            q += 6;
            while (q < src_.size() && is_ws(src_[q])) ++q;
            bool end_minus = false;
            if (q < src_.size() && src_[q] == '-') end_minus = true, ++q;
            if (src_.compare(q, 2, "%}") != 0) continue;
            std::string body = src_.substr(pos_, i - pos_);
            if (strip_before)
                while (!body.empty() && is_ws(body.back())) body.pop_back();
            emit_data(std::move(body));
            line_ += count_lines(pos_, q + 2);
            pos_ = q + 2;
            last_end_newline_ = after_end(end_minus, false, false);
            return true;
        }
        syntax(start, "missing end of raw directive");
    }

    // The tokens of one {{ ... }} or {% ... %}; returns whether the end consumed a newline.
    bool tag(bool is_var) {
        const int start = line_;
        out_.push_back({is_var ? tok::var_begin : tok::block_begin, {}, line_});
        int depth = 0;  // brackets opened inside the tag: "}}" closes a dict there, not the tag
        while (true) {
            while (pos_ < src_.size() && is_ws(src_[pos_])) line_ += src_[pos_++] == '\n';
            if (pos_ >= src_.size()) syntax(start, is_var ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
            const std::string_view rest = std::string_view(src_).substr(pos_);
            const std::string_view end = is_var ? "}}" : "%}";
            if (depth == 0) {
                bool minus = false, plus = false, hit = false;
                if (rest.substr(0, 1) == "-" && rest.substr(1, 2) == end) minus = hit = true;
                else if (!is_var && rest.substr(0, 1) == "+" && rest.substr(1, 2) == end) plus = hit = true;
                else if (rest.substr(0, 2) == end) hit = true;
                if (hit) {
                    out_.push_back({is_var ? tok::var_end : tok::block_end, {}, line_});
                    pos_ += 2 + (minus || plus ? 1 : 0);
                    return after_end(minus, plus, is_var);
                }
            }
            const char c = src_[pos_];
            if (is_name_start(c)) {
                size_t e = pos_;
                while (e < src_.size() && is_name_char(src_[e])) ++e;
                out_.push_back({tok::name, src_.substr(pos_, e - pos_), line_});
                pos_ = e;
            } else if (is_digit(c)) {
                number();
            } else if (c == '\'' || c == '"') {
                string_literal();
            } else {
                static constexpr std::string_view two[] = {"//", "**", "==", "!=", "<=", ">="};
                std::string op;
                for (const std::string_view t : two)
                    if (rest.substr(0, 2) == t) op = std::string(t);
                if (op.empty()) {
                    if (std::string_view("+-*/%~<>=.,:|()[]{}").find(c) == std::string_view::npos)
                        syntax(line_, fmt::format("unexpected char '{}'", detail::escape_text(std::string_view(&c, 1), 4)));
                    op = std::string(1, c);
                }
                if (op == "(" || op == "[" || op == "{") ++depth;
                else if (op == ")" || op == "]" || op == "}") {
                    if (depth == 0) syntax(line_, fmt::format("unexpected '{}'", op));
                    --depth;
                }
                out_.push_back({tok::op, op, line_});
                pos_ += op.size();
            }
        }
    }

    void number() {
        size_t e = pos_;
        auto digits = [&] {
            while (e < src_.size() && (is_digit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && is_digit(src_[e + 1])))) ++e;
        };
        digits();
        bool is_float = false;
        if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
            ++e;
            digits();
            is_float = true;
        }
        if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
            size_t f = e + 1;
            if (f < src_.size() && (src_[f] == '+' || src_[f] == '-')) ++f;
            if (f < src_.size() && is_digit(src_[f])) {
                e = f;
                digits();
                is_float = true;
            }
        }
        std::string t;
        for (size_t i = pos_; i < e; ++i)
            if (src_[i] != '_') t += src_[i];
        out_.push_back({is_float ? tok::floating : tok::integer, std::move(t), line_});
        pos_ = e;
    }

    void string_literal() {
        const char q = src_[pos_];
        const int start = line_;
        std::string v;
        size_t i = pos_ + 1;
        auto hex = [&](size_t n) -> uint32_t {
            if (i + n > src_.size()) syntax(line_, "truncated \\x, \\u or \\U escape");
            uint32_t cp = 0;
            for (size_t k = 0; k < n; ++k) {
                const char h = src_[i + k];
                cp <<= 4;
                if (is_digit(h)) cp |= uint32_t(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= uint32_t(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= uint32_t(h - 'A' + 10);
                else syntax(line_, "truncated \\x, \\u or \\U escape");
            }
            i += n;
            return cp;
        };
        while (true) {
            if (i >= src_.size()) syntax(start, "unexpected end of string");
            const char c = src_[i];
            if (c == q) break;
            if (c == '\n') ++line_;
            if (c != '\\') {
                v += c;
                ++i;
                continue;
            }
            if (++i >= src_.size()) syntax(start, "unexpected end of string");
            const char e = src_[i++];
            switch (e) {
                case '\\': v += '\\'; break;
                case '\'': v += '\''; break;
                case '"': v += '"'; break;
                case 'a': v += '\a'; break;
                case 'b': v += '\b'; break;
                case 'f': v += '\f'; break;
                case 'n': v += '\n'; break;
                case 'r': v += '\r'; break;
                case 't': v += '\t'; break;
                case 'v': v += '\v'; break;
                case '\n': ++line_; break;  // line continuation
                case 'x': utf8_append(v, hex(2)); break;
                case 'u': utf8_append(v, hex(4)); break;
                case 'U': {
                    const uint32_t cp = hex(8);
                    if (cp > 0x10FFFF) syntax(line_, "illegal Unicode character in \\U escape");
                    utf8_append(v, cp);
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {
                        uint32_t cp = uint32_t(e - '0');
                        for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) cp = cp * 8 + uint32_t(src_[i++] - '0');
                        utf8_append(v, cp);
                    } else {
                        v += '\\';
                        v += e;
                    }
            }
        }
        out_.push_back({tok::string, std::move(v), start});
        pos_ = i + 1;
    }
};

}  // namespace

std::vector<token> lex(std::string_view source) { return lexer(source).run(); }

}  // namespace ember::jinja
