// The thread pool hands out every index exactly once, whatever the number
// of threads and indices, and a thread that stalls does not hold the others
// up: they take over its share.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/thread_pool.h"

using cvm::kernels::ThreadPool;

namespace {
// The chunks of one run, sorted: they must tile [0, n) exactly.
void check_tiling(std::vector<std::pair<int64_t, int64_t>> chunks, int64_t n) {
  std::sort(chunks.begin(), chunks.end());
  int64_t at = 0;
  for (const auto& c : chunks) {
    REQUIRE(c.first == at);
    REQUIRE(c.second > c.first);
    at = c.second;
  }
  REQUIRE(at == n);
}
}  // namespace

TEST_CASE("thread pool: every index once, on every thread count", "[threads]") {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{7}, int64_t{16}, int64_t{100},
                      int64_t{4097}, (int64_t{1} << 31) + 5, (int64_t{1} << 40) + 3}) {
      for (int round = 0; round < 20; ++round) {
        std::mutex m;
        std::vector<std::pair<int64_t, int64_t>> chunks;
        std::vector<int> bad_thread;
        pool.run(n, [&](int64_t b, int64_t e, int t) {
          std::lock_guard<std::mutex> lock(m);
          chunks.emplace_back(b, e);
          if (t < 0 || t >= threads) bad_thread.push_back(t);
        });
        INFO("threads " << threads << ", n " << n);
        CHECK(bad_thread.empty());
        check_tiling(chunks, n);
      }
    }
  }
}

TEST_CASE("thread pool: the caller takes over the share of a stalled worker", "[threads]") {
  ThreadPool pool(2);
  const int64_t n = 64;
  for (int round = 0; round < 5; ++round) {
    std::atomic<int64_t> by_caller{0};
    std::mutex m;
    std::vector<std::pair<int64_t, int64_t>> chunks;
    pool.run(n, [&](int64_t b, int64_t e, int t) {
      {
        std::lock_guard<std::mutex> lock(m);
        chunks.emplace_back(b, e);
      }
      if (t == 0) {
        by_caller += e - b;
        return;
      }
      // The worker stalls in its first chunk until the caller has done more
      // than its own half (it can only by taking the worker's), or 10 s.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (by_caller.load() <= n / 2 && std::chrono::steady_clock::now() < until) {
        std::this_thread::yield();
      }
    });
    check_tiling(chunks, n);
    CHECK(by_caller.load() > n / 2);
    CHECK(pool.items() == static_cast<uint64_t>(n * (round + 1)));
  }
}
