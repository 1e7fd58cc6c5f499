// dense with pre-packed int8 weights (when every weight fits int8).
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "base/memory.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

class DenseStep : public FusedStep {
 public:
  DenseStep(std::vector<uint32_t> nodes, const kernels::Table* t, int64_t rows, int64_t depth,
            int64_t units, int64_t x_eid, int64_t bias_eid, const ParamView& weight,
            ChainPlan chain)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), rows_(rows),
        depth_(depth), units_(units), x_(x_eid), bias_(bias_eid) {
    const int64_t lanes = t->lanes;
    blocks_ = ceil_div(units, lanes);
    w_.assign(static_cast<size_t>(blocks_ * lanes * depth), 0);
    int64_t released = 0;
    for (int64_t u = 0; u < units; ++u) {
      for (int64_t k = 0; k < depth; ++k) {
        w_[static_cast<size_t>(((u / lanes) * depth + k) * lanes + u % lanes)] =
            static_cast<int8_t>(weight[u * depth + k]);
      }
      if ((u + 1) * depth - released >= kReleaseElements || u + 1 == units) {
        weight.release_range(released, (u + 1) * depth);
        released = (u + 1) * depth;
      }
    }
  }

  static bool fits(const ParamView& weight) {
    if (!weight.values && weight.width == 1) return true;
    for (int64_t i = 0; i < weight.count; ++i) {
      const int32_t v = weight[i];
      if (v < -128 || v > 127) return false;
    }
    return true;
  }

  size_t thread_words() const override { return static_cast<size_t>(blocks_ * t_->lanes); }
  const char* kind() const override { return "dense"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    const int32_t* bias = bias_ == kNoEntry ? nullptr : ctx.data(bias_);
    const int64_t lanes = t_->lanes;
    // Pieces of up to 8 unit blocks of one row.
    const int64_t per_row = ceil_div(blocks_, 8);
    const double work = static_cast<double>(rows_) * units_ * depth_;
    parallel(ctx, rows_ * per_row, threads_for(ctx, work / 4),
             [&](int64_t b, int64_t e, int thread) {
      int32_t* y = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      for (int64_t i = b; i < e; ++i) {
        const int64_t m = i / per_row, piece = i % per_row;
        const int64_t u0 = piece * 8 * lanes;
        const int64_t u1 = std::min(units_, u0 + 8 * lanes);
        t_->dense(x + m * depth_, w_.data() + u0 * depth_, depth_, u1 - u0, y);
        if (bias) {
          for (int64_t u = u0; u < u1; ++u) {
            y[u - u0] = static_cast<int32_t>(static_cast<uint32_t>(y[u - u0]) +
                                             static_cast<uint32_t>(bias[u]));
          }
        }
        t_->chain(chain, y, u1 - u0, m * units_ + u0, m, 0, 0);
      }
    });
  }

 private:
  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  int64_t rows_, depth_, units_, x_, bias_;
  int64_t blocks_ = 0;
  std::vector<int8_t> w_;
};

}  // namespace

std::unique_ptr<Step> make_dense_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                      int64_t rows, int64_t depth, int64_t units, int64_t x_eid,
                                      int64_t bias_eid, const ParamView& weight, ChainPlan chain) {
  return std::make_unique<DenseStep>(std::move(nodes), t, rows, depth, units, x_eid, bias_eid,
                                     weight, std::move(chain));
}

bool dense_weights_fit(const ParamView& weight) { return DenseStep::fits(weight); }

}  // namespace planning
}  // namespace cvm
