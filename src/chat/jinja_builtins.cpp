// Jinja's builtin filters and tests, the Python methods templates call on str/dict/list, the
// operators, and the globals Hugging Face adds (raise_exception, strftime_now).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>
#include <unordered_map>

#include "chat/jinja_interp.hpp"

namespace ember::jinja {

namespace {

// ---- argument access --------------------------------------------------------------------------

// Binds a call's arguments to parameter names, Python-style (positional, then by keyword).
struct binder {
    const char* fn;
    call_args& a;
    std::vector<std::string> names;

    binder(const char* f, call_args& args, std::initializer_list<const char*> params) : fn(f), a(args) {
        for (const char* p : params) names.emplace_back(p);
        if (a.positional.size() > names.size())
            raise("TypeError", fmt::format("{}() takes at most {} arguments ({} given)", fn, names.size(), a.positional.size()));
        for (const auto& [k, v] : a.keyword)
            if (std::find(names.begin(), names.end(), k) == names.end())
                raise("TypeError", fmt::format("{}() got an unexpected keyword argument '{}'", fn, k));
    }
    const value* get(size_t i) const {
        if (i < a.positional.size()) return &a.positional[i];
        for (const auto& [k, v] : a.keyword)
            if (k == names[i]) return &v;
        return nullptr;
    }
    value operator()(size_t i, value def = {}) const {
        const value* v = get(i);
        return v ? *v : def;
    }
    bool has(size_t i) const { return get(i) != nullptr; }
};

void need_string(const value& v, const char* what) {
    if (v.is_undefined()) raise_undefined(v);
    if (!v.is_string()) raise("TypeError", fmt::format("{} expects a string, not '{}'", what, v.type_name()));
}

int64_t need_int(const value& v, const char* what) {
    if (v.is_undefined()) raise_undefined(v);
    if (v.type() != kind::integer && v.type() != kind::boolean)
        raise("TypeError", fmt::format("'{}' object cannot be interpreted as an integer ({})", v.type_name(), what));
    return v.as_int();
}

// A string result derived from inputs: data if any input held data (the conservative reading).
value derived(std::string s, std::initializer_list<const value*> from) {
    bool data = false;
    for (const value* v : from) data = data || (v && contains_data(*v));
    return value::string(std::move(s), data);
}

std::vector<uint32_t> code_points(std::string_view s) {
    std::vector<uint32_t> cps;
    for (size_t i = 0; i < s.size();) cps.push_back(utf8_next(s, i));
    return cps;
}

// Python's str.upper()/lower() for the scripts chat text mostly uses: ASCII, Latin-1, Latin
// Extended-A, Greek, Cyrillic and fullwidth Latin (other code points are left as they are).
uint32_t simple_upper(uint32_t c) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if (c < 0x80) return c;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c == 0xB5) return 0x39C;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x131) return 'I';
        if (c == 0x17F) return 'S';
        const bool odd_lower = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
        const bool even_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
        if (odd_lower && (c & 1) && c != 0x131) return c - 1;
        if (even_lower && !(c & 1)) return c - 1;
        return c;
    }
    if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 32;
    if (c == 0x3AC) return 0x386;
    if (c >= 0x3AD && c <= 0x3AF) return c - 37;
    if (c == 0x3CC) return 0x38C;
    if (c == 0x3CD || c == 0x3CE) return c - 63;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    if (((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) && (c & 1)) return c - 1;
    if (c >= 0xFF41 && c <= 0xFF5A) return c - 32;
    return c;
}
uint32_t simple_lower(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0x80) return c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x130) return 'i';
        const bool even_upper = (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
        const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
        if (even_upper && !(c & 1)) return c + 1;
        if (odd_upper && (c & 1)) return c + 1;
        return c;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 63;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) && !(c & 1)) return c + 1;
    if (c >= 0xFF21 && c <= 0xFF3A) return c + 32;
    return c;
}
bool is_cased(uint32_t c) { return simple_upper(c) != c || simple_lower(c) != c || (c >= 'A' && c <= 'Z'); }

enum class case_mode { upper, lower, title, capitalize };
std::string map_case(std::string_view s, case_mode mode) {
    std::string out;
    out.reserve(s.size());
    bool prev_cased = false, first = true;
    for (size_t i = 0; i < s.size();) {
        const uint32_t c = utf8_next(s, i);
        uint32_t r = c;
        switch (mode) {
            case case_mode::upper:
                if (c == 0xDF) {  // sharp s
                    out += "SS";
                    continue;
                }
                r = simple_upper(c);
                break;
            case case_mode::lower: r = simple_lower(c); break;
            case case_mode::title: r = prev_cased ? simple_lower(c) : simple_upper(c); break;
            case case_mode::capitalize: r = first ? simple_upper(c) : simple_lower(c); break;
        }
        prev_cased = is_cased(c);
        first = false;
        utf8_append(out, r);
    }
    return out;
}

