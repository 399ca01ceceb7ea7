// Chat templates: the 57 real templates of ../shared/templates rendered byte for byte as Python's
// jinja2 renders them (the reference file is written at test time by tests/chat/jinja2_reference.py,
// see tests/CMakeLists.txt), the interpreter's Python semantics one by one, hostile templates
// stopped by the limits, and message contents kept as data when the prompt is tokenized.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common.hpp"
#include "ember/chat.hpp"
#include "ember/error.hpp"
#include "ember/gguf.hpp"
#include "ember/vocab.hpp"

namespace {

using ember::chat_options;
using ember::chat_template;
using nlohmann::ordered_json;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    REQUIRE_MESSAGE(f.good(), "cannot read " << p.string());
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

constexpr int64_t fixed_now = 1768484730;  // 2026-01-15 13:45:30 UTC, the reference's clock

std::string render(std::string_view src, std::string_view messages, chat_options opt = {}) {
    opt.now = fixed_now;
    return chat_template(src, "<s>", "</s>").apply(messages, opt).text;
}

std::string render_error(std::string_view src, std::string_view messages = "[]", chat_options opt = {}) {
    try {
        render(src, messages, opt);
    } catch (const ember::error& e) {
        CHECK(e.code() == ember::errc::template_error);
        return e.what();
    }
    FAIL("expected a template error for: " << src);
    return {};
}

}  // namespace

TEST_CASE("chat templates render byte-identical to Python's jinja2") {
    const char* ref_path = std::getenv("EMBER_CHAT_REFERENCE");
    REQUIRE_MESSAGE(ref_path, "EMBER_CHAT_REFERENCE names the file jinja2_reference.py writes (run through ctest)");
    const ordered_json ref = ordered_json::parse(read_file(ref_path));
    const ordered_json conv = ordered_json::parse(read_file(std::filesystem::path(EMBER_SOURCE_DIR) / "tests/data/chat/conversations.json"));
    const std::string tools = conv["tools"].dump();

    std::map<std::string, std::string> sources;
    std::set<std::string> templates, failing;
    size_t renders = 0, outputs = 0, errors = 0;
    for (const auto& r : ref) {
        const std::string name = r["template"];
        templates.insert(name);
        if (!sources.count(name)) sources[name] = read_file(ember::test::shared("templates/" + name + ".jinja"));
        const auto& c = conv["conversations"][r["conversation"].get<std::string>()];
        chat_options opt;
        opt.add_generation_prompt = r["add_generation_prompt"];
        if (c.value("tools", false)) opt.tools_json = tools;
        std::string got, err;
        try {
            got = render(sources[name], c["messages"].dump(), opt);
        } catch (const ember::error& e) {
            err = e.what();
        }
        ++renders;
        const std::string where = name + " / " + r["conversation"].get<std::string>() + (opt.add_generation_prompt ? " +gen" : "");
        if (r.contains("output")) {
            ++outputs;
            const std::string want = r["output"];
            if (!err.empty() || got != want) {
                failing.insert(name);
                size_t at = 0;
                while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
                MESSAGE(where << ": " << (err.empty() ? "differs at byte " + std::to_string(at) : "failed: " + err)
                              << "\n  jinja2: "
                              << std::string_view(want).substr(at > 40 ? at - 40 : 0, 120) << "\n  ember:  "
                              << std::string_view(got).substr(at > 40 ? at - 40 : 0, 120));
            }
        } else {
            ++errors;
            // Both fail. A raise_exception() message is the template's own text: it must match.
            const std::string want = r["error"];
            bool ok = !err.empty();
            if (ok && want.rfind("TemplateError: ", 0) == 0) ok = err.find(want) != std::string::npos;
            if (!ok) {
                failing.insert(name);
                MESSAGE(where << ": jinja2 raised '" << want << "' but ember " << (err.empty() ? "rendered" : "raised '" + err + "'"));
            }
        }
    }
    MESSAGE(renders << " renders of " << templates.size() << " templates (" << outputs << " outputs, " << errors
                    << " raised by both); templates with a difference: " << failing.size());
    CHECK(templates.size() == 57);
    CHECK(renders >= 57 * 12);
    CHECK(failing.empty());
}
