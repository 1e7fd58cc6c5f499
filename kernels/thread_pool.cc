#include "kernels/thread_pool.h"

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

ThreadPool::ThreadPool(int threads) : size_(threads < 1 ? 1 : threads) {
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
  pending_.store(size_ - 1);
  generation_.fetch_add(1);  // publishes the job (seq_cst)
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  int64_t b, e;
  slice(0, b, e);
  if (b < e) call(ctx, b, e, 0);
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kSpinsBeforeSleep) {
      CVM_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spins = 0; gen == seen && spins < kSpinsBeforeSleep; ++spins) {
      CVM_PAUSE();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      while ((gen = generation_.load()) == seen) wake_.wait(lock);
      sleepers_.fetch_sub(1);
    }
    seen = gen;
    if (stop_.load()) return;
    int64_t b, e;
    slice(index, b, e);
    if (b < e) call_(ctx_, b, e, index);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace kernels
}  // namespace cvm