std::string case_lower(std::string s) { return map_case(s, case_mode::lower); }
std::string case_upper(std::string s) { return map_case(s, case_mode::upper); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// str.strip/lstrip/rstrip, keeping the data spans of what remains.
value strip(const value& v, const value& chars, bool left, bool right) {
    need_string(v, "strip");
    const std::string& s = v.str();
    std::vector<uint32_t> set;
    const bool ws = chars.is_none() || chars.is_undefined();
    if (!ws) {
        need_string(chars, "strip");
        set = code_points(chars.str());
    }
    auto strips = [&](uint32_t cp) { return ws ? is_py_space(cp) : std::find(set.begin(), set.end(), cp) != set.end(); };
    size_t b = 0, e = s.size();
    if (left) {
        while (b < e) {
            size_t j = b;
            if (!strips(utf8_next(s, j))) break;
            b = j;
        }
    }
    if (right) {
        while (e > b) {
            size_t st = e - 1;
            while (st > b && (static_cast<unsigned char>(s[st]) & 0xC0) == 0x80) --st;
            size_t j = st;
            if (!strips(utf8_next(s, j))) break;
            e = st;
        }
    }
    text t;
    t.s = s.substr(b, e - b);
    t.markup = v.as_text().markup;
    for (const data_span& d : v.as_text().data) {
        const size_t db = std::max(d.begin, b), de = std::min(d.end, e);
        if (db < de) t.data.push_back({db - b, de - b});
    }
    return value::string(std::move(t));
}

value split(const value& v, const value& sep_v, int64_t maxsplit, bool from_right) {
    need_string(v, "split");
    const std::string& s = v.str();
    const bool data = v.as_text().has_data();
    array parts;
    if (sep_v.is_none() || sep_v.is_undefined()) {
        // Runs of whitespace separate; empty strings are never produced.
        std::vector<std::pair<size_t, size_t>> words;
        size_t i = 0;
        while (i < s.size()) {
            size_t j = i;
            if (is_py_space(utf8_next(s, j))) {
                i = j;
                continue;
            }
            const size_t start = i;
            while (i < s.size()) {
                size_t k = i;
                if (is_py_space(utf8_next(s, k))) break;
                i = k;
            }
            words.emplace_back(start, i);
        }
        if (maxsplit >= 0 && int64_t(words.size()) > maxsplit + 1) {
            if (!from_right) {
                const size_t keep = size_t(maxsplit);
                size_t tail = words[keep].first;
                size_t end = s.size();
                while (end > tail) {  // the remainder keeps inner spaces, loses trailing ones
                    size_t st = end - 1;
                    while (st > tail && (static_cast<unsigned char>(s[st]) & 0xC0) == 0x80) --st;
                    size_t j = st;
                    if (!is_py_space(utf8_next(s, j))) break;
                    end = st;
                }
                words.resize(keep);
                words.emplace_back(tail, end);
            } else {
                const size_t drop = words.size() - size_t(maxsplit);
                size_t head_end = words[drop - 1].second;
                size_t start = 0;
                while (start < head_end) {
                    size_t j = start;
                    if (!is_py_space(utf8_next(s, j))) break;
                    start = j;
                }
                std::vector<std::pair<size_t, size_t>> w{{start, head_end}};
                w.insert(w.end(), words.begin() + long(drop), words.end());
                words.swap(w);
            }
        }
        for (const auto& [b, e] : words) parts.push_back(value::string(s.substr(b, e - b), data));
        return value::list(std::move(parts));
    }
    need_string(sep_v, "split");
    const std::string& sep = sep_v.str();
    if (sep.empty()) raise("ValueError", "empty separator");
    std::vector<std::string> pieces;
    if (!from_right) {
        size_t pos = 0;
        while (true) {
            const size_t m = (maxsplit < 0 || int64_t(pieces.size()) < maxsplit) ? s.find(sep, pos) : std::string::npos;
            if (m == std::string::npos) {
                pieces.push_back(s.substr(pos));
                break;
            }
            pieces.push_back(s.substr(pos, m - pos));
            pos = m + sep.size();
        }
    } else {
        size_t end = s.size();
        while (true) {
            const size_t m = (maxsplit < 0 || int64_t(pieces.size()) < maxsplit) && end >= sep.size() ? s.rfind(sep, end - sep.size()) : std::string::npos;
            if (m == std::string::npos) {
                pieces.insert(pieces.begin(), s.substr(0, end));
                break;
            }
            pieces.insert(pieces.begin(), s.substr(m + sep.size(), end - m - sep.size()));
            end = m;
        }
    }
    for (std::string& p : pieces) parts.push_back(value::string(std::move(p), data));
    return value::list(std::move(parts));
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
    std::string out;
    if (from.empty()) {  // Python inserts `to` between every character (and at both ends)
        const std::vector<uint32_t> cps = code_points(s);
        int64_t n = 0;
        for (size_t i = 0; i <= cps.size(); ++i) {
            if (count < 0 || n < count) {
                out += to;
                ++n;
            }
            if (i < cps.size()) utf8_append(out, cps[i]);
        }
        return out;
    }
    size_t pos = 0;
    int64_t n = 0;
    while (count < 0 || n < count) {
        const size_t m = s.find(from, pos);
        if (m == std::string::npos) break;
        out.append(s, pos, m - pos);
        out += to;
        pos = m + from.size();
        ++n;
    }
    out.append(s, pos, std::string::npos);
    return out;
}

// Python's str.splitlines() boundaries.
std::vector<std::string> splitlines(const std::string& s) {
    std::vector<std::string> lines;
    std::string cur;
    for (size_t i = 0; i < s.size();) {
        const size_t st = i;
        const uint32_t cp = utf8_next(s, i);
        const bool brk = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) || cp == 0x85 ||
                         cp == 0x2028 || cp == 0x2029;
        if (!brk) {
            cur.append(s, st, i - st);
            continue;
        }
        if (cp == '\r' && i < s.size() && s[i] == '\n') ++i;
        lines.push_back(std::move(cur));
        cur.clear();
    }
    if (!cur.empty()) lines.push_back(std::move(cur));
    return lines;
}

value sort_key(const value& v, bool case_sensitive) {
    if (!case_sensitive && v.is_string()) return value::string(case_lower(v.str()));
    return v;
}

// Jinja's attribute lookup for filters: "a.b.0" walks attributes and indexes.
value attr_path(interpreter& in, const value& v, const value& attribute) {
    if (attribute.type() == kind::integer) return in.getitem(v, attribute);
    need_string(attribute, "attribute");
    value cur = v;
    const std::string& path = attribute.str();
    size_t pos = 0;
    while (true) {
        const size_t dot = path.find('.', pos);
        const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
        const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        cur = numeric ? in.getitem(cur, value::integer(std::stoll(part))) : in.getitem(cur, value::string(part));
        if (dot == std::string::npos) return cur;
        pos = dot + 1;
    }
}

// select/reject/selectattr/rejectattr: args are (test name, test args...) after the attribute.
array select_items(interpreter& in, const value& seq, call_args& a, bool by_attr, bool keep) {
    if (!seq.truthy()) return {};  // Jinja: "if value: for item in value" -- none selects nothing
    size_t k = 0;
    value attribute;
    if (by_attr) {
        if (a.positional.empty()) raise("TypeError", "selectattr/rejectattr need an attribute name");
        attribute = a.positional[k++];
    }
    std::string test_name;
    call_args test_args;
    if (k < a.positional.size()) {
        need_string(a.positional[k], "the test name");
        test_name = a.positional[k++].str();
        if (!is_test(test_name)) raise("TemplateRuntimeError", fmt::format("No test named '{}'.", test_name));
        test_args.positional.assign(a.positional.begin() + long(k), a.positional.end());
    }
    array out;
    for (const value& item : iterate(seq)) {
        const value x = by_attr ? attr_path(in, item, attribute) : item;
        bool ok;
        if (test_name.empty()) ok = x.truthy();
        else {
            call_args ta = test_args;
            ok = in.apply_test(test_name, x, ta);
        }
        if (ok == keep) out.push_back(item);
    }
    return out;
}

// Python's % formatting for the specifiers templates use (%s %d %i %f %r %%).
std::string percent_format(interpreter& in, const std::string& fmt_s, const value& args) {
    array list = args.type() == kind::tuple ? args.items() : array{args};
    size_t next = 0;
    std::string out;
    for (size_t i = 0; i < fmt_s.size(); ++i) {
        if (fmt_s[i] != '%') {
            out += fmt_s[i];
            continue;
        }
        if (++i >= fmt_s.size()) raise("ValueError", "incomplete format");
        std::string spec;
        while (i < fmt_s.size() && std::string_view("0123456789.-+ #").find(fmt_s[i]) != std::string_view::npos) spec += fmt_s[i++];
        if (i >= fmt_s.size()) raise("ValueError", "incomplete format");
        const char c = fmt_s[i];
        if (c == '%') {
            out += '%';
            continue;
        }
        if (next >= list.size()) raise("TypeError", "not enough arguments for format string");
        const value& v = list[next++];
        if (c == 's') out += to_text(v).s;
        else if (c == 'r') out += repr(v);
        else if (c == 'd' || c == 'i') {
            if (!v.is_number()) raise("TypeError", fmt::format("%{} format: a real number is required, not {}", c, v.type_name()));
            out += std::to_string(v.type() == kind::floating ? int64_t(v.as_float()) : v.as_int());
        } else if (c == 'f') {
            if (!v.is_number()) raise("TypeError", fmt::format("must be real number, not {}", v.type_name()));
            int prec = 6;
            const size_t dot = spec.find('.');
            if (dot != std::string::npos) prec = std::atoi(spec.c_str() + dot + 1);
            out += fmt::format("{:.{}f}", v.as_float(), prec);
        } else {
            raise("ValueError", fmt::format("unsupported format character '{}'", c));
        }
        in.check_size(out.size(), "a formatted string");
    }
    if (next < list.size() && args.type() == kind::tuple) raise("TypeError", "not all arguments converted during string formatting");
    return out;
}

