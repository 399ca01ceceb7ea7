// ember perplexity: the perplexity of a model on a text, computed as llama.cpp's perplexity tool
// does (formats.md §8), and optionally the KL divergence of its next-token distributions from a
// base model's, over the same scored tokens.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "args.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "ember/context.hpp"
#include "ember/model.hpp"
#include "ember/vocab.hpp"

namespace ember::cli {

namespace {

constexpr const char* k_help = R"(usage: ember perplexity -m MODEL -f TEXT [options]

Splits TEXT into chunks of CTX tokens, evaluates each from an empty cache (its first token
replaced by BOS when the model adds one) and scores the second half of every chunk, exactly
as llama.cpp's perplexity tool does. Prints the running value after each chunk and finally
"Final estimate: PPL = X +/- Y".

  -m, --model FILE         GGUF model
  -f, --file FILE          text to evaluate (used verbatim)
  -c, --ctx-size N         tokens per chunk (default 512)
  -b, --batch-size N       tokens per forward pass (default: CTX)
  -t, --threads N          threads (default: all cores)
  --chunks N               evaluate at most N chunks
  --window W               sliding-window attention over the last W positions
  --cache-type-k T, --cache-type-v T   KV cache types: f32, f16 (default) or q8_0
  --kl-divergence          also compare with a base model (needs --base)
  --base FILE              the base model for --kl-divergence (e.g. the F32 model)
  --mmap                   map the model files instead of reading them into memory
  --no-repack              keep the weights as in the file (K-quants are row-interleaved by default)
)";

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::file_not_found, path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct mean_unc {
    double mean, unc;
};
mean_unc mean_and_uncertainty(double sum, double sum2, size_t n) {
    const double mean = sum / double(n);
    const double var = sum2 / double(n) - mean * mean;
    return {mean, n > 1 ? std::sqrt(std::max(var, 0.0) / double(n - 1)) : 0.0};
}

// -log softmax(z)[target]: exponentials in f32, their sum and log in double (formats.md §8.6).
double nll(std::span<const float> z, token_id target) {
    const float mx = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (float v : z) sum += std::exp(v - mx);
    return -(double(z[size_t(target)]) - mx - std::log(sum));
}

// The base model's log-probabilities stored at llama.cpp's precision: log p relative to the
// most likely token, clamped 16 nats below it and quantized to 16 bits. Computing the KL
// divergence from this encoding, as llama.cpp's --kl-divergence does, makes the figures
// directly comparable with its own.
struct base_log_probs {
    float scale = 0, min_log_prob = 0;
    std::vector<uint16_t> q;

    void encode(std::span<const float> z) {
        float mx = z[0], mn = z[0];
        for (float v : z) mx = std::max(mx, v), mn = std::min(mn, v);
        mn = std::max(mn, mx - 16);
        double sum = 0;
        for (float v : z) sum += std::exp(v - mx);
        const float lse = float(std::log(sum));
        min_log_prob = mn - mx - lse;
        scale = (mx - mn) / 65535.0f;
        q.assign(z.size(), 0);
        if (scale == 0) return;
        const float inv = 1 / scale;
        for (size_t i = 0; i < z.size(); ++i)
            q[i] = z[i] > mn ? uint16_t(std::nearbyint(inv * (z[i] - mn))) : 0;
    }
    float log_p(size_t i) const { return scale * float(q[i]) + min_log_prob; }
};

struct kld_stats {
    double sum_kld = 0, sum_kld2 = 0, sum_nll_base = 0, sum_nll_base2 = 0;
    size_t same_top = 0, count = 0;

    void add(const base_log_probs& base, std::span<const float> z, token_id target) {
        const auto imax = size_t(std::max_element(z.begin(), z.end()) - z.begin());
        const float mx = z[imax];
        double sum = 0;
        for (float v : z) sum += std::exp(v - mx);
        const float log_norm = mx + float(std::log(sum));  // log p_model(i) = z[i] - log_norm
        double kld = 0;
        size_t imax_base = 0;
        float best = 0;
        for (size_t i = 0; i < z.size(); ++i) {
            const float lp = base.log_p(i);
            if (i == 0 || lp > best) best = lp, imax_base = i;
            if (lp > -16.0f) kld += std::exp(lp) * (lp - z[i] + log_norm);
        }
        sum_kld += kld;
        sum_kld2 += kld * kld;
        const double nb = -double(base.log_p(size_t(target)));
        sum_nll_base += nb;
        sum_nll_base2 += nb * nb;
        same_top += imax == imax_base;
        ++count;
    }
};

}  // namespace

