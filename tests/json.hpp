// A small JSON reader for the test suites (golden reference files). Not part of the library.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ember::test {

struct json {
    enum class kind { null, boolean, number, string, array, object } k = kind::null;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<json> arr;
    std::map<std::string, json, std::less<>> obj;

    const json& operator[](std::string_view key) const {
        auto it = obj.find(key);
        if (it == obj.end()) throw std::runtime_error("json: missing key " + std::string(key));
        return it->second;
    }
    const json& operator[](size_t i) const { return arr.at(i); }
    size_t size() const { return k == kind::array ? arr.size() : obj.size(); }
    bool contains(std::string_view key) const { return obj.find(key) != obj.end(); }
    int64_t as_int() const { return int64_t(num); }

    static json parse(std::string_view text) {
        size_t p = 0;
        json j = parse_value(text, p);
        skip_ws(text, p);
        if (p != text.size()) throw std::runtime_error("json: trailing characters");
        return j;
    }

private:
    static void skip_ws(std::string_view t, size_t& p) {
        while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
    }
    static void expect(std::string_view t, size_t& p, char c) {
        if (p >= t.size() || t[p] != c) throw std::runtime_error(std::string("json: expected ") + c);
        ++p;
    }
    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) out += char(cp);
        else if (cp < 0x800) { out += char(0xc0 | (cp >> 6)); out += char(0x80 | (cp & 0x3f)); }
        else if (cp < 0x10000) { out += char(0xe0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3f)); out += char(0x80 | (cp & 0x3f)); }
        else { out += char(0xf0 | (cp >> 18)); out += char(0x80 | ((cp >> 12) & 0x3f)); out += char(0x80 | ((cp >> 6) & 0x3f)); out += char(0x80 | (cp & 0x3f)); }
    }
    static uint32_t hex4(std::string_view t, size_t& p) {
        if (p + 4 > t.size()) throw std::runtime_error("json: bad \\u escape");
        const uint32_t v = uint32_t(std::stoul(std::string(t.substr(p, 4)), nullptr, 16));
        p += 4;
        return v;
    }
    static std::string parse_string(std::string_view t, size_t& p) {
        expect(t, p, '"');
        std::string out;
        while (p < t.size() && t[p] != '"') {
            char c = t[p++];
            if (c != '\\') { out += c; continue; }
            if (p >= t.size()) break;
            c = t[p++];
            switch (c) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'u': {
                    uint32_t cp = hex4(t, p);
                    if (cp >= 0xd800 && cp < 0xdc00 && p + 6 <= t.size() && t[p] == '\\' && t[p + 1] == 'u') {
                        p += 2;
                        const uint32_t lo = hex4(t, p);
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: out += c;
            }
        }
        expect(t, p, '"');
        return out;
    }
    static json parse_value(std::string_view t, size_t& p) {
        skip_ws(t, p);
        if (p >= t.size()) throw std::runtime_error("json: unexpected end");
        json j;
        const char c = t[p];
        if (c == '{') {
            j.k = kind::object;
            ++p;
            skip_ws(t, p);
            if (p < t.size() && t[p] == '}') { ++p; return j; }
            for (;;) {
                skip_ws(t, p);
                std::string key = parse_string(t, p);
                skip_ws(t, p);
                expect(t, p, ':');
                j.obj.emplace(std::move(key), parse_value(t, p));
                skip_ws(t, p);
                if (p < t.size() && t[p] == ',') { ++p; continue; }
                expect(t, p, '}');
                return j;
            }
        }
        if (c == '[') {
            j.k = kind::array;
            ++p;
            skip_ws(t, p);
            if (p < t.size() && t[p] == ']') { ++p; return j; }
            for (;;) {
                j.arr.push_back(parse_value(t, p));
                skip_ws(t, p);
                if (p < t.size() && t[p] == ',') { ++p; continue; }
                expect(t, p, ']');
                return j;
            }
        }
        if (c == '"') { j.k = kind::string; j.str = parse_string(t, p); return j; }
        if (t.substr(p, 4) == "true") { p += 4; j.k = kind::boolean; j.b = true; return j; }
        if (t.substr(p, 5) == "false") { p += 5; j.k = kind::boolean; return j; }
        if (t.substr(p, 4) == "null") { p += 4; return j; }
        const std::string rest(t.substr(p, 64));
        char* end = nullptr;
        j.num = std::strtod(rest.c_str(), &end);
        if (end == rest.c_str()) throw std::runtime_error("json: bad value");
        p += size_t(end - rest.c_str());
        j.k = kind::number;
        return j;
    }
};

}  // namespace ember::test
