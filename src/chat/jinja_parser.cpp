// Jinja's grammar, by recursive descent in Jinja's own precedence order (parser.py): condexpr,
// or, and, not, compare, + -, ~, * / // %, **, unary, then postfix and filters/tests.
#include <fmt/format.h>

#include <charconv>

#include "chat/jinja_ast.hpp"
#include "chat/jinja_lexer.hpp"

namespace ember::jinja {

namespace {

class parser {
public:
    parser(std::vector<token> toks, const parse_limits& limits) : t_(std::move(toks)), limits_(limits) {}

    parsed_template run() {
        parsed_template p;
        p.root = statements({});
        if (cur().type != tok::eof) fail_here(fmt::format("unexpected '{}'", describe(cur())));
        // Jinja refuses an unknown filter or test when it compiles the template -- unless it
        // sits inside an if block or an inline if, where the error waits until it is used.
        for (const unknown_name& u : unknown_)
            if (!u.soft)
                raise("TemplateAssertionError", fmt::format("No {} named '{}'. (line {})", u.what, u.name, u.line));
        return p;
    }

private:
    std::vector<token> t_;
    size_t i_ = 0;
    parse_limits limits_;
    int depth_ = 0;
    std::string end_tag_;  // the tag statements() stopped at
    struct unknown_name {
        const char* what;  // "filter" or "test"
        std::string name;
        int line;
        bool soft;
    };
    std::vector<unknown_name> unknown_;
    bool soft_ = false;  // inside an if block or an inline if (Jinja's "soft frame")

    struct soft_scope {
        parser& p;
        bool saved;
        soft_scope(parser& q, bool soft) : p(q), saved(q.soft_) { p.soft_ = soft; }
        ~soft_scope() { p.soft_ = saved; }
    };

    struct depth_guard {
        parser& p;
        explicit depth_guard(parser& q) : p(q) {
            if (++p.depth_ > p.limits_.max_depth)
                p.fail_here(fmt::format("nesting deeper than {} levels", p.limits_.max_depth));
        }
        ~depth_guard() { --p.depth_; }
    };

    const token& cur() const { return t_[i_]; }
    const token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
    void next() {
        if (i_ + 1 < t_.size()) ++i_;
    }

    static std::string describe(const token& t) {
        switch (t.type) {
            case tok::data: return "text";
            case tok::var_begin: return "{{";
            case tok::var_end: return "}}";
            case tok::block_begin: return "{%";
            case tok::block_end: return "%}";
            case tok::eof: return "end of template";
            default: return t.text;
        }
    }

    [[noreturn]] void fail_here(const std::string& what) const {
        raise("TemplateSyntaxError", fmt::format("{} (line {})", what, cur().line));
    }

    bool is_op(std::string_view op) const { return cur().type == tok::op && cur().text == op; }
    bool is_name(std::string_view n) const { return cur().type == tok::name && cur().text == n; }
    void expect_op(std::string_view op) {
        if (!is_op(op)) fail_here(fmt::format("expected '{}', got '{}'", op, describe(cur())));
        next();
    }
    std::string expect_name() {
        if (cur().type != tok::name) fail_here(fmt::format("expected a name, got '{}'", describe(cur())));
        std::string n = cur().text;
        next();
        return n;
    }
    void expect_block_end() {
        if (cur().type != tok::block_end) fail_here(fmt::format("expected '%}}', got '{}'", describe(cur())));
        next();
    }

    expr_ptr make(expr_kind k, int line) {
        auto e = std::make_unique<expr>();
        e->kind = k;
        e->line = line;
        return e;
    }

    // ---- statements -----------------------------------------------------------------------

