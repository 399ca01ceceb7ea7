// The sampler stages. Each one mirrors the llama.cpp sampler of the same name (see
// include/ember/sampler.hpp for the semantics); every ordering is the total order
// ranks_before() or extends it, so results never depend on how a standard library sorts ties.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sampling/sampler_internal.hpp"
#include "core/util.hpp"

namespace ember {

using detail::fail;

namespace {

constexpr float neg_inf = -std::numeric_limits<float>::infinity();

bool is_finite(float x) { return std::isfinite(x); }

// --- logit bias ---------------------------------------------------------------------------

class logit_bias_stage final : public sampler_stage {
public:
    explicit logit_bias_stage(std::vector<token_bias> biases) : biases_(std::move(biases)) {
        for (const auto& b : biases_) {
            if (b.token < 0) fail(errc::invalid_argument, "logit_bias: token id {} is negative", b.token);
            if (std::isnan(b.bias)) fail(errc::invalid_argument, "logit_bias: bias of token {} is NaN", b.token);
        }
    }
    std::string name() const override { return fmt::format("logit-bias({} token{})", biases_.size(), biases_.size() == 1 ? "" : "s"); }

    void apply(candidate_set& c, sampler_rng&) override {
        for (const auto& b : biases_) {
            if (b.token >= c.n_vocab) {
                fail(errc::invalid_argument, "logit_bias: token id {} is outside the vocabulary ({} tokens)",
                     b.token, c.n_vocab);
            }
            token_candidate* t = nullptr;
            if (c.identity) {
                t = &c.data[size_t(b.token)];
            } else {
                for (auto& x : c.live()) {
                    if (x.id == b.token) { t = &x; break; }
                }
            }
            if (!t) continue;  // already removed by an earlier stage
            t->logit += b.bias;
            if (std::isnan(t->logit)) t->logit = neg_inf;  // -inf + inf: banning wins
            c.sorted = false;
        }
    }

private:
    std::vector<token_bias> biases_;
};

// --- repeat / frequency / presence penalties ------------------------------------------------

class penalties_stage final : public sampler_stage {
public:
    penalties_stage(int32_t last_n, float repeat, float frequency, float presence)
        : last_n_(last_n), repeat_(repeat), frequency_(frequency), presence_(presence) {
        if (last_n < -1) fail(errc::invalid_argument, "repeat_last_n = {} must be -1, 0 or positive", last_n);
        if (!(is_finite(repeat) && repeat > 0))
            fail(errc::invalid_argument, "repeat_penalty = {} must be a positive finite number", repeat);
        if (!is_finite(frequency)) fail(errc::invalid_argument, "frequency_penalty = {} must be finite", frequency);
        if (!is_finite(presence)) fail(errc::invalid_argument, "presence_penalty = {} must be finite", presence);
        if (last_n_ > 0) history_.reserve(size_t(last_n_));
    }
    std::string name() const override {
        const std::string window = last_n_ < 0 ? "all" : fmt::format("last {}", last_n_);
        return fmt::format("penalties({}, repeat {}, frequency {}, presence {})", window, repeat_, frequency_,
                           presence_);
    }

    void apply(candidate_set& c, sampler_rng&) override {
        if (counts_.empty()) return;
        if (c.identity) {
            for (const auto& [id, n] : counts_) {
                if (id < int64_t(c.size)) penalize(c.data[size_t(id)], n);
            }
        } else {
            for (auto& x : c.live()) {
                if (auto it = counts_.find(x.id); it != counts_.end()) penalize(x, it->second);
            }
        }
        c.sorted = false;
    }

    void accept(token_id t) override {
        if (last_n_ == 0) return;
        ++counts_[t];
        if (last_n_ < 0) return;
        if (history_.size() < size_t(last_n_)) {
            history_.push_back(t);
            return;
        }
        // The ring is full: the oldest token (at head_) leaves the window.
        const token_id old = history_[head_];
        if (--counts_[old] == 0) counts_.erase(old);
        history_[head_] = t;
        head_ = (head_ + 1) % history_.size();
    }

