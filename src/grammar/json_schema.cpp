// JSON Schema, regular expressions and choices -> GBNF.
#include "grammar/json_schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/util.hpp"
#include "ember/error.hpp"
#include "tokenizer/utf8.hpp"

namespace ember::gbnf {

namespace {

using json = nlohmann::ordered_json;

// ---- GBNF text helpers -------------------------------------------------------------------------

// A code point as it may appear inside a GBNF literal or class.
void append_escaped_cp(std::string& out, uint32_t cp, bool in_class) {
    const bool plain = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
                       (!in_class && cp >= 0x20 && cp < 0x7F && cp != '"' && cp != '\\') || (cp >= 0x80 && !in_class);
    if (plain) {
        detail::append_utf8(cp, out);
    } else if (!in_class && (cp == '"' || cp == '\\')) {
        out += '\\';
        out += char(cp);
    } else if (cp < 0x100) {
        out += fmt::format("\\x{:02X}", cp);
    } else if (cp < 0x10000) {
        out += fmt::format("\\u{:04X}", cp);
    } else {
        out += fmt::format("\\U{:08X}", cp);
    }
}

std::vector<uint32_t> code_points(std::string_view s) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + size_t(n) > s.size()) detail::fail(errc::invalid_argument, "invalid UTF-8 at byte {}", i);
        uint32_t cp = n == 1 ? b : b & (0x7Fu >> n);
        for (int k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + size_t(k)]);
            if ((c & 0xC0) != 0x80) detail::fail(errc::invalid_argument, "invalid UTF-8 at byte {}", i);
            cp = (cp << 6) | (c & 0x3Fu);
        }
        out.push_back(cp);
        i += size_t(n);
    }
    return out;
}

// "text" as a GBNF literal.
std::string literal(std::string_view text) {
    std::string out = "\"";
    for (const uint32_t cp : code_points(text)) append_escaped_cp(out, cp, false);
    out += '"';
    return out;
}

struct cp_range {
    uint32_t lo, hi;
};

// A set of code points: ranges, possibly negated.
struct charset {
    bool negated = false;
    std::vector<cp_range> ranges;
    bool contains(uint32_t cp) const {
        bool in = false;
        for (const cp_range& r : ranges) in = in || (cp >= r.lo && cp <= r.hi);
        return in != negated;
    }
};

std::string class_text(const charset& cs, const std::vector<cp_range>& extra_excluded) {
    std::string out = cs.negated ? "[^" : "[";
    auto add = [&](const cp_range& r) {
        append_escaped_cp(out, r.lo, true);
        if (r.hi != r.lo) {
            out += '-';
            append_escaped_cp(out, r.hi, true);
        }
    };
    for (const cp_range& r : cs.ranges) add(r);
    for (const cp_range& r : extra_excluded) add(r);
    out += ']';
    return out;
}

// The JSON escape json.dumps writes for a character that cannot appear raw in a string.
std::string json_escape_of(uint32_t cp) {
    switch (cp) {
        case '"': return "\\\"";
        case '\\': return "\\\\";
        case '\n': return "\\n";
        case '\r': return "\\r";
        case '\t': return "\\t";
        case '\b': return "\\b";
        case '\f': return "\\f";
        default: return fmt::format("\\u{:04x}", cp);
    }
}

bool json_special(uint32_t cp) { return cp < 0x20 || cp == '"' || cp == '\\'; }

// A character of `cs` as GBNF: raw, or (json mode) as it is written inside a JSON string.
std::string charset_gbnf(const charset& cs, bool json_mode) {
    if (!cs.negated && cs.ranges.size() == 1 && cs.ranges[0].lo == cs.ranges[0].hi && !(json_mode && json_special(cs.ranges[0].lo))) {
        std::string one;
        detail::append_utf8(cs.ranges[0].lo, one);
        return literal(one);
    }
    if (!json_mode) return class_text(cs, {});
    std::vector<std::string> alts;
    // The characters that may appear raw.
    if (cs.negated) {
        alts.push_back(class_text(cs, {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}));
    } else {
        charset safe;
        for (const cp_range& r : cs.ranges) {
            uint32_t lo = r.lo;
            auto emit = [&](uint32_t a, uint32_t b) {
                if (a <= b) safe.ranges.push_back({a, b});
            };
            // Split around 0x00-0x1F, '"' (0x22) and '\\' (0x5C).
            lo = std::max(lo, uint32_t(0x20));
            if (lo > r.hi) continue;
            const uint32_t cuts[] = {'"', '\\'};
            for (const uint32_t c : cuts) {
                if (c >= lo && c <= r.hi) {
                    if (c > lo) emit(lo, c - 1);
                    lo = c + 1;
                }
            }
            if (lo <= r.hi) emit(lo, r.hi);
        }
        if (!safe.ranges.empty()) alts.push_back(class_text(safe, {}));
    }
    for (uint32_t cp = 0; cp < 0x80; ++cp)
        if (json_special(cp) && cs.contains(cp)) alts.push_back(literal(json_escape_of(cp)));
    if (alts.empty()) return {};
    if (alts.size() == 1) return alts[0];
    std::string out = "(";
    for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
    return out + ")";
}

