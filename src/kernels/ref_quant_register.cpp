// Puts the scalar reference of the quantized types into the kernel table.
//
// Weight types get the reference dequantizer, vec_dot against their vec-dot type (formats.md
// §3.1), and the weight quantizer as from_float. The activation types Q8_0, Q8_1 and Q8_K get
// the activation quantizer as from_float: Q8_0 is both a weight and an activation type, and its
// table entry serves the matrix product, so it uses the x86 recipe (127/amax, ties to even)
// that llama.cpp ran on the machine which produced the golden outputs; writing Q8_0 model files
// goes through quant::quantize_row instead, which uses the round-half-away reference recipe.
#include "ember/quant/quantize.hpp"
#include "ember/quant/reference.hpp"
#include "kernels/packed.hpp"
#include "kernels/ref_gemm.hpp"
#include "kernels/table.hpp"

namespace ember::kernels {
namespace {

template <class Block> void to_float(const void* x, float* y, int64_t n) {
    quant::ref::dequantize(static_cast<const Block*>(x), y, n);
}
template <class Block> void weight_from_float(const float* x, void* y, int64_t n) {
    quant::quantize(x, static_cast<Block*>(y), n);
}
template <class Block> void activation_from_float(const float* x, void* y, int64_t n) {
    quant::ref::quantize_activation(x, static_cast<Block*>(y), n);
}
template <class Weight, class Act> void vec_dot(int64_t n, float* s, const void* x, const void* y) {
    *s = quant::ref::vec_dot(n, static_cast<const Weight*>(x), static_cast<const Act*>(y));
}

template <class Weight, class Act> type_kernels weight_row() {
    return {quant::block_traits<Act>::type, to_float<Weight>, weight_from_float<Weight>, vec_dot<Weight, Act>,
            ref::gemm_by_vec_dot<vec_dot<Weight, Act>>};
}

}  // namespace

void register_quant_scalar(kernel_table& t) {
    using namespace quant;
    slot(t, ggml_type::q4_0) = weight_row<block_q4_0, block_q8_0>();
    slot(t, ggml_type::q4_1) = weight_row<block_q4_1, block_q8_1>();
    slot(t, ggml_type::q5_0) = weight_row<block_q5_0, block_q8_0>();
    slot(t, ggml_type::q5_1) = weight_row<block_q5_1, block_q8_1>();
    slot(t, ggml_type::q8_0) = {ggml_type::q8_0, to_float<block_q8_0>, activation_from_float<block_q8_0>,
                                vec_dot<block_q8_0, block_q8_0>, ref::gemm_by_vec_dot<vec_dot<block_q8_0, block_q8_0>>};
    slot(t, ggml_type::q8_1) = {ggml_type::q8_1, to_float<block_q8_1>, activation_from_float<block_q8_1>, nullptr};
    slot(t, ggml_type::q2_K) = weight_row<block_q2_K, block_q8_K>();
    slot(t, ggml_type::q2_K).packed = &packed::q2_K_x16_reference();
    slot(t, ggml_type::q3_K) = weight_row<block_q3_K, block_q8_K>();
    slot(t, ggml_type::q3_K).packed = &packed::q3_K_x16_reference();
    slot(t, ggml_type::q4_K) = weight_row<block_q4_K, block_q8_K>();
    slot(t, ggml_type::q4_K).packed = &packed::q4_K_x16_reference();
    slot(t, ggml_type::q5_K) = weight_row<block_q5_K, block_q8_K>();
    slot(t, ggml_type::q6_K) = weight_row<block_q6_K, block_q8_K>();
    slot(t, ggml_type::q6_K).packed = &packed::q6_K_x16_reference();
    slot(t, ggml_type::q8_K) = {ggml_type::q8_K, to_float<block_q8_K>, activation_from_float<block_q8_K>, nullptr};
}

}  // namespace ember::kernels