int cmd_perplexity(std::span<char* const> argv) {
    args a("perplexity", argv);
    if (a.flag({"-h", "--help"})) {
        std::fputs(k_help, stdout);
        return 0;
    }
    const std::string model_path = a.required({"-m", "--model"});
    const std::string text_path = a.required({"-f", "--file"});
    const bool kl = a.flag({"--kl-divergence"});
    model_params mp;
    mp.use_mmap = a.flag({"--mmap"});
    if (a.flag({"--no-mmap"})) mp.use_mmap = false;
    mp.repack = !a.flag({"--no-repack"});
    const auto base_path = a.value({"--base", "--kl-divergence-base"});
    const int64_t max_chunks = a.number_or<int64_t>({"--chunks"}, -1);
    const auto batch_flag = a.number<int64_t>({"-b", "--batch-size"});
    context_params cp = parse_context_flags(a);
    a.finish();
    if (cp.n_ctx == 0) cp.n_ctx = 512;
    if (cp.n_ctx < 16) throw usage_error("-c must be at least 16");
    cp.n_batch = batch_flag ? std::min(*batch_flag, cp.n_ctx) : cp.n_ctx;
    cp.context_shift = false;
    if (kl && !base_path) throw usage_error("--kl-divergence needs --base BASE_MODEL");
    if (base_path && !kl) throw usage_error("--base is only used with --kl-divergence");

    const auto m = model::load(model_path, mp);
    const vocab& voc = m->vocab();
    if (voc.add_eos()) throw error(errc::unsupported, model_path + ": perplexity needs a vocabulary that does not add EOS");
    std::shared_ptr<const model> base;
    if (kl) {
        base = model::load(*base_path, mp);
        if (base->hparams().n_vocab != m->hparams().n_vocab)
            throw error(errc::invalid_argument, "the base model's vocabulary differs from the model's");
    }

    const std::string text = read_file(text_path);
    std::vector<token_id> tokens = voc.tokenize(text, true, false);
    const int64_t n_ctx = cp.n_ctx;
    if (int64_t(tokens.size()) < 2 * n_ctx)
        throw error(errc::invalid_argument, text_path + ": " + std::to_string(tokens.size()) + " tokens is fewer than 2 × the context size " +
                                                std::to_string(n_ctx));
    int64_t n_chunk = int64_t(tokens.size()) / n_ctx;
    if (max_chunks > 0) n_chunk = std::min(n_chunk, max_chunks);
    const int64_t first = n_ctx / 2;
    std::fprintf(stderr, "ember: %s: %zu tokens, %lld chunks of %lld, scoring the last %lld of each\n", text_path.c_str(), tokens.size(),
                 (long long)n_chunk, (long long)n_ctx, (long long)(n_ctx - first - 1));

    context ctx(m, cp);
    std::unique_ptr<context> base_ctx;
    if (base) base_ctx = std::make_unique<context>(base, cp);

    double sum = 0, sum2 = 0;
    size_t count = 0;
    kld_stats kst;
    std::vector<base_log_probs> base_lp(size_t(n_ctx - first - 1));
    batch b;
    for (int64_t k = 0; k < n_chunk; ++k) {
        std::vector<token_id> chunk(tokens.begin() + k * n_ctx, tokens.begin() + (k + 1) * n_ctx);
        if (voc.add_bos() && voc.bos() >= 0) chunk[0] = voc.bos();
        b.clear();
        for (int64_t i = 0; i < n_ctx; ++i) b.add(chunk[size_t(i)], int32_t(i), 0, i >= first && i < n_ctx - 1);
        if (base_ctx) {
            base_ctx->clear();
            base_ctx->decode(b);
            for (int64_t i = first; i < n_ctx - 1; ++i) base_lp[size_t(i - first)].encode(base_ctx->logits(i));
        }
        ctx.clear();
        ctx.decode(b);
        for (int64_t i = first; i < n_ctx - 1; ++i) {
            const auto z = ctx.logits(i);
            const double v = nll(z, chunk[size_t(i + 1)]);
            sum += v;
            sum2 += v * v;
            ++count;
            if (base_ctx) kst.add(base_lp[size_t(i - first)], z, chunk[size_t(i + 1)]);
        }
        std::printf("[%lld]%.4f,", (long long)(k + 1), std::exp(sum / double(count)));
        std::fflush(stdout);
    }
    std::printf("\n");

    const auto ppl = mean_and_uncertainty(sum, sum2, count);
    if (base_ctx) {
        const auto lb = mean_and_uncertainty(kst.sum_nll_base, kst.sum_nll_base2, kst.count);
        const auto kd = mean_and_uncertainty(kst.sum_kld, kst.sum_kld2, kst.count);
        const double p_top = double(kst.same_top) / double(kst.count);
        const double p_unc = std::sqrt(p_top * (1 - p_top) / double(kst.count - 1));
        std::printf("Mean PPL(Q)     : %10.6f ± %10.6f\n", std::exp(ppl.mean), std::exp(ppl.mean) * ppl.unc);
        std::printf("Mean PPL(base)  : %10.6f ± %10.6f\n", std::exp(lb.mean), std::exp(lb.mean) * lb.unc);
        std::printf("Final estimate: PPL = %.4f +/- %.5f\n", std::exp(ppl.mean), std::exp(ppl.mean) * ppl.unc);
        std::printf("Mean KLD: %10.8f ± %10.8f\n", kd.mean, kd.unc);
        std::printf("Same top p: %6.3f ± %6.3f %%\n", 100.0 * p_top, 100.0 * p_unc);
    } else {
        std::printf("Final estimate: PPL = %.4f +/- %.5f\n", std::exp(ppl.mean), std::exp(ppl.mean) * ppl.unc);
    }
    return 0;
}

}  // namespace ember::cli