value slice(interpreter& in, const value& v, const value& start_v, const value& stop_v, const value& step_v) {
    if (v.is_undefined()) raise_undefined(v);
    const bool is_str = v.is_string();
    if (!is_str && !v.is_sequence()) raise("TypeError", fmt::format("'{}' object is not subscriptable", v.type_name()));
    std::vector<uint32_t> cps;
    if (is_str) cps = code_points(v.str());
    const int64_t n = is_str ? int64_t(cps.size()) : int64_t(v.items().size());
    const int64_t step = step_v.is_none() ? 1 : need_int(step_v, "slice step");
    if (step == 0) raise("ValueError", "slice step cannot be zero");
    auto clamp = [&](const value& b, int64_t def) {
        if (b.is_none()) return def;
        int64_t i = need_int(b, "slice index");
        if (i < 0) i += n;
        if (step > 0) return std::clamp<int64_t>(i, 0, n);
        return std::clamp<int64_t>(i, -1, n - 1);
    };
    const int64_t start = clamp(start_v, step > 0 ? 0 : n - 1);
    const int64_t stop = clamp(stop_v, step > 0 ? n : -1);
    std::string s;
    array a;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (is_str) utf8_append(s, cps[size_t(i)]);
        else a.push_back(v.items()[size_t(i)]);
    }
    in.charge(s.size() + a.size() * 8);
    if (is_str) return value::string(std::move(s), v.as_text().has_data());
    return v.type() == kind::tuple ? value::tuple(std::move(a)) : value::list(std::move(a));
}

value to_int(const value& v, const value& def, int64_t base) {
    switch (v.type()) {
        case kind::boolean:
        case kind::integer: return value::integer(v.as_int());
        case kind::floating: {
            const double d = v.as_float();
            if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return def;
            return value::integer(int64_t(d));
        }
        case kind::string: {
            std::string s = v.str();
            s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
            s.erase(s.find_last_not_of(" \t\n\r\f\v") + 1);
            std::string digits;
            for (char c : s)
                if (c != '_') digits += c;
            try {
                size_t used = 0;
                const long long r = std::stoll(digits, &used, int(base));
                if (used == digits.size() && !digits.empty()) return value::integer(r);
            } catch (...) {
            }
            try {
                size_t used = 0;
                const double d = std::stod(digits, &used);
                if (used == digits.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return value::integer(int64_t(d));
            } catch (...) {
            }
            return def;
        }
        default: return def;
    }
}

value to_float(const value& v, const value& def) {
    if (v.is_number()) return value::floating(v.as_float());
    if (v.is_string()) {
        try {
            size_t used = 0;
            std::string s = v.str();
            s.erase(0, s.find_first_not_of(" \t\n\r\f\v"));
            s.erase(s.find_last_not_of(" \t\n\r\f\v") + 1);
            const double d = std::stod(s, &used);
            if (used == s.size()) return value::floating(d);
        } catch (...) {
        }
    }
    return def;
}

int64_t length(const value& v) {
    switch (v.type()) {
        case kind::undefined: return 0;
        case kind::string: return int64_t(utf8_length(v.str()));
        case kind::array:
        case kind::tuple: return int64_t(v.items().size());
        case kind::object: return int64_t(v.obj().entries.size());
        default: raise("TypeError", fmt::format("object of type '{}' has no len()", v.type_name()));
    }
}

value make_items(const value& v) {
    if (v.is_undefined()) return value::list({});
    if (!v.is_object()) raise("TypeError", fmt::format("Can only get item pairs from a mapping, not '{}'", v.type_name()));
    array out;
    for (const auto& [k, x] : v.obj().entries) out.push_back(value::tuple({k, x}));
    return value::list(std::move(out));
}

using filter_fn = value (*)(interpreter&, const value&, call_args&);

value f_tojson(interpreter& in, const value& v, call_args& a) {
    binder b("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"});
    json_options o;
    const value indent = b(1, value::none());
    if (indent.type() == kind::integer) {
        o.indent = int(std::clamp<int64_t>(indent.as_int(), 0, 64));
        o.indent_str = std::string(size_t(o.indent), ' ');
    } else if (indent.is_string()) {
        o.indent = 0;
        o.indent_str = indent.str();
    }
    if (o.indent >= 0) o.item_sep.assign(1, ',');  // json.dumps drops the space when indenting
    const value sep = b(2, value::none());
    if (sep.is_sequence()) {
        if (sep.items().size() != 2 || !sep.items()[0].is_string() || !sep.items()[1].is_string())
            raise("ValueError", "separators must be a pair of strings");
        o.item_sep = sep.items()[0].str();
        o.key_sep = sep.items()[1].str();
    }
    o.sort_keys = b(3, value::boolean(false)).truthy();
    std::string s = to_json(v, o);
    if (b(0, value::boolean(false)).truthy()) s = ascii_json(s);
    in.check_size(s.size(), "tojson output");
    return derived(std::move(s), {&v});
}

value f_join(interpreter& in, const value& v, call_args& a) {
    binder b("join", a, {"d", "attribute"});
    const value d = b(0, value::string(""));
    const value attribute = b(1, value::none());
    text out;
    bool first = true;
    for (const value& item : iterate(v)) {
        if (!first) out.append(to_text(d));
        first = false;
        out.append(to_text(attribute.is_none() ? item : attr_path(in, item, attribute)));
        in.check_size(out.s.size(), "a joined string");
    }
    return value::string(std::move(out));
}

value f_default(interpreter&, const value& v, call_args& a) {
    binder b("default", a, {"default_value", "boolean"});
    const bool boolean = b(1, value::boolean(false)).truthy();
    if (v.is_undefined() || (boolean && !v.truthy())) return b(0, value::string(""));
    return v;
}

value f_map(interpreter& in, const value& v, call_args& a) {
    array out;
    const value* attribute = nullptr;
    value def;
    bool has_default = false;
    for (const auto& [k, x] : a.keyword) {
        if (k == "attribute") attribute = &x;
        else if (k == "default") def = x, has_default = true;
        else raise("TypeError", fmt::format("map() got an unexpected keyword argument '{}'", k));
    }
    if (!v.truthy()) return value::generator({});  // as select: none maps to nothing
    if (attribute) {
        for (const value& item : iterate(v)) {
            value x = attr_path(in, item, *attribute);
            out.push_back(x.is_undefined() && has_default ? def : x);
        }
        return value::generator(std::move(out));
    }
    if (a.positional.empty()) raise("TypeError", "map() needs a filter name or attribute=");
    need_string(a.positional[0], "map's filter name");
    const std::string name = a.positional[0].str();
    if (!is_filter(name)) raise("TemplateRuntimeError", fmt::format("No filter named '{}'.", name));
    for (const value& item : iterate(v)) {
        call_args fa;
        fa.positional.assign(a.positional.begin() + 1, a.positional.end());
        out.push_back(in.apply_filter(name, item, fa));
    }
    return value::generator(std::move(out));
}

