// Building blocks of the batched products (gemm_fn, kernels.hpp) of the x86 tiers.
//
// Layout, "rows in lanes": a group of V weight rows (V = 16 with 512-bit vectors, 8 with 256) is
// converted once per call into a tile where 32-bit lane r of a vector holds data of row r: four
// consecutive quants of the row (quantized types) or one value (float types). One broadcast of
// four activation quants of a token then feeds all V rows with a single dot_u8s8, each loaded
// tile vector is reused by N tokens held in registers, and the V results of a token are V
// consecutive floats of y: one vector store. Per-row scales are vectors too, so the scale
// arithmetic after each block runs for V rows at once instead of once per dot product.
//
// The conversion costs a few operations per weight byte, once per call; every one of the call's
// tokens then reuses the tile, which is why the caller (ops.cpp) keeps n_tok = 1 on vec_dot.
#pragma once

#include <cstddef>

#include "kernels/simd_base.hpp"

namespace ember::kernels::EMBER_SIMD_NS::gemm {

#if EMBER_SIMD_512
using ivec = __m512i;
using fvec = __m512;
inline constexpr int V = 16;
inline ivec vload(const void* p) noexcept { return _mm512_load_si512(p); }
inline void vstore(void* p, ivec v) noexcept { _mm512_store_si512(p, v); }
inline ivec vbcast(const void* p) noexcept { return _mm512_set1_epi32(int32_t(load_u32(p))); }
inline ivec vzero() noexcept { return _mm512_setzero_si512(); }
inline ivec vadd(ivec a, ivec b) noexcept { return _mm512_add_epi32(a, b); }
inline ivec vsub(ivec a, ivec b) noexcept { return _mm512_sub_epi32(a, b); }
inline ivec vmullo(ivec a, ivec b) noexcept { return _mm512_mullo_epi32(a, b); }
inline ivec vmaddubs(ivec a, ivec b) noexcept { return _mm512_maddubs_epi16(a, b); }
inline ivec vmadd(ivec a, ivec b) noexcept { return _mm512_madd_epi16(a, b); }
inline fvec vcvt(ivec a) noexcept { return _mm512_cvtepi32_ps(a); }
inline fvec vzerof() noexcept { return _mm512_setzero_ps(); }
inline fvec vloadf(const float* p) noexcept { return _mm512_load_ps(p); }
inline fvec vbcastf(const void* p) noexcept { return _mm512_set1_ps(float_of(load_u32(p))); }
inline fvec vmulf(fvec a, fvec b) noexcept { return _mm512_mul_ps(a, b); }
inline fvec vfmadd(fvec a, fvec b, fvec c) noexcept { return _mm512_fmadd_ps(a, b, c); }
inline fvec vfmsub(fvec a, fvec b, fvec c) noexcept { return _mm512_fmsub_ps(a, b, c); }
inline void vstoref(float* p, fvec v) noexcept { _mm512_store_ps(p, v); }
inline void vstoreuf(float* p, fvec v) noexcept { _mm512_storeu_ps(p, v); }
#else
using ivec = __m256i;
using fvec = __m256;
inline constexpr int V = 8;
inline ivec vload(const void* p) noexcept { return _mm256_load_si256(static_cast<const __m256i*>(p)); }
inline void vstore(void* p, ivec v) noexcept { _mm256_store_si256(static_cast<__m256i*>(p), v); }
inline ivec vbcast(const void* p) noexcept { return _mm256_set1_epi32(int32_t(load_u32(p))); }
inline ivec vzero() noexcept { return _mm256_setzero_si256(); }
inline ivec vadd(ivec a, ivec b) noexcept { return _mm256_add_epi32(a, b); }
inline ivec vsub(ivec a, ivec b) noexcept { return _mm256_sub_epi32(a, b); }
inline ivec vmullo(ivec a, ivec b) noexcept { return _mm256_mullo_epi32(a, b); }
inline ivec vmaddubs(ivec a, ivec b) noexcept { return _mm256_maddubs_epi16(a, b); }
inline ivec vmadd(ivec a, ivec b) noexcept { return _mm256_madd_epi16(a, b); }
inline fvec vcvt(ivec a) noexcept { return _mm256_cvtepi32_ps(a); }
inline fvec vzerof() noexcept { return _mm256_setzero_ps(); }
inline fvec vloadf(const float* p) noexcept { return _mm256_load_ps(p); }
inline fvec vbcastf(const void* p) noexcept { return _mm256_set1_ps(float_of(load_u32(p))); }
inline fvec vmulf(fvec a, fvec b) noexcept { return _mm256_mul_ps(a, b); }
inline fvec vfmadd(fvec a, fvec b, fvec c) noexcept { return _mm256_fmadd_ps(a, b, c); }
inline fvec vfmsub(fvec a, fvec b, fvec c) noexcept { return _mm256_fmsub_ps(a, b, c); }
inline void vstoref(float* p, fvec v) noexcept { _mm256_store_ps(p, v); }
inline void vstoreuf(float* p, fvec v) noexcept { _mm256_storeu_ps(p, v); }
#endif

inline constexpr size_t vbytes = size_t(V) * 4;  // one tile vector

inline int64_t min64(int64_t a, int64_t b) noexcept { return a < b ? a : b; }
inline size_t round_up(size_t n, size_t to) noexcept { return (n + to - 1) / to * to; }

// ---- transposition -------------------------------------------------------------------------------

// rows[r] points at n_quads·4 bytes of row r (r < V); out receives n_quads vectors, vector g
// holding dword g of every row in lane r. n_quads is a multiple of V.
inline void transpose_rows(const uint8_t* const* rows, int n_quads, uint8_t* out) noexcept {
    for (int g0 = 0; g0 < n_quads; g0 += V) {
#if EMBER_SIMD_512
        __m512i r[16], a[16], b[16];
        for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(rows[i] + 4 * g0);
        for (int i = 0; i < 8; ++i) {
            a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
            a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
        }
        // b[4i + c], 128-bit lane L: rows 4i..4i+3 of dword 4L + c
        for (int i = 0; i < 4; ++i) {
            b[4 * i + 0] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
            b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
            b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
            b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
        }
        for (int c = 0; c < 4; ++c) {
            const __m512i e0 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x44), e1 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xee);
            const __m512i f0 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x44), f1 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xee);
            uint8_t* o = out + size_t(g0) * vbytes;
            vstore(o + size_t(c) * vbytes, _mm512_shuffle_i32x4(e0, f0, 0x88));
            vstore(o + size_t(4 + c) * vbytes, _mm512_shuffle_i32x4(e0, f0, 0xdd));
            vstore(o + size_t(8 + c) * vbytes, _mm512_shuffle_i32x4(e1, f1, 0x88));
            vstore(o + size_t(12 + c) * vbytes, _mm512_shuffle_i32x4(e1, f1, 0xdd));
        }
