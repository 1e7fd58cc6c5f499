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
#include "runtime/plan/pointwise_table.h"
#include "runtime/plan/step_support.h"

namespace cvm {
namespace planning {

// steps/plain.cc
std::unique_ptr<Step> make_plain_step(const GraphNode& node, uint32_t nid);

// steps/chain.cc
std::unique_ptr<Step> make_chain_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                      int64_t source_eid, ChainPlan chain, const Shape& shape);

// A 1 x 1 depthwise step (a BatchNorm after a concatenation, as the
// quantizer writes it) whose output only a matrix-product convolution reads:
// the convolution computes those values on the way in, as it packs its data
// from the step's input, and the step's output is not written when the
// timeline lets it go (else the step runs first, as alone).
struct PointwisePrologue {
  std::unique_ptr<Step> step;  // the depthwise step (kind "depthwise", pointwise)
  int64_t x = kNoEntry, w = kNoEntry, bias = kNoEntry;
  ChainPlan chain;  // its chain as matched (every write in place)
  PointwiseTable table;  // its values by input byte, or null
};

// The stage number, in the convolution step, of the prologue step's
// candidate write `stage` (-1 its source's, else its chain stage's): below
// -1, apart from the convolution's own.
inline int prologue_stage(int stage) { return -3 - stage; }

// steps/conv2d_gemm.cc. With `prologue` (its step set), x_eid is that step's
// output; the matcher lists the step's accesses first, its candidate writes
// renumbered by prologue_stage, and no read of x_eid (the convolution reads
// the step's input).
std::unique_ptr<Step> make_conv2d_gemm_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                            const ConvShape& g, int64_t x_eid, int64_t bias_eid,
                                            const ParamView& weight, ChainPlan chain,
                                            bool pack_first, PointwisePrologue prologue = {});

// steps/conv2d_depthwise.cc
std::unique_ptr<Step> make_conv2d_depthwise_step(std::vector<uint32_t> nodes,
                                                 const kernels::Table* t, const ConvShape& g,
                                                 int64_t x_eid, int64_t w_eid, int64_t bias_eid,
                                                 ChainPlan chain, bool copy_first,
                                                 const ParamView* weight,
                                                 PointwiseTable table = nullptr);

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
