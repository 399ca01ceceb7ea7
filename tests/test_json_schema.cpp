// JSON Schema, regex and choice -> GBNF: what each construct accepts and refuses (through the
// reference matcher), and errors that name the schema path or the regex column.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/matcher.hpp"

using namespace ember::gbnf;

namespace {

struct checker {
    std::shared_ptr<const compiled_grammar> g;
    explicit checker(const std::string& gbnf) : g(std::make_shared<const compiled_grammar>(compile(parse_gbnf(gbnf)))) {}
    bool operator()(std::string_view text) const {
        matcher m(g);
        return m.accept(text) && m.is_complete();
    }
};

void expect(const std::string& gbnf, std::initializer_list<const char*> ok, std::initializer_list<const char*> bad) {
    const checker c(gbnf);
    CAPTURE(gbnf);
    for (const char* t : ok) {
        CAPTURE(t);
        CHECK(c(t));
    }
    for (const char* t : bad) {
        CAPTURE(t);
        CHECK_FALSE(c(t));
    }
}

std::string error_of(const std::string& schema) {
    try {
        json_schema_to_gbnf(schema);
    } catch (const ember::error& e) {
        CHECK(e.code() == ember::errc::invalid_argument);
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("json schema: objects with required and optional properties, in declared order") {
    expect(json_schema_to_gbnf(R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 5},
              "age": {"type": "integer"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}},
              "required": ["name"]})"),
           {R"({"name": "Ann"})", R"({"name": "Ann", "age": 3, "tags": ["a", "b"]})", R"({"name":"A","tags":[]})",
            R"({"name": "", "age": -12})", "{\n  \"name\": \"A\",\n  \"age\": 0\n}"},
           {R"({"age": 3})", R"({"name": "Annabel"})", R"({"name": "A", "tags": ["a", "b", "a"]})", R"({"age": 3, "name": "A"})",
            R"({"name": "A", "x": 1})", R"({"name": "A",})", R"({"name": "A", "age": 01})", R"({"name": "A", "age": 1.5})"});
    // No required keys: any subset, still in order, commas only between.
    expect(json_schema_to_gbnf(R"({"properties": {"a": {"type": "boolean"}, "b": {"type": "null"}, "c": {"type": "number"}}})"),
           {"{}", R"({"a": true})", R"({"b": null})", R"({"a": false, "c": 1.5e3})", R"({"a": true, "b": null, "c": -0.25})"},
           {R"({, "b": null})", R"({"a": true,})", R"({"c": 1, "a": true})", R"({"a": "true"})"});
}

TEST_CASE("json schema: additionalProperties, free objects, and keys that must differ from declared ones") {
    expect(json_schema_to_gbnf(R"({"properties": {"id": {"type": "integer"}}, "additionalProperties": {"type": "string"}})"),
           {"{}", R"({"id": 1})", R"({"id": 1, "x": "y", "ide": "z"})", R"({"i": "a"})", R"({"": "empty key"})"},
           {R"({"id": "1"})", R"({"x": 1})", R"({"id": 1, "id": "dup"})", R"({"x": "a", "id": 1})"});
    expect(json_schema_to_gbnf(R"({"type": "object"})"), {"{}", R"({"a": [1, {"b": null}], "c": "d"})"}, {"[]", R"({"a"})"});
    expect(json_schema_to_gbnf(R"({"type": "object", "additionalProperties": false})"), {"{}"}, {R"({"a": 1})"});
    // Required but undescribed: present, with any value.
    expect(json_schema_to_gbnf(R"({"properties": {"a": {"type": "integer"}}, "required": ["a", "z"]})"),
           {R"({"a": 1, "z": [true]})"}, {R"({"a": 1})", R"({"z": 1})"});
}

