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
#include <system_error>
#include <utility>

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

// A folder made at construction and removed, with everything in it, at
// destruction.
class ScratchDir {
 public:
  explicit ScratchDir(std::filesystem::path path) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;  // a destructor must not throw
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A folder of this test process for scratch files, made on first use and
// removed when the process exits (one object for every test file: a
// function's static in an inline function).
inline const std::filesystem::path& scratch() {
  static const ScratchDir dir(std::filesystem::temp_directory_path() /
                              ("cvm_cli_test_" + std::to_string(::getpid())));
  return dir.path();
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

// LeNet, the bundled model most CLI tests run.
inline const std::filesystem::path kLenet =
    std::filesystem::path(CVM_SOURCE_DIR) / "examples" / "models" / "lenet_28";

}  // namespace test
}  // namespace cvm

// The names every CLI test file uses unqualified (this header serves only
// those files).
namespace fs = std::filesystem;
using cvm::test::contains;
using cvm::test::cvm_run;
using cvm::test::kLenet;
using cvm::test::line_count;
using cvm::test::scratch;
using cvm::test::slurp;
using cvm::test::spit;
