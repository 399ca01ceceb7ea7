// Jinja's lexer: template text and the tokens inside {{ }} / {% %}, with whitespace control
// applied as Hugging Face configures it (trim_blocks, lstrip_blocks, {%- -%} {%+).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ember::jinja {

enum class tok : uint8_t {
    data,         // template text (text holds it)
    var_begin,    // {{
    var_end,      // }}
    block_begin,  // {%
    block_end,    // %}
    name,
    string,       // text holds the unescaped value
    integer,
    floating,
    op,           // text holds the operator: + - * / // % ** ~ == != < > <= >= = . , : | ( ) [ ] { }
    eof,
};

struct token {
    tok type;
    std::string text;
    int line;
};

// Throws ember::error(errc::template_error) for an unterminated tag, string or comment, and
// for characters Jinja does not accept inside a tag.
std::vector<token> lex(std::string_view source);

}  // namespace ember::jinja
