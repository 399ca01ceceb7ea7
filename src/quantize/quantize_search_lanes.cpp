// Several groups at a time through the scale searches of quantize_search.cpp.
//
// The one-group searches are chains of dependent f32 sums: every candidate scale costs a serial
// pass over the group, so a K-quant super-block spends most of its time waiting on add latency.
// Here `lanes` (four) independent groups, sub-blocks of one super-block, advance side by side in
// the lanes of a vector, and every lane performs exactly the operations of the one-group function in
// the same order, with branches turned into per-lane selects. The results are therefore
// bit-identical to fit_asymmetric / fit_symmetric (tests/test_quant.cpp checks it).
//
// The vectors are GCC/Clang vector extensions of 16 bytes: portable code that maps onto one
// SSE2 (or NEON) register. Wider generic vectors were slower: without AVX, GCC lowers their
// compares and selects to scalar code. Compiled with -ffp-contract=off, so no lane ever fuses a
// multiply-add the reference does not.
#include <cstdint>

#include "quantize/quantize_search.hpp"

namespace ember::quant::detail {
namespace {

typedef float vf __attribute__((vector_size(4 * lanes)));
typedef int32_t vi __attribute__((vector_size(4 * lanes)));
constexpr int max_n = 32;

// Selects as bit operations: they vectorize everywhere, where GCC may scalarize a vector `?:`.
inline vi select(vi mask, vi a, vi b) { return (a & mask) | (b & ~mask); }
inline vf select(vi mask, vf a, vf b) { return (vf)select(mask, (vi)a, (vi)b); }
inline vf vabs(vf v) { return (vf)((vi)v & 0x7fffffff); }
inline vf to_float(vi v) { return __builtin_convertvector(v, vf); }
inline vi clamp(vi v, int lo, int hi) {
    const vi l = vi{} + lo, h = vi{} + hi;
    v = select(v < l, l, v);
    return select(v > h, h, v);
}

// nearest() of ref_quant_util.hpp, lane by lane: the same value for every input, NaN included.
inline vi nearest(vf v) {
    const vi r = ((vi)(v + 12582912.0f) & 0x7fffff) - 0x400000;
    const vi sat = ((vi{} + 4194304) & (v > 0)) | ((vi{} - 4194304) & (v < 0));
    return select(vabs(v) < 4194304.0f, r, sat);
}

// Group-major input (group g at x + g*n) to one vector per element index.
void transpose_in(int n, const float* x, vf* t) {
    for (int i = 0; i < n; ++i)
        for (int g = 0; g < lanes; ++g) t[i][g] = x[g * n + i];
}

}  // namespace

void fit_asymmetric_lanes(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* scales, float* neg_offsets,
                          float rmin, float rdelta, int nstep, bool use_mad) {
    if (n < 1 || n > max_n) return;  // callers pass sub-blocks of 16 or 32
    vf xt[max_n], wt[max_n];
    transpose_in(n, x, xt);
    transpose_in(n, weights, wt);
    const vf zero = {};

    vf mn = xt[0], mx = xt[0], sum_w = wt[0], sum_x = sum_w * xt[0];
    for (int i = 1; i < n; ++i) {
        mn = select(xt[i] < mn, xt[i], mn);
        mx = select(xt[i] > mx, xt[i], mx);
        sum_w += wt[i];
        sum_x += wt[i] * xt[i];
    }
    mn = select(mn > 0, zero, mn);  // the offset only ever lowers the levels
    const vi flat = mx == mn;       // every level 0, no search

    // Levels of a candidate as floats; the error of (scale, offset) with them.
    vf lv[max_n];
    auto round_levels = [&](vf iscale, vf offset) {
        for (int i = 0; i < n; ++i) lv[i] = to_float(clamp(nearest(iscale * (xt[i] - offset)), 0, nmax));
    };
    auto error = [&](vf scale, vf offset) {
        vf err = zero;
        for (int i = 0; i < n; ++i) {
            vf diff = scale * lv[i] + offset - xt[i];
            diff = use_mad ? vabs(diff) : diff * diff;
            err += wt[i] * diff;
        }
        return err;
    };

    // `offset` is the running best offset; as in the one-group search, later candidates round
    // against it. Rather than copying the winning levels at every step, remember how they were
    // rounded (reciprocal scale and offset) and round them again at the end.
    vf offset = mn;
    vf iscale = float(nmax) / (mx - mn);
    vf scale = 1 / iscale;
    vf best_iscale = iscale, best_round_offset = mn;
    round_levels(iscale, mn);
    vf best = error(scale, offset);

    for (int step = 0; nstep >= 1 && step <= nstep; ++step) {
        iscale = (rmin + rdelta * float(step) + float(nmax)) / (mx - offset);
        round_levels(iscale, offset);
        vf sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < n; ++i) {
            sum_l += wt[i] * lv[i];
            sum_l2 += wt[i] * lv[i] * lv[i];
            sum_xl += wt[i] * lv[i] * xt[i];
        }
        const vf det = sum_w * sum_l2 - sum_l * sum_l;
        const vf s = (sum_w * sum_xl - sum_x * sum_l) / det;
        const vf o = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        const vi positive = o > 0;  // not representable: refit the scale alone
        const vf this_offset = select(positive, zero, o);
        const vf this_scale = select(positive, sum_xl / sum_l2, s);
        const vf err = error(this_scale, this_offset);
        const vi take = (det > 0) & (err < best);
        best = select(take, err, best);
        best_iscale = select(take, iscale, best_iscale);
        best_round_offset = select(take, offset, best_round_offset);
        scale = select(take, this_scale, scale);
        offset = select(take, this_offset, offset);
    }

