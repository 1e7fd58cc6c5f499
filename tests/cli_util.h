// Helpers of the cvm-run tests: run the program, capture its output, write
// scratch files.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "file_util.h"

namespace cvm {
namespace test {

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

// A folder of this test process for scratch files.
inline std::filesystem::path scratch() {
  auto dir = std::filesystem::temp_directory_path() / ("cvm_cli_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs cvm-run with `args` (shell words), stdin from `stdin_path`.
inline CliResult cvm_run(const std::string& args, const std::string& stdin_path = "/dev/null") {
  const auto dir = scratch();
  const std::string cmd = std::string(CVM_RUN_PATH) + " " + args + " >" + (dir / "stdout").string() +
                          " 2>" + (dir / "stderr").string() + " <" + stdin_path;
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  return r;
}

inline int line_count(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace test
}  // namespace cvm