value f_sort(interpreter& in, const value& v, call_args& a) {
    binder b("sort", a, {"reverse", "case_sensitive", "attribute"});
    const bool rev = b(0, value::boolean(false)).truthy();
    const bool cs = b(1, value::boolean(false)).truthy();
    const value attribute = b(2, value::none());
    array items = iterate(v);
    std::vector<std::pair<value, value>> keyed;
    for (const value& x : items) keyed.emplace_back(sort_key(attribute.is_none() ? x : attr_path(in, x, attribute), cs), x);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& p, const auto& q) { return rev ? less(q.first, p.first) : less(p.first, q.first); });
    array out;
    for (auto& [k, x] : keyed) out.push_back(std::move(x));
    return value::list(std::move(out));
}

value f_dictsort(interpreter&, const value& v, call_args& a) {
    binder b("dictsort", a, {"case_sensitive", "by", "reverse"});
    const bool cs = b(0, value::boolean(false)).truthy();
    const value by = b(1, value::string("key"));
    const bool rev = b(2, value::boolean(false)).truthy();
    if (!v.is_object()) raise("TypeError", "dictsort expects a mapping");
    const size_t pos = by.is_string() && by.str() == "value" ? 1 : 0;
    array pairs;
    for (const auto& [k, x] : v.obj().entries) pairs.push_back(value::tuple({k, x}));
    std::stable_sort(pairs.begin(), pairs.end(), [&](const value& p, const value& q) {
        const value kp = sort_key(p.items()[pos], cs), kq = sort_key(q.items()[pos], cs);
        return rev ? less(kq, kp) : less(kp, kq);
    });
    return value::list(std::move(pairs));
}

value f_unique(interpreter& in, const value& v, call_args& a) {
    binder b("unique", a, {"case_sensitive", "attribute"});
    const bool cs = b(0, value::boolean(false)).truthy();
    const value attribute = b(1, value::none());
    array out, seen;
    for (const value& x : iterate(v)) {
        const value key = sort_key(attribute.is_none() ? x : attr_path(in, x, attribute), cs);
        if (std::none_of(seen.begin(), seen.end(), [&](const value& s) { return equal(s, key); })) {
            seen.push_back(key);
            out.push_back(x);
        }
    }
    return value::generator(std::move(out));
}

value min_max(interpreter& in, const value& v, call_args& a, bool want_max) {
    binder b(want_max ? "max" : "min", a, {"case_sensitive", "attribute"});
    const bool cs = b(0, value::boolean(false)).truthy();
    const value attribute = b(1, value::none());
    const array items = iterate(v);
    if (items.empty()) return value::undefined(fmt::format("No aggregated item, sequence was empty."));
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
        const value ki = sort_key(attribute.is_none() ? items[i] : attr_path(in, items[i], attribute), cs);
        const value kb = sort_key(attribute.is_none() ? items[best] : attr_path(in, items[best], attribute), cs);
        if (want_max ? less(kb, ki) : less(ki, kb)) best = i;
    }
    return items[best];
}

value f_indent(interpreter& in, const value& v, call_args& a) {
    binder b("indent", a, {"width", "first", "blank"});
    const value width = b(0, value::integer(4));
    std::string ind;
    if (width.is_string()) ind = width.str();
    else {
        const int64_t w = need_int(width, "indent width");
        in.check_size(size_t(std::max<int64_t>(w, 0)), "an indent");
        ind = std::string(size_t(std::max<int64_t>(w, 0)), ' ');
    }
    const bool first = b(1, value::boolean(false)).truthy(), blank = b(2, value::boolean(false)).truthy();
    const std::string s = to_text(v).s + "\n";
    const std::vector<std::string> lines = splitlines(s);
    std::string out;
    if (blank) {
        for (size_t i = 0; i < lines.size(); ++i) {
            if (i) out += "\n" + ind;
            out += lines[i];
        }
    } else if (!lines.empty()) {
        out = lines[0];
        for (size_t i = 1; i < lines.size(); ++i) {
            out += "\n";
            if (!lines[i].empty()) out += ind;
            out += lines[i];
        }
    }
    if (first) out = ind + out;
    in.check_size(out.size(), "an indented string");
    return derived(std::move(out), {&v});
}

value f_replace(interpreter& in, const value& v, call_args& a) {
    binder b("replace", a, {"old", "new", "count"});
    const text s = to_text(v);
    const value from = b(0), to = b(1);
    need_string(from, "replace");
    need_string(to, "replace");
    const value count = b(2, value::none());
    const int64_t n = count.is_none() ? -1 : need_int(count, "replace count");
    // The result can only be estimated before it is built: refuse a blow-up early.
    const size_t hits = from.str().empty() ? utf8_length(s.s) + 1 : 0;
    in.check_size(s.s.size() + hits * to.str().size(), "a replaced string");
    std::string out = replace_all(s.s, from.str(), to.str(), n);
    in.check_size(out.size(), "a replaced string");
    return derived(std::move(out), {&v, &to});
}

value f_round(interpreter&, const value& v, call_args& a) {
    binder b("round", a, {"precision", "method"});
    const int64_t prec = need_int(b(0, value::integer(0)), "round precision");
    const value method_v = b(1, value::string("common"));
    const std::string m = method_v.is_string() ? method_v.str() : "common";
    if (!v.is_number()) raise("TypeError", fmt::format("round expects a number, not '{}'", v.type_name()));
    const double scale = std::pow(10.0, double(prec));
    const double x = v.as_float() * scale;
    double r;
    if (m == "common") r = std::nearbyint(x);  // Python's round(): halves to even
    else if (m == "ceil") r = std::ceil(x);
    else if (m == "floor") r = std::floor(x);
    else raise("FilterArgumentError", "method must be common, ceil or floor");
    return value::floating(r / scale);
}

value f_sum(interpreter& in, const value& v, call_args& a) {
    binder b("sum", a, {"attribute", "start"});
    const value attribute = b(0, value::none());
    value acc = b(1, value::integer(0));
    for (const value& x : iterate(v)) acc = arithmetic(in, "+", acc, attribute.is_none() ? x : attr_path(in, x, attribute));
    return acc;
}

value f_trim(interpreter&, const value& v, call_args& a) {
    binder b("trim", a, {"chars"});
    return strip(v.is_string() ? v : value::string(to_text(v)), b(0, value::none()), true, true);
}

