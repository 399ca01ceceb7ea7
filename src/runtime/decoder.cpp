// The decoder-only transformer forward pass (formats.md §6.3), for a batch of tokens at
// consecutive positions:
//
//   x = embed(tokens) · embd_scale
//   for each layer:  h = x + post_attn(Wo · attention(rope(qn(Wq·n + bq)), rope(kn(Wk·n + bk)), Wv·n + bv)),
//                                                                     n = rms_norm(x)·attn_norm
//                    x = h + post_ffn(Wdown · (act(Wgate·m) ⊙ Wup·m)), m = rms_norm(h)·ffn_norm
//   logits = softcap(output · (rms_norm(x)·output_norm))
//
// The parts in which architectures differ are data (model_hparams and the layer's weights): the
// biases, the per-head q/k norms (qn, kn) and post-norms are applied where the layer has them;
// each layer attends over its cache group (a sliding window or the whole context) with its own
// RoPE base; act is SiLU or GELU.
//
// The weight products run on the thread pool (ops.cpp). Between them, the per-token steps (norms,
// RoPE, cache stores, residual adds, the SiLU gate) run on the calling thread for a single token,
// where a parallel step would cost more in synchronisation than it saves, and split over tokens
// for a batch.
#include "runtime/decoder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <tuple>

#include "runtime/attention.hpp"
#include "ember/kernels.hpp"
#include "runtime/ops.hpp"
#include "core/util.hpp"

namespace ember::detail {

namespace {

int64_t group_size(const model_hparams& hp) { return hp.n_head / hp.n_head_kv; }

// Tokens of a batch whose query rows share each converted key/value tile (prompt attention).
constexpr int64_t k_attn_tok_block = 4;

// Per-thread attention scratch, in floats, for R = k_attn_tok_block · group rows: m, l (R),
// acc (R, head_dim), scores (R, tile), the queries gathered (R, head_dim), and a key and a value
// tile converted to f32.
int64_t attn_work_size(const model_hparams& hp) {
    const int64_t r = k_attn_tok_block * group_size(hp), hd = hp.head_dim;
    return 2 * r + 2 * r * hd + r * k_attn_tile + 2 * k_attn_tile * hd + 16;
}

}  // namespace

int64_t forward_scratch::attn_work_floats(const model_hparams& hp) { return attn_work_size(hp); }

void forward_scratch::reserve(const model_hparams& hp, int64_t n_tok, int n_threads) {
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
    grow(rope_cs, int64_t(hp.n_kv_groups()) * n_tok * hp.n_rot);
    if (groups.size() < size_t(hp.n_kv_groups())) groups.resize(size_t(hp.n_kv_groups()));
    grow(attn_work, int64_t(n_threads) * attn_work_size(hp));
}

uint64_t forward_scratch::bytes() const noexcept {
    return (x.capacity() + cur.capacity() + q.capacity() + k.capacity() + v.capacity() + attn.capacity() + gate.capacity() +
            up.capacity() + rope_cs.capacity() + attn_work.capacity()) * sizeof(float) +
           attn_blocks.capacity() * sizeof(int64_t) + act.capacity();
}

namespace {

// Runs f(t) for each token: inline for one token, split over the pool for a batch.
template <class F> void per_token(thread_pool& pool, int64_t n, F&& f) {
    if (n == 1) {
        f(int64_t(0));
        return;
    }
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) f(t);
    });
}

// What both attention paths take from the cache's types: the head sizes in bytes, the kernels,
// and the 1/sqrt(head_dim) score scale.
struct attn_setup {
    float scale;
    ggml_type tk, tv;
    size_t k_head_bytes, v_head_bytes;
    const attention_kernels& ak;
    const kernels::type_kernels& kconv;
    const kernels::type_kernels& vconv;
    attn_setup(const model_hparams& hp, const kv_cache& kv)
        : scale(hp.attn_scale > 0.0f ? hp.attn_scale : 1.0f / std::sqrt(float(hp.head_dim))),
          tk(kv.params().type_k),
          tv(kv.params().type_v),
          k_head_bytes(row_bytes(tk, hp.head_dim)),
          v_head_bytes(row_bytes(tv, hp.head_dim)),
          ak(attention_kernels_active()),
          kconv(kernels::get(tk)),
          vconv(kernels::get(tv)) {}
    // KV head g's key (value) in slot 0 of the layer; slot j is k_row_bytes() (v_row_bytes()) further
    const std::byte* k_head(const kv_cache& kv, int64_t layer, int64_t g) const { return kv.k_row(layer, 0) + size_t(g) * k_head_bytes; }
    const std::byte* v_head(const kv_cache& kv, int64_t layer, int64_t g) const { return kv.v_row(layer, 0) + size_t(g) * v_head_bytes; }
};