// ---- regular expressions -----------------------------------------------------------------------

class regex_converter {
public:
    regex_converter(std::string_view pattern, bool json_mode) : cps_(code_points(pattern)), json_(json_mode) {}

    // The expression matching the whole text against the pattern (search semantics: unanchored
    // ends match anything, as JSON Schema's pattern does).
    std::string run(bool search_semantics) {
        bool anchored_start = false, anchored_end = false;
        if (pos_ < cps_.size() && cps_[pos_] == '^') anchored_start = true, ++pos_;
        end_ = cps_.size();
        if (end_ > pos_ && cps_[end_ - 1] == '$' && !escaped(end_ - 1)) anchored_end = true, --end_;
        std::string body = alternation();
        if (pos_ != end_) fail_at("unexpected ')'");
        if (search_semantics) {
            const std::string any = "(" + charset_gbnf(charset{true, {{'\n', '\n'}}}, json_) + " | " + newline() + ")*";
            if (!anchored_start) body = any + " " + body;
            if (!anchored_end) body += " " + any;
        }
        return body.empty() ? "\"\"" : body;
    }

private:
    std::vector<uint32_t> cps_;
    bool json_;
    size_t pos_ = 0, end_ = 0;

    // Whether the character at i is escaped (an odd number of backslashes before it).
    bool escaped(size_t i) const {
        size_t n = 0;
        while (i > 0 && cps_[i - 1] == '\\') --i, ++n;
        return n % 2 == 1;
    }
    std::string newline() const { return json_ ? literal("\\n") : literal("\n"); }

    [[noreturn]] void fail_at(std::string_view what) const {
        detail::fail(errc::invalid_argument, "regex column {}: {}", pos_ + 1, what);
    }
    bool at_end() const { return pos_ >= end_; }
    uint32_t peek() const { return cps_[pos_]; }

    std::string alternation() {
        std::vector<std::string> alts{sequence()};
        while (!at_end() && peek() == '|') {
            ++pos_;
            alts.push_back(sequence());
        }
        if (alts.size() == 1) return alts[0];
        std::string out = "(";
        for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + (alts[i].empty() ? std::string("\"\"") : alts[i]);
        return out + ")";
    }

    std::string sequence() {
        std::string out;
        while (!at_end() && peek() != '|' && peek() != ')') {
            std::string a = atom();
            a += quantifier();
            if (!out.empty()) out += ' ';
            out += a;
        }
        return out;
    }

    std::string quantifier() {
        if (at_end()) return {};
        std::string q;
        const uint32_t c = peek();
        if (c == '*' || c == '+' || c == '?') {
            q = std::string(1, char(c));
            ++pos_;
        } else if (c == '{') {
            const size_t save = pos_;
            ++pos_;
            auto number = [&]() -> long {
                long v = -1;
                while (!at_end() && peek() >= '0' && peek() <= '9') {
                    v = (v < 0 ? 0 : v) * 10 + long(peek() - '0');
                    if (v > 100000) fail_at("repetition count too large");
                    ++pos_;
                }
                return v;
            };
            const long m = number();
            long n = m;
            bool open = false;
            if (!at_end() && peek() == ',') {
                ++pos_;
                n = number();
                open = n < 0;
            }
            if (m < 0 || at_end() || peek() != '}') {
                pos_ = save;
                fail_at("malformed repetition {m,n}");
            }
            ++pos_;
            if (!open && n < m) fail_at("repetition {m,n} with n < m");
            q = open ? fmt::format("{{{},}}", m) : m == n ? fmt::format("{{{}}}", m) : fmt::format("{{{},{}}}", m, n);
        } else {
            return {};
        }
        if (!at_end() && (peek() == '?' || peek() == '+')) fail_at("lazy and possessive quantifiers are not supported");
        return q;
    }

    std::string atom() {
        const uint32_t c = peek();
        if (c == '(') {
            ++pos_;
            if (!at_end() && peek() == '?') {
                if (pos_ + 1 < end_ && cps_[pos_ + 1] == ':') pos_ += 2;
                else fail_at("look-around and named groups are not supported");
            }
            std::string inner = alternation();
            if (at_end() || peek() != ')') fail_at("missing ')'");
            ++pos_;
            return "(" + (inner.empty() ? std::string("\"\"") : inner) + ")";
        }
        if (c == '[') return charset_gbnf(bracket(), json_);
        if (c == '.') {
            ++pos_;
            return charset_gbnf(charset{true, {{'\n', '\n'}}}, json_);
        }
        if (c == '*' || c == '+' || c == '?' || c == '{') fail_at("nothing to repeat");
        if (c == '^' || c == '$') fail_at("anchors are supported only at the start (^) and the end ($)");
        if (c == '\\') {
            const charset cs = escape(false);
            return charset_gbnf(cs, json_);
        }
        ++pos_;
        return charset_gbnf(charset{false, {{c, c}}}, json_);
    }

