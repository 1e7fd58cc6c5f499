// libFuzzer target: the graph JSON alone. Parses and verifies it (the
// reference's Load, PrepareGraphWithVersion and CheckAttr), then computes the
// gas and the storage plan as CVMAPIGetGasFromGraphFile and the loader do.
// Every input must end in success or a cvm::Error of class 1 or 2.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cvm/error.h"
#include "graph/graph.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json(reinterpret_cast<const char*>(data), size);
  try {
    cvm::Graph graph = cvm::load_graph(json);
    try {
      cvm::graph_gas(graph);
    } catch (const cvm::Error& e) {
      if (e.code() != cvm::kErrorLogic) std::abort();  // gas limits are class 1
    }
    cvm::storage_size(cvm::storage_pool_bytes(graph));
  } catch (const cvm::Error& e) {
    if (e.code() != cvm::kErrorLogic && e.code() != cvm::kErrorRuntime) std::abort();
  }
  return 0;
}
