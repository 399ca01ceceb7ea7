// An independent, deliberately plain llama forward pass for tests: every weight dequantized to
// f32, every position recomputed from scratch, attention with an explicit mask, double
// accumulation. It shares no code with the library's decoder or KV cache.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "ember/gguf.hpp"
#include "ember/kernels.hpp"
#include "ember/model.hpp"

namespace ember::test {

class reference_llama {
public:
    explicit reference_llama(const model& m) : hp_(m.hparams()) {
        const gguf_file& f = m.file();
        embd_ = load(f, "token_embd.weight");
        out_norm_ = load(f, "output_norm.weight");
        out_ = f.find_tensor("output.weight") ? load(f, "output.weight") : embd_;
        for (int64_t l = 0; l < hp_.n_layer; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            layers_.push_back({load(f, p + "attn_norm.weight"), load(f, p + "attn_q.weight"), load(f, p + "attn_k.weight"),
                               load(f, p + "attn_v.weight"), load(f, p + "attn_output.weight"), load(f, p + "ffn_norm.weight"),
                               load(f, p + "ffn_gate.weight"), load(f, p + "ffn_up.weight"), load(f, p + "ffn_down.weight")});
        }
    }

    // Logits for every position of `tokens` (positions 0..n-1). A query at p sees keys at
    // positions q <= p with q > p - window (window 0 = all). pre_rope_k (optional) receives the
    // keys before rotation: [layer][pos][n_embd_kv].
    std::vector<std::vector<float>> forward(const std::vector<token_id>& tokens, int64_t window = 0,
                                            std::vector<std::vector<std::vector<double>>>* pre_rope_k = nullptr) const {
        const int64_t n = int64_t(tokens.size()), d = hp_.n_embd, hd = hp_.head_dim;
        const int64_t nq = hp_.n_embd_q(), nkv = hp_.n_embd_kv();
        std::vector<std::vector<double>> x(static_cast<size_t>(n));
        for (int64_t t = 0; t < n; ++t) x[size_t(t)] = row(embd_, tokens[size_t(t)], d);
        if (pre_rope_k) pre_rope_k->assign(size_t(hp_.n_layer), {});
        for (int64_t l = 0; l < hp_.n_layer; ++l) {
            const auto& L = layers_[size_t(l)];
            std::vector<std::vector<double>> q(static_cast<size_t>(n)), k(static_cast<size_t>(n)), v(static_cast<size_t>(n));
            for (int64_t t = 0; t < n; ++t) {
                const auto h = norm(x[size_t(t)], L.attn_norm);
                q[size_t(t)] = matvec(L.wq, h, nq);
                k[size_t(t)] = matvec(L.wk, h, nkv);
                v[size_t(t)] = matvec(L.wv, h, nkv);
                if (pre_rope_k) (*pre_rope_k)[size_t(l)].push_back(k[size_t(t)]);
                rope(q[size_t(t)], hp_.n_head, t);
                rope(k[size_t(t)], hp_.n_head_kv, t);
            }
            for (int64_t t = 0; t < n; ++t) {
                std::vector<double> att(size_t(nq), 0.0);
                for (int64_t hh = 0; hh < hp_.n_head; ++hh) {
                    const int64_t g = hh / (hp_.n_head / hp_.n_head_kv);
                    std::vector<double> s;
                    std::vector<int64_t> who;
                    for (int64_t u = 0; u <= t; ++u) {
                        if (window > 0 && u <= t - window) continue;
                        double dot = 0;
                        for (int64_t e = 0; e < hd; ++e) dot += q[size_t(t)][size_t(hh * hd + e)] * k[size_t(u)][size_t(g * hd + e)];
                        s.push_back(dot / std::sqrt(double(hd)));
                        who.push_back(u);
                    }
                    double mx = -1e300, sum = 0;
                    for (double z : s) mx = std::max(mx, z);
                    for (double& z : s) sum += (z = std::exp(z - mx));
                    for (size_t i = 0; i < s.size(); ++i)
                        for (int64_t e = 0; e < hd; ++e) att[size_t(hh * hd + e)] += s[i] / sum * v[size_t(who[i])][size_t(g * hd + e)];
                }
                const auto o = matvec(L.wo, att, d);
                for (int64_t e = 0; e < d; ++e) x[size_t(t)][size_t(e)] += o[size_t(e)];
            }
            for (int64_t t = 0; t < n; ++t) {
                const auto h = norm(x[size_t(t)], L.ffn_norm);
                auto g = matvec(L.w_gate, h, hp_.n_ff);
                const auto u = matvec(L.w_up, h, hp_.n_ff);
                for (size_t e = 0; e < g.size(); ++e) g[e] = g[e] / (1.0 + std::exp(-g[e])) * u[e];
                const auto o = matvec(L.w_down, g, d);
                for (int64_t e = 0; e < d; ++e) x[size_t(t)][size_t(e)] += o[size_t(e)];
            }
        }
        std::vector<std::vector<float>> logits;
        for (int64_t t = 0; t < n; ++t) {
            const auto h = norm(x[size_t(t)], out_norm_);
            const auto z = matvec(out_, h, hp_.n_vocab);
            logits.emplace_back(z.begin(), z.end());
        }
        return logits;
    }

    // Rotates the heads of v to position p (adjacent pairs, as llama's NORM rope), in double.
    void rope(std::vector<double>& v, int64_t n_heads, double p) const {
        const int64_t hd = hp_.head_dim;
        for (int64_t h = 0; h < n_heads; ++h)
            for (int64_t i = 0; i < hp_.n_rot / 2; ++i) {
                const double th = p * std::pow(double(hp_.rope_freq_base), -2.0 * double(i) / double(hp_.n_rot));
                double& a = v[size_t(h * hd + 2 * i)];
                double& b = v[size_t(h * hd + 2 * i + 1)];
                const double a0 = a, b0 = b;
                a = a0 * std::cos(th) - b0 * std::sin(th);
                b = a0 * std::sin(th) + b0 * std::cos(th);
            }
    }

private:
    struct mat {
        int64_t cols = 0, rows = 0;
        std::vector<float> w;
    };
    struct layer {
        mat attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
    };

    static mat load(const gguf_file& f, const std::string& name) {
        const gguf_tensor* t = f.find_tensor(name);
        if (!t) throw std::runtime_error("reference: missing " + name);
        mat m{t->ne[0], t->nrows(), std::vector<float>(size_t(t->nelements()))};
        kernels::get(t->type, kernels::isa::scalar).to_float(t->data, m.w.data(), t->nelements());
        return m;
    }
    static std::vector<double> row(const mat& m, int64_t r, int64_t n) {
        return std::vector<double>(m.w.begin() + r * n, m.w.begin() + (r + 1) * n);
    }
    static std::vector<double> matvec(const mat& m, const std::vector<double>& x, int64_t rows) {
        std::vector<double> y(static_cast<size_t>(rows));
        for (int64_t r = 0; r < rows; ++r) {
            double acc = 0;
            for (int64_t c = 0; c < m.cols; ++c) acc += double(m.w[size_t(r * m.cols + c)]) * x[size_t(c)];
            y[size_t(r)] = acc;
        }
        return y;
    }
    std::vector<double> norm(const std::vector<double>& x, const mat& w) const {
        double ss = 0;
        for (double e : x) ss += e * e;
        const double sc = 1.0 / std::sqrt(ss / double(x.size()) + double(hp_.rms_eps));
        std::vector<double> y(x.size());
        for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * sc * double(w.w[i]);
        return y;
    }

    model_hparams hp_;
    mat embd_, out_norm_, out_;
    std::vector<layer> layers_;
};

}  // namespace ember::test
