// The int8 multiply-accumulate peak of this machine: independent vpdpbusd
// (AVX-512 VNNI, 64 MACs each) on every thread, nothing else.
#pragma once

namespace cvm_bench {
// MACs per second on `threads` threads over about `seconds`; 0 without
// AVX-512 VNNI.
double measure_peak_macs(int threads, double seconds);

// Nanoseconds for a cache line to go from one thread to another and back
// (two threads in ping-pong; the median of short trials). On the virtual
// machines this was measured on, it tells where the host put the virtual
// CPUs: near each other (~170 ns) or far apart (~460 ns), when every line
// one thread writes and the other reads is that much slower (see
// bench/README.md, "What limits it").
double measure_round_trip_ns();
}  // namespace cvm_bench