value f_string(interpreter&, const value& v, call_args&) { return value::string(to_text(v)); }
value f_safe(interpreter&, const value& v, call_args&) {
    text t = to_text(v);
    t.markup = true;
    return value::string(std::move(t));
}
value f_length(interpreter&, const value& v, call_args&) { return value::integer(length(v)); }
value f_upper(interpreter&, const value& v, call_args&) { return derived(case_upper(to_text(v).s), {&v}); }
value f_lower(interpreter&, const value& v, call_args&) { return derived(case_lower(to_text(v).s), {&v}); }
value f_capitalize(interpreter&, const value& v, call_args&) { return derived(map_case(to_text(v).s, case_mode::capitalize), {&v}); }
value f_title(interpreter&, const value& v, call_args&) { return derived(map_case(to_text(v).s, case_mode::title), {&v}); }
value f_items(interpreter&, const value& v, call_args&) { return value::generator(make_items(v).items()); }
value f_list(interpreter& in, const value& v, call_args&) {
    array items = iterate(v);
    in.check_items(items.size(), "a list");
    return value::list(std::move(items));
}
value f_first(interpreter&, const value& v, call_args&) {
    const array items = iterate(v);
    return items.empty() ? value::undefined("No first item, sequence was empty.") : items.front();
}
value f_last(interpreter&, const value& v, call_args&) {
    if (v.type() == kind::generator) raise("TypeError", "'generator' object is not reversible");
    const array items = iterate(v);
    return items.empty() ? value::undefined("No last item, sequence was empty.") : items.back();
}
value f_reverse(interpreter& in, const value& v, call_args&) {
    if (v.is_string()) return slice(in, v, value::none(), value::none(), value::integer(-1));
    array items = iterate(v);
    std::reverse(items.begin(), items.end());
    return value::list(std::move(items));
}
value f_int(interpreter&, const value& v, call_args& a) {
    binder b("int", a, {"default", "base"});
    return to_int(v, b(0, value::integer(0)), need_int(b(1, value::integer(10)), "int base"));
}
value f_float(interpreter&, const value& v, call_args& a) {
    binder b("float", a, {"default"});
    return to_float(v, b(0, value::floating(0.0)));
}
value f_abs(interpreter&, const value& v, call_args&) {
    if (v.type() == kind::floating) return value::floating(std::fabs(v.as_float()));
    if (v.is_number()) return value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
    raise("TypeError", fmt::format("bad operand type for abs(): '{}'", v.type_name()));
}
value f_attr(interpreter& in, const value& v, call_args& a) {
    binder b("attr", a, {"name"});
    const value name = b(0);
    need_string(name, "attr");
    return in.getattr(v, name.str());
}
value f_select(interpreter& in, const value& v, call_args& a) { return value::generator(select_items(in, v, a, false, true)); }
value f_reject(interpreter& in, const value& v, call_args& a) { return value::generator(select_items(in, v, a, false, false)); }
value f_selectattr(interpreter& in, const value& v, call_args& a) { return value::generator(select_items(in, v, a, true, true)); }
value f_rejectattr(interpreter& in, const value& v, call_args& a) { return value::generator(select_items(in, v, a, true, false)); }
value f_min(interpreter& in, const value& v, call_args& a) { return min_max(in, v, a, false); }
value f_max(interpreter& in, const value& v, call_args& a) { return min_max(in, v, a, true); }
value f_unique_(interpreter& in, const value& v, call_args& a) { return f_unique(in, v, a); }
value f_escape(interpreter&, const value& v, call_args&) { return value::string(html_escape(to_text(v))); }
value f_wordcount(interpreter&, const value& v, call_args&) {
    int64_t n = 0;
    bool in_word = false;
    for (const char c : to_text(v).s) {
        const bool w = is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
        if (w && !in_word) ++n;
        in_word = w;
    }
    return value::integer(n);
}
value f_format(interpreter& in, const value& v, call_args& a) {
    need_string(v, "format");
    return derived(percent_format(in, v.str(), value::tuple(a.positional)), {&v});
}
value f_slice_internal(interpreter& in, const value& v, call_args& a) {
    return slice(in, v, a.positional[0], a.positional[1], a.positional[2]);
}

const std::unordered_map<std::string_view, filter_fn>& filters() {
    static const std::unordered_map<std::string_view, filter_fn> table = {
        {"tojson", f_tojson},     {"join", f_join},           {"default", f_default},     {"d", f_default},
        {"map", f_map},           {"sort", f_sort},           {"dictsort", f_dictsort},   {"unique", f_unique_},
        {"min", f_min},           {"max", f_max},             {"indent", f_indent},       {"replace", f_replace},
        {"round", f_round},       {"sum", f_sum},             {"trim", f_trim},           {"string", f_string},
        {"safe", f_safe},         {"length", f_length},       {"count", f_length},        {"upper", f_upper},
        {"lower", f_lower},       {"capitalize", f_capitalize}, {"title", f_title},       {"items", f_items},
        {"list", f_list},         {"first", f_first},         {"last", f_last},           {"reverse", f_reverse},
        {"int", f_int},           {"float", f_float},         {"abs", f_abs},             {"attr", f_attr},
        {"select", f_select},     {"reject", f_reject},       {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr},
        {"escape", f_escape},     {"e", f_escape},            {"forceescape", f_escape},  {"wordcount", f_wordcount},
        {"format", f_format},     {"\x01slice", f_slice_internal},
    };
    return table;
}

// ---- tests ------------------------------------------------------------------------------------

using test_fn = bool (*)(interpreter&, const value&, call_args&);

const value& arg0(call_args& a, const char* test) {
    if (a.positional.empty()) raise("TypeError", fmt::format("the '{}' test needs an argument", test));
    return a.positional[0];
}

bool same_object(const value& a, const value& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case kind::array:
        case kind::tuple: return &a.items() == &b.items();
        case kind::object: return &a.obj() == &b.obj();
        case kind::string: return &a.as_text() == &b.as_text() || a.str() == b.str();
        default: return equal(a, b);
    }
}

