// Python semantics of template values: truthiness, str/repr, ==, <, and json.dumps.
#include "chat/jinja_value.hpp"
#include "tokenizer/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace ember::jinja {

void raise(std::string_view kind, const std::string& message) {
    throw error(errc::template_error, fmt::format("{}: {}", kind, message));
}

// ---- text -------------------------------------------------------------------------------------

void text::append(const text& t) {
    const size_t base = s.size();
    s += t.s;
    for (const data_span& d : t.data) {
        if (!data.empty() && data.back().end == base + d.begin) data.back().end = base + d.end;
        else data.push_back({base + d.begin, base + d.end});
    }
}

text html_escape(const text& t) {
    if (t.markup) return t;
    std::string out;
    for (const char c : t.s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    text r = text::of(std::move(out), t.has_data());
    r.markup = true;
    return r;
}

text text::of(std::string str, bool is_data) {
    text t;
    t.s = std::move(str);
    if (is_data && !t.s.empty()) t.data.push_back({0, t.s.size()});
    return t;
}

// ---- value ------------------------------------------------------------------------------------

value value::undefined(std::string hint) {
    value v;
    if (!hint.empty()) v.p_ = std::make_shared<const std::string>(std::move(hint));
    return v;
}
value value::unsafe(std::string hint) {
    value v = undefined(std::move(hint));
    v.unsafe_ = true;
    return v;
}

void raise_undefined(const value& v) {
    raise(v.is_unsafe() ? "SecurityError" : "UndefinedError", v.undefined_hint().empty() ? "undefined value" : v.undefined_hint());
}

bool contains_data(const value& v) {
    switch (v.type()) {
        case kind::string: return v.as_text().has_data();
        case kind::array:
        case kind::tuple:
            for (const value& x : v.items())
                if (contains_data(x)) return true;
            return false;
        case kind::object:
            for (const auto& [k, x] : v.obj().entries)
                if (contains_data(k) || contains_data(x)) return true;
            return false;
        default: return false;
    }
}

value value::none() {
    value v;
    v.k_ = kind::none;
    return v;
}
value value::boolean(bool b) {
    value v;
    v.k_ = kind::boolean;
    v.b_ = b;
    return v;
}
value value::integer(int64_t i) {
    value v;
    v.k_ = kind::integer;
    v.i_ = i;
    return v;
}
value value::floating(double f) {
    value v;
    v.k_ = kind::floating;
    v.f_ = f;
    return v;
}
value value::string(std::string s, bool is_data) { return string(text::of(std::move(s), is_data)); }
value value::string(text t) {
    value v;
    v.k_ = kind::string;
    v.p_ = std::make_shared<const text>(std::move(t));
    return v;
}
value value::list(array items) {
    value v;
    v.k_ = kind::array;
    v.p_ = std::make_shared<const array>(std::move(items));
    return v;
}
value value::tuple(array items) {
    value v = list(std::move(items));
    v.k_ = kind::tuple;
    return v;
}
value value::generator(array items) {
    value v = list(std::move(items));
    v.k_ = kind::generator;
    return v;
}
value value::dict(std::shared_ptr<const object> o) {
    value v;
    v.k_ = kind::object;
    v.p_ = std::move(o);
    return v;
}
value value::function(std::shared_ptr<const callable> fn) {
    value v;
    v.k_ = kind::callable;
    v.p_ = std::move(fn);
    return v;
}
value value::namespace_(std::shared_ptr<namespace_obj> ns) {
    value v;
    v.k_ = kind::ns;
    v.p_ = std::move(ns);
    return v;
}

const std::string& value::undefined_hint() const {
    static const std::string none;
    return k_ == kind::undefined && p_ ? *static_cast<const std::string*>(p_.get()) : none;
}

bool value::truthy() const {
    switch (k_) {
        case kind::undefined:
        case kind::none: return false;
        case kind::boolean: return b_;
        case kind::integer: return i_ != 0;
        case kind::floating: return f_ != 0;
        case kind::string: return !str().empty();
        case kind::array:
        case kind::tuple: return !items().empty();
        case kind::object: return !obj().entries.empty();
        case kind::callable:
        case kind::ns:
        case kind::generator: return true;
    }
    return false;
}

const char* value::type_name() const {
    switch (k_) {
        case kind::undefined: return "Undefined";
        case kind::none: return "NoneType";
        case kind::boolean: return "bool";
        case kind::integer: return "int";
        case kind::floating: return "float";
        case kind::string: return "str";
        case kind::array: return "list";
        case kind::tuple: return "tuple";
        case kind::object: return "dict";
        case kind::callable: return "function";
        case kind::ns: return "Namespace";
        case kind::generator: return "generator";
    }
    return "?";
}

const value* object::find(const value& key) const {
    for (const auto& [k, v] : entries)
        if (equal(k, key)) return &v;
    return nullptr;
}
const value* object::find(std::string_view key) const {
    for (const auto& [k, v] : entries)
        if (k.is_string() && k.str() == key) return &v;
    return nullptr;
}
void object::set(value key, value v) {
    for (auto& [k, old] : entries)
        if (equal(k, key)) {
            old = std::move(v);
            return;
        }
    entries.emplace_back(std::move(key), std::move(v));
}

// ---- numbers ----------------------------------------------------------------------------------

std::string float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, then Python's layout: positional when the decimal exponent
    // is in [-4, 16), scientific (e-05, e+16) outside.
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, r.ptr);
    const size_t e = sci.find('e');
    std::string mant = sci.substr(0, e);
    const int exp10 = std::stoi(sci.substr(e + 1));
    const bool neg = mant[0] == '-';
    if (neg) mant.erase(0, 1);
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    std::string out = neg ? "-" : "";
    if (exp10 < -4 || exp10 >= 16) {
        out += digits.substr(0, 1);
        if (digits.size() > 1) out.append(1, '.').append(digits, 1);
        out += fmt::format("e{}{:02d}", exp10 < 0 ? '-' : '+', std::abs(exp10));
    } else if (exp10 < 0) {
        out.append("0.").append(size_t(-exp10 - 1), '0').append(digits);
    } else {
        const size_t int_len = size_t(exp10) + 1;
        if (digits.size() <= int_len) out.append(digits).append(int_len - digits.size(), '0').append(".0");
        else out.append(digits, 0, int_len).append(1, '.').append(digits, int_len);
    }
    return out;
}

