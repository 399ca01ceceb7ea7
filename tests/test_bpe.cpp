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
#include "tokenizer/vocab_data.hpp"
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

// Every vocabulary of ../shared/vocab whose model is byte-level BPE.
std::vector<std::string> bpe_vocabs() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(test::shared("vocab"))) {
        const std::string name = e.path().filename().string();
        if (!name.starts_with("ggml-vocab-") || e.path().extension() != ".gguf") continue;
        const auto f = gguf_file::open(e.path());
        if (f.get_string_opt("tokenizer.ggml.model").value_or("") != "gpt2") continue;
        out.push_back(name.substr(11, name.size() - 11 - 5));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The bytes the tokens stand for, concatenated with no clean-up.
std::string pieces(const vocab& v, const std::vector<token_id>& ids) {
    std::string s;
    for (const token_id id : ids) s += v.token_to_piece(id, true);
    return s;
}

// Would Hugging Face's clean-up (which detokenize applies for vocabs that ask for it) touch x?
bool clean_up_applies(std::string_view x) {
    for (const char* p : {" ?", " !", " .", " ,", " '"})
        if (x.find(p) != std::string_view::npos) return true;
    return false;
}

// A byte-level BPE vocabulary built in memory: the 256 mapped bytes (token id = byte value),
// then merges.
struct synthetic_bpe {
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    std::vector<std::string> merges;
    std::string pre = "gpt-2";
    synthetic_bpe() {
        // GPT-2's byte map: printable Latin-1 bytes are themselves, the others U+0100 + n.
        int next = 0x100;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            const int cp = printable ? b : next++;
            std::string t;
            if (cp < 0x80) t += char(cp);
            else {
                t += char(0xC0 | (cp >> 6));
                t += char(0x80 | (cp & 0x3F));
            }
            add(t);
        }
    }
    token_id add(std::string text, int32_t type = 1) {
        tokens.push_back(std::move(text));
        types.push_back(type);
        return token_id(tokens.size() - 1);
    }
    // Adds the merge "l r" and its result token.
    token_id merge(const std::string& l, const std::string& r) {
        merges.push_back(l + " " + r);
        return add(l + r);
    }
    gguf_writer writer() const {
        gguf_writer w;
        w.set_string("general.name", "synthetic-bpe");
        w.set_string("tokenizer.ggml.model", "gpt2");
        w.set_string("tokenizer.ggml.pre", pre);
        w.set("tokenizer.ggml.tokens", gguf_value::from_strings(tokens));
        w.set("tokenizer.ggml.token_type", gguf_value::from_array<int32_t>(types));
        w.set("tokenizer.ggml.merges", gguf_value::from_strings(merges));
        return w;
    }
    vocab load(std::vector<std::string>* warnings = nullptr) const {
        const auto f = gguf_file::parse(writer().write_to_memory(), "synthetic-bpe.gguf");
        return vocab::from_gguf(f, [&](std::string_view m) {
            if (warnings) warnings->emplace_back(m);
        });
    }
};

std::string load_error(const gguf_writer& w, errc expected = errc::bad_file) {
    const auto f = gguf_file::parse(w.write_to_memory(), "synthetic-bpe.gguf");
    try {
        (void)vocab::from_gguf(f);
    } catch (const error& e) {
        CHECK(e.code() == expected);
        return e.what();
    }
    FAIL("the broken vocabulary was accepted");
    return {};
}

