// ember run: generate a continuation of a prompt. stdout receives exactly the generated text,
// streamed as it is produced; everything else (load information, timings) goes to stderr.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "ember/chat.hpp"
#include "ember/context.hpp"
#include "ember/generate.hpp"
#include "ember/grammar.hpp"
#include "ember/model.hpp"
#include "ember/sampler.hpp"
#include "ember/vocab.hpp"

namespace ember::cli {

namespace {

constexpr const char* k_help = R"(usage: ember run -m MODEL (-p PROMPT | -f FILE) [options]

Generates a continuation of PROMPT. stdout receives exactly the generated text, streamed as
tokens come; load information and timings go to stderr.

model and context:
  -m, --model FILE         GGUF model to run
  -p, --prompt TEXT        prompt text (BOS is added when the model asks for it)
  -f, --file FILE          read the prompt from FILE
  --chat                   the prompt is a user message: format it with the model's chat
                           template (tokenizer.chat_template; ChatML, with a warning, when the
                           model has none), the reply ends at the end of the assistant's turn
  --system TEXT            with --chat: a system message first
  --chat-template FILE     with --chat: a Jinja chat template to use instead of the model's
  --grammar TEXT           constrain the output to a GBNF grammar (llama.cpp's syntax)
  --grammar-file FILE      the same, read from FILE
  --json-schema TEXT       constrain the output to JSON matching a JSON Schema (or @FILE)
  --regex PATTERN          constrain the output to match a regular expression
  -n, --n-predict N        tokens to generate (default 128; -1 = until end of text)
  -c, --ctx-size N         KV cache size in tokens (default: the model's context length);
                           with --window, the largest prompt batch
  -b, --batch-size N       tokens per forward pass while reading the prompt (default 512)
  -t, --threads N          threads (default: all cores)
  --window W               sliding-window attention over the last W positions; memory stays
                           O(W) and generation is unbounded
  --keep N                 tokens kept at the start when the full cache shifts (default 0;
                           BOS is always kept)
  --no-context-shift       stop when the cache is full instead of shifting it
  --cache-type-k T         type of cached keys: f32, f16 (default) or q8_0
  --cache-type-v T         type of cached values: f32, f16 (default) or q8_0
  --mmap                   map the model file instead of reading it into memory (starts faster
                           and shares pages between processes; generation is slower)
  --no-mmap                read the model into memory, on huge pages (the default)
  --no-repack              keep the weights as in the file (by default K-quant matrices are
                           row-interleaved at load, which multiplies faster)
  --save-state FILE        save the context (KV cache) after generating
  --load-state FILE        restore a saved context first; the prompt's cached prefix is reused
  -v, --verbose            print the sampler chain, memory use and more to stderr

sampling (llama.cpp's names and defaults):
  --temp T                 temperature (default 0.8; 0 = greedy)
  --top-k N                (default 40; 0 = off)          --top-p P   (default 0.95)
  --min-p P                (default 0.05)                 --typical P (default 1.0 = off)
  --repeat-penalty F       (default 1.0)                  --repeat-last-n N (default 64)
  --presence-penalty F     (default 0)                    --frequency-penalty F (default 0)
  --mirostat N             0 = off, 1 or 2 (default 0)
  --mirostat-ent TAU       target entropy (default 5.0)   --mirostat-lr ETA (default 0.1)
  --seed S                 random seed (default: random, printed to stderr)
  --logit-bias ID(+|-)B    add B to token ID's logit (repeatable; -inf bans the token)
  --logprobs N             record the log-probability of each token and its N best alternatives
  --logprobs-file FILE     where to write them, one JSON object per token (default: stderr)
  --logprobs-post          report the distribution after the sampler transforms
)";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::file_not_found, path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string json_escape(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
    }
    return out;
}

// A token's piece as valid UTF-8 for JSON (a lone byte token becomes U+FFFD).
[[maybe_unused]] std::string piece_utf8(const vocab& v, token_id t) {
    std::string out;
    utf8_sanitize(v.token_to_piece(t, true), true, out);
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int cmd_run(std::span<char* const> argv) {
    args a("run", argv);
    if (a.flag({"-h", "--help"})) {
        std::fputs(k_help, stdout);
        return 0;
    }
    const std::string model_path = a.required({"-m", "--model"});
    auto prompt = a.value({"-p", "--prompt"});
    const auto prompt_file = a.value({"-f", "--file"});
    const int64_t n_predict = a.number_or<int64_t>({"-n", "--n-predict"}, 128);
    const bool verbose = a.flag({"-v", "--verbose"});
    const bool want_mmap = a.flag({"--mmap"});
    const bool no_mmap = a.flag({"--no-mmap"}) || !want_mmap;
    const bool no_repack = a.flag({"--no-repack"});
    const auto save_state = a.value({"--save-state"});
    const auto load_state = a.value({"--load-state"});
    context_params cp = parse_context_flags(a);
    sampler_params sp = parse_sampler_flags(a);
    const int32_t n_logprobs = a.number_or<int32_t>({"--logprobs"}, -1);
    const auto logprobs_file = a.value({"--logprobs-file"});
    const bool logprobs_post = a.flag({"--logprobs-post"});
    const bool chat = a.flag({"--chat"});
    const auto system = a.value({"--system"});
    const auto chat_template_file = a.value({"--chat-template"});
    const auto grammar_text = a.value({"--grammar"});
    const auto grammar_file = a.value({"--grammar-file"});
    const auto json_schema = a.value({"--json-schema"});
    const auto regex = a.value({"--regex"});
    a.finish();
    if (int(bool(grammar_text)) + int(bool(grammar_file)) + int(bool(json_schema)) + int(bool(regex)) > 1)
        throw usage_error("give one of --grammar, --grammar-file, --json-schema and --regex");
    // Compiled before the model loads: a bad grammar fails fast, naming its line or schema path.
    std::optional<grammar> constraint;
    if (grammar_text) constraint = grammar::from_gbnf(*grammar_text);
    if (grammar_file) constraint = grammar::from_gbnf(read_file(*grammar_file));
    if (json_schema)
        constraint = grammar::from_json_schema(!json_schema->empty() && (*json_schema)[0] == '@' ? read_file(json_schema->substr(1)) : *json_schema);
    if (regex) constraint = grammar::from_regex(*regex);

    if (prompt && prompt_file) throw usage_error("give either -p or -f, not both");
    if (prompt_file) prompt = read_file(*prompt_file);
    if (!prompt) throw usage_error("-p PROMPT or -f FILE is required");
    if (n_predict < -1) throw usage_error("-n must be -1 or more");
    if (n_logprobs < -1 || n_logprobs > 100) throw usage_error("--logprobs must be between 0 and 100");
    if (logprobs_file && n_logprobs < 0) throw usage_error("--logprobs-file needs --logprobs N");
    if ((system || chat_template_file) && !chat) throw usage_error("--system and --chat-template need --chat");
    if (n_logprobs >= 0) sp.logprobs = true, sp.n_logprobs = n_logprobs, sp.logprobs_after_transforms = logprobs_post;

    const auto t_load = std::chrono::steady_clock::now();
    model_params mp;
    mp.use_mmap = !no_mmap;
    mp.repack = !no_repack;
    mp.log = [verbose](log_level lvl, std::string_view msg) {
        if (verbose || lvl >= log_level::warn)
            std::fprintf(stderr, "ember: %.*s\n", int(msg.size()), msg.data());
    };
    const auto m = model::load(model_path, mp);
    const vocab& voc = m->vocab();
    context ctx(m, cp);
    const double load_s = seconds_since(t_load);

    sampler smp = constraint ? sampler::from_params(sp, voc, &*constraint) : sampler::from_params(sp, m->hparams().n_vocab);
    std::fprintf(stderr, "ember: loaded %s (%s) in %.2f s; context %lld, %d threads%s\n", model_path.c_str(),
                 m->description().c_str(), load_s, (long long)ctx.n_ctx(), ctx.params().n_threads,
                 cp.window > 0 ? (", window " + std::to_string(cp.window)).c_str() : "");
    if (sp.temp > 0) std::fprintf(stderr, "ember: seed %llu\n", (unsigned long long)smp.seed());
    if (verbose) {
        std::fprintf(stderr, "ember: sampler: %s\n", smp.describe().c_str());
        const auto mem = ctx.memory();
        std::fprintf(stderr, "ember: memory: weights %.1f MiB (mapped: %s), KV cache %.1f MiB (K %s, V %s), scratch %.1f MiB\n",
                     double(mem.weights) / (1 << 20), m->file().is_mapped() ? "yes" : "no", double(mem.kv_cache) / (1 << 20),
                     std::string(type_name(cp.type_k)).c_str(), std::string(type_name(cp.type_v)).c_str(),
                     double(mem.scratch) / (1 << 20));
        // Models with sliding-window and global layers (Gemma 3) keep a cache per layer kind.
        for (int g = 0; g < ctx.n_cache_groups() && ctx.n_cache_groups() > 1; ++g) {
            const kv_cache& k = ctx.cache(g);
            std::fprintf(stderr, "ember: KV cache group %d: %lld layers, %s, %lld cells, %.1f MiB\n", g, (long long)k.n_layer(),
                         k.window() > 0 ? ("window " + std::to_string(k.window())).c_str() : "global", (long long)k.capacity(),
                         double(k.bytes()) / (1 << 20));
        }
    }

    std::FILE* lp_out = nullptr;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> lp_guard(nullptr, std::fclose);
    if (sp.logprobs) {
        if (logprobs_file) {
            lp_out = std::fopen(logprobs_file->c_str(), "w");
            if (!lp_out) throw error(errc::io_error, *logprobs_file + ": cannot create");
            lp_guard.reset(lp_out);
        } else {
            lp_out = stderr;
        }
    }

    std::vector<token_id> tokens;
    if (chat) {
        // The user's text is data: its special-token text stays text (tokenize_prompt).
        chat_template tmpl = chat_template::from_model(*m);
        if (chat_template_file) {
            tmpl = chat_template(read_file(*chat_template_file), voc.bos() >= 0 ? std::string(voc.token_text(voc.bos())) : "",
                                 voc.eos() >= 0 ? std::string(voc.token_text(voc.eos())) : "");
        } else if (tmpl.is_fallback()) {
            std::fprintf(stderr, "ember: warning: the model has no tokenizer.chat_template; formatting the chat as ChatML\n");
        }
        std::vector<chat_message> msgs;
        if (system) msgs.push_back({"system", *system});
        msgs.push_back({"user", *prompt});
        const chat_prompt rendered = tmpl.apply(msgs);
        if (verbose) std::fprintf(stderr, "ember: chat prompt:\n%s\n", rendered.text.c_str());
        tokens = tokenize_prompt(voc, rendered, true);
    } else {
        tokens = voc.tokenize(*prompt, true, false);
    }
    if (tokens.empty()) throw usage_error("the prompt is empty");
    if (load_state) ctx.load_state_file(*load_state);

    const auto t_start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point t_first{};
    generate_params gp;
    gp.max_tokens = n_predict;
    const generate_result res = generate(ctx, smp, tokens, gp, [&](token_id tok, std::string_view text) {
        if (t_first == std::chrono::steady_clock::time_point{}) t_first = std::chrono::steady_clock::now();
        if (lp_out && tok >= 0) {
            const auto& lp = smp.last_logprobs();
            std::string line = "{\"token\": " + std::to_string(tok) + ", \"piece\": \"" + json_escape(piece_utf8(voc, tok)) +
                               "\", \"logprob\": " + std::to_string(lp.logprob) + ", \"entropy\": " + std::to_string(lp.entropy) +
                               ", \"top\": [";
            for (size_t i = 0; i < lp.top.size(); ++i)
                line += (i ? ", [" : "[") + std::to_string(lp.top[i].first) + ", \"" +
                        json_escape(piece_utf8(voc, lp.top[i].first)) + "\", " + std::to_string(lp.top[i].second) + "]";
            line += "]}\n";
            std::fputs(line.c_str(), lp_out);
        }
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    const auto t_end = std::chrono::steady_clock::now();
    if (t_first == std::chrono::steady_clock::time_point{}) t_first = t_end;
    const double prompt_s = std::chrono::duration<double>(t_first - t_start).count();
    const double gen_s = std::chrono::duration<double>(t_end - t_first).count();
    const int64_t n_eval = res.n_prompt_evaluated;
    const auto n_gen = int64_t(res.tokens.size());
    const std::string stop_reason(to_string(res.reason));

    if (save_state) ctx.save_state_file(*save_state);
    // The first token's time includes the prompt; the rest are generation proper.
    std::fprintf(stderr, "\nember: prompt %lld tokens (%lld evaluated), first token after %.3f s; generated %lld tokens, %.2f tok/s after the first; stopped: %s\n",
                 (long long)tokens.size(), (long long)n_eval, prompt_s, (long long)n_gen,
                 gen_s > 0 && n_gen > 1 ? double(n_gen - 1) / gen_s : 0.0, stop_reason.c_str());
    return 0;
}

}  // namespace ember::cli
