// The quantized types on real weights: llama.cpp's Q8_0 / Q4_K_M / Q2_K files of the
// shakespeare-19m model, against its F32 original.
//
// * Every quantized tensor of every file dequantizes exactly like the naive per-element reading
//   of formats.md §2.10 (test_quant_naive.hpp).
// * The dequantized tensors are close to the F32 ones, as close as the bit width allows.
// * ember's quantizer, applied to the F32 tensors with the type llama.cpp chose for each tensor,
//   is no worse than llama.cpp's file (RMSE per type), and in fact byte-identical to it.
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"
#include "ember/gguf.hpp"
#include "ember/kernels.hpp"
#include "ember/quant/quantize.hpp"
#include "test_quant_naive.hpp"

using namespace ember;

namespace {

const gguf_file& model(const std::string& variant) {
    static std::map<std::string, gguf_file> cache;
    auto it = cache.find(variant);
    if (it == cache.end())
        it = cache.emplace(variant, gguf_file::open(test::shared("models/shakespeare-19m-" + variant + ".gguf"))).first;
    return it->second;
}

std::vector<float> dequantized(const gguf_tensor& t) {
    std::vector<float> out(static_cast<size_t>(t.nelements()));
    const auto& k = kernels::get(t.type, kernels::isa::scalar);
    REQUIRE((k.to_float != nullptr));
    k.to_float(t.data, out.data(), t.nelements());
    return out;
}

// Squared error and squared reference norm, summed per type for aggregate relative RMSE.
struct error_sum {
    double err2 = 0, ref2 = 0;
    int64_t tensors = 0;
    double worst = 0;  // largest per-tensor relative RMSE
    void add(const std::vector<float>& got, const std::vector<float>& ref) {
        double e = 0, r = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            const double diff = double(got[i]) - double(ref[i]);
            e += diff * diff;
            r += double(ref[i]) * double(ref[i]);
        }
        err2 += e;
        ref2 += r;
        ++tensors;
        worst = std::max(worst, std::sqrt(e / r));
    }
    double rel_rmse() const { return std::sqrt(err2 / ref2); }
};

const char* const k_quantized_variants[] = {"Q8_0", "Q4_K_M", "Q2_K"};

}  // namespace

TEST_SUITE("quant") {

TEST_CASE("dequantized real tensors equal the naive per-element reading of formats.md §2.10") {
    std::map<std::string, int> tensors_per_type;
    for (const char* variant : k_quantized_variants) {
        for (const auto& t : model(variant).tensors()) {
            if (!info(t.type).quantized) continue;
            CAPTURE(variant);
            CAPTURE(t.name);
            const auto y = dequantized(t);
            const int64_t bs = info(t.type).block_size;
            const size_t bb = info(t.type).block_bytes;
            const auto* bytes = reinterpret_cast<const uint8_t*>(t.data);
            int64_t mismatches = 0;
            for (int64_t i = 0; i < t.nelements(); ++i) {
                const float want = test::naive_element(t.type, bytes + size_t(i / bs) * bb, int(i % bs));
                if (std::bit_cast<uint32_t>(want) != std::bit_cast<uint32_t>(y[size_t(i)]) && mismatches++ == 0)
                    MESSAGE("first mismatch at element " << i << ": " << y[size_t(i)] << " vs naive " << want);
            }
            CHECK(mismatches == 0);
            ++tensors_per_type[std::string(type_name(t.type))];
        }
    }
    for (const auto& [type, count] : tensors_per_type) MESSAGE(type << ": " << count << " tensors checked");
    // The three presets together use these five types (formats.md §5.3).
    for (const char* type : {"Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q6_K"}) CHECK(tensors_per_type[type] > 0);
}

TEST_CASE("llama.cpp's quantized tensors are close to the F32 model") {
    const auto& f32 = model("F32");
    for (const char* variant : k_quantized_variants) {
        std::map<ggml_type, error_sum> per_type;
        for (const auto& t : model(variant).tensors()) {
            if (!info(t.type).quantized) continue;
            const gguf_tensor* ref = f32.find_tensor(t.name);
            REQUIRE(ref != nullptr);
            REQUIRE(ref->type == ggml_type::f32);
            REQUIRE(ref->nelements() == t.nelements());
            std::vector<float> want(static_cast<size_t>(ref->nelements()));
            std::memcpy(want.data(), ref->data, want.size() * sizeof(float));
            per_type[t.type].add(dequantized(t), want);
        }
        for (const auto& [type, e] : per_type) {
            MESSAGE(std::string(variant) << " " << type_name(type) << ": " << e.tensors << " tensors, relative RMSE "
                            << e.rel_rmse() << " (worst tensor " << e.worst << ")");
            // Bounds sit ~20% above what llama.cpp's files measure (Q8_0 0.0044, Q6_K 0.0148,
            // Q4_K 0.071, Q3_K 0.151, Q2_K 0.296), so a wrong scale or offset fails loudly.
            double bound = 0;
            switch (type) {
                case ggml_type::q8_0: bound = 0.0055; break;
                case ggml_type::q6_K: bound = 0.018; break;
                case ggml_type::q4_K: bound = 0.085; break;
                case ggml_type::q3_K: bound = 0.18; break;
                case ggml_type::q2_K: bound = 0.35; break;
                default: FAIL("unexpected type " << type_name(type) << " in " << variant);
            }
            CHECK(e.rel_rmse() < bound);
            CHECK(e.worst < bound * 1.25);
        }
    }
}

TEST_CASE("ember's quantizer matches llama.cpp's files on the F32 weights") {
    const auto& f32 = model("F32");
    for (const char* variant : k_quantized_variants) {
        std::map<ggml_type, error_sum> theirs, ours;
        std::map<ggml_type, std::pair<int64_t, int64_t>> same_blocks;  // identical, total
        for (const auto& t : model(variant).tensors()) {
            if (!info(t.type).quantized) continue;
            const gguf_tensor* ref = f32.find_tensor(t.name);
            REQUIRE(ref != nullptr);
            std::vector<float> src(static_cast<size_t>(ref->nelements()));
            std::memcpy(src.data(), ref->data, src.size() * sizeof(float));

            std::vector<uint8_t> mine(t.nbytes);
            REQUIRE(quant::quantize_rows(t.type, src.data(), mine.data(), t.nrows(), t.ne[0]) == t.nbytes);
            std::vector<float> back(src.size());
            kernels::get(t.type, kernels::isa::scalar).to_float(mine.data(), back.data(), t.nelements());

            ours[t.type].add(back, src);
            theirs[t.type].add(dequantized(t), src);
            const size_t bb = info(t.type).block_bytes;
            auto& [same, total] = same_blocks[t.type];
            const auto* file_bytes = reinterpret_cast<const uint8_t*>(t.data);
            for (size_t off = 0; off < t.nbytes; off += bb) {
                same += std::memcmp(mine.data() + off, file_bytes + off, bb) == 0;
                ++total;
            }
        }
        for (const auto& [type, e] : ours) {
            const double ratio = e.rel_rmse() / theirs[type].rel_rmse();
            const auto [same, total] = same_blocks[type];
            MESSAGE(std::string(variant) << " " << type_name(type) << ": ember RMSE " << e.rel_rmse() << ", llama.cpp "
                            << theirs[type].rel_rmse() << ", ratio " << ratio << "; identical blocks " << same
                            << " / " << total);
            CHECK(ratio <= 1.02);
            // Same recipe, same f32 operation order: the bytes are llama.cpp's.
            CHECK(same == total);
        }
    }
}

}  // TEST_SUITE