const std::unordered_map<std::string_view, test_fn>& tests() {
    static const std::unordered_map<std::string_view, test_fn> table = {
        {"defined", [](interpreter&, const value& v, call_args&) { return !v.is_undefined(); }},
        {"undefined", [](interpreter&, const value& v, call_args&) { return v.is_undefined(); }},
        {"none", [](interpreter&, const value& v, call_args&) { return v.is_none(); }},
        {"boolean", [](interpreter&, const value& v, call_args&) { return v.type() == kind::boolean; }},
        {"false", [](interpreter&, const value& v, call_args&) { return v.type() == kind::boolean && !v.as_bool(); }},
        {"true", [](interpreter&, const value& v, call_args&) { return v.type() == kind::boolean && v.as_bool(); }},
        {"integer", [](interpreter&, const value& v, call_args&) { return v.type() == kind::integer; }},
        {"float", [](interpreter&, const value& v, call_args&) { return v.type() == kind::floating; }},
        {"number", [](interpreter&, const value& v, call_args&) { return v.is_number(); }},
        {"string", [](interpreter&, const value& v, call_args&) { return v.is_string(); }},
        {"mapping", [](interpreter&, const value& v, call_args&) { return v.is_object(); }},
        {"iterable", [](interpreter&, const value& v, call_args&) {
             return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_object() || v.type() == kind::generator;
         }},
        {"sequence", [](interpreter&, const value& v, call_args&) {
             return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_object();
         }},
        {"callable", [](interpreter&, const value& v, call_args&) { return v.type() == kind::callable; }},
        {"odd", [](interpreter&, const value& v, call_args&) { return need_int(v, "odd") % 2 != 0; }},
        {"even", [](interpreter&, const value& v, call_args&) { return need_int(v, "even") % 2 == 0; }},
        {"divisibleby", [](interpreter&, const value& v, call_args& a) {
             const int64_t d = need_int(arg0(a, "divisibleby"), "divisibleby");
             if (d == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
             return need_int(v, "divisibleby") % d == 0;
         }},
        {"eq", [](interpreter&, const value& v, call_args& a) { return equal(v, arg0(a, "eq")); }},
        {"equalto", [](interpreter&, const value& v, call_args& a) { return equal(v, arg0(a, "equalto")); }},
        {"==", [](interpreter&, const value& v, call_args& a) { return equal(v, arg0(a, "==")); }},
        {"ne", [](interpreter&, const value& v, call_args& a) { return !equal(v, arg0(a, "ne")); }},
        {"!=", [](interpreter&, const value& v, call_args& a) { return !equal(v, arg0(a, "!=")); }},
        {"lt", [](interpreter&, const value& v, call_args& a) { return less(v, arg0(a, "lt")); }},
        {"lessthan", [](interpreter&, const value& v, call_args& a) { return less(v, arg0(a, "lessthan")); }},
        {"<", [](interpreter&, const value& v, call_args& a) { return less(v, arg0(a, "<")); }},
        {"le", [](interpreter&, const value& v, call_args& a) { return !less(arg0(a, "le"), v); }},
        {"<=", [](interpreter&, const value& v, call_args& a) { return !less(arg0(a, "<="), v); }},
        {"gt", [](interpreter&, const value& v, call_args& a) { return less(arg0(a, "gt"), v); }},
        {"greaterthan", [](interpreter&, const value& v, call_args& a) { return less(arg0(a, "greaterthan"), v); }},
        {">", [](interpreter&, const value& v, call_args& a) { return less(arg0(a, ">"), v); }},
        {"ge", [](interpreter&, const value& v, call_args& a) { return !less(v, arg0(a, "ge")); }},
        {">=", [](interpreter&, const value& v, call_args& a) { return !less(v, arg0(a, ">=")); }},
        {"in", [](interpreter&, const value& v, call_args& a) { return contains(arg0(a, "in"), v); }},
        {"sameas", [](interpreter&, const value& v, call_args& a) { return same_object(v, arg0(a, "sameas")); }},
        {"lower", [](interpreter&, const value& v, call_args&) { return v.is_string() && case_lower(v.str()) == v.str(); }},
        {"upper", [](interpreter&, const value& v, call_args&) { return v.is_string() && case_upper(v.str()) == v.str(); }},
        {"escaped", [](interpreter&, const value&, call_args&) { return false; }},
        {"filter", [](interpreter&, const value& v, call_args&) { return v.is_string() && is_filter(v.str()); }},
        {"test", [](interpreter&, const value& v, call_args&) { return v.is_string() && is_test(v.str()); }},
    };
    return table;
}

// ---- methods ----------------------------------------------------------------------------------

value bound(std::string name, std::function<value(interpreter&, call_args&)> fn) {
    auto c = std::make_shared<callable>();
    c->name = std::move(name);
    c->call = std::move(fn);
    return value::function(c);
}

bool starts_or_ends(const value& self, const value& what, bool ends) {
    auto one = [&](const value& p) {
        need_string(p, ends ? "endswith" : "startswith");
        const std::string &s = self.str(), &x = p.str();
        if (x.size() > s.size()) return false;
        return ends ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0;
    };
    if (what.type() == kind::tuple) return std::any_of(what.items().begin(), what.items().end(), one);
    return one(what);
}

value string_method(const value& self, const std::string& name) {
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const bool l = name != "rstrip", r = name != "lstrip";
        return bound(name, [self, l, r, name](interpreter&, call_args& a) {
            binder b(name.c_str(), a, {"chars"});
            return strip(self, b(0, value::none()), l, r);
        });
    }
    if (name == "split" || name == "rsplit") {
        const bool right = name == "rsplit";
        return bound(name, [self, right, name](interpreter& in, call_args& a) {
            binder b(name.c_str(), a, {"sep", "maxsplit"});
            value r = split(self, b(0, value::none()), need_int(b(1, value::integer(-1)), "maxsplit"), right);
            in.check_items(r.items().size(), "a split");
            return r;
        });
    }
    if (name == "startswith" || name == "endswith") {
        const bool ends = name == "endswith";
        return bound(name, [self, ends, name](interpreter&, call_args& a) {
            binder b(name.c_str(), a, {"prefix"});
            return value::boolean(starts_or_ends(self, b(0), ends));
        });
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
        const filter_fn f = name == "upper" ? f_upper : name == "lower" ? f_lower : name == "title" ? f_title : f_capitalize;
        return bound(name, [self, f](interpreter& in, call_args& a) { return f(in, self, a); });
    }
    if (name == "replace") {
        return bound(name, [self](interpreter& in, call_args& a) {
            binder b("replace", a, {"old", "new", "count"});
            call_args fa;
            fa.positional = {b(0), b(1)};
            const value c = b(2, value::integer(-1));
            if (need_int(c, "count") >= 0) fa.positional.push_back(c);
            return f_replace(in, self, fa);
        });
    }
    if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
        return bound(name, [self, name](interpreter&, call_args& a) {
            binder b(name.c_str(), a, {"sub"});
            const value sub = b(0);
            need_string(sub, name.c_str());
            const std::string& s = self.str();
            if (name == "count") {
                if (sub.str().empty()) return value::integer(int64_t(utf8_length(s)) + 1);
                int64_t n = 0;
                for (size_t p = s.find(sub.str()); p != std::string::npos; p = s.find(sub.str(), p + sub.str().size())) ++n;
                return value::integer(n);
            }
            const bool rev = name[0] == 'r';
            const size_t p = rev ? s.rfind(sub.str()) : s.find(sub.str());
            if (p == std::string::npos) {
                if (name == "index" || name == "rindex") raise("ValueError", "substring not found");
                return value::integer(-1);
            }
            return value::integer(int64_t(utf8_length(std::string_view(s).substr(0, p))));
        });
    }
    if (name == "join") {
        return bound(name, [self](interpreter& in, call_args& a) {
            binder b("join", a, {"iterable"});
            text out;
            bool first = true;
            for (const value& x : iterate(b(0))) {
                if (!first) out.append(self.as_text());
                first = false;
                if (!x.is_string()) raise("TypeError", fmt::format("sequence item: expected str instance, {} found", x.type_name()));
                out.append(x.as_text());
                in.check_size(out.s.size(), "a joined string");
            }
            return value::string(std::move(out));
        });
    }
    if (name == "splitlines") {
        return bound(name, [self](interpreter&, call_args&) {
            array out;
            for (std::string& l : splitlines(self.str())) out.push_back(value::string(std::move(l), self.as_text().has_data()));
            return value::list(std::move(out));
        });
    }
    if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "isupper" || name == "islower") {
        return bound(name, [self, name](interpreter&, call_args&) {
            const std::string& s = self.str();
            if (s.empty()) return value::boolean(false);
            bool ok = true, cased = false;
            for (const char c : s) {
                const bool digit = c >= '0' && c <= '9';
                if (name == "isdigit") ok = ok && digit;
                else if (name == "isalpha") ok = ok && is_alpha(c);
                else if (name == "isalnum") ok = ok && (digit || is_alpha(c));
                else if (name == "isspace") ok = ok && std::string_view(" \t\n\r\v\f").find(c) != std::string_view::npos;
                else if (name == "isupper") {
                    ok = ok && !(c >= 'a' && c <= 'z');
                    cased = cased || (c >= 'A' && c <= 'Z');
                } else {
                    ok = ok && !(c >= 'A' && c <= 'Z');
                    cased = cased || (c >= 'a' && c <= 'z');
                }
            }
            if (name == "isupper" || name == "islower") ok = ok && cased;
            return value::boolean(ok);
        });
    }
    if (name == "format") {
        return bound(name, [self](interpreter& in, call_args& a) {
            // str.format with positional {} / {0} and named {name} fields.
            const std::string& s = self.str();
            std::string out;
            size_t auto_idx = 0;
            for (size_t i = 0; i < s.size(); ++i) {
                if (s[i] == '{' && i + 1 < s.size() && s[i + 1] == '{') {
                    out += '{';
                    ++i;
                } else if (s[i] == '}' && i + 1 < s.size() && s[i + 1] == '}') {
                    out += '}';
                    ++i;
                } else if (s[i] == '{') {
                    const size_t e = s.find('}', i);
                    if (e == std::string::npos) raise("ValueError", "Single '{' encountered in format string");
                    const std::string field = s.substr(i + 1, e - i - 1);
                    value v;
                    if (field.empty()) {
                        if (auto_idx >= a.positional.size()) raise("IndexError", "Replacement index out of range for positional args tuple");
                        v = a.positional[auto_idx++];
                    } else if (std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                        const size_t k = size_t(std::stoul(field));
                        if (k >= a.positional.size()) raise("IndexError", "Replacement index out of range for positional args tuple");
                        v = a.positional[k];
                    } else {
                        bool found = false;
                        for (const auto& [k, x] : a.keyword)
                            if (k == field) v = x, found = true;
                        if (!found) raise("KeyError", repr(value::string(field)));
                    }
                    out += to_text(v).s;
                    in.check_size(out.size(), "a formatted string");
                    i = e;
                } else {
                    out += s[i];
                }
            }
            bool data = self.as_text().has_data();
            for (const value& v : a.positional) data = data || contains_data(v);
            return value::string(std::move(out), data);
        });
    }
    return {};
}

