// Model-file quantization (quantize_file) and synthetic models (make_random_model).
//
// The reference is llama.cpp's quantize tool: its Q8_0 / Q4_K_M / Q2_K / F16 files of the
// shakespeare-19m model, made from the same F32 file. ember chooses the same type for every
// tensor, writes the tensors in the same order with the same metadata, and its quantizers agree
// block for block, so the files must be identical byte for byte.
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common.hpp"
#include "ember/context.hpp"
#include "ember/fp16.hpp"
#include "ember/gguf.hpp"
#include "ember/kernels.hpp"
#include "ember/model.hpp"
#include "ember/quantize_file.hpp"
#include "ember/random_model.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::vector<char> file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE_MESSAGE(bool(in), "cannot read " << p.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

fs::path tmp(const std::string& name) {
    const auto p = test::tmp_dir() / ("quantize_file-" + name);
    fs::remove(p);
    return p;
}

// Files in the temporary directory whose name starts with `prefix` (to spot leftovers).
size_t files_starting_with(const std::string& prefix) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(test::tmp_dir()))
        n += e.path().filename().string().starts_with(prefix);
    return n;
}

errc error_code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const error& e) {
        return e.code();
    }
    FAIL("expected an ember::error");
    return errc::internal;
}

fs::path shakespeare(const std::string& variant) { return test::shared("models/shakespeare-19m-" + variant + ".gguf"); }

std::vector<float> dequantized(const gguf_tensor& t) {
    std::vector<float> y(size_t(t.nelements()));
    kernels::get(t.type, kernels::isa::scalar).to_float(t.data, y.data(), t.nelements());
    return y;
}

double rel_rmse(const std::vector<float>& got, const std::vector<float>& ref) {
    double e = 0, r = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        e += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
        r += double(ref[i]) * ref[i];
    }
    return std::sqrt(e / r);
}

// A small llama-like file with one tensor of the given type (its bytes are zeros).
fs::path write_one_tensor_model(const std::string& name, const std::string& arch, ggml_type type, int64_t ne0) {
    gguf_writer w;
    w.set_string("general.architecture", arch);
    w.set_u32(arch + ".block_count", 1);
    w.set_u32(arch + ".attention.head_count", 4);
    const int64_t ne[] = {ne0, 8};
    w.add_tensor_copy("blk.0.attn_q.weight", type, ne, std::vector<std::byte>(row_bytes(type, ne0) * 8));
    const auto p = tmp(name);
    w.write(p);
    return p;
}

std::vector<quant_tensor_desc> descs_of(const gguf_file& f) {
    std::vector<quant_tensor_desc> d;
    for (const auto& t : f.tensors()) d.push_back({t.name, {t.ne.data(), t.n_dims}, t.type});
    return d;
}

// The plan for a dense llama model of n layers: type per tensor name.
std::map<std::string, ggml_type> plan_for(const char* preset, int64_t n_layer, int64_t n_head, int64_t n_head_kv, bool tied = false) {
    std::vector<std::string> names;
    std::vector<std::vector<int64_t>> shapes;
    auto add = [&](std::string n, std::vector<int64_t> ne) {
        names.push_back(std::move(n));
        shapes.push_back(std::move(ne));
    };
    add("token_embd.weight", {512, 1000});
    if (!tied) add("output.weight", {512, 1000});
    add("output_norm.weight", {512});
    for (int64_t i = 0; i < n_layer; ++i)
        for (const char* t : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm", "ffn_norm"}) {
            const bool norm = std::string(t).ends_with("norm");
            add("blk." + std::to_string(i) + "." + t + ".weight", norm ? std::vector<int64_t>{512} : std::vector<int64_t>{512, 512});
        }
    std::vector<quant_tensor_desc> d;
    for (size_t i = 0; i < names.size(); ++i) d.push_back({names[i], shapes[i], ggml_type::f32});
    std::map<std::string, ggml_type> out;
    for (const auto& e : plan_quantization(*find_quant_preset(preset), {n_layer, n_head, n_head_kv}, d)) out[names[e.index]] = e.type;
    return out;
}

