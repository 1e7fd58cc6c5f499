#include "graph/graph.h"

#include <algorithm>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/error.h"
#include "graph/json_reader.h"

namespace cvm {

namespace {

// Limits of the format, from the reference.
constexpr int64_t kMaxDim = int64_t(1) << 24;
constexpr uint64_t kMaxShapeSize = uint64_t(1) << 30;
constexpr int kMaxNdim = 6;

// --- JSON reading with the reference's error classes -----------------------
// A value of the wrong JSON type is a parse failure of the reference's JSON
// reader: code 2. Semantic checks come later with their own classes. Values
// are read in document order, as the reference's streaming reader does.

constexpr size_t kMaxNodes = size_t(1) << 20;

[[noreturn]] void json_error(const std::string& what) {
  throw Error(kErrorRuntime, "invalid json: " + what);
}

std::vector<uint32_t> read_u32_list(JsonReader& r, const char* what) {
  std::vector<uint32_t> out;
  r.begin_array(what);
  while (r.next_element()) out.push_back(r.read_u32(what));
  return out;
}

std::vector<int> read_int_list(JsonReader& r, const char* what) {
  std::vector<int> out;
  r.begin_array(what);
  while (r.next_element()) out.push_back(r.read_int(what));
  return out;
}

// A node entry: [node_id, index] or [node_id, index, version].
EntryRef read_entry(JsonReader& r) {
  r.begin_array("node entry");
  EntryRef e;
  uint32_t* fields[] = {&e.node_id, &e.index, &e.version};
  size_t n = 0;
  while (r.next_element()) {
    CVM_VERIFY(n < 3) << "invalid json format: node entry";
    *fields[n++] = r.read_u32("node entry");
  }
  CVM_VERIFY(n >= 2) << "invalid json format: node entry";
  return e;
}

std::vector<EntryRef> read_entries(JsonReader& r, const char* what) {
  std::vector<EntryRef> out;
  r.begin_array(what);
  while (r.next_element()) out.push_back(read_entry(r));
  return out;
}

// "Shape"-like graph attributes are ["list_<kind>", [values]]: opens the
// list, checks the kind and leaves the reader at the values; call
// end_typed_list() after reading them.
void begin_typed_list(JsonReader& r, const std::string& key, const char* kind) {
  r.begin_array(key.c_str());
  CVM_VERIFY(r.next_element()) << "invalid graph attribute " << key;
  std::string type = r.read_string(key.c_str());
  CVM_VERIFY(type == kind) << "graph attribute " << key << " must be " << kind << ", but "
                           << type;
  CVM_VERIFY(r.next_element()) << "invalid graph attribute " << key;
}

void end_typed_list(JsonReader& r, const std::string& key) {
  CVM_VERIFY(!r.next_element()) << "invalid graph attribute " << key;
}

// Operator name of a node: func_name without a trailing "_<digits>".
std::string op_name_of(const std::string& func_name) {
  for (int i = static_cast<int>(func_name.size()) - 1; i >= 0; --i) {
    char c = func_name[i];
    if (c >= '0' && c <= '9') continue;
    if (c == '_') return func_name.substr(0, i);
    break;
  }
  return func_name;
}

AttrDict parse_op_attrs(const std::string& text) {
  check_json(text, kOpAttrsJsonLimits, "op_attrs: ");
  JsonReader r(text);
  r.begin_object("op_attrs");
  AttrDict dict;
  std::string key;
  while (r.next_member(&key)) dict[key] = r.read_string("op_attrs value");
  return dict;
}

// What the JSON declares, held compactly until verified: every list costs a
// small multiple of its text, however short its elements ("0,", "[1],",
// "\"\","), where a vector of strings or of shapes would cost 10 to 30 times.
struct RawGraph {
  Graph graph;
  size_t dltype_count = 0;
  std::string dltype_unsupported;  // the first entry that is not "int32"
  bool dltype_unsupported_seen = false;
  // op_attrs strings, concatenated: string i ends at op_attrs_end[i].
  std::string op_attrs_text;
  std::vector<uint32_t> op_attrs_end;
  size_t device_index_count = 0;
  // Declared shapes, flattened: dims of shape i are
  // shape_dims[shape_begin[i] .. shape_begin[i + 1]). Dimensions outside
  // (0, 2^24] are all rejected, so they are kept as 0 and the first one's
  // value is kept for the message.
  std::vector<int32_t> shape_dims;
  std::vector<uint32_t> shape_begin{0};
  int64_t first_bad_dim = 0;
  bool bad_dim_seen = false;
  size_t num_shapes() const { return shape_begin.size() - 1; }
  size_t num_op_attrs() const { return op_attrs_end.size(); }
  std::string op_attrs(size_t i) const {
    size_t begin = i == 0 ? 0 : op_attrs_end[i - 1];
    return op_attrs_text.substr(begin, op_attrs_end[i] - begin);
  }
};

void load_node(JsonReader& r, GraphNode* node) {
  r.begin_object("a node");
  int bitmask = 0;
  std::string key;
  while (r.next_member(&key)) {
    if (key == "op") {
      node->op_type = r.read_string("op");
      CVM_VERIFY(node->op_type == "cvm_op" || node->op_type == "null")
          << "CVM executor only supported cvm_op or parameter vs. " << node->op_type;
      bitmask |= 1;
    } else if (key == "name") {
      node->name = r.read_string("name");
      bitmask |= 2;
    } else if (key == "inputs") {
      node->inputs = read_entries(r, "inputs");
      bitmask |= 4;
    } else if (key == "attrs") {
      r.begin_object("node attrs");
      int attr_mask = 0;
      std::string attr;
      while (r.next_member(&attr)) {
        std::string value = r.read_string("node attribute");
        if (attr == "func_name") {
          node->func_name = value;
          attr_mask |= 1;
        } else if (attr == "num_inputs" || attr == "num_outputs" || attr == "op_attrs" ||
                   attr == "flatten_data") {
          // Declared, but the operator decides.
        } else {
          CVM_RUNTIME_ERROR() << "node attributes do not support key " << attr;
        }
      }
      CVM_VERIFY(attr_mask == 1) << "invalid format: node attrs without func_name";
    } else if (key == "precision") {
      r.read_int("node precision");
    } else {
      CVM_RUNTIME_ERROR() << "node do not support key " << key;
    }
  }
  CVM_VERIFY(bitmask == (1 | 2 | 4)) << "invalid format: node needs op, name and inputs";
}

void load_graph_attrs(JsonReader& r, RawGraph* raw) {
  r.begin_object("attrs");
  int bitmask = 0;
  std::string key;
  while (r.next_member(&key)) {
    if (key == "dltype") {
      begin_typed_list(r, key, "list_str");
      raw->dltype_count = 0;
      raw->dltype_unsupported_seen = false;
      r.begin_array("dltype");
      while (r.next_element()) {
        std::string t = r.read_string("dltype");
        if (t != "int32" && !raw->dltype_unsupported_seen) {
          raw->dltype_unsupported = t;
          raw->dltype_unsupported_seen = true;
        }
        ++raw->dltype_count;
      }
      end_typed_list(r, key);
    } else if (key == "storage_id") {
      begin_typed_list(r, key, "list_int");
      raw->graph.storage_id = read_int_list(r, "storage_id");
      end_typed_list(r, key);
      bitmask |= 2;
    } else if (key == "shape") {
      begin_typed_list(r, key, "list_shape");
      raw->shape_dims.clear();
      raw->shape_begin.assign(1, 0);
      raw->bad_dim_seen = false;
      r.begin_array("shape");
      while (r.next_element()) {
        r.begin_array("shape");
        while (r.next_element()) {
          int64_t d = r.read_i64("shape");
          bool ok = d > 0 && d <= kMaxDim;
          if (!ok && !raw->bad_dim_seen) {
            raw->first_bad_dim = d;
            raw->bad_dim_seen = true;
          }
          raw->shape_dims.push_back(ok ? static_cast<int32_t>(d) : 0);
        }
        raw->shape_begin.push_back(static_cast<uint32_t>(raw->shape_dims.size()));
      }
      end_typed_list(r, key);
      bitmask |= 4;
    } else if (key == "device_index") {
      begin_typed_list(r, key, "list_int");
      raw->device_index_count = 0;
      r.begin_array("device_index");
      while (r.next_element()) {
        r.read_int("device_index");
        ++raw->device_index_count;
      }
      end_typed_list(r, key);
    } else if (key == "precision") {
      begin_typed_list(r, key, "list_int");
      raw->graph.precision = read_int_list(r, "precision");
      end_typed_list(r, key);
    } else if (key == "op_attrs") {
      begin_typed_list(r, key, "list_str");
      raw->op_attrs_text.clear();
      raw->op_attrs_end.clear();
      r.begin_array("op_attrs");
      while (r.next_element()) {
        raw->op_attrs_text += r.read_string("op_attrs");
        raw->op_attrs_end.push_back(static_cast<uint32_t>(raw->op_attrs_text.size()));
      }
      end_typed_list(r, key);
      bitmask |= 8;
    } else if (key == "dtype") {
      // Skipped by the reference, but only in these two forms.
      r.begin_array("dtype");
      CVM_VERIFY(r.next_element()) << "invalid graph attribute dtype";
      std::string type = r.read_string("dtype");
      CVM_VERIFY(r.next_element()) << "invalid graph attribute dtype";
      if (type == "list_int") {
        read_int_list(r, "dtype");
      } else if (type == "list_str") {
        r.read_u32("dtype");
      } else {
        CVM_RUNTIME_ERROR() << "cannot skip graph attr " << key;
      }
      CVM_VERIFY(!r.next_element()) << "invalid graph attribute dtype";
    } else {
      CVM_RUNTIME_ERROR() << "graph attribute " << key << " not supported";
    }
  }
  CVM_VERIFY(bitmask == (2 | 4 | 8)) << "invalid format: attrs needs storage_id, shape, op_attrs";
}

RawGraph parse_json(const std::string& text) {
  const size_t num_nodes = check_json(text, kGraphJsonLimits, "", "nodes");
  CVM_VERIFY(num_nodes <= kMaxNodes) << num_nodes << " nodes, over the limit of " << kMaxNodes;
  JsonReader r(text);
  if (r.peek() != JsonReader::Type::kObject) json_error("the graph must be a JSON object");
  r.begin_object("the graph");
  RawGraph raw;
  Graph& g = raw.graph;
  int bitmask = 0;
  std::string key;
  while (r.next_member(&key)) {
    if (key == "nodes") {
      g.nodes.clear();
      g.nodes.reserve(num_nodes);  // nodes cost 4x their smallest text, without slack
      r.begin_array("nodes");
      while (r.next_element()) {
        g.nodes.emplace_back();
        load_node(r, &g.nodes.back());
      }
      bitmask |= 1;
    } else if (key == "arg_nodes") {
      g.arg_nodes = read_u32_list(r, "arg_nodes");
    } else if (key == "node_row_ptr") {
      g.node_row_ptr = read_u32_list(r, "node_row_ptr");
    } else if (key == "heads") {
      g.heads = read_entries(r, "heads");
      bitmask |= 8;
    } else if (key == "attrs") {
      load_graph_attrs(r, &raw);
      bitmask |= 16;
    } else if (key == "version") {
      g.version = r.read_string("version");
    } else if (key == "postprocess") {
      g.postprocess = r.read_string("postprocess");
    } else {
      CVM_RUNTIME_ERROR() << "key " << key << " in json is not supported";
    }
  }
  CVM_VERIFY(bitmask == (1 | 8 | 16)) << "invalid format: the graph needs nodes, heads and attrs";
  return raw;
}

// --- verification (the reference's PrepareGraphWithVersion) ----------------

// Entry id of `e` through a row-pointer table that may be the declared one;
// out-of-range ids (where the reference reads out of bounds) are code 1.
uint32_t checked_entry(const std::vector<uint32_t>& row_ptr, const EntryRef& e,
                       size_t num_entries) {
  CVM_VERIFY(e.node_id < row_ptr.size())
      << "node entry refers to node " << e.node_id << ", out of range";
  uint32_t eid = row_ptr[e.node_id] + e.index;
  CVM_VERIFY(eid < num_entries) << "node entry (" << e.node_id << ", " << e.index
                                << ") out of range";
  return eid;
}

void prepare(RawGraph& raw) {
  Graph& g = raw.graph;
  const size_t num_nodes = g.nodes.size();

  // Variable names must be unique (among the declared arg_nodes).
  std::unordered_set<std::string> names;
  for (uint32_t nid : g.arg_nodes) {
    CVM_VERIFY(nid < num_nodes) << "arg_nodes refers to node " << nid << ", out of range";
    CVM_CHECK(names.insert(g.nodes[nid].name).second)
        << "node name " << g.nodes[nid].name << " duplicated in graph";
  }

  CVM_VERIFY(num_nodes == raw.num_op_attrs())
      << "graph attribute op_attrs size: " << raw.num_op_attrs() << ", Expected " << num_nodes;
  const OpRegistry& registry = op_registry();
  for (size_t i = 0; i < num_nodes; ++i) {
    GraphNode& node = g.nodes[i];
    if (node.is_variable()) continue;
    node.func_name = op_name_of(node.func_name);
    const OperatorFactory* factory = registry.find(node.func_name);
    CVM_CHECK(factory) << "Operator " << node.func_name << " is not registered";
    NodeAttrs attrs{node.func_name, node.name, parse_op_attrs(raw.op_attrs(i))};
    node.op = (*factory)(attrs);
    uint32_t expected = node.op->num_inputs(static_cast<uint32_t>(node.inputs.size()));
    node.num_outputs = node.op->num_outputs();
    CVM_VERIFY(expected == node.inputs.size())
        << "operator " << node.func_name << " name=" << node.name << "'s inputs length invalid "
        << node.inputs.size() << " vs. " << expected;
  }

  uint64_t num_entries = 0;
  std::vector<uint32_t> row_ptr, inputs;
  for (uint32_t i = 0; i < num_nodes; ++i) {
    if (g.nodes[i].is_variable()) inputs.push_back(i);
    row_ptr.push_back(static_cast<uint32_t>(num_entries));
    num_entries += g.nodes[i].num_outputs;
    CVM_VERIFY(num_entries <= std::numeric_limits<uint32_t>::max()) << "too many node entries";
  }
  row_ptr.push_back(static_cast<uint32_t>(num_entries));

  CVM_VERIFY(num_entries == g.storage_id.size())
      << "graph attribute storage_id size: " << g.storage_id.size() << ", Expected "
      << num_entries;
  std::unordered_map<int, uint32_t> pool_of_sid;
  g.pool.clear();
  for (int sid : g.storage_id) {
    CVM_VERIFY(sid >= 0) << "storage id should not less than 0, but " << sid;
    auto it = pool_of_sid.emplace(sid, static_cast<uint32_t>(pool_of_sid.size())).first;
    g.pool.push_back(it->second);
  }

  // Outputs may share storage with inputs only for in-place operators. The
  // reference checks this through the declared node_row_ptr.
  for (size_t nid = 0; nid < num_nodes; ++nid) {
    const GraphNode& node = g.nodes[nid];
    if (node.is_variable() || node.op->in_place_allowed()) continue;
    for (uint32_t oi = 0; oi < node.num_outputs; ++oi) {
      uint32_t node_eid = checked_entry(g.node_row_ptr, EntryRef{uint32_t(nid), oi, 0}, num_entries);
      for (const EntryRef& e : node.inputs) {
        uint32_t eid = checked_entry(g.node_row_ptr, e, num_entries);
        CVM_VERIFY(g.storage_id[node_eid] != g.storage_id[eid])
            << "operator " << node.func_name << " input: (" << e.node_id << ", " << e.index
            << ") output: (" << nid << ", " << oi << ") used same storage_id "
            << g.storage_id[eid];
      }
    }
  }

  CVM_VERIFY(num_entries == raw.num_shapes())
      << "graph attribute shape size: " << raw.num_shapes() << ", Expected " << num_entries;
  g.shapes.clear();
  g.shapes.reserve(raw.num_shapes());
  for (size_t i = 0; i < raw.num_shapes(); ++i) {
    size_t ndim = raw.shape_begin[i + 1] - raw.shape_begin[i];
    CVM_VERIFY(ndim > 0 && ndim <= size_t(kMaxNdim))
        << "shape ndim should between (0, 6], but " << ndim;
    const int32_t* dims = raw.shape_dims.data() + raw.shape_begin[i];
    uint64_t size = 1;
    for (size_t k = 0; k < ndim; ++k) {
      int64_t d = dims[k];
      CVM_VERIFY(d > 0)
          << "single dimension should between (0, " << kMaxDim << "], but " << raw.first_bad_dim;
      size *= static_cast<uint64_t>(d);
      CVM_VERIFY(size <= kMaxShapeSize)
          << "shape size should not greater than " << kMaxShapeSize << ", but " << size;
    }
    g.shapes.emplace_back(dims, dims + ndim);
  }

  CVM_VERIFY(num_entries == g.precision.size())
      << "graph attribute precision size: " << g.precision.size() << ", Expected "
      << num_entries;
  for (int prec : g.precision) {
    CVM_VERIFY(prec == -1 || (prec > 0 && prec <= 32))
        << "precision should be -1 or between (0, 32], but " << prec;
  }

  CVM_VERIFY(raw.device_index_count == 0) << "attribute device_index must be set empty";

  if (g.version == "cvm_1.0.0") {
    CVM_VERIFY(num_entries == raw.dltype_count)
        << "graph attribute dltype size: " << raw.dltype_count << ", Expected " << num_entries;
    CVM_VERIFY(!raw.dltype_unsupported_seen)
        << "type " << raw.dltype_unsupported << " are not supported";
    CVM_VERIFY(g.node_row_ptr == row_ptr) << "node_row_ptr is invalid";
    CVM_VERIFY(g.arg_nodes == inputs) << "arg_nodes is invalid";
  } else if (g.version == "cvm_1.1.0") {
    g.node_row_ptr = row_ptr;
    g.arg_nodes = inputs;
  } else {
    CVM_RUNTIME_ERROR() << "graph version " << g.version << " not supported";
  }

  // Topological order: every input entry precedes the node's first entry.
  // Ids wrap as in the reference, so an index past a node's outputs names a
  // later entry of the graph.
  for (uint32_t i = 0; i < num_nodes; ++i) {
    uint32_t eid = g.entry_id(i, 0);
    for (const EntryRef& e : g.nodes[i].inputs) {
      CVM_VERIFY(e.node_id < num_nodes && g.entry_id(e) < eid)
          << "the graph does not follow the topological order.";
    }
  }
  // Heads: the reference does not check them and reads out of bounds.
  for (const EntryRef& e : g.heads) {
    CVM_VERIFY(e.node_id < num_nodes && g.entry_id(e) < num_entries)
        << "graph head (" << e.node_id << ", " << e.index << ") out of range";
  }
}

// --- inference (the reference's CheckAttr) ---------------------------------

void infer_shapes(const Graph& g) {
  std::vector<Shape> in, out;
  for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
    const GraphNode& node = g.nodes[nid];
    if (node.is_variable()) continue;
    in.clear();
    for (const EntryRef& e : node.inputs) in.push_back(g.shapes[g.entry_id(e)]);
    out.assign(node.num_outputs, Shape());
    node.op->infer_shape(in, out);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const Shape& declared = g.shapes[g.entry_id(node.inputs[i])];
      CVM_VERIFY(in[i] == declared)
          << "Check input shape failed, expected to be " << shape_string(in[i]) << " but "
          << shape_string(declared) << " (" << node.name << ")";
    }
    CVM_CHECK(out.size() == node.num_outputs) << "operator " << node.name << " output count";
    for (uint32_t i = 0; i < node.num_outputs; ++i) {
      const Shape& declared = g.shapes[g.entry_id(nid, i)];
      CVM_VERIFY(out[i] == declared)
          << "Check output shape failed, expected to be " << shape_string(out[i]) << " but "
          << shape_string(declared) << " (" << node.name << ")";
    }
  }
}