    // Reads statements until a block tag named in `ends` ({% endfor %}, {% else %}, ...); the
    // cursor is left on that tag's name and end_tag_ holds it.
    body statements(std::initializer_list<std::string_view> ends) {
        depth_guard g(*this);
        body out;
        while (true) {
            const token& t = cur();
            if (t.type == tok::eof) {
                if (ends.size() == 0) return out;
                fail_here(fmt::format("unexpected end of template; expected '{}'", *ends.begin()));
            }
            if (t.type == tok::data) {
                auto s = std::make_unique<stmt>();
                s->kind = stmt_kind::text;
                s->line = t.line;
                s->text = t.text;
                out.push_back(std::move(s));
                next();
            } else if (t.type == tok::var_begin) {
                auto s = std::make_unique<stmt>();
                s->kind = stmt_kind::output;
                s->line = t.line;
                next();
                s->e = tuple_or_expr();
                if (cur().type != tok::var_end) fail_here(fmt::format("expected '}}}}', got '{}'", describe(cur())));
                next();
                out.push_back(std::move(s));
            } else if (t.type == tok::block_begin) {
                const token& nt = peek();
                if (nt.type != tok::name) {
                    next();
                    fail_here("expected a tag name");
                }
                for (const std::string_view e : ends)
                    if (nt.text == e) {
                        next();  // now on the name
                        end_tag_ = nt.text;
                        return out;
                    }
                next();
                out.push_back(statement());
            } else {
                fail_here(fmt::format("unexpected '{}'", describe(t)));
            }
        }
    }

    // After statements(ends) stopped: consume the tag name and its %}.
    void finish_tag() {
        next();
        expect_block_end();
    }

    stmt_ptr statement() {
        auto s = std::make_unique<stmt>();
        s->line = cur().line;
        const std::string tag = expect_name();
        if (tag == "if") {
            soft_scope soft(*this, true);
            s->kind = stmt_kind::if_;
            expr_ptr c = expression();
            expect_block_end();
            while (true) {
                body b = statements({"elif", "else", "endif"});
                s->branches.emplace_back(std::move(c), std::move(b));
                if (end_tag_ == "elif") {
                    next();
                    c = expression();
                    expect_block_end();
                    continue;
                }
                if (end_tag_ == "else") {
                    finish_tag();
                    s->else_body = statements({"endif"});
                }
                finish_tag();
                break;
            }
        } else if (tag == "for") {
            s->kind = stmt_kind::for_;
            s->targets = assign_targets();
            if (!is_name("in")) fail_here(fmt::format("expected 'in', got '{}'", describe(cur())));
            next();
            s->e = tuple_or_expr(/*no_condexpr=*/true);
            if (is_name("if")) {
                next();
                s->cond = expression();
            }
            if (is_name("recursive")) {
                next();
                s->recursive = true;
            }
            expect_block_end();
            soft_scope hard(*this, false);
            s->main = statements({"endfor", "else"});
            if (end_tag_ == "else") {
                finish_tag();
                s->else_body = statements({"endfor"});
            }
            finish_tag();
        } else if (tag == "set") {
            if (cur().type == tok::name && peek().type == tok::op && peek().text == ".") {
                s->kind = stmt_kind::set;
                s->targets.push_back(expect_name());
                next();
                s->attr = expect_name();
                expect_op("=");
                s->e = tuple_or_expr();
                expect_block_end();
            } else {
                s->targets = assign_targets();
                if (is_op("=")) {
                    s->kind = stmt_kind::set;
                    next();
                    s->e = tuple_or_expr();
                    expect_block_end();
                } else {
                    if (s->targets.size() != 1) fail_here("a block set takes one name");
                    s->kind = stmt_kind::set_block;
                    if (is_op("|")) s->e = filter_chain(nullptr);
                    expect_block_end();
                    s->main = statements({"endset"});
                    finish_tag();
                }
            }
        } else if (tag == "macro") {
            s->kind = stmt_kind::macro;
            s->name = expect_name();
            s->params = params();
            expect_block_end();
            soft_scope hard(*this, false);
            s->main = statements({"endmacro"});
            finish_tag();
        } else if (tag == "call") {
            s->kind = stmt_kind::call_block;
            if (is_op("(")) s->params = params();
            s->e = expression();
            if (s->e->kind != expr_kind::call) fail_here("expected a call after {% call %}");
            expect_block_end();
            s->main = statements({"endcall"});
            finish_tag();
        } else if (tag == "filter") {
            s->kind = stmt_kind::filter_block;
            s->e = filter_chain(nullptr, /*first_has_pipe=*/false);
            expect_block_end();
            s->main = statements({"endfilter"});
            finish_tag();
        } else if (tag == "break" || tag == "continue") {
            s->kind = tag == "break" ? stmt_kind::break_ : stmt_kind::continue_;
            expect_block_end();
        } else if (tag == "generation") {  // transformers' assistant-mask tag: renders its body
            s->kind = stmt_kind::scope;
            expect_block_end();
            s->main = statements({"endgeneration"});
            finish_tag();
        } else {
            raise("TemplateSyntaxError", fmt::format("Encountered unknown tag '{}' (line {})", tag, s->line));
        }
        return s;
    }

