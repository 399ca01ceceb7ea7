#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"
#include "ember/error.hpp"
#include "ember/sampler.hpp"

using namespace ember;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr int n_draws = 20000;
constexpr double alpha = 0.001;

// --- statistics -----------------------------------------------------------------------------

// z with P(Z > z) = alpha for a standard normal Z: bisection on 0.5 * erfc(z / sqrt 2).
double normal_upper_quantile(double a) {
    double lo = 0, hi = 40;
    for (int i = 0; i < 200; ++i) {
        const double mid = (lo + hi) / 2;
        (0.5 * std::erfc(mid / std::sqrt(2.0)) > a ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
}

// Wilson-Hilferty: (X / k)^(1/3) is close to normal with mean 1 - 2/(9k) and variance 2/(9k).
double chi2_critical(int df, double a) {
    const double z = normal_upper_quantile(a);
    const double v = 2.0 / (9.0 * df);
    return df * std::pow(1 - v + z * std::sqrt(v), 3);
}

struct gof {
    double stat = 0;
    int df = 0;
    double critical = 0;
};

// Pearson's chi-square of observed counts against expected probabilities; bins expected to hold
// fewer than 5 draws are pooled into one.
gof chi_square(const std::vector<double>& expected, const std::vector<int64_t>& counts, int64_t n) {
    gof g;
    int bins = 0;
    double pool_e = 0, pool_o = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] == 0) continue;
        const double e = expected[i] * double(n), o = double(counts[i]);
        if (e < 5) {
            pool_e += e;
            pool_o += o;
            continue;
        }
        g.stat += (o - e) * (o - e) / e;
        ++bins;
    }
    if (pool_e > 0) {
        g.stat += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
        ++bins;
    }
    g.df = bins - 1;
    g.critical = g.df > 0 ? chi2_critical(g.df, alpha) : 0;
    return g;
}

std::vector<int64_t> draw_counts(sampler& s, const std::vector<float>& logits, int n) {
    std::vector<int64_t> counts(logits.size(), 0);
    for (int i = 0; i < n; ++i) {
        const token_id t = s.sample(logits);
        REQUIRE(t >= 0);
        REQUIRE(size_t(t) < logits.size());
        ++counts[size_t(t)];
    }
    return counts;
}

// Draws n_draws tokens and checks them against `expected`; returns the statistic for reporting.
gof check_distribution(const char* what, sampler& s, const std::vector<float>& logits,
                       const std::vector<double>& expected) {
    REQUIRE(std::abs(std::accumulate(expected.begin(), expected.end(), 0.0) - 1.0) < 1e-9);
    const auto counts = draw_counts(s, logits, n_draws);
    for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] == 0) CHECK_MESSAGE(counts[i] == 0, std::string(what) << ": token " << i << " has probability 0");
    }
    const gof g = chi_square(expected, counts, n_draws);
    MESSAGE(std::string(what) << ": chi2 = " << g.stat << ", df = " << g.df << ", critical(p=0.001) = " << g.critical);
    REQUIRE(g.df > 0);
    CHECK(g.stat < g.critical);
    return g;
}

// --- expected distributions, computed the plain way ---------------------------------------

const std::vector<float> logits16 = {1.2f, -0.5f, 2.9f, 0.3f, 2.1f, -2.0f, 1.7f, 0.0f,
                                     3.4f, -1.1f, 0.9f, 2.5f, -3.0f, 1.5f, -0.2f, 0.6f};

// Softmax over the tokens in `keep` (the rest get 0) of logit / temp.
std::vector<double> softmax_over(const std::vector<double>& logit, const std::vector<bool>& keep, double temp = 1) {
    double m = -inf;
    for (size_t i = 0; i < logit.size(); ++i)
        if (keep[i]) m = std::max(m, logit[i] / temp);
    std::vector<double> p(logit.size(), 0.0);
    double z = 0;
    for (size_t i = 0; i < logit.size(); ++i) {
        if (keep[i] && logit[i] > -inf) z += p[i] = std::exp(logit[i] / temp - m);
    }
    for (auto& x : p) x /= z;
    return p;
}
std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<bool> all_kept(size_t n) { return std::vector<bool>(n, true); }

// Token ids in `keep`, most likely first.
std::vector<size_t> ranked(const std::vector<double>& logit, const std::vector<bool>& keep) {
    std::vector<size_t> ids;
    for (size_t i = 0; i < logit.size(); ++i)
        if (keep[i]) ids.push_back(i);
    std::stable_sort(ids.begin(), ids.end(), [&](size_t a, size_t b) { return logit[a] > logit[b]; });
    return ids;
}

