// Packing Q4_K rows into block_q4_K_x16 groups and back, and the reference kernels of the
// packed form. The reference dot computes exactly what quant::ref::vec_dot computes for each of
// the 16 rows (the same integer sums, the same double accumulation), so it is bit-identical to
// the row reference: tests check the packed tiers against either.
#include <cstring>

#include "ember/fp16.hpp"
#include "ember/quant/blocks.hpp"
#include "kernels/packed.hpp"

namespace ember::kernels::packed {

using quant::block_q2_K;
using quant::block_q2_K_x16;
using quant::block_q3_K;
using quant::block_q3_K_x16;
using quant::block_q4_K;
using quant::block_q6_K;
using quant::block_q6_K_x16;
using quant::block_q4_K_x16;
using quant::block_q8_K;
using quant::qk_k;

namespace {

// Calls fn(packed block, r, block of row r) for every super-block of the 16 rows, the packed
// block zeroed first (padding included).
template <class Block, class Packed, class Fn> void pack_rows(const void* rows, size_t row_bytes, int64_t k, void* group, Fn fn) {
    auto* out = static_cast<Packed*>(group);
    for (int64_t sb = 0; sb < k / qk_k; ++sb) {
        std::memset(&out[sb], 0, sizeof(Packed));
        for (int r = 0; r < 16; ++r) {
            Block x;
            std::memcpy(&x, static_cast<const std::byte*>(rows) + size_t(r) * row_bytes + size_t(sb) * sizeof x, sizeof x);
            fn(out[sb], r, x);
        }
    }
}

// Calls fn(packed block, r, zeroed block) and stores the block as row r, for every super-block.
template <class Block, class Packed, class Fn> void unpack_rows(const void* group, int64_t k, void* rows, size_t row_bytes, Fn fn) {
    const auto* in = static_cast<const Packed*>(group);
    for (int64_t sb = 0; sb < k / qk_k; ++sb)
        for (int r = 0; r < 16; ++r) {
            Block x{};
            fn(in[sb], r, x);
            std::memcpy(static_cast<std::byte*>(rows) + size_t(r) * row_bytes + size_t(sb) * sizeof x, &x, sizeof x);
        }
}

// s[r] = Σ over the super-blocks of term(block, r, activation block), accumulated in double like
// the row references (quant::ref::vec_dot), so the results are theirs bit for bit.
template <class Packed, class Term> void rows_dot(int64_t k, float* s, const void* group, const void* vy, Term term) {
    const auto* x = static_cast<const Packed*>(group);
    const auto* y = static_cast<const block_q8_K*>(vy);
    for (int r = 0; r < 16; ++r) {
        double acc = 0;
        for (int64_t sb = 0; sb < k / qk_k; ++sb) acc += term(x[sb], r, y[sb]);
        s[r] = float(acc);
    }
}

}  // namespace

size_t q4_K_x16_bytes(int64_t k) noexcept { return size_t(k / qk_k) * sizeof(block_q4_K_x16); }

namespace {

// The 256 quants of a Q4_K block (formats.md §2.6): chunk c of 64, low nibbles first.
inline void q4_quants(const block_q4_K& b, uint8_t* q) noexcept {
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) {
            q[64 * c + l] = b.qs[32 * c + l] & 15;
            q[64 * c + 32 + l] = b.qs[32 * c + l] >> 4;
        }
}

}  // namespace

void pack_q4_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept {
    pack_rows<block_q4_K, block_q4_K_x16>(rows, row_bytes, k, group, [](block_q4_K_x16& o, int r, const block_q4_K& x) {
        o.d[r] = x.d;
        o.dmin[r] = x.dmin;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            quant::k4_scale_min(j, x.scales, sc, m);
            o.sc[j][r] = sc;
            o.mn[j / 2][r][j % 2] = m;
        }
        uint8_t q[qk_k];
        q4_quants(x, q);
        for (int j = 0; j < 8; ++j)
            for (int v = 0; v < 4; ++v) {
                const uint8_t* e = q + 32 * j + 8 * v;
                for (int b = 0; b < 4; ++b) o.qs[j][v][4 * r + b] = uint8_t(e[b] | e[b + 4] << 4);
            }
    });
}

