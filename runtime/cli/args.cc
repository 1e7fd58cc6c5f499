#include "runtime/cli/args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "cvm/model.hpp"
#include "runtime/cli/cli.h"

#ifndef CVM_VERSION
#define CVM_VERSION "unknown"
#endif

namespace cvm {
namespace cli {

const char kHelp[] =
    "usage: cvm-run --model DIR (--input FILE | --image FILE...) [options]\n"
    "       cvm-run --symbol FILE --params FILE (--input FILE | --image FILE...) [options]\n"
    "       cvm-run info --model DIR\n"
    "       cvm-run bench --model DIR [--input FILE | random] [--warmup N]\n"
    "                     [--runs N | --duration S] [--threads N] [--json]\n"
    "       cvm-run --help | --version\n"
    "\n"
    "Runs a CVM model (DIR holds symbol.json, params.bin and optionally model.json)\n"
    "on one input and prints what the output means, or describes or times the model.\n"
    "\n"
    "Model:\n"
    "  --model DIR       the model folder\n"
    "  --symbol FILE     the graph JSON, with --params FILE the params blob (instead\n"
    "                    of --model; model.json is looked for beside the graph)\n"
    "Input (one of):\n"
    "  --input FILE      FILE.npy: a NumPy array of the model's input shape, of any\n"
    "                    integer dtype, or float16/32/64 holding whole numbers (bool\n"
    "                    is refused); a uint8 array is a batch of images (as --image)\n"
    "                    when model.json has an \"input\" section. Any other name: raw\n"
    "                    bytes in the C API's layout (int8 when the input precision\n"
    "                    is at most 8, else little-endian int32), exactly the model's\n"
    "                    input length. \"-\" reads stdin (.npy when it starts with the\n"
    "                    NumPy magic, else raw bytes). No more of a file is read than\n"
    "                    the model takes, plus one byte.\n"
    "  --image FILE      a PNG or JPEG image (or a uint8 .npy of (H, W[, C]) pixels),\n"
    "                    preprocessed as the model folder's model.json says: resize,\n"
    "                    centre crop, int = round(((pixel - mean) / std) * scale)\n"
    "                    clamped to the input precision. Give it once per image of\n"
    "                    the model's batch.\n"
    "Output:\n"
    "  --output FILE     write the output: FILE.npy as a NumPy array (int8 or int32),\n"
    "                    else raw bytes in the C API's layout; \"-\" writes raw bytes\n"
    "                    to stdout. Without it, a summary is printed: shape, first\n"
    "                    values, the argmax of each row for classifiers (with class\n"
    "                    names from model.json), the boxes of detectors as rows of\n"
    "                    [id, score, x1, y1, x2, y2], else that the output is raw.\n"
    "  --top K           the K best classes of each row, with their names\n"
    "  --json            print the summary as JSON (shapes, values, argmax, top K,\n"
    "                    boxes, gas, timing) instead of text\n"
    "Running:\n"
    "  --threads N       threads an inference uses, 1 to 256 (default: the\n"
    "                    CVM_THREADS environment variable, else every core);\n"
    "                    results never depend on it\n"
    "  --repeat N        run N more times after the first and print min and median\n"
    "                    latency\n"
    "  --profile         print the executor's plan and each step's time (at its\n"
    "                    fastest over max(--repeat, 1) runs)\n"
    "Bench (cvm-run bench):\n"
    "  --input FILE|random  the input (default random: uniform over the precision,\n"
    "                    the same every time)\n"
    "  --warmup N        runs before timing (default 5)\n"
    "  --runs N          timed runs (default 50), or\n"
    "  --duration S      time runs for S seconds\n"
    "  --json            the figures as JSON\n"
    "  Prints load time, min, mean, p50, p90, p99 latency, images per second and\n"
    "  peak resident memory (VmHWM); a progress line on stderr past two seconds.\n"
    "\n"
    "Exit codes:\n"
    "  0   success\n"
    "  1   invalid model or input (rejected model, input that does not fit it,\n"
    "      malformed .npy, image or model.json)\n"
    "  2   runtime failure (also, as in the reference runtime, a malformed\n"
    "      symbol.json or an unknown operator); out of memory\n"
    "  3   a file cannot be read or written (missing, a folder, no permission)\n"
    "  64  bad command line\n"
    "Every failure prints one line on stderr naming the file concerned.\n";

const char* version() { return CVM_VERSION; }

namespace {

long parse_whole(const std::string& flag, const std::string& text, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) {
    throw UsageError(flag + " takes a whole number from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", not '" + text + "'");
  }
  return v;
}

double parse_seconds(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v <= 0 || v > 86400) {
    throw UsageError(flag + " takes seconds, more than 0 and at most 86400, not '" + text + "'");
  }
  return v;
}

}  // namespace

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t i = 0;
  if (!args.empty() && args[0] == "info") {
    o.mode = Mode::kInfo;
    i = 1;
  } else if (!args.empty() && args[0] == "bench") {
    o.mode = Mode::kBench;
    i = 1;
  }
  const Mode command = o.mode;
  bool runs_given = false, warmup_given = false;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "--version") {
      Options only;
      only.mode = a == "--version" ? Mode::kVersion : Mode::kHelp;
      return only;
    }
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--model") o.model.folder = value();
    else if (a == "--symbol") o.model.symbol = value();
    else if (a == "--params") o.model.params = value();
    else if (a == "--input") o.input = value();
    else if (a == "--image") o.images.push_back(value());
    else if (a == "--output") o.output = value();
    else if (a == "--repeat") o.repeat = static_cast<int>(parse_whole(a, value(), 1, 1000000));
    else if (a == "--threads") o.threads = static_cast<int>(parse_whole(a, value(), 1, kMaxThreads));
    else if (a == "--profile") o.profile = true;
    else if (a == "--top") o.top = static_cast<int>(parse_whole(a, value(), 1, 1000000));
    else if (a == "--json") o.json = true;
    else if (a == "--warmup") {
      o.warmup = static_cast<int>(parse_whole(a, value(), 0, 1000000));
      warmup_given = true;
    } else if (a == "--runs") {
      o.runs = static_cast<int>(parse_whole(a, value(), 1, 100000000));
      runs_given = true;
    } else if (a == "--duration") {
      o.duration = parse_seconds(a, value());
    } else if (a == "info" || a == "bench") {
      throw UsageError("'" + a + "' must come first");
    } else {
      throw UsageError("unknown argument '" + a + "'");
    }
  }
  const bool bench = command == Mode::kBench;
  if (!o.model.folder.empty()) {
    if (o.model.symbol.empty()) o.model.symbol = o.model.folder + "/symbol.json";
    if (o.model.params.empty()) o.model.params = o.model.folder + "/params.bin";
  }
  if (o.model.symbol.empty() || o.model.params.empty()) {
    throw UsageError("no model: give --model DIR, or --symbol FILE and --params FILE");
  }
  if (command == Mode::kInfo) {
    if (!o.input.empty() || !o.images.empty() || !o.output.empty()) {
      throw UsageError("info takes only the model");
    }
    return o;
  }
  if (!bench && o.input.empty() && o.images.empty()) {
    throw UsageError("no input: give --input FILE or --image FILE");
  }
  if (!o.input.empty() && !o.images.empty()) throw UsageError("give --input or --image, not both");
  if (bench) {
    if (runs_given && o.duration > 0) throw UsageError("give --runs or --duration, not both");
    if (!runs_given && o.duration <= 0) o.runs = 50;
    if (!o.images.empty() || !o.output.empty() || o.top > 0 || o.profile || o.repeat > 0) {
      throw UsageError("bench takes --model, --input, --warmup, --runs or --duration, --threads "
                       "and --json");
    }
    return o;
  }
  if (runs_given || warmup_given || o.duration > 0) {
    throw UsageError("--warmup, --runs and --duration belong to 'cvm-run bench'");
  }
  if (o.input == "random") throw UsageError("--input random belongs to 'cvm-run bench'");
  if (o.json && o.output == "-") throw UsageError("--json and --output - both write to stdout");
  if (std::count(o.images.begin(), o.images.end(), "-") > 1) {
    throw UsageError("stdin can be read once (--image - given twice)");
  }
  return o;
}

}  // namespace cli
}  // namespace cvm
