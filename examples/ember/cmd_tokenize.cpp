// ember tokenize -m MODEL (-p TEXT | -f FILE): the token ids of a text, on one line.
#include <algorithm>
#include <chrono>
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
        std::printf("usage: ember tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos] [--parse-special]\n"
                    "       ember tokenize -m MODEL -f FILE --bench [--min-bytes N] [--runs N]\n\n"
                    "Prints the token ids of TEXT (or of FILE's contents, byte for byte) on one line,\n"
                    "separated by spaces. Only the tokenizer metadata is read, so a vocab-only GGUF works.\n"
                    "With --bench, FILE is repeated until it holds at least N bytes (default 4 MiB) and\n"
                    "tokenized --runs times (default 3) after one warm-up; the best run is reported.\n\n"
                    "  -m, --model MODEL   GGUF file with tokenizer.ggml.* metadata\n"
                    "  -p, --prompt TEXT   text to tokenize\n"
                    "  -f, --file FILE     read the text from FILE instead\n"
                    "  --no-bos            do not add BOS/EOS, even if the vocab asks for them\n"
                    "  --parse-special     match control tokens such as <s> written in the text\n"
                    "  --bench             measure tokenization speed instead of printing ids\n"
                    "  --min-bytes N       --bench: repeat the text to at least N bytes\n"
                    "  --runs N            --bench: timed runs (best is reported)\n");
        return 0;
    }
    const auto model = a.value({"-m", "--model"});
    const auto prompt = a.value({"-p", "--prompt"});
    const auto file = a.value({"-f", "--file"});
    const bool no_bos = a.flag({"--no-bos"});
    const bool parse_special = a.flag({"--parse-special"});
    const bool bench = a.flag({"--bench"});
    const auto min_bytes = a.number<int64_t>({"--min-bytes"});
    const auto runs_opt = a.number<int64_t>({"--runs"});
    const bool bench_args = min_bytes || runs_opt;
    const int64_t target = min_bytes.value_or(int64_t(4) << 20);
    const int64_t runs = runs_opt.value_or(3);
    const auto pos = a.positionals();
    if (!pos.empty()) throw usage_error("unexpected argument '" + pos[0] + "'");
    a.finish();
    if (!model) throw usage_error("-m MODEL is required");
    if (prompt && file) throw usage_error("give either -p TEXT or -f FILE, not both");
    if (!prompt && !file) throw usage_error("-p TEXT or -f FILE is required");

    if (!bench && bench_args) throw usage_error("--min-bytes and --runs need --bench");
    if (runs < 1) throw usage_error("--runs must be at least 1");
    if (target < 0) throw usage_error("--min-bytes must not be negative");

    std::string text = prompt ? *prompt : read_text_file(*file);
    const auto load_start = std::chrono::steady_clock::now();
    const auto f = gguf_file::open(*model);
    const auto v = vocab::from_gguf(f, [](std::string_view m) {
        std::fprintf(stderr, "ember tokenize: warning: %.*s\n", int(m.size()), m.data());
    });
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    if (bench) {
        if (text.empty()) throw usage_error("--bench needs a non-empty text");
        const std::string unit = text;
        while (text.size() < size_t(target)) text += unit;
        size_t n_tokens = v.tokenize(text, false, parse_special).size();  // warm-up
        double best = 1e300;
        for (int64_t r = 0; r < runs; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            n_tokens = v.tokenize(text, false, parse_special).size();
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("tokenizer %s (%s), vocab load %.3f s\n", v.kind() == tokenizer_kind::bpe ? "bpe" : "spm",
                    v.kind() == tokenizer_kind::bpe ? std::string(v.pre_tokenizer()).c_str() : "sentencepiece", load_s);
        std::printf("%zu bytes -> %zu tokens in %.4f s (best of %lld): %.2f MB/s, %.0f tokens/s\n", text.size(), n_tokens,
                    best, static_cast<long long>(runs), double(text.size()) / best / 1e6, double(n_tokens) / best);
        return 0;
    }
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
