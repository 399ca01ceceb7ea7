#include "ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
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

namespace {

// Bytes per thread of gemm scratch, and where the first one starts (64-byte aligned).
size_t gemm_scratch(const kernels::type_kernels& k, const weight& w, int64_t n_tok) {
    return k.gemm_work ? (k.gemm_work(w.cols, n_tok) + 63) / 64 * 64 : 0;
}

}  // namespace

void matmul(const weight& w, const float* x, int64_t n_tok, float* y, thread_pool& pool, std::vector<std::byte>& scratch) {
    const kernels::type_kernels& k = kernels::get(w.type);
    if (!k.vec_dot) fail(errc::unsupported, "no kernel for {} weights", type_name(w.type));
    const ggml_type act_type = k.vec_dot_type;
    const bool batched = n_tok >= 2 && n_tok >= k.gemm_min_tok && k.gemm;
    const size_t act_row = act_type == ggml_type::f32 ? size_t(w.cols) * sizeof(float) : row_bytes(act_type, w.cols);
    const size_t act_bytes = act_type == ggml_type::f32 ? 0 : (act_row * size_t(n_tok) + 63) / 64 * 64;
    const size_t work = batched ? gemm_scratch(k, w, n_tok) : 0;
    const size_t need = act_bytes + work * size_t(pool.size()) + 64;
    if (scratch.size() < need) scratch.resize(need);
    std::byte* base = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;

    const std::byte* act = reinterpret_cast<const std::byte*>(x);
    if (act_type != ggml_type::f32) {
        const kernels::type_kernels& ka = kernels::get(act_type);
        pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) ka.from_float(x + t * w.cols, base + size_t(t) * act_row, w.cols);
        });
        act = base;
    }

    if (!batched) {
        // One token (generation): memory-bound, so each thread streams a contiguous run of rows.
        pool.parallel_for(w.rows, 16, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const std::byte* wr = w.row(r);
                for (int64_t t = 0; t < n_tok; ++t) k.vec_dot(w.cols, y + t * w.rows + r, wr, act + size_t(t) * act_row);
            }
        });
        return;
    }

    // Batches: the gemm converts groups of gemm_rows rows once and runs every token past them.
    // With enough groups, they are cut into a few runs per thread that any thread may claim, so
    // a thread that is descheduled or slower is made up for by the other; with too few groups to
    // keep every thread busy, the tokens are split too (each thread then converts its rows itself).
    const int64_t group = k.gemm_rows;
    const int64_t n_groups = (w.rows + group - 1) / group;
    const int nth = pool.size();
    const int64_t k_runs_per_thread = 4;
    const int row_parts = int(n_groups >= k_runs_per_thread * nth ? k_runs_per_thread * nth : std::min<int64_t>(nth, n_groups));
    const int tok_parts = row_parts >= nth ? 1 : std::max(1, int(std::min<int64_t>(nth / row_parts, n_tok)));
    pool.run_tasks(int64_t(row_parts) * tok_parts, [&](int64_t task, int tid) {
        const int rp = int(task % row_parts), tp = int(task / row_parts);
        const int64_t r0 = std::min(w.rows, n_groups * rp / row_parts * group);
        const int64_t r1 = std::min(w.rows, n_groups * (rp + 1) / row_parts * group);
        const int64_t t0 = n_tok * tp / tok_parts, t1 = n_tok * (tp + 1) / tok_parts;
        if (r0 >= r1 || t0 >= t1) return;
        kernels::gemm_args a;
        a.k = w.cols;
        a.n_rows = r1 - r0;
        a.n_tok = t1 - t0;
        a.w = w.row(r0);
        a.w_row_bytes = w.row_bytes;
        a.act = act + size_t(t0) * act_row;
        a.act_row_bytes = act_row;
        a.y = y + t0 * w.rows + r0;
        a.y_stride = w.rows;
        a.work = base + act_bytes + work * size_t(tid);
        k.gemm(a);
    });
}

void get_rows(const weight& table, const token_id* ids, int64_t n, float* out) {
    const kernels::type_kernels& k = kernels::get(table.type);
    for (int64_t i = 0; i < n; ++i) k.to_float(table.row(ids[i]), out + i * table.cols, table.cols);
}

}  // namespace ember::detail
