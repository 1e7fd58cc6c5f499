#include "runtime/cli/bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "runtime/cli/cli.h"
#include "runtime/cli/input.h"
#include "runtime/cli/model_files.h"
#include "runtime/cli/summary.h"

namespace cvm {
namespace cli {

namespace {

// The nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Shows progress on stderr once a run has taken two seconds, then every
// second: overwritten in place on a terminal, one line each otherwise.
class Progress {
 public:
  explicit Progress(Clock::time_point start) : start_(start), tty_(::isatty(STDERR_FILENO)) {}
  void update(const char* phase, size_t done, size_t total) {
    const double s = ms_since(start_) / 1e3;
    if (s < next_) return;
    next_ = std::floor(s) + 1;
    char line[128];
    if (total > 0) {
      std::snprintf(line, sizeof line, "bench: %s %zu/%zu runs, %.1f s", phase, done, total, s);
    } else {
      std::snprintf(line, sizeof line, "bench: %s %zu runs, %.1f s", phase, done, s);
    }
    std::fprintf(stderr, tty_ ? "\r%s   " : "%s\n", line);
    shown_ = true;
  }
  ~Progress() {
    if (shown_ && tty_) std::fprintf(stderr, "\n");
  }

 private:
  Clock::time_point start_;
  bool tty_;
  double next_ = 2.0;
  bool shown_ = false;
};

}  // namespace

long long peak_resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, 6, "VmHWM:") == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

int run_bench(const Options& o) {
  LoadedModel m = load_model(o.model);
  cvm::Model& model = *m.model;
  model.set_threads(o.threads);
  const bool random = o.input.empty() || o.input == "random";
  const std::vector<uint8_t> input =
      random ? random_input(model, 1) : read_model_input(o.input, {}, m);
  std::vector<uint8_t> output(model.output_length());

  const auto start = Clock::now();
  Progress progress(start);
  auto t = Clock::now();
  model.infer(input.data(), input.size(), output.data());
  const double first_ms = ms_since(t);
  for (int i = 0; i < o.warmup; ++i) {
    model.infer(input.data(), input.size(), output.data());
    progress.update("warm-up", static_cast<size_t>(i + 1), static_cast<size_t>(o.warmup));
  }
  std::vector<double> ms;
  const auto timed_start = Clock::now();
  while (o.runs > 0 ? ms.size() < static_cast<size_t>(o.runs)
                    : ms.empty() || ms_since(timed_start) < o.duration * 1e3) {
    t = Clock::now();
    model.infer(input.data(), input.size(), output.data());
    ms.push_back(ms_since(t));
    progress.update("timed", ms.size(), static_cast<size_t>(std::max(o.runs, 0)));
  }
  const double wall_s = ms_since(timed_start) / 1e3;
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / ms.size();
  const int64_t batch = model.input().shape.empty() ? 1 : model.input().shape[0];
  const double images_per_s = batch * 1e3 / mean;
  const long long peak_kb = peak_resident_kb();

  if (o.json) {
    nlohmann::json j = {
        {"model", m.label},
        {"input", random ? "random" : o.input},
        {"input_shape", model.input().shape},
        {"batch", batch},
        {"threads", model.threads()},
        {"warmup", o.warmup},
        {"runs", ms.size()},
        {"seconds", wall_s},
        {"read_ms", m.read_ms},
        {"load_ms", m.load_ms},
        {"first_inference_ms", first_ms},
        {"latency_ms",
         {{"min", sorted.front()}, {"mean", mean}, {"p50", percentile(sorted, 50)},
          {"p90", percentile(sorted, 90)}, {"p99", percentile(sorted, 99)}, {"max", sorted.back()}}},
        {"images_per_second", images_per_s},
        {"peak_rss_kb", peak_kb < 0 ? nlohmann::json(nullptr) : nlohmann::json(peak_kb)}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("model: %s, input %s %s, %s\n", m.label.c_str(), shape_text(model.input().shape).c_str(),
              model.input_type_size() == 1 ? "int8" : "int32", random ? "random" : o.input.c_str());
  std::printf("threads: %d\n", model.threads());
  std::printf("load: %.3f ms (reading the graph %.3f ms), first inference %.3f ms\n", m.load_ms,
              m.read_ms, first_ms);
  std::printf("runs: %zu timed in %.2f s, after %d warm-up\n", ms.size(), wall_s, o.warmup);
  std::printf("latency ms: min %.3f, mean %.3f, p50 %.3f, p90 %.3f, p99 %.3f, max %.3f\n",
              sorted.front(), mean, percentile(sorted, 50), percentile(sorted, 90),
              percentile(sorted, 99), sorted.back());
  std::printf("throughput: %.1f images/s (batch %lld)\n", images_per_s, static_cast<long long>(batch));
  if (peak_kb >= 0) {
    std::printf("peak memory: %lld kB resident (VmHWM)\n", peak_kb);
  } else {
    std::printf("peak memory: unknown (no /proc/self/status)\n");
  }
  return 0;
}

}  // namespace cli
}  // namespace cvm
