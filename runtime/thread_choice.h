// How many threads an inference runs on: the policy alone, apart from the
// executor (Model::Impl::execute). Results never depend on it.
#pragma once

#include <cstdint>

#include "kernels/thread_pool.h"

namespace cvm {

// Two rules, per model:
//  - busy machine: when in the last inference on several threads the workers
//    ran less than a quarter of their share of the work (the caller took
//    over what they had not started), or the caller spent most of the time
//    waiting for one descheduled mid-chunk, run on the calling thread alone
//    (waking workers that cannot run only takes CPU from it), and try the
//    threads again every 16th inference;
//  - one thread or all: where two threads of one process run no faster than
//    one -- the host placed the virtual CPUs far apart, so that every line
//    one thread writes and the other reads costs hundreds of nanoseconds
//    (bench/README.md) -- one thread: every 64th inference tries the way not
//    chosen, and when two tries in a row (the second 8 inferences after the
//    first) are 10% faster than the chosen way's smoothed time, it becomes
//    the choice. Not while profiling (its per-step times would mix the two).
class ThreadChoice {
 public:
  // Starts an inference that may use `available` threads; `pool` is the
  // model's thread pool (null before its first use). Returns the threads to
  // use now.
  int start(int available, bool profiling, const kernels::ThreadPool* pool);
  // Ends a timed inference (not one profiled) of `seconds`; `pool` as it is
  // now.
  void finish(const kernels::ThreadPool* pool, double seconds);

 private:
  // The busy rule: the last inference on threads mostly waited.
  bool busy_ = false;
  uint64_t busy_runs_ = 0;
  // One thread or all: the choice, the inferences counted, the next one to
  // try the other way, the tries in a row that won, and the smoothed seconds
  // of the chosen way.
  bool one_thread_ = false;
  uint64_t timed_runs_ = 0, next_try_ = 64;
  int wins_ = 0;
  double chosen_seconds_ = 0;
  // The inference under way: its threads, whether it counts for the choice
  // (adapt) and tries the other way (probe), the pool's counters at start.
  int threads_now_ = 1;
  bool adapt_ = false, probe_ = false;
  uint64_t wait_before_ = 0, items_before_ = 0, worker_before_ = 0;
};

}  // namespace cvm