std::vector<bool> keep_top_k(const std::vector<double>& logit, std::vector<bool> keep, size_t k) {
    const auto ids = ranked(logit, keep);
    for (size_t r = k; r < ids.size(); ++r) keep[ids[r]] = false;
    return keep;
}
std::vector<bool> keep_top_p(const std::vector<double>& logit, std::vector<bool> keep, double top_p) {
    const auto p = softmax_over(logit, keep);
    const auto ids = ranked(logit, keep);
    double cum = 0;
    size_t r = 0;
    while (r < ids.size() && cum < top_p) cum += p[ids[r++]];  // the crossing token stays
    for (; r < ids.size(); ++r) keep[ids[r]] = false;
    return keep;
}
std::vector<bool> keep_min_p(const std::vector<double>& logit, std::vector<bool> keep, double min_p) {
    const auto p = softmax_over(logit, keep);
    const double pmax = *std::max_element(p.begin(), p.end());
    for (size_t i = 0; i < p.size(); ++i)
        if (p[i] < min_p * pmax) keep[i] = false;
    return keep;
}
std::vector<bool> keep_typical(const std::vector<double>& logit, std::vector<bool> keep, double typ) {
    const auto p = softmax_over(logit, keep);
    double h = 0;
    for (double x : p)
        if (x > 0) h -= x * std::log(x);
    std::vector<size_t> ids;
    for (size_t i = 0; i < p.size(); ++i)
        if (keep[i]) ids.push_back(i);
    std::stable_sort(ids.begin(), ids.end(), [&](size_t a, size_t b) {
        return std::abs(-std::log(p[a]) - h) < std::abs(-std::log(p[b]) - h);
    });
    double cum = 0;
    size_t r = 0;
    while (r < ids.size() && !(cum > typ)) cum += p[ids[r++]];
    for (; r < ids.size(); ++r) keep[ids[r]] = false;
    return keep;
}

// Parameters with every stage switched off except what a test turns on.
sampler_params plain(uint64_t seed) {
    sampler_params p;
    p.seed = seed;
    p.temp = 1;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    p.typical_p = 1;
    return p;
}

// Zipf-like logits over n tokens: rank r gets -s ln r plus a little noise, ranks shuffled.
std::vector<float> zipf_logits(std::mt19937_64& g, size_t n) {
    const auto u01 = [&] { return double(g() >> 11) * 0x1p-53; };
    const double s = 0.9 + 0.4 * u01();
    std::vector<size_t> rank(n);
    std::iota(rank.begin(), rank.end(), 1);
    for (size_t i = n - 1; i > 0; --i) std::swap(rank[i], rank[size_t(g() % (i + 1))]);
    std::vector<float> l(n);
    for (size_t i = 0; i < n; ++i) l[i] = float(-s * std::log(double(rank[i])) + 0.2 * (u01() - 0.5));
    return l;
}

std::vector<token_id> run(sampler& s, std::mt19937_64 g, int n, size_t n_vocab) {
    std::vector<token_id> out;
    for (int i = 0; i < n; ++i) {
        const auto l = zipf_logits(g, n_vocab);
        out.push_back(s.sample(l));
        s.accept(out.back());
    }
    return out;
}

template <class F>
void check_invalid(F&& f, const std::string& name) {
    try {
        f();
        FAIL("no error for " << name);
    } catch (const error& e) {
        CHECK(e.code() == errc::invalid_argument);
        CHECK_MESSAGE(std::string(e.what()).find(name) != std::string::npos, std::string(e.what()) << " does not name " << name);
    }
}

}  // namespace

TEST_SUITE("sampler") {

TEST_CASE("the generator matches an independent xoshiro256** / splitmix64 implementation") {
    // Reference values from a separate Python implementation of the published algorithms.
    sampler_rng r0(0);
    CHECK(r0.next() == 0x99ec5f36cb75f2b4ull);
    CHECK(r0.next() == 0xbf6e1f784956452aull);
    CHECK(r0.next() == 0x1a5f849d4933e6e0ull);
    CHECK(r0.next() == 0x6aa594f1262d2d2cull);
    sampler_rng r1(12345);
    CHECK(r1.next() == 0xbe6a36374160d49bull);
    CHECK(r1.next() == 0x214aaa0637a688c6ull);
    sampler_rng r2(0);
    CHECK(r2.uniform() == double(0x99ec5f36cb75f2b4ull >> 11) * 0x1p-53);
}

TEST_CASE("the chi-square critical value is computed, and matches published tables") {
    // Table values of the 0.999 quantile, used only to check the approximation (which errs on
    // the high side by about 1 % at df = 5).
    CHECK(chi2_critical(5, 0.001) == doctest::Approx(20.515).epsilon(0.02));
    CHECK(chi2_critical(10, 0.001) == doctest::Approx(29.588).epsilon(0.01));
    CHECK(chi2_critical(30, 0.001) == doctest::Approx(59.703).epsilon(0.002));
    CHECK(normal_upper_quantile(0.001) == doctest::Approx(3.0902).epsilon(1e-4));
}

TEST_CASE("temperature draws from softmax(logits / T)") {
    auto p = plain(11);
    p.temp = 0.7f;
    auto s = sampler::from_params(p);
    check_distribution("temp 0.7", s, logits16, softmax_over(as_double(logits16), all_kept(16), 0.7));

    p.temp = 1.6f;
    auto s2 = sampler::from_params(p);
    check_distribution("temp 1.6", s2, logits16, softmax_over(as_double(logits16), all_kept(16), 1.6));
}

TEST_CASE("the goodness-of-fit test rejects a wrong distribution") {
    auto p = plain(12);
    p.temp = 0.7f;
    auto s = sampler::from_params(p);
    const auto counts = draw_counts(s, logits16, n_draws);
    const gof g = chi_square(softmax_over(as_double(logits16), all_kept(16), 1.0), counts, n_draws);
    MESSAGE("temp 0.7 draws against temp 1 expectation: chi2 = " << g.stat << ", critical = " << g.critical);
    CHECK(g.stat > g.critical);
}

TEST_CASE("top-k keeps the k most likely tokens") {
    auto p = plain(21);
    p.top_k = 5;
    auto s = sampler::from_params(p);
    const auto l = as_double(logits16);
    check_distribution("top-k 5", s, logits16, softmax_over(l, keep_top_k(l, all_kept(16), 5)));
}

TEST_CASE("keep_top equals a full sort truncated, for every n, with ties, -inf and NaN") {
    std::mt19937 rng(11);
    for (size_t size : {1u, 7u, 100u, 1000u, 32000u}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
            std::vector<float> logits(size);
            for (size_t i = 0; i < size; ++i) {
                switch (pattern) {
                    case 0: logits[i] = std::normal_distribution<float>(0, 2)(rng); break;
                    case 1: logits[i] = float(rng() % 5); break;                 // many ties: ids decide
                    case 2: logits[i] = float(i); break;                         // ascending: the bar moves every time
                    default: logits[i] = (i % 3 == 0) ? -std::numeric_limits<float>::infinity()
                                           : (i % 7 == 0 ? std::numeric_limits<float>::quiet_NaN() : float(size - i));
                }
            }
            for (size_t n : {size_t(1), size_t(2), size_t(3), size_t(40), size / 9, size / 2, size, size + 5}) {
                if (n == 0) continue;
                candidate_set a, b;
                a.fill(logits);
                b.fill(logits);
                a.keep_top(n);
                b.sort_top(n);
                b.truncate(n);
                REQUIRE(a.size == std::min(n, size));
                CHECK(a.sorted);
                bool same = true;
                for (size_t i = 0; i < a.size; ++i) same = same && a.data[i].id == b.data[i].id && !ranks_before(b.data[i], a.data[i]);
                CHECK_MESSAGE(same, "size ", size, " pattern ", pattern, " n ", n);
            }
        }
    }
}

