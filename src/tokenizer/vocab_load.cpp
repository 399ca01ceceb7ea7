// vocab::from_gguf: reads and validates tokenizer.ggml.* (formats.md §7.1, §7.2).
#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <string>

#include "ember/gguf.hpp"
#include "tokenizer/vocab_data.hpp"
#include "util.hpp"

namespace ember {

using detail::fail;
using detail::token_entry;
using detail::vocab_data;

namespace {

struct model_info {
    std::string_view name;
    std::string_view description;
};
// Tokenizer models llama.cpp knows and ember does not (yet), for a helpful error.
constexpr model_info k_unsupported_models[] = {
    {"gpt2", "byte-level BPE"}, {"bert", "WordPiece"},     {"t5", "Unigram"},
    {"rwkv", "RWKV greedy"},    {"plamo2", "PLaMo-2"},      {"ugm", "Unigram"},
    {"none", "no tokenizer"},   {"gemma4", "Gemma-4 BPE"},
};

// Texts llama.cpp recognises as end-of-turn markers when a file has no eot_token_id key; the
// first one present wins (phi-3 has both <|end|> and <|endoftext|>, the latter being its EOS).
constexpr std::string_view k_eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|end_of_text|>", "<EOT>", "<|endoftext|>"};

int16_t parse_byte_token(std::string_view s) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (s.size() != 6 || !s.starts_with("<0x") || s[5] != '>') return -1;
    const int hi = hex(s[3]), lo = hex(s[4]);
    if (hi < 0 || lo < 0) return -1;
    return int16_t(hi * 16 + lo);
}

class loader {
public:
    loader(const gguf_file& f, const warning_fn& warn) : f_(f), warn_(warn) {}

    std::shared_ptr<vocab_data> load() {
        auto d = std::make_shared<vocab_data>();
        read_model(*d);
        read_tokens(*d);
        read_specials(*d);
        read_flags(*d);
        set_strip_attributes(*d);
        collect_special_candidates(*d);
        return d;
    }

private:
    template <class... Args> void warn(fmt::format_string<Args...> f, Args&&... args) {
        if (warn_) warn_(fmt::format("{}: {}", f_.name(), fmt::format(f, std::forward<Args>(args)...)));
    }

    void read_model(vocab_data& d) {
        const auto model = f_.get_string_opt("tokenizer.ggml.model");
        if (!model) fail(errc::bad_file, "{}: key 'tokenizer.ggml.model' is missing (the file has no tokenizer)", f_.name());
        if (*model == "llama") {
            d.kind = tokenizer_kind::spm;
            d.algorithm = detail::make_spm_algorithm();
            return;
        }
        for (const auto& m : k_unsupported_models)
            if (*model == m.name)
                fail(errc::unsupported, "{}: tokenizer.ggml.model = '{}' ({}) is not supported yet; ember supports 'llama' (SentencePiece BPE)",
                     f_.name(), *model, m.description);
        fail(errc::unsupported, "{}: unknown tokenizer.ggml.model '{}'", f_.name(), *model);
    }

