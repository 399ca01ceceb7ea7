#include "runtime/ops.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ember/fp16.hpp"
#include "ember/kernels.hpp"
#include "core/util.hpp"

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

void rope_angles(const rope_spec& r, int32_t pos, float* cs) {
    const float theta_scale = std::pow(r.freq_base, -2.0f / float(r.n_rot));
    float theta = float(pos);
    for (int64_t i = 0; i < r.n_rot / 2; ++i) {
        const float t = r.freq_scale * (r.factors ? theta / r.factors[i] : theta);
        cs[2 * i] = std::cos(t) * r.attn_factor;
        cs[2 * i + 1] = std::sin(t) * r.attn_factor;
        theta *= theta_scale;
    }
}

void rope_apply(const rope_spec& r, float* v, int64_t n_heads, int64_t head_dim, const float* cs) {
    const int64_t half = r.n_rot / 2;
    const bool norm = r.type == rope_type::norm;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* x = v + h * head_dim;
        for (int64_t i = 0; i < half; ++i) {
            const int64_t a = norm ? 2 * i : i;
            const int64_t b = norm ? 2 * i + 1 : i + half;
            const float x0 = x[a], x1 = x[b];
            x[a] = x0 * cs[2 * i] - x1 * cs[2 * i + 1];
            x[b] = x0 * cs[2 * i + 1] + x1 * cs[2 * i];
        }
    }
}

void rope(const rope_spec& r, float* v, int64_t n_heads, int64_t head_dim, int32_t pos) {
    float cs[1024];  // n_rot <= 1024 is checked at load
    rope_angles(r, pos, cs);
    rope_apply(r, v, n_heads, head_dim, cs);
}

void swiglu(float* g, const float* u, int64_t n) {
    for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

namespace {
// gelu(h) as f32 for every f16 bit pattern h, rounded to f16 (llama.cpp's ggml_table_gelu_f16).
const std::vector<float>& gelu_table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (uint32_t i = 0; i < 65536; ++i) {
            const float x = fp16_to_fp32(uint16_t(i));
            const float g = 0.5f * x * (1.0f + std::tanh(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
            t[i] = fp16_to_fp32(fp32_to_fp16(g));
        }
        return t;
    }();
    return table;
}
}  // namespace

void geglu(float* g, const float* u, int64_t n) {
    const float* t = gelu_table().data();
    for (int64_t i = 0; i < n; ++i) {
        const float x = g[i];
        const float y = x <= -10.0f ? 0.0f : x >= 10.0f ? x : t[fp32_to_fp16(x)];
        g[i] = y * u[i];
    }
}

void softcap(float* x, int64_t n, float c) {
    const float inv = 1.0f / c;  // as llama.cpp: scale, tanh, scale
    for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] * inv) * c;
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
    const kernels::gemm_work_fn f = w.packed ? k.packed->gemm_work : k.gemm_work;
    return f ? (f(w.cols, n_tok) + 63) / 64 * 64 : 0;
}

// How one product of a group is cut into pool tasks.
struct product_plan {
    const weight* w = nullptr;
    float* y = nullptr;
    const kernels::type_kernels* k = nullptr;
    const kernels::packed_kernels* pk = nullptr;  // the weight is packed: its kernels
    const std::byte* act = nullptr;  // its activations, converted (or x itself for f32)
    size_t act_row = 0;
    std::byte* prep = nullptr;  // what the gemm derives from them (gemm_prepare), if anything
    size_t prep_row = 0;
    bool batched = false;
    // batched: row_parts × tok_parts tasks over groups of gemm_rows rows;
    // one token at a time: row_parts runs of rows, each through vec_dot
    int64_t group = 1, n_groups = 0;
    int row_parts = 1, tok_parts = 1;
    int64_t first_task = 0;
    int64_t n_tasks() const { return int64_t(row_parts) * tok_parts; }
};

// Tasks per thread for a large product. Any thread may claim any task, so the threads finish
// together within about one task: small tasks keep that tail short. A task of a batched product
// still converts whole row groups (gemm_rows rows) once and runs every token past them, so
// smaller tasks cost no extra conversion.
constexpr int64_t k_gemm_tasks_per_thread = 16;
constexpr int64_t k_vec_dot_tasks_per_thread = 8;  // generation: contiguous runs the prefetcher can follow

