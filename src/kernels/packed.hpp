// The packed (row-interleaved) forms of kernels.hpp's packed_kernels: layout conversion and the
// scalar reference kernels (ref_packed.cpp). The x86 tiers take pack/unpack/group_bytes from
// here (plain functions, called through pointers: no inline code shared with the tier files) and
// bring their own dot and gemm.
#pragma once

#include "ember/kernels.hpp"

namespace ember::kernels::packed {

size_t q4_K_x16_bytes(int64_t k) noexcept;
void pack_q4_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept;
void unpack_q4_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept;

size_t q2_K_x16_bytes(int64_t k) noexcept;
void pack_q2_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept;
void unpack_q2_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept;
size_t q3_K_x16_bytes(int64_t k) noexcept;
void pack_q3_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept;
void unpack_q3_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept;
size_t q6_K_x16_bytes(int64_t k) noexcept;
void pack_q6_K_x16(const void* rows, size_t row_bytes, int64_t k, void* group) noexcept;
void unpack_q6_K_x16(const void* group, int64_t k, void* rows, size_t row_bytes) noexcept;

// The scalar table's entries (reference dot and gemm, faster = false).
const packed_kernels& q4_K_x16_reference() noexcept;
const packed_kernels& q2_K_x16_reference() noexcept;
const packed_kernels& q3_K_x16_reference() noexcept;
const packed_kernels& q6_K_x16_reference() noexcept;

}  // namespace ember::kernels::packed