    void read_tokens(vocab_data& d) {
        const auto texts = f_.get_string_array("tokenizer.ggml.tokens");
        const size_t n = texts.size();
        if (n == 0) fail(errc::bad_file, "{}: tokenizer.ggml.tokens is empty", f_.name());
        if (n > size_t(std::numeric_limits<int32_t>::max()))
            fail(errc::bad_file, "{}: tokenizer.ggml.tokens has {} entries, more than token ids can address", f_.name(), n);

        // SPM merges are ordered by score, so a file without scores cannot be tokenized the way
        // it was trained; llama.cpp silently uses 0 for every token, we refuse.
        if (!f_.contains("tokenizer.ggml.scores"))
            fail(errc::bad_file, "{}: key 'tokenizer.ggml.scores' is missing (required by the 'llama' tokenizer)", f_.name());
        const auto scores = f_.get_f32_array("tokenizer.ggml.scores");
        if (scores.size() != n)
            fail(errc::bad_file, "{}: tokenizer.ggml.scores has {} entries but tokenizer.ggml.tokens has {}", f_.name(), scores.size(), n);
        std::span<const int32_t> types;
        if (f_.contains("tokenizer.ggml.token_type")) {
            types = f_.get_i32_array("tokenizer.ggml.token_type");
            if (types.size() != n)
                fail(errc::bad_file, "{}: tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}", f_.name(),
                     types.size(), n);
        }

        // Empty texts would match everywhere during special-token partitioning; llama.cpp
        // renames them, and so do we.
        std::vector<std::string> renamed(n);
        size_t total = 0, n_empty = 0;
        for (size_t i = 0; i < n; ++i) {
            if (texts[i].empty()) {
                renamed[i] = fmt::format("[EMPTY_{}]", i);
                ++n_empty;
            }
            total += texts[i].empty() ? renamed[i].size() : texts[i].size();
        }
        if (total > std::numeric_limits<uint32_t>::max())
            fail(errc::bad_file, "{}: tokenizer.ggml.tokens holds {} bytes of text, more than 4 GiB", f_.name(), total);
        if (n_empty) warn("{} empty token text(s) in tokenizer.ggml.tokens (renamed to [EMPTY_<id>])", n_empty);

        d.arena.reserve(total);
        d.tokens.resize(n);
        for (size_t i = 0; i < n; ++i) {
            token_entry& t = d.tokens[i];
            const std::string& s = texts[i].empty() ? renamed[i] : texts[i];
            t.offset = uint32_t(d.arena.size());
            t.length = uint32_t(s.size());
            d.arena += s;
            t.score = scores[i];
            d.max_token_length = std::max(d.max_token_length, s.size());
        }

        size_t n_bad_type = 0, n_bad_byte = 0, n_duplicate = 0;
        d.by_text.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            token_entry& t = d.tokens[i];
            if (!types.empty()) {
                const int32_t ty = types[i];
                if (ty >= 0 && ty <= int32_t(token_type::byte)) {
                    t.type = token_type(ty);
                } else {
                    t.type = token_type::undefined;
                    ++n_bad_type;
                }
            }
            const std::string_view text = d.text(token_id(i));
            if (t.type == token_type::byte) {
                t.byte_value = parse_byte_token(text);
                if (t.byte_value < 0) ++n_bad_byte;
            }
            // llama.cpp would abort on duplicates; keeping the first id is the least surprising.
            if (!d.by_text.emplace(text, token_id(i)).second) ++n_duplicate;
        }
        if (n_bad_type) warn("{} token type(s) outside 0..6 in tokenizer.ggml.token_type (treated as undefined)", n_bad_type);
        if (n_bad_byte) warn("{} BYTE token(s) whose text is not <0xNN> (rendered as their text)", n_bad_byte);
        if (n_duplicate) warn("{} duplicate token text(s) in tokenizer.ggml.tokens (the lowest id wins)", n_duplicate);

        for (int b = 0; b < 256; ++b) {
            const char hex[] = "0123456789ABCDEF";
            const char name[] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
            token_id id = d.find(std::string_view(name, sizeof name));
            if (id < 0) id = d.find(std::string_view(std::string(1, char(b))));
            d.byte_tokens[size_t(b)] = id;
        }
    }

    // nullopt: key absent. -1: explicitly unset (0xFFFFFFFF, or -1 from writers using i32).
    std::optional<int64_t> read_id(std::string_view key) {
        const auto v = f_.get_int_opt(key);
        if (v && (*v == -1 || *v == int64_t(std::numeric_limits<uint32_t>::max()))) return -1;
        return v;
    }