value dict_method(const value& self, const std::string& name) {
    if (name == "items") return bound(name, [self](interpreter&, call_args&) { return make_items(self); });
    if (name == "keys" || name == "values") {
        const bool keys = name == "keys";
        return bound(name, [self, keys](interpreter&, call_args&) {
            array out;
            for (const auto& [k, v] : self.obj().entries) out.push_back(keys ? k : v);
            return value::list(std::move(out));
        });
    }
    if (name == "get") {
        return bound(name, [self](interpreter&, call_args& a) {
            binder b("get", a, {"key", "default"});
            const value* v = self.obj().find(b(0));
            return v ? *v : b(1, value::none());
        });
    }
    if (name == "copy") return bound(name, [self](interpreter&, call_args&) { return self; });
    return {};
}

value list_method(const value& self, const std::string& name) {
    if (name == "index" || name == "count") {
        const bool count = name == "count";
        return bound(name, [self, count](interpreter&, call_args& a) {
            binder b(count ? "count" : "index", a, {"value"});
            const value x = b(0);
            int64_t n = 0;
            for (size_t i = 0; i < self.items().size(); ++i) {
                if (!equal(self.items()[i], x)) continue;
                if (!count) return value::integer(int64_t(i));
                ++n;
            }
            if (!count) raise("ValueError", fmt::format("{} is not in list", repr(x)));
            return value::integer(n);
        });
    }
    return {};
}

bool is_mutator(kind k, const std::string& name) {
    static const char* list_mut[] = {"append", "pop", "extend", "insert", "remove", "clear", "sort", "reverse"};
    static const char* dict_mut[] = {"pop", "popitem", "update", "setdefault", "clear"};
    if (k == kind::array)
        return std::any_of(std::begin(list_mut), std::end(list_mut), [&](const char* m) { return name == m; });
    if (k == kind::object)
        return std::any_of(std::begin(dict_mut), std::end(dict_mut), [&](const char* m) { return name == m; });
    return false;
}

}  // namespace

// ---- public entry points ----------------------------------------------------------------------

bool is_filter(std::string_view name) { return filters().count(name) != 0; }
bool is_test(std::string_view name) { return tests().count(name) != 0; }

value interpreter::apply_filter(const std::string& name, const value& target, call_args& args) {
    const auto it = filters().find(name);
    if (it == filters().end()) raise("TemplateRuntimeError", fmt::format("No filter named '{}'.", name));
    // Most filters read their input as a string or sequence; an Undefined one fails there,
    // except for those that define Undefined's meaning (default, length, string, ...).
    return it->second(*this, target, args);
}

bool interpreter::apply_test(const std::string& name, const value& target, call_args& args) {
    const auto it = tests().find(name);
    if (it == tests().end()) raise("TemplateRuntimeError", fmt::format("No test named '{}'.", name));
    return it->second(*this, target, args);
}

