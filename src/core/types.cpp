#include "ember/types.hpp"

#include <algorithm>
#include <cctype>

namespace ember {
namespace {

constexpr std::array<type_info, 34> k_types{{
    {ggml_type::f32, "F32", 1, 4, false},
    {ggml_type::f16, "F16", 1, 2, false},
    {ggml_type::q4_0, "Q4_0", 32, 18, true},
    {ggml_type::q4_1, "Q4_1", 32, 20, true},
    {ggml_type::q5_0, "Q5_0", 32, 22, true},
    {ggml_type::q5_1, "Q5_1", 32, 24, true},
    {ggml_type::q8_0, "Q8_0", 32, 34, true},
    {ggml_type::q8_1, "Q8_1", 32, 36, true},
    {ggml_type::q2_K, "Q2_K", 256, 84, true},
    {ggml_type::q3_K, "Q3_K", 256, 110, true},
    {ggml_type::q4_K, "Q4_K", 256, 144, true},
    {ggml_type::q5_K, "Q5_K", 256, 176, true},
    {ggml_type::q6_K, "Q6_K", 256, 210, true},
    {ggml_type::q8_K, "Q8_K", 256, 292, true},
    {ggml_type::iq2_xxs, "IQ2_XXS", 256, 66, true},
    {ggml_type::iq2_xs, "IQ2_XS", 256, 74, true},
    {ggml_type::iq3_xxs, "IQ3_XXS", 256, 98, true},
    {ggml_type::iq1_s, "IQ1_S", 256, 50, true},
    {ggml_type::iq4_nl, "IQ4_NL", 32, 18, true},
    {ggml_type::iq3_s, "IQ3_S", 256, 110, true},
    {ggml_type::iq2_s, "IQ2_S", 256, 82, true},
    {ggml_type::iq4_xs, "IQ4_XS", 256, 136, true},
    {ggml_type::i8, "I8", 1, 1, false},
    {ggml_type::i16, "I16", 1, 2, false},
    {ggml_type::i32, "I32", 1, 4, false},
    {ggml_type::i64, "I64", 1, 8, false},
    {ggml_type::f64, "F64", 1, 8, false},
    {ggml_type::iq1_m, "IQ1_M", 256, 56, true},
    {ggml_type::bf16, "BF16", 1, 2, false},
    {ggml_type::tq1_0, "TQ1_0", 256, 54, true},
    {ggml_type::tq2_0, "TQ2_0", 256, 66, true},
    {ggml_type::mxfp4, "MXFP4", 32, 17, true},
    {ggml_type::nvfp4, "NVFP4", 64, 36, true},
    {ggml_type::q1_0, "Q1_0", 128, 18, true},
}};

}  // namespace

const type_info* find_type(uint32_t id) noexcept {
    for (const auto& t : k_types)
        if (uint32_t(t.type) == id) return &t;
    return nullptr;
}

const type_info& info(ggml_type t) noexcept {
    const type_info* p = find_type(uint32_t(t));
    return p ? *p : k_types[0];  // unreachable for valid enumerators
}

std::optional<ggml_type> type_from_name(std::string_view name) noexcept {
    for (const auto& t : k_types) {
        if (t.name.size() != name.size()) continue;
        const bool same = std::equal(name.begin(), name.end(), t.name.begin(), [](char a, char b) {
            return std::toupper(static_cast<unsigned char>(a)) == b;
        });
        if (same) return t.type;
    }
    return std::nullopt;
}

}  // namespace ember
