// Constraints written other ways, turned into GBNF (grammar/gbnf.hpp): JSON Schema, regular
// expressions and a fixed list of choices.
//
// JSON Schema (draft 2020-12 vocabulary, as generation needs it): type (one or a list), properties,
// required, additionalProperties (absent or false: no other keys, as llama.cpp does; true or a
// schema: other keys, never equal to a declared one), enum, const, items, prefixItems, minItems,
// maxItems, minLength, maxLength, pattern (the regex subset below), anyOf, oneOf (as anyOf: the
// branches should not overlap), allOf (of object schemas, merged), $ref to "#", "#/$defs/..." or
// "#/definitions/...", and format date, time, date-time, uuid. Annotations (title, description,
// examples, default, $schema, $id, $comment, deprecated, readOnly, writeOnly) are ignored. Every
// other keyword is an error naming it and the schema path ("/properties/age: 'minimum' is not
// supported"), never silently dropped. Output is JSON as json.dumps writes it: ", " and ": ".
//
// Regular expressions: literals and escapes (\n \t \\ \. ... \d \w \s \D \W \S \xHH \uHHHH),
// classes [a-z] [^...], `.`, groups (...) and (?:...), alternation |, quantifiers * + ? {m}
// {m,} {m,n}, anchors ^ at the start and $ at the end. Back-references, look-around, lazy or
// possessive quantifiers and other anchors are errors naming the column.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ember::gbnf {

// Throws ember::error(errc::invalid_argument): not JSON, or the schema path and the problem.
std::string json_schema_to_gbnf(std::string_view schema_json);

// The whole text must match `pattern` (as with ^...$).
std::string regex_to_gbnf(std::string_view pattern);

// The whole text is one of `choices` (at least one; texts may be anything, even empty).
std::string choice_to_gbnf(std::span<const std::string> choices);

}  // namespace ember::gbnf
