// A deliberately naive dequantizer for the tests: one element at a time, straight from the
// byte offsets of formats.md §2 and the "where element e lives" table of §2.10, reading raw
// bytes (no block structs, no shared helpers). It is the independent check of the library's
// reference dequantizers, so it must not be "improved" by sharing code with them.
//
// The f32 expressions are written in the evaluation order of §2; the test translation units are
// compiled with -ffp-contract=off so that they round exactly like the reference.
#pragma once

#include <cstdint>
#include <cstring>

#include "ember/fp16.hpp"
#include "ember/types.hpp"

namespace ember::test {

inline float naive_f16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_fp32(h);
}
inline int naive_lo(uint8_t b) { return b & 0x0f; }
inline int naive_hi(uint8_t b) { return b >> 4; }

// Element e of the block at `blk` (block_bytes of type t).
inline float naive_element(ggml_type t, const uint8_t* blk, int e) {
    switch (t) {
        case ggml_type::q4_0: {  // d @0, qs[16] @2
            const uint8_t* qs = blk + 2;
            const int q = e < 16 ? naive_lo(qs[e]) : naive_hi(qs[e - 16]);
            return float(q - 8) * naive_f16(blk);
        }
        case ggml_type::q4_1: {  // d @0, m @2, qs[16] @4
            const uint8_t* qs = blk + 4;
            const int q = e < 16 ? naive_lo(qs[e]) : naive_hi(qs[e - 16]);
            return float(q) * naive_f16(blk) + naive_f16(blk + 2);
        }
        case ggml_type::q5_0: {  // d @0, qh u32 @2, qs[16] @6
            uint32_t qh;
            std::memcpy(&qh, blk + 2, 4);
            const uint8_t* qs = blk + 6;
            const int low = e < 16 ? naive_lo(qs[e]) : naive_hi(qs[e - 16]);
            const int q = low | int(((qh >> e) & 1) << 4);
            return float(q - 16) * naive_f16(blk);
        }
        case ggml_type::q5_1: {  // d @0, m @2, qh u32 @4, qs[16] @8
            uint32_t qh;
            std::memcpy(&qh, blk + 4, 4);
            const uint8_t* qs = blk + 8;
            const int low = e < 16 ? naive_lo(qs[e]) : naive_hi(qs[e - 16]);
            const int q = low | int(((qh >> e) & 1) << 4);
            return float(q) * naive_f16(blk) + naive_f16(blk + 2);
        }
        case ggml_type::q8_0:  // d @0, qs[32] i8 @2
            return float(int8_t(blk[2 + e])) * naive_f16(blk);
        case ggml_type::q2_K: {  // scales[16] @0, qs[64] @16, d @80, dmin @82
            const uint8_t sc = blk[e / 16];
            const int q = (blk[16 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            return (naive_f16(blk + 80) * float(naive_lo(sc))) * float(q) - naive_f16(blk + 82) * float(naive_hi(sc));
        }
        case ggml_type::q3_K: {  // hmask[32] @0, qs[64] @32, scales[12] @96, d @108
            const uint8_t* s = blk + 96;
            const int j = e / 16;
            const int u_low = j < 8 ? naive_lo(s[j]) : naive_hi(s[j - 8]);
            const int u_high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
            const int sj = (u_low | (u_high << 4)) - 32;
            const int q2 = (blk[32 + 32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            const int hbit = (blk[e % 32] >> (e / 32)) & 1;
            const int q = q2 - (hbit ? 0 : 4);
            return (naive_f16(blk + 108) * float(sj)) * float(q);
        }
        case ggml_type::q4_K:
        case ggml_type::q5_K: {  // d @0, dmin @2, s[12] @4, [Q5_K: qh[32] @16], qs[128] @16 or @48
            const uint8_t* s = blk + 4;
            const int j = e / 32;
            int sc, m;
            if (j < 4) {
                sc = s[j] & 63;
                m = s[j + 4] & 63;
            } else {
                sc = naive_lo(s[j + 4]) | ((s[j - 4] >> 6) << 4);
                m = naive_hi(s[j + 4]) | ((s[j] >> 6) << 4);
            }
            const bool five = t == ggml_type::q5_K;
            const uint8_t byte = blk[(five ? 48 : 16) + 32 * (e / 64) + e % 32];
            int q = e % 64 < 32 ? naive_lo(byte) : naive_hi(byte);
            if (five) q |= ((blk[16 + e % 32] >> (e / 32)) & 1) << 4;
            return (naive_f16(blk) * float(sc)) * float(q) - (naive_f16(blk + 2) * float(m));
        }
        case ggml_type::q6_K: {  // ql[128] @0, qh[64] @128, scales[16] i8 @192, d @208
            const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
            const uint8_t lb = blk[64 * h + 32 * (k % 2) + l];
            const int low4 = k < 2 ? naive_lo(lb) : naive_hi(lb);
            const int high2 = (blk[128 + 32 * h + l] >> (2 * k)) & 3;
            const int q = (low4 | (high2 << 4)) - 32;
            return (naive_f16(blk + 208) * float(int8_t(blk[192 + e / 16]))) * float(q);
        }
        default: return 0.0f;
    }
}

}  // namespace ember::test
