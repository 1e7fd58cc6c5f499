#include "runtime/thread_choice.h"

namespace cvm {

int ThreadChoice::start(int available, bool profiling, const kernels::ThreadPool* pool) {
  threads_now_ = available;
  adapt_ = threads_now_ > 1 && !profiling;
  probe_ = false;
  if (adapt_) {
    probe_ = ++timed_runs_ >= next_try_;
    if (one_thread_ != probe_) threads_now_ = 1;
  }
  if (threads_now_ > 1 && busy_ && (++busy_runs_ % 16) != 0) threads_now_ = 1;
  // An inference the busy rule moved to one thread says nothing of the choice.
  adapt_ = adapt_ && (threads_now_ == 1) == (one_thread_ != probe_);
  wait_before_ = pool ? pool->wait_ns() : 0;
  items_before_ = pool ? pool->items() : 0;
  worker_before_ = pool ? pool->worker_items() : 0;
  return threads_now_;
}

void ThreadChoice::finish(const kernels::ThreadPool* pool, double seconds) {
  if (threads_now_ > 1 && pool) {
    const double waited = static_cast<double>(pool->wait_ns() - wait_before_) * 1e-9;
    const uint64_t items = pool->items() - items_before_;
    const uint64_t by_workers = pool->worker_items() - worker_before_;
    const uint64_t expected = items - items / static_cast<uint64_t>(pool->size());
    busy_ = waited > 0.5 * seconds || (expected > 0 && 4 * by_workers < expected);
  }
  if (adapt_ && timed_runs_ > 2) {  // past the first inferences (allocation)
    if (!probe_) {
      chosen_seconds_ = chosen_seconds_ == 0 ? seconds : 0.75 * chosen_seconds_ + 0.25 * seconds;
    } else {
      wins_ = seconds < 0.9 * chosen_seconds_ ? wins_ + 1 : 0;
      if (wins_ == 2) {
        one_thread_ = !one_thread_;
        chosen_seconds_ = seconds;
        wins_ = 0;
      }
      next_try_ = timed_runs_ + (wins_ == 1 ? 8 : 64);
    }
  }
}

}  // namespace cvm
