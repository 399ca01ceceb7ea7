// vocab::from_gguf: reads and validates tokenizer.ggml.* (formats.md §7.1, §7.2).
#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <string>

#include "ember/gguf.hpp"
#include "tokenizer/pretokenize.hpp"
#include "tokenizer/vocab_data.hpp"
#include "core/util.hpp"

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
    {"bert", "WordPiece"},     {"t5", "Unigram"},
    {"rwkv", "RWKV greedy"},    {"plamo2", "PLaMo-2"},      {"ugm", "Unigram"},
    {"none", "no tokenizer"},   {"gemma4", "Gemma-4 BPE"},
};

// Texts llama.cpp recognises as end-of-turn markers when a file has no eot_token_id key; the
// first one present wins (phi-3 has both <|end|> and <|endoftext|>, the latter being its EOS).
constexpr std::string_view k_eot_texts[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|end_of_text|>", "<EOT>",      "_<EOT>",  "[EOT]",
                                            "<｜end▁of▁sentence｜>", "<end_of_utterance>", "<|endoftext|>"};
// Fill-in-the-middle markers by text, when the file has no key for them (llama.cpp's lists).
constexpr std::string_view k_fim_pre_texts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>",
                                                "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"};
constexpr std::string_view k_fim_suf_texts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
                                                "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"};
constexpr std::string_view k_fim_mid_texts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>",
                                                "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"};
