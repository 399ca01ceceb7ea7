#include "gguf/huge_region.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace ember::detail {

huge_region::huge_region(size_t n) {
    const size_t len = (n + k_huge - 1) / k_huge * k_huge + k_huge;  // room to align
    void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    map_ = m;
    len_ = len;
    const uintptr_t a = (reinterpret_cast<uintptr_t>(m) + k_huge - 1) / k_huge * k_huge;
    data_ = reinterpret_cast<std::byte*>(a);
#ifdef MADV_HUGEPAGE
    ::madvise(data_, len - (a - reinterpret_cast<uintptr_t>(m)), MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
}

huge_region::~huge_region() { ::munmap(map_, len_); }

}  // namespace ember::detail
