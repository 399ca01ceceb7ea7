// The sampler chain: candidate buffer, seeding, log-probabilities, parameter checks and the
// --logit-bias parser. The stages themselves live in sampler_stages.cpp.
#include "ember/sampler.hpp"

#include "ember/grammar.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "sampling/sampler_internal.hpp"
#include "core/util.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ember {

using detail::fail;

namespace {

constexpr float pos_inf = std::numeric_limits<float>::infinity();
constexpr float neg_inf = -pos_inf;

uint64_t resolve_seed(uint64_t seed) {
    if (seed != sampler_params::random_seed) return seed;
    uint64_t s;
    try {
        std::random_device rd;
        s = (uint64_t(rd()) << 32) ^ uint64_t(rd());
    } catch (const std::exception&) {  // no entropy source on this platform
        s = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) * 0x9e3779b97f4a7c15ull;
    }
    return s == sampler_params::random_seed ? 0 : s;
}

// Log-partition of a set of logits: log p_i = logit_i - log_norm, H = -sum p ln p. When some
// logits are +inf they share all the mass equally.
struct log_softmax_info {
    double max = -std::numeric_limits<double>::infinity();
    double log_norm = 0;
    double entropy = 0;
    bool any_pos_inf = false;

    double logprob(float logit) const {
        if (std::isnan(logit)) return -std::numeric_limits<double>::infinity();
        if (any_pos_inf) return logit == pos_inf ? -log_norm : -std::numeric_limits<double>::infinity();
        return double(logit) - log_norm;
    }
};

template <class Range, class Logit>
log_softmax_info log_softmax_of(const Range& r, Logit logit_of) {
    log_softmax_info info;
    size_t n_inf = 0;
    for (const auto& x : r) {
        const float l = logit_of(x);
        if (l == pos_inf) ++n_inf;
        if (l > info.max) info.max = l;  // NaN compares false and is skipped
    }
    if (n_inf > 0) {
        info.any_pos_inf = true;
        info.log_norm = std::log(double(n_inf));
        info.entropy = info.log_norm;
        return info;
    }
    if (info.max == -std::numeric_limits<double>::infinity()) return info;  // nothing drawable
    double z = 0, zl = 0;
    for (const auto& x : r) {
        const float l = logit_of(x);
        if (!(l > neg_inf)) continue;
        const double d = double(l) - info.max;
        const double e = std::exp(d);
        z += e;
        zl += e * d;
    }
    info.log_norm = info.max + std::log(z);
    info.entropy = std::log(z) - zl / z;
    return info;
}

// The n best of a range by ranks_before(), best first, skipping -inf (probability 0) entries.
template <class Range, class Make>
void top_n(const Range& r, size_t n, Make make, std::vector<token_candidate>& heap) {
    heap.clear();
    if (n == 0) return;
    // A heap ordered by ranks_before keeps its worst member at the front.
    for (const auto& x : r) {
        const token_candidate c = make(x);
        if (!(c.logit > neg_inf)) continue;
        if (heap.size() < n) {
            heap.push_back(c);
            std::push_heap(heap.begin(), heap.end(), rank_order{});
        } else if (ranks_before(c, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), rank_order{});
            heap.back() = c;
            std::push_heap(heap.begin(), heap.end(), rank_order{});
        }
    }
    std::sort_heap(heap.begin(), heap.end(), rank_order{});
}

float sanitize(float l) { return std::isnan(l) ? neg_inf : l; }

// Bit j set when l[j] > bar, for j < 64 (NaN: clear). SSE2 is part of x86-64 itself, so this
// needs no ISA flag; elsewhere the scalar loop.
uint64_t greater_bits64(const float* l, float bar) {
#if defined(__SSE2__)
    const __m128 b = _mm_set1_ps(bar);
    uint64_t m = 0;
    for (int j = 0; j < 64; j += 4) m |= uint64_t(_mm_movemask_ps(_mm_cmpgt_ps(_mm_loadu_ps(l + j), b))) << j;
    return m;
#else
    uint64_t m = 0;
    for (int j = 0; j < 64; ++j) m |= uint64_t(l[j] > bar) << j;
    return m;
#endif
}

}  // namespace

// --- candidate_set --------------------------------------------------------------------------