// Prompt attention: one task is a block of up to k_attn_tok_block consecutive tokens of one
// sequence that see the same first slot, and one KV head. Each tile of keys and values is
// converted to f32 once for the block's query rows (block tokens × the heads of the group);
// tokens that see only part of the tile (the causal diagonal) run on its prefix.
void attention_blocks(const model_hparams& hp, const kv_cache& kv, int64_t layer, int64_t n_tok, const float* q, float* out,
                      forward_scratch& s, const forward_scratch::group_view& gv, thread_pool& pool) {
    const int64_t hd = hp.head_dim, group = group_size(hp), nq = hp.n_embd_q();
    const attn_setup as(hp, kv);
    // Block b covers tokens [blk[b], blk[b + 1]).
    std::vector<int64_t>& blk = s.attn_blocks;
    blk.clear();
    for (int64_t t = 0; t < n_tok; ++t) {
        const bool joins = !blk.empty() && t - blk.back() < k_attn_tok_block && s.tok_seq[size_t(t)] == s.tok_seq[size_t(t - 1)] &&
                           gv.tok_lo[size_t(t)] == gv.tok_lo[size_t(t - 1)];
        if (!joins) blk.push_back(t);
    }
    const int64_t n_blk = int64_t(blk.size());
    blk.push_back(n_tok);
    const int64_t work_floats = attn_work_size(hp);
    pool.run_tasks(n_blk * hp.n_head_kv, [&](int64_t task, int tid) {
        const int64_t b = task / hp.n_head_kv, g = task % hp.n_head_kv;
        const int64_t t0 = blk[size_t(b)], nt = blk[size_t(b) + 1] - t0;
        const int64_t R = nt * group;
        float* w = s.attn_work.data() + int64_t(tid) * work_floats;
        attn_rows r;
        r.n_rows = R;
        r.head_dim = hd;
        r.scale = as.scale;
        r.m = w;
        r.l = w + R;
        r.acc = r.l + R;
        float* qs = r.acc + R * hd;
        r.scores = qs + R * hd;
        float* ktile = r.scores + R * k_attn_tile;
        float* vtile = ktile + k_attn_tile * hd;
        r.tile = nullptr;  // the tile passed is f32 already
        for (int64_t i = 0; i < nt; ++i)
            std::memcpy(qs + i * group * hd, q + (t0 + i) * nq + g * group * hd, size_t(group * hd) * sizeof(float));
        r.start();
        const seq_slots& ss = gv.seqs[size_t(s.tok_seq[size_t(t0)])];
        const std::byte* kb = as.k_head(kv, layer, g);
        const std::byte* vb = as.v_head(kv, layer, g);
        int64_t hi = 0;
        for (int64_t i = 0; i < nt; ++i) hi = std::max(hi, gv.tok_hi[size_t(t0 + i)]);
        for (int64_t j0 = gv.tok_lo[size_t(t0)]; j0 < hi; j0 += k_attn_tile) {
            const int64_t n = std::min(k_attn_tile, hi - j0);
            const int32_t* idx = ss.slot.data() + j0;
            for (int64_t j = 0; j < n; ++j) {
                as.kconv.to_float(kb + size_t(idx[j]) * kv.k_row_bytes(), ktile + j * hd, hd);
                as.vconv.to_float(vb + size_t(idx[j]) * kv.v_row_bytes(), vtile + j * hd, hd);
            }
            // runs of consecutive tokens that see the same number of this tile's keys
            for (int64_t i = 0; i < nt;) {
                auto seen = [&](int64_t u) { return std::clamp<int64_t>(gv.tok_hi[size_t(t0 + u)] - j0, 0, n); };
                const int64_t ni = seen(i);
                int64_t e = i + 1;
                while (e < nt && seen(e) == ni) ++e;
                if (ni > 0) {
                    attn_rows sub = r;
                    const int64_t o = i * group;
                    sub.q = qs + o * hd;
                    sub.n_rows = (e - i) * group;
                    sub.m = r.m + o;
                    sub.l = r.l + o;
                    sub.acc = r.acc + o * hd;
                    sub.scores = r.scores + o * k_attn_tile;
                    as.ak.attend_f32(sub, ktile, hd, vtile, hd, k_attn_iota.data(), ni);
                }
                i = e;
            }
        }
        for (int64_t i = 0; i < R; ++i) {
            float* o = out + (t0 + i / group) * nq + (g * group + i % group) * hd;
            const float inv = r.l[i] > 0 ? 1.0f / r.l[i] : 0.0f;  // l = 0: the token sees no slot
            for (int64_t d = 0; d < hd; ++d) o[d] = r.acc[i * hd + d] * inv;
        }
    });
}

