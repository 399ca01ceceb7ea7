// Attention tile and SiLU kernels (attention.hpp) for one x86 tier: 512-bit vectors under the
// AVX-512 flags, 256-bit ones under AVX2. Included only by kernels/<tier>/attention.cpp.
#pragma once

#include "runtime/attention.hpp"
#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS {

namespace attn {

#if EMBER_SIMD_512
using vf = __m512;
constexpr int W = 16;
inline vf zero() { return _mm512_setzero_ps(); }
inline vf set1(float x) { return _mm512_set1_ps(x); }
inline vf loadu(const float* p) { return _mm512_loadu_ps(p); }
inline vf loadu(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline void storeu(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline vf fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
inline vf mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf add(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf div(vf a, vf b) { return _mm512_div_ps(a, b); }
inline vf max(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf min(vf a, vf b) { return _mm512_min_ps(a, b); }
inline vf round_nearest(vf a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vf pow2i(vf n) {  // 2^n for integral n in [-126, 127]
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}
inline float reduce_add(vf v) { return hsum(v); }
// Lane j of the result = the sum of the lanes of a[j]: sixteen horizontal sums in 45 operations
// (pairs of vectors folded into one, halving the lanes each vector's sum is spread over).
inline vf reduce_add_lanes(const vf (&a)[W]) {
    vf r[8], q[4];
    for (int i = 0; i < 8; ++i) r[i] = add(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    // r[i], each 128-bit lane: [x0+x2, y0+y2, x1+x3, y1+y3] of its pair x, y
    for (int i = 0; i < 4; ++i) q[i] = add(_mm512_shuffle_ps(r[2 * i], r[2 * i + 1], 0x44), _mm512_shuffle_ps(r[2 * i], r[2 * i + 1], 0xee));
    // q[i], each 128-bit lane: that lane's sums of vectors 4i .. 4i+3
    const vf h01 = add(_mm512_shuffle_f32x4(q[0], q[1], 0x88), _mm512_shuffle_f32x4(q[0], q[1], 0xdd));
    const vf h23 = add(_mm512_shuffle_f32x4(q[2], q[3], 0x88), _mm512_shuffle_f32x4(q[2], q[3], 0xdd));
    return add(_mm512_shuffle_f32x4(h01, h23, 0x88), _mm512_shuffle_f32x4(h01, h23, 0xdd));
}
#else
using vf = __m256;
constexpr int W = 8;
inline vf zero() { return _mm256_setzero_ps(); }
inline vf set1(float x) { return _mm256_set1_ps(x); }
inline vf loadu(const float* p) { return _mm256_loadu_ps(p); }
inline vf loadu(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline void storeu(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline vf fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf add(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf div(vf a, vf b) { return _mm256_div_ps(a, b); }
inline vf max(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf min(vf a, vf b) { return _mm256_min_ps(a, b); }
inline vf round_nearest(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vf pow2i(vf n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}
inline float reduce_add(vf v) { return hsum(v); }
// Lane j of the result = the sum of the lanes of a[j] (see the 512-bit version).
inline vf reduce_add_lanes(const vf (&a)[W]) {
    vf r[4];
    for (int i = 0; i < 4; ++i) r[i] = add(_mm256_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm256_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    const vf h0 = add(_mm256_shuffle_ps(r[0], r[1], 0x44), _mm256_shuffle_ps(r[0], r[1], 0xee));
    const vf h1 = add(_mm256_shuffle_ps(r[2], r[3], 0x44), _mm256_shuffle_ps(r[2], r[3], 0xee));
    return add(_mm256_permute2f128_ps(h0, h1, 0x20), _mm256_permute2f128_ps(h0, h1, 0x31));
}
#endif

// e^x to about 2 ulp for x in [-87, 88] (below: a denormal-free tiny value, which every caller
// multiplies by something finite; e^-inf included). x = n·ln2 + r, |r| <= ln2/2, e^r by its
// degree-6 Taylor polynomial (truncation error < 1.2e-7 relative), 2^n through the exponent.
inline vf exp(vf x) {
    x = min(max(x, set1(-87.0f)), set1(88.0f));
    const vf n = round_nearest(mul(x, set1(1.44269504088896341f)));
    vf r = fma(n, set1(-0.693145751953125f), x);  // ln2 split in two so that n·ln2_hi is exact
    r = fma(n, set1(-1.428606765330187045e-06f), r);
    vf p = set1(1.0f / 720);
    p = fma(p, r, set1(1.0f / 120));
    p = fma(p, r, set1(1.0f / 24));
    p = fma(p, r, set1(1.0f / 6));
    p = fma(p, r, set1(0.5f));
    p = fma(p, r, set1(1.0f));
    p = fma(p, r, set1(1.0f));
    return mul(p, pow2i(n));
}

inline float exp1(float x) {  // the same function on one value (tails)
    float a[W] = {x};
    storeu(a, exp(loadu(a)));
    return a[0];
}

// One query row against the tile, head_dim = NV vectors (NV = 0: head_dim / W at run time).
template <int NV, class T>
void attend_row(const detail::attn_rows& r, int64_t row, const T* k, int64_t k_stride, const T* v, int64_t v_stride,
                const int32_t* idx, int64_t n_keys) {
    const int64_t nv = NV > 0 ? NV : r.head_dim / W;
    constexpr int NR = NV > 0 ? NV : 1;
    const float* q = r.q + row * r.head_dim;
    float* s = r.scores + row * detail::k_attn_tile;
    float mx = r.m[row];
    if constexpr (NV > 0) {
        vf qv[NR];
        for (int d = 0; d < NV; ++d) qv[d] = loadu(q + d * W);
        // W keys at a time: their W partial-sum vectors reduced together (reduce_add_lanes)
        int64_t j0 = 0;
        const vf vscale = set1(r.scale);
        vf vmax = set1(mx);
        for (; j0 + W <= n_keys; j0 += W) {
            vf a[W];
            for (int jj = 0; jj < W; ++jj) {
                const T* kj = k + idx[j0 + jj] * k_stride;
                a[jj] = mul(qv[0], loadu(kj));
                for (int d = 1; d < NV; ++d) a[jj] = fma(qv[d], loadu(kj + d * W), a[jj]);
            }
            const vf sv = mul(reduce_add_lanes(a), vscale);
            storeu(s + j0, sv);
            vmax = max(vmax, sv);
        }
        alignas(64) float lanes[W];
        storeu(lanes, vmax);
        for (int e = 0; e < W; ++e) mx = lanes[e] > mx ? lanes[e] : mx;
        for (int64_t j = j0; j < n_keys; ++j) {
            const T* kj = k + idx[j] * k_stride;
            vf a = mul(qv[0], loadu(kj));
            for (int d = 1; d < NV; ++d) a = fma(qv[d], loadu(kj + d * W), a);
            s[j] = reduce_add(a) * r.scale;
            mx = s[j] > mx ? s[j] : mx;
        }
    } else {
        for (int64_t j = 0; j < n_keys; ++j) {
            const T* kj = k + idx[j] * k_stride;
            vf a = zero();
            for (int64_t d = 0; d < nv; ++d) a = fma(loadu(q + d * W), loadu(kj + d * W), a);
            s[j] = reduce_add(a) * r.scale;
            mx = s[j] > mx ? s[j] : mx;
        }
    }
    const float c = exp1(r.m[row] - mx);
    const vf vmx = set1(mx);
    vf vsum = zero();
    int64_t j = 0;
    for (; j + W <= n_keys; j += W) {
        const vf p = exp(sub(loadu(s + j), vmx));
        storeu(s + j, p);
        vsum = add(vsum, p);
    }
    float sum = reduce_add(vsum);
    for (; j < n_keys; ++j) sum += (s[j] = exp1(s[j] - mx));
    r.m[row] = mx;
    r.l[row] = r.l[row] * c + sum;

    float* acc = r.acc + row * r.head_dim;
    const vf vc = set1(c);
    if constexpr (NV > 0) {
        // Two accumulator sets (even and odd keys) halve the chain of dependent FMAs.
        vf a[NR], b[NR];
        for (int d = 0; d < NV; ++d) {
            a[d] = mul(loadu(acc + d * W), vc);
            b[d] = zero();
        }
        int64_t jj = 0;
        for (; jj + 2 <= n_keys; jj += 2) {
            const vf p0 = set1(s[jj]), p1 = set1(s[jj + 1]);
            const T* v0 = v + idx[jj] * v_stride;
            const T* v1 = v + idx[jj + 1] * v_stride;
            for (int d = 0; d < NV; ++d) {
                a[d] = fma(p0, loadu(v0 + d * W), a[d]);
                b[d] = fma(p1, loadu(v1 + d * W), b[d]);
            }
        }
        if (jj < n_keys) {
            const vf p0 = set1(s[jj]);
            const T* v0 = v + idx[jj] * v_stride;
            for (int d = 0; d < NV; ++d) a[d] = fma(p0, loadu(v0 + d * W), a[d]);
        }
        for (int d = 0; d < NV; ++d) storeu(acc + d * W, add(a[d], b[d]));
    } else {
        for (int64_t d = 0; d < nv; ++d) storeu(acc + d * W, mul(loadu(acc + d * W), vc));
        for (int64_t jj = 0; jj < n_keys; ++jj) {
            const vf p = set1(s[jj]);
            const T* vj = v + idx[jj] * v_stride;
            for (int64_t d = 0; d < nv; ++d) storeu(acc + d * W, fma(p, loadu(vj + d * W), loadu(acc + d * W)));
        }
    }
}

template <class T>
void attend(const detail::attn_rows& r, const T* k, int64_t k_stride, const T* v, int64_t v_stride, const int32_t* idx,
            int64_t n_keys) {
    if (r.head_dim % W != 0) {
        if constexpr (sizeof(T) == 4) detail::attend_f32_ref(r, k, k_stride, v, v_stride, idx, n_keys);
        else detail::attend_f16_ref(r, k, k_stride, v, v_stride, idx, n_keys);
        return;
    }
    if constexpr (sizeof(T) == 2) {
        // Several rows read the same keys: convert the tile to f32 once and run them on that.
        if (r.tile && r.n_rows > 1) {
            const int64_t hd = r.head_dim;
            float* kt = r.tile;
            float* vt = r.tile + detail::k_attn_tile * hd;
            for (int64_t j = 0; j < n_keys; ++j) {
                const T* kj = k + idx[j] * k_stride;
                const T* vj = v + idx[j] * v_stride;
                for (int64_t d = 0; d < hd; d += W) {
                    storeu(kt + j * hd + d, loadu(kj + d));
                    storeu(vt + j * hd + d, loadu(vj + d));
                }
            }
            attend<float>(r, kt, hd, vt, hd, detail::k_attn_iota.data(), n_keys);
            return;
        }
    }
    for (int64_t row = 0; row < r.n_rows; ++row) {
        switch (r.head_dim / W) {
            case 2: attend_row<2>(r, row, k, k_stride, v, v_stride, idx, n_keys); break;
            case 4: attend_row<4>(r, row, k, k_stride, v, v_stride, idx, n_keys); break;
            case 8: attend_row<8>(r, row, k, k_stride, v, v_stride, idx, n_keys); break;
            case 16: attend_row<16>(r, row, k, k_stride, v, v_stride, idx, n_keys); break;
            default: attend_row<0>(r, row, k, k_stride, v, v_stride, idx, n_keys); break;
        }
    }
}

inline void attend_f32(const detail::attn_rows& r, const float* k, int64_t ks, const float* v, int64_t vs, const int32_t* idx,
                       int64_t n) {
    attend(r, k, ks, v, vs, idx, n);
}
inline void attend_f16(const detail::attn_rows& r, const uint16_t* k, int64_t ks, const uint16_t* v, int64_t vs,
                       const int32_t* idx, int64_t n) {
    attend(r, k, ks, v, vs, idx, n);
}

inline void silu_mul(float* g, const float* u, int64_t n) {
    int64_t i = 0;
    const vf one = set1(1.0f);
    for (; i + W <= n; i += W) {
        const vf x = loadu(g + i);
        storeu(g + i, mul(div(x, add(one, exp(sub(zero(), x)))), loadu(u + i)));
    }
    for (; i < n; ++i) g[i] = g[i] / (1.0f + exp1(-g[i])) * u[i];
}

}  // namespace attn

}  // namespace ember::kernels::EMBER_SIMD_NS
