// ember tokenize -m MODEL (-p TEXT | -f FILE): the token ids of a text, on one line.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"
#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/vocab.hpp"

namespace ember::cli {

namespace {

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::file_not_found, "cannot open text file '" + path + "'");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw error(errc::io_error, "cannot read text file '" + path + "'");
    return text;
}

}  // namespace

int cmd_tokenize(std::span<char* const> argv) {
    args a("tokenize", argv);
    if (a.flag({"-h", "--help"})) {
        std::printf("usage: ember tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--parse-special]\n\n"
                    "Prints the token ids of TEXT (or of FILE's contents, byte for byte) on one line,\n"
                    "separated by spaces. Only the tokenizer metadata is read, so a vocab-only GGUF works.\n\n"
                    "  -m, --model MODEL   GGUF file with tokenizer.ggml.* metadata\n"
                    "  -p, --prompt TEXT   text to tokenize\n"
                    "  -f, --file FILE     read the text from FILE instead\n"
                    "  --no-bos            do not add BOS/EOS, even if the vocab asks for them\n"
                    "  --parse-special     match control tokens such as <s> written in the text\n");
        return 0;
    }
    const auto model = a.value({"-m", "--model"});
    const auto prompt = a.value({"-p", "--prompt"});
    const auto file = a.value({"-f", "--file"});
    const bool no_bos = a.flag({"--no-bos"});
    const bool parse_special = a.flag({"--parse-special"});
    const auto pos = a.positionals();
    if (!pos.empty()) throw usage_error("unexpected argument '" + pos[0] + "'");
    a.finish();
    if (!model) throw usage_error("-m MODEL is required");
    if (prompt && file) throw usage_error("give either -p TEXT or -f FILE, not both");
    if (!prompt && !file) throw usage_error("-p TEXT or -f FILE is required");

    const std::string text = prompt ? *prompt : read_text_file(*file);
    const auto f = gguf_file::open(*model);
    const auto v = vocab::from_gguf(f, [](std::string_view m) {
        std::fprintf(stderr, "ember tokenize: warning: %.*s\n", int(m.size()), m.data());
    });
    const auto ids = v.tokenize(text, !no_bos, parse_special);

    std::string line;
    line.reserve(ids.size() * 6);
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    return 0;
}

}  // namespace ember::cli