    // for/set targets: a name or a tuple of names, with optional parentheses.
    std::vector<std::string> assign_targets() {
        std::vector<std::string> names;
        const bool paren = is_op("(");
        if (paren) next();
        names.push_back(expect_name());
        while (is_op(",")) {
            next();
            if (cur().type != tok::name) break;
            names.push_back(expect_name());
        }
        if (paren) expect_op(")");
        return names;
    }

    std::vector<macro_param> params() {
        std::vector<macro_param> ps;
        expect_op("(");
        while (!is_op(")")) {
            if (!ps.empty()) expect_op(",");
            if (is_op(")")) break;
            macro_param p;
            p.name = expect_name();
            if (is_op("=")) {
                next();
                p.default_value = expression();
            } else if (!ps.empty() && ps.back().default_value) {
                fail_here("non-default argument follows default argument");
            }
            ps.push_back(std::move(p));
        }
        next();
        return ps;
    }

    // ---- expressions ----------------------------------------------------------------------

    // An expression, or several separated by commas (a tuple without parentheses).
    expr_ptr tuple_or_expr(bool no_condexpr = false) {
        const int line = cur().line;
        expr_ptr first = no_condexpr ? or_expr() : expression();
        if (!is_op(",")) return first;
        auto t = make(expr_kind::tuple, line);
        t->kids.push_back(std::move(first));
        while (is_op(",")) {
            next();
            if (cur().type == tok::block_end || cur().type == tok::var_end || is_op(")")) break;
            t->kids.push_back(no_condexpr ? or_expr() : expression());
        }
        return t;
    }

    expr_ptr expression() {
        depth_guard g(*this);
        const int line = cur().line;
        const size_t mark = unknown_.size();
        expr_ptr e = or_expr();
        if (is_name("if"))
            for (size_t i = mark; i < unknown_.size(); ++i) unknown_[i].soft = true;
        soft_scope soft(*this, soft_ || is_name("if"));
        while (is_name("if")) {
            next();
            auto c = make(expr_kind::cond, line);
            c->kids.push_back(or_expr());  // condition
            c->kids.push_back(std::move(e));
            if (is_name("else")) {
                next();
                c->kids.push_back(expression());
            } else {
                c->kids.push_back(nullptr);
            }
            e = std::move(c);
        }
        return e;
    }

    expr_ptr binary(std::string op, expr_ptr l, expr_ptr r, int line) {
        auto b = make(expr_kind::binary, line);
        b->name = std::move(op);
        b->kids.push_back(std::move(l));
        b->kids.push_back(std::move(r));
        return b;
    }

