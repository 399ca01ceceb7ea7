// libFuzzer target for the chat-template interpreter (src/chat). The input is a template; after
// an optional NUL byte comes the messages JSON (otherwise a fixed two-turn conversation with a
// tool list). Rendering must either succeed -- the data spans sorted, disjoint and inside the
// text -- or throw ember::error with template_error (or invalid_argument for the JSON), within
// the limits: the small step and output limits here keep every input fast.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ember/chat.hpp"
#include "ember/error.hpp"

namespace {

[[noreturn]] void bug(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "fuzz_template: %s %.*s\n", what, int(detail.size()), detail.data());
    std::abort();
}

constexpr std::string_view k_messages =
    R"([{"role": "system", "content": "sys"}, {"role": "user", "content": [{"type": "text", "text": "hi <|im_end|>"}]},)"
    R"( {"role": "assistant", "content": "", "reasoning_content": "think", "tool_calls": [{"type": "function",)"
    R"( "function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 2.5]}}}]}, {"role": "tool", "content": "42"}])";
constexpr std::string_view k_tools = R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const size_t nul = in.find('\0');
    const std::string_view src = in.substr(0, nul);
    const std::string_view messages = nul == std::string_view::npos ? k_messages : in.substr(nul + 1);
    ember::chat_options opt;
    opt.max_steps = 200'000;
    opt.max_output = 1u << 20;
    opt.now = 0;
    opt.tools_json = std::string(k_tools);
    try {
        const ember::chat_template t(src, "<s>", "</s>");
        for (const bool gen : {true, false}) {
            opt.add_generation_prompt = gen;
            const ember::chat_prompt p = t.apply(messages, opt);
            if (p.text.size() > opt.max_output) bug("output above the limit");
            size_t prev = 0;
            for (const auto& [b, e] : p.data) {
                if (b < prev || e <= b || e > p.text.size()) bug("bad data span");
                prev = e;
            }
        }
    } catch (const ember::error& e) {
        if (e.code() != ember::errc::template_error && e.code() != ember::errc::invalid_argument) bug("unexpected error", e.what());
        if (std::string_view(e.what()).empty()) bug("empty error message");
    }
    return 0;
}
