// Per-model latency: one Google Benchmark per model folder (symbol.json,
// params.bin, input.bin), batch as the model declares it.
//
//   build/bench/cvm_bench [--models DIR]... [--benchmark_format=json]
// Default model folders: ../shared/conformance/models (when present) and
// examples/models.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cvm/model.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void register_model(const fs::path& dir) {
  std::string name = "model/" + dir.filename().string();
  benchmark::RegisterBenchmark(name.c_str(), [dir](benchmark::State& state) {
    auto model = cvm::Model::load_files((dir / "symbol.json").string(), (dir / "params.bin").string());
    std::vector<uint8_t> input = bytes_of(dir / "input.bin");
    std::vector<uint8_t> output(model->output_length());
    for (auto _ : state) {
      model->infer(input.data(), input.size(), output.data());
      benchmark::DoNotOptimize(output.data());
    }
    state.counters["gas"] = static_cast<double>(model->gas());
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
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