    round_levels(best_iscale, best_round_offset);
    for (int g = 0; g < lanes; ++g) {
        scales[g] = flat[g] ? 0.0f : scale[g];
        neg_offsets[g] = -(flat[g] ? mn[g] : offset[g]);
        for (int i = 0; i < n; ++i) L[g * n + i] = flat[g] ? 0 : uint8_t(lv[i][g]);
    }
}

void fit_symmetric_lanes(int n, int nmax, const float* x, const float* weights, int8_t* L, float* scales) {
    if (n < 1 || n > max_n) return;
    vf xt[max_n], wt[max_n];
    transpose_in(n, x, xt);
    if (weights) transpose_in(n, weights, wt);
    else
        for (int i = 0; i < n; ++i) wt[i] = xt[i] * xt[i];
    const vf zero = {};

    // The signed value of largest magnitude, the first one on ties.
    vf max = zero, amax = zero;
    for (int i = 0; i < n; ++i) {
        const vf ax = vabs(xt[i]);
        const vi larger = ax > amax;
        amax = select(larger, ax, amax);
        max = select(larger, xt[i], max);
    }

    vf lv[max_n], sumlx, suml2;
    auto levels = [&](vf iscale) {
        sumlx = suml2 = zero;
        for (int i = 0; i < n; ++i) {
            lv[i] = to_float(clamp(nearest(iscale * xt[i]), -nmax, nmax - 1));
            sumlx += wt[i] * xt[i] * lv[i];
            suml2 += wt[i] * lv[i] * lv[i];
        }
    };

    // As above, the winning levels are rounded again at the end from their reciprocal scale.
    vf best_iscale = float(-nmax) / max;
    levels(best_iscale);
    vf scale = select(suml2 != 0, sumlx / suml2, zero);
    vf best = scale * sumlx;
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        const vf iscale = -(float(nmax) + 0.1f * float(step)) / max;
        levels(iscale);
        const vi take = (suml2 > 0) & (sumlx * sumlx > best * suml2);
        const vf s = sumlx / suml2;
        scale = select(take, s, scale);
        best = select(take, s * sumlx, best);
        best_iscale = select(take, iscale, best_iscale);
    }

    levels(best_iscale);
    for (int g = 0; g < lanes; ++g) {
        const bool zero_group = amax[g] < group_max_eps;
        scales[g] = zero_group ? 0.0f : scale[g];
        for (int i = 0; i < n; ++i) L[g * n + i] = zero_group ? 0 : int8_t(int(lv[i][g]) + nmax);
    }
}

}  // namespace ember::quant::detail