TEST_CASE("fill_top equals fill, an allowed-set filter and top-k, entry for entry") {
    std::mt19937 rng(12);
    for (size_t size : {5u, 64u, 1000u, 32000u}) {
        std::vector<float> logits(size);
        for (auto& l : logits) l = (rng() % 11 == 0) ? std::numeric_limits<float>::quiet_NaN() : float(rng() % 50) / 4;
        for (int density : {0, 1, 2, 50, 100}) {  // percent of tokens allowed; -1 no filter
            std::vector<uint64_t> bits((size + 63) / 64, 0);
            for (size_t i = 0; i < size; ++i)
                if (int(rng() % 100) < density) bits[i >> 6] |= uint64_t(1) << (i & 63);
            for (size_t k : {size_t(1), size_t(3), size_t(40), size / 3, size, size * 2}) {
                for (bool filter : {false, true}) {
                    candidate_set a, b;
                    a.fill_top(logits, k, filter ? bits.data() : nullptr);
                    b.fill(logits);
                    if (filter) {
                        size_t w = 0;
                        for (size_t i = 0; i < b.size; ++i)
                            if ((bits[size_t(b.data[i].id) >> 6] >> (b.data[i].id & 63)) & 1) b.data[w++] = b.data[i];
                        if (w != b.size) b.identity = false;
                        b.size = w;
                    }
                    auto top = stages::top_k(int32_t(k));
                    sampler_rng r;
                    top->apply(b, r);
                    REQUIRE(a.size == b.size);
                    CHECK(a.identity == b.identity);
                    CHECK(a.sorted == b.sorted);
                    bool same = true;
                    for (size_t i = 0; i < a.size; ++i)
                        same = same && a.data[i].id == b.data[i].id &&
                               (a.data[i].logit == b.data[i].logit || (std::isinf(a.data[i].logit) && std::isinf(b.data[i].logit)));
                    CHECK_MESSAGE(same, "size ", size, " density ", density, " k ", k, " filter ", filter);
                }
            }
        }
    }
}

