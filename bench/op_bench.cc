// Per-operator benchmarks: the conv2d layers of resnet50_v1, mobilenet1_0
// and squeezenet1_0 (with their cvm_right_shift and relu, as the networks fuse
// them), batch 1, through the whole executor; the time is the layer's step
// alone (Model::profile), so the CPU column is meaningless here.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>

#include "bench_common.h"
#include "cvm/model.hpp"
#include "tools/model_builder.h"

namespace cvm_bench {
namespace {

struct ConvCase {
  const char* net;
  int64_t c, hw, o, k, stride, pad, groups;
};

const ConvCase kCases[] = {
    // resnet50_v1
    {"resnet50", 3, 224, 64, 7, 2, 3, 1},
    {"resnet50", 64, 56, 64, 1, 1, 0, 1},
    {"resnet50", 64, 56, 64, 3, 1, 1, 1},
    {"resnet50", 64, 56, 256, 1, 1, 0, 1},
    {"resnet50", 256, 56, 64, 1, 1, 0, 1},
    {"resnet50", 256, 56, 512, 1, 2, 0, 1},
    {"resnet50", 128, 56, 128, 3, 2, 1, 1},
    {"resnet50", 128, 28, 128, 3, 1, 1, 1},
    {"resnet50", 128, 28, 512, 1, 1, 0, 1},
    {"resnet50", 512, 28, 128, 1, 1, 0, 1},
    {"resnet50", 256, 14, 256, 3, 1, 1, 1},
    {"resnet50", 256, 14, 1024, 1, 1, 0, 1},
    {"resnet50", 1024, 14, 256, 1, 1, 0, 1},
    {"resnet50", 512, 7, 512, 3, 1, 1, 1},
    {"resnet50", 512, 7, 2048, 1, 1, 0, 1},
    {"resnet50", 2048, 7, 512, 1, 1, 0, 1},
    // mobilenet1_0
    {"mobilenet", 3, 224, 32, 3, 2, 1, 1},
    {"mobilenet", 32, 112, 32, 3, 1, 1, 32},
    {"mobilenet", 32, 112, 64, 1, 1, 0, 1},
    {"mobilenet", 64, 112, 64, 3, 2, 1, 64},
    {"mobilenet", 128, 56, 128, 1, 1, 0, 1},
    {"mobilenet", 256, 28, 256, 3, 1, 1, 256},
    {"mobilenet", 512, 14, 512, 1, 1, 0, 1},
    {"mobilenet", 512, 14, 512, 3, 1, 1, 512},
    {"mobilenet", 1024, 7, 1024, 1, 1, 0, 1},
    // squeezenet1_0: the first layer, fire modules' expand 3x3, the classifier
    {"squeezenet", 3, 224, 96, 7, 2, 0, 1},
    {"squeezenet", 32, 54, 128, 3, 1, 1, 1},
    {"squeezenet", 64, 27, 256, 3, 1, 1, 1},
    {"squeezenet", 512, 13, 1000, 1, 1, 0, 1},
};

void run_conv(benchmark::State& state, const ConvCase& cc) {
  std::mt19937 rng(7);
  auto b = cvm::tools::conv_layer(rng, 1, cc.c, cc.hw, cc.hw, cc.o, cc.k, cc.stride, cc.pad,
                                  cc.groups);
  auto model = cvm::Model::load(b.json(), b.params());
  model->set_threads(bench_threads());
  std::vector<uint8_t> input(model->input_length());
  for (auto& v : input) v = static_cast<uint8_t>(rng());
  // The time of the layer's step alone (manual time), not of converting
  // the model's input and output.
  for (auto _ : state) {
    auto steps = model->profile(input);
    double seconds = 0;
    for (const auto& s : steps) seconds += s.seconds;
    state.SetIterationTime(seconds);
  }
  const int64_t oh = (cc.hw + 2 * cc.pad - cc.k) / cc.stride + 1;
  const double macs = static_cast<double>(oh * oh) * cc.o * (cc.c / cc.groups) * cc.k * cc.k;
  set_mac_counters(state, macs);
}

}  // namespace

void register_op_benchmarks() {
  for (const ConvCase& cc : kCases) {
    std::string name = std::string("op/") + cc.net + "/conv" + std::to_string(cc.k) + "x" +
                       std::to_string(cc.k) + "_c" + std::to_string(cc.c) + "_" +
                       std::to_string(cc.hw) + "_o" + std::to_string(cc.o) + "_s" +
                       std::to_string(cc.stride) + (cc.groups > 1 ? "_dw" : "");
    benchmark::RegisterBenchmark(name.c_str(), [cc](benchmark::State& s) { run_conv(s, cc); })
        ->Unit(benchmark::kMicrosecond)
        ->UseManualTime();
  }
}

}  // namespace cvm_bench
