// A small pool of worker threads: run(n, fn) calls fn(begin, end, thread)
// on chunks of [0, n) until every index is done, and returns then. Each
// thread starts on its own contiguous share (share t for thread t, 0 being
// the caller) and takes it in chunks from the front; a thread whose share is
// done takes the back half of the largest share left (work stealing). So a
// thread that runs slower -- a virtual CPU the host gives less time, a
// worker that starts late or is descheduled -- costs little: the others take
// over its work. `thread` is the index of the thread running the chunk (for
// its scratch memory); a thread may get several chunks. Chunks write
// disjoint outputs, so who runs which never changes the result.
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
  // chunks (a worker descheduled mid-chunk on a busy machine), in total.
  uint64_t wait_ns() const { return wait_ns_; }
  // Indices run so far, in all and by the workers (the rest by the caller).
  uint64_t items() const { return items_; }
  uint64_t worker_items() const { return worker_items_.load(); }

  // fn(begin, end, thread) for chunks of [0, n) (never empty).
  template <typename F>
  void run(int64_t n, const F& fn) {
    run_chunks(n, [](const void* ctx, int64_t b, int64_t e, int t) {
      (*static_cast<const F*>(ctx))(b, e, t);
    }, &fn);
  }

 private:
  using Call = void (*)(const void*, int64_t, int64_t, int);
  void run_chunks(int64_t n, Call call, const void* ctx);
  void worker(int index);
  // Runs chunks on thread t until no share has work left; the indices run.
  int64_t work(int t);
  // The next chunk for thread t, in blocks: from its own share, else stolen.
  bool next_chunk(int t, int64_t& b, int64_t& e);
  bool join(int t, uint64_t gen) {
    uint64_t old = slots_[t].joined.load();
    return old < gen && slots_[t].joined.compare_exchange_strong(old, gen);
  }

  int size_;
  std::vector<std::thread> workers_;
  // The current job: n_ indices in blocks of block_ (so that block numbers
  // fit the 32-bit halves of a share), owners take chunk_ blocks at a time.
  Call call_ = nullptr;
  const void* ctx_ = nullptr;
  int64_t n_ = 0, block_ = 1, chunk_ = 1;
  // Per thread, a cache line of its own (the two virtual CPUs may sit far
  // apart: a line another core wrote costs hundreds of nanoseconds): its
  // share [next, end) of blocks as (end << 32) | next, taken by its owner
  // chunk by chunk and by others only to steal; and for workers the last
  // generation the worker joined (or the caller closed to it).
  struct alignas(64) Slot {
    std::atomic<uint64_t> share{0};
    std::atomic<uint64_t> joined{0};
  };
  std::unique_ptr<Slot[]> slots_;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> running_{0};  // workers inside a job
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  uint64_t wait_ns_ = 0;
  uint64_t items_ = 0;
  alignas(64) std::atomic<uint64_t> worker_items_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace kernels
}  // namespace cvm