TEST_CASE("a chain that folds an allowed-set stage and top-k into loading draws the same tokens") {
    // One filter (every `mod`-th id), checked first, in three guises: only through apply() and
    // with a top-k / greedy that hides its fast path (the reference); offering its set at once;
    // offering it only when asked to compute (the chain then tries likely tokens first).
    enum class offer { never, always, on_demand };
    struct every_nth final : sampler_stage {
        offer mode;
        size_t mod;
        std::vector<uint64_t> bits;
        every_nth(offer o, size_t m, size_t n) : mode(o), mod(m), bits((n + 63) / 64) {
            for (size_t i = 0; i < n; i += m) bits[i >> 6] |= uint64_t(1) << (i & 63);
        }
        std::string name() const override { return "every nth"; }
        void apply(candidate_set& c, sampler_rng&) override {
            size_t w = 0;
            for (size_t i = 0; i < c.size; ++i)
                if (size_t(c.data[i].id) % mod == 0) c.data[w++] = c.data[i];
            if (w != c.size) c.identity = false;
            c.size = w;
        }
        bool checks_first() const noexcept override { return true; }
        bool allows(token_id id) override { return size_t(id) % mod == 0; }
        const std::vector<uint64_t>* allowed_set(bool compute) override {
            return mode == offer::always || (mode == offer::on_demand && compute) ? &bits : nullptr;
        }
    };
    struct opaque final : sampler_stage {  // the same stage without keeps_top()
        std::unique_ptr<sampler_stage> inner;
        explicit opaque(std::unique_ptr<sampler_stage> s) : inner(std::move(s)) {}
        std::string name() const override { return inner->name(); }
        void apply(candidate_set& c, sampler_rng& r) override { inner->apply(c, r); }
        bool selects() const noexcept override { return inner->selects(); }
        bool uses_rng() const noexcept override { return inner->uses_rng(); }
    };
    const size_t n = 5000;
    std::mt19937 rng(5);
    std::vector<std::vector<float>> rows(50, std::vector<float>(n));
    for (auto& r : rows)
        for (auto& l : r) l = std::normal_distribution<float>(0, 3)(rng);
    for (size_t mod : {size_t(3), size_t(97)}) {  // 97: too few allowed among the likely tokens
        for (int top_k : {0, 40, 4000, -1}) {  // -1: greedy
            CAPTURE(mod);
            CAPTURE(top_k);
            auto build = [&](offer o) {
                sampler s(99);
                const auto wrap = [&](std::unique_ptr<sampler_stage> st) -> std::unique_ptr<sampler_stage> {
                    if (o == offer::never) return std::make_unique<opaque>(std::move(st));
                    return st;
                };
                s.add(std::make_unique<every_nth>(o, mod, n));
                if (top_k < 0) return std::move(s.add(wrap(stages::greedy())));
                if (top_k) s.add(wrap(stages::top_k(top_k)));
                s.add(stages::top_p(0.95f)).add(stages::min_p(0.05f)).add(stages::temperature(0.8f));
                return s;
            };
            sampler ref = build(offer::never), fast = build(offer::always), lazy = build(offer::on_demand);
            for (const auto& r : rows) {
                const token_id a = ref.sample(r), b = fast.sample(r), c = lazy.sample(r);
                CHECK(a == b);
                CHECK(a == c);
                CHECK(size_t(a) % mod == 0);
            }
        }
    }
}

TEST_CASE("top-p keeps the token that crosses p") {
    auto p = plain(22);
    p.top_p = 0.85f;
    auto s = sampler::from_params(p);
    const auto l = as_double(logits16);
    const auto keep = keep_top_p(l, all_kept(16), 0.85);
    CHECK(std::count(keep.begin(), keep.end(), true) == 6);  // 5 tokens hold 0.819, the 6th crosses
    check_distribution("top-p 0.85", s, logits16, softmax_over(l, keep));
}

TEST_CASE("top-p over larger vocabularies, where the kept set is found by selection") {
    std::mt19937_64 g(9);
    for (size_t n : {600, 3000}) {
        const auto l = zipf_logits(g, n);
        for (float top_p : {0.5f, 0.8f, 0.97f}) {
            auto p = plain(26);
            p.top_p = top_p;
            auto s = sampler::from_params(p);
            const auto keep = keep_top_p(as_double(l), all_kept(n), top_p);
            const std::string what = "top-p " + std::to_string(top_p) + " over " + std::to_string(n) + " tokens, " +
                                     std::to_string(std::count(keep.begin(), keep.end(), true)) + " kept";
            check_distribution(what.c_str(), s, l, softmax_over(as_double(l), keep));
            CHECK(s.candidates().size == size_t(std::count(keep.begin(), keep.end(), true)));
        }
    }
}

TEST_CASE("min-p is relative to the most likely token") {
    auto p = plain(23);
    p.min_p = 0.1f;
    auto s = sampler::from_params(p);
    const auto l = as_double(logits16);
    const auto keep = keep_min_p(l, all_kept(16), 0.1);
    CHECK(std::count(keep.begin(), keep.end(), true) == 7);
    check_distribution("min-p 0.1", s, logits16, softmax_over(l, keep));
}

TEST_CASE("typical-p keeps the tokens whose surprise is closest to the entropy") {
    auto p = plain(24);
    p.typical_p = 0.45f;
    auto s = sampler::from_params(p);
    const auto l = as_double(logits16);
    const auto keep = keep_typical(l, all_kept(16), 0.45);
    CHECK_FALSE(keep[8]);  // the most likely token is not typical here
    CHECK(std::count(keep.begin(), keep.end(), true) == 4);
    check_distribution("typical-p 0.45", s, logits16, softmax_over(l, keep));
}

TEST_CASE("the full chain applies top-k, typical, top-p, min-p, temperature in that order") {
    auto p = plain(25);
    p.top_k = 12;
    p.typical_p = 0.97f;
    p.top_p = 0.9f;
    p.min_p = 0.12f;
    p.temp = 0.7f;
    auto s = sampler::from_params(p);
    const auto l = as_double(logits16);
    auto keep = keep_top_k(l, all_kept(16), 12);
    keep = keep_typical(l, keep, 0.97);
    keep = keep_top_p(l, keep, 0.9);
    keep = keep_min_p(l, keep, 0.12);
    check_distribution("full chain", s, logits16, softmax_over(l, keep, 0.7));
}

