// The reference batched product: one vec_dot per (row, token), the oracle every gemm kernel is
// tested against. Included only by the scalar registration files (no ISA flags).
#pragma once

#include "ember/kernels.hpp"

namespace ember::kernels::ref {

// Rows in groups of 16 on the outside so that a group stays in cache while every token passes.
template <vec_dot_fn dot> void gemm_by_vec_dot(const gemm_args& a) {
    const auto* w = static_cast<const std::byte*>(a.w);
    const auto* x = static_cast<const std::byte*>(a.act);
    for (int64_t r0 = 0; r0 < a.n_rows; r0 += 16) {
        const int64_t r1 = r0 + 16 < a.n_rows ? r0 + 16 : a.n_rows;
        for (int64_t t = 0; t < a.n_tok; ++t)
            for (int64_t r = r0; r < r1; ++r)
                dot(a.k, a.y + t * a.y_stride + r, w + size_t(r) * a.w_row_bytes, x + size_t(t) * a.act_row_bytes);
    }
}

}  // namespace ember::kernels::ref