    void reset() override {
        history_.clear();
        head_ = 0;
        counts_.clear();
    }

private:
    void penalize(token_candidate& x, int n) const {
        // Dividing a negative logit would make the token more likely, hence the sign split.
        x.logit = x.logit <= 0 ? x.logit * repeat_ : x.logit / repeat_;
        x.logit -= float(n) * frequency_ + presence_;
    }

    int32_t last_n_;
    float repeat_, frequency_, presence_;
    std::vector<token_id> history_;  // (min(accepted, last_n)) ring buffer, oldest at head_
    size_t head_ = 0;
    std::unordered_map<token_id, int> counts_;  // occurrences inside the window
};

// --- truncation -----------------------------------------------------------------------------

class top_k_stage final : public sampler_stage {
public:
    explicit top_k_stage(int32_t k) : k_(k) {
        if (k < 0) fail(errc::invalid_argument, "top_k = {} must be 0 (disabled) or positive", k);
    }
    std::string name() const override { return fmt::format("top-k {}", k_); }

    size_t keeps_top() const noexcept override { return size_t(k_); }
    void apply(candidate_set& c, sampler_rng&) override {
        if (k_ == 0 || size_t(k_) >= c.size) return;
        c.keep_top(size_t(k_));
    }

private:
    int32_t k_;
};

class top_p_stage final : public sampler_stage {
public:
    top_p_stage(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {
        if (!(p > 0 && p <= 1)) fail(errc::invalid_argument, "top_p = {} is outside (0, 1]", p);
    }
    std::string name() const override { return fmt::format("top-p {}", p_); }

    void apply(candidate_set& c, sampler_rng&) override {
        if (p_ >= 1 || c.size <= 1) return;
        c.softmax();
        const size_t min_keep = std::min(min_keep_, c.size);
        if (c.sorted) {
            c.truncate(std::max(crossing(c, 0, c.size, p_), min_keep));
            return;
        }
        size_t keep = select_mass(c);
        const auto at = [&](size_t i) { return c.data.begin() + ptrdiff_t(i); };
        if (keep < min_keep) {
            std::nth_element(at(0), at(min_keep), at(c.size), rank_order{});
            keep = min_keep;
        }
        // Selection left [0, keep) in an order that depends on the standard library; draws walk
        // the candidates in order, so give them a canonical one before anything is drawn.
        if (keep <= 1024) {
            std::sort(at(0), at(keep), rank_order{});
            c.truncate(keep);
            c.sorted = true;
        } else {
            order_by_id(c, keep);
            c.truncate(keep);
        }
        c.identity = false;
    }

private:
    // End of the shortest run of [lo, hi) (in ranking order, already in place) whose mass
    // reaches target; hi when it never does. The token that crosses the target is kept.
    static size_t crossing(const candidate_set& c, size_t lo, size_t hi, double target) {
        double cum = 0;
        for (size_t i = lo; i < hi; ++i) {
            cum += double(c.data[i].p);
            if (cum >= target) return i + 1;
        }
        return hi;
    }

    // Moves the fewest best tokens whose mass reaches p to the front, in expected linear time:
    // select a block of the best remaining tokens; if it holds the missing mass, narrow to it,
    // otherwise take it whole and continue below it. The first block is small because the
    // mass usually sits in a few hundred tokens.
    size_t select_mass(candidate_set& c) const {
        const auto at = [&](size_t i) { return c.data.begin() + ptrdiff_t(i); };
        size_t lo = 0, hi = c.size, block = 256;
        double target = p_;
        while (hi - lo > 256) {
            const size_t mid = lo + std::min(block, (hi - lo) / 2);
            block = hi;
            std::nth_element(at(lo), at(mid), at(hi), rank_order{});
            double mass = 0;
            for (size_t i = lo; i < mid; ++i) mass += double(c.data[i].p);
            if (mass >= target) {
                hi = mid;
            } else {
                target -= mass;
                lo = mid;
            }
        }
        std::sort(at(lo), at(hi), rank_order{});
        return crossing(c, lo, hi, target);
    }

    // Rearranges the first n live entries in ascending id order, in O(n_vocab).
    void order_by_id(candidate_set& c, size_t n) {
        by_id_.assign(size_t(c.n_vocab), token_candidate{-1, 0.0f, 0.0f});
        for (size_t i = 0; i < n; ++i) by_id_[size_t(c.data[i].id)] = c.data[i];
        size_t j = 0;
        for (const auto& x : by_id_) {
            if (x.id >= 0) c.data[j++] = x;
        }
    }

    float p_;
    size_t min_keep_;
    std::vector<token_candidate> by_id_;  // (n_vocab) scratch, reused between tokens
};

class min_p_stage final : public sampler_stage {
public:
    min_p_stage(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {
        if (!(p >= 0 && p <= 1)) fail(errc::invalid_argument, "min_p = {} is outside [0, 1]", p);
    }
    std::string name() const override { return fmt::format("min-p {}", p_); }

    void apply(candidate_set& c, sampler_rng&) override {
        if (p_ <= 0 || c.size <= 1) return;
        const float max_logit = c.data[c.sorted ? 0 : c.best()].logit;
        // p_i >= p * p_max  <=>  logit_i >= max_logit + ln p, without computing a softmax.
        const float threshold = max_logit + std::log(p_);
        size_t n = 0;
        for (const auto& x : c.live()) n += x.logit >= threshold;
        if (n >= std::max<size_t>(min_keep_, 1)) {
            size_t j = 0;
            for (size_t i = 0; i < c.size; ++i) {
                if (c.data[i].logit >= threshold) c.data[j++] = c.data[i];
            }
            c.truncate(j);
        } else {
            c.keep_top(min_keep_);
        }
    }

private:
    float p_;
    size_t min_keep_;
};

class typical_p_stage final : public sampler_stage {
public:
    typical_p_stage(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {
        if (!(p > 0 && p <= 1)) fail(errc::invalid_argument, "typical_p = {} is outside (0, 1]", p);
    }
    std::string name() const override { return fmt::format("typical-p {}", p_); }

    void apply(candidate_set& c, sampler_rng&) override {
        if (p_ >= 1 || c.size <= 1) return;
        c.softmax();
        double entropy = 0;
        for (const auto& x : c.live()) {
            if (x.p > 0) entropy -= double(x.p) * std::log(double(x.p));
        }
        // Rank by how far each token's surprise lies from the entropy (the "typical" ones first).
        ranked_.clear();
        for (const auto& x : c.live()) {
            const double score = x.p > 0 ? std::fabs(-std::log(double(x.p)) - entropy)
                                         : std::numeric_limits<double>::infinity();
            ranked_.emplace_back(score, x);
        }
        std::sort(ranked_.begin(), ranked_.end(), [](const auto& a, const auto& b) {
            return a.first < b.first || (a.first == b.first && ranks_before(a.second, b.second));
        });
        double cum = 0;
        size_t keep = ranked_.size();
        for (size_t i = 0; i < ranked_.size(); ++i) {
            cum += ranked_[i].second.p;
            if (cum > p_ && i + 1 >= min_keep_) {
                keep = i + 1;
                break;
            }
        }
        for (size_t i = 0; i < keep; ++i) c.data[i] = ranked_[i].second;
        c.size = keep;
        c.sorted = false;
        c.identity = false;
    }

private:
    float p_;
    size_t min_keep_;
    std::vector<std::pair<double, token_candidate>> ranked_;  // scratch, reused between tokens
};

class temperature_stage final : public sampler_stage {
public:
    explicit temperature_stage(float t) : t_(t) {
        if (!is_finite(t)) fail(errc::invalid_argument, "temp = {} must be a finite number", t);
    }
    std::string name() const override { return t_ > 0 ? fmt::format("temp {}", t_) : "temp 0 (greedy)"; }

