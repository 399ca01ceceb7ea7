#include "quantize/quantize_parallel.hpp"

#include <algorithm>
#include <vector>

#include "ember/quant/quantize.hpp"

namespace ember::detail {

void quantize_rows_parallel(thread_pool& pool, ggml_type to, int64_t nrows, int64_t ne0, const row_source& src, std::byte* dst) {
    const size_t rb = row_bytes(to, ne0);
    // A few rows per chunk at least, so that tiny tensors do not wake every thread.
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(ne0, 1));
    pool.parallel_for(nrows, grain, [&](int64_t r0, int64_t r1) {
        std::vector<float> buf(static_cast<size_t>(ne0));
        for (int64_t r = r0; r < r1; ++r) quant::quantize_row(to, src(r, buf.data()), dst + size_t(r) * rb, ne0);
    });
}

}  // namespace ember::detail
