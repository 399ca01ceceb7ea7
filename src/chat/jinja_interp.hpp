// The tree-walking interpreter of parsed templates, with the limits that make a hostile template
// an error instead of a hang: steps, output bytes, recursion depth and collection sizes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja_ast.hpp"

namespace ember::jinja {

struct render_limits {
    uint64_t max_steps = 1'000'000;        // expression and statement evaluations (plus bytes/256 built)
    size_t max_output = 16u << 20;         // bytes of any string built and of the output
    int max_depth = 400;                   // nested evaluation (macro calls count their whole body)
    size_t max_items = 1u << 20;           // elements of a list made by range(), *, or a filter
};

class interpreter {
public:
    interpreter(const parsed_template& tpl, const render_limits& limits);

    // Renders the template with `globals` (messages, tools, bos_token, ...). Throws
    // ember::error(errc::template_error) with Jinja's exception name and the line.
    text render(const std::map<std::string, value>& globals);

    // For the builtins.
    void charge(size_t bytes);                    // counts work proportional to bytes built
    void check_size(size_t bytes, const char* what);  // a string about to exceed max_output
    void check_items(size_t n, const char* what);
    value call(const value& fn, call_args& args);
    value getattr(const value& obj, const std::string& name);
    value getitem(const value& obj, const value& key);
    value apply_filter(const std::string& name, const value& target, call_args& args);
    bool apply_test(const std::string& name, const value& target, call_args& args);
    const render_limits& limits() const { return limits_; }

private:
    // Scopes live as long as a shared_ptr holds them: the running statement's, and a parent's
    // for its children. Macros and caller() keep a weak reference to where they were defined.
    // A scope holds a handful of names: a flat list is faster than a map to build and search.
    struct var_table {
        std::vector<std::pair<std::string, value>> v;
        value* find(std::string_view name) {
            for (auto& [k, x] : v)
                if (k == name) return &x;
            return nullptr;
        }
        value& operator[](std::string_view name) {
            if (value* x = find(name)) return *x;
            v.emplace_back(std::string(name), value());
            return v.back().second;
        }
    };
    struct scope : std::enable_shared_from_this<scope> {
        var_table vars;
        std::shared_ptr<scope> parent;
    };
    using scope_ptr = std::shared_ptr<scope>;
    enum class flow { normal, break_, continue_ };

    const parsed_template& tpl_;
    render_limits limits_;
    uint64_t steps_ = 0;
    int depth_ = 0;
    int line_ = 0;  // of the statement or expression being evaluated, for messages
    std::vector<text> out_;  // the output stack: the page, then captures (set blocks, macros)

    struct depth_guard {
        interpreter& in;
        explicit depth_guard(interpreter& i);
        ~depth_guard() { --in.depth_; }
    };

    void step();
    static scope_ptr new_scope(scope* parent);
    value lookup(scope* s, const std::string& name);
    void assign(scope* s, const std::vector<std::string>& targets, const value& v);
    void emit(const text& t);
    text capture(const body& b, scope* s);

    flow exec(const body& b, scope* s);
    flow exec(const stmt& st, scope* s);
    flow exec_for(const stmt& st, scope* s);
    value eval(const expr& e, scope* s);
    value eval_binary(const expr& e, scope* s);
    value eval_call(const expr& e, scope* s);
    void eval_args(const expr& e, size_t first, scope* s, call_args& out);
    value make_macro(const stmt& st, scope* defined_in);
    [[noreturn]] void rethrow_with_line(const error& err);
};

// Python's binary operators on template values ("+", "-", "*", "/", "//", "%", "**", "~").
value arithmetic(interpreter& in, const std::string& op, const value& a, const value& b);
// Python's `a in b`.
bool contains(const value& container, const value& item);
// A callable for a method of a value (str.strip, dict.get, ...), or Undefined if there is none.
value method(interpreter& in, const value& obj, const std::string& name);
// The builtin globals every template sees: range, namespace, dict, raise_exception, strftime_now.
void add_builtin_globals(std::map<std::string, value>& globals, int64_t now_unix);

// Materializes an iterable (list, tuple, dict keys, string characters); Undefined is empty.
array iterate(const value& v);

}  // namespace ember::jinja