void candidate_set::fill(std::span<const float> logits) {
    data.resize(logits.size());  // keeps its capacity: no allocation after the first token
    for (size_t i = 0; i < logits.size(); ++i) data[i] = {token_id(i), sanitize(logits[i]), 0.0f};
    size = logits.size();
    n_vocab = int64_t(logits.size());
    sorted = false;
    identity = true;
    selected = -1;
}

void candidate_set::fill_top(std::span<const float> logits, size_t k, const uint64_t* allowed) {
    data.resize(logits.size());
    n_vocab = int64_t(logits.size());
    selected = -1;
    sorted = false;
    k = std::max<size_t>(k, 1);
    // As keep_top: [0, w) holds the allowed entries that may still be among the k best; at 2k
    // entries selection keeps k and sets the bar. Until then the entries stay in id order, so
    // when no more than k are allowed the set is exactly fill() + filter (top-k keeps all).
    token_candidate* d = data.data();
    const size_t cap = k > logits.size() / 2 ? logits.size() : 2 * k;
    // The bar entry came earlier than every later one, so a later entry ranks before it only
    // with a strictly higher logit (NaN, read as -inf, never does): one float compare.
    size_t w = 0;
    float bar = neg_inf;
    bool have_bar = false;
    const size_t n = logits.size();
    const float* l = logits.data();
    const auto take = [&](size_t i) {
        d[w++] = token_candidate{token_id(i), sanitize(l[i]), 0.0f};
        if (w == cap && w > k) {
            std::nth_element(d, d + (k - 1), d + w, rank_order{});
            bar = d[k - 1].logit;
            have_bar = true;
            w = k;
        }
    };
    // 64 tokens at a time: the allowed word, and (once there is a bar) which logits beat it.
    for (size_t base = 0; base < n; base += 64) {
#if defined(__SSE2__)
        // The output matrix streams through the cache while the row is written, so the row's
        // start has usually left L2 by now: fetch 1 KiB ahead (16 -> 13 us on a cold 32k row).
        _mm_prefetch(reinterpret_cast<const char*>(l + base) + 1024, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(l + base) + 1088, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(l + base) + 1152, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(l + base) + 1216, _MM_HINT_T0);
#endif
        const size_t len = std::min<size_t>(64, n - base);
        const uint64_t in_row = len == 64 ? ~uint64_t(0) : (uint64_t(1) << len) - 1;
        const uint64_t ok = (allowed ? allowed[base >> 6] : ~uint64_t(0)) & in_row;
        if (!have_bar) {
            for (uint64_t b = ok; b; b &= b - 1) {
                const size_t i = base + size_t(std::countr_zero(b));
                if (!have_bar || l[i] > bar) take(i);
            }
            continue;
        }
        uint64_t b = ok;
        if (len == 64) {
            b &= greater_bits64(l + base, bar);
        }
        for (; b; b &= b - 1) {
            const size_t i = base + size_t(std::countr_zero(b));
            if (l[i] > bar) take(i);  // the bar may have risen inside this word
        }
    }
    // Without a bar every allowed entry was taken (w of them); a bar needs 2k > k of them.
    if (!have_bar && w <= k) {
        size = w;  // every allowed entry, in id order
        identity = w == n;
        return;
    }
    if (w > k) std::nth_element(d, d + (k - 1), d + w, rank_order{});
    std::sort(d, d + k, rank_order{});
    size = k;
    sorted = true;
    identity = false;
}

void candidate_set::softmax() noexcept {
    if (size == 0) return;
    const float max = data[sorted ? 0 : best()].logit;
    if (max == pos_inf) {
        size_t n = 0;
        for (const auto& x : live()) n += x.logit == pos_inf;
        for (auto& x : live()) x.p = x.logit == pos_inf ? float(1.0 / double(n)) : 0.0f;
        return;
    }
    if (max == neg_inf) {
        for (auto& x : live()) x.p = 0.0f;
        return;
    }
    double sum = 0;
    for (auto& x : live()) {
        const double e = std::exp(double(x.logit) - double(max));
        x.p = float(e);
        sum += e;
    }
    for (auto& x : live()) x.p = float(double(x.p) / sum);
}

void candidate_set::sort_top(size_t n) {
    n = std::min(n, size);
    if (sorted || n == 0) return;
    const auto first = data.begin(), last = data.begin() + ptrdiff_t(size);
    identity = false;
    if (n == size) {
        std::sort(first, last, rank_order{});
        sorted = true;
        return;
    }
    std::nth_element(first, first + ptrdiff_t(n), last, rank_order{});
    std::sort(first, first + ptrdiff_t(n), rank_order{});
}

