// libFuzzer target: the params blob alone. Every input must end in a parsed
// list of arrays whose values match their declared shapes, or a cvm::Error of
// class 1 or 2.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cvm/error.h"
#include "graph/params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto arrays = cvm::load_params(reinterpret_cast<const char*>(data), size);
    for (const auto& a : arrays) {
      if (a.dtype_bits != 8 && a.dtype_bits != 32) continue;  // widths not kept
      uint64_t n = 1;
      for (int64_t d : a.shape) n *= static_cast<uint64_t>(d);
      if (a.values.size() != n) std::abort();
    }
  } catch (const cvm::Error& e) {
    if (e.code() != cvm::kErrorLogic && e.code() != cvm::kErrorRuntime) std::abort();
  }
  return 0;
}
