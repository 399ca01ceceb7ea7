// The decoder-only transformer forward pass (formats.md §6.3), for a batch of tokens at
// consecutive positions:
//
//   x = embed(tokens)
//   for each layer:  h = x + Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n),  n = rms_norm(x)·attn_norm
//                    x = h + Wdown · (silu(Wgate·m) ⊙ Wup·m),               m = rms_norm(h)·ffn_norm
//   logits = output · (rms_norm(x)·output_norm)
#include "decoder.hpp"

#include <cmath>
#include <cstring>

#include "ops.hpp"
#include "util.hpp"

namespace ember::detail {

void forward_scratch::reserve(const model_hparams& hp, int64_t n_tok, int64_t n_ctx, int n_threads) {
    auto grow = [](std::vector<float>& v, int64_t n) {
        if (v.size() < size_t(n)) v.resize(size_t(n));
    };
    grow(x, n_tok * hp.n_embd);
    grow(cur, n_tok * hp.n_embd);
    grow(q, n_tok * hp.n_embd_q());
    grow(k, n_tok * hp.n_embd_kv());
    grow(v, n_tok * hp.n_embd_kv());
    grow(attn, n_tok * hp.n_embd_q());
    grow(gate, n_tok * hp.n_ff);
    grow(up, n_tok * hp.n_ff);
    grow(scores, int64_t(n_threads) * n_ctx);
}

namespace {

// out (n_tok, n_head * head_dim) = softmax(q kᵀ / sqrt(head_dim)) v over the visible cache slots.
void attention(const model_hparams& hp, const kv_cache& kv, int64_t layer, const float* q, int64_t n_tok,
               const int32_t* pos, float* out, float* scores_all, thread_pool& pool) {
    const int64_t hd = hp.head_dim;
    const int64_t group = hp.n_head / hp.n_head_kv;
    const float scale = 1.0f / std::sqrt(float(hd));
    const int64_t n_slots = kv.used();
    pool.run([&](int ith, int nth) {
        float* scores = scores_all + int64_t(ith) * kv.capacity();
        for (int64_t job = ith; job < n_tok * hp.n_head; job += nth) {
            const int64_t t = job / hp.n_head, h = job % hp.n_head, g = h / group;
            const float* qh = q + t * hp.n_embd_q() + h * hd;
            float mx = -INFINITY;
            for (int64_t s = 0; s < n_slots; ++s) {
                if (!kv.visible(s, pos[t])) {
                    scores[s] = -INFINITY;
                    continue;
                }
                const float* kh = kv.k(layer, s) + g * hd;
                float dot = 0;
                for (int64_t d = 0; d < hd; ++d) dot += qh[d] * kh[d];
                scores[s] = dot * scale;
                mx = std::max(mx, scores[s]);
            }
            double sum = 0;
            for (int64_t s = 0; s < n_slots; ++s) {
                scores[s] = scores[s] == -INFINITY ? 0.0f : std::exp(scores[s] - mx);
                sum += scores[s];
            }
            const float inv = float(1.0 / sum);
            float* o = out + t * hp.n_embd_q() + h * hd;
            std::fill(o, o + hd, 0.0f);
            for (int64_t s = 0; s < n_slots; ++s) {
                if (scores[s] == 0.0f) continue;
                const float w = scores[s] * inv;
                const float* vh = kv.v(layer, s) + g * hd;
                for (int64_t d = 0; d < hd; ++d) o[d] += w * vh[d];
            }
        }
    });
}

}  // namespace

void decoder_forward(const model::impl& m, kv_cache& kv, thread_pool& pool, forward_scratch& s,
                     std::span<const token_id> tokens, std::span<const int32_t> pos, std::span<const int64_t> slots,
                     int64_t first_logit, float* logits) {
    const model_hparams& hp = m.hp;
    const int64_t n = int64_t(tokens.size());
    const int64_t d = hp.n_embd;
    s.reserve(hp, n, kv.capacity(), pool.size());
    float* x = s.x.data();
    float* cur = s.cur.data();

    get_rows(m.token_embd, tokens.data(), n, x);

    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const decoder_layer& L = m.layers[size_t(il)];

        for (int64_t t = 0; t < n; ++t) rms_norm(x + t * d, L.attn_norm.data(), cur + t * d, d, hp.rms_eps);
        matmul(L.wq, cur, n, s.q.data(), pool, s.act);
        matmul(L.wk, cur, n, s.k.data(), pool, s.act);
        matmul(L.wv, cur, n, s.v.data(), pool, s.act);
        for (int64_t t = 0; t < n; ++t) {
            rope(s.q.data() + t * hp.n_embd_q(), hp.n_head, hp.head_dim, hp.n_rot, pos[size_t(t)], hp.rope_freq_base,
                 hp.rope_freq_scale, hp.rope);
            rope(s.k.data() + t * hp.n_embd_kv(), hp.n_head_kv, hp.head_dim, hp.n_rot, pos[size_t(t)], hp.rope_freq_base,
                 hp.rope_freq_scale, hp.rope);
            std::memcpy(kv.k(il, slots[size_t(t)]), s.k.data() + t * hp.n_embd_kv(), size_t(hp.n_embd_kv()) * sizeof(float));
            std::memcpy(kv.v(il, slots[size_t(t)]), s.v.data() + t * hp.n_embd_kv(), size_t(hp.n_embd_kv()) * sizeof(float));
        }
        attention(hp, kv, il, s.q.data(), n, pos.data(), s.attn.data(), s.scores.data(), pool);
        matmul(L.wo, s.attn.data(), n, cur, pool, s.act);
        for (int64_t i = 0; i < n * d; ++i) x[i] += cur[i];

        for (int64_t t = 0; t < n; ++t) rms_norm(x + t * d, L.ffn_norm.data(), cur + t * d, d, hp.rms_eps);
        matmul(L.w_gate, cur, n, s.gate.data(), pool, s.act);
        matmul(L.w_up, cur, n, s.up.data(), pool, s.act);
        swiglu(s.gate.data(), s.up.data(), n * hp.n_ff);
        matmul(L.w_down, s.gate.data(), n, cur, pool, s.act);
        for (int64_t i = 0; i < n * d; ++i) x[i] += cur[i];
    }

    // Only the rows whose logits were asked for go through the (large) output projection.
    const int64_t n_out = n - first_logit;
    for (int64_t t = 0; t < n_out; ++t) rms_norm(x + (first_logit + t) * d, m.output_norm.data(), cur + t * d, d, hp.rms_eps);
    matmul(m.output, cur, n_out, logits, pool, s.act);
}

}  // namespace ember::detail
