// Weighted-least-squares scale searches (formats.md §4.3-4.6). Compiled with
// -ffp-contract=off; the order of every f32 sum and product is part of the result.
#include "quantize/quantize_search.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ref_quant_util.hpp"

namespace ember::quant::detail {
namespace {

// The signed value of largest magnitude (the first one on ties) and its magnitude.
void signed_extreme(int n, const float* x, float& max, float& amax) {
    max = 0;
    amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
}

// Running sums of a candidate level assignment: Σ w·x·l and Σ w·l².
struct lsq_sums {
    float sumlx = 0, suml2 = 0;
    void add(float w, float x, int l) {
        sumlx += w * x * float(l);
        suml2 += w * float(l) * float(l);
    }
};

}  // namespace

float fit_symmetric(int n, int nmax, const float* x, const float* weights, int8_t* L) {
    float max, amax;
    signed_extreme(n, x, max, amax);
    if (amax < group_max_eps) {
        std::memset(L, 0, size_t(n));
        return 0.0f;
    }
    auto weight = [&](int i) { return weights ? weights[i] : x[i] * x[i]; };
    auto level = [&](float iscale, int i) { return clamp(nearest(iscale * x[i]), -nmax, nmax - 1); };

    // Negative reciprocal scale: the extreme goes to -nmax, the side with the extra level.
    float iscale = float(-nmax) / max;
    lsq_sums s;
    for (int i = 0; i < n; ++i) {
        const int l = level(iscale, i);
        L[i] = int8_t(l + nmax);
        s.add(weight(i), x[i], l);
    }
    float scale = s.suml2 != 0 ? s.sumlx / s.suml2 : 0.0f;
    float best = scale * s.sumlx;  // error reduction (Σwxl)²/Σwl² of the current levels

    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        iscale = -(float(nmax) + 0.1f * float(step)) / max;
        lsq_sums c;
        for (int i = 0; i < n; ++i) c.add(weight(i), x[i], level(iscale, i));
        if (c.suml2 > 0 && c.sumlx * c.sumlx > best * c.suml2) {
            for (int i = 0; i < n; ++i) L[i] = int8_t(level(iscale, i) + nmax);
            scale = c.sumlx / c.suml2;
            best = scale * c.sumlx;
        }
    }
    return scale;
}

float fit_symmetric_descent(int n, int nmax, const float* x, int8_t* L) {
    float max, amax;
    signed_extreme(n, x, max, amax);
    if (amax < group_max_eps) {
        std::memset(L, 0, size_t(n));
        return 0.0f;
    }
    const float iscale = float(-nmax) / max;
    lsq_sums s;
    for (int i = 0; i < n; ++i) {
        const int l = clamp(nearest(iscale * x[i]), -nmax, nmax - 1);
        L[i] = int8_t(l);
        s.add(x[i] * x[i], x[i], l);
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            // Take element i out, find its best level for the scale the others imply, and keep
            // the move if it raises (Σwxl)²/Σwl².
            const float w = x[i] * x[i];
            float slx = s.sumlx - w * x[i] * float(L[i]);
            if (!(slx > 0)) continue;
            float sl2 = s.suml2 - w * float(L[i]) * float(L[i]);
            const int l = clamp(nearest(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (l == L[i]) continue;
            slx += w * x[i] * float(l);
            sl2 += w * float(l) * float(l);
            if (sl2 > 0 && slx * slx * s.suml2 > s.sumlx * s.sumlx * sl2) {
                L[i] = int8_t(l);
                s.sumlx = slx;
                s.suml2 = sl2;
                ++changed;
            }
        }
        if (changed == 0) break;
    }
    for (int i = 0; i < n; ++i) L[i] = int8_t(L[i] + nmax);
    return s.suml2 > 0.0f ? s.sumlx / s.suml2 : 0.0f;
}

float fit_asymmetric(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* neg_offset,
                     float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0) min = 0;  // the offset only ever lowers the levels
    if (max == min) {
        std::memset(L, 0, size_t(n));
        *neg_offset = -min;
        return 0.0f;
    }
    auto error = [&](float scale, float offset, const uint8_t* levels) {
        float err = 0;
        for (int i = 0; i < n; ++i) {
            float diff = scale * float(levels[i]) + offset - x[i];
            diff = use_mad ? std::fabs(diff) : diff * diff;
            err += weights[i] * diff;
        }
        return err;
    };

    float iscale = float(nmax) / (max - min);
    float scale = 1 / iscale;
    for (int i = 0; i < n; ++i) L[i] = uint8_t(clamp(nearest(iscale * (x[i] - min)), 0, nmax));
    float best_error = error(scale, min, L);
    if (nstep < 1) {
        *neg_offset = -min;
        return scale;
    }

    uint8_t cand[256];  // callers pass sub-blocks of 16 or 32 (n <= 256 is required)
    for (int step = 0; step <= nstep; ++step) {
        iscale = (rmin + rdelta * float(step) + float(nmax)) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = clamp(nearest(iscale * (x[i] - min)), 0, nmax);
            cand[i] = uint8_t(l);
            const float w = weights[i];
            sum_l += w * float(l);
            sum_l2 += w * float(l) * float(l);
            sum_xl += w * float(l) * x[i];
        }
        // Normal equations of min Σ w (s·l + b - x)² in (s, b).
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_offset = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_offset > 0) {  // a positive offset is not representable: refit the scale alone
            this_offset = 0;
            this_scale = sum_xl / sum_l2;
        }
        const float err = error(this_scale, this_offset, cand);
        if (err < best_error) {
            std::memcpy(L, cand, size_t(n));
            best_error = err;
            scale = this_scale;
            min = this_offset;
        }
    }
    *neg_offset = -min;
    return scale;
}