void candidate_set::keep_top(size_t n) {
    n = std::min(n, size);
    if (n == size || sorted || n == 0 || n * 8 > size) {
        sort_top(n);
        truncate(n);
        sorted = true;
        return;
    }
    // [0, w) holds every entry seen so far that may still be among the n best; once it has 2n
    // entries, selection keeps the n best of them and the n-th best becomes the bar a later
    // entry must pass. The set stays a permutation of the live entries, so nothing is lost.
    identity = false;
    token_candidate* d = data.data();
    const size_t cap = 2 * n;
    size_t w = 0;
    bool have_bar = false;
    token_candidate bar{};
    for (size_t i = 0; i < size; ++i) {
        if (have_bar && !ranks_before(d[i], bar)) continue;
        std::swap(d[w++], d[i]);
        if (w == cap) {
            std::nth_element(d, d + (n - 1), d + w, rank_order{});
            bar = d[n - 1];
            have_bar = true;
            w = n;
        }
    }
    if (w > n) std::nth_element(d, d + (n - 1), d + w, rank_order{});
    std::sort(d, d + n, rank_order{});
    size = n;
    sorted = true;
}

void candidate_set::truncate(size_t n) noexcept {
    if (n >= size) return;
    size = n;
    identity = false;
}

size_t candidate_set::best() const noexcept {
    size_t b = 0;
    for (size_t i = 1; i < size; ++i) {
        if (ranks_before(data[i], data[b])) b = i;
    }
    return b;
}

// --- parameters -----------------------------------------------------------------------------

void validate(const sampler_params& p, int64_t n_vocab) {
    const auto bad = [](const char* name, auto value, const char* rule) {
        fail(errc::invalid_argument, "sampler parameter {} = {} {}", name, value, rule);
    };
    if (!std::isfinite(p.temp)) bad("temp", p.temp, "must be a finite number");
    if (p.top_k < 0) bad("top_k", p.top_k, "must be 0 (disabled) or positive");
    if (!(p.top_p > 0 && p.top_p <= 1)) bad("top_p", p.top_p, "is outside (0, 1]");
    if (!(p.min_p >= 0 && p.min_p <= 1)) bad("min_p", p.min_p, "is outside [0, 1]");
    if (!(p.typical_p > 0 && p.typical_p <= 1)) bad("typical_p", p.typical_p, "is outside (0, 1]");
    if (p.min_keep < 0) bad("min_keep", p.min_keep, "must not be negative");
    if (!(std::isfinite(p.repeat_penalty) && p.repeat_penalty > 0))
        bad("repeat_penalty", p.repeat_penalty, "must be a positive finite number");
    if (p.repeat_last_n < -1) bad("repeat_last_n", p.repeat_last_n, "must be -1 (all), 0 (off) or positive");
    if (!std::isfinite(p.frequency_penalty)) bad("frequency_penalty", p.frequency_penalty, "must be finite");
    if (!std::isfinite(p.presence_penalty)) bad("presence_penalty", p.presence_penalty, "must be finite");
    if (p.mirostat != 0 && p.mirostat != 1 && p.mirostat != 2)
        bad("mirostat", p.mirostat, "must be 0 (off), 1 or 2");
    if (!(std::isfinite(p.mirostat_tau) && p.mirostat_tau > 0))
        bad("mirostat_tau", p.mirostat_tau, "must be a positive finite number");
    if (!(std::isfinite(p.mirostat_eta) && p.mirostat_eta >= 0))
        bad("mirostat_eta", p.mirostat_eta, "must be a finite number >= 0");
    if (p.n_logprobs < 0) bad("n_logprobs", p.n_logprobs, "must not be negative");
    for (const auto& b : p.logit_bias) {
        if (b.token < 0) bad("logit_bias token", b.token, "is negative");
        if (n_vocab > 0 && b.token >= n_vocab)
            fail(errc::invalid_argument, "sampler parameter logit_bias token {} is outside the vocabulary ({} tokens)",
                 b.token, n_vocab);
        if (std::isnan(b.bias)) fail(errc::invalid_argument, "sampler parameter logit_bias of token {} is NaN", b.token);
    }
}