// ---- UTF-8 ------------------------------------------------------------------------------------

size_t utf8_length(std::string_view s) {
    size_t n = 0;
    for (const char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

size_t utf8_offset(std::string_view s, size_t cp_index) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (n == cp_index) return i;
            ++n;
        }
    }
    return s.size();
}

uint32_t utf8_next(std::string_view s, size_t& i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (n == 0) {
        ++i;
        return c;
    }
    if (n == 9 || i + n >= s.size()) {  // a stray or truncated byte reads as itself
        ++i;
        return c;
    }
    uint32_t cp = n == 1 ? (c & 0x1Fu) : n == 2 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k <= n; ++k) {
        const unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
            ++i;
            return c;
        }
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    i += n + 1;
    return cp;
}

void utf8_append(std::string& out, uint32_t cp) { detail::append_utf8(cp, out); }

bool is_py_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string ascii_json(std::string_view json) {
    std::string out;
    for (size_t i = 0; i < json.size();) {
        if (static_cast<unsigned char>(json[i]) < 0x80) {
            out += json[i++];
            continue;
        }
        uint32_t cp = utf8_next(json, i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        } else {
            out += fmt::format("\\u{:04x}", cp);
        }
    }
    return out;
}

// ---- str / repr -------------------------------------------------------------------------------

namespace {

std::string repr_string(std::string_view s) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char q = has_single && !has_double ? '"' : '\'';
    std::string out(1, q);
    for (const char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (ch == q || ch == '\\') (out += '\\') += ch;
        else if (ch == '\n') out += "\\n";
        else if (ch == '\r') out += "\\r";
        else if (ch == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out += ch;
    }
    out += q;
    return out;
}

}  // namespace

std::string repr(const value& v) {
    switch (v.type()) {
        case kind::undefined: return "Undefined";  // inside a container; printed alone it is ""
        case kind::none: return "None";
        case kind::boolean: return v.as_bool() ? "True" : "False";
        case kind::integer: return std::to_string(v.as_int());
        case kind::floating: return float_repr(v.as_float());
        case kind::string: return repr_string(v.str());
        case kind::array:
        case kind::tuple: {
            const bool tup = v.type() == kind::tuple;
            std::string out = tup ? "(" : "[";
            const array& a = v.items();
            for (size_t i = 0; i < a.size(); ++i) {
                if (i) out += ", ";
                out += repr(a[i]);
            }
            if (tup && a.size() == 1) out += ",";
            out += tup ? ")" : "]";
            return out;
        }
        case kind::object: {
            std::string out = "{";
            bool first = true;
            for (const auto& [k, x] : v.obj().entries) {
                if (!first) out += ", ";
                first = false;
                out += repr(k) + ": " + repr(x);
            }
            return out + "}";
        }
        case kind::callable: return "<function " + v.fn().name + ">";
        case kind::generator: return "<generator object>";
        case kind::ns: {
            std::string out = "<Namespace {";
            bool first = true;
            for (const auto& [k, x] : v.ns().attrs) {
                if (!first) out += ", ";
                first = false;
                out += repr_string(k) + ": " + repr(x);
            }
            return out + "}>";
        }
    }
    return "";
}

text to_text(const value& v) {
    if (v.is_string()) return v.as_text();
    if (v.is_undefined()) return {};
    return text::of(repr(v), contains_data(v));
}