float fit_positive(int n, int nmax, const float* x, uint8_t* L, const float* weights) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = std::fmax(max, x[i]);
    if (max < group_max_eps) {
        std::memset(L, 0, size_t(n));
        return 0.0f;
    }
    // x >= 0, so levels never go below 0; the clamp only guards against bad input.
    auto level = [&](float iscale, float v) { return clamp(nearest(iscale * v), 0, nmax); };
    auto weighted_error = [&](float iscale) {
        const float scale = 1 / iscale;
        float err = 0;
        for (int i = 0; i < n; ++i) {
            const int l = level(iscale, x[i]);
            const float diff = x[i] - scale * float(l);
            err += weights[i] * diff * diff;
        }
        return err;
    };
    // The first candidate rounds without the upper clamp (its levels cannot exceed nmax).
    float iscale = float(nmax) / max;
    float best = 0;
    {
        const float scale = 1 / iscale;
        for (int i = 0; i < n; ++i) {
            const float diff = x[i] - scale * float(std::max(0, nearest(iscale * x[i])));
            best += weights[i] * diff * diff;
        }
    }
    for (int step = -4; step <= 4; ++step) {
        if (step == 0) continue;
        const float candidate = (0.1f * float(step) + float(nmax)) / max;
        const float err = weighted_error(candidate);
        if (err < best) {
            best = err;
            iscale = candidate;
        }
    }

    lsq_sums s;
    for (int i = 0; i < n; ++i) {
        const int l = level(iscale, x[i]);
        L[i] = uint8_t(l);
        s.add(weights[i], x[i], l);
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = weights[i];
            float slx = s.sumlx - w * x[i] * float(L[i]);
            float sl2 = s.suml2 - w * float(L[i]) * float(L[i]);
            if (!(slx > 0 && sl2 > 0)) continue;
            const int l = clamp(nearest(x[i] * sl2 / slx), 0, nmax);
            if (l == L[i]) continue;
            slx += w * x[i] * float(l);
            sl2 += w * float(l) * float(l);
            if (slx * slx * s.suml2 > s.sumlx * s.sumlx * sl2) {
                L[i] = uint8_t(l);
                s.sumlx = slx;
                s.suml2 = sl2;
                ++changed;
            }
        }
        if (changed == 0) break;
    }
    return s.suml2 > 0.0f ? s.sumlx / s.suml2 : 0.0f;
}

}  // namespace ember::quant::detail
