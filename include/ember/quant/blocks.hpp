// Quantized block layouts (formats.md §2), byte for byte as ggml stores them in GGUF files.
//
// A row of a quantized tensor is an array of these structs. fp16 fields are raw IEEE binary16
// bits (convert with ember::fp16_to_fp32); multi-byte fields are little-endian, which is also
// the host order on every platform ember supports. Field comments give the element mapping; the
// bits-per-weight figure counts the scales, so it is the true storage cost.
//
// The small unpacking helpers at the end are shared by the scalar reference, the SIMD kernels
// and the quantizers so that the packing of the 6-bit scales is written down exactly once.
#pragma once

#include <cstdint>
#include <cstring>

#include "ember/types.hpp"

namespace ember::quant {

inline constexpr int qk = 32;     // elements per block of the legacy types (Q4_0 … Q8_1)
inline constexpr int qk_k = 256;  // elements per super-block of the K-quants

// ---- legacy 32-element blocks ----------------------------------------------------------------

// 4.5 bpw. x[e] = (q[e] - 8) * d.
struct block_q4_0 {
    uint16_t d;          // fp16 scale
    uint8_t qs[qk / 2];  // element j in lo(qs[j]), element j+16 in hi(qs[j])
};
static_assert(sizeof(block_q4_0) == 18);

// 5.0 bpw. x[e] = q[e] * d + m.
struct block_q4_1 {
    uint16_t d;          // fp16 scale
    uint16_t m;          // fp16 offset (the block minimum)
    uint8_t qs[qk / 2];  // as block_q4_0
};
static_assert(sizeof(block_q4_1) == 20);

// 5.5 bpw. x[e] = (q[e] - 16) * d, q = low nibble | bit e of qh << 4.
struct block_q5_0 {
    uint16_t d;          // fp16 scale
    uint8_t qh[4];       // little-endian u32: bit e is bit 4 of element e (bytes, to keep size 22)
    uint8_t qs[qk / 2];  // low 4 bits, as block_q4_0
};
static_assert(sizeof(block_q5_0) == 22);

// 6.0 bpw. x[e] = q[e] * d + m.
struct block_q5_1 {
    uint16_t d;          // fp16 scale
    uint16_t m;          // fp16 offset
    uint8_t qh[4];       // as block_q5_0
    uint8_t qs[qk / 2];  // as block_q5_0
};
static_assert(sizeof(block_q5_1) == 24);

// 8.5 bpw. x[e] = qs[e] * d. Both a weight type and the activation type of Q4_0/Q5_0/Q8_0.
struct block_q8_0 {
    uint16_t d;      // fp16 scale
    int8_t qs[qk];   // element e in qs[e]
};
static_assert(sizeof(block_q8_0) == 34);

// 9.0 bpw. Activation type of Q4_1/Q5_1: x[e] = qs[e] * d, and s caches d * Σ qs for the
// offset term m_w * s of the dot product.
struct block_q8_1 {
    uint16_t d;      // fp16 scale
    uint16_t s;      // fp16 of d * Σ qs (computed with the unrounded f32 d)
    int8_t qs[qk];
};
static_assert(sizeof(block_q8_1) == 36);

// ---- K-quant 256-element super-blocks ----------------------------------------------------------

// 2.625 bpw. 16 sub-blocks of 16: x[e] = (d * lo(scales[j])) * q[e] - dmin * hi(scales[j]).
struct block_q2_K {
    uint8_t scales[qk_k / 16];  // lo nibble: scale of sub-block j, hi nibble: its min
    uint8_t qs[qk_k / 4];       // qs[32h + l] holds elements 128h + l + 32s in bits 2s..2s+1
    uint16_t d;                 // fp16 super-scale of the scales
    uint16_t dmin;              // fp16 super-scale of the mins
};
static_assert(sizeof(block_q2_K) == 84);

// 3.4375 bpw. 16 sub-blocks of 16: x[e] = (d * s_j) * q[e], q in -4..3, s_j in -32..31.
struct block_q3_K {
    uint8_t hmask[qk_k / 8];  // bit k of hmask[l]: high bit of element l + 32k (set = no -4)
    uint8_t qs[qk_k / 4];     // low 2 bits, packed as block_q2_K
    uint8_t scales[12];       // sixteen 6-bit scales with bias 32, see q3_K_scale()
    uint16_t d;               // fp16 super-scale
};
static_assert(sizeof(block_q3_K) == 110);

// 4.5 bpw. 8 sub-blocks of 32: x[e] = (d * sc_j) * q[e] - (dmin * m_j), q in 0..15.
struct block_q4_K {
    uint16_t d;                // fp16 super-scale of the scales
    uint16_t dmin;             // fp16 super-scale of the mins
    uint8_t scales[12];        // eight 6-bit scales and eight 6-bit mins, see k4_scale_min()
    uint8_t qs[qk_k / 2];      // chunk c = e/64: lo(qs[32c + l]) is element 64c + l, hi is +32
};
static_assert(sizeof(block_q4_K) == 144);

// 5.5 bpw. As block_q4_K with a fifth bit: q in 0..31.
struct block_q5_K {
    uint16_t d;                // fp16 super-scale of the scales
    uint16_t dmin;             // fp16 super-scale of the mins
    uint8_t scales[12];        // packed as block_q4_K
    uint8_t qh[qk_k / 8];      // bit k of qh[l]: bit 4 of element l + 32k
    uint8_t qs[qk_k / 2];      // low 4 bits, packed as block_q4_K
};
static_assert(sizeof(block_q5_K) == 176);

// 6.5625 bpw. 16 sub-blocks of 16: x[e] = (d * scales[j]) * q[e], q in -32..31.
struct block_q6_K {
    uint8_t ql[qk_k / 2];      // low 4 bits, see formats.md §2.8
    uint8_t qh[qk_k / 4];      // high 2 bits: (qh[32h + l] >> 2k) & 3 for element 128h + 32k + l
    int8_t scales[qk_k / 16];  // signed sub-block scales
    uint16_t d;                // fp16 super-scale
};
static_assert(sizeof(block_q6_K) == 210);

// 9.125 bpw. Activation type of every K-quant: x[e] = d * qs[e]. d is f32, not fp16.
struct block_q8_K {
    float d;
    int8_t qs[qk_k];
    int16_t bsums[qk_k / 16];  // bsums[j] = Σ qs[16j … 16j+15], for the min terms of the dot product
};
static_assert(sizeof(block_q8_K) == 292);

// ---- packed (row-interleaved) forms, in memory only (kernels.hpp, packed_kernels) --------------

// Super-block sb of 16 consecutive Q4_K rows (rows 16g .. 16g+15, lane r = row 16g + r). The
// quants are regrouped so that 32-bit lane r of a 64-byte vector holds row r: byte b of lane r
// in qs[j][v] has element 32j + 8v + b in its low nibble and element 32j + 8v + 4 + b in its
// high nibble. The 6-bit scales and mins are stored unpacked, the mins as pairs (sub-blocks 2p
// and 2p+1 of row r in mn[p][r]). d and dmin are copied. 2368 bytes for 16 × 144.
struct block_q4_K_x16 {
    uint16_t d[16];
    uint16_t dmin[16];
    uint8_t sc[8][16];        // sc[j][r]: scale of sub-block j of row r
    uint8_t mn[4][16][2];     // mn[p][r][i]: min of sub-block 2p + i of row r
    uint8_t qs[8][4][64];
};
static_assert(sizeof(block_q4_K_x16) == 2368);

// Super-block sb of 16 consecutive Q2_K rows, lane r = row r as above. Byte b of lane r in
// qs[j] holds elements 16j + 4i + b of sub-block j in its bit pairs i = 0..3; the scale bytes
// (scale | min << 4) of sub-blocks 2p and 2p+1 of row r are sm[p][r]. 1344 bytes, as 16 × 84.
struct block_q2_K_x16 {
    uint16_t d[16];
    uint16_t dmin[16];
    uint8_t sm[8][16][2];
    uint8_t qs[16][64];
};
static_assert(sizeof(block_q2_K_x16) == 1344);

// Super-block sb of 16 consecutive Q3_K rows. The low two bits of the quants of sub-block j are
// laid out as in block_q2_K_x16 (q[j/2].qs[j%2]); bit t of byte b of lane r in q[p].hm is the
// high bit of element 16(2p + t/4) + 4(t%4) + b (sub-blocks 2p and 2p+1). The signed scales
// s_j (-32..31) of sub-blocks 2p and 2p+1 of row r are sc[p][r]. 1856 bytes for 16 × 110: whole
// 64-byte lines, so no vector load straddles two, and the kernel reads each block front to back
// (scales first, then each pair's quants and high bits together): with the high bits in a region
// of their own the hardware prefetcher lost track and generation ran 2-3× slower.
struct block_q3_K_x16 {
    int8_t sc[8][16][2];
    uint16_t d[16];
    uint8_t pad[32];
    struct pair {
        uint8_t qs[2][64];
        uint8_t hm[64];
    } q[8];
};
static_assert(sizeof(block_q3_K_x16) == 1856);

// Super-block sb of 16 consecutive Q6_K rows, in pairs of sub-blocks (32 elements, quads g = 0..7
// of elements 32p + 4g + b). Vector v of q[p] in the order the kernels read them, per sub-block
// s: low bits of quads 4s, 4s+1; top bits of quads 4s .. 4s+3; low bits of quads 4s+2, 4s+3.
// Low-bit vector L (L = 0..3, at v = 3(L/2) + 2(L%2)): byte b of lane r holds the low four bits
// of quad 2L in its low nibble and of quad 2L+1 in its high nibble. Top-bit vector T (T = 0, 1,
// at v = 3T + 1): bit pair i holds the top two bits of quad 4T + i. The signed scales of
// sub-blocks 2p and 2p+1 of row r are sc[p][r]. 3392 bytes (53 lines) for 16 × 210; read in
// any other order, streaming from memory ran 1.7× slower.
struct block_q6_K_x16 {
    int8_t sc[8][16][2];
    uint16_t d[16];
    uint8_t pad[32];
    struct pair {
        uint8_t v[6][64];
    } q[8];
};
static_assert(sizeof(block_q6_K_x16) == 3392);

// ---- block traits: type id and elements per block, for generic code and tests --------------------

template <class Block> struct block_traits;
#define EMBER_BLOCK_TRAITS(name, n)                                      \
    template <> struct block_traits<block_##name> {                      \
        static constexpr ggml_type type = ggml_type::name;               \
        static constexpr int elements = n;                               \
    };
