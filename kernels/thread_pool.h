// A small pool of worker threads with static work partitioning: run(n, fn)
// calls fn(begin, end, thread) on the fixed contiguous slices of [0, n),
// slice t meant for thread t (0 is the caller), and returns when every slice
// is done. A slice whose thread has not started it when the caller is done
// with its own (a worker not scheduled on a busy machine) is run by the
// caller instead: `thread` is the index of the thread running the slice (for
// its scratch memory). Slices write disjoint outputs, so who runs which
// never changes the result.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace cvm {
namespace kernels {

class ThreadPool {
 public:
  // `threads` in all, the caller included (at least 1).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Nanoseconds the caller has spent waiting for workers to finish their
  // slices (a worker descheduled mid-slice on a busy machine), in total.
  uint64_t wait_ns() const { return wait_ns_; }
  // Slices run so far, in all and by the workers (the rest by the caller).
  uint64_t slices() const { return slices_; }
  uint64_t worker_slices() const { return worker_slices_.load(); }

  // fn(begin, end, thread) for the slices of [0, n) (empty slices skipped).
  template <typename F>
  void run(int64_t n, const F& fn) {
    run_slices(n, [](const void* ctx, int64_t b, int64_t e, int t) {
      (*static_cast<const F*>(ctx))(b, e, t);
    }, &fn);
  }

  // fn(thread) once on each of `size()` threads.
  template <typename F>
  void run_each(const F& fn) {
    run(size_, [&fn](int64_t, int64_t, int t) { fn(t); });
  }

 private:
  using Call = void (*)(const void*, int64_t, int64_t, int);
  void run_slices(int64_t n, Call call, const void* ctx);
  void worker(int index);
  bool claim(int t, uint64_t gen) {
    uint64_t old = claimed_[t].load();
    return old < gen && claimed_[t].compare_exchange_strong(old, gen);
  }
  void slice(int t, int64_t& b, int64_t& e) const {
    b = n_ * t / size_;
    e = n_ * (t + 1) / size_;
  }

  int size_;
  std::vector<std::thread> workers_;
  // The current job.
  Call call_ = nullptr;
  const void* ctx_ = nullptr;
  int64_t n_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> running_{0};  // workers inside a claim or a slice
  // Per slice: the last generation that claimed it.
  std::unique_ptr<std::atomic<uint64_t>[]> claimed_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  uint64_t wait_ns_ = 0;
  uint64_t slices_ = 0;
  std::atomic<uint64_t> worker_slices_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace kernels
}  // namespace cvm