    expr_ptr or_expr() {
        expr_ptr l = and_expr();
        while (is_name("or")) {
            const int line = cur().line;
            next();
            l = binary("or", std::move(l), and_expr(), line);
        }
        return l;
    }
    expr_ptr and_expr() {
        expr_ptr l = not_expr();
        while (is_name("and")) {
            const int line = cur().line;
            next();
            l = binary("and", std::move(l), not_expr(), line);
        }
        return l;
    }
    expr_ptr not_expr() {
        if (is_name("not")) {
            depth_guard g(*this);
            auto u = make(expr_kind::unary, cur().line);
            next();
            u->name = "not";
            u->kids.push_back(not_expr());
            return u;
        }
        return compare();
    }
    expr_ptr compare() {
        expr_ptr l = math1();
        while (true) {
            const int line = cur().line;
            std::string op;
            if (cur().type == tok::op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == ">" ||
                                          cur().text == "<=" || cur().text == ">=")) {
                op = cur().text;
                next();
            } else if (is_name("in")) {
                op = "in";
                next();
            } else if (is_name("not") && peek().type == tok::name && peek().text == "in") {
                op = "not in";
                next();
                next();
            } else {
                return l;
            }
            // Chained comparisons (a < b < c) read as (a < b) and (b < c) in Jinja; templates
            // do not chain, so a chain is evaluated left to right on the results.
            l = binary(op, std::move(l), math1(), line);
        }
    }
    expr_ptr math1() {
        expr_ptr l = concat();
        while (is_op("+") || is_op("-")) {
            const int line = cur().line;
            std::string op = cur().text;
            next();
            l = binary(op, std::move(l), concat(), line);
        }
        return l;
    }
    expr_ptr concat() {
        expr_ptr l = math2();
        while (is_op("~")) {
            const int line = cur().line;
            next();
            l = binary("~", std::move(l), math2(), line);
        }
        return l;
    }
    expr_ptr math2() {
        expr_ptr l = pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const int line = cur().line;
            std::string op = cur().text;
            next();
            l = binary(op, std::move(l), pow(), line);
        }
        return l;
    }
    expr_ptr pow() {
        expr_ptr l = unary();
        while (is_op("**")) {
            const int line = cur().line;
            next();
            l = binary("**", std::move(l), unary(), line);
        }
        return l;
    }
    expr_ptr unary(bool with_filter = true) {
        depth_guard g(*this);
        expr_ptr e;
        if (is_op("-") || is_op("+")) {
            auto u = make(expr_kind::unary, cur().line);
            u->name = cur().text;
            next();
            u->kids.push_back(unary(false));
            e = std::move(u);
        } else {
            e = primary();
        }
        e = postfix(std::move(e));
        if (with_filter) e = filter_expr(std::move(e));
        return e;
    }

    expr_ptr primary() {
        const token& t = cur();
        const int line = t.line;
        if (t.type == tok::name) {
            auto e = make(expr_kind::literal, line);
            if (t.text == "true" || t.text == "True") e->lit = value::boolean(true);
            else if (t.text == "false" || t.text == "False") e->lit = value::boolean(false);
            else if (t.text == "none" || t.text == "None") e->lit = value::none();
            else {
                e->kind = expr_kind::name;
                e->name = t.text;
            }
            next();
            return e;
        }
        if (t.type == tok::string) {
            std::string s = t.text;
            next();
            while (cur().type == tok::string) {  // adjacent literals concatenate
                s += cur().text;
                next();
            }
            auto e = make(expr_kind::literal, line);
            e->lit = value::string(std::move(s));
            return e;
        }
        if (t.type == tok::integer) {
            int64_t v = 0;
            const auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
            if (r.ec != std::errc()) fail_here(fmt::format("integer literal {} is too large", t.text));
            auto e = make(expr_kind::literal, line);
            e->lit = value::integer(v);
            next();
            return e;
        }
        if (t.type == tok::floating) {
            double v = 0;
            std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
            auto e = make(expr_kind::literal, line);
            e->lit = value::floating(v);
            next();
            return e;
        }
        if (is_op("(")) {
            next();
            if (is_op(")")) {
                next();
                return make(expr_kind::tuple, line);
            }
            expr_ptr first = expression();
            if (is_op(")")) {
                next();
                return first;
            }
            auto tup = make(expr_kind::tuple, line);
            tup->kids.push_back(std::move(first));
            while (is_op(",")) {
                next();
                if (is_op(")")) break;
                tup->kids.push_back(expression());
            }
            expect_op(")");
            return tup;
        }
        if (is_op("[")) {
            next();
            auto l = make(expr_kind::list, line);
            while (!is_op("]")) {
                if (!l->kids.empty()) expect_op(",");
                if (is_op("]")) break;
                l->kids.push_back(expression());
            }
            next();
            return l;
        }
        if (is_op("{")) {
            next();
            auto d = make(expr_kind::dict, line);
            while (!is_op("}")) {
                if (!d->kids.empty()) expect_op(",");
                if (is_op("}")) break;
                d->kids.push_back(expression());
                expect_op(":");
                d->kids.push_back(expression());
            }
            next();
            return d;
        }
        fail_here(fmt::format("unexpected '{}'", describe(t)));
    }

