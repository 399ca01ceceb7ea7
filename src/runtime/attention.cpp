// The scalar attention kernels: the reference the SIMD tiers are tested against, and the path
// for CPUs without them.
#include "runtime/attention.hpp"

#include <algorithm>
#include <cmath>

#include "ember/fp16.hpp"

namespace ember::detail {

namespace {

inline float load(const float* p, int64_t i) { return p[i]; }
inline float load(const uint16_t* p, int64_t i) { return fp16_to_fp32(p[i]); }

template <class T>
void attend_ref(const attn_rows& r, const T* k, int64_t k_stride, const T* v, int64_t v_stride, const int32_t* idx,
                int64_t n_keys) {
    const int64_t hd = r.head_dim;
    for (int64_t row = 0; row < r.n_rows; ++row) {
        const float* q = r.q + row * hd;
        float* s = r.scores + row * k_attn_tile;
        float mx = r.m[row];
        for (int64_t j = 0; j < n_keys; ++j) {
            float dot = 0;
            for (int64_t d = 0; d < hd; ++d) dot += q[d] * load(k + idx[j] * k_stride, d);
            s[j] = dot * r.scale;
            mx = std::max(mx, s[j]);
        }
        // The first tile finds m = -inf: e^(-inf) = 0 scales the empty accumulator.
        const float c = std::exp(r.m[row] - mx);
        float sum = 0;
        for (int64_t j = 0; j < n_keys; ++j) sum += (s[j] = std::exp(s[j] - mx));
        r.m[row] = mx;
        r.l[row] = r.l[row] * c + sum;
        float* acc = r.acc + row * hd;
        for (int64_t d = 0; d < hd; ++d) acc[d] *= c;
        for (int64_t j = 0; j < n_keys; ++j)
            for (int64_t d = 0; d < hd; ++d) acc[d] += s[j] * load(v + idx[j] * v_stride, d);
    }
}

const attention_kernels k_scalar{attend_f32_ref, attend_f16_ref, silu_mul_ref};

}  // namespace

void attend_f32_ref(const attn_rows& r, const float* k, int64_t k_stride, const float* v, int64_t v_stride,
                    const int32_t* idx, int64_t n_keys) {
    attend_ref(r, k, k_stride, v, v_stride, idx, n_keys);
}
void attend_f16_ref(const attn_rows& r, const uint16_t* k, int64_t k_stride, const uint16_t* v, int64_t v_stride,
                    const int32_t* idx, int64_t n_keys) {
    attend_ref(r, k, k_stride, v, v_stride, idx, n_keys);
}
void silu_mul_ref(float* g, const float* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

namespace {

struct tables {
    attention_kernels by_isa[3] = {k_scalar, k_scalar, k_scalar};
    tables() {
#if defined(EMBER_HAVE_X86_KERNELS)
        if (kernels::isa_supported(kernels::isa::avx2)) by_isa[int(kernels::isa::avx2)] = kernels::avx2::attention_kernels();
        if (kernels::isa_supported(kernels::isa::avx512)) by_isa[int(kernels::isa::avx512)] = kernels::avx512::attention_kernels();
#endif
    }
};

}  // namespace

const attention_kernels& attention_kernels_for(kernels::isa i) noexcept {
    static const tables t;
    const int idx = int(i);
    if (idx < 0 || idx > 2 || !kernels::isa_supported(i)) return k_scalar;
    return t.by_isa[idx];
}

}  // namespace ember::detail