random_model_options tiny_options(const std::string& type, uint64_t seed = 7) {
    random_model_options o;
    o.shape = find_random_model_preset("tiny")->shape;
    o.name = "tiny";
    o.type = type;
    o.seed = seed;
    o.vocab = test::shared("models/stories260K.gguf");  // 512 tokens keeps the test model small
    o.n_threads = 2;
    return o;
}

// Runs a few tokens through the model; returns the last logits.
std::vector<float> forward(const fs::path& p) {
    const auto m = model::load(p);
    context ctx(m, {.n_ctx = 64, .n_threads = 2});
    const std::vector<token_id> toks = {1, 100, 200, 300, 400};
    ctx.decode(toks);
    const auto z = ctx.logits();
    return {z.begin(), z.end()};
}

// max_sd: a trained model is more confident than a random one.
void check_sane_logits(const std::vector<float>& z, double max_sd = 5.0) {
    double mean = 0, mn = z[0], mx = z[0];
    for (float v : z) {
        REQUIRE(std::isfinite(v));
        mean += v;
        mn = std::min<double>(mn, v);
        mx = std::max<double>(mx, v);
    }
    mean /= double(z.size());
    double var = 0;
    for (float v : z) var += (v - mean) * (v - mean);
    const double sd = std::sqrt(var / double(z.size()));
    // Output rows are N(0, 1/n_embd) against an RMS-normalised state: logits of order one.
    CHECK(sd > 0.2);
    CHECK(sd < max_sd);
    CHECK(mx - mn > 1.0);
}

}  // namespace

