// Byte-level BPE (tokenizer.ggml.model = "gpt2"): llama.cpp's test vectors for every vocabulary
// in ../shared/vocab, ember's own vectors (expected ids from a llama.cpp build), round trips,
// special tokens, end-of-generation ids, broken merges and hostile input.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/vocab.hpp"
#include "vocab_vectors.hpp"

using namespace ember;
using ember::test::read_vectors;
using ember::test::show;

namespace {

const vocab& load_vocab(const std::string& stem) {
    static std::map<std::string, vocab> cache;
    auto it = cache.find(stem);
    if (it == cache.end()) {
        const auto f = gguf_file::open(test::shared("vocab/ggml-vocab-" + stem + ".gguf"));
        it = cache.emplace(stem, vocab::from_gguf(f)).first;
    }
    return it->second;
}

// Every vocabulary in ../shared/vocab that has a GGUF file and test vectors.
std::vector<std::string> vector_vocabs() {
    std::vector<std::string> stems;
    for (const auto& e : std::filesystem::directory_iterator(test::shared("vocab"))) {
        const std::string name = e.path().filename().string();
        const std::string prefix = "ggml-vocab-", suffix = ".gguf.inp";
        if (!name.starts_with(prefix) || !name.ends_with(suffix)) continue;
        const std::string stem = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
        if (std::filesystem::exists(test::shared_dir() / "vocab" / ("ggml-vocab-" + stem + ".gguf"))) stems.push_back(stem);
    }
    std::sort(stems.begin(), stems.end());
    return stems;
}

// WordPiece (BERT) vocabularies are refused with an error naming the model.
bool refused_as_unsupported(const std::string& stem) {
    try {
        (void)load_vocab(stem);
        return false;
    } catch (const error& e) {
        CHECK_MESSAGE(e.code() == errc::unsupported, stem << ": " << e.what());
        CHECK_MESSAGE(std::string(e.what()).find("tokenizer.ggml.model = '") != std::string::npos, e.what());
        return true;
    }
}

}  // namespace

TEST_SUITE("bpe") {

// Every vocabulary, or only $EMBER_VOCAB (CTest runs each vocabulary as its own test, see
// tests/CMakeLists.txt).
TEST_CASE("llama.cpp test vectors") {
    auto stems = vector_vocabs();
    CHECK(stems.size() >= 12);
    if (const char* only = std::getenv("EMBER_VOCAB")) {
        REQUIRE_MESSAGE(std::find(stems.begin(), stems.end(), only) != stems.end(), "no test vectors for vocabulary " << only);
        stems = {only};
    }
    for (const std::string& stem : stems) {
        SUBCASE(stem.c_str()) {
            if (stem == "bert-bge") {
                CHECK(refused_as_unsupported(stem));
                continue;
            }
            const vocab& v = load_vocab(stem);
            const auto cases = read_vectors("vocab/ggml-vocab-" + stem + ".gguf");
            size_t passed = 0;
            for (const auto& c : cases) {
                const auto got = v.tokenize(c.input, false, false);
                CHECK_MESSAGE(got == c.expected, stem << " input '" << c.input << "': got [" << show(got) << "] expected ["
                                                      << show(c.expected) << "]");
                passed += got == c.expected;
            }
            MESSAGE(stem << ": " << passed << "/" << cases.size() << " vectors pass");
            CHECK(cases.size() >= 40);
        }
    }
}

}  // TEST_SUITE
