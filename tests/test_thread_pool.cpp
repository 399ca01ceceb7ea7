#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.hpp"

using ember::detail::thread_pool;

TEST_SUITE("thread_pool") {

TEST_CASE("every task runs exactly once, on a valid thread id") {
    for (int n_threads : {1, 2, 3, 5}) {
        thread_pool pool(n_threads);
        for (int64_t n_tasks : {int64_t(1), int64_t(2), int64_t(7), int64_t(1000)}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
            std::atomic<int> bad_tid{0};
            pool.run_tasks(n_tasks, [&](int64_t t, int tid) {
                hits[size_t(t)].fetch_add(1);
                if (tid < 0 || tid >= n_threads) bad_tid.fetch_add(1);
            });
            int wrong = 0;
            for (auto& h : hits) wrong += h.load() != 1;
            CHECK_MESSAGE(wrong == 0, "threads ", n_threads, " tasks ", n_tasks);
            CHECK(bad_tid.load() == 0);
        }
    }
}

TEST_CASE("run gives each ith once with nth = size()") {
    thread_pool pool(3);
    std::vector<std::atomic<int>> hits(3);
    std::atomic<int> bad_nth{0};
    pool.run([&](int ith, int nth) {
        hits[size_t(ith)].fetch_add(1);
        if (nth != 3) bad_nth.fetch_add(1);
    });
    for (auto& h : hits) CHECK(h.load() == 1);
    CHECK(bad_nth.load() == 0);
}

TEST_CASE("parallel_for covers the range once, in chunks of at least the grain") {
    thread_pool pool(2);
    for (int64_t n : {int64_t(1), int64_t(15), int64_t(16), int64_t(17), int64_t(4096), int64_t(100003)}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int64_t> small_chunks{0};
        pool.parallel_for(n, 16, [&](int64_t b, int64_t e) {
            if (e - b < 16 && e - b != n) small_chunks.fetch_add(1);
            for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
        });
        int64_t wrong = 0;
        for (auto& h : hits) wrong += h.load() != 1;
        CHECK_MESSAGE(wrong == 0, "n = ", n);
        CHECK(small_chunks.load() == 0);
    }
    int calls = 0;
    pool.parallel_for(0, 16, [&](int64_t, int64_t) { ++calls; });
    CHECK(calls == 0);
}

TEST_CASE("many operations back to back, with pauses that let the workers fall asleep") {
    thread_pool pool(2);
    int64_t total = 0;
    std::atomic<int64_t> sum{0};
    for (int op = 0; op < 2000; ++op) {
        const int64_t n = 1 + op % 13;
        pool.run_tasks(n, [&](int64_t t, int) { sum.fetch_add(t + 1); });
        total += n * (n + 1) / 2;
        if (op % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(sum.load() == total);
}

TEST_CASE("an exception in a task is rethrown after all tasks finished, and the pool stays usable") {
    thread_pool pool(2);
    std::atomic<int> ran{0};
    CHECK_THROWS_AS(pool.run_tasks(64,
                                   [&](int64_t t, int) {
                                       ran.fetch_add(1);
                                       if (t == 5) throw std::runtime_error("task 5");
                                   }),
                    std::runtime_error);
    CHECK(ran.load() == 64);
    std::atomic<int> again{0};
    pool.run_tasks(10, [&](int64_t, int) { again.fetch_add(1); });
    CHECK(again.load() == 10);
}

}