TEST_CASE("json schema: arrays - items, prefixItems, minItems and maxItems") {
    expect(json_schema_to_gbnf(R"({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3})"),
           {"[1, 2]", "[1,2,3]"}, {"[]", "[1]", "[1, 2, 3, 4]", "[1, \"2\"]"});
    expect(json_schema_to_gbnf(R"({"type": "array", "minItems": 1})"), {"[null]", "[1, \"a\", {}]"}, {"[]"});
    expect(json_schema_to_gbnf(R"({"prefixItems": [{"type": "integer"}, {"type": "boolean"}], "items": {"type": "null"}, "maxItems": 4})"),
           {"[1, true]", "[1, true, null, null]"}, {"[1]", "[true, 1]", "[1, true, null, null, null]", "[1, true, 2]"});
    expect(json_schema_to_gbnf(R"({"prefixItems": [{"type": "string"}]})"), {"[\"a\"]"}, {"[\"a\", 1]", "[]"});
}

TEST_CASE("json schema: enum, const, anyOf, oneOf, allOf, type lists") {
    expect(json_schema_to_gbnf(R"({"enum": ["red", 7, null, {"k": [1]}, "caf\u00e9"]})"), {"\"red\"", "7", "null", R"({"k":[1]})", "\"café\""},
           {"\"blue\"", "8", "\"Red\""});
    expect(json_schema_to_gbnf(R"({"const": "x\"y"})"), {R"("x\"y")"}, {R"("xy")"});
    expect(json_schema_to_gbnf(R"({"anyOf": [{"type": "string", "maxLength": 2}, {"type": "array", "items": {"type": "integer"}}]})"),
           {"\"ab\"", "[1, 2]", "[]"}, {"\"abc\"", "[\"a\"]", "1"});
    expect(json_schema_to_gbnf(R"({"oneOf": [{"type": "integer"}, {"type": "boolean"}]})"), {"5", "false"}, {"\"5\""});
    expect(json_schema_to_gbnf(R"({"type": ["string", "null"]})"), {"\"s\"", "null"}, {"1"});
    expect(json_schema_to_gbnf(R"({"allOf": [{"type": "object", "properties": {"a": {"const": 1}}, "required": ["a"]},
                                               {"properties": {"b": {"type": ["string", "null"]}}}]})"),
           {R"({"a": 1, "b": null})", R"({"a": 1})"}, {R"({"a": 2})", R"({"b": "x"})"});
}

TEST_CASE("json schema: $ref and $defs, recursive") {
    expect(json_schema_to_gbnf(R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
               "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}}, "$ref": "#/$defs/node"})"),
           {R"({"v": 1})", R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": [{"v": 4}]}]})"}, {R"({"v": 1, "kids": [{}]})"});
    expect(json_schema_to_gbnf(R"({"definitions": {"a~b/c": {"type": "boolean"}}, "properties": {"x": {"$ref": "#/definitions/a~0b~1c"}}})"),
           {R"({"x": true})"}, {R"({"x": 1})"});
}

TEST_CASE("json schema: strings - lengths, formats and patterns (written as JSON escapes where needed)") {
    expect(json_schema_to_gbnf(R"({"type": "string", "minLength": 2, "maxLength": 3})"), {"\"ab\"", "\"a\\nb\"", "\"日本語\""},
           {"\"a\"", "\"abcd\"", "\"a\nb\""});
    expect(json_schema_to_gbnf(R"({"type": "string", "format": "date"})"), {"\"2024-02-28\"", "\"1999-12-31\"", "\"2000-04-30\""},
           {"\"2024-13-01\"", "\"2024-1-01\"", "\"2024-01-32\"", "\"2024-11-31\"", "\"2024-02-30\"", "\"0000-01-01\""});
    expect(json_schema_to_gbnf(R"({"type": "string", "format": "time"})"), {"\"23:59:59Z\"", "\"08:00:00.123+02:00\""}, {"\"24:00:00Z\"", "\"12:00\""});
    expect(json_schema_to_gbnf(R"({"type": "string", "format": "date-time"})"), {"\"2024-01-31T12:00:00Z\""}, {"\"2024-01-31 12:00:00Z\""});
    expect(json_schema_to_gbnf(R"({"type": "string", "format": "uuid"})"), {"\"123e4567-e89b-12d3-a456-426614174000\""},
           {"\"123e4567-e89b-12d3-a456-42661417400\"", "\"g23e4567-e89b-12d3-a456-426614174000\""});
    expect(json_schema_to_gbnf(R"({"type": "string", "pattern": "^[0-9]{5}(-[0-9]{4})?$"})"), {"\"12345\"", "\"12345-6789\""},
           {"\"1234\"", "\"12345-\"", "\"x12345\""});
    // Unanchored: the pattern may match anywhere. A quote in the pattern is written \" in JSON.
    expect(json_schema_to_gbnf(R"({"type": "string", "pattern": "a\"b"})"), {R"("a\"b")", R"("xa\"by")"}, {R"("ab")", "\"a\"b\""});
    expect(json_schema_to_gbnf(R"({"type": "string", "pattern": "^\\d+\\.\\s[^x]$"})"), {"\"12. y\"", "\"1.\\ty\""}, {"\"12. x\"", "\"a. y\""});
}