void unpack_q4_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept {
    unpack_rows<block_q4_K, block_q4_K_x16>(group, k, rows, row_bytes, [](const block_q4_K_x16& p, int r, block_q4_K& x) {
        x.d = p.d[r];
        x.dmin = p.dmin[r];
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; ++j) {
            sc[j] = p.sc[j][r];
            m[j] = p.mn[j / 2][r][j % 2];
        }
        quant::k4_pack_scales(sc, m, x.scales);
        for (int j = 0; j < 8; ++j)
            for (int v = 0; v < 4; ++v)
                for (int b = 0; b < 4; ++b) {
                    const int e = 32 * j + 8 * v + b;
                    const int byte = p.qs[j][v][4 * r + b];
                    for (const auto& [elem, q] : {std::pair{e, byte & 15}, std::pair{e + 4, byte >> 4}}) {
                        const int c = elem / 64, l = elem % 64;
                        if (l < 32) x.qs[32 * c + l] = uint8_t(x.qs[32 * c + l] | q);
                        else x.qs[32 * c + l - 32] = uint8_t(x.qs[32 * c + l - 32] | q << 4);
                    }
                }
    });
}

// ---- Q2_K ---------------------------------------------------------------------------------------

size_t q2_K_x16_bytes(int64_t k) noexcept { return size_t(k / qk_k) * sizeof(block_q2_K_x16); }

namespace {

// The 256 quants of a Q2_K block: byte qs[32h + l] holds element 128h + 32s + l in bit pair s.
inline void q2_quants(const block_q2_K& b, uint8_t* q) noexcept {
    for (int h = 0; h < 2; ++h)
        for (int s = 0; s < 4; ++s)
            for (int l = 0; l < 32; ++l) q[128 * h + 32 * s + l] = (b.qs[32 * h + l] >> (2 * s)) & 3;
}

}  // namespace

void pack_q2_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept {
    pack_rows<block_q2_K, block_q2_K_x16>(rows, row_bytes, k, group, [](block_q2_K_x16& o, int r, const block_q2_K& x) {
        o.d[r] = x.d;
        o.dmin[r] = x.dmin;
        for (int j = 0; j < 16; ++j) o.sm[j / 2][r][j % 2] = x.scales[j];
        uint8_t q[qk_k];
        q2_quants(x, q);
        for (int j = 0; j < 16; ++j)
            for (int b = 0; b < 4; ++b) {
                const uint8_t* e = q + 16 * j + b;
                o.qs[j][4 * r + b] = uint8_t(e[0] | e[4] << 2 | e[8] << 4 | e[12] << 6);
            }
    });
}

void unpack_q2_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept {
    unpack_rows<block_q2_K, block_q2_K_x16>(group, k, rows, row_bytes, [](const block_q2_K_x16& p, int r, block_q2_K& x) {
        x.d = p.d[r];
        x.dmin = p.dmin[r];
        for (int j = 0; j < 16; ++j) x.scales[j] = p.sm[j / 2][r][j % 2];
        for (int j = 0; j < 16; ++j)
            for (int b = 0; b < 4; ++b)
                for (int i = 0; i < 4; ++i) {
                    const int e = 16 * j + 4 * i + b, h = e / 128, s = (e % 128) / 32, l = e % 32;
                    x.qs[32 * h + l] = uint8_t(x.qs[32 * h + l] | ((p.qs[j][4 * r + b] >> (2 * i)) & 3) << (2 * s));
                }
    });
}