void plan_product(product_plan& p, int64_t n_tok, int nth) {
    const weight& w = *p.w;
    if (!p.batched) {
        // packed: whole groups per task (rows is then a multiple of the group)
        const int64_t max_parts = std::max<int64_t>(1, w.rows / 16);
        p.row_parts = int(std::min<int64_t>(max_parts, nth == 1 ? 1 : nth * k_vec_dot_tasks_per_thread));
        p.tok_parts = 1;
        return;
    }
    // With enough groups to keep every thread busy only rows are split; otherwise tokens are
    // split too (each thread then converts its rows itself).
    p.group = p.pk ? kernels::k_pack_rows : p.k->gemm_rows;
    p.n_groups = (w.rows + p.group - 1) / p.group;
    if (p.n_groups >= nth) {
        p.row_parts = int(std::min<int64_t>(p.n_groups, k_gemm_tasks_per_thread * nth));
        p.tok_parts = 1;
    } else {
        p.row_parts = int(p.n_groups);
        p.tok_parts = std::max(1, int(std::min<int64_t>(nth / p.row_parts, n_tok)));
    }
}

void run_product_task(const product_plan& p, int64_t task, int64_t n_tok, std::byte* work) {
    const weight& w = *p.w;
    const int rp = int(task % p.row_parts), tp = int(task / p.row_parts);
    if (!p.batched && p.pk) {
        // Packed: each task streams a contiguous run of groups, 16 results per activation row.
        const int64_t n_groups = w.rows / kernels::k_pack_rows;
        const int64_t g0 = n_groups * rp / p.row_parts, g1 = n_groups * (rp + 1) / p.row_parts;
        for (int64_t g = g0; g < g1; ++g) {
            const std::byte* wg = w.data + size_t(g) * w.group_bytes;
            for (int64_t t = 0; t < n_tok; ++t)
                p.pk->dot(w.cols, p.y + t * w.rows + g * kernels::k_pack_rows, wg, p.act + size_t(t) * p.act_row);
        }
        return;
    }
    if (!p.batched) {
        // One token (or a type without a gemm): each task streams a contiguous run of rows.
        const int64_t r0 = w.rows * rp / p.row_parts, r1 = w.rows * (rp + 1) / p.row_parts;
        for (int64_t r = r0; r < r1; ++r) {
            const std::byte* wr = w.row(r);
            for (int64_t t = 0; t < n_tok; ++t) p.k->vec_dot(w.cols, p.y + t * w.rows + r, wr, p.act + size_t(t) * p.act_row);
        }
        return;
    }
    const int64_t r0 = std::min(w.rows, p.n_groups * rp / p.row_parts * p.group);
    const int64_t r1 = std::min(w.rows, p.n_groups * (rp + 1) / p.row_parts * p.group);
    const int64_t t0 = n_tok * tp / p.tok_parts, t1 = n_tok * (tp + 1) / p.tok_parts;
    if (r0 >= r1 || t0 >= t1) return;
    kernels::gemm_args a;
    a.k = w.cols;
    a.n_rows = r1 - r0;
    a.n_tok = t1 - t0;
    a.w = p.pk ? w.data + size_t(r0 / kernels::k_pack_rows) * w.group_bytes : w.row(r0);
    a.w_row_bytes = p.pk ? w.group_bytes : w.row_bytes;
    a.act = p.act + size_t(t0) * p.act_row;
    a.act_row_bytes = p.act_row;
    a.y = p.y + t0 * w.rows + r0;
    a.y_stride = w.rows;
    a.work = work;
    a.prep = p.prep ? p.prep + size_t(t0) * p.prep_row : nullptr;
    (p.pk ? p.pk->gemm : p.k->gemm)(a);
}

}  // namespace