// out (n_tok, n_head * head_dim) = softmax(q kᵀ / sqrt(head_dim)) v over the slots each token
// sees (from the cache's mask), visited in position order. One task is a token and a group of query heads that
// share a KV head, so every key and value row is read once for the group; keys are taken a tile
// at a time with an online softmax, so nothing grows with the context. Batches go to
// attention_blocks.
void attention(const model_hparams& hp, const kv_cache& kv, int64_t layer, int64_t n_tok, const float* q, float* out,
               forward_scratch& s, const forward_scratch::group_view& gv, thread_pool& pool) {
    if (n_tok > 1) {
        attention_blocks(hp, kv, layer, n_tok, q, out, s, gv, pool);
        return;
    }
    const int64_t hd = hp.head_dim, group = group_size(hp);
    const attn_setup as(hp, kv);
    // Enough tasks for every thread to have a few, so a late thread's share can be taken over:
    // a single token splits its head groups further.
    const int64_t base = n_tok * hp.n_head_kv;
    const int64_t n_sub = std::min<int64_t>(group, std::max<int64_t>(1, (4 * pool.size() + base - 1) / base));
    const int64_t per_sub = (group + n_sub - 1) / n_sub;
    const int64_t work_floats = attn_work_size(hp);
    pool.run_tasks(base * n_sub, [&](int64_t task, int tid) {
        const int64_t t = task / (hp.n_head_kv * n_sub);
        const int64_t g = task / n_sub % hp.n_head_kv;
        const int64_t h0 = g * group + task % n_sub * per_sub;
        const int64_t h1 = std::min(h0 + per_sub, (g + 1) * group);
        if (h0 >= h1) return;
        const int64_t R = h1 - h0;
        float* w = s.attn_work.data() + int64_t(tid) * work_floats;
        attn_rows r;
        r.q = q + t * hp.n_embd_q() + h0 * hd;
        r.n_rows = R;
        r.head_dim = hd;
        r.scale = as.scale;
        r.m = w;
        r.l = w + group;
        r.acc = w + 2 * group;
        r.scores = r.acc + group * hd;
        float* ktile = r.scores + group * k_attn_tile;
        float* vtile = ktile + k_attn_tile * hd;
        r.tile = ktile;
        r.start();
        const seq_slots& ss = gv.seqs[size_t(s.tok_seq[size_t(t)])];
        const std::byte* kb = as.k_head(kv, layer, g);
        const std::byte* vb = as.v_head(kv, layer, g);
        for (int64_t j0 = gv.tok_lo[size_t(t)]; j0 < gv.tok_hi[size_t(t)]; j0 += k_attn_tile) {
            const int64_t n = std::min(k_attn_tile, gv.tok_hi[size_t(t)] - j0);
            const int32_t* idx = ss.slot.data() + j0;
            if (as.tk == ggml_type::f16 && as.tv == ggml_type::f16) {
                as.ak.attend_f16(r, reinterpret_cast<const uint16_t*>(kb), int64_t(kv.k_row_bytes() / 2),
                              reinterpret_cast<const uint16_t*>(vb), int64_t(kv.v_row_bytes() / 2), idx, n);
            } else if (as.tk == ggml_type::f32 && as.tv == ggml_type::f32) {
                as.ak.attend_f32(r, reinterpret_cast<const float*>(kb), int64_t(kv.k_row_bytes() / 4),
                              reinterpret_cast<const float*>(vb), int64_t(kv.v_row_bytes() / 4), idx, n);
            } else {  // other types (q8_0, mixed): convert the tile
                for (int64_t j = 0; j < n; ++j) {
                    as.kconv.to_float(kb + size_t(idx[j]) * kv.k_row_bytes(), ktile + j * hd, hd);
                    as.vconv.to_float(vb + size_t(idx[j]) * kv.v_row_bytes(), vtile + j * hd, hd);
                }
                as.ak.attend_f32(r, ktile, hd, vtile, hd, k_attn_iota.data(), n);
            }
        }
        for (int64_t i = 0; i < R; ++i) {
            float* o = out + t * hp.n_embd_q() + (h0 + i) * hd;
            const float inv = r.l[i] > 0 ? 1.0f / r.l[i] : 0.0f;  // l = 0: the token sees no slot
            for (int64_t d = 0; d < hd; ++d) o[d] = r.acc[i * hd + d] * inv;
        }
    });
}

}  // namespace