namespace {

// As quant::ref::vec_dot for Q2_K, row by row.
void q2_dot_reference(int64_t k, float* s, const void* group, const void* vy) {
    rows_dot<block_q2_K_x16>(k, s, group, vy, [](const block_q2_K_x16& p, int r, const block_q8_K& a) {
        int32_t sum_scaled = 0, sum_mins = 0;
        for (int j = 0; j < 16; ++j) {
            int32_t dot = 0;
            for (int b = 0; b < 4; ++b)
                for (int i = 0; i < 4; ++i) dot += ((p.qs[j][4 * r + b] >> (2 * i)) & 3) * a.qs[16 * j + 4 * i + b];
            const int sm = p.sm[j / 2][r][j % 2];
            sum_scaled += (sm & 0x0f) * dot;
            sum_mins += (sm >> 4) * a.bsums[j];
        }
        return double(a.d) * (double(fp16_to_fp32(p.d[r])) * sum_scaled - double(fp16_to_fp32(p.dmin[r])) * sum_mins);
    });
}

}  // namespace

// ---- Q3_K ---------------------------------------------------------------------------------------

size_t q3_K_x16_bytes(int64_t k) noexcept { return size_t(k / qk_k) * sizeof(block_q3_K_x16); }

void pack_q3_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept {
    pack_rows<block_q3_K, block_q3_K_x16>(rows, row_bytes, k, group, [](block_q3_K_x16& o, int r, const block_q3_K& x) {
        o.d[r] = x.d;
        for (int j = 0; j < 16; ++j) o.sc[j / 2][r][j % 2] = int8_t(quant::q3_K_scale(j, x.scales));
        uint8_t q[qk_k], hb[qk_k];
        for (int h = 0; h < 2; ++h)  // as Q2_K: byte qs[32h + l], bit pair s is element 128h + 32s + l
            for (int s = 0; s < 4; ++s)
                for (int l = 0; l < 32; ++l) q[128 * h + 32 * s + l] = (x.qs[32 * h + l] >> (2 * s)) & 3;
        for (int e = 0; e < qk_k; ++e) hb[e] = (x.hmask[e % 32] >> (e / 32)) & 1;
        for (int j = 0; j < 16; ++j)
            for (int b = 0; b < 4; ++b) {
                const uint8_t* e = q + 16 * j + b;
                o.q[j / 2].qs[j % 2][4 * r + b] = uint8_t(e[0] | e[4] << 2 | e[8] << 4 | e[12] << 6);
            }
        for (int p = 0; p < 8; ++p)
            for (int b = 0; b < 4; ++b) {
                int bits = 0;
                for (int t = 0; t < 8; ++t) bits |= hb[16 * (2 * p + t / 4) + 4 * (t % 4) + b] << t;
                o.q[p].hm[4 * r + b] = uint8_t(bits);
            }
    });
}

void unpack_q3_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept {
    unpack_rows<block_q3_K, block_q3_K_x16>(group, k, rows, row_bytes, [](const block_q3_K_x16& p, int r, block_q3_K& x) {
        x.d = p.d[r];
        uint8_t u[16];
        for (int j = 0; j < 16; ++j) u[j] = uint8_t(p.sc[j / 2][r][j % 2] + 32);
        quant::q3_K_pack_scales(u, x.scales);
        for (int j = 0; j < 16; ++j)
            for (int b = 0; b < 4; ++b)
                for (int i = 0; i < 4; ++i) {
                    const int e = 16 * j + 4 * i + b, h = e / 128, s = (e % 128) / 32, l = e % 32;
                    x.qs[32 * h + l] = uint8_t(x.qs[32 * h + l] | ((p.q[j / 2].qs[j % 2][4 * r + b] >> (2 * i)) & 3) << (2 * s));
                    const int t = 4 * (j % 2) + i;
                    x.hmask[e % 32] = uint8_t(x.hmask[e % 32] | ((p.q[j / 2].hm[4 * r + b] >> t) & 1) << (e / 32));
                }
    });
}