void matmul_group(const matmul_out* outs, size_t n_outs, const float* x, int64_t n_tok, thread_pool& pool,
                  std::vector<std::byte>& scratch) {
    if (n_outs == 0 || n_tok <= 0) return;
    if (n_outs > k_max_matmul_group) fail(errc::invalid_argument, "matmul_group: {} products, at most {}", n_outs, k_max_matmul_group);
    const int64_t cols = outs[0].w->cols;
    const int nth = pool.size();

    // Each distinct activation type gets one converted copy of x; f32 products read x itself.
    std::array<product_plan, k_max_matmul_group> plans;
    std::array<ggml_type, k_max_matmul_group> act_types{};
    std::array<size_t, k_max_matmul_group> act_offset{};
    size_t n_act = 0, act_bytes = 0, work = 0;
    std::array<size_t, k_max_matmul_group> act_of{};
    for (size_t i = 0; i < n_outs; ++i) {
        const weight& w = *outs[i].w;
        if (w.cols != cols) fail(errc::invalid_argument, "matmul_group: weights with {} and {} columns", cols, w.cols);
        product_plan& p = plans[i];
        p.w = &w;
        p.y = outs[i].y;
        p.k = &kernels::get(w.type);
        if (!p.k->vec_dot) fail(errc::unsupported, "no kernel for {} weights", type_name(w.type));
        if (w.packed) {
            p.pk = p.k->packed;
            if (!p.pk || w.rows % kernels::k_pack_rows != 0)
                fail(errc::internal, "packed {} weights without packed kernels", type_name(w.type));
        }
        const ggml_type at = p.k->vec_dot_type;
        p.batched = n_tok >= 2 && n_tok >= p.k->gemm_min_tok && (p.pk ? p.pk->gemm != nullptr : p.k->gemm != nullptr);
        p.act_row = at == ggml_type::f32 ? size_t(cols) * sizeof(float) : row_bytes(at, cols);
        if (p.batched) work = std::max(work, gemm_scratch(*p.k, w, n_tok));
        if (at == ggml_type::f32) continue;
        size_t a = 0;
        while (a < n_act && act_types[a] != at) ++a;
        if (a == n_act) {
            act_types[n_act++] = at;
            act_offset[a] = act_bytes;
            act_bytes += (p.act_row * size_t(n_tok) + 63) / 64 * 64;
        }
        act_of[i] = a;
    }
    // Per-row preparations of the gemms, after the activations: one per distinct prepare
    // function (a prepare function belongs to one weight type, hence to one activation type, so
    // products sharing it read the same converted activations).
    std::array<size_t, k_max_matmul_group> prep_offset{};
    std::array<size_t, k_max_matmul_group> prep_owner{};  // the product that computes it
    size_t prep_bytes = 0;
    for (size_t i = 0; i < n_outs; ++i) {
        const product_plan& p = plans[i];
        prep_owner[i] = n_outs;
        if (!p.batched || p.pk || !p.k->gemm_prepare) continue;
        size_t j = 0;
        while (j < i && !(prep_owner[j] == j && plans[j].k->gemm_prepare == p.k->gemm_prepare)) ++j;
        prep_owner[i] = j;
        if (j == i) {
            prep_offset[i] = act_bytes + prep_bytes;
            plans[i].prep_row = p.k->gemm_prep_bytes(cols);
            prep_bytes += (plans[i].prep_row * size_t(n_tok) + 63) / 64 * 64;
        } else {
            prep_offset[i] = prep_offset[j];
            plans[i].prep_row = plans[j].prep_row;
        }
    }
    const size_t need = act_bytes + prep_bytes + work * size_t(nth) + 64;
    if (scratch.size() < need) scratch.resize(need);
    std::byte* base = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    for (size_t i = 0; i < n_outs; ++i) {
        product_plan& p = plans[i];
        p.act = p.k->vec_dot_type == ggml_type::f32 ? reinterpret_cast<const std::byte*>(x) : base + act_offset[act_of[i]];
        if (prep_owner[i] < n_outs) p.prep = base + prep_offset[i];
    }

    if (n_act > 0 || prep_bytes > 0) {
        std::array<const kernels::type_kernels*, k_max_matmul_group> conv{};
        std::array<size_t, k_max_matmul_group> conv_row{};
        for (size_t a = 0; a < n_act; ++a) {
            conv[a] = &kernels::get(act_types[a]);
            conv_row[a] = row_bytes(act_types[a], cols);
        }
        pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
            for (size_t a = 0; a < n_act; ++a)
                for (int64_t t = b; t < e; ++t) conv[a]->from_float(x + t * cols, base + act_offset[a] + size_t(t) * conv_row[a], cols);
            for (size_t i = 0; i < n_outs; ++i) {
                const product_plan& p = plans[i];
                if (prep_owner[i] != i) continue;
                p.k->gemm_prepare(p.act + size_t(b) * p.act_row, p.act_row, e - b, cols,
                                  p.prep + size_t(b) * p.prep_row);
            }
        });
    }

    int64_t n_tasks = 0;
    for (size_t i = 0; i < n_outs; ++i) {
        product_plan& p = plans[i];
        plan_product(p, n_tok, nth);
        p.first_task = n_tasks;
        n_tasks += p.n_tasks();
    }
    std::byte* work0 = base + act_bytes + prep_bytes;
    pool.run_tasks(n_tasks, [&](int64_t task, int tid) {
        size_t i = 0;
        while (i + 1 < n_outs && task >= plans[i + 1].first_task) ++i;
        run_product_task(plans[i], task - plans[i].first_task, n_tok, work0 + work * size_t(tid));
    });
}

void matmul(const weight& w, const float* x, int64_t n_tok, float* y, thread_pool& pool, std::vector<std::byte>& scratch) {
    const matmul_out out{&w, y};
    matmul_group(&out, 1, x, n_tok, pool, scratch);
}

void get_rows(const weight& table, const token_id* ids, int64_t n, float* out) {
    const kernels::type_kernels& k = kernels::get(table.type);
    if (table.packed) fail(errc::internal, "get_rows on a packed {} matrix", type_name(table.type));
    for (int64_t i = 0; i < n; ++i) k.to_float(table.row(ids[i]), out + i * table.cols, table.cols);
}

}  // namespace ember::detail