value method(interpreter&, const value& obj, const std::string& name) {
    if (is_mutator(obj.type(), name))
        return value::unsafe(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
    switch (obj.type()) {
        case kind::string: return string_method(obj, name);
        case kind::object: return dict_method(obj, name);
        case kind::array:
        case kind::tuple: return list_method(obj, name);
        default: return {};
    }
}

array iterate(const value& v) {
    switch (v.type()) {
        case kind::undefined:
            if (v.is_unsafe()) raise_undefined(v);
            return {};
        case kind::array:
        case kind::tuple:
        case kind::generator: return v.items();
        case kind::object: {
            array keys;
            for (const auto& [k, x] : v.obj().entries) keys.push_back(k);
            return keys;
        }
        case kind::string: {
            array chars;
            const std::string& s = v.str();
            const bool data = v.as_text().has_data();
            for (size_t i = 0; i < s.size();) {
                const size_t st = i;
                utf8_next(s, i);
                chars.push_back(value::string(s.substr(st, i - st), data));
            }
            return chars;
        }
        default: raise("TypeError", fmt::format("'{}' object is not iterable", v.type_name()));
    }
}

bool contains(const value& container, const value& item) {
    switch (container.type()) {
        case kind::string:
            if (!item.is_string())
                raise("TypeError", fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
            return container.str().find(item.str()) != std::string::npos;
        case kind::array:
        case kind::tuple:
        case kind::generator:
            return std::any_of(container.items().begin(), container.items().end(), [&](const value& x) { return equal(x, item); });
        case kind::object: return container.obj().find(item) != nullptr;
        case kind::undefined: return false;
        default: raise("TypeError", fmt::format("argument of type '{}' is not iterable", container.type_name()));
    }
}

value arithmetic(interpreter& in, const std::string& op, const value& a, const value& b) {
    if (op == "~") {
        text t = to_text(a);
        t.append(to_text(b));
        in.check_size(t.s.size(), "a concatenated string");
        return value::string(std::move(t));
    }
    if (a.is_undefined()) raise_undefined(a);
    if (b.is_undefined()) raise_undefined(b);
    const bool nums = a.is_number() && b.is_number();
    const bool floats = nums && (a.type() == kind::floating || b.type() == kind::floating);
    auto unsupported = [&]() -> value {
        raise("TypeError", fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name()));
    };
    auto overflow = []() -> value { raise("OverflowError", "integer result does not fit in 64 bits"); };
    if (op == "+") {
        if (floats) return value::floating(a.as_float() + b.as_float());
        if (nums) {
            int64_t r;
            if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) return overflow();
            return value::integer(r);
        }
        if (a.is_string() && b.is_string()) {
            in.check_size(a.str().size() + b.str().size(), "a concatenated string");
            const bool markup = a.as_text().markup || b.as_text().markup;
            text t = markup ? html_escape(a.as_text()) : a.as_text();
            t.append(markup ? html_escape(b.as_text()) : b.as_text());
            t.markup = markup;
            in.check_size(t.s.size(), "a concatenated string");
            return value::string(std::move(t));
        }
        if (a.is_sequence() && b.type() == a.type()) {
            in.check_items(a.items().size() + b.items().size(), "a concatenated list");
            array r = a.items();
            r.insert(r.end(), b.items().begin(), b.items().end());
            return a.type() == kind::tuple ? value::tuple(std::move(r)) : value::list(std::move(r));
        }
        if (a.is_string() || a.is_sequence())
            raise("TypeError", fmt::format("can only concatenate {} (not \"{}\") to {}", a.type_name(), b.type_name(), a.type_name()));
        return unsupported();
    }
    if (op == "-") {
        if (floats) return value::floating(a.as_float() - b.as_float());
        if (nums) {
            int64_t r;
            if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) return overflow();
            return value::integer(r);
        }
        return unsupported();
    }
    if (op == "*") {
        if (floats) return value::floating(a.as_float() * b.as_float());
        if (nums) {
            int64_t r;
            if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) return overflow();
            return value::integer(r);
        }
        const value* seq = (a.is_string() || a.is_sequence()) ? &a : (b.is_string() || b.is_sequence()) ? &b : nullptr;
        const value* cnt = seq == &a ? &b : &a;
        if (seq && (cnt->type() == kind::integer || cnt->type() == kind::boolean)) {
            const int64_t n = std::max<int64_t>(cnt->as_int(), 0);
            if (seq->is_string()) {
                uint64_t total;
                if (__builtin_mul_overflow(uint64_t(seq->str().size()), uint64_t(n), &total)) total = UINT64_MAX;
                in.check_size(size_t(std::min<uint64_t>(total, SIZE_MAX)), "a repeated string");
                text t;
                for (int64_t i = 0; i < n; ++i) t.append(seq->as_text());
                return value::string(std::move(t));
            }
            uint64_t total;
            if (__builtin_mul_overflow(uint64_t(seq->items().size()), uint64_t(n), &total)) total = UINT64_MAX;
            in.check_items(size_t(std::min<uint64_t>(total, SIZE_MAX)), "a repeated list");
            array r;
            for (int64_t i = 0; i < n; ++i) r.insert(r.end(), seq->items().begin(), seq->items().end());
            return seq->type() == kind::tuple ? value::tuple(std::move(r)) : value::list(std::move(r));
        }
        return unsupported();
    }
    if (op == "/") {
        if (!nums) return unsupported();
        if (b.as_float() == 0) raise("ZeroDivisionError", "division by zero");
        return value::floating(a.as_float() / b.as_float());
    }
    if (op == "//" || op == "%") {
        if (op == "%" && a.is_string()) return derived(percent_format(in, a.str(), b), {&a, &b});
        if (!nums) return unsupported();
        if (floats) {
            const double y = b.as_float();
            if (y == 0) raise("ZeroDivisionError", "float division by zero");
            const double x = a.as_float();
            if (op == "//") return value::floating(std::floor(x / y));
            double m = std::fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return value::floating(m);
        }
        const int64_t x = a.as_int(), y = b.as_int();
        if (y == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) return op == "%" ? value::integer(0) : overflow();
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) {
            --q;
            r += y;
        }
        return value::integer(op == "//" ? q : r);
    }
    if (op == "**") {
        if (!nums) return unsupported();
        if (floats || b.as_int() < 0) return value::floating(std::pow(a.as_float(), b.as_float()));
        int64_t base = a.as_int(), e = b.as_int(), r = 1;
        while (e > 0) {
            if (e & 1)
                if (__builtin_mul_overflow(r, base, &r)) return overflow();
            e >>= 1;
            if (e && __builtin_mul_overflow(base, base, &base)) return overflow();
        }
        return value::integer(r);
    }
    return unsupported();
}

void add_builtin_globals(std::map<std::string, value>& g, int64_t now_unix) {
    g["range"] = bound("range", [](interpreter& in, call_args& a) {
        if (a.positional.empty() || a.positional.size() > 3 || !a.keyword.empty())
            raise("TypeError", fmt::format("range expected 1 to 3 arguments, got {}", a.positional.size()));
        int64_t start = 0, stop, step = 1;
        if (a.positional.size() == 1) stop = need_int(a.positional[0], "range");
        else {
            start = need_int(a.positional[0], "range");
            stop = need_int(a.positional[1], "range");
            if (a.positional.size() == 3) step = need_int(a.positional[2], "range");
        }
        if (step == 0) raise("ValueError", "range() arg 3 must not be zero");
        const long double span = step > 0 ? (long double)stop - start : (long double)start - stop;
        const long double n = span <= 0 ? 0 : std::ceil(span / std::fabs((long double)step));
        in.check_items(n > 1e18L ? SIZE_MAX : size_t(n), "range()");
        array out;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(value::integer(i));
        return value::list(std::move(out));
    });
    g["namespace"] = bound("namespace", [](interpreter&, call_args& a) {
        auto ns = std::make_shared<namespace_obj>();
        for (const value& p : a.positional) {
            if (!p.is_object()) raise("TypeError", "namespace() takes mappings as positional arguments");
            for (const auto& [k, v] : p.obj().entries)
                if (k.is_string()) ns->attrs[k.str()] = v;
        }
        for (const auto& [k, v] : a.keyword) ns->attrs[k] = v;
        return value::namespace_(ns);
    });
    g["dict"] = bound("dict", [](interpreter&, call_args& a) {
        auto o = std::make_shared<object>();
        for (const value& p : a.positional) {
            if (!p.is_object()) raise("TypeError", "dict() takes a mapping");
            for (const auto& [k, v] : p.obj().entries) o->set(k, v);
        }
        for (const auto& [k, v] : a.keyword) o->set(value::string(k), v);
        return value::dict(o);
    });
    g["raise_exception"] = bound("raise_exception", [](interpreter&, call_args& a) -> value {
        const std::string msg = a.positional.empty() ? std::string() : to_text(a.positional[0]).s;
        raise("TemplateError", msg);
    });
    g["strftime_now"] = bound("strftime_now", [now_unix](interpreter&, call_args& a) {
        if (a.positional.empty() || !a.positional[0].is_string()) raise("TypeError", "strftime_now expects a format string");
        std::tm tm{};
        if (now_unix >= 0) {
            const time_t t = time_t(now_unix);
            gmtime_r(&t, &tm);
        } else {
            const time_t t = std::time(nullptr);
            localtime_r(&t, &tm);
        }
        const std::string& f = a.positional[0].str();
        if (f.size() > 256) raise("ValueError", "strftime_now format longer than 256 bytes");
        char buf[4096];
        const size_t n = f.empty() ? 0 : std::strftime(buf, sizeof buf, f.c_str(), &tm);
        return value::string(std::string(buf, n));
    });
}

}  // namespace ember::jinja
