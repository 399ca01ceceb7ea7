// A persistent pool of worker threads, created once per context.
//
// Work is handed out as numbered tasks that any thread may claim, the caller included: an
// operation never waits for a thread that has not started yet. On a machine shared with other
// processes a worker is often descheduled for milliseconds; with a fixed split (thread i does
// part i) every operation would then wait for it, while here the threads that run take its
// share. Each operation costs one publication (no wait) and one completion wait, which ends as
// soon as every task is done. Waiting threads spin for a bounded time before sleeping, so the
// back-to-back operations of a forward pass stay cheap without burning a core between calls.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ember::detail {

// A non-owning reference to a callable: no allocation, one indirect call.
template <class Sig> class function_ref;
template <class R, class... A> class function_ref<R(A...)> {
public:
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, function_ref>>>
    function_ref(F&& f) noexcept  // NOLINT: implicit, like std::function
        : obj_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, A... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<A>(a)...); }) {}
    R operator()(A... a) const { return call_(obj_, std::forward<A>(a)...); }

private:
    void* obj_;
    R (*call_)(void*, A...);
};

class thread_pool {
public:
    // task in [0, n_tasks); tid in [0, size()) names the thread running it (for per-thread
    // scratch). A thread may run several tasks, one after another.
    using task_fn = function_ref<void(int64_t task, int tid)>;
    using job = function_ref<void(int ith, int nth)>;

    explicit thread_pool(int n_threads);
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    int size() const noexcept { return n_threads_; }

    // Runs fn(task, tid) once for every task and returns when all are done. An exception thrown
    // by a task is rethrown here (the first one) after all tasks have finished.
    void run_tasks(int64_t n_tasks, task_fn fn);

    // Runs fn(ith, nth) for ith = 0..nth-1 (nth = size()), each once; tasks, not threads: two of
    // them may run on one thread in turn, so they must not wait for each other.
    void run(job fn) {
        const int nth = n_threads_;
        run_tasks(nth, [&](int64_t ith, int) { fn(int(ith), nth); });
    }

    // Calls f(b, e) over [0, n) cut into chunks of at least `grain` items, about eight per
    // thread so that a thread that starts late or runs slowly is made up for by the others.
    template <class F> void parallel_for(int64_t n, int64_t grain, F&& f) {
        if (n <= 0) return;
        if (grain < 1) grain = 1;
        const int64_t max_chunks = std::max<int64_t>(1, n / grain);
        const int64_t n_chunks = std::min<int64_t>(max_chunks, n_threads_ == 1 ? 1 : int64_t(n_threads_) * k_chunks_per_thread);
        if (n_chunks <= 1) {
            f(int64_t(0), n);
            return;
        }
        run_tasks(n_chunks, [&](int64_t c, int) { f(n * c / n_chunks, n * (c + 1) / n_chunks); });
    }

    static constexpr int64_t k_chunks_per_thread = 8;
    static constexpr int64_t k_max_tasks = (int64_t(1) << 30) - 1;

private:
    void worker(int tid);
    // Claims and runs tasks of the current operation until none is left; returns how many ran.
    int64_t drain(int tid);
    void finish(int64_t n_ran);
    void wait_signal(uint32_t seen);

    int n_threads_;
    std::vector<std::thread> threads_;
    // The current operation: its task count and next unclaimed task in one word, claimed by
    // compare-and-swap, so a thread that wakes up late can never claim a task of an operation
    // that has already finished. (n_tasks << 32 | next)
    alignas(64) std::atomic<uint64_t> claim_{0};
    task_fn* fn_ = nullptr;
    alignas(64) std::atomic<int64_t> done_{0};       // tasks finished in the current operation
    std::atomic<int64_t> n_tasks_{0};
    std::atomic<bool> caller_sleeping_{false};
    alignas(64) std::atomic<uint32_t> signal_{0};    // bumped per operation; workers sleep on it
    std::atomic<int> sleepers_{0};
    std::atomic<bool> stop_{false};
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

}  // namespace ember::detail