TEST_CASE("repeat, frequency and presence penalties over the last n tokens") {
    auto p = plain(31);
    p.repeat_last_n = 6;
    p.repeat_penalty = 1.5f;
    p.frequency_penalty = 0.3f;
    p.presence_penalty = 0.4f;
    auto s = sampler::from_params(p);
    const std::vector<token_id> history = {9, 3, 3, 5, 7, 3, 8, 8};
    for (token_id t : history) s.accept(t);

    // By hand: the window is the last 6 tokens.
    auto l = as_double(logits16);
    std::map<size_t, int> count;
    for (size_t i = history.size() - 6; i < history.size(); ++i) ++count[size_t(history[i])];
    CHECK(count.count(9) == 0);
    for (auto [id, n] : count) {
        double x = l[id];
        x = x > 0 ? x / 1.5 : x * 1.5;
        l[id] = x - n * 0.3 - 0.4;
    }
    check_distribution("penalties", s, logits16, softmax_over(l, all_kept(16)));

    // reset() forgets the history.
    s.reset();
    check_distribution("penalties after reset", s, logits16, softmax_over(as_double(logits16), all_kept(16)));
}

TEST_CASE("penalties with an unbounded window count every accepted token") {
    auto p = plain(32);
    p.repeat_last_n = -1;
    p.frequency_penalty = 0.5f;
    auto s = sampler::from_params(p);
    for (int i = 0; i < 3; ++i) s.accept(8);
    for (int i = 0; i < 100; ++i) s.accept(1);
    auto l = as_double(logits16);
    l[8] -= 1.5;
    l[1] -= 50;
    check_distribution("frequency, all history", s, logits16, softmax_over(l, all_kept(16)));
}

TEST_CASE("logit bias adds to logits and -inf bans") {
    auto p = plain(41);
    p.logit_bias = {{2, -INFINITY}, {5, 3.0f}, {0, -1.0f}, {0, 0.5f}};
    auto s = sampler::from_params(p, 16);
    auto l = as_double(logits16);
    l[2] = -inf;
    l[5] += 3.0;
    l[0] -= 0.5;
    check_distribution("logit bias", s, logits16, softmax_over(l, all_kept(16)));
}

// Replays mirostat with an independent oracle: the test keeps its own mu, truncates and
// renormalises the step's softmax, checks the drawn token is in the kept set and measures its
// surprise there (mirostat's observed surprise) and under the full softmax (raw surprise).
struct mirostat_run {
    double mean_observed = 0;  // bits, under the truncated distribution the token came from
    double mean_raw = 0;       // bits, under the full softmax of the step's logits
};
mirostat_run run_mirostat_v2(float tau, float eta, uint64_t seed, uint64_t data_seed, int n) {
    auto p = plain(seed);
    p.mirostat = 2;
    p.mirostat_tau = tau;
    p.mirostat_eta = eta;
    p.logprobs = true;
    p.logprobs_after_transforms = true;
    auto s = sampler::from_params(p);
    std::mt19937_64 g(data_seed);
    double mu = 2.0 * tau;
    mirostat_run r;
    for (int i = 0; i < n; ++i) {
        const auto l = zipf_logits(g, 1000);
        const auto prob = softmax_over(as_double(l), all_kept(l.size()));
        std::vector<bool> keep(l.size());
        for (size_t j = 0; j < l.size(); ++j) keep[j] = -std::log2(prob[j]) <= mu;
        if (std::count(keep.begin(), keep.end(), true) == 0)
            keep[size_t(std::max_element(prob.begin(), prob.end()) - prob.begin())] = true;
        const auto kept = softmax_over(as_double(l), keep);
        const token_id t = s.sample(l);
        s.accept(t);
        REQUIRE(keep[size_t(t)]);
        const double observed = -std::log2(kept[size_t(t)]);
        CHECK(-s.last_logprobs().logprob / std::log(2.0) == doctest::Approx(observed).epsilon(1e-4));
        mu -= eta * (observed - tau);
        r.mean_observed += observed / n;
        r.mean_raw += -std::log2(prob[size_t(t)]) / n;
    }
    return r;
}

TEST_CASE("mirostat v2 holds the mean surprise near tau") {
    for (float tau : {3.0f, 4.0f, 5.0f}) {
        const auto r = run_mirostat_v2(tau, 0.1f, 51, 777, 500);
        MESSAGE("mirostat v2 tau " << tau << ": mean observed surprise " << r.mean_observed
                                   << " bits, under the untruncated softmax " << r.mean_raw << " bits");
        CHECK(std::abs(r.mean_observed - tau) < 0.1 * tau);
    }
    // At the default tau the surprise under the full softmax is close to tau as well; at small
    // tau it is not, since truncation concentrates the mass on few tokens.
    const auto r = run_mirostat_v2(5.0f, 0.1f, 53, 779, 500);
    MESSAGE("mirostat v2 tau 5 (second data set): observed " << r.mean_observed << ", raw " << r.mean_raw);
    CHECK(std::abs(r.mean_raw - 5.0) < 0.5);
}

TEST_CASE("mirostat v1 holds the mean surprise near tau") {
    auto p = plain(52);
    p.mirostat = 1;
    p.mirostat_tau = 5;
    p.logprobs = true;
    p.logprobs_after_transforms = true;
    auto s = sampler::from_params(p);
    std::mt19937_64 g(778);
    double sum = 0;
    const int n = 500;
    for (int i = 0; i < n; ++i) {
        const auto l = zipf_logits(g, 1000);
        s.accept(s.sample(l));
        sum += -s.last_logprobs().logprob / std::log(2.0);
    }
    MESSAGE("mirostat v1 tau 5: mean observed surprise " << sum / n << " bits");
    CHECK(std::abs(sum / n - 5) < 0.5);
}

