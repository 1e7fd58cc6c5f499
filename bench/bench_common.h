#pragma once

#include <benchmark/benchmark.h>

namespace cvm_bench {
// Threads per inference (--threads N; 0: every core).
int bench_threads();
// The measured int8 peak in MAC/s on bench_threads() threads (0 when unknown).
double peak_macs();
// Sets the MACs (per iteration), GMAC/s and fraction-of-peak counters.
void set_mac_counters(benchmark::State& state, double macs_per_iteration);
void register_op_benchmarks();
}  // namespace cvm_bench
