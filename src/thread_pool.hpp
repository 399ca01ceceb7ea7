// A persistent pool of worker threads, created once per context. `run` hands the same job to
// every thread (the caller takes part as thread 0) and returns when all have finished; workers
// spin briefly before sleeping, so back-to-back operations in a forward pass stay cheap.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ember::detail {

class thread_pool {
public:
    using job = std::function<void(int ith, int nth)>;

    explicit thread_pool(int n_threads);
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    int size() const noexcept { return n_threads_; }

    // Runs fn(ith, nth) for ith = 0..nth-1 concurrently. An exception thrown by any thread is
    // rethrown here after all threads are done.
    void run(const job& fn);

    // Splits [0, n) into contiguous chunks of at least `grain` items, one per thread.
    template <class F> void parallel_for(int64_t n, int64_t grain, F&& f) {
        if (n <= 0) return;
        const int64_t max_chunks = (n + grain - 1) / grain;
        const int nth = int(std::min<int64_t>(n_threads_, max_chunks));
        if (nth <= 1) {
            f(int64_t(0), n);
            return;
        }
        run([&](int ith, int) {
            if (ith >= nth) return;
            const int64_t b = n * ith / nth, e = n * (ith + 1) / nth;
            if (b < e) f(b, e);
        });
    }

private:
    void worker(int ith);
    void execute(int ith);

    int n_threads_;
    std::vector<std::thread> threads_;
    const job* job_ = nullptr;
    std::atomic<uint32_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

}  // namespace ember::detail
