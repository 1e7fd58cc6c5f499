// The int8 multiply-accumulate peak of this machine: independent vpdpbusd
// (AVX-512 VNNI, 64 MACs each) on every thread, nothing else.
#pragma once

namespace cvm_bench {
// MACs per second on `threads` threads over about `seconds`; 0 without
// AVX-512 VNNI.
double measure_peak_macs(int threads, double seconds);
}  // namespace cvm_bench