    // After a backslash (pos_ at it): a character or a class escape.
    charset escape(bool in_class) {
        ++pos_;
        if (at_end()) fail_at("a pattern cannot end with '\\'");
        const uint32_t e = peek();
        ++pos_;
        auto single = [](uint32_t cp) { return charset{false, {{cp, cp}}}; };
        const std::vector<cp_range> digit{{'0', '9'}}, word{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}},
            space{{'\t', '\r'}, {' ', ' '}};
        switch (e) {
            case 'd': return {false, digit};
            case 'D': return {true, digit};
            case 'w': return {false, word};
            case 'W': return {true, word};
            case 's': return {false, space};
            case 'S': return {true, space};
            case 'n': return single('\n');
            case 'r': return single('\r');
            case 't': return single('\t');
            case 'f': return single('\f');
            case 'v': return single('\v');
            case '0': return single(0);
            case 'x':
            case 'u': {
                const int n = e == 'x' ? 2 : 4;
                uint32_t v = 0;
                for (int k = 0; k < n; ++k) {
                    if (at_end()) fail_at("incomplete \\x or \\u escape");
                    const uint32_t h = peek();
                    const int d = h >= '0' && h <= '9' ? int(h - '0') : h >= 'a' && h <= 'f' ? int(h - 'a' + 10) : h >= 'A' && h <= 'F' ? int(h - 'A' + 10) : -1;
                    if (d < 0) fail_at("bad hex digit in escape");
                    v = v * 16 + uint32_t(d);
                    ++pos_;
                }
                return single(v);
            }
            case 'b':
                if (in_class) return single('\b');
                [[fallthrough]];
            case 'B':
            case 'A':
            case 'Z':
            case 'z':
                --pos_;
                fail_at("word-boundary and other anchors are not supported");
            default:
                if (e >= '1' && e <= '9') {
                    --pos_;
                    fail_at("back-references are not supported");
                }
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) {
                    --pos_;
                    fail_at(fmt::format("unknown escape '\\{}'", char(e)));
                }
                return single(e);  // \. \\ \( \[ \- ... the character itself
        }
    }

    charset bracket() {
        ++pos_;  // '['
        charset cs;
        if (!at_end() && peek() == '^') cs.negated = true, ++pos_;
        bool first = true;
        while (true) {
            if (at_end()) fail_at("missing ']'");
            if (peek() == ']' && !first) break;
            first = false;
            uint32_t lo;
            if (peek() == '\\') {
                const charset e = escape(true);
                if (e.negated || e.ranges.size() != 1 || e.ranges[0].lo != e.ranges[0].hi) {
                    if (e.negated) fail_at("negated class escapes (\\D \\W \\S) inside [...] are not supported");
                    cs.ranges.insert(cs.ranges.end(), e.ranges.begin(), e.ranges.end());
                    continue;
                }
                lo = e.ranges[0].lo;
            } else {
                lo = peek();
                ++pos_;
            }
            uint32_t hi = lo;
            if (pos_ + 1 < end_ && peek() == '-' && cps_[pos_ + 1] != ']') {
                ++pos_;
                if (peek() == '\\') {
                    const charset e = escape(true);
                    if (e.negated || e.ranges.size() != 1 || e.ranges[0].lo != e.ranges[0].hi) fail_at("a class escape cannot end a range");
                    hi = e.ranges[0].lo;
                } else {
                    hi = peek();
                    ++pos_;
                }
                if (hi < lo) fail_at("range out of order in [...]");
            }
            cs.ranges.push_back({lo, hi});
        }
        ++pos_;  // ']'
        return cs;
    }
};

// ---- JSON Schema -------------------------------------------------------------------------------

constexpr const char* k_space_rule = "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}";
constexpr const char* k_char_rule = "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})";

const std::set<std::string> k_annotations = {"title", "description", "examples", "default", "$schema", "$id",
                                             "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"};

class schema_converter {
public:
    explicit schema_converter(const json& root) : root_(root) {}

    std::string run() {
        const std::string top = visit(root_, "", "root");
        if (top != "root") set_rule("root", top);
        std::string out = "root ::= " + rules_.at("root") + "\n";
        for (const auto& name : order_)
            if (name != "root") out += name + " ::= " + rules_.at(name) + "\n";
        return out;
    }

private:
    const json& root_;
    std::map<std::string, std::string> rules_;
    std::vector<std::string> order_;
    std::map<std::string, std::string> ref_rules_;  // "#/$defs/x" -> its rule

