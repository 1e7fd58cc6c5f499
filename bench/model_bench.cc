// Latency benchmarks (Google Benchmark):
//   model/<name>  one inference of each model folder (symbol.json, params.bin,
//                 input.bin), batch as the model declares it;
//   load/<name>   loading it (parse, verify, plan, pack weights);
//   op/...        single conv2d layers of resnet50_v1 and mobilenet1_0 (op_bench.cc);
//   peak/vnni     the int8 multiply-accumulate peak (peak.cc).
// Counters: GMAC/s, and peak_frac, the fraction of the peak measured at start.
// The context records that peak and, with several threads, the time of a
// cache line's round trip between two threads (core_round_trip_ns).
//
//   build/bench/cvm_bench [--models DIR]... [--threads N] [--benchmark_format=json]
// Default model folders: ../shared/conformance/models (when present) and
// examples/models. --threads: threads per inference (default: every core).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <thread>

#include "bench_common.h"
#include "cvm/model.hpp"
#include "peak.h"

namespace fs = std::filesystem;

namespace cvm_bench {
namespace {
int g_threads = 0;
double g_peak = 0;
}  // namespace
int bench_threads() { return g_threads; }
double peak_macs() { return g_peak; }
void set_mac_counters(benchmark::State& state, double macs) {
  state.counters["GMAC/s"] =
      benchmark::Counter(macs / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  if (g_peak > 0) {
    state.counters["peak_frac"] =
        benchmark::Counter(macs / g_peak, benchmark::Counter::kIsIterationInvariantRate);
  }
}
}  // namespace cvm_bench

namespace {

// Multiply-accumulates of one inference: conv2d and dense outputs times
// their reduction length.
double model_macs(const std::string& json_text) {
  nlohmann::json g = nlohmann::json::parse(json_text);
  const auto& shapes = g["attrs"]["shape"][1];
  const auto& rows = g["node_row_ptr"];
  double macs = 0;
  for (size_t i = 0; i < g["nodes"].size(); ++i) {
    const auto& n = g["nodes"][i];
    if (n["op"] == "null") continue;
    const std::string f = n["attrs"]["func_name"];
    if (f != "conv2d" && f != "dense") continue;
    double out = 1, depth = 1;
    for (auto d : shapes[rows[i].get<size_t>()]) out *= d.get<double>();
    const auto& w = shapes[rows[n["inputs"][1][0].get<size_t>()].get<size_t>()];
    for (size_t k = 1; k < w.size(); ++k) depth *= w[k].get<double>();
    macs += out * depth;
  }
  return macs;
}

std::vector<uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void register_model(const fs::path& dir) {
  std::string name = "model/" + dir.filename().string();
  benchmark::RegisterBenchmark(name.c_str(), [dir](benchmark::State& state) {
    auto model = cvm::Model::load_files((dir / "symbol.json").string(), (dir / "params.bin").string());
    model->set_threads(cvm_bench::bench_threads());
    std::vector<uint8_t> input = bytes_of(dir / "input.bin");
    std::vector<uint8_t> output(model->output_length());
    // The first inference allocates the storage (over a second for vgg16 at
    // batch 16): outside the timing, else a benchmark of one iteration
    // reports it.
    model->infer(input.data(), input.size(), output.data());
    // Each inference's own time too: the median and the fastest one (the
    // benchmark's time is the mean, which a few slow inferences on a shared
    // host move; bench/compare_zoo.py compares medians with PyTorch's).
    std::vector<double> ms;
    for (auto _ : state) {
      const auto t0 = std::chrono::steady_clock::now();
      model->infer(input.data(), input.size(), output.data());
      benchmark::DoNotOptimize(output.data());
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    if (!ms.empty()) {
      std::sort(ms.begin(), ms.end());
      state.counters["p50_ms"] = ms[ms.size() / 2];
      state.counters["min_ms"] = ms.front();
    }
    state.counters["gas"] = static_cast<double>(model->gas());
    // Images per second: the input's first axis is the batch.
    const auto& in_shape = model->input().shape;
    state.SetItemsProcessed(state.iterations() * (in_shape.empty() ? 1 : in_shape[0]));
    std::ifstream s(dir / "symbol.json");
    std::string json((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    cvm_bench::set_mac_counters(state, model_macs(json));
  })->Unit(benchmark::kMillisecond)->UseRealTime();

  std::string load_name = "load/" + dir.filename().string();
  benchmark::RegisterBenchmark(load_name.c_str(), [dir](benchmark::State& state) {
    std::ifstream s(dir / "symbol.json");
    std::string json((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    std::vector<uint8_t> p = bytes_of(dir / "params.bin");
    std::string params(p.begin(), p.end());
    for (auto _ : state) {
      auto model = cvm::Model::load(json, params);
      benchmark::DoNotOptimize(model.get());
    }
  })->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> roots;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--models" && i + 1 < argc) {
      roots.emplace_back(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      cvm_bench::g_threads = std::atoi(argv[++i]);
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (roots.empty()) {
    for (fs::path p : {fs::path(CVM_SOURCE_DIR) / ".." / "shared" / "conformance" / "models",
                       fs::path(CVM_SOURCE_DIR) / "examples" / "models"}) {
      if (fs::exists(p)) {
        roots.push_back(p);
        break;
      }
    }
  }
  std::vector<fs::path> models;
  for (const auto& root : roots) {
    for (const auto& e : fs::directory_iterator(root)) {
      if (fs::exists(e.path() / "symbol.json")) models.push_back(e.path());
    }
  }
  std::sort(models.begin(), models.end());
  for (const auto& m : models) register_model(m);
  cvm_bench::register_op_benchmarks();
  const int threads = cvm_bench::g_threads > 0
                          ? cvm_bench::g_threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cvm_bench::g_peak = cvm_bench::measure_peak_macs(threads, 0.3);
  benchmark::AddCustomContext("int8_peak_GMAC/s", std::to_string(cvm_bench::g_peak / 1e9));
  if (threads > 1 && std::thread::hardware_concurrency() > 1) {
    benchmark::AddCustomContext("core_round_trip_ns",
                                std::to_string(cvm_bench::measure_round_trip_ns()));
  }
  benchmark::AddCustomContext("threads", std::to_string(threads));
  benchmark::AddCustomContext("isa", std::to_string(static_cast<int>(cvm::active_isa())));
  benchmark::RegisterBenchmark("peak/vnni", [threads](benchmark::State& state) {
    double macs = 0;
    for (auto _ : state) macs = cvm_bench::measure_peak_macs(threads, 0.05);
    state.counters["GMAC/s"] = macs / 1e9;
  })->Unit(benchmark::kMillisecond)->Iterations(3);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