void decoder_forward(const model::impl& m, std::span<kv_cache> kv, thread_pool& pool, forward_scratch& s, const forward_batch& b,
                     float* logits, std::span<const float> rope_factors) {
    const model_hparams& hp = m.hp;
    const int64_t n = int64_t(b.tokens.size());
    const int64_t d = hp.n_embd, nq = hp.n_embd_q(), nkv = hp.n_embd_kv(), hd = hp.head_dim;
    const int n_groups = hp.n_kv_groups();
    if (int64_t(kv.size()) != n_groups || int64_t(b.slots.size()) != n_groups)
        fail(errc::internal, "decode: {} cache groups and {} slot lists for a model with {}", kv.size(), b.slots.size(), n_groups);
    s.reserve(hp, n, pool.size());
    float* x = s.x.data();
    float* cur = s.cur.data();
    const attention_kernels& ak = attention_kernels_active();

    // Each group's RoPE (the layers of a group share it) and what each token sees in it are the
    // same in every layer of the group.
    std::vector<rope_spec> ropes(static_cast<size_t>(n_groups));
    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const layer_hparams& lp = hp.layers[size_t(il)];
        ropes[size_t(lp.kv_group)] = {hp.n_rot, lp.rope_freq_base, lp.rope_freq_scale, hp.rope,
                                     rope_factors.empty() ? nullptr : rope_factors.data(), hp.rope_attn_factor};
    }
    s.tok_seq.assign(size_t(n), -1);
    std::array<int32_t, k_max_sequences> seq_index;
    seq_index.fill(-1);
    std::vector<seq_id> batch_seqs;
    for (int64_t t = 0; t < n; ++t) {
        const seq_id sq = b.seq[size_t(t)];
        if (seq_index[size_t(sq)] < 0) {
            seq_index[size_t(sq)] = int32_t(batch_seqs.size());
            batch_seqs.push_back(sq);
        }
        s.tok_seq[size_t(t)] = seq_index[size_t(sq)];
    }
    for (int g = 0; g < n_groups; ++g) {
        forward_scratch::group_view& gv = s.groups[size_t(g)];
        if (gv.seqs.size() < batch_seqs.size()) gv.seqs.resize(batch_seqs.size());
        for (size_t i = 0; i < batch_seqs.size(); ++i) kv[size_t(g)].slots_by_position(batch_seqs[i], gv.seqs[i]);
        gv.tok_lo.resize(size_t(n));
        gv.tok_hi.resize(size_t(n));
        for (int64_t t = 0; t < n; ++t)
            std::tie(gv.tok_lo[size_t(t)], gv.tok_hi[size_t(t)]) =
                kv[size_t(g)].visible_range(gv.seqs[size_t(s.tok_seq[size_t(t)])], b.pos[size_t(t)]);
        per_token(pool, n, [&](int64_t t) {
            rope_angles(ropes[size_t(g)], b.pos[size_t(t)], s.rope_cs.data() + (int64_t(g) * n + t) * hp.n_rot);
        });
    }

    get_rows(m.token_embd, b.tokens.data(), n, x);
    if (hp.embd_scale != 1.0f)
        for (int64_t i = 0; i < n * d; ++i) x[i] *= hp.embd_scale;
    if (hp.n_layer > 0)
        per_token(pool, n, [&](int64_t t) { rms_norm(x + t * d, m.layers[0].attn_norm.data(), cur + t * d, d, hp.rms_eps); });

    for (int64_t il = 0; il < hp.n_layer; ++il) {
        const decoder_layer& L = m.layers[size_t(il)];
        const layer_hparams& lp = hp.layers[size_t(il)];
        const int g = lp.kv_group;
        kv_cache& cache = kv[size_t(g)];
        const int64_t cl = lp.kv_index;  // the layer's index in its cache
        if (b.abort && b.abort->load(std::memory_order_relaxed)) fail(errc::cancelled, "decode: cancelled");

        // cur = rms_norm(x) · attn_norm here (done at the end of the previous layer)
        const matmul_out qkv[] = {{&L.wq, s.q.data()}, {&L.wk, s.k.data()}, {&L.wv, s.v.data()}};
        matmul_group(qkv, 3, cur, n, pool, s.act);
        per_token(pool, n, [&](int64_t t) {
            float* qt = s.q.data() + t * nq;
            float* kt = s.k.data() + t * nkv;
            float* vt = s.v.data() + t * nkv;
            if (!L.bq.empty()) {
                for (int64_t i = 0; i < nq; ++i) qt[i] += L.bq[size_t(i)];
                for (int64_t i = 0; i < nkv; ++i) kt[i] += L.bk[size_t(i)];
                for (int64_t i = 0; i < nkv; ++i) vt[i] += L.bv[size_t(i)];
            }
            if (!L.q_norm.empty()) {
                for (int64_t h = 0; h < hp.n_head; ++h) rms_norm(qt + h * hd, L.q_norm.data(), qt + h * hd, hd, hp.rms_eps);
                for (int64_t h = 0; h < hp.n_head_kv; ++h) rms_norm(kt + h * hd, L.k_norm.data(), kt + h * hd, hd, hp.rms_eps);
            }
            const float* cs = s.rope_cs.data() + (int64_t(g) * n + t) * hp.n_rot;
            rope_apply(ropes[size_t(g)], qt, hp.n_head, hd, cs);
            rope_apply(ropes[size_t(g)], kt, hp.n_head_kv, hd, cs);
            cache.store(cl, b.slots[size_t(g)][size_t(t)], kt, vt);
        });
        attention(hp, cache, cl, n, s.q.data(), s.attn.data(), s, s.groups[size_t(g)], pool);
        matmul(L.wo, s.attn.data(), n, cur, pool, s.act);
        per_token(pool, n, [&](int64_t t) {
            float* xt = x + t * d;
            float* ct = cur + t * d;
            if (!L.post_attn_norm.empty()) rms_norm(ct, L.post_attn_norm.data(), ct, d, hp.rms_eps);
            for (int64_t i = 0; i < d; ++i) xt[i] += ct[i];
            rms_norm(xt, L.ffn_norm.data(), ct, d, hp.rms_eps);
        });

        const int64_t n_ff = L.w_gate.rows;
        const matmul_out gate_up[] = {{&L.w_gate, s.gate.data()}, {&L.w_up, s.up.data()}};
        matmul_group(gate_up, 2, cur, n, pool, s.act);
        // gate rows are n_ff floats apart (the scratch is sized for the largest layer)
        if (hp.ffn_act == ffn_activation::gelu_tanh) {
            pool.parallel_for(n * n_ff, 4096, [&](int64_t i0, int64_t i1) { geglu(s.gate.data() + i0, s.up.data() + i0, i1 - i0); });
        } else if (n == 1) {
            ak.silu_mul(s.gate.data(), s.up.data(), n_ff);
        } else {
            pool.parallel_for(n * n_ff, 4096, [&](int64_t i0, int64_t i1) { ak.silu_mul(s.gate.data() + i0, s.up.data() + i0, i1 - i0); });
        }
        matmul(L.w_down, s.gate.data(), n, cur, pool, s.act);
        const float* next_norm = il + 1 < hp.n_layer ? m.layers[size_t(il + 1)].attn_norm.data() : nullptr;
        per_token(pool, n, [&](int64_t t) {
            float* xt = x + t * d;
            float* ct = cur + t * d;
            if (!L.post_ffn_norm.empty()) rms_norm(ct, L.post_ffn_norm.data(), ct, d, hp.rms_eps);
            for (int64_t i = 0; i < d; ++i) xt[i] += ct[i];
            if (next_norm) rms_norm(xt, next_norm, ct, d, hp.rms_eps);
        });
    }

    // Only the rows whose logits were asked for go through the (large) output projection.
    const int64_t n_out = int64_t(b.logit_rows.size());
    if (n_out == 0) return;
    for (int64_t i = 0; i < n_out; ++i) rms_norm(x + b.logit_rows[size_t(i)] * d, m.output_norm.data(), cur + i * d, d, hp.rms_eps);
    matmul(m.output, cur, n_out, logits, pool, s.act);
    if (hp.final_logit_softcap > 0.0f)
        pool.parallel_for(n_out * hp.n_vocab, 65536,
                          [&](int64_t i0, int64_t i1) { softcap(logits + i0, i1 - i0, hp.final_logit_softcap); });
}

}  // namespace ember::detail
