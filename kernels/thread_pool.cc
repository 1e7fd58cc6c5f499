#include "kernels/thread_pool.h"

#include <algorithm>
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
    : size_(threads < 1 ? 1 : threads), slots_(new Slot[static_cast<size_t>(size_)]) {
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

namespace {
uint64_t share(uint64_t next, uint64_t end) { return (end << 32) | next; }
uint64_t share_next(uint64_t v) { return v & 0xFFFFFFFFu; }
uint64_t share_end(uint64_t v) { return v >> 32; }
}  // namespace

void ThreadPool::run_chunks(int64_t n, Call call, const void* ctx) {
  if (n <= 0) return;
  if (size_ == 1) {
    call(ctx, 0, n, 0);
    return;
  }
  // No worker is inside a job here (the last run waited for them), so the
  // job may be rewritten; workers read it only after joining this one.
  call_ = call;
  ctx_ = ctx;
  n_ = n;
  constexpr int64_t kMaxBlocks = int64_t{1} << 31;
  block_ = (n + kMaxBlocks - 1) / kMaxBlocks;
  const int64_t blocks = (n + block_ - 1) / block_;
  // Eight chunks a share: fine enough for the others to even out a thread
  // that runs slower, coarse enough to keep each chunk's setup small.
  chunk_ = std::max<int64_t>(1, blocks / (8 * int64_t{size_}));
  for (int t = 0; t < size_; ++t) {
    slots_[t].share.store(share(static_cast<uint64_t>(blocks * t / size_),
                           static_cast<uint64_t>(blocks * (t + 1) / size_)));
  }
  const uint64_t gen = generation_.load() + 1;
  generation_.store(gen);  // publishes the job (seq_cst)
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  work(0);
  items_ += static_cast<uint64_t>(n);
  // Every chunk is taken; close the job to workers that have not joined,
  // then wait for those inside a chunk.
  for (int t = 1; t < size_; ++t) join(t, gen);
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

int64_t ThreadPool::work(int t) {
  int64_t done = 0, b, e;
  while (next_chunk(t, b, e)) {
    const int64_t lo = b * block_, hi = std::min(n_, e * block_);
    call_(ctx_, lo, hi, t);
    done += hi - lo;
  }
  return done;
}

bool ThreadPool::next_chunk(int t, int64_t& b, int64_t& e) {
  const uint64_t chunk = static_cast<uint64_t>(chunk_);
  // The front of the own share.
  for (uint64_t v = slots_[t].share.load();;) {
    const uint64_t next = share_next(v), end = share_end(v);
    if (next >= end) break;
    // Halves at the end, so that the threads finish close together.
    const uint64_t take = std::min(chunk, std::max<uint64_t>(1, (end - next) / 2));
    if (slots_[t].share.compare_exchange_weak(v, share(next + take, end))) {
      b = static_cast<int64_t>(next);
      e = static_cast<int64_t>(next + take);
      return true;
    }
  }
  // Else the back half of the largest share left, which becomes this
  // thread's share (only its owner writes a share that is empty; others
  // change shares that are not, by compare-and-swap).
  for (;;) {
    int victim = -1;
    uint64_t seen = 0, most = 0;
    for (int u = 0; u < size_; ++u) {
      const uint64_t v = slots_[u].share.load();
      const uint64_t next = share_next(v), end = share_end(v);
      if (next < end && end - next > most) {
        most = end - next;
        victim = u;
        seen = v;
      }
    }
    if (victim < 0) return false;
    const uint64_t next = share_next(seen), end = share_end(seen);
    const uint64_t from = end - (end - next + 1) / 2;
    if (!slots_[victim].share.compare_exchange_strong(seen, share(next, from))) continue;
    const uint64_t first = std::min(chunk, end - from);
    slots_[t].share.store(share(from + first, end));
    b = static_cast<int64_t>(from);
    e = static_cast<int64_t>(from + first);
    return true;
  }
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
    // The job is only read once joined: the caller does not return while a
    // worker that joined runs, and closes the job to the others first.
    running_.fetch_add(1);
    if (join(index, gen)) worker_items_.fetch_add(static_cast<uint64_t>(work(index)));
    running_.fetch_sub(1);
  }
}

}  // namespace kernels
}  // namespace cvm