token_bias parse_logit_bias(std::string_view text) {
    const auto bad = [&](const char* why) -> token_bias {
        fail(errc::invalid_argument, "--logit-bias '{}': {} (expected TOKEN_ID+BIAS or TOKEN_ID-BIAS, e.g. 15043+1.5)",
             text, why);
    };
    const char* const begin = text.data();
    const char* const end = begin + text.size();
    const char* p = begin;
    while (p < end && *p >= '0' && *p <= '9') ++p;
    if (p == begin) return bad("the token id must start with a digit");
    token_bias b;
    if (auto r = std::from_chars(begin, p, b.token); r.ec != std::errc{}) return bad("the token id is too large");
    if (p == end || (*p != '+' && *p != '-')) return bad("a '+' or '-' must follow the token id");
    const bool negative = *p == '-';
    ++p;
    if (p == end) return bad("the bias is missing");
    if (*p == '+' || *p == '-') return bad("the bias has two signs");
    float magnitude = 0;
    const auto r = std::from_chars(p, end, magnitude);
    if (r.ec == std::errc::result_out_of_range) return bad("the bias is out of range");
    if (r.ec != std::errc{} || r.ptr != end) return bad("the bias is not a number");
    if (std::isnan(magnitude)) return bad("the bias is NaN");
    b.bias = negative ? -magnitude : magnitude;
    return b;
}

// --- the chain ------------------------------------------------------------------------------

struct sampler::impl {
    std::vector<std::unique_ptr<sampler_stage>> stages;
    uint64_t seed = 0;
    sampler_rng rng;
    candidate_set cand;
    candidate_set pre;    // the row's best few when a grammar is checked first (see sample())
    int64_t n_vocab = 0;  // fixed by from_params or by the first sample()

    bool lp_enabled = false;
    int32_t lp_top = 0;
    bool lp_after = false;
    token_logprobs lp;
    std::vector<token_candidate> lp_heap;  // scratch for the top-n search
};

sampler::sampler(uint64_t seed) : impl_(std::make_unique<impl>()) {
    impl_->seed = resolve_seed(seed);
    impl_->rng.reseed(impl_->seed);
}
sampler::~sampler() = default;
sampler::sampler(sampler&&) noexcept = default;
sampler& sampler::operator=(sampler&&) noexcept = default;

sampler sampler::from_params(const sampler_params& p, int64_t n_vocab) { return build(p, n_vocab, nullptr); }

sampler sampler::from_params(const sampler_params& p, const vocab& v, const grammar* g) {
    return build(p, v.size(), g ? stages::grammar(*g, v) : nullptr);
}

sampler sampler::build(const sampler_params& p, int64_t n_vocab, std::unique_ptr<sampler_stage> first) {
    validate(p, n_vocab);
    sampler s(p.seed);
    s.impl_->n_vocab = std::max<int64_t>(n_vocab, 0);
    if (first) s.add(std::move(first));
    if (!p.logit_bias.empty()) s.add(stages::logit_bias(p.logit_bias));
    const bool penalties_on = p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f;
    if (p.repeat_last_n != 0 && penalties_on)
        s.add(stages::penalties(p.repeat_last_n, p.repeat_penalty, p.frequency_penalty, p.presence_penalty));
    const auto min_keep = size_t(p.min_keep);
    if (p.temp <= 0) {
        s.add(stages::greedy());
    } else if (p.mirostat == 0) {
        if (p.top_k > 0) s.add(stages::top_k(p.top_k));
        if (p.typical_p < 1) s.add(stages::typical_p(p.typical_p, min_keep));
        if (p.top_p < 1) s.add(stages::top_p(p.top_p, min_keep));
        if (p.min_p > 0) s.add(stages::min_p(p.min_p, min_keep));
        s.add(stages::temperature(p.temp));
    } else {
        s.add(stages::temperature(p.temp));
        s.add(p.mirostat == 1 ? stages::mirostat(p.mirostat_tau, p.mirostat_eta)
                              : stages::mirostat_v2(p.mirostat_tau, p.mirostat_eta));
    }
    s.set_logprobs(p.logprobs || p.n_logprobs > 0, p.n_logprobs, p.logprobs_after_transforms);
    return s;
}

sampler& sampler::add(std::unique_ptr<sampler_stage> stage) {
    if (!stage) fail(errc::invalid_argument, "sampler::add: the stage is null");
    if (!impl_->stages.empty() && impl_->stages.back()->selects()) {
        fail(errc::invalid_argument, "sampler::add: '{}' would never run after '{}', which selects the token",
             stage->name(), impl_->stages.back()->name());
    }
    impl_->stages.push_back(std::move(stage));
    return *this;
}