TEST_CASE("json schema: unsupported and malformed schemas name the path and the keyword") {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}})", "/properties/age: 'minimum' is not supported"},
        {R"({"type": "string", "format": "email"})", "format 'email' is not supported"},
        {R"({"properties": {"a": {"$ref": "#/$defs/nope"}}})", "/properties/a: $ref '#/$defs/nope' does not resolve"},
        {R"({"$ref": "https://example.com/s.json"})", "only local references"},
        {R"({"type": "string", "pattern": "(?=a)b"})", "/pattern: regex column 2: look-around"},
        {R"({"type": "string", "pattern": "(a)\\1"})", "back-references"},
        {R"({"type": "string", "pattern": "a*?"})", "lazy"},
        {R"({"type": 5})", "'type' must be a string or an array"},
        {R"({"type": "strin"})", "unknown type 'strin'"},
        {R"({"type": "array", "items": [{"type": "string"}]})", "/items: an array of schemas is the old tuple form"},
        {R"({"type": "array", "minItems": 3, "maxItems": 2})", "maxItems is smaller than minItems"},
        {R"({"type": "string", "maxLength": -1})", "'maxLength' must be a non-negative integer"},
        {R"({"properties": {"x/y": {"uniqueItems": true}}})", "/properties/x~1y: 'uniqueItems' is not supported"},
        {R"({"anyOf": []})", "'anyOf' must be a non-empty array"},
        {R"({"allOf": [{"type": "string"}, {"type": "integer"}]})", "/allOf/0: 'allOf' is supported for object schemas only"},
        {R"({"type": "integer", "maxLength": 3})", "'maxLength' does not apply to type 'integer'"},
        {R"(false)", "allows nothing"},
        {R"({"type": )", "not JSON"},
    };
    for (const auto& [schema, want] : cases) {
        CAPTURE(schema);
        const std::string got = error_of(schema);
        CHECK_MESSAGE(got.find(want) != std::string::npos, got);
    }
}

TEST_CASE("regex and choice constraints") {
    expect(regex_to_gbnf(R"(\d{3}-[A-Z]+(x|y)?)"), {"123-AB", "123-ABx"}, {"12-A", "123-", "123-ABz"});
    expect(regex_to_gbnf("(?:yes|no)\\.?"), {"yes", "no."}, {"maybe", "yes.."});
    expect(regex_to_gbnf("^.{2}$"), {"ab", "é!"}, {"a", "a\n"});
    expect(regex_to_gbnf("[\\w.-]+@[a-z]+\\.(com|org)"), {"a.b-c@ex.com"}, {"a@ex.net", "@ex.com"});
    for (const char* bad : {"(a", "a)", "[a-", "a{3,2}", "\\", "a^b", "x\\b"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(regex_to_gbnf(bad), ember::error);
    }
    try {
        regex_to_gbnf("ab(c");
        FAIL("no error");
    } catch (const ember::error& e) {
        CHECK(std::string(e.what()).find("regex column 5: missing ')'") != std::string::npos);
    }
    const std::vector<std::string> opts = {"apple", "apple pie", "\"quoted\"", "日本", ""};
    expect(choice_to_gbnf(opts), {"apple", "apple pie", "\"quoted\"", "日本", ""}, {"apples", "appl", "pie"});
    CHECK_THROWS_AS(choice_to_gbnf(std::vector<std::string>{}), ember::error);
}
