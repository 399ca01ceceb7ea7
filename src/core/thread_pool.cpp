#include "core/thread_pool.hpp"

#include <sched.h>

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace ember::detail {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

using clock = std::chrono::steady_clock;

// How long a thread spins before it sleeps. Within a forward pass the next operation follows
// within microseconds, so spinning saves two futex calls per operation; between decode calls
// (sampling, I/O) the gap is longer and the thread sleeps. After the first microseconds the
// spin yields the core between checks: on a machine with more runnable threads than cores the
// thread being waited for may be queued on this very core.
constexpr auto k_spin = std::chrono::microseconds(200);
constexpr auto k_spin_before_yield = std::chrono::microseconds(5);

// Spins until done() or the budget is spent; returns done().
template <class Done> bool spin_until(Done&& done) {
    if (done()) return true;
    const auto t0 = clock::now();
    for (;;) {
        for (int i = 0; i < 32; ++i) {
            cpu_relax();
            if (done()) return true;
        }
        const auto dt = clock::now() - t0;
        if (dt > k_spin) return done();
        if (dt > k_spin_before_yield) sched_yield();
    }
}

constexpr uint64_t pack(int64_t n_tasks, int64_t next) { return uint64_t(n_tasks) << 32 | uint64_t(next); }

}  // namespace

thread_pool::thread_pool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    threads_.reserve(size_t(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

thread_pool::~thread_pool() {
    stop_.store(true, std::memory_order_seq_cst);
    signal_.fetch_add(1, std::memory_order_seq_cst);
    signal_.notify_all();
    for (auto& t : threads_) t.join();
}

int64_t thread_pool::drain(int tid) {
    int64_t ran = 0;
    uint64_t w = claim_.load(std::memory_order_acquire);
    for (;;) {
        const int64_t n = int64_t(w >> 32), next = int64_t(w & 0xffffffffu);
        if (next >= n) return ran;
        if (!claim_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        // The claim succeeded, so this operation cannot finish before the task does: fn_ is its.
        try {
            (*fn_)(next, tid);
        } catch (...) {
            std::lock_guard lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
        }
        ++ran;
        w = claim_.load(std::memory_order_acquire);
    }
}

void thread_pool::finish(int64_t n_ran) {
    if (n_ran == 0) return;
    const int64_t d = done_.fetch_add(n_ran, std::memory_order_seq_cst) + n_ran;
    if (d == n_tasks_.load(std::memory_order_relaxed) && caller_sleeping_.load(std::memory_order_seq_cst)) done_.notify_one();
}

void thread_pool::wait_signal(uint32_t seen) {
    if (spin_until([&] { return signal_.load(std::memory_order_acquire) != seen; })) return;
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (signal_.load(std::memory_order_seq_cst) == seen) signal_.wait(seen, std::memory_order_seq_cst);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

void thread_pool::worker(int tid) {
    for (;;) {
        const uint32_t seen = signal_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_acquire)) return;
        finish(drain(tid));
        wait_signal(seen);
    }
}

void thread_pool::run_tasks(int64_t n_tasks, task_fn fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
        return;
    }
    if (n_tasks > k_max_tasks) {  // never in practice; split rather than overflow the claim word
        for (int64_t b = 0; b < n_tasks; b += k_max_tasks)
            run_tasks(std::min(k_max_tasks, n_tasks - b), [&](int64_t t, int tid) { fn(b + t, tid); });
        return;
    }
    fn_ = &fn;
    error_ = nullptr;
    n_tasks_.store(n_tasks, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    claim_.store(pack(n_tasks, 0), std::memory_order_release);
    signal_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) signal_.notify_all();

    const int64_t mine = drain(0);
    int64_t d = done_.fetch_add(mine, std::memory_order_seq_cst) + mine;
    if (d != n_tasks && !spin_until([&] { return done_.load(std::memory_order_acquire) == n_tasks; })) {
        caller_sleeping_.store(true, std::memory_order_seq_cst);
        while ((d = done_.load(std::memory_order_seq_cst)) != n_tasks) done_.wait(d, std::memory_order_seq_cst);
        caller_sleeping_.store(false, std::memory_order_relaxed);
    }
    fn_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace ember::detail
