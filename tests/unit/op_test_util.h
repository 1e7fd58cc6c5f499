// Helpers shared by the operator unit tests.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "ops/op.h"

namespace cvm {
namespace test {

// The operator `name` built from its registry factory with `dict` attributes.
inline std::unique_ptr<Operator> make_op(const std::string& name, const AttrDict& dict = {}) {
  const OperatorFactory* factory = op_registry().find(name);
  REQUIRE(factory != nullptr);
  return (*factory)(NodeAttrs{name, name + "_0", dict});
}

// The error code `fn` throws (cvm::Error), 0 when it does not throw.
inline int error_code(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return 0;
}

}  // namespace test
}  // namespace cvm
