#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "kernels/table.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace ember::kernels {

std::string_view isa_name(isa i) noexcept {
    switch (i) {
        case isa::scalar: return "scalar";
        case isa::avx2: return "avx2";
        case isa::avx512: return "avx512";
    }
    return "unknown";
}

namespace {

cpu_features detect() noexcept {
    cpu_features f;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c & (1u << 27);
    const bool avx = c & (1u << 28);
    f.fma = c & (1u << 12);
    f.f16c = c & (1u << 29);
    uint64_t xcr0 = 0;
    if (osxsave) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = (uint64_t(hi) << 32) | lo;
    }
    const bool os_avx = (xcr0 & 0x6) == 0x6;          // XMM and YMM state
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;     // plus opmask, ZMM_Hi256, Hi16_ZMM
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f.avx2 = avx && os_avx && (b & (1u << 5));
        f.bmi2 = b & (1u << 8);
        f.avx512f = os_avx512 && (b & (1u << 16));
        f.avx512dq = os_avx512 && (b & (1u << 17));
        f.avx512bw = os_avx512 && (b & (1u << 30));
        f.avx512vl = os_avx512 && (b & (1u << 31));
        f.avx512vnni = os_avx512 && (c & (1u << 11));
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avx_vnni = os_avx && (a & (1u << 4));
        f.avx512bf16 = os_avx512 && (a & (1u << 5));
    }
    if (!os_avx) f.fma = f.f16c = false;
#endif
    return f;
}

struct tables {
    kernel_table by_isa[3];
    tables() {
        for (isa i : {isa::scalar, isa::avx2, isa::avx512}) by_isa[int(i)] = make_table(i, true);
    }
};

const tables& all_tables() noexcept {
    static const tables t;
    return t;
}

isa detect_active() noexcept {
    isa best = isa::scalar;
    if (isa_supported(isa::avx2)) best = isa::avx2;
    if (isa_supported(isa::avx512)) best = isa::avx512;
    if (const char* env = std::getenv("EMBER_ISA")) {
        const std::string_view want = env;
        for (isa i : {isa::scalar, isa::avx2, isa::avx512})
            if (want == isa_name(i) && isa_supported(i)) return i;
    }
    return best;
}

}  // namespace

const cpu_features& cpu() noexcept {
    static const cpu_features f = detect();
    return f;
}

bool isa_supported(isa i) noexcept {
    const auto& f = cpu();
    switch (i) {
        case isa::scalar: return true;
#if EMBER_HAVE_X86_KERNELS
        case isa::avx2: return f.avx2 && f.fma && f.f16c && f.bmi2;
        case isa::avx512: return f.avx2 && f.fma && f.f16c && f.bmi2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
#endif
        default: return false;
    }
}

namespace {

// The ISA get(t) serves; set_active_isa may change it (tests, benchmarks), so it is atomic.
std::atomic<int>& active_slot() noexcept {
    static std::atomic<int> a{int(detect_active())};
    return a;
}

}  // namespace

isa active_isa() noexcept { return isa(active_slot().load(std::memory_order_relaxed)); }

bool set_active_isa(isa i) noexcept {
    if (!isa_supported(i)) return false;
    active_slot().store(int(i), std::memory_order_relaxed);
    return true;
}

bool vnni_available(isa i) noexcept {
    const auto& f = cpu();
    switch (i) {
#if EMBER_HAVE_AVXVNNI_KERNELS
        case isa::avx2: return isa_supported(i) && f.avx_vnni;
#endif
#if EMBER_HAVE_AVX512VNNI_KERNELS
        case isa::avx512: return isa_supported(i) && f.avx512vnni;
#endif
        default: (void)f; return false;
    }
}

kernel_table make_table(isa i, bool use_vnni) {
    kernel_table t{};
    register_scalar(t);
    if (!isa_supported(i)) return t;
#if EMBER_HAVE_X86_KERNELS
    if (i == isa::avx2 || i == isa::avx512) {
        register_avx2(t);
#if EMBER_HAVE_AVXVNNI_KERNELS
        if (use_vnni && vnni_available(isa::avx2)) register_avxvnni(t);
#endif
    }
    if (i == isa::avx512) {
        register_avx512(t);
#if EMBER_HAVE_AVX512VNNI_KERNELS
        if (use_vnni && vnni_available(isa::avx512)) register_avx512vnni(t);
#endif
    }
#endif
    (void)use_vnni;
    return t;
}

const type_kernels& get(ggml_type t, isa i) noexcept {
    static const type_kernels none{};
    const size_t idx = size_t(t);
    if (idx >= k_type_slots || !isa_supported(i)) return none;
    return all_tables().by_isa[int(i)][idx];
}

}  // namespace ember::kernels
