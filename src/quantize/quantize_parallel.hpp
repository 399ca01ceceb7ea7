// Quantizing a tensor's rows on a thread pool, for the model-file writers (quantize_file.cpp,
// random_model.cpp). Each row is quantized on its own, so the bytes never depend on the number
// of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "ember/types.hpp"
#include "core/thread_pool.hpp"

namespace ember::detail {

// Row r (ne0 floats) of the source: either written into `buf` (ne0 floats owned by the calling
// thread) or found elsewhere; returns where it is.
using row_source = std::function<const float*(int64_t r, float* buf)>;

// dst receives nrows rows of row_bytes(to, ne0) bytes.
void quantize_rows_parallel(thread_pool& pool, ggml_type to, int64_t nrows, int64_t ne0, const row_source& src, std::byte* dst);

}  // namespace ember::detail