EMBER_BLOCK_TRAITS(q4_0, qk)
EMBER_BLOCK_TRAITS(q4_1, qk)
EMBER_BLOCK_TRAITS(q5_0, qk)
EMBER_BLOCK_TRAITS(q5_1, qk)
EMBER_BLOCK_TRAITS(q8_0, qk)
EMBER_BLOCK_TRAITS(q8_1, qk)
EMBER_BLOCK_TRAITS(q2_K, qk_k)
EMBER_BLOCK_TRAITS(q3_K, qk_k)
EMBER_BLOCK_TRAITS(q4_K, qk_k)
EMBER_BLOCK_TRAITS(q5_K, qk_k)
EMBER_BLOCK_TRAITS(q6_K, qk_k)
EMBER_BLOCK_TRAITS(q8_K, qk_k)
#undef EMBER_BLOCK_TRAITS

// ---- unpacking helpers ---------------------------------------------------------------------------

inline uint32_t load_u32_le(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);  // hosts are little-endian (big-endian GGUF files are rejected)
    return v;
}

// Scale and min of sub-block j (0..7) of a Q4_K/Q5_K block, both 6-bit (formats.md §2.6):
// bytes 0-3 hold sc_0..3 in their low 6 bits, bytes 4-7 hold m_0..3; the 6-bit values of
// sub-blocks 4..7 are split into a nibble in bytes 8-11 and two bits on top of bytes 0-7.
inline void k4_scale_min(int j, const uint8_t* s, uint8_t& sc, uint8_t& m) noexcept {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = uint8_t((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
        m = uint8_t((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// Inverse of k4_scale_min for all eight sub-blocks (values must be < 64).
inline void k4_pack_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12]) noexcept {
    for (int j = 0; j < 4; ++j) {
        s[j] = uint8_t((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = uint8_t((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        s[j + 8] = uint8_t((sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4));
    }
}

// Signed scale s_j (-32..31) of sub-block j (0..15) of a Q3_K block (formats.md §2.5): the low
// nibble comes from byte j (j < 8) or the high nibble of byte j-8, the top two bits from byte
// 8 + j%4 at bit 2*(j/4); the 6-bit value carries a bias of 32.
inline int q3_K_scale(int j, const uint8_t* s) noexcept {
    const int low = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

// Inverse of q3_K_scale: u[j] = s_j + 32 in 0..63.
inline void q3_K_pack_scales(const uint8_t u[16], uint8_t s[12]) noexcept {
    std::memset(s, 0, 12);
    for (int j = 0; j < 16; ++j) {
        if (j < 8)
            s[j] = uint8_t(s[j] | (u[j] & 0x0f));
        else
            s[j - 8] = uint8_t(s[j - 8] | ((u[j] & 0x0f) << 4));
        s[8 + j % 4] = uint8_t(s[8 + j % 4] | ((u[j] >> 4) << (2 * (j / 4))));
    }
}

}  // namespace ember::quant
