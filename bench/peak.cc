#include "peak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cvm/model.hpp"

namespace cvm_bench {
namespace {

// 16 independent accumulators (enough to cover the latency of vpdpbusd on
// two pipes; GCC keeps 16 in registers, where it spills a larger array).
// Returns the MACs done.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) double spin(long iterations, int* sink) {
  constexpr int kAcc = 16;
  __m512i acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_epi32(i);
  const __m512i a = _mm512_set1_epi32(0x01020304), b = _mm512_set1_epi32(0x01010101);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  __m512i s = acc[0];
  for (int i = 1; i < kAcc; ++i) s = _mm512_add_epi32(s, acc[i]);
  *sink = _mm512_reduce_add_epi32(s);
  return static_cast<double>(iterations) * kAcc * 64;
}

}  // namespace

// Each thread spins in short trials and keeps its best rate (a trial in
// which the thread lost the CPU says nothing about the hardware); the peak
// is the sum over threads running at once.
double measure_peak_macs(int threads, double seconds) {
  if (cvm::detected_isa() != cvm::Isa::kAvx512) return 0;
  int sink = 0;
  spin(1000, &sink);  // warm up
  const long probe = 100000;
  auto t0 = std::chrono::steady_clock::now();
  spin(probe, &sink);
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long per_trial = static_cast<long>(probe * 0.002 / dt) + 1;  // about 2 ms
  const int trials = std::max(1, static_cast<int>(seconds / 0.002));
  std::vector<std::thread> pool;
  std::vector<double> best(threads, 0);
  std::vector<int> sinks(threads, 0);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < trials; ++i) {
        auto s = std::chrono::steady_clock::now();
        const double m = spin(per_trial, &sinks[t]);
        const double d = std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count();
        best[t] = std::max(best[t], m / d);
      }
    });
  }
  for (auto& th : pool) th.join();
  double total = 0;
  for (double m : best) total += m;
  return total;
}

double measure_round_trip_ns() {
  alignas(64) std::atomic<long> flag{0};
  constexpr long kTrips = 20000;
  constexpr int kTrials = 9;
  std::thread other([&flag] {
    for (long i = 0; i < kTrials * kTrips; ++i) {
      while (flag.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      flag.store(2 * i + 2, std::memory_order_release);
    }
  });
  std::vector<double> ns;
  for (int t = 0; t < kTrials; ++t) {
    const auto s = std::chrono::steady_clock::now();
    for (long i = t * kTrips; i < (t + 1) * kTrips; ++i) {
      flag.store(2 * i + 1, std::memory_order_release);
      while (flag.load(std::memory_order_acquire) != 2 * i + 2) {
      }
    }
    ns.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count() /
                 kTrips * 1e9);
  }
  other.join();
  std::sort(ns.begin(), ns.end());
  return ns[ns.size() / 2];
}

}  // namespace cvm_bench