TEST_CASE("temperature <= 0 is greedy with ties to the lowest id, whatever else is set") {
    std::vector<float> l = logits16;
    l[3] = 5.0f;
    l[9] = 5.0f;  // tie for the maximum: id 3 must win
    for (float temp : {0.0f, -1.0f}) {
        for (uint64_t seed : {1ull, 2ull, 99ull}) {
            sampler_params p;
            p.seed = seed;
            p.temp = temp;
            p.top_k = 2;
            p.top_p = 0.3f;
            p.min_p = 0.5f;
            p.typical_p = 0.2f;  // would drop the argmax if it ran
            for (int mirostat : {0, 1, 2}) {
                p.mirostat = mirostat;
                auto s = sampler::from_params(p);
                for (int i = 0; i < 50; ++i) REQUIRE(s.sample(l) == 3);
            }
        }
    }
    // A temperature-0 stage in a hand-built chain behaves the same.
    sampler s(5);
    s.add(stages::top_k(3)).add(stages::temperature(0));
    for (int i = 0; i < 20; ++i) CHECK(s.sample(l) == 3);
    // Logit bias and penalties still shape what greedy sees.
    sampler_params p;
    p.temp = 0;
    p.logit_bias = {{3, -INFINITY}};
    auto biased = sampler::from_params(p);
    CHECK(biased.sample(l) == 9);
    p.logit_bias.clear();
    p.repeat_penalty = 2;
    auto penalised = sampler::from_params(p);
    penalised.accept(3);
    CHECK(penalised.sample(l) == 9);
    penalised.reset();
    CHECK(penalised.sample(l) == 3);
}

TEST_CASE("the same seed gives the same tokens; a different seed does not") {
    sampler_params p;  // llama.cpp's defaults
    p.seed = 2024;
    const std::mt19937_64 g(31337);
    auto a = sampler::from_params(p);
    auto b = sampler::from_params(p);
    const auto ta = run(a, g, 300, 1000);
    CHECK(ta == run(b, g, 300, 1000));
    // On other threads, concurrently.
    std::vector<token_id> t1, t2;
    std::thread th1([&] { auto s = sampler::from_params(p); t1 = run(s, g, 300, 1000); });
    std::thread th2([&] { auto s = sampler::from_params(p); t2 = run(s, g, 300, 1000); });
    th1.join();
    th2.join();
    CHECK(t1 == ta);
    CHECK(t2 == ta);
    // reset() replays the sequence.
    a.reset();
    CHECK(run(a, g, 300, 1000) == ta);
    // A different seed.
    p.seed = 2025;
    auto c = sampler::from_params(p);
    const auto tc = run(c, g, 300, 1000);
    CHECK(tc != ta);
    size_t same = 0;
    for (size_t i = 0; i < ta.size(); ++i) same += ta[i] == tc[i];
    CHECK(same < ta.size() / 2);
    // A random seed is reported and replays.
    p.seed = sampler_params::random_seed;
    auto r = sampler::from_params(p);
    CHECK(r.seed() != sampler_params::random_seed);
    const auto tr = run(r, g, 100, 1000);
    p.seed = r.seed();
    auto r2 = sampler::from_params(p);
    CHECK(run(r2, g, 100, 1000) == tr);
}

TEST_CASE("draws are stable across builds: a fixed seed gives fixed tokens") {
    // The draw rule written out independently: one uniform per token, inverse CDF in id order.
    sampler s(42);
    std::vector<token_id> got;
    for (int i = 0; i < 12; ++i) got.push_back(s.sample(logits16));
    sampler_rng r(42);
    std::vector<token_id> want;
    const auto pr = softmax_over(as_double(logits16), all_kept(16));
    for (int i = 0; i < 12; ++i) {
        // Inverse CDF in id order: the draw rule written out independently.
        const double u = r.uniform();
        double cum = 0;
        size_t t = 0;
        while (t + 1 < pr.size() && cum + pr[t] <= u) cum += pr[t++];
        want.push_back(token_id(t));
    }
    CHECK(got == want);
}

TEST_CASE("log-probabilities before the transforms are the raw log-softmax") {
    auto p = plain(61);
    p.top_k = 2;
    p.temp = 0.5f;
    p.n_logprobs = 5;
    auto s = sampler::from_params(p);
    const auto l = as_double(logits16);
    const double m = *std::max_element(l.begin(), l.end());
    double z = 0;
    for (double x : l) z += std::exp(x - m);
    const auto logsm = [&](size_t i) { return l[i] - m - std::log(z); };
    double h = 0;
    for (size_t i = 0; i < l.size(); ++i) h -= std::exp(logsm(i)) * logsm(i);
    const auto order = ranked(l, all_kept(16));
    for (int i = 0; i < 20; ++i) {
        const token_id t = s.sample(logits16);
        const auto& lp = s.last_logprobs();
        CHECK(lp.token == t);
        CHECK(lp.logprob == doctest::Approx(logsm(size_t(t))).epsilon(1e-6));
        CHECK(lp.entropy == doctest::Approx(h).epsilon(1e-6));
        REQUIRE(lp.top.size() == 5);
        for (size_t r = 0; r < 5; ++r) {
            CHECK(lp.top[r].first == token_id(order[r]));
            CHECK(lp.top[r].second == doctest::Approx(logsm(order[r])).epsilon(1e-6));
        }
    }
    CHECK(h > std::log(2.0));
}

