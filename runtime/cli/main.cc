// cvm-run: run a CVM model on an input file or image, describe a model, or
// time it (cvm-run --help, README "cvm-run"). The parts: args (command
// line), files (bounded reads, writes, JSON errors), model_files (the model
// folder), input / image / preprocess (input bytes), summary (what the
// output means, text or JSON), bench (the bench mode).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cvm/model.hpp"
#include "runtime/cli/args.h"
#include "runtime/cli/bench.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/files.h"
#include "runtime/cli/input.h"
#include "runtime/cli/model_files.h"
#include "runtime/cli/summary.h"
#include "runtime/npy.h"

namespace cvm {
namespace cli {
namespace {

void print_info(const LoadedModel& m) {
  const cvm::Model& model = *m.model;
  const auto in = model.input();
  std::cout << "version: " << model.version() << "\n";
  if (!model.postprocess_method().empty()) std::cout << "postprocess: " << model.postprocess_method() << "\n";
  std::cout << "input: data " << shape_text(in.shape) << " precision " << in.precision << " ("
            << model.input_length() << " bytes)\n";
  for (const auto& o : model.outputs()) {
    std::cout << "output: " << o.name << " " << shape_text(o.shape) << " precision " << o.precision << "\n";
  }
  std::cout << "output bytes: " << model.output_length() << "\n";
  std::cout << "operators:";
  for (const auto& kv : model.operator_counts()) std::cout << ' ' << kv.first << '=' << kv.second;
  std::cout << "\n";
  try {
    std::cout << "gas: " << model.gas() << "\n";
  } catch (const cvm::Error& e) {
    std::cout << "gas: over the limits (" << e.what() << ")\n";
  }
  std::cout << "storage size: " << model.storage_size() << " bytes\n";
  if (!m.has_meta) {
    std::cout << "metadata: none (no model.json)\n";
    return;
  }
  std::cout << "metadata: " << m.meta_path << (m.meta.task.empty() ? "" : ", task " + m.meta.task)
            << ", " << m.meta.classes.size() << " class names\n";
  if (m.meta.has_input) {
    const InputMeta& i = m.meta.input;
    std::cout << "preprocessing:" << (i.transform.empty() ? "" : " " + i.transform)
              << (i.color.empty() ? "" : " " + i.color) << ", resize " << i.resize << ", crop "
              << i.crop_height << " x " << i.crop_width << ", scale " << i.scale << "\n";
  }
}

void print_profile(cvm::Model& model, const std::vector<uint8_t>& input, int repeat) {
  // The slowest steps, each at its fastest over max(--repeat, 1) runs:
  // wall time, and the CPU time of the calling thread.
  auto steps = model.profile(input);
  for (int r = 1; r < repeat; ++r) {
    auto again = model.profile(input);
    for (size_t i = 0; i < steps.size() && i < again.size(); ++i) {
      steps[i].seconds = std::min(steps[i].seconds, again[i].seconds);
      steps[i].cpu_seconds = std::min(steps[i].cpu_seconds, again[i].cpu_seconds);
    }
  }
  double total = 0, total_cpu = 0;
  for (const auto& s : steps) {
    total += s.seconds;
    total_cpu += s.cpu_seconds;
  }
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return steps[a].seconds > steps[b].seconds; });
  std::printf("plan: %s, %d threads; %.3f ms in steps (caller CPU %.3f ms)\n",
              model.plan_summary().c_str(), model.threads(), total * 1e3, total_cpu * 1e3);
  std::printf("  wall ms    cpu ms  step\n");
  for (size_t i : order) {
    std::printf("%9.3f %9.3f  %s\n", steps[i].seconds * 1e3, steps[i].cpu_seconds * 1e3,
                steps[i].step.c_str());
  }
  std::fflush(stdout);
}

int run(const Options& o) {
  LoadedModel m = load_model(o.model);
  if (o.mode == Mode::kInfo) {
    print_info(m);
    return kExitOk;
  }
  cvm::Model& model = *m.model;
  model.set_threads(o.threads);
  const std::vector<uint8_t> input = read_model_input(o.input, o.images, m);
  RunTimes times;
  times.read_ms = m.read_ms;
  times.load_ms = m.load_ms;
  std::vector<uint8_t> output(model.output_length());
  auto t = Clock::now();
  model.infer(input.data(), input.size(), output.data());
  times.first_ms = ms_since(t);
  if (o.profile) print_profile(model, input, o.repeat);
  for (int i = 0; i < o.repeat; ++i) {
    t = Clock::now();
    model.infer(input.data(), input.size(), output.data());
    times.repeat_ms.push_back(ms_since(t));
  }
  std::sort(times.repeat_ms.begin(), times.repeat_ms.end());
  if (!times.repeat_ms.empty() && !o.json) {
    std::printf("latency over %d runs: min %.3f ms, median %.3f ms\n", o.repeat,
                times.repeat_ms.front(), times.repeat_ms[times.repeat_ms.size() / 2]);
    std::fflush(stdout);
  }
  const OutputView view = view_output(m, output);
  if (!o.output.empty()) {
    write_file(o.output, ends_with(o.output, ".npy")
                             ? cvm::make_npy(view.shape, view.values, model.output_type_size() == 1)
                             : std::string(output.begin(), output.end()));
  }
  if (o.json) {
    const std::string source = o.images.empty() ? o.input : o.images.front();
    std::cout << summary_json(m, view, o.top, source, times).dump(2) << "\n";
  } else if (o.output.empty() || o.top > 0) {
    print_summary(m, view, o.top);
  }
  std::cout.flush();
  if (!std::cout) throw IoError("stdout: cannot write");
  return kExitOk;
}

std::string one_line(std::string msg) {
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return msg;
}

}  // namespace
}  // namespace cli
}  // namespace cvm

int main(int argc, char** argv) {
  using namespace cvm::cli;
  try {
    const Options o = parse_args(argc, argv);
    if (o.mode == Mode::kHelp) {
      std::cout << kHelp;
      return kExitOk;
    }
    if (o.mode == Mode::kVersion) {
      std::cout << "cvm-run " << version() << "\n";
      return kExitOk;
    }
    return o.mode == Mode::kBench ? run_bench(o) : run(o);
  } catch (const UsageError& e) {
    std::cerr << "cvm-run: " << one_line(e.what()) << "\n"
              << "Try 'cvm-run --help' for the options.\n";
    return kExitUsage;
  } catch (const IoError& e) {
    std::cerr << "cvm-run: " << one_line(e.what()) << "\n";
    return kExitIo;
  } catch (const cvm::Error& e) {
    std::cerr << "cvm-run: " << one_line(e.what()) << "\n";
    return e.code() == cvm::kErrorLogic ? kExitInvalid : kExitRuntime;
  } catch (const std::bad_alloc&) {
    std::cerr << "cvm-run: out of memory\n";
    return kExitRuntime;
  } catch (const std::exception& e) {
    std::cerr << "cvm-run: " << one_line(e.what()) << "\n";
    return kExitRuntime;
  }
}
