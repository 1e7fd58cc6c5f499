// cvm-run: run a CVM model on an input file, or describe a model.
//
//   cvm-run --model DIR --input FILE [--output FILE] [--repeat N] [--threads N]
//   cvm-run --symbol F --params F --input FILE ...
//   cvm-run info --model DIR
//
// Input and output files ending in .npy are NumPy arrays; any other name is
// raw bytes in the C API's layout. Exit code 0 on success; otherwise a
// one-line reason on stderr and exit code 1 (bad model or input), 2 (runtime
// failure) or 64 (bad command line).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cvm/model.hpp"
#include "base/error.h"
#include "runtime/npy.h"

namespace {

constexpr int kUsageError = 64;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char kUsage[] =
    "usage: cvm-run --model DIR --input FILE [--output FILE] [--repeat N] [--threads N]\n"
    "               [--profile]\n"
    "       cvm-run --symbol FILE --params FILE --input FILE [...]\n"
    "       cvm-run info --model DIR | --symbol FILE --params FILE\n"
    "DIR holds symbol.json and params.bin. Files ending in .npy are NumPy arrays;\n"
    "others are raw bytes in the C API's layout (int8, or little-endian int32).\n";

struct Options {
  bool info = false;
  std::string symbol, params, input, output;
  int repeat = 0;
  int threads = 0;
  bool profile = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int parse_count(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 1 || v > 1000000) {
    throw UsageError(flag + " takes a positive whole number, not '" + text + "'");
  }
  return static_cast<int>(v);
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t i = 0;
  if (!args.empty() && args[0] == "info") {
    o.info = true;
    i = 1;
  }
  std::string model_dir;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--model") model_dir = value();
    else if (a == "--symbol") o.symbol = value();
    else if (a == "--params") o.params = value();
    else if (a == "--input") o.input = value();
    else if (a == "--output") o.output = value();
    else if (a == "--repeat") o.repeat = parse_count(a, value());
    else if (a == "--threads") o.threads = parse_count(a, value());
    else if (a == "--profile") o.profile = true;
    else throw UsageError("unknown argument '" + a + "'");
  }
  if (!model_dir.empty()) {
    if (o.symbol.empty()) o.symbol = model_dir + "/symbol.json";
    if (o.params.empty()) o.params = model_dir + "/params.bin";
  }
  if (o.symbol.empty() || o.params.empty()) throw UsageError("no model: give --model DIR or --symbol and --params");
  if (!o.info && o.input.empty()) throw UsageError("no input: give --input FILE");
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CVM_VERIFY(in.good()) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  CVM_VERIFY(out.good()) << "cannot write " << path;
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  CVM_VERIFY(out.good()) << "cannot write " << path;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// The input file as bytes in the C API's layout.
std::vector<uint8_t> load_input(const std::string& path, const cvm::Model& model) {
  std::string bytes = read_file(path);
  if (!ends_with(path, ".npy")) {
    CVM_VERIFY(bytes.size() == model.input_length())
        << path << " has " << bytes.size() << " bytes, the model takes " << model.input_length();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  }
  cvm::NpyArray arr = cvm::parse_npy(bytes);
  const cvm::TensorInfo in = model.input();
  CVM_VERIFY(arr.shape == in.shape) << path << " has shape " << shape_text(arr.shape)
                                    << ", the model takes " << shape_text(in.shape);
  const bool int8 = model.input_type_size() == 1;
  const int64_t lo = int8 ? -128 : INT32_MIN, hi = int8 ? 127 : INT32_MAX;
  std::vector<uint8_t> out;
  out.reserve(arr.values.size() * model.input_type_size());
  for (size_t i = 0; i < arr.values.size(); ++i) {
    int64_t v = arr.values[i];
    CVM_VERIFY(v >= lo && v <= hi) << path << ": value " << v << " at index " << i
                                   << " does not fit the model's " << (int8 ? "int8" : "int32")
                                   << " input";
    uint32_t u = static_cast<uint32_t>(static_cast<int32_t>(v));
    for (size_t b = 0; b < model.input_type_size(); ++b) out.push_back((u >> (8 * b)) & 0xFF);
  }
  return out;
}

std::vector<int32_t> decode(const std::vector<uint8_t>& bytes, size_t type_size) {
  std::vector<int32_t> values(bytes.size() / type_size);
  for (size_t i = 0; i < values.size(); ++i) {
    if (type_size == 1) {
      values[i] = static_cast<int8_t>(bytes[i]);
    } else {
      const uint8_t* b = &bytes[4 * i];
      values[i] = static_cast<int32_t>(uint32_t(b[0]) | uint32_t(b[1]) << 8 |
                                       uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24);
    }
  }
  return values;
}

// Shape of the output bytes: the head's own shape when there is one head and
// no post-processing, else rows of the concatenated or reduced output.
std::vector<int64_t> output_shape(const cvm::Model& model, size_t count) {
  auto outs = model.outputs();
  const std::string method = model.postprocess_method();
  if (outs.size() == 1 && method != "argmax" && method != "detection") return outs[0].shape;
  if (method == "argmax") return {static_cast<int64_t>(count)};
  int64_t width = 0;
  for (const auto& o : outs) width += o.shape.back();
  if (width > 0 && count % width == 0) return {static_cast<int64_t>(count) / width, width};
  return {static_cast<int64_t>(count)};
}

void print_summary(const cvm::Model& model, const std::vector<int32_t>& values) {
  const auto shape = output_shape(model, values.size());
  const std::string method = model.postprocess_method();
  std::cout << "output: shape " << shape_text(shape) << ", "
            << (model.output_type_size() == 1 ? "int8" : "int32") << "\n";
  std::cout << "values:";
  for (size_t i = 0; i < std::min<size_t>(values.size(), 16); ++i) std::cout << ' ' << values[i];
  if (values.size() > 16) std::cout << " ...";
  std::cout << "\n";
  if (method == "argmax") {
    std::cout << "argmax:";
    for (int32_t v : values) std::cout << ' ' << v;
    std::cout << "\n";
  } else if (method == "detection" && shape.size() == 2 && shape[1] >= 6) {
    // Rows of [class id, score, x1, y1, x2, y2, ...]; invalid rows have id < 0.
    int shown = 0;
    for (int64_t r = 0; r < shape[0] && shown < 10; ++r) {
      const int32_t* row = &values[r * shape[1]];
      if (row[0] < 0) continue;
      std::cout << "box: class " << row[0] << " score " << row[1] << " at (" << row[2] << ", "
                << row[3] << ", " << row[4] << ", " << row[5] << ")\n";
      ++shown;
    }
    if (shown == 0) std::cout << "no boxes\n";
  } else if (shape.size() >= 1 && shape.back() > 1) {
    // A classifier's scores: the best class of each row.
    const int64_t width = shape.back();
    const int64_t rows = static_cast<int64_t>(values.size()) / width;
    std::cout << "argmax:";
    for (int64_t r = 0; r < std::min<int64_t>(rows, 16); ++r) {
      const int32_t* row = &values[r * width];
      std::cout << ' ' << (std::max_element(row, row + width) - row);
    }
    if (rows > 16) std::cout << " ...";
    std::cout << "\n";
  }
}

void print_info(const cvm::Model& model) {
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
}

int run(const Options& o) {
  auto model = cvm::Model::load_files(o.symbol, o.params);
  if (o.info) {
    print_info(*model);
    return 0;
  }
  model->set_threads(o.threads);
  std::vector<uint8_t> input = load_input(o.input, *model);
  std::vector<uint8_t> output = model->infer(input);
  if (o.profile) {
    // The slowest steps, each at its fastest over max(--repeat, 1) runs:
    // wall time, and the CPU time of the calling thread.
    auto steps = model->profile(input);
    for (int r = 1; r < o.repeat; ++r) {
      auto again = model->profile(input);
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
                model->plan_summary().c_str(), model->threads(), total * 1e3, total_cpu * 1e3);
    std::printf("  wall ms    cpu ms  step\n");
    for (size_t i = 0; i < order.size(); ++i) {
      std::printf("%9.3f %9.3f  %s\n", steps[order[i]].seconds * 1e3,
                  steps[order[i]].cpu_seconds * 1e3, steps[order[i]].step.c_str());
    }
  }
  if (o.repeat > 0) {
    std::vector<double> ms;
    for (int i = 0; i < o.repeat; ++i) {
      auto start = std::chrono::steady_clock::now();
      model->infer(input.data(), input.size(), output.data());
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("latency over %d runs: min %.3f ms, median %.3f ms\n", o.repeat, ms.front(),
                ms[ms.size() / 2]);
  }
  std::vector<int32_t> values = decode(output, model->output_type_size());
  if (o.output.empty()) {
    print_summary(*model, values);
  } else if (ends_with(o.output, ".npy")) {
    write_file(o.output, cvm::make_npy(output_shape(*model, values.size()), values,
                                       model->output_type_size() == 1));
  } else {
    write_file(o.output, std::string(output.begin(), output.end()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "cvm-run: " << e.what() << "\n" << kUsage;
    return kUsageError;
  } catch (const cvm::Error& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    std::cerr << "cvm-run: " << msg << "\n";
    return e.code();
  } catch (const std::bad_alloc&) {
    std::cerr << "cvm-run: out of memory\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cvm-run: " << e.what() << "\n";
    return 2;
  }
}