    [[noreturn]] static void fail_path(const std::string& path, std::string_view what) {
        detail::fail(errc::invalid_argument, "JSON schema {}: {}", path.empty() ? "/" : path, what);
    }

    static std::string sanitize(std::string_view hint) {
        std::string out;
        for (const char c : hint) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (ok) out += c;
            else if (!out.empty() && out.back() != '-') out += '-';
        }
        while (!out.empty() && out.back() == '-') out.pop_back();
        return out.empty() ? "r" : out;
    }

    void set_rule(const std::string& name, const std::string& body) {
        if (!rules_.count(name)) order_.push_back(name);
        rules_[name] = body;
    }

    // A rule holding `body`, named after `hint` (an existing rule with the same body is reused).
    std::string add_rule(std::string_view hint, const std::string& body) {
        const std::string base = sanitize(hint);
        std::string name = base;
        for (int i = 1;; ++i) {
            const auto it = rules_.find(name);
            if (it == rules_.end()) break;
            if (it->second == body) return name;
            name = fmt::format("{}{}", base, i);
        }
        set_rule(name, body);
        return name;
    }

    std::string primitive(const std::string& name) {
        if (rules_.count(name)) return name;
        if (name == "space") set_rule(name, k_space_rule);
        else if (name == "char") set_rule(name, k_char_rule);
        else if (name == "string") set_rule(name, "\"\\\"\" " + primitive("char") + "* \"\\\"\" " + primitive("space"));
        else if (name == "integer") set_rule(name, "(\"-\"? ([0-9] | [1-9] [0-9]{0,15})) " + primitive("space"));
        else if (name == "number")
            set_rule(name, "(\"-\"? ([0-9] | [1-9] [0-9]{0,15})) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})? " + primitive("space"));
        else if (name == "boolean") set_rule(name, "(\"true\" | \"false\") " + primitive("space"));
        else if (name == "null") set_rule(name, "\"null\" " + primitive("space"));
        else if (name == "value")
            set_rule(name, "object | array | string | number | boolean | null"), primitive("object"), primitive("array"),
                primitive("string"), primitive("number"), primitive("boolean"), primitive("null");
        else if (name == "object")
            set_rule(name, "\"{\" space ( string \":\" space value (\",\" space string \":\" space value)* )? \"}\" space"),
                primitive("space"), primitive("string"), primitive("value");
        else if (name == "array")
            set_rule(name, "\"[\" space ( value (\",\" space value)* )? \"]\" space"), primitive("space"), primitive("value");
        else if (name == "date")
            // Only real dates: 31 days where the month has them, February to the 28th (the 29th
            // would need the year), years 1000-9999 (Python's fromisoformat refuses year 0).
            set_rule(name,
                     "[1-9] [0-9]{3} \"-\" ((\"0\" [13578] | \"1\" [02]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01]) | "
                     "(\"0\" [469] | \"11\") \"-\" (\"0\" [1-9] | [12] [0-9] | \"30\") | \"02-\" (\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]))");
        else if (name == "time")
            set_rule(name,
                     "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? "
                     "(\"Z\" | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])");
        else if (name == "date-time") set_rule(name, primitive("date") + " \"T\" " + primitive("time"));
        else if (name == "uuid")
            set_rule(name, "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}");
        return name;
    }

    static std::string json_literal(const json& v) { return literal(v.dump(-1, ' ', false, json::error_handler_t::strict)); }

    static std::string child(const std::string& path, std::string_view key) {
        std::string k;
        for (const char c : key) k += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
        return path + "/" + k;
    }

    const json& resolve(const std::string& ref, const std::string& path) {
        if (ref.empty() || ref[0] != '#') fail_path(path, fmt::format("$ref '{}' is not supported (only local references '#...')", ref));
        const json* at = &root_;
        std::string_view p = std::string_view(ref).substr(1);
        if (!p.empty() && p[0] != '/') fail_path(path, fmt::format("$ref '{}': not a JSON pointer", ref));
        while (!p.empty()) {
            p.remove_prefix(1);
            const size_t slash = p.find('/');
            std::string token(p.substr(0, slash));
            p = slash == std::string_view::npos ? std::string_view() : p.substr(slash);
            std::string key;
            for (size_t i = 0; i < token.size(); ++i) {
                if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
                    key += token[i + 1] == '0' ? '~' : '/';
                    ++i;
                } else {
                    key += token[i];
                }
            }
            if (at->is_object() && at->contains(key)) at = &(*at)[key];
            else if (at->is_array() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
                     std::stoul(key) < at->size())
                at = &(*at)[std::stoul(key)];
            else fail_path(path, fmt::format("$ref '{}' does not resolve", ref));
        }
        return *at;
    }

    std::string visit(const json& s, const std::string& path, const std::string& name) {
        if (s.is_boolean()) {
            if (!s.get<bool>()) fail_path(path, "the schema 'false' allows nothing");
            return primitive("value");
        }
        if (!s.is_object()) fail_path(path, "a schema must be an object or a boolean");
        if (s.contains("$ref")) {
            if (!s["$ref"].is_string()) fail_path(path, "'$ref' must be a string");
            for (const auto& [k, v] : s.items())
                if (k != "$ref" && !k_annotations.count(k)) fail_path(path, fmt::format("'{}' beside '$ref' is not supported", k));
            const std::string ref = s["$ref"].get<std::string>();
            const auto it = ref_rules_.find(ref);
            if (it != ref_rules_.end()) return it->second;
            const std::string rname = add_rule(ref == "#" ? "root-ref" : "ref-" + ref.substr(ref.rfind('/') + 1), "\"\"");
            ref_rules_[ref] = rname;  // before visiting: references may be recursive
            const json& target = resolve(ref, path);
            set_rule(rname, visit(target, ref.substr(1), rname));
            return rname;
        }
        static const std::set<std::string> known = {"type", "properties", "required", "additionalProperties", "enum", "const",
                                                    "items", "prefixItems", "minItems", "maxItems", "minLength", "maxLength",
                                                    "pattern", "anyOf", "oneOf", "allOf", "format"};
        for (const auto& [k, v] : s.items())
            if (!known.count(k) && !k_annotations.count(k)) fail_path(path, fmt::format("'{}' is not supported", k));

        if (s.contains("const")) return add_rule(name, json_literal(s["const"]) + " " + primitive("space"));
        if (s.contains("enum")) {
            if (!s["enum"].is_array() || s["enum"].empty()) fail_path(path, "'enum' must be a non-empty array");
            std::string body = "(";
            for (size_t i = 0; i < s["enum"].size(); ++i) body += (i ? " | " : "") + json_literal(s["enum"][i]);
            return add_rule(name, body + ") " + primitive("space"));
        }
        for (const char* key : {"anyOf", "oneOf"}) {
            if (!s.contains(key)) continue;
            const json& alts = s[key];
            if (!alts.is_array() || alts.empty()) fail_path(path, fmt::format("'{}' must be a non-empty array", key));
            std::string body;
            for (size_t i = 0; i < alts.size(); ++i)
                body += (i ? " | " : "") + visit(alts[i], child(child(path, key), std::to_string(i)), fmt::format("{}-{}", name, i));
            return add_rule(name, body);
        }
        if (s.contains("allOf")) return all_of(s, path, name);
        if (s.contains("type")) {
            const json& t = s["type"];
            if (t.is_array()) {
                if (t.empty()) fail_path(path, "'type' must not be an empty array");
                std::string body;
                for (size_t i = 0; i < t.size(); ++i) {
                    if (!t[i].is_string()) fail_path(path, "'type' entries must be strings");
                    body += (i ? " | " : "") + typed(s, t[i].get<std::string>(), path, fmt::format("{}-{}", name, t[i].get<std::string>()));
                }
                return add_rule(name, body);
            }
            if (!t.is_string()) fail_path(path, "'type' must be a string or an array of strings");
            return typed(s, t.get<std::string>(), path, name);
        }
        if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) return typed(s, "object", path, name);
        if (s.contains("items") || s.contains("prefixItems") || s.contains("minItems") || s.contains("maxItems"))
            return typed(s, "array", path, name);
        if (s.contains("pattern") || s.contains("format") || s.contains("minLength") || s.contains("maxLength"))
            return typed(s, "string", path, name);
        return primitive("value");
    }

    static uint64_t count_of(const json& s, const char* key, const std::string& path, uint64_t fallback) {
        if (!s.contains(key)) return fallback;
        const json& v = s[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0) fail_path(path, fmt::format("'{}' must be a non-negative integer", key));
        const uint64_t n = v.get<uint64_t>();
        if (n > 10000) fail_path(path, fmt::format("'{}' = {} is larger than ember supports (10000)", key, n));
        return n;
    }

    static std::string repeat_suffix(uint64_t lo, uint64_t hi, bool unbounded) {
        if (unbounded) return lo == 0 ? "*" : lo == 1 ? "+" : fmt::format("{{{},}}", lo);
        if (lo == 0 && hi == 1) return "?";
        return lo == hi ? fmt::format("{{{}}}", lo) : fmt::format("{{{},{}}}", lo, hi);
    }

    void only_for(const json& s, const std::string& type, const std::string& path, std::initializer_list<const char*> keys) {
        for (const char* k : keys)
            if (s.contains(k)) fail_path(path, fmt::format("'{}' does not apply to type '{}'", k, type));
    }

    std::string typed(const json& s, const std::string& type, const std::string& path, const std::string& name) {
        static const std::initializer_list<const char*> obj_keys = {"properties", "required", "additionalProperties"};
        static const std::initializer_list<const char*> arr_keys = {"items", "prefixItems", "minItems", "maxItems"};
        static const std::initializer_list<const char*> str_keys = {"pattern", "format", "minLength", "maxLength"};
        if (type == "object") {
            only_for(s, type, path, arr_keys), only_for(s, type, path, str_keys);
            return object(s, path, name);
        }
        if (type == "array") {
            only_for(s, type, path, obj_keys), only_for(s, type, path, str_keys);
            return array(s, path, name);
        }
        if (type == "string") {
            only_for(s, type, path, obj_keys), only_for(s, type, path, arr_keys);
            return string(s, path, name);
        }
        if (type == "integer" || type == "number" || type == "boolean" || type == "null") {
            only_for(s, type, path, obj_keys), only_for(s, type, path, arr_keys), only_for(s, type, path, str_keys);
            return primitive(type);
        }
        fail_path(path, fmt::format("unknown type '{}'", type));
    }

    std::string string(const json& s, const std::string& path, const std::string& name) {
        const bool has_len = s.contains("minLength") || s.contains("maxLength");
        const int n_forms = int(has_len) + int(s.contains("pattern")) + int(s.contains("format"));
        if (n_forms > 1) fail_path(path, "combining pattern, format and minLength/maxLength is not supported");
        const std::string q = "\"\\\"\"";
        if (s.contains("pattern")) {
            if (!s["pattern"].is_string()) fail_path(child(path, "pattern"), "must be a string");
            std::string body;
            try {
                body = regex_converter(s["pattern"].get<std::string>(), true).run(true);
            } catch (const error& e) {
                fail_path(child(path, "pattern"), e.what());
            }
            return add_rule(name, q + " " + body + " " + q + " " + primitive("space"));
        }
        if (s.contains("format")) {
            const json& f = s["format"];
            if (!f.is_string()) fail_path(child(path, "format"), "must be a string");
            const std::string fmt_name = f.get<std::string>();
            if (fmt_name != "date" && fmt_name != "time" && fmt_name != "date-time" && fmt_name != "uuid")
                fail_path(path, fmt::format("format '{}' is not supported (date, time, date-time, uuid are)", fmt_name));
            return add_rule(name, q + " " + primitive(fmt_name) + " " + q + " " + primitive("space"));
        }
        if (has_len) {
            const uint64_t lo = count_of(s, "minLength", path, 0);
            const uint64_t hi = count_of(s, "maxLength", path, 0);
            const bool unbounded = !s.contains("maxLength");
            if (!unbounded && hi < lo) fail_path(path, "maxLength is smaller than minLength");
            return add_rule(name, q + " " + primitive("char") + repeat_suffix(lo, hi, unbounded) + " " + q + " " + primitive("space"));
        }
        return primitive("string");
    }

    std::string array(const json& s, const std::string& path, const std::string& name) {
        const uint64_t lo = count_of(s, "minItems", path, 0);
        const uint64_t hi = count_of(s, "maxItems", path, 0);
        const bool unbounded = !s.contains("maxItems");
        if (!unbounded && hi < lo) fail_path(path, "maxItems is smaller than minItems");
        const std::string open = "\"[\" " + primitive("space");
        const std::string close = "\"]\" " + primitive("space");
        const std::string comma = "\",\" " + primitive("space");
        std::vector<std::string> prefix;
        if (s.contains("prefixItems")) {
            const json& p = s["prefixItems"];
            if (!p.is_array()) fail_path(path, "'prefixItems' must be an array of schemas");
            for (size_t i = 0; i < p.size(); ++i)
                prefix.push_back(visit(p[i], child(child(path, "prefixItems"), std::to_string(i)), fmt::format("{}-{}", name, i)));
        }
        std::string item;
        bool more = prefix.empty();  // without prefixItems, `items` (or anything) repeats
        if (s.contains("items")) {
            const json& it = s["items"];
            if (it.is_boolean() && !it.get<bool>()) {
                more = false;
            } else {
                if (it.is_array()) fail_path(child(path, "items"), "an array of schemas is the old tuple form: use prefixItems");
                item = visit(it, child(path, "items"), name + "-item");
                more = true;
            }
        } else if (more) {
            item = primitive("value");
        }
        const uint64_t k = prefix.size();
        if (!unbounded && hi < k) fail_path(path, "maxItems is smaller than the number of prefixItems");
        std::string body;
        if (k > 0) {
            for (size_t i = 0; i < k; ++i) body += (i ? " " + comma + " " : "") + prefix[i];
            if (more) {
                const uint64_t xlo = lo > k ? lo - k : 0;
                const uint64_t xhi = unbounded ? 0 : hi - k;
                if (unbounded || xhi > 0) body += " (" + comma + " " + item + ")" + repeat_suffix(xlo, xhi, unbounded);
            } else if (lo > k) {
                fail_path(path, "minItems is larger than the number of prefixItems and no more items are allowed");
            }
            return add_rule(name, open + " " + body + " " + close);
        }
        if (!more || (!unbounded && hi == 0)) {
            if (lo > 0) fail_path(path, "minItems > 0 but no items are allowed");
            return add_rule(name, open + " " + close);
        }
        // item ("," item){lo-1, hi-1}, optional as a whole when lo == 0.
        const uint64_t rlo = lo > 0 ? lo - 1 : 0;
        const uint64_t rhi = unbounded ? 0 : hi - 1;
        std::string list = item;
        if (unbounded || rhi > 0) list += " (" + comma + " " + item + ")" + repeat_suffix(rlo, rhi, unbounded);
        body = lo == 0 ? "(" + list + ")?" : list;
        return add_rule(name, open + " " + body + " " + close);
    }

    struct prop {
        std::string key;
        std::string value_rule;
        bool required;
    };

    // A JSON string (as its quoted text) that is not one of `keys` and uses no escapes.
    std::string key_not_in(const std::vector<std::string>& keys, const std::string& name) {
        struct node {
            std::map<uint32_t, size_t> kids;
            bool terminal = false;
        };
        std::vector<node> trie(1);
        for (const std::string& k : keys) {
            const auto cps = code_points(k);
            if (std::any_of(cps.begin(), cps.end(), json_special)) continue;  // unreachable without escapes
            size_t at = 0;
            for (const uint32_t cp : cps) {
                auto it = trie[at].kids.find(cp);
                if (it == trie[at].kids.end()) {
                    trie.emplace_back();
                    it = trie[at].kids.emplace(cp, trie.size() - 1).first;
                }
                at = it->second;
            }
            trie[at].terminal = true;
        }
        const std::string tail = add_rule("key-char", "[^\"\\\\\\x00-\\x1F]");
        std::vector<std::string> names(trie.size());
        for (size_t i = 0; i < trie.size(); ++i) names[i] = fmt::format("{}-other-key-{}", sanitize(name), i);
        for (size_t i = trie.size(); i-- > 0;) {
            std::vector<std::string> alts;
            if (!trie[i].terminal) alts.push_back("\"\"");
            charset other{true, {{'"', '"'}, {'\\', '\\'}, {0, 0x1F}}};
            for (const auto& [cp, kid] : trie[i].kids) other.ranges.push_back({cp, cp});
            alts.push_back(class_text(other, {}) + " " + tail + "*");
            for (const auto& [cp, kid] : trie[i].kids) {
                std::string lit = "\"";
                append_escaped_cp(lit, cp, false);
                alts.push_back(lit + "\" " + names[kid]);
            }
            std::string body;
            for (size_t a = 0; a < alts.size(); ++a) body += (a ? " | " : "") + alts[a];
            set_rule(names[i], body);
        }
        return "\"\\\"\" " + names[0] + " \"\\\"\" " + primitive("space");
    }

    std::string object(const json& s, const std::string& path, const std::string& name) {
        std::vector<prop> props;
        std::vector<std::string> declared;
        if (s.contains("properties")) {
            const json& p = s["properties"];
            if (!p.is_object()) fail_path(path, "'properties' must be an object");
            for (const auto& [k, v] : p.items()) {
                props.push_back({k, visit(v, child(child(path, "properties"), k), name + "-" + k), false});
                declared.push_back(k);
            }
        }
        if (s.contains("required")) {
            const json& r = s["required"];
            if (!r.is_array()) fail_path(path, "'required' must be an array of strings");
            for (const json& k : r) {
                if (!k.is_string()) fail_path(path, "'required' must be an array of strings");
                const std::string key = k.get<std::string>();
                auto it = std::find_if(props.begin(), props.end(), [&](const prop& p) { return p.key == key; });
                if (it == props.end()) {
                    props.push_back({key, primitive("value"), true});  // required but not described: any value
                    declared.push_back(key);
                } else {
                    it->required = true;
                }
            }
        }
        // Other keys: absent -> none when properties are listed (as llama.cpp), any otherwise.
        std::string extra_value;
        if (s.contains("additionalProperties")) {
            const json& a = s["additionalProperties"];
            if (a.is_boolean()) {
                if (a.get<bool>()) extra_value = primitive("value");
            } else {
                extra_value = visit(a, child(path, "additionalProperties"), name + "-additional");
            }
        } else if (!s.contains("properties") && !s.contains("required")) {
            extra_value = primitive("value");
        }
        const std::string sp = primitive("space");
        const std::string comma = "\",\" " + sp;
        std::string extra_kv;
        if (!extra_value.empty()) {
            const std::string key = declared.empty() ? primitive("string") : key_not_in(declared, name);
            extra_kv = add_rule(name + "-additional-kv", key + " \":\" " + sp + " " + extra_value);
        }
        // S(i, e): the members from property i on, e = something was written before (so a comma
        // comes first). Built from the end, two rules per property.
        const size_t n = props.size();
        std::vector<std::array<std::string, 2>> rest(n + 1);
        for (int e = 0; e < 2; ++e) {
            if (extra_kv.empty()) rest[n][size_t(e)] = "";
            else if (e) rest[n][1] = "(" + comma + " " + extra_kv + ")*";
            else rest[n][0] = "(" + extra_kv + " (" + comma + " " + extra_kv + ")*)?";
        }
        for (size_t i = n; i-- > 0;) {
            const std::string kv = add_rule(name + "-" + props[i].key + "-kv",
                                            json_literal(json(props[i].key)) + " " + sp + " \":\" " + sp + " " + props[i].value_rule);
            for (int e = 0; e < (i == 0 ? 1 : 2); ++e) {
                std::string with = (e ? comma + " " : std::string()) + kv;
                if (!rest[i + 1][1].empty()) with += " " + rest[i + 1][1];
                std::string body;
                if (props[i].required) {
                    body = with;
                } else {
                    const std::string without = rest[i + 1][size_t(e)].empty() ? "\"\"" : rest[i + 1][size_t(e)];
                    body = "(" + with + " | " + without + ")";
                }
                rest[i][size_t(e)] = i == 0 && e == 0 ? body : add_rule(fmt::format("{}-rest-{}-{}", name, i, e), body);
            }
        }
        std::string body = "\"{\" " + sp;
        if (!rest[0][0].empty()) body += " " + rest[0][0];
        body += " \"}\" " + sp;
        return add_rule(name, body);
    }

    std::string all_of(const json& s, const std::string& path, const std::string& name) {
        const json& parts = s["allOf"];
        if (!parts.is_array() || parts.empty()) fail_path(path, "'allOf' must be a non-empty array");
        for (const auto& [k, v] : s.items())
            if (k != "allOf" && !k_annotations.count(k) && k != "type")
                fail_path(path, fmt::format("'{}' beside 'allOf' is not supported", k));
        if (parts.size() == 1) return visit(parts[0], child(child(path, "allOf"), "0"), name);
        // Objects merge: the union of their properties and required keys.
        json merged = {{"type", "object"}, {"properties", json::object()}, {"required", json::array()}};
        for (size_t i = 0; i < parts.size(); ++i) {
            const std::string p = child(child(path, "allOf"), std::to_string(i));
            const json* part = &parts[i];
            std::set<std::string> seen;
            while (part->is_object() && part->contains("$ref")) {
                const std::string ref = (*part)["$ref"].is_string() ? (*part)["$ref"].get<std::string>() : "";
                if (!seen.insert(ref).second) fail_path(p, "a $ref cycle");
                part = &resolve(ref, p);
            }
            if (!part->is_object() || !(part->contains("properties") || part->value("type", "") == "object"))
                fail_path(p, "'allOf' is supported for object schemas only");
            for (const auto& [k, v] : part->items()) {
                if (k == "properties") {
                    for (const auto& [pk, pv] : v.items()) merged["properties"][pk] = pv;
                } else if (k == "required") {
                    for (const json& r : v) merged["required"].push_back(r);
                } else if (k == "additionalProperties") {
                    // JSON Schema applies it to each branch's own properties: no merge is exact.
                    fail_path(child(p, k), "'additionalProperties' inside 'allOf' is not supported");
                } else if (k != "type" && !k_annotations.count(k)) {
                    fail_path(p, fmt::format("'{}' inside 'allOf' is not supported", k));
                }
            }
        }
        merged_.push_back(std::make_unique<json>(std::move(merged)));
        return object(*merged_.back(), path, name);
    }
    std::vector<std::unique_ptr<json>> merged_;
};

}  // namespace

std::string json_schema_to_gbnf(std::string_view schema_json) {
    json schema;
    try {
        schema = json::parse(schema_json);
    } catch (const json::exception& e) {
        detail::fail(errc::invalid_argument, "the JSON schema is not JSON: {}", e.what());
    }
    return schema_converter(schema).run();
}

std::string regex_to_gbnf(std::string_view pattern) {
    return "root ::= " + regex_converter(pattern, false).run(false) + "\n";
}

std::string choice_to_gbnf(std::span<const std::string> choices) {
    if (choices.empty()) detail::fail(errc::invalid_argument, "a choice needs at least one option");
    std::string out = "root ::= ";
    for (size_t i = 0; i < choices.size(); ++i) out += (i ? " | " : "") + literal(choices[i]);
    return out + "\n";
}

}  // namespace ember::gbnf
