// Values of ember's Jinja interpreter: Python's object model as far as chat templates see it
// (None, bool, int, float, str, list/tuple, dict, callables, namespace(), Undefined).
//
// Strings remember which of their bytes came from the caller's data (message contents, tool
// definitions) rather than from the template's own text: the rendered prompt is tokenized with
// special-token parsing only outside those bytes, so "<|im_end|>" typed by a user stays text.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/error.hpp"

namespace ember::jinja {

// A half-open byte range [begin, end) of a string that holds caller data.
struct data_span {
    size_t begin;
    size_t end;
    bool operator==(const data_span&) const = default;
};

// Text with the byte ranges that came from data; spans are sorted, disjoint and non-empty.
struct text {
    std::string s;
    std::vector<data_span> data;
    // Markup (what |safe and |escape return): adding a plain string to it HTML-escapes that
    // string first, as markupsafe does -- templates that write "x"|safe + name rely on it.
    bool markup = false;

    void append(std::string_view t) { s += t; }
    void append(const text& t);
    bool has_data() const { return !data.empty(); }
    // Marks the whole of `s` as data (or as template text).
    static text of(std::string s, bool is_data);
};

class value;
using array = std::vector<value>;
struct object;        // dict: insertion-ordered
struct callable;      // builtins, bound methods, macros
struct namespace_obj; // namespace(): the one mutable object templates may assign into

// generator: what Jinja's select/map/unique/items filters return -- iterable, always true, with
// no len(), no indexing and not JSON-serializable (templates that forget "| list" fail in Jinja).
enum class kind : uint8_t { undefined, none, boolean, integer, floating, string, array, tuple, object, callable, ns, generator };

class value {
public:
    value() = default;  // Undefined
    static value undefined(std::string hint = {});
    // The Undefined a sandbox returns for a mutating method (list.append, dict.update, ...):
    // using it raises SecurityError instead of UndefinedError.
    static value unsafe(std::string hint);
    static value none();
    static value boolean(bool b);
    static value integer(int64_t i);
    static value floating(double f);
    static value string(std::string s, bool is_data = false);
    static value string(text t);
    static value list(array items);
    static value tuple(array items);
    static value generator(array items);
    static value dict(std::shared_ptr<const object> o);
    static value function(std::shared_ptr<const callable> fn);
    static value namespace_(std::shared_ptr<namespace_obj> ns);

    kind type() const { return k_; }
    bool is_undefined() const { return k_ == kind::undefined; }
    bool is_none() const { return k_ == kind::none; }
    bool is_string() const { return k_ == kind::string; }
    bool is_number() const { return k_ == kind::integer || k_ == kind::floating || k_ == kind::boolean; }
    bool is_sequence() const { return k_ == kind::array || k_ == kind::tuple; }
    bool is_object() const { return k_ == kind::object; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return k_ == kind::boolean ? int64_t(b_) : i_; }
    double as_float() const { return k_ == kind::floating ? f_ : double(as_int()); }
    const text& as_text() const { return *static_cast<const text*>(p_.get()); }
    const std::string& str() const { return as_text().s; }
    const array& items() const { return *static_cast<const array*>(p_.get()); }
    const object& obj() const { return *static_cast<const object*>(p_.get()); }
    const callable& fn() const { return *static_cast<const callable*>(p_.get()); }
    namespace_obj& ns() const { return *static_cast<namespace_obj*>(const_cast<void*>(p_.get())); }
    const std::string& undefined_hint() const;
    bool is_unsafe() const { return unsafe_; }

    // Python's bool(x).
    bool truthy() const;

    // Python's type(x).__name__ as Jinja's messages spell it ("str", "list", "dict", ...).
    const char* type_name() const;

private:
    kind k_ = kind::undefined;
    bool b_ = false;
    union {
        int64_t i_ = 0;
        double f_;
    };
    bool unsafe_ = false;
    // What the kind says: text, array, object, callable, namespace_obj, or for an Undefined the
    // std::string of its "'x' is undefined" message. One pointer keeps values small (32 bytes).
    std::shared_ptr<const void> p_;
};

struct object {
    std::vector<std::pair<value, value>> entries;

    const value* find(const value& key) const;
    const value* find(std::string_view key) const;
    void set(value key, value v);  // replaces an existing key in place, as a dict does
};

struct namespace_obj {
    std::map<std::string, value> attrs;
};

// Arguments of a call: positional then keyword, as the template wrote them.
struct call_args {
    std::vector<value> positional;
    std::vector<std::pair<std::string, value>> keyword;
};

class interpreter;
struct callable {
    std::string name;
    std::function<value(interpreter&, call_args&)> call;
};

// The error every template failure becomes; the interpreter prefixes the template line.
[[noreturn]] void raise(std::string_view kind, const std::string& message);

// Raises the error using an Undefined raises (UndefinedError, or SecurityError if unsafe).
[[noreturn]] void raise_undefined(const value& v);

// Whether any string inside v (recursively) holds caller data.
bool contains_data(const value& v);

// markupsafe's escape(): & < > " ' as entities; Markup is returned unchanged.
text html_escape(const text& t);

// Python's repr(x) / str(x) for values a template prints.
std::string repr(const value& v);
text to_text(const value& v);  // str(x), keeping data spans of strings

// json.dumps(x, ensure_ascii=False, indent, separators, sort_keys) as transformers' tojson calls it.
struct json_options {
    int indent = -1;  // -1: no newlines
    std::string indent_str;
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
};
std::string to_json(const value& v, const json_options& opt);
// The same with every non-ASCII character escaped (ensure_ascii=True).
std::string ascii_json(std::string_view json);

// Python's ==, and the ordering < (which raises TypeError between unorderable types).
bool equal(const value& a, const value& b);
bool less(const value& a, const value& b);

// Python float repr (shortest round trip: 1.0, 0.1, 1e-05, 1e+16, inf, nan).
std::string float_repr(double d);

// UTF-8 helpers: code point count, and the byte offset of code point index i (clamped).
size_t utf8_length(std::string_view s);
size_t utf8_offset(std::string_view s, size_t cp_index);
// Decodes the code point at s[i] and advances i (an invalid byte reads as itself).
uint32_t utf8_next(std::string_view s, size_t& i);
void utf8_append(std::string& out, uint32_t cp);
// Python's str.isspace() for one code point.
bool is_py_space(uint32_t cp);

}  // namespace ember::jinja