void sampler::set_logprobs(bool enabled, int32_t n_top, bool after_transforms) {
    if (n_top < 0) fail(errc::invalid_argument, "sampler parameter n_logprobs = {} must not be negative", n_top);
    impl_->lp_enabled = enabled;
    impl_->lp_top = n_top;
    impl_->lp_after = after_transforms;
}

token_id sampler::sample(std::span<const float> logits) {
    auto& m = *impl_;
    if (logits.empty()) fail(errc::invalid_argument, "sampler::sample: the logits are empty");
    if (logits.size() > size_t(std::numeric_limits<token_id>::max()))
        fail(errc::invalid_argument, "sampler::sample: {} logits exceed the token id range", logits.size());
    if (m.n_vocab > 0 && int64_t(logits.size()) != m.n_vocab)
        fail(errc::invalid_argument, "sampler::sample: got {} logits, the sampler is set up for a vocabulary of {}",
             logits.size(), m.n_vocab);
    m.n_vocab = int64_t(logits.size());

    auto& c = m.cand;
    log_softmax_info before;
    if (m.lp_enabled && !m.lp_after) before = log_softmax_of(logits, [](float l) { return l; });

    // A grammar checked first and a top-k after it: one pass over the row picks the best few
    // overall (pre, sorted). The draw without the grammar takes its top k from them; if the
    // grammar refuses that token, the k best allowed tokens are usually among them too (inside
    // a JSON string nearly all are allowed), tried with the grammar's set when it is at hand,
    // else token by token. k + 1 allowed found means more than k exist, so those k are exactly
    // what the set and top-k keep, and neither a second pass nor the set is needed.
    const size_t n_stages = m.stages.size();
    const bool check_first = n_stages > 1 && m.stages[0]->checks_first();
    const size_t k_pre = check_first ? m.stages[1]->keeps_top() : 0;
    const bool use_pre = k_pre > 0 && k_pre < logits.size() / 8;
    auto& pre = m.pre;
    if (use_pre) {
        pre.fill_top(logits, 4 * k_pre + 32, nullptr);
        if (!pre.sorted) std::sort(pre.data.begin(), pre.data.begin() + ptrdiff_t(pre.size), rank_order{});
        c.data.resize(logits.size());
    }
    // c's first n entries were taken from pre, best first.
    const auto loaded_from_pre = [&](size_t n) {
        c.size = n;
        c.n_vocab = int64_t(logits.size());
        c.sorted = true;
        c.identity = false;
        c.selected = -1;
    };

    const auto run = [&](size_t first_stage) {
        // Fold a leading allowed-set stage and a top-k into loading the row when they can be.
        size_t i = first_stage;
        bool loaded = false;
        const size_t k_next = i + 1 < n_stages ? m.stages[i + 1]->keeps_top() : 0;
        const std::vector<uint64_t>* allowed = i < n_stages ? m.stages[i]->allowed_set(false) : nullptr;
        if (use_pre && first_stage == 1) {
            const size_t n_take = std::min(k_pre, pre.size);  // what fill_top(k) would load: pre is longer
            std::copy_n(pre.data.begin(), n_take, c.data.begin());
            loaded_from_pre(n_take);
            loaded = true;
        } else if (use_pre && first_stage == 0) {
            const bool bits_ok = allowed && allowed->size() == (logits.size() + 63) / 64;
            const auto fits = [&](token_id id) {
                if (bits_ok) return bool(((*allowed)[size_t(id) >> 6] >> (size_t(id) & 63)) & 1);
                return m.stages[0]->allows(id);
            };
            size_t kept = 0;
            for (size_t j = 0; j < pre.size && kept <= k_pre; ++j)
                if (fits(pre.data[j].id)) c.data[kept++] = pre.data[j];
            if (kept > k_pre) {
                loaded_from_pre(k_pre);
                loaded = true;
                ++i;
            }
        }
        if (!loaded && i < n_stages && !allowed) allowed = m.stages[i]->allowed_set(true);
        if (loaded) {
        } else if (allowed && allowed->size() == (logits.size() + 63) / 64) {
            const size_t k = k_next;
            c.fill_top(logits, k ? k : logits.size(), allowed->data());
            // Nothing drawable left: apply() says why (a grammar names the dead end).
            loaded = std::any_of(c.data.begin(), c.data.begin() + ptrdiff_t(c.size),
                                 [](const token_candidate& t) { return t.logit > neg_inf; });
            if (loaded) ++i;  // the stage after it still runs: on its k best it changes nothing more
        } else if (i < n_stages && !allowed) {
            if (const size_t k = m.stages[i]->keeps_top()) {
                c.fill_top(logits, k, nullptr);
                loaded = true;
            }
        }
        if (!loaded) {
            c.fill(logits);
            i = first_stage;
        }
        for (; i < n_stages; ++i) {
            m.stages[i]->apply(c, m.rng);
            if (m.stages[i]->selects()) break;
        }
        if (c.selected < 0) {
            detail::require_drawable(c);
            c.softmax();
            c.selected = int64_t(detail::draw_index(c, m.rng));
        }
        if (c.selected >= int64_t(c.size))
            fail(errc::internal, "sampler: a stage selected entry {} of {}", c.selected, c.size);
        return c.data[size_t(c.selected)].id;
    };
    // A first stage that checks first (a grammar): draw without it, keep the token if it fits,
    // else draw again with it.
    token_id tok = -1;
    if (check_first) {
        tok = run(1);
        if (!m.stages[0]->allows(tok)) tok = -1;
    }
    if (tok < 0) tok = run(0);

    if (m.lp_enabled) {
        auto& lp = m.lp;
        lp.token = tok;
        lp.top.clear();
        const auto n_top = size_t(m.lp_top);
        if (!m.lp_after) {
            lp.logprob = float(before.logprob(logits[size_t(tok)]));
            lp.entropy = float(before.entropy);
            top_n(logits, n_top, [&](const float& l) { return token_candidate{token_id(&l - logits.data()), sanitize(l), 0.0f}; },
                  m.lp_heap);
            for (const auto& x : m.lp_heap) lp.top.emplace_back(x.id, float(before.logprob(x.logit)));
        } else {
            const auto live = c.live();
            const auto after = log_softmax_of(live, [](const token_candidate& x) { return x.logit; });
            lp.logprob = float(after.logprob(c.data[size_t(c.selected)].logit));
            lp.entropy = float(after.entropy);
            top_n(live, n_top, [](const token_candidate& x) { return x; }, m.lp_heap);
            for (const auto& x : m.lp_heap) lp.top.emplace_back(x.id, float(after.logprob(x.logit)));
        }
    }
    return tok;
}