// ---- equality and order -----------------------------------------------------------------------

bool equal(const value& a, const value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.type() == kind::floating || b.type() == kind::floating) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.type() != b.type()) {
        if (a.is_sequence() && b.is_sequence()) return false;  // [1] != (1,)
        return false;
    }
    switch (a.type()) {
        case kind::undefined:
        case kind::none: return true;
        case kind::string: return a.str() == b.str();
        case kind::array:
        case kind::tuple: {
            const array &x = a.items(), &y = b.items();
            if (x.size() != y.size()) return false;
            for (size_t i = 0; i < x.size(); ++i)
                if (!equal(x[i], y[i])) return false;
            return true;
        }
        case kind::object: {
            const object &x = a.obj(), &y = b.obj();
            if (x.entries.size() != y.entries.size()) return false;
            for (const auto& [k, v] : x.entries) {
                const value* o = y.find(k);
                if (!o || !equal(v, *o)) return false;
            }
            return true;
        }
        case kind::callable: return &a.fn() == &b.fn();
        case kind::generator: return &a.items() == &b.items();
        case kind::ns: return &a.ns() == &b.ns();
        default: return false;
    }
}

bool less(const value& a, const value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.type() == kind::floating || b.type() == kind::floating) return a.as_float() < b.as_float();
        return a.as_int() < b.as_int();
    }
    if (a.is_string() && b.is_string()) return a.str() < b.str();
    if (a.is_sequence() && b.is_sequence() && a.type() == b.type()) {
        const array &x = a.items(), &y = b.items();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (!equal(x[i], y[i])) return less(x[i], y[i]);
        }
        return x.size() < y.size();
    }
    if (a.is_undefined() || b.is_undefined()) {
        raise("UndefinedError", a.is_undefined() ? a.undefined_hint() : b.undefined_hint());
    }
    raise("TypeError", fmt::format("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name()));
}

// ---- json.dumps -------------------------------------------------------------------------------

namespace {

void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) out += fmt::format("\\u{:04x}", c);
                else out += ch;
        }
    }
    out += '"';
}

void json_value(std::string& out, const value& v, const json_options& opt, int level) {
    auto newline = [&](int lvl) {
        out += '\n';
        for (int i = 0; i < lvl; ++i) out += opt.indent_str;
    };
    switch (v.type()) {
        case kind::none: out += "null"; return;
        case kind::boolean: out += v.as_bool() ? "true" : "false"; return;
        case kind::integer: out += std::to_string(v.as_int()); return;
        case kind::floating: {
            const double d = v.as_float();
            if (std::isnan(d)) out += "NaN";
            else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
            else out += float_repr(d);
            return;
        }
        case kind::string: json_string(out, v.str()); return;
        case kind::array:
        case kind::tuple: {
            const array& a = v.items();
            if (a.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (size_t i = 0; i < a.size(); ++i) {
                if (i) out += opt.item_sep;
                if (opt.indent >= 0) newline(level + 1);
                json_value(out, a[i], opt, level + 1);
            }
            if (opt.indent >= 0) newline(level);
            out += ']';
            return;
        }
        case kind::object: {
            std::vector<const std::pair<value, value>*> entries;
            for (const auto& e : v.obj().entries) entries.push_back(&e);
            if (entries.empty()) {
                out += "{}";
                return;
            }
            if (opt.sort_keys)
                std::stable_sort(entries.begin(), entries.end(), [](auto* x, auto* y) { return less(x->first, y->first); });
            out += '{';
            bool first = true;
            for (const auto* e : entries) {
                if (!first) out += opt.item_sep;
                first = false;
                if (opt.indent >= 0) newline(level + 1);
                const value& k = e->first;
                if (k.is_string()) json_string(out, k.str());
                else if (k.is_none()) out += "\"null\"";
                else if (k.type() == kind::boolean) out += k.as_bool() ? "\"true\"" : "\"false\"";
                else if (k.type() == kind::integer || k.type() == kind::floating) {
                    std::string key;
                    json_value(key, k, opt, 0);
                    json_string(out, key);
                } else {
                    raise("TypeError", fmt::format("keys must be str, int, float, bool or None, not {}", k.type_name()));
                }
                out += opt.key_sep;
                json_value(out, e->second, opt, level + 1);
            }
            if (opt.indent >= 0) newline(level);
            out += '}';
            return;
        }
        case kind::undefined:
            if (v.is_unsafe()) raise_undefined(v);
            raise("TypeError", "Object of type Undefined is not JSON serializable");
        default:
            raise("TypeError", fmt::format("Object of type {} is not JSON serializable", v.type_name()));
    }
}

}  // namespace

std::string to_json(const value& v, const json_options& opt) {
    std::string out;
    json_value(out, v, opt, 0);
    return out;
}

}  // namespace ember::jinja