    void apply(candidate_set& c, sampler_rng&) override {
        if (t_ <= 0) {
            c.data[0] = c.data[c.best()];
            c.truncate(1);
            c.sorted = true;
            return;
        }
        for (auto& x : c.live()) x.logit /= t_;
        // Scaling up can overflow distinct logits into equal infinities, which reorders ties.
        if (t_ < 1) c.sorted = false;
    }

private:
    float t_;
};

// --- final stages ---------------------------------------------------------------------------

class greedy_stage final : public sampler_stage {
public:
    std::string name() const override { return "greedy"; }
    bool selects() const noexcept override { return true; }
    size_t keeps_top() const noexcept override { return 1; }

    void apply(candidate_set& c, sampler_rng&) override {
        detail::require_drawable(c);
        c.data[0] = c.data[c.best()];
        c.data[0].p = 1.0f;
        c.truncate(1);
        c.sorted = true;
        c.selected = 0;
    }
};

// Both mirostat versions learn mu from the surprise of the token they drew, once that token is
// accepted; accepting some other token (a prompt or forced token) leaves mu alone.
class mirostat_base : public sampler_stage {
public:
    mirostat_base(float tau, float eta) : tau_(tau), eta_(eta), mu_(2 * tau) {
        if (!(is_finite(tau) && tau > 0)) fail(errc::invalid_argument, "mirostat_tau = {} must be positive", tau);
        if (!(is_finite(eta) && eta >= 0)) fail(errc::invalid_argument, "mirostat_eta = {} must be >= 0", eta);
    }
    bool selects() const noexcept override { return true; }
    bool uses_rng() const noexcept override { return true; }

