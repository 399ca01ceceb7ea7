#include "ember/error.hpp"

namespace ember {

const char* to_string(errc c) noexcept {
    switch (c) {
        case errc::invalid_argument: return "invalid argument";
        case errc::file_not_found: return "file not found";
        case errc::bad_file: return "bad file";
        case errc::unsupported: return "unsupported";
        case errc::out_of_memory: return "out of memory";
        case errc::context_full: return "context full";
        case errc::cancelled: return "cancelled";
        case errc::io_error: return "I/O error";
        case errc::internal: return "internal error";
        case errc::template_error: return "template error";
    }
    return "unknown error";
}

}  // namespace ember
