// A small argument parser for the ember subcommands: `-x VALUE`, `--long VALUE`,
// `--long=VALUE` and flags. Errors are thrown as usage_error and printed on one line.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ember::cli {

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class args {
public:
    args(std::string_view command, std::span<char* const> argv) : command_(command) {
        for (char* a : argv) items_.push_back({a, false});
    }

    // Value of an option given as any of `names` (e.g. {"-m", "--model"}); the last one wins.
    std::optional<std::string> value(std::initializer_list<std::string_view> names) {
        std::optional<std::string> out;
        for (size_t i = 0; i < items_.size(); ++i) {
            const std::string_view a = items_[i].text;
            for (auto n : names) {
                if (a == n) {
                    if (i + 1 >= items_.size()) throw usage_error(std::string(n) + " needs a value");
                    items_[i].used = items_[i + 1].used = true;
                    out = std::string(items_[i + 1].text);
                    ++i;
                    break;
                }
                if (n.starts_with("--") && a.size() > n.size() && a.starts_with(n) && a[n.size()] == '=') {
                    items_[i].used = true;
                    out = std::string(a.substr(n.size() + 1));
                    break;
                }
            }
        }
        return out;
    }
    // Every value of a repeatable option, in order.
    std::vector<std::string> values(std::initializer_list<std::string_view> names) {
        std::vector<std::string> out;
        for (size_t i = 0; i < items_.size(); ++i) {
            const std::string_view a = items_[i].text;
            for (auto n : names) {
                if (a == n) {
                    if (i + 1 >= items_.size()) throw usage_error(std::string(n) + " needs a value");
                    items_[i].used = items_[i + 1].used = true;
                    out.emplace_back(items_[i + 1].text);
                    ++i;
                    break;
                }
                if (n.starts_with("--") && a.size() > n.size() && a.starts_with(n) && a[n.size()] == '=') {
                    items_[i].used = true;
                    out.emplace_back(a.substr(n.size() + 1));
                    break;
                }
            }
        }
        return out;
    }
    std::string required(std::initializer_list<std::string_view> names) {
        auto v = value(names);
        if (!v) throw usage_error(std::string(*names.begin()) + " is required");
        return *v;
    }
    bool flag(std::initializer_list<std::string_view> names) {
        bool found = false;
        for (auto& it : items_)
            for (auto n : names)
                if (it.text == n) {
                    it.used = true;
                    found = true;
                }
        return found;
    }
    template <class T> std::optional<T> number(std::initializer_list<std::string_view> names) {
        auto v = value(names);
        if (!v) return std::nullopt;
        return parse_number<T>(*v, *names.begin());
    }
    template <class T> T number_or(std::initializer_list<std::string_view> names, T def) {
        return number<T>(names).value_or(def);
    }
    // Arguments not consumed by any option, in order.
    std::vector<std::string> positionals() {
        std::vector<std::string> out;
        for (auto& it : items_)
            if (!it.used && (it.text.empty() || it.text[0] != '-' || it.text == "-")) {
                it.used = true;
                out.emplace_back(it.text);
            }
        return out;
    }
    // Call last: any option nobody asked for is an error.
    void finish() const {
        for (const auto& it : items_)
            if (!it.used) throw usage_error("unknown argument '" + std::string(it.text) + "'");
    }

    template <class T> static T parse_number(const std::string& s, std::string_view name) {
        T v{};
        const char* b = s.data();
        const char* e = s.data() + s.size();
        auto [p, ec] = std::from_chars(b, e, v);
        if (ec != std::errc() || p != e || s.empty())
            throw usage_error(std::string(name) + ": '" + s + "' is not a valid number");
        return v;
    }

private:
    struct item {
        std::string_view text;
        bool used;
    };
    std::string_view command_;
    std::vector<item> items_;
};

}  // namespace ember::cli