    void accept(token_id t) override {
        if (pending_ && t == drawn_) mu_ -= eta_ * (surprise_ - tau_);
        pending_ = false;
    }
    void reset() override {
        mu_ = 2 * tau_;
        pending_ = false;
    }
    float mu() const noexcept { return mu_; }

protected:
    // Draws from the live candidates (already truncated) and remembers the surprise.
    void draw(candidate_set& c, sampler_rng& rng) {
        c.softmax();
        const size_t i = detail::draw_index(c, rng);
        c.selected = int64_t(i);
        drawn_ = c.data[i].id;
        surprise_ = -std::log2(double(c.data[i].p));
        pending_ = true;
    }

    float tau_, eta_;
    double mu_;  // maximum surprise (bits) a token may have and still be kept

private:
    token_id drawn_ = -1;
    double surprise_ = 0;
    bool pending_ = false;
};

class mirostat_v2_stage final : public mirostat_base {
public:
    using mirostat_base::mirostat_base;
    std::string name() const override { return fmt::format("mirostat-v2(tau {}, eta {})", tau_, eta_); }

    void apply(candidate_set& c, sampler_rng& rng) override {
        detail::require_drawable(c);
        c.softmax();
        // Surprise -log2 p <= mu  <=>  p >= 2^-mu: one exp2 instead of a log per token.
        const double p_min = std::exp2(-mu_);
        size_t j = 0;
        for (size_t i = 0; i < c.size; ++i) {
            if (c.data[i].p > 0 && double(c.data[i].p) >= p_min) c.data[j++] = c.data[i];
        }
        if (j == 0) {  // even the best token is too surprising: keep it alone
            c.data[0] = c.data[c.best()];
            j = 1;
        }
        c.truncate(j);
        draw(c, rng);
    }
};

class mirostat_v1_stage final : public mirostat_base {
public:
    mirostat_v1_stage(float tau, float eta, int32_t m) : mirostat_base(tau, eta), m_(m) {
        if (m < 2) fail(errc::invalid_argument, "mirostat: m = {} must be at least 2", m);
    }
    std::string name() const override { return fmt::format("mirostat(tau {}, eta {}, m {})", tau_, eta_, m_); }

