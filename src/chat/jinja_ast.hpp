// The parsed form of a Jinja template: statements holding expressions, each with its line.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_value.hpp"

namespace ember::jinja {

struct expr;
using expr_ptr = std::unique_ptr<expr>;

enum class expr_kind : uint8_t {
    literal,   // lit
    name,      // name
    list,      // kids
    tuple,     // kids
    dict,      // kids: key, value, key, value, ...
    getattr,   // kids[0].name
    getitem,   // kids[0][kids[1]]
    slice,     // kids[0][kids[1]:kids[2]:kids[3]] (null kids are omitted bounds)
    call,      // kids[0](kids[1..], kwargs)
    filter,    // name(kids[0], kids[1..], kwargs); kids[0] is null inside {% filter %}
    test,      // kids[0] is [not] name(kids[1..]) (negated)
    unary,     // op kids[0]: "not", "-", "+"
    binary,    // kids[0] op kids[1]: "or", "and", "==", "in", "not in", "+", "~", "**", ...
    cond,      // kids[1] if kids[0] else kids[2] (kids[2] may be null)
};

struct expr {
    expr_kind kind;
    int line = 0;
    value lit;
    std::string name;  // variable, attribute, filter or test name; the operator of unary/binary
    bool negated = false;
    std::vector<expr_ptr> kids;
    std::vector<std::pair<std::string, expr_ptr>> kwargs;
};

struct stmt;
using stmt_ptr = std::unique_ptr<stmt>;
using body = std::vector<stmt_ptr>;

enum class stmt_kind : uint8_t {
    text,          // raw template text
    output,        // {{ e }}
    if_,           // branches: (condition, body)...; else_body
    for_,          // for targets in e [if cond] ... [else] ...
    set,           // set targets = e, or set ns.attr = e (attr non-empty)
    set_block,     // {% set x %}body{% endset %}
    macro,         // macro name(params) body
    call_block,    // {% call(params) e %}body{% endcall %}
    filter_block,  // {% filter e %}body{% endfilter %}: e is a filter chain on a null target
    break_,
    continue_,
    scope,         // a body run as-is ({% generation %})
};

struct macro_param {
    std::string name;
    expr_ptr default_value;  // null: required
};

struct stmt {
    stmt_kind kind;
    int line = 0;
    std::string text;
    expr_ptr e;     // output value, for iterable, set value, call expression, filter chain
    expr_ptr cond;  // for ... if cond
    std::vector<std::pair<expr_ptr, body>> branches;
    body main;       // for/set_block/macro/call/filter/scope body
    body else_body;  // if's else, for's else
    std::vector<std::string> targets;  // for/set names (several: tuple unpacking)
    std::string attr;                  // set ns.attr
    std::string name;                  // macro name
    std::vector<macro_param> params;   // macro / call-block parameters
    bool recursive = false;            // for ... recursive
};

struct parse_limits {
    int max_depth = 128;  // nesting of blocks and expressions
};

// Parses a template as Hugging Face's environment does (trim_blocks, lstrip_blocks, a single
// trailing newline dropped, \r\n read as \n). Throws ember::error(errc::template_error) naming
// the line for syntax errors, unknown tags, filters and tests.
struct parsed_template {
    body root;
};
parsed_template parse(std::string_view source, const parse_limits& limits = {});

// The names the interpreter implements, so unknown ones fail at parse time as in Jinja.
bool is_filter(std::string_view name);
bool is_test(std::string_view name);

}  // namespace ember::jinja