namespace {

// As quant::ref::vec_dot for Q3_K, row by row: q = low two bits + 4·high bit - 4.
void q3_dot_reference(int64_t k, float* s, const void* group, const void* vy) {
    rows_dot<block_q3_K_x16>(k, s, group, vy, [](const block_q3_K_x16& p, int r, const block_q8_K& a) {
        int32_t sum = 0;
        for (int j = 0; j < 16; ++j) {
            int32_t dot = 0;
            for (int b = 0; b < 4; ++b)
                for (int i = 0; i < 4; ++i) {
                    const int q = ((p.q[j / 2].qs[j % 2][4 * r + b] >> (2 * i)) & 3) + 4 * ((p.q[j / 2].hm[4 * r + b] >> (4 * (j % 2) + i)) & 1) - 4;
                    dot += q * a.qs[16 * j + 4 * i + b];
                }
            sum += p.sc[j / 2][r][j % 2] * dot;
        }
        return double(a.d) * double(fp16_to_fp32(p.d[r])) * sum;
    });
}

}  // namespace

// ---- Q6_K ---------------------------------------------------------------------------------------

size_t q6_K_x16_bytes(int64_t k) noexcept { return size_t(k / qk_k) * sizeof(block_q6_K_x16); }

namespace {

// Where element e of a Q6_K block keeps its bits (formats.md §2.8): e = 128h + 32k + l has its
// low nibble in ql[64h + 32(k%2) + l] (low nibble for k < 2) and its top bits in bit pair k of
// qh[32h + l].
struct q6_site {
    int ql, lo_shift, qh, hi_shift;
};
inline q6_site q6_site_of(int e) noexcept {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    return {64 * h + 32 * (k % 2) + l, k < 2 ? 0 : 4, 32 * h + l, 2 * k};
}

}  // namespace

void pack_q6_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept {
    pack_rows<block_q6_K, block_q6_K_x16>(rows, row_bytes, k, group, [](block_q6_K_x16& o, int r, const block_q6_K& x) {
        o.d[r] = x.d;
        for (int j = 0; j < 16; ++j) o.sc[j / 2][r][j % 2] = x.scales[j];
        uint8_t u[qk_k];  // q + 32, 0..63
        for (int e = 0; e < qk_k; ++e) {
            const q6_site st = q6_site_of(e);
            u[e] = uint8_t(((x.ql[st.ql] >> st.lo_shift) & 15) | ((x.qh[st.qh] >> st.hi_shift) & 3) << 4);
        }
        for (int p = 0; p < 8; ++p)
            for (int b = 0; b < 4; ++b) {
                const uint8_t* e = u + 32 * p + b;  // quad g: e[4g]
                for (int L = 0; L < 4; ++L)
                    o.q[p].v[3 * (L / 2) + 2 * (L % 2)][4 * r + b] = uint8_t((e[8 * L] & 15) | (e[8 * L + 4] & 15) << 4);
                for (int T = 0; T < 2; ++T) {
                    int bits = 0;
                    for (int i = 0; i < 4; ++i) bits |= (e[4 * (4 * T + i)] >> 4) << (2 * i);
                    o.q[p].v[3 * T + 1][4 * r + b] = uint8_t(bits);
                }
            }
    });
}

namespace {

// u = q + 32 of element 32p + 4g + b of lane r.
inline int q6_packed_u(const block_q6_K_x16& p, int r, int e) noexcept {
    const int pr = e / 32, g = (e % 32) / 4, b = e % 4;
    const int L = g / 2, T = g / 4;
    const int low = (p.q[pr].v[3 * (L / 2) + 2 * (L % 2)][4 * r + b] >> (4 * (g % 2))) & 15;
    const int high = (p.q[pr].v[3 * T + 1][4 * r + b] >> (2 * (g % 4))) & 3;
    return low | high << 4;
}

}  // namespace

void unpack_q6_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept {
    unpack_rows<block_q6_K, block_q6_K_x16>(group, k, rows, row_bytes, [](const block_q6_K_x16& p, int r, block_q6_K& x) {
        x.d = p.d[r];
        for (int j = 0; j < 16; ++j) x.scales[j] = p.sc[j / 2][r][j % 2];
        for (int e = 0; e < qk_k; ++e) {
            const q6_site st = q6_site_of(e);
            const int u = q6_packed_u(p, r, e);
            x.ql[st.ql] = uint8_t(x.ql[st.ql] | (u & 15) << st.lo_shift);
            x.qh[st.qh] = uint8_t(x.qh[st.qh] | (u >> 4) << st.hi_shift);
        }
    });
}