constexpr std::string_view k_fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view k_fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::string_view k_fim_sep_texts[] = {"<|file_sep|>"};
// Tokens that end generation, by text (llama.cpp's list), besides EOS, EOT, EOM and FIM pad/repo/sep.
constexpr std::string_view k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>",      "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>",         "<|eom_id|>", "<EOT>",    "_<EOT>",   "[EOT]",     "[EOS]",     "<|end_of_text|>",
    "<end_of_utterance>", "<eos>",   "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>"};

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
        mark_special_tokens(*d);
        if (d->kind == tokenizer_kind::spm) d->spm_word_split = spm_words_independent(*d);
        set_strip_attributes(*d);
        collect_special_candidates(*d);
        if (d->kind == tokenizer_kind::bpe) {
            if (!f_.contains("tokenizer.ggml.merges"))
                fail(errc::bad_file, "{}: key 'tokenizer.ggml.merges' is missing (required by the 'gpt2' tokenizer)", f_.name());
            d->algorithm = detail::make_bpe_algorithm(*d, std::move(pre_), f_.get_string_array("tokenizer.ggml.merges"), f_.name());
        }
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
        if (*model == "gpt2") {
            d.kind = tokenizer_kind::bpe;
            const auto pre = f_.get_string_opt("tokenizer.ggml.pre");
            const std::string_view name = pre ? std::string_view(*pre) : std::string_view();
            switch (detail::find_pre_config(name, pre_)) {
                case detail::pre_lookup::known: break;
                case detail::pre_lookup::unknown:
                    if (name.empty()) warn("tokenizer.ggml.pre is missing; using the 'default' pre-tokenizer (tokenization may differ from the model's)");
                    else warn("unknown tokenizer.ggml.pre '{}'; using the 'default' pre-tokenizer (tokenization may differ from the model's)", name);
                    break;
                case detail::pre_lookup::unsupported:
                    fail(errc::unsupported, "{}: tokenizer.ggml.pre = '{}' is not supported yet (its pre-tokenizer needs regular-expression features ember does not implement)",
                         f_.name(), name);
            }
            d.pre = pre_.name;
            return;
        }
        for (const auto& m : k_unsupported_models)
            if (*model == m.name)
                fail(errc::unsupported, "{}: tokenizer.ggml.model = '{}' ({}) is not supported yet; ember supports 'llama' (SentencePiece BPE) and 'gpt2' (byte-level BPE)",
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
        const bool need_scores = d.kind == tokenizer_kind::spm;
        if (need_scores && !f_.contains("tokenizer.ggml.scores"))
            fail(errc::bad_file, "{}: key 'tokenizer.ggml.scores' is missing (required by the 'llama' tokenizer)", f_.name());
        std::span<const float> scores;
        if (f_.contains("tokenizer.ggml.scores")) scores = f_.get_f32_array("tokenizer.ggml.scores");
        if (f_.contains("tokenizer.ggml.scores") && scores.size() != n)
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
            t.score = scores.empty() ? 0.0f : scores[i];
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
        if (d.kind == tokenizer_kind::spm) {
            d.bos = n > 1 ? 1 : -1;
            d.eos = n > 2 ? 2 : -1;
            d.unk = 0;
        } else {  // llama.cpp's defaults for byte-level BPE (GPT-2's <|endoftext|> is not 11, but the keys are always there)
            d.bos = d.eos = n > 11 && !pre_.no_bos ? 11 : -1;
            if (pre_.no_bos) d.eos = n > 11 ? 11 : -1;
            d.unk = -1;
        }

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
            {"tokenizer.ggml.mask_token_id", &ignored},    {"tokenizer.ggml.fim_pre_token_id", &d.fim_pre},
            {"tokenizer.ggml.fim_suf_token_id", &d.fim_suf}, {"tokenizer.ggml.fim_mid_token_id", &d.fim_mid},
            {"tokenizer.ggml.fim_pad_token_id", &d.fim_pad}, {"tokenizer.ggml.fim_rep_token_id", &d.fim_rep},
            {"tokenizer.ggml.fim_sep_token_id", &d.fim_sep}, {"tokenizer.ggml.prefix_token_id", &d.fim_pre},
            {"tokenizer.ggml.suffix_token_id", &d.fim_suf},  {"tokenizer.ggml.middle_token_id", &d.fim_mid},
        };
        for (const auto& [key, id] : optional_keys) {
            const auto v = read_id(key);
            if (!v) continue;
            if (*v < -1 || *v >= n) {
                warn("{} = {} is outside the vocabulary of {} tokens; ignored", key, *v, n);
                continue;
            }
            *id = token_id(*v);
        }

    }

    // Special tokens found by their text (as llama.cpp does: converters do not always write the
    // keys): EOT, EOM and FIM markers, then the end-of-generation set. A token found this way is
    // made CONTROL, so plain text can never produce it.
    void mark_special_tokens(vocab_data& d) {
        std::string forced;  // "id 'text'" of every token made CONTROL here, for one warning
        size_t n_forced = 0;
        const auto make_control = [&](token_id id) {
            auto& t = d.tokens[size_t(id)];
            if (t.type == token_type::control) return;
            if (n_forced++ < 8) forced += fmt::format("{}{} '{}'", forced.empty() ? "" : ", ", id, d.text(id));
            t.type = token_type::control;
        };
        const auto detect = [&](token_id& slot, std::span<const std::string_view> texts, token_id skip) {
            if (slot >= 0) return;  // set by its key
            for (auto text : texts)
                if (const token_id id = d.find(text); id >= 0 && id != skip) {
                    slot = id;
                    make_control(id);
                    return;
                }
        };
        detect(d.eot, k_eot_texts, d.eos);
        const std::string_view eom_text[] = {"<|eom_id|>"};
        detect(d.eom, eom_text, -1);
        detect(d.fim_pre, k_fim_pre_texts, -1);
        detect(d.fim_suf, k_fim_suf_texts, -1);
        detect(d.fim_mid, k_fim_mid_texts, -1);
        detect(d.fim_pad, k_fim_pad_texts, -1);
        detect(d.fim_rep, k_fim_rep_texts, -1);
        detect(d.fim_sep, k_fim_sep_texts, -1);

        for (const token_id id : {d.fim_pad, d.fim_rep, d.fim_sep, d.eos, d.eot, d.eom})
            if (d.valid(id)) d.tokens[size_t(id)].eog = true;
        for (auto text : k_eog_texts)
            if (const token_id id = d.find(text); id >= 0) {
                d.tokens[size_t(id)].eog = true;
                make_control(id);
            }
        // gpt-oss: its channel markers are always rendered (llama.cpp makes them user-defined).
        for (auto text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"})
            if (const token_id id = d.find(text); id >= 0) d.tokens[size_t(id)].type = token_type::user_defined;
        // o200k_harmony / solar-open end a turn with <|return|> or <|call|>, not <|end|>.
        const token_id end = d.find("<|end|>");
        if (end >= 0 && (d.find("<|return|>") >= 0 || d.find("<|flush|>") >= 0) && (d.find("<|call|>") >= 0 || d.find("<|calls|>") >= 0))
            d.tokens[size_t(end)].eog = false;
        for (token_id id = 0; id < d.size(); ++id)
            if (d.tokens[size_t(id)].eog) d.eog_ids.push_back(id);
        if (n_forced)
            warn("{} token(s) that mark turns or fill-in-the-middle are not of type CONTROL in the file; treated as control "
                 "tokens, as llama.cpp does: {}{}",
                 n_forced, forced, n_forced > 8 ? ", ..." : "");
    }

    // True when no token contains "X▁" with X not ▁ (SentencePiece's split_by_whitespace): then
    // no merge crosses the start of a word and SPM may merge word by word.
    static bool spm_words_independent(const vocab_data& d) {
        constexpr std::string_view marker = "\xE2\x96\x81";
        for (token_id id = 0; id < d.size(); ++id) {
            const std::string_view t = d.text(id);
            for (size_t pos = t.find(marker, 1); pos != std::string_view::npos; pos = t.find(marker, pos + 1))
                if (pos < marker.size() || t.substr(pos - marker.size(), marker.size()) != marker) return false;
        }
        return true;
    }

    void read_flags(vocab_data& d) {
        const bool spm = d.kind == tokenizer_kind::spm;
        d.add_bos = f_.get_bool_opt("tokenizer.ggml.add_bos_token").value_or(spm || pre_.force_add_bos);
        d.add_eos = f_.get_bool_opt("tokenizer.ggml.add_eos_token").value_or(false);
        d.add_space_prefix = f_.get_bool_opt("tokenizer.ggml.add_space_prefix").value_or(spm);
        d.clean_spaces = !spm && pre_.clean_spaces;
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
    detail::pre_config pre_;
};

}  // namespace

vocab vocab::from_gguf(const gguf_file& f, const warning_fn& warn) {
    return vocab(loader(f, warn).load());
}

}  // namespace ember
