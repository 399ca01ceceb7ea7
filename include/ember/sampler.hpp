// Token sampling: a chain of stages that turns one row of logits into one token id.
//
// The chain built from sampler_params runs, in this order (disabled stages are left out):
//
//   logit bias -> penalties (repeat / frequency / presence over the last repeat_last_n tokens)
//   -> top-k -> typical-p -> top-p -> min-p -> temperature -> draw
//
// With mirostat = 1 or 2 the truncation stages (top-k .. min-p) are left out and mirostat
// replaces the draw: logit bias -> penalties -> temperature -> mirostat. (llama.cpp drops the
// penalties under mirostat as well; ember keeps them, since they change what is likely, not how
// much is kept.) With temp <= 0 sampling is greedy whatever else is set: logit bias ->
// penalties -> greedy, where greedy takes the highest logit and breaks ties to the lowest id.
//
// Semantics follow llama.cpp's samplers; the random numbers do not (ember uses its own fully
// specified generator, so a seed gives the same tokens with every compiler, standard library,
// machine and thread count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/vocab.hpp"

namespace ember {

class grammar;

// An additive change to one token's logit; -inf bans the token.
struct token_bias {
    token_id token = 0;
    float bias = 0.0f;
    friend bool operator==(const token_bias&, const token_bias&) = default;
};

// Parses llama.cpp's --logit-bias syntax "ID+BIAS" or "ID-BIAS", e.g. "15043+1.5" or
// "15043-inf". The id is a non-negative decimal integer, the sign is mandatory and BIAS is an
// unsigned decimal number or "inf". Throws errc::invalid_argument on anything else (spaces too).
token_bias parse_logit_bias(std::string_view text);

struct sampler_params {
    // Seed value meaning "pick one from std::random_device"; sampler::seed() reports the pick.
    static constexpr uint64_t random_seed = std::numeric_limits<uint64_t>::max();

    uint64_t seed = random_seed;
    float temp = 0.80f;               // <= 0: greedy
    int32_t top_k = 40;               // 0 = disabled
    float top_p = 0.95f;              // (0, 1]; 1 = disabled
    float min_p = 0.05f;              // [0, 1], relative to the most likely token; 0 = disabled
    float typical_p = 1.00f;          // (0, 1]; 1 = disabled
    int32_t min_keep = 0;             // top-p, min-p and typical-p keep at least this many tokens
    float repeat_penalty = 1.00f;     // > 0; 1 = disabled
    int32_t repeat_last_n = 64;       // tokens of history the penalties see; 0 = none, -1 = all since reset()
    float frequency_penalty = 0.00f;  // subtracted count times
    float presence_penalty = 0.00f;   // subtracted once if the token occurs at all
    int32_t mirostat = 0;             // 0 = off, 1 = mirostat, 2 = mirostat v2
    float mirostat_tau = 5.00f;       // target surprise in bits
    float mirostat_eta = 0.10f;       // learning rate
    std::vector<token_bias> logit_bias{};