TEST_CASE("log-probabilities after the transforms describe the final distribution") {
    auto p = plain(62);
    p.top_k = 2;
    p.n_logprobs = 5;
    p.logprobs_after_transforms = true;
    auto s = sampler::from_params(p);
    // By hand: tokens 8 and 2 remain.
    const double a = 3.4, b = 2.9, lz = std::log(std::exp(a) + std::exp(b));
    const double h = -(std::exp(a - lz) * (a - lz) + std::exp(b - lz) * (b - lz));
    for (int i = 0; i < 20; ++i) {
        const token_id t = s.sample(logits16);
        const auto& lp = s.last_logprobs();
        REQUIRE((t == 8 || t == 2));
        CHECK(lp.logprob == doctest::Approx((t == 8 ? a : b) - lz).epsilon(1e-6));
        CHECK(lp.entropy == doctest::Approx(h).epsilon(1e-6));
        CHECK(lp.entropy <= std::log(2.0) + 1e-7);
        REQUIRE(lp.top.size() == 2);
        CHECK(lp.top[0].first == 8);
        CHECK(lp.top[0].second == doctest::Approx(a - lz).epsilon(1e-6));
        CHECK(lp.top[1].first == 2);
        CHECK(lp.top[1].second == doctest::Approx(b - lz).epsilon(1e-6));
    }

    // Temperature is part of the final distribution.
    p.top_k = 0;
    p.temp = 0.5f;
    auto st = sampler::from_params(p);
    const token_id t = st.sample(logits16);
    const auto l = softmax_over(as_double(logits16), all_kept(16), 0.5);
    CHECK(st.last_logprobs().logprob == doctest::Approx(std::log(l[size_t(t)])).epsilon(1e-5));

    // Greedy leaves a certain distribution.
    p.temp = 0;
    auto sg = sampler::from_params(p);
    CHECK(sg.sample(logits16) == 8);
    CHECK(sg.last_logprobs().logprob == 0.0f);
    CHECK(sg.last_logprobs().entropy == 0.0f);
    REQUIRE(sg.last_logprobs().top.size() == 1);
}

TEST_CASE("a 32000-token vocabulary: top-k and the long top-p path") {
    std::mt19937_64 g(5);
    std::vector<float> l(32000);
    for (auto& x : l) x = float(double(g() >> 11) * 0x1p-53 * 4);
    std::vector<size_t> order(l.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l[a] > l[b]; });

    auto p = plain(71);
    p.top_k = 40;
    auto s = sampler::from_params(p, 32000);
    std::vector<bool> top40(l.size(), false);
    for (size_t r = 0; r < 40; ++r) top40[order[r]] = true;
    for (int i = 0; i < 200; ++i) REQUIRE(top40[size_t(s.sample(l))]);
    CHECK(s.candidates().size == 40);

    // Nearly flat logits: top-p 0.95 needs far more than the first 256 tokens.
    p.top_k = 0;
    p.top_p = 0.95f;
    auto sp = sampler::from_params(p, 32000);
    const auto keep = keep_top_p(as_double(l), all_kept(l.size()), 0.95);
    const auto n_keep = size_t(std::count(keep.begin(), keep.end(), true));
    CHECK(n_keep > 10000);
    for (int i = 0; i < 50; ++i) REQUIRE(keep[size_t(sp.sample(l))]);
    CHECK(sp.candidates().size == n_keep);
}

TEST_CASE("NaN and -inf logits are never drawn; nothing drawable is an error") {
    std::vector<float> l = logits16;
    l[8] = NAN;
    l[2] = -INFINITY;
    sampler s(3);
    for (int i = 0; i < 2000; ++i) {
        const token_id t = s.sample(l);
        REQUIRE(t != 8);
        REQUIRE(t != 2);
    }
    std::vector<float> none(8, -INFINITY);
    none[3] = NAN;
    sampler d(3);
    check_invalid([&] { d.sample(none); }, "nothing can be sampled");
    sampler_params p;
    p.temp = 0;
    auto g = sampler::from_params(p);
    check_invalid([&] { g.sample(none); }, "nothing can be sampled");
    // +inf shares all the mass.
    std::vector<float> pinf = logits16;
    pinf[4] = INFINITY;
    pinf[6] = INFINITY;
    for (int i = 0; i < 200; ++i) {
        const token_id t = s.sample(pinf);
        REQUIRE((t == 4 || t == 6));
    }
}