    expr_ptr postfix(expr_ptr e) {
        while (true) {
            const int line = cur().line;
            if (is_op(".")) {
                next();
                auto g = make(expr_kind::getattr, line);
                if (cur().type == tok::name) g->name = cur().text;
                else if (cur().type == tok::integer) {
                    g->kind = expr_kind::getitem;
                    auto idx = make(expr_kind::literal, line);
                    idx->lit = value::integer(std::stoll(cur().text));
                    g->kids.push_back(std::move(e));
                    g->kids.push_back(std::move(idx));
                    next();
                    e = std::move(g);
                    continue;
                } else fail_here(fmt::format("expected an attribute name, got '{}'", describe(cur())));
                next();
                g->kids.push_back(std::move(e));
                e = std::move(g);
            } else if (is_op("[")) {
                next();
                e = subscript(std::move(e), line);
            } else if (is_op("(")) {
                e = call(std::move(e), line);
            } else {
                return e;
            }
        }
    }

    expr_ptr subscript(expr_ptr target, int line) {
        expr_ptr parts[3];
        int n = 0;
        bool is_slice = false;
        while (true) {
            if (is_op("]")) break;
            if (is_op(":")) {
                is_slice = true;
                if (++n > 2) fail_here("too many ':' in a slice");
                next();
                continue;
            }
            parts[n] = expression();
        }
        next();
        if (!is_slice) {
            if (!parts[0]) fail_here("expected a subscript");
            auto g = make(expr_kind::getitem, line);
            g->kids.push_back(std::move(target));
            g->kids.push_back(std::move(parts[0]));
            return g;
        }
        auto s = make(expr_kind::slice, line);
        s->kids.push_back(std::move(target));
        for (auto& p : parts) s->kids.push_back(std::move(p));
        return s;
    }

    // Arguments of a call or filter: positional, then name=value.
    void arguments(expr& into) {
        expect_op("(");
        bool first = true;
        while (!is_op(")")) {
            if (!first) expect_op(",");
            first = false;
            if (is_op(")")) break;
            if (cur().type == tok::name && peek().type == tok::op && peek().text == "=") {
                std::string k = cur().text;
                next();
                next();
                into.kwargs.emplace_back(std::move(k), expression());
            } else {
                if (!into.kwargs.empty()) fail_here("positional argument follows keyword argument");
                into.kids.push_back(expression());
            }
        }
        next();
    }

    expr_ptr call(expr_ptr fn, int line) {
        auto c = make(expr_kind::call, line);
        c->kids.push_back(std::move(fn));
        arguments(*c);
        return c;
    }

    // x | f | g(1) is x [| filter]... [is test]...
    expr_ptr filter_expr(expr_ptr e) {
        while (true) {
            if (is_op("|")) {
                e = filter_chain(std::move(e));
            } else if (is_name("is")) {
                e = test(std::move(e));
            } else if (is_op("(")) {
                e = call(std::move(e), cur().line);
            } else {
                return e;
            }
        }
    }

    expr_ptr filter_chain(expr_ptr target, bool first_has_pipe = true) {
        bool first = true;
        while (is_op("|") || (first && !first_has_pipe)) {
            if (!(first && !first_has_pipe)) next();
            first = false;
            const int line = cur().line;
            std::string name = expect_name();
            while (is_op(".")) {  // dotted filter names: Jinja allows them; none exist here
                next();
                name += '.';
                name += expect_name();
            }
            if (!is_filter(name)) unknown_.push_back({"filter", name, line, soft_});
            auto f = make(expr_kind::filter, line);
            f->name = std::move(name);
            f->kids.push_back(std::move(target));
            if (is_op("(")) arguments(*f);
            target = std::move(f);
        }
        return target;
    }

    expr_ptr test(expr_ptr target) {
        const int line = cur().line;
        next();  // is
        auto t = make(expr_kind::test, line);
        if (is_name("not")) {
            t->negated = true;
            next();
        }
        t->name = expect_name();
        if (!is_test(t->name)) unknown_.push_back({"test", t->name, line, soft_});
        t->kids.push_back(std::move(target));
        if (is_op("(")) {
            arguments(*t);
        } else if ((cur().type == tok::name || cur().type == tok::string || cur().type == tok::integer ||
                    cur().type == tok::floating || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
            // One argument without parentheses: "x is divisibleby 3", "x is sameas none".
            if (is_name("is")) fail_here("You cannot chain multiple tests with is");
            t->kids.push_back(postfix(primary()));
        }
        return t;
    }
};

}  // namespace

parsed_template parse(std::string_view source, const parse_limits& limits) {
    return parser(lex(source), limits).run();
}

}  // namespace ember::jinja
