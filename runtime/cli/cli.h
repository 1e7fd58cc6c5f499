// cvm-run: what its parts share -- the exit codes and the error kinds that
// map to them.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace cvm {
namespace cli {

// Exit codes (documented in --help and README).
enum ExitCode : int {
  kExitOk = 0,
  kExitInvalid = 1,  // invalid model or input (cvm::Error code 1)
  kExitRuntime = 2,  // runtime failure (cvm::Error code 2), out of memory
  kExitIo = 3,       // a file cannot be read or written
  kExitUsage = 64,   // bad command line (BSD sysexits EX_USAGE)
};

// A bad command line: one line of reason, then a hint to run --help.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file that cannot be opened, read or written: exit code 3. The message
// starts with the file's name.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Clock = std::chrono::steady_clock;

// Milliseconds since `start`, for timings.
inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace cli
}  // namespace cvm