void infer_precisions(Graph& g) {
  std::vector<Shape> shapes;
  std::vector<int> in, out;
  for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
    const GraphNode& node = g.nodes[nid];
    if (node.is_variable()) {
      CVM_VERIFY(g.precision[g.entry_id(nid, 0)] != -1)
          << "variable node " << node.name << "'s precision has not been set";
      continue;
    }
    shapes.clear();
    in.clear();
    out.clear();
    for (const EntryRef& e : node.inputs) {
      shapes.push_back(g.shapes[g.entry_id(e)]);
      in.push_back(g.precision[g.entry_id(e)]);
    }
    for (uint32_t i = 0; i < node.num_outputs; ++i) {
      shapes.push_back(g.shapes[g.entry_id(nid, i)]);
      out.push_back(g.precision[g.entry_id(nid, i)]);
    }
    node.op->infer_precision(shapes, in, out);
    CVM_CHECK(out.size() == node.num_outputs) << "operator " << node.name << " output count";
    for (uint32_t i = 0; i < node.num_outputs; ++i) {
      g.precision[g.entry_id(nid, i)] = out[i];
      CVM_VERIFY(out[i] > 0 && out[i] <= 32)
          << "node " << node.name << " output " << i << " precision " << out[i]
          << " out of (0, 32]";
    }
  }
}

}  // namespace

