// Anonymous memory aligned to 2 MiB and marked for transparent huge pages: where ember keeps
// weights it reads or rewrites (a model read into memory, packed matrices). Generation streams
// every weight once per token, and with 4 KiB pages the TLB misses of that stream cost a
// measurable part of the memory bandwidth.
#pragma once

#include <cstddef>

namespace ember::detail {

class huge_region {
public:
    static constexpr size_t k_huge = size_t(2) << 20;

    explicit huge_region(size_t n);  // at least n bytes; throws std::bad_alloc
    ~huge_region();
    huge_region(const huge_region&) = delete;
    huge_region& operator=(const huge_region&) = delete;
    std::byte* data() noexcept { return data_; }

private:
    void* map_ = nullptr;
    size_t len_ = 0;
    std::byte* data_ = nullptr;
};

}  // namespace ember::detail
