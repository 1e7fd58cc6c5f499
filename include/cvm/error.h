// The error type of the C++ API: a message and the reference's class,
// 1 for an invalid model or input ("logic"), 2 for a failure of the runtime.
#pragma once

#include <stdexcept>
#include <string>

namespace cvm {

enum ErrorCode : int {
  kSucceed = 0,
  kErrorLogic = 1,
  kErrorRuntime = 2,
};

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace cvm