    // Log-probability reporting (sampler::last_logprobs). n_logprobs > 0 implies logprobs.
    bool logprobs = false;
    int32_t n_logprobs = 0;                  // alternatives reported besides the sampled token
    bool logprobs_after_transforms = false;  // false: raw softmax of the logits; true: the final
                                             // distribution the token was drawn from
};

// Throws errc::invalid_argument naming the first bad parameter. n_vocab > 0 also checks the
// logit-bias ids against the vocabulary.
void validate(const sampler_params& params, int64_t n_vocab = 0);

// A fully specified generator: xoshiro256** seeded through splitmix64. uniform() takes the top
// 53 bits, so it returns k * 2^-53 for k in [0, 2^53) on every platform.
class sampler_rng {
public:
    explicit sampler_rng(uint64_t seed = 0) noexcept { reseed(seed); }
    void reseed(uint64_t seed) noexcept {
        for (auto& s : s_) {
            seed += 0x9e3779b97f4a7c15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            s = z ^ (z >> 31);
        }
    }
    uint64_t next() noexcept {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    double uniform() noexcept { return double(next() >> 11) * 0x1p-53; }  // [0, 1)

private:
    static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

struct token_candidate {
    token_id id;
    float logit;
    float p;  // probability; valid only after candidate_set::softmax()
};

// The working set the stages transform. It is owned by the sampler and reused from token to
// token, so a stage never allocates n_vocab entries. Stages keep the flags truthful:
// `sorted` when they reorder or change logits, `identity` when they reorder or drop entries.
struct candidate_set {
    std::vector<token_candidate> data;  // (n_vocab); only [0, size) are live
    size_t size = 0;
    int64_t n_vocab = 0;    // entries of the logits row this set was filled from
    bool sorted = false;    // [0, size) is in descending logit order, ties to the lower id
    bool identity = false;  // size == n_vocab and data[i].id == i: look-ups by id are direct
    int64_t selected = -1;  // index into data of the chosen token; set by the final stage

    std::span<token_candidate> live() noexcept { return {data.data(), size}; }
    std::span<const token_candidate> live() const noexcept { return {data.data(), size}; }

    // Loads a logits row; NaN logits become -inf (never drawn).
    void fill(std::span<const float> logits);
    // fill(), then dropping the tokens whose bit in `allowed` is clear (when it is not null; a
    // bit per logit), then what the top-k stage does (keep_top(k) when more than k remain, else
    // nothing), in one pass over the row that writes only the entries that may be kept.
    void fill_top(std::span<const float> logits, size_t k, const uint64_t* allowed);
    // Sets p over the live entries from their logits (+inf logits share all the mass).
    void softmax() noexcept;
    // Makes [0, n) the n best entries in sorted order (n is clamped to size); sets `sorted`
    // when that covers every live entry. Uses selection, not a full sort, when n < size.
    void sort_top(size_t n);
    // sort_top(n) then truncate(n), faster: one pass that keeps a threshold (the n-th best so
    // far) and a buffer of up to 2n entries that beat it, so a top-k over a large vocabulary
    // costs little more than reading the logits once. Sets `sorted`.
    void keep_top(size_t n);
    // Keeps the first n live entries.
    void truncate(size_t n) noexcept;
    // Index of the highest logit, ties to the lowest id.
    size_t best() const noexcept;
};

// "a ranks before b": higher logit first, then lower id. Every ordering ember uses is total, so
// any correct sort gives the same order and draws do not depend on the standard library.
inline bool ranks_before(const token_candidate& a, const token_candidate& b) noexcept {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
// The same as a function object, so sorts and selections inline the comparison.
struct rank_order {
    bool operator()(const token_candidate& a, const token_candidate& b) const noexcept { return ranks_before(a, b); }
};

// One step of a chain. apply() transforms the candidates; the stage that ends a chain
// (greedy, mirostat) sets candidates.selected and leaves the distribution it drew from in
// [0, size) with normalised p. accept() sees every token that enters the context.
class sampler_stage {
public:
    virtual ~sampler_stage() = default;
    virtual std::string name() const = 0;
    virtual void apply(candidate_set& candidates, sampler_rng& rng) = 0;
    virtual void accept(token_id) {}
    // A token of the prompt (not generated): by default the same as accept(); the grammar stage
    // ignores it.
    virtual void accept_prompt(token_id t) { accept(t); }
    virtual void reset() {}
    // A stage that only removes candidates may be checked first: when it is the first stage
    // and checks_first(), the chain runs without it and keeps the token when allows() it, and
    // runs again with it otherwise. Without truncation the token is distributed exactly as
    // under the stage (p restricted to the allowed set); greedy picks the same token.
    virtual bool checks_first() const noexcept { return false; }
    virtual bool allows(token_id) { return true; }
    // Fast paths the chain may take, on a freshly loaded row only, instead of apply(); the
    // candidates come out the same. A stage that only removes tokens by a set fixed for this
    // step (a grammar) returns it as a bitset (bit id set: allowed), or null to go through
    // apply(); a stage whose result on a fresh row is its result on that row's k best entries
    // (sorted, or in id order when there are no more than k) returns k, else 0: top-k (k),
    // greedy (1). The chain then loads only those and still runs apply().
    // With compute = false only a set already at hand is returned (the chain may then try
    // allows() on a few likely tokens before asking for the whole set).
    virtual const std::vector<uint64_t>* allowed_set(bool /*compute*/) { return nullptr; }
    virtual size_t keeps_top() const noexcept { return 0; }
    virtual bool selects() const noexcept { return false; }  // picks the token itself
    virtual bool uses_rng() const noexcept { return false; }
};

// The concrete stages; each validates its own arguments (errc::invalid_argument).
namespace stages {
std::unique_ptr<sampler_stage> logit_bias(std::vector<token_bias> biases);
// Tokens seen c > 0 times among the last `last_n` accepted (-1: all since reset): a positive
// logit is divided by `repeat`, a non-positive one multiplied; then c * frequency + presence is
// subtracted.
std::unique_ptr<sampler_stage> penalties(int32_t last_n, float repeat, float frequency, float presence);
std::unique_ptr<sampler_stage> top_k(int32_t k);
// Keeps tokens whose surprise -ln p is closest to the entropy until their mass exceeds p.
std::unique_ptr<sampler_stage> typical_p(float p, size_t min_keep = 0);
// Keeps the most likely tokens up to and including the one whose cumulative mass reaches p.
std::unique_ptr<sampler_stage> top_p(float p, size_t min_keep = 0);
// Keeps tokens with probability >= p * (probability of the most likely token).
std::unique_ptr<sampler_stage> min_p(float p, size_t min_keep = 0);
// Divides the logits by t; t <= 0 keeps only the best token (ties to the lowest id).
std::unique_ptr<sampler_stage> temperature(float t);
// Final stages.
std::unique_ptr<sampler_stage> greedy();
std::unique_ptr<sampler_stage> mirostat(float tau, float eta, int32_t m = 100);
std::unique_ptr<sampler_stage> mirostat_v2(float tau, float eta);
}  // namespace stages

struct token_logprobs {
    token_id token = -1;
    float logprob = 0.0f;  // natural log
    float entropy = 0.0f;  // nats, of the whole distribution
    std::vector<std::pair<token_id, float>> top;  // most likely first, ties to the lower id
};

// A chain of stages with its own random generator. Not thread-safe; use one per thread.
// Usage: t = s.sample(logits); s.accept(t); — sample() does not record the token, so prompt or
// forced tokens can be fed to accept() as well.
class sampler {
public:
    // An empty chain: draws from the softmax of the logits.
    explicit sampler(uint64_t seed = sampler_params::random_seed);
    // The chain described at the top of this file. n_vocab > 0 checks logit-bias ids early.
    static sampler from_params(const sampler_params& params, int64_t n_vocab = 0);
    // The same over the vocabulary `v`, with a grammar stage first in the chain when `g` is given
    // (ember/grammar.hpp).
    static sampler from_params(const sampler_params& params, const vocab& v, const grammar* g = nullptr);

    ~sampler();
    sampler(sampler&&) noexcept;
    sampler& operator=(sampler&&) noexcept;

    // Appends a stage; nothing may follow a stage that selects the token.
    sampler& add(std::unique_ptr<sampler_stage> stage);
    void set_logprobs(bool enabled, int32_t n_top = 0, bool after_transforms = false);

    // Chooses a token from one row of logits (n_vocab floats). Unless the last stage selects,
    // the chain ends with a draw from the remaining candidates.
    token_id sample(std::span<const float> logits);
    // Records a token that entered the context (penalty history, mirostat's learning step).
    void accept(token_id token);
    // Records a prompt token: penalties see it, a grammar does not.
    void accept_prompt(token_id token);
    // Forgets the history and restarts the generator from seed().
    void reset();
    // The same with a new seed (random_seed: a fresh random one), e.g. for the next request.
    void reset(uint64_t seed);

    uint64_t seed() const noexcept;  // the seed in use (never random_seed)
    std::string describe() const;     // e.g. "top-k 40 -> top-p 0.95 -> temp 0.8 -> dist(seed 7)"
    // Filled by sample() when logprobs are enabled.
    const token_logprobs& last_logprobs() const noexcept;
    const candidate_set& candidates() const noexcept;  // the final set of the last sample()

private:
    static sampler build(const sampler_params& params, int64_t n_vocab, std::unique_ptr<sampler_stage> first);
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ember
