// Errors carry the reference runtime's two classes: 1 for an invalid model or
// input (a "logic" error), 2 for a failure of the runtime itself.
#pragma once

#include <sstream>

#include "cvm/error.h"

namespace cvm {

namespace detail {
// Collects a message with operator<< and throws when the statement ends.
class ErrorThrower {
 public:
  explicit ErrorThrower(int code) : code_(code) {}
  ErrorThrower(const ErrorThrower&) = delete;
  ErrorThrower& operator=(const ErrorThrower&) = delete;
  ~ErrorThrower() noexcept(false) { throw Error(code_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  int code_;
  std::ostringstream stream_;
};
}  // namespace detail

}  // namespace cvm

// Fails with code 1 (invalid model or input) unless `cond` holds.
#define CVM_VERIFY(cond) \
  if (cond) {            \
  } else                 \
    ::cvm::detail::ErrorThrower(::cvm::kErrorLogic).stream()

// Fails with code 2 (the reference's runtime-error class) unless `cond` holds.
#define CVM_CHECK(cond) \
  if (cond) {           \
  } else                \
    ::cvm::detail::ErrorThrower(::cvm::kErrorRuntime).stream()

#define CVM_LOGIC_ERROR() ::cvm::detail::ErrorThrower(::cvm::kErrorLogic).stream()
#define CVM_RUNTIME_ERROR() \
  ::cvm::detail::ErrorThrower(::cvm::kErrorRuntime).stream()