void sampler::accept(token_id token) {
    if (token < 0 || (impl_->n_vocab > 0 && token >= impl_->n_vocab))
        fail(errc::invalid_argument, "sampler::accept: token {} is outside the vocabulary ({} tokens)", token,
             impl_->n_vocab);
    for (auto& st : impl_->stages) st->accept(token);
}

void sampler::accept_prompt(token_id token) {
    if (token < 0 || (impl_->n_vocab > 0 && token >= impl_->n_vocab))
        fail(errc::invalid_argument, "sampler::accept_prompt: token {} is outside the vocabulary ({} tokens)", token,
             impl_->n_vocab);
    for (auto& st : impl_->stages) st->accept_prompt(token);
}

void sampler::reset(uint64_t seed) {
    impl_->seed = resolve_seed(seed);
    reset();
}

void sampler::reset() {
    impl_->rng.reseed(impl_->seed);
    for (auto& st : impl_->stages) st->reset();
    impl_->lp = {};
}

uint64_t sampler::seed() const noexcept { return impl_->seed; }

std::string sampler::describe() const {
    std::string out;
    const auto with_seed = [&](std::string name) {
        const std::string s = fmt::format("seed {}", impl_->seed);
        if (!name.empty() && name.back() == ')') return name.insert(name.size() - 1, ", " + s);
        return name + "(" + s + ")";
    };
    for (const auto& st : impl_->stages) {
        if (!out.empty()) out += " -> ";
        out += st->uses_rng() ? with_seed(st->name()) : st->name();
    }
    if (impl_->stages.empty() || !impl_->stages.back()->selects()) {
        if (!out.empty()) out += " -> ";
        out += with_seed("dist");
    }
    return out;
}

const token_logprobs& sampler::last_logprobs() const noexcept { return impl_->lp; }
const candidate_set& sampler::candidates() const noexcept { return impl_->cand; }

}  // namespace ember