    void read_specials(vocab_data& d) {
        const int64_t n = d.size();
        // Defaults (formats.md §7.1) that do not fit a tiny vocabulary are dropped.
        d.bos = n > 1 ? 1 : -1;
        d.eos = n > 2 ? 2 : -1;
        d.unk = 0;

        struct required_key {
            std::string_view key;
            token_id* id;
        };
        for (const auto& [key, id] : {required_key{"tokenizer.ggml.bos_token_id", &d.bos},
                                      required_key{"tokenizer.ggml.eos_token_id", &d.eos},
                                      required_key{"tokenizer.ggml.unknown_token_id", &d.unk}}) {
            const auto v = read_id(key);
            if (!v) continue;
            if (*v < -1 || *v >= n)
                fail(errc::bad_file, "{}: {} = {} is outside the vocabulary of {} tokens", f_.name(), key, *v, n);
            *id = token_id(*v);
        }

        token_id ignored = -1;
        struct optional_key {
            std::string_view key;
            token_id* id;
        };
        const optional_key optional_keys[] = {
            {"tokenizer.ggml.padding_token_id", &d.pad},   {"tokenizer.ggml.eot_token_id", &d.eot},
            {"tokenizer.ggml.eom_token_id", &d.eom},       {"tokenizer.ggml.seperator_token_id", &ignored},
            {"tokenizer.ggml.mask_token_id", &ignored},    {"tokenizer.ggml.fim_pre_token_id", &ignored},
            {"tokenizer.ggml.fim_suf_token_id", &ignored}, {"tokenizer.ggml.fim_mid_token_id", &ignored},
            {"tokenizer.ggml.fim_pad_token_id", &ignored}, {"tokenizer.ggml.fim_rep_token_id", &ignored},
            {"tokenizer.ggml.fim_sep_token_id", &ignored}, {"tokenizer.ggml.prefix_token_id", &ignored},
            {"tokenizer.ggml.suffix_token_id", &ignored},  {"tokenizer.ggml.middle_token_id", &ignored},
        };
        bool eot_key = false, eom_key = false;
        for (const auto& [key, id] : optional_keys) {
            const auto v = read_id(key);
            if (!v) continue;
            if (id == &d.eot) eot_key = true;
            if (id == &d.eom) eom_key = true;
            if (*v < -1 || *v >= n) {
                warn("{} = {} is outside the vocabulary of {} tokens; ignored", key, *v, n);
                continue;
            }
            *id = token_id(*v);
        }

        if (!eot_key)
            for (auto text : k_eot_texts)
                if (const token_id id = d.find(text); id >= 0 && id != d.eos) {
                    d.eot = id;
                    break;
                }
        if (!eom_key) d.eom = d.find("<|eom_id|>");
    }

    void read_flags(vocab_data& d) {
        d.add_bos = f_.get_bool_opt("tokenizer.ggml.add_bos_token").value_or(true);
        d.add_eos = f_.get_bool_opt("tokenizer.ggml.add_eos_token").value_or(false);
        d.add_space_prefix = f_.get_bool_opt("tokenizer.ggml.add_space_prefix").value_or(true);
        if (d.add_bos && d.bos < 0) {
            warn("tokenizer.ggml.add_bos_token is set but there is no BOS token; BOS will not be added");
            d.add_bos = false;
        }
        if (d.add_eos && d.eos < 0) {
            warn("tokenizer.ggml.add_eos_token is set but there is no EOS token; EOS will not be added");
            d.add_eos = false;
        }
    }

    // GGUF has no per-token lstrip/rstrip; llama.cpp derives them from the model name, and the
    // phi-3 chat format depends on it (the newline after <|user|> is swallowed).
    void set_strip_attributes(vocab_data& d) {
        std::string name(f_.get_string_opt("general.name").value_or(""));
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        if (name.find("phi-3") == std::string::npos && name.find("phi3") == std::string::npos) return;
        for (auto& t : d.tokens)
            if (t.type == token_type::control || t.type == token_type::user_defined || t.type == token_type::unknown)
                t.rstrip = true;
        if (const token_id id = d.find("</s>"); id >= 0) d.tokens[size_t(id)].rstrip = true;
        for (auto text : {"<unk>", "<s>", "<|endoftext|>"})
            if (const token_id id = d.find(text); id >= 0) d.tokens[size_t(id)].rstrip = false;
    }

    void collect_special_candidates(vocab_data& d) {
        for (token_id id = 0; id < d.size(); ++id) {
            const auto ty = d.tokens[size_t(id)].type;
            if (ty == token_type::control || ty == token_type::user_defined || ty == token_type::unknown)
                d.special_candidates.push_back(id);
        }
        // Longest first; equal lengths by id so the order never depends on the sort.
        std::stable_sort(d.special_candidates.begin(), d.special_candidates.end(),
                         [&](token_id a, token_id b) { return d.tokens[size_t(a)].length > d.tokens[size_t(b)].length; });
    }

    const gguf_file& f_;
    const warning_fn& warn_;
};

}  // namespace

vocab vocab::from_gguf(const gguf_file& f, const warning_fn& warn) {
    return vocab(loader(f, warn).load());
}

}  // namespace ember
