// Statements and expressions of a parsed template, evaluated with Jinja's scoping: a for loop's
// body is its own scope (assignments in it do not leak out; namespace() attributes do), if
// blocks are not, macros see their arguments and the template's top level.
#include "chat/jinja_interp.hpp"

#include <fmt/format.h>

#include <cmath>

namespace ember::jinja {

interpreter::depth_guard::depth_guard(interpreter& i) : in(i) {
    if (++in.depth_ > in.limits_.max_depth)
        raise("RecursionError", fmt::format("nesting deeper than {} levels (the template recurses without end?)", in.limits_.max_depth));
}

interpreter::interpreter(const parsed_template& tpl, const render_limits& limits) : tpl_(tpl), limits_(limits) {}

void interpreter::step() {
    if (++steps_ > limits_.max_steps)
        raise("LimitError", fmt::format("the template ran more than {} steps (an endless or huge loop?)", limits_.max_steps));
}

void interpreter::charge(size_t bytes) {
    steps_ += bytes / 256;
    step();
}

void interpreter::check_size(size_t bytes, const char* what) {
    if (bytes > limits_.max_output)
        raise("LimitError", fmt::format("{} of {} bytes exceeds the limit of {} bytes", what, bytes, limits_.max_output));
    charge(bytes);
}

void interpreter::check_items(size_t n, const char* what) {
    if (n > limits_.max_items) raise("LimitError", fmt::format("{} of {} items exceeds the limit of {}", what, n, limits_.max_items));
    charge(n * 8);
}

interpreter::scope_ptr interpreter::new_scope(scope* parent) {
    auto s = std::make_shared<scope>();
    if (parent) s->parent = parent->shared_from_this();
    return s;
}

value interpreter::lookup(scope* s, const std::string& name) {
    for (scope* p = s; p; p = p->parent.get())
        if (const value* v = p->vars.find(name)) return *v;
    return value::undefined(fmt::format("'{}' is undefined", name));
}

void interpreter::assign(scope* s, const std::vector<std::string>& targets, const value& v) {
    if (targets.size() == 1) {
        s->vars[targets[0]] = v;
        return;
    }
    const array items = iterate(v);
    if (items.size() != targets.size())
        raise("ValueError", fmt::format("{} values to unpack (expected {})", items.size() < targets.size() ? "not enough" : "too many",
                                        targets.size()));
    for (size_t i = 0; i < targets.size(); ++i) s->vars[targets[i]] = items[i];
}

void interpreter::emit(const text& t) {
    text& o = out_.back();
    check_size(o.s.size() + t.s.size(), "the output");
    o.append(t);
}

text interpreter::capture(const body& b, scope* s) {
    out_.emplace_back();
    const flow f = exec(b, s);
    (void)f;
    text t = std::move(out_.back());
    out_.pop_back();
    return t;
}

[[noreturn]] void interpreter::rethrow_with_line(const error& err) {
    const std::string msg = err.what();
    if (msg.find("(line ") != std::string::npos) throw err;
    throw error(err.code(), fmt::format("{} (line {})", msg, line_));
}

text interpreter::render(const std::map<std::string, value>& globals) {
    out_.clear();
    steps_ = 0;
    depth_ = 0;
    const scope_ptr globals_scope = new_scope(nullptr);
    for (const auto& [k, v] : globals) globals_scope->vars[k] = v;
    const scope_ptr top = new_scope(globals_scope.get());  // the template's own top-level assignments
    out_.emplace_back();
    try {
        exec(tpl_.root, top.get());
    } catch (const error& e) {
        if (e.code() == errc::template_error) rethrow_with_line(e);
        throw;
    } catch (const std::bad_alloc&) {
        throw error(errc::out_of_memory, "out of memory while rendering the template");
    }
    return std::move(out_.front());
}

// ---- statements -------------------------------------------------------------------------------

interpreter::flow interpreter::exec(const body& b, scope* s) {
    for (const stmt_ptr& st : b) {
        const flow f = exec(*st, s);
        if (f != flow::normal) return f;
    }
    return flow::normal;
}

interpreter::flow interpreter::exec(const stmt& st, scope* s) {
    step();
    depth_guard g(*this);
    line_ = st.line;
    switch (st.kind) {
        case stmt_kind::text: emit(text::of(st.text, false)); return flow::normal;
        case stmt_kind::output: {
            const value v = eval(*st.e, s);
            line_ = st.line;
            emit(to_text(v));
            return flow::normal;
        }
        case stmt_kind::if_: {
            for (const auto& [cond, b] : st.branches)
                if (eval(*cond, s).truthy()) return exec(b, s);
            return exec(st.else_body, s);
        }
        case stmt_kind::for_: return exec_for(st, s);
        case stmt_kind::set: {
            const value v = eval(*st.e, s);
            if (st.attr.empty()) {
                assign(s, st.targets, v);
            } else {
                const value ns = lookup(s, st.targets[0]);
                if (ns.type() != kind::ns) raise("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
                ns.ns().attrs[st.attr] = v;
            }
            return flow::normal;
        }
        case stmt_kind::set_block: {
            value v = value::string(capture(st.main, s));
            if (st.e) {  // {% set x | filter %}: the chain's null target reads the captured body
                const scope_ptr fs = new_scope(s);
                fs->vars["\x01filter_input"] = v;
                v = eval(*st.e, fs.get());
            }
            s->vars[st.targets[0]] = v;
            return flow::normal;
        }
        case stmt_kind::macro: s->vars[st.name] = make_macro(st, s); return flow::normal;  // weak: see make_macro
        case stmt_kind::call_block: {
            // {% call m(args) %}body{% endcall %}: m runs with caller() rendering the body.
            const stmt* block = &st;
            auto caller = std::make_shared<callable>();
            caller->name = "caller";
            caller->call = [this, block, where = std::weak_ptr<scope>(s->shared_from_this())](interpreter&, call_args& args) {
                const scope_ptr parent = where.lock();
                if (!parent) raise("TemplateRuntimeError", "caller() used after its {% call %} block ended");
                const scope_ptr cs_owner = new_scope(parent.get());
                scope* cs = cs_owner.get();
                for (size_t i = 0; i < block->params.size(); ++i) {
                    const macro_param& p = block->params[i];
                    if (i < args.positional.size()) cs->vars[p.name] = args.positional[i];
                    else if (p.default_value) cs->vars[p.name] = eval(*p.default_value, cs);
                    else cs->vars[p.name] = value::undefined(fmt::format("'{}' is undefined", p.name));
                }
                return value::string(capture(block->main, cs));
            };
            // The macro gets caller as a keyword argument (it is not in the macro's scope).
            const expr& ce = *st.e;
            value fn = ce.kids[0]->kind == expr_kind::getattr ? getattr(eval(*ce.kids[0]->kids[0], s), ce.kids[0]->name)
                                                               : eval(*ce.kids[0], s);
            call_args a;
            eval_args(ce, 1, s, a);
            a.keyword.emplace_back("caller", value::function(caller));
            line_ = st.line;
            emit(to_text(call(fn, a)));
            return flow::normal;
        }
        case stmt_kind::filter_block: {
            const scope_ptr fs = new_scope(s);
            fs->vars["\x01filter_input"] = value::string(capture(st.main, s));
            emit(to_text(eval(*st.e, fs.get())));
            return flow::normal;
        }
        case stmt_kind::break_: return flow::break_;
        case stmt_kind::continue_: return flow::continue_;
        case stmt_kind::scope: return exec(st.main, s);
    }
    return flow::normal;
}

interpreter::flow interpreter::exec_for(const stmt& st, scope* s) {
    if (st.recursive) raise("TemplateRuntimeError", "recursive for loops are not supported");
    const value seq = eval(*st.e, s);
    if (seq.is_none() || seq.type() == kind::integer || seq.type() == kind::floating || seq.type() == kind::boolean)
        raise("TypeError", fmt::format("'{}' object is not iterable", seq.type_name()));
    array items = iterate(seq);
    if (st.cond) {  // for x in xs if cond: the loop (and loop.length) sees only what passes
        array kept;
        for (const value& it : items) {
            const scope_ptr fs = new_scope(s);
            assign(fs.get(), st.targets, it);
            if (eval(*st.cond, fs.get()).truthy()) kept.push_back(it);
        }
        items.swap(kept);
    }
    if (items.empty()) return exec(st.else_body, s);
    const int64_t n = int64_t(items.size());
    // loop.* is rebuilt per iteration from shared keys; loop.cycle reads the current index.
    static const char* const names[] = {"index", "index0", "revindex", "revindex0", "first", "last",
                                        "length", "depth", "depth0", "previtem", "nextitem", "cycle"};
    static const std::vector<value> keys = [] {
        std::vector<value> k;
        for (const char* nm : names) k.push_back(value::string(nm));
        return k;
    }();
    auto current = std::make_shared<int64_t>(0);
    auto cycle = std::make_shared<callable>();
    cycle->name = "cycle";
    cycle->call = [current](interpreter&, call_args& a) {
        if (a.positional.empty()) raise("TypeError", "no items for cycling given");
        return a.positional[size_t(*current) % a.positional.size()];
    };
    const value cycle_v = value::function(cycle);
    for (int64_t i = 0; i < n; ++i) {
        step();
        *current = i;
        const scope_ptr ls_owner = new_scope(s);
        scope* ls = ls_owner.get();
        assign(ls, st.targets, items[size_t(i)]);
        auto loop = std::make_shared<object>();
        const value vals[] = {value::integer(i + 1), value::integer(i), value::integer(n - i), value::integer(n - i - 1),
                              value::boolean(i == 0), value::boolean(i == n - 1), value::integer(n), value::integer(1),
                              value::integer(0),
                              i > 0 ? items[size_t(i - 1)] : value::undefined("there is no previous item"),
                              i + 1 < n ? items[size_t(i + 1)] : value::undefined("there is no next item"), cycle_v};
        loop->entries.reserve(std::size(vals));
        for (size_t k = 0; k < std::size(vals); ++k) loop->entries.emplace_back(keys[k], vals[k]);
        ls->vars["loop"] = value::dict(loop);
        const flow f = exec(st.main, ls);
        if (f == flow::break_) break;
    }
    return flow::normal;
}

value interpreter::make_macro(const stmt& st, scope* defined_in) {
    const stmt* m = &st;
    auto fn = std::make_shared<callable>();
    fn->name = st.name;
    // The macro lives in the scope it was defined in; a strong reference would be a cycle.
    fn->call = [this, m, where = std::weak_ptr<scope>(defined_in->shared_from_this())](interpreter&, call_args& args) {
        depth_guard g(*this);
        const scope_ptr parent = where.lock();
        if (!parent) raise("TemplateRuntimeError", fmt::format("macro '{}' called after the block defining it ended", m->name));
        const scope_ptr ms_owner = new_scope(parent.get());
        scope* ms = ms_owner.get();
        if (args.positional.size() > m->params.size())
            raise("TypeError", fmt::format("macro '{}' takes not more than {} argument(s)", m->name, m->params.size()));
        std::vector<bool> bound(m->params.size(), false);
        for (size_t i = 0; i < args.positional.size(); ++i) {
            ms->vars[m->params[i].name] = args.positional[i];
            bound[i] = true;
        }
        auto kw = std::make_shared<object>();
        for (auto& [k, v] : args.keyword) {
            bool found = false;
            for (size_t i = 0; i < m->params.size(); ++i)
                if (m->params[i].name == k) {
                    if (bound[i]) raise("TypeError", fmt::format("macro '{}' got multiple values for argument '{}'", m->name, k));
                    ms->vars[k] = v;
                    bound[i] = found = true;
                }
            if (!found && k == "caller") {
                ms->vars[k] = v;
                found = true;
            }
            if (!found) kw->set(value::string(k), v);
        }
        for (size_t i = 0; i < m->params.size(); ++i) {
            if (bound[i]) continue;
            const macro_param& p = m->params[i];
            ms->vars[p.name] = p.default_value ? eval(*p.default_value, ms) : value::undefined(fmt::format("parameter '{}' was not provided", p.name));
        }
        ms->vars["kwargs"] = value::dict(kw);
        ms->vars["varargs"] = value::list({});
        const int line = line_;
        value out = value::string(capture(m->main, ms));
        line_ = line;
        return out;
    };
    return value::function(fn);
}

// ---- expressions ------------------------------------------------------------------------------

value interpreter::eval(const expr& e, scope* s) {
    step();
    depth_guard g(*this);
    line_ = e.line;
    switch (e.kind) {
        case expr_kind::literal: return e.lit;
        case expr_kind::name: return lookup(s, e.name);
        case expr_kind::list:
        case expr_kind::tuple: {
            array a;
            a.reserve(e.kids.size());
            for (const expr_ptr& k : e.kids) a.push_back(eval(*k, s));
            return e.kind == expr_kind::list ? value::list(std::move(a)) : value::tuple(std::move(a));
        }
        case expr_kind::dict: {
            auto o = std::make_shared<object>();
            for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
                value k = eval(*e.kids[i], s);
                o->set(std::move(k), eval(*e.kids[i + 1], s));
            }
            return value::dict(o);
        }
        case expr_kind::getattr: return getattr(eval(*e.kids[0], s), e.name);
        case expr_kind::getitem: {
            const value obj = eval(*e.kids[0], s);
            return getitem(obj, eval(*e.kids[1], s));
        }
        case expr_kind::slice: {
            const value obj = eval(*e.kids[0], s);
            value bounds[3];
            for (int i = 0; i < 3; ++i) bounds[i] = e.kids[size_t(i) + 1] ? eval(*e.kids[size_t(i) + 1], s) : value::none();
            call_args a;
            a.positional = {bounds[0], bounds[1], bounds[2]};
            return apply_filter("\x01slice", obj, a);
        }
        case expr_kind::call: return eval_call(e, s);
        case expr_kind::filter: {
            value target = e.kids[0] ? eval(*e.kids[0], s) : lookup(s, "\x01filter_input");
            call_args a;
            eval_args(e, 1, s, a);
            line_ = e.line;
            return apply_filter(e.name, target, a);
        }
        case expr_kind::test: {
            const value target = eval(*e.kids[0], s);
            call_args a;
            eval_args(e, 1, s, a);
            line_ = e.line;
            return value::boolean(apply_test(e.name, target, a) != e.negated);
        }
        case expr_kind::unary: {
            const value v = eval(*e.kids[0], s);
            if (e.name == "not") return value::boolean(!v.truthy());
            if (v.is_undefined()) raise("UndefinedError", v.undefined_hint());
            if (v.type() == kind::floating) return value::floating(e.name == "-" ? -v.as_float() : v.as_float());
            if (v.is_number()) {
                if (e.name == "+") return value::integer(v.as_int());
                if (v.as_int() == INT64_MIN) raise("OverflowError", "integer overflow");
                return value::integer(-v.as_int());
            }
            raise("TypeError", fmt::format("bad operand type for unary {}: '{}'", e.name, v.type_name()));
        }
        case expr_kind::binary: return eval_binary(e, s);
        case expr_kind::cond: {
            if (eval(*e.kids[0], s).truthy()) return eval(*e.kids[1], s);
            if (e.kids[2]) return eval(*e.kids[2], s);
            return value::undefined("the inline if-expression on line " + std::to_string(e.line) + " evaluated to false and no else section was defined.");
        }
    }
    return {};
}

void interpreter::eval_args(const expr& e, size_t first, scope* s, call_args& out) {
    for (size_t i = first; i < e.kids.size(); ++i) out.positional.push_back(eval(*e.kids[i], s));
    for (const auto& [k, v] : e.kwargs) out.keyword.emplace_back(k, eval(*v, s));
}

value interpreter::eval_binary(const expr& e, scope* s) {
    const std::string& op = e.name;
    const value a = eval(*e.kids[0], s);
    if (op == "and") return a.truthy() ? eval(*e.kids[1], s) : a;
    if (op == "or") return a.truthy() ? a : eval(*e.kids[1], s);
    const value b = eval(*e.kids[1], s);
    line_ = e.line;
    if (op == "==") return value::boolean(equal(a, b));
    if (op == "!=") return value::boolean(!equal(a, b));
    if (op == "<") return value::boolean(less(a, b));
    if (op == ">") return value::boolean(less(b, a));
    if (op == "<=") return value::boolean(!less(b, a));
    if (op == ">=") return value::boolean(!less(a, b));
    if (op == "in") return value::boolean(contains(b, a));
    if (op == "not in") return value::boolean(!contains(b, a));
    return arithmetic(*this, op, a, b);
}

value interpreter::eval_call(const expr& e, scope* s) {
    const expr& fe = *e.kids[0];
    value fn;
    if (fe.kind == expr_kind::getattr) {  // obj.method(...)
        const value obj = eval(*fe.kids[0], s);
        fn = getattr(obj, fe.name);
    } else {
        fn = eval(fe, s);
    }
    call_args a;
    eval_args(e, 1, s, a);
    line_ = e.line;
    return call(fn, a);
}

value interpreter::call(const value& fn, call_args& args) {
    if (fn.type() != kind::callable) {
        if (fn.is_undefined()) raise_undefined(fn);
        raise("TypeError", fmt::format("'{}' object is not callable", fn.type_name()));
    }
    return fn.fn().call(*this, args);
}

value interpreter::getattr(const value& obj, const std::string& name) {
    if (obj.is_undefined()) raise_undefined(obj);
    // Jinja's getattr: the Python attribute first (methods, namespace fields), then the item.
    if (obj.type() == kind::ns) {
        const auto it = obj.ns().attrs.find(name);
        if (it != obj.ns().attrs.end()) return it->second;
        return value::undefined(fmt::format("'Namespace' object has no attribute '{}'", name));
    }
    value m = method(*this, obj, name);
    if (!m.is_undefined() || m.is_unsafe()) return m;
    if (obj.is_object()) {
        if (const value* v = obj.obj().find(name)) return *v;
        return value::undefined(fmt::format("'dict object' has no attribute '{}'", name));
    }
    return value::undefined(fmt::format("'{} object' has no attribute '{}'", obj.type_name(), name));
}

value interpreter::getitem(const value& obj, const value& key) {
    if (obj.is_undefined()) raise_undefined(obj);
    // Jinja's getitem: the item first, then (for a string key) the attribute.
    if (obj.is_object()) {
        if (const value* v = obj.obj().find(key)) return *v;
    } else if ((obj.is_sequence() || obj.is_string()) && (key.type() == kind::integer || key.type() == kind::boolean)) {
        int64_t i = key.as_int();
        if (obj.is_string()) {
            const std::string& str = obj.str();
            const int64_t n = int64_t(utf8_length(str));
            if (i < 0) i += n;
            if (i >= 0 && i < n) {
                const size_t b = utf8_offset(str, size_t(i)), en = utf8_offset(str, size_t(i) + 1);
                return value::string(str.substr(b, en - b), obj.as_text().has_data());
            }
        } else {
            const int64_t n = int64_t(obj.items().size());
            if (i < 0) i += n;
            if (i >= 0 && i < n) return obj.items()[size_t(i)];
        }
        return value::undefined(fmt::format("'{} object' has no element {}", obj.type_name(), key.as_int()));
    }
    if (key.is_string()) {
        value m = obj.type() == kind::ns ? getattr(obj, key.str()) : method(*this, obj, key.str());
        if (!m.is_undefined() || m.is_unsafe()) return m;
        return value::undefined(fmt::format("'{} object' has no attribute '{}'", obj.type_name(), key.str()));
    }
    return value::undefined(fmt::format("'{} object' has no element {}", obj.type_name(), repr(key)));
}

}  // namespace ember::jinja
