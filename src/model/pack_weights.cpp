// Packing weight matrices at load (kernels.hpp packed_kernels): every matrix whose type has a
// packed form that the active ISA runs faster is rewritten into one huge_region (as a file read
// into memory), and the pages that held it in the file's mapping or buffer are given back to the
// system right after, matrix by matrix, so the resident size stays about that of the file (the packed forms are 0 % (Q2_K), 1 % (Q6_K),
// 2.8 % (Q4_K) and 5.5 % (Q3_K) larger: quant/blocks.hpp).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <thread>

#include "ember/kernels.hpp"
#include "model/model_impl.hpp"
#include "core/util.hpp"

namespace ember::detail {

namespace {

// Drops the whole pages inside [p, p + n) from this process: a mapped file's pages are read
// again from the file if touched, a read-in buffer's come back as zeros.
void release_pages(const std::byte* p, size_t n) {
    const auto page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
    const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
    if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);  // advice: failure only costs memory
}

const kernels::packed_kernels* packing_for(const weight& w) {
    if (!w || w.packed) return nullptr;
    const kernels::packed_kernels* pk = kernels::get(w.type).packed;
    if (!pk || !pk->faster || w.rows % kernels::k_pack_rows != 0) return nullptr;
    return pk;
}

}  // namespace

void pack_weights(model::impl& m) {
    std::vector<std::pair<weight*, const kernels::packed_kernels*>> todo;
    auto consider = [&](weight& w) {
        if (const kernels::packed_kernels* pk = packing_for(w)) todo.emplace_back(&w, pk);
    };
    for (auto& L : m.layers)
        for (weight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) consider(*w);
    if (!m.hp.tied_output) consider(m.output);  // a tied output is token_embd, which get_rows reads by row
    if (todo.empty()) return;

    size_t total = 0;
    for (const auto& [w, pk] : todo) total += pk->group_bytes(w->cols) * size_t(w->rows / kernels::k_pack_rows) + 64;
    m.packed = std::make_unique<huge_region>(total);
    const int64_t n_threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 16);
    std::byte* out = m.packed->data();
    for (const auto& item : todo) {  // not a structured binding: clang 14 cannot capture those
        weight* const w = item.first;
        const kernels::packed_kernels& pk = *item.second;
        const size_t gb = pk.group_bytes(w->cols);
        const int64_t n_groups = w->rows / kernels::k_pack_rows;
        auto pack_range = [&pk, w, out, gb](int64_t g0, int64_t g1) {
            for (int64_t g = g0; g < g1; ++g) pk.pack(w->row(g * kernels::k_pack_rows), w->row_bytes, w->cols, out + size_t(g) * gb);
        };
        // Every core packs a share (a 7B Q4_K_M model takes 2.5 s on one). A share whose thread
        // cannot be started is packed here.
        std::vector<std::thread> helpers;
        for (int64_t i = 1; i < n_threads; ++i) {
            const int64_t g0 = n_groups * i / n_threads, g1 = n_groups * (i + 1) / n_threads;
            try {
                helpers.emplace_back(pack_range, g0, g1);
            } catch (const std::system_error&) {
                pack_range(g0, g1);
            }
        }
        pack_range(0, n_groups / n_threads);
        for (auto& t : helpers) t.join();
        release_pages(w->data, w->row_bytes * size_t(w->rows));
        w->data = out;
        w->packed = true;
        w->group_bytes = gb;
        out += (gb * size_t(w->rows / kernels::k_pack_rows) + 63) / 64 * 64;
    }
}

}  // namespace ember::detail
