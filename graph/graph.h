// The CVM graph: parsed from its JSON, verified with every check the
// reference runtime makes (and the bounds checks it lacks), with shapes and
// precisions inferred per operator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/attrs.h"
#include "base/shape.h"
#include "ops/op.h"

namespace cvm {

struct EntryRef {
  uint32_t node_id = 0;
  uint32_t index = 0;
  uint32_t version = 0;
};

struct GraphNode {
  std::string op_type;    // "null" (a variable) or "cvm_op"
  std::string name;
  std::string func_name;  // operator name, trailing "_<digits>" removed
  std::vector<EntryRef> inputs;
  std::unique_ptr<Operator> op;  // null for variables
  uint32_t num_outputs = 1;

  bool is_variable() const { return op_type == "null"; }
  bool is_data() const { return is_variable() && name == "data"; }
};

struct Graph {
  std::vector<GraphNode> nodes;
  std::vector<uint32_t> arg_nodes;     // variable nodes, in node order
  std::vector<uint32_t> node_row_ptr;  // first entry of each node, plus the end
  std::vector<EntryRef> heads;         // the outputs
  std::vector<int> storage_id;
  // Per entry: its storage pool, the storage ids numbered densely in order of
  // first use, so sparse ids (which the reference allows) cost nothing.
  std::vector<uint32_t> pool;
  std::vector<int> precision;  // per entry, inferred for operator outputs
  std::vector<Shape> shapes;   // per entry
  std::string version = "cvm_1.0.0";
  std::string postprocess;

  uint32_t num_entries() const { return static_cast<uint32_t>(storage_id.size()); }
  // Entry ids use uint32 arithmetic, as the reference's do; a verified graph
  // only holds references whose id is in range.
  uint32_t entry_id(uint32_t nid, uint32_t index) const {
    return node_row_ptr[nid] + index;
  }
  uint32_t entry_id(const EntryRef& e) const { return entry_id(e.node_id, e.index); }
};

// Parses and verifies a graph: the reference's Load, PrepareGraphWithVersion
// and CheckAttr (shape, type and precision inference). Throws cvm::Error.
Graph load_graph(const std::string& json);

// The reference's gas (GetOps): ops plus 5 x memory, with its limits (code 1).
int64_t graph_gas(const Graph& graph);

// Bytes of each storage pool (the maximum over the entries that use it),
// indexed by Graph::pool.
std::vector<uint64_t> storage_pool_bytes(const Graph& graph);

// The reference's GetStorageSize: pools rounded to 4 bytes, at most 2^32 in
// all (code 1 beyond).
int64_t storage_size(const std::vector<uint64_t>& pool_bytes);

}  // namespace cvm