TEST_CASE("describe() prints the chain") {
    sampler_params p;
    p.seed = 7;
    CHECK(sampler::from_params(p).describe() == "top-k 40 -> top-p 0.95 -> min-p 0.05 -> temp 0.8 -> dist(seed 7)");
    p.logit_bias = {{1, 2.0f}};
    p.repeat_penalty = 1.1f;
    p.typical_p = 0.9f;
    CHECK(sampler::from_params(p).describe() ==
          "logit-bias(1 token) -> penalties(last 64, repeat 1.1, frequency 0, presence 0) -> top-k 40 -> "
          "typical-p 0.9 -> top-p 0.95 -> min-p 0.05 -> temp 0.8 -> dist(seed 7)");
    p = {};
    p.seed = 7;
    p.mirostat = 2;
    CHECK(sampler::from_params(p).describe() == "temp 0.8 -> mirostat-v2(tau 5, eta 0.1, seed 7)");
    p.temp = 0;
    CHECK(sampler::from_params(p).describe() == "greedy");
    CHECK(sampler(9).describe() == "dist(seed 9)");
}

TEST_CASE("invalid parameters are rejected by name") {
    const auto with = [](auto&& change) {
        sampler_params p;
        change(p);
        return p;
    };
    const auto reject = [&](const sampler_params& p, const std::string& name, int64_t n_vocab = 0) {
        check_invalid([&] { sampler::from_params(p, n_vocab); }, name);
    };
    reject(with([](auto& p) { p.top_k = -1; }), "top_k");
    reject(with([](auto& p) { p.top_p = 0; }), "top_p");
    reject(with([](auto& p) { p.top_p = 1.01f; }), "top_p");
    reject(with([](auto& p) { p.top_p = NAN; }), "top_p");
    reject(with([](auto& p) { p.min_p = -0.1f; }), "min_p");
    reject(with([](auto& p) { p.min_p = 1.5f; }), "min_p");
    reject(with([](auto& p) { p.typical_p = 0; }), "typical_p");
    reject(with([](auto& p) { p.typical_p = NAN; }), "typical_p");
    reject(with([](auto& p) { p.temp = NAN; }), "temp");
    reject(with([](auto& p) { p.temp = INFINITY; }), "temp");
    reject(with([](auto& p) { p.repeat_penalty = 0; }), "repeat_penalty");
    reject(with([](auto& p) { p.repeat_penalty = NAN; }), "repeat_penalty");
    reject(with([](auto& p) { p.repeat_last_n = -2; }), "repeat_last_n");
    reject(with([](auto& p) { p.frequency_penalty = NAN; }), "frequency_penalty");
    reject(with([](auto& p) { p.presence_penalty = INFINITY; }), "presence_penalty");
    reject(with([](auto& p) { p.mirostat = 3; }), "mirostat");
    reject(with([](auto& p) { p.mirostat_tau = 0; }), "mirostat_tau");
    reject(with([](auto& p) { p.mirostat_eta = NAN; }), "mirostat_eta");
    reject(with([](auto& p) { p.min_keep = -1; }), "min_keep");
    reject(with([](auto& p) { p.n_logprobs = -1; }), "n_logprobs");
    reject(with([](auto& p) { p.logit_bias = {{-1, 1.0f}}; }), "logit_bias");
    reject(with([](auto& p) { p.logit_bias = {{3, NAN}}; }), "logit_bias");
    reject(with([](auto& p) { p.logit_bias = {{16, 1.0f}}; }), "logit_bias", 16);
    CHECK_NOTHROW(sampler::from_params(with([](auto& p) { p.logit_bias = {{15, 1.0f}}; }), 16));

    // Checks that need the logits.
    auto s = sampler::from_params(with([](auto& p) { p.logit_bias = {{16, 1.0f}}; }));
    check_invalid([&] { s.sample(logits16); }, "logit_bias");
    sampler v(1);
    check_invalid([&] { v.sample({}); }, "empty");
    v.sample(logits16);
    check_invalid([&] { v.sample(std::vector<float>(17, 0.0f)); }, "vocabulary");
    check_invalid([&] { v.accept(16); }, "accept");
    check_invalid([&] { v.accept(-1); }, "accept");
    check_invalid([&] { v.add(nullptr); }, "null");
    sampler w(1);
    w.add(stages::greedy());
    check_invalid([&] { w.add(stages::top_k(3)); }, "top-k 3");
    check_invalid([&] { stages::top_p(2.0f); }, "top_p");
    check_invalid([&] { stages::mirostat(5, 0.1f, 1); }, "mirostat");
}

TEST_CASE("parse_logit_bias") {
    CHECK(parse_logit_bias("15043+1.5") == token_bias{15043, 1.5f});
    CHECK(parse_logit_bias("15043-1") == token_bias{15043, -1.0f});
    CHECK(parse_logit_bias("0+0") == token_bias{0, 0.0f});
    CHECK(parse_logit_bias("7-0.25") == token_bias{7, -0.25f});
    CHECK(parse_logit_bias("7+2e1") == token_bias{7, 20.0f});
    const auto ban = parse_logit_bias("15043-inf");
    CHECK(ban.token == 15043);
    CHECK(ban.bias == -INFINITY);
    CHECK(parse_logit_bias("2+inf").bias == INFINITY);
    for (const char* bad : {"", "abc", "15043", "15043+", "15043*2", "-5+1", "+5+1", "15043+nan", "15043+1.5x",
                            "15043++1", "15043+-1", " 15043+1", "15043 +1", "99999999999+1", "15043+1e99"}) {
        CAPTURE(bad);
        check_invalid([&] { parse_logit_bias(bad); }, "--logit-bias");
    }
}

}