TEST_SUITE("quantize_file") {

TEST_CASE("presets: names, file types and base types") {
    CHECK(find_quant_preset("q4_k_m") == find_quant_preset("Q4_K_M"));
    CHECK(find_quant_preset("Q4_K_M")->file_type == 15);
    CHECK(find_quant_preset("Q4_K_S")->file_type == 14);
    CHECK(find_quant_preset("Q3_K_M")->file_type == 12);
    CHECK(find_quant_preset("Q2_K")->file_type == 10);
    CHECK(find_quant_preset("Q8_0")->file_type == 7);
    CHECK(find_quant_preset("F16")->file_type == 1);
    CHECK(find_quant_preset("bf16")->file_type == 32);
    CHECK(find_quant_preset("Q3_K_M")->base == ggml_type::q3_K);
    CHECK(find_quant_preset("Q5_K_M") == nullptr);
    CHECK(find_quant_preset("") == nullptr);
}

TEST_CASE("candidates and processing order") {
    CHECK(is_quantizable_tensor("blk.0.attn_q.weight", 2));
    CHECK(is_quantizable_tensor("token_embd.weight", 2));
    CHECK_FALSE(is_quantizable_tensor("blk.0.attn_q.weight", 1));
    CHECK_FALSE(is_quantizable_tensor("blk.0.attn_norm.weight", 2));
    CHECK_FALSE(is_quantizable_tensor("blk.0.attn_q.bias", 2));
    CHECK_FALSE(is_quantizable_tensor("blk.0.ffn_gate_inp.weight", 2));
    CHECK_FALSE(is_quantizable_tensor("position_embd.weight", 2));
    CHECK(quant_order_less("output.weight", "blk.0.attn_k.weight"));  // layer -1 first
    CHECK(quant_order_less("blk.2.ffn_up.weight", "blk.10.attn_k.weight"));  // numerically
    CHECK(quant_order_less("blk.3.attn_k.weight", "blk.3.attn_norm.weight"));
}

TEST_CASE("per-tensor rules of formats.md §5.3 on a 32-layer model") {
    auto layer = [](int i, const char* t) { return "blk." + std::to_string(i) + "." + t + ".weight"; };
    const auto q4m = plan_for("Q4_K_M", 32, 32, 32);
    const std::set<int> more_bits = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
    for (int i = 0; i < 32; ++i) {
        CAPTURE(i);
        const auto want = more_bits.count(i) ? ggml_type::q6_K : ggml_type::q4_K;
        CHECK(q4m.at(layer(i, "attn_v")) == want);
        CHECK(q4m.at(layer(i, "ffn_down")) == want);
        CHECK(q4m.at(layer(i, "attn_q")) == ggml_type::q4_K);
        CHECK(q4m.at(layer(i, "attn_output")) == ggml_type::q4_K);
        CHECK(q4m.at(layer(i, "attn_norm")) == ggml_type::f32);
    }
    CHECK(q4m.at("output.weight") == ggml_type::q6_K);
    CHECK(q4m.at("token_embd.weight") == ggml_type::q4_K);
    CHECK(q4m.at("output_norm.weight") == ggml_type::f32);

    const auto q4s = plan_for("Q4_K_S", 32, 32, 32);
    const auto q3m = plan_for("Q3_K_M", 32, 32, 32);
    const auto q2 = plan_for("Q2_K", 32, 32, 32);
    const auto q2_gqa = plan_for("Q2_K", 32, 32, 8);
    for (int i = 0; i < 32; ++i) {
        CAPTURE(i);
        CHECK(q4s.at(layer(i, "attn_v")) == (i < 4 ? ggml_type::q5_K : ggml_type::q4_K));
        CHECK(q4s.at(layer(i, "ffn_down")) == (i < 4 ? ggml_type::q5_K : ggml_type::q4_K));
        CHECK(q3m.at(layer(i, "attn_v")) == (i < 2 ? ggml_type::q5_K : ggml_type::q4_K));
        CHECK(q3m.at(layer(i, "ffn_down")) == (i < 2 ? ggml_type::q5_K : ggml_type::q4_K));
        CHECK(q3m.at(layer(i, "attn_output")) == ggml_type::q4_K);
        CHECK(q3m.at(layer(i, "ffn_up")) == ggml_type::q3_K);
        CHECK(q2.at(layer(i, "attn_v")) == ggml_type::q3_K);
        CHECK(q2_gqa.at(layer(i, "attn_v")) == ggml_type::q4_K);  // n_gqa >= 4
        CHECK(q2.at(layer(i, "ffn_down")) == ggml_type::q3_K);
        CHECK(q2.at(layer(i, "attn_output")) == ggml_type::q3_K);
        CHECK(q2.at(layer(i, "attn_k")) == ggml_type::q2_K);
    }
    CHECK(q2.at("token_embd.weight") == ggml_type::q2_K);
    CHECK(q2.at("output.weight") == ggml_type::q6_K);

    // Tied embeddings take the output tensor's rule.
    CHECK(plan_for("Q4_K_M", 4, 4, 4, true).at("token_embd.weight") == ggml_type::q6_K);
    CHECK(plan_for("Q8_0", 4, 4, 4, true).at("token_embd.weight") == ggml_type::q8_0);
    // 70B: attn_v gets Q5_K where it would have had Q3_K or Q4_K.
    const auto q2_70b = plan_for("Q2_K", 80, 64, 8);
    CHECK(q2_70b.at(layer(5, "attn_v")) == ggml_type::q5_K);
    const auto q4m_70b = plan_for("Q4_K_M", 80, 64, 8);
    CHECK(q4m_70b.at(layer(0, "attn_v")) == ggml_type::q6_K);
    CHECK(q4m_70b.at(layer(11, "attn_v")) == ggml_type::q5_K);
    // Float presets convert every candidate, output and embedding included.
    const auto f16 = plan_for("F16", 4, 4, 4);
    CHECK(f16.at("output.weight") == ggml_type::f16);
    CHECK(f16.at(layer(0, "attn_v")) == ggml_type::f16);
    CHECK(f16.at(layer(0, "ffn_norm")) == ggml_type::f32);
}

TEST_CASE("fallbacks of formats.md §5.4 for rows the block size does not divide") {
    const tensor_rule_state s{.n_layer = 4, .n_gqa = 1, .n_attn_v = 4};
    const auto& q4m = *find_quant_preset("Q4_K_M");
    const auto& q2 = *find_quant_preset("Q2_K");
    const auto& q8 = *find_quant_preset("Q8_0");
    auto choose = [&](const quant_preset& p, const char* name, int64_t ne0) {
        const int64_t ne[] = {ne0, 16};
        return choose_tensor_type(p, name, ne, ggml_type::f32, s);
    };
    CHECK(choose(q4m, "blk.1.attn_q.weight", 96) == ggml_type::q5_0);
    CHECK(choose(q4m, "blk.0.attn_v.weight", 96) == ggml_type::q5_0);  // i_attn_v 0 of 4: Q4_K -> Q5_0
    tensor_rule_state last = s;
    last.i_attn_v = 3;  // more_bits(3, 4): Q6_K -> Q8_0
    const int64_t ne96[] = {96, 16};
    CHECK(choose_tensor_type(q4m, "blk.3.attn_v.weight", ne96, ggml_type::f32, last) == ggml_type::q8_0);
    CHECK(choose(q4m, "output.weight", 96) == ggml_type::q8_0);
    CHECK(choose(q4m, "blk.1.attn_q.weight", 100) == ggml_type::f16);  // not even 32 divides it
    CHECK(choose(q2, "blk.1.attn_q.weight", 96) == ggml_type::q4_0);
    CHECK(choose(q2, "blk.1.ffn_down.weight", 96) == ggml_type::q4_0);  // Q3_K -> Q4_0
    CHECK(choose(*find_quant_preset("Q3_K_M"), "blk.0.attn_v.weight", 96) == ggml_type::q5_1);  // Q5_K -> Q5_1
    CHECK(choose(q8, "blk.1.attn_q.weight", 96) == ggml_type::q8_0);
    CHECK(error_code_of([&] { choose(q8, "blk.1.attn_q.weight", 100); }) == errc::unsupported);
}

TEST_CASE("the type of every shakespeare tensor is the one llama.cpp chose, in llama.cpp's order") {
    const auto f32 = gguf_file::open(shakespeare("F32"));
    const auto descs = descs_of(f32);
    const quant_model_desc m{4, 4, 2};
    for (const char* preset : {"Q8_0", "Q4_K_M", "Q2_K", "F16"}) {
        CAPTURE(preset);
        const auto ref = gguf_file::open(shakespeare(preset));
        const auto plan = plan_quantization(*find_quant_preset(preset), m, descs);
        REQUIRE(plan.size() == ref.tensors().size());
        for (size_t i = 0; i < plan.size(); ++i) {
            const auto& want = ref.tensors()[i];
            CAPTURE(want.name);
            CHECK(descs[plan[i].index].name == want.name);
            CHECK(type_name(plan[i].type) == type_name(want.type));
        }
    }
}

TEST_CASE("quantized shakespeare files are byte-identical to llama.cpp's") {
    for (const char* preset : {"Q8_0", "Q4_K_M", "Q2_K", "F16"}) {
        CAPTURE(preset);
        const auto out = tmp(std::string("shakespeare-") + preset + ".gguf");
        const auto r = quantize_file(shakespeare("F32"), out, {.preset = preset, .n_threads = 2});
        CHECK(r.n_tensors == 39);
        CHECK(r.n_quantized == 30);  // every matrix; the 9 norms stay F32
        CHECK(r.bytes_in == 78128128);
        const auto f = gguf_file::open(out);
        CHECK(f.get_u32("general.file_type") == find_quant_preset(preset)->file_type);
        CHECK(f.get_u32("general.quantization_version") == 2);
        CHECK(f.get_string("tokenizer.ggml.model") == "llama");
        CHECK(f.get_string_array("tokenizer.ggml.tokens").size() == 32000);
        uint64_t data = 0;
        for (const auto& t : f.tensors()) data += t.nbytes;
        CHECK(r.bytes_out == data);
        // Whole files: header, metadata (in order), tensor infos, data, padding.
        const auto got = file_bytes(out), want = file_bytes(shakespeare(preset));
        CHECK(got.size() == want.size());
        CHECK(got == want);
        fs::remove(out);
    }
}

TEST_CASE("progress is reported once per tensor, in order, and cancelling leaves no file") {
    const auto out = tmp("progress.gguf");
    std::vector<std::string> names;
    quantize_options o{.preset = "Q8_0", .n_threads = 2};
    o.progress = [&](const quantize_progress& p) {
        CHECK(p.index == names.size());
        CHECK(p.count == 39);
        CHECK(p.bytes_in == size_t(4) * size_t(p.ne[0]) * size_t(p.ne.size() > 1 ? p.ne[1] : 1));
        names.emplace_back(p.name);
        return true;
    };
    quantize_file(shakespeare("F32"), out, o);
    REQUIRE(names.size() == 39);
    CHECK(names[0] == "output.weight");
    CHECK(names[38] == "blk.3.ffn_up.weight");
    fs::remove(out);

    size_t calls = 0;
    o.progress = [&](const quantize_progress&) { return ++calls < 5; };
    CHECK(error_code_of([&] { quantize_file(shakespeare("F32"), out, o); }) == errc::cancelled);
    CHECK(calls == 5);
    CHECK_FALSE(fs::exists(out));
    CHECK(files_starting_with("quantize_file-progress.gguf") == 0);  // no temporary left either
}

TEST_CASE("the input is never overwritten") {
    const auto in = tmp("input.gguf");
    fs::copy_file(test::shared("models/stories260K.gguf"), in);
    const auto size = fs::file_size(in);
    CHECK(error_code_of([&] { quantize_file(in, in, {.preset = "F16"}); }) == errc::invalid_argument);
    CHECK(error_code_of([&] { quantize_file(in, in.parent_path() / "." / in.filename(), {.preset = "F16"}); }) ==
          errc::invalid_argument);
    const auto link = tmp("input-link.gguf");
    fs::create_hard_link(in, link);
    CHECK(error_code_of([&] { quantize_file(in, link, {.preset = "F16"}); }) == errc::invalid_argument);
    CHECK(fs::file_size(in) == size);
    CHECK(gguf_file::open(in).tensors()[0].type == ggml_type::f32);
    fs::remove(link);
    fs::remove(in);
}

TEST_CASE("bad requests are errors") {
    const auto out = tmp("bad.gguf");
    CHECK(error_code_of([&] { quantize_file(shakespeare("F32"), out, {.preset = "Q5_K_M"}); }) == errc::invalid_argument);
    CHECK(error_code_of([&] { quantize_file(test::tmp_dir() / "missing.gguf", out, {.preset = "Q8_0"}); }) == errc::file_not_found);
    // The mixes are llama's; other architectures only get the float presets.
    const auto gpt2 = write_one_tensor_model("gpt2.gguf", "gpt2", ggml_type::f32, 64);
    CHECK(error_code_of([&] { quantize_file(gpt2, out, {.preset = "Q4_K_M"}); }) == errc::unsupported);
    quantize_file(gpt2, out, {.preset = "F16"});
    CHECK(gguf_file::open(out).tensors()[0].type == ggml_type::f16);
    fs::remove(out);
    // A type ember cannot dequantize cannot be converted.
    const auto iq = write_one_tensor_model("iq2.gguf", "llama", ggml_type::iq2_xxs, 256);
    try {
        quantize_file(iq, out, {.preset = "Q8_0"});
        FAIL("expected an error");
    } catch (const error& e) {
        CHECK(e.code() == errc::unsupported);
        CHECK(std::string(e.what()).find("blk.0.attn_q.weight") != std::string::npos);
        CHECK(std::string(e.what()).find("IQ2_XXS") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(out));
    fs::remove(gpt2);
    fs::remove(iq);
}

TEST_CASE("already quantized input: kept when the type stays, dequantized when it changes") {
    // Q4_K_M of a Q4_K_M file changes nothing: every tensor keeps its bytes.
    const auto same = tmp("requant-same.gguf");
    const auto r = quantize_file(shakespeare("Q4_K_M"), same, {.preset = "Q4_K_M", .n_threads = 2});
    CHECK(r.n_quantized == 0);
    {
        const auto a = gguf_file::open(same), b = gguf_file::open(shakespeare("Q4_K_M"));
        for (size_t i = 0; i < a.tensors().size(); ++i) {
            REQUIRE(a.tensors()[i].nbytes == b.tensors()[i].nbytes);
            CHECK(std::memcmp(a.tensors()[i].data, b.tensors()[i].data, a.tensors()[i].nbytes) == 0);
        }
    }
    fs::remove(same);

    // Q8_0 -> Q4_K_M dequantizes and requantizes: the same types as from F32, and nearly the
    // same values (Q8_0 is much finer than Q4_K).
    const auto out = tmp("requant.gguf");
    quantize_file(shakespeare("Q8_0"), out, {.preset = "Q4_K_M", .n_threads = 2});
    const auto got = gguf_file::open(out), ref = gguf_file::open(shakespeare("Q4_K_M")), f32 = gguf_file::open(shakespeare("F32"));
    REQUIRE(got.tensors().size() == ref.tensors().size());
    for (size_t i = 0; i < got.tensors().size(); ++i) {
        const auto& t = got.tensors()[i];
        CAPTURE(t.name);
        CHECK(t.type == ref.tensors()[i].type);
        if (t.type == ggml_type::f32) continue;
        const auto orig = dequantized(*f32.find_tensor(t.name));
        const double e_requant = rel_rmse(dequantized(t), orig), e_direct = rel_rmse(dequantized(ref.tensors()[i]), orig);
        CHECK(e_requant < 1.1 * e_direct + 0.002);
    }
    fs::remove(out);
}

TEST_CASE("BF16 converts every matrix with round-to-nearest-even") {
    const auto out = tmp("bf16.gguf");
    quantize_file(test::shared("models/stories260K.gguf"), out, {.preset = "BF16"});
    const auto f = gguf_file::open(out), src = gguf_file::open(test::shared("models/stories260K.gguf"));
    CHECK(f.get_u32("general.file_type") == 32);
    for (const auto& t : f.tensors()) {
        CAPTURE(t.name);
        const auto& s = *src.find_tensor(t.name);
        CHECK(t.type == (t.n_dims >= 2 ? ggml_type::bf16 : ggml_type::f32));
        if (t.type != ggml_type::bf16) continue;
        const auto* x = reinterpret_cast<const float*>(s.data);
        const auto* h = reinterpret_cast<const uint16_t*>(t.data);
        int64_t bad = 0;
        for (int64_t i = 0; i < t.nelements(); ++i) bad += h[i] != fp32_to_bf16(x[i]);
        CHECK(bad == 0);
    }
    fs::remove(out);
}

TEST_CASE("stories260K (rows of 64 and 172) falls back to 32-element types and F16") {
    const auto out = tmp("stories-q4km.gguf");
    quantize_file(test::shared("models/stories260K.gguf"), out, {.preset = "Q4_K_M", .n_threads = 2});
    {
        const auto f = gguf_file::open(out);
        // 5 attn_v tensors: more_bits(i, 5) holds for i = 2 and 4 -> Q6_K -> Q8_0.
        CHECK(f.find_tensor("output.weight")->type == ggml_type::q8_0);
        CHECK(f.find_tensor("token_embd.weight")->type == ggml_type::q5_0);
        CHECK(f.find_tensor("blk.0.attn_q.weight")->type == ggml_type::q5_0);
        CHECK(f.find_tensor("blk.0.attn_v.weight")->type == ggml_type::q5_0);
        CHECK(f.find_tensor("blk.2.attn_v.weight")->type == ggml_type::q8_0);
        CHECK(f.find_tensor("blk.4.attn_v.weight")->type == ggml_type::q8_0);
        CHECK(f.find_tensor("blk.0.ffn_gate.weight")->type == ggml_type::q5_0);
        CHECK(f.find_tensor("blk.0.ffn_down.weight")->type == ggml_type::f16);  // 172 % 32 != 0
        CHECK(f.find_tensor("blk.0.attn_norm.weight")->type == ggml_type::f32);
    }
    check_sane_logits(forward(out), 50.0);
    fs::remove(out);

    quantize_file(test::shared("models/stories260K.gguf"), out, {.preset = "Q2_K", .n_threads = 2});
    {
        const auto f = gguf_file::open(out);
        CHECK(f.find_tensor("blk.0.attn_q.weight")->type == ggml_type::q4_0);
        CHECK(f.find_tensor("blk.0.attn_v.weight")->type == ggml_type::q4_0);  // Q3_K -> Q4_0
        CHECK(f.find_tensor("blk.0.ffn_down.weight")->type == ggml_type::f16);
        CHECK(f.find_tensor("output.weight")->type == ggml_type::q8_0);
    }
    fs::remove(out);
    // Q8_0 has no fallback: a row of 172 cannot be written (llama.cpp fails the same way).
    CHECK(error_code_of([&] { quantize_file(test::shared("models/stories260K.gguf"), out, {.preset = "Q8_0"}); }) == errc::unsupported);
    CHECK_FALSE(fs::exists(out));
}

TEST_CASE("mkmodel: the tiny model is deterministic in the seed and runs") {
    const auto a = tmp("tiny-a.gguf"), b = tmp("tiny-b.gguf"), c = tmp("tiny-c.gguf");
    make_random_model(a, tiny_options("Q4_K_M", 7));
    auto single = tiny_options("Q4_K_M", 7);
    single.n_threads = 1;  // the bytes do not depend on the thread count
    make_random_model(b, single);
    make_random_model(c, tiny_options("Q4_K_M", 8));
    CHECK(file_bytes(a) == file_bytes(b));
    CHECK(file_bytes(a) != file_bytes(c));

    const auto f = gguf_file::open(a);
    CHECK(f.get_string("general.architecture") == "llama");
    CHECK(f.get_string("general.name") == "tiny");
    CHECK(f.get_u32("llama.embedding_length") == 256);
    CHECK(f.get_u32("llama.block_count") == 2);
    CHECK(f.get_u32("llama.attention.head_count_kv") == 2);
    CHECK(f.get_u32("llama.rope.dimension_count") == 64);
    CHECK(f.get_f32("llama.attention.layer_norm_rms_epsilon") == 1e-5f);
    CHECK(f.get_f32("llama.rope.freq_base") == 10000.0f);
    CHECK(f.get_u32("general.file_type") == 15);
    CHECK(f.get_string_array("tokenizer.ggml.tokens").size() == 512);
    CHECK(f.find_tensor("token_embd.weight")->ne[1] == 512);
    // The matrices have the intended spread: std 1/sqrt(row length).
    const auto q = dequantized(*f.find_tensor("blk.0.ffn_down.weight"));
    double ss = 0;
    for (float v : q) ss += double(v) * v;
    CHECK(std::sqrt(ss / double(q.size())) == doctest::Approx(1.0 / std::sqrt(768.0)).epsilon(0.05));

    const auto m = model::load(a);
    CHECK(m->hparams().n_vocab == 512);
    check_sane_logits(forward(a));
    for (const auto& p : {a, b, c}) fs::remove(p);
}

TEST_CASE("mkmodel: every type preset writes its mix and loads") {
    for (const auto& preset : quant_presets()) {
        CAPTURE(preset.name);
        const auto out = tmp("tiny-" + std::string(preset.name) + ".gguf");
        const auto r = make_random_model(out, tiny_options(std::string(preset.name)));
        CHECK(r.n_tensors == 21);
        const auto f = gguf_file::open(out);
        CHECK(f.get_u32("general.file_type") == preset.file_type);
        const auto plan = plan_quantization(preset, {2, 4, 2}, descs_of(f));
        for (size_t i = 0; i < plan.size(); ++i) {
            CHECK(plan[i].index == i);  // written in processing order
            CHECK(f.tensors()[i].type == plan[i].type);
        }
        CHECK(f.find_tensor("blk.0.attn_q.weight")->type == (preset.base == ggml_type::f32 ? ggml_type::f32 : preset.base));
        check_sane_logits(forward(out));
        fs::remove(out);
    }
}

TEST_CASE("mkmodel: a quantized model equals the F32 model quantized afterwards") {
    const auto f32 = tmp("tiny-f32.gguf"), direct = tmp("tiny-direct.gguf"), after = tmp("tiny-after.gguf");
    make_random_model(f32, tiny_options("F32"));
    make_random_model(direct, tiny_options("Q2_K"));
    quantize_file(f32, after, {.preset = "Q2_K", .n_threads = 2});
    const auto a = gguf_file::open(direct), b = gguf_file::open(after);
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
        const auto &x = a.tensors()[i], &y = b.tensors()[i];
        CAPTURE(x.name);
        CHECK(x.name == y.name);
        CHECK(x.type == y.type);
        REQUIRE(x.nbytes == y.nbytes);
        CHECK(std::memcmp(x.data, y.data, x.nbytes) == 0);
    }
    for (const auto& p : {f32, direct, after}) fs::remove(p);
}

TEST_CASE("mkmodel: tied output, shape checks and vocabulary size") {
    const auto out = tmp("tiny-tied.gguf");
    auto o = tiny_options("Q4_K_M");
    o.tied_output = true;
    make_random_model(out, o);
    {
        const auto f = gguf_file::open(out);
        CHECK(f.find_tensor("output.weight") == nullptr);
        CHECK(f.find_tensor("token_embd.weight")->type == ggml_type::q6_K);
    }
    CHECK(model::load(out)->hparams().tied_output);
    check_sane_logits(forward(out));
    fs::remove(out);

    // A custom width whose rows K-quants cannot hold: the §5.4 fallbacks apply.
    o = tiny_options("Q4_K_M");
    o.shape.n_embd = 96;
    o.shape.n_head = 3;
    o.shape.n_head_kv = 1;
    o.shape.n_ff = 160;
    make_random_model(out, o);
    {
        const auto f = gguf_file::open(out);
        CHECK(f.find_tensor("blk.0.attn_q.weight")->type == ggml_type::q5_0);
        CHECK(f.find_tensor("blk.0.ffn_down.weight")->type == ggml_type::q5_0);
        CHECK(f.find_tensor("blk.1.ffn_down.weight")->type == ggml_type::q8_0);  // Q6_K (more bits) -> Q8_0
        CHECK(f.find_tensor("output.weight")->type == ggml_type::q8_0);
    }
    check_sane_logits(forward(out));
    fs::remove(out);

    o = tiny_options("Q8_0");
    o.shape = find_random_model_preset("tinyllama-1.1b")->shape;  // 32000 tokens
    CHECK(error_code_of([&] { make_random_model(out, o); }) == errc::invalid_argument);
    o = tiny_options("Q8_0");
    o.shape.n_head = 3;  // 256 is not a multiple of 3
    CHECK(error_code_of([&] { make_random_model(out, o); }) == errc::invalid_argument);
    o = tiny_options("Q9_9");
    CHECK(error_code_of([&] { make_random_model(out, o); }) == errc::invalid_argument);
    o = tiny_options("Q8_0");
    o.vocab = test::tmp_dir() / "no-such-vocab.gguf";
    CHECK(error_code_of([&] { make_random_model(out, o); }) == errc::file_not_found);
    CHECK_FALSE(fs::exists(out));
}

}  // TEST_SUITE