namespace {

// As quant::ref::vec_dot for Q6_K, row by row: q = u - 32.
void q6_dot_reference(int64_t k, float* s, const void* group, const void* vy) {
    rows_dot<block_q6_K_x16>(k, s, group, vy, [](const block_q6_K_x16& p, int r, const block_q8_K& a) {
        int32_t sum = 0;
        for (int j = 0; j < 16; ++j) {
            int32_t dot = 0;
            for (int e = 16 * j; e < 16 * j + 16; ++e) dot += (q6_packed_u(p, r, e) - 32) * a.qs[e];
            sum += p.sc[j / 2][r][j % 2] * dot;
        }
        return double(a.d) * double(fp16_to_fp32(p.d[r])) * sum;
    });
}

}  // namespace

namespace {

// As quant::ref::vec_dot for Q4_K, row by row.
void q4_dot_reference(int64_t k, float* s, const void* group, const void* vy) {
    rows_dot<block_q4_K_x16>(k, s, group, vy, [](const block_q4_K_x16& p, int r, const block_q8_K& a) {
        int32_t sum_scaled = 0, sum_mins = 0;
        for (int j = 0; j < 8; ++j) {
            int32_t dot = 0;
            for (int v = 0; v < 4; ++v)
                for (int b = 0; b < 4; ++b) {
                    const int byte = p.qs[j][v][4 * r + b];
                    dot += (byte & 15) * a.qs[32 * j + 8 * v + b] + (byte >> 4) * a.qs[32 * j + 8 * v + 4 + b];
                }
            sum_scaled += p.sc[j][r] * dot;
            sum_mins += p.mn[j / 2][r][j % 2] * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
        }
        return double(a.d) * (double(fp16_to_fp32(p.d[r])) * sum_scaled - double(fp16_to_fp32(p.dmin[r])) * sum_mins);
    });
}

template <void (*dot)(int64_t, float*, const void*, const void*)> void gemm_reference(const gemm_args& a) {
    const auto* w = static_cast<const std::byte*>(a.w);
    const auto* x = static_cast<const std::byte*>(a.act);
    for (int64_t g = 0; g < a.n_rows / k_pack_rows; ++g)
        for (int64_t t = 0; t < a.n_tok; ++t)
            dot(a.k, a.y + t * a.y_stride + g * k_pack_rows, w + size_t(g) * a.w_row_bytes, x + size_t(t) * a.act_row_bytes);
}

}  // namespace

// The scalar table's entry of one packed form: reference dot and gemm, never preferred by loaders.
template <size_t (*bytes)(int64_t) noexcept, void (*pack)(const void*, size_t, int64_t, void*) noexcept,
          void (*unpack)(const void*, int64_t, void*, size_t) noexcept, void (*dot)(int64_t, float*, const void*, const void*)>
const packed_kernels& reference_entry() noexcept {
    static const packed_kernels k{bytes, pack, unpack, dot, gemm_reference<dot>, nullptr, false};
    return k;
}

const packed_kernels& q4_K_x16_reference() noexcept {
    return reference_entry<q4_K_x16_bytes, pack_q4_K_x16, unpack_q4_K_x16, q4_dot_reference>();
}
const packed_kernels& q3_K_x16_reference() noexcept {
    return reference_entry<q3_K_x16_bytes, pack_q3_K_x16, unpack_q3_K_x16, q3_dot_reference>();
}
const packed_kernels& q6_K_x16_reference() noexcept {
    return reference_entry<q6_K_x16_bytes, pack_q6_K_x16, unpack_q6_K_x16, q6_dot_reference>();
}
const packed_kernels& q2_K_x16_reference() noexcept {
    return reference_entry<q2_K_x16_bytes, pack_q2_K_x16, unpack_q2_K_x16, q2_dot_reference>();
}

}  // namespace ember::kernels::packed
