// Builds small CVM models in memory (graph JSON + params blob), for tests and
// benchmarks. Every entry gets its own storage unless set_storage() says
// otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "graph/params.h"

namespace cvm {
namespace tools {

class ModelBuilder {
 public:
  // The input variable "data".
  int data(const std::vector<int64_t>& shape, int precision) {
    return add("null", "data", "", {}, {}, shape, precision);
  }
  // A parameter variable with its values (stored int8 when precision <= 8).
  int param(const std::string& name, const std::vector<int64_t>& shape, int precision,
            std::vector<int32_t> values) {
    int nid = add("null", name, "", {}, {}, shape, precision);
    ParamArray a;
    a.name = name;
    a.device_type = 1;
    a.dtype_code = 0;
    a.dtype_bits = precision <= 8 ? 8 : 32;
    a.dtype_lanes = 1;
    a.shape = shape;
    a.values = std::move(values);
    params_.push_back(a);
    int8_.push_back(precision <= 8);
    return nid;
  }
  // An operator node; `shape` is its output's declared shape.
  int op(const std::string& func, const std::map<std::string, std::string>& attrs,
         const std::vector<int>& inputs, const std::vector<int64_t>& shape) {
    return add("cvm_op", func + "_" + std::to_string(nodes_.size()), func, attrs, inputs, shape,
               -1);
  }
  void set_storage(int nid, int sid) { nodes_[nid].storage = sid; }
  void set_heads(const std::vector<int>& heads) { heads_ = heads; }
  int storage(int nid) const { return nodes_[nid].storage; }
  // The operator of node nid (empty for data and parameters).
  const std::string& op_name(int nid) const { return nodes_[nid].func; }
  const std::string& node_name(int nid) const { return nodes_[nid].name; }
  int node_count() const { return static_cast<int>(nodes_.size()); }

  std::string json() const {
    std::ostringstream j;
    j << "{\"nodes\": [";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      j << (i ? ", " : "") << "{\"op\": \"" << n.op << "\", \"name\": \"" << n.name << "\"";
      if (n.op != "null") {
        j << ", \"attrs\": {\"func_name\": \"" << n.func << "\", \"num_inputs\": \""
          << n.inputs.size() << "\", \"num_outputs\": \"1\", \"flatten_data\": \"0\"}";
      }
      j << ", \"inputs\": [";
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        j << (k ? ", " : "") << "[" << n.inputs[k] << ", 0, 0]";
      }
      j << "]}";
    }
    j << "], \"arg_nodes\": [";
    bool first = true;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].op != "null") continue;
      j << (first ? "" : ", ") << i;
      first = false;
    }
    j << "], \"node_row_ptr\": [";
    for (size_t i = 0; i <= nodes_.size(); ++i) j << (i ? ", " : "") << i;
    j << "], \"heads\": [";
    std::vector<int> heads = heads_;
    if (heads.empty()) heads.push_back(static_cast<int>(nodes_.size()) - 1);
    for (size_t i = 0; i < heads.size(); ++i) j << (i ? ", " : "") << "[" << heads[i] << ", 0, 0]";
    j << "], \"attrs\": {\"op_attrs\": [\"list_str\", [";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      j << (i ? ", " : "") << "\"{";
      bool f = true;
      for (const auto& kv : nodes_[i].attrs) {
        j << (f ? "" : ", ") << "\\\"" << kv.first << "\\\": \\\"" << kv.second << "\\\"";
        f = false;
      }
      j << "}\"";
    }
    j << "]], \"dltype\": [\"list_str\", [";
    for (size_t i = 0; i < nodes_.size(); ++i) j << (i ? ", " : "") << "\"int32\"";
    j << "]], \"precision\": [\"list_int\", [";
    for (size_t i = 0; i < nodes_.size(); ++i) j << (i ? ", " : "") << nodes_[i].precision;
    j << "]], \"storage_id\": [\"list_int\", [";
    for (size_t i = 0; i < nodes_.size(); ++i) j << (i ? ", " : "") << nodes_[i].storage;
    j << "]], \"shape\": [\"list_shape\", [";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      j << (i ? ", " : "") << "[";
      for (size_t k = 0; k < nodes_[i].shape.size(); ++k) {
        j << (k ? ", " : "") << nodes_[i].shape[k];
      }
      j << "]";
    }
    j << "]]}, \"version\": \"cvm_1.0.0\"}";
    return j.str();
  }

  std::string params() const { return save_params(params_, int8_); }

 private:
  struct Node {
    std::string op, name, func;
    std::map<std::string, std::string> attrs;
    std::vector<int> inputs;
    std::vector<int64_t> shape;
    int precision = -1;
    int storage = 0;
  };
  int add(const std::string& op, const std::string& name, const std::string& func,
          const std::map<std::string, std::string>& attrs, const std::vector<int>& inputs,
          const std::vector<int64_t>& shape, int precision) {
    Node n{op, name, func, attrs, inputs, shape, precision, static_cast<int>(nodes_.size())};
    nodes_.push_back(n);
    return static_cast<int>(nodes_.size()) - 1;
  }

  std::vector<Node> nodes_;
  std::vector<int> heads_;
  std::vector<ParamArray> params_;
  std::vector<bool> int8_;
};

// Random values in [-bound, bound].
inline std::vector<int32_t> random_values(std::mt19937& rng, int64_t n, int32_t bound) {
  std::uniform_int_distribution<int32_t> d(-bound, bound);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::string shape_attr(int64_t a, int64_t b) {
  return "(" + std::to_string(a) + ", " + std::to_string(b) + ")";
}

// data -> conv2d (+ bias) -> cvm_right_shift -> relu, the layer of the
// networks; returns the builder.
inline ModelBuilder conv_layer(std::mt19937& rng, int64_t n, int64_t c, int64_t h, int64_t w,
                               int64_t o, int64_t k, int64_t stride, int64_t pad,
                               int64_t groups = 1, bool epilogue = true) {
  ModelBuilder b;
  int x = b.data({n, c, h, w}, 8);
  const int64_t ic = c / groups;
  int wt = b.param("w", {o, ic, k, k}, 8, random_values(rng, o * ic * k * k, 127));
  int bias = b.param("b", {o}, 16, random_values(rng, o, 20000));
  const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  int y = b.op("conv2d",
               {{"channels", std::to_string(o)}, {"kernel_size", shape_attr(k, k)},
                {"strides", shape_attr(stride, stride)}, {"padding", shape_attr(pad, pad)},
                {"groups", std::to_string(groups)}, {"use_bias", "True"}},
               {x, wt, bias}, {n, o, oh, ow});
  if (epilogue) {
    // The storage plan of a network: the in-place shift and relu reuse the
    // convolution's storage.
    int s = b.op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "12"}}, {y}, {n, o, oh, ow});
    int r = b.op("relu", {}, {s}, {n, o, oh, ow});
    b.set_storage(s, b.storage(y));
    b.set_storage(r, b.storage(y));
  }
  return b;
}

}  // namespace tools
}  // namespace cvm