    void apply(candidate_set& c, sampler_rng& rng) override {
        detail::require_drawable(c);
        c.softmax();
        const size_t m = std::min(c.size, size_t(m_));
        c.sort_top(m);
        // Least-squares estimate of the Zipf exponent from the top m probabilities.
        double sum_tb = 0, sum_tt = 0;
        for (size_t i = 0; i + 1 < m; ++i) {
            if (!(c.data[i + 1].p > 0)) break;
            const double t = std::log(double(i + 2) / double(i + 1));
            const double b = std::log(double(c.data[i].p) / double(c.data[i + 1].p));
            sum_tb += t * b;
            sum_tt += t * t;
        }
        double k = double(c.size);
        const double s_hat = sum_tt > 0 ? sum_tb / sum_tt : 0;
        const double n = double(c.n_vocab);
        if (s_hat > 1e-6 && n > 1) {
            const double eps = s_hat - 1;
            // eps / (1 - n^-eps) tends to 1 / ln n as eps -> 0.
            const double ratio = std::fabs(eps) < 1e-9 ? 1 / std::log(n) : eps / (1 - std::pow(n, -eps));
            k = std::pow(ratio * std::pow(2.0, mu_), 1 / s_hat);
        }
        const size_t kk = std::isfinite(k) ? size_t(std::clamp(k, 1.0, double(c.size))) : c.size;
        if (kk < c.size) {
            c.keep_top(kk);
        }
        draw(c, rng);
    }

private:
    int32_t m_;
};

}  // namespace

namespace detail {

void require_drawable(const candidate_set& c) {
    for (const auto& x : c.live()) {
        if (x.logit > neg_inf) return;
    }
    fail(errc::invalid_argument, "sampler: every candidate token has logit -inf or NaN; nothing can be sampled");
}

size_t draw_index(const candidate_set& c, sampler_rng& rng) {
    double total = 0;
    for (const auto& x : c.live()) total += double(x.p);
    const double u = rng.uniform();
    if (!(total > 0)) {
        fail(errc::invalid_argument, "sampler: every candidate token has probability 0; nothing can be sampled");
    }
    // Strictly greater: with u == 0 a leading zero-probability token must not be chosen.
    const double target = u * total;
    double run = 0;
    size_t last = 0;
    for (size_t i = 0; i < c.size; ++i) {
        if (!(c.data[i].p > 0)) continue;
        run += double(c.data[i].p);
        last = i;
        if (run > target) return i;
    }
    return last;  // rounding left target at the very top of the sum
}

}  // namespace detail

namespace stages {

std::unique_ptr<sampler_stage> logit_bias(std::vector<token_bias> biases) {
    return std::make_unique<logit_bias_stage>(std::move(biases));
}
std::unique_ptr<sampler_stage> penalties(int32_t last_n, float repeat, float frequency, float presence) {
    return std::make_unique<penalties_stage>(last_n, repeat, frequency, presence);
}
std::unique_ptr<sampler_stage> top_k(int32_t k) { return std::make_unique<top_k_stage>(k); }
std::unique_ptr<sampler_stage> typical_p(float p, size_t min_keep) {
    return std::make_unique<typical_p_stage>(p, min_keep);
}
std::unique_ptr<sampler_stage> top_p(float p, size_t min_keep) { return std::make_unique<top_p_stage>(p, min_keep); }
std::unique_ptr<sampler_stage> min_p(float p, size_t min_keep) { return std::make_unique<min_p_stage>(p, min_keep); }
std::unique_ptr<sampler_stage> temperature(float t) { return std::make_unique<temperature_stage>(t); }
std::unique_ptr<sampler_stage> greedy() { return std::make_unique<greedy_stage>(); }
std::unique_ptr<sampler_stage> mirostat(float tau, float eta, int32_t m) {
    return std::make_unique<mirostat_v1_stage>(tau, eta, m);
}
std::unique_ptr<sampler_stage> mirostat_v2(float tau, float eta) {
    return std::make_unique<mirostat_v2_stage>(tau, eta);
}

}  // namespace stages

}  // namespace ember
