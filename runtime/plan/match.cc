// Pass 1 of the planner: matches the graph's nodes, in order, to steps.
// A convolution, dense, max_pool2d, concatenate, upsampling, reduction,
// transpose, strided_slice, flat copy (reshape and the like) or
// element-wise node whose shapes the fast kernels take becomes a fast step,
// together with the element-wise nodes that follow it (a fused group, its
// chain); any other node a plain step. Each step's storage accesses are
// recorded for the timeline (runtime/plan/timeline.h).
#include "runtime/plan/match.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/int_math.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

class Matcher {
 public:
  Matcher(const Graph& g, const kernels::Table* t, const ParamStore& params)
      : graph_(g), t_(t), params_(params) {
    // Which storage ids nodes write, and how many entries use each.
    for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
      const GraphNode& node = g.nodes[nid];
      for (uint32_t i = 0; i < node.num_outputs; ++i) {
        const int sid = static_cast<int>(g.pool[g.entry_id(nid, i)]);
        users_[sid]++;
        if (!node.is_variable() || node.is_data()) written_[sid] = true;
      }
      for (const EntryRef& e : node.inputs) readers_[g.entry_id(e)]++;
      if (node.is_variable() && !node.is_data()) variables_[g.entry_id(nid, 0)] = nid;
    }
    for (const EntryRef& e : g.heads) readers_[g.entry_id(e)]++;
    for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
      if (!g.nodes[nid].is_variable()) order_.push_back(nid);
    }
  }


  // Matches the nodes in order: each step takes the nodes its pattern
  // covers, or one node as a plain step.
  MatchResult run() {
    MatchResult result;
    result_ = &result;
    for (size_t i = 0; i < order_.size();) {
      std::vector<Access> acc;
      size_t used = 0;
      std::unique_ptr<Step> step;
      if (t_) step = try_fast(i, &used, &acc);
      if (!step) {
        acc.clear();
        const uint32_t nid = order_[i];
        step = make_plain_step(graph_.nodes[nid], nid);
        plain_accesses(nid, &acc);
        used = 1;
      }
      // The weights it packed are not read again (a mapped blob's pages go).
      params_.release_found();
      for (Access& a : acc) a.step = result.steps.size();
      result.steps.push_back(std::move(step));
      result.accesses.push_back(std::move(acc));
      i += used;
    }
    result.packed = std::move(packed_);
    result_ = nullptr;
    return result;
  }

 private:
  int64_t eid(const EntryRef& e) const { return graph_.entry_id(e); }
  int sid(int64_t e) const { return static_cast<int>(graph_.pool[static_cast<size_t>(e)]); }
  const Shape& shape(int64_t e) const { return graph_.shapes[static_cast<size_t>(e)]; }

  void plain_accesses(uint32_t nid, std::vector<Access>* acc) const {
    const GraphNode& node = graph_.nodes[nid];
    for (const EntryRef& e : node.inputs) acc->push_back({eid(e), Access::kRead, -1});
    const Access::Type w = node.op->writes_whole_output() ? Access::kWriteWhole : Access::kWrite;
    for (uint32_t i = 0; i < node.num_outputs; ++i) {
      acc->push_back({graph_.entry_id(nid, i), w, -1});
    }
  }

  // A parameter whose pool holds nothing else and that nothing writes: its
  // values are fixed from load on.
  bool constant_param(const EntryRef& e, ParamView* v) const {
    const GraphNode& node = graph_.nodes[e.node_id];
    if (!node.is_variable() || node.is_data() || e.index != 0) return false;
    const int s = sid(eid(e));
    if (written_.count(s) || users_.at(s) != 1) return false;
    return params_.find(e.node_id, v) && v->count == shape_size(shape(eid(e)));
  }

  // The values of entry e when it is a constant parameter.
  bool constant_entry(int64_t e, std::vector<int32_t>* values) const {
    auto it = variables_.find(e);
    ParamView v;
    if (it == variables_.end() || !constant_param(EntryRef{it->second, 0, 0}, &v)) return false;
    values->resize(static_cast<size_t>(v.count));
    v.read(0, v.count, values->data());
    return true;
  }

  // Extends a group from its source: the element-wise nodes that follow.
  // `readonly` holds storages that the group must not write (read at many
  // indices); `link` is the entry carrying the running value.
  void extend_chain(size_t next, int64_t link, bool planes_allowed, std::set<int>* readonly,
                    std::set<int>* written, ChainPlan* chain, std::vector<uint32_t>* nodes,
                    std::vector<Access>* acc, size_t* used) {
    const Shape link_shape = shape(link);
    for (size_t j = next; j < order_.size(); ++j) {
      if (chain->stages.size() >= static_cast<size_t>(kernels::kMaxStages)) break;
      const uint32_t nid = order_[j];
      // A scaled add is a step of its own (unless it starts this one: a
      // chain step after the scaled add step declined).
      if ((j != next || !nodes->empty()) && scaled_add_shape(j, nullptr, nullptr)) break;
      StagePlan st;
      int64_t operand = kNoEntry;
      if (!stage_for(nid, link, link_shape, planes_allowed, &st, &operand)) break;
      const int64_t out = graph_.entry_id(nid, 0);
      if (readonly->count(sid(out))) break;
      if (st.proto.mode == OperandMode::kPlane &&
          st.proto.op == StageOp::kBinary) {
        if (written->count(sid(operand)) || sid(operand) == sid(out)) break;
        readonly->insert(sid(operand));
      }
      written->insert(sid(out));
      if (operand != kNoEntry) {
        acc->push_back({operand, Access::kRead, -1, static_cast<int>(chain->stages.size())});
      }
      st.operand_eid = operand;
      st.write_eid = out;
      acc->push_back({out, Access::kWriteWhole, 0, static_cast<int>(chain->stages.size())});
      chain->stages.push_back(st);
      chain->final_eid = out;
      nodes->push_back(nid);
      ++*used;
      link = out;
    }
    trim_to_pattern(chain, nodes, acc, used);
  }

  // The chain's pattern when it is cut to its first `len` stages (and only
  // the last value stored).
  static kernels::Chain pattern_of(const ChainPlan& chain, size_t len) {
    ChainPlan cut;
    cut.stages.assign(chain.stages.begin(), chain.stages.begin() + static_cast<long>(len));
    cut.final_eid = chain.final_eid;
    return cut.final_only().shape_only();
  }

  // A chain without a pattern runs stage by stage and keeps its values
  // int32. When a shorter one has a pattern that bounds them to int8 (a
  // requantisation followed by the scaling of a residual add, say), the
  // group ends there and the nodes after it start the next step.
  static void trim_to_pattern(ChainPlan* chain, std::vector<uint32_t>* nodes,
                              std::vector<Access>* acc, size_t* used) {
    const size_t n = chain->stages.size();
    if (n < 2 || pattern_of(*chain, n).pattern != kernels::Pattern::kGeneric) return;
    for (size_t len = n - 1; len >= 1; --len) {
      if (!pattern_of(*chain, len).int8_values()) continue;
      chain->stages.resize(len);
      chain->final_eid = chain->stages.back().write_eid;
      nodes->resize(nodes->size() - (n - len));
      acc->erase(std::remove_if(acc->begin(), acc->end(),
                                [&](const Access& a) { return a.stage >= static_cast<int>(len); }),
                 acc->end());
      *used -= n - len;
      return;
    }
  }

  // The stage node `nid` is when it continues a chain whose value is entry
  // `link`.
  bool stage_for(uint32_t nid, int64_t link, const Shape& link_shape, bool planes_allowed,
                 StagePlan* st, int64_t* operand) const {
    const GraphNode& node = graph_.nodes[nid];
    if (node.num_outputs != 1) return false;
    const int64_t out = graph_.entry_id(nid, 0);
    if (shape(out) != link_shape) return false;
    const KernelInfo k = node.op->kernel_info();
    kernels::Stage& s = st->proto;
    switch (k.kind) {
      case KernelInfo::Kind::kClamp:
        if (node.inputs.size() != 1 || eid(node.inputs[0]) != link) return false;
        s.op = StageOp::kClamp;
        s.lo = static_cast<int32_t>(k.clamp_lo);
        s.hi = static_cast<int32_t>(k.clamp_hi);
        return true;
      case KernelInfo::Kind::kRightShift: {
        if (node.inputs.size() != 1 || eid(node.inputs[0]) != link) return false;
        const int shift = k.shift_bit;
        const RightShiftRule rule = right_shift_rule(k.precision, shift);
        s.shift = shift;
        s.hi = rule.hi;
        switch (rule.kind) {
          case RightShiftRule::Kind::kZero: s.op = StageOp::kZero; break;
          case RightShiftRule::Kind::kSignOnly: s.op = StageOp::kShift31; break;
          case RightShiftRule::Kind::kRound: s.op = StageOp::kShiftRound; break;
          case RightShiftRule::Kind::kSaturate:
            s.op = StageOp::kShiftSat;
            s.x_lo = rule.x_lo;
            s.x_hi = rule.x_hi;
            break;
        }
        return true;
      }
      case KernelInfo::Kind::kBinary: {
        if (node.inputs.size() != 2) return false;
        const int64_t a = eid(node.inputs[0]), b = eid(node.inputs[1]);
        if ((a == link) == (b == link)) return false;  // neither, or both
        const bool link_first = a == link;
        *operand = link_first ? b : a;
        s.op = StageOp::kBinary;
        switch (k.binary) {
          case KernelInfo::Binary::kAdd: s.bin = BinOp::kAdd; break;
          case KernelInfo::Binary::kSub: s.bin = link_first ? BinOp::kSub : BinOp::kRSub; break;
          case KernelInfo::Binary::kMul: s.bin = BinOp::kMul; break;
          case KernelInfo::Binary::kMax: s.bin = BinOp::kMax; break;
        }
        const Shape& os = shape(*operand);
        if (os == link_shape) {
          s.mode = OperandMode::kSame;
          return true;
        }
        if (!k.broadcast || !planes_allowed || link_shape.size() != 4 || os.size() > 4)
          return false;
        Shape s4(4 - os.size(), 1);
        s4.insert(s4.end(), os.begin(), os.end());
        if (s4[2] != 1 || s4[3] != 1) return false;
        if (s4[1] != 1 && s4[1] != link_shape[1]) return false;
        if (s4[0] != 1 && s4[0] != link_shape[0]) return false;
        s.mode = OperandMode::kPlane;
        s.stride_n = s4[0] == 1 ? 0 : s4[1];
        s.stride_c = s4[1] == 1 ? 0 : 1;
        return true;
      }
      default:
        return false;
    }
  }

  std::unique_ptr<Step> try_fast(size_t i, size_t* used, std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = graph_.nodes[nid];
    const KernelInfo k = node.op->kernel_info();
    if (node.num_outputs != 1) return nullptr;
    const int64_t out = graph_.entry_id(nid, 0);
    switch (k.kind) {
      case KernelInfo::Kind::kConv2d: return try_conv(i, k, out, used, acc);
      case KernelInfo::Kind::kDense: return try_dense(i, k, out, used, acc);
      case KernelInfo::Kind::kMaxPool2d: return try_max_pool(nid, k, out, used, acc);
      case KernelInfo::Kind::kReduce: return try_reduce(nid, k, out, used, acc);
      case KernelInfo::Kind::kConcat: return try_concat(nid, k, out, used, acc);
      case KernelInfo::Kind::kUpsampling: return try_upsampling(nid, k, out, used, acc);
      case KernelInfo::Kind::kTranspose: return try_transpose(nid, k, out, used, acc);
      case KernelInfo::Kind::kStridedSlice: return try_strided_slice(nid, k, out, used, acc);
      case KernelInfo::Kind::kCopy: return try_flat_copy(nid, out, used, acc);
      case KernelInfo::Kind::kBinary:
        if (auto step = try_scaled_add(i, used, acc)) return step;
        acc->clear();
        return try_chain(i, out, used, acc);
      case KernelInfo::Kind::kClamp:
      case KernelInfo::Kind::kRightShift: return try_chain(i, out, used, acc);
      default: return nullptr;
    }
  }

  std::unique_ptr<Step> try_conv(size_t i, const KernelInfo& k, int64_t out, size_t* used,
                                 std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = graph_.nodes[nid];
    const Shape& xs = shape(eid(node.inputs[0]));
    const Shape& ws = shape(eid(node.inputs[1]));
    const Shape& ys = shape(out);
    if (xs.size() != 4 || ws.size() != 4 || ys.size() != 4) return nullptr;
    ConvShape g;
    g.n = xs[0]; g.c = xs[1]; g.h = xs[2]; g.w = xs[3];
    g.o = ws[0]; g.fh = ws[2]; g.fw = ws[3];
    g.sh = k.strides[0]; g.sw = k.strides[1];
    g.ph = k.padding[0]; g.pw = k.padding[1];
    g.dh = k.dilation[0]; g.dw = k.dilation[1];
    g.oh = (g.h + 2 * g.ph - ((g.fh - 1) * g.dh + 1)) / g.sh + 1;
    g.ow = (g.w + 2 * g.pw - ((g.fw - 1) * g.dw + 1)) / g.sw + 1;
    if (ys != Shape{g.n, g.o, g.oh, g.ow}) return nullptr;
    // Keep the scratch memory of the fast kernels (packed data per thread,
    // tiles) modest; larger convolutions run plain.
    const int64_t padded = (g.h + 2 * g.ph) * (g.w + 2 * g.pw);
    if (padded > (int64_t(1) << 22) || g.c * padded > (int64_t(1) << 26) ||
        g.n * g.c * padded > (int64_t(1) << 27) || g.o > (int64_t(1) << 16) ||
        g.c * g.fh * g.fw > (int64_t(1) << 20)) {
      return nullptr;
    }

    const bool depthwise = k.groups > 1 && k.groups == g.c && g.o == g.c && ws[1] == 1;
    if (k.groups != 1 && !depthwise) return nullptr;
    if (k.groups == 1 && ws[1] != g.c) return nullptr;

    std::set<int> readonly, written;
    for (const EntryRef& e : node.inputs) {
      readonly.insert(sid(eid(e)));
      acc->push_back({eid(e), Access::kRead, -1});
    }
    acc->front().data = true;
    if (readonly.count(sid(out))) return nullptr;
    written.insert(sid(out));
    ParamView weight;
    if (!depthwise && !constant_param(node.inputs[1], &weight)) return nullptr;
    const int64_t bias = k.use_bias ? eid(node.inputs[2]) : kNoEntry;
    if (bias != kNoEntry && shape_size(shape(bias)) < g.o) return nullptr;

    ChainPlan chain;
    chain.source_write_eid = out;
    chain.final_eid = out;
    acc->push_back({out, Access::kWriteWhole, 0});
    std::vector<uint32_t> nodes{nid};
    *used = 1;
    // The matrix-product kernel copies the bias before it writes anything,
    // packs the data first when the group writes where it is (see
    // ConvGemmStep), and nothing writes a pre-packed weight: the nodes after
    // the convolution may write where its inputs were.
    if (!depthwise) readonly.clear();
    // Depthwise planes of the output the size of the input's: output plane
    // i covers exactly input plane i, which the kernel copies before writing
    // plane i (the phase path), so the group may write where the data is.
    const int64_t xsid = sid(eid(node.inputs[0]));
    bool x_writable = false;
    if (depthwise && g.oh * g.ow == g.h * g.w && xsid != sid(eid(node.inputs[1])) &&
        !(k.use_bias && xsid == sid(eid(node.inputs[2])))) {
      readonly.erase(static_cast<int>(xsid));
      x_writable = true;
    }
    extend_chain(i + 1, out, true, &readonly, &written, &chain, &nodes, acc, used);
    const int64_t x = eid(node.inputs[0]);
    if (!depthwise) packed_[eid(node.inputs[1])].insert(nid);
    if (depthwise) {
      ParamView dw_weight;
      const bool constant = constant_param(node.inputs[1], &dw_weight) &&
                            dw_weight.count >= g.c * g.fh * g.fw;
      const bool copy_first = x_writable && written.count(xsid);
      const bool pointwise = g.pointwise();
      // Pointwise on planes of 128 values or more (the table, 256 bytes a
      // channel, at most twice the data): its values by input byte.
      PointwiseTable table;
      ParamView bias_view;
      if (pointwise && constant && g.h * g.w >= 128 &&
          (bias == kNoEntry || constant_param(node.inputs[2], &bias_view))) {
        auto constant_values = [&](int64_t e, std::vector<int32_t>* v) {
          return constant_entry(e, v);
        };
        table = pointwise_table(t_, chain, g.c, dw_weight, bias == kNoEntry ? nullptr : &bias_view,
                                constant_values);
      }
      // One that keeps off its data's storage may become the prologue of
      // the convolution after it.
      if (pointwise && !copy_first && !written.count(xsid)) {
        last_pointwise_ = {result_->steps.size(), x, eid(node.inputs[1]), bias, chain, table};
      }
      return make_conv2d_depthwise_step(nodes, t_, g, x, eid(node.inputs[1]), bias,
                                        std::move(chain), copy_first,
                                        constant ? &dw_weight : nullptr, table);
    }
    if (PointwisePrologue pro = take_prologue(x, acc); pro.step) {
      const bool pack_first = written.count(sid(x)) > 0 || written.count(sid(pro.x)) > 0;
      return make_conv2d_gemm_step(nodes, t_, g, x, bias, weight, std::move(chain), pack_first,
                                   std::move(pro));
    }
    const bool pack_first = written.count(sid(x)) > 0;
    return make_conv2d_gemm_step(nodes, t_, g, x, bias, weight, std::move(chain), pack_first);
  }

  // The step just before, as the prologue of a convolution of data x (see
  // PointwisePrologue) when it is a pointwise depthwise step with a table
  // of its values (computing them on the way in costs as much as the step
  // alone) whose output x that convolution alone reads: taken out of the steps, its accesses put
  // first in `acc` (renumbered), the convolution's read of x dropped.
  PointwisePrologue take_prologue(int64_t x, std::vector<Access>* acc) {
    PointwisePrologue pro;
    const size_t last = result_->steps.size();
    if (last == 0 || last_pointwise_.step != last - 1 || last_pointwise_.chain.final_eid != x ||
        readers_[x] != 1 || !last_pointwise_.table) {
      return pro;
    }
    pro.step = std::move(result_->steps.back());
    std::vector<Access> before = std::move(result_->accesses.back());
    result_->steps.pop_back();
    result_->accesses.pop_back();
    pro.x = last_pointwise_.x;
    pro.w = last_pointwise_.w;
    pro.bias = last_pointwise_.bias;
    pro.chain = last_pointwise_.chain;
    pro.table = last_pointwise_.table;
    // Its reads' and candidates' stages apart from the convolution's.
    for (Access& a : before) {
      if (a.type == Access::kRead || a.candidate >= 0) a.stage = prologue_stage(a.stage);
    }
    acc->erase(std::remove_if(acc->begin(), acc->end(),
                              [&](const Access& a) { return a.data && a.eid == x; }),
               acc->end());
    acc->insert(acc->begin(), before.begin(), before.end());
    return pro;
  }

  std::unique_ptr<Step> try_dense(size_t i, const KernelInfo& k, int64_t out, size_t* used,
                                  std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = graph_.nodes[nid];
    const Shape& xs = shape(eid(node.inputs[0]));
    const Shape& ws = shape(eid(node.inputs[1]));
    const Shape& ys = shape(out);
    if (xs.size() != 2 || ws.size() != 2 || ys != Shape{xs[0], ws[0]} || ws[1] != xs[1]) {
      return nullptr;
    }
    ParamView weight;
    if (!constant_param(node.inputs[1], &weight) || !dense_weights_fit(weight)) return nullptr;
    std::set<int> readonly, written;
    for (const EntryRef& e : node.inputs) {
      readonly.insert(sid(eid(e)));
      acc->push_back({eid(e), Access::kRead, -1});
    }
    if (readonly.count(sid(out))) return nullptr;
    const int64_t bias = k.use_bias ? eid(node.inputs[2]) : kNoEntry;
    if (bias != kNoEntry && shape_size(shape(bias)) < ws[0]) return nullptr;
    written.insert(sid(out));
    ChainPlan chain;
    chain.source_write_eid = out;
    chain.final_eid = out;
    acc->push_back({out, Access::kWriteWhole, 0});
    std::vector<uint32_t> nodes{nid};
    *used = 1;
    extend_chain(i + 1, out, false, &readonly, &written, &chain, &nodes, acc, used);
    packed_[eid(node.inputs[1])].insert(nid);
    return make_dense_step(nodes, t_, xs[0], xs[1], ws[0], eid(node.inputs[0]), bias, weight,
                           std::move(chain));
  }

  std::unique_ptr<Step> try_max_pool(uint32_t nid, const KernelInfo& k, int64_t out,
                                     size_t* used, std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    const int64_t x = eid(node.inputs[0]);
    const Shape& xs = shape(x);
    const Shape& ys = shape(out);
    if (xs.size() != 4 || ys.size() != 4 || sid(x) == sid(out)) return nullptr;
    ConvShape g;
    g.n = xs[0]; g.c = xs[1]; g.h = xs[2]; g.w = xs[3];
    g.fh = k.pool_size[0]; g.fw = k.pool_size[1];
    g.sh = k.strides[0]; g.sw = k.strides[1];
    g.ph = k.padding[0]; g.pw = k.padding[1];
    g.oh = ys[2]; g.ow = ys[3];
    if (ys[0] != g.n || ys[1] != g.c) return nullptr;
    if (g.w + g.fw > (int64_t(1) << 24) || g.sw > 64) return nullptr;
    // Every window must see part of the plane (the kernel reads its rows).
    if (g.ph >= g.fh || g.pw >= g.fw || (g.oh - 1) * g.sh - g.ph >= g.h ||
        (g.ow - 1) * g.sw - g.pw >= g.w || g.ph < 0 || g.pw < 0) {
      return nullptr;
    }
    acc->push_back({x, Access::kRead, -1});
    acc->back().data = true;
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return make_max_pool2d_step(nid, t_, g, x, out);
  }

  // concatenate whose output shares storage with none of its inputs.
  std::unique_ptr<Step> try_concat(uint32_t nid, const KernelInfo& k, int64_t out, size_t* used,
                                   std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    const Shape& os = shape(out);
    const int64_t ndim = static_cast<int64_t>(os.size());
    const int64_t axis = k.axis >= 0 ? k.axis : ndim + k.axis;
    if (node.inputs.empty() || axis < 0 || axis >= ndim) return nullptr;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= os[static_cast<size_t>(i)];
    for (int64_t i = axis + 1; i < ndim; ++i) inner *= os[static_cast<size_t>(i)];
    const int64_t out_row = os[static_cast<size_t>(axis)] * inner;
    std::vector<int64_t> inputs;
    std::vector<ConcatPiece> pieces;
    constexpr int64_t kPiece = 1 << 14;  // values per copy at most
    int64_t offset = 0;
    for (const EntryRef& e : node.inputs) {
      const int64_t x = eid(e);
      const Shape& xs = shape(x);
      if (sid(x) == sid(out) || static_cast<int64_t>(xs.size()) != ndim) return nullptr;
      const int64_t row = xs[static_cast<size_t>(axis)] * inner;
      if (row * outer != shape_size(xs)) return nullptr;
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t b = 0; b < row; b += kPiece) {
          pieces.push_back({inputs.size(), o * row + b, o * out_row + offset + b,
                            std::min(kPiece, row - b)});
        }
      }
      offset += row;
      inputs.push_back(x);
    }
    if (offset != out_row) return nullptr;
    for (int64_t x : inputs) {
      acc->push_back({x, Access::kRead, -1});
      acc->back().data = true;
    }
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return make_concatenate_step(nid, std::move(inputs), out, std::move(pieces), shape_size(os));
  }

  // upsampling whose output shares storage with no input.
  std::unique_ptr<Step> try_upsampling(uint32_t nid, const KernelInfo& k, int64_t out,
                                       size_t* used, std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    const int64_t x = eid(node.inputs[0]);
    const Shape& xs = shape(x);
    const Shape& ys = shape(out);
    const int64_t s = k.scale;
    if (xs.size() != 4 || sid(x) == sid(out) || s < 1 ||
        ys != Shape{xs[0], xs[1], xs[2] * s, xs[3] * s}) {
      return nullptr;
    }
    acc->push_back({x, Access::kRead, -1});
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return make_upsampling_step(nid, x, out, xs[0] * xs[1], xs[2], xs[3], s);
  }

  // A reduction whose axes (resolved as the kernel does) are the last t >= 1.
  std::unique_ptr<Step> try_reduce(uint32_t nid, const KernelInfo& k, int64_t out, size_t* used,
                                   std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    const int64_t x = eid(node.inputs[0]);
    const Shape& xs = shape(x);
    const int64_t ndim = static_cast<int64_t>(xs.size());
    if (k.axes.empty() || sid(x) == sid(out)) return nullptr;
    std::vector<bool> flag(static_cast<size_t>(ndim), false);
    for (int64_t a : k.axes) {
      const int64_t d = a < 0 ? a + ndim : a;
      if (d < 0 || d >= ndim) return nullptr;
      flag[static_cast<size_t>(d)] = true;
    }
    if (k.exclude_axes) flag.flip();
    int64_t first = ndim;
    while (first > 0 && flag[static_cast<size_t>(first - 1)]) --first;
    for (int64_t d = 0; d < first; ++d) {
      if (flag[static_cast<size_t>(d)]) return nullptr;
    }
    if (first == ndim) return nullptr;  // nothing reduced
    int64_t inner = 1;
    for (int64_t d = first; d < ndim; ++d) inner *= xs[static_cast<size_t>(d)];
    const int64_t rows = shape_size(xs) / inner;
    if (shape_size(shape(out)) != rows) return nullptr;
    acc->push_back({x, Access::kRead, -1});
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return make_reduce_step(nid, t_, x, out, rows, inner, k.reduce_max);
  }

  // Node nid as x * multiplier, one multiplier value per plane of x (whose
  // shape is `os`).
  bool product(uint32_t nid, const Shape& os, ScaledTerm* term) const {
    const GraphNode& node = graph_.nodes[nid];
    const KernelInfo k = node.op->kernel_info();
    if (node.num_outputs != 1 || node.inputs.size() != 2 || k.kind != KernelInfo::Kind::kBinary ||
        k.binary != KernelInfo::Binary::kMul || shape(graph_.entry_id(nid, 0)) != os) {
      return false;
    }
    for (const EntryRef& e : node.inputs) {
      StagePlan st;
      int64_t operand = kNoEntry;
      if (shape(eid(e)) != os || !stage_for(nid, eid(e), os, true, &st, &operand) ||
          st.proto.mode != OperandMode::kPlane) {
        continue;
      }
      if (term) *term = ScaledTerm{eid(e), operand, st.proto.stride_n, st.proto.stride_c};
      return true;
    }
    return false;
  }

  // Whether nodes j, j + 1, j + 2 are the quantizer's residual add: two
  // products by per-plane multipliers, then their sum (4-D, one shape).
  bool scaled_add_shape(size_t j, ScaledTerm* a, ScaledTerm* b) const {
    if (j + 2 >= order_.size()) return false;
    const uint32_t na = order_[j], nb = order_[j + 1], ns = order_[j + 2];
    const GraphNode& sum = graph_.nodes[ns];
    const KernelInfo k = sum.op->kernel_info();
    if (sum.num_outputs != 1 || sum.inputs.size() != 2 || k.kind != KernelInfo::Kind::kBinary ||
        k.binary != KernelInfo::Binary::kAdd) {
      return false;
    }
    const int64_t pa = graph_.entry_id(na, 0), pb = graph_.entry_id(nb, 0);
    const int64_t s0 = eid(sum.inputs[0]), s1 = eid(sum.inputs[1]);
    if (!((s0 == pa && s1 == pb) || (s0 == pb && s1 == pa))) return false;
    const Shape& os = shape(graph_.entry_id(ns, 0));
    return os.size() == 4 && product(na, os, a) && product(nb, os, b);
  }

  // The scaled add (steps/scaled_add.cc) when the storage plan lets it read
  // both data and multipliers as the plain nodes would: b's data after a's
  // product is written, a's product after b's is, the multipliers all along.
  std::unique_ptr<Step> try_scaled_add(size_t i, size_t* used, std::vector<Access>* acc) {
    ScaledTerm a, b;
    if (!scaled_add_shape(i, &a, &b)) return nullptr;
    const uint32_t na = order_[i], nb = order_[i + 1], ns = order_[i + 2];
    const int64_t pa = graph_.entry_id(na, 0), pb = graph_.entry_id(nb, 0);
    const int64_t out = graph_.entry_id(ns, 0);
    if (sid(pa) == sid(b.x) || sid(pa) == sid(pb) || sid(pa) == sid(b.mul)) return nullptr;
    std::set<int> readonly{sid(a.mul), sid(b.mul)}, written{sid(pa), sid(pb), sid(out)};
    if (readonly.count(sid(out))) return nullptr;
    acc->push_back({a.x, Access::kRead, -1});
    acc->back().data = true;
    acc->push_back({a.mul, Access::kRead, -1});
    acc->push_back({b.x, Access::kRead, -1});
    acc->back().data = true;
    acc->push_back({b.mul, Access::kRead, -1});
    // The products' writes are candidates -2 and -3 (ScaledAddStep::leave_out).
    acc->push_back({pa, Access::kWriteWhole, 0, -2});
    acc->push_back({pb, Access::kWriteWhole, 0, -3});
    acc->push_back({out, Access::kWriteWhole, 0});
    ChainPlan chain;
    chain.source_write_eid = out;
    chain.final_eid = out;
    std::vector<uint32_t> nodes{na, nb, ns};
    *used = 3;
    extend_chain(i + 3, out, true, &readonly, &written, &chain, &nodes, acc, used);
    return make_scaled_add_step(std::move(nodes), graph_, t_, a, b, std::move(chain), shape(out));
  }

  // The copy of a strided view of the node's one input (in the output's
  // order), when the output shares no storage with it.
  std::unique_ptr<Step> try_strided_copy(uint32_t nid, const char* kind, int64_t out,
                                         const StridedView& view, size_t* used,
                                         std::vector<Access>* acc) {
    const int64_t x = eid(graph_.nodes[nid].inputs[0]);
    if (sid(x) == sid(out) || shape_size(view.dims) != shape_size(shape(out))) return nullptr;
    std::unique_ptr<Step> step =
        make_strided_copy_step(nid, kind, x, out, view, shape_size(shape(x)));
    if (!step) return nullptr;
    acc->push_back({x, Access::kRead, -1});
    acc->back().data = true;
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return step;
  }

  // Row-major strides of a shape.
  static std::vector<int64_t> strides_of(const Shape& s) {
    std::vector<int64_t> st(s.size(), 1);
    for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
    return st;
  }

  // transpose: output dim j walks input dim axes[j] (as the operator
  // resolves them).
  std::unique_ptr<Step> try_transpose(uint32_t nid, const KernelInfo& k, int64_t out,
                                      size_t* used, std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    if (node.inputs.size() != 1) return nullptr;
    const Shape& xs = shape(eid(node.inputs[0]));
    const Shape& ys = shape(out);
    const std::vector<int64_t> axes = transpose_axes(k.axes, xs.size());
    if (ys.size() != xs.size() || axes.size() != xs.size()) return nullptr;
    const std::vector<int64_t> xst = strides_of(xs);
    StridedView view{ys, 0, {}};
    for (size_t j = 0; j < ys.size(); ++j) {
      const int64_t a = axes[j];
      if (a < 0 || a >= static_cast<int64_t>(xs.size()) || xs[static_cast<size_t>(a)] != ys[j]) {
        return nullptr;
      }
      view.steps.push_back(xst[static_cast<size_t>(a)]);
    }
    return try_strided_copy(nid, "transpose", out, view, used, acc);
  }

  // strided_slice: per axis the first index and step as the operator
  // resolves them, the counts those of the output's (verified) shape.
  std::unique_ptr<Step> try_strided_slice(uint32_t nid, const KernelInfo& k, int64_t out,
                                          size_t* used, std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    if (node.inputs.size() != 1) return nullptr;
    const Shape& xs = shape(eid(node.inputs[0]));
    const Shape& ys = shape(out);
    const std::vector<AxisSlice> axes =
        strided_slice_axes(xs, k.slice_begin, k.slice_end, k.slice_stride, false);
    if (ys.size() != xs.size() || axes.size() != xs.size()) return nullptr;
    const std::vector<int64_t> xst = strides_of(xs);
    StridedView view{ys, 0, std::vector<int64_t>(ys.size(), 0)};
    for (size_t j = 0; j < ys.size(); ++j) {
      int64_t first = 0;
      if (__builtin_mul_overflow(axes[j].begin, xst[j], &first) ||
          __builtin_add_overflow(view.base, first, &view.base)) {
        return nullptr;
      }
      // One index along the axis: its step never counts (a huge stride
      // need not fit).
      if (ys[j] > 1 && __builtin_mul_overflow(axes[j].stride, xst[j], &view.steps[j])) {
        return nullptr;
      }
    }
    return try_strided_copy(nid, "slice", out, view, used, acc);
  }

  // reshape, flatten, squeeze, expand_dims: the values in order.
  std::unique_ptr<Step> try_flat_copy(uint32_t nid, int64_t out, size_t* used,
                                      std::vector<Access>* acc) {
    const GraphNode& node = graph_.nodes[nid];
    if (node.inputs.size() != 1) return nullptr;
    const int64_t size = shape_size(shape(out));
    if (shape_size(shape(eid(node.inputs[0]))) != size) return nullptr;
    StridedView view{{size}, 0, {1}};
    return try_strided_copy(nid, "copy", out, view, used, acc);
  }

  std::unique_ptr<Step> try_chain(size_t i, int64_t out, size_t* used, std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = graph_.nodes[nid];
    const Shape& os = shape(out);
    // The source: the input with the output's shape (the first one that has
    // it); the node is then the chain's first stage.
    int64_t source = kNoEntry;
    for (const EntryRef& e : node.inputs) {
      if (shape(eid(e)) == os) {
        source = eid(e);
        break;
      }
    }
    if (source == kNoEntry) return nullptr;
    std::set<int> readonly, written;
    ChainPlan chain;
    std::vector<uint32_t> nodes;
    acc->push_back({source, Access::kRead, -1});
    *used = 0;
    extend_chain(i, source, os.size() == 4, &readonly, &written, &chain, &nodes, acc, used);
    if (*used == 0) {
      acc->clear();
      return nullptr;
    }
    return make_chain_step(nodes, t_, source, std::move(chain), os);
  }


  const Graph& graph_;
  const kernels::Table* t_;
  const ParamStore& params_;
  std::map<int, int> users_;
  std::map<int, bool> written_;
  std::vector<uint32_t> order_;
  std::map<int64_t, std::set<uint32_t>> packed_;  // weight entry -> nodes using it packed
  std::map<int64_t, int> readers_;  // entry -> how many node inputs and heads read it
  MatchResult* result_ = nullptr;   // the steps so far (while run() goes)
  // The last pointwise depthwise step that may become a prologue.
  struct Pointwise {
    size_t step = SIZE_MAX;
    int64_t x = kNoEntry, w = kNoEntry, bias = kNoEntry;
    ChainPlan chain;
    PointwiseTable table;
  } last_pointwise_;
  std::map<int64_t, uint32_t> variables_;  // entry -> its parameter node
};

}  // namespace

MatchResult match_steps(const Graph& graph, const kernels::Table* table,
                        const ParamStore& params) {
  return Matcher(graph, table, params).run();
}

}  // namespace planning
}  // namespace cvm