bool id_range_ok(const vocab& v, const std::vector<token_id>& ids) {
    return std::all_of(ids.begin(), ids.end(), [&](token_id id) { return id >= 0 && id < v.size(); });
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// ember's own test inputs (tests/data/tokenizer/extra.inp) and, per vocabulary, the ids a
// llama.cpp build gave for them (extra-<name>.out; see tests/data/tokenizer/README.md). The
// names past the shared ones are a shared vocabulary with another tokenizer.ggml.pre, to cover
// the pre-tokenizer families no shared file uses.
struct extra_vocab {
    std::string name, base, pre;  // pre empty: the file's own
};
const std::vector<extra_vocab>& extra_vocabs() {
    static const std::vector<extra_vocab> v = {
        {"llama-bpe", "llama-bpe", ""}, {"qwen2", "qwen2", ""},         {"gpt-2", "gpt-2", ""},
        {"deepseek-llm", "deepseek-llm", ""}, {"deepseek-coder", "deepseek-coder", ""}, {"falcon", "falcon", ""},
        {"mpt", "mpt", ""},             {"starcoder", "starcoder", ""}, {"refact", "refact", ""},
        {"gpt-neox", "gpt-neox", ""},   {"qwen35", "qwen2", "qwen35"}, {"smollm", "gpt-2", "smollm"},
        {"command-r", "gpt-2", "command-r"}, {"olmo", "gpt-2", "olmo"}, {"dbrx", "llama-bpe", "dbrx"},
        {"bloom", "gpt-2", "bloom"},    {"viking", "gpt-2", "viking"},
    };
    return v;
}

vocab load_extra_vocab(const extra_vocab& e) {
    if (e.pre.empty()) return load_vocab(e.base);
    const auto f = gguf_file::open(test::shared("vocab/ggml-vocab-" + e.base + ".gguf"));
    gguf_writer w;
    w.copy_metadata(f);
    w.set_string("tokenizer.ggml.pre", e.pre);
    const auto g = gguf_file::parse(w.write_to_memory(), e.name + ".gguf");
    return vocab::from_gguf(g, [](std::string_view) {});
}

std::filesystem::path extra_dir() { return std::filesystem::path(EMBER_SOURCE_DIR) / "tests/data/tokenizer"; }

}  // namespace

