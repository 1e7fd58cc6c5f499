// cvm-run's command line: the options, their parsing and the help text.
#pragma once

#include <string>
#include <vector>

#include "runtime/cli/model_files.h"

namespace cvm {
namespace cli {

enum class Mode { kRun, kInfo, kBench, kHelp, kVersion };

struct Options {
  Mode mode = Mode::kRun;
  ModelPaths model;
  std::string input;                // --input FILE, "-" for stdin, "random" (bench)
  std::vector<std::string> images;  // --image FILE (repeatable)
  std::string output;               // --output FILE, "-" for stdout
  int repeat = 0;
  int threads = 0;
  bool profile = false;
  int top = 0;
  bool json = false;
  // bench
  int warmup = 5;
  int runs = 0;         // 0: by duration, else 50 when neither is given
  double duration = 0;  // seconds
};

// Throws UsageError with a one-line reason.
Options parse_args(int argc, char** argv);

extern const char kHelp[];
const char* version();

}  // namespace cli
}  // namespace cvm