Graph load_graph(const std::string& json_text) {
  RawGraph raw = parse_json(json_text);
  prepare(raw);
  infer_shapes(raw.graph);
  infer_precisions(raw.graph);
  return std::move(raw.graph);
}

int64_t graph_gas(const Graph& g) {
  constexpr int64_t kMaxBaseOps = int64_t(1) << 30;
  constexpr int64_t kMaxOps = int64_t(1) << 40;
  constexpr int64_t kMaxMemory = int64_t(1) << 40;
  int64_t ops = 0, mem_cost = 0;
  std::vector<Shape> in, out;
  for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
    const GraphNode& node = g.nodes[nid];
    if (node.is_variable()) {
      mem_cost += shape_size(g.shapes[g.entry_id(nid, 0)]) * 5;
    } else {
      in.clear();
      out.clear();
      for (const EntryRef& e : node.inputs) in.push_back(g.shapes[g.entry_id(e)]);
      for (uint32_t i = 0; i < node.num_outputs; ++i) out.push_back(g.shapes[g.entry_id(nid, i)]);
      int64_t base_ops = node.op->gas_per_output(in, out);
      CVM_VERIFY(base_ops <= kMaxBaseOps)
          << "single ops foreach output should not greater than 1G, but " << base_ops;
      ops += base_ops * shape_size(out[0]);
      CVM_VERIFY(ops <= kMaxOps) << "graph ops exceed MAX_OPS " << kMaxOps;
      int64_t mem_size = 0;
      for (const Shape& s : out) mem_size += shape_size(s);
      mem_cost += mem_size * 5;
    }
    CVM_VERIFY(mem_cost <= kMaxMemory) << "graph memory cost exceed MAX_MEMORY " << kMaxMemory;
  }
  return ops + mem_cost;
}

std::vector<uint64_t> storage_pool_bytes(const Graph& g) {
  std::vector<uint64_t> pools;
  for (size_t i = 0; i < g.pool.size(); ++i) {
    size_t p = g.pool[i];
    uint64_t bytes = 4 * static_cast<uint64_t>(shape_size(g.shapes[i]));
    if (p >= pools.size()) pools.resize(p + 1, 0);
    pools[p] = std::max(pools[p], bytes);
  }
  return pools;
}

int64_t storage_size(const std::vector<uint64_t>& pool_bytes) {
  constexpr int64_t kMaxStorage = int64_t(1) << 32;
  int64_t total = 0;
  for (uint64_t bytes : pool_bytes) {
    total += static_cast<int64_t>((bytes + 3) / 4 * 4);
    CVM_VERIFY(total <= kMaxStorage) << "storage size exceed MAX_STORAGE " << kMaxStorage;
  }
  return total;
}

}  // namespace cvm
