// llama.cpp's tokenizer test vectors (../shared/vocab/*.inp / *.out) and small helpers shared
// by the tokenizer suites.
#pragma once

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "common.hpp"
#include "ember/vocab.hpp"

namespace ember::test {

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << p.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct vector_case {
    std::string input;
    std::vector<token_id> expected;
};

// llama.cpp's test-tokenizer-0 format: inputs separated by "\n__ggml_vocab_test__\n" (the file
// ends with one, which closes the last input), one line of expected ids per input.
// `out` empty: the inputs alone (no expected ids).
inline std::vector<vector_case> read_vectors_from(const std::filesystem::path& inp_path, const std::filesystem::path& out_path) {
    const std::string inp = read_file(inp_path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    for (size_t pos = 0; pos < inp.size();) {
        const size_t next = inp.find(sep, pos);
        if (next == std::string::npos) {
            inputs.push_back(inp.substr(pos));
            break;
        }
        inputs.push_back(inp.substr(pos, next - pos));
        pos = next + sep.size();
    }
    std::vector<vector_case> cases;
    if (out_path.empty()) {
        for (auto& x : inputs) cases.push_back({std::move(x), {}});
        return cases;
    }
    REQUIRE_MESSAGE(std::filesystem::exists(out_path), "missing " << out_path.string());
    std::ifstream out(out_path);
    size_t i = 0;
    for (std::string line; std::getline(out, line); ++i) {
        REQUIRE(i < inputs.size());
        vector_case c{inputs[i], {}};
        std::istringstream ss(line);
        for (long id; ss >> id;) c.expected.push_back(token_id(id));
        cases.push_back(std::move(c));
    }
    REQUIRE(cases.size() == inputs.size());
    return cases;
}

inline std::vector<vector_case> read_vectors(const std::string& rel) {
    return read_vectors_from(test::shared(rel + ".inp"), test::shared(rel + ".out"));
}

inline std::string show(const std::vector<token_id>& ids) {
    std::string s;
    for (auto id : ids) s += std::to_string(id) + " ";
    return s;
}

}  // namespace ember::test
