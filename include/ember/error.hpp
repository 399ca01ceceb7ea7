// ember's one error type. Every failure the library reports is an ember::error carrying a
// category (mapped 1:1 onto the C API's status codes) and a message that names what was wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace ember {

enum class errc {
    invalid_argument = 1,  // a parameter or argument the caller passed is wrong
    file_not_found,        // the path does not exist or cannot be opened
    bad_file,              // the file (model, state, text) is malformed or inconsistent
    unsupported,           // well-formed, but asks for something ember cannot do
    out_of_memory,         // an allocation failed
    context_full,          // the KV cache has no room and shifting is off
    cancelled,             // a callback or another thread asked to stop
    io_error,              // reading or writing failed for reasons outside the file's content
    internal,              // a bug in ember; please report it
    template_error,        // a chat template failed: syntax, raise_exception(), or a limit
};

const char* to_string(errc c) noexcept;

class error : public std::runtime_error {
public:
    error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
    errc code() const noexcept { return code_; }

private:
    errc code_;
};

}  // namespace ember
