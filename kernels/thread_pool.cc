#include "kernels/thread_pool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CVM_PAUSE() _mm_pause()
#else
#define CVM_PAUSE() std::this_thread::yield()
#endif

namespace cvm {
namespace kernels {
namespace {
// Spins before a worker sleeps: long enough to bridge the gaps between the
// operators of one inference, short enough not to burn a core for long.
constexpr int kSpinsBeforeSleep = 1 << 15;
}  // namespace

ThreadPool::ThreadPool(int threads)
    : size_(threads < 1 ? 1 : threads), claimed_(new std::atomic<uint64_t>[size_]) {
  for (int i = 0; i < size_; ++i) claimed_[i].store(0);
  for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_slices(int64_t n, Call call, const void* ctx) {
  if (n <= 0) return;
  if (size_ == 1) {
    call(ctx, 0, n, 0);
    return;
  }
  call_ = call;
  ctx_ = ctx;
  n_ = n;
  const uint64_t gen = generation_.load() + 1;
  claimed_[0].store(gen);
  generation_.store(gen);  // publishes the job (seq_cst)
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  int64_t b, e;
  slice(0, b, e);
  if (b < e) call(ctx, b, e, 0);
  slices_ += static_cast<uint64_t>(size_);
  // The slices no worker has started.
  for (int t = 1; t < size_; ++t) {
    if (!claim(t, gen)) continue;
    slice(t, b, e);
    if (b < e) call(ctx, b, e, 0);
  }
  if (running_.load() == 0) return;
  const auto start = std::chrono::steady_clock::now();
  for (int spins = 0; running_.load() != 0; ++spins) {
    if (spins < kSpinsBeforeSleep) {
      CVM_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
  wait_ns_ += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load();
    for (int spins = 0; gen == seen && spins < kSpinsBeforeSleep; ++spins) {
      CVM_PAUSE();
      gen = generation_.load();
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      while ((gen = generation_.load()) == seen) wake_.wait(lock);
      sleepers_.fetch_sub(1);
    }
    seen = gen;
    if (stop_.load()) return;
    // The job is only read once the slice is ours: the caller does not
    // return while a claimed slice runs, and claims every slice itself.
    running_.fetch_add(1);
    if (claim(index, gen)) {
      int64_t b, e;
      slice(index, b, e);
      if (b < e) call_(ctx_, b, e, index);
      worker_slices_.fetch_add(1);
    }
    running_.fetch_sub(1);
  }
}

}  // namespace kernels
}  // namespace cvm
