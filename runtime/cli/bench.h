// cvm-run bench: load time, latency percentiles, throughput and peak memory
// of a model, like TFLite's benchmark_model.
#pragma once

#include "runtime/cli/args.h"

namespace cvm {
namespace cli {

// Runs the bench mode; returns the exit code.
int run_bench(const Options& options);

// Peak resident memory of this process in kB (VmHWM of /proc/self/status),
// or -1 where the system does not tell.
long long peak_resident_kb();

}  // namespace cli
}  // namespace cvm