#else
        __m256i r[8], a[8], b[8];
        for (int i = 0; i < 8; ++i) r[i] = load256(rows[i] + 4 * g0);
        for (int i = 0; i < 4; ++i) {
            a[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
            a[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 2; ++i) {
            b[4 * i + 0] = _mm256_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
            b[4 * i + 1] = _mm256_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
            b[4 * i + 2] = _mm256_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
            b[4 * i + 3] = _mm256_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
        }
        uint8_t* o = out + size_t(g0) * vbytes;
        for (int c = 0; c < 4; ++c) {
            vstore(o + size_t(c) * vbytes, _mm256_permute2x128_si256(b[c], b[4 + c], 0x20));
            vstore(o + size_t(4 + c) * vbytes, _mm256_permute2x128_si256(b[c], b[4 + c], 0x31));
        }
#endif
    }
}

// ---- prefetching the next row group ---------------------------------------------------------------

// The weights of the next row group, fetched into L2 a slice at a time while the tokens of the
// current group pass (token t of n_tok, in steps of `step`), so that the next conversion does not
// wait for memory. bytes ≤ 0 (no next group) fetches nothing.
struct prefetcher {
    const uint8_t* base = nullptr;
    size_t bytes = 0;
    int64_t n_tok, step;
    // rows [r0, r0 + V) of a matrix of n_rows rows
    prefetcher(const uint8_t* w, size_t row_bytes, int64_t r0, int64_t n_rows, int64_t tokens, int64_t tokens_per_step) noexcept
        : n_tok(tokens > 0 ? tokens : 1), step(tokens_per_step) {
        if (r0 >= n_rows) return;
        base = w + size_t(r0) * row_bytes;
        bytes = size_t(min64(V, n_rows - r0)) * row_bytes;
    }
    void fetch(int64_t t) const noexcept {
        const size_t b0 = bytes * size_t(t) / size_t(n_tok), b1 = bytes * size_t(min64(t + step, n_tok)) / size_t(n_tok);
        for (size_t off = b0 / 64 * 64; off < b1; off += 64) _mm_prefetch(reinterpret_cast<const char*>(base + off), _MM_HINT_T1);
    }
};

// ---- results ----------------------------------------------------------------------------------------

// acc[t] holds the V row results of token t; rows at and beyond n_rows are padding.
template <int N> inline void store_tokens(const fvec (&acc)[N], float* y, int64_t y_stride, int64_t n_rows) noexcept {
    for (int t = 0; t < N; ++t) {
        float* dst = y + t * y_stride;
        if (n_rows >= V) {
            vstoreuf(dst, acc[t]);
        } else {
            alignas(64) float tmp[V];
            vstoref(tmp, acc[t]);
            for (int64_t r = 0; r < n_rows; ++r) dst[r] = tmp[r];
        }
    }
}

}  // namespace ember::kernels::EMBER_SIMD_NS::gemm
