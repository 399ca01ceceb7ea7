// libFuzzer target for the tokenizers. The first input byte picks a mode:
//  - text (bit 7 clear): the rest is text, tokenized by one of the real vocabularies of
//    ../shared/vocab (chosen by the low bits; parse_special / add_special by bits 5 and 6).
//    Every id must be in range; for byte-level BPE the pieces of the ids must give back the
//    input byte for byte when it is valid UTF-8 (llama.cpp's round trip), with special parsing
//    off; detokenize and the streaming decoder must return valid UTF-8 without throwing.
//  - vocabulary (bit 7 set): the rest describes a byte-level BPE vocabulary -- lines of added
//    tokens, a blank line, merge lines, a blank line, a pre-tokenizer name, a blank line, then
//    text. Loading must either succeed or throw ember::error bad_file/unsupported with a message
//    naming the file; a loaded vocabulary must tokenize the text as above.
// Vocabularies come from $EMBER_FUZZ_VOCAB_DIR (default: the shared folder at build time).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/vocab.hpp"

namespace {

[[noreturn]] void bug(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz_tokenizer: %s %.*s\n", what, int(detail.size()), detail.data());
    std::abort();
}

std::vector<ember::vocab>& vocabs() {
    static std::vector<ember::vocab> v;
    return v;
}

// GPT-2's byte characters (UTF-8), byte value -> text.
const std::vector<std::string>& byte_chars() {
    static const std::vector<std::string> chars = [] {
        std::vector<std::string> out;
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
            out.push_back(t);
        }
        return out;
    }();
    return chars;
}

bool valid_utf8(std::string_view s) {
    std::string clean;
    ember::utf8_sanitize(s, true, clean);
    return clean == s;
}

void exercise(const ember::vocab& v, std::string_view text, bool add_special, bool parse_special) {
    const auto ids = v.tokenize(text, add_special, parse_special);
    for (const auto id : ids)
        if (id < 0 || id >= v.size()) bug("token id out of range");
    if (v.kind() == ember::tokenizer_kind::bpe && !parse_special && valid_utf8(text)) {
        const auto plain = add_special ? v.tokenize(text, false, false) : ids;
        std::string back, expected;
        for (const auto id : plain) back += v.token_to_piece(id, true);
        // A byte whose character is missing from the vocabulary is dropped, as in llama.cpp
        // (falcon's vocabulary lacks some control characters).
        for (const char c : text)
            if (v.find(byte_chars()[uint8_t(c)]) >= 0) expected += c;
        if (back != expected) bug("pieces differ from the input:", text);
    }
    const std::string detok = v.detokenize(ids, {.special = true});
    (void)detok;
    ember::token_stream_decoder d(v, true);
    std::string streamed;
    for (const auto id : ids) streamed += d.push(id);
    streamed += d.flush();
    if (!valid_utf8(streamed)) bug("stream decoder returned invalid UTF-8");
}

// Splits off the text up to the next blank line ("\n\n"), or everything.
std::string_view take_block(std::string_view& s) {
    const size_t end = s.find("\n\n");
    const std::string_view block = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : s.substr(end + 2);
    return block;
}

std::vector<std::string> lines(std::string_view block) {
    std::vector<std::string> out;
    while (!block.empty()) {
        const size_t nl = block.find('\n');
        out.emplace_back(block.substr(0, nl));
        if (nl == std::string_view::npos) break;
        block.remove_prefix(nl + 1);
    }
    return out;
}

void fuzz_vocabulary(std::string_view s, bool parse_special) {
    std::vector<std::string> tokens = byte_chars();
    std::vector<int32_t> types(tokens.size(), 1);
    for (auto& t : lines(take_block(s))) {
        types.push_back(!t.empty() && t[0] == '<' ? 3 : 1);
        tokens.push_back(std::move(t));
    }
    const auto merges = lines(take_block(s));
    const std::string pre(take_block(s));
    ember::gguf_writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set("tokenizer.ggml.tokens", ember::gguf_value::from_strings(tokens));
    w.set("tokenizer.ggml.token_type", ember::gguf_value::from_array<int32_t>(types));
    w.set("tokenizer.ggml.merges", ember::gguf_value::from_strings(merges));
    const auto f = ember::gguf_file::parse(w.write_to_memory(), "fuzz.gguf");
    try {
        const auto v = ember::vocab::from_gguf(f, [](std::string_view) {});
        exercise(v, s, false, parse_special);
    } catch (const ember::error& e) {
        if (e.code() != ember::errc::bad_file && e.code() != ember::errc::unsupported) bug("unexpected error code:", e.what());
        if (!std::string_view(e.what()).starts_with("fuzz.gguf: ")) bug("message does not name the file:", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* env = std::getenv("EMBER_FUZZ_VOCAB_DIR");
    const std::filesystem::path dir = env ? env : EMBER_FUZZ_VOCAB_DIR;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".gguf") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& p : files) {
        try {
            const auto f = ember::gguf_file::open(p);
            vocabs().push_back(ember::vocab::from_gguf(f));
        } catch (const ember::error&) {
            // WordPiece and other unsupported models.
        }
    }
    if (vocabs().empty()) bug("no vocabulary found in", dir.string());
    std::fprintf(stderr, "fuzz_tokenizer: %zu vocabularies from %s\n", vocabs().size(), dir.string().c_str());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t mode = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (mode & 0x80) {
            fuzz_vocabulary(rest, mode & 0x20);
        } else {
            const auto& v = vocabs()[(mode & 0x1F) % vocabs().size()];
            exercise(v, rest, mode & 0x40, mode & 0x20);
        }
    } catch (const ember::error& e) {
        bug("tokenizing threw:", e.what());
    }
    return 0;
}