TEST_SUITE("bpe") {

TEST_CASE("ember's own vectors: ids from llama.cpp for every byte-level family") {
    const auto inputs = test::read_vectors_from(extra_dir() / "extra.inp", {});
    REQUIRE(inputs.size() >= 40);
    for (const auto& e : extra_vocabs()) {
        SUBCASE(e.name.c_str()) {
            const auto cases = test::read_vectors_from(extra_dir() / "extra.inp", extra_dir() / ("extra-" + e.name + ".out"));
            REQUIRE(cases.size() == inputs.size());
            const vocab v = load_extra_vocab(e);
            size_t passed = 0;
            for (const auto& c : cases) {
                const auto got = v.tokenize(c.input, false, false);
                CHECK_MESSAGE(got == c.expected, e.name << " input '" << c.input << "': got [" << show(got) << "] expected ["
                                                        << show(c.expected) << "]");
                passed += got == c.expected;
            }
            MESSAGE(e.name << ": " << passed << "/" << cases.size() << " own vectors pass");
        }
    }
}


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

TEST_CASE("round trip: the pieces of tok(x) are x, and detok(tok(x)) == x unless clean-up applies") {
    const auto stems = bpe_vocabs();
    CHECK(stems.size() >= 10);
    std::vector<std::string> texts;
    for (const std::string& stem : vector_vocabs())
        for (const auto& c : read_vectors("vocab/ggml-vocab-" + stem + ".gguf")) texts.push_back(c.input);
    CHECK(texts.size() >= 400);
    for (const std::string& stem : stems) {
        const vocab& v = load_vocab(stem);
        CHECK(v.kind() == tokenizer_kind::bpe);
        // llama.cpp clears clean_up_tokenization_spaces for these families.
        const bool no_clean_up = stem == "qwen2" || stem.starts_with("deepseek");
        size_t exact = 0, cleaned = 0;
        for (const std::string& x : texts) {
            const auto ids = v.tokenize(x, false, false);
            CHECK_MESSAGE(pieces(v, ids) == x, stem << ": '" << x << "'");
            const std::string back = v.detokenize(ids);
            if (!no_clean_up && clean_up_applies(x)) {
                cleaned += back != x;
            } else {
                CHECK_MESSAGE(back == x, stem << ": '" << x << "' -> '" << back << "'");
                exact += back == x;
            }
        }
        MESSAGE(stem << ": " << exact << " exact round trips, " << cleaned << " changed by clean-up");
    }
}

TEST_CASE("detokenize applies Hugging Face's clean-up where the vocabulary asks for it") {
    const vocab& g = load_vocab("gpt-2");  // clean_up_tokenization_spaces: true
    const vocab& q = load_vocab("qwen2");  // false
    const auto round = [](const vocab& v, const std::string& x) { return v.detokenize(v.tokenize(x, false, false)); };
    CHECK(round(g, "Hello , world . Yes ? No ! ") == "Hello, world. Yes? No! ");
    CHECK(round(g, "it 's , I 'm , we 're , they 've") == "it's, I'm, we're, they've");
    CHECK(round(g, "don 't , he 'd , we 'll") == "don 't, he 'd, we 'll");  // llama.cpp keeps these spaces
    CHECK(round(g, "a ' b") == "a'b");
    CHECK(round(q, "Hello , world . it 's") == "Hello , world . it 's");
    CHECK(round(g, "") == "");
    CHECK(round(g, " ,") == ",");
}

TEST_CASE("hostile input: invalid UTF-8, surrogates, NUL, long runs") {
    for (const std::string stem : {"llama-bpe", "qwen2", "gpt-2", "deepseek-llm", "falcon", "gpt-neox"}) {
        const vocab& v = load_vocab(stem);
        // Each byte that starts no valid sequence becomes U+FFFD, as in llama.cpp.
        CHECK(pieces(v, v.tokenize("a\xff" "b", false, false)) == "a\xEF\xBF\xBD" "b");
        CHECK(pieces(v, v.tokenize("\xC3", false, false)) == "\xEF\xBF\xBD");
        std::string five_replacements;
        for (int i = 0; i < 5; ++i) five_replacements += "\xEF\xBF\xBD";
        CHECK(pieces(v, v.tokenize("\xF8\x88\x80\x80\x80", false, false)) == five_replacements);
        // Surrogates and overlong forms decode to their value and come back byte for byte.
        CHECK(pieces(v, v.tokenize("\xED\xA0\x80x", false, false)) == "\xED\xA0\x80x");
        const std::string nul("a\0b\0\0c", 6);
        CHECK(pieces(v, v.tokenize(nul, false, false)) == nul);
        // Long runs of one character: one pre-token word for letters (the heap path); a
        // megabyte for the hand-written splitter and the general matcher, less for the rest
        // (their speed on 1 MiB is measured by `ember tokenize --bench`, bench/README.md).
        const size_t size = stem == "llama-bpe" || stem == "deepseek-llm" ? size_t(1) << 20 : size_t(64) << 10;
        for (const std::string unit : {"a", " ", "7", "\n", "\xC3\xA9", "\xE4\xB8\xAD", "!", "ab "}) {
            std::string big;
            while (big.size() < size) big += unit;
            const auto ids = v.tokenize(big, false, false);
            CHECK_MESSAGE(pieces(v, ids) == big, stem << " " << size << " bytes of '" << unit << "'");
            CHECK(ids.size() <= big.size());
        }
    }
}

TEST_CASE("random bytes never crash and valid UTF-8 round-trips") {
    std::mt19937 rng(1234);
    for (const std::string stem : {"llama-bpe", "qwen2", "deepseek-coder", "starcoder"}) {
        const vocab& v = load_vocab(stem);
        for (int i = 0; i < 300; ++i) {
            std::string s(size_t(rng() % 64), '\0');
            for (char& c : s) c = char(rng() % 256);
            const auto ids = v.tokenize(s, true, i % 2 == 0);
            for (const token_id id : ids) REQUIRE(id >= 0);
            REQUIRE(id_range_ok(v, ids));
            std::string valid;
            (void)utf8_sanitize(s, true, valid);
            if (valid == s) CHECK(pieces(v, v.tokenize(s, false, false)) == s);
        }
    }
}

TEST_CASE("merges: lowest rank first, leftmost on ties; ignore_merges emits whole words") {
    synthetic_bpe b;
    const token_id ab = b.merge("a", "b");
    const token_id bc = b.merge("b", "c");
    const token_id abc = b.merge("ab", "c");
    const token_id aa = b.merge("a", "a");
    const vocab v = b.load();
    CHECK(v.kind() == tokenizer_kind::bpe);
    CHECK(v.pre_tokenizer() == "gpt-2");
    CHECK(v.tokenize("ab", false, false) == std::vector<token_id>{ab});
    CHECK(v.tokenize("abc", false, false) == std::vector<token_id>{abc});    // ab (rank 0) before bc (rank 1)
    CHECK(v.tokenize("bc", false, false) == std::vector<token_id>{bc});
    CHECK(v.tokenize("aaa", false, false) == std::vector<token_id>{aa, token_id('a')});  // leftmost pair first
    CHECK(v.tokenize("aaaa", false, false) == std::vector<token_id>{aa, aa});
    // A word longer than the scan limit takes the heap path and must agree with it.
    std::string many(1001, 'a');
    auto ids = v.tokenize(many, false, false);
    CHECK(ids.size() == 501);
    CHECK(std::count(ids.begin(), ids.end(), aa) == 500);
    CHECK(ids.back() == token_id('a'));
    std::string abcs;
    for (int i = 0; i < 100; ++i) abcs += "abc";
    ids = v.tokenize(abcs, false, false);
    CHECK(ids == std::vector<token_id>(100, abc));

    // Llama 3's ignore_merges: a word that is itself a token is emitted whole even when the
    // merges would not build it.
    synthetic_bpe l;
    l.pre = "llama-bpe";
    l.merge("x", "y");
    const token_id xyz_direct = l.add("xyz");
    const vocab lv = l.load();
    CHECK(lv.tokenize("xyz", false, false) == std::vector<token_id>{xyz_direct});
    synthetic_bpe g = l;
    g.pre = "gpt-2";
    CHECK(g.load().tokenize("xyz", false, false) != std::vector<token_id>{xyz_direct});
}

TEST_CASE("long words: the rank-bucket path gives the priority queue's result") {
    std::mt19937 rng(7);
    std::vector<std::string> words = {std::string(5000, 'a'), std::string(3000, ' ') + "x", std::string(4000, '!')};
    std::string ab;
    for (int i = 0; i < 2000; ++i) ab += "ab";
    words.push_back(ab);
    for (int k = 0; k < 4; ++k) {  // long words over small alphabets: many different merges
        std::string w;
        const std::string alphabet = k % 2 ? "etaoin" : "th";
        for (int i = 0; i < 3000; ++i) w += alphabet[rng() % alphabet.size()];
        words.push_back(w);
    }
    for (const std::string stem : {"gpt-2", "qwen2", "starcoder", "llama-bpe"}) {
        const vocab& v = load_vocab(stem);
        for (const auto& w : words) {
            const auto fast = v.tokenize(w, false, false);
            detail::bpe_force_heap = true;
            const auto reference = v.tokenize(w, false, false);
            detail::bpe_force_heap = false;
            CHECK_MESSAGE(fast == reference, stem << ": a word of " << w.size() << " bytes starting '" << w.substr(0, 8) << "'");
            CHECK(pieces(v, fast) == w);
        }
    }
}

TEST_CASE("broken merges are refused at load, naming the merge") {
    synthetic_bpe b;
    b.merge("a", "b");
    b.merge("b", "c");
    SUBCASE("no space") {
        b.merges.push_back("abc");
        CHECK(contains(load_error(b.writer()), "tokenizer.ggml.merges[2] = 'abc' is not two tokens"));
    }
    SUBCASE("a leading space only") {
        b.merges.push_back(" ab");
        CHECK(contains(load_error(b.writer()), "tokenizer.ggml.merges[2]"));
    }
    SUBCASE("unknown part") {
        b.merges.push_back("zq c");
        CHECK(contains(load_error(b.writer()), "tokenizer.ggml.merges[2] = 'zq c' names 'zq', which is not in the vocabulary"));
    }
    SUBCASE("empty part") {
        b.merges.push_back("a ");
        CHECK(contains(load_error(b.writer()), "tokenizer.ggml.merges[2]"));
    }
    SUBCASE("result not a token") {
        b.merges.push_back("c a");
        CHECK(contains(load_error(b.writer()), "tokenizer.ggml.merges[2] = 'c a' makes 'ca', which is not in the vocabulary"));
    }
    SUBCASE("duplicate") {
        b.merges.push_back("b c");
        CHECK(contains(load_error(b.writer()), "tokenizer.ggml.merges[2] = 'b c' repeats tokenizer.ggml.merges[1]"));
    }
    SUBCASE("missing merges") {
        auto w = b.writer();
        w.remove("tokenizer.ggml.merges");
        CHECK(contains(load_error(w), "tokenizer.ggml.merges' is missing"));
    }
    SUBCASE("merges of the wrong type") {
        auto w = b.writer();
        w.set("tokenizer.ggml.merges", gguf_value::from_array<int32_t>(std::vector<int32_t>{1, 2}));
        CHECK(contains(load_error(w), "tokenizer.ggml.merges"));
    }
}

TEST_CASE("tokenizer.ggml.pre: known families, unknown values warn, unimplemented ones are refused") {
    synthetic_bpe b;
    b.merge("a", "b");
    for (const auto& [pre, family] : std::vector<std::pair<std::string, std::string>>{
             {"llama-bpe", "llama3"}, {"llama3", "llama3"}, {"smaug-bpe", "dbrx"}, {"qwen2", "qwen2"},
             {"deepseek-r1-qwen", "qwen2"}, {"qwen35", "qwen35"}, {"gpt-2", "gpt-2"}, {"olmo", "gpt-2"},
             {"mpt", "gpt-2"}, {"smollm", "starcoder"}, {"command-r", "starcoder"}, {"refact", "starcoder"},
             {"falcon", "falcon"}, {"deepseek-llm", "deepseek-llm"}, {"deepseek-coder", "deepseek-coder"},
             {"default", "default"}, {"bloom", "bloom"}, {"viking", "viking"}}) {
        b.pre = pre;
        std::vector<std::string> warnings;
        const vocab v = b.load(&warnings);
        CHECK_MESSAGE(v.pre_tokenizer() == family, pre);
        CHECK_MESSAGE(warnings.empty(), pre);
    }
    b.pre = "some-future-model";
    std::vector<std::string> warnings;
    const vocab v = b.load(&warnings);
    CHECK(v.pre_tokenizer() == "default");
    REQUIRE(warnings.size() == 1);
    CHECK(contains(warnings[0], "unknown tokenizer.ggml.pre 'some-future-model'"));
    b.pre = "tekken";
    CHECK(contains(load_error(b.writer(), errc::unsupported), "tokenizer.ggml.pre = 'tekken' is not supported"));
}

TEST_CASE("special tokens, BOS and end-of-generation ids") {
    const vocab& l = load_vocab("llama-bpe");
    CHECK(l.add_bos());
    CHECK(l.bos() == 128000);
    const auto with = l.tokenize("<|begin_of_text|>Hi<|eot_id|>", false, true);
    CHECK(with == std::vector<token_id>{128000, 13347, 128009});
    const auto without = l.tokenize("<|begin_of_text|>Hi<|eot_id|>", false, false);
    CHECK(std::find(without.begin(), without.end(), 128000) == without.end());
    CHECK(std::find(without.begin(), without.end(), 128009) == without.end());
    CHECK(pieces(l, without) == "<|begin_of_text|>Hi<|eot_id|>");
    CHECK(l.tokenize("Hi", true, false).front() == 128000);
    CHECK(l.is_eog(128009));  // <|eot_id|>
    CHECK(l.is_eog(l.eos()));
    CHECK(!l.is_eog(128000));
    CHECK(l.token_to_piece(128009).empty());
    CHECK(l.token_to_piece(128009, true) == "<|eot_id|>");

    const vocab& q = load_vocab("qwen2");
    CHECK(!q.add_bos());
    const token_id im_start = q.find("<|im_start|>"), im_end = q.find("<|im_end|>"), eot = q.find("<|endoftext|>");
    REQUIRE(im_start >= 0);
    CHECK(q.is_eog(im_end));
    CHECK(q.is_eog(eot));
    CHECK(!q.is_eog(im_start));
    const auto eogs = q.eog_ids();
    CHECK(std::is_sorted(eogs.begin(), eogs.end()));
    CHECK(std::find(eogs.begin(), eogs.end(), im_end) != eogs.end());
    CHECK(q.tokenize("<|im_start|>user", false, true).front() == im_start);
    CHECK(q.tokenize("<|im_start|>user", false, false).front() != im_start);

    const vocab& g = load_vocab("gpt-2");
    CHECK(g.is_eog(50256));
    CHECK(g.eos() == 50256);
}

}  // TEST_SUITE
