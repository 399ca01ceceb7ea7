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

#include "ember/fp16.hpp"
#include "ember/kernels.hpp"
#include "ops.hpp"
#include "util.hpp"

namespace ember::detail {

void forward_scratch::reserve(const model_hparams& hp, int64_t n_tok, int64_t n_slots, int n_threads) {
    auto grow = [](auto& v, int64_t n) {
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
    grow(scores, int64_t(n_threads) * (n_slots + 2 * hp.head_dim));
    grow(qconv, int64_t(n_threads) * hp.head_dim * int64_t(sizeof(float)));
}

uint64_t forward_scratch::bytes() const noexcept {
    return (x.capacity() + cur.capacity() + q.capacity() + k.capacity() + v.capacity() + attn.capacity() + gate.capacity() +
            up.capacity() + scores.capacity()) * sizeof(float) + qconv.capacity() + act.capacity();
}

namespace {

// out (n_tok, n_head * head_dim) = softmax(q kᵀ / sqrt(head_dim)) v over the slots each token
// may see (the cache's mask). Keys and values are read in the cache's storage types; queries
// are converted once per head to the key type's dot-product format, as llama.cpp does.
void attention(const model_hparams& hp, const kv_cache& kv, int64_t layer, const forward_batch& b, const float* q,
               float* out, forward_scratch& s, thread_pool& pool) {
    const int64_t hd = hp.head_dim;
    const int64_t group = hp.n_head / hp.n_head_kv;
    const float scale = 1.0f / std::sqrt(float(hd));
    const int64_t n_slots = kv.capacity();
    const int64_t n_tok = int64_t(b.tokens.size());
    const auto& kk = kernels::get(kv.params().type_k);
    const auto& kq = kernels::get(kk.vec_dot_type);
    const auto& kvv = kernels::get(kv.params().type_v);
    const size_t k_head_bytes = row_bytes(kv.params().type_k, hd);
    const size_t v_head_bytes = row_bytes(kv.params().type_v, hd);
    const bool v_is_f32 = kv.params().type_v == ggml_type::f32;
    pool.run([&](int ith, int nth) {
        float* scores = s.scores.data() + int64_t(ith) * (n_slots + 2 * hd);
        float* vtmp = scores + n_slots;
        std::byte* qc = s.qconv.data() + size_t(ith) * size_t(hd) * sizeof(float);
        for (int64_t job = ith; job < n_tok * hp.n_head; job += nth) {
            const int64_t t = job / hp.n_head, h = job % hp.n_head, g = h / group;
            const float* qh = q + t * hp.n_embd_q() + h * hd;
            const void* qd = qh;
            if (kk.vec_dot_type != ggml_type::f32) {
                kq.from_float(qh, qc, hd);
                qd = qc;
            }
            const seq_id sq = b.seq[size_t(t)];
            const int32_t p = b.pos[size_t(t)];
            float mx = -INFINITY;
            for (int64_t c = 0; c < n_slots; ++c) {
                if (!kv.visible(c, sq, p)) {
                    scores[c] = -INFINITY;
                    continue;
                }
                float dot;
                kk.vec_dot(hd, &dot, kv.k_row(layer, c) + size_t(g) * k_head_bytes, qd);
                scores[c] = dot * scale;
                mx = std::max(mx, scores[c]);
            }
            double sum = 0;
            for (int64_t c = 0; c < n_slots; ++c) {
                scores[c] = scores[c] == -INFINITY ? 0.0f : std::exp(scores[c] - mx);
                sum += scores[c];
            }
            const float inv = float(1.0 / sum);
            float* o = out + t * hp.n_embd_q() + h * hd;
            std::fill(o, o + hd, 0.0f);
            for (int64_t c = 0; c < n_slots; ++c) {
                if (scores[c] == 0.0f) continue;
                // With a 16-bit (or smaller) V cache llama.cpp multiplies the values by the
                // attention weights rounded to f16; doing the same keeps perplexity and KL
                // divergence figures comparable with its own (a measurable effect on Q8_0 KLD).
                const float w = v_is_f32 ? scores[c] * inv : fp16_to_fp32(fp32_to_fp16(scores[c] * inv));
                const std::byte* vrow = kv.v_row(layer, c) + size_t(g) * v_head_bytes;
                const float* vh = reinterpret_cast<const float*>(vrow);
                if (!v_is_f32) {
                    kvv.to_float(vrow, vtmp, hd);
                    vh = vtmp;
                }
                for (int64_t d = 0; d < hd; ++d) o[d] += w * vh[d];
            }
        }
    });
}

}  // namespace

void decoder_forward(const model::impl& m, kv_cache& kv, thread_pool& pool, forward_scratch& s, const forward_batch& b,
                     float* logits) {
    const model_hparams& hp = m.hp;
    const int64_t n = int64_t(b.tokens.size());
    const int64_t d = hp.n_embd;
    s.reserve(hp, n, kv.capacity(), pool.size());
    float* x = s.x.data();
    float* cur = s.cur.data();

    get_rows(m.token_embd, b.tokens.data(), n, x);

    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const decoder_layer& L = m.layers[size_t(il)];
        if (b.abort && b.abort->load(std::memory_order_relaxed)) fail(errc::cancelled, "decode: cancelled");

        for (int64_t t = 0; t < n; ++t) rms_norm(x + t * d, L.attn_norm.data(), cur + t * d, d, hp.rms_eps);
        matmul(L.wq, cur, n, s.q.data(), pool, s.act);
        matmul(L.wk, cur, n, s.k.data(), pool, s.act);
        matmul(L.wv, cur, n, s.v.data(), pool, s.act);
        for (int64_t t = 0; t < n; ++t) {
            const int32_t p = b.pos[size_t(t)];
            rope(s.q.data() + t * hp.n_embd_q(), hp.n_head, hp.head_dim, hp.n_rot, p, hp.rope_freq_base, hp.rope_freq_scale, hp.rope);
            rope(s.k.data() + t * hp.n_embd_kv(), hp.n_head_kv, hp.head_dim, hp.n_rot, p, hp.rope_freq_base, hp.rope_freq_scale, hp.rope);
            kv.store(il, b.slots[size_t(t)], s.k.data() + t * hp.n_embd_kv(), s.v.data() + t * hp.n_embd_kv());
        }
        attention(hp, kv, il, b, s.q.data(), s.attn.data(), s, pool);
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
    const int64_t n_out = int64_t(b.logit_rows.size());
    if (n_out == 0) return;
    for (int64_t i = 0; i < n_out; ++i) rms_norm(x + b.logit_rows[size_t(i)] * d, m.output_norm.data(), cur + i * d, d, hp.rms_eps);
    matmul(m.output, cur, n_out, logits, pool, s.act);
}

}  // namespace ember::detail
