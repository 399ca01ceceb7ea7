#include "ops.hpp"

#include <cmath>
#include <cstring>

#include "ember/kernels.hpp"
#include "util.hpp"

namespace ember::detail {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double sum = 0;  // the mean of squares in double, as llama.cpp does
    for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
    const float scale = 1.0f / std::sqrt(float(sum / double(n)) + eps);
    if (w)
        for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
    else
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

void rope(float* v, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos, float freq_base,
          float freq_scale, rope_type type) {
    // theta_i = pos * base^(-2i/n_rot), stepped by repeated multiplication in f32 (formats.md §6.4)
    const float theta_scale = std::pow(freq_base, -2.0f / float(n_rot));
    const int64_t half = n_rot / 2;
    float theta = float(pos);
    float cs[512], sn[512];  // n_rot <= 1024 is checked at load
    for (int64_t i = 0; i < half; ++i) {
        const float t = freq_scale * theta;
        cs[i] = std::cos(t);
        sn[i] = std::sin(t);
        theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_heads; ++h) {
        float* x = v + h * head_dim;
        for (int64_t i = 0; i < half; ++i) {
            const int64_t a = type == rope_type::norm ? 2 * i : i;
            const int64_t b = type == rope_type::norm ? 2 * i + 1 : i + half;
            const float x0 = x[a], x1 = x[b];
            x[a] = x0 * cs[i] - x1 * sn[i];
            x[b] = x0 * sn[i] + x1 * cs[i];
        }
    }
}

void swiglu(float* g, const float* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void softmax(float* x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    const float inv = float(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void matmul(const weight& w, const float* x, int64_t n_tok, float* y, thread_pool& pool, std::vector<std::byte>& scratch) {
    const kernels::type_kernels& k = kernels::get(w.type);
    if (!k.vec_dot) fail(errc::unsupported, "no kernel for {} weights", type_name(w.type));
    const ggml_type act_type = k.vec_dot_type;
    const void* act = x;
    size_t act_row = size_t(w.cols) * sizeof(float);
    if (act_type != ggml_type::f32) {
        const kernels::type_kernels& ka = kernels::get(act_type);
        act_row = row_bytes(act_type, w.cols);
        if (scratch.size() < act_row * size_t(n_tok)) scratch.resize(act_row * size_t(n_tok));
        std::byte* dst = scratch.data();
        pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) ka.from_float(x + t * w.cols, dst + size_t(t) * act_row, w.cols);
        });
        act = dst;
    }
    const auto* abytes = static_cast<const std::byte*>(act);
    pool.parallel_for(w.rows, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const std::byte* wr = w.row(r);
            for (int64_t t = 0; t < n_tok; ++t) k.vec_dot(w.cols, y + t * w.rows + r, wr, abytes + size_t(t) * act_row);
        }
    });
}

void get_rows(const weight& table, const token_id* ids, int64_t n, float* out) {
    const kernels::type_kernels& k = kernels::get(table.type);
    for (int64_t i = 0; i < n; ++i) k.to_float(table.row(ids[i]), out + i * table.cols, table.cols);
}

}  // namespace ember::detail
