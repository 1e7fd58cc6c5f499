// The step kinds of a plan, each behind a factory (runtime/plan/steps/, one
// file per kind). The planner's match pass decides which to build.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel_table.h"
#include "runtime/plan.h"
#include "runtime/plan/conv_geometry.h"
#include "runtime/plan/step_support.h"

namespace cvm {
namespace planning {

// steps/plain.cc
std::unique_ptr<Step> make_plain_step(const GraphNode& node, uint32_t nid);

// steps/chain.cc
std::unique_ptr<Step> make_chain_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                      int64_t source_eid, ChainPlan chain, const Shape& shape);

// steps/conv2d_gemm.cc
std::unique_ptr<Step> make_conv2d_gemm_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                            const ConvShape& g, int64_t x_eid, int64_t bias_eid,
                                            const ParamView& weight, ChainPlan chain,
                                            bool pack_first);

// steps/conv2d_depthwise.cc
std::unique_ptr<Step> make_conv2d_depthwise_step(std::vector<uint32_t> nodes,
                                                 const kernels::Table* t, const ConvShape& g,
                                                 int64_t x_eid, int64_t w_eid, int64_t bias_eid,
                                                 ChainPlan chain, bool copy_first,
                                                 const ParamView* weight);

// steps/dense.cc
std::unique_ptr<Step> make_dense_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                      int64_t rows, int64_t depth, int64_t units, int64_t x_eid,
                                      int64_t bias_eid, const ParamView& weight, ChainPlan chain);
// Whether dense can use the packed int8 weights (every weight fits int8).
bool dense_weights_fit(const ParamView& weight);

// steps/max_pool2d.cc
std::unique_ptr<Step> make_max_pool2d_step(uint32_t nid, const kernels::Table* t,
                                           const ConvShape& g, int64_t x_eid, int64_t y_eid);

// One copy of a concatenate step: `len` values of input `input` from its
// flat index `from` to the output's flat index `to`.
struct ConcatPiece {
  size_t input;
  int64_t from, to, len;
};
// steps/concatenate.cc
std::unique_ptr<Step> make_concatenate_step(uint32_t nid, std::vector<int64_t> inputs, int64_t out,
                                            std::vector<ConcatPiece> pieces, int64_t size);

// steps/upsampling.cc
std::unique_ptr<Step> make_upsampling_step(uint32_t nid, int64_t x, int64_t y, int64_t planes,
                                           int64_t h, int64_t w, int64_t scale);

// One term of a scaled add: entry x times the multiplier entry `mul`, whose
// value for plane (n, c) is mul[n * stride_n + c * stride_c].
struct ScaledTerm {
  int64_t x = -1, mul = -1;
  int64_t stride_n = 0, stride_c = 0;
};
// steps/scaled_add.cc: nodes = the two products (in node order, `a` the
// first one's), their sum, then the chain's nodes; `shape` 4-D.
std::unique_ptr<Step> make_scaled_add_step(std::vector<uint32_t> nodes, const Graph& g,
                                           const kernels::Table* t, ScaledTerm a, ScaledTerm b,
                                           ChainPlan chain, const Shape& shape);

// The output as a view of the input: output value at multi-index idx of
// `dims` is input value base + sum_j idx_j * steps[j] (flat indices).
// transpose, strided_slice and the flat copies (reshape, flatten, squeeze,
// expand_dims) are all such views.
struct StridedView {
  Shape dims;
  int64_t base = 0;
  std::vector<int64_t> steps;
};
// steps/strided_copy.cc: the copy of `view` of entry x (x_size values) to
// entry y, which share no storage; `kind` names the step ("transpose",
// "slice", "copy"). Null when the view reaches outside the input.
std::unique_ptr<Step> make_strided_copy_step(uint32_t nid, const char* kind, int64_t x, int64_t y,
                                             const StridedView& view, int64_t x_size);

// steps/reduce.cc
std::unique_ptr<Step> make_reduce_step(uint32_t nid, const kernels::Table* t, int64_t x_eid,
                                       int64_t y_eid, int64_t rows, int64_t inner, bool max);

}  // namespace planning
}  // namespace cvm
