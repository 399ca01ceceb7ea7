// Architecture registry. Each architecture reads its hyperparameters from the GGUF metadata and
// binds its tensors; the forward pass (decoder.cpp) is shared by the decoder-only transformers
// whose differences are expressed in model_hparams and the layer weights.
#pragma once

#include <string>
#include <string_view>

#include "model_impl.hpp"

namespace ember::detail {

struct arch_desc {
    std::string_view name;
    void (*load)(model::impl& m, const log_fn& log);  // hparams + weights, fully validated
};

const arch_desc* find_arch(std::string_view name) noexcept;
std::string supported_arch_names();

// Helpers for binding tensors with validation; errors name the file and tensor.
weight bind_matrix(const gguf_file& f, const std::string& name, int64_t cols, int64_t rows, bool need_matmul = true);
std::vector<float> bind_vector(const gguf_file& f, const std::string& name, int64_t n);

void load_llama(model::impl& m, const log_fn& log);

}  // namespace ember::detail
